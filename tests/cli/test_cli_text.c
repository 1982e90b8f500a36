/* tests/cli/test_cli_text.c - the `ottr` client's command line and text helpers:
 * flags and exit codes, durations, times, URLs, trace IDs, TraceQL building,
 * terminal-safe text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

#define NOW_NS (1714557600ull * 1000000000ull) /* 2024-05-01T10:00:00Z */

static void check_duration(uint64_t ns, const char *want)
{
    char out[32];
    cli_fmt_duration(ns, out, sizeof(out));
    if (strcmp(out, want) != 0)
        fail_msg("duration %llu: got \"%s\", want \"%s\"", (unsigned long long)ns, out, want);
}

static void test_durations(void **state)
{
    (void)state;
    check_duration(0, "0s");
    check_duration(1, "1ns");
    check_duration(999, "999ns");
    check_duration(1000, "1\xc2\xb5s");
    check_duration(1500, "1.5\xc2\xb5s");
    check_duration(12345, "12.3\xc2\xb5s");
    check_duration(999499, "999\xc2\xb5s");
    check_duration(999700, "1ms"); /* rounds into the next unit */
    check_duration(1200000, "1.2ms");
    check_duration(5000000, "5ms");
    check_duration(123456789, "123ms");
    check_duration(2500000000ull, "2.5s");
    check_duration(59940000000ull, "59.9s");
    check_duration(65000000000ull, "1m05s");
    check_duration(3599000000000ull, "59m59s");
    check_duration(3600000000000ull, "1h00m");
    check_duration(11220000000000ull, "3h07m");
}

static void check_time(const char *s, int64_t want)
{
    int64_t got = -1;
    if (cli_parse_time(s, &got) != 0)
        fail_msg("time \"%s\" did not parse", s);
    if (got != want)
        fail_msg("time \"%s\": got %lld, want %lld", s, (long long)got, (long long)want);
}

static void test_times(void **state)
{
    (void)state;
    check_time("2024-05-01T10:00:00Z", 1714557600);
    check_time("2024-05-01T10:00:00.123456789Z", 1714557600);
    check_time("2024-05-01t10:00:00z", 1714557600);
    check_time("2024-05-01T12:00:00+02:00", 1714557600);
    check_time("2024-05-01T08:30:00-01:30", 1714557600);
    check_time("2024-05-01", 1714521600);
    check_time("1714557600", 1714557600);
    check_time("1714557600.75", 1714557600);
    check_time("1714557600000", 1714557600);       /* ms */
    check_time("1714557600000000", 1714557600);    /* µs */
    check_time("1714557600000000000", 1714557600); /* ns */
    int64_t x;
    const char *bad[] = {"",
                         "yesterday",
                         "2024-13-01T00:00:00Z",
                         "2024-05-01T10:00:00",
                         "2024-05-01T10:00Z",
                         "2024-05-01T10:00:00+2",
                         "-5",
                         "12abc",
                         "2024-05-01T10:00:00Zjunk"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cli_parse_time(bad[i], &x) == 0)
            fail_msg("time \"%s\" parsed but should not", bad[i]);
}

static void test_trace_ids(void **state)
{
    (void)state;
    char out[33];
    assert_int_equal(cli_trace_id_norm("4BF92F3577B34DA6A3CE929D0E0E4736", out), 0);
    assert_string_equal(out, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_int_equal(cli_trace_id_norm("abc", out), 0);
    assert_string_equal(out, "00000000000000000000000000000abc");
    assert_int_equal(cli_trace_id_norm("", out), -1);
    assert_int_equal(cli_trace_id_norm("xyz", out), -1);
    assert_int_equal(cli_trace_id_norm("4bf92f3577b34da6a3ce929d0e0e47360", out), -1);
    assert_int_equal(cli_trace_id_norm("../etc/passwd", out), -1);
}

static void test_urls(void **state)
{
    (void)state;
    ottr_buf b = {0};
    cli_url_escape(&b, "{resource.service.name=\"a b\"} ~_-.é");
    assert_string_equal(b.data, "%7Bresource.service.name%3D%22a%20b%22%7D%20~_-.%C3%A9");
    ottr_buf_reset(&b);
    cli_url_base(&b, "localhost:3200//");
    assert_string_equal(b.data, "http://localhost:3200");
    ottr_buf_reset(&b);
    cli_url_base(&b, "https://tempo.example/prefix/");
    assert_string_equal(b.data, "https://tempo.example/prefix");
    ottr_buf_reset(&b);
    cli_jaeger_base(&b, NULL, "http://127.0.0.1:3200/x");
    assert_string_equal(b.data, "http://127.0.0.1:16686");
    ottr_buf_reset(&b);
    cli_jaeger_base(&b, NULL, "myhost");
    assert_string_equal(b.data, "http://myhost:16686");
    ottr_buf_reset(&b);
    cli_jaeger_base(&b, NULL, "http://[::1]:3200");
    assert_string_equal(b.data, "http://[::1]:16686");
    ottr_buf_reset(&b);
    cli_jaeger_base(&b, "http://j:9/", "http://127.0.0.1:3200");
    assert_string_equal(b.data, "http://j:9");
    ottr_buf_free(&b);
}

static void test_terminal_text(void **state)
{
    (void)state;
    ottr_buf b = {0};
    /* escape sequences, C1 controls and invalid UTF-8 cannot reach the terminal */
    size_t n = cli_put_text(&b,
                            "a\x1b[31mb\xc2\x9b"
                            "c\xff\xe2\x82",
                            100);
    assert_string_equal(b.data, "a?[31mb?c???");
    assert_int_equal(n, 12);
    ottr_buf_reset(&b);
    n = cli_put_text(&b, "h\xc3\xa9llo w\xc3\xb6rld", 5);
    assert_string_equal(b.data, "h\xc3\xa9llo");
    assert_int_equal(n, 5);
    assert_int_equal(cli_text_cols("\xe2\x94\x9c\xe2\x94\x80 x"), 4);
    ottr_buf_reset(&b);
    ottr_buf_puts(&b, "a  \n  \nb c   \nend ");
    cli_rstrip_lines(&b, 0);
    assert_string_equal(b.data, "a\n\nb c\nend");
    ottr_buf_free(&b);
    assert_string_equal(cli_sgr(false, CLI_SGR_RED), "");
    assert_string_equal(cli_sgr(true, CLI_SGR_RED), CLI_SGR_RED);
    assert_string_equal(cli_service_color("checkout"), cli_service_color("checkout"));
}

/* ------------------------------------------------------------------ arguments */

static int parse(cli_opts *o, char *err, size_t errlen, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "ottr";
    va_list ap;
    va_start(ap, errlen);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    err[0] = '\0';
    return cli_args_parse(o, argc, argv, NOW_NS, false, err, errlen);
}

static void clear_env(void)
{
    unsetenv("OTTR_SERVER");
    unsetenv("OTTR_OTLP_ENDPOINT");
    unsetenv("OTTR_JAEGER_SERVER");
    unsetenv("NO_COLOR");
}

static void test_args_defaults_and_env(void **state)
{
    (void)state;
    clear_env();
    cli_opts o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof(err), "services", NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_SERVICES);
    assert_string_equal(o.server, "http://localhost:3200");
    assert_string_equal(o.otlp_endpoint, "http://localhost:4318/v1/traces");
    assert_null(o.jaeger_server);
    assert_false(o.color);
    assert_int_equal(o.timeout_ns, 30000000000ull);
    cli_opts_free(&o);

    setenv("OTTR_SERVER", "http://env:1", 1);
    setenv("OTTR_OTLP_ENDPOINT", "http://env:2/v1/traces", 1);
    assert_int_equal(parse(&o, err, sizeof(err), "services", NULL), 0);
    assert_string_equal(o.server, "http://env:1");
    assert_string_equal(o.otlp_endpoint, "http://env:2/v1/traces");
    cli_opts_free(&o);
    /* the flag beats the environment, before or after the command */
    assert_int_equal(parse(&o, err, sizeof(err), "--server", "http://flag:3", "services", NULL), 0);
    assert_string_equal(o.server, "http://flag:3");
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "services", "--server=http://flag:4", NULL), 0);
    assert_string_equal(o.server, "http://flag:4");
    cli_opts_free(&o);
    clear_env();

    /* colour: terminal only, NO_COLOR and --no-color turn it off, --color on */
    char *argv[] = {"ottr", "services", NULL};
    assert_int_equal(cli_args_parse(&o, 2, argv, NOW_NS, true, err, sizeof(err)), 0);
    assert_true(o.color);
    cli_opts_free(&o);
    setenv("NO_COLOR", "1", 1);
    assert_int_equal(cli_args_parse(&o, 2, argv, NOW_NS, true, err, sizeof(err)), 0);
    assert_false(o.color);
    cli_opts_free(&o);
    clear_env();
    char *argv2[] = {"ottr", "services", "--no-color", NULL};
    assert_int_equal(cli_args_parse(&o, 3, argv2, NOW_NS, true, err, sizeof(err)), 0);
    assert_false(o.color);
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "services", "--color", NULL), 0);
    assert_true(o.color);
    cli_opts_free(&o);
}

static void test_args_search(void **state)
{
    (void)state;
    clear_env();
    cli_opts o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof(err), "search", "--service", "checkout", "--name",
                           "GET /cart", "--tag", "http.method=GET", "--tag=resource.env=prod",
                           "--min-duration", "100ms", "--max-duration=2s", "--since", "1h",
                           "--limit", "5", NULL),
                     0);
    assert_int_equal(o.cmd, CLI_CMD_SEARCH);
    assert_string_equal(o.service, "checkout");
    assert_string_equal(o.name, "GET /cart");
    assert_int_equal(o.ntags, 2);
    assert_string_equal(o.tags[1], "resource.env=prod");
    assert_true(o.has_min && o.has_max);
    assert_int_equal(o.min_duration_ns, 100000000ull);
    assert_int_equal(o.max_duration_ns, 2000000000ull);
    assert_true(o.has_range);
    assert_int_equal(o.end_s, 1714557600);
    assert_int_equal(o.start_s, 1714557600 - 3600);
    assert_int_equal(o.limit, 5);

    ottr_buf q = {0};
    assert_int_equal(cli_traceql_build(&o, &q, err, sizeof(err)), 0);
    assert_string_equal(q.data, "{resource.service.name=\"checkout\" && name=\"GET /cart\" && "
                                ".http.method=\"GET\" && resource.env=\"prod\"}");
    ottr_buf_free(&q);
    ottr_buf path = {0};
    assert_int_equal(cli_search_path(&o, &path, err, sizeof(err)), 0);
    assert_non_null(strstr(path.data, "&limit=5&start=1714554000&end=1714557600"
                                      "&minDuration=100ms&maxDuration=2s"));
    assert_true(strncmp(path.data, "/api/search?q=%7Bresource.service.name%3D%22checkout%22", 54) ==
                0);
    ottr_buf_free(&path);
    cli_opts_free(&o);

    assert_int_equal(parse(&o, err, sizeof(err), "search", "--start", "2024-05-01T09:00:00Z",
                           "--end", "1714557600", NULL),
                     0);
    assert_int_equal(o.start_s, 1714554000);
    assert_int_equal(o.end_s, 1714557600);
    ottr_buf_reset(&q);
    assert_int_equal(cli_traceql_build(&o, &q, err, sizeof(err)), 0);
    assert_string_equal(q.data, "{}");
    ottr_buf_free(&q);
    cli_opts_free(&o);

    /* tags: quoting, scopes, intrinsics */
    assert_int_equal(parse(&o, err, sizeof(err), "search", "--tag", "status=error", "--tag",
                           "kind=server", "--tag", "span.x=a\"b\\c", "--tag", "odd key=v", "--tag",
                           ".any=1", "--tag", "status=not a word", NULL),
                     0);
    assert_int_equal(cli_traceql_build(&o, &q, err, sizeof(err)), 0);
    assert_string_equal(q.data, "{status=error && kind=server && span.x=\"a\\\"b\\\\c\" && "
                                ".\"odd key\"=\"v\" && .any=\"1\" && status=\"not a word\"}");
    ottr_buf_free(&q);
    cli_opts_free(&o);

    assert_int_equal(parse(&o, err, sizeof(err), "search", "--traceql", "{ duration > 1s }", NULL),
                     0);
    assert_int_equal(cli_traceql_build(&o, &q, err, sizeof(err)), 0);
    assert_string_equal(q.data, "{ duration > 1s }");
    ottr_buf_free(&q);
    cli_opts_free(&o);
}

static void test_args_deps_default_range(void **state)
{
    (void)state;
    cli_opts o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof(err), "deps", "--dot", NULL), 0);
    assert_true(o.dot);
    assert_true(o.has_range);
    assert_int_equal(o.end_s - o.start_s, 24 * 3600);
    cli_opts_free(&o);
}

static void expect_usage(const char *want_in_err, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "ottr";
    va_list ap;
    va_start(ap, want_in_err);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    cli_opts o;
    char err[256] = "";
    int rc = cli_args_parse(&o, argc, argv, NOW_NS, false, err, sizeof(err));
    cli_opts_free(&o);
    if (rc != CLI_EXIT_USAGE)
        fail_msg("'%s %s': exit %d, want 2 (usage)", argv[1], argc > 2 ? argv[2] : "", rc);
    if (strstr(err, want_in_err) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err, want_in_err);
    if (strchr(err, '\n') != NULL)
        fail_msg("error \"%s\" is more than one line", err);
}

static void test_args_usage_errors(void **state)
{
    (void)state;
    expect_usage("unknown command 'frobnicate'", "frobnicate", NULL);
    expect_usage("unknown option '--bogus'", "search", "--bogus", NULL);
    expect_usage("unknown option '-x'", "search", "-x", NULL);
    expect_usage("needs a value", "search", "--service", NULL);
    expect_usage("takes no value", "deps", "--dot=yes", NULL);
    expect_usage("does not apply to 'search'", "search", "--dot", NULL);
    expect_usage("does not apply to 'deps'", "deps", "--attrs", NULL);
    expect_usage("want one trace ID", "trace", NULL);
    expect_usage("want one trace ID", "trace", "a", "b", NULL);
    expect_usage("want one service name", "operations", NULL);
    expect_usage("want at least one file", "send", NULL);
    expect_usage("unexpected argument 'x'", "services", "x", NULL);
    expect_usage("bad duration \"fast\"", "search", "--min-duration", "fast", NULL);
    expect_usage("bad duration", "search", "--since", "-1h", NULL);
    expect_usage("--start: bad time", "search", "--start", "tomorrow", NULL);
    expect_usage("--end needs --start", "search", "--end", "1714557600", NULL);
    expect_usage("cannot be combined with --start", "search", "--since", "1h", "--start",
                 "1714557600", NULL);
    expect_usage("is after --end", "deps", "--start", "1714557600", "--end", "1714554000", NULL);
    expect_usage("--tag: want key=value", "search", "--tag", "novalue", NULL);
    expect_usage("--tag: want key=value", "search", "--tag", "=v", NULL);
    expect_usage("--limit", "search", "--limit", "0", NULL);
    expect_usage("--limit", "search", "--limit", "ten", NULL);
    expect_usage("--width", "trace", "abc", "--width", "10", NULL);
    expect_usage("--traceql cannot be combined", "search", "--traceql", "{}", "--service", "a",
                 NULL);
    expect_usage("larger than --max-duration", "search", "--min-duration", "2s", "--max-duration",
                 "1s", NULL);
    expect_usage("--json and --dot", "deps", "--json", "--dot", NULL);
    expect_usage("not both", "trace", "abc", "--file", "x.json", NULL);
    expect_usage("help: unknown command 'nope'", "help", "nope", NULL);
    expect_usage("--timeout", "services", "--timeout", "0", NULL);
}

static void test_args_help_and_version(void **state)
{
    (void)state;
    cli_opts o;
    char err[256];
    assert_int_equal(parse(&o, err, sizeof(err), NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_NONE);
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "--help", NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_HELP);
    cli_opts_free(&o);
    /* a command's --help needs none of its arguments */
    assert_int_equal(parse(&o, err, sizeof(err), "trace", "-h", NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_TRACE);
    assert_true(o.help);
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "help", "deps", NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_HELP);
    assert_int_equal(o.nargs, 1);
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "--version", NULL), 0);
    assert_int_equal(o.cmd, CLI_CMD_VERSION);
    cli_opts_free(&o);
    /* "--" ends the flags; "-" is an argument (stdin) */
    assert_int_equal(parse(&o, err, sizeof(err), "send", "-", "--", "--odd-name.json", NULL), 0);
    assert_int_equal(o.nargs, 2);
    assert_string_equal(o.args[0], "-");
    assert_string_equal(o.args[1], "--odd-name.json");
    cli_opts_free(&o);

    ottr_buf b = {0};
    cli_help_render(CLI_CMD_NONE, &b);
    /* the exit codes are documented in the help */
    assert_non_null(strstr(b.data, "Exit codes:"));
    assert_non_null(strstr(b.data, "3  server unreachable"));
    assert_non_null(strstr(b.data, "5  bad data"));
    ottr_buf_reset(&b);
    for (int c = CLI_CMD_TRACE; c <= CLI_CMD_HELP; c++) {
        ottr_buf_reset(&b);
        cli_help_render((cli_command)c, &b);
        assert_true(strncmp(b.data, "Usage: ottr ", 12) == 0);
    }
    ottr_buf_reset(&b);
    cli_version_render(&b);
    assert_true(strncmp(b.data, "ottr " OTTR_VERSION, 5 + strlen(OTTR_VERSION)) == 0);
    ottr_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),         cmocka_unit_test(test_times),
        cmocka_unit_test(test_trace_ids),         cmocka_unit_test(test_urls),
        cmocka_unit_test(test_terminal_text),     cmocka_unit_test(test_args_defaults_and_env),
        cmocka_unit_test(test_args_search),       cmocka_unit_test(test_args_deps_default_range),
        cmocka_unit_test(test_args_usage_errors), cmocka_unit_test(test_args_help_and_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
