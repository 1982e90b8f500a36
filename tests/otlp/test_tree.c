/* tests/otlp/test_tree.c - rebuilding a trace's tree (otlp_trace_build_tree):
 * roots, orphans (missing or malformed parent IDs), duplicate span IDs, cycles of
 * every length (cut, reported, never a hang), very deep chains, and empty input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"

#define TRACE_ID "4bf92f3577b34da6a3ce929d0e0e4736"

/* One trace of one resource and scope, built span by span, packed and decoded
 * back with otlp_trace_decode as the query APIs read stored traces. */
typedef struct tt {
    ottr_arena a;
    otlp_request *r;
    otlp_scope_spans *ss;
    size_t cap;
    uint8_t *wire;
    otlp_trace t;
} tt;

static void *tt_alloc(tt *x, size_t n)
{
    void *p = ottr_arena_alloc(&x->a, n);
    assert_non_null(p);
    memset(p, 0, n);
    return p;
}

static ProtobufCBinaryData tt_hex(tt *x, const char *hex)
{
    ProtobufCBinaryData b = {0, NULL};
    if (hex == NULL)
        return b;
    b.len = strlen(hex) / 2;
    b.data = tt_alloc(x, b.len + 1);
    assert_int_equal(ottr_hex_decode(hex, strlen(hex), b.data, b.len), (int)b.len);
    return b;
}

static void tt_init(tt *x)
{
    memset(x, 0, sizeof(*x));
    ottr_arena_init(&x->a, 64 * 1024, 0);
    x->r = tt_alloc(x, sizeof(*x->r));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(x->r);
    otlp_resource_spans *rs = tt_alloc(x, sizeof(*rs));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    x->ss = tt_alloc(x, sizeof(*x->ss));
    opentelemetry__proto__trace__v1__scope_spans__init(x->ss);
    rs->scope_spans = tt_alloc(x, sizeof(otlp_scope_spans *));
    rs->scope_spans[0] = x->ss;
    rs->n_scope_spans = 1;
    x->r->resource_spans = tt_alloc(x, sizeof(otlp_resource_spans *));
    x->r->resource_spans[0] = rs;
    x->r->n_resource_spans = 1;
    x->cap = 32;
    x->ss->spans = tt_alloc(x, x->cap * sizeof(otlp_span *));
}

/* A span with hex |id| and hex |parent| (NULL: none; any length). */
static void tt_span(tt *x, const char *id, const char *parent)
{
    assert_true(x->ss->n_spans < x->cap);
    otlp_span *s = tt_alloc(x, sizeof(*s));
    opentelemetry__proto__trace__v1__span__init(s);
    s->trace_id = tt_hex(x, TRACE_ID);
    s->span_id = tt_hex(x, id);
    s->parent_span_id = tt_hex(x, parent);
    s->name = (char *)id;
    s->start_time_unix_nano = 1;
    s->end_time_unix_nano = 2;
    x->ss->spans[x->ss->n_spans++] = s;
}

/* Room for |n| spans. */
static void tt_grow(tt *x, size_t n)
{
    otlp_span **v = tt_alloc(x, n * sizeof(*v));
    memcpy(v, x->ss->spans, x->ss->n_spans * sizeof(*v));
    x->ss->spans = v;
    x->cap = n;
}

static void tt_build(tt *x)
{
    size_t n =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            x->r);
    x->wire = malloc(n);
    assert_non_null(x->wire);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(x->r, x->wire);
    assert_int_equal(otlp_trace_decode(&x->t, &x->a, x->wire, n), OTTR_OK);
    assert_int_equal(otlp_trace_build_tree(&x->t, &x->a), OTTR_OK);
}

static void tt_free(tt *x)
{
    ottr_arena_free(&x->a);
    free(x->wire);
}

static void test_sound_tree(void **state)
{
    (void)state;
    tt x;
    tt_init(&x);
    tt_span(&x, "0000000000000003", "0000000000000001"); /* child before its parent */
    tt_span(&x, "0000000000000001", NULL);
    tt_span(&x, "0000000000000002", "0000000000000001");
    tt_span(&x, "0000000000000004", "0000000000000002");
    tt_build(&x);
    assert_int_equal(x.t.root, 1);
    assert_int_equal(x.t.spans[0].parent, 1);
    assert_int_equal(x.t.spans[1].parent, -1);
    assert_int_equal(x.t.spans[2].parent, 1);
    assert_int_equal(x.t.spans[3].parent, 2);
    assert_int_equal(x.t.norphans + x.t.nduplicates + x.t.ncycles, 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(x.t.spans[i].problems, 0);
        assert_int_equal(x.t.spans[i].rs, 0);
        assert_string_equal(x.t.spans[i].service, "unknown_service");
    }
    tt_free(&x);
}

static void test_orphans(void **state)
{
    (void)state;
    tt x;
    tt_init(&x);
    tt_span(&x, "0000000000000001", "00000000000000ff");
    tt_span(&x, "0000000000000002", "0000000000000001");
    tt_span(&x, "0000000000000003", "00000000000000fe");
    tt_build(&x);
    assert_int_equal(x.t.root, -1);
    assert_int_equal(x.t.norphans, 2);
    assert_true(x.t.spans[0].problems & OTLP_SPAN_ORPHAN);
    assert_false(x.t.spans[1].problems & OTLP_SPAN_ORPHAN);
    assert_int_equal(x.t.spans[1].parent, 0);
    assert_int_equal(x.t.spans[0].parent, -1);
    tt_free(&x);
}

/* A parent ID that no span can have (not 8 bytes) names a parent all the same:
 * an orphan. An all-zero parent ID is no parent: a root. */
static void test_malformed_and_zero_parents(void **state)
{
    (void)state;
    tt x;
    tt_init(&x);
    tt_span(&x, "0000000000000001", "0000000000000000");
    tt_span(&x, "0000000000000002", "00ff");
    tt_span(&x, "0000000000000003", "000000000000000000000001");
    tt_span(&x, "0000000000000004", "0000000000000001");
    tt_span(&x, "0005", "0000000000000001"); /* a child, though its own ID is unusable */
    tt_span(&x, "0000000000000006", "0005"); /* which no one can point at */
    tt_build(&x);
    assert_int_equal(x.t.root, 0);
    assert_int_equal(x.t.spans[0].problems, 0);
    assert_int_equal(x.t.spans[0].parent, -1);
    assert_int_equal(x.t.spans[1].problems, OTLP_SPAN_ORPHAN);
    assert_int_equal(x.t.spans[1].parent, -1);
    assert_int_equal(x.t.spans[2].problems, OTLP_SPAN_ORPHAN);
    assert_int_equal(x.t.spans[3].parent, 0);
    assert_int_equal(x.t.spans[4].parent, 0);
    assert_int_equal(x.t.spans[5].problems, OTLP_SPAN_ORPHAN);
    assert_int_equal(x.t.norphans, 3);
    assert_int_equal(x.t.nduplicates + x.t.ncycles, 0);
    tt_free(&x);
}

static void test_duplicates(void **state)
{
    (void)state;
    tt x;
    tt_init(&x);
    tt_span(&x, "0000000000000001", NULL);
    tt_span(&x, "0000000000000001", NULL);
    tt_span(&x, "0000000000000002", "0000000000000001");
    tt_span(&x, "0000000000000001", "0000000000000002");
    tt_build(&x);
    assert_int_equal(x.t.nduplicates, 2);
    assert_int_equal(x.t.root, 0);
    assert_false(x.t.spans[0].problems & OTLP_SPAN_DUPLICATE);
    assert_true(x.t.spans[1].problems & OTLP_SPAN_DUPLICATE);
    assert_true(x.t.spans[3].problems & OTLP_SPAN_DUPLICATE);
    /* The later span with the first's ID points at span 2, whose parent is the
     * first: no loop, since IDs resolve to the first holder. */
    assert_int_equal(x.t.spans[2].parent, 0);
    assert_int_equal(x.t.spans[3].parent, 2);
    assert_int_equal(x.t.ncycles, 0);
    tt_free(&x);
}

static void test_cycles(void **state)
{
    (void)state;
    tt x;
    tt_init(&x);
    tt_span(&x, "0000000000000001", "0000000000000001"); /* its own parent */
    tt_span(&x, "00000000000000a1", "00000000000000a3"); /* a1 -> a3 -> a2 -> a1 */
    tt_span(&x, "00000000000000a2", "00000000000000a1");
    tt_span(&x, "00000000000000a3", "00000000000000a2");
    tt_span(&x, "00000000000000b0", "00000000000000a2"); /* hangs off the loop */
    tt_build(&x);
    assert_int_equal(x.t.ncycles, 4);
    assert_true(x.t.spans[0].problems & OTLP_SPAN_CYCLE);
    assert_true(x.t.spans[0].problems & OTLP_SPAN_CUT);
    assert_int_equal(x.t.spans[0].parent, -1);
    assert_false(x.t.spans[4].problems & OTLP_SPAN_CYCLE);
    /* Exactly one edge of the 3-loop was cut; walking parents now ends. */
    int cuts = 0;
    for (size_t i = 1; i < 4; i++)
        cuts += (x.t.spans[i].problems & OTLP_SPAN_CUT) != 0;
    assert_int_equal(cuts, 1);
    for (size_t i = 0; i < x.t.nspans; i++) {
        int32_t cur = (int32_t)i;
        size_t steps = 0;
        while (cur >= 0 && steps++ <= x.t.nspans)
            cur = x.t.spans[cur].parent;
        assert_true(steps <= x.t.nspans);
    }
    tt_free(&x);
}

/* A 20000-deep chain: no recursion, no quadratic walk. */
static void test_deep_chain(void **state)
{
    (void)state;
    tt x;
    tt_init(&x);
    size_t n = 20000;
    tt_grow(&x, n);
    char id[17], parent[17];
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "%016zx", i + 1);
        snprintf(parent, sizeof(parent), "%016zx", i);
        tt_span(&x, id, i ? parent : NULL);
    }
    tt_build(&x);
    assert_int_equal(x.t.nspans, n);
    assert_int_equal(x.t.root, 0);
    assert_int_equal(x.t.spans[n - 1].parent, (int32_t)(n - 2));
    assert_int_equal(x.t.norphans + x.t.nduplicates + x.t.ncycles, 0);
    tt_free(&x);
}

static void test_empty_and_corrupt(void **state)
{
    (void)state;
    ottr_arena a;
    ottr_arena_init(&a, 4096, 0);
    otlp_trace t;
    assert_int_equal(otlp_trace_decode(&t, &a, (const uint8_t *)"", 0), OTTR_OK);
    assert_int_equal(t.nspans, 0);
    assert_int_equal(otlp_trace_build_tree(&t, &a), OTTR_OK);
    assert_int_equal(t.root, -1);
    static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0x01};
    assert_int_equal(otlp_trace_decode(&t, &a, junk, sizeof(junk)), OTTR_ERR_CORRUPT);
    ottr_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sound_tree),
        cmocka_unit_test(test_orphans),
        cmocka_unit_test(test_malformed_and_zero_parents),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_cycles),
        cmocka_unit_test(test_deep_chain),
        cmocka_unit_test(test_empty_and_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
