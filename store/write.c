/* store/write.c - the single write path: injected failures for tests, the failing
 * flag the receivers consult, error counting and recovery from RocksDB's
 * background-error state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "store/internal.h"
#include "store/shim.h"

/* A failed write leaves RocksDB in a background-error state that refuses every
 * later write. The store asks it to resume, at most this often, as failed writes
 * come in; after a full disk only once opt.disk_reserve_bytes are free (RocksDB's
 * own recovery from a full disk, which waits for 64 MiB, is off: store/shim.h). */
#define RESUME_INTERVAL_NS NS_PER_SEC

static void note_failure(store *s, const char *msg)
{
    atomic_fetch_add(&s->write_errors, 1);
    if (!atomic_exchange(&s->failing, true))
        OTTR_ERROR(STORE_COMPONENT, "store writes failing: %s", msg);
}

bool store_reserve_free(store *s)
{
    struct statvfs fs;
    if (statvfs(s->path, &fs) != 0)
        return true; /* cannot tell: let the write say */
    uint64_t avail = (uint64_t)fs.f_bavail * fs.f_frsize;
    if (avail >= s->opt.disk_reserve_bytes)
        return true;
    OTTR_DEBUG(STORE_COMPONENT, "store writes wait: %llu bytes free, store.disk_reserve is %llu",
               (unsigned long long)avail, (unsigned long long)s->opt.disk_reserve_bytes);
    return false;
}

static void try_resume(store *s)
{
    uint64_t now = ottr_mono_ns();
    uint64_t last = atomic_load(&s->last_resume_ns);
    if (now - last < RESUME_INTERVAL_NS ||
        !atomic_compare_exchange_strong(&s->last_resume_ns, &last, now))
        return;
    if (!store_reserve_free(s))
        return;
    char msg[256];
    if (store_rocks_resume(s->db, msg, sizeof(msg)) != 0)
        OTTR_DEBUG(STORE_COMPONENT, "store resume: %s", msg);
}

void store_write_failed(store *s, const char *msg, bool rocks)
{
    note_failure(s, msg);
    if (rocks)
        try_resume(s);
}

void store_write_succeeded(store *s)
{
    if (atomic_load(&s->failing) && atomic_exchange(&s->failing, false))
        OTTR_INFO(STORE_COMPONENT, "store writes resumed");
}

ottr_status store_write(store *s, rocksdb_writebatch_t *b, char *err, size_t errlen)
{
    if (atomic_load(&s->inject_error)) {
        note_failure(s, "injected write error");
        if (err)
            snprintf(err, errlen, "injected write error");
        return OTTR_ERR_IO;
    }
    char *e = NULL;
    store_perf_off();
    rocksdb_write(s->db, s->wo, b, &e);
    if (e) {
        if (err)
            snprintf(err, errlen, "%s", e);
        store_write_failed(s, e, true);
        free(e);
        return OTTR_ERR_IO;
    }
    if (s->opt.sync == STORE_SYNC_INTERVAL)
        atomic_fetch_add(&s->unsynced, 1);
    store_write_succeeded(s);
    return OTTR_OK;
}

bool store_write_failing(store *s)
{
    return s && atomic_load(&s->failing);
}

void store_inject_write_error(store *s, bool on)
{
    atomic_store(&s->inject_error, on);
}
