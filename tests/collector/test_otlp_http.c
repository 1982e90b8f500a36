/* tests/collector/test_otlp_http.c - the OTLP/HTTP handler called directly: each
 * kind of request gets the right status, headers and body encoding, spans reach
 * ingest only when valid, and gzip is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <zlib.h>

#include "collector/collector.h"
#include "http/http.h"
#include "otlp/otlp.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

/* ---- a recording ingest ---- */

typedef struct recorder {
    int calls;
    size_t spans;
    size_t groups;
    ottr_status answer;
} recorder;

static ottr_status record_ingest(void *ctx, const otlp_batch *b)
{
    recorder *r = ctx;
    r->calls++;
    r->spans += b->nspans;
    r->groups += b->ngroups;
    size_t sum = 0;
    for (size_t i = 0; i < b->ngroups; i++) {
        sum += b->groups[i].nspans;
        assert_non_null(b->groups[i].chunk);
        assert_true(b->groups[i].chunk_len > 0);
    }
    assert_int_equal(sum, b->nspans);
    return r->answer;
}

/* ---- request bodies ---- */

/* Packs a request with |ntraces| traces of |per| spans each; |zero_trace| spans get
 * an all-zero trace ID instead. Caller frees. */
static uint8_t *make_proto(int ntraces, int per, int zero_trace, size_t *len)
{
    int n = ntraces * per + zero_trace;
    otlp_span *spans = calloc((size_t)n, sizeof(*spans));
    otlp_span **ptrs = calloc((size_t)n, sizeof(*ptrs));
    uint8_t(*ids)[24] = calloc((size_t)n, 24);
    for (int i = 0; i < n; i++) {
        opentelemetry__proto__trace__v1__span__init(&spans[i]);
        int t = i < ntraces * per ? i / per + 1 : 0;
        memset(ids[i], 0, 24);
        if (t) {
            ids[i][0] = (uint8_t)t;
            ids[i][15] = 0x42;
        }
        ids[i][16] = (uint8_t)(i + 1);
        spans[i].trace_id = (ProtobufCBinaryData){16, ids[i]};
        spans[i].span_id = (ProtobufCBinaryData){8, ids[i] + 16};
        spans[i].name = "op";
        spans[i].start_time_unix_nano = 1700000000000000000ull;
        spans[i].end_time_unix_nano = 1700000000001000000ull;
        ptrs[i] = &spans[i];
    }
    otlp_scope_spans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    ss.spans = ptrs;
    ss.n_spans = (size_t)n;
    otlp_scope_spans *sss[1] = {&ss};
    otlp_resource_spans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    rs.scope_spans = sss;
    rs.n_scope_spans = 1;
    otlp_resource_spans *rss[1] = {&rs};
    otlp_request req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.resource_spans = rss;
    req.n_resource_spans = 1;
    *len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &req);
    uint8_t *out = malloc(*len);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, out);
    free(spans);
    free(ptrs);
    free(ids);
    return out;
}

static const char JSON_OK[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"svc\"}}]},\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\","
    "\"name\":\"a\"},"
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"2112131415161718\","
    "\"parentSpanId\":\"1112131415161718\",\"name\":\"b\"}]}]}]}";

static const char JSON_ZERO_ID[] =
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"00000000000000000000000000000000\",\"spanId\":\"1112131415161718\"},"
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"2112131415161718\"}"
    "]}]}]}";

/* gzip-compresses |in|; caller frees. */
static uint8_t *gzip(const void *in, size_t len, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, len) + 64;
    uint8_t *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *outlen = zs.total_out;
    deflateEnd(&zs);
    return out;
}

/* ---- calling the handler ---- */

typedef struct call {
    const char *method;
    const char *path;
    const char *content_type;
    const char *content_encoding;
    const void *body;
    size_t body_len;
    int too_large;
} call;

static void response_init(http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
    snprintf(resp->content_type, sizeof(resp->content_type), "text/plain; charset=utf-8");
}

static void run(otlp_http_ctx *ctx, const call *c, http_response *resp)
{
    http_header hs[2];
    size_t nh = 0;
    if (c->content_type)
        hs[nh++] = (http_header){"content-type", c->content_type};
    if (c->content_encoding)
        hs[nh++] = (http_header){"content-encoding", c->content_encoding};
    http_request req = {
        .method = c->method ? c->method : "POST",
        .path = c->path ? c->path : "/v1/traces",
        .query = "",
        .headers = hs,
        .nheaders = nh,
        .body = c->too_large ? NULL : c->body,
        .body_len = c->too_large ? 0 : c->body_len,
        .body_too_large = c->too_large,
    };
    response_init(resp);
    collector_http_handle(ctx, &req, resp);
}

static const char *header(const http_response *resp, const char *name)
{
    for (int i = 0; i < resp->nextra; i++)
        if (strcasecmp(resp->extra_name[i], name) == 0)
            return resp->extra_value[i];
    return NULL;
}

/* The body must be a protobuf google.rpc.Status with |code|; returns whether it
 * carries a RetryInfo of |retry| seconds (checked when retry > 0). */
static void assert_proto_status(const http_response *resp, int code, int retry)
{
    assert_string_equal(resp->content_type, "application/x-protobuf");
    Google__Rpc__Status *st =
        google__rpc__status__unpack(NULL, resp->body.len, (const uint8_t *)resp->body.data);
    assert_non_null(st);
    assert_int_equal(st->code, code);
    assert_true(strlen(st->message) > 0);
    if (retry > 0) {
        assert_int_equal(st->n_details, 1);
        assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.RetryInfo");
        Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(
            NULL, st->details[0]->value.len, st->details[0]->value.data);
        assert_non_null(ri);
        assert_non_null(ri->retry_delay);
        assert_int_equal(ri->retry_delay->seconds, retry);
        google__rpc__retry_info__free_unpacked(ri, NULL);
    } else {
        assert_int_equal(st->n_details, 0);
    }
    google__rpc__status__free_unpacked(st, NULL);
}

static json_object *parse_json_body(const http_response *resp)
{
    assert_string_equal(resp->content_type, "application/json");
    assert_non_null(resp->body.data);
    json_object *o = json_tokener_parse(resp->body.data);
    if (o == NULL)
        fail_msg("body is not JSON: %s", resp->body.data);
    return o;
}

static void assert_json_status(const http_response *resp, int code, int retry)
{
    json_object *o = parse_json_body(resp);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "code", &v));
    assert_int_equal(json_object_get_int(v), code);
    assert_true(json_object_object_get_ex(o, "message", &v));
    assert_true(strlen(json_object_get_string(v)) > 0);
    if (retry > 0) {
        json_object *d, *e;
        assert_true(json_object_object_get_ex(o, "details", &d));
        e = json_object_array_get_idx(d, 0);
        assert_non_null(e);
        assert_true(json_object_object_get_ex(e, "@type", &v));
        assert_string_equal(json_object_get_string(v), "type.googleapis.com/google.rpc.RetryInfo");
        assert_true(json_object_object_get_ex(e, "retryDelay", &v));
        char want[16];
        snprintf(want, sizeof(want), "%ds", retry);
        assert_string_equal(json_object_get_string(v), want);
    }
    json_object_put(o);
}

static otlp_http_ctx ctx_for(recorder *r, uint64_t max_body)
{
    memset(r, 0, sizeof(*r));
    r->answer = OTTR_OK;
    return (otlp_http_ctx){.ingest = record_ingest, .ingest_ctx = r, .max_body_bytes = max_body};
}

#define PB   "application/x-protobuf"
#define JSON "application/json"

/* ---- tests ---- */

static void test_protobuf_ok(void **state)
{
    (void)state;
    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 1 << 20);
    size_t len;
    uint8_t *body = make_proto(2, 3, 0, &len);
    http_response resp;
    const char *types[] = {PB, "application/protobuf", "Application/X-Protobuf; charset=x"};
    for (int i = 0; i < 3; i++) {
        run(&ctx, &(call){.content_type = types[i], .body = body, .body_len = len}, &resp);
        assert_int_equal(resp.status, 200);
        assert_string_equal(resp.content_type, "application/x-protobuf");
        /* An ExportTraceServiceResponse without partial success is empty. */
        assert_int_equal(resp.body.len, 0);
        ottr_buf_free(&resp.body);
    }
    assert_int_equal(r.calls, 3);
    assert_int_equal(r.spans, 18);
    assert_int_equal(r.groups, 6);

    /* identity encoding is the same as none. */
    run(&ctx,
        &(call){.content_type = PB, .content_encoding = "identity", .body = body, .body_len = len},
        &resp);
    assert_int_equal(resp.status, 200);
    ottr_buf_free(&resp.body);
    free(body);
}

static void test_json_ok(void **state)
{
    (void)state;
    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 1 << 20);
    http_response resp;
    const char *types[] = {JSON, "application/json; charset=utf-8", " APPLICATION/JSON "};
    for (int i = 0; i < 3; i++) {
        run(&ctx, &(call){.content_type = types[i], .body = JSON_OK, .body_len = strlen(JSON_OK)},
            &resp);
        assert_int_equal(resp.status, 200);
        json_object *o = parse_json_body(&resp);
        assert_int_equal(json_object_object_length(o), 0);
        json_object_put(o);
        ottr_buf_free(&resp.body);
    }
    assert_int_equal(r.calls, 3);
    assert_int_equal(r.spans, 6);
    assert_int_equal(r.groups, 3);
}

static void test_gzip_ok(void **state)
{
    (void)state;
    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 1 << 20);
    size_t len, zlen;
    uint8_t *body = make_proto(4, 2, 0, &len);
    uint8_t *z = gzip(body, len, &zlen);
    http_response resp;
    run(&ctx, &(call){.content_type = PB, .content_encoding = "gzip", .body = z, .body_len = zlen},
        &resp);
    assert_int_equal(resp.status, 200);
    ottr_buf_free(&resp.body);
    assert_int_equal(r.spans, 8);
    free(z);

    z = gzip(JSON_OK, strlen(JSON_OK), &zlen);
    run(&ctx,
        &(call){.content_type = JSON, .content_encoding = "GZIP", .body = z, .body_len = zlen},
        &resp);
    assert_int_equal(resp.status, 200);
    ottr_buf_free(&resp.body);
    assert_int_equal(r.spans, 10);
    free(z);
    free(body);
}

static void test_empty_body(void **state)
{
    (void)state;
    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 1 << 20);
    http_response resp;
    run(&ctx, &(call){.content_type = PB}, &resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body.len, 0);
    ottr_buf_free(&resp.body);
    run(&ctx, &(call){.content_type = JSON}, &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.data, "{}");
    ottr_buf_free(&resp.body);
    run(&ctx, &(call){.content_type = JSON, .content_encoding = "gzip"}, &resp);
    assert_int_equal(resp.status, 200);
    ottr_buf_free(&resp.body);
    assert_int_equal(r.calls, 0);
}

static void test_partial_success(void **state)
{
    (void)state;
    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 1 << 20);
    size_t len;
    uint8_t *body = make_proto(1, 2, 1, &len);
    http_response resp;
    run(&ctx, &(call){.content_type = PB, .body = body, .body_len = len}, &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "application/x-protobuf");
    otlp_response *er =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, resp.body.len, (const uint8_t *)resp.body.data);
    assert_non_null(er);
    assert_non_null(er->partial_success);
    assert_int_equal(er->partial_success->rejected_spans, 1);
    assert_true(strlen(er->partial_success->error_message) > 0);
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(er,
                                                                                             NULL);
    ottr_buf_free(&resp.body);
    assert_int_equal(r.spans, 2);
    free(body);

    run(&ctx, &(call){.content_type = JSON, .body = JSON_ZERO_ID, .body_len = strlen(JSON_ZERO_ID)},
        &resp);
    assert_int_equal(resp.status, 200);
    json_object *o = parse_json_body(&resp), *ps, *v;
    assert_true(json_object_object_get_ex(o, "partialSuccess", &ps));
    assert_true(json_object_object_get_ex(ps, "rejectedSpans", &v));
    assert_string_equal(json_object_get_string(v), "1");
    assert_true(json_object_object_get_ex(ps, "errorMessage", &v));
    assert_true(strlen(json_object_get_string(v)) > 0);
    json_object_put(o);
    ottr_buf_free(&resp.body);
    assert_int_equal(r.spans, 3);

    /* Every span invalid: nothing to ingest, still a partial success. */
    int calls = r.calls;
    body = make_proto(0, 0, 3, &len);
    run(&ctx, &(call){.content_type = PB, .body = body, .body_len = len}, &resp);
    assert_int_equal(resp.status, 200);
    assert_true(resp.body.len > 0);
    assert_int_equal(r.calls, calls);
    ottr_buf_free(&resp.body);
    free(body);
}

/* One row of the error table. */
typedef struct bad_case {
    const char *name;
    call c;
    int status;
    int grpc;
    int json; /* body encoding expected */
} bad_case;

static void test_error_table(void **state)
{
    (void)state;
    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 1 << 20);
    size_t len, zlen;
    uint8_t *good = make_proto(1, 2, 0, &len);
    uint8_t *z = gzip(good, len, &zlen);
    uint8_t corrupt_z[64];
    memcpy(corrupt_z, z, zlen < sizeof(corrupt_z) ? zlen : sizeof(corrupt_z));
    corrupt_z[12] ^= 0xff;
    corrupt_z[13] ^= 0x55;
    static const uint8_t wrong_wire[] = {0x08, 0x01}; /* resource_spans as a varint */
    static const uint8_t bad_span_wire[] = {0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x10, 0x05};
    static const char bad_json[] = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":";
    static const char bad_hex[] =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"xyz\"}]}]}]}";
    static const char wrong_type[] = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":5}]}]}";

    bad_case cases[] = {
        {"truncated protobuf", {.content_type = PB, .body = good, .body_len = len - 3}, 400, 3, 0},
        {"wrong wire type", {.content_type = PB, .body = wrong_wire, .body_len = 2}, 400, 3, 0},
        {"wrong wire type in span",
         {.content_type = PB, .body = bad_span_wire, .body_len = 8},
         400,
         3,
         0},
        {"garbage protobuf",
         {.content_type = PB, .body = "\xff\xff\xff", .body_len = 3},
         400,
         3,
         0},
        {"bad JSON",
         {.content_type = JSON, .body = bad_json, .body_len = sizeof(bad_json) - 1},
         400,
         3,
         1},
        {"bad hex",
         {.content_type = JSON, .body = bad_hex, .body_len = sizeof(bad_hex) - 1},
         400,
         3,
         1},
        {"wrong JSON type",
         {.content_type = JSON, .body = wrong_type, .body_len = sizeof(wrong_type) - 1},
         400,
         3,
         1},
        {"JSON sent as protobuf",
         {.content_type = PB, .body = JSON_OK, .body_len = sizeof(JSON_OK) - 1},
         400,
         3,
         0},
        {"corrupt gzip",
         {.content_type = PB,
          .content_encoding = "gzip",
          .body = corrupt_z,
          .body_len = zlen < sizeof(corrupt_z) ? zlen : sizeof(corrupt_z)},
         400,
         3,
         0},
        {"truncated gzip",
         {.content_type = JSON, .content_encoding = "gzip", .body = z, .body_len = zlen - 5},
         400,
         3,
         1},
        {"not gzip",
         {.content_type = PB, .content_encoding = "gzip", .body = good, .body_len = len},
         400,
         3,
         0},
        {"too large", {.content_type = PB, .too_large = 1}, 413, 8, 0},
        {"too large JSON", {.content_type = JSON, .too_large = 1}, 413, 8, 1},
        {"text/plain", {.content_type = "text/plain", .body = good, .body_len = len}, 415, 12, 0},
        {"no content type", {.body = good, .body_len = len}, 415, 12, 0},
        {"json-ish type", {.content_type = "text/json", .body = "{}", .body_len = 2}, 415, 12, 1},
        {"type with junk",
         {.content_type = "application/json x", .body = "{}", .body_len = 2},
         415,
         12,
         1},
        {"brotli",
         {.content_type = PB, .content_encoding = "br", .body = good, .body_len = len},
         415,
         12,
         0},
        {"deflate JSON",
         {.content_type = JSON, .content_encoding = "deflate", .body = "{}", .body_len = 2},
         415,
         12,
         1},
        {"GET", {.method = "GET", .content_type = PB}, 405, 12, 0},
        {"PUT JSON",
         {.method = "PUT", .content_type = JSON, .body = "{}", .body_len = 2},
         405,
         12,
         1},
        {"unknown path",
         {.path = "/v1/metrics", .content_type = PB, .body = good, .body_len = len},
         404,
         5,
         0},
        {"trailing slash",
         {.path = "/v1/traces/", .content_type = JSON, .body = "{}", .body_len = 2},
         404,
         5,
         1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bad_case *bc = &cases[i];
        http_response resp;
        run(&ctx, &bc->c, &resp);
        if (resp.status != bc->status)
            fail_msg("%s: status %d, want %d (%s)", bc->name, resp.status, bc->status,
                     resp.body.data ? resp.body.data : "");
        if (bc->json)
            assert_json_status(&resp, bc->grpc, 0);
        else
            assert_proto_status(&resp, bc->grpc, 0);
        const char *allow = header(&resp, "Allow");
        if (bc->status == 405)
            assert_string_equal(allow, "POST");
        else
            assert_null(allow);
        assert_null(header(&resp, "Retry-After"));
        ottr_buf_free(&resp.body);
    }
    assert_int_equal(r.calls, 0);
    free(good);
    free(z);
}

static void test_ingest_refusals(void **state)
{
    (void)state;
    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 1 << 20);
    size_t len;
    uint8_t *body = make_proto(1, 2, 0, &len);
    http_response resp;
    ottr_status answers[] = {OTTR_ERR_BUSY, OTTR_ERR_IO};
    for (int i = 0; i < 2; i++) {
        r.answer = answers[i];
        run(&ctx, &(call){.content_type = PB, .body = body, .body_len = len}, &resp);
        assert_int_equal(resp.status, 503);
        assert_string_equal(header(&resp, "Retry-After"), "1");
        assert_proto_status(&resp, 14, OTTR_RETRY_AFTER_SECONDS);
        ottr_buf_free(&resp.body);

        run(&ctx, &(call){.content_type = JSON, .body = JSON_OK, .body_len = strlen(JSON_OK)},
            &resp);
        assert_int_equal(resp.status, 503);
        assert_string_equal(header(&resp, "Retry-After"), "1");
        assert_json_status(&resp, 14, OTTR_RETRY_AFTER_SECONDS);
        ottr_buf_free(&resp.body);
    }
    assert_int_equal(r.calls, 4);
    free(body);
}

/* A gzip bomb: 10 MB of zeros compress to ~10 KB; with a 1 MB limit it must be
 * refused with 413 after inflating at most the limit. */
static void test_gzip_bomb(void **state)
{
    (void)state;
    size_t n = 10u << 20, zlen;
    uint8_t *zeros = calloc(1, n);
    uint8_t *z = gzip(zeros, n, &zlen);
    free(zeros);
    assert_true(zlen < 64 * 1024);

    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 1 << 20);
    http_response resp;
    run(&ctx, &(call){.content_type = PB, .content_encoding = "gzip", .body = z, .body_len = zlen},
        &resp);
    assert_int_equal(resp.status, 413);
    assert_proto_status(&resp, 8, 0);
    ottr_buf_free(&resp.body);
    assert_int_equal(r.calls, 0);

    /* gunzip itself: the cap is exact. */
    uint8_t *out;
    size_t outlen;
    assert_int_equal(http_gunzip(z, zlen, n - 1, &out, &outlen), OTTR_ERR_TOO_LARGE);
    assert_null(out);
    assert_int_equal(http_gunzip(z, zlen, n, &out, &outlen), OTTR_OK);
    assert_int_equal(outlen, n);
    free(out);
    free(z);
}

static void test_gunzip_members(void **state)
{
    (void)state;
    size_t l1, l2;
    uint8_t *a = gzip("hello ", 6, &l1);
    uint8_t *b = gzip("world", 5, &l2);
    uint8_t *both = malloc(l1 + l2 + 1);
    memcpy(both, a, l1);
    memcpy(both + l1, b, l2);
    uint8_t *out;
    size_t outlen;
    assert_int_equal(http_gunzip(both, l1 + l2, 100, &out, &outlen), OTTR_OK);
    assert_int_equal(outlen, 11);
    assert_memory_equal(out, "hello world", 11);
    free(out);
    both[l1 + l2] = 'x'; /* trailing garbage */
    assert_int_equal(http_gunzip(both, l1 + l2 + 1, 100, &out, &outlen), OTTR_ERR_CORRUPT);
    assert_int_equal(http_gunzip(both, 5, 100, &out, &outlen), OTTR_ERR_CORRUPT);
    assert_int_equal(http_gunzip(both, l1 + l2, 10, &out, &outlen), OTTR_ERR_TOO_LARGE);
    /* An empty member inflates to nothing. */
    size_t le;
    uint8_t *e = gzip("", 0, &le);
    assert_int_equal(http_gunzip(e, le, 0, &out, &outlen), OTTR_OK);
    assert_int_equal(outlen, 0);
    assert_null(out);
    free(e);
    free(a);
    free(b);
    free(both);
}

/* Prepends field |tag| (length-delimited) framing the |inner| bytes already at
 * buf[*start..end) and returns the new length. */
static size_t prepend(uint8_t *buf, size_t *start, uint8_t tag, size_t inner)
{
    uint8_t v[OTLP_VARINT_MAX];
    size_t vn = (size_t)(otlp_varint_put(v, inner) - v);
    *start -= vn;
    memcpy(buf + *start, v, vn);
    buf[--*start] = tag;
    return inner + vn + 1;
}

/* Hostile protobuf: 200000 levels of nested AnyValue arrays in a span attribute
 * must be refused without exhausting the stack. */
static void test_protobuf_deep_nesting(void **state)
{
    (void)state;
    size_t levels = 200000, cap = levels * 12 + 64, start = cap, n = 0;
    uint8_t *buf = malloc(cap);
    /* Inside out: AnyValue{array_value(5): ArrayValue{values(1): AnyValue{...}}}. */
    for (size_t i = 0; i < levels; i++) {
        n = prepend(buf, &start, 0x0a, n); /* ArrayValue.values */
        n = prepend(buf, &start, 0x2a, n); /* AnyValue.array_value */
    }
    n = prepend(buf, &start, 0x12, n); /* KeyValue.value */
    n = prepend(buf, &start, 0x4a, n); /* Span.attributes */
    n = prepend(buf, &start, 0x12, n); /* ScopeSpans.spans */
    n = prepend(buf, &start, 0x12, n); /* ResourceSpans.scope_spans */
    n = prepend(buf, &start, 0x0a, n); /* request.resource_spans */
    assert_int_equal(n, cap - start);

    ottr_arena a;
    ottr_arena_init(&a, 0, 0);
    otlp_request *req;
    char err[256];
    assert_int_equal(otlp_proto_decode_request(&a, buf + start, n, &req, err, sizeof(err)),
                     OTTR_ERR_INVALID);
    assert_non_null(strstr(err, "nested too deeply"));
    ottr_arena_free(&a);

    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 64u << 20);
    http_response resp;
    run(&ctx, &(call){.content_type = PB, .body = buf + start, .body_len = n}, &resp);
    assert_int_equal(resp.status, 400);
    assert_proto_status(&resp, 3, 0);
    ottr_buf_free(&resp.body);
    free(buf);

    /* 20 levels are fine. */
    buf = malloc(4096);
    start = 4096;
    n = 0;
    for (size_t i = 0; i < 20; i++) {
        n = prepend(buf, &start, 0x0a, n);
        n = prepend(buf, &start, 0x2a, n);
    }
    n = prepend(buf, &start, 0x12, n);
    n = prepend(buf, &start, 0x4a, n);
    n = prepend(buf, &start, 0x12, n);
    n = prepend(buf, &start, 0x12, n);
    n = prepend(buf, &start, 0x0a, n);
    ottr_arena_init(&a, 0, 0);
    assert_int_equal(otlp_proto_decode_request(&a, buf + start, n, &req, err, sizeof(err)),
                     OTTR_OK);
    ottr_arena_free(&a);
    free(buf);
}

/* Every prefix and many single-byte corruptions of a valid body answer 200 or 400,
 * never crash. */
static void test_protobuf_mutations(void **state)
{
    (void)state;
    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 1 << 20);
    size_t len;
    uint8_t *good = make_proto(2, 2, 0, &len);
    for (size_t i = 0; i <= len; i++) {
        uint8_t *copy = malloc(i ? i : 1);
        memcpy(copy, good, i);
        http_response resp;
        run(&ctx, &(call){.content_type = PB, .body = copy, .body_len = i}, &resp);
        assert_true(resp.status == 200 || resp.status == 400);
        ottr_buf_free(&resp.body);
        free(copy);
    }
    srand(7);
    for (int k = 0; k < 2000; k++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, good, len);
        copy[(size_t)rand() % len] = (uint8_t)rand();
        http_response resp;
        run(&ctx, &(call){.content_type = PB, .body = copy, .body_len = len}, &resp);
        assert_true(resp.status == 200 || resp.status == 400);
        ottr_buf_free(&resp.body);
        free(copy);
    }
    free(good);
}

static uint64_t counter(const char *name, const char *labels)
{
    return ottr_counter_value(ottr_counter_get(name, "", labels));
}

static void test_metrics(void **state)
{
    (void)state;
    recorder r;
    otlp_http_ctx ctx = ctx_for(&r, 1 << 20);
    uint64_t ok0 = counter("ottr_receiver_requests_total", "protocol=\"http\",code=\"200\"");
    uint64_t c404 = counter("ottr_receiver_requests_total", "protocol=\"http\",code=\"404\"");
    uint64_t acc0 = counter("ottr_receiver_spans_total", "protocol=\"http\",result=\"accepted\"");
    uint64_t rej0 = counter("ottr_receiver_spans_total", "protocol=\"http\",result=\"rejected\"");
    uint64_t ref0 = counter("ottr_receiver_spans_total", "protocol=\"http\",result=\"refused\"");
    uint64_t bytes0 = counter("ottr_receiver_bytes_total", "protocol=\"http\"");

    size_t len;
    uint8_t *body = make_proto(1, 3, 2, &len);
    http_response resp;
    run(&ctx, &(call){.content_type = PB, .body = body, .body_len = len}, &resp);
    ottr_buf_free(&resp.body);
    r.answer = OTTR_ERR_BUSY;
    run(&ctx, &(call){.content_type = PB, .body = body, .body_len = len}, &resp);
    ottr_buf_free(&resp.body);
    run(&ctx, &(call){.path = "/nope", .content_type = PB}, &resp);
    ottr_buf_free(&resp.body);
    /* Bytes are counted decompressed. */
    r.answer = OTTR_OK;
    size_t zlen;
    uint8_t *z = gzip(body, len, &zlen);
    run(&ctx, &(call){.content_type = PB, .content_encoding = "gzip", .body = z, .body_len = zlen},
        &resp);
    ottr_buf_free(&resp.body);
    free(z);

    assert_int_equal(counter("ottr_receiver_requests_total", "protocol=\"http\",code=\"200\""),
                     ok0 + 2);
    assert_int_equal(counter("ottr_receiver_requests_total", "protocol=\"http\",code=\"404\""),
                     c404 + 1);
    assert_int_equal(counter("ottr_receiver_spans_total", "protocol=\"http\",result=\"accepted\""),
                     acc0 + 6);
    assert_int_equal(counter("ottr_receiver_spans_total", "protocol=\"http\",result=\"rejected\""),
                     rej0 + 6);
    assert_int_equal(counter("ottr_receiver_spans_total", "protocol=\"http\",result=\"refused\""),
                     ref0 + 3);
    assert_int_equal(counter("ottr_receiver_bytes_total", "protocol=\"http\""), bytes0 + 3 * len);

    ottr_buf out = {0};
    ottr_metrics_render(&out);
    assert_non_null(strstr(out.data, "ottr_receiver_request_duration_seconds_bucket{protocol="
                                     "\"http\",le=\"0.0005"));
    assert_non_null(strstr(out.data, "ottr_receiver_bad_requests_total{protocol=\"http\","
                                     "reason=\"path\"}"));
    ottr_buf_free(&out);
    free(body);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protobuf_ok),
        cmocka_unit_test(test_json_ok),
        cmocka_unit_test(test_gzip_ok),
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_partial_success),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_ingest_refusals),
        cmocka_unit_test(test_gzip_bomb),
        cmocka_unit_test(test_gunzip_members),
        cmocka_unit_test(test_protobuf_deep_nesting),
        cmocka_unit_test(test_protobuf_mutations),
        cmocka_unit_test(test_metrics),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ottr_metrics_shutdown();
    return rc;
}
