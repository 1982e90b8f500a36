/* otlp/decode_proto.c - decodes protobuf trace export requests into a request
 * arena: with the schema-specific decoder (decode_fast.c) when it can, else with
 * protobuf-c after a bounded pre-scan of the wire format, so that hostile
 * nesting cannot exhaust the stack inside protobuf-c. */
#include <stdio.h>
#include <string.h>

#include "otlp/otlp.h"

typedef struct pb_scan {
    const uint8_t *start;
    char *err;
    size_t errlen;
} pb_scan;

static int scan_fail(pb_scan *s, const uint8_t *at, const char *what)
{
    if (s->err && s->errlen)
        snprintf(s->err, s->errlen, "invalid protobuf: %s at byte %zu", what,
                 (size_t)(at - s->start));
    return -1;
}

/* The message type of field |field| of |desc|, or NULL when the field is unknown
 * or not a message. OTLP messages have few fields: a linear scan is fastest. */
static const ProtobufCMessageDescriptor *child_descriptor(const ProtobufCMessageDescriptor *desc,
                                                          uint64_t field)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &desc->fields[i];
        if (fd->id == field)
            return fd->type == PROTOBUF_C_TYPE_MESSAGE ? fd->descriptor : NULL;
    }
    return NULL;
}

/* Walks one message of type |desc| in [p, end). */
static int scan_message(pb_scan *s, const ProtobufCMessageDescriptor *desc, const uint8_t *p,
                        const uint8_t *end, int depth)
{
    if (depth > OTLP_PROTO_MAX_DEPTH)
        return scan_fail(s, p, "messages nested too deeply");
    while (p < end) {
        uint64_t key, v;
        size_t n = otlp_varint_get(p, end, &key);
        if (n == 0)
            return scan_fail(s, p, "bad tag");
        uint64_t field = key >> 3;
        unsigned wire = (unsigned)(key & 7);
        if (field == 0 || field > 536870911u)
            return scan_fail(s, p, "bad field number");
        const uint8_t *at = p;
        p += n;
        switch (wire) {
        case 0: /* varint */
            n = otlp_varint_get(p, end, &v);
            if (n == 0)
                return scan_fail(s, at, "bad varint");
            p += n;
            break;
        case 1: /* 64-bit */
            if (end - p < 8)
                return scan_fail(s, at, "truncated fixed64");
            p += 8;
            break;
        case 5: /* 32-bit */
            if (end - p < 4)
                return scan_fail(s, at, "truncated fixed32");
            p += 4;
            break;
        case 2: { /* length-delimited */
            n = otlp_varint_get(p, end, &v);
            if (n == 0)
                return scan_fail(s, at, "bad length");
            p += n;
            if (v > (uint64_t)(end - p))
                return scan_fail(s, at, "length past the end");
            const ProtobufCMessageDescriptor *sub = child_descriptor(desc, field);
            if (sub && scan_message(s, sub, p, p + v, depth + 1) != 0)
                return -1;
            p += v;
            break;
        }
        default: /* groups are not part of proto3 and protobuf-c rejects them */
            return scan_fail(s, at, "unsupported wire type");
        }
    }
    return 0;
}

/* Says why the arena refused an allocation. */
static ottr_status alloc_failed(ottr_status st, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s",
                 st == OTTR_ERR_TOO_LARGE ? "request too large to decode within the memory limit"
                                          : "out of memory");
    return st;
}

ottr_status otlp_proto_decode_request(ottr_arena *arena, const uint8_t *data, size_t len,
                                      otlp_request **out, char *err, size_t errlen)
{
    pb_scan s = {data, err, errlen};
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    ottr_status fail = OTTR_OK;
    int fast = otlp_fast_decode_request(arena, data, len, out, &fail);
    if (fast > 0)
        return OTTR_OK;
    if (fast < 0)
        return alloc_failed(fail, err, errlen);
    if (scan_message(
            &s,
            &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
            data, data + len, 0) != 0)
        return OTTR_ERR_INVALID;

    otlp_pb_flagged fa;
    otlp_pb_flagged_init(&fa, arena);
    /* protobuf-c reads nothing when len is 0 but wants a non-NULL pointer. */
    static const uint8_t empty[1];
    *out = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
        &fa.pb, len, len ? data : empty);
    if (*out)
        return OTTR_OK;
    if (fa.failed != OTTR_OK)
        return alloc_failed(fa.failed, err, errlen);
    if (err && errlen)
        snprintf(err, errlen, "invalid protobuf: a field has the wrong wire type");
    return OTTR_ERR_INVALID;
}
