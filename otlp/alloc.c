/* otlp/alloc.c - protobuf-c allocators over an arena, so that unpacking a
 * message costs a few block allocations and is freed with the arena. */
#include "otlp/otlp.h"

static void *arena_pb_alloc(void *ctx, size_t n)
{
    return ottr_arena_alloc(ctx, n);
}

static void arena_pb_free(void *ctx, void *p)
{
    (void)ctx;
    (void)p; /* freed all at once by the arena's reset */
}

ProtobufCAllocator otlp_pb_allocator(ottr_arena *a)
{
    ProtobufCAllocator pa = {.alloc = arena_pb_alloc, .free = arena_pb_free, .allocator_data = a};
    return pa;
}
