/* sampler/spanmetrics.c - RED metrics from every span, before sampling:
 * traces_spanmetrics_calls_total, _latency (histogram) and _size_total by
 * service, span name, kind and status, with a cap on the number of series; and
 * the same counts per minute of the spans' end (service, name, kind: calls,
 * errors, latency histogram), flushed to the store every second. */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "sampler/internal.h"

#define STRIPES  8
#define MAX_SVC  255
#define MAX_NAME 511

static const double lat_bounds[] = {0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
                                    0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384};
#define NLAT (sizeof(lat_bounds) / sizeof(lat_bounds[0]))

static const char *const kind_names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                         "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                         "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
static const char *const status_names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK",
                                           "STATUS_CODE_ERROR"};

typedef struct sm_series {
    char *service;
    char *name;
    uint8_t kind, status;
    uint64_t calls;
    uint64_t size;
    uint64_t lat[NLAT + 1];
    double sum;
} sm_series;

/* A series' counts in one minute, waiting for the next flush. */
typedef struct sm_minute {
    uint32_t minute;
    uint8_t kind;
    char *service, *name; /* owned */
    uint64_t calls, errors;
    uint64_t lat[NLAT + 1];
    double sum;
} sm_minute;

struct spanmetrics {
    struct {
        pthread_mutex_t mu;
        strmap map;
        strmap minutes; /* minute | service 0 name 0 kind -> sm_minute */
    } stripe[STRIPES];
    size_t max_series;
    _Atomic size_t nseries;
    _Atomic uint32_t now_minute; /* set by each flush; spans ending later count here */
};

static void minute_free(void *p)
{
    sm_minute *mm = p;
    if (mm == NULL)
        return;
    free(mm->service);
    free(mm->name);
    free(mm);
}

static void series_free(void *p)
{
    sm_series *s = p;
    free(s->service);
    free(s->name);
    free(s);
}

spanmetrics *sampler_spanmetrics_create(size_t max_series)
{
    spanmetrics *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->max_series = max_series;
    atomic_store(&m->now_minute, (uint32_t)(ottr_now_ns() / (60 * NS_PER_SEC)));
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&m->stripe[i].mu, NULL);
        sampler_strmap_init(&m->stripe[i].map);
        sampler_strmap_init(&m->stripe[i].minutes);
    }
    return m;
}

void sampler_spanmetrics_destroy(spanmetrics *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < STRIPES; i++) {
        sampler_strmap_free(&m->stripe[i].map, series_free);
        sampler_strmap_free(&m->stripe[i].minutes, minute_free);
        pthread_mutex_destroy(&m->stripe[i].mu);
    }
    free(m);
}

size_t sampler_spanmetrics_series(spanmetrics *m)
{
    return atomic_load(&m->nseries);
}

/* Builds "service\0name\0" kind status into |key|; returns its length. */
static size_t make_key(char *key, const char *svc, size_t slen, const char *name, size_t nlen,
                       int kind, int status)
{
    size_t k = 0;
    memcpy(key, svc, slen);
    k += slen;
    key[k++] = '\0';
    memcpy(key + k, name, nlen);
    k += nlen;
    key[k++] = '\0';
    key[k++] = (char)kind;
    key[k++] = (char)status;
    return k;
}

static sm_series *series_new(const char *svc, size_t slen, const char *name, size_t nlen, int kind,
                             int status)
{
    sm_series *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->service = strndup(svc, slen);
    s->name = strndup(name, nlen);
    if (s->service == NULL || s->name == NULL) {
        series_free(s);
        return NULL;
    }
    s->kind = (uint8_t)kind;
    s->status = (uint8_t)status;
    return s;
}

/* The key of a series' minute entry: minute(4) | service 0 name 0 kind. */
static size_t minute_key(char *key, uint32_t minute, const char *svc, size_t slen, const char *name,
                         size_t nlen, int kind)
{
    memcpy(key, &minute, 4);
    size_t k = 4 + make_key(key + 4, svc, slen, name, nlen, kind, 0);
    return k - 1; /* no status */
}

/* The minute entry under |key| in |map|, created when missing; NULL when out
 * of memory. Under the stripe's lock. */
static sm_minute *minute_find(strmap *map, const char *key, size_t klen, uint64_t h)
{
    sm_minute *mm = sampler_strmap_get(map, key, klen, h);
    if (mm != NULL)
        return mm;
    mm = calloc(1, sizeof(*mm));
    if (mm == NULL)
        return NULL;
    const char *svc = key + 4, *name = svc + strlen(svc) + 1;
    memcpy(&mm->minute, key, 4);
    mm->kind = (uint8_t)key[klen - 1];
    mm->service = strdup(svc);
    mm->name = strdup(name);
    if (mm->service == NULL || mm->name == NULL || sampler_strmap_put(map, key, klen, h, mm) != 0) {
        minute_free(mm);
        return NULL;
    }
    return mm;
}

/* ------------------------------------------------------------------ observing */

/* Spans are first counted per series in a local table, then each series is
 * merged into the shared stripes under one lock: many spans of a request share
 * a series. Durations are added to the shared sums one span at a time, in
 * arrival order, so the sums are the same as when each span is counted alone. */
#define AGG_SPANS 128 /* spans counted before a merge */
#define AGG_SLOTS 256 /* local table slots, a power of two >= 2 * AGG_SPANS */

/* One series' share of the spans counted so far. */
typedef struct sm_local {
    const char *svc, *name;
    uint16_t slen, nlen;
    uint8_t kind, status;
    uint32_t minute;   /* of the spans' end */
    bool deferred;     /* merged into the overflow series: sums in arrival order */
    uint64_t h;        /* XXH3 of the key */
    sm_series *target; /* while merging */
    int tstripe;       /* the stripe of target */
    uint32_t calls;
    uint64_t size;
    uint32_t lat[NLAT + 1];
    uint8_t first, last; /* its spans' durations, chained through sm_agg.next */
} sm_local;

typedef struct sm_agg {
    uint8_t slot[AGG_SLOTS]; /* series index + 1; 0 = empty */
    size_t nseries, nspans;
    sm_local series[AGG_SPANS];
    double secs[AGG_SPANS];  /* per span, in arrival order */
    uint8_t next[AGG_SPANS]; /* the next span of the same series */
    uint8_t of[AGG_SPANS];   /* the series of each span */
} sm_agg;

/* The stripe of a key's hash. */
static int stripe_of(uint64_t h)
{
    return (int)(h >> 61) & (STRIPES - 1);
}

/* Adds |l| to its minute entry under the series |svc| |name| (the overflow
 * series past the cap). Under the stripe's lock; a failed allocation loses
 * the minute's counts only. */
static void minute_count(strmap *map, const sm_agg *a, const sm_local *l, const char *svc,
                         size_t slen, const char *name, size_t nlen)
{
    char key[4 + MAX_SVC + MAX_NAME + 4];
    size_t klen = minute_key(key, l->minute, svc, slen, name, nlen, l->kind);
    sm_minute *mm = minute_find(map, key, klen, XXH3_64bits(key, klen));
    if (mm == NULL)
        return;
    mm->calls += l->calls;
    if (l->status == STATUS_ERROR)
        mm->errors += l->calls;
    for (size_t b = 0; b <= NLAT; b++)
        mm->lat[b] += l->lat[b];
    for (unsigned k = l->first;; k = a->next[k]) {
        mm->sum += a->secs[k];
        if (k == l->last)
            break;
    }
}

/* Adds |l| to its shared series (found, created, or the overflow series past the
 * cap) with the stripe |*locked| (-1: none) locked, switching stripes as needed.
 * Leaves l->target NULL when the series could not be created. */
static void merge_one(spanmetrics *m, sm_agg *a, sm_local *l, int *locked)
{
    const char *svc = l->svc, *name = l->name;
    size_t slen = l->slen, nlen = l->nlen;
    uint64_t h = l->h;
    char key[MAX_SVC + MAX_NAME + 4];
    size_t klen = make_key(key, svc, slen, name, nlen, l->kind, l->status);
    l->target = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int si = stripe_of(h);
        if (*locked != si) {
            if (*locked >= 0)
                pthread_mutex_unlock(&m->stripe[*locked].mu);
            pthread_mutex_lock(&m->stripe[si].mu);
            *locked = si;
        }
        sm_series *s = sampler_strmap_get(&m->stripe[si].map, key, klen, h);
        if (s == NULL) {
            if (attempt == 0 && atomic_load(&m->nseries) >= m->max_series) {
                /* Over the cap: count under one overflow series per kind/status. */
                svc = name = "overflow";
                slen = nlen = 8;
                klen = make_key(key, svc, slen, name, nlen, l->kind, l->status);
                h = XXH3_64bits(key, klen);
                continue;
            }
            s = series_new(svc, slen, name, nlen, l->kind, l->status);
            if (s == NULL || sampler_strmap_put(&m->stripe[si].map, key, klen, h, s) != 0) {
                if (s)
                    series_free(s);
                return;
            }
            atomic_fetch_add(&m->nseries, 1);
        }
        s->calls += l->calls;
        s->size += l->size;
        for (size_t b = 0; b <= NLAT; b++)
            s->lat[b] += l->lat[b];
        /* Series of other keys may share the overflow series: their spans' sums
         * are added in arrival order afterwards. */
        l->deferred = slen == 8 && nlen == 8 && memcmp(svc, "overflow", 8) == 0 &&
                      memcmp(name, "overflow", 8) == 0;
        if (!l->deferred) {
            for (unsigned k = l->first;; k = a->next[k]) {
                s->sum += a->secs[k];
                if (k == l->last)
                    break;
            }
        }
        l->target = s;
        l->tstripe = si;
        minute_count(&m->stripe[si].minutes, a, l, svc, slen, name, nlen);
        return;
    }
}

static void agg_init(sm_agg *a)
{
    memset(a->slot, 0, sizeof(a->slot));
    a->nseries = a->nspans = 0;
}

/* Merges everything counted in |a| into |m| and empties |a|. */
static void agg_merge(spanmetrics *m, sm_agg *a)
{
    int locked = -1;
    bool deferred = false;
    for (size_t i = 0; i < a->nseries; i++) {
        merge_one(m, a, &a->series[i], &locked);
        deferred |= a->series[i].deferred && a->series[i].target != NULL;
    }
    for (size_t k = 0; deferred && k < a->nspans; k++) {
        const sm_local *l = &a->series[a->of[k]];
        if (!l->deferred || l->target == NULL)
            continue;
        if (locked != l->tstripe) {
            if (locked >= 0)
                pthread_mutex_unlock(&m->stripe[locked].mu);
            pthread_mutex_lock(&m->stripe[l->tstripe].mu);
            locked = l->tstripe;
        }
        l->target->sum += a->secs[k];
    }
    if (locked >= 0)
        pthread_mutex_unlock(&m->stripe[locked].mu);
    agg_init(a);
}
/* Counts span |r| in |a|, merging first when |a| is full. */
static void agg_add(spanmetrics *m, sm_agg *a, const otlp_span_ref *r)
{
    if (a->nspans == AGG_SPANS)
        agg_merge(m, a);
    const otlp_span *sp = r->span;
    const char *svc = r->service ? r->service : "unknown_service";
    const char *name = sp->name ? sp->name : "";
    size_t slen = strnlen(svc, MAX_SVC), nlen = strnlen(name, MAX_NAME);
    int kind = (sp->kind >= 0 && sp->kind <= 5) ? (int)sp->kind : 0;
    int status = span_status(sp);
    if (status < 0 || status > 2)
        status = 0;
    double secs = (double)otlp_span_duration(sp) / NS_PER_SEC;
    /* The minute of the span's end; spans without one or from the future count
     * in the current minute. */
    uint32_t now_min = atomic_load_explicit(&m->now_minute, memory_order_relaxed);
    uint64_t end_min = sp->end_time_unix_nano / (60 * NS_PER_SEC);
    uint32_t minute =
        sp->end_time_unix_nano == 0 || end_min > now_min ? now_min : (uint32_t)end_min;
    char key[MAX_SVC + MAX_NAME + 4];
    uint64_t h = XXH3_64bits(key, make_key(key, svc, slen, name, nlen, kind, status));
    sm_local *l;
    for (size_t i = h & (AGG_SLOTS - 1);; i = (i + 1) & (AGG_SLOTS - 1)) {
        if (a->slot[i] == 0) {
            l = &a->series[a->nseries];
            memset(l, 0, sizeof(*l));
            l->svc = svc;
            l->name = name;
            l->slen = (uint16_t)slen;
            l->nlen = (uint16_t)nlen;
            l->kind = (uint8_t)kind;
            l->status = (uint8_t)status;
            l->minute = minute;
            l->h = h;
            a->slot[i] = (uint8_t)++a->nseries;
            break;
        }
        l = &a->series[a->slot[i] - 1];
        if (l->h == h && l->minute == minute && l->kind == kind && l->status == status &&
            l->slen == slen && l->nlen == nlen && memcmp(l->svc, svc, slen) == 0 &&
            memcmp(l->name, name, nlen) == 0)
            break;
    }
    uint8_t k = (uint8_t)a->nspans++;
    a->secs[k] = secs;
    a->of[k] = (uint8_t)(l - a->series);
    if (l->calls++ == 0)
        l->first = k;
    else
        a->next[l->last] = k;
    l->last = k;
    l->size += otlp_span_ref_size(r);
    l->lat[ottr_prom_bucket(lat_bounds, NLAT, secs)]++;
}

void sampler_spanmetrics_observe(spanmetrics *m, const otlp_span_ref *spans, size_t n)
{
    sm_agg a;
    agg_init(&a);
    for (size_t i = 0; i < n; i++)
        agg_add(m, &a, &spans[i]);
    agg_merge(m, &a);
}

void sampler_spanmetrics_observe_batch(spanmetrics *m, const otlp_batch *b)
{
    sm_agg a;
    agg_init(&a);
    for (size_t g = 0; g < b->ngroups; g++)
        for (size_t i = 0; i < b->groups[g].nspans; i++)
            agg_add(m, &a, &b->groups[g].spans[i]);
    agg_merge(m, &a);
}

static void labels_of(ottr_buf *b, const char *extra, const sm_series *s)
{
    ottr_buf_reset(b);
    if (extra[0]) {
        ottr_buf_append(b, extra, strlen(extra));
        ottr_buf_putc(b, ',');
    }
    ottr_prom_label(b, "service", s->service);
    ottr_buf_putc(b, ',');
    ottr_prom_label(b, "span_name", s->name);
    ottr_buf_putc(b, ',');
    ottr_prom_label(b, "span_kind", kind_names[s->kind]);
    ottr_buf_putc(b, ',');
    ottr_prom_label(b, "status_code", status_names[s->status]);
}

enum { F_CALLS, F_LATENCY, F_SIZE };

/* The series of one instance for family |f| of the heads below. */
static void render_one(spanmetrics *m, const char *extra, int f, const char *name, ottr_buf *lb,
                       ottr_buf *out)
{
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&m->stripe[i].mu);
        const strmap *map = &m->stripe[i].map;
        for (size_t k = 0; map->e && k <= map->mask; k++) {
            const sm_series *s = map->e[k].val;
            if (map->e[k].key == NULL)
                continue;
            labels_of(lb, extra, s);
            const char *l = lb->data ? lb->data : "";
            if (f == F_LATENCY)
                ottr_prom_histogram(out, name, l, lat_bounds, NLAT, s->lat, s->sum);
            else
                ottr_prom_sample_u64(out, name, l, f == F_CALLS ? s->calls : s->size);
        }
        pthread_mutex_unlock(&m->stripe[i].mu);
    }
}

void sampler_spanmetrics_render(spanmetrics *const *m, const char *const *labels, size_t n,
                                ottr_buf *out)
{
    static const char *const heads[][3] = {
        {"traces_spanmetrics_calls_total", "Spans received, before sampling.", "counter"},
        {"traces_spanmetrics_latency", "Span duration in seconds, before sampling.", "histogram"},
        {"traces_spanmetrics_size_total", "Encoded span bytes, before sampling.", "counter"},
    };
    ottr_buf lb = {0};
    for (int f = F_CALLS; f <= F_SIZE; f++) {
        ottr_prom_family(out, heads[f][0], heads[f][1], heads[f][2]);
        for (size_t i = 0; i < n; i++)
            render_one(m[i], labels[i], f, heads[f][0], &lb, out);
    }
    ottr_buf_free(&lb);
}

/* ------------------------------------------------------------------ persistence */

/* Puts the entries of |taken| back into the stripes (after a failed write). */
static void put_back(spanmetrics *m, strmap *taken)
{
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&m->stripe[i].mu);
        strmap *map = &m->stripe[i].minutes;
        for (size_t k = 0; taken[i].e && k <= taken[i].mask; k++) {
            strmap_entry *en = &taken[i].e[k];
            const sm_minute *from = en->val;
            if (en->key == NULL)
                continue;
            sm_minute *to = minute_find(map, en->key, en->klen, en->hash);
            if (to == NULL)
                continue;
            to->calls += from->calls;
            to->errors += from->errors;
            for (size_t b = 0; b <= NLAT; b++)
                to->lat[b] += from->lat[b];
            to->sum += from->sum;
        }
        pthread_mutex_unlock(&m->stripe[i].mu);
    }
}

ottr_status sampler_spanmetrics_flush(spanmetrics *m, store_view v, uint64_t now_ns)
{
    atomic_store(&m->now_minute, (uint32_t)(now_ns / (60 * NS_PER_SEC)));
    strmap taken[STRIPES];
    size_t n = 0;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&m->stripe[i].mu);
        taken[i] = m->stripe[i].minutes;
        sampler_strmap_init(&m->stripe[i].minutes);
        pthread_mutex_unlock(&m->stripe[i].mu);
        n += taken[i].count;
    }
    ottr_status rc = OTTR_OK;
    if (n > 0) {
        store_span_series *recs = calloc(n, sizeof(*recs));
        if (recs == NULL) {
            rc = OTTR_ERR_NOMEM;
        } else {
            size_t k = 0;
            for (int i = 0; i < STRIPES; i++) {
                for (size_t e = 0; taken[i].e && e <= taken[i].mask; e++) {
                    const sm_minute *mm = taken[i].e[e].val;
                    if (taken[i].e[e].key == NULL)
                        continue;
                    store_span_series *r = &recs[k++];
                    r->minute = mm->minute;
                    r->service = mm->service;
                    r->name = mm->name;
                    r->kind = mm->kind;
                    r->calls = mm->calls;
                    r->errors = mm->errors;
                    memcpy(r->latency, mm->lat, sizeof(r->latency));
                    r->latency_sum_s = mm->sum;
                }
            }
            rc = store_add_span_metrics(v, recs, k);
            free(recs);
        }
        if (rc != OTTR_OK)
            put_back(m, taken);
    }
    for (int i = 0; i < STRIPES; i++)
        sampler_strmap_free(&taken[i], minute_free);
    return rc;
}
