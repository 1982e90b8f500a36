/* query/qsearch.h - the search loop shared by Tempo's and Jaeger's APIs:
 * candidates from store_search (time-ordered indexes, newest first), a
 * pre-check on the summary, then the full TraceQL evaluation on the decoded
 * trace. Private to query/. */
#ifndef OTTR_QUERY_QSEARCH_H
#define OTTR_QUERY_QSEARCH_H

#include "query/query.h"
#include "query/traceql.h"

#define QSEARCH_MAX_KV 8

/* Called for each matching trace, newest first. |t| and |matched| live in |a|
 * until the next call. Return 0 to go on, QSEARCH_SKIP to go on without
 * counting the trace (a condition TraceQL cannot say did not hold), any other
 * value to stop with an error. */
#define QSEARCH_SKIP 1
typedef int (*qsearch_match_fn)(void *ctx, const store_trace_summary *sum, otlp_trace *t,
                                const uint8_t *matched, size_t nmatched, ottr_arena *a);

typedef struct qsearch {
    /* set by the caller */
    store_view st;
    const tq_query *tq;
    store_search_query sq;      /* time range and duration bounds; the rest is planned */
    size_t limit;               /* matches wanted */
    size_t max_inspect;         /* traces decoded at most */
    bool need_tree;             /* build the tree before calling |fn| */
    const query_budget *budget; /* NULL = none */
    qsearch_match_fn fn;
    void *ctx;
    /* results */
    size_t found;
    size_t decoded;
    uint64_t bytes_read;
    query_cut cut;   /* why it stopped before the candidates ran out */
    ottr_status err; /* OTTR_OK, or why the search failed */
    store_search_stats stats;
    tq_sets sets; /* the span sets of the trace |fn| is called with (in its arena) */
    /* private */
    store_kv kv[QSEARCH_MAX_KV];
    uint64_t min_ns, max_ns;
    ottr_arena arena;
    ottr_buf raw;
} qsearch;

/* Plans |s->tq| onto |s->sq| and runs the search. Returns OTTR_OK or the error
 * that stopped it (also in s->err). Frees its own memory before returning. */
ottr_status query_search_run(qsearch *s);

/* Parses the TraceQL text |q| and runs it as query_search_run does, with every
 * field of |s| but tq set by the caller. Returns OTTR_OK, OTTR_ERR_INVALID
 * ("malformed search parameters: ..." in |err|) or the search's error ("search
 * failed: ..."). */
ottr_status query_search_text(qsearch *s, const char *q, char *err, size_t errlen);

/* Parses a Tempo `tags` value (logfmt: k=v k2="v 2") into an equivalent TraceQL
 * span set filter appended to |out|. Returns 0 or -1 with a message in |err|. */
int query_search_tags_to_traceql(const char *tags, ottr_buf *out, char *err, size_t errlen);

#endif /* OTTR_QUERY_QSEARCH_H */
