/* query/tqeval.h - what the TraceQL evaluator's files share: the per-trace
 * context (the tree's numbering), values of fields and expressions, their
 * comparison and arithmetic. Private to query/. */
#ifndef OTTR_QUERY_TQEVAL_H
#define OTTR_QUERY_TQEVAL_H

#include <string.h>

#include "query/traceql.h"

/* One trace being evaluated. |t| may be NULL (a span alone): then parent.,
 * childCount and nestedSet* read as missing. */
typedef struct tq_ctx {
    const otlp_trace *t;
    const tq_trace_info *ti;
    const uint32_t *nchild;   /* children per span; NULL unless the query needs the tree */
    const int32_t *nsl, *nsr; /* nested set numbers, 0 off the root's tree */
} tq_ctx;

/* Is condition |n| true for |s|? */
bool query_tqe_filter(const tq_node *n, const tq_ctx *c, const otlp_span_ref *s);

/* The value of expression |n| (TQN_REF, TQN_LIT, TQN_ARITH, or a condition as a
 * bool) for |s|. Strings may point into |tmp| (at least 64 bytes). */
void query_tqe_value(const tq_node *n, const tq_ctx *c, const otlp_span_ref *s, char *tmp,
                     tq_value *out);

/* |v| = nil, nothing else set. */
static inline void query_tqv_nil(tq_value *v)
{
    memset(v, 0, sizeof(*v));
    v->type = TQL_NIL;
}

void query_tqv_from_lit(const tq_literal *l, tq_value *out);
/* a op b (b NULL for TQ_NEG) into |out|; false when the types do not meet, on
 * overflow or division by zero. */
bool query_tqv_arith(tq_arith op, const tq_value *a, const tq_value *b, tq_value *out);
/* a op b, with Tempo's rules: numbers with numbers, durations with durations,
 * strings with strings, = and != for the rest; nil equals only nil. */
bool query_tqv_compare(tq_op op, const tq_value *a, const tq_value *b, const regex_t *re);
/* A total order over values (by type first), for grouping. */
int query_tqv_order(const tq_value *a, const tq_value *b);

#endif /* OTTR_QUERY_TQEVAL_H */
