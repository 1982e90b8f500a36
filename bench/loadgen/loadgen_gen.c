/* bench/loadgen/loadgen_gen.c - builds the request templates: traces of the asked
 * shape packed once with placeholder trace IDs and timestamps, whose offsets are
 * recorded so each request only patches them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "bench/loadgen/loadgen.h"
#include "otlp/otlp.h"

/* Placeholders: a trace ID is TRACE_MAGIC (12 bytes) + 0xBE 0xEF + trace index (BE);
 * a timestamp is TIME_MAGIC in the high half + an index into the rel_ns table. */
static const uint8_t TRACE_MAGIC[12] = {0xF0, 0x0D, 'L', 'G', 0xC0, 0xFF, 0xEE, 0x00, 0, 0, 0, 0};
#define TIME_MAGIC 0x7A11C0DEu

uint64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t lg_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t lg_rand(uint64_t *s)
{
    /* splitmix64: fast, and good enough for IDs and shapes. */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rand01(uint64_t *s)
{
    return (double)(lg_rand(s) >> 11) / (double)(1ull << 53);
}

/* ---- a small bump allocator for one template's structs ---- */

typedef struct pool {
    char *blocks[4096];
    int nblocks;
    size_t used, cap;
} pool;

static void *pool_alloc(pool *p, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (p->nblocks == 0 || p->used + n > p->cap) {
        size_t cap = n > 65536 ? n : 65536;
        if (p->nblocks == 4096)
            abort();
        char *b = calloc(1, cap);
        if (b == NULL)
            abort();
        p->blocks[p->nblocks++] = b;
        p->used = 0;
        p->cap = cap;
    }
    void *r = p->blocks[p->nblocks - 1] + p->used;
    p->used += n;
    return r;
}

static char *pool_printf(pool *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *pool_printf(pool *p, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(tmp))
        n = sizeof(tmp) - 1;
    char *s = pool_alloc(p, (size_t)n + 1);
    memcpy(s, tmp, (size_t)n);
    return s;
}

static void pool_free(pool *p)
{
    for (int i = 0; i < p->nblocks; i++)
        free(p->blocks[i]);
}

static otlp_kv *kv_str(pool *p, const char *key, const char *val)
{
    otlp_kv *kv = pool_alloc(p, sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = (char *)key;
    kv->value = pool_alloc(p, sizeof(otlp_any));
    opentelemetry__proto__common__v1__any_value__init(kv->value);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    kv->value->string_value = (char *)val;
    return kv;
}

static otlp_kv *kv_int(pool *p, const char *key, int64_t val)
{
    otlp_kv *kv = kv_str(p, key, "");
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    kv->value->int_value = val;
    return kv;
}

/* ---- trace shapes ---- */

static const char *const OPS[] = {
    "GET /api/v1/items/{id}", "POST /api/v1/checkout", "SELECT orders", "redis GET",
    "grpc.cart.Cart/GetCart", "GET /healthz",          "kafka publish", "render page",
};
static const char *const ROUTES[] = {"/api/v1/items/{id}", "/api/v1/checkout", "/api/v1/cart",
                                     "/api/v1/users/{id}"};
static const char *const REGIONS[] = {"eu-west-1", "us-east-1", "ap-south-1"};

/* Fills |s| as span |i| of a trace; |err| marks the failing span. */
static void span_fill(pool *p, otlp_span *s, uint64_t *rng, const lg_options *o, int i, int err,
                      int trace)
{
    opentelemetry__proto__trace__v1__span__init(s);
    s->name = (char *)OPS[lg_rand(rng) % (sizeof(OPS) / sizeof(OPS[0]))];
    s->kind = i == 0 ? OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER
                     : (i % 2 ? OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT
                              : OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
    /* Trace ID placeholder, patched per request. */
    uint8_t *t = pool_alloc(p, 16);
    memcpy(t, TRACE_MAGIC, 12);
    t[12] = 0xBE;
    t[13] = 0xEF;
    t[14] = (uint8_t)(trace >> 8);
    t[15] = (uint8_t)trace;
    s->trace_id.data = t;
    s->trace_id.len = 16;
    uint8_t *sid = pool_alloc(p, 8);
    uint64_t r = lg_rand(rng);
    memcpy(sid, &r, 8);
    sid[0] = (uint8_t)(i + 1); /* distinct within the trace, never zero */
    s->span_id.data = sid;
    s->span_id.len = 8;

    size_t na = (size_t)o->attrs;
    s->attributes = pool_alloc(p, (na + 1) * sizeof(otlp_kv *));
    s->n_attributes = na;
    for (size_t a = 0; a < na; a++) {
        switch (a) {
        case 0:
            s->attributes[a] = kv_str(p, "http.method", i % 3 ? "GET" : "POST");
            break;
        case 1:
            s->attributes[a] = kv_str(p, "http.route",
                                      ROUTES[lg_rand(rng) % (sizeof(ROUTES) / sizeof(ROUTES[0]))]);
            break;
        case 2:
            s->attributes[a] = kv_int(p, "http.status_code", err ? 500 : 200);
            break;
        case 3:
            s->attributes[a] = kv_str(p, "net.peer.name",
                                      pool_printf(p, "10.0.%u.%u", (unsigned)(lg_rand(rng) % 250),
                                                  (unsigned)(lg_rand(rng) % 250)));
            break;
        case 4:
            s->attributes[a] =
                kv_str(p, "user.id", pool_printf(p, "u-%06u", (unsigned)(lg_rand(rng) % 1000000)));
            break;
        case 5:
            s->attributes[a] =
                kv_str(p, "region", REGIONS[lg_rand(rng) % (sizeof(REGIONS) / sizeof(REGIONS[0]))]);
            break;
        case 6:
            s->attributes[a] = kv_int(p, "db.rows", (int64_t)(lg_rand(rng) % 500));
            break;
        default:
            s->attributes[a] =
                kv_str(p, pool_printf(p, "attr.%zu", a),
                       pool_printf(p, "value-%u", (unsigned)(lg_rand(rng) % 100000)));
        }
    }
    s->status = pool_alloc(p, sizeof(*s->status));
    opentelemetry__proto__trace__v1__status__init(s->status);
    if (err) {
        s->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        s->status->message = (char *)"upstream failed";
    }
}

/* Sets the start/end placeholders of |s| to timestamps |start|, |end| (relative ns). */
static void span_times(otlp_span *s, uint64_t start, uint64_t end, uint64_t *rel, size_t *nrel)
{
    rel[*nrel] = start;
    s->start_time_unix_nano = ((uint64_t)TIME_MAGIC << 32) | (uint64_t)(*nrel)++;
    rel[*nrel] = end;
    s->end_time_unix_nano = ((uint64_t)TIME_MAGIC << 32) | (uint64_t)(*nrel)++;
}

static otlp_resource_spans *rs_new(pool *p, const lg_options *o, int svc, otlp_span **spans,
                                   size_t n)
{
    (void)o;
    otlp_resource_spans *rs = pool_alloc(p, sizeof(*rs));
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    rs->resource = pool_alloc(p, sizeof(*rs->resource));
    opentelemetry__proto__resource__v1__resource__init(rs->resource);
    rs->resource->n_attributes = 2;
    rs->resource->attributes = pool_alloc(p, 2 * sizeof(otlp_kv *));
    rs->resource->attributes[0] = kv_str(p, "service.name", pool_printf(p, "svc-%02d", svc));
    rs->resource->attributes[1] = kv_str(p, "host.name", pool_printf(p, "node-%d", svc % 7));
    otlp_scope_spans *ss = pool_alloc(p, sizeof(*ss));
    opentelemetry__proto__trace__v1__scope_spans__init(ss);
    ss->scope = pool_alloc(p, sizeof(*ss->scope));
    opentelemetry__proto__common__v1__instrumentation_scope__init(ss->scope);
    ss->scope->name = (char *)"io.ottr.loadgen";
    ss->scope->version = (char *)"1.0";
    ss->spans = spans;
    ss->n_spans = n;
    rs->scope_spans = pool_alloc(p, sizeof(otlp_scope_spans *));
    rs->scope_spans[0] = ss;
    rs->n_scope_spans = 1;
    return rs;
}

/* Finds every placeholder in the packed bytes and records its patch. */
static int template_scan(lg_template *t, const uint64_t *rel, size_t nrel)
{
    size_t cap = 256, n = 0;
    lg_patch *pt = malloc(cap * sizeof(*pt));
    if (pt == NULL)
        return -1;
    for (size_t i = 0; i + 8 <= t->len;) {
        lg_patch patch;
        size_t skip = 0;
        if (i + 16 <= t->len && memcmp(t->bytes + i, TRACE_MAGIC, 12) == 0 &&
            t->bytes[i + 12] == 0xBE && t->bytes[i + 13] == 0xEF) {
            patch.kind = LG_PATCH_TRACE;
            patch.trace = (uint16_t)(t->bytes[i + 14] << 8 | t->bytes[i + 15]);
            patch.rel_ns = 0;
            skip = 16;
        } else {
            uint64_t v;
            memcpy(&v, t->bytes + i, 8); /* fixed64 is little-endian, as is this host */
            if ((v >> 32) == TIME_MAGIC && (v & 0xffffffffu) < nrel) {
                patch.kind = LG_PATCH_TIME;
                patch.trace = 0;
                patch.rel_ns = rel[v & 0xffffffffu];
                skip = 8;
            }
        }
        if (skip == 0) {
            i++;
            continue;
        }
        patch.offset = (uint32_t)i;
        if (n == cap) {
            cap *= 2;
            lg_patch *np = realloc(pt, cap * sizeof(*pt));
            if (np == NULL) {
                free(pt);
                return -1;
            }
            pt = np;
        }
        pt[n++] = patch;
        i += skip;
    }
    t->patches = pt;
    t->npatches = n;
    return 0;
}

static int template_build(const lg_options *o, uint64_t seed, lg_template *t)
{
    pool p = {0};
    uint64_t rng = seed;
    int T = o->traces_per_request, S = o->spans_per_trace;
    size_t nspans = (size_t)T * (size_t)S;
    otlp_span *spans = pool_alloc(&p, nspans * sizeof(otlp_span));
    int *svc = pool_alloc(&p, nspans * sizeof(int));
    int *level = pool_alloc(&p, (size_t)S * sizeof(int));
    uint64_t *start = pool_alloc(&p, (size_t)S * sizeof(uint64_t));
    uint64_t *end = pool_alloc(&p, (size_t)S * sizeof(uint64_t));
    uint64_t *rel = pool_alloc(&p, nspans * 2 * sizeof(uint64_t));
    size_t nrel = 0;
    t->ntraces = T;
    t->trace_spans = malloc((size_t)T * sizeof(int));
    if (t->trace_spans == NULL) {
        pool_free(&p);
        return -1;
    }

    for (int tr = 0; tr < T; tr++) {
        int err_span = rand01(&rng) < o->error_rate ? (int)(lg_rand(&rng) % (uint64_t)S) : -1;
        int root_svc = (int)(lg_rand(&rng) % (uint64_t)o->services);
        t->trace_spans[tr] = S;
        for (int i = 0; i < S; i++) {
            size_t k = (size_t)tr * S + i;
            otlp_span *s = &spans[k];
            span_fill(&p, s, &rng, o, i, i == err_span, tr);
            int parent = -1;
            if (i > 0) {
                if (i < o->depth || o->depth < 2) {
                    /* A chain first, so the trace reaches its depth. */
                    parent = o->depth < 2 ? 0 : i - 1;
                } else {
                    do
                        parent = (int)(lg_rand(&rng) % (uint64_t)i);
                    while (level[parent] >= o->depth - 1);
                }
            }
            if (parent < 0) {
                level[i] = 0;
                start[i] = 0;
                end[i] = 20000000 + lg_rand(&rng) % 80000000; /* 20-100 ms */
                svc[k] = root_svc;
            } else {
                level[i] = level[parent] + 1;
                uint64_t span = end[parent] - start[parent];
                start[i] = start[parent] + span / 10 + lg_rand(&rng) % (span / 4 + 1);
                end[i] = start[i] + (end[parent] - start[i]) / 2 + 1;
                svc[k] = (int)(lg_rand(&rng) % (uint64_t)o->services);
                s->parent_span_id = spans[(size_t)tr * S + parent].span_id;
            }
            span_times(s, start[i], end[i], rel, &nrel);
        }
    }

    /* One ResourceSpans per span, or per service when grouping. */
    size_t nrs = o->group_resources ? (size_t)o->services : nspans;
    otlp_resource_spans **rss = pool_alloc(&p, nrs * sizeof(otlp_resource_spans *));
    size_t used = 0;
    if (o->group_resources) {
        otlp_span **lists = pool_alloc(&p, nspans * sizeof(otlp_span *));
        size_t off = 0;
        for (int sv = 0; sv < o->services; sv++) {
            size_t n = 0;
            for (size_t k = 0; k < nspans; k++)
                if (svc[k] == sv)
                    lists[off + n++] = &spans[k];
            if (n)
                rss[used++] = rs_new(&p, o, sv, lists + off, n);
            off += n;
        }
    } else {
        for (size_t k = 0; k < nspans; k++) {
            otlp_span **one = pool_alloc(&p, sizeof(otlp_span *));
            one[0] = &spans[k];
            rss[used++] = rs_new(&p, o, svc[k], one, 1);
        }
    }
    otlp_request req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.resource_spans = rss;
    req.n_resource_spans = used;
    t->len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &req);
    t->bytes = malloc(t->len);
    t->nspans = nspans;
    if (t->bytes == NULL) {
        pool_free(&p);
        return -1;
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, t->bytes);
    int rc = template_scan(t, rel, nrel);
    pool_free(&p);
    if (rc == 0 && t->npatches != nspans * 3)
        rc = -1; /* a placeholder went missing: the scan would send stale IDs */
    return rc;
}

int lg_templates_build(const lg_options *o, lg_template **out, int *n)
{
    lg_template *t = calloc((size_t)o->templates, sizeof(*t));
    if (t == NULL)
        return -1;
    for (int i = 0; i < o->templates; i++) {
        if (template_build(o, o->seed * 7919 + (uint64_t)i + 1, &t[i]) != 0) {
            fprintf(stderr, "loadgen: cannot build request template %d\n", i);
            lg_templates_free(t, i + 1);
            return -1;
        }
    }
    *out = t;
    *n = o->templates;
    return 0;
}

void lg_templates_free(lg_template *t, int n)
{
    if (t == NULL)
        return;
    for (int i = 0; i < n; i++) {
        free(t[i].bytes);
        free(t[i].patches);
        free(t[i].trace_spans);
    }
    free(t);
}

void lg_template_fill(const lg_template *t, uint8_t *dst, uint64_t *rng, uint64_t base_ns,
                      uint8_t *ids)
{
    for (int i = 0; i < t->ntraces; i++) {
        uint64_t a = lg_rand(rng), b = lg_rand(rng);
        if ((a | b) == 0)
            a = 1;
        memcpy(ids + 16 * i, &a, 8);
        memcpy(ids + 16 * i + 8, &b, 8);
    }
    memcpy(dst, t->bytes, t->len);
    for (size_t i = 0; i < t->npatches; i++) {
        const lg_patch *p = &t->patches[i];
        if (p->kind == LG_PATCH_TRACE) {
            memcpy(dst + p->offset, ids + 16 * p->trace, 16);
        } else {
            uint64_t v = base_ns + p->rel_ns;
            memcpy(dst + p->offset, &v, 8);
        }
    }
}

uint8_t *lg_gzip(const uint8_t *in, size_t len, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong cap = deflateBound(&zs, (uLong)len);
    uint8_t *out = malloc(cap);
    if (out == NULL) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *outlen = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}
