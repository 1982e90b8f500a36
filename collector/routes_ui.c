/* collector/routes_ui.c - the web UI on the query port: GET / is the page,
 * GET /ui/NAME its scripts and styles, all embedded in the binary (ui/ui.h).
 * Sent gzip-compressed when the client takes it, with a strong ETag
 * (If-None-Match answers 304) and a Content-Security-Policy that lets the page
 * talk to its own origin only. */
#include <string.h>

#include "collector/collector.h"
#include "ui/ui.h"

/* The policy keeps every fetch, script, style and image on this origin. */
#define UI_CSP "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"

int collector_routes_ui_path(const char *path)
{
    return strcmp(path, "/") == 0 || strncmp(path, "/ui/", 4) == 0;
}

int collector_routes_ui(const http_request *req, http_response *resp)
{
    const char *path = req->path;
    if (!collector_routes_ui_path(path))
        return 0;
    const ui_asset *a = ui_asset_find(strcmp(path, "/") == 0 ? "/index.html" : path + 3);
    if (a == NULL) {
        resp->status = 404;
        http_response_set_type(resp, "text/plain; charset=utf-8");
        ottr_buf_puts(&resp->body, "404 page not found\n");
        return 1;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        http_response_set_header(resp, "Allow", "GET, HEAD");
        resp->status = 405;
        ottr_buf_puts(&resp->body, "method not allowed: use GET\n");
        return 1;
    }
    http_response_set_header(resp, "ETag", a->etag);
    http_response_set_header(resp, "Cache-Control", "no-cache");
    http_response_set_header(resp, "Vary", "Accept-Encoding");
    http_response_set_header(resp, "X-Content-Type-Options", "nosniff");
    http_response_set_header(resp, "Content-Security-Policy", UI_CSP);
    http_response_set_header(resp, "Referrer-Policy", "no-referrer");
    http_response_set_type(resp, a->type);
    if (ui_etag_matches(http_request_header(req, "if-none-match"), a->etag)) {
        resp->status = 304;
        return 1;
    }
    resp->status = 200;
    if (a->gz && ui_accepts_gzip(http_request_header(req, "accept-encoding"))) {
        http_response_set_header(resp, "Content-Encoding", "gzip");
        ottr_buf_append(&resp->body, a->gz, a->gzlen);
    } else {
        ottr_buf_append(&resp->body, a->data, a->len);
    }
    return 1;
}
