/* store/keys.c - the key layouts of the traces, summaries, index, tags and edges
 * families (graph edges, nodes and span-metric series): every key is assembled
 * here, and every one starts with its tenant's number (4 bytes, big-endian; 0 is
 * the implicit tenant), so that a read built from these keys cannot reach
 * another tenant's records. */
#include <string.h>

#include "store/internal.h"

void store_key_trace(uint8_t out[TRACE_KEY_LEN], uint32_t tenant, const uint8_t tid[16])
{
    be32_put(out, tenant);
    memcpy(out + 4, tid, 16);
}

void store_key_traces(uint8_t out[TRACES_KEY_LEN], uint32_t tenant, const uint8_t tid[16],
                      uint32_t sec, uint32_t seq)
{
    store_key_trace(out, tenant, tid);
    be32_put(out + TRACE_KEY_LEN, sec);
    be32_put(out + TRACE_KEY_LEN + 4, seq);
}

/* ---- index ---- */

size_t store_key_index_prefix(uint8_t *out, size_t cap, uint32_t tenant, char kind, const void *a,
                              size_t alen, const void *b, size_t blen)
{
    size_t n = TENANT_KEY_LEN + 1 + alen + (b ? 1 + blen : 0) + 1;
    if (n > cap)
        return 0;
    uint8_t *p = out;
    be32_put(p, tenant);
    p += TENANT_KEY_LEN;
    *p++ = (uint8_t)kind;
    if (alen)
        memcpy(p, a, alen);
    p += alen;
    if (b) {
        *p++ = kind == IDX_ATTR ? 0x01 : 0x00;
        if (blen)
            memcpy(p, b, blen);
        p += blen;
    }
    *p = 0x00;
    return n;
}

size_t store_key_posting_head(uint8_t *out, size_t cap, const uint8_t *prefix, size_t plen,
                              uint64_t hash, uint32_t start_sec)
{
    if (plen < TENANT_KEY_LEN + 2)
        return 0;
    /* The group: the kind, and for attributes the key up to its 0x01. */
    const uint8_t *term = prefix + TENANT_KEY_LEN;
    size_t tlen = plen - TENANT_KEY_LEN;
    size_t glen = 1;
    if (term[0] == IDX_ATTR) {
        const uint8_t *sep = memchr(term + 1, 0x01, tlen - 1);
        if (sep == NULL)
            return 0;
        glen = (size_t)(sep - term) + 1;
    }
    size_t n = TENANT_KEY_LEN + glen;
    if (n + 5 > cap)
        return 0;
    memcpy(out, prefix, n);
    out[TENANT_KEY_LEN] = (uint8_t)(term[0] - 'a' + 'A');
    out[n] = (uint8_t)(hash >> 56);
    be32_put(out + n + 1, ~start_sec);
    return n + 5;
}

uint32_t store_key_posting_sec(const uint8_t *head, size_t hlen)
{
    return ~be32_get(head + hlen - 4);
}

/* ---- tags ---- */

size_t store_key_tag(uint8_t *out, size_t cap, uint32_t tenant, uint8_t scope, const void *name,
                     size_t nlen, const void *value, size_t vlen)
{
    size_t n = TENANT_KEY_LEN + 1 + nlen + 1 + vlen;
    if (n > cap)
        return 0;
    be32_put(out, tenant);
    uint8_t *p = out + TENANT_KEY_LEN;
    p[0] = scope;
    if (nlen)
        memcpy(p + 1, name, nlen);
    p[1 + nlen] = 0x00;
    if (vlen)
        memcpy(p + 2 + nlen, value, vlen);
    return n;
}

size_t store_key_tag_scope(uint8_t out[TENANT_KEY_LEN + 1], uint32_t tenant, uint8_t scope)
{
    be32_put(out, tenant);
    out[TENANT_KEY_LEN] = scope;
    return TENANT_KEY_LEN + 1;
}

size_t store_key_tag_operation(uint8_t *out, size_t cap, uint32_t tenant, const void *service,
                               size_t slen, const void *name, size_t nlen, int kind)
{
    size_t n = store_key_tag(out, cap, tenant, TAG_SCOPE_OPERATION, service, slen, name, nlen);
    if (n == 0 || n + 2 > cap)
        return 0;
    out[n] = 0x00;
    out[n + 1] = (uint8_t)('0' + (kind < 0 || kind > 5 ? 0 : kind));
    return n + 2;
}

void store_key_upper(uint8_t *out, const uint8_t *prefix, size_t plen)
{
    memcpy(out, prefix, plen);
    out[plen - 1] = 0x01;
}

/* ---- edges ---- */

size_t store_key_edge_names(uint8_t *out, const store_edge *e)
{
    size_t a = strnlen(e->client, sizeof(e->client));
    size_t b = strnlen(e->server, sizeof(e->server));
    size_t c = strnlen(e->connection_type, sizeof(e->connection_type));
    memcpy(out, e->client, a);
    out[a] = 0;
    memcpy(out + a + 1, e->server, b);
    out[a + 1 + b] = 0;
    memcpy(out + a + b + 2, e->connection_type, c);
    return a + b + c + 2;
}

size_t store_key_graph(uint8_t *out, size_t cap, uint32_t tenant, uint32_t minute, uint8_t kind,
                       const uint8_t *names, size_t nlen)
{
    if (GRAPH_KEY_HEAD + nlen > cap)
        return 0;
    be32_put(out, tenant);
    be32_put(out + TENANT_KEY_LEN, minute);
    out[TENANT_KEY_LEN + 4] = kind;
    if (nlen)
        memcpy(out + GRAPH_KEY_HEAD, names, nlen);
    return GRAPH_KEY_HEAD + nlen;
}

/* ---- stores of format 1, whose keys had no tenant ---- */

bool store_key_is_legacy(int cf, const uint8_t *k, size_t klen)
{
    switch (cf) {
    case CF_TRACES:
        return klen == TRACES_KEY_LEN - TENANT_KEY_LEN;
    case CF_SUMMARIES:
        return klen == TRACE_KEY_LEN - TENANT_KEY_LEN;
    default:
        /* Old index keys start with a letter, old tag keys with their scope
         * and a name, old edge keys with a minute since 1970: never four zero
         * bytes, which start every key of the implicit tenant. */
        return klen < TENANT_KEY_LEN || be32_get(k) != 0;
    }
}

size_t store_key_span_series_names(uint8_t *out, const char *service, const char *name, int kind)
{
    size_t a = strnlen(service, 255), b = strnlen(name, 511);
    memcpy(out, service, a);
    out[a] = 0;
    memcpy(out + a + 1, name, b);
    out[a + 1 + b] = 0;
    out[a + b + 2] = (uint8_t)('0' + (kind < 0 || kind > 5 ? 0 : kind));
    return a + b + 3;
}
