/* fuzz/check.c - invariants the OTLP fuzz targets share (see check.h). */
#include "fuzz/check.h"

void fuzz_check_batch(const otlp_batch *b)
{
    size_t spans = 0, bytes = 0;
    for (size_t g = 0; g < b->ngroups; g++) {
        const otlp_trace_group *grp = &b->groups[g];
        spans += grp->nspans;
        bytes += grp->chunk_len;
        ottr_arena a;
        ottr_arena_init(&a, 64 * 1024, FUZZ_ARENA_LIMIT);
        otlp_trace t;
        FUZZ_CHECK(otlp_trace_decode(&t, &a, grp->chunk, grp->chunk_len) == OTTR_OK);
        FUZZ_CHECK(t.nspans == grp->nspans);
        for (size_t i = 0; i < t.nspans; i++) {
            const otlp_span *s = t.spans[i].span;
            FUZZ_CHECK(s->trace_id.len == 16 && memcmp(s->trace_id.data, grp->trace_id, 16) == 0);
            FUZZ_CHECK(s->span_id.len == 8);
        }
        fuzz_check_trace(&t, &a);
        ottr_arena_free(&a);
    }
    FUZZ_CHECK(spans == b->nspans && bytes == b->chunk_bytes);
}

void fuzz_check_trace(otlp_trace *t, ottr_arena *a)
{
    FUZZ_CHECK(otlp_trace_build_tree(t, a) == OTTR_OK);
    FUZZ_CHECK(t->norphans <= t->nspans && t->nduplicates <= t->nspans);
    FUZZ_CHECK(t->root < (int32_t)t->nspans);
    for (size_t i = 0; i < t->nspans; i++)
        FUZZ_CHECK(t->spans[i].parent < (int32_t)t->nspans && t->spans[i].parent != (int32_t)i);

    ottr_buf json = {0};
    int first = 1;
    ottr_buf_puts(&json, "{\"resourceSpans\":[");
    otlp_json_resource_spans_items(&json, t->td, &first);
    ottr_buf_puts(&json, "]}");
    FUZZ_CHECK(!json.oom);
    ottr_arena back;
    ottr_arena_init(&back, 64 * 1024, 0);
    otlp_traces_data *td = NULL;
    char err[256];
    FUZZ_CHECK(otlp_json_decode_traces(&back, json.data, json.len, &td, NULL, err, sizeof(err)) ==
               OTTR_OK);
    otlp_trace again;
    FUZZ_CHECK(otlp_trace_from_data(&again, &back, td) == OTTR_OK);
    if (again.nspans != t->nspans)
        fprintf(stderr, "%zu spans written, %zu read back from %.*s\n", t->nspans, again.nspans,
                (int)(json.len < 4000 ? json.len : 4000), json.data);
    FUZZ_CHECK(again.nspans == t->nspans);
    ottr_arena_free(&back);
    ottr_buf_free(&json);
}
