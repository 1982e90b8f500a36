/* sampler/writer.c - the writer: one thread that copies kept traces from
 * the pending log into `traces` (store_keep_traces, a batch per call), retrying while
 * the store fails. A short queue is given a moment to fill: a large keep call
 * costs the store far less per trace (its index keys are ingested as SST files)
 * than many small ones. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sampler/internal.h"

/* Jobs per store_keep_traces call: at most BATCH_MAX; BATCH_MIN when a larger
 * array cannot be allocated. */
#define BATCH_MAX 4096
#define BATCH_MIN 64
/* A queue shorter than BATCH_MAX waits until its oldest job has waited this
 * long (a kept trace is readable well within a second of its decision). */
#define GATHER_NS 200000000ull
#define RETRY_NS  200000000ull

int sampler_writer_init(writer *w, store *st)
{
    memset(w, 0, sizeof(*w));
    w->st = st;
    w->busy_min_sec = UINT32_MAX;
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        return -1;
    if (pthread_cond_init(&w->cv, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        return -1;
    }
    return 0;
}

void sampler_writer_destroy(writer *w)
{
    /* Jobs left behind keep their records in pending for the next start. */
    for (size_t i = 0; i < w->count; i++)
        free(w->q[(w->head + i) % w->cap].refs);
    free(w->q);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* Under w->mu. */
static int queue_grow(writer *w)
{
    size_t ncap = w->cap ? w->cap * 2 : 1024;
    keep_job *nq = malloc(ncap * sizeof(*nq));
    if (nq == NULL)
        return -1;
    for (size_t i = 0; i < w->count; i++)
        nq[i] = w->q[(w->head + i) % w->cap];
    free(w->q);
    w->q = nq;
    w->cap = ncap;
    w->head = 0;
    return 0;
}

static ottr_status write_job(writer *w, const keep_job *j)
{
    ottr_status st = store_keep_trace(w->st, j->tenant, j->trace_id, keep_job_refs(j), j->nrefs);
    if (st == OTTR_OK)
        atomic_fetch_add(&w->written, 1);
    else
        atomic_fetch_add(&w->failures, 1);
    return st;
}

void sampler_writer_push(writer *w, keep_job *j)
{
    pthread_mutex_lock(&w->mu);
    if (w->count > 0 && j->nrefs == 1) {
        /* The same record of the same trace queued twice (replay): once is enough. */
        const keep_job *last = &w->q[(w->head + w->count - 1) % w->cap];
        if (last->nrefs == 1 && last->tenant == j->tenant &&
            memcmp(last->trace_id, j->trace_id, 16) == 0 && last->ref0.sec == j->ref0.sec &&
            last->ref0.seq == j->ref0.seq) {
            pthread_mutex_unlock(&w->mu);
            return;
        }
    }
    if (w->count == w->cap && queue_grow(w) != 0) {
        pthread_mutex_unlock(&w->mu);
        /* Cannot queue: write now rather than lose a kept trace. */
        if (write_job(w, j) != OTTR_OK)
            OTTR_ERROR("sampler", "out of memory and the store failed: a kept trace is lost");
        free(j->refs);
        j->refs = NULL;
        return;
    }
    j->queued_ns = ottr_mono_ns();
    w->q[(w->head + w->count) % w->cap] = *j;
    w->count++;
    /* The thread waits for a first job, then for a full batch or its deadline. */
    if (w->count == 1 || w->count == BATCH_MAX)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

uint32_t sampler_writer_min_sec(writer *w, uint32_t dflt)
{
    pthread_mutex_lock(&w->mu);
    uint32_t m = dflt;
    if (w->busy_min_sec < m)
        m = w->busy_min_sec;
    for (size_t i = 0; i < w->count; i++) {
        uint32_t s = w->q[(w->head + i) % w->cap].min_sec;
        if (s < m)
            m = s;
    }
    pthread_mutex_unlock(&w->mu);
    return m;
}

void sampler_writer_queue(writer *w, size_t *count, uint64_t *wait_ns)
{
    pthread_mutex_lock(&w->mu);
    *count = w->count;
    uint64_t q = w->count ? w->q[w->head].queued_ns : 0;
    pthread_mutex_unlock(&w->mu);
    uint64_t now = ottr_mono_ns();
    *wait_ns = q && now > q ? now - q : 0;
}

size_t sampler_writer_pending(writer *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->count + (w->busy_min_sec != UINT32_MAX);
    pthread_mutex_unlock(&w->mu);
    return n;
}

/* Takes up to |max| jobs into |out| and marks them busy. Under w->mu. */
static size_t take(writer *w, keep_job *out, size_t max)
{
    size_t n = 0;
    uint32_t m = UINT32_MAX;
    while (n < max && w->count > 0) {
        out[n] = w->q[w->head];
        if (out[n].min_sec < m)
            m = out[n].min_sec;
        w->head = (w->head + 1) % w->cap;
        w->count--;
        n++;
    }
    w->busy_min_sec = m;
    return n;
}

/* Puts jobs that failed back at the front, in order. Under w->mu. */
static void give_back(writer *w, const keep_job *jobs, size_t n)
{
    while (w->count + n > w->cap) {
        if (queue_grow(w) != 0) {
            /* The ring had room for them a moment ago; only growth can fail. */
            OTTR_ERROR("sampler", "out of memory: %zu kept traces are lost", n);
            for (size_t i = 0; i < n; i++)
                free(jobs[i].refs);
            return;
        }
    }
    for (size_t i = n; i-- > 0;) {
        w->head = (w->head + w->cap - 1) % w->cap;
        w->q[w->head] = jobs[i];
        w->count++;
    }
}

/* Adds a batch's work to the totals and, every 256 ms of work or so, smooths the
 * traces-per-busy-second estimate. Writer thread only. */
static void update_capacity(writer *w, size_t n, uint64_t busy)
{
    /* A small batch is mostly fixed cost (an ingest's fsyncs): it would make
     * the writer look slower than it is at full load. */
    if (n < WRITER_CAPACITY_BATCH)
        return;
    w->cap_written += n;
    w->cap_busy += busy;
    if (w->cap_busy < NS_PER_SEC / 4)
        return;
    double rate = (double)w->cap_written * NS_PER_SEC / (double)w->cap_busy;
    uint64_t old = atomic_load(&w->capacity);
    atomic_store(&w->capacity, old ? (uint64_t)(0.5 * (double)old + 0.5 * rate) : (uint64_t)rate);
    w->cap_written = w->cap_busy = 0;
}

/* Writes one batch; returns the number of jobs that failed (given back). */
static size_t run_batch(writer *w)
{
    keep_job small_jobs[BATCH_MIN], *jobs = small_jobs;
    store_keep_req small_reqs[BATCH_MIN], *reqs = small_reqs;
    size_t max = w->count < BATCH_MAX ? w->count : BATCH_MAX;
    if (max > BATCH_MIN) {
        jobs = malloc(max * sizeof(*jobs));
        reqs = malloc(max * sizeof(*reqs));
        if (jobs == NULL || reqs == NULL) {
            free(jobs);
            free(reqs);
            jobs = small_jobs;
            reqs = small_reqs;
            max = BATCH_MIN;
        }
    }
    size_t n = take(w, jobs, max);
    pthread_mutex_unlock(&w->mu);
    /* The whole batch in one call; on a non-I/O failure fall back to one trace
     * at a time so one bad trace does not hold back the others. */
    for (size_t i = 0; i < n; i++) {
        reqs[i].tenant = jobs[i].tenant;
        memcpy(reqs[i].trace_id, jobs[i].trace_id, 16);
        reqs[i].refs = keep_job_refs(&jobs[i]);
        reqs[i].nrefs = jobs[i].nrefs;
    }
    size_t done = 0;
    uint64_t t0 = ottr_mono_ns();
    ottr_status bst = store_keep_traces(w->st, reqs, n);
    if (bst == OTTR_OK) {
        atomic_fetch_add(&w->written, n);
        done = n;
    } else if (bst == OTTR_ERR_IO || bst == OTTR_ERR_NOMEM) {
        atomic_fetch_add(&w->failures, 1);
    } else {
        while (done < n) {
            ottr_status st = write_job(w, &jobs[done]);
            if (st == OTTR_ERR_IO || st == OTTR_ERR_NOMEM)
                break;
            if (st != OTTR_OK)
                OTTR_ERROR("sampler", "keeping a trace failed: %s", ottr_status_str(st));
            done++;
        }
    }
    uint64_t now = ottr_mono_ns();
    update_capacity(w, done, now - t0);
    for (size_t i = 0; i < done; i++) {
        if (w->m_delay && now > jobs[i].queued_ns)
            ottr_histogram_observe(w->m_delay, (double)(now - jobs[i].queued_ns) / NS_PER_SEC);
        free(jobs[i].refs);
    }
    pthread_mutex_lock(&w->mu);
    give_back(w, jobs + done, n - done);
    w->busy_min_sec = UINT32_MAX;
    if (jobs != small_jobs) {
        free(jobs);
        free(reqs);
    }
    return n - done;
}

int sampler_writer_drain(writer *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->count > 0) {
        if (run_batch(w) > 0)
            break;
    }
    int rc = w->count == 0 ? 0 : -1;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static void wait_ns(writer *w, uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t = (uint64_t)ts.tv_nsec + ns;
    ts.tv_sec += (time_t)(t / NS_PER_SEC);
    ts.tv_nsec = (long)(t % NS_PER_SEC);
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    pthread_setname_np(pthread_self(), "ottr-writer");
    int stop_retries = 0;
    /* About when the oldest queued job was queued (monotonic ns; 0: none). */
    uint64_t since = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->count == 0) {
            if (w->stop)
                break;
            since = 0;
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        if (w->stop && ottr_mono_ns() >= w->stop_deadline_ns) {
            /* Shutdown must be quick: what is left stays in pending and is
             * decided again at the next start. */
            OTTR_WARN("sampler", "shutdown: %zu kept traces left in pending for the next start",
                      w->count);
            break;
        }
        uint64_t now = ottr_mono_ns();
        if (since == 0)
            since = now; /* woken by the first job's push */
        if (!w->stop && w->count < BATCH_MAX && now - since < GATHER_NS) {
            wait_ns(w, since + GATHER_NS - now);
            continue;
        }
        /* When the batch takes the whole queue, what is queued next is newer. */
        if (w->count <= BATCH_MAX)
            since = now;
        if (run_batch(w) > 0) {
            /* The store refuses writes: wait and retry; at shutdown give up
             * after a few tries (the spans stay in pending for the next start). */
            if (w->stop && ++stop_retries > 10) {
                OTTR_ERROR("sampler", "store keeps failing: %zu kept traces left in pending",
                           w->count);
                break;
            }
            wait_ns(w, RETRY_NS);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int sampler_writer_start(writer *w)
{
    if (pthread_create(&w->th, NULL, writer_main, w) != 0)
        return -1;
    w->started = true;
    return 0;
}

void sampler_writer_stop(writer *w)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    w->stop_deadline_ns = ottr_mono_ns() + WRITER_STOP_NS;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    w->started = false;
}
