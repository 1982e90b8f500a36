/* collector/ingest.c - one export request from body bytes to a result:
 * decode (OTLP protobuf or JSON, or a Zipkin v2 span list), group by trace, hand to
 * the ingest entry point and count the spans, the same for the gRPC, the HTTP and
 * the Zipkin receiver. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "otlp/otlp.h"

/* The counters of |protocol|, with |tenant| (a label `tenant="a",`, or "")
 * first among the labels. */
static void counters_init(ingest_counters *c, const char *protocol, const char *tenant)
{
    static const char help[] = "Spans received: accepted, rejected as invalid, or refused "
                               "(pushed back or failed).";
    char labels[96 + 2 * STORE_TENANT_NAME_MAX + 16];
    snprintf(labels, sizeof(labels), "%sprotocol=\"%s\",result=\"accepted\"", tenant, protocol);
    c->accepted = ottr_counter_get("ottr_receiver_spans_total", help, labels);
    snprintf(labels, sizeof(labels), "%sprotocol=\"%s\",result=\"rejected\"", tenant, protocol);
    c->rejected = ottr_counter_get("ottr_receiver_spans_total", help, labels);
    snprintf(labels, sizeof(labels), "%sprotocol=\"%s\",result=\"refused\"", tenant, protocol);
    c->refused = ottr_counter_get("ottr_receiver_spans_total", help, labels);
    for (int i = 0; i < OTLP_REJECT_NREASONS; i++) {
        snprintf(labels, sizeof(labels), "%sprotocol=\"%s\",reason=\"%s\"", tenant, protocol,
                 otlp_reject_reason_name((otlp_reject_reason)i));
        c->rejected_by[i] = ottr_counter_get(
            "ottr_receiver_spans_rejected_total",
            "Spans rejected, by reason: invalid IDs, or the limits.* setting they are over.",
            labels);
    }
}

void collector_ingest_counters_init(ingest_counters *c, const char *protocol)
{
    counters_init(c, protocol, "");
}

/* Counters per (protocol, tenant), made at a tenant's first request and found
 * after that with two atomic loads: pages of pointers indexed by the tenant's
 * number, per protocol. They live as long as the process. */
#define TC_PAGE   1024
#define TC_NPAGES ((STORE_TENANT_MAX + TC_PAGE) / TC_PAGE)

static pthread_mutex_t tc_mu = PTHREAD_MUTEX_INITIALIZER;
typedef _Atomic(ingest_counters *) tc_slot;
static _Atomic(tc_slot *) tc_pages[2][TC_NPAGES]; /* [0] grpc, [1] http */

static ingest_counters *tenant_counters_new(const char *protocol, store *st, uint32_t tenant)
{
    ingest_counters *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    char name[STORE_TENANT_NAME_MAX + 1];
    if (store_tenant_name(st, tenant, name, sizeof(name)) != 0)
        snprintf(name, sizeof(name), "%u", tenant);
    ottr_buf b = {0};
    ottr_prom_label(&b, "tenant", name);
    ottr_buf_putc(&b, ',');
    if (b.oom || b.data == NULL) {
        ottr_buf_free(&b);
        free(c);
        return NULL;
    }
    counters_init(c, protocol, b.data);
    ottr_buf_free(&b);
    return c;
}

const ingest_counters *collector_ingest_counters_tenant(const char *protocol, store *st,
                                                        uint32_t tenant)
{
    if (tenant > STORE_TENANT_MAX)
        return NULL;
    _Atomic(tc_slot *) *slot = &tc_pages[strcmp(protocol, "grpc") == 0 ? 0 : 1][tenant / TC_PAGE];
    tc_slot *page = atomic_load_explicit(slot, memory_order_acquire);
    ingest_counters *c =
        page ? atomic_load_explicit(&page[tenant % TC_PAGE], memory_order_acquire) : NULL;
    if (c != NULL)
        return c;
    pthread_mutex_lock(&tc_mu);
    page = atomic_load(slot);
    if (page == NULL && (page = calloc(TC_PAGE, sizeof(*page))) != NULL)
        atomic_store_explicit(slot, page, memory_order_release);
    if (page != NULL) {
        c = atomic_load(&page[tenant % TC_PAGE]);
        if (c == NULL && (c = tenant_counters_new(protocol, st, tenant)) != NULL)
            atomic_store_explicit(&page[tenant % TC_PAGE], c, memory_order_release);
    }
    pthread_mutex_unlock(&tc_mu);
    return c;
}

static size_t request_spans(const otlp_request *req)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const otlp_resource_spans *rs = req->resource_spans[i];
        for (size_t j = 0; rs && j < rs->n_scope_spans; j++)
            n += rs->scope_spans[j] ? rs->scope_spans[j]->n_spans : 0;
    }
    return n;
}

/* A failure that may pass: out of memory, the store, back-pressure. */
static void retry_later(ingest_result *r, ingest_outcome outcome)
{
    r->outcome = outcome;
    r->retry_after_s = OTTR_RETRY_AFTER_SECONDS;
}

/* Sets the outcome of a decoding or grouping failure |st| at |stage|. */
static void failed(ingest_result *r, ottr_status st, const ottr_arena *arena, const char *stage)
{
    if (st == OTTR_ERR_TOO_LARGE) {
        /* Only the arena's limit, which follows the size limit, means too large. */
        r->outcome = INGEST_TOO_LARGE;
        snprintf(r->message, sizeof(r->message), "request too large %s (limit %zu bytes)", stage,
                 arena->limit);
        return;
    }
    retry_later(r, INGEST_UNAVAILABLE);
    if (st == OTTR_ERR_NOMEM)
        snprintf(r->message, sizeof(r->message), "out of memory: retry later");
    else
        snprintf(r->message, sizeof(r->message), "cannot group the request: %s",
                 ottr_status_str(st));
}

/* Trace IDs looked at before decoding; a request with more is decoded first. */
#define EARLY_TRACE_IDS 512

/* Whether the request is pushed back before it is decoded (|r| set then). */
static bool refused_early(ottr_admit_fn would_push_back, void *ctx, uint32_t tenant,
                          const ingest_counters *c, const uint8_t *body, size_t len,
                          ingest_result *r)
{
    uint8_t tids[EARLY_TRACE_IDS][16];
    size_t nspans;
    size_t n = otlp_scan_trace_ids(body, len, tids, EARLY_TRACE_IDS, &nspans);
    if (n == SIZE_MAX || n == 0 || !would_push_back(ctx, tenant, (const uint8_t(*)[16])tids, n))
        return false;
    r->refused = nspans;
    ottr_counter_add(c->refused, nspans);
    retry_later(r, INGEST_BUSY);
    snprintf(r->message, sizeof(r->message), "over capacity: retry later");
    return true;
}

void collector_ingest_export(ottr_ingest_fn fn, ottr_admit_fn would_push_back, void *ctx,
                             uint32_t tenant, const ingest_counters *c, const otlp_limits *limits,
                             ottr_arena *arena, ingest_encoding enc, const uint8_t *body,
                             size_t len, ingest_result *r)
{
    memset(r, 0, sizeof(*r));
    r->outcome = INGEST_OK;
    if (len == 0)
        return; /* an empty request: nothing to do */
    /* Over capacity, a request for new traces costs only a look at its IDs. */
    if (enc == INGEST_PROTOBUF && would_push_back &&
        refused_early(would_push_back, ctx, tenant, c, body, len, r))
        return;

    char err[256] = "";
    otlp_request *req = NULL;
    ottr_status st;
    const char *why = "request does not decode as ExportTraceServiceRequest: ";
    if (enc == INGEST_JSON) {
        st = otlp_json_decode_request(arena, (const char *)body, len, &req, err, sizeof(err));
        why = "invalid OTLP/JSON: ";
    } else if (enc == INGEST_ZIPKIN_JSON || enc == INGEST_ZIPKIN_PROTO || enc == INGEST_ZIPKIN_V1) {
        /* Zipkin's own wording for a body it cannot read. */
        otlp_zipkin_encoding ze = enc == INGEST_ZIPKIN_PROTO ? OTLP_ZIPKIN_PROTO
                                  : enc == INGEST_ZIPKIN_V1  ? OTLP_ZIPKIN_JSON_V1
                                                             : OTLP_ZIPKIN_JSON;
        st =
            otlp_zipkin_decode_request(arena, ze, body, len, ottr_now_ns(), &req, err, sizeof(err));
        why = enc == INGEST_ZIPKIN_PROTO ? "Malformed reading List<Span> from proto3: "
              : enc == INGEST_ZIPKIN_V1  ? "Malformed reading List<Span> from json v1: "
                                         : "Malformed reading List<Span> from json: ";
    } else {
        st = otlp_proto_decode_request(arena, body, len, &req, err, sizeof(err));
    }
    if (st == OTTR_ERR_INVALID) {
        r->outcome = INGEST_INVALID;
        snprintf(r->message, sizeof(r->message), "%s%s", why, err);
        return;
    }
    if (st != OTTR_OK) {
        failed(r, st, arena, "to decode");
        return;
    }

    size_t nspans = request_spans(req);
    if (limits && limits->max_spans_per_request && nspans > limits->max_spans_per_request) {
        /* A size limit, like the body's: RESOURCE_EXHAUSTED / 413, not retried. */
        r->outcome = INGEST_TOO_LARGE;
        r->rejected = nspans;
        ottr_counter_add(c->rejected, nspans);
        ottr_counter_add(c->rejected_by[OTLP_REJECT_SPANS_PER_REQUEST], nspans);
        snprintf(r->message, sizeof(r->message),
                 "request has %zu spans, limit %llu (limits.max_spans_per_request): send smaller "
                 "batches",
                 nspans, (unsigned long long)limits->max_spans_per_request);
        return;
    }

    otlp_batch batch;
    memset(&batch, 0, sizeof(batch));
    err[0] = '\0';
    /* Protobuf bodies: chunks copy the spans' original bytes, no re-encoding. */
    st = otlp_batch_build_limited(arena, req, enc == INGEST_PROTOBUF ? body : NULL, len, limits,
                                  &batch, &r->rejected, err, sizeof(err));
    if (st != OTTR_OK) {
        r->rejected = 0;
        r->refused = nspans;
        ottr_counter_add(c->refused, r->refused);
        failed(r, st, arena, "once decoded");
        return;
    }
    ottr_counter_add(c->rejected, r->rejected);
    for (int i = 0; i < OTLP_REJECT_NREASONS; i++)
        ottr_counter_add(c->rejected_by[i], batch.rejected_by[i]);
    if (r->rejected) {
        r->outcome = INGEST_PARTIAL;
        snprintf(r->message, sizeof(r->message), "%zu span%s rejected; first: %s", r->rejected,
                 r->rejected == 1 ? "" : "s", err[0] ? err : "invalid trace or span ID");
    }
    if (batch.nspans == 0)
        return;
    batch.tenant = tenant;
    st = fn ? fn(ctx, &batch) : OTTR_OK;
    if (st == OTTR_OK) {
        r->accepted = batch.nspans;
        ottr_counter_add(c->accepted, r->accepted);
        return;
    }
    r->refused = batch.nspans;
    ottr_counter_add(c->refused, r->refused);
    if (st == OTTR_ERR_BUSY) {
        retry_later(r, INGEST_BUSY);
        snprintf(r->message, sizeof(r->message), "over capacity: retry later");
    } else if (st == OTTR_ERR_LIMIT) {
        retry_later(r, INGEST_LIMITED);
        snprintf(r->message, sizeof(r->message),
                 "over the tenant's limits (span rate or buffered traces): retry later");
    } else {
        retry_later(r, INGEST_UNAVAILABLE);
        snprintf(r->message, sizeof(r->message), "cannot store the spans: %s", ottr_status_str(st));
    }
}
