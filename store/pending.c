/* store/pending.c - durable acceptance: appends each request's chunks to
 * `pending` as one record, replays them at start-up and drops decided seconds
 * with one DeleteRange.
 *
 * A record is keyed arrival_sec | seq, so the memtable takes one insert per
 * request at the end of the family instead of one per trace at random places
 * (the skip-list search was most of the ingest path's RocksDB time). Its value:
 *   0x01 | n(4) | n x (trace_id(16) | chunk_len(4)) | chunk 1 | ... | chunk n
 * The sampler remembers, per trace, the records that hold its chunks. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define RECORD_FORMAT    0x01
#define RECORD_HEAD      5  /* format(1) | n(4) */
#define RECORD_ENTRY     20 /* trace_id(16) | chunk_len(4) */
#define STACK_HEAD_BYTES 4096

/* Checks the record's header; sets |*n| and the offset of the first chunk. */
static int record_open(const uint8_t *val, size_t len, uint32_t *n, size_t *data)
{
    if (len < RECORD_HEAD || val[0] != RECORD_FORMAT)
        return -1;
    *n = be32_get(val + 1);
    if (*n > (len - RECORD_HEAD) / RECORD_ENTRY)
        return -1;
    *data = RECORD_HEAD + (size_t)*n * RECORD_ENTRY;
    return 0;
}

/* Calls |fn| for each chunk of a record; returns fn's first non-zero answer,
 * -1 when the record is malformed, else 0. */
static int record_each(const uint8_t *val, size_t len, store_pending_ref ref, store_pending_fn fn,
                       void *ctx)
{
    uint32_t n;
    size_t off;
    if (record_open(val, len, &n, &off) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = val + RECORD_HEAD + (size_t)i * RECORD_ENTRY;
        size_t clen = be32_get(e + 16);
        if (clen > len - off)
            return -1;
        int rc = fn(ctx, ref, e, val + off, clen);
        if (rc != 0)
            return rc;
        off += clen;
    }
    return 0;
}

typedef struct find_ctx {
    const uint8_t *tid;
    const uint8_t *chunk;
    size_t len;
} find_ctx;

static int find_one(void *ctx, store_pending_ref ref, const uint8_t tid[16], const uint8_t *chunk,
                    size_t len)
{
    find_ctx *f = ctx;
    (void)ref;
    if (memcmp(tid, f->tid, 16) != 0)
        return 0;
    f->chunk = chunk;
    f->len = len;
    return 1;
}

int store_pending_find(const uint8_t *val, size_t len, const uint8_t tid[16], const uint8_t **chunk,
                       size_t *chunk_len)
{
    find_ctx f = {.tid = tid};
    store_pending_ref none = {0, 0};
    int rc = record_each(val, len, none, find_one, &f);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0;
    *chunk = f.chunk;
    *chunk_len = f.len;
    return 1;
}

/* Puts the record of the |n| groups |g| under |ref| into |wb| without copying
 * their chunks. Returns 0 or -1 (out of memory). */
static int record_put(store *s, rocksdb_writebatch_t *wb, store_pending_ref ref,
                      const otlp_trace_group *g, size_t n)
{
    uint8_t key[PENDING_KEY_LEN];
    store_key_pending(key, ref);
    size_t head_len = RECORD_HEAD + n * RECORD_ENTRY;
    uint8_t stack_head[STACK_HEAD_BYTES];
    const char *stack_parts[64];
    size_t stack_sizes[64];
    uint8_t *head = head_len <= sizeof(stack_head) ? stack_head : malloc(head_len);
    const char **parts = n < 64 ? stack_parts : malloc((n + 1) * sizeof(*parts));
    size_t *sizes = n < 64 ? stack_sizes : malloc((n + 1) * sizeof(*sizes));
    int rc = -1;
    if (head == NULL || parts == NULL || sizes == NULL)
        goto out;
    head[0] = RECORD_FORMAT;
    be32_put(head + 1, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        memcpy(head + RECORD_HEAD + i * RECORD_ENTRY, g[i].trace_id, 16);
        be32_put(head + RECORD_HEAD + i * RECORD_ENTRY + 16, (uint32_t)g[i].chunk_len);
        parts[i + 1] = (const char *)g[i].chunk;
        sizes[i + 1] = g[i].chunk_len;
    }
    parts[0] = (const char *)head;
    sizes[0] = head_len;
    const char *kp = (const char *)key;
    size_t ks = sizeof(key);
    rocksdb_writebatch_putv_cf(wb, s->cf[CF_PENDING], 1, &kp, &ks, (int)(n + 1), parts, sizes);
    rc = 0;
out:
    if (head != stack_head)
        free(head);
    if (parts != stack_parts)
        free(parts);
    if (sizes != stack_sizes)
        free(sizes);
    return rc;
}

static store_pending_ref next_ref(store *s, uint32_t arrival_sec)
{
    uint32_t counter = atomic_fetch_add(&s->seq, 1u);
    store_pending_ref ref = {arrival_sec, (s->boot & 0xffu) << 24 | (counter & 0xffffffu)};
    return ref;
}

ottr_status store_append_pending(store *s, const otlp_batch *b, uint32_t arrival_sec,
                                 store_pending_ref *ref)
{
    if (b == NULL || b->ngroups == 0)
        return OTTR_OK;
    if (b->ngroups > UINT32_MAX / RECORD_ENTRY)
        return OTTR_ERR_TOO_LARGE;
    store_pending_ref r = next_ref(s, arrival_sec);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    ottr_status st = OTTR_ERR_NOMEM;
    if (record_put(s, wb, r, b->groups, b->ngroups) == 0)
        st = store_write(s, wb, NULL, 0);
    rocksdb_writebatch_destroy(wb);
    if (st == OTTR_OK) {
        atomic_fetch_add(&s->appended_bytes, b->chunk_bytes);
        atomic_fetch_add(&s->appended_records, 1);
        if (ref)
            *ref = r;
    }
    return st;
}

/* Rewrites a record of the older layout (one chunk per key) as a record of the
 * current one and removes the old key, in one write, then replays it. */
static int replay_legacy(store *s, const char *k, const uint8_t *v, size_t vlen,
                         store_pending_fn fn, void *ctx, ottr_status *st)
{
    otlp_trace_group g = {.chunk = (uint8_t *)v, .chunk_len = vlen};
    memcpy(g.trace_id, k + 4, 16);
    store_pending_ref ref = next_ref(s, be32_get(k));
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (record_put(s, wb, ref, &g, 1) != 0) {
        rocksdb_writebatch_destroy(wb);
        *st = OTTR_ERR_NOMEM;
        return 1;
    }
    rocksdb_writebatch_delete_cf(wb, s->cf[CF_PENDING], k, PENDING_LEGACY_KEY_LEN);
    *st = store_write(s, wb, NULL, 0);
    rocksdb_writebatch_destroy(wb);
    if (*st != OTTR_OK)
        return 1;
    return fn(ctx, ref, g.trace_id, v, vlen);
}

ottr_status store_replay_pending(store *s, store_pending_fn fn, void *ctx)
{
    store_perf_off();
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    /* A whole-family scan that must not see the legacy rewrites it makes. */
    rocksdb_readoptions_set_total_order_seek(ro, 1);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    const rocksdb_snapshot_t *snap = rocksdb_create_snapshot(s->db);
    rocksdb_readoptions_set_snapshot(ro, snap);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_PENDING]);
    size_t skipped = 0, legacy = 0;
    ottr_status st = OTTR_OK;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        int rc;
        if (klen == PENDING_KEY_LEN) {
            store_pending_ref ref = {be32_get(k), be32_get(k + 4)};
            rc = record_each(v, vlen, ref, fn, ctx);
            if (rc < 0) {
                skipped++;
                continue;
            }
        } else if (klen == PENDING_LEGACY_KEY_LEN) {
            legacy++;
            rc = replay_legacy(s, k, v, vlen, fn, ctx, &st);
        } else {
            skipped++;
            continue;
        }
        if (rc != 0)
            break;
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    rocksdb_release_snapshot(s->db, snap);
    if (skipped)
        OTTR_WARN(STORE_COMPONENT, "replay skipped %zu malformed pending records", skipped);
    if (legacy)
        OTTR_INFO(STORE_COMPONENT, "replay rewrote %zu pending records of the older layout",
                  legacy);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "pending replay failed: %s", e);
        free(e);
        return OTTR_ERR_IO;
    }
    return st;
}

ottr_status store_reclaim_pending(store *s, uint32_t before_sec)
{
    if (before_sec == 0)
        return OTTR_OK;
    uint8_t end[4];
    store_key_pending_before(end, before_sec);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_delete_range_cf(wb, s->cf[CF_PENDING], "", 0, (const char *)end, 4);
    ottr_status st = store_write(s, wb, NULL, 0);
    rocksdb_writebatch_destroy(wb);
    return st;
}
