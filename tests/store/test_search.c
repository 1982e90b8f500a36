/* tests/store/test_search.c - search through the index (service, service+name,
 * name, attributes, time window, duration, order, early stop) and discovery
 * (tag names and values, services, operations). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/store/helpers.h"

#define SEC     1000000000ull
#define MS      1000000ull
#define NTRACES 10

typedef struct results {
    store_trace_summary s[64];
    int n;
    int limit; /* stop after this many (0 = never) */
} results;

static int collect(void *ctx, const store_trace_summary *sum)
{
    results *r = ctx;
    assert_true(r->n < 64);
    r->s[r->n++] = *sum;
    return r->limit && r->n >= r->limit;
}

static store *g_store;
static char *g_dir;

/* Trace i (tid byte i+1): starts at second 2000+i, lasts (i+1)*10 ms; even i are
 * service "api" (GET, status 200, env=prod), odd are "web" (POST, 500, env=dev).
 * Trace 10 shares second 2009 with trace 9 but starts 300 ms later. */
static int setup(void **state)
{
    (void)state;
    g_dir = th_tmpdir();
    g_store = th_open(g_dir);
    for (int i = 0; i <= NTRACES; i++) {
        int k = i < NTRACES ? i : 9;
        bool even = k % 2 == 0;
        tspan sp = {.service = even ? "api" : "web",
                    .span_id = 1,
                    .name = even ? "GET" : "POST",
                    .kind = even ? 2 : 5,
                    .start_ns = (2000 + (uint64_t)k) * SEC + (i == NTRACES ? 300 * MS : 0),
                    .int_key = "http.status_code",
                    .int_val = even ? 200 : 500,
                    .res_key = "env",
                    .res_val = even ? "prod" : "dev"};
        sp.end_ns = sp.start_ns + ((uint64_t)k + 1) * 10 * MS;
        th_tid(sp.tid, (uint8_t)(i + 1));
        /* A second span per trace, from a shared downstream service. */
        tspan db = {.service = "db",
                    .span_id = 2,
                    .parent_id = 1,
                    .name = "query",
                    .kind = 3,
                    .start_ns = sp.start_ns + MS,
                    .end_ns = sp.start_ns + 2 * MS,
                    .attr_key = "db.system",
                    .attr_val = "postgresql",
                    .int_key = "balance",
                    .int_val = even ? -42 : INT64_MIN};
        memcpy(db.tid, sp.tid, 16);
        tspan both[2] = {sp, db};
        uint32_t arrival = 3000 + (uint32_t)i;
        store_pending_ref ref = th_append(g_store, both, 2, arrival);
        assert_int_equal(store_keep_trace(g_store, 0, sp.tid, &ref, 1), OTTR_OK);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(g_store);
    th_rmdir(g_dir);
    return 0;
}

static results run(store_search_query *q, int limit)
{
    results r = {.limit = limit};
    store_search_stats st;
    assert_int_equal(store_search(store_view_of(g_store, 0), q, collect, &r, &st), OTTR_OK);
    assert_true(st.inspected_traces >= (uint64_t)r.n);
    if (r.n)
        assert_true(st.inspected_bytes > 0);
    return r;
}

static void assert_newest_first(const results *r)
{
    for (int i = 1; i < r->n; i++)
        assert_true(r->s[i - 1].start_ns >= r->s[i].start_ns);
}

static void test_by_service(void **state)
{
    (void)state;
    store_search_query q = {.service = "api"};
    results r = run(&q, 0);
    assert_int_equal(r.n, 5);
    assert_newest_first(&r);
    assert_int_equal(r.s[0].start_ns, 2008 * SEC);
    for (int i = 0; i < r.n; i++)
        assert_string_equal(r.s[i].root_service, "api");
    q.service = "db"; /* a service of a non-root span */
    assert_int_equal(run(&q, 0).n, NTRACES + 1);
    q.service = "nope";
    assert_int_equal(run(&q, 0).n, 0);
}

static void test_by_service_and_name(void **state)
{
    (void)state;
    store_search_query q = {.service = "web", .span_name = "POST"};
    results r = run(&q, 0);
    assert_int_equal(r.n, 6);
    assert_newest_first(&r);
    /* Trace 10 and 9 share a second: the later start comes first. */
    assert_int_equal(r.s[0].start_ns, 2009 * SEC + 300 * MS);
    assert_int_equal(r.s[1].start_ns, 2009 * SEC);
    q.span_name = "GET";
    assert_int_equal(run(&q, 0).n, 0);
    store_search_query byname = {.span_name = "query"};
    assert_int_equal(run(&byname, 0).n, NTRACES + 1);
    store_search_query svcname = {.service = "db", .span_name = "query"};
    assert_int_equal(run(&svcname, 0).n, NTRACES + 1);
}

static void test_by_attributes(void **state)
{
    (void)state;
    store_kv a1[] = {{"http.status_code", "500"}};
    store_search_query q = {.attrs = a1, .nattrs = 1};
    results r = run(&q, 0);
    assert_int_equal(r.n, 6);
    assert_newest_first(&r);
    store_kv a2[] = {{"env", "prod"}}; /* a resource attribute */
    q.attrs = a2;
    assert_int_equal(run(&q, 0).n, 5);
    store_kv a3[] = {{"env", "prod"}, {"http.status_code", "500"}};
    q.attrs = a3;
    q.nattrs = 2;
    assert_int_equal(run(&q, 0).n, 0);
    store_kv a4[] = {{"db.system", "postgresql"}, {"env", "dev"}};
    q.attrs = a4;
    assert_int_equal(run(&q, 0).n, 6);
    /* Integers as their decimal text, negative ones and the smallest too. */
    store_kv neg[] = {{"balance", "-42"}};
    q.attrs = neg;
    q.nattrs = 1;
    assert_int_equal(run(&q, 0).n, 5);
    store_kv min[] = {{"balance", "-9223372036854775808"}};
    q.attrs = min;
    assert_int_equal(run(&q, 0).n, 6);
    /* Attribute plus service. */
    store_search_query q2 = {.service = "api", .attrs = a4, .nattrs = 1};
    assert_int_equal(run(&q2, 0).n, 5);
    q2.service = "web";
    q2.span_name = "GET";
    assert_int_equal(run(&q2, 0).n, 0);
    /* service.name is searched as the service. */
    store_kv a6[] = {{"service.name", "db"}, {"env", "prod"}};
    store_search_query q4 = {.attrs = a6, .nattrs = 2};
    assert_int_equal(run(&q4, 0).n, 5);
    /* Values never indexed (too long) match nothing. */
    char longv[300];
    memset(longv, 'v', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    store_kv a5[] = {{"env", longv}};
    store_search_query q3 = {.attrs = a5, .nattrs = 1};
    assert_int_equal(run(&q3, 0).n, 0);
}

static void test_time_window(void **state)
{
    (void)state;
    store_search_query q = {.start_ns = 2003 * SEC, .end_ns = 2006 * SEC};
    results r = run(&q, 0);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.s[0].start_ns, 2006 * SEC);
    assert_int_equal(r.s[3].start_ns, 2003 * SEC);
    /* Bounds inside a second are exact. */
    q.start_ns = 2009 * SEC + 1;
    q.end_ns = 2009 * SEC + 500 * MS;
    r = run(&q, 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.s[0].start_ns, 2009 * SEC + 300 * MS);
    /* Open ends. */
    store_search_query after = {.service = "api", .start_ns = 2005 * SEC};
    assert_int_equal(run(&after, 0).n, 2);
    store_search_query before = {.service = "api", .end_ns = 2004 * SEC};
    assert_int_equal(run(&before, 0).n, 3);
    store_search_query none = {.start_ns = 3000 * SEC, .end_ns = 2000 * SEC};
    assert_int_equal(run(&none, 0).n, 0);
}

static void test_duration(void **state)
{
    (void)state;
    store_search_query q = {.min_duration_ns = 50 * MS};
    assert_int_equal(run(&q, 0).n, 7); /* traces 4..9 and 10 */
    q.max_duration_ns = 70 * MS;
    assert_int_equal(run(&q, 0).n, 3); /* 50, 60, 70 ms */
    store_search_query q2 = {.service = "web", .max_duration_ns = 40 * MS};
    assert_int_equal(run(&q2, 0).n, 2); /* 20, 40 ms */
}

static void test_limit_by_callback(void **state)
{
    (void)state;
    store_search_query q = {0};
    results r = run(&q, 3);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.s[0].start_ns, 2009 * SEC + 300 * MS);
    assert_int_equal(r.s[1].start_ns, 2009 * SEC);
    assert_int_equal(r.s[2].start_ns, 2008 * SEC);
    results all = run(&q, 0);
    assert_int_equal(all.n, NTRACES + 1);
    assert_newest_first(&all);
}

typedef struct strs {
    char v[32][64];
    int n;
    int limit;
} strs;

static int str_cb(void *ctx, const char *s)
{
    strs *c = ctx;
    assert_true(c->n < 32);
    snprintf(c->v[c->n++], 64, "%s", s);
    return c->limit && c->n >= c->limit;
}

static bool has(const strs *c, const char *s)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->v[i], s) == 0)
            return true;
    return false;
}

static void test_tags(void **state)
{
    (void)state;
    strs names = {0};
    assert_int_equal(store_tag_names(store_view_of(g_store, 0), STORE_SCOPE_SPAN, str_cb, &names),
                     OTTR_OK);
    assert_int_equal(names.n, 3);
    assert_string_equal(names.v[0], "balance");
    assert_string_equal(names.v[1], "db.system");
    assert_string_equal(names.v[2], "http.status_code");
    strs rnames = {0};
    assert_int_equal(
        store_tag_names(store_view_of(g_store, 0), STORE_SCOPE_RESOURCE, str_cb, &rnames), OTTR_OK);
    assert_int_equal(rnames.n, 2);
    assert_true(has(&rnames, "env"));
    assert_true(has(&rnames, "service.name"));

    /* Trace 10 (web, dev) arrived last: dev is the most recent value. */
    strs vals = {0};
    assert_int_equal(
        store_tag_values(store_view_of(g_store, 0), STORE_SCOPE_RESOURCE, "env", 10, str_cb, &vals),
        OTTR_OK);
    assert_int_equal(vals.n, 2);
    assert_string_equal(vals.v[0], "dev");
    assert_string_equal(vals.v[1], "prod");
    strs one = {0};
    assert_int_equal(
        store_tag_values(store_view_of(g_store, 0), STORE_SCOPE_RESOURCE, "env", 1, str_cb, &one),
        OTTR_OK);
    assert_int_equal(one.n, 1);
    assert_string_equal(one.v[0], "dev");
    strs codes = {0};
    assert_int_equal(store_tag_values(store_view_of(g_store, 0), STORE_SCOPE_SPAN,
                                      "http.status_code", 0, str_cb, &codes),
                     OTTR_OK);
    assert_int_equal(codes.n, 2);
    assert_string_equal(codes.v[0], "500");
    strs none = {0};
    assert_int_equal(
        store_tag_values(store_view_of(g_store, 0), STORE_SCOPE_SPAN, "env", 0, str_cb, &none),
        OTTR_OK);
    assert_int_equal(none.n, 0);
    /* Early stop. */
    strs stop = {.limit = 1};
    assert_int_equal(store_tag_names(store_view_of(g_store, 0), STORE_SCOPE_SPAN, str_cb, &stop),
                     OTTR_OK);
    assert_int_equal(stop.n, 1);
}

typedef struct ops {
    char name[8][32];
    int kind[8];
    int n;
} ops;

static int op_cb(void *ctx, const char *name, int kind)
{
    ops *o = ctx;
    assert_true(o->n < 8);
    snprintf(o->name[o->n], 32, "%s", name);
    o->kind[o->n++] = kind;
    return 0;
}

static void test_services_operations(void **state)
{
    (void)state;
    strs svcs = {0};
    assert_int_equal(store_services(store_view_of(g_store, 0), str_cb, &svcs), OTTR_OK);
    assert_int_equal(svcs.n, 3);
    assert_string_equal(svcs.v[0], "api");
    assert_string_equal(svcs.v[1], "db");
    assert_string_equal(svcs.v[2], "web");
    ops o = {0};
    assert_int_equal(store_operations(store_view_of(g_store, 0), "web", op_cb, &o), OTTR_OK);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.name[0], "POST");
    assert_int_equal(o.kind[0], 5);
    ops d = {0};
    assert_int_equal(store_operations(store_view_of(g_store, 0), "db", op_cb, &d), OTTR_OK);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.name[0], "query");
    assert_int_equal(d.kind[0], 3);
    ops none = {0};
    assert_int_equal(store_operations(store_view_of(g_store, 0), "ap", op_cb, &none), OTTR_OK);
    assert_int_equal(none.n, 0);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_service),    cmocka_unit_test(test_by_service_and_name),
        cmocka_unit_test(test_by_attributes), cmocka_unit_test(test_time_window),
        cmocka_unit_test(test_duration),      cmocka_unit_test(test_limit_by_callback),
        cmocka_unit_test(test_tags),          cmocka_unit_test(test_services_operations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
