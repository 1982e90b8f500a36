/* query/jaeger.c - encodes a decoded trace in Jaeger's JSON model: one process
 * per distinct resource, span kind, status and scope as tags, events as logs,
 * parent as CHILD_OF and links as FOLLOWS_FROM references, and warnings for
 * orphans, duplicate span IDs and parent cycles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/qjaeger.h"
#include "otlp/otlp.h"

void query_jaeger_trace_id(ottr_buf *b, const uint8_t *id, size_t len)
{
    if (len == 16) {
        static const uint8_t zero[8] = {0};
        if (memcmp(id, zero, 8) == 0)
            otlp_json_hex(b, id + 8, 8);
        else
            otlp_json_hex(b, id, 16);
        return;
    }
    otlp_json_hex(b, id, len);
}

static void tag_begin(ottr_buf *b, const char *key, const char *type, int *first)
{
    if (!*first)
        ottr_buf_putc(b, ',');
    *first = 0;
    ottr_buf_puts(b, "{\"key\":");
    otlp_json_str(b, key);
    ottr_buf_printf(b, ",\"type\":\"%s\",\"value\":", type);
}

static void tag_str(ottr_buf *b, const char *key, const char *value, int *first)
{
    tag_begin(b, key, "string", first);
    otlp_json_str(b, value);
    ottr_buf_putc(b, '}');
}

static void tag_any(ottr_buf *b, const char *key, const otlp_any *v, int *first)
{
    if (v == NULL) {
        tag_str(b, key, "", first);
        return;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        tag_str(b, key, v->string_value, first);
        return;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        tag_begin(b, key, "bool", first);
        ottr_buf_puts(b, v->bool_value ? "true" : "false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        tag_begin(b, key, "int64", first);
        ottr_buf_printf(b, "%lld", (long long)v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        if (v->double_value != v->double_value || v->double_value - v->double_value != 0) {
            tag_begin(b, key, "string", first); /* NaN, Inf: JSON has no number for them */
            ottr_buf_puts(b, v->double_value != v->double_value ? "\"NaN\""
                             : v->double_value > 0              ? "\"+Inf\""
                                                                : "\"-Inf\"");
        } else {
            tag_begin(b, key, "float64", first);
            otlp_json_double(b, v->double_value);
        }
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        tag_begin(b, key, "binary", first);
        otlp_json_base64(b, v->bytes_value.data, v->bytes_value.len);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        /* Jaeger shows arrays and maps as their JSON text in a string tag. */
        ottr_buf tmp = {0};
        otlp_json_any_plain(&tmp, v);
        tag_begin(b, key, "string", first);
        ottr_buf_json_str(b, tmp.data ? tmp.data : "", tmp.len);
        if (tmp.oom)
            b->oom = 1;
        ottr_buf_free(&tmp);
        break;
    }
    default:
        tag_begin(b, key, "string", first);
        ottr_buf_puts(b, "\"\"");
        break;
    }
    ottr_buf_putc(b, '}');
}

/* ------------------------------------------------------------------ sorted tags */

/* Tags rendered one at a time into |buf|, then written sorted by key (ties in
 * the order added), as Jaeger's query service sorts span and process tags and
 * log fields. Keys must outlive the list's use. */
typedef struct tag_ent {
    const char *key;
    size_t off, len, seq;
} tag_ent;

typedef struct tag_list {
    ottr_buf buf;
    tag_ent *e;
    size_t n, cap;
    int oom;
} tag_list;

static void tl_reset(tag_list *tl)
{
    ottr_buf_reset(&tl->buf);
    tl->n = 0;
}

static void tl_free(tag_list *tl)
{
    ottr_buf_free(&tl->buf);
    free(tl->e);
}

/* Adds one tag: |v| (any value), or the string |str| when |v| is NULL and
 * |str| is not, or the bool true when both are NULL. */
static void tl_add(tag_list *tl, const char *key, const otlp_any *v, const char *str)
{
    if (tl->n == tl->cap) {
        size_t ncap = tl->cap ? tl->cap * 2 : 32;
        tag_ent *ne = realloc(tl->e, ncap * sizeof(*ne));
        if (ne == NULL) {
            tl->oom = 1;
            return;
        }
        tl->e = ne;
        tl->cap = ncap;
    }
    tag_ent *t = &tl->e[tl->n];
    t->key = key;
    t->off = tl->buf.len;
    t->seq = tl->n;
    int first = 1;
    if (v)
        tag_any(&tl->buf, key, v, &first);
    else if (str)
        tag_str(&tl->buf, key, str, &first);
    else {
        tag_begin(&tl->buf, key, "bool", &first);
        ottr_buf_puts(&tl->buf, "true}");
    }
    t->len = tl->buf.len - t->off;
    tl->n++;
}

static void tl_attrs(tag_list *tl, otlp_kv *const *kv, size_t n, const char *skip)
{
    for (size_t i = 0; i < n; i++)
        if (!(skip && strcmp(kv[i]->key, skip) == 0))
            tl_add(tl, kv[i]->key, kv[i]->value, kv[i]->value ? NULL : "");
}

static int tag_cmp(const void *x, const void *y)
{
    const tag_ent *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Writes the tags as a JSON array, the ones from |from| on sorted. */
static void tl_write(tag_list *tl, ottr_buf *b, size_t from)
{
    if (tl->buf.oom || tl->oom)
        b->oom = 1;
    if (tl->n > from + 1)
        qsort(tl->e + from, tl->n - from, sizeof(*tl->e), tag_cmp);
    ottr_buf_putc(b, '[');
    for (size_t i = 0; i < tl->n && tl->buf.data; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        ottr_buf_append(b, tl->buf.data + tl->e[i].off, tl->e[i].len);
    }
    ottr_buf_putc(b, ']');
}

/* The process tags of a resource: its attributes but service.name. */
static void process_tags(ottr_buf *b, const otlp_resource *r, tag_list *tl)
{
    tl_reset(tl);
    if (r)
        tl_attrs(tl, r->attributes, r->n_attributes, OTLP_SERVICE_NAME);
    tl_write(tl, b, 0);
}

typedef struct process {
    const char *service;
    const char *tags; /* JSON, in the arena */
    size_t tags_len;
} process;

/* Maps each ResourceSpans to a process number (1-based), merging equal ones. */
static int build_processes(const otlp_trace *t, ottr_arena *a, tag_list *tl, uint32_t **proc_of_rs,
                           process **procs, size_t *nprocs)
{
    size_t nrs = t->td->n_resource_spans;
    *proc_of_rs = ottr_arena_alloc(a, (nrs ? nrs : 1) * sizeof(uint32_t));
    *procs = ottr_arena_alloc(a, (nrs ? nrs : 1) * sizeof(process));
    if (*proc_of_rs == NULL || *procs == NULL)
        return -1;
    *nprocs = 0;
    ottr_buf tmp = {0};
    for (size_t i = 0; i < nrs; i++) {
        const otlp_resource *r = t->td->resource_spans[i]->resource;
        const char *service = otlp_resource_service(r);
        ottr_buf_reset(&tmp);
        process_tags(&tmp, r, tl);
        if (tmp.oom) {
            ottr_buf_free(&tmp);
            return -1;
        }
        size_t k;
        for (k = 0; k < *nprocs; k++) {
            process *p = &(*procs)[k];
            if (strcmp(p->service, service) == 0 && p->tags_len == tmp.len &&
                memcmp(p->tags, tmp.data, tmp.len) == 0)
                break;
        }
        if (k == *nprocs) {
            process *p = &(*procs)[k];
            p->service = service;
            p->tags = ottr_arena_memdup(a, tmp.data, tmp.len);
            p->tags_len = tmp.len;
            if (p->tags == NULL) {
                ottr_buf_free(&tmp);
                return -1;
            }
            (*nprocs)++;
        }
        (*proc_of_rs)[i] = (uint32_t)(k + 1);
    }
    ottr_buf_free(&tmp);
    return 0;
}

/* The span.kind tag's value; none for unspecified. */
static const char *kind_tag(int kind)
{
    return kind > 0 ? otlp_span_kind_word(kind) : NULL;
}

static void put_ref(ottr_buf *b, const char *type, const uint8_t *tid, size_t tlen,
                    const uint8_t *sid, size_t slen, int *first)
{
    if (!*first)
        ottr_buf_putc(b, ',');
    *first = 0;
    ottr_buf_printf(b, "{\"refType\":\"%s\",\"traceID\":", type);
    query_jaeger_trace_id(b, tid, tlen);
    ottr_buf_puts(b, ",\"spanID\":");
    otlp_json_hex(b, sid, slen);
    ottr_buf_putc(b, '}');
}

static void put_warning(ottr_buf *b, int *first, const char *fmt, const ProtobufCBinaryData *id)
{
    char hex[2 * 16 + 1] = "";
    if (id && id->len <= 16)
        ottr_hex_encode(id->data, id->len, hex);
    ottr_buf_puts(b, *first ? "[" : ",");
    *first = 0;
    char msg[160];
    snprintf(msg, sizeof(msg), fmt, hex);
    otlp_json_str(b, msg);
}

static void put_span(ottr_buf *b, const otlp_trace *t, size_t idx, const uint8_t trace_id[16],
                     const uint32_t *proc_of_rs, tag_list *tl)
{
    const otlp_span_ref *q = &t->spans[idx];
    const otlp_span *s = q->span;
    ottr_buf_puts(b, "{\"traceID\":");
    query_jaeger_trace_id(b, trace_id, 16);
    ottr_buf_puts(b, ",\"spanID\":");
    otlp_json_hex(b, s->span_id.data, s->span_id.len);
    if (s->flags & 0xffu) /* left out when zero, as Jaeger does */
        ottr_buf_printf(b, ",\"flags\":%u", s->flags & 0xffu);
    ottr_buf_puts(b, ",\"operationName\":");
    otlp_json_str(b, s->name);

    ottr_buf_puts(b, ",\"references\":[");
    int first = 1;
    if (s->parent_span_id.len && !(q->problems & OTLP_SPAN_CUT)) {
        static const uint8_t zero[8] = {0};
        if (!(s->parent_span_id.len == 8 && memcmp(s->parent_span_id.data, zero, 8) == 0))
            put_ref(b, "CHILD_OF", trace_id, 16, s->parent_span_id.data, s->parent_span_id.len,
                    &first);
    }
    for (size_t i = 0; i < s->n_links; i++) {
        const otlp_link *l = s->links[i];
        put_ref(b, "FOLLOWS_FROM", l->trace_id.len ? l->trace_id.data : trace_id,
                l->trace_id.len ? l->trace_id.len : 16, l->span_id.data, l->span_id.len, &first);
    }
    ottr_buf_printf(b, "],\"startTime\":%llu,\"duration\":%llu",
                    (unsigned long long)(s->start_time_unix_nano / 1000),
                    (unsigned long long)(otlp_span_duration(s) / 1000));

    ottr_buf_puts(b, ",\"tags\":");
    tl_reset(tl);
    tl_attrs(tl, s->attributes, s->n_attributes, NULL);
    const char *kind = kind_tag((int)s->kind);
    if (kind)
        tl_add(tl, "span.kind", NULL, kind);
    int code = s->status ? (int)s->status->code : 0;
    if (code == 1) {
        tl_add(tl, "otel.status_code", NULL, "OK");
    } else if (code == 2) {
        tl_add(tl, "otel.status_code", NULL, "ERROR");
        tl_add(tl, "error", NULL, NULL);
    }
    if (s->status && s->status->message && s->status->message[0])
        tl_add(tl, "otel.status_description", NULL, s->status->message);
    if (q->scope && q->scope->name && q->scope->name[0])
        tl_add(tl, "otel.scope.name", NULL, q->scope->name);
    if (q->scope && q->scope->version && q->scope->version[0])
        tl_add(tl, "otel.scope.version", NULL, q->scope->version);
    if (s->trace_state && s->trace_state[0])
        tl_add(tl, "w3c.tracestate", NULL, s->trace_state);
    tl_write(tl, b, 0);

    ottr_buf_puts(b, ",\"logs\":[");
    for (size_t i = 0; i < s->n_events; i++) {
        const otlp_event *e = s->events[i];
        if (i)
            ottr_buf_putc(b, ',');
        ottr_buf_printf(
            b, "{\"timestamp\":%llu,\"fields\":", (unsigned long long)(e->time_unix_nano / 1000));
        /* The event name first, the other fields sorted. */
        tl_reset(tl);
        size_t from = 0;
        if (e->name && e->name[0]) {
            tl_add(tl, "event", NULL, e->name);
            from = 1;
        }
        tl_attrs(tl, e->attributes, e->n_attributes, NULL);
        tl_write(tl, b, from);
        ottr_buf_putc(b, '}');
    }
    ottr_buf_printf(b, "],\"processID\":\"p%u\",\"warnings\":", proc_of_rs[q->rs]);
    first = 1;
    if (q->problems & OTLP_SPAN_ORPHAN)
        put_warning(b, &first, "parent span %s is not in the trace", &s->parent_span_id);
    if (q->problems & OTLP_SPAN_DUPLICATE)
        put_warning(b, &first, "span ID %s is used by another span of the trace", &s->span_id);
    if (q->problems & OTLP_SPAN_CUT)
        put_warning(b, &first,
                    "parent span %s closes a cycle of parent references; the reference was "
                    "dropped",
                    &s->parent_span_id);
    else if (q->problems & OTLP_SPAN_CYCLE)
        put_warning(b, &first, "span %s is part of a cycle of parent references", &s->span_id);
    ottr_buf_puts(b, first ? "null}" : "]}");
}

int query_jaeger_encode_trace(ottr_buf *b, const otlp_trace *t, const uint8_t trace_id[16],
                              const store_trace_summary *sum, ottr_arena *a)
{
    uint32_t *proc_of_rs;
    process *procs;
    size_t nprocs;
    tag_list tl = {0};
    if (build_processes(t, a, &tl, &proc_of_rs, &procs, &nprocs) != 0) {
        tl_free(&tl);
        return -1;
    }
    ottr_buf_puts(b, "{\"traceID\":");
    query_jaeger_trace_id(b, trace_id, 16);
    ottr_buf_puts(b, ",\"spans\":[");
    for (size_t i = 0; i < t->nspans; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        put_span(b, t, i, trace_id, proc_of_rs, &tl);
    }
    tl_free(&tl);
    ottr_buf_puts(b, "],\"processes\":{");
    for (size_t i = 0; i < nprocs; i++) {
        if (i)
            ottr_buf_putc(b, ',');
        ottr_buf_printf(b, "\"p%zu\":{\"serviceName\":", i + 1);
        otlp_json_str(b, procs[i].service);
        ottr_buf_puts(b, ",\"tags\":");
        ottr_buf_append(b, procs[i].tags, procs[i].tags_len);
        ottr_buf_putc(b, '}');
    }
    ottr_buf_puts(b, "},\"warnings\":");
    char msgs[QTRACE_MAX_PROBLEMS][QTRACE_PROBLEM_LEN];
    size_t n = query_trace_problems(t, sum, msgs);
    if (n == 0) {
        ottr_buf_puts(b, "null");
    } else {
        ottr_buf_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                ottr_buf_putc(b, ',');
            otlp_json_str(b, msgs[i]);
        }
        ottr_buf_putc(b, ']');
    }
    ottr_buf_putc(b, '}');
    return b->oom ? -1 : 0;
}
