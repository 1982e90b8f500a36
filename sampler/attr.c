/* sampler/attr.c - lookups in OTLP attribute lists. */
#include <string.h>

#include "sampler/internal.h"

const pb_anyvalue *attr_find(pb_keyvalue *const *attrs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        const pb_keyvalue *kv = attrs[i];
        if (kv != NULL && kv->key != NULL && strcmp(kv->key, key) == 0)
            return kv->value;
    }
    return NULL;
}

const char *attr_str(pb_keyvalue *const *attrs, size_t n, const char *key)
{
    const pb_anyvalue *v = attr_find(attrs, n, key);
    if (v == NULL || v->value_case != ANY_STRING || v->string_value == NULL)
        return NULL;
    return v->string_value;
}

int span_status(const pb_span *sp)
{
    return sp->status ? (int)sp->status->code : STATUS_UNSET;
}
