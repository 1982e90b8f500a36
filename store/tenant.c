/* store/tenant.c - the tenant registry and the move to keys with a tenant.
 *
 * Tenants are named by the X-Scope-OrgID their requests carry; the store numbers
 * them (4 bytes at the start of every key, store/keys.c). The registry lives in
 * `meta`: 'n' | name -> number and 'i' | number -> name, written with a WAL sync
 * before a number is first used, so that a pending record never names a number
 * the registry lost. Number 0 is the implicit tenant, named "single-tenant" as
 * in Tempo, and never written. Lookups after the first are a hash probe.
 *
 * A store of format 1 had no tenant in its keys. At open every key of the
 * traces, summaries, index, tags and edges families is rewritten under the
 * implicit tenant (a put of 0000 | key and a delete of the key per record,
 * written in batches), then the format marker becomes 2. A move cut short by a
 * crash is taken up again at the next open: moved keys no longer have the old
 * layout (store_key_is_legacy) and are passed over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "store/internal.h"

/* Records moved per WriteBatch. */
#define MIGRATE_BATCH 4096

/* ------------------------------------------------------------------ migration */

static ottr_status migrate_family(store *s, int cf, uint64_t *moved)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_total_order_seek(ro, 1);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    /* The iterator reads a snapshot: the keys it writes are not seen again. */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[cf]);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    ottr_status st = OTTR_OK;
    uint8_t *key = NULL;
    size_t keycap = 0;
    for (rocksdb_iter_seek_to_first(it); st == OTTR_OK && rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (!store_key_is_legacy(cf, (const uint8_t *)k, klen))
            continue;
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen + TENANT_KEY_LEN > keycap) {
            size_t ncap = (klen + TENANT_KEY_LEN) * 2;
            uint8_t *nk = realloc(key, ncap);
            if (nk == NULL) {
                st = OTTR_ERR_NOMEM;
                break;
            }
            key = nk;
            keycap = ncap;
        }
        be32_put(key, STORE_TENANT_DEFAULT);
        memcpy(key + TENANT_KEY_LEN, k, klen);
        rocksdb_writebatch_put_cf(wb, s->cf[cf], (const char *)key, klen + TENANT_KEY_LEN, v, vlen);
        rocksdb_writebatch_delete_cf(wb, s->cf[cf], k, klen);
        (*moved)++;
        if (rocksdb_writebatch_count(wb) >= 2 * MIGRATE_BATCH) {
            st = store_write(s, wb, NULL, 0);
            rocksdb_writebatch_clear(wb);
        }
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "reading %s to add tenants failed: %s", store_cf_names[cf], e);
        free(e);
        st = OTTR_ERR_IO;
    }
    if (st == OTTR_OK && rocksdb_writebatch_count(wb) > 0)
        st = store_write(s, wb, NULL, 0);
    free(key);
    rocksdb_writebatch_destroy(wb);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return st;
}

static ottr_status migrate(store *s, char *err, size_t errlen)
{
    static const int families[] = {CF_TRACES, CF_SUMMARIES, CF_INDEX, CF_TAGS, CF_EDGES};
    uint64_t moved = 0;
    OTTR_INFO(STORE_COMPONENT, "store %s has format 1: adding the tenant to every key", s->path);
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        ottr_status st = migrate_family(s, families[i], &moved);
        if (st != OTTR_OK) {
            snprintf(err, errlen, "cannot move store %s to format 2 (%s): %s", s->path,
                     store_cf_names[families[i]], ottr_status_str(st));
            return st;
        }
    }
    /* A synced write: the moved keys reach the disk with the new marker. */
    char *e = NULL;
    rocksdb_put_cf(s->db, s->wo_sync, s->cf[CF_META], STORE_FORMAT_KEY, strlen(STORE_FORMAT_KEY),
                   STORE_FORMAT_VALUE, strlen(STORE_FORMAT_VALUE), &e);
    if (e) {
        snprintf(err, errlen, "cannot write store %s: %s", s->path, e);
        free(e);
        return OTTR_ERR_IO;
    }
    s->legacy = false;
    OTTR_INFO(STORE_COMPONENT, "store %s moved to format 2 (%llu records)", s->path,
              (unsigned long long)moved);
    return OTTR_OK;
}

/* ------------------------------------------------------------------ registry */

static uint64_t name_hash(const char *name, size_t len)
{
    return XXH3_64bits(name, len);
}

/* The slot of |name|: its number + 1, or the empty slot where it would go. */
static size_t probe(const store *s, const char *name, size_t len)
{
    size_t i = (size_t)name_hash(name, len) & s->tenant_mask;
    for (;;) {
        uint32_t v = s->tenant_slots[i];
        if (v == 0)
            return i;
        const char *n = s->tenant_names[v - 1];
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return i;
        i = (i + 1) & s->tenant_mask;
    }
}

/* Adds |name| as number |id| in memory (|name| is copied). 0 or -1. */
static int remember(store *s, uint32_t id, const char *name, size_t len)
{
    if (id >= s->tenant_cap) {
        uint32_t ncap = s->tenant_cap ? s->tenant_cap * 2 : 16;
        while (ncap <= id)
            ncap *= 2;
        char **nn = realloc(s->tenant_names, ncap * sizeof(*nn));
        if (nn == NULL)
            return -1;
        memset(nn + s->tenant_cap, 0, (ncap - s->tenant_cap) * sizeof(*nn));
        s->tenant_names = nn;
        s->tenant_cap = ncap;
    }
    if ((size_t)(s->ntenants + 1) * 2 > s->tenant_mask + 1 || s->tenant_slots == NULL) {
        size_t nslots = s->tenant_slots ? (s->tenant_mask + 1) * 2 : 64;
        uint32_t *ns = calloc(nslots, sizeof(*ns));
        if (ns == NULL)
            return -1;
        uint32_t *old = s->tenant_slots;
        size_t oldn = old ? s->tenant_mask + 1 : 0;
        s->tenant_slots = ns;
        s->tenant_mask = nslots - 1;
        for (size_t i = 0; i < oldn; i++)
            if (old[i]) {
                const char *n = s->tenant_names[old[i] - 1];
                s->tenant_slots[probe(s, n, strlen(n))] = old[i];
            }
        free(old);
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, name, len);
    copy[len] = '\0';
    free(s->tenant_names[id]);
    s->tenant_names[id] = copy;
    if (id >= s->ntenants)
        s->ntenants = id + 1;
    s->tenant_slots[probe(s, name, len)] = id + 1;
    return 0;
}

static ottr_status load_registry(store *s, char *err, size_t errlen)
{
    if (remember(s, STORE_TENANT_DEFAULT, STORE_TENANT_DEFAULT_NAME,
                 strlen(STORE_TENANT_DEFAULT_NAME)) != 0) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[CF_META]);
    char lower = TENANT_ID_KEY;
    ottr_status st = OTTR_OK;
    for (rocksdb_iter_seek(it, &lower, 1); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen < 1 || k[0] != TENANT_ID_KEY)
            break;
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen != 5 || vlen == 0 || vlen > STORE_TENANT_NAME_MAX)
            continue;
        uint32_t id = be32_get(k + 1);
        if (id == STORE_TENANT_DEFAULT || id > STORE_TENANT_MAX)
            continue;
        if (remember(s, id, v, vlen) != 0) {
            st = OTTR_ERR_NOMEM;
            break;
        }
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    rocksdb_iter_destroy(it);
    if (e) {
        snprintf(err, errlen, "cannot read the tenants of store %s: %s", s->path, e);
        free(e);
        return OTTR_ERR_IO;
    }
    if (st != OTTR_OK)
        snprintf(err, errlen, "out of memory");
    return st;
}

ottr_status store_tenants_open(store *s, char *err, size_t errlen)
{
    if (s->legacy) {
        ottr_status st = migrate(s, err, errlen);
        if (st != OTTR_OK)
            return st;
    }
    return load_registry(s, err, errlen);
}

void store_tenants_free(store *s)
{
    for (uint32_t i = 0; i < s->tenant_cap; i++)
        free(s->tenant_names[i]);
    free(s->tenant_names);
    free(s->tenant_slots);
    s->tenant_names = NULL;
    s->tenant_slots = NULL;
    s->ntenants = s->tenant_cap = 0;
    pthread_mutex_destroy(&s->tenant_mu);
}

/* Persists a new tenant: both registry keys in one synced write. */
static ottr_status persist(store *s, uint32_t id, const char *name, size_t len)
{
    uint8_t ik[5], nk[1 + STORE_TENANT_NAME_MAX], idv[4];
    ik[0] = TENANT_ID_KEY;
    be32_put(ik + 1, id);
    nk[0] = TENANT_NAME_KEY;
    memcpy(nk + 1, name, len);
    be32_put(idv, id);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(wb, s->cf[CF_META], (const char *)ik, sizeof(ik), name, len);
    rocksdb_writebatch_put_cf(wb, s->cf[CF_META], (const char *)nk, 1 + len, (const char *)idv,
                              sizeof(idv));
    char *e = NULL;
    rocksdb_write(s->db, s->wo_sync, wb, &e);
    rocksdb_writebatch_destroy(wb);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "cannot record a new tenant: %s", e);
        free(e);
        return OTTR_ERR_IO;
    }
    return OTTR_OK;
}

ottr_status store_tenant_id(store *s, const char *name, size_t len, bool create, uint32_t *id)
{
    *id = STORE_TENANT_NONE;
    if (name == NULL || len == 0 || len > STORE_TENANT_NAME_MAX)
        return OTTR_ERR_INVALID;
    pthread_mutex_lock(&s->tenant_mu);
    ottr_status st = OTTR_OK;
    uint32_t v = s->tenant_slots[probe(s, name, len)];
    if (v != 0) {
        *id = v - 1;
    } else if (create) {
        uint32_t nid = s->ntenants;
        if (nid > STORE_TENANT_MAX)
            st = OTTR_ERR_TOO_LARGE;
        else
            st = persist(s, nid, name, len);
        if (st == OTTR_OK && remember(s, nid, name, len) != 0)
            st = OTTR_ERR_NOMEM;
        if (st == OTTR_OK) {
            *id = nid;
            OTTR_INFO(STORE_COMPONENT, "new tenant %.*s (number %u)", (int)len, name, nid);
        }
    }
    pthread_mutex_unlock(&s->tenant_mu);
    return st;
}

int store_tenant_name(store *s, uint32_t id, char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    out[0] = '\0';
    pthread_mutex_lock(&s->tenant_mu);
    int rc = -1;
    if (id < s->ntenants && s->tenant_names[id]) {
        snprintf(out, cap, "%s", s->tenant_names[id]);
        rc = 0;
    }
    pthread_mutex_unlock(&s->tenant_mu);
    return rc;
}
