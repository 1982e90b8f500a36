/* fuzz/otlp_json.c - fuzzes the OTLP/JSON decoders (otlp/decode_json.c) with
 * the same bytes: otlp_json_decode_request as the HTTP receiver uses it, then
 * grouping into chunks and reading them back; and otlp_json_decode_traces, the
 * trace-document decoder of the client and of uploaded traces, then the tree
 * and the JSON writer, whose output must read back with as many spans. */
#include "fuzz/check.h"

static void request(const uint8_t *data, size_t size)
{
    ottr_arena arena;
    ottr_arena_init(&arena, 64 * 1024, FUZZ_ARENA_LIMIT);
    char err[256];
    otlp_request *req = NULL;
    ottr_status st =
        otlp_json_decode_request(&arena, (const char *)data, size, &req, err, sizeof(err));
    if (st == OTTR_OK) {
        otlp_batch b;
        size_t rejected = 0;
        memset(&b, 0, sizeof(b));
        if (otlp_batch_build(&arena, req, &b, &rejected, err, sizeof(err)) == OTTR_OK)
            fuzz_check_batch(&b);
    } else {
        FUZZ_CHECK(st == OTTR_ERR_INVALID || st == OTTR_ERR_TOO_LARGE || st == OTTR_ERR_NOMEM);
        FUZZ_CHECK(st != OTTR_ERR_INVALID || err[0] != '\0');
    }
    ottr_arena_free(&arena);
}

static void document(const uint8_t *data, size_t size)
{
    ottr_arena arena;
    ottr_arena_init(&arena, 64 * 1024, FUZZ_ARENA_LIMIT);
    char err[256];
    otlp_traces_data *td = NULL;
    otlp_json_doc doc;
    ottr_status st =
        otlp_json_decode_traces(&arena, (const char *)data, size, &td, &doc, err, sizeof(err));
    if (st == OTTR_OK) {
        FUZZ_CHECK(doc.array_off <= size && doc.array_len <= size - doc.array_off);
        otlp_trace t;
        if (otlp_trace_from_data(&t, &arena, td) == OTTR_OK)
            fuzz_check_trace(&t, &arena);
    }
    ottr_arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    request(data, size);
    document(data, size);
    return 0;
}
