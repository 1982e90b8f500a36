/* collector/routes_tempo.c - routes of the :3200 port: readiness, health,
 * Prometheus metrics and Grafana Tempo's HTTP API, mapped onto query/; plus the
 * native service graph, span metrics and sampling policies; and the web UI (routes_ui.c). The loop
 * thread answers the cheap routes; queries go to the query threads (query_pool.c). Errors are plain
 * text, as Tempo's, but for the JSON of queries refused at the limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "otlp/otlp.h"
#include "query/query.h"

#define PARAM_MAX   16384
#define SEGMENT_MAX 1024

static void reply_text(http_response *resp, int status, const char *text)
{
    resp->status = status;
    http_response_set_type(resp, "text/plain; charset=utf-8");
    ottr_buf_puts(&resp->body, text);
}

static void reply_error(http_response *resp, int status, const char *msg)
{
    ottr_buf_reset(&resp->body);
    reply_text(resp, status, msg);
    ottr_buf_putc(&resp->body, '\n');
}

static void reply_json(http_response *resp)
{
    resp->status = 200;
    http_response_set_type(resp, "application/json");
}

/* A refused parameter: 400 naming it. Returns -1. */
static int reply_param_err(http_response *resp, const http_param_err *e)
{
    char msg[256];
    if (e->value[0])
        snprintf(msg, sizeof(msg), "invalid %s \"%s\": %s", e->name, e->value, e->problem);
    else
        snprintf(msg, sizeof(msg), "invalid %s: %s", e->name, e->problem);
    reply_error(resp, 400, msg);
    return -1;
}

/* Query parameter |name| into |out|: 1 present, 0 absent, -1 refused (400
 * written). */
static int param(const http_request *req, http_response *resp, const char *name, char *out,
                 size_t outlen)
{
    http_param_err e;
    int r = http_param_str(req, name, 0, out, outlen, &e);
    return r < 0 ? reply_param_err(resp, &e) : r;
}

/* Tempo's start and end: Unix seconds. Returns 1 (read), 0 (absent), or -1
 * after answering 400. */
static int param_seconds(const http_request *req, http_response *resp, const char *name,
                         uint64_t *out_ns)
{
    http_param_err e;
    int r = http_param_time(req, name, HTTP_TIME_SECONDS, out_ns, &e);
    return r < 0 ? reply_param_err(resp, &e) : r;
}

static int check_range(http_response *resp, uint64_t start, uint64_t end)
{
    if (start && end && start > end) {
        reply_error(resp, 400, "invalid start: must not be after end");
        return -1;
    }
    return 0;
}

/* start and end of a time range; |end| then covers its whole second (no
 * overflow: http_param_time stops a second short of the top). Returns 0, or
 * -1 after answering 400. */
static int param_range(const http_request *req, http_response *resp, uint64_t *start, uint64_t *end)
{
    int rs = param_seconds(req, resp, "start", start);
    int re = rs < 0 ? -1 : param_seconds(req, resp, "end", end);
    if (re < 0)
        return -1;
    if (re && check_range(resp, *start, *end) != 0)
        return -1;
    if (re)
        *end += 999999999ull;
    return 0;
}

/* Writes the status of a query/ call: the body on OTTR_OK, else the message. */
static void finish(http_response *resp, ottr_status st, const char *err, const char *type)
{
    int code = collector_routes_finish(resp, st, err, type);
    if (code != 200)
        reply_error(resp, code, err);
}

static void handle_trace(store_view v, const http_request *req, http_response *resp, const char *id,
                         int version)
{
    query_tempo_trace_opts o = {.version = version};
    const char *accept = http_request_header(req, "accept");
    o.protobuf = accept && strstr(accept, "application/protobuf") != NULL;
    if (param_range(req, resp, &o.start_ns, &o.end_ns) != 0)
        return;
    char err[QUERY_ERRLEN];
    ottr_status st = query_tempo_trace(v, id, &o, &resp->body, err, sizeof(err));
    if (st == OTTR_ERR_NOTFOUND) {
        ottr_buf_reset(&resp->body);
        resp->status = 404; /* Grafana falls back from v2 to v1 on an empty 404 */
        return;
    }
    finish(resp, st, err, o.protobuf ? "application/protobuf" : "application/json");
}

static void handle_search(store_view v, const http_request *req, http_response *resp,
                          const query_budget *b)
{
    char qtext[PARAM_MAX], tags[PARAM_MAX];
    query_tempo_search_params p = {0};
    int r;
    if ((r = param(req, resp, "q", qtext, sizeof(qtext))) < 0)
        return;
    p.q = r ? qtext : NULL;
    if ((r = param(req, resp, "tags", tags, sizeof(tags))) < 0)
        return;
    p.tags = r ? tags : NULL;
    http_param_err e;
    if (http_param_duration(req, "minDuration", &p.min_duration_ns, &e) < 0 ||
        http_param_duration(req, "maxDuration", &p.max_duration_ns, &e) < 0 ||
        http_param_limit(req, "limit", 1000000, &p.limit, &e) < 0 ||
        http_param_limit(req, "spss", 1000000, &p.spss, &e) < 0) {
        reply_param_err(resp, &e);
        return;
    }
    if (param_range(req, resp, &p.start_ns, &p.end_ns) != 0)
        return;
    query_cut cut = QUERY_CUT_NONE;
    p.budget = b;
    p.cut = &cut;
    char err[QUERY_ERRLEN];
    ottr_status st = query_tempo_search(v, &p, &resp->body, err, sizeof(err));
    collector_query_note_cut(cut);
    finish(resp, st, err, "application/json");
}

static void handle_tags(store_view v, const http_request *req, http_response *resp, int version)
{
    char scope[64];
    uint64_t start = 0, end = 0; /* checked as for a search; tags have no time range */
    int r = param(req, resp, "scope", scope, sizeof(scope));
    if (r < 0 || param_range(req, resp, &start, &end) != 0)
        return;
    char err[QUERY_ERRLEN];
    ottr_status st = query_tempo_tags(v, version, r ? scope : NULL, &resp->body, err, sizeof(err));
    finish(resp, st, err, "application/json");
}

static void handle_tag_values(store_view v, const http_request *req, http_response *resp,
                              const char *tag, int version, const query_budget *b)
{
    char qtext[PARAM_MAX];
    query_tempo_tag_values_params p = {.version = version, .tag = tag, .budget = b};
    http_param_err e;
    if (http_param_limit(req, "limit", 100000, &p.limit, &e) < 0) {
        reply_param_err(resp, &e);
        return;
    }
    int r = param(req, resp, "q", qtext, sizeof(qtext));
    if (r < 0 || param_range(req, resp, &p.start_ns, &p.end_ns) != 0)
        return;
    p.q = r ? qtext : NULL;
    char err[QUERY_ERRLEN];
    ottr_status st = query_tempo_tag_values_in(v, &p, &resp->body, err, sizeof(err));
    finish(resp, st, err, "application/json");
}

/* A metrics time: Unix seconds (with a fraction), or Unix nanoseconds when it
 * is too large to be seconds, as Tempo reads start and end. 1, 0 or -1 (400). */
static int param_metrics_time(const http_request *req, http_response *resp, const char *name,
                              uint64_t *out_ns)
{
    char v[48];
    int r = param(req, resp, name, v, sizeof(v));
    if (r <= 0 || v[0] == '\0')
        return r < 0 ? -1 : 0;
    char *end;
    double d = strtod(v, &end);
    if (*end != '\0' || !(d >= 0) || v[0] < '0' || v[0] > '9') {
        http_param_err e = {.name = name};
        snprintf(e.value, sizeof(e.value), "%.40s", v);
        snprintf(e.problem, sizeof(e.problem), "want Unix seconds or nanoseconds");
        return reply_param_err(resp, &e);
    }
    if (d >= 1e12) { /* nanoseconds: read exactly */
        uint64_t ns;
        if (http_parse_u64(v, &ns) != 0) {
            http_param_err e = {.name = name};
            snprintf(e.value, sizeof(e.value), "%.40s", v);
            snprintf(e.problem, sizeof(e.problem), "out of range");
            return reply_param_err(resp, &e);
        }
        *out_ns = ns;
        return 1;
    }
    *out_ns = (uint64_t)(d * 1e9);
    return 1;
}

/* /api/metrics/query_range and (|instant|) /api/metrics/query. */
static void handle_metrics(store_view v, const http_request *req, http_response *resp,
                           const query_budget *b, int instant)
{
    char qtext[PARAM_MAX];
    query_tempo_metrics_params p = {.instant = instant, .budget = b};
    int r = param(req, resp, "q", qtext, sizeof(qtext));
    if (r < 0)
        return;
    if (r == 0 || qtext[0] == '\0') {
        reply_error(resp, 400, "missing q: a TraceQL metrics query such as {} | rate()");
        return;
    }
    p.q = qtext;
    uint64_t since = 0;
    size_t ex = 0;
    http_param_err e;
    int rs, re;
    if ((rs = param_metrics_time(req, resp, "start", &p.start_ns)) < 0 ||
        (re = param_metrics_time(req, resp, "end", &p.end_ns)) < 0)
        return;
    if (http_param_duration(req, "since", &since, &e) < 0 ||
        http_param_limit(req, "exemplars", 1000, &ex, &e) < 0) {
        reply_param_err(resp, &e);
        return;
    }
    if (!instant && http_param_duration(req, "step", &p.step_ns, &e) < 0) {
        /* Tempo also takes a bare number of seconds. */
        uint64_t secs;
        if (http_param_u64(req, "step", &secs, NULL) < 0 || secs > 86400 * 366) {
            reply_param_err(resp, &e);
            return;
        }
        p.step_ns = secs * 1000000000ull;
    }
    if (!re)
        p.end_ns = ottr_now_ns();
    if (!rs) {
        uint64_t back = since ? since : 3600000000000ull; /* Tempo: the last hour */
        p.start_ns = p.end_ns > back ? p.end_ns - back : 0;
    }
    if (p.start_ns >= p.end_ns) {
        reply_error(resp, 400, "invalid start: must be before end");
        return;
    }
    p.exemplars = ex;
    query_metrics_source src = QUERY_METRICS_TRACES;
    query_cut cut = QUERY_CUT_NONE;
    p.source = &src;
    p.cut = &cut;
    char err[QUERY_ERRLEN];
    ottr_status st = query_tempo_metrics(v, &p, &resp->body, err, sizeof(err));
    collector_query_note_cut(cut);
    http_response_set_header(resp, "X-Ottr-Metrics-Source", query_metrics_source_name(src));
    if (st == OTTR_ERR_TOO_LARGE) {
        reply_error(resp, 400, err);
        return;
    }
    finish(resp, st, err, "application/json");
}

/* start and end (Unix seconds) of the native endpoints: the last hour by
 * default. Returns 0, or -1 after answering 400. */
static int param_window(const http_request *req, http_response *resp, uint64_t *start,
                        uint64_t *end)
{
    if (param_seconds(req, resp, "start", start) < 0 || param_seconds(req, resp, "end", end) < 0)
        return -1;
    if (*end == 0)
        *end = ottr_now_ns();
    if (*start == 0)
        *start = *end > 3600000000000ull ? *end - 3600000000000ull : 0;
    return check_range(resp, *start, *end);
}

static void handle_service_graph(store_view v, const http_request *req, http_response *resp)
{
    uint64_t start = 0, end = 0;
    if (param_window(req, resp, &start, &end) != 0)
        return;
    char err[QUERY_ERRLEN];
    ottr_status st = query_service_graph(v, start, end, &resp->body, err, sizeof(err));
    finish(resp, st, err, "application/json");
}

/* Ottr's own: the stored span metrics of [start, end] (Unix seconds; default the
 * last hour), of one service or all; what the web UI's Services page charts. */
static void handle_span_metrics(store_view v, const http_request *req, http_response *resp)
{
    uint64_t start = 0, end = 0;
    char service[256];
    int r = param(req, resp, "service", service, sizeof(service));
    if (r < 0 || param_window(req, resp, &start, &end) != 0)
        return;
    char err[QUERY_ERRLEN];
    ottr_status st = query_span_metrics(v, r && service[0] ? service : NULL, start / NS_PER_SEC,
                                        end / NS_PER_SEC, 0, &resp->body, err, sizeof(err));
    finish(resp, st, err, "application/json");
}

static int is_get(const http_request *req)
{
    return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

/* A query refused at the limits or at shutdown: {"error":"..."}. */
static void tempo_refuse(const http_request *req, http_response *resp, int status, const char *msg)
{
    (void)req;
    ottr_buf_reset(&resp->body);
    resp->status = status;
    http_response_set_type(resp, "application/json");
    ottr_buf_puts(&resp->body, "{\"error\":");
    otlp_json_str(&resp->body, msg);
    ottr_buf_puts(&resp->body, "}\n");
}

/* The routes that read the store, on a query thread. */
static void tempo_query(void *ctx, const http_request *req, http_response *resp,
                        const query_budget *b)
{
    ottrd_query_ctx *q = ctx;
    const char *path = req->path;
    store_view v;
    if (!collector_routes_view(q, req, resp, tempo_refuse, &v))
        return;
    if (strcmp(path, "/api/search") == 0) {
        handle_search(v, req, resp, b);
        return;
    }
    if (strcmp(path, "/api/search/tags") == 0 || strcmp(path, "/api/v2/search/tags") == 0) {
        handle_tags(v, req, resp, path[5] == 'v' ? 2 : 1);
        return;
    }
    if (strcmp(path, "/api/service-graph") == 0) {
        handle_service_graph(v, req, resp);
        return;
    }
    if (strcmp(path, "/api/span-metrics") == 0) {
        handle_span_metrics(v, req, resp);
        return;
    }
    if (strcmp(path, "/api/metrics/query_range") == 0 || strcmp(path, "/api/metrics/query") == 0) {
        handle_metrics(v, req, resp, b, path[18] == '\0');
        return;
    }
    char seg[SEGMENT_MAX];
    int m;
    if ((m = http_path_segment(req, "/api/v2/traces/", "", seg, sizeof(seg))) != 0 ||
        (m = http_path_segment(req, "/api/traces/", "", seg, sizeof(seg))) != 0) {
        if (m < 0) {
            reply_error(resp, 400, "invalid trace ID: bad percent-encoding");
            return;
        }
        handle_trace(v, req, resp, seg, path[5] == 'v' ? 2 : 1);
        return;
    }
    if ((m = http_path_segment(req, "/api/v2/search/tag/", "/values", seg, sizeof(seg))) != 0 ||
        (m = http_path_segment(req, "/api/search/tag/", "/values", seg, sizeof(seg))) != 0) {
        if (m < 0) {
            reply_error(resp, 400, "invalid tag: bad percent-encoding");
            return;
        }
        handle_tag_values(v, req, resp, seg, path[5] == 'v' ? 2 : 1, b);
        return;
    }
    reply_text(resp, 404, "404 page not found\n");
}

void collector_routes_tempo_handle(void *ctx, const http_request *req, http_response *resp)
{
    ottrd_query_ctx *q = ctx;
    const char *path = req->path;

    if (http_grpc_is(req)) { /* Tempo's StreamingQuerier on the same port */
        collector_tempo_grpc_handle(q, req, resp);
        return;
    }
    if (strcmp(path, "/ready") == 0) {
        char why[96];
        if (collector_ready(q, why, sizeof(why))) {
            reply_text(resp, 200, "ready\n");
        } else {
            reply_text(resp, 503, "not ready: ");
            ottr_buf_printf(&resp->body, "%s\n", why);
        }
        return;
    }
    if (strcmp(path, "/health") == 0) {
        resp->status = collector_health_json(q, &resp->body);
        http_response_set_type(resp, "application/json");
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        resp->status = 200;
        http_response_set_type(resp, "text/plain; version=0.0.4; charset=utf-8");
        collector_metrics_render_all(&resp->body);
        return;
    }
    if (collector_routes_ui(req, resp))
        return;
    if (strncmp(path, "/api/", 5) != 0) {
        reply_text(resp, 404, "404 page not found\n");
        return;
    }
    if (!is_get(req)) {
        http_response_set_header(resp, "Allow", "GET");
        reply_error(resp, 405, "method not allowed: use GET");
        return;
    }
    if (strcmp(path, "/api/echo") == 0) {
        reply_text(resp, 200, "echo");
        return;
    }
    if (strcmp(path, "/api/sampler") == 0) {
        reply_json(resp);
        sampler_stats st = {0};
        if (q->smp)
            sampler_get_stats(q->smp, &st);
        ottr_buf_printf(&resp->body,
                        "{\"bufferedTraces\":%llu,\"kept\":%llu,\"dropped\":%llu,"
                        "\"lateSpans\":%llu,\"policies\":",
                        (unsigned long long)st.traces_buffered, (unsigned long long)st.kept,
                        (unsigned long long)st.dropped, (unsigned long long)st.late_spans);
        if (q->smp)
            sampler_policies_json(q->smp, &resp->body);
        else
            ottr_buf_puts(&resp->body, "[]");
        ottr_buf_puts(&resp->body, "}\n");
        return;
    }
    if (strcmp(path, "/api/status/buildinfo") == 0) {
        query_tempo_buildinfo(&resp->body);
        reply_json(resp);
        return;
    }
    collector_query_pool_submit(q->pool, req, resp,
                                collector_fanout_wanted(q, req, false) ? collector_fanout_tempo
                                                                       : tempo_query,
                                tempo_refuse, q);
}
