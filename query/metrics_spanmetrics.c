/* query/metrics_spanmetrics.c - TraceQL metrics from the per-minute span
 * metrics of every span (sampled or not): for queries that need only the
 * service, span name, kind and status = error (the RED case), each stored
 * series (service, name, kind: calls, errors, latency histogram) becomes two
 * virtual spans - its errors and the rest - that the spanset's conditions are
 * evaluated on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/qmetrics.h"

/* ------------------------------------------------------------------ span metrics source */

/* 1 when the filter can be answered per (service, name, kind, status) series:
 * one spanset of conditions on resource.service.name, name, kind and status
 * (= error / != error), joined with && || !. */
static int sm_node_ok(const tq_node *n, int *uses_status)
{
    if (n == NULL)
        return 1;
    switch (n->type) {
    case TQN_CONST:
        return 1;
    case TQN_AND:
    case TQN_OR:
        return sm_node_ok(n->l, uses_status) && sm_node_ok(n->r, uses_status);
    case TQN_NOT:
        return sm_node_ok(n->l, uses_status);
    case TQN_COND:
        switch (n->field) {
        case TQF_NAME:
        case TQF_KIND:
            return 1;
        case TQF_STATUS:
            *uses_status = 1;
            /* The span metrics count errors and calls, not ok apart from unset. */
            return (n->op == TQ_EQ || n->op == TQ_NE) && n->lit.type == TQL_STATUS && n->lit.i == 2;
        case TQF_ATTR:
            return strcmp(n->attr, OTLP_SERVICE_NAME) == 0 &&
                   (n->scope == TQS_ANY || n->scope == TQS_RESOURCE);
        default:
            return 0;
        }
    default:
        return 0;
    }
}

int metrics_sm_eligible(const tqm_query *m, const tq_query *tq)
{
    if (m->fn == TQM_QUANTILE || m->fn == TQM_HISTOGRAM) {
        if (m->arg.what != TQMW_DURATION)
            return 0;
    } else if (m->fn != TQM_RATE && m->fn != TQM_COUNT) {
        return 0;
    }
    for (int i = 0; i < m->nby; i++) {
        const tqm_ref *r = &m->by[i];
        if (r->what == TQMW_NAME || r->what == TQMW_KIND)
            continue;
        if (r->what == TQMW_ATTR && strcmp(r->name, OTLP_SERVICE_NAME) == 0 && r->scope != TQS_SPAN)
            continue;
        return 0;
    }
    const tq_node *root = tq->root;
    if (root == NULL || root->type != TQN_SPANSET)
        return 0;
    int uses_status = 0;
    if (!sm_node_ok(root->l, &uses_status))
        return 0;
    /* The latency histogram covers every call: no status split. */
    return !(uses_status && (m->fn == TQM_QUANTILE || m->fn == TQM_HISTOGRAM));
}

typedef struct sm_ctx {
    mctx *c;
    const tq_node *filter;
} sm_ctx;

static int on_sm_series(void *vctx, const store_span_series *r)
{
    sm_ctx *x = vctx;
    mctx *c = x->c;
    uint64_t ts = (uint64_t)r->minute * MINUTE_NS;
    if (ts < c->t0 || ts >= c->t0 + c->step * c->nsteps)
        return 0;
    size_t k = (size_t)((ts - c->t0) / c->step);
    int lat = c->m.fn == TQM_HISTOGRAM || c->m.fn == TQM_QUANTILE;
    uint64_t ok = r->calls - (r->errors < r->calls ? r->errors : r->calls);
    /* Two virtual spans: the errors and the rest; latency covers every call,
     * and latency queries never look at the status (sm_eligible). */
    for (int err = 0; err < 2 && c->st == OTTR_OK; err++) {
        uint64_t n = lat ? (err ? 0 : r->calls) : (err ? r->errors : ok);
        if (n == 0)
            continue;
        otlp_span sp = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
        Opentelemetry__Proto__Trace__V1__Status status =
            OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
        status.code = err ? 2 : 0;
        sp.status = &status;
        sp.name = (char *)r->name;
        sp.kind = r->kind;
        otlp_any sv = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        sv.value_case = ANY_STRING;
        sv.string_value = (char *)r->service;
        otlp_kv kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
        kv.key = (char *)OTLP_SERVICE_NAME;
        kv.value = &sv;
        otlp_kv *kvs[1] = {&kv};
        otlp_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
        res.attributes = kvs;
        res.n_attributes = 1;
        otlp_span_ref ref = {0};
        ref.span = &sp;
        ref.resource = &res;
        ref.service = r->service;
        ref.parent = -1;
        tq_trace_info ti = {0};
        if (x->filter && !query_tq_eval_filter(x->filter, &ref, &ti))
            continue;
        c->inspected_spans += n;
        ottr_buf b = {0};
        ottr_buf_putc(&b, '[');
        for (int i = 0; i < c->m.nby; i++) {
            if (i)
                ottr_buf_putc(&b, ',');
            metrics_put_ref_label(&b, &c->m.by[i], &ref, &ti);
        }
        size_t mark = b.len;
        int nb = c->m.fn == TQM_HISTOGRAM ? STORE_LAT_BUCKETS : 1;
        for (int bi = 0; bi < nb && c->st == OTTR_OK; bi++) {
            uint64_t cnt = n;
            b.len = mark;
            if (c->m.fn == TQM_HISTOGRAM) {
                if (r->latency[bi] == 0)
                    continue;
                cnt = r->latency[bi];
                if (c->m.nby)
                    ottr_buf_putc(&b, ',');
                metrics_put_label_double(&b, "__bucket",
                                         bi == STORE_LAT_BUCKETS - 1 ? INFINITY
                                                                     : metrics_bucket_bound(c, bi));
            }
            ottr_buf_putc(&b, ']');
            if (b.oom) {
                c->st = OTTR_ERR_NOMEM;
                break;
            }
            series *s = metrics_series_get(c, b.data, b.len);
            if (s == NULL)
                continue;
            s->cnt[k] += (double)cnt;
            if (c->m.fn == TQM_QUANTILE)
                for (int i = 0; i < STORE_LAT_BUCKETS; i++)
                    s->hist[k * NHIST + i] += r->latency[i];
        }
        ottr_buf_free(&b);
    }
    return c->st == OTTR_OK ? 0 : 1;
}

ottr_status metrics_sm_run(mctx *c, store_view st, const tq_node *filter, uint64_t end_ns)
{
    sm_ctx x = {c, filter};
    uint64_t last = c->t0 + c->step * c->nsteps - 1;
    if (last > end_ns)
        last = end_ns;
    ottr_status rc =
        store_span_metrics(st, (uint32_t)(c->t0 / MINUTE_NS), (uint32_t)(last / MINUTE_NS), false,
                           NULL, on_sm_series, &x);
    return rc == OTTR_OK ? c->st : rc;
}
