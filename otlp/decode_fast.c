/* otlp/decode_fast.c - the receivers' protobuf decoder: fills the same protobuf-c
 * structs as protobuf-c's unpack, from one schema-specific pass per message.
 *
 * protobuf-c's generic unpack walks descriptors for every field and was the
 * largest single cost of ingest. This decoder knows the OTLP trace schema: per
 * message it counts the repeated fields in a first pass over its tags (so that
 * every array is allocated once, exactly), then fills the struct in a second.
 * Everything lives in the request arena. It handles what exporters send; for
 * anything else - a malformed message, a known field with the wrong wire type, a
 * singular message field sent twice (protobuf merges those), nesting past
 * OTLP_PROTO_MAX_DEPTH - it gives up and the caller decodes with protobuf-c, which gives the exact
 * error or merge. Unknown fields are skipped (a chunk copies the span's original bytes, unknown
 * fields included). */
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"

#define FALLBACK (-1)
#define NOMEM    (-2)
#define NO_WIRE  0xff
#define MAX_NUM  17 /* field numbers counted: 1..16 */

typedef struct dec {
    ottr_arena *a;
    ottr_status fail; /* why an allocation failed */
} dec;

typedef struct field {
    uint32_t num;
    unsigned wire;
    uint64_t v;       /* varint, fixed32 or fixed64 value */
    const uint8_t *p; /* length-delimited bytes */
    size_t len;
} field;

/* Reads the next field at |*pp|; 1 with |f|, 0 at the end, -1 when malformed. */
static inline __attribute__((always_inline)) int next_field(const uint8_t **pp, const uint8_t *end,
                                                            field *f)
{
    const uint8_t *p = *pp;
    f->p = NULL;
    f->len = 0;
    if (p >= end)
        return 0;
    uint64_t key;
    /* Tags and lengths are 32-bit varints: protobuf-c refuses them past 5 bytes. */
    size_t n = otlp_varint_get(p, end, &key);
    if (n == 0 || n > 5 || (key >> 3) == 0 || (key >> 3) > 536870911u)
        return -1;
    p += n;
    f->num = (uint32_t)(key >> 3);
    f->wire = (unsigned)(key & 7);
    switch (f->wire) {
    case 0:
        n = otlp_varint_get(p, end, &f->v);
        if (n == 0)
            return -1;
        p += n;
        break;
    case 1:
        if (end - p < 8)
            return -1;
        f->v = 0;
        for (int i = 7; i >= 0; i--)
            f->v = f->v << 8 | p[i];
        p += 8;
        break;
    case 5:
        if (end - p < 4)
            return -1;
        f->v = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
        p += 4;
        break;
    case 2:
        n = otlp_varint_get(p, end, &f->v);
        if (n == 0 || n > 5)
            return -1;
        p += n;
        if (f->v > (uint64_t)(end - p))
            return -1;
        f->p = p;
        f->len = (size_t)f->v;
        p += f->len;
        break;
    default:
        return -1;
    }
    *pp = p;
    return 1;
}

/* First pass over a message: counts each known field (|wt|[num] is its wire
 * type, NO_WIRE for unknown numbers) into |counts|. 0 or FALLBACK. */
static int count_fields(const uint8_t *p, const uint8_t *end, const uint8_t wt[MAX_NUM],
                        uint32_t counts[MAX_NUM])
{
    memset(counts, 0, MAX_NUM * sizeof(counts[0]));
    field f;
    int rc;
    while ((rc = next_field(&p, end, &f)) == 1) {
        if (f.num >= MAX_NUM || wt[f.num] == NO_WIRE)
            continue;
        if (f.wire != wt[f.num])
            return FALLBACK;
        counts[f.num]++;
    }
    return rc == 0 ? 0 : FALLBACK;
}

static inline __attribute__((always_inline)) void *alloc(dec *d, size_t n)
{
    void *p = ottr_arena_alloc(d->a, n ? n : 1);
    if (p == NULL && d->fail == OTTR_OK)
        d->fail = otlp_alloc_failure(d->a, n ? n : 1);
    return p;
}

/* An array of |n| message pointers (NULL when |n| is 0). */
static int alloc_ptrs(dec *d, void *out, size_t n)
{
    void **v = NULL;
    if (n) {
        v = alloc(d, n * sizeof(void *));
        if (v == NULL)
            return NOMEM;
    }
    memcpy(out, &v, sizeof(v));
    return 0;
}

/* A present string, even empty, gets its own copy: protobuf-c packs a oneof
 * member that points at its default string as absent. */
static int str(dec *d, const field *f, char **out)
{
    char *s = alloc(d, f->len + 1);
    if (s == NULL)
        return NOMEM;
    memcpy(s, f->p, f->len);
    s[f->len] = '\0';
    *out = s;
    return 0;
}

static int bytes(dec *d, const field *f, ProtobufCBinaryData *out)
{
    out->len = f->len;
    out->data = NULL;
    if (f->len == 0)
        return 0;
    out->data = alloc(d, f->len);
    if (out->data == NULL)
        return NOMEM;
    memcpy(out->data, f->p, f->len);
    return 0;
}

/* ------------------------------------------------------------------ common.proto */

static int kv(dec *d, const field *f, otlp_kv **out, int depth);

static const uint8_t any_wt[MAX_NUM] = {NO_WIRE, 2,       0,       0,       1,       2,
                                        2,       2,       NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE,
                                        NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE};
static const uint8_t list_wt[MAX_NUM] = {NO_WIRE, 2,       NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE,
                                         NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE,
                                         NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE};

static int any(dec *d, const field *in, otlp_any **out, int depth);

static int array(dec *d, const field *in, otlp_array **out, int depth)
{
    uint32_t c[MAX_NUM];
    if (count_fields(in->p, in->p + in->len, list_wt, c) != 0)
        return FALLBACK;
    static const otlp_array init = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    otlp_array *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *m = init;
    if (alloc_ptrs(d, &m->values, c[1]) != 0)
        return NOMEM;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    while (next_field(&p, end, &f) == 1) {
        if (f.num != 1)
            continue;
        int rc = any(d, &f, &m->values[m->n_values], depth + 1);
        if (rc != 0)
            return rc;
        m->n_values++;
    }
    *out = m;
    return 0;
}

static int kvlist(dec *d, const field *in, otlp_kvlist **out, int depth)
{
    uint32_t c[MAX_NUM];
    if (count_fields(in->p, in->p + in->len, list_wt, c) != 0)
        return FALLBACK;
    static const otlp_kvlist init = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    otlp_kvlist *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *m = init;
    if (alloc_ptrs(d, &m->values, c[1]) != 0)
        return NOMEM;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    while (next_field(&p, end, &f) == 1) {
        if (f.num != 1)
            continue;
        int rc = kv(d, &f, &m->values[m->n_values], depth + 1);
        if (rc != 0)
            return rc;
        m->n_values++;
    }
    *out = m;
    return 0;
}

/* Fills |m| from AnyValue |in|. The wire types are checked as the fields come:
 * an attribute value is read in one pass, not counted first. */
static int any_into(dec *d, const field *in, otlp_any *m, int depth)
{
    if (depth > OTLP_PROTO_MAX_DEPTH)
        return FALLBACK;
    static const otlp_any init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    *m = init;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    int rc = 0, r;
    /* A oneof: the last member present wins, as in protobuf-c. */
    while (rc == 0 && (r = next_field(&p, end, &f)) == 1) {
        if (f.num < MAX_NUM && any_wt[f.num] != NO_WIRE && f.wire != any_wt[f.num])
            return FALLBACK;
        switch (f.num) {
        case 1:
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
            rc = str(d, &f, &m->string_value);
            break;
        case 2:
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
            m->bool_value = f.v != 0;
            break;
        case 3:
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
            m->int_value = (int64_t)f.v;
            break;
        case 4:
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
            memcpy(&m->double_value, &f.v, sizeof(double));
            break;
        case 5:
            /* An array right after an array is merged into it (protobuf-c). */
            if (m->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE)
                return FALLBACK;
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
            rc = array(d, &f, &m->array_value, depth + 1);
            break;
        case 6:
            if (m->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE)
                return FALLBACK;
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
            rc = kvlist(d, &f, &m->kvlist_value, depth + 1);
            break;
        case 7:
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
            rc = bytes(d, &f, &m->bytes_value);
            break;
        default:
            break;
        }
    }
    if (rc == 0 && r < 0)
        rc = FALLBACK;
    return rc;
}

static int any(dec *d, const field *in, otlp_any **out, int depth)
{
    otlp_any *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *out = m;
    return any_into(d, in, m, depth);
}

/* A KeyValue and its value, allocated together. */
typedef struct kv_pair {
    otlp_kv kv;
    otlp_any value;
} kv_pair;

static int kv(dec *d, const field *in, otlp_kv **out, int depth)
{
    if (depth > OTLP_PROTO_MAX_DEPTH)
        return FALLBACK;
    static const otlp_kv init = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    kv_pair *pair = alloc(d, sizeof(*pair));
    if (pair == NULL)
        return NOMEM;
    otlp_kv *m = &pair->kv;
    *m = init;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    int rc = 0, r;
    while (rc == 0 && (r = next_field(&p, end, &f)) == 1) {
        if (f.num == 1) {
            rc = f.wire == 2 ? str(d, &f, &m->key) : FALLBACK;
        } else if (f.num == 2) {
            /* A second value would be merged into the first. */
            if (f.wire != 2 || m->value != NULL) {
                rc = FALLBACK;
            } else {
                m->value = &pair->value;
                rc = any_into(d, &f, m->value, depth + 1);
            }
        }
    }
    if (rc == 0 && r < 0)
        rc = FALLBACK;
    *out = m;
    return rc;
}

/* Decodes the repeated KeyValue field |f| into the next slot of |v|. */
static int attr(dec *d, const field *f, otlp_kv **v, size_t *n)
{
    int rc = kv(d, f, &v[*n], 1);
    if (rc == 0)
        (*n)++;
    return rc;
}

static const uint8_t scope_wt[MAX_NUM] = {NO_WIRE, 2,       2,       2,       0,       NO_WIRE,
                                          NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE,
                                          NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE};

static int scope(dec *d, const field *in, otlp_scope **out)
{
    uint32_t c[MAX_NUM];
    if (count_fields(in->p, in->p + in->len, scope_wt, c) != 0)
        return FALLBACK;
    static const otlp_scope init = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    otlp_scope *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *m = init;
    if (alloc_ptrs(d, &m->attributes, c[3]) != 0)
        return NOMEM;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    int rc = 0;
    while (rc == 0 && next_field(&p, end, &f) == 1) {
        switch (f.num) {
        case 1:
            rc = str(d, &f, &m->name);
            break;
        case 2:
            rc = str(d, &f, &m->version);
            break;
        case 3:
            rc = attr(d, &f, m->attributes, &m->n_attributes);
            break;
        case 4:
            m->dropped_attributes_count = (uint32_t)f.v;
            break;
        default:
            break;
        }
    }
    *out = m;
    return rc;
}

/* ------------------------------------------------------------------ resource.proto */

static const uint8_t resource_wt[MAX_NUM] = {NO_WIRE, 2,       0,       NO_WIRE, NO_WIRE, NO_WIRE,
                                             NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE,
                                             NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE};

static int resource(dec *d, const field *in, otlp_resource **out)
{
    uint32_t c[MAX_NUM];
    if (count_fields(in->p, in->p + in->len, resource_wt, c) != 0)
        return FALLBACK;
    static const otlp_resource init = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    otlp_resource *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *m = init;
    if (alloc_ptrs(d, &m->attributes, c[1]) != 0)
        return NOMEM;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    int rc = 0;
    while (rc == 0 && next_field(&p, end, &f) == 1) {
        if (f.num == 1)
            rc = attr(d, &f, m->attributes, &m->n_attributes);
        else if (f.num == 2)
            m->dropped_attributes_count = (uint32_t)f.v;
    }
    *out = m;
    return rc;
}

/* ------------------------------------------------------------------ trace.proto */

static const uint8_t event_wt[MAX_NUM] = {NO_WIRE, 1,       2,       2,       0,       NO_WIRE,
                                          NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE,
                                          NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE};

static int event(dec *d, const field *in, otlp_event **out)
{
    uint32_t c[MAX_NUM];
    if (count_fields(in->p, in->p + in->len, event_wt, c) != 0)
        return FALLBACK;
    static const otlp_event init = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
    otlp_event *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *m = init;
    if (alloc_ptrs(d, &m->attributes, c[3]) != 0)
        return NOMEM;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    int rc = 0;
    while (rc == 0 && next_field(&p, end, &f) == 1) {
        switch (f.num) {
        case 1:
            m->time_unix_nano = f.v;
            break;
        case 2:
            rc = str(d, &f, &m->name);
            break;
        case 3:
            rc = attr(d, &f, m->attributes, &m->n_attributes);
            break;
        case 4:
            m->dropped_attributes_count = (uint32_t)f.v;
            break;
        default:
            break;
        }
    }
    *out = m;
    return rc;
}

static const uint8_t link_wt[MAX_NUM] = {NO_WIRE, 2,       2,       2,       2,       0,
                                         5,       NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE,
                                         NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE};

static int link(dec *d, const field *in, otlp_link **out)
{
    uint32_t c[MAX_NUM];
    if (count_fields(in->p, in->p + in->len, link_wt, c) != 0)
        return FALLBACK;
    static const otlp_link init = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
    otlp_link *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *m = init;
    if (alloc_ptrs(d, &m->attributes, c[4]) != 0)
        return NOMEM;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    int rc = 0;
    while (rc == 0 && next_field(&p, end, &f) == 1) {
        switch (f.num) {
        case 1:
            rc = bytes(d, &f, &m->trace_id);
            break;
        case 2:
            rc = bytes(d, &f, &m->span_id);
            break;
        case 3:
            rc = str(d, &f, &m->trace_state);
            break;
        case 4:
            rc = attr(d, &f, m->attributes, &m->n_attributes);
            break;
        case 5:
            m->dropped_attributes_count = (uint32_t)f.v;
            break;
        case 6:
            m->flags = (uint32_t)f.v;
            break;
        default:
            break;
        }
    }
    *out = m;
    return rc;
}

static const uint8_t status_wt[MAX_NUM] = {NO_WIRE, NO_WIRE, 2,       0,       NO_WIRE, NO_WIRE,
                                           NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE,
                                           NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE};

static int status(dec *d, const field *in, otlp_status **out)
{
    uint32_t c[MAX_NUM];
    if (count_fields(in->p, in->p + in->len, status_wt, c) != 0)
        return FALLBACK;
    static const otlp_status init = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    otlp_status *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *m = init;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    int rc = 0;
    while (rc == 0 && next_field(&p, end, &f) == 1) {
        if (f.num == 2)
            rc = str(d, &f, &m->message);
        else if (f.num == 3)
            m->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)(int32_t)f.v;
    }
    *out = m;
    return rc;
}

static const uint8_t span_wt[MAX_NUM] = {NO_WIRE, 2, 2, 2, 2, 2, 0, 1, 1, 2, 0, 2, 0, 2, 0, 2, 5};

static int span(dec *d, const field *in, otlp_span **out)
{
    uint32_t c[MAX_NUM];
    if (count_fields(in->p, in->p + in->len, span_wt, c) != 0 || c[15] > 1)
        return FALLBACK;
    static const otlp_span init = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    otlp_span *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *m = init;
    if (alloc_ptrs(d, &m->attributes, c[9]) != 0 || alloc_ptrs(d, &m->events, c[11]) != 0 ||
        alloc_ptrs(d, &m->links, c[13]) != 0)
        return NOMEM;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    int rc = 0;
    while (rc == 0 && next_field(&p, end, &f) == 1) {
        switch (f.num) {
        case 1:
            rc = bytes(d, &f, &m->trace_id);
            break;
        case 2:
            rc = bytes(d, &f, &m->span_id);
            break;
        case 3:
            rc = str(d, &f, &m->trace_state);
            break;
        case 4:
            rc = bytes(d, &f, &m->parent_span_id);
            break;
        case 5:
            rc = str(d, &f, &m->name);
            break;
        case 6:
            m->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)(int32_t)f.v;
            break;
        case 7:
            m->start_time_unix_nano = f.v;
            break;
        case 8:
            m->end_time_unix_nano = f.v;
            break;
        case 9:
            rc = attr(d, &f, m->attributes, &m->n_attributes);
            break;
        case 10:
            m->dropped_attributes_count = (uint32_t)f.v;
            break;
        case 11:
            rc = event(d, &f, &m->events[m->n_events]);
            m->n_events += rc == 0;
            break;
        case 12:
            m->dropped_events_count = (uint32_t)f.v;
            break;
        case 13:
            rc = link(d, &f, &m->links[m->n_links]);
            m->n_links += rc == 0;
            break;
        case 14:
            m->dropped_links_count = (uint32_t)f.v;
            break;
        case 15:
            rc = status(d, &f, &m->status);
            break;
        case 16:
            m->flags = (uint32_t)f.v;
            break;
        default:
            break;
        }
    }
    *out = m;
    return rc;
}

static const uint8_t spans_wt[MAX_NUM] = {NO_WIRE, 2,       2,       2,       NO_WIRE, NO_WIRE,
                                          NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE,
                                          NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE, NO_WIRE};

static int scope_spans(dec *d, const field *in, otlp_scope_spans **out)
{
    uint32_t c[MAX_NUM];
    if (count_fields(in->p, in->p + in->len, spans_wt, c) != 0 || c[1] > 1)
        return FALLBACK;
    static const otlp_scope_spans init = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    otlp_scope_spans *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *m = init;
    if (alloc_ptrs(d, &m->spans, c[2]) != 0)
        return NOMEM;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    int rc = 0;
    while (rc == 0 && next_field(&p, end, &f) == 1) {
        switch (f.num) {
        case 1:
            rc = scope(d, &f, &m->scope);
            break;
        case 2:
            rc = span(d, &f, &m->spans[m->n_spans]);
            m->n_spans += rc == 0;
            break;
        case 3:
            rc = str(d, &f, &m->schema_url);
            break;
        default:
            break;
        }
    }
    *out = m;
    return rc;
}

static int resource_spans(dec *d, const field *in, otlp_resource_spans **out)
{
    uint32_t c[MAX_NUM];
    /* The same wire types as ScopeSpans: message 1, repeated message 2, string 3. */
    if (count_fields(in->p, in->p + in->len, spans_wt, c) != 0 || c[1] > 1)
        return FALLBACK;
    static const otlp_resource_spans init = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    otlp_resource_spans *m = alloc(d, sizeof(*m));
    if (m == NULL)
        return NOMEM;
    *m = init;
    if (alloc_ptrs(d, &m->scope_spans, c[2]) != 0)
        return NOMEM;
    const uint8_t *p = in->p, *end = in->p + in->len;
    field f;
    int rc = 0;
    while (rc == 0 && next_field(&p, end, &f) == 1) {
        switch (f.num) {
        case 1:
            rc = resource(d, &f, &m->resource);
            break;
        case 2:
            rc = scope_spans(d, &f, &m->scope_spans[m->n_scope_spans]);
            m->n_scope_spans += rc == 0;
            break;
        case 3:
            rc = str(d, &f, &m->schema_url);
            break;
        default:
            break;
        }
    }
    *out = m;
    return rc;
}

/* The top level of an ExportTraceServiceRequest or a TracesData (the same
 * fields): its ResourceSpans into |*v| (|*n| of them). 1, 0 (leave it to
 * protobuf-c) or -1 (arena, |*fail| set). */
static int top_level(ottr_arena *arena, const uint8_t *data, size_t len, otlp_resource_spans ***v,
                     size_t *n, ottr_status *fail)
{
    dec d = {arena, OTTR_OK};
    uint32_t c[MAX_NUM];
    *n = 0;
    if (count_fields(data, data + len, list_wt, c) != 0)
        return 0;
    if (alloc_ptrs(&d, v, c[1]) != 0)
        goto nomem;
    const uint8_t *p = data, *end = data + len;
    field f;
    while (next_field(&p, end, &f) == 1) {
        if (f.num != 1)
            continue;
        int rc = resource_spans(&d, &f, &(*v)[*n]);
        if (rc == NOMEM)
            goto nomem;
        if (rc != 0)
            return 0;
        (*n)++;
    }
    return 1;
nomem:
    *fail = d.fail;
    return -1;
}

int otlp_fast_decode_request(ottr_arena *arena, const uint8_t *data, size_t len, otlp_request **out,
                             ottr_status *fail)
{
    static const otlp_request init =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    *out = NULL;
    otlp_request *m = ottr_arena_alloc(arena, sizeof(*m));
    if (m == NULL) {
        *fail = otlp_alloc_failure(arena, sizeof(*m));
        return -1;
    }
    *m = init;
    int rc = top_level(arena, data, len, &m->resource_spans, &m->n_resource_spans, fail);
    if (rc == 1)
        *out = m;
    return rc;
}

int otlp_fast_decode_traces(ottr_arena *arena, const uint8_t *data, size_t len,
                            otlp_traces_data **out, ottr_status *fail)
{
    static const otlp_traces_data init = OPENTELEMETRY__PROTO__TRACE__V1__TRACES_DATA__INIT;
    *out = NULL;
    otlp_traces_data *m = ottr_arena_alloc(arena, sizeof(*m));
    if (m == NULL) {
        *fail = otlp_alloc_failure(arena, sizeof(*m));
        return -1;
    }
    *m = init;
    int rc = top_level(arena, data, len, &m->resource_spans, &m->n_resource_spans, fail);
    if (rc == 1)
        *out = m;
    return rc;
}

/* ------------------------------------------------------------------ trace IDs only */

static int tid_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

size_t otlp_scan_trace_ids(const uint8_t *data, size_t len, uint8_t (*tids)[16], size_t cap,
                           size_t *nspans)
{
    size_t n = 0;
    *nspans = 0;
    const uint8_t *p = data, *end = data + len;
    field rs, ss, sp, f;
    int r1, r2, r3, r4;
    while ((r1 = next_field(&p, end, &rs)) == 1) {
        if (rs.num != 1 || rs.wire != 2)
            continue;
        const uint8_t *q = rs.p, *qe = rs.p + rs.len;
        while ((r2 = next_field(&q, qe, &ss)) == 1) {
            if (ss.num != 2 || ss.wire != 2)
                continue;
            const uint8_t *t = ss.p, *te = ss.p + ss.len;
            while ((r3 = next_field(&t, te, &sp)) == 1) {
                if (sp.num != 2 || sp.wire != 2)
                    continue;
                (*nspans)++;
                const uint8_t *u = sp.p, *ue = sp.p + sp.len;
                while ((r4 = next_field(&u, ue, &f)) == 1) {
                    if (f.num != 1 || f.wire != 2 || f.len != 16)
                        continue;
                    if (n == 0 || memcmp(tids[n - 1], f.p, 16) != 0) {
                        if (n == cap)
                            return SIZE_MAX;
                        memcpy(tids[n++], f.p, 16);
                    }
                    break;
                }
                if (r4 < 0)
                    return SIZE_MAX;
            }
            if (r3 < 0)
                return SIZE_MAX;
        }
        if (r2 < 0)
            return SIZE_MAX;
    }
    if (r1 < 0)
        return SIZE_MAX;
    if (n > 1) {
        qsort(tids, n, 16, tid_cmp);
        size_t m = 1;
        for (size_t i = 1; i < n; i++)
            if (memcmp(tids[i], tids[m - 1], 16) != 0)
                memmove(tids[m++], tids[i], 16);
        n = m;
    }
    return n;
}
