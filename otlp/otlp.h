/* otlp/otlp.h - everything that knows OTLP bytes: the protobuf-c type names, the
 * protobuf varint codec, the checked protobuf and JSON decoders of export requests
 * and trace documents, grouping a request's spans by trace into stored chunks,
 * decoding stored chunks back, a trace's tree rebuilt from parent span IDs, the
 * names of span kinds and status codes, the OTLP JSON writer and attribute /
 * service lookup.
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

/* ------------------------------------------------------------------ allocators */

/* A protobuf-c allocator drawing from |a| (free is a no-op: the arena is reset
 * as a whole). */
ProtobufCAllocator otlp_pb_allocator(ottr_arena *a);

/* Why allocating |n| bytes from |a| just failed: OTTR_ERR_TOO_LARGE when it would
 * have passed the arena's limit, else OTTR_ERR_NOMEM (malloc failed). */
ottr_status otlp_alloc_failure(const ottr_arena *a, size_t n);

/* A protobuf-c allocator over an arena that remembers why an allocation failed,
 * so that a failed unpack can be told apart from bad bytes. Set up with
 * otlp_pb_flagged_init, pass &f.pb to protobuf-c. */
typedef struct otlp_pb_flagged {
    ProtobufCAllocator pb;
    ottr_arena *arena;
    ottr_status failed; /* OTTR_OK, or otlp_alloc_failure() of the first failure */
    size_t asked;       /* private: the size of the allocation under way */
} otlp_pb_flagged;

void otlp_pb_flagged_init(otlp_pb_flagged *f, ottr_arena *a);

/* ------------------------------------------------------------------ varints */

/* The longest protobuf varint: 10 bytes for 64 bits. */
#define OTLP_VARINT_MAX 10

/* Bytes of |v| as a protobuf varint (1 to OTLP_VARINT_MAX). */
static inline size_t otlp_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes |v| as a varint at |p| (room for otlp_varint_len(v) bytes); returns the
 * byte after it. */
static inline uint8_t *otlp_varint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Reads a varint at |p| (before |end|) into |*v|. Returns the bytes used, or 0
 * when it is truncated, longer than OTLP_VARINT_MAX bytes or over 64 bits. */
static inline size_t otlp_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    if (p < end && p[0] < 0x80) {
        *v = p[0];
        return 1;
    }
    uint64_t r = 0;
    for (size_t i = 0; i < OTLP_VARINT_MAX && p + i < end; i++) {
        r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            if (i == OTLP_VARINT_MAX - 1 && p[i] > 1)
                return 0;
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ protobuf decode */

/* Decodes an ExportTraceServiceRequest into the same protobuf-c structs as
 * protobuf-c's unpack, several times faster (otlp/decode_fast.c), allocating
 * from |arena|. Returns 1 with |*out|; 0 when it leaves the request to
 * protobuf-c (malformed, a known field with the wrong wire type, a singular
 * message field sent twice, nesting too deep); -1 when |arena| ran out, with
 * |*fail| OTTR_ERR_NOMEM or OTTR_ERR_TOO_LARGE. Unknown fields are skipped.
 * otlp_proto_decode_request uses it first. */
int otlp_fast_decode_request(ottr_arena *arena, const uint8_t *data, size_t len, otlp_request **out,
                             ottr_status *fail);
/* The distinct trace IDs (16 bytes) of an ExportTraceServiceRequest's spans,
 * read without decoding anything else, into |tids| (|cap| of them), sorted, and
 * the number of spans into |*nspans|. Returns their count, or SIZE_MAX when
 * there are more than |cap| or the bytes are malformed (decode to know more).
 * Lets a receiver push back before paying for the decode. */
size_t otlp_scan_trace_ids(const uint8_t *data, size_t len, uint8_t (*tids)[16], size_t cap,
                           size_t *nspans);
/* The same for TracesData (stored chunks and traces; otlp_trace_decode uses it). */
int otlp_fast_decode_traces(ottr_arena *arena, const uint8_t *data, size_t len,
                            otlp_traces_data **out, ottr_status *fail);

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

/* Where otlp_json_decode_traces found the spans. */
typedef struct otlp_json_doc {
    size_t array_off, array_len; /* the ResourceSpans array's bytes in the input; 0, 0 when none */
    int wrapped; /* not a plain {"resourceSpans":[...]} request: Tempo's "batches", or
                  * inside "trace" or "result" */
} otlp_json_doc;

/* Decodes a trace document in OTLP/JSON, as query APIs answer and people save
 * them, into a TracesData allocated from |arena|:
 *   {"resourceSpans":[...]}, Tempo's {"batches":[...]}, either one inside
 *   {"trace":{...}} (Tempo v2) or {"result":{...}} (Jaeger api_v3);
 *   the old names "instrumentationLibrarySpans" and "instrumentationLibrary";
 *   IDs in hex or base64 (Tempo's JSON; an ID that is neither is kept as its
 *   text, so that it is not taken for an absent one);
 *   enums also as the short words ("server", "error") in any case.
 * Unlike otlp_json_decode_request it never fails on content: a field of the
 * wrong type or value, or an array element that is not an object, is skipped.
 * A document without a spans array is an empty trace when it has no other
 * members ("{}", {"trace":{}}). |doc| (may be NULL) tells where the array was.
 * Returns OTTR_OK, or:
 *   OTTR_ERR_INVALID   - not JSON, not an object, or not a trace (an object
 *                        without a spans array, or one that is not an array);
 *                        message in |err|
 *   OTTR_ERR_TOO_LARGE - the arena reached its limit
 *   OTTR_ERR_NOMEM     - out of memory */
ottr_status otlp_json_decode_traces(ottr_arena *arena, const char *json, size_t len,
                                    otlp_traces_data **out, otlp_json_doc *doc, char *err,
                                    size_t errlen);

/* Appends the OTLP/JSON ExportTraceServiceResponse: `{}` when nothing was
 * rejected and there is no message, else
 * `{"partialSuccess":{"rejectedSpans":"N","errorMessage":"..."}}`. */
void otlp_json_encode_response(int64_t rejected, const char *message, ottr_buf *out);

/* ------------------------------------------------------------------ Zipkin */

/* Zipkin span lists: v2 JSON (zipkin2-api.yaml) or protobuf (zipkin.proto3), and
 * v1 JSON. */
typedef enum otlp_zipkin_encoding {
    OTLP_ZIPKIN_JSON = 0,    /* v2 JSON */
    OTLP_ZIPKIN_PROTO = 1,   /* v2 protobuf */
    OTLP_ZIPKIN_JSON_V1 = 2, /* v1 JSON (POST /api/v1/spans) */
} otlp_zipkin_encoding;

/* Span attributes the endpoints of a Zipkin span become (and come back from). */
#define OTLP_ZIPKIN_HOST_IP      "net.host.ip"
#define OTLP_ZIPKIN_HOST_PORT    "net.host.port"
#define OTLP_ZIPKIN_PEER_SERVICE "peer.service"
#define OTLP_ZIPKIN_PEER_IP      "net.peer.ip"
#define OTLP_ZIPKIN_PEER_PORT    "net.peer.port"
/* true on a span that was Zipkin's shared server half: it got an ID of its own
 * and the shared ID (its client's) as parent. */
#define OTLP_ZIPKIN_SHARED "zipkin.shared"
/* true on a span that arrived without a timestamp (started at arrival), the
 * OpenTelemetry Collector's name for it. */
#define OTLP_ZIPKIN_NO_START "otel.zipkin.absentField.startTime"

/* Decodes a Zipkin v2 span list into an OTLP export request in |arena| (otlp/
 * zipkin_otlp.c says how fields map), ready for otlp_batch_build_limited with
 * no wire bytes. |now_ns| is the start of spans without a timestamp. Returns
 * OTTR_OK, or:
 *   OTTR_ERR_INVALID   - not a span list, or a span with a missing or malformed
 *                        trace ID or ID, or a field of the wrong type; |err|
 *                        names the span and the field
 *   OTTR_ERR_TOO_LARGE - the arena reached its limit
 *   OTTR_ERR_NOMEM     - out of memory */
ottr_status otlp_zipkin_decode_request(ottr_arena *arena, otlp_zipkin_encoding enc,
                                       const uint8_t *data, size_t len, uint64_t now_ns,
                                       otlp_request **out, char *err, size_t errlen);

/* 1 when a Zipkin tag named |key| describes the process (telemetry.sdk.*,
 * host.*, ...) and so belongs on the resource, else 0. */
int otlp_zipkin_resource_key(const char *key);

/* ------------------------------------------------------------------ grouping by trace */

/* Problems of one span found by otlp_trace_build_tree, as bit flags. */
#define OTLP_SPAN_ORPHAN    1 /* its parent span ID is not in the trace, or not a valid ID */
#define OTLP_SPAN_DUPLICATE 2 /* an earlier span has the same span ID */
#define OTLP_SPAN_CYCLE     4 /* its parent chain loops */
#define OTLP_SPAN_CUT       8 /* its parent reference was dropped to break a cycle */

/* One span of a request or of a decoded trace, with the resource and scope it
 * came under. All pointers point into the arena the spans were decoded into and
 * live as long as it. */
typedef struct otlp_span_ref {
    const otlp_span *span;
    const otlp_resource *resource; /* may be NULL */
    const otlp_scope *scope;       /* may be NULL */
    const char *service;           /* resource service.name, or "unknown_service"; never NULL */
    uint32_t rs;                   /* index of its ResourceSpans in the request or TracesData */
    int32_t parent;    /* index of the parent span once otlp_trace_build_tree ran; -1 for
                        * roots, orphans, cut spans (and before) */
    uint8_t problems;  /* OTLP_SPAN_*, once otlp_trace_build_tree ran */
    uint32_t wire_len; /* the span's encoded size, as get_packed_size gives it, when
                        * known without walking the span (set by otlp_batch_build*);
                        * 0 when unknown: see otlp_span_ref_size */
} otlp_span_ref;

/* The encoded size of |r|'s span: wire_len, or get_packed_size when unknown. */
static inline size_t otlp_span_ref_size(const otlp_span_ref *r)
{
    return r->wire_len ? r->wire_len
                       : opentelemetry__proto__trace__v1__span__get_packed_size(r->span);
}

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

/* ------------------------------------------------------------------ input limits */

/* What one export request may carry (the limits.* keys of the daemon's
 * configuration); 0 means no limit. A span over a per-span limit, or under a
 * resource or scope over one, is rejected as a span with a bad ID is: left out of
 * the batch and counted. max_spans_per_request is for the caller, which refuses
 * a larger request whole. */
typedef struct otlp_limits {
    uint64_t max_spans_per_request;
    uint64_t max_attributes_per_span;
    uint64_t max_events_per_span;
    uint64_t max_links_per_span;
    uint64_t max_attributes_per_event;    /* each event's own attributes */
    uint64_t max_attributes_per_link;     /* each link's own attributes */
    uint64_t max_attributes_per_resource; /* the resource's, and the scope's, attributes */
    /* Bytes of any attribute's key, and of its value: a string or bytes value, or
     * the strings, bytes and keys nested in an array or kvlist value, summed. Of
     * the span's, its events' and links', its resource's and scope's attributes. */
    uint64_t max_attribute_key_length;
    uint64_t max_attribute_value_length;
} otlp_limits;

/* Why a span was rejected; the index of otlp_batch.rejected_by. */
typedef enum otlp_reject_reason {
    OTLP_REJECT_INVALID,             /* no span, or a bad trace, span or parent span ID */
    OTLP_REJECT_SPANS_PER_REQUEST,   /* set by the caller: the whole request was refused */
    OTLP_REJECT_ATTRIBUTES_PER_SPAN, /* and so on: one per limit of otlp_limits */
    OTLP_REJECT_EVENTS_PER_SPAN,
    OTLP_REJECT_LINKS_PER_SPAN,
    OTLP_REJECT_ATTRIBUTES_PER_EVENT,
    OTLP_REJECT_ATTRIBUTES_PER_LINK,
    OTLP_REJECT_ATTRIBUTES_PER_RESOURCE,
    OTLP_REJECT_ATTRIBUTE_KEY_LENGTH,
    OTLP_REJECT_ATTRIBUTE_VALUE_LENGTH,
    OTLP_REJECT_NREASONS
} otlp_reject_reason;

/* "invalid", or the name of the limit without "limits." ("max_events_per_span"):
 * the reason label of the rejected spans counter. */
const char *otlp_reject_reason_name(otlp_reject_reason r);

/* What a receiver hands to the pipeline: a request's valid spans grouped by trace
 * ID. Lives in the request's arena. */
typedef struct otlp_batch {
    otlp_trace_group *groups;
    size_t ngroups;
    size_t nspans;                            /* total spans over all groups */
    size_t chunk_bytes;                       /* total chunk_len over all groups */
    size_t rejected_by[OTLP_REJECT_NREASONS]; /* spans left out, by reason */
    uint32_t tenant; /* whose spans (the store's tenant number); 0 unless the receiver sets it */
    /* NULL, or for each group where its spans came from as (second << 32 |
     * sequence): a Kafka record's timestamp second and offset. The store keeps
     * each chunk under that name instead of the arrival, so a record taken
     * twice (by another node, or after a restart) overwrites its first copy. */
    const uint64_t *origins;
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

/* Either of the above, also rejecting the spans over |limits| (NULL: none):
 * |wire| NULL re-encodes as otlp_batch_build does. The first reason in |msg|
 * names the span by its place and ID, and the limit: "resource_spans[0].
 * scope_spans[0].spans[3] (span 3f..): 2000 attributes, limit 1024
 * (limits.max_attributes_per_span)". Limits on lengths and on the attributes of
 * events and links cost nothing for a span whose protobuf bytes are too short
 * to pass them; otherwise (and for JSON) each key and string is measured. */
ottr_status otlp_batch_build_limited(ottr_arena *arena, const otlp_request *req,
                                     const uint8_t *wire, size_t len, const otlp_limits *limits,
                                     otlp_batch *out, size_t *rejected, char *msg, size_t msglen);

/* ------------------------------------------------------------------ decoded traces */

/* The spans of a TracesData in order, each with its resource, scope, service and
 * ResourceSpans index. */
typedef struct otlp_trace {
    const otlp_traces_data *td;
    otlp_span_ref *spans;
    size_t nspans;
    int32_t root; /* first span without a parent span ID; -1 when none (or no tree yet) */
    size_t norphans, nduplicates, ncycles; /* set by otlp_trace_build_tree */
} otlp_trace;

/* Decodes |len| bytes of TracesData - a stored chunk (one or more field-1 framed
 * ResourceSpans, as above), or a trace's chunks concatenated - into |t|,
 * allocating from |a| (everything lives as long as the arena; |data| may be NULL
 * when |len| is 0). Returns OTTR_OK, or:
 *   OTTR_ERR_NOMEM   - |a| ran out of memory or reached its limit
 *   OTTR_ERR_CORRUPT - the bytes are not TracesData */
ottr_status otlp_trace_decode(otlp_trace *t, ottr_arena *a, const uint8_t *data, size_t len);

/* The same for a TracesData decoded otherwise (otlp_json_decode_traces): lists
 * its spans in |t|. Returns OTTR_OK or OTTR_ERR_NOMEM. */
ottr_status otlp_trace_from_data(otlp_trace *t, ottr_arena *a, const otlp_traces_data *td);

/* Links every span to its parent and fills root and the problem counts: a span
 * whose parent span ID is empty or all zero is a root; one whose parent ID is not
 * in the trace, or is not 8 bytes, is an orphan; a later span with an ID already
 * seen is a duplicate (IDs resolve to the first); every parent cycle is cut once.
 * Never fails on bad data; returns OTTR_ERR_NOMEM only when |a| runs out. */
ottr_status otlp_trace_build_tree(otlp_trace *t, ottr_arena *a);

/* ------------------------------------------------------------------ attributes */

/* The resource attribute that names the service, and the service of a resource
 * without one (as the OpenTelemetry SDKs default it). */
#define OTLP_SERVICE_NAME    "service.name"
#define OTLP_UNKNOWN_SERVICE "unknown_service"

/* The value of attribute |key| in |kv|, or NULL. */
const otlp_any *otlp_attr_find(otlp_kv *const *kv, size_t n, const char *key);
/* The string value of attribute |key| in |kv|; NULL when absent or not a string. */
const char *otlp_attr_str(otlp_kv *const *kv, size_t n, const char *key);
/* service.name of |r| when it is a non-empty string, else "unknown_service". */
const char *otlp_resource_service(const otlp_resource *r);

/* ------------------------------------------------------------------ enum names */

/* The names of SpanKind and StatusCode values, taken from the protobuf-c enum
 * descriptors: the full name of the .proto and OTLP/JSON ("SPAN_KIND_SERVER",
 * "STATUS_CODE_ERROR"), and the short lower-case word without the common prefix
 * that TraceQL, Tempo, Jaeger and the ottr client use ("server", "error"). NULL
 * for a value the schema does not define. */
const char *otlp_span_kind_name(int kind);
const char *otlp_span_kind_word(int kind);
const char *otlp_status_code_name(int code);
const char *otlp_status_code_word(int code);

/* What otlp_*_parse accept (or-ed). */
#define OTLP_NAME_FULL   1 /* "SPAN_KIND_SERVER" */
#define OTLP_NAME_WORD   2 /* "server" */
#define OTLP_NAME_NOCASE 4 /* ASCII case ignored */

/* The value named by the |n| bytes at |s|, or -1. */
int otlp_span_kind_parse(const char *s, size_t n, unsigned how);
int otlp_status_code_parse(const char *s, size_t n, unsigned how);

/* The status code of |s| (UNSET when it has no status). */
static inline int otlp_span_status_code(const otlp_span *s)
{
    return s->status ? (int)s->status->code : 0;
}

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
/* The text of a double as search terms compare it (and Jaeger shows it): the
 * shortest of %.15g and %.17g that reads back exactly, "NaN", "+Inf", "-Inf".
 * |buf| has at least 32 bytes; returns the length. */
size_t otlp_double_text(char *buf, size_t n, double v);
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
