/* collector/otlp_grpc.c - the OTLP/gRPC receiver: serves TraceService/Export on
 * gRPC core with one completion-queue thread each and many calls pre-posted,
 * decodes into a per-thread arena and hands the batch to the ingest callback.
 *
 * Export is unary: its one request message arrives with the call, and the
 * handler first reads on to the client's half-close, failing the call with
 * INTERNAL when a second message comes (gRPC core delivers the first and leaves
 * the rest unread), or when the first carries the Compressed-Flag without a
 * grpc-encoding (core passes such a message on as plain data). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <openssl/crypto.h>

#include "collector/collector.h"
#include "otlp/otlp.h"

/* Wipes a string holding a private key, then frees it. */
static void wipe_free(char *s)
{
    if (s != NULL)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

#define EXPORT_METHOD       "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define EXPORT_CALLS_PER_CQ 128 /* registered calls kept posted on each queue */
#define OTHER_CALLS_PER_CQ  4   /* catch-all calls kept posted for unknown methods */
#define ARENA_BLOCK         (1u << 20)
#define DRAIN_TIMEOUT_S     2 /* how long stop waits for calls in flight before cancelling */
#define MSG_MAX             512
/* Connection limits that are not configured (docs/OPERATIONS.md, connection
 * limits): streams open at once per connection (real exporters keep a few), how
 * long a keepalive PING may go unanswered, and how long a new connection may
 * take to send its HTTP/2 preface and SETTINGS. */
#define MAX_STREAMS_PER_CONN 256
#define KEEPALIVE_TIMEOUT_MS 20000
#define HANDSHAKE_TIMEOUT_MS 20000
#define MAX_CHANNEL_ARGS     10

typedef enum rpc_kind { RPC_EXPORT, RPC_OTHER } rpc_kind;
typedef enum rpc_state { RPC_REQUESTED, RPC_READING, RPC_REPLYING } rpc_state;

/* The Compressed-Flag of a received message as gRPC core records it
 * (GRPC_WRITE_INTERNAL_COMPRESS, core-internal). Its public C API does not tell
 * it; the library exports a reader for its own tests, which the receiver looks
 * up at start. Without it the flag is not checked (logged once). */
#define GRPC_MSG_FLAG_COMPRESSED 0x80000000u
#define GRPC_MSG_FLAGS_SYMBOL    "_Z37grpc_call_test_only_get_message_flagsP9grpc_call"
typedef uint32_t (*grpc_msg_flags_fn)(grpc_call *call);
static grpc_msg_flags_fn msg_flags;

typedef struct grpc_worker grpc_worker;

/* One call: first a posted request waiting for a client, then a reply in flight.
 * Everything the reply batch points at lives here until its completion. */
typedef struct rpc {
    rpc_kind kind;
    rpc_state state;
    grpc_worker *w;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_call_details details; /* RPC_OTHER: the method asked for */
    grpc_metadata_array request_md;
    grpc_byte_buffer *payload; /* RPC_EXPORT: the request message, NULL if none */
    grpc_byte_buffer *extra;   /* RPC_READING: a message after it (refused), NULL at the end */
    grpc_byte_buffer *response;
    grpc_slice status_msg;
    grpc_metadata trailer; /* grpc-status-details-bin when retry is advised */
    int has_trailer;
    int cancelled;
    /* The sender as the receiver's authentication found it; all empty without
     * one. The tenant layer reads it to hold a bound credential to its tenant. */
    http_principal principal;
} rpc;

struct grpc_worker {
    otlp_grpc *g;
    grpc_completion_queue *cq;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock; /* orders posting against shutdown */
    int closing;          /* under |lock|: post nothing more */
    ottr_arena arena;     /* reset per call; used by this worker's thread only */
};

/* Metric handles, looked up once. */
typedef struct grpc_metrics {
    ottr_counter *requests[17]; /* by gRPC status code */
    ingest_counters spans;
    ottr_counter *bytes;
    ottr_histogram *duration;
} grpc_metrics;

/* The TLS material gRPC core fetches at each handshake: swapped by a reload,
 * handed over once per generation. */
typedef struct grpc_tls {
    http_tls_options files; /* names copied */
    pthread_mutex_t mu;
    char *cert_pem, *key_pem, *ca_pem; /* under |mu| */
    unsigned gen, fetched_gen;         /* under |mu| */
} grpc_tls;

static void tls_free(grpc_tls *t);

struct otlp_grpc {
    grpc_server *server;
    void *export_method;
    int port;
    int nworkers;
    grpc_worker *workers;
    ottr_ingest_fn ingest;
    ottr_admit_fn would_push_back;
    void *ingest_ctx;
    otlp_limits limits;
    tenant_ctx tenants;
    grpc_metrics m;
    int shutdown_tag; /* its address is the tag of the server shutdown event */
    pthread_mutex_t shut_lock;
    pthread_cond_t shut_cond;
    int shut_done;
    http_auth *auth; /* NULL: every call is taken */
    grpc_tls *tls;   /* NULL: plain text; freed after gRPC core shut down */
};

static const char *const code_names[17] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

/* ------------------------------------------------------------------ logging */

static void grpc_log_to_ottr(gpr_log_func_args *args)
{
    ottr_log_level level =
        args->severity == GPR_LOG_SEVERITY_ERROR ? OTTR_LOG_WARN : OTTR_LOG_DEBUG;
    if (level < ottr_log_get_level())
        return;
    ottr_log(level, "grpc", "%s (%s:%d)", args->message, args->file, args->line);
}

/* ------------------------------------------------------------------ metrics */

static void metrics_init(grpc_metrics *m)
{
    static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    static const int used[] = {GRPC_STATUS_OK,
                               GRPC_STATUS_INVALID_ARGUMENT,
                               GRPC_STATUS_UNAUTHENTICATED,
                               GRPC_STATUS_RESOURCE_EXHAUSTED,
                               GRPC_STATUS_UNIMPLEMENTED,
                               GRPC_STATUS_INTERNAL,
                               GRPC_STATUS_UNAVAILABLE};
    char labels[96];
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
        snprintf(labels, sizeof(labels), "protocol=\"grpc\",code=\"%s\"", code_names[used[i]]);
        m->requests[used[i]] =
            ottr_counter_get("ottr_receiver_requests_total",
                             "OTLP export requests by protocol and result code.", labels);
    }
    collector_ingest_counters_init(&m->spans, "grpc");
    m->bytes = ottr_counter_get("ottr_receiver_bytes_total",
                                "Bytes of OTLP request messages received (decompressed).",
                                "protocol=\"grpc\"");
    m->duration =
        ottr_histogram_get("ottr_receiver_request_duration_seconds",
                           "Time to decode, hand off and answer an export request.",
                           "protocol=\"grpc\"", bounds, sizeof(bounds) / sizeof(bounds[0]));
}

static void metrics_count_request(grpc_metrics *m, grpc_status_code code)
{
    /* metrics_init made a series for every code this receiver sends. */
    if ((int)code < 0 || (int)code > 16 || m->requests[code] == NULL)
        code = GRPC_STATUS_INTERNAL;
    ottr_counter_add(m->requests[code], 1);
}

/* ------------------------------------------------------------------ calls */

static void rpc_free(rpc *c)
{
    if (c->call)
        grpc_call_unref(c->call);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->extra)
        grpc_byte_buffer_destroy(c->extra);
    if (c->response)
        grpc_byte_buffer_destroy(c->response);
    grpc_slice_unref(c->status_msg);
    if (c->has_trailer)
        grpc_slice_unref(c->trailer.value);
    grpc_metadata_array_destroy(&c->request_md);
    if (c->kind == RPC_OTHER)
        grpc_call_details_destroy(&c->details);
    free(c);
}

/* Posts one call of |kind| on |w|'s queue, unless the server is stopping. */
static void rpc_post(grpc_worker *w, rpc_kind kind)
{
    otlp_grpc *g = w->g;
    rpc *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        OTTR_ERROR("collector", "grpc: out of memory posting a call");
        return;
    }
    c->kind = kind;
    c->state = RPC_REQUESTED;
    c->w = w;
    c->status_msg = grpc_empty_slice();
    grpc_metadata_array_init(&c->request_md);
    if (kind == RPC_OTHER)
        grpc_call_details_init(&c->details);

    grpc_call_error err;
    pthread_mutex_lock(&w->lock);
    if (w->closing) {
        pthread_mutex_unlock(&w->lock);
        rpc_free(c);
        return;
    }
    if (kind == RPC_EXPORT)
        err =
            grpc_server_request_registered_call(g->server, g->export_method, &c->call, &c->deadline,
                                                &c->request_md, &c->payload, w->cq, w->cq, c);
    else
        err = grpc_server_request_call(g->server, &c->call, &c->details, &c->request_md, w->cq,
                                       w->cq, c);
    pthread_mutex_unlock(&w->lock);
    if (err != GRPC_CALL_OK) {
        OTTR_ERROR("collector", "grpc: cannot post a call (error %d)", (int)err);
        c->call = NULL;
        rpc_free(c);
    }
}

/* Sends the reply of |c| in one batch: initial metadata, the response message
 * when there is one, the status, and the wait for the client's close. */
static void rpc_reply(rpc *c, grpc_status_code code, const char *msg)
{
    grpc_op ops[4];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].data.send_initial_metadata.count = 0;
    n++;
    if (c->response) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->response;
        n++;
    }
    c->status_msg = grpc_slice_from_copied_string(msg ? msg : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n].data.send_status_from_server.status_details = &c->status_msg;
    ops[n].data.send_status_from_server.trailing_metadata_count = c->has_trailer ? 1 : 0;
    ops[n].data.send_status_from_server.trailing_metadata = c->has_trailer ? &c->trailer : NULL;
    n++;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
    n++;

    c->state = RPC_REPLYING;
    grpc_call_error err = grpc_call_start_batch(c->call, ops, n, c, NULL);
    if (err != GRPC_CALL_OK) {
        OTTR_WARN("collector", "grpc: cannot send a reply (error %d)", (int)err);
        rpc_free(c);
    }
}

/* Attaches google.rpc.Status {code, msg, RetryInfo of |retry_s| seconds} as
 * grpc-status-details-bin. */
static void rpc_set_retry(rpc *c, grpc_status_code code, const char *msg, int retry_s)
{
    ottr_buf b = {0};
    if (collector_rpc_status_pack((int)code, msg, retry_s, &b) == 0 && !b.oom) {
        c->trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
        c->trailer.value = grpc_slice_from_copied_buffer(b.data, b.len);
        c->has_trailer = 1;
    }
    ottr_buf_free(&b);
}

/* Builds the ExportTraceServiceResponse, with partial_success when spans were
 * rejected. Returns 0 or -1. */
static int rpc_set_response(rpc *c, size_t rejected, const char *msg)
{
    otlp_response resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    otlp_partial_success ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    if (rejected > 0) {
        ps.rejected_spans = (int64_t)rejected;
        ps.error_message = (char *)msg;
        resp.partial_success = &ps;
    }
    size_t len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__get_packed_size(
            &resp);
    grpc_slice s = grpc_slice_malloc(len);
    if (len)
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(
            &resp, GRPC_SLICE_START_PTR(s));
    c->response = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return c->response ? 0 : -1;
}

/* The gRPC status of an ingest outcome: RESOURCE_EXHAUSTED without RetryInfo
 * for too large (do not retry), UNAVAILABLE with RetryInfo when pushed back or
 * failed. */
static grpc_status_code export_code(ingest_outcome o)
{
    switch (o) {
    case INGEST_OK:
    case INGEST_PARTIAL:
        return GRPC_STATUS_OK;
    case INGEST_INVALID:
        return GRPC_STATUS_INVALID_ARGUMENT;
    case INGEST_TOO_LARGE:
    case INGEST_LIMITED:
        return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case INGEST_BUSY:
    case INGEST_UNAVAILABLE:
        return GRPC_STATUS_UNAVAILABLE;
    }
    return GRPC_STATUS_INTERNAL;
}

/* The call's tenant from its x-scope-orgid metadata. TENANT_OK and |*id|, or a
 * refusal with why in |msg|. */
static tenant_verdict rpc_tenant(const rpc *c, uint32_t *id, char *msg, size_t msglen)
{
    const otlp_grpc *g = c->w->g;
    if (!g->tenants.enabled) {
        *id = STORE_TENANT_DEFAULT;
        return TENANT_OK;
    }
    const char *v = NULL;
    size_t vlen = 0;
    for (size_t i = 0; i < c->request_md.count; i++) {
        const grpc_metadata *m = &c->request_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "x-scope-orgid") == 0) {
            v = (const char *)GRPC_SLICE_START_PTR(m->value);
            vlen = GRPC_SLICE_LENGTH(m->value);
            break;
        }
    }
    const char *bound = c->principal.tenant[0] ? c->principal.tenant : NULL;
    return collector_tenant_resolve(&g->tenants, v, vlen, bound, true, id, msg, msglen);
}

/* Decodes, validates and hands off one export request, then replies. */
static void rpc_handle_export(rpc *c)
{
    grpc_worker *w = c->w;
    otlp_grpc *g = w->g;
    uint64_t t0 = ottr_mono_ns();
    ingest_result r;
    memset(&r, 0, sizeof(r));
    r.outcome = INGEST_INVALID;
    grpc_byte_buffer_reader reader;
    uint32_t tenant = STORE_TENANT_DEFAULT;
    tenant_verdict tv = rpc_tenant(c, &tenant, r.message, sizeof(r.message));
    if (tv != TENANT_OK) {
        grpc_status_code code = (grpc_status_code)collector_tenant_grpc_code(tv);
        OTTR_DEBUG("collector", "grpc: export answered %s: %s", code_names[code], r.message);
        metrics_count_request(&g->m, code);
        rpc_reply(c, code, r.message);
        return;
    }
    const ingest_counters *spans =
        g->tenants.enabled ? collector_ingest_counters_tenant("grpc", g->tenants.st, tenant) : NULL;
    if (spans == NULL)
        spans = &g->m.spans;
    if (c->payload == NULL) {
        snprintf(r.message, sizeof(r.message), "missing ExportTraceServiceRequest message");
    } else if (!grpc_byte_buffer_reader_init(&reader, c->payload)) {
        snprintf(r.message, sizeof(r.message), "cannot read the request message");
    } else {
        grpc_slice data = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
        size_t len = GRPC_SLICE_LENGTH(data);
        ottr_counter_add(g->m.bytes, len);
        /* Decoded and grouped from the slice itself: no copy. */
        collector_ingest_export(g->ingest, g->would_push_back, g->ingest_ctx, tenant, spans,
                                &g->limits, &w->arena, INGEST_PROTOBUF, GRPC_SLICE_START_PTR(data),
                                len, &r);
        grpc_slice_unref(data);
        ottr_arena_reset(&w->arena);
    }

    grpc_status_code code = export_code(r.outcome);
    const char *msg = code == GRPC_STATUS_OK ? "" : r.message;
    if (code == GRPC_STATUS_OK && rpc_set_response(c, r.rejected, r.message) != 0) {
        code = GRPC_STATUS_INTERNAL;
        msg = "out of memory";
    }
    if ((code == GRPC_STATUS_UNAVAILABLE || r.outcome == INGEST_LIMITED) && r.retry_after_s > 0)
        rpc_set_retry(c, code, msg, r.retry_after_s);
    if (code != GRPC_STATUS_OK)
        OTTR_DEBUG("collector", "grpc: export answered %s: %s", code_names[code], msg);
    metrics_count_request(&g->m, code);
    ottr_histogram_observe(g->m.duration, (double)(ottr_mono_ns() - t0) / 1e9);
    rpc_reply(c, code, msg);
}

/* 1 when the request metadata names a grpc-encoding other than identity. */
static int has_encoding(const rpc *c)
{
    for (size_t i = 0; i < c->request_md.count; i++) {
        const grpc_metadata *m = &c->request_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "grpc-encoding") == 0)
            return grpc_slice_str_cmp(m->value, "identity") != 0;
    }
    return 0;
}

/* Refuses a call whose framing breaks the gRPC protocol: INTERNAL, counted. */
static void rpc_refuse_framing(rpc *c, const char *msg)
{
    OTTR_DEBUG("collector", "grpc: export answered INTERNAL: %s", msg);
    metrics_count_request(&c->w->g->m, GRPC_STATUS_INTERNAL);
    rpc_reply(c, GRPC_STATUS_INTERNAL, msg);
}

/* A new Export call: checks the first message's Compressed-Flag, then reads on
 * to the half-close (completion in rpc_read_done). A call without a message has
 * half-closed already. */
static void rpc_start_export(rpc *c)
{
    if (c->payload == NULL) {
        rpc_handle_export(c);
        return;
    }
    if (msg_flags && (msg_flags(c->call) & GRPC_MSG_FLAG_COMPRESSED) && !has_encoding(c)) {
        rpc_refuse_framing(c, "invalid Compressed-Flag: a compressed message without a "
                              "grpc-encoding");
        return;
    }
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->extra;
    c->state = RPC_READING;
    grpc_call_error err = grpc_call_start_batch(c->call, &op, 1, c, NULL);
    if (err != GRPC_CALL_OK) {
        OTTR_WARN("collector", "grpc: cannot read a request (error %d)", (int)err);
        rpc_free(c);
    }
}

static void rpc_read_done(rpc *c, int success)
{
    if (!success) {
        rpc_free(c); /* cancelled by the client or the server's shutdown */
        return;
    }
    if (c->extra) {
        rpc_refuse_framing(c, "more than one request message for the unary method Export");
        return;
    }
    rpc_handle_export(c);
}

static void rpc_handle_other(rpc *c)
{
    char msg[MSG_MAX];
    size_t n = GRPC_SLICE_LENGTH(c->details.method);
    if (n > 200)
        n = 200;
    snprintf(msg, sizeof(msg), "unknown method %.*s", (int)n,
             (const char *)GRPC_SLICE_START_PTR(c->details.method));
    metrics_count_request(&c->w->g->m, GRPC_STATUS_UNIMPLEMENTED);
    rpc_reply(c, GRPC_STATUS_UNIMPLEMENTED, msg);
}

/* The verified client certificate's common name of |c|, into |out|; "" when
 * none. */
static void peer_common_name(rpc *c, char *out, size_t outlen)
{
    out[0] = '\0';
    grpc_auth_context *ctx = grpc_call_auth_context(c->call);
    if (ctx == NULL)
        return;
    grpc_auth_property_iterator it =
        grpc_auth_context_find_properties_by_name(ctx, "x509_common_name");
    const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
    if (p != NULL && p->value_length < outlen && memchr(p->value, '\0', p->value_length) == NULL) {
        memcpy(out, p->value, p->value_length);
        out[p->value_length] = '\0';
    }
    grpc_auth_context_release(ctx);
}

/* Checks the call's "authorization" metadata or client certificate against the
 * receiver's credentials. Returns 1 to go on, or 0 after answering
 * UNAUTHENTICATED. */
static int rpc_authenticate(rpc *c)
{
    otlp_grpc *g = c->w->g;
    if (g->auth == NULL || http_auth_get_type(g->auth) == HTTP_AUTH_NONE)
        return 1;
    char authz[4200] = "", peer[128] = "";
    int has_authz = 0;
    for (size_t i = 0; i < c->request_md.count; i++) {
        const grpc_metadata *m = &c->request_md.metadata[i];
        size_t n = GRPC_SLICE_LENGTH(m->value);
        if (grpc_slice_str_cmp(m->key, "authorization") == 0 && n < sizeof(authz)) {
            memcpy(authz, GRPC_SLICE_START_PTR(m->value), n);
            authz[n] = '\0';
            has_authz = 1;
            break;
        }
    }
    if (http_auth_get_type(g->auth) == HTTP_AUTH_MTLS)
        peer_common_name(c, peer, sizeof(peer));
    http_auth_result r =
        http_auth_check(g->auth, has_authz ? authz : NULL, peer[0] ? peer : NULL, &c->principal);
    memset(authz, 0, sizeof(authz));
    if (r == HTTP_AUTH_OK)
        return 1;
    metrics_count_request(&g->m, GRPC_STATUS_UNAUTHENTICATED);
    rpc_reply(c, GRPC_STATUS_UNAUTHENTICATED,
              r == HTTP_AUTH_MISSING ? "authentication required" : "invalid credentials");
    return 0;
}

/* One completion for |c|: a new call (handle it, post a replacement) or the end of a
 * reply (free it). */
static void rpc_event(rpc *c, int success)
{
    if (c->state == RPC_REPLYING) {
        rpc_free(c);
        return;
    }
    if (c->state == RPC_READING) {
        rpc_read_done(c, success);
        return;
    }
    if (!success) {
        /* The server is shutting down: the posted request was cancelled. */
        rpc_free(c);
        return;
    }
    rpc_post(c->w, c->kind);
    if (!rpc_authenticate(c))
        return;
    if (c->kind == RPC_EXPORT)
        rpc_start_export(c);
    else
        rpc_handle_other(c);
}

/* ------------------------------------------------------------------ threads */

static void *worker_main(void *arg)
{
    grpc_worker *w = arg;
    pthread_setname_np(pthread_self(), "ottr-grpc");
    otlp_grpc *g = w->g;
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        if (ev.tag == &g->shutdown_tag) {
            pthread_mutex_lock(&g->shut_lock);
            g->shut_done = 1;
            pthread_cond_broadcast(&g->shut_cond);
            pthread_mutex_unlock(&g->shut_lock);
            continue;
        }
        rpc_event(ev.tag, ev.success);
    }
    return NULL;
}

/* Waits until the server's shutdown event arrived or |timeout_s| passed (0 = no
 * limit). Returns 1 when it arrived. */
static int wait_shutdown(otlp_grpc *g, int timeout_s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_s;
    pthread_mutex_lock(&g->shut_lock);
    while (!g->shut_done) {
        if (timeout_s == 0) {
            pthread_cond_wait(&g->shut_cond, &g->shut_lock);
        } else if (pthread_cond_timedwait(&g->shut_cond, &g->shut_lock, &until) == ETIMEDOUT) {
            break;
        }
    }
    int done = g->shut_done;
    pthread_mutex_unlock(&g->shut_lock);
    return done;
}

/* Shuts every queue down, joins the threads and frees everything. |started| tells
 * whether the server was started (and so needs a shutdown first). */
static void grpc_teardown(otlp_grpc *g, int started)
{
    if (started) {
        for (int i = 0; i < g->nworkers; i++) {
            pthread_mutex_lock(&g->workers[i].lock);
            g->workers[i].closing = 1;
            pthread_mutex_unlock(&g->workers[i].lock);
        }
        grpc_server_shutdown_and_notify(g->server, g->workers[0].cq, &g->shutdown_tag);
        if (!wait_shutdown(g, DRAIN_TIMEOUT_S)) {
            OTTR_WARN("collector", "grpc: calls still open after %d s, cancelling them",
                      DRAIN_TIMEOUT_S);
            grpc_server_cancel_all_calls(g->server);
            wait_shutdown(g, 0);
        }
    }
    /* The server goes first: after its shutdown it posts nothing more. */
    if (g->server)
        grpc_server_destroy(g->server);
    for (int i = 0; i < g->nworkers; i++) {
        grpc_worker *w = &g->workers[i];
        if (w->cq == NULL)
            continue;
        grpc_completion_queue_shutdown(w->cq);
        if (w->thread_started) {
            pthread_join(w->thread, NULL);
        } else {
            /* Nothing was posted on a queue without a thread. */
            grpc_event ev;
            do {
                ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
            } while (ev.type != GRPC_QUEUE_SHUTDOWN);
        }
    }
    for (int i = 0; i < g->nworkers; i++) {
        grpc_worker *w = &g->workers[i];
        if (w->cq)
            grpc_completion_queue_destroy(w->cq);
        ottr_arena_free(&w->arena);
        pthread_mutex_destroy(&w->lock);
    }
    free(g->workers);
    pthread_mutex_destroy(&g->shut_lock);
    pthread_cond_destroy(&g->shut_cond);
    grpc_tls *tls = g->tls;
    free(g);
    grpc_shutdown_blocking();
    tls_free(tls);
}

static void int_arg(grpc_arg *args, size_t *n, const char *key, int v)
{
    args[*n].type = GRPC_ARG_INTEGER;
    args[*n].key = (char *)key;
    args[*n].value.integer = v;
    (*n)++;
}

/* Milliseconds as gRPC core takes them; 0 (none) is INT_MAX, its "unlimited". */
static int ms_arg(uint64_t ms)
{
    return ms == 0 || ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The server's channel args: the message limit and the connection limits. gRPC
 * core has no cap on connections, per client address or in all. */
static size_t server_args(const otlp_grpc_options *o, grpc_arg *args)
{
    size_t n = 0;
    uint64_t max_recv = o->max_recv_bytes;
    int_arg(args, &n, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
            max_recv > INT_MAX ? INT_MAX : (int)max_recv);
    /* A port another process (or another ottrd) holds is an error, not shared. */
    int_arg(args, &n, GRPC_ARG_ALLOW_REUSEPORT, 0);
    /* Idle connections go, busy ones are recycled, so slow streams end. */
    int_arg(args, &n, GRPC_ARG_MAX_CONNECTION_IDLE_MS, ms_arg(o->max_conn_idle_ms));
    int_arg(args, &n, GRPC_ARG_MAX_CONNECTION_AGE_MS, ms_arg(o->max_conn_age_ms));
    int_arg(args, &n, GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, ms_arg(o->max_conn_age_grace_ms));
    /* A peer that does not answer PINGs while it holds calls open is gone. */
    int_arg(args, &n, GRPC_ARG_KEEPALIVE_TIME_MS, ms_arg(o->keepalive_time_ms));
    int_arg(args, &n, GRPC_ARG_KEEPALIVE_TIMEOUT_MS, KEEPALIVE_TIMEOUT_MS);
    int_arg(args, &n, GRPC_ARG_MAX_CONCURRENT_STREAMS, MAX_STREAMS_PER_CONN);
    int_arg(args, &n, GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS);
    return n;
}

/* gRPC wants "host:port"; ":port" means every address. */
static void listen_addr(const char *addr, char *out, size_t outlen)
{
    if (addr == NULL || addr[0] == '\0')
        addr = "0.0.0.0:4317";
    if (addr[0] == ':')
        snprintf(out, outlen, "0.0.0.0%s", addr);
    else
        snprintf(out, outlen, "%s", addr);
}

/* ------------------------------------------------------------------ TLS */

/* The whole of file |path| as a string, or NULL with why in |err|. */
static char *read_pem(const char *path, char *err, size_t errlen)
{
    ottr_buf b = {0};
    size_t n;
    if (ottr_buf_read_file(&b, path, 16u << 20, err, errlen) != 0) {
        if (b.data != NULL)
            OPENSSL_cleanse(b.data, b.len);
        ottr_buf_free(&b);
        return NULL;
    }
    return ottr_buf_detach(&b, &n);
}

/* Loads the files of |t| (checked first with OpenSSL: the key must match the
 * certificate) as the next generation. Returns 0 or -1 (the old stay). */
static int tls_load(grpc_tls *t, char *err, size_t errlen)
{
    http_tls *check = http_tls_new(&t->files, err, errlen);
    if (check == NULL)
        return -1;
    http_tls_free(check);
    char *cert = read_pem(t->files.cert_file, err, errlen);
    char *key = cert ? read_pem(t->files.key_file, err, errlen) : NULL;
    char *ca =
        key && t->files.client_ca_file ? read_pem(t->files.client_ca_file, err, errlen) : NULL;
    if (cert == NULL || key == NULL || (t->files.client_ca_file != NULL && ca == NULL)) {
        free(cert);
        wipe_free(key);
        free(ca);
        return -1;
    }
    pthread_mutex_lock(&t->mu);
    char *old[3] = {t->cert_pem, t->key_pem, t->ca_pem};
    t->cert_pem = cert;
    t->key_pem = key;
    t->ca_pem = ca;
    t->gen++;
    pthread_mutex_unlock(&t->mu);
    free(old[0]);
    wipe_free(old[1]);
    free(old[2]);
    return 0;
}

/* gRPC core asks at each handshake: a new config once per generation. */
static grpc_ssl_certificate_config_reload_status tls_fetch(void *ud,
                                                           grpc_ssl_server_certificate_config **cfg)
{
    grpc_tls *t = ud;
    grpc_ssl_certificate_config_reload_status st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
    pthread_mutex_lock(&t->mu);
    if (t->fetched_gen != t->gen) {
        grpc_ssl_pem_key_cert_pair pair = {t->key_pem, t->cert_pem};
        /* gRPC core wants root certificates with a fetcher even when it asks for no
         * client certificate: then it is given the server's own, never used. */
        *cfg = grpc_ssl_server_certificate_config_create(t->ca_pem ? t->ca_pem : t->cert_pem, &pair,
                                                         1);
        if (*cfg != NULL) {
            t->fetched_gen = t->gen;
            st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
        } else {
            st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return st;
}

static void tls_free(grpc_tls *t)
{
    if (t == NULL)
        return;
    free(t->cert_pem);
    wipe_free(t->key_pem);
    free(t->ca_pem);
    free((char *)t->files.cert_file);
    free((char *)t->files.key_file);
    free((char *)t->files.client_ca_file);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* Sets up |g|'s TLS from |o| and makes the server credentials. NULL on error. */
static grpc_server_credentials *tls_start(otlp_grpc *g, const http_tls_options *o, char *err,
                                          size_t errlen)
{
    grpc_tls *t = g->tls = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, "grpc: out of memory");
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    t->files.cert_file = o->cert_file ? strdup(o->cert_file) : NULL;
    t->files.key_file = o->key_file ? strdup(o->key_file) : NULL;
    t->files.client_ca_file = o->client_ca_file ? strdup(o->client_ca_file) : NULL;
    if (t->files.cert_file == NULL || t->files.key_file == NULL ||
        (o->client_ca_file != NULL && t->files.client_ca_file == NULL)) {
        snprintf(err, errlen, "grpc: TLS needs cert_file and key_file");
        return NULL;
    }
    char inner[512];
    if (tls_load(t, inner, sizeof(inner)) != 0) {
        snprintf(err, errlen, "grpc: %s", inner);
        return NULL;
    }
    grpc_ssl_server_credentials_options *opts =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(
            t->files.client_ca_file ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                    : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            tls_fetch, t);
    grpc_server_credentials *creds =
        opts ? grpc_ssl_server_credentials_create_with_options(opts) : NULL;
    if (creds == NULL)
        snprintf(err, errlen, "grpc: cannot make TLS server credentials");
    return creds;
}

int collector_grpc_reload_tls(otlp_grpc *g, char *err, size_t errlen)
{
    if (g == NULL || g->tls == NULL)
        return 0;
    return tls_load(g->tls, err, errlen);
}

ottr_status collector_grpc_start(const otlp_grpc_options *o, otlp_grpc **out, char *err,
                                 size_t errlen)
{
    *out = NULL;
    if (o->threads < 1 || o->max_recv_bytes == 0) {
        snprintf(err, errlen, "grpc: no threads or a zero message size limit");
        return OTTR_ERR_INVALID;
    }
    int nworkers = o->threads;
    uint64_t max_recv = o->max_recv_bytes;

    otlp_grpc *g = calloc(1, sizeof(*g));
    if (g == NULL || (g->workers = calloc((size_t)nworkers, sizeof(grpc_worker))) == NULL) {
        free(g);
        snprintf(err, errlen, "grpc: out of memory");
        return OTTR_ERR_NOMEM;
    }
    grpc_init();
    gpr_set_log_function(grpc_log_to_ottr);
    if (getenv("GRPC_VERBOSITY") == NULL)
        gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
    if (msg_flags == NULL) {
        *(void **)&msg_flags = dlsym(RTLD_DEFAULT, GRPC_MSG_FLAGS_SYMBOL);
        if (msg_flags == NULL)
            OTTR_WARN("collector", "grpc: this gRPC library does not tell the Compressed-Flag "
                                   "of messages; a flagged message without grpc-encoding is "
                                   "taken as plain");
    }

    g->nworkers = nworkers;
    g->ingest = o->ingest;
    g->would_push_back = o->would_push_back;
    g->tenants = o->tenants;
    g->ingest_ctx = o->ingest_ctx;
    g->limits = o->limits;
    g->auth = o->auth;
    pthread_mutex_init(&g->shut_lock, NULL);
    pthread_cond_init(&g->shut_cond, NULL);
    metrics_init(&g->m);

    /* Decoding amplifies: a span's structs take several times its wire bytes, and
     * hostile input can do worse. Bound each call's memory. */
    size_t arena_limit = max_recv > SIZE_MAX / 8 ? SIZE_MAX : (size_t)max_recv * 8;
    if (arena_limit < (64u << 20))
        arena_limit = 64u << 20;

    grpc_arg args[MAX_CHANNEL_ARGS];
    grpc_channel_args chargs = {.num_args = server_args(o, args), .args = args};
    g->server = grpc_server_create(&chargs, NULL);
    for (int i = 0; i < nworkers; i++) {
        grpc_worker *w = &g->workers[i];
        w->g = g;
        pthread_mutex_init(&w->lock, NULL);
        ottr_arena_init(&w->arena, ARENA_BLOCK, arena_limit);
        w->cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(g->server, w->cq, NULL);
    }
    g->export_method = grpc_server_register_method(g->server, EXPORT_METHOD, NULL,
                                                   GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    if (g->export_method == NULL) {
        snprintf(err, errlen, "grpc: cannot register the Export method");
        grpc_teardown(g, 0);
        return OTTR_ERR_INTERNAL;
    }
    /* Threads first: a failure here leaves no listener behind. */
    for (int i = 0; i < nworkers; i++) {
        grpc_worker *w = &g->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err, errlen, "grpc: cannot start a thread");
            grpc_teardown(g, 0);
            return OTTR_ERR_NOMEM;
        }
        w->thread_started = 1;
    }

    char addr[300];
    listen_addr(o->addr, addr, sizeof(addr));
    grpc_server_credentials *creds =
        o->tls ? tls_start(g, o->tls, err, errlen) : grpc_insecure_server_credentials_create();
    if (creds == NULL) {
        grpc_teardown(g, 0);
        return OTTR_ERR_INVALID;
    }
    g->port = grpc_server_add_http2_port(g->server, addr, creds);
    grpc_server_credentials_release(creds);
    if (g->port <= 0) {
        snprintf(err, errlen, "grpc: cannot listen on %s", addr);
        grpc_teardown(g, 0);
        return OTTR_ERR_IO;
    }

    grpc_server_start(g->server);
    for (int i = 0; i < nworkers; i++) {
        for (int k = 0; k < EXPORT_CALLS_PER_CQ; k++)
            rpc_post(&g->workers[i], RPC_EXPORT);
        for (int k = 0; k < OTHER_CALLS_PER_CQ; k++)
            rpc_post(&g->workers[i], RPC_OTHER);
    }
    OTTR_INFO("collector", "OTLP/gRPC listening on %s (port %d, %d threads%s)", addr, g->port,
              nworkers, g->tls ? ", TLS" : "");
    *out = g;
    return OTTR_OK;
}

int collector_grpc_port(const otlp_grpc *g)
{
    return g ? g->port : 0;
}

void collector_grpc_stop(otlp_grpc *g)
{
    if (g == NULL)
        return;
    grpc_teardown(g, 1);
}
