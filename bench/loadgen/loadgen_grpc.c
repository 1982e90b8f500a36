/* bench/loadgen/loadgen_grpc.c - the OTLP/gRPC driver: one channel (connection) and
 * completion queue per worker, --inflight unary Export calls kept in flight. */
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "bench/loadgen/loadgen.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define EXPORT_METHOD "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

typedef struct gcall {
    lg_worker *w;
    grpc_call *call;
    grpc_byte_buffer *send;
    grpc_byte_buffer *recv;
    grpc_metadata_array initial, trailing;
    grpc_status_code status;
    grpc_slice details;
    const lg_template *tpl;
    uint8_t *ids;
    uint64_t t0;
    uint64_t resume_ns; /* pushed back: not before this (0: not waiting) */
} gcall;

typedef struct gctx {
    grpc_channel *ch;
    void *method;
    grpc_completion_queue *cq;
} gctx;

/* Rejected spans reported by a response's partial_success (0 if none). */
static uint64_t response_rejected(grpc_byte_buffer *bb)
{
    if (bb == NULL)
        return 0;
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return 0;
    grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    uint64_t n = 0;
    if (GRPC_SLICE_LENGTH(s) > 0) {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
            opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
                NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
        if (r) {
            if (r->partial_success && r->partial_success->rejected_spans > 0)
                n = (uint64_t)r->partial_success->rejected_spans;
            opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
                r, NULL);
        }
    }
    grpc_slice_unref(s);
    return n;
}

/* Starts one call on slot |c|. Returns 0, or -1 if gRPC refused the batch. */
static int gcall_start(gctx *g, gcall *c)
{
    lg_worker *w = c->w;
    lg_run *run = w->run;
    c->tpl = &run->templates[lg_rand(&w->rng) % (uint64_t)run->ntemplates];
    grpc_slice s = grpc_slice_malloc(c->tpl->len);
    lg_template_fill(c->tpl, GRPC_SLICE_START_PTR(s), &w->rng, lg_now_ns() - 100000000u, c->ids);
    c->send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    grpc_metadata_array_init(&c->initial);
    grpc_metadata_array_init(&c->trailing);
    c->recv = NULL;
    c->t0 = lg_mono_ns();
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                     gpr_time_from_millis((int64_t)(run->o->timeout_s * 1000), GPR_TIMESPAN));
    c->call = grpc_channel_create_registered_call(g->ch, NULL, GRPC_PROPAGATE_DEFAULTS, g->cq,
                                                  g->method, deadline, NULL);
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &c->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &c->trailing;
    ops[5].data.recv_status_on_client.status = &c->status;
    ops[5].data.recv_status_on_client.status_details = &c->details;
    if (grpc_call_start_batch(c->call, ops, 6, c, NULL) != GRPC_CALL_OK) {
        grpc_call_unref(c->call);
        grpc_byte_buffer_destroy(c->send);
        grpc_metadata_array_destroy(&c->initial);
        grpc_metadata_array_destroy(&c->trailing);
        return -1;
    }
    return 0;
}

/* Accounts for a finished call and releases what it held. Returns 1 when the
 * server pushed back (UNAVAILABLE or RESOURCE_EXHAUSTED). */
static int gcall_finish(gcall *c, int success)
{
    lg_worker *w = c->w;
    lg_stats *st = &w->stats;
    lg_stats_latency(st, (lg_mono_ns() - c->t0) / 1000);
    grpc_status_code code = success ? c->status : GRPC_STATUS_UNKNOWN;
    if ((int)code >= 0 && (int)code <= 16)
        st->by_code[code]++;
    if (code == GRPC_STATUS_OK) {
        uint64_t rejected = response_rejected(c->recv);
        st->ok_requests++;
        st->ok_spans += c->tpl->nspans > rejected ? c->tpl->nspans - rejected : 0;
        st->ok_bytes += c->tpl->len;
        lg_run_record_ids(w->run, c->ids, c->tpl);
    } else {
        st->err_requests++;
        if (w->first_failure[0] == '\0')
            snprintf(w->first_failure, sizeof(w->first_failure), "%s: %.*s",
                     success ? "status" : "call failed",
                     success ? (int)GRPC_SLICE_LENGTH(c->details) : 0,
                     success ? (const char *)GRPC_SLICE_START_PTR(c->details) : "");
    }
    if (success)
        grpc_slice_unref(c->details);
    if (c->recv)
        grpc_byte_buffer_destroy(c->recv);
    grpc_byte_buffer_destroy(c->send);
    grpc_metadata_array_destroy(&c->initial);
    grpc_metadata_array_destroy(&c->trailing);
    grpc_call_unref(c->call);
    c->call = NULL;
    return code == GRPC_STATUS_UNAVAILABLE || code == GRPC_STATUS_RESOURCE_EXHAUSTED;
}

void *lg_grpc_worker(void *arg)
{
    lg_worker *w = arg;
    lg_run *run = w->run;
    const lg_options *o = run->o;
    gctx g;
    grpc_arg args[2];
    size_t nargs = 0;
    args[nargs].type = GRPC_ARG_INTEGER;
    args[nargs].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL; /* own connection */
    args[nargs++].value.integer = 1;
    if (o->gzip) {
        args[nargs].type = GRPC_ARG_INTEGER;
        args[nargs].key = (char *)"grpc.default_compression_algorithm";
        args[nargs++].value.integer = GRPC_COMPRESS_GZIP;
    }
    grpc_channel_args ca = {.num_args = nargs, .args = args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    g.ch = grpc_channel_create(o->target, creds, &ca);
    grpc_channel_credentials_release(creds);
    g.method = grpc_channel_register_call(g.ch, EXPORT_METHOD, NULL, NULL);
    g.cq = grpc_completion_queue_create_for_next(NULL);

    int k = o->inflight;
    gcall *calls = calloc((size_t)k, sizeof(*calls));
    uint8_t *ids = calloc((size_t)k, (size_t)o->traces_per_request * 16);
    if (calls == NULL || ids == NULL) {
        snprintf(w->error, sizeof(w->error), "out of memory");
        k = 0;
    }
    int active = 0;
    for (int i = 0; i < k; i++) {
        calls[i].w = w;
        calls[i].ids = ids + (size_t)i * o->traces_per_request * 16;
        if (!lg_run_take(run))
            break;
        if (gcall_start(&g, &calls[i]) != 0) {
            snprintf(w->error, sizeof(w->error), "cannot start a gRPC call");
            break;
        }
        active++;
    }
    int waiting = 0; /* slots pushed back, waiting out --backoff-ms */
    while (active > 0) {
        uint64_t now = lg_mono_ns(), next = now + 200 * 1000000ull;
        for (int i = 0; waiting > 0 && i < k; i++) {
            gcall *c = &calls[i];
            if (c->resume_ns == 0)
                continue;
            if (c->resume_ns > now) {
                next = c->resume_ns < next ? c->resume_ns : next;
                continue;
            }
            c->resume_ns = 0;
            waiting--;
            if (!(lg_run_take(run) && gcall_start(&g, c) == 0))
                active--;
        }
        if (active == 0)
            break;
        grpc_event ev = grpc_completion_queue_next(
            g.cq,
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                         gpr_time_from_micros((int64_t)((next - now) / 1000), GPR_TIMESPAN)),
            NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        gcall *c = ev.tag;
        if (gcall_finish(c, ev.success) && o->backoff_ms > 0) {
            c->resume_ns = lg_mono_ns() + (uint64_t)o->backoff_ms * 1000000ull;
            waiting++;
            continue;
        }
        if (lg_run_take(run) && gcall_start(&g, c) == 0)
            continue;
        active--;
    }

    grpc_channel_destroy(g.ch);
    grpc_completion_queue_shutdown(g.cq);
    while (grpc_completion_queue_next(g.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(g.cq);
    free(calls);
    free(ids);
    return NULL;
}
