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

ottr_status query_load_trace(store_view st, const uint8_t tid[16], ottr_arena *a, ottr_buf *raw,
                             otlp_trace *t, store_trace_summary *sum, char *err, size_t errlen)
{
    ottr_buf_reset(raw);
    ottr_status s = store_get_trace(st, tid, raw, sum);
    if (s == OTTR_ERR_NOTFOUND) {
        snprintf(err, errlen, "trace not found");
        return OTTR_ERR_NOTFOUND;
    }
    if (s == OTTR_OK && raw->oom)
        s = OTTR_ERR_NOMEM;
    if (s == OTTR_OK)
        s = otlp_trace_decode(t, a, (const uint8_t *)raw->data, raw->len);
    if (s == OTTR_OK)
        s = otlp_trace_build_tree(t, a);
    if (s != OTTR_OK) {
        snprintf(err, errlen, "reading the trace failed: %s", ottr_status_str(s));
        return s;
    }
    return OTTR_OK;
}
