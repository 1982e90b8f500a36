/* store/pending.c - durable acceptance: each request's chunks become one record
 * of the pending log (plog.c), named by (arrival_sec, offset); records are
 * replayed at start-up, read back by keeps, and dropped a second at a time.
 *
 * A record's payload:
 *   0x02 | tenant(4) | n(4) | n x (trace_id(16) | chunk_len(4)) | chunk 1 | ... | chunk n
 *   0x03 | tenant(4) | n(4) | n x (trace_id(16) | chunk_len(4) | origin(8)) | chunks:
 *          spans taken from Kafka, each chunk kept under its origin (otlp_batch.origins)
 *          instead of where it lies
 * Format 0x01, of earlier versions, has no tenant: the implicit tenant's.
 * The sampler remembers, per trace, the records that hold its chunks.
 *
 * Stores of an earlier version kept these records in the `pending` column family
 * (key arrival_sec | seq, or, older still, arrival_sec | trace_id | seq with one
 * chunk): the first start-up moves them into the log. */
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "store/internal.h"

#define RECORD_FORMAT_V1 0x01
#define RECORD_HEAD_V1   5 /* format(1) | n(4) */
#define RECORD_FORMAT    0x02
#define RECORD_HEAD      9 /* format(1) | tenant(4) | n(4) */
#define RECORD_FORMAT_V3 0x03
#define RECORD_ENTRY_V3  28 /* trace_id(16) | chunk_len(4) | origin(8) */
#define RECORD_ENTRY     20 /* trace_id(16) | chunk_len(4) */
#define STACK_HEAD_BYTES 4096

/* A record's header. */
typedef struct record_info {
    uint32_t tenant;
    uint32_t n;
    size_t entry; /* bytes of an entry: RECORD_ENTRY, or RECORD_ENTRY_V3 with origins */
    size_t table; /* offset of the entry table */
    size_t data;  /* offset of the first chunk */
} record_info;

/* Checks the record's header (|len| bytes of it at least RECORD_HEAD or the
 * whole payload) against a payload of |plen| bytes; fills |ri|. */
static int record_open(const uint8_t *val, size_t len, size_t plen, record_info *ri)
{
    bool v3 = len >= 1 && val[0] == RECORD_FORMAT_V3;
    size_t head = len >= 1 && (val[0] == RECORD_FORMAT || v3) ? RECORD_HEAD
                  : len >= 1 && val[0] == RECORD_FORMAT_V1    ? RECORD_HEAD_V1
                                                              : 0;
    if (head == 0 || len < head || plen < head)
        return -1;
    ri->tenant = head == RECORD_HEAD_V1 ? STORE_TENANT_DEFAULT : be32_get(val + 1);
    ri->entry = v3 ? RECORD_ENTRY_V3 : RECORD_ENTRY;
    ri->n = be32_get(val + head - 4);
    if (ri->n > (plen - head) / ri->entry)
        return -1;
    ri->table = head;
    ri->data = head + (size_t)ri->n * ri->entry;
    return 0;
}

/* Calls |fn| for each chunk of a record; returns fn's first non-zero answer,
 * -1 when the record is malformed, else 0. */
static int record_each(const uint8_t *val, size_t len, store_pending_ref ref, store_pending_fn fn,
                       void *ctx)
{
    record_info ri;
    if (record_open(val, len, len, &ri) != 0)
        return -1;
    size_t off = ri.data;
    for (uint32_t i = 0; i < ri.n; i++) {
        const uint8_t *e = val + ri.table + (size_t)i * ri.entry;
        size_t clen = be32_get(e + 16);
        if (clen > len - off)
            return -1;
        int rc = fn(ctx, ref, ri.tenant, e, val + off, clen);
        if (rc != 0)
            return rc;
        off += clen;
    }
    return 0;
}

/* The record header of |n| groups into |head| (record_head_len() bytes): format
 * 3 with |origins| (one per group), else format 2. */
static size_t record_head_len(const uint64_t *origins, size_t n)
{
    return RECORD_HEAD + n * (origins ? RECORD_ENTRY_V3 : RECORD_ENTRY);
}

static void record_head(uint8_t *head, uint32_t tenant, const uint64_t *origins,
                        const otlp_trace_group *g, size_t n)
{
    size_t esz = origins ? RECORD_ENTRY_V3 : RECORD_ENTRY;
    head[0] = origins ? RECORD_FORMAT_V3 : RECORD_FORMAT;
    be32_put(head + 1, tenant);
    be32_put(head + 5, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = head + RECORD_HEAD + i * esz;
        memcpy(e, g[i].trace_id, 16);
        be32_put(e + 16, (uint32_t)g[i].chunk_len);
        if (origins) {
            be32_put(e + 20, (uint32_t)(origins[i] >> 32));
            be32_put(e + 24, (uint32_t)origins[i]);
        }
    }
}

/* Appends the record of the |n| groups |g| at |sec| without copying their
 * chunks; sets |*ref|. */
static ottr_status record_append(store *s, uint32_t sec, uint32_t tenant, const uint64_t *origins,
                                 const otlp_trace_group *g, size_t n, store_pending_ref *ref)
{
    size_t head_len = record_head_len(origins, n);
    uint8_t stack_head[STACK_HEAD_BYTES];
    struct iovec stack_iov[64];
    uint8_t *head = head_len <= sizeof(stack_head) ? stack_head : malloc(head_len);
    struct iovec *iov = n + 2 <= 64 ? stack_iov : malloc((n + 2) * sizeof(*iov));
    ottr_status st = OTTR_ERR_NOMEM;
    if (head == NULL || iov == NULL)
        goto out;
    record_head(head, tenant, origins, g, n);
    iov[1].iov_base = head;
    iov[1].iov_len = head_len;
    for (size_t i = 0; i < n; i++) {
        iov[i + 2].iov_base = g[i].chunk;
        iov[i + 2].iov_len = g[i].chunk_len;
    }
    uint32_t off;
    st = store_plog_append(s, sec, iov, (int)(n + 2), &off);
    if (st == OTTR_OK) {
        ref->sec = sec;
        ref->seq = off;
    }
out:
    if (head != stack_head)
        free(head);
    if (iov != stack_iov)
        free(iov);
    return st;
}

ottr_status store_append_pending(store *s, const otlp_batch *b, uint32_t arrival_sec,
                                 store_pending_ref *ref)
{
    if (b == NULL || b->ngroups == 0)
        return OTTR_OK;
    if (b->ngroups > UINT32_MAX / RECORD_ENTRY_V3 || b->ngroups > INT32_MAX - 2)
        return OTTR_ERR_TOO_LARGE;
    store_pending_ref r;
    ottr_status st =
        record_append(s, arrival_sec, b->tenant, b->origins, b->groups, b->ngroups, &r);
    if (st == OTTR_OK) {
        atomic_fetch_add(&s->appended_bytes, b->chunk_bytes);
        atomic_fetch_add(&s->appended_records, 1);
        if (ref)
            *ref = r;
    }
    return st;
}

/* ------------------------------------------------------------------ read back */

/* Reads |len| bytes at |off| of the record file into arena memory. Returns 1,
 * 0 when the file is gone or too short, -2 on an error. */
static int read_at(store_plog_reader *r, uint32_t sec, uint64_t off, size_t len, ottr_arena *a,
                   uint8_t **out)
{
    *out = ottr_arena_alloc(a, len ? len : 1);
    if (*out == NULL)
        return -3;
    ssize_t got = store_plog_pread(r, sec, *out, len, off);
    if (got < 0)
        return -2;
    return (size_t)got == len ? 1 : 0;
}

int store_pending_read(store_plog_reader *r, ottr_arena *a, store_pending_ref ref, uint32_t tenant,
                       const uint8_t tid[16], const uint8_t **chunk, size_t *chunk_len,
                       uint64_t *origin)
{
    /* The header and, usually, the whole entry table in one read. */
    uint8_t first[PLOG_HEAD + RECORD_HEAD + 64 * RECORD_ENTRY];
    ssize_t got = store_plog_pread(r, ref.sec, first, sizeof(first), ref.seq);
    if (got < 0)
        return -2;
    if (got == 0)
        return 0; /* reclaimed: copied by an earlier keep */
    uint32_t plen;
    record_info ri;
    if ((size_t)got < PLOG_HEAD + RECORD_HEAD_V1 || store_plog_header_check(first, &plen) != 0 ||
        record_open(first + PLOG_HEAD, (size_t)got - PLOG_HEAD, plen, &ri) != 0)
        return -1;
    if (ri.tenant != tenant)
        return 0; /* another tenant's record holds no chunk of this trace */
    const uint8_t *table = first + PLOG_HEAD + ri.table;
    if (ri.data > (size_t)got - PLOG_HEAD) {
        uint8_t *t;
        int rc = read_at(r, ref.sec, (uint64_t)ref.seq + PLOG_HEAD + ri.table,
                         (size_t)ri.n * ri.entry, a, &t);
        if (rc != 1)
            return rc == 0 ? -1 : rc;
        table = t;
    }
    uint64_t off = ri.data;
    for (uint32_t i = 0; i < ri.n; i++) {
        const uint8_t *e = table + (size_t)i * ri.entry;
        uint32_t clen = be32_get(e + 16);
        if (clen > plen - off)
            return -1;
        if (memcmp(e, tid, 16) != 0) {
            off += clen;
            continue;
        }
        uint8_t *c;
        int rc = read_at(r, ref.sec, (uint64_t)ref.seq + PLOG_HEAD + off, clen, a, &c);
        if (rc != 1)
            return rc == 0 ? -1 : rc;
        *chunk = c;
        *chunk_len = clen;
        *origin =
            ri.entry == RECORD_ENTRY_V3 ? (uint64_t)be32_get(e + 20) << 32 | be32_get(e + 24) : 0;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ replay */

typedef struct replay_ctx {
    store_pending_fn fn;
    void *ctx;
    uint64_t skipped;
} replay_ctx;

static int replay_one(void *ctx, uint32_t sec, uint32_t off, const uint8_t *payload, size_t len)
{
    replay_ctx *rc = ctx;
    store_pending_ref ref = {sec, off};
    int r = record_each(payload, len, ref, rc->fn, rc->ctx);
    if (r < 0) {
        rc->skipped++;
        return 0;
    }
    return r;
}

/* Moves one record of the `pending` family into the log. */
static ottr_status migrate_one(store *s, const char *k, size_t klen, const uint8_t *v, size_t vlen)
{
    store_pending_ref ref;
    if (klen == PENDING_LEGACY_KEY_LEN) {
        otlp_trace_group g = {.chunk = (uint8_t *)v, .chunk_len = vlen};
        memcpy(g.trace_id, k + 4, 16);
        return record_append(s, be32_get(k), STORE_TENANT_DEFAULT, NULL, &g, 1, &ref);
    }
    record_info ri;
    if (klen != PENDING_KEY_LEN || record_open(v, vlen, vlen, &ri) != 0)
        return OTTR_ERR_CORRUPT;
    struct iovec iov[2] = {{NULL, 0}, {(void *)v, vlen}};
    uint32_t off;
    return store_plog_append(s, be32_get(k), iov, 2, &off);
}

/* Moves the records a store of an earlier version kept in the `pending` family
 * into the log, syncs the log, then empties the family. Until the family is
 * empty nothing else was appended, so a move a crash interrupted starts over
 * from an empty log. */
static ottr_status migrate_family(store *s)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_total_order_seek(ro, 1);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_PENDING]);
    rocksdb_iter_seek_to_first(it);
    ottr_status st = OTTR_OK;
    size_t moved = 0, skipped = 0;
    if (rocksdb_iter_valid(it)) {
        st = store_plog_remove_all(s);
        for (; st == OTTR_OK && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t klen, vlen;
            const char *k = rocksdb_iter_key(it, &klen);
            const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
            ottr_status r = migrate_one(s, k, klen, v, vlen);
            if (r == OTTR_ERR_CORRUPT)
                skipped++;
            else if (r != OTTR_OK)
                st = r;
            else
                moved++;
        }
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "reading the pending family failed: %s", e);
        free(e);
        return OTTR_ERR_IO;
    }
    if (st != OTTR_OK || moved + skipped == 0)
        return st;
    if (store_plog_sync(s) != 0)
        return OTTR_ERR_IO;
    uint8_t end[PENDING_LEGACY_KEY_LEN + 1]; /* above every key of either layout */
    memset(end, 0xff, sizeof(end));
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_delete_range_cf(wb, s->cf[CF_PENDING], "", 0, (const char *)end,
                                       sizeof(end));
    st = store_write(s, wb, NULL, 0);
    rocksdb_writebatch_destroy(wb);
    char msg[256];
    if (st == OTTR_OK && store_sync_wal(s, msg, sizeof(msg)) != 0) {
        OTTR_ERROR(STORE_COMPONENT, "WAL sync failed: %s", msg);
        st = OTTR_ERR_IO;
    }
    if (st == OTTR_OK)
        rocksdb_compact_range_cf(s->db, s->cf[CF_PENDING], NULL, 0, NULL, 0);
    OTTR_INFO(STORE_COMPONENT, "moved %zu pending records into the pending log (%zu malformed)",
              moved, skipped);
    return st;
}

ottr_status store_replay_pending(store *s, store_pending_fn fn, void *ctx)
{
    store_perf_off();
    ottr_status st = migrate_family(s);
    if (st != OTTR_OK)
        return st;
    replay_ctx rc = {fn, ctx, 0};
    st = store_plog_scan(s, replay_one, &rc);
    if (rc.skipped)
        OTTR_WARN(STORE_COMPONENT, "replay skipped %llu malformed pending records",
                  (unsigned long long)rc.skipped);
    return st;
}

ottr_status store_reclaim_pending(store *s, uint32_t before_sec)
{
    /* Records past retention go too: their traces would expire once kept. */
    uint32_t cutoff = store_retention_cutoff_sec(s);
    if (cutoff > before_sec)
        before_sec = cutoff;
    if (before_sec == 0)
        return OTTR_OK;
    /* The copies of kept traces are in RocksDB's WAL; make them durable before
     * the pending records they came from go. */
    char msg[256];
    if (s->opt.sync != STORE_SYNC_NONE && atomic_load(&s->unsynced) != 0) {
        if (store_sync_wal(s, msg, sizeof(msg)) != 0) {
            OTTR_WARN(STORE_COMPONENT, "WAL sync before reclaiming pending failed: %s", msg);
            return OTTR_ERR_IO;
        }
    }
    return store_plog_remove_before(s, before_sec);
}
