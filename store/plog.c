/* store/plog.c - the pending log: the files where acknowledged requests wait
 * for their traces' decisions, outside RocksDB.
 *
 * One append-only file per arrival second, <data>/pending/<sec>.log, holding
 * records
 *   magic(4) | payload_len(4) | xxh3_64(payload)(8) | payload
 * (big-endian, like every key); a record is named by (sec, offset). Appends are one
 * pwritev each, serialized by one mutex (the copy into the page cache is the
 * whole cost); a write that fails is cut off again. The interval sync thread
 * fdatasyncs the files written since its last pass (sync: always does it after
 * each append). Keeps read records back with pread; start-up scans every file
 * in second order, skipping a torn or damaged record by searching for the next
 * valid header; a file is removed whole once every trace of its second is
 * decided. Pending bytes thus never pass through memtables, flushes or
 * compactions: they are written once and read at most once more. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "store/internal.h"

#define PLOG_DIR              "pending"
#define PLOG_MAGIC            0x4f504c31u /* "OPL1" */
#define PLOG_MAX_IOV          1024
#define PLOG_RESERVE_CHECK_NS (100 * 1000 * 1000)

int store_plog_header_check(const uint8_t h[PLOG_HEAD], uint32_t *payload_len)
{
    if (be32_get(h) != PLOG_MAGIC)
        return -1;
    *payload_len = be32_get(h + 4);
    return 0;
}

static void file_name(char out[32], uint32_t sec)
{
    snprintf(out, 32, "%010u.log", sec);
}

/* The second of a file name <10 digits>.log; -1 for anything else. */
static int64_t name_sec(const char *name)
{
    if (strlen(name) != 14 || strcmp(name + 10, ".log") != 0)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    return v > UINT32_MAX ? -1 : (int64_t)v;
}

/* ------------------------------------------------------------------ open / close */

ottr_status store_plog_open(store *s, char *err, size_t errlen)
{
    store_plog *p = &s->plog;
    for (int i = 0; i < PLOG_WSLOTS; i++)
        p->w[i].fd = -1;
    p->dirfd = -1;
    size_t n = strlen(s->path) + sizeof("/" PLOG_DIR);
    p->dir = malloc(n);
    if (p->dir == NULL) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    snprintf(p->dir, n, "%s/" PLOG_DIR, s->path);
    if (mkdir(p->dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", p->dir, strerror(errno));
        return OTTR_ERR_IO;
    }
    p->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dirfd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", p->dir, strerror(errno));
        return OTTR_ERR_IO;
    }
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        snprintf(err, errlen, "cannot create a mutex");
        return OTTR_ERR_INTERNAL;
    }
    p->mu_ready = true;
    DIR *d = fdopendir(dup(p->dirfd));
    if (d == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", p->dir, strerror(errno));
        return OTTR_ERR_IO;
    }
    uint64_t bytes = 0, files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (name_sec(e->d_name) >= 0 && fstatat(p->dirfd, e->d_name, &st, 0) == 0) {
            bytes += (uint64_t)st.st_size;
            files++;
        }
    }
    closedir(d);
    atomic_store(&p->bytes, bytes);
    atomic_store(&p->files, files);
    return OTTR_OK;
}

/* Closes a write slot, syncing it first when it has unsynced appends (unless
 * |nosync|: its file is about to be removed). Called with the mutex held. */
static void slot_close(store *s, store_plog_file *f, bool nosync)
{
    if (f->fd < 0)
        return;
    if (f->dirty && !nosync && s->opt.sync != STORE_SYNC_NONE && fdatasync(f->fd) != 0)
        OTTR_WARN(STORE_COMPONENT, "pending log sync failed: %s", strerror(errno));
    close(f->fd);
    f->fd = -1;
    f->dirty = false;
}

void store_plog_close(store *s)
{
    store_plog *p = &s->plog;
    if (p->mu_ready) {
        store_plog_sync(s);
        pthread_mutex_lock(&p->mu);
        for (int i = 0; i < PLOG_WSLOTS; i++)
            slot_close(s, &p->w[i], true);
        pthread_mutex_unlock(&p->mu);
        pthread_mutex_destroy(&p->mu);
        p->mu_ready = false;
    }
    if (p->dir != NULL && p->dirfd >= 0) /* dirfd is meaningful once dir is set */
        close(p->dirfd);
    p->dirfd = -1;
    free(p->dir);
    p->dir = NULL;
}

/* ------------------------------------------------------------------ append */

/* The write slot of |sec|, opening (creating) its file when needed; the oldest
 * slot makes room. NULL with |err| set on failure. Called with the mutex held. */
static store_plog_file *slot_for(store *s, uint32_t sec, char *err, size_t errlen)
{
    store_plog *p = &s->plog;
    store_plog_file *victim = NULL;
    for (int i = 0; i < PLOG_WSLOTS; i++) {
        store_plog_file *f = &p->w[i];
        if (f->fd >= 0 && f->sec == sec)
            return f;
        if (victim == NULL || (victim->fd >= 0 && (f->fd < 0 || f->sec < victim->sec)))
            victim = f;
    }
    slot_close(s, victim, false);
    char name[32];
    file_name(name, sec);
    int fd = openat(p->dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot open %s/%s: %s", p->dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (st.st_size == 0) {
        atomic_fetch_add(&p->files, 1);
        p->dir_dirty = true; /* a new name: the directory needs syncing too */
        if (s->opt.sync == STORE_SYNC_ALWAYS && fsync(p->dirfd) == 0)
            p->dir_dirty = false;
    }
    victim->fd = fd;
    victim->sec = sec;
    victim->size = (uint64_t)st.st_size;
    victim->dirty = false;
    return victim;
}

/* Writes |iov| at |off| whole; 0 or -1 with errno. Advances |iov| in place. */
static int pwritev_all(int fd, struct iovec *iov, int n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwritev(fd, iov, n > PLOG_MAX_IOV ? PLOG_MAX_IOV : n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        off += (uint64_t)w;
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

ottr_status store_plog_append(store *s, uint32_t sec, struct iovec *iov, int niov, uint32_t *off)
{
    store_plog *p = &s->plog;
    if (atomic_load(&s->inject_error)) {
        store_write_failed(s, "injected write error", false);
        return OTTR_ERR_IO;
    }
    /* After an append found the disk full, appends wait for store.disk_reserve
     * to be free, as RocksDB's writes do: room for its flushes and the kept
     * traces. Checked at most every PLOG_RESERVE_CHECK_NS. */
    if (atomic_load(&p->nospace)) {
        uint64_t now = ottr_mono_ns(), last = atomic_load(&p->reserve_checked_ns);
        if (now - last >= PLOG_RESERVE_CHECK_NS) {
            atomic_store(&p->reserve_checked_ns, now);
            atomic_store(&p->reserve_short, !store_reserve_free(s));
        }
        if (atomic_load(&p->reserve_short)) {
            store_write_failed(s, "disk full: waiting for store.disk_reserve to be free", false);
            return OTTR_ERR_IO;
        }
    }
    size_t len = 0;
    XXH3_state_t h;
    XXH3_INITSTATE(&h);
    XXH3_64bits_reset(&h);
    for (int i = 1; i < niov; i++) {
        len += iov[i].iov_len;
        XXH3_64bits_update(&h, iov[i].iov_base, iov[i].iov_len);
    }
    if (len > UINT32_MAX - PLOG_HEAD)
        return OTTR_ERR_TOO_LARGE;
    uint8_t head[PLOG_HEAD];
    be32_put(head, PLOG_MAGIC);
    be32_put(head + 4, (uint32_t)len);
    be64_put(head + 8, XXH3_64bits_digest(&h));
    iov[0].iov_base = head;
    iov[0].iov_len = PLOG_HEAD;

    char err[320] = "";
    int sync_fd = -1;
    pthread_mutex_lock(&p->mu);
    store_plog_file *f = slot_for(s, sec, err, sizeof(err));
    uint64_t at = f ? f->size : 0;
    if (f && at + PLOG_HEAD + len > UINT32_MAX) {
        snprintf(err, sizeof(err), "pending log of second %u is full", sec);
        f = NULL;
    }
    if (f && pwritev_all(f->fd, iov, niov, at) != 0) {
        if (errno == ENOSPC || errno == EDQUOT)
            atomic_store(&p->nospace, true);
        snprintf(err, sizeof(err), "write to the pending log failed: %s", strerror(errno));
        /* Cut the partial record off; if that fails too, later appends go
         * after it and start-up skips it. */
        if (ftruncate(f->fd, (off_t)at) != 0) {
            struct stat st;
            if (fstat(f->fd, &st) == 0)
                f->size = (uint64_t)st.st_size;
        }
        f = NULL;
    } else if (f) {
        f->size = at + PLOG_HEAD + len;
        f->dirty = true;
        if (s->opt.sync == STORE_SYNC_ALWAYS)
            sync_fd = dup(f->fd);
    }
    pthread_mutex_unlock(&p->mu);
    if (f == NULL) {
        store_write_failed(s, err, false);
        return OTTR_ERR_IO;
    }
    if (s->opt.sync == STORE_SYNC_ALWAYS) {
        int rc = sync_fd >= 0 ? fdatasync(sync_fd) : -1;
        if (sync_fd >= 0)
            close(sync_fd);
        if (rc != 0) {
            store_write_failed(s, "pending log sync failed", false);
            return OTTR_ERR_IO;
        }
    }
    atomic_fetch_add(&p->bytes, PLOG_HEAD + len);
    atomic_store(&p->nospace, false);
    store_write_succeeded(s);
    *off = (uint32_t)at;
    return OTTR_OK;
}

int store_plog_sync(store *s)
{
    store_plog *p = &s->plog;
    int fds[PLOG_WSLOTS];
    int n = 0;
    bool dir;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < PLOG_WSLOTS; i++) {
        store_plog_file *f = &p->w[i];
        if (f->fd >= 0 && f->dirty) {
            int d = dup(f->fd);
            if (d < 0)
                continue; /* stays dirty: the next pass tries again */
            fds[n++] = d;
            f->dirty = false;
        }
    }
    dir = p->dir_dirty;
    p->dir_dirty = false;
    pthread_mutex_unlock(&p->mu);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (fdatasync(fds[i]) != 0)
            rc = -1;
        close(fds[i]);
    }
    if (dir && fsync(p->dirfd) != 0)
        rc = -1;
    return rc;
}

/* ------------------------------------------------------------------ read */

void store_plog_reader_init(store_plog_reader *r, store *s)
{
    memset(r, 0, sizeof(*r));
    r->s = s;
}

void store_plog_reader_close(store_plog_reader *r)
{
    for (int i = 0; i < r->n; i++)
        if (r->fd[i] >= 0)
            close(r->fd[i]);
    r->n = 0;
}

/* The read descriptor of |sec|'s file: -1 when it is gone (reclaimed), -2 on
 * another error (logged). Remembers the last PLOG_READER_FILES, absent ones too. */
static int reader_fd(store_plog_reader *r, uint32_t sec)
{
    for (int i = 0; i < r->n; i++)
        if (r->sec[i] == sec)
            return r->fd[i];
    char name[32];
    file_name(name, sec);
    int fd = openat(r->s->plog.dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) {
        OTTR_ERROR(STORE_COMPONENT, "cannot open %s/%s: %s", r->s->plog.dir, name, strerror(errno));
        return -2;
    }
    int slot;
    if (r->n < PLOG_READER_FILES) {
        slot = r->n++;
    } else {
        slot = r->next;
        r->next = (r->next + 1) % PLOG_READER_FILES;
        if (r->fd[slot] >= 0)
            close(r->fd[slot]);
    }
    r->sec[slot] = sec;
    r->fd[slot] = fd;
    return fd;
}

ssize_t store_plog_pread(store_plog_reader *r, uint32_t sec, void *buf, size_t len, uint64_t off)
{
    int fd = reader_fd(r, sec);
    if (fd == -1)
        return 0;
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            OTTR_ERROR(STORE_COMPONENT, "read of the pending log failed: %s", strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* ------------------------------------------------------------------ scan */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The seconds of the files present, sorted (|*out| malloc'd, caller frees).
 * Returns their count, or -1 (out of memory, unreadable directory: logged). */
static ssize_t list_secs(store *s, uint32_t **out)
{
    *out = NULL;
    DIR *d = fdopendir(dup(s->plog.dirfd));
    if (d == NULL) {
        OTTR_ERROR(STORE_COMPONENT, "cannot read %s: %s", s->plog.dir, strerror(errno));
        return -1;
    }
    rewinddir(d);
    uint32_t *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t sec = name_sec(e->d_name);
        if (sec < 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            uint32_t *nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL) {
                free(v);
                closedir(d);
                return -1;
            }
            v = nv;
        }
        v[n++] = (uint32_t)sec;
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_u32);
    *out = v;
    return (ssize_t)n;
}

/* Whether a valid record starts at |pos| of |m| (|size| bytes); sets its length. */
static bool record_at(const uint8_t *m, size_t size, size_t pos, uint32_t *len)
{
    if (size - pos < PLOG_HEAD || store_plog_header_check(m + pos, len) != 0)
        return false;
    if (*len > size - pos - PLOG_HEAD)
        return false;
    return XXH3_64bits(m + pos + PLOG_HEAD, *len) == be64_get(m + pos + 8);
}

/* Scans one file; returns fn's first non-zero answer, or 0. */
static int scan_file(store *s, uint32_t sec, store_plog_fn fn, void *ctx, uint64_t *damaged,
                     ottr_status *st)
{
    char name[32];
    file_name(name, sec);
    int fd = openat(s->plog.dirfd, name, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        OTTR_ERROR(STORE_COMPONENT, "cannot read %s/%s: %s", s->plog.dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        *st = OTTR_ERR_IO;
        return 1;
    }
    size_t size = (size_t)sb.st_size;
    if (size == 0) {
        close(fd);
        return 0;
    }
    uint8_t *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        OTTR_ERROR(STORE_COMPONENT, "cannot map %s/%s: %s", s->plog.dir, name, strerror(errno));
        *st = OTTR_ERR_IO;
        return 1;
    }
    madvise(m, size, MADV_SEQUENTIAL);
    int rc = 0;
    size_t pos = 0;
    while (pos < size && rc == 0) {
        uint32_t len;
        if (record_at(m, size, pos, &len)) {
            rc = fn(ctx, sec, (uint32_t)pos, m + pos + PLOG_HEAD, len);
            pos += PLOG_HEAD + len;
            continue;
        }
        /* A torn or damaged record: resume at the next valid header. */
        (*damaged)++;
        size_t next = pos + 1;
        for (; next + PLOG_HEAD <= size; next++)
            if (m[next] == (uint8_t)(PLOG_MAGIC >> 24) && record_at(m, size, next, &len))
                break;
        pos = next + PLOG_HEAD <= size ? next : size;
    }
    munmap(m, size);
    return rc;
}

ottr_status store_plog_scan(store *s, store_plog_fn fn, void *ctx)
{
    uint32_t *secs;
    ssize_t n = list_secs(s, &secs);
    if (n < 0)
        return OTTR_ERR_IO;
    uint64_t damaged = 0;
    ottr_status st = OTTR_OK;
    for (ssize_t i = 0; i < n; i++)
        if (scan_file(s, secs[i], fn, ctx, &damaged, &st) != 0)
            break;
    free(secs);
    if (damaged)
        OTTR_WARN(STORE_COMPONENT,
                  "pending log: skipped %llu torn or damaged stretches (never acknowledged, or "
                  "damaged on disk)",
                  (unsigned long long)damaged);
    return st;
}

/* ------------------------------------------------------------------ copy */

/* Copies |fd| (its first |size| bytes) into |out_fd|; 0 or -1 with errno. */
static int copy_fd(int fd, int out_fd, uint64_t size)
{
    char buf[64 * 1024];
    uint64_t off = 0;
    while (off < size) {
        size_t want = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? 0 : -1; /* shorter now: removed meanwhile */
        for (ssize_t w = 0; w < n;) {
            ssize_t m = write(out_fd, buf + w, (size_t)(n - w));
            if (m < 0 && errno == EINTR)
                continue;
            if (m < 0)
                return -1;
            w += m;
        }
        off += (uint64_t)n;
    }
    return 0;
}

ottr_status store_plog_copy(store *s, const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0755) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return OTTR_ERR_IO;
    }
    uint32_t *secs;
    ssize_t n = list_secs(s, &secs);
    if (n < 0) {
        snprintf(err, errlen, "cannot list %s", s->plog.dir);
        return OTTR_ERR_IO;
    }
    ottr_status st = OTTR_OK;
    for (ssize_t i = 0; i < n && st == OTTR_OK; i++) {
        char name[32], path[4200];
        file_name(name, secs[i]);
        int fd = openat(s->plog.dirfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* reclaimed meanwhile */
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int out =
            fstat(fd, &sb) == 0 ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
        /* A record being appended may be cut short: start-up skips it. */
        if (out < 0 || copy_fd(fd, out, (uint64_t)sb.st_size) != 0 || fsync(out) != 0) {
            snprintf(err, errlen, "cannot copy %s to %s: %s", name, dir, strerror(errno));
            st = OTTR_ERR_IO;
        }
        if (out >= 0)
            close(out);
        close(fd);
    }
    free(secs);
    return st;
}

/* ------------------------------------------------------------------ removal */

/* Subtracts |n| from a gauge that must not wrap below 0 (a file may hold bytes
 * the gauge never counted: a failed append that could not be cut off). */
static void sub_floor0(atomic_uint_fast64_t *v, uint64_t n)
{
    uint64_t cur = atomic_load(v);
    while (!atomic_compare_exchange_weak(v, &cur, cur > n ? cur - n : 0))
        ;
}

/* Removes the files of the seconds before |before|, or every file (|all|). */
static ottr_status remove_files(store *s, uint32_t before, bool all)
{
    store_plog *p = &s->plog;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < PLOG_WSLOTS; i++)
        if (p->w[i].fd >= 0 && (all || p->w[i].sec < before))
            slot_close(s, &p->w[i], true);
    pthread_mutex_unlock(&p->mu);
    uint32_t *secs;
    ssize_t n = list_secs(s, &secs);
    if (n < 0)
        return OTTR_ERR_IO;
    ottr_status st = OTTR_OK;
    for (ssize_t i = 0; i < n; i++) {
        if (!all && secs[i] >= before)
            break;
        char name[32];
        file_name(name, secs[i]);
        struct stat sb;
        uint64_t size = fstatat(p->dirfd, name, &sb, 0) == 0 ? (uint64_t)sb.st_size : 0;
        if (unlinkat(p->dirfd, name, 0) != 0) {
            if (errno == ENOENT)
                continue;
            OTTR_ERROR(STORE_COMPONENT, "cannot remove %s/%s: %s", p->dir, name, strerror(errno));
            st = OTTR_ERR_IO;
            break;
        }
        sub_floor0(&p->bytes, size);
        sub_floor0(&p->files, 1);
    }
    free(secs);
    return st;
}

ottr_status store_plog_remove_before(store *s, uint32_t before_sec)
{
    return remove_files(s, before_sec, false);
}

ottr_status store_plog_remove_all(store *s)
{
    return remove_files(s, 0, true);
}
