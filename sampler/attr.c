/* sampler/attr.c - lookups in OTLP attribute lists. */
#include <string.h>

#include "sampler/internal.h"

const otlp_any *attr_find(otlp_kv *const *attrs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        const otlp_kv *kv = attrs[i];
        if (kv != NULL && kv->key != NULL && strcmp(kv->key, key) == 0)
            return kv->value;
    }
    return NULL;
}

const char *attr_str(otlp_kv *const *attrs, size_t n, const char *key)
{
    const otlp_any *v = attr_find(attrs, n, key);
    if (v == NULL || v->value_case != ANY_STRING || v->string_value == NULL)
        return NULL;
    return v->string_value;
}

int span_status(const otlp_span *sp)
{
    return sp->status ? (int)sp->status->code : STATUS_UNSET;
}
