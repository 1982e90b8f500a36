/* store/spanmetrics.c - per-minute span metrics (RED: calls, errors, latency
 * histogram) per service, span name and kind, kept beside the service graph in
 * the `edges` family: same merge operator, same counters value, same hour
 * roll-ups and retention.
 *
 * Key: tenant(4) | minute(4) | GRAPH_KIND_SPAN | service 0x00 name 0x00 kind-digit. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define KEY_MAX (GRAPH_KEY_HEAD + SPAN_SERIES_NAMES_MAX)
/* Where a key's kind byte lies. */
#define KIND_AT (GRAPH_KEY_HEAD - 1)

ottr_status store_add_span_metrics(store_view v, const store_span_series *m, size_t n)
{
    if (n == 0)
        return OTTR_OK;
    for (size_t i = 0; i < n; i++)
        if (m[i].minute >= GRAPH_HOUR_FLAG)
            return OTTR_ERR_INVALID;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    uint8_t names[SPAN_SERIES_NAMES_MAX], key[KEY_MAX], val[GRAPH_VALUE_LEN];
    for (size_t i = 0; i < n; i++) {
        const store_span_series *r = &m[i];
        size_t nlen = store_key_span_series_names(names, r->service, r->name, r->kind);
        store_graph_value(val, r->calls, r->errors, r->latency, r->latency_sum_s);
        uint32_t buckets[2] = {r->minute, GRAPH_HOUR_FLAG | (r->minute / 60)};
        for (int b = 0; b < 2; b++) {
            size_t klen = store_key_graph(key, sizeof(key), v.tenant, buckets[b], GRAPH_KIND_SPAN,
                                          names, nlen);
            rocksdb_writebatch_merge_cf(wb, v.s->cf[CF_EDGES], (const char *)key, klen,
                                        (const char *)val, sizeof(val));
        }
    }
    ottr_status st = store_write(v.s, wb, NULL, 0);
    rocksdb_writebatch_destroy(wb);
    return st;
}

/* ------------------------------------------------------------------ read */

typedef struct read_ctx {
    uint32_t tenant;
    uint32_t flag;       /* GRAPH_HOUR_FLAG for hours, else 0 */
    uint8_t prefix[256]; /* service 0x00; empty for every service */
    size_t plen;
    store_span_series_fn fn;
    void *ctx;
} read_ctx;

/* Where the series of the wanted service in bucket |minute| begin. */
static size_t seek_key(uint8_t *out, uint32_t minute, const read_ctx *c)
{
    return store_key_graph(out, KEY_MAX, c->tenant, minute, GRAPH_KIND_SPAN, c->prefix, c->plen);
}

/* Where key |k| lies against the wanted series of its minute: <0 before, 0
 * one of them, >0 after. */
static int position(const read_ctx *c, const uint8_t *k, size_t klen)
{
    if (k[KIND_AT] != GRAPH_KIND_SPAN)
        return k[KIND_AT] < GRAPH_KIND_SPAN ? -1 : 1;
    size_t have = klen - GRAPH_KEY_HEAD < c->plen ? klen - GRAPH_KEY_HEAD : c->plen;
    int cmp = memcmp(k + GRAPH_KEY_HEAD, c->prefix, have);
    if (cmp == 0 && have < c->plen)
        return -1; /* a shorter key sorts first */
    return cmp;
}

static int visit(void *arg, rocksdb_iterator_t *it, const uint8_t *k, size_t klen)
{
    read_ctx *c = arg;
    if (klen < GRAPH_KEY_HEAD) {
        rocksdb_iter_next(it);
        return 0;
    }
    uint32_t minute = be32_get(k + TENANT_KEY_LEN);
    const uint8_t *names = k + GRAPH_KEY_HEAD, *end = k + klen;
    int pos = position(c, k, klen);
    if (pos != 0) {
        /* Before the wanted series of this minute: seek to them; after: to the
         * next minute's. */
        if (pos > 0 && minute == UINT32_MAX)
            return 1;
        uint8_t seek[KEY_MAX];
        rocksdb_iter_seek(it, (const char *)seek, seek_key(seek, pos < 0 ? minute : minute + 1, c));
        return 0;
    }
    size_t vlen;
    const char *v = rocksdb_iter_value(it, &vlen);
    const uint8_t *z1 = memchr(names, 0, (size_t)(end - names));
    const uint8_t *z2 = z1 ? memchr(z1 + 1, 0, (size_t)(end - z1 - 1)) : NULL;
    if (vlen == GRAPH_VALUE_LEN && z2 != NULL && end - z2 == 2) {
        char svc[256], name[512];
        size_t a = (size_t)(z1 - names), b = (size_t)(z2 - z1 - 1);
        if (a < sizeof(svc) && b < sizeof(name)) {
            memcpy(svc, names, a);
            svc[a] = '\0';
            memcpy(name, z1 + 1, b);
            name[b] = '\0';
            store_span_series r;
            memset(&r, 0, sizeof(r));
            r.minute = minute & ~c->flag;
            r.service = svc;
            r.name = name;
            r.kind = (uint8_t)(z2[1] >= '0' && z2[1] <= '5' ? z2[1] - '0' : 0);
            store_graph_counters(v, &r.calls, &r.errors, r.latency, &r.latency_sum_s);
            if (c->fn(c->ctx, &r) != 0)
                return 1;
        }
    }
    rocksdb_iter_next(it);
    return 0;
}

ottr_status store_span_metrics(store_view v, uint32_t from, uint32_t to, bool hours,
                               const char *service, store_span_series_fn fn, void *ctx)
{
    /* Expired buckets are left out even before compaction removes them. */
    uint32_t cutoff = store_retention_cutoff_sec(v.s);
    uint32_t first = cutoff / (hours ? 3600 : 60);
    if (cutoff && from < first)
        from = first;
    if (to >= GRAPH_HOUR_FLAG)
        to = GRAPH_HOUR_FLAG - 1;
    if (from > to)
        return OTTR_OK;
    read_ctx c = {.tenant = v.tenant, .flag = hours ? GRAPH_HOUR_FLAG : 0, .fn = fn, .ctx = ctx};
    if (service) {
        c.plen = strnlen(service, sizeof(c.prefix) - 1);
        memcpy(c.prefix, service, c.plen);
        c.prefix[c.plen++] = 0x00;
    }
    uint8_t lower[KEY_MAX], upper[GRAPH_KEY_HEAD];
    size_t llen = seek_key(lower, c.flag | from, &c);
    size_t ulen =
        store_key_graph(upper, sizeof(upper), v.tenant, c.flag | to, GRAPH_KIND_SPAN + 1, NULL, 0);
    return store_scan(v.s, CF_EDGES, lower, llen, upper, ulen, visit, &c);
}
