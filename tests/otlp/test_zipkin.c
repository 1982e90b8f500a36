/* tests/otlp/test_zipkin.c - Zipkin span lists (v2 JSON and protobuf, v1 JSON)
 * to an OTLP request: kinds, 64- and 128-bit IDs, shared spans, endpoints, the
 * error tag, annotations, tags on the span or the resource, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otlp/otlp.h"

typedef struct fixture {
    ottr_arena a;
    otlp_request *req;
    char err[256];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    ottr_arena_init(&f->a, 4096, 1 << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ottr_arena_free(&f->a);
    free(f);
    return 0;
}

static ottr_status decode(fixture *f, otlp_zipkin_encoding enc, const char *json)
{
    return otlp_zipkin_decode_request(&f->a, enc, (const uint8_t *)json, strlen(json), 42000,
                                      &f->req, f->err, sizeof(f->err));
}

static ottr_status decode_json(fixture *f, const char *json)
{
    return decode(f, OTLP_ZIPKIN_JSON, json);
}

static const otlp_span *span_at(const otlp_request *r, size_t rs, size_t ss, size_t i)
{
    assert_true(rs < r->n_resource_spans);
    assert_true(ss < r->resource_spans[rs]->n_scope_spans);
    assert_true(i < r->resource_spans[rs]->scope_spans[ss]->n_spans);
    return r->resource_spans[rs]->scope_spans[ss]->spans[i];
}

static const char *attr(const otlp_span *s, const char *key)
{
    return otlp_attr_str(s->attributes, s->n_attributes, key);
}

static void test_fields(void **state)
{
    fixture *f = *state;
    const char *json =
        "[{\"traceId\":\"463ac35c9f6413ad48485a3953bb6124\",\"parentId\":\"a2fb4a1d1a96d312\","
        "\"id\":\"0020000000000001\",\"kind\":\"CLIENT\",\"name\":\"get\",\"timestamp\":"
        "1700000000000001,\"duration\":250,\"localEndpoint\":{\"serviceName\":\"web\",\"ipv4\":"
        "\"10.0.0.1\",\"port\":8080},\"remoteEndpoint\":{\"serviceName\":\"db\",\"ipv6\":"
        "\"::1\",\"port\":5432},\"annotations\":[{\"timestamp\":1700000000000100,\"value\":"
        "\"ws\"}],\"tags\":{\"http.method\":\"GET\",\"error\":\"boom\",\"telemetry.sdk."
        "language\":\"go\",\"otel.library.name\":\"lib\",\"otel.library.version\":\"1.0\"},"
        "\"debug\":true}]";
    assert_int_equal(decode_json(f, json), OTTR_OK);
    assert_int_equal(f->req->n_resource_spans, 1);
    const otlp_resource *res = f->req->resource_spans[0]->resource;
    assert_string_equal(otlp_resource_service(res), "web");
    assert_string_equal(otlp_attr_str(res->attributes, res->n_attributes, "telemetry.sdk.language"),
                        "go");
    const otlp_scope *scope = f->req->resource_spans[0]->scope_spans[0]->scope;
    assert_non_null(scope);
    assert_string_equal(scope->name, "lib");
    assert_string_equal(scope->version, "1.0");

    const otlp_span *s = span_at(f->req, 0, 0, 0);
    static const uint8_t tid[16] = {0x46, 0x3a, 0xc3, 0x5c, 0x9f, 0x64, 0x13, 0xad,
                                    0x48, 0x48, 0x5a, 0x39, 0x53, 0xbb, 0x61, 0x24};
    assert_int_equal(s->trace_id.len, 16);
    assert_memory_equal(s->trace_id.data, tid, 16);
    static const uint8_t sid[8] = {0x00, 0x20, 0, 0, 0, 0, 0, 0x01};
    assert_memory_equal(s->span_id.data, sid, 8);
    assert_int_equal(s->parent_span_id.len, 8);
    assert_int_equal(s->kind, 3); /* CLIENT */
    assert_string_equal(s->name, "get");
    assert_int_equal(s->start_time_unix_nano, 1700000000000001000ull);
    assert_int_equal(s->end_time_unix_nano, 1700000000000251000ull);
    assert_string_equal(attr(s, "http.method"), "GET");
    assert_null(otlp_attr_find(s->attributes, s->n_attributes, "error"));
    assert_null(otlp_attr_find(s->attributes, s->n_attributes, "telemetry.sdk.language"));
    assert_null(otlp_attr_find(s->attributes, s->n_attributes, "otel.library.name"));
    assert_string_equal(attr(s, "net.host.ip"), "10.0.0.1");
    assert_int_equal(otlp_attr_find(s->attributes, s->n_attributes, "net.host.port")->int_value,
                     8080);
    assert_string_equal(attr(s, "peer.service"), "db");
    assert_string_equal(attr(s, "net.peer.ip"), "::1");
    assert_int_equal(otlp_attr_find(s->attributes, s->n_attributes, "net.peer.port")->int_value,
                     5432);
    assert_non_null(s->status);
    assert_int_equal(s->status->code, 2);
    assert_string_equal(s->status->message, "boom");
    assert_int_equal(s->n_events, 1);
    assert_string_equal(s->events[0]->name, "ws");
    assert_int_equal(s->events[0]->time_unix_nano, 1700000000000100000ull);
}

static void test_kinds_and_ids(void **state)
{
    fixture *f = *state;
    const char *json = "[{\"traceId\":\"1\",\"id\":\"2\",\"kind\":\"SERVER\",\"timestamp\":1},"
                       "{\"traceId\":\"1\",\"id\":\"3\",\"kind\":\"producer\",\"timestamp\":1},"
                       "{\"traceId\":\"1\",\"id\":\"4\",\"kind\":\"CONSUMER\",\"timestamp\":1},"
                       "{\"traceId\":\"1\",\"id\":\"5\",\"kind\":null,\"parentId\":\"5\"},"
                       "{\"traceId\":\"1\",\"id\":\"6\",\"tags\":{\"otel.status_code\":\"OK\"}}]";
    assert_int_equal(decode_json(f, json), OTTR_OK);
    /* No local endpoint: one resource without service.name, one scope. */
    assert_int_equal(f->req->n_resource_spans, 1);
    assert_string_equal(otlp_resource_service(f->req->resource_spans[0]->resource),
                        OTLP_UNKNOWN_SERVICE);
    static const int kinds[] = {2, 4, 5, 0, 0};
    for (size_t i = 0; i < 5; i++) {
        const otlp_span *s = span_at(f->req, 0, 0, i);
        assert_int_equal(s->kind, kinds[i]);
        /* A 64-bit trace ID fills the low half, padded on the left. */
        assert_int_equal(s->trace_id.len, 16);
        for (size_t k = 0; k < 15; k++)
            assert_int_equal(s->trace_id.data[k], 0);
        assert_int_equal(s->trace_id.data[15], 1);
        assert_int_equal(s->span_id.data[7], 2 + i);
    }
    /* A span that is its own parent is a root. */
    assert_int_equal(span_at(f->req, 0, 0, 3)->parent_span_id.len, 0);
    /* Without a timestamp: starts at arrival, marked. */
    const otlp_span *s = span_at(f->req, 0, 0, 3);
    assert_int_equal(s->start_time_unix_nano, 42000);
    assert_non_null(otlp_attr_find(s->attributes, s->n_attributes, OTLP_ZIPKIN_NO_START));
    assert_int_equal(span_at(f->req, 0, 0, 4)->status->code, 1);
}

static void test_shared(void **state)
{
    fixture *f = *state;
    const char *json =
        "[{\"traceId\":\"a\",\"id\":\"b\",\"kind\":\"CLIENT\",\"localEndpoint\":{"
        "\"serviceName\":\"front\"}},{\"traceId\":\"a\",\"id\":\"b\",\"kind\":\"SERVER\","
        "\"shared\":true,\"localEndpoint\":{\"serviceName\":\"back\"}}]";
    assert_int_equal(decode_json(f, json), OTTR_OK);
    assert_int_equal(f->req->n_resource_spans, 2);
    const otlp_span *client = span_at(f->req, 0, 0, 0);
    const otlp_span *server = span_at(f->req, 1, 0, 0);
    /* The shared half gets its own ID, under the client it shares with. */
    assert_memory_not_equal(server->span_id.data, client->span_id.data, 8);
    assert_int_equal(server->parent_span_id.len, 8);
    assert_memory_equal(server->parent_span_id.data, client->span_id.data, 8);
    assert_non_null(otlp_attr_find(server->attributes, server->n_attributes, OTLP_ZIPKIN_SHARED));
}

static void test_malformed(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {
        "",
        "{}",
        "[1]",
        "[{\"id\":\"1\"}]",
        "[{\"traceId\":\"1\"}]",
        "[{\"traceId\":\"xyz\",\"id\":\"1\"}]",
        "[{\"traceId\":\"123456789012345678901234567890123\",\"id\":\"1\"}]",
        "[{\"traceId\":\"1\",\"id\":\"12345678901234567\"}]",
        "[{\"traceId\":\"1\",\"id\":\"1\",\"kind\":\"SIDEWAYS\"}]",
        "[{\"traceId\":\"1\",\"id\":\"1\",\"timestamp\":-5}]",
        "[{\"traceId\":\"1\",\"id\":\"1\",\"tags\":{\"a\":{}}}]",
        "[{\"traceId\":\"1\",\"id\":\"1\",\"annotations\":{}}]",
        "[{\"traceId\":\"1\",\"id\":\"1\"}] x",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ottr_arena_reset(&f->a);
        assert_int_equal(decode_json(f, bad[i]), OTTR_ERR_INVALID);
        assert_true(f->err[0] != '\0');
    }
    ottr_arena_reset(&f->a);
    assert_int_equal(decode_json(f, "[]"), OTTR_OK);
    assert_int_equal(f->req->n_resource_spans, 0);
}

/* Protobuf: a ListOfSpans with one span, encoded by hand. */
static void test_proto(void **state)
{
    fixture *f = *state;
    uint8_t span[] = {
        0x0a, 16, 1,    2,   3,   4,    5, 6,   7, 8, 9, 10,   11,
        12,   13, 14,   15,  16,                                     /* trace_id */
        0x12, 8,  0,    0,   0,   0,    0, 0,   0, 9,                /* parent_id */
        0x1a, 8,  0,    0,   0,   0,    0, 0,   0, 7,                /* id */
        0x20, 2,                                                     /* kind SERVER */
        0x2a, 3,  'g',  'e', 't',                                    /* name */
        0x31, 1,  0,    0,   0,   0,    0, 0,   0,                   /* timestamp 1 us */
        0x38, 5,                                                     /* duration 5 us */
        0x42, 11, 0x0a, 1,   's', 0x12, 4, 10,  0, 0, 1, 0x20, 0x50, /* local: s 10.0.0.1:80 */
        0x52, 9,  0x09, 2,   0,   0,    0, 0,   0, 0, 0,             /* annotation, no value */
        0x5a, 6,  0x0a, 1,   'k', 0x12, 1, 'v',                      /* tag k=v */
        0x68, 1,                                                     /* shared */
    };
    uint8_t list[2 + sizeof(span)];
    list[0] = 0x0a;
    list[1] = (uint8_t)sizeof(span);
    memcpy(list + 2, span, sizeof(span));
    assert_int_equal(otlp_zipkin_decode_request(&f->a, OTLP_ZIPKIN_PROTO, list, sizeof(list), 1,
                                                &f->req, f->err, sizeof(f->err)),
                     OTTR_OK);
    assert_string_equal(otlp_resource_service(f->req->resource_spans[0]->resource), "s");
    const otlp_span *s = span_at(f->req, 0, 0, 0);
    assert_int_equal(s->trace_id.data[0], 1);
    assert_int_equal(s->kind, 2);
    assert_string_equal(s->name, "get");
    assert_int_equal(s->start_time_unix_nano, 1000);
    assert_int_equal(s->end_time_unix_nano, 6000);
    assert_string_equal(attr(s, "net.host.ip"), "10.0.0.1");
    assert_int_equal(otlp_attr_find(s->attributes, s->n_attributes, "net.host.port")->int_value,
                     80);
    assert_string_equal(attr(s, "k"), "v");
    assert_int_equal(s->n_events, 1);
    assert_int_equal(s->events[0]->time_unix_nano, 2000);
    /* Shared: parent is the shared ID 7. */
    assert_int_equal(s->parent_span_id.data[7], 7);

    /* Truncated anywhere: an error, never a crash. */
    for (size_t n = 1; n < sizeof(list); n++) {
        ottr_arena_reset(&f->a);
        ottr_status st = otlp_zipkin_decode_request(&f->a, OTLP_ZIPKIN_PROTO, list, n, 1, &f->req,
                                                    f->err, sizeof(f->err));
        assert_int_equal(st, OTTR_ERR_INVALID);
    }
}

/* v1: core annotations give kinds and endpoints; client and server halves of
 * one v1 span become a client span and a shared server span. */
static void test_v1(void **state)
{
    fixture *f = *state;
    const char *json =
        "[{\"traceId\":\"5\",\"id\":\"6\",\"name\":\"rpc\",\"annotations\":["
        "{\"timestamp\":100,\"value\":\"cs\",\"endpoint\":{\"serviceName\":\"front\"}},"
        "{\"timestamp\":110,\"value\":\"sr\",\"endpoint\":{\"serviceName\":\"back\"}},"
        "{\"timestamp\":150,\"value\":\"ss\",\"endpoint\":{\"serviceName\":\"back\"}},"
        "{\"timestamp\":120,\"value\":\"cache\",\"endpoint\":{\"serviceName\":\"back\"}},"
        "{\"timestamp\":160,\"value\":\"cr\",\"endpoint\":{\"serviceName\":\"front\"}}],"
        "\"binaryAnnotations\":[{\"key\":\"sa\",\"value\":true,\"endpoint\":{"
        "\"serviceName\":\"back\",\"ipv4\":\"10.0.0.2\",\"port\":80}},{\"key\":\"http.path\","
        "\"value\":\"/x\",\"endpoint\":{\"serviceName\":\"back\"}}]},"
        "{\"traceId\":\"5\",\"id\":\"7\",\"parentId\":\"6\",\"name\":\"local\","
        "\"timestamp\":130,\"duration\":5,\"binaryAnnotations\":[{\"key\":\"lc\","
        "\"value\":\"worker\",\"endpoint\":{\"serviceName\":\"back\"}}]}]";
    assert_int_equal(decode(f, OTLP_ZIPKIN_JSON_V1, json), OTTR_OK);
    /* Resources in order of first appearance: front (the client), back. */
    assert_int_equal(f->req->n_resource_spans, 2);
    assert_string_equal(otlp_resource_service(f->req->resource_spans[0]->resource), "front");
    const otlp_span *client = span_at(f->req, 0, 0, 0);
    assert_int_equal(client->kind, 3);
    assert_int_equal(client->start_time_unix_nano, 100000);
    assert_int_equal(client->end_time_unix_nano, 160000);
    assert_string_equal(attr(client, "peer.service"), "back");
    assert_string_equal(attr(client, "net.peer.ip"), "10.0.0.2");
    const otlp_span *server = span_at(f->req, 1, 0, 0);
    assert_int_equal(server->kind, 2);
    assert_int_equal(server->start_time_unix_nano, 110000);
    assert_int_equal(server->end_time_unix_nano, 150000);
    assert_memory_equal(server->parent_span_id.data, client->span_id.data, 8);
    assert_non_null(otlp_attr_find(server->attributes, server->n_attributes, OTLP_ZIPKIN_SHARED));
    assert_string_equal(attr(server, "http.path"), "/x");
    assert_int_equal(server->n_events, 1);
    assert_string_equal(server->events[0]->name, "cache");
    assert_int_equal(client->n_events, 0);
    /* No core annotations: no kind, the local endpoint from its binary annotation. */
    const otlp_span *local = span_at(f->req, 1, 0, 1);
    assert_string_equal(local->name, "local");
    assert_int_equal(local->kind, 0);
    assert_string_equal(attr(local, "lc"), "worker");
    assert_int_equal(local->start_time_unix_nano, 130000);

    static const char *const bad[] = {
        "[{\"id\":\"1\"}]",
        "[{\"traceId\":\"1\",\"id\":\"1\",\"binaryAnnotations\":[{\"value\":\"x\"}]}]",
        "[{\"traceId\":\"1\",\"id\":\"1\",\"annotations\":[{\"endpoint\":5}]}]",
        "[{\"traceId\":\"1\",\"id\":\"1\",\"binaryAnnotations\":[{\"key\":\"k\",\"value\":[]}]}]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ottr_arena_reset(&f->a);
        assert_int_equal(decode(f, OTLP_ZIPKIN_JSON_V1, bad[i]), OTTR_ERR_INVALID);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kinds_and_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
