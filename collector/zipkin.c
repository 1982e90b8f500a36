/* collector/zipkin.c - the :9411 port, as a Zipkin server has it: POST
 * /api/v2/spans takes Zipkin v2 span lists (JSON, or protobuf with
 * Content-Type application/x-protobuf; gzip or not) through the same ingest as
 * OTLP (limits, push-back, durability, counters; protocol="zipkin"), answering
 * 202; GET /api/v2/... is Zipkin's query API, run on the query threads. Errors
 * are plain text, as Zipkin answers them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collector/collector.h"
#include "http/http.h"
#include "otlp/otlp.h"

#define SEGMENT_MAX 1024
#define MAX_IDS     64
#define DAY_NS      (86400ull * 1000000000ull)
#define US_NS       1000ull

/* Decoded structs take several times the wire size; past this limit the
 * request is refused with 413 (as on the OTLP/HTTP port). */
#define ARENA_PER_BODY_BYTE 16
#define ARENA_SLACK         (4u << 20)

/* ------------------------------------------------------------------ metrics */

static const int metric_codes[] = {202, 400, 404, 405, 413, 415, 503};
#define NCODES (sizeof(metric_codes) / sizeof(metric_codes[0]))

typedef enum bad_reason {
    BAD_PATH,
    BAD_METHOD,
    BAD_CONTENT_ENCODING,
    BAD_TOO_LARGE,
    BAD_GZIP,
    BAD_DECODE,
    BAD_CONTENT_TYPE,
    BAD_NREASONS
} bad_reason;

static const char *const bad_reason_names[BAD_NREASONS] = {
    "path", "method", "content_encoding", "too_large", "gzip", "decode", "content_type",
};

static receiver_metrics m;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void)
{
    collector_receiver_metrics_init(&m, "zipkin", metric_codes, NCODES, bad_reason_names,
                                    BAD_NREASONS);
}

/* ------------------------------------------------------------------ answers */

/* A plain-text answer |msg| (printable ASCII kept), as Zipkin's errors are. */
static void reply_text(http_response *resp, int status, const char *msg)
{
    ottr_buf_reset(&resp->body);
    resp->status = status;
    http_response_set_type(resp, "text/plain; charset=utf-8");
    for (const char *p = msg; *p; p++)
        ottr_buf_putc(&resp->body, (*p >= 0x20 && *p < 0x7f) ? *p : '?');
    ottr_buf_putc(&resp->body, '\n');
}

static int refuse(http_response *resp, bad_reason why, int status, const char *msg)
{
    ottr_counter_add(m.bad[why], 1);
    OTTR_DEBUG("zipkin", "refused request (%d): %s", status, msg);
    reply_text(resp, status, msg);
    return status;
}

/* ------------------------------------------------------------------ receiver */

static int ingest_body(const otlp_http_ctx *c, uint32_t tenant, ingest_encoding enc,
                       const uint8_t *body, size_t len, http_response *resp)
{
    ottr_arena arena;
    size_t limit = len > (SIZE_MAX - ARENA_SLACK) / ARENA_PER_BODY_BYTE
                       ? SIZE_MAX
                       : len * ARENA_PER_BODY_BYTE + ARENA_SLACK;
    ottr_arena_init(&arena, 64u << 10, limit);
    ingest_result r;
    const ingest_counters *spans =
        c->tenants.enabled ? collector_ingest_counters_tenant("zipkin", c->tenants.st, tenant)
                           : NULL;
    collector_ingest_export(c->ingest, c->would_push_back, c->ingest_ctx, tenant,
                            spans ? spans : &m.spans, &c->limits, &arena, enc, body, len, &r);
    ottr_arena_free(&arena);
    switch (r.outcome) {
    case INGEST_OK:
    case INGEST_PARTIAL:
        /* Zipkin has no partial answer: rejected spans are counted and logged. */
        if (r.rejected)
            OTTR_DEBUG("zipkin", "%s", r.message);
        ottr_buf_reset(&resp->body);
        resp->status = 202;
        return 202;
    case INGEST_INVALID:
        return refuse(resp, BAD_DECODE, 400, r.message);
    case INGEST_TOO_LARGE:
        return refuse(resp, BAD_TOO_LARGE, 413, r.message);
    case INGEST_LIMITED: /* over the tenant's limits */
    case INGEST_BUSY:
    case INGEST_UNAVAILABLE:
        break;
    }
    if (r.outcome == INGEST_UNAVAILABLE)
        OTTR_WARN("zipkin", "spans not taken: %s", r.message);
    int status = r.outcome == INGEST_LIMITED ? 429 : 503;
    reply_text(resp, status, r.message);
    char v[16];
    snprintf(v, sizeof(v), "%d", r.retry_after_s > 0 ? r.retry_after_s : OTTR_RETRY_AFTER_SECONDS);
    http_response_set_header(resp, "Retry-After", v);
    return status;
}

static int receive(const otlp_http_ctx *c, const http_request *req, http_response *resp)
{
    char msg[256];
    uint32_t tenant;
    tenant_verdict tv =
        collector_tenant_of_request(&c->tenants, req, true, &tenant, msg, sizeof(msg));
    if (tv != TENANT_OK) {
        int status = collector_tenant_http_status(tv);
        reply_text(resp, status, msg);
        if (tv == TENANT_FAILED)
            http_response_set_header(resp, "Retry-After", "1");
        return status;
    }
    /* As Zipkin: protobuf when the type says so, else JSON (v1 JSON on the v1
     * path, where Thrift is the one type not taken). */
    const char *ct = http_request_header(req, "content-type");
    ingest_encoding enc = ct && strncasecmp(ct, "application/x-protobuf", 22) == 0
                              ? INGEST_ZIPKIN_PROTO
                              : INGEST_ZIPKIN_JSON;
    if (strcmp(req->path, "/api/v1/spans") == 0) {
        if (enc == INGEST_ZIPKIN_PROTO || (ct && strncasecmp(ct, "application/x-thrift", 20) == 0))
            return refuse(resp, BAD_CONTENT_TYPE, 415,
                          "Zipkin v1 spans are accepted as JSON only: send application/json, "
                          "or Zipkin v2 to /api/v2/spans");
        enc = INGEST_ZIPKIN_V1;
    }
    const char *ce = http_request_header(req, "content-encoding");
    int gzip = 0;
    if (ce && ce[0] && strcasecmp(ce, "identity") != 0) {
        if (strcasecmp(ce, "gzip") != 0) {
            snprintf(msg, sizeof(msg), "unsupported content encoding \"%.64s\": use gzip", ce);
            return refuse(resp, BAD_CONTENT_ENCODING, 415, msg);
        }
        gzip = 1;
    }
    if (req->body_too_large) {
        snprintf(msg, sizeof(msg), "request body larger than the limit of %llu bytes",
                 (unsigned long long)c->max_body_bytes);
        return refuse(resp, BAD_TOO_LARGE, 413, msg);
    }
    size_t len = req->body_len;
    if (!gzip || len == 0) {
        ottr_counter_add(m.bytes, len);
        return ingest_body(c, tenant, enc, len ? req->body : NULL, len, resp);
    }
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    size_t cap = c->max_body_bytes > SIZE_MAX ? SIZE_MAX : (size_t)c->max_body_bytes;
    ottr_status st = http_gunzip(req->body, len, cap, &plain, &plain_len);
    ottr_counter_add(m.bytes, st == OTTR_OK ? plain_len : len);
    if (st == OTTR_ERR_TOO_LARGE) {
        snprintf(msg, sizeof(msg), "decompressed body larger than the limit of %llu bytes",
                 (unsigned long long)c->max_body_bytes);
        return refuse(resp, BAD_TOO_LARGE, 413, msg);
    }
    if (st == OTTR_ERR_CORRUPT)
        return refuse(resp, BAD_GZIP, 400, "Cannot gunzip spans: corrupt or truncated");
    if (st != OTTR_OK) {
        reply_text(resp, 503, "out of memory: retry later");
        http_response_set_header(resp, "Retry-After", "1");
        return 503;
    }
    int status = ingest_body(c, tenant, enc, plain, plain_len, resp);
    free(plain);
    return status;
}

/* ------------------------------------------------------------------ queries */

static void finish(http_response *resp, ottr_status st, const char *err)
{
    int code = collector_routes_finish(resp, st, err, "application/json");
    if (code != 200)
        reply_text(resp, code, err);
}

/* Parameter |name| into |out|: 1 present, 0 absent, -1 refused (400 written). */
static int param(const http_request *req, http_response *resp, const char *name, char *out,
                 size_t outlen)
{
    http_param_err e;
    int r = http_param_str(req, name, 0, out, outlen, &e);
    if (r < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s: %s", name, e.problem);
        reply_text(resp, 400, msg);
    }
    return r;
}

/* A count of microseconds (minDuration, maxDuration) as nanoseconds. */
static int micros(const http_request *req, const char *name, uint64_t *out_ns, http_param_err *e)
{
    uint64_t us = 0;
    int r = http_param_u64(req, name, &us, e);
    if (r == 1 && us > UINT64_MAX / US_NS) {
        e->name = name;
        snprintf(e->problem, sizeof(e->problem), "out of range");
        return -1;
    }
    if (r == 1)
        *out_ns = us * US_NS;
    return r;
}

typedef struct zsearch_req {
    query_zipkin_search_params p;
    char service[SEGMENT_MAX], remote[SEGMENT_MAX], span[SEGMENT_MAX];
    char annotation[4096];
} zsearch_req;

static void handle_traces(store_view v, const http_request *req, http_response *resp,
                          const query_budget *b)
{
    zsearch_req *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        reply_text(resp, 500, "out of memory");
        return;
    }
    query_zipkin_search_params *p = &s->p;
    int r1 = param(req, resp, "serviceName", s->service, sizeof(s->service));
    int r2 = r1 < 0 ? -1 : param(req, resp, "remoteServiceName", s->remote, sizeof(s->remote));
    int r3 = r2 < 0 ? -1 : param(req, resp, "spanName", s->span, sizeof(s->span));
    int r4 =
        r3 < 0 ? -1 : param(req, resp, "annotationQuery", s->annotation, sizeof(s->annotation));
    if (r4 < 0) {
        free(s);
        return;
    }
    p->service = r1 ? s->service : NULL;
    p->remote_service = r2 ? s->remote : NULL;
    p->span_name = r3 ? s->span : NULL;
    p->annotation_query = r4 ? s->annotation : NULL;
    uint64_t end = 0, lookback = 0;
    http_param_err e;
    int re = 0, rl = 0;
    if (micros(req, "minDuration", &p->min_duration_ns, &e) < 0 ||
        micros(req, "maxDuration", &p->max_duration_ns, &e) < 0 ||
        (re = http_param_time(req, "endTs", HTTP_TIME_MILLIS, &end, &e)) < 0 ||
        (rl = http_param_time(req, "lookback", HTTP_TIME_MILLIS, &lookback, &e)) < 0 ||
        http_param_limit(req, "limit", 10000, &p->limit, &e) < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s: %s", e.name, e.problem);
        reply_text(resp, 400, msg);
        free(s);
        return;
    }
    p->end_ns = re ? end : ottr_now_ns();
    uint64_t back = rl ? lookback : DAY_NS;
    p->start_ns = p->end_ns > back ? p->end_ns - back : 0;
    query_cut cut = QUERY_CUT_NONE;
    p->budget = b;
    p->cut = &cut;
    char err[QUERY_ERRLEN];
    ottr_status st = query_zipkin_search(v, p, &resp->body, err, sizeof(err));
    collector_query_note_cut(cut);
    finish(resp, st, err);
    free(s);
}

static void handle_trace_many(store_view v, const http_request *req, http_response *resp)
{
    char *ids = malloc(MAX_IDS * 40);
    if (ids == NULL) {
        reply_text(resp, 500, "out of memory");
        return;
    }
    int r = param(req, resp, "traceIds", ids, MAX_IDS * 40);
    if (r < 0) {
        free(ids);
        return;
    }
    const char *list[MAX_IDS];
    size_t n = 0;
    char err[QUERY_ERRLEN];
    for (char *save = NULL, *tok = r ? strtok_r(ids, ",", &save) : NULL; tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == MAX_IDS) {
            snprintf(err, sizeof(err), "traceIds: at most %d IDs", MAX_IDS);
            reply_text(resp, 400, err);
            free(ids);
            return;
        }
        list[n++] = tok;
    }
    ottr_status st = query_zipkin_trace_many(v, list, n, &resp->body, err, sizeof(err));
    finish(resp, st, err);
    free(ids);
}

static void handle_dependencies(store_view v, const http_request *req, http_response *resp)
{
    uint64_t end = 0, lookback = 0;
    http_param_err e;
    int re = http_param_time(req, "endTs", HTTP_TIME_MILLIS, &end, &e);
    int rl = re < 0 ? 0 : http_param_time(req, "lookback", HTTP_TIME_MILLIS, &lookback, &e);
    char msg[256];
    if (re < 0 || rl < 0) {
        snprintf(msg, sizeof(msg), "%s: %s", e.name, e.problem);
        reply_text(resp, 400, msg);
        return;
    }
    if (re == 0) {
        reply_text(resp, 400, "endTs is required");
        return;
    }
    ottr_status st =
        query_zipkin_dependencies(v, end, rl ? lookback : DAY_NS, &resp->body, msg, sizeof(msg));
    finish(resp, st, msg);
}

/* The query routes, on a query thread. */
static void zipkin_refuse(const http_request *req, http_response *resp, int status,
                          const char *msg);

/* The query routes, on a query thread, for the request's tenant. */
static void zipkin_query(void *ctx, const http_request *req, http_response *resp,
                         const query_budget *b)
{
    store_view v;
    if (!collector_routes_view(ctx, req, resp, zipkin_refuse, &v))
        return;
    const char *path = req->path;
    char err[QUERY_ERRLEN];
    char arg[SEGMENT_MAX];
    /* As a Zipkin server by default: any origin may read, so that a UI served
     * from elsewhere can call the API from the browser. */
    http_response_set_header(resp, "Access-Control-Allow-Origin", "*");
    int m;
    ottr_status st;

    if (strcmp(path, "/api/v2/services") == 0) {
        st = query_zipkin_services(v, &resp->body, err, sizeof(err));
    } else if (strcmp(path, "/api/v2/spans") == 0 || strcmp(path, "/api/v2/remoteServices") == 0) {
        if ((m = param(req, resp, "serviceName", arg, sizeof(arg))) < 0)
            return;
        const char *service = m ? arg : NULL;
        st = path[8] == 's' ? query_zipkin_span_names(v, service, &resp->body, err, sizeof(err))
                            : query_zipkin_remote_services(v, service, ottr_now_ns(), b,
                                                           &resp->body, err, sizeof(err));
    } else if (strcmp(path, "/api/v2/traces") == 0) {
        handle_traces(v, req, resp, b);
        return;
    } else if ((m = http_path_segment(req, "/api/v2/trace/", "", arg, sizeof(arg))) != 0) {
        if (m < 0) {
            reply_text(resp, 400, "bad percent-encoding in the trace ID");
            return;
        }
        st = query_zipkin_trace(v, arg, &resp->body, err, sizeof(err));
        if (st == OTTR_ERR_NOTFOUND)
            snprintf(err, sizeof(err), "%.64s not found", arg);
    } else if (strcmp(path, "/api/v2/traceMany") == 0) {
        handle_trace_many(v, req, resp);
        return;
    } else if (strcmp(path, "/api/v2/dependencies") == 0) {
        handle_dependencies(v, req, resp);
        return;
    } else if (strcmp(path, "/api/v2/autocompleteKeys") == 0) {
        st = query_zipkin_autocomplete_keys(v, &resp->body, err, sizeof(err));
    } else if (strcmp(path, "/api/v2/autocompleteValues") == 0) {
        if ((m = param(req, resp, "key", arg, sizeof(arg))) < 0)
            return;
        st = query_zipkin_autocomplete_values(v, m ? arg : NULL, &resp->body, err, sizeof(err));
    } else {
        reply_text(resp, 404, "not found");
        return;
    }
    finish(resp, st, err);
}

static void zipkin_refuse(const http_request *req, http_response *resp, int status, const char *msg)
{
    (void)req;
    http_response_set_header(resp, "Access-Control-Allow-Origin", "*");
    reply_text(resp, status, msg);
}

void collector_zipkin_handle(void *ctx, const http_request *req, http_response *resp)
{
    zipkin_ctx *z = ctx;
    pthread_once(&metrics_once, metrics_init);
    const char *path = req->path ? req->path : "";
    int post = req->method && strcmp(req->method, "POST") == 0;
    int get = req->method && (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0);
    if (strcmp(path, "/api/v2/spans") == 0 || strcmp(path, "/api/v1/spans") == 0) {
        if (post) {
            collector_receiver_metrics_count(&m, receive(&z->ingest, req, resp));
            return;
        }
        if (!get || path[5] == '1') {
            http_response_set_header(resp, "Allow", path[5] == '1' ? "POST" : "GET, POST");
            collector_receiver_metrics_count(&m,
                                             refuse(resp, BAD_METHOD, 405, "method not allowed"));
            return;
        }
    }
    if (strncmp(path, "/api/v2/", 8) != 0) {
        reply_text(resp, 404, "not found");
        return;
    }
    if (!get) {
        http_response_set_header(resp, "Allow", "GET");
        reply_text(resp, 405, "method not allowed: use GET");
        return;
    }
    collector_query_pool_submit(z->q->pool, req, resp, zipkin_query, zipkin_refuse, z->q);
}
