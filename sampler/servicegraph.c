/* sampler/servicegraph.c - the service graph from every span, as Tempo's
 * metrics-generator builds it: CLIENT/PRODUCER spans wait under (trace ID, span
 * ID), SERVER/CONSUMER spans under (trace ID, parent span ID); a pair is an edge.
 * Unpaired halves expire into virtual nodes (peer.service, databases) or the
 * unpaired counter; a root SERVER span is called by "user". Edges and per-service
 * node stats are counted for /metrics and per minute for the store. */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "sampler/internal.h"

#define STRIPES      8
#define MAX_NAMES    10000
#define MAX_NAME_LEN 95

enum { ROLE_CLIENT = 1, ROLE_PRODUCER, ROLE_SERVER, ROLE_CONSUMER };

static const double sg_bounds[] = {0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8};
#define NSG (sizeof(sg_bounds) / sizeof(sg_bounds[0]))
static const double store_bounds[STORE_LAT_BUCKETS - 1] = {0.002, 0.004, 0.008, 0.016, 0.032,
                                                           0.064, 0.128, 0.256, 0.512, 1.024,
                                                           2.048, 4.096, 8.192, 16.384};

static const char TYPE_NONE[] = "";
static const char TYPE_MESSAGING[] = "messaging_system";
static const char TYPE_DATABASE[] = "database";
static const char TYPE_VIRTUAL[] = "virtual_node";

/* One span waiting for its other half. */
typedef struct sg_half {
    uint8_t key[24]; /* trace ID, then the span ID it waits under */
    uint32_t free_next;
    uint32_t prev, next; /* FIFO by expiry */
    uint8_t role;
    uint8_t failed;
    uint8_t db;
    const char *service; /* interned */
    const char *virt;    /* interned peer/database name, or NULL */
    double secs;
    uint64_t expire_ns;
} sg_half;

typedef struct sg_stripe {
    pthread_mutex_t mu;
    idtable halves;
    uint32_t head, tail;
} sg_stripe;

/* Cumulative edge counts for /metrics. */
typedef struct sg_edge {
    const char *client, *server, *type;
    uint64_t calls, failed;
    uint64_t srv[NSG + 1], cli[NSG + 1];
    double srv_sum, cli_sum;
} sg_edge;

/* Per-minute counts for the store. */
typedef struct sg_edge_min {
    uint32_t minute;
    const char *client, *server, *type;
    uint64_t calls, failed;
    uint64_t lat[STORE_LAT_BUCKETS];
    double sum;
} sg_edge_min;

typedef struct sg_node_min {
    uint32_t minute;
    const char *service;
    uint64_t calls, errors;
    uint64_t lat[STORE_LAT_BUCKETS];
    double sum;
} sg_node_min;

typedef struct sg_unpaired {
    const char *client, *server;
    uint64_t n;
} sg_unpaired;

struct servicegraph {
    uint64_t wait_ns;
    size_t max_pending;
    size_t max_edges;
    _Atomic size_t pending;
    _Atomic uint64_t dropped;
    sg_stripe stripe[STRIPES];

    pthread_mutex_t agg_mu; /* innermost lock: names and all aggregates */
    strmap names;           /* name -> interned copy */
    strmap edges;           /* (client, server, type) pointers -> sg_edge */
    strmap edge_min;        /* (minute, client, server, type) -> sg_edge_min */
    strmap node_min;        /* (minute, service) -> sg_node_min */
    strmap unpaired;        /* (client, server) -> sg_unpaired */
    const char *user, *overflow, *empty;
};

servicegraph *sampler_servicegraph_create(uint64_t wait_ns, size_t max_pending, size_t max_edges)
{
    servicegraph *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->wait_ns = wait_ns;
    g->max_pending = max_pending;
    g->max_edges = max_edges;
    pthread_mutex_init(&g->agg_mu, NULL);
    sampler_strmap_init(&g->names);
    sampler_strmap_init(&g->edges);
    sampler_strmap_init(&g->edge_min);
    sampler_strmap_init(&g->node_min);
    sampler_strmap_init(&g->unpaired);
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&g->stripe[i].mu, NULL);
        g->stripe[i].head = g->stripe[i].tail = IDT_NONE;
        if (sampler_idt_init(&g->stripe[i].halves, sizeof(sg_half), 24) != 0) {
            for (int k = 0; k <= i; k++)
                pthread_mutex_destroy(&g->stripe[k].mu);
            for (int k = 0; k < i; k++)
                sampler_idt_free(&g->stripe[k].halves);
            pthread_mutex_destroy(&g->agg_mu);
            free(g);
            return NULL;
        }
    }
    g->user = "user";
    g->overflow = "overflow";
    g->empty = "";
    return g;
}

void sampler_servicegraph_destroy(servicegraph *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < STRIPES; i++) {
        sampler_idt_free(&g->stripe[i].halves);
        pthread_mutex_destroy(&g->stripe[i].mu);
    }
    sampler_strmap_free(&g->edges, free);
    sampler_strmap_free(&g->edge_min, free);
    sampler_strmap_free(&g->node_min, free);
    sampler_strmap_free(&g->unpaired, free);
    sampler_strmap_free(&g->names, free);
    pthread_mutex_destroy(&g->agg_mu);
    free(g);
}

size_t sampler_servicegraph_pending(servicegraph *g)
{
    return atomic_load(&g->pending);
}

/* ------------------------------------------------------------------ aggregates */

/* A stable copy of |s|. Under agg_mu. */
static const char *intern(servicegraph *g, const char *s)
{
    size_t n = strnlen(s, MAX_NAME_LEN);
    uint64_t h = XXH3_64bits(s, n);
    const char *v = sampler_strmap_get(&g->names, s, n, h);
    if (v != NULL)
        return v;
    if (g->names.count >= MAX_NAMES)
        return g->overflow;
    char *copy = strndup(s, n);
    if (copy == NULL || sampler_strmap_put(&g->names, s, n, h, copy) != 0) {
        free(copy);
        return g->overflow;
    }
    return copy;
}

/* Finds or adds the value under a key made of pointers and a minute. Under agg_mu. */
static void *agg_get(strmap *m, const void *key, size_t klen, size_t vsize, bool *created)
{
    uint64_t h = XXH3_64bits(key, klen);
    void *v = sampler_strmap_get(m, key, klen, h);
    *created = false;
    if (v != NULL)
        return v;
    v = calloc(1, vsize);
    if (v == NULL || sampler_strmap_put(m, key, klen, h, v) != 0) {
        free(v);
        return NULL;
    }
    *created = true;
    return v;
}

/* The cumulative and per-minute counts of calls from |client| to |server| (the
 * overflow edge's past max_edges); either may be NULL when out of memory. Under
 * agg_mu. */
static void edge_find(servicegraph *g, const char *client, const char *server, const char *type,
                      uint32_t minute, sg_edge **e_out, sg_edge_min **em_out)
{
    bool created;
    const void *k1[3] = {client, server, type};
    if (g->edges.count >= g->max_edges &&
        !sampler_strmap_get(&g->edges, k1, sizeof(k1), XXH3_64bits(k1, sizeof(k1)))) {
        client = server = g->overflow;
        k1[0] = k1[1] = g->overflow;
    }
    sg_edge *e = agg_get(&g->edges, k1, sizeof(k1), sizeof(sg_edge), &created);
    if (e != NULL && created) {
        e->client = client;
        e->server = server;
        e->type = type;
    }
    struct {
        uint64_t minute;
        const void *p[3];
    } k2 = {minute, {client, server, type}};
    sg_edge_min *em = agg_get(&g->edge_min, &k2, sizeof(k2), sizeof(sg_edge_min), &created);
    if (em != NULL && created) {
        em->minute = minute;
        em->client = client;
        em->server = server;
        em->type = type;
    }
    *e_out = e;
    *em_out = em;
}

/* Counts one call in |e| and |em| (either may be NULL). |cli| / |srv| are the
 * client and server durations, negative when that side is unknown. Under agg_mu. */
static void edge_add(sg_edge *e, sg_edge_min *em, bool failed, double cli, double srv)
{
    if (e != NULL) {
        e->calls++;
        e->failed += failed;
        if (srv >= 0) {
            e->srv[ottr_prom_bucket(sg_bounds, NSG, srv)]++;
            e->srv_sum += srv;
        }
        if (cli >= 0) {
            e->cli[ottr_prom_bucket(sg_bounds, NSG, cli)]++;
            e->cli_sum += cli;
        }
    }
    if (em != NULL) {
        double lat = srv >= 0 ? srv : cli;
        em->calls++;
        em->failed += failed;
        if (lat >= 0) {
            em->lat[ottr_prom_bucket(store_bounds, STORE_LAT_BUCKETS - 1, lat)]++;
            em->sum += lat;
        }
    }
}

/* Counts one call from |client| to |server|. Under agg_mu. */
static void record_edge(servicegraph *g, const char *client, const char *server, const char *type,
                        bool failed, double cli, double srv, uint32_t minute)
{
    sg_edge *e;
    sg_edge_min *em;
    edge_find(g, client, server, type, minute, &e, &em);
    edge_add(e, em, failed, cli, srv);
}

static void record_unpaired(servicegraph *g, const char *client, const char *server)
{
    bool created;
    const void *k[2] = {client, server};
    sg_unpaired *u = agg_get(&g->unpaired, k, sizeof(k), sizeof(sg_unpaired), &created);
    if (u == NULL)
        return;
    if (created) {
        u->client = client;
        u->server = server;
    }
    u->n++;
}

/* The per-minute counts of |service|, or NULL when out of memory. Under agg_mu. */
static sg_node_min *node_find(servicegraph *g, const char *service, uint32_t minute)
{
    bool created;
    struct {
        uint64_t minute;
        const void *svc;
    } k = {minute, service};
    sg_node_min *n = agg_get(&g->node_min, &k, sizeof(k), sizeof(sg_node_min), &created);
    if (n != NULL && created) {
        n->minute = minute;
        n->service = service;
    }
    return n;
}

static void node_add(sg_node_min *n, bool failed, double secs)
{
    if (n == NULL)
        return;
    n->calls++;
    n->errors += failed;
    n->lat[ottr_prom_bucket(store_bounds, STORE_LAT_BUCKETS - 1, secs)]++;
    n->sum += secs;
}

/* ------------------------------------------------------------------ pairing */

static bool is_client(uint8_t role)
{
    return role == ROLE_CLIENT || role == ROLE_PRODUCER;
}

static void fifo_unlink(sg_stripe *st, sg_half *h)
{
    if (h->prev != IDT_NONE)
        ((sg_half *)sampler_idt_at(&st->halves, h->prev))->next = h->next;
    else
        st->head = h->next;
    if (h->next != IDT_NONE)
        ((sg_half *)sampler_idt_at(&st->halves, h->next))->prev = h->prev;
    else
        st->tail = h->prev;
}

static void half_remove(servicegraph *g, sg_stripe *st, uint32_t idx, uint64_t h)
{
    fifo_unlink(st, sampler_idt_at(&st->halves, idx));
    sampler_idt_remove(&st->halves, idx, h);
    atomic_fetch_sub(&g->pending, 1);
}

static const char *edge_type(uint8_t client_role, uint8_t server_role, bool db)
{
    if (client_role == ROLE_PRODUCER || server_role == ROLE_CONSUMER)
        return TYPE_MESSAGING;
    return db ? TYPE_DATABASE : TYPE_NONE;
}

/* ------------------------------------------------------------------ observing */

/* Spans are observed in windows of up to SG_SPANS: what each needs is read
 * without a lock, then names are interned and nodes counted under agg_mu once,
 * halves are paired with each stripe locked once, and the edges found are
 * counted under agg_mu once, in span order. The outcome is the same as
 * observing the spans one at a time. */
#define SG_SPANS 128
#define SG_CACHE 16 /* names, nodes and edges remembered within a window */

/* One span of a window that can be a node, a half or an edge. */
typedef struct sg_obs {
    const otlp_span *sp;
    const uint8_t *trace_id;
    const char *svc;  /* raw, then interned */
    const char *virt; /* raw peer/database name, then interned; NULL when none */
    double secs;
    uint8_t role, root, failed, db;
    bool half; /* waits or pairs under key */
    bool edge; /* an edge to count, below */
    uint8_t key[24];
    uint64_t h;
    const char *client, *server, *type;
    double cli, srv;
    bool efailed;
} sg_obs;

typedef struct sg_window {
    sg_obs o[SG_SPANS];
    size_t n;
} sg_window;

static uint8_t role_of(int64_t kind)
{
    switch (kind) {
    case SPAN_KIND_CLIENT:
        return ROLE_CLIENT;
    case SPAN_KIND_PRODUCER:
        return ROLE_PRODUCER;
    case SPAN_KIND_SERVER:
        return ROLE_SERVER;
    case SPAN_KIND_CONSUMER:
        return ROLE_CONSUMER;
    default:
        return 0;
    }
}

/* The string value of the first attribute of each of peer.service, db.name and
 * db.system (NULL when absent or not a string), in one pass. */
static void client_attrs(const otlp_span *sp, const char *out[3])
{
    const otlp_any *v[3] = {NULL, NULL, NULL};
    bool found[3] = {false, false, false};
    for (size_t i = 0; i < sp->n_attributes; i++) {
        const otlp_kv *kv = sp->attributes[i];
        const char *k = kv ? kv->key : NULL;
        int w = -1;
        if (k == NULL)
            continue;
        if (k[0] == 'p' && strcmp(k, "peer.service") == 0)
            w = 0;
        else if (k[0] == 'd' && strncmp(k, "db.", 3) == 0)
            w = strcmp(k + 3, "name") == 0 ? 1 : strcmp(k + 3, "system") == 0 ? 2 : -1;
        if (w >= 0 && !found[w]) {
            found[w] = true;
            v[w] = kv->value;
        }
    }
    for (int w = 0; w < 3; w++)
        out[w] = v[w] && v[w]->value_case == ANY_STRING ? v[w]->string_value : NULL;
}

/* Reads what span |r| of trace |trace_id| needs into the next entry of |w|;
 * spans that are neither a node nor a half are left out. */
static void window_add(sg_window *w, const uint8_t *trace_id, const otlp_span_ref *r)
{
    const otlp_span *sp = r->span;
    uint8_t role = role_of(sp->kind);
    bool root = sp->parent_span_id.len == 0;
    if (role == 0 && !root)
        return;
    sg_obs *o = &w->o[w->n++];
    o->sp = sp;
    o->trace_id = trace_id;
    o->svc = r->service ? r->service : "unknown_service";
    o->virt = NULL;
    o->secs = (double)otlp_span_duration(sp) / NS_PER_SEC;
    o->role = role;
    o->root = root;
    o->failed = span_status(sp) == STATUS_ERROR;
    o->db = false;
    o->half = false;
    o->edge = false;
    if (role == 0 || (role == ROLE_SERVER && root))
        return;
    memcpy(o->key, trace_id, 16);
    if (is_client(role)) {
        if (sp->span_id.len != 8)
            return;
        memcpy(o->key + 16, sp->span_id.data, 8);
        const char *a[3]; /* peer.service, db.name, db.system */
        client_attrs(sp, a);
        o->db = (a[1] && a[1][0]) || (a[2] && a[2][0]);
        const char *v = (a[0] && a[0][0]) ? a[0] : (a[1] && a[1][0]) ? a[1] : a[2];
        o->virt = v && v[0] ? v : NULL;
    } else {
        if (sp->parent_span_id.len != 8)
            return; /* unpaired at once */
        memcpy(o->key + 16, sp->parent_span_id.data, 8);
    }
    o->half = true;
    o->h = sampler_idt_hash(o->key, 24);
}

static void set_edge(sg_obs *o, const char *client, const char *server, const char *type,
                     bool failed, double cli, double srv)
{
    o->edge = true;
    o->client = client;
    o->server = server;
    o->type = type;
    o->efailed = failed;
    o->cli = cli;
    o->srv = srv;
}

/* Interns the names of |w|, counts its nodes, root servers' user edges and
 * halves that cannot pair. Under agg_mu. */
static void window_names(servicegraph *g, sg_window *w, uint32_t minute)
{
    struct {
        const char *raw, *name;
    } names[SG_CACHE];
    struct {
        const char *svc;
        sg_node_min *n;
    } nodes[SG_CACHE];
    size_t nnames = 0, nnodes = 0;
    for (size_t i = 0; i < w->n; i++) {
        sg_obs *o = &w->o[i];
        const char *svc = NULL;
        for (size_t k = 0; k < nnames && svc == NULL; k++)
            if (names[k].raw == o->svc)
                svc = names[k].name;
        if (svc == NULL) {
            svc = intern(g, o->svc);
            names[nnames % SG_CACHE].raw = o->svc;
            names[nnames % SG_CACHE].name = svc;
            nnames += nnames < SG_CACHE;
        }
        o->svc = svc;
        if (o->role == ROLE_SERVER || o->role == ROLE_CONSUMER || o->root) {
            sg_node_min *n = NULL;
            size_t k = 0;
            while (k < nnodes && nodes[k].svc != svc)
                k++;
            if (k < nnodes) {
                n = nodes[k].n;
            } else {
                n = node_find(g, svc, minute);
                if (n != NULL && nnodes < SG_CACHE) {
                    nodes[nnodes].svc = svc;
                    nodes[nnodes++].n = n;
                }
            }
            node_add(n, o->failed, o->secs);
        }
        if (o->role == ROLE_SERVER && o->root) {
            /* Nobody instrumented called it: the caller is the user. */
            set_edge(o, g->user, svc, TYPE_VIRTUAL, o->failed, -1, o->secs);
        } else if (o->role != 0 && !o->half && !is_client(o->role)) {
            record_unpaired(g, g->empty, svc);
        } else if (o->virt != NULL) {
            o->virt = intern(g, o->virt);
        }
    }
}

/* Pairs or parks the half of |o| in its stripe |st| (locked). */
static void half_observe(servicegraph *g, sg_stripe *st, sg_obs *o, uint64_t now_ns)
{
    uint32_t idx = sampler_idt_find(&st->halves, o->key, o->h);
    if (idx != IDT_NONE) {
        sg_half *x = sampler_idt_at(&st->halves, idx);
        if (is_client(x->role) != is_client(o->role)) {
            bool mine = is_client(o->role); /* this span is the client side */
            uint8_t crole = mine ? o->role : x->role, srole = mine ? x->role : o->role;
            set_edge(o, mine ? o->svc : x->service, mine ? x->service : o->svc,
                     edge_type(crole, srole, mine ? o->db : x->db), o->failed || x->failed,
                     mine ? o->secs : x->secs, mine ? x->secs : o->secs);
            half_remove(g, st, idx, o->h);
            return;
        }
        /* The same side twice (a duplicate span): the newer one waits. */
        half_remove(g, st, idx, o->h);
    }
    if (atomic_load(&g->pending) >= g->max_pending) {
        atomic_fetch_add(&g->dropped, 1);
        return;
    }
    idx = sampler_idt_insert(&st->halves, o->key, o->h);
    if (idx == IDT_NONE) {
        atomic_fetch_add(&g->dropped, 1);
        return;
    }
    sg_half *n = sampler_idt_at(&st->halves, idx);
    n->role = o->role;
    n->failed = o->failed;
    n->db = o->db;
    n->service = o->svc;
    n->virt = o->virt;
    n->secs = o->secs;
    n->expire_ns = now_ns + g->wait_ns;
    n->next = IDT_NONE;
    n->prev = st->tail;
    if (st->tail != IDT_NONE)
        ((sg_half *)sampler_idt_at(&st->halves, st->tail))->next = idx;
    else
        st->head = idx;
    st->tail = idx;
    atomic_fetch_add(&g->pending, 1);
}

/* Pairs or parks the halves of |w|. Each stripe's halves are taken in span order
 * with the stripe locked once; halves of different stripes only meet in the
 * pending bound, so when it may be reached they are taken in span order. */
static void window_halves(servicegraph *g, sg_window *w, uint64_t now_ns)
{
    uint8_t order[SG_SPANS];
    size_t count[STRIPES + 1] = {0}, nh = 0;
    for (size_t i = 0; i < w->n; i++)
        if (w->o[i].half) {
            count[((w->o[i].h >> 61) & (STRIPES - 1)) + 1]++;
            nh++;
        }
    if (atomic_load(&g->pending) + nh < g->max_pending) {
        for (int s = 0; s < STRIPES; s++)
            count[s + 1] += count[s];
        for (size_t i = 0; i < w->n; i++)
            if (w->o[i].half)
                order[count[(w->o[i].h >> 61) & (STRIPES - 1)]++] = (uint8_t)i;
    } else {
        nh = 0;
        for (size_t i = 0; i < w->n; i++)
            if (w->o[i].half)
                order[nh++] = (uint8_t)i;
    }
    sg_stripe *locked = NULL;
    for (size_t k = 0; k < nh; k++) {
        sg_obs *o = &w->o[order[k]];
        sg_stripe *st = &g->stripe[(o->h >> 61) & (STRIPES - 1)];
        if (st != locked) {
            if (locked != NULL)
                pthread_mutex_unlock(&locked->mu);
            pthread_mutex_lock(&st->mu);
            locked = st;
        }
        half_observe(g, st, o, now_ns);
    }
    if (locked != NULL)
        pthread_mutex_unlock(&locked->mu);
}

/* Counts the edges of |w| in span order. Under agg_mu. */
/* The minute an edge counts in: of the start of the span that completed the
 * pair, so that a range of minutes holds the calls made in it (spans without a
 * start, or from the future, count in |now_minute|). */
static uint32_t edge_minute(const sg_obs *o, uint32_t now_minute)
{
    uint64_t m = o->sp->start_time_unix_nano / (60 * NS_PER_SEC);
    return o->sp->start_time_unix_nano == 0 || m > now_minute ? now_minute : (uint32_t)m;
}

static void window_edges(servicegraph *g, sg_window *w, uint32_t now_minute)
{
    struct {
        const char *client, *server, *type;
        uint32_t minute;
        sg_edge *e;
        sg_edge_min *em;
    } seen[SG_CACHE];
    size_t nseen = 0;
    for (size_t i = 0; i < w->n; i++) {
        const sg_obs *o = &w->o[i];
        if (!o->edge)
            continue;
        uint32_t minute = edge_minute(o, now_minute);
        size_t k = 0;
        while (k < nseen && (seen[k].client != o->client || seen[k].server != o->server ||
                             seen[k].type != o->type || seen[k].minute != minute))
            k++;
        if (k == nseen) {
            k = nseen < SG_CACHE ? nseen++ : SG_CACHE - 1;
            seen[k].client = o->client;
            seen[k].server = o->server;
            seen[k].type = o->type;
            seen[k].minute = minute;
            edge_find(g, o->client, o->server, o->type, minute, &seen[k].e, &seen[k].em);
        }
        edge_add(seen[k].e, seen[k].em, o->efailed, o->cli, o->srv);
    }
}

static void window_flush(servicegraph *g, sg_window *w, uint64_t now_ns)
{
    uint32_t minute = (uint32_t)(now_ns / (60 * NS_PER_SEC));
    if (w->n == 0)
        return;
    pthread_mutex_lock(&g->agg_mu);
    window_names(g, w, minute);
    pthread_mutex_unlock(&g->agg_mu);
    window_halves(g, w, now_ns);
    pthread_mutex_lock(&g->agg_mu);
    window_edges(g, w, minute);
    pthread_mutex_unlock(&g->agg_mu);
    w->n = 0;
}

void sampler_servicegraph_observe(servicegraph *g, const uint8_t trace_id[16],
                                  const otlp_span_ref *spans, size_t n, uint64_t now_ns)
{
    sg_window w;
    w.n = 0;
    for (size_t i = 0; i < n; i++) {
        if (w.n == SG_SPANS)
            window_flush(g, &w, now_ns);
        window_add(&w, trace_id, &spans[i]);
    }
    window_flush(g, &w, now_ns);
}

void sampler_servicegraph_observe_batch(servicegraph *g, const otlp_batch *b, uint64_t now_ns)
{
    sg_window w;
    w.n = 0;
    for (size_t i = 0; i < b->ngroups; i++) {
        const otlp_trace_group *grp = &b->groups[i];
        for (size_t k = 0; k < grp->nspans; k++) {
            if (w.n == SG_SPANS)
                window_flush(g, &w, now_ns);
            window_add(&w, grp->trace_id, &grp->spans[k]);
        }
    }
    window_flush(g, &w, now_ns);
}

/* Expires the halves due at |now_ns|, or every half when |all|, into the
 * minute of |now_ns|. */
static void expire_halves(servicegraph *g, uint64_t now_ns, bool all)
{
    uint32_t minute = (uint32_t)(now_ns / (60 * NS_PER_SEC));
    for (int i = 0; i < STRIPES; i++) {
        sg_stripe *st = &g->stripe[i];
        pthread_mutex_lock(&st->mu);
        while (st->head != IDT_NONE) {
            uint32_t idx = st->head;
            sg_half *o = sampler_idt_at(&st->halves, idx);
            if (!all && o->expire_ns > now_ns)
                break;
            pthread_mutex_lock(&g->agg_mu);
            if (is_client(o->role) && o->virt != NULL)
                record_edge(g, o->service, o->virt, o->db ? TYPE_DATABASE : TYPE_VIRTUAL, o->failed,
                            o->secs, -1, minute);
            else if (is_client(o->role))
                record_unpaired(g, o->service, g->empty);
            else
                record_unpaired(g, g->empty, o->service);
            pthread_mutex_unlock(&g->agg_mu);
            half_remove(g, st, idx, sampler_idt_hash(o->key, 24));
        }
        pthread_mutex_unlock(&st->mu);
    }
}

void sampler_servicegraph_expire(servicegraph *g, uint64_t now_ns)
{
    expire_halves(g, now_ns, false);
}

void sampler_servicegraph_expire_all(servicegraph *g, uint64_t now_ns)
{
    expire_halves(g, now_ns, true);
}

/* ------------------------------------------------------------------ persistence */

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Persists the counts of |minute|; removes them on success. Under agg_mu. */
static ottr_status flush_minute(servicegraph *g, store_view st, uint32_t minute)
{
    size_t ne = 0, nn = 0;
    for (size_t i = 0; g->edge_min.e && i <= g->edge_min.mask; i++)
        if (g->edge_min.e[i].key && ((sg_edge_min *)g->edge_min.e[i].val)->minute == minute)
            ne++;
    for (size_t i = 0; g->node_min.e && i <= g->node_min.mask; i++)
        if (g->node_min.e[i].key && ((sg_node_min *)g->node_min.e[i].val)->minute == minute)
            nn++;
    store_edge *edges = calloc(ne ? ne : 1, sizeof(*edges));
    store_node *nodes = calloc(nn ? nn : 1, sizeof(*nodes));
    if (edges == NULL || nodes == NULL) {
        free(edges);
        free(nodes);
        return OTTR_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; g->edge_min.e && i <= g->edge_min.mask; i++) {
        const sg_edge_min *em = g->edge_min.e[i].val;
        if (!g->edge_min.e[i].key || em->minute != minute)
            continue;
        store_edge *e = &edges[k++];
        copy_name(e->client, sizeof(e->client), em->client);
        copy_name(e->server, sizeof(e->server), em->server);
        copy_name(e->connection_type, sizeof(e->connection_type), em->type);
        e->calls = em->calls;
        e->failed = em->failed;
        memcpy(e->latency, em->lat, sizeof(e->latency));
        e->latency_sum_s = em->sum;
    }
    k = 0;
    for (size_t i = 0; g->node_min.e && i <= g->node_min.mask; i++) {
        const sg_node_min *nm = g->node_min.e[i].val;
        if (!g->node_min.e[i].key || nm->minute != minute)
            continue;
        store_node *n = &nodes[k++];
        copy_name(n->service, sizeof(n->service), nm->service);
        n->calls = nm->calls;
        n->errors = nm->errors;
        memcpy(n->latency, nm->lat, sizeof(n->latency));
        n->latency_sum_s = nm->sum;
    }
    ottr_status rc = store_add_graph(st, minute, edges, ne, nodes, nn);
    free(edges);
    free(nodes);
    if (rc != OTTR_OK)
        return rc;
    /* Persisted: forget them (deleting while scanning moves entries back, so
     * rescan the slot after a removal). */
    for (size_t i = 0; g->edge_min.e && i <= g->edge_min.mask;) {
        strmap_entry *en = &g->edge_min.e[i];
        if (en->key && ((sg_edge_min *)en->val)->minute == minute) {
            free(sampler_strmap_del(&g->edge_min, en->key, en->klen, en->hash));
            continue;
        }
        i++;
    }
    for (size_t i = 0; g->node_min.e && i <= g->node_min.mask;) {
        strmap_entry *en = &g->node_min.e[i];
        if (en->key && ((sg_node_min *)en->val)->minute == minute) {
            free(sampler_strmap_del(&g->node_min, en->key, en->klen, en->hash));
            continue;
        }
        i++;
    }
    return OTTR_OK;
}

ottr_status sampler_servicegraph_flush(servicegraph *g, store_view st, uint32_t before_minute)
{
    ottr_status rc = OTTR_OK;
    pthread_mutex_lock(&g->agg_mu);
    for (;;) {
        /* The oldest minute still held. */
        uint32_t m = UINT32_MAX;
        for (size_t i = 0; g->edge_min.e && i <= g->edge_min.mask; i++)
            if (g->edge_min.e[i].key && ((sg_edge_min *)g->edge_min.e[i].val)->minute < m)
                m = ((sg_edge_min *)g->edge_min.e[i].val)->minute;
        for (size_t i = 0; g->node_min.e && i <= g->node_min.mask; i++)
            if (g->node_min.e[i].key && ((sg_node_min *)g->node_min.e[i].val)->minute < m)
                m = ((sg_node_min *)g->node_min.e[i].val)->minute;
        if (m == UINT32_MAX || m >= before_minute)
            break;
        rc = flush_minute(g, st, m);
        if (rc != OTTR_OK)
            break;
    }
    pthread_mutex_unlock(&g->agg_mu);
    return rc;
}

/* ------------------------------------------------------------------ rendering */

/* Starts a label set with |extra| (`tenant="a"`, or ""), and a comma after it. */
static void labels_start(ottr_buf *b, const char *extra)
{
    ottr_buf_reset(b);
    if (extra[0]) {
        ottr_buf_append(b, extra, strlen(extra));
        ottr_buf_putc(b, ',');
    }
}

static void edge_labels(ottr_buf *b, const char *extra, const sg_edge *e)
{
    labels_start(b, extra);
    ottr_prom_label(b, "client", e->client);
    ottr_buf_putc(b, ',');
    ottr_prom_label(b, "server", e->server);
    ottr_buf_putc(b, ',');
    ottr_prom_label(b, "connection_type", e->type);
}

/* The edges of one instance for family |f| of the heads below. */
static void render_edges(servicegraph *g, const char *extra, int f, const char *name, ottr_buf *lb,
                         ottr_buf *out)
{
    pthread_mutex_lock(&g->agg_mu);
    for (size_t i = 0; g->edges.e && i <= g->edges.mask; i++) {
        const sg_edge *e = g->edges.e[i].val;
        if (g->edges.e[i].key == NULL)
            continue;
        edge_labels(lb, extra, e);
        const char *l = lb->data ? lb->data : "";
        if (f == 0)
            ottr_prom_sample_u64(out, name, l, e->calls);
        else if (f == 1)
            ottr_prom_sample_u64(out, name, l, e->failed);
        else if (f == 2)
            ottr_prom_histogram(out, name, l, sg_bounds, NSG, e->srv, e->srv_sum);
        else
            ottr_prom_histogram(out, name, l, sg_bounds, NSG, e->cli, e->cli_sum);
    }
    pthread_mutex_unlock(&g->agg_mu);
}

static void render_unpaired(servicegraph *g, const char *extra, ottr_buf *lb, ottr_buf *out)
{
    pthread_mutex_lock(&g->agg_mu);
    for (size_t i = 0; g->unpaired.e && i <= g->unpaired.mask; i++) {
        const sg_unpaired *u = g->unpaired.e[i].val;
        if (g->unpaired.e[i].key == NULL)
            continue;
        labels_start(lb, extra);
        ottr_prom_label(lb, "client", u->client);
        ottr_buf_putc(lb, ',');
        ottr_prom_label(lb, "server", u->server);
        ottr_prom_sample_u64(out, "traces_service_graph_unpaired_spans_total",
                             lb->data ? lb->data : "", u->n);
    }
    pthread_mutex_unlock(&g->agg_mu);
}

void sampler_servicegraph_render(servicegraph *const *g, const char *const *labels, size_t n,
                                 ottr_buf *out)
{
    static const char *const heads[][3] = {
        {"traces_service_graph_request_total", "Requests between two services.", "counter"},
        {"traces_service_graph_request_failed_total", "Failed requests between two services.",
         "counter"},
        {"traces_service_graph_request_server_seconds", "Server-side request duration.",
         "histogram"},
        {"traces_service_graph_request_client_seconds", "Client-side request duration.",
         "histogram"},
    };
    ottr_buf lb = {0};
    for (int f = 0; f < 4; f++) {
        ottr_prom_family(out, heads[f][0], heads[f][1], heads[f][2]);
        for (size_t i = 0; i < n; i++)
            render_edges(g[i], labels[i], f, heads[f][0], &lb, out);
    }
    ottr_prom_family(out, "traces_service_graph_unpaired_spans_total",
                     "Spans that found no other half before expiring.", "counter");
    for (size_t i = 0; i < n; i++)
        render_unpaired(g[i], labels[i], &lb, out);
    ottr_prom_family(out, "traces_service_graph_dropped_spans_total",
                     "Spans not paired because too many were waiting.", "counter");
    for (size_t i = 0; i < n; i++)
        ottr_prom_sample_u64(out, "traces_service_graph_dropped_spans_total", labels[i],
                             atomic_load(&g[i]->dropped));
    ottr_buf_free(&lb);
}
