/* collector/collector.h - the pieces of the ottrd daemon and how main.c wires them:
 * one configuration table gives every component its options; the OTLP receivers
 * (gRPC :4317, HTTP :4318) hand decoded batches to one ingest entry point; the
 * query ports (:3200 Tempo API + /metrics + /ready, :16686 Jaeger API) route
 * requests onto query/; the Zipkin port (:9411) does both for Zipkin; the admin
 * port (127.0.0.1:3201) writes checkpoints. Every port can serve TLS and check
 * credentials (security.c). Private to the daemon. */
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
/* The TLS and authentication keys of one listener (<listener>.tls.*,
 * <listener>.auth.*); file names NULL when not set. */
typedef struct ottr_listener_security {
    char *cert_file;      /* tls.cert_file */
    char *key_file;       /* tls.key_file */
    char *client_ca_file; /* tls.client_ca_file */
    int min_version;      /* tls.min_version: 0 TLS 1.2, 1 TLS 1.3 */
    int auth_type;        /* auth.type: an http_auth_type */
    char *auth_file;      /* auth.file */
} ottr_listener_security;

typedef struct ottr_config {
    char *data_dir;               /* data_dir */
    int multitenancy;             /* multitenancy_enabled: 0 or 1 */
    int log_level;                /* log_level: an ottr_log_level */
    char *grpc_addr;              /* grpc.addr */
    uint64_t grpc_max_recv_bytes; /* grpc.max_recv_msg_size */
    int grpc_threads;             /* grpc.threads ("auto" resolved to a count) */
    char *http_addr;              /* http.addr */
    uint64_t http_max_body_bytes; /* http.max_body_size */
    int http_threads;             /* http.threads */
    char *query_addr;             /* query.addr */
    char *jaeger_addr;            /* jaeger.addr */
    char *admin_addr;             /* admin.addr */
    char *zipkin_addr;            /* zipkin.addr */
    char *admin_backup_dir;       /* admin.backup_dir; NULL: <data_dir>/backups */
    ottr_listener_security grpc_sec, http_sec, query_sec, jaeger_sec, admin_sec, zipkin_sec;
    int query_max_concurrent;  /* query.max_concurrent: query threads */
    uint64_t query_max_queued; /* query.max_queued */
    uint64_t query_timeout_ns; /* query.timeout */
    uint64_t query_max_bytes;  /* query.max_bytes_inspected */

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
    /* overrides.defaults.*: every tenant's limits unless overridden. */
    sampler_tenant_limits tenant_limits;
    /* overrides.per_tenant as written (points into |yaml|), and parsed with the
     * defaults filled in (owned; overrides.c). */
    const ottr_yaml_node *per_tenant;
    sampler_tenant_override *overrides;
    size_t noverrides;

    /* Kafka mode (cluster/): what this node does and where the brokers are. */
    int role;                          /* role: a collector_role */
    char *kafka_brokers;               /* kafka.brokers; NULL: not set */
    char *kafka_topic;                 /* kafka.topic */
    char *kafka_group;                 /* kafka.group */
    uint64_t kafka_produce_timeout_ns; /* kafka.produce_timeout */
    uint64_t kafka_commit_interval_ns; /* kafka.commit_interval */
    uint64_t kafka_session_timeout_ns; /* kafka.session_timeout */
    char *query_peers;                 /* query.peers: store nodes' query ports; NULL: none */
    char *jaeger_peers;                /* jaeger.peers: store nodes' Jaeger ports; NULL: none */

    uint64_t given[4];    /* bit i: key i of the table was set by the file or a flag */
    char *source;         /* config file path, or NULL */
    ottr_yaml_node *yaml; /* the parsed file, or NULL; owns |policies| */
} ottr_config;

/* What one ottrd does (the role key). */
typedef enum collector_role {
    ROLE_ALL = 0,      /* receive, sample and store in one process, no Kafka (the default) */
    ROLE_RECEIVER = 1, /* receive OTLP and produce it to Kafka */
    ROLE_STORE = 2,    /* consume a share of the partitions, sample and store; also receives */
    ROLE_QUERY = 3,    /* answer queries from the store nodes (query.peers) */
} collector_role;

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

/* ---- overrides.per_tenant (overrides.c) ---- */

/* Parses c->per_tenant into c->overrides, each tenant's values over
 * c->tenant_limits. Returns 0, or -1 with "<where>:<line>: overrides.per_tenant.
 * <tenant>...: problem" in |err|. */
int collector_overrides_load(ottr_config *c, const char *where, char *err, size_t errlen);
void collector_overrides_free(ottr_config *c);

/* ---- tenants (tenant.c) ---- */

/* Whether |name| (|len| bytes) is a valid tenant ID as Tempo takes them: 1 to
 * 150 bytes of letters, digits and ! - _ . * ' ( ), and neither "." nor "..". */
bool collector_tenant_valid(const char *name, size_t len);

typedef enum tenant_verdict {
    TENANT_OK = 0,
    TENANT_MISSING,   /* tenancy on, no header and no bound tenant: 401 / UNAUTHENTICATED */
    TENANT_INVALID,   /* the header is not a valid tenant ID: 400 / INVALID_ARGUMENT */
    TENANT_FORBIDDEN, /* a credential bound to another tenant: 403 / PERMISSION_DENIED */
    TENANT_FAILED,    /* the registry could not take it: 503 / UNAVAILABLE */
} tenant_verdict;

/* What every receiver and route needs to settle a request's tenant. */
typedef struct tenant_ctx {
    store *st;
    bool enabled; /* multitenancy_enabled */
} tenant_ctx;

/* THE tenant resolution, used by every receiver and route. |header| is the
 * X-Scope-OrgID header (gRPC metadata x-scope-orgid; NULL when absent) of
 * |hlen| bytes; |bound| the tenant the request's credential is bound to (NULL:
 * none). With tenancy off every request is the implicit tenant and the header
 * is ignored. With it on: the header names the tenant; a bound credential with
 * no header is its tenant, with a header naming another one it is refused.
 * |create|: ingest registers a new name; a query for a name never written gets
 * STORE_TENANT_NONE (it finds nothing). On TENANT_OK sets |*id|; otherwise
 * writes why to |msg| and counts the refusal (ottr_tenant_refused_requests_total). */
tenant_verdict collector_tenant_resolve(const tenant_ctx *tc, const char *header, size_t hlen,
                                        const char *bound, bool create, uint32_t *id, char *msg,
                                        size_t msglen);
/* collector_tenant_resolve for an HTTP request: its X-Scope-OrgID header and the
 * tenant its credential is bound to (http_request.principal). */
tenant_verdict collector_tenant_of_request(const tenant_ctx *tc, const http_request *req,
                                           bool create, uint32_t *id, char *msg, size_t msglen);
/* The HTTP status and gRPC code of a refusal. */
int collector_tenant_http_status(tenant_verdict v);
int collector_tenant_grpc_code(tenant_verdict v);

/* ---- the config handed to the store and the sampler (options.c) ---- */

/* Fills |o| from |c|; o->path points into |c|. */
void collector_config_to_store_options(const ottr_config *c, store_options *o);
/* Fills |o| from |c|; o->policies points into |c|. */
void collector_config_to_sampler_options(const ottr_config *c, sampler_options *o);
/* Fills |l| with the HTTP connection limits of |c|; |max_conns| is the port's
 * own cap (http.max_conns or query.max_conns). */
void collector_config_to_http_limits(const ottr_config *c, uint64_t max_conns, http_limits *l);

/* ---- TLS and authentication of the listeners (security.c) ---- */

typedef enum collector_listener {
    LISTENER_GRPC,
    LISTENER_HTTP,
    LISTENER_QUERY,
    LISTENER_JAEGER,
    LISTENER_ADMIN,
    LISTENER_ZIPKIN,
    COLLECTOR_NLISTENERS
} collector_listener;

/* Each listener's TLS files and credentials, from the config. */
typedef struct collector_security {
    int has_tls[COLLECTOR_NLISTENERS];
    http_tls_options tls[COLLECTOR_NLISTENERS]; /* file names point into the config */
    http_auth *auth[COLLECTOR_NLISTENERS];      /* never NULL after init (type none) */
} collector_security;

/* "grpc", "http", "query", "jaeger", "admin": the prefix of its keys. */
const char *collector_listener_name(collector_listener l);
/* 1 when |addr| binds a loopback address only (127.0.0.0/8, ::1, localhost). */
int collector_addr_is_loopback(const char *addr);
/* Checks the TLS and auth keys that go together (cert and key; mtls needs a
 * client CA; an admin port off loopback needs authentication). 0 or -1 with why. */
int collector_security_check(const ottr_config *c, char *err, size_t errlen);
/* Checks, then loads every listener's credentials. 0 or -1 with why. */
int collector_security_init(collector_security *sec, const ottr_config *c, char *err,
                            size_t errlen);
void collector_security_free(collector_security *sec);
/* Logs a warning for each listener off loopback without authentication. */
void collector_security_warn(const ottr_config *c, const collector_security *sec);
/* Reloads every credential file (SIGHUP); a failed one keeps its old
 * credentials and is logged. Returns 0, or -1 when some failed. */
int collector_security_reload(collector_security *sec);
/* The query port's http_auth_fn over |ctx| = http_auth: /ready is open. */
int collector_query_auth(void *ctx, const http_request *req, const char *peer, http_principal *who,
                         http_response *resp);

/* ---- the ingest entry point ---- */

/* Takes a request's spans grouped by trace. Returns OTTR_OK (accepted: durable,
 * acknowledge), OTTR_ERR_BUSY (back-pressure: UNAVAILABLE with RetryInfo / HTTP
 * 503 or 429 with Retry-After) or another error (failed: UNAVAILABLE / 503).
 * Called concurrently from receiver threads. */
typedef ottr_status (*ottr_ingest_fn)(void *ctx, const otlp_batch *b);
/* Asked before a protobuf request is decoded, with its traces' distinct IDs:
 * true when the ingest entry point would push it back anyway, so the receiver
 * answers at once instead of decoding it first. Optional (NULL: never). */
typedef bool (*ottr_admit_fn)(void *ctx, uint32_t tenant, const uint8_t (*tids)[16], size_t n);

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
    INGEST_LIMITED,     /* over the tenant's limits: 429 / RESOURCE_EXHAUSTED, retry later */
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
/* The counters of |protocol| labelled with tenant |tenant| (its name looked up
 * in |st|) as well; made at the tenant's first request. NULL when out of memory. */
const ingest_counters *collector_ingest_counters_tenant(const char *protocol, store *st,
                                                        uint32_t tenant);

/* Decodes the export request |body| (|len| bytes, already decompressed) in
 * |enc| into |arena| (its limit decides INGEST_TOO_LARGE), groups its spans by
 * trace and hands them to |fn|, then fills |r| and adds the span counts to |c|.
 * Spans over |limits| (NULL: none) are rejected (INGEST_PARTIAL); a request of
 * more than limits->max_spans_per_request spans is refused whole
 * (INGEST_TOO_LARGE, its spans counted as rejected). Protobuf bodies are grouped
 * from their own bytes: |body| must stay valid during the call. The arena is
 * left as it is: the caller resets or frees it. */
void collector_ingest_export(ottr_ingest_fn fn, ottr_admit_fn would_push_back, void *ctx,
                             uint32_t tenant, const ingest_counters *c, const otlp_limits *limits,
                             ottr_arena *arena, ingest_encoding enc, const uint8_t *body,
                             size_t len, ingest_result *r);

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
    tenant_ctx tenants; /* how a call's tenant is settled */
    /* Connection limits in milliseconds; 0 = none (gRPC core's own default). */
    uint64_t max_conn_idle_ms;
    uint64_t max_conn_age_ms;
    uint64_t max_conn_age_grace_ms;
    uint64_t keepalive_time_ms;
    const http_tls_options *tls; /* NULL: plain text (min_tls13 is not supported) */
    http_auth *auth;             /* NULL: every call is taken */
} otlp_grpc_options;

ottr_status collector_grpc_start(const otlp_grpc_options *o, otlp_grpc **out, char *err,
                                 size_t errlen);
int collector_grpc_port(const otlp_grpc *g);
/* Stops accepting, drains calls in flight, joins threads, frees. */
void collector_grpc_stop(otlp_grpc *g);
/* Reads the TLS files again for new connections; open ones keep theirs. 0 (also
 * without TLS), or -1 with why in |err|: the old files stay in use. */
int collector_grpc_reload_tls(otlp_grpc *g, char *err, size_t errlen);

/* ---- OTLP/HTTP receiver (otlp_http.c): the handler of the :4318 server ---- */

typedef struct otlp_http_ctx {
    ottr_ingest_fn ingest;
    ottr_admit_fn would_push_back; /* may be NULL */
    void *ingest_ctx;
    uint64_t max_body_bytes; /* also the limit after gunzip; not 0 */
    otlp_limits limits;      /* what one request may carry */
    tenant_ctx tenants;      /* how a request's tenant is settled */
} otlp_http_ctx;

void collector_http_handle(void *ctx /* otlp_http_ctx */, const http_request *req,
                           http_response *resp);
/* The OTLP/HTTP port's http_auth_fn over |ctx| = http_auth: a refusal is a 401
 * whose body is a google.rpc.Status (UNAUTHENTICATED) in the request's encoding. */
int collector_otlp_http_auth(void *ctx, const http_request *req, const char *peer,
                             http_principal *who, http_response *resp);

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
    tenant_ctx tenants; /* how a query's tenant is settled */
    atomic_bool ready;  /* set once listening, cleared at shutdown */
    const ottr_config *cfg;
    collector_query_pool *pool;   /* NULL: queries run on the loop threads */
    sampler *smp;                 /* for /health; may be NULL */
    atomic_bool grpc_up, http_up; /* the OTLP receivers listen */
    const char *backup_dir;       /* absolute: where checkpoints go (admin port) */
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

/* The store view of |req|'s tenant (X-Scope-OrgID, collector_tenant_resolve;
 * a name never written sees nothing) into |*v|; or answers |req| through
 * |refuse| with the refusal's status (401, 400, 403, 503) and returns false. */
bool collector_routes_view(const ottrd_query_ctx *q, const http_request *req, http_response *resp,
                           collector_refuse_fn refuse, store_view *v);

/* :3200 - the web UI (routes_ui.c): answers GET / and /ui/... with the embedded
 * files and returns 1, or returns 0 for any other path. */
int collector_routes_ui(const http_request *req, http_response *resp);
/* 1 for the paths of the web UI's files: open without credentials, as they hold
 * no data (the UI sends the credential on its API calls). */
int collector_routes_ui_path(const char *path);
/* :3200 - Tempo API (routes_tempo.c), plus /ready, /health, /metrics, /api/echo,
 * /api/status/buildinfo, native /api/service-graph, admin endpoints. */
void collector_routes_tempo_handle(void *ctx /* ottrd_query_ctx */, const http_request *req,
                                   http_response *resp);
/* A protobuf-c message of type |d| filled from the JSON object |json| (|len|
 * bytes) as protobuf's JSON mapping has it (json_pb.c), allocated from |a|
 * (the caller frees the arena after packing it). NULL when |json| is not a
 * JSON object or |a| ran out of memory. */
struct ProtobufCMessageDescriptor;
void *collector_json_to_pb(ottr_arena *a, const struct ProtobufCMessageDescriptor *d,
                           const char *json, size_t len);

/* :3200 gRPC - Tempo's tempopb.StreamingQuerier (tempo_grpc.c): Search,
 * SearchTags(V2), SearchTagValues(V2), MetricsQueryRange, MetricsQueryInstant,
 * on the query threads; other methods answer UNIMPLEMENTED. |req| is a gRPC
 * call (http_grpc_is). */
void collector_tempo_grpc_handle(ottrd_query_ctx *q, const http_request *req, http_response *resp);
/* admin.addr - checkpoints under |backup_dir| by name, /ready, /health,
 * /metrics (routes_admin.c). */
void collector_routes_admin_handle(void *ctx /* ottrd_query_ctx */, const http_request *req,
                                   http_response *resp);
/* 1 when |name| may name a checkpoint: [A-Za-z0-9._-]+, 1 to 128 bytes, not
 * starting with a dot. */
int collector_backup_name_ok(const char *name);
/* Kafka mode (fanout.c): whether |req| on the query port (|jaeger|: the Jaeger
 * port) is answered from every store node of query.peers (jaeger.peers): they
 * are set, and it is not itself a peer's request. */
bool collector_fanout_wanted(const ottrd_query_ctx *q, const http_request *req, bool jaeger);
/* The collector_query_fns that ask those peers at once and merge their answers. */
void collector_fanout_tempo(void *ctx /* ottrd_query_ctx */, const http_request *req,
                            http_response *resp, const query_budget *b);
void collector_fanout_jaeger(void *ctx /* ottrd_query_ctx */, const http_request *req,
                             http_response *resp, const query_budget *b);

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
