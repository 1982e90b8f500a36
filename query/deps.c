/* query/deps.c - the dependency links of Jaeger's /api/dependencies and Zipkin's
 * /api/v2/dependencies from the persisted per-minute edges of every span
 * (counted in the minute of the span's start): one link per client/server pair
 * with its call (and error) count. The virtual nodes the service graph infers
 * (databases and uninstrumented peers, which Jaeger does not show) only on
 * request; Zipkin shows them, as it shows remote endpoints. */
#include <stdio.h>
#include <string.h>

#include "query/qgraph.h"
#include "otlp/otlp.h"
#include "query/query.h"

/* Appends the links of [end - lookback, end] as objects separated by commas:
 * {"parent","child","callCount"} and, with |errors|, "errorCount"; with
 * |service| (may be NULL) only the links from or to it. Sets |*n|. */
static ottr_status links(store_view st, uint64_t end_ns, uint64_t lookback_ns, const char *service,
                         bool virtual_nodes, bool errors, ottr_buf *out, size_t *n, char *err,
                         size_t errlen)
{
    *n = 0;
    if (lookback_ns == 0) {
        snprintf(err, errlen, "'lookback' must be positive");
        return OTTR_ERR_INVALID;
    }
    uint64_t start_ns = end_ns > lookback_ns ? end_ns - lookback_ns : 0;
    qgraph g = {0};
    ottr_status s = query_graph_load(st, (uint32_t)(start_ns / 60000000000ull),
                                     (uint32_t)(end_ns / 60000000000ull), &g);
    if (s != OTTR_OK) {
        snprintf(err, errlen, "reading dependencies failed: %s", ottr_status_str(s));
        query_graph_free(&g);
        return s;
    }
    for (size_t i = 0; i < g.nedges;) {
        const store_edge *e = &g.edges[i];
        uint64_t calls = 0, failed = 0;
        size_t j = i;
        /* Edges are sorted: sum the connection types of one client/server pair. */
        for (; j < g.nedges && strcmp(g.edges[j].client, e->client) == 0 &&
               strcmp(g.edges[j].server, e->server) == 0;
             j++) {
            /* The "user" of an uninstrumented caller is not a service. */
            const char *type = g.edges[j].connection_type;
            bool virt = strcmp(type, "virtual_node") == 0 || strcmp(type, "database") == 0;
            if (virt && (strcmp(g.edges[j].client, "user") == 0 || !virtual_nodes))
                continue;
            calls += g.edges[j].calls;
            failed += g.edges[j].failed;
        }
        if (service && strcmp(e->client, service) != 0 && strcmp(e->server, service) != 0)
            calls = 0;
        if (calls) {
            ottr_buf_puts(out, (*n)++ ? ",{\"parent\":" : "{\"parent\":");
            otlp_json_str(out, e->client);
            ottr_buf_puts(out, ",\"child\":");
            otlp_json_str(out, e->server);
            ottr_buf_printf(out, ",\"callCount\":%llu", (unsigned long long)calls);
            if (errors)
                ottr_buf_printf(out, ",\"errorCount\":%llu", (unsigned long long)failed);
            ottr_buf_putc(out, '}');
        }
        i = j;
    }
    query_graph_free(&g);
    if (out->oom) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    return OTTR_OK;
}

ottr_status query_jaeger_dependencies(store_view st, uint64_t end_ns, uint64_t lookback_ns,
                                      const char *service, bool virtual_nodes, ottr_buf *out,
                                      char *err, size_t errlen)
{
    size_t n;
    ottr_buf_puts(out, "{\"data\":[");
    ottr_status s =
        links(st, end_ns, lookback_ns, service, virtual_nodes, false, out, &n, err, errlen);
    ottr_buf_printf(out, "],\"total\":%zu,\"limit\":0,\"offset\":0,\"errors\":null}", n);
    return s == OTTR_OK && out->oom ? OTTR_ERR_NOMEM : s;
}

ottr_status query_zipkin_dependencies(store_view st, uint64_t end_ns, uint64_t lookback_ns,
                                      ottr_buf *out, char *err, size_t errlen)
{
    size_t n;
    ottr_buf_putc(out, '[');
    ottr_status s = links(st, end_ns, lookback_ns, NULL, true, true, out, &n, err, errlen);
    ottr_buf_putc(out, ']');
    return s == OTTR_OK && out->oom ? OTTR_ERR_NOMEM : s;
}
