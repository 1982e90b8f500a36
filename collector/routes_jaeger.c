/* collector/routes_jaeger.c - routes of the :16686 port: Jaeger's query API
 * (the classic API and api_v3), mapped onto query/. Errors use Jaeger's
 * envelope, or api_v3's error body under /api/v3/. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "query/query.h"

#define SEGMENT_MAX   1024
#define MAX_TAGS      32
#define MAX_TRACE_IDS 64
#define DAY_NS        (86400ull * 1000000000ull)

static void reply_error(http_response *resp, int v3, int code, const char *msg)
{
    ottr_buf_reset(&resp->body);
    resp->status = code;
    http_response_set_type(resp, "application/json");
    if (v3)
        query_jaeger_v3_error(&resp->body, code, msg);
    else
        query_jaeger_error(&resp->body, code, msg);
}

static void finish(http_response *resp, int v3, int code, const char *err)
{
    if (code == 200) {
        resp->status = 200;
        http_response_set_type(resp, "application/json");
        return;
    }
    if (code == 500)
        OTTR_ERROR("query", "%s", err);
    reply_error(resp, v3, code, err);
}

/* Query parameter |name|: 1 present, 0 absent, -1 too long (400 written). */
static int param(const http_request *req, http_response *resp, int v3, const char *name, int index,
                 char *out, size_t outlen)
{
    if (!http_query_param(req, name, index, out, outlen))
        return 0;
    if (strlen(out) + 1 >= outlen) {
        char msg[128];
        snprintf(msg, sizeof(msg), "unable to parse param '%s': longer than %zu bytes", name,
                 outlen - 2);
        reply_error(resp, v3, 400, msg);
        return -1;
    }
    return 1;
}

static int bad_param(http_response *resp, int v3, const char *name, const char *value,
                     const char *want)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "unable to parse param '%s' \"%.40s\": want %s", name, value, want);
    reply_error(resp, v3, 400, msg);
    return -1;
}

static int param_u64(const http_request *req, http_response *resp, int v3, const char *name,
                     uint64_t *out)
{
    char v[64];
    int r = param(req, resp, v3, name, 0, v, sizeof(v));
    if (r <= 0 || v[0] == '\0')
        return r < 0 ? -1 : 0;
    if (http_parse_u64(v, out) != 0)
        return bad_param(resp, v3, name, v, "a non-negative integer");
    return 0;
}

static int param_duration(const http_request *req, http_response *resp, int v3, const char *name,
                          uint64_t *out)
{
    char v[64];
    int r = param(req, resp, v3, name, 0, v, sizeof(v));
    if (r <= 0 || v[0] == '\0')
        return r < 0 ? -1 : 0;
    if (ottr_parse_duration(v, out) != 0)
        return bad_param(resp, v3, name, v, "a duration such as 100ms or 1.5s");
    return 0;
}

static int param_rfc3339(const http_request *req, http_response *resp, const char *name,
                         uint64_t *out)
{
    char v[64];
    int r = param(req, resp, 1, name, 0, v, sizeof(v));
    if (r <= 0 || v[0] == '\0')
        return r < 0 ? -1 : 0;
    if (http_parse_rfc3339(v, out) != 0)
        return bad_param(resp, 1, name, v, "an RFC 3339 time such as 2024-05-01T10:00:00Z");
    return 0;
}

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

/* Tags from a JSON object ({"k":"v"}): values of other types in their JSON
 * text. The strings live as long as |*root|. Returns 0 or -1 (400 written). */
static int tags_from_json(http_response *resp, int v3, const char *name, const char *text,
                          json_object **root, query_jaeger_tag *tags, size_t *ntags)
{
    enum json_tokener_error jerr;
    json_object *o = json_tokener_parse_verbose(text, &jerr);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        char msg[160];
        snprintf(msg, sizeof(msg), "malformed '%s' parameter: want a JSON object of strings", name);
        reply_error(resp, v3, 400, msg);
        return -1;
    }
    *root = o;
    json_object_object_foreach(o, key, val)
    {
        if (*ntags >= MAX_TAGS) {
            reply_error(resp, v3, 400, "malformed 'tags' parameter: too many tags");
            return -1;
        }
        tags[*ntags].key = key;
        tags[*ntags].value =
            json_object_is_type(val, json_type_null) ? "" : json_object_get_string(val);
        (*ntags)++;
    }
    return 0;
}

typedef struct search_req {
    query_jaeger_search_params p;
    query_jaeger_tag tags[MAX_TAGS];
    char service[SEGMENT_MAX], operation[SEGMENT_MAX];
    char tagtext[8192];
    char tagvals[MAX_TAGS][512];
    json_object *json;
} search_req;

/* Parameters of GET /api/traces (classic). Returns 0 or -1 (400 written). */
static int classic_search_params(const http_request *req, http_response *resp, search_req *s)
{
    query_jaeger_search_params *p = &s->p;
    int r;
    if ((r = param(req, resp, 0, "service", 0, s->service, sizeof(s->service))) < 0)
        return -1;
    p->service = r ? s->service : NULL;
    if ((r = param(req, resp, 0, "operation", 0, s->operation, sizeof(s->operation))) < 0)
        return -1;
    p->operation = r && s->operation[0] ? s->operation : NULL;
    if ((r = param(req, resp, 0, "tags", 0, s->tagtext, sizeof(s->tagtext))) < 0)
        return -1;
    if (r && s->tagtext[0] &&
        tags_from_json(resp, 0, "tags", s->tagtext, &s->json, s->tags, &p->ntags) != 0)
        return -1;
    /* tag=key:value, repeated */
    for (int i = 0; p->ntags < MAX_TAGS; i++) {
        char *v = s->tagvals[i];
        if ((r = param(req, resp, 0, "tag", i, v, sizeof(s->tagvals[0]))) < 0)
            return -1;
        if (r == 0)
            break;
        char *colon = strchr(v, ':');
        if (colon == NULL || colon == v) {
            bad_param(resp, 0, "tag", v, "key:value");
            return -1;
        }
        *colon = '\0';
        s->tags[p->ntags].key = v;
        s->tags[p->ntags].value = colon + 1;
        p->ntags++;
    }
    p->tags = s->tags;

    uint64_t start_us = 0, end_us = 0, limit = 0, lookback = 0;
    if (param_u64(req, resp, 0, "start", &start_us) != 0 ||
        param_u64(req, resp, 0, "end", &end_us) != 0 ||
        param_u64(req, resp, 0, "limit", &limit) != 0 ||
        param_duration(req, resp, 0, "minDuration", &p->min_duration_ns) != 0 ||
        param_duration(req, resp, 0, "maxDuration", &p->max_duration_ns) != 0)
        return -1;
    char lb[64];
    if ((r = param(req, resp, 0, "lookback", 0, lb, sizeof(lb))) < 0)
        return -1;
    if (r && lb[0] && strcmp(lb, "custom") != 0 && ottr_parse_duration(lb, &lookback) != 0)
        return bad_param(resp, 0, "lookback", lb, "a duration such as 1h");
    if (start_us > UINT64_MAX / 1000 || end_us > UINT64_MAX / 1000)
        return bad_param(resp, 0, "start", "", "Unix microseconds");
    p->end_ns = end_us ? end_us * 1000 : ottr_now_ns();
    if (start_us) {
        p->start_ns = start_us * 1000;
    } else {
        uint64_t back = lookback ? lookback : 2 * DAY_NS;
        p->start_ns = p->end_ns > back ? p->end_ns - back : 0;
    }
    if (p->start_ns > p->end_ns) {
        reply_error(resp, 0, 400, "'start' must not be after 'end'");
        return -1;
    }
    p->limit = (size_t)(limit > 1000000 ? 1000000 : limit);
    return 0;
}

static void handle_traces(ottrd_query_ctx *q, const http_request *req, http_response *resp)
{
    char err[QUERY_ERRLEN];
    /* Repeated traceID= fetch those traces directly. */
    char idbuf[MAX_TRACE_IDS][80];
    const char *ids[MAX_TRACE_IDS];
    size_t nids = 0;
    while (nids < MAX_TRACE_IDS) {
        int r = param(req, resp, 0, "traceID", (int)nids, idbuf[nids], sizeof(idbuf[0]));
        if (r < 0)
            return;
        if (r == 0)
            break;
        ids[nids] = idbuf[nids];
        nids++;
    }
    if (nids) {
        int code = query_jaeger_traces_by_ids(q->st, ids, nids, &resp->body, err, sizeof(err));
        finish(resp, 0, code, err);
        return;
    }
    search_req *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        reply_error(resp, 0, 500, "out of memory");
        return;
    }
    if (classic_search_params(req, resp, s) == 0) {
        int code = query_jaeger_search(q->st, &s->p, &resp->body, err, sizeof(err));
        finish(resp, 0, code, err);
    }
    json_object_put(s->json);
    free(s);
}

/* api_v3: query.attributes as JSON or as query.attributes[k]=v pairs. */
static int v3_attributes(const http_request *req, http_response *resp, search_req *s)
{
    query_jaeger_search_params *p = &s->p;
    int r = param(req, resp, 1, "query.attributes", 0, s->tagtext, sizeof(s->tagtext));
    if (r < 0)
        return -1;
    if (r && s->tagtext[0])
        return tags_from_json(resp, 1, "query.attributes", s->tagtext, &s->json, s->tags,
                              &p->ntags);
    /* query.attributes[k]=v: scan the raw query string for the keys. */
    const char *qs = req->query;
    static const char prefix[] = "query.attributes%5B";
    static const char prefix2[] = "query.attributes[";
    while (qs && *qs && p->ntags < MAX_TAGS) {
        const char *amp = strchr(qs, '&');
        size_t len = amp ? (size_t)(amp - qs) : strlen(qs);
        const char *k = NULL;
        if (len > sizeof(prefix) - 1 && strncmp(qs, prefix, sizeof(prefix) - 1) == 0)
            k = qs + sizeof(prefix) - 1;
        else if (len > sizeof(prefix2) - 1 && strncmp(qs, prefix2, sizeof(prefix2) - 1) == 0)
            k = qs + sizeof(prefix2) - 1;
        if (k) {
            const char *eq = memchr(qs, '=', len);
            const char *end = eq ? eq : qs + len;
            char *dst = s->tagvals[p->ntags];
            /* key = between the bracket and "]" (raw or %5D), value = after '='. */
            size_t kl = (size_t)(end - k);
            if (kl >= 3 && strncmp(end - 3, "%5D", 3) == 0)
                kl -= 3;
            else if (kl >= 1 && end[-1] == ']')
                kl -= 1;
            else
                return bad_param(resp, 1, "query.attributes", "", "query.attributes[key]=value");
            char key[256], val[256];
            if (http_percent_decode(k, kl, key, sizeof(key)) != 0)
                return bad_param(resp, 1, "query.attributes", "", "query.attributes[key]=value");
            size_t vl = eq ? (size_t)(qs + len - eq - 1) : 0;
            /* '+' is a space in query values */
            char vraw[256];
            if (vl >= sizeof(vraw))
                return bad_param(resp, 1, "query.attributes", key, "a shorter value");
            for (size_t i = 0; i < vl; i++)
                vraw[i] = eq[1 + i] == '+' ? ' ' : eq[1 + i];
            if (http_percent_decode(vraw, vl, val, sizeof(val)) != 0)
                return bad_param(resp, 1, "query.attributes", key, "a percent-encoded value");
            int n = snprintf(dst, sizeof(s->tagvals[0]), "%s", key);
            if (n < 0 || (size_t)n + 1 + strlen(val) + 1 > sizeof(s->tagvals[0]))
                return bad_param(resp, 1, "query.attributes", key, "a shorter key and value");
            memcpy(dst + n + 1, val, strlen(val) + 1);
            s->tags[p->ntags].key = dst;
            s->tags[p->ntags].value = dst + n + 1;
            p->ntags++;
        }
        qs = amp ? amp + 1 : NULL;
    }
    return 0;
}

static int v3_search_params(const http_request *req, http_response *resp, search_req *s)
{
    query_jaeger_search_params *p = &s->p;
    int r;
    if ((r = param(req, resp, 1, "query.service_name", 0, s->service, sizeof(s->service))) < 0)
        return -1;
    p->service = r ? s->service : NULL;
    if ((r = param(req, resp, 1, "query.operation_name", 0, s->operation, sizeof(s->operation))) <
        0)
        return -1;
    p->operation = r && s->operation[0] ? s->operation : NULL;
    if (v3_attributes(req, resp, s) != 0)
        return -1;
    p->tags = s->tags;
    uint64_t limit = 0;
    if (param_rfc3339(req, resp, "query.start_time_min", &p->start_ns) != 0 ||
        param_rfc3339(req, resp, "query.start_time_max", &p->end_ns) != 0 ||
        param_duration(req, resp, 1, "query.duration_min", &p->min_duration_ns) != 0 ||
        param_duration(req, resp, 1, "query.duration_max", &p->max_duration_ns) != 0 ||
        param_u64(req, resp, 1, "query.search_depth", &limit) != 0 ||
        (limit == 0 && param_u64(req, resp, 1, "query.num_traces", &limit) != 0))
        return -1;
    if (p->end_ns == 0)
        p->end_ns = ottr_now_ns();
    if (p->start_ns == 0)
        p->start_ns = p->end_ns > 2 * DAY_NS ? p->end_ns - 2 * DAY_NS : 0;
    if (p->start_ns > p->end_ns) {
        reply_error(resp, 1, 400, "query.start_time_min must not be after query.start_time_max");
        return -1;
    }
    p->limit = (size_t)(limit > 1000000 ? 1000000 : limit);
    return 0;
}

static void handle_v3_traces(ottrd_query_ctx *q, const http_request *req, http_response *resp)
{
    char err[QUERY_ERRLEN];
    search_req *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        reply_error(resp, 1, 500, "out of memory");
        return;
    }
    if (v3_search_params(req, resp, s) == 0) {
        int code = query_jaeger_v3_search(q->st, &s->p, &resp->body, err, sizeof(err));
        finish(resp, 1, code, err);
    }
    json_object_put(s->json);
    free(s);
}

static void handle_dependencies(ottrd_query_ctx *q, const http_request *req, http_response *resp)
{
    uint64_t end_ms = 0, lookback_ms = 0;
    if (param_u64(req, resp, 0, "endTs", &end_ms) != 0 ||
        param_u64(req, resp, 0, "lookback", &lookback_ms) != 0)
        return;
    if (end_ms > UINT64_MAX / 1000000ull || lookback_ms > UINT64_MAX / 1000000ull) {
        reply_error(resp, 0, 400, "unable to parse param 'endTs': out of range");
        return;
    }
    uint64_t end = end_ms ? end_ms * 1000000ull : ottr_now_ns();
    uint64_t lookback = lookback_ms ? lookback_ms * 1000000ull : DAY_NS;
    char err[QUERY_ERRLEN];
    int code = query_jaeger_dependencies(q->st, end, lookback, &resp->body, err, sizeof(err));
    finish(resp, 0, code, err);
}

void routes_jaeger_handle(void *ctx, const http_request *req, http_response *resp)
{
    ottrd_query_ctx *q = ctx;
    const char *path = req->path;
    int v3 = strncmp(path, "/api/v3/", 8) == 0;
    char err[QUERY_ERRLEN];
    char seg[SEGMENT_MAX];
    int m, code;

    if (strncmp(path, "/api/", 5) != 0) {
        reply_error(resp, 0, 404, "not found");
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        http_response_set_header(resp, "Allow", "GET");
        reply_error(resp, v3, 405, "method not allowed: use GET");
        return;
    }
    if (strcmp(path, "/api/services") == 0) {
        code = query_jaeger_services(q->st, &resp->body, err, sizeof(err));
        finish(resp, 0, code, err);
        return;
    }
    if (strcmp(path, "/api/v3/services") == 0) {
        code = query_jaeger_v3_services(q->st, &resp->body, err, sizeof(err));
        finish(resp, 1, code, err);
        return;
    }
    if (strcmp(path, "/api/operations") == 0 || strcmp(path, "/api/v3/operations") == 0) {
        char service[SEGMENT_MAX], kind[32];
        int rs = param(req, resp, v3, "service", 0, service, sizeof(service));
        int rk = rs < 0
                     ? -1
                     : param(req, resp, v3, v3 ? "span_kind" : "spanKind", 0, kind, sizeof(kind));
        if (rs < 0 || rk < 0)
            return;
        if (v3)
            code = query_jaeger_v3_operations(q->st, rs ? service : NULL, rk ? kind : NULL,
                                              &resp->body, err, sizeof(err));
        else
            code = query_jaeger_operations(q->st, rs ? service : NULL, rk ? kind : NULL, true,
                                           &resp->body, err, sizeof(err));
        finish(resp, v3, code, err);
        return;
    }
    if ((m = match_segment(path, "/api/services/", "/operations", seg, sizeof(seg))) != 0) {
        if (m < 0) {
            reply_error(resp, 0, 400, "bad percent-encoding in the service name");
            return;
        }
        code = query_jaeger_operations(q->st, seg, NULL, false, &resp->body, err, sizeof(err));
        finish(resp, 0, code, err);
        return;
    }
    if (strcmp(path, "/api/traces") == 0) {
        handle_traces(q, req, resp);
        return;
    }
    if (strcmp(path, "/api/v3/traces") == 0) {
        handle_v3_traces(q, req, resp);
        return;
    }
    if ((m = match_segment(path, "/api/v3/traces/", "", seg, sizeof(seg))) != 0 ||
        (m = match_segment(path, "/api/traces/", "", seg, sizeof(seg))) != 0) {
        if (m < 0) {
            reply_error(resp, v3, 400, "bad percent-encoding in the trace ID");
            return;
        }
        if (v3)
            code = query_jaeger_v3_trace(q->st, seg, &resp->body, err, sizeof(err));
        else
            code = query_jaeger_trace(q->st, seg, &resp->body, err, sizeof(err));
        finish(resp, v3, code, err);
        return;
    }
    if (strcmp(path, "/api/dependencies") == 0) {
        handle_dependencies(q, req, resp);
        return;
    }
    reply_error(resp, v3, 404, "not found");
}
