/* sampler/trace_table.c - the buffered traces of each shard: summaries updated
 * as spans arrive, two deadline lists (by first arrival for decision_wait, by
 * last arrival for root-seen traces), and the decision that empties them. */
#include <stdlib.h>
#include <string.h>

#include "sampler/internal.h"

/* Decisions taken per shard lock hold, so that submits are not kept waiting. */
#define DECIDE_BATCH 1024

static trace_entry *at(shard *sh, uint32_t idx)
{
    return sampler_idt_at(&sh->traces, idx);
}

/* ---- the FIFO of every entry, sorted by first_ns ---- */

static void fifo_insert(shard *sh, uint32_t idx, trace_entry *e)
{
    /* Arrival times are almost always the newest, so walk back from the tail. */
    uint32_t after = sh->fifo_tail;
    while (after != IDT_NONE && at(sh, after)->first_ns > e->first_ns)
        after = at(sh, after)->fifo_prev;
    e->fifo_prev = after;
    if (after == IDT_NONE) {
        e->fifo_next = sh->fifo_head;
        sh->fifo_head = idx;
    } else {
        e->fifo_next = at(sh, after)->fifo_next;
        at(sh, after)->fifo_next = idx;
    }
    if (e->fifo_next == IDT_NONE)
        sh->fifo_tail = idx;
    else
        at(sh, e->fifo_next)->fifo_prev = idx;
}

static void fifo_unlink(shard *sh, trace_entry *e)
{
    if (e->fifo_prev != IDT_NONE)
        at(sh, e->fifo_prev)->fifo_next = e->fifo_next;
    else
        sh->fifo_head = e->fifo_next;
    if (e->fifo_next != IDT_NONE)
        at(sh, e->fifo_next)->fifo_prev = e->fifo_prev;
    else
        sh->fifo_tail = e->fifo_prev;
}

/* ---- the root list: forced entries first, then by last_ns ---- */

static void root_unlink(shard *sh, trace_entry *e)
{
    if (!(e->flags & TE_INROOT))
        return;
    if (e->root_prev != IDT_NONE)
        at(sh, e->root_prev)->root_next = e->root_next;
    else
        sh->root_head = e->root_next;
    if (e->root_next != IDT_NONE)
        at(sh, e->root_next)->root_prev = e->root_prev;
    else
        sh->root_tail = e->root_prev;
    e->flags &= (uint8_t)~TE_INROOT;
}

static void root_link_after(shard *sh, uint32_t idx, trace_entry *e, uint32_t after)
{
    e->root_prev = after;
    if (after == IDT_NONE) {
        e->root_next = sh->root_head;
        sh->root_head = idx;
    } else {
        e->root_next = at(sh, after)->root_next;
        at(sh, after)->root_next = idx;
    }
    if (e->root_next == IDT_NONE)
        sh->root_tail = idx;
    else
        at(sh, e->root_next)->root_prev = idx;
    e->flags |= TE_INROOT;
}

static void root_insert_sorted(shard *sh, uint32_t idx, trace_entry *e)
{
    uint32_t after = sh->root_tail;
    while (after != IDT_NONE && !(at(sh, after)->flags & TE_FORCED) &&
           at(sh, after)->last_ns > e->last_ns)
        after = at(sh, after)->root_prev;
    root_link_after(sh, idx, e, after);
}

/* ---- updates ---- */

static void index_bytes_update(sampler *s, size_t before, size_t after)
{
    if (after > before)
        atomic_fetch_add(&s->index_bytes, after - before);
    else if (before > after)
        atomic_fetch_sub(&s->index_bytes, before - after);
}

static size_t slot_bytes(const shard *sh)
{
    return (sh->traces.mask + 1) * sizeof(uint64_t);
}

/* Bytes of a refs array holding |n| refs (capacity: the next power of two, at
 * least 4). */
static size_t refs_cap(uint32_t n)
{
    size_t c = 4;
    while (c < n)
        c <<= 1;
    return c;
}

/* Remembers that the trace has spans in the record |ref|. Returns 0 or -1 (out
 * of memory: the span's record is still known to nobody, as when the entry
 * itself cannot be made). */
static int add_ref(sampler *s, trace_entry *e, store_pending_ref ref)
{
    if (e->nrefs == 0) {
        e->ref0 = ref;
        e->nrefs = 1;
        return 0;
    }
    const store_pending_ref *last = e->nrefs > 1 ? &e->refs[e->nrefs - 1] : &e->ref0;
    if (last->sec == ref.sec && last->seq == ref.seq)
        return 0; /* the same record again (replay) */
    if (e->nrefs == UINT32_MAX)
        return -1;
    if (e->nrefs == 1 || (e->nrefs >= 4 && (e->nrefs & (e->nrefs - 1)) == 0)) {
        size_t ncap = refs_cap(e->nrefs + 1);
        store_pending_ref *n = realloc(e->refs, ncap * sizeof(*n));
        if (n == NULL)
            return -1;
        if (e->nrefs == 1)
            n[0] = e->ref0;
        size_t had = e->nrefs == 1 ? 0 : refs_cap(e->nrefs) * sizeof(*n);
        atomic_fetch_add(&s->index_bytes, ncap * sizeof(*n) - had);
        e->refs = n;
    }
    e->refs[e->nrefs++] = ref;
    return 0;
}

/* Hands the entry's refs to a job (|j| may be NULL: they are freed). */
static void take_refs(sampler *s, trace_entry *e, keep_job *j)
{
    if (e->nrefs > 1)
        atomic_fetch_sub(&s->index_bytes, refs_cap(e->nrefs) * sizeof(*e->refs));
    if (j) {
        j->nrefs = e->nrefs;
        j->ref0 = e->ref0;
        j->refs = e->nrefs > 1 ? e->refs : NULL;
        j->min_sec = e->ref0.sec;
        for (uint32_t i = 1; i < e->nrefs; i++)
            if (e->refs[i].sec < j->min_sec)
                j->min_sec = e->refs[i].sec;
    } else {
        free(e->refs);
    }
    e->refs = NULL;
    e->nrefs = 0;
}

ottr_status sampler_apply_group(sampler *s, const policy_set *ps, sampler_tenant *t,
                                const uint8_t trace_id[16], const otlp_span_ref *spans,
                                size_t nspans, size_t bytes, store_pending_ref ref, uint64_t now_ns,
                                bool live)
{
    uint64_t bits = sampler_policy_set_match(ps, spans, nspans);
    bool root = false;
    uint64_t mn = UINT64_MAX, mx = 0;
    for (size_t i = 0; i < nspans; i++) {
        const otlp_span *sp = spans[i].span;
        if (sp->parent_span_id.len == 0)
            root = true;
        if (sp->start_time_unix_nano != 0 && sp->start_time_unix_nano < mn)
            mn = sp->start_time_unix_nano;
        if (sp->end_time_unix_nano > mx)
            mx = sp->end_time_unix_nano;
    }
    trace_key key = trace_key_of(t->id, trace_id);
    uint64_t h = sampler_idt_hash(&key, SAMPLER_KEY_LEN);
    shard *sh = &s->shards[(h >> 32) % (uint64_t)s->nshards];
    uint64_t max_bytes = s->o.max_trace_bytes;
    if (t->lim.max_bytes_per_trace && t->lim.max_bytes_per_trace < max_bytes)
        max_bytes = t->lim.max_bytes_per_trace;

    pthread_mutex_lock(&sh->mu);
    uint32_t idx = sampler_idt_find(&sh->traces, &key, h);
    if (idx == IDT_NONE) {
        if (live && sampler_dcache_has(&sh->kept, h)) {
            /* A late span of a kept trace: stored with it. */
            keep_job j = {.tenant = t->id, .nrefs = 1, .min_sec = ref.sec, .ref0 = ref};
            memcpy(j.trace_id, trace_id, 16);
            sampler_writer_push(&s->w, &j);
            pthread_mutex_unlock(&sh->mu);
            atomic_fetch_add(&s->late_spans, nspans);
            ottr_counter_add(s->m_late_kept, nspans);
            return OTTR_OK;
        }
        if (live && sampler_dcache_has(&sh->dropped, h)) {
            pthread_mutex_unlock(&sh->mu);
            atomic_fetch_add(&s->late_spans, nspans);
            ottr_counter_add(s->m_late_dropped, nspans);
            return OTTR_OK;
        }
        size_t before = slot_bytes(sh);
        idx = sampler_idt_insert(&sh->traces, &key, h);
        index_bytes_update(s, before, slot_bytes(sh));
        if (idx == IDT_NONE) {
            pthread_mutex_unlock(&sh->mu);
            return OTTR_ERR_NOMEM;
        }
        trace_entry *e = at(sh, idx);
        e->first_ns = e->last_ns = now_ns;
        e->min_start_ns = UINT64_MAX;
        e->root_prev = e->root_next = IDT_NONE;
        fifo_insert(sh, idx, e);
        atomic_fetch_add(&s->ntraces, 1);
        atomic_fetch_add_explicit(&t->buffered, 1, memory_order_relaxed);
    }
    trace_entry *e = at(sh, idx);
    if (add_ref(s, e, ref) != 0) {
        pthread_mutex_unlock(&sh->mu);
        return OTTR_ERR_NOMEM;
    }
    if (now_ns > e->last_ns)
        e->last_ns = now_ns;
    uint64_t cnt = (uint64_t)e->span_count + nspans;
    e->span_count = cnt > UINT32_MAX ? UINT32_MAX : (uint32_t)cnt;
    e->bytes += bytes;
    e->bits |= bits;
    if (mn < e->min_start_ns)
        e->min_start_ns = mn;
    if (mx > e->max_end_ns)
        e->max_end_ns = mx;
    if (root)
        e->flags |= TE_ROOT;
    if (!(e->flags & TE_FORCED)) {
        if (e->span_count > s->o.max_spans_per_trace || e->bytes > max_bytes) {
            /* Too big to wait: decided at the next tick, ahead of everything. */
            root_unlink(sh, e);
            e->flags |= TE_FORCED;
            root_link_after(sh, idx, e, IDT_NONE);
        } else if (e->flags & TE_ROOT) {
            root_unlink(sh, e);
            root_insert_sorted(sh, idx, e);
        }
    }
    pthread_mutex_unlock(&sh->mu);
    return OTTR_OK;
}

/* Decides the entry |idx| and removes it. Under sh->mu, pol_lock (read) and
 * decide_mu. */
static void decide_one(sampler *s, shard *sh, uint32_t idx, uint64_t now_ns)
{
    trace_entry *e = at(sh, idx);
    pol_trace t = {
        .trace_id = e->trace_id,
        .span_count = e->span_count,
        .bytes = e->bytes,
        .min_start_ns = e->min_start_ns,
        .max_end_ns = e->max_end_ns,
        .bits = e->bits,
        .now_ns = now_ns,
    };
    const char *who = NULL;
    sampler_tenant *te = sampler_tenant_find(s, e->tenant);
    bool keep = sampler_policy_set_decide(sampler_tenant_policies(s, te), &t, &who);
    uint64_t h = sampler_idt_hash(e, SAMPLER_KEY_LEN);
    if (keep) {
        keep_job j;
        j.tenant = e->tenant;
        memcpy(j.trace_id, e->trace_id, 16);
        take_refs(s, e, &j);
        sampler_writer_push(&s->w, &j);
        if (sampler_dcache_add(&sh->kept, h) != 0)
            OTTR_WARN("sampler", "out of memory: a kept trace's late spans will be new traces");
        atomic_fetch_add(&s->kept, 1);
    } else {
        take_refs(s, e, NULL);
        (void)sampler_dcache_add(&sh->dropped, h);
        atomic_fetch_add(&s->dropped, 1);
    }
    double age = now_ns > e->first_ns ? (double)(now_ns - e->first_ns) / NS_PER_SEC : 0.0;
    ottr_histogram_observe(s->m_age, age);
    fifo_unlink(sh, e);
    root_unlink(sh, e);
    size_t before = slot_bytes(sh);
    if (te)
        atomic_fetch_sub_explicit(&te->buffered, 1, memory_order_relaxed);
    sampler_idt_remove(&sh->traces, idx, h);
    index_bytes_update(s, before, slot_bytes(sh));
    atomic_fetch_sub(&s->ntraces, 1);
}

/* The next entry due at |now_ns|, or IDT_NONE. */
static uint32_t next_due(sampler *s, shard *sh, uint64_t now_ns, bool all)
{
    if (sh->root_head != IDT_NONE) {
        trace_entry *e = at(sh, sh->root_head);
        if (all || (e->flags & TE_FORCED) ||
            e->last_ns + s->o.decision_wait_after_root_ns <= now_ns)
            return sh->root_head;
    }
    if (sh->fifo_head != IDT_NONE) {
        trace_entry *e = at(sh, sh->fifo_head);
        if (all || e->first_ns + s->o.decision_wait_ns <= now_ns)
            return sh->fifo_head;
    }
    return IDT_NONE;
}

void sampler_decide_due(sampler *s, uint64_t now_ns, bool all)
{
    pthread_mutex_lock(&s->decide_mu);
    pthread_rwlock_rdlock(&s->pol_lock);
    for (int i = 0; i < s->nshards; i++) {
        shard *sh = &s->shards[i];
        bool more = true;
        while (more) {
            pthread_mutex_lock(&sh->mu);
            int n = 0;
            uint32_t idx;
            while (n < DECIDE_BATCH && (idx = next_due(s, sh, now_ns, all)) != IDT_NONE) {
                decide_one(s, sh, idx, now_ns);
                n++;
            }
            more = n == DECIDE_BATCH;
            pthread_mutex_unlock(&sh->mu);
        }
    }
    pthread_rwlock_unlock(&s->pol_lock);
    pthread_mutex_unlock(&s->decide_mu);
}

/* Rewrites every buffered trace's bits for a new policy set. Under pol_lock
 * (write). */
void sampler_remap_bits(sampler *s, const uint64_t map[POL_MAX_BITS])
{
    for (int i = 0; i < s->nshards; i++) {
        shard *sh = &s->shards[i];
        pthread_mutex_lock(&sh->mu);
        for (uint32_t idx = sh->fifo_head; idx != IDT_NONE; idx = at(sh, idx)->fifo_next) {
            trace_entry *e = at(sh, idx);
            const sampler_tenant *te = sampler_tenant_find(s, e->tenant);
            if (te && te->pol)
                continue; /* decided by its tenant's own policies, not reloaded */
            e->bits = sampler_policy_bits_remap(e->bits, map);
        }
        pthread_mutex_unlock(&sh->mu);
    }
}

/* The smallest first arrival second of a buffered trace, or |dflt|. */
uint32_t sampler_oldest_sec(sampler *s, uint32_t dflt)
{
    uint32_t m = dflt;
    for (int i = 0; i < s->nshards; i++) {
        shard *sh = &s->shards[i];
        pthread_mutex_lock(&sh->mu);
        if (sh->fifo_head != IDT_NONE) {
            uint32_t sec = (uint32_t)(at(sh, sh->fifo_head)->first_ns / NS_PER_SEC);
            if (sec < m)
                m = sec;
        }
        pthread_mutex_unlock(&sh->mu);
    }
    return m;
}

/* True when the trace is buffered or recently decided. */
bool sampler_trace_known(sampler *s, uint32_t tenant, const uint8_t trace_id[16])
{
    trace_key key = trace_key_of(tenant, trace_id);
    uint64_t h = sampler_idt_hash(&key, SAMPLER_KEY_LEN);
    shard *sh = &s->shards[(h >> 32) % (uint64_t)s->nshards];
    pthread_mutex_lock(&sh->mu);
    bool known = sampler_idt_find(&sh->traces, &key, h) != IDT_NONE ||
                 sampler_dcache_has(&sh->kept, h) || sampler_dcache_has(&sh->dropped, h);
    pthread_mutex_unlock(&sh->mu);
    return known;
}

void sampler_mark_kept(sampler *s, uint32_t tenant, const uint8_t trace_id[16],
                       store_pending_ref ref)
{
    trace_key key = trace_key_of(tenant, trace_id);
    uint64_t h = sampler_idt_hash(&key, SAMPLER_KEY_LEN);
    shard *sh = &s->shards[(h >> 32) % (uint64_t)s->nshards];
    keep_job j = {.tenant = tenant, .nrefs = 1, .min_sec = ref.sec, .ref0 = ref};
    memcpy(j.trace_id, trace_id, 16);
    pthread_mutex_lock(&sh->mu);
    sampler_writer_push(&s->w, &j);
    (void)sampler_dcache_add(&sh->kept, h);
    pthread_mutex_unlock(&sh->mu);
}

ottr_status sampler_bench_insert(sampler *s, const uint8_t (*ids)[16], size_t n, uint64_t now_ns)
{
    static const uint8_t parent[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    otlp_span sp = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    sp.parent_span_id.data = (uint8_t *)parent;
    sp.parent_span_id.len = 8;
    sp.kind = SPAN_KIND_INTERNAL;
    sp.start_time_unix_nano = now_ns - 5000000;
    sp.end_time_unix_nano = now_ns;
    otlp_span_ref ref = {.span = &sp, .service = "bench"};
    sampler_tenant *t = sampler_tenant_get(s, STORE_TENANT_DEFAULT);
    if (t == NULL)
        return OTTR_ERR_NOMEM;
    pthread_rwlock_rdlock(&s->pol_lock);
    ottr_status st = OTTR_OK;
    for (size_t i = 0; i < n && st == OTTR_OK; i++) {
        store_pending_ref pref = {(uint32_t)(now_ns / NS_PER_SEC), (uint32_t)i};
        st = sampler_apply_group(s, sampler_tenant_policies(s, t), t, ids[i], &ref, 1, 200, pref,
                                 now_ns, true);
    }
    pthread_rwlock_unlock(&s->pol_lock);
    return st;
}
