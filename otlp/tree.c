/* otlp/tree.c - rebuilds a trace's tree from parent span IDs: an open-addressing
 * table from span ID to span, then one pass that follows parent chains, finds
 * cycles and cuts them. Orphans, duplicates and cycles are counted, never fatal.
 * The one tree builder: the query APIs and the ottr client both use it. */
#include <stdio.h>
#include <string.h>

#include "otlp/otlp.h"

static uint64_t id_key(const ProtobufCBinaryData *id)
{
    uint64_t k = 0;
    memcpy(&k, id->data, 8);
    return k;
}

static int id_valid(const ProtobufCBinaryData *id)
{
    if (id->len != 8)
        return 0;
    for (size_t i = 0; i < 8; i++) {
        if (id->data[i])
            return 1;
    }
    return 0;
}

static size_t hash_slot(uint64_t k, size_t mask)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & mask;
}

ottr_status otlp_trace_build_tree(otlp_trace *t, ottr_arena *a)
{
    size_t n = t->nspans;
    t->root = -1;
    t->norphans = t->nduplicates = t->ncycles = 0;
    if (n == 0)
        return OTTR_OK;
    size_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    int32_t *slots = ottr_arena_alloc(a, cap * sizeof(int32_t));
    int32_t *path = ottr_arena_alloc(a, n * sizeof(int32_t));
    uint8_t *state = ottr_arena_alloc(a, n);
    if (slots == NULL || path == NULL || state == NULL)
        return OTTR_ERR_NOMEM;
    memset(slots, 0xff, cap * sizeof(int32_t));
    memset(state, 0, n);

    /* Index span IDs; a later span with a taken ID is a duplicate. */
    for (size_t i = 0; i < n; i++) {
        otlp_span_ref *s = &t->spans[i];
        s->parent = -1;
        s->problems = 0;
        if (!id_valid(&s->span->span_id))
            continue;
        uint64_t k = id_key(&s->span->span_id);
        size_t h = hash_slot(k, cap - 1);
        while (slots[h] >= 0) {
            if (id_key(&t->spans[slots[h]].span->span_id) == k)
                break;
            h = (h + 1) & (cap - 1);
        }
        if (slots[h] >= 0) {
            s->problems |= OTLP_SPAN_DUPLICATE;
            t->nduplicates++;
        } else {
            slots[h] = (int32_t)i;
        }
    }

    /* Resolve parents. */
    for (size_t i = 0; i < n; i++) {
        otlp_span_ref *s = &t->spans[i];
        const ProtobufCBinaryData *p = &s->span->parent_span_id;
        if (!id_valid(p)) {
            if (p->len != 0 && p->len != 8) {
                /* names a parent, but no span can have that ID */
                s->problems |= OTLP_SPAN_ORPHAN;
                t->norphans++;
            } else if (t->root < 0) {
                t->root = (int32_t)i;
            }
            continue;
        }
        uint64_t k = id_key(p);
        size_t h = hash_slot(k, cap - 1);
        while (slots[h] >= 0 && id_key(&t->spans[slots[h]].span->span_id) != k)
            h = (h + 1) & (cap - 1);
        if (slots[h] < 0) {
            s->problems |= OTLP_SPAN_ORPHAN;
            t->norphans++;
        } else {
            s->parent = slots[h];
        }
    }

    /* Follow each chain once: state 1 = on the current path, 2 = done. */
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        int32_t cur = (int32_t)i;
        while (cur >= 0 && state[cur] == 0) {
            state[cur] = 1;
            path[len++] = cur;
            cur = t->spans[cur].parent;
        }
        if (cur >= 0 && state[cur] == 1) {
            /* The loop runs from |cur| to the end of the path: cut its last edge. */
            size_t from = 0;
            while (path[from] != cur)
                from++;
            for (size_t j = from; j < len; j++) {
                t->spans[path[j]].problems |= OTLP_SPAN_CYCLE;
                t->ncycles++;
            }
            otlp_span_ref *last = &t->spans[path[len - 1]];
            last->parent = -1;
            last->problems |= OTLP_SPAN_CUT;
        }
        for (size_t j = 0; j < len; j++)
            state[path[j]] = 2;
    }
    return OTTR_OK;
}
