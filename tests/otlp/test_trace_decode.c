/* tests/otlp/test_trace_decode.c - the one decoder of stored traces and chunks
 * (otlp_trace_decode): chunks from otlp_batch_build come back span for span, with
 * their resource, scope, service and ResourceSpans index; bad bytes are
 * OTTR_ERR_CORRUPT and an arena that runs out is OTTR_ERR_NOMEM, never the other
 * way round. Also the flagged allocator it uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otlp/otlp.h"

static ottr_arena A; /* the requests built by hand */

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

/* Span |id| of trace |trace| (both 1..255), child of |parent| (0: a root). */
static otlp_span *span_new(int trace, int id, int parent, const char *name)
{
    otlp_span *s = talloc(sizeof(*s));
    opentelemetry__proto__trace__v1__span__init(s);
    s->trace_id.len = 16;
    s->trace_id.data = talloc(16);
    s->trace_id.data[0] = 0xab;
    s->trace_id.data[15] = (uint8_t)trace;
    s->span_id.len = 8;
    s->span_id.data = talloc(8);
    s->span_id.data[0] = 1;
    s->span_id.data[7] = (uint8_t)id;
    if (parent) {
        s->parent_span_id.len = 8;
        s->parent_span_id.data = talloc(8);
        s->parent_span_id.data[0] = 1;
        s->parent_span_id.data[7] = (uint8_t)parent;
    }
    s->name = (char *)name;
    s->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    s->start_time_unix_nano = 1000 + (uint64_t)id;
    s->end_time_unix_nano = 2000 + (uint64_t)id;
    s->n_attributes = 1;
    s->attributes = talloc(sizeof(otlp_kv *));
    s->attributes[0] = kv_str("http.method", "GET");
    return s;
}

static otlp_resource_spans *rs_new(const char *service, const char *scope, otlp_span **spans,
                                   size_t n)
{
    otlp_scope_spans *ss = talloc(sizeof(*ss));
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    if (scope) {
        ss->scope = talloc(sizeof(*ss->scope));
        opentelemetry__proto__common__v1__instrumentation_scope__init(ss->scope);
        ss->scope->name = (char *)scope;
    }
    ss->spans = talloc(n * sizeof(otlp_span *));
    memcpy(ss->spans, spans, n * sizeof(otlp_span *));
    ss->n_spans = n;
    otlp_resource_spans *rs = talloc(sizeof(*rs));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    if (service) {
        rs->resource = talloc(sizeof(*rs->resource));
        opentelemetry__proto__resource__v1__resource__init(rs->resource);
        rs->resource->attributes = talloc(sizeof(otlp_kv *));
        rs->resource->attributes[0] = kv_str("service.name", service);
        rs->resource->n_attributes = 1;
    }
    rs->scope_spans = talloc(sizeof(otlp_scope_spans *));
    rs->scope_spans[0] = ss;
    rs->n_scope_spans = 1;
    return rs;
}

/* Three resources; trace 1 has spans under all of them, trace 2 under two. */
static otlp_request *request(void)
{
    otlp_span *a[] = {span_new(1, 1, 0, "root"), span_new(2, 1, 0, "other root"),
                      span_new(1, 2, 1, "child")};
    otlp_span *b[] = {span_new(1, 3, 2, "grandchild")};
    otlp_span *c[] = {span_new(2, 2, 1, "other child"), span_new(1, 4, 9, "orphan")};
    otlp_request *r = talloc(sizeof(*r));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(r);
    r->resource_spans = talloc(3 * sizeof(otlp_resource_spans *));
    r->resource_spans[0] = rs_new("frontend", "lib.a", a, 3);
    r->resource_spans[1] = rs_new("backend", NULL, b, 1);
    r->resource_spans[2] = rs_new(NULL, "lib.c", c, 2);
    r->n_resource_spans = 3;
    return r;
}

static const otlp_trace_group *group_of(const otlp_batch *b, int trace)
{
    for (size_t i = 0; i < b->ngroups; i++)
        if (b->groups[i].trace_id[15] == trace)
            return &b->groups[i];
    fail_msg("no group for trace %d", trace);
    return NULL;
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

/* Each group's chunk decodes to the group's spans, in the same order, with the
 * same resource, scope and service; the tree links them. */
static void test_round_trip(void **state)
{
    (void)state;
    ottr_arena ar;
    ottr_arena_init(&ar, 4096, 0);
    otlp_batch b;
    size_t rejected;
    assert_int_equal(otlp_batch_build(&ar, request(), &b, &rejected, NULL, 0), OTTR_OK);
    assert_int_equal(b.ngroups, 2);

    for (int trace = 1; trace <= 2; trace++) {
        const otlp_trace_group *g = group_of(&b, trace);
        ottr_arena dec;
        ottr_arena_init(&dec, 1024, 0);
        otlp_trace t;
        assert_int_equal(otlp_trace_decode(&t, &dec, g->chunk, g->chunk_len), OTTR_OK);
        assert_non_null(t.td);
        assert_int_equal(t.nspans, g->nspans);
        for (size_t i = 0; i < t.nspans; i++) {
            const otlp_span_ref *got = &t.spans[i], *want = &g->spans[i];
            assert_string_equal(got->span->name, want->span->name);
            assert_memory_equal(got->span->span_id.data, want->span->span_id.data, 8);
            assert_int_equal(got->span->parent_span_id.len, want->span->parent_span_id.len);
            assert_int_equal(got->span->kind, want->span->kind);
            assert_int_equal(got->span->start_time_unix_nano, want->span->start_time_unix_nano);
            assert_string_equal(got->service, want->service);
            assert_int_equal(got->resource == NULL, want->resource == NULL);
            assert_int_equal(got->scope == NULL, want->scope == NULL);
            if (got->scope)
                assert_string_equal(got->scope->name, want->scope->name);
            assert_true(got->rs < t.td->n_resource_spans);
            assert_int_equal(got->parent, -1);
            assert_int_equal(got->problems, 0);
        }
        ottr_arena_free(&dec);
    }

    /* trace 1: three ResourceSpans in the chunk, each span knows its own */
    const otlp_trace_group *g = group_of(&b, 1);
    ottr_arena dec;
    ottr_arena_init(&dec, 1024, 0);
    otlp_trace t;
    assert_int_equal(otlp_trace_decode(&t, &dec, g->chunk, g->chunk_len), OTTR_OK);
    assert_int_equal(t.td->n_resource_spans, 3);
    const char *names[] = {"root", "child", "grandchild", "orphan"};
    const char *services[] = {"frontend", "frontend", "backend", "unknown_service"};
    const uint32_t rs[] = {0, 0, 1, 2};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(t.spans[i].span->name, names[i]);
        assert_string_equal(t.spans[i].service, services[i]);
        assert_int_equal(t.spans[i].rs, rs[i]);
    }
    assert_null(t.spans[2].scope);
    assert_null(t.spans[3].resource);
    assert_int_equal(otlp_trace_build_tree(&t, &dec), OTTR_OK);
    assert_int_equal(t.root, 0);
    assert_int_equal(t.spans[1].parent, 0);
    assert_int_equal(t.spans[2].parent, 1);
    assert_int_equal(t.spans[3].problems, OTLP_SPAN_ORPHAN);
    assert_int_equal(t.norphans, 1);

    /* the chunks of a trace stored one after the other are one TracesData */
    uint8_t *two = malloc(2 * g->chunk_len);
    assert_non_null(two);
    memcpy(two, g->chunk, g->chunk_len);
    memcpy(two + g->chunk_len, g->chunk, g->chunk_len);
    assert_int_equal(otlp_trace_decode(&t, &dec, two, 2 * g->chunk_len), OTTR_OK);
    assert_int_equal(t.nspans, 8);
    assert_int_equal(t.spans[7].rs, 5);
    free(two);

    /* nothing at all: an empty trace */
    assert_int_equal(otlp_trace_decode(&t, &dec, NULL, 0), OTTR_OK);
    assert_int_equal(t.nspans, 0);
    assert_int_equal(t.root, -1);
    ottr_arena_free(&dec);
    ottr_arena_free(&ar);
}

static void test_corrupt(void **state)
{
    (void)state;
    ottr_arena ar;
    ottr_arena_init(&ar, 4096, 0);
    otlp_batch b;
    size_t rejected;
    assert_int_equal(otlp_batch_build(&ar, request(), &b, &rejected, NULL, 0), OTTR_OK);
    const otlp_trace_group *g = group_of(&b, 1);

    ottr_arena dec;
    ottr_arena_init(&dec, 1024, 0);
    otlp_trace t;
    static const uint8_t junk[] = {0x0a, 0x50, 0x01, 0x02}; /* length past the end */
    static const uint8_t bad_tag[] = {0xff, 0xff, 0xff};    /* a varint that never ends */
    static const uint8_t wrong_wire[] = {0x08, 0x01};       /* resource_spans as a varint */
    static const uint8_t group[] = {0x0b, 0x0c};            /* groups are not proto3 */
    static const uint8_t field0[] = {0x02, 0x00};           /* field number 0 */
    const struct {
        const uint8_t *p;
        size_t n;
    } bad[] = {{junk, sizeof(junk)},
               {bad_tag, sizeof(bad_tag)},
               {wrong_wire, sizeof(wrong_wire)},
               {group, sizeof(group)},
               {field0, sizeof(field0)},
               {g->chunk, g->chunk_len - 1}, /* cut short */
               {g->chunk, 1}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (otlp_trace_decode(&t, &dec, bad[i].p, bad[i].n) != OTTR_ERR_CORRUPT)
            fail_msg("bad input %zu not reported as corrupt", i);
    }
    /* a good arena limit does not make corrupt bytes look like out of memory */
    ottr_arena lim;
    ottr_arena_init(&lim, 256, 64 * 1024);
    assert_int_equal(otlp_trace_decode(&t, &lim, junk, sizeof(junk)), OTTR_ERR_CORRUPT);
    ottr_arena_free(&lim);
    ottr_arena_free(&dec);
    ottr_arena_free(&ar);
}

/* Under every arena limit the result is the whole trace or OTTR_ERR_NOMEM -
 * never OTTR_ERR_CORRUPT, which would make the store or the sampler drop good
 * data. */
static void test_arena_limit(void **state)
{
    (void)state;
    ottr_arena ar;
    ottr_arena_init(&ar, 4096, 0);
    otlp_batch b;
    size_t rejected;
    assert_int_equal(otlp_batch_build(&ar, request(), &b, &rejected, NULL, 0), OTTR_OK);
    const otlp_trace_group *g = group_of(&b, 1);
    int saw_nomem = 0, saw_ok = 0;
    for (size_t limit = 16; limit <= 16 * 1024 && !saw_ok; limit += 16) {
        ottr_arena small;
        ottr_arena_init(&small, 64, limit);
        otlp_trace t;
        ottr_status st = otlp_trace_decode(&t, &small, g->chunk, g->chunk_len);
        if (st == OTTR_OK) {
            assert_int_equal(t.nspans, 4);
            saw_ok = 1;
        } else if (st == OTTR_ERR_NOMEM) {
            saw_nomem = 1;
        } else {
            fail_msg("limit %zu: %s", limit, ottr_status_str(st));
        }
        ottr_arena_free(&small);
    }
    assert_true(saw_nomem);
    assert_true(saw_ok);
    ottr_arena_free(&ar);
}

/* A TracesData made by hand may hold NULL messages: they are passed over. */
static void test_from_data(void **state)
{
    (void)state;
    otlp_span *sp[] = {span_new(3, 1, 0, "a"), NULL, span_new(3, 2, 1, "b")};
    otlp_resource_spans *rs = rs_new("svc", NULL, sp, 3);
    otlp_traces_data td;
    opentelemetry__proto__trace__v1__traces_data__init(&td);
    otlp_resource_spans *list[] = {NULL, rs};
    td.resource_spans = list;
    td.n_resource_spans = 2;
    ottr_arena ar;
    ottr_arena_init(&ar, 1024, 0);
    otlp_trace t;
    assert_int_equal(otlp_trace_from_data(&t, &ar, &td), OTTR_OK);
    assert_int_equal(t.nspans, 2);
    assert_string_equal(t.spans[1].span->name, "b");
    assert_int_equal(t.spans[1].rs, 1);
    assert_string_equal(t.spans[1].service, "svc");
    ottr_arena_free(&ar);
}

static void test_flagged_allocator(void **state)
{
    (void)state;
    ottr_arena ar;
    ottr_arena_init(&ar, 64, 256);
    otlp_pb_flagged f;
    otlp_pb_flagged_init(&f, &ar);
    assert_int_equal(f.failed, OTTR_OK);
    void *p = f.pb.alloc(f.pb.allocator_data, 100);
    assert_non_null(p);
    f.pb.free(f.pb.allocator_data, p); /* a no-op */
    assert_null(f.pb.alloc(f.pb.allocator_data, 200));
    assert_int_equal(f.failed, OTTR_ERR_TOO_LARGE);
    assert_int_equal(otlp_alloc_failure(&ar, 200), OTTR_ERR_TOO_LARGE);
    assert_int_equal(otlp_alloc_failure(&ar, SIZE_MAX), OTTR_ERR_TOO_LARGE);
    ottr_arena_free(&ar);
    /* without a limit, a failure can only be malloc's */
    ottr_arena_init(&ar, 64, 0);
    assert_int_equal(otlp_alloc_failure(&ar, 200), OTTR_ERR_NOMEM);
    ottr_arena_free(&ar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arena_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flagged_allocator, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
