/* tests/otlp/test_json_doc.c - trace documents in OTLP/JSON as query APIs answer
 * and people save them (otlp_json_decode_traces, what `ottr trace` and `ottr
 * send` read): the Tempo and Jaeger wrappers, the old instrumentationLibrary
 * names, IDs in base64, enums as words, bad content skipped, and what is not a
 * trace at all. The export request decoder stays strict about all of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otlp/otlp.h"

#define RS(spans)                                                                                  \
    "[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"        \
    "\"api\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"lib\"},\"spans\":[" spans "]}]}]"
#define SPAN(id, parent)                                                                           \
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"" id "\","                     \
    "\"parentSpanId\":\"" parent "\",\"name\":\"s\"}"

typedef struct doc {
    ottr_arena a;
    otlp_traces_data *td;
    otlp_json_doc info;
    char err[160];
    ottr_status st;
} doc;

static void decode(doc *d, const char *json)
{
    memset(d, 0, sizeof(*d));
    ottr_arena_init(&d->a, 4096, 0);
    d->st = otlp_json_decode_traces(&d->a, json, strlen(json), &d->td, &d->info, d->err,
                                    sizeof(d->err));
}

static size_t nspans(const doc *d)
{
    otlp_trace t;
    ottr_arena a;
    ottr_arena_init(&a, 1024, 0);
    assert_int_equal(otlp_trace_from_data(&t, &a, d->td), OTTR_OK);
    ottr_arena_free(&a);
    return t.nspans;
}

static const otlp_span *span0(const doc *d)
{
    return d->td->resource_spans[0]->scope_spans[0]->spans[0];
}

/* The document |json| decodes to |n| spans, with its array at |array| and the
 * |wrapped| flag. */
static void expect_doc(const char *json, size_t n, const char *array, int wrapped)
{
    doc d;
    decode(&d, json);
    if (d.st != OTTR_OK)
        fail_msg("%s: %s (%s)", json, ottr_status_str(d.st), d.err);
    assert_int_equal(nspans(&d), n);
    assert_int_equal(d.info.wrapped, wrapped);
    if (array) {
        assert_int_equal(d.info.array_len, strlen(array));
        assert_memory_equal(json + d.info.array_off, array, strlen(array));
    } else {
        assert_int_equal(d.info.array_len, 0);
    }
    ottr_arena_free(&d.a);
}

static void test_wrappers(void **state)
{
    (void)state;
    const char *arr = RS(SPAN("1112131415161718", ""));
    char json[1024];
    const char *forms[][2] = {
        {"{\"resourceSpans\":%s}", "0"},
        {"{\"resource_spans\":%s}", "0"},
        {"{\"batches\":%s}", "1"},
        {"{\"trace\":{\"resourceSpans\":%s},\"status\":\"COMPLETE\"}", "1"},
        {"{\"trace\":{\"batches\":%s}}", "1"},
        {"{\"result\":{\"resourceSpans\":%s}}", "1"},
        {" { \"other\" : 1 , \"batches\" : %s } ", "1"},
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(json, sizeof(json), forms[i][0], arr);
        expect_doc(json, 1, arr, forms[i][1][0] == '1');
    }
    /* Tempo's "batches" wins over "resourceSpans", "trace" over "result", and the
     * wrapper over what is beside it */
    const char *other = RS(SPAN("2122232425262728", "") "," SPAN("3132333435363738", ""));
    snprintf(json, sizeof(json), "{\"resourceSpans\":%s,\"batches\":%s}", other, arr);
    expect_doc(json, 1, arr, 1);
    snprintf(json, sizeof(json), "{\"result\":{\"resourceSpans\":%s},\"trace\":{\"batches\":%s}}",
             other, arr);
    expect_doc(json, 1, arr, 1);
    snprintf(json, sizeof(json), "{\"resourceSpans\":%s,\"trace\":{\"resourceSpans\":%s}}", other,
             arr);
    expect_doc(json, 1, arr, 1);

    /* empty traces */
    expect_doc("{}", 0, NULL, 0);
    expect_doc("{\"batches\":[]}", 0, "[]", 1);
    expect_doc("{\"resourceSpans\":null}", 0, NULL, 0);
    expect_doc("{\"trace\":{}}", 0, NULL, 1);
    expect_doc("{\"trace\":5}", 0, NULL, 0);
    expect_doc("{\"trace\":{\"resourceSpans\":[]},\"status\":\"COMPLETE\"}", 0, "[]", 1);
    expect_doc("{\"resourceSpans\":[{}]}", 0, "[{}]", 0);
}

static void expect_invalid(const char *json, const char *why)
{
    doc d;
    decode(&d, json);
    if (d.st != OTTR_ERR_INVALID)
        fail_msg("%s: got %s, want invalid", json, ottr_status_str(d.st));
    if (strstr(d.err, why) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", json, d.err, why);
    assert_null(d.td);
    ottr_arena_free(&d.a);
}

static void test_not_traces(void **state)
{
    (void)state;
    expect_invalid("", "empty");
    expect_invalid("   ", "empty");
    expect_invalid("not json", "expected a JSON object");
    expect_invalid("[1,2,3]", "expected a JSON object");
    expect_invalid("{\"something\":\"else\"}", "no \"resourceSpans\" or \"batches\"");
    expect_invalid("{\"trace\":{\"x\":1}}", "no \"resourceSpans\"");
    expect_invalid("{\"batches\":5}", "expected an array");
    expect_invalid("{\"trace\":{\"resourceSpans\":{}}}", "expected an array");
    expect_invalid("{\"batches\":[", "truncated");
    expect_invalid("{} trailing", "trailing data");
    expect_invalid("{\"batches\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\"]}]}]}",
                   "expected ',' or '}'");
    expect_invalid("{\"batches\":[{\"scopeSpans\":[{\"spans\":[{\"name\":tru}]}]}]}",
                   "invalid JSON literal");
    /* nesting is bounded here too */
    ottr_buf deep = {0};
    ottr_buf_puts(&deep, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"k\","
                         "\"value\":");
    for (int i = 0; i < 200; i++)
        ottr_buf_puts(&deep, "{\"arrayValue\":{\"values\":[");
    expect_invalid(deep.data, "nesting too deep");
    ottr_buf_free(&deep);
}

/* What Tempo and older exporters write: base64 IDs, instrumentationLibrarySpans,
 * enum words, 64-bit numbers as JSON numbers. */
static void test_tempo_variants(void **state)
{
    (void)state;
    const char *json =
        "{\"batches\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
        "{\"stringValue\":\"api\"}}]},\"instrumentationLibrarySpans\":[{"
        "\"instrumentationLibrary\":{\"name\":\"old.lib\"},\"spans\":["
        "{\"traceId\":\"S/kvNXezTaajzpKdDg5HNg==\",\"spanId\":\"AAAAAAAAAAE=\",\"name\":\"root\","
        "\"kind\":\"SPAN_KIND_SERVER\",\"startTimeUnixNano\":1000000000,"
        "\"endTimeUnixNano\":\"1002000000\",\"status\":{\"code\":\"STATUS_CODE_ERROR\"}},"
        "{\"trace_id\":\"S_kvNXezTaajzpKdDg5HNg\",\"span_id\":\"AAAAAAAAAAI=\","
        "\"parent_span_id\":\"AAAAAAAAAAE=\",\"name\":\"child\",\"kind\":\"client\","
        "\"status\":{\"code\":\"Ok\"},\"links\":[{\"traceId\":\"S/kvNXezTaajzpKdDg5HNg==\","
        "\"spanId\":\"0000000000000001\"}]}]}]}]}";
    doc d;
    decode(&d, json);
    assert_int_equal(d.st, OTTR_OK);
    assert_int_equal(d.info.wrapped, 1);
    otlp_trace t;
    assert_int_equal(otlp_trace_from_data(&t, &d.a, d.td), OTTR_OK);
    assert_int_equal(otlp_trace_build_tree(&t, &d.a), OTTR_OK);
    assert_int_equal(t.nspans, 2);
    static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                    0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    static const uint8_t sid1[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(t.spans[i].span->trace_id.len, 16);
        assert_memory_equal(t.spans[i].span->trace_id.data, tid, 16);
        assert_string_equal(t.spans[i].service, "api");
        assert_string_equal(t.spans[i].scope->name, "old.lib");
    }
    assert_int_equal(t.spans[0].span->span_id.len, 8);
    assert_memory_equal(t.spans[0].span->span_id.data, sid1, 8);
    assert_int_equal(t.spans[0].span->kind, 2);
    assert_int_equal(t.spans[0].span->start_time_unix_nano, 1000000000u);
    assert_int_equal(t.spans[0].span->end_time_unix_nano, 1002000000u);
    assert_int_equal(otlp_span_status_code(t.spans[0].span), 2);
    assert_int_equal(t.spans[1].span->kind, 3);
    assert_int_equal(otlp_span_status_code(t.spans[1].span), 1);
    assert_int_equal(t.spans[1].parent, 0);
    assert_int_equal(t.norphans, 0);
    const otlp_link *l = t.spans[1].span->links[0];
    assert_memory_equal(l->trace_id.data, tid, 16);
    assert_int_equal(l->span_id.len, 8);
    assert_memory_equal(l->span_id.data, sid1, 8);
    ottr_arena_free(&d.a);
}

/* IDs: hex of the right length first, then base64 of the right length, then any
 * hex, else the text itself - never nothing, so that a bad parent ID still names
 * a parent (an orphan) instead of making a root. */
static void test_ids(void **state)
{
    (void)state;
    const struct {
        const char *id;
        size_t len;
        const char *bytes;
    } cases[] = {
        {"0000000000000001", 8, "\0\0\0\0\0\0\0\1"},
        {"AAAAAAAAAAE=", 8, "\0\0\0\0\0\0\0\1"},
        {"AAAAAAAAAAE", 8, "\0\0\0\0\0\0\0\1"},
        {"00ff", 2, "\0\xff"},
        {"zz", 2, "zz"},
        {"not an id!", 10, "not an id!"},
        {"", 0, ""},
    };
    char json[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(json, sizeof(json), "{\"resourceSpans\":%s}", RS(SPAN("%s", "%s")));
        char doc_text[600];
        snprintf(doc_text, sizeof(doc_text), json, cases[i].id, cases[i].id);
        doc d;
        decode(&d, doc_text);
        assert_int_equal(d.st, OTTR_OK);
        const otlp_span *s = span0(&d);
        assert_int_equal(s->span_id.len, cases[i].len);
        assert_int_equal(s->parent_span_id.len, cases[i].len);
        if (cases[i].len)
            assert_memory_equal(s->span_id.data, cases[i].bytes, cases[i].len);
        ottr_arena_free(&d.a);
    }
    /* null is no ID */
    doc d;
    decode(&d, "{\"resourceSpans\":" RS("{\"spanId\":null,\"parentSpanId\":null}") "}");
    assert_int_equal(d.st, OTTR_OK);
    assert_int_equal(span0(&d)->span_id.len, 0);
    ottr_arena_free(&d.a);
}

/* Content of the wrong type is skipped, field by field or element by element;
 * the rest of the document is kept. */
static void test_bad_content_skipped(void **state)
{
    (void)state;
    const char *json =
        "{\"resourceSpans\":[5,{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"api\"}},{\"key\":\"bad\",\"value\":{\"intValue\":\"x\"}}],"
        "\"droppedAttributesCount\":-1},\"scopeSpans\":[{\"spans\":[1,\"x\",null,"
        "{\"spanId\":\"0000000000000001\",\"name\":5,\"kind\":\"weird\",\"status\":{\"code\":[1]},"
        "\"startTimeUnixNano\":\"soon\",\"endTimeUnixNano\":\"7\",\"attributes\":{\"k\":1},"
        "\"events\":[{\"name\":\"e\",\"timeUnixNano\":{}}],\"links\":7,\"flags\":-3},"
        "{\"spanId\":\"0000000000000002\",\"parentSpanId\":\"0000000000000001\",\"name\":\"ok\"}"
        "]}],\"schemaUrl\":false}]}";
    doc d;
    decode(&d, json);
    if (d.st != OTTR_OK)
        fail_msg("%s (%s)", ottr_status_str(d.st), d.err);
    assert_string_equal(d.err, "");
    assert_int_equal(d.td->n_resource_spans, 1);
    const otlp_resource_spans *rs = d.td->resource_spans[0];
    assert_string_equal(otlp_resource_service(rs->resource), "api");
    assert_int_equal(rs->resource->n_attributes, 2);
    assert_int_equal(rs->resource->attributes[1]->value->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
    const otlp_scope_spans *ss = rs->scope_spans[0];
    assert_int_equal(ss->n_spans, 2);
    const otlp_span *s = ss->spans[0];
    assert_int_equal(s->span_id.len, 8);
    assert_string_equal(s->name, "");
    assert_int_equal(s->kind, 0);
    assert_non_null(s->status);
    assert_int_equal(s->status->code, 0);
    assert_int_equal(s->start_time_unix_nano, 0);
    assert_int_equal(s->end_time_unix_nano, 7);
    assert_int_equal(s->n_attributes, 0);
    assert_int_equal(s->n_events, 1);
    assert_string_equal(s->events[0]->name, "e");
    assert_int_equal(s->n_links, 0);
    assert_int_equal(s->flags, 0);
    assert_string_equal(ss->spans[1]->name, "ok");
    ottr_arena_free(&d.a);
}

/* The export request decoder keeps to the OTLP/JSON spec: none of the document
 * leniency reaches the receivers. */
static void test_request_decoder_stays_strict(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"resourceSpans\":" RS("{\"spanId\":\"AAAAAAAAAAE=\"}") "}",
        "{\"resourceSpans\":" RS("{\"spanId\":\"zz\"}") "}",
        "{\"resourceSpans\":" RS("{\"kind\":\"server\"}") "}",
        "{\"resourceSpans\":" RS("{\"kind\":\"span_kind_server\"}") "}",
        "{\"resourceSpans\":" RS("{\"name\":5}") "}",
        "{\"resourceSpans\":" RS("1") "}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ottr_arena a;
        ottr_arena_init(&a, 4096, 0);
        otlp_request *req;
        char err[128];
        if (otlp_json_decode_request(&a, bad[i], strlen(bad[i]), &req, err, sizeof(err)) !=
            OTTR_ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
        ottr_arena_free(&a);
    }
    /* old names and wrappers are unknown fields there: no spans */
    const char *ignored[] = {
        "{\"batches\":" RS("{\"name\":\"x\"}") "}",
        "{\"resourceSpans\":[{\"instrumentationLibrarySpans\":[{\"spans\":[{}]}]}]}",
    };
    for (size_t i = 0; i < 2; i++) {
        ottr_arena a;
        ottr_arena_init(&a, 4096, 0);
        otlp_request *req;
        char err[128];
        assert_int_equal(
            otlp_json_decode_request(&a, ignored[i], strlen(ignored[i]), &req, err, sizeof(err)),
            OTTR_OK);
        size_t n = 0;
        for (size_t r = 0; r < req->n_resource_spans; r++)
            n += req->resource_spans[r]->n_scope_spans;
        assert_int_equal(n, 0);
        ottr_arena_free(&a);
    }
}

static void test_arena_limit(void **state)
{
    (void)state;
    const char *json = "{\"batches\":" RS(
        SPAN("1112131415161718", "") "," SPAN("2122232425262728", "1112131415161718")) "}";
    ottr_arena a;
    ottr_arena_init(&a, 64, 128);
    otlp_traces_data *td;
    char err[128];
    assert_int_equal(otlp_json_decode_traces(&a, json, strlen(json), &td, NULL, err, sizeof(err)),
                     OTTR_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "too large"));
    ottr_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrappers),
        cmocka_unit_test(test_not_traces),
        cmocka_unit_test(test_tempo_variants),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_bad_content_skipped),
        cmocka_unit_test(test_request_decoder_stays_strict),
        cmocka_unit_test(test_arena_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
