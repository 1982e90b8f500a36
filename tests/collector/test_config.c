/* tests/collector/test_config.c - configuration: defaults, every key from YAML,
 * flag-style overrides, invalid and out-of-range inputs with messages naming key
 * and line, the options handed to the store and sampler, the help and
 * docs/CONFIG.md generated from or checked against the table, and every
 * allocation of a load failing in turn. */
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
#include "tests/common/failmalloc.h"

static void test_defaults(void **state)
{
    (void)state;
    ottr_config c;
    assert_int_equal(collector_config_init(&c), 0);
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.grpc_addr, "0.0.0.0:4317");
    assert_string_equal(c.http_addr, "0.0.0.0:4318");
    assert_string_equal(c.query_addr, "0.0.0.0:3200");
    assert_string_equal(c.jaeger_addr, "0.0.0.0:16686");
    assert_int_equal(c.log_level, OTTR_LOG_INFO);
    assert_int_equal(c.grpc_max_recv_bytes, 64ull << 20);
    assert_int_equal(c.http_max_body_bytes, 64ull << 20);
    assert_int_equal(c.store_sync, STORE_SYNC_INTERVAL);
    assert_int_equal(c.store_retention_ns, 72ull * 3600 * 1000000000);
    assert_int_equal(c.decision_wait_ns, 30ull * 1000000000);
    assert_int_equal(c.decision_wait_after_root_ns, 2ull * 1000000000);
    assert_true(c.grpc_threads >= 2 && c.grpc_threads <= 16);
    assert_int_equal(c.http_threads, 2);
    assert_int_equal(c.decision_cache_size, 200000);
    assert_int_equal(c.max_buffered_traces, 1000000);
    /* sampling.max_trace_bytes takes store.max_trace_bytes. */
    assert_int_equal(c.store_max_trace_bytes, 50ull << 20);
    assert_int_equal(c.max_trace_bytes, 50ull << 20);
    /* Input limits: well above what SDKs send (128 attributes, events, links). */
    assert_int_equal(c.limits.max_spans_per_request, 100000);
    assert_int_equal(c.limits.max_attributes_per_span, 1024);
    assert_int_equal(c.limits.max_events_per_span, 1024);
    assert_int_equal(c.limits.max_links_per_span, 1024);
    assert_int_equal(c.limits.max_attributes_per_event, 1024);
    assert_int_equal(c.limits.max_attributes_per_link, 1024);
    assert_int_equal(c.limits.max_attributes_per_resource, 1024);
    assert_int_equal(c.limits.max_attribute_key_length, 4096);
    assert_int_equal(c.limits.max_attribute_value_length, 65536);
    for (size_t i = 0; i < sizeof(c.given) / sizeof(c.given[0]); i++)
        assert_int_equal(c.given[i], 0);
    assert_string_equal(c.admin_addr, "127.0.0.1:3201");
    assert_null(c.admin_backup_dir);
    assert_int_equal(c.query_sec.auth_type, HTTP_AUTH_NONE);
    assert_null(c.grpc_sec.cert_file);
    assert_null(c.policies);
    collector_config_free(&c);
}

static const char *every_key = "data_dir: /var/lib/ottr\n"
                               "log_level: debug\n"
                               "grpc:\n"
                               "  addr: 127.0.0.1:14317\n"
                               "  max_recv_msg_size: 16MiB\n"
                               "  threads: 3\n"
                               "http:\n"
                               "  addr: '[::1]:14318'\n"
                               "  max_body_size: 1MB\n"
                               "  threads: 1\n"
                               "query:\n"
                               "  addr: :13200\n"
                               "jaeger:\n"
                               "  addr: localhost:26686\n"
                               "store:\n"
                               "  sync: always\n"
                               "  sync_interval: 250ms\n"
                               "  retention: 24h\n"
                               "  max_trace_bytes: 10MiB\n"
                               "  block_cache_size: 64MiB\n"
                               "  memtable_size: 32MiB\n"
                               "limits:\n"
                               "  max_spans_per_request: 500\n"
                               "  max_attributes_per_span: 64\n"
                               "  max_attribute_value_length: 1KiB\n"
                               "  max_links_per_span: 0\n"
                               "sampling:\n"
                               "  decision_wait: 10s\n"
                               "  decision_wait_after_root: 500ms\n"
                               "  max_spans_per_trace: 5000\n"
                               "  max_trace_bytes: 2MiB\n"
                               "  max_buffered_traces: 20000\n"
                               "  max_memory: 128MiB\n"
                               "  decision_cache_size: 5000\n"
                               "  policies:\n"
                               "    - name: errors\n"
                               "      type: status_code\n"
                               "      status_code: {status_codes: [ERROR]}\n";

static void test_every_key(void **state)
{
    (void)state;
    ottr_config c;
    char err[512] = "";
    assert_int_equal(collector_config_init(&c), 0);
    assert_int_equal(collector_config_load_string(&c, every_key, err, sizeof(err)), 0);
    assert_string_equal(c.data_dir, "/var/lib/ottr");
    assert_int_equal(c.log_level, OTTR_LOG_DEBUG);
    assert_string_equal(c.grpc_addr, "127.0.0.1:14317");
    assert_int_equal(c.grpc_max_recv_bytes, 16ull << 20);
    assert_int_equal(c.grpc_threads, 3);
    assert_string_equal(c.http_addr, "[::1]:14318");
    assert_int_equal(c.http_max_body_bytes, 1000000);
    assert_int_equal(c.http_threads, 1);
    assert_string_equal(c.query_addr, ":13200");
    assert_string_equal(c.jaeger_addr, "localhost:26686");
    assert_int_equal(c.store_sync, STORE_SYNC_ALWAYS);
    assert_int_equal(c.store_sync_interval_ns, 250ull * 1000000);
    assert_int_equal(c.store_retention_ns, 24ull * 3600 * 1000000000);
    assert_int_equal(c.store_max_trace_bytes, 10ull << 20);
    assert_int_equal(c.store_block_cache_bytes, 64ull << 20);
    assert_int_equal(c.store_memtable_bytes, 32ull << 20);
    assert_int_equal(c.decision_wait_ns, 10ull * 1000000000);
    assert_int_equal(c.decision_wait_after_root_ns, 500ull * 1000000);
    assert_int_equal(c.max_spans_per_trace, 5000);
    assert_int_equal(c.max_trace_bytes, 2ull << 20);
    assert_int_equal(c.max_buffered_traces, 20000);
    assert_int_equal(c.max_memory_bytes, 128ull << 20);
    assert_int_equal(c.decision_cache_size, 5000);
    assert_int_equal(c.limits.max_spans_per_request, 500);
    assert_int_equal(c.limits.max_attributes_per_span, 64);
    assert_int_equal(c.limits.max_attribute_value_length, 1024);
    assert_int_equal(c.limits.max_links_per_span, 0); /* no limit */
    assert_int_equal(c.limits.max_events_per_span, 1024);
    assert_non_null(c.policies);
    assert_int_equal(c.policies->type, OTTR_YAML_SEQ);
    const ottr_yaml_node *p = c.policies->child;
    assert_non_null(p);
    assert_string_equal(ottr_yaml_get(p, "name")->scalar, "errors");
    assert_string_equal(ottr_yaml_get(p, "type")->scalar, "status_code");
    collector_config_free(&c);
}

static void test_overrides(void **state)
{
    (void)state;
    ottr_config c;
    char err[512] = "";
    assert_int_equal(collector_config_init(&c), 0);
    assert_int_equal(
        collector_config_load_string(&c, "grpc:\n  addr: 127.0.0.1:1\n", err, sizeof(err)), 0);
    /* A flag applied after the file wins. */
    assert_int_equal(collector_config_set(&c, "grpc.addr", "127.0.0.1:0", err, sizeof(err)), 0);
    assert_string_equal(c.grpc_addr, "127.0.0.1:0");
    assert_int_equal(collector_config_set(&c, "data_dir", "/tmp/x", err, sizeof(err)), 0);
    assert_string_equal(c.data_dir, "/tmp/x");
    assert_int_equal(collector_config_set(&c, "log_level", "warn", err, sizeof(err)), 0);
    assert_int_equal(c.log_level, OTTR_LOG_WARN);
    /* The collector's name for the after-root wait is accepted too. */
    assert_int_equal(
        collector_config_load_string(&c, "sampling:\n  decision_wait_after_root_received: 3s\n",
                                     err, sizeof(err)),
        0);
    assert_int_equal(c.decision_wait_after_root_ns, 3ull * 1000000000);
    collector_config_free(&c);
}

static void test_flags_override_file(void **state)
{
    (void)state;
    ottr_config c;
    char err[512] = "";
    assert_int_equal(collector_config_init(&c), 0);
    assert_int_equal(collector_config_load_string(&c, every_key, err, sizeof(err)), 0);
    /* As main() applies flags: after the file, each key the same way. */
    assert_int_equal(collector_config_set(&c, "http.addr", "127.0.0.1:0", err, sizeof(err)), 0);
    assert_int_equal(collector_config_set(&c, "log_level", "error", err, sizeof(err)), 0);
    assert_int_equal(collector_config_set(&c, "store.sync", "none", err, sizeof(err)), 0);
    assert_int_equal(
        collector_config_set(&c, "sampling.decision_cache_size", "7", err, sizeof(err)), 0);
    assert_int_equal(collector_config_set(&c, "sampling.num_traces", "9", err, sizeof(err)), 0);
    assert_string_equal(c.http_addr, "127.0.0.1:0");
    assert_int_equal(c.log_level, OTTR_LOG_ERROR);
    assert_int_equal(c.store_sync, STORE_SYNC_NONE);
    assert_int_equal(c.decision_cache_size, 7);
    assert_int_equal(c.max_buffered_traces, 9);
    /* What no flag touched stays as the file said. */
    assert_string_equal(c.grpc_addr, "127.0.0.1:14317");
    assert_int_equal(c.decision_wait_ns, 10ull * 1000000000);
    /* The file gave sampling.max_trace_bytes: a later store.max_trace_bytes
     * does not change it. */
    assert_int_equal(collector_config_set(&c, "store.max_trace_bytes", "20MiB", err, sizeof(err)),
                     0);
    assert_int_equal(c.max_trace_bytes, 2ull << 20);
    collector_config_free(&c);

    /* Not given, it follows store.max_trace_bytes from the file or a flag. */
    assert_int_equal(collector_config_init(&c), 0);
    assert_int_equal(
        collector_config_load_string(&c, "store:\n  max_trace_bytes: 8MiB\n", err, sizeof(err)), 0);
    assert_int_equal(c.max_trace_bytes, 8ull << 20);
    assert_int_equal(collector_config_set(&c, "store.max_trace_bytes", "4MiB", err, sizeof(err)),
                     0);
    assert_int_equal(c.max_trace_bytes, 4ull << 20);
    collector_config_free(&c);
}

typedef struct bad_case {
    const char *yaml;
    const char *want; /* substring of the message */
} bad_case;

/* Each case must fail to load with its message. */
static void expect_bad(const bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ottr_config c;
        char err[512] = "";
        assert_int_equal(collector_config_init(&c), 0);
        int rc = collector_config_load_string(&c, cases[i].yaml, err, sizeof(err));
        if (rc == 0 || strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: rc=%d err=\"%s\" want \"%s\"", i, rc, err, cases[i].want);
        collector_config_free(&c);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"grpc_adr: x\n", "<config>:1: grpc_adr: unknown key"},
        {"grpc:\n  adr: 1.2.3.4:5\n", "<config>:2: grpc.adr: unknown key"},
        {"grpc:\n  addr: [1, 2]\n", "<config>:2: grpc.addr: must be a single value"},
        {"grpc: 4317\n", "<config>:1: grpc: must be a map"},
        {"store:\n  retention: 3 days\n", "<config>:2: store.retention: bad duration \"3 days\""},
        {"sampling:\n  decision_wait: -1s\n", "sampling.decision_wait: bad duration"},
        {"grpc:\n  addr: localhost\n", "<config>:2: grpc.addr: bad address \"localhost\""},
        {"http:\n  addr: 1.2.3.4:99999\n", "http.addr: bad address"},
        {"log_level: loud\n", "log_level: unknown log level \"loud\""},
        {"store:\n  sync: sometimes\n", "store.sync: unknown sync policy"},
        {"grpc:\n  threads: many\n", "grpc.threads: bad number"},
        {"grpc:\n  threads: 0\n", "grpc.threads: bad thread count"},
        {"http:\n  max_body_size: lots\n", "http.max_body_size: bad size"},
        {"sampling:\n  policies: {a: b}\n", "sampling.policies: must be a list"},
        {"data_dir: x\ndata_dir: y\n", "line 2: duplicate key \"data_dir\""},
        {"grpc: [\n", "<config>: line"},
        {"- a\n- b\n", "must be a map of keys"},
    };
    expect_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Zero where zero means nothing, and values past a key's bounds, are refused
 * with the bounds in the message. */
static void test_out_of_range(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"http:\n  max_body_size: 0\n",
         "<config>:2: http.max_body_size: 0 is out of range (want 1KiB to 1GiB)"},
        {"http:\n  max_body_size: 2GiB\n", "http.max_body_size: 2GiB is out of range"},
        {"grpc:\n  max_recv_msg_size: 0\n",
         "<config>:2: grpc.max_recv_msg_size: 0 is out of range (want 1KiB to 1GiB)"},
        {"grpc:\n  max_recv_msg_size: 1000\n", "grpc.max_recv_msg_size: 1000 is out of range"},
        {"grpc:\n  threads: 257\n",
         "grpc.threads: bad thread count \"257\" (want auto or 1 to 256)"},
        {"http:\n  threads: 0\n", "http.threads: bad thread count \"0\""},
        {"sampling:\n  decision_cache_size: 0\n",
         "<config>:2: sampling.decision_cache_size: 0 is out of range (want 1 to 100000000)"},
        {"sampling:\n  decision_cache_size: 100000001\n",
         "sampling.decision_cache_size: 100000001"},
        {"sampling:\n  max_buffered_traces: 0\n",
         "sampling.max_buffered_traces: 0 is out of range"},
        {"sampling:\n  num_traces: 0\n", "sampling.num_traces: 0 is out of range"},
        {"limits:\n  max_attribute_value_length: 2GiB\n",
         "limits.max_attribute_value_length: 2GiB is out of range (want 0 to 1GiB)"},
        {"limits:\n  max_events_per_span: 100000001\n",
         "limits.max_events_per_span: 100000001 is out of range (want 0 to 100000000)"},
        {"sampling:\n  max_spans_per_trace: 0\n",
         "sampling.max_spans_per_trace: 0 is out of range"},
        {"sampling:\n  max_trace_bytes: 0\n", "sampling.max_trace_bytes: 0 is out of range"},
        {"sampling:\n  max_memory: 0\n", "sampling.max_memory: 0 is out of range"},
        {"sampling:\n  decision_wait: 0\n",
         "sampling.decision_wait: 0 is out of range (want 1ms to 24h)"},
        {"sampling:\n  decision_wait: 25h\n", "sampling.decision_wait: 25h is out of range"},
        {"sampling:\n  decision_wait_after_root: 0\n",
         "sampling.decision_wait_after_root: 0 is out of range"},
        {"sampling:\n  decision_wait_after_root_received: 0\n",
         "sampling.decision_wait_after_root_received: 0 is out of range"},
        {"store:\n  sync_interval: 0\n", "store.sync_interval: 0 is out of range (want 1ms to 1m)"},
        {"store:\n  max_trace_bytes: 0\n", "store.max_trace_bytes: 0 is out of range"},
        {"store:\n  block_cache_size: 0\n", "store.block_cache_size: 0 is out of range"},
        {"store:\n  block_cache_size: 1000GiB\n",
         "<config>:2: store.block_cache_size: 1000GiB is out of range (want 1MiB to 256GiB)"},
        {"store:\n  memtable_size: 0\n", "store.memtable_size: 0 is out of range"},
        {"store:\n  retention: 100000h\n", "store.retention: 100000h is out of range"},
        {"data_dir: ''\n", "data_dir: must not be empty"},
    };
    expect_bad(cases, sizeof(cases) / sizeof(cases[0]));
    /* The same bounds hold for flags; a refused value leaves the default. */
    ottr_config c;
    char err[512] = "";
    assert_int_equal(collector_config_init(&c), 0);
    assert_int_equal(collector_config_set(&c, "http.max_body_size", "0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "http.max_body_size: 0 is out of range"));
    assert_int_equal(c.http_max_body_bytes, 64ull << 20);
    assert_int_equal(collector_config_set(&c, "sampling.policies", "x", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "sampling.policies: cannot be set from the command line"));
    /* At the bounds, and where 0 means something, values are taken. */
    assert_int_equal(collector_config_set(&c, "http.max_body_size", "1KiB", err, sizeof(err)), 0);
    assert_int_equal(collector_config_set(&c, "grpc.max_recv_msg_size", "1GiB", err, sizeof(err)),
                     0);
    assert_int_equal(collector_config_set(&c, "store.retention", "0", err, sizeof(err)), 0);
    assert_int_equal(c.store_retention_ns, 0);
    assert_int_equal(collector_config_set(&c, "http.threads", "auto", err, sizeof(err)), 0);
    assert_true(c.http_threads >= 2 && c.http_threads <= 16);
    assert_int_equal(collector_config_set(&c, "grpc.threads", "256", err, sizeof(err)), 0);
    assert_int_equal(c.grpc_threads, 256);
    collector_config_free(&c);
}

static void test_invalid_flags(void **state)
{
    (void)state;
    ottr_config c;
    char err[512] = "";
    assert_int_equal(collector_config_init(&c), 0);
    assert_int_equal(collector_config_set(&c, "grpc.addr", "nope", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "grpc.addr: bad address \"nope\""));
    assert_int_equal(collector_config_set(&c, "store.retention", "1fortnight", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "store.retention: bad duration"));
    assert_int_equal(collector_config_set(&c, "bogus", "1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bogus: unknown key"));
    /* Defaults are untouched by failed sets. */
    assert_string_equal(c.grpc_addr, "0.0.0.0:4317");
    collector_config_free(&c);
}

static void test_file_errors_name_file_and_line(void **state)
{
    (void)state;
    char path[] = "/tmp/ottr-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "grpc:\n  addr: 0.0.0.0:4317\nstore:\n  retention: forever\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ottr_config c;
    char err[512] = "";
    assert_int_equal(collector_config_init(&c), 0);
    assert_int_equal(collector_config_load_file(&c, path, err, sizeof(err)), -1);
    char want[600];
    snprintf(want, sizeof(want), "%s:4: store.retention: bad duration \"forever\"", path);
    assert_non_null(strstr(err, want));
    collector_config_free(&c);
    assert_int_equal(collector_config_init(&c), 0);
    assert_int_equal(collector_config_load_file(&c, "/nonexistent/ottr.yaml", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/ottr.yaml: No such file"));
    collector_config_free(&c);
    unlink(path);
}

static void test_durations_sizes_addrs(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(ottr_parse_duration("1.5s", &v), 0);
    assert_int_equal(v, 1500000000ull);
    assert_int_equal(ottr_parse_duration("2m30s", &v), 0);
    assert_int_equal(v, 150ull * 1000000000);
    assert_int_equal(ottr_parse_duration("100us", &v), 0);
    assert_int_equal(v, 100000);
    assert_int_equal(ottr_parse_duration("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ottr_parse_duration("10", &v), -1);
    assert_int_equal(ottr_parse_duration("s", &v), -1);
    assert_int_equal(ottr_parse_duration("", &v), -1);
    assert_int_equal(ottr_parse_size("64MiB", &v), 0);
    assert_int_equal(v, 64ull << 20);
    assert_int_equal(ottr_parse_size("1024", &v), 0);
    assert_int_equal(v, 1024);
    assert_int_equal(ottr_parse_size("1 MiB", &v), -1);
    char host[64];
    int port;
    assert_int_equal(ottr_parse_addr(":4317", host, sizeof(host), &port), 0);
    assert_string_equal(host, "");
    assert_int_equal(port, 4317);
    assert_int_equal(ottr_parse_addr("[::1]:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(ottr_parse_addr("::1:80", host, sizeof(host), &port), -1);
    assert_int_equal(ottr_parse_addr("host:", host, sizeof(host), &port), -1);
}

/* What the daemon hands the store and the sampler is what the table says. */
static void test_component_options(void **state)
{
    (void)state;
    ottr_config c;
    assert_int_equal(collector_config_init(&c), 0);
    sampler_options o;
    collector_config_to_sampler_options(&c, &o);
    assert_int_equal(o.decision_cache_size, 200000);
    assert_int_equal(o.max_buffered_traces, 1000000);
    assert_int_equal(o.max_spans_per_trace, 100000);
    assert_int_equal(o.max_memory_bytes, 512ull << 20);
    assert_int_equal(o.max_trace_bytes, 50ull << 20);
    assert_int_equal(o.decision_wait_ns, 30ull * 1000000000);
    assert_int_equal(o.decision_wait_after_root_ns, 2ull * 1000000000);
    assert_null(o.policies);
    store_options so;
    collector_config_to_store_options(&c, &so);
    assert_string_equal(so.path, "./data");
    assert_int_equal(so.sync, STORE_SYNC_INTERVAL);
    assert_int_equal(so.sync_interval_ns, 100ull * 1000000);
    assert_int_equal(so.retention_ns, 72ull * 3600 * 1000000000);
    assert_int_equal(so.max_trace_bytes, 50ull << 20);
    assert_int_equal(so.block_cache_bytes, 64ull << 20);
    assert_int_equal(so.memtable_bytes, 128ull << 20);
    collector_config_free(&c);
}

static void test_options_from_config(void **state)
{
    (void)state;
    ottr_config c;
    assert_int_equal(collector_config_init(&c), 0);
    char err[512];
    if (collector_config_load_string(
            &c,
            "sampling:\n  decision_wait: 10s\n  decision_wait_after_root: 1s\n"
            "  policies:\n    - {name: a, type: always_sample}\n",
            err, sizeof(err)) != 0)
        fail_msg("%s", err);
    sampler_options o;
    collector_config_to_sampler_options(&c, &o);
    assert_int_equal(o.decision_wait_ns, 10ull * 1000000000);
    assert_int_equal(o.decision_wait_after_root_ns, 1ull * 1000000000);
    assert_non_null(o.policies);
    assert_int_equal(sampler_check_policies(o.policies, err, sizeof(err)), 0);
    collector_config_free(&c);
}

/* --help-config names every key with its default. */
static void test_help(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    collector_config_print_help(f);
    assert_int_equal(fclose(f), 0);
    ottr_config_doc d;
    size_t n = 0;
    for (; collector_config_doc_get(n, &d) == 0; n++) {
        char want[256];
        snprintf(want, sizeof(want), "  %s (%s", d.name, d.type);
        if (strstr(text, want) == NULL)
            fail_msg("help lacks \"%s\"", want);
        snprintf(want, sizeof(want), "default %s)", d.def ? d.def : "none");
        if (strstr(strstr(text, d.name), want) == NULL)
            fail_msg("help lacks the default of %s", d.name);
    }
    assert_true(n >= 24);
    assert_non_null(strstr(text, "  http.max_body_size (size, 1KiB to 1GiB; default 64MiB)"));
    assert_non_null(strstr(text, "  store.sync (none|interval|always; default interval)"));
    assert_non_null(strstr(text, "  sampling.num_traces for sampling.max_buffered_traces\n"));
    free(text);
}

/* Splits a Markdown table row "| a | b | c |" into at most |max| trimmed cells. */
static size_t md_cells(char *line, char **cells, size_t max)
{
    size_t n = 0;
    char *p = strchr(line, '|');
    while (p && n < max) {
        char *next = strchr(p + 1, '|');
        if (next == NULL)
            break;
        *next = '\0';
        char *c = p + 1;
        while (*c == ' ')
            c++;
        for (char *e = c + strlen(c); e > c && e[-1] == ' '; e--)
            e[-1] = '\0';
        cells[n++] = c;
        p = next;
    }
    return n;
}

/* docs/CONFIG.md has a row for every key of the table, with the table's
 * default and bounds, and no row for a key the table lacks. */
static void test_docs_match_table(void **state)
{
    (void)state;
    FILE *f = fopen(OTTR_SOURCE_DIR "/docs/CONFIG.md", "r");
    assert_non_null(f);
    char line[1024];
    size_t rows = 0;
    char seen[256] = {0};
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "| `", 3) != 0)
            continue;
        char *cells[5];
        if (md_cells(line, cells, 5) < 5)
            fail_msg("short row: %s", line);
        ottr_config_doc d;
        size_t i = 0;
        for (; collector_config_doc_get(i, &d) == 0; i++) {
            char name[128];
            snprintf(name, sizeof(name), "`%s`", d.name);
            if (strcmp(cells[0], name) == 0)
                break;
        }
        if (i >= sizeof(seen) || collector_config_doc_get(i, &d) != 0)
            fail_msg("docs/CONFIG.md lists %s, which is not a key", cells[0]);
        char def[128];
        snprintf(def, sizeof(def), d.def ? "`%s`" : "%s", d.def ? d.def : "none");
        if (strcmp(cells[2], def) != 0)
            fail_msg("docs/CONFIG.md: %s has default %s, the table %s", d.name, cells[2], def);
        if (strcmp(cells[3], d.range) != 0)
            fail_msg("docs/CONFIG.md: %s has bounds \"%s\", the table \"%s\"", d.name, cells[3],
                     d.range);
        seen[i] = 1;
        rows++;
    }
    fclose(f);
    ottr_config_doc d;
    for (size_t i = 0; collector_config_doc_get(i, &d) == 0; i++)
        if (!seen[i])
            fail_msg("docs/CONFIG.md has no row for %s", d.name);
    assert_true(rows >= 24);
}

/* Every allocation of a load fails in turn: each run ends in a clean error (or
 * success when the failure was tolerated) and frees everything; ASan's leak
 * check at exit would see what was not. */
static void test_load_nomem(void **state)
{
    (void)state;
    char path[] = "/tmp/ottr-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, every_key, strlen(every_key)), (ssize_t)strlen(every_key));
    close(fd);
    unsigned long n;
    for (n = 1;; n++) {
        ottr_config c;
        char err[512] = "";
        failmalloc_arm(n);
        int rc = collector_config_init(&c);
        int init_ok = rc == 0;
        if (rc == 0)
            rc = collector_config_load_file(&c, path, err, sizeof(err));
        if (rc == 0)
            rc = collector_config_load_string(&c, "sampling:\n  decision_wait: 5s\n", err,
                                              sizeof(err));
        if (rc == 0)
            rc = collector_config_set(&c, "data_dir", "/tmp/elsewhere", err, sizeof(err));
        bool failed = failmalloc_failed();
        failmalloc_disarm();
        if (rc != 0) {
            assert_true(failed);
            if (init_ok && strstr(err, "out of memory") == NULL)
                fail_msg("allocation %lu: rc=%d err=\"%s\"", n, rc, err);
        }
        if (!failed) {
            /* Fewer than n allocations: the whole load went through. */
            assert_int_equal(rc, 0);
            assert_string_equal(c.data_dir, "/tmp/elsewhere");
            assert_string_equal(c.source, path);
            assert_int_equal(c.decision_wait_ns, 5ull * 1000000000);
            assert_non_null(c.policies);
            collector_config_free(&c);
            break;
        }
        collector_config_free(&c);
    }
    assert_true(n > 20);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_flags_override_file),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_invalid_flags),
        cmocka_unit_test(test_file_errors_name_file_and_line),
        cmocka_unit_test(test_durations_sizes_addrs),
        cmocka_unit_test(test_component_options),
        cmocka_unit_test(test_options_from_config),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_docs_match_table),
        cmocka_unit_test(test_load_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
