/* query/tempo_metrics.c - Tempo's TraceQL metrics API (/api/metrics/query_range
 * and /api/metrics/query): a spanset query turned into time series by rate(),
 * count_over_time(), sum/min/max/avg_over_time(), quantile_over_time(),
 * histogram_over_time() or compare(), grouped by(...), then topk/bottomk.
 *
 * Two sources. Queries that need only service, span name, kind and status
 * (status = error or != error) counting calls or latency - the RED case - are
 * answered from the per-minute span metrics of every span received, sampled or
 * not (steps are whole minutes then). Everything else is evaluated over the
 * kept traces: the spanset query selects spans (query_search_run), each
 * selected span starting in the range adds to its series' step. The answer
 * says which source was used ("source" in "metrics"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"
#include "query/qsearch.h"
#include "query/query.h"
#include "query/qmetrics.h"

#define MAX_STEPS      11000
#define DEFAULT_SERIES 1000

/* The numeric value of |r| for span |s| (durations in nanoseconds): 1 when it
 * has one. */
static int num_of(const tqm_ref *r, const otlp_span_ref *s, const tq_trace_info *ti, double *out)
{
    switch (r->what) {
    case TQMW_DURATION:
        *out = (double)otlp_span_duration(s->span);
        return 1;
    case TQMW_TRACE_DURATION:
        *out = (double)ti->duration_ns;
        return 1;
    case TQMW_ATTR: {
        const otlp_any *v = metrics_attr_of(r, s);
        if (v && v->value_case == ANY_INT) {
            *out = (double)v->int_value;
            return 1;
        }
        if (v && v->value_case == ANY_DOUBLE) {
            *out = v->double_value;
            return !isnan(v->double_value);
        }
        return 0;
    }
    default:
        return 0;
    }
}

static int is_duration(const tqm_ref *r)
{
    return r->what == TQMW_DURATION || r->what == TQMW_TRACE_DURATION;
}

/* Bucket i of a log2 histogram holds values in (2^(i-1), 2^i]; values up to 1
 * (and below) go to bucket 0. */
static int log2_bucket(double v)
{
    if (!(v > 1))
        return 0;
    int e;
    double m = frexp(v, &e); /* v = m * 2^e, m in [0.5, 1) */
    int i = m == 0.5 ? e - 1 : e;
    return i >= NHIST ? NHIST - 1 : i;
}

/* ------------------------------------------------------------------ accumulating */

static void add_exemplar(mctx *c, series *s, const otlp_span_ref *r, double value, uint64_t ts)
{
    if (s->ex == NULL || s->nex >= c->p->exemplars)
        return;
    /* One per step at most, so that they spread over the range. */
    uint64_t step = (ts - c->t0) / c->step;
    for (size_t i = 0; i < s->nex; i++)
        if ((s->ex[i].ts_ns - c->t0) / c->step == step)
            return;
    exemplar *e = &s->ex[s->nex++];
    memset(e, 0, sizeof(*e));
    const otlp_span *sp = r->span;
    if (sp->trace_id.len == 16)
        memcpy(e->trace_id, sp->trace_id.data, 16);
    if (sp->span_id.len == 8)
        memcpy(e->span_id, sp->span_id.data, 8);
    e->value = value;
    e->ts_ns = ts;
}

static void observe(mctx *c, series *s, size_t k, double v, int has_v)
{
    s->cnt[k] += 1;
    if (!has_v)
        return;
    switch (c->m.fn) {
    case TQM_SUM:
    case TQM_AVG:
        s->val[k] += v;
        break;
    case TQM_MIN:
        if (s->cnt[k] == 1 || v < s->val[k])
            s->val[k] = v;
        break;
    case TQM_MAX:
        if (s->cnt[k] == 1 || v > s->val[k])
            s->val[k] = v;
        break;
    case TQM_QUANTILE:
        s->hist[k * NHIST + log2_bucket(v)]++;
        break;
    default:
        break;
    }
}

/* compare(): the span's attributes and intrinsics counted under |type|. */
static void compare_span(mctx *c, const otlp_span_ref *r, size_t k, const char *type)
{
    ottr_buf b = {0};
    char total[32];
    snprintf(total, sizeof(total), "%s_total", type);
    const otlp_span *sp = r->span;
    for (int pass = 0; pass < 5 && c->st == OTTR_OK; pass++) {
        otlp_kv *const *kv = NULL;
        size_t n = 1;
        const char *prefix = "";
        if (pass == 0) {
            kv = sp->attributes, n = sp->n_attributes, prefix = "span.";
        } else if (pass == 1) {
            if (r->resource == NULL)
                continue;
            kv = r->resource->attributes, n = r->resource->n_attributes, prefix = "resource.";
        }
        for (size_t i = 0; i < n && c->st == OTTR_OK; i++) {
            char key[TQM_NAME_MAX + 16];
            for (int t = 0; t < 2; t++) {
                ottr_buf_reset(&b);
                ottr_buf_putc(&b, '[');
                metrics_put_label_str(&b, "__meta_type", t ? total : type);
                ottr_buf_putc(&b, ',');
                if (kv) {
                    const otlp_any *v = kv[i]->value;
                    if (kv[i]->key == NULL || v == NULL ||
                        (v->value_case != ANY_STRING && v->value_case != ANY_INT &&
                         v->value_case != ANY_DOUBLE && v->value_case != ANY_BOOL))
                        break;
                    snprintf(key, sizeof(key), "%s%s", prefix, kv[i]->key);
                    metrics_put_label_any(&b, key, t ? NULL : v);
                } else if (pass == 2) {
                    metrics_put_label_str(&b, "name", t ? NULL : (sp->name ? sp->name : ""));
                } else if (pass == 3) {
                    metrics_put_label_str(
                        &b, "status", t ? NULL : otlp_status_code_word(otlp_span_status_code(sp)));
                } else {
                    metrics_put_label_str(&b, "kind",
                                          t ? NULL : otlp_span_kind_word((int)sp->kind));
                }
                ottr_buf_putc(&b, ']');
                if (b.oom) {
                    c->st = OTTR_ERR_NOMEM;
                    break;
                }
                series *s = metrics_series_get(c, b.data, b.len);
                if (s)
                    s->cnt[k] += 1;
            }
        }
    }
    ottr_buf_free(&b);
}

static void add_span(mctx *c, const otlp_span_ref *r, const tq_trace_info *ti)
{
    uint64_t ts = r->span->start_time_unix_nano;
    if (ts < c->t0 || ts >= c->t0 + c->step * c->nsteps)
        return;
    size_t k = (size_t)((ts - c->t0) / c->step);
    c->inspected_spans++;
    if (c->m.fn == TQM_COMPARE) {
        bool sel = query_tq_eval_filter(c->cmp.root->l, r, ti);
        compare_span(c, r, k, sel ? "selection" : "baseline");
        return;
    }
    double v = 0;
    int has_v = 0;
    if (c->m.fn != TQM_RATE && c->m.fn != TQM_COUNT) {
        has_v = num_of(&c->m.arg, r, ti, &v);
        if (!has_v)
            return; /* Tempo leaves out spans without the value */
    }
    ottr_buf b = {0};
    ottr_buf_putc(&b, '[');
    for (int i = 0; i < c->m.nby; i++) {
        if (i)
            ottr_buf_putc(&b, ',');
        metrics_put_ref_label(&b, &c->m.by[i], r, ti);
    }
    if (c->m.fn == TQM_HISTOGRAM) {
        int i = log2_bucket(v);
        double bound = metrics_bucket_bound(c, i);
        if (c->m.nby)
            ottr_buf_putc(&b, ',');
        metrics_put_label_double(&b, "__bucket", is_duration(&c->m.arg) ? bound / SEC_NS : bound);
    }
    ottr_buf_putc(&b, ']');
    if (b.oom) {
        c->st = OTTR_ERR_NOMEM;
    } else {
        series *s = metrics_series_get(c, b.data, b.len);
        if (s) {
            observe(c, s, k, v, has_v);
            double ev = has_v ? (is_duration(&c->m.arg) ? v / SEC_NS : v)
                              : (double)otlp_span_duration(r->span) / SEC_NS;
            add_exemplar(c, s, r, ev, ts);
        }
    }
    ottr_buf_free(&b);
}

static int on_match(void *ctx, const store_trace_summary *sum, otlp_trace *t,
                    const uint8_t *matched, size_t nmatched, ottr_arena *a)
{
    (void)nmatched, (void)a;
    mctx *c = ctx;
    tq_trace_info ti;
    query_tq_trace_info_from_summary(&ti, sum);
    for (size_t i = 0; i < t->nspans && c->st == OTTR_OK; i++)
        if (matched[i])
            add_span(c, &t->spans[i], &ti);
    return c->st == OTTR_OK ? 0 : -1;
}

/* ------------------------------------------------------------------ output */

/* histogram_quantile over the NHIST buckets of one step, interpolating inside
 * the bucket; in the answer's unit. */
static double hist_quantile(const mctx *c, const uint64_t *h, double q)
{
    uint64_t total = 0;
    int nb = c->bucket_ms_bounds ? STORE_LAT_BUCKETS : NHIST;
    for (int i = 0; i < nb; i++)
        total += h[i];
    double rank = q * (double)total, below = 0;
    double scale = c->bucket_ms_bounds ? 1.0 : (is_duration(&c->m.arg) ? 1.0 / SEC_NS : 1.0);
    for (int i = 0; i < nb; i++) {
        if (h[i] > 0 && below + (double)h[i] >= rank) {
            if (c->bucket_ms_bounds && i == nb - 1)
                return metrics_bucket_bound(c, i - 1);
            double lo = i == 0 ? 0 : metrics_bucket_bound(c, i - 1),
                   hi = metrics_bucket_bound(c, i);
            return (lo + (hi - lo) * (rank - below) / (double)h[i]) * scale;
        }
        below += (double)h[i];
    }
    return 0;
}

/* The value of |s| at step |k|, and whether it has one. */
static int sample(const mctx *c, const series *s, size_t k, double q, double *out)
{
    double secs = (double)c->step / SEC_NS;
    switch (c->m.fn) {
    case TQM_RATE:
        *out = s->cnt[k] / secs;
        return 1;
    case TQM_COUNT:
    case TQM_HISTOGRAM:
    case TQM_COMPARE:
        *out = s->cnt[k];
        return 1;
    case TQM_SUM:
    case TQM_MIN:
    case TQM_MAX:
    case TQM_AVG:
        if (s->cnt[k] == 0)
            return 0;
        *out = c->m.fn == TQM_AVG ? s->val[k] / s->cnt[k] : s->val[k];
        if (is_duration(&c->m.arg))
            *out /= SEC_NS;
        return 1;
    case TQM_QUANTILE:
        if (s->cnt[k] == 0)
            return 0;
        *out = hist_quantile(c, s->hist + k * NHIST, q);
        return 1;
    }
    return 0;
}

/* "labels": the labels of |s|, with the quantile label p when |q| >= 0. */
static void put_labels(ottr_buf *b, const series *s, double q)
{
    ottr_buf_puts(b, "\"labels\":");
    size_t len = strlen(s->labels);
    if (q < 0) {
        ottr_buf_append(b, s->labels, len);
        return;
    }
    ottr_buf_append(b, s->labels, len - 1);
    if (len > 2)
        ottr_buf_putc(b, ',');
    metrics_put_label_double(b, "p", q);
    ottr_buf_putc(b, ']');
}

static int rank_cmp(const void *x, const void *y)
{
    const series *a = *(series *const *)x, *b = *(series *const *)y;
    return a->rank > b->rank ? -1 : a->rank < b->rank ? 1 : strcmp(a->labels, b->labels);
}

/* topk/bottomk: ranks every series by the sum of its samples over the range
 * and keeps the first (last) n. compare(): the topN values per attribute. */
static void select_series(mctx *c)
{
    for (size_t i = 0; i < c->nseries; i++) {
        series *s = c->list[i];
        s->rank = 0;
        for (size_t k = 0; k < c->nsteps; k++) {
            double v;
            if (sample(c, s, k, c->m.nq ? c->m.q[0] : 0.5, &v) && !isnan(v))
                s->rank += v;
        }
    }
    if (c->m.fn == TQM_COMPARE) {
        /* Per (type, key): keep the top values; totals always stay. */
        if (c->nseries > 1)
            qsort(c->list, c->nseries, sizeof(*c->list), rank_cmp);
        for (size_t i = 0; i < c->nseries; i++) {
            series *s = c->list[i];
            if (strstr(s->labels, "_total\"}") != NULL)
                continue;
            /* The labels up to the value: [{"key":"__meta_type",...},{"key":K,"value" */
            const char *kv = strstr(s->labels, "},{\"key\":");
            const char *val = kv ? strstr(kv, ",\"value\":") : NULL;
            size_t plen = val ? (size_t)(val - s->labels) : strlen(s->labels);
            int before = 0;
            for (size_t j = 0; j < i; j++) {
                const series *o = c->list[j];
                if (!o->drop && strncmp(o->labels, s->labels, plen) == 0 &&
                    strncmp(o->labels + plen, ",\"value\":", 9) == 0)
                    before++;
            }
            if (before >= c->m.compare_top)
                s->drop = 1;
        }
        return;
    }
    if (c->m.topk == 0)
        return;
    if (c->nseries > 1)
        qsort(c->list, c->nseries, sizeof(*c->list), rank_cmp);
    size_t k = (size_t)abs(c->m.topk);
    for (size_t i = 0; i < c->nseries; i++)
        c->list[i]->drop = c->m.topk > 0 ? i >= k : i + k < c->nseries;
}

static void put_exemplars(ottr_buf *b, const series *s)
{
    ottr_buf_puts(b, ",\"exemplars\":[");
    for (size_t i = 0; i < s->nex; i++) {
        const exemplar *e = &s->ex[i];
        if (i)
            ottr_buf_putc(b, ',');
        ottr_buf_puts(b, "{\"labels\":[{\"key\":\"trace:id\",\"value\":{\"stringValue\":");
        otlp_json_hex(b, e->trace_id, 16);
        ottr_buf_puts(b, "}},{\"key\":\"span:id\",\"value\":{\"stringValue\":");
        otlp_json_hex(b, e->span_id, 8);
        ottr_buf_puts(b, "}}],\"value\":");
        metrics_put_number(b, e->value);
        ottr_buf_printf(b, ",\"timestampMs\":\"%llu\"}", (unsigned long long)(e->ts_ns / 1000000));
    }
    ottr_buf_putc(b, ']');
}

static void put_series(ottr_buf *out, mctx *c)
{
    int nq = c->m.fn == TQM_QUANTILE ? c->m.nq : 1;
    size_t n = 0;
    ottr_buf_puts(out, "{\"series\":[");
    for (size_t i = 0; i < c->nseries; i++) {
        const series *s = c->list[i];
        if (s->drop)
            continue;
        for (int qi = 0; qi < nq; qi++) {
            double q = c->m.fn == TQM_QUANTILE ? c->m.q[qi] : -1;
            if (n++)
                ottr_buf_putc(out, ',');
            ottr_buf_putc(out, '{');
            put_labels(out, s, q);
            if (c->p->instant) {
                double v = 0;
                ottr_buf_puts(out, ",\"value\":");
                if (!sample(c, s, 0, q, &v))
                    v = NAN;
                metrics_put_number(out, v);
                ottr_buf_putc(out, '}');
                continue;
            }
            ottr_buf_puts(out, ",\"samples\":[");
            size_t m = 0;
            for (size_t k = 0; k < c->nsteps; k++) {
                double v;
                if (!sample(c, s, k, q, &v))
                    continue;
                if (m++)
                    ottr_buf_putc(out, ',');
                ottr_buf_printf(out, "{\"timestampMs\":\"%llu\",\"value\":",
                                (unsigned long long)((c->t0 + k * c->step) / 1000000));
                metrics_put_number(out, v);
                ottr_buf_putc(out, '}');
            }
            ottr_buf_putc(out, ']');
            if (c->p->exemplars && qi == 0)
                put_exemplars(out, s);
            ottr_buf_putc(out, '}');
        }
    }
    ottr_buf_putc(out, ']');
}

/* ------------------------------------------------------------------ entry point */

const char *query_metrics_source_name(query_metrics_source s)
{
    return s == QUERY_METRICS_SPANMETRICS ? "spanmetrics" : "traces";
}

static ottr_status fail(mctx *c, ottr_status st, char *err, size_t errlen, const char *fmt,
                        const char *arg)
{
    (void)c;
    snprintf(err, errlen, fmt, arg);
    return st;
}

ottr_status query_tempo_metrics(store_view st, const query_tempo_metrics_params *p, ottr_buf *out,
                                char *err, size_t errlen)
{
    mctx c;
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.maxseries = p->max_series ? p->max_series : DEFAULT_SERIES;
    ottr_status rc = OTTR_OK;
    ottr_arena a;
    ottr_arena_init(&a, 16 * 1024, 16 * 1024 * 1024);
    tq_query tq;
    memset(&tq, 0, sizeof(tq));
    char perr[QUERY_ERRLEN];
    int r = query_tqm_parse(p->q ? p->q : "", &c.m, perr, sizeof(perr));
    if (r <= 0) {
        rc = fail(&c, OTTR_ERR_INVALID, err, errlen, "%s",
                  r == 0 ? "invalid TraceQL metrics query: no metrics function such as "
                           "| rate() after the spanset"
                         : perr);
        goto done;
    }
    if (query_tq_parse(c.m.filter, &a, &tq, perr, sizeof(perr)) != 0) {
        rc = fail(&c, OTTR_ERR_INVALID, err, errlen, "%s", perr);
        goto done;
    }
    if (c.m.fn == TQM_COMPARE) {
        if (query_tq_parse(c.m.compare_filter, &a, &c.cmp, perr, sizeof(perr)) != 0) {
            rc = fail(&c, OTTR_ERR_INVALID, err, errlen, "compare(): %s", perr);
            goto done;
        }
        if (c.cmp.root == NULL || c.cmp.root->type != TQN_SPANSET) {
            rc = fail(&c, OTTR_ERR_INVALID, err, errlen, "%s",
                      "compare() takes one spanset filter { ... }");
            goto done;
        }
    }
    if (p->end_ns <= p->start_ns) {
        rc =
            fail(&c, OTTR_ERR_INVALID, err, errlen, "%s", "invalid range: end must be after start");
        goto done;
    }
    query_metrics_source src = metrics_sm_eligible(&c.m, &tq) && !p->force_traces
                                   ? QUERY_METRICS_SPANMETRICS
                                   : QUERY_METRICS_TRACES;
    c.step = p->instant ? p->end_ns - p->start_ns : p->step_ns;
    if (c.step == 0)
        c.step = (p->end_ns - p->start_ns + 99) / 100;
    if (src == QUERY_METRICS_SPANMETRICS && !p->instant)
        c.step = (c.step + MINUTE_NS - 1) / MINUTE_NS * MINUTE_NS;
    if (c.step < 1000000)
        c.step = 1000000;
    c.t0 = p->instant ? p->start_ns : p->start_ns / c.step * c.step;
    if (src == QUERY_METRICS_SPANMETRICS && !p->instant)
        c.t0 = p->start_ns / MINUTE_NS * MINUTE_NS;
    uint64_t steps = (p->end_ns - c.t0 + c.step - 1) / c.step;
    if (steps > MAX_STEPS) {
        rc = fail(&c, OTTR_ERR_INVALID, err, errlen, "%s",
                  "too many steps (over 11000): raise step or narrow the range");
        goto done;
    }
    c.nsteps = steps ? (size_t)steps : 1;
    if (p->source)
        *p->source = src;

    uint64_t inspected_traces = 0, inspected_bytes = 0;
    query_cut cut = QUERY_CUT_NONE;
    if (src == QUERY_METRICS_SPANMETRICS) {
        c.bucket_ms_bounds = true;
        rc = metrics_sm_run(&c, st, tq.root->l, p->end_ns);
    } else {
        qsearch s;
        memset(&s, 0, sizeof(s));
        s.st = st;
        s.tq = &tq;
        s.sq.start_ns = p->start_ns;
        s.sq.end_ns = p->end_ns;
        s.max_inspect = p->max_inspect ? p->max_inspect : QUERY_MAX_INSPECT;
        s.limit = s.max_inspect;
        s.budget = p->budget;
        s.fn = on_match;
        s.ctx = &c;
        rc = query_search_run(&s);
        if (rc != OTTR_OK && c.st != OTTR_OK)
            rc = c.st;
        cut = s.cut;
        inspected_traces =
            s.stats.inspected_traces > s.decoded ? s.stats.inspected_traces : s.decoded;
        inspected_bytes = s.stats.inspected_bytes + s.bytes_read;
    }
    if (p->cut)
        *p->cut = cut;
    if (rc == OTTR_ERR_TOO_LARGE) {
        snprintf(err, errlen, "too many series x steps: narrow by(), the range or raise step");
        goto done;
    }
    if (rc != OTTR_OK) {
        snprintf(err, errlen, "metrics query failed: %s", ottr_status_str(rc));
        goto done;
    }
    select_series(&c);
    put_series(out, &c);
    ottr_buf_printf(out,
                    ",\"metrics\":{\"inspectedTraces\":%llu,\"inspectedBytes\":\"%llu\","
                    "\"inspectedSpans\":\"%zu\",\"totalJobs\":1,\"completedJobs\":%d,"
                    "\"source\":\"%s\"}",
                    (unsigned long long)inspected_traces, (unsigned long long)inspected_bytes,
                    c.inspected_spans, cut == QUERY_CUT_NONE, query_metrics_source_name(src));
    if (cut != QUERY_CUT_NONE || c.truncated)
        ottr_buf_printf(out, ",\"status\":\"PARTIAL\",\"message\":\"%s\"",
                        c.truncated ? "series limit reached: some series left out"
                                    : query_cut_name(cut));
    ottr_buf_putc(out, '}');
    if (out->oom) {
        snprintf(err, errlen, "out of memory");
        rc = OTTR_ERR_NOMEM;
    }
done:
    for (size_t i = 0; i < c.nseries; i++)
        metrics_series_free(c.list[i]);
    free(c.list);
    free(c.tab);
    query_tq_free(&tq);
    if (c.m.fn == TQM_COMPARE)
        query_tq_free(&c.cmp);
    query_tqm_free(&c.m);
    ottr_arena_free(&a);
    return rc;
}
