/* query/tempo_search.c - Tempo's /api/search: TraceQL or tags, duration bounds,
 * limit and spans per span set; each match becomes a trace entry with its
 * span sets (spanSets, and the first as the older spanSet: matched spans with
 * the attributes the query looked at or selected, the count, and what by()
 * and aggregates said about the set) and per-service span and error counts,
 * followed by what was inspected. */
#include <stdio.h>
#include <string.h>

#include "otlp/otlp.h"
#include "query/qsearch.h"
#include "query/query.h"

#define MAX_REFS  16
#define MAX_LIMIT 10000
#define MAX_SPSS  1000

/* An attribute or intrinsic the query mentions, shown on matched spans. */
typedef struct ref {
    tq_field field;
    tq_scope scope;
    const char *attr;
} ref;

typedef struct tempo_ctx {
    const qsearch *s;
    ottr_buf *out;
    size_t spss;
    size_t ntraces;
    ref refs[MAX_REFS];
    size_t nrefs;
} tempo_ctx;

static void add_ref(void *vctx, const tq_node *n)
{
    tempo_ctx *c = vctx;
    if ((n->field != TQF_ATTR && n->field != TQF_STATUS && n->field != TQF_KIND &&
         n->field != TQF_STATUS_MESSAGE) ||
        n->parent)
        return;
    if (n->field == TQF_ATTR && strcmp(n->attr, OTLP_SERVICE_NAME) == 0 && n->scope != TQS_SPAN)
        return; /* always shown */
    for (size_t i = 0; i < c->nrefs; i++) {
        const ref *r = &c->refs[i];
        if (r->field == n->field &&
            (n->field != TQF_ATTR || (r->scope == n->scope && strcmp(r->attr, n->attr) == 0)))
            return;
    }
    if (c->nrefs < MAX_REFS)
        c->refs[c->nrefs++] = (ref){n->field, n->scope, n->attr};
}

static void put_kv_string(ottr_buf *b, const char *key, const char *value, int *first)
{
    if (!*first)
        ottr_buf_putc(b, ',');
    *first = 0;
    ottr_buf_puts(b, "{\"key\":");
    otlp_json_str(b, key);
    ottr_buf_puts(b, ",\"value\":{\"stringValue\":");
    otlp_json_str(b, value);
    ottr_buf_puts(b, "}}");
}

static void put_kv_any(ottr_buf *b, const char *key, const otlp_any *v, int *first)
{
    if (!*first)
        ottr_buf_putc(b, ',');
    *first = 0;
    ottr_buf_puts(b, "{\"key\":");
    otlp_json_str(b, key);
    ottr_buf_puts(b, ",\"value\":");
    otlp_json_any(b, v);
    ottr_buf_putc(b, '}');
}

static void put_span(tempo_ctx *c, const otlp_span_ref *s)
{
    ottr_buf *b = c->out;
    const otlp_span *sp = s->span;
    ottr_buf_puts(b, "{\"spanID\":");
    otlp_json_hex(b, sp->span_id.data, sp->span_id.len);
    ottr_buf_puts(b, ",\"name\":");
    otlp_json_str(b, sp->name);
    ottr_buf_puts(b, ",\"startTimeUnixNano\":");
    otlp_json_u64str(b, sp->start_time_unix_nano);
    ottr_buf_puts(b, ",\"durationNanos\":");
    otlp_json_u64str(b, otlp_span_duration(sp));
    ottr_buf_puts(b, ",\"attributes\":[");
    int first = 1;
    put_kv_string(b, OTLP_SERVICE_NAME, s->service, &first);
    for (size_t i = 0; i < c->nrefs; i++) {
        const ref *r = &c->refs[i];
        const otlp_any *v = NULL;
        switch (r->field) {
        case TQF_ATTR:
            v = query_tq_attr(s, r->scope, r->attr);
            if (v)
                put_kv_any(b, r->attr, v, &first);
            break;
        case TQF_STATUS: {
            const char *w = otlp_status_code_word(otlp_span_status_code(sp));
            put_kv_string(b, "status", w ? w : otlp_status_code_word(0), &first);
            break;
        }
        case TQF_KIND: {
            const char *w = otlp_span_kind_word((int)sp->kind);
            put_kv_string(b, "kind", w ? w : otlp_span_kind_word(0), &first);
            break;
        }
        case TQF_STATUS_MESSAGE:
            if (sp->status && sp->status->message && sp->status->message[0])
                put_kv_string(b, "statusMessage", sp->status->message, &first);
            break;
        default:
            break;
        }
    }
    ottr_buf_puts(b, "]}");
}

#define MAX_SS_ATTRS 32

/* One span set: up to spss spans, the count, and the pipeline's attributes
 * (kept newest first: written oldest first). */
static void put_spanset(tempo_ctx *c, const otlp_trace *t, const tq_spanset *set)
{
    ottr_buf *b = c->out;
    ottr_buf_puts(b, "{\"spans\":[");
    for (size_t j = 0; j < set->n && j < c->spss; j++) {
        if (j)
            ottr_buf_putc(b, ',');
        put_span(c, &t->spans[set->spans[j]]);
    }
    ottr_buf_printf(b, "],\"matched\":%zu", set->n);
    const tq_ss_attr *at[MAX_SS_ATTRS];
    size_t na = 0;
    for (const tq_ss_attr *a = set->attrs; a && na < MAX_SS_ATTRS; a = a->next)
        at[na++] = a;
    if (na) {
        ottr_buf_puts(b, ",\"attributes\":[");
        for (size_t k = na; k-- > 0;) {
            ottr_buf_puts(b, "{\"key\":");
            otlp_json_str(b, at[k]->key);
            ottr_buf_puts(b, ",\"value\":");
            query_tq_value_json(b, &at[k]->v);
            ottr_buf_putc(b, '}');
            if (k)
                ottr_buf_putc(b, ',');
        }
        ottr_buf_putc(b, ']');
    }
    ottr_buf_putc(b, '}');
}

static int on_match(void *ctx, const store_trace_summary *sum, otlp_trace *t,
                    const uint8_t *matched, size_t nmatched, ottr_arena *a)
{
    (void)a;
    (void)matched;
    (void)nmatched;
    tempo_ctx *c = ctx;
    ottr_buf *b = c->out;
    if (c->ntraces++)
        ottr_buf_putc(b, ',');
    ottr_buf_puts(b, "{\"traceID\":");
    otlp_json_hex(b, sum->trace_id, 16);
    ottr_buf_puts(b, ",\"rootServiceName\":");
    if (sum->root_service[0]) {
        otlp_json_str(b, sum->root_service);
        ottr_buf_puts(b, ",\"rootTraceName\":");
        otlp_json_str(b, sum->root_name);
    } else {
        otlp_json_str(b, "<root span not yet received>");
    }
    ottr_buf_puts(b, ",\"startTimeUnixNano\":");
    otlp_json_u64str(b, sum->start_ns);
    uint64_t dur = sum->end_ns > sum->start_ns ? sum->end_ns - sum->start_ns : 0;
    ottr_buf_printf(b, ",\"durationMs\":%llu", (unsigned long long)(dur / 1000000));
    const tq_sets *sets = &c->s->sets;
    if (sets->n) {
        ottr_buf_puts(b, ",\"spanSet\":");
        put_spanset(c, t, &sets->v[0]);
    }
    ottr_buf_puts(b, ",\"spanSets\":[");
    for (size_t k = 0; k < sets->n; k++) {
        if (k)
            ottr_buf_putc(b, ',');
        put_spanset(c, t, &sets->v[k]);
    }
    ottr_buf_puts(b, "],\"serviceStats\":{");
    for (uint32_t i = 0; i < sum->nservices && i < STORE_MAX_SERVICES; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        otlp_json_str(b, sum->services[i].name);
        ottr_buf_printf(b, ":{\"spanCount\":%u,\"errorCount\":%u}", sum->services[i].spans,
                        sum->services[i].errors);
    }
    ottr_buf_puts(b, "}}");
    return b->oom ? -1 : 0;
}

ottr_status query_tempo_search(store_view st, const query_tempo_search_params *p, ottr_buf *out,
                               char *err, size_t errlen)
{
    ottr_buf q = {0};
    const char *text;
    const char *param = "q";
    if (p->q && p->q[0]) {
        text = p->q;
    } else if (p->tags && p->tags[0]) {
        param = "tags";
        if (query_search_tags_to_traceql(p->tags, &q, err, errlen) != 0) {
            ottr_buf_free(&q);
            return OTTR_ERR_INVALID;
        }
        text = q.data;
    } else {
        text = "{}";
    }
    if (p->min_duration_ns && p->max_duration_ns && p->min_duration_ns > p->max_duration_ns) {
        snprintf(err, errlen, "invalid maxDuration: must be greater than minDuration");
        ottr_buf_free(&q);
        return OTTR_ERR_INVALID;
    }

    ottr_arena a;
    ottr_arena_init(&a, 16 * 1024, 16 * 1024 * 1024);
    tq_query tq;
    char perr[QUERY_ERRLEN];
    if (query_tq_parse(text, &a, &tq, perr, sizeof(perr)) != 0) {
        snprintf(err, errlen, "%s %s",
                 strcmp(param, "tags") == 0 ? "invalid tags:" : "parameter q:", perr);
        query_tq_free(&tq);
        ottr_arena_free(&a);
        ottr_buf_free(&q);
        return OTTR_ERR_INVALID;
    }

    tempo_ctx c;
    memset(&c, 0, sizeof(c));
    c.out = out;
    c.spss = p->spss ? (p->spss > MAX_SPSS ? MAX_SPSS : p->spss) : 3;
    query_tq_each_field(&tq, add_ref, &c);

    qsearch s;
    memset(&s, 0, sizeof(s));
    c.s = &s;
    s.st = st;
    s.tq = &tq;
    s.sq.start_ns = p->start_ns;
    s.sq.end_ns = p->end_ns;
    s.sq.min_duration_ns = p->min_duration_ns;
    s.sq.max_duration_ns = p->max_duration_ns;
    s.limit = p->limit ? (p->limit > MAX_LIMIT ? MAX_LIMIT : p->limit) : 20;
    s.max_inspect = p->max_inspect ? p->max_inspect : QUERY_MAX_INSPECT;
    s.budget = p->budget;
    s.fn = on_match;
    s.ctx = &c;

    ottr_buf_puts(out, "{\"traces\":[");
    ottr_status rc = query_search_run(&s);
    /* One job: cut short, it did not complete, as Tempo reports a search some
     * of whose jobs failed or were not run. */
    ottr_buf_printf(
        out,
        "],\"metrics\":{\"inspectedTraces\":%llu,\"inspectedBytes\":\"%llu\","
        "\"completedJobs\":%d,\"totalJobs\":1}",
        (unsigned long long)(s.stats.inspected_traces > s.decoded ? s.stats.inspected_traces
                                                                  : s.decoded),
        (unsigned long long)(s.stats.inspected_bytes + s.bytes_read), s.cut == QUERY_CUT_NONE);
    if (s.cut != QUERY_CUT_NONE)
        ottr_buf_printf(out, ",\"partial\":true,\"partialReason\":\"%s\"", query_cut_name(s.cut));
    ottr_buf_putc(out, '}');
    if (p->cut)
        *p->cut = s.cut;
    query_tq_free(&tq);
    ottr_arena_free(&a);
    ottr_buf_free(&q);
    if (rc != OTTR_OK || out->oom) {
        snprintf(err, errlen, "search failed: %s",
                 ottr_status_str(rc != OTTR_OK ? rc : OTTR_ERR_NOMEM));
        return rc != OTTR_OK ? rc : OTTR_ERR_NOMEM;
    }
    return OTTR_OK;
}

int query_traceql_check(const char *q, char *err, size_t errlen)
{
    ottr_arena a;
    ottr_arena_init(&a, 16 * 1024, 16 * 1024 * 1024);
    tq_query tq;
    int rc = query_tq_parse(q, &a, &tq, err, errlen);
    query_tq_free(&tq);
    ottr_arena_free(&a);
    return rc;
}
