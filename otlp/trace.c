/* otlp/trace.c - decodes a stored trace (TracesData) into a flat list of spans
 * with their resource, scope and service. */
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

const char *otlp_resource_service(const otlp_resource *r)
{
    if (r == NULL)
        return "unknown_service";
    const otlp_any *v = otlp_attr_find(r->attributes, r->n_attributes, "service.name");
    if (v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
        v->string_value && v->string_value[0])
        return v->string_value;
    return "unknown_service";
}

ottr_status otlp_trace_decode(otlp_trace *t, ottr_arena *a, const uint8_t *data, size_t len)
{
    memset(t, 0, sizeof(*t));
    t->root = -1;
    ProtobufCAllocator pa = otlp_pb_allocator(a);
    otlp_traces_data *td = opentelemetry__proto__trace__v1__traces_data__unpack(&pa, len, data);
    if (td == NULL)
        return (a->limit && a->used >= a->limit / 2) ? OTTR_ERR_NOMEM : OTTR_ERR_CORRUPT;
    t->td = td;
    size_t n = 0;
    for (size_t i = 0; i < td->n_resource_spans; i++) {
        const otlp_resource_spans *rs = td->resource_spans[i];
        for (size_t j = 0; j < rs->n_scope_spans; j++)
            n += rs->scope_spans[j]->n_spans;
    }
    t->spans = ottr_arena_alloc(a, (n ? n : 1) * sizeof(otlp_trace_span));
    if (t->spans == NULL)
        return OTTR_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < td->n_resource_spans; i++) {
        const otlp_resource_spans *rs = td->resource_spans[i];
        const char *service = otlp_resource_service(rs->resource);
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const otlp_scope_spans *ss = rs->scope_spans[j];
            for (size_t m = 0; m < ss->n_spans; m++) {
                otlp_trace_span *q = &t->spans[k++];
                q->span = ss->spans[m];
                q->resource = rs->resource;
                q->scope = ss->scope;
                q->service = service;
                q->rs = (uint32_t)i;
                q->parent = -1;
                q->problems = 0;
            }
        }
    }
    t->nspans = n;
    return OTTR_OK;
}
