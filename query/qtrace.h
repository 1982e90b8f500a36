/* query/qtrace.h - what query/ adds to a decoded trace (otlp/otlp.h): the
 * sentences that describe its problems, from the tree and the store's summary.
 * Private to query/. */
#ifndef OTTR_QUERY_QTRACE_H
#define OTTR_QUERY_QTRACE_H

#include <stddef.h>

#include "otlp/otlp.h"
#include "store/store.h"

#define QTRACE_MAX_PROBLEMS 4
#define QTRACE_PROBLEM_LEN  96

/* Writes a sentence per problem of the tree ("2 spans have parents missing
 * from the trace") into |msgs|, plus one when |sum| (may be NULL) says the
 * store cut the trace. Returns how many. */
size_t query_trace_problems(const otlp_trace *t, const store_trace_summary *sum,
                            char msgs[QTRACE_MAX_PROBLEMS][QTRACE_PROBLEM_LEN]);

/* The same sentences joined with "; " and appended to |out|. */
size_t query_describe_problems(const otlp_trace *t, const store_trace_summary *sum, ottr_buf *out);

/* The arena limit for decoding one stored trace: QTRACE_ARENA_FACTOR times the
 * store's max_trace_bytes (decoded protobuf-c structs take several times the
 * wire bytes: about 6 for ordinary spans, more for tiny attributes) plus
 * QTRACE_ARENA_SLACK (a trace's first chunk is kept whatever its size);
 * QTRACE_ARENA_NOCAP when the store has no cap. */
#define QTRACE_ARENA_FACTOR 8
#define QTRACE_ARENA_SLACK  (64u << 20)
#define QTRACE_ARENA_NOCAP  (1u << 30)
size_t query_arena_limit(store_view st);

/* Reads trace |tid| into |raw| and decodes it into |t| in |a|, tree built;
 * fills |sum| (may be NULL). Returns OTTR_OK, OTTR_ERR_NOTFOUND ("trace not
 * found" in |err|) or the error of the store or of decoding. */
ottr_status query_load_trace(store_view st, const uint8_t tid[16], ottr_arena *a, ottr_buf *raw,
                             otlp_trace *t, store_trace_summary *sum, char *err, size_t errlen);

#endif /* OTTR_QUERY_QTRACE_H */
