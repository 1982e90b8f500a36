/* query/span_metrics.c - GET /api/span-metrics on the query port: the stored
 * per-minute span metrics (calls, errors and the latency histogram per service,
 * span name and kind) of a time range as flat JSON rows, what the web UI's
 * Services page charts. Ranges over a day read the hourly roll-ups instead. */
#include <stdio.h>
#include <string.h>

#include "otlp/otlp.h"
#include "query/query.h"

typedef struct rows {
    ottr_buf *out;
    uint32_t step_s;
    size_t n, max;
    bool truncated;
} rows;

static int on_row(void *ctx, const store_span_series *r)
{
    rows *a = ctx;
    if (a->n == a->max) {
        a->truncated = true;
        return 1;
    }
    ottr_buf *out = a->out;
    ottr_buf_printf(out, "%s{\"time\":%llu,\"service\":", a->n++ ? "," : "",
                    (unsigned long long)r->minute * a->step_s);
    otlp_json_str(out, r->service);
    ottr_buf_puts(out, ",\"name\":");
    otlp_json_str(out, r->name);
    const char *kind = otlp_span_kind_name(r->kind);
    ottr_buf_puts(out, ",\"kind\":");
    otlp_json_str(out, kind ? kind : "SPAN_KIND_UNSPECIFIED");
    ottr_buf_printf(out, ",\"calls\":%llu,\"errors\":%llu,\"latencyCounts\":[",
                    (unsigned long long)r->calls, (unsigned long long)r->errors);
    for (int i = 0; i < STORE_LAT_BUCKETS; i++)
        ottr_buf_printf(out, i ? ",%llu" : "%llu", (unsigned long long)r->latency[i]);
    ottr_buf_puts(out, "]}");
    return out->oom ? 1 : 0;
}

ottr_status query_span_metrics(store_view st, const char *service, uint64_t start_s, uint64_t end_s,
                               size_t max_rows, ottr_buf *out, char *err, size_t errlen)
{
    if (start_s > end_s) {
        snprintf(err, errlen, "invalid start: must not be after end");
        return OTTR_ERR_INVALID;
    }
    bool hours = end_s - start_s > 86400;
    rows a = {.out = out, .step_s = hours ? 3600 : 60, .max = max_rows ? max_rows : 200000};
    uint64_t from = start_s / a.step_s, to = end_s / a.step_s;
    if (to > 0x7fffffffu)
        to = 0x7fffffffu;
    if (from > to)
        from = to;
    ottr_buf_printf(out, "{\"start\":%llu,\"end\":%llu,\"stepSeconds\":%u,\"latencyBucketsMs\":[",
                    (unsigned long long)start_s, (unsigned long long)end_s, a.step_s);
    for (int i = 0; i < STORE_LAT_BUCKETS - 1; i++)
        ottr_buf_printf(out, i ? ",%u" : "%u", 2u << i);
    ottr_buf_puts(out, ",null],\"rows\":[");
    ottr_status s =
        store_span_metrics(st, (uint32_t)from, (uint32_t)to, hours, service, on_row, &a);
    if (s != OTTR_OK) {
        snprintf(err, errlen, "reading span metrics failed: %s", ottr_status_str(s));
        return s;
    }
    ottr_buf_printf(out, "],\"truncated\":%s}", a.truncated ? "true" : "false");
    if (out->oom) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    return OTTR_OK;
}
