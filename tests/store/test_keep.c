/* tests/store/test_keep.c - keeping traces: the copy into `traces`, the summary,
 * idempotent repeats, late spans, the max_trace_bytes cap, trace by ID, the
 * dependency links a keep adds, counted once per trace in a call of many. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/store/helpers.h"

#define SEC 1000000000ull

static int count_cb(void *ctx, const store_trace_summary *sum)
{
    (void)sum;
    (*(int *)ctx)++;
    return 0;
}

static int search_count(store *s, const char *service, uint64_t start, uint64_t end)
{
    store_search_query q = {.service = service, .start_ns = start, .end_ns = end};
    int n = 0;
    assert_int_equal(store_search(store_view_of(s, 0), &q, count_cb, &n, NULL), OTTR_OK);
    return n;
}

static void make_trace(tspan sp[2], uint8_t t)
{
    memset(sp, 0, 2 * sizeof(tspan));
    sp[0] = (tspan){.service = "frontend",
                    .span_id = 1,
                    .name = "GET /cart",
                    .kind = 2,
                    .start_ns = 1000 * SEC,
                    .end_ns = 1000 * SEC + SEC / 2,
                    .status = 1,
                    .attr_key = "http.method",
                    .attr_val = "GET"};
    sp[1] = (tspan){.service = "backend",
                    .span_id = 2,
                    .parent_id = 1,
                    .name = "SELECT",
                    .kind = 3,
                    .start_ns = 1000 * SEC + SEC / 10,
                    .end_ns = 1000 * SEC + SEC / 5,
                    .status = 2};
    th_tid(sp[0].tid, t);
    th_tid(sp[1].tid, t);
}

static const store_service_stat *find_service(const store_trace_summary *s, const char *name)
{
    for (uint32_t i = 0; i < s->nservices; i++)
        if (strcmp(s->services[i].name, name) == 0)
            return &s->services[i];
    return NULL;
}

static void test_keep_and_summary(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    tspan sp[2];
    make_trace(sp, 0x11);
    /* The child arrives first, in an earlier second. */
    store_pending_ref refs[2];
    refs[0] = th_append(s, &sp[1], 1, 1000);
    refs[1] = th_append(s, &sp[0], 1, 1001);
    assert_int_equal(store_keep_trace(s, 0, sp[0].tid, refs, 2), OTTR_OK);

    ottr_buf buf = {0};
    store_trace_summary sum;
    assert_int_equal(store_get_trace(store_view_of(s, 0), sp[0].tid, &buf, &sum), OTTR_OK);
    assert_int_equal(th_count_spans(&buf), 2);
    assert_memory_equal(sum.trace_id, sp[0].tid, 16);
    assert_string_equal(sum.root_service, "frontend");
    assert_string_equal(sum.root_name, "GET /cart");
    assert_int_equal(sum.start_ns, 1000 * SEC);
    assert_int_equal(sum.end_ns, 1000 * SEC + SEC / 2);
    assert_int_equal(sum.span_count, 2);
    assert_int_equal(sum.error_count, 1);
    assert_int_equal(sum.bytes, buf.len);
    assert_false(sum.partial);
    assert_int_equal(sum.nservices, 2);
    const store_service_stat *fe = find_service(&sum, "frontend");
    const store_service_stat *be = find_service(&sum, "backend");
    assert_non_null(fe);
    assert_non_null(be);
    assert_int_equal(fe->spans, 1);
    assert_int_equal(fe->errors, 0);
    assert_int_equal(be->spans, 1);
    assert_int_equal(be->errors, 1);

    store_trace_summary sum2;
    assert_int_equal(store_get_summary(store_view_of(s, 0), sp[0].tid, &sum2), OTTR_OK);
    assert_memory_equal(&sum, &sum2, sizeof(sum));

    /* Still there after a restart. */
    store_close(s);
    s = th_open(dir);
    ottr_buf again = {0};
    assert_int_equal(store_get_trace(store_view_of(s, 0), sp[0].tid, &again, NULL), OTTR_OK);
    assert_int_equal(again.len, buf.len);
    assert_memory_equal(again.data, buf.data, buf.len);
    ottr_buf_free(&again);
    ottr_buf_free(&buf);
    store_close(s);
    th_rmdir(dir);
}

static void test_keep_idempotent(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    tspan sp[2];
    make_trace(sp, 0x22);
    store_pending_ref ref = th_append(s, sp, 2, 1000);
    assert_int_equal(store_keep_trace(s, 0, sp[0].tid, &ref, 1), OTTR_OK);
    ottr_buf b1 = {0}, b2 = {0};
    store_trace_summary s1, s2;
    assert_int_equal(store_get_trace(store_view_of(s, 0), sp[0].tid, &b1, &s1), OTTR_OK);

    /* Twice more, also naming the record twice and a record that is not there:
     * nothing doubles. */
    assert_int_equal(store_keep_trace(s, 0, sp[0].tid, &ref, 1), OTTR_OK);
    store_pending_ref more[3] = {ref, {999, 7}, ref};
    assert_int_equal(store_keep_trace(s, 0, sp[0].tid, more, 3), OTTR_OK);
    assert_int_equal(store_get_trace(store_view_of(s, 0), sp[0].tid, &b2, &s2), OTTR_OK);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.data, b2.data, b1.len);
    assert_memory_equal(&s1, &s2, sizeof(s1));
    assert_int_equal(s2.span_count, 2);
    assert_int_equal(search_count(s, "frontend", 0, 0), 1);
    assert_int_equal(search_count(s, "backend", 0, 0), 1);
    ottr_buf_free(&b1);
    ottr_buf_free(&b2);
    store_close(s);
    th_rmdir(dir);
}

static void test_keep_late_second(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    tspan sp[2];
    make_trace(sp, 0x33);
    store_pending_ref ref = th_append(s, sp, 2, 1000);
    assert_int_equal(store_keep_trace(s, 0, sp[0].tid, &ref, 1), OTTR_OK);
    assert_int_equal(search_count(s, "frontend", 1000 * SEC, 1001 * SEC), 1);

    /* A late span that started before the root, from a third service. */
    tspan late = {.service = "queue",
                  .span_id = 3,
                  .parent_id = 1,
                  .name = "enqueue",
                  .kind = 4,
                  .start_ns = 998 * SEC,
                  .end_ns = 1002 * SEC};
    th_tid(late.tid, 0x33);
    ref = th_append(s, &late, 1, 1010);
    assert_int_equal(store_keep_trace(s, 0, sp[0].tid, &ref, 1), OTTR_OK);

    ottr_buf buf = {0};
    store_trace_summary sum;
    assert_int_equal(store_get_trace(store_view_of(s, 0), sp[0].tid, &buf, &sum), OTTR_OK);
    assert_int_equal(th_count_spans(&buf), 3);
    assert_int_equal(sum.span_count, 3);
    assert_int_equal(sum.nservices, 3);
    assert_int_equal(sum.start_ns, 998 * SEC);
    assert_int_equal(sum.end_ns, 1002 * SEC);
    assert_string_equal(sum.root_service, "frontend");
    assert_int_equal(sum.bytes, buf.len);

    /* Every index key moved to the new start second. */
    assert_int_equal(search_count(s, "frontend", 1000 * SEC, 1001 * SEC), 0);
    assert_int_equal(search_count(s, "frontend", 998 * SEC, 999 * SEC), 1);
    assert_int_equal(search_count(s, "backend", 998 * SEC, 999 * SEC), 1);
    assert_int_equal(search_count(s, "queue", 998 * SEC, 999 * SEC), 1);
    assert_int_equal(search_count(s, NULL, 0, 0), 1);
    store_search_query q = {.attrs = (store_kv[]){{"http.method", "GET"}}, .nattrs = 1};
    int n = 0;
    assert_int_equal(store_search(store_view_of(s, 0), &q, count_cb, &n, NULL), OTTR_OK);
    assert_int_equal(n, 1);
    ottr_buf_free(&buf);
    store_close(s);
    th_rmdir(dir);
}

static void test_max_trace_bytes(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store_options o;
    th_default_options(&o, dir);
    o.max_trace_bytes = 2500;
    store *s = th_open_opts(&o);
    uint8_t tid[16];
    th_tid(tid, 0x44);
    store_pending_ref refs[5];
    for (int i = 0; i < 5; i++) {
        tspan sp = {.service = "big",
                    .span_id = (uint64_t)i + 1,
                    .parent_id = i ? 1 : 0,
                    .name = "chunk",
                    .start_ns = 50 * SEC,
                    .end_ns = 51 * SEC,
                    .pad = 1000};
        memcpy(sp.tid, tid, 16);
        refs[i] = th_append(s, &sp, 1, 50 + (uint32_t)i);
    }
    assert_int_equal(store_keep_trace(s, 0, tid, refs, 3), OTTR_OK);
    ottr_buf buf = {0};
    store_trace_summary sum;
    assert_int_equal(store_get_trace(store_view_of(s, 0), tid, &buf, &sum), OTTR_OK);
    assert_true(sum.partial);
    assert_true(buf.len <= 2500);
    assert_int_equal(sum.bytes, buf.len);
    assert_int_equal(sum.span_count, 2);
    assert_int_equal(th_count_spans(&buf), 2);

    /* A later keep does not grow the trace. */
    assert_int_equal(store_keep_trace(s, 0, tid, refs + 3, 2), OTTR_OK);
    ottr_buf buf2 = {0};
    assert_int_equal(store_get_trace(store_view_of(s, 0), tid, &buf2, &sum), OTTR_OK);
    assert_int_equal(buf2.len, buf.len);
    assert_true(sum.partial);
    assert_int_equal(sum.span_count, 2);
    ottr_buf_free(&buf);
    ottr_buf_free(&buf2);

    /* A single chunk over the cap is still kept, marked partial only if more came. */
    uint8_t tid2[16];
    th_tid(tid2, 0x45);
    tspan one = {.service = "big",
                 .span_id = 1,
                 .name = "huge",
                 .start_ns = 60 * SEC,
                 .end_ns = 61 * SEC,
                 .pad = 5000};
    memcpy(one.tid, tid2, 16);
    store_pending_ref ref = th_append(s, &one, 1, 60);
    assert_int_equal(store_keep_trace(s, 0, tid2, &ref, 1), OTTR_OK);
    assert_int_equal(store_get_summary(store_view_of(s, 0), tid2, &sum), OTTR_OK);
    assert_int_equal(sum.span_count, 1);
    assert_false(sum.partial);
    store_close(s);
    th_rmdir(dir);
}

static void test_not_found(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    uint8_t tid[16];
    th_tid(tid, 0x55);
    ottr_buf buf = {0};
    store_trace_summary sum;
    assert_int_equal(store_get_trace(store_view_of(s, 0), tid, &buf, &sum), OTTR_ERR_NOTFOUND);
    assert_int_equal(buf.len, 0);
    assert_int_equal(store_get_summary(store_view_of(s, 0), tid, &sum), OTTR_ERR_NOTFOUND);
    /* Nothing pending: OK, and still nothing stored. */
    store_pending_ref gone = {100, 1};
    assert_int_equal(store_keep_trace(s, 0, tid, &gone, 1), OTTR_OK);
    assert_int_equal(store_keep_trace(s, 0, tid, NULL, 0), OTTR_OK);
    assert_int_equal(store_get_trace(store_view_of(s, 0), tid, &buf, NULL), OTTR_ERR_NOTFOUND);
    /* A pending record that holds only another trace is not copied. */
    tspan other = {.service = "x", .span_id = 1, .name = "y", .start_ns = SEC, .end_ns = SEC};
    th_tid(other.tid, 0x56);
    store_pending_ref ref = th_append(s, &other, 1, 150);
    assert_int_equal(store_keep_trace(s, 0, tid, &ref, 1), OTTR_OK);
    assert_int_equal(store_get_trace(store_view_of(s, 0), tid, &buf, NULL), OTTR_ERR_NOTFOUND);
    ottr_buf_free(&buf);
    store_close(s);
    th_rmdir(dir);
}

static void test_keep_traces_batch(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    enum { N = 40 };
    store_keep_req reqs[N + 2] = {0};
    store_pending_ref roots[N], children[N];
    for (int i = 0; i < N; i++) {
        tspan sp[2];
        make_trace(sp, (uint8_t)(0x80 + i));
        roots[i] = th_append(s, &sp[0], 1, 500 + (uint32_t)(i % 3));
        children[i] = th_append(s, &sp[1], 1, 510);
        memcpy(reqs[i].trace_id, sp[0].tid, 16);
        reqs[i].refs = &roots[i];
        reqs[i].nrefs = 1;
    }
    /* The same trace twice, with records that only together hold all its spans. */
    reqs[N] = reqs[0];
    reqs[N].refs = &children[0];
    reqs[N + 1] = reqs[5];
    reqs[N + 1].refs = &children[5];
    assert_int_equal(store_keep_traces(s, reqs, N + 2), OTTR_OK);
    for (int i = 0; i < N; i++) {
        store_trace_summary sum;
        ottr_buf buf = {0};
        assert_int_equal(store_get_trace(store_view_of(s, 0), reqs[i].trace_id, &buf, &sum),
                         OTTR_OK);
        uint32_t want = i == 0 || i == 5 ? 2 : 1;
        assert_int_equal(sum.span_count, want);
        assert_int_equal(th_count_spans(&buf), want);
        assert_int_equal(sum.bytes, buf.len);
        ottr_buf_free(&buf);
    }
    assert_int_equal(search_count(s, "frontend", 0, 0), N);
    assert_int_equal(search_count(s, "backend", 0, 0), 2);
    /* Again, as one call per trace: nothing changes but the children now copied. */
    for (int i = 0; i < N; i++) {
        store_pending_ref both[2] = {roots[i], children[i]};
        assert_int_equal(store_keep_trace(s, 0, reqs[i].trace_id, both, 2), OTTR_OK);
    }
    assert_int_equal(store_keep_traces(s, reqs, N), OTTR_OK);
    assert_int_equal(search_count(s, "backend", 0, 0), N);
    for (int i = 0; i < N; i++) {
        store_trace_summary sum;
        assert_int_equal(store_get_summary(store_view_of(s, 0), reqs[i].trace_id, &sum), OTTR_OK);
        assert_int_equal(sum.span_count, 2);
    }
    assert_int_equal(store_keep_traces(s, reqs, 0), OTTR_OK);
    store_close(s);
    th_rmdir(dir);
}

static int direct_cb(void *ctx, const store_edge *e)
{
    if (strcmp(e->connection_type, "direct") == 0 && strcmp(e->client, "frontend") == 0 &&
        strcmp(e->server, "backend") == 0)
        *(uint64_t *)ctx += e->calls;
    return 0;
}

/* Direct calls frontend -> backend over minutes [from, to]. */
static uint64_t direct_calls(store *s, uint32_t from, uint32_t to)
{
    uint64_t n = 0;
    assert_int_equal(store_graph(store_view_of(s, 0), from, to, direct_cb, NULL, &n), OTTR_OK);
    return n;
}

static void test_keep_links_summed(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    enum { N = 300, LATER = 20 };
    static store_keep_req reqs[N];
    static store_pending_ref refs[N];
    memset(reqs, 0, sizeof(reqs));
    for (int i = 0; i < N; i++) {
        tspan sp[2];
        make_trace(sp, 1);
        sp[0].tid[0] = sp[1].tid[0] = (uint8_t)(i >> 8 | 0x10);
        sp[0].tid[1] = sp[1].tid[1] = (uint8_t)i;
        /* The server span is the parent: a "direct" link in its child's minute. */
        sp[1].kind = 1;
        if (i < LATER) {
            sp[0].start_ns += 120 * SEC;
            sp[1].start_ns += 120 * SEC;
        }
        refs[i] = th_append(s, sp, 2, 1000);
        memcpy(reqs[i].trace_id, sp[0].tid, 16);
        reqs[i].refs = &refs[i];
        reqs[i].nrefs = 1;
    }
    assert_int_equal(store_keep_traces(s, reqs, N), OTTR_OK);
    uint32_t m = 1000 / 60;
    assert_int_equal(direct_calls(s, m, m), N - LATER);
    assert_int_equal(direct_calls(s, m + 2, m + 2), LATER);
    assert_int_equal(direct_calls(s, m, m + 60), N);
    /* Kept again: nothing new, nothing counted twice. */
    assert_int_equal(store_keep_traces(s, reqs, N), OTTR_OK);
    assert_int_equal(direct_calls(s, m, m + 60), N);
    store_close(s);
    th_rmdir(dir);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_and_summary),  cmocka_unit_test(test_keep_idempotent),
        cmocka_unit_test(test_keep_late_second),  cmocka_unit_test(test_max_trace_bytes),
        cmocka_unit_test(test_not_found),         cmocka_unit_test(test_keep_traces_batch),
        cmocka_unit_test(test_keep_links_summed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
