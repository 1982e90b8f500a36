/* tests/cli/test_cli_tree.c - the trace model and tree renderer of `ottr trace`:
 * the known multi-service trace against its expected text, orphans, cycles,
 * duplicate IDs, Tempo's JSON variants, attributes of every type, hostile names,
 * deep traces and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cli/cli.h"

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", OTTR_TEST_DATA, name);
    ottr_buf b = {0};
    char err[256];
    if (cli_read_file(path, &b, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return ottr_buf_detach(&b, len);
}

/* Replaces the trace's start time on the second line by "START", as the expected
 * files have it (the integration test shifts the trace to the present). */
static void normalise_start(char *text)
{
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    assert_true(strncmp(nl + 1, "start ", 6) == 0);
    char *t = nl + 7;
    char *end = strchr(t, ' ');
    assert_non_null(end);
    memmove(t + 5, end, strlen(end) + 1);
    memcpy(t, "START", 5);
}

static char *render(const char *json, size_t len, int width, bool color, bool attrs)
{
    cli_trace *t = NULL;
    char err[256];
    int rc = cli_trace_parse(json, len, &t, err, sizeof(err));
    if (rc != CLI_EXIT_OK)
        fail_msg("parse failed: %s", err);
    ottr_buf out = {0};
    cli_render_opts r = {width, color, attrs};
    cli_trace_render(t, &r, &out);
    cli_trace_free(t);
    assert_false(out.oom);
    return ottr_buf_detach(&out, NULL);
}

static void expect_text(const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fail_msg("rendered text differs.\n--- got:\n%s\n--- want:\n%s", got, want);
}

static void test_known_trace(void **state)
{
    (void)state;
    size_t len, wlen;
    char *json = slurp("cli_checkout_trace.json", &len);
    const char *cases[][2] = {{"cli_checkout_tree.txt", "0"}, {"cli_checkout_tree_attrs.txt", "1"}};
    for (size_t i = 0; i < 2; i++) {
        char *want = slurp(cases[i][0], &wlen);
        char *got = render(json, len, 100, false, cases[i][1][0] == '1');
        assert_non_null(strstr(got, "start 2023-11-14T22:13:20.000Z  duration 260ms"));
        normalise_start(got);
        expect_text(got, want);
        free(got);
        free(want);
    }

    cli_trace *t;
    char err[128];
    assert_int_equal(cli_trace_parse(json, len, &t, err, sizeof(err)), CLI_EXIT_OK);
    assert_int_equal(t->nspans, 9);
    assert_int_equal(t->nservices, 5);
    assert_int_equal(t->nerrors, 2);
    assert_int_equal(t->norphans, 1);
    assert_string_equal(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_int_equal(t->end_ns - t->start_ns, 260000000ull);
    cli_trace_free(t);

    /* colours only when asked, and the plain text stays the same width */
    char *plain = render(json, len, 100, false, false);
    char *color = render(json, len, 100, true, false);
    assert_null(strchr(plain, '\x1b'));
    assert_non_null(strstr(color, CLI_SGR_RED "! " CLI_SGR_RESET));
    free(plain);
    free(color);

    /* every line fits the width */
    const int widths[] = {40, 60, 100, 200};
    for (size_t w = 0; w < 4; w++) {
        char *txt = render(json, len, widths[w], false, false);
        for (char *line = txt; *line;) {
            char *nl = strchr(line, '\n');
            *nl = '\0';
            if (cli_text_cols(line) > (size_t)widths[w])
                fail_msg("width %d: line too long: \"%s\"", widths[w], line);
            line = nl + 1;
        }
        free(txt);
    }
    free(json);
}

/* Tempo's "batches", base64 IDs, enum names and numbers as JSON numbers. */
static void test_tempo_variants(void **state)
{
    (void)state;
    const char *json =
        "{\"batches\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
        "{\"stringValue\":\"api\"}}]},\"instrumentationLibrarySpans\":[{\"spans\":["
        "{\"traceId\":\"S/kvNXezTaajzpKdDg5HNg==\",\"spanId\":\"AAAAAAAAAAE=\",\"name\":\"root\","
        "\"kind\":\"SPAN_KIND_SERVER\",\"startTimeUnixNano\":1000000000,"
        "\"endTimeUnixNano\":\"1002000000\",\"status\":{\"code\":\"STATUS_CODE_ERROR\"}},"
        "{\"trace_id\":\"S/kvNXezTaajzpKdDg5HNg==\",\"span_id\":\"AAAAAAAAAAI=\","
        "\"parent_span_id\":\"AAAAAAAAAAE=\",\"name\":\"child\",\"kind\":3,"
        "\"start_time_unix_nano\":\"1000500000\",\"end_time_unix_nano\":\"1001000000\"}]}]}]}";
    cli_trace *t;
    char err[128];
    assert_int_equal(cli_trace_parse(json, strlen(json), &t, err, sizeof(err)), CLI_EXIT_OK);
    assert_int_equal(t->nspans, 2);
    assert_string_equal(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(t->spans[0].span_id, "0000000000000001");
    assert_int_equal(t->spans[0].kind, 2);
    assert_int_equal(t->spans[0].status, 2);
    assert_int_equal(t->spans[1].kind, 3);
    assert_int_equal(t->spans[1].parent, 0);
    assert_int_equal(t->norphans, 0);
    assert_int_equal(t->nerrors, 1);
    cli_trace_free(t);

    /* Tempo's v2 answer and the Jaeger v3 wrapper */
    const char *v2 = "{\"trace\":{\"resourceSpans\":[]},\"status\":\"COMPLETE\"}";
    assert_int_equal(cli_trace_parse(v2, strlen(v2), &t, err, sizeof(err)), CLI_EXIT_OK);
    assert_int_equal(t->nspans, 0);
    cli_trace_free(t);

    ottr_buf out = {0};
    assert_int_equal(cli_trace_to_otlp_json(json, strlen(json), &out, err, sizeof(err)),
                     CLI_EXIT_OK);
    assert_non_null(strstr(out.data, "\"resourceSpans\""));
    assert_null(strstr(out.data, "\"batches\""));
    ottr_buf_free(&out);
}

#define SPAN(id, parent, name, start, end)                                                         \
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"" id "\","                     \
    "\"parentSpanId\":\"" parent "\",\"name\":\"" name "\",\"startTimeUnixNano\":\"" start "\","   \
    "\"endTimeUnixNano\":\"" end "\"}"
#define DOC(spans)                                                                                 \
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[]},\"scopeSpans\":[{\"spans\":[" spans     \
    "]}]}]}"

static void test_orphans_cycles_duplicates(void **state)
{
    (void)state;
    /* b and c point at each other; d is its own parent; e's parent is missing;
     * f duplicates a's ID; g has an invalid parent ID. */
    const char *json = DOC(SPAN("000000000000000a", "", "a", "100", "200") "," SPAN(
        "000000000000000b", "000000000000000c", "b", "110",
        "120") "," SPAN("000000000000000c", "000000000000000b", "c", "115",
                        "118") "," SPAN("000000000000000d", "000000000000000d", "d", "130",
                                        "140") "," SPAN("000000000000000e", "00000000000000ff", "e",
                                                        "150",
                                                        "160") "," SPAN("000000000000000a", "", "f",
                                                                        "170",
                                                                        "175") "," SPAN("0000000000"
                                                                                        "000011",
                                                                                        "zz", "g",
                                                                                        "180",
                                                                                        "190"));
    cli_trace *t;
    char err[128];
    assert_int_equal(cli_trace_parse(json, strlen(json), &t, err, sizeof(err)), CLI_EXIT_OK);
    assert_int_equal(t->nspans, 7);
    assert_true(t->spans[5].dup);
    /* one of b/c is lifted to the top, the other hangs below it */
    assert_true(t->spans[1].orphan != t->spans[2].orphan);
    assert_true(t->spans[3].orphan);
    assert_true(t->spans[4].orphan);
    assert_true(t->spans[6].orphan);
    assert_int_equal(t->norphans, 4);
    /* every span is drawn exactly once */
    ottr_buf out = {0};
    cli_render_opts r = {100, false, true};
    cli_trace_render(t, &r, &out);
    const char *names[] = {": a ", ": b ", ": c ", ": d ", ": e ", ": f ", ": g "};
    for (size_t i = 0; i < 7; i++) {
        const char *p = strstr(out.data, names[i]);
        if (p == NULL || strstr(p + 1, names[i]) != NULL)
            fail_msg("span %s drawn %s:\n%s", names[i], p ? "twice" : "never", out.data);
    }
    assert_non_null(strstr(out.data, "(duplicate ID)"));
    assert_non_null(strstr(out.data, "parent 00000000000000ff"));
    ottr_buf_free(&out);
    cli_trace_free(t);
}

static void test_children_sorted_by_start(void **state)
{
    (void)state;
    const char *json =
        DOC(SPAN("0000000000000003", "0000000000000001", "late", "300", "400") "," SPAN(
            "0000000000000001", "", "root", "100",
            "500") "," SPAN("0000000000000002", "0000000000000001", "early", "150",
                            "200") "," SPAN("0000000000000004", "0000000000000002", "nested", "160",
                                            "170"));
    char *txt = render(json, strlen(json), 80, false, false);
    const char *root = strstr(txt, "unknown_service: root");
    const char *early = strstr(txt, "\xe2\x94\x9c\xe2\x94\x80 unknown_service: early");
    const char *nested =
        strstr(txt, "\xe2\x94\x82  \xe2\x94\x94\xe2\x94\x80 unknown_service: nested");
    const char *late = strstr(txt, "\xe2\x94\x94\xe2\x94\x80 unknown_service: late");
    if (!root || !early || !nested || !late || !(root < early && early < nested && nested < late))
        fail_msg("wrong order or glyphs:\n%s", txt);
    free(txt);
}

static void test_attribute_values(void **state)
{
    (void)state;
    const char *json =
        "{\"stringValue\":\"a\\\"b\\n\\u001b[2J\"}\n"
        "{\"boolValue\":true}\n{\"intValue\":\"-42\"}\n{\"intValue\":7}\n"
        "{\"doubleValue\":0.1}\n{\"doubleValue\":\"NaN\"}\n{\"bytesValue\":\"AAEC/w==\"}\n"
        "{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},{\"stringValue\":\"x\"}]}}\n"
        "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":{\"arrayValue\":{}}}]}}\n"
        "{}\n";
    const char *want[] = {"\"a\\\"b\\n\\u001b[2J\"",
                          "true",
                          "-42",
                          "7",
                          "0.1",
                          "NaN",
                          "0x000102ff",
                          "[1, \"x\"]",
                          "{k=[]}",
                          "null"};
    const char *p = json;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *nl = strchr(p, '\n');
        char err[64];
        /* each value as an attribute of a trace, decoded as ottr trace does */
        ottr_buf doc = {0};
        ottr_buf_printf(&doc,
                        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"k\","
                        "\"value\":%.*s}]}}]}",
                        (int)(nl - p), p);
        ottr_arena a;
        ottr_arena_init(&a, 4096, 0);
        otlp_traces_data *td;
        assert_int_equal(
            otlp_json_decode_traces(&a, doc.data, doc.len, &td, NULL, err, sizeof(err)), OTTR_OK);
        const otlp_any *v = td->resource_spans[0]->resource->attributes[0]->value;
        ottr_buf out = {0};
        cli_anyvalue_render(v, &out);
        if (strcmp(out.data, want[i]) != 0)
            fail_msg("value %zu: got %s, want %s", i, out.data, want[i]);
        ottr_buf_free(&out);
        ottr_buf_free(&doc);
        ottr_arena_free(&a);
        p = nl + 1;
    }
}

static void test_hostile_names(void **state)
{
    (void)state;
    const char *json =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"stringValue\":\"evil\\u001b]0;pwned\\u0007\"}}]},\"scopeSpans\":[{"
        "\"spans\":[{\"spanId\":\"0000000000000001\",\"name\":\"\\u001b[31mred\\r\\nfake line\","
        "\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"0\",\"attributes\":[{\"key\":"
        "\"k\\u001b\",\"value\":{\"stringValue\":\"v\\u009b\"}}]}]}]}]}";
    char *txt = render(json, strlen(json), 100, false, true);
    assert_null(strchr(txt, '\x1b'));
    assert_null(strchr(txt, '\x07'));
    assert_null(strchr(txt, '\r'));
    assert_null(strstr(txt, "\xc2\x9b"));
    assert_non_null(strstr(txt, "evil?]0;pwned?: ?[31mred??fake line"));
    /* end before start is clamped: a zero-length span */
    assert_non_null(strstr(txt, "0s       0s"));
    assert_non_null(strstr(txt, "(unknown ID)"));
    free(txt);
}

static void test_deep_and_wide(void **state)
{
    (void)state;
    /* a 3000-deep chain renders in linear time with a depth counter */
    const size_t n = 3000;
    ottr_buf doc = {0};
    ottr_buf_puts(&doc, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[");
    for (size_t i = 1; i <= n; i++) {
        if (i > 1)
            ottr_buf_putc(&doc, ',');
        ottr_buf_printf(&doc,
                        "{\"spanId\":\"%016zx\",\"parentSpanId\":\"%016zx\",\"name\":\"s%zu\","
                        "\"startTimeUnixNano\":\"%zu\",\"endTimeUnixNano\":\"%zu\"}",
                        i, i - 1, i, 1000 + i, 100000 - i);
    }
    ottr_buf_puts(&doc, "]}]}]}");
    char *txt = render(doc.data, doc.len, 100, false, false);
    assert_non_null(
        strstr(txt, "2999\xe2\x80\xa6 \xe2\x94\x94\xe2\x94\x80 unknown_service: s3000"));
    size_t lines = 0;
    for (const char *p = txt; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4 + n);
    free(txt);
    ottr_buf_free(&doc);
}

static void expect_bad(const char *json)
{
    cli_trace *t = NULL;
    char err[128] = "";
    int rc = cli_trace_parse(json, strlen(json), &t, err, sizeof(err));
    if (rc != CLI_EXIT_BADDATA)
        fail_msg("\"%s\": got %d, want bad data", json, rc);
    assert_null(t);
    assert_true(err[0] != '\0');
}

static void test_bad_input(void **state)
{
    (void)state;
    expect_bad("");
    expect_bad("not json");
    expect_bad("{\"batches\":[");
    expect_bad("{\"batches\":5}");
    expect_bad("[1,2,3]");
    expect_bad("{\"something\":\"else\"}");
    expect_bad("{} trailing");
    /* nesting beyond the parser's depth is refused, not a crash */
    ottr_buf deep = {0};
    for (int i = 0; i < 10000; i++)
        ottr_buf_putc(&deep, '[');
    expect_bad(deep.data);
    ottr_buf_free(&deep);

    /* no spans is a valid, empty trace (the command reports "not found") */
    const char *empty[] = {"{}", "{\"batches\":[]}", "{\"resourceSpans\":[{}]}",
                           "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[1,\"x\",null]}]}]}"};
    for (size_t i = 0; i < 4; i++) {
        cli_trace *t;
        char err[128];
        assert_int_equal(cli_trace_parse(empty[i], strlen(empty[i]), &t, err, sizeof(err)),
                         CLI_EXIT_OK);
        assert_int_equal(t->nspans, 0);
        cli_trace_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_trace),
        cmocka_unit_test(test_tempo_variants),
        cmocka_unit_test(test_orphans_cycles_duplicates),
        cmocka_unit_test(test_children_sorted_by_start),
        cmocka_unit_test(test_attribute_values),
        cmocka_unit_test(test_hostile_names),
        cmocka_unit_test(test_deep_and_wide),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
