/* tests/query/fixture.c - the query tests' data: OTLP requests built from
 * protobuf-c structs, turned into chunks by otlp_batch_build and kept in a real
 * store in a temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/query/fixture.h"

#define CAP 32 /* room in every repeated field of the fixtures */

static void *alloc(ottr_arena *a, size_t n)
{
    void *p = ottr_arena_alloc(a, n);
    if (p == NULL)
        abort();
    memset(p, 0, n);
    return p;
}

void fx_hex(const char *hex, uint8_t *out, size_t n)
{
    if (ottr_hex_decode(hex, strlen(hex), out, n) != (int)n)
        abort();
}

static ProtobufCBinaryData bin(ottr_arena *a, const char *hex, size_t n)
{
    ProtobufCBinaryData b = {0, NULL};
    if (hex == NULL)
        return b;
    b.data = alloc(a, n);
    b.len = n;
    fx_hex(hex, b.data, n);
    return b;
}

static char *sdup(ottr_arena *a, const char *s)
{
    char *c = ottr_arena_strndup(a, s, strlen(s));
    if (c == NULL)
        abort();
    return c;
}

otlp_request *fx_req_new(ottr_arena *a)
{
    otlp_request *r = alloc(a, sizeof(*r));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(r);
    r->resource_spans = alloc(a, CAP * sizeof(*r->resource_spans));
    return r;
}

otlp_resource_spans *fx_rs_new(ottr_arena *a, otlp_request *r, const char *service)
{
    otlp_resource_spans *rs = alloc(a, sizeof(*rs));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    rs->resource = alloc(a, sizeof(*rs->resource));
    opentelemetry__proto__resource__v1__resource__init(rs->resource);
    rs->resource->attributes = alloc(a, CAP * sizeof(otlp_kv *));
    rs->scope_spans = alloc(a, CAP * sizeof(*rs->scope_spans));
    if (service)
        fx_rs_attr(a, rs, fx_str(a, "service.name", service));
    r->resource_spans[r->n_resource_spans++] = rs;
    return rs;
}

void fx_rs_attr(ottr_arena *a, otlp_resource_spans *rs, otlp_kv *kv)
{
    (void)a;
    rs->resource->attributes[rs->resource->n_attributes++] = kv;
}

otlp_scope_spans *fx_ss_new(ottr_arena *a, otlp_resource_spans *rs, const char *scope,
                            const char *version)
{
    otlp_scope_spans *ss = alloc(a, sizeof(*ss));
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    if (scope) {
        ss->scope = alloc(a, sizeof(*ss->scope));
        opentelemetry__proto__common__v1__instrumentation_scope__init(ss->scope);
        ss->scope->name = sdup(a, scope);
        if (version)
            ss->scope->version = sdup(a, version);
    }
    ss->spans = alloc(a, CAP * sizeof(*ss->spans));
    rs->scope_spans[rs->n_scope_spans++] = ss;
    return ss;
}

otlp_span *fx_span_new(ottr_arena *a, otlp_scope_spans *ss, const char *trace_hex,
                       const char *span_hex, const char *parent_hex, const char *name, int kind,
                       uint64_t start_ns, uint64_t end_ns)
{
    otlp_span *s = alloc(a, sizeof(*s));
    opentelemetry__proto__trace__v1__span__init(s);
    s->trace_id = bin(a, trace_hex, 16);
    s->span_id = bin(a, span_hex, 8);
    s->parent_span_id = bin(a, parent_hex, 8);
    s->name = sdup(a, name);
    s->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)kind;
    s->start_time_unix_nano = start_ns;
    s->end_time_unix_nano = end_ns;
    s->attributes = alloc(a, CAP * sizeof(otlp_kv *));
    s->events = alloc(a, CAP * sizeof(otlp_event *));
    s->links = alloc(a, CAP * sizeof(otlp_link *));
    ss->spans[ss->n_spans++] = s;
    return s;
}

void fx_span_attr(ottr_arena *a, otlp_span *s, otlp_kv *kv)
{
    (void)a;
    s->attributes[s->n_attributes++] = kv;
}

void fx_span_status(ottr_arena *a, otlp_span *s, int code, const char *msg)
{
    s->status = alloc(a, sizeof(*s->status));
    opentelemetry__proto__trace__v1__status__init(s->status);
    s->status->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)code;
    if (msg)
        s->status->message = sdup(a, msg);
}

otlp_event *fx_span_event(ottr_arena *a, otlp_span *s, uint64_t t, const char *name)
{
    otlp_event *e = alloc(a, sizeof(*e));
    opentelemetry__proto__trace__v1__span__event__init(e);
    e->time_unix_nano = t;
    if (name)
        e->name = sdup(a, name);
    e->attributes = alloc(a, CAP * sizeof(otlp_kv *));
    s->events[s->n_events++] = e;
    return e;
}

void fx_event_attr(ottr_arena *a, otlp_event *e, otlp_kv *kv)
{
    (void)a;
    e->attributes[e->n_attributes++] = kv;
}

otlp_link *fx_span_link(ottr_arena *a, otlp_span *s, const char *trace_hex, const char *span_hex)
{
    otlp_link *l = alloc(a, sizeof(*l));
    opentelemetry__proto__trace__v1__span__link__init(l);
    l->trace_id = bin(a, trace_hex, 16);
    l->span_id = bin(a, span_hex, 8);
    l->attributes = alloc(a, CAP * sizeof(otlp_kv *));
    s->links[s->n_links++] = l;
    return l;
}

void fx_link_attr(ottr_arena *a, otlp_link *l, otlp_kv *kv)
{
    (void)a;
    l->attributes[l->n_attributes++] = kv;
}

static otlp_kv *kv_new(ottr_arena *a, const char *k)
{
    otlp_kv *kv = alloc(a, sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = sdup(a, k);
    kv->value = alloc(a, sizeof(*kv->value));
    opentelemetry__proto__common__v1__any_value__init(kv->value);
    return kv;
}

otlp_kv *fx_str(ottr_arena *a, const char *k, const char *v)
{
    otlp_kv *kv = kv_new(a, k);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    kv->value->string_value = sdup(a, v);
    return kv;
}

otlp_kv *fx_int(ottr_arena *a, const char *k, int64_t v)
{
    otlp_kv *kv = kv_new(a, k);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    kv->value->int_value = v;
    return kv;
}

otlp_kv *fx_dbl(ottr_arena *a, const char *k, double v)
{
    otlp_kv *kv = kv_new(a, k);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    kv->value->double_value = v;
    return kv;
}

otlp_kv *fx_bool(ottr_arena *a, const char *k, int v)
{
    otlp_kv *kv = kv_new(a, k);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    kv->value->bool_value = v != 0;
    return kv;
}

otlp_kv *fx_bytes(ottr_arena *a, const char *k, const uint8_t *p, size_t n)
{
    otlp_kv *kv = kv_new(a, k);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    kv->value->bytes_value.data = alloc(a, n ? n : 1);
    memcpy(kv->value->bytes_value.data, p, n);
    kv->value->bytes_value.len = n;
    return kv;
}

otlp_kv *fx_array(ottr_arena *a, const char *k, otlp_kv **items, size_t n)
{
    otlp_kv *kv = kv_new(a, k);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    kv->value->array_value = alloc(a, sizeof(*kv->value->array_value));
    opentelemetry__proto__common__v1__array_value__init(kv->value->array_value);
    kv->value->array_value->values = alloc(a, (n ? n : 1) * sizeof(otlp_any *));
    for (size_t i = 0; i < n; i++)
        kv->value->array_value->values[i] = items[i]->value;
    kv->value->array_value->n_values = n;
    return kv;
}

otlp_kv *fx_kvlist(ottr_arena *a, const char *k, otlp_kv **items, size_t n)
{
    otlp_kv *kv = kv_new(a, k);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    kv->value->kvlist_value = alloc(a, sizeof(*kv->value->kvlist_value));
    opentelemetry__proto__common__v1__key_value_list__init(kv->value->kvlist_value);
    kv->value->kvlist_value->values = alloc(a, (n ? n : 1) * sizeof(otlp_kv *));
    for (size_t i = 0; i < n; i++)
        kv->value->kvlist_value->values[i] = items[i];
    kv->value->kvlist_value->n_values = n;
    return kv;
}

int fx_store(store *st, const otlp_request *r, uint32_t arrival_sec)
{
    /* Round-trip through the wire format, as a receiver would see it. */
    size_t n =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            r);
    uint8_t *wire = malloc(n ? n : 1);
    if (wire == NULL)
        abort();
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(r, wire);
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_request *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            (ProtobufCAllocator[]){otlp_pb_allocator(&a)}, n, wire);
    if (req == NULL)
        abort();
    otlp_batch b;
    size_t rejected = 0;
    char msg[256] = "";
    if (otlp_batch_build(&a, req, &b, &rejected, msg, sizeof(msg)) != OTTR_OK || rejected) {
        fprintf(stderr, "fixture: batch build failed: %s\n", msg);
        abort();
    }
    store_pending_ref ref;
    if (store_append_pending(st, &b, arrival_sec, &ref) != OTTR_OK)
        abort();
    for (size_t i = 0; i < b.ngroups; i++) {
        if (store_keep_trace(st, 0, b.groups[i].trace_id, &ref, 1) != OTTR_OK)
            abort();
    }
    ottr_arena_free(&a);
    free(wire);
    return 0;
}

static uint64_t fixed_clock(void)
{
    return FX_T0 + 3600ull * 1000000000ull;
}

store *fx_store_open(char *dir)
{
    snprintf(dir, 64, "%s/ottr-query-test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    char path[128];
    snprintf(path, sizeof(path), "%s/data", dir);
    store_options o = {.path = path,
                       .sync = STORE_SYNC_NONE,
                       .retention_ns = 0,
                       .max_trace_bytes = 50ull << 20,
                       .block_cache_bytes = 8u << 20,
                       .memtable_bytes = 64ull << 20,
                       .clock_ns = fixed_clock};
    store *st = NULL;
    char err[256];
    if (store_open(&o, &st, err, sizeof(err)) != OTTR_OK) {
        fprintf(stderr, "fixture: store_open: %s\n", err);
        abort();
    }
    return st;
}

void fx_store_close(store *st, const char *dir)
{
    store_close(st);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fixture: could not remove %s\n", dir);
}

/* Trace A: frontend -> cart -> postgresql, every attribute type, events, a link,
 * an error span, two resources, two scopes. */
static void trace_a(store *st)
{
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_request *r = fx_req_new(&a);
    uint64_t t = FX_T0 + 100ull * 1000000000ull;

    otlp_resource_spans *fe = fx_rs_new(&a, r, "frontend");
    fx_rs_attr(&a, fe, fx_str(&a, "host.name", "web-1"));
    fx_rs_attr(&a, fe, fx_int(&a, "process.pid", 4242));
    otlp_scope_spans *fss = fx_ss_new(&a, fe, "io.opentelemetry.http", "1.2.0");
    otlp_span *s1 = fx_span_new(&a, fss, FX_TRACE_A, "00f067aa0ba902b7", NULL, "GET /cart", 2, t,
                                t + 120 * FX_MS);
    fx_span_attr(&a, s1, fx_str(&a, "http.method", "GET"));
    fx_span_attr(&a, s1, fx_int(&a, "http.status_code", 200));
    fx_span_attr(&a, s1, fx_dbl(&a, "http.ratio", 0.25));
    fx_span_attr(&a, s1, fx_bool(&a, "http.cached", 0));
    static const uint8_t body[] = {0xde, 0xad, 0xbe, 0xef};
    fx_span_attr(&a, s1, fx_bytes(&a, "http.body", body, sizeof(body)));
    otlp_kv *items[] = {fx_str(&a, "", "a"), fx_str(&a, "", "b"), fx_int(&a, "", 3)};
    fx_span_attr(&a, s1, fx_array(&a, "http.tags", items, 3));
    otlp_kv *hdrs[] = {fx_str(&a, "accept", "application/json"), fx_int(&a, "retries", 2)};
    fx_span_attr(&a, s1, fx_kvlist(&a, "http.headers", hdrs, 2));
    fx_span_status(&a, s1, 1, NULL);
    otlp_span *s2 = fx_span_new(&a, fss, FX_TRACE_A, "00f067aa0ba902b8", "00f067aa0ba902b7",
                                "GET /api/cart", 3, t + 5 * FX_MS, t + 100 * FX_MS);
    fx_span_attr(&a, s2, fx_str(&a, "peer.service", "cart"));
    otlp_event *retry = fx_span_event(&a, s2, t + 6 * FX_MS, "retry");
    fx_event_attr(&a, retry, fx_int(&a, "attempt", 1));

    otlp_resource_spans *cart = fx_rs_new(&a, r, "cart");
    fx_rs_attr(&a, cart, fx_str(&a, "host.name", "cart-1"));
    otlp_scope_spans *css = fx_ss_new(&a, cart, "cart-lib", NULL);
    otlp_span *s3 = fx_span_new(&a, css, FX_TRACE_A, "00f067aa0ba902b9", "00f067aa0ba902b8",
                                "GET /api/cart", 2, t + 10 * FX_MS, t + 95 * FX_MS);
    fx_span_attr(&a, s3, fx_int(&a, "http.status_code", 503));
    fx_span_status(&a, s3, 2, "cart unavailable");
    otlp_event *ex = fx_span_event(&a, s3, t + 90 * FX_MS, "exception");
    fx_event_attr(&a, ex, fx_str(&a, "exception.type", "IOError"));
    fx_event_attr(&a, ex, fx_str(&a, "exception.message", "db down"));
    otlp_span *s4 = fx_span_new(&a, css, FX_TRACE_A, "00f067aa0ba902ba", "00f067aa0ba902b9",
                                "SELECT cart", 3, t + 20 * FX_MS, t + 90 * FX_MS);
    fx_span_attr(&a, s4, fx_str(&a, "db.system", "postgresql"));
    fx_span_attr(&a, s4, fx_str(&a, "db.statement", "SELECT * FROM cart WHERE id = \"1\""));
    s4->trace_state = ottr_arena_strndup(&a, "vendor=1", 8);
    otlp_link *l = fx_span_link(&a, s4, FX_TRACE_D, "d000000000000001");
    fx_link_attr(&a, l, fx_str(&a, "link.kind", "follows"));

    fx_store(st, r, (uint32_t)(FX_T0_SEC + 100));
    ottr_arena_free(&a);
}

/* Trace B: a consumer whose parent never arrived, and its child. */
static void trace_b(store *st)
{
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_request *r = fx_req_new(&a);
    uint64_t t = FX_T0 + 200ull * 1000000000ull;
    otlp_resource_spans *w = fx_rs_new(&a, r, "worker");
    otlp_scope_spans *ss = fx_ss_new(&a, w, "jobs", "0.9");
    otlp_span *s1 = fx_span_new(&a, ss, FX_TRACE_B, "b000000000000001", "1111111111111111",
                                "process job", 5, t, t + 30 * FX_MS);
    fx_span_attr(&a, s1, fx_str(&a, "job.id", "42"));
    fx_span_new(&a, ss, FX_TRACE_B, "b000000000000002", "b000000000000001", "write result", 1,
                t + 10 * FX_MS, t + 20 * FX_MS);
    fx_store(st, r, (uint32_t)(FX_T0_SEC + 200));
    ottr_arena_free(&a);
}

/* Trace C: a root, a span reusing the root's ID, and two spans that are each
 * other's parent. */
static void trace_c(store *st)
{
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_request *r = fx_req_new(&a);
    uint64_t t = FX_T0 + 300ull * 1000000000ull;
    otlp_resource_spans *b = fx_rs_new(&a, r, "billing");
    otlp_scope_spans *ss = fx_ss_new(&a, b, "billing", NULL);
    fx_span_new(&a, ss, FX_TRACE_C, "c000000000000001", NULL, "POST /pay", 2, t, t + 2000 * FX_MS);
    fx_span_new(&a, ss, FX_TRACE_C, "c000000000000001", "c000000000000001", "POST /pay retry", 1,
                t + 100 * FX_MS, t + 200 * FX_MS);
    fx_span_new(&a, ss, FX_TRACE_C, "c0000000000000aa", "c0000000000000bb", "loop a", 1,
                t + 300 * FX_MS, t + 400 * FX_MS);
    fx_span_new(&a, ss, FX_TRACE_C, "c0000000000000bb", "c0000000000000aa", "loop b", 1,
                t + 300 * FX_MS, t + 400 * FX_MS);
    fx_store(st, r, (uint32_t)(FX_T0_SEC + 300));
    ottr_arena_free(&a);
}

/* Trace D: producer and consumer, a resource without service.name, an event
 * without a name; its ID has a zero high half. */
static void trace_d(store *st)
{
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_request *r = fx_req_new(&a);
    uint64_t t = FX_T0 + 400ull * 1000000000ull;
    otlp_resource_spans *q = fx_rs_new(&a, r, "queue");
    otlp_scope_spans *qs = fx_ss_new(&a, q, "amqp", "2.0");
    otlp_span *p = fx_span_new(&a, qs, FX_TRACE_D, "d000000000000001", NULL, "publish orders", 4, t,
                               t + 3 * FX_MS);
    fx_span_attr(&a, p, fx_str(&a, "messaging.system", "rabbitmq"));
    otlp_resource_spans *w = fx_rs_new(&a, r, "worker");
    fx_rs_attr(&a, w, fx_bool(&a, "worker.canary", 1));
    otlp_scope_spans *ws = fx_ss_new(&a, w, NULL, NULL);
    otlp_span *c = fx_span_new(&a, ws, FX_TRACE_D, "d000000000000002", "d000000000000001",
                               "consume orders", 5, t + 5 * FX_MS, t + 45 * FX_MS);
    otlp_event *e = fx_span_event(&a, c, t + 6 * FX_MS, NULL);
    fx_event_attr(&a, e, fx_dbl(&a, "queue.lag_seconds", 1.5));
    otlp_resource_spans *anon = fx_rs_new(&a, r, NULL);
    otlp_scope_spans *as = fx_ss_new(&a, anon, NULL, NULL);
    fx_span_new(&a, as, FX_TRACE_D, "d000000000000003", "d000000000000002", "ack", 1,
                t + 40 * FX_MS, t + 41 * FX_MS);
    fx_store(st, r, (uint32_t)(FX_T0_SEC + 400));
    ottr_arena_free(&a);
}

static store_edge edge(const char *client, const char *server, const char *type, uint64_t calls,
                       uint64_t failed, int bucket)
{
    store_edge e;
    memset(&e, 0, sizeof(e));
    snprintf(e.client, sizeof(e.client), "%s", client);
    snprintf(e.server, sizeof(e.server), "%s", server);
    snprintf(e.connection_type, sizeof(e.connection_type), "%s", type);
    e.calls = calls;
    e.failed = failed;
    e.latency[bucket] = calls;
    e.latency_sum_s = 0.001 * (double)calls;
    return e;
}

static store_node node(const char *service, uint64_t calls, uint64_t errors, int bucket)
{
    store_node n;
    memset(&n, 0, sizeof(n));
    snprintf(n.service, sizeof(n.service), "%s", service);
    n.calls = calls;
    n.errors = errors;
    n.latency[bucket] = calls / 2;
    n.latency[bucket + 1] = calls - calls / 2;
    return n;
}

static void graph(store *st)
{
    uint32_t minute = (uint32_t)(FX_T0_SEC / 60) + 1;
    store_edge e1[] = {
        edge("user", "frontend", "virtual_node", 10, 0, 6),
        edge("frontend", "cart", "", 8, 2, 5),
        edge("cart", "postgresql", "database", 8, 0, 3),
    };
    store_node n1[] = {node("frontend", 10, 0, 6), node("cart", 8, 2, 5)};
    if (store_add_graph(store_view_of(st, 0), minute, e1, 3, n1, 2) != OTTR_OK)
        abort();
    store_edge e2[] = {
        edge("frontend", "cart", "", 4, 0, 5),
        edge("queue", "worker", "messaging_system", 5, 1, 2),
    };
    store_node n2[] = {node("cart", 4, 0, 5), node("worker", 5, 1, 2)};
    if (store_add_graph(store_view_of(st, 0), minute + 5, e2, 2, n2, 2) != OTTR_OK)
        abort();
}

void fx_load_dataset(store *st)
{
    trace_a(st);
    trace_b(st);
    trace_c(st);
    trace_d(st);
    graph(st);
}

ottr_status fx_decode_request(ottr_arena *a, const otlp_request *r, otlp_trace *t)
{
    size_t n =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            r);
    uint8_t *wire = ottr_arena_alloc(a, n ? n : 1);
    if (wire == NULL)
        return OTTR_ERR_NOMEM;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(r, wire);
    ottr_status st = otlp_trace_decode(t, a, wire, n);
    return st != OTTR_OK ? st : otlp_trace_build_tree(t, a);
}
