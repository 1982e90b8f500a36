/* tests/query/test_golden.c - every query endpoint over a fixed stored data set
 * (a multi-service trace with every attribute type, events, links and an error;
 * orphans; duplicate span IDs and a cycle; messaging with a zero high trace ID
 * half; a service graph), compared with tests/query/golden/. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "query/query.h"
#include "tempo/tempo.pb-c.h"
#include "tests/query/fixture.h"
#include "tests/query/golden_util.h"

static store *g_st;
static char g_dir[64];

static int setup(void **state)
{
    (void)state;
    g_st = fx_store_open(g_dir);
    fx_load_dataset(g_st);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_store_close(g_st, g_dir);
    return 0;
}

#define GOLDEN(name, call)                                                                         \
    do {                                                                                           \
        ottr_buf out = {0};                                                                        \
        char err[QUERY_ERRLEN] = "";                                                               \
        ottr_status code = (call);                                                                 \
        if (code != OTTR_OK)                                                                       \
            fail_msg("%s: %s: %s", name, ottr_status_str(code), err);                              \
        if (golden_check(name, out.data, out.len) != 0)                                            \
            fail_msg("%s: output differs from golden/%s.json", name, name);                        \
        ottr_buf_free(&out);                                                                       \
    } while (0)

/* Expects status |want| and |substr| in the error message. */
#define EXPECT_ERROR(want, substr, call)                                                           \
    do {                                                                                           \
        ottr_buf out = {0};                                                                        \
        char err[QUERY_ERRLEN] = "";                                                               \
        ottr_status code = (call);                                                                 \
        if (code != (want) || strstr(err, substr) == NULL)                                         \
            fail_msg("want %s with \"%s\", got %s \"%s\"", ottr_status_str(want), substr,          \
                     ottr_status_str(code), err);                                                  \
        ottr_buf_free(&out);                                                                       \
    } while (0)

/* ---- Tempo trace by ID ---- */

static void test_tempo_trace_json(void **state)
{
    (void)state;
    query_tempo_trace_opts v1 = {.version = 1};
    query_tempo_trace_opts v2 = {.version = 2};
    GOLDEN("tempo_trace_v1_A",
           query_tempo_trace(store_view_of(g_st, 0), FX_TRACE_A, &v1, &out, err, sizeof(err)));
    GOLDEN("tempo_trace_v2_A",
           query_tempo_trace(store_view_of(g_st, 0), FX_TRACE_A, &v2, &out, err, sizeof(err)));
    GOLDEN("tempo_trace_v2_B",
           query_tempo_trace(store_view_of(g_st, 0), FX_TRACE_B, &v2, &out, err, sizeof(err)));
    GOLDEN("tempo_trace_v2_C",
           query_tempo_trace(store_view_of(g_st, 0), FX_TRACE_C, &v2, &out, err, sizeof(err)));
    /* Short IDs are left-padded: D's 16 low digits find it. */
    GOLDEN("tempo_trace_v1_D", query_tempo_trace(store_view_of(g_st, 0), "1234567890ABCDEF", &v1,
                                                 &out, err, sizeof(err)));
}

static void test_tempo_trace_protobuf(void **state)
{
    (void)state;
    uint8_t tid[16];
    fx_hex(FX_TRACE_C, tid, 16);
    ottr_buf raw = {0};
    assert_int_equal(store_get_trace(store_view_of(g_st, 0), tid, &raw, NULL), OTTR_OK);

    /* v1: exactly the stored chunks, which decode as tempopb.Trace. */
    ottr_buf out = {0};
    char err[QUERY_ERRLEN];
    query_tempo_trace_opts o = {.version = 1, .protobuf = true};
    assert_int_equal(
        query_tempo_trace(store_view_of(g_st, 0), FX_TRACE_C, &o, &out, err, sizeof(err)), OTTR_OK);
    assert_int_equal(out.len, raw.len);
    assert_memory_equal(out.data, raw.data, raw.len);
    Tempopb__Trace *t = tempopb__trace__unpack(NULL, out.len, (const uint8_t *)out.data);
    assert_non_null(t);
    assert_int_equal(t->n_resource_spans, 1);
    assert_int_equal(t->resource_spans[0]->scope_spans[0]->n_spans, 4);
    tempopb__trace__free_unpacked(t, NULL);

    /* v2: TraceByIDResponse, PARTIAL for C's duplicate and cycle. */
    ottr_buf_reset(&out);
    o.version = 2;
    assert_int_equal(
        query_tempo_trace(store_view_of(g_st, 0), FX_TRACE_C, &o, &out, err, sizeof(err)), OTTR_OK);
    Tempopb__TraceByIDResponse *r =
        tempopb__trace_by_idresponse__unpack(NULL, out.len, (const uint8_t *)out.data);
    assert_non_null(r);
    assert_int_equal(r->status, TEMPOPB__PARTIAL_STATUS__PARTIAL);
    assert_non_null(strstr(r->message, "reuses a span ID"));
    assert_non_null(strstr(r->message, "parent cycle"));
    assert_non_null(r->trace);
    assert_int_equal(r->trace->n_resource_spans, 1);
    assert_non_null(r->metrics);
    assert_int_equal(r->metrics->inspected_bytes, raw.len);
    tempopb__trace_by_idresponse__free_unpacked(r, NULL);

    /* v2 of a sound trace: COMPLETE, no message. */
    ottr_buf_reset(&out);
    assert_int_equal(
        query_tempo_trace(store_view_of(g_st, 0), FX_TRACE_A, &o, &out, err, sizeof(err)), OTTR_OK);
    r = tempopb__trace_by_idresponse__unpack(NULL, out.len, (const uint8_t *)out.data);
    assert_non_null(r);
    assert_int_equal(r->status, TEMPOPB__PARTIAL_STATUS__COMPLETE);
    assert_string_equal(r->message, "");
    assert_int_equal(r->trace->n_resource_spans, 2);
    tempopb__trace_by_idresponse__free_unpacked(r, NULL);
    ottr_buf_free(&out);
    ottr_buf_free(&raw);
}

static void test_tempo_trace_errors(void **state)
{
    (void)state;
    query_tempo_trace_opts o = {.version = 2};
    EXPECT_ERROR(OTTR_ERR_NOTFOUND, "not found",
                 query_tempo_trace(store_view_of(g_st, 0), "abc", &o, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "invalid trace ID",
                 query_tempo_trace(store_view_of(g_st, 0), "xyz", &o, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "invalid trace ID",
                 query_tempo_trace(store_view_of(g_st, 0), "4bf92f3577b34da6a3ce929d0e0e47361", &o,
                                   &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "invalid trace ID",
                 query_tempo_trace(store_view_of(g_st, 0), "", &o, &out, err, sizeof(err)));
    /* start/end: A runs at T0+100s. */
    o.start_ns = FX_T0 + 200ull * 1000000000ull;
    EXPECT_ERROR(OTTR_ERR_NOTFOUND, "time range",
                 query_tempo_trace(store_view_of(g_st, 0), FX_TRACE_A, &o, &out, err, sizeof(err)));
    o.start_ns = FX_T0;
    o.end_ns = FX_T0 + 50ull * 1000000000ull;
    EXPECT_ERROR(OTTR_ERR_NOTFOUND, "time range",
                 query_tempo_trace(store_view_of(g_st, 0), FX_TRACE_A, &o, &out, err, sizeof(err)));
    o.end_ns = FX_T0 + 150ull * 1000000000ull;
    ottr_buf out = {0};
    char err[QUERY_ERRLEN];
    assert_int_equal(
        query_tempo_trace(store_view_of(g_st, 0), FX_TRACE_A, &o, &out, err, sizeof(err)), OTTR_OK);
    ottr_buf_free(&out);
}

/* ---- Tempo search ---- */

static int search(const char *q, const char *tags, uint64_t min, size_t limit, size_t spss,
                  ottr_buf *out, char *err, size_t errlen)
{
    query_tempo_search_params p = {
        .q = q, .tags = tags, .min_duration_ns = min, .limit = limit, .spss = spss};
    return query_tempo_search(store_view_of(g_st, 0), &p, out, err, errlen);
}

static void test_tempo_search(void **state)
{
    (void)state;
    GOLDEN("tempo_search_all", search(NULL, NULL, 0, 0, 0, &out, err, sizeof(err)));
    GOLDEN("tempo_search_grafana",
           search("{resource.service.name=\"frontend\" && name=\"GET /cart\" && duration>100ms "
                  "&& status=ok}",
                  NULL, 0, 0, 0, &out, err, sizeof(err)));
    GOLDEN("tempo_search_error", search("{ resource.service.name = \"cart\" && status = error }",
                                        NULL, 0, 0, 0, &out, err, sizeof(err)));
    GOLDEN("tempo_search_attr_types",
           search("{ span.http.status_code >= 500 || .http.cached = false || span.http.ratio < "
                  "0.5 || resource.process.pid = 4242 }",
                  NULL, 0, 0, 5, &out, err, sizeof(err)));
    GOLDEN("tempo_search_regex_kind",
           search("{ name =~ \"(publish|consume) .*\" && kind != internal } && { "
                  "resource.worker.canary = true }",
                  NULL, 0, 0, 0, &out, err, sizeof(err)));
    GOLDEN("tempo_search_or",
           search("{ kind = consumer } || { rootServiceName = \"billing\" && traceDuration > 1s }",
                  NULL, 0, 0, 0, &out, err, sizeof(err)));
    GOLDEN("tempo_search_nil",
           search("{ span.db.system != nil }", NULL, 0, 0, 0, &out, err, sizeof(err)));
    GOLDEN("tempo_search_limit", search("{}", NULL, 0, 2, 1, &out, err, sizeof(err)));
    GOLDEN("tempo_search_tags", search(NULL, "service.name=cart http.status_code=503", 50 * FX_MS,
                                       0, 0, &out, err, sizeof(err)));
    GOLDEN("tempo_search_tags_quoted",
           search(NULL, "name=\"process job\" job.id=42", 0, 0, 0, &out, err, sizeof(err)));
    GOLDEN("tempo_search_min_duration",
           search(NULL, NULL, 1000 * FX_MS, 0, 0, &out, err, sizeof(err)));
    /* The full language: structure, grouping with aggregates, selected fields. */
    GOLDEN("tempo_search_structural",
           search("{ resource.service.name = \"frontend\" } >> { status = error }", NULL, 0, 0, 0,
                  &out, err, sizeof(err)));
    GOLDEN("tempo_search_by_count", search("{ } | by(resource.service.name) | count() > 1", NULL, 0,
                                           0, 0, &out, err, sizeof(err)));
    GOLDEN("tempo_search_select", search("{ status = error } | select(span.http.status_code, kind)",
                                         NULL, 0, 0, 0, &out, err, sizeof(err)));
    GOLDEN("tempo_search_none",
           search("{ name = \"no such span\" }", NULL, 0, 0, 0, &out, err, sizeof(err)));
}

static void test_tempo_search_errors(void **state)
{
    (void)state;
    EXPECT_ERROR(OTTR_ERR_INVALID, "TraceQL metrics function",
                 search("{} | rate()", NULL, 0, 0, 0, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "span set filter '{ ... }' expected",
                 search("{ .a = 1 } >>", NULL, 0, 0, 0, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "invalid tags",
                 search(NULL, "service.name", 0, 0, 0, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "invalid tags",
                 search(NULL, "a=\"unterminated", 0, 0, 0, &out, err, sizeof(err)));
    query_tempo_search_params p = {.min_duration_ns = 2, .max_duration_ns = 1};
    EXPECT_ERROR(OTTR_ERR_INVALID, "maxDuration",
                 query_tempo_search(store_view_of(g_st, 0), &p, &out, err, sizeof(err)));
}

/* ---- Tempo discovery ---- */

static void test_tempo_tags(void **state)
{
    (void)state;
    GOLDEN("tempo_tags_v1",
           query_tempo_tags(store_view_of(g_st, 0), 1, NULL, &out, err, sizeof(err)));
    GOLDEN("tempo_tags_v1_intrinsic",
           query_tempo_tags(store_view_of(g_st, 0), 1, "intrinsic", &out, err, sizeof(err)));
    GOLDEN("tempo_tags_v2",
           query_tempo_tags(store_view_of(g_st, 0), 2, NULL, &out, err, sizeof(err)));
    GOLDEN("tempo_tags_v2_span",
           query_tempo_tags(store_view_of(g_st, 0), 2, "span", &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "invalid scope",
                 query_tempo_tags(store_view_of(g_st, 0), 2, "event", &out, err, sizeof(err)));

    GOLDEN("tempo_tag_values_v1_service",
           query_tempo_tag_values(store_view_of(g_st, 0), 1, "service.name", 0, &out, err,
                                  sizeof(err)));
    GOLDEN("tempo_tag_values_v1_status_code",
           query_tempo_tag_values(store_view_of(g_st, 0), 1, "http.status_code", 0, &out, err,
                                  sizeof(err)));
    GOLDEN("tempo_tag_values_v2_resource_service",
           query_tempo_tag_values(store_view_of(g_st, 0), 2, "resource.service.name", 0, &out, err,
                                  sizeof(err)));
    GOLDEN("tempo_tag_values_v2_span_types",
           query_tempo_tag_values(store_view_of(g_st, 0), 2, "span.http.status_code", 0, &out, err,
                                  sizeof(err)));
    GOLDEN("tempo_tag_values_v2_unscoped_bool",
           query_tempo_tag_values(store_view_of(g_st, 0), 2, ".worker.canary", 0, &out, err,
                                  sizeof(err)));
    GOLDEN("tempo_tag_values_v2_name",
           query_tempo_tag_values(store_view_of(g_st, 0), 2, "name", 0, &out, err, sizeof(err)));
    GOLDEN("tempo_tag_values_v2_status",
           query_tempo_tag_values(store_view_of(g_st, 0), 2, "status", 0, &out, err, sizeof(err)));
    GOLDEN("tempo_tag_values_limit",
           query_tempo_tag_values(store_view_of(g_st, 0), 2, "resource.service.name", 2, &out, err,
                                  sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "invalid tag",
                 query_tempo_tag_values(store_view_of(g_st, 0), 2, "service.name", 0, &out, err,
                                        sizeof(err)));
}

static void test_service_graph(void **state)
{
    (void)state;
    GOLDEN("service_graph",
           query_service_graph(store_view_of(g_st, 0), FX_T0, FX_T0 + 3600ull * 1000000000ull, &out,
                               err, sizeof(err)));
    /* Only the first minute bucket. */
    GOLDEN("service_graph_first_minute",
           query_service_graph(store_view_of(g_st, 0), FX_T0 + 60ull * 1000000000ull,
                               FX_T0 + 119ull * 1000000000ull, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "start",
                 query_service_graph(store_view_of(g_st, 0), 2, 1, &out, err, sizeof(err)));
}

static void test_buildinfo(void **state)
{
    (void)state;
    ottr_buf out = {0};
    query_tempo_buildinfo(&out);
    assert_non_null(strstr(out.data, "\"version\":\"2.1.0-ottr."));
    assert_non_null(strstr(out.data, "\"goVersion\""));
    ottr_buf_free(&out);
}

/* ---- Jaeger ---- */

static void test_jaeger_trace(void **state)
{
    (void)state;
    GOLDEN("jaeger_trace_A",
           query_jaeger_trace(store_view_of(g_st, 0), FX_TRACE_A, &out, err, sizeof(err)));
    GOLDEN("jaeger_trace_B",
           query_jaeger_trace(store_view_of(g_st, 0), FX_TRACE_B, &out, err, sizeof(err)));
    GOLDEN("jaeger_trace_C",
           query_jaeger_trace(store_view_of(g_st, 0), FX_TRACE_C, &out, err, sizeof(err)));
    GOLDEN("jaeger_trace_D",
           query_jaeger_trace(store_view_of(g_st, 0), "1234567890abcdef", &out, err, sizeof(err)));
    const char *ids[] = {FX_TRACE_B, "ffff", FX_TRACE_D};
    GOLDEN("jaeger_traces_by_ids",
           query_jaeger_traces_by_ids(store_view_of(g_st, 0), ids, 3, &out, err, sizeof(err)));
    /* None found: still an answer, with an error per ID. */
    const char *gone[] = {"ffff", "00000000000000010000000000000002"};
    GOLDEN("jaeger_traces_by_ids_none",
           query_jaeger_traces_by_ids(store_view_of(g_st, 0), gone, 2, &out, err, sizeof(err)));
    GOLDEN("jaeger_v3_trace_D",
           query_jaeger_v3_trace(store_view_of(g_st, 0), FX_TRACE_D, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_NOTFOUND, "trace not found",
                 query_jaeger_trace(store_view_of(g_st, 0), "ffff", &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "cannot parse traceID",
                 query_jaeger_trace(store_view_of(g_st, 0), "not-hex", &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_NOTFOUND, "trace not found",
                 query_jaeger_v3_trace(store_view_of(g_st, 0), "ffff", &out, err, sizeof(err)));
}

static int jsearch(const char *service, const char *op, const query_jaeger_tag *tags, size_t ntags,
                   uint64_t min, uint64_t max, size_t limit, int v3, ottr_buf *out, char *err,
                   size_t errlen)
{
    query_jaeger_search_params p = {.service = service,
                                    .operation = op,
                                    .tags = tags,
                                    .ntags = ntags,
                                    .start_ns = FX_T0,
                                    .end_ns = FX_T0 + 3600ull * 1000000000ull,
                                    .min_duration_ns = min,
                                    .max_duration_ns = max,
                                    .limit = limit};
    return v3 ? query_jaeger_v3_search(store_view_of(g_st, 0), &p, out, err, errlen)
              : query_jaeger_search(store_view_of(g_st, 0), &p, out, err, errlen);
}

static void test_jaeger_search(void **state)
{
    (void)state;
    GOLDEN("jaeger_search_worker",
           jsearch("worker", NULL, NULL, 0, 0, 0, 0, 0, &out, err, sizeof(err)));
    query_jaeger_tag t1[] = {{"http.status_code", "503"}, {"error", "true"}};
    GOLDEN("jaeger_search_tags",
           jsearch("cart", "GET /api/cart", t1, 2, 0, 0, 0, 0, &out, err, sizeof(err)));
    query_jaeger_tag t2[] = {{"span.kind", "consumer"}};
    GOLDEN("jaeger_search_kind_duration",
           jsearch("worker", NULL, t2, 1, 20 * FX_MS, 35 * FX_MS, 0, 0, &out, err, sizeof(err)));
    GOLDEN("jaeger_search_limit",
           jsearch("worker", NULL, NULL, 0, 0, 0, 1, 0, &out, err, sizeof(err)));
    GOLDEN("jaeger_v3_search",
           jsearch("queue", "publish orders", NULL, 0, 0, 0, 0, 1, &out, err, sizeof(err)));
    /* api_v3: no trace found is a 404, as Jaeger answers. */
    EXPECT_ERROR(OTTR_ERR_NOTFOUND, "No traces found",
                 jsearch("queue", "nothing", NULL, 0, 0, 0, 0, 1, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "'service' is required",
                 jsearch(NULL, NULL, NULL, 0, 0, 0, 0, 0, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "maxDuration",
                 jsearch("cart", NULL, NULL, 0, 2, 1, 0, 0, &out, err, sizeof(err)));
    query_jaeger_tag bad[] = {{"span.kind", "sideways"}};
    EXPECT_ERROR(OTTR_ERR_INVALID, "span.kind",
                 jsearch("cart", NULL, bad, 1, 0, 0, 0, 0, &out, err, sizeof(err)));
}

static void test_jaeger_discovery(void **state)
{
    (void)state;
    GOLDEN("jaeger_services",
           query_jaeger_services(store_view_of(g_st, 0), &out, err, sizeof(err)));
    GOLDEN("jaeger_operations_cart", query_jaeger_operations(store_view_of(g_st, 0), "cart", NULL,
                                                             false, &out, err, sizeof(err)));
    GOLDEN("jaeger_operations_frontend_detailed",
           query_jaeger_operations(store_view_of(g_st, 0), "frontend", NULL, true, &out, err,
                                   sizeof(err)));
    GOLDEN("jaeger_operations_frontend_server",
           query_jaeger_operations(store_view_of(g_st, 0), "frontend", "server", true, &out, err,
                                   sizeof(err)));
    GOLDEN("jaeger_operations_unknown",
           query_jaeger_operations(store_view_of(g_st, 0), "nope", NULL, false, &out, err,
                                   sizeof(err)));
    GOLDEN("jaeger_v3_services",
           query_jaeger_v3_services(store_view_of(g_st, 0), &out, err, sizeof(err)));
    GOLDEN("jaeger_v3_operations", query_jaeger_v3_operations(store_view_of(g_st, 0), "worker",
                                                              NULL, &out, err, sizeof(err)));
    /* Unspecified kinds and empty lists are left out, as protobuf's JSON does. */
    GOLDEN("jaeger_v3_operations_unknown",
           query_jaeger_v3_operations(store_view_of(g_st, 0), "unknown_service", NULL, &out, err,
                                      sizeof(err)));
    GOLDEN("jaeger_v3_operations_none", query_jaeger_v3_operations(store_view_of(g_st, 0), "nobody",
                                                                   NULL, &out, err, sizeof(err)));
    EXPECT_ERROR(
        OTTR_ERR_INVALID, "'service' is required",
        query_jaeger_operations(store_view_of(g_st, 0), NULL, NULL, true, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "spanKind",
                 query_jaeger_operations(store_view_of(g_st, 0), "cart", "bogus", true, &out, err,
                                         sizeof(err)));
    GOLDEN("jaeger_dependencies",
           query_jaeger_dependencies(store_view_of(g_st, 0), FX_T0 + 3600ull * 1000000000ull,
                                     24ull * 3600 * 1000000000ull, NULL, false, &out, err,
                                     sizeof(err)));
    GOLDEN("jaeger_dependencies_virtual",
           query_jaeger_dependencies(store_view_of(g_st, 0), FX_T0 + 3600ull * 1000000000ull,
                                     24ull * 3600 * 1000000000ull, NULL, true, &out, err,
                                     sizeof(err)));
    GOLDEN("jaeger_dependencies_cart",
           query_jaeger_dependencies(store_view_of(g_st, 0), FX_T0 + 3600ull * 1000000000ull,
                                     24ull * 3600 * 1000000000ull, "cart", true, &out, err,
                                     sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "lookback",
                 query_jaeger_dependencies(store_view_of(g_st, 0), FX_T0, 0, NULL, false, &out, err,
                                           sizeof(err)));
}

static void test_jaeger_error_bodies(void **state)
{
    (void)state;
    ottr_buf out = {0};
    query_jaeger_error(&out, 400, "parameter 'service' is required");
    assert_int_equal(golden_check("jaeger_error", out.data, out.len), 0);
    ottr_buf_reset(&out);
    query_jaeger_v3_error(&out, 404, "trace not found");
    assert_int_equal(golden_check("jaeger_v3_error", out.data, out.len), 0);
    ottr_buf_free(&out);
}

/* ---- admin ---- */

static void test_checkpoint(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/cp", g_dir);
    ottr_buf out = {0};
    char err[QUERY_ERRLEN];
    assert_int_equal(query_admin_checkpoint(g_st, dir, &out, err, sizeof(err)), OTTR_OK);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    EXPECT_ERROR(OTTR_ERR_EXISTS, "already exists",
                 query_admin_checkpoint(g_st, dir, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "absolute",
                 query_admin_checkpoint(g_st, "relative/dir", &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "'dir' is required",
                 query_admin_checkpoint(g_st, NULL, &out, err, sizeof(err)));
    EXPECT_ERROR(OTTR_ERR_INVALID, "parent",
                 query_admin_checkpoint(g_st, "/nonexistent-ottr/x/y", &out, err, sizeof(err)));

    /* The copy opens as a store holding the same traces. */
    char path[160];
    snprintf(path, sizeof(path), "%s", dir);
    store_options o = {.path = path,
                       .sync = STORE_SYNC_NONE,
                       .retention_ns = 0,
                       .max_trace_bytes = 50ull << 20,
                       .block_cache_bytes = 8u << 20,
                       .memtable_bytes = 64ull << 20};
    store *copy = NULL;
    assert_int_equal(store_open(&o, &copy, err, sizeof(err)), OTTR_OK);
    ottr_buf_reset(&out);
    query_tempo_trace_opts v1 = {.version = 1};
    assert_int_equal(
        query_tempo_trace(store_view_of(copy, 0), FX_TRACE_A, &v1, &out, err, sizeof(err)),
        OTTR_OK);
    store_close(copy);
    ottr_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tempo_trace_json),    cmocka_unit_test(test_tempo_trace_protobuf),
        cmocka_unit_test(test_tempo_trace_errors),  cmocka_unit_test(test_tempo_search),
        cmocka_unit_test(test_tempo_search_errors), cmocka_unit_test(test_tempo_tags),
        cmocka_unit_test(test_service_graph),       cmocka_unit_test(test_buildinfo),
        cmocka_unit_test(test_jaeger_trace),        cmocka_unit_test(test_jaeger_search),
        cmocka_unit_test(test_jaeger_discovery),    cmocka_unit_test(test_jaeger_error_bodies),
        cmocka_unit_test(test_checkpoint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
