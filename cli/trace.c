/* cli/trace.c - `ottr trace`'s model of a trace. Decoding (OTLP JSON and the
 * Tempo and Jaeger variants) is otlp_json_decode_traces and the tree (orphans,
 * duplicate IDs, parent cycles cut) is otlp_trace_build_tree; what is left here
 * is presentation: IDs as text, children and top-level spans in start-time
 * order, the header's counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"

#define NONE ((size_t)-1)

/* Lower-case hex of an ID of |n| bytes, "" when it is not |n| bytes. */
static void id_text(const ProtobufCBinaryData *id, size_t n, char *out)
{
    if (id->len == n)
        ottr_hex_encode(id->data, n, out);
    else
        out[0] = '\0';
}

static void fill_span(cli_span *s, const otlp_span_ref *r)
{
    const otlp_span *sp = r->span;
    memset(s, 0, sizeof(*s));
    s->ref = r;
    s->service = r->service;
    s->name = sp->name ? sp->name : "";
    s->scope = r->scope && r->scope->name ? r->scope->name : "";
    s->kind = (int)sp->kind;
    s->status = otlp_span_status_code(sp);
    s->status_msg = sp->status && sp->status->message ? sp->status->message : "";
    id_text(&sp->span_id, 8, s->span_id);
    id_text(&sp->parent_span_id, 8, s->parent_id);
    if (strcmp(s->parent_id, "0000000000000000") == 0)
        s->parent_id[0] = '\0'; /* some exporters write a zero ID for "no parent" */
    s->start_ns = sp->start_time_unix_nano;
    s->end_ns = sp->end_time_unix_nano < s->start_ns ? s->start_ns : sp->end_time_unix_nano;
    s->parent = r->parent >= 0 ? (size_t)r->parent : NONE;
    s->first_child = s->next_sibling = NONE;
    s->orphan = (r->problems & (OTLP_SPAN_ORPHAN | OTLP_SPAN_CUT)) != 0;
    s->dup = (r->problems & OTLP_SPAN_DUPLICATE) != 0;
}

/* Orders span indices by start time, then span ID, then name, then position, so
 * that the tree is the same whatever order the server sent the spans in. */
static int by_start(const void *a, const void *b, void *ctx)
{
    const cli_span *spans = ctx;
    const cli_span *x = &spans[*(const size_t *)a], *y = &spans[*(const size_t *)b];
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    int c = strcmp(x->span_id, y->span_id);
    if (c != 0)
        return c;
    c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The presentation of the decoded trace with its tree: the spans, child and
 * top-level lists by start time, and the header's counts. */
static ottr_status build_view(cli_trace *t)
{
    const otlp_trace *o = &t->otlp;
    size_t n = o->nspans;
    t->nspans = n;
    t->first_top = NONE;
    t->spans = ottr_arena_alloc(&t->arena, (n ? n : 1) * sizeof(*t->spans));
    size_t *order = ottr_arena_alloc(&t->arena, (n ? n : 1) * sizeof(*order));
    size_t *tail = ottr_arena_alloc(&t->arena, (n ? n : 1) * sizeof(*tail));
    const char **services = ottr_arena_alloc(&t->arena, (n ? n : 1) * sizeof(*services));
    if (t->spans == NULL || order == NULL || tail == NULL || services == NULL)
        return OTTR_ERR_NOMEM;

    cli_span *sp = t->spans;
    for (size_t i = 0; i < n; i++) {
        fill_span(&sp[i], &o->spans[i]);
        order[i] = i;
        tail[i] = NONE;
        if (t->trace_id[0] == '\0')
            id_text(&o->spans[i].span->trace_id, 16, t->trace_id);
    }

    qsort_r(order, n, sizeof(*order), by_start, sp);
    size_t top_tail = NONE;
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        size_t p = sp[i].parent;
        if (p == NONE) {
            if (top_tail == NONE)
                t->first_top = i;
            else
                sp[top_tail].next_sibling = i;
            top_tail = i;
        } else {
            if (tail[p] == NONE)
                sp[p].first_child = i;
            else
                sp[tail[p]].next_sibling = i;
            tail[p] = i;
        }
    }

    t->start_ns = n ? sp[order[0]].start_ns : 0;
    t->end_ns = t->start_ns;
    for (size_t i = 0; i < n; i++) {
        if (sp[i].end_ns > t->end_ns)
            t->end_ns = sp[i].end_ns;
        if (sp[i].status == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR)
            t->nerrors++;
        if (sp[i].orphan)
            t->norphans++;
        services[i] = sp[i].service;
    }
    qsort(services, n, sizeof(*services), str_cmp);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(services[i], services[i - 1]) != 0)
            t->nservices++;
    return OTTR_OK;
}

int cli_trace_parse(const char *json, size_t len, cli_trace **out, char *err, size_t errlen)
{
    *out = NULL;
    cli_trace *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return CLI_EXIT_BADDATA;
    }
    ottr_arena_init(&t->arena, 64 * 1024, 0);
    otlp_traces_data *td = NULL;
    ottr_status st = otlp_json_decode_traces(&t->arena, json, len, &td, NULL, err, errlen);
    if (st == OTTR_OK)
        st = otlp_trace_from_data(&t->otlp, &t->arena, td);
    if (st == OTTR_OK)
        st = otlp_trace_build_tree(&t->otlp, &t->arena);
    if (st == OTTR_OK)
        st = build_view(t);
    if (st != OTTR_OK) {
        if (st != OTTR_ERR_INVALID || err[0] == '\0')
            snprintf(err, errlen, "%s", st == OTTR_ERR_INVALID ? "not a trace" : "out of memory");
        cli_trace_free(t);
        return CLI_EXIT_BADDATA;
    }
    *out = t;
    return CLI_EXIT_OK;
}

void cli_trace_free(cli_trace *t)
{
    if (t == NULL)
        return;
    ottr_arena_free(&t->arena);
    free(t);
}

int cli_trace_to_otlp_json(const char *json, size_t len, ottr_buf *out, char *err, size_t errlen)
{
    /* The document's own ResourceSpans array, renamed: nothing is lost or
     * normalised on the way. */
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_traces_data *td;
    otlp_json_doc doc;
    ottr_status st = otlp_json_decode_traces(&a, json, len, &td, &doc, err, errlen);
    ottr_arena_free(&a);
    if (st != OTTR_OK || doc.array_len == 0) {
        if (st == OTTR_OK)
            snprintf(err, errlen, "not an OTLP JSON trace (no \"batches\" or \"resourceSpans\")");
        return CLI_EXIT_BADDATA;
    }
    ottr_buf req = {0};
    ottr_buf_puts(&req, "{\"resourceSpans\":");
    ottr_buf_append(&req, json + doc.array_off, doc.array_len);
    ottr_buf_putc(&req, '}');
    struct json_object *res = NULL;
    if (req.oom)
        snprintf(err, errlen, "out of memory");
    else
        res = cli_json_parse(req.data, req.len, err, errlen);
    ottr_buf_free(&req);
    if (res == NULL)
        return CLI_EXIT_BADDATA;
    const char *s = json_object_to_json_string_ext(
        res, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    ottr_buf_puts(out, s);
    ottr_buf_putc(out, '\n');
    json_object_put(res);
    return CLI_EXIT_OK;
}
