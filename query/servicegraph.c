/* query/servicegraph.c - the native /api/service-graph answer: nodes with
 * calls, errors and latency quantiles, and edges between them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "query/qgraph.h"
#include "otlp/otlp.h"
#include "query/query.h"

static void put_latency(ottr_buf *b, const uint64_t counts[STORE_LAT_BUCKETS])
{
    static const double qs[] = {0.5, 0.95, 0.99};
    static const char *const names[] = {"p50", "p95", "p99"};
    ottr_buf_puts(b, ",\"latencyMs\":{");
    for (int i = 0; i < 3; i++) {
        double ms = query_graph_quantile(counts, qs[i]) * 1000.0;
        ottr_buf_printf(b, "%s\"%s\":", i ? "," : "", names[i]);
        otlp_json_double(b, round(ms * 1000.0) / 1000.0);
    }
    ottr_buf_putc(b, '}');
}

ottr_status query_service_graph(store_view st, uint64_t start_ns, uint64_t end_ns, ottr_buf *out,
                                char *err, size_t errlen)
{
    if (end_ns && start_ns > end_ns) {
        snprintf(err, errlen, "invalid start: must not be after end");
        return OTTR_ERR_INVALID;
    }
    uint32_t from = (uint32_t)(start_ns / 60000000000ull);
    uint32_t to = end_ns ? (uint32_t)(end_ns / 60000000000ull) : UINT32_MAX;
    qgraph g = {0};
    ottr_status s = query_graph_load(st, from, to, &g);
    if (s != OTTR_OK) {
        snprintf(err, errlen, "reading the service graph failed: %s", ottr_status_str(s));
        query_graph_free(&g);
        return s;
    }
    ottr_buf_printf(out, "{\"start\":%llu,\"end\":%llu,\"nodes\":[",
                    (unsigned long long)(start_ns / NS_PER_SEC),
                    (unsigned long long)(end_ns / NS_PER_SEC));
    for (size_t i = 0; i < g.nnodes; i++) {
        const store_node *n = &g.nodes[i];
        ottr_buf_puts(out, i ? ",{\"service\":" : "{\"service\":");
        otlp_json_str(out, n->service);
        ottr_buf_printf(out, ",\"calls\":%llu,\"errors\":%llu", (unsigned long long)n->calls,
                        (unsigned long long)n->errors);
        put_latency(out, n->latency);
        ottr_buf_putc(out, '}');
    }
    ottr_buf_puts(out, "],\"edges\":[");
    size_t ne = 0;
    for (size_t i = 0; i < g.nedges; i++) {
        const store_edge *e = &g.edges[i];
        /* The links Jaeger's dependencies add from kept traces are not Tempo's. */
        if (strcmp(e->connection_type, "direct") == 0)
            continue;
        ottr_buf_puts(out, ne++ ? ",{\"client\":" : "{\"client\":");
        otlp_json_str(out, e->client);
        ottr_buf_puts(out, ",\"server\":");
        otlp_json_str(out, e->server);
        ottr_buf_puts(out, ",\"connectionType\":");
        otlp_json_str(out, e->connection_type);
        ottr_buf_printf(out, ",\"calls\":%llu,\"errors\":%llu", (unsigned long long)e->calls,
                        (unsigned long long)e->failed);
        put_latency(out, e->latency);
        ottr_buf_putc(out, '}');
    }
    ottr_buf_puts(out, "]}");
    query_graph_free(&g);
    if (out->oom) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    return OTTR_OK;
}
