/* store/terms.c - the distinct index terms and tag entries of a trace: service,
 * service+name, name, attribute key=value, and the discovery entries (attribute
 * values per scope, services, operations). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "store/internal.h"

/* Span names and services longer than this are not indexed. */
#define MAX_NAME_TERM 256

void store_termset_init(store_termset *t, ottr_arena *arena, size_t max_capped)
{
    memset(t, 0, sizeof(*t));
    t->arena = arena;
    t->max_capped = max_capped;
}

void store_termset_free(store_termset *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}

void store_termset_clear(store_termset *t)
{
    if (t->cap > 1024) {
        store_termset_free(t);
    } else if (t->n > 0) {
        memset(t->slots, 0, t->cap * sizeof(*t->slots));
    }
    t->n = 0;
    t->ncapped = 0;
    t->oom = false;
}

static int grow(store_termset *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 64;
    store_term *ns = calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].p == NULL)
            continue;
        size_t j = t->slots[i].hash & (ncap - 1);
        while (ns[j].p)
            j = (j + 1) & (ncap - 1);
        ns[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

int store_termset_add(store_termset *t, const void *p, size_t len, bool capped)
{
    if (t->oom)
        return -1;
    if (len == 0)
        return 0;
    if ((t->n + 1) * 2 > t->cap && grow(t) != 0) {
        t->oom = true;
        return -1;
    }
    uint64_t h = XXH3_64bits(p, len);
    size_t j = h & (t->cap - 1);
    while (t->slots[j].p) {
        if (t->slots[j].hash == h && t->slots[j].len == len && memcmp(t->slots[j].p, p, len) == 0)
            return 0;
        j = (j + 1) & (t->cap - 1);
    }
    if (capped) {
        if (t->ncapped >= t->max_capped)
            return 0;
        t->ncapped++;
    }
    uint8_t *copy = ottr_arena_memdup(t->arena, p, len);
    if (copy == NULL) {
        t->oom = true;
        return -1;
    }
    t->slots[j].hash = h;
    t->slots[j].p = copy;
    t->slots[j].len = (uint32_t)len;
    t->n++;
    return 1;
}

/* |v| in decimal into |buf| (at least 21 bytes), NUL-terminated; returns the
 * length. As printf's %lld, without its cost on every integer attribute. */
static size_t i64_text(char *buf, int64_t v)
{
    char tmp[20];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

/* The string form of an attribute value, or NULL when not indexed: doubles as
 * otlp_double_text, arrays and maps as their JSON text (as Jaeger shows them)
 * when that fits |cap|. */
static const char *value_str(const otlp_any *v, char *buf, size_t cap, size_t *len)
{
    if (v == NULL)
        return NULL;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        if (v->string_value == NULL)
            return NULL;
        *len = strlen(v->string_value);
        return v->string_value;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        if (cap < 21)
            return NULL;
        *len = i64_text(buf, v->int_value);
        return buf;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        *len = v->bool_value ? 4 : 5;
        return v->bool_value ? "true" : "false";
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        *len = otlp_double_text(buf, cap, v->double_value);
        return buf;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        ottr_buf tmp = {0};
        otlp_json_any_plain(&tmp, v);
        const char *r = NULL;
        if (!tmp.oom && tmp.data && tmp.len < cap) {
            memcpy(buf, tmp.data, tmp.len);
            buf[tmp.len] = '\0';
            *len = tmp.len;
            r = buf;
        }
        ottr_buf_free(&tmp);
        return r;
    }
    default:
        return NULL;
    }
}

static bool has_sep(const char *s, size_t n)
{
    return memchr(s, 0x01, n) != NULL;
}

/* The first elements of an array are indexed one by one too, as TraceQL's
 * { span.x = "a" } finds an array holding "a" (Tempo's rule). */
#define MAX_ARRAY_TERMS 16

static void add_elements(store_termset *idx, uint8_t *buf, size_t cap, uint32_t tenant,
                         const char *key, size_t klen, const otlp_any *v)
{
    if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE ||
        v->array_value == NULL)
        return;
    char num[STORE_MAX_TERM_VALUE + 1];
    for (size_t i = 0; i < v->array_value->n_values && i < MAX_ARRAY_TERMS; i++) {
        const otlp_any *e = v->array_value->values[i];
        size_t elen = 0;
        if (e == NULL ||
            e->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE ||
            e->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE)
            continue;
        const char *t = value_str(e, num, sizeof(num), &elen);
        if (t == NULL || elen > STORE_MAX_TERM_VALUE || has_sep(t, elen))
            continue;
        size_t n = store_key_index_prefix(buf, cap, tenant, IDX_ATTR, key, klen, t, elen);
        store_termset_add(idx, buf, n, true);
    }
}

static void add_attrs(store_termset *idx, store_termset *tags, uint32_t tenant, uint8_t scope,
                      otlp_kv **kv, size_t n)
{
    /* A resource's service.name is indexed as the service ('s'). */
    bool resource = scope == STORE_SCOPE_RESOURCE;
    uint8_t buf[TENANT_KEY_LEN + 1 + STORE_MAX_TERM_KEY + 1 + STORE_MAX_TERM_VALUE + 1];
    char num[STORE_MAX_TERM_VALUE + 1];
    for (size_t i = 0; i < n; i++) {
        if (kv[i] == NULL || kv[i]->key == NULL)
            continue;
        size_t klen = strlen(kv[i]->key), vlen = 0;
        if (klen == 0 || klen > STORE_MAX_TERM_KEY || has_sep(kv[i]->key, klen))
            continue;
        const char *v = value_str(kv[i]->value, num, sizeof(num), &vlen);
        if (v == NULL || vlen > STORE_MAX_TERM_VALUE || has_sep(v, vlen))
            continue;
        size_t n;
        if (!resource || strcmp(kv[i]->key, OTLP_SERVICE_NAME) != 0) {
            n = store_key_index_prefix(buf, sizeof(buf), tenant, IDX_ATTR, kv[i]->key, klen, v,
                                       vlen);
            store_termset_add(idx, buf, n, true);
            add_elements(idx, buf, sizeof(buf), tenant, kv[i]->key, klen, kv[i]->value);
        }
        /* Discovery keeps to strings, integers, doubles and booleans. A double is
         * discovered with a decimal point ("3.0", not "3") so that its value
         * reads back typed float. */
        int vc = kv[i]->value->value_case;
        if (tags && vc != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE &&
            vc != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE) {
            if (vc == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE &&
                strpbrk(v, ".eEnN") == NULL && vlen + 2 < sizeof(num)) {
                memcpy(num + vlen, ".0", 3);
                vlen += 2;
            }
            n = store_key_tag(buf, sizeof(buf), tenant, scope, kv[i]->key, klen, v, vlen);
            store_termset_add(tags, buf, n, true);
        }
    }
}

void store_terms_span(store_termset *idx, store_termset *tags, uint32_t tenant,
                      const otlp_span_ref *ref, const void **last_resource)
{
    const char *svc = ref->service ? ref->service : OTLP_UNKNOWN_SERVICE;
    const char *name = ref->span->name ? ref->span->name : "";
    size_t slen = strlen(svc), nlen = strlen(name);
    uint8_t buf[TENANT_KEY_LEN + 2 + 2 * MAX_NAME_TERM + 4];
    if (slen <= MAX_NAME_TERM) {
        size_t n =
            store_key_index_prefix(buf, sizeof(buf), tenant, IDX_SERVICE, svc, slen, NULL, 0);
        store_termset_add(idx, buf, n, false);
        if (tags) {
            n = store_key_tag(buf, sizeof(buf), tenant, TAG_SCOPE_SERVICE, svc, slen, NULL, 0);
            store_termset_add(tags, buf, n, false);
        }
    }
    if (nlen <= MAX_NAME_TERM) {
        size_t n = store_key_index_prefix(buf, sizeof(buf), tenant, IDX_NAME, name, nlen, NULL, 0);
        store_termset_add(idx, buf, n, false);
    }
    if (slen <= MAX_NAME_TERM && nlen <= MAX_NAME_TERM) {
        size_t n =
            store_key_index_prefix(buf, sizeof(buf), tenant, IDX_SVC_NAME, svc, slen, name, nlen);
        store_termset_add(idx, buf, n, false);
        if (tags) {
            n = store_key_tag_operation(buf, sizeof(buf), tenant, svc, slen, name, nlen,
                                        (int)ref->span->kind);
            store_termset_add(tags, buf, n, false);
        }
    }
    add_attrs(idx, tags, tenant, STORE_SCOPE_SPAN, ref->span->attributes, ref->span->n_attributes);
    /* Event attributes are searchable too (Jaeger's log fields), not discovered. */
    for (size_t i = 0; i < ref->span->n_events; i++)
        if (ref->span->events[i])
            add_attrs(idx, NULL, tenant, STORE_SCOPE_SPAN, ref->span->events[i]->attributes,
                      ref->span->events[i]->n_attributes);
    if (ref->resource && ref->resource != *last_resource) {
        add_attrs(idx, tags, tenant, STORE_SCOPE_RESOURCE, ref->resource->attributes,
                  ref->resource->n_attributes);
        *last_resource = ref->resource;
    }
}
