/* tests/query/fixture.h - builds OTLP requests from protobuf-c structs in an
 * arena and stores them as kept traces, for the query tests. */
#ifndef OTTR_TESTS_QUERY_FIXTURE_H
#define OTTR_TESTS_QUERY_FIXTURE_H

#include "common/common.h"
#include "store/store.h"

/* The fixed data set's base time: 2023-11-14T22:13:20Z. */
#define FX_T0_SEC 1700000000ull
#define FX_T0     (FX_T0_SEC * 1000000000ull)
#define FX_MS     1000000ull

#define FX_TRACE_A "4bf92f3577b34da6a3ce929d0e0e4736" /* multi-service, all types */
#define FX_TRACE_B "5b8efff798038103d269b633813fc60c" /* orphans, no root */
#define FX_TRACE_C "6e0c63257de34c926f9efcd03927272e" /* duplicates and a cycle */
#define FX_TRACE_D "00000000000000001234567890abcdef" /* messaging, high half zero */

otlp_request *fx_req_new(ottr_arena *a);
/* A ResourceSpans with service.name |service| (NULL: none). */
otlp_resource_spans *fx_rs_new(ottr_arena *a, otlp_request *r, const char *service);
void fx_rs_attr(ottr_arena *a, otlp_resource_spans *rs, otlp_kv *kv);
otlp_scope_spans *fx_ss_new(ottr_arena *a, otlp_resource_spans *rs, const char *scope,
                            const char *version);
otlp_span *fx_span_new(ottr_arena *a, otlp_scope_spans *ss, const char *trace_hex,
                       const char *span_hex, const char *parent_hex, const char *name, int kind,
                       uint64_t start_ns, uint64_t end_ns);
void fx_span_attr(ottr_arena *a, otlp_span *s, otlp_kv *kv);
void fx_span_status(ottr_arena *a, otlp_span *s, int code, const char *msg);
otlp_event *fx_span_event(ottr_arena *a, otlp_span *s, uint64_t t, const char *name);
void fx_event_attr(ottr_arena *a, otlp_event *e, otlp_kv *kv);
otlp_link *fx_span_link(ottr_arena *a, otlp_span *s, const char *trace_hex, const char *span_hex);
void fx_link_attr(ottr_arena *a, otlp_link *l, otlp_kv *kv);

otlp_kv *fx_str(ottr_arena *a, const char *k, const char *v);
otlp_kv *fx_int(ottr_arena *a, const char *k, int64_t v);
otlp_kv *fx_dbl(ottr_arena *a, const char *k, double v);
otlp_kv *fx_bool(ottr_arena *a, const char *k, int v);
otlp_kv *fx_bytes(ottr_arena *a, const char *k, const uint8_t *p, size_t n);
/* An array of |n| values (made with fx_* and taken from their kv). */
otlp_kv *fx_array(ottr_arena *a, const char *k, otlp_kv **items, size_t n);
otlp_kv *fx_kvlist(ottr_arena *a, const char *k, otlp_kv **items, size_t n);

/* Stores every trace of |r| as kept, arriving at |arrival_sec|. Returns 0. */
int fx_store(store *st, const otlp_request *r, uint32_t arrival_sec);

/* Opens a store in a new temporary directory (path written to |dir|, at least
 * 64 bytes) with a clock fixed at the data set's time. */
store *fx_store_open(char *dir);
/* Closes and removes the directory. */
void fx_store_close(store *st, const char *dir);

/* The fixed data set: traces A, B, C, D and a service graph. */
void fx_load_dataset(store *st);

void fx_hex(const char *hex, uint8_t *out, size_t n);

/* Encodes |r| (an export request has TracesData's layout) into |a| and decodes
 * it into |t| with its tree built, as a search sees a stored trace. */
ottr_status fx_decode_request(ottr_arena *a, const otlp_request *r, otlp_trace *t);

#endif /* OTTR_TESTS_QUERY_FIXTURE_H */
