/* tests/store/test_ingest.c - large keeps, whose index keys and tag entries are
 * ingested as SST files: the same search and discovery answers as keeps through
 * the memtable, re-keying, the ingest directory's leftovers, a failed ingest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include <cmocka.h>

#include "tests/store/helpers.h"

#define SEC 1000000000ull
/* Traces of one call: with about 10 index keys each, well over the store's
 * threshold for ingesting (1024 keys); one trace alone stays under it. */
#define NTRACES 200

static void tid_of(uint8_t tid[16], int i)
{
    memset(tid, 0xab, 16);
    tid[0] = (uint8_t)(i >> 8);
    tid[1] = (uint8_t)i;
}

/* Trace |i|: a root and a child span, a user ID of its own (a new tag value). */
static void make_trace(tspan sp[2], int i, uint64_t start_ns, char *user, size_t ulen)
{
    snprintf(user, ulen, "user-%d", i);
    memset(sp, 0, 2 * sizeof(tspan));
    sp[0] = (tspan){.service = i % 2 ? "frontend" : "gateway",
                    .span_id = 1,
                    .name = i % 3 ? "GET /cart" : "POST /checkout",
                    .kind = 2,
                    .start_ns = start_ns,
                    .end_ns = start_ns + SEC / 2 + (uint64_t)i * 1000,
                    .status = 1,
                    .attr_key = "user.id",
                    .attr_val = user,
                    .res_key = "deployment.environment",
                    .res_val = i % 4 == 1 ? "staging" : "production"};
    sp[1] = (tspan){.service = "backend",
                    .span_id = 2,
                    .parent_id = 1,
                    .name = "SELECT",
                    .kind = 3,
                    .start_ns = start_ns + SEC / 10,
                    .end_ns = start_ns + SEC / 5,
                    .status = i % 5 ? 0 : 2,
                    .int_key = "db.rows",
                    .int_val = i % 7};
    tid_of(sp[0].tid, i);
    tid_of(sp[1].tid, i);
}

/* Keeps every trace of the record |ref|: in one call (|one_call|) or one call
 * per trace. Returns the first failure. */
static ottr_status keep_all(store *s, store_pending_ref ref, bool one_call)
{
    store_keep_req reqs[NTRACES] = {0};
    for (int i = 0; i < NTRACES; i++) {
        tid_of(reqs[i].trace_id, i);
        reqs[i].refs = &ref;
        reqs[i].nrefs = 1;
    }
    if (one_call)
        return store_keep_traces(s, reqs, NTRACES);
    ottr_status st = OTTR_OK;
    for (int i = 0; i < NTRACES && st == OTTR_OK; i++)
        st = store_keep_traces(s, &reqs[i], 1);
    return st;
}

/* Appends every trace (spans from |start_sec|) as one request at |sec|; returns
 * the request's record. */
static store_pending_ref append_all(store *s, uint64_t start_sec, uint32_t sec)
{
    static tspan sp[NTRACES * 2];
    static char users[NTRACES][32];
    for (int i = 0; i < NTRACES; i++)
        make_trace(&sp[2 * i], i, start_sec * SEC, users[i], sizeof(users[i]));
    return th_append(s, sp, NTRACES * 2, sec);
}

static store_pending_ref append_and_keep(store *s, uint64_t start_sec, uint32_t sec, bool one_call)
{
    store_pending_ref ref = append_all(s, start_sec, sec);
    assert_int_equal(keep_all(s, ref, one_call), OTTR_OK);
    return ref;
}

/* Two stores given the same traces: |a| in large calls, |b| in calls of one
 * trace (through the memtable). */
typedef struct pair {
    char *da, *db;
    store *a, *b;
} pair;

static void pair_open(pair *p)
{
    th_now_ns = 1010 * SEC;
    p->da = th_tmpdir();
    p->db = th_tmpdir();
    p->a = th_open(p->da);
    p->b = th_open(p->db);
}

static void pair_close(pair *p)
{
    store_close(p->a);
    store_close(p->b);
    th_rmdir(p->da);
    th_rmdir(p->db);
}

/* The value of metric |name| for family |family|, from the store's metrics. */
static uint64_t family_metric(store *s, const char *name, const char *family)
{
    ottr_buf m = {0};
    store_render_metrics(s, &m);
    char line[128];
    snprintf(line, sizeof(line), "\n%s{family=\"%s\"} ", name, family);
    const char *p = m.data ? strstr(m.data, line) : NULL;
    assert_non_null(p);
    uint64_t v = strtoull(p + strlen(line), NULL, 10);
    ottr_buf_free(&m);
    return v;
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static size_t ingest_entries(const char *dir)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/ingest", dir);
    return dir_entries(p);
}

/* ---- answers written out as text, to compare two stores ---- */

static int add_summary(void *ctx, const store_trace_summary *sum)
{
    ottr_buf *b = ctx;
    char line[128];
    int n =
        snprintf(line, sizeof(line), "%02x%02x %llu %u %u\n", sum->trace_id[0], sum->trace_id[1],
                 (unsigned long long)sum->start_ns, sum->span_count, sum->error_count);
    ottr_buf_append(b, line, (size_t)n);
    return 0;
}

static int add_str(void *ctx, const char *str)
{
    ottr_buf *b = ctx;
    ottr_buf_append(b, str, strlen(str));
    ottr_buf_append(b, "\n", 1);
    return 0;
}

static int add_op(void *ctx, const char *name, int kind)
{
    char line[256];
    int n = snprintf(line, sizeof(line), "%s %d\n", name, kind);
    ottr_buf_append(ctx, line, (size_t)n);
    return 0;
}

static size_t count_lines(const ottr_buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++)
        n += b->data[i] == '\n';
    return n;
}

static size_t search(store *s, const store_search_query *q, ottr_buf *out)
{
    ottr_buf b = {0};
    assert_int_equal(store_search(store_view_of(s, 0), q, add_summary, &b, NULL), OTTR_OK);
    size_t n = count_lines(&b);
    ottr_buf_append(out, "--\n", 3);
    if (b.len)
        ottr_buf_append(out, b.data, b.len);
    ottr_buf_free(&b);
    return n;
}

/* Every search and discovery answer about the test traces; checks the counts
 * (|start_sec|: where the traces start) and returns the text. */
static void answers(store *s, uint64_t start_sec, ottr_buf *out)
{
    store_kv get = {"user.id", "user-17"};
    store_kv prod = {"deployment.environment", "production"};
    store_kv rows = {"db.rows", "3"};
    struct {
        store_search_query q;
        size_t want;
    } qs[] = {
        {{0}, NTRACES},
        {{.service = "frontend"}, NTRACES / 2},
        {{.service = "backend"}, NTRACES},
        {{.service = "gateway", .span_name = "POST /checkout"}, 34},
        {{.span_name = "SELECT"}, NTRACES},
        {{.attrs = &get, .nattrs = 1}, 1},
        {{.attrs = &prod, .nattrs = 1, .service = "frontend"}, 50},
        {{.attrs = &rows, .nattrs = 1}, 29},
        {{.start_ns = (start_sec - 1) * SEC, .end_ns = (start_sec + 1) * SEC}, NTRACES},
        {{.start_ns = (start_sec + 2) * SEC}, 0},
    };
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        assert_int_equal(search(s, &qs[i].q, out), qs[i].want);
    assert_int_equal(store_tag_names(store_view_of(s, 0), STORE_SCOPE_SPAN, add_str, out), OTTR_OK);
    assert_int_equal(store_tag_names(store_view_of(s, 0), STORE_SCOPE_RESOURCE, add_str, out),
                     OTTR_OK);
    ottr_buf users = {0};
    assert_int_equal(
        store_tag_values(store_view_of(s, 0), STORE_SCOPE_SPAN, "user.id", 1000, add_str, &users),
        OTTR_OK);
    assert_int_equal(count_lines(&users), NTRACES);
    ottr_buf_append(out, users.data, users.len);
    ottr_buf_free(&users);
    assert_int_equal(store_tag_values(store_view_of(s, 0), STORE_SCOPE_RESOURCE,
                                      "deployment.environment", 10, add_str, out),
                     OTTR_OK);
    assert_int_equal(store_services(store_view_of(s, 0), add_str, out), OTTR_OK);
    assert_int_equal(store_operations(store_view_of(s, 0), "gateway", add_op, out), OTTR_OK);
    assert_false(out->oom);
}

/* Checks that |a| and |b| answer alike; keeps |a|'s answers in |out|. */
static void same_answers(store *a, store *b, uint64_t start_sec, ottr_buf *out)
{
    ottr_buf rb = {0};
    answers(a, start_sec, out);
    answers(b, start_sec, &rb);
    assert_int_equal(out->len, rb.len);
    assert_memory_equal(out->data, rb.data, rb.len);
    ottr_buf_free(&rb);
}

/* One large call (ingested) and one call per trace (memtable) answer alike. */
static void test_ingest_same_answers(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    store_pending_ref ref = append_and_keep(p.a, 1000, 1001, true);
    append_and_keep(p.b, 1000, 1001, false);
    /* Only the large call went around the memtable. */
    assert_true(family_metric(p.a, "ottr_store_sst_bytes", "index") > 0);
    assert_true(family_metric(p.a, "ottr_store_sst_bytes", "tags") > 0);
    assert_int_equal(family_metric(p.b, "ottr_store_sst_bytes", "index"), 0);
    assert_int_equal(family_metric(p.b, "ottr_store_sst_bytes", "tags"), 0);
    assert_int_equal(ingest_entries(p.da), 0);

    ottr_buf first = {0};
    same_answers(p.a, p.b, 1000, &first);
    for (int i = 0; i < NTRACES; i++) {
        uint8_t tid[16];
        tid_of(tid, i);
        store_trace_summary sa, sb;
        assert_int_equal(store_get_summary(store_view_of(p.a, 0), tid, &sa), OTTR_OK);
        assert_int_equal(store_get_summary(store_view_of(p.b, 0), tid, &sb), OTTR_OK);
        assert_int_equal(sa.span_count, 2);
        assert_memory_equal(&sa, &sb, sizeof(sa));
    }

    /* Kept again: nothing new, nothing changes. */
    assert_int_equal(keep_all(p.a, ref, true), OTTR_OK);
    ottr_buf again = {0};
    same_answers(p.a, p.b, 1000, &again);
    assert_int_equal(again.len, first.len);
    assert_memory_equal(again.data, first.data, first.len);
    ottr_buf_free(&first);
    ottr_buf_free(&again);
    pair_close(&p);
}

/* Late spans that start earlier move every trace's index keys; through the
 * ingest the old keys are deleted just as through the memtable. */
static void test_ingest_rekey(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    append_and_keep(p.a, 1000, 1001, true);
    append_and_keep(p.b, 1000, 1001, false);
    /* The same spans again, starting 10 s earlier, arrive in a later second. */
    append_and_keep(p.a, 990, 1002, true);
    append_and_keep(p.b, 990, 1002, false);
    assert_int_equal(family_metric(p.b, "ottr_store_sst_bytes", "index"), 0);

    /* Each trace found once (no key left at its old second), at its new start. */
    ottr_buf r = {0};
    same_answers(p.a, p.b, 990, &r);
    store_search_query old = {.start_ns = 995 * SEC};
    assert_int_equal(search(p.a, &old, &r), 0);
    uint8_t tid[16];
    tid_of(tid, 3);
    store_trace_summary sum;
    assert_int_equal(store_get_summary(store_view_of(p.a, 0), tid, &sum), OTTR_OK);
    assert_int_equal(sum.span_count, 4);
    assert_int_equal(sum.start_ns, 990 * SEC);

    /* Still so after reopening (the ingested files are part of the store). */
    store_close(p.a);
    p.a = th_open(p.da);
    ottr_buf_reset(&r);
    same_answers(p.a, p.b, 990, &r);
    ottr_buf_free(&r);
    pair_close(&p);
}

/* Files an interrupted ingest left behind are removed at open. */
static void test_ingest_leftovers(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    store_close(p.a);
    assert_int_equal(ingest_entries(p.da), 0);
    const char *names[] = {"00000001-00000000-index.sst", "00000001-00000001-tags.sst", "junk"};
    for (size_t i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/ingest/%s", p.da, names[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("half-written", f);
        fclose(f);
    }
    assert_int_equal(ingest_entries(p.da), 3);
    p.a = th_open(p.da);
    assert_int_equal(ingest_entries(p.da), 0);
    /* The store works as before. */
    append_and_keep(p.a, 1000, 1001, true);
    append_and_keep(p.b, 1000, 1001, false);
    ottr_buf r = {0};
    same_answers(p.a, p.b, 1000, &r);
    ottr_buf_free(&r);
    pair_close(&p);
}

/* A failed ingest writes neither the traces nor their summaries, leaves no
 * file behind, and the repeated call succeeds. */
static void test_ingest_failure(void **state)
{
    (void)state;
    pair p;
    pair_open(&p);
    store_pending_ref ref = append_all(p.a, 1000, 1001);
    store_inject_write_error(p.a, true);
    assert_int_equal(keep_all(p.a, ref, true), OTTR_ERR_IO);
    assert_true(store_write_failing(p.a));
    assert_int_equal(ingest_entries(p.da), 0);
    store_inject_write_error(p.a, false);
    for (int i = 0; i < NTRACES; i++) {
        uint8_t tid[16];
        tid_of(tid, i);
        store_trace_summary sum;
        assert_int_equal(store_get_summary(store_view_of(p.a, 0), tid, &sum), OTTR_ERR_NOTFOUND);
    }
    store_search_query all = {0};
    ottr_buf r = {0};
    assert_int_equal(search(p.a, &all, &r), 0);
    assert_int_equal(family_metric(p.a, "ottr_store_sst_bytes", "index"), 0);
    assert_int_equal(family_metric(p.a, "ottr_store_sst_bytes", "tags"), 0);

    /* The writer's retry: the whole call again. */
    assert_int_equal(keep_all(p.a, ref, true), OTTR_OK);
    assert_false(store_write_failing(p.a));
    assert_int_equal(ingest_entries(p.da), 0);
    append_and_keep(p.b, 1000, 1001, false);
    ottr_buf_reset(&r);
    same_answers(p.a, p.b, 1000, &r);
    ottr_buf_free(&r);
    pair_close(&p);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_same_answers),
        cmocka_unit_test(test_ingest_rekey),
        cmocka_unit_test(test_ingest_leftovers),
        cmocka_unit_test(test_ingest_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
