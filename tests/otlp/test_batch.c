/* tests/otlp/test_batch.c - grouping a request's spans by trace, the chunk framing
 * and its decoding, ID validation, service names and the arena limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otlp/otlp.h"

/* ---- building requests by hand; everything lives in the test arena ---- */

static ottr_arena A; /* the fixture's arena for requests */

static void *talloc(size_t n)
{
    void *p = ottr_arena_alloc(&A, n);
    assert_non_null(p);
    memset(p, 0, n);
    return p;
}

static otlp_kv *kv_str(const char *key, const char *val)
{
    otlp_kv *kv = talloc(sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = (char *)key;
    kv->value = talloc(sizeof(otlp_any));
    opentelemetry__proto__common__v1__any_value__init(kv->value);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    kv->value->string_value = (char *)val;
    return kv;
}

static void tid(uint8_t out[16], int n)
{
    memset(out, 0, 16);
    out[0] = 0xab;
    out[15] = (uint8_t)n;
}

/* A span of trace |trace| (1-based; 0 = all-zero ID) with span ID |id|. */
static otlp_span *span_new(int trace, int id, const char *name)
{
    otlp_span *s = talloc(sizeof(*s));
    opentelemetry__proto__trace__v1__span__init(s);
    s->trace_id.len = 16;
    s->trace_id.data = talloc(16);
    if (trace)
        tid(s->trace_id.data, trace);
    s->span_id.len = 8;
    s->span_id.data = talloc(8);
    s->span_id.data[7] = (uint8_t)id;
    s->span_id.data[0] = 1;
    s->name = (char *)name;
    s->start_time_unix_nano = 1000 + (uint64_t)id;
    s->end_time_unix_nano = 2000 + (uint64_t)id;
    s->n_attributes = 1;
    s->attributes = talloc(sizeof(otlp_kv *));
    s->attributes[0] = kv_str("http.method", "GET");
    return s;
}

static otlp_scope_spans *scope_new(const char *name, otlp_span **spans, size_t n)
{
    otlp_scope_spans *ss = talloc(sizeof(*ss));
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    if (name) {
        ss->scope = talloc(sizeof(*ss->scope));
        opentelemetry__proto__common__v1__instrumentation_scope__init(ss->scope);
        ss->scope->name = (char *)name;
        ss->scope->version = (char *)"1.0";
    }
    ss->spans = talloc(n * sizeof(otlp_span *) + 1);
    if (n)
        memcpy(ss->spans, spans, n * sizeof(otlp_span *));
    ss->n_spans = n;
    return ss;
}

static otlp_resource_spans *rs_new(const char *service, otlp_scope_spans **scopes, size_t n)
{
    otlp_resource_spans *rs = talloc(sizeof(*rs));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    rs->resource = talloc(sizeof(*rs->resource));
    opentelemetry__proto__resource__v1__resource__init(rs->resource);
    if (service) {
        rs->resource->n_attributes = 2;
        rs->resource->attributes = talloc(2 * sizeof(otlp_kv *));
        rs->resource->attributes[0] = kv_str("host.name", "h1");
        rs->resource->attributes[1] = kv_str("service.name", service);
    }
    rs->schema_url = (char *)"https://opentelemetry.io/schemas/1.21.0";
    rs->scope_spans = talloc(n * sizeof(otlp_scope_spans *) + 1);
    if (n)
        memcpy(rs->scope_spans, scopes, n * sizeof(otlp_scope_spans *));
    rs->n_scope_spans = n;
    return rs;
}

static otlp_request *req_new(otlp_resource_spans **rss, size_t n)
{
    otlp_request *r = talloc(sizeof(*r));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(r);
    r->resource_spans = talloc(n * sizeof(otlp_resource_spans *) + 1);
    if (n)
        memcpy(r->resource_spans, rss, n * sizeof(otlp_resource_spans *));
    r->n_resource_spans = n;
    return r;
}

/* Request used by several tests: traces 1, 2, 3 interleaved over two resources
 * with two scopes each.
 *   rs0 "frontend": scope "a": t1/s1 t2/s2 t1/s3 ; scope "b": t3/s4 t1/s5
 *   rs1 "backend":  scope "a": t2/s6 t1/s7       ; scope NULL: t1/s8 */
static otlp_request *req_interleaved(void)
{
    otlp_span *a0[] = {span_new(1, 1, "s1"), span_new(2, 2, "s2"), span_new(1, 3, "s3")};
    otlp_span *b0[] = {span_new(3, 4, "s4"), span_new(1, 5, "s5")};
    otlp_span *a1[] = {span_new(2, 6, "s6"), span_new(1, 7, "s7")};
    otlp_span *n1[] = {span_new(1, 8, "s8")};
    otlp_scope_spans *sc0[] = {scope_new("a", a0, 3), scope_new("b", b0, 2)};
    otlp_scope_spans *sc1[] = {scope_new("a", a1, 2), scope_new(NULL, n1, 1)};
    otlp_resource_spans *rss[] = {rs_new("frontend", sc0, 2), rs_new("backend", sc1, 2)};
    return req_new(rss, 2);
}

static int setup(void **state)
{
    (void)state;
    ottr_arena_init(&A, 4096, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ottr_arena_free(&A);
    return 0;
}

static const otlp_trace_group *find_group(const otlp_batch *b, int trace)
{
    uint8_t id[16];
    tid(id, trace);
    for (size_t i = 0; i < b->ngroups; i++)
        if (memcmp(b->groups[i].trace_id, id, 16) == 0)
            return &b->groups[i];
    return NULL;
}

/* ---- tests ---- */

static void test_grouping(void **state)
{
    (void)state;
    otlp_request *req = req_interleaved();
    ottr_arena ar;
    ottr_arena_init(&ar, 1024, 0);
    otlp_batch b;
    size_t rejected = 99;
    char msg[128];
    assert_int_equal(otlp_batch_build(&ar, req, &b, &rejected, msg, sizeof(msg)), OTTR_OK);
    assert_int_equal(rejected, 0);
    assert_string_equal(msg, "");
    assert_int_equal(b.ngroups, 3);
    assert_int_equal(b.nspans, 8);

    /* Groups in order of first appearance; spans in request order within a group. */
    uint8_t id[16];
    tid(id, 1);
    assert_memory_equal(b.groups[0].trace_id, id, 16);
    tid(id, 2);
    assert_memory_equal(b.groups[1].trace_id, id, 16);
    tid(id, 3);
    assert_memory_equal(b.groups[2].trace_id, id, 16);

    const otlp_trace_group *g1 = find_group(&b, 1);
    assert_int_equal(g1->nspans, 5);
    const char *want[] = {"s1", "s3", "s5", "s7", "s8"};
    const char *svc[] = {"frontend", "frontend", "frontend", "backend", "backend"};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(g1->spans[i].span->name, want[i]);
        assert_string_equal(g1->spans[i].service, svc[i]);
        assert_memory_equal(g1->spans[i].span->trace_id.data, g1->trace_id, 16);
    }
    assert_string_equal(g1->spans[0].scope->name, "a");
    assert_string_equal(g1->spans[2].scope->name, "b");
    assert_null(g1->spans[4].scope);
    assert_ptr_equal(g1->spans[0].resource, req->resource_spans[0]->resource);
    assert_ptr_equal(g1->spans[3].resource, req->resource_spans[1]->resource);

    const otlp_trace_group *g2 = find_group(&b, 2);
    assert_int_equal(g2->nspans, 2);
    assert_string_equal(g2->spans[0].span->name, "s2");
    assert_string_equal(g2->spans[1].span->name, "s6");
    assert_int_equal(find_group(&b, 3)->nspans, 1);

    size_t total = 0;
    for (size_t i = 0; i < b.ngroups; i++)
        total += b.groups[i].chunk_len;
    assert_int_equal(total, b.chunk_bytes);
    ottr_arena_free(&ar);
}

/* Counts the spans of a TracesData and checks each belongs to |trace|. */
static size_t traces_data_spans(const otlp_traces_data *td, const uint8_t *trace)
{
    size_t n = 0;
    for (size_t i = 0; i < td->n_resource_spans; i++)
        for (size_t j = 0; j < td->resource_spans[i]->n_scope_spans; j++) {
            const otlp_scope_spans *ss = td->resource_spans[i]->scope_spans[j];
            for (size_t k = 0; k < ss->n_spans; k++, n++)
                if (trace)
                    assert_memory_equal(ss->spans[k]->trace_id.data, trace, 16);
        }
    return n;
}

static void test_chunk_round_trip(void **state)
{
    (void)state;
    otlp_request *req = req_interleaved();
    ottr_arena ar;
    ottr_arena_init(&ar, 1024, 0);
    otlp_batch b;
    size_t rejected;
    assert_int_equal(otlp_batch_build(&ar, req, &b, &rejected, NULL, 0), OTTR_OK);

    /* Trace 1 spans (frontend,a) (frontend,b) (backend,a) (backend,-): four pairs. */
    const otlp_trace_group *g1 = find_group(&b, 1);
    otlp_traces_data *td =
        opentelemetry__proto__trace__v1__traces_data__unpack(NULL, g1->chunk_len, g1->chunk);
    assert_non_null(td);
    assert_int_equal(td->n_resource_spans, 4);
    assert_int_equal(traces_data_spans(td, g1->trace_id), 5);
    const otlp_resource_spans *rs = td->resource_spans[0];
    assert_string_equal(otlp_resource_service(rs->resource), "frontend");
    assert_int_equal(rs->resource->n_attributes, 2);
    assert_string_equal(rs->resource->attributes[0]->key, "host.name");
    assert_string_equal(rs->schema_url, "https://opentelemetry.io/schemas/1.21.0");
    assert_int_equal(rs->n_scope_spans, 1);
    assert_string_equal(rs->scope_spans[0]->scope->name, "a");
    assert_string_equal(rs->scope_spans[0]->scope->version, "1.0");
    assert_int_equal(rs->scope_spans[0]->n_spans, 2);
    const otlp_span *s = rs->scope_spans[0]->spans[1];
    assert_string_equal(s->name, "s3");
    assert_int_equal(s->start_time_unix_nano, 1003);
    assert_int_equal(s->n_attributes, 1);
    assert_string_equal(s->attributes[0]->value->string_value, "GET");
    assert_string_equal(td->resource_spans[1]->scope_spans[0]->scope->name, "b");
    assert_string_equal(otlp_resource_service(td->resource_spans[2]->resource), "backend");
    assert_null(td->resource_spans[3]->scope_spans[0]->scope);
    assert_string_equal(td->resource_spans[3]->scope_spans[0]->spans[0]->name, "s8");
    opentelemetry__proto__trace__v1__traces_data__free_unpacked(td, NULL);

    /* All chunks concatenated: one valid TracesData with every span. */
    uint8_t *all = malloc(b.chunk_bytes);
    assert_non_null(all);
    size_t off = 0;
    for (size_t i = 0; i < b.ngroups; i++) {
        memcpy(all + off, b.groups[i].chunk, b.groups[i].chunk_len);
        off += b.groups[i].chunk_len;
    }
    td = opentelemetry__proto__trace__v1__traces_data__unpack(NULL, off, all);
    assert_non_null(td);
    assert_int_equal(traces_data_spans(td, NULL), 8);
    opentelemetry__proto__trace__v1__traces_data__free_unpacked(td, NULL);

    /* otlp_trace_decode gives the same spans back as refs. */
    ottr_arena dec;
    ottr_arena_init(&dec, 1024, 0);
    otlp_trace t;
    otlp_span_ref *refs;
    const otlp_trace_group *g2 = find_group(&b, 2);
    assert_int_equal(otlp_trace_decode(&t, &dec, g2->chunk, g2->chunk_len), OTTR_OK);
    refs = t.spans;
    assert_int_equal(t.nspans, 2);
    assert_string_equal(refs[0].span->name, "s2");
    assert_string_equal(refs[0].service, "frontend");
    assert_string_equal(refs[0].scope->name, "a");
    assert_string_equal(refs[1].span->name, "s6");
    assert_string_equal(refs[1].service, "backend");
    assert_memory_equal(refs[1].span->span_id.data,
                        req->resource_spans[1]->scope_spans[0]->spans[0]->span_id.data, 8);

    /* Two chunks of one trace stored one after the other decode as one list. */
    uint8_t *two = malloc(2 * g2->chunk_len);
    assert_non_null(two);
    memcpy(two, g2->chunk, g2->chunk_len);
    memcpy(two + g2->chunk_len, g2->chunk, g2->chunk_len);
    assert_int_equal(otlp_trace_decode(&t, &dec, two, 2 * g2->chunk_len), OTTR_OK);
    assert_int_equal(t.nspans, 4);
    assert_string_equal(t.spans[2].span->name, "s2");

    assert_int_equal(otlp_trace_decode(&t, &dec, NULL, 0), OTTR_OK);
    assert_int_equal(t.nspans, 0);
    const uint8_t junk[] = {0x0a, 0x50, 0x01, 0x02};
    assert_int_equal(otlp_trace_decode(&t, &dec, junk, sizeof(junk)), OTTR_ERR_CORRUPT);
    const uint8_t bad_tag[] = {0xff, 0xff, 0xff};
    assert_int_equal(otlp_trace_decode(&t, &dec, bad_tag, sizeof(bad_tag)), OTTR_ERR_CORRUPT);

    free(two);
    free(all);
    ottr_arena_free(&dec);
    ottr_arena_free(&ar);
}

static void test_invalid_ids(void **state)
{
    (void)state;
    otlp_span *zero_trace = span_new(0, 1, "zero-trace");
    otlp_span *short_trace = span_new(1, 2, "short-trace");
    short_trace->trace_id.len = 8;
    otlp_span *empty_trace = span_new(1, 3, "empty-trace");
    empty_trace->trace_id.len = 0;
    otlp_span *zero_span = span_new(1, 4, "zero-span");
    memset(zero_span->span_id.data, 0, 8);
    otlp_span *short_span = span_new(1, 5, "short-span");
    short_span->span_id.len = 4;
    otlp_span *bad_parent = span_new(1, 6, "bad-parent");
    bad_parent->parent_span_id.len = 4;
    bad_parent->parent_span_id.data = bad_parent->span_id.data;
    otlp_span *good = span_new(1, 7, "good");
    otlp_span *good_child = span_new(1, 8, "good-child");
    good_child->parent_span_id = good->span_id;
    otlp_span *spans[] = {good,      zero_trace, short_trace, empty_trace,
                          zero_span, short_span, bad_parent,  good_child};
    otlp_scope_spans *sc[] = {scope_new("a", spans, 8)};
    otlp_resource_spans *rss[] = {rs_new("svc", sc, 1)};
    otlp_request *req = req_new(rss, 1);

    ottr_arena ar;
    ottr_arena_init(&ar, 1024, 0);
    otlp_batch b;
    size_t rejected;
    char msg[256];
    assert_int_equal(otlp_batch_build(&ar, req, &b, &rejected, msg, sizeof(msg)), OTTR_OK);
    assert_int_equal(rejected, 6);
    assert_non_null(strstr(msg, "trace_id is all zeros"));
    assert_non_null(strstr(msg, "spans[1]"));
    assert_int_equal(b.ngroups, 1);
    assert_int_equal(b.nspans, 2);
    assert_string_equal(b.groups[0].spans[0].span->name, "good");
    assert_string_equal(b.groups[0].spans[1].span->name, "good-child");

    /* Only invalid spans: nothing to hand off, all counted. */
    otlp_span *bad[] = {zero_trace, short_span};
    otlp_scope_spans *sc2[] = {scope_new("a", bad, 2)};
    otlp_resource_spans *rss2[] = {rs_new("svc", sc2, 1)};
    assert_int_equal(otlp_batch_build(&ar, req_new(rss2, 1), &b, &rejected, msg, sizeof(msg)),
                     OTTR_OK);
    assert_int_equal(rejected, 2);
    assert_int_equal(b.ngroups, 0);
    assert_int_equal(b.nspans, 0);

    /* A short message buffer is truncated, not overrun; NULL is allowed. */
    char tiny[8];
    assert_int_equal(otlp_batch_build(&ar, req, &b, &rejected, tiny, sizeof(tiny)), OTTR_OK);
    assert_int_equal(strlen(tiny), 7);
    assert_int_equal(otlp_batch_build(&ar, req, &b, &rejected, NULL, 0), OTTR_OK);
    assert_int_equal(rejected, 6);
    ottr_arena_free(&ar);
}

static void test_empty_request(void **state)
{
    (void)state;
    ottr_arena ar;
    ottr_arena_init(&ar, 1024, 0);
    otlp_batch b;
    size_t rejected = 5;
    char msg[64] = "x";

    otlp_request *req = req_new(NULL, 0);
    assert_int_equal(otlp_batch_build(&ar, req, &b, &rejected, msg, sizeof(msg)), OTTR_OK);
    assert_int_equal(b.ngroups, 0);
    assert_int_equal(b.nspans, 0);
    assert_int_equal(b.chunk_bytes, 0);
    assert_int_equal(rejected, 0);
    assert_string_equal(msg, "");

    /* Resources and scopes without spans. */
    otlp_scope_spans *sc[] = {scope_new("a", NULL, 0)};
    otlp_resource_spans *rss[] = {rs_new("svc", sc, 1), rs_new("svc2", NULL, 0)};
    assert_int_equal(otlp_batch_build(&ar, req_new(rss, 2), &b, &rejected, msg, sizeof(msg)),
                     OTTR_OK);
    assert_int_equal(b.ngroups, 0);

    /* The empty wire message decodes and groups to nothing too. */
    otlp_request *dec =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            (ProtobufCAllocator[]){otlp_pb_allocator(&ar)}, 0, (const uint8_t *)"");
    assert_non_null(dec);
    assert_int_equal(otlp_batch_build(&ar, dec, &b, &rejected, msg, sizeof(msg)), OTTR_OK);
    assert_int_equal(b.ngroups, 0);
    ottr_arena_free(&ar);
}

static void test_service_name(void **state)
{
    (void)state;
    assert_string_equal(otlp_resource_service(NULL), "unknown_service");
    otlp_resource_spans *rs = rs_new(NULL, NULL, 0);
    assert_string_equal(otlp_resource_service(rs->resource), "unknown_service");
    rs = rs_new("checkout", NULL, 0);
    assert_string_equal(otlp_resource_service(rs->resource), "checkout");
    /* Not a string: ignored. */
    rs->resource->attributes[1]->value->value_case =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    rs->resource->attributes[1]->value->int_value = 7;
    assert_string_equal(otlp_resource_service(rs->resource), "unknown_service");
    /* Empty: unknown too. */
    rs = rs_new("", NULL, 0);
    assert_string_equal(otlp_resource_service(rs->resource), "unknown_service");

    /* A ResourceSpans without a resource at all still groups, as unknown_service. */
    otlp_span *sp[] = {span_new(4, 1, "lonely")};
    otlp_scope_spans *sc[] = {scope_new("a", sp, 1)};
    otlp_resource_spans *rss[] = {rs_new("x", sc, 1)};
    rss[0]->resource = NULL;
    ottr_arena ar;
    ottr_arena_init(&ar, 1024, 0);
    otlp_batch b;
    size_t rejected;
    assert_int_equal(otlp_batch_build(&ar, req_new(rss, 1), &b, &rejected, NULL, 0), OTTR_OK);
    assert_int_equal(b.ngroups, 1);
    assert_string_equal(b.groups[0].spans[0].service, "unknown_service");
    assert_null(b.groups[0].spans[0].resource);
    otlp_trace t;
    assert_int_equal(otlp_trace_decode(&t, &ar, b.groups[0].chunk, b.groups[0].chunk_len), OTTR_OK);
    assert_int_equal(t.nspans, 1);
    assert_null(t.spans[0].resource);
    assert_string_equal(t.spans[0].service, "unknown_service");
    ottr_arena_free(&ar);
}

static void test_arena_limit(void **state)
{
    (void)state;
    enum { N = 200 };
    otlp_span *spans[N];
    for (int i = 0; i < N; i++)
        spans[i] = span_new(1 + i % 50, i + 1, "op");
    otlp_scope_spans *sc[] = {scope_new("a", spans, N)};
    otlp_resource_spans *rss[] = {rs_new("svc", sc, 1)};
    otlp_request *req = req_new(rss, 1);

    otlp_batch b;
    size_t rejected;
    /* Any limit short of what the batch needs fails cleanly, never half-built. */
    for (size_t limit = 1024; limit < 64 * 1024; limit += 1024) {
        ottr_arena ar;
        ottr_arena_init(&ar, 512, limit);
        ottr_status st = otlp_batch_build(&ar, req, &b, &rejected, NULL, 0);
        if (st == OTTR_OK) {
            assert_int_equal(b.ngroups, 50);
            assert_int_equal(b.nspans, N);
            ottr_arena_free(&ar);
            break;
        }
        assert_int_equal(st, OTTR_ERR_TOO_LARGE);
        assert_int_equal(b.ngroups, 0);
        assert_null(b.groups);
        ottr_arena_free(&ar);
    }

    ottr_arena ar;
    ottr_arena_init(&ar, 512, 2048);
    assert_int_equal(otlp_batch_build(&ar, req, &b, &rejected, NULL, 0), OTTR_ERR_TOO_LARGE);
    ottr_arena_free(&ar);

    /* Decoding under a limit that is too small: out of memory, not corrupt. */
    ottr_arena big;
    ottr_arena_init(&big, 4096, 0);
    assert_int_equal(otlp_batch_build(&big, req, &b, &rejected, NULL, 0), OTTR_OK);
    ottr_arena small;
    ottr_arena_init(&small, 256, 512);
    otlp_trace t;
    assert_int_equal(otlp_trace_decode(&t, &small, b.groups[0].chunk, b.groups[0].chunk_len),
                     OTTR_ERR_NOMEM);
    ottr_arena_free(&small);
    ottr_arena_free(&big);
}

/* Many traces and a realistic span: the hash table and the encoding at scale. */
static void test_many_traces(void **state)
{
    (void)state;
    enum { N = 5000 };
    otlp_span **spans = talloc(N * sizeof(otlp_span *));
    for (int i = 0; i < N; i++) {
        spans[i] = span_new(0, i % 200 + 1, "op");
        spans[i]->trace_id.data[0] = 0x11;
        spans[i]->trace_id.data[1] = (uint8_t)(i % 1000);
        spans[i]->trace_id.data[2] = (uint8_t)((i % 1000) >> 8);
    }
    otlp_scope_spans *sc[] = {scope_new("a", spans, N)};
    otlp_resource_spans *rss[] = {rs_new("svc", sc, 1)};
    ottr_arena ar;
    ottr_arena_init(&ar, 64 * 1024, 0);
    otlp_batch b;
    size_t rejected;
    assert_int_equal(otlp_batch_build(&ar, req_new(rss, 1), &b, &rejected, NULL, 0), OTTR_OK);
    assert_int_equal(b.ngroups, 1000);
    assert_int_equal(b.nspans, N);
    for (size_t g = 0; g < b.ngroups; g++) {
        assert_int_equal(b.groups[g].nspans, 5);
        otlp_traces_data *td = opentelemetry__proto__trace__v1__traces_data__unpack(
            (ProtobufCAllocator[]){otlp_pb_allocator(&ar)}, b.groups[g].chunk_len,
            b.groups[g].chunk);
        assert_non_null(td);
        assert_int_equal(td->n_resource_spans, 1);
        assert_int_equal(traces_data_spans(td, b.groups[g].trace_id), 5);
    }
    ottr_arena_free(&ar);
}

/* Packs |req| into a malloc'd buffer. */
static uint8_t *req_pack(const otlp_request *req, size_t *len)
{
    *len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            req);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(req, buf);
    return buf;
}

static void assert_same_batches(const otlp_batch *a, const otlp_batch *b)
{
    assert_int_equal(a->ngroups, b->ngroups);
    assert_int_equal(a->nspans, b->nspans);
    assert_int_equal(a->chunk_bytes, b->chunk_bytes);
    for (size_t g = 0; g < a->ngroups; g++) {
        assert_memory_equal(a->groups[g].trace_id, b->groups[g].trace_id, 16);
        assert_int_equal(a->groups[g].nspans, b->groups[g].nspans);
        assert_int_equal(a->groups[g].chunk_len, b->groups[g].chunk_len);
        assert_memory_equal(a->groups[g].chunk, b->groups[g].chunk, a->groups[g].chunk_len);
    }
}

/* Copying the original bytes gives exactly what re-encoding gives. */
static void test_wire_matches_reencode(void **state)
{
    (void)state;
    size_t len;
    uint8_t *wire = req_pack(req_interleaved(), &len);
    ottr_arena ar;
    ottr_arena_init(&ar, 4096, 0);
    otlp_request *dec =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            (ProtobufCAllocator[]){otlp_pb_allocator(&ar)}, len, wire);
    assert_non_null(dec);
    otlp_batch a, b;
    size_t rej_a, rej_b;
    assert_int_equal(otlp_batch_build(&ar, dec, &a, &rej_a, NULL, 0), OTTR_OK);
    assert_int_equal(otlp_batch_build_wire(&ar, dec, wire, len, &b, &rej_b, NULL, 0), OTTR_OK);
    assert_int_equal(b.ngroups, 3);
    assert_same_batches(&a, &b);
    /* The chunks do not point into the wire bytes: they outlive them. */
    for (size_t g = 0; g < b.ngroups; g++)
        assert_true(b.groups[g].chunk + b.groups[g].chunk_len <= wire ||
                    b.groups[g].chunk >= wire + len);

    /* Invalid spans are left out the same way. */
    memset(dec->resource_spans[0]->scope_spans[0]->spans[1]->trace_id.data, 0, 16);
    uint8_t *wire2 = req_pack(dec, &len);
    otlp_request *dec2 =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            (ProtobufCAllocator[]){otlp_pb_allocator(&ar)}, len, wire2);
    assert_non_null(dec2);
    char msg[128];
    assert_int_equal(otlp_batch_build_wire(&ar, dec2, wire2, len, &b, &rej_b, msg, sizeof(msg)),
                     OTTR_OK);
    assert_int_equal(rej_b, 1);
    assert_non_null(strstr(msg, "trace_id is all zeros"));
    assert_int_equal(otlp_batch_build(&ar, dec2, &a, &rej_a, NULL, 0), OTTR_OK);
    assert_same_batches(&a, &b);
    free(wire2);
    free(wire);
    ottr_arena_free(&ar);
}

static otlp_any *any_new(int value_case)
{
    otlp_any *v = talloc(sizeof(*v));
    opentelemetry__proto__common__v1__any_value__init(v);
    v->value_case = value_case;
    return v;
}

/* Every ref of |b| carries its span's encoded size, as protobuf-c computes it. */
static void assert_sizes(const otlp_batch *b)
{
    for (size_t g = 0; g < b->ngroups; g++) {
        for (size_t k = 0; k < b->groups[g].nspans; k++) {
            const otlp_span_ref *r = &b->groups[g].spans[k];
            size_t want = opentelemetry__proto__trace__v1__span__get_packed_size(r->span);
            assert_int_equal(r->wire_len, want);
            assert_int_equal(otlp_span_ref_size(r), want);
        }
    }
}

/* Appends field |f| (length-delimited) holding |n| bytes of |p| to |out|. */
static size_t put_ld(uint8_t *out, int f, const uint8_t *p, size_t n)
{
    out[0] = (uint8_t)(f << 3 | 2);
    size_t k = (size_t)(otlp_varint_put(out + 1, n) - out);
    memcpy(out + k, p, n);
    return k + n;
}

/* Unusual but valid layouts: unknown fields everywhere (kept inside spans), a
 * resource sent twice (merged, so the bytes cannot be copied), a truncated tail. */
static void test_wire_unusual(void **state)
{
    (void)state;
    otlp_span *sp[] = {span_new(5, 1, "a"), span_new(5, 2, "b")};
    size_t span_len[2];
    uint8_t span_bytes[2][512];
    for (int i = 0; i < 2; i++) {
        span_len[i] = protobuf_c_message_pack(&sp[i]->base, span_bytes[i]);
        /* An unknown varint field 99 inside the span. */
        span_bytes[i][span_len[i]++] = 0x98;
        span_bytes[i][span_len[i]++] = 0x06;
        span_bytes[i][span_len[i]++] = 0x2a;
    }
    const uint8_t res1[] = {0x10, 0x01}; /* Resource{dropped_attributes_count: 1} */
    const uint8_t res2[] = {0x10, 0x02};
    uint8_t ss[2048], rs[4096], req[8192];
    size_t n_ss = 0, n_rs = 0, n_req = 0;
    for (int i = 0; i < 2; i++)
        n_ss += put_ld(ss + n_ss, 2, span_bytes[i], span_len[i]);
    ss[n_ss++] = 0x38; /* unknown field 7 in ScopeSpans */
    ss[n_ss++] = 0x01;

    for (int twice = 0; twice < 2; twice++) {
        n_rs = 0;
        n_rs += put_ld(rs + n_rs, 1, res1, sizeof(res1));
        if (twice)
            n_rs += put_ld(rs + n_rs, 1, res2, sizeof(res2));
        n_rs += put_ld(rs + n_rs, 2, ss, n_ss);
        rs[n_rs++] = 0x28; /* unknown field 5 in ResourceSpans */
        rs[n_rs++] = 0x07;
        n_req = 0;
        req[n_req++] = 0x10; /* unknown field 2 in the request */
        req[n_req++] = 0x03;
        n_req += put_ld(req + n_req, 1, rs, n_rs);

        ottr_arena ar;
        ottr_arena_init(&ar, 4096, 0);
        otlp_request *dec =
            opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
                (ProtobufCAllocator[]){otlp_pb_allocator(&ar)}, n_req, req);
        assert_non_null(dec);
        otlp_batch b;
        size_t rejected;
        assert_int_equal(otlp_batch_build_wire(&ar, dec, req, n_req, &b, &rejected, NULL, 0),
                         OTTR_OK);
        assert_int_equal(b.ngroups, 1);
        assert_int_equal(b.nspans, 2);
        assert_sizes(&b); /* the unknown field counts */
        otlp_traces_data *td = opentelemetry__proto__trace__v1__traces_data__unpack(
            (ProtobufCAllocator[]){otlp_pb_allocator(&ar)}, b.groups[0].chunk_len,
            b.groups[0].chunk);
        assert_non_null(td);
        assert_int_equal(traces_data_spans(td, b.groups[0].trace_id), 2);
        /* Merged resource: both fields present after the re-encode. */
        assert_int_equal(td->resource_spans[0]->resource->dropped_attributes_count, twice ? 2 : 1);
        /* The span's unknown field survives either way. */
        assert_int_equal(td->resource_spans[0]->scope_spans[0]->spans[0]->base.n_unknown_fields, 1);
        assert_string_equal(td->resource_spans[0]->scope_spans[0]->spans[1]->name, "b");

        /* Bytes that do not match the decoded request are not trusted. */
        assert_int_equal(otlp_batch_build_wire(&ar, dec, req, n_req - 3, &b, &rejected, NULL, 0),
                         OTTR_OK);
        assert_int_equal(b.nspans, 2);
        td = opentelemetry__proto__trace__v1__traces_data__unpack(
            (ProtobufCAllocator[]){otlp_pb_allocator(&ar)}, b.groups[0].chunk_len,
            b.groups[0].chunk);
        assert_non_null(td);
        assert_int_equal(traces_data_spans(td, b.groups[0].trace_id), 2);
        ottr_arena_free(&ar);
    }
}

/* Spans with every kind of field, and spans whose bytes are not what protobuf-c
 * packs (explicit zeros, empty strings, long varints): wire_len is the size
 * get_packed_size gives, on both paths. */
static void test_span_sizes(void **state)
{
    (void)state;
    otlp_span *a = span_new(7, 1, "full");
    a->trace_state = "k=v";
    a->parent_span_id = a->span_id;
    a->kind = -3;
    a->dropped_attributes_count = 300;
    a->dropped_events_count = 1;
    a->dropped_links_count = 2;
    a->flags = 0x301;
    otlp_any *vs[9];
    vs[0] = any_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
    vs[0]->string_value = (char *)"";
    vs[1] = any_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
    vs[1]->string_value = (char *)protobuf_c_empty_string;
    vs[2] = any_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    vs[3] = any_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    vs[3]->int_value = -5;
    vs[4] = any_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);
    vs[5] = any_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
    vs[6] = any_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
    vs[6]->kvlist_value = talloc(sizeof(otlp_kvlist));
    opentelemetry__proto__common__v1__key_value_list__init(vs[6]->kvlist_value);
    vs[6]->kvlist_value->n_values = 1;
    vs[6]->kvlist_value->values = talloc(sizeof(otlp_kv *));
    vs[6]->kvlist_value->values[0] = kv_str("inner", "x");
    vs[7] = any_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
    vs[7]->array_value = talloc(sizeof(otlp_array));
    opentelemetry__proto__common__v1__array_value__init(vs[7]->array_value);
    vs[7]->array_value->n_values = 2;
    vs[7]->array_value->values = talloc(2 * sizeof(otlp_any *));
    vs[7]->array_value->values[0] = vs[3];
    vs[7]->array_value->values[1] = vs[6];
    vs[8] = any_new(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
    a->n_attributes = 11;
    a->attributes = talloc(a->n_attributes * sizeof(otlp_kv *));
    for (size_t i = 0; i < 9; i++) {
        a->attributes[i] = kv_str(i % 2 ? "k" : "", "");
        a->attributes[i]->value = vs[i];
    }
    a->attributes[9] = kv_str("no value", "");
    a->attributes[9]->value = NULL;
    a->attributes[10] = kv_str(NULL, "v");
    a->n_events = 1;
    a->events = talloc(sizeof(otlp_event *));
    a->events[0] = talloc(sizeof(otlp_event));
    opentelemetry__proto__trace__v1__span__event__init(a->events[0]);
    a->events[0]->name = "ev";
    a->events[0]->time_unix_nano = 5;
    a->events[0]->n_attributes = 1;
    a->events[0]->attributes = a->attributes;
    a->n_links = 1;
    a->links = talloc(sizeof(otlp_link *));
    a->links[0] = talloc(sizeof(otlp_link));
    opentelemetry__proto__trace__v1__span__link__init(a->links[0]);
    a->links[0]->trace_id = a->trace_id;
    a->links[0]->flags = 1;
    a->links[0]->dropped_attributes_count = 3;
    a->status = talloc(sizeof(otlp_status));
    opentelemetry__proto__trace__v1__status__init(a->status);
    a->status->message = "boom";
    a->status->code = 2;
    otlp_span *b = span_new(7, 2, ""); /* an empty status, nothing else */
    b->status = talloc(sizeof(otlp_status));
    opentelemetry__proto__trace__v1__status__init(b->status);
    otlp_span *sp[] = {a, b, span_new(8, 3, "plain")};

    ottr_arena ar;
    ottr_arena_init(&ar, 4096, 0);
    otlp_batch bt;
    size_t rejected, len;
    otlp_request *req = req_new(
        (otlp_resource_spans *[]){rs_new("svc", (otlp_scope_spans *[]){scope_new("s", sp, 3)}, 1)},
        1);
    assert_int_equal(otlp_batch_build(&ar, req, &bt, &rejected, NULL, 0), OTTR_OK);
    assert_int_equal(bt.nspans, 3);
    assert_sizes(&bt);
    uint8_t *wire = req_pack(req, &len);
    otlp_request *dec =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            (ProtobufCAllocator[]){otlp_pb_allocator(&ar)}, len, wire);
    assert_non_null(dec);
    assert_int_equal(otlp_batch_build_wire(&ar, dec, wire, len, &bt, &rejected, NULL, 0), OTTR_OK);
    assert_int_equal(bt.nspans, 3);
    assert_sizes(&bt);
    free(wire);

    /* Bytes protobuf-c would pack shorter: explicit zero and empty fields (as some
     * encoders send them) and a varint longer than needed. */
    uint8_t span[1024], ss[2048], rs[2048], rq[4096];
    size_t n = protobuf_c_message_pack(&sp[2]->base, span);
    const uint8_t extra[] = {0x50, 0x00,              /* dropped_attributes_count: 0 */
                             0x1a, 0x00,              /* trace_state: "" */
                             0x30, 0x81, 0x00,        /* kind: 1, in two bytes */
                             0x7a, 0x02, 0x18, 0x00}; /* status: {code: 0} */
    memcpy(span + n, extra, sizeof(extra));
    n += sizeof(extra);
    size_t n_ss = put_ld(ss, 2, span, n);
    size_t n_rs = put_ld(rs, 2, ss, n_ss);
    size_t n_rq = put_ld(rq, 1, rs, n_rs);
    dec = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
        (ProtobufCAllocator[]){otlp_pb_allocator(&ar)}, n_rq, rq);
    assert_non_null(dec);
    assert_int_equal(otlp_batch_build_wire(&ar, dec, rq, n_rq, &bt, &rejected, NULL, 0), OTTR_OK);
    assert_int_equal(bt.nspans, 1);
    assert_true(opentelemetry__proto__trace__v1__span__get_packed_size(bt.groups[0].spans[0].span) <
                n);
    assert_sizes(&bt);
    ottr_arena_free(&ar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grouping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arena_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_traces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wire_matches_reencode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wire_unusual, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_sizes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
