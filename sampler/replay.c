/* sampler/replay.c - rebuilds the summaries of undecided traces from the pending log
 * after a restart or a crash, each span arriving at its record's second. */
#include <stdlib.h>

#include "sampler/internal.h"

typedef struct replay_ctx {
    sampler *s;
    ottr_arena arena;
    ottr_status st;
    uint64_t records, bad;
    store_trace_summary sum;
} replay_ctx;

static int replay_record(void *ctx, store_pending_ref ref, uint32_t tenant,
                         const uint8_t trace_id[16], const uint8_t *chunk, size_t len)
{
    replay_ctx *rc = ctx;
    sampler *s = rc->s;
    /* Only kept traces have a summary: such a record is a span of a trace
     * decided before the restart, stored with it like any late span. */
    if (store_get_summary(store_view_of(s->st, tenant), trace_id, &rc->sum) == OTTR_OK) {
        sampler_mark_kept(s, tenant, trace_id, ref);
        rc->records++;
        return 0;
    }
    ottr_arena_reset(&rc->arena);
    otlp_trace t;
    if (otlp_trace_decode(&t, &rc->arena, chunk, len) != OTTR_OK) {
        rc->bad++;
        return 0;
    }
    uint64_t now = (uint64_t)ref.sec * NS_PER_SEC;
    pthread_mutex_lock(&s->arr_mu);
    if (now > s->arr_last_ns)
        s->arr_last_ns = now;
    pthread_mutex_unlock(&s->arr_mu);
    sampler_tenant *te = sampler_tenant_get(s, tenant);
    ottr_status st = te ? sampler_apply_group(s, sampler_tenant_policies(s, te), te, trace_id,
                                              t.spans, t.nspans, len, ref, now, false)
                        : OTTR_ERR_NOMEM;
    if (st != OTTR_OK) {
        rc->st = st;
        return 1;
    }
    rc->records++;
    return 0;
}

ottr_status sampler_replay_pending(sampler *s)
{
    /* On the heap: the summary buffer is large. */
    replay_ctx *rc = calloc(1, sizeof(*rc));
    if (rc == NULL)
        return OTTR_ERR_NOMEM;
    rc->s = s;
    rc->st = OTTR_OK;
    ottr_arena_init(&rc->arena, 64 << 10, 512u << 20);
    pthread_rwlock_rdlock(&s->pol_lock);
    ottr_status st = store_replay_pending(s->st, replay_record, rc);
    pthread_rwlock_unlock(&s->pol_lock);
    ottr_arena_free(&rc->arena);
    if (st == OTTR_OK)
        st = rc->st;
    if (rc->bad > 0)
        OTTR_WARN("sampler", "replay: %llu pending records did not decode and were skipped",
                  (unsigned long long)rc->bad);
    OTTR_INFO("sampler", "replayed %llu pending records into %llu buffered traces",
              (unsigned long long)rc->records, (unsigned long long)atomic_load(&s->ntraces));
    free(rc);
    return st;
}
