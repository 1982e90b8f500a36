/* sampler/sampler.c - the sampler's life cycle and the ingest hand-off: budget
 * check, durable append to the pending log, summary updates, span metrics and service
 * graph; a ticker decides due traces, reclaims pending and flushes the graph. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sampler/internal.h"

#define DEFAULT_SHARDS 16
#define TICK_NS        100000000ull

int sampler_check_policies(const ottr_yaml_node *policies, char *err, size_t errlen)
{
    policy_set *ps = NULL;
    if (sampler_policy_set_parse(policies, &ps, err, errlen) != 0)
        return -1;
    sampler_policy_set_free(ps);
    return 0;
}

uint64_t sampler_clock(const sampler *s)
{
    return s->o.clock_ns ? s->o.clock_ns() : ottr_now_ns();
}

/* The limits come from the caller (the daemon's config); a zero one is a bug. */
static int check_options(const sampler_options *o, char *err, size_t errlen)
{
    if (o->decision_wait_ns == 0 || o->decision_wait_after_root_ns == 0 ||
        o->max_spans_per_trace == 0 || o->max_trace_bytes == 0 || o->max_buffered_traces == 0 ||
        o->max_memory_bytes == 0 || o->decision_cache_size == 0) {
        snprintf(err, errlen, "sampler options: a wait, limit or cache size is 0");
        return -1;
    }
    return 0;
}

static void render_metrics(void *ctx, ottr_buf *out)
{
    sampler_tenants_render(ctx, out);
}

static void bind_metrics(sampler *s)
{
    static const double age_bounds[] = {0.1, 0.25, 0.5, 1,  2,  2.5, 5,  10,
                                        15,  20,   30,  45, 60, 120, 300};
    s->m_buffered = ottr_gauge_get("ottr_sampler_traces_buffered",
                                   "Traces waiting for a sampling decision.", NULL);
    s->m_keep_queue = ottr_gauge_get("ottr_sampler_keep_queue_traces",
                                     "Kept traces waiting to be copied into the store.", NULL);
    s->m_keep_capacity = ottr_gauge_get(
        "ottr_sampler_keep_capacity_traces_per_second",
        "Kept traces the writer copies per second of work, as measured (0 until known).", NULL);
    s->m_keep_oldest =
        ottr_gauge_get("ottr_sampler_keep_queue_oldest_seconds",
                       "Age of the oldest pending record a queued kept trace still needs.", NULL);
    s->m_late_kept =
        ottr_counter_get("ottr_sampler_late_spans_total",
                         "Spans that arrived after their trace was decided.", "decision=\"kept\"");
    s->m_late_dropped = ottr_counter_get("ottr_sampler_late_spans_total",
                                         "Spans that arrived after their trace was decided.",
                                         "decision=\"dropped\"");
    s->m_backpressure = ottr_counter_get(
        "ottr_sampler_backpressure_total",
        "Requests refused because the sampler was at its trace or memory budget.", NULL);
    s->m_age = ottr_histogram_get("ottr_sampler_decision_age_seconds",
                                  "Time from a trace's first span to its decision.", NULL,
                                  age_bounds, sizeof(age_bounds) / sizeof(age_bounds[0]));
    static const double delay_bounds[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                          2,    5,     10,   30,  60,   120};
    s->w.m_delay = ottr_histogram_get(
        "ottr_sampler_keep_delay_seconds",
        "Time from a trace's keep decision until its spans are readable in the store.", NULL,
        delay_bounds, sizeof(delay_bounds) / sizeof(delay_bounds[0]));
}

static void shards_free(sampler *s)
{
    for (int i = 0; i < s->nshards; i++) {
        shard *sh = &s->shards[i];
        /* Undecided traces' refs (their records stay in pending for replay). */
        for (uint32_t idx = sh->fifo_head; idx != IDT_NONE;) {
            trace_entry *e = sampler_idt_at(&sh->traces, idx);
            free(e->refs);
            idx = e->fifo_next;
        }
        sampler_idt_free(&sh->traces);
        sampler_dcache_free(&sh->kept);
        sampler_dcache_free(&sh->dropped);
        pthread_mutex_destroy(&sh->mu);
    }
    free(s->shards);
    s->shards = NULL;
}

static int shards_init(sampler *s)
{
    s->shards = calloc((size_t)s->o.shards, sizeof(shard));
    if (s->shards == NULL)
        return -1;
    size_t per =
        (size_t)((s->o.decision_cache_size + (uint64_t)s->o.shards - 1) / (uint64_t)s->o.shards);
    for (int i = 0; i < s->o.shards; i++) {
        shard *sh = &s->shards[i];
        if (sampler_idt_init(&sh->traces, sizeof(trace_entry), SAMPLER_KEY_LEN) != 0)
            return -1;
        pthread_mutex_init(&sh->mu, NULL);
        s->nshards = i + 1;
        sh->fifo_head = sh->fifo_tail = IDT_NONE;
        sh->root_head = sh->root_tail = IDT_NONE;
        sampler_dcache_init(&sh->kept, per);
        sampler_dcache_init(&sh->dropped, per);
        atomic_fetch_add(&s->index_bytes, (sh->traces.mask + 1) * sizeof(uint64_t));
    }
    return 0;
}

ottr_status sampler_create(const sampler_options *o, store *st, sampler **out, char *err,
                           size_t errlen)
{
    *out = NULL;
    policy_set *ps = NULL;
    if (check_options(o, err, errlen) != 0 ||
        sampler_policy_set_parse(o->policies, &ps, err, errlen) != 0)
        return OTTR_ERR_INVALID;
    sampler *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        sampler_policy_set_free(ps);
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    s->o = *o;
    s->o.policies = NULL; /* the tree belongs to the caller */
    if (s->o.shards <= 0)
        s->o.shards = DEFAULT_SHARDS;
    if (s->o.shards > 1024)
        s->o.shards = 1024;
    s->st = st;
    s->pol = ps;
    atomic_store(&s->keep_prior, sampler_policy_set_keep_prior(ps));

    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* A reload must not wait behind an endless stream of submits. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->pol_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&s->decide_mu, NULL);
    pthread_mutex_init(&s->arr_mu, NULL);
    pthread_mutex_init(&s->tok_mu, NULL);
    pthread_cond_init(&s->arr_cv, NULL);
    pthread_mutex_init(&s->tick_mu, NULL);
    pthread_cond_init(&s->tick_cv, NULL);
    pthread_mutex_init(&s->tenant_mu, NULL);

    if (sampler_writer_init(&s->w, st) != 0) {
        snprintf(err, errlen, "out of memory");
        pthread_rwlock_destroy(&s->pol_lock);
        pthread_mutex_destroy(&s->decide_mu);
        pthread_mutex_destroy(&s->arr_mu);
        pthread_mutex_destroy(&s->tok_mu);
        pthread_cond_destroy(&s->arr_cv);
        pthread_mutex_destroy(&s->tick_mu);
        pthread_cond_destroy(&s->tick_cv);
        pthread_mutex_destroy(&s->tenant_mu);
        sampler_policy_set_free(ps);
        free(s);
        return OTTR_ERR_NOMEM;
    }
    if (sampler_tenants_parse_policies(s, err, errlen) != 0) {
        s->stopped = true;
        sampler_destroy(s);
        return OTTR_ERR_INVALID;
    }
    if (shards_init(s) != 0 || sampler_tenant_get(s, STORE_TENANT_DEFAULT) == NULL) {
        snprintf(err, errlen, "out of memory");
        s->stopped = true; /* nothing to settle */
        sampler_destroy(s);
        return OTTR_ERR_NOMEM;
    }
    sampler_policy_set_bind_metrics(ps);
    bind_metrics(s);
    uint64_t now = sampler_clock(s);
    s->flushed_minute = (uint32_t)(now / (60 * NS_PER_SEC));
    ottr_metrics_add_collector(render_metrics, s);
    *out = s;
    return OTTR_OK;
}

/* ------------------------------------------------------------------ arrival clock */

/* Gives the submit its arrival time (monotonic across submits) and records its
 * second as in flight until arrival_end(), so pending is not reclaimed under it. */
static uint32_t arrival_begin(sampler *s, uint64_t *now_ns)
{
    pthread_mutex_lock(&s->arr_mu);
    uint64_t now = sampler_clock(s);
    if (now < s->arr_last_ns)
        now = s->arr_last_ns;
    s->arr_last_ns = now;
    uint32_t sec = (uint32_t)(now / NS_PER_SEC);
    for (;;) {
        struct inflight *free_slot = NULL;
        for (size_t i = 0; i < sizeof(s->inflight) / sizeof(s->inflight[0]); i++) {
            struct inflight *f = &s->inflight[i];
            if (f->n > 0 && f->sec == sec) {
                f->n++;
                pthread_mutex_unlock(&s->arr_mu);
                *now_ns = now;
                return sec;
            }
            if (f->n == 0 && free_slot == NULL)
                free_slot = f;
        }
        if (free_slot != NULL) {
            free_slot->sec = sec;
            free_slot->n = 1;
            pthread_mutex_unlock(&s->arr_mu);
            *now_ns = now;
            return sec;
        }
        /* Submits from 32 different seconds still running: wait for one. */
        pthread_cond_wait(&s->arr_cv, &s->arr_mu);
    }
}

static void arrival_end(sampler *s, uint32_t sec)
{
    pthread_mutex_lock(&s->arr_mu);
    for (size_t i = 0; i < sizeof(s->inflight) / sizeof(s->inflight[0]); i++) {
        struct inflight *f = &s->inflight[i];
        if (f->n > 0 && f->sec == sec) {
            if (--f->n == 0)
                pthread_cond_broadcast(&s->arr_cv);
            break;
        }
    }
    pthread_mutex_unlock(&s->arr_mu);
}

/* The newest second below which nothing in pending is still needed. */
static uint32_t reclaim_watermark(sampler *s)
{
    pthread_mutex_lock(&s->arr_mu);
    uint64_t now = sampler_clock(s);
    if (now > s->arr_last_ns)
        s->arr_last_ns = now; /* later submits get this second or newer */
    uint32_t w = (uint32_t)(s->arr_last_ns / NS_PER_SEC);
    for (size_t i = 0; i < sizeof(s->inflight) / sizeof(s->inflight[0]); i++)
        if (s->inflight[i].n > 0 && s->inflight[i].sec < w)
            w = s->inflight[i].sec;
    pthread_mutex_unlock(&s->arr_mu);
    /* Read after the in-flight seconds: a submit that finished before is in a
     * shard or the writer queue by now. */
    w = sampler_oldest_sec(s, w);
    return sampler_writer_min_sec(&s->w, w);
}

uint32_t sampler_now_sec(sampler *s)
{
    pthread_mutex_lock(&s->arr_mu);
    uint64_t now = sampler_clock(s);
    if (now < s->arr_last_ns)
        now = s->arr_last_ns;
    pthread_mutex_unlock(&s->arr_mu);
    return (uint32_t)(now / NS_PER_SEC);
}

uint32_t sampler_settled_before(sampler *s)
{
    return reclaim_watermark(s);
}

static void reclaim(sampler *s)
{
    if (s->replaying)
        return;
    uint32_t w = reclaim_watermark(s);
    if (w <= s->reclaimed_sec)
        return;
    if (store_reclaim_pending(s->st, w) == OTTR_OK)
        s->reclaimed_sec = w;
}

/* ------------------------------------------------------------------ hand-off */

/* Whether the writer is behind: kept traces would not be readable soon enough. */
static uint64_t writer_capacity(sampler *s)
{
    uint64_t cap = atomic_load(&s->w.capacity);
    return cap ? cap : WRITER_CAPACITY_GUESS; /* not measured yet */
}

/* Whether the writer's queue is past WRITER_WORK_SEC of its work (or
 * WRITER_QUEUE_MAX jobs), or its oldest job waited past WRITER_MAX_DELAY_NS. */
static bool writer_behind(sampler *s)
{
    size_t count;
    uint64_t wait;
    sampler_writer_queue(&s->w, &count, &wait);
    if (count >= WRITER_QUEUE_MAX || wait > WRITER_MAX_DELAY_NS)
        return true;
    uint64_t most = writer_capacity(s) * WRITER_WORK_SEC;
    return count > (most > WRITER_QUEUE_MIN ? most : WRITER_QUEUE_MIN);
}

/* Takes the copying that |ngroups| new traces are expected to bring (times the
 * recent keep share) from a bucket that fills at the writer's capacity, up to a
 * second of it: new traces come in no faster than the writer can keep its share
 * of them, so the queue does not build up behind the decision wait. Returns false
 * when the bucket is empty (nothing taken); with |take| false only looks. */
static bool keep_tokens(sampler *s, size_t ngroups, bool take)
{
    uint32_t permille = atomic_load(&s->keep_permille);
    if (permille == 0)
        permille = atomic_load(&s->keep_prior); /* no decisions yet */
    uint64_t cap = writer_capacity(s);
    uint64_t cost = (uint64_t)ngroups * permille; /* milli-traces */
    uint64_t full = cap * 1000 * WRITER_TOKEN_SEC;
    uint64_t now = ottr_mono_ns();
    pthread_mutex_lock(&s->tok_mu);
    if (s->tok_last_ns == 0) {
        s->tokens = full;
        s->tok_last_ns = now;
    } else if (now > s->tok_last_ns) {
        /* Whole milliseconds only; the rest counts at the next call. */
        uint64_t ms = (now - s->tok_last_ns) / NS_PER_MS;
        uint64_t add = ms * cap; /* ms × traces/s = milli-traces */
        s->tokens = s->tokens + add > full ? full : s->tokens + add;
        s->tok_last_ns += ms * NS_PER_MS;
    }
    bool ok = s->tokens >= cost;
    if (ok && take)
        s->tokens -= cost;
    pthread_mutex_unlock(&s->tok_mu);
    return ok;
}

/* Every second: the share of the last second's decisions that kept. */
static void update_keep_ratio(sampler *s)
{
    uint64_t k = atomic_load(&s->kept), d = atomic_load(&s->dropped);
    uint64_t dk = k - s->ratio_kept, dd = d - s->ratio_dropped;
    if (dk + dd < 100)
        return; /* too few to tell */
    uint32_t now = (uint32_t)(dk * 1000 / (dk + dd));
    uint32_t old = atomic_load(&s->keep_permille);
    atomic_store(&s->keep_permille, old ? (old + now) / 2 : (now ? now : 1));
    s->ratio_kept = k;
    s->ratio_dropped = d;
}

/* Whether |ngroups| traces may not all be new ones now; takes their keep tokens
 * unless |peek|. */
static bool over_budget(sampler *s, size_t ngroups, bool peek)
{
    if (writer_behind(s) || !keep_tokens(s, ngroups, !peek))
        return true;
    uint64_t n = atomic_load(&s->ntraces);
    if (n == 0)
        return false; /* an empty sampler always takes a trace */
    uint64_t bytes = n * sizeof(trace_entry) + atomic_load(&s->index_bytes);
    return n >= s->o.max_buffered_traces || bytes >= s->o.max_memory_bytes;
}

bool sampler_would_push_back(sampler *s, uint32_t tenant, const uint8_t (*tids)[16], size_t n)
{
    if (n == 0 || !over_budget(s, n, true))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!sampler_trace_known(s, tenant, tids[i])) {
            ottr_counter_add(s->m_backpressure, 1);
            return true;
        }
    }
    return false;
}

ottr_status sampler_submit(sampler *s, const otlp_batch *b)
{
    if (b == NULL || b->ngroups == 0)
        return OTTR_OK;
    sampler_tenant *t = sampler_tenant_get(s, b->tenant);
    if (t == NULL)
        return OTTR_ERR_NOMEM;
    if (t->lim.rate_spans || t->lim.max_traces) {
        size_t fresh = 0;
        for (size_t i = 0; t->lim.max_traces && i < b->ngroups; i++)
            fresh += !sampler_trace_known(s, b->tenant, b->groups[i].trace_id);
        ottr_status lst = sampler_tenant_admit(t, b->nspans, fresh);
        if (lst != OTTR_OK)
            return lst;
    }
    if (over_budget(s, b->ngroups, false)) {
        /* Traces in progress must be able to finish; only new ones wait. */
        for (size_t i = 0; i < b->ngroups; i++) {
            if (!sampler_trace_known(s, b->tenant, b->groups[i].trace_id)) {
                ottr_counter_add(s->m_backpressure, 1);
                return OTTR_ERR_BUSY;
            }
        }
    }
    uint64_t now;
    uint32_t sec = arrival_begin(s, &now);
    store_pending_ref ref;
    ottr_status st = store_append_pending(s->st, b, sec, &ref);
    if (st != OTTR_OK) {
        arrival_end(s, sec);
        return st;
    }
    pthread_rwlock_rdlock(&s->pol_lock);
    for (size_t i = 0; i < b->ngroups; i++) {
        const otlp_trace_group *g = &b->groups[i];
        ottr_status r = sampler_apply_group(s, sampler_tenant_policies(s, t), t, g->trace_id,
                                            g->spans, g->nspans, g->chunk_len, ref, now, true);
        if (r != OTTR_OK)
            st = r;
    }
    pthread_rwlock_unlock(&s->pol_lock);
    arrival_end(s, sec);
    /* Metrics from every span, kept or not. */
    sampler_spanmetrics_observe_batch(t->sm, b);
    sampler_servicegraph_observe_batch(t->sg, b, now);
    ottr_gauge_set(s->m_buffered, (double)atomic_load(&s->ntraces));
    return st;
}

/* ------------------------------------------------------------------ ticking */

static void housekeeping(sampler *s, uint64_t now, bool force)
{
    uint64_t sec = now / NS_PER_SEC;
    if (!force && sec == s->last_housekeeping_sec)
        return;
    s->last_housekeeping_sec = sec;
    sampler_tenants_expire_graph(s, now);
    uint32_t minute = (uint32_t)(now / (60 * NS_PER_SEC));
    /* Every second, the minute in progress too: the store merges additions, so
     * each flush writes only the counts gathered since the last one and the
     * dependency map is at most a second behind. */
    if (sampler_tenants_flush_graph(s, minute + 1) == OTTR_OK)
        s->flushed_minute = minute;
    (void)sampler_tenants_flush_spanmetrics(s, now);
    reclaim(s);
    update_keep_ratio(s);
    ottr_gauge_set(s->m_buffered, (double)atomic_load(&s->ntraces));
    ottr_gauge_set(s->m_keep_queue, (double)sampler_writer_pending(&s->w));
    ottr_gauge_set(s->m_keep_capacity, (double)atomic_load(&s->w.capacity));
    uint32_t oldest = sampler_writer_min_sec(&s->w, (uint32_t)sec);
    ottr_gauge_set(s->m_keep_oldest, (double)((uint32_t)sec - oldest));
}

void sampler_tick(sampler *s)
{
    uint64_t now = sampler_clock(s);
    sampler_decide_due(s, now, false);
    (void)sampler_writer_drain(&s->w);
    housekeeping(s, now, true);
}

void sampler_bench_decide(sampler *s, uint64_t now_ns)
{
    sampler_decide_due(s, now_ns, false);
}

int sampler_shards(const sampler *s)
{
    return s->o.shards;
}

static void *ticker_main(void *arg)
{
    sampler *s = arg;
    pthread_setname_np(pthread_self(), "ottr-ticker");
    pthread_mutex_lock(&s->tick_mu);
    while (!s->tick_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t t = (uint64_t)ts.tv_nsec + TICK_NS;
        ts.tv_sec += (time_t)(t / NS_PER_SEC);
        ts.tv_nsec = (long)(t % NS_PER_SEC);
        pthread_cond_timedwait(&s->tick_cv, &s->tick_mu, &ts);
        if (s->tick_stop)
            break;
        pthread_mutex_unlock(&s->tick_mu);
        uint64_t now = sampler_clock(s);
        sampler_decide_due(s, now, false);
        housekeeping(s, now, false);
        pthread_mutex_lock(&s->tick_mu);
    }
    pthread_mutex_unlock(&s->tick_mu);
    return NULL;
}

ottr_status sampler_start(sampler *s)
{
    if (s->o.manual_tick || s->started)
        return OTTR_OK;
    if (sampler_writer_start(&s->w) != 0)
        return OTTR_ERR_INTERNAL;
    s->tick_stop = false;
    if (pthread_create(&s->ticker, NULL, ticker_main, s) != 0) {
        sampler_writer_stop(&s->w);
        return OTTR_ERR_INTERNAL;
    }
    s->started = true;
    return OTTR_OK;
}

ottr_status sampler_replay(sampler *s)
{
    s->replaying = true;
    ottr_status st = sampler_replay_pending(s);
    s->replaying = false;
    ottr_gauge_set(s->m_buffered, (double)atomic_load(&s->ntraces));
    return st;
}

int sampler_reload(sampler *s, const ottr_yaml_node *policies, char *err, size_t errlen)
{
    policy_set *ps = NULL;
    if (sampler_policy_set_parse(policies, &ps, err, errlen) != 0)
        return -1;
    sampler_policy_set_bind_metrics(ps);
    /* The decider holds pol_lock for reading while it runs, so taking it for
     * writing also waits for a decision pass to end. */
    pthread_rwlock_wrlock(&s->pol_lock);
    uint64_t map[POL_MAX_BITS];
    sampler_policy_set_map_bits(s->pol, ps, map);
    sampler_remap_bits(s, map);
    policy_set *old = s->pol;
    s->pol = ps;
    /* New policies keep another share: guess it again until decisions tell. */
    atomic_store(&s->keep_prior, sampler_policy_set_keep_prior(ps));
    atomic_store(&s->keep_permille, 0);
    pthread_rwlock_unlock(&s->pol_lock);
    sampler_policy_set_free(old);
    OTTR_INFO("sampler", "policies reloaded: %zu policies; %llu traces still buffered", ps->ntop,
              (unsigned long long)atomic_load(&s->ntraces));
    return 0;
}

void sampler_stop(sampler *s)
{
    if (s == NULL || s->stopped)
        return;
    s->stopped = true;
    if (s->started) {
        pthread_mutex_lock(&s->tick_mu);
        s->tick_stop = true;
        pthread_cond_signal(&s->tick_cv);
        pthread_mutex_unlock(&s->tick_mu);
        pthread_join(s->ticker, NULL);
    }
    uint64_t now = sampler_clock(s);
    sampler_decide_due(s, now, false);
    if (s->w.started)
        sampler_writer_stop(&s->w);
    else
        (void)sampler_writer_drain(&s->w);
    /* Calls to databases and peer.service targets still waiting for a server
     * span become their edges now rather than vanish with the process. */
    sampler_tenants_expire_graph_all(s, now);
    if (sampler_tenants_flush_graph(s, UINT32_MAX) != OTTR_OK)
        OTTR_WARN("sampler", "could not persist the last service graph counts");
    if (sampler_tenants_flush_spanmetrics(s, now) != OTTR_OK)
        OTTR_WARN("sampler", "could not persist the last span metrics");
    reclaim(s);
    s->started = false;
}

void sampler_destroy(sampler *s)
{
    if (s == NULL)
        return;
    sampler_stop(s);
    ottr_metrics_remove_collector(render_metrics, s);
    shards_free(s);
    sampler_writer_destroy(&s->w);
    sampler_tenants_free(s);
    pthread_mutex_destroy(&s->tenant_mu);
    sampler_policy_set_free(s->pol);
    pthread_rwlock_destroy(&s->pol_lock);
    pthread_mutex_destroy(&s->decide_mu);
    pthread_mutex_destroy(&s->arr_mu);
    pthread_mutex_destroy(&s->tok_mu);
    pthread_cond_destroy(&s->arr_cv);
    pthread_mutex_destroy(&s->tick_mu);
    pthread_cond_destroy(&s->tick_cv);
    free(s);
}

void sampler_policies_json(sampler *s, ottr_buf *out)
{
    pthread_rwlock_rdlock(&s->pol_lock);
    sampler_policy_set_json(s->pol, out);
    pthread_rwlock_unlock(&s->pol_lock);
}

void sampler_get_stats(sampler *s, sampler_stats *st)
{
    uint64_t n = atomic_load(&s->ntraces);
    st->traces_buffered = n;
    st->bytes_buffered = n * sizeof(trace_entry) + atomic_load(&s->index_bytes);
    st->kept = atomic_load(&s->kept);
    st->dropped = atomic_load(&s->dropped);
    st->late_spans = atomic_load(&s->late_spans);
}
