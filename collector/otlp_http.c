/* collector/otlp_http.c - the OTLP/HTTP trace receiver: POST /v1/traces with a
 * protobuf or JSON body, optionally gzip-encoded, decoded into a request arena,
 * grouped by trace and handed to ingest. Errors answer with a google.rpc.Status
 * in the request's encoding. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collector/collector.h"
#include "http/http.h"
#include "otlp/otlp.h"

/* gRPC status codes carried in error bodies. */
#define GRPC_INVALID_ARGUMENT   3
#define GRPC_NOT_FOUND          5
#define GRPC_RESOURCE_EXHAUSTED 8
#define GRPC_UNIMPLEMENTED      12
#define GRPC_UNAVAILABLE        14
#define GRPC_UNAUTHENTICATED    16

/* Decoded structs take several times the wire size (a short attribute is ~20
 * bytes on the wire and ~150 in structs); past this the request is refused with
 * 413 rather than letting crafted input allocate without bound. */
#define ARENA_PER_BODY_BYTE 16
#define ARENA_SLACK         (4u << 20)
#define ARENA_MIN_BLOCK     (64u << 10)
#define ARENA_MAX_BLOCK     (4u << 20)

#define TYPE_PROTOBUF "application/x-protobuf"
#define TYPE_JSON     "application/json"

/* ------------------------------------------------------------------ metrics */

static const int metric_codes[] = {200, 400, 401, 403, 404, 405, 413, 415, 429, 503};
#define NCODES (sizeof(metric_codes) / sizeof(metric_codes[0]))

typedef enum bad_reason {
    BAD_PATH,
    BAD_METHOD,
    BAD_CONTENT_TYPE,
    BAD_CONTENT_ENCODING,
    BAD_TOO_LARGE,
    BAD_GZIP,
    BAD_DECODE,
    BAD_NREASONS
} bad_reason;

static const char *const bad_reason_names[BAD_NREASONS] = {
    "path", "method", "content_type", "content_encoding", "too_large", "gzip", "decode",
};

/* Created once; after that every update is an atomic add on a cached handle. */
static struct {
    receiver_metrics r;
    ottr_histogram *duration;
} m;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void)
{
    collector_receiver_metrics_init(&m.r, "http", metric_codes, NCODES, bad_reason_names,
                                    BAD_NREASONS);
    static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    m.duration =
        ottr_histogram_get("ottr_receiver_request_duration_seconds",
                           "Time to decode, hand off and answer an export request.",
                           "protocol=\"http\"", bounds, sizeof(bounds) / sizeof(bounds[0]));
}

/* ------------------------------------------------------------------ responses */

/* Error messages end up in protobuf strings, which clients may require to be valid
 * UTF-8: keep printable ASCII only. */
static void sanitize(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (; in && *in && o + 1 < outlen; in++) {
        unsigned char c = (unsigned char)*in;
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[o] = '\0';
}

static void respond_error(http_response *resp, ingest_encoding enc, int http_status, int grpc_code,
                          const char *message, int retry_after_s)
{
    char msg[512];
    sanitize(message, msg, sizeof(msg));
    resp->status = http_status;
    ottr_buf_reset(&resp->body);
    if (enc == INGEST_JSON) {
        http_response_set_type(resp, TYPE_JSON);
        collector_rpc_status_json(grpc_code, msg, retry_after_s, &resp->body);
    } else {
        http_response_set_type(resp, TYPE_PROTOBUF);
        if (collector_rpc_status_pack(grpc_code, msg, retry_after_s, &resp->body) != 0)
            ottr_buf_reset(&resp->body);
    }
    if (retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", retry_after_s);
        http_response_set_header(resp, "Retry-After", v);
    }
}

static void respond_bad(http_response *resp, ingest_encoding enc, bad_reason why, int http_status,
                        int grpc_code, const char *message)
{
    ottr_counter_add(m.r.bad[why], 1);
    OTTR_DEBUG("otlp_http", "refused request (%d): %s", http_status, message);
    respond_error(resp, enc, http_status, grpc_code, message, 0);
}

/* 200 with an ExportTraceServiceResponse; partial_success only when spans were
 * rejected. */
static void respond_ok(http_response *resp, ingest_encoding enc, size_t rejected, const char *msg)
{
    char clean[512];
    sanitize(msg, clean, sizeof(clean));
    resp->status = 200;
    ottr_buf_reset(&resp->body);
    if (enc == INGEST_JSON) {
        http_response_set_type(resp, TYPE_JSON);
        otlp_json_encode_response((int64_t)rejected, rejected ? clean : NULL, &resp->body);
        return;
    }
    http_response_set_type(resp, TYPE_PROTOBUF);
    if (rejected == 0)
        return; /* an empty ExportTraceServiceResponse is zero bytes */
    otlp_partial_success ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    otlp_response r =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    ps.rejected_spans = (int64_t)rejected;
    ps.error_message = clean;
    r.partial_success = &ps;
    size_t n =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__get_packed_size(
            &r);
    if (ottr_buf_reserve(&resp->body, n) != 0) {
        ottr_buf_reset(&resp->body);
        return;
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(
        &r, (uint8_t *)resp->body.data);
    resp->body.len = n;
    resp->body.data[n] = '\0';
}

/* ------------------------------------------------------------------ headers */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* The media type of a Content-Type value, parameters ignored: 0 with |*enc| set,
 * or -1 when unsupported. */
static int parse_content_type(const char *ct, ingest_encoding *enc)
{
    if (ct == NULL)
        return -1;
    ct = skip_ws(ct);
    size_t n = 0;
    while (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t')
        n++;
    const char *rest = skip_ws(ct + n);
    if (*rest != '\0' && *rest != ';')
        return -1;
    if ((n == strlen(TYPE_PROTOBUF) && strncasecmp(ct, TYPE_PROTOBUF, n) == 0) ||
        (n == strlen("application/protobuf") && strncasecmp(ct, "application/protobuf", n) == 0)) {
        *enc = INGEST_PROTOBUF;
        return 0;
    }
    if (n == strlen(TYPE_JSON) && strncasecmp(ct, TYPE_JSON, n) == 0) {
        *enc = INGEST_JSON;
        return 0;
    }
    return -1;
}

/* Content-Encoding: 0 identity, 1 gzip, -1 unsupported. */
static int parse_content_encoding(const char *ce)
{
    if (ce == NULL)
        return 0;
    ce = skip_ws(ce);
    size_t n = strlen(ce);
    while (n > 0 && (ce[n - 1] == ' ' || ce[n - 1] == '\t'))
        n--;
    if (n == 0 || (n == 8 && strncasecmp(ce, "identity", 8) == 0))
        return 0;
    if ((n == 4 && strncasecmp(ce, "gzip", 4) == 0) ||
        (n == 6 && strncasecmp(ce, "x-gzip", 6) == 0))
        return 1;
    return -1;
}

/* ------------------------------------------------------------------ handler */

static size_t arena_limit_for(size_t len)
{
    if (len > (SIZE_MAX - ARENA_SLACK) / ARENA_PER_BODY_BYTE)
        return SIZE_MAX;
    return len * ARENA_PER_BODY_BYTE + ARENA_SLACK;
}

static size_t arena_block_for(size_t len)
{
    size_t b = len < ARENA_MAX_BLOCK / 4 ? len * 4 : ARENA_MAX_BLOCK;
    return b < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : b;
}

/* Ingests one request body (already un-gzipped) and answers. */
static int otlp_http_export(const otlp_http_ctx *c, uint32_t tenant, ingest_encoding enc,
                            const uint8_t *body, size_t len, http_response *resp)
{
    ottr_arena arena;
    ottr_arena_init(&arena, arena_block_for(len), arena_limit_for(len));
    ingest_result r;
    const ingest_counters *spans =
        c->tenants.enabled ? collector_ingest_counters_tenant("http", c->tenants.st, tenant) : NULL;
    collector_ingest_export(c->ingest, c->would_push_back, c->ingest_ctx, tenant,
                            spans ? spans : &m.r.spans, &c->limits, &arena, enc, body, len, &r);
    ottr_arena_free(&arena);

    switch (r.outcome) {
    case INGEST_OK:
    case INGEST_PARTIAL:
        respond_ok(resp, enc, r.rejected, r.message);
        return 200;
    case INGEST_INVALID:
        respond_bad(resp, enc, BAD_DECODE, 400, GRPC_INVALID_ARGUMENT, r.message);
        return 400;
    case INGEST_TOO_LARGE:
        respond_bad(resp, enc, BAD_TOO_LARGE, 413, GRPC_RESOURCE_EXHAUSTED, r.message);
        return 413;
    case INGEST_LIMITED:
        respond_error(resp, enc, 429, GRPC_RESOURCE_EXHAUSTED, r.message, r.retry_after_s);
        return 429;
    case INGEST_BUSY:
    case INGEST_UNAVAILABLE:
        break;
    }
    if (r.outcome == INGEST_BUSY)
        OTTR_DEBUG("otlp_http", "ingest busy: %zu spans pushed back", r.refused);
    else
        OTTR_WARN("otlp_http", "export failed: %s", r.message);
    respond_error(resp, enc, 503, GRPC_UNAVAILABLE, r.message, r.retry_after_s);
    return 503;
}

/* 1 when |ct| is gRPC's media type: application/grpc, +subtype or ;params. */
static int is_grpc_type(const char *ct)
{
    static const char grpc_type[] = "application/grpc";
    size_t n = sizeof(grpc_type) - 1;
    if (ct == NULL || strncasecmp(skip_ws(ct), grpc_type, n) != 0)
        return 0;
    char next = skip_ws(ct)[n];
    return next == '\0' || next == '+' || next == ';' || next == ' ';
}

/* OTLP/gRPC sent here over h2c: it is served on the gRPC port only. Answered
 * as gRPC answers (trailers-only: HTTP 200, grpc-status UNIMPLEMENTED and a
 * grpc-message), so a gRPC client reports a clear status rather than an HTTP
 * error; counted as a bad content type, under code 415. */
static int respond_grpc_elsewhere(http_response *resp)
{
    ottr_counter_add(m.r.bad[BAD_CONTENT_TYPE], 1);
    OTTR_DEBUG("otlp_http", "refused a gRPC request: gRPC is served on the gRPC port");
    resp->status = 200;
    ottr_buf_reset(&resp->body);
    http_response_set_type(resp, "application/grpc");
    char code[8];
    snprintf(code, sizeof(code), "%d", GRPC_UNIMPLEMENTED);
    http_response_set_header(resp, "grpc-status", code);
    http_response_set_header(resp, "grpc-message",
                             "OTLP/gRPC is served on the gRPC port, not the OTLP/HTTP port");
    return 415;
}

static int otlp_http_route(const otlp_http_ctx *c, const http_request *req, http_response *resp)
{
    const char *ct = http_request_header(req, "content-type");
    if (is_grpc_type(ct))
        return respond_grpc_elsewhere(resp);
    /* Until the media type is known, answer in JSON only to clients that speak it. */
    ingest_encoding enc = ct && strcasestr(ct, "json") ? INGEST_JSON : INGEST_PROTOBUF;
    char msg[256];

    if (req->path == NULL || strcmp(req->path, "/v1/traces") != 0) {
        respond_bad(resp, enc, BAD_PATH, 404, GRPC_NOT_FOUND,
                    "not found: OTLP/HTTP traces are accepted at POST /v1/traces");
        return 404;
    }
    if (req->method == NULL || strcmp(req->method, "POST") != 0) {
        respond_bad(resp, enc, BAD_METHOD, 405, GRPC_UNIMPLEMENTED, "method not allowed: use POST");
        http_response_set_header(resp, "Allow", "POST");
        return 405;
    }
    uint32_t tenant;
    tenant_verdict tv =
        collector_tenant_of_request(&c->tenants, req, true, &tenant, msg, sizeof(msg));
    if (tv != TENANT_OK) {
        int status = collector_tenant_http_status(tv);
        respond_error(resp, enc, status, collector_tenant_grpc_code(tv), msg,
                      tv == TENANT_FAILED ? OTTR_RETRY_AFTER_SECONDS : 0);
        return status;
    }
    if (parse_content_type(ct, &enc) != 0) {
        snprintf(msg, sizeof(msg),
                 "unsupported content type \"%.64s\": use application/x-protobuf or "
                 "application/json",
                 ct ? ct : "");
        respond_bad(resp, enc, BAD_CONTENT_TYPE, 415, GRPC_UNIMPLEMENTED, msg);
        return 415;
    }
    const char *ce = http_request_header(req, "content-encoding");
    int gzip = parse_content_encoding(ce);
    if (gzip < 0) {
        snprintf(msg, sizeof(msg), "unsupported content encoding \"%.64s\": use gzip or identity",
                 ce);
        respond_bad(resp, enc, BAD_CONTENT_ENCODING, 415, GRPC_UNIMPLEMENTED, msg);
        return 415;
    }
    uint64_t limit = c->max_body_bytes;
    if (req->body_too_large) {
        snprintf(msg, sizeof(msg), "request body larger than the limit of %llu bytes",
                 (unsigned long long)limit);
        respond_bad(resp, enc, BAD_TOO_LARGE, 413, GRPC_RESOURCE_EXHAUSTED, msg);
        return 413;
    }
    const uint8_t *body = req->body_len ? req->body : NULL;
    size_t len = body ? req->body_len : 0;
    if (!gzip || len == 0) {
        ottr_counter_add(m.r.bytes, len);
        return otlp_http_export(c, tenant, enc, body, len, resp);
    }

    uint8_t *plain = NULL;
    size_t plain_len = 0;
    size_t cap = limit > SIZE_MAX ? SIZE_MAX : (size_t)limit;
    ottr_status st = http_gunzip(body, len, cap, &plain, &plain_len);
    ottr_counter_add(m.r.bytes, st == OTTR_OK ? plain_len : len);
    if (st == OTTR_ERR_TOO_LARGE) {
        snprintf(msg, sizeof(msg), "decompressed body larger than the limit of %llu bytes",
                 (unsigned long long)limit);
        respond_bad(resp, enc, BAD_TOO_LARGE, 413, GRPC_RESOURCE_EXHAUSTED, msg);
        return 413;
    }
    if (st == OTTR_ERR_CORRUPT) {
        respond_bad(resp, enc, BAD_GZIP, 400, GRPC_INVALID_ARGUMENT,
                    "invalid gzip body: corrupt or truncated");
        return 400;
    }
    if (st != OTTR_OK) {
        respond_error(resp, enc, 503, GRPC_UNAVAILABLE, "out of memory: retry later",
                      OTTR_RETRY_AFTER_SECONDS);
        return 503;
    }
    int status = otlp_http_export(c, tenant, enc, plain, plain_len, resp);
    free(plain);
    return status;
}

void collector_http_handle(void *ctx, const http_request *req, http_response *resp)
{
    const otlp_http_ctx *c = ctx;
    uint64_t t0 = ottr_mono_ns();
    pthread_once(&metrics_once, metrics_init);

    int status = otlp_http_route(c, req, resp);

    collector_receiver_metrics_count(&m.r, status);
    ottr_histogram_observe(m.duration, (double)(ottr_mono_ns() - t0) / 1e9);
}

int collector_otlp_http_auth(void *ctx, const http_request *req, const char *peer,
                             http_principal *who, http_response *resp)
{
    if (http_auth_request(ctx, req, peer, who, resp) == 0)
        return 0;
    /* The 401 and its WWW-Authenticate stay; the body becomes a google.rpc.Status. */
    const char *ct = http_request_header(req, "content-type");
    ingest_encoding enc = ct && strcasestr(ct, "json") ? INGEST_JSON : INGEST_PROTOBUF;
    char msg[64];
    snprintf(msg, sizeof(msg), "%s",
             strstr(resp->body.data ? resp->body.data : "", "invalid") ? "invalid credentials"
                                                                       : "authentication required");
    respond_error(resp, enc, 401, GRPC_UNAUTHENTICATED, msg, 0);
    return -1;
}
