/* tests/store/helpers.h - builds OTLP test batches and temporary store directories
 * for the store's unit tests. */
#ifndef OTTR_TESTS_STORE_HELPERS_H
#define OTTR_TESTS_STORE_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "store/store.h"

/* One test span; it is sent under its own resource. */
typedef struct tspan {
    const char *service;
    uint8_t tid[16];
    uint64_t span_id;   /* non-zero */
    uint64_t parent_id; /* 0 = root */
    const char *name;
    int kind; /* OTLP SpanKind */
    uint64_t start_ns, end_ns;
    int status;                      /* 0 unset, 1 ok, 2 error */
    const char *attr_key, *attr_val; /* string span attribute, or NULL */
    const char *int_key;             /* int span attribute |int_val|, or NULL */
    int64_t int_val;
    const char *res_key, *res_val; /* string resource attribute, or NULL */
    size_t pad;                    /* bytes of filler attribute (size tests) */
} tspan;

/* Builds a batch from |n| spans with otlp_batch_build, allocating from |arena|. */
void th_build(ottr_arena *arena, const tspan *spans, size_t n, otlp_batch *out);

/* Appends |n| spans at |sec| as one request (fails the test on error); returns
 * where the record lies. */
store_pending_ref th_append(store *s, const tspan *spans, size_t n, uint32_t sec);

/* Creates a fresh directory under /tmp; th_rmdir removes it with its content. */
char *th_tmpdir(void);
void th_rmdir(char *dir);

/* A trace ID made of |b| repeated (non-zero). */
void th_tid(uint8_t tid[16], uint8_t b);

/* A settable clock for retention tests. */
extern uint64_t th_now_ns;
uint64_t th_clock(void);

/* Opens a store at |dir| with test defaults (sync none, small cache, th_clock). */
store *th_open(const char *dir);
/* The number of trace chunks store_replay_pending hands over. */
int th_count_pending(store *s);
store *th_open_opts(const store_options *o);
void th_default_options(store_options *o, const char *dir);

/* Number of ResourceSpans spans decoded from |buf|, via otlp_trace_decode. */
size_t th_count_spans(const ottr_buf *buf);

#endif
