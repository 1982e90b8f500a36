/* fuzz/otlp_proto.c - fuzzes what a hostile OTLP/protobuf export request
 * reaches in the receivers (collector/ingest.c): otlp_proto_decode_request, then
 * grouping by trace into stored chunks with otlp_batch_build_wire (and with
 * otlp_batch_build, the re-encoding path), then otlp_trace_decode of every chunk
 * as a query would read it back, which must give the group's spans. */
#include "fuzz/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ottr_arena arena;
    ottr_arena_init(&arena, 64 * 1024, FUZZ_ARENA_LIMIT);
    char err[256];
    otlp_request *req = NULL;
    ottr_status st = otlp_proto_decode_request(&arena, data, size, &req, err, sizeof(err));
    if (st == OTTR_OK) {
        FUZZ_CHECK(req != NULL);
        otlp_batch wire, plain;
        size_t rejected_wire = 0, rejected_plain = 0;
        memset(&wire, 0, sizeof(wire));
        memset(&plain, 0, sizeof(plain));
        ottr_status sw =
            otlp_batch_build_wire(&arena, req, data, size, &wire, &rejected_wire, err, sizeof(err));
        if (sw == OTTR_OK)
            fuzz_check_batch(&wire);
        ottr_status sp = otlp_batch_build(&arena, req, &plain, &rejected_plain, err, sizeof(err));
        if (sp == OTTR_OK)
            fuzz_check_batch(&plain);
        if (sw == OTTR_OK && sp == OTTR_OK) {
            /* Both paths keep and reject the same spans. */
            FUZZ_CHECK(wire.nspans == plain.nspans && wire.ngroups == plain.ngroups);
            FUZZ_CHECK(rejected_wire == rejected_plain);
        }
    } else {
        FUZZ_CHECK(st == OTTR_ERR_INVALID || st == OTTR_ERR_TOO_LARGE || st == OTTR_ERR_NOMEM);
    }
    ottr_arena_free(&arena);
    return 0;
}
