/* cli/search.c - `ottr search`: turns the filter flags into TraceQL and the
 * /api/search query string, and Tempo's search response into a table. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"

static void put_traceql_string(ottr_buf *b, const char *s)
{
    ottr_buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            ottr_buf_putc(b, '\\');
        ottr_buf_putc(b, *p);
    }
    ottr_buf_putc(b, '"');
}

static bool plain_attr_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '/' && c != ':')
            return false;
    }
    return true;
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Appends one --tag k=v condition. Keys with a scope ("span.", "resource.", ".")
 * keep it; the intrinsics status and kind compare to a bare keyword; any other
 * key is an attribute of either scope (".k"), as Tempo's tags= search does. */
static void put_tag(ottr_buf *b, const char *tag)
{
    const char *eq = strchr(tag, '=');
    size_t klen = (size_t)(eq - tag);
    const char *v = eq + 1;
    if ((klen == 6 && memcmp(tag, "status", 6) == 0) ||
        (klen == 4 && memcmp(tag, "kind", 4) == 0)) {
        ottr_buf_append(b, tag, klen);
        ottr_buf_putc(b, '=');
        bool word = *v != '\0';
        for (const char *p = v; *p; p++)
            word = word && isalpha((unsigned char)*p);
        if (word)
            ottr_buf_puts(b, v);
        else
            put_traceql_string(b, v);
        return;
    }
    const char *scope = ".";
    const char *name = tag;
    if (has_prefix(tag, "span.") || has_prefix(tag, "resource.")) {
        size_t slen = (size_t)(strchr(tag, '.') - tag) + 1;
        scope = NULL;
        ottr_buf_append(b, tag, slen);
        name = tag + slen;
    } else if (tag[0] == '.') {
        scope = NULL;
        ottr_buf_putc(b, '.');
        name = tag + 1;
    }
    if (scope != NULL)
        ottr_buf_puts(b, scope);
    size_t nlen = (size_t)(eq - name);
    if (plain_attr_name(name, nlen)) {
        ottr_buf_append(b, name, nlen);
    } else {
        ottr_buf_putc(b, '"');
        for (size_t i = 0; i < nlen; i++) {
            if (name[i] == '"' || name[i] == '\\')
                ottr_buf_putc(b, '\\');
            ottr_buf_putc(b, name[i]);
        }
        ottr_buf_putc(b, '"');
    }
    ottr_buf_putc(b, '=');
    put_traceql_string(b, v);
}

int cli_traceql_build(const cli_opts *o, ottr_buf *out, char *err, size_t errlen)
{
    if (o->traceql != NULL) {
        ottr_buf_puts(out, o->traceql);
        return 0;
    }
    int n = 0;
    ottr_buf_putc(out, '{');
    if (o->service != NULL) {
        ottr_buf_puts(out, "resource.service.name=");
        put_traceql_string(out, o->service);
        n++;
    }
    if (o->name != NULL) {
        ottr_buf_puts(out, n++ ? " && name=" : "name=");
        put_traceql_string(out, o->name);
    }
    for (size_t i = 0; i < o->ntags; i++) {
        const char *eq = strchr(o->tags[i], '=');
        if (eq == NULL || eq == o->tags[i]) {
            snprintf(err, errlen, "--tag: want key=value, not \"%s\"", o->tags[i]);
            return CLI_EXIT_USAGE;
        }
        if (n++)
            ottr_buf_puts(out, " && ");
        put_tag(out, o->tags[i]);
    }
    ottr_buf_putc(out, '}');
    return 0;
}

/* A duration in Go syntax, in the largest unit that keeps it exact. */
static void put_go_duration(ottr_buf *b, uint64_t ns)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {{"h", 3600000000000ull}, {"m", 60000000000ull}, {"s", 1000000000ull},
                 {"ms", 1000000ull},      {"us", 1000ull},       {"ns", 1}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ns % units[i].ns == 0) {
            ottr_buf_printf(b, "%llu%s", (unsigned long long)(ns / units[i].ns), units[i].unit);
            return;
        }
    }
}

int cli_search_path(const cli_opts *o, ottr_buf *out, char *err, size_t errlen)
{
    ottr_buf q = {0};
    int rc = cli_traceql_build(o, &q, err, errlen);
    if (rc != 0) {
        ottr_buf_free(&q);
        return rc;
    }
    ottr_buf_puts(out, "/api/search?q=");
    cli_url_escape(out, q.len ? q.data : "");
    ottr_buf_free(&q);
    if (o->limit > 0)
        ottr_buf_printf(out, "&limit=%d", o->limit);
    if (o->has_range)
        ottr_buf_printf(out, "&start=%lld&end=%lld", (long long)o->start_s, (long long)o->end_s);
    if (o->has_min) {
        ottr_buf_puts(out, "&minDuration=");
        put_go_duration(out, o->min_duration_ns);
    }
    if (o->has_max) {
        ottr_buf_puts(out, "&maxDuration=");
        put_go_duration(out, o->max_duration_ns);
    }
    return 0;
}

/* Sums spanCount and errorCount over serviceStats; false when absent. */
static bool trace_counts(struct json_object *tr, uint64_t *spans, uint64_t *errors)
{
    *spans = *errors = 0;
    struct json_object *stats = cli_jget(tr, "serviceStats", "service_stats");
    if (stats == NULL || !json_object_is_type(stats, json_type_object))
        return false;
    json_object_object_foreach(stats, svc, st)
    {
        (void)svc;
        uint64_t n;
        if (cli_ju64(cli_jget(st, "spanCount", "span_count"), &n) == 0)
            *spans += n;
        if (cli_ju64(cli_jget(st, "errorCount", "error_count"), &n) == 0)
            *errors += n;
    }
    return true;
}

int cli_search_render(const char *json, size_t len, const cli_render_opts *r, ottr_buf *out,
                      size_t *ntraces, char *err, size_t errlen)
{
    *ntraces = 0;
    struct json_object *doc = cli_json_parse(json, len, err, errlen);
    if (doc == NULL)
        return CLI_EXIT_BADDATA;
    struct json_object *traces = cli_jget(doc, "traces", NULL);
    if (traces != NULL && json_object_is_type(traces, json_type_null))
        traces = NULL;
    if (!json_object_is_type(doc, json_type_object) ||
        (traces != NULL && !json_object_is_type(traces, json_type_array))) {
        json_object_put(doc);
        snprintf(err, errlen, "not a search response (no \"traces\" array)");
        return CLI_EXIT_BADDATA;
    }
    static const char *const titles[] = {"TRACE ID", "ROOT SERVICE", "ROOT NAME", "START",
                                         "DURATION", "SPANS",        "ERRORS"};
    static const bool right[] = {false, false, false, false, true, true, true};
    static const size_t maxw[] = {32, 32, 48, 0, 0, 0, 0};
    cli_table tab;
    cli_table_init(&tab, 7, titles, right, maxw);
    size_t n = traces ? json_object_array_length(traces) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *tr = json_object_array_get_idx(traces, i);
        const char *svc = cli_jstr(tr, "rootServiceName", "root_service_name", "");
        const char *name = cli_jstr(tr, "rootTraceName", "root_trace_name", "");
        uint64_t start_ns, spans, errors;
        char start[40] = "-", dur[32], nspans[24] = "-", nerr[24] = "-";
        if (cli_ju64(cli_jget(tr, "startTimeUnixNano", "start_time_unix_nano"), &start_ns) == 0)
            ottr_format_time(start_ns, start, sizeof(start));
        double ms = cli_jdouble(cli_jget(tr, "durationMs", "duration_ms"), 0);
        cli_fmt_duration(ms > 0 ? (uint64_t)(ms * 1e6) : 0, dur, sizeof(dur));
        bool have = trace_counts(tr, &spans, &errors);
        if (have) {
            snprintf(nspans, sizeof(nspans), "%llu", (unsigned long long)spans);
            snprintf(nerr, sizeof(nerr), "%llu", (unsigned long long)errors);
        }
        const char *cells[] = {
            cli_jstr(tr, "traceID", "trace_id", "?"), svc, name, start, dur, nspans, nerr};
        const char *colors[] = {NULL,
                                cli_service_color(svc),
                                NULL,
                                NULL,
                                NULL,
                                NULL,
                                have && errors > 0 ? CLI_SGR_RED : NULL};
        cli_table_add(&tab, cells, colors);
    }
    int rc = CLI_EXIT_OK;
    if (n > 0 && cli_table_render(&tab, r->color, out) != 0) {
        snprintf(err, errlen, "out of memory");
        rc = CLI_EXIT_BADDATA;
    }
    *ntraces = n;
    cli_table_free(&tab);
    json_object_put(doc);
    return rc;
}
