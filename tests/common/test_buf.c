/* tests/common/test_buf.c - ottr_buf and its JSON string escaper: short and
 * \u00XX escapes, quotes and backslashes, UTF-8 kept when valid and replaced by
 * U+FFFD byte by byte when not, explicit lengths, and the oom flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

#define FFFD "\xef\xbf\xbd"

/* Escapes |n| bytes of |in| and compares with |want| (quotes included). */
static void check_n(const char *in, size_t n, const char *want)
{
    ottr_buf b = {0};
    ottr_buf_json_str(&b, in, n);
    assert_false(b.oom);
    assert_non_null(b.data);
    assert_int_equal(b.len, strlen(want));
    assert_string_equal(b.data, want);
    ottr_buf_free(&b);
}

static void check(const char *in, const char *want)
{
    check_n(in, strlen(in), want);
}

static void test_plain_and_empty(void **state)
{
    (void)state;
    check("", "\"\"");
    check("hello world", "\"hello world\"");
    check("a/b<c>'d'", "\"a/b<c>'d'\"");
    check_n("ignored", 0, "\"\"");
    check_n("abcdef", 3, "\"abc\"");
}

static void test_quotes_and_backslashes(void **state)
{
    (void)state;
    check("\"", "\"\\\"\"");
    check("\\", "\"\\\\\"");
    check("say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"");
}

static void test_control_characters(void **state)
{
    (void)state;
    check("\n", "\"\\n\"");
    check("\t", "\"\\t\"");
    check("\r", "\"\\r\"");
    check("\b", "\"\\u0008\"");
    check("\f", "\"\\u000c\"");
    check("\x01", "\"\\u0001\"");
    check("\x1b[0m", "\"\\u001b[0m\"");
    check("\x1f", "\"\\u001f\"");
    check(" ", "\" \"");
    /* every control character, one by one */
    for (int c = 1; c < 0x20; c++) {
        char in[2] = {(char)c, 0};
        ottr_buf b = {0};
        ottr_buf_json_str(&b, in, 1);
        assert_true(b.len == 4 || b.len == 8);
        assert_int_equal(b.data[1], '\\');
        ottr_buf_free(&b);
    }
    /* DEL is not a control character in JSON: kept as it is */
    check("\x7f", "\"\x7f\"");
}

static void test_embedded_nul(void **state)
{
    (void)state;
    check_n("a\0b", 3, "\"a\\u0000b\"");
    check_n("\0", 1, "\"\\u0000\"");
}

static void test_valid_utf8_kept(void **state)
{
    (void)state;
    check("\xc2\x80", "\"\xc2\x80\"");                 /* U+0080, smallest 2-byte */
    check("caf\xc3\xa9", "\"caf\xc3\xa9\"");           /* U+00E9 */
    check("\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"");     /* U+20AC, 3 bytes */
    check("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");         /* U+FFFF */
    check("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* U+1F600, 4 bytes */
    check("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF, the largest */
    check("\xe6\x97\xa5\xe6\x9c\xac\"", "\"\xe6\x97\xa5\xe6\x9c\xac\\\"\"");
}

static void test_invalid_utf8_replaced(void **state)
{
    (void)state;
    check("\x80", "\"" FFFD "\""); /* lone continuation */
    check("a\xbf"
          "b",
          "\"a" FFFD "b\"");
    check("\xe2\x82", "\"" FFFD FFFD "\""); /* truncated 3-byte */
    check("\xe2\x82x", "\"" FFFD FFFD "x\"");
    check("\xf0\x9f\x98", "\"" FFFD FFFD FFFD "\"");          /* truncated 4-byte */
    check_n("\xc3\xa9", 1, "\"" FFFD "\"");                   /* cut by the length */
    check("\xc0\xaf", "\"" FFFD FFFD "\"");                   /* overlong '/' */
    check("\xc1\xbf", "\"" FFFD FFFD "\"");                   /* overlong U+007F */
    check("\xe0\x80\xaf", "\"" FFFD FFFD FFFD "\"");          /* overlong 3-byte */
    check("\xf0\x8f\xbf\xbf", "\"" FFFD FFFD FFFD FFFD "\""); /* overlong 4-byte */
    check("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");          /* U+D800 */
    check("\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\"");          /* U+DFFF */
    check("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""); /* U+110000 */
    check("\xf7\xbf\xbf\xbf", "\"" FFFD FFFD FFFD FFFD "\"");
    check("\xf8\x88\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD FFFD "\""); /* 5-byte form */
    check("\xfe\xff", "\"" FFFD FFFD "\"");
    check("\xc3(", "\"" FFFD "(\""); /* bad continuation */
    check("ok\xe2\x82\xac\xff", "\"ok\xe2\x82\xac" FFFD "\"");
}

static void test_appends(void **state)
{
    (void)state;
    ottr_buf b = {0};
    ottr_buf_puts(&b, "{\"k\":");
    ottr_buf_json_str(&b, "v\n", 2);
    ottr_buf_putc(&b, '}');
    assert_string_equal(b.data, "{\"k\":\"v\\n\"}");
    ottr_buf_free(&b);

    /* long input, escapes growing the buffer well past the reserve */
    size_t n = 10000;
    char *in = malloc(n);
    assert_non_null(in);
    memset(in, '\x01', n);
    ottr_buf_json_str(&b, in, n);
    assert_false(b.oom);
    assert_int_equal(b.len, 2 + 6 * n);
    assert_memory_equal(b.data, "\"\\u0001\\u0001", 13);
    assert_int_equal(b.data[b.len - 1], '"');
    assert_int_equal(b.data[b.len], '\0');
    free(in);
    ottr_buf_free(&b);
}

static void test_oom_flag(void **state)
{
    (void)state;
    ottr_buf b = {0};
    ottr_buf_puts(&b, "x");
    b.oom = 1; /* as after a failed allocation */
    ottr_buf_json_str(&b, "abc\n", 4);
    assert_true(b.oom);
    assert_int_equal(b.len, 1);
    assert_string_equal(b.data, "x");
    ottr_buf_reset(&b);
    assert_false(b.oom);
    ottr_buf_json_str(&b, "abc", 3);
    assert_string_equal(b.data, "\"abc\"");
    ottr_buf_free(&b);

    /* a size that would wrap around fails before reading and sets the flag */
    ottr_buf c = {0};
    ottr_buf_puts(&c, "y");
    ottr_buf_json_str(&c, "", SIZE_MAX - 1);
    assert_true(c.oom);
    assert_int_equal(c.len, 1);
    ottr_buf_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_empty),
        cmocka_unit_test(test_quotes_and_backslashes),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_valid_utf8_kept),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_oom_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
