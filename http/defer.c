/* http/defer.c - answers that come later: a handler copies its request out with
 * http_defer() and returns; another thread answers with http_respond_async(),
 * which queues the answer on the loop thread that owns the connection and wakes
 * it through its eventfd; the loop then sends it, unless the connection or
 * stream closed meanwhile. The server counts deferred requests so that
 * http_server_stop() frees nothing an answering thread still points to. */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/internal.h"

#define STOP_WAIT_LOG_MS 5000 /* http_defer_stop: warn this often while waiting */

/* Copies |s| (with its NUL) to |*p| and advances it. */
static const char *copy_str(char **p, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = memcpy(*p, s, n);
    *p += n;
    return d;
}

http_deferred *http_defer(const http_request *req)
{
    struct http_call *call = req->call;
    if (call == NULL || req->body_too_large)
        return NULL;
    if (call->deferred != NULL)
        return call->deferred;
    /* One allocation: the struct, the header array, then the strings and body. */
    size_t head = sizeof(http_deferred) + req->nheaders * sizeof(http_header);
    head = (head + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    size_t bytes = strlen(req->method) + strlen(req->path) + strlen(req->query) + 3 + req->body_len;
    for (size_t i = 0; i < req->nheaders; i++)
        bytes += strlen(req->headers[i].name) + strlen(req->headers[i].value) + 2;
    http_deferred *d = calloc(1, head + bytes);
    if (d == NULL)
        return NULL;
    http_header *hdrs = (http_header *)(d + 1);
    char *p = (char *)d + head;
    d->req = *req;
    d->req.call = NULL;
    d->req.method = copy_str(&p, req->method);
    d->req.path = copy_str(&p, req->path);
    d->req.query = copy_str(&p, req->query);
    for (size_t i = 0; i < req->nheaders; i++) {
        hdrs[i].name = copy_str(&p, req->headers[i].name);
        hdrs[i].value = copy_str(&p, req->headers[i].value);
    }
    d->req.headers = hdrs;
    d->req.deferred = d;
    if (req->body_len > 0) {
        memcpy(p, req->body, req->body_len);
        d->req.body = (const uint8_t *)p;
    }
    http_response_init(&d->resp);
    d->w = call->w;
    atomic_fetch_add(&d->w->srv->ndeferred, 1);
    call->deferred = d;
    return d;
}

const http_request *http_deferred_request(const http_deferred *d)
{
    return &d->req;
}

/* Frees |d| and its answer; the last touch of the server's memory. */
static void defer_free(http_deferred *d)
{
    http_server *s = d->w->srv;
    ottr_buf_free(&d->resp.body);
    free(d);
    atomic_fetch_sub(&s->ndeferred, 1);
}

/* Wakes |w|'s loop for what was just queued and releases |w->mu|. Written
 * under the lock: the eventfd stays open until the worker stops. */
static void wake_unlock(http_worker *w)
{
    uint64_t one = 1;
    if (write(w->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        OTTR_WARN("http", "%s: eventfd write: %s", w->srv->name, strerror(errno));
    pthread_mutex_unlock(&w->mu);
}

void http_respond_async(http_deferred *d, http_response *resp)
{
    http_worker *w = d->w;
    http_response_check(w->srv, resp);
    d->resp = *resp;
    memset(&resp->body, 0, sizeof(resp->body));
    pthread_mutex_lock(&w->mu);
    if (w->stopped) {
        pthread_mutex_unlock(&w->mu);
        defer_free(d);
        return;
    }
    d->done_next = NULL;
    if (w->done_tail)
        w->done_tail->done_next = d;
    else
        w->done_head = d;
    w->done_tail = d;
    wake_unlock(w);
}

/* A streamed piece of a deferred answer, queued for the loop thread. */
typedef struct http_chunk {
    struct http_chunk *next;
    http_deferred *d;
    http_response head; /* body empty */
    size_t len;
    uint8_t data[];
} http_chunk;

int http_stream_push(http_deferred *d, const http_response *head, const void *data, size_t len)
{
    if (!d->req.http2)
        return -1;
    http_worker *w = d->w;
    http_chunk *ch = malloc(sizeof(*ch) + len);
    if (ch == NULL)
        return -1;
    ch->next = NULL;
    ch->d = d;
    ch->head = *head;
    memset(&ch->head.body, 0, sizeof(ch->head.body));
    ch->len = len;
    if (len > 0)
        memcpy(ch->data, data, len);
    pthread_mutex_lock(&w->mu);
    if (w->stopped) {
        pthread_mutex_unlock(&w->mu);
        free(ch);
        return 0;
    }
    if (w->chunk_tail)
        w->chunk_tail->next = ch;
    else
        w->chunk_head = ch;
    w->chunk_tail = ch;
    wake_unlock(w);
    return 0;
}

static void free_chunks(http_chunk *ch)
{
    while (ch != NULL) {
        http_chunk *next = ch->next;
        free(ch);
        ch = next;
    }
}

void http_defer_attach(http_deferred *d, http_conn *c, int32_t stream_id, int keep, int head_only)
{
    d->conn = c;
    d->stream_id = stream_id;
    d->keep = keep;
    d->head_only = head_only;
    d->cprev = NULL;
    d->cnext = c->deferred;
    if (c->deferred)
        c->deferred->cprev = d;
    c->deferred = d;
    c->ndeferred++;
}

static void defer_detach(http_deferred *d)
{
    http_conn *c = d->conn;
    if (d->cprev)
        d->cprev->cnext = d->cnext;
    else
        c->deferred = d->cnext;
    if (d->cnext)
        d->cnext->cprev = d->cprev;
    c->ndeferred--;
    d->conn = NULL;
}

void http_defer_conn_closed(http_conn *c)
{
    while (c->deferred != NULL)
        defer_detach(c->deferred);
}

void http_defer_deliver(http_worker *w)
{
    pthread_mutex_lock(&w->mu);
    http_deferred *d = w->done_head;
    w->done_head = w->done_tail = NULL;
    http_chunk *ch = w->chunk_head;
    w->chunk_head = w->chunk_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    /* Streamed pieces first: an answer's pieces were queued before it, and its
     * deferred request lives until the answer is delivered below. */
    for (http_chunk *k = ch; k != NULL; k = k->next) {
        http_conn *c = k->d->conn;
        if (c != NULL && c->proto == HTTP_PROTO_H2) {
            http_h2_push(c, k->d, &k->head, k->data, k->len);
            http_conn_flush(c); /* when it closes, k->d->conn becomes NULL */
        }
    }
    free_chunks(ch);
    while (d != NULL) {
        http_deferred *next = d->done_next;
        http_conn *c = d->conn;
        if (c != NULL) {
            defer_detach(d);
            int rc = 0;
            if (c->proto == HTTP_PROTO_H2)
                http_h2_resume(c, d);
            else
                rc = http_h1_resume(c, d);
            if (rc != 0)
                http_conn_close(c);
            else
                http_conn_flush(c);
        }
        defer_free(d);
        d = next;
    }
}

void http_defer_stop(http_server *s)
{
    for (int i = 0; i < s->ninit; i++) {
        http_worker *w = &s->workers[i];
        pthread_mutex_lock(&w->mu);
        w->stopped = 1;
        http_deferred *d = w->done_head;
        w->done_head = w->done_tail = NULL;
        http_chunk *ch = w->chunk_head;
        w->chunk_head = w->chunk_tail = NULL;
        pthread_mutex_unlock(&w->mu);
        free_chunks(ch);
        while (d != NULL) {
            http_deferred *next = d->done_next;
            defer_free(d);
            d = next;
        }
    }
    uint64_t since = http_now_ms();
    while (atomic_load(&s->ndeferred) > 0) {
        if (http_now_ms() - since >= STOP_WAIT_LOG_MS) {
            OTTR_WARN("http", "%s: waiting for %u deferred answers", s->name,
                      atomic_load(&s->ndeferred));
            since = http_now_ms();
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}
