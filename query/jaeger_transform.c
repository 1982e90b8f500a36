/* query/jaeger_transform.c - Jaeger's POST /api/transform (the UI's "upload
 * OTLP JSON"): an OTLP JSON trace document turned into Jaeger's trace model,
 * one trace per trace ID in order of first appearance, nothing stored. */
#include <stdio.h>
#include <string.h>

#include "query/qjaeger.h"
#include "otlp/otlp.h"
#include "query/query.h"

/* The spans of trace |tid| of |all|, with a TracesData of just the
 * ResourceSpans they come from (span rs indexes remapped), into |t|. */
static int one_trace(const otlp_trace *all, const uint8_t tid[16], ottr_arena *a, otlp_trace *t)
{
    const otlp_traces_data *td = all->td;
    size_t nrs = td->n_resource_spans ? td->n_resource_spans : 1;
    uint32_t *map = ottr_arena_alloc(a, nrs * sizeof(*map));
    otlp_resource_spans **rs = ottr_arena_alloc(a, nrs * sizeof(*rs));
    otlp_traces_data *sub = ottr_arena_alloc(a, sizeof(*sub));
    otlp_span_ref *spans = ottr_arena_alloc(a, (all->nspans ? all->nspans : 1) * sizeof(*spans));
    if (map == NULL || rs == NULL || sub == NULL || spans == NULL)
        return -1;
    memset(map, 0xff, nrs * sizeof(*map));
    *sub = *td;
    sub->n_resource_spans = 0;
    sub->resource_spans = rs;
    memset(t, 0, sizeof(*t));
    t->td = sub;
    t->spans = spans;
    t->root = -1;
    for (size_t i = 0; i < all->nspans; i++) {
        const otlp_span_ref *r = &all->spans[i];
        if (r->span->trace_id.len != 16 || memcmp(r->span->trace_id.data, tid, 16) != 0)
            continue;
        if (map[r->rs] == UINT32_MAX) {
            map[r->rs] = (uint32_t)sub->n_resource_spans;
            rs[sub->n_resource_spans++] = td->resource_spans[r->rs];
        }
        spans[t->nspans] = *r;
        spans[t->nspans].rs = map[r->rs];
        t->nspans++;
    }
    return otlp_trace_build_tree(t, a) == OTTR_OK ? 0 : -1;
}

ottr_status query_jaeger_transform(store_view st, const char *json, size_t len, ottr_buf *out,
                                   char *err, size_t errlen)
{
    ottr_arena a;
    ottr_arena_init(&a, 256 * 1024, query_arena_limit(st));
    otlp_traces_data *td = NULL;
    otlp_trace all;
    ottr_status s = otlp_json_decode_traces(&a, json, len, &td, NULL, err, errlen);
    if (s == OTTR_OK)
        s = otlp_trace_from_data(&all, &a, td);
    if (s != OTTR_OK) {
        if (s != OTTR_ERR_INVALID)
            snprintf(err, errlen, "decoding the OTLP JSON failed: %s", ottr_status_str(s));
        ottr_arena_free(&a);
        return s == OTTR_ERR_TOO_LARGE ? OTTR_ERR_INVALID : s;
    }
    /* The distinct trace IDs, in order of first appearance. */
    const uint8_t **ids = ottr_arena_alloc(&a, (all.nspans ? all.nspans : 1) * sizeof(*ids));
    size_t nids = 0;
    for (size_t i = 0; ids && i < all.nspans; i++) {
        const ProtobufCBinaryData *id = &all.spans[i].span->trace_id;
        size_t k = 0;
        while (k < nids && (id->len != 16 || memcmp(ids[k], id->data, 16) != 0))
            k++;
        if (id->len == 16 && k == nids)
            ids[nids++] = id->data;
    }
    if (ids == NULL)
        s = OTTR_ERR_NOMEM;
    ottr_buf_puts(out, "{\"data\":[");
    for (size_t k = 0; k < nids && s == OTTR_OK; k++) {
        otlp_trace t;
        if (k)
            ottr_buf_putc(out, ',');
        if (one_trace(&all, ids[k], &a, &t) != 0 ||
            query_jaeger_encode_trace(out, &t, ids[k], NULL, &a) != 0)
            s = OTTR_ERR_NOMEM;
    }
    /* Jaeger sets no total on this answer. */
    ottr_buf_puts(out, "],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}");
    ottr_arena_free(&a);
    if (s == OTTR_OK && out->oom)
        s = OTTR_ERR_NOMEM;
    if (s != OTTR_OK)
        snprintf(err, errlen, "out of memory");
    return s;
}
