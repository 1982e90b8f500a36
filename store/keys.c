/* store/keys.c - the key layouts of the pending, traces, index, tags and edges
 * families (graph edges, nodes and span-metric series): every key is assembled
 * here. */
#include <string.h>

#include "store/internal.h"

void store_key_traces(uint8_t out[TRACES_KEY_LEN], const uint8_t tid[16], uint32_t sec,
                      uint32_t seq)
{
    memcpy(out, tid, 16);
    be32_put(out + 16, sec);
    be32_put(out + 20, seq);
}

/* ---- index ---- */

size_t store_key_index_prefix(uint8_t *out, size_t cap, char kind, const void *a, size_t alen,
                              const void *b, size_t blen)
{
    size_t n = 1 + alen + (b ? 1 + blen : 0) + 1;
    if (n > cap)
        return 0;
    uint8_t *p = out;
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

void store_key_index_suffix(uint8_t out[INDEX_SUFFIX_LEN], uint32_t start_sec,
                            const uint8_t tid[16])
{
    be32_put(out, ~start_sec);
    memcpy(out + 4, tid, 16);
}

size_t store_key_index(uint8_t *out, size_t cap, const uint8_t *prefix, size_t plen,
                       const uint8_t suffix[INDEX_SUFFIX_LEN])
{
    if (plen + INDEX_SUFFIX_LEN > cap)
        return 0;
    memcpy(out, prefix, plen);
    memcpy(out + plen, suffix, INDEX_SUFFIX_LEN);
    return plen + INDEX_SUFFIX_LEN;
}

size_t store_key_index_seek(uint8_t *out, const uint8_t *prefix, size_t plen, uint32_t newest_sec)
{
    memcpy(out, prefix, plen);
    be32_put(out + plen, ~newest_sec);
    return plen + 4;
}

uint32_t store_key_index_sec(const uint8_t suffix[INDEX_SUFFIX_LEN])
{
    return ~be32_get(suffix);
}

const uint8_t *store_key_index_tid(const uint8_t suffix[INDEX_SUFFIX_LEN])
{
    return suffix + 4;
}

/* ---- tags ---- */

size_t store_key_tag(uint8_t *out, size_t cap, uint8_t scope, const void *name, size_t nlen,
                     const void *value, size_t vlen)
{
    size_t n = 1 + nlen + 1 + vlen;
    if (n > cap)
        return 0;
    out[0] = scope;
    if (nlen)
        memcpy(out + 1, name, nlen);
    out[1 + nlen] = 0x00;
    if (vlen)
        memcpy(out + 2 + nlen, value, vlen);
    return n;
}

size_t store_key_tag_operation(uint8_t *out, size_t cap, const void *service, size_t slen,
                               const void *name, size_t nlen, int kind)
{
    size_t n = store_key_tag(out, cap, TAG_SCOPE_OPERATION, service, slen, name, nlen);
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

size_t store_key_graph(uint8_t *out, size_t cap, uint32_t minute, uint8_t kind,
                       const uint8_t *names, size_t nlen)
{
    if (5 + nlen > cap)
        return 0;
    be32_put(out, minute);
    out[4] = kind;
    if (nlen)
        memcpy(out + 5, names, nlen);
    return 5 + nlen;
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
