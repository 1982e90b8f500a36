/* tests/otlp/test_decode_fast.c - the schema-specific protobuf decoder gives what
 * protobuf-c's unpack gives: random requests with every field and value kind
 * decode to structs that pack to the same bytes; unknown fields are skipped;
 * what it does not handle (merges, wrong wire types, truncation)
 * is left to protobuf-c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otlp/otlp.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static char *rstr(ottr_arena *a)
{
    static const char *words[] = {"", "GET /cart", "db", "http.method", "ü→✓", "x"};
    const char *w = words[pick(6)];
    return ottr_arena_strndup(a, w, strlen(w));
}

static ProtobufCBinaryData rbytes(ottr_arena *a, size_t n)
{
    ProtobufCBinaryData b = {n, NULL};
    if (n) {
        b.data = ottr_arena_alloc(a, n);
        for (size_t i = 0; i < n; i++)
            b.data[i] = (uint8_t)rnd();
    }
    return b;
}

static otlp_kv *rkv(ottr_arena *a, int depth);

static otlp_any *rany(ottr_arena *a, int depth)
{
    static const otlp_any init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    otlp_any *v = ottr_arena_alloc(a, sizeof(*v));
    *v = init;
    switch (pick(depth > 3 ? 5 : 8)) {
    case 0:
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = rstr(a);
        break;
    case 1:
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        v->bool_value = pick(2);
        break;
    case 2:
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        v->int_value = (int64_t)rnd();
        break;
    case 3:
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        v->double_value = (double)(int64_t)rnd() / 7.0;
        break;
    case 4:
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
        v->bytes_value = rbytes(a, pick(5));
        break;
    case 5: {
        static const otlp_array ainit = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
        otlp_array *arr = ottr_arena_alloc(a, sizeof(*arr));
        *arr = ainit;
        arr->n_values = pick(4);
        arr->values = ottr_arena_alloc(a, (arr->n_values + 1) * sizeof(void *));
        for (size_t i = 0; i < arr->n_values; i++)
            arr->values[i] = rany(a, depth + 1);
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        v->array_value = arr;
        break;
    }
    case 6: {
        static const otlp_kvlist linit = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
        otlp_kvlist *l = ottr_arena_alloc(a, sizeof(*l));
        *l = linit;
        l->n_values = pick(4);
        l->values = ottr_arena_alloc(a, (l->n_values + 1) * sizeof(void *));
        for (size_t i = 0; i < l->n_values; i++)
            l->values[i] = rkv(a, depth + 1);
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
        v->kvlist_value = l;
        break;
    }
    default:
        break; /* no value */
    }
    return v;
}

static otlp_kv *rkv(ottr_arena *a, int depth)
{
    static const otlp_kv init = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    otlp_kv *kv = ottr_arena_alloc(a, sizeof(*kv));
    *kv = init;
    kv->key = rstr(a);
    if (pick(8))
        kv->value = rany(a, depth);
    return kv;
}

static otlp_kv **rattrs(ottr_arena *a, size_t *n)
{
    *n = pick(5);
    otlp_kv **v = ottr_arena_alloc(a, (*n + 1) * sizeof(*v));
    for (size_t i = 0; i < *n; i++)
        v[i] = rkv(a, 0);
    return v;
}

static otlp_span *rspan(ottr_arena *a)
{
    static const otlp_span init = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    otlp_span *s = ottr_arena_alloc(a, sizeof(*s));
    *s = init;
    s->trace_id = rbytes(a, 16);
    s->span_id = rbytes(a, 8);
    s->parent_span_id = rbytes(a, pick(2) * 8);
    s->trace_state = rstr(a);
    s->name = rstr(a);
    s->kind = pick(6);
    s->start_time_unix_nano = rnd();
    s->end_time_unix_nano = rnd();
    s->attributes = rattrs(a, &s->n_attributes);
    s->dropped_attributes_count = pick(3);
    s->flags = (uint32_t)rnd() * pick(2);
    s->n_events = pick(3);
    s->events = ottr_arena_alloc(a, (s->n_events + 1) * sizeof(void *));
    for (size_t i = 0; i < s->n_events; i++) {
        static const otlp_event einit = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
        otlp_event *e = ottr_arena_alloc(a, sizeof(*e));
        *e = einit;
        e->time_unix_nano = rnd();
        e->name = rstr(a);
        e->attributes = rattrs(a, &e->n_attributes);
        e->dropped_attributes_count = pick(2);
        s->events[i] = e;
    }
    s->n_links = pick(3);
    s->links = ottr_arena_alloc(a, (s->n_links + 1) * sizeof(void *));
    for (size_t i = 0; i < s->n_links; i++) {
        static const otlp_link linit = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
        otlp_link *l = ottr_arena_alloc(a, sizeof(*l));
        *l = linit;
        l->trace_id = rbytes(a, 16);
        l->span_id = rbytes(a, 8);
        l->trace_state = rstr(a);
        l->attributes = rattrs(a, &l->n_attributes);
        l->flags = (uint32_t)rnd();
        s->links[i] = l;
    }
    if (pick(3)) {
        static const otlp_status sinit = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
        s->status = ottr_arena_alloc(a, sizeof(*s->status));
        *s->status = sinit;
        s->status->code = pick(3);
        s->status->message = rstr(a);
    }
    return s;
}

static otlp_request *rrequest(ottr_arena *a)
{
    static const otlp_request init =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    otlp_request *r = ottr_arena_alloc(a, sizeof(*r));
    *r = init;
    r->n_resource_spans = 1 + pick(3);
    r->resource_spans = ottr_arena_alloc(a, r->n_resource_spans * sizeof(void *));
    for (size_t i = 0; i < r->n_resource_spans; i++) {
        static const otlp_resource_spans rinit =
            OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
        otlp_resource_spans *rs = ottr_arena_alloc(a, sizeof(*rs));
        *rs = rinit;
        rs->schema_url = rstr(a);
        if (pick(4)) {
            static const otlp_resource resinit = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
            rs->resource = ottr_arena_alloc(a, sizeof(*rs->resource));
            *rs->resource = resinit;
            rs->resource->attributes = rattrs(a, &rs->resource->n_attributes);
            rs->resource->dropped_attributes_count = pick(2);
        }
        rs->n_scope_spans = pick(3);
        rs->scope_spans = ottr_arena_alloc(a, (rs->n_scope_spans + 1) * sizeof(void *));
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            static const otlp_scope_spans sinit =
                OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
            otlp_scope_spans *ss = ottr_arena_alloc(a, sizeof(*ss));
            *ss = sinit;
            ss->schema_url = rstr(a);
            if (pick(3)) {
                static const otlp_scope scinit =
                    OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
                ss->scope = ottr_arena_alloc(a, sizeof(*ss->scope));
                *ss->scope = scinit;
                ss->scope->name = rstr(a);
                ss->scope->version = rstr(a);
                ss->scope->attributes = rattrs(a, &ss->scope->n_attributes);
            }
            ss->n_spans = pick(5);
            ss->spans = ottr_arena_alloc(a, (ss->n_spans + 1) * sizeof(void *));
            for (size_t k = 0; k < ss->n_spans; k++)
                ss->spans[k] = rspan(a);
            rs->scope_spans[j] = ss;
        }
        r->resource_spans[i] = rs;
    }
    return r;
}

static uint8_t *pack(const otlp_request *r, size_t *len)
{
    *len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            r);
    uint8_t *p = malloc(*len + 64);
    assert_non_null(p);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(r, p);
    return p;
}

/* Decodes |wire| with the fast decoder; asserts the result packs to |want|. */
static void check_same(const uint8_t *wire, size_t len, const uint8_t *want, size_t want_len)
{
    ottr_arena a;
    ottr_arena_init(&a, 4096, 0);
    otlp_request *got = NULL;
    ottr_status fail = OTTR_OK;
    assert_int_equal(otlp_fast_decode_request(&a, wire, len, &got, &fail), 1);
    size_t glen;
    uint8_t *g = pack(got, &glen);
    if (glen != want_len || memcmp(g, want, glen) != 0) {
        size_t i = 0;
        while (i < glen && i < want_len && g[i] == want[i])
            i++;
        fprintf(stderr, "differs at byte %zu of %zu/%zu:\n", i, glen, want_len);
        for (size_t k = i > 16 ? i - 16 : 0; k < i + 24 && k < want_len; k++)
            fprintf(stderr, "%02x%s", want[k], k == i ? "*" : " ");
        fprintf(stderr, "\n");
        for (size_t k = i > 16 ? i - 16 : 0; k < i + 24 && k < glen; k++)
            fprintf(stderr, "%02x%s", g[k], k == i ? "*" : " ");
        fprintf(stderr, "\n");
        fail();
    }
    free(g);
    ottr_arena_free(&a);
}

static void test_random_requests_match_protobuf_c(void **state)
{
    (void)state;
    for (int i = 0; i < 400; i++) {
        ottr_arena a;
        ottr_arena_init(&a, 4096, 0);
        size_t len;
        uint8_t *wire = pack(rrequest(&a), &len);
        check_same(wire, len, wire, len);
        /* And what protobuf-c's own unpack gives packs the same. */
        ProtobufCAllocator pa = otlp_pb_allocator(&a);
        otlp_request *pc =
            opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
                &pa, len, wire);
        assert_non_null(pc);
        size_t plen;
        uint8_t *p = pack(pc, &plen);
        check_same(wire, len, p, plen);
        free(p);
        free(wire);
        ottr_arena_free(&a);
    }
}

static void test_unknown_fields_skipped(void **state)
{
    (void)state;
    ottr_arena a;
    ottr_arena_init(&a, 4096, 0);
    size_t len;
    uint8_t *wire = pack(rrequest(&a), &len);
    /* Field 99 (varint) and field 100 (bytes) appended at the top level. */
    uint8_t *more = malloc(len + 16);
    memcpy(more, wire, len);
    static const uint8_t extra[] = {0x98, 0x06, 0x05, 0xa2, 0x06, 0x02, 'h', 'i'};
    memcpy(more + len, extra, sizeof(extra));
    check_same(more, len + sizeof(extra), wire, len);
    free(more);
    free(wire);
    ottr_arena_free(&a);
}

static int cmp16(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* The IDs-only scan finds the distinct trace IDs and the span count the full
 * decode finds; it gives up on malformed bytes and past its capacity. */
static void test_scan_trace_ids(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        ottr_arena a;
        ottr_arena_init(&a, 4096, 0);
        otlp_request *r = rrequest(&a);
        uint8_t want[64][16];
        size_t nwant = 0, spans = 0;
        for (size_t j = 0; j < r->n_resource_spans; j++)
            for (size_t k = 0; k < r->resource_spans[j]->n_scope_spans; k++) {
                otlp_scope_spans *ss = r->resource_spans[j]->scope_spans[k];
                for (size_t m = 0; m < ss->n_spans; m++, spans++) {
                    if (m % 2) /* two spans of one trace, not side by side */
                        memcpy(ss->spans[m]->trace_id.data, ss->spans[0]->trace_id.data, 16);
                    memcpy(want[nwant++], ss->spans[m]->trace_id.data, 16);
                }
            }
        qsort(want, nwant, 16, cmp16);
        size_t u = 0;
        for (size_t j = 0; j < nwant; j++)
            if (u == 0 || memcmp(want[u - 1], want[j], 16) != 0)
                memcpy(want[u++], want[j], 16);
        size_t len;
        uint8_t *wire = pack(r, &len);
        uint8_t got[64][16];
        size_t nspans;
        assert_int_equal(otlp_scan_trace_ids(wire, len, got, 64, &nspans), u);
        assert_int_equal(nspans, spans);
        if (u)
            assert_memory_equal(got, want, u * 16);
        if (u > 1)
            assert_int_equal(otlp_scan_trace_ids(wire, len, got, 1, &nspans), SIZE_MAX);
        if (len > 2)
            assert_int_equal(otlp_scan_trace_ids(wire, len - 1, got, 64, &nspans), SIZE_MAX);
        free(wire);
        ottr_arena_free(&a);
    }
}

/* Cases left to protobuf-c: 0 from the fast decoder, and the full decoder still
 * answers as protobuf-c does. */
static void test_left_to_protobuf_c(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t bytes[16];
        size_t len;
        ottr_status want;
    } cases[] = {
        /* ResourceSpans with two `resource` fields: protobuf merges them. */
        {"merge", {0x0a, 0x04, 0x0a, 0x00, 0x0a, 0x00}, 6, OTTR_OK},
        /* resource_spans sent as a varint. */
        {"wire type", {0x08, 0x01}, 2, OTTR_ERR_INVALID},
        /* Length past the end. */
        {"truncated", {0x0a, 0x05, 0x0a}, 3, OTTR_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ottr_arena a;
        ottr_arena_init(&a, 4096, 0);
        otlp_request *r = NULL;
        ottr_status fail = OTTR_OK;
        if (otlp_fast_decode_request(&a, cases[i].bytes, cases[i].len, &r, &fail) != 0)
            fail_msg("%s: the fast decoder should give up", cases[i].what);
        char err[128];
        assert_int_equal(
            otlp_proto_decode_request(&a, cases[i].bytes, cases[i].len, &r, err, sizeof(err)),
            cases[i].want);
        ottr_arena_free(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_requests_match_protobuf_c),
        cmocka_unit_test(test_unknown_fields_skipped),
        cmocka_unit_test(test_scan_trace_ids),
        cmocka_unit_test(test_left_to_protobuf_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
