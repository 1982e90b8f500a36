/* otlp/json_write.c - encodes decoded OTLP traces as OTLP JSON (lowerCamelCase
 * names, hex IDs, 64-bit integers as strings, enums as integers, empty fields
 * left out), the format of Tempo's JSON traces and Jaeger's api_v3. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"

void otlp_json_hex(ottr_buf *b, const uint8_t *p, size_t n)
{
    if (ottr_buf_reserve(b, 2 * n + 2) != 0)
        return;
    char *o = b->data + b->len;
    *o++ = '"';
    ottr_hex_encode(p, n, o);
    o += 2 * n;
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
}

void otlp_json_base64(ottr_buf *b, const uint8_t *p, size_t n)
{
    ottr_buf_putc(b, '"');
    ottr_base64_encode(b, p, n);
    ottr_buf_putc(b, '"');
}

void otlp_json_u64str(ottr_buf *b, uint64_t v)
{
    ottr_buf_printf(b, "\"%llu\"", (unsigned long long)v);
}

void otlp_json_double(ottr_buf *b, double v)
{
    if (isnan(v)) {
        ottr_buf_puts(b, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        ottr_buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char tmp[40];
    otlp_double_text(tmp, sizeof(tmp), v);
    ottr_buf_puts(b, tmp);
}

size_t otlp_double_text(char *buf, size_t n, double v)
{
    if (isnan(v))
        return (size_t)snprintf(buf, n, "NaN");
    if (isinf(v))
        return (size_t)snprintf(buf, n, v > 0 ? "+Inf" : "-Inf");
    /* The shortest of %.15g and %.17g that reads back exactly. */
    int len = snprintf(buf, n, "%.15g", v);
    if (strtod(buf, NULL) != v)
        len = snprintf(buf, n, "%.17g", v);
    return (size_t)len;
}

void otlp_json_str(ottr_buf *b, const char *s)
{
    ottr_buf_json_str(b, s ? s : "", s ? strlen(s) : 0);
}

void otlp_json_any(ottr_buf *b, const otlp_any *v)
{
    if (v == NULL) {
        ottr_buf_puts(b, "{}");
        return;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        ottr_buf_puts(b, "{\"stringValue\":");
        otlp_json_str(b, v->string_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        ottr_buf_puts(b, v->bool_value ? "{\"boolValue\":true" : "{\"boolValue\":false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        ottr_buf_printf(b, "{\"intValue\":\"%lld\"", (long long)v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        ottr_buf_puts(b, "{\"doubleValue\":");
        otlp_json_double(b, v->double_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        ottr_buf_puts(b, "{\"arrayValue\":{\"values\":[");
        if (v->array_value) {
            for (size_t i = 0; i < v->array_value->n_values; i++) {
                if (i)
                    ottr_buf_putc(b, ',');
                otlp_json_any(b, v->array_value->values[i]);
            }
        }
        ottr_buf_puts(b, "]}");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        ottr_buf_puts(b, "{\"kvlistValue\":{\"values\":");
        if (v->kvlist_value)
            otlp_json_attributes(b, v->kvlist_value->values, v->kvlist_value->n_values);
        else
            ottr_buf_puts(b, "[]");
        ottr_buf_putc(b, '}');
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        ottr_buf_puts(b, "{\"bytesValue\":");
        otlp_json_base64(b, v->bytes_value.data, v->bytes_value.len);
        break;
    default:
        ottr_buf_putc(b, '{');
        break;
    }
    ottr_buf_putc(b, '}');
}

void otlp_json_attributes(ottr_buf *b, otlp_kv *const *kv, size_t n)
{
    ottr_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        ottr_buf_puts(b, "{\"key\":");
        otlp_json_str(b, kv[i]->key);
        ottr_buf_puts(b, ",\"value\":");
        otlp_json_any(b, kv[i]->value);
        ottr_buf_putc(b, '}');
    }
    ottr_buf_putc(b, ']');
}

void otlp_json_any_plain(ottr_buf *b, const otlp_any *v)
{
    if (v == NULL) {
        ottr_buf_puts(b, "null");
        return;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        otlp_json_str(b, v->string_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        ottr_buf_puts(b, v->bool_value ? "true" : "false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        ottr_buf_printf(b, "%lld", (long long)v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        otlp_json_double(b, v->double_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        ottr_buf_putc(b, '[');
        if (v->array_value) {
            for (size_t i = 0; i < v->array_value->n_values; i++) {
                if (i)
                    ottr_buf_putc(b, ',');
                otlp_json_any_plain(b, v->array_value->values[i]);
            }
        }
        ottr_buf_putc(b, ']');
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        ottr_buf_putc(b, '{');
        if (v->kvlist_value) {
            for (size_t i = 0; i < v->kvlist_value->n_values; i++) {
                if (i)
                    ottr_buf_putc(b, ',');
                otlp_json_str(b, v->kvlist_value->values[i]->key);
                ottr_buf_putc(b, ':');
                otlp_json_any_plain(b, v->kvlist_value->values[i]->value);
            }
        }
        ottr_buf_putc(b, '}');
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        otlp_json_base64(b, v->bytes_value.data, v->bytes_value.len);
        break;
    default:
        ottr_buf_puts(b, "null");
        break;
    }
}

static void put_dropped(ottr_buf *b, const char *name, uint32_t n)
{
    if (n)
        ottr_buf_printf(b, ",\"%s\":%u", name, n);
}

static void put_str_field(ottr_buf *b, const char *name, const char *s)
{
    if (s && s[0]) {
        ottr_buf_printf(b, ",\"%s\":", name);
        otlp_json_str(b, s);
    }
}

static void put_event(ottr_buf *b, const otlp_event *e)
{
    ottr_buf_puts(b, "{\"timeUnixNano\":");
    otlp_json_u64str(b, e->time_unix_nano);
    put_str_field(b, "name", e->name);
    if (e->n_attributes) {
        ottr_buf_puts(b, ",\"attributes\":");
        otlp_json_attributes(b, e->attributes, e->n_attributes);
    }
    put_dropped(b, "droppedAttributesCount", e->dropped_attributes_count);
    ottr_buf_putc(b, '}');
}

static void put_link(ottr_buf *b, const otlp_link *l)
{
    ottr_buf_puts(b, "{\"traceId\":");
    otlp_json_hex(b, l->trace_id.data, l->trace_id.len);
    ottr_buf_puts(b, ",\"spanId\":");
    otlp_json_hex(b, l->span_id.data, l->span_id.len);
    put_str_field(b, "traceState", l->trace_state);
    if (l->n_attributes) {
        ottr_buf_puts(b, ",\"attributes\":");
        otlp_json_attributes(b, l->attributes, l->n_attributes);
    }
    put_dropped(b, "droppedAttributesCount", l->dropped_attributes_count);
    if (l->flags)
        ottr_buf_printf(b, ",\"flags\":%u", l->flags);
    ottr_buf_putc(b, '}');
}

static void put_span(ottr_buf *b, const otlp_span *s)
{
    ottr_buf_puts(b, "{\"traceId\":");
    otlp_json_hex(b, s->trace_id.data, s->trace_id.len);
    ottr_buf_puts(b, ",\"spanId\":");
    otlp_json_hex(b, s->span_id.data, s->span_id.len);
    put_str_field(b, "traceState", s->trace_state);
    if (s->parent_span_id.len) {
        ottr_buf_puts(b, ",\"parentSpanId\":");
        otlp_json_hex(b, s->parent_span_id.data, s->parent_span_id.len);
    }
    if (s->flags)
        ottr_buf_printf(b, ",\"flags\":%u", s->flags);
    ottr_buf_puts(b, ",\"name\":");
    otlp_json_str(b, s->name);
    ottr_buf_printf(b, ",\"kind\":%d", (int)s->kind);
    ottr_buf_puts(b, ",\"startTimeUnixNano\":");
    otlp_json_u64str(b, s->start_time_unix_nano);
    ottr_buf_puts(b, ",\"endTimeUnixNano\":");
    otlp_json_u64str(b, s->end_time_unix_nano);
    if (s->n_attributes) {
        ottr_buf_puts(b, ",\"attributes\":");
        otlp_json_attributes(b, s->attributes, s->n_attributes);
    }
    put_dropped(b, "droppedAttributesCount", s->dropped_attributes_count);
    if (s->n_events) {
        ottr_buf_puts(b, ",\"events\":[");
        for (size_t i = 0; i < s->n_events; i++) {
            if (i)
                ottr_buf_putc(b, ',');
            put_event(b, s->events[i]);
        }
        ottr_buf_putc(b, ']');
    }
    put_dropped(b, "droppedEventsCount", s->dropped_events_count);
    if (s->n_links) {
        ottr_buf_puts(b, ",\"links\":[");
        for (size_t i = 0; i < s->n_links; i++) {
            if (i)
                ottr_buf_putc(b, ',');
            put_link(b, s->links[i]);
        }
        ottr_buf_putc(b, ']');
    }
    put_dropped(b, "droppedLinksCount", s->dropped_links_count);
    ottr_buf_puts(b, ",\"status\":{");
    if (s->status) {
        int any = 0;
        if (s->status->message && s->status->message[0]) {
            ottr_buf_puts(b, "\"message\":");
            otlp_json_str(b, s->status->message);
            any = 1;
        }
        if (s->status->code)
            ottr_buf_printf(b, "%s\"code\":%d", any ? "," : "", (int)s->status->code);
    }
    ottr_buf_puts(b, "}}");
}

static void put_scope_spans(ottr_buf *b, const otlp_scope_spans *ss)
{
    ottr_buf_puts(b, "{\"scope\":{");
    if (ss->scope) {
        int any = 0;
        if (ss->scope->name && ss->scope->name[0]) {
            ottr_buf_puts(b, "\"name\":");
            otlp_json_str(b, ss->scope->name);
            any = 1;
        }
        if (ss->scope->version && ss->scope->version[0]) {
            ottr_buf_puts(b, any ? ",\"version\":" : "\"version\":");
            otlp_json_str(b, ss->scope->version);
            any = 1;
        }
        if (ss->scope->n_attributes) {
            ottr_buf_puts(b, any ? ",\"attributes\":" : "\"attributes\":");
            otlp_json_attributes(b, ss->scope->attributes, ss->scope->n_attributes);
            any = 1;
        }
        if (ss->scope->dropped_attributes_count)
            ottr_buf_printf(b, "%s\"droppedAttributesCount\":%u", any ? "," : "",
                            ss->scope->dropped_attributes_count);
    }
    ottr_buf_puts(b, "},\"spans\":[");
    for (size_t i = 0; i < ss->n_spans; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        put_span(b, ss->spans[i]);
    }
    ottr_buf_putc(b, ']');
    put_str_field(b, "schemaUrl", ss->schema_url);
    ottr_buf_putc(b, '}');
}

void otlp_json_resource_spans(ottr_buf *b, const otlp_resource_spans *rs)
{
    ottr_buf_puts(b, "{\"resource\":{\"attributes\":");
    if (rs->resource) {
        otlp_json_attributes(b, rs->resource->attributes, rs->resource->n_attributes);
        put_dropped(b, "droppedAttributesCount", rs->resource->dropped_attributes_count);
    } else {
        ottr_buf_puts(b, "[]");
    }
    ottr_buf_puts(b, "},\"scopeSpans\":[");
    for (size_t i = 0; i < rs->n_scope_spans; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        put_scope_spans(b, rs->scope_spans[i]);
    }
    ottr_buf_putc(b, ']');
    put_str_field(b, "schemaUrl", rs->schema_url);
    ottr_buf_putc(b, '}');
}

void otlp_json_resource_spans_items(ottr_buf *b, const otlp_traces_data *td, int *first)
{
    for (size_t i = 0; i < td->n_resource_spans; i++) {
        if (!*first)
            ottr_buf_putc(b, ',');
        *first = 0;
        otlp_json_resource_spans(b, td->resource_spans[i]);
    }
}
