/* store/retention.c - compaction filters that drop records older than the
 * retention, reading the timestamp each family carries: arrival second in
 * pending and traces keys, last arrival in summaries values, ~start second in
 * index keys (or the arrival second in their value, for traces that started far
 * from their arrival: far-past and far-future spans expire with their data, by
 * arrival), last-seen second in tags values, minute (or hour) in edges keys.
 * `traces` is judged by key alone (store/rocks_shim.cc): its values sit in blob
 * files, which a filter that looks at values would make every compaction read. */
#include <stdlib.h>

#include "store/internal.h"
#include "store/shim.h"

typedef struct filter_state {
    int cf;
    uint32_t cutoff; /* fixed for one compaction */
} filter_state;

uint32_t store_retention_cutoff_sec(const store *s)
{
    if (s->opt.retention_ns == 0)
        return 0;
    uint64_t now = store_now_ns(s);
    if (now <= s->opt.retention_ns)
        return 0;
    uint64_t sec = (now - s->opt.retention_ns) / NS_PER_SEC;
    return sec > UINT32_MAX ? UINT32_MAX : (uint32_t)sec;
}

/* The second a record belongs to, or 0 when it cannot be told (kept). For
 * buckets, the second the bucket ends. */
static uint64_t record_sec(int cf, const char *k, size_t klen, const char *v, size_t vlen)
{
    switch (cf) {
    case CF_PENDING:
        return klen == PENDING_KEY_LEN || klen == PENDING_LEGACY_KEY_LEN ? be32_get(k) : 0;
    case CF_TRACES:
        return klen == TRACES_KEY_LEN ? be32_get(k + TRACE_KEY_LEN) : 0;
    case CF_SUMMARIES:
        return store_summary_value_sec((const uint8_t *)v, vlen);
    case CF_INDEX:
        /* Posting lists, and keys of earlier versions with an arrival second. */
        if (vlen >= 4)
            return be32_get(v);
        /* Earlier versions: the start second in the key. */
        return klen > LEGACY_INDEX_SUFFIX_LEN ? ~be32_get(k + klen - LEGACY_INDEX_SUFFIX_LEN) : 0;
    case CF_TAGS:
        return vlen == 4 ? be32_get(v) : 0;
    case CF_EDGES: {
        if (klen < GRAPH_KEY_HEAD)
            return 0;
        uint32_t m = be32_get(k + TENANT_KEY_LEN);
        if (m & GRAPH_HOUR_FLAG)
            return ((uint64_t)(m & ~GRAPH_HOUR_FLAG) + 1) * 3600;
        return ((uint64_t)m + 1) * 60;
    }
    default:
        return 0;
    }
}

static unsigned char filter(void *arg, int level, const char *key, size_t klen, const char *val,
                            size_t vlen, char **new_value, size_t *new_value_length,
                            unsigned char *value_changed)
{
    (void)level;
    (void)new_value;
    (void)new_value_length;
    *value_changed = 0;
    filter_state *f = arg;
    if (f->cutoff == 0)
        return 0;
    uint64_t sec = record_sec(f->cf, key, klen, val, vlen);
    return sec != 0 && sec < f->cutoff;
}

static const char *filter_name(void *arg)
{
    (void)arg;
    return "ottr.retention";
}

static rocksdb_compactionfilter_t *factory_create(void *arg, rocksdb_compactionfiltercontext_t *ctx)
{
    (void)ctx;
    store_filter_ctx *fc = arg;
    filter_state *f = malloc(sizeof(*f));
    if (f == NULL)
        return NULL;
    f->cf = fc->cf;
    f->cutoff = store_retention_cutoff_sec(fc->s);
    return rocksdb_compactionfilter_create(f, free, filter, filter_name);
}

static void factory_destroy(void *arg)
{
    (void)arg; /* the state lives in the store */
}

static const char *factory_name(void *arg)
{
    (void)arg;
    return "ottr.retention.factory";
}

static uint32_t key_cutoff(void *arg)
{
    store_filter_ctx *fc = arg;
    return store_retention_cutoff_sec(fc->s);
}

static int key_expired(void *arg, uint32_t cutoff, const char *k, size_t klen)
{
    store_filter_ctx *fc = arg;
    uint64_t sec = record_sec(fc->cf, k, klen, NULL, 0);
    return sec != 0 && sec < cutoff;
}

int store_retention_install(store *s, rocksdb_options_t *o, int cf)
{
    if (cf < CF_PENDING || cf >= CF_COUNT)
        return 0;
    if (cf == CF_TRACES)
        return store_rocks_key_filter(o, key_cutoff, key_expired, &s->fctx[cf]);
    rocksdb_compactionfilterfactory_t *f = rocksdb_compactionfilterfactory_create(
        &s->fctx[cf], factory_destroy, factory_create, factory_name);
    if (f == NULL)
        return -1;
    rocksdb_options_set_compaction_filter_factory(o, f);
    return 0;
}
