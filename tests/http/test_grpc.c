/* tests/http/test_grpc.c - the gRPC pieces of the HTTP/2 server: which requests
 * are gRPC calls, reading the one request message (cut, extra, compressed or
 * too large ones refused with their status), framing answer messages, the
 * status trailers with a percent-encoded message, grpc-timeout, and the gRPC
 * code of an HTTP status. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http/http.h"

static http_request call(http_header *h, size_t nh, const uint8_t *body, size_t len)
{
    http_request r = {0};
    r.method = "POST";
    r.path = "/tempopb.StreamingQuerier/Search";
    r.query = "";
    r.headers = h;
    r.nheaders = nh;
    r.body = body;
    r.body_len = len;
    r.http2 = 1;
    return r;
}

static void test_is(void **state)
{
    (void)state;
    http_header h[] = {{"content-type", "application/grpc"}};
    http_request r = call(h, 1, NULL, 0);
    assert_true(http_grpc_is(&r));
    h[0].value = "application/grpc+proto";
    assert_true(http_grpc_is(&r));
    h[0].value = "application/grpcweb";
    assert_false(http_grpc_is(&r));
    h[0].value = "application/grpc";
    r.http2 = 0; /* gRPC is HTTP/2 only */
    assert_false(http_grpc_is(&r));
    r.http2 = 1;
    r.method = "GET";
    assert_false(http_grpc_is(&r));
}

static void test_message(void **state)
{
    (void)state;
    http_header h[] = {{"content-type", "application/grpc"}};
    char err[128];
    const uint8_t *msg;
    size_t len;
    const uint8_t ok[] = {0, 0, 0, 0, 2, 0x08, 0x01};
    http_request r = call(h, 1, ok, sizeof(ok));
    assert_int_equal(http_grpc_message(&r, &msg, &len, err, sizeof(err)), HTTP_GRPC_OK);
    assert_int_equal(len, 2);
    assert_ptr_equal(msg, ok + 5);
    const uint8_t empty[] = {0, 0, 0, 0, 0};
    r = call(h, 1, empty, sizeof(empty));
    assert_int_equal(http_grpc_message(&r, &msg, &len, err, sizeof(err)), HTTP_GRPC_OK);
    assert_int_equal(len, 0);
    assert_null(msg);
    r = call(h, 1, ok, 4); /* cut inside the prefix */
    assert_int_equal(http_grpc_message(&r, &msg, &len, err, sizeof(err)),
                     HTTP_GRPC_INVALID_ARGUMENT);
    r = call(h, 1, ok, 6); /* cut inside the message */
    assert_int_equal(http_grpc_message(&r, &msg, &len, err, sizeof(err)),
                     HTTP_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "does not match"));
    const uint8_t two[] = {0, 0, 0, 0, 1, 0x08, 0, 0, 0, 0, 0};
    r = call(h, 1, two, sizeof(two)); /* a second message on a server-streaming call */
    assert_int_equal(http_grpc_message(&r, &msg, &len, err, sizeof(err)),
                     HTTP_GRPC_INVALID_ARGUMENT);
    const uint8_t gz[] = {1, 0, 0, 0, 0};
    r = call(h, 1, gz, sizeof(gz));
    assert_int_equal(http_grpc_message(&r, &msg, &len, err, sizeof(err)), HTTP_GRPC_UNIMPLEMENTED);
    r = call(h, 1, NULL, 0);
    r.body_too_large = 1;
    assert_int_equal(http_grpc_message(&r, &msg, &len, err, sizeof(err)),
                     HTTP_GRPC_RESOURCE_EXHAUSTED);
}

static void test_frame_finish(void **state)
{
    (void)state;
    http_response resp;
    http_response_init(&resp);
    http_grpc_frame(&resp.body, "ab", 2);
    http_grpc_frame(&resp.body, NULL, 0);
    assert_int_equal(resp.body.len, 12);
    assert_memory_equal(resp.body.data, "\0\0\0\0\2ab\0\0\0\0\0", 12);
    http_grpc_finish(&resp, HTTP_GRPC_INVALID_ARGUMENT, "bad q: 100% \"wrong\"\n\xc3\xa9");
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "application/grpc");
    assert_int_equal(resp.ntrailers, 2);
    assert_string_equal(resp.trailer_name[0], "grpc-status");
    assert_string_equal(resp.trailer_value[0], "3");
    assert_string_equal(resp.trailer_name[1], "grpc-message");
    assert_string_equal(resp.trailer_value[1], "bad q: 100%25 \"wrong\"%0A%C3%A9");
    ottr_buf_free(&resp.body);
    /* A long message is cut at a whole escape. */
    char longmsg[600];
    memset(longmsg, '\n', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    http_response_init(&resp);
    http_grpc_finish(&resp, HTTP_GRPC_INTERNAL, longmsg);
    size_t n = strlen(resp.trailer_value[1]);
    assert_true(n > 0 && n < sizeof(resp.trailer_value[1]) && n % 3 == 0);
}

static void test_timeout(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        int ok;
        uint64_t ns;
    } cases[] = {
        {"10S", 1, 10000000000ull},
        {"250m", 1, 250000000ull},
        {"3M", 1, 180000000000ull},
        {"1H", 1, 3600000000000ull},
        {"7u", 1, 7000ull},
        {"99n", 1, 99ull},
        {"", 0, 0},
        {"S", 0, 0},
        {"10", 0, 0},
        {"10x", 0, 0},
        {"123456789S", 0, 0},
        {"10SS", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        http_header h[] = {{"grpc-timeout", cases[i].v}};
        http_request r = call(h, 1, NULL, 0);
        uint64_t ns = 0;
        assert_int_equal(http_grpc_timeout(&r, &ns), cases[i].ok);
        if (cases[i].ok)
            assert_int_equal(ns, cases[i].ns);
    }
    http_request r = call(NULL, 0, NULL, 0);
    uint64_t ns;
    assert_int_equal(http_grpc_timeout(&r, &ns), 0);
}

static void test_codes(void **state)
{
    (void)state;
    assert_int_equal(http_grpc_code_of_http(401), HTTP_GRPC_UNAUTHENTICATED);
    assert_int_equal(http_grpc_code_of_http(403), 7);
    assert_int_equal(http_grpc_code_of_http(429), HTTP_GRPC_RESOURCE_EXHAUSTED);
    assert_int_equal(http_grpc_code_of_http(503), HTTP_GRPC_UNAVAILABLE);
    assert_int_equal(http_grpc_code_of_http(400), HTTP_GRPC_INVALID_ARGUMENT);
    assert_int_equal(http_grpc_code_of_http(500), HTTP_GRPC_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is),           cmocka_unit_test(test_message),
        cmocka_unit_test(test_frame_finish), cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
