/* tests/query/test_params.c - parameter parsing: Tempo's trace ID rules, RFC
 * 3339 times, integers, percent-decoding, and Tempo's logfmt tags. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "query/qsearch.h"
#include "http/http.h"
#include "query/query.h"

static void test_trace_id(void **state)
{
    (void)state;
    uint8_t id[16];
    assert_int_equal(query_parse_trace_id("4bf92f3577b34da6a3ce929d0e0e4736", id), 0);
    assert_int_equal(id[0], 0x4b);
    assert_int_equal(id[15], 0x36);
    assert_int_equal(query_parse_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736", id), 0);
    assert_int_equal(id[0], 0x4b);
    /* odd length: a leading 0; short: left-padded */
    assert_int_equal(query_parse_trace_id("abc", id), 0);
    static const uint8_t want[16] = {[14] = 0x0a, [15] = 0xbc};
    assert_memory_equal(id, want, 16);
    assert_int_equal(query_parse_trace_id("1", id), 0);
    assert_int_equal(id[15], 1);
    assert_int_equal(query_parse_trace_id("", id), -1);
    assert_int_equal(query_parse_trace_id(NULL, id), -1);
    assert_int_equal(query_parse_trace_id("4bf92f3577b34da6a3ce929d0e0e47360", id), -1);
    assert_int_equal(query_parse_trace_id("xyz", id), -1);
    assert_int_equal(query_parse_trace_id("0x12", id), -1);
    assert_int_equal(query_parse_trace_id("12 34", id), -1);
}

static void test_rfc3339(void **state)
{
    (void)state;
    uint64_t ns;
    assert_int_equal(http_parse_rfc3339("1970-01-01T00:00:00Z", &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(http_parse_rfc3339("2023-11-14T22:13:20Z", &ns), 0);
    assert_int_equal(ns, 1700000000ull * 1000000000ull);
    assert_int_equal(http_parse_rfc3339("2023-11-14T22:13:20.5Z", &ns), 0);
    assert_int_equal(ns, 1700000000500000000ull);
    assert_int_equal(http_parse_rfc3339("2023-11-14T22:13:20.123456789123Z", &ns), 0);
    assert_int_equal(ns, 1700000000123456789ull);
    assert_int_equal(http_parse_rfc3339("2023-11-15T00:13:20+02:00", &ns), 0);
    assert_int_equal(ns, 1700000000ull * 1000000000ull);
    assert_int_equal(http_parse_rfc3339("2023-11-14T21:13:20-01:00", &ns), 0);
    assert_int_equal(ns, 1700000000ull * 1000000000ull);
    assert_int_equal(http_parse_rfc3339("2024-02-29T00:00:00Z", &ns), 0);
    assert_int_equal(ns, 1709164800ull * 1000000000ull);
    assert_int_equal(http_parse_rfc3339("2023-11-14 22:13:20Z", &ns), 0);
    assert_int_equal(http_parse_rfc3339("2023-11-14T22:13:20", &ns), -1);
    assert_int_equal(http_parse_rfc3339("2023-13-14T22:13:20Z", &ns), -1);
    assert_int_equal(http_parse_rfc3339("2023-11-14T22:13:20.Z", &ns), -1);
    assert_int_equal(http_parse_rfc3339("1700000000", &ns), -1);
    assert_int_equal(http_parse_rfc3339("1969-12-31T23:59:59Z", &ns), -1);
    assert_int_equal(http_parse_rfc3339("2023-11-14T22:13:20Zjunk", &ns), -1);
}

static void test_u64_and_decode(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(http_parse_u64("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(http_parse_u64("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(http_parse_u64("18446744073709551616", &v), -1);
    assert_int_equal(http_parse_u64("-1", &v), -1);
    assert_int_equal(http_parse_u64("1.5", &v), -1);
    assert_int_equal(http_parse_u64("", &v), -1);

    char out[16];
    assert_int_equal(http_percent_decode("a%20b", 5, out, sizeof(out)), 0);
    assert_string_equal(out, "a b");
    assert_int_equal(http_percent_decode("%2Fx%2f", 7, out, sizeof(out)), 0);
    assert_string_equal(out, "/x/");
    assert_int_equal(http_percent_decode("a%2", 3, out, sizeof(out)), -1);
    assert_int_equal(http_percent_decode("a%zz", 4, out, sizeof(out)), -1);
    assert_int_equal(http_percent_decode("a%00", 4, out, sizeof(out)), -1);
    assert_int_equal(http_percent_decode("0123456789abcdef", 16, out, sizeof(out)), -1);
}

static const char *tags(const char *in)
{
    static char res[256];
    ottr_buf b = {0};
    char err[QUERY_ERRLEN] = "";
    if (qsearch_tags_to_traceql(in, &b, err, sizeof(err)) != 0)
        snprintf(res, sizeof(res), "ERR %s", err);
    else
        snprintf(res, sizeof(res), "%s", b.data);
    ottr_buf_free(&b);
    return res;
}

static void test_logfmt_tags(void **state)
{
    (void)state;
    assert_string_equal(tags(""), "{}");
    assert_string_equal(tags("service.name=cart"), "{resource.service.name=\"cart\"}");
    assert_string_equal(tags("  name=\"GET /x\"   http.status_code=500 "),
                        "{name=\"GET /x\" && .\"http.status_code\"=\"500\"}");
    assert_string_equal(tags("k=\"a \\\"q\\\" b\""), "{.\"k\"=\"a \\\"q\\\" b\"}");
    assert_string_equal(tags("status.code=error error=true root.service.name=s root.name=r"),
                        "{status=error && status=error && rootServiceName=\"s\" && "
                        "rootName=\"r\"}");
    assert_string_equal(tags("k="), "{.\"k\"=\"\"}");
    assert_non_null(strstr(tags("service.name"), "ERR invalid tags"));
    assert_non_null(strstr(tags("=v"), "ERR invalid tags"));
    assert_non_null(strstr(tags("k=\"open"), "ERR invalid tags"));
    assert_non_null(strstr(tags("status.code=bad"), "ERR invalid tags"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_id),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_u64_and_decode),
        cmocka_unit_test(test_logfmt_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
