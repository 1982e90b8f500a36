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

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int cli_base64_decode(const char *in, size_t len, uint8_t *out, size_t outcap)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= outcap)
                return -1;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n > INT_MAX ? -1 : (int)n;
}

int cli_id_hex(struct json_object *v, size_t nbytes, char *out)
{
    out[0] = '\0';
    if (v == NULL || !json_object_is_type(v, json_type_string))
        return v == NULL ? 0 : -1;
    const char *s = json_object_get_string(v);
    size_t len = strlen(s);
    if (len == 0)
        return 0;
    if (len == 2 * nbytes) {
        bool hex = true;
        for (size_t i = 0; i < len && hex; i++)
            hex = isxdigit((unsigned char)s[i]) != 0;
        if (hex) {
            for (size_t i = 0; i < len; i++)
                out[i] = (char)tolower((unsigned char)s[i]);
            out[len] = '\0';
            return 1;
        }
    }
    uint8_t raw[32];
    if (nbytes <= sizeof(raw) && cli_base64_decode(s, len, raw, sizeof(raw)) == (int)nbytes) {
        ottr_hex_encode(raw, nbytes, out);
        return 1;
    }
    return -1;
}
