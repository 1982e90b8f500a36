/* query/graph.c - reads the service graph for a time range from the store's
 * per-minute edges into sorted arrays, and latency quantiles from the
 * doubling buckets (2 ms .. 16.384 s, then +Inf). */
#include <stdlib.h>
#include <string.h>

#include "query/qgraph.h"

static int on_edge(void *ctx, const store_edge *e)
{
    qgraph *g = ctx;
    if (g->nedges == g->capedges) {
        size_t cap = g->capedges ? g->capedges * 2 : 64;
        store_edge *v = realloc(g->edges, cap * sizeof(*v));
        if (v == NULL) {
            g->oom = 1;
            return 1;
        }
        g->edges = v;
        g->capedges = cap;
    }
    g->edges[g->nedges++] = *e;
    return 0;
}

static int on_node(void *ctx, const store_node *n)
{
    qgraph *g = ctx;
    if (g->nnodes == g->capnodes) {
        size_t cap = g->capnodes ? g->capnodes * 2 : 64;
        store_node *v = realloc(g->nodes, cap * sizeof(*v));
        if (v == NULL) {
            g->oom = 1;
            return 1;
        }
        g->nodes = v;
        g->capnodes = cap;
    }
    g->nodes[g->nnodes++] = *n;
    return 0;
}

static int cmp_edge(const void *a, const void *b)
{
    const store_edge *x = a, *y = b;
    int c = strcmp(x->client, y->client);
    if (c == 0)
        c = strcmp(x->server, y->server);
    if (c == 0)
        c = strcmp(x->connection_type, y->connection_type);
    return c;
}

static int cmp_node(const void *a, const void *b)
{
    return strcmp(((const store_node *)a)->service, ((const store_node *)b)->service);
}

ottr_status query_graph_load(store_view st, uint32_t from_minute, uint32_t to_minute, qgraph *g)
{
    ottr_status s = store_graph(st, from_minute, to_minute, on_edge, on_node, g);
    if (s == OTTR_OK && g->oom)
        s = OTTR_ERR_NOMEM;
    if (s != OTTR_OK)
        return s;
    if (g->nedges > 1)
        qsort(g->edges, g->nedges, sizeof(*g->edges), cmp_edge);
    if (g->nnodes > 1)
        qsort(g->nodes, g->nnodes, sizeof(*g->nodes), cmp_node);
    return OTTR_OK;
}

void query_graph_free(qgraph *g)
{
    free(g->edges);
    free(g->nodes);
    memset(g, 0, sizeof(*g));
}

double query_graph_quantile(const uint64_t counts[STORE_LAT_BUCKETS], double q)
{
    uint64_t total = 0;
    for (int i = 0; i < STORE_LAT_BUCKETS; i++)
        total += counts[i];
    if (total == 0)
        return 0;
    double rank = q * (double)total;
    double cum = 0;
    for (int i = 0; i < STORE_LAT_BUCKETS; i++) {
        double c = (double)counts[i];
        double lower = i == 0 ? 0 : 0.002 * (double)(1u << (i - 1));
        if (i == STORE_LAT_BUCKETS - 1)
            return lower; /* +Inf bucket: its lower bound is all we know */
        double upper = 0.002 * (double)(1u << i);
        if (c > 0 && cum + c >= rank)
            return lower + (upper - lower) * ((rank - cum) / c);
        cum += c;
    }
    return 0.002 * (double)(1u << (STORE_LAT_BUCKETS - 2));
}
