/* collector/health.c - what /ready and /health say: ottrd is ready while it is
 * listening and its store takes writes (the condition behind
 * ottr_store_write_failing); /health details each component as JSON. Both are
 * cheap (atomic reads and one lock of the query pool) and run on the loop
 * threads. */
#include <stdio.h>

#include "collector/collector.h"

int collector_ready(ottrd_query_ctx *q, char *why, size_t whylen)
{
    const char *reason = NULL;
    if (!atomic_load(&q->ready))
        reason = "starting up or shutting down";
    else if (q->st == NULL)
        reason = "store closed";
    else if (store_write_failing(q->st))
        reason = "store writes failing";
    if (reason == NULL)
        return 1;
    snprintf(why, whylen, "%s", reason);
    return 0;
}

static const char *up(atomic_bool *b)
{
    return atomic_load(b) ? "\"up\"" : "\"down\"";
}

int collector_health_json(ottrd_query_ctx *q, ottr_buf *out)
{
    char why[96];
    int ready = collector_ready(q, why, sizeof(why));
    ottr_buf_printf(out, "{\"status\":\"%s\"", ready ? "ok" : "unavailable");
    if (!ready)
        ottr_buf_printf(out, ",\"reason\":\"%s\"", why);

    int writable = q->st != NULL && !store_write_failing(q->st);
    ottr_buf_printf(out, ",\"components\":{\"store\":{\"status\":\"%s\",\"writable\":%s}",
                    writable ? "ok" : "failing", writable ? "true" : "false");

    if (q->smp != NULL) {
        sampler_stats s;
        sampler_get_stats(q->smp, &s);
        uint64_t max_traces = q->cfg ? q->cfg->max_buffered_traces : 0;
        uint64_t max_bytes = q->cfg ? q->cfg->max_memory_bytes : 0;
        int pushing_back = (max_traces && s.traces_buffered >= max_traces) ||
                           (max_bytes && s.bytes_buffered >= max_bytes);
        ottr_buf_printf(
            out,
            ",\"sampler\":{\"status\":\"%s\",\"bufferedTraces\":%llu,"
            "\"maxBufferedTraces\":%llu,\"bufferedBytes\":%llu,\"maxMemoryBytes\":%llu}",
            pushing_back ? "backpressure" : "ok", (unsigned long long)s.traces_buffered,
            (unsigned long long)max_traces, (unsigned long long)s.bytes_buffered,
            (unsigned long long)max_bytes);
    }
    ottr_buf_printf(out, ",\"receivers\":{\"grpc\":%s,\"http\":%s}", up(&q->grpc_up),
                    up(&q->http_up));

    size_t running, queued;
    collector_query_pool_stats(q->pool, &running, &queued);
    ottr_buf_printf(out, ",\"queries\":{\"running\":%zu,\"queued\":%zu", running, queued);
    if (q->cfg)
        ottr_buf_printf(out, ",\"maxConcurrent\":%d,\"maxQueued\":%llu",
                        q->cfg->query_max_concurrent, (unsigned long long)q->cfg->query_max_queued);
    ottr_buf_puts(out, "}}}");
    return ready ? 200 : 503;
}
