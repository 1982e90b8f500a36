/* otlp/zipkin_json_v1.c - reads Zipkin's older v1 JSON span list (POST
 * /api/v1/spans) into the same zk_span structs as v2, the way Zipkin converts
 * v1 to v2: the core annotations (cs/cr client, sr/ss server, ms producer, mr
 * consumer) give a span its kind, its local endpoint and, when the span has no
 * timestamp or duration of its own, its times; the address annotations (ca, sa,
 * ma) give its remote endpoint; other annotations stay annotations and other
 * binary annotations become tags. A v1 span reported with both client and
 * server annotations (one RPC seen from both sides) becomes two spans, the
 * server one shared. */
#include <stdio.h>
#include <string.h>

#include "otlp/zipkin.h"

typedef struct v1ann {
    uint64_t ts;
    const char *value;
    zk_endpoint ep;
    bool has_ep;
} v1ann;

typedef struct v1bin {
    const char *key, *value;
    zk_endpoint ep;
    bool has_ep;
} v1bin;

/* One half of a v1 span: the v2 span it becomes, and its core annotations. */
typedef struct part {
    zk_span *s;
    const v1ann *begin, *end; /* cs/sr/ms/mr and cr/ss; may be NULL */
} part;

static int endpoint_of(otlp_zj *z, json_object *o, zk_endpoint *ep, bool *has)
{
    json_object *v = json_object_object_get(o, "endpoint");
    *has = v && !json_object_is_type(v, json_type_null);
    return otlp_zj_endpoint(z, v, "endpoint", ep);
}

static int read_annotations(otlp_zj *z, json_object *v, v1ann **out, size_t *n)
{
    *n = 0;
    if (v == NULL || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_array))
        return otlp_zj_fail(z, "annotations", "is not an array");
    size_t len = json_object_array_length(v);
    if ((*out = otlp_zj_alloc(z, len * sizeof(v1ann))) == NULL)
        return -1;
    for (size_t i = 0; i < len; i++) {
        json_object *o = json_object_array_get_idx(v, i);
        v1ann *a = &(*out)[i];
        if (!json_object_is_type(o, json_type_object))
            return otlp_zj_fail(z, "annotations", "holds something other than objects");
        a->ts = 0;
        if (otlp_zj_u64(z, json_object_object_get(o, "timestamp"), "annotation timestamp",
                        INT64_MAX / 1000, &a->ts) < 0 ||
            otlp_zj_str(z, json_object_object_get(o, "value"), "annotation value", &a->value) !=
                0 ||
            endpoint_of(z, o, &a->ep, &a->has_ep) != 0)
            return -1;
        if (a->value == NULL)
            a->value = "";
        (*n)++;
    }
    return 0;
}

static int read_binary(otlp_zj *z, json_object *v, v1bin **out, size_t *n)
{
    *n = 0;
    if (v == NULL || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_array))
        return otlp_zj_fail(z, "binaryAnnotations", "is not an array");
    size_t len = json_object_array_length(v);
    if ((*out = otlp_zj_alloc(z, len * sizeof(v1bin))) == NULL)
        return -1;
    for (size_t i = 0; i < len; i++) {
        json_object *o = json_object_array_get_idx(v, i);
        v1bin *b = &(*out)[i];
        if (!json_object_is_type(o, json_type_object))
            return otlp_zj_fail(z, "binaryAnnotations", "holds something other than objects");
        json_object *val = json_object_object_get(o, "value");
        if (otlp_zj_str(z, json_object_object_get(o, "key"), "binaryAnnotation key", &b->key) !=
                0 ||
            endpoint_of(z, o, &b->ep, &b->has_ep) != 0)
            return -1;
        if (b->key == NULL)
            return otlp_zj_fail(z, "binaryAnnotation key", "is missing");
        if (val && (json_object_is_type(val, json_type_object) ||
                    json_object_is_type(val, json_type_array)))
            return otlp_zj_fail(z, "binaryAnnotation value", "should be a string");
        /* Booleans and numbers in their JSON text. */
        const char *text = val ? json_object_get_string(val) : "";
        if ((b->value = otlp_zj_strdup(z, text, strlen(text))) == NULL)
            return -1;
        (*n)++;
    }
    return 0;
}

static const v1ann *find(const v1ann *a, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].value, value) == 0)
            return &a[i];
    return NULL;
}

/* 1 when |value| is a core annotation. */
static int is_core(const char *v)
{
    static const char *const core[] = {"cs", "cr", "sr", "ss", "ms", "mr"};
    for (size_t i = 0; i < 6; i++)
        if (strcmp(v, core[i]) == 0)
            return 1;
    return 0;
}

/* The part whose local service is |ep|'s, else the first. */
static part *part_for(part *parts, size_t nparts, const zk_endpoint *ep, bool has_ep)
{
    for (size_t i = 0; has_ep && ep->service && i < nparts; i++)
        if (parts[i].s->local.service && strcmp(parts[i].s->local.service, ep->service) == 0)
            return &parts[i];
    return &parts[0];
}

/* Sets a part's kind, endpoint and times from its core annotations. */
static void core_times(part *p, int kind, bool own_times)
{
    zk_span *s = p->s;
    s->kind = kind;
    if (p->begin && p->begin->has_ep)
        s->local = p->begin->ep;
    else if (p->end && p->end->has_ep)
        s->local = p->end->ep;
    if (own_times)
        return;
    if (p->begin) {
        s->timestamp_us = p->begin->ts;
        s->has_timestamp = p->begin->ts > 0;
        if (p->end && p->end->ts > p->begin->ts)
            s->duration_us = p->end->ts - p->begin->ts;
    }
}

/* Reads v1 span |o| into one or two spans at |out| (room for two). */
static int v1_span(otlp_zj *z, json_object *o, zk_span *out, size_t *nout)
{
    zk_span base;
    memset(&base, 0, sizeof(base));
    if (!json_object_is_type(o, json_type_object))
        return otlp_zj_fail(z, "span", "is not an object");
    int r = otlp_zj_id(z, json_object_object_get(o, "traceId"), "traceId", base.trace_id, 16);
    if (r <= 0)
        return r < 0 ? -1 : otlp_zj_fail(z, "traceId", "is missing");
    r = otlp_zj_id(z, json_object_object_get(o, "id"), "id", base.id, 8);
    if (r <= 0)
        return r < 0 ? -1 : otlp_zj_fail(z, "id", "is missing");
    r = otlp_zj_id(z, json_object_object_get(o, "parentId"), "parentId", base.parent_id, 8);
    if (r < 0)
        return -1;
    base.has_parent = r == 1;
    if (otlp_zj_str(z, json_object_object_get(o, "name"), "name", &base.name) != 0)
        return -1;
    if (base.name == NULL)
        base.name = "";
    r = otlp_zj_u64(z, json_object_object_get(o, "timestamp"), "timestamp", INT64_MAX / 1000,
                    &base.timestamp_us);
    int rd = r < 0 ? -1
                   : otlp_zj_u64(z, json_object_object_get(o, "duration"), "duration",
                                 INT64_MAX / 1000, &base.duration_us);
    if (r < 0 || rd < 0)
        return -1;
    base.has_timestamp = r == 1 && base.timestamp_us > 0;
    bool own_times = base.has_timestamp;

    v1ann *anns = NULL;
    v1bin *bins = NULL;
    size_t nanns, nbins;
    if (read_annotations(z, json_object_object_get(o, "annotations"), &anns, &nanns) != 0 ||
        read_binary(z, json_object_object_get(o, "binaryAnnotations"), &bins, &nbins) != 0)
        return -1;
    base.annotations = otlp_zj_alloc(z, nanns * sizeof(zk_annotation));
    zk_annotation *ann2 = otlp_zj_alloc(z, nanns * sizeof(zk_annotation));
    base.tags = otlp_zj_alloc(z, nbins * sizeof(zk_tag));
    zk_tag *tags2 = otlp_zj_alloc(z, nbins * sizeof(zk_tag));
    if (base.annotations == NULL || ann2 == NULL || base.tags == NULL || tags2 == NULL)
        return -1;

    const v1ann *cs = find(anns, nanns, "cs"), *cr = find(anns, nanns, "cr");
    const v1ann *sr = find(anns, nanns, "sr"), *ss = find(anns, nanns, "ss");
    const v1ann *ms = find(anns, nanns, "ms"), *mr = find(anns, nanns, "mr");
    part parts[2];
    size_t nparts = 1;
    out[0] = base;
    parts[0].s = &out[0];
    if ((cs || cr) && (sr || ss)) {
        /* Both sides of one RPC: the client span, and the server's shared one. */
        out[1] = base;
        out[1].annotations = ann2;
        out[1].tags = tags2;
        out[1].shared = true;
        parts[1].s = &out[1];
        nparts = 2;
        parts[0].begin = cs, parts[0].end = cr;
        parts[1].begin = sr, parts[1].end = ss;
        core_times(&parts[0], ZK_KIND_CLIENT, false);
        core_times(&parts[1], ZK_KIND_SERVER, false);
    } else if (cs || cr || sr || ss || ms || mr) {
        int client = cs || cr, server = sr || ss;
        parts[0].begin = client ? cs : server ? sr : ms ? ms : mr;
        parts[0].end = client ? cr : server ? ss : NULL;
        core_times(&parts[0],
                   client   ? ZK_KIND_CLIENT
                   : server ? ZK_KIND_SERVER
                   : ms     ? ZK_KIND_PRODUCER
                            : ZK_KIND_CONSUMER,
                   own_times);
    }
    /* Without core annotations, the first endpoint named is the local one. */
    for (size_t i = 0; !out[0].local.service && i < nanns; i++)
        if (anns[i].has_ep)
            out[0].local = anns[i].ep;
    for (size_t i = 0; !out[0].local.service && i < nbins; i++)
        if (bins[i].has_ep && strcmp(bins[i].key, "ca") != 0 && strcmp(bins[i].key, "sa") != 0 &&
            strcmp(bins[i].key, "ma") != 0)
            out[0].local = bins[i].ep;

    for (size_t i = 0; i < nanns; i++) {
        if (is_core(anns[i].value))
            continue;
        zk_span *s = part_for(parts, nparts, &anns[i].ep, anns[i].has_ep)->s;
        s->annotations[s->nannotations].timestamp_us = anns[i].ts;
        s->annotations[s->nannotations++].value = anns[i].value;
    }
    for (size_t i = 0; i < nbins; i++) {
        const v1bin *b = &bins[i];
        zk_span *s;
        if (strcmp(b->key, "ca") == 0 || strcmp(b->key, "sa") == 0 || strcmp(b->key, "ma") == 0) {
            /* An address: the remote side of the part it describes. */
            s = nparts == 2 ? parts[b->key[0] == 'c' ? 1 : 0].s : parts[0].s;
            if (b->has_ep)
                s->remote = b->ep;
            continue;
        }
        s = part_for(parts, nparts, &b->ep, b->has_ep)->s;
        s->tags[s->ntags].key = b->key;
        s->tags[s->ntags++].value = b->value;
    }
    *nout = nparts;
    return 0;
}

ottr_status otlp_zk_decode_json_v1(ottr_arena *a, const char *json, size_t len, zk_spans *out,
                                   char *err, size_t errlen)
{
    /* Each v1 span may become two. */
    return otlp_zj_read_list(a, json, len, 2, v1_span, out, err, errlen);
}
