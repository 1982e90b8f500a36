/* collector/otlp_json.h - OTLP/JSON for the trace export: decodes a request into
 * the protobuf-c structs a protobuf decode gives, and encodes the response.
 * Private to collector/. */
#ifndef OTTR_COLLECTOR_OTLP_JSON_H
#define OTTR_COLLECTOR_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

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
ottr_status otlp_json_decode_request(
    ottr_arena *arena, const char *json, size_t len,
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest **out, char *err,
    size_t errlen);

/* Appends the OTLP/JSON ExportTraceServiceResponse: `{}` when nothing was
 * rejected and there is no message, else
 * `{"partialSuccess":{"rejectedSpans":"N","errorMessage":"..."}}`. */
void otlp_json_encode_response(int64_t rejected, const char *message, ottr_buf *out);

#endif /* OTTR_COLLECTOR_OTLP_JSON_H */
