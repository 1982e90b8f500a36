/* tests/query/test_params.c - parameter parsing of the query engine: Tempo's
 * trace ID rules and Tempo's logfmt tags. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "query/qsearch.h"
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

static const char *tags(const char *in)
{
    static char res[256];
    ottr_buf b = {0};
    char err[QUERY_ERRLEN] = "";
    if (query_search_tags_to_traceql(in, &b, err, sizeof(err)) != 0)
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
        cmocka_unit_test(test_logfmt_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
