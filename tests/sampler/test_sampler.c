/* tests/sampler/test_sampler.c - when traces are decided, late spans, the
 * memory budget, crash replay, policy reload and the sampler's own metrics. */
#include "helpers.h"

static const char *ERRORS = "- name: errors\n  type: status_code\n  status_code: {status_codes: "
                            "[ERROR]}\n";

static void submit1(fx *f, tspan sp)
{
    assert_int_equal(fx_submit(f, &sp, 1), OTTR_OK);
}

static void test_decided_after_root_wait(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, NULL, NULL);
    submit1(&f, (tspan){.trace = 1, .span = 2, .parent = 1});
    g_now += MS(500);
    submit1(&f, (tspan){.trace = 1, .span = 1}); /* the root */
    g_now += MS(1500);
    submit1(&f, (tspan){.trace = 1, .span = 3, .parent = 1}); /* resets the wait */
    g_now += MS(1999);
    sampler_tick(f.s);
    assert_false(fx_kept(&f, 1));
    assert_int_equal(fx_stats(&f).traces_buffered, 1);
    g_now += MS(1);
    sampler_tick(f.s);
    assert_true(fx_kept(&f, 1));
    assert_int_equal(fx_kept_spans(&f, 1), 3);
    assert_int_equal(fx_stats(&f).traces_buffered, 0);
    assert_int_equal(fx_stats(&f).kept, 1);
    fx_close(&f);
}

static void test_decided_at_decision_wait(void **state)
{
    (void)state;
    sampler_options o = {.decision_wait_ns = SEC(10), .decision_wait_after_root_ns = SEC(2)};
    fx f;
    fx_open(&f, NULL, &o);
    /* Trace 1 never sends its root; trace 2 sends a root and keeps sending. */
    submit1(&f, (tspan){.trace = 1, .span = 2, .parent = 1});
    submit1(&f, (tspan){.trace = 2, .span = 1});
    for (int i = 1; i < 10; i++) {
        g_now += SEC(1);
        submit1(&f, (tspan){.trace = 2, .span = (uint64_t)(10 + i), .parent = 1});
        sampler_tick(f.s);
        assert_false(fx_kept(&f, 1));
        assert_false(fx_kept(&f, 2));
    }
    g_now += SEC(1); /* 10 s after the first spans */
    sampler_tick(f.s);
    assert_true(fx_kept(&f, 1));
    assert_true(fx_kept(&f, 2));
    assert_int_equal(fx_kept_spans(&f, 2), 10);
    fx_close(&f);
}

static void test_forced_by_size(void **state)
{
    (void)state;
    sampler_options o = {.max_spans_per_trace = 5};
    fx f;
    fx_open(&f, NULL, &o);
    tspan sp[6];
    memset(sp, 0, sizeof(sp));
    for (int i = 0; i < 6; i++) {
        sp[i].trace = 7;
        sp[i].span = (uint64_t)i + 2;
        sp[i].parent = 1;
    }
    assert_int_equal(fx_submit(&f, sp, 5), OTTR_OK);
    sampler_tick(f.s);
    assert_false(fx_kept(&f, 7)); /* 5 spans: not past the limit */
    assert_int_equal(fx_submit(&f, sp + 5, 1), OTTR_OK);
    sampler_tick(f.s); /* no time passed */
    assert_true(fx_kept(&f, 7));
    assert_int_equal(fx_kept_spans(&f, 7), 6);
    fx_close(&f);

    o = (sampler_options){.max_trace_bytes = 1000};
    fx_open(&f, NULL, &o);
    tspan big = {
        .trace = 8,
        .span = 2,
        .parent = 1,
        .attrs = {ASTR("blob", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")}};
    for (int i = 0; i < 20 && !fx_kept(&f, 8); i++) {
        big.span = (uint64_t)i + 2;
        submit1(&f, big);
        sampler_tick(f.s);
    }
    assert_true(fx_kept(&f, 8));
    fx_close(&f);
}

static void test_late_spans(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, ERRORS, NULL);
    char *m0 = h_metrics();
    double late_kept0 = h_metric(m0, "ottr_sampler_late_spans_total{decision=\"kept\"}");
    double late_dropped0 = h_metric(m0, "ottr_sampler_late_spans_total{decision=\"dropped\"}");
    free(m0);
    submit1(&f, (tspan){.trace = 1, .span = 1, .status = STATUS_ERROR});
    submit1(&f, (tspan){.trace = 2, .span = 1});
    g_now += SEC(3);
    sampler_tick(f.s);
    assert_true(fx_kept(&f, 1));
    assert_false(fx_kept(&f, 2));
    assert_int_equal(fx_kept_spans(&f, 1), 1);

    /* Late spans follow their trace's decision, whatever they carry. */
    g_now += SEC(5);
    submit1(&f, (tspan){.trace = 1, .span = 2, .parent = 1});
    submit1(&f, (tspan){.trace = 2, .span = 2, .parent = 1, .status = STATUS_ERROR});
    sampler_tick(f.s);
    assert_int_equal(fx_kept_spans(&f, 1), 2);
    assert_false(fx_kept(&f, 2));
    sampler_stats st = fx_stats(&f);
    assert_int_equal(st.late_spans, 2);
    assert_int_equal(st.traces_buffered, 0);
    char *m = h_metrics();
    assert_true(h_metric(m, "ottr_sampler_late_spans_total{decision=\"kept\"}") ==
                (late_kept0 < 0 ? 0 : late_kept0) + 1);
    assert_true(h_metric(m, "ottr_sampler_late_spans_total{decision=\"dropped\"}") ==
                (late_dropped0 < 0 ? 0 : late_dropped0) + 1);
    free(m);

    /* Much later, after pending was reclaimed, a late span is still stored. */
    g_now += SEC(60);
    sampler_tick(f.s);
    submit1(&f, (tspan){.trace = 1, .span = 3, .parent = 1});
    sampler_tick(f.s);
    assert_int_equal(fx_kept_spans(&f, 1), 3);
    fx_close(&f);
}

static void test_budget_pushes_back(void **state)
{
    (void)state;
    sampler_options o = {.max_buffered_traces = 3};
    fx f;
    fx_open(&f, NULL, &o);
    char *m0 = h_metrics();
    double bp0 = h_metric(m0, "ottr_sampler_backpressure_total");
    free(m0);
    for (uint64_t t = 1; t <= 3; t++)
        submit1(&f, (tspan){.trace = t, .span = 2, .parent = 1});
    tspan t4 = {.trace = 4, .span = 1};
    /* Asked before decoding: a new trace would be pushed back, a known one not. */
    uint8_t ids[2][16];
    id16(4, ids[0]);
    id16(1, ids[1]);
    assert_true(sampler_would_push_back(f.s, 0, (const uint8_t(*)[16])ids, 2));
    assert_false(sampler_would_push_back(f.s, 0, (const uint8_t(*)[16])ids + 1, 1));
    assert_int_equal(fx_submit(&f, &t4, 1), OTTR_ERR_BUSY);
    /* A batch mixing a known and a new trace is refused as a whole. */
    tspan mix[2] = {{.trace = 1, .span = 3, .parent = 1}, {.trace = 5, .span = 1}};
    assert_int_equal(fx_submit(&f, mix, 2), OTTR_ERR_BUSY);
    /* Traces in progress still complete. */
    for (uint64_t t = 1; t <= 3; t++)
        submit1(&f, (tspan){.trace = t, .span = 1});
    assert_int_equal(fx_stats(&f).traces_buffered, 3);
    char *m = h_metrics();
    assert_true(h_metric(m, "ottr_sampler_backpressure_total") == (bp0 < 0 ? 0 : bp0) + 3);
    free(m);
    /* Nothing was evicted: all three are decided and kept in full. */
    g_now += SEC(2);
    sampler_tick(f.s);
    for (uint64_t t = 1; t <= 3; t++)
        assert_int_equal(fx_kept_spans(&f, t), 2);
    /* Room again. */
    assert_false(sampler_would_push_back(f.s, 0, (const uint8_t(*)[16])ids, 1));
    assert_int_equal(fx_submit(&f, &t4, 1), OTTR_OK);
    fx_close(&f);

    /* The memory budget works the same way. */
    o = (sampler_options){.max_memory_bytes = 1};
    fx_open(&f, NULL, &o);
    submit1(&f, (tspan){.trace = 1, .span = 1}); /* nothing buffered: accepted */
    assert_int_equal(fx_submit(&f, &t4, 1), OTTR_ERR_BUSY);
    submit1(&f, (tspan){.trace = 1, .span = 2, .parent = 1});
    g_now += SEC(3);
    sampler_tick(f.s);
    assert_int_equal(fx_kept_spans(&f, 1), 2);
    assert_int_equal(fx_submit(&f, &t4, 1), OTTR_OK);
    fx_close(&f);
}

static void test_store_failure(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, NULL, NULL);
    store_inject_write_error(f.st, true);
    tspan sp = {.trace = 1, .span = 1};
    assert_int_equal(fx_submit(&f, &sp, 1), OTTR_ERR_IO);
    assert_int_equal(fx_stats(&f).traces_buffered, 0);
    store_inject_write_error(f.st, false);
    assert_int_equal(fx_submit(&f, &sp, 1), OTTR_OK);
    /* The copy to `traces` fails for a while: the kept trace waits, then lands. */
    store_inject_write_error(f.st, true);
    g_now += SEC(3);
    sampler_tick(f.s);
    store_inject_write_error(f.st, false);
    assert_false(fx_kept(&f, 1));
    g_now += SEC(1);
    sampler_tick(f.s);
    assert_true(fx_kept(&f, 1));
    fx_close(&f);
}

static void test_crash_replay(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, ERRORS, NULL);
    /* Trace 1 is decided (kept) before the crash, 2 and 3 are not. */
    submit1(&f, (tspan){.trace = 1, .span = 1, .status = STATUS_ERROR});
    g_now += SEC(3);
    sampler_tick(f.s);
    assert_true(fx_kept(&f, 1));
    g_now += SEC(1);
    submit1(&f, (tspan){.trace = 2, .span = 2, .parent = 1, .status = STATUS_ERROR});
    submit1(&f, (tspan){.trace = 3, .span = 2, .parent = 1});
    g_now += SEC(1);
    submit1(&f, (tspan){.trace = 2, .span = 3, .parent = 1});
    fx_restart(&f, false);
    assert_int_equal(fx_stats(&f).traces_buffered, 2);
    /* The replayed summaries carry what the policies saw. */
    submit1(&f, (tspan){.trace = 2, .span = 1});
    submit1(&f, (tspan){.trace = 3, .span = 1});
    g_now += SEC(3);
    sampler_tick(f.s);
    assert_int_equal(fx_kept_spans(&f, 2), 3);
    assert_false(fx_kept(&f, 3));
    assert_int_equal(fx_kept_spans(&f, 1), 1);
    fx_close(&f);
}

static void test_clean_restart_keeps_undecided(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, NULL, NULL);
    submit1(&f, (tspan){.trace = 1, .span = 2, .parent = 1});
    submit1(&f, (tspan){.trace = 2, .span = 1});
    g_now += SEC(2);
    fx_restart(&f, true); /* stop decides what is due: trace 2 */
    assert_true(fx_kept(&f, 2));
    assert_false(fx_kept(&f, 1));
    assert_int_equal(fx_stats(&f).traces_buffered, 1);
    g_now += SEC(30);
    sampler_tick(f.s);
    assert_true(fx_kept(&f, 1));
    /* Everything decided and copied: a restart finds nothing to replay. */
    fx_restart(&f, true);
    assert_int_equal(fx_stats(&f).traces_buffered, 0);
    fx_close(&f);
}

static void test_reload(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, ERRORS, NULL);
    submit1(&f, (tspan){.trace = 1, .span = 2, .parent = 1, .status = STATUS_ERROR});
    submit1(
        &f,
        (tspan){.trace = 2, .span = 2, .parent = 1, .attrs = {ASTR("http.route", "/checkout")}});
    /* A bad config is refused and changes nothing. */
    ottr_yaml_node *bad = NULL;
    char err[512];
    const ottr_yaml_node *bp = h_policies("- {name: x, type: status_code, status_code: "
                                          "{status_codes: [EROR]}}\n",
                                          &bad);
    assert_int_equal(sampler_reload(f.s, bp, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "sampling.policies[0] (x): status_code.status_codes"));
    ottr_yaml_free(bad);
    /* The new set keeps the errors policy (matches carried over) and adds a
     * route policy; buffered traces stay. */
    ottr_yaml_node *good = NULL;
    const ottr_yaml_node *gp = h_policies(
        "- {name: route, type: string_attribute, string_attribute: {key: http.route, values: "
        "[/checkout]}}\n"
        "- name: errors\n  type: status_code\n  status_code: {status_codes: [ERROR]}\n",
        &good);
    assert_int_equal(sampler_reload(f.s, gp, err, sizeof(err)), 0);
    ottr_yaml_free(good);
    assert_int_equal(fx_stats(&f).traces_buffered, 2);
    /* /api/sampler lists the policies now in force. */
    ottr_buf js = {0};
    sampler_policies_json(f.s, &js);
    ottr_buf_putc(&js, '\0');
    assert_string_equal(js.data, "[{\"name\":\"route\",\"type\":\"string_attribute\"},"
                                 "{\"name\":\"errors\",\"type\":\"status_code\"}]");
    ottr_buf_free(&js);
    /* Trace 2's matching span came before the reload; a later span matches. */
    submit1(&f, (tspan){.trace = 2, .span = 1, .attrs = {ASTR("http.route", "/checkout")}});
    submit1(&f, (tspan){.trace = 1, .span = 1});
    g_now += SEC(3);
    sampler_tick(f.s);
    assert_true(fx_kept(&f, 1));
    assert_true(fx_kept(&f, 2));
    fx_close(&f);
}

static void test_decision_metrics(void **state)
{
    (void)state;
    fx f;
    fx_open(&f,
            "- {name: errs, type: status_code, status_code: {status_codes: [ERROR]}}\n"
            "- name: nohealth\n  type: drop\n  drop:\n    drop_sub_policy:\n"
            "      - {name: h, type: string_attribute, string_attribute: {key: http.route, "
            "values: [/health]}}\n",
            NULL);
    submit1(&f, (tspan){.trace = 1, .span = 1, .status = STATUS_ERROR});
    submit1(&f, (tspan){.trace = 2, .span = 1});
    submit1(&f, (tspan){.trace = 3,
                        .span = 1,
                        .status = STATUS_ERROR,
                        .attrs = {ASTR("http.route", "/health")}});
    g_now += SEC(5);
    sampler_tick(f.s);
    char *m = h_metrics();
    assert_true(h_metric(m, "ottr_sampler_decisions_total{policy=\"errs\",decision=\"kept\"}") >=
                1);
    assert_true(h_metric(m, "ottr_sampler_decisions_total{policy=\"none\",decision=\"dropped\"}") >=
                1);
    assert_true(
        h_metric(m, "ottr_sampler_decisions_total{policy=\"nohealth\",decision=\"dropped\"}") >= 1);
    assert_true(h_metric(m, "ottr_sampler_decision_age_seconds_count") >= 3);
    assert_non_null(strstr(m, "ottr_sampler_decision_age_seconds_bucket{le=\"5\"}"));
    assert_true(h_metric(m, "ottr_sampler_traces_buffered") == 0);
    free(m);
    assert_true(fx_kept(&f, 1));
    assert_false(fx_kept(&f, 2));
    assert_false(fx_kept(&f, 3));
    fx_close(&f);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decided_after_root_wait),
        cmocka_unit_test(test_decided_at_decision_wait),
        cmocka_unit_test(test_forced_by_size),
        cmocka_unit_test(test_late_spans),
        cmocka_unit_test(test_budget_pushes_back),
        cmocka_unit_test(test_store_failure),
        cmocka_unit_test(test_crash_replay),
        cmocka_unit_test(test_clean_restart_keeps_undecided),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_decision_metrics),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ottr_metrics_shutdown();
    return rc;
}
