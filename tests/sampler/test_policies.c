/* tests/sampler/test_policies.c - per policy type, traces that must be kept or
 * dropped, run end to end: submit, let decision_wait pass, check the store. */
#include "helpers.h"

#define ROOT(t, ...)                                                                               \
    {                                                                                              \
        .trace = (t), .span = 1, .parent = 0, __VA_ARGS__                                          \
    }
#define CHILD(t, s, ...)                                                                           \
    {                                                                                              \
        .trace = (t), .span = (s), .parent = 1, __VA_ARGS__                                        \
    }

typedef struct pcase {
    const char *name;
    const char *policies; /* NULL: no policies */
    tspan spans[10];
    uint64_t keep[6]; /* trace numbers, 0-terminated */
    uint64_t drop[6];
} pcase;

static const pcase cases[] = {
    {
        .name = "no policies keeps everything",
        .policies = NULL,
        .spans = {ROOT(1), CHILD(1, 2)},
        .keep = {1},
    },
    {
        .name = "always_sample",
        .policies = "- {name: all, type: always_sample}\n",
        .spans = {ROOT(1), ROOT(2, .status = STATUS_ERROR)},
        .keep = {1, 2},
    },
    {
        .name = "latency lower bound",
        .policies = "- {name: slow, type: latency, latency: {threshold_ms: 100}}\n",
        .spans = {ROOT(1, .dur_ms = 150), ROOT(2, .dur_ms = 50),
                  /* the duration spans children: 0..20 and 90..130 */
                  ROOT(3, .dur_ms = 20), CHILD(3, 2, .start_ms = 90, .dur_ms = 40),
                  ROOT(4, .dur_ms = 100)},
        .keep = {1, 3, 4},
        .drop = {2},
    },
    {
        .name = "latency with upper bound",
        .policies = "- name: band\n  type: latency\n  latency: {threshold_ms: 100, "
                    "upper_threshold_ms: 500}\n",
        .spans = {ROOT(1, .dur_ms = 300), ROOT(2, .dur_ms = 900), ROOT(3, .dur_ms = 99),
                  ROOT(4, .dur_ms = 500)},
        .keep = {1, 4},
        .drop = {2, 3},
    },
    {
        .name = "numeric_attribute",
        .policies = "- name: 5xx\n  type: numeric_attribute\n  numeric_attribute:\n"
                    "    key: http.status_code\n    min_value: 500\n    max_value: 599\n",
        .spans = {ROOT(1), CHILD(1, 2, .attrs = {AINT("http.status_code", 503)}),
                  ROOT(2, .attrs = {AINT("http.status_code", 200)}),
                  ROOT(3, .rattrs = {AINT("http.status_code", 500)}),
                  ROOT(4, .attrs = {ASTR("http.status_code", "503")}),
                  ROOT(5, .attrs = {ADBL("http.status_code", 599.0)})},
        .keep = {1, 3, 5},
        .drop = {2, 4},
    },
    {
        .name = "numeric_attribute inverted",
        .policies = "- name: not-5xx\n  type: numeric_attribute\n  numeric_attribute:\n"
                    "    {key: http.status_code, min_value: 500, max_value: 599, "
                    "invert_match: true}\n",
        .spans = {ROOT(1), CHILD(1, 2, .attrs = {AINT("http.status_code", 503)}),
                  ROOT(2, .attrs = {AINT("http.status_code", 200)}), ROOT(3)},
        .keep = {2, 3},
        .drop = {1},
    },
    {
        .name = "probabilistic 100",
        .policies = "- {name: all, type: probabilistic, probabilistic: {sampling_percentage: "
                    "100}}\n",
        .spans = {ROOT(1), ROOT(2), ROOT(3)},
        .keep = {1, 2, 3},
    },
    {
        .name = "probabilistic 0",
        .policies = "- {name: none, type: probabilistic, probabilistic: {sampling_percentage: "
                    "0}}\n",
        .spans = {ROOT(1), ROOT(2), ROOT(3)},
        .drop = {1, 2, 3},
    },
    {
        .name = "status_code ERROR",
        .policies = "- name: errors\n  type: status_code\n  status_code: {status_codes: "
                    "[ERROR]}\n",
        .spans = {ROOT(1, .status = STATUS_OK), CHILD(1, 2, .status = STATUS_ERROR),
                  ROOT(2, .status = STATUS_OK), CHILD(2, 2), ROOT(3)},
        .keep = {1},
        .drop = {2, 3},
    },
    {
        .name = "status_code OK and UNSET",
        .policies = "- name: fine\n  type: status_code\n  status_code:\n    status_codes:\n"
                    "      - OK\n      - UNSET\n",
        .spans = {ROOT(1, .status = STATUS_ERROR), ROOT(2, .status = STATUS_OK), ROOT(3)},
        .keep = {2, 3},
        .drop = {1},
    },
    {
        .name = "string_attribute exact",
        .policies = "- name: routes\n  type: string_attribute\n  string_attribute: {key: "
                    "http.route, values: [/api, /checkout]}\n",
        .spans = {ROOT(1, .attrs = {ASTR("http.route", "/checkout")}),
                  ROOT(2, .attrs = {ASTR("http.route", "/checkout/x")}),
                  ROOT(3, .rattrs = {ASTR("http.route", "/api")}),
                  ROOT(4, .attrs = {AINT("http.route", 5)}), ROOT(5)},
        .keep = {1, 3},
        .drop = {2, 4, 5},
    },
    {
        .name = "string_attribute regex",
        .policies = "- name: api\n  type: string_attribute\n  string_attribute: {key: "
                    "http.route, values: ['^/api/.*$', '^/v[0-9]+$'], enabled_regex_matching: "
                    "true, cache_max_size: 10}\n",
        .spans = {ROOT(1, .attrs = {ASTR("http.route", "/api/users")}),
                  ROOT(2, .attrs = {ASTR("http.route", "/health")}),
                  ROOT(3, .attrs = {ASTR("http.route", "/v2")}),
                  ROOT(4, .attrs = {ASTR("http.route", "/v2/x")})},
        .keep = {1, 3},
        .drop = {2, 4},
    },
    {
        .name = "string_attribute inverted regex",
        .policies = "- name: not-health\n  type: string_attribute\n  string_attribute: {key: "
                    "http.route, values: ['\\/health', '\\/metrics'], enabled_regex_matching: "
                    "true, invert_match: true}\n",
        .spans = {ROOT(1, .attrs = {ASTR("http.route", "/health")}),
                  ROOT(2, .attrs = {ASTR("http.route", "/api")}), ROOT(3), ROOT(4),
                  CHILD(4, 2, .attrs = {ASTR("http.route", "/metrics")})},
        .keep = {2, 3},
        .drop = {1, 4},
    },
    {
        .name = "span_count",
        .policies = "- {name: mid, type: span_count, span_count: {min_spans: 2, max_spans: 3}}\n",
        .spans = {ROOT(1), ROOT(2), CHILD(2, 2), ROOT(3), CHILD(3, 2), CHILD(3, 3), CHILD(3, 4)},
        .keep = {2},
        .drop = {1, 3},
    },
    {
        .name = "span_count without upper bound",
        .policies = "- {name: big, type: span_count, span_count: {min_spans: 3}}\n",
        .spans = {ROOT(1), CHILD(1, 2), ROOT(2), CHILD(2, 2), CHILD(2, 3), CHILD(2, 4)},
        .keep = {2},
        .drop = {1},
    },
    {
        .name = "trace_state",
        .policies = "- name: gold\n  type: trace_state\n  trace_state: {key: tier, values: [gold, "
                    "platinum]}\n",
        .spans = {ROOT(1, .trace_state = "tier=gold,x=y"), ROOT(2, .trace_state = "tier=silver"),
                  ROOT(3, .trace_state = "a=b , tier=platinum"), ROOT(4, .trace_state = "x=tier"),
                  ROOT(5)},
        .keep = {1, 3},
        .drop = {2, 4, 5},
    },
    {
        .name = "boolean_attribute",
        .policies = "- {name: dbg, type: boolean_attribute, boolean_attribute: {key: debug, "
                    "value: true}}\n",
        .spans = {ROOT(1, .attrs = {ABOOL("debug", true)}),
                  ROOT(2, .attrs = {ABOOL("debug", false)}),
                  ROOT(3, .attrs = {ASTR("debug", "true")}),
                  ROOT(4, .rattrs = {ABOOL("debug", true)})},
        .keep = {1, 4},
        .drop = {2, 3},
    },
    {
        .name = "boolean_attribute inverted",
        .policies = "- {name: nodbg, type: boolean_attribute, boolean_attribute: {key: debug, "
                    "value: true, invert_match: true}}\n",
        .spans = {ROOT(1, .attrs = {ABOOL("debug", true)}),
                  ROOT(2, .attrs = {ABOOL("debug", false)}), ROOT(3)},
        .keep = {2, 3},
        .drop = {1},
    },
    {
        .name = "and",
        .policies = "- name: checkout-errors\n  type: and\n  and:\n    and_sub_policy:\n"
                    "      - name: svc\n        type: string_attribute\n"
                    "        string_attribute: {key: service.name, values: [checkout]}\n"
                    "      - name: err\n        type: status_code\n"
                    "        status_code: {status_codes: [ERROR]}\n",
        .spans = {ROOT(1, .service = "checkout"),
                  CHILD(1, 2, .service = "db", .status = STATUS_ERROR),
                  ROOT(2, .service = "cart", .status = STATUS_ERROR),
                  ROOT(3, .service = "checkout", .status = STATUS_OK)},
        .keep = {1},
        .drop = {2, 3},
    },
    {
        .name = "drop wins over keep",
        .policies = "- {name: all, type: always_sample}\n"
                    "- name: no-health\n  type: drop\n  drop:\n    drop_sub_policy:\n"
                    "      - name: health\n        type: string_attribute\n"
                    "        string_attribute: {key: http.route, values: [/health]}\n",
        .spans = {ROOT(1, .attrs = {ASTR("http.route", "/health")}),
                  ROOT(2, .attrs = {ASTR("http.route", "/api")})},
        .keep = {2},
        .drop = {1},
    },
    {
        .name = "drop needs every sub-policy",
        .policies = "- {name: all, type: always_sample}\n"
                    "- name: fast-health\n  type: drop\n  drop:\n    drop_sub_policy:\n"
                    "      - {name: health, type: string_attribute, string_attribute: {key: "
                    "http.route, values: [/health]}}\n"
                    "      - {name: ok, type: status_code, status_code: {status_codes: [OK, "
                    "UNSET]}}\n",
        .spans = {ROOT(1, .attrs = {ASTR("http.route", "/health")}),
                  ROOT(2, .attrs = {ASTR("http.route", "/health")}, .status = STATUS_ERROR),
                  CHILD(2, 2, .status = STATUS_ERROR)},
        .keep = {2},
        .drop = {1},
    },
    {
        .name = "an inverted match excludes, a plain match keeps",
        .policies = "- name: not-health\n  type: string_attribute\n  string_attribute: {key: "
                    "http.route, values: [/health], invert_match: true}\n"
                    "- {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n",
        .spans = {ROOT(1, .attrs = {ASTR("http.route", "/api")}, .status = STATUS_ERROR),
                  /* InvertSampled + NotSampled elsewhere: not kept, as in the collector */
                  ROOT(2, .attrs = {ASTR("http.route", "/api")}),
                  ROOT(3, .attrs = {ASTR("http.route", "/health")}, .status = STATUS_ERROR)},
        .keep = {1},
        .drop = {2, 3},
    },
    {
        .name = "several policies: any keeps",
        .policies = "- {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
                    "- {name: slow, type: latency, latency: {threshold_ms: 1000}}\n",
        .spans = {ROOT(1, .status = STATUS_ERROR), ROOT(2, .dur_ms = 2000), ROOT(3, .dur_ms = 10)},
        .keep = {1, 2},
        .drop = {3},
    },
};

static void run_case(const pcase *c)
{
    fx f;
    fx_open(&f, c->policies, NULL);
    size_t n = 0;
    while (n < 10 && c->spans[n].trace != 0)
        n++;
    assert_int_equal(fx_submit(&f, c->spans, n), OTTR_OK);
    sampler_tick(f.s);
    g_now += SEC(31);
    sampler_tick(f.s);
    for (size_t i = 0; i < 6 && c->keep[i]; i++)
        if (!fx_kept(&f, c->keep[i]))
            fail_msg("%s: trace %llu should be kept", c->name, (unsigned long long)c->keep[i]);
    for (size_t i = 0; i < 6 && c->drop[i]; i++)
        if (fx_kept(&f, c->drop[i]))
            fail_msg("%s: trace %llu should be dropped", c->name, (unsigned long long)c->drop[i]);
    sampler_stats st = fx_stats(&f);
    assert_int_equal(st.traces_buffered, 0);
    fx_close(&f);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

/* ---- stateful policies, evaluated directly on summaries ---- */

static policy_set *parse_set(const char *text)
{
    ottr_yaml_node *root = NULL;
    const ottr_yaml_node *p = h_policies(text, &root);
    policy_set *ps = NULL;
    char err[512];
    if (sampler_policy_set_parse(p, &ps, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    ottr_yaml_free(root);
    return ps;
}

static pol_trace summary(uint64_t n, uint64_t spans, uint64_t bytes, uint64_t bits, uint64_t now)
{
    static uint8_t ids[64][16];
    id16(n, ids[n % 64]);
    pol_trace t = {.trace_id = ids[n % 64],
                   .span_count = spans,
                   .bytes = bytes,
                   .min_start_ns = T0_NS,
                   .max_end_ns = T0_NS + MS(10),
                   .bits = bits,
                   .now_ns = now};
    return t;
}

static void test_rate_limiting(void **state)
{
    (void)state;
    policy_set *ps = parse_set("- {name: rl, type: rate_limiting, rate_limiting: "
                               "{spans_per_second: 10}}\n");
    const char *who;
    int kept = 0;
    for (int i = 0; i < 10; i++) {
        pol_trace t = summary((uint64_t)i, 3, 100, 0, T0_NS);
        kept += sampler_policy_set_decide(ps, &t, &who);
    }
    assert_int_equal(kept, 3); /* 3 traces of 3 spans fit in 10 spans/s */
    /* A 1-span trace still fits in the same second. */
    pol_trace small = summary(20, 1, 10, 0, T0_NS + MS(500));
    assert_true(sampler_policy_set_decide(ps, &small, &who));
    /* The next second starts over. */
    pol_trace next = summary(21, 3, 100, 0, T0_NS + SEC(1));
    assert_true(sampler_policy_set_decide(ps, &next, &who));
    assert_string_equal(who, "rl");
    sampler_policy_set_free(ps);
}

static void test_bytes_limiting(void **state)
{
    (void)state;
    policy_set *ps = parse_set("- {name: bl, type: bytes_limiting, bytes_limiting: "
                               "{bytes_per_second: 1000, burst_capacity: 3000}}\n");
    const char *who;
    int kept = 0;
    for (int i = 0; i < 10; i++) {
        pol_trace t = summary((uint64_t)i, 1, 1000, 0, T0_NS);
        kept += sampler_policy_set_decide(ps, &t, &who);
    }
    assert_int_equal(kept, 3); /* the burst */
    /* Half a second refills 500 bytes: a 400-byte trace fits, a 1000-byte one not. */
    pol_trace a = summary(30, 1, 400, 0, T0_NS + MS(500));
    pol_trace b = summary(31, 1, 1000, 0, T0_NS + MS(500));
    assert_true(sampler_policy_set_decide(ps, &a, &who));
    assert_false(sampler_policy_set_decide(ps, &b, &who));
    /* Ten seconds later the bucket is full again, capped at the burst. */
    kept = 0;
    for (int i = 0; i < 10; i++) {
        pol_trace t = summary((uint64_t)(40 + i), 1, 1000, 0, T0_NS + SEC(10));
        kept += sampler_policy_set_decide(ps, &t, &who);
    }
    assert_int_equal(kept, 3);
    sampler_policy_set_free(ps);

    /* Default burst: twice the rate. */
    ps = parse_set("- {name: bl, type: bytes_limiting, bytes_limiting: {bytes_per_second: 100}}\n");
    pol_trace big = summary(1, 1, 200, 0, T0_NS);
    pol_trace more = summary(2, 1, 1, 0, T0_NS);
    assert_true(sampler_policy_set_decide(ps, &big, &who));
    assert_false(sampler_policy_set_decide(ps, &more, &who));
    sampler_policy_set_free(ps);
}

static void test_composite_allocation(void **state)
{
    (void)state;
    /* bit 0 = errors (status_code), the only span-level policy. */
    policy_set *ps = parse_set(
        "- name: comp\n  type: composite\n  composite:\n"
        "    max_total_spans_per_second: 100\n"
        "    policy_order: [errors, rest]\n"
        "    composite_sub_policy:\n"
        "      - {name: rest, type: always_sample}\n"
        "      - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
        "    rate_allocation:\n"
        "      - {policy: errors, percent: 60}\n"
        "      - {policy: rest, percent: 40}\n");
    assert_int_equal(ps->nleaves, 1);
    const char *who;
    int kept_err = 0, kept_rest = 0;
    for (int i = 0; i < 20; i++) {
        pol_trace e = summary((uint64_t)i, 10, 100, 1, T0_NS);
        pol_trace r = summary((uint64_t)(100 + i), 10, 100, 0, T0_NS);
        kept_err += sampler_policy_set_decide(ps, &e, &who);
        kept_rest += sampler_policy_set_decide(ps, &r, &who);
    }
    /* errors: 60 spans/s = 6 traces of 10; rest: 40 spans/s = 4 traces. */
    assert_int_equal(kept_err, 6);
    assert_int_equal(kept_rest, 4);
    /* Error traces are tried against "errors" first (policy_order) and do not
     * spill into "rest" when their share is used up. */
    pol_trace e = summary(50, 10, 100, 1, T0_NS + MS(10));
    assert_false(sampler_policy_set_decide(ps, &e, &who));
    /* A new second gives the shares back. */
    pol_trace e2 = summary(51, 10, 100, 1, T0_NS + SEC(1));
    pol_trace r2 = summary(52, 10, 100, 0, T0_NS + SEC(1));
    assert_true(sampler_policy_set_decide(ps, &e2, &who));
    assert_true(sampler_policy_set_decide(ps, &r2, &who));
    assert_string_equal(who, "comp");
    sampler_policy_set_free(ps);

    /* Without rate_allocation the sub-policies share the total equally. */
    ps = parse_set("- name: comp\n  type: composite\n  composite:\n"
                   "    max_total_spans_per_second: 40\n"
                   "    composite_sub_policy:\n"
                   "      - {name: a, type: span_count, span_count: {min_spans: 5}}\n"
                   "      - {name: b, type: always_sample}\n");
    int ka = 0, kb = 0;
    for (int i = 0; i < 10; i++) {
        pol_trace a = summary((uint64_t)i, 5, 1, 0, T0_NS);
        pol_trace b = summary((uint64_t)(20 + i), 1, 1, 0, T0_NS);
        ka += sampler_policy_set_decide(ps, &a, &who);
        kb += sampler_policy_set_decide(ps, &b, &who);
    }
    assert_int_equal(ka, 4); /* 20 spans/s of 5 */
    assert_int_equal(kb, 10);
    sampler_policy_set_free(ps);
}

static void test_probabilistic_rate(void **state)
{
    (void)state;
    policy_set *ps = parse_set("- {name: p, type: probabilistic, probabilistic: "
                               "{sampling_percentage: 5, hash_salt: abc}}\n");
    policy_set *other = parse_set("- {name: p, type: probabilistic, probabilistic: "
                                  "{sampling_percentage: 5, hash_salt: xyz}}\n");
    const char *who;
    const int n = 100000;
    int kept = 0, both = 0;
    uint8_t tid[16];
    for (int i = 0; i < n; i++) {
        /* Trace IDs as real generators make them: random bytes. */
        uint64_t a = (uint64_t)i * 0x9e3779b97f4a7c15ull, b = a ^ 0xdeadbeefcafebabeull;
        memcpy(tid, &a, 8);
        memcpy(tid + 8, &b, 8);
        pol_trace t = {.trace_id = tid, .span_count = 1, .now_ns = T0_NS};
        bool k1 = sampler_policy_set_decide(ps, &t, &who);
        bool k1again = sampler_policy_set_decide(ps, &t, &who);
        bool k2 = sampler_policy_set_decide(other, &t, &who);
        assert_int_equal(k1, k1again);
        kept += k1;
        both += k1 && k2;
    }
    /* 5% of 100000: mean 5000, sd 68.9; allow 5 sd. */
    assert_in_range(kept, 5000 - 345, 5000 + 345);
    /* Different salts choose independently: about 0.25% in both. */
    assert_in_range(both, 250 - 80, 250 + 80);
    sampler_policy_set_free(ps);
    sampler_policy_set_free(other);
}

static void test_probabilistic_stable_across_restarts(void **state)
{
    (void)state;
    const char *pol = "- {name: p, type: probabilistic, probabilistic: {sampling_percentage: "
                      "30, hash_salt: s1}}\n";
    bool first[200];
    for (int run = 0; run < 2; run++) {
        fx f;
        fx_open(&f, pol, NULL);
        tspan sp[200];
        memset(sp, 0, sizeof(sp));
        for (int i = 0; i < 200; i++) {
            sp[i].trace = (uint64_t)(i + 1) * 7919;
            sp[i].span = 1;
        }
        assert_int_equal(fx_submit(&f, sp, 200), OTTR_OK);
        if (run == 1) {
            /* The second run decides after a crash and replay. */
            fx_restart(&f, false);
        }
        g_now += SEC(31);
        sampler_tick(f.s);
        int kept = 0;
        for (int i = 0; i < 200; i++) {
            bool k = fx_kept(&f, (uint64_t)(i + 1) * 7919);
            kept += k;
            if (run == 0)
                first[i] = k;
            else if (first[i] != k)
                fail_msg("trace %d decided differently after a restart", i);
        }
        assert_in_range(kept, 30, 90);
        fx_close(&f);
    }
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_rate_limiting),
        cmocka_unit_test(test_bytes_limiting),
        cmocka_unit_test(test_composite_allocation),
        cmocka_unit_test(test_probabilistic_rate),
        cmocka_unit_test(test_probabilistic_stable_across_restarts),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ottr_metrics_shutdown();
    return rc;
}
