/* otlp/batch.c - the ingest hand-off: groups a decoded export request's spans by
 * trace ID and encodes each trace's share as framed ResourceSpans chunks, copying
 * the original bytes when they are at hand and re-encoding otherwise. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "otlp/otlp.h"

#define NO_GROUP UINT32_MAX

/* One ScopeSpans of the request with what every chunk that holds its spans needs:
 * the resource and scope packed once, however many traces they are repeated in. */
typedef struct scope_info {
    const otlp_resource_spans *rs;
    const otlp_scope_spans *ss;
    const char *service;
    size_t ri, sj;            /* indexes in the request, for messages */
    size_t ss_global;         /* index among all ScopeSpans of the request */
    size_t span_first;        /* index of its first span among all spans of the request */
    size_t res_len;           /* encoded Resource size (valid when rs->resource) */
    size_t scope_len;         /* encoded InstrumentationScope size (valid when ss->scope) */
    const uint8_t *res_bytes; /* packed once, or the original bytes */
    const uint8_t *scope_bytes;
} scope_info;

/* Where the request's messages are in the bytes it was unpacked from, so chunks
 * can copy them instead of re-encoding: one entry per ResourceSpans (its resource),
 * per ScopeSpans (its scope) and per Span, in request order. p is NULL for an
 * absent resource or scope. */
typedef struct wire_ref {
    const uint8_t *p;
    size_t len;
} wire_ref;

typedef struct wire_map {
    wire_ref *res;
    wire_ref *scope;
    wire_ref *spans;
} wire_map;

/* The working state of one otlp_batch_build call; everything lives in |arena|. */
typedef struct builder {
    ottr_arena *arena;
    ottr_status fail; /* why the last allocation failed */
    scope_info *scopes;
    size_t nscopes;
    uint32_t *span_group; /* per span in request order: its group or NO_GROUP */
    uint32_t *table;      /* open addressing, group index + 1, 0 = empty */
    size_t table_mask;
    otlp_trace_group *groups;
    size_t ngroups;
    uint32_t *ref_scope;     /* per ref (all groups, contiguous): its scope_info index */
    size_t *ref_size;        /* per ref: encoded Span size */
    const uint8_t **ref_raw; /* per ref: the original Span bytes, when |wire| */
    const wire_map *wire;    /* NULL: re-encode everything */
} builder;

static uint64_t hash_seed(void)
{
    static _Atomic uint64_t seed;
    uint64_t s = seed;
    if (s == 0) {
        /* Unpredictable enough that crafted trace IDs cannot aim at one bucket. */
        uint64_t x = ottr_mono_ns() ^ ((uint64_t)(uintptr_t)&s << 16) ^ ottr_now_ns();
        s = XXH3_64bits(&x, sizeof(x)) | 1;
        seed = s; /* racing writers store equally good seeds; any one is fine */
    }
    return s;
}

static void *builder_alloc(builder *b, size_t n)
{
    void *p = ottr_arena_alloc(b->arena, n ? n : 1);
    if (p == NULL)
        b->fail = otlp_alloc_failure(b->arena, n ? n : 1);
    return p;
}

/* n * size with an overflow check (the result is only used for allocation). */
static size_t mul_size(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return SIZE_MAX;
    return n * size;
}

static int is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Returns NULL when |s| is a valid span, else why it is not. */
static const char *span_invalid(const otlp_span *s)
{
    if (s->trace_id.len != 16)
        return s->trace_id.len == 0 ? "trace_id is empty" : "trace_id is not 16 bytes";
    if (is_zero(s->trace_id.data, 16))
        return "trace_id is all zeros";
    if (s->span_id.len != 8)
        return s->span_id.len == 0 ? "span_id is empty" : "span_id is not 8 bytes";
    if (is_zero(s->span_id.data, 8))
        return "span_id is all zeros";
    if (s->parent_span_id.len != 0 && s->parent_span_id.len != 8)
        return "parent_span_id is neither empty nor 8 bytes";
    return NULL;
}

/* ------------------------------------------------------------------ limits */

#define NO_REJECT (-1)

/* Deeper values count as too long; the decoders never nest this deep. */
#define VALUE_MAX_DEPTH OTLP_JSON_MAX_DEPTH

#define ANY_CASE(c) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##c

static const char *const reason_names[OTLP_REJECT_NREASONS] = {
    [OTLP_REJECT_INVALID] = "invalid",
    [OTLP_REJECT_SPANS_PER_REQUEST] = "max_spans_per_request",
    [OTLP_REJECT_ATTRIBUTES_PER_SPAN] = "max_attributes_per_span",
    [OTLP_REJECT_EVENTS_PER_SPAN] = "max_events_per_span",
    [OTLP_REJECT_LINKS_PER_SPAN] = "max_links_per_span",
    [OTLP_REJECT_ATTRIBUTES_PER_EVENT] = "max_attributes_per_event",
    [OTLP_REJECT_ATTRIBUTES_PER_LINK] = "max_attributes_per_link",
    [OTLP_REJECT_ATTRIBUTES_PER_RESOURCE] = "max_attributes_per_resource",
    [OTLP_REJECT_ATTRIBUTE_KEY_LENGTH] = "max_attribute_key_length",
    [OTLP_REJECT_ATTRIBUTE_VALUE_LENGTH] = "max_attribute_value_length",
};

const char *otlp_reject_reason_name(otlp_reject_reason r)
{
    return (unsigned)r < OTLP_REJECT_NREASONS ? reason_names[r] : "unknown";
}

static size_t add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Bytes of the strings and bytes in |v|, with the values and keys nested in
 * arrays and kvlists. */
static size_t value_bytes(const otlp_any *v, int depth)
{
    if (v == NULL)
        return 0;
    if (depth > VALUE_MAX_DEPTH)
        return SIZE_MAX;
    size_t n = 0;
    switch (v->value_case) {
    case ANY_CASE(STRING_VALUE):
        return v->string_value ? strlen(v->string_value) : 0;
    case ANY_CASE(BYTES_VALUE):
        return v->bytes_value.len;
    case ANY_CASE(ARRAY_VALUE):
        if (v->array_value)
            for (size_t i = 0; i < v->array_value->n_values; i++)
                n = add_sat(n, value_bytes(v->array_value->values[i], depth + 1));
        return n;
    case ANY_CASE(KVLIST_VALUE):
        if (v->kvlist_value)
            for (size_t i = 0; i < v->kvlist_value->n_values; i++) {
                const otlp_kv *kv = v->kvlist_value->values[i];
                if (kv)
                    n = add_sat(n, add_sat(kv->key ? strlen(kv->key) : 0,
                                           value_bytes(kv->value, depth + 1)));
            }
        return n;
    default:
        return 0;
    }
}

/* A message being written into a fixed buffer, cut at its size. */
typedef struct msgbuf {
    char *p;
    size_t cap, len; /* cap > 0 */
} msgbuf;

static void say(msgbuf *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(msgbuf *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->p + m->len, m->cap - m->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->len = (size_t)n < m->cap - m->len ? m->len + (size_t)n : m->cap - 1;
}

/* Where a list of attributes is, for messages: the span's, resource's or
 * scope's own (list NULL), or "events[2]" and the like. */
typedef struct attrs_where {
    const char *list;
    size_t index;
} attrs_where;

static const attrs_where OWN = {NULL, 0};

static void say_where(msgbuf *m, attrs_where w, const char *sep)
{
    if (w.list)
        say(m, "%s[%zu]%s", w.list, w.index, sep);
}

/* "<count> <what>, limit <max> (limits.<name>)", after where they are. */
static void say_count(msgbuf *m, attrs_where w, size_t count, const char *what, uint64_t max,
                      otlp_reject_reason r)
{
    say_where(m, w, ": ");
    say(m, "%zu %s, limit %llu (limits.%s)", count, what, (unsigned long long)max, reason_names[r]);
}

/* Checks the lengths of the keys and values of |n| attributes |kv|. Returns
 * NO_REJECT or the reason, written to |why| (may be NULL) with the key. */
static int attrs_too_long(const otlp_limits *l, otlp_kv *const *kv, size_t n, attrs_where w,
                          msgbuf *why)
{
    for (size_t i = 0; i < n; i++) {
        if (kv[i] == NULL)
            continue;
        size_t klen = kv[i]->key ? strlen(kv[i]->key) : 0;
        size_t len = klen;
        uint64_t max = l->max_attribute_key_length;
        otlp_reject_reason r = OTLP_REJECT_ATTRIBUTE_KEY_LENGTH;
        if (klen <= max) {
            len = value_bytes(kv[i]->value, 0);
            max = l->max_attribute_value_length;
            r = OTLP_REJECT_ATTRIBUTE_VALUE_LENGTH;
            if (len <= max)
                continue;
        }
        if (why) {
            /* The key in printable ASCII (messages end up in protobuf strings), cut short. */
            char key[48];
            size_t k = 0;
            for (; k < klen && k + 1 < sizeof(key); k++) {
                unsigned char c = (unsigned char)kv[i]->key[k];
                key[k] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
            }
            key[k] = '\0';
            say_where(why, w, ".");
            say(why, "attribute \"%s%s\": %s of %zu bytes, limit %llu (limits.%s)", key,
                k < klen ? "..." : "", r == OTLP_REJECT_ATTRIBUTE_KEY_LENGTH ? "key" : "value", len,
                (unsigned long long)max, reason_names[r]);
        }
        return (int)r;
    }
    return NO_REJECT;
}

/* Checks |n| attributes |kv| against the count |max| (reason |r|) and, when
 * |walk|, their lengths. Returns NO_REJECT or the reason, written to |why|. */
static int attrs_over(const otlp_limits *l, otlp_kv *const *kv, size_t n, uint64_t max,
                      otlp_reject_reason r, int walk, attrs_where w, msgbuf *why)
{
    if (n > max) {
        if (why)
            say_count(why, w, n, "attributes", max, r);
        return (int)r;
    }
    return walk ? attrs_too_long(l, kv, n, w, why) : NO_REJECT;
}

/* The longest protobuf encoding of a span (or resource, or scope) that cannot
 * pass a limit on lengths, or on the attributes of events or links: any string
 * in it is at most that long, and every attribute costs at least 2 bytes. */
static size_t walk_threshold(const otlp_limits *l)
{
    uint64_t t = l->max_attribute_key_length;
    if (l->max_attribute_value_length < t)
        t = l->max_attribute_value_length;
    if (l->max_attributes_per_event < t / 2)
        t = 2 * l->max_attributes_per_event + 1;
    if (l->max_attributes_per_link < t / 2)
        t = 2 * l->max_attributes_per_link + 1;
    return t < SIZE_MAX ? (size_t)t : SIZE_MAX;
}

/* Checks |sp| against |l|; the lengths and the attributes of events and links
 * only when |walk|. Returns NO_REJECT or the reason, written to |why| (may be
 * NULL). */
static int span_over_limits(const otlp_limits *l, const otlp_span *sp, int walk, msgbuf *why)
{
    int r = attrs_over(l, sp->attributes, sp->n_attributes, l->max_attributes_per_span,
                       OTLP_REJECT_ATTRIBUTES_PER_SPAN, walk, OWN, why);
    if (r != NO_REJECT)
        return r;
    if (sp->n_events > l->max_events_per_span) {
        if (why)
            say_count(why, OWN, sp->n_events, "events", l->max_events_per_span,
                      OTLP_REJECT_EVENTS_PER_SPAN);
        return OTLP_REJECT_EVENTS_PER_SPAN;
    }
    if (sp->n_links > l->max_links_per_span) {
        if (why)
            say_count(why, OWN, sp->n_links, "links", l->max_links_per_span,
                      OTLP_REJECT_LINKS_PER_SPAN);
        return OTLP_REJECT_LINKS_PER_SPAN;
    }
    if (!walk)
        return NO_REJECT;
    for (size_t i = 0; i < sp->n_events; i++) {
        const otlp_event *e = sp->events[i];
        if (e && (r = attrs_over(l, e->attributes, e->n_attributes, l->max_attributes_per_event,
                                 OTLP_REJECT_ATTRIBUTES_PER_EVENT, 1, (attrs_where){"events", i},
                                 why)) != NO_REJECT)
            return r;
    }
    for (size_t i = 0; i < sp->n_links; i++) {
        const otlp_link *k = sp->links[i];
        if (k && (r = attrs_over(l, k->attributes, k->n_attributes, l->max_attributes_per_link,
                                 OTLP_REJECT_ATTRIBUTES_PER_LINK, 1, (attrs_where){"links", i},
                                 why)) != NO_REJECT)
            return r;
    }
    return NO_REJECT;
}

/* Finds or adds the group of |trace_id|. Returns its index. */
static uint32_t group_lookup(builder *b, const uint8_t *trace_id, uint64_t seed)
{
    size_t i = (size_t)XXH3_64bits_withSeed(trace_id, 16, seed) & b->table_mask;
    for (;;) {
        uint32_t slot = b->table[i];
        if (slot == 0)
            break;
        if (memcmp(b->groups[slot - 1].trace_id, trace_id, 16) == 0)
            return slot - 1;
        i = (i + 1) & b->table_mask;
    }
    uint32_t g = (uint32_t)b->ngroups++;
    otlp_trace_group *grp = &b->groups[g];
    memcpy(grp->trace_id, trace_id, 16);
    grp->spans = NULL;
    grp->nspans = 0;
    grp->chunk = NULL;
    grp->chunk_len = 0;
    b->table[i] = g + 1;
    return g;
}

/* Size of a length-delimited field with a one-byte tag and |len| bytes of value. */
static size_t field_len(size_t len)
{
    return 1 + otlp_varint_len(len) + len;
}

/* Sizes of one ResourceSpans holding refs [from, to) of a group, all under scope
 * |si|: fills |*ss_len| (the ScopeSpans value) and returns the ResourceSpans value
 * size. */
static size_t run_sizes(const builder *b, const scope_info *si, size_t from, size_t to,
                        size_t *ss_len)
{
    size_t ss = 0;
    if (si->ss->scope)
        ss += field_len(si->scope_len);
    for (size_t r = from; r < to; r++)
        ss += field_len(b->ref_size[r]);
    if (si->ss->schema_url && si->ss->schema_url[0])
        ss += field_len(strlen(si->ss->schema_url));
    *ss_len = ss;
    size_t rs = 0;
    if (si->rs->resource)
        rs += field_len(si->res_len);
    rs += field_len(ss);
    if (si->rs->schema_url && si->rs->schema_url[0])
        rs += field_len(strlen(si->rs->schema_url));
    return rs;
}

/* Packs the resource and scope of |si| once, on first use. Returns 0 or -1. */
static int scope_pack(builder *b, scope_info *si)
{
    if (si->rs->resource && si->res_bytes == NULL) {
        uint8_t *p = builder_alloc(b, si->res_len);
        if (p == NULL)
            return -1;
        protobuf_c_message_pack(&si->rs->resource->base, p);
        si->res_bytes = p;
    }
    if (si->ss->scope && si->scope_bytes == NULL) {
        uint8_t *p = builder_alloc(b, si->scope_len);
        if (p == NULL)
            return -1;
        protobuf_c_message_pack(&si->ss->scope->base, p);
        si->scope_bytes = p;
    }
    return 0;
}

static uint8_t *put_string_field(uint8_t *p, uint8_t tag, const char *s)
{
    if (s && s[0]) {
        size_t n = strlen(s);
        *p++ = tag;
        p = otlp_varint_put(p, n);
        memcpy(p, s, n);
        p += n;
    }
    return p;
}

/* Writes one framed ResourceSpans for refs [from, to) of a group at |p|. */
static uint8_t *run_write(builder *b, uint8_t *p, const otlp_trace_group *g, const scope_info *si,
                          size_t base, size_t from, size_t to)
{
    size_t ss_len;
    size_t rs_len = run_sizes(b, si, base + from, base + to, &ss_len);
    *p++ = 0x0a; /* TracesData.resource_spans */
    p = otlp_varint_put(p, rs_len);
    if (si->rs->resource) {
        *p++ = 0x0a; /* ResourceSpans.resource */
        p = otlp_varint_put(p, si->res_len);
        memcpy(p, si->res_bytes, si->res_len);
        p += si->res_len;
    }
    *p++ = 0x12; /* ResourceSpans.scope_spans */
    p = otlp_varint_put(p, ss_len);
    if (si->ss->scope) {
        *p++ = 0x0a; /* ScopeSpans.scope */
        p = otlp_varint_put(p, si->scope_len);
        memcpy(p, si->scope_bytes, si->scope_len);
        p += si->scope_len;
    }
    for (size_t r = from; r < to; r++) {
        size_t n = b->ref_size[base + r];
        *p++ = 0x12; /* ScopeSpans.spans */
        p = otlp_varint_put(p, n);
        if (b->ref_raw)
            memcpy(p, b->ref_raw[base + r], n);
        else
            protobuf_c_message_pack(&g->spans[r].span->base, p);
        p += n;
    }
    p = put_string_field(p, 0x1a, si->ss->schema_url); /* ScopeSpans.schema_url */
    p = put_string_field(p, 0x1a, si->rs->schema_url); /* ResourceSpans.schema_url */
    return p;
}

/* Counts spans and scopes, fills |b->scopes|. Returns the span count or SIZE_MAX on
 * allocation failure. */
static size_t builder_scan(builder *b, const otlp_request *req)
{
    size_t nspans = 0, nscopes = 0, ss_global = 0, span_first = 0;
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const otlp_resource_spans *rs = req->resource_spans[i];
        if (rs == NULL)
            continue;
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const otlp_scope_spans *ss = rs->scope_spans[j];
            if (ss == NULL || ss->n_spans == 0)
                continue;
            nscopes++;
            nspans += ss->n_spans;
        }
    }
    if (nspans == 0)
        return 0;
    b->scopes = builder_alloc(b, mul_size(nscopes, sizeof(scope_info)));
    if (b->scopes == NULL)
        return SIZE_MAX;
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const otlp_resource_spans *rs = req->resource_spans[i];
        if (rs == NULL)
            continue;
        const char *service = otlp_resource_service(rs->resource);
        for (size_t j = 0; j < rs->n_scope_spans; j++, ss_global++) {
            const otlp_scope_spans *ss = rs->scope_spans[j];
            if (ss == NULL || ss->n_spans == 0)
                continue;
            scope_info *si = &b->scopes[b->nscopes++];
            memset(si, 0, sizeof(*si));
            si->rs = rs;
            si->ss = ss;
            si->service = service;
            si->ri = i;
            si->sj = j;
            si->ss_global = ss_global;
            si->span_first = span_first;
            span_first += ss->n_spans;
        }
    }
    return nspans;
}

/* Reads a varint at |*p| (before |end|) and moves past it. Returns 0, or -1 when
 * malformed or truncated. */
static inline int wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    size_t n = otlp_varint_get(*p, end, v);
    *p += n;
    return n ? 0 : -1;
}

/* Reads one field's key, and for length-delimited fields its value's extent.
 * Returns the wire type, or -1 on anything malformed or a group. */
static int wire_field(const uint8_t **p, const uint8_t *end, uint64_t *field, wire_ref *val)
{
    uint64_t key, n;
    if (wire_varint(p, end, &key) != 0)
        return -1;
    *field = key >> 3;
    int wt = (int)(key & 7);
    switch (wt) {
    case 0:
        return wire_varint(p, end, &n) == 0 ? 0 : -1;
    case 1:
    case 5: {
        size_t w = wt == 1 ? 8 : 4;
        if ((size_t)(end - *p) < w)
            return -1;
        *p += w;
        return wt;
    }
    case 2:
        if (wire_varint(p, end, &n) != 0 || n > (uint64_t)(end - *p))
            return -1;
        val->p = *p;
        val->len = (size_t)n;
        *p += n;
        return 2;
    default:
        return -1;
    }
}

/* Scans ScopeSpans bytes |v|: records its scope and spans. Returns 0, or -1 when
 * the layout does not match the decoded |ss|. */
static int wire_scan_scope(const wire_ref *v, const otlp_scope_spans *ss, wire_map *m, size_t si,
                           size_t *ki, size_t nsp)
{
    const uint8_t *p = v->p, *end = v->p + v->len;
    size_t spans = 0;
    m->scope[si].p = NULL;
    m->scope[si].len = 0;
    while (p < end) {
        uint64_t f;
        wire_ref val;
        int wt = wire_field(&p, end, &f, &val);
        if (wt < 0 || ((f == 1 || f == 2) && wt != 2))
            return -1;
        if (f == 1) {
            if (m->scope[si].p) /* a repeated singular message is merged: re-encode */
                return -1;
            m->scope[si] = val;
        } else if (f == 2) {
            if (*ki >= nsp)
                return -1;
            m->spans[(*ki)++] = val;
            spans++;
        }
    }
    if (ss == NULL || spans != ss->n_spans || (m->scope[si].p != NULL) != (ss->scope != NULL))
        return -1;
    return 0;
}

/* Maps the decoded |req| onto the bytes |data| it was unpacked from. Returns 0, -1
 * when they do not line up (the caller re-encodes), -2 when out of memory. */
static int wire_scan(builder *b, const otlp_request *req, const uint8_t *data, size_t len,
                     wire_map *m)
{
    size_t nrs = req->n_resource_spans, nss = 0, nsp = 0;
    for (size_t i = 0; i < nrs; i++) {
        const otlp_resource_spans *rs = req->resource_spans[i];
        if (rs == NULL)
            return -1;
        nss += rs->n_scope_spans;
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            if (rs->scope_spans[j] == NULL)
                return -1;
            nsp += rs->scope_spans[j]->n_spans;
        }
    }
    m->res = builder_alloc(b, mul_size(nrs, sizeof(wire_ref)));
    m->scope = builder_alloc(b, mul_size(nss, sizeof(wire_ref)));
    m->spans = builder_alloc(b, mul_size(nsp, sizeof(wire_ref)));
    if (m->res == NULL || m->scope == NULL || m->spans == NULL)
        return -2;

    const uint8_t *p = data, *end = data + len;
    size_t ri = 0, si = 0, ki = 0;
    while (p < end) {
        uint64_t f;
        wire_ref rsv;
        int wt = wire_field(&p, end, &f, &rsv);
        if (wt < 0 || (f == 1 && wt != 2))
            return -1;
        if (f != 1)
            continue;
        if (ri >= nrs)
            return -1;
        const otlp_resource_spans *rs = req->resource_spans[ri];
        const uint8_t *q = rsv.p, *qend = rsv.p + rsv.len;
        size_t sj = 0;
        m->res[ri].p = NULL;
        m->res[ri].len = 0;
        while (q < qend) {
            wire_ref val;
            wt = wire_field(&q, qend, &f, &val);
            if (wt < 0 || ((f == 1 || f == 2) && wt != 2))
                return -1;
            if (f == 1) {
                if (m->res[ri].p)
                    return -1;
                m->res[ri] = val;
            } else if (f == 2) {
                if (sj >= rs->n_scope_spans || si >= nss ||
                    wire_scan_scope(&val, rs->scope_spans[sj], m, si, &ki, nsp) != 0)
                    return -1;
                sj++;
                si++;
            }
        }
        if (sj != rs->n_scope_spans || (m->res[ri].p != NULL) != (rs->resource != NULL))
            return -1;
        ri++;
    }
    return ri == nrs && si == nss && ki == nsp ? 0 : -1;
}

/* ------------------------------------------------------------------ span sizes */

/* get_packed_size of a span without protobuf-c's walk over the descriptors, by
 * the same proto3 rules: a singular field is packed when it is not 0, empty or
 * NULL (a string up to its first NUL), a oneof member when it is set (but for a
 * NULL or default string or message), unknown fields as they came.
 * tests/otlp/test_batch.c holds it to protobuf-c's figure. */

#define PS_ANY(c) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##c

/* A one-byte tag and a length-delimited value of |n| bytes. */
static size_t ps_field(size_t n)
{
    return 1 + otlp_varint_len(n) + n;
}

static size_t ps_unknown(const ProtobufCMessage *m)
{
    size_t n = 0;
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        n += otlp_varint_len((uint64_t)m->unknown_fields[i].tag << 3) + m->unknown_fields[i].len;
    return n;
}

static size_t ps_str(const char *s)
{
    return s && s[0] ? ps_field(strlen(s)) : 0;
}

static size_t ps_bytes(const ProtobufCBinaryData *b)
{
    return b->len ? ps_field(b->len) : 0;
}

static size_t ps_u32(uint32_t v)
{
    return v ? 1 + otlp_varint_len(v) : 0;
}

static size_t ps_any(const otlp_any *v);

static size_t ps_kvs(otlp_kv *const *kv, size_t n)
{
    size_t sz = 0;
    for (size_t i = 0; i < n; i++) {
        if (kv[i] == NULL)
            continue;
        size_t k = ps_str(kv[i]->key) + ps_unknown(&kv[i]->base);
        if (kv[i]->value)
            k += ps_field(ps_any(kv[i]->value));
        sz += ps_field(k);
    }
    return sz;
}

static size_t ps_any(const otlp_any *v)
{
    size_t n = ps_unknown(&v->base);
    switch (v->value_case) {
    case PS_ANY(STRING_VALUE):
        if (v->string_value && v->string_value != protobuf_c_empty_string)
            n += ps_field(strlen(v->string_value));
        break;
    case PS_ANY(BOOL_VALUE):
        n += 2;
        break;
    case PS_ANY(INT_VALUE):
        n += 1 + otlp_varint_len((uint64_t)v->int_value);
        break;
    case PS_ANY(DOUBLE_VALUE):
        n += 9;
        break;
    case PS_ANY(ARRAY_VALUE):
        if (v->array_value) {
            const otlp_array *a = v->array_value;
            size_t k = ps_unknown(&a->base);
            for (size_t i = 0; i < a->n_values; i++)
                if (a->values[i])
                    k += ps_field(ps_any(a->values[i]));
            n += ps_field(k);
        }
        break;
    case PS_ANY(KVLIST_VALUE):
        if (v->kvlist_value)
            n += ps_field(ps_unknown(&v->kvlist_value->base) +
                          ps_kvs(v->kvlist_value->values, v->kvlist_value->n_values));
        break;
    case PS_ANY(BYTES_VALUE):
        n += ps_field(v->bytes_value.len);
        break;
    default:
        break;
    }
    return n;
}

/* The encoded size of |sp|, as opentelemetry__proto__trace__v1__span__get_packed_size. */
static size_t ps_span(const otlp_span *sp)
{
    size_t n = ps_unknown(&sp->base) + ps_bytes(&sp->trace_id) + ps_bytes(&sp->span_id) +
               ps_str(sp->trace_state) + ps_bytes(&sp->parent_span_id) + ps_str(sp->name);
    int32_t kind = (int32_t)sp->kind;
    if (kind != 0)
        n += 1 + (kind < 0 ? OTLP_VARINT_MAX : otlp_varint_len((uint32_t)kind));
    n += (sp->start_time_unix_nano ? 9 : 0) + (sp->end_time_unix_nano ? 9 : 0);
    n += ps_kvs(sp->attributes, sp->n_attributes) + ps_u32(sp->dropped_attributes_count);
    for (size_t i = 0; i < sp->n_events; i++) {
        const otlp_event *e = sp->events[i];
        if (e == NULL)
            continue;
        n += ps_field(ps_unknown(&e->base) + (e->time_unix_nano ? 9 : 0) + ps_str(e->name) +
                      ps_kvs(e->attributes, e->n_attributes) + ps_u32(e->dropped_attributes_count));
    }
    n += ps_u32(sp->dropped_events_count);
    for (size_t i = 0; i < sp->n_links; i++) {
        const otlp_link *l = sp->links[i];
        if (l == NULL)
            continue;
        n += ps_field(ps_unknown(&l->base) + ps_bytes(&l->trace_id) + ps_bytes(&l->span_id) +
                      ps_str(l->trace_state) + ps_kvs(l->attributes, l->n_attributes) +
                      ps_u32(l->dropped_attributes_count) + (l->flags ? 5 : 0));
    }
    n += ps_u32(sp->dropped_links_count);
    if (sp->status) {
        int32_t code = (int32_t)sp->status->code;
        size_t st = ps_unknown(&sp->status->base) + ps_str(sp->status->message);
        if (code != 0)
            st += 1 + (code < 0 ? OTLP_VARINT_MAX : otlp_varint_len((uint32_t)code));
        n += ps_field(st);
    }
    return n + (sp->flags ? 6 : 0); /* field 16: a two-byte tag */
}

#undef PS_ANY

/* Checks the resource and the scope of |si| against |l|, walking those whose
 * encoding is longer than |walk_above| (|any_len| when unknown). Returns
 * NO_REJECT or the reason, written to |why| (may be NULL) after where it is. */
static int scope_over_limits(const otlp_limits *l, const builder *b, const scope_info *si,
                             size_t any_len, size_t walk_above, msgbuf *why)
{
    const otlp_resource *res = si->rs->resource;
    const otlp_scope *scope = si->ss->scope;
    int r = NO_REJECT;
    if (res) {
        size_t len = b->wire ? b->wire->res[si->ri].len : any_len;
        if (why)
            say(why, "resource_spans[%zu].resource: ", si->ri);
        r = attrs_over(l, res->attributes, res->n_attributes, l->max_attributes_per_resource,
                       OTLP_REJECT_ATTRIBUTES_PER_RESOURCE, len > walk_above, OWN, why);
    }
    if (r == NO_REJECT && scope) {
        size_t len = b->wire ? b->wire->scope[si->ss_global].len : any_len;
        if (why) {
            why->len = 0;
            say(why, "resource_spans[%zu].scope_spans[%zu].scope: ", si->ri, si->sj);
        }
        r = attrs_over(l, scope->attributes, scope->n_attributes, l->max_attributes_per_resource,
                       OTLP_REJECT_ATTRIBUTES_PER_RESOURCE, len > walk_above, OWN, why);
    }
    return r;
}

/* Writes why span |k| of |si| was rejected to |msg|: |invalid| when its IDs
 * are bad, else the limit that it (checked with |walk|), or its resource or
 * scope (when |scope_r| says so), is over. */
static void say_rejected(const otlp_limits *l, const builder *b, const scope_info *si, size_t k,
                         const char *invalid, int scope_r, int walk, char *msg, size_t msglen)
{
    msgbuf m = {msg, msglen, 0};
    if (invalid == NULL && scope_r != NO_REJECT) {
        scope_over_limits(l, b, si, SIZE_MAX, 0, &m);
        return;
    }
    say(&m, "resource_spans[%zu].scope_spans[%zu].spans[%zu]", si->ri, si->sj, k);
    if (invalid) {
        say(&m, ": %s", invalid);
        return;
    }
    char id[17];
    ottr_hex_encode(si->ss->spans[k]->span_id.data, 8, id);
    say(&m, " (span %s): ", id);
    span_over_limits(l, si->ss->spans[k], walk, &m);
}

static ottr_status batch_build(ottr_arena *arena, const otlp_request *req, const uint8_t *wire,
                               size_t wire_len, const otlp_limits *limits, otlp_batch *out,
                               size_t *rejected, char *msg, size_t msglen)
{
    memset(out, 0, sizeof(*out));
    *rejected = 0;
    if (msg && msglen)
        msg[0] = '\0';
    if (req == NULL)
        return OTTR_OK;

    builder b = {.arena = arena, .fail = OTTR_ERR_NOMEM};
    size_t nspans = builder_scan(&b, req);
    if (nspans == 0)
        return OTTR_OK;
    if (nspans == SIZE_MAX || nspans >= NO_GROUP)
        return nspans == SIZE_MAX ? b.fail : OTTR_ERR_TOO_LARGE;
    wire_map map;
    if (wire) {
        int rc = wire_scan(&b, req, wire, wire_len, &map);
        if (rc == -2)
            return b.fail;
        if (rc == 0)
            b.wire = &map;
    }

    size_t cap = 16;
    while (cap < nspans * 2)
        cap <<= 1;
    b.table_mask = cap - 1;
    b.table = builder_alloc(&b, mul_size(cap, sizeof(uint32_t)));
    b.span_group = builder_alloc(&b, mul_size(nspans, sizeof(uint32_t)));
    b.groups = builder_alloc(&b, mul_size(nspans, sizeof(otlp_trace_group)));
    if (b.table == NULL || b.span_group == NULL || b.groups == NULL)
        return b.fail;
    memset(b.table, 0, cap * sizeof(uint32_t));

    otlp_limits lim;
    if (limits) {
        lim = *limits;
        uint64_t *f[] = {&lim.max_attributes_per_span,  &lim.max_events_per_span,
                         &lim.max_links_per_span,       &lim.max_attributes_per_event,
                         &lim.max_attributes_per_link,  &lim.max_attributes_per_resource,
                         &lim.max_attribute_key_length, &lim.max_attribute_value_length};
        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
            if (*f[i] == 0) /* no limit */
                *f[i] = UINT64_MAX;
        limits = &lim;
    }

    /* Pass 1: validate, assign every span its group and count the group sizes. */
    uint64_t seed = hash_seed();
    size_t n = 0, nvalid = 0;
    /* Without the bytes of each message, a string may be as long as the request. */
    size_t any_len = wire ? wire_len : SIZE_MAX;
    size_t walk_above = limits ? walk_threshold(limits) : SIZE_MAX;
    for (size_t s = 0; s < b.nscopes; s++) {
        const scope_info *si = &b.scopes[s];
        const otlp_scope_spans *ss = si->ss;
        int scope_r =
            limits ? scope_over_limits(limits, &b, si, any_len, walk_above, NULL) : NO_REJECT;
        for (size_t k = 0; k < ss->n_spans; k++, n++) {
            const otlp_span *sp = ss->spans[k];
            const char *why = sp ? span_invalid(sp) : "span is missing";
            int r = why ? OTLP_REJECT_INVALID : scope_r;
            int walk = 0;
            if (r == NO_REJECT && limits) {
                walk = (b.wire ? b.wire->spans[n].len : any_len) > walk_above;
                r = span_over_limits(limits, sp, walk, NULL);
            }
            if (r != NO_REJECT) {
                if (*rejected == 0 && msg && msglen)
                    say_rejected(limits, &b, si, k, why, scope_r, walk, msg, msglen);
                (*rejected)++;
                out->rejected_by[r]++;
                b.span_group[n] = NO_GROUP;
                continue;
            }
            uint32_t g = group_lookup(&b, sp->trace_id.data, seed);
            b.groups[g].nspans++;
            b.span_group[n] = g;
            nvalid++;
        }
    }
    if (nvalid == 0)
        return OTTR_OK;

    /* Pass 2: give each group its slice of one ref array, in request order. */
    otlp_span_ref *refs = builder_alloc(&b, mul_size(nvalid, sizeof(otlp_span_ref)));
    b.ref_scope = builder_alloc(&b, mul_size(nvalid, sizeof(uint32_t)));
    b.ref_size = builder_alloc(&b, mul_size(nvalid, sizeof(size_t)));
    if (refs == NULL || b.ref_scope == NULL || b.ref_size == NULL)
        return b.fail;
    if (b.wire) {
        b.ref_raw = builder_alloc(&b, mul_size(nvalid, sizeof(uint8_t *)));
        if (b.ref_raw == NULL)
            return b.fail;
    }
    size_t off = 0;
    for (size_t g = 0; g < b.ngroups; g++) {
        b.groups[g].spans = refs + off;
        off += b.groups[g].nspans;
        b.groups[g].nspans = 0;
    }
    n = 0;
    for (size_t s = 0; s < b.nscopes; s++) {
        scope_info *si = &b.scopes[s];
        for (size_t k = 0; k < si->ss->n_spans; k++, n++) {
            uint32_t g = b.span_group[n];
            if (g == NO_GROUP)
                continue;
            otlp_trace_group *grp = &b.groups[g];
            size_t r = (size_t)(grp->spans - refs) + grp->nspans++;
            refs[r].span = si->ss->spans[k];
            refs[r].resource = si->rs->resource;
            refs[r].scope = si->ss->scope;
            refs[r].service = si->service;
            refs[r].rs = (uint32_t)si->ri;
            refs[r].parent = -1;
            refs[r].problems = 0;
            b.ref_scope[r] = (uint32_t)s;
            if (b.wire) {
                const wire_ref *w = &b.wire->spans[si->span_first + k];
                b.ref_raw[r] = w->p;
                b.ref_size[r] = w->len;
            } else {
                b.ref_size[r] = protobuf_c_message_get_packed_size(&si->ss->spans[k]->base);
            }
            /* The span's encoded size: on the wire path its bytes may not be
             * canonical (explicit zeros, long varints), so it is computed. */
            size_t psz = b.wire ? ps_span(si->ss->spans[k]) : b.ref_size[r];
            refs[r].wire_len = psz <= UINT32_MAX ? (uint32_t)psz : 0;
        }
    }
    for (size_t s = 0; s < b.nscopes; s++) {
        scope_info *si = &b.scopes[s];
        if (b.wire) {
            si->res_bytes = b.wire->res[si->ri].p;
            si->res_len = b.wire->res[si->ri].len;
            si->scope_bytes = b.wire->scope[si->ss_global].p;
            si->scope_len = b.wire->scope[si->ss_global].len;
            continue;
        }
        if (si->rs->resource)
            si->res_len = protobuf_c_message_get_packed_size(&si->rs->resource->base);
        if (si->ss->scope)
            si->scope_len = protobuf_c_message_get_packed_size(&si->ss->scope->base);
    }

    /* Pass 3: chunk sizes. A group's refs under one scope are contiguous because
     * they were filled in request order. */
    size_t total = 0;
    for (size_t g = 0; g < b.ngroups; g++) {
        otlp_trace_group *grp = &b.groups[g];
        size_t base = (size_t)(grp->spans - refs), len = 0;
        for (size_t from = 0; from < grp->nspans;) {
            uint32_t s = b.ref_scope[base + from];
            size_t to = from + 1;
            while (to < grp->nspans && b.ref_scope[base + to] == s)
                to++;
            size_t ss_len;
            len += field_len(run_sizes(&b, &b.scopes[s], base + from, base + to, &ss_len));
            from = to;
        }
        grp->chunk_len = len;
        total += len;
        if (total < len)
            return OTTR_ERR_TOO_LARGE;
    }

    /* Pass 4: encode every chunk into one buffer. */
    uint8_t *buf = builder_alloc(&b, total);
    if (buf == NULL)
        return b.fail;
    uint8_t *p = buf;
    for (size_t g = 0; g < b.ngroups; g++) {
        otlp_trace_group *grp = &b.groups[g];
        size_t base = (size_t)(grp->spans - refs);
        grp->chunk = p;
        for (size_t from = 0; from < grp->nspans;) {
            uint32_t s = b.ref_scope[base + from];
            size_t to = from + 1;
            while (to < grp->nspans && b.ref_scope[base + to] == s)
                to++;
            if (scope_pack(&b, &b.scopes[s]) != 0)
                return b.fail;
            p = run_write(&b, p, grp, &b.scopes[s], base, from, to);
            from = to;
        }
        if ((size_t)(p - grp->chunk) != grp->chunk_len)
            return OTTR_ERR_INTERNAL;
    }

    out->groups = b.groups;
    out->ngroups = b.ngroups;
    out->nspans = nvalid;
    out->chunk_bytes = total;
    return OTTR_OK;
}

ottr_status otlp_batch_build(ottr_arena *arena, const otlp_request *req, otlp_batch *out,
                             size_t *rejected, char *msg, size_t msglen)
{
    return batch_build(arena, req, NULL, 0, NULL, out, rejected, msg, msglen);
}

ottr_status otlp_batch_build_wire(ottr_arena *arena, const otlp_request *req, const uint8_t *wire,
                                  size_t len, otlp_batch *out, size_t *rejected, char *msg,
                                  size_t msglen)
{
    return batch_build(arena, req, wire ? wire : (const uint8_t *)"", len, NULL, out, rejected, msg,
                       msglen);
}

ottr_status otlp_batch_build_limited(ottr_arena *arena, const otlp_request *req,
                                     const uint8_t *wire, size_t len, const otlp_limits *limits,
                                     otlp_batch *out, size_t *rejected, char *msg, size_t msglen)
{
    return batch_build(arena, req, wire, len, limits, out, rejected, msg, msglen);
}
