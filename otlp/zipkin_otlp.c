/* otlp/zipkin_otlp.c - Zipkin v2 spans to an OTLP export request, with the
 * OpenTelemetry Collector's Zipkin translation rules: the local endpoint's
 * service is the resource's service.name (resource-convention tags such as
 * telemetry.sdk.* join it), otel.library.* / otel.scope.* tags name the scope,
 * kind maps one to one, remote endpoint to peer.service / net.peer.ip /
 * net.peer.port and the local endpoint's address to net.host.*, tags to string
 * attributes, annotations to events (their value the event name), the error
 * and otel.status_code tags to the status. Two things it does its own way: a
 * shared span (a server span reusing its client's ID) gets an ID of its own
 * under that client, marked zipkin.shared, so the trace stays a tree; and a
 * span without a timestamp starts when it arrives (marked as the Collector
 * does). The request lives in the arena like a decoded OTLP request, for
 * otlp_batch_build_limited. */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "otlp/zipkin.h"

/* Tag keys that describe the process rather than the span: moved onto the
 * resource, as the Collector moves the resource semantic conventions. */
static const char *const resource_prefixes[] = {
    "telemetry.", "service.", "host.",   "os.",         "process.", "container.", "k8s.",
    "cloud.",     "faas.",    "device.", "deployment.", "browser.", "webengine.",
};

int otlp_zipkin_resource_key(const char *key)
{
    if (strcmp(key, OTLP_SERVICE_NAME) == 0)
        return 0; /* the local endpoint names the service */
    for (size_t i = 0; i < sizeof(resource_prefixes) / sizeof(resource_prefixes[0]); i++)
        if (strncmp(key, resource_prefixes[i], strlen(resource_prefixes[i])) == 0)
            return 1;
    return 0;
}

/* ---- a small hash index from byte keys to group numbers ---- */

typedef struct hslot {
    uint64_t h;
    const char *key;
    size_t len;
    uint32_t group; /* UINT32_MAX: empty */
} hslot;

typedef struct hindex {
    hslot *slots;
    size_t mask;
    uint32_t n;
} hindex;

static int hindex_init(hindex *x, ottr_arena *a, size_t want)
{
    size_t cap = 16;
    while (cap < want * 2)
        cap <<= 1;
    x->slots = ottr_arena_alloc(a, cap * sizeof(hslot));
    if (x->slots == NULL)
        return -1;
    for (size_t i = 0; i < cap; i++)
        x->slots[i].group = UINT32_MAX;
    x->mask = cap - 1;
    x->n = 0;
    return 0;
}

/* The group of |key|, a new one when first seen. |key| must outlive |x|. */
static uint32_t hindex_get(hindex *x, const char *key, size_t len)
{
    uint64_t h = XXH3_64bits(key, len);
    for (size_t i = (size_t)h & x->mask;; i = (i + 1) & x->mask) {
        hslot *s = &x->slots[i];
        if (s->group == UINT32_MAX) {
            s->h = h;
            s->key = key;
            s->len = len;
            s->group = x->n++;
            return s->group;
        }
        if (s->h == h && s->len == len && memcmp(s->key, key, len) == 0)
            return s->group;
    }
}

/* ---- the conversion ---- */

typedef struct conv {
    ottr_arena *a;
    ottr_status st;
} conv;

static void *calloc_in(conv *c, size_t n)
{
    void *p = ottr_arena_alloc(c->a, n ? n : 1);
    if (p == NULL) {
        if (c->st == OTTR_OK)
            c->st = otlp_alloc_failure(c->a, n ? n : 1);
        return NULL;
    }
    memset(p, 0, n ? n : 1);
    return p;
}

static otlp_kv *kv_new(conv *c, const char *key)
{
    otlp_kv *kv = calloc_in(c, sizeof(*kv));
    otlp_any *v = calloc_in(c, sizeof(*v));
    if (kv == NULL || v == NULL)
        return NULL;
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    kv->key = (char *)key;
    kv->value = v;
    return kv;
}

static otlp_kv *kv_str(conv *c, const char *key, const char *value)
{
    otlp_kv *kv = kv_new(c, key);
    if (kv) {
        kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        kv->value->string_value = (char *)value;
    }
    return kv;
}

static otlp_kv *kv_int(conv *c, const char *key, int64_t value)
{
    otlp_kv *kv = kv_new(c, key);
    if (kv) {
        kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        kv->value->int_value = value;
    }
    return kv;
}

static otlp_kv *kv_true(conv *c, const char *key)
{
    otlp_kv *kv = kv_new(c, key);
    if (kv) {
        kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        kv->value->bool_value = 1;
    }
    return kv;
}

static int has_attr(otlp_kv **kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i]->key, key) == 0)
            return 1;
    return 0;
}

/* What the tags of one span say, sorted out. */
typedef struct sorted_tags {
    const char *service_tag; /* a service.name tag */
    const char *scope_name, *scope_version;
    const char *status_code, *status_message, *error;
    const char *trace_state;
} sorted_tags;

static int is_scope_name(const char *k)
{
    return strcmp(k, "otel.scope.name") == 0 || strcmp(k, "otel.library.name") == 0;
}

static int is_scope_version(const char *k)
{
    return strcmp(k, "otel.scope.version") == 0 || strcmp(k, "otel.library.version") == 0;
}

/* 1 when tag |t| is read into |st| (not kept as an attribute). */
static int sort_tag(const zk_tag *t, sorted_tags *st)
{
    const char *k = t->key;
    if (strcmp(k, OTLP_SERVICE_NAME) == 0)
        st->service_tag = t->value;
    else if (is_scope_name(k))
        st->scope_name = t->value;
    else if (is_scope_version(k))
        st->scope_version = t->value;
    else if (strcmp(k, "otel.status_code") == 0)
        st->status_code = t->value;
    else if (strcmp(k, "otel.status_description") == 0)
        st->status_message = t->value;
    else if (strcmp(k, "error") == 0)
        st->error = t->value;
    else if (strcmp(k, "w3c.tracestate") == 0)
        st->trace_state = t->value;
    else
        return 0;
    return 1;
}

static const char *local_service(const zk_span *z, const sorted_tags *st)
{
    if (z->local.service)
        return z->local.service;
    return st->service_tag && st->service_tag[0] ? st->service_tag : NULL;
}

static void set_status(conv *c, otlp_span *s, const sorted_tags *st)
{
    int code = 0;
    const char *msg = NULL;
    if (st->status_code) {
        int v = otlp_status_code_parse(st->status_code, strlen(st->status_code),
                                       OTLP_NAME_FULL | OTLP_NAME_WORD | OTLP_NAME_NOCASE);
        code = v > 0 ? v : 0;
        msg = st->status_message;
    }
    if (st->error) {
        /* Zipkin's error tag holds the error's message, or "true". */
        code = 2;
        if ((msg == NULL || msg[0] == '\0') && st->error[0] && strcmp(st->error, "true") != 0)
            msg = st->error;
    }
    if (code == 0)
        return;
    otlp_status *status = calloc_in(c, sizeof(*status));
    if (status == NULL)
        return;
    opentelemetry__proto__trace__v1__status__init(status);
    status->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)code;
    status->message = (char *)(msg && code == 2 ? msg : "");
    s->status = status;
}

static ProtobufCBinaryData id_bytes(conv *c, const uint8_t *id, size_t n)
{
    ProtobufCBinaryData b = {0, NULL};
    b.data = ottr_arena_memdup(c->a, id, n);
    if (b.data == NULL && c->st == OTTR_OK)
        c->st = otlp_alloc_failure(c->a, n);
    b.len = b.data ? n : 0;
    return b;
}

/* A shared span's own ID: derived from the ID it shares, never zero. */
static void shared_id(const uint8_t id[8], uint8_t out[8])
{
    uint64_t h = XXH3_64bits_withSeed(id, 8, 0x7a69706b696e5368ull);
    if (h == 0)
        h = 1;
    for (int i = 7; i >= 0; i--, h >>= 8)
        out[i] = (uint8_t)h;
}

static otlp_span *convert_span(conv *c, const zk_span *z, const sorted_tags *st, uint64_t now_ns)
{
    otlp_span *s = calloc_in(c, sizeof(*s));
    if (s == NULL)
        return NULL;
    opentelemetry__proto__trace__v1__span__init(s);
    s->trace_id = id_bytes(c, z->trace_id, 16);
    if (z->shared) {
        uint8_t own[8];
        shared_id(z->id, own);
        s->span_id = id_bytes(c, own, 8);
        s->parent_span_id = id_bytes(c, z->id, 8);
    } else {
        s->span_id = id_bytes(c, z->id, 8);
        /* A span that names itself as parent is a root, as the Collector has it. */
        if (z->has_parent && memcmp(z->parent_id, z->id, 8) != 0)
            s->parent_span_id = id_bytes(c, z->parent_id, 8);
    }
    s->name = (char *)z->name;
    static const int kinds[] = {0, 3, 2, 4, 5}; /* none, client, server, producer, consumer */
    s->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)kinds[z->kind];
    uint64_t start = z->has_timestamp ? z->timestamp_us * 1000 : now_ns;
    s->start_time_unix_nano = start;
    s->end_time_unix_nano = start + z->duration_us * 1000;
    if (st->trace_state)
        s->trace_state = (char *)st->trace_state;
    set_status(c, s, st);

    /* Attributes: the span's tags, then what the endpoints add. */
    size_t cap = z->ntags + 8;
    s->attributes = calloc_in(c, cap * sizeof(otlp_kv *));
    if (s->attributes == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < z->ntags; i++) {
        sorted_tags ignore = {0};
        if (sort_tag(&z->tags[i], &ignore) || otlp_zipkin_resource_key(z->tags[i].key))
            continue;
        if ((s->attributes[n] = kv_str(c, z->tags[i].key, z->tags[i].value)) == NULL)
            return NULL;
        n++;
    }
    struct {
        const char *key;
        const char *str;
        int port;
    } add[] = {
        {OTLP_ZIPKIN_HOST_IP, z->local.ipv6 ? z->local.ipv6 : z->local.ipv4, 0},
        {OTLP_ZIPKIN_HOST_PORT, NULL, z->local.port},
        {OTLP_ZIPKIN_PEER_SERVICE, z->remote.service, 0},
        {OTLP_ZIPKIN_PEER_IP, z->remote.ipv6 ? z->remote.ipv6 : z->remote.ipv4, 0},
        {OTLP_ZIPKIN_PEER_PORT, NULL, z->remote.port},
    };
    for (size_t i = 0; i < sizeof(add) / sizeof(add[0]); i++) {
        if ((add[i].str == NULL && add[i].port == 0) || has_attr(s->attributes, n, add[i].key))
            continue;
        s->attributes[n] =
            add[i].str ? kv_str(c, add[i].key, add[i].str) : kv_int(c, add[i].key, add[i].port);
        if (s->attributes[n++] == NULL)
            return NULL;
    }
    if (z->shared && (s->attributes[n++] = kv_true(c, OTLP_ZIPKIN_SHARED)) == NULL)
        return NULL;
    if (!z->has_timestamp && (s->attributes[n++] = kv_true(c, OTLP_ZIPKIN_NO_START)) == NULL)
        return NULL;
    s->n_attributes = n;

    if (z->nannotations) {
        s->events = calloc_in(c, z->nannotations * sizeof(otlp_event *));
        if (s->events == NULL)
            return NULL;
        for (size_t i = 0; i < z->nannotations; i++) {
            otlp_event *e = calloc_in(c, sizeof(*e));
            if (e == NULL)
                return NULL;
            opentelemetry__proto__trace__v1__span__event__init(e);
            e->time_unix_nano = z->annotations[i].timestamp_us * 1000;
            e->name = (char *)z->annotations[i].value;
            s->events[i] = e;
        }
        s->n_events = z->nannotations;
    }
    return s;
}

/* The bytes naming a span's resource: its service, then its resource tags. */
static const char *resource_key(conv *c, const zk_span *z, const char *service, size_t *len)
{
    ottr_buf b = {0};
    ottr_buf_append(&b, service ? service : "", strlen(service ? service : "") + 1);
    for (size_t i = 0; i < z->ntags; i++) {
        if (!otlp_zipkin_resource_key(z->tags[i].key))
            continue;
        ottr_buf_append(&b, z->tags[i].key, strlen(z->tags[i].key) + 1);
        ottr_buf_append(&b, z->tags[i].value, strlen(z->tags[i].value) + 1);
    }
    const char *k = b.oom ? NULL : ottr_arena_memdup(c->a, b.data, b.len);
    *len = b.len;
    ottr_buf_free(&b);
    if (k == NULL && c->st == OTTR_OK)
        c->st = OTTR_ERR_NOMEM;
    return k;
}

static otlp_resource *make_resource(conv *c, const zk_span *z, const char *service)
{
    otlp_resource *r = calloc_in(c, sizeof(*r));
    if (r == NULL)
        return NULL;
    opentelemetry__proto__resource__v1__resource__init(r);
    r->attributes = calloc_in(c, (z->ntags + 1) * sizeof(otlp_kv *));
    if (r->attributes == NULL)
        return NULL;
    /* A span without a local service has a resource without service.name, as
     * in the Collector: it reads back as unknown_service. */
    if (service &&
        (r->attributes[r->n_attributes++] = kv_str(c, OTLP_SERVICE_NAME, service)) == NULL)
        return NULL;
    for (size_t i = 0; i < z->ntags; i++) {
        if (!otlp_zipkin_resource_key(z->tags[i].key))
            continue;
        if ((r->attributes[r->n_attributes++] = kv_str(c, z->tags[i].key, z->tags[i].value)) ==
            NULL)
            return NULL;
    }
    return r;
}

typedef struct scope_group {
    uint32_t rs;
    otlp_scope_spans *ss;
} scope_group;

ottr_status otlp_zipkin_decode_request(ottr_arena *arena, otlp_zipkin_encoding enc,
                                       const uint8_t *data, size_t len, uint64_t now_ns,
                                       otlp_request **out, char *err, size_t errlen)
{
    zk_spans zs;
    *out = NULL;
    ottr_status st;
    if (enc == OTLP_ZIPKIN_PROTO)
        st = otlp_zk_decode_proto(arena, data, len, &zs, err, errlen);
    else if (enc == OTLP_ZIPKIN_JSON_V1)
        st = otlp_zk_decode_json_v1(arena, (const char *)data, len, &zs, err, errlen);
    else
        st = otlp_zk_decode_json(arena, (const char *)data, len, &zs, err, errlen);

    if (st != OTTR_OK)
        return st;
    conv c = {arena, OTTR_OK};
    otlp_request *req = calloc_in(&c, sizeof(*req));
    uint32_t *rs_of = calloc_in(&c, zs.n * sizeof(uint32_t));
    uint32_t *sg_of = calloc_in(&c, zs.n * sizeof(uint32_t));
    sorted_tags *tags = calloc_in(&c, zs.n * sizeof(sorted_tags));
    otlp_span **spans = calloc_in(&c, zs.n * sizeof(otlp_span *));
    /* At most one resource and one scope group per span. */
    otlp_resource_spans **rss = calloc_in(&c, zs.n * sizeof(otlp_resource_spans *));
    scope_group *sgs = calloc_in(&c, zs.n * sizeof(scope_group));
    hindex rx, sx;
    if (req == NULL || rs_of == NULL || sg_of == NULL || tags == NULL || spans == NULL ||
        rss == NULL || sgs == NULL || hindex_init(&rx, arena, zs.n) != 0 ||
        hindex_init(&sx, arena, zs.n) != 0)
        goto oom;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(req);

    for (size_t i = 0; i < zs.n; i++) {
        const zk_span *z = &zs.v[i];
        for (size_t k = 0; k < z->ntags; k++)
            sort_tag(&z->tags[k], &tags[i]);
        const char *service = local_service(z, &tags[i]);
        size_t klen;
        const char *key = resource_key(&c, z, service, &klen);
        if (key == NULL)
            goto oom;
        uint32_t r = hindex_get(&rx, key, klen);
        if (rss[r] == NULL) {
            otlp_resource_spans *rs = calloc_in(&c, sizeof(*rs));
            if (rs == NULL)
                goto oom;
            opentelemetry__proto__trace__v1__resource_spans__init(rs);
            if ((rs->resource = make_resource(&c, z, service)) == NULL)
                goto oom;
            rss[r] = rs;
        }
        rs_of[i] = r;
        /* The scope: resource number, name, version. */
        const char *sn = tags[i].scope_name ? tags[i].scope_name : "";
        const char *sv = tags[i].scope_version ? tags[i].scope_version : "";
        size_t sklen = 4 + strlen(sn) + 1 + strlen(sv);
        char *skey = ottr_arena_alloc(arena, sklen + 1);
        if (skey == NULL)
            goto oom;
        memcpy(skey, &r, 4);
        memcpy(skey + 4, sn, strlen(sn) + 1);
        memcpy(skey + 4 + strlen(sn) + 1, sv, strlen(sv));
        uint32_t g = hindex_get(&sx, skey, sklen);
        if (sgs[g].ss == NULL) {
            otlp_scope_spans *ss = calloc_in(&c, sizeof(*ss));
            if (ss == NULL)
                goto oom;
            opentelemetry__proto__trace__v1__scope_spans__init(ss);
            if (sn[0]) {
                otlp_scope *scope = calloc_in(&c, sizeof(*scope));
                if (scope == NULL)
                    goto oom;
                opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
                scope->name = (char *)sn;
                scope->version = (char *)sv;
                ss->scope = scope;
            }
            sgs[g].rs = r;
            sgs[g].ss = ss;
            rss[r]->n_scope_spans++;
        }
        sg_of[i] = g;
        sgs[g].ss->n_spans++;
        if ((spans[i] = convert_span(&c, z, &tags[i], now_ns)) == NULL)
            goto oom;
    }

    /* Lay the groups out: resources in order of first appearance, each with its
     * scopes, each with its spans in request order. */
    for (uint32_t r = 0; r < rx.n; r++) {
        rss[r]->scope_spans = calloc_in(&c, rss[r]->n_scope_spans * sizeof(otlp_scope_spans *));
        if (rss[r]->scope_spans == NULL)
            goto oom;
        rss[r]->n_scope_spans = 0;
    }
    for (uint32_t g = 0; g < sx.n; g++) {
        otlp_resource_spans *rs = rss[sgs[g].rs];
        rs->scope_spans[rs->n_scope_spans++] = sgs[g].ss;
        sgs[g].ss->spans = calloc_in(&c, sgs[g].ss->n_spans * sizeof(otlp_span *));
        if (sgs[g].ss->spans == NULL)
            goto oom;
        sgs[g].ss->n_spans = 0;
    }
    for (size_t i = 0; i < zs.n; i++) {
        otlp_scope_spans *ss = sgs[sg_of[i]].ss;
        ss->spans[ss->n_spans++] = spans[i];
    }
    req->resource_spans = rss;
    req->n_resource_spans = rx.n;
    *out = req;
    return OTTR_OK;

oom:
    if (c.st == OTTR_OK)
        c.st = OTTR_ERR_NOMEM;
    snprintf(err, errlen, "out of memory");
    return c.st;
}
