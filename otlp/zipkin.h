/* otlp/zipkin.h - Zipkin v2 spans as the two Zipkin decoders (zipkin_json.c,
 * zipkin_proto.c) read them, before zipkin_otlp.c turns them into an OTLP
 * request. Everything lives in the request arena. Private to otlp/. */
#ifndef OTTR_OTLP_ZIPKIN_H
#define OTTR_OTLP_ZIPKIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

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
ottr_status otlp_zk_decode_json(ottr_arena *a, const char *json, size_t len, zk_spans *out,
                                char *err, size_t errlen);
/* Zipkin v1 JSON (the span list of POST /api/v1/spans, zipkin_json_v1.c): each
 * span's core annotations (cs, cr, sr, ss, ms, mr) give its kind, times and
 * local endpoint, its address annotations (ca, sa, ma) the remote one; a span
 * with both client and server annotations becomes two, the server half shared. */
ottr_status otlp_zk_decode_json_v1(ottr_arena *a, const char *json, size_t len, zk_spans *out,
                                   char *err, size_t errlen);
ottr_status otlp_zk_decode_proto(ottr_arena *a, const uint8_t *data, size_t len, zk_spans *out,
                                 char *err, size_t errlen);

/* ---- the JSON readers' shared pieces (zipkin_json.c) ---- */

/* A reader's state: the first error wins. */
typedef struct otlp_zj {
    ottr_arena *a;
    ottr_status st; /* OTTR_OK until something fails */
    char *err;
    size_t errlen;
    size_t index; /* the span being read, for messages */
} otlp_zj;

/* Reads one span object |o| into |out| (room for the reader's |per_span|
 * spans), setting |*n| to how many it wrote. Returns 0 or -1 (error recorded). */
typedef int (*otlp_zj_span_fn)(otlp_zj *z, json_object *o, zk_span *out, size_t *n);
/* Parses |json| as one JSON array (depth-limited) and reads each element with
 * |fn| into |out|. Returns OTTR_OK, OTTR_ERR_INVALID (message in |err|) or
 * OTTR_ERR_NOMEM / OTTR_ERR_TOO_LARGE. */
ottr_status otlp_zj_read_list(ottr_arena *a, const char *json, size_t len, size_t per_span,
                              otlp_zj_span_fn fn, zk_spans *out, char *err, size_t errlen);
/* Records "span N: |field| |what|" as the error; returns -1. */
int otlp_zj_fail(otlp_zj *z, const char *field, const char *what);
/* From the arena; NULL (error recorded) when it runs out. */
void *otlp_zj_alloc(otlp_zj *z, size_t n);
const char *otlp_zj_strdup(otlp_zj *z, const char *s, size_t n);
/* The field readers: |v| may be NULL (absent). otlp_zj_str, _endpoint and
 * _bool: 0 (absent or null leaves |*out| NULL, zeroed, unchanged) or -1;
 * otlp_zj_u64 and _id: 1 present, 0 absent, -1. */
int otlp_zj_str(otlp_zj *z, json_object *v, const char *field, const char **out);
int otlp_zj_u64(otlp_zj *z, json_object *v, const char *field, uint64_t max, uint64_t *out);
int otlp_zj_id(otlp_zj *z, json_object *v, const char *field, uint8_t *out, size_t n);
int otlp_zj_endpoint(otlp_zj *z, json_object *v, const char *field, zk_endpoint *e);
int otlp_zj_bool(otlp_zj *z, json_object *v, const char *field, bool *out);

/* Parses 1 to |2 * n| hex digits of |s| (|len| bytes) into |out| (|n| bytes),
 * left-padded with zeros, as Zipkin accepts IDs. Returns 0 or -1. */
int otlp_zk_parse_hex_id(const char *s, size_t len, uint8_t *out, size_t n);

/* The span kind named by |s| ("CLIENT", any case), or -1. */
int otlp_zk_kind_parse(const char *s);

#endif /* OTTR_OTLP_ZIPKIN_H */
