/* tests/otlp/test_names.c - span kind and status code names from the protobuf-c
 * descriptors: the full names of OTLP/JSON, the short words of TraceQL, Tempo,
 * Jaeger and the ottr client, and parsing them back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "otlp/otlp.h"

static int kind_parse(const char *s, unsigned how)
{
    return otlp_span_kind_parse(s, strlen(s), how);
}

static int code_parse(const char *s, unsigned how)
{
    return otlp_status_code_parse(s, strlen(s), how);
}

static void test_span_kinds(void **state)
{
    (void)state;
    static const char *const full[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                       "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                       "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    static const char *const word[] = {"unspecified", "internal", "server",
                                       "client",      "producer", "consumer"};
    for (int k = 0; k < 6; k++) {
        assert_string_equal(otlp_span_kind_name(k), full[k]);
        assert_string_equal(otlp_span_kind_word(k), word[k]);
        assert_int_equal(kind_parse(full[k], OTLP_NAME_FULL), k);
        assert_int_equal(kind_parse(word[k], OTLP_NAME_WORD), k);
    }
    assert_int_equal(OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER, 2);
    assert_null(otlp_span_kind_name(6));
    assert_null(otlp_span_kind_word(-1));
    assert_null(otlp_span_kind_word(1000));

    /* only the forms asked for */
    assert_int_equal(kind_parse("server", OTLP_NAME_FULL), -1);
    assert_int_equal(kind_parse("SPAN_KIND_SERVER", OTLP_NAME_WORD), -1);
    assert_int_equal(kind_parse("Server", OTLP_NAME_WORD), -1);
    assert_int_equal(kind_parse("Server", OTLP_NAME_WORD | OTLP_NAME_NOCASE), 2);
    assert_int_equal(kind_parse("span_kind_client", OTLP_NAME_FULL | OTLP_NAME_NOCASE), 3);
    assert_int_equal(kind_parse("SERVER", OTLP_NAME_FULL | OTLP_NAME_WORD | OTLP_NAME_NOCASE), 2);
    assert_int_equal(kind_parse("serv", OTLP_NAME_WORD | OTLP_NAME_NOCASE), -1);
    assert_int_equal(kind_parse("", OTLP_NAME_FULL | OTLP_NAME_WORD), -1);
    assert_int_equal(kind_parse("2", OTLP_NAME_FULL | OTLP_NAME_WORD), -1);
    /* |n| bytes, not NUL-terminated */
    assert_int_equal(otlp_span_kind_parse("clientele", 6, OTLP_NAME_WORD), 3);
}

static void test_status_codes(void **state)
{
    (void)state;
    static const char *const full[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};
    static const char *const word[] = {"unset", "ok", "error"};
    for (int c = 0; c < 3; c++) {
        assert_string_equal(otlp_status_code_name(c), full[c]);
        assert_string_equal(otlp_status_code_word(c), word[c]);
        assert_int_equal(code_parse(full[c], OTLP_NAME_FULL), c);
        assert_int_equal(code_parse(word[c], OTLP_NAME_WORD), c);
    }
    assert_null(otlp_status_code_name(3));
    assert_null(otlp_status_code_word(-1));
    assert_int_equal(code_parse("ERROR", OTLP_NAME_WORD), -1);
    assert_int_equal(code_parse("ERROR", OTLP_NAME_WORD | OTLP_NAME_NOCASE), 2);
    assert_int_equal(code_parse("server", OTLP_NAME_WORD), -1);
}

static void test_span_status_code(void **state)
{
    (void)state;
    otlp_span sp;
    opentelemetry__proto__trace__v1__span__init(&sp);
    assert_int_equal(otlp_span_status_code(&sp), 0);
    otlp_status st;
    opentelemetry__proto__trace__v1__status__init(&st);
    st.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    sp.status = &st;
    assert_int_equal(otlp_span_status_code(&sp), 2);
    assert_string_equal(otlp_status_code_word(otlp_span_status_code(&sp)), "error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_kinds),
        cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_span_status_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
