/* query/qmetrics.h - what the TraceQL metrics files share: the series being
 * built (one per label set, a cell per step) and the table that finds them,
 * the label writers, and the span metrics source. Private to query/. */
#ifndef OTTR_QUERY_QMETRICS_H
#define OTTR_QUERY_QMETRICS_H

#include "otlp/otlp.h"
#include "query/query.h"
#include "query/tqmetrics.h"

#define MAX_CELLS (16u << 20) /* step cells held over all series */
#define NHIST     64          /* log2 buckets of a value */
#define MINUTE_NS 60000000000ull
#define SEC_NS    1000000000.0

#define ANY_STRING OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_BOOL   OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define ANY_INT    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define ANY_DOUBLE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE

typedef struct exemplar {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    double value;
    uint64_t ts_ns;
} exemplar;

typedef struct series {
    char *labels; /* JSON array of {"key","value"}; also the series' identity */
    uint64_t hash;
    double *cnt;    /* per step */
    double *val;    /* per step: sum, min or max; NULL for counts */
    uint64_t *hist; /* per step, NHIST buckets (quantiles); NULL otherwise */
    exemplar *ex;
    size_t nex;
    double rank; /* topk/bottomk and compare's topN */
    int drop;
} series;

typedef struct mctx {
    const query_tempo_metrics_params *p;
    tqm_query m;
    tq_query cmp; /* compare()'s filter */
    uint64_t t0, step;
    size_t nsteps;
    series **tab; /* open addressing on hash */
    size_t tabcap, nseries, maxseries;
    series **list; /* in creation order */
    size_t cells;
    size_t inspected_spans;
    int truncated; /* series over the limit were dropped */
    ottr_status st;
    bool bucket_ms_bounds; /* span metrics' latency buckets (2 ms doubling) */
} mctx;

/* The series labelled |labels| (|n| bytes, a JSON array), made when new; NULL
 * when the series limit is reached (c->truncated set) or on failure (c->st set). */
series *metrics_series_get(mctx *c, const char *labels, size_t n);
void metrics_series_free(series *s);

/* |v| as a JSON number; non-finite ones as "Infinity", "-Infinity", "NaN". */
void metrics_put_number(ottr_buf *b, double v);
/* Labels {"key":|key|,"value":...} appended to |b|; a NULL value is {} (nil). */
void metrics_put_label_any(ottr_buf *b, const char *key, const otlp_any *v);
void metrics_put_label_str(ottr_buf *b, const char *key, const char *v);
void metrics_put_label_double(ottr_buf *b, const char *key, double v);
/* The value of attribute reference |r| on span |s|, or NULL. */
const otlp_any *metrics_attr_of(const tqm_ref *r, const otlp_span_ref *s);
/* The label of by() reference |r| for span |s|. */
void metrics_put_ref_label(ottr_buf *b, const tqm_ref *r, const otlp_span_ref *s,
                           const tq_trace_info *ti);
/* The upper bound of histogram bucket |i| (seconds with the span metrics'
 * buckets, else 2^i). */
double metrics_bucket_bound(const mctx *c, int i);

/* 1 when the query can be answered from the span metrics (metrics_spanmetrics.c). */
int metrics_sm_eligible(const tqm_query *m, const tq_query *tq);
/* Adds the span metrics of the steps of |c| to its series, |filter| (the
 * spanset's condition tree) choosing the series. OTTR_OK or the store's error
 * (or c->st). */
ottr_status metrics_sm_run(mctx *c, store_view st, const tq_node *filter, uint64_t end_ns);

#endif /* OTTR_QUERY_QMETRICS_H */
