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

static const char *intern_locked(servicegraph *g, const char *s)
{
    pthread_mutex_lock(&g->agg_mu);
    const char *v = intern(g, s);
    pthread_mutex_unlock(&g->agg_mu);
    return v;
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

/* Counts one call from |client| to |server|. |cli| / |srv| are the client and
 * server durations, negative when that side is unknown. Under agg_mu. */
static void record_edge(servicegraph *g, const char *client, const char *server, const char *type,
                        bool failed, double cli, double srv, uint32_t minute)
{
    bool created;
    const void *k1[3] = {client, server, type};
    if (g->edges.count >= g->max_edges &&
        !sampler_strmap_get(&g->edges, k1, sizeof(k1), XXH3_64bits(k1, sizeof(k1)))) {
        client = server = g->overflow;
        k1[0] = k1[1] = g->overflow;
    }
    sg_edge *e = agg_get(&g->edges, k1, sizeof(k1), sizeof(sg_edge), &created);
    if (e != NULL) {
        if (created) {
            e->client = client;
            e->server = server;
            e->type = type;
        }
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
    struct {
        uint64_t minute;
        const void *p[3];
    } k2 = {minute, {client, server, type}};
    sg_edge_min *em = agg_get(&g->edge_min, &k2, sizeof(k2), sizeof(sg_edge_min), &created);
    if (em != NULL) {
        if (created) {
            em->minute = minute;
            em->client = client;
            em->server = server;
            em->type = type;
        }
        double lat = srv >= 0 ? srv : cli;
        em->calls++;
        em->failed += failed;
        if (lat >= 0) {
            em->lat[ottr_prom_bucket(store_bounds, STORE_LAT_BUCKETS - 1, lat)]++;
            em->sum += lat;
        }
    }
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

static void record_node(servicegraph *g, const char *service, bool failed, double secs,
                        uint32_t minute)
{
    bool created;
    struct {
        uint64_t minute;
        const void *svc;
    } k = {minute, service};
    sg_node_min *n = agg_get(&g->node_min, &k, sizeof(k), sizeof(sg_node_min), &created);
    if (n == NULL)
        return;
    if (created) {
        n->minute = minute;
        n->service = service;
    }
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

static double span_secs(const otlp_span *sp)
{
    if (sp->end_time_unix_nano <= sp->start_time_unix_nano)
        return 0;
    return (double)(sp->end_time_unix_nano - sp->start_time_unix_nano) / NS_PER_SEC;
}

void sampler_servicegraph_observe(servicegraph *g, const uint8_t trace_id[16],
                                  const otlp_span_ref *r, uint64_t now_ns)
{
    const otlp_span *sp = r->span;
    uint8_t role;
    switch (sp->kind) {
    case SPAN_KIND_CLIENT:
        role = ROLE_CLIENT;
        break;
    case SPAN_KIND_PRODUCER:
        role = ROLE_PRODUCER;
        break;
    case SPAN_KIND_SERVER:
        role = ROLE_SERVER;
        break;
    case SPAN_KIND_CONSUMER:
        role = ROLE_CONSUMER;
        break;
    default:
        role = 0;
    }
    bool root = sp->parent_span_id.len == 0;
    bool failed = span_status(sp) == STATUS_ERROR;
    double secs = span_secs(sp);
    uint32_t minute = (uint32_t)(now_ns / (60 * NS_PER_SEC));
    const char *svc_raw = r->service ? r->service : "unknown_service";

    if (role == 0 && !root)
        return;
    pthread_mutex_lock(&g->agg_mu);
    const char *svc = intern(g, svc_raw);
    if (role == ROLE_SERVER || role == ROLE_CONSUMER || root)
        record_node(g, svc, failed, secs, minute);
    if (role == ROLE_SERVER && root) {
        /* Nobody instrumented called it: the caller is the user. */
        record_edge(g, g->user, svc, TYPE_VIRTUAL, failed, -1, secs, minute);
        pthread_mutex_unlock(&g->agg_mu);
        return;
    }
    pthread_mutex_unlock(&g->agg_mu);
    if (role == 0)
        return;

    uint8_t key[24];
    memcpy(key, trace_id, 16);
    if (is_client(role)) {
        if (sp->span_id.len != 8)
            return;
        memcpy(key + 16, sp->span_id.data, 8);
    } else {
        if (sp->parent_span_id.len != 8) {
            pthread_mutex_lock(&g->agg_mu);
            record_unpaired(g, g->empty, svc);
            pthread_mutex_unlock(&g->agg_mu);
            return;
        }
        memcpy(key + 16, sp->parent_span_id.data, 8);
    }
    const char *virt = NULL;
    bool db = false;
    if (is_client(role)) {
        const char *peer = otlp_attr_str(sp->attributes, sp->n_attributes, "peer.service");
        const char *dbname = otlp_attr_str(sp->attributes, sp->n_attributes, "db.name");
        const char *dbsys = otlp_attr_str(sp->attributes, sp->n_attributes, "db.system");
        db = (dbname && dbname[0]) || (dbsys && dbsys[0]);
        const char *v = (peer && peer[0]) ? peer : (dbname && dbname[0]) ? dbname : dbsys;
        if (v && v[0])
            virt = intern_locked(g, v);
    }

    uint64_t h = sampler_idt_hash(key, 24);
    sg_stripe *st = &g->stripe[(h >> 61) & (STRIPES - 1)];
    pthread_mutex_lock(&st->mu);
    uint32_t idx = sampler_idt_find(&st->halves, key, h);
    if (idx != IDT_NONE) {
        sg_half *o = sampler_idt_at(&st->halves, idx);
        if (is_client(o->role) != is_client(role)) {
            bool mine = is_client(role); /* this span is the client side */
            const char *client = mine ? svc : o->service;
            const char *server = mine ? o->service : svc;
            uint8_t crole = mine ? role : o->role, srole = mine ? o->role : role;
            bool isdb = mine ? db : o->db;
            double cli = mine ? secs : o->secs, srv = mine ? o->secs : secs;
            bool f = failed || o->failed;
            pthread_mutex_lock(&g->agg_mu);
            record_edge(g, client, server, edge_type(crole, srole, isdb), f, cli, srv, minute);
            pthread_mutex_unlock(&g->agg_mu);
            half_remove(g, st, idx, h);
            pthread_mutex_unlock(&st->mu);
            return;
        }
        /* The same side twice (a duplicate span): the newer one waits. */
        half_remove(g, st, idx, h);
    }
    if (atomic_load(&g->pending) >= g->max_pending) {
        atomic_fetch_add(&g->dropped, 1);
        pthread_mutex_unlock(&st->mu);
        return;
    }
    idx = sampler_idt_insert(&st->halves, key, h);
    if (idx == IDT_NONE) {
        atomic_fetch_add(&g->dropped, 1);
        pthread_mutex_unlock(&st->mu);
        return;
    }
    sg_half *n = sampler_idt_at(&st->halves, idx);
    n->role = role;
    n->failed = failed;
    n->db = db;
    n->service = svc;
    n->virt = virt;
    n->secs = secs;
    n->expire_ns = now_ns + g->wait_ns;
    n->next = IDT_NONE;
    n->prev = st->tail;
    if (st->tail != IDT_NONE)
        ((sg_half *)sampler_idt_at(&st->halves, st->tail))->next = idx;
    else
        st->head = idx;
    st->tail = idx;
    atomic_fetch_add(&g->pending, 1);
    pthread_mutex_unlock(&st->mu);
}

void sampler_servicegraph_expire(servicegraph *g, uint64_t now_ns)
{
    uint32_t minute = (uint32_t)(now_ns / (60 * NS_PER_SEC));
    for (int i = 0; i < STRIPES; i++) {
        sg_stripe *st = &g->stripe[i];
        pthread_mutex_lock(&st->mu);
        while (st->head != IDT_NONE) {
            uint32_t idx = st->head;
            sg_half *o = sampler_idt_at(&st->halves, idx);
            if (o->expire_ns > now_ns)
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

/* ------------------------------------------------------------------ persistence */

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Persists the counts of |minute|; removes them on success. Under agg_mu. */
static ottr_status flush_minute(servicegraph *g, store *st, uint32_t minute)
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

ottr_status sampler_servicegraph_flush(servicegraph *g, store *st, uint32_t before_minute)
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

static void edge_labels(ottr_buf *b, const sg_edge *e)
{
    ottr_buf_reset(b);
    ottr_prom_label(b, "client", e->client);
    ottr_buf_putc(b, ',');
    ottr_prom_label(b, "server", e->server);
    ottr_buf_putc(b, ',');
    ottr_prom_label(b, "connection_type", e->type);
}

void sampler_servicegraph_render(servicegraph *g, ottr_buf *out)
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
    pthread_mutex_lock(&g->agg_mu);
    for (int f = 0; f < 4; f++) {
        ottr_prom_family(out, heads[f][0], heads[f][1], heads[f][2]);
        for (size_t i = 0; g->edges.e && i <= g->edges.mask; i++) {
            const sg_edge *e = g->edges.e[i].val;
            if (g->edges.e[i].key == NULL)
                continue;
            edge_labels(&lb, e);
            const char *l = lb.data ? lb.data : "";
            if (f == 0)
                ottr_prom_sample_u64(out, heads[f][0], l, e->calls);
            else if (f == 1)
                ottr_prom_sample_u64(out, heads[f][0], l, e->failed);
            else if (f == 2)
                ottr_prom_histogram(out, heads[f][0], l, sg_bounds, NSG, e->srv, e->srv_sum);
            else
                ottr_prom_histogram(out, heads[f][0], l, sg_bounds, NSG, e->cli, e->cli_sum);
        }
    }
    ottr_prom_family(out, "traces_service_graph_unpaired_spans_total",
                     "Spans that found no other half before expiring.", "counter");
    for (size_t i = 0; g->unpaired.e && i <= g->unpaired.mask; i++) {
        const sg_unpaired *u = g->unpaired.e[i].val;
        if (g->unpaired.e[i].key == NULL)
            continue;
        ottr_buf_reset(&lb);
        ottr_prom_label(&lb, "client", u->client);
        ottr_buf_putc(&lb, ',');
        ottr_prom_label(&lb, "server", u->server);
        ottr_prom_sample_u64(out, "traces_service_graph_unpaired_spans_total",
                             lb.data ? lb.data : "", u->n);
    }
    pthread_mutex_unlock(&g->agg_mu);
    ottr_prom_family(out, "traces_service_graph_dropped_spans_total",
                     "Spans not paired because too many were waiting.", "counter");
    ottr_prom_sample_u64(out, "traces_service_graph_dropped_spans_total", NULL,
                         atomic_load(&g->dropped));
    ottr_buf_free(&lb);
}
