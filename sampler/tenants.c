/* sampler/tenants.c - what the sampler keeps per tenant: span metrics and the
 * service graph (so that they, and the edges persisted from them, never mix
 * tenants), the count of undecided traces, and the tenant's limits (Tempo's
 * overrides: a span-rate token bucket with a burst, buffered traces, bytes per
 * trace). States live in pages indexed by the store's tenant number, found
 * with two atomic loads; one is created at a tenant's first request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/internal.h"

/* Bounds of each tenant's span metrics and service graph. */
#define GRAPH_WAIT_NS          (10 * NS_PER_SEC)
#define GRAPH_MAX_PENDING      200000
#define GRAPH_MAX_EDGES        10000
#define SPANMETRICS_MAX_SERIES 10000

sampler_tenant *sampler_tenant_find(sampler *s, uint32_t id)
{
    if (id > STORE_TENANT_MAX)
        return NULL;
    tenant_slot *page =
        atomic_load_explicit(&s->tenant_pages[id / TENANT_PAGE], memory_order_acquire);
    if (page == NULL)
        return NULL;
    return atomic_load_explicit(&page[id % TENANT_PAGE], memory_order_acquire);
}

/* Gives |t| the limits and policies of tenant |name|: an override's, or the
 * defaults and the global policies. */
static void apply_overrides(const sampler *s, sampler_tenant *t, const char *name)
{
    t->lim = s->o.tenant_limits;
    for (size_t i = 0; i < s->o.noverrides; i++) {
        if (s->o.overrides[i].name && strcmp(s->o.overrides[i].name, name) == 0) {
            t->lim = s->o.overrides[i].limits;
            t->pol = s->tenant_pols ? s->tenant_pols[i] : NULL;
            return;
        }
    }
}

static void tenant_free(sampler_tenant *t)
{
    if (t == NULL)
        return;
    sampler_spanmetrics_destroy(t->sm);
    sampler_servicegraph_destroy(t->sg);
    pthread_mutex_destroy(&t->rate_mu);
    free(t);
}

static sampler_tenant *tenant_new(sampler *s, uint32_t id)
{
    sampler_tenant *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->id = id;
    pthread_mutex_init(&t->rate_mu, NULL);
    char name[STORE_TENANT_NAME_MAX + 1];
    if (store_tenant_name(s->st, id, name, sizeof(name)) != 0)
        snprintf(name, sizeof(name), "%u", id);
    apply_overrides(s, t, name);
    if (t->lim.rate_spans && t->lim.burst_spans == 0)
        t->lim.burst_spans = t->lim.rate_spans;
    t->rate_tokens = t->lim.burst_spans * 1000;
    t->rate_last_ns = ottr_mono_ns();
    if (s->o.multitenant) {
        ottr_buf b = {0};
        ottr_prom_label(&b, "tenant", name);
        if (b.oom || b.len >= sizeof(t->label)) {
            ottr_buf_free(&b);
            tenant_free(t);
            return NULL;
        }
        memcpy(t->label, b.data, b.len + 1);
        ottr_buf_free(&b);
    }
    char labels[sizeof(t->label) + 32];
    snprintf(labels, sizeof(labels), "%s%sreason=\"rate\"", t->label, t->label[0] ? "," : "");
    static const char help[] = "Spans refused because their tenant was over one of its limits "
                               "(overrides: span rate, buffered traces).";
    t->m_limited_rate = ottr_counter_get("ottr_tenant_limited_spans_total", help, labels);
    snprintf(labels, sizeof(labels), "%s%sreason=\"traces\"", t->label, t->label[0] ? "," : "");
    t->m_limited_traces = ottr_counter_get("ottr_tenant_limited_spans_total", help, labels);
    t->sm = sampler_spanmetrics_create(SPANMETRICS_MAX_SERIES);
    t->sg = sampler_servicegraph_create(GRAPH_WAIT_NS, GRAPH_MAX_PENDING, GRAPH_MAX_EDGES);
    if (t->sm == NULL || t->sg == NULL) {
        tenant_free(t);
        return NULL;
    }
    return t;
}

sampler_tenant *sampler_tenant_get(sampler *s, uint32_t id)
{
    sampler_tenant *t = sampler_tenant_find(s, id);
    if (t != NULL || id > STORE_TENANT_MAX)
        return t;
    pthread_mutex_lock(&s->tenant_mu);
    tenant_slot *page = atomic_load(&s->tenant_pages[id / TENANT_PAGE]);
    if (page == NULL) {
        page = calloc(TENANT_PAGE, sizeof(*page));
        if (page != NULL)
            atomic_store_explicit(&s->tenant_pages[id / TENANT_PAGE], page, memory_order_release);
    }
    if (page != NULL) {
        t = atomic_load(&page[id % TENANT_PAGE]);
        if (t == NULL && (t = tenant_new(s, id)) != NULL)
            atomic_store_explicit(&page[id % TENANT_PAGE], t, memory_order_release);
    }
    pthread_mutex_unlock(&s->tenant_mu);
    return t;
}

ottr_status sampler_tenant_admit(sampler_tenant *t, size_t nspans, size_t new_traces)
{
    if (t->lim.max_traces && new_traces &&
        atomic_load_explicit(&t->buffered, memory_order_relaxed) + new_traces > t->lim.max_traces) {
        ottr_counter_add(t->m_limited_traces, nspans);
        return OTTR_ERR_LIMIT;
    }
    if (t->lim.rate_spans == 0)
        return OTTR_OK;
    uint64_t cost = (uint64_t)nspans * 1000, full = t->lim.burst_spans * 1000;
    uint64_t now = ottr_mono_ns();
    pthread_mutex_lock(&t->rate_mu);
    if (now > t->rate_last_ns) {
        /* Whole milliseconds: ms × spans/s = milli-spans. */
        uint64_t ms = (now - t->rate_last_ns) / NS_PER_MS;
        uint64_t add = ms * t->lim.rate_spans;
        t->rate_tokens = t->rate_tokens + add > full ? full : t->rate_tokens + add;
        t->rate_last_ns += ms * NS_PER_MS;
    }
    /* A request larger than the whole burst is never taken, as in Tempo: the
     * burst must hold the largest batch a client sends. */
    bool ok = t->rate_tokens >= cost;
    if (ok)
        t->rate_tokens -= cost;
    pthread_mutex_unlock(&t->rate_mu);
    if (!ok) {
        ottr_counter_add(t->m_limited_rate, nspans);
        return OTTR_ERR_LIMIT;
    }
    return OTTR_OK;
}

int sampler_tenants_parse_policies(sampler *s, char *err, size_t errlen)
{
    if (s->o.noverrides == 0)
        return 0;
    s->tenant_pols = calloc(s->o.noverrides, sizeof(*s->tenant_pols));
    if (s->tenant_pols == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < s->o.noverrides; i++) {
        const ottr_yaml_node *p = s->o.overrides[i].policies;
        if (p == NULL)
            continue;
        char inner[512];
        if (sampler_policy_set_parse(p, &s->tenant_pols[i], inner, sizeof(inner)) != 0) {
            snprintf(err, errlen, "overrides.per_tenant.%s.sampling.policies: %s",
                     s->o.overrides[i].name, inner);
            return -1;
        }
        sampler_policy_set_bind_metrics(s->tenant_pols[i]);
    }
    return 0;
}

void sampler_tenants_free(sampler *s)
{
    for (size_t i = 0; s->tenant_pols && i < s->o.noverrides; i++)
        sampler_policy_set_free(s->tenant_pols[i]);
    free(s->tenant_pols);
    s->tenant_pols = NULL;
    for (size_t p = 0; p < TENANT_NPAGES; p++) {
        tenant_slot *page = atomic_load(&s->tenant_pages[p]);
        if (page == NULL)
            continue;
        for (size_t i = 0; i < TENANT_PAGE; i++)
            tenant_free(atomic_load(&page[i]));
        free(page);
        s->tenant_pages[p] = NULL;
    }
}

/* Calls |fn| for every tenant state, in number order. */
static void each(sampler *s, void (*fn)(void *ctx, sampler_tenant *t), void *ctx)
{
    for (size_t p = 0; p < TENANT_NPAGES; p++) {
        tenant_slot *page = atomic_load_explicit(&s->tenant_pages[p], memory_order_acquire);
        for (size_t i = 0; page && i < TENANT_PAGE; i++) {
            sampler_tenant *t = atomic_load_explicit(&page[i], memory_order_acquire);
            if (t)
                fn(ctx, t);
        }
    }
}

typedef struct gather {
    sampler_tenant **v;
    size_t n, cap;
    bool oom;
} gather;

static void gather_one(void *ctx, sampler_tenant *t)
{
    gather *g = ctx;
    if (g->n == g->cap) {
        size_t ncap = g->cap ? g->cap * 2 : 16;
        sampler_tenant **nv = realloc(g->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            g->oom = true;
            return;
        }
        g->v = nv;
        g->cap = ncap;
    }
    g->v[g->n++] = t;
}

void sampler_tenants_render(sampler *s, ottr_buf *out)
{
    gather g = {0};
    each(s, gather_one, &g);
    spanmetrics **sm = g.n ? malloc(g.n * sizeof(*sm)) : NULL;
    servicegraph **sg = g.n ? malloc(g.n * sizeof(*sg)) : NULL;
    const char **labels = g.n ? malloc(g.n * sizeof(*labels)) : NULL;
    size_t n = sm && sg && labels ? g.n : 0;
    for (size_t i = 0; i < n; i++) {
        sm[i] = g.v[i]->sm;
        sg[i] = g.v[i]->sg;
        labels[i] = g.v[i]->label;
    }
    sampler_spanmetrics_render(sm, labels, n, out);
    sampler_servicegraph_render(sg, labels, n, out);
    free(sm);
    free(sg);
    free(labels);
    free(g.v);
}

typedef struct flush_ctx {
    sampler *s;
    uint32_t before; /* graph: minutes before this one */
    uint64_t now;    /* span metrics: the current time */
    ottr_status st;
} flush_ctx;

static void flush_note(flush_ctx *f, ottr_status st)
{
    if (st != OTTR_OK && f->st == OTTR_OK)
        f->st = st;
}

static void flush_one(void *ctx, sampler_tenant *t)
{
    flush_ctx *f = ctx;
    flush_note(f, sampler_servicegraph_flush(t->sg, store_view_of(f->s->st, t->id), f->before));
}

ottr_status sampler_tenants_flush_graph(sampler *s, uint32_t before_minute)
{
    flush_ctx f = {s, before_minute, 0, OTTR_OK};
    each(s, flush_one, &f);
    return f.st;
}

static void flush_metrics_one(void *ctx, sampler_tenant *t)
{
    flush_ctx *f = ctx;
    flush_note(f, sampler_spanmetrics_flush(t->sm, store_view_of(f->s->st, t->id), f->now));
}

ottr_status sampler_tenants_flush_spanmetrics(sampler *s, uint64_t now_ns)
{
    flush_ctx f = {s, 0, now_ns, OTTR_OK};
    each(s, flush_metrics_one, &f);
    return f.st;
}

typedef struct expire_ctx {
    uint64_t now;
} expire_ctx;

static void expire_one(void *ctx, sampler_tenant *t)
{
    sampler_servicegraph_expire(t->sg, ((expire_ctx *)ctx)->now);
}

void sampler_tenants_expire_graph(sampler *s, uint64_t now_ns)
{
    expire_ctx e = {now_ns};
    each(s, expire_one, &e);
}

static void expire_all_one(void *ctx, sampler_tenant *t)
{
    sampler_servicegraph_expire_all(t->sg, ((expire_ctx *)ctx)->now);
}

void sampler_tenants_expire_graph_all(sampler *s, uint64_t now_ns)
{
    expire_ctx e = {now_ns};
    each(s, expire_all_one, &e);
}
