/* store/summary.c - builds a trace summary from spans, merges summaries and
 * encodes them as the values of the `summaries` family.
 *
 * Value layout (integers big-endian):
 *   version(1)=1 | flags(1) | start_ns(8) | end_ns(8) | span_count(4) |
 *   error_count(4) | bytes(8) | last_arrival_sec(4) | root_start_ns(8) |
 *   root_service(len u8 + bytes) | root_name(len u8 + bytes) |
 *   nservices(1) | per service: name(len u8 + bytes) spans(4) errors(4) */
#include <string.h>

#include "store/internal.h"

#define SUM_VERSION  1
#define FLAG_PARTIAL 1
#define FLAG_ROOT    2
#define FLAG_EMPTY   4
#define FIXED_LEN    46

/* Copies at most cap-1 bytes of |src| without splitting a UTF-8 sequence. */
static void copy_trunc(char *dst, size_t cap, const char *src, size_t len)
{
    if (len > cap - 1) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

void store_summary_acc_init(store_summary_acc *a, const uint8_t tid[16])
{
    memset(a, 0, sizeof(*a));
    memcpy(a->sum.trace_id, tid, 16);
    a->empty = true;
}

static void add_service(store_trace_summary *sum, const char *name, uint32_t spans, uint32_t errors)
{
    char n[sizeof(sum->services[0].name)];
    copy_trunc(n, sizeof(n), name, strlen(name));
    for (uint32_t i = 0; i < sum->nservices; i++) {
        if (strcmp(sum->services[i].name, n) == 0) {
            sum->services[i].spans += spans;
            sum->services[i].errors += errors;
            return;
        }
    }
    if (sum->nservices >= STORE_MAX_SERVICES)
        return;
    store_service_stat *st = &sum->services[sum->nservices++];
    memcpy(st->name, n, sizeof(n));
    st->spans = spans;
    st->errors = errors;
}

static void set_root(store_summary_acc *a, const char *service, const char *name, uint64_t start)
{
    copy_trunc(a->sum.root_service, sizeof(a->sum.root_service), service, strlen(service));
    copy_trunc(a->sum.root_name, sizeof(a->sum.root_name), name, strlen(name));
    a->has_root = true;
    a->root_start_ns = start;
}

void store_summary_acc_span(store_summary_acc *a, const otlp_span_ref *ref)
{
    const otlp_span *sp = ref->span;
    uint64_t start = sp->start_time_unix_nano;
    uint64_t end = sp->end_time_unix_nano < start ? start : sp->end_time_unix_nano;
    if (a->empty || start < a->sum.start_ns)
        a->sum.start_ns = start;
    if (a->empty || end > a->sum.end_ns)
        a->sum.end_ns = end;
    a->empty = false;
    a->sum.span_count++;
    bool error = otlp_span_status_code(sp) ==
                 OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    if (error)
        a->sum.error_count++;
    const char *service = ref->service ? ref->service : OTLP_UNKNOWN_SERVICE;
    if (sp->parent_span_id.len == 0 && (!a->has_root || start < a->root_start_ns))
        set_root(a, service, sp->name ? sp->name : "", start);
    add_service(&a->sum, service, 1, error ? 1 : 0);
}

void store_summary_acc_merge(store_summary_acc *a, const store_summary_acc *b)
{
    if (!b->empty) {
        if (a->empty || b->sum.start_ns < a->sum.start_ns)
            a->sum.start_ns = b->sum.start_ns;
        if (a->empty || b->sum.end_ns > a->sum.end_ns)
            a->sum.end_ns = b->sum.end_ns;
        a->empty = false;
    }
    a->sum.span_count += b->sum.span_count;
    a->sum.error_count += b->sum.error_count;
    a->sum.bytes += b->sum.bytes;
    a->sum.partial = a->sum.partial || b->sum.partial;
    if (b->last_arrival_sec > a->last_arrival_sec)
        a->last_arrival_sec = b->last_arrival_sec;
    if (b->has_root && (!a->has_root || b->root_start_ns < a->root_start_ns)) {
        memcpy(a->sum.root_service, b->sum.root_service, sizeof(a->sum.root_service));
        memcpy(a->sum.root_name, b->sum.root_name, sizeof(a->sum.root_name));
        a->has_root = true;
        a->root_start_ns = b->root_start_ns;
    }
    for (uint32_t i = 0; i < b->sum.nservices; i++)
        add_service(&a->sum, b->sum.services[i].name, b->sum.services[i].spans,
                    b->sum.services[i].errors);
}

static uint8_t *put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    if (n > 255)
        n = 255;
    *p++ = (uint8_t)n;
    memcpy(p, s, n);
    return p + n;
}

size_t store_summary_encode(const store_summary_acc *a, uint8_t *out)
{
    const store_trace_summary *s = &a->sum;
    uint8_t *p = out;
    *p++ = SUM_VERSION;
    *p++ = (uint8_t)((s->partial ? FLAG_PARTIAL : 0) | (a->has_root ? FLAG_ROOT : 0) |
                     (a->empty ? FLAG_EMPTY : 0));
    be64_put(p, s->start_ns);
    be64_put(p + 8, s->end_ns);
    be32_put(p + 16, s->span_count);
    be32_put(p + 20, s->error_count);
    be64_put(p + 24, s->bytes);
    be32_put(p + 32, a->last_arrival_sec);
    be64_put(p + 36, a->root_start_ns);
    p += 44;
    p = put_str(p, s->root_service);
    p = put_str(p, s->root_name);
    uint32_t ns = s->nservices > STORE_MAX_SERVICES ? STORE_MAX_SERVICES : s->nservices;
    *p++ = (uint8_t)ns;
    for (uint32_t i = 0; i < ns; i++) {
        p = put_str(p, s->services[i].name);
        be32_put(p, s->services[i].spans);
        be32_put(p + 4, s->services[i].errors);
        p += 8;
    }
    return (size_t)(p - out);
}

/* Reads a length-prefixed string into |dst|; returns the bytes used or 0. */
static size_t get_str(const uint8_t *p, size_t n, char *dst, size_t cap)
{
    if (n < 1 || n < 1 + (size_t)p[0])
        return 0;
    copy_trunc(dst, cap, (const char *)p + 1, p[0]);
    return 1 + (size_t)p[0];
}

int store_summary_decode(const uint8_t *p, size_t n, const uint8_t tid[16], store_summary_acc *a)
{
    store_summary_acc_init(a, tid);
    if (n < FIXED_LEN || p[0] != SUM_VERSION)
        return -1;
    store_trace_summary *s = &a->sum;
    uint8_t flags = p[1];
    s->partial = (flags & FLAG_PARTIAL) != 0;
    a->has_root = (flags & FLAG_ROOT) != 0;
    a->empty = (flags & FLAG_EMPTY) != 0;
    const uint8_t *q = p + 2;
    s->start_ns = be64_get(q);
    s->end_ns = be64_get(q + 8);
    s->span_count = be32_get(q + 16);
    s->error_count = be32_get(q + 20);
    s->bytes = be64_get(q + 24);
    a->last_arrival_sec = be32_get(q + 32);
    a->root_start_ns = be64_get(q + 36);
    size_t off = FIXED_LEN, used;
    if ((used = get_str(p + off, n - off, s->root_service, sizeof(s->root_service))) == 0)
        return -1;
    off += used;
    if ((used = get_str(p + off, n - off, s->root_name, sizeof(s->root_name))) == 0)
        return -1;
    off += used;
    if (off >= n)
        return -1;
    uint32_t ns = p[off++];
    if (ns > STORE_MAX_SERVICES)
        return -1;
    for (uint32_t i = 0; i < ns; i++) {
        store_service_stat *st = &s->services[i];
        if ((used = get_str(p + off, n - off, st->name, sizeof(st->name))) == 0)
            return -1;
        off += used;
        if (n - off < 8)
            return -1;
        st->spans = be32_get(p + off);
        st->errors = be32_get(p + off + 4);
        off += 8;
    }
    s->nservices = ns;
    return off == n ? 0 : -1;
}

uint32_t store_summary_value_sec(const uint8_t *p, size_t n)
{
    if (n < FIXED_LEN || p[0] != SUM_VERSION)
        return 0;
    return be32_get(p + 2 + 32);
}
