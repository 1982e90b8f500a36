/* tests/otlp/test_json_decode.c - OTLP/JSON decoding: every field in both name
 * styles matches the protobuf decode of the same message; bad input is refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otlp/otlp.h"

/* Every field of the trace signal, lowerCamelCase, with some int64s as strings and
 * some as numbers. */
static const char FULL_JSON[] =
    "{\"resourceSpans\":[{"
    " \"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
    "\"checkout\"}}],\"droppedAttributesCount\":1},"
    " \"scopeSpans\":[{"
    "  \"scope\":{\"name\":\"lib\",\"version\":\"1.2\",\"attributes\":[{\"key\":\"s\","
    "\"value\":{\"boolValue\":true}}],\"droppedAttributesCount\":2},"
    "  \"spans\":[{"
    "   \"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
    "   \"spanId\":\"1112131415161718\","
    "   \"traceState\":\"k=v\","
    "   \"parentSpanId\":\"2122232425262728\","
    "   \"flags\":257,"
    "   \"name\":\"GET /x\","
    "   \"kind\":2,"
    "   \"startTimeUnixNano\":\"1700000000000000000\","
    "   \"endTimeUnixNano\":1700000000500000000,"
    "   \"attributes\":["
    "    {\"key\":\"str\",\"value\":{\"stringValue\":\"v\\n\\u00e9\\ud83d\\ude00\"}},"
    "    {\"key\":\"bool\",\"value\":{\"boolValue\":true}},"
    "    {\"key\":\"int\",\"value\":{\"intValue\":\"-42\"}},"
    "    {\"key\":\"int2\",\"value\":{\"intValue\":9007199254740993}},"
    "    {\"key\":\"dbl\",\"value\":{\"doubleValue\":1.5}},"
    "    {\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},"
    "{\"intValue\":1}]}}},"
    "    {\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"n\",\"value\":"
    "{\"doubleValue\":2}}]}}},"
    "    {\"key\":\"bytes\",\"value\":{\"bytesValue\":\"AQID\"}}"
    "   ],"
    "   \"droppedAttributesCount\":3,"
    "   \"events\":[{\"timeUnixNano\":\"1700000000100000000\",\"name\":\"ev\","
    "\"attributes\":[{\"key\":\"e\",\"value\":{\"intValue\":7}}],\"droppedAttributesCount\":4}],"
    "   \"droppedEventsCount\":5,"
    "   \"links\":[{\"traceId\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\",\"spanId\":"
    "\"b0b1b2b3b4b5b6b7\",\"traceState\":\"a=b\",\"attributes\":[{\"key\":\"l\",\"value\":"
    "{\"stringValue\":\"x\"}}],\"droppedAttributesCount\":6,\"flags\":1}],"
    "   \"droppedLinksCount\":7,"
    "   \"status\":{\"message\":\"boom\",\"code\":2}"
    "  }],"
    "  \"schemaUrl\":\"https://scope\""
    " }],"
    " \"schemaUrl\":\"https://res\""
    "}]}";

/* camelCase -> snake_case names for the multi-word fields. */
static const char *const SNAKE[][2] = {
    {"\"resourceSpans\"", "\"resource_spans\""},
    {"\"scopeSpans\"", "\"scope_spans\""},
    {"\"droppedAttributesCount\"", "\"dropped_attributes_count\""},
    {"\"droppedEventsCount\"", "\"dropped_events_count\""},
    {"\"droppedLinksCount\"", "\"dropped_links_count\""},
    {"\"traceId\"", "\"trace_id\""},
    {"\"spanId\"", "\"span_id\""},
    {"\"parentSpanId\"", "\"parent_span_id\""},
    {"\"traceState\"", "\"trace_state\""},
    {"\"startTimeUnixNano\"", "\"start_time_unix_nano\""},
    {"\"endTimeUnixNano\"", "\"end_time_unix_nano\""},
    {"\"timeUnixNano\"", "\"time_unix_nano\""},
    {"\"schemaUrl\"", "\"schema_url\""},
    {"\"stringValue\"", "\"string_value\""},
    {"\"boolValue\"", "\"bool_value\""},
    {"\"intValue\"", "\"int_value\""},
    {"\"doubleValue\"", "\"double_value\""},
    {"\"arrayValue\"", "\"array_value\""},
    {"\"kvlistValue\"", "\"kvlist_value\""},
    {"\"bytesValue\"", "\"bytes_value\""},
};

/* Returns a malloc'ed copy of |s| with every |from| replaced by |to|. */
static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = s; (p = strstr(p, from)); p += fl)
        n++;
    char *out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1);
    assert_non_null(out);
    char *o = out;
    const char *p = s, *q;
    while ((q = strstr(p, from))) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    strcpy(o, p);
    return out;
}

static char *to_snake(const char *json)
{
    char *cur = strdup(json);
    for (size_t i = 0; i < sizeof(SNAKE) / sizeof(SNAKE[0]); i++) {
        char *next = replace_all(cur, SNAKE[i][0], SNAKE[i][1]);
        free(cur);
        cur = next;
    }
    return cur;
}

/* ---- the same message built by hand ---- */

static otlp_any *any_new(void)
{
    otlp_any *v = calloc(1, sizeof(*v));
    opentelemetry__proto__common__v1__any_value__init(v);
    return v;
}

static otlp_any *any_str(const char *s)
{
    otlp_any *v = any_new();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (char *)s;
    return v;
}

static otlp_any *any_int(int64_t i)
{
    otlp_any *v = any_new();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v->int_value = i;
    return v;
}

static otlp_any *any_dbl(double d)
{
    otlp_any *v = any_new();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    v->double_value = d;
    return v;
}

static otlp_any *any_bool(int b)
{
    otlp_any *v = any_new();
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    v->bool_value = b;
    return v;
}

static otlp_kv *kv(const char *k, otlp_any *v)
{
    otlp_kv *p = calloc(1, sizeof(*p));
    opentelemetry__proto__common__v1__key_value__init(p);
    p->key = (char *)k;
    p->value = v;
    return p;
}

static uint8_t b_trace[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static uint8_t b_span[8] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
static uint8_t b_parent[8] = {0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};
static uint8_t b_ltrace[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                               0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
static uint8_t b_lspan[8] = {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7};
static uint8_t b_bytes[3] = {1, 2, 3};

/* Packs the hand-built equivalent of FULL_JSON into a malloc'ed buffer. The
 * message's heap parts are leaked into |keep| and freed by free_all. */
typedef struct keep {
    void *p[64];
    int n;
} keep;

static void *k_(keep *k, void *p)
{
    k->p[k->n++] = p;
    return p;
}

static uint8_t *pack_reference(size_t *len)
{
    keep k = {.n = 0};
    otlp_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    otlp_any *sv = k_(&k, any_str("checkout"));
    otlp_kv *res_attrs[1] = {k_(&k, kv("service.name", sv))};
    res.attributes = res_attrs;
    res.n_attributes = 1;
    res.dropped_attributes_count = 1;

    otlp_scope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope.name = "lib";
    scope.version = "1.2";
    otlp_kv *scope_attrs[1] = {k_(&k, kv("s", k_(&k, any_bool(1))))};
    scope.attributes = scope_attrs;
    scope.n_attributes = 1;
    scope.dropped_attributes_count = 2;

    otlp_span span = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    span.trace_id = (ProtobufCBinaryData){16, b_trace};
    span.span_id = (ProtobufCBinaryData){8, b_span};
    span.trace_state = "k=v";
    span.parent_span_id = (ProtobufCBinaryData){8, b_parent};
    span.flags = 257;
    span.name = "GET /x";
    span.kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    span.start_time_unix_nano = 1700000000000000000ull;
    span.end_time_unix_nano = 1700000000500000000ull;

    otlp_any *arr_vals[2] = {k_(&k, any_str("a")), k_(&k, any_int(1))};
    otlp_array arr = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    arr.values = arr_vals;
    arr.n_values = 2;
    otlp_any *arrv = k_(&k, any_new());
    arrv->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    arrv->array_value = &arr;

    otlp_kv *kl_vals[1] = {k_(&k, kv("n", k_(&k, any_dbl(2))))};
    otlp_kvlist kl = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    kl.values = kl_vals;
    kl.n_values = 1;
    otlp_any *klv = k_(&k, any_new());
    klv->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    klv->kvlist_value = &kl;

    otlp_any *bv = k_(&k, any_new());
    bv->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    bv->bytes_value = (ProtobufCBinaryData){3, b_bytes};

    otlp_kv *attrs[8] = {
        k_(&k, kv("str", k_(&k, any_str("v\n\xc3\xa9\xf0\x9f\x98\x80")))),
        k_(&k, kv("bool", k_(&k, any_bool(1)))),
        k_(&k, kv("int", k_(&k, any_int(-42)))),
        k_(&k, kv("int2", k_(&k, any_int(9007199254740993ll)))),
        k_(&k, kv("dbl", k_(&k, any_dbl(1.5)))),
        k_(&k, kv("arr", arrv)),
        k_(&k, kv("kv", klv)),
        k_(&k, kv("bytes", bv)),
    };
    span.attributes = attrs;
    span.n_attributes = 8;
    span.dropped_attributes_count = 3;

    otlp_event ev = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
    ev.time_unix_nano = 1700000000100000000ull;
    ev.name = "ev";
    otlp_kv *ev_attrs[1] = {k_(&k, kv("e", k_(&k, any_int(7))))};
    ev.attributes = ev_attrs;
    ev.n_attributes = 1;
    ev.dropped_attributes_count = 4;
    otlp_event *evs[1] = {&ev};
    span.events = evs;
    span.n_events = 1;
    span.dropped_events_count = 5;

    otlp_link ln = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
    ln.trace_id = (ProtobufCBinaryData){16, b_ltrace};
    ln.span_id = (ProtobufCBinaryData){8, b_lspan};
    ln.trace_state = "a=b";
    otlp_kv *ln_attrs[1] = {k_(&k, kv("l", k_(&k, any_str("x"))))};
    ln.attributes = ln_attrs;
    ln.n_attributes = 1;
    ln.dropped_attributes_count = 6;
    ln.flags = 1;
    otlp_link *lns[1] = {&ln};
    span.links = lns;
    span.n_links = 1;
    span.dropped_links_count = 7;

    otlp_status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    st.message = "boom";
    st.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    span.status = &st;

    otlp_span *spans[1] = {&span};
    otlp_scope_spans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    ss.scope = &scope;
    ss.spans = spans;
    ss.n_spans = 1;
    ss.schema_url = "https://scope";
    otlp_scope_spans *sss[1] = {&ss};

    otlp_resource_spans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    rs.resource = &res;
    rs.scope_spans = sss;
    rs.n_scope_spans = 1;
    rs.schema_url = "https://res";
    otlp_resource_spans *rss[1] = {&rs};

    otlp_request req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.resource_spans = rss;
    req.n_resource_spans = 1;

    *len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &req);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, out);
    for (int i = 0; i < k.n; i++)
        free(k.p[i]);
    return out;
}

static uint8_t *pack_request(const otlp_request *r, size_t *len)
{
    *len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            r);
    uint8_t *out = malloc(*len ? *len : 1);
    assert_non_null(out);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(r, out);
    return out;
}

/* Decodes |json| and returns the status; the request is in |arena|. */
static ottr_status decode(ottr_arena *arena, const char *json, size_t len, otlp_request **out,
                          char *err, size_t errlen)
{
    ottr_arena_init(arena, 0, 64u << 20);
    return otlp_json_decode_request(arena, json, len, out, err, errlen);
}

static void assert_json_matches_reference(const char *json)
{
    ottr_arena a;
    otlp_request *r = NULL;
    char err[256];
    ottr_status st = decode(&a, json, strlen(json), &r, err, sizeof(err));
    if (st != OTTR_OK)
        fail_msg("decode failed: %s", err);
    size_t jl, rl;
    uint8_t *jb = pack_request(r, &jl);
    uint8_t *rb = pack_reference(&rl);
    assert_int_equal(jl, rl);
    assert_memory_equal(jb, rb, rl);

    /* And the protobuf decode of the reference bytes packs to the same. */
    ottr_arena pa;
    ottr_arena_init(&pa, 0, 0);
    otlp_request *pr = NULL;
    assert_int_equal(otlp_proto_decode_request(&pa, rb, rl, &pr, err, sizeof(err)), OTTR_OK);
    size_t pl;
    uint8_t *pb = pack_request(pr, &pl);
    assert_int_equal(pl, jl);
    assert_memory_equal(pb, jb, jl);

    free(pb);
    free(jb);
    free(rb);
    ottr_arena_free(&pa);
    ottr_arena_free(&a);
}

static void test_full_camel_case(void **state)
{
    (void)state;
    assert_json_matches_reference(FULL_JSON);
}

static void test_full_snake_case(void **state)
{
    (void)state;
    char *snake = to_snake(FULL_JSON);
    assert_non_null(strstr(snake, "\"start_time_unix_nano\""));
    assert_null(strstr(snake, "\"startTimeUnixNano\""));
    assert_json_matches_reference(snake);
    free(snake);
}

static void test_enum_names_and_number_forms(void **state)
{
    (void)state;
    /* Enum names, all int64s as numbers, fixed64s as strings and the reverse. */
    char *a = replace_all(FULL_JSON, "\"kind\":2", "\"kind\":\"SPAN_KIND_SERVER\"");
    char *b = replace_all(a, "\"code\":2", "\"code\":\"STATUS_CODE_ERROR\"");
    char *c = replace_all(b, "\"1700000000000000000\"", "1700000000000000000");
    char *d = replace_all(c, "1700000000500000000", "\"1700000000500000000\"");
    char *e = replace_all(d, "\"intValue\":\"-42\"", "\"intValue\":-42");
    char *f = replace_all(e, "\"droppedAttributesCount\":3", "\"droppedAttributesCount\":\"3\"");
    char *g = replace_all(f, "\"doubleValue\":1.5", "\"doubleValue\":\"1.5\"");
    char *h = replace_all(g, "\"AQID\"", "\"AQID\"");
    assert_json_matches_reference(h);
    free(a), free(b), free(c), free(d), free(e), free(f), free(g), free(h);
}

static void test_unknown_fields_ignored(void **state)
{
    (void)state;
    const char *junk = "\"zz\":{\"a\":[1,2.5e3,true,false,null,\"s\\\"\",{\"b\":[]}]},";
    char *a = replace_all(FULL_JSON, "{\"resourceSpans\"", "{\"x\":1,\"resourceSpans\"");
    char buf[256];
    snprintf(buf, sizeof(buf), "{%s\"resource\"", junk);
    char *b = replace_all(a, "{ \"resource\"", buf);
    snprintf(buf, sizeof(buf), "{%s\"traceId\"", junk);
    char *c = replace_all(b, "{   \"traceId\"", buf);
    snprintf(buf, sizeof(buf), "{%s\"key\"", junk);
    char *d = replace_all(c, "{\"key\"", buf);
    snprintf(buf, sizeof(buf), "{%s\"stringValue\"", junk);
    char *e = replace_all(d, "{\"stringValue\"", buf);
    snprintf(buf, sizeof(buf), "{%s\"message\"", junk);
    char *f = replace_all(e, "{\"message\"", buf);
    snprintf(buf, sizeof(buf), "{%s\"name\"", junk);
    char *g = replace_all(f, "{\"name\"", buf);
    /* Removed OTLP fields are unknown too. */
    char *h = replace_all(g, "\"schemaUrl\":\"https://res\"",
                          "\"schemaUrl\":\"https://res\",\"instrumentationLibrarySpans\":[{}]");
    assert_true(strlen(h) > strlen(FULL_JSON) + 7 * strlen(junk));
    assert_json_matches_reference(h);
    free(a), free(b), free(c), free(d), free(e), free(f), free(g), free(h);
}

static const otlp_span *first_span(const otlp_request *r)
{
    assert_int_equal(r->n_resource_spans, 1);
    assert_int_equal(r->resource_spans[0]->n_scope_spans, 1);
    assert_int_equal(r->resource_spans[0]->scope_spans[0]->n_spans, 1);
    return r->resource_spans[0]->scope_spans[0]->spans[0];
}

static const otlp_span *decode_one_span(ottr_arena *a, const char *span_json)
{
    char doc[4096];
    snprintf(doc, sizeof(doc), "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[%s]}]}]}",
             span_json);
    otlp_request *r = NULL;
    char err[256];
    ottr_status st = decode(a, doc, strlen(doc), &r, err, sizeof(err));
    if (st != OTTR_OK)
        fail_msg("decode of %s failed: %s", span_json, err);
    return first_span(r);
}

static const otlp_any *attr0(const otlp_span *s)
{
    assert_true(s->n_attributes >= 1);
    assert_non_null(s->attributes[0]->value);
    return s->attributes[0]->value;
}

static void test_values_and_defaults(void **state)
{
    (void)state;
    ottr_arena a;
    const otlp_span *s;

    /* Empty parent span ID, nulls everywhere leave defaults. */
    s = decode_one_span(&a, "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
                            "\"spanId\":\"1112131415161718\",\"parentSpanId\":\"\","
                            "\"name\":null,\"kind\":null,\"status\":null,\"events\":null,"
                            "\"startTimeUnixNano\":null,\"attributes\":[{\"key\":\"k\","
                            "\"value\":{\"intValue\":null}}]}");
    assert_int_equal(s->parent_span_id.len, 0);
    assert_string_equal(s->name, "");
    assert_int_equal(s->kind, 0);
    assert_null(s->status);
    assert_int_equal(s->n_events, 0);
    assert_int_equal(attr0(s)->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
    ottr_arena_free(&a);

    /* Uppercase hex. */
    s = decode_one_span(&a, "{\"traceId\":\"0102030405060708090A0B0C0D0E0F10\"}");
    assert_int_equal(s->trace_id.len, 16);
    assert_int_equal(s->trace_id.data[10], 0x0b);
    ottr_arena_free(&a);

    /* Extremes of the integer types, as strings and numbers. */
    s = decode_one_span(&a, "{\"startTimeUnixNano\":\"18446744073709551615\","
                            "\"endTimeUnixNano\":18446744073709551615,\"flags\":4294967295,"
                            "\"attributes\":[{\"key\":\"a\",\"value\":{\"intValue\":"
                            "\"-9223372036854775808\"}},{\"key\":\"b\",\"value\":{\"intValue\":"
                            "9223372036854775807}},{\"key\":\"c\",\"value\":{\"intValue\":1e3}}]}");
    assert_true(s->start_time_unix_nano == UINT64_MAX);
    assert_true(s->end_time_unix_nano == UINT64_MAX);
    assert_true(s->flags == UINT32_MAX);
    assert_true(s->attributes[0]->value->int_value == INT64_MIN);
    assert_true(s->attributes[1]->value->int_value == INT64_MAX);
    assert_true(s->attributes[2]->value->int_value == 1000);
    ottr_arena_free(&a);

    /* Doubles: special strings and exponents. */
    s = decode_one_span(&a, "{\"attributes\":["
                            "{\"key\":\"a\",\"value\":{\"doubleValue\":\"NaN\"}},"
                            "{\"key\":\"b\",\"value\":{\"doubleValue\":\"Infinity\"}},"
                            "{\"key\":\"c\",\"value\":{\"doubleValue\":\"-Infinity\"}},"
                            "{\"key\":\"d\",\"value\":{\"doubleValue\":-2.5E-3}},"
                            "{\"key\":\"e\",\"value\":{\"doubleValue\":7}}]}");
    assert_true(isnan(s->attributes[0]->value->double_value));
    assert_true(isinf(s->attributes[1]->value->double_value) &&
                s->attributes[1]->value->double_value > 0);
    assert_true(isinf(s->attributes[2]->value->double_value) &&
                s->attributes[2]->value->double_value < 0);
    assert_true(s->attributes[3]->value->double_value == -2.5e-3);
    assert_true(s->attributes[4]->value->double_value == 7.0);
    ottr_arena_free(&a);

    /* Base64: padded, unpadded, URL-safe; empty. */
    s = decode_one_span(&a, "{\"attributes\":["
                            "{\"key\":\"a\",\"value\":{\"bytesValue\":\"+/8=\"}},"
                            "{\"key\":\"b\",\"value\":{\"bytesValue\":\"-_8\"}},"
                            "{\"key\":\"c\",\"value\":{\"bytesValue\":\"\"}},"
                            "{\"key\":\"d\",\"value\":{\"bytesValue\":\"aGVsbG8=\"}}]}");
    for (int i = 0; i < 2; i++) {
        const ProtobufCBinaryData *b = &s->attributes[i]->value->bytes_value;
        assert_int_equal(b->len, 2);
        assert_int_equal(b->data[0], 0xfb);
        assert_int_equal(b->data[1], 0xff);
    }
    assert_int_equal(s->attributes[2]->value->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
    assert_int_equal(s->attributes[2]->value->bytes_value.len, 0);
    assert_int_equal(s->attributes[3]->value->bytes_value.len, 5);
    assert_memory_equal(s->attributes[3]->value->bytes_value.data, "hello", 5);
    ottr_arena_free(&a);

    /* Escapes: every simple one, a lone surrogate becomes U+FFFD, keys with escapes. */
    s = decode_one_span(&a, "{\"n\\u0061me\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\ud800x\","
                            "\"kind\":\"5\"}");
    assert_string_equal(s->name, "\"\\/\b\f\n\r\t\xef\xbf\xbdx");
    assert_int_equal(s->kind, 5);
    ottr_arena_free(&a);

    /* Whitespace everywhere; an enum value out of the known range is kept. */
    s = decode_one_span(&a, " \n\t{ \"kind\" : 9 , \"name\" : \"x\" } ");
    assert_int_equal(s->kind, 9);
    assert_string_equal(s->name, "x");
    ottr_arena_free(&a);

    /* Empty documents decode to empty requests. */
    otlp_request *r;
    char err[128];
    assert_int_equal(decode(&a, "{}", 2, &r, err, sizeof(err)), OTTR_OK);
    assert_int_equal(r->n_resource_spans, 0);
    ottr_arena_free(&a);
    assert_int_equal(decode(&a, "{\"resourceSpans\":[]}", 20, &r, err, sizeof(err)), OTTR_OK);
    assert_int_equal(r->n_resource_spans, 0);
    ottr_arena_free(&a);
}

/* |json| must fail with OTTR_ERR_INVALID and an error naming |field|. */
static void assert_rejected(const char *json, const char *field)
{
    ottr_arena a;
    otlp_request *r = NULL;
    char err[256] = "";
    ottr_status st = decode(&a, json, strlen(json), &r, err, sizeof(err));
    if (st != OTTR_ERR_INVALID)
        fail_msg("expected rejection of %s, got %d", json, st);
    assert_null(r);
    if (field && strstr(err, field) == NULL)
        fail_msg("error \"%s\" does not name %s", err, field);
    ottr_arena_free(&a);
}

#define SPAN(x) "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{" x "}]}]}]}"
#define ATTR(x) SPAN("\"attributes\":[{\"key\":\"k\",\"value\":{" x "}}]")

static void test_rejects_bad_values(void **state)
{
    (void)state;
    /* Bad hex. */
    assert_rejected(SPAN("\"traceId\":\"zz02030405060708090a0b0c0d0e0f10\""), "traceId");
    assert_rejected(SPAN("\"traceId\":\"0102030\""), "traceId");
    assert_rejected(SPAN("\"spanId\":\"11121314151617 8\""), "spanId");
    assert_rejected(SPAN("\"parentSpanId\":\"xy\""), "parentSpanId");
    assert_rejected(SPAN("\"links\":[{\"traceId\":\"q\"}]"), "links.traceId");
    /* Wrong JSON types for known fields. */
    assert_rejected(SPAN("\"traceId\":5"), "traceId");
    assert_rejected(SPAN("\"name\":3"), "name");
    assert_rejected(SPAN("\"name\":[\"x\"]"), "name");
    assert_rejected(SPAN("\"kind\":true"), "kind");
    assert_rejected(SPAN("\"kind\":\"SPAN_KIND_NOPE\""), "kind");
    assert_rejected(SPAN("\"kind\":4294967296"), "kind");
    assert_rejected(SPAN("\"startTimeUnixNano\":\"abc\""), "startTimeUnixNano");
    assert_rejected(SPAN("\"startTimeUnixNano\":-1"), "startTimeUnixNano");
    assert_rejected(SPAN("\"startTimeUnixNano\":1.5"), "startTimeUnixNano");
    assert_rejected(SPAN("\"startTimeUnixNano\":\"18446744073709551616\""), "startTimeUnixNano");
    assert_rejected(SPAN("\"flags\":4294967296"), "flags");
    assert_rejected(SPAN("\"droppedAttributesCount\":{}"), "droppedAttributesCount");
    assert_rejected(SPAN("\"attributes\":\"x\""), "attributes");
    assert_rejected(SPAN("\"attributes\":[1]"), "attributes");
    assert_rejected(SPAN("\"attributes\":[null]"), "attributes");
    assert_rejected(SPAN("\"events\":{}"), "events");
    assert_rejected(SPAN("\"events\":[{\"timeUnixNano\":true}]"), "events.timeUnixNano");
    assert_rejected(SPAN("\"status\":[]"), "status");
    assert_rejected(SPAN("\"status\":{\"code\":\"x\"}"), "status.code");
    assert_rejected("{\"resourceSpans\":{}}", "resourceSpans");
    assert_rejected("{\"resourceSpans\":[{\"scopeSpans\":5}]}", "scopeSpans");
    assert_rejected("{\"resourceSpans\":[{\"resource\":[]}]}", "resource");
    assert_rejected("{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":{\"name\":1}}]}]}",
                    "scope.name");
    assert_rejected(ATTR("\"stringValue\":1"), "stringValue");
    assert_rejected(ATTR("\"boolValue\":\"true\""), "boolValue");
    assert_rejected(ATTR("\"intValue\":\"12x\""), "intValue");
    assert_rejected(ATTR("\"intValue\":\"9223372036854775808\""), "intValue");
    assert_rejected(ATTR("\"doubleValue\":\"fast\""), "doubleValue");
    assert_rejected(ATTR("\"doubleValue\":true"), "doubleValue");
    assert_rejected(ATTR("\"bytesValue\":\"A\""), "bytesValue");
    assert_rejected(ATTR("\"bytesValue\":\"AB$=\""), "bytesValue");
    assert_rejected(ATTR("\"arrayValue\":[]"), "arrayValue");
    assert_rejected(ATTR("\"arrayValue\":{\"values\":{}}"), "arrayValue.values");
    assert_rejected(ATTR("\"kvlistValue\":{\"values\":[{\"key\":2}]}"), "key");
    assert_rejected(SPAN("\"attributes\":[{\"key\":\"k\",\"value\":\"v\"}]"), "value");
}

static void test_rejects_bad_json(void **state)
{
    (void)state;
    assert_rejected("", NULL);
    assert_rejected("   ", NULL);
    assert_rejected("[]", NULL);
    assert_rejected("\"x\"", NULL);
    assert_rejected("{}x", NULL);
    assert_rejected("{} {}", NULL);
    assert_rejected("{\"a\":1,}", NULL);
    assert_rejected("{\"a\" 1}", NULL);
    assert_rejected("{\"a\":[1,]}", NULL);
    assert_rejected("{\"a\":[1 2]}", NULL);
    assert_rejected("{\"a\":01}", NULL);
    assert_rejected("{\"a\":-}", NULL);
    assert_rejected("{\"a\":1.}", NULL);
    assert_rejected("{\"a\":1e}", NULL);
    assert_rejected("{\"a\":tru}", NULL);
    assert_rejected("{\"a\":nul}", NULL);
    assert_rejected("{\"a\":\"\\x\"}", NULL);
    assert_rejected("{\"a\":\"\\u12g4\"}", NULL);
    assert_rejected("{\"a\":\"line\nbreak\"}", NULL);
    assert_rejected("{'a':1}", NULL);
    assert_rejected("{\"a\":+1}", NULL);
    /* A NUL inside the body is not JSON whitespace. */
    ottr_arena a;
    otlp_request *r;
    char err[128];
    assert_int_equal(decode(&a, "{}\0", 3, &r, err, sizeof(err)), OTTR_ERR_INVALID);
    ottr_arena_free(&a);
}

/* Every proper prefix of a valid document is truncated JSON and must be refused
 * cleanly, never read past the end. */
static void test_rejects_every_truncation(void **state)
{
    (void)state;
    size_t n = strlen(FULL_JSON);
    for (size_t i = 0; i < n; i++) {
        /* An exact-size heap copy so that ASan catches any overread. */
        char *copy = malloc(i ? i : 1);
        memcpy(copy, FULL_JSON, i);
        ottr_arena a;
        otlp_request *r = NULL;
        char err[256];
        ottr_status st = decode(&a, copy, i, &r, err, sizeof(err));
        if (st != OTTR_ERR_INVALID)
            fail_msg("prefix of %zu bytes: status %d", i, st);
        ottr_arena_free(&a);
        free(copy);
    }
}

static void test_deep_nesting_bounded(void **state)
{
    (void)state;
    /* 100000 nested arrays in an unknown field and in AnyValues: refused, no crash. */
    size_t depth = 100000;
    char *doc = malloc(depth * 2 + 64);
    size_t o = 0;
    o += (size_t)sprintf(doc, "{\"x\":");
    for (size_t i = 0; i < depth; i++)
        doc[o++] = '[';
    for (size_t i = 0; i < depth; i++)
        doc[o++] = ']';
    doc[o++] = '}';
    ottr_arena a;
    otlp_request *r;
    char err[256];
    assert_int_equal(decode(&a, doc, o, &r, err, sizeof(err)), OTTR_ERR_INVALID);
    assert_non_null(strstr(err, "deep"));
    ottr_arena_free(&a);
    free(doc);

    ottr_buf b = {0};
    ottr_buf_puts(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{"
                      "\"key\":\"k\",\"value\":");
    for (int i = 0; i < 5000; i++)
        ottr_buf_puts(&b, "{\"arrayValue\":{\"values\":[");
    assert_false(b.oom);
    assert_int_equal(decode(&a, b.data, b.len, &r, err, sizeof(err)), OTTR_ERR_INVALID);
    ottr_arena_free(&a);
    ottr_buf_free(&b);

    /* Moderate nesting (10 AnyValue levels) is fine. */
    ottr_buf_puts(&b, SPAN("\"attributes\":[{\"key\":\"k\",\"value\":"));
    b.len -= strlen("}]}]}]}"); /* cut the closing of SPAN */
    for (int i = 0; i < 10; i++)
        ottr_buf_puts(&b, "{\"arrayValue\":{\"values\":[");
    ottr_buf_puts(&b, "{\"intValue\":1}");
    for (int i = 0; i < 10; i++)
        ottr_buf_puts(&b, "]}}");
    ottr_buf_puts(&b, "}]}]}]}]}");
    if (decode(&a, b.data, b.len, &r, err, sizeof(err)) != OTTR_OK)
        fail_msg("10 levels: %s in %s", err, b.data);
    ottr_arena_free(&a);
    ottr_buf_free(&b);
}

static void test_arena_limit(void **state)
{
    (void)state;
    /* Many empty AnyValues: tiny JSON, large structs. */
    ottr_buf b = {0};
    ottr_buf_puts(&b, ATTR("\"arrayValue\":{\"values\":["));
    b.len -= strlen("}}]}]}]}]}");
    for (int i = 0; i < 100000; i++)
        ottr_buf_puts(&b, i ? ",{}" : "{}");
    ottr_buf_puts(&b, "]}}}]}]}]}]}");
    ottr_arena a;
    ottr_arena_init(&a, 0, 1 << 20);
    otlp_request *r;
    char err[256];
    assert_int_equal(otlp_json_decode_request(&a, b.data, b.len, &r, err, sizeof(err)),
                     OTTR_ERR_TOO_LARGE);
    ottr_arena_free(&a);
    /* The same fits without the limit. */
    ottr_arena_init(&a, 0, 0);
    if (otlp_json_decode_request(&a, b.data, b.len, &r, err, sizeof(err)) != OTTR_OK)
        fail_msg("%s", err);
    const otlp_span *s = first_span(r);
    assert_int_equal(attr0(s)->array_value->n_values, 100000);
    ottr_arena_free(&a);
    ottr_buf_free(&b);
}

static void test_encode_response(void **state)
{
    (void)state;
    ottr_buf b = {0};
    otlp_json_encode_response(0, NULL, &b);
    assert_string_equal(b.data, "{}");
    ottr_buf_reset(&b);
    otlp_json_encode_response(3, "bad \"ids\"", &b);
    assert_string_equal(b.data, "{\"partialSuccess\":{\"rejectedSpans\":\"3\","
                                "\"errorMessage\":\"bad \\\"ids\\\"\"}}");
    ottr_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_camel_case),
        cmocka_unit_test(test_full_snake_case),
        cmocka_unit_test(test_enum_names_and_number_forms),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_values_and_defaults),
        cmocka_unit_test(test_rejects_bad_values),
        cmocka_unit_test(test_rejects_bad_json),
        cmocka_unit_test(test_rejects_every_truncation),
        cmocka_unit_test(test_deep_nesting_bounded),
        cmocka_unit_test(test_arena_limit),
        cmocka_unit_test(test_encode_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
