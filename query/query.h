/* query/query.h - Ottr's query engine: trace by ID (tree rebuilt, problems
 * reported), search (TraceQL, tags), tag discovery, dependencies and the
 * service graph, as pure functions over the store that write complete response
 * bodies in the formats of Grafana Tempo's, Jaeger's and Zipkin's HTTP APIs. No socket
 * code: collector/ parses HTTP parameters and picks the function.
 *
 * Every function returns OTTR_OK with the body appended to |out|, or an error
 * with a message naming the problem in |err| and nothing meaningful in |out|:
 *   OTTR_ERR_INVALID  - a bad parameter
 *   OTTR_ERR_NOTFOUND - no such trace
 *   OTTR_ERR_EXISTS   - the target already exists (checkpoint)
 *   OTTR_ERR_IO, OTTR_ERR_CORRUPT, OTTR_ERR_NOMEM, ... - reading the store or
 *                       building the answer failed
 * The caller picks the protocol's status (collector/ maps them to HTTP codes)
 * and wraps |err| in the API's own error format (query_jaeger_error ...).
 * Times are Unix nanoseconds; 0 means "open" for range bounds. */
#ifndef OTTR_QUERY_H
#define OTTR_QUERY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "store/store.h"

#define QUERY_ERRLEN 256

/* What one search may spend. Past it the search stops and answers with what it
 * found so far, marked partial. Checked between candidates, so a search ends
 * within one candidate's work of the limit. */
typedef struct query_budget {
    uint64_t deadline_ns;      /* ottr_mono_ns() past which it stops; 0 = none */
    uint64_t max_bytes;        /* summary and trace bytes read; 0 = none */
    const atomic_bool *cancel; /* stop when set (shutdown); NULL = none */
} query_budget;

/* Why a search ended before it had looked at every candidate. */
typedef enum query_cut {
    QUERY_CUT_NONE = 0,
    QUERY_CUT_INSPECT, /* max_inspect traces decoded */
    QUERY_CUT_TIMEOUT, /* the budget's deadline */
    QUERY_CUT_BYTES,   /* the budget's bytes */
    QUERY_CUT_CANCEL,  /* cancelled */
} query_cut;

/* "timeout", "bytes", ... for QUERY_CUT_*; NULL for QUERY_CUT_NONE. */
const char *query_cut_name(query_cut c);

/* Parses a trace ID the way Tempo does: hex digits of either case, an odd
 * length gets a leading "0", shorter IDs are left-padded with zero bytes to 16.
 * Returns 0, or -1 (empty, not hex, or longer than 32 digits). */
ottr_status query_parse_trace_id(const char *s, uint8_t id[16]);

/* ------------------------------------------------------------------ Tempo */

typedef struct query_tempo_trace_opts {
    int version;               /* 1: /api/traces/{id}, 2: /api/v2/traces/{id} */
    bool protobuf;             /* Accept: application/protobuf */
    uint64_t start_ns, end_ns; /* the trace must overlap [start, end]; 0 = open */
} query_tempo_trace_opts;

/* Tempo trace by ID. v1: protobuf tempopb.Trace (the stored chunks concatenated)
 * or {"batches":[...]}; v2: protobuf TraceByIDResponse or {"trace":{...},
 * "metrics":{...},"status":"COMPLETE"|"PARTIAL"}. PARTIAL (with a message) when
 * the store cut the trace or its tree has orphans, duplicate span IDs or cycles.
 * OTTR_ERR_INVALID on a bad ID, OTTR_ERR_NOTFOUND when unknown or outside
 * [start, end]. */
ottr_status query_tempo_trace(store_view st, const char *id, const query_tempo_trace_opts *o,
                              ottr_buf *out, char *err, size_t errlen);

typedef struct query_tempo_search_params {
    const char *q;            /* TraceQL; wins over |tags| when both are set */
    const char *tags;         /* logfmt k=v pairs, or NULL */
    uint64_t min_duration_ns; /* trace duration bounds; 0 = none */
    uint64_t max_duration_ns;
    uint64_t start_ns, end_ns;  /* trace start within [start, end]; 0 = open */
    size_t limit;               /* traces; 0 = 20 */
    size_t spss;                /* spans per span set; 0 = 3 */
    size_t max_inspect;         /* traces decoded at most; 0 = QUERY_MAX_INSPECT */
    const query_budget *budget; /* NULL = none */
    query_cut *cut;             /* when not NULL, set to why the search stopped early */
} query_tempo_search_params;

#define QUERY_MAX_INSPECT 50000

/* Tempo /api/search. OTTR_ERR_INVALID naming `q` or `tags` when they do not
 * parse or use TraceQL the engine does not support. A search stopped early
 * (budget, max_inspect) is still OTTR_OK: its metrics show completedJobs 0 of
 * totalJobs 1, and "partial":true with the reason ("timeout", "bytes", ...). */
ottr_status query_tempo_search(store_view st, const query_tempo_search_params *p, ottr_buf *out,
                               char *err, size_t errlen);

/* /api/search/tags (version 1: {"tagNames":[...]}) and /api/v2/search/tags
 * ({"scopes":[{"name","tags"}]}). |scope| is NULL/"" (all), "resource", "span"
 * or "intrinsic"; anything else is OTTR_ERR_INVALID. */
ottr_status query_tempo_tags(store_view st, int version, const char *scope, ottr_buf *out,
                             char *err, size_t errlen);

/* /api/search/tag/{tag}/values (version 1: {"tagValues":["a"]}; the tag is
 * looked up in both scopes) and /api/v2/search/tag/{scope.tag}/values
 * ({"tagValues":[{"type","value"}]}). At most |limit| values (0 = 1000),
 * most recently seen first. */
ottr_status query_tempo_tag_values(store_view st, int version, const char *tag, size_t limit,
                                   ottr_buf *out, char *err, size_t errlen);

typedef struct query_tempo_tag_values_params {
    int version;                /* 1 or 2, as query_tempo_tag_values */
    const char *tag;            /* as query_tempo_tag_values */
    size_t limit;               /* 0 = 1000 */
    const char *q;              /* the TraceQL typed so far; NULL or "" = none */
    uint64_t start_ns, end_ns;  /* spans' traces starting within; 0 = open */
    const query_budget *budget; /* NULL = none */
} query_tempo_tag_values_params;

/* Tag values as Grafana's autocomplete asks: narrowed to the spans |q| matches
 * (its incomplete last condition dropped, see query_tq_autocomplete_filter) in
 * the range, typed from the values (string, int, float, bool; keyword for
 * status and kind), sorted. status and kind list only what occurs in the range
 * even without |q|. Otherwise, as query_tempo_tag_values. Same errors. */
ottr_status query_tempo_tag_values_in(store_view st, const query_tempo_tag_values_params *p,
                                      ottr_buf *out, char *err, size_t errlen);

/* The part of a TraceQL query being typed that can narrow autocomplete, into
 * |out|: the query when it parses, else its first spanset cut after the last
 * whole `&&` condition that still parses (`{a="x" && b=}` gives `{a="x" }`),
 * else "{}". */
void query_tq_autocomplete_filter(const char *q, ottr_buf *out);

/* Where a TraceQL metrics query was answered from. */
typedef enum query_metrics_source {
    QUERY_METRICS_TRACES = 0,      /* the kept traces */
    QUERY_METRICS_SPANMETRICS = 1, /* the per-minute span metrics of every span */
} query_metrics_source;

/* "traces" or "spanmetrics". */
const char *query_metrics_source_name(query_metrics_source s);

typedef struct query_tempo_metrics_params {
    const char *q;                /* TraceQL metrics query: {...} | rate() by (...) */
    uint64_t start_ns, end_ns;    /* required, start < end */
    uint64_t step_ns;             /* 0: a hundredth of the range */
    bool instant;                 /* /api/metrics/query: one value over [start, end] */
    size_t exemplars;             /* per series at most; 0 = none */
    size_t max_series;            /* 0 = 1000; past it series are left out (PARTIAL) */
    bool force_traces;            /* evaluate over the traces even when span metrics could */
    size_t max_inspect;           /* traces decoded at most; 0 = QUERY_MAX_INSPECT */
    const query_budget *budget;   /* NULL = none */
    query_cut *cut;               /* when not NULL, why the traces' scan stopped early */
    query_metrics_source *source; /* when not NULL, set to the source used */
} query_tempo_metrics_params;

/* Tempo /api/metrics/query_range ({"series":[{"labels","samples":[{"timestampMs",
 * "value"}],"exemplars"}],"metrics":{...,"source"}}) and, with |instant|,
 * /api/metrics/query ({"series":[{"labels","value"}],...}). "status":"PARTIAL"
 * with a "message" when the scan stopped early or series were left out.
 * OTTR_ERR_INVALID naming the problem for a query or range that does not parse;
 * OTTR_ERR_TOO_LARGE when series x steps would not fit. */
ottr_status query_tempo_metrics(store_view st, const query_tempo_metrics_params *p, ottr_buf *out,
                                char *err, size_t errlen);

/* /api/status/buildinfo. */
void query_tempo_buildinfo(ottr_buf *out);

/* Native /api/service-graph: nodes and edges over the minutes of [start, end],
 * with call and error counts and p50/p95/p99 latency in milliseconds. */
ottr_status query_service_graph(store_view st, uint64_t start_ns, uint64_t end_ns, ottr_buf *out,
                                char *err, size_t errlen);

/* GET /api/span-metrics: the stored span metrics of [start_s, end_s] (Unix
 * seconds) of |service| (NULL: every service) as rows {time, service, name,
 * kind, calls, errors, latencyCounts}, per minute, or per hour when the range
 * is over a day; at most |max_rows| (0: 200000) rows, then "truncated":true. */
ottr_status query_span_metrics(store_view st, const char *service, uint64_t start_s, uint64_t end_s,
                               size_t max_rows, ottr_buf *out, char *err, size_t errlen);

/* POST /api/admin/checkpoint: a consistent copy of the store in |dir| (an
 * absolute path that must not exist, under an existing directory; no control
 * characters, no "." or ".." components).
 * OTTR_ERR_INVALID on a bad path, OTTR_ERR_EXISTS when it exists, the store's
 * error when it fails. Body {"dir":"..."}. */
ottr_status query_admin_checkpoint(store *st, const char *dir, ottr_buf *out, char *err,
                                   size_t errlen);

/* ------------------------------------------------------------------ Jaeger */

/* Jaeger's envelope with errors:[{"code","msg"}] and data null. */
void query_jaeger_error(ottr_buf *out, int code, const char *msg);
/* The api_v3 HTTP gateway's error body {"error":{"httpCode","message"}}. */
void query_jaeger_v3_error(ottr_buf *out, int code, const char *msg);

/* /api/traces/{id}: data:[trace] in Jaeger's model; OTTR_ERR_NOTFOUND when
 * unknown. */
ottr_status query_jaeger_trace(store_view st, const char *id, ottr_buf *out, char *err,
                               size_t errlen);
/* /api/traces?traceID=a&traceID=b: the traces found in "data", and for each ID
 * not found {"msg":"trace not found","traceID":id} in "errors" (OTTR_OK even
 * when none is found, as Jaeger answers). */
ottr_status query_jaeger_traces_by_ids(store_view st, const char *const *ids, size_t nids,
                                       ottr_buf *out, char *err, size_t errlen);

typedef struct query_jaeger_tag {
    const char *key;
    const char *value;
} query_jaeger_tag;

typedef struct query_jaeger_search_params {
    const char *service;   /* required */
    const char *operation; /* NULL = any */
    const query_jaeger_tag *tags;
    size_t ntags;
    uint64_t start_ns, end_ns;
    uint64_t min_duration_ns, max_duration_ns; /* span duration; 0 = none */
    size_t limit;                              /* 0 = 100 */
    size_t max_inspect;                        /* 0 = QUERY_MAX_INSPECT */
    const query_budget *budget;                /* NULL = none */
    query_cut *cut; /* when not NULL, set to why the search stopped early */
} query_jaeger_search_params;

/* /api/traces?service=...: matching traces, newest first. One span must have
 * the service, the operation, every tag and a duration in range, as in Jaeger.
 * Tags "error", "span.kind" and "otel.status_code" match the span's status and
 * kind. A search stopped early answers what it found with one entry in
 * "errors" (code 206) saying why. */
ottr_status query_jaeger_search(store_view st, const query_jaeger_search_params *p, ottr_buf *out,
                                char *err, size_t errlen);

/* Jaeger's metrics API (GET /api/metrics/{latencies,calls,errors}) over the
 * store's per-minute span metrics: one Jaeger MetricFamily (not enveloped). */
typedef enum query_red {
    QUERY_RED_LATENCIES = 0,
    QUERY_RED_CALLS = 1,
    QUERY_RED_ERRORS = 2,
} query_red;

typedef struct query_jaeger_metrics_params {
    query_red what;
    const char *const *services; /* at least one */
    size_t nservices;
    bool group_by_operation;
    unsigned kinds;       /* bit (1 << OTLP SpanKind) per wanted kind */
    uint64_t end_ms;      /* Unix milliseconds */
    uint64_t lookback_ms; /* points from end - lookback to end */
    uint64_t step_ms;     /* between points */
    uint64_t rate_per_ms; /* the window of each point, whole minutes (at least one) */
    double quantile;      /* latencies: 0..1 */
} query_jaeger_metrics_params;

/* OTTR_ERR_INVALID for bad parameters (or over 11,000 points), and
 * OTTR_ERR_TOO_LARGE when the answer would hold too many counters. */
ottr_status query_jaeger_metrics(store_view st, const query_jaeger_metrics_params *p, ottr_buf *out,
                                 char *err, size_t errlen);
/* POST /api/transform: the OTLP JSON trace document |json| (|len| bytes) in
 * Jaeger's model, {"data":[trace, ...]} one trace per trace ID. OTTR_ERR_INVALID
 * when it is not an OTLP JSON trace (or over the query memory limit). */
ottr_status query_jaeger_transform(store_view st, const char *json, size_t len, ottr_buf *out,
                                   char *err, size_t errlen);
/* GET /api/metrics/minstep: the resolution of the series, in milliseconds. */
void query_jaeger_min_step(ottr_buf *out);

/* /api/services: data:["svc",...]. */
ottr_status query_jaeger_services(store_view st, ottr_buf *out, char *err, size_t errlen);
/* /api/services/{s}/operations (|detailed| false: data:["op",...]) and
 * /api/operations?service=&spanKind= (|detailed| true: data:[{"name","spanKind"}]).
 * |span_kind| NULL/"" = any, else server|client|producer|consumer|internal. */
ottr_status query_jaeger_operations(store_view st, const char *service, const char *span_kind,
                                    bool detailed, ottr_buf *out, char *err, size_t errlen);
/* /api/dependencies: data:[{"parent","child","callCount"}] over the minutes of
 * [end - lookback, end]; with |service| (may be NULL) the links from or to it
 * only; the database and uninstrumented-peer nodes only with |virtual_nodes|. */
ottr_status query_jaeger_dependencies(store_view st, uint64_t end_ns, uint64_t lookback_ns,
                                      const char *service, bool virtual_nodes, ottr_buf *out,
                                      char *err, size_t errlen);

/* /api/v3/traces/{id}: {"result":{"resourceSpans":[...]}}; OTTR_ERR_NOTFOUND
 * when unknown. */
ottr_status query_jaeger_v3_trace(store_view st, const char *id, ottr_buf *out, char *err,
                                  size_t errlen);
/* /api/v3/traces?query.*: every matching trace's resourceSpans in one result;
 * OTTR_ERR_NOTFOUND ("No traces found") when none matches, as Jaeger answers. */
ottr_status query_jaeger_v3_search(store_view st, const query_jaeger_search_params *p,
                                   ottr_buf *out, char *err, size_t errlen);
/* /api/v3/services: {"services":[...]}, {} when none (protobuf JSON). */
ottr_status query_jaeger_v3_services(store_view st, ottr_buf *out, char *err, size_t errlen);
/* /api/v3/operations?service=&span_kind=: {"operations":[{"name","spanKind"}]},
 * spanKind left out when unspecified, {} when none (protobuf JSON). */
ottr_status query_jaeger_v3_operations(store_view st, const char *service, const char *span_kind,
                                       ottr_buf *out, char *err, size_t errlen);

/* ------------------------------------------------------------------ Zipkin */

/* Zipkin's v2 API (zipkin2-api.yaml). Bodies are plain JSON arrays; spans are
 * Zipkin v2 spans (query/zipkin.c says how OTLP maps onto them). Errors are the
 * caller's to write (Zipkin answers plain text). */

/* /api/v2/services: ["svc",...], sorted. */
ottr_status query_zipkin_services(store_view st, ottr_buf *out, char *err, size_t errlen);
/* /api/v2/spans?serviceName=: the span names of |service|, sorted;
 * OTTR_ERR_INVALID without a service. */
ottr_status query_zipkin_span_names(store_view st, const char *service, ottr_buf *out, char *err,
                                    size_t errlen);
/* /api/v2/remoteServices?serviceName=: the remote endpoints (peer.service) of
 * |service|'s spans in its latest 200 traces that have one, over the day
 * before |now_ns|, within |b| (NULL: none). */
ottr_status query_zipkin_remote_services(store_view st, const char *service, uint64_t now_ns,
                                         const query_budget *b, ottr_buf *out, char *err,
                                         size_t errlen);
/* /api/v2/autocompleteKeys: the span attribute keys seen, sorted. */
ottr_status query_zipkin_autocomplete_keys(store_view st, ottr_buf *out, char *err, size_t errlen);
/* /api/v2/autocompleteValues?key=: values of |key| seen (at most 1000), sorted. */
ottr_status query_zipkin_autocomplete_values(store_view st, const char *key, ottr_buf *out,
                                             char *err, size_t errlen);
/* /api/v2/trace/{id}: [span,...]; OTTR_ERR_NOTFOUND when unknown,
 * OTTR_ERR_INVALID when |id| is not 1 to 32 hex digits. */
ottr_status query_zipkin_trace(store_view st, const char *id, ottr_buf *out, char *err,
                               size_t errlen);
/* /api/v2/traceMany?traceIds=a,b: [[span,...],...] of the traces found (none
 * found: []); OTTR_ERR_INVALID without IDs or with a bad one. */
ottr_status query_zipkin_trace_many(store_view st, const char *const *ids, size_t nids,
                                    ottr_buf *out, char *err, size_t errlen);
/* /api/v2/dependencies: [{"parent","child","callCount","errorCount"}] over the
 * minutes of [end - lookback, end]. */
ottr_status query_zipkin_dependencies(store_view st, uint64_t end_ns, uint64_t lookback_ns,
                                      ottr_buf *out, char *err, size_t errlen);

typedef struct query_zipkin_search_params {
    const char *service;                       /* serviceName; NULL = any */
    const char *remote_service;                /* remoteServiceName (peer.service); NULL = any */
    const char *span_name;                     /* spanName; NULL or "all" = any */
    const char *annotation_query;              /* "error and http.method=GET"; NULL = none */
    uint64_t min_duration_ns, max_duration_ns; /* span duration; 0 = none */
    uint64_t start_ns, end_ns;                 /* trace start within [start, end] */
    size_t limit;                              /* traces; 0 = 10 */
    size_t max_inspect;                        /* 0 = QUERY_MAX_INSPECT */
    const query_budget *budget;                /* NULL = none */
    query_cut *cut; /* when not NULL, set to why the search stopped early */
} query_zipkin_search_params;

/* /api/v2/traces: [[span,...],...], newest first. One span must have the
 * service, the span name, the remote service, every annotationQuery term (a
 * key=value tag, or a word naming a tag or an annotation; "error" matches the
 * error status) and a duration in range. A search stopped early answers what
 * it found. */
ottr_status query_zipkin_search(store_view st, const query_zipkin_search_params *p, ottr_buf *out,
                                char *err, size_t errlen);

/* ------------------------------------------------------------------ TraceQL */

/* Checks that |q| parses as TraceQL. Returns 0, or -1 with
 * a message ("... is not supported", "... at column N") in |err|. */
ottr_status query_traceql_check(const char *q, char *err, size_t errlen);

#endif /* OTTR_QUERY_H */
