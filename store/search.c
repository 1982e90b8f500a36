/* store/search.c - finds traces through the time-ordered index: one term drives
 * the scan (newest start second first), the query's other terms are checked by
 * point lookups of their index keys, and the summary settles time and duration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define MAX_QUERY_TERMS 16
#define TERM_MAX        600
/* Candidates of one start second are sorted by start before they are reported;
 * a second with more candidates is reported in batches of this many. */
#define SECOND_BATCH 256

typedef struct qterm {
    uint8_t prefix[TERM_MAX]; /* tenant | kind | term | 0x00 */
    size_t len;
} qterm;

typedef struct search_ctx {
    store *s;
    uint32_t tenant;
    const store_search_query *q;
    rocksdb_readoptions_t *ro;
    qterm terms[MAX_QUERY_TERMS]; /* terms[0] drives the scan */
    size_t nterms;
    store_trace_summary *batch;
    size_t nbatch;
    store_summary_fn fn;
    void *fnctx;
    bool stopped; /* |fn| asked to stop */
    store_search_stats stats;
} search_ctx;

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

/* 1 when every term but the driving one has an index key for the trace. */
static int other_terms_hold(search_ctx *c, const uint8_t *suffix)
{
    uint8_t key[TERM_MAX + INDEX_SUFFIX_LEN];
    for (size_t i = 1; i < c->nterms; i++) {
        size_t klen =
            store_key_index(key, sizeof(key), c->terms[i].prefix, c->terms[i].len, suffix);
        int ex = store_key_exists(c->s, c->ro, CF_INDEX, key, klen);
        if (ex <= 0)
            return ex;
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

/* Loads and checks one candidate; queues it when it matches. */
static ottr_status candidate(search_ctx *c, const uint8_t *tid)
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
    if (bad || !summary_matches(c->q, &a.sum))
        return OTTR_OK;
    c->batch[c->nbatch++] = a.sum;
    if (c->nbatch == SECOND_BATCH)
        flush_batch(c);
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

    /* The driving term's keys end where the term's 0x00 separator becomes 0x01. */
    uint8_t upper[TERM_MAX];
    store_key_upper(upper, d->prefix, d->len);
    rocksdb_readoptions_set_iterate_upper_bound(c->ro, (const char *)upper, d->len);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(c->s->db, c->ro, c->s->cf[CF_INDEX]);

    uint8_t seek[TERM_MAX + 4];
    size_t seeklen =
        store_key_index_seek(seek, d->prefix, d->len, q->end_ns ? end_sec : UINT32_MAX);
    ottr_status st = OTTR_OK;
    bool have_sec = false;
    uint32_t cur_sec = 0;
    uint32_t nseen = 0;
    for (rocksdb_iter_seek(it, (const char *)seek, seeklen); rocksdb_iter_valid(it) && !c->stopped;
         rocksdb_iter_next(it)) {
        if (q->stop && ++nseen % STORE_SEARCH_STOP_EVERY == 0 && q->stop(q->stop_ctx, &c->stats))
            break;
        size_t klen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        if (klen != d->len + INDEX_SUFFIX_LEN || memcmp(k, d->prefix, d->len) != 0)
            continue;
        const uint8_t *suffix = k + d->len;
        uint32_t sec = store_key_index_sec(suffix);
        if (q->start_ns && sec < start_sec)
            break;
        if (have_sec && sec != cur_sec)
            flush_batch(c);
        have_sec = true;
        cur_sec = sec;
        int ok = other_terms_hold(c, suffix);
        if (ok < 0) {
            st = OTTR_ERR_IO;
            break;
        }
        if (ok == 0)
            continue;
        st = candidate(c, store_key_index_tid(suffix));
        if (st != OTTR_OK)
            break;
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
    rocksdb_readoptions_destroy(c->ro);
    rocksdb_release_snapshot(s->db, snap);
out:
    if (stats)
        *stats = c->stats;
    free(c->batch);
    free(c);
    return st;
}
