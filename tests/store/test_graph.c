/* tests/store/test_graph.c - per-minute service graph and node counters: sums
 * over ranges inside an hour, across hours (roll-ups), after restart and
 * compaction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/store/helpers.h"

#define M0   (1000u * 60u - 7u) /* seven minutes before an hour boundary */
#define NMIN 200u               /* crosses three more hour boundaries */

typedef struct sums {
    store_edge e[8];
    int ne;
    store_node n[8];
    int nn;
} sums;

static int on_edge(void *ctx, const store_edge *e)
{
    sums *s = ctx;
    assert_true(s->ne < 8);
    s->e[s->ne++] = *e;
    return 0;
}

static int on_node(void *ctx, const store_node *n)
{
    sums *s = ctx;
    assert_true(s->nn < 8);
    s->n[s->nn++] = *n;
    return 0;
}

/* What minute |m| adds: edge frontend->cart (calls m%5+1, one failure every
 * tenth minute, bucket m%15), edge cart->redis "database" once per minute, and
 * a node "cart". */
static void add_minute(store *s, uint32_t m)
{
    store_edge e[2];
    memset(e, 0, sizeof(e));
    snprintf(e[0].client, sizeof(e[0].client), "frontend");
    snprintf(e[0].server, sizeof(e[0].server), "cart");
    e[0].calls = m % 5 + 1;
    e[0].failed = m % 10 == 0;
    e[0].latency[m % STORE_LAT_BUCKETS] = e[0].calls;
    e[0].latency_sum_s = 0.25 * (double)e[0].calls;
    snprintf(e[1].client, sizeof(e[1].client), "cart");
    snprintf(e[1].server, sizeof(e[1].server), "redis");
    snprintf(e[1].connection_type, sizeof(e[1].connection_type), "database");
    e[1].calls = 1;
    e[1].latency[0] = 1;
    e[1].latency_sum_s = 0.001;
    store_node n;
    memset(&n, 0, sizeof(n));
    snprintf(n.service, sizeof(n.service), "cart");
    n.calls = 2;
    n.errors = 1;
    n.latency[STORE_LAT_BUCKETS - 1] = 2;
    n.latency_sum_s = 1.5;
    assert_int_equal(store_add_graph(store_view_of(s, 0), m, e, 2, &n, 1), OTTR_OK);
}

static void check_range(store *s, uint32_t from, uint32_t to)
{
    uint64_t calls = 0, failed = 0, lat[STORE_LAT_BUCKETS] = {0}, mins = 0;
    double sum = 0;
    for (uint32_t m = from; m <= to; m++) {
        if (m < M0 || m >= M0 + NMIN)
            continue;
        mins++;
        calls += m % 5 + 1;
        failed += m % 10 == 0;
        lat[m % STORE_LAT_BUCKETS] += m % 5 + 1;
        sum += 0.25 * (double)(m % 5 + 1);
    }
    sums r = {0};
    assert_int_equal(store_graph(store_view_of(s, 0), from, to, on_edge, on_node, &r), OTTR_OK);
    if (mins == 0) {
        assert_int_equal(r.ne, 0);
        assert_int_equal(r.nn, 0);
        return;
    }
    assert_int_equal(r.ne, 2);
    assert_int_equal(r.nn, 1);
    const store_edge *fc = NULL, *cr = NULL;
    for (int i = 0; i < r.ne; i++) {
        if (strcmp(r.e[i].client, "frontend") == 0)
            fc = &r.e[i];
        else
            cr = &r.e[i];
    }
    assert_non_null(fc);
    assert_non_null(cr);
    assert_string_equal(fc->server, "cart");
    assert_string_equal(fc->connection_type, "");
    assert_int_equal(fc->calls, calls);
    assert_int_equal(fc->failed, failed);
    for (int i = 0; i < STORE_LAT_BUCKETS; i++)
        assert_int_equal(fc->latency[i], lat[i]);
    assert_true(fc->latency_sum_s > sum - 1e-6 && fc->latency_sum_s < sum + 1e-6);
    assert_string_equal(cr->server, "redis");
    assert_string_equal(cr->connection_type, "database");
    assert_int_equal(cr->calls, mins);
    assert_int_equal(cr->latency[0], mins);
    assert_string_equal(r.n[0].service, "cart");
    assert_int_equal(r.n[0].calls, 2 * mins);
    assert_int_equal(r.n[0].errors, mins);
    assert_int_equal(r.n[0].latency[STORE_LAT_BUCKETS - 1], 2 * mins);
    assert_true(r.n[0].latency_sum_s > 1.5 * (double)mins - 1e-6 &&
                r.n[0].latency_sum_s < 1.5 * (double)mins + 1e-6);
}

static void check_ranges(store *s)
{
    check_range(s, M0, M0);                    /* one minute */
    check_range(s, M0 + 2, M0 + 5);            /* inside an hour */
    check_range(s, M0, M0 + NMIN - 1);         /* everything, three whole hours */
    check_range(s, M0 + 3, M0 + 130);          /* partial, whole, partial */
    check_range(s, M0 + 7, M0 + 66);           /* exactly one hour */
    check_range(s, M0 + 7, M0 + 67);           /* one hour and a minute */
    check_range(s, M0 - 1000, M0 + 5000);      /* wider than the data */
    check_range(s, M0 + NMIN, M0 + NMIN + 60); /* after the data */
    check_range(s, 0, M0 - 1);                 /* before the data */
}

static void test_graph_ranges(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    for (uint32_t m = M0; m < M0 + NMIN; m++)
        add_minute(s, m);
    check_ranges(s);
    store_close(s);
    s = th_open(dir);
    check_ranges(s);
    assert_int_equal(store_compact(s), OTTR_OK);
    check_ranges(s);
    store_close(s);
    th_rmdir(dir);
}

static void test_graph_adds_twice(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    add_minute(s, 500);
    add_minute(s, 500);
    sums r = {0};
    assert_int_equal(store_graph(store_view_of(s, 0), 500, 500, on_edge, NULL, &r), OTTR_OK);
    assert_int_equal(r.ne, 2);
    assert_int_equal(r.nn, 0);
    for (int i = 0; i < r.ne; i++)
        if (strcmp(r.e[i].client, "cart") == 0)
            assert_int_equal(r.e[i].calls, 2);
    assert_int_equal(store_add_graph(store_view_of(s, 0), 0x80000000u, NULL, 0, NULL, 0),
                     OTTR_ERR_INVALID);
    store_close(s);
    th_rmdir(dir);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_ranges),
        cmocka_unit_test(test_graph_adds_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
