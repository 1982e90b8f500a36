/* cli/trace.c - reads a trace in OTLP JSON (or Tempo's variant of it) into
 * flat spans and rebuilds the tree: children by start time, orphans and parent
 * cycles lifted to the top level, never a crash on odd input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"

#define NONE ((size_t)-1)

static const char *const kind_names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                         "CLIENT",      "PRODUCER", "CONSUMER"};
static const char *const status_names[] = {"UNSET", "OK", "ERROR"};

struct json_object *cli_otlp_resource_spans(struct json_object *doc, bool *bad, bool *tempo)
{
    *bad = false;
    *tempo = false;
    if (!json_object_is_type(doc, json_type_object)) {
        *bad = true;
        return NULL;
    }
    struct json_object *t = cli_jget(doc, "trace", NULL);
    if (t == NULL)
        t = cli_jget(doc, "result", NULL); /* Jaeger's api/v3 */
    if (t != NULL && json_object_is_type(t, json_type_object))
        doc = t;
    struct json_object *a = cli_jget(doc, "batches", NULL);
    *tempo = a != NULL;
    if (a == NULL)
        a = cli_jget(doc, "resourceSpans", "resource_spans");
    if (a == NULL)
        return NULL;
    if (!json_object_is_type(a, json_type_array)) {
        *bad = true;
        return NULL;
    }
    return a;
}

static struct json_object *scope_spans(struct json_object *rs)
{
    struct json_object *a = cli_jget(rs, "scopeSpans", "scope_spans");
    if (a == NULL)
        a = cli_jget(rs, "instrumentationLibrarySpans", "instrumentation_library_spans");
    return a != NULL && json_object_is_type(a, json_type_array) ? a : NULL;
}

static struct json_object *array_or_null(struct json_object *v)
{
    return v != NULL && json_object_is_type(v, json_type_array) ? v : NULL;
}

static const char *service_of(struct json_object *rs)
{
    struct json_object *attrs =
        array_or_null(cli_jget(cli_jget(rs, "resource", NULL), "attributes", NULL));
    size_t n = attrs ? json_object_array_length(attrs) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *kv = json_object_array_get_idx(attrs, i);
        const char *key = cli_jstr(kv, "key", NULL, NULL);
        if (key == NULL || strcmp(key, "service.name") != 0)
            continue;
        const char *v = cli_jstr(cli_jget(kv, "value", NULL), "stringValue", "string_value", NULL);
        if (v != NULL && *v != '\0')
            return v;
    }
    return "unknown_service";
}

/* Calls |fn| on every span object; returns the number of spans visited. */
typedef void (*span_fn)(void *ctx, struct json_object *span, const char *service,
                        const char *scope);

static size_t each_span(struct json_object *rsa, span_fn fn, void *ctx)
{
    size_t count = 0;
    size_t nrs = json_object_array_length(rsa);
    for (size_t i = 0; i < nrs; i++) {
        struct json_object *rs = json_object_array_get_idx(rsa, i);
        struct json_object *ssa = scope_spans(rs);
        if (ssa == NULL)
            continue;
        const char *service = service_of(rs);
        size_t nss = json_object_array_length(ssa);
        for (size_t j = 0; j < nss; j++) {
            struct json_object *ss = json_object_array_get_idx(ssa, j);
            struct json_object *scope = cli_jget(ss, "scope", NULL);
            if (scope == NULL)
                scope = cli_jget(ss, "instrumentationLibrary", "instrumentation_library");
            const char *scope_name = cli_jstr(scope, "name", NULL, "");
            struct json_object *spans = array_or_null(cli_jget(ss, "spans", NULL));
            size_t nsp = spans ? json_object_array_length(spans) : 0;
            for (size_t k = 0; k < nsp; k++) {
                struct json_object *sp = json_object_array_get_idx(spans, k);
                if (sp == NULL || !json_object_is_type(sp, json_type_object))
                    continue;
                if (fn != NULL)
                    fn(ctx, sp, service, scope_name);
                count++;
            }
        }
    }
    return count;
}

static void fill_span(void *ctx, struct json_object *sp, const char *service, const char *scope)
{
    cli_trace *t = ctx;
    cli_span *s = &t->spans[t->nspans++];
    memset(s, 0, sizeof(*s));
    s->parent = s->first_child = s->next_sibling = NONE;
    s->service = service;
    s->scope = scope;
    s->name = cli_jstr(sp, "name", NULL, "");
    if (t->trace_id[0] == '\0') {
        char tid[33];
        if (cli_id_hex(cli_jget(sp, "traceId", "trace_id"), 16, tid) == 1)
            memcpy(t->trace_id, tid, sizeof(tid));
    }
    cli_id_hex(cli_jget(sp, "spanId", "span_id"), 8, s->span_id);
    int pr = cli_id_hex(cli_jget(sp, "parentSpanId", "parent_span_id"), 8, s->parent_id);
    if (pr == 1 && strcmp(s->parent_id, "0000000000000000") == 0) {
        pr = 0; /* some exporters write a zero ID for "no parent" */
        s->parent_id[0] = '\0';
    }
    s->has_parent = pr != 0;
    s->kind = cli_jenum(cli_jget(sp, "kind", NULL), kind_names, 6, "SPAN_KIND_", 0);
    struct json_object *st = cli_jget(sp, "status", NULL);
    s->status = cli_jenum(cli_jget(st, "code", NULL), status_names, 3, "STATUS_CODE_", 0);
    s->status_msg = cli_jstr(st, "message", NULL, "");
    cli_ju64(cli_jget(sp, "startTimeUnixNano", "start_time_unix_nano"), &s->start_ns);
    cli_ju64(cli_jget(sp, "endTimeUnixNano", "end_time_unix_nano"), &s->end_ns);
    if (s->end_ns < s->start_ns)
        s->end_ns = s->start_ns;
    s->attrs = array_or_null(cli_jget(sp, "attributes", NULL));
    s->events = array_or_null(cli_jget(sp, "events", NULL));
    s->links = array_or_null(cli_jget(sp, "links", NULL));
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

static int by_id(const void *a, const void *b, void *ctx)
{
    const cli_span *spans = ctx;
    const cli_span *x = &spans[*(const size_t *)a], *y = &spans[*(const size_t *)b];
    int c = strcmp(x->span_id, y->span_id);
    if (c != 0)
        return c;
    return *(const size_t *)a < *(const size_t *)b ? -1 : *(const size_t *)a > *(const size_t *)b;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t find_id(const cli_span *spans, const size_t *byid, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(spans[byid[mid]].span_id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(spans[byid[lo]].span_id, id) == 0 ? byid[lo] : NONE;
}

/* Links every span to its parent, breaks cycles and builds sorted child lists. */
static int build_tree(cli_trace *t)
{
    size_t n = t->nspans;
    cli_span *sp = t->spans;
    size_t *order = malloc(n * sizeof(*order));
    size_t *byid = malloc(n * sizeof(*byid));
    size_t *tail = malloc(n * sizeof(*tail));
    unsigned char *state = calloc(n, 1);
    const char **services = malloc(n * sizeof(*services));
    if (!order || !byid || !tail || !state || !services) {
        free(order);
        free(byid);
        free(tail);
        free(state);
        free(services);
        return -1;
    }

    size_t nid = 0;
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        if (sp[i].span_id[0] != '\0')
            byid[nid++] = i;
    }
    qsort_r(byid, nid, sizeof(*byid), by_id, sp);
    for (size_t k = 1; k < nid; k++)
        if (strcmp(sp[byid[k]].span_id, sp[byid[k - 1]].span_id) == 0)
            sp[byid[k]].dup = true;

    for (size_t i = 0; i < n; i++) {
        if (!sp[i].has_parent)
            continue;
        size_t p = sp[i].parent_id[0] ? find_id(sp, byid, nid, sp[i].parent_id) : NONE;
        if (p == NONE || p == i)
            sp[i].orphan = true;
        else
            sp[i].parent = p;
    }

    /* Walk up from each span; meeting a span of the current walk means a cycle,
     * which is cut above the span met. 0 = unseen, 1 = on this walk, 2 = done. */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j != NONE && state[j] == 0) {
            state[j] = 1;
            size_t p = sp[j].parent;
            if (p != NONE && state[p] == 1) {
                sp[p].parent = NONE;
                sp[p].orphan = true;
                break;
            }
            j = p;
        }
        for (j = i; j != NONE && state[j] == 1; j = sp[j].parent)
            state[j] = 2;
    }

    qsort_r(order, n, sizeof(*order), by_start, sp);
    size_t top_tail = NONE;
    t->first_top = NONE;
    for (size_t i = 0; i < n; i++)
        tail[i] = NONE;
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
        if (sp[i].status == 2)
            t->nerrors++;
        if (sp[i].orphan)
            t->norphans++;
        services[i] = sp[i].service;
    }
    qsort(services, n, sizeof(*services), str_cmp);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(services[i], services[i - 1]) != 0)
            t->nservices++;

    free(order);
    free(byid);
    free(tail);
    free(state);
    free(services);
    return 0;
}

int cli_trace_parse(const char *json, size_t len, cli_trace **out, char *err, size_t errlen)
{
    *out = NULL;
    struct json_object *doc = cli_json_parse(json, len, err, errlen);
    if (doc == NULL)
        return CLI_EXIT_BADDATA;
    bool bad, tempo;
    struct json_object *rsa = cli_otlp_resource_spans(doc, &bad, &tempo);
    if (bad || (rsa == NULL && json_object_object_length(doc) > 0 &&
                cli_jget(doc, "trace", NULL) == NULL)) {
        snprintf(err, errlen, "not an OTLP JSON trace (no \"batches\" or \"resourceSpans\")");
        json_object_put(doc);
        return CLI_EXIT_BADDATA;
    }
    cli_trace *t = calloc(1, sizeof(*t));
    size_t n = rsa ? each_span(rsa, NULL, NULL) : 0;
    if (t == NULL || (n > 0 && (t->spans = calloc(n, sizeof(*t->spans))) == NULL)) {
        free(t);
        json_object_put(doc);
        snprintf(err, errlen, "out of memory");
        return CLI_EXIT_BADDATA;
    }
    t->doc = doc;
    if (n > 0)
        each_span(rsa, fill_span, t);
    if (build_tree(t) != 0) {
        cli_trace_free(t);
        snprintf(err, errlen, "out of memory");
        return CLI_EXIT_BADDATA;
    }
    *out = t;
    return CLI_EXIT_OK;
}

size_t cli_otlp_count_spans(struct json_object *rsa)
{
    return rsa ? each_span(rsa, NULL, NULL) : 0;
}

void cli_trace_free(cli_trace *t)
{
    if (t == NULL)
        return;
    json_object_put(t->doc);
    free(t->spans);
    free(t);
}

int cli_trace_to_otlp_json(const char *json, size_t len, ottr_buf *out, char *err, size_t errlen)
{
    struct json_object *doc = cli_json_parse(json, len, err, errlen);
    if (doc == NULL)
        return CLI_EXIT_BADDATA;
    bool bad, tempo;
    struct json_object *rsa = cli_otlp_resource_spans(doc, &bad, &tempo);
    if (rsa == NULL) {
        json_object_put(doc);
        snprintf(err, errlen, "not an OTLP JSON trace (no \"batches\" or \"resourceSpans\")");
        return CLI_EXIT_BADDATA;
    }
    struct json_object *res = json_object_new_object();
    if (res == NULL || json_object_object_add(res, "resourceSpans", json_object_get(rsa)) != 0) {
        json_object_put(res);
        json_object_put(doc);
        snprintf(err, errlen, "out of memory");
        return CLI_EXIT_BADDATA;
    }
    const char *s = json_object_to_json_string_ext(
        res, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    ottr_buf_puts(out, s);
    ottr_buf_putc(out, '\n');
    json_object_put(res);
    json_object_put(doc);
    return CLI_EXIT_OK;
}
