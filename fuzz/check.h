/* fuzz/check.h - invariants the OTLP fuzz targets share: stored chunks decode
 * back to their group, and written JSON reads back (check.c). */
#ifndef OTTR_FUZZ_CHECK_H
#define OTTR_FUZZ_CHECK_H

#include "fuzz/fuzz.h"
#include "otlp/otlp.h"

/* The arena limit of one fuzz input: small enough that libFuzzer's RSS limit is
 * never the one that fires. */
#define FUZZ_ARENA_LIMIT (64u << 20)

/* Every group of |b| decodes back (otlp_trace_decode) to the group's spans, all
 * of its trace, and the counts add up. */
void fuzz_check_batch(const otlp_batch *b);

/* Builds |t|'s tree, writes its TracesData as OTLP/JSON and reads that back with
 * otlp_json_decode_traces: the same number of spans. */
void fuzz_check_trace(otlp_trace *t, ottr_arena *a);

#endif /* OTTR_FUZZ_CHECK_H */
