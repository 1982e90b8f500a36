/* tests/store/test_index.c - the index as posting lists: many traces of one
 * second found exactly (rare and common terms, combined), a trace kept in
 * several writes reported once, few keys for many traces, and a store whose
 * index has the earlier layout (a key per term and trace) still searchable after
 * it opens with this version. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/internal.h"
#include "tests/store/helpers.h"

#define SEC     1000000000ull
#define MS      1000000ull
#define NTRACES 600

static int count_cb(void *ctx, const store_trace_summary *sum)
{
    (void)sum;
    (*(int *)ctx)++;
    return 0;
}

static int search_count(store *s, const store_search_query *q)
{
    int n = 0;
    assert_int_equal(store_search(store_view_of(s, 0), q, count_cb, &n, NULL), OTTR_OK);
    return n;
}

static int by_service(store *s, const char *svc)
{
    store_search_query q = {.service = svc};
    return search_count(s, &q);
}

static int by_attr(store *s, const char *svc, const char *k, const char *v)
{
    store_kv kv[] = {{k, v}};
    store_search_query q = {.service = svc, .attrs = kv, .nattrs = 1};
    return search_count(s, &q);
}

/* Counts the keys of the index whose kind byte (after the tenant) lies in [lo, hi]. */
static int count_keys(store *s, uint8_t lo, uint8_t hi)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_INDEX]);
    int n = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        if (klen > TENANT_KEY_LEN && k[TENANT_KEY_LEN] >= lo && k[TENANT_KEY_LEN] <= hi)
            n++;
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return n;
}

/* Trace i: service a or b by parity, user.id u-<i>, all starting in second
 * 5000; kept in one call. */
static void keep_many(store *s)
{
    static char users[NTRACES][16];
    store_keep_req *reqs = calloc(NTRACES, sizeof(*reqs));
    store_pending_ref *refs = calloc(NTRACES, sizeof(*refs));
    assert_non_null(reqs);
    assert_non_null(refs);
    for (int i = 0; i < NTRACES; i++) {
        snprintf(users[i], sizeof(users[i]), "u-%d", i);
        tspan sp = {.service = i % 2 ? "b" : "a",
                    .span_id = 1,
                    .name = "op",
                    .kind = 2,
                    .start_ns = 5000 * SEC + (uint64_t)i * MS,
                    .attr_key = "user.id",
                    .attr_val = users[i]};
        sp.end_ns = sp.start_ns + MS;
        memset(sp.tid, 0, 16);
        sp.tid[0] = 0x42;
        sp.tid[14] = (uint8_t)(i >> 8);
        sp.tid[15] = (uint8_t)i;
        refs[i] = th_append(s, &sp, 1, 6000);
        memcpy(reqs[i].trace_id, sp.tid, 16);
        reqs[i].refs = &refs[i];
        reqs[i].nrefs = 1;
    }
    assert_int_equal(store_keep_traces(s, reqs, NTRACES), OTTR_OK);
    free(reqs);
    free(refs);
}

static void test_many_in_one_second(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    keep_many(s);
    assert_int_equal(by_service(s, "a"), NTRACES / 2);
    assert_int_equal(by_service(s, "b"), NTRACES / 2);
    store_search_query all = {0};
    assert_int_equal(search_count(s, &all), NTRACES);
    /* A rare value among many in its bucket: exactly its trace. */
    assert_int_equal(by_attr(s, NULL, "user.id", "u-7"), 1);
    assert_int_equal(by_attr(s, "b", "user.id", "u-7"), 1);
    assert_int_equal(by_attr(s, "a", "user.id", "u-7"), 0);
    assert_int_equal(by_attr(s, NULL, "user.id", "u-100000"), 0);
    /* Hundreds of traces, a few terms each: a key per term bucket, not per
     * term and trace. */
    int keys = count_keys(s, 'A', 'Z');
    assert_true(keys > 0);
    assert_true(keys < NTRACES);
    store_close(s);
    th_rmdir(dir);
}

/* A trace kept three times: twice in its first second, then with an earlier
 * span that moves its start. One result, in the new second only. */
static void test_kept_in_several_writes(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    tspan sp = {.service = "api",
                .span_id = 1,
                .name = "GET",
                .kind = 2,
                .start_ns = 7000 * SEC + 500 * MS,
                .end_ns = 7000 * SEC + 600 * MS,
                .attr_key = "env",
                .attr_val = "prod"};
    th_tid(sp.tid, 9);
    store_pending_ref r1 = th_append(s, &sp, 1, 7001);
    assert_int_equal(store_keep_trace(s, 0, sp.tid, &r1, 1), OTTR_OK);
    tspan late = sp;
    late.span_id = 2;
    late.parent_id = 1;
    late.start_ns = 7000 * SEC + 510 * MS;
    store_pending_ref r2 = th_append(s, &late, 1, 7002);
    assert_int_equal(store_keep_trace(s, 0, sp.tid, &r2, 1), OTTR_OK);
    assert_int_equal(by_service(s, "api"), 1);
    assert_int_equal(by_attr(s, "api", "env", "prod"), 1);

    tspan early = sp;
    early.span_id = 3;
    early.parent_id = 1;
    early.start_ns = 6990 * SEC;
    store_pending_ref r3 = th_append(s, &early, 1, 7003);
    assert_int_equal(store_keep_trace(s, 0, sp.tid, &r3, 1), OTTR_OK);
    assert_int_equal(by_service(s, "api"), 1);
    assert_int_equal(by_attr(s, "api", "env", "prod"), 1);
    store_search_query old = {.service = "api", .start_ns = 6995 * SEC, .end_ns = 7010 * SEC};
    assert_int_equal(search_count(s, &old), 0);
    store_search_query now = {.service = "api", .start_ns = 6989 * SEC, .end_ns = 6991 * SEC};
    assert_int_equal(search_count(s, &now), 1);
    store_close(s);
    th_rmdir(dir);
}

/* Writes the earlier layout's key of one term for trace |tid| at |sec|. */
static void put_legacy(store *s, rocksdb_writebatch_t *wb, char kind, const char *a, const char *b,
                       uint32_t sec, const uint8_t tid[16])
{
    uint8_t key[256];
    size_t n =
        store_key_index_prefix(key, sizeof(key), 0, kind, a, strlen(a), b, b ? strlen(b) : 0);
    assert_true(n > 0);
    be32_put(key + n, ~sec);
    memcpy(key + n + 4, tid, 16);
    rocksdb_writebatch_put_cf(wb, s->cf[CF_INDEX], (const char *)key, n + 20, "", 0);
}

static void test_earlier_layout_moves(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    /* Traces with summaries, then their index replaced by the earlier layout. */
    uint8_t tids[3][16];
    for (int i = 0; i < 3; i++) {
        tspan sp = {.service = i == 2 ? "web" : "api",
                    .span_id = 1,
                    .name = "GET",
                    .kind = 2,
                    .start_ns = (8000 + (uint64_t)i) * SEC,
                    .res_key = "env",
                    .res_val = "prod"};
        sp.end_ns = sp.start_ns + MS;
        th_tid(sp.tid, (uint8_t)(20 + i));
        memcpy(tids[i], sp.tid, 16);
        store_pending_ref r = th_append(s, &sp, 1, 8100);
        assert_int_equal(store_keep_trace(s, 0, sp.tid, &r, 1), OTTR_OK);
    }
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_delete_range_cf(wb, s->cf[CF_INDEX], "\0\0\0\0A", 5, "\0\0\0\0[", 5);
    for (int i = 0; i < 3; i++) {
        uint32_t sec = 8000 + (uint32_t)i;
        const char *svc = i == 2 ? "web" : "api";
        put_legacy(s, wb, IDX_SERVICE, svc, NULL, sec, tids[i]);
        put_legacy(s, wb, IDX_SVC_NAME, svc, "GET", sec, tids[i]);
        put_legacy(s, wb, IDX_NAME, "GET", NULL, sec, tids[i]);
        put_legacy(s, wb, IDX_ATTR, "env", "prod", sec, tids[i]);
        put_legacy(s, wb, IDX_ALL, "", NULL, sec, tids[i]);
    }
    assert_int_equal(store_write(s, wb, NULL, 0), OTTR_OK);
    rocksdb_writebatch_destroy(wb);
    assert_int_equal(by_service(s, "api"), 0); /* not read in that layout */
    store_close(s);

    s = th_open(dir);
    assert_int_equal(count_keys(s, 'a', 'z'), 0);
    assert_int_equal(by_service(s, "api"), 2);
    assert_int_equal(by_service(s, "web"), 1);
    assert_int_equal(by_attr(s, "api", "env", "prod"), 2);
    store_search_query name = {.service = "web", .span_name = "GET"};
    assert_int_equal(search_count(s, &name), 1);
    store_search_query all = {0};
    assert_int_equal(search_count(s, &all), 3);
    store_close(s);
    th_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_in_one_second),
        cmocka_unit_test(test_kept_in_several_writes),
        cmocka_unit_test(test_earlier_layout_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
