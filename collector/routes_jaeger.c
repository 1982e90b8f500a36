/* collector/routes_jaeger.c - routes of the :16686 port: Jaeger's query API
 * (the classic API with its metrics API, and api_v3), mapped onto query/ and
 * run on the query threads (query_pool.c). Errors use Jaeger's envelope, or api_v3's error body
 * under /api/v3/. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collector/collector.h"
#include "query/query.h"

#define SEGMENT_MAX   1024
#define MAX_TAGS      32
#define MAX_TRACE_IDS 64
#define DAY_NS        (86400ull * 1000000000ull)

static int parse_go_bool(const char *v);

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

static void finish(http_response *resp, int v3, ottr_status st, const char *err)
{
    int code = collector_routes_finish(resp, st, err, "application/json");
    if (code != 200)
        reply_error(resp, v3, code, err);
}

/* 400 for parameter |name|: |problem| ("want ...") about |value| (may be ""). */
static int bad_param(http_response *resp, int v3, const char *name, const char *value,
                     const char *problem)
{
    char msg[256];
    if (value[0])
        snprintf(msg, sizeof(msg), "unable to parse param '%s' \"%.40s\": %s", name, value,
                 problem);
    else
        snprintf(msg, sizeof(msg), "unable to parse param '%s': %s", name, problem);
    reply_error(resp, v3, 400, msg);
    return -1;
}

static int reply_param_err(http_response *resp, int v3, const http_param_err *e)
{
    return bad_param(resp, v3, e->name, e->value, e->problem);
}

/* Query parameter |name|: 1 present, 0 absent, -1 refused (400 written). */
static int param(const http_request *req, http_response *resp, int v3, const char *name, int index,
                 char *out, size_t outlen)
{
    http_param_err e;
    int r = http_param_str(req, name, index, out, outlen, &e);
    return r < 0 ? reply_param_err(resp, v3, &e) : r;
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
            bad_param(resp, 0, "tag", v, "want key:value");
            return -1;
        }
        *colon = '\0';
        s->tags[p->ntags].key = v;
        s->tags[p->ntags].value = colon + 1;
        p->ntags++;
    }
    p->tags = s->tags;

    uint64_t start = 0, end = 0, lookback = 0;
    http_param_err e;
    int rs = 0, re = 0;
    if ((rs = http_param_time(req, "start", HTTP_TIME_MICROS, &start, &e)) < 0 ||
        (re = http_param_time(req, "end", HTTP_TIME_MICROS, &end, &e)) < 0 ||
        http_param_limit(req, "limit", 1000000, &p->limit, &e) < 0 ||
        http_param_duration(req, "minDuration", &p->min_duration_ns, &e) < 0 ||
        http_param_duration(req, "maxDuration", &p->max_duration_ns, &e) < 0)
        return reply_param_err(resp, 0, &e);
    char lb[64];
    if ((r = param(req, resp, 0, "lookback", 0, lb, sizeof(lb))) < 0)
        return -1;
    if (r && lb[0] && strcmp(lb, "custom") != 0 && ottr_parse_duration(lb, &lookback) != 0)
        return bad_param(resp, 0, "lookback", lb, "want a duration such as 1h");
    /* An explicit 0 is the epoch, not "absent". */
    p->end_ns = re ? end : ottr_now_ns();
    if (rs) {
        p->start_ns = start;
    } else {
        uint64_t back = lookback ? lookback : 2 * DAY_NS;
        p->start_ns = p->end_ns > back ? p->end_ns - back : 0;
    }
    if (p->start_ns > p->end_ns) {
        reply_error(resp, 0, 400, "'start' must not be after 'end'");
        return -1;
    }
    return 0;
}

/* Runs a search with the query's budget and counts it when cut short. */
static ottr_status run_search(store_view v, search_req *s, int v3, const query_budget *b,
                              http_response *resp, char *err, size_t errlen)
{
    query_cut cut = QUERY_CUT_NONE;
    s->p.budget = b;
    s->p.cut = &cut;
    ottr_status st = v3 ? query_jaeger_v3_search(v, &s->p, &resp->body, err, errlen)
                        : query_jaeger_search(v, &s->p, &resp->body, err, errlen);
    collector_query_note_cut(cut);
    return st;
}

static void handle_traces(store_view v, const http_request *req, http_response *resp,
                          const query_budget *b)
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
        ottr_status st = query_jaeger_traces_by_ids(v, ids, nids, &resp->body, err, sizeof(err));
        finish(resp, 0, st, err);
        return;
    }
    search_req *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        reply_error(resp, 0, 500, "out of memory");
        return;
    }
    if (classic_search_params(req, resp, s) == 0) {
        ottr_status st = run_search(v, s, 0, b, resp, err, sizeof(err));
        finish(resp, 0, st, err);
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
    /* query.attributes[k]=v pairs: key and value in one tagvals slot. */
    size_t half = sizeof(s->tagvals[0]) / 2;
    for (int i = 0; p->ntags < MAX_TAGS; i++) {
        char *dst = s->tagvals[p->ntags];
        http_param_err e;
        r = http_param_bracket(req, "query.attributes", i, dst, half, dst + half, half, &e);
        if (r < 0)
            return reply_param_err(resp, 1, &e);
        if (r == 0)
            break;
        s->tags[p->ntags].key = dst;
        s->tags[p->ntags].value = dst + half;
        p->ntags++;
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
    http_param_err e;
    int rs = 0, re = 0;
    if ((rs = http_param_time(req, "query.start_time_min", HTTP_TIME_RFC3339, &p->start_ns, &e)) <
            0 ||
        (re = http_param_time(req, "query.start_time_max", HTTP_TIME_RFC3339, &p->end_ns, &e)) <
            0 ||
        http_param_duration(req, "query.duration_min", &p->min_duration_ns, &e) < 0 ||
        http_param_duration(req, "query.duration_max", &p->max_duration_ns, &e) < 0 ||
        http_param_limit(req, "query.search_depth", 1000000, &p->limit, &e) < 0 ||
        (p->limit == 0 && http_param_limit(req, "query.num_traces", 1000000, &p->limit, &e) < 0))
        return reply_param_err(resp, 1, &e);
    if (!re)
        p->end_ns = ottr_now_ns();
    if (!rs)
        p->start_ns = p->end_ns > 2 * DAY_NS ? p->end_ns - 2 * DAY_NS : 0;
    if (p->start_ns > p->end_ns) {
        reply_error(resp, 1, 400, "query.start_time_min must not be after query.start_time_max");
        return -1;
    }
    return 0;
}

static void handle_v3_traces(store_view v, const http_request *req, http_response *resp,
                             const query_budget *b)
{
    char err[QUERY_ERRLEN];
    search_req *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        reply_error(resp, 1, 500, "out of memory");
        return;
    }
    if (v3_search_params(req, resp, s) == 0) {
        ottr_status st = run_search(v, s, 1, b, resp, err, sizeof(err));
        finish(resp, 1, st, err);
    }
    json_object_put(s->json);
    free(s);
}

static void handle_dependencies(store_view v, const http_request *req, http_response *resp)
{
    uint64_t end = 0, lookback = 0;
    http_param_err e;
    /* lookback is a span of milliseconds, read as a time in milliseconds. */
    if (http_param_time(req, "endTs", HTTP_TIME_MILLIS, &end, &e) < 0 ||
        http_param_time(req, "lookback", HTTP_TIME_MILLIS, &lookback, &e) < 0) {
        reply_param_err(resp, 0, &e);
        return;
    }
    if (end == 0)
        end = ottr_now_ns();
    if (lookback == 0)
        lookback = DAY_NS;
    /* service= (Jaeger's filter), virtualNodes=true (Ottr's databases and
     * uninstrumented peers). */
    char service[SEGMENT_MAX], virt[16];
    int rs = param(req, resp, 0, "service", 0, service, sizeof(service));
    int rv = rs < 0 ? -1 : param(req, resp, 0, "virtualNodes", 0, virt, sizeof(virt));
    if (rs < 0 || rv < 0)
        return;
    int vn = rv && virt[0] ? parse_go_bool(virt) : 0;
    if (vn < 0) {
        bad_param(resp, 0, "virtualNodes", virt, "want true or false");
        return;
    }
    char err[QUERY_ERRLEN];
    ottr_status st = query_jaeger_dependencies(v, end, lookback, rs && service[0] ? service : NULL,
                                               vn == 1, &resp->body, err, sizeof(err));
    finish(resp, 0, st, err);
}

/* ------------------------------------------------------------------ metrics (Monitor tab) */

#define MAX_METRIC_SERVICES 64

/* Go's strconv.ParseBool; -1 for anything else. */
static int parse_go_bool(const char *v)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(v, yes[i]) == 0)
            return 1;
        if (strcmp(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* An integer number of milliseconds |name| (absent: |dflt|). Returns 0 or -1
 * (400 written). */
static int param_ms(const http_request *req, http_response *resp, const char *name, uint64_t dflt,
                    uint64_t *out)
{
    http_param_err e;
    *out = dflt;
    if (http_param_u64(req, name, out, &e) < 0)
        return reply_param_err(resp, 0, &e);
    return 0;
}

static void handle_metrics(store_view sv, const http_request *req, http_response *resp,
                           query_red what)
{
    static const char *const kinds[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                        "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                        "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    query_jaeger_metrics_params p = {.what = what};
    char svcbuf[MAX_METRIC_SERVICES][256];
    const char *svcs[MAX_METRIC_SERVICES];
    char v[64];
    int r;
    while (p.nservices < MAX_METRIC_SERVICES) {
        r = param(req, resp, 0, "service", (int)p.nservices, svcbuf[p.nservices],
                  sizeof(svcbuf[0]));
        if (r < 0)
            return;
        if (r == 0)
            break;
        svcs[p.nservices] = svcbuf[p.nservices];
        p.nservices++;
    }
    if (p.nservices == 0) {
        reply_error(resp, 0, 400,
                    "unable to parse param 'service': please provide at least one service name");
        return;
    }
    p.services = svcs;
    if ((r = param(req, resp, 0, "groupByOperation", 0, v, sizeof(v))) < 0)
        return;
    if (r && v[0] && (r = parse_go_bool(v)) < 0) {
        bad_param(resp, 0, "groupByOperation", v, "want true or false");
        return;
    }
    p.group_by_operation = r == 1;
    /* spanKind: repeated, each a word as Jaeger UI sends it ("server") or an
     * OpenTelemetry name ("SPAN_KIND_SERVER"), or a comma-separated list of
     * those (older Jaeger versions). */
    char kv[256];
    for (int i = 0;; i++) {
        if ((r = param(req, resp, 0, "spanKind", i, kv, sizeof(kv))) < 0)
            return;
        if (r == 0)
            break;
        for (char *save = NULL, *w = strtok_r(kv, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
            const char *word = strncmp(w, "SPAN_KIND_", 10) == 0 ? w + 10 : w;
            size_t k = 0;
            while (k < 6 && strcasecmp(word, kinds[k] + 10) != 0)
                k++;
            if (k == 6) {
                bad_param(resp, 0, "spanKind", w, "unsupported span kind");
                return;
            }
            p.kinds |= 1u << k;
        }
    }
    if (p.kinds == 0)
        p.kinds = 1u << 2; /* SPAN_KIND_SERVER, as Jaeger */
    if (param_ms(req, resp, "endTs", ottr_now_ns() / 1000000, &p.end_ms) != 0 ||
        param_ms(req, resp, "lookback", 3600000, &p.lookback_ms) != 0 ||
        param_ms(req, resp, "step", 5000, &p.step_ms) != 0 ||
        param_ms(req, resp, "ratePer", 600000, &p.rate_per_ms) != 0)
        return;
    if (what == QUERY_RED_LATENCIES) {
        char *end = NULL;
        r = param(req, resp, 0, "quantile", 0, v, sizeof(v));
        if (r < 0)
            return;
        p.quantile = r ? strtod(v, &end) : 0;
        if (r == 0 || end == v || *end != '\0') {
            bad_param(resp, 0, "quantile", v, "want a number from 0 to 1");
            return;
        }
    }
    char err[QUERY_ERRLEN];
    ottr_status st = query_jaeger_metrics(sv, &p, &resp->body, err, sizeof(err));
    if (st == OTTR_ERR_TOO_LARGE) {
        reply_error(resp, 0, 501, err); /* cannot be answered */
        return;
    }
    finish(resp, 0, st, err);
}

static void jaeger_route(store_view v, const http_request *req, http_response *resp,
                         const query_budget *b);

/* The routes, on a query thread, for the request's tenant; answers of the classic
 * API indented on prettyPrint (any value but "false", as Jaeger). */
static void jaeger_refuse(const http_request *req, http_response *resp, int status,
                          const char *msg);

static void jaeger_query(void *ctx, const http_request *req, http_response *resp,
                         const query_budget *b)
{
    store_view sv;
    if (!collector_routes_view(ctx, req, resp, jaeger_refuse, &sv))
        return;
    jaeger_route(sv, req, resp, b);
    char v[16];
    if (resp->status != 200 || strncmp(req->path, "/api/v3/", 8) == 0 ||
        http_param_str(req, "prettyPrint", 0, v, sizeof(v), NULL) != 1 || v[0] == '\0' ||
        strcmp(v, "false") == 0)
        return;
    ottr_buf pretty = {0};
    ottr_json_indent(&pretty, resp->body.data ? resp->body.data : "", resp->body.len, "    ");
    if (pretty.oom) {
        ottr_buf_free(&pretty);
        return; /* the compact answer is still an answer */
    }
    ottr_buf_free(&resp->body);
    resp->body = pretty;
}

static void jaeger_route(store_view v, const http_request *req, http_response *resp,
                         const query_budget *b)
{
    const char *path = req->path;
    int v3 = strncmp(path, "/api/v3/", 8) == 0;
    char err[QUERY_ERRLEN];
    char seg[SEGMENT_MAX];
    int m;
    ottr_status code;

    if (strcmp(path, "/api/services") == 0) {
        code = query_jaeger_services(v, &resp->body, err, sizeof(err));
        finish(resp, 0, code, err);
        return;
    }
    if (strcmp(path, "/api/v3/services") == 0) {
        code = query_jaeger_v3_services(v, &resp->body, err, sizeof(err));
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
            code = query_jaeger_v3_operations(v, rs ? service : NULL, rk ? kind : NULL, &resp->body,
                                              err, sizeof(err));
        else
            code = query_jaeger_operations(v, rs ? service : NULL, rk ? kind : NULL, true,
                                           &resp->body, err, sizeof(err));
        finish(resp, v3, code, err);
        return;
    }
    if ((m = http_path_segment(req, "/api/services/", "/operations", seg, sizeof(seg))) != 0) {
        if (m < 0) {
            reply_error(resp, 0, 400, "bad percent-encoding in the service name");
            return;
        }
        code = query_jaeger_operations(v, seg, NULL, false, &resp->body, err, sizeof(err));
        finish(resp, 0, code, err);
        return;
    }
    if (strcmp(path, "/api/traces") == 0) {
        handle_traces(v, req, resp, b);
        return;
    }
    if (strcmp(path, "/api/v3/traces") == 0) {
        handle_v3_traces(v, req, resp, b);
        return;
    }
    if ((m = http_path_segment(req, "/api/v3/traces/", "", seg, sizeof(seg))) != 0 ||
        (m = http_path_segment(req, "/api/traces/", "", seg, sizeof(seg))) != 0) {
        if (m < 0) {
            reply_error(resp, v3, 400, "bad percent-encoding in the trace ID");
            return;
        }
        if (v3)
            code = query_jaeger_v3_trace(v, seg, &resp->body, err, sizeof(err));
        else
            code = query_jaeger_trace(v, seg, &resp->body, err, sizeof(err));
        finish(resp, v3, code, err);
        return;
    }
    if (strcmp(path, "/api/dependencies") == 0) {
        handle_dependencies(v, req, resp);
        return;
    }
    if (strcmp(path, "/api/transform") == 0) {
        code = query_jaeger_transform(v, req->body ? (const char *)req->body : "", req->body_len,
                                      &resp->body, err, sizeof(err));
        finish(resp, 0, code, err);
        return;
    }
    if (strncmp(path, "/api/metrics/", 13) == 0) {
        const char *what = path + 13;
        if (strcmp(what, "latencies") == 0) {
            handle_metrics(v, req, resp, QUERY_RED_LATENCIES);
        } else if (strcmp(what, "calls") == 0) {
            handle_metrics(v, req, resp, QUERY_RED_CALLS);
        } else if (strcmp(what, "errors") == 0) {
            handle_metrics(v, req, resp, QUERY_RED_ERRORS);
        } else if (strcmp(what, "minstep") == 0) {
            query_jaeger_min_step(&resp->body);
            finish(resp, 0, OTTR_OK, "");
        } else { /* the UI shows its setup page on 501 */
            reply_error(resp, 0, 501, "this metrics query is not implemented");
        }
        return;
    }
    reply_error(resp, v3, 404, "not found");
}

/* A query refused at the limits or at shutdown, in the API's error format. */
static void jaeger_refuse(const http_request *req, http_response *resp, int status, const char *msg)
{
    reply_error(resp, strncmp(req->path, "/api/v3/", 8) == 0, status, msg);
}

void collector_routes_jaeger_handle(void *ctx, const http_request *req, http_response *resp)
{
    ottrd_query_ctx *q = ctx;
    if (strncmp(req->path, "/api/", 5) != 0) {
        reply_error(resp, 0, 404, "not found");
        return;
    }
    if (strcmp(req->path, "/api/transform") == 0) {
        if (strcmp(req->method, "POST") != 0) {
            http_response_set_header(resp, "Allow", "POST");
            reply_error(resp, 0, 405, "method not allowed: use POST");
            return;
        }
        if (req->body_too_large) {
            reply_error(resp, 0, 413, "the OTLP JSON document is too large");
            return;
        }
    } else if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        http_response_set_header(resp, "Allow", "GET");
        reply_error(resp, strncmp(req->path, "/api/v3/", 8) == 0, 405,
                    "method not allowed: use GET");
        return;
    }
    bool fan = strcmp(req->method, "POST") != 0 && collector_fanout_wanted(q, req, true);
    collector_query_pool_submit(q->pool, req, resp, fan ? collector_fanout_jaeger : jaeger_query,
                                jaeger_refuse, q);
}
