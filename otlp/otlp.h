/* otlp/otlp.h - everything that knows OTLP bytes: the protobuf-c type names, the
 * checked protobuf and JSON decoders of export requests, grouping a request's spans
 * by trace into stored chunks, decoding stored chunks back, a trace's tree rebuilt
 * from parent span IDs, the OTLP JSON writer and attribute / service lookup.
 *
 * otlp/ depends on common/ and the generated protobuf-c code only. */
#ifndef OTTR_OTLP_H
#define OTTR_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/common.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "opentelemetry/proto/trace/v1/trace.pb-c.h"

/* ------------------------------------------------------------------ type names */

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest otlp_request;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse otlp_response;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess otlp_partial_success;
typedef Opentelemetry__Proto__Trace__V1__TracesData otlp_traces_data;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans otlp_resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans otlp_scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span otlp_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event otlp_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link otlp_link;
typedef Opentelemetry__Proto__Trace__V1__Status otlp_status;
typedef Opentelemetry__Proto__Resource__V1__Resource otlp_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope otlp_scope;
typedef Opentelemetry__Proto__Common__V1__KeyValue otlp_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue otlp_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue otlp_array;
typedef Opentelemetry__Proto__Common__V1__KeyValueList otlp_kvlist;

/* A protobuf-c allocator drawing from |a| (free is a no-op: the arena is reset
 * as a whole). */
ProtobufCAllocator otlp_pb_allocator(ottr_arena *a);

/* ------------------------------------------------------------------ protobuf decode */

/* The deepest message nesting accepted (each AnyValue array level costs two). */
#define OTLP_PROTO_MAX_DEPTH 64

/* Checks the wire format of |data| against the ExportTraceServiceRequest schema
 * (well-formed tags, varints and lengths; message nesting at most
 * OTLP_PROTO_MAX_DEPTH, since protobuf-c recurses without a bound), then unpacks
 * it with |arena| as the allocator. Returns OTTR_OK with *out set, or:
 *   OTTR_ERR_INVALID   - malformed or too deeply nested; message in |err|
 *   OTTR_ERR_TOO_LARGE - the arena reached its limit
 *   OTTR_ERR_NOMEM     - out of memory */
ottr_status otlp_proto_decode_request(ottr_arena *arena, const uint8_t *data, size_t len,
                                      otlp_request **out, char *err, size_t errlen);

/* ------------------------------------------------------------------ JSON decode */

/* The deepest nesting of JSON objects and arrays accepted; deeper input is
 * rejected before it can exhaust the stack. */
#define OTLP_JSON_MAX_DEPTH 128

/* Decodes the OTLP/JSON ExportTraceServiceRequest in |json| (|len| bytes, need not
 * be NUL-terminated) into structs allocated from |arena|; they live until the
 * arena is reset. Field names may be lowerCamelCase or snake_case; unknown fields
 * are ignored; IDs are hex; 64-bit integers may be strings or numbers; enums may
 * be numbers or their names. Returns OTTR_OK, or:
 *   OTTR_ERR_INVALID   - not JSON, or a known field of the wrong type or value;
 *                        |err| names the field and the byte offset
 *   OTTR_ERR_TOO_LARGE - the arena reached its limit
 *   OTTR_ERR_NOMEM     - out of memory */
ottr_status otlp_json_decode_request(ottr_arena *arena, const char *json, size_t len,
                                     otlp_request **out, char *err, size_t errlen);

/* Appends the OTLP/JSON ExportTraceServiceResponse: `{}` when nothing was
 * rejected and there is no message, else
 * `{"partialSuccess":{"rejectedSpans":"N","errorMessage":"..."}}`. */
void otlp_json_encode_response(int64_t rejected, const char *message, ottr_buf *out);

/* ------------------------------------------------------------------ grouping by trace */

/* One span of a request, with the resource and scope it came under. All
 * pointers point into the request's arena and live as long as it. */
typedef struct otlp_span_ref {
    const otlp_span *span;
    const otlp_resource *resource; /* may be NULL */
    const otlp_scope *scope;       /* may be NULL */
    const char *service;           /* resource service.name, or "unknown_service"; never NULL */
} otlp_span_ref;

/* One trace's share of a request. |chunk| holds these spans re-encoded as one or
 * more ResourceSpans messages, each framed as field 1 of TracesData (tag 0x0a,
 * varint length, bytes), so that the chunks of a trace concatenated form a valid
 * OTLP TracesData. */
typedef struct otlp_trace_group {
    uint8_t trace_id[16];
    otlp_span_ref *spans;
    size_t nspans;
    uint8_t *chunk;
    size_t chunk_len;
} otlp_trace_group;

/* What a receiver hands to the pipeline: a request's valid spans grouped by trace
 * ID. Lives in the request's arena. */
typedef struct otlp_batch {
    otlp_trace_group *groups;
    size_t ngroups;
    size_t nspans;      /* total spans over all groups */
    size_t chunk_bytes; /* total chunk_len over all groups */
} otlp_batch;

/* Groups the spans of a decoded request by trace ID into |out|, allocating from
 * |arena|. Spans whose trace ID is not 16 bytes or all zero, or whose span ID is
 * not 8 bytes or all zero (or whose parent span ID is neither empty nor 8 bytes)
 * are left out and counted in |*rejected|, with the first reason written to
 * |msg| (may be NULL). Returns OTTR_OK, or OTTR_ERR_NOMEM / OTTR_ERR_TOO_LARGE
 * when the arena runs out. */
ottr_status otlp_batch_build(ottr_arena *arena, const otlp_request *req, otlp_batch *out,
                             size_t *rejected, char *msg, size_t msglen);

/* The same for a request unpacked from the protobuf bytes |wire| (|len| bytes):
 * the chunks copy each span's, resource's and scope's original bytes instead of
 * re-encoding them, which is several times faster. |wire| must stay valid during
 * the call only. When the bytes do not line up with |req| in the usual way (for
 * instance a singular field sent twice), it re-encodes as otlp_batch_build does. */
ottr_status otlp_batch_build_wire(ottr_arena *arena, const otlp_request *req, const uint8_t *wire,
                                  size_t len, otlp_batch *out, size_t *rejected, char *msg,
                                  size_t msglen);

/* Decodes a stored chunk (one or more field-1 framed ResourceSpans, as above) of
 * one trace back into span references in |arena|. Returns OTTR_OK or
 * OTTR_ERR_CORRUPT / OTTR_ERR_NOMEM. */
ottr_status otlp_chunk_decode(ottr_arena *arena, const uint8_t *chunk, size_t len,
                              otlp_span_ref **spans, size_t *nspans);

/* ------------------------------------------------------------------ decoded traces */

/* Problems of one span, as bit flags. */
#define OTLP_SPAN_ORPHAN    1 /* its parent span ID is not in the trace */
#define OTLP_SPAN_DUPLICATE 2 /* an earlier span has the same span ID */
#define OTLP_SPAN_CYCLE     4 /* its parent chain loops */
#define OTLP_SPAN_CUT       8 /* its parent reference was dropped to break a cycle */

typedef struct otlp_trace_span {
    const otlp_span *span;
    const otlp_resource *resource; /* may be NULL */
    const otlp_scope *scope;       /* may be NULL */
    const char *service;           /* resource service.name or "unknown_service" */
    uint32_t rs;                   /* index of its ResourceSpans */
    int32_t parent;                /* index of the parent span; -1 for roots, orphans, cuts */
    uint8_t problems;              /* OTLP_SPAN_* */
} otlp_trace_span;

typedef struct otlp_trace {
    const otlp_traces_data *td;
    otlp_trace_span *spans;
    size_t nspans;
    int32_t root; /* first span without a parent span ID; -1 when none */
    size_t norphans, nduplicates, ncycles;
} otlp_trace;

/* Decodes |len| bytes of TracesData (a trace's chunks concatenated) into |t|,
 * allocating from |a| (everything lives as long as the arena). Returns OTTR_OK,
 * OTTR_ERR_CORRUPT or OTTR_ERR_NOMEM. */
ottr_status otlp_trace_decode(otlp_trace *t, ottr_arena *a, const uint8_t *data, size_t len);

/* Links every span to its parent and fills root and the problem counts. Never
 * fails on bad data; returns OTTR_ERR_NOMEM only when |a| runs out. */
ottr_status otlp_trace_build_tree(otlp_trace *t, ottr_arena *a);

/* The value of attribute |key| in |kv|, or NULL. */
const otlp_any *otlp_attr_find(otlp_kv *const *kv, size_t n, const char *key);
/* service.name of |r|, or "unknown_service". */
const char *otlp_resource_service(const otlp_resource *r);

/* Span duration in nanoseconds (0 when end precedes start). */
static inline uint64_t otlp_span_duration(const otlp_span *s)
{
    return s->end_time_unix_nano > s->start_time_unix_nano
               ? s->end_time_unix_nano - s->start_time_unix_nano
               : 0;
}

/* ------------------------------------------------------------------ JSON writer */

/* "0a1b..." */
void otlp_json_hex(ottr_buf *b, const uint8_t *p, size_t n);
/* "base64" */
void otlp_json_base64(ottr_buf *b, const uint8_t *p, size_t n);
/* "123" (a 64-bit integer as a string, as OTLP JSON and Tempo write them) */
void otlp_json_u64str(ottr_buf *b, uint64_t v);
/* A JSON number; NaN and infinities (which JSON lacks) as "NaN", "Infinity",
 * "-Infinity" strings, as protobuf's JSON mapping does. */
void otlp_json_double(ottr_buf *b, double v);
/* A NUL-terminated string as a JSON string literal ("" for NULL). */
void otlp_json_str(ottr_buf *b, const char *s);

/* OTLP JSON AnyValue: {"stringValue":"x"}, {"intValue":"42"}, ... ({} when unset). */
void otlp_json_any(ottr_buf *b, const otlp_any *v);
/* [{"key":"k","value":{...}}, ...] */
void otlp_json_attributes(ottr_buf *b, otlp_kv *const *kv, size_t n);
/* A value as plain JSON (strings, numbers, arrays, objects), as Jaeger shows
 * arrays and maps inside string tags. */
void otlp_json_any_plain(ottr_buf *b, const otlp_any *v);

/* One OTLP JSON ResourceSpans object. */
void otlp_json_resource_spans(ottr_buf *b, const otlp_resource_spans *rs);
/* The ResourceSpans of |td| as JSON objects separated by commas (no brackets),
 * so several traces can share one array. |*first| is cleared once something is
 * written. */
void otlp_json_resource_spans_items(ottr_buf *b, const otlp_traces_data *td, int *first);

#endif /* OTTR_OTLP_H */
