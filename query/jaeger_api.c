/* query/jaeger_api.c - Jaeger's query API over the store: trace by ID, search,
 * services and operations, in the classic envelope ({"data","total","limit",
 * "offset","errors"}) and in api_v3's OTLP JSON shapes. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "query/qjaeger.h"
#include "otlp/otlp.h"
#include "query/qsearch.h"
#include "query/qstrs.h"
#include "query/qtrace.h"
#include "query/query.h"

#define MAX_LIMIT 10000

void query_jaeger_error(ottr_buf *out, int code, const char *msg)
{
    ottr_buf_printf(out,
                    "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":%d,"
                    "\"msg\":",
                    code);
    otlp_json_str(out, msg);
    ottr_buf_puts(out, "}]}");
}

void query_jaeger_v3_error(ottr_buf *out, int code, const char *msg)
{
    int grpc = code == 400 ? 3 : code == 404 ? 5 : code == 409 ? 6 : 13;
    ottr_buf_printf(out, "{\"error\":{\"grpcCode\":%d,\"httpCode\":%d,\"message\":", grpc, code);
    otlp_json_str(out, msg);
    ottr_buf_puts(out, "}}");
}

static void envelope_end(ottr_buf *out, size_t total)
{
    ottr_buf_printf(out, ",\"total\":%zu,\"limit\":0,\"offset\":0,\"errors\":null}", total);
}

static int parse_id(const char *id, uint8_t tid[16], char *err, size_t errlen)
{
    if (query_parse_trace_id(id, tid) != 0) {
        snprintf(err, errlen, "cannot parse traceID \"%.64s\": want 1 to 32 hex digits",
                 id ? id : "");
        return -1;
    }
    return 0;
}

/* Appends the traces of |ids| found: in Jaeger's model (|v3| false) or as
 * ResourceSpans items (|v3| true). With |missing| (may be NULL), each ID not
 * found adds an error item to it ({"msg","traceID"}, comma-separated) and no
 * trace found is no error. */
static ottr_status by_ids(store_view st, const char *const *ids, size_t nids, bool v3,
                          ottr_buf *out, ottr_buf *missing, size_t *found, char *err, size_t errlen)
{
    ottr_arena a;
    ottr_arena_init(&a, 256 * 1024, query_arena_limit(st));
    ottr_buf raw = {0};
    ottr_status code = OTTR_OK;
    int first = 1;
    *found = 0;
    for (size_t i = 0; i < nids && code == OTTR_OK; i++) {
        uint8_t tid[16];
        if (parse_id(ids[i], tid, err, errlen) != 0) {
            code = OTTR_ERR_INVALID;
            break;
        }
        otlp_trace t;
        store_trace_summary sum;
        ottr_arena_reset(&a);
        ottr_status c = query_load_trace(st, tid, &a, &raw, &t, &sum, err, errlen);
        if (c == OTTR_ERR_NOTFOUND) {
            if (missing) {
                ottr_buf_puts(missing, missing->len ? ",{\"msg\":\"trace not found\",\"traceID\":"
                                                    : "{\"msg\":\"trace not found\",\"traceID\":");
                query_jaeger_trace_id(missing, tid, 16);
                ottr_buf_putc(missing, '}');
            }
            continue;
        }
        if (c != OTTR_OK) {
            code = c;
            break;
        }
        if (v3) {
            otlp_json_resource_spans_items(out, t.td, &first);
        } else {
            if ((*found) > 0)
                ottr_buf_putc(out, ',');
            if (query_jaeger_encode_trace(out, &t, tid, &sum, &a) != 0) {
                snprintf(err, errlen, "out of memory");
                code = OTTR_ERR_NOMEM;
            }
        }
        (*found)++;
    }
    ottr_buf_free(&raw);
    ottr_arena_free(&a);
    if (code == OTTR_OK && *found == 0 && missing == NULL) {
        snprintf(err, errlen, "trace not found");
        code = OTTR_ERR_NOTFOUND;
    }
    return code;
}

/* The classic answer for |ids|: with |errors|, IDs not found are listed in
 * "errors" (a search by IDs); without, none found is OTTR_ERR_NOTFOUND. */
static ottr_status classic_by_ids(store_view st, const char *const *ids, size_t nids, bool errors,
                                  ottr_buf *out, char *err, size_t errlen)
{
    ottr_buf body = {0}, missing = {0};
    size_t found;
    err[0] = '\0';
    ottr_status code =
        by_ids(st, ids, nids, false, &body, errors ? &missing : NULL, &found, err, errlen);
    if (code == OTTR_OK) {
        ottr_buf_puts(out, "{\"data\":[");
        ottr_buf_append(out, body.data, body.len);
        ottr_buf_putc(out, ']');
        if (missing.len) {
            ottr_buf_printf(out, ",\"total\":%zu,\"limit\":0,\"offset\":0,\"errors\":[", found);
            ottr_buf_append(out, missing.data, missing.len);
            ottr_buf_puts(out, "]}");
        } else {
            envelope_end(out, found);
        }
        code = query_out_status(out, err, errlen);
        if (code == OTTR_OK && missing.oom)
            code = OTTR_ERR_NOMEM;
    }
    ottr_buf_free(&body);
    ottr_buf_free(&missing);
    return code;
}

ottr_status query_jaeger_trace(store_view st, const char *id, ottr_buf *out, char *err,
                               size_t errlen)
{
    return classic_by_ids(st, &id, 1, false, out, err, errlen);
}

ottr_status query_jaeger_traces_by_ids(store_view st, const char *const *ids, size_t nids,
                                       ottr_buf *out, char *err, size_t errlen)
{
    return classic_by_ids(st, ids, nids, true, out, err, errlen);
}

ottr_status query_jaeger_v3_trace(store_view st, const char *id, ottr_buf *out, char *err,
                                  size_t errlen)
{
    ottr_buf body = {0};
    size_t found;
    err[0] = '\0';
    ottr_status code = by_ids(st, &id, 1, true, &body, NULL, &found, err, errlen);
    if (code == OTTR_OK) {
        ottr_buf_puts(out, "{\"result\":{\"resourceSpans\":[");
        ottr_buf_append(out, body.data, body.len);
        ottr_buf_puts(out, "]}}");
        code = query_out_status(out, err, errlen);
    }
    ottr_buf_free(&body);
    return code;
}

/* ---- search ---- */

/* Jaeger's name of a span kind: "" for unspecified (and unknown). */
static const char *jaeger_kind(int kind)
{
    const char *w = kind > 0 ? otlp_span_kind_word(kind) : NULL;
    return w ? w : "";
}

/* A span kind as Jaeger's parameters name it ("server", "unspecified"; any case). */
static int kind_from_word(const char *w)
{
    return otlp_span_kind_parse(w, strlen(w), OTLP_NAME_WORD | OTLP_NAME_NOCASE);
}

/* Jaeger's search as one TraceQL span set: every condition on the same span. */
static int jaeger_traceql(const query_jaeger_search_params *p, ottr_buf *q, char *err,
                          size_t errlen)
{
    if (p->service == NULL || p->service[0] == '\0') {
        snprintf(err, errlen, "parameter 'service' is required");
        return -1;
    }
    if (p->min_duration_ns && p->max_duration_ns && p->min_duration_ns > p->max_duration_ns) {
        snprintf(err, errlen, "'maxDuration' should be greater than 'minDuration'");
        return -1;
    }
    ottr_buf_puts(q, "{resource.service.name=");
    query_tq_quote(q, p->service);
    if (p->operation && p->operation[0]) {
        ottr_buf_puts(q, " && name=");
        query_tq_quote(q, p->operation);
    }
    for (size_t i = 0; i < p->ntags; i++) {
        const char *k = p->tags[i].key, *v = p->tags[i].value ? p->tags[i].value : "";
        if (k == NULL || k[0] == '\0') {
            snprintf(err, errlen, "malformed 'tags' parameter: empty key");
            return -1;
        }
        ottr_buf_puts(q, " && ");
        if (strcmp(k, "error") == 0 && strcmp(v, "true") == 0) {
            /* The error tag Jaeger shows for status ERROR, or an attribute. */
            ottr_buf_puts(q, "(status=error || .error=\"true\")");
        } else if (strcmp(k, "span.kind") == 0) {
            int kind = kind_from_word(v);
            if (kind < 0) {
                snprintf(err, errlen, "malformed 'tags' parameter: unknown span.kind \"%.32s\"", v);
                return -1;
            }
            ottr_buf_printf(q, "kind=%s", otlp_span_kind_word(kind));
        } else if (strcmp(k, "otel.status_code") == 0) {
            int code = otlp_status_code_parse(v, strlen(v), OTLP_NAME_WORD | OTLP_NAME_NOCASE);
            if (code < 0) {
                snprintf(err, errlen,
                         "malformed 'tags' parameter: otel.status_code must be OK, ERROR or "
                         "UNSET");
                return -1;
            }
            ottr_buf_printf(q, "status=%s", otlp_status_code_word(code));
        } else if (strcmp(k, "otel.status_description") == 0) {
            ottr_buf_puts(q, "statusMessage=");
            query_tq_quote(q, v);
        } else {
            /* A tag, process tag or log field, by its text as Jaeger shows it. */
            ottr_buf_puts(q, "(.");
            query_tq_quote(q, k);
            ottr_buf_putc(q, '=');
            query_tq_quote(q, v);
            ottr_buf_puts(q, " || event.");
            query_tq_quote(q, k);
            ottr_buf_putc(q, '=');
            query_tq_quote(q, v);
            ottr_buf_putc(q, ')');
        }
    }
    if (p->min_duration_ns)
        ottr_buf_printf(q, " && duration>=%lluns", (unsigned long long)p->min_duration_ns);
    if (p->max_duration_ns)
        ottr_buf_printf(q, " && duration<=%lluns", (unsigned long long)p->max_duration_ns);
    ottr_buf_putc(q, '}');
    if (q->oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

typedef struct jsearch_ctx {
    ottr_buf *out;
    bool v3;
    int first;
    size_t n;
} jsearch_ctx;

static int on_match(void *ctx, const store_trace_summary *sum, otlp_trace *t,
                    const uint8_t *matched, size_t nmatched, ottr_arena *a)
{
    (void)matched;
    (void)nmatched;
    jsearch_ctx *c = ctx;
    if (c->v3) {
        otlp_json_resource_spans_items(c->out, t->td, &c->first);
    } else {
        if (c->n)
            ottr_buf_putc(c->out, ',');
        if (query_jaeger_encode_trace(c->out, t, sum->trace_id, sum, a) != 0)
            return -1;
    }
    c->n++;
    return c->out->oom ? -1 : 0;
}

static ottr_status search(store_view st, const query_jaeger_search_params *p, bool v3,
                          ottr_buf *out, char *err, size_t errlen)
{
    ottr_buf q = {0};
    if (jaeger_traceql(p, &q, err, errlen) != 0) {
        ottr_status code = q.oom ? OTTR_ERR_NOMEM : OTTR_ERR_INVALID;
        ottr_buf_free(&q);
        return code;
    }
    jsearch_ctx c = {out, v3, 1, 0};
    qsearch s;
    memset(&s, 0, sizeof(s));
    s.st = st;
    s.sq.start_ns = p->start_ns;
    s.sq.end_ns = p->end_ns;
    s.limit = p->limit ? (p->limit > MAX_LIMIT ? MAX_LIMIT : p->limit) : 100;
    s.max_inspect = p->max_inspect ? p->max_inspect : QUERY_MAX_INSPECT;
    s.budget = p->budget;
    s.need_tree = !v3;
    s.fn = on_match;
    s.ctx = &c;
    ottr_buf_puts(out, v3 ? "{\"result\":{\"resourceSpans\":[" : "{\"data\":[");
    ottr_status rc = query_search_text(&s, q.data, err, errlen);
    ottr_buf_free(&q);
    if (p->cut)
        *p->cut = s.cut;
    if (rc != OTTR_OK)
        return rc;
    if (v3) {
        ottr_buf_puts(out, "]}}");
    } else if (s.cut != QUERY_CUT_NONE) {
        ottr_buf_printf(out,
                        "],\"total\":%zu,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":206,"
                        "\"msg\":\"search stopped early (%s): results are partial\"}]}",
                        c.n, query_cut_name(s.cut));
    } else {
        ottr_buf_putc(out, ']');
        envelope_end(out, c.n);
    }
    if (v3 && c.n == 0 && s.cut == QUERY_CUT_NONE) {
        snprintf(err, errlen, "No traces found"); /* api_v3 answers 404 */
        return OTTR_ERR_NOTFOUND;
    }
    return query_out_status(out, err, errlen);
}

ottr_status query_jaeger_search(store_view st, const query_jaeger_search_params *p, ottr_buf *out,
                                char *err, size_t errlen)
{
    return search(st, p, false, out, err, errlen);
}

ottr_status query_jaeger_v3_search(store_view st, const query_jaeger_search_params *p,
                                   ottr_buf *out, char *err, size_t errlen)
{
    return search(st, p, true, out, err, errlen);
}

/* ---- services and operations ---- */

static ottr_status services(store_view st, qstrs *l, char *err, size_t errlen)
{
    ottr_status s = store_services(st, query_strs_fn, l);
    if (s != OTTR_OK || l->oom) {
        snprintf(err, errlen, "reading services failed: %s",
                 ottr_status_str(s != OTTR_OK ? s : OTTR_ERR_NOMEM));
        return s != OTTR_OK ? s : OTTR_ERR_NOMEM;
    }
    query_strs_sort_unique(l);
    return OTTR_OK;
}

ottr_status query_jaeger_services(store_view st, ottr_buf *out, char *err, size_t errlen)
{
    qstrs l = {0};
    ottr_status code = services(st, &l, err, errlen);
    if (code == OTTR_OK) {
        ottr_buf_puts(out, "{\"data\":");
        query_strs_json(out, &l);
        envelope_end(out, l.n);
        code = query_out_status(out, err, errlen);
    }
    query_strs_free(&l);
    return code;
}

ottr_status query_jaeger_v3_services(store_view st, ottr_buf *out, char *err, size_t errlen)
{
    qstrs l = {0};
    ottr_status code = services(st, &l, err, errlen);
    if (code == OTTR_OK) {
        /* Protobuf's JSON leaves an empty list out. */
        if (l.n) {
            ottr_buf_puts(out, "{\"services\":");
            query_strs_json(out, &l);
            ottr_buf_putc(out, '}');
        } else {
            ottr_buf_puts(out, "{}");
        }
        code = query_out_status(out, err, errlen);
    }
    query_strs_free(&l);
    return code;
}

typedef struct ops_ctx {
    ottr_buf *out;
    int kind;      /* -1 = any */
    bool detailed; /* {"name","spanKind"} objects, else names */
    bool v3;       /* api_v3: an empty spanKind is left out */
    size_t n;
    char last[1024]; /* names arrive sorted: skip repeats when listing names */
} ops_ctx;

static int on_op(void *ctx, const char *name, int kind)
{
    ops_ctx *o = ctx;
    if (o->kind >= 0 && kind != o->kind)
        return 0;
    if (!o->detailed) {
        if (o->n && strncmp(o->last, name, sizeof(o->last)) == 0)
            return 0;
        snprintf(o->last, sizeof(o->last), "%s", name);
    }
    if (o->n++)
        ottr_buf_putc(o->out, ',');
    if (o->detailed) {
        ottr_buf_puts(o->out, "{\"name\":");
        otlp_json_str(o->out, name);
        if (!o->v3 || jaeger_kind(kind)[0]) {
            ottr_buf_puts(o->out, ",\"spanKind\":");
            otlp_json_str(o->out, jaeger_kind(kind));
        }
        ottr_buf_putc(o->out, '}');
    } else {
        otlp_json_str(o->out, name);
    }
    return o->out->oom;
}

static ottr_status operations(store_view st, const char *service, const char *span_kind,
                              bool detailed, bool v3, ottr_buf *out, size_t *n, char *err,
                              size_t errlen)
{
    if (service == NULL || service[0] == '\0') {
        snprintf(err, errlen, "parameter 'service' is required");
        return OTTR_ERR_INVALID;
    }
    ops_ctx o;
    memset(&o, 0, sizeof(o));
    o.out = out;
    o.kind = -1;
    o.detailed = detailed;
    o.v3 = v3;
    if (span_kind && span_kind[0]) {
        o.kind = kind_from_word(span_kind);
        if (o.kind < 0) {
            snprintf(err, errlen,
                     "unsupported 'spanKind' \"%.32s\": want server, client, producer, consumer "
                     "or internal",
                     span_kind);
            return OTTR_ERR_INVALID;
        }
    }
    ottr_status s = store_operations(st, service, on_op, &o);
    *n = o.n;
    if (s != OTTR_OK) {
        snprintf(err, errlen, "reading operations failed: %s", ottr_status_str(s));
        return s;
    }
    return query_out_status(out, err, errlen);
}

ottr_status query_jaeger_operations(store_view st, const char *service, const char *span_kind,
                                    bool detailed, ottr_buf *out, char *err, size_t errlen)
{
    ottr_buf body = {0};
    size_t n = 0;
    ottr_status code = operations(st, service, span_kind, detailed, false, &body, &n, err, errlen);
    if (code == OTTR_OK) {
        ottr_buf_puts(out, "{\"data\":[");
        ottr_buf_append(out, body.data, body.len);
        ottr_buf_putc(out, ']');
        envelope_end(out, n);
        code = query_out_status(out, err, errlen);
    }
    ottr_buf_free(&body);
    return code;
}

ottr_status query_jaeger_v3_operations(store_view st, const char *service, const char *span_kind,
                                       ottr_buf *out, char *err, size_t errlen)
{
    ottr_buf body = {0};
    size_t n = 0;
    ottr_status code = operations(st, service, span_kind, true, true, &body, &n, err, errlen);
    if (code == OTTR_OK) {
        ottr_buf_puts(out, n ? "{\"operations\":[" : "{");
        ottr_buf_append(out, body.data, body.len);
        ottr_buf_puts(out, n ? "]}" : "}");
        code = query_out_status(out, err, errlen);
    }
    ottr_buf_free(&body);
    return code;
}
