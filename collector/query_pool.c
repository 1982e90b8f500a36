/* collector/query_pool.c - the query threads: the query ports' loop threads
 * answer cheap routes (/ready, /health, /metrics) themselves and hand every
 * query to this pool, so that no query delays them. A fixed number of threads
 * (query.max_concurrent) run queries at a lower scheduling priority than ingest,
 * each with a budget (query.timeout, query.max_bytes_inspected); up to
 * query.max_queued wait, and past that a query is answered 429 at once. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collector/collector.h"

/* The nice value of query threads. Linux gives each thread its own: at 10 a
 * query thread weighs about a tenth of an ingest thread when both want a core,
 * yet still runs on an idle machine. SCHED_IDLE would let ingest starve queries
 * outright (and a query holding a store lock would then stall ingest). */
#define QUERY_NICE 10

typedef struct query_job {
    struct query_job *next;
    http_deferred *d; /* owned until answered */
    collector_query_fn run;
    collector_refuse_fn refuse;
    void *ctx;
} query_job;

struct collector_query_pool {
    collector_query_pool_options o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    query_job *head, *tail; /* waiting, oldest first */
    size_t nqueued;
    size_t nrunning;
    int stopping;
    atomic_bool cancel; /* running queries stop at their next check */
    pthread_t *threads;
    int nthreads;
    ottr_gauge *g_running, *g_queued;
    ottr_counter *m_full, *m_stopping, *m_done;
};

/* Under |p->mu|. */
static void publish(collector_query_pool *p)
{
    ottr_gauge_set(p->g_running, (double)p->nrunning);
    ottr_gauge_set(p->g_queued, (double)p->nqueued);
}

static void refuse(const http_request *req, http_response *resp, collector_refuse_fn fn, int status,
                   const char *msg)
{
    char secs[16];
    snprintf(secs, sizeof(secs), "%d", OTTR_RETRY_AFTER_SECONDS);
    fn(req, resp, status, msg);
    http_response_set_header(resp, "Retry-After", secs);
}

static void *pool_main(void *arg)
{
    collector_query_pool *p = arg;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (setpriority(PRIO_PROCESS, (id_t)tid, QUERY_NICE) != 0)
        OTTR_WARN("query", "cannot lower the query threads' priority: %s", strerror(errno));
    pthread_setname_np(pthread_self(), "ottr-query");
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        query_job *j = p->head;
        if (j == NULL) { /* stopping with nothing left */
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->nqueued--;
        p->nrunning++;
        publish(p);
        pthread_mutex_unlock(&p->mu);

        query_budget b = {.deadline_ns = ottr_mono_ns() + p->o.timeout_ns,
                          .max_bytes = p->o.max_bytes,
                          .cancel = &p->cancel};
        http_response resp;
        http_response_init(&resp);
        j->run(j->ctx, http_deferred_request(j->d), &resp, &b);
        http_respond_async(j->d, &resp);
        free(j);
        ottr_counter_add(p->m_done, 1);

        pthread_mutex_lock(&p->mu);
        p->nrunning--;
        publish(p);
        pthread_mutex_unlock(&p->mu);
    }
}

void collector_query_pool_submit(collector_query_pool *p, const http_request *req,
                                 http_response *resp, collector_query_fn run,
                                 collector_refuse_fn refuse_fn, void *ctx)
{
    if (p == NULL) { /* no pool (tests): run here, without a budget */
        run(ctx, req, resp, NULL);
        return;
    }
    char msg[160];
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        ottr_counter_add(p->m_stopping, 1);
        refuse(req, resp, refuse_fn, 503, "shutting down");
        return;
    }
    if (p->nqueued + p->nrunning >= (size_t)p->nthreads + p->o.max_queued) {
        snprintf(msg, sizeof(msg),
                 "too many queries: %zu running, %zu waiting (query.max_concurrent, "
                 "query.max_queued); retry later",
                 p->nrunning, p->nqueued);
        pthread_mutex_unlock(&p->mu);
        ottr_counter_add(p->m_full, 1);
        refuse(req, resp, refuse_fn, 429, msg);
        return;
    }
    query_job *j = calloc(1, sizeof(*j));
    http_deferred *d = j ? http_defer(req) : NULL;
    if (d == NULL) {
        pthread_mutex_unlock(&p->mu);
        free(j);
        if (req->call == NULL) { /* not from a server (tests): run here */
            run(ctx, req, resp, NULL);
            return;
        }
        refuse(req, resp, refuse_fn, 503, "out of memory");
        return;
    }
    j->d = d;
    j->run = run;
    j->refuse = refuse_fn;
    j->ctx = ctx;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->nqueued++;
    publish(p);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

ottr_status collector_query_pool_start(const collector_query_pool_options *o,
                                       collector_query_pool **out)
{
    *out = NULL;
    if (o->threads < 1)
        return OTTR_ERR_INVALID;
    collector_query_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return OTTR_ERR_NOMEM;
    p->o = *o;
    atomic_init(&p->cancel, false);
    p->threads = calloc((size_t)o->threads, sizeof(pthread_t));
    if (p->threads == NULL || pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->threads);
        free(p);
        return OTTR_ERR_NOMEM;
    }
    pthread_cond_init(&p->cv, NULL);
    p->g_running =
        ottr_gauge_get("ottr_query_running", "Queries running on the query threads.", "");
    p->g_queued = ottr_gauge_get("ottr_query_queued", "Queries waiting for a query thread.", "");
    p->m_full = ottr_counter_get("ottr_query_rejected_total",
                                 "Queries refused: 429 at the query limits, 503 at shutdown.",
                                 "reason=\"limit\"");
    p->m_stopping = ottr_counter_get("ottr_query_rejected_total",
                                     "Queries refused: 429 at the query limits, 503 at shutdown.",
                                     "reason=\"shutdown\"");
    p->m_done =
        ottr_counter_get("ottr_query_executed_total", "Queries run on the query threads.", "");
    for (int i = 0; i < o->threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            collector_query_pool_stop(p);
            collector_query_pool_free(p);
            return OTTR_ERR_IO;
        }
        p->nthreads++;
    }
    *out = p;
    return OTTR_OK;
}

void collector_query_pool_stats(collector_query_pool *p, size_t *running, size_t *queued)
{
    *running = *queued = 0;
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    *running = p->nrunning;
    *queued = p->nqueued;
    pthread_mutex_unlock(&p->mu);
}

void collector_query_pool_stop(collector_query_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->stopping = 1;
    atomic_store(&p->cancel, true);
    query_job *j = p->head;
    p->head = p->tail = NULL;
    p->nqueued = 0;
    publish(p);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    /* Waiting queries are answered 503; running ones stop at their next check. */
    while (j != NULL) {
        query_job *next = j->next;
        http_response resp;
        http_response_init(&resp);
        refuse(http_deferred_request(j->d), &resp, j->refuse, 503, "shutting down");
        ottr_counter_add(p->m_stopping, 1);
        http_respond_async(j->d, &resp);
        free(j);
        j = next;
    }
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

void collector_query_pool_free(collector_query_pool *p)
{
    if (p == NULL)
        return;
    collector_query_pool_stop(p);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

void collector_query_note_cut(query_cut cut)
{
    const char *name = query_cut_name(cut);
    if (name == NULL)
        return;
    char labels[64];
    snprintf(labels, sizeof(labels), "reason=\"%s\"", name);
    ottr_counter_add(ottr_counter_get("ottr_query_partial_total",
                                      "Searches that stopped early and answered partial results.",
                                      labels),
                     1);
}
