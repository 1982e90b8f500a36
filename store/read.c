/* store/read.c - a trace by ID (its chunks concatenated), trace summaries and
 * key lookups. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

ottr_status store_scan(store *s, int cf, const uint8_t *lower, size_t llen, const uint8_t *upper,
                       size_t ulen, store_visit_fn visit, void *ctx)
{
    store_perf_off();
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)upper, ulen);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[cf]);
    rocksdb_iter_seek(it, (const char *)lower, llen);
    int rc = 0;
    while (rc == 0 && rocksdb_iter_valid(it)) {
        size_t klen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        rc = visit(ctx, it, k, klen); /* moves the iterator on itself */
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "read of %s failed: %s", store_cf_names[cf], e);
        free(e);
        return OTTR_ERR_IO;
    }
    return rc < 0 ? OTTR_ERR_NOMEM : OTTR_OK;
}

int store_key_exists(store *s, const rocksdb_readoptions_t *ro, int cf, const uint8_t *key,
                     size_t klen)
{
    char *e = NULL;
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(s->db, ro, s->cf[cf], (const char *)key, klen, &e);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "read of %s failed: %s", store_cf_names[cf], e);
        free(e);
        return -1;
    }
    if (ps == NULL)
        return 0;
    rocksdb_pinnableslice_destroy(ps);
    return 1;
}

ottr_status store_summary_load(store *s, const rocksdb_readoptions_t *ro, uint32_t tenant,
                               const uint8_t tid[16], store_summary_acc *a, bool *found)
{
    *found = false;
    store_summary_acc_init(a, tid);
    uint8_t key[TRACE_KEY_LEN];
    store_key_trace(key, tenant, tid);
    char *e = NULL;
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(s->db, ro, s->cf[CF_SUMMARIES], (const char *)key, sizeof(key), &e);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "read of summaries failed: %s", e);
        free(e);
        return OTTR_ERR_IO;
    }
    if (ps == NULL)
        return OTTR_OK;
    size_t vlen;
    const char *v = rocksdb_pinnableslice_value(ps, &vlen);
    if (store_summary_decode((const uint8_t *)v, vlen, tid, a) == 0) {
        *found = true;
    } else {
        char hex[33];
        ottr_hex_encode(tid, 16, hex);
        OTTR_WARN(STORE_COMPONENT, "summary of trace %s does not decode; ignored", hex);
        store_summary_acc_init(a, tid);
    }
    rocksdb_pinnableslice_destroy(ps);
    return OTTR_OK;
}

ottr_status store_get_summary(store_view v, const uint8_t trace_id[16], store_trace_summary *sum)
{
    store_perf_off();
    store_summary_acc a;
    bool found;
    ottr_status st = store_summary_load(v.s, v.s->ro, v.tenant, trace_id, &a, &found);
    if (st != OTTR_OK)
        return st;
    if (!found)
        return OTTR_ERR_NOTFOUND;
    if (sum)
        *sum = a.sum;
    return OTTR_OK;
}

ottr_status store_get_trace(store_view v, const uint8_t trace_id[16], ottr_buf *out,
                            store_trace_summary *sum)
{
    store_perf_off();
    store *s = v.s;
    uint8_t tkey[TRACE_KEY_LEN];
    store_key_trace(tkey, v.tenant, trace_id);
    const rocksdb_snapshot_t *snap = rocksdb_create_snapshot(s->db);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_snapshot(ro, snap);
    rocksdb_readoptions_set_prefix_same_as_start(ro, 1);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_TRACES]);
    size_t chunks = 0, start_len = out->len;
    for (rocksdb_iter_seek(it, (const char *)tkey, sizeof(tkey)); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != TRACES_KEY_LEN || memcmp(k, tkey, sizeof(tkey)) != 0)
            break;
        const char *v = rocksdb_iter_value(it, &vlen);
        ottr_buf_append(out, v, vlen);
        chunks++;
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    rocksdb_iter_destroy(it);
    ottr_status st = OTTR_OK;
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "read of traces failed: %s", e);
        free(e);
        st = OTTR_ERR_IO;
    } else if (out->oom) {
        st = OTTR_ERR_NOMEM;
    } else if (chunks == 0) {
        st = OTTR_ERR_NOTFOUND;
    } else if (sum) {
        store_summary_acc a;
        bool found;
        st = store_summary_load(s, ro, v.tenant, trace_id, &a, &found);
        *sum = a.sum; /* zeroed but for the trace ID when missing */
    }
    if (st != OTTR_OK && !out->oom && out->data) {
        out->len = start_len;
        out->data[start_len] = '\0';
    }
    rocksdb_readoptions_destroy(ro);
    rocksdb_release_snapshot(s->db, snap);
    return st;
}
