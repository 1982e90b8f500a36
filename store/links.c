/* store/links.c - the "direct" dependency links of one keep call, counted before
 * they are written: a keep of thousands of traces between a handful of services
 * writes one merge per distinct link (and its hour) instead of one per link per
 * trace, which made most of the keep's memtable inserts. */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "store/internal.h"

/* Distinct links one call counts; past it a link goes straight to the batch. */
#define LINKS_MAX 8192

static uint64_t link_hash(uint32_t tenant, uint32_t minute, const char *parent, const char *child)
{
    uint64_t h = XXH3_64bits_withSeed(parent, strlen(parent), (uint64_t)tenant << 32 | minute);
    return XXH3_64bits_withSeed(child, strlen(child), h);
}

static bool link_is(const store_link *l, uint64_t hash, uint32_t tenant, uint32_t minute,
                    const char *parent, const char *child)
{
    return l->hash == hash && l->tenant == tenant && l->minute == minute &&
           strcmp(l->edge.client, parent) == 0 && strcmp(l->edge.server, child) == 0;
}

static bool grow(store_links *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 64;
    store_link *nv = calloc(ncap, sizeof(*nv));
    if (nv == NULL)
        return false;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->v[i].edge.calls == 0)
            continue;
        size_t j = t->v[i].hash & (ncap - 1);
        while (nv[j].edge.calls != 0)
            j = (j + 1) & (ncap - 1);
        nv[j] = t->v[i];
    }
    free(t->v);
    t->v = nv;
    t->cap = ncap;
    return true;
}

/* |name| into |out| (size |cap|), cut to fit as the edge's fields are. */
static void copy_name(char *out, size_t cap, const char *name)
{
    size_t n = strnlen(name, cap - 1);
    memcpy(out, name, n);
    out[n] = '\0';
}

void store_links_add(store_links *t, store *s, rocksdb_writebatch_t *wb, uint32_t tenant,
                     uint32_t minute, const char *parent, const char *child, uint64_t calls)
{
    if (calls == 0)
        return;
    store_edge e;
    memset(&e, 0, sizeof(e));
    memcpy(e.connection_type, "direct", sizeof("direct"));
    copy_name(e.client, sizeof(e.client), parent);
    copy_name(e.server, sizeof(e.server), child);
    e.calls = calls;
    /* Looked up by the names as stored (cut to the edge's size). */
    uint64_t h = link_hash(tenant, minute, e.client, e.server);
    if ((t->n + 1) * 4 > t->cap * 3 && (t->n >= LINKS_MAX || !grow(t))) {
        store_graph_batch_edge(store_view_of(s, tenant), wb, minute, &e);
        return;
    }
    size_t j = h & (t->cap - 1);
    while (t->v[j].edge.calls != 0) {
        if (link_is(&t->v[j], h, tenant, minute, e.client, e.server)) {
            t->v[j].edge.calls += calls;
            return;
        }
        j = (j + 1) & (t->cap - 1);
    }
    t->v[j] = (store_link){.hash = h, .tenant = tenant, .minute = minute, .edge = e};
    t->n++;
}

void store_links_write(store_links *t, store *s, rocksdb_writebatch_t *wb)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->v[i].edge.calls != 0)
            store_graph_batch_edge(store_view_of(s, t->v[i].tenant), wb, t->v[i].minute,
                                   &t->v[i].edge);
}

void store_links_free(store_links *t)
{
    free(t->v);
    memset(t, 0, sizeof(*t));
}
