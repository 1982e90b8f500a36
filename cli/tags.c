/* cli/tags.c - `ottr services` and `ottr operations`: tag values from the
 * Tempo API, or a Jaeger list, as a sorted list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cli_tag_values_render(const char *body, size_t len, bool json, ottr_buf *out, size_t *n,
                          char *err, size_t errlen)
{
    *n = 0;
    struct json_object *doc = cli_json_parse(body, len, err, errlen);
    if (doc == NULL)
        return CLI_EXIT_BADDATA;
    struct json_object *vals = cli_jget(doc, "tagValues", "tag_values");
    if (vals == NULL)
        vals = cli_jget(doc, "data", NULL); /* Jaeger's envelope */
    if (vals != NULL && json_object_is_type(vals, json_type_null))
        vals = NULL;
    if (!json_object_is_type(doc, json_type_object) ||
        (vals != NULL && !json_object_is_type(vals, json_type_array))) {
        json_object_put(doc);
        snprintf(err, errlen, "not a tag values response (no \"tagValues\" or \"data\" array)");
        return CLI_EXIT_BADDATA;
    }
    size_t total = vals ? json_object_array_length(vals) : 0;
    const char **list = calloc(total + 1, sizeof(*list));
    if (list == NULL) {
        json_object_put(doc);
        snprintf(err, errlen, "out of memory");
        return CLI_EXIT_BADDATA;
    }
    size_t k = 0;
    for (size_t i = 0; i < total; i++) {
        struct json_object *v = json_object_array_get_idx(vals, i);
        const char *s = NULL;
        if (v != NULL && json_object_is_type(v, json_type_string))
            s = json_object_get_string(v);
        else
            s = cli_jstr(v, "value", NULL, NULL);
        if (s != NULL)
            list[k++] = s;
    }
    qsort(list, k, sizeof(*list), str_cmp);
    size_t uniq = 0;
    for (size_t i = 0; i < k; i++)
        if (uniq == 0 || strcmp(list[i], list[uniq - 1]) != 0)
            list[uniq++] = list[i];
    if (json) {
        ottr_buf_putc(out, '[');
        for (size_t i = 0; i < uniq; i++) {
            if (i > 0)
                ottr_buf_putc(out, ',');
            ottr_buf_json_str(out, list[i], strlen(list[i]));
        }
        ottr_buf_puts(out, "]\n");
    } else {
        for (size_t i = 0; i < uniq; i++) {
            cli_put_text(out, list[i], (size_t)-1);
            ottr_buf_putc(out, '\n');
        }
    }
    *n = uniq;
    free(list);
    json_object_put(doc);
    return CLI_EXIT_OK;
}
