/* tests/collector/test_ingest.c - one export request through collector_ingest_export:
 * accepted, partly rejected, undecodable, too large, pushed back or failed,
 * over an input limit, with the same outcome and span counts for a protobuf and
 * a JSON body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/collector.h"
#include "otlp/otlp.h"

/* What the ingest entry point saw, and what it answers. */
typedef struct recorder {
    ottr_status answer;
    int calls;
    size_t spans;
} recorder;

static ottr_status record_ingest(void *ctx, const otlp_batch *b)
{
    recorder *r = ctx;
    *r = (recorder){r->answer, r->calls + 1, r->spans + b->nspans};
    return r->answer;
}

static const char JSON_OK[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"svc\"}}]},\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\","
    "\"name\":\"a\"},"
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"2112131415161718\","
    "\"parentSpanId\":\"1112131415161718\",\"name\":\"b\"},"
    "{\"traceId\":\"2102030405060708090a0b0c0d0e0f10\",\"spanId\":\"3112131415161718\","
    "\"name\":\"c\"}]}]}]}";

/* One span with an all-zero trace ID, one with an all-zero span ID, one valid. */
static const char JSON_BAD_IDS[] =
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"00000000000000000000000000000000\",\"spanId\":\"1112131415161718\"},"
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0000000000000000\"},"
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"2112131415161718\"}"
    "]}]}]}";

/* The request of |json| as protobuf; caller frees. */
static uint8_t *to_proto(const char *json, size_t *len)
{
    ottr_arena a;
    ottr_arena_init(&a, 4096, 0);
    otlp_request *req = NULL;
    char err[256];
    assert_int_equal(otlp_json_decode_request(&a, json, strlen(json), &req, err, sizeof(err)),
                     OTTR_OK);
    *len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            req);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(req, out);
    ottr_arena_free(&a);
    return out;
}

static uint64_t counter(const char *result)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "protocol=\"test\",result=\"%s\"", result);
    return ottr_counter_value(ottr_counter_get("ottr_receiver_spans_total", "", labels));
}

/* Runs |json| and its protobuf twin through collector_ingest_export with |answer| from
 * ingest and an arena limited to |limit| bytes (0 = none); checks that both give
 * the same result, the span counters moved by it, and returns it in |out|. */
static void both_limited(const char *json, const otlp_limits *lim, ottr_status answer, size_t limit,
                         ingest_result *out, recorder *rec_out)
{
    ingest_counters c;
    collector_ingest_counters_init(&c, "test");
    size_t plen;
    uint8_t *pb = to_proto(json, &plen);
    ingest_result r[2];
    recorder rec[2];
    for (int i = 0; i < 2; i++) {
        uint64_t acc0 = counter("accepted"), rej0 = counter("rejected"), ref0 = counter("refused");
        memset(&rec[i], 0, sizeof(rec[i]));
        rec[i].answer = answer;
        ottr_arena a;
        ottr_arena_init(&a, 1024, limit);
        if (i == 0)
            collector_ingest_export(record_ingest, NULL, &rec[i], 0, &c, lim, &a, INGEST_PROTOBUF,
                                    pb, plen, &r[i]);
        else
            collector_ingest_export(record_ingest, NULL, &rec[i], 0, &c, lim, &a, INGEST_JSON,
                                    (const uint8_t *)json, strlen(json), &r[i]);
        ottr_arena_free(&a);
        assert_int_equal(counter("accepted"), acc0 + r[i].accepted);
        assert_int_equal(counter("rejected"), rej0 + r[i].rejected);
        assert_int_equal(counter("refused"), ref0 + r[i].refused);
    }
    free(pb);
    assert_int_equal(r[0].outcome, r[1].outcome);
    assert_int_equal(r[0].accepted, r[1].accepted);
    assert_int_equal(r[0].rejected, r[1].rejected);
    assert_int_equal(r[0].refused, r[1].refused);
    assert_int_equal(r[0].retry_after_s, r[1].retry_after_s);
    assert_int_equal(rec[0].calls, rec[1].calls);
    assert_int_equal(rec[0].spans, rec[1].spans);
    if (r[0].outcome == INGEST_PARTIAL)
        assert_string_equal(r[0].message, r[1].message);
    *out = r[1];
    *rec_out = rec[1];
}

static void both(const char *json, ottr_status answer, size_t limit, ingest_result *out,
                 recorder *rec_out)
{
    both_limited(json, NULL, answer, limit, out, rec_out);
}

static void test_ok(void **state)
{
    (void)state;
    ingest_result r;
    recorder rec;
    both(JSON_OK, OTTR_OK, 0, &r, &rec);
    assert_int_equal(r.outcome, INGEST_OK);
    assert_int_equal(r.accepted, 3);
    assert_int_equal(r.rejected, 0);
    assert_int_equal(r.refused, 0);
    assert_int_equal(r.retry_after_s, 0);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.spans, 3);
}

static void test_partial(void **state)
{
    (void)state;
    ingest_result r;
    recorder rec;
    both(JSON_BAD_IDS, OTTR_OK, 0, &r, &rec);
    assert_int_equal(r.outcome, INGEST_PARTIAL);
    assert_int_equal(r.accepted, 1);
    assert_int_equal(r.rejected, 2);
    assert_non_null(strstr(r.message, "2 spans rejected; first: "));
    assert_non_null(strstr(r.message, "trace_id is all zeros"));
    assert_int_equal(rec.spans, 1);
}

static void test_undecodable(void **state)
{
    (void)state;
    ingest_counters c;
    collector_ingest_counters_init(&c, "test");
    recorder rec = {OTTR_OK, 0, 0};
    ingest_result r;
    ottr_arena a;
    ottr_arena_init(&a, 1024, 0);
    static const uint8_t trunc[] = {0x0a, 0x10, 0x12};
    collector_ingest_export(record_ingest, NULL, &rec, 0, &c, NULL, &a, INGEST_PROTOBUF, trunc,
                            sizeof(trunc), &r);
    assert_int_equal(r.outcome, INGEST_INVALID);
    assert_non_null(strstr(r.message, "does not decode"));
    assert_int_equal(r.retry_after_s, 0);
    ottr_arena_reset(&a);
    static const char bad[] = "{\"resourceSpans\":[{";
    collector_ingest_export(record_ingest, NULL, &rec, 0, &c, NULL, &a, INGEST_JSON,
                            (const uint8_t *)bad, strlen(bad), &r);
    assert_int_equal(r.outcome, INGEST_INVALID);
    assert_non_null(strstr(r.message, "invalid OTLP/JSON"));
    assert_int_equal(r.accepted + r.rejected + r.refused, 0);
    assert_int_equal(rec.calls, 0);
    ottr_arena_free(&a);

    /* An empty body is an empty request. */
    ottr_arena_init(&a, 1024, 0);
    collector_ingest_export(record_ingest, NULL, &rec, 0, &c, NULL, &a, INGEST_JSON, NULL, 0, &r);
    assert_int_equal(r.outcome, INGEST_OK);
    assert_int_equal(rec.calls, 0);
    ottr_arena_free(&a);
}

static void test_too_large(void **state)
{
    (void)state;
    ingest_result r;
    recorder rec;
    both(JSON_OK, OTTR_OK, 200, &r, &rec);
    assert_int_equal(r.outcome, INGEST_TOO_LARGE);
    assert_non_null(strstr(r.message, "too large"));
    assert_int_equal(r.retry_after_s, 0); /* do not retry */
    assert_int_equal(r.accepted, 0);
    assert_int_equal(rec.calls, 0);
}

static void test_busy_and_failed(void **state)
{
    (void)state;
    ingest_result r;
    recorder rec;
    both(JSON_BAD_IDS, OTTR_ERR_BUSY, 0, &r, &rec);
    assert_int_equal(r.outcome, INGEST_BUSY);
    assert_int_equal(r.retry_after_s, OTTR_RETRY_AFTER_SECONDS);
    assert_int_equal(r.accepted, 0);
    assert_int_equal(r.rejected, 2);
    assert_int_equal(r.refused, 1);
    assert_int_equal(rec.calls, 1);

    both(JSON_OK, OTTR_ERR_IO, 0, &r, &rec);
    assert_int_equal(r.outcome, INGEST_UNAVAILABLE);
    assert_int_equal(r.retry_after_s, OTTR_RETRY_AFTER_SECONDS);
    assert_int_equal(r.refused, 3);
    assert_non_null(strstr(r.message, "cannot store the spans"));
}

static uint64_t rejected_for(const char *reason)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "protocol=\"test\",reason=\"%s\"", reason);
    return ottr_counter_value(ottr_counter_get("ottr_receiver_spans_rejected_total", "", labels));
}

/* One span with two attributes, one with one, one with none. */
static const char JSON_ATTRS[] =
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\","
    "\"attributes\":[{\"key\":\"a\",\"value\":{\"intValue\":\"1\"}},"
    "{\"key\":\"b\",\"value\":{\"intValue\":\"2\"}}]},"
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"2112131415161718\","
    "\"attributes\":[{\"key\":\"a\",\"value\":{\"intValue\":\"1\"}}]},"
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"3112131415161718\"}"
    "]}]}]}";

/* A span over a per-span limit is rejected, the rest taken; counted by reason. */
static void test_span_limit(void **state)
{
    (void)state;
    otlp_limits lim = {.max_attributes_per_span = 1};
    uint64_t by0 = rejected_for("max_attributes_per_span");
    ingest_result r;
    recorder rec;
    both_limited(JSON_ATTRS, &lim, OTTR_OK, 0, &r, &rec);
    assert_int_equal(r.outcome, INGEST_PARTIAL);
    assert_int_equal(r.accepted, 2);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(rec.spans, 2);
    assert_string_equal(r.message, "1 span rejected; first: resource_spans[0].scope_spans[0]."
                                   "spans[0] (span 1112131415161718): 2 attributes, limit 1 "
                                   "(limits.max_attributes_per_span)");
    assert_int_equal(rejected_for("max_attributes_per_span"), by0 + 2); /* protobuf and JSON */

    lim.max_attributes_per_span = 2;
    both_limited(JSON_ATTRS, &lim, OTTR_OK, 0, &r, &rec);
    assert_int_equal(r.outcome, INGEST_OK);
    assert_int_equal(r.accepted, 3);
}

/* A request of more spans than max_spans_per_request is refused whole, as too
 * large; at the limit it is taken. */
static void test_spans_per_request(void **state)
{
    (void)state;
    otlp_limits lim = {.max_spans_per_request = 2};
    uint64_t by0 = rejected_for("max_spans_per_request");
    ingest_result r;
    recorder rec;
    both_limited(JSON_OK, &lim, OTTR_OK, 0, &r, &rec);
    assert_int_equal(r.outcome, INGEST_TOO_LARGE);
    assert_int_equal(r.retry_after_s, 0); /* do not retry */
    assert_int_equal(r.accepted, 0);
    assert_int_equal(r.rejected, 3);
    assert_int_equal(rec.calls, 0);
    assert_non_null(
        strstr(r.message, "request has 3 spans, limit 2 (limits.max_spans_per_request)"));
    assert_int_equal(rejected_for("max_spans_per_request"), by0 + 6);

    lim.max_spans_per_request = 3;
    both_limited(JSON_OK, &lim, OTTR_OK, 0, &r, &rec);
    assert_int_equal(r.outcome, INGEST_OK);
    assert_int_equal(r.accepted, 3);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_partial),
        cmocka_unit_test(test_undecodable),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_busy_and_failed),
        cmocka_unit_test(test_span_limit),
        cmocka_unit_test(test_spans_per_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
