/* collector/routes_admin.c - routes of the admin port (admin.addr, loopback by
 * default): POST /api/admin/checkpoint?name=NAME writes a checkpoint of the store
 * into admin.backup_dir/NAME, never anywhere else; /ready, /health and /metrics
 * as on the query port. */
#include <stdio.h>
#include <string.h>

#include "collector/collector.h"
#include "query/query.h"

#define NAME_MAX_LEN 128

static void reply_text(http_response *resp, int status, const char *msg)
{
    ottr_buf_reset(&resp->body);
    resp->status = status;
    http_response_set_type(resp, "text/plain; charset=utf-8");
    ottr_buf_puts(&resp->body, msg);
    ottr_buf_putc(&resp->body, '\n');
}

/* 1 when |name| is a plain directory name: [A-Za-z0-9._-]+, not starting with a
 * dot, at most NAME_MAX_LEN bytes. */
int collector_backup_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* On a query thread: the checkpoint itself. */
static void admin_checkpoint(void *ctx, const http_request *req, http_response *resp,
                             const query_budget *b)
{
    (void)b;
    ottrd_query_ctx *q = ctx;
    char name[NAME_MAX_LEN + 2], dir[4096];
    http_param_err e;
    if (http_param_str(req, "dir", 0, dir, sizeof(dir), NULL) != 0) {
        reply_text(resp, 400,
                   "checkpoints are written under admin.backup_dir: give name=NAME, not dir");
        return;
    }
    int r = http_param_str(req, "name", 0, name, sizeof(name), &e);
    if (r == 0) {
        reply_text(resp, 400, "parameter 'name' is required");
        return;
    }
    if (r < 0 || !collector_backup_name_ok(name)) {
        reply_text(resp, 400,
                   "invalid name: want 1 to 128 of A-Z a-z 0-9 . _ -, not starting with a dot");
        return;
    }
    int n = snprintf(dir, sizeof(dir), "%s/%s", q->backup_dir, name);
    if (n < 0 || (size_t)n >= sizeof(dir)) {
        reply_text(resp, 400, "invalid name: the path is too long");
        return;
    }
    char err[QUERY_ERRLEN];
    ottr_status st = query_admin_checkpoint(q->st, dir, &resp->body, err, sizeof(err));
    if (st != OTTR_OK) {
        reply_text(resp, collector_routes_http_status(st), err);
        return;
    }
    OTTR_INFO("collector", "checkpoint written to %s", dir);
    resp->status = 200;
    http_response_set_type(resp, "application/json");
}

static void admin_refuse(const http_request *req, http_response *resp, int status, const char *msg)
{
    (void)req;
    reply_text(resp, status, msg);
}

void collector_routes_admin_handle(void *ctx, const http_request *req, http_response *resp)
{
    ottrd_query_ctx *q = ctx;
    const char *path = req->path;
    if (strcmp(path, "/ready") == 0 || strcmp(path, "/health") == 0 ||
        strcmp(path, "/metrics") == 0) {
        collector_routes_tempo_handle(ctx, req, resp);
        return;
    }
    if (strcmp(path, "/api/admin/checkpoint") != 0) {
        reply_text(resp, 404, "404 page not found");
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        http_response_set_header(resp, "Allow", "POST");
        reply_text(resp, 405, "method not allowed: use POST");
        return;
    }
    collector_query_pool_submit(q->pool, req, resp, admin_checkpoint, admin_refuse, q);
}
