/* sampler/sampler.h - tail sampling of whole traces and the metrics derived from
 * every span. The sampler is the ingest hand-off: sampler_submit() makes a
 * request's spans durable in the store's `pending` family, then updates a small
 * per-trace summary (sharded by XXH3 of the trace ID), the span metrics and the
 * service graph. Policies (the OpenTelemetry Collector's tail_sampling
 * vocabulary) are evaluated incrementally per span; decided traces are copied to
 * `traces` by a writer thread, and pending is reclaimed by DeleteRange. */
#ifndef OTTR_SAMPLER_H
#define OTTR_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "store/store.h"

typedef struct sampler sampler;

/* One tenant's limits (Tempo's overrides); 0 = no limit. */
typedef struct sampler_tenant_limits {
    uint64_t rate_spans;          /* spans per second accepted (token bucket) */
    uint64_t burst_spans;         /* the bucket's depth; 0 = rate_spans */
    uint64_t max_traces;          /* undecided traces buffered */
    uint64_t max_bytes_per_trace; /* a trace is decided once this big */
} sampler_tenant_limits;

/* The limits and policies of one named tenant, overriding the defaults. */
typedef struct sampler_tenant_override {
    const char *name;
    sampler_tenant_limits limits;
    const ottr_yaml_node *policies; /* its own sampling.policies; NULL: the global list */
} sampler_tenant_override;

/* The limits have no defaults here: the daemon fills them from its config
 * (collector/options.c) and sampler_create() refuses a zero one. */
typedef struct sampler_options {
    uint64_t decision_wait_ns;
    uint64_t decision_wait_after_root_ns;
    uint64_t max_spans_per_trace;
    uint64_t max_trace_bytes;
    uint64_t max_buffered_traces;
    uint64_t max_memory_bytes;
    uint64_t decision_cache_size;
    int shards;                               /* 0 = default */
    const ottr_yaml_node *policies;           /* NULL or empty: always_sample */
    bool multitenant;                         /* label span and service-graph metrics by tenant */
    sampler_tenant_limits tenant_limits;      /* every tenant's, unless overridden */
    const sampler_tenant_override *overrides; /* not owned; may be NULL */
    size_t noverrides;
    uint64_t (*clock_ns)(void); /* NULL = ottr_now_ns; tests inject */
    bool manual_tick;           /* tests: no ticker threads, call sampler_tick */
} sampler_options;

/* Checks a policies list without building a sampler (for --check-config).
 * Returns 0, or -1 with a message naming the policy and field, e.g.
 * "sampling.policies[1] (errors): status_code.status_codes: unknown code \"EROR\"
 * (line 12)". */
int sampler_check_policies(const ottr_yaml_node *policies, char *err, size_t errlen);

/* Creates the sampler over |st| (not owned). Returns OTTR_OK, OTTR_ERR_INVALID
 * (a zero limit or a policy error, message in |err|) or OTTR_ERR_NOMEM. */
ottr_status sampler_create(const sampler_options *o, store *st, sampler **out, char *err,
                           size_t errlen);

/* Rebuilds undecided traces from `pending` (after a crash or restart). Call
 * before the receivers open. */
ottr_status sampler_replay(sampler *s);

/* Starts the ticker and writer threads (unless manual_tick). */
ottr_status sampler_start(sampler *s);

/* The hand-off of spans of tenant b->tenant. Returns OTTR_OK once every span of
 * |b| is durable (acknowledge), OTTR_ERR_LIMIT past the tenant's span rate or
 * buffered traces (429 / RESOURCE_EXHAUSTED: retry later), OTTR_ERR_BUSY at the
 * memory/trace budget (push back: retry later), or OTTR_ERR_IO when the store
 * cannot write (UNAVAILABLE / 503). Thread-safe. */
ottr_status sampler_submit(sampler *s, const otlp_batch *b);

/* Whether a request whose spans belong to the traces |tids| (|n| distinct ones)
 * would be pushed back now, asked before it is decoded: the sampler is over its
 * budget and one of them is new (traces in progress are always taken). Counts
 * the push-back when it says yes; takes nothing. Thread-safe. */
bool sampler_would_push_back(sampler *s, uint32_t tenant, const uint8_t (*tids)[16], size_t n);

/* ---- Kafka mode: when a record's spans are settled ---- */

/* The second (of the sampler's clock) now: spans submitted before this call
 * arrived in it or earlier. */
uint32_t sampler_now_sec(sampler *s);
/* The oldest arrival second whose spans may still be needed: every span that
 * arrived in an earlier second belongs to a trace decided, and, if kept,
 * copied into the store (or dropped). A consumer commits a record once the
 * second it was submitted in is older than this. Thread-safe. */
uint32_t sampler_settled_before(sampler *s);

/* Tests with manual_tick: decide what is due at the injected clock and run the
 * writer's queue to completion. */
void sampler_tick(sampler *s);

/* Replaces the policies (SIGHUP). Buffered traces stay; on error the old
 * policies stay and -1 is returned with a message. */
int sampler_reload(sampler *s, const ottr_yaml_node *policies, char *err, size_t errlen);

/* Decides every buffered trace that is due, drains the writer, stops threads.
 * Undecided traces stay in `pending` for the next start. */
void sampler_stop(sampler *s);
void sampler_destroy(sampler *s);

typedef struct sampler_stats {
    uint64_t traces_buffered;
    uint64_t bytes_buffered; /* heap held by the sampler for buffered traces */
    uint64_t kept;
    uint64_t dropped;
    uint64_t late_spans;
} sampler_stats;
void sampler_get_stats(sampler *s, sampler_stats *st);
/* The default policies in force (sampling.policies, as last reloaded) as JSON:
 * [{"name":"errors","type":"status_code"}, {"name":"both","type":"and",
 * "policies":[...]}]; [] when every trace is kept. Any thread. */
void sampler_policies_json(sampler *s, ottr_buf *out);
/* The number of shards in use (sampler_options.shards after its default). */
int sampler_shards(const sampler *s);

/* ---- benchmarks (bench/sampler), with manual_tick ---- */

/* Adds |n| synthetic one-span traces straight to the summaries, first seen at
 * |now_ns|, without writing `pending`. Returns OTTR_OK or OTTR_ERR_NOMEM. */
ottr_status sampler_bench_insert(sampler *s, const uint8_t (*ids)[16], size_t n, uint64_t now_ns);
/* Decides the traces due at |now_ns| without running the writer; kept traces
 * wait for the next sampler_tick(). */
void sampler_bench_decide(sampler *s, uint64_t now_ns);

#endif /* OTTR_SAMPLER_H */
