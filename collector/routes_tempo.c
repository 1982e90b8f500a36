/* collector/routes_tempo.c - routes of the :3200 port: readiness, Prometheus
 * metrics and Grafana Tempo's HTTP API, mapped onto query/; plus the native
 * service graph and the admin checkpoint. Errors are plain text, as Tempo's. */
#include <stdio.h>
#include <string.h>

#include "collector/collector.h"
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

/* Query parameter |name| into |out|: 1 present, 0 absent, -1 too long (a 400
 * naming the parameter has been written). */
static int param(const http_request *req, http_response *resp, const char *name, char *out,
                 size_t outlen)
{
    if (!http_query_param(req, name, 0, out, outlen))
        return 0;
    if (strlen(out) + 1 >= outlen) {
        char msg[128];
        snprintf(msg, sizeof(msg), "invalid %s: longer than %zu bytes", name, outlen - 2);
        reply_error(resp, 400, msg);
        return -1;
    }
    return 1;
}

/* An unsigned integer parameter; absent leaves |*out|. Returns 0, or -1 after
 * answering 400. */
static int param_u64(const http_request *req, http_response *resp, const char *name, uint64_t *out)
{
    char v[64];
    int r = param(req, resp, name, v, sizeof(v));
    if (r < 0)
        return -1;
    if (r == 0 || v[0] == '\0')
        return 0;
    if (http_parse_u64(v, out) != 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "invalid %s \"%.40s\": want a non-negative integer", name, v);
        reply_error(resp, 400, msg);
        return -1;
    }
    return 0;
}

/* Unix seconds to nanoseconds. */
static int param_seconds(const http_request *req, http_response *resp, const char *name,
                         uint64_t *out_ns)
{
    uint64_t s = 0;
    if (param_u64(req, resp, name, &s) != 0)
        return -1;
    if (s > UINT64_MAX / 1000000000ull) {
        char msg[96];
        snprintf(msg, sizeof(msg), "invalid %s: out of range", name);
        reply_error(resp, 400, msg);
        return -1;
    }
    if (s)
        *out_ns = s * 1000000000ull;
    return 0;
}

static int param_duration(const http_request *req, http_response *resp, const char *name,
                          uint64_t *out_ns)
{
    char v[64];
    int r = param(req, resp, name, v, sizeof(v));
    if (r < 0)
        return -1;
    if (r == 0 || v[0] == '\0')
        return 0;
    if (ottr_parse_duration(v, out_ns) != 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "invalid %s \"%.40s\": want a duration such as 100ms or 1.5s",
                 name, v);
        reply_error(resp, 400, msg);
        return -1;
    }
    return 0;
}

static int check_range(http_response *resp, uint64_t start, uint64_t end)
{
    if (start && end && start > end) {
        reply_error(resp, 400, "invalid start: must not be after end");
        return -1;
    }
    return 0;
}

/* Writes the status of a query/ call: the body on 200, else the message. */
static void finish(http_response *resp, int code, const char *err, const char *type)
{
    if (code == 200) {
        resp->status = 200;
        http_response_set_type(resp, type);
        return;
    }
    if (code == 500)
        OTTR_ERROR("query", "%s", err);
    reply_error(resp, code, err);
}

/* If |path| is |prefix| + segment + |suffix|, decodes the segment into |out|.
 * Returns 1 on a match, 0 when it does not match, -1 on a bad segment. */
static int match_segment(const char *path, const char *prefix, const char *suffix, char *out,
                         size_t outlen)
{
    size_t pl = strlen(prefix), sl = strlen(suffix), n = strlen(path);
    if (n <= pl + sl || strncmp(path, prefix, pl) != 0 || strcmp(path + n - sl, suffix) != 0)
        return 0;
    const char *seg = path + pl;
    size_t segn = n - pl - sl;
    if (memchr(seg, '/', segn))
        return 0;
    return http_percent_decode(seg, segn, out, outlen) == 0 ? 1 : -1;
}

static void handle_trace(ottrd_query_ctx *q, const http_request *req, http_response *resp,
                         const char *id, int version)
{
    query_tempo_trace_opts o = {.version = version};
    const char *accept = http_request_header(req, "accept");
    o.protobuf = accept && strstr(accept, "application/protobuf") != NULL;
    if (param_seconds(req, resp, "start", &o.start_ns) != 0 ||
        param_seconds(req, resp, "end", &o.end_ns) != 0)
        return;
    if (check_range(resp, o.start_ns, o.end_ns) != 0)
        return;
    if (o.end_ns)
        o.end_ns += 999999999ull; /* the whole end second */
    char err[QUERY_ERRLEN];
    int code = query_tempo_trace(q->st, id, &o, &resp->body, err, sizeof(err));
    if (code == 404) {
        ottr_buf_reset(&resp->body);
        resp->status = 404; /* Grafana falls back from v2 to v1 on an empty 404 */
        return;
    }
    finish(resp, code, err, o.protobuf ? "application/protobuf" : "application/json");
}

static void handle_search(ottrd_query_ctx *q, const http_request *req, http_response *resp)
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
    uint64_t limit = 0, spss = 0;
    if (param_duration(req, resp, "minDuration", &p.min_duration_ns) != 0 ||
        param_duration(req, resp, "maxDuration", &p.max_duration_ns) != 0 ||
        param_u64(req, resp, "limit", &limit) != 0 || param_u64(req, resp, "spss", &spss) != 0 ||
        param_seconds(req, resp, "start", &p.start_ns) != 0 ||
        param_seconds(req, resp, "end", &p.end_ns) != 0)
        return;
    if (check_range(resp, p.start_ns, p.end_ns) != 0)
        return;
    if (p.end_ns)
        p.end_ns += 999999999ull;
    p.limit = (size_t)(limit > 1000000 ? 1000000 : limit);
    p.spss = (size_t)(spss > 1000000 ? 1000000 : spss);
    char err[QUERY_ERRLEN];
    int code = query_tempo_search(q->st, &p, &resp->body, err, sizeof(err));
    finish(resp, code, err, "application/json");
}

static void handle_tags(ottrd_query_ctx *q, const http_request *req, http_response *resp,
                        int version)
{
    char scope[64];
    int r = param(req, resp, "scope", scope, sizeof(scope));
    if (r < 0)
        return;
    char err[QUERY_ERRLEN];
    int code = query_tempo_tags(q->st, version, r ? scope : NULL, &resp->body, err, sizeof(err));
    finish(resp, code, err, "application/json");
}

static void handle_tag_values(ottrd_query_ctx *q, const http_request *req, http_response *resp,
                              const char *tag, int version)
{
    uint64_t limit = 0;
    if (param_u64(req, resp, "limit", &limit) != 0)
        return;
    char err[QUERY_ERRLEN];
    int code =
        query_tempo_tag_values(q->st, version, tag, (size_t)(limit > 100000 ? 100000 : limit),
                               &resp->body, err, sizeof(err));
    finish(resp, code, err, "application/json");
}

static void handle_service_graph(ottrd_query_ctx *q, const http_request *req, http_response *resp)
{
    uint64_t start = 0, end = 0;
    if (param_seconds(req, resp, "start", &start) != 0 ||
        param_seconds(req, resp, "end", &end) != 0)
        return;
    if (end == 0)
        end = ottr_now_ns();
    if (start == 0)
        start = end > 3600000000000ull ? end - 3600000000000ull : 0;
    if (check_range(resp, start, end) != 0)
        return;
    char err[QUERY_ERRLEN];
    int code = query_service_graph(q->st, start, end, &resp->body, err, sizeof(err));
    finish(resp, code, err, "application/json");
}

static void handle_checkpoint(ottrd_query_ctx *q, const http_request *req, http_response *resp)
{
    char dir[4096];
    int r = param(req, resp, "dir", dir, sizeof(dir));
    if (r < 0)
        return;
    char err[QUERY_ERRLEN];
    int code = query_admin_checkpoint(q->st, r ? dir : NULL, &resp->body, err, sizeof(err));
    if (code == 200)
        OTTR_INFO("query", "checkpoint written to %s", dir);
    finish(resp, code, err, "application/json");
}

static int is_get(const http_request *req)
{
    return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

void routes_tempo_handle(void *ctx, const http_request *req, http_response *resp)
{
    ottrd_query_ctx *q = ctx;
    const char *path = req->path;

    if (strcmp(path, "/ready") == 0) {
        if (atomic_load(&q->ready))
            reply_text(resp, 200, "ready\n");
        else
            reply_text(resp, 503, "not ready\n");
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        resp->status = 200;
        http_response_set_type(resp, "text/plain; version=0.0.4; charset=utf-8");
        metrics_render_all(&resp->body);
        return;
    }
    if (strcmp(path, "/api/admin/checkpoint") == 0) {
        if (strcmp(req->method, "POST") != 0) {
            http_response_set_header(resp, "Allow", "POST");
            reply_error(resp, 405, "method not allowed: use POST");
            return;
        }
        handle_checkpoint(q, req, resp);
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
    if (strcmp(path, "/api/search") == 0) {
        handle_search(q, req, resp);
        return;
    }
    if (strcmp(path, "/api/search/tags") == 0 || strcmp(path, "/api/v2/search/tags") == 0) {
        handle_tags(q, req, resp, path[5] == 'v' ? 2 : 1);
        return;
    }
    if (strcmp(path, "/api/service-graph") == 0) {
        handle_service_graph(q, req, resp);
        return;
    }
    char seg[SEGMENT_MAX];
    int m;
    if ((m = match_segment(path, "/api/v2/traces/", "", seg, sizeof(seg))) != 0 ||
        (m = match_segment(path, "/api/traces/", "", seg, sizeof(seg))) != 0) {
        if (m < 0) {
            reply_error(resp, 400, "invalid trace ID: bad percent-encoding");
            return;
        }
        handle_trace(q, req, resp, seg, path[5] == 'v' ? 2 : 1);
        return;
    }
    if ((m = match_segment(path, "/api/v2/search/tag/", "/values", seg, sizeof(seg))) != 0 ||
        (m = match_segment(path, "/api/search/tag/", "/values", seg, sizeof(seg))) != 0) {
        if (m < 0) {
            reply_error(resp, 400, "invalid tag: bad percent-encoding");
            return;
        }
        handle_tag_values(q, req, resp, seg, path[5] == 'v' ? 2 : 1);
        return;
    }
    reply_text(resp, 404, "404 page not found\n");
}
