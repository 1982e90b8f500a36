/* tests/otlp/test_limits.c - the input limits of otlp_batch_build_limited: for
 * each limit a span at it is kept and a span over it is rejected, counted by
 * reason, named in the message, and left out of the batch while the rest of the
 * request is kept; the same from protobuf bytes (where short spans skip the walk
 * over their strings) and from decoded structs alone (as for JSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otlp/otlp.h"

static ottr_arena A; /* everything a test builds */

static void *talloc(size_t n)
{
    void *p = ottr_arena_alloc(&A, n ? n : 1);
    assert_non_null(p);
    memset(p, 0, n ? n : 1);
    return p;
}

/* A string of |n| copies of |c|. */
static char *str_of(size_t n, char c)
{
    char *s = talloc(n + 1);
    memset(s, c, n);
    return s;
}

static otlp_any *any_str(const char *v)
{
    otlp_any *a = talloc(sizeof(*a));
    opentelemetry__proto__common__v1__any_value__init(a);
    a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    a->string_value = (char *)v;
    return a;
}

static otlp_kv *kv_new(const char *key, otlp_any *value)
{
    otlp_kv *kv = talloc(sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = (char *)key;
    kv->value = value;
    return kv;
}

/* |n| attributes "k0".. "kN" with the value "v". */
static otlp_kv **attrs_new(size_t n)
{
    otlp_kv **kv = talloc(n * sizeof(*kv));
    for (size_t i = 0; i < n; i++) {
        char *key = talloc(24);
        snprintf(key, 24, "k%zu", i);
        kv[i] = kv_new(key, any_str("v"));
    }
    return kv;
}

/* What the first span of a request carries; the second span is always plain. */
typedef struct shape {
    size_t attrs, events, links, event_attrs, link_attrs, resource_attrs, scope_attrs;
    otlp_kv *extra;       /* one more span attribute, or NULL */
    otlp_kv *event_extra; /* one more attribute of the last event, or NULL */
    otlp_kv *link_extra;  /* one more attribute of the last link, or NULL */
} shape;

/* |n| attributes "k0".. and |extra| when not NULL; sets |*count|. */
static otlp_kv **attrs_plus(size_t n, otlp_kv *extra, size_t *count)
{
    otlp_kv **kv = attrs_new(n + (extra != NULL));
    if (extra)
        kv[n] = extra;
    *count = n + (extra != NULL);
    return kv;
}

static otlp_span *span_new(int id, const shape *sh)
{
    otlp_span *s = talloc(sizeof(*s));
    opentelemetry__proto__trace__v1__span__init(s);
    s->trace_id.len = 16;
    s->trace_id.data = talloc(16);
    s->trace_id.data[0] = 0xab;
    s->span_id.len = 8;
    s->span_id.data = talloc(8);
    s->span_id.data[0] = 1;
    s->span_id.data[7] = (uint8_t)id;
    s->name = (char *)"op";
    s->start_time_unix_nano = 1000;
    s->end_time_unix_nano = 2000;
    if (sh == NULL)
        return s;
    s->attributes = attrs_plus(sh->attrs, sh->extra, &s->n_attributes);
    s->n_events = sh->events;
    s->events = talloc(sh->events * sizeof(otlp_event *));
    for (size_t i = 0; i < sh->events; i++) {
        otlp_event *e = s->events[i] = talloc(sizeof(otlp_event));
        opentelemetry__proto__trace__v1__span__event__init(e);
        e->name = (char *)"ev";
        e->attributes = attrs_plus(sh->event_attrs, i + 1 == sh->events ? sh->event_extra : NULL,
                                   &e->n_attributes);
    }
    s->n_links = sh->links;
    s->links = talloc(sh->links * sizeof(otlp_link *));
    for (size_t i = 0; i < sh->links; i++) {
        otlp_link *l = s->links[i] = talloc(sizeof(otlp_link));
        opentelemetry__proto__trace__v1__span__link__init(l);
        l->trace_id.len = 16;
        l->trace_id.data = talloc(16);
        l->trace_id.data[0] = 0xcd;
        l->span_id.len = 8;
        l->span_id.data = talloc(8);
        l->span_id.data[0] = 2;
        l->attributes = attrs_plus(sh->link_attrs, i + 1 == sh->links ? sh->link_extra : NULL,
                                   &l->n_attributes);
    }
    return s;
}

/* A request of one resource and scope with two spans: the first of shape |sh|,
 * the second plain. */
static otlp_request *req_new(const shape *sh)
{
    otlp_scope_spans *ss = talloc(sizeof(*ss));
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    ss->scope = talloc(sizeof(*ss->scope));
    opentelemetry__proto__common__v1__instrumentation_scope__init(ss->scope);
    ss->scope->name = (char *)"lib";
    ss->scope->n_attributes = sh->scope_attrs;
    ss->scope->attributes = attrs_new(sh->scope_attrs);
    ss->n_spans = 2;
    ss->spans = talloc(2 * sizeof(otlp_span *));
    ss->spans[0] = span_new(1, sh);
    ss->spans[1] = span_new(2, NULL);

    otlp_resource_spans *rs = talloc(sizeof(*rs));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    rs->resource = talloc(sizeof(*rs->resource));
    opentelemetry__proto__resource__v1__resource__init(rs->resource);
    rs->resource->n_attributes = sh->resource_attrs + 1;
    rs->resource->attributes = attrs_new(sh->resource_attrs + 1);
    rs->resource->attributes[sh->resource_attrs] = kv_new("service.name", any_str("svc"));
    rs->n_scope_spans = 1;
    rs->scope_spans = talloc(sizeof(otlp_scope_spans *));
    rs->scope_spans[0] = ss;

    otlp_request *r = talloc(sizeof(*r));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(r);
    r->n_resource_spans = 1;
    r->resource_spans = talloc(sizeof(otlp_resource_spans *));
    r->resource_spans[0] = rs;
    return r;
}

/* Limits all far above what the tests send, but for the ones a test lowers. */
static otlp_limits roomy(void)
{
    return (otlp_limits){.max_spans_per_request = 1000,
                         .max_attributes_per_span = 100,
                         .max_events_per_span = 100,
                         .max_links_per_span = 100,
                         .max_attributes_per_event = 100,
                         .max_attributes_per_link = 100,
                         .max_attributes_per_resource = 100,
                         .max_attribute_key_length = 1000,
                         .max_attribute_value_length = 1000};
}

/* Builds the batch of the request of |sh| under |l|, from its protobuf bytes and
 * from its structs; both must agree. Returns the spans rejected, with the
 * message in |msg| (256 bytes) and the reason counts in |by|. */
static size_t run(const shape *sh, const otlp_limits *l, char *msg, size_t by[OTLP_REJECT_NREASONS])
{
    otlp_request *req = req_new(sh);
    size_t len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            req);
    uint8_t *wire = talloc(len);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(req, wire);

    ottr_arena ar;
    ottr_arena_init(&ar, 4096, 0);
    char err[256], msg2[256];
    otlp_request *dec;
    assert_int_equal(otlp_proto_decode_request(&ar, wire, len, &dec, err, sizeof(err)), OTTR_OK);
    otlp_batch b1, b2;
    size_t rej1 = 99, rej2 = 99;
    assert_int_equal(otlp_batch_build_limited(&ar, dec, wire, len, l, &b1, &rej1, msg, 256),
                     OTTR_OK);
    assert_int_equal(otlp_batch_build_limited(&ar, req, NULL, 0, l, &b2, &rej2, msg2, 256),
                     OTTR_OK);
    assert_int_equal(rej1, rej2);
    assert_string_equal(msg, msg2);
    assert_memory_equal(b1.rejected_by, b2.rejected_by, sizeof(b1.rejected_by));
    size_t sum = 0;
    for (int i = 0; i < OTLP_REJECT_NREASONS; i++)
        sum += b1.rejected_by[i];
    assert_int_equal(sum, rej1);
    /* What is not rejected is grouped as usual: the plain span always is. */
    assert_int_equal(b1.nspans, 2 - rej1);
    assert_int_equal(b2.nspans, 2 - rej1);
    if (b1.nspans) {
        const otlp_span *last = b1.groups[0].spans[b1.nspans - 1].span;
        assert_int_equal(last->span_id.data[7], 2);
        otlp_trace t;
        assert_int_equal(otlp_trace_decode(&t, &ar, b1.groups[0].chunk, b1.groups[0].chunk_len),
                         OTTR_OK);
        assert_int_equal(t.nspans, b1.nspans);
    }
    memcpy(by, b1.rejected_by, sizeof(b1.rejected_by));
    ottr_arena_free(&ar);
    return rej1;
}

/* The span of shape |at| passes |l|, the one of shape |over| is rejected for
 * |reason| with a message ending in |tail|. */
static void at_and_over(const shape *at, const shape *over, const otlp_limits *l,
                        otlp_reject_reason reason, const char *tail)
{
    char msg[256];
    size_t by[OTLP_REJECT_NREASONS];
    assert_int_equal(run(at, l, msg, by), 0);
    assert_string_equal(msg, "");
    assert_int_equal(run(over, l, msg, by), 1);
    assert_int_equal(by[reason], 1);
    size_t n = strlen(msg), t = strlen(tail);
    if (n < t || strcmp(msg + n - t, tail) != 0)
        fail_msg("message \"%s\" does not end in \"%s\"", msg, tail);
    assert_non_null(
        strstr(msg, "resource_spans[0].scope_spans[0].spans[0] (span 0100000000000001): "));
}

static void test_counts(void **state)
{
    (void)state;
    otlp_limits l = roomy();
    l.max_attributes_per_span = 4;
    at_and_over(&(shape){.attrs = 4}, &(shape){.attrs = 5}, &l, OTLP_REJECT_ATTRIBUTES_PER_SPAN,
                ": 5 attributes, limit 4 (limits.max_attributes_per_span)");
    l = roomy();
    l.max_events_per_span = 3;
    at_and_over(&(shape){.events = 3}, &(shape){.events = 4}, &l, OTLP_REJECT_EVENTS_PER_SPAN,
                ": 4 events, limit 3 (limits.max_events_per_span)");
    l = roomy();
    l.max_links_per_span = 2;
    at_and_over(&(shape){.links = 2}, &(shape){.links = 3}, &l, OTLP_REJECT_LINKS_PER_SPAN,
                ": 3 links, limit 2 (limits.max_links_per_span)");
    l = roomy();
    l.max_attributes_per_event = 2;
    at_and_over(&(shape){.events = 3, .event_attrs = 2}, &(shape){.events = 3, .event_attrs = 3},
                &l, OTLP_REJECT_ATTRIBUTES_PER_EVENT,
                ": events[0]: 3 attributes, limit 2 (limits.max_attributes_per_event)");
    l = roomy();
    l.max_attributes_per_link = 1;
    at_and_over(&(shape){.links = 1, .link_attrs = 1}, &(shape){.links = 1, .link_attrs = 2}, &l,
                OTLP_REJECT_ATTRIBUTES_PER_LINK,
                ": links[0]: 2 attributes, limit 1 (limits.max_attributes_per_link)");
}

static void test_lengths(void **state)
{
    (void)state;
    otlp_limits l = roomy();
    l.max_attribute_key_length = 16;
    at_and_over(&(shape){.extra = kv_new(str_of(16, 'k'), any_str("v"))},
                &(shape){.extra = kv_new(str_of(17, 'k'), any_str("v"))}, &l,
                OTLP_REJECT_ATTRIBUTE_KEY_LENGTH,
                ": attribute \"kkkkkkkkkkkkkkkkk\": key of 17 bytes, limit 16 "
                "(limits.max_attribute_key_length)");
    l = roomy();
    l.max_attribute_value_length = 40;
    at_and_over(&(shape){.extra = kv_new("url", any_str(str_of(40, 'v')))},
                &(shape){.extra = kv_new("url", any_str(str_of(41, 'v')))}, &l,
                OTLP_REJECT_ATTRIBUTE_VALUE_LENGTH,
                ": attribute \"url\": value of 41 bytes, limit 40 "
                "(limits.max_attribute_value_length)");

    /* The attributes of events and links count too. */
    l = roomy();
    l.max_attribute_value_length = 40;
    at_and_over(&(shape){.events = 2, .event_extra = kv_new("e", any_str(str_of(40, 'v')))},
                &(shape){.events = 2, .event_extra = kv_new("e", any_str(str_of(41, 'v')))}, &l,
                OTLP_REJECT_ATTRIBUTE_VALUE_LENGTH,
                ": events[1].attribute \"e\": value of 41 bytes, limit 40 "
                "(limits.max_attribute_value_length)");
    at_and_over(&(shape){.links = 1, .link_extra = kv_new(str_of(40, 'k'), any_str("v"))},
                &(shape){.links = 1, .link_extra = kv_new("e", any_str(str_of(41, 'v')))}, &l,
                OTLP_REJECT_ATTRIBUTE_VALUE_LENGTH,
                ": links[0].attribute \"e\": value of 41 bytes, limit 40 "
                "(limits.max_attribute_value_length)");

    /* A long key is cut short in the message, in printable ASCII. */
    l = roomy();
    l.max_attribute_key_length = 60;
    char *key = str_of(61, 'x');
    key[1] = '\n';
    char msg[256];
    size_t by[OTLP_REJECT_NREASONS];
    assert_int_equal(run(&(shape){.extra = kv_new(key, any_str("v"))}, &l, msg, by), 1);
    assert_int_equal(by[OTLP_REJECT_ATTRIBUTE_KEY_LENGTH], 1);
    assert_non_null(strstr(msg,
                           ": attribute \"x?xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\": "
                           "key of 61 bytes, limit 60"));
}

/* A nested value's length: its strings, bytes and kvlist keys summed. */
static void test_nested_value(void **state)
{
    (void)state;
    /* ["aaaaaaaaaa", "bbbbbbbbbb", {"kk": bytes(5)}, 7] = 10 + 10 + 2 + 5 = 27 bytes */
    otlp_any *kvv = talloc(sizeof(*kvv));
    opentelemetry__proto__common__v1__any_value__init(kvv);
    kvv->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    kvv->bytes_value.len = 5;
    kvv->bytes_value.data = (uint8_t *)str_of(5, 'z');
    otlp_kvlist *kl = talloc(sizeof(*kl));
    opentelemetry__proto__common__v1__key_value_list__init(kl);
    kl->n_values = 1;
    kl->values = talloc(sizeof(otlp_kv *));
    kl->values[0] = kv_new("kk", kvv);
    otlp_any *kla = talloc(sizeof(*kla));
    opentelemetry__proto__common__v1__any_value__init(kla);
    kla->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    kla->kvlist_value = kl;
    otlp_any *num = talloc(sizeof(*num));
    opentelemetry__proto__common__v1__any_value__init(num);
    num->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    num->int_value = 7;
    otlp_array *arr = talloc(sizeof(*arr));
    opentelemetry__proto__common__v1__array_value__init(arr);
    arr->n_values = 4;
    arr->values = talloc(4 * sizeof(otlp_any *));
    arr->values[0] = any_str(str_of(10, 'a'));
    arr->values[1] = any_str(str_of(10, 'b'));
    arr->values[2] = kla;
    arr->values[3] = num;
    otlp_any *v = talloc(sizeof(*v));
    opentelemetry__proto__common__v1__any_value__init(v);
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    v->array_value = arr;

    shape sh = {.extra = kv_new("list", v)};
    otlp_limits l = roomy();
    l.max_attribute_value_length = 27;
    char msg[256];
    size_t by[OTLP_REJECT_NREASONS];
    assert_int_equal(run(&sh, &l, msg, by), 0);
    l.max_attribute_value_length = 26;
    assert_int_equal(run(&sh, &l, msg, by), 1);
    assert_non_null(strstr(msg, ": attribute \"list\": value of 27 bytes, limit 26"));
}

/* A resource or scope over a limit takes all its spans with it. */
static void test_resource_and_scope(void **state)
{
    (void)state;
    otlp_limits l = roomy();
    l.max_attributes_per_resource = 3;
    char msg[256];
    size_t by[OTLP_REJECT_NREASONS];
    /* The resource also has service.name. */
    assert_int_equal(run(&(shape){.resource_attrs = 2, .scope_attrs = 3}, &l, msg, by), 0);
    assert_int_equal(run(&(shape){.resource_attrs = 3}, &l, msg, by), 2);
    assert_int_equal(by[OTLP_REJECT_ATTRIBUTES_PER_RESOURCE], 2);
    assert_string_equal(msg, "resource_spans[0].resource: 4 attributes, limit 3 "
                             "(limits.max_attributes_per_resource)");
    assert_int_equal(run(&(shape){.scope_attrs = 4}, &l, msg, by), 2);
    assert_string_equal(msg, "resource_spans[0].scope_spans[0].scope: 4 attributes, limit 3 "
                             "(limits.max_attributes_per_resource)");

    l = roomy();
    l.max_attribute_value_length = 3; /* "svc" */
    assert_int_equal(run(&(shape){0}, &l, msg, by), 0);
    l.max_attribute_value_length = 2;
    assert_int_equal(run(&(shape){0}, &l, msg, by), 2);
    assert_string_equal(msg, "resource_spans[0].resource: attribute \"service.name\": value of 3 "
                             "bytes, limit 2 (limits.max_attribute_value_length)");
}

/* 0 is no limit; NULL limits only checks IDs; bad IDs are counted as "invalid"
 * before any limit. */
static void test_no_limit_and_invalid(void **state)
{
    (void)state;
    otlp_limits zero = {0};
    char msg[256];
    size_t by[OTLP_REJECT_NREASONS];
    shape big = {.attrs = 200,
                 .events = 3,
                 .event_attrs = 200,
                 .resource_attrs = 200,
                 .extra = kv_new(str_of(2000, 'k'), any_str(str_of(5000, 'v')))};
    assert_int_equal(run(&big, &zero, msg, by), 0);
    assert_int_equal(run(&big, NULL, msg, by), 0);
    assert_int_equal(run(&big, &(otlp_limits){.max_attributes_per_span = 1}, msg, by), 1);

    otlp_request *req = req_new(&(shape){.attrs = 5});
    req->resource_spans[0]->scope_spans[0]->spans[1]->span_id.data[0] = 0;
    req->resource_spans[0]->scope_spans[0]->spans[1]->span_id.data[7] = 0;
    otlp_limits l = roomy();
    l.max_attributes_per_span = 4;
    ottr_arena ar;
    ottr_arena_init(&ar, 4096, 0);
    otlp_batch b;
    size_t rejected;
    assert_int_equal(otlp_batch_build_limited(&ar, req, NULL, 0, &l, &b, &rejected, msg, 256),
                     OTTR_OK);
    assert_int_equal(rejected, 2);
    assert_int_equal(b.nspans, 0);
    assert_int_equal(b.rejected_by[OTLP_REJECT_ATTRIBUTES_PER_SPAN], 1);
    assert_int_equal(b.rejected_by[OTLP_REJECT_INVALID], 1);
    assert_non_null(strstr(msg, "limits.max_attributes_per_span"));
    ottr_arena_free(&ar);

    assert_string_equal(otlp_reject_reason_name(OTLP_REJECT_INVALID), "invalid");
    assert_string_equal(otlp_reject_reason_name(OTLP_REJECT_SPANS_PER_REQUEST),
                        "max_spans_per_request");
    for (int i = 0; i < OTLP_REJECT_NREASONS; i++)
        assert_non_null(otlp_reject_reason_name((otlp_reject_reason)i));
}

static int setup(void **state)
{
    (void)state;
    ottr_arena_init(&A, 1 << 16, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ottr_arena_free(&A);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_and_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_limit_and_invalid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
