/* query/problems.c - the sentences that tell a reader what is wrong with a trace's
 * tree (orphans, reused span IDs, cycles) or its storage (cut at max_trace_bytes),
 * and how much memory decoding a stored trace may take. */
#include <stdint.h>
#include <stdio.h>

#include "query/qtrace.h"

size_t query_trace_problems(const otlp_trace *t, const store_trace_summary *sum,
                            char msgs[QTRACE_MAX_PROBLEMS][QTRACE_PROBLEM_LEN])
{
    size_t n = 0;
    if (t->norphans)
        snprintf(msgs[n++], QTRACE_PROBLEM_LEN, "%zu span%s missing from the trace", t->norphans,
                 t->norphans == 1 ? " has a parent" : "s have parents");
    if (t->nduplicates)
        snprintf(msgs[n++], QTRACE_PROBLEM_LEN, "%zu span%s a span ID already used in the trace",
                 t->nduplicates, t->nduplicates == 1 ? " reuses" : "s reuse");
    if (t->ncycles)
        snprintf(msgs[n++], QTRACE_PROBLEM_LEN,
                 "%zu span%s in a parent cycle (cut to show the tree)", t->ncycles,
                 t->ncycles == 1 ? " is" : "s are");
    if (sum && sum->partial)
        snprintf(msgs[n++], QTRACE_PROBLEM_LEN, "the trace was cut at the store's max_trace_bytes");
    return n;
}

size_t query_describe_problems(const otlp_trace *t, const store_trace_summary *sum, ottr_buf *out)
{
    char msgs[QTRACE_MAX_PROBLEMS][QTRACE_PROBLEM_LEN];
    size_t n = query_trace_problems(t, sum, msgs);
    for (size_t i = 0; i < n; i++) {
        if (i)
            ottr_buf_puts(out, "; ");
        ottr_buf_puts(out, msgs[i]);
    }
    return n;
}

size_t query_arena_limit(store_view st)
{
    uint64_t max = store_max_trace_bytes(st.s);
    if (max == 0)
        return QTRACE_ARENA_NOCAP;
    if (max > (SIZE_MAX / 2 - QTRACE_ARENA_SLACK) / QTRACE_ARENA_FACTOR)
        return SIZE_MAX / 2;
    return (size_t)(max * QTRACE_ARENA_FACTOR + QTRACE_ARENA_SLACK);
}
