/* query/jaeger_metrics.c - Jaeger's metrics API (the Monitor tab) from the
 * store's per-minute span metrics: call rates, error rates and latency
 * quantiles per service (and span name), as range queries with an end, a
 * lookback, a step and a rate window, in Jaeger's MetricFamily JSON.
 *
 * A point at time t covers the whole minutes (t's minute and the ones before)
 * that make up the rate window (ratePer, at least one minute): calls/s over the
 * window, errors/calls over the window, and the quantile of the window's summed
 * latency histogram with linear interpolation inside the bucket, as
 * Prometheus' histogram_quantile does. Points of windows without calls are
 * left out of error rates and latencies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otlp/otlp.h"
#include "query/query.h"

#define MAX_POINTS 11000       /* per series, as Prometheus' range queries */
#define MAX_CELLS  (16u << 20) /* counters held while answering */
#define MINUTE_MS  60000ull

/* Latency bucket upper bounds in milliseconds (the last bucket is +Inf). */
static double bucket_ms(int i)
{
    return 2.0 * (double)(1u << i);
}

typedef struct series {
    char *service;
    char *op;        /* NULL unless grouped by operation */
    uint64_t *cells; /* nmin x ncell, then prefix sums along minutes */
} series;

typedef struct acc {
    const query_jaeger_metrics_params *p;
    uint32_t first; /* minute of cells[0] */
    size_t nmin, ncell;
    series *s;
    size_t n, cap;
    ottr_status st;
} acc;

static int series_cmp(const char *svc, const char *op, const series *s)
{
    int c = strcmp(svc, s->service);
    if (c || op == NULL)
        return c;
    return strcmp(op, s->op);
}

/* The series of |svc| (|op|), added in order when new; NULL on failure (st set). */
static series *series_get(acc *a, const char *svc, const char *op)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = series_cmp(svc, op, &a->s[mid]);
        if (c == 0)
            return &a->s[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if ((a->n + 1) * a->nmin * a->ncell > MAX_CELLS) {
        a->st = OTTR_ERR_TOO_LARGE;
        return NULL;
    }
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 16;
        series *ns = realloc(a->s, ncap * sizeof(*ns));
        if (ns == NULL) {
            a->st = OTTR_ERR_NOMEM;
            return NULL;
        }
        a->s = ns;
        a->cap = ncap;
    }
    series n = {strdup(svc), op ? strdup(op) : NULL, calloc(a->nmin * a->ncell, sizeof(uint64_t))};
    if (n.service == NULL || (op && n.op == NULL) || n.cells == NULL) {
        free(n.service);
        free(n.op);
        free(n.cells);
        a->st = OTTR_ERR_NOMEM;
        return NULL;
    }
    memmove(&a->s[lo + 1], &a->s[lo], (a->n - lo) * sizeof(*a->s));
    a->s[lo] = n;
    a->n++;
    return &a->s[lo];
}

static int on_series(void *ctx, const store_span_series *r)
{
    acc *a = ctx;
    if (!(a->p->kinds & (1u << r->kind)) || r->minute < a->first || r->minute - a->first >= a->nmin)
        return 0;
    series *s = series_get(a, r->service, a->p->group_by_operation ? r->name : NULL);
    if (s == NULL)
        return 1;
    uint64_t *c = s->cells + (size_t)(r->minute - a->first) * a->ncell;
    switch (a->p->what) {
    case QUERY_RED_CALLS:
        c[0] += r->calls;
        break;
    case QUERY_RED_ERRORS:
        c[0] += r->calls;
        c[1] += r->errors;
        break;
    case QUERY_RED_LATENCIES:
        for (int i = 0; i < STORE_LAT_BUCKETS; i++)
            c[i] += r->latency[i];
        break;
    }
    return 0;
}

/* histogram_quantile over |b| (counts per bucket), in milliseconds. */
static double quantile(const uint64_t *b, double q)
{
    uint64_t total = 0;
    for (int i = 0; i < STORE_LAT_BUCKETS; i++)
        total += b[i];
    double rank = q * (double)total;
    uint64_t below = 0;
    for (int i = 0; i < STORE_LAT_BUCKETS; i++) {
        if ((double)(below + b[i]) >= rank && b[i] > 0) {
            if (i == STORE_LAT_BUCKETS - 1)
                return bucket_ms(i - 1); /* +Inf: the highest finite bound */
            double lo = i == 0 ? 0 : bucket_ms(i - 1), hi = bucket_ms(i);
            return lo + (hi - lo) * (rank - (double)below) / (double)b[i];
        }
        below += b[i];
    }
    return bucket_ms(STORE_LAT_BUCKETS - 2);
}

/* A google.protobuf.Timestamp in JSON: RFC 3339 in UTC, 0, 3 digits of
 * fraction as needed (times here are whole milliseconds). */
static void put_timestamp(ottr_buf *out, uint64_t ms)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char buf[40];
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    if (ms % 1000)
        ottr_buf_printf(out, "\"%s.%03uZ\"", buf, (unsigned)(ms % 1000));
    else
        ottr_buf_printf(out, "\"%sZ\"", buf);
}

/* Writes |s|'s points; returns how many. */
static size_t put_points(ottr_buf *out, const acc *a, const series *s, uint64_t start_ms,
                         uint64_t end_ms, uint64_t win)
{
    const query_jaeger_metrics_params *p = a->p;
    uint64_t sums[STORE_LAT_BUCKETS];
    size_t n = 0;
    for (uint64_t t = start_ms; t <= end_ms; t += p->step_ms) {
        size_t mi = (size_t)(t / MINUTE_MS - a->first);
        const uint64_t *hi = s->cells + mi * a->ncell;
        const uint64_t *lo = mi >= win ? s->cells + (mi - win) * a->ncell : NULL;
        for (size_t c = 0; c < a->ncell; c++)
            sums[c] = hi[c] - (lo ? lo[c] : 0);
        double v;
        if (p->what == QUERY_RED_CALLS) {
            v = (double)sums[0] / (double)(win * 60);
        } else if (p->what == QUERY_RED_ERRORS) {
            if (sums[0] == 0)
                continue;
            v = (double)sums[1] / (double)sums[0];
        } else {
            uint64_t total = 0;
            for (int i = 0; i < STORE_LAT_BUCKETS; i++)
                total += sums[i];
            if (total == 0)
                continue;
            v = quantile(sums, p->quantile);
        }
        ottr_buf_puts(out, n++ ? ",{\"gaugeValue\":{\"doubleValue\":"
                               : "{\"gaugeValue\":{\"doubleValue\":");
        otlp_json_double(out, v);
        ottr_buf_puts(out, "},\"timestamp\":");
        put_timestamp(out, t);
        ottr_buf_putc(out, '}');
    }
    return n;
}

static void put_family(ottr_buf *out, const acc *a, uint64_t start_ms, uint64_t end_ms,
                       uint64_t win)
{
    const query_jaeger_metrics_params *p = a->p;
    static const char *const names[] = {"service_latencies", "service_call_rate",
                                        "service_error_rate"};
    static const char *const helps[] = {
        "%.2fth quantile latency, grouped by service", "calls/sec, grouped by service",
        "error rate, computed as a fraction of errors/sec over calls/sec, grouped by service"};
    char name[64], help[160];
    const char *base = names[p->what];
    if (p->group_by_operation)
        snprintf(name, sizeof(name), "service_operation%s", base + strlen("service"));
    else
        snprintf(name, sizeof(name), "%s", base);
    if (p->what == QUERY_RED_LATENCIES)
        snprintf(help, sizeof(help), helps[0], p->quantile);
    else
        snprintf(help, sizeof(help), "%s", helps[p->what]);
    if (p->group_by_operation)
        strncat(help, " & operation", sizeof(help) - strlen(help) - 1);
    ottr_buf_puts(out, "{\"name\":");
    otlp_json_str(out, name);
    ottr_buf_puts(out, ",\"type\":\"GAUGE\",\"help\":");
    otlp_json_str(out, help);
    size_t nm = 0;
    for (size_t i = 0; i < a->n; i++) {
        const series *s = &a->s[i];
        size_t mark = out->len;
        ottr_buf_puts(out, nm ? ",{\"labels\":[{\"name\":\"service_name\",\"value\":"
                              : ",\"metrics\":[{\"labels\":[{\"name\":\"service_name\",\"value\":");
        otlp_json_str(out, s->service);
        if (s->op) {
            ottr_buf_puts(out, "},{\"name\":\"operation\",\"value\":");
            otlp_json_str(out, s->op);
        }
        ottr_buf_puts(out, "}],\"metricPoints\":[");
        if (put_points(out, a, s, start_ms, end_ms, win) == 0 && !out->oom) {
            out->len = mark; /* no point: no series, as Prometheus answers */
            continue;
        }
        ottr_buf_puts(out, "]}");
        nm++;
    }
    /* An empty list is left out, as protobuf's JSON mapping does. */
    ottr_buf_puts(out, nm ? "]}" : "}");
}

ottr_status query_jaeger_metrics(store_view st, const query_jaeger_metrics_params *p, ottr_buf *out,
                                 char *err, size_t errlen)
{
    if (p->step_ms == 0 || p->lookback_ms == 0) {
        snprintf(err, errlen, "'step' and 'lookback' must be positive");
        return OTTR_ERR_INVALID;
    }
    if (p->what == QUERY_RED_LATENCIES && !(p->quantile >= 0 && p->quantile <= 1)) {
        snprintf(err, errlen, "unable to parse param 'quantile': want a number from 0 to 1");
        return OTTR_ERR_INVALID;
    }
    if (p->lookback_ms / p->step_ms >= MAX_POINTS) {
        snprintf(err, errlen,
                 "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
                 "the query resolution (?step=XX)");
        return OTTR_ERR_INVALID;
    }
    uint64_t end_ms = p->end_ms;
    uint64_t start_ms = end_ms > p->lookback_ms ? end_ms - p->lookback_ms : 0;
    uint64_t win = (p->rate_per_ms + MINUTE_MS - 1) / MINUTE_MS;
    if (win == 0)
        win = 1;
    if (win > 60 * 24 * 31)
        win = 60 * 24 * 31;
    uint64_t first = start_ms / MINUTE_MS, last = end_ms / MINUTE_MS;
    first = first >= win - 1 ? first - (win - 1) : 0;
    if (last >= 0x80000000u) {
        snprintf(err, errlen, "'endTs' is out of range");
        return OTTR_ERR_INVALID;
    }
    acc a = {.p = p, .first = (uint32_t)first, .nmin = (size_t)(last - first + 1)};
    a.ncell = p->what == QUERY_RED_CALLS ? 1 : p->what == QUERY_RED_ERRORS ? 2 : STORE_LAT_BUCKETS;
    if (a.nmin * a.ncell > MAX_CELLS) {
        snprintf(err, errlen, "the lookback and rate window span too many minutes");
        return OTTR_ERR_TOO_LARGE;
    }
    ottr_status s = OTTR_OK;
    for (size_t i = 0; i < p->nservices && s == OTTR_OK && a.st == OTTR_OK; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= strcmp(p->services[j], p->services[i]) == 0;
        if (!seen)
            s = store_span_metrics(st, a.first, (uint32_t)last, false, p->services[i], on_series,
                                   &a);
    }
    if (s == OTTR_OK)
        s = a.st;
    if (s == OTTR_OK) {
        /* Prefix sums along minutes: a window is one subtraction. */
        for (size_t i = 0; i < a.n; i++)
            for (size_t m = 1; m < a.nmin; m++)
                for (size_t c = 0; c < a.ncell; c++)
                    a.s[i].cells[m * a.ncell + c] += a.s[i].cells[(m - 1) * a.ncell + c];
        put_family(out, &a, start_ms, end_ms, win);
    }
    for (size_t i = 0; i < a.n; i++) {
        free(a.s[i].service);
        free(a.s[i].op);
        free(a.s[i].cells);
    }
    free(a.s);
    if (s == OTTR_ERR_TOO_LARGE) {
        snprintf(err, errlen, "too many series over the lookback: narrow the services or lookback");
        return s;
    }
    if (s != OTTR_OK) {
        snprintf(err, errlen, "reading span metrics failed: %s", ottr_status_str(s));
        return s;
    }
    if (out->oom) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    return OTTR_OK;
}

void query_jaeger_min_step(ottr_buf *out)
{
    ottr_buf_printf(out, "{\"data\":%llu,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}",
                    (unsigned long long)MINUTE_MS);
}
