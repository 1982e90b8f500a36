/* query/qjaeger.h - Jaeger's JSON trace model. Private to query/. */
#ifndef OTTR_QUERY_QJAEGER_H
#define OTTR_QUERY_QJAEGER_H

#include "query/qtrace.h"

/* A trace ID as Jaeger prints it: 32 hex digits, or 16 when the high half is
 * zero (quoted). */
void query_jaeger_trace_id(ottr_buf *b, const uint8_t *id, size_t len);

/* Appends |t| (tree built) as one Jaeger trace object. |sum| may be NULL.
 * Scratch memory comes from |a|. Returns 0, or -1 when out of memory. */
int query_jaeger_encode_trace(ottr_buf *b, const otlp_trace *t, const uint8_t trace_id[16],
                              const store_trace_summary *sum, ottr_arena *a);

#endif /* OTTR_QUERY_QJAEGER_H */
