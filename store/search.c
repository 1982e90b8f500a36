/* store/search.c - finds traces through the index's posting lists: one term
 * drives the scan of its bucket (newest start second first), the query's other
 * terms are checked against their entries of the same second, and the summary
 * settles time and duration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "store/internal.h"

#define MAX_QUERY_TERMS 16
#define TERM_MAX        600
/* Candidates of one start second are sorted by start before they are reported;
 * a second with more candidates is reported in batches of this many. */
#define SECOND_BATCH 256

/* A set of trace IDs (open addressing). */
typedef struct tidset {
    uint8_t (*ids)[16];
    uint8_t *used;
    size_t cap, n;
} tidset;

typedef struct qterm {
    uint8_t prefix[TERM_MAX]; /* tenant | kind | term | 0x00 */
    size_t len;
    uint64_t hash;
    uint8_t bucket[STORE_POSTING_HEAD_MAX]; /* group | bucket */
    size_t blen;
    rocksdb_iterator_t *it; /* the other terms': their entries of one second */
    tidset set;
    uint32_t set_sec;
    bool set_loaded;
} qterm;

typedef struct search_ctx {
    store *s;
    uint32_t tenant;
    const store_search_query *q;
    rocksdb_readoptions_t *ro;
    qterm terms[MAX_QUERY_TERMS]; /* terms[0] drives the scan */
    size_t nterms;
    tidset seen; /* traces reported in the current second */
    store_trace_summary *batch;
    size_t nbatch;
    store_summary_fn fn;
    void *fnctx;
    bool stopped; /* |fn| asked to stop */
    bool halted;  /* q->stop asked to stop: what is found so far is reported */
    store_search_stats stats;
} search_ctx;

/* ---- tidset ---- */

static void tidset_clear(tidset *t)
{
    if (t->n)
        memset(t->used, 0, t->cap);
    t->n = 0;
}

static void tidset_free(tidset *t)
{
    free(t->ids);
    free(t->used);
    memset(t, 0, sizeof(*t));
}

static size_t tidset_slot(const tidset *t, const uint8_t *tid)
{
    return (size_t)be64_get(tid + 8) & (t->cap - 1);
}

static bool tidset_has(const tidset *t, const uint8_t *tid)
{
    if (t->n == 0)
        return false;
    for (size_t j = tidset_slot(t, tid); t->used[j]; j = (j + 1) & (t->cap - 1))
        if (memcmp(t->ids[j], tid, 16) == 0)
            return true;
    return false;
}

/* Adds |tid|: 1 when added, 0 when present, -1 when out of memory. */
static int tidset_add(tidset *t, const uint8_t *tid)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 64;
        tidset g = {malloc(ncap * 16), calloc(ncap, 1), ncap, 0};
        if (g.ids == NULL || g.used == NULL) {
            tidset_free(&g);
            return -1;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->used[i])
                continue;
            size_t j = tidset_slot(&g, t->ids[i]);
            while (g.used[j])
                j = (j + 1) & (ncap - 1);
            memcpy(g.ids[j], t->ids[i], 16);
            g.used[j] = 1;
        }
        g.n = t->n;
        tidset_free(t);
        *t = g;
    }
    size_t j = tidset_slot(t, tid);
    for (; t->used[j]; j = (j + 1) & (t->cap - 1))
        if (memcmp(t->ids[j], tid, 16) == 0)
            return 0;
    memcpy(t->ids[j], tid, 16);
    t->used[j] = 1;
    t->n++;
    return 1;
}

/* ---- terms ---- */

/* Adds a term; returns false when it can never match (too long to be indexed). */
static bool add_term(search_ctx *c, char kind, const char *a, size_t alen, const char *b,
                     size_t blen)
{
    if (c->nterms >= MAX_QUERY_TERMS)
        return true; /* further terms are only not checked */
    qterm *t = &c->terms[c->nterms];
    t->len =
        store_key_index_prefix(t->prefix, sizeof(t->prefix), c->tenant, kind, a, alen, b, blen);
    if (t->len == 0)
        return false;
    t->hash = XXH3_64bits(t->prefix, t->len);
    size_t hlen =
        store_key_posting_head(t->bucket, sizeof(t->bucket), t->prefix, t->len, t->hash, 0);
    if (hlen == 0)
        return false;
    t->blen = store_key_posting_bucket_len(hlen);
    c->nterms++;
    return true;
}

static bool build_terms(search_ctx *c)
{
    const store_search_query *q = c->q;
    for (size_t i = 0; i < q->nattrs; i++) {
        const char *k = q->attrs[i].key, *v = q->attrs[i].value;
        if (k == NULL || v == NULL)
            continue;
        size_t kl = strlen(k), vl = strlen(v);
        if (kl == 0 || kl > STORE_MAX_TERM_KEY || vl > STORE_MAX_TERM_VALUE ||
            memchr(k, 0x01, kl) || memchr(v, 0x01, vl))
            return false;
        /* service.name is indexed as the service of a resource. */
        bool svc = strcmp(k, OTLP_SERVICE_NAME) == 0;
        if (!(svc ? add_term(c, IDX_SERVICE, v, vl, NULL, 0) : add_term(c, IDX_ATTR, k, kl, v, vl)))
            return false;
    }
    const char *svc = q->service && q->service[0] ? q->service : NULL;
    const char *name = q->span_name && q->span_name[0] ? q->span_name : NULL;
    bool ok = true;
    if (svc && name)
        ok = add_term(c, IDX_SVC_NAME, svc, strlen(svc), name, strlen(name));
    else if (svc)
        ok = add_term(c, IDX_SERVICE, svc, strlen(svc), NULL, 0);
    else if (name)
        ok = add_term(c, IDX_NAME, name, strlen(name), NULL, 0);
    if (ok && c->nterms == 0)
        ok = add_term(c, IDX_ALL, "", 0, NULL, 0);
    return ok;
}

/* The start of |t|'s keys of second |sec| (bucket | ~sec); returns the length. */
static size_t second_seek(const qterm *t, uint32_t sec, uint8_t *out)
{
    memcpy(out, t->bucket, t->blen);
    be32_put(out + t->blen, ~sec);
    return t->blen + 4;
}

/* Whether |v| is a posting-list value: retention second, whole entries. */
static bool entries_ok(size_t vlen)
{
    return vlen >= 4 && (vlen - 4) % STORE_POSTING_ENTRY_LEN == 0;
}

/* Loads the traces |t| holds at |sec| into its set. 0, or -1 (out of memory or
 * a read error, logged). */
static int load_second(search_ctx *c, qterm *t, uint32_t sec)
{
    tidset_clear(&t->set);
    t->set_sec = sec;
    t->set_loaded = true;
    if (t->it == NULL &&
        (t->it = rocksdb_create_iterator_cf(c->s->db, c->ro, c->s->cf[CF_INDEX])) == NULL)
        return -1;
    uint8_t seek[STORE_POSTING_HEAD_MAX];
    size_t slen = second_seek(t, sec, seek);
    for (rocksdb_iter_seek(t->it, (const char *)seek, slen); rocksdb_iter_valid(t->it);
         rocksdb_iter_next(t->it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(t->it, &klen);
        if (klen != slen + 8 || memcmp(k, seek, slen) != 0)
            break;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(t->it, &vlen);
        c->stats.inspected_bytes += vlen;
        if (!entries_ok(vlen))
            continue;
        for (size_t o = 4; o < vlen; o += STORE_POSTING_ENTRY_LEN)
            if (be64_get(v + o + 16) == t->hash && tidset_add(&t->set, v + o) < 0)
                return -1;
    }
    char *e = NULL;
    rocksdb_iter_get_error(t->it, &e);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "search: index read failed: %s", e);
        free(e);
        return -1;
    }
    return 0;
}

/* 1 when every term but the driving one holds the trace at |sec|, 0 when one
 * does not, -1 on an error. */
static int other_terms_hold(search_ctx *c, uint32_t sec, const uint8_t *tid)
{
    for (size_t i = 1; i < c->nterms; i++) {
        qterm *t = &c->terms[i];
        if ((!t->set_loaded || t->set_sec != sec) && load_second(c, t, sec) != 0)
            return -1;
        if (!tidset_has(&t->set, tid))
            return 0;
    }
    return 1;
}

static int by_start_desc(const void *a, const void *b)
{
    const store_trace_summary *x = a, *y = b;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? 1 : -1;
    return memcmp(x->trace_id, y->trace_id, 16);
}

static void flush_batch(search_ctx *c)
{
    if (c->nbatch > 1)
        qsort(c->batch, c->nbatch, sizeof(*c->batch), by_start_desc);
    for (size_t i = 0; i < c->nbatch && !c->stopped; i++)
        if (c->fn(c->fnctx, &c->batch[i]) != 0)
            c->stopped = true;
    c->nbatch = 0;
}

static bool summary_matches(const store_search_query *q, const store_trace_summary *sum)
{
    if (q->start_ns && sum->start_ns < q->start_ns)
        return false;
    if (q->end_ns && sum->start_ns > q->end_ns)
        return false;
    uint64_t dur = sum->end_ns >= sum->start_ns ? sum->end_ns - sum->start_ns : 0;
    if (q->min_duration_ns && dur < q->min_duration_ns)
        return false;
    if (q->max_duration_ns && dur > q->max_duration_ns)
        return false;
    return true;
}

/* Loads and checks one candidate of second |sec|; queues it when it matches. */
static ottr_status candidate(search_ctx *c, const uint8_t *tid, uint32_t sec)
{
    uint8_t key[TRACE_KEY_LEN];
    store_key_trace(key, c->tenant, tid);
    char *e = NULL;
    rocksdb_pinnableslice_t *ps = rocksdb_get_pinned_cf(c->s->db, c->ro, c->s->cf[CF_SUMMARIES],
                                                        (const char *)key, sizeof(key), &e);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "search: summary read failed: %s", e);
        free(e);
        return OTTR_ERR_IO;
    }
    if (ps == NULL)
        return OTTR_OK; /* expired or never completed */
    size_t vlen;
    const char *v = rocksdb_pinnableslice_value(ps, &vlen);
    c->stats.inspected_traces++;
    c->stats.inspected_bytes += vlen;
    store_summary_acc a;
    int bad = store_summary_decode((const uint8_t *)v, vlen, tid, &a);
    rocksdb_pinnableslice_destroy(ps);
    /* An entry left at a second the trace no longer starts in is not it. */
    if (bad || store_key_sec(a.sum.start_ns) != sec || !summary_matches(c->q, &a.sum))
        return OTTR_OK;
    c->batch[c->nbatch++] = a.sum;
    if (c->nbatch == SECOND_BATCH)
        flush_batch(c);
    return OTTR_OK;
}

/* Checks the entries of one key of the driving term (second |sec|). */
static ottr_status visit_entries(search_ctx *c, uint32_t sec, const uint8_t *v, size_t vlen,
                                 uint32_t *nseen)
{
    const store_search_query *q = c->q;
    const qterm *d = &c->terms[0];
    for (size_t o = 4; o < vlen && !c->stopped; o += STORE_POSTING_ENTRY_LEN) {
        if (q->stop && ++*nseen % STORE_SEARCH_STOP_EVERY == 0 && q->stop(q->stop_ctx, &c->stats)) {
            c->halted = true;
            break;
        }
        const uint8_t *tid = v + o;
        if (be64_get(v + o + 16) != d->hash)
            continue;
        int added = tidset_add(&c->seen, tid);
        if (added < 0)
            return OTTR_ERR_NOMEM;
        if (added == 0)
            continue; /* reported in this second already */
        int ok = other_terms_hold(c, sec, tid);
        if (ok < 0)
            return OTTR_ERR_IO;
        if (ok == 0)
            continue;
        ottr_status st = candidate(c, tid, sec);
        if (st != OTTR_OK)
            return st;
    }
    return OTTR_OK;
}

static ottr_status scan(search_ctx *c)
{
    const store_search_query *q = c->q;
    const qterm *d = &c->terms[0];
    /* Seconds as the keys hold them (clamped at 2106); exact times are compared
     * on the summaries. */
    uint32_t start_sec = store_key_sec(q->start_ns);
    uint32_t end_sec = store_key_sec(q->end_ns);
    if (q->end_ns && q->start_ns > q->end_ns)
        return OTTR_OK;

    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(c->s->db, c->ro, c->s->cf[CF_INDEX]);
    uint8_t seek[STORE_POSTING_HEAD_MAX];
    size_t seeklen = second_seek(d, q->end_ns ? end_sec : UINT32_MAX, seek);
    ottr_status st = OTTR_OK;
    bool have_sec = false;
    uint32_t cur_sec = 0;
    uint32_t nseen = 0;
    for (rocksdb_iter_seek(it, (const char *)seek, seeklen);
         rocksdb_iter_valid(it) && !c->stopped && !c->halted && st == OTTR_OK;
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        if (klen != d->blen + 12 || memcmp(k, d->bucket, d->blen) != 0)
            break; /* past the bucket */
        uint32_t sec = store_key_posting_sec(k, d->blen + 4);
        if (q->start_ns && sec < start_sec)
            break;
        if (have_sec && sec != cur_sec) {
            flush_batch(c);
            tidset_clear(&c->seen);
        }
        have_sec = true;
        cur_sec = sec;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        c->stats.inspected_bytes += vlen;
        if (entries_ok(vlen))
            st = visit_entries(c, sec, v, vlen, &nseen);
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    rocksdb_iter_destroy(it);
    if (e) {
        OTTR_ERROR(STORE_COMPONENT, "search: index scan failed: %s", e);
        free(e);
        st = OTTR_ERR_IO;
    }
    if (st == OTTR_OK)
        flush_batch(c);
    return st;
}

ottr_status store_search(store_view v, const store_search_query *q, store_summary_fn fn, void *ctx,
                         store_search_stats *stats)
{
    store_perf_off();
    store *s = v.s;
    if (stats)
        memset(stats, 0, sizeof(*stats));
    if (q == NULL || fn == NULL)
        return OTTR_ERR_INVALID;
    search_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return OTTR_ERR_NOMEM;
    c->s = s;
    c->tenant = v.tenant;
    c->q = q;
    c->fn = fn;
    c->fnctx = ctx;
    ottr_status st = OTTR_OK;
    if (!build_terms(c))
        goto out; /* a term that is never indexed: no trace can match */
    c->batch = malloc(SECOND_BATCH * sizeof(*c->batch));
    if (c->batch == NULL) {
        st = OTTR_ERR_NOMEM;
        goto out;
    }
    const rocksdb_snapshot_t *snap = rocksdb_create_snapshot(s->db);
    c->ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_snapshot(c->ro, snap);
    st = scan(c);
    for (size_t i = 0; i < c->nterms; i++) {
        if (c->terms[i].it)
            rocksdb_iter_destroy(c->terms[i].it);
        tidset_free(&c->terms[i].set);
    }
    tidset_free(&c->seen);
    rocksdb_readoptions_destroy(c->ro);
    rocksdb_release_snapshot(s->db, snap);
out:
    if (stats)
        *stats = c->stats;
    free(c->batch);
    free(c);
    return st;
}
