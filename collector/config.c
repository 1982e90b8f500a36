/* collector/config.c - the daemon configuration as one table: every key's
 * dotted name, type, field, default, bounds and meaning. Defaults, the YAML file,
 * the flags, validation and --help-config all go through it. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/collector.h"

#define KiB  1024ull
#define MiB  (1024ull * KiB)
#define GiB  (1024ull * MiB)
#define MS   1000000ull
#define SEC  (1000ull * MS)
#define HOUR (3600ull * SEC)

#define MAX_COUNT        100000000ull /* for counts of traces, spans and decisions */
#define MAX_THREADS      256
#define AUTO_THREADS_MIN 2 /* "auto": the number of cores, within these */
#define AUTO_THREADS_MAX 16

typedef enum key_type {
    KEY_STRING,   /* any non-empty text (char *) */
    KEY_ADDR,     /* host:port (char *) */
    KEY_ENUM,     /* one of the names of |e|, stored as its index (int) */
    KEY_DURATION, /* Go-style duration, stored in nanoseconds (uint64_t) */
    KEY_SIZE,     /* bytes, or with a unit such as MiB (uint64_t) */
    KEY_COUNT,    /* a whole number (uint64_t) */
    KEY_THREADS,  /* "auto" or a whole number (int) */
    KEY_POLICIES, /* a YAML list kept as written; the sampler checks it */
    KEY_TENANTS,  /* a YAML map of tenant -> limits (overrides.c checks it) */
} key_type;

typedef struct key_enum {
    const char *what;           /* for messages: "log level" */
    const char *const names[5]; /* index = stored value; ends with NULL */
} key_enum;

typedef struct key_def {
    const char *name; /* dotted path */
    key_type type;
    size_t offset; /* of the field in ottr_config */
    /* The default as written in a file; or the name of another key of the same
     * type, whose value this one takes while not given itself; NULL = none. */
    const char *def;
    uint64_t min, max; /* inclusive bounds of durations, sizes, counts, threads */
    const key_enum *e; /* KEY_ENUM */
    const char *help;  /* one line for --help-config and docs/CONFIG.md */
} key_def;

static const key_enum log_levels = {"log level", {"debug", "info", "warn", "error", NULL}};
static const key_enum sync_policies = {"sync policy", {"none", "interval", "always", NULL}};
static const key_enum tls_versions = {"TLS version", {"1.2", "1.3", NULL}};
static const key_enum auth_types = {"authentication type",
                                    {"none", "bearer", "basic", "mtls", NULL}};
static const key_enum roles = {"role", {"all", "receiver", "store", "query", NULL}};
static const key_enum booleans = {"boolean", {"false", "true", NULL}};

/* The enums are stored as indexes into the names above. */
_Static_assert(OTTR_LOG_DEBUG == 0 && OTTR_LOG_INFO == 1 && OTTR_LOG_WARN == 2 &&
                   OTTR_LOG_ERROR == 3,
               "log_levels order");
_Static_assert(STORE_SYNC_NONE == 0 && STORE_SYNC_INTERVAL == 1 && STORE_SYNC_ALWAYS == 2,
               "sync_policies order");
_Static_assert(ROLE_ALL == 0 && ROLE_RECEIVER == 1 && ROLE_STORE == 2 && ROLE_QUERY == 3,
               "roles order");
_Static_assert(HTTP_AUTH_NONE == 0 && HTTP_AUTH_BEARER == 1 && HTTP_AUTH_BASIC == 2 &&
                   HTTP_AUTH_MTLS == 3,
               "auth_types order");

#define OFF(f) offsetof(ottr_config, f)

static const key_def keys[] = {
    {"data_dir", KEY_STRING, OFF(data_dir), "./data", 0, 0, NULL, "the store's directory"},
    {"multitenancy_enabled", KEY_ENUM, OFF(multitenancy), "false", 0, 0, &booleans,
     "tenants as in Tempo: every request names one in X-Scope-OrgID (gRPC x-scope-orgid), else "
     "401; false: one implicit tenant, the header is ignored"},
    {"log_level", KEY_ENUM, OFF(log_level), "info", 0, 0, &log_levels,
     "least severe log level written; logs are JSON lines on stderr"},
    {"role", KEY_ENUM, OFF(role), "all", 0, 0, &roles,
     "all: one process receives, samples, stores and answers (no Kafka); receiver: produce "
     "received spans to Kafka; store: own a share of Kafka's partitions, sample and store them "
     "(and receive); query: answer from the store nodes of query.peers"},
    {"kafka.brokers", KEY_STRING, OFF(kafka_brokers), NULL, 0, 0, NULL,
     "Kafka bootstrap servers, host:port[,host:port...]; needed by every role but all"},
    {"kafka.topic", KEY_STRING, OFF(kafka_topic), "otlp_spans", 0, 0, NULL,
     "the spans topic: one record per trace, keyed by trace ID, value an OTLP TracesData"},
    {"kafka.group", KEY_STRING, OFF(kafka_group), "ottr", 0, 0, NULL,
     "the store nodes' consumer group; each node owns the traces of its partitions"},
    {"kafka.produce_timeout", KEY_DURATION, OFF(kafka_produce_timeout_ns), "10s", 100 * MS,
     5 * 60 * SEC, NULL,
     "a receiver answers UNAVAILABLE / 503 when Kafka has not acknowledged a request's records "
     "within this"},
    {"kafka.commit_interval", KEY_DURATION, OFF(kafka_commit_interval_ns), "1s", 10 * MS, 60 * SEC,
     NULL, "how often a store node commits the offsets of records whose traces are settled"},
    {"kafka.session_timeout", KEY_DURATION, OFF(kafka_session_timeout_ns), "10s", SEC, 5 * 60 * SEC,
     NULL,
     "a store node silent this long loses its partitions to the others (within the broker's "
     "group.min/max.session.timeout.ms)"},
    {"query.peers", KEY_STRING, OFF(query_peers), NULL, 0, 0, NULL,
     "the store nodes' query ports, host:port[,host:port...]: a query node (or any node) "
     "answers for the whole cluster from them"},
    {"jaeger.peers", KEY_STRING, OFF(jaeger_peers), NULL, 0, 0, NULL,
     "the store nodes' Jaeger ports, host:port[,host:port...]: the Jaeger API of this node "
     "answers for the whole cluster"},
    {"grpc.addr", KEY_ADDR, OFF(grpc_addr), "0.0.0.0:4317", 0, 0, NULL, "OTLP/gRPC listener"},
    {"grpc.max_recv_msg_size", KEY_SIZE, OFF(grpc_max_recv_bytes), "64MiB", KiB, GiB, NULL,
     "largest request, after decompression"},
    {"grpc.threads", KEY_THREADS, OFF(grpc_threads), "auto", 1, MAX_THREADS, NULL,
     "completion queues, one thread each; auto: the number of cores, 2 to 16"},
    {"grpc.max_connection_idle", KEY_DURATION, OFF(grpc_max_conn_idle_ns), "5m", 0, 24 * HOUR, NULL,
     "a connection without calls for this long gets a GOAWAY; 0: never"},
    {"grpc.max_connection_age", KEY_DURATION, OFF(grpc_max_conn_age_ns), "10m", 0, 24 * HOUR, NULL,
     "a connection gets a GOAWAY after this long (give or take 10%), clients reconnect; 0: never"},
    {"grpc.max_connection_age_grace", KEY_DURATION, OFF(grpc_max_conn_age_grace_ns), "30s", 0, HOUR,
     NULL, "calls still open this long after that GOAWAY are cancelled; 0: no limit"},
    {"grpc.keepalive_time", KEY_DURATION, OFF(grpc_keepalive_time_ns), "1m", 0, 24 * HOUR, NULL,
     "a connection with calls open is pinged after this long without a read, and closed when the "
     "ping is not answered within 20s; 0: no pings"},
    {"http.addr", KEY_ADDR, OFF(http_addr), "0.0.0.0:4318", 0, 0, NULL,
     "OTLP/HTTP listener (HTTP/1.1 and h2c)"},
    {"http.max_body_size", KEY_SIZE, OFF(http_max_body_bytes), "64MiB", KiB, GiB, NULL,
     "largest body (OTLP/HTTP and Zipkin), checked while reading and after gunzip"},
    {"http.threads", KEY_THREADS, OFF(http_threads), "2", 1, MAX_THREADS, NULL,
     "event-loop threads; auto: the number of cores, 2 to 16"},
    {"http.request_timeout", KEY_DURATION, OFF(http_request_timeout_ns), "30s", 100 * MS, HOUR,
     NULL,
     "a request's headers and body must arrive within this, however steadily they trickle; "
     "else 408"},
    {"http.idle_timeout", KEY_DURATION, OFF(http_idle_timeout_ns), "1m", 100 * MS, 24 * HOUR, NULL,
     "a connection with no request under way is closed after this"},
    {"http.min_body_rate", KEY_SIZE, OFF(http_min_body_rate), "1KiB", 0, GiB, NULL,
     "bytes per second a request body must keep up over each http.body_rate_window; else 408; "
     "0: no minimum"},
    {"http.body_rate_window", KEY_DURATION, OFF(http_body_rate_window_ns), "5s", 100 * MS, HOUR,
     NULL,
     "the body rate is measured over windows this long, the first from the end of the headers"},
    {"http.max_conns", KEY_COUNT, OFF(http_max_conns), "10000", 1, 1000000, NULL,
     "open connections of the OTLP/HTTP port and of the Zipkin port, each; at the cap the most "
     "idle or slowest one makes room for a new one"},
    {"http.max_conns_per_ip", KEY_COUNT, OFF(http_max_conns_per_ip), "256", 0, 1000000, NULL,
     "open connections per client address (IPv6: per /64) on every HTTP port; more get 503; 0: no "
     "cap"},
    {"limits.max_spans_per_request", KEY_COUNT, OFF(limits.max_spans_per_request), "100000", 0,
     MAX_COUNT, NULL,
     "an export request with more spans is refused whole (RESOURCE_EXHAUSTED / 413); 0: no limit"},
    {"limits.max_attributes_per_span", KEY_COUNT, OFF(limits.max_attributes_per_span), "1024", 0,
     MAX_COUNT, NULL, "a span with more attributes is rejected (partial success); 0: no limit"},
    {"limits.max_events_per_span", KEY_COUNT, OFF(limits.max_events_per_span), "1024", 0, MAX_COUNT,
     NULL, "a span with more events is rejected; 0: no limit"},
    {"limits.max_links_per_span", KEY_COUNT, OFF(limits.max_links_per_span), "1024", 0, MAX_COUNT,
     NULL, "a span with more links is rejected; 0: no limit"},
    {"limits.max_attributes_per_event", KEY_COUNT, OFF(limits.max_attributes_per_event), "1024", 0,
     MAX_COUNT, NULL, "a span with an event of more attributes is rejected; 0: no limit"},
    {"limits.max_attributes_per_link", KEY_COUNT, OFF(limits.max_attributes_per_link), "1024", 0,
     MAX_COUNT, NULL, "a span with a link of more attributes is rejected; 0: no limit"},
    {"limits.max_attributes_per_resource", KEY_COUNT, OFF(limits.max_attributes_per_resource),
     "1024", 0, MAX_COUNT, NULL,
     "the spans under a resource, or a scope, of more attributes are rejected; 0: no limit"},
    {"limits.max_attribute_key_length", KEY_SIZE, OFF(limits.max_attribute_key_length), "4KiB", 0,
     GiB, NULL,
     "a span with a longer attribute key (its own, an event's, a link's, its "
     "resource's or scope's) is rejected; 0: no limit"},
    {"limits.max_attribute_value_length", KEY_SIZE, OFF(limits.max_attribute_value_length), "64KiB",
     0, GiB, NULL,
     "the same for a longer attribute value: a string or bytes, or all of them (keys too) in an "
     "array or map; 0: no limit"},
    {"query.addr", KEY_ADDR, OFF(query_addr), "0.0.0.0:3200", 0, 0, NULL,
     "Tempo API, /ready, /metrics"},
    {"jaeger.addr", KEY_ADDR, OFF(jaeger_addr), "0.0.0.0:16686", 0, 0, NULL, "Jaeger query API"},
    {"zipkin.addr", KEY_ADDR, OFF(zipkin_addr), "0.0.0.0:9411", 0, 0, NULL,
     "Zipkin: POST /api/v2/spans (limits as http.*) and Zipkin's v2 query API"},
    {"query.max_conns", KEY_COUNT, OFF(query_max_conns), "1024", 1, 1000000, NULL,
     "open connections of the query port and of the Jaeger port, each; as http.max_conns"},
    {"query.max_concurrent", KEY_THREADS, OFF(query_max_concurrent), "2", 1, MAX_THREADS, NULL,
     "queries run at once over the query, Jaeger and Zipkin ports, one low-priority thread each; "
     "auto: the number of cores, 2 to 16"},
    {"query.max_queued", KEY_COUNT, OFF(query_max_queued), "64", 0, 100000, NULL,
     "queries waiting for a thread; past it they are answered 429 with Retry-After"},
    {"query.timeout", KEY_DURATION, OFF(query_timeout_ns), "30s", MS, HOUR, NULL,
     "a search stops after this long and answers what it found, marked partial"},
    {"query.max_bytes_inspected", KEY_SIZE, OFF(query_max_bytes), "1GiB", KiB, 1024 * GiB, NULL,
     "a search stops after reading this much (summaries and traces), marked partial"},
    {"admin.addr", KEY_ADDR, OFF(admin_addr), "127.0.0.1:3201", 0, 0, NULL,
     "admin API (checkpoints), /metrics, /ready; off loopback it needs admin.auth.type"},
    {"admin.backup_dir", KEY_STRING, OFF(admin_backup_dir), NULL, 0, 0, NULL,
     "checkpoints are written here, each in a directory of its name; default <data_dir>/backups"},
    {"grpc.tls.cert_file", KEY_STRING, OFF(grpc_sec.cert_file), NULL, 0, 0, NULL,
     "PEM certificate chain: the OTLP/gRPC port serves TLS (with grpc.tls.key_file); reloaded on "
     "SIGHUP"},
    {"grpc.tls.key_file", KEY_STRING, OFF(grpc_sec.key_file), NULL, 0, 0, NULL,
     "PEM private key of grpc.tls.cert_file"},
    {"grpc.tls.client_ca_file", KEY_STRING, OFF(grpc_sec.client_ca_file), NULL, 0, 0, NULL,
     "PEM CA certificates: clients of the OTLP/gRPC port must present a certificate they signed "
     "(mTLS)"},
    {"grpc.auth.type", KEY_ENUM, OFF(grpc_sec.auth_type), "none", 0, 0, &auth_types,
     "who may use the OTLP/gRPC port: none, bearer (tokens), basic (users) or mtls (client "
     "certificates)"},
    {"grpc.auth.file", KEY_STRING, OFF(grpc_sec.auth_file), NULL, 0, 0, NULL,
     "the tokens, users or certificate names of grpc.auth.type (docs/SECURITY.md); reloaded on "
     "SIGHUP"},
    {"http.tls.cert_file", KEY_STRING, OFF(http_sec.cert_file), NULL, 0, 0, NULL,
     "PEM certificate chain: the OTLP/HTTP port serves TLS (with http.tls.key_file); reloaded on "
     "SIGHUP"},
    {"http.tls.key_file", KEY_STRING, OFF(http_sec.key_file), NULL, 0, 0, NULL,
     "PEM private key of http.tls.cert_file"},
    {"http.tls.client_ca_file", KEY_STRING, OFF(http_sec.client_ca_file), NULL, 0, 0, NULL,
     "PEM CA certificates: clients of the OTLP/HTTP port must present a certificate they signed "
     "(mTLS)"},
    {"http.tls.min_version", KEY_ENUM, OFF(http_sec.min_version), "1.2", 0, 0, &tls_versions,
     "oldest TLS version the OTLP/HTTP port accepts"},
    {"http.auth.type", KEY_ENUM, OFF(http_sec.auth_type), "none", 0, 0, &auth_types,
     "who may use the OTLP/HTTP port: none, bearer (tokens), basic (users) or mtls (client "
     "certificates)"},
    {"http.auth.file", KEY_STRING, OFF(http_sec.auth_file), NULL, 0, 0, NULL,
     "the tokens, users or certificate names of http.auth.type (docs/SECURITY.md); reloaded on "
     "SIGHUP"},
    {"query.tls.cert_file", KEY_STRING, OFF(query_sec.cert_file), NULL, 0, 0, NULL,
     "PEM certificate chain: the Tempo API port serves TLS (with query.tls.key_file); reloaded on "
     "SIGHUP"},
    {"query.tls.key_file", KEY_STRING, OFF(query_sec.key_file), NULL, 0, 0, NULL,
     "PEM private key of query.tls.cert_file"},
    {"query.tls.client_ca_file", KEY_STRING, OFF(query_sec.client_ca_file), NULL, 0, 0, NULL,
     "PEM CA certificates: clients of the Tempo API port must present a certificate they signed "
     "(mTLS)"},
    {"query.tls.min_version", KEY_ENUM, OFF(query_sec.min_version), "1.2", 0, 0, &tls_versions,
     "oldest TLS version the Tempo API port accepts"},
    {"query.auth.type", KEY_ENUM, OFF(query_sec.auth_type), "none", 0, 0, &auth_types,
     "who may use the Tempo API port: none, bearer (tokens), basic (users) or mtls (client "
     "certificates)"},
    {"query.auth.file", KEY_STRING, OFF(query_sec.auth_file), NULL, 0, 0, NULL,
     "the tokens, users or certificate names of query.auth.type (docs/SECURITY.md); reloaded on "
     "SIGHUP"},
    {"jaeger.tls.cert_file", KEY_STRING, OFF(jaeger_sec.cert_file), NULL, 0, 0, NULL,
     "PEM certificate chain: the Jaeger API port serves TLS (with jaeger.tls.key_file); reloaded "
     "on SIGHUP"},
    {"jaeger.tls.key_file", KEY_STRING, OFF(jaeger_sec.key_file), NULL, 0, 0, NULL,
     "PEM private key of jaeger.tls.cert_file"},
    {"jaeger.tls.client_ca_file", KEY_STRING, OFF(jaeger_sec.client_ca_file), NULL, 0, 0, NULL,
     "PEM CA certificates: clients of the Jaeger API port must present a certificate they signed "
     "(mTLS)"},
    {"jaeger.tls.min_version", KEY_ENUM, OFF(jaeger_sec.min_version), "1.2", 0, 0, &tls_versions,
     "oldest TLS version the Jaeger API port accepts"},
    {"jaeger.auth.type", KEY_ENUM, OFF(jaeger_sec.auth_type), "none", 0, 0, &auth_types,
     "who may use the Jaeger API port: none, bearer (tokens), basic (users) or mtls (client "
     "certificates)"},
    {"jaeger.auth.file", KEY_STRING, OFF(jaeger_sec.auth_file), NULL, 0, 0, NULL,
     "the tokens, users or certificate names of jaeger.auth.type (docs/SECURITY.md); reloaded on "
     "SIGHUP"},
    {"admin.tls.cert_file", KEY_STRING, OFF(admin_sec.cert_file), NULL, 0, 0, NULL,
     "PEM certificate chain: the admin port serves TLS (with admin.tls.key_file); reloaded on "
     "SIGHUP"},
    {"admin.tls.key_file", KEY_STRING, OFF(admin_sec.key_file), NULL, 0, 0, NULL,
     "PEM private key of admin.tls.cert_file"},
    {"admin.tls.client_ca_file", KEY_STRING, OFF(admin_sec.client_ca_file), NULL, 0, 0, NULL,
     "PEM CA certificates: clients of the admin port must present a certificate they signed "
     "(mTLS)"},
    {"admin.tls.min_version", KEY_ENUM, OFF(admin_sec.min_version), "1.2", 0, 0, &tls_versions,
     "oldest TLS version the admin port accepts"},
    {"admin.auth.type", KEY_ENUM, OFF(admin_sec.auth_type), "none", 0, 0, &auth_types,
     "who may use the admin port: none, bearer (tokens), basic (users) or mtls (client "
     "certificates)"},
    {"admin.auth.file", KEY_STRING, OFF(admin_sec.auth_file), NULL, 0, 0, NULL,
     "the tokens, users or certificate names of admin.auth.type (docs/SECURITY.md); reloaded on "
     "SIGHUP"},
    {"zipkin.tls.cert_file", KEY_STRING, OFF(zipkin_sec.cert_file), NULL, 0, 0, NULL,
     "PEM certificate chain: the Zipkin port serves TLS (with zipkin.tls.key_file); reloaded on "
     "SIGHUP"},
    {"zipkin.tls.key_file", KEY_STRING, OFF(zipkin_sec.key_file), NULL, 0, 0, NULL,
     "PEM private key of zipkin.tls.cert_file"},
    {"zipkin.tls.client_ca_file", KEY_STRING, OFF(zipkin_sec.client_ca_file), NULL, 0, 0, NULL,
     "PEM CA certificates: clients of the Zipkin port must present a certificate they signed "
     "(mTLS)"},
    {"zipkin.tls.min_version", KEY_ENUM, OFF(zipkin_sec.min_version), "1.2", 0, 0, &tls_versions,
     "oldest TLS version the Zipkin port accepts"},
    {"zipkin.auth.type", KEY_ENUM, OFF(zipkin_sec.auth_type), "none", 0, 0, &auth_types,
     "who may use the Zipkin port (spans and queries): none, bearer (tokens), basic (users) or "
     "mtls (client certificates)"},
    {"zipkin.auth.file", KEY_STRING, OFF(zipkin_sec.auth_file), NULL, 0, 0, NULL,
     "the tokens, users or certificate names of zipkin.auth.type (docs/SECURITY.md); reloaded on "
     "SIGHUP"},
    {"store.sync", KEY_ENUM, OFF(store_sync), "interval", 0, 0, &sync_policies,
     "fsync of the pending log and RocksDB's WAL: none (survives a process crash), interval, "
     "always (fsync before every acknowledgement)"},
    {"store.sync_interval", KEY_DURATION, OFF(store_sync_interval_ns), "100ms", MS, 60 * SEC, NULL,
     "for interval: the most a power cut can lose"},
    {"store.retention", KEY_DURATION, OFF(store_retention_ns), "72h", 0, 87600 * HOUR, NULL,
     "older data is removed by compaction; 0 keeps everything"},
    {"store.max_trace_bytes", KEY_SIZE, OFF(store_max_trace_bytes), "50MiB", KiB, GiB, NULL,
     "a stored trace stops growing past this and is marked partial"},
    {"store.block_cache_size", KEY_SIZE, OFF(store_block_cache_bytes), "64MiB", MiB, 256 * GiB,
     NULL, "RocksDB block cache (what queries read again); memtables reserve theirs in it on top"},
    {"store.memtable_size", KEY_SIZE, OFF(store_memtable_bytes), "128MiB", MiB, 64 * GiB, NULL,
     "all RocksDB memtables together, charged to the block cache; past it the largest is flushed"},
    {"store.disk_reserve", KEY_SIZE, OFF(store_disk_reserve_bytes), "8MiB", 0, 64 * GiB, NULL,
     "after the disk filled up, writes resume once this much is free again"},
    {"sampling.decision_wait", KEY_DURATION, OFF(decision_wait_ns), "30s", MS, 24 * HOUR, NULL,
     "decide a trace at the latest this long after its first span"},
    {"sampling.decision_wait_after_root", KEY_DURATION, OFF(decision_wait_after_root_ns), "2s", MS,
     HOUR, NULL, "decide once the root span has arrived and no span came for this long"},
    {"sampling.max_spans_per_trace", KEY_COUNT, OFF(max_spans_per_trace), "100000", 1, MAX_COUNT,
     NULL, "decide a trace early when it has this many spans"},
    {"sampling.max_trace_bytes", KEY_SIZE, OFF(max_trace_bytes), "store.max_trace_bytes", KiB, GiB,
     NULL, "decide a trace early past this size"},
    {"sampling.max_buffered_traces", KEY_COUNT, OFF(max_buffered_traces), "1000000", 1, MAX_COUNT,
     NULL, "undecided traces held; past it receivers push back"},
    {"sampling.max_memory", KEY_SIZE, OFF(max_memory_bytes), "512MiB", MiB, 1024 * GiB, NULL,
     "sampler memory budget; past it receivers push back"},
    {"sampling.decision_cache_size", KEY_COUNT, OFF(decision_cache_size), "200000", 1, MAX_COUNT,
     NULL, "decisions remembered, kept and dropped each, so that late spans follow their trace"},
    {"sampling.policies", KEY_POLICIES, OFF(policies), NULL, 0, 0, NULL,
     "the OpenTelemetry Collector's tail_sampling policies list; with none every trace is kept"},
    {"overrides.defaults.ingestion.rate_limit_spans", KEY_COUNT, OFF(tenant_limits.rate_spans), "0",
     0, MAX_COUNT, NULL,
     "spans per second each tenant may send; past it 429 / RESOURCE_EXHAUSTED; 0: no limit"},
    {"overrides.defaults.ingestion.burst_size_spans", KEY_COUNT, OFF(tenant_limits.burst_spans),
     "0", 0, MAX_COUNT, NULL, "spans a tenant may send at once above its rate; 0: the rate"},
    {"overrides.defaults.ingestion.max_traces_per_user", KEY_COUNT, OFF(tenant_limits.max_traces),
     "0", 0, MAX_COUNT, NULL,
     "undecided traces held per tenant; new traces past it get 429 / RESOURCE_EXHAUSTED; 0: no "
     "limit"},
    {"overrides.defaults.global.max_bytes_per_trace", KEY_SIZE,
     OFF(tenant_limits.max_bytes_per_trace), "0", 0, GiB, NULL,
     "a tenant's trace is decided once this big (as sampling.max_trace_bytes); 0: no limit"},
    {"overrides.per_tenant", KEY_TENANTS, OFF(per_tenant), NULL, 0, 0, NULL,
     "a map of tenant name to its own ingestion and global values, the defaults for the rest"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= 64 * sizeof(((ottr_config *)0)->given) / sizeof(uint64_t),
               "ottr_config.given has one bit per key");

/* Other names of keys: the OpenTelemetry Collector's for the same settings. */
static const struct {
    const char *alias;
    const char *name;
} aliases[] = {
    {"sampling.decision_wait_after_root_received", "sampling.decision_wait_after_root"},
    {"sampling.num_traces", "sampling.max_buffered_traces"},
};

#define NALIASES (sizeof(aliases) / sizeof(aliases[0]))

/* ------------------------------------------------------------------ the table */

static const key_def *find_key(const char *name)
{
    for (size_t i = 0; i < NALIASES; i++)
        if (strcmp(aliases[i].alias, name) == 0)
            name = aliases[i].name;
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Whether some key lies below |path| ("grpc" for grpc.addr). */
static int is_section(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(keys[i].name, path, n) == 0 && keys[i].name[n] == '.')
            return 1;
    return 0;
}

/* The key whose value |k| takes while not given itself, or NULL. */
static const key_def *default_source(const key_def *k)
{
    return k->def ? find_key(k->def) : NULL;
}

static void *field(ottr_config *c, const key_def *k)
{
    return (char *)c + k->offset;
}

static int is_given(const ottr_config *c, const key_def *k)
{
    size_t i = (size_t)(k - keys);
    return (c->given[i / 64] >> (i % 64)) & 1;
}

/* ------------------------------------------------------------------ formatting */

static void format_size(uint64_t v, char *out, size_t outlen)
{
    static const struct {
        const char *unit;
        uint64_t n;
    } units[] = {{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (v != 0 && v % units[i].n == 0) {
            snprintf(out, outlen, "%llu%s", (unsigned long long)(v / units[i].n), units[i].unit);
            return;
        }
    }
    snprintf(out, outlen, "%llu", (unsigned long long)v);
}

static void format_duration(uint64_t ns, char *out, size_t outlen)
{
    static const struct {
        const char *unit;
        uint64_t n;
    } units[] = {{"h", HOUR}, {"m", 60 * SEC}, {"s", SEC}, {"ms", MS}, {"us", 1000}, {"ns", 1}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ns != 0 && ns % units[i].n == 0) {
            snprintf(out, outlen, "%llu%s", (unsigned long long)(ns / units[i].n), units[i].unit);
            return;
        }
    }
    snprintf(out, outlen, "0");
}

/* Writes |v| as a value of |k| would be written in a file. */
static void format_value(const key_def *k, uint64_t v, char *out, size_t outlen)
{
    if (k->type == KEY_SIZE)
        format_size(v, out, outlen);
    else if (k->type == KEY_DURATION)
        format_duration(v, out, outlen);
    else
        snprintf(out, outlen, "%llu", (unsigned long long)v);
}

/* "1KiB to 1GiB", "auto or 1 to 256", or "" for keys without bounds. */
static void format_range(const key_def *k, char *out, size_t outlen)
{
    char lo[24], hi[24]; /* up to 20 digits and a unit */
    out[0] = '\0';
    if (k->min == 0 && k->max == 0)
        return;
    format_value(k, k->min, lo, sizeof(lo));
    format_value(k, k->max, hi, sizeof(hi));
    snprintf(out, outlen, "%s%s to %s", k->type == KEY_THREADS ? "auto or " : "", lo, hi);
}

/* "debug, info, warn or error" (|sep| ", ") or "debug|info|warn|error" (|sep| "|"). */
static void format_names(const key_enum *e, const char *sep, const char *last, char *out,
                         size_t outlen)
{
    size_t n = 0, used = 0;
    while (e->names[n])
        n++;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < outlen; i++) {
        int w = snprintf(out + used, outlen - used, "%s%s",
                         i == 0       ? ""
                         : i + 1 == n ? last
                                      : sep,
                         e->names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static const char *type_name(key_type t)
{
    switch (t) {
    case KEY_STRING:
        return "string";
    case KEY_ADDR:
        return "address";
    case KEY_ENUM:
        return "enum";
    case KEY_DURATION:
        return "duration";
    case KEY_SIZE:
        return "size";
    case KEY_COUNT:
        return "count";
    case KEY_THREADS:
        return "threads";
    case KEY_POLICIES:
        return "list";
    case KEY_TENANTS:
        return "map";
    }
    return "?";
}

/* ------------------------------------------------------------------ values */

static int set_str(char **slot, const char *v)
{
    char *s = strdup(v);
    if (s == NULL)
        return -1;
    free(*slot);
    *slot = s;
    return 0;
}

static int parse_count(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0)
        return -1;
    *out = n;
    return 0;
}

static int auto_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < AUTO_THREADS_MIN)
        return AUTO_THREADS_MIN;
    return n > AUTO_THREADS_MAX ? AUTO_THREADS_MAX : (int)n;
}

/* Parses a number of |k|'s type into |out|, checking its bounds. On error
 * writes the problem to |err|. */
static int parse_number(const key_def *k, const char *v, uint64_t *out, char *err, size_t errlen)
{
    int rc;
    const char *want;
    if (k->type == KEY_DURATION) {
        rc = ottr_parse_duration(v, out);
        want = "bad duration \"%s\" (want e.g. 500ms, 30s, 72h)";
    } else if (k->type == KEY_SIZE) {
        rc = ottr_parse_size(v, out);
        want = "bad size \"%s\" (want bytes or e.g. 64MiB)";
    } else {
        rc = parse_count(v, out);
        want = "bad number \"%s\" (want a whole number)";
    }
    if (rc != 0) {
        snprintf(err, errlen, want, v);
        return -1;
    }
    if (*out < k->min || *out > k->max) {
        char range[64];
        format_range(k, range, sizeof(range));
        if (k->type == KEY_THREADS)
            snprintf(err, errlen, "bad thread count \"%s\" (want %s)", v, range);
        else
            snprintf(err, errlen, "%s is out of range (want %s)", v, range);
        return -1;
    }
    return 0;
}

/* Stores scalar |v| for |k|. On error writes the problem to |err|. */
static int apply_scalar(ottr_config *c, const key_def *k, const char *v, char *err, size_t errlen)
{
    void *slot = field(c, k);
    uint64_t n;
    switch (k->type) {
    case KEY_STRING:
        if (*v == '\0') {
            snprintf(err, errlen, "must not be empty");
            return -1;
        }
        break;
    case KEY_ADDR: {
        char host[256];
        int port;
        if (ottr_parse_addr(v, host, sizeof(host), &port) != 0) {
            snprintf(err, errlen, "bad address \"%s\" (want host:port, e.g. 0.0.0.0:4317)", v);
            return -1;
        }
        break;
    }
    case KEY_ENUM: {
        for (int i = 0; k->e->names[i]; i++) {
            if (strcmp(k->e->names[i], v) == 0) {
                *(int *)slot = i;
                return 0;
            }
        }
        char names[128];
        format_names(k->e, ", ", " or ", names, sizeof(names));
        snprintf(err, errlen, "unknown %s \"%s\" (want %s)", k->e->what, v, names);
        return -1;
    }
    case KEY_DURATION:
    case KEY_SIZE:
    case KEY_COUNT:
        if (parse_number(k, v, &n, err, errlen) != 0)
            return -1;
        *(uint64_t *)slot = n;
        return 0;
    case KEY_THREADS:
        if (strcmp(v, "auto") == 0) {
            *(int *)slot = auto_threads();
            return 0;
        }
        if (parse_number(k, v, &n, err, errlen) != 0)
            return -1;
        *(int *)slot = (int)n;
        return 0;
    case KEY_POLICIES:
    case KEY_TENANTS:
        snprintf(err, errlen, "cannot be set from the command line");
        return -1;
    }
    if (set_str((char **)slot, v) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Gives every key whose default is another key's value that value, unless
 * the key was given itself. */
static void inherit_defaults(ottr_config *c)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *src = default_source(&keys[i]);
        if (src != NULL && !is_given(c, &keys[i]))
            *(uint64_t *)field(c, &keys[i]) = *(uint64_t *)field(c, src);
    }
}

/* Records that |k| was set by the file or a flag. */
static void mark_given(ottr_config *c, const key_def *k)
{
    size_t i = (size_t)(k - keys);
    c->given[i / 64] |= 1ull << (i % 64);
    inherit_defaults(c);
}

int collector_config_init(ottr_config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        const key_def *src = default_source(k);
        char problem[256];
        if (src != NULL) {
            /* inherit_defaults() copies a uint64_t */
            if (src->type != k->type ||
                (k->type != KEY_DURATION && k->type != KEY_SIZE && k->type != KEY_COUNT))
                goto fail;
            continue;
        }
        if (k->def != NULL && apply_scalar(c, k, k->def, problem, sizeof(problem)) != 0)
            goto fail;
    }
    inherit_defaults(c);
    return 0;
fail:
    collector_config_free(c);
    return -1;
}

void collector_config_free(ottr_config *c)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type == KEY_STRING || keys[i].type == KEY_ADDR)
            free(*(char **)field(c, &keys[i]));
    free(c->source);
    collector_overrides_free(c);
    ottr_yaml_free(c->yaml);
    memset(c, 0, sizeof(*c));
}

int collector_config_set(ottr_config *c, const char *key, const char *value, char *err,
                         size_t errlen)
{
    const key_def *k = find_key(key);
    if (k == NULL) {
        snprintf(err, errlen, "%s: unknown key", key);
        return -1;
    }
    char problem[400];
    if (apply_scalar(c, k, value, problem, sizeof(problem)) != 0) {
        snprintf(err, errlen, "%s: %s", key, problem);
        return -1;
    }
    mark_given(c, k);
    return 0;
}

/* ------------------------------------------------------------------ YAML */

/* Walks map |n| whose dotted path is |prefix| ("" at the top). */
static int apply_map(ottr_config *c, const ottr_yaml_node *n, const char *prefix, const char *where,
                     char *err, size_t errlen)
{
    for (const ottr_yaml_node *e = n->child; e; e = e->next) {
        char path[256];
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", e->key);
        const key_def *k = find_key(path);
        if (k == NULL) {
            if (!is_section(path)) {
                snprintf(err, errlen, "%s:%d: %s: unknown key", where, e->line, path);
                return -1;
            }
            if (e->type != OTTR_YAML_MAP) {
                snprintf(err, errlen, "%s:%d: %s: must be a map", where, e->line, path);
                return -1;
            }
            if (apply_map(c, e, path, where, err, errlen) != 0)
                return -1;
            continue;
        }
        if (k->type == KEY_POLICIES || k->type == KEY_TENANTS) {
            /* Kept as written (a list, or a map); an empty value is none. */
            ottr_yaml_type want = k->type == KEY_POLICIES ? OTTR_YAML_SEQ : OTTR_YAML_MAP;
            if (e->type != want && !(e->type == OTTR_YAML_SCALAR && e->scalar[0] == '\0')) {
                snprintf(err, errlen, "%s:%d: %s: must be a %s", where, e->line, path,
                         want == OTTR_YAML_SEQ ? "list" : "map");
                return -1;
            }
            *(const ottr_yaml_node **)field(c, k) = e->type == want ? e : NULL;
            mark_given(c, k);
            continue;
        }
        if (e->type != OTTR_YAML_SCALAR) {
            snprintf(err, errlen, "%s:%d: %s: must be a single value, not a %s", where, e->line,
                     path, e->type == OTTR_YAML_MAP ? "map" : "list");
            return -1;
        }
        char problem[400];
        if (apply_scalar(c, k, e->scalar, problem, sizeof(problem)) != 0) {
            snprintf(err, errlen, "%s:%d: %s: %s", where, e->line, path, problem);
            return -1;
        }
        mark_given(c, k);
    }
    return 0;
}

static int load_tree(ottr_config *c, ottr_yaml_node *root, const char *where, char *err,
                     size_t errlen)
{
    if (root->type != OTTR_YAML_MAP) {
        snprintf(err, errlen, "%s:%d: the configuration must be a map of keys", where, root->line);
        ottr_yaml_free(root);
        return -1;
    }
    const ottr_yaml_node *old_policies = c->policies, *old_tenants = c->per_tenant;
    if (apply_map(c, root, "", where, err, errlen) != 0 ||
        collector_overrides_load(c, where, err, errlen) != 0) {
        c->policies = old_policies;
        c->per_tenant = old_tenants;
        ottr_yaml_free(root);
        return -1;
    }
    /* The new tree owns policies now; the old tree may go unless it still
     * holds the policies or tenants in effect. */
    if ((c->policies == old_policies && old_policies != NULL) ||
        (c->per_tenant == old_tenants && old_tenants != NULL)) {
        /* keep the previous tree alive: chain it after the new one */
        ottr_yaml_node *prev = c->yaml;
        c->yaml = root;
        root->next = prev;
    } else {
        ottr_yaml_free(c->yaml);
        c->yaml = root;
    }
    return 0;
}

int collector_config_load_file(ottr_config *c, const char *path, char *err, size_t errlen)
{
    ottr_yaml_node *root;
    if (ottr_yaml_parse_file(path, &root, err, errlen) != 0)
        return -1;
    if (load_tree(c, root, path, err, errlen) != 0)
        return -1;
    if (set_str(&c->source, path) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int collector_config_load_string(ottr_config *c, const char *text, char *err, size_t errlen)
{
    ottr_yaml_node *root;
    char inner[512];
    if (ottr_yaml_parse_string(text, strlen(text), &root, inner, sizeof(inner)) != 0) {
        snprintf(err, errlen, "<config>: %s", inner);
        return -1;
    }
    return load_tree(c, root, "<config>", err, errlen);
}

/* ------------------------------------------------------------------ help */

int collector_config_doc_get(size_t i, ottr_config_doc *out)
{
    if (i >= NKEYS)
        return -1;
    const key_def *k = &keys[i];
    out->name = k->name;
    if (k->type == KEY_ENUM)
        format_names(k->e, "|", "|", out->type, sizeof(out->type));
    else
        snprintf(out->type, sizeof(out->type), "%s", type_name(k->type));
    format_range(k, out->range, sizeof(out->range));
    out->def = k->def;
    out->help = k->help;
    return 0;
}

void collector_config_print_help(FILE *out)
{
    fprintf(out, "Configuration keys (docs/CONFIG.md). In the YAML file each dot is a nested\n"
                 "map: grpc.addr is addr under grpc:. The flags of ottrd --help override the "
                 "file.\n\n");
    ottr_config_doc d;
    for (size_t i = 0; collector_config_doc_get(i, &d) == 0; i++) {
        fprintf(out, "  %s (%s%s%s; default %s)\n      %s\n", d.name, d.type,
                d.range[0] ? ", " : "", d.range, d.def ? d.def : "none", d.help);
    }
    fprintf(out, "\nAlso accepted:\n");
    for (size_t i = 0; i < NALIASES; i++)
        fprintf(out, "  %s for %s\n", aliases[i].alias, aliases[i].name);
}
