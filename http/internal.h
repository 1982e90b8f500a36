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

/* Time limits and the connection cap of one server. The defaults are what ottrd
 * uses; tests shorten them through http_server_start_limits(). */
typedef struct http_limits {
    uint32_t idle_timeout_ms;   /* no byte read or written for this long: close (60 s) */
    uint32_t header_timeout_ms; /* a request's header section must arrive within (30 s) */
    uint32_t linger_ms;         /* input discarded after a closing response (2 s) */
    uint32_t drain_ms;          /* http_server_stop waits this long for requests (5 s) */
    uint32_t max_connections;   /* open connections per server (10000) */
} http_limits;

void http_limits_default(http_limits *l);

/* http_server_start() with explicit limits. Same errors. */
ottr_status http_server_start_limits(const http_server_options *o, const http_limits *l,
                                     http_server **out, char *err, size_t errlen);

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
    nghttp2_session_callbacks *h2cbs;
    nghttp2_option *h2opt;
    ottr_counter *m_conns;
    ottr_counter *m_req_h1;
    ottr_counter *m_req_h2;
    ottr_counter *m_bad;
};

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
    int *pending; /* accepted sockets not yet adopted */
    size_t npending, cappending;
    int stop_req;

    atomic_uint nconns;
    http_conn *conns; /* doubly linked */
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
    uint64_t start_ms;     /* first byte of the message */
    const uint8_t *borrow; /* body bytes still in the read buffer (no copy yet) */
    size_t borrow_len;
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
    unsigned eof : 1;   /* the peer shut its write side */
    unsigned fatal : 1; /* close at once, without sending what is queued */
    uint64_t last_ms;   /* last byte read or written */
    uint64_t linger_deadline_ms;
    http_out out;
    http_h1 h1;
    http_h2 *h2;
};

uint64_t http_now_ms(void);

/* Calls the handler for an assembled request and fixes up the response. |method|
 * may be NULL when it is in |rb| (":method"). |body| overrides |rb->body| when
 * not NULL (bytes still in the read buffer). */
void http_call_handler(http_worker *w, const char *method, http_reqbuf *rb, const uint8_t *body,
                       size_t body_len, int http2, http_response *resp);
void http_response_init(http_response *resp);
const char *http_status_reason(int status);
/* Fills |e| (when not NULL) for a refused parameter |name| (|value| may be
 * NULL) with a printf-style problem; returns -1. */
int http_param_refuse(http_param_err *e, const char *name, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Refreshes |w->date| when the second changed. */
void http_worker_date(http_worker *w);

/* HTTP/1.1 side (http1.c). */
void http_h1_start(http_conn *c);
/* Feeds bytes; returns 0, or -1 when the connection must close at once. */
int http_h1_feed(http_conn *c, const uint8_t *data, size_t n);
int http_h1_idle(const http_conn *c); /* no request under way */
void http_h1_free(http_conn *c);
/* Queues a 400 answer and marks the connection closing. */
void http_h1_bad_request(http_conn *c, int status);

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
void http_h2_free(http_conn *c);

/* Hands bytes read from |c|'s socket to its protocol, sniffing the HTTP/2
 * preface first (server.c); |data| has HTTP_SNIFF_LEN bytes of headroom. Returns
 * 0, or -1 when the connection must close at once. */
int http_conn_feed(http_conn *c, uint8_t *data, size_t n);

/* For tests and fuzzing only (feed.c): runs one connection of a server with
 * options |o| (handler, ctx, max_body_bytes) over the |n| bytes at |data|, read
 * in pieces of at most |step| bytes (0: as large as the server reads), without
 * sockets; output is dropped as if sent. Returns the bytes of output. */
size_t http_feed_for_test(const http_server_options *o, const uint8_t *data, size_t n, size_t step);

#endif /* OTTR_HTTP_INTERNAL_H */
