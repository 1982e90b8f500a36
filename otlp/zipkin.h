/* otlp/zipkin.h - Zipkin v2 spans as the two Zipkin decoders (zipkin_json.c,
 * zipkin_proto.c) read them, before zipkin_otlp.c turns them into an OTLP
 * request. Everything lives in the request arena. Private to otlp/. */
#ifndef OTTR_OTLP_ZIPKIN_H
#define OTTR_OTLP_ZIPKIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otlp/otlp.h"

/* Zipkin's span kinds, numbered as in zipkin.proto3. */
enum {
    ZK_KIND_NONE = 0,
    ZK_KIND_CLIENT = 1,
    ZK_KIND_SERVER = 2,
    ZK_KIND_PRODUCER = 3,
    ZK_KIND_CONSUMER = 4,
};

typedef struct zk_endpoint {
    const char *service; /* NULL when absent or empty */
    const char *ipv4;    /* text ("10.0.0.1"), NULL when absent */
    const char *ipv6;    /* text, NULL when absent */
    int port;            /* 0 when absent */
} zk_endpoint;

typedef struct zk_annotation {
    uint64_t timestamp_us;
    const char *value; /* never NULL */
} zk_annotation;

typedef struct zk_tag {
    const char *key;   /* never NULL */
    const char *value; /* never NULL */
} zk_tag;

typedef struct zk_span {
    uint8_t trace_id[16]; /* a 64-bit ID fills the low 8 bytes */
    uint8_t id[8];
    uint8_t parent_id[8];
    bool has_parent;
    int kind;         /* ZK_KIND_* */
    const char *name; /* never NULL; "" when absent */
    uint64_t timestamp_us;
    bool has_timestamp;
    uint64_t duration_us;
    zk_endpoint local, remote;
    zk_annotation *annotations;
    size_t nannotations;
    zk_tag *tags;
    size_t ntags;
    bool shared;
} zk_span;

/* What both decoders return: the spans of one request, in order. */
typedef struct zk_spans {
    zk_span *v;
    size_t n;
} zk_spans;

/* The decoders. Each returns OTTR_OK, OTTR_ERR_INVALID (message in |err|, not
 * prefixed), or OTTR_ERR_NOMEM / OTTR_ERR_TOO_LARGE when |a| runs out. */
ottr_status zk_decode_json(ottr_arena *a, const char *json, size_t len, zk_spans *out, char *err,
                           size_t errlen);
ottr_status zk_decode_proto(ottr_arena *a, const uint8_t *data, size_t len, zk_spans *out,
                            char *err, size_t errlen);

/* Parses 1 to |2 * n| hex digits of |s| (|len| bytes) into |out| (|n| bytes),
 * left-padded with zeros, as Zipkin accepts IDs. Returns 0 or -1. */
int zk_parse_hex_id(const char *s, size_t len, uint8_t *out, size_t n);

/* The span kind named by |s| ("CLIENT", any case), or -1. */
int zk_kind_parse(const char *s);

#endif /* OTTR_OTLP_ZIPKIN_H */
