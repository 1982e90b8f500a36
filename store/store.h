/* store/store.h - Ottr's embedded store: durable acceptance of spans (the
 * pending log, one file per arrival second), and on RocksDB kept traces keyed by
 * trace ID, trace summaries, time-ordered search indexes, tag discovery, and
 * per-minute service-graph and span-metric state. No network code. Every
 * function is thread-safe unless noted.
 *
 * Tenants: every record belongs to one tenant, named by a small number (the
 * registry in `meta` maps X-Scope-OrgID names to numbers; 0 is the implicit
 * tenant). Every key starts with that number, so a read, which is always made
 * through a store_view naming one tenant, cannot reach another tenant's data,
 * and trace IDs may repeat across tenants.
 *
 * Pending log: pending/<arrival_sec>.log, records named by their offset:
 *   header(16) | 2 | tenant(4) | n(4) | n x (trace_id(16) | len(4)) | the n chunks
 *   (format 1, without the tenant, is the implicit tenant's; format 3 adds origin(8) to
 *   each entry: chunks taken from Kafka, kept under their record's name, below)
 * Column families and keys (all integers big-endian):
 *   traces    tenant(4) | trace_id(16) | arrival_sec(4) | offset(4) -> chunk
 *             (a chunk taken from Kafka: its record's timestamp second | offset)
 *   summaries tenant(4) | trace_id(16)                    -> encoded summary
 *   index     tenant(4) | group | bucket(1) | ~start_sec(4) | key number(8) -> posting
 *             list: retention sec(4) | (trace_id(16) | term hash(8))... (store/postings.c)
 *   tags      tenant(4) | scope(1) | key | 0x00 | value   -> last seen sec (4)
 *   edges     tenant(4) | minute(4) | kind(1) | names     -> counters (merge)
 *             (service-graph edges and nodes, and per-minute span metrics)
 * Seconds are 32-bit: start times from 2106-02-07T06:28:15Z on share the last
 * second, and searches settle such traces on their exact start (summary).
 * A chunk is one or more ResourceSpans, each framed as field 1 of TracesData, so a
 * trace's chunks concatenated are a valid OTLP TracesData. */
#ifndef OTTR_STORE_H
#define OTTR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otlp/otlp.h"

typedef struct store store;

/* ---- tenants ---- */

#define STORE_TENANT_DEFAULT      0u              /* the implicit tenant (tenancy off) */
#define STORE_TENANT_DEFAULT_NAME "single-tenant" /* its name, as in Tempo */
#define STORE_TENANT_NONE         UINT32_MAX      /* a name never written: reads find nothing */
#define STORE_TENANT_MAX          65535u          /* numbers handed out at most */
#define STORE_TENANT_NAME_MAX     150             /* bytes, as Tempo allows */

/* One tenant's part of the store: every read of trace data goes through one. */
typedef struct store_view {
    store *s;
    uint32_t tenant;
} store_view;

static inline store_view store_view_of(store *s, uint32_t tenant)
{
    store_view v = {s, tenant};
    return v;
}

/* When the write-ahead log reaches the disk. */
typedef enum store_sync_policy {
    STORE_SYNC_NONE = 0,     /* WAL written, never fsynced: survives a process crash */
    STORE_SYNC_INTERVAL = 1, /* WAL fsynced every sync_interval_ns: bounded loss on power cut */
    STORE_SYNC_ALWAYS = 2,   /* fsync before each acknowledgement */
} store_sync_policy;

/* Every field is the caller's to set (the daemon takes them from its config);
 * store_open() refuses a zero size or interval. */
typedef struct store_options {
    const char *path;            /* data directory; created if missing */
    store_sync_policy sync;      /* WAL fsync policy */
    uint64_t sync_interval_ns;   /* for STORE_SYNC_INTERVAL */
    uint64_t retention_ns;       /* older records are removed by compaction; 0 = keep all */
    uint64_t max_trace_bytes;    /* a kept trace stops growing past this; marked partial */
    uint64_t block_cache_bytes;  /* LRU block cache shared by all families */
    uint64_t memtable_bytes;     /* all memtables together; the largest is flushed past it */
    uint64_t disk_reserve_bytes; /* after a full disk, writes resume with this much free */
    uint64_t (*clock_ns)(void);  /* wall clock for retention; NULL = ottr_now_ns */
} store_options;

/* Opens (or creates) the store at o->path. On error returns OTTR_ERR_INVALID for
 * a missing path or a zero size or interval, OTTR_ERR_CORRUPT for a corrupt or
 * foreign directory, OTTR_ERR_IO otherwise, with a message in |err|; nothing is
 * left open. */
ottr_status store_open(const store_options *o, store **out, char *err, size_t errlen);
/* Flushes and closes; |s| may be NULL. */
void store_close(store *s);
/* The max_trace_bytes the store was opened with (0 = no cap). */
uint64_t store_max_trace_bytes(const store *s);

/* The number of tenant |name| (|len| bytes, 1 to STORE_TENANT_NAME_MAX). A
 * name seen for the first time gets the next number, persisted, when |create|;
 * else *id = STORE_TENANT_NONE. Returns OTTR_OK, OTTR_ERR_INVALID (bad length),
 * OTTR_ERR_TOO_LARGE (STORE_TENANT_MAX numbers handed out), OTTR_ERR_IO,
 * OTTR_ERR_NOMEM. Looked up in memory after the first call per name. */
ottr_status store_tenant_id(store *s, const char *name, size_t len, bool create, uint32_t *id);
/* The name of tenant |id| into |out| (NUL-terminated); STORE_TENANT_DEFAULT_NAME
 * for the implicit tenant. Returns 0, or -1 when unknown. */
int store_tenant_name(store *s, uint32_t id, char *out, size_t cap);

/* ---- durable acceptance ---- */

/* Where an acknowledged request's chunks lie: its one record in the pending log. */
typedef struct store_pending_ref {
    uint32_t sec; /* arrival second: the file */
    uint32_t seq; /* the record's offset in it: unique across restarts */
} store_pending_ref;

/* Appends the groups of |b| to the pending log as ONE record, with the tenant
 * b->tenant, in the file of |arrival_sec| (fdatasynced before returning when sync = always, by the
 * sync thread when interval), and sets |*ref| (may be NULL) to where it lies. Returns OTTR_OK once
 * written, OTTR_ERR_IO when the write fails (disk full, ...: the store counts as failing until an
 * append succeeds again), OTTR_ERR_NOMEM. */
ottr_status store_append_pending(store *s, const otlp_batch *b, uint32_t arrival_sec,
                                 store_pending_ref *ref);

/* Calls |fn| for every trace's chunk of every pending record (oldest arrival
 * second first, then in append order); |fn| returns 0 to go on, non-zero to
 * stop. Used on start-up, before the receivers open, to rebuild the sampler's
 * state. Records an earlier version kept in the `pending` column family are
 * moved into the log first. Torn or damaged records are skipped (logged). */
typedef int (*store_pending_fn)(void *ctx, store_pending_ref ref, uint32_t tenant,
                                const uint8_t trace_id[16], const uint8_t *chunk, size_t len);
ottr_status store_replay_pending(store *s, store_pending_fn fn, void *ctx);

/* Copies the chunks of |trace_id| of |tenant| from the pending records |refs|
 * (|nrefs| of them) into `traces` (idempotent keys tenant | trace_id | sec | seq:
 * a repeat overwrites), and
 * updates the trace's summary, index keys and tag entries, all in one
 * WriteBatch. A record that is gone or does not hold the trace is skipped.
 * Honors max_trace_bytes (the rest is dropped, summary marked partial). Returns
 * OTTR_OK (also when nothing was pending), OTTR_ERR_IO, OTTR_ERR_NOMEM. */
ottr_status store_keep_trace(store *s, uint32_t tenant, const uint8_t trace_id[16],
                             const store_pending_ref *refs, size_t nrefs);

/* Keeps several traces as store_keep_trace does each, in one WriteBatch (up to
 * 1024 traces per batch; requests for one trace are merged). Cheaper per trace
 * than separate calls (index keys written in key order, one write). Returns
 * OTTR_OK, OTTR_ERR_IO, OTTR_ERR_NOMEM; on an error some batches may already be
 * written (a retry is harmless). */
typedef struct store_keep_req {
    uint32_t tenant;
    uint8_t trace_id[16];
    const store_pending_ref *refs; /* not owned */
    size_t nrefs;
} store_keep_req;
ottr_status store_keep_traces(store *s, const store_keep_req *reqs, size_t n);

/* Removes every pending record with arrival_sec < |before_sec| (or past
 * retention): their files go, after RocksDB's WAL is synced so that the copies
 * of kept traces are durable first. The caller guarantees no undecided or
 * not-yet-copied trace still refers to them. */
ottr_status store_reclaim_pending(store *s, uint32_t before_sec);

/* ---- trace by ID and summaries ---- */

#define STORE_MAX_SERVICES 16

typedef struct store_service_stat {
    char name[64];
    uint32_t spans;
    uint32_t errors;
} store_service_stat;

typedef struct store_trace_summary {
    uint8_t trace_id[16];
    char root_service[96]; /* "" when no root span was stored */
    char root_name[160];
    uint64_t start_ns; /* min span start */
    uint64_t end_ns;   /* max span end */
    uint32_t span_count;
    uint32_t error_count;
    uint64_t bytes;
    bool partial; /* max_trace_bytes cut the trace */
    uint32_t nservices;
    store_service_stat services[STORE_MAX_SERVICES];
} store_trace_summary;

/* Appends the trace's chunks (a TracesData) to |out|, and fills |sum| if not
 * NULL. Returns OTTR_OK, OTTR_ERR_NOTFOUND, OTTR_ERR_NOMEM, OTTR_ERR_IO. */
ottr_status store_get_trace(store_view v, const uint8_t trace_id[16], ottr_buf *out,
                            store_trace_summary *sum);
ottr_status store_get_summary(store_view v, const uint8_t trace_id[16], store_trace_summary *sum);

/* ---- search ---- */

typedef struct store_kv {
    const char *key;
    const char *value; /* string form: "42", "true", "GET" */
} store_kv;

typedef struct store_search_stats store_search_stats;

typedef struct store_search_query {
    const char *service;   /* NULL = any; a service of any span */
    const char *span_name; /* NULL = any; with |service| uses service+name index */
    const store_kv *attrs; /* span or resource attribute key=value, all must hold */
    size_t nattrs;
    uint64_t start_ns, end_ns; /* trace start within [start, end]; 0 = open */
    uint64_t min_duration_ns;  /* 0 = none */
    uint64_t max_duration_ns;  /* 0 = none */
    /* Asked every STORE_SEARCH_STOP_EVERY index entries with the work done so
     * far: non-zero ends the scan (candidates already found are still
     * reported; store_search returns OTTR_OK). NULL = never. */
    int (*stop)(void *ctx, const store_search_stats *so_far);
    void *stop_ctx;
} store_search_query;

#define STORE_SEARCH_STOP_EVERY 64

struct store_search_stats {
    uint64_t inspected_traces;
    uint64_t inspected_bytes;
};

/* Calls |fn| with the summary of each trace whose index entries satisfy |q|,
 * newest start first, until |fn| returns non-zero or candidates run out.
 * Candidates come from the most selective index in |q|; the other terms are
 * checked against the index too. */
typedef int (*store_summary_fn)(void *ctx, const store_trace_summary *sum);
ottr_status store_search(store_view v, const store_search_query *q, store_summary_fn fn, void *ctx,
                         store_search_stats *stats);

/* ---- discovery ---- */

typedef enum store_scope {
    STORE_SCOPE_RESOURCE = 0,
    STORE_SCOPE_SPAN = 1,
} store_scope;

typedef int (*store_str_fn)(void *ctx, const char *s);

/* Attribute keys seen in stored traces, in |scope|. */
ottr_status store_tag_names(store_view v, store_scope scope, store_str_fn fn, void *ctx);
/* Values of |key| in |scope|, most recently seen first, at most |limit|. */
ottr_status store_tag_values(store_view v, store_scope scope, const char *key, size_t limit,
                             store_str_fn fn, void *ctx);
/* Services of stored traces, sorted. */
ottr_status store_services(store_view v, store_str_fn fn, void *ctx);
/* Span names of |service| with their kind (1..5 as OTLP SpanKind), sorted. */
typedef int (*store_op_fn)(void *ctx, const char *name, int kind);
ottr_status store_operations(store_view v, const char *service, store_op_fn fn, void *ctx);

/* ---- per-minute service graph and span metrics (from every span) ---- */

/* Latency buckets: upper bounds 2ms * 2^i for i < STORE_LAT_BUCKETS-1 (2ms ..
 * 16.384s), the last bucket is +Inf. */
#define STORE_LAT_BUCKETS 15

typedef struct store_edge {
    char client[96];
    char server[96];
    char connection_type[24]; /* "", "messaging_system", "database", "virtual_node", or
                               * "direct": a parent -> child pair of two services among
                               * kept spans that is no client/server pair (keep time) */
    uint64_t calls;
    uint64_t failed;
    uint64_t latency[STORE_LAT_BUCKETS]; /* server-side latency counts */
    double latency_sum_s;
} store_edge;

typedef struct store_node {
    char service[96];
    uint64_t calls; /* SERVER and CONSUMER spans, or root spans */
    uint64_t errors;
    uint64_t latency[STORE_LAT_BUCKETS];
    double latency_sum_s;
} store_node;

/* Adds the counts to minute bucket |minute| (Unix seconds / 60) with a merge
 * operator: adding twice counts twice. */
ottr_status store_add_graph(store_view v, uint32_t minute, const store_edge *edges, size_t nedges,
                            const store_node *nodes, size_t nnodes);

/* Calls the callbacks with the sums over minutes [from_minute, to_minute], one
 * call per distinct edge (client, server, type) and per service. */
typedef int (*store_edge_fn)(void *ctx, const store_edge *e);
typedef int (*store_node_fn)(void *ctx, const store_node *n);
ottr_status store_graph(store_view v, uint32_t from_minute, uint32_t to_minute, store_edge_fn efn,
                        store_node_fn nfn, void *ctx);

/* One series of span metrics in one minute (or hour): the spans of |service|
 * named |name| of OTLP SpanKind |kind|, counted before sampling. */
typedef struct store_span_series {
    uint32_t minute;     /* Unix seconds / 60 (the hour, Unix seconds / 3600, in hour reads) */
    const char *service; /* NUL-terminated; owned by the caller (add) or the store (read) */
    const char *name;
    uint8_t kind; /* 0..5 */
    uint64_t calls;
    uint64_t errors; /* spans with status ERROR */
    uint64_t latency[STORE_LAT_BUCKETS];
    double latency_sum_s;
} store_span_series;

/* Adds |n| series to their minute buckets (and hour roll-ups) with the merge
 * operator: adding twice counts twice. Names past 255 (service) or 511 (name)
 * bytes are cut. Returns OTTR_OK, OTTR_ERR_INVALID (a minute past 2^31),
 * OTTR_ERR_IO. */
ottr_status store_add_span_metrics(store_view v, const store_span_series *m, size_t n);

/* Calls |fn| for every stored series of |service| (NULL = every service) in
 * minutes [from, to], minute by minute (within a minute by service, name,
 * kind); with |hours| true, |from| and |to| are hours and the hour roll-ups are
 * read. Minutes past the retention are left out. The strings live for the call.
 * |fn| returns 0 to go on. */
typedef int (*store_span_series_fn)(void *ctx, const store_span_series *m);
ottr_status store_span_metrics(store_view v, uint32_t from, uint32_t to, bool hours,
                               const char *service, store_span_series_fn fn, void *ctx);

/* ---- operations ---- */

/* Writes a consistent RocksDB checkpoint (hard links) of the live store into
 * |dir|, which must not exist. Restore = start ottrd with --data-dir |dir|. */
ottr_status store_checkpoint(store *s, const char *dir, char *err, size_t errlen);

/* Appends ottr_store_* metrics (write stalls, pending compaction bytes, block
 * cache hits and misses, SST sizes per family, write errors). */
void store_render_metrics(store *s, ottr_buf *out);

/* True while writes fail (the receivers answer UNAVAILABLE / 503). */
bool store_write_failing(store *s);

/* Tests: make every write fail (|on| = true) until called with false. */
void store_inject_write_error(store *s, bool on);

/* Runs a manual compaction of every family (tests of retention). */
ottr_status store_compact(store *s);

#endif /* OTTR_STORE_H */
