/* query/tqmetrics.h - TraceQL metrics queries: a spanset query followed by a
 * metrics stage, `{...} | rate() by (resource.service.name) | topk(5)`. The
 * parser splits the query at the top-level `|` that starts a metrics function
 * and parses that stage; the spanset part is left to the TraceQL parser
 * (query_tq_parse). Private to query/. */
#ifndef OTTR_QUERY_TQMETRICS_H
#define OTTR_QUERY_TQMETRICS_H

#include <stddef.h>

#include "query/traceql.h"

#define TQM_MAX_BY        8
#define TQM_MAX_QUANTILES 8
#define TQM_NAME_MAX      256

typedef enum tqm_fn {
    TQM_RATE = 0,
    TQM_COUNT,     /* count_over_time() */
    TQM_SUM,       /* sum_over_time(attr) */
    TQM_MIN,       /* min_over_time(attr) */
    TQM_MAX,       /* max_over_time(attr) */
    TQM_AVG,       /* avg_over_time(attr) */
    TQM_QUANTILE,  /* quantile_over_time(attr, q...) */
    TQM_HISTOGRAM, /* histogram_over_time(attr) */
    TQM_COMPARE,   /* compare({filter}[, topN]) */
} tqm_fn;

/* What a metrics function or by() reads from a span. */
typedef enum tqm_what {
    TQMW_ATTR = 0,  /* an attribute: |scope| and |name| */
    TQMW_NAME,      /* name, span:name */
    TQMW_STATUS,    /* status, span:status */
    TQMW_KIND,      /* kind, span:kind */
    TQMW_DURATION,  /* duration, span:duration (nanoseconds; seconds in answers) */
    TQMW_ROOT_NAME, /* rootName, trace:rootName */
    TQMW_ROOT_SERVICE,
    TQMW_TRACE_DURATION,
    TQMW_STATUS_MESSAGE,
} tqm_what;

typedef struct tqm_ref {
    tqm_what what;
    tq_scope scope;               /* TQMW_ATTR: TQS_ANY (.x), TQS_SPAN or TQS_RESOURCE */
    char name[TQM_NAME_MAX];      /* TQMW_ATTR: the attribute key */
    char label[TQM_NAME_MAX + 9]; /* as Tempo labels a series: "resource.service.name",
                                     "span.http.route", ".x", "name", "status" */
} tqm_ref;

typedef struct tqm_query {
    char *filter; /* the spanset part ("{}" when the query starts with the stage); owned */
    tqm_fn fn;
    const char *fn_name; /* "rate", "count_over_time", ... */
    tqm_ref arg;         /* sum/min/max/avg/quantile/histogram */
    double q[TQM_MAX_QUANTILES];
    int nq;
    tqm_ref by[TQM_MAX_BY];
    int nby;
    int topk;             /* > 0: topk(n); < 0: bottomk(-n); 0: none */
    char *compare_filter; /* compare()'s spanset; owned */
    int compare_top;      /* compare()'s values per attribute (10) */
} tqm_query;

/* Parses |q|. Returns 1 with |out| filled when |q| is a metrics query, 0 when it
 * has no metrics stage (a plain spanset query), or -1 with a message for the
 * user in |err|. The caller calls query_tqm_free() in every case. */
int query_tqm_parse(const char *q, tqm_query *out, char *err, size_t errlen);
void query_tqm_free(tqm_query *m);

#endif /* OTTR_QUERY_TQMETRICS_H */
