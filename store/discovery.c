/* store/discovery.c - lists what the `tags` family knows: attribute keys and
 * values per scope, services and their operations. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define TAG_BUF 512

/* ------------------------------------------------------------------ names */

typedef struct names_ctx {
    store_str_fn fn;
    void *ctx;
} names_ctx;

/* The head of a name's keys: tenant | scope. */
#define NAME_HEAD (TENANT_KEY_LEN + 1)

static int visit_name(void *arg, rocksdb_iterator_t *it, const uint8_t *k, size_t klen)
{
    names_ctx *c = arg;
    const uint8_t *sep = klen > NAME_HEAD ? memchr(k + NAME_HEAD, 0x00, klen - NAME_HEAD) : NULL;
    if (sep == NULL || (size_t)(sep - k) >= TAG_BUF) {
        rocksdb_iter_next(it);
        return 0;
    }
    size_t n = (size_t)(sep - (k + NAME_HEAD));
    char name[TAG_BUF];
    memcpy(name, k + NAME_HEAD, n);
    name[n] = '\0';
    /* Skip the key's values: the next name starts at tenant | scope | name | 0x01. */
    uint8_t next[TAG_BUF + NAME_HEAD + 1];
    store_key_upper(next, k, n + NAME_HEAD + 1);
    if (c->fn(c->ctx, name) != 0)
        return 1;
    rocksdb_iter_seek(it, (const char *)next, n + NAME_HEAD + 1);
    return 0;
}

/* Every name of tag scope |scope| of the view's tenant. */
static ottr_status scan_names(store_view v, uint8_t scope, store_str_fn fn, void *ctx)
{
    uint8_t lower[NAME_HEAD], upper[NAME_HEAD];
    store_key_tag_scope(lower, v.tenant, scope);
    store_key_tag_scope(upper, v.tenant, (uint8_t)(scope + 1));
    names_ctx c = {fn, ctx};
    return store_scan(v.s, CF_TAGS, lower, NAME_HEAD, upper, NAME_HEAD, visit_name, &c);
}

ottr_status store_tag_names(store_view v, store_scope scope, store_str_fn fn, void *ctx)
{
    if (scope != STORE_SCOPE_RESOURCE && scope != STORE_SCOPE_SPAN)
        return OTTR_ERR_INVALID;
    return scan_names(v, (uint8_t)scope, fn, ctx);
}

ottr_status store_services(store_view v, store_str_fn fn, void *ctx)
{
    return scan_names(v, TAG_SCOPE_SERVICE, fn, ctx);
}

/* ------------------------------------------------------------------ values */

typedef struct tag_value {
    uint32_t sec;
    char *value;
} tag_value;

typedef struct values_ctx {
    size_t prefix_len;
    size_t limit; /* 0 = all */
    tag_value *v;
    size_t n, cap;
    bool oom;
} values_ctx;

/* Min-heap on (sec, then value descending) so the root is the entry to evict. */
static bool older(const tag_value *a, const tag_value *b)
{
    if (a->sec != b->sec)
        return a->sec < b->sec;
    return strcmp(a->value, b->value) > 0;
}

static void sift_down(tag_value *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && older(&h[l], &h[m]))
            m = l;
        if (r < n && older(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        tag_value t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void sift_up(tag_value *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!older(&h[i], &h[p]))
            return;
        tag_value t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static int visit_value(void *arg, rocksdb_iterator_t *it, const uint8_t *k, size_t klen)
{
    values_ctx *c = arg;
    size_t vlen;
    const char *v = rocksdb_iter_value(it, &vlen);
    if (klen < c->prefix_len || vlen != 4) {
        rocksdb_iter_next(it);
        return 0;
    }
    tag_value tv = {be32_get(v), NULL};
    size_t n = klen - c->prefix_len;
    if (c->limit && c->n == c->limit) {
        /* Full: only an entry newer than the oldest kept one gets in. */
        tag_value probe = {tv.sec, NULL};
        char tmp[TAG_BUF];
        size_t m = n < TAG_BUF - 1 ? n : TAG_BUF - 1;
        memcpy(tmp, k + c->prefix_len, m);
        tmp[m] = '\0';
        probe.value = tmp;
        if (!older(&c->v[0], &probe)) {
            rocksdb_iter_next(it);
            return 0;
        }
    }
    tv.value = malloc(n + 1);
    if (tv.value == NULL) {
        c->oom = true;
        return 1;
    }
    memcpy(tv.value, k + c->prefix_len, n);
    tv.value[n] = '\0';
    if (c->limit && c->n == c->limit) {
        free(c->v[0].value);
        c->v[0] = tv;
        sift_down(c->v, c->n, 0);
    } else {
        if (c->n == c->cap) {
            size_t ncap = c->cap ? c->cap * 2 : 64;
            tag_value *nv = realloc(c->v, ncap * sizeof(*nv));
            if (nv == NULL) {
                free(tv.value);
                c->oom = true;
                return 1;
            }
            c->v = nv;
            c->cap = ncap;
        }
        c->v[c->n++] = tv;
        if (c->limit)
            sift_up(c->v, c->n - 1);
    }
    rocksdb_iter_next(it);
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const tag_value *x = a, *y = b;
    if (x->sec != y->sec)
        return x->sec < y->sec ? 1 : -1;
    return strcmp(x->value, y->value);
}

ottr_status store_tag_values(store_view v, store_scope scope, const char *key, size_t limit,
                             store_str_fn fn, void *ctx)
{
    if ((scope != STORE_SCOPE_RESOURCE && scope != STORE_SCOPE_SPAN) || key == NULL)
        return OTTR_ERR_INVALID;
    size_t kl = strlen(key);
    if (kl == 0 || kl > STORE_MAX_TERM_KEY)
        return OTTR_OK;
    uint8_t lower[NAME_HEAD + STORE_MAX_TERM_KEY + 1], upper[NAME_HEAD + STORE_MAX_TERM_KEY + 1];
    size_t n = store_key_tag(lower, sizeof(lower), v.tenant, (uint8_t)scope, key, kl, NULL, 0);
    store_key_upper(upper, lower, n);
    values_ctx c = {.prefix_len = n, .limit = limit};
    ottr_status st = store_scan(v.s, CF_TAGS, lower, n, upper, n, visit_value, &c);
    if (st == OTTR_OK && c.oom)
        st = OTTR_ERR_NOMEM;
    if (st == OTTR_OK) {
        if (c.n > 1)
            qsort(c.v, c.n, sizeof(*c.v), newest_first);
        for (size_t i = 0; i < c.n; i++)
            if (fn(ctx, c.v[i].value) != 0)
                break;
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.v[i].value);
    free(c.v);
    return st;
}

/* ------------------------------------------------------------------ operations */

typedef struct ops_ctx {
    size_t prefix_len;
    store_op_fn fn;
    void *ctx;
} ops_ctx;

static int visit_op(void *arg, rocksdb_iterator_t *it, const uint8_t *k, size_t klen)
{
    ops_ctx *c = arg;
    /* TAG_SCOPE_OPERATION | service 0x00 | name 0x00 | kind digit */
    if (klen < c->prefix_len + 2 || k[klen - 2] != 0x00 || klen - c->prefix_len - 2 >= TAG_BUF) {
        rocksdb_iter_next(it);
        return 0;
    }
    size_t n = klen - c->prefix_len - 2;
    char name[TAG_BUF];
    memcpy(name, k + c->prefix_len, n);
    name[n] = '\0';
    int kind = k[klen - 1] - '0';
    if (kind < 0 || kind > 5)
        kind = 0;
    if (c->fn(c->ctx, name, kind) != 0)
        return 1;
    rocksdb_iter_next(it);
    return 0;
}

ottr_status store_operations(store_view v, const char *service, store_op_fn fn, void *ctx)
{
    if (service == NULL)
        return OTTR_ERR_INVALID;
    size_t sl = strlen(service);
    if (sl > TAG_BUF)
        return OTTR_OK;
    uint8_t lower[NAME_HEAD + TAG_BUF + 1], upper[NAME_HEAD + TAG_BUF + 1];
    size_t n =
        store_key_tag(lower, sizeof(lower), v.tenant, TAG_SCOPE_OPERATION, service, sl, NULL, 0);
    store_key_upper(upper, lower, n);
    ops_ctx c = {n, fn, ctx};
    return store_scan(v.s, CF_TAGS, lower, n, upper, n, visit_op, &c);
}
