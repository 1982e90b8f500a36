/* query/tags.c - Tempo's tag discovery: attribute names per scope plus the
 * intrinsics, and the values of a tag (most recently seen first, bounded), in
 * the v1 and v2 response shapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"
#include "query/qstrs.h"
#include "query/query.h"

#define MAX_TAG_NAMES      10000
#define MAX_TAG_VALUES     5000
#define DEFAULT_TAG_VALUES 1000

static const char *const intrinsic_names[] = {
    "duration",        "kind",   "name",          "rootName",
    "rootServiceName", "status", "statusMessage", "traceDuration",
};
#define NINTRINSICS (sizeof(intrinsic_names) / sizeof(intrinsic_names[0]))

static void put_intrinsics(ottr_buf *b)
{
    ottr_buf_putc(b, '[');
    for (size_t i = 0; i < NINTRINSICS; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        otlp_json_str(b, intrinsic_names[i]);
    }
    ottr_buf_putc(b, ']');
}

static ottr_status names(store_view st, store_scope scope, qstrs *l, char *err, size_t errlen)
{
    ottr_status s = store_tag_names(st, scope, query_strs_fn, l);
    if (s != OTTR_OK || l->oom) {
        snprintf(err, errlen, "reading tag names failed: %s",
                 ottr_status_str(s != OTTR_OK ? s : OTTR_ERR_NOMEM));
        return s != OTTR_OK ? s : OTTR_ERR_NOMEM;
    }
    query_strs_sort_unique(l);
    return OTTR_OK;
}

ottr_status query_tempo_tags(store_view st, int version, const char *scope, ottr_buf *out,
                             char *err, size_t errlen)
{
    int want_res = 1, want_span = 1, want_intr = version == 2;
    if (scope && scope[0] && strcmp(scope, "all") != 0 && strcmp(scope, "none") != 0) {
        want_res = strcmp(scope, "resource") == 0;
        want_span = strcmp(scope, "span") == 0;
        want_intr = strcmp(scope, "intrinsic") == 0;
        if (!want_res && !want_span && !want_intr) {
            snprintf(err, errlen, "invalid scope \"%.64s\": want resource, span or intrinsic",
                     scope);
            return OTTR_ERR_INVALID;
        }
    }
    qstrs res = {.max = MAX_TAG_NAMES}, span = {.max = MAX_TAG_NAMES};
    ottr_status code = OTTR_OK;
    if ((want_res && (code = names(st, STORE_SCOPE_RESOURCE, &res, err, errlen)) != OTTR_OK) ||
        (want_span && (code = names(st, STORE_SCOPE_SPAN, &span, err, errlen)) != OTTR_OK))
        goto out;
    if (version == 2) {
        int n = 0;
        ottr_buf_puts(out, "{\"scopes\":[");
        if (want_res) {
            ottr_buf_puts(out, n++ ? "," : "");
            ottr_buf_puts(out, "{\"name\":\"resource\",\"tags\":");
            query_strs_json(out, &res);
            ottr_buf_putc(out, '}');
        }
        if (want_span) {
            ottr_buf_puts(out, n++ ? "," : "");
            ottr_buf_puts(out, "{\"name\":\"span\",\"tags\":");
            query_strs_json(out, &span);
            ottr_buf_putc(out, '}');
        }
        if (want_intr) {
            ottr_buf_puts(out, n++ ? "," : "");
            ottr_buf_puts(out, "{\"name\":\"intrinsic\",\"tags\":");
            put_intrinsics(out);
            ottr_buf_putc(out, '}');
        }
        ottr_buf_puts(out, "]}");
    } else if (want_intr) {
        ottr_buf_puts(out, "{\"tagNames\":");
        put_intrinsics(out);
        ottr_buf_putc(out, '}');
    } else {
        for (size_t i = 0; i < span.n; i++) {
            if (query_strs_add(&res, span.v[i]) != 0 && res.oom)
                break;
        }
        query_strs_sort_unique(&res);
        ottr_buf_puts(out, "{\"tagNames\":");
        query_strs_json(out, &res);
        ottr_buf_putc(out, '}');
    }
    if (out->oom || res.oom) {
        snprintf(err, errlen, "out of memory");
        code = OTTR_ERR_NOMEM;
    }
out:
    query_strs_free(&res);
    query_strs_free(&span);
    return code;
}

/* Grafana builds TraceQL from the type: unquoted for int, float and bool.
 * Doubles are discovered with a decimal point or an exponent ("3.0", "1e+20"). */
static const char *value_type(const char *v)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
        return "bool";
    if (strcmp(v, "NaN") == 0 || strcmp(v, "+Inf") == 0 || strcmp(v, "-Inf") == 0)
        return "float";
    const char *p = v;
    if (*p == '-')
        p++;
    if (*p == '\0')
        return "string";
    int digits = 0, dot = 0, exp = 0;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            digits++;
        } else if (*p == '.' && !dot && !exp) {
            dot = 1;
        } else if ((*p == 'e' || *p == 'E') && digits && !exp) {
            exp = 1;
            if (p[1] == '+' || p[1] == '-')
                p++;
            if (p[1] < '0' || p[1] > '9')
                return "string";
        } else {
            return "string";
        }
    }
    if (!digits)
        return "string";
    if (!dot && !exp)
        return (v[0] == '0' && v[1]) || (v[0] == '-' && v[1] == '0') ? "string" : "int";
    return "float";
}

static void put_values(ottr_buf *b, const qstrs *l, int version, const char *type)
{
    ottr_buf_puts(b, "{\"tagValues\":[");
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        if (version == 2) {
            ottr_buf_puts(b, "{\"type\":");
            otlp_json_str(b, type ? type : value_type(l->v[i]));
            ottr_buf_puts(b, ",\"value\":");
            otlp_json_str(b, l->v[i]);
            ottr_buf_putc(b, '}');
        } else {
            otlp_json_str(b, l->v[i]);
        }
    }
    ottr_buf_puts(b, "]}");
}

typedef struct dedupe_ctx {
    qstrs *dst;
    char **seen; /* sorted copy of what was there before */
    size_t nseen;
} dedupe_ctx;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_unseen(void *ctx, const char *s)
{
    dedupe_ctx *d = ctx;
    if (d->nseen && bsearch(&s, d->seen, d->nseen, sizeof(char *), cmp_str))
        return 0;
    return query_strs_add(d->dst, s);
}

ottr_status query_tag_values_both(store_view st, const char *key, size_t limit, qstrs *l)
{
    ottr_status s = store_tag_values(st, STORE_SCOPE_RESOURCE, key, limit, query_strs_fn, l);
    if (s != OTTR_OK || l->n >= limit || l->oom)
        return s;
    dedupe_ctx d = {l, NULL, l->n};
    if (l->n) {
        d.seen = malloc(l->n * sizeof(char *));
        if (d.seen == NULL)
            return OTTR_ERR_NOMEM;
        memcpy(d.seen, l->v, l->n * sizeof(char *));
        qsort(d.seen, d.nseen, sizeof(char *), cmp_str);
    }
    s = store_tag_values(st, STORE_SCOPE_SPAN, key, limit, add_unseen, &d);
    free(d.seen);
    return s;
}

typedef struct ops_ctx {
    qstrs *names;
} ops_ctx;

static int add_op(void *ctx, const char *name, int kind)
{
    (void)kind;
    ops_ctx *o = ctx;
    return query_strs_add(o->names, name) && o->names->oom;
}

/* Span names over all services, sorted. */
static ottr_status span_names(store_view st, qstrs *l)
{
    qstrs services = {.max = MAX_TAG_NAMES};
    ottr_status s = store_services(st, query_strs_fn, &services);
    ops_ctx o = {l};
    for (size_t i = 0; s == OTTR_OK && i < services.n && !l->oom; i++)
        s = store_operations(st, services.v[i], add_op, &o);
    query_strs_free(&services);
    size_t max = l->max;
    l->max = 0;
    query_strs_sort_unique(l);
    l->max = max;
    if (max && l->n > max) {
        for (size_t i = max; i < l->n; i++)
            free(l->v[i]);
        l->n = max;
    }
    return s;
}

ottr_status query_tempo_tag_values(store_view st, int version, const char *tag, size_t limit,
                                   ottr_buf *out, char *err, size_t errlen)
{
    if (tag == NULL || tag[0] == '\0') {
        snprintf(err, errlen, "invalid tag: empty name");
        return OTTR_ERR_INVALID;
    }
    if (limit == 0)
        limit = DEFAULT_TAG_VALUES;
    if (limit > MAX_TAG_VALUES)
        limit = MAX_TAG_VALUES;
    qstrs l = {.max = limit};
    const char *type = NULL;
    ottr_status s = OTTR_OK;
    if (version != 2) {
        s = query_tag_values_both(st, tag, limit, &l);
    } else if (strncmp(tag, "resource.", 9) == 0 && tag[9]) {
        s = store_tag_values(st, STORE_SCOPE_RESOURCE, tag + 9, limit, query_strs_fn, &l);
    } else if (strncmp(tag, "span.", 5) == 0 && tag[5]) {
        s = store_tag_values(st, STORE_SCOPE_SPAN, tag + 5, limit, query_strs_fn, &l);
    } else if (tag[0] == '.' && tag[1]) {
        s = query_tag_values_both(st, tag + 1, limit, &l);
    } else if (strcmp(tag, "status") == 0 || strcmp(tag, "span:status") == 0) {
        for (int v = 0; otlp_status_code_word(v); v++)
            query_strs_add(&l, otlp_status_code_word(v));
        query_strs_sort_unique(&l); /* error, ok, unset */
        type = "keyword";
    } else if (strcmp(tag, "kind") == 0 || strcmp(tag, "span:kind") == 0) {
        for (int v = 0; otlp_span_kind_word(v); v++)
            query_strs_add(&l, otlp_span_kind_word(v));
        type = "keyword";
    } else if (strcmp(tag, "name") == 0 || strcmp(tag, "rootName") == 0 ||
               strcmp(tag, "span:name") == 0 || strcmp(tag, "trace:rootName") == 0) {
        s = span_names(st, &l);
        type = "string";
    } else if (strcmp(tag, "rootServiceName") == 0 || strcmp(tag, "trace:rootService") == 0) {
        s = store_services(st, query_strs_fn, &l);
        type = "string";
    } else if (strcmp(tag, "statusMessage") == 0 || strcmp(tag, "duration") == 0 ||
               strcmp(tag, "traceDuration") == 0 || strcmp(tag, "span:duration") == 0 ||
               strcmp(tag, "trace:duration") == 0 || strcmp(tag, "span:statusMessage") == 0) {
        /* No value list is kept for these. */
    } else {
        snprintf(err, errlen,
                 "invalid tag \"%.64s\": want resource.<name>, span.<name>, .<name> or an "
                 "intrinsic",
                 tag);
        query_strs_free(&l);
        return OTTR_ERR_INVALID;
    }
    if (s != OTTR_OK || l.oom) {
        snprintf(err, errlen, "reading tag values failed: %s",
                 ottr_status_str(s != OTTR_OK ? s : OTTR_ERR_NOMEM));
        query_strs_free(&l);
        return s != OTTR_OK ? s : OTTR_ERR_NOMEM;
    }
    put_values(out, &l, version, type);
    query_strs_free(&l);
    if (out->oom) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    return OTTR_OK;
}
