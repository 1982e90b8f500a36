/* cli/deps.c - `ottr deps`: the service graph from /api/service-graph as a
 * table of edges (client → server) or as Graphviz DOT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"

typedef struct edge {
    const char *client, *server, *type;
    uint64_t calls, errors;
    double p95_ns; /* < 0 when unknown */
} edge;

/* A latency quantile in nanoseconds. ottrd writes {"latencyMs":{"p95":...}};
 * a flat "p95" (milliseconds) or one with a unit suffix is read too. Returns -1
 * when absent. */
static double latency_ns(struct json_object *o, const char *q)
{
    double ms = cli_jdouble(cli_jget(cli_jget(o, "latencyMs", "latency_ms"), q, NULL), -1);
    if (ms >= 0)
        return ms * 1e6;
    static const struct {
        const char *suffix;
        double ns;
    } units[] = {{"Ns", 1},   {"_ns", 1},   {"Nanos", 1},     {"Us", 1e3},       {"_us", 1e3},
                 {"Ms", 1e6}, {"_ms", 1e6}, {"Seconds", 1e9}, {"_seconds", 1e9}, {"", 1e6}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        char key[32];
        snprintf(key, sizeof(key), "%s%s", q, units[i].suffix);
        double v = cli_jdouble(cli_jget(o, key, NULL), -1);
        if (v >= 0)
            return v * units[i].ns;
    }
    return -1;
}

static int edge_cmp(const void *a, const void *b)
{
    const edge *x = a, *y = b;
    int c = strcmp(x->client, y->client);
    if (c == 0)
        c = strcmp(x->server, y->server);
    if (c == 0)
        c = strcmp(x->type, y->type);
    return c;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void dot_string(ottr_buf *b, const char *s)
{
    ottr_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            ottr_buf_putc(b, '\\');
            ottr_buf_putc(b, (char)*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            ottr_buf_putc(b, ' ');
        } else {
            ottr_buf_putc(b, (char)*p);
        }
    }
    ottr_buf_putc(b, '"');
}

static void render_dot(const edge *e, size_t n, const char **nodes, size_t nnodes, ottr_buf *out)
{
    ottr_buf_puts(out, "digraph ottr {\n"
                       "  rankdir=LR;\n"
                       "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
                       "  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for (size_t i = 0; i < nnodes; i++) {
        if (i > 0 && strcmp(nodes[i], nodes[i - 1]) == 0)
            continue;
        bool db = false;
        for (size_t k = 0; k < n && !db; k++)
            db = strcmp(e[k].server, nodes[i]) == 0 && strcmp(e[k].type, "database") == 0;
        ottr_buf_puts(out, "  ");
        dot_string(out, nodes[i]);
        ottr_buf_puts(out, db ? " [shape=cylinder, style=\"\"];\n" : ";\n");
    }
    for (size_t k = 0; k < n; k++) {
        ottr_buf_puts(out, "  ");
        dot_string(out, e[k].client);
        ottr_buf_puts(out, " -> ");
        dot_string(out, e[k].server);
        ottr_buf_printf(out, " [label=\"%llu calls", (unsigned long long)e[k].calls);
        if (e[k].errors > 0)
            ottr_buf_printf(out, "\\n%llu errors", (unsigned long long)e[k].errors);
        if (e[k].p95_ns >= 0) {
            char d[32];
            cli_fmt_duration((uint64_t)e[k].p95_ns, d, sizeof(d));
            ottr_buf_printf(out, "\\np95 %s", d);
        }
        ottr_buf_putc(out, '"');
        if (e[k].errors > 0)
            ottr_buf_puts(out, ", color=red, fontcolor=red");
        if (e[k].type[0] != '\0' && strcmp(e[k].type, "database") != 0)
            ottr_buf_puts(out, ", style=dashed");
        ottr_buf_puts(out, "];\n");
    }
    ottr_buf_puts(out, "}\n");
}

static int render_table(const edge *e, size_t n, bool color, ottr_buf *out)
{
    bool typed = false;
    for (size_t k = 0; k < n; k++)
        typed = typed || e[k].type[0] != '\0';
    static const char *const titles[] = {"CLIENT", "",       "SERVER", "TYPE",
                                         "CALLS",  "ERRORS", "ERROR%", "P95"};
    static const char *const titles_untyped[] = {"CLIENT", "",       "SERVER", "CALLS",
                                                 "ERRORS", "ERROR%", "P95"};
    static const bool right[] = {false, false, false, false, true, true, true, true};
    static const bool right_untyped[] = {false, false, false, true, true, true, true};
    cli_table tab;
    if (typed)
        cli_table_init(&tab, 8, titles, right, NULL);
    else
        cli_table_init(&tab, 7, titles_untyped, right_untyped, NULL);
    for (size_t k = 0; k < n; k++) {
        char calls[24], errors[24], pct[16] = "-", p95[32] = "-";
        snprintf(calls, sizeof(calls), "%llu", (unsigned long long)e[k].calls);
        snprintf(errors, sizeof(errors), "%llu", (unsigned long long)e[k].errors);
        if (e[k].calls > 0)
            snprintf(pct, sizeof(pct), "%.1f%%", 100.0 * (double)e[k].errors / (double)e[k].calls);
        if (e[k].p95_ns >= 0)
            cli_fmt_duration((uint64_t)e[k].p95_ns, p95, sizeof(p95));
        const char *err_sgr = e[k].errors > 0 ? CLI_SGR_RED : NULL;
        const char *cells[8], *colors[8];
        size_t c = 0;
        cells[c] = e[k].client;
        colors[c++] = cli_service_color(e[k].client);
        cells[c] = "\xe2\x86\x92"; /* → */
        colors[c++] = NULL;
        cells[c] = e[k].server;
        colors[c++] = cli_service_color(e[k].server);
        if (typed) {
            cells[c] = e[k].type[0] ? e[k].type : "-";
            colors[c++] = NULL;
        }
        cells[c] = calls;
        colors[c++] = NULL;
        cells[c] = errors;
        colors[c++] = err_sgr;
        cells[c] = pct;
        colors[c++] = err_sgr;
        cells[c] = p95;
        colors[c++] = NULL;
        cli_table_add(&tab, cells, colors);
    }
    int rc = cli_table_render(&tab, color, out);
    cli_table_free(&tab);
    return rc;
}

int cli_deps_render(const char *json, size_t len, bool dot, const cli_render_opts *r, ottr_buf *out,
                    size_t *nedges, char *err, size_t errlen)
{
    *nedges = 0;
    struct json_object *doc = cli_json_parse(json, len, err, errlen);
    if (doc == NULL)
        return CLI_EXIT_BADDATA;
    struct json_object *edges = cli_jget(doc, "edges", NULL);
    struct json_object *nodes = cli_jget(doc, "nodes", NULL);
    if (edges != NULL && json_object_is_type(edges, json_type_null))
        edges = NULL;
    if (nodes != NULL && !json_object_is_type(nodes, json_type_array))
        nodes = NULL;
    if (!json_object_is_type(doc, json_type_object) ||
        (edges != NULL && !json_object_is_type(edges, json_type_array))) {
        json_object_put(doc);
        snprintf(err, errlen, "not a service graph (no \"edges\" array)");
        return CLI_EXIT_BADDATA;
    }
    size_t ne = edges ? json_object_array_length(edges) : 0;
    size_t nn = nodes ? json_object_array_length(nodes) : 0;
    edge *e = calloc(ne + 1, sizeof(*e));
    const char **names = calloc(nn + 2 * ne + 1, sizeof(*names));
    if (e == NULL || names == NULL) {
        free(e);
        free(names);
        json_object_put(doc);
        snprintf(err, errlen, "out of memory");
        return CLI_EXIT_BADDATA;
    }
    size_t n = 0, nnames = 0;
    for (size_t i = 0; i < ne; i++) {
        struct json_object *o = json_object_array_get_idx(edges, i);
        const char *client = cli_jstr(o, "client", NULL, NULL);
        const char *server = cli_jstr(o, "server", NULL, NULL);
        if (client == NULL || server == NULL)
            continue;
        e[n].client = client;
        e[n].server = server;
        e[n].type = cli_jstr(o, "connectionType", "connection_type", "");
        cli_ju64(cli_jget(o, "calls", NULL), &e[n].calls);
        cli_ju64(cli_jget(o, "errors", NULL), &e[n].errors);
        e[n].p95_ns = latency_ns(o, "p95");
        names[nnames++] = client;
        names[nnames++] = server;
        n++;
    }
    for (size_t i = 0; i < nn; i++) {
        const char *s = cli_jstr(json_object_array_get_idx(nodes, i), "service", NULL, NULL);
        if (s != NULL)
            names[nnames++] = s;
    }
    qsort(e, n, sizeof(*e), edge_cmp);
    qsort(names, nnames, sizeof(*names), str_cmp);
    int rc = CLI_EXIT_OK;
    if (dot) {
        render_dot(e, n, names, nnames, out);
    } else if (n > 0 && render_table(e, n, r->color, out) != 0) {
        snprintf(err, errlen, "out of memory");
        rc = CLI_EXIT_BADDATA;
    }
    *nedges = n;
    free(e);
    free(names);
    json_object_put(doc);
    return rc;
}
