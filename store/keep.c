/* store/keep.c - keeps traces: copies their chunks from the pending log into `traces` and
 * updates their summaries, index entries and tag entries.
 *
 * A repeat is harmless: a chunk already in `traces` (same key) is skipped, so a
 * summary only ever adds chunks it has not counted. Keeps of one trace are
 * serialized by a striped lock, which makes the read-modify-write of the summary
 * safe. The index entries of a call are gathered into posting lists
 * (store/postings.c), a key per term bucket and start second rather than one per
 * term and trace. Index keys and tag entries are still most of a keep's writes,
 * and memtable inserts at random places in a large memtable cost microseconds
 * each: a call with many of them writes them, sorted, into SST files that
 * RocksDB ingests (store/ingest.c), before the WriteBatch of chunks and
 * summaries; a small call puts them, sorted, into that WriteBatch.
 *
 * A keep also adds Jaeger's dependency links that the service graph (client
 * and server spans paired before sampling) does not see: every parent -> child
 * span pair of two services among the new chunks of the trace, but a client or
 * producer parent of a server or consumer child, as edges of connection type
 * "direct" in the minute of the child's start, summed over the call (store/links.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

/* Traces per WriteBatch in store_keep_traces (the writer hands up to 4096). */
#define MAX_KEEP_BATCH 4096
/* Index keys plus tag entries of one call from which they are ingested as SST
 * files rather than written through the memtable. */
#define KEEP_INGEST_MIN_KEYS 1024
/* The largest batch kept for the next call (its memory stays with the store). */
#define KEEP_BATCH_KEEP_BYTES (64u << 20)

/* A tag entry to write after sorting. */
typedef struct out_key {
    const uint8_t *p;
    uint32_t len;
    uint32_t sec;  /* last-seen second */
    uint64_t hash; /* for the written-recently table */
    bool skip;     /* the same key follows: only the last of a run is written */
} out_key;

typedef struct out_keys {
    out_key *v;
    size_t n, cap;
} out_keys;

/* State of one call: shared by its traces. */
typedef struct keep_call {
    store *s;
    rocksdb_readoptions_t *ro; /* prefix_same_as_start */
    store_plog_reader reader;  /* pending records */
    ottr_arena key_arena;      /* bytes of out_keys */
    ottr_arena term_arena;
    ottr_arena decode_arena;
    struct store_keep_scratch *sc; /* reused between calls: wb and idx are its */
    rocksdb_writebatch_t *wb;
    store_postings *idx;
    out_keys tags;
    store_links links;                  /* dependency links, written once per call */
    store_termset idx_terms, tag_terms; /* lent to each trace in turn (keep_ctx) */
    bool oom;
    /* totals, counted once the write succeeds */
    uint64_t new_traces, chunks, bytes, dropped;
} keep_call;

/* A span of the trace's new chunks, for its dependency links. */
typedef struct dep_span {
    uint8_t id[8], parent[8];
    bool has_parent;
    uint8_t kind;
    const char *service; /* in the trace's arena */
    uint32_t minute;     /* of its start */
} dep_span;

#define KEEP_ORIGINS 64 /* origins remembered per trace and keep (more: rarely repeated) */

/* State of one trace. */
typedef struct keep_ctx {
    keep_call *c;
    uint32_t tenant;
    const uint8_t *tid;
    uint8_t tkey[TRACE_KEY_LEN]; /* tenant | trace ID: the summary's key */
    store_termset idx;
    store_termset tags;
    store_summary_acc old;
    store_summary_acc delta;
    bool have_old;
    size_t nnew;
    size_t dropped;
    uint32_t max_sec;
    dep_span *deps; /* the new spans (heap) */
    size_t ndeps, capdeps;
    bool deps_oom;
    /* Origins of the chunks taken from Kafka in this keep: a record read twice
     * before its trace was decided is in two pending records, one copy counts. */
    uint64_t origins[KEEP_ORIGINS];
    size_t norigins;
} keep_ctx;

static void out_add(keep_call *c, out_keys *o, const uint8_t *p, size_t len, uint32_t sec,
                    uint64_t hash)
{
    if (c->oom)
        return;
    if (o->n == o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 256;
        out_key *nv = realloc(o->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            c->oom = true;
            return;
        }
        o->v = nv;
        o->cap = ncap;
    }
    uint8_t *copy = ottr_arena_memdup(&c->key_arena, p, len);
    if (copy == NULL) {
        c->oom = true;
        return;
    }
    o->v[o->n++] = (out_key){copy, (uint32_t)len, sec, hash, false};
}

/* Notes span |r| for the trace's dependency links; |*svc_raw| and |*svc| cache
 * the last service copied into the trace's arena. A span that cannot be noted
 * (out of memory) only loses its links. */
static void dep_note(keep_ctx *k, const otlp_span_ref *r, const char **svc_raw, const char **svc)
{
    const otlp_span *sp = r->span;
    if (k->deps_oom || sp->span_id.len != 8)
        return;
    if (k->ndeps == k->capdeps) {
        size_t ncap = k->capdeps ? k->capdeps * 2 : 64;
        dep_span *nd = realloc(k->deps, ncap * sizeof(*nd));
        if (nd == NULL) {
            k->deps_oom = true;
            return;
        }
        k->deps = nd;
        k->capdeps = ncap;
    }
    const char *raw = r->service ? r->service : OTLP_UNKNOWN_SERVICE;
    if (raw != *svc_raw) {
        *svc = ottr_arena_memdup(&k->c->term_arena, raw, strlen(raw) + 1);
        *svc_raw = *svc ? raw : NULL;
        if (*svc == NULL) {
            k->deps_oom = true;
            return;
        }
    }
    dep_span *d = &k->deps[k->ndeps++];
    memcpy(d->id, sp->span_id.data, 8);
    d->has_parent = sp->parent_span_id.len == 8;
    if (d->has_parent)
        memcpy(d->parent, sp->parent_span_id.data, 8);
    d->kind = (uint8_t)(sp->kind >= 0 && sp->kind <= 5 ? sp->kind : 0);
    d->service = *svc;
    uint64_t m = sp->start_time_unix_nano / (60 * NS_PER_SEC);
    d->minute = m < GRAPH_HOUR_FLAG ? (uint32_t)m : GRAPH_HOUR_FLAG - 1;
}

/* Decodes one chunk into the summary |acc| (may be NULL) and the term sets;
 * with |deps|, notes its spans for the dependency links. */
static ottr_status account_chunk(keep_ctx *k, const uint8_t *chunk, size_t len,
                                 store_summary_acc *acc, bool tags, bool deps)
{
    ottr_arena_reset(&k->c->decode_arena);
    otlp_trace t;
    ottr_status st = otlp_trace_decode(&t, &k->c->decode_arena, chunk, len);
    if (st != OTTR_OK)
        return st;
    const void *last_resource = NULL;
    const char *svc_raw = NULL, *svc = NULL;
    for (size_t i = 0; i < t.nspans; i++) {
        if (acc)
            store_summary_acc_span(acc, &t.spans[i]);
        store_terms_span(&k->idx, tags ? &k->tags : NULL, k->tenant, &t.spans[i], &last_resource);
        if (deps)
            dep_note(k, &t.spans[i], &svc_raw, &svc);
    }
    if (k->idx.oom || k->tags.oom)
        return OTTR_ERR_NOMEM;
    return OTTR_OK;
}

/* Copies the trace's chunk of one pending record. */
static ottr_status copy_ref(keep_ctx *k, store_pending_ref ref, bool *stop_growing)
{
    store *s = k->c->s;
    const uint8_t *val = NULL;
    size_t vlen = 0;
    uint64_t origin = 0;
    /* In the trace's arena: its terms may point into the chunk. */
    int found = store_pending_read(&k->c->reader, &k->c->term_arena, ref, k->tenant, k->tid, &val,
                                   &vlen, &origin);
    ottr_status st = OTTR_OK;
    if (found == -2)
        return OTTR_ERR_IO;
    if (found == -3)
        return OTTR_ERR_NOMEM;
    if (found < 0) {
        OTTR_WARN(STORE_COMPONENT, "keep: skipped a malformed pending record");
        k->dropped++;
        goto out;
    }
    if (found == 0)
        goto out; /* not in it, or reclaimed: copied by an earlier keep */
    for (size_t i = 0; origin && i < k->norigins; i++)
        if (k->origins[i] == origin)
            goto out; /* the same Kafka record, read twice: one copy */
    if (origin && k->norigins < KEEP_ORIGINS)
        k->origins[k->norigins++] = origin;
    uint8_t tkey[TRACES_KEY_LEN];
    /* Spans taken from Kafka are named by their record, wherever they lie. */
    if (origin)
        store_key_traces(tkey, k->tenant, k->tid, (uint32_t)(origin >> 32), (uint32_t)origin);
    else
        store_key_traces(tkey, k->tenant, k->tid, ref.sec, ref.seq);
    /* A trace without a summary has no chunk in `traces`: chunks and summary
     * are written in one batch. Only a trace kept before is looked up (a point
     * read costs a filter block, which a large store keeps out of the cache). */
    int ex = k->have_old ? store_key_exists(s, k->c->ro, CF_TRACES, tkey, sizeof(tkey)) : 0;
    if (ex != 0) {
        st = ex < 0 ? OTTR_ERR_IO : OTTR_OK;
        goto out;
    }
    uint64_t cap = s->opt.max_trace_bytes;
    uint64_t size = (k->have_old ? k->old.sum.bytes : 0) + k->delta.sum.bytes;
    if (*stop_growing || (cap && size > 0 && size + vlen > cap)) {
        /* The trace stops growing at the cap, also for later keeps. Its first
         * chunk is kept whatever its size, so it is never empty. */
        k->delta.sum.partial = true;
        *stop_growing = true;
        k->dropped++;
        goto out;
    }
    st = account_chunk(k, val, vlen, &k->delta, true, true);
    if (st == OTTR_ERR_CORRUPT) {
        OTTR_WARN(STORE_COMPONENT, "keep: dropped a pending chunk that does not decode");
        k->dropped++;
        st = OTTR_OK;
        goto out;
    }
    if (st != OTTR_OK)
        goto out;
    rocksdb_writebatch_put_cf(k->c->wb, s->cf[CF_TRACES], (const char *)tkey, sizeof(tkey),
                              (const char *)val, vlen);
    k->delta.sum.bytes += vlen;
    k->nnew++;
    if (ref.sec > k->max_sec)
        k->max_sec = ref.sec;
out:
    return st;
}

static int dep_cmp(const void *a, const void *b)
{
    return memcmp(((const dep_span *)a)->id, ((const dep_span *)b)->id, 8);
}

static bool is_caller(uint8_t kind)
{
    return kind == 3 || kind == 4; /* CLIENT, PRODUCER */
}

static bool is_callee(uint8_t kind)
{
    return kind == 2 || kind == 5; /* SERVER, CONSUMER */
}

/* Adds the trace's "direct" dependency links (see the top) to the batch: one
 * edge per distinct (parent service, child service, minute) with its count. */
static void dep_links(keep_ctx *k)
{
    if (k->ndeps < 2 || k->deps_oom)
        return;
    qsort(k->deps, k->ndeps, sizeof(*k->deps), dep_cmp);
    struct {
        const char *parent, *child;
        uint32_t minute;
        uint64_t calls;
    } links[32];
    size_t nlinks = 0;
    for (size_t i = 0; i < k->ndeps; i++) {
        const dep_span *c = &k->deps[i];
        if (!c->has_parent)
            continue;
        dep_span key;
        memcpy(key.id, c->parent, 8);
        const dep_span *p = bsearch(&key, k->deps, k->ndeps, sizeof(*k->deps), dep_cmp);
        if (p == NULL || p->service == c->service || strcmp(p->service, c->service) == 0 ||
            (is_caller(p->kind) && is_callee(c->kind)))
            continue;
        size_t j = 0;
        while (j < nlinks && (links[j].minute != c->minute || strcmp(links[j].parent, p->service) ||
                              strcmp(links[j].child, c->service)))
            j++;
        if (j == nlinks) {
            if (nlinks == sizeof(links) / sizeof(links[0]))
                continue; /* a trace with that many distinct links: the rest are not counted */
            links[nlinks].parent = p->service;
            links[nlinks].child = c->service;
            links[nlinks].minute = c->minute;
            links[nlinks++].calls = 0;
        }
        links[j].calls++;
    }
    for (size_t j = 0; j < nlinks; j++)
        store_links_add(&k->c->links, k->c->s, k->c->wb, k->tenant, links[j].minute,
                        links[j].parent, links[j].child, links[j].calls);
}

/* Adds the terms of every chunk already stored for the trace (used when its
 * start second moves and every index entry is written again at the new one). */
static ottr_status collect_stored_terms(keep_ctx *k)
{
    store *s = k->c->s;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, k->c->ro, s->cf[CF_TRACES]);
    for (rocksdb_iter_seek(it, (const char *)k->tkey, TRACE_KEY_LEN); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *key = rocksdb_iter_key(it, &klen);
        if (klen != TRACES_KEY_LEN || memcmp(key, k->tkey, TRACE_KEY_LEN) != 0)
            break;
        const uint8_t *val = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        ottr_status st = account_chunk(k, val, vlen, NULL, false, false);
        if (st == OTTR_ERR_NOMEM) {
            rocksdb_iter_destroy(it);
            return st;
        }
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    rocksdb_iter_destroy(it);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "keep: read of traces failed: %s", e);
        free(e);
        return OTTR_ERR_IO;
    }
    return OTTR_OK;
}

/* Queues the index entries of the terms at |start_sec|. A trace that started
 * far from its arrival second (clock skew, replayed or far-future spans) expires
 * by that arrival second (see INDEX_ARRIVAL_SKEW_SEC). */
static void add_index_entries(keep_ctx *k, uint32_t start_sec, uint32_t arrival_sec)
{
    uint64_t lo = (uint64_t)start_sec + INDEX_ARRIVAL_SKEW_SEC;
    uint64_t hi = (uint64_t)arrival_sec + INDEX_ARRIVAL_SKEW_SEC;
    uint32_t ret = lo >= arrival_sec && hi >= start_sec ? start_sec : arrival_sec;
    for (size_t i = 0; i < k->idx.cap; i++) {
        const store_term *t = &k->idx.slots[i];
        if (t->p)
            store_postings_add(k->c->idx, t->p, t->len, t->hash, start_sec, ret, k->tid);
    }
    if (k->c->idx->oom)
        k->c->oom = true;
}

static bool tag_fresh(store *s, uint64_t hash, uint32_t sec)
{
    uint64_t v =
        atomic_load_explicit(&s->tag_cache[hash & (TAG_CACHE_SLOTS - 1)], memory_order_relaxed);
    return v >> 32 == hash >> 32 && (uint64_t)(uint32_t)v + TAG_REFRESH_SEC > sec;
}

/* Queues the tag entries not written recently (see TAG_REFRESH_SEC). */
static void add_tags(keep_ctx *k, uint32_t sec)
{
    for (size_t i = 0; i < k->tags.cap; i++) {
        const store_term *t = &k->tags.slots[i];
        if (t->p && !tag_fresh(k->c->s, t->hash, sec))
            out_add(k->c, &k->c->tags, t->p, t->len, sec, t->hash);
    }
}

static int ref_cmp(const void *a, const void *b)
{
    const store_pending_ref *x = a, *y = b;
    if (x->sec != y->sec)
        return x->sec < y->sec ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Gathers one trace's new chunks into the batch and queues its index keys, tag
 * entries and summary. Called with the trace's stripe lock held. */
static ottr_status keep_one(keep_ctx *k, const store_keep_req *reqs, size_t nreqs)
{
    keep_call *c = k->c;
    store *s = c->s;
    ottr_status st = store_summary_load(s, c->ro, k->tenant, k->tid, &k->old, &k->have_old);
    if (st != OTTR_OK)
        return st;
    store_summary_acc_init(&k->delta, k->tid);

    bool stop_growing = k->have_old && k->old.sum.partial;
    /* Every record once, oldest first (a record named twice would be counted
     * twice: its chunk is not in `traces` until the batch is written). */
    size_t nrefs = 0;
    for (size_t r = 0; r < nreqs; r++)
        nrefs += reqs[r].nrefs;
    store_pending_ref *refs = ottr_arena_alloc(&c->term_arena, (nrefs ? nrefs : 1) * sizeof(*refs));
    if (refs == NULL)
        return OTTR_ERR_NOMEM;
    size_t m = 0;
    for (size_t r = 0; r < nreqs; r++)
        for (size_t i = 0; i < reqs[r].nrefs; i++)
            refs[m++] = reqs[r].refs[i];
    qsort(refs, m, sizeof(*refs), ref_cmp);
    for (size_t i = 0; i < m && st == OTTR_OK; i++)
        if (i == 0 || ref_cmp(&refs[i - 1], &refs[i]) != 0)
            st = copy_ref(k, refs[i], &stop_growing);
    if (st != OTTR_OK)
        return st;
    c->dropped += k->dropped;

    bool newly_partial = k->delta.sum.partial && !(k->have_old && k->old.sum.partial);
    if (k->nnew == 0 && !(newly_partial && k->have_old))
        return OTTR_OK; /* nothing new: a repeat, or nothing was pending */
    k->delta.last_arrival_sec = k->max_sec;
    dep_links(k);

    store_summary_acc merged;
    if (k->have_old)
        merged = k->old;
    else
        store_summary_acc_init(&merged, k->tid);
    store_summary_acc_merge(&merged, &k->delta);

    uint8_t all[TENANT_KEY_LEN + 2];
    store_termset_add(
        &k->idx, all,
        store_key_index_prefix(all, sizeof(all), k->tenant, IDX_ALL, NULL, 0, NULL, 0), false);
    uint32_t new_sec = store_key_sec(merged.sum.start_ns);
    if (k->have_old && store_key_sec(k->old.sum.start_ns) != new_sec) {
        /* The entries at the old second stay; readers skip them (the summary
         * starts elsewhere). */
        st = collect_stored_terms(k);
        if (st != OTTR_OK)
            return st;
    }
    if (k->idx.oom || k->tags.oom)
        return OTTR_ERR_NOMEM;
    add_index_entries(k, new_sec, merged.last_arrival_sec);
    add_tags(k, merged.last_arrival_sec);

    uint8_t val[STORE_SUMMARY_MAX];
    size_t vlen = store_summary_encode(&merged, val);
    rocksdb_writebatch_put_cf(c->wb, s->cf[CF_SUMMARIES], (const char *)k->tkey, TRACE_KEY_LEN,
                              (const char *)val, vlen);
    if (!k->have_old)
        c->new_traces++;
    c->chunks += k->nnew;
    c->bytes += k->delta.sum.bytes;
    return c->oom ? OTTR_ERR_NOMEM : OTTR_OK;
}

static int key_cmp(const void *a, const void *b)
{
    const out_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->p, y->p, n);
    if (r)
        return r;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    /* Same key: an older second before a newer one. */
    return x->sec < y->sec ? -1 : x->sec > y->sec;
}

/* Sorts the queued keys and marks all but the last of each run of one key: the
 * last, the newest second of a tag, is the one to write. */
static void sort_keys(out_keys *o)
{
    if (o->n > 1)
        qsort(o->v, o->n, sizeof(*o->v), key_cmp);
    for (size_t i = 0; i + 1 < o->n; i++) {
        const out_key *x = &o->v[i], *y = &o->v[i + 1];
        o->v[i].skip = x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
    }
}

/* Writes the tag entries in order: into the batch when |f| is NULL, else into
 * an SST file created in |*f| at the first key. */
static ottr_status emit_tags(keep_call *c, const out_keys *o, store_sst **f)
{
    rocksdb_column_family_handle_t *h = c->s->cf[CF_TAGS];
    ottr_status st = OTTR_OK;
    for (size_t i = 0; i < o->n && st == OTTR_OK; i++) {
        const out_key *k = &o->v[i];
        if (k->skip)
            continue;
        uint8_t v[4];
        be32_put(v, k->sec);
        if (f == NULL) {
            rocksdb_writebatch_put_cf(c->wb, h, (const char *)k->p, k->len, (const char *)v, 4);
            continue;
        }
        if (*f == NULL)
            st = store_sst_create(c->s, CF_TAGS, f);
        if (st == OTTR_OK)
            st = store_sst_put(*f, k->p, k->len, v, 4);
    }
    return st;
}

/* Writes the queued index entries and tag entries: ingested as SST files when
 * they make many keys, else into the batch. The ingest comes before the batch
 * is written: if the process dies in between, the keep is redone from pending
 * and writes the same entries again (a search skips an entry whose summary is
 * not there yet, and a trace it has seen); if the ingest fails, the batch is not
 * written. */
static ottr_status write_keys(keep_call *c)
{
    store_postings_sort(c->idx);
    sort_keys(&c->tags);
    /* Counted in index entries, not posting keys: a call that writes through
     * the memtable now and ingests files the next would make each ingest flush
     * the memtable it overlaps first (blocking the writer, which then falls
     * behind and ingests more). */
    if (c->idx->n + c->tags.n < KEEP_INGEST_MIN_KEYS) {
        ottr_status st = store_postings_write(c->s, c->idx, c->wb, NULL);
        if (st == OTTR_OK)
            st = emit_tags(c, &c->tags, NULL);
        return st;
    }
    store_sst *f[2] = {NULL, NULL};
    ottr_status st = store_postings_write(c->s, c->idx, NULL, &f[0]);
    if (st == OTTR_OK)
        st = emit_tags(c, &c->tags, &f[1]);
    if (st != OTTR_OK) {
        store_sst_discard(f[0]);
        store_sst_discard(f[1]);
        return st;
    }
    size_t n = 0;
    for (int i = 0; i < 2; i++)
        if (f[i])
            f[n++] = f[i];
    return store_sst_ingest(f, n);
}

/* After the write: remembers the tag entries just written. */
static void note_tags(keep_call *c)
{
    for (size_t i = 0; i < c->tags.n; i++) {
        const out_key *o = &c->tags.v[i];
        if (o->hash && !o->skip)
            atomic_store_explicit(&c->s->tag_cache[o->hash & (TAG_CACHE_SLOTS - 1)],
                                  (o->hash >> 32) << 32 | o->sec, memory_order_relaxed);
    }
}

static int req_cmp(const void *a, const void *b)
{
    const store_keep_req *x = a, *y = b;
    if (x->tenant != y->tenant)
        return x->tenant < y->tenant ? -1 : 1;
    return memcmp(x->trace_id, y->trace_id, 16);
}

/* Requests for one trace: the same tenant and trace ID. */
static bool same_trace(const store_keep_req *x, const store_keep_req *y)
{
    return x->tenant == y->tenant && memcmp(x->trace_id, y->trace_id, 16) == 0;
}

static unsigned stripe_of(store *s, const uint8_t *tid)
{
    return (unsigned)(store_keep_lock(s, tid) - s->keep_locks);
}

/* The batch and index entries of a call, with the capacity an earlier call
 * left them. */
struct store_keep_scratch {
    rocksdb_writebatch_t *wb;
    store_postings idx;
};

void store_keep_scratch_free(struct store_keep_scratch *sc)
{
    if (sc == NULL)
        return;
    if (sc->wb)
        rocksdb_writebatch_destroy(sc->wb);
    store_postings_free(&sc->idx);
    free(sc);
}

/* What the last keep left, if no other keep holds it, else new (NULL when out
 * of memory). */
static struct store_keep_scratch *scratch_take(store *s)
{
    pthread_mutex_lock(&s->keep_scratch_mu);
    struct store_keep_scratch *sc = s->keep_scratch;
    s->keep_scratch = NULL;
    pthread_mutex_unlock(&s->keep_scratch_mu);
    if (sc)
        return sc;
    sc = calloc(1, sizeof(*sc));
    if (sc == NULL)
        return NULL;
    sc->wb = rocksdb_writebatch_create();
    store_postings_init(&sc->idx);
    return sc;
}

/* Gives |sc| back, emptied but with its capacity (a batch grown past
 * KEEP_BATCH_KEEP_BYTES is not kept), unless another is already kept. */
static void scratch_give(store *s, struct store_keep_scratch *sc)
{
    size_t size = 0;
    rocksdb_writebatch_data(sc->wb, &size);
    if (size > KEEP_BATCH_KEEP_BYTES) {
        rocksdb_writebatch_destroy(sc->wb);
        sc->wb = rocksdb_writebatch_create();
    } else {
        rocksdb_writebatch_clear(sc->wb);
    }
    store_postings_reset(&sc->idx);
    pthread_mutex_lock(&s->keep_scratch_mu);
    if (s->keep_scratch == NULL) {
        s->keep_scratch = sc;
        sc = NULL;
    }
    pthread_mutex_unlock(&s->keep_scratch_mu);
    store_keep_scratch_free(sc);
}

/* Keeps |n| requests (sorted by tenant and trace ID) in one batch. */
static ottr_status keep_sorted(store *s, const store_keep_req *reqs, size_t n)
{
    keep_call c;
    store_perf_off();
    memset(&c, 0, sizeof(c));
    c.s = s;
    c.ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_prefix_same_as_start(c.ro, 1);
    ottr_arena_init(&c.key_arena, 64 * 1024, 0);
    ottr_arena_init(&c.term_arena, 16 * 1024, 0);
    ottr_arena_init(&c.decode_arena, 64 * 1024, 0);
    c.sc = scratch_take(s);
    if (c.sc == NULL) {
        rocksdb_readoptions_destroy(c.ro);
        return OTTR_ERR_NOMEM;
    }
    c.wb = c.sc->wb;
    c.idx = &c.sc->idx;
    store_termset_init(&c.idx_terms, &c.term_arena, STORE_MAX_TERMS);
    store_termset_init(&c.tag_terms, &c.term_arena, STORE_MAX_TERMS);

    /* Every stripe the traces use, locked in ascending order. */
    bool locked[STORE_KEEP_STRIPES] = {false};
    for (size_t i = 0; i < n; i++)
        locked[stripe_of(s, reqs[i].trace_id)] = true;
    for (unsigned i = 0; i < STORE_KEEP_STRIPES; i++)
        if (locked[i])
            pthread_mutex_lock(&s->keep_locks[i]);
    store_plog_reader_init(&c.reader, s);

    ottr_status st = OTTR_OK;
    for (size_t i = 0; i < n && st == OTTR_OK;) {
        /* The requests of one trace (adjacent: sorted) are kept together. */
        size_t same = 1;
        while (i + same < n && same_trace(&reqs[i + same], &reqs[i]))
            same++;
        keep_ctx k;
        memset(&k, 0, sizeof(k));
        k.c = &c;
        k.tenant = reqs[i].tenant;
        k.tid = reqs[i].trace_id;
        store_key_trace(k.tkey, k.tenant, k.tid);
        ottr_arena_reset(&c.term_arena);
        /* The call's sets, emptied: their tables serve trace after trace. */
        store_termset_clear(&c.idx_terms);
        store_termset_clear(&c.tag_terms);
        k.idx = c.idx_terms;
        k.tags = c.tag_terms;
        st = keep_one(&k, reqs + i, same);
        free(k.deps);
        c.idx_terms = k.idx;
        c.tag_terms = k.tags;
        i += same;
    }
    if (st == OTTR_OK && c.oom)
        st = OTTR_ERR_NOMEM;
    if (st == OTTR_OK)
        store_links_write(&c.links, s, c.wb);
    if (st == OTTR_OK && rocksdb_writebatch_count(c.wb) > 0) {
        st = write_keys(&c);
        if (st == OTTR_OK)
            st = store_write(s, c.wb, NULL, 0);
        if (st == OTTR_OK) {
            note_tags(&c);
            atomic_fetch_add(&s->kept_traces, c.new_traces);
            atomic_fetch_add(&s->kept_chunks, c.chunks);
            atomic_fetch_add(&s->kept_bytes, c.bytes);
        }
    }
    if (st == OTTR_OK)
        atomic_fetch_add(&s->dropped_chunks, c.dropped);

    for (unsigned i = STORE_KEEP_STRIPES; i-- > 0;)
        if (locked[i])
            pthread_mutex_unlock(&s->keep_locks[i]);
    scratch_give(s, c.sc);
    store_links_free(&c.links);
    store_termset_free(&c.idx_terms);
    store_termset_free(&c.tag_terms);
    free(c.tags.v);
    ottr_arena_free(&c.key_arena);
    ottr_arena_free(&c.term_arena);
    ottr_arena_free(&c.decode_arena);
    rocksdb_readoptions_destroy(c.ro);
    store_plog_reader_close(&c.reader);
    return st;
}

ottr_status store_keep_trace(store *s, uint32_t tenant, const uint8_t trace_id[16],
                             const store_pending_ref *refs, size_t nrefs)
{
    store_keep_req r;
    r.tenant = tenant;
    memcpy(r.trace_id, trace_id, 16);
    r.refs = refs;
    r.nrefs = nrefs;
    return store_keep_traces(s, &r, 1);
}

ottr_status store_keep_traces(store *s, const store_keep_req *reqs, size_t n)
{
    if (n == 0)
        return OTTR_OK;
    if (n == 1)
        return keep_sorted(s, reqs, 1);

    /* Sorted by tenant and trace ID so that the requests of one trace are adjacent: two
     * separate keeps of one trace in a batch would each start from the same
     * stored summary. A trace's requests never straddle two batches. */
    store_keep_req *v = malloc(n * sizeof(*v));
    if (v == NULL)
        return OTTR_ERR_NOMEM;
    memcpy(v, reqs, n * sizeof(*v));
    qsort(v, n, sizeof(*v), req_cmp);
    ottr_status st = OTTR_OK;
    for (size_t i = 0; i < n && st == OTTR_OK;) {
        size_t end = i + MAX_KEEP_BATCH < n ? i + MAX_KEEP_BATCH : n;
        while (end < n && same_trace(&v[end - 1], &v[end]))
            end++;
        st = keep_sorted(s, v + i, end - i);
        i = end;
    }
    free(v);
    return st;
}
