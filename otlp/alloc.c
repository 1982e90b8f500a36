/* otlp/alloc.c - protobuf-c allocators over an arena, so that unpacking a
 * message costs a few block allocations and is freed with the arena, and telling
 * why an arena allocation failed. */
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

ottr_status otlp_alloc_failure(const ottr_arena *a, size_t n)
{
    /* ottr_arena_alloc rounds up to 16 bytes; a request that overflows doing so
     * can never fit either. */
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return OTTR_ERR_TOO_LARGE;
    return a->limit && (need > a->limit || a->used > a->limit - need) ? OTTR_ERR_TOO_LARGE
                                                                      : OTTR_ERR_NOMEM;
}

/* Out of the way of the allocation path, which protobuf-c takes per field. */
__attribute__((noinline, cold)) static void flagged_failed(otlp_pb_flagged *f)
{
    if (f->failed == OTTR_OK)
        f->failed = otlp_alloc_failure(f->arena, f->asked);
}

static void *flagged_alloc(void *ctx, size_t n)
{
    otlp_pb_flagged *f = ctx;
    f->asked = n;
    void *p = ottr_arena_alloc(f->arena, n);
    if (__builtin_expect(p == NULL, 0))
        flagged_failed(f);
    return p;
}

void otlp_pb_flagged_init(otlp_pb_flagged *f, ottr_arena *a)
{
    f->pb.alloc = flagged_alloc;
    f->pb.free = arena_pb_free;
    f->pb.allocator_data = f;
    f->arena = a;
    f->failed = OTTR_OK;
}
