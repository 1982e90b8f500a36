/* query/metrics_series.c - the series of a TraceQL metrics answer: an open
 * addressing table from a label set (its JSON text) to the series, each with
 * its cells per step allocated for what the function needs, and the writers of
 * labels from span values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/qmetrics.h"

/* ------------------------------------------------------------------ series table */

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

void metrics_series_free(series *s)
{
    free(s->labels);
    free(s->cnt);
    free(s->val);
    free(s->hist);
    free(s->ex);
    free(s);
}

static int tab_grow(mctx *c)
{
    size_t ncap = c->tabcap ? c->tabcap * 2 : 64;
    series **nt = calloc(ncap, sizeof(*nt));
    series **nl = realloc(c->list, ncap * sizeof(*nl));
    if (nt == NULL || nl == NULL) {
        free(nt);
        if (nl)
            c->list = nl;
        return -1;
    }
    c->list = nl;
    for (size_t i = 0; i < c->nseries; i++) {
        size_t j = c->list[i]->hash & (ncap - 1);
        while (nt[j])
            j = (j + 1) & (ncap - 1);
        nt[j] = c->list[i];
    }
    free(c->tab);
    c->tab = nt;
    c->tabcap = ncap;
    return 0;
}

/* The series labelled |labels| (|n| bytes), made when new; NULL when the
 * series limit is reached (truncated) or on failure (st set). */
series *metrics_series_get(mctx *c, const char *labels, size_t n)
{
    uint64_t h = fnv(labels, n);
    if (c->tabcap) {
        for (size_t j = h & (c->tabcap - 1); c->tab[j]; j = (j + 1) & (c->tabcap - 1)) {
            series *s = c->tab[j];
            if (s->hash == h && strlen(s->labels) == n && memcmp(s->labels, labels, n) == 0)
                return s;
        }
    }
    if (c->nseries >= c->maxseries) {
        c->truncated = 1;
        return NULL;
    }
    bool vals =
        c->m.fn == TQM_SUM || c->m.fn == TQM_MIN || c->m.fn == TQM_MAX || c->m.fn == TQM_AVG;
    bool hist = c->m.fn == TQM_QUANTILE;
    size_t cells = c->nsteps * (1 + (vals ? 1 : 0) + (hist ? NHIST : 0));
    if (c->cells + cells > MAX_CELLS) {
        c->st = OTTR_ERR_TOO_LARGE;
        return NULL;
    }
    if ((c->nseries + 1) * 2 > c->tabcap && tab_grow(c) != 0) {
        c->st = OTTR_ERR_NOMEM;
        return NULL;
    }
    series *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->labels = strndup(labels, n)) == NULL ||
        (s->cnt = calloc(c->nsteps, sizeof(double))) == NULL ||
        (vals && (s->val = calloc(c->nsteps, sizeof(double))) == NULL) ||
        (hist && (s->hist = calloc(c->nsteps * NHIST, sizeof(uint64_t))) == NULL) ||
        (c->p->exemplars && (s->ex = calloc(c->p->exemplars, sizeof(exemplar))) == NULL)) {
        if (s)
            metrics_series_free(s);
        c->st = OTTR_ERR_NOMEM;
        return NULL;
    }
    s->hash = h;
    size_t j = h & (c->tabcap - 1);
    while (c->tab[j])
        j = (j + 1) & (c->tabcap - 1);
    c->tab[j] = s;
    c->list[c->nseries++] = s;
    c->cells += cells;
    return s;
}

/* ------------------------------------------------------------------ values of spans */

/* A label {"key":...,"value":...} for |ref| of span |s| appended to |b|. */
void metrics_put_label_any(ottr_buf *b, const char *key, const otlp_any *v)
{
    ottr_buf_puts(b, "{\"key\":");
    otlp_json_str(b, key);
    ottr_buf_puts(b, ",\"value\":");
    if (v == NULL)
        ottr_buf_puts(b, "{}");
    else
        otlp_json_any(b, v);
    ottr_buf_putc(b, '}');
}

void metrics_put_label_str(ottr_buf *b, const char *key, const char *v)
{
    ottr_buf_puts(b, "{\"key\":");
    otlp_json_str(b, key);
    ottr_buf_puts(b, ",\"value\":");
    if (v == NULL) {
        ottr_buf_puts(b, "{}}");
        return;
    }
    ottr_buf_puts(b, "{\"stringValue\":");
    otlp_json_str(b, v);
    ottr_buf_puts(b, "}}");
}

void metrics_put_number(ottr_buf *b, double v)
{
    char num[40];
    /* Protobuf's JSON mapping: non-finite doubles are strings. */
    if (isinf(v)) {
        ottr_buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else if (isnan(v)) {
        ottr_buf_puts(b, "\"NaN\"");
    } else {
        otlp_double_text(num, sizeof(num), v);
        ottr_buf_puts(b, num);
    }
}

void metrics_put_label_double(ottr_buf *b, const char *key, double v)
{
    ottr_buf_puts(b, "{\"key\":");
    otlp_json_str(b, key);
    ottr_buf_puts(b, ",\"value\":{\"doubleValue\":");
    metrics_put_number(b, v);
    ottr_buf_puts(b, "}}");
}

const otlp_any *metrics_attr_of(const tqm_ref *r, const otlp_span_ref *s)
{
    const otlp_span *sp = s->span;
    const otlp_any *v = NULL;
    if (r->scope != TQS_RESOURCE)
        v = otlp_attr_find(sp->attributes, sp->n_attributes, r->name);
    if (v == NULL && r->scope != TQS_SPAN && s->resource)
        v = otlp_attr_find(s->resource->attributes, s->resource->n_attributes, r->name);
    return v;
}

/* The label for by-reference |r| of span |s|. */
void metrics_put_ref_label(ottr_buf *b, const tqm_ref *r, const otlp_span_ref *s,
                           const tq_trace_info *ti)
{
    const otlp_span *sp = s->span;
    switch (r->what) {
    case TQMW_ATTR:
        if (r->scope != TQS_SPAN && strcmp(r->name, OTLP_SERVICE_NAME) == 0 &&
            (r->scope == TQS_RESOURCE ||
             otlp_attr_find(sp->attributes, sp->n_attributes, r->name) == NULL)) {
            metrics_put_label_str(b, r->label, s->service);
            return;
        }
        metrics_put_label_any(b, r->label, metrics_attr_of(r, s));
        return;
    case TQMW_NAME:
        metrics_put_label_str(b, r->label, sp->name ? sp->name : "");
        return;
    case TQMW_STATUS:
        metrics_put_label_str(b, r->label, otlp_status_code_word(otlp_span_status_code(sp)));
        return;
    case TQMW_KIND:
        metrics_put_label_str(b, r->label, otlp_span_kind_word((int)sp->kind));
        return;
    case TQMW_STATUS_MESSAGE:
        metrics_put_label_str(b, r->label,
                              sp->status && sp->status->message ? sp->status->message : "");
        return;
    case TQMW_ROOT_NAME:
        metrics_put_label_str(b, r->label, ti->root_name);
        return;
    case TQMW_ROOT_SERVICE:
        metrics_put_label_str(b, r->label, ti->root_service);
        return;
    case TQMW_DURATION:
        metrics_put_label_double(b, r->label, (double)otlp_span_duration(sp) / SEC_NS);
        return;
    case TQMW_TRACE_DURATION:
        metrics_put_label_double(b, r->label, (double)ti->duration_ns / SEC_NS);
        return;
    }
}

double metrics_bucket_bound(const mctx *c, int i)
{
    if (c->bucket_ms_bounds) /* seconds: 2 ms doubling */
        return 0.002 * ldexp(1.0, i);
    return ldexp(1.0, i);
}
