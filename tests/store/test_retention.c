/* tests/store/test_retention.c - retention: with an injected clock, a manual
 * compaction removes every family's old records and keeps the recent ones;
 * traces with far-past and far-future start times (past 32-bit seconds) are
 * found by a time range that contains them, and expire with their data; chunks
 * held in blob files go with their keys, and so do the files. */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/store/helpers.h"

#define SEC   1000000000ull
#define T_OLD 1000000u
#define T_NEW (T_OLD + 7200u)

/* A store in |dir| with an hour's retention and the clock at 0: no expiry
 * while writing. */
static store *open_hour_retention(const char *dir)
{
    store_options o;
    th_default_options(&o, dir);
    o.retention_ns = 3600 * SEC;
    th_now_ns = 0;
    return th_open_opts(&o);
}

static int count_pending(void *ctx, store_pending_ref ref, uint32_t tenant, const uint8_t tid[16],
                         const uint8_t *chunk, size_t len)
{
    (void)tenant;
    (void)tid;
    (void)chunk;
    (void)len;
    assert_true(ref.sec >= T_NEW);
    (*(int *)ctx)++;
    return 0;
}

static int count_sum(void *ctx, const store_trace_summary *s)
{
    (void)s;
    (*(int *)ctx)++;
    return 0;
}

typedef struct strs {
    char v[8][32];
    int n;
} strs;

typedef struct results {
    int n;
    uint64_t start_ns; /* of the last */
} results;

static int collect_one(void *ctx, const store_trace_summary *s)
{
    results *r = ctx;
    r->n++;
    r->start_ns = s->start_ns;
    return 0;
}

static int str_cb(void *ctx, const char *s)
{
    strs *c = ctx;
    assert_true(c->n < 8);
    snprintf(c->v[c->n++], 32, "%s", s);
    return 0;
}

static int edge_cb(void *ctx, const store_edge *e)
{
    *(uint64_t *)ctx += e->calls;
    return 0;
}

static void put_trace(store *s, uint8_t t, const char *svc, const char *env, uint32_t sec)
{
    tspan sp = {.service = svc,
                .span_id = 1,
                .name = "op",
                .start_ns = sec * SEC,
                .end_ns = sec * SEC + SEC,
                .res_key = "env",
                .res_val = env};
    th_tid(sp.tid, t);
    store_pending_ref ref = th_append(s, &sp, 1, sec);
    assert_int_equal(store_keep_trace(s, 0, sp.tid, &ref, 1), OTTR_OK);
    /* Another trace's record that stays pending. */
    tspan other = sp;
    th_tid(other.tid, (uint8_t)(t + 0x40));
    th_append(s, &other, 1, sec);
    store_edge e;
    memset(&e, 0, sizeof(e));
    snprintf(e.client, sizeof(e.client), "%s", svc);
    snprintf(e.server, sizeof(e.server), "db");
    e.calls = sec == T_OLD ? 1000 : 1;
    assert_int_equal(store_add_graph(store_view_of(s, 0), sec / 60, &e, 1, NULL, 0), OTTR_OK);
}

static void test_retention_compaction(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = open_hour_retention(dir);
    put_trace(s, 1, "oldsvc", "old", T_OLD);
    put_trace(s, 2, "newsvc", "new", T_NEW);

    /* Nothing is removed while the clock says everything is recent. */
    th_now_ns = (uint64_t)T_OLD * SEC;
    assert_int_equal(store_compact(s), OTTR_OK);
    uint8_t a[16], b[16];
    th_tid(a, 1);
    th_tid(b, 2);
    store_trace_summary sum;
    assert_int_equal(store_get_summary(store_view_of(s, 0), a, &sum), OTTR_OK);

    th_now_ns = ((uint64_t)T_NEW + 10) * SEC;
    assert_int_equal(store_compact(s), OTTR_OK);

    int n = 0;
    assert_int_equal(store_replay_pending(s, count_pending, &n), OTTR_OK);
    assert_int_equal(n, 2);
    ottr_buf buf = {0};
    assert_int_equal(store_get_trace(store_view_of(s, 0), a, &buf, NULL), OTTR_ERR_NOTFOUND);
    assert_int_equal(store_get_summary(store_view_of(s, 0), a, &sum), OTTR_ERR_NOTFOUND);
    assert_int_equal(store_get_trace(store_view_of(s, 0), b, &buf, &sum), OTTR_OK);
    assert_string_equal(sum.root_service, "newsvc");
    ottr_buf_free(&buf);

    store_search_query q = {0};
    n = 0;
    assert_int_equal(store_search(store_view_of(s, 0), &q, count_sum, &n, NULL), OTTR_OK);
    assert_int_equal(n, 1);
    store_search_query qa = {.service = "oldsvc"};
    store_search_stats st;
    n = 0;
    assert_int_equal(store_search(store_view_of(s, 0), &qa, count_sum, &n, &st), OTTR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(st.inspected_traces, 0); /* the index keys are gone too */

    strs v = {0};
    assert_int_equal(
        store_tag_values(store_view_of(s, 0), STORE_SCOPE_RESOURCE, "env", 0, str_cb, &v), OTTR_OK);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.v[0], "new");
    strs svcs = {0};
    assert_int_equal(store_services(store_view_of(s, 0), str_cb, &svcs), OTTR_OK);
    assert_int_equal(svcs.n, 1);
    assert_string_equal(svcs.v[0], "newsvc");

    uint64_t calls = 0;
    assert_int_equal(store_graph(store_view_of(s, 0), 0, T_NEW / 60 + 10, edge_cb, NULL, &calls),
                     OTTR_OK);
    assert_int_equal(calls, 1);
    /* Physically gone, not only hidden by the read-side cut-off. */
    th_now_ns = 0;
    calls = 0;
    assert_int_equal(store_graph(store_view_of(s, 0), 0, T_NEW / 60 + 10, edge_cb, NULL, &calls),
                     OTTR_OK);
    assert_int_equal(calls, 1);
    store_close(s);
    th_rmdir(dir);
}

#define ARRIVAL  1700000000u   /* 2023-11-14 */
#define FAR_PAST 1000000ull    /* 1970-01-12 */
#define Y2200    7258118400ull /* 2200-01-01, past 32-bit seconds */
#define Y2150    5680281600ull /* 2150-01-01 */
#define NS(sec)  ((uint64_t)(sec)*SEC)

static void put_at(store *s, uint8_t t, uint64_t start_ns)
{
    tspan sp = {.service = "svc", .span_id = 1, .name = "op", .start_ns = start_ns};
    sp.end_ns = start_ns + SEC;
    th_tid(sp.tid, t);
    store_pending_ref ref = th_append(s, &sp, 1, ARRIVAL);
    assert_int_equal(store_keep_trace(s, 0, sp.tid, &ref, 1), OTTR_OK);
}

/* Traces found by service "svc" with start in [from, to] (0: open). */
static int found(store *s, uint64_t from, uint64_t to, uint64_t *start)
{
    store_search_query q = {.service = "svc", .start_ns = from, .end_ns = to};
    results r = {0};
    assert_int_equal(store_search(store_view_of(s, 0), &q, collect_one, &r, NULL), OTTR_OK);
    if (start)
        *start = r.start_ns;
    return r.n;
}

static void test_far_times(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = open_hour_retention(dir);
    put_at(s, 1, NS(FAR_PAST));
    put_at(s, 2, NS(Y2200) + 5);
    put_at(s, 3, NS(ARRIVAL));

    /* Retention runs by arrival: all three outlive a compaction just after it,
     * the far-past one included (its start is far older than the retention). */
    th_now_ns = NS(ARRIVAL + 10);
    assert_int_equal(store_compact(s), OTTR_OK);
    uint64_t start = 0;
    assert_int_equal(found(s, NS(FAR_PAST - 1), NS(FAR_PAST + 1), &start), 1);
    assert_true(start == NS(FAR_PAST));
    assert_int_equal(found(s, NS(Y2200 - 86400), NS(Y2200 + 86400), &start), 1);
    assert_true(start == NS(Y2200) + 5);
    assert_int_equal(found(s, NS(Y2200), NS(Y2200) + 5, NULL), 1);
    assert_int_equal(found(s, NS(Y2200) + 6, 0, NULL), 0);
    assert_int_equal(found(s, NS(Y2150), NS(Y2150 + 86400), NULL), 0);
    assert_int_equal(found(s, NS(Y2150), 0, NULL), 1);
    assert_int_equal(found(s, NS(ARRIVAL), NS(ARRIVAL), NULL), 1);
    assert_int_equal(found(s, 0, 0, NULL), 3);

    /* An hour after the arrival everything is gone, index keys included. */
    th_now_ns = NS(ARRIVAL + 3600 + 10);
    assert_int_equal(store_compact(s), OTTR_OK);
    store_search_query q = {0};
    store_search_stats st;
    int n = 0;
    assert_int_equal(store_search(store_view_of(s, 0), &q, count_sum, &n, &st), OTTR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(st.inspected_traces, 0);
    store_close(s);
    th_rmdir(dir);
}

/* Blob files (*.blob) in |dir|. */
static int blob_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        n += len > 5 && strcmp(e->d_name + len - 5, ".blob") == 0;
    }
    closedir(d);
    return n;
}

static void test_blob_chunks_expire(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = open_hour_retention(dir);
    /* 24 spans: a chunk far past the 256 bytes from which chunks go to blob files. */
    tspan sp[24];
    for (int i = 0; i < 24; i++) {
        tspan one = {.service = "blobsvc",
                     .span_id = (uint64_t)i + 1,
                     .parent_id = i ? 1 : 0,
                     .name = "a span name long enough to fill the chunk",
                     .start_ns = T_OLD * SEC,
                     .end_ns = T_OLD * SEC + SEC};
        th_tid(one.tid, 9);
        sp[i] = one;
    }
    store_pending_ref ref = th_append(s, sp, 24, T_OLD);
    assert_int_equal(store_keep_trace(s, 0, sp[0].tid, &ref, 1), OTTR_OK);
    th_now_ns = (uint64_t)T_OLD * SEC;
    assert_int_equal(store_compact(s), OTTR_OK);
    assert_int_equal(blob_files(dir), 1);
    ottr_buf buf = {0};
    assert_int_equal(store_get_trace(store_view_of(s, 0), sp[0].tid, &buf, NULL), OTTR_OK);
    assert_true(buf.len > 24 * 40);
    ottr_buf_free(&buf);

    /* Past the retention the key goes without its chunk being read, and the
     * file, now all garbage, is deleted. */
    th_now_ns = ((uint64_t)T_OLD + 3600 + 10) * SEC;
    assert_int_equal(store_compact(s), OTTR_OK);
    assert_int_equal(store_get_trace(store_view_of(s, 0), sp[0].tid, &buf, NULL),
                     OTTR_ERR_NOTFOUND);
    assert_int_equal(blob_files(dir), 0);
    store_close(s);
    th_rmdir(dir);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retention_compaction),
        cmocka_unit_test(test_far_times),
        cmocka_unit_test(test_blob_chunks_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
