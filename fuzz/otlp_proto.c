/* fuzz/otlp_proto.c - fuzzes what a hostile OTLP/protobuf export request
 * reaches in the receivers (collector/ingest.c): otlp_proto_decode_request, then
 * grouping by trace into stored chunks with otlp_batch_build_wire (and with
 * otlp_batch_build, the re-encoding path), then otlp_trace_decode of every chunk
 * as a query would read it back, which must give the group's spans. Whatever the
 * fast decoder takes, protobuf-c must read the same: both structs pack to the
 * same bytes once protobuf-c's unknown fields are set aside (the fast decoder
 * skips them; chunks copy the original bytes, which keep them). */
#include <stdlib.h>

#include "fuzz/check.h"

/* Drops the unknown fields protobuf-c kept, in |m| and every message below it
 * (their memory stays with |m|: the counts only are cleared). */
static void forget_unknown(ProtobufCMessage *m)
{
    if (m == NULL)
        return;
    m->n_unknown_fields = 0;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        char *at = (char *)m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)((char *)m + f->quantifier_offset);
            ProtobufCMessage **v = *(ProtobufCMessage ***)at;
            for (size_t k = 0; k < n; k++)
                forget_unknown(v[k]);
        } else if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
                   *(uint32_t *)((char *)m + f->quantifier_offset) == f->id) {
            forget_unknown(*(ProtobufCMessage **)at);
        }
    }
}

/* The fast decoder against protobuf-c's unpack. */
static void check_same_as_protobuf_c(const uint8_t *data, size_t size)
{
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, FUZZ_ARENA_LIMIT);
    otlp_request *fast = NULL;
    ottr_status fail = OTTR_OK;
    if (otlp_fast_decode_request(&a, data, size, &fast, &fail) == 1) {
        /* protobuf-c's copy lives in its own arena: forget_unknown leaves
         * memory that only the arena can free. */
        ottr_arena ra;
        ottr_arena_init(&ra, 64 * 1024, 0);
        ProtobufCAllocator alloc = otlp_pb_allocator(&ra);
        otlp_request *ref =
            opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
                &alloc, size, data);
        FUZZ_CHECK(ref != NULL);
        forget_unknown(&ref->base);
        size_t n = protobuf_c_message_get_packed_size(&fast->base);
        FUZZ_CHECK(n == protobuf_c_message_get_packed_size(&ref->base));
        uint8_t *x = malloc(n ? n : 1), *y = malloc(n ? n : 1);
        FUZZ_CHECK(x != NULL && y != NULL);
        protobuf_c_message_pack(&fast->base, x);
        protobuf_c_message_pack(&ref->base, y);
        FUZZ_CHECK(memcmp(x, y, n) == 0);
        free(x);
        free(y);
        ottr_arena_free(&ra);
    }
    ottr_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_same_as_protobuf_c(data, size);
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
