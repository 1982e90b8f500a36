/* otlp/trace.c - decodes a stored trace or chunk (TracesData) into a flat list
 * of spans with their resource, scope and service; attribute and service lookup. */
#include <string.h>

#include "otlp/otlp.h"

const otlp_any *otlp_attr_find(otlp_kv *const *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (kv[i] && kv[i]->key && strcmp(kv[i]->key, key) == 0)
            return kv[i]->value;
    }
    return NULL;
}

const char *otlp_attr_str(otlp_kv *const *kv, size_t n, const char *key)
{
    const otlp_any *v = otlp_attr_find(kv, n, key);
    if (v == NULL ||
        v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
        return NULL;
    return v->string_value;
}

const char *otlp_resource_service(const otlp_resource *r)
{
    if (r == NULL)
        return OTLP_UNKNOWN_SERVICE;
    const char *s = otlp_attr_str(r->attributes, r->n_attributes, OTLP_SERVICE_NAME);
    return s && s[0] ? s : OTLP_UNKNOWN_SERVICE;
}

ottr_status otlp_trace_from_data(otlp_trace *t, ottr_arena *a, const otlp_traces_data *td)
{
    memset(t, 0, sizeof(*t));
    t->root = -1;
    t->td = td;
    size_t n = 0;
    for (size_t i = 0; i < td->n_resource_spans; i++) {
        const otlp_resource_spans *rs = td->resource_spans[i];
        for (size_t j = 0; rs && j < rs->n_scope_spans; j++) {
            if (rs->scope_spans[j])
                n += rs->scope_spans[j]->n_spans;
        }
    }
    if (n > SIZE_MAX / sizeof(otlp_span_ref) || n > INT32_MAX)
        return OTTR_ERR_NOMEM;
    t->spans = ottr_arena_alloc(a, (n ? n : 1) * sizeof(otlp_span_ref));
    if (t->spans == NULL)
        return OTTR_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < td->n_resource_spans; i++) {
        const otlp_resource_spans *rs = td->resource_spans[i];
        if (rs == NULL)
            continue;
        const char *service = otlp_resource_service(rs->resource);
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const otlp_scope_spans *ss = rs->scope_spans[j];
            for (size_t m = 0; ss && m < ss->n_spans; m++) {
                if (ss->spans[m] == NULL)
                    continue;
                otlp_span_ref *q = &t->spans[k++];
                q->span = ss->spans[m];
                q->resource = rs->resource;
                q->scope = ss->scope;
                q->service = service;
                q->rs = (uint32_t)i;
                q->parent = -1;
                q->problems = 0;
                q->wire_len = 0;
            }
        }
    }
    t->nspans = k; /* n, but for NULL spans in a TracesData built by hand */
    return OTTR_OK;
}

ottr_status otlp_trace_decode(otlp_trace *t, ottr_arena *a, const uint8_t *data, size_t len)
{
    memset(t, 0, sizeof(*t));
    t->root = -1;
    otlp_traces_data *fast;
    ottr_status fail = OTTR_OK;
    int rc = otlp_fast_decode_traces(a, data ? data : (const uint8_t *)"", len, &fast, &fail);
    if (rc > 0)
        return otlp_trace_from_data(t, a, fast);
    if (rc < 0)
        return OTTR_ERR_NOMEM;
    /* protobuf-c reads nothing when len is 0 but wants a non-NULL pointer. */
    static const uint8_t empty[1];
    otlp_pb_flagged fa;
    otlp_pb_flagged_init(&fa, a);
    otlp_traces_data *td =
        opentelemetry__proto__trace__v1__traces_data__unpack(&fa.pb, len, len ? data : empty);
    if (td == NULL)
        return fa.failed != OTTR_OK ? OTTR_ERR_NOMEM : OTTR_ERR_CORRUPT;
    return otlp_trace_from_data(t, a, td);
}
