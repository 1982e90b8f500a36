/* tests/common/test_hex.c - hex digits, hex encoding and decoding, base64 out
 * (standard, padded) and in (standard or URL-safe, padding optional). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

static void test_hex(void **state)
{
    (void)state;
    assert_int_equal(ottr_hex_digit('0'), 0);
    assert_int_equal(ottr_hex_digit('9'), 9);
    assert_int_equal(ottr_hex_digit('a'), 10);
    assert_int_equal(ottr_hex_digit('F'), 15);
    assert_int_equal(ottr_hex_digit('g'), -1);
    assert_int_equal(ottr_hex_digit(0), -1);
    assert_int_equal(ottr_hex_digit(0xc3), -1);

    const uint8_t in[] = {0x00, 0x1f, 0xab, 0xff};
    char out[9];
    ottr_hex_encode(in, sizeof(in), out);
    assert_string_equal(out, "001fabff");
    uint8_t back[4];
    assert_int_equal(ottr_hex_decode("001FabfF", 8, back, sizeof(back)), 4);
    assert_memory_equal(back, in, 4);
    assert_int_equal(ottr_hex_decode("001", 3, back, sizeof(back)), -1);
    assert_int_equal(ottr_hex_decode("0x", 2, back, sizeof(back)), -1);
    assert_int_equal(ottr_hex_decode("0011223344", 10, back, sizeof(back)), -1);
    assert_int_equal(ottr_hex_decode("", 0, back, sizeof(back)), 0);
}

static void test_base64_encode(void **state)
{
    (void)state;
    /* RFC 4648 section 10 */
    static const char *const want[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                       "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t n = 0; n <= 6; n++) {
        ottr_buf b = {0};
        ottr_base64_encode(&b, (const uint8_t *)"foobar", n);
        assert_int_equal(b.len, strlen(want[n]));
        if (n > 0)
            assert_string_equal(b.data, want[n]);
        ottr_buf_free(&b);
    }
    const uint8_t hi[] = {0xfb, 0xff, 0xfe};
    ottr_buf b = {0};
    ottr_buf_puts(&b, "x");
    ottr_base64_encode(&b, hi, sizeof(hi));
    assert_string_equal(b.data, "x+//+");
    ottr_buf_free(&b);
}

static void test_base64_decode(void **state)
{
    (void)state;
    uint8_t out[16];
    assert_int_equal(ottr_base64_decode("Zm9vYmFy", 8, out, sizeof(out)), 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(ottr_base64_decode("Zm9vYg==", 8, out, sizeof(out)), 4);
    assert_memory_equal(out, "foob", 4);
    assert_int_equal(ottr_base64_decode("Zm9vYg", 6, out, sizeof(out)), 4); /* unpadded */
    assert_int_equal(ottr_base64_decode("Zm9vYmE=", 8, out, sizeof(out)), 5);
    assert_int_equal(ottr_base64_decode("", 0, out, sizeof(out)), 0);
    /* both alphabets */
    assert_int_equal(ottr_base64_decode("-__-", 4, out, sizeof(out)), 3);
    assert_memory_equal(out, "\xfb\xff\xfe", 3);
    assert_int_equal(ottr_base64_decode("+//+", 4, out, sizeof(out)), 3);
    assert_memory_equal(out, "\xfb\xff\xfe", 3);
    /* malformed */
    assert_int_equal(ottr_base64_decode("Zm9vY", 5, out, sizeof(out)), -1);   /* 1 digit left */
    assert_int_equal(ottr_base64_decode("Zm9vYg=", 7, out, sizeof(out)), -1); /* short padding */
    assert_int_equal(ottr_base64_decode("Zg===", 5, out, sizeof(out)), -1);   /* too much */
    assert_int_equal(ottr_base64_decode("Zm 9v", 5, out, sizeof(out)), -1);   /* not a digit */
    assert_int_equal(ottr_base64_decode("Zm=9", 4, out, sizeof(out)), -1);    /* '=' inside */
    assert_int_equal(ottr_base64_decode("Zm9vYmFy", 8, out, 5), -1);          /* no room */
    assert_int_equal(ottr_base64_decode("Zm9vYmFy", 8, out, 6), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64_encode),
        cmocka_unit_test(test_base64_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
