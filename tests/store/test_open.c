/* tests/store/test_open.c - opening: new and reopened stores, foreign and corrupt
 * directories, a directory already in use, checkpoints, options with a zero size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <rocksdb/c.h>

#include "tests/store/helpers.h"

static ottr_status try_open(const char *dir, char *err, size_t errlen)
{
    store_options o;
    th_default_options(&o, dir);
    store *s = NULL;
    ottr_status st = store_open(&o, &s, err, errlen);
    if (st == OTTR_OK)
        store_close(s);
    else
        assert_null(s);
    return st;
}

static void write_file(const char *dir, const char *name, const char *content)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void test_creates_nested_dir(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char sub[512];
    snprintf(sub, sizeof(sub), "%s/a/b/data", dir);
    char err[512];
    assert_int_equal(try_open(sub, err, sizeof(err)), OTTR_OK);
    assert_int_equal(try_open(sub, err, sizeof(err)), OTTR_OK); /* reopen */
    th_rmdir(dir);
}

/* The options carry no defaults: a zero size or interval is refused. */
static void test_zero_options(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    for (int i = 0; i < 4; i++) {
        store_options o;
        th_default_options(&o, dir);
        if (i == 0)
            o.max_trace_bytes = 0;
        else if (i == 1)
            o.block_cache_bytes = 0;
        else if (i == 2)
            o.memtable_bytes = 0;
        else {
            o.sync = STORE_SYNC_INTERVAL;
            o.sync_interval_ns = 0;
        }
        store *s = NULL;
        char err[512] = "";
        assert_int_equal(store_open(&o, &s, err, sizeof(err)), OTTR_ERR_INVALID);
        assert_null(s);
        assert_non_null(strstr(err, "is 0"));
    }
    th_rmdir(dir);
}

static void test_not_a_directory(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    write_file(dir, "file", "x");
    char p[512], err[512];
    snprintf(p, sizeof(p), "%s/file", dir);
    assert_int_equal(try_open(p, err, sizeof(err)), OTTR_ERR_IO);
    assert_non_null(strstr(err, "not a directory"));
    th_rmdir(dir);
}

static void test_garbage_current(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char err[512];
    assert_int_equal(try_open(dir, err, sizeof(err)), OTTR_OK);
    write_file(dir, "CURRENT", "\x01\x02garbage");
    assert_int_equal(try_open(dir, err, sizeof(err)), OTTR_ERR_CORRUPT);
    assert_non_null(strstr(err, "corrupt"));
    assert_non_null(strstr(err, dir));
    /* CURRENT naming a MANIFEST that does not exist. */
    write_file(dir, "CURRENT", "MANIFEST-999999\n");
    assert_int_equal(try_open(dir, err, sizeof(err)), OTTR_ERR_CORRUPT);
    th_rmdir(dir);
}

static void test_missing_current(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    char err[512], p[512];
    assert_int_equal(try_open(dir, err, sizeof(err)), OTTR_OK);
    snprintf(p, sizeof(p), "%s/CURRENT", dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(try_open(dir, err, sizeof(err)), OTTR_ERR_CORRUPT);
    assert_non_null(strstr(err, "CURRENT"));
    th_rmdir(dir);
}

static void make_foreign(const char *dir, const char *cf)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    const char *names[2] = {"default", cf};
    const rocksdb_options_t *opts[2] = {o, o};
    rocksdb_column_family_handle_t *h[2];
    char *e = NULL;
    rocksdb_t *db = rocksdb_open_column_families(o, dir, cf ? 2 : 1, names, opts, h, &e);
    assert_null(e);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put(db, wo, "k", 1, "v", 1, &e);
    assert_null(e);
    rocksdb_writeoptions_destroy(wo);
    for (int i = 0; i < (cf ? 2 : 1); i++)
        rocksdb_column_family_handle_destroy(h[i]);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
}

static void test_foreign_rocksdb(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    make_foreign(dir, "users");
    char err[512];
    assert_int_equal(try_open(dir, err, sizeof(err)), OTTR_ERR_CORRUPT);
    assert_non_null(strstr(err, "is not an Ottr data directory"));
    assert_non_null(strstr(err, "found column families: default, users"));
    th_rmdir(dir);

    dir = th_tmpdir();
    make_foreign(dir, NULL);
    assert_int_equal(try_open(dir, err, sizeof(err)), OTTR_ERR_CORRUPT);
    assert_non_null(strstr(err, "found column families: default)"));
    th_rmdir(dir);
}

static void test_already_in_use(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    char err[512];
    assert_int_equal(try_open(dir, err, sizeof(err)), OTTR_ERR_IO);
    assert_non_null(strstr(err, "already in use by another ottrd"));
    store_close(s);
    assert_int_equal(try_open(dir, err, sizeof(err)), OTTR_OK);
    th_rmdir(dir);
}

static void test_checkpoint(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    tspan sp = {.service = "shop",
                .span_id = 1,
                .name = "GET /",
                .kind = 2,
                .start_ns = 5000000000000ull,
                .end_ns = 5000100000000ull};
    th_tid(sp.tid, 9);
    store_pending_ref ref = th_append(s, &sp, 1, 5000);
    assert_int_equal(store_keep_trace(s, 0, sp.tid, &ref, 1), OTTR_OK);

    tspan undecided = sp;
    th_tid(undecided.tid, 10);
    th_append(s, &undecided, 1, 5001);

    char cp[600], err[512];
    snprintf(cp, sizeof(cp), "%s/backup", dir);
    assert_int_equal(store_checkpoint(s, cp, err, sizeof(err)), OTTR_OK);
    /* The target must not exist. */
    assert_int_equal(store_checkpoint(s, cp, err, sizeof(err)), OTTR_ERR_INVALID);
    store_close(s);

    store *c = th_open(cp);
    ottr_buf buf = {0};
    store_trace_summary sum;
    assert_int_equal(store_get_trace(store_view_of(c, 0), sp.tid, &buf, &sum), OTTR_OK);
    assert_int_equal(th_count_spans(&buf), 1);
    assert_string_equal(sum.root_service, "shop");
    ottr_buf_free(&buf);
    /* The undecided request came along: it replays in the copy. */
    assert_int_equal(th_count_pending(c), 2);
    store_close(c);
    th_rmdir(dir);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_creates_nested_dir), cmocka_unit_test(test_not_a_directory),
        cmocka_unit_test(test_garbage_current),    cmocka_unit_test(test_missing_current),
        cmocka_unit_test(test_foreign_rocksdb),    cmocka_unit_test(test_already_in_use),
        cmocka_unit_test(test_checkpoint),         cmocka_unit_test(test_zero_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
