/* fuzz/trace_chunk.c - fuzzes the decoder of stored bytes, otlp_trace_decode
 * (otlp/trace.c), as every query runs it over a trace's chunks read from the
 * store (a damaged or hostile store must not crash a query), then the tree and
 * the OTLP/JSON writer, whose output must read back with as many spans. */
#include "fuzz/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ottr_arena arena;
    ottr_arena_init(&arena, 64 * 1024, FUZZ_ARENA_LIMIT);
    otlp_trace t;
    ottr_status st = otlp_trace_decode(&t, &arena, data, size);
    if (st == OTTR_OK)
        fuzz_check_trace(&t, &arena);
    else
        FUZZ_CHECK(st == OTTR_ERR_CORRUPT || st == OTTR_ERR_NOMEM);
    ottr_arena_free(&arena);
    return 0;
}
