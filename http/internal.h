/* http/internal.h - private pieces shared by the HTTP server files: the
 * server, its loop threads, connections, the output queue and the HTTP/1.1 and
 * HTTP/2 sides. Nothing outside http/ and its tests includes this. */
#ifndef OTTR_HTTP_INTERNAL_H
#define OTTR_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <http_parser.h>
#include <nghttp2/nghttp2.h>

#include "http/http.h"

/* ------------------------------------------------------------------ limits */

#define HTTP_MAX_HEADER_BYTES (64 * 1024) /* request line + header block */
#define HTTP_MAX_HEADERS      100
#define HTTP_READ_BUF         (256 * 1024)  /* per loop thread */
#define HTTP_SNIFF_LEN        24            /* the HTTP/2 client preface */
#define HTTP_OUT_HIGH_WATER   (1024 * 1024) /* unsent bytes that pause reading */
#define HTTP_OUT_LOW_WATER    (256 * 1024)  /* ... and resume it */
#define HTTP_KEEP_BODY_CAP    (64 * 1024)   /* body buffers kept between requests */

/* http_server_start() with explicit limits (over o->limits). Same errors. */
ottr_status http_server_start_limits(const http_server_options *o, const http_limits *l,
                                     http_server **out, char *err, size_t errlen);

/* ------------------------------------------------------------------ request deadlines */

/* The clock of one request being received, on either protocol: it must be in
 * whole within request_timeout_ms, and once its headers are in, its body must
 * keep up min_body_rate over each body_rate_window_ms. */
typedef struct http_reqclock {
    uint64_t start_ms;   /* first byte of the request */
    uint64_t mark_ms;    /* start of the current body-rate window; 0 before the headers */
    uint64_t mark_bytes; /* body bytes received when it started */
} http_reqclock;

enum { HTTP_LATE_NO = 0, HTTP_LATE_TIMEOUT = 1, HTTP_LATE_SLOW = 2 };

void http_reqclock_start(http_reqclock *rc, uint64_t now);
/* The headers are in: the first body-rate window starts. */
void http_reqclock_body(http_reqclock *rc, uint64_t now, uint64_t body_bytes);
/* HTTP_LATE_NO while the request is within the limits, else why it is not. */
int http_reqclock_check(const http_limits *l, http_reqclock *rc, uint64_t body_bytes, uint64_t now);

/* ------------------------------------------------------------------ buffers */

/* A request body: one contiguous buffer, never larger than the server's limit. */
typedef struct http_body {
    uint8_t *data;
    size_t len; /* len <= cap must hold */
    size_t cap;
} http_body;

/* Appends |n| bytes, growing by doubling but never past |limit|. Returns 0, or -1
 * when out of memory (the body is left as it was). The caller checks the limit. */
int http_body_append(http_body *b, const void *p, size_t n, size_t limit);
/* Makes room for |cap| bytes in all. Returns 0 or -1 (out of memory). */
int http_body_reserve(http_body *b, size_t cap);
/* Empties |b|; keeps the memory only when it is small. */
void http_body_reset(http_body *b);
void http_body_free(http_body *b);

/* What a request is assembled into while it arrives, on either protocol. |hdr|
 * holds "name\0value\0" pairs with lowercase names; pseudo-headers (":path",
 * ":method") come first and are not shown to the handler as headers. */
typedef struct http_reqbuf {
    ottr_buf hdr;
    uint32_t nheaders;
    int bad;       /* header section over the limits: answer 400 */
    int too_large; /* the body passed the limit */
    http_body body;
} http_reqbuf;

void http_reqbuf_reset(http_reqbuf *rb);
/* The value of header or pseudo-header |name| (lowercase) in |rb|, or NULL. */
const char *http_reqbuf_find(const http_reqbuf *rb, const char *name);
void http_reqbuf_free(http_reqbuf *rb);

/* One pending piece of output. */
typedef struct http_seg {
    char *data; /* malloc'd, owned */
    size_t len; /* bytes written into data */
    size_t off; /* bytes already sent; off <= len must hold */
    size_t cap;
    int fixed; /* a moved-in response body: nothing is appended to it */
} http_seg;

/* The bytes a connection still has to send, in order. The common case (one small
 * response at a time) reuses one buffer and does not allocate. */
typedef struct http_out {
    http_seg *segs;
    uint32_t head, n, cap; /* pending segments are segs[head..n) */
    size_t bytes;          /* unsent bytes over all segments */
    char *spare;           /* a sent buffer kept for the next response */
    size_t spare_cap;
} http_out;

/* Copies |n| bytes to the end of the queue. Returns 0 or -1 (out of memory). */
int http_out_append(http_out *o, const void *p, size_t n);
/* Queues |data| (malloc'd, |len| bytes) without copying; the queue frees it. On
 * failure frees |data| and returns -1. */
int http_out_take(http_out *o, char *data, size_t len);
/* Sends what it can. Returns 1 when everything was sent, 0 when the socket is
 * full, -1 on a socket error. */
int http_out_write(http_out *o, int fd);
/* Drops the first |n| unsent bytes: they were sent. */
void http_out_consume(http_out *o, size_t n);
void http_out_free(http_out *o);

/* ------------------------------------------------------------------ server */

typedef struct http_conn http_conn;
typedef struct http_worker http_worker;

struct http_server {
    http_server_options o;
    char name[32];
    char addr[128];
    http_limits lim;
    int listen_fd;
    int port;
    int acceptor_fd; /* eventfd: tells the accept thread to stop */
    pthread_t acceptor;
    int acceptor_started;
    http_worker *workers;
    int nworkers;
    int ninit;    /* workers set up (to free) */
    int nstarted; /* worker threads running */
    atomic_uint nconns;
    pthread_mutex_t ip_mu; /* guards the per-address counts */
    struct http_ipent **ip_buckets;
    uint64_t ip_seed;
    atomic_uint ndeferred; /* deferred requests not yet freed (defer.c) */
    http_tls *tls;         /* NULL: plain text */
    nghttp2_session_callbacks *h2cbs;
    nghttp2_option *h2opt;
    ottr_counter *m_conns;
    ottr_counter *m_req_h1;
    ottr_counter *m_req_h2;
    ottr_counter *m_bad;
    ottr_counter *m_timeouts; /* 408: the request did not arrive in time */
    ottr_counter *m_slow;     /* the body came slower than min_body_rate */
    ottr_counter *m_evicted;  /* closed to make room at the connection cap */
    ottr_counter *m_refused_ip;
    ottr_counter *m_refused_max;
    ottr_counter *m_tls_failed; /* TLS handshakes that did not finish */
    ottr_gauge *m_open;
};

/* A client address as the per-address cap counts it: IPv4, or an IPv6 /64. */
typedef struct http_ipkey {
    uint8_t b[8];
    uint8_t v6;
    uint8_t valid;
} http_ipkey;

/* One event-loop thread and the connections it owns. Only the thread itself
 * touches its fields, except |mu|-guarded hand-off and |nconns|. */
struct http_worker {
    http_server *srv;
    int index;
    struct event_base *base;
    int notify_fd; /* eventfd: new connections or stop */
    struct event notify_ev;
    struct event tick_ev;
    pthread_t thread;

    pthread_mutex_t mu;
    struct http_pending *pending; /* accepted sockets not yet adopted */
    size_t npending, cappending;
    int stop_req;
    http_deferred *done_head, *done_tail;       /* answered deferred requests to deliver */
    struct http_chunk *chunk_head, *chunk_tail; /* streamed pieces of answers to send first */
    int stopped;                                /* the loop is gone: answers are dropped */

    atomic_uint nconns;
    http_conn *conns; /* doubly linked, most recently read first */
    http_conn *conns_tail;
    int draining;
    uint64_t drain_deadline_ms;

    uint8_t *rbuf;     /* HTTP_SNIFF_LEN of headroom, then HTTP_READ_BUF */
    http_header *hdrs; /* HTTP_MAX_HEADERS + 1, for the request being handled */
    char date[40];     /* "Date: ...\r\n" for HTTP/1.1 */
    int64_t date_sec;
};

enum { HTTP_PROTO_SNIFF = 0, HTTP_PROTO_H1 = 1, HTTP_PROTO_H2 = 2 };

typedef struct http_h1 {
    http_parser parser;
    http_reqbuf rb;
    int in_message; /* between message begin and complete */
    int headers_done;
    int hstate;            /* 0 url, 1 header name, 2 header value */
    int answered;          /* an early answer went out for this message */
    http_reqclock clock;   /* of the message being received */
    const uint8_t *borrow; /* body bytes still in the read buffer (no copy yet) */
    size_t borrow_len;
    uint8_t *held; /* bytes read after a deferred request, parsed once it is answered */
    size_t held_len;
} http_h1;

typedef struct http_h2 http_h2;

struct http_conn {
    http_worker *w;
    http_conn *prev, *next;
    int fd;
    int proto;
    struct event rev, wev;
    uint8_t sniff[HTTP_SNIFF_LEN];
    uint8_t sniff_len;
    unsigned closing : 1;     /* close once the output is sent */
    unsigned lingering : 1;   /* write side shut; discarding input until EOF */
    unsigned read_paused : 1; /* too much unsent output */
    unsigned write_armed : 1;
    unsigned eof : 1;                  /* the peer shut its write side */
    unsigned fatal : 1;                /* close at once, without sending what is queued */
    unsigned held : 1;                 /* HTTP/1.1 waits for a deferred answer: reading stops */
    unsigned tls_up : 1;               /* the TLS handshake finished */
    unsigned tls_dead : 1;             /* a TLS error: no close_notify */
    unsigned tls_read_wants_write : 1; /* SSL_read waits for the socket to take bytes */
    unsigned peer_done : 1;            /* |peer| was looked up */
    struct ssl_st *ssl;                /* NULL on a plain-text connection */
    char peer[128];                    /* the verified client certificate's common name */
    uint64_t last_ms;                  /* last byte read or written */
    uint64_t start_ms;                 /* accepted */
    uint64_t rx_bytes;                 /* read in all */
    http_ipkey ip;
    uint64_t linger_deadline_ms;
    http_out out;
    http_h1 h1;
    http_h2 *h2;
    http_deferred *deferred; /* this connection's unanswered deferred requests */
    unsigned ndeferred;
};

uint64_t http_now_ms(void);

/* What http_defer() needs from the request being handled. */
struct http_call {
    http_worker *w;
    http_deferred *deferred; /* set by http_defer() */
};

/* Calls the listener's authentication, then (when it lets the request in) the
 * handler for an assembled request of |c|, and fixes up the response. |method|
 * may be NULL when it is in |rb| (":method"). |body| overrides |rb->body| when
 * not NULL (bytes still in the read buffer). When the handler deferred the
 * request, *deferred is set (else NULL) and |resp| holds nothing: the caller
 * attaches it to the connection with http_defer_attach(). */
void http_call_handler(http_conn *c, const char *method, http_reqbuf *rb, const uint8_t *body,
                       size_t body_len, int http2, http_response *resp, http_deferred **deferred);
/* Replaces a response the server cannot send (a status out of range, a body that
 * ran out of memory) with an empty 500. */
void http_response_check(const http_server *s, http_response *resp);

/* ------------------------------------------------------------------ deferred (defer.c) */

struct http_deferred {
    http_worker *w;               /* the loop that sends the answer */
    http_conn *conn;              /* loop thread only; NULL once the connection closed */
    http_deferred *cprev, *cnext; /* loop thread only: the connection's list */
    http_deferred *done_next;     /* under w->mu: the worker's answered list */
    int32_t stream_id;            /* HTTP/2; 0 for HTTP/1.1 */
    int keep;                     /* HTTP/1.1: keep the connection open after the answer */
    int head_only;                /* a HEAD request: no body sent */
    http_request req;             /* a copy; strings and body in the same allocation */
    http_response resp;           /* set by http_respond_async() */
};

/* Links |d| to |c| on the loop thread (|stream_id| 0 for HTTP/1.1). */
void http_defer_attach(http_deferred *d, http_conn *c, int32_t stream_id, int keep, int head_only);
/* |c| is closing: its unanswered requests will be dropped when answered. */
void http_defer_conn_closed(http_conn *c);
/* On the loop thread: sends the answers that arrived for |w|. */
void http_defer_deliver(http_worker *w);
/* After the loop threads ended: drops answers not delivered and waits until every
 * deferred request of |s| was answered. */
void http_defer_stop(http_server *s);
/* server.c's connection calls, for defer.c. http_conn_flush returns 0, or -1
 * when |c| was closed. */
int http_conn_flush(http_conn *c);
void http_conn_close(http_conn *c);
const char *http_status_reason(int status);
/* Fills |e| (when not NULL) for a refused parameter |name| (|value| may be
 * NULL) with a printf-style problem; returns -1. */
int http_param_refuse(http_param_err *e, const char *name, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Refreshes |w->date| when the second changed. */
void http_worker_date(http_worker *w);

/* Counts a request cut for |late| (an HTTP_LATE_ value) and logs it. */
void http_count_late(http_server *s, int late, const char *proto);

/* HTTP/1.1 side (http1.c). */
void http_h1_start(http_conn *c);
/* Feeds bytes; returns 0, or -1 when the connection must close at once. */
int http_h1_feed(http_conn *c, const uint8_t *data, size_t n);
int http_h1_idle(const http_conn *c); /* no request under way */
void http_h1_free(http_conn *c);
/* Queues a 400 answer and marks the connection closing. */
void http_h1_bad_request(http_conn *c, int status);
/* Enforces the deadlines of the request being received: a late one gets 408
 * and the connection closes. */
void http_h1_check(http_conn *c, uint64_t now);
/* Queues the answer to the deferred request and parses what was held back.
 * Returns 0, or -1 when the connection must close at once. */
int http_h1_resume(http_conn *c, http_deferred *d);

/* HTTP/2 side (http2.c). */
int http_h2_callbacks_new(http_server *s); /* 0 or -1 */
void http_h2_callbacks_free(http_server *s);
int http_h2_start(http_conn *c); /* 0 or -1 */
int http_h2_feed(http_conn *c, const uint8_t *data, size_t n);
/* Moves nghttp2's pending frames into |c->out| up to the high-water mark.
 * Returns 0 or -1 (fatal). */
int http_h2_pump(http_conn *c);
int http_h2_done(http_conn *c); /* neither side wants more: close */
void http_h2_goaway(http_conn *c);
/* Enforces the deadlines of the requests being received: a late stream gets 408
 * and a reset, and the connection a GOAWAY. */
void http_h2_check(http_conn *c, uint64_t now);
/* How evictable |c| is: 1 with no stream open (*since_ms: since when), 2 when
 * every open stream is still being received (*since_ms: the oldest start), 3
 * when some answer is under way. */
int http_h2_evict_class(const http_conn *c, uint64_t *since_ms);
/* Submits the answer to the deferred request, unless its stream is gone; when
 * pieces of it were streamed, appends its body and ends with its trailers. */
void http_h2_resume(http_conn *c, http_deferred *d);
/* Streams |len| bytes of |d|'s answer: the first piece submits the headers of
 * |head|, the rest wait for http_h2_resume. */
void http_h2_push(http_conn *c, http_deferred *d, const http_response *head, const uint8_t *data,
                  size_t len);
void http_h2_free(http_conn *c);

/* Hands bytes read from |c|'s socket to its protocol, sniffing the HTTP/2
 * preface first (server.c); |data| has HTTP_SNIFF_LEN bytes of headroom. Returns
 * 0, or -1 when the connection must close at once. */
int http_conn_feed(http_conn *c, uint8_t *data, size_t n);

/* TLS of connections (tls.c). */
/* Gives |c| an SSL of the current context of |t|. Returns 0 or -1. */
int http_tls_conn_start(http_conn *c, http_tls *t);
/* Reads and decrypts up to |cap| bytes: > 0 bytes, 0 at the end, -1 with errno
 * EAGAIN (nothing now) or EIO (a TLS error; the connection must close). */
ssize_t http_tls_recv(http_conn *c, uint8_t *buf, size_t cap);
/* http_out_write() through |c|'s SSL. */
int http_tls_out_write(http_out *o, http_conn *c);
/* Sends close_notify, best effort (before a lingering close). */
void http_tls_conn_notify_close(http_conn *c);
/* Frees |c|'s SSL (close_notify first when the handshake finished). */
void http_tls_conn_close(http_conn *c);
/* 1 when |c|'s SSL holds bytes already read from the socket. */
int http_tls_pending(const http_conn *c);
/* The verified client certificate's common name, or NULL. */
const char *http_tls_peer(http_conn *c);

/* For tests and fuzzing only (feed.c): runs one connection of a server with
 * options |o| (handler, ctx, max_body_bytes) over the |n| bytes at |data|, read
 * in pieces of at most |step| bytes (0: as large as the server reads), without
 * sockets; output is dropped as if sent. Returns the bytes of output. */
size_t http_feed_for_test(const http_server_options *o, const uint8_t *data, size_t n, size_t step);

#endif /* OTTR_HTTP_INTERNAL_H */
