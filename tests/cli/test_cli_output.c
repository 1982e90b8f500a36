/* tests/cli/test_cli_output.c - the tables and lists of `ottr search`, `deps`,
 * `services`/`operations`, and what `ottr send` makes of files and replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "google/rpc/status.pb-c.h"
#include "cli/cli.h"

static void expect_text(const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fail_msg("text differs.\n--- got:\n%s\n--- want:\n%s", got, want);
}

/* ------------------------------------------------------------------ search */

static const char search_json[] =
    "{\"traces\":[{\"traceID\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"rootServiceName\":"
    "\"frontend\",\"rootTraceName\":\"GET /checkout\",\"startTimeUnixNano\":"
    "\"1700000000000000000\",\"durationMs\":260,\"spanSets\":[],\"serviceStats\":{"
    "\"frontend\":{\"spanCount\":2},\"checkout\":{\"spanCount\":3,\"errorCount\":1},"
    "\"payment\":{\"spanCount\":\"1\",\"errorCount\":1}}},"
    "{\"traceID\":\"2f3e0cee77ae5dc9c17ade3689eb2e54\",\"rootServiceName\":"
    "\"<root span not yet received>\",\"startTimeUnixNano\":\"1700000001500000000\"}],"
    "\"metrics\":{\"inspectedTraces\":2}}";

static void test_search_table(void **state)
{
    (void)state;
    ottr_buf out = {0};
    size_t n;
    char err[128];
    cli_render_opts r = {100, false, false};
    assert_int_equal(
        cli_search_render(search_json, strlen(search_json), &r, &out, &n, err, sizeof(err)),
        CLI_EXIT_OK);
    assert_int_equal(n, 2);
    expect_text(out.data,
                "TRACE ID                          ROOT SERVICE                  ROOT NAME      "
                "START                     DURATION  SPANS  ERRORS\n"
                "4bf92f3577b34da6a3ce929d0e0e4736  frontend                      GET /checkout  "
                "2023-11-14T22:13:20.000Z     260ms      6       2\n"
                "2f3e0cee77ae5dc9c17ade3689eb2e54  <root span not yet received>                 "
                "2023-11-14T22:13:21.500Z        0s      -       -\n");
    ottr_buf_free(&out);

    const char *empty[] = {"{\"traces\":[]}", "{\"traces\":null}", "{}"};
    for (size_t i = 0; i < 3; i++) {
        ottr_buf o2 = {0};
        assert_int_equal(
            cli_search_render(empty[i], strlen(empty[i]), &r, &o2, &n, err, sizeof(err)),
            CLI_EXIT_OK);
        assert_int_equal(n, 0);
        assert_int_equal(o2.len, 0);
        ottr_buf_free(&o2);
    }
    const char *bad[] = {"<html>", "{\"traces\":{}}", "[]", ""};
    for (size_t i = 0; i < 4; i++) {
        ottr_buf o3 = {0};
        assert_int_equal(cli_search_render(bad[i], strlen(bad[i]), &r, &o3, &n, err, sizeof(err)),
                         CLI_EXIT_BADDATA);
        ottr_buf_free(&o3);
    }
}

/* ------------------------------------------------------------------ deps */

static const char graph_json[] =
    "{\"start\":1,\"end\":2,\"nodes\":[{\"service\":\"frontend\",\"calls\":10,\"errors\":0,"
    "\"latencyMs\":{\"p50\":1,\"p95\":2,\"p99\":3}},{\"service\":\"lonely\",\"calls\":1,"
    "\"errors\":0,\"latencyMs\":{\"p50\":1,\"p95\":1,\"p99\":1}}],\"edges\":["
    "{\"client\":\"user\",\"server\":\"frontend\",\"connectionType\":\"\",\"calls\":10,"
    "\"errors\":0,\"latencyMs\":{\"p50\":100,\"p95\":250.5,\"p99\":300}},"
    "{\"client\":\"checkout\",\"server\":\"payment\",\"connectionType\":\"\",\"calls\":4,"
    "\"errors\":1,\"latencyMs\":{\"p50\":100,\"p95\":155,\"p99\":160}},"
    "{\"client\":\"inventory\",\"server\":\"postgresql\",\"connectionType\":\"database\","
    "\"calls\":7,\"errors\":0,\"latencyMs\":{\"p50\":0.01,\"p95\":0.03,\"p99\":0.05}},"
    "{\"client\":\"frontend\",\"server\":\"checkout\",\"connectionType\":\"\",\"calls\":\"4\","
    "\"errors\":0},"
    "{\"client\":\"x\\\"y\",\"server\":\"q\\nz\",\"calls\":0,\"errors\":0}]}";

static void test_deps_table_and_dot(void **state)
{
    (void)state;
    ottr_buf out = {0};
    size_t n;
    char err[128];
    cli_render_opts r = {100, false, false};
    assert_int_equal(
        cli_deps_render(graph_json, strlen(graph_json), false, &r, &out, &n, err, sizeof(err)),
        CLI_EXIT_OK);
    assert_int_equal(n, 5);
    expect_text(
        out.data,
        "CLIENT        SERVER      TYPE      CALLS  ERRORS  ERROR%    P95\n"
        "checkout   \xe2\x86\x92  payment     -             4       1   25.0%  155ms\n"
        "frontend   \xe2\x86\x92  checkout    -             4       0    0.0%      -\n"
        "inventory  \xe2\x86\x92  postgresql  database      7       0    0.0%   30\xc2\xb5s\n"
        "user       \xe2\x86\x92  frontend    -            10       0    0.0%  250ms\n"
        "x\"y        \xe2\x86\x92  q?z         -             0       0       -      -\n");
    ottr_buf_reset(&out);

    assert_int_equal(
        cli_deps_render(graph_json, strlen(graph_json), true, &r, &out, &n, err, sizeof(err)),
        CLI_EXIT_OK);
    expect_text(out.data,
                "digraph ottr {\n"
                "  rankdir=LR;\n"
                "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
                "  edge [fontname=\"Helvetica\", fontsize=10];\n"
                "  \"checkout\";\n"
                "  \"frontend\";\n"
                "  \"inventory\";\n"
                "  \"lonely\";\n"
                "  \"payment\";\n"
                "  \"postgresql\" [shape=cylinder, style=\"\"];\n"
                "  \"q z\";\n"
                "  \"user\";\n"
                "  \"x\\\"y\";\n"
                "  \"checkout\" -> \"payment\" [label=\"4 calls\\n1 errors\\np95 155ms\", "
                "color=red, fontcolor=red];\n"
                "  \"frontend\" -> \"checkout\" [label=\"4 calls\"];\n"
                "  \"inventory\" -> \"postgresql\" [label=\"7 calls\\np95 30\xc2\xb5s\"];\n"
                "  \"user\" -> \"frontend\" [label=\"10 calls\\np95 250ms\"];\n"
                "  \"x\\\"y\" -> \"q z\" [label=\"0 calls\"];\n"
                "}\n");
    ottr_buf_free(&out);

    /* no edges: an empty table, a valid empty graph */
    const char *none = "{\"nodes\":[],\"edges\":[]}";
    ottr_buf o2 = {0};
    assert_int_equal(cli_deps_render(none, strlen(none), false, &r, &o2, &n, err, sizeof(err)),
                     CLI_EXIT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(o2.len, 0);
    assert_int_equal(cli_deps_render(none, strlen(none), true, &r, &o2, &n, err, sizeof(err)),
                     CLI_EXIT_OK);
    assert_non_null(strstr(o2.data, "digraph ottr {"));
    ottr_buf_free(&o2);
    assert_int_equal(cli_deps_render("{\"edges\":3}", 11, false, &r, &o2, &n, err, sizeof(err)),
                     CLI_EXIT_BADDATA);
    assert_int_equal(cli_deps_render("nope", 4, true, &r, &o2, &n, err, sizeof(err)),
                     CLI_EXIT_BADDATA);
    ottr_buf_free(&o2);
}

/* ------------------------------------------------------------------ tag values */

static void test_tag_values(void **state)
{
    (void)state;
    const char *v2 = "{\"tagValues\":[{\"type\":\"string\",\"value\":\"payment\"},"
                     "{\"type\":\"string\",\"value\":\"checkout\"},{\"type\":\"string\","
                     "\"value\":\"payment\"},{\"type\":\"int\"}]}";
    const char *v1 = "{\"tagValues\":[\"b\",\"a\"]}";
    const char *jaeger = "{\"data\":[\"GET /x\",\"POST /y\"],\"total\":2,\"errors\":null}";
    ottr_buf out = {0};
    size_t n;
    char err[128];
    assert_int_equal(cli_tag_values_render(v2, strlen(v2), false, &out, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    expect_text(out.data, "checkout\npayment\n");
    ottr_buf_reset(&out);
    assert_int_equal(cli_tag_values_render(v2, strlen(v2), true, &out, &n, err, sizeof(err)), 0);
    expect_text(out.data, "[\"checkout\",\"payment\"]\n");
    ottr_buf_reset(&out);
    assert_int_equal(cli_tag_values_render(v1, strlen(v1), false, &out, &n, err, sizeof(err)), 0);
    expect_text(out.data, "a\nb\n");
    ottr_buf_reset(&out);
    assert_int_equal(
        cli_tag_values_render(jaeger, strlen(jaeger), false, &out, &n, err, sizeof(err)), 0);
    expect_text(out.data, "GET /x\nPOST /y\n");
    ottr_buf_reset(&out);
    const char *empty = "{\"data\":null}";
    assert_int_equal(cli_tag_values_render(empty, strlen(empty), false, &out, &n, err, sizeof(err)),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(
        cli_tag_values_render("{\"tagValues\":\"x\"}", 17, false, &out, &n, err, sizeof(err)),
        CLI_EXIT_BADDATA);
    assert_int_equal(cli_tag_values_render("[", 1, false, &out, &n, err, sizeof(err)),
                     CLI_EXIT_BADDATA);
    ottr_buf_free(&out);
}

/* ------------------------------------------------------------------ send */

static const char otlp_json[] =
    "  {\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
    "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\",\"name\":\"a\"},"
    "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060709\","
    "\"name\":\"b\"}]}]}]}";

static size_t pack_request(uint8_t **out)
{
    otlp_span spans[3], *sp[3];
    uint8_t tid[16] = {1, 2, 3}, sid[8] = {1};
    for (int i = 0; i < 3; i++) {
        opentelemetry__proto__trace__v1__span__init(&spans[i]);
        spans[i].trace_id.data = tid;
        spans[i].trace_id.len = 16;
        spans[i].span_id.data = sid;
        spans[i].span_id.len = 8;
        spans[i].name = "s";
        sp[i] = &spans[i];
    }
    otlp_scope_spans ss;
    opentelemetry__proto__trace__v1__scope_spans__init(&ss);
    ss.spans = sp;
    ss.n_spans = 3;
    otlp_scope_spans *ssp = &ss;
    otlp_resource_spans rs;
    opentelemetry__proto__trace__v1__resource_spans__init(&rs);
    rs.scope_spans = &ssp;
    rs.n_scope_spans = 1;
    otlp_resource_spans *rsp = &rs;
    otlp_request req;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    req.resource_spans = &rsp;
    req.n_resource_spans = 1;
    size_t len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &req);
    *out = malloc(len);
    assert_non_null(*out);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, *out);
    return len;
}

static size_t gzip_bytes(const void *in, size_t len, uint8_t *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    return n;
}

static void test_payload_inspect(void **state)
{
    (void)state;
    cli_payload p;
    char err[256];
    /* JSON by name, and by content whatever the name */
    assert_int_equal(cli_payload_inspect("t.json", (const uint8_t *)otlp_json, strlen(otlp_json),
                                         &p, err, sizeof(err)),
                     CLI_EXIT_OK);
    assert_string_equal(p.ctype, "application/json");
    assert_int_equal(p.nspans, 2);
    assert_false(p.gzip);
    assert_int_equal(p.rewritten.len, 0);
    cli_payload_free(&p);
    assert_int_equal(cli_payload_inspect("-", (const uint8_t *)otlp_json, strlen(otlp_json), &p,
                                         err, sizeof(err)),
                     CLI_EXIT_OK);
    assert_string_equal(p.ctype, "application/json");
    cli_payload_free(&p);

    /* protobuf */
    uint8_t *pb;
    size_t pblen = pack_request(&pb);
    assert_int_equal(cli_payload_inspect("t.pb", pb, pblen, &p, err, sizeof(err)), CLI_EXIT_OK);
    assert_string_equal(p.ctype, "application/x-protobuf");
    assert_int_equal(p.nspans, 3);
    cli_payload_free(&p);

    /* gzip of either: sent compressed, inspected inside */
    uint8_t gz[4096];
    size_t gzlen = gzip_bytes(pb, pblen, gz, sizeof(gz));
    assert_int_equal(cli_payload_inspect("t.pb.gz", gz, gzlen, &p, err, sizeof(err)), CLI_EXIT_OK);
    assert_true(p.gzip);
    assert_string_equal(p.ctype, "application/x-protobuf");
    assert_int_equal(p.nspans, 3);
    cli_payload_free(&p);
    gzlen = gzip_bytes(otlp_json, strlen(otlp_json), gz, sizeof(gz));
    assert_int_equal(cli_payload_inspect("t.gz", gz, gzlen, &p, err, sizeof(err)), CLI_EXIT_OK);
    assert_true(p.gzip);
    assert_string_equal(p.ctype, "application/json");
    cli_payload_free(&p);
    assert_int_equal(cli_payload_inspect("t.gz", gz, gzlen / 2, &p, err, sizeof(err)),
                     CLI_EXIT_BADDATA);
    assert_non_null(strstr(err, "gzip"));
    cli_payload_free(&p);
    free(pb);

    /* Tempo's batches are rewritten to resourceSpans */
    const char *tempo = "{\"batches\":[{\"scopeSpans\":[{\"spans\":[{\"spanId\":\"01\"}]}]}]}";
    assert_int_equal(
        cli_payload_inspect("t.json", (const uint8_t *)tempo, strlen(tempo), &p, err, sizeof(err)),
        CLI_EXIT_OK);
    assert_int_equal(p.nspans, 1);
    assert_non_null(strstr(p.rewritten.data, "{\"resourceSpans\":[{\"scopeSpans\""));
    cli_payload_free(&p);

    /* bad files */
    const struct {
        const char *name, *data;
        size_t len;
        const char *why;
    } bad[] = {
        {"e.json", "", 0, "empty file"},
        {"x.json", "{\"resourceSpans\":", 17, "not OTLP JSON"},
        {"x.json", "{\"other\":1}", 11, "no \"resourceSpans\""},
        {"x.json", "{\"resourceSpans\":[]}", 20, "no spans"},
        {"x.bin", "\xff\xff\xff\xff", 4, "neither OTLP JSON nor OTLP protobuf"},
        {"x.bin", "\x0a\x05\x12", 3, "neither"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int rc = cli_payload_inspect(bad[i].name, (const uint8_t *)bad[i].data, bad[i].len, &p, err,
                                     sizeof(err));
        cli_payload_free(&p);
        if (rc != CLI_EXIT_BADDATA || strstr(err, bad[i].why) == NULL)
            fail_msg("bad file %zu: rc %d, err \"%s\", want \"%s\"", i, rc, err, bad[i].why);
    }
}

static void test_export_replies(void **state)
{
    (void)state;
    int64_t rej;
    char msg[128];
    assert_int_equal(
        cli_export_reply_parse("application/json", "{}", 2, false, &rej, msg, sizeof(msg)), 0);
    assert_int_equal(rej, 0);
    const char *partial = "{\"partialSuccess\":{\"rejectedSpans\":\"2\",\"errorMessage\":"
                          "\"invalid trace ID\"}}";
    assert_int_equal(cli_export_reply_parse("application/json; charset=utf-8", partial,
                                            strlen(partial), false, &rej, msg, sizeof(msg)),
                     0);
    assert_int_equal(rej, 2);
    assert_string_equal(msg, "invalid trace ID");
    assert_int_equal(
        cli_export_reply_parse("application/json", "", 0, false, &rej, msg, sizeof(msg)), 0);
    assert_int_equal(
        cli_export_reply_parse("application/json", "<html>", 6, false, &rej, msg, sizeof(msg)), -1);
    const char *status = "{\"code\":3,\"message\":\"bad JSON at byte 7\"}";
    assert_int_equal(cli_export_reply_parse("application/json", status, strlen(status), true, &rej,
                                            msg, sizeof(msg)),
                     0);
    assert_string_equal(msg, "bad JSON at byte 7");

    /* protobuf partial success */
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps;
    opentelemetry__proto__collector__trace__v1__export_trace_partial_success__init(&ps);
    ps.rejected_spans = 5;
    ps.error_message = "zero span ID";
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp;
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__init(&resp);
    resp.partial_success = &ps;
    uint8_t buf[256];
    size_t len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&resp, buf);
    assert_int_equal(cli_export_reply_parse("application/x-protobuf", (const char *)buf, len, false,
                                            &rej, msg, sizeof(msg)),
                     0);
    assert_int_equal(rej, 5);
    assert_string_equal(msg, "zero span ID");

    /* protobuf google.rpc.Status, and a proxy's text page */
    Google__Rpc__Status st;
    google__rpc__status__init(&st);
    st.code = 8;
    st.message = "over the memory budget";
    len = google__rpc__status__pack(&st, buf);
    assert_int_equal(cli_export_reply_parse("application/x-protobuf", (const char *)buf, len, true,
                                            &rej, msg, sizeof(msg)),
                     0);
    assert_string_equal(msg, "over the memory budget");
    const char *page = "502 Bad Gateway\r\n<html>...";
    assert_int_equal(
        cli_export_reply_parse("text/html", page, strlen(page), true, &rej, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "502 Bad Gateway");
    assert_int_equal(cli_export_reply_parse("text/plain", "ok", 2, false, &rej, msg, sizeof(msg)),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_table),   cmocka_unit_test(test_deps_table_and_dot),
        cmocka_unit_test(test_tag_values),     cmocka_unit_test(test_payload_inspect),
        cmocka_unit_test(test_export_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
