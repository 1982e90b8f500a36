/* tests/sampler/test_tenants.c - the sampler keeps tenants apart: one trace ID
 * sent by two tenants is two buffered traces, decided and kept each in its own
 * tenant, also after a crash and replay; a tenant over its span rate or its
 * buffered traces is refused (OTTR_ERR_LIMIT) while another is served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/sampler/helpers.h"

static ottr_status submit_as(fx *f, uint32_t tenant, const tspan *spans, size_t n)
{
    otlp_batch b;
    ottr_arena_reset(&f->arena);
    h_batch(&f->arena, spans, n, &b);
    b.tenant = tenant;
    return sampler_submit(f->s, &b);
}

static uint32_t kept_spans_of(fx *f, uint32_t tenant, uint64_t n)
{
    uint8_t tid[16];
    id16(n, tid);
    store_trace_summary sum;
    if (store_get_summary(store_view_of(f->st, tenant), tid, &sum) != OTTR_OK)
        return 0;
    return sum.span_count;
}

static void test_same_trace_two_tenants(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, NULL, NULL);
    uint32_t a, b;
    assert_int_equal(store_tenant_id(f.st, "acme", 4, true, &a), OTTR_OK);
    assert_int_equal(store_tenant_id(f.st, "globex", 6, true, &b), OTTR_OK);
    tspan two[2] = {{.trace = 7, .span = 1, .service = "shop"},
                    {.trace = 7, .span = 2, .parent = 1, .service = "shop"}};
    tspan one[1] = {{.trace = 7, .span = 1, .service = "bank"}};
    assert_int_equal(submit_as(&f, a, two, 2), OTTR_OK);
    assert_int_equal(submit_as(&f, b, one, 1), OTTR_OK);
    assert_int_equal(fx_stats(&f).traces_buffered, 2);
    g_now += SEC(3);
    sampler_tick(f.s);
    assert_int_equal(kept_spans_of(&f, a, 7), 2);
    assert_int_equal(kept_spans_of(&f, b, 7), 1);
    assert_int_equal(kept_spans_of(&f, 0, 7), 0);

    /* Undecided traces of both tenants survive a crash, each in its own. */
    tspan c[1] = {{.trace = 8, .span = 2, .parent = 1, .service = "shop"}};
    tspan d[2] = {{.trace = 8, .span = 2, .parent = 1, .service = "bank"},
                  {.trace = 8, .span = 3, .parent = 1, .service = "bank"}};
    assert_int_equal(submit_as(&f, a, c, 1), OTTR_OK);
    assert_int_equal(submit_as(&f, b, d, 2), OTTR_OK);
    fx_restart(&f, false);
    assert_int_equal(fx_stats(&f).traces_buffered, 2);
    g_now += SEC(60);
    sampler_tick(f.s);
    assert_int_equal(kept_spans_of(&f, a, 8), 1);
    assert_int_equal(kept_spans_of(&f, b, 8), 2);
    fx_close(&f);
}

static void test_tenant_limits(void **state)
{
    (void)state;
    fx f;
    sampler_tenant_override ov[1] = {
        {.name = "tiny", .limits = {.rate_spans = 2, .burst_spans = 3}}};
    sampler_options o = {.tenant_limits = {.max_traces = 2}, .overrides = ov, .noverrides = 1};
    fx_open(&f, NULL, &o);
    uint32_t tiny, big;
    assert_int_equal(store_tenant_id(f.st, "tiny", 4, true, &tiny), OTTR_OK);
    assert_int_equal(store_tenant_id(f.st, "big", 3, true, &big), OTTR_OK);
    tspan s1[2] = {{.trace = 1, .span = 2, .parent = 1}, {.trace = 1, .span = 3, .parent = 1}};
    assert_int_equal(submit_as(&f, tiny, s1, 2), OTTR_OK);
    /* 1 token left of the burst of 3: two more spans at once are refused. */
    assert_int_equal(submit_as(&f, tiny, s1, 2), OTTR_ERR_LIMIT);
    /* Another tenant is served; its own limit is the defaults' 2 traces. */
    tspan t1[1] = {{.trace = 10, .span = 2, .parent = 1}};
    tspan t2[1] = {{.trace = 11, .span = 2, .parent = 1}};
    tspan t3[1] = {{.trace = 12, .span = 2, .parent = 1}};
    assert_int_equal(submit_as(&f, big, t1, 1), OTTR_OK);
    assert_int_equal(submit_as(&f, big, t2, 1), OTTR_OK);
    assert_int_equal(submit_as(&f, big, t3, 1), OTTR_ERR_LIMIT);
    /* A trace in progress is still taken. */
    tspan t1b[1] = {{.trace = 10, .span = 3, .parent = 1}};
    assert_int_equal(submit_as(&f, big, t1b, 1), OTTR_OK);
    char *m = h_metrics();
    assert_true(h_metric(m, "ottr_tenant_limited_spans_total{reason=\"rate\"}") >= 2);
    assert_true(h_metric(m, "ottr_tenant_limited_spans_total{reason=\"traces\"}") >= 1);
    free(m);
    fx_close(&f);
}

static void test_tenant_policies(void **state)
{
    (void)state;
    fx f;
    /* Globally every trace is kept; "strict" keeps only traces with an error. */
    ottr_yaml_node *root = NULL;
    const ottr_yaml_node *errors = h_policies(
        "- name: errors\n  type: status_code\n  status_code: {status_codes: [ERROR]}\n", &root);
    sampler_tenant_override ov[1] = {{.name = "strict", .policies = errors}};
    sampler_options o = {.overrides = ov, .noverrides = 1};
    fx_open(&f, NULL, &o);
    uint32_t strict, lax;
    assert_int_equal(store_tenant_id(f.st, "strict", 6, true, &strict), OTTR_OK);
    assert_int_equal(store_tenant_id(f.st, "lax", 3, true, &lax), OTTR_OK);
    tspan ok[1] = {{.trace = 1, .span = 1}};
    tspan bad[1] = {{.trace = 2, .span = 1, .status = STATUS_ERROR}};
    assert_int_equal(submit_as(&f, strict, ok, 1), OTTR_OK);
    assert_int_equal(submit_as(&f, strict, bad, 1), OTTR_OK);
    assert_int_equal(submit_as(&f, lax, ok, 1), OTTR_OK);
    /* A reload of the global list leaves the tenant's own policies alone. */
    char err[256];
    assert_int_equal(sampler_reload(f.s, NULL, err, sizeof(err)), 0);
    g_now += SEC(3);
    sampler_tick(f.s);
    assert_int_equal(kept_spans_of(&f, strict, 1), 0);
    assert_int_equal(kept_spans_of(&f, strict, 2), 1);
    assert_int_equal(kept_spans_of(&f, lax, 1), 1);
    fx_close(&f);
    ottr_yaml_free(root);

    /* A tenant's policies that do not parse stop the sampler's creation. */
    const ottr_yaml_node *broken = h_policies("- name: x\n  type: nonsense\n", &root);
    ov[0].policies = broken;
    fx g;
    memset(&g, 0, sizeof(g));
    snprintf(g.dir, sizeof(g.dir), "/tmp/ottr-sampler-test-XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    fx_store_open(&g);
    sampler_options so = o;
    h_limits(&so);
    so.manual_tick = true;
    sampler *s = NULL;
    assert_int_equal(sampler_create(&so, g.st, &s, err, sizeof(err)), OTTR_ERR_INVALID);
    assert_non_null(strstr(err, "overrides.per_tenant.strict.sampling.policies"));
    store_close(g.st);
    nftw(g.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    ottr_yaml_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_trace_two_tenants),
        cmocka_unit_test(test_tenant_limits),
        cmocka_unit_test(test_tenant_policies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
