/* tests/store/test_tenants.c - tenants in the store: every key layout starts
 * with the tenant's number; the registry numbers names and keeps them across a
 * reopen; the same trace ID kept by two tenants stays two traces, and every
 * read (trace by ID, summary, search, tags, services, operations, service
 * graph) sees only its view's tenant; pending records carry their tenant into
 * replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/internal.h"
#include "tests/store/helpers.h"

static void test_key_layouts(void **state)
{
    (void)state;
    uint8_t tid[16], k[64];
    th_tid(tid, 0xab);
    store_key_trace(k, 0x01020304, tid);
    assert_memory_equal(k, "\x01\x02\x03\x04", 4);
    assert_memory_equal(k + 4, tid, 16);
    store_key_traces(k, 7, tid, 100, 200);
    assert_int_equal(be32_get(k), 7);
    assert_memory_equal(k + 4, tid, 16);
    assert_int_equal(be32_get(k + 20), 100);
    assert_int_equal(be32_get(k + 24), 200);

    size_t n = store_key_index_prefix(k, sizeof(k), 9, IDX_SERVICE, "svc", 3, NULL, 0);
    assert_int_equal(n, 4 + 1 + 3 + 1);
    assert_int_equal(be32_get(k), 9);
    assert_int_equal(k[4], IDX_SERVICE);
    assert_memory_equal(k + 5, "svc", 3);
    assert_int_equal(k[8], 0);
    /* Two tenants' prefixes of one term differ in the first four bytes only. */
    uint8_t k2[64];
    assert_int_equal(store_key_index_prefix(k2, sizeof(k2), 10, IDX_SERVICE, "svc", 3, NULL, 0), n);
    assert_memory_not_equal(k, k2, 4);
    assert_memory_equal(k + 4, k2 + 4, n - 4);

    n = store_key_tag(k, sizeof(k), 3, STORE_SCOPE_SPAN, "k", 1, "v", 1);
    assert_int_equal(n, 4 + 1 + 1 + 1 + 1);
    assert_int_equal(be32_get(k), 3);
    assert_int_equal(k[4], STORE_SCOPE_SPAN);
    n = store_key_graph(k, sizeof(k), 5, 1234, GRAPH_KIND_EDGE, (const uint8_t *)"a", 1);
    assert_int_equal(n, GRAPH_KEY_HEAD + 1);
    assert_int_equal(be32_get(k), 5);
    assert_int_equal(be32_get(k + 4), 1234);
    assert_int_equal(k[8], GRAPH_KIND_EDGE);

    /* Format-1 keys are told from tenant keys by length or first bytes. */
    assert_true(store_key_is_legacy(CF_TRACES, k, 24));
    assert_false(store_key_is_legacy(CF_TRACES, k, 28));
    assert_true(store_key_is_legacy(CF_SUMMARIES, k, 16));
    assert_false(store_key_is_legacy(CF_SUMMARIES, k, 20));
    assert_true(store_key_is_legacy(CF_INDEX, (const uint8_t *)"sfoo\0", 5));
    assert_false(store_key_is_legacy(CF_INDEX, (const uint8_t *)"\0\0\0\0sfoo", 8));
}

static void test_registry(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    uint32_t a, b, again, none;
    assert_int_equal(store_tenant_id(s, "acme", 4, true, &a), OTTR_OK);
    assert_int_equal(store_tenant_id(s, "globex", 6, true, &b), OTTR_OK);
    assert_int_not_equal(a, b);
    assert_int_not_equal(a, STORE_TENANT_DEFAULT);
    assert_int_equal(store_tenant_id(s, "acme", 4, true, &again), OTTR_OK);
    assert_int_equal(again, a);
    /* A read of a name never written gets nothing and registers nothing. */
    assert_int_equal(store_tenant_id(s, "nobody", 6, false, &none), OTTR_OK);
    assert_int_equal(none, STORE_TENANT_NONE);
    assert_int_equal(store_tenant_id(s, "", 0, true, &none), OTTR_ERR_INVALID);
    /* The implicit tenant is Tempo's single-tenant. */
    assert_int_equal(store_tenant_id(s, "single-tenant", 13, false, &none), OTTR_OK);
    assert_int_equal(none, STORE_TENANT_DEFAULT);
    char name[STORE_TENANT_NAME_MAX + 1];
    assert_int_equal(store_tenant_name(s, b, name, sizeof(name)), 0);
    assert_string_equal(name, "globex");
    store_close(s);

    s = th_open(dir);
    assert_int_equal(store_tenant_id(s, "globex", 6, false, &again), OTTR_OK);
    assert_int_equal(again, b);
    assert_int_equal(store_tenant_id(s, "initech", 7, true, &again), OTTR_OK);
    assert_true(again != a && again != b);
    store_close(s);
    th_rmdir(dir);
}

static int add_str(void *ctx, const char *s)
{
    ottr_buf *b = ctx;
    ottr_buf_printf(b, "%s\n", s);
    return 0;
}

static int add_op(void *ctx, const char *name, int kind)
{
    (void)kind;
    return add_str(ctx, name);
}

static int count_sum(void *ctx, const store_trace_summary *sum)
{
    (void)sum;
    (*(int *)ctx)++;
    return 0;
}

static int edge_str(void *ctx, const store_edge *e)
{
    ottr_buf_printf(ctx, "%s>%s\n", e->client, e->server);
    return 0;
}

/* A trace of two spans (shop calls pay) starting at |t0|, trace ID made of
 * |tid|, the root with the span attribute |key|=|val|. */
static void shop_trace(tspan sp[2], uint64_t t0, uint8_t tid, const char *key, const char *val)
{
    memset(sp, 0, 2 * sizeof(*sp));
    sp[0] = (tspan){.service = "shop",
                    .span_id = 1,
                    .name = "checkout",
                    .kind = 3,
                    .start_ns = t0,
                    .end_ns = t0 + 5000000,
                    .attr_key = key,
                    .attr_val = val};
    sp[1] = (tspan){.service = "pay",
                    .span_id = 2,
                    .parent_id = 1,
                    .name = "charge",
                    .kind = 2,
                    .start_ns = t0 + 1000,
                    .end_ns = t0 + 4000000};
    th_tid(sp[0].tid, tid);
    th_tid(sp[1].tid, tid);
}

/* Appends |sp| for |tenant| at |sec| and keeps its trace. */
static void write_trace(store *s, uint32_t tenant, tspan *sp, size_t n, uint32_t sec)
{
    ottr_arena a;
    ottr_arena_init(&a, 4096, 0);
    otlp_batch b;
    th_build(&a, sp, n, &b);
    b.tenant = tenant;
    store_pending_ref ref;
    assert_int_equal(store_append_pending(s, &b, sec, &ref), OTTR_OK);
    assert_int_equal(store_keep_trace(s, tenant, sp[0].tid, &ref, 1), OTTR_OK);
    ottr_arena_free(&a);
}

typedef struct seen {
    uint32_t tenants[8];
    int n;
} seen;

static int note_tenant(void *ctx, store_pending_ref ref, uint32_t tenant, const uint8_t tid[16],
                       const uint8_t *chunk, size_t len)
{
    (void)ref;
    (void)tid;
    (void)chunk;
    (void)len;
    seen *s = ctx;
    if (s->n < 8)
        s->tenants[s->n++] = tenant;
    return 0;
}

static void test_isolation(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    uint32_t a, b;
    assert_int_equal(store_tenant_id(s, "acme", 4, true, &a), OTTR_OK);
    assert_int_equal(store_tenant_id(s, "globex", 6, true, &b), OTTR_OK);
    uint64_t t0 = 1700000000ull * NS_PER_SEC;
    th_now_ns = t0;
    tspan sa[2];
    shop_trace(sa, t0, 0x42, "acme.only", "x");
    tspan sb[1] = {{.service = "bank",
                    .span_id = 1,
                    .name = "transfer",
                    .kind = 2,
                    .start_ns = t0,
                    .end_ns = t0 + 9000000,
                    .attr_key = "globex.only",
                    .attr_val = "y"}};
    th_tid(sb[0].tid, 0x42); /* the same trace ID */
    write_trace(s, a, sa, 2, 1700000000);
    write_trace(s, b, sb, 1, 1700000000);

    store_view va = store_view_of(s, a), vb = store_view_of(s, b);
    store_view vn = store_view_of(s, STORE_TENANT_NONE), v0 = store_view_of(s, 0);
    ottr_buf out = {0};
    store_trace_summary sum;
    assert_int_equal(store_get_trace(va, sa[0].tid, &out, &sum), OTTR_OK);
    assert_int_equal(th_count_spans(&out), 2);
    assert_string_equal(sum.root_service, "shop");
    ottr_buf_reset(&out);
    assert_int_equal(store_get_trace(vb, sb[0].tid, &out, &sum), OTTR_OK);
    assert_int_equal(th_count_spans(&out), 1);
    assert_string_equal(sum.root_service, "bank");
    assert_int_equal(store_get_summary(vn, sb[0].tid, &sum), OTTR_ERR_NOTFOUND);
    ottr_buf_reset(&out);
    assert_int_equal(store_get_trace(v0, sb[0].tid, &out, NULL), OTTR_ERR_NOTFOUND);

    store_search_query q = {.service = "bank"};
    int n = 0;
    assert_int_equal(store_search(vb, &q, count_sum, &n, NULL), OTTR_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(store_search(va, &q, count_sum, &n, NULL), OTTR_OK);
    assert_int_equal(n, 0);
    store_search_query all = {0};
    n = 0;
    assert_int_equal(store_search(va, &all, count_sum, &n, NULL), OTTR_OK);
    assert_int_equal(n, 1);

    ottr_buf_reset(&out);
    assert_int_equal(store_tag_names(va, STORE_SCOPE_SPAN, add_str, &out), OTTR_OK);
    assert_non_null(strstr(out.data, "acme.only"));
    assert_null(strstr(out.data, "globex.only"));
    ottr_buf_reset(&out);
    assert_int_equal(store_services(vb, add_str, &out), OTTR_OK);
    assert_string_equal(out.data, "bank\n");
    ottr_buf_reset(&out);
    assert_int_equal(store_operations(va, "bank", add_op, &out), OTTR_OK);
    assert_int_equal(out.len, 0);
    assert_int_equal(store_operations(vb, "bank", add_op, &out), OTTR_OK);
    assert_string_equal(out.data, "transfer\n");
    ottr_buf_reset(&out);
    assert_int_equal(store_tag_values(vn, STORE_SCOPE_SPAN, "globex.only", 10, add_str, &out),
                     OTTR_OK);
    assert_int_equal(out.len, 0);

    /* The service graph: one edge per tenant, each read only by its own. */
    uint32_t minute = (uint32_t)(t0 / (60 * NS_PER_SEC));
    store_edge e = {.client = "shop", .server = "pay", .calls = 3};
    assert_int_equal(store_add_graph(va, minute, &e, 1, NULL, 0), OTTR_OK);
    store_edge f = {.client = "bank", .server = "ledger", .calls = 1};
    assert_int_equal(store_add_graph(vb, minute, &f, 1, NULL, 0), OTTR_OK);
    ottr_buf_reset(&out);
    assert_int_equal(store_graph(va, minute - 5, minute + 5, edge_str, NULL, &out), OTTR_OK);
    assert_string_equal(out.data, "shop>pay\n");
    ottr_buf_reset(&out);
    assert_int_equal(store_graph(vb, 0, UINT32_MAX, edge_str, NULL, &out), OTTR_OK);
    assert_string_equal(out.data, "bank>ledger\n");

    /* Replay hands each record over with its tenant. */
    seen sn = {0};
    assert_int_equal(store_replay_pending(s, note_tenant, &sn), OTTR_OK);
    assert_int_equal(sn.n, 2);
    assert_true((sn.tenants[0] == a && sn.tenants[1] == b) ||
                (sn.tenants[0] == b && sn.tenants[1] == a));
    ottr_buf_free(&out);
    store_close(s);
    th_rmdir(dir);
}

/* Turns every other key of family |cf| back into its format-1 layout (no
 * tenant): a store whose move to format 2 a crash cut short. */
static void half_legacy(store *s, int cf)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[cf]);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    int i = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it), i++) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (i % 2 == 1 || klen <= TENANT_KEY_LEN)
            continue;
        rocksdb_writebatch_put_cf(wb, s->cf[cf], k + TENANT_KEY_LEN, klen - TENANT_KEY_LEN, v,
                                  vlen);
        rocksdb_writebatch_delete_cf(wb, s->cf[cf], k, klen);
    }
    char *e = NULL;
    rocksdb_write(s->db, s->wo_sync, wb, &e);
    assert_null(e);
    rocksdb_writebatch_destroy(wb);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
}

/* Every key of |cf| belongs to the implicit tenant in the format-2 layout. */
static void all_tenant_keys(store *s, int cf)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_total_order_seek(ro, 1);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[cf]);
    size_t n = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it), n++) {
        size_t klen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        assert_true(klen > TENANT_KEY_LEN);
        assert_int_equal(be32_get(k), 0);
        assert_false(store_key_is_legacy(cf, k, klen));
    }
    assert_true(n > 0);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
}

static void test_move_to_format_2_resumes(void **state)
{
    (void)state;
    char *dir = th_tmpdir();
    store *s = th_open(dir);
    uint64_t t0 = 1700000000ull * NS_PER_SEC;
    th_now_ns = t0;
    tspan sp[2];
    shop_trace(sp, t0, 0x51, "k", "v");
    write_trace(s, 0, sp, 2, 1700000000);
    uint32_t minute = (uint32_t)(t0 / (60 * NS_PER_SEC));
    store_edge e = {.client = "shop", .server = "pay", .calls = 2};
    assert_int_equal(store_add_graph(store_view_of(s, 0), minute, &e, 1, NULL, 0), OTTR_OK);
    static const int families[] = {CF_TRACES, CF_SUMMARIES, CF_INDEX, CF_TAGS, CF_EDGES};
    for (size_t i = 0; i < 5; i++)
        half_legacy(s, families[i]);
    char *err = NULL;
    rocksdb_put_cf(s->db, s->wo_sync, s->cf[CF_META], STORE_FORMAT_KEY, strlen(STORE_FORMAT_KEY),
                   STORE_FORMAT_V1, strlen(STORE_FORMAT_V1), &err);
    assert_null(err);
    store_close(s);

    s = th_open(dir);
    for (size_t i = 0; i < 5; i++)
        all_tenant_keys(s, families[i]);
    store_view v = store_view_of(s, 0);
    ottr_buf out = {0};
    store_trace_summary sum;
    assert_int_equal(store_get_trace(v, sp[0].tid, &out, &sum), OTTR_OK);
    assert_int_equal(th_count_spans(&out), 2);
    assert_int_equal(sum.span_count, 2);
    store_search_query q = {.service = "pay", .span_name = "charge"};
    int n = 0;
    assert_int_equal(store_search(v, &q, count_sum, &n, NULL), OTTR_OK);
    assert_int_equal(n, 1);
    ottr_buf_reset(&out);
    assert_int_equal(store_tag_values(v, STORE_SCOPE_SPAN, "k", 10, add_str, &out), OTTR_OK);
    assert_string_equal(out.data, "v\n");
    ottr_buf_reset(&out);
    assert_int_equal(store_graph(v, minute - 1, minute + 1, edge_str, NULL, &out), OTTR_OK);
    assert_string_equal(out.data, "shop>pay\n");
    ottr_buf_free(&out);
    store_close(s);
    /* Format 2 now: a third open moves nothing. */
    s = th_open(dir);
    assert_false(s->legacy);
    store_close(s);
    th_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_layouts),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_isolation),
        cmocka_unit_test(test_move_to_format_2_resumes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
