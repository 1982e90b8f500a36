/* http/out.c - the HTTP server's buffers: a connection's output queue
 * (sent with one sendmsg over all pending pieces) and request bodies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "http/internal.h"

#define OUT_SEG_MIN   4096         /* first size of an appendable segment */
#define OUT_SEG_GROW  (256 * 1024) /* grow the tail in place up to this */
#define OUT_SPARE_MAX (64 * 1024)  /* keep a sent buffer up to this size */
#define OUT_IOV_MAX   64

/* ------------------------------------------------------------------ bodies */

int http_body_append(http_body *b, const void *p, size_t n, size_t limit)
{
    if (n == 0)
        return 0;
    size_t need = b->len + n;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (cap > limit)
            cap = limit > need ? limit : need;
        uint8_t *d = realloc(b->data, cap);
        if (d == NULL)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len = need;
    return 0;
}

int http_body_reserve(http_body *b, size_t cap)
{
    if (cap <= b->cap)
        return 0;
    uint8_t *d = realloc(b->data, cap);
    if (d == NULL)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

void http_body_reset(http_body *b)
{
    b->len = 0;
    if (b->cap > HTTP_KEEP_BODY_CAP)
        http_body_free(b);
}

void http_body_free(http_body *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void http_reqbuf_reset(http_reqbuf *rb)
{
    if (rb->hdr.cap > 16384)
        ottr_buf_free(&rb->hdr);
    ottr_buf_reset(&rb->hdr);
    rb->hdr.oom = 0;
    rb->nheaders = 0;
    rb->bad = 0;
    rb->too_large = 0;
    http_body_reset(&rb->body);
}

void http_reqbuf_free(http_reqbuf *rb)
{
    ottr_buf_free(&rb->hdr);
    http_body_free(&rb->body);
}

/* ------------------------------------------------------------------ output */

/* A new empty segment at the tail, or NULL when out of memory. */
static http_seg *out_push(http_out *o)
{
    if (o->head == o->n)
        o->head = o->n = 0;
    if (o->n == o->cap) {
        if (o->head > 0) {
            memmove(o->segs, o->segs + o->head, (o->n - o->head) * sizeof(http_seg));
            o->n -= o->head;
            o->head = 0;
        } else {
            uint32_t cap = o->cap ? o->cap * 2 : 4;
            http_seg *s = realloc(o->segs, cap * sizeof(http_seg));
            if (s == NULL)
                return NULL;
            o->segs = s;
            o->cap = cap;
        }
    }
    http_seg *s = &o->segs[o->n++];
    memset(s, 0, sizeof(*s));
    return s;
}

int http_out_append(http_out *o, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    http_seg *t = o->n > o->head ? &o->segs[o->n - 1] : NULL;
    if (t != NULL && !t->fixed && t->cap - t->len < n && t->cap < OUT_SEG_GROW) {
        size_t cap = t->cap * 2;
        if (cap < t->len + n)
            cap = t->len + n;
        char *d = realloc(t->data, cap);
        if (d == NULL)
            return -1;
        t->data = d;
        t->cap = cap;
    }
    if (t == NULL || t->fixed || t->cap - t->len < n) {
        char *d;
        size_t cap;
        if (o->spare != NULL && o->spare_cap >= n) {
            d = o->spare;
            cap = o->spare_cap;
            o->spare = NULL;
            o->spare_cap = 0;
        } else {
            cap = n > OUT_SEG_MIN ? n : OUT_SEG_MIN;
            d = malloc(cap);
            if (d == NULL)
                return -1;
        }
        t = out_push(o);
        if (t == NULL) {
            free(d);
            return -1;
        }
        t->data = d;
        t->cap = cap;
    }
    memcpy(t->data + t->len, p, n);
    t->len += n;
    o->bytes += n;
    return 0;
}

int http_out_take(http_out *o, char *data, size_t len)
{
    if (len == 0) {
        free(data);
        return 0;
    }
    http_seg *t = out_push(o);
    if (t == NULL) {
        free(data);
        return -1;
    }
    t->data = data;
    t->len = t->cap = len;
    t->fixed = 1;
    o->bytes += len;
    return 0;
}

/* Drops the fully sent head segment, keeping its buffer for reuse when small. */
static void out_pop(http_out *o)
{
    http_seg *s = &o->segs[o->head++];
    if (!s->fixed && s->cap <= OUT_SPARE_MAX && o->spare_cap < s->cap) {
        free(o->spare);
        o->spare = s->data;
        o->spare_cap = s->cap;
    } else {
        free(s->data);
    }
    if (o->head == o->n)
        o->head = o->n = 0;
}

int http_out_write(http_out *o, int fd)
{
    while (o->bytes > 0) {
        struct iovec iov[OUT_IOV_MAX];
        int niov = 0;
        for (uint32_t i = o->head; i < o->n && niov < OUT_IOV_MAX; i++) {
            http_seg *s = &o->segs[i];
            iov[niov].iov_base = s->data + s->off;
            iov[niov].iov_len = s->len - s->off;
            niov++;
        }
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        http_out_consume(o, (size_t)w);
    }
    return 1;
}

void http_out_consume(http_out *o, size_t n)
{
    o->bytes -= n;
    while (n > 0) {
        http_seg *s = &o->segs[o->head];
        size_t avail = s->len - s->off;
        if (n < avail) {
            s->off += n;
            break;
        }
        n -= avail;
        out_pop(o);
    }
}

void http_out_free(http_out *o)
{
    for (uint32_t i = o->head; i < o->n; i++)
        free(o->segs[i].data);
    free(o->segs);
    free(o->spare);
    memset(o, 0, sizeof(*o));
}
