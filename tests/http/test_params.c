/* tests/http/test_params.c - the request helpers every route uses: integers,
 * percent-decoding, path segments and the typed query
 * parameter readers (strings, integers, limits, durations, times, bracketed
 * keys) with their refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/http.h"

static http_request req_of(const char *path, const char *query)
{
    http_request r = {0};
    r.method = "GET";
    r.path = path;
    r.query = query;
    return r;
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

static void test_param_str(void **state)
{
    (void)state;
    http_request r = req_of("/", "a=x%20y&b=&a=two&long=0123456789");
    char out[8];
    http_param_err e;
    assert_int_equal(http_param_str(&r, "a", 0, out, sizeof(out), &e), 1);
    assert_string_equal(out, "x y");
    assert_int_equal(http_param_str(&r, "a", 1, out, sizeof(out), &e), 1);
    assert_string_equal(out, "two");
    assert_int_equal(http_param_str(&r, "a", 2, out, sizeof(out), &e), 0);
    assert_int_equal(http_param_str(&r, "b", 0, out, sizeof(out), &e), 1);
    assert_string_equal(out, "");
    assert_int_equal(http_param_str(&r, "none", 0, out, sizeof(out), &e), 0);
    assert_int_equal(http_param_str(&r, "long", 0, out, sizeof(out), &e), -1);
    assert_string_equal(e.name, "long");
    assert_string_equal(e.value, "");
    assert_string_equal(e.problem, "longer than 6 bytes");
    assert_int_equal(http_param_str(&r, "long", 0, out, sizeof(out), NULL), -1);
}

static void test_param_u64_limit_duration(void **state)
{
    (void)state;
    http_request r = req_of("/", "n=42&empty=&neg=-1&big=5000&d=1.5s&bad=long&ms=100ms");
    http_param_err e;
    uint64_t v = 7;
    assert_int_equal(http_param_u64(&r, "n", &v, &e), 1);
    assert_int_equal(v, 42);
    v = 7;
    assert_int_equal(http_param_u64(&r, "empty", &v, &e), 0);
    assert_int_equal(http_param_u64(&r, "absent", &v, &e), 0);
    assert_int_equal(v, 7);
    assert_int_equal(http_param_u64(&r, "neg", &v, &e), -1);
    assert_string_equal(e.name, "neg");
    assert_string_equal(e.value, "-1");
    assert_string_equal(e.problem, "want a non-negative integer");

    size_t lim = 0;
    assert_int_equal(http_param_limit(&r, "big", 1000, &lim, &e), 1);
    assert_int_equal(lim, 1000);
    assert_int_equal(http_param_limit(&r, "n", 1000, &lim, &e), 1);
    assert_int_equal(lim, 42);

    uint64_t ns = 0;
    assert_int_equal(http_param_duration(&r, "d", &ns, &e), 1);
    assert_int_equal(ns, 1500000000ull);
    assert_int_equal(http_param_duration(&r, "ms", &ns, &e), 1);
    assert_int_equal(ns, 100000000ull);
    assert_int_equal(http_param_duration(&r, "bad", &ns, &e), -1);
    assert_string_equal(e.value, "long");
    assert_non_null(strstr(e.problem, "want a duration"));
}

static void test_param_time(void **state)
{
    (void)state;
    http_request r = req_of("/", "s=1700000000&ms=1700000000123&us=1700000000123456"
                                 "&rfc=2023-11-14T22:13:20Z&zero=0&end=9999999999"
                                 "&max=18446744072&over=18446744073&huge=18446744073709551615"
                                 "&huger=99999999999999999999999&start=9999999999999"
                                 "&usmax=18446744072999999&usover=18446744073000000"
                                 "&rfcmax=2554-07-21T23:34:32.999999999Z"
                                 "&rfcover=2554-07-21T23:34:33Z&rfcold=1969-12-31T23:59:59Z"
                                 "&bad=12x&rfc2200=2200-01-01T00:00:00Z&s2200=7258118400"
                                 "&us2200=7258118400000000&ms2200=7258118400000");
    http_param_err e;
    uint64_t ns = 1;
    assert_int_equal(http_param_time(&r, "s", HTTP_TIME_SECONDS, &ns, &e), 1);
    assert_true(ns == 1700000000ull * 1000000000ull);
    assert_int_equal(http_param_time(&r, "ms", HTTP_TIME_MILLIS, &ns, &e), 1);
    assert_true(ns == 1700000000123000000ull);
    assert_int_equal(http_param_time(&r, "us", HTTP_TIME_MICROS, &ns, &e), 1);
    assert_true(ns == 1700000000123456000ull);
    assert_int_equal(http_param_time(&r, "rfc", HTTP_TIME_RFC3339, &ns, &e), 1);
    assert_true(ns == 1700000000ull * 1000000000ull);
    assert_int_equal(http_param_time(&r, "zero", HTTP_TIME_SECONDS, &ns, &e), 1);
    assert_int_equal(ns, 0);
    assert_int_equal(http_param_time(&r, "absent", HTTP_TIME_SECONDS, &ns, &e), 0);

    /* Past 32-bit seconds (2106): read in full, never truncated. */
    assert_int_equal(http_param_time(&r, "end", HTTP_TIME_SECONDS, &ns, &e), 1);
    assert_true(ns == 9999999999ull * 1000000000ull);
    /* 2200-01-01 is the same instant in every unit. */
    static const struct {
        const char *name;
        http_time_unit unit;
    } y2200[] = {{"s2200", HTTP_TIME_SECONDS},
                 {"ms2200", HTTP_TIME_MILLIS},
                 {"us2200", HTTP_TIME_MICROS},
                 {"rfc2200", HTTP_TIME_RFC3339}};
    for (size_t i = 0; i < 4; i++) {
        ns = 1;
        assert_int_equal(http_param_time(&r, y2200[i].name, y2200[i].unit, &ns, &e), 1);
        assert_true(ns == 7258118400ull * 1000000000ull);
    }
    /* The last accepted second, in every unit, and its whole second still fit. */
    assert_int_equal(http_param_time(&r, "max", HTTP_TIME_SECONDS, &ns, &e), 1);
    assert_true(ns == HTTP_TIME_MAX_SEC * 1000000000ull);
    assert_true(ns + 999999999ull == HTTP_TIME_MAX_NS);
    assert_int_equal(http_param_time(&r, "usmax", HTTP_TIME_MICROS, &ns, &e), 1);
    assert_true(ns == HTTP_TIME_MAX_NS - 999);
    assert_int_equal(http_param_time(&r, "rfcmax", HTTP_TIME_RFC3339, &ns, &e), 1);
    assert_true(ns == HTTP_TIME_MAX_NS);
    /* Later (or, in RFC 3339, before 1970): one answer, "out of range". */
    static const struct {
        const char *name;
        http_time_unit unit;
    } over[] = {{"over", HTTP_TIME_SECONDS},    {"huge", HTTP_TIME_SECONDS},
                {"huger", HTTP_TIME_SECONDS},   {"start", HTTP_TIME_SECONDS},
                {"huge", HTTP_TIME_MICROS},     {"usover", HTTP_TIME_MICROS},
                {"rfcover", HTTP_TIME_RFC3339}, {"rfcold", HTTP_TIME_RFC3339}};
    for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        ns = 1;
        assert_int_equal(http_param_time(&r, over[i].name, over[i].unit, &ns, &e), -1);
        assert_int_equal(ns, 1);
        assert_string_equal(e.name, over[i].name);
        assert_string_equal(e.problem, "out of range");
    }

    assert_int_equal(http_param_time(&r, "bad", HTTP_TIME_SECONDS, &ns, &e), -1);
    assert_string_equal(e.value, "12x");
    assert_string_equal(e.problem, "want a non-negative integer");
    assert_int_equal(http_param_time(&r, "s", HTTP_TIME_RFC3339, &ns, &e), -1);
    assert_non_null(strstr(e.problem, "RFC 3339"));
}

static void test_param_bracket(void **state)
{
    (void)state;
    http_request r = req_of("/", "query.attributes%5Bhttp.method%5D=GET&x=1"
                                 "&query.attributes[k+2]=a+b%21&query.attributes=%7B%7D"
                                 "&query.attributes%5Bopen=v");
    char key[16], val[16];
    http_param_err e;
    assert_int_equal(
        http_param_bracket(&r, "query.attributes", 0, key, sizeof(key), val, sizeof(val), &e), 1);
    assert_string_equal(key, "http.method");
    assert_string_equal(val, "GET");
    assert_int_equal(
        http_param_bracket(&r, "query.attributes", 1, key, sizeof(key), val, sizeof(val), &e), 1);
    assert_string_equal(key, "k 2");
    assert_string_equal(val, "a b!");
    assert_int_equal(
        http_param_bracket(&r, "query.attributes", 2, key, sizeof(key), val, sizeof(val), &e), -1);
    assert_string_equal(e.name, "query.attributes");
    assert_int_equal(http_param_bracket(&r, "other", 0, key, sizeof(key), val, sizeof(val), &e), 0);
    assert_int_equal(http_param_bracket(&r, "query.attributes", 0, key, 4, val, sizeof(val), &e),
                     -1);
    assert_string_equal(e.problem, "want a shorter key");
    assert_int_equal(http_param_bracket(&r, "query.attributes", 1, key, sizeof(key), val, 3, &e),
                     -1);
    assert_string_equal(e.problem, "want a shorter value");

    http_request only = req_of("/", "query.attributes%5Ba%5D=1");
    assert_int_equal(
        http_param_bracket(&only, "query.attributes", 1, key, sizeof(key), val, sizeof(val), &e),
        0);
}

static void test_path_segment(void **state)
{
    (void)state;
    char seg[16];
    http_request r = req_of("/api/traces/ab%2Fcd", "");
    assert_int_equal(http_path_segment(&r, "/api/traces/", "", seg, sizeof(seg)), 1);
    assert_string_equal(seg, "ab/cd");
    assert_int_equal(http_path_segment(&r, "/api/v2/traces/", "", seg, sizeof(seg)), 0);
    r = req_of("/api/search/tag/service.name/values", "");
    assert_int_equal(http_path_segment(&r, "/api/search/tag/", "/values", seg, sizeof(seg)), 1);
    assert_string_equal(seg, "service.name");
    r = req_of("/api/search/tag/a/b/values", "");
    assert_int_equal(http_path_segment(&r, "/api/search/tag/", "/values", seg, sizeof(seg)), 0);
    r = req_of("/api/search/tag//values", "");
    assert_int_equal(http_path_segment(&r, "/api/search/tag/", "/values", seg, sizeof(seg)), 0);
    r = req_of("/api/traces/a%zz", "");
    assert_int_equal(http_path_segment(&r, "/api/traces/", "", seg, sizeof(seg)), -1);
    r = req_of("/api/traces/0123456789abcdef0", "");
    assert_int_equal(http_path_segment(&r, "/api/traces/", "", seg, sizeof(seg)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_and_decode),
        cmocka_unit_test(test_param_str),
        cmocka_unit_test(test_param_u64_limit_duration),
        cmocka_unit_test(test_param_time),
        cmocka_unit_test(test_param_bracket),
        cmocka_unit_test(test_path_segment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
