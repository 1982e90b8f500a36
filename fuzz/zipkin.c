/* fuzz/zipkin.c - fuzzes the Zipkin decoders (otlp/zipkin_*.c) with the same
 * bytes as v2 JSON, v1 JSON and protobuf, as the Zipkin port reads them: what decodes is
 * grouped into stored chunks (which must read back), and each stored trace is
 * written as Zipkin JSON by the query side (query/zipkin.c), which must read
 * back as a Zipkin span list with as many spans. */
#include "fuzz/check.h"
#include "query/qzipkin.h"

static void written_reads_back(const otlp_batch *b)
{
    for (size_t g = 0; g < b->ngroups; g++) {
        const otlp_trace_group *grp = &b->groups[g];
        ottr_arena a;
        ottr_arena_init(&a, 64 * 1024, FUZZ_ARENA_LIMIT);
        otlp_trace t;
        ottr_buf out = {0};
        if (otlp_trace_decode(&t, &a, grp->chunk, grp->chunk_len) == OTTR_OK &&
            otlp_trace_build_tree(&t, &a) == OTTR_OK &&
            query_zipkin_encode_trace(&out, &t, grp->trace_id) == 0) {
            otlp_request *req = NULL;
            char err[256];
            ottr_status st =
                otlp_zipkin_decode_request(&a, OTLP_ZIPKIN_JSON, (const uint8_t *)out.data, out.len,
                                           1, &req, err, sizeof(err));
            FUZZ_CHECK(st == OTTR_OK || st == OTTR_ERR_TOO_LARGE || st == OTTR_ERR_NOMEM);
            if (st == OTTR_OK) {
                size_t n = 0;
                for (size_t i = 0; i < req->n_resource_spans; i++)
                    for (size_t k = 0; k < req->resource_spans[i]->n_scope_spans; k++)
                        n += req->resource_spans[i]->scope_spans[k]->n_spans;
                FUZZ_CHECK(n == t.nspans);
            }
        }
        ottr_buf_free(&out);
        ottr_arena_free(&a);
    }
}

static void one(otlp_zipkin_encoding enc, const uint8_t *data, size_t size)
{
    ottr_arena arena;
    ottr_arena_init(&arena, 64 * 1024, FUZZ_ARENA_LIMIT);
    char err[256];
    otlp_request *req = NULL;
    ottr_status st = otlp_zipkin_decode_request(&arena, enc, data, size, 1, &req, err, sizeof(err));
    if (st == OTTR_OK) {
        otlp_batch b;
        size_t rejected = 0;
        memset(&b, 0, sizeof(b));
        if (otlp_batch_build(&arena, req, &b, &rejected, err, sizeof(err)) == OTTR_OK) {
            fuzz_check_batch(&b);
            written_reads_back(&b);
        }
    } else {
        FUZZ_CHECK(st == OTTR_ERR_INVALID || st == OTTR_ERR_TOO_LARGE || st == OTTR_ERR_NOMEM);
        FUZZ_CHECK(st != OTTR_ERR_INVALID || err[0] != '\0');
    }
    ottr_arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(OTLP_ZIPKIN_JSON, data, size);
    one(OTLP_ZIPKIN_JSON_V1, data, size);
    one(OTLP_ZIPKIN_PROTO, data, size);
    return 0;
}
