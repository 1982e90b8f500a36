/* query/strs.c - bounded string lists for discovery answers, and their JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"
#include "query/qstrs.h"

int query_strs_add(qstrs *l, const char *s)
{
    if (l->oom || (l->max && l->n >= l->max))
        return 1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL) {
            l->oom = 1;
            return 1;
        }
        l->v = v;
        l->cap = cap;
    }
    char *c = strdup(s);
    if (c == NULL) {
        l->oom = 1;
        return 1;
    }
    l->v[l->n++] = c;
    return (l->max && l->n >= l->max) ? 1 : 0;
}

int query_strs_fn(void *ctx, const char *s)
{
    return query_strs_add(ctx, s);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void query_strs_sort_unique(qstrs *l)
{
    if (l->n < 2)
        return;
    qsort(l->v, l->n, sizeof(*l->v), cmp);
    size_t k = 1;
    for (size_t i = 1; i < l->n; i++) {
        if (strcmp(l->v[i], l->v[k - 1]) == 0)
            free(l->v[i]);
        else
            l->v[k++] = l->v[i];
    }
    l->n = k;
}

void query_strs_free(qstrs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void query_strs_json(ottr_buf *b, const qstrs *l)
{
    ottr_buf_putc(b, '[');
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        otlp_json_str(b, l->v[i]);
    }
    ottr_buf_putc(b, ']');
}

ottr_status query_out_status(const ottr_buf *out, char *err, size_t errlen)
{
    if (!out->oom)
        return OTTR_OK;
    snprintf(err, errlen, "out of memory");
    return OTTR_ERR_NOMEM;
}
