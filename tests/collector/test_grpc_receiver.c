/* tests/collector/test_grpc_receiver.c - the OTLP/gRPC receiver seen from a gRPC
 * client: acknowledgement, partial success, back-pressure with RetryInfo, bad input,
 * unknown methods, size limit, gzip, and the metrics it keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <pthread.h>

#include "collector/collector.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

#define EXPORT   "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define MAX_RECV (1u << 20)

/* ---- the test ingest callback ---- */

typedef struct recorder {
    pthread_mutex_t lock;
    ottr_status answer; /* what ingest returns */
    int calls;
    size_t spans;
    size_t ngroups;
    uint8_t trace_ids[64][16];
    int chunks_ok; /* every chunk of every call unpacked as TracesData */
} recorder;

static recorder REC = {.lock = PTHREAD_MUTEX_INITIALIZER, .chunks_ok = 1};

static ottr_status test_ingest(void *ctx, const otlp_batch *b)
{
    recorder *r = ctx;
    pthread_mutex_lock(&r->lock);
    r->calls++;
    r->spans += b->nspans;
    for (size_t i = 0; i < b->ngroups; i++) {
        if (r->ngroups < 64)
            memcpy(r->trace_ids[r->ngroups], b->groups[i].trace_id, 16);
        r->ngroups++;
        otlp_traces_data *td = opentelemetry__proto__trace__v1__traces_data__unpack(
            NULL, b->groups[i].chunk_len, b->groups[i].chunk);
        if (td == NULL)
            r->chunks_ok = 0;
        else
            opentelemetry__proto__trace__v1__traces_data__free_unpacked(td, NULL);
    }
    ottr_status st = r->answer;
    pthread_mutex_unlock(&r->lock);
    return st;
}

static void rec_reset(ottr_status answer)
{
    pthread_mutex_lock(&REC.lock);
    REC.answer = answer;
    REC.calls = 0;
    REC.spans = 0;
    REC.ngroups = 0;
    REC.chunks_ok = 1;
    pthread_mutex_unlock(&REC.lock);
}

/* ---- building requests ---- */

/* A request with |ntraces| traces of |nspans| spans each; trace t has ID
 * {0x7e, t, 0...,1}. Span IDs are never zero unless |zero_ids|. Caller frees. */
static uint8_t *make_request(int ntraces, int nspans, int zero_ids, size_t *len)
{
    ottr_arena a;
    ottr_arena_init(&a, 4096, 0);
    int n = ntraces * nspans;
    otlp_span *spans = ottr_arena_alloc(&a, sizeof(*spans) * n);
    otlp_span **sp = ottr_arena_alloc(&a, sizeof(*sp) * n);
    uint8_t *ids = ottr_arena_alloc(&a, (size_t)n * 24);
    for (int i = 0; i < n; i++) {
        opentelemetry__proto__trace__v1__span__init(&spans[i]);
        uint8_t *t = ids + i * 24, *s = t + 16;
        memset(t, 0, 24);
        if (!zero_ids) {
            t[0] = 0x7e;
            t[1] = (uint8_t)(i / nspans);
            t[15] = 1;
            s[0] = (uint8_t)(i + 1);
            s[7] = 1;
        }
        spans[i].trace_id.data = t;
        spans[i].trace_id.len = 16;
        spans[i].span_id.data = s;
        spans[i].span_id.len = 8;
        spans[i].name = (char *)"GET /";
        sp[i] = &spans[i];
    }
    otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v.string_value = (char *)"web";
    otlp_kv kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    kv.key = (char *)"service.name";
    kv.value = &v;
    otlp_kv *kvs[] = {&kv};
    otlp_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = kvs;
    otlp_scope_spans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    ss.n_spans = (size_t)n;
    ss.spans = sp;
    otlp_scope_spans *sss[] = {&ss};
    otlp_resource_spans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    rs.resource = &res;
    rs.n_scope_spans = 1;
    rs.scope_spans = sss;
    otlp_resource_spans *rss[] = {&rs};
    otlp_request req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.n_resource_spans = n ? 1 : 0;
    req.resource_spans = rss;
    *len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &req);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, buf);
    ottr_arena_free(&a);
    return buf;
}

/* ---- a minimal gRPC core client ---- */

typedef struct result {
    grpc_status_code status;
    char details[512];
    int has_message;
    uint8_t message[4096];
    size_t message_len;
    uint8_t status_bin[1024]; /* grpc-status-details-bin, if any */
    size_t status_bin_len;
    double seconds;
} result;

static otlp_grpc *SRV;
static grpc_channel *CH;
static grpc_channel *CH_GZIP;

static grpc_channel *channel_new(int gzip)
{
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", collector_grpc_port(SRV));
    grpc_arg args[2];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)"grpc.default_compression_algorithm";
    args[0].value.integer = GRPC_COMPRESS_GZIP;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
    args[1].value.integer = 1;
    grpc_channel_args ca = {.num_args = gzip ? 2 : 1, .args = gzip ? args : args + 1};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, creds, &ca);
    grpc_channel_credentials_release(creds);
    return ch;
}

/* One call of |method| sending |data| |copies| times (no message at all when
 * |data| is NULL), each in its own batch, then the half-close. */
static void call_messages(grpc_channel *ch, const char *method, const void *data, size_t len,
                          int copies, result *r)
{
    memset(r, 0, sizeof(*r));
    uint64_t t0 = ottr_mono_ns();
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(20, GPR_TIMESPAN));
    grpc_slice m = grpc_slice_from_static_string(method);
    grpc_call *call =
        grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL, deadline, NULL);
    assert_non_null(call);
    grpc_byte_buffer *send = NULL;
    if (data) {
        grpc_slice s = grpc_slice_from_copied_buffer(data, len);
        send = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
    }
    grpc_metadata_array initial, trailing;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    grpc_byte_buffer *recv = NULL;
    grpc_slice details;
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    size_t n = 0;
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    for (int i = 1; send && i < copies; i++) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = send;
        assert_int_equal(grpc_call_start_batch(call, ops, n, &ops, NULL), GRPC_CALL_OK);
        assert_int_equal(grpc_completion_queue_pluck(cq, &ops, deadline, NULL).type,
                         GRPC_OP_COMPLETE);
        memset(ops, 0, sizeof(ops));
        n = 0;
    }
    if (send) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = send;
    }
    ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[n++].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n++].data.recv_message.recv_message = &recv;
    ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[n].data.recv_status_on_client.trailing_metadata = &trailing;
    ops[n].data.recv_status_on_client.status = &r->status;
    ops[n++].data.recv_status_on_client.status_details = &details;
    assert_int_equal(grpc_call_start_batch(call, ops, n, r, NULL), GRPC_CALL_OK);
    grpc_event ev = grpc_completion_queue_pluck(cq, r, deadline, NULL);
    assert_int_equal(ev.type, GRPC_OP_COMPLETE);
    r->seconds = (double)(ottr_mono_ns() - t0) / 1e9;

    snprintf(r->details, sizeof(r->details), "%.*s", (int)GRPC_SLICE_LENGTH(details),
             (const char *)GRPC_SLICE_START_PTR(details));
    if (recv) {
        grpc_byte_buffer_reader rd;
        assert_true(grpc_byte_buffer_reader_init(&rd, recv));
        grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
        r->has_message = 1;
        r->message_len = GRPC_SLICE_LENGTH(all);
        assert_true(r->message_len <= sizeof(r->message));
        memcpy(r->message, GRPC_SLICE_START_PTR(all), r->message_len);
        grpc_slice_unref(all);
        grpc_byte_buffer_reader_destroy(&rd);
        grpc_byte_buffer_destroy(recv);
    }
    for (size_t i = 0; i < trailing.count; i++) {
        if (grpc_slice_str_cmp(trailing.metadata[i].key, "grpc-status-details-bin") == 0) {
            r->status_bin_len = GRPC_SLICE_LENGTH(trailing.metadata[i].value);
            assert_true(r->status_bin_len <= sizeof(r->status_bin));
            memcpy(r->status_bin, GRPC_SLICE_START_PTR(trailing.metadata[i].value),
                   r->status_bin_len);
        }
    }
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    if (send)
        grpc_byte_buffer_destroy(send);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
}

/* One unary call of |method| sending |data| (no message at all when |data| is NULL). */
static void unary(grpc_channel *ch, const char *method, const void *data, size_t len, result *r)
{
    call_messages(ch, method, data, len, 1, r);
}

static void export_request(grpc_channel *ch, int ntraces, int nspans, int zero_ids, result *r)
{
    size_t len;
    uint8_t *req = make_request(ntraces, nspans, zero_ids, &len);
    unary(ch, EXPORT, req, len, r);
    free(req);
}

static uint64_t counter(const char *name, const char *labels)
{
    return ottr_counter_value(ottr_counter_get(name, "", labels));
}

/* ---- fixture ---- */

static int group_setup(void **state)
{
    (void)state;
    grpc_init();
    otlp_grpc_options o = {.addr = "127.0.0.1:0",
                           .threads = 2,
                           .max_recv_bytes = MAX_RECV,
                           .ingest = test_ingest,
                           .ingest_ctx = &REC};
    char err[256];
    if (collector_grpc_start(&o, &SRV, err, sizeof(err)) != OTTR_OK) {
        fprintf(stderr, "start: %s\n", err);
        return -1;
    }
    CH = channel_new(0);
    CH_GZIP = channel_new(1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    grpc_channel_destroy(CH);
    grpc_channel_destroy(CH_GZIP);
    collector_grpc_stop(SRV);
    grpc_shutdown_blocking();
    ottr_metrics_shutdown();
    return 0;
}

/* ---- tests ---- */

static void test_export_ok(void **state)
{
    (void)state;
    rec_reset(OTTR_OK);
    uint64_t ok0 = counter("ottr_receiver_requests_total", "protocol=\"grpc\",code=\"OK\"");
    uint64_t acc0 = counter("ottr_receiver_spans_total", "protocol=\"grpc\",result=\"accepted\"");
    result r;
    export_request(CH, 3, 4, 0, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
    assert_true(r.has_message);
    otlp_response *resp =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, r.message_len, r.message);
    assert_non_null(resp);
    assert_null(resp->partial_success);
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(resp,
                                                                                             NULL);

    assert_int_equal(REC.calls, 1);
    assert_int_equal(REC.spans, 12);
    assert_int_equal(REC.ngroups, 3);
    assert_true(REC.chunks_ok);
    for (int t = 0; t < 3; t++) {
        uint8_t want[16] = {0x7e, (uint8_t)t};
        want[15] = 1;
        assert_memory_equal(REC.trace_ids[t], want, 16);
    }
    assert_int_equal(counter("ottr_receiver_requests_total", "protocol=\"grpc\",code=\"OK\""),
                     ok0 + 1);
    assert_int_equal(counter("ottr_receiver_spans_total", "protocol=\"grpc\",result=\"accepted\""),
                     acc0 + 12);
    assert_true(counter("ottr_receiver_bytes_total", "protocol=\"grpc\"") > 0);
}

static void test_partial_success(void **state)
{
    (void)state;
    rec_reset(OTTR_OK);
    uint64_t rej0 = counter("ottr_receiver_spans_total", "protocol=\"grpc\",result=\"rejected\"");
    /* Every span with zero IDs: all rejected, ingest never called. */
    result r;
    export_request(CH, 2, 3, 1, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
    otlp_response *resp =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, r.message_len, r.message);
    assert_non_null(resp);
    assert_non_null(resp->partial_success);
    assert_int_equal(resp->partial_success->rejected_spans, 6);
    assert_non_null(strstr(resp->partial_success->error_message, "trace_id is all zeros"));
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(resp,
                                                                                             NULL);
    assert_int_equal(REC.calls, 0);
    assert_int_equal(counter("ottr_receiver_spans_total", "protocol=\"grpc\",result=\"rejected\""),
                     rej0 + 6);

    /* A mixed request: the valid spans go through, the rest are reported. */
    ottr_arena a;
    ottr_arena_init(&a, 4096, 0);
    size_t len;
    uint8_t *good = make_request(1, 2, 0, &len);
    otlp_request *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            (ProtobufCAllocator[]){otlp_pb_allocator(&a)}, len, good);
    assert_non_null(req);
    memset(req->resource_spans[0]->scope_spans[0]->spans[1]->span_id.data, 0, 8);
    size_t len2 =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            req);
    uint8_t *mixed = malloc(len2);
    assert_non_null(mixed);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(req, mixed);
    unary(CH, EXPORT, mixed, len2, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
    resp = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
        NULL, r.message_len, r.message);
    assert_non_null(resp);
    assert_non_null(resp->partial_success);
    assert_int_equal(resp->partial_success->rejected_spans, 1);
    assert_non_null(strstr(resp->partial_success->error_message, "span_id is all zeros"));
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(resp,
                                                                                             NULL);
    assert_int_equal(REC.calls, 1);
    assert_int_equal(REC.spans, 1);
    free(mixed);
    free(good);
    ottr_arena_free(&a);
}

/* Checks |r| carries google.rpc.Status{code} with a RetryInfo of 1 s. */
static void assert_retry_info(const result *r, int code)
{
    assert_true(r->status_bin_len > 0);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, r->status_bin_len, r->status_bin);
    assert_non_null(st);
    assert_int_equal(st->code, code);
    assert_int_equal(st->n_details, 1);
    assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.RetryInfo");
    Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(NULL, st->details[0]->value.len,
                                                                 st->details[0]->value.data);
    assert_non_null(ri);
    assert_non_null(ri->retry_delay);
    assert_int_equal(ri->retry_delay->seconds, OTTR_RETRY_AFTER_SECONDS);
    google__rpc__retry_info__free_unpacked(ri, NULL);
    google__rpc__status__free_unpacked(st, NULL);
}

static void test_busy_unavailable(void **state)
{
    (void)state;
    rec_reset(OTTR_ERR_BUSY);
    uint64_t ref0 = counter("ottr_receiver_spans_total", "protocol=\"grpc\",result=\"refused\"");
    result r;
    export_request(CH, 2, 2, 0, &r);
    assert_int_equal(r.status, GRPC_STATUS_UNAVAILABLE);
    assert_int_equal(REC.calls, 1);
    assert_retry_info(&r, GRPC_STATUS_UNAVAILABLE);
    assert_int_equal(counter("ottr_receiver_spans_total", "protocol=\"grpc\",result=\"refused\""),
                     ref0 + 4);

    /* A failing store is retryable too. */
    rec_reset(OTTR_ERR_IO);
    export_request(CH, 1, 1, 0, &r);
    assert_int_equal(r.status, GRPC_STATUS_UNAVAILABLE);
    assert_retry_info(&r, GRPC_STATUS_UNAVAILABLE);
    rec_reset(OTTR_OK);
}

static void test_bad_payloads(void **state)
{
    (void)state;
    rec_reset(OTTR_OK);
    uint64_t bad0 =
        counter("ottr_receiver_requests_total", "protocol=\"grpc\",code=\"INVALID_ARGUMENT\"");
    result r;
    const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02, 0x03};
    unary(CH, EXPORT, garbage, sizeof(garbage), &r);
    assert_int_equal(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(r.details, "does not decode"));
    assert_int_equal(r.status_bin_len, 0);

    const char text[] = "{\"resourceSpans\": []}";
    unary(CH, EXPORT, text, strlen(text), &r);
    assert_int_equal(r.status, GRPC_STATUS_INVALID_ARGUMENT);

    /* No message at all. */
    unary(CH, EXPORT, NULL, 0, &r);
    assert_int_equal(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(REC.calls, 0);
    assert_int_equal(
        counter("ottr_receiver_requests_total", "protocol=\"grpc\",code=\"INVALID_ARGUMENT\""),
        bad0 + 3);
}

static void test_empty_request(void **state)
{
    (void)state;
    rec_reset(OTTR_OK);
    result r;
    unary(CH, EXPORT, "", 0, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
    assert_true(r.has_message);
    assert_int_equal(REC.calls, 0);
}

/* Export is unary: a second request message fails the call with INTERNAL and
 * neither message is ingested. */
static void test_two_messages(void **state)
{
    (void)state;
    rec_reset(OTTR_OK);
    uint64_t internal0 =
        counter("ottr_receiver_requests_total", "protocol=\"grpc\",code=\"INTERNAL\"");
    size_t len;
    uint8_t *req = make_request(1, 2, 0, &len);
    result r;
    call_messages(CH, EXPORT, req, len, 2, &r);
    assert_int_equal(r.status, GRPC_STATUS_INTERNAL);
    assert_non_null(strstr(r.details, "more than one request message"));
    assert_int_equal(REC.spans, 0);
    assert_int_equal(counter("ottr_receiver_requests_total", "protocol=\"grpc\",code=\"INTERNAL\""),
                     internal0 + 1);
    /* One message on the same channel still goes through. */
    call_messages(CH, EXPORT, req, len, 1, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
    assert_int_equal(REC.spans, 2);
    free(req);
}

static void test_unknown_method(void **state)
{
    (void)state;
    result r;
    unary(CH, "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", "", 0, &r);
    assert_int_equal(r.status, GRPC_STATUS_UNIMPLEMENTED);
    assert_true(r.seconds < 2.0);
    unary(CH, "/no.such.Service/Method", NULL, 0, &r);
    assert_int_equal(r.status, GRPC_STATUS_UNIMPLEMENTED);
    assert_true(r.seconds < 2.0);
}

static void test_too_large(void **state)
{
    (void)state;
    rec_reset(OTTR_OK);
    size_t len;
    uint8_t *req = make_request(64, 1000, 0, &len);
    assert_true(len > MAX_RECV);
    result r;
    unary(CH, EXPORT, req, len, &r);
    assert_int_equal(r.status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_int_equal(r.status_bin_len, 0); /* no RetryInfo: do not retry */
    free(req);
    assert_int_equal(REC.calls, 0);
}

/* A small message that decodes into a huge tree: refused, and the server lives on. */
static void test_decode_bomb(void **state)
{
    (void)state;
    rec_reset(OTTR_OK);
    /* ExportTraceServiceRequest{ResourceSpans{ScopeSpans{Span{} x N}}}: 2 wire bytes per
     * span, ~200 decoded. */
    size_t n = (MAX_RECV - 64) / 2;
    size_t ss_len = n * 2, rs_len = 1 + 3 + ss_len, len = 1 + 3 + rs_len;
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(otlp_varint_len(rs_len), 3);
    assert_int_equal(otlp_varint_len(ss_len), 3);
    size_t k = 0;
    buf[k++] = 0x0a; /* resource_spans, 3-byte length */
    k = (size_t)(otlp_varint_put(buf + k, rs_len) - buf);
    buf[k++] = 0x12; /* scope_spans */
    k = (size_t)(otlp_varint_put(buf + k, ss_len) - buf);
    for (size_t i = 0; i < n; i++) {
        buf[k++] = 0x12; /* spans: empty */
        buf[k++] = 0x00;
    }
    assert_int_equal(k, len);
    result r;
    unary(CH, EXPORT, buf, len, &r);
    assert_int_equal(r.status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(r.details, "too large"));
    assert_int_equal(REC.calls, 0);
    free(buf);
    export_request(CH, 1, 1, 0, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
}

static void test_gzip(void **state)
{
    (void)state;
    rec_reset(OTTR_OK);
    result r;
    export_request(CH_GZIP, 4, 8, 0, &r);
    assert_int_equal(r.status, GRPC_STATUS_OK);
    assert_int_equal(REC.spans, 32);
    assert_int_equal(REC.ngroups, 4);

    /* Compressed small, decompressed over the limit: refused as too large. */
    size_t len;
    uint8_t *req = make_request(64, 1000, 0, &len);
    unary(CH_GZIP, EXPORT, req, len, &r);
    assert_int_equal(r.status, GRPC_STATUS_RESOURCE_EXHAUSTED);
    free(req);
}

static void test_still_serving(void **state)
{
    (void)state;
    rec_reset(OTTR_OK);
    for (int i = 0; i < 20; i++) {
        result r;
        export_request(i % 2 ? CH_GZIP : CH, 2, 2, 0, &r);
        assert_int_equal(r.status, GRPC_STATUS_OK);
    }
    assert_int_equal(REC.spans, 80);

    ottr_buf out = {0};
    ottr_metrics_render(&out);
    assert_false(out.oom);
    assert_non_null(
        strstr(out.data, "ottr_receiver_request_duration_seconds_bucket{protocol=\"grpc\""));
    assert_non_null(strstr(
        out.data, "ottr_receiver_requests_total{protocol=\"grpc\",code=\"UNIMPLEMENTED\"} 2"));
    /* Oversized messages are refused by gRPC before they reach the handler. */
    assert_non_null(strstr(
        out.data, "ottr_receiver_requests_total{protocol=\"grpc\",code=\"INVALID_ARGUMENT\"} 3"));
    ottr_buf_free(&out);
}

static void test_bad_address(void **state)
{
    (void)state;
    otlp_grpc *g = NULL;
    otlp_grpc_options o = {.addr = "127.0.0.1:",
                           .threads = 1,
                           .max_recv_bytes = MAX_RECV,
                           .ingest = test_ingest,
                           .ingest_ctx = &REC};
    char err[256] = "";
    char addr[64];
    /* The port the server already holds cannot be taken twice. */
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", collector_grpc_port(SRV));
    o.addr = addr;
    assert_int_not_equal(collector_grpc_start(&o, &g, err, sizeof(err)), OTTR_OK);
    assert_null(g);
    assert_non_null(strstr(err, "cannot listen"));

    /* And a second server on its own port starts and stops cleanly. */
    o.addr = "127.0.0.1:0";
    assert_int_equal(collector_grpc_start(&o, &g, err, sizeof(err)), OTTR_OK);
    assert_true(collector_grpc_port(g) > 0);
    collector_grpc_stop(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_ok),        cmocka_unit_test(test_partial_success),
        cmocka_unit_test(test_busy_unavailable), cmocka_unit_test(test_bad_payloads),
        cmocka_unit_test(test_empty_request),    cmocka_unit_test(test_two_messages),
        cmocka_unit_test(test_unknown_method),   cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_decode_bomb),      cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_bad_address),      cmocka_unit_test(test_still_serving),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
