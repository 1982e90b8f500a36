/* tests/query/test_tqmetrics.c - the TraceQL metrics stage: where a query is
 * split into its spanset and its metrics function, each function's arguments,
 * by(), topk/bottomk, compare(), the refusals and their messages; and the
 * autocomplete filter that drops the condition being typed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "query/query.h"
#include "query/tqmetrics.h"

static int parse(const char *q, tqm_query *m, char *err, size_t errlen)
{
    return query_tqm_parse(q, m, err, errlen);
}

static void test_split(void **state)
{
    (void)state;
    char err[256];
    tqm_query m;
    assert_int_equal(parse("{ status = error } | rate()", &m, err, sizeof(err)), 1);
    assert_string_equal(m.filter, "{ status = error }");
    assert_int_equal(m.fn, TQM_RATE);
    assert_int_equal(m.nby, 0);
    query_tqm_free(&m);
    /* A `|` inside the spanset or a string is not the stage. */
    assert_int_equal(parse("{ name = \"a | rate()\" } | count_over_time()", &m, err, sizeof(err)),
                     1);
    assert_string_equal(m.filter, "{ name = \"a | rate()\" }");
    assert_int_equal(m.fn, TQM_COUNT);
    query_tqm_free(&m);
    /* Spanset pipelines stay in the filter: the split is at the metrics function. */
    assert_int_equal(parse("{ } | count() > 2 | rate() by (name)", &m, err, sizeof(err)), 1);
    assert_string_equal(m.filter, "{ } | count() > 2");
    query_tqm_free(&m);
    /* No spanset: every span. */
    assert_int_equal(parse("rate()", &m, err, sizeof(err)), 1);
    assert_string_equal(m.filter, "{}");
    query_tqm_free(&m);
    /* Not a metrics query. */
    assert_int_equal(parse("{ name = \"x\" }", &m, err, sizeof(err)), 0);
    query_tqm_free(&m);
    assert_int_equal(parse("{ a = 1 } || { b = 2 }", &m, err, sizeof(err)), 0);
    query_tqm_free(&m);
}

static void test_functions(void **state)
{
    (void)state;
    char err[256];
    tqm_query m;
    assert_int_equal(parse("{} | sum_over_time(span.http.response.size)", &m, err, sizeof(err)), 1);
    assert_int_equal(m.fn, TQM_SUM);
    assert_int_equal(m.arg.what, TQMW_ATTR);
    assert_int_equal(m.arg.scope, TQS_SPAN);
    assert_string_equal(m.arg.name, "http.response.size");
    query_tqm_free(&m);
    static const struct {
        const char *q;
        tqm_fn fn;
        tqm_what what;
    } cases[] = {
        {"{} | min_over_time(duration)", TQM_MIN, TQMW_DURATION},
        {"{} | max_over_time(span:duration)", TQM_MAX, TQMW_DURATION},
        {"{} | avg_over_time(.ratio)", TQM_AVG, TQMW_ATTR},
        {"{} | histogram_over_time(duration)", TQM_HISTOGRAM, TQMW_DURATION},
        {"{} | avg_over_time(traceDuration)", TQM_AVG, TQMW_TRACE_DURATION},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].q, &m, err, sizeof(err)), 1);
        assert_int_equal(m.fn, cases[i].fn);
        assert_int_equal(m.arg.what, cases[i].what);
        query_tqm_free(&m);
    }
    assert_int_equal(parse("{} | quantile_over_time(duration, .5, 0.9, .99)", &m, err, sizeof(err)),
                     1);
    assert_int_equal(m.fn, TQM_QUANTILE);
    assert_int_equal(m.nq, 3);
    assert_true(m.q[0] == 0.5 && m.q[1] == 0.9 && m.q[2] == 0.99);
    query_tqm_free(&m);
}

static void test_by_topk(void **state)
{
    (void)state;
    char err[256];
    tqm_query m;
    assert_int_equal(parse("{} | rate() by (resource.service.name, name, span:kind) | topk(5)", &m,
                           err, sizeof(err)),
                     1);
    assert_int_equal(m.nby, 3);
    assert_int_equal(m.by[0].what, TQMW_ATTR);
    assert_int_equal(m.by[0].scope, TQS_RESOURCE);
    assert_string_equal(m.by[0].label, "resource.service.name");
    assert_int_equal(m.by[1].what, TQMW_NAME);
    assert_int_equal(m.by[2].what, TQMW_KIND);
    assert_int_equal(m.topk, 5);
    query_tqm_free(&m);
    assert_int_equal(parse("{} | count_over_time() | bottomk(2)", &m, err, sizeof(err)), 1);
    assert_int_equal(m.topk, -2);
    query_tqm_free(&m);
    assert_int_equal(parse("{ status = error } | compare({ span.http.status_code >= 500 }, 4)", &m,
                           err, sizeof(err)),
                     1);
    assert_int_equal(m.fn, TQM_COMPARE);
    assert_string_equal(m.compare_filter, "{ span.http.status_code >= 500 }");
    assert_int_equal(m.compare_top, 4);
    query_tqm_free(&m);
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *q;
        const char *msg;
    } bad[] = {
        {"{} | rate(", "expected ')'"},
        {"{} | quantile_over_time(duration)", "at least one quantile"},
        {"{} | quantile_over_time(duration, 1.5)", "between 0 and 1"},
        {"{} | sum_over_time()", "expected an attribute"},
        {"{} | sum_over_time(foo)", "unknown attribute"},
        {"{} | rate() by ()", "expected an attribute"},
        {"{} | rate() | topk(0)", "whole number"},
        {"{} | rate() | topk(2) | bottomk(1)", "one topk"},
        {"{} | rate() | avg(duration)", "only topk(n) or bottomk(n)"},
        {"{} | compare(status = error)", "spanset filter"},
        {"{} | compare({}) by (name)", "no by()"},
        {"{} | rate() extra", "unexpected"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        tqm_query m;
        assert_int_equal(parse(bad[i].q, &m, err, sizeof(err)), -1);
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].q, err, bad[i].msg);
        query_tqm_free(&m);
    }
}

static void test_autocomplete(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"{resource.service.name=\"x\" && }", "{resource.service.name=\"x\" }"},
        {"{resource.service.name=\"x\" && span.http.method=}", "{resource.service.name=\"x\" }"},
        {"{ name = \"a\" && status = error && kind", "{ name = \"a\" && status = error }"},
        {"{ span.x = \"a && b\" && }", "{ span.x = \"a && b\" }"},
        {"{ status = error }", "{ status = error }"},
        {"{ span.x=", "{}"},
        {"", "{}"},
        {NULL, "{}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ottr_buf b = {0};
        query_tq_autocomplete_filter(cases[i].in, &b);
        assert_non_null(b.data);
        assert_string_equal(b.data, cases[i].out);
        ottr_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),        cmocka_unit_test(test_functions),
        cmocka_unit_test(test_by_topk),      cmocka_unit_test(test_refused),
        cmocka_unit_test(test_autocomplete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
