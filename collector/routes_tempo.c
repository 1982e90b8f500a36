/* collector/routes_tempo.c - routes of the :3200 port: readiness, health,
 * Prometheus metrics and Grafana Tempo's HTTP API, mapped onto query/; plus the
 * native service graph. The loop thread answers the
 * cheap routes; queries go to the query threads (query_pool.c). Errors are
 * plain text, as Tempo's, but for the JSON of queries refused at the limits. */
#include <stdio.h>
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
                              const char *tag, int version)
{
    size_t limit = 0;
    uint64_t start = 0, end = 0; /* checked as for a search; tags have no time range */
    http_param_err e;
    if (http_param_limit(req, "limit", 100000, &limit, &e) < 0) {
        reply_param_err(resp, &e);
        return;
    }
    if (param_range(req, resp, &start, &end) != 0)
        return;
    char err[QUERY_ERRLEN];
    ottr_status st = query_tempo_tag_values(v, version, tag, limit, &resp->body, err, sizeof(err));
    finish(resp, st, err, "application/json");
}

static void handle_service_graph(store_view v, const http_request *req, http_response *resp)
{
    uint64_t start = 0, end = 0;
    if (param_seconds(req, resp, "start", &start) < 0 || param_seconds(req, resp, "end", &end) < 0)
        return;
    if (end == 0)
        end = ottr_now_ns();
    if (start == 0)
        start = end > 3600000000000ull ? end - 3600000000000ull : 0;
    if (check_range(resp, start, end) != 0)
        return;
    char err[QUERY_ERRLEN];
    ottr_status st = query_service_graph(v, start, end, &resp->body, err, sizeof(err));
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
        handle_tag_values(v, req, resp, seg, path[5] == 'v' ? 2 : 1);
        return;
    }
    reply_text(resp, 404, "404 page not found\n");
}

void collector_routes_tempo_handle(void *ctx, const http_request *req, http_response *resp)
{
    ottrd_query_ctx *q = ctx;
    const char *path = req->path;

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
