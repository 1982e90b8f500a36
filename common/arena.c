/* common/arena.c - a bump allocator for per-request memory, usable as a
 * protobuf-c allocator (otlp_pb_allocator) so decoding a request costs a few block
 * allocations. */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

struct ottr_arena_block {
    ottr_arena_block *next;
    size_t size; /* usable bytes after the header */
    _Alignas(16) unsigned char data[];
};

void ottr_arena_init(ottr_arena *a, size_t block_size, size_t limit)
{
    memset(a, 0, sizeof(*a));
    a->block_size = block_size ? block_size : 64 * 1024;
    a->limit = limit;
}

void *ottr_arena_alloc_slow(ottr_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    if (a->limit && (need > a->limit || a->used > a->limit - need))
        return NULL;
    if (a->head == NULL || need > (size_t)((uintptr_t)a->end - (uintptr_t)a->next)) {
        size_t size = need > a->block_size ? need : a->block_size;
        ottr_arena_block *b = malloc(sizeof(*b) + size);
        if (b == NULL)
            return NULL;
        b->size = size;
        b->next = a->head;
        a->head = b;
        a->next = b->data;
        a->end = b->data + size;
    }
    void *p = a->next;
    a->next += need;
    a->used += need;
    return p;
}

void *ottr_arena_memdup(ottr_arena *a, const void *p, size_t n)
{
    void *q = ottr_arena_alloc(a, n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

char *ottr_arena_strndup(ottr_arena *a, const char *s, size_t n)
{
    char *q = ottr_arena_alloc(a, n + 1);
    if (q == NULL)
        return NULL;
    memcpy(q, s, n);
    q[n] = '\0';
    return q;
}

void ottr_arena_reset(ottr_arena *a)
{
    /* Keep the biggest block for the next request, free the rest. */
    ottr_arena_block *keep = NULL;
    ottr_arena_block *b = a->head;
    while (b) {
        ottr_arena_block *next = b->next;
        if (keep == NULL || b->size > keep->size) {
            if (keep)
                free(keep);
            keep = b;
        } else {
            free(b);
        }
        b = next;
    }
    /* A huge request must not pin its memory for the life of the thread. */
    if (keep && keep->size > 16 * a->block_size) {
        free(keep);
        keep = NULL;
    }
    if (keep)
        keep->next = NULL;
    a->head = keep;
    a->next = keep ? keep->data : NULL;
    a->end = keep ? keep->data + keep->size : NULL;
    a->used = 0;
}

void ottr_arena_free(ottr_arena *a)
{
    ottr_arena_block *b = a->head;
    while (b) {
        ottr_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->next = a->end = NULL;
    a->used = 0;
}
