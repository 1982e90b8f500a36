/* store/pending.c - durable acceptance: appends request groups to `pending`,
 * replays them at start-up and drops decided seconds with one DeleteRange. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

ottr_status store_append_pending(store *s, const otlp_batch *b, uint32_t arrival_sec)
{
    if (b == NULL || b->ngroups == 0)
        return OTTR_OK;
    uint32_t first = atomic_fetch_add(&s->seq, (unsigned)b->ngroups);
    uint32_t boot = (s->boot & 0xffu) << 24;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    size_t bytes = 0;
    for (size_t i = 0; i < b->ngroups; i++) {
        const otlp_trace_group *g = &b->groups[i];
        uint8_t key[PENDING_KEY_LEN];
        store_key_pending(key, arrival_sec, g->trace_id,
                          boot | ((first + (uint32_t)i) & 0xffffffu));
        rocksdb_writebatch_put_cf(wb, s->cf[CF_PENDING], (const char *)key, sizeof(key),
                                  (const char *)g->chunk, g->chunk_len);
        bytes += g->chunk_len;
    }
    ottr_status st = store_write(s, wb, NULL, 0);
    rocksdb_writebatch_destroy(wb);
    if (st == OTTR_OK) {
        atomic_fetch_add(&s->appended_bytes, bytes);
        atomic_fetch_add(&s->appended_records, b->ngroups);
    }
    return st;
}

ottr_status store_replay_pending(store *s, store_pending_fn fn, void *ctx)
{
    store_perf_off();
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    /* A whole-family scan: the prefix extractor must not limit it. */
    rocksdb_readoptions_set_total_order_seek(ro, 1);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_PENDING]);
    size_t skipped = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen != PENDING_KEY_LEN) {
            skipped++;
            continue;
        }
        if (fn(ctx, be32_get(k), (const uint8_t *)k + 4, (const uint8_t *)v, vlen) != 0)
            break;
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (skipped)
        OTTR_WARN(STORE_COMPONENT, "replay skipped %zu malformed pending keys", skipped);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "pending replay failed: %s", e);
        free(e);
        return OTTR_ERR_IO;
    }
    return OTTR_OK;
}

ottr_status store_reclaim_pending(store *s, uint32_t before_sec)
{
    if (before_sec == 0)
        return OTTR_OK;
    uint8_t end[4];
    be32_put(end, before_sec);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_delete_range_cf(wb, s->cf[CF_PENDING], "", 0, (const char *)end, 4);
    ottr_status st = store_write(s, wb, NULL, 0);
    rocksdb_writebatch_destroy(wb);
    return st;
}
