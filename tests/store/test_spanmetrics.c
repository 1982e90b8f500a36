/* tests/store/test_spanmetrics.c - per-minute span metrics: merged additions,
 * reads by service (a service whose name is a prefix of another's stays
 * apart), hour roll-ups, survival across a reopen, and the service graph not
 * seeing them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/store/helpers.h"

#define M0 (1000u * 60u - 2u) /* two minutes before an hour boundary */

typedef struct got {
    char key[16][64];
    uint64_t calls[16], errors[16], lat1[16];
    uint32_t minute[16];
    int n;
} got;

static int on_series(void *ctx, const store_span_series *m)
{
    got *g = ctx;
    assert_true(g->n < 16);
    snprintf(g->key[g->n], sizeof(g->key[0]), "%s|%s|%d", m->service, m->name, m->kind);
    g->calls[g->n] = m->calls;
    g->errors[g->n] = m->errors;
    g->lat1[g->n] = m->latency[1];
    g->minute[g->n] = m->minute;
    g->n++;
    return 0;
}

static int on_edge(void *ctx, const store_edge *e)
{
    (void)e;
    (*(int *)ctx)++;
    return 0;
}

/* In each of minutes M0 .. M0+3: shop "GET /a" server (2 calls, 1 error),
 * shopping "GET /a" server (5 calls), shop "SELECT" client (1 call); and one
 * graph edge. */
static void add(store *s)
{
    for (uint32_t m = M0; m < M0 + 4; m++) {
        store_span_series r[3];
        memset(r, 0, sizeof(r));
        r[0] = (store_span_series){
            .minute = m, .service = "shop", .name = "GET /a", .kind = 2, .calls = 2, .errors = 1};
        r[0].latency[1] = 2;
        r[1] = (store_span_series){
            .minute = m, .service = "shopping", .name = "GET /a", .kind = 2, .calls = 5};
        r[2] = (store_span_series){
            .minute = m, .service = "shop", .name = "SELECT", .kind = 3, .calls = 1};
        assert_int_equal(store_add_span_metrics(store_view_of(s, 0), r, 3), OTTR_OK);
        store_edge e;
        memset(&e, 0, sizeof(e));
        snprintf(e.client, sizeof(e.client), "shop");
        snprintf(e.server, sizeof(e.server), "db");
        e.calls = 1;
        assert_int_equal(store_add_graph(store_view_of(s, 0), m, &e, 1, NULL, 0), OTTR_OK);
    }
}

static void test_span_metrics(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    add(s);
    add(s); /* merged: counts double */

    got g = {0};
    assert_int_equal(
        store_span_metrics(store_view_of(s, 0), M0 + 1, M0 + 2, false, "shop", on_series, &g),
        OTTR_OK);
    assert_int_equal(g.n, 4); /* two minutes x two series of shop only */
    assert_string_equal(g.key[0], "shop|GET /a|2");
    assert_string_equal(g.key[1], "shop|SELECT|3");
    assert_int_equal(g.minute[0], M0 + 1);
    assert_int_equal(g.minute[3], M0 + 2);
    assert_int_equal(g.calls[0], 4);
    assert_int_equal(g.errors[0], 2);
    assert_int_equal(g.lat1[0], 4);

    memset(&g, 0, sizeof(g));
    assert_int_equal(
        store_span_metrics(store_view_of(s, 0), M0, M0 + 3, false, NULL, on_series, &g), OTTR_OK);
    assert_int_equal(g.n, 12);
    assert_string_equal(g.key[2], "shopping|GET /a|2");
    assert_int_equal(g.calls[2], 10);

    /* Hour roll-ups: M0, M0+1 in hour 999; M0+2, M0+3 in hour 1000. */
    memset(&g, 0, sizeof(g));
    assert_int_equal(
        store_span_metrics(store_view_of(s, 0), 999, 1000, true, "shopping", on_series, &g),
        OTTR_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.minute[0], 999);
    assert_int_equal(g.calls[0], 20);
    assert_int_equal(g.calls[1], 20);

    /* The graph sees its edges only. */
    int edges = 0;
    assert_int_equal(store_graph(store_view_of(s, 0), M0, M0 + 3, on_edge, NULL, &edges), OTTR_OK);
    assert_int_equal(edges, 1);

    /* A reopen keeps them. */
    store_close(s);
    s = th_open(dir);
    memset(&g, 0, sizeof(g));
    assert_int_equal(
        store_span_metrics(store_view_of(s, 0), M0, M0, false, "nobody", on_series, &g), OTTR_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(
        store_span_metrics(store_view_of(s, 0), M0 + 3, M0 + 3, false, "shop", on_series, &g),
        OTTR_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.calls[0], 4);

    store_span_series bad = {.minute = 0x80000000u, .service = "x", .name = "y"};
    assert_int_equal(store_add_span_metrics(store_view_of(s, 0), &bad, 1), OTTR_ERR_INVALID);
    store_close(s);
    th_rmdir(dir);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
