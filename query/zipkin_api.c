/* query/zipkin_api.c - Zipkin's v2 query API (zipkin2-api.yaml) over the
 * store: services, span names, remote services, trace search, trace by ID and
 * several at once, dependency links, autocomplete keys and values. Bodies are
 * Zipkin's plain JSON arrays. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "otlp/otlp.h"
#include "query/qsearch.h"
#include "query/qstrs.h"
#include "query/qtrace.h"
#include "query/qzipkin.h"
#include "query/query.h"

#define MAX_LIMIT  10000
#define MAX_VALUES 1000
#define DAY_NS     (86400ull * 1000000000ull)
/* Traces looked at for a service's remote services. */
#define REMOTE_TRACES 200

/* Answers |l| (its status |s| from the store) as a sorted JSON array. */
static ottr_status strs_answer(ottr_status s, qstrs *l, const char *what, ottr_buf *out, char *err,
                               size_t errlen)
{
    if (s == OTTR_OK && l->oom)
        s = OTTR_ERR_NOMEM;
    if (s != OTTR_OK) {
        snprintf(err, errlen, "reading %s failed: %s", what, ottr_status_str(s));
        query_strs_free(l);
        return s;
    }
    query_strs_sort_unique(l);
    query_strs_json(out, l);
    query_strs_free(l);
    return query_out_status(out, err, errlen);
}

static int need_service(const char *service, char *err, size_t errlen)
{
    if (service && service[0])
        return 0;
    snprintf(err, errlen, "serviceName is required");
    return -1;
}

ottr_status query_zipkin_services(store_view st, ottr_buf *out, char *err, size_t errlen)
{
    qstrs l = {0};
    ottr_status s = store_services(st, query_strs_fn, &l);
    return strs_answer(s, &l, "services", out, err, errlen);
}

static int add_name(void *ctx, const char *name, int kind)
{
    (void)kind;
    qstrs *l = ctx;
    return query_strs_add(l, name) && l->oom;
}

ottr_status query_zipkin_span_names(store_view st, const char *service, ottr_buf *out, char *err,
                                    size_t errlen)
{
    if (need_service(service, err, errlen) != 0)
        return OTTR_ERR_INVALID;
    qstrs l = {0};
    ottr_status s = store_operations(st, service, add_name, &l);
    return strs_answer(s, &l, "span names", out, err, errlen);
}

typedef struct remote_ctx {
    qstrs *l;
} remote_ctx;

static int on_remote(void *ctx, const store_trace_summary *sum, otlp_trace *t,
                     const uint8_t *matched, size_t nmatched, ottr_arena *a)
{
    (void)sum;
    (void)nmatched;
    (void)a;
    remote_ctx *c = ctx;
    for (size_t i = 0; i < t->nspans; i++) {
        const otlp_span *s = t->spans[i].span;
        const char *peer =
            matched[i] ? otlp_attr_str(s->attributes, s->n_attributes, OTLP_ZIPKIN_PEER_SERVICE)
                       : NULL;
        if (peer && peer[0])
            query_strs_add(c->l, peer);
    }
    return c->l->oom ? -1 : 0;
}

ottr_status query_zipkin_remote_services(store_view st, const char *service, uint64_t now_ns,
                                         const query_budget *b, ottr_buf *out, char *err,
                                         size_t errlen)
{
    if (need_service(service, err, errlen) != 0)
        return OTTR_ERR_INVALID;
    /* The remote endpoints (peer.service) of the service's spans in the
     * latest traces of the last day that have one. */
    ottr_buf q = {0};
    ottr_buf_puts(&q, "{resource.service.name=");
    query_tq_quote(&q, service);
    ottr_buf_puts(&q, " && .");
    query_tq_quote(&q, OTLP_ZIPKIN_PEER_SERVICE);
    ottr_buf_puts(&q, "!=nil}");
    qstrs l = {0};
    remote_ctx c = {&l};
    qsearch s;
    memset(&s, 0, sizeof(s));
    s.st = st;
    s.sq.end_ns = now_ns;
    s.sq.start_ns = now_ns > DAY_NS ? now_ns - DAY_NS : 0;
    s.limit = REMOTE_TRACES;
    s.max_inspect = REMOTE_TRACES * 4;
    s.budget = b;
    s.fn = on_remote;
    s.ctx = &c;
    ottr_status rc = OTTR_ERR_NOMEM;
    if (q.oom)
        snprintf(err, errlen, "out of memory");
    else
        rc = query_search_text(&s, q.data, err, errlen);
    ottr_buf_free(&q);
    if (rc != OTTR_OK) {
        query_strs_free(&l);
        return rc;
    }
    return strs_answer(rc, &l, "remote services", out, err, errlen);
}

ottr_status query_zipkin_autocomplete_keys(store_view st, ottr_buf *out, char *err, size_t errlen)
{
    qstrs l = {0};
    ottr_status s = store_tag_names(st, STORE_SCOPE_SPAN, query_strs_fn, &l);
    return strs_answer(s, &l, "tag keys", out, err, errlen);
}

ottr_status query_zipkin_autocomplete_values(store_view st, const char *key, ottr_buf *out,
                                             char *err, size_t errlen)
{
    if (key == NULL || key[0] == '\0') {
        snprintf(err, errlen, "key is required");
        return OTTR_ERR_INVALID;
    }
    qstrs l = {0};
    ottr_status s = query_tag_values_both(st, key, MAX_VALUES, &l);
    return strs_answer(s, &l, "tag values", out, err, errlen);
}

/* ---- traces by ID ---- */

/* Appends the traces of |ids| found, each a JSON array, separated by commas;
 * |*found| says how many. */
static ottr_status by_ids(store_view st, const char *const *ids, size_t nids, ottr_buf *out,
                          size_t *found, char *err, size_t errlen)
{
    ottr_arena a;
    ottr_arena_init(&a, 256 * 1024, query_arena_limit(st));
    ottr_buf raw = {0};
    ottr_status code = OTTR_OK;
    *found = 0;
    for (size_t i = 0; i < nids; i++) {
        uint8_t tid[16];
        if (query_parse_trace_id(ids[i], tid) != 0) {
            snprintf(err, errlen, "invalid trace ID \"%.64s\": want 1 to 32 hex digits", ids[i]);
            code = OTTR_ERR_INVALID;
            break;
        }
        otlp_trace t;
        ottr_arena_reset(&a);
        ottr_status c = query_load_trace(st, tid, &a, &raw, &t, NULL, err, errlen);
        if (c == OTTR_ERR_NOTFOUND)
            continue;
        if (c != OTTR_OK) {
            code = c;
            break;
        }
        if ((*found)++)
            ottr_buf_putc(out, ',');
        query_zipkin_encode_trace(out, &t, tid);
    }
    ottr_buf_free(&raw);
    ottr_arena_free(&a);
    return code == OTTR_OK ? query_out_status(out, err, errlen) : code;
}

ottr_status query_zipkin_trace(store_view st, const char *id, ottr_buf *out, char *err,
                               size_t errlen)
{
    size_t found;
    ottr_status s = by_ids(st, &id, 1, out, &found, err, errlen);
    if (s == OTTR_OK && found == 0) {
        snprintf(err, errlen, "trace not found");
        return OTTR_ERR_NOTFOUND;
    }
    return s;
}

ottr_status query_zipkin_trace_many(store_view st, const char *const *ids, size_t nids,
                                    ottr_buf *out, char *err, size_t errlen)
{
    size_t found;
    if (nids == 0) {
        snprintf(err, errlen, "traceIds is required");
        return OTTR_ERR_INVALID;
    }
    ottr_buf_putc(out, '[');
    ottr_status s = by_ids(st, ids, nids, out, &found, err, errlen);
    ottr_buf_putc(out, ']');
    return s == OTTR_OK ? query_out_status(out, err, errlen) : s;
}

/* ---- search ---- */

/* One term of annotationQuery: "key=value" or a bare word. */
typedef struct zterm {
    char key[256];
    char value[512];
    bool bare;
} zterm;

#define MAX_TERMS 16

/* Splits |q| on " and " (any case) into |terms|. Returns their count, or -1. */
static int split_terms(const char *q, zterm *terms, char *err, size_t errlen)
{
    int n = 0;
    while (q && *q) {
        while (*q == ' ')
            q++;
        if (*q == '\0')
            break;
        const char *end = strcasestr(q, " and ");
        size_t len = end ? (size_t)(end - q) : strlen(q);
        while (len && q[len - 1] == ' ')
            len--;
        if (n == MAX_TERMS) {
            snprintf(err, errlen, "annotationQuery has more than %d terms", MAX_TERMS);
            return -1;
        }
        zterm *t = &terms[n];
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        size_t vlen = eq ? len - klen - 1 : 0;
        if (klen == 0 || klen >= sizeof(t->key) || vlen >= sizeof(t->value)) {
            snprintf(err, errlen, "annotationQuery term \"%.*s\" is not key=value or a word",
                     (int)(len > 64 ? 64 : len), q);
            return -1;
        }
        memcpy(t->key, q, klen);
        t->key[klen] = '\0';
        memcpy(t->value, eq ? eq + 1 : "", vlen);
        t->value[vlen] = '\0';
        t->bare = eq == NULL;
        n++;
        q = end ? end + 5 : q + len;
    }
    return n;
}

/* The TraceQL of a Zipkin search: every condition on one span, as Zipkin's
 * storage matches a span of the service. Bare words other than "error" are
 * checked on the decoded trace (they may name an annotation). */
static int zipkin_traceql(const query_zipkin_search_params *p, const zterm *terms, int nterms,
                          ottr_buf *q)
{
    const char *sep = "";
    ottr_buf_putc(q, '{');
    if (p->service && p->service[0]) {
        ottr_buf_puts(q, "resource.service.name=");
        query_tq_quote(q, p->service);
        sep = " && ";
    }
    if (p->span_name && p->span_name[0] && strcasecmp(p->span_name, "all") != 0) {
        ottr_buf_printf(q, "%sname=", sep);
        query_tq_quote(q, p->span_name);
        sep = " && ";
    }
    if (p->remote_service && p->remote_service[0]) {
        ottr_buf_printf(q, "%s.", sep);
        query_tq_quote(q, OTLP_ZIPKIN_PEER_SERVICE);
        ottr_buf_putc(q, '=');
        query_tq_quote(q, p->remote_service);
        sep = " && ";
    }
    for (int i = 0; i < nterms; i++) {
        const zterm *t = &terms[i];
        if (strcmp(t->key, "error") == 0) {
            /* The error tag became the span's status, its value the message. */
            ottr_buf_printf(q, "%sstatus=error", sep);
            if (!t->bare && t->value[0] && strcmp(t->value, "true") != 0) {
                ottr_buf_puts(q, " && statusMessage=");
                query_tq_quote(q, t->value);
            }
        } else if (t->bare) {
            continue;
        } else {
            ottr_buf_printf(q, "%s.", sep);
            query_tq_quote(q, t->key);
            ottr_buf_putc(q, '=');
            query_tq_quote(q, t->value);
        }
        sep = " && ";
    }
    if (p->min_duration_ns) {
        ottr_buf_printf(q, "%sduration>=%lluns", sep, (unsigned long long)p->min_duration_ns);
        sep = " && ";
    }
    if (p->max_duration_ns)
        ottr_buf_printf(q, "%sduration<=%lluns", sep, (unsigned long long)p->max_duration_ns);
    ottr_buf_putc(q, '}');
    return q->oom ? -1 : 0;
}

typedef struct zsearch_ctx {
    ottr_buf *out;
    const zterm *terms;
    int nterms;
    size_t n;
} zsearch_ctx;

/* Whether span |s| has tag or annotation |word|. */
static bool has_word(const otlp_span_ref *r, const char *word)
{
    const otlp_span *s = r->span;
    if (otlp_attr_find(s->attributes, s->n_attributes, word))
        return true;
    for (size_t i = 0; i < s->n_events; i++)
        if (s->events[i]->name && strcmp(s->events[i]->name, word) == 0)
            return true;
    return false;
}

static int on_match(void *ctx, const store_trace_summary *sum, otlp_trace *t,
                    const uint8_t *matched, size_t nmatched, ottr_arena *a)
{
    (void)a;
    (void)nmatched;
    zsearch_ctx *c = ctx;
    /* Bare words: one matching span must have every one. */
    bool any = false;
    for (size_t i = 0; i < t->nspans && !any; i++) {
        if (!matched[i])
            continue;
        bool all = true;
        for (int k = 0; k < c->nterms && all; k++)
            if (c->terms[k].bare && strcmp(c->terms[k].key, "error") != 0)
                all = has_word(&t->spans[i], c->terms[k].key);
        any = all;
    }
    if (!any)
        return QSEARCH_SKIP;
    if (c->n++)
        ottr_buf_putc(c->out, ',');
    query_zipkin_encode_trace(c->out, t, sum->trace_id);
    return c->out->oom ? -1 : 0;
}

ottr_status query_zipkin_search(store_view st, const query_zipkin_search_params *p, ottr_buf *out,
                                char *err, size_t errlen)
{
    if (p->min_duration_ns && p->max_duration_ns && p->min_duration_ns > p->max_duration_ns) {
        snprintf(err, errlen, "minDuration should be less than or equal to maxDuration");
        return OTTR_ERR_INVALID;
    }
    zterm terms[MAX_TERMS];
    int nterms = split_terms(p->annotation_query, terms, err, errlen);
    if (nterms < 0)
        return OTTR_ERR_INVALID;
    ottr_buf q = {0};
    if (zipkin_traceql(p, terms, nterms, &q) != 0) {
        ottr_buf_free(&q);
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    zsearch_ctx c = {out, terms, nterms, 0};
    qsearch s;
    memset(&s, 0, sizeof(s));
    s.st = st;
    s.sq.start_ns = p->start_ns;
    s.sq.end_ns = p->end_ns;
    s.limit = p->limit ? (p->limit > MAX_LIMIT ? MAX_LIMIT : p->limit) : 10;
    s.max_inspect = p->max_inspect ? p->max_inspect : QUERY_MAX_INSPECT;
    s.budget = p->budget;
    s.need_tree = true;
    s.fn = on_match;
    s.ctx = &c;
    ottr_buf_putc(out, '[');
    ottr_status rc = query_search_text(&s, q.data, err, errlen);
    ottr_buf_putc(out, ']');
    ottr_buf_free(&q);
    if (p->cut)
        *p->cut = s.cut;
    if (rc != OTTR_OK)
        return rc;
    return query_out_status(out, err, errlen);
}
