/* query/tag_values_q.c - tag values as Grafana's autocomplete asks for them:
 * narrowed to the spans that the query being typed matches (`q`), within the
 * time range. The incomplete condition being typed is dropped first, as Tempo
 * does: of `{resource.service.name="a" && span.x=}` only the conditions that
 * parse are kept. Values then come from the matching spans of the traces in
 * the range (a bounded scan), typed from the attribute (string, int, float,
 * bool; status and kind are keywords). Without a usable condition the tag
 * index answers (query_tempo_tag_values), but for status and kind, which list
 * only what occurs in the range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"
#include "query/qsearch.h"
#include "query/query.h"

#define SCAN_TRACES        2000 /* traces decoded for one answer at most */
#define DEFAULT_TAG_VALUES 1000
#define MAX_TAG_VALUES     5000

#define ANY_STRING OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_BOOL   OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define ANY_INT    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define ANY_DOUBLE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE

void query_tq_autocomplete_filter(const char *q, ottr_buf *out)
{
    char err[QUERY_ERRLEN];
    ottr_buf_reset(out);
    if (q == NULL || q[0] == '\0') {
        ottr_buf_puts(out, "{}");
        return;
    }
    if (query_traceql_check(q, err, sizeof(err)) == 0) {
        ottr_buf_puts(out, q);
        return;
    }
    const char *open = strchr(q, '{');
    if (open == NULL) {
        ottr_buf_puts(out, "{}");
        return;
    }
    /* Cut points: top-level && inside the first spanset. */
    const char *body = open + 1;
    size_t cuts[64];
    size_t ncuts = 0, end = strlen(body);
    int depth = 0;
    char quote = 0;
    for (size_t i = 0; body[i]; i++) {
        char c = body[i];
        if (quote) {
            if (c == '\\' && body[i + 1])
                i++;
            else if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '`') {
            quote = c;
        } else if (c == '(') {
            depth++;
        } else if (c == ')') {
            depth--;
        } else if (c == '}' && depth == 0) {
            end = i;
            break;
        } else if (c == '&' && body[i + 1] == '&' && depth == 0 && ncuts < 64) {
            cuts[ncuts++] = i;
            i++;
        }
    }
    if (ncuts < 64)
        cuts[ncuts++] = end;
    /* The longest run of whole conditions that parses. */
    for (size_t k = ncuts; k > 0; k--) {
        ottr_buf_reset(out);
        ottr_buf_putc(out, '{');
        ottr_buf_append(out, body, cuts[k - 1]);
        ottr_buf_putc(out, '}');
        if (!out->oom && query_traceql_check(out->data, err, sizeof(err)) == 0)
            return;
    }
    ottr_buf_reset(out);
    ottr_buf_puts(out, "{}");
}

typedef enum tv_what { TV_ATTR, TV_NAME, TV_STATUS, TV_KIND, TV_ROOT_NAME, TV_ROOT_SVC } tv_what;

typedef struct tv_ctx {
    tv_what what;
    tq_scope scope;
    const char *key;
    size_t limit;
    char **vals; /* "T" type letter, then the value */
    size_t n, cap;
    int oom;
} tv_ctx;

static void tv_add(tv_ctx *c, char type, const char *v)
{
    if (v == NULL || c->n >= c->limit || c->oom)
        return;
    for (size_t i = 0; i < c->n; i++)
        if (c->vals[i][0] == type && strcmp(c->vals[i] + 1, v) == 0)
            return;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        char **nv = realloc(c->vals, ncap * sizeof(*nv));
        if (nv == NULL) {
            c->oom = 1;
            return;
        }
        c->vals = nv;
        c->cap = ncap;
    }
    size_t len = strlen(v);
    char *s = malloc(len + 2);
    if (s == NULL) {
        c->oom = 1;
        return;
    }
    s[0] = type;
    memcpy(s + 1, v, len + 1);
    c->vals[c->n++] = s;
}

static void tv_add_any(tv_ctx *c, const otlp_any *v)
{
    char num[48];
    if (v == NULL)
        return;
    switch (v->value_case) {
    case ANY_STRING:
        tv_add(c, 's', v->string_value ? v->string_value : "");
        break;
    case ANY_BOOL:
        tv_add(c, 'b', v->bool_value ? "true" : "false");
        break;
    case ANY_INT:
        snprintf(num, sizeof(num), "%lld", (long long)v->int_value);
        tv_add(c, 'i', num);
        break;
    case ANY_DOUBLE: {
        size_t n = otlp_double_text(num, sizeof(num), v->double_value);
        if (strpbrk(num, ".eEnN") == NULL && n + 3 <= sizeof(num))
            memcpy(num + n, ".0", 3);
        tv_add(c, 'f', num);
        break;
    }
    default:
        break;
    }
}

static int tv_match(void *ctx, const store_trace_summary *sum, otlp_trace *t,
                    const uint8_t *matched, size_t nmatched, ottr_arena *a)
{
    (void)nmatched, (void)a;
    tv_ctx *c = ctx;
    for (size_t i = 0; i < t->nspans && c->n < c->limit && !c->oom; i++) {
        if (!matched[i])
            continue;
        const otlp_span_ref *r = &t->spans[i];
        const otlp_span *sp = r->span;
        switch (c->what) {
        case TV_NAME:
            tv_add(c, 's', sp->name ? sp->name : "");
            break;
        case TV_STATUS:
            tv_add(c, 'k', otlp_status_code_word(otlp_span_status_code(sp)));
            break;
        case TV_KIND:
            tv_add(c, 'k', otlp_span_kind_word((int)sp->kind));
            break;
        case TV_ROOT_NAME:
            if (sum->root_service[0] || sum->root_name[0])
                tv_add(c, 's', sum->root_name);
            break;
        case TV_ROOT_SVC:
            if (sum->root_service[0])
                tv_add(c, 's', sum->root_service);
            break;
        case TV_ATTR: {
            const otlp_any *v = NULL;
            if (c->scope != TQS_RESOURCE)
                v = otlp_attr_find(sp->attributes, sp->n_attributes, c->key);
            if (v == NULL && c->scope != TQS_SPAN && r->resource)
                v = otlp_attr_find(r->resource->attributes, r->resource->n_attributes, c->key);
            if (v == NULL && c->scope != TQS_SPAN && strcmp(c->key, OTLP_SERVICE_NAME) == 0)
                tv_add(c, 's', r->service);
            else
                tv_add_any(c, v);
            break;
        }
        }
    }
    return c->oom ? -1 : 0;
}

static const char *type_name(char t)
{
    switch (t) {
    case 'i':
        return "int";
    case 'f':
        return "float";
    case 'b':
        return "bool";
    case 'k':
        return "keyword";
    default:
        return "string";
    }
}

static int cmp_val(const void *x, const void *y)
{
    return strcmp(*(char *const *)x + 1, *(char *const *)y + 1);
}

/* Which span value |tag| names; -1 for tags without values (duration, ...). */
static int tv_parse_tag(tv_ctx *c, const char *tag)
{
    static const struct {
        const char *name;
        tv_what what;
    } intr[] = {
        {"name", TV_NAME},
        {"span:name", TV_NAME},
        {"status", TV_STATUS},
        {"span:status", TV_STATUS},
        {"kind", TV_KIND},
        {"span:kind", TV_KIND},
        {"rootName", TV_ROOT_NAME},
        {"trace:rootName", TV_ROOT_NAME},
        {"rootServiceName", TV_ROOT_SVC},
        {"trace:rootService", TV_ROOT_SVC},
    };
    for (size_t i = 0; i < sizeof(intr) / sizeof(intr[0]); i++)
        if (strcmp(tag, intr[i].name) == 0) {
            c->what = intr[i].what;
            return 0;
        }
    c->what = TV_ATTR;
    if (strncmp(tag, "resource.", 9) == 0 && tag[9]) {
        c->scope = TQS_RESOURCE;
        c->key = tag + 9;
    } else if (strncmp(tag, "span.", 5) == 0 && tag[5]) {
        c->scope = TQS_SPAN;
        c->key = tag + 5;
    } else if (tag[0] == '.' && tag[1]) {
        c->scope = TQS_ANY;
        c->key = tag + 1;
    } else {
        return -1;
    }
    return 0;
}

ottr_status query_tempo_tag_values_in(store_view st, const query_tempo_tag_values_params *p,
                                      ottr_buf *out, char *err, size_t errlen)
{
    tv_ctx c;
    memset(&c, 0, sizeof(c));
    const char *tag = p->tag ? p->tag : "";
    /* v1 names a bare attribute: it is looked up in both scopes. */
    char dotted[1100];
    if (p->version != 2 && tag[0] && tag[0] != '.' && strchr(tag, ':') == NULL &&
        strncmp(tag, "resource.", 9) != 0 && strncmp(tag, "span.", 5) != 0 &&
        strcmp(tag, "status") != 0 && strcmp(tag, "kind") != 0 && strcmp(tag, "name") != 0 &&
        strcmp(tag, "rootName") != 0 && strcmp(tag, "rootServiceName") != 0) {
        snprintf(dotted, sizeof(dotted), ".%s", tag);
        tag = dotted;
    }
    int known = tv_parse_tag(&c, tag) == 0;
    ottr_buf filter = {0};
    query_tq_autocomplete_filter(p->q, &filter);
    int narrowed = filter.data && strcmp(filter.data, "{}") != 0;
    if (!known || (!narrowed && c.what != TV_STATUS && c.what != TV_KIND)) {
        ottr_buf_free(&filter);
        return query_tempo_tag_values(st, p->version, p->tag, p->limit, out, err, errlen);
    }
    if (filter.oom) {
        ottr_buf_free(&filter);
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    c.limit =
        p->limit ? (p->limit > MAX_TAG_VALUES ? MAX_TAG_VALUES : p->limit) : DEFAULT_TAG_VALUES;
    qsearch s;
    memset(&s, 0, sizeof(s));
    s.st = st;
    s.sq.start_ns = p->start_ns;
    s.sq.end_ns = p->end_ns;
    s.limit = SCAN_TRACES;
    s.max_inspect = SCAN_TRACES;
    s.budget = p->budget;
    s.fn = tv_match;
    s.ctx = &c;
    ottr_status rc = query_search_text(&s, filter.data, err, errlen);
    ottr_buf_free(&filter);
    if (rc == OTTR_OK && c.oom)
        rc = OTTR_ERR_NOMEM;
    if (rc == OTTR_OK) {
        if (c.n > 1)
            qsort(c.vals, c.n, sizeof(*c.vals), cmp_val);
        ottr_buf_puts(out, "{\"tagValues\":[");
        for (size_t i = 0; i < c.n; i++) {
            if (i)
                ottr_buf_putc(out, ',');
            if (p->version == 2) {
                ottr_buf_puts(out, "{\"type\":");
                otlp_json_str(out, type_name(c.vals[i][0]));
                ottr_buf_puts(out, ",\"value\":");
                otlp_json_str(out, c.vals[i] + 1);
                ottr_buf_putc(out, '}');
            } else {
                otlp_json_str(out, c.vals[i] + 1);
            }
        }
        ottr_buf_puts(out, "]}");
        if (out->oom)
            rc = OTTR_ERR_NOMEM;
    }
    if (rc == OTTR_ERR_NOMEM)
        snprintf(err, errlen, "out of memory");
    for (size_t i = 0; i < c.n; i++)
        free(c.vals[i]);
    free(c.vals);
    return rc;
}
