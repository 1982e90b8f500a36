/* sampler/dcache.c - bounded decision caches: the trace hashes of recent
 * decisions, oldest forgotten first, so that late spans follow their trace. */
#include <stdlib.h>
#include <string.h>

#include "sampler/internal.h"

/* 0 marks an empty slot, so a key of 0 is stored as 1. */
static uint64_t norm(uint64_t k)
{
    return k ? k : 1;
}

static size_t slot_of(uint64_t k, size_t mask)
{
    /* The low bits pick the shard and the trace table slot; mix before use. */
    k ^= k >> 29;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 32;
    return k & mask;
}

void sampler_dcache_init(dcache *c, size_t cap)
{
    memset(c, 0, sizeof(*c));
    c->cap = cap;
}

void sampler_dcache_free(dcache *c)
{
    free(c->ring);
    free(c->set);
    memset(c, 0, sizeof(*c));
}

bool sampler_dcache_has(const dcache *c, uint64_t key)
{
    if (c->set == NULL)
        return false;
    key = norm(key);
    for (size_t i = slot_of(key, c->set_mask);; i = (i + 1) & c->set_mask) {
        if (c->set[i] == key)
            return true;
        if (c->set[i] == 0)
            return false;
    }
}

static void set_put(uint64_t *set, size_t mask, uint64_t key)
{
    size_t i = slot_of(key, mask);
    while (set[i] != 0 && set[i] != key)
        i = (i + 1) & mask;
    set[i] = key;
}

static void set_del(dcache *c, uint64_t key)
{
    size_t mask = c->set_mask;
    size_t i = slot_of(key, mask);
    while (c->set[i] != key) {
        if (c->set[i] == 0)
            return;
        i = (i + 1) & mask;
    }
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        uint64_t k = c->set[j];
        if (k == 0)
            break;
        size_t home = slot_of(k, mask);
        bool in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            c->set[i] = k;
            i = j;
        }
    }
    c->set[i] = 0;
}

static int set_grow(dcache *c, size_t want_entries)
{
    size_t n = 64;
    while (n < want_entries * 2)
        n *= 2;
    if (c->set != NULL && n <= c->set_mask + 1)
        return 0;
    uint64_t *ns = calloc(n, sizeof(uint64_t));
    if (ns == NULL)
        return -1;
    if (c->set != NULL) {
        for (size_t i = 0; i <= c->set_mask; i++)
            if (c->set[i] != 0)
                set_put(ns, n - 1, c->set[i]);
        free(c->set);
    }
    c->set = ns;
    c->set_mask = n - 1;
    return 0;
}

int sampler_dcache_add(dcache *c, uint64_t key)
{
    if (c->cap == 0)
        return 0;
    key = norm(key);
    if (sampler_dcache_has(c, key))
        return 0;
    if (c->count < c->cap) {
        if (c->count == c->ring_alloc) {
            size_t n = c->ring_alloc ? c->ring_alloc * 2 : 256;
            if (n > c->cap)
                n = c->cap;
            uint64_t *nr = realloc(c->ring, n * sizeof(uint64_t));
            if (nr == NULL)
                return -1;
            c->ring = nr;
            c->ring_alloc = n;
        }
        if (set_grow(c, c->count + 1) != 0)
            return -1;
        c->ring[c->count++] = key;
        set_put(c->set, c->set_mask, key);
        return 0;
    }
    /* Full: the oldest entry makes room. */
    set_del(c, c->ring[c->head]);
    c->ring[c->head] = key;
    c->head = (c->head + 1) % c->cap;
    set_put(c->set, c->set_mask, key);
    return 0;
}

size_t sampler_dcache_bytes(const dcache *c)
{
    return c->ring_alloc * sizeof(uint64_t) + (c->set ? (c->set_mask + 1) * sizeof(uint64_t) : 0);
}
