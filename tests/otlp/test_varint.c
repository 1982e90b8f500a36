/* tests/otlp/test_varint.c - the protobuf varint codec every wire reader and
 * writer uses (otlp_varint_len/put/get): the length boundaries, round trips, and
 * the malformed inputs a reader must refuse (truncated, too long, over 64 bits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "otlp/otlp.h"

static void expect_round_trip(uint64_t v, size_t len, const uint8_t *bytes)
{
    uint8_t buf[OTLP_VARINT_MAX + 1];
    memset(buf, 0xee, sizeof(buf));
    assert_int_equal(otlp_varint_len(v), len);
    uint8_t *end = otlp_varint_put(buf, v);
    assert_int_equal((size_t)(end - buf), len);
    assert_int_equal(buf[len], 0xee); /* nothing written past it */
    if (bytes)
        assert_memory_equal(buf, bytes, len);
    uint64_t got = ~v;
    assert_int_equal(otlp_varint_get(buf, buf + len, &got), len);
    assert_true(got == v);
    /* trailing bytes are not read */
    assert_int_equal(otlp_varint_get(buf, buf + sizeof(buf), &got), len);
    assert_true(got == v);
    /* one byte short is truncated */
    assert_int_equal(otlp_varint_get(buf, buf + len - 1, &got), 0);
}

static void test_boundaries(void **state)
{
    (void)state;
    expect_round_trip(0, 1, (const uint8_t[]){0x00});
    expect_round_trip(1, 1, (const uint8_t[]){0x01});
    expect_round_trip(127, 1, (const uint8_t[]){0x7f});
    expect_round_trip(128, 2, (const uint8_t[]){0x80, 0x01});
    expect_round_trip(300, 2, (const uint8_t[]){0xac, 0x02});
    expect_round_trip(16383, 2, (const uint8_t[]){0xff, 0x7f});
    expect_round_trip(16384, 3, (const uint8_t[]){0x80, 0x80, 0x01});
    expect_round_trip(UINT32_MAX, 5, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x0f});
    expect_round_trip((uint64_t)1 << 32, 5, (const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x10});
    expect_round_trip(((uint64_t)1 << 63) - 1, 9, NULL);
    expect_round_trip((uint64_t)1 << 63, 10, NULL);
    expect_round_trip(
        UINT64_MAX, 10,
        (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
    /* every length boundary */
    for (unsigned bits = 7; bits < 64; bits += 7) {
        uint64_t v = (uint64_t)1 << bits;
        expect_round_trip(v - 1, bits / 7, NULL);
        expect_round_trip(v, bits / 7 + 1, NULL);
    }
}

static void test_malformed(void **state)
{
    (void)state;
    uint64_t v = 42;
    /* nothing to read */
    static const uint8_t none[1] = {0};
    assert_int_equal(otlp_varint_get(none, none, &v), 0);
    /* continuation bits to the end */
    static const uint8_t cont[] = {0x80, 0x80, 0x80};
    assert_int_equal(otlp_varint_get(cont, cont + sizeof(cont), &v), 0);
    /* 11 bytes: longer than any 64-bit value */
    static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                     0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(otlp_varint_get(eleven, eleven + sizeof(eleven), &v), 0);
    /* 10 bytes, but the last carries bits past 64 */
    static const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(otlp_varint_get(over, over + sizeof(over), &v), 0);
    assert_int_equal(v, 42); /* left alone on failure */
    /* an overlong but in-range encoding is still a varint (protobuf allows it) */
    static const uint8_t padded[] = {0x81, 0x80, 0x00};
    assert_int_equal(otlp_varint_get(padded, padded + sizeof(padded), &v), 3);
    assert_int_equal(v, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
