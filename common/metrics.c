/* common/metrics.c - the process-wide metrics registry: counters, gauges and
 * histograms with fixed label sets, updated with atomics, rendered in the
 * Prometheus text format together with the collectors' own families. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

typedef enum metric_type { M_COUNTER, M_GAUGE, M_HISTOGRAM } metric_type;

struct ottr_counter {
    _Atomic uint64_t v;
};

struct ottr_gauge {
    _Atomic double v;
};

struct ottr_histogram {
    size_t nbounds;
    double *bounds;
    _Atomic uint64_t *counts; /* nbounds + 1, the last is +Inf; not cumulative */
    _Atomic double sum;
};

typedef struct series {
    struct series *next;
    char *labels; /* "" when none */
    union {
        struct ottr_counter c;
        struct ottr_gauge g;
        struct ottr_histogram h;
    } u;
} series;

typedef struct family {
    struct family *next;
    char *name;
    char *help;
    metric_type type;
    series *series; /* newest first */
    series **series_tail;
} family;

typedef struct collector {
    struct collector *next;
    ottr_metrics_collect_fn fn;
    void *ctx;
} collector;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static family *families;
static family **families_tail = &families;
static collector *collectors;

/* Handed out when an allocation fails, so callers never check. */
static struct ottr_counter dummy_counter;
static struct ottr_gauge dummy_gauge;
static _Atomic uint64_t dummy_counts[1];
static struct ottr_histogram dummy_histogram = {0, NULL, dummy_counts, 0};

static family *family_get(const char *name, const char *help, metric_type type)
{
    for (family *f = families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f->type == type ? f : NULL;
    family *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (f->name == NULL || f->help == NULL) {
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    f->type = type;
    f->series_tail = &f->series;
    *families_tail = f;
    families_tail = &f->next;
    return f;
}

static series *series_get(family *f, const char *labels, int *created)
{
    const char *l = labels ? labels : "";
    for (series *s = f->series; s; s = s->next)
        if (strcmp(s->labels, l) == 0)
            return s;
    series *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->labels = strdup(l);
    if (s->labels == NULL) {
        free(s);
        return NULL;
    }
    *f->series_tail = s;
    f->series_tail = &s->next;
    *created = 1;
    return s;
}

ottr_counter *ottr_counter_get(const char *name, const char *help, const char *labels)
{
    pthread_mutex_lock(&reg_lock);
    int created = 0;
    family *f = family_get(name, help, M_COUNTER);
    series *s = f ? series_get(f, labels, &created) : NULL;
    pthread_mutex_unlock(&reg_lock);
    return s ? &s->u.c : &dummy_counter;
}

void ottr_counter_add(ottr_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

uint64_t ottr_counter_value(const ottr_counter *c)
{
    return atomic_load_explicit(&((ottr_counter *)c)->v, memory_order_relaxed);
}

ottr_gauge *ottr_gauge_get(const char *name, const char *help, const char *labels)
{
    pthread_mutex_lock(&reg_lock);
    int created = 0;
    family *f = family_get(name, help, M_GAUGE);
    series *s = f ? series_get(f, labels, &created) : NULL;
    pthread_mutex_unlock(&reg_lock);
    return s ? &s->u.g : &dummy_gauge;
}

void ottr_gauge_set(ottr_gauge *g, double v)
{
    atomic_store_explicit(&g->v, v, memory_order_relaxed);
}

static void atomic_add_double(_Atomic double *p, double v)
{
    double old = atomic_load_explicit(p, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(p, &old, old + v, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

double ottr_gauge_value(const ottr_gauge *g)
{
    return atomic_load_explicit(&((ottr_gauge *)g)->v, memory_order_relaxed);
}

ottr_histogram *ottr_histogram_get(const char *name, const char *help, const char *labels,
                                   const double *bounds, size_t nbounds)
{
    pthread_mutex_lock(&reg_lock);
    int created = 0;
    family *f = family_get(name, help, M_HISTOGRAM);
    series *s = f ? series_get(f, labels, &created) : NULL;
    if (s && created) {
        ottr_histogram *h = &s->u.h;
        h->bounds = malloc(sizeof(double) * (nbounds ? nbounds : 1));
        h->counts = calloc(nbounds + 1, sizeof(*h->counts));
        if (h->bounds == NULL || h->counts == NULL) {
            free(h->bounds);
            free(h->counts);
            h->bounds = NULL;
            h->counts = NULL;
            pthread_mutex_unlock(&reg_lock);
            return &dummy_histogram;
        }
        memcpy(h->bounds, bounds, sizeof(double) * nbounds);
        h->nbounds = nbounds;
    }
    pthread_mutex_unlock(&reg_lock);
    if (s == NULL || s->u.h.counts == NULL)
        return &dummy_histogram;
    return &s->u.h;
}

void ottr_histogram_observe(ottr_histogram *h, double v)
{
    size_t i = ottr_prom_bucket(h->bounds, h->nbounds, v);
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_add_double(&h->sum, v);
}

void ottr_metrics_add_collector(ottr_metrics_collect_fn fn, void *ctx)
{
    collector *c = malloc(sizeof(*c));
    if (c == NULL)
        return;
    c->fn = fn;
    c->ctx = ctx;
    pthread_mutex_lock(&reg_lock);
    c->next = collectors;
    collectors = c;
    pthread_mutex_unlock(&reg_lock);
}

void ottr_metrics_remove_collector(ottr_metrics_collect_fn fn, void *ctx)
{
    pthread_mutex_lock(&reg_lock);
    for (collector **pp = &collectors; *pp; pp = &(*pp)->next) {
        if ((*pp)->fn == fn && (*pp)->ctx == ctx) {
            collector *c = *pp;
            *pp = c->next;
            free(c);
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
}

static void render_family(ottr_buf *out, const family *f)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    ottr_prom_family(out, f->name, f->help, types[f->type]);
    for (series *s = f->series; s; s = s->next) {
        switch (f->type) {
        case M_COUNTER:
            ottr_prom_sample_u64(out, f->name, s->labels, ottr_counter_value(&s->u.c));
            break;
        case M_GAUGE:
            ottr_prom_sample(out, f->name, s->labels, ottr_gauge_value(&s->u.g));
            break;
        case M_HISTOGRAM: {
            ottr_histogram *h = &s->u.h;
            uint64_t small[32];
            uint64_t *counts = small;
            if (h->nbounds + 1 > sizeof(small) / sizeof(small[0])) {
                counts = malloc(sizeof(*counts) * (h->nbounds + 1));
                if (counts == NULL) {
                    out->oom = 1;
                    break;
                }
            }
            for (size_t i = 0; i <= h->nbounds; i++)
                counts[i] = atomic_load_explicit(&h->counts[i], memory_order_relaxed);
            ottr_prom_histogram(out, f->name, s->labels, h->bounds, h->nbounds, counts,
                                atomic_load_explicit(&h->sum, memory_order_relaxed));
            if (counts != small)
                free(counts);
            break;
        }
        }
    }
}

void ottr_metrics_render(ottr_buf *out)
{
    pthread_mutex_lock(&reg_lock);
    for (family *f = families; f; f = f->next)
        render_family(out, f);
    for (collector *c = collectors; c; c = c->next)
        c->fn(c->ctx, out);
    pthread_mutex_unlock(&reg_lock);
}

void ottr_metrics_shutdown(void)
{
    pthread_mutex_lock(&reg_lock);
    family *f = families;
    while (f) {
        family *fn = f->next;
        series *s = f->series;
        while (s) {
            series *sn = s->next;
            if (f->type == M_HISTOGRAM) {
                free(s->u.h.bounds);
                free((void *)s->u.h.counts);
            }
            free(s->labels);
            free(s);
            s = sn;
        }
        free(f->name);
        free(f->help);
        free(f);
        f = fn;
    }
    families = NULL;
    families_tail = &families;
    collector *c = collectors;
    while (c) {
        collector *cn = c->next;
        free(c);
        c = cn;
    }
    collectors = NULL;
    pthread_mutex_unlock(&reg_lock);
}
