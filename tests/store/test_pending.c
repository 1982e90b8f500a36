/* tests/store/test_pending.c - durable acceptance: append, replay across a
 * restart, unique refs across restarts, reclaim, write errors, torn and damaged
 * records, and records of earlier versions' `pending` family moved into the log. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/internal.h"
#include "tests/store/helpers.h"

typedef struct rec {
    uint32_t sec, seq;
    uint8_t tid[16];
    size_t len;
    uint32_t tenant;
} rec;

typedef struct recs {
    rec r[64];
    size_t n;
    size_t stop_after; /* 0 = never */
} recs;

static int collect(void *ctx, store_pending_ref ref, uint32_t tenant, const uint8_t tid[16],
                   const uint8_t *chunk, size_t len)
{
    recs *c = ctx;
    assert_non_null(chunk);
    assert_true(c->n < 64);
    c->r[c->n].sec = ref.sec;
    c->r[c->n].seq = ref.seq;
    memcpy(c->r[c->n].tid, tid, 16);
    c->r[c->n].len = len;
    c->r[c->n].tenant = tenant;
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static tspan span(uint8_t t, uint64_t id)
{
    tspan s = {.service = "svc", .span_id = id, .name = "op", .start_ns = 1, .end_ns = 2};
    th_tid(s.tid, t);
    return s;
}

static void test_append_replay_reopen(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    tspan a[2] = {span(1, 1), span(2, 2)};
    store_pending_ref ra = th_append(s, a, 2, 1000);
    tspan b[1] = {span(1, 3)};
    store_pending_ref rb = th_append(s, b, 1, 999);
    store_close(s);

    s = th_open(dir);
    recs c = {0};
    assert_int_equal(store_replay_pending(s, collect, &c), OTTR_OK);
    assert_int_equal(c.n, 3);
    /* Key order: oldest arrival first; one record per request, its traces in
     * the request's order, each with the record's ref. */
    assert_int_equal(c.r[0].sec, 999);
    assert_int_equal(c.r[0].seq, rb.seq);
    assert_int_equal(c.r[1].sec, 1000);
    assert_int_equal(c.r[1].seq, ra.seq);
    assert_int_equal(c.r[2].seq, ra.seq);
    assert_int_equal(c.r[1].tid[0], 1);
    assert_int_equal(c.r[2].tid[0], 2);
    assert_true(c.r[0].len > 0);

    /* The callback stops the replay. */
    recs d = {.stop_after = 2};
    assert_int_equal(store_replay_pending(s, collect, &d), OTTR_OK);
    assert_int_equal(d.n, 2);
    store_close(s);
    th_rmdir(dir);
}

static void test_seq_unique_across_restarts(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    /* The same trace in the same second in three lives of the store: no overwrite. */
    for (int i = 0; i < 3; i++) {
        store *s = th_open(dir);
        tspan a[1] = {span(7, (uint64_t)i + 1)};
        th_append(s, a, 1, 5000);
        store_close(s);
    }
    store *s = th_open(dir);
    recs c = {0};
    assert_int_equal(store_replay_pending(s, collect, &c), OTTR_OK);
    assert_int_equal(c.n, 3);
    store_close(s);
    th_rmdir(dir);
}

static void test_reclaim(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    for (uint32_t sec = 100; sec < 110; sec++) {
        tspan a[1] = {span((uint8_t)sec, sec)};
        th_append(s, a, 1, sec);
    }
    assert_int_equal(store_reclaim_pending(s, 105), OTTR_OK);
    recs c = {0};
    assert_int_equal(store_replay_pending(s, collect, &c), OTTR_OK);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.r[0].sec, 105);
    assert_int_equal(c.r[4].sec, 109);
    /* Still gone after a restart (and after compaction). */
    assert_int_equal(store_compact(s), OTTR_OK);
    store_close(s);
    s = th_open(dir);
    recs d = {0};
    assert_int_equal(store_replay_pending(s, collect, &d), OTTR_OK);
    assert_int_equal(d.n, 5);
    store_close(s);
    th_rmdir(dir);
}

static void test_write_error_and_resume(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_batch b;
    tspan sp[1] = {span(3, 1)};
    th_build(&a, sp, 1, &b);

    assert_false(store_write_failing(s));
    store_inject_write_error(s, true);
    store_pending_ref ref = {0, 0};
    assert_int_equal(store_append_pending(s, &b, 10, &ref), OTTR_ERR_IO);
    assert_int_equal(ref.sec, 0); /* untouched on error */
    assert_true(store_write_failing(s));
    assert_int_equal(store_append_pending(s, &b, 10, NULL), OTTR_ERR_IO);

    ottr_buf m = {0};
    store_render_metrics(s, &m);
    assert_non_null(strstr(m.data, "ottr_store_write_errors_total 2\n"));
    assert_non_null(strstr(m.data, "ottr_store_write_failing 1\n"));
    ottr_buf_free(&m);

    store_inject_write_error(s, false);
    assert_int_equal(store_append_pending(s, &b, 10, &ref), OTTR_OK);
    assert_int_equal(ref.sec, 10);
    assert_false(store_write_failing(s));
    recs c = {0};
    assert_int_equal(store_replay_pending(s, collect, &c), OTTR_OK);
    assert_int_equal(c.n, 1);
    ottr_arena_free(&a);
    store_close(s);
    th_rmdir(dir);
}

/* A data directory written before one record per request: each pending key was
 * arrival_sec | trace_id | seq with one chunk. Replay hands those chunks over
 * with a ref of the current layout that a keep then finds. */
static void test_legacy_records_replayed(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_batch b;
    tspan sp[1] = {span(0x21, 1)};
    th_build(&a, sp, 1, &b);
    uint8_t key[PENDING_LEGACY_KEY_LEN];
    be32_put(key, 77);
    memcpy(key + 4, b.groups[0].trace_id, 16);
    be32_put(key + 20, 5);
    char *e = NULL;
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put_cf(s->db, wo, s->cf[CF_PENDING], (const char *)key, sizeof(key),
                   (const char *)b.groups[0].chunk, b.groups[0].chunk_len, &e);
    rocksdb_writeoptions_destroy(wo);
    assert_null(e);
    store_close(s);

    s = th_open(dir);
    recs c = {0};
    assert_int_equal(store_replay_pending(s, collect, &c), OTTR_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].sec, 77);
    assert_int_equal(c.r[0].len, b.groups[0].chunk_len);
    store_pending_ref ref = {c.r[0].sec, c.r[0].seq};
    assert_int_equal(store_keep_trace(s, 0, b.groups[0].trace_id, &ref, 1), OTTR_OK);
    ottr_buf buf = {0};
    assert_int_equal(store_get_trace(store_view_of(s, 0), b.groups[0].trace_id, &buf, NULL),
                     OTTR_OK);
    assert_int_equal(th_count_spans(&buf), 1);
    ottr_buf_free(&buf);
    /* Rewritten once: a second replay sees the same record, in the new layout. */
    recs d = {0};
    assert_int_equal(store_replay_pending(s, collect, &d), OTTR_OK);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.r[0].seq, c.r[0].seq);
    ottr_arena_free(&a);
    store_close(s);
    th_rmdir(dir);
}

/* Appends |n| bytes of |p| to the log file of |sec| under |dir|. */
static void append_raw(const char *dir, uint32_t sec, const void *p, size_t n)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/pending/%010u.log", dir, sec);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Flips one byte at |off| of the log file of |sec|. */
static void flip_byte(const char *dir, uint32_t sec, long off)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/pending/%010u.log", dir, sec);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

/* A record torn by a crash (the tail of the file) or damaged on disk (in the
 * middle) is skipped; the records around it replay, later appends go after it,
 * and a keep reads a record past the damage. */
static void test_torn_and_damaged_records(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    tspan a[1] = {span(1, 1)}, b[1] = {span(2, 2)}, c3[1] = {span(3, 3)};
    th_append(s, a, 1, 42);
    store_pending_ref rb = th_append(s, b, 1, 42);
    store_pending_ref rc = th_append(s, c3, 1, 42);
    store_close(s);
    flip_byte(dir, 42, (long)rb.seq + 40); /* inside b's payload */
    static const uint8_t torn[10] = {0x4f, 0x50, 0x4c, 0x31, 0xff, 0x01, 0, 0, 1, 2};
    append_raw(dir, 42, torn, sizeof(torn));

    s = th_open(dir);
    recs c = {0};
    assert_int_equal(store_replay_pending(s, collect, &c), OTTR_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.r[0].tid[0], 1);
    assert_int_equal(c.r[1].tid[0], 3);
    assert_int_equal(c.r[1].seq, rc.seq);

    tspan d[1] = {span(4, 4)};
    store_pending_ref rd = th_append(s, d, 1, 42);
    assert_true(rd.seq > rc.seq);
    recs e = {0};
    assert_int_equal(store_replay_pending(s, collect, &e), OTTR_OK);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.r[2].tid[0], 4);
    assert_int_equal(store_keep_trace(s, 0, d[0].tid, &rd, 1), OTTR_OK);
    ottr_buf buf = {0};
    assert_int_equal(store_get_trace(store_view_of(s, 0), d[0].tid, &buf, NULL), OTTR_OK);
    assert_int_equal(th_count_spans(&buf), 1);
    ottr_buf_free(&buf);
    /* A record that is gone (reclaimed) is nothing to copy, not an error. */
    assert_int_equal(store_reclaim_pending(s, 43), OTTR_OK);
    assert_int_equal(store_keep_trace(s, 0, c3[0].tid, &rc, 1), OTTR_OK);
    assert_int_equal(store_get_trace(store_view_of(s, 0), c3[0].tid, &buf, NULL),
                     OTTR_ERR_NOTFOUND);
    ottr_buf_free(&buf);
    store_close(s);
    th_rmdir(dir);
}

static void test_metrics_text(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    tspan a[1] = {span(1, 1)};
    th_append(s, a, 1, 1);
    ottr_buf m = {0};
    store_render_metrics(s, &m);
    assert_false(m.oom);
    const char *want[] = {
        "# TYPE ottr_store_write_errors_total counter",
        "# TYPE ottr_store_write_stopped gauge",
        "ottr_store_pending_compaction_bytes{family=\"traces\"}",
        "ottr_store_sst_bytes{family=\"pending\"}",
        "ottr_store_keys{family=\"index\"}",
        "# TYPE ottr_store_block_cache_hits_total counter",
        "ottr_store_block_cache_misses_total",
        "ottr_store_appended_records_total 1\n",
        "ottr_store_pending_log_files 1\n",
        "ottr_store_delayed_write_rate_bytes",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(m.data, want[i]) == NULL)
            fail_msg("metrics lack %s:\n%s", want[i], m.data);
    ottr_buf_free(&m);
    store_close(s);
    th_rmdir(dir);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_replay_reopen),
        cmocka_unit_test(test_seq_unique_across_restarts),
        cmocka_unit_test(test_reclaim),
        cmocka_unit_test(test_write_error_and_resume),
        cmocka_unit_test(test_metrics_text),
        cmocka_unit_test(test_legacy_records_replayed),
        cmocka_unit_test(test_torn_and_damaged_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
