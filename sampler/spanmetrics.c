/* sampler/spanmetrics.c - RED metrics from every span, before sampling:
 * traces_spanmetrics_calls_total, _latency (histogram) and _size_total by
 * service, span name, kind and status, with a cap on the number of series. */
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

struct spanmetrics {
    struct {
        pthread_mutex_t mu;
        strmap map;
    } stripe[STRIPES];
    size_t max_series;
    _Atomic size_t nseries;
};

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
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&m->stripe[i].mu, NULL);
        sampler_strmap_init(&m->stripe[i].map);
    }
    return m;
}

void sampler_spanmetrics_destroy(spanmetrics *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < STRIPES; i++) {
        sampler_strmap_free(&m->stripe[i].map, series_free);
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

void sampler_spanmetrics_observe(spanmetrics *m, const otlp_span_ref *r)
{
    const otlp_span *sp = r->span;
    const char *svc = r->service ? r->service : "unknown_service";
    const char *name = sp->name ? sp->name : "";
    size_t slen = strnlen(svc, MAX_SVC), nlen = strnlen(name, MAX_NAME);
    int kind = (sp->kind >= 0 && sp->kind <= 5) ? (int)sp->kind : 0;
    int status = span_status(sp);
    if (status < 0 || status > 2)
        status = 0;
    double secs = sp->end_time_unix_nano > sp->start_time_unix_nano
                      ? (double)(sp->end_time_unix_nano - sp->start_time_unix_nano) / NS_PER_SEC
                      : 0.0;
    size_t bytes = opentelemetry__proto__trace__v1__span__get_packed_size(sp);

    char key[MAX_SVC + MAX_NAME + 4];
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t klen = make_key(key, svc, slen, name, nlen, kind, status);
        uint64_t h = XXH3_64bits(key, klen);
        int si = (int)(h >> 61) & (STRIPES - 1);
        pthread_mutex_lock(&m->stripe[si].mu);
        sm_series *s = sampler_strmap_get(&m->stripe[si].map, key, klen, h);
        if (s == NULL) {
            if (attempt == 0 && atomic_load(&m->nseries) >= m->max_series) {
                /* Over the cap: count under one overflow series per kind/status. */
                pthread_mutex_unlock(&m->stripe[si].mu);
                svc = name = "overflow";
                slen = nlen = 8;
                continue;
            }
            s = series_new(svc, slen, name, nlen, kind, status);
            if (s == NULL || sampler_strmap_put(&m->stripe[si].map, key, klen, h, s) != 0) {
                if (s)
                    series_free(s);
                pthread_mutex_unlock(&m->stripe[si].mu);
                return;
            }
            atomic_fetch_add(&m->nseries, 1);
        }
        s->calls++;
        s->size += bytes;
        s->lat[ottr_prom_bucket(lat_bounds, NLAT, secs)]++;
        s->sum += secs;
        pthread_mutex_unlock(&m->stripe[si].mu);
        return;
    }
}

static void labels_of(ottr_buf *b, const sm_series *s)
{
    ottr_buf_reset(b);
    ottr_prom_label(b, "service", s->service);
    ottr_buf_putc(b, ',');
    ottr_prom_label(b, "span_name", s->name);
    ottr_buf_putc(b, ',');
    ottr_prom_label(b, "span_kind", kind_names[s->kind]);
    ottr_buf_putc(b, ',');
    ottr_prom_label(b, "status_code", status_names[s->status]);
}

enum { F_CALLS, F_LATENCY, F_SIZE };

void sampler_spanmetrics_render(spanmetrics *m, ottr_buf *out)
{
    static const char *const heads[][3] = {
        {"traces_spanmetrics_calls_total", "Spans received, before sampling.", "counter"},
        {"traces_spanmetrics_latency", "Span duration in seconds, before sampling.", "histogram"},
        {"traces_spanmetrics_size_total", "Encoded span bytes, before sampling.", "counter"},
    };
    ottr_buf lb = {0};
    for (int f = F_CALLS; f <= F_SIZE; f++) {
        ottr_prom_family(out, heads[f][0], heads[f][1], heads[f][2]);
        for (int i = 0; i < STRIPES; i++) {
            pthread_mutex_lock(&m->stripe[i].mu);
            const strmap *map = &m->stripe[i].map;
            for (size_t k = 0; map->e && k <= map->mask; k++) {
                const sm_series *s = map->e[k].val;
                if (map->e[k].key == NULL)
                    continue;
                labels_of(&lb, s);
                const char *l = lb.data ? lb.data : "";
                if (f == F_LATENCY)
                    ottr_prom_histogram(out, heads[f][0], l, lat_bounds, NLAT, s->lat, s->sum);
                else
                    ottr_prom_sample_u64(out, heads[f][0], l, f == F_CALLS ? s->calls : s->size);
            }
            pthread_mutex_unlock(&m->stripe[i].mu);
        }
    }
    ottr_buf_free(&lb);
}
