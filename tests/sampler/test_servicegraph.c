/* tests/sampler/test_servicegraph.c - service-graph pairing (client/server,
 * producer/consumer, virtual database and peer nodes, the user node, unpaired
 * expiry), span metrics from every span, and per-minute persistence. */
#include "helpers.h"

typedef struct gfx {
    servicegraph *g;
    ottr_arena arena;
    ottr_buf text;
} gfx;

static void g_open(gfx *x)
{
    memset(x, 0, sizeof(*x));
    x->g = sampler_servicegraph_create(SEC(10), 1000, 100);
    assert_non_null(x->g);
    ottr_arena_init(&x->arena, 1 << 16, 0);
}

static void g_close(gfx *x)
{
    sampler_servicegraph_destroy(x->g);
    ottr_arena_free(&x->arena);
    ottr_buf_free(&x->text);
}

static void g_feed(gfx *x, tspan sp, uint64_t now)
{
    otlp_batch b;
    h_batch(&x->arena, &sp, 1, &b);
    for (size_t i = 0; i < b.ngroups; i++)
        sampler_servicegraph_observe(x->g, b.groups[i].trace_id, b.groups[i].spans,
                                     b.groups[i].nspans, now);
}

static double g_val(gfx *x, const char *line)
{
    ottr_buf_reset(&x->text);
    sampler_servicegraph_render(&x->g, (const char *const[]){""}, 1, &x->text);
    double v = h_metric(x->text.data, line);
    return v < 0 ? 0 : v;
}

#define EDGE(c, s, t)   "{client=\"" c "\",server=\"" s "\",connection_type=\"" t "\"}"
#define REQ(c, s, t)    "traces_service_graph_request_total" EDGE(c, s, t)
#define FAILED(c, s, t) "traces_service_graph_request_failed_total" EDGE(c, s, t)

static void test_client_server(void **state)
{
    (void)state;
    gfx x;
    g_open(&x);
    uint64_t now = T0_NS;
    /* frontend calls backend; the client span arrives first. */
    g_feed(&x,
           (tspan){.service = "frontend",
                   .trace = 1,
                   .span = 2,
                   .parent = 1,
                   .kind = SPAN_KIND_CLIENT,
                   .dur_ms = 300},
           now);
    assert_int_equal(sampler_servicegraph_pending(x.g), 1);
    assert_true(g_val(&x, REQ("frontend", "backend", "")) == 0);
    g_feed(&x,
           (tspan){.service = "backend",
                   .trace = 1,
                   .span = 3,
                   .parent = 2,
                   .kind = SPAN_KIND_SERVER,
                   .dur_ms = 250},
           now);
    assert_int_equal(sampler_servicegraph_pending(x.g), 0);
    assert_true(g_val(&x, REQ("frontend", "backend", "")) == 1);
    assert_true(g_val(&x, FAILED("frontend", "backend", "")) == 0);
    assert_true(g_val(&x, "traces_service_graph_request_server_seconds_bucket{client=\"frontend\","
                          "server=\"backend\",connection_type=\"\",le=\"0.2\"}") == 0);
    assert_true(g_val(&x, "traces_service_graph_request_server_seconds_bucket{client=\"frontend\","
                          "server=\"backend\",connection_type=\"\",le=\"0.4\"}") == 1);
    assert_true(g_val(&x, "traces_service_graph_request_client_seconds_count{client=\"frontend\","
                          "server=\"backend\",connection_type=\"\"}") == 1);

    /* The server span first this time, and it failed: the edge failed. */
    g_feed(&x,
           (tspan){.service = "backend",
                   .trace = 2,
                   .span = 3,
                   .parent = 2,
                   .kind = SPAN_KIND_SERVER,
                   .status = STATUS_ERROR},
           now);
    g_feed(&x,
           (tspan){
               .service = "frontend", .trace = 2, .span = 2, .parent = 1, .kind = SPAN_KIND_CLIENT},
           now);
    assert_true(g_val(&x, REQ("frontend", "backend", "")) == 2);
    assert_true(g_val(&x, FAILED("frontend", "backend", "")) == 1);

    /* Same span IDs in another trace do not pair across traces. */
    g_feed(&x,
           (tspan){
               .service = "frontend", .trace = 3, .span = 2, .parent = 1, .kind = SPAN_KIND_CLIENT},
           now);
    g_feed(
        &x,
        (tspan){.service = "other", .trace = 4, .span = 3, .parent = 2, .kind = SPAN_KIND_SERVER},
        now);
    assert_true(g_val(&x, REQ("frontend", "other", "")) == 0);
    assert_int_equal(sampler_servicegraph_pending(x.g), 2);
    g_close(&x);
}

static void test_producer_consumer(void **state)
{
    (void)state;
    gfx x;
    g_open(&x);
    g_feed(&x,
           (tspan){
               .service = "orders", .trace = 1, .span = 5, .parent = 1, .kind = SPAN_KIND_PRODUCER},
           T0_NS);
    g_feed(&x,
           (tspan){.service = "shipping",
                   .trace = 1,
                   .span = 6,
                   .parent = 5,
                   .kind = SPAN_KIND_CONSUMER,
                   .status = STATUS_ERROR},
           T0_NS + SEC(2));
    assert_true(g_val(&x, REQ("orders", "shipping", "messaging_system")) == 1);
    assert_true(g_val(&x, FAILED("orders", "shipping", "messaging_system")) == 1);
    assert_true(g_val(&x, REQ("orders", "shipping", "")) == 0);
    g_close(&x);
}

static void test_virtual_nodes(void **state)
{
    (void)state;
    gfx x;
    g_open(&x);
    /* A database call nobody instrumented on the other side. */
    g_feed(&x,
           (tspan){.service = "api",
                   .trace = 1,
                   .span = 2,
                   .parent = 1,
                   .kind = SPAN_KIND_CLIENT,
                   .dur_ms = 12,
                   .attrs = {ASTR("db.system", "postgresql"), ASTR("db.name", "orders")}},
           T0_NS);
    /* A call to an external service named by peer.service. */
    g_feed(&x,
           (tspan){.service = "api",
                   .trace = 1,
                   .span = 3,
                   .parent = 1,
                   .kind = SPAN_KIND_CLIENT,
                   .status = STATUS_ERROR,
                   .attrs = {ASTR("peer.service", "payments-gw")}},
           T0_NS);
    /* Only db.system. */
    g_feed(&x,
           (tspan){.service = "api",
                   .trace = 1,
                   .span = 4,
                   .parent = 1,
                   .kind = SPAN_KIND_CLIENT,
                   .attrs = {ASTR("db.system", "redis")}},
           T0_NS);
    sampler_servicegraph_expire(x.g, T0_NS + SEC(9));
    assert_true(g_val(&x, REQ("api", "orders", "database")) == 0);
    sampler_servicegraph_expire(x.g, T0_NS + SEC(10));
    assert_true(g_val(&x, REQ("api", "orders", "database")) == 1);
    assert_true(g_val(&x, REQ("api", "redis", "database")) == 1);
    assert_true(g_val(&x, REQ("api", "payments-gw", "virtual_node")) == 1);
    assert_true(g_val(&x, FAILED("api", "payments-gw", "virtual_node")) == 1);
    assert_true(g_val(&x, "traces_service_graph_request_client_seconds_count{client=\"api\","
                          "server=\"orders\",connection_type=\"database\"}") == 1);
    assert_true(
        g_val(&x, "traces_service_graph_unpaired_spans_total{client=\"api\",server=\"\"}") == 0);
    assert_int_equal(sampler_servicegraph_pending(x.g), 0);
    g_close(&x);
}

/* At shutdown every waiting half becomes what it would once due: a database
 * call made a second before the stop is still an edge. */
static void test_expire_all_at_shutdown(void **state)
{
    (void)state;
    gfx x;
    g_open(&x);
    g_feed(&x,
           (tspan){.service = "api",
                   .trace = 1,
                   .span = 2,
                   .parent = 1,
                   .kind = SPAN_KIND_CLIENT,
                   .attrs = {ASTR("db.name", "orders")}},
           T0_NS);
    g_feed(&x,
           (tspan){
               .service = "frontend", .trace = 2, .span = 3, .parent = 1, .kind = SPAN_KIND_CLIENT},
           T0_NS);
    assert_int_equal(sampler_servicegraph_pending(x.g), 2);
    sampler_servicegraph_expire(x.g, T0_NS + SEC(1));
    assert_int_equal(sampler_servicegraph_pending(x.g), 2);
    sampler_servicegraph_expire_all(x.g, T0_NS + SEC(1));
    assert_true(g_val(&x, REQ("api", "orders", "database")) == 1);
    assert_true(
        g_val(&x, "traces_service_graph_unpaired_spans_total{client=\"frontend\",server=\"\"}") ==
        1);
    assert_int_equal(sampler_servicegraph_pending(x.g), 0);
    g_close(&x);
}

static void test_root_server_called_by_user(void **state)
{
    (void)state;
    gfx x;
    g_open(&x);
    g_feed(&x,
           (tspan){.service = "web", .trace = 1, .span = 1, .kind = SPAN_KIND_SERVER, .dur_ms = 50},
           T0_NS);
    assert_true(g_val(&x, REQ("user", "web", "virtual_node")) == 1);
    assert_true(g_val(&x, "traces_service_graph_request_server_seconds_count{client=\"user\","
                          "server=\"web\",connection_type=\"virtual_node\"}") == 1);
    assert_int_equal(sampler_servicegraph_pending(x.g), 0);
    g_close(&x);
}

static void test_unpaired_expiry(void **state)
{
    (void)state;
    gfx x;
    g_open(&x);
    g_feed(&x,
           (tspan){
               .service = "frontend", .trace = 1, .span = 2, .parent = 1, .kind = SPAN_KIND_CLIENT},
           T0_NS);
    g_feed(
        &x,
        (tspan){.service = "backend", .trace = 2, .span = 3, .parent = 9, .kind = SPAN_KIND_SERVER},
        T0_NS + SEC(5));
    /* Internal spans never wait. */
    g_feed(
        &x,
        (tspan){
            .service = "backend", .trace = 2, .span = 4, .parent = 3, .kind = SPAN_KIND_INTERNAL},
        T0_NS);
    assert_int_equal(sampler_servicegraph_pending(x.g), 2);
    sampler_servicegraph_expire(x.g, T0_NS + SEC(10));
    const char *cl = "traces_service_graph_unpaired_spans_total{client=\"frontend\",server=\"\"}";
    const char *sv = "traces_service_graph_unpaired_spans_total{client=\"\",server=\"backend\"}";
    assert_true(g_val(&x, cl) == 1);
    assert_true(g_val(&x, sv) == 0);
    sampler_servicegraph_expire(x.g, T0_NS + SEC(15));
    assert_true(g_val(&x, sv) == 1);
    assert_int_equal(sampler_servicegraph_pending(x.g), 0);
    /* A late other half no longer pairs; it waits (and expires) on its own. */
    g_feed(&x,
           (tspan){.service = "api", .trace = 1, .span = 5, .parent = 2, .kind = SPAN_KIND_SERVER},
           T0_NS + SEC(16));
    assert_true(g_val(&x, REQ("frontend", "api", "")) == 0);
    g_close(&x);
}

static void test_pending_is_bounded(void **state)
{
    (void)state;
    servicegraph *g = sampler_servicegraph_create(SEC(10), 3, 100);
    gfx x = {.g = g};
    ottr_arena_init(&x.arena, 1 << 16, 0);
    for (uint64_t t = 1; t <= 5; t++)
        g_feed(
            &x,
            (tspan){.service = "a", .trace = t, .span = 2, .parent = 1, .kind = SPAN_KIND_CLIENT},
            T0_NS);
    assert_int_equal(sampler_servicegraph_pending(g), 3);
    assert_true(g_val(&x, "traces_service_graph_dropped_spans_total") == 2);
    g_close(&x);
}

typedef struct found {
    uint64_t calls, failed, node_calls, node_errors, lat_total;
    char last_type[24];
} found;

static int on_edge(void *ctx, const store_edge *e)
{
    found *f = ctx;
    if (strcmp(e->client, "frontend") == 0 && strcmp(e->server, "backend") == 0) {
        f->calls += e->calls;
        f->failed += e->failed;
        for (int i = 0; i < STORE_LAT_BUCKETS; i++)
            f->lat_total += e->latency[i];
        snprintf(f->last_type, sizeof(f->last_type), "%s", e->connection_type);
    }
    return 0;
}

static int on_node(void *ctx, const store_node *n)
{
    found *f = ctx;
    if (strcmp(n->service, "backend") == 0) {
        f->node_calls += n->calls;
        f->node_errors += n->errors;
    }
    return 0;
}

/* Through the sampler: every span counts (also of dropped traces), the graph
 * shows on /metrics and lands in the store per minute. */
static void test_sampler_metrics_and_persistence(void **state)
{
    (void)state;
    fx f;
    /* A policy that drops everything: the metrics must not care. */
    fx_open(&f, "- {name: none, type: probabilistic, probabilistic: {sampling_percentage: 0}}\n",
            NULL);
    for (uint64_t t = 1; t <= 3; t++) {
        tspan sp[3] = {
            {.service = "frontend",
             .trace = t,
             .span = 1,
             .kind = SPAN_KIND_SERVER,
             .name = "GET /",
             .dur_ms = 30},
            {.service = "frontend",
             .trace = t,
             .span = 2,
             .parent = 1,
             .kind = SPAN_KIND_CLIENT,
             .name = "call backend",
             .dur_ms = 20},
            {.service = "backend",
             .trace = t,
             .span = 3,
             .parent = 2,
             .kind = SPAN_KIND_SERVER,
             .name = "handle",
             .dur_ms = 10,
             .status = t == 3 ? STATUS_ERROR : 0},
        };
        assert_int_equal(fx_submit(&f, sp, 3), OTTR_OK);
    }
    char *m = h_metrics();
    assert_true(h_metric(m,
                         "traces_spanmetrics_calls_total{service=\"backend\",span_name=\"handle\","
                         "span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\"}") == 2);
    assert_true(h_metric(m,
                         "traces_spanmetrics_calls_total{service=\"backend\",span_name=\"handle\","
                         "span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_ERROR\"}") == 1);
    assert_true(h_metric(m,
                         "traces_spanmetrics_latency_bucket{service=\"frontend\",span_name=\"GET "
                         "/\",span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\","
                         "le=\"0.032\"}") == 3);
    assert_true(h_metric(m,
                         "traces_spanmetrics_latency_bucket{service=\"frontend\",span_name=\"GET "
                         "/\",span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_UNSET\","
                         "le=\"0.016\"}") == 0);
    assert_true(h_metric(m, "traces_spanmetrics_size_total{service=\"frontend\",span_name=\"call "
                            "backend\",span_kind=\"SPAN_KIND_CLIENT\",status_code="
                            "\"STATUS_CODE_UNSET\"}") > 30);
    assert_true(h_metric(m, REQ("frontend", "backend", "")) == 3);
    assert_true(h_metric(m, FAILED("frontend", "backend", "")) == 1);
    assert_true(h_metric(m, REQ("user", "frontend", "virtual_node")) == 3);
    free(m);

    g_now += SEC(61); /* into the next minute: the first one is flushed */
    sampler_tick(f.s);
    for (uint64_t t = 1; t <= 3; t++)
        assert_false(fx_kept(&f, t));
    uint32_t minute = (uint32_t)(T0_NS / SEC(60));
    found got = {0};
    assert_int_equal(store_graph(store_view_of(f.st, 0), minute, minute, on_edge, on_node, &got),
                     OTTR_OK);
    assert_int_equal(got.calls, 3);
    assert_int_equal(got.failed, 1);
    assert_int_equal(got.lat_total, 3);
    assert_string_equal(got.last_type, "");
    assert_int_equal(got.node_calls, 3);
    assert_int_equal(got.node_errors, 1);

    /* Counts of the current minute are persisted on stop. */
    tspan sp[2] = {
        {.service = "frontend", .trace = 9, .span = 2, .parent = 1, .kind = SPAN_KIND_CLIENT},
        {.service = "backend", .trace = 9, .span = 3, .parent = 2, .kind = SPAN_KIND_SERVER},
    };
    assert_int_equal(fx_submit(&f, sp, 2), OTTR_OK);
    sampler_stop(f.s);
    memset(&got, 0, sizeof(got));
    assert_int_equal(
        store_graph(store_view_of(f.st, 0), minute, minute + 5, on_edge, on_node, &got), OTTR_OK);
    assert_int_equal(got.calls, 4);
    fx_close(&f);
}

static void test_spanmetrics_cardinality_cap(void **state)
{
    (void)state;
    spanmetrics *m = sampler_spanmetrics_create(5);
    ottr_arena a;
    ottr_arena_init(&a, 1 << 16, 0);
    char names[20][16];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof(names[i]), "op%d", i);
        tspan sp = {.service = "svc", .trace = 1, .span = (uint64_t)i + 1, .name = names[i]};
        otlp_batch b;
        h_batch(&a, &sp, 1, &b);
        sampler_spanmetrics_observe(m, &b.groups[0].spans[0], 1);
    }
    assert_int_equal(sampler_spanmetrics_series(m), 6); /* 5 + the overflow series */
    ottr_buf out = {0};
    sampler_spanmetrics_render(&m, (const char *const[]){""}, 1, &out);
    assert_true(h_metric(out.data, "traces_spanmetrics_calls_total{service=\"overflow\",span_name="
                                   "\"overflow\",span_kind=\"SPAN_KIND_UNSPECIFIED\",status_code="
                                   "\"STATUS_CODE_UNSET\"}") == 15);
    ottr_buf_free(&out);
    ottr_arena_free(&a);
    sampler_spanmetrics_destroy(m);
}

/* A request's spans observed together give the same /metrics text (calls,
 * sizes, histogram buckets and sums, edges, unpaired and dropped counts) as the
 * same spans observed one at a time, and the size totals are the spans'
 * encoded sizes. */
static void test_request_same_as_spans(void **state)
{
    (void)state;
    static const char *const svcs[] = {"frontend", "cart", "db-proxy"};
    static const char *const names[] = {"GET /", "SELECT", "call", "render"};
    static const int kinds[] = {SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_INTERNAL,
                                SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER};
    tspan sp[300];
    for (size_t i = 0; i < 300; i++) {
        sp[i] = (tspan){.service = svcs[i % 3],
                        .trace = i / 8 + 1,
                        .span = i % 8 + 1,
                        .parent = i % 8 ? (i % 8 + 1) / 2 : 0,
                        .name = names[(i / 3) % 4],
                        .kind = kinds[(i * 7) % 5],
                        .status = i % 11 == 0 ? STATUS_ERROR : 0,
                        .dur_ms = (i * 37) % 300 + 1};
        if (i % 6 == 1)
            sp[i].attrs[0] = (tattr){.key = "db.system", .type = A_STR, .s = "postgres"};
        if (i % 9 == 4)
            sp[i].attrs[0] = (tattr){.key = "peer.service", .type = A_STR, .s = "billing"};
    }
    ottr_arena a;
    ottr_arena_init(&a, 1 << 16, 0);
    otlp_batch b;
    h_batch(&a, sp, 300, &b);
    spanmetrics *m1 = sampler_spanmetrics_create(10000), *m2 = sampler_spanmetrics_create(10000);
    spanmetrics *c1 = sampler_spanmetrics_create(7), *c2 = sampler_spanmetrics_create(7);
    servicegraph *g1 = sampler_servicegraph_create(SEC(10), 1000, 100);
    servicegraph *g2 = sampler_servicegraph_create(SEC(10), 1000, 100);
    servicegraph *p1 = sampler_servicegraph_create(SEC(10), 20, 5);
    servicegraph *p2 = sampler_servicegraph_create(SEC(10), 20, 5);
    uint64_t bytes = 0;
    for (size_t i = 0; i < b.ngroups; i++) {
        for (size_t k = 0; k < b.groups[i].nspans; k++) {
            const otlp_span_ref *r = &b.groups[i].spans[k];
            sampler_spanmetrics_observe(m1, r, 1);
            sampler_spanmetrics_observe(c1, r, 1);
            sampler_servicegraph_observe(g1, b.groups[i].trace_id, r, 1, T0_NS);
            sampler_servicegraph_observe(p1, b.groups[i].trace_id, r, 1, T0_NS);
            bytes += opentelemetry__proto__trace__v1__span__get_packed_size(r->span);
        }
    }
    sampler_spanmetrics_observe_batch(m2, &b);
    sampler_spanmetrics_observe_batch(c2, &b);
    sampler_servicegraph_observe_batch(g2, &b, T0_NS);
    sampler_servicegraph_observe_batch(p2, &b, T0_NS);
    sampler_servicegraph_expire(g1, T0_NS + SEC(11));
    sampler_servicegraph_expire(g2, T0_NS + SEC(11));
    ottr_buf t1 = {0}, t2 = {0};
    sampler_spanmetrics_render(&m1, (const char *const[]){""}, 1, &t1);
    sampler_spanmetrics_render(&m2, (const char *const[]){""}, 1, &t2);
    assert_string_equal(t1.data, t2.data);
    uint64_t total = 0;
    for (const char *l = strstr(t2.data, "\ntraces_spanmetrics_size_total{"); l;
         l = strstr(l + 1, "\ntraces_spanmetrics_size_total{"))
        total += strtoull(strchr(l, '}') + 2, NULL, 10);
    assert_int_equal(total, bytes);
    ottr_buf_reset(&t1);
    ottr_buf_reset(&t2);
    sampler_spanmetrics_render(&c1, (const char *const[]){""}, 1,
                               &t1); /* past the cap: the overflow series */
    sampler_spanmetrics_render(&c2, (const char *const[]){""}, 1, &t2);
    assert_string_equal(t1.data, t2.data);
    /* Edges are keyed by interned names: compare the lines, not their order. */
    servicegraph *gs[][2] = {{g1, g2}, {p1, p2}};
    for (int k = 0; k < 2; k++) {
        ottr_buf_reset(&t1);
        ottr_buf_reset(&t2);
        sampler_servicegraph_render(&gs[k][0], (const char *const[]){""}, 1, &t1);
        sampler_servicegraph_render(&gs[k][1], (const char *const[]){""}, 1, &t2);
        assert_int_equal(t1.len, t2.len);
        for (char *l = t1.data, *e; *l; l = e + 1) {
            e = strchr(l, '\n');
            *e = '\0';
            assert_non_null(strstr(t2.data, l));
        }
        assert_int_equal(sampler_servicegraph_pending(gs[k][0]),
                         sampler_servicegraph_pending(gs[k][1]));
    }
    ottr_buf_free(&t1);
    ottr_buf_free(&t2);
    sampler_spanmetrics_destroy(m1);
    sampler_spanmetrics_destroy(m2);
    sampler_spanmetrics_destroy(c1);
    sampler_spanmetrics_destroy(c2);
    sampler_servicegraph_destroy(g1);
    sampler_servicegraph_destroy(g2);
    sampler_servicegraph_destroy(p1);
    sampler_servicegraph_destroy(p2);
    ottr_arena_free(&a);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_server),
        cmocka_unit_test(test_producer_consumer),
        cmocka_unit_test(test_virtual_nodes),
        cmocka_unit_test(test_expire_all_at_shutdown),
        cmocka_unit_test(test_root_server_called_by_user),
        cmocka_unit_test(test_unpaired_expiry),
        cmocka_unit_test(test_pending_is_bounded),
        cmocka_unit_test(test_sampler_metrics_and_persistence),
        cmocka_unit_test(test_spanmetrics_cardinality_cap),
        cmocka_unit_test(test_request_same_as_spans),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ottr_metrics_shutdown();
    return rc;
}
