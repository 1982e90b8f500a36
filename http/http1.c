/* http/http1.c - the HTTP/1.1 side of the HTTP server: http-parser callbacks
 * assemble each request (keep-alive, Content-Length and chunked bodies, pipelining,
 * Expect: 100-continue), call the handler and queue the response. A deferred
 * request pauses the parser: the bytes after it are held back, and reading
 * stops, until its answer is queued, so that answers keep the requests' order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

#define H1_COPY_BODY_MAX (16 * 1024) /* smaller response bodies are copied */
#define H1_RESERVE_MAX   (1024 * 1024)

enum { HS_URL = 0, HS_NAME = 1, HS_VALUE = 2 };

static void h1_answer(http_conn *c, int force_close);

/* Appends header-section bytes, enforcing the size limit. Returns 0 or -1. */
static int h1_hdr_add(http_h1 *h, const char *p, size_t n)
{
    if (h->rb.hdr.len + n > HTTP_MAX_HEADER_BYTES || memchr(p, '\0', n) != NULL) {
        h->rb.bad = 1;
        return -1;
    }
    ottr_buf_append(&h->rb.hdr, p, n);
    return h->rb.hdr.oom ? -1 : 0;
}

/* Ends the current url, name or value with a NUL. */
static int h1_hdr_end(http_h1 *h)
{
    ottr_buf *b = &h->rb.hdr;
    if (h->hstate == HS_VALUE)
        while (b->len > 0 && (b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
            b->len--;
    if (h->hstate == HS_NAME)
        ottr_buf_putc(b, '\0'); /* a name without a value */
    ottr_buf_putc(b, '\0');
    return b->oom ? -1 : 0;
}

static int on_message_begin(http_parser *p)
{
    http_conn *c = p->data;
    http_h1 *h = &c->h1;
    http_reqbuf_reset(&h->rb);
    h->in_message = 1;
    h->headers_done = 0;
    h->hstate = HS_URL;
    h->answered = 0;
    h->borrow = NULL;
    h->borrow_len = 0;
    http_reqclock_start(&h->clock, http_now_ms());
    ottr_buf_append(&h->rb.hdr, ":path", 6); /* with its NUL */
    return h->rb.hdr.oom ? -1 : 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    return h1_hdr_add(&c->h1, at, n);
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    http_h1 *h = &c->h1;
    if (h->headers_done)
        return 0; /* trailers are not kept */
    if (h->hstate != HS_NAME) {
        if (h1_hdr_end(h) != 0)
            return -1;
        if (++h->rb.nheaders > HTTP_MAX_HEADERS) {
            h->rb.bad = 1;
            return -1;
        }
        h->hstate = HS_NAME;
    }
    size_t start = h->rb.hdr.len;
    if (h1_hdr_add(h, at, n) != 0)
        return -1;
    for (size_t i = start; i < h->rb.hdr.len; i++)
        if (h->rb.hdr.data[i] >= 'A' && h->rb.hdr.data[i] <= 'Z')
            h->rb.hdr.data[i] += 'a' - 'A';
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    http_h1 *h = &c->h1;
    if (h->headers_done)
        return 0;
    if (h->hstate == HS_NAME) {
        ottr_buf_putc(&h->rb.hdr, '\0');
        h->hstate = HS_VALUE;
    }
    return h1_hdr_add(h, at, n);
}

static int on_headers_complete(http_parser *p)
{
    http_conn *c = p->data;
    http_h1 *h = &c->h1;
    if (h1_hdr_end(h) != 0)
        return -1;
    h->headers_done = 1;
    http_reqclock_body(&h->clock, http_now_ms(), c->rx_bytes);
    size_t max = c->w->srv->o.max_body_bytes;
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > max) {
        /* Decided before reading the body: answer now and close. */
        h->rb.too_large = 1;
        h1_answer(c, 1);
        return 0;
    }
    int has_body =
        (p->flags & F_CHUNKED) || ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
    const char *expect = http_reqbuf_find(&h->rb, "expect");
    if (has_body && expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
        p->http_major == 1 && p->http_minor >= 1) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (http_out_append(&c->out, cont, sizeof(cont) - 1) != 0)
            c->fatal = 1;
    }
    return 0;
}

/* Copies body bytes still in the read buffer into the body buffer. */
static int h1_unborrow(http_conn *c)
{
    http_h1 *h = &c->h1;
    if (h->borrow == NULL)
        return 0;
    size_t max = c->w->srv->o.max_body_bytes;
    if (h->rb.body.cap == 0 && (h->parser.flags & F_CONTENTLENGTH)) {
        /* The whole announced body, up to a first reservation. */
        size_t want = h->borrow_len + (size_t)h->parser.content_length;
        if (want > H1_RESERVE_MAX)
            want = H1_RESERVE_MAX;
        if (want > max)
            want = max;
        if (http_body_reserve(&h->rb.body, want) != 0)
            return -1;
    }
    int rc = http_body_append(&h->rb.body, h->borrow, h->borrow_len, max);
    h->borrow = NULL;
    h->borrow_len = 0;
    return rc;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    http_conn *c = p->data;
    http_h1 *h = &c->h1;
    if (h->answered)
        return 0;
    size_t max = c->w->srv->o.max_body_bytes;
    size_t have = h->rb.body.len + h->borrow_len;
    if (n > max - have) {
        h->rb.too_large = 1;
        h1_answer(c, 1);
        return 0;
    }
    if (h->borrow == NULL && h->rb.body.len == 0) {
        h->borrow = (const uint8_t *)at;
        h->borrow_len = n;
        return 0;
    }
    if (h1_unborrow(c) != 0 || http_body_append(&h->rb.body, at, n, max) != 0) {
        c->fatal = 1;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_conn *c = p->data;
    http_h1 *h = &c->h1;
    if (!h->answered)
        h1_answer(c, 0);
    h->in_message = 0;
    h->borrow = NULL;
    h->borrow_len = 0;
    http_body_reset(&h->rb.body);
    return 0;
}

static const http_parser_settings h1_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* 1 for headers the server writes itself. */
static int h1_reserved_header(const char *name)
{
    return strcasecmp(name, "content-length") == 0 || strcasecmp(name, "connection") == 0 ||
           strcasecmp(name, "transfer-encoding") == 0 || strcasecmp(name, "date") == 0 ||
           strcasecmp(name, "content-type") == 0;
}

/* Queues |resp| (and frees its body). */
static void h1_queue_response(http_conn *c, http_response *resp, int keep, int head_only)
{
    http_worker *w = c->w;
    char head[2048];
    size_t n = 0;
    int status = resp->status;
    int no_body = status == 204 || status == 304;
    http_worker_date(w);
#define H1_PUT(...)                                                                                \
    do {                                                                                           \
        int k_ = snprintf(head + n, sizeof(head) - n, __VA_ARGS__);                                \
        if (k_ > 0)                                                                                \
            n += (size_t)k_ < sizeof(head) - n ? (size_t)k_ : sizeof(head) - n - 1;                \
    } while (0)
    H1_PUT("HTTP/1.1 %d %s\r\n%s", status, http_status_reason(status), w->date);
    if (!no_body)
        H1_PUT("Content-Type: %s\r\nContent-Length: %zu\r\n", resp->content_type, resp->body.len);
    if (!keep)
        H1_PUT("Connection: close\r\n");
    else if (c->h1.parser.http_major == 1 && c->h1.parser.http_minor == 0)
        H1_PUT("Connection: keep-alive\r\n");
    for (int i = 0; i < resp->nextra && i < HTTP_MAX_EXTRA_HEADERS; i++)
        if (!h1_reserved_header(resp->extra_name[i]))
            H1_PUT("%s: %s\r\n", resp->extra_name[i], resp->extra_value[i]);
    H1_PUT("\r\n");
#undef H1_PUT
    int rc = http_out_append(&c->out, head, n);
    if (rc == 0 && !no_body && !head_only && resp->body.len > 0) {
        if (resp->body.len <= H1_COPY_BODY_MAX) {
            rc = http_out_append(&c->out, resp->body.data, resp->body.len);
        } else {
            size_t len;
            char *data = ottr_buf_detach(&resp->body, &len);
            rc = http_out_take(&c->out, data, len);
        }
    }
    ottr_buf_free(&resp->body);
    if (rc != 0)
        c->fatal = 1;
}

/* Calls the handler for the current message and queues its answer. */
static void h1_answer(http_conn *c, int force_close)
{
    http_h1 *h = &c->h1;
    http_response resp;
    http_deferred *d;
    const char *method = http_method_str((enum http_method)h->parser.method);
    h->answered = 1;
    http_call_handler(c, method, &h->rb, h->borrow, h->borrow_len, 0, &resp, &d);
    h->borrow = NULL;
    h->borrow_len = 0;
    int keep = !force_close && !c->w->draining && http_should_keep_alive(&h->parser) &&
               h->parser.method != HTTP_CONNECT;
    if (d != NULL) {
        /* Nothing more is parsed or read until the answer is queued. */
        http_defer_attach(d, c, 0, keep, h->parser.method == HTTP_HEAD);
        c->held = 1;
        if (!c->read_paused) {
            event_del(&c->rev);
            c->read_paused = 1;
        }
        http_parser_pause(&h->parser, 1);
        return;
    }
    h1_queue_response(c, &resp, keep, h->parser.method == HTTP_HEAD);
    if (!keep) {
        c->closing = 1;
        http_parser_pause(&h->parser, 1);
    }
}

void http_h1_bad_request(http_conn *c, int status)
{
    if (c->closing)
        return;
    http_server *s = c->w->srv;
    ottr_counter_add(s->m_bad, 1);
    OTTR_DEBUG("http", "%s: answering %d and closing", s->name, status);
    http_response resp;
    http_response_init(&resp);
    resp.status = status;
    ottr_buf_puts(&resp.body, status == 408 ? "request timeout\n" : "bad request\n");
    h1_queue_response(c, &resp, 0, 0);
    c->closing = 1;
}

void http_h1_check(http_conn *c, uint64_t now)
{
    http_h1 *h = &c->h1;
    if (!h->in_message || h->answered || c->closing)
        return;
    const http_limits *l = &c->w->srv->lim;
    /* Not read while the client does not take its answers: not a slow body. */
    if (c->read_paused && h->headers_done)
        http_reqclock_body(&h->clock, now, c->rx_bytes);
    int late = http_reqclock_check(l, &h->clock, c->rx_bytes, now);
    if (late == HTTP_LATE_NO && !h->headers_done && now - h->clock.start_ms >= l->header_timeout_ms)
        late = HTTP_LATE_TIMEOUT;
    if (late == HTTP_LATE_NO)
        return;
    http_count_late(c->w->srv, late, "HTTP/1.1");
    http_h1_bad_request(c, 408);
}

void http_h1_start(http_conn *c)
{
    http_parser_init(&c->h1.parser, HTTP_REQUEST);
    c->h1.parser.data = c;
}

int http_h1_feed(http_conn *c, const uint8_t *data, size_t n)
{
    http_h1 *h = &c->h1;
    while (n > 0 && !c->closing && !c->fatal) {
        size_t np = http_parser_execute(&h->parser, &h1_settings, (const char *)data, n);
        if (h1_unborrow(c) != 0)
            c->fatal = 1;
        enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
        if (c->held && !c->fatal && np < n) {
            /* After a deferred request: keep the rest for later. */
            h->held = malloc(n - np);
            if (h->held == NULL) {
                c->fatal = 1;
                break;
            }
            memcpy(h->held, data + np, n - np);
            h->held_len = n - np;
        }
        if (e == HPE_PAUSED || c->fatal)
            break;
        if (e != HPE_OK) {
            OTTR_DEBUG("http", "%s: bad HTTP/1.1 request: %s", c->w->srv->name,
                       http_errno_description(e));
            http_h1_bad_request(c, 400);
            break;
        }
        if (np >= n || !h->parser.upgrade)
            break;
        /* An Upgrade request that is not taken up: go on with HTTP/1.1. */
        data += np;
        n -= np;
    }
    return c->fatal ? -1 : 0;
}

int http_h1_resume(http_conn *c, http_deferred *d)
{
    http_h1 *h = &c->h1;
    uint8_t *held = h->held;
    size_t held_len = h->held_len;
    h->held = NULL;
    h->held_len = 0;
    c->held = 0;
    h1_queue_response(c, &d->resp, d->keep, d->head_only);
    int rc = 0;
    if (!d->keep) {
        c->closing = 1; /* the parser stays paused; what was held is dropped */
    } else {
        http_parser_pause(&h->parser, 0);
        if (held != NULL)
            rc = http_h1_feed(c, held, held_len);
    }
    free(held);
    return rc;
}

int http_h1_idle(const http_conn *c)
{
    return !c->h1.in_message;
}

void http_h1_free(http_conn *c)
{
    http_reqbuf_free(&c->h1.rb);
    free(c->h1.held);
    c->h1.held = NULL;
}
