/* http/http2.c - the HTTP/2 (h2c, prior knowledge) side of the HTTP server:
 * an nghttp2 server session per connection fed from memory, one stream object per
 * request (reused), answers submitted with a data provider over the body. A
 * deferred stream stays open, its answer submitted when it arrives; the other
 * streams go on meanwhile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

#define H2_MAX_STREAMS   100
#define H2_STREAM_WINDOW (1 << 20)
#define H2_CONN_WINDOW   (16 << 20)
#define H2_KEEP_FREE     16 /* stream objects kept for reuse per connection */
#define H2_RESERVE_MAX   (1024 * 1024)

typedef struct h2_stream {
    struct h2_stream *prev, *next;
    int32_t id;
    int answered;     /* a response was submitted */
    int complete;     /* the request ended (END_STREAM) */
    int early;        /* answered before the request ended */
    int reset;        /* RST_STREAM submitted */
    int cut;          /* answered 408 before the request ended: reset once it is sent */
    int waiting;      /* deferred: the answer is yet to come */
    size_t discarded; /* request bytes dropped after an early answer */
    uint64_t clen;    /* the request's content-length, 0 when none */
    uint64_t rx;      /* request body bytes received */
    http_reqclock clock;
    http_reqbuf rb;
    char *resp; /* response body, owned */
    size_t resp_len;
    size_t resp_off;
    int streaming;  /* the answer is being streamed (http_h2_push) */
    int stream_end; /* ... and its last piece is in */
    int ntrailers;  /* sent after the body (gRPC status) */
    char trailer_name[HTTP_MAX_TRAILERS][16];
    char trailer_value[HTTP_MAX_TRAILERS][256];
} h2_stream;

struct http_h2 {
    nghttp2_session *session;
    h2_stream *active; /* doubly linked */
    h2_stream *free_list;
    int nfree;
    size_t buffered; /* request body bytes held over all streams */
    int goaway;
    uint64_t idle_since_ms; /* when the last stream closed (or the session began) */
};

/* Request bodies buffered at once on one connection. */
static size_t h2_budget(const http_server *s)
{
    size_t b = s->o.max_body_bytes * 2;
    return b < (64u << 20) ? (64u << 20) : b;
}

static h2_stream *h2_stream_get(nghttp2_session *session, int32_t id)
{
    return nghttp2_session_get_stream_user_data(session, id);
}

static void h2_stream_release(http_h2 *h2, h2_stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        h2->active = st->next;
    if (st->next)
        st->next->prev = st->prev;
    h2->buffered -= st->rb.body.len;
    free(st->resp);
    st->resp = NULL;
    st->resp_len = st->resp_off = 0;
    if (h2->nfree >= H2_KEEP_FREE) {
        http_reqbuf_free(&st->rb);
        free(st);
        return;
    }
    http_reqbuf_reset(&st->rb);
    st->next = h2->free_list;
    h2->free_list = st;
    h2->nfree++;
}

#define H2_NV(n, v, vlen)                                                                          \
    ((nghttp2_nv){(uint8_t *)(n), (uint8_t *)(v), strlen(n), (vlen), NGHTTP2_NV_FLAG_NONE})

static ssize_t h2_read_body(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)ud;
    h2_stream *st = src->ptr;
    size_t n = st->resp_len - st->resp_off;
    if (n > length)
        n = length;
    if (n > 0)
        memcpy(buf, st->resp + st->resp_off, n);
    st->resp_off += n;
    if (st->resp_off == st->resp_len && st->streaming && !st->stream_end)
        return n > 0 ? (ssize_t)n : NGHTTP2_ERR_DEFERRED; /* more to come */
    if (st->resp_off == st->resp_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (st->ntrailers > 0) {
            /* The trailers end the stream; nghttp2 copies them. */
            nghttp2_nv nva[HTTP_MAX_TRAILERS];
            for (int i = 0; i < st->ntrailers; i++)
                nva[i] =
                    H2_NV(st->trailer_name[i], st->trailer_value[i], strlen(st->trailer_value[i]));
            if (nghttp2_submit_trailer(session, id, nva, (size_t)st->ntrailers) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

/* 1 for headers the server writes itself or HTTP/2 forbids. */
static int h2_reserved_header(const char *name)
{
    static const char *const names[] = {
        "content-length",   "content-type",      "connection", "keep-alive",
        "proxy-connection", "transfer-encoding", "upgrade",    "date"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* The stream is answered (or will be): its request body is no longer needed. */
static void h2_drop_body(http_h2 *h2, h2_stream *st)
{
    st->answered = 1;
    h2->buffered -= st->rb.body.len;
    http_body_reset(&st->rb.body);
}

/* Appends |n| bytes to what |st| has left to send. Returns 0 or -1 (out of memory). */
static int h2_append(h2_stream *st, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (st->resp_off > 0) { /* drop what was sent */
        memmove(st->resp, st->resp + st->resp_off, st->resp_len - st->resp_off);
        st->resp_len -= st->resp_off;
        st->resp_off = 0;
    }
    char *nb = realloc(st->resp, st->resp_len + n);
    if (nb == NULL)
        return -1;
    memcpy(nb + st->resp_len, p, n);
    st->resp = nb;
    st->resp_len += n;
    return 0;
}

/* Submits |resp| on |st| (frees or keeps its body). With |streaming|, only
 * the headers: the body follows from st->resp as it is appended. */
static void h2_submit(http_conn *c, h2_stream *st, http_response *resp, int head_only,
                      int streaming)
{
    http_h2 *h2 = c->h2;
    nghttp2_nv nva[4 + HTTP_MAX_EXTRA_HEADERS + HTTP_MAX_TRAILERS];
    char lname[HTTP_MAX_EXTRA_HEADERS][sizeof(resp->extra_name[0])];
    char status[8], clen[24];
    size_t nnv = 0;
    int no_body = resp->status == 204 || resp->status == 304;
    /* Trailers follow a body; without one they are sent as headers. */
    int trailers_only = resp->ntrailers > 0 && (resp->body.len == 0 || head_only);

    snprintf(status, sizeof(status), "%d", resp->status);
    nva[nnv++] = H2_NV(":status", status, strlen(status));
    if (!no_body) {
        snprintf(clen, sizeof(clen), "%zu", resp->body.len);
        nva[nnv++] = H2_NV("content-type", resp->content_type, strlen(resp->content_type));
        if (resp->ntrailers == 0 && !streaming)
            nva[nnv++] = H2_NV("content-length", clen, strlen(clen));
    }
    for (int i = 0; i < resp->nextra && i < HTTP_MAX_EXTRA_HEADERS; i++) {
        if (h2_reserved_header(resp->extra_name[i]))
            continue;
        size_t k;
        for (k = 0; resp->extra_name[i][k] && k + 1 < sizeof(lname[i]); k++) {
            char ch = resp->extra_name[i][k];
            lname[i][k] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 'a' - 'A') : ch;
        }
        lname[i][k] = '\0';
        nva[nnv++] = H2_NV(lname[i], resp->extra_value[i], strlen(resp->extra_value[i]));
    }
    st->ntrailers = 0;
    for (int i = 0; i < resp->ntrailers && i < HTTP_MAX_TRAILERS; i++) {
        if (trailers_only) {
            nva[nnv++] = H2_NV(resp->trailer_name[i], resp->trailer_value[i],
                               strlen(resp->trailer_value[i]));
            continue;
        }
        memcpy(st->trailer_name[i], resp->trailer_name[i], sizeof(st->trailer_name[i]));
        memcpy(st->trailer_value[i], resp->trailer_value[i], sizeof(st->trailer_value[i]));
        st->ntrailers++;
    }

    nghttp2_data_provider prd, *pprd = NULL;
    if (streaming) {
        prd.source.ptr = st;
        prd.read_callback = h2_read_body;
        pprd = &prd;
    } else if (!no_body && !head_only && resp->body.len > 0) {
        st->resp = ottr_buf_detach(&resp->body, &st->resp_len);
        st->resp_off = 0;
        prd.source.ptr = st;
        prd.read_callback = h2_read_body;
        pprd = &prd;
    }
    ottr_buf_free(&resp->body);
    h2_drop_body(h2, st);
    if (nghttp2_submit_response(h2->session, st->id, nva, nnv, pprd) != 0) {
        free(st->resp);
        st->resp = NULL;
        st->resp_len = st->resp_off = 0;
        nghttp2_submit_rst_stream(h2->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    }
}

static void h2_answer(http_conn *c, h2_stream *st)
{
    http_response resp;
    const char *m = http_reqbuf_find(&st->rb, ":method");
    int head_only = m != NULL && strcmp(m, "HEAD") == 0;
    http_deferred *d;
    http_call_handler(c, NULL, &st->rb, NULL, 0, 1, &resp, &d);
    if (d != NULL) {
        http_defer_attach(d, c, st->id, 1, head_only);
        st->waiting = 1;
        h2_drop_body(c->h2, st);
        return;
    }
    h2_submit(c, st, &resp, head_only, 0);
}

void http_h2_resume(http_conn *c, http_deferred *d)
{
    h2_stream *st = h2_stream_get(c->h2->session, d->stream_id);
    if (st == NULL || !st->waiting)
        return; /* reset by the client meanwhile */
    st->waiting = 0;
    if (!st->streaming) {
        h2_submit(c, st, &d->resp, d->head_only, 0);
        return;
    }
    /* The rest of a streamed answer, then its trailers. */
    http_response *r = &d->resp;
    st->ntrailers = 0;
    for (int i = 0; i < r->ntrailers && i < HTTP_MAX_TRAILERS; i++) {
        memcpy(st->trailer_name[i], r->trailer_name[i], sizeof(st->trailer_name[i]));
        memcpy(st->trailer_value[i], r->trailer_value[i], sizeof(st->trailer_value[i]));
        st->ntrailers++;
    }
    st->stream_end = 1;
    if (h2_append(st, r->body.data, r->body.len) != 0) {
        nghttp2_submit_rst_stream(c->h2->session, NGHTTP2_FLAG_NONE, st->id,
                                  NGHTTP2_INTERNAL_ERROR);
        return;
    }
    nghttp2_session_resume_data(c->h2->session, st->id);
}

void http_h2_push(http_conn *c, http_deferred *d, const http_response *head, const uint8_t *data,
                  size_t len)
{
    h2_stream *st = h2_stream_get(c->h2->session, d->stream_id);
    if (st == NULL || !st->waiting || d->head_only)
        return;
    if (h2_append(st, data, len) != 0) {
        nghttp2_submit_rst_stream(c->h2->session, NGHTTP2_FLAG_NONE, st->id,
                                  NGHTTP2_INTERNAL_ERROR);
        return;
    }
    if (st->streaming) {
        nghttp2_session_resume_data(c->h2->session, st->id);
        return;
    }
    st->streaming = 1;
    http_response h = *head;
    memset(&h.body, 0, sizeof(h.body));
    h.ntrailers = 0;
    h2_submit(c, st, &h, 0, 1);
}

static void h2_bad(http_conn *c, h2_stream *st)
{
    http_server *s = c->w->srv;
    ottr_counter_add(s->m_bad, 1);
    OTTR_DEBUG("http", "%s: HTTP/2 request header section over the limits", s->name);
    http_response resp;
    http_response_init(&resp);
    resp.status = 400;
    ottr_buf_puts(&resp.body, "bad request\n");
    h2_submit(c, st, &resp, 0, 0);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    http_conn *c = ud;
    http_h2 *h2 = c->h2;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    h2_stream *st = h2->free_list;
    if (st != NULL) {
        h2->free_list = st->next;
        h2->nfree--;
    } else {
        st = calloc(1, sizeof(*st));
        if (st == NULL)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    st->id = frame->hd.stream_id;
    st->answered = 0;
    st->complete = 0;
    st->rx = 0;
    http_reqclock_start(&st->clock, http_now_ms());
    st->early = 0;
    st->reset = 0;
    st->cut = 0;
    st->waiting = 0;
    st->streaming = 0;
    st->stream_end = 0;
    st->discarded = 0;
    st->clen = 0;
    st->prev = NULL;
    st->next = h2->active;
    if (h2->active)
        h2->active->prev = st;
    h2->active = st;
    nghttp2_session_set_stream_user_data(session, st->id, st);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)flags, (void)ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers are not kept */
    h2_stream *st = h2_stream_get(session, frame->hd.stream_id);
    if (st == NULL || st->rb.bad)
        return 0;
    http_reqbuf *rb = &st->rb;
    const char *n = (const char *)name;
    if (namelen > 0 && n[0] == ':') {
        if (namelen == 10 && memcmp(n, ":authority", 10) == 0) {
            n = "host";
            namelen = 4;
        } else if (!(namelen == 5 && memcmp(n, ":path", 5) == 0) &&
                   !(namelen == 7 && memcmp(n, ":method", 7) == 0)) {
            return 0;
        }
    } else if (++rb->nheaders > HTTP_MAX_HEADERS) {
        rb->bad = 1;
        return 0;
    }
    if (rb->hdr.len + namelen + valuelen + 2 > HTTP_MAX_HEADER_BYTES) {
        rb->bad = 1;
        return 0;
    }
    ottr_buf_append(&rb->hdr, n, namelen);
    ottr_buf_putc(&rb->hdr, '\0');
    ottr_buf_append(&rb->hdr, value, valuelen);
    ottr_buf_putc(&rb->hdr, '\0');
    return rb->hdr.oom ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                              const uint8_t *data, size_t len, void *ud)
{
    (void)flags;
    http_conn *c = ud;
    http_h2 *h2 = c->h2;
    h2_stream *st = h2_stream_get(session, stream_id);
    if (st == NULL)
        return 0;
    st->rx += len;
    if (st->answered) {
        /* Discarded; flow control is still credited. Some clients take a reset
         * after a complete answer as a failure, so the rest of a request that was
         * answered early is read, up to a bound (RFC 9113 section 8.1). */
        if (st->early && !st->reset) {
            st->discarded += len;
            if (st->discarded > h2_budget(c->w->srv)) {
                st->reset = 1;
                nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR);
            }
        }
        return 0;
    }
    size_t max = c->w->srv->o.max_body_bytes;
    if (len > max - st->rb.body.len) {
        h2->buffered -= st->rb.body.len;
        http_body_free(&st->rb.body);
        st->rb.too_large = 1;
        st->early = 1;
        h2_answer(c, st);
        return 0;
    }
    if (h2->buffered + len > h2_budget(c->w->srv)) {
        OTTR_WARN("http", "%s: HTTP/2 connection holds too many request bodies; refusing a stream",
                  c->w->srv->name);
        h2->buffered -= st->rb.body.len;
        http_body_free(&st->rb.body);
        st->answered = 1;
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    if (st->rb.body.cap == 0 && st->clen > len) {
        /* The announced size, up to a first reservation. */
        size_t want = st->clen < H2_RESERVE_MAX ? (size_t)st->clen : H2_RESERVE_MAX;
        if (http_body_reserve(&st->rb.body, want) != 0)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (http_body_append(&st->rb.body, data, len, max) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    h2->buffered += len;
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    http_conn *c = ud;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    h2_stream *st = h2_stream_get(session, frame->hd.stream_id);
    if (st == NULL)
        return 0;
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        st->complete = 1;
    else if (frame->hd.type == NGHTTP2_HEADERS)
        http_reqclock_body(&st->clock, http_now_ms(), st->rx);
    if (st->answered)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        if (st->rb.bad) {
            h2_bad(c, st);
            return 0;
        }
        const char *cl = http_reqbuf_find(&st->rb, "content-length");
        st->clen = cl != NULL ? strtoull(cl, NULL, 10) : 0;
        if (st->clen > c->w->srv->o.max_body_bytes) {
            st->rb.too_large = 1;
            st->early = !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
            h2_answer(c, st);
            return 0;
        }
    }
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        h2_answer(c, st);
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    (void)ud;
    if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    h2_stream *st = h2_stream_get(session, frame->hd.stream_id);
    /* A reset submitted with the answer would drop it: it follows it. */
    if (st != NULL && st->cut && !st->reset) {
        st->reset = 1;
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *ud)
{
    (void)error_code;
    http_conn *c = ud;
    h2_stream *st = h2_stream_get(session, stream_id);
    if (st != NULL) {
        nghttp2_session_set_stream_user_data(session, stream_id, NULL);
        h2_stream_release(c->h2, st);
        if (c->h2->active == NULL)
            c->h2->idle_since_ms = http_now_ms();
    }
    return 0;
}

int http_h2_callbacks_new(http_server *s)
{
    if (nghttp2_session_callbacks_new(&s->h2cbs) != 0)
        return -1;
    nghttp2_session_callbacks *cb = s->h2cbs;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    if (nghttp2_option_new(&s->h2opt) != 0) {
        nghttp2_session_callbacks_del(s->h2cbs);
        s->h2cbs = NULL;
        return -1;
    }
    return 0;
}

void http_h2_callbacks_free(http_server *s)
{
    if (s->h2cbs)
        nghttp2_session_callbacks_del(s->h2cbs);
    if (s->h2opt)
        nghttp2_option_del(s->h2opt);
    s->h2cbs = NULL;
    s->h2opt = NULL;
}

int http_h2_start(http_conn *c)
{
    http_server *s = c->w->srv;
    http_h2 *h2 = calloc(1, sizeof(*h2));
    if (h2 == NULL)
        return -1;
    c->h2 = h2;
    h2->idle_since_ms = http_now_ms();
    if (nghttp2_session_server_new2(&h2->session, s->h2cbs, c, s->h2opt) != 0)
        return -1;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, HTTP_MAX_HEADER_BYTES},
    };
    if (nghttp2_submit_settings(h2->session, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) !=
            0 ||
        nghttp2_session_set_local_window_size(h2->session, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW) !=
            0)
        return -1;
    return 0;
}

int http_h2_feed(http_conn *c, const uint8_t *data, size_t n)
{
    ssize_t rv = nghttp2_session_mem_recv(c->h2->session, data, n);
    if (rv < 0) {
        OTTR_DEBUG("http", "%s: HTTP/2 session error: %s", c->w->srv->name,
                   nghttp2_strerror((int)rv));
        if (rv == NGHTTP2_ERR_NOMEM || rv == NGHTTP2_ERR_CALLBACK_FAILURE)
            return -1;
        ottr_counter_add(c->w->srv->m_bad, 1);
        c->closing = 1; /* nghttp2 queued a GOAWAY when it could */
    }
    return 0;
}

int http_h2_pump(http_conn *c)
{
    while (c->out.bytes < HTTP_OUT_LOW_WATER) {
        const uint8_t *d;
        ssize_t n = nghttp2_session_mem_send(c->h2->session, &d);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if (http_out_append(&c->out, d, (size_t)n) != 0)
            return -1;
    }
    return 0;
}

int http_h2_done(http_conn *c)
{
    return !nghttp2_session_want_read(c->h2->session) &&
           !nghttp2_session_want_write(c->h2->session);
}

void http_h2_goaway(http_conn *c)
{
    http_h2 *h2 = c->h2;
    if (h2->goaway)
        return;
    h2->goaway = 1;
    nghttp2_submit_goaway(h2->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(h2->session), NGHTTP2_NO_ERROR,
                          NULL, 0);
}

/* Answers a request that did not arrive in time with 408; on_frame_send resets
 * its stream once that is sent (RFC 9113 section 8.1: an answer before the
 * request ended). */
static void h2_cut(http_conn *c, h2_stream *st)
{
    http_response resp;
    http_response_init(&resp);
    resp.status = 408;
    ottr_counter_add(c->w->srv->m_bad, 1);
    st->cut = 1;
    h2_submit(c, st, &resp, 1, 0);
}

void http_h2_check(http_conn *c, uint64_t now)
{
    http_h2 *h2 = c->h2;
    const http_limits *l = &c->w->srv->lim;
    int cut = 0;
    for (h2_stream *st = h2->active; st != NULL; st = st->next) {
        if (st->answered || st->complete)
            continue;
        /* Not read while the client does not take its answers: not a slow body. */
        if (c->read_paused && st->clock.mark_ms != 0)
            http_reqclock_body(&st->clock, now, st->rx);
        int late = http_reqclock_check(l, &st->clock, st->rx, now);
        if (late == HTTP_LATE_NO)
            continue;
        http_count_late(c->w->srv, late, "HTTP/2");
        h2_cut(c, st);
        cut = 1;
    }
    /* Like HTTP/1.1, whose connection closes after a 408: no new streams. */
    if (cut)
        http_h2_goaway(c);
}

int http_h2_evict_class(const http_conn *c, uint64_t *since_ms)
{
    const http_h2 *h2 = c->h2;
    if (h2->active == NULL) {
        *since_ms = h2->idle_since_ms;
        return 1;
    }
    uint64_t oldest = UINT64_MAX;
    for (const h2_stream *st = h2->active; st != NULL; st = st->next) {
        if (st->answered || st->complete)
            return 3;
        if (st->clock.start_ms < oldest)
            oldest = st->clock.start_ms;
    }
    *since_ms = oldest;
    return 2;
}

void http_h2_free(http_conn *c)
{
    http_h2 *h2 = c->h2;
    if (h2 == NULL)
        return;
    if (h2->session)
        nghttp2_session_del(h2->session);
    for (int pass = 0; pass < 2; pass++) {
        h2_stream *st = pass == 0 ? h2->active : h2->free_list;
        while (st != NULL) {
            h2_stream *next = st->next;
            http_reqbuf_free(&st->rb);
            free(st->resp);
            free(st);
            st = next;
        }
    }
    free(h2);
    c->h2 = NULL;
}
