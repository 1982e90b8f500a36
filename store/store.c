/* store/store.c - opens and closes the store: RocksDB options per column family,
 * the format marker and boot counter in `meta`, refusal of foreign or corrupt
 * directories, and the WAL sync thread of the interval policy. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/shim.h"

const char *const store_cf_names[CF_COUNT] = {
    "default", "meta", "pending", "traces", "summaries", "index", "tags", "edges",
};

uint64_t store_now_ns(const store *s)
{
    return s->opt.clock_ns ? s->opt.clock_ns() : ottr_now_ns();
}

pthread_mutex_t *store_keep_lock(store *s, const uint8_t tid[16])
{
    /* Trace IDs are random: a few bytes pick the stripe well enough. */
    unsigned h = (unsigned)tid[15] ^ (unsigned)tid[7] << 3 ^ (unsigned)tid[11] << 1;
    return &s->keep_locks[h % STORE_KEEP_STRIPES];
}

/* ------------------------------------------------------------------ options */

static rocksdb_block_based_table_options_t *table_options(store *s)
{
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(t, s->cache);
    /* The table options take ownership of the filter policy. */
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(t, 1);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks_with_high_priority(t, 1);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(t, 1);
    return t;
}

static rocksdb_options_t *family_options(store *s, int cf)
{
    rocksdb_options_t *o = rocksdb_options_create();
    /* lz4 everywhere; zstd only at the bottom of `traces`, where the bulk of
     * long-lived bytes sit. */
    rocksdb_options_set_compression(o, cf == CF_PENDING ? rocksdb_no_compression
                                                        : rocksdb_lz4_compression);
    rocksdb_options_set_bottommost_compression(o, cf == CF_TRACES    ? rocksdb_zstd_compression
                                                  : cf == CF_PENDING ? rocksdb_no_compression
                                                                     : rocksdb_lz4_compression);
    /* Leveled families only: index and tags compact size-tiered (below). */
    if (cf != CF_INDEX && cf != CF_TAGS)
        rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
    rocksdb_block_based_table_options_t *t = table_options(s);
    rocksdb_options_set_block_based_table_factory(o, t);
    rocksdb_block_based_options_destroy(t);

    size_t wbuf = 16u << 20;
    switch (cf) {
    case CF_PENDING:
        /* Only read at start-up, when a store of an earlier version left
         * records here: they move into the pending log (store/pending.c). */
        wbuf = 4u << 20;
        break;
    case CF_TRACES:
        rocksdb_options_set_prefix_extractor(
            o, rocksdb_slicetransform_create_fixed_prefix(TRACE_KEY_LEN));
        rocksdb_options_set_memtable_prefix_bloom_size_ratio(o, 0.05);
        wbuf = 64u << 20;
        /* Chunks go to blob files when their memtable is flushed: compactions
         * then move 24-byte keys and blob references instead of rewriting
         * every chunk at each level. A blob file goes once retention has
         * dropped every key that refers to it: its chunks arrived within one
         * flush, so they expire together. No garbage collection, which would
         * read and rewrite the oldest files' chunks at every compaction (keys
         * are random trace IDs, so every compaction reaches every file). */
        rocksdb_options_set_enable_blob_files(o, 1);
        rocksdb_options_set_min_blob_size(o, 256);
        rocksdb_options_set_blob_file_size(o, 128u << 20);
        rocksdb_options_set_blob_compression_type(o, rocksdb_lz4_compression);
        rocksdb_options_set_enable_blob_gc(o, 0);
        rocksdb_options_set_blob_cache(o, s->cache);
        break;
    case CF_SUMMARIES:
        rocksdb_options_set_prefix_extractor(
            o, rocksdb_slicetransform_create_fixed_prefix(TRACE_KEY_LEN));
        wbuf = 32u << 20;
        break;
    case CF_INDEX:
        wbuf = 32u << 20;
        break;
    case CF_EDGES:
        rocksdb_options_set_merge_operator(o, store_graph_merge_operator_create());
        break;
    default:
        wbuf = 4u << 20;
        break;
    }
    rocksdb_options_set_write_buffer_size(o, wbuf);
    if (cf == CF_INDEX || cf == CF_TAGS) {
        /* Large keeps ingest small files here, each spanning every term: with
         * levels, each merge of new files rewrote the whole level below (as much
         * written as `pending` itself, and growing with the index). Size-tiered
         * (universal) compaction merges runs of similar size instead. A count
         * of files that is ordinary here does not slow writes down. */
        rocksdb_options_set_compaction_style(o, rocksdb_universal_compaction);
        rocksdb_options_set_level0_file_num_compaction_trigger(o, 24);
        rocksdb_options_set_level0_slowdown_writes_trigger(o, 64);
        rocksdb_options_set_level0_stop_writes_trigger(o, 96);
    }
    if (store_retention_install(s, o, cf) != 0) {
        rocksdb_options_destroy(o);
        return NULL;
    }
    return o;
}

static int build_options(store *s)
{
    /* One bound for RocksDB's memory: memtables reserve their bytes in the block
     * cache, so blocks use what memtables leave (store_rocks_charge_memtables). */
    s->cache = rocksdb_cache_create_lru((size_t)(s->opt.block_cache_bytes + s->opt.memtable_bytes));
    s->logger = store_rocks_logger_create(ottr_log_get_level() == OTTR_LOG_DEBUG);
    if (s->cache == NULL || s->logger == NULL)
        return -1;

    rocksdb_options_t *o = rocksdb_options_create();
    s->dbopt = o;
    if (store_rocks_manual_nospace_recovery(o) != 0)
        return -1;
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    rocksdb_options_increase_parallelism(o, 2);
    rocksdb_options_set_info_log(o, s->logger);
    rocksdb_options_set_max_total_wal_size(o, 512ull << 20);
    if (store_rocks_charge_memtables(o, s->cache, (size_t)s->opt.memtable_bytes) != 0)
        return -1;
    rocksdb_options_enable_statistics(o);
    rocksdb_options_set_stats_dump_period_sec(o, 0);
    for (int i = 0; i < CF_COUNT; i++) {
        s->fctx[i].s = s;
        s->fctx[i].cf = i;
        s->cfopt[i] = family_options(s, i);
        if (s->cfopt[i] == NULL)
            return -1;
    }

    s->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wo, s->opt.sync == STORE_SYNC_ALWAYS);
    s->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wo_sync, 1);
    s->ro = rocksdb_readoptions_create();
    return 0;
}

/* ------------------------------------------------------------------ checks */

static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf)) {
        snprintf(err, errlen, "bad data directory path");
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create data directory %s: %s", buf, strerror(errno));
            return -1;
        }
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", path);
        return -1;
    }
    if (access(path, R_OK | W_OK | X_OK) != 0) {
        snprintf(err, errlen, "data directory %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static bool file_exists(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0;
}

/* True when |dir| holds RocksDB files (a MANIFEST or tables) without CURRENT. */
static bool has_rocksdb_leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "MANIFEST-", 9) == 0 ||
            (n > 4 && strcmp(e->d_name + n - 4, ".sst") == 0)) {
            found = true;
            break;
        }
    }
    closedir(d);
    return found;
}

/* Maps a RocksDB open error to a status and a message for the operator. */
static ottr_status open_error(const char *path, const char *msg, bool existed, char *err,
                              size_t errlen)
{
    if (strstr(msg, "LOCK") || strstr(msg, "lock hold")) {
        snprintf(err, errlen, "%s is already in use by another ottrd (%s)", path, msg);
        return OTTR_ERR_IO;
    }
    if (strstr(msg, "Permission denied")) {
        snprintf(err, errlen, "cannot open store %s: %s", path, msg);
        return OTTR_ERR_IO;
    }
    if (strncmp(msg, "Corruption", 10) == 0 || (existed && strstr(msg, "No such file"))) {
        snprintf(err, errlen, "store %s is corrupt: %s", path, msg);
        return OTTR_ERR_CORRUPT;
    }
    snprintf(err, errlen, "cannot open store %s: %s", path, msg);
    return OTTR_ERR_IO;
}

static int cf_index(const char *name)
{
    for (int i = 0; i < CF_COUNT; i++)
        if (strcmp(store_cf_names[i], name) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------------ meta */

static bool meta_is_empty(store *s)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[CF_META]);
    rocksdb_iter_seek_to_first(it);
    bool empty = !rocksdb_iter_valid(it);
    rocksdb_iter_destroy(it);
    return empty;
}

static ottr_status check_marker(store *s, bool existed, char *err, size_t errlen)
{
    char *e = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get_cf(s->db, s->ro, s->cf[CF_META], STORE_FORMAT_KEY,
                             strlen(STORE_FORMAT_KEY), &vlen, &e);
    if (e) {
        snprintf(err, errlen, "cannot read store %s: %s", s->path, e);
        free(e);
        return OTTR_ERR_IO;
    }
    if (v == NULL) {
        /* A new store, or one whose creation stopped before the marker was
         * written (its meta family is still empty). */
        if (existed && !meta_is_empty(s)) {
            snprintf(err, errlen, "%s is not an Ottr data directory (no format marker)", s->path);
            return OTTR_ERR_CORRUPT;
        }
        rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
        rocksdb_writeoptions_set_sync(wo, 1);
        rocksdb_put_cf(s->db, wo, s->cf[CF_META], STORE_FORMAT_KEY, strlen(STORE_FORMAT_KEY),
                       STORE_FORMAT_VALUE, strlen(STORE_FORMAT_VALUE), &e);
        rocksdb_writeoptions_destroy(wo);
        if (e) {
            snprintf(err, errlen, "cannot initialize store %s: %s", s->path, e);
            free(e);
            return OTTR_ERR_IO;
        }
        return OTTR_OK;
    }
    bool ok = vlen == strlen(STORE_FORMAT_VALUE) && memcmp(v, STORE_FORMAT_VALUE, vlen) == 0;
    if (!ok && vlen == strlen(STORE_FORMAT_V1) && memcmp(v, STORE_FORMAT_V1, vlen) == 0)
        ok = s->legacy = true; /* keys without tenant: migrated by store_tenants_open */
    if (!ok)
        snprintf(err, errlen, "%s holds an unsupported store format \"%.*s\" (want %s)", s->path,
                 (int)(vlen > 64 ? 64 : vlen), v, STORE_FORMAT_VALUE);
    rocksdb_free(v);
    return ok ? OTTR_OK : OTTR_ERR_CORRUPT;
}

/* Increments the persisted boot counter (fsynced): logged at open, it tells
 * one life of the store from the next. */
static ottr_status bump_boot(store *s, char *err, size_t errlen)
{
    char *e = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get_cf(s->db, s->ro, s->cf[CF_META], STORE_BOOT_KEY, strlen(STORE_BOOT_KEY),
                             &vlen, &e);
    if (e) {
        snprintf(err, errlen, "cannot read store %s: %s", s->path, e);
        free(e);
        return OTTR_ERR_IO;
    }
    uint32_t boot = 0;
    if (v && vlen == 4)
        boot = be32_get(v);
    rocksdb_free(v);
    boot++;
    uint8_t b[4];
    be32_put(b, boot);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(wo, 1);
    rocksdb_put_cf(s->db, wo, s->cf[CF_META], STORE_BOOT_KEY, strlen(STORE_BOOT_KEY),
                   (const char *)b, 4, &e);
    rocksdb_writeoptions_destroy(wo);
    if (e) {
        snprintf(err, errlen, "cannot write store %s: %s", s->path, e);
        free(e);
        return OTTR_ERR_IO;
    }
    s->boot = boot;
    return OTTR_OK;
}

/* ------------------------------------------------------------------ sync thread */

/* Makes every acknowledged write durable: an empty WriteBatch written with
 * sync=true fdatasyncs the WAL. (rocksdb_flush_wal would sync a WAL file whose
 * last append failed, which RocksDB builds with assertions abort on; a write is
 * refused up front while RocksDB holds a background error.) Returns 0 or -1. */
int store_sync_wal(store *s, char *err, size_t errlen)
{
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    char *e = NULL;
    rocksdb_write(s->db, s->wo_sync, wb, &e);
    rocksdb_writebatch_destroy(wb);
    if (e) {
        snprintf(err, errlen, "%s", e);
        free(e);
        return -1;
    }
    return 0;
}

static void *sync_main(void *arg)
{
    store *s = arg;
    pthread_setname_np(pthread_self(), "ottr-sync");
    uint64_t interval = s->opt.sync_interval_ns;
    uint64_t last_warn = 0;
    pthread_mutex_lock(&s->sync_mu);
    while (!s->sync_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + interval;
        ts.tv_sec += (time_t)(ns / NS_PER_SEC);
        ts.tv_nsec = (long)(ns % NS_PER_SEC);
        while (!s->sync_stop && pthread_cond_timedwait(&s->sync_cv, &s->sync_mu, &ts) == 0) {
        }
        if (s->sync_stop)
            break;
        pthread_mutex_unlock(&s->sync_mu);
        char msg[256];
        if (atomic_exchange(&s->unsynced, 0) != 0 && store_sync_wal(s, msg, sizeof(msg)) != 0) {
            atomic_store(&s->unsynced, 1); /* try again next time */
            uint64_t now = ottr_mono_ns();
            if (now - last_warn > 10000000000ull) {
                OTTR_WARN(STORE_COMPONENT, "WAL sync failed: %s", msg);
                last_warn = now;
            }
        }
        if (store_plog_sync(s) != 0) {
            uint64_t now = ottr_mono_ns();
            if (now - last_warn > 10000000000ull) {
                OTTR_WARN(STORE_COMPONENT, "pending log sync failed");
                last_warn = now;
            }
        }
        pthread_mutex_lock(&s->sync_mu);
    }
    pthread_mutex_unlock(&s->sync_mu);
    return NULL;
}

static int start_sync_thread(store *s)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->sync_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    if (pthread_create(&s->sync_thread, NULL, sync_main, s) != 0) {
        pthread_cond_destroy(&s->sync_cv);
        return -1;
    }
    s->sync_started = true;
    return 0;
}

static void stop_sync_thread(store *s)
{
    if (!s->sync_started)
        return;
    pthread_mutex_lock(&s->sync_mu);
    s->sync_stop = true;
    pthread_cond_signal(&s->sync_cv);
    pthread_mutex_unlock(&s->sync_mu);
    pthread_join(s->sync_thread, NULL);
    pthread_cond_destroy(&s->sync_cv);
    s->sync_started = false;
}

/* ------------------------------------------------------------------ open / close */

static void store_free(store *s)
{
    if (s->db) {
        for (int i = 0; i < CF_COUNT; i++)
            if (s->cf[i])
                rocksdb_column_family_handle_destroy(s->cf[i]);
        for (int i = 0; i < s->nxcf; i++)
            if (s->xcf[i])
                rocksdb_column_family_handle_destroy(s->xcf[i]);
        rocksdb_close(s->db);
    }
    store_plog_close(s);
    free(s->xcf);
    store_tenants_free(s);
    free(s->tag_cache);
    free(s->ingest_dir);
    for (int i = 0; i < CF_COUNT; i++)
        if (s->cfopt[i])
            rocksdb_options_destroy(s->cfopt[i]);
    if (s->dbopt)
        rocksdb_options_destroy(s->dbopt);
    if (s->wo)
        rocksdb_writeoptions_destroy(s->wo);
    if (s->wo_sync)
        rocksdb_writeoptions_destroy(s->wo_sync);
    if (s->ro)
        rocksdb_readoptions_destroy(s->ro);
    if (s->cache)
        rocksdb_cache_destroy(s->cache);
    if (s->logger)
        store_rocks_logger_destroy(s->logger);
    for (int i = 0; i < STORE_KEEP_STRIPES; i++)
        pthread_mutex_destroy(&s->keep_locks[i]);
    store_keep_scratch_free(s->keep_scratch);
    pthread_mutex_destroy(&s->keep_scratch_mu);
    pthread_mutex_destroy(&s->sync_mu);
    free(s->path);
    free(s);
}

/* Lists the families of an existing store and checks they are ours. Fills
 * |names| (owned by RocksDB: free with rocksdb_list_column_families_destroy). */
static ottr_status list_families(store *s, char ***names, size_t *n, char *err, size_t errlen)
{
    char *e = NULL;
    *names = rocksdb_list_column_families(s->dbopt, s->path, n, &e);
    if (e) {
        ottr_status st = open_error(s->path, e, true, err, errlen);
        free(e);
        if (*names) /* an empty array, even on error */
            rocksdb_list_column_families_destroy(*names, *n);
        *names = NULL;
        return st;
    }
    bool has_meta = false;
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*names)[i], "meta") == 0)
            has_meta = true;
    if (has_meta)
        return OTTR_OK;
    char found[512];
    size_t off = 0;
    found[0] = '\0';
    for (size_t i = 0; i < *n && off < sizeof(found) - 1; i++) {
        int w = snprintf(found + off, sizeof(found) - off, "%s%s", i ? ", " : "", (*names)[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    snprintf(err, errlen, "%s is not an Ottr data directory (found column families: %s)", s->path,
             found);
    rocksdb_list_column_families_destroy(*names, *n);
    *names = NULL;
    return OTTR_ERR_CORRUPT;
}

static ottr_status open_db(store *s, bool existed, char *err, size_t errlen)
{
    char **listed = NULL;
    size_t nlisted = 0;
    if (existed) {
        ottr_status st = list_families(s, &listed, &nlisted, err, errlen);
        if (st != OTTR_OK)
            return st;
    }
    /* Our families first, then any family a newer format added. */
    int nextra = 0;
    for (size_t i = 0; i < nlisted; i++)
        if (cf_index(listed[i]) < 0)
            nextra++;
    int total = CF_COUNT + nextra;
    const char **names = calloc((size_t)total, sizeof(*names));
    const rocksdb_options_t **opts = calloc((size_t)total, sizeof(*opts));
    rocksdb_column_family_handle_t **handles = calloc((size_t)total, sizeof(*handles));
    if (nextra)
        s->xcf = calloc((size_t)nextra, sizeof(*s->xcf));
    if (!names || !opts || !handles || (nextra && !s->xcf)) {
        free(names);
        free(opts);
        free(handles);
        if (listed)
            rocksdb_list_column_families_destroy(listed, nlisted);
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    for (int i = 0; i < CF_COUNT; i++) {
        names[i] = store_cf_names[i];
        opts[i] = s->cfopt[i];
    }
    int k = CF_COUNT;
    for (size_t i = 0; i < nlisted; i++) {
        if (cf_index(listed[i]) >= 0)
            continue;
        names[k] = listed[i];
        opts[k] = s->cfopt[CF_DEFAULT];
        k++;
    }
    char *e = NULL;
    s->db = rocksdb_open_column_families(s->dbopt, s->path, total, names, opts, handles, &e);
    ottr_status st = OTTR_OK;
    if (e) {
        st = open_error(s->path, e, existed, err, errlen);
        free(e);
        s->db = NULL;
    } else {
        for (int i = 0; i < CF_COUNT; i++)
            s->cf[i] = handles[i];
        for (int i = 0; i < nextra; i++)
            s->xcf[i] = handles[CF_COUNT + i];
        s->nxcf = nextra;
        if (nextra)
            OTTR_WARN(STORE_COMPONENT, "%s has %d column families this version does not use",
                      s->path, nextra);
    }
    free(names);
    free(opts);
    free(handles);
    if (listed)
        rocksdb_list_column_families_destroy(listed, nlisted);
    return st;
}

ottr_status store_open(const store_options *o, store **out, char *err, size_t errlen)
{
    char dummy[8];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    *out = NULL;
    if (o == NULL || o->path == NULL || o->path[0] == '\0') {
        snprintf(err, errlen, "no data directory given");
        return OTTR_ERR_INVALID;
    }
    if (o->max_trace_bytes == 0 || o->block_cache_bytes == 0 || o->memtable_bytes == 0 ||
        (o->sync == STORE_SYNC_INTERVAL && o->sync_interval_ns == 0)) {
        snprintf(err, errlen, "store options: a size or the sync interval is 0");
        return OTTR_ERR_INVALID;
    }
    store *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    s->path = strdup(o->path);
    for (int i = 0; i < STORE_KEEP_STRIPES; i++)
        pthread_mutex_init(&s->keep_locks[i], NULL);
    pthread_mutex_init(&s->sync_mu, NULL);
    pthread_mutex_init(&s->keep_scratch_mu, NULL);
    pthread_mutex_init(&s->tenant_mu, NULL);
    s->tag_cache = calloc(TAG_CACHE_SLOTS, sizeof(*s->tag_cache));
    if (s->path == NULL || s->tag_cache == NULL) {
        store_free(s);
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    s->opt = *o;
    s->opt.path = s->path;

    if (mkdir_p(s->path, err, errlen) != 0) {
        store_free(s);
        return OTTR_ERR_IO;
    }
    bool existed = file_exists(s->path, "CURRENT");
    if (!existed && has_rocksdb_leftovers(s->path)) {
        snprintf(err, errlen, "store %s is corrupt: RocksDB files without a CURRENT file", s->path);
        store_free(s);
        return OTTR_ERR_CORRUPT;
    }
    if (build_options(s) != 0) {
        snprintf(err, errlen, "out of memory");
        store_free(s);
        return OTTR_ERR_NOMEM;
    }
    ottr_status st = open_db(s, existed, err, errlen);
    if (st == OTTR_OK)
        st = check_marker(s, existed, err, errlen);
    if (st == OTTR_OK)
        st = store_tenants_open(s, err, errlen);
    if (st == OTTR_OK)
        st = bump_boot(s, err, errlen);
    if (st == OTTR_OK) /* with RocksDB's lock held: another ottrd's files are not ours */
        st = store_ingest_dir_prepare(s, err, errlen);
    if (st == OTTR_OK)
        st = store_plog_open(s, err, errlen);
    if (st == OTTR_OK) {
        store_postings_seed(s);
        st = store_index_migrate(s);
        if (st != OTTR_OK)
            snprintf(err, errlen, "store %s: moving the index to this version's layout failed",
                     s->path);
    }
    if (st == OTTR_OK && s->opt.sync == STORE_SYNC_INTERVAL && start_sync_thread(s) != 0) {
        snprintf(err, errlen, "cannot start the WAL sync thread");
        st = OTTR_ERR_INTERNAL;
    }
    if (st != OTTR_OK) {
        store_free(s);
        return st;
    }
    OTTR_INFO(STORE_COMPONENT, "store %s open (boot %u, sync %s)", s->path, s->boot,
              s->opt.sync == STORE_SYNC_ALWAYS     ? "always"
              : s->opt.sync == STORE_SYNC_INTERVAL ? "interval"
                                                   : "none");
    *out = s;
    return OTTR_OK;
}

uint64_t store_max_trace_bytes(const store *s)
{
    return s->opt.max_trace_bytes;
}

void store_close(store *s)
{
    if (s == NULL)
        return;
    stop_sync_thread(s);
    store_plog_close(s);
    if (s->db && !atomic_load(&s->failing)) {
        /* Memtables written out now make the next start quick (no WAL replay);
         * the WAL sync covers whatever a failed flush leaves. */
        char msg[256];
        if (store_sync_wal(s, msg, sizeof(msg)) != 0)
            OTTR_WARN(STORE_COMPONENT, "WAL sync at close failed: %s", msg);
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        rocksdb_flushoptions_set_wait(fo, 1);
        for (int i = CF_META; i < CF_COUNT; i++) {
            char *e = NULL;
            rocksdb_flush_cf(s->db, fo, s->cf[i], &e);
            if (e) {
                OTTR_WARN(STORE_COMPONENT, "flush of %s at close failed: %s", store_cf_names[i], e);
                free(e);
                break;
            }
        }
        rocksdb_flushoptions_destroy(fo);
    }
    if (s->db)
        rocksdb_cancel_all_background_work(s->db, 1);
    store_free(s);
}
