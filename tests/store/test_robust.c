/* tests/store/test_robust.c - sync policies, undecodable pending chunks, and
 * concurrent appends and keeps of the same traces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/store/helpers.h"

#define SEC 1000000000ull

static void test_sync_policies(void **state)
{
    (void)state;
    store_sync_policy pol[3] = {STORE_SYNC_NONE, STORE_SYNC_INTERVAL, STORE_SYNC_ALWAYS};
    for (int p = 0; p < 3; p++) {
        char *dir = th_tmpdir();
        store_options o;
        th_default_options(&o, dir);
        o.sync = pol[p];
        o.sync_interval_ns = 5 * 1000 * 1000;
        store *s = th_open_opts(&o);
        for (int i = 0; i < 20; i++) {
            tspan sp = {.service = "s", .span_id = 1, .name = "n", .start_ns = SEC, .end_ns = SEC};
            th_tid(sp.tid, (uint8_t)(i + 1));
            th_append(s, &sp, 1, 10);
        }
        if (pol[p] == STORE_SYNC_INTERVAL) {
            struct timespec ts = {0, 30 * 1000 * 1000};
            nanosleep(&ts, NULL); /* let the sync thread run a few times */
        }
        store_close(s);
        s = th_open_opts(&o);
        assert_int_equal(th_count_pending(s), 20);
        store_close(s);
        th_rmdir(dir);
    }
}

static void test_garbage_chunk(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    uint8_t garbage[64];
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (uint8_t)(i * 37 + 11);
    garbage[0] = 0x0a;
    garbage[1] = 0xff; /* a length running past the end */
    otlp_trace_group g = {.chunk = garbage, .chunk_len = sizeof(garbage)};
    th_tid(g.trace_id, 0x66);
    otlp_batch b = {.groups = &g, .ngroups = 1, .nspans = 1, .chunk_bytes = sizeof(garbage)};
    store_pending_ref refs[2];
    assert_int_equal(store_append_pending(s, &b, 70, &refs[0]), OTTR_OK);
    tspan sp = {
        .service = "ok", .span_id = 1, .name = "n", .start_ns = 70 * SEC, .end_ns = 71 * SEC};
    th_tid(sp.tid, 0x66);
    refs[1] = th_append(s, &sp, 1, 71);
    assert_int_equal(store_keep_trace(s, 0, g.trace_id, refs, 2), OTTR_OK);
    ottr_buf buf = {0};
    store_trace_summary sum;
    assert_int_equal(store_get_trace(store_view_of(s, 0), g.trace_id, &buf, &sum), OTTR_OK);
    assert_int_equal(sum.span_count, 1);
    assert_int_equal(th_count_spans(&buf), 1);
    ottr_buf_free(&buf);
    store_close(s);
    th_rmdir(dir);
}

#define NTHREADS 4
#define NPER     50

typedef struct worker {
    store *s;
    int id;
} worker;

/* Every thread appends one span of each of NPER shared traces and keeps them. */
static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < NPER; i++) {
        tspan sp = {.service = w->id % 2 ? "odd" : "even",
                    .span_id = (uint64_t)w->id + 1,
                    .parent_id = w->id ? 1 : 0,
                    .name = "op",
                    .start_ns = (100 + (uint64_t)i) * SEC,
                    .end_ns = (101 + (uint64_t)i) * SEC};
        th_tid(sp.tid, (uint8_t)(i + 1));
        uint32_t sec = 200 + (uint32_t)w->id;
        ottr_arena a;
        ottr_arena_init(&a, 16 * 1024, 0);
        otlp_batch b;
        th_build(&a, &sp, 1, &b);
        store_pending_ref ref;
        if (store_append_pending(w->s, &b, sec, &ref) != OTTR_OK ||
            store_keep_trace(w->s, 0, sp.tid, &ref, 1) != OTTR_OK) {
            ottr_arena_free(&a);
            return (void *)1;
        }
        ottr_arena_free(&a);
    }
    return NULL;
}

static int count_sum(void *ctx, const store_trace_summary *s)
{
    (void)s;
    (*(int *)ctx)++;
    return 0;
}

static void test_concurrent_keeps(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    pthread_t t[NTHREADS];
    worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){s, i};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    for (int i = 0; i < NPER; i++) {
        uint8_t tid[16];
        th_tid(tid, (uint8_t)(i + 1));
        ottr_buf buf = {0};
        store_trace_summary sum;
        assert_int_equal(store_get_trace(store_view_of(s, 0), tid, &buf, &sum), OTTR_OK);
        assert_int_equal(sum.span_count, NTHREADS);
        assert_int_equal(th_count_spans(&buf), NTHREADS);
        assert_int_equal(sum.bytes, buf.len);
        assert_int_equal(sum.nservices, 2);
        assert_string_equal(sum.root_service, "even");
        ottr_buf_free(&buf);
    }
    store_search_query q = {.service = "odd"};
    int n = 0;
    assert_int_equal(store_search(store_view_of(s, 0), &q, count_sum, &n, NULL), OTTR_OK);
    assert_int_equal(n, NPER);
    store_close(s);
    th_rmdir(dir);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_policies),
        cmocka_unit_test(test_garbage_chunk),
        cmocka_unit_test(test_concurrent_keeps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
