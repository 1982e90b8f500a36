/* query/qgraph.h - the per-minute service graph summed over a time range, as
 * arrays sorted by name. Private to query/. */
#ifndef OTTR_QUERY_QGRAPH_H
#define OTTR_QUERY_QGRAPH_H

#include "store/store.h"

typedef struct qgraph {
    store_edge *edges; /* sorted by client, server, connection type */
    size_t nedges, capedges;
    store_node *nodes; /* sorted by service */
    size_t nnodes, capnodes;
    int oom;
} qgraph;

/* Loads the sums over minutes [from_minute, to_minute] into |g| (zeroed by the
 * caller). Returns OTTR_OK, OTTR_ERR_NOMEM or the store's error. The caller
 * frees with query_graph_free() in every case. */
ottr_status query_graph_load(store_view st, uint32_t from_minute, uint32_t to_minute, qgraph *g);
void query_graph_free(qgraph *g);

/* The |q| quantile (0..1) of a latency histogram in seconds, interpolated
 * linearly inside the bucket; 0 when empty. */
double query_graph_quantile(const uint64_t counts[STORE_LAT_BUCKETS], double q);

#endif /* OTTR_QUERY_QGRAPH_H */
