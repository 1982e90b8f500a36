/* tests/query/golden_util.c - golden-file comparison of JSON answers: parse,
 * mask what depends on storage encoding, pretty-print, compare or rewrite. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/query/golden_util.h"

#ifndef OTTR_GOLDEN_DIR
#error "OTTR_GOLDEN_DIR must be defined"
#endif

/* Sizes in bytes of what was read depend on the store's encoding, not on the
 * query: they are compared as "*". */
static void mask(json_object *o)
{
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            mask(json_object_array_get_idx(o, i));
        return;
    }
    if (!json_object_is_type(o, json_type_object))
        return;
    json_object_object_foreach(o, key, val)
    {
        if (strcmp(key, "inspectedBytes") == 0)
            json_object_object_add(o, key, json_object_new_string("*"));
        else
            mask(val);
    }
}

/* Pretty text of |json|, or NULL when it is not valid JSON. free() it. */
static char *normalize(const char *json, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (o == NULL || e != json_tokener_success) {
        fprintf(stderr, "not valid JSON (%s): %.*s\n", json_tokener_error_desc(e), (int)len, json);
        json_object_put(o);
        return NULL;
    }
    while (used < len && (json[used] == '\n' || json[used] == ' '))
        used++;
    if (used != len) {
        fprintf(stderr, "trailing bytes after the JSON value: %.*s\n", (int)(len - used),
                json + used);
        json_object_put(o);
        return NULL;
    }
    mask(o);
    const char *s = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = strdup(s);
    json_object_put(o);
    return copy;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

int golden_check(const char *name, const char *json, size_t len)
{
    char *actual = normalize(json ? json : "", json ? len : 0);
    if (actual == NULL)
        return -1;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.json", OTTR_GOLDEN_DIR, name);
    const char *upd = getenv("OTTR_UPDATE_GOLDEN");
    if (upd && strcmp(upd, "1") == 0) {
        FILE *f = fopen(path, "wb");
        if (f == NULL) {
            fprintf(stderr, "cannot write %s\n", path);
            free(actual);
            return -1;
        }
        fprintf(f, "%s\n", actual);
        fclose(f);
        free(actual);
        return 0;
    }
    size_t glen = 0;
    char *gtext = read_file(path, &glen);
    if (gtext == NULL) {
        fprintf(stderr, "missing golden file %s (run with OTTR_UPDATE_GOLDEN=1)\nactual:\n%s\n",
                path, actual);
        free(actual);
        return -1;
    }
    char *golden = normalize(gtext, glen);
    free(gtext);
    int rc = 0;
    if (golden == NULL || strcmp(golden, actual) != 0) {
        /* Show the first differing line. */
        const char *a = actual, *g = golden ? golden : "";
        int line = 1;
        while (*a && *a == *g) {
            if (*a == '\n')
                line++;
            a++;
            g++;
        }
        const char *ae = strchr(a, '\n'), *ge = strchr(g, '\n');
        fprintf(stderr, "%s differs at line %d:\n  golden: %.*s\n  actual: %.*s\n", path, line,
                ge ? (int)(ge - g) : (int)strlen(g), g, ae ? (int)(ae - a) : (int)strlen(a), a);
        rc = -1;
    }
    free(golden);
    free(actual);
    return rc;
}
