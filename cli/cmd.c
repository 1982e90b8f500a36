/* cli/cmd.c - the query commands of `ottr` (trace, search, services,
 * operations, deps): build the URL, call ottrd, render, pick the exit code. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"

#define ERRLEN      768
#define MAX_FILE    (1024u << 20) /* what `trace --file` and `send` read at most */
#define SERVER_HINT " (is ottrd running? set --server or OTTR_SERVER)"
#define JAEGER_HINT " (is ottrd running? set --jaeger-server or OTTR_JAEGER_SERVER)"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("ottr: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_write_stdout(const ottr_buf *b)
{
    if (b->oom) {
        cli_error("out of memory");
        return CLI_EXIT_BADDATA;
    }
    if (b->len > 0 && fwrite(b->data, 1, b->len, stdout) != b->len)
        return CLI_EXIT_OK; /* a closed pipe (ottr ... | head) is not an error */
    fflush(stdout);
    return CLI_EXIT_OK;
}

static int render_width(const cli_opts *o)
{
    if (o->width > 0)
        return o->width;
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        int w = ws.ws_col;
        return w < CLI_MIN_WIDTH ? CLI_MIN_WIDTH : w > CLI_MAX_WIDTH ? CLI_MAX_WIDTH : w;
    }
    return CLI_DEFAULT_WIDTH;
}

/* GETs |path| (with its query) from ottrd's API at |base|. On success |resp|
 * holds a 2xx answer; otherwise the error has been printed and the exit code is
 * returned. A 404 is CLI_EXIT_NOTFOUND only when |notfound| is set (it is then the
 * caller's to report); otherwise a missing endpoint is a server error. */
static int get_from(const cli_opts *o, const char *base, const char *hint, const char *path,
                    bool notfound, cli_http_resp *resp)
{
    ottr_buf url = {0};
    ottr_buf_puts(&url, base);
    ottr_buf_puts(&url, path);
    if (url.oom) {
        ottr_buf_free(&url);
        cli_error("out of memory");
        return CLI_EXIT_BADDATA;
    }
    char err[ERRLEN];
    int rc = cli_http_request(o, "ottrd", hint, url.data, "application/json", NULL, NULL, NULL, 0,
                              resp, err, sizeof(err));
    if (rc != CLI_EXIT_OK) {
        cli_error("%s", err);
        ottr_buf_free(&url);
        return rc;
    }
    rc = cli_http_check(resp, url.data, err, sizeof(err));
    if (rc == CLI_EXIT_NOTFOUND && !notfound)
        rc = CLI_EXIT_SERVER;
    if (rc != CLI_EXIT_OK) {
        if (rc != CLI_EXIT_NOTFOUND)
            cli_error("%s", err);
        cli_http_resp_free(resp);
    }
    ottr_buf_free(&url);
    return rc;
}

static int get(const cli_opts *o, const char *path, bool notfound, cli_http_resp *resp)
{
    ottr_buf base = {0};
    cli_url_base(&base, o->server);
    int rc =
        base.oom ? CLI_EXIT_BADDATA : get_from(o, base.data, SERVER_HINT, path, notfound, resp);
    ottr_buf_free(&base);
    return rc;
}

static const char *body_of(const cli_http_resp *r)
{
    return r->body.data ? r->body.data : "";
}

/* Prints a JSON answer pretty; bad JSON is bad data. */
static int print_json(const char *body, size_t len, const char *what)
{
    char err[ERRLEN];
    struct json_object *doc = cli_json_parse(body, len, err, sizeof(err));
    if (doc == NULL) {
        cli_error("unparsable %s from ottrd: %s", what, err);
        return CLI_EXIT_BADDATA;
    }
    ottr_buf out = {0};
    ottr_buf_puts(&out, json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_SPACED |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    ottr_buf_putc(&out, '\n');
    json_object_put(doc);
    int rc = cli_write_stdout(&out);
    ottr_buf_free(&out);
    return rc;
}

int cli_read_file(const char *path, ottr_buf *out, char *err, size_t errlen)
{
    bool std_in = strcmp(path, "-") == 0;
    FILE *f = std_in ? stdin : fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && out->len <= MAX_FILE)
        ottr_buf_append(out, chunk, n);
    int failed = ferror(f);
    if (!std_in)
        fclose(f);
    if (out->len > MAX_FILE) {
        snprintf(err, errlen, "%s: over 1 GiB", path);
        return -1;
    }
    if (failed) {
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    if (out->oom) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ trace */

int cli_cmd_trace(const cli_opts *o)
{
    char err[ERRLEN], id[33] = "";
    cli_http_resp resp = {0};
    ottr_buf file = {0};
    const char *body;
    size_t len;
    if (o->file != NULL) {
        if (cli_read_file(o->file, &file, err, sizeof(err)) != 0) {
            cli_error("%s", err);
            ottr_buf_free(&file);
            return CLI_EXIT_BADDATA;
        }
        body = file.data ? file.data : "";
        len = file.len;
    } else {
        if (cli_trace_id_norm(o->args[0], id) != 0) {
            cli_error("invalid trace ID \"%s\" (want up to 32 hex digits)", o->args[0]);
            return CLI_EXIT_USAGE;
        }
        char path[64];
        snprintf(path, sizeof(path), "/api/traces/%s", id);
        int rc = get(o, path, true, &resp);
        if (rc == CLI_EXIT_NOTFOUND)
            cli_error("trace %s not found", id);
        if (rc != CLI_EXIT_OK)
            return rc;
        body = body_of(&resp);
        len = resp.body.len;
    }

    cli_trace *t = NULL;
    int rc = cli_trace_parse(body, len, &t, err, sizeof(err));
    if (rc != CLI_EXIT_OK) {
        cli_error("unparsable trace %s: %s", o->file ? o->file : "from ottrd", err);
    } else if (t->nspans == 0) {
        if (o->file)
            cli_error("%s: the trace has no spans", o->file);
        else
            cli_error("trace %s not found", id);
        rc = CLI_EXIT_NOTFOUND;
    } else {
        ottr_buf out = {0};
        if (o->json) {
            rc = cli_trace_to_otlp_json(body, len, &out, err, sizeof(err));
            if (rc != CLI_EXIT_OK)
                cli_error("%s", err);
        } else {
            cli_render_opts r = {render_width(o), o->color, o->attrs};
            cli_trace_render(t, &r, &out);
        }
        if (rc == CLI_EXIT_OK)
            rc = cli_write_stdout(&out);
        ottr_buf_free(&out);
    }
    cli_trace_free(t);
    cli_http_resp_free(&resp);
    ottr_buf_free(&file);
    return rc;
}

/* ------------------------------------------------------------------ search */

int cli_cmd_search(const cli_opts *o)
{
    char err[ERRLEN];
    ottr_buf path = {0};
    int rc = cli_search_path(o, &path, err, sizeof(err));
    if (rc != CLI_EXIT_OK) {
        cli_error("%s", err);
        ottr_buf_free(&path);
        return rc;
    }
    cli_http_resp resp;
    rc = get(o, path.data, false, &resp);
    ottr_buf_free(&path);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (o->json) {
        rc = print_json(body_of(&resp), resp.body.len, "search result");
    } else {
        ottr_buf out = {0};
        size_t n;
        cli_render_opts r = {render_width(o), o->color, false};
        rc = cli_search_render(body_of(&resp), resp.body.len, &r, &out, &n, err, sizeof(err));
        if (rc != CLI_EXIT_OK)
            cli_error("unparsable search result from ottrd: %s", err);
        else if (n == 0)
            fputs("no traces found\n", stderr);
        else
            rc = cli_write_stdout(&out);
        ottr_buf_free(&out);
    }
    cli_http_resp_free(&resp);
    return rc;
}

/* ------------------------------------------------------------------ services, operations */

/* Lists the values of a GET answer ({"tagValues"} or Jaeger's {"data"}). */
static int list_values(const cli_opts *o, const char *base, const char *hint, const char *path,
                       bool notfound, size_t *n)
{
    cli_http_resp resp;
    int rc = get_from(o, base, hint, path, notfound, &resp);
    if (rc != CLI_EXIT_OK)
        return rc;
    char err[ERRLEN];
    ottr_buf out = {0};
    rc = cli_tag_values_render(body_of(&resp), resp.body.len, o->json, &out, n, err, sizeof(err));
    if (rc != CLI_EXIT_OK)
        cli_error("unparsable list from ottrd: %s", err);
    else if (*n > 0 || o->json)
        rc = cli_write_stdout(&out);
    ottr_buf_free(&out);
    cli_http_resp_free(&resp);
    return rc;
}

int cli_cmd_services(const cli_opts *o)
{
    ottr_buf base = {0};
    cli_url_base(&base, o->server);
    size_t n = 0;
    int rc = base.oom ? CLI_EXIT_BADDATA
                      : list_values(o, base.data, SERVER_HINT,
                                    "/api/v2/search/tag/resource.service.name/values", false, &n);
    ottr_buf_free(&base);
    if (rc == CLI_EXIT_OK && n == 0 && !o->json)
        fputs("no services yet\n", stderr);
    return rc;
}

/* Span names come from the Jaeger API (/api/services/{service}/operations), the
 * one that lists them per service. */
int cli_cmd_operations(const cli_opts *o)
{
    ottr_buf base = {0}, path = {0};
    cli_jaeger_base(&base, o->jaeger_server, o->server);
    ottr_buf_puts(&path, "/api/services/");
    cli_url_escape(&path, o->args[0]);
    ottr_buf_puts(&path, "/operations");
    size_t n = 0;
    int rc = base.oom || path.oom ? CLI_EXIT_BADDATA
                                  : list_values(o, base.data, JAEGER_HINT, path.data, true, &n);
    if (rc == CLI_EXIT_OK && n == 0)
        rc = CLI_EXIT_NOTFOUND;
    if (rc == CLI_EXIT_NOTFOUND) {
        ottr_buf name = {0};
        cli_put_text(&name, o->args[0], 200);
        cli_error("no operations found for service \"%s\"", name.data ? name.data : "");
        ottr_buf_free(&name);
    }
    ottr_buf_free(&base);
    ottr_buf_free(&path);
    return rc;
}

/* ------------------------------------------------------------------ deps */

int cli_cmd_deps(const cli_opts *o)
{
    char path[128], err[ERRLEN];
    snprintf(path, sizeof(path), "/api/service-graph?start=%lld&end=%lld", (long long)o->start_s,
             (long long)o->end_s);
    cli_http_resp resp;
    int rc = get(o, path, false, &resp);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (o->json) {
        rc = print_json(body_of(&resp), resp.body.len, "service graph");
    } else {
        ottr_buf out = {0};
        size_t n;
        cli_render_opts r = {render_width(o), o->color, false};
        rc = cli_deps_render(body_of(&resp), resp.body.len, o->dot, &r, &out, &n, err, sizeof(err));
        if (rc != CLI_EXIT_OK)
            cli_error("unparsable service graph from ottrd: %s", err);
        else
            rc = cli_write_stdout(&out);
        if (rc == CLI_EXIT_OK && n == 0 && !o->dot)
            fputs("no calls between services in this time range\n", stderr);
        ottr_buf_free(&out);
    }
    cli_http_resp_free(&resp);
    return rc;
}
