/* collector/otlp_proto.h - safe protobuf decoding of OTLP trace export requests
 * into a request arena. Private to collector/. */
#ifndef OTTR_COLLECTOR_OTLP_PROTO_H
#define OTTR_COLLECTOR_OTLP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* The deepest message nesting accepted (each AnyValue array level costs two). */
#define OTLP_PROTO_MAX_DEPTH 64

/* Checks the wire format of |data| against the ExportTraceServiceRequest schema
 * (well-formed tags, varints and lengths; message nesting at most
 * OTLP_PROTO_MAX_DEPTH, since protobuf-c recurses without a bound), then unpacks
 * it with |arena| as the allocator. Returns OTTR_OK with *out set, or:
 *   OTTR_ERR_INVALID   - malformed or too deeply nested; message in |err|
 *   OTTR_ERR_TOO_LARGE - the arena reached its limit
 *   OTTR_ERR_NOMEM     - out of memory */
ottr_status otlp_proto_decode_request(
    ottr_arena *arena, const uint8_t *data, size_t len,
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest **out, char *err,
    size_t errlen);

#endif /* OTTR_COLLECTOR_OTLP_PROTO_H */
