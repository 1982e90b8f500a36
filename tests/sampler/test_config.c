/* tests/sampler/test_config.c - policies pasted from the OpenTelemetry
 * Collector are accepted; mistakes are reported naming the policy, the field
 * and the line; options with a zero limit are refused. */
#include "helpers.h"

static int check(const char *text, char *err, size_t errlen)
{
    ottr_yaml_node *root = NULL;
    const ottr_yaml_node *p = h_policies(text, &root);
    err[0] = '\0';
    int rc = sampler_check_policies(p, err, errlen);
    ottr_yaml_free(root);
    return rc;
}

static void expect_ok(const char *text)
{
    char err[512];
    if (check(text, err, sizeof(err)) != 0)
        fail_msg("rejected: %s", err);
}

static void expect_err(const char *text, const char *want)
{
    char err[512];
    if (check(text, err, sizeof(err)) == 0)
        fail_msg("accepted, wanted error containing: %s", want);
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_collector_config_accepted(void **state)
{
    (void)state;
    /* Every policy type, in the collector's block and flow styles. */
    expect_ok(H_EVERY_POLICY);
    /* No policies at all: keep everything. */
    char err[256];
    assert_int_equal(sampler_check_policies(NULL, err, sizeof(err)), 0);
    expect_ok("  []\n");
}

static void test_errors_name_policy_field_line(void **state)
{
    (void)state;
    expect_err("  - name: all\n"
               "    type: always_sample\n"
               "  - name: errors\n"
               "    type: status_code\n"
               "    status_code:\n"
               "      status_codes: [EROR]\n",
               "sampling.policies[1] (errors): status_code.status_codes: unknown status code "
               "\"EROR\"");
    expect_err("  - name: all\n"
               "    type: always_sample\n"
               "  - name: errors\n"
               "    type: status_code\n"
               "    status_code:\n"
               "      status_codes: [EROR]\n",
               "(line 7)");
    expect_err("  - {name: x, type: latensy}\n",
               "sampling.policies[0] (x): type: unknown policy type \"latensy\" (line 2)");
    expect_err("  - {name: x, type: latency, latency: {treshold_ms: 5}}\n",
               "sampling.policies[0] (x): latency.treshold_ms: unknown field");
    expect_err("  - {name: x, type: latency, latency: {threshold_ms: fast}}\n",
               "sampling.policies[0] (x): latency.threshold_ms: not an integer: \"fast\"");
    expect_err("  - {name: x, type: latency, latency: {}}\n", "latency.threshold_ms: missing");
    expect_err("  - {name: x, type: latency}\n", "sampling.policies[0] (x): missing \"latency\"");
    expect_err("  - {name: x, type: always_sample, sampling: 3}\n",
               "sampling.policies[0] (x): unknown field \"sampling\" for a always_sample policy");
    expect_err("  - {type: always_sample}\n", "sampling.policies[0]: name: missing");
    expect_err("  - {name: x}\n", "sampling.policies[0] (x): type: missing");
    expect_err("  - {name: x, type: always_sample}\n  - {name: x, type: always_sample}\n",
               "sampling.policies[1] (x): name: duplicate policy name \"x\"");
    expect_err("  - {name: p, type: probabilistic, probabilistic: {sampling_percentage: 150}}\n",
               "probabilistic.sampling_percentage: must be between 0 and 100");
    expect_err("  - {name: s, type: string_attribute, string_attribute: {key: k, values: ['(a'], "
               "enabled_regex_matching: true}}\n",
               "sampling.policies[0] (s): string_attribute.values: bad regular expression \"(a\"");
    expect_err("  - {name: s, type: string_attribute, string_attribute: {key: k}}\n",
               "string_attribute.values: needs at least one value");
    expect_err(
        "  - {name: b, type: boolean_attribute, boolean_attribute: {key: k, value: maybe}}\n",
        "boolean_attribute.value: not a boolean: \"maybe\"");
    expect_err("  - {name: n, type: numeric_attribute, numeric_attribute: {key: k, min_value: 9, "
               "max_value: 1}}\n",
               "numeric_attribute.max_value: must not be less than min_value");
    expect_err("  - {name: r, type: rate_limiting, rate_limiting: {spans_per_second: 0}}\n",
               "rate_limiting.spans_per_second: must be positive");
    expect_err("  - {name: c, type: span_count, span_count: {min_spans: 5, max_spans: 2}}\n",
               "span_count.max_spans: must be 0 (none) or at least min_spans");
    expect_err("  name: x\n", "sampling.policies: must be a list of policies");
    expect_err("  - just-a-string\n", "sampling.policies[0]: must be a map with name and type");
}

static void test_nested_errors(void **state)
{
    (void)state;
    expect_err("  - name: a\n"
               "    type: and\n"
               "    and:\n"
               "      and_sub_policy:\n"
               "        - {name: ok, type: always_sample}\n"
               "        - {name: bad, type: status_code, status_code: {status_codes: [NOPE]}}\n",
               "sampling.policies[0] (a): and.and_sub_policy[1] (bad): status_code.status_codes: "
               "unknown status code \"NOPE\" (want OK, ERROR or UNSET) (line 7)");
    expect_err("  - {name: a, type: and, and: {and_sub_policy: [{name: c, type: and, and: {}}]}}\n",
               "and.and_sub_policy[0] (c): type: \"and\" is not allowed inside and");
    expect_err("  - {name: a, type: and, and: {and_sub_policy: []}}\n",
               "sampling.policies[0] (a): and.and_sub_policy: needs at least one sub-policy");
    expect_err("  - {name: d, type: drop, drop: {drop_sub_policy: [{name: x, type: composite}]}}\n",
               "\"composite\" is not allowed inside drop");
    const char *comp_head = "  - name: c\n"
                            "    type: composite\n"
                            "    composite:\n"
                            "      max_total_spans_per_second: 100\n"
                            "      composite_sub_policy:\n"
                            "        - {name: a, type: always_sample}\n"
                            "        - {name: b, type: always_sample}\n";
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s      policy_order: [a, z]\n", comp_head);
    expect_err(buf, "composite.policy_order: \"z\" is not in composite_sub_policy");
    snprintf(buf, sizeof(buf),
             "%s      rate_allocation: [{policy: a, percent: 70}, {policy: b, "
             "percent: 40}]\n",
             comp_head);
    expect_err(buf, "composite.rate_allocation: percents add up to 110 (over 100)");
    snprintf(buf, sizeof(buf), "%s      rate_allocation: [{policy: q, percent: 10}]\n", comp_head);
    expect_err(buf, "composite.rate_allocation[0]: policy \"q\" is not in composite_sub_policy");
    snprintf(buf, sizeof(buf), "%s      rate_allocation: [{policy: a, pct: 10}]\n", comp_head);
    expect_err(buf, "composite.rate_allocation[0]: unknown field \"pct\"");
    snprintf(buf, sizeof(buf), "%s        - {name: a, type: always_sample}\n", comp_head);
    expect_err(buf, "composite.composite_sub_policy: duplicate sub-policy name \"a\"");
    expect_err("  - name: c\n    type: composite\n    composite:\n"
               "      composite_sub_policy: [{name: a, type: always_sample}]\n",
               "composite.max_total_spans_per_second: missing");
}

static void test_too_many_span_policies(void **state)
{
    (void)state;
    ottr_buf b = {0};
    for (int i = 0; i < 65; i++)
        ottr_buf_printf(&b,
                        "  - {name: p%d, type: status_code, status_code: {status_codes: "
                        "[ERROR]}}\n",
                        i);
    expect_err(b.data, "sampling.policies[64] (p64): too many attribute");
    ottr_buf_free(&b);
}

static void test_create_rejects_bad_policies(void **state)
{
    (void)state;
    ottr_yaml_node *root = NULL;
    sampler_options o = {.manual_tick = true};
    h_limits(&o);
    o.policies = h_policies("  - {name: x, type: nope}\n", &root);
    sampler *s = NULL;
    char err[512];
    assert_int_equal(sampler_create(&o, NULL, &s, err, sizeof(err)), OTTR_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err, "unknown policy type \"nope\""));
    ottr_yaml_free(root);
}

static void test_create_rejects_zero_limits(void **state)
{
    (void)state;
    sampler_options o = {.manual_tick = true};
    h_limits(&o);
    o.decision_cache_size = 0;
    sampler *s = NULL;
    char err[512];
    assert_int_equal(sampler_create(&o, NULL, &s, err, sizeof(err)), OTTR_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err, "is 0"));
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collector_config_accepted),
        cmocka_unit_test(test_errors_name_policy_field_line),
        cmocka_unit_test(test_nested_errors),
        cmocka_unit_test(test_too_many_span_policies),
        cmocka_unit_test(test_create_rejects_bad_policies),
        cmocka_unit_test(test_create_rejects_zero_limits),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ottr_metrics_shutdown();
    return rc;
}
