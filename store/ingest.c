/* store/ingest.c - writes sorted keys of one family into an SST file in the
 * ingest directory (<data dir>/ingest) and ingests it, bypassing the memtable:
 * how a large keep writes its index keys and tag entries. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"

#define INGEST_DIR "ingest"

struct store_sst {
    store *s;
    int cf;
    rocksdb_envoptions_t *env;
    rocksdb_sstfilewriter_t *w;
    uint64_t nkeys;
    bool failed; /* an add failed: the file is only removed */
    char path[];
};

ottr_status store_ingest_dir_prepare(store *s, char *err, size_t errlen)
{
    size_t n = strlen(s->path) + sizeof("/" INGEST_DIR);
    s->ingest_dir = malloc(n);
    if (s->ingest_dir == NULL) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    snprintf(s->ingest_dir, n, "%s/" INGEST_DIR, s->path);
    if (mkdir(s->ingest_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", s->ingest_dir, strerror(errno));
        return OTTR_ERR_IO;
    }
    DIR *d = opendir(s->ingest_dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", s->ingest_dir, strerror(errno));
        return OTTR_ERR_IO;
    }
    /* Files of an ingest a crash interrupted: their keys are written again when
     * the keep is redone from pending. */
    ottr_status st = OTTR_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT) {
            snprintf(err, errlen, "cannot remove %s/%s: %s", s->ingest_dir, e->d_name,
                     strerror(errno));
            st = OTTR_ERR_IO;
            break;
        }
    }
    closedir(d);
    return st;
}

void store_sst_discard(store_sst *f)
{
    if (f == NULL)
        return;
    if (f->w)
        rocksdb_sstfilewriter_destroy(f->w);
    if (f->env)
        rocksdb_envoptions_destroy(f->env);
    if (unlink(f->path) != 0 && errno != ENOENT)
        OTTR_WARN(STORE_COMPONENT, "cannot remove %s: %s", f->path, strerror(errno));
    free(f);
}

ottr_status store_sst_create(store *s, int cf, store_sst **out)
{
    *out = NULL;
    size_t n = strlen(s->ingest_dir) + 64;
    store_sst *f = calloc(1, sizeof(*f) + n);
    if (f == NULL)
        return OTTR_ERR_NOMEM;
    f->s = s;
    f->cf = cf;
    snprintf(f->path, n, "%s/%08x-%08x-%s.sst", s->ingest_dir, s->boot,
             atomic_fetch_add(&s->ingest_seq, 1), store_cf_names[cf]);
    /* The family's own options: same table format, filters and comparator as
     * the files its memtable flushes produce. */
    f->env = rocksdb_envoptions_create();
    f->w = f->env ? rocksdb_sstfilewriter_create(f->env, s->cfopt[cf]) : NULL;
    if (f->w == NULL) {
        store_sst_discard(f);
        return OTTR_ERR_NOMEM;
    }
    char *e = NULL;
    rocksdb_sstfilewriter_open(f->w, f->path, &e);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "cannot create %s: %s", f->path, e);
        free(e);
        store_sst_discard(f);
        return OTTR_ERR_IO;
    }
    *out = f;
    return OTTR_OK;
}

static ottr_status add_result(store_sst *f, char *e)
{
    if (e == NULL) {
        f->nkeys++;
        return OTTR_OK;
    }
    OTTR_ERROR(STORE_COMPONENT, "writing %s failed: %s", f->path, e);
    free(e);
    f->failed = true;
    return OTTR_ERR_IO;
}

ottr_status store_sst_put(store_sst *f, const void *key, size_t klen, const void *val, size_t vlen)
{
    char *e = NULL;
    rocksdb_sstfilewriter_put(f->w, key, klen, val, vlen, &e);
    return add_result(f, e);
}

ottr_status store_sst_delete(store_sst *f, const void *key, size_t klen)
{
    char *e = NULL;
    rocksdb_sstfilewriter_delete(f->w, key, klen, &e);
    return add_result(f, e);
}

/* The ingest would flush an overlapping memtable itself while holding every
 * writer back (appends too): flushed here first, without that. */
static void flush_if_needed(store *s, int cf)
{
    uint64_t active = 0, imm = 0;
    if (rocksdb_property_int_cf(s->db, s->cf[cf], "rocksdb.num-entries-active-mem-table",
                                &active) != 0 ||
        rocksdb_property_int_cf(s->db, s->cf[cf], "rocksdb.num-entries-imm-mem-tables", &imm) !=
            0 ||
        active + imm == 0)
        return;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    if (fo == NULL)
        return;
    rocksdb_flushoptions_set_wait(fo, 1);
    char *e = NULL;
    rocksdb_flush_cf(s->db, fo, s->cf[cf], &e);
    rocksdb_flushoptions_destroy(fo);
    if (e) {
        /* The ingest flushes itself, or reports the error. */
        OTTR_DEBUG(STORE_COMPONENT, "flush of %s before an ingest: %s", store_cf_names[cf], e);
        free(e);
    }
}

static ottr_status ingest_one(store_sst *f, const rocksdb_ingestexternalfileoptions_t *io)
{
    store *s = f->s;
    char *e = NULL;
    if (f->failed)
        return OTTR_ERR_IO;
    if (f->nkeys == 0)
        return OTTR_OK; /* nothing to ingest (RocksDB refuses empty files) */
    rocksdb_sstfilewriter_finish(f->w, &e);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "writing %s failed: %s", f->path, e);
        free(e);
        return OTTR_ERR_IO;
    }
    if (atomic_load(&s->inject_error)) {
        store_write_failed(s, "injected ingest error", false);
        return OTTR_ERR_IO;
    }
    flush_if_needed(s, f->cf);
    const char *files[1] = {f->path};
    rocksdb_ingest_external_file_cf(s->db, s->cf[f->cf], files, 1, io, &e);
    if (e) {
        char msg[512];
        snprintf(msg, sizeof(msg), "ingest into %s: %s", store_cf_names[f->cf], e);
        free(e);
        store_write_failed(s, msg, true);
        return OTTR_ERR_IO;
    }
    store_write_succeeded(s);
    return OTTR_OK;
}

ottr_status store_sst_ingest(store_sst **files, size_t n)
{
    rocksdb_ingestexternalfileoptions_t *io = rocksdb_ingestexternalfileoptions_create();
    ottr_status st = io ? OTTR_OK : OTTR_ERR_NOMEM;
    if (io) {
        /* Moved (hard-linked), not copied; given a sequence number above every
         * write before it; an overlapping memtable is flushed first. */
        rocksdb_ingestexternalfileoptions_set_move_files(io, 1);
        rocksdb_ingestexternalfileoptions_set_allow_global_seqno(io, 1);
        rocksdb_ingestexternalfileoptions_set_allow_blocking_flush(io, 1);
    }
    for (size_t i = 0; i < n && st == OTTR_OK; i++)
        st = ingest_one(files[i], io);
    for (size_t i = 0; i < n; i++)
        store_sst_discard(files[i]);
    if (io)
        rocksdb_ingestexternalfileoptions_destroy(io);
    return st;
}
