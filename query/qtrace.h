/* query/qtrace.h - a stored trace decoded for querying: its spans flattened
 * with their resource and scope, and the tree rebuilt from parent span IDs with
 * orphans, duplicate span IDs and cycles found. Private to query/. */
#ifndef OTTR_QUERY_QTRACE_H
#define OTTR_QUERY_QTRACE_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "store/store.h"

typedef Opentelemetry__Proto__Trace__V1__TracesData qt_traces_data;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans qt_resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans qt_scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span qt_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event qt_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link qt_link;
typedef Opentelemetry__Proto__Resource__V1__Resource qt_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope qt_scope;
typedef Opentelemetry__Proto__Common__V1__KeyValue qt_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue qt_any;

/* Problems of one span, as bit flags. */
#define QSPAN_ORPHAN    1 /* its parent span ID is not in the trace */
#define QSPAN_DUPLICATE 2 /* an earlier span has the same span ID */
#define QSPAN_CYCLE     4 /* its parent chain loops */
#define QSPAN_CUT       8 /* its parent reference was dropped to break a cycle */

typedef struct qspan {
    const qt_span *span;
    const qt_resource *resource; /* may be NULL */
    const qt_scope *scope;       /* may be NULL */
    const char *service;         /* resource service.name or "unknown_service" */
    uint32_t rs;                 /* index of its ResourceSpans */
    int32_t parent;              /* index of the parent span; -1 for roots, orphans, cuts */
    uint8_t problems;            /* QSPAN_* */
} qspan;

typedef struct qtrace {
    const qt_traces_data *td;
    qspan *spans;
    size_t nspans;
    int32_t root; /* first span without a parent span ID; -1 when none */
    size_t norphans, nduplicates, ncycles;
} qtrace;

/* Decodes |len| bytes of TracesData (a trace's chunks concatenated) into |t|,
 * allocating from |a| (everything lives as long as the arena). Returns OTTR_OK,
 * OTTR_ERR_CORRUPT or OTTR_ERR_NOMEM. */
ottr_status qtrace_decode(qtrace *t, ottr_arena *a, const uint8_t *data, size_t len);

/* Links every span to its parent and fills root and the problem counts. Never
 * fails on bad data; returns OTTR_ERR_NOMEM only when |a| runs out. */
ottr_status qtrace_build_tree(qtrace *t, ottr_arena *a);

#define QTRACE_MAX_PROBLEMS 4
#define QTRACE_PROBLEM_LEN  96

/* Writes a sentence per problem of the tree ("2 spans have parents missing
 * from the trace") into |msgs|, plus one when |sum| (may be NULL) says the
 * store cut the trace. Returns how many. */
size_t qtrace_problems(const qtrace *t, const store_trace_summary *sum,
                       char msgs[QTRACE_MAX_PROBLEMS][QTRACE_PROBLEM_LEN]);

/* The same sentences joined with "; " and appended to |out|. */
size_t qtrace_describe_problems(const qtrace *t, const store_trace_summary *sum, ottr_buf *out);

/* The value of attribute |key| in |kv|, or NULL. */
const qt_any *qt_attr_find(qt_kv *const *kv, size_t n, const char *key);
/* service.name of |r|, or "unknown_service". */
const char *qt_resource_service(const qt_resource *r);

/* Span duration in nanoseconds (0 when end precedes start). */
static inline uint64_t qt_span_duration(const qt_span *s)
{
    return s->end_time_unix_nano > s->start_time_unix_nano
               ? s->end_time_unix_nano - s->start_time_unix_nano
               : 0;
}

#endif /* OTTR_QUERY_QTRACE_H */
