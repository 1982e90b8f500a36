/* query/qzipkin.h - Zipkin's v2 JSON span model (query/zipkin.c), used by
 * query/zipkin_api.c. Private to query/. */
#ifndef OTTR_QUERY_QZIPKIN_H
#define OTTR_QUERY_QZIPKIN_H

#include "otlp/otlp.h"

/* A trace ID as Zipkin writes it: 16 lower-hex digits when the high half is
 * zero (a 64-bit ID), else 32 (quoted). */
void query_zipkin_trace_id(ottr_buf *b, const uint8_t *id, size_t len);

/* Appends span |idx| of |t| as one Zipkin span object. A shared span's parent
 * (its client's parent) is found through the tree: build it first. */
void query_zipkin_encode_span(ottr_buf *b, const otlp_trace *t, size_t idx,
                              const uint8_t trace_id[16]);

/* Appends |t| as a JSON array of Zipkin spans. Returns 0, or -1 when out of
 * memory. */
int query_zipkin_encode_trace(ottr_buf *b, const otlp_trace *t, const uint8_t trace_id[16]);

#endif /* OTTR_QUERY_QZIPKIN_H */
