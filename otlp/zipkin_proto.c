/* otlp/zipkin_proto.c - reads Zipkin's protobuf ListOfSpans (zipkin.proto3)
 * into zk_span structs with the varint helpers of otlp.h: a hand decoder of
 * three small messages, so no generated code. Unknown fields are skipped; a
 * known field of the wrong wire type, a bad length or a truncated message is an
 * error.
 *
 *   ListOfSpans { repeated Span spans = 1; }
 *   Span        { bytes trace_id = 1; bytes parent_id = 2; bytes id = 3;
 *                 Kind kind = 4; string name = 5; fixed64 timestamp = 6;
 *                 uint64 duration = 7; Endpoint local_endpoint = 8;
 *                 Endpoint remote_endpoint = 9; repeated Annotation annotations = 10;
 *                 map<string, string> tags = 11; bool debug = 12; bool shared = 13; }
 *   Endpoint    { string service_name = 1; bytes ipv4 = 2; bytes ipv6 = 3; int32 port = 4; }
 *   Annotation  { fixed64 timestamp = 1; string value = 2; }
 *   tags entry  { string key = 1; string value = 2; } */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "otlp/zipkin.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

typedef struct zp {
    ottr_arena *a;
    ottr_status st;
    char *err;
    size_t errlen;
    size_t index;
} zp;

/* One field: its number, wire type and value (|v| for numbers, |p|, |n| for
 * length-delimited). */
typedef struct zfield {
    uint32_t num;
    int wt;
    uint64_t v;
    const uint8_t *p;
    size_t n;
} zfield;

static int zp_fail(zp *z, const char *what)
{
    if (z->st == OTTR_OK) {
        z->st = OTTR_ERR_INVALID;
        snprintf(z->err, z->errlen, "span %zu: %s", z->index, what);
    }
    return -1;
}

static void *zp_alloc(zp *z, size_t n)
{
    void *p = ottr_arena_alloc(z->a, n ? n : 1);
    if (p == NULL && z->st == OTTR_OK) {
        z->st = otlp_alloc_failure(z->a, n ? n : 1);
        snprintf(z->err, z->errlen, "out of memory");
    }
    return p;
}

/* Reads the field at |*p|: 1 with |f| set and |*p| moved past it, 0 at |end|,
 * -1 when malformed. */
static int zp_next(zp *z, const uint8_t **p, const uint8_t *end, zfield *f)
{
    if (*p >= end)
        return 0;
    uint64_t key;
    size_t k = otlp_varint_get(*p, end, &key);
    if (k == 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return zp_fail(z, "malformed field key");
    *p += k;
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    switch (f->wt) {
    case WT_VARINT:
        k = otlp_varint_get(*p, end, &f->v);
        if (k == 0)
            return zp_fail(z, "malformed varint");
        *p += k;
        return 1;
    case WT_I64:
        if (end - *p < 8)
            return zp_fail(z, "truncated fixed64");
        f->v = 0;
        for (int i = 7; i >= 0; i--)
            f->v = f->v << 8 | (*p)[i];
        *p += 8;
        return 1;
    case WT_I32:
        if (end - *p < 4)
            return zp_fail(z, "truncated fixed32");
        *p += 4;
        return 1;
    case WT_LEN:
        k = otlp_varint_get(*p, end, &f->v);
        if (k == 0 || f->v > (uint64_t)(end - *p - (ptrdiff_t)k))
            return zp_fail(z, "bad length");
        f->p = *p + k;
        f->n = (size_t)f->v;
        *p = f->p + f->n;
        return 1;
    default:
        return zp_fail(z, "unsupported wire type");
    }
}

static int zp_want(zp *z, const zfield *f, int wt, const char *name)
{
    if (f->wt == wt)
        return 0;
    char msg[96];
    snprintf(msg, sizeof(msg), "%s has the wrong wire type", name);
    return zp_fail(z, msg);
}

static const char *zp_str(zp *z, const zfield *f)
{
    char *s = zp_alloc(z, f->n + 1);
    if (s) {
        memcpy(s, f->p, f->n);
        s[f->n] = '\0';
    }
    return s;
}

static int zp_endpoint(zp *z, const zfield *outer, zk_endpoint *e)
{
    memset(e, 0, sizeof(*e));
    const uint8_t *p = outer->p, *end = outer->p + outer->n;
    zfield f;
    int r;
    while ((r = zp_next(z, &p, end, &f)) == 1) {
        if (f.num >= 1 && f.num <= 3 && zp_want(z, &f, WT_LEN, "endpoint field") != 0)
            return -1;
        if (f.num == 1) {
            if (f.n && (e->service = zp_str(z, &f)) == NULL)
                return -1;
        } else if (f.num == 2 || f.num == 3) {
            int fam = f.num == 2 ? AF_INET : AF_INET6;
            if (f.n == 0)
                continue;
            if (f.n != (f.num == 2 ? 4u : 16u))
                return zp_fail(z,
                               f.num == 2 ? "ipv4 should be 4 bytes" : "ipv6 should be 16 bytes");
            char *txt = zp_alloc(z, INET6_ADDRSTRLEN);
            if (txt == NULL || inet_ntop(fam, f.p, txt, INET6_ADDRSTRLEN) == NULL)
                return -1;
            if (f.num == 2)
                e->ipv4 = txt;
            else
                e->ipv6 = txt;
        } else if (f.num == 4) {
            if (zp_want(z, &f, WT_VARINT, "port") != 0)
                return -1;
            e->port = (int)(uint16_t)f.v;
        }
    }
    return r;
}

static int zp_annotation(zp *z, const zfield *outer, zk_annotation *an)
{
    an->timestamp_us = 0;
    an->value = "";
    const uint8_t *p = outer->p, *end = outer->p + outer->n;
    zfield f;
    int r;
    while ((r = zp_next(z, &p, end, &f)) == 1) {
        if (f.num == 1) {
            if (zp_want(z, &f, WT_I64, "annotation timestamp") != 0)
                return -1;
            if (f.v > INT64_MAX / 1000)
                return zp_fail(z, "annotation timestamp is out of range");
            an->timestamp_us = f.v;
        } else if (f.num == 2) {
            if (zp_want(z, &f, WT_LEN, "annotation value") != 0 ||
                (an->value = zp_str(z, &f)) == NULL)
                return -1;
        }
    }
    return r;
}

static int zp_tag(zp *z, const zfield *outer, zk_tag *t)
{
    t->key = "";
    t->value = "";
    const uint8_t *p = outer->p, *end = outer->p + outer->n;
    zfield f;
    int r;
    while ((r = zp_next(z, &p, end, &f)) == 1) {
        if (f.num != 1 && f.num != 2)
            continue;
        const char *s;
        if (zp_want(z, &f, WT_LEN, "tag") != 0 || (s = zp_str(z, &f)) == NULL)
            return -1;
        if (f.num == 1)
            t->key = s;
        else
            t->value = s;
    }
    return r;
}

static int zp_id(zp *z, const zfield *f, uint8_t *out, size_t n, const char *name)
{
    char msg[64];
    if (zp_want(z, f, WT_LEN, name) != 0)
        return -1;
    /* 8 bytes, or 16 for a trace ID; big-endian, right-aligned. */
    if (f->n != 8 && f->n != n) {
        snprintf(msg, sizeof(msg), "%s should be %s bytes", name, n == 16 ? "8 or 16" : "8");
        return zp_fail(z, msg);
    }
    memset(out, 0, n);
    memcpy(out + n - f->n, f->p, f->n);
    return 0;
}

/* Counts the repeated fields of a span first, so each array is allocated once. */
static int zp_span(zp *z, const zfield *outer, zk_span *s)
{
    memset(s, 0, sizeof(*s));
    s->name = "";
    const uint8_t *p = outer->p, *end = outer->p + outer->n;
    zfield f;
    int r;
    size_t nann = 0, ntags = 0;
    while ((r = zp_next(z, &p, end, &f)) == 1) {
        nann += f.num == 10;
        ntags += f.num == 11;
    }
    if (r < 0)
        return -1;
    s->annotations = zp_alloc(z, nann * sizeof(zk_annotation));
    s->tags = zp_alloc(z, ntags * sizeof(zk_tag));
    if (s->annotations == NULL || s->tags == NULL)
        return -1;
    bool has_trace = false, has_id = false;
    p = outer->p;
    while ((r = zp_next(z, &p, end, &f)) == 1) {
        switch (f.num) {
        case 1:
            if (zp_id(z, &f, s->trace_id, 16, "trace_id") != 0)
                return -1;
            has_trace = true;
            break;
        case 2:
            if (f.wt == WT_LEN && f.n == 0)
                break; /* an empty parent ID: a root */
            if (zp_id(z, &f, s->parent_id, 8, "parent_id") != 0)
                return -1;
            s->has_parent = true;
            break;
        case 3:
            if (zp_id(z, &f, s->id, 8, "id") != 0)
                return -1;
            has_id = true;
            break;
        case 4:
            if (zp_want(z, &f, WT_VARINT, "kind") != 0)
                return -1;
            s->kind = f.v <= ZK_KIND_CONSUMER ? (int)f.v : ZK_KIND_NONE;
            break;
        case 5:
            if (zp_want(z, &f, WT_LEN, "name") != 0 || (s->name = zp_str(z, &f)) == NULL)
                return -1;
            break;
        case 6:
            if (zp_want(z, &f, WT_I64, "timestamp") != 0)
                return -1;
            if (f.v > INT64_MAX / 1000)
                return zp_fail(z, "timestamp is out of range");
            s->timestamp_us = f.v;
            s->has_timestamp = f.v > 0;
            break;
        case 7:
            if (zp_want(z, &f, WT_VARINT, "duration") != 0)
                return -1;
            if (f.v > INT64_MAX / 1000)
                return zp_fail(z, "duration is out of range");
            s->duration_us = f.v;
            break;
        case 8:
        case 9:
            if (zp_want(z, &f, WT_LEN, "endpoint") != 0 ||
                zp_endpoint(z, &f, f.num == 8 ? &s->local : &s->remote) != 0)
                return -1;
            break;
        case 10:
            if (zp_want(z, &f, WT_LEN, "annotation") != 0 ||
                zp_annotation(z, &f, &s->annotations[s->nannotations++]) != 0)
                return -1;
            break;
        case 11:
            if (zp_want(z, &f, WT_LEN, "tags") != 0 || zp_tag(z, &f, &s->tags[s->ntags++]) != 0)
                return -1;
            break;
        case 12:
        case 13:
            if (zp_want(z, &f, WT_VARINT, f.num == 12 ? "debug" : "shared") != 0)
                return -1;
            if (f.num == 13)
                s->shared = f.v != 0;
            break;
        default:
            break;
        }
    }
    if (r < 0)
        return -1;
    if (!has_trace)
        return zp_fail(z, "trace_id is missing");
    if (!has_id)
        return zp_fail(z, "id is missing");
    return 0;
}

ottr_status otlp_zk_decode_proto(ottr_arena *a, const uint8_t *data, size_t len, zk_spans *out,
                                 char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    zp z = {.a = a, .st = OTTR_OK, .err = err, .errlen = errlen};
    const uint8_t *p = data, *end = data + len;
    zfield f;
    int r;
    size_t n = 0;
    while ((r = zp_next(&z, &p, end, &f)) == 1)
        n += f.num == 1;
    if (r < 0)
        return z.st;
    out->v = zp_alloc(&z, n * sizeof(zk_span));
    if (out->v == NULL)
        return z.st;
    p = data;
    while ((r = zp_next(&z, &p, end, &f)) == 1) {
        if (f.num != 1)
            continue;
        z.index = out->n;
        if (zp_want(&z, &f, WT_LEN, "spans") != 0 || zp_span(&z, &f, &out->v[out->n]) != 0)
            return z.st;
        out->n++;
    }
    return z.st;
}
