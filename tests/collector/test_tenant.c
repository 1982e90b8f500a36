/* tests/collector/test_tenant.c - which tenant a request belongs to: Tempo's
 * tenant ID rule, and the one resolution every receiver and route uses (tenancy
 * off: the implicit tenant whatever the header; on: the header, or the tenant a
 * credential is bound to, a bound credential never reaching another tenant),
 * with the HTTP status and gRPC code of each refusal; overrides.per_tenant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector/collector.h"

static void test_valid_ids(void **state)
{
    (void)state;
    static const char *const good[] = {"a", "team-a", "Team_A.1", "x!y*z'(w)", "0"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(collector_tenant_valid(good[i], strlen(good[i])));
    static const char *const bad[] = {"",  ".",    "..",  "a b", "a|b", "a/b",
                                      "é", "a\nb", "a:b", "a,b", "a\"b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(collector_tenant_valid(bad[i], strlen(bad[i])));
    char longest[151];
    memset(longest, 'a', sizeof(longest));
    assert_true(collector_tenant_valid(longest, 150));
    assert_false(collector_tenant_valid(longest, 151));
    assert_false(collector_tenant_valid("a\0b", 3));
}

typedef struct fixture {
    char dir[64];
    store *st;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/ottr-tenant-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    store_options o = {.path = f->dir,
                       .sync = STORE_SYNC_NONE,
                       .max_trace_bytes = 1 << 20,
                       .block_cache_bytes = 1 << 20,
                       .memtable_bytes = 1 << 22};
    char err[256];
    assert_int_equal(store_open(&o, &f->st, err, sizeof(err)), OTTR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static tenant_verdict resolve(const tenant_ctx *tc, const char *h, const char *bound, bool create,
                              uint32_t *id)
{
    char msg[160];
    return collector_tenant_resolve(tc, h, h ? strlen(h) : 0, bound, create, id, msg, sizeof(msg));
}

static void test_resolve_off(void **state)
{
    fixture *f = *state;
    tenant_ctx tc = {.st = f->st, .enabled = false};
    uint32_t id = 99;
    /* One implicit tenant; the header is ignored, even an invalid one. */
    assert_int_equal(resolve(&tc, NULL, NULL, true, &id), TENANT_OK);
    assert_int_equal(id, STORE_TENANT_DEFAULT);
    assert_int_equal(resolve(&tc, "acme", NULL, true, &id), TENANT_OK);
    assert_int_equal(id, STORE_TENANT_DEFAULT);
    assert_int_equal(resolve(&tc, "not valid", NULL, true, &id), TENANT_OK);
    assert_int_equal(id, STORE_TENANT_DEFAULT);
}

static void test_resolve_on(void **state)
{
    fixture *f = *state;
    tenant_ctx tc = {.st = f->st, .enabled = true};
    uint32_t acme, again, id;
    assert_int_equal(resolve(&tc, NULL, NULL, true, &id), TENANT_MISSING);
    assert_int_equal(resolve(&tc, "", NULL, true, &id), TENANT_MISSING);
    assert_int_equal(resolve(&tc, "a b", NULL, true, &id), TENANT_INVALID);
    assert_int_equal(resolve(&tc, "a|b", NULL, false, &id), TENANT_INVALID);
    /* A query for a tenant never written finds nothing and registers nothing. */
    assert_int_equal(resolve(&tc, "acme", NULL, false, &id), TENANT_OK);
    assert_int_equal(id, STORE_TENANT_NONE);
    assert_int_equal(resolve(&tc, "acme", NULL, true, &acme), TENANT_OK);
    assert_int_not_equal(acme, STORE_TENANT_DEFAULT);
    assert_int_not_equal(acme, STORE_TENANT_NONE);
    assert_int_equal(resolve(&tc, "acme", NULL, false, &again), TENANT_OK);
    assert_int_equal(again, acme);
    assert_int_equal(resolve(&tc, "single-tenant", NULL, false, &id), TENANT_OK);
    assert_int_equal(id, STORE_TENANT_DEFAULT);

    /* A credential bound to a tenant: its tenant without a header, the same
     * with a header naming it, refused with a header naming another. */
    assert_int_equal(resolve(&tc, NULL, "acme", true, &id), TENANT_OK);
    assert_int_equal(id, acme);
    assert_int_equal(resolve(&tc, "acme", "acme", true, &id), TENANT_OK);
    assert_int_equal(id, acme);
    assert_int_equal(resolve(&tc, "globex", "acme", true, &id), TENANT_FORBIDDEN);
    assert_int_equal(resolve(&tc, "acme2", "acme", true, &id), TENANT_FORBIDDEN);

    assert_int_equal(collector_tenant_http_status(TENANT_MISSING), 401);
    assert_int_equal(collector_tenant_http_status(TENANT_INVALID), 400);
    assert_int_equal(collector_tenant_http_status(TENANT_FORBIDDEN), 403);
    assert_int_equal(collector_tenant_http_status(TENANT_FAILED), 503);
    assert_int_equal(collector_tenant_grpc_code(TENANT_MISSING), 16);
    assert_int_equal(collector_tenant_grpc_code(TENANT_INVALID), 3);
    assert_int_equal(collector_tenant_grpc_code(TENANT_FORBIDDEN), 7);
    assert_int_equal(collector_tenant_grpc_code(TENANT_FAILED), 14);
}

static void test_overrides(void **state)
{
    (void)state;
    ottr_config c;
    char err[512];
    assert_int_equal(collector_config_init(&c), 0);
    assert_int_equal(c.multitenancy, 0);
    assert_int_equal(
        collector_config_load_string(&c,
                                     "multitenancy_enabled: true\n"
                                     "overrides:\n"
                                     "  defaults:\n"
                                     "    ingestion:\n"
                                     "      rate_limit_spans: 100\n"
                                     "      max_traces_per_user: 7\n"
                                     "  per_tenant:\n"
                                     "    team-a:\n"
                                     "      ingestion: {rate_limit_spans: 5, burst_size_spans: 9}\n"
                                     "      global: {max_bytes_per_trace: 2KiB}\n"
                                     "      sampling:\n"
                                     "        policies: [{name: e, type: always_sample}]\n",
                                     err, sizeof(err)),
        0);
    assert_int_equal(c.multitenancy, 1);
    assert_int_equal(c.tenant_limits.rate_spans, 100);
    assert_int_equal(c.noverrides, 1);
    assert_string_equal(c.overrides[0].name, "team-a");
    assert_int_equal(c.overrides[0].limits.rate_spans, 5);
    assert_int_equal(c.overrides[0].limits.burst_spans, 9);
    assert_int_equal(c.overrides[0].limits.max_traces, 7); /* from the defaults */
    assert_int_equal(c.overrides[0].limits.max_bytes_per_trace, 2048);
    assert_non_null(c.overrides[0].policies);
    assert_int_equal(c.overrides[0].policies->type, OTTR_YAML_SEQ);
    sampler_options so;
    collector_config_to_sampler_options(&c, &so);
    assert_true(so.multitenant);
    assert_int_equal(so.noverrides, 1);
    collector_config_free(&c);

    static const char *const bad[] = {
        "overrides:\n  per_tenant:\n    team-a:\n      ingestion: {rate_limit: 5}\n",
        "overrides:\n  per_tenant:\n    team-a:\n      egress: {rate_limit_spans: 5}\n",
        "overrides:\n  per_tenant:\n    \"a b\":\n      ingestion: {rate_limit_spans: 5}\n",
        "overrides:\n  per_tenant:\n    t:\n      ingestion: {rate_limit_spans: lots}\n",
        "multitenancy_enabled: maybe\n",
        "overrides:\n  per_tenant:\n    t:\n      sampling: {policies: always}\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(collector_config_init(&c), 0);
        err[0] = '\0';
        assert_int_equal(collector_config_load_string(&c, bad[i], err, sizeof(err)), -1);
        assert_non_null(strstr(err, "<config>:"));
        collector_config_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_ids),
        cmocka_unit_test_setup_teardown(test_resolve_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_on, setup, teardown),
        cmocka_unit_test(test_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
