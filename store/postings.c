/* store/postings.c - the search index as posting lists: the (term, trace) entries
 * of one keep gathered into few keys, and the move of an earlier version's index
 * (one key per term and trace) into that form at start-up.
 *
 * A term (kind | term | 0x00, store_key_index_prefix) hashes to one of 256
 * buckets of its group (the attribute key for attributes, else the kind). The
 * entries of one write that share group, bucket and start second become one key
 * (store_key_posting_head | a number never used before) whose value is the
 * retention second and, per entry, trace ID and term hash; a search reads the
 * bucket and keeps the entries whose hash is its term's. A trace kept in many
 * writes, or whose start second moved, leaves entries behind: readers skip a
 * trace already seen in that second and one whose summary starts elsewhere. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "store/internal.h"

/* Entries per write while moving an earlier version's index. */
#define MIGRATE_BATCH 200000

void store_postings_init(store_postings *p)
{
    memset(p, 0, sizeof(*p));
    ottr_arena_init(&p->arena, 64 * 1024, 0);
}

void store_postings_free(store_postings *p)
{
    free(p->spare);
    free(p->v);
    free(p->heads);
    free(p->table);
    ottr_arena_free(&p->arena);
    memset(p, 0, sizeof(*p));
}

static void postings_clear(store_postings *p)
{
    p->n = 0;
    p->nheads = 0;
    p->sorted = false;
    if (p->table)
        memset(p->table, 0, p->table_cap * sizeof(*p->table));
    ottr_arena_reset(&p->arena);
}

/* Entries whose arrays stay for the next write (8 MiB of them). */
#define POSTINGS_KEEP_ENTRIES (1u << 18)

void store_postings_reset(store_postings *p)
{
    if (p->cap > POSTINGS_KEEP_ENTRIES || p->spare_cap > POSTINGS_KEEP_ENTRIES ||
        p->heads_cap > POSTINGS_KEEP_ENTRIES) {
        store_postings_free(p);
        store_postings_init(p);
        return;
    }
    postings_clear(p);
    p->oom = false;
}

static bool grow_table(store_postings *p)
{
    size_t ncap = p->table_cap ? p->table_cap * 2 : 1024;
    uint32_t *t = calloc(ncap, sizeof(*t));
    if (t == NULL)
        return false;
    for (size_t i = 0; i < p->nheads; i++) {
        size_t j = p->heads[i].hash & (ncap - 1);
        while (t[j])
            j = (j + 1) & (ncap - 1);
        t[j] = (uint32_t)i + 1;
    }
    free(p->table);
    p->table = t;
    p->table_cap = ncap;
    return true;
}

/* The index of |head| among the heads, added when new; -1 when out of memory. */
static int64_t intern_head(store_postings *p, const uint8_t *head, size_t hlen)
{
    if ((p->nheads + 1) * 2 > p->table_cap && !grow_table(p))
        return -1;
    uint64_t h = XXH3_64bits(head, hlen);
    size_t j = h & (p->table_cap - 1);
    for (; p->table[j]; j = (j + 1) & (p->table_cap - 1)) {
        const store_posting_head *e = &p->heads[p->table[j] - 1];
        if (e->hash == h && e->len == hlen && memcmp(e->p, head, hlen) == 0)
            return p->table[j] - 1;
    }
    if (p->nheads == p->heads_cap) {
        size_t ncap = p->heads_cap ? p->heads_cap * 2 : 256;
        store_posting_head *nv = realloc(p->heads, ncap * sizeof(*nv));
        if (nv == NULL)
            return -1;
        p->heads = nv;
        p->heads_cap = ncap;
    }
    const uint8_t *copy = ottr_arena_memdup(&p->arena, head, hlen);
    if (copy == NULL)
        return -1;
    p->heads[p->nheads] = (store_posting_head){copy, (uint32_t)hlen, 0, h};
    p->table[j] = (uint32_t)++p->nheads;
    return (int64_t)p->nheads - 1;
}

void store_postings_add(store_postings *p, const uint8_t *prefix, size_t plen, uint64_t hash,
                        uint32_t start_sec, uint32_t ret_sec, const uint8_t tid[16])
{
    if (p->oom)
        return;
    uint8_t head[STORE_POSTING_HEAD_MAX];
    size_t hlen = store_key_posting_head(head, sizeof(head), prefix, plen, hash, start_sec);
    if (hlen == 0)
        return; /* not a term */
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 256;
        store_posting *nv = realloc(p->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            p->oom = true;
            return;
        }
        p->v = nv;
        p->cap = ncap;
    }
    int64_t hi = intern_head(p, head, hlen);
    if (hi < 0) {
        p->oom = true;
        return;
    }
    p->heads[hi].count++;
    store_posting *e = &p->v[p->n++];
    e->head = (uint32_t)hi;
    e->sec = ret_sec;
    e->hash = hash;
    memcpy(e->tid, tid, 16);
}

static int head_cmp(const void *a, const void *b)
{
    const store_posting_head *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->p, y->p, n);
    if (r)
        return r;
    return x->len < y->len ? -1 : x->len > y->len;
}

size_t store_postings_sort(store_postings *p)
{
    if (p->oom || p->sorted || p->n == 0)
        return p->oom ? 0 : p->nheads;
    /* The heads in key order, then the entries placed head by head. */
    uint32_t *rank = malloc(p->nheads * sizeof(*rank));
    if (rank != NULL && p->spare_cap < p->n) {
        free(p->spare);
        p->spare = malloc(p->cap * sizeof(*p->spare));
        p->spare_cap = p->spare ? p->cap : 0;
    }
    if (rank == NULL || p->spare == NULL) {
        free(rank);
        p->oom = true;
        return 0;
    }
    store_posting *out = p->spare;
    for (size_t i = 0; i < p->nheads; i++)
        p->heads[i].hash = i; /* the table is not used after this */
    qsort(p->heads, p->nheads, sizeof(*p->heads), head_cmp);
    uint32_t at = 0;
    for (size_t i = 0; i < p->nheads; i++) {
        rank[p->heads[i].hash] = (uint32_t)i;
        uint32_t c = p->heads[i].count;
        p->heads[i].count = at;
        at += c;
    }
    for (size_t i = 0; i < p->n; i++) {
        store_posting e = p->v[i];
        e.head = rank[e.head];
        out[p->heads[e.head].count++] = e;
    }
    free(rank);
    p->spare = p->v;
    p->v = out;
    size_t cap = p->cap;
    p->cap = p->spare_cap;
    p->spare_cap = cap;
    p->sorted = true;
    if (p->table)
        memset(p->table, 0, p->table_cap * sizeof(*p->table));
    return p->nheads;
}

/* A number for a new key: distinct from every other key's of this store (a
 * random start at open, then one more per key). */
static uint64_t next_key_number(store *s)
{
    return atomic_fetch_add_explicit(&s->posting_seq, 1, memory_order_relaxed);
}

void store_postings_seed(store *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed[3] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec, (uint64_t)getpid()};
    /* Runs of numbers from two starts overlap with odds of about 2^-32. */
    atomic_store(&s->posting_seq, XXH3_64bits_withSeed(seed, sizeof(seed), (uint64_t)(uintptr_t)s));
}

ottr_status store_postings_write(store *s, store_postings *p, rocksdb_writebatch_t *wb,
                                 store_sst **f)
{
    if (p->oom)
        return OTTR_ERR_NOMEM;
    ottr_buf val;
    memset(&val, 0, sizeof(val));
    ottr_status st = OTTR_OK;
    for (size_t i = 0; i < p->n && st == OTTR_OK;) {
        const store_posting_head *h = &p->heads[p->v[i].head];
        size_t end = i + 1;
        while (end < p->n && p->v[end].head == p->v[i].head)
            end++;
        uint32_t sec = store_key_posting_sec(h->p, h->len);
        for (size_t j = i; j < end; j++)
            if (p->v[j].sec > sec)
                sec = p->v[j].sec;
        val.len = 0;
        if (ottr_buf_reserve(&val, 4 + (end - i) * STORE_POSTING_ENTRY_LEN) != 0) {
            st = OTTR_ERR_NOMEM;
            break;
        }
        uint8_t *v = (uint8_t *)val.data;
        be32_put(v, sec);
        size_t vlen = 4;
        for (size_t j = i; j < end; j++) {
            memcpy(v + vlen, p->v[j].tid, 16);
            be64_put(v + vlen + 16, p->v[j].hash);
            vlen += STORE_POSTING_ENTRY_LEN;
        }
        uint8_t key[STORE_POSTING_HEAD_MAX + 8];
        memcpy(key, h->p, h->len);
        be64_put(key + h->len, next_key_number(s));
        size_t klen = h->len + 8;
        if (f == NULL) {
            rocksdb_writebatch_put_cf(wb, s->cf[CF_INDEX], (const char *)key, klen, (const char *)v,
                                      vlen);
        } else {
            if (*f == NULL)
                st = store_sst_create(s, CF_INDEX, f);
            if (st == OTTR_OK)
                st = store_sst_put(*f, key, klen, v, vlen);
        }
        i = end;
    }
    ottr_buf_free(&val);
    return st;
}

/* ------------------------------------------------ an earlier version's index */

/* Kinds of the earlier layout: tenant | kind | term | 0x00 | ~start_sec | trace_id
 * (only the implicit tenant's: the layout predates tenants). */
static bool legacy_kind(uint8_t k)
{
    return k == IDX_SERVICE || k == IDX_SVC_NAME || k == IDX_NAME || k == IDX_ATTR || k == IDX_ALL;
}

static ottr_status flush_migrated(store *s, store_postings *p)
{
    store_postings_sort(p);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    ottr_status st = store_postings_write(s, p, wb, NULL);
    if (st == OTTR_OK)
        st = store_write(s, wb, NULL, 0);
    rocksdb_writebatch_destroy(wb);
    postings_clear(p);
    return st;
}

ottr_status store_index_migrate(store *s)
{
    const uint8_t lo[TENANT_KEY_LEN + 1] = {0, 0, 0, 0, 'a'};
    const uint8_t hi[TENANT_KEY_LEN + 1] = {0, 0, 0, 0, 'z' + 1};
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, sizeof(hi));
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_INDEX]);
    rocksdb_iter_seek(it, (const char *)lo, sizeof(lo));
    ottr_status st = OTTR_OK;
    uint64_t moved = 0;
    if (!rocksdb_iter_valid(it))
        goto out; /* nothing of the earlier layout */
    store_postings p;
    store_postings_init(&p);
    for (; rocksdb_iter_valid(it) && st == OTTR_OK; rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        if (klen <= TENANT_KEY_LEN + LEGACY_INDEX_SUFFIX_LEN + 1 || !legacy_kind(k[TENANT_KEY_LEN]))
            continue;
        size_t plen = klen - LEGACY_INDEX_SUFFIX_LEN;
        uint32_t sec = ~be32_get(k + plen);
        uint32_t ret = vlen == 4 ? be32_get(v) : sec;
        store_postings_add(&p, k, plen, XXH3_64bits(k, plen), sec, ret, k + plen + 4);
        moved++;
        if (p.oom)
            st = OTTR_ERR_NOMEM;
        else if (p.n >= MIGRATE_BATCH)
            st = flush_migrated(s, &p);
    }
    if (st == OTTR_OK && p.n > 0)
        st = flush_migrated(s, &p);
    store_postings_free(&p);
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "index: read of the earlier layout failed: %s", e);
        free(e);
        st = OTTR_ERR_IO;
    }
    if (st == OTTR_OK) {
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        rocksdb_writebatch_delete_range_cf(wb, s->cf[CF_INDEX], (const char *)lo, sizeof(lo),
                                           (const char *)hi, sizeof(hi));
        st = store_write(s, wb, NULL, 0);
        rocksdb_writebatch_destroy(wb);
    }
    if (st == OTTR_OK)
        OTTR_INFO(STORE_COMPONENT,
                  "index: %llu entries of an earlier version moved to posting lists",
                  (unsigned long long)moved);
out:
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return st;
}
