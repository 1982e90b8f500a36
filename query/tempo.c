/* query/tempo.c - Tempo's trace by ID (v1 and v2, protobuf and JSON) and build
 * information. Protobuf answers are the stored chunks concatenated, wrapped in
 * a TraceByIDResponse for v2; JSON answers decode the trace. */
#include <stdio.h>
#include <string.h>

#include "query/qtrace.h"
#include "query/query.h"

static void put_len_field(ottr_buf *b, uint8_t tag, const void *p, size_t n)
{
    uint8_t head[1 + OTLP_VARINT_MAX];
    head[0] = tag;
    ottr_buf_append(b, head, (size_t)(otlp_varint_put(head + 1, n) - head));
    ottr_buf_append(b, p, n);
}

/* Reads the trace and checks the time range: OTTR_OK, OTTR_ERR_INVALID (bad
 * ID), OTTR_ERR_NOTFOUND or the store's error. */
static ottr_status fetch(store_view st, const char *id, uint64_t start_ns, uint64_t end_ns,
                         ottr_buf *raw, store_trace_summary *sum, char *err, size_t errlen)
{
    uint8_t tid[16];
    if (query_parse_trace_id(id, tid) != 0) {
        snprintf(err, errlen, "invalid trace ID \"%.64s\": want 1 to 32 hex digits", id ? id : "");
        return OTTR_ERR_INVALID;
    }
    ottr_status s = store_get_trace(st, tid, raw, sum);
    if (s == OTTR_ERR_NOTFOUND) {
        snprintf(err, errlen, "trace not found");
        return OTTR_ERR_NOTFOUND;
    }
    if (s != OTTR_OK || raw->oom) {
        snprintf(err, errlen, "reading the trace failed: %s",
                 ottr_status_str(s != OTTR_OK ? s : OTTR_ERR_NOMEM));
        return s != OTTR_OK ? s : OTTR_ERR_NOMEM;
    }
    if ((end_ns && sum->start_ns > end_ns) || (start_ns && sum->end_ns < start_ns)) {
        snprintf(err, errlen, "trace not found in the time range");
        return OTTR_ERR_NOTFOUND;
    }
    return OTTR_OK;
}

ottr_status query_tempo_trace(store_view st, const char *id, const query_tempo_trace_opts *o,
                              ottr_buf *out, char *err, size_t errlen)
{
    ottr_buf raw = {0};
    store_trace_summary sum;
    memset(&sum, 0, sizeof(sum));
    ottr_status code = fetch(st, id, o->start_ns, o->end_ns, &raw, &sum, err, errlen);
    if (code != OTTR_OK) {
        ottr_buf_free(&raw);
        return code;
    }
    if (o->version != 2 && o->protobuf) {
        /* tempopb.Trace has TracesData's layout: the chunks as they are. */
        ottr_buf_append(out, raw.data, raw.len);
        ottr_buf_free(&raw);
        return out->oom ? (snprintf(err, errlen, "out of memory"), OTTR_ERR_NOMEM) : OTTR_OK;
    }

    ottr_arena a;
    ottr_arena_init(&a, 256 * 1024, query_arena_limit(st));
    otlp_trace t;
    ottr_status s = otlp_trace_decode(&t, &a, (const uint8_t *)raw.data, raw.len);
    if (s == OTTR_OK && o->version == 2)
        s = otlp_trace_build_tree(&t, &a);
    if (s != OTTR_OK) {
        snprintf(err, errlen, "decoding the stored trace failed: %s", ottr_status_str(s));
        ottr_arena_free(&a);
        ottr_buf_free(&raw);
        return s;
    }
    ottr_buf msg = {0};
    size_t problems = o->version == 2 ? query_describe_problems(&t, &sum, &msg) : 0;

    if (o->version != 2) {
        int first = 1;
        ottr_buf_puts(out, "{\"batches\":[");
        otlp_json_resource_spans_items(out, t.td, &first);
        ottr_buf_puts(out, "]}");
    } else if (o->protobuf) {
        put_len_field(out, 0x0a, raw.data, raw.len); /* trace */
        uint8_t metrics[1 + OTLP_VARINT_MAX];
        metrics[0] = 0x08; /* inspected_bytes */
        size_t mlen = (size_t)(otlp_varint_put(metrics + 1, raw.len) - metrics);
        put_len_field(out, 0x12, metrics, mlen); /* metrics */
        if (problems) {
            ottr_buf_putc(out, 0x18); /* status = PARTIAL */
            ottr_buf_putc(out, 0x01);
            put_len_field(out, 0x22, msg.data, msg.len); /* message */
        }
    } else {
        int first = 1;
        ottr_buf_puts(out, "{\"trace\":{\"resourceSpans\":[");
        otlp_json_resource_spans_items(out, t.td, &first);
        ottr_buf_puts(out, "]},\"metrics\":{\"inspectedBytes\":");
        otlp_json_u64str(out, raw.len);
        ottr_buf_printf(out, "},\"status\":\"%s\"", problems ? "PARTIAL" : "COMPLETE");
        if (problems) {
            ottr_buf_puts(out, ",\"message\":");
            ottr_buf_json_str(out, msg.data, msg.len);
        }
        ottr_buf_putc(out, '}');
    }
    int oom = out->oom || msg.oom;
    ottr_buf_free(&msg);
    ottr_arena_free(&a);
    ottr_buf_free(&raw);
    if (oom) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    return OTTR_OK;
}

void query_tempo_buildinfo(ottr_buf *out)
{
    /* Grafana reads the version to pick some features; Ottr reports the Tempo
     * 2.1 line, all of whose API it serves, with its own version as the
     * pre-release part. Streaming search is chosen by the datasource's switch,
     * not by the version, and served either way. */
    ottr_buf_puts(out, "{\"version\":\"2.1.0-ottr." OTTR_VERSION "\",\"revision\":\"" OTTR_REVISION
                       "\",\"branch\":\"main\",\"buildDate\":\"" __DATE__ "\","
                       "\"buildUser\":\"ottr\",\"goVersion\":\"none (C11)\"}");
}
