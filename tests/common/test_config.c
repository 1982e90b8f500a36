/* tests/common/test_config.c - configuration: defaults, every key from YAML,
 * flag-style overrides, and invalid inputs with messages naming key and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

static void test_defaults(void **state)
{
    (void)state;
    ottr_config c;
    assert_int_equal(ottr_config_init(&c), 0);
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.grpc_addr, "0.0.0.0:4317");
    assert_string_equal(c.http_addr, "0.0.0.0:4318");
    assert_string_equal(c.query_addr, "0.0.0.0:3200");
    assert_string_equal(c.jaeger_addr, "0.0.0.0:16686");
    assert_string_equal(c.log_level, "info");
    assert_int_equal(c.grpc_max_recv_bytes, 64ull << 20);
    assert_int_equal(c.http_max_body_bytes, 64ull << 20);
    assert_int_equal(c.store_sync, OTTR_SYNC_INTERVAL);
    assert_int_equal(c.store_retention_ns, 72ull * 3600 * 1000000000);
    assert_int_equal(c.decision_wait_ns, 30ull * 1000000000);
    assert_int_equal(c.decision_wait_after_root_ns, 2ull * 1000000000);
    assert_true(c.grpc_threads >= 2);
    assert_null(c.policies);
    ottr_config_free(&c);
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
    assert_int_equal(ottr_config_init(&c), 0);
    assert_int_equal(ottr_config_load_string(&c, every_key, err, sizeof(err)), 0);
    assert_string_equal(c.data_dir, "/var/lib/ottr");
    assert_string_equal(c.log_level, "debug");
    assert_string_equal(c.grpc_addr, "127.0.0.1:14317");
    assert_int_equal(c.grpc_max_recv_bytes, 16ull << 20);
    assert_int_equal(c.grpc_threads, 3);
    assert_string_equal(c.http_addr, "[::1]:14318");
    assert_int_equal(c.http_max_body_bytes, 1000000);
    assert_int_equal(c.http_threads, 1);
    assert_string_equal(c.query_addr, ":13200");
    assert_string_equal(c.jaeger_addr, "localhost:26686");
    assert_int_equal(c.store_sync, OTTR_SYNC_ALWAYS);
    assert_int_equal(c.store_sync_interval_ns, 250ull * 1000000);
    assert_int_equal(c.store_retention_ns, 24ull * 3600 * 1000000000);
    assert_int_equal(c.store_max_trace_bytes, 10ull << 20);
    assert_int_equal(c.store_block_cache_bytes, 64ull << 20);
    assert_int_equal(c.decision_wait_ns, 10ull * 1000000000);
    assert_int_equal(c.decision_wait_after_root_ns, 500ull * 1000000);
    assert_int_equal(c.max_spans_per_trace, 5000);
    assert_int_equal(c.max_trace_bytes, 2ull << 20);
    assert_int_equal(c.max_buffered_traces, 20000);
    assert_int_equal(c.max_memory_bytes, 128ull << 20);
    assert_int_equal(c.decision_cache_size, 5000);
    assert_non_null(c.policies);
    assert_int_equal(c.policies->type, OTTR_YAML_SEQ);
    const ottr_yaml_node *p = c.policies->child;
    assert_non_null(p);
    assert_string_equal(ottr_yaml_get(p, "name")->scalar, "errors");
    assert_string_equal(ottr_yaml_get(p, "type")->scalar, "status_code");
    ottr_config_free(&c);
}

static void test_overrides(void **state)
{
    (void)state;
    ottr_config c;
    char err[512] = "";
    assert_int_equal(ottr_config_init(&c), 0);
    assert_int_equal(ottr_config_load_string(&c, "grpc:\n  addr: 127.0.0.1:1\n", err, sizeof(err)),
                     0);
    /* A flag applied after the file wins. */
    assert_int_equal(ottr_config_set(&c, "grpc.addr", "127.0.0.1:0", err, sizeof(err)), 0);
    assert_string_equal(c.grpc_addr, "127.0.0.1:0");
    assert_int_equal(ottr_config_set(&c, "data_dir", "/tmp/x", err, sizeof(err)), 0);
    assert_string_equal(c.data_dir, "/tmp/x");
    assert_int_equal(ottr_config_set(&c, "log_level", "warn", err, sizeof(err)), 0);
    assert_string_equal(c.log_level, "warn");
    /* The collector's name for the after-root wait is accepted too. */
    assert_int_equal(ottr_config_load_string(&c,
                                             "sampling:\n  decision_wait_after_root_received: 3s\n",
                                             err, sizeof(err)),
                     0);
    assert_int_equal(c.decision_wait_after_root_ns, 3ull * 1000000000);
    ottr_config_free(&c);
}

typedef struct bad_case {
    const char *yaml;
    const char *want; /* substring of the message */
} bad_case;

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
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ottr_config c;
        char err[512] = "";
        assert_int_equal(ottr_config_init(&c), 0);
        int rc = ottr_config_load_string(&c, cases[i].yaml, err, sizeof(err));
        if (rc == 0 || strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: rc=%d err=\"%s\" want \"%s\"", i, rc, err, cases[i].want);
        ottr_config_free(&c);
    }
}

static void test_invalid_flags(void **state)
{
    (void)state;
    ottr_config c;
    char err[512] = "";
    assert_int_equal(ottr_config_init(&c), 0);
    assert_int_equal(ottr_config_set(&c, "grpc.addr", "nope", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "grpc.addr: bad address \"nope\""));
    assert_int_equal(ottr_config_set(&c, "store.retention", "1fortnight", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "store.retention: bad duration"));
    assert_int_equal(ottr_config_set(&c, "bogus", "1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bogus: unknown key"));
    /* Defaults are untouched by failed sets. */
    assert_string_equal(c.grpc_addr, "0.0.0.0:4317");
    ottr_config_free(&c);
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
    assert_int_equal(ottr_config_init(&c), 0);
    assert_int_equal(ottr_config_load_file(&c, path, err, sizeof(err)), -1);
    char want[600];
    snprintf(want, sizeof(want), "%s:4: store.retention: bad duration \"forever\"", path);
    assert_non_null(strstr(err, want));
    ottr_config_free(&c);
    assert_int_equal(ottr_config_init(&c), 0);
    assert_int_equal(ottr_config_load_file(&c, "/nonexistent/ottr.yaml", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/ottr.yaml: No such file"));
    ottr_config_free(&c);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_invalid_flags),
        cmocka_unit_test(test_file_errors_name_file_and_line),
        cmocka_unit_test(test_durations_sizes_addrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
