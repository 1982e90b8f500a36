/* collector/collector.h - the pieces of the ottrd daemon and how main.c wires them:
 * one configuration table gives every component its options; the OTLP receivers
 * (gRPC :4317, HTTP :4318) hand decoded batches to one ingest entry point; the
 * query ports (:3200 Tempo API + /metrics + /ready, :16686 Jaeger API) route
 * requests onto query/; the Zipkin port (:9411) does both for Zipkin. Private
 * to the daemon. */
#ifndef OTTR_COLLECTOR_H
#define OTTR_COLLECTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"
#include "http/http.h"
#include "query/query.h"
#include "sampler/sampler.h"
#include "store/store.h"

/* ---- configuration (config.c) ---- */

/* The daemon's whole configuration. config.c holds one table of every key (its
 * dotted name, type, field, default, bounds and meaning): collector_config_init()
 * takes the defaults from it, then the YAML file and the command-line flags
 * override them, each value checked against the key's bounds. Strings are owned
 * by the config and freed by collector_config_free(). */
typedef struct ottr_config {
    char *data_dir;               /* data_dir */
    int log_level;                /* log_level: an ottr_log_level */
    char *grpc_addr;              /* grpc.addr */
    uint64_t grpc_max_recv_bytes; /* grpc.max_recv_msg_size */
    int grpc_threads;             /* grpc.threads ("auto" resolved to a count) */
    char *http_addr;              /* http.addr */
    uint64_t http_max_body_bytes; /* http.max_body_size */
    int http_threads;             /* http.threads */
    char *query_addr;             /* query.addr */
    char *jaeger_addr;            /* jaeger.addr */
    char *zipkin_addr;            /* zipkin.addr */
    int query_max_concurrent;     /* query.max_concurrent: query threads */
    uint64_t query_max_queued;    /* query.max_queued */
    uint64_t query_timeout_ns;    /* query.timeout */
    uint64_t query_max_bytes;     /* query.max_bytes_inspected */

    /* Connection limits of every HTTP port (OTLP/HTTP, query, Jaeger). */
    uint64_t http_request_timeout_ns;  /* http.request_timeout */
    uint64_t http_idle_timeout_ns;     /* http.idle_timeout */
    uint64_t http_min_body_rate;       /* http.min_body_rate, bytes/s (0 = none) */
    uint64_t http_body_rate_window_ns; /* http.body_rate_window */
    uint64_t http_max_conns;           /* http.max_conns (OTLP/HTTP) */
    uint64_t http_max_conns_per_ip;    /* http.max_conns_per_ip (0 = no cap) */
    uint64_t query_max_conns;          /* query.max_conns (query and Jaeger ports each) */
    /* Connection limits of the gRPC port (0 = none). */
    uint64_t grpc_max_conn_idle_ns;      /* grpc.max_connection_idle */
    uint64_t grpc_max_conn_age_ns;       /* grpc.max_connection_age */
    uint64_t grpc_max_conn_age_grace_ns; /* grpc.max_connection_age_grace */
    uint64_t grpc_keepalive_time_ns;     /* grpc.keepalive_time */

    int store_sync;                    /* store.sync: a store_sync_policy */
    uint64_t store_sync_interval_ns;   /* store.sync_interval */
    uint64_t store_retention_ns;       /* store.retention (0 = keep everything) */
    uint64_t store_max_trace_bytes;    /* store.max_trace_bytes */
    uint64_t store_block_cache_bytes;  /* store.block_cache_size */
    uint64_t store_memtable_bytes;     /* store.memtable_size */
    uint64_t store_disk_reserve_bytes; /* store.disk_reserve */

    otlp_limits limits; /* limits.*: what one export request may carry */

    uint64_t decision_wait_ns;            /* sampling.decision_wait */
    uint64_t decision_wait_after_root_ns; /* sampling.decision_wait_after_root */
    uint64_t max_spans_per_trace;         /* sampling.max_spans_per_trace */
    uint64_t max_trace_bytes;             /* sampling.max_trace_bytes */
    uint64_t max_buffered_traces;         /* sampling.max_buffered_traces */
    uint64_t max_memory_bytes;            /* sampling.max_memory */
    uint64_t decision_cache_size;         /* sampling.decision_cache_size (kept and dropped each) */
    /* sampling.policies, exactly as written (the sampler parses and checks it);
     * NULL when absent. Points into |yaml|. */
    const ottr_yaml_node *policies;

    uint64_t given;       /* bit i: key i of the table was set by the file or a flag */
    char *source;         /* config file path, or NULL */
    ottr_yaml_node *yaml; /* the parsed file, or NULL; owns |policies| */
} ottr_config;

/* Fills |c| with the defaults of the table. Returns 0, or -1 on out of memory
 * (or a default that fails its own key's checks: a bug). */
int collector_config_init(ottr_config *c);
/* Loads a YAML file over the current values. On error returns -1 and writes a
 * message naming the file, key and line to |err| ("config.yaml:7: grpc.addr: bad
 * address \"x\" (want host:port)"). Unknown keys and values out of a key's
 * bounds are errors; values before the error may have been applied. */
int collector_config_load_file(ottr_config *c, const char *path, char *err, size_t errlen);
int collector_config_load_string(ottr_config *c, const char *text, char *err, size_t errlen);
/* Sets one key by its dotted name ("grpc.addr", "store.retention") from a string
 * value, as a flag does. Errors are reported as for files, naming the key. */
int collector_config_set(ottr_config *c, const char *key, const char *value, char *err,
                         size_t errlen);
void collector_config_free(ottr_config *c);

/* One key of the table as --help-config and docs/CONFIG.md show it. */
typedef struct ottr_config_doc {
    const char *name; /* dotted name */
    char type[64];    /* "size", "duration", "debug|info|warn|error", ... */
    char range[64];   /* the bounds ("1KiB to 1GiB"), or "" */
    const char *def;  /* the default as written in a file, the name of the key
                       * whose value it takes, or NULL (none) */
    const char *help; /* what it is for, one line */
} ottr_config_doc;

/* Describes key |i| of the table. Returns 0, or -1 when |i| is past the last. */
int collector_config_doc_get(size_t i, ottr_config_doc *out);
/* Prints every key with its type, bounds, default and meaning. */
void collector_config_print_help(FILE *out);

/* ---- the config handed to the store and the sampler (options.c) ---- */

/* Fills |o| from |c|; o->path points into |c|. */
void collector_config_to_store_options(const ottr_config *c, store_options *o);
/* Fills |o| from |c|; o->policies points into |c|. */
void collector_config_to_sampler_options(const ottr_config *c, sampler_options *o);
/* Fills |l| with the HTTP connection limits of |c|; |max_conns| is the port's
 * own cap (http.max_conns or query.max_conns). */
void collector_config_to_http_limits(const ottr_config *c, uint64_t max_conns, http_limits *l);

/* ---- the ingest entry point ---- */

/* Takes a request's spans grouped by trace. Returns OTTR_OK (accepted: durable,
 * acknowledge), OTTR_ERR_BUSY (back-pressure: UNAVAILABLE with RetryInfo / HTTP
 * 503 or 429 with Retry-After) or another error (failed: UNAVAILABLE / 503).
 * Called concurrently from receiver threads. */
typedef ottr_status (*ottr_ingest_fn)(void *ctx, const otlp_batch *b);
/* Asked before a protobuf request is decoded, with its traces' distinct IDs:
 * true when the ingest entry point would push it back anyway, so the receiver
 * answers at once instead of decoding it first. Optional (NULL: never). */
typedef bool (*ottr_admit_fn)(void *ctx, const uint8_t (*tids)[16], size_t n);

/* Seconds a client is told to wait when pushed back. */
#define OTTR_RETRY_AFTER_SECONDS 1

/* ---- one export request, whatever the transport (ingest.c) ---- */

typedef enum ingest_encoding {
    INGEST_PROTOBUF = 0,     /* OTLP ExportTraceServiceRequest */
    INGEST_JSON = 1,         /* OTLP/JSON */
    INGEST_ZIPKIN_JSON = 2,  /* Zipkin v2 JSON span list */
    INGEST_ZIPKIN_PROTO = 3, /* Zipkin v2 protobuf ListOfSpans */
    INGEST_ZIPKIN_V1 = 4,    /* Zipkin v1 JSON span list */
} ingest_encoding;

/* How a request ended; each receiver maps it onto its protocol. */
typedef enum ingest_outcome {
    INGEST_OK,          /* every span accepted (or there were none) */
    INGEST_PARTIAL,     /* some spans rejected (invalid, over a limit), the others accepted */
    INGEST_INVALID,     /* the body does not decode: nothing taken, do not retry */
    INGEST_TOO_LARGE,   /* decoding passed the arena's limit, or more spans than
                         * limits.max_spans_per_request: do not retry */
    INGEST_BUSY,        /* the ingest entry point pushed back: retry later */
    INGEST_UNAVAILABLE, /* out of memory or the store failed: retry later */
} ingest_outcome;

typedef struct ingest_result {
    ingest_outcome outcome;
    size_t accepted;   /* spans handed to ingest and taken */
    size_t rejected;   /* spans left out for invalid IDs or over a limit (partial success),
                        * or all of them past limits.max_spans_per_request */
    size_t refused;    /* valid spans not taken: pushed back or failed */
    int retry_after_s; /* > 0 for INGEST_BUSY and INGEST_UNAVAILABLE */
    char message[512]; /* why, for every outcome but INGEST_OK; may hold any byte */
} ingest_result;

/* The ottr_receiver_spans_total{protocol,result} and
 * ottr_receiver_spans_rejected_total{protocol,reason} series of one receiver. */
typedef struct ingest_counters {
    ottr_counter *accepted, *rejected, *refused;
    ottr_counter *rejected_by[OTLP_REJECT_NREASONS];
} ingest_counters;

/* Looks up the span counters for |protocol| ("grpc", "http"). */
void collector_ingest_counters_init(ingest_counters *c, const char *protocol);

/* Decodes the export request |body| (|len| bytes, already decompressed) in
 * |enc| into |arena| (its limit decides INGEST_TOO_LARGE), groups its spans by
 * trace and hands them to |fn|, then fills |r| and adds the span counts to |c|.
 * Spans over |limits| (NULL: none) are rejected (INGEST_PARTIAL); a request of
 * more than limits->max_spans_per_request spans is refused whole
 * (INGEST_TOO_LARGE, its spans counted as rejected). Protobuf bodies are grouped
 * from their own bytes: |body| must stay valid during the call. The arena is
 * left as it is: the caller resets or frees it. */
void collector_ingest_export(ottr_ingest_fn fn, ottr_admit_fn would_push_back, void *ctx,
                             const ingest_counters *c, const otlp_limits *limits, ottr_arena *arena,
                             ingest_encoding enc, const uint8_t *body, size_t len,
                             ingest_result *r);

/* The counters of one HTTP span receiver (receiver_metrics.c), labelled with
 * its protocol ("http", "zipkin"): ottr_receiver_requests_total{code} for each
 * of |codes| (others as "other"), ottr_receiver_bad_requests_total{reason},
 * the span counters and ottr_receiver_bytes_total. */
#define RECEIVER_MAX_CODES   12
#define RECEIVER_MAX_REASONS 12
typedef struct receiver_metrics {
    const int *codes;
    size_t ncodes;
    ottr_counter *requests[RECEIVER_MAX_CODES];
    ottr_counter *requests_other;
    ottr_counter *bad[RECEIVER_MAX_REASONS]; /* by the index of the reason */
    ingest_counters spans;
    ottr_counter *bytes;
} receiver_metrics;

/* Looks the counters up; |codes| must outlive |m|. */
void collector_receiver_metrics_init(receiver_metrics *m, const char *protocol, const int *codes,
                                     size_t ncodes, const char *const *reasons, size_t nreasons);
/* Counts one request answered |status|. */
void collector_receiver_metrics_count(receiver_metrics *m, int status);

/* ---- google.rpc.Status error bodies (rpc_status.c) ---- */

/* Appends a serialized google.rpc.Status {code, message} to |out|; when
 * |retry_after_s| > 0 its details hold a google.rpc.RetryInfo with that delay
 * (type URL type.googleapis.com/google.rpc.RetryInfo). |code| is a gRPC code.
 * Returns 0 or -1 (out of memory). */
int collector_rpc_status_pack(int code, const char *message, int retry_after_s, ottr_buf *out);
/* The same in OTLP/JSON: {"code":N,"message":"...","details":[{"@type":
 * "type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]}. */
void collector_rpc_status_json(int code, const char *message, int retry_after_s, ottr_buf *out);

/* ---- OTLP/gRPC receiver (otlp_grpc.c) ---- */

typedef struct otlp_grpc otlp_grpc;
typedef struct otlp_grpc_options {
    const char *addr;        /* "host:port", port 0 = pick one */
    int threads;             /* completion queues, one thread each; at least 1 */
    uint64_t max_recv_bytes; /* decompressed message limit; not 0 */
    ottr_ingest_fn ingest;
    ottr_admit_fn would_push_back; /* may be NULL */
    void *ingest_ctx;
    otlp_limits limits; /* what one request may carry */
    /* Connection limits in milliseconds; 0 = none (gRPC core's own default). */
    uint64_t max_conn_idle_ms;
    uint64_t max_conn_age_ms;
    uint64_t max_conn_age_grace_ms;
    uint64_t keepalive_time_ms;
} otlp_grpc_options;

ottr_status collector_grpc_start(const otlp_grpc_options *o, otlp_grpc **out, char *err,
                                 size_t errlen);
int collector_grpc_port(const otlp_grpc *g);
/* Stops accepting, drains calls in flight, joins threads, frees. */
void collector_grpc_stop(otlp_grpc *g);

/* ---- OTLP/HTTP receiver (otlp_http.c): the handler of the :4318 server ---- */

typedef struct otlp_http_ctx {
    ottr_ingest_fn ingest;
    ottr_admit_fn would_push_back; /* may be NULL */
    void *ingest_ctx;
    uint64_t max_body_bytes; /* also the limit after gunzip; not 0 */
    otlp_limits limits;      /* what one request may carry */
} otlp_http_ctx;

void collector_http_handle(void *ctx /* otlp_http_ctx */, const http_request *req,
                           http_response *resp);

/* ---- query threads (query_pool.c) ---- */

/* Runs one query on a query thread: answers |req| into |resp| within |b| (NULL:
 * no budget). */
typedef void (*collector_query_fn)(void *ctx, const http_request *req, http_response *resp,
                                   const query_budget *b);
/* Answers |req| with error |status| (429, 503) and |msg| in the API's format. */
typedef void (*collector_refuse_fn)(const http_request *req, http_response *resp, int status,
                                    const char *msg);

typedef struct collector_query_pool collector_query_pool;
typedef struct collector_query_pool_options {
    int threads;         /* queries run at once (query.max_concurrent), >= 1 */
    uint64_t max_queued; /* queries waiting (query.max_queued) */
    uint64_t timeout_ns; /* each query's deadline (query.timeout) */
    uint64_t max_bytes;  /* each query's bytes inspected (query.max_bytes_inspected) */
} collector_query_pool_options;

/* Starts the threads. OTTR_OK, OTTR_ERR_INVALID, OTTR_ERR_NOMEM or OTTR_ERR_IO. */
ottr_status collector_query_pool_start(const collector_query_pool_options *o,
                                       collector_query_pool **out);
/* Called by a query port's handler on its loop thread: defers |req| and queues
 * |run| for a query thread, or answers at once through |refuse| (429 with
 * Retry-After past the limits, 503 when stopping). With |p| NULL, or a request
 * that is not from a server, |run| runs at once without a budget. */
void collector_query_pool_submit(collector_query_pool *p, const http_request *req,
                                 http_response *resp, collector_query_fn run,
                                 collector_refuse_fn refuse, void *ctx);
void collector_query_pool_stats(collector_query_pool *p, size_t *running, size_t *queued);
/* Refuses what waits (503), cancels what runs, joins the threads. Submitting
 * stays safe (503) until collector_query_pool_free(). */
void collector_query_pool_stop(collector_query_pool *p);
void collector_query_pool_free(collector_query_pool *p);

/* ---- query ports ---- */

typedef struct ottrd_query_ctx {
    store *st;
    atomic_bool ready; /* set once listening, cleared at shutdown */
    const ottr_config *cfg;
    collector_query_pool *pool;   /* NULL: queries run on the loop threads */
    sampler *smp;                 /* for /health; may be NULL */
    atomic_bool grpc_up, http_up; /* the OTLP receivers listen */
} ottrd_query_ctx;

/* Whether ottrd can take data now: 1, or 0 with why in |why| ("store writes
 * failing", "shutting down"). What /ready answers. */
int collector_ready(ottrd_query_ctx *q, char *why, size_t whylen);
/* /health: the JSON detail per component (store, sampler, receivers, queries);
 * returns the HTTP status, 200 when collector_ready() holds, else 503. */
int collector_health_json(ottrd_query_ctx *q, ottr_buf *out);
/* Counts a search that stopped early, by reason (ottr_query_partial_total). */
void collector_query_note_cut(query_cut cut);

/* The HTTP status of a query/ result (routes.c): 200, 400 (OTTR_ERR_INVALID),
 * 404 (OTTR_ERR_NOTFOUND), 409 (OTTR_ERR_EXISTS), 503 (OTTR_ERR_BUSY) or 500. */
int collector_routes_http_status(ottr_status st);
/* Returns the HTTP status of |st|. On 200 sets the response's status and
 * Content-Type |type| (the body is the query's); otherwise the caller writes the
 * error |err| in its API's format (a 500 is logged here). */
int collector_routes_finish(http_response *resp, ottr_status st, const char *err, const char *type);

/* :3200 - Tempo API (routes_tempo.c), plus /ready, /health, /metrics, /api/echo,
 * /api/status/buildinfo, native /api/service-graph, admin endpoints. */
void collector_routes_tempo_handle(void *ctx /* ottrd_query_ctx */, const http_request *req,
                                   http_response *resp);
/* :16686 - Jaeger query API (routes_jaeger.c). */
void collector_routes_jaeger_handle(void *ctx /* ottrd_query_ctx */, const http_request *req,
                                    http_response *resp);

/* :9411 - Zipkin (zipkin.c): POST /api/v2/spans into ingest, Zipkin's v2
 * query API on the query threads. */
typedef struct zipkin_ctx {
    otlp_http_ctx ingest; /* limits and body size as the OTLP/HTTP port */
    ottrd_query_ctx *q;
} zipkin_ctx;
void collector_zipkin_handle(void *ctx /* zipkin_ctx */, const http_request *req,
                             http_response *resp);

/* Renders /metrics: the registry plus process metrics (process_*). */
void collector_metrics_render_all(ottr_buf *out);
/* Records the process start time; call once at start-up. */
void collector_metrics_process_init(void);

#endif /* OTTR_COLLECTOR_H */
