/* sampler/idtable.c - a hash table of fixed-size entries keyed by their first
 * bytes, with stable uint32 indexes: entries live in chunks, a compact slot array
 * (index and hash fragment, 8 bytes) is the open-addressing index. */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "sampler/internal.h"

#define CHUNK_SHIFT   12
#define CHUNK_ENTRIES (1u << CHUNK_SHIFT)
#define MIN_SLOTS     64

uint64_t sampler_idt_hash(const void *key, size_t klen)
{
    return XXH3_64bits(key, klen);
}

int sampler_idt_init(idtable *t, size_t esize, size_t klen)
{
    memset(t, 0, sizeof(*t));
    t->esize = (esize + 7) & ~(size_t)7;
    t->klen = klen;
    t->free_head = IDT_NONE;
    t->slots = calloc(MIN_SLOTS, sizeof(uint64_t));
    if (t->slots == NULL)
        return -1;
    t->mask = MIN_SLOTS - 1;
    return 0;
}

void sampler_idt_free(idtable *t)
{
    for (size_t i = 0; i < t->nchunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

void *sampler_idt_at(const idtable *t, uint32_t idx)
{
    return t->chunks[idx >> CHUNK_SHIFT] + (size_t)(idx & (CHUNK_ENTRIES - 1)) * t->esize;
}

static uint32_t *free_link(const idtable *t, uint32_t idx)
{
    return (uint32_t *)((uint8_t *)sampler_idt_at(t, idx) + t->klen);
}

static uint32_t tag_of(uint64_t h)
{
    return (uint32_t)(h >> 32);
}

uint32_t sampler_idt_find(const idtable *t, const void *key, uint64_t h)
{
    uint32_t tag = tag_of(h);
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        uint64_t s = t->slots[i];
        if (s == 0)
            return IDT_NONE;
        if ((uint32_t)s == tag) {
            uint32_t idx = (uint32_t)(s >> 32) - 1;
            if (memcmp(sampler_idt_at(t, idx), key, t->klen) == 0)
                return idx;
        }
    }
}

static void slot_put(uint64_t *slots, size_t mask, uint32_t idx, uint64_t h)
{
    size_t i = h & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    slots[i] = ((uint64_t)(idx + 1) << 32) | tag_of(h);
}

static int resize(idtable *t, size_t nslots)
{
    uint64_t *ns = calloc(nslots, sizeof(uint64_t));
    if (ns == NULL)
        return -1;
    for (size_t i = 0; i <= t->mask; i++) {
        uint64_t s = t->slots[i];
        if (s == 0)
            continue;
        uint32_t idx = (uint32_t)(s >> 32) - 1;
        slot_put(ns, nslots - 1, idx, sampler_idt_hash(sampler_idt_at(t, idx), t->klen));
    }
    free(t->slots);
    t->slots = ns;
    t->mask = nslots - 1;
    return 0;
}

static uint32_t entry_alloc(idtable *t)
{
    if (t->free_head != IDT_NONE) {
        uint32_t idx = t->free_head;
        t->free_head = *free_link(t, idx);
        return idx;
    }
    if (t->carved == IDT_NONE - 1)
        return IDT_NONE;
    size_t c = t->carved >> CHUNK_SHIFT;
    if (c == t->nchunks) {
        uint8_t **nc = realloc(t->chunks, (t->nchunks + 1) * sizeof(*nc));
        if (nc == NULL)
            return IDT_NONE;
        t->chunks = nc;
        nc[c] = malloc(CHUNK_ENTRIES * t->esize);
        if (nc[c] == NULL)
            return IDT_NONE;
        t->nchunks++;
    }
    return t->carved++;
}

uint32_t sampler_idt_insert(idtable *t, const void *key, uint64_t h)
{
    if ((t->count + 1) * 4 > (t->mask + 1) * 3 && resize(t, (t->mask + 1) * 2) != 0)
        return IDT_NONE;
    uint32_t idx = entry_alloc(t);
    if (idx == IDT_NONE)
        return IDT_NONE;
    uint8_t *e = sampler_idt_at(t, idx);
    memset(e, 0, t->esize);
    memcpy(e, key, t->klen);
    slot_put(t->slots, t->mask, idx, h);
    t->count++;
    return idx;
}

void sampler_idt_remove(idtable *t, uint32_t idx, uint64_t h)
{
    size_t i = h & t->mask;
    uint64_t want = ((uint64_t)(idx + 1) << 32) | tag_of(h);
    while (t->slots[i] != want) {
        if (t->slots[i] == 0)
            return; /* not present: nothing to do */
        i = (i + 1) & t->mask;
    }
    /* Backward-shift deletion keeps probe sequences intact without tombstones. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & t->mask;
        uint64_t s = t->slots[j];
        if (s == 0)
            break;
        uint32_t sidx = (uint32_t)(s >> 32) - 1;
        size_t home = sampler_idt_hash(sampler_idt_at(t, sidx), t->klen) & t->mask;
        /* Move s into the hole at i unless its home lies cyclically in (i, j]. */
        bool in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            t->slots[i] = s;
            i = j;
        }
    }
    t->slots[i] = 0;
    *free_link(t, idx) = t->free_head;
    t->free_head = idx;
    t->count--;
    if (t->count == 0) {
        /* Empty: hand the entry chunks back (indexes are all dead now). */
        for (size_t c = 0; c < t->nchunks; c++)
            free(t->chunks[c]);
        free(t->chunks);
        t->chunks = NULL;
        t->nchunks = 0;
        t->carved = 0;
        t->free_head = IDT_NONE;
    }
    /* Give memory back after a burst; never below the minimum. */
    if (t->mask + 1 > MIN_SLOTS * 4 && t->count * 16 < t->mask + 1)
        (void)resize(t, (t->mask + 1) / 2);
}

size_t sampler_idt_bytes(const idtable *t)
{
    return (t->mask + 1) * sizeof(uint64_t) + t->count * t->esize;
}
