/* store/graph.c - per-minute service-graph edges and per-service RED counters,
 * summed by a merge operator, with hour roll-ups so that a day is read as 24 hour
 * records plus the minutes at the edges of the range.
 *
 * Key: tenant(4) | minute(4) | kind(1) | names; hour roll-ups use minute = GRAPH_HOUR_FLAG |
 * hour. Edge names: client 0x00 server 0x00 connection_type; node: service.
 * Value: GRAPH_NCOUNTERS big-endian uint64: calls, errors, latency buckets,
 * latency sum in nanoseconds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

/* ------------------------------------------------------------------ merge operator */

static void add_counters(uint64_t *acc, const char *v, size_t n)
{
    if (n != GRAPH_VALUE_LEN)
        return; /* not ours: ignored rather than trusted */
    for (int i = 0; i < GRAPH_NCOUNTERS; i++)
        acc[i] += be64_get(v + 8 * i);
}

static char *encode_counters(const uint64_t *acc, size_t *len)
{
    char *out = malloc(GRAPH_VALUE_LEN);
    if (out == NULL)
        return NULL;
    for (int i = 0; i < GRAPH_NCOUNTERS; i++)
        be64_put((uint8_t *)out + 8 * i, acc[i]);
    *len = GRAPH_VALUE_LEN;
    return out;
}

static char *merge_full(void *state, const char *key, size_t klen, const char *existing,
                        size_t elen, const char *const *ops, const size_t *oplens, int nops,
                        unsigned char *success, size_t *len)
{
    (void)state;
    (void)key;
    (void)klen;
    uint64_t acc[GRAPH_NCOUNTERS] = {0};
    if (existing)
        add_counters(acc, existing, elen);
    for (int i = 0; i < nops; i++)
        add_counters(acc, ops[i], oplens[i]);
    char *out = encode_counters(acc, len);
    *success = out != NULL;
    return out;
}

static char *merge_partial(void *state, const char *key, size_t klen, const char *const *ops,
                           const size_t *oplens, int nops, unsigned char *success, size_t *len)
{
    return merge_full(state, key, klen, NULL, 0, ops, oplens, nops, success, len);
}

static void merge_delete(void *state, const char *v, size_t n)
{
    (void)state;
    (void)n;
    free((void *)v);
}

static void merge_state_destroy(void *state)
{
    (void)state; /* stateless */
}

static const char *merge_name(void *state)
{
    (void)state;
    return "ottr.graph.add.v1";
}

rocksdb_mergeoperator_t *store_graph_merge_operator_create(void)
{
    return rocksdb_mergeoperator_create(NULL, merge_state_destroy, merge_full, merge_partial,
                                        merge_delete, merge_name);
}

/* ------------------------------------------------------------------ add */

void store_graph_value(uint8_t *v, uint64_t calls, uint64_t errors, const uint64_t *lat,
                       double sum_s)
{
    be64_put(v, calls);
    be64_put(v + 8, errors);
    for (int i = 0; i < STORE_LAT_BUCKETS; i++)
        be64_put(v + 16 + 8 * i, lat[i]);
    double ns = sum_s > 0 && isfinite(sum_s) ? sum_s * NS_PER_SEC : 0;
    be64_put(v + 16 + 8 * STORE_LAT_BUCKETS, ns >= 1.8e19 ? UINT64_MAX : (uint64_t)ns);
}

void store_graph_counters(const char *v, uint64_t *calls, uint64_t *errors, uint64_t *lat,
                          double *sum_s)
{
    *calls = be64_get(v);
    *errors = be64_get(v + 8);
    for (int i = 0; i < STORE_LAT_BUCKETS; i++)
        lat[i] = be64_get(v + 16 + 8 * i);
    *sum_s = (double)be64_get(v + 16 + 8 * STORE_LAT_BUCKETS) / NS_PER_SEC;
}

static void merge_both(store_view v, rocksdb_writebatch_t *wb, uint32_t minute, uint8_t kind,
                       const uint8_t *names, size_t nlen, const uint8_t *val)
{
    store *s = v.s;
    uint8_t key[GRAPH_KEY_HEAD + 256];
    size_t klen = store_key_graph(key, sizeof(key), v.tenant, minute, kind, names, nlen);
    rocksdb_writebatch_merge_cf(wb, s->cf[CF_EDGES], (const char *)key, klen, (const char *)val,
                                GRAPH_VALUE_LEN);
    klen = store_key_graph(key, sizeof(key), v.tenant, GRAPH_HOUR_FLAG | (minute / 60), kind, names,
                           nlen);
    rocksdb_writebatch_merge_cf(wb, s->cf[CF_EDGES], (const char *)key, klen, (const char *)val,
                                GRAPH_VALUE_LEN);
}

void store_graph_batch_edge(store_view v, rocksdb_writebatch_t *wb, uint32_t minute,
                            const store_edge *e)
{
    uint8_t names[256], val[GRAPH_VALUE_LEN];
    size_t n = store_key_edge_names(names, e);
    store_graph_value(val, e->calls, e->failed, e->latency, e->latency_sum_s);
    merge_both(v, wb, minute, GRAPH_KIND_EDGE, names, n, val);
}

ottr_status store_add_graph(store_view v, uint32_t minute, const store_edge *edges, size_t nedges,
                            const store_node *nodes, size_t nnodes)
{
    if (minute >= GRAPH_HOUR_FLAG)
        return OTTR_ERR_INVALID;
    if (nedges == 0 && nnodes == 0)
        return OTTR_OK;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    uint8_t val[GRAPH_VALUE_LEN];
    for (size_t i = 0; i < nedges; i++)
        store_graph_batch_edge(v, wb, minute, &edges[i]);
    for (size_t i = 0; i < nnodes; i++) {
        const store_node *nd = &nodes[i];
        size_t n = strnlen(nd->service, sizeof(nd->service));
        store_graph_value(val, nd->calls, nd->errors, nd->latency, nd->latency_sum_s);
        merge_both(v, wb, minute, GRAPH_KIND_NODE, (const uint8_t *)nd->service, n, val);
    }
    ottr_status st = store_write(v.s, wb, NULL, 0);
    rocksdb_writebatch_destroy(wb);
    return st;
}

/* ------------------------------------------------------------------ read */

typedef struct graph_rec {
    uint8_t kind;
    uint16_t nlen;
    uint8_t names[256];
    uint64_t c[GRAPH_NCOUNTERS];
} graph_rec;

typedef struct graph_acc {
    graph_rec *r;
    size_t n, cap;
} graph_acc;

static int acc_add(graph_acc *a, const uint8_t *k, size_t klen, const char *v, size_t vlen)
{
    if (klen < GRAPH_KEY_HEAD || klen - GRAPH_KEY_HEAD > sizeof(a->r[0].names) ||
        vlen != GRAPH_VALUE_LEN)
        return 0;
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 256;
        graph_rec *nr = realloc(a->r, ncap * sizeof(*nr));
        if (nr == NULL)
            return -1;
        a->r = nr;
        a->cap = ncap;
    }
    graph_rec *r = &a->r[a->n++];
    r->kind = k[GRAPH_KEY_HEAD - 1];
    r->nlen = (uint16_t)(klen - GRAPH_KEY_HEAD);
    memcpy(r->names, k + GRAPH_KEY_HEAD, klen - GRAPH_KEY_HEAD);
    memset(r->c, 0, sizeof(r->c));
    add_counters(r->c, v, vlen);
    return 0;
}

static int visit_rec(void *ctx, rocksdb_iterator_t *it, const uint8_t *k, size_t klen)
{
    if (klen >= GRAPH_KEY_HEAD && k[GRAPH_KEY_HEAD - 1] == GRAPH_KIND_SPAN) {
        /* Span metrics share the minute: skip past them. */
        uint8_t next[GRAPH_KEY_HEAD];
        memcpy(next, k, GRAPH_KEY_HEAD - 1);
        next[GRAPH_KEY_HEAD - 1] = GRAPH_KIND_SPAN + 1;
        rocksdb_iter_seek(it, (const char *)next, sizeof(next));
        return 0;
    }
    size_t vlen;
    const char *v = rocksdb_iter_value(it, &vlen);
    if (acc_add(ctx, k, klen, v, vlen) != 0)
        return -1;
    rocksdb_iter_next(it);
    return 0;
}

/* Reads records with minute in [from, to] (both already flagged for hours). */
static ottr_status scan_range(store_view v, uint32_t from, uint32_t to, graph_acc *a)
{
    /* tenant | minute | 0x00 is below every key of that minute (kinds are letters). */
    uint8_t lower[GRAPH_KEY_HEAD], upper[GRAPH_KEY_HEAD];
    size_t llen = store_key_graph(lower, sizeof(lower), v.tenant, from, 0, NULL, 0);
    size_t ulen = to == UINT32_MAX
                      ? store_key_graph(upper, sizeof(upper), v.tenant, to, 0xff, NULL, 0)
                      : store_key_graph(upper, sizeof(upper), v.tenant, to + 1, 0, NULL, 0);
    return store_scan(v.s, CF_EDGES, lower, llen, upper, ulen, visit_rec, a);
}

static int rec_cmp(const void *x, const void *y)
{
    const graph_rec *a = x, *b = y;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
    int c = memcmp(a->names, b->names, n);
    if (c)
        return c;
    return a->nlen < b->nlen ? -1 : a->nlen > b->nlen;
}

static void copy_name(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

static int emit(const graph_rec *r, store_edge_fn efn, store_node_fn nfn, void *ctx)
{
    if (r->kind == GRAPH_KIND_EDGE && efn) {
        store_edge e;
        memset(&e, 0, sizeof(e));
        const uint8_t *p = r->names, *end = r->names + r->nlen;
        const uint8_t *z1 = memchr(p, 0, r->nlen);
        if (z1 == NULL)
            return 0;
        const uint8_t *z2 = memchr(z1 + 1, 0, (size_t)(end - z1 - 1));
        if (z2 == NULL)
            return 0;
        copy_name(e.client, sizeof(e.client), p, (size_t)(z1 - p));
        copy_name(e.server, sizeof(e.server), z1 + 1, (size_t)(z2 - z1 - 1));
        copy_name(e.connection_type, sizeof(e.connection_type), z2 + 1, (size_t)(end - z2 - 1));
        e.calls = r->c[0];
        e.failed = r->c[1];
        memcpy(e.latency, r->c + 2, sizeof(e.latency));
        e.latency_sum_s = (double)r->c[2 + STORE_LAT_BUCKETS] / NS_PER_SEC;
        return efn(ctx, &e);
    }
    if (r->kind == GRAPH_KIND_NODE && nfn) {
        store_node nd;
        memset(&nd, 0, sizeof(nd));
        copy_name(nd.service, sizeof(nd.service), r->names, r->nlen);
        nd.calls = r->c[0];
        nd.errors = r->c[1];
        memcpy(nd.latency, r->c + 2, sizeof(nd.latency));
        nd.latency_sum_s = (double)r->c[2 + STORE_LAT_BUCKETS] / NS_PER_SEC;
        return nfn(ctx, &nd);
    }
    return 0;
}

ottr_status store_graph(store_view v, uint32_t from_minute, uint32_t to_minute, store_edge_fn efn,
                        store_node_fn nfn, void *ctx)
{
    if (to_minute >= GRAPH_HOUR_FLAG)
        to_minute = GRAPH_HOUR_FLAG - 1;
    /* Expired minutes are left out even before compaction removes them. */
    uint32_t cutoff = store_retention_cutoff_sec(v.s);
    if (cutoff && from_minute < cutoff / 60)
        from_minute = cutoff / 60;
    if (from_minute > to_minute)
        return OTTR_OK;

    graph_acc a = {0};
    ottr_status st = OTTR_OK;
    /* Whole hours inside the range come from the roll-ups. */
    uint32_t h0 = (from_minute + 59) / 60, h1 = (to_minute + 1) / 60;
    if (h1 > h0) {
        if (from_minute < h0 * 60)
            st = scan_range(v, from_minute, h0 * 60 - 1, &a);
        if (st == OTTR_OK)
            st = scan_range(v, GRAPH_HOUR_FLAG | h0, GRAPH_HOUR_FLAG | (h1 - 1), &a);
        if (st == OTTR_OK && h1 * 60 <= to_minute)
            st = scan_range(v, h1 * 60, to_minute, &a);
    } else {
        st = scan_range(v, from_minute, to_minute, &a);
    }
    if (st == OTTR_OK && a.n) {
        qsort(a.r, a.n, sizeof(*a.r), rec_cmp);
        size_t i = 0;
        while (i < a.n) {
            graph_rec sum = a.r[i];
            size_t j = i + 1;
            while (j < a.n && rec_cmp(&a.r[j], &sum) == 0) {
                for (int c = 0; c < GRAPH_NCOUNTERS; c++)
                    sum.c[c] += a.r[j].c[c];
                j++;
            }
            if (emit(&sum, efn, nfn, ctx) != 0)
                break;
            i = j;
        }
    }
    free(a.r);
    return st;
}
