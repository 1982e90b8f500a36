/* query/zipkin.c - encodes a decoded trace as Zipkin v2 JSON spans (the Span of
 * zipkin2-api.yaml), the way the OpenTelemetry Zipkin exporters map OTLP: the
 * resource's service.name and net.host.* are the local endpoint, peer.service
 * and net.peer.* the remote one, attributes (the span's, then the resource's)
 * string tags, events annotations, the status otel.status_code and error tags,
 * the scope otel.scope.* and otel.library.* tags. A span received as Zipkin's
 * shared server half (zipkin.shared) gets its shared ID back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"
#include "query/qzipkin.h"

void query_zipkin_trace_id(ottr_buf *b, const uint8_t *id, size_t len)
{
    static const uint8_t zero[8] = {0};
    if (len == 16 && memcmp(id, zero, 8) == 0)
        otlp_json_hex(b, id + 8, 8);
    else
        otlp_json_hex(b, id, len);
}

/* Attributes that the endpoints show instead of tags, and markers. */
static int endpoint_key(const char *k)
{
    return strcmp(k, OTLP_ZIPKIN_HOST_IP) == 0 || strcmp(k, OTLP_ZIPKIN_HOST_PORT) == 0 ||
           strcmp(k, OTLP_ZIPKIN_PEER_SERVICE) == 0 || strcmp(k, OTLP_ZIPKIN_PEER_IP) == 0 ||
           strcmp(k, OTLP_ZIPKIN_PEER_PORT) == 0 || strcmp(k, OTLP_ZIPKIN_SHARED) == 0 ||
           strcmp(k, OTLP_ZIPKIN_NO_START) == 0;
}

/* A value as Zipkin's string tag: strings as they are, the rest as JSON text. */
static void tag_value(ottr_buf *b, const otlp_any *v)
{
    if (v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE) {
        otlp_json_str(b, v->string_value);
        return;
    }
    ottr_buf tmp = {0};
    if (v)
        otlp_json_any_plain(&tmp, v);
    ottr_buf_json_str(b, tmp.data ? tmp.data : "", tmp.len);
    if (tmp.oom)
        b->oom = 1;
    ottr_buf_free(&tmp);
}

static void put_key(ottr_buf *b, const char *key, int *first)
{
    if (!*first)
        ottr_buf_putc(b, ',');
    *first = 0;
    otlp_json_str(b, key);
    ottr_buf_putc(b, ':');
}

static void tag_str(ottr_buf *b, const char *key, const char *value, int *first)
{
    put_key(b, key, first);
    otlp_json_str(b, value);
}

/* The attribute as text (a string, or a number's digits), or NULL. */
static const char *attr_text(const otlp_kv *const *kv, size_t n, const char *key, char *tmp,
                             size_t tmplen)
{
    const otlp_any *v = otlp_attr_find((otlp_kv *const *)kv, n, key);
    if (v == NULL)
        return NULL;
    if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
        return v->string_value && v->string_value[0] ? v->string_value : NULL;
    if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE) {
        snprintf(tmp, tmplen, "%lld", (long long)v->int_value);
        return tmp;
    }
    return NULL;
}

/* An endpoint object from |service| and the ip and port attributes; nothing
 * when all are absent. */
static void put_endpoint(ottr_buf *b, const char *field, const char *service, const otlp_span *s,
                         const char *ip_key, const char *port_key)
{
    char t1[32], t2[32];
    const char *ip =
        attr_text((const otlp_kv *const *)s->attributes, s->n_attributes, ip_key, t1, sizeof(t1));
    const char *port =
        attr_text((const otlp_kv *const *)s->attributes, s->n_attributes, port_key, t2, sizeof(t2));
    uint64_t p = 0;
    if (port) {
        char *end;
        unsigned long long v = strtoull(port, &end, 10);
        p = *end == '\0' && v > 0 && v <= 65535 ? v : 0;
    }
    if (service == NULL && ip == NULL && p == 0)
        return;
    ottr_buf_printf(b, ",\"%s\":{", field);
    int first = 1;
    if (service)
        tag_str(b, "serviceName", service, &first);
    if (ip)
        tag_str(b, strchr(ip, ':') ? "ipv6" : "ipv4", ip, &first);
    if (p) {
        put_key(b, "port", &first);
        ottr_buf_printf(b, "%llu", (unsigned long long)p);
    }
    ottr_buf_putc(b, '}');
}

static void put_annotations(ottr_buf *b, const otlp_span *s)
{
    if (s->n_events == 0)
        return;
    ottr_buf_puts(b, ",\"annotations\":[");
    for (size_t i = 0; i < s->n_events; i++) {
        const otlp_event *e = s->events[i];
        ottr_buf_printf(b, "%s{\"timestamp\":%llu,\"value\":", i ? "," : "",
                        (unsigned long long)(e->time_unix_nano / 1000));
        if (e->n_attributes == 0) {
            otlp_json_str(b, e->name);
        } else {
            /* {"name":{attributes}} as text, as the OpenTelemetry exporters write it. */
            ottr_buf tmp = {0};
            ottr_buf_putc(&tmp, '{');
            otlp_json_str(&tmp, e->name);
            ottr_buf_puts(&tmp, ":{");
            for (size_t k = 0; k < e->n_attributes; k++) {
                if (k)
                    ottr_buf_putc(&tmp, ',');
                otlp_json_str(&tmp, e->attributes[k]->key);
                ottr_buf_putc(&tmp, ':');
                otlp_json_any_plain(&tmp, e->attributes[k]->value);
            }
            ottr_buf_puts(&tmp, "}}");
            ottr_buf_json_str(b, tmp.data ? tmp.data : "", tmp.len);
            if (tmp.oom)
                b->oom = 1;
            ottr_buf_free(&tmp);
        }
        ottr_buf_putc(b, '}');
    }
    ottr_buf_putc(b, ']');
}

static void put_tags(ottr_buf *b, const otlp_span_ref *q)
{
    const otlp_span *s = q->span;
    size_t mark = b->len;
    ottr_buf_puts(b, ",\"tags\":{");
    int first = 1;
    for (size_t i = 0; i < s->n_attributes; i++) {
        const otlp_kv *kv = s->attributes[i];
        if (endpoint_key(kv->key))
            continue;
        put_key(b, kv->key, &first);
        tag_value(b, kv->value);
    }
    const otlp_resource *r = q->resource;
    for (size_t i = 0; r && i < r->n_attributes; i++) {
        const otlp_kv *kv = r->attributes[i];
        if (strcmp(kv->key, OTLP_SERVICE_NAME) == 0 ||
            otlp_attr_find(s->attributes, s->n_attributes, kv->key))
            continue;
        put_key(b, kv->key, &first);
        tag_value(b, kv->value);
    }
    if (q->scope && q->scope->name && q->scope->name[0]) {
        tag_str(b, "otel.library.name", q->scope->name, &first);
        tag_str(b, "otel.scope.name", q->scope->name, &first);
        if (q->scope->version && q->scope->version[0]) {
            tag_str(b, "otel.library.version", q->scope->version, &first);
            tag_str(b, "otel.scope.version", q->scope->version, &first);
        }
    }
    int code = otlp_span_status_code(s);
    if (code == 1) {
        tag_str(b, "otel.status_code", "OK", &first);
    } else if (code == 2) {
        tag_str(b, "otel.status_code", "ERROR", &first);
        tag_str(b, "error", s->status->message ? s->status->message : "", &first);
    }
    if (s->trace_state && s->trace_state[0])
        tag_str(b, "w3c.tracestate", s->trace_state, &first);
    if (first && !b->oom) {
        /* No tags: Zipkin leaves the field out. */
        b->len = mark;
        b->data[mark] = '\0';
        return;
    }
    ottr_buf_putc(b, '}');
}

static int is_true(const otlp_span *s, const char *key)
{
    const otlp_any *v = otlp_attr_find(s->attributes, s->n_attributes, key);
    return v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE &&
           v->bool_value;
}

static int valid_id(const ProtobufCBinaryData *id)
{
    static const uint8_t zero[8] = {0};
    return id->len == 8 && memcmp(id->data, zero, 8) != 0;
}

/* The parent of span |q|'s parent in |t| (for a shared span: its client's
 * parent), from the tree; NULL when there is none or no tree. */
static const ProtobufCBinaryData *grandparent(const otlp_trace *t, const otlp_span_ref *q)
{
    if (q->parent < 0 || (size_t)q->parent >= t->nspans)
        return NULL;
    const otlp_span *p = t->spans[q->parent].span;
    return valid_id(&p->parent_span_id) ? &p->parent_span_id : NULL;
}

static const char *const kind_names[] = {NULL, NULL, "SERVER", "CLIENT", "PRODUCER", "CONSUMER"};

void query_zipkin_encode_span(ottr_buf *b, const otlp_trace *t, size_t idx,
                              const uint8_t trace_id[16])
{
    const otlp_span_ref *q = &t->spans[idx];
    const otlp_span *s = q->span;
    int shared = is_true(s, OTLP_ZIPKIN_SHARED) && valid_id(&s->parent_span_id);
    const ProtobufCBinaryData *id = shared ? &s->parent_span_id : &s->span_id;
    const ProtobufCBinaryData *parent = shared                         ? grandparent(t, q)
                                        : valid_id(&s->parent_span_id) ? &s->parent_span_id
                                                                       : NULL;
    ottr_buf_puts(b, "{\"traceId\":");
    query_zipkin_trace_id(b, trace_id, 16);
    if (parent) {
        ottr_buf_puts(b, ",\"parentId\":");
        otlp_json_hex(b, parent->data, parent->len);
    }
    ottr_buf_puts(b, ",\"id\":");
    otlp_json_hex(b, id->data, id->len);
    int kind = (int)s->kind;
    if (kind > 0 && kind < 6 && kind_names[kind])
        ottr_buf_printf(b, ",\"kind\":\"%s\"", kind_names[kind]);
    if (s->name && s->name[0]) {
        ottr_buf_puts(b, ",\"name\":");
        otlp_json_str(b, s->name);
    }
    if (!is_true(s, OTLP_ZIPKIN_NO_START) && s->start_time_unix_nano >= 1000)
        ottr_buf_printf(b, ",\"timestamp\":%llu",
                        (unsigned long long)(s->start_time_unix_nano / 1000));
    uint64_t dur = otlp_span_duration(s) / 1000;
    if (dur)
        ottr_buf_printf(b, ",\"duration\":%llu", (unsigned long long)dur);
    if (shared)
        ottr_buf_puts(b, ",\"shared\":true");
    const char *service =
        otlp_attr_str(q->resource ? q->resource->attributes : NULL,
                      q->resource ? q->resource->n_attributes : 0, OTLP_SERVICE_NAME);
    put_endpoint(b, "localEndpoint", service && service[0] ? service : NULL, s, OTLP_ZIPKIN_HOST_IP,
                 OTLP_ZIPKIN_HOST_PORT);
    const char *peer = otlp_attr_str(s->attributes, s->n_attributes, OTLP_ZIPKIN_PEER_SERVICE);
    put_endpoint(b, "remoteEndpoint", peer && peer[0] ? peer : NULL, s, OTLP_ZIPKIN_PEER_IP,
                 OTLP_ZIPKIN_PEER_PORT);
    put_annotations(b, s);
    put_tags(b, q);
    ottr_buf_putc(b, '}');
}

int query_zipkin_encode_trace(ottr_buf *b, const otlp_trace *t, const uint8_t trace_id[16])
{
    ottr_buf_putc(b, '[');
    for (size_t i = 0; i < t->nspans; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        query_zipkin_encode_span(b, t, i, trace_id);
    }
    ottr_buf_putc(b, ']');
    return b->oom ? -1 : 0;
}
