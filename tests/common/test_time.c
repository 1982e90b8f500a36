/* tests/common/test_time.c - RFC 3339 parsing shared by the HTTP routes and the
 * CLI: offsets, fractions, bare dates where allowed, and refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/common.h"

static void test_rfc3339(void **state)
{
    (void)state;
    uint64_t ns;
    assert_int_equal(ottr_parse_rfc3339("1970-01-01T00:00:00Z", false, &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(ottr_parse_rfc3339("2023-11-14T22:13:20Z", false, &ns), 0);
    assert_int_equal(ns, 1700000000ull * 1000000000ull);
    assert_int_equal(ottr_parse_rfc3339("2023-11-14T22:13:20.5Z", false, &ns), 0);
    assert_int_equal(ns, 1700000000500000000ull);
    assert_int_equal(ottr_parse_rfc3339("2023-11-14T22:13:20.123456789123Z", false, &ns), 0);
    assert_int_equal(ns, 1700000000123456789ull);
    assert_int_equal(ottr_parse_rfc3339("2023-11-15T00:13:20+02:00", false, &ns), 0);
    assert_int_equal(ns, 1700000000ull * 1000000000ull);
    assert_int_equal(ottr_parse_rfc3339("2023-11-14T21:13:20-01:00", false, &ns), 0);
    assert_int_equal(ns, 1700000000ull * 1000000000ull);
    assert_int_equal(ottr_parse_rfc3339("2024-02-29T00:00:00Z", false, &ns), 0);
    assert_int_equal(ns, 1709164800ull * 1000000000ull);
    assert_int_equal(ottr_parse_rfc3339("2023-11-14 22:13:20Z", false, &ns), 0);
    assert_int_equal(ottr_parse_rfc3339("2023-11-14T22:13:20", false, &ns), -1);
    assert_int_equal(ottr_parse_rfc3339("2023-13-14T22:13:20Z", false, &ns), -1);
    assert_int_equal(ottr_parse_rfc3339("2023-11-14T22:13:20.Z", false, &ns), -1);
    assert_int_equal(ottr_parse_rfc3339("1700000000", false, &ns), -1);
    assert_int_equal(ottr_parse_rfc3339("1969-12-31T23:59:59Z", false, &ns), -2);
    assert_int_equal(ottr_parse_rfc3339("2023-11-14T22:13:20Zjunk", false, &ns), -1);
    /* A bare date only where asked for: midnight UTC. */
    assert_int_equal(ottr_parse_rfc3339("2024-05-01", false, &ns), -1);
    assert_int_equal(ottr_parse_rfc3339("2024-05-01", true, &ns), 0);
    assert_int_equal(ns, 1714521600ull * 1000000000ull);
    assert_int_equal(ottr_parse_rfc3339("2024-05-32", true, &ns), -1);
    assert_int_equal(ottr_parse_rfc3339("1969-12-31", true, &ns), -2);
    assert_int_equal(ottr_parse_rfc3339("2200-01-01T00:00:00Z", false, &ns), 0);
    assert_true(ns == 7258118400ull * 1000000000ull);
    assert_int_equal(ottr_parse_rfc3339("2554-07-21T23:34:33Z", false, &ns), -2);
    assert_int_equal(ottr_parse_rfc3339("9999-12-31", true, &ns), -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
