/* cli/json.c - lenient readers for the JSON the CLI receives: camelCase or
 * snake_case members, 64-bit numbers as strings, and IDs in hex or base64. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"

#define CLI_JSON_DEPTH 64

struct json_object *cli_json_parse(const char *s, size_t len, char *err, size_t errlen)
{
    if (len > INT_MAX) {
        snprintf(err, errlen, "JSON document too large");
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(CLI_JSON_DEPTH);
    if (tok == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct json_object *doc = json_tokener_parse_ex(tok, s, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_continue ||
        (jerr == json_tokener_success && doc == NULL && len == 0)) {
        json_object_put(doc);
        snprintf(err, errlen, "truncated or empty JSON");
        return NULL;
    }
    if (jerr != json_tokener_success) {
        json_object_put(doc);
        snprintf(err, errlen, "invalid JSON at byte %zu: %s", used, json_tokener_error_desc(jerr));
        return NULL;
    }
    for (size_t i = used; i < len; i++) {
        if (!isspace((unsigned char)s[i])) {
            json_object_put(doc);
            snprintf(err, errlen, "invalid JSON: trailing data at byte %zu", i);
            return NULL;
        }
    }
    if (doc == NULL) {
        snprintf(err, errlen, "JSON document is null");
        return NULL;
    }
    return doc;
}

struct json_object *cli_jget(struct json_object *o, const char *camel, const char *snake)
{
    struct json_object *v = NULL;
    if (o == NULL || !json_object_is_type(o, json_type_object))
        return NULL;
    if (json_object_object_get_ex(o, camel, &v))
        return v;
    if (snake != NULL && json_object_object_get_ex(o, snake, &v))
        return v;
    return NULL;
}

const char *cli_jstr(struct json_object *o, const char *camel, const char *snake, const char *dflt)
{
    struct json_object *v = cli_jget(o, camel, snake);
    if (v == NULL || !json_object_is_type(v, json_type_string))
        return dflt;
    return json_object_get_string(v);
}

int cli_ju64(struct json_object *v, uint64_t *out)
{
    *out = 0;
    if (v == NULL)
        return -1;
    switch (json_object_get_type(v)) {
    case json_type_int:
        if (json_object_get_int64(v) < 0)
            return -1;
        *out = json_object_get_uint64(v);
        return 0;
    case json_type_double: {
        double d = json_object_get_double(v);
        if (!(d >= 0 && d < 1.8e19))
            return -1;
        *out = (uint64_t)d;
        return 0;
    }
    case json_type_string: {
        const char *s = json_object_get_string(v);
        if (!isdigit((unsigned char)*s))
            return -1;
        errno = 0;
        char *end;
        unsigned long long n = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
            return -1;
        *out = n;
        return 0;
    }
    default:
        return -1;
    }
}

double cli_jdouble(struct json_object *v, double dflt)
{
    if (v == NULL)
        return dflt;
    switch (json_object_get_type(v)) {
    case json_type_int:
    case json_type_double:
        return json_object_get_double(v);
    case json_type_string: {
        const char *s = json_object_get_string(v);
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (end == s || *end != '\0' || errno != 0)
            return dflt;
        return d;
    }
    default:
        return dflt;
    }
}
