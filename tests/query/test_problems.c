/* tests/query/test_problems.c - how the query APIs describe a trace's problems
 * (query_describe_problems) once otlp_trace_build_tree found them: nothing for a
 * sound trace, orphans, and a trace cut at the store's limit. The tree itself is
 * tested in tests/otlp/test_tree.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/qtrace.h"
#include "tests/query/fixture.h"

typedef struct tt {
    ottr_arena a;
    otlp_request *r;
    otlp_scope_spans *ss;
    uint8_t *wire;
    otlp_trace t;
} tt;

static void tt_init(tt *x)
{
    memset(x, 0, sizeof(*x));
    ottr_arena_init(&x->a, 64 * 1024, 0);
    x->r = fx_req_new(&x->a);
    x->ss = fx_ss_new(&x->a, fx_rs_new(&x->a, x->r, "svc"), NULL, NULL);
}

static void tt_span(tt *x, const char *id, const char *parent)
{
    fx_span_new(&x->a, x->ss, FX_TRACE_A, id, parent, id, 1, 1, 2);
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

static void test_sound_trace(void **state)
{
    (void)state;
    tt x;
    tt_init(&x);
    tt_span(&x, "0000000000000003", "0000000000000001");
    tt_span(&x, "0000000000000001", NULL);
    tt_span(&x, "0000000000000002", "0000000000000001");
    tt_build(&x);
    ottr_buf msg = {0};
    assert_int_equal(query_describe_problems(&x.t, NULL, &msg), 0);
    assert_int_equal(msg.len, 0);
    ottr_buf_free(&msg);
    tt_free(&x);
}

static void test_orphans_of_a_cut_trace(void **state)
{
    (void)state;
    tt x;
    tt_init(&x);
    tt_span(&x, "0000000000000001", "00000000000000ff");
    tt_span(&x, "0000000000000002", "0000000000000001");
    tt_span(&x, "0000000000000003", "00000000000000fe");
    tt_build(&x);
    store_trace_summary sum;
    memset(&sum, 0, sizeof(sum));
    sum.partial = true;
    ottr_buf msg = {0};
    assert_int_equal(query_describe_problems(&x.t, &sum, &msg), 2);
    assert_string_equal(msg.data, "2 spans have parents missing from the trace; the trace was "
                                  "cut at the store's max_trace_bytes");
    ottr_buf_free(&msg);
    tt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sound_trace),
        cmocka_unit_test(test_orphans_of_a_cut_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
