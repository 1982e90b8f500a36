/* query/qjson.h - JSON pieces shared by the encoders: OTLP JSON for AnyValue,
 * attributes and whole traces, hex and base64 strings, numbers. Private to
 * query/. */
#ifndef OTTR_QUERY_QJSON_H
#define OTTR_QUERY_QJSON_H

#include "query/qtrace.h"

/* "0a1b..." */
void qjson_hex(ottr_buf *b, const uint8_t *p, size_t n);
/* "base64" */
void qjson_base64(ottr_buf *b, const uint8_t *p, size_t n);
/* "123" (a 64-bit integer as a string, as OTLP JSON and Tempo write them) */
void qjson_u64str(ottr_buf *b, uint64_t v);
/* A JSON number; NaN and infinities (which JSON lacks) as "NaN", "Infinity",
 * "-Infinity" strings, as protobuf's JSON mapping does. */
void qjson_double(ottr_buf *b, double v);
/* A NUL-terminated string as a JSON string literal ("" for NULL). */
void qjson_str(ottr_buf *b, const char *s);

/* OTLP JSON AnyValue: {"stringValue":"x"}, {"intValue":"42"}, ... ({} when unset). */
void qjson_any(ottr_buf *b, const qt_any *v);
/* [{"key":"k","value":{...}}, ...] */
void qjson_attributes(ottr_buf *b, qt_kv *const *kv, size_t n);
/* A value as plain JSON (strings, numbers, arrays, objects), as Jaeger shows
 * arrays and maps inside string tags. */
void qjson_any_plain(ottr_buf *b, const qt_any *v);

/* One OTLP JSON ResourceSpans object. */
void qjson_resource_spans(ottr_buf *b, const qt_resource_spans *rs);
/* The ResourceSpans of |td| as JSON objects separated by commas (no brackets),
 * so several traces can share one array. |*first| is cleared once something is
 * written. */
void qjson_resource_spans_items(ottr_buf *b, const qt_traces_data *td, int *first);

#endif /* OTTR_QUERY_QJSON_H */
