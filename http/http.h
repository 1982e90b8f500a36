/* http/http.h - one HTTP server for every port of ottrd: a libevent
 * loop per thread owns its connections, sniffs the HTTP/2 client preface and feeds
 * the bytes to nghttp2 (h2c with prior knowledge) or to http-parser (HTTP/1.1 with
 * keep-alive, Content-Length and chunked bodies). Each complete request is handed
 * to the handler on the loop thread; the handler fills the response, or defers it
 * (http_defer) and answers later from another thread (http_respond_async). Also the
 * helpers every route uses to read a request (parameters, times, path segments) and
 * bounded gzip inflation of request bodies.
 *
 * http/ depends on common/ only. */
#ifndef OTTR_HTTP_H
#define OTTR_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

typedef struct http_header {
    const char *name; /* lowercase */
    const char *value;
} http_header;

struct http_call; /* the server's, for http_defer() */

/* Who sent a request, as the listener's authentication established it (auth.c).
 * Copied, never pointing into credential files, so that it stays valid across a
 * reload of those files while a deferred request waits. */
typedef struct http_principal {
    char name[128];   /* the user, the certificate's common name or "token@LINE" of the
                         tokens file; "" when the listener does not authenticate */
    char tenant[128]; /* the tenant the credential is bound to; "" when not bound */
} http_principal;

/* A complete request. Everything lives until the handler returns. */
typedef struct http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* decoded-as-sent path without the query, e.g. "/v1/traces" */
    const char *query;  /* raw query string after '?', "" when none */
    const http_header *headers;
    size_t nheaders;
    const uint8_t *body; /* de-chunked, not un-gzipped; NULL when empty */
    size_t body_len;
    int body_too_large; /* the body passed max_body_bytes: body is NULL; answer 413 */
    int http2;          /* 1 over HTTP/2 (h2c or h2 over TLS) */
    int tls;            /* 1 over TLS */
    /* The sender as the listener's http_auth_fn found it; all empty without one.
     * The tenant layer reads it to hold a bound credential to its tenant. */
    http_principal principal;
    struct http_call *call; /* private to the server; NULL when not from a server */
    /* In the copy of a deferred request (http_deferred_request): its handle, to
     * stream the answer with http_stream_push; NULL otherwise. */
    struct http_deferred *deferred;
} http_request;

#define HTTP_MAX_EXTRA_HEADERS 8
#define HTTP_MAX_TRAILERS      2

typedef struct http_response {
    int status;            /* default 200 */
    char content_type[64]; /* default "text/plain; charset=utf-8" */
    ottr_buf body;         /* the server frees it after sending */
    int nextra;
    char extra_name[HTTP_MAX_EXTRA_HEADERS][32];
    char extra_value[HTTP_MAX_EXTRA_HEADERS][96];
    /* Trailers (HTTP/2 only; gRPC's grpc-status and grpc-message). With a body
     * they follow it in a HEADERS frame; without one they go in the response
     * headers (gRPC's "trailers only" answer). HTTP/1.1 drops them. */
    int ntrailers;
    char trailer_name[HTTP_MAX_TRAILERS][16];
    char trailer_value[HTTP_MAX_TRAILERS][256];
} http_response;

/* Case-insensitive header lookup; NULL when absent. */
const char *http_request_header(const http_request *req, const char *name);
/* Value of query parameter |name| percent-decoded into |out|; returns 1 when
 * present, 0 when absent. Repeated parameters: |index| picks the n-th. */
int http_query_param(const http_request *req, const char *name, int index, char *out,
                     size_t outlen);
void http_response_set_header(http_response *resp, const char *name, const char *value);
void http_response_set_type(http_response *resp, const char *content_type);
/* Sets trailer |name| (lowercase) to |value|; a value too long is cut at a byte
 * boundary that keeps it valid. Past HTTP_MAX_TRAILERS it is dropped. */
void http_response_set_trailer(http_response *resp, const char *name, const char *value);
/* Status 200, text/plain, no body, no extra headers. */
void http_response_init(http_response *resp);

typedef void (*http_handler_fn)(void *ctx, const http_request *req, http_response *resp);

/* How long a connection and a request may take, and how many connections are
 * let in. A connection being received slower than this is cut so that one client
 * cannot hold the connections every other client needs. */
typedef struct http_limits {
    uint32_t idle_timeout_ms;     /* no request under way for this long: close (60 s) */
    uint32_t header_timeout_ms;   /* a request's header section must arrive within (30 s) */
    uint32_t request_timeout_ms;  /* a request's headers and body must arrive within (30 s);
                                     408 */
    uint32_t min_body_rate;       /* bytes/s a body must keep up over each window; 0 = none */
    uint32_t body_rate_window_ms; /* the first window starts when the headers are in (5 s) */
    uint32_t linger_ms;           /* input discarded after a closing response (2 s) */
    uint32_t drain_ms;            /* http_server_stop waits this long for requests (5 s) */
    uint32_t max_connections;     /* open connections per server (10000); at the cap the
                                     most idle or slowest one makes room for a newcomer */
    uint32_t max_conns_per_ip;    /* open connections per client address (IPv6: per /64);
                                     0 = no cap (256) */
} http_limits;

/* Fills |l| with the defaults above. */
void http_limits_default(http_limits *l);

/* TLS of a listener (tls.c): a certificate chain and its key, and optionally the
 * CAs whose client certificates are required (mTLS). Files are PEM. */
typedef struct http_tls_options {
    const char *cert_file;      /* required */
    const char *key_file;       /* required */
    const char *client_ca_file; /* NULL: no client certificate asked for */
    int min_tls13;              /* 1: TLS 1.3 only; 0: TLS 1.2 and 1.3 */
} http_tls_options;

/* Decides whether a request may be handled: fills |who| and returns 0, or fills
 * |resp| (401 with WWW-Authenticate) and returns -1. |peer| is the common name of
 * the verified client certificate, or NULL. Called on the loop thread before the
 * handler. */
typedef int (*http_auth_fn)(void *ctx, const http_request *req, const char *peer,
                            http_principal *who, http_response *resp);

typedef struct http_server_options {
    const char *name;      /* "otlp_http", "query", "jaeger": logs and metrics */
    const char *addr;      /* "host:port"; port 0 picks a free port */
    int threads;           /* event-loop threads (>= 1) */
    size_t max_body_bytes; /* bodies past this get body_too_large */
    http_handler_fn handler;
    void *ctx;
    const http_limits *limits;   /* copied; NULL: http_limits_default() */
    const http_tls_options *tls; /* files loaded at start (names copied); NULL: plain text
                                    (HTTP/1.1 and h2c) */
    http_auth_fn auth;           /* NULL: every request is handled */
    void *auth_ctx;
} http_server_options;

typedef struct http_server http_server;

/* Binds, starts the loop threads and returns. On error returns OTTR_ERR_IO with
 * a message in |err| ("bind 0.0.0.0:4318: Address already in use"). */
ottr_status http_server_start(const http_server_options *o, http_server **out, char *err,
                              size_t errlen);
/* The bound port (useful with port 0). */
int http_server_port(const http_server *s);
/* Stops accepting, finishes requests in progress, joins the threads, frees. */
void http_server_stop(http_server *s);
/* Reads the TLS files again; new connections use them, open ones keep theirs.
 * Returns 0 (also without TLS), or -1 with why in |err|: the old ones stay. */
int http_server_reload_tls(http_server *s, char *err, size_t errlen);

/* ------------------------------------------------------------------ TLS (tls.c) */

typedef struct http_tls http_tls;

/* Loads the files of |o| into a server context that offers ALPN h2 and
 * http/1.1. NULL on error with why in |err| (naming the file). */
http_tls *http_tls_new(const http_tls_options *o, char *err, size_t errlen);
/* Loads the files again; on error keeps the old context. Returns 0 or -1. */
int http_tls_reload(http_tls *t, char *err, size_t errlen);
void http_tls_free(http_tls *t);

/* ------------------------------------------------------------------ authentication (auth.c) */

typedef enum http_auth_type {
    HTTP_AUTH_NONE = 0,   /* everyone */
    HTTP_AUTH_BEARER = 1, /* Authorization: Bearer TOKEN, tokens from a file */
    HTTP_AUTH_BASIC = 2,  /* Authorization: Basic, users with crypt(3) hashes from a file */
    HTTP_AUTH_MTLS = 3,   /* the verified client certificate's common name */
} http_auth_type;

/* Why a request was refused (the reason label of ottr_auth_failures_total). */
typedef enum http_auth_result {
    HTTP_AUTH_OK = 0,
    HTTP_AUTH_MISSING = 1, /* no credential of the listener's kind */
    HTTP_AUTH_WRONG = 2,   /* a credential, not a known one */
} http_auth_result;

/* One listener's credentials, reloadable while requests are checked. Files:
 *   bearer: "TOKEN [TENANT]" per line
 *   basic:  "USER:HASH[:TENANT]" per line, HASH from crypt(3): bcrypt ($2b$, $2y$),
 *           yescrypt ($y$), sha512crypt ($6$) - as htpasswd -B or mkpasswd make
 *   mtls:   "COMMON-NAME [TENANT]" per line; no file: every verified certificate
 * Blank lines and lines starting with # are skipped. */
typedef struct http_auth http_auth;

/* |listener| names it in logs and metrics; |file| may be NULL only for none and
 * mtls. NULL on error with why in |err| (file and line; never a secret). */
http_auth *http_auth_new(const char *listener, http_auth_type type, const char *file, char *err,
                         size_t errlen);
/* Reads the file again; on error keeps the old credentials. Returns 0 or -1. */
int http_auth_reload(http_auth *a, char *err, size_t errlen);
void http_auth_free(http_auth *a);
http_auth_type http_auth_get_type(const http_auth *a);
/* Checks an Authorization header value |authz| (NULL when absent) or the verified
 * client certificate's common name |peer| (NULL when none), filling |who| on
 * success. Failures are counted; secrets are compared in constant time and never
 * logged. Any thread. */
http_auth_result http_auth_check(http_auth *a, const char *authz, const char *peer,
                                 http_principal *who);
/* "Bearer realm=\"ottr\"", "Basic realm=\"ottr\"", or NULL (none, mtls). */
const char *http_auth_challenge(const http_auth *a);
/* An http_auth_fn over |ctx| = http_auth: a refusal is a 401 with the challenge
 * and a JSON body {"error":"..."}. */
int http_auth_request(void *ctx, const http_request *req, const char *peer, http_principal *who,
                      http_response *resp);
/* Parses credential file text as http_auth_new() would (for tests and fuzzing).
 * Returns the number of entries, or -1 with why in |err|. */
int http_auth_parse_for_test(http_auth_type type, const char *text, size_t len, char *err,
                             size_t errlen);

/* ------------------------------------------------------------------ deferred answers */

/* A request whose answer comes later, from any thread. The loop thread goes on
 * serving other connections meanwhile; on the deferring connection, HTTP/1.1
 * stops reading (pipelined requests wait, so answers stay in order) and HTTP/2
 * goes on with its other streams. */
typedef struct http_deferred http_deferred;

/* Called by a handler on the loop thread: copies |req| (headers, parameters and
 * body) so that it outlives the handler and tells the server not to answer now;
 * whatever the handler puts in its |resp| is dropped. Returns NULL when the
 * request cannot be deferred (not from a server, an early answer to a body that
 * is too large, or out of memory): the handler then answers at once. Every
 * deferred request must be answered exactly once with http_respond_async();
 * http_server_stop() waits for that. */
http_deferred *http_defer(const http_request *req);
/* The copied request; valid until http_respond_async(). Its |call| is NULL. */
const http_request *http_deferred_request(const http_deferred *d);
/* Answers |d| from any thread and frees it: takes |resp|'s body (|resp| is left
 * empty). When the connection or stream went away meanwhile, or the server is
 * stopping, the answer is dropped. */
void http_respond_async(http_deferred *d, http_response *resp);
/* Sends |len| bytes of |d|'s answer now, ahead of the rest (a gRPC server
 * stream's messages as they are ready), from any thread before
 * http_respond_async(). The first push sends the response headers of |head|
 * (status, type, extra headers; its body and trailers are not looked at); the
 * final http_respond_async() appends its body and ends the stream with its
 * trailers. HTTP/2 only: returns -1 over HTTP/1.1 or when out of memory, and
 * the caller keeps the bytes for the final answer; 0 when queued (or dropped
 * because the stream or the server went away). */
int http_stream_push(http_deferred *d, const http_response *head, const void *data, size_t len);

/* ------------------------------------------------------------------ request helpers */

/* Why a request parameter was refused; each API words its own message from it
 * (e.g. `invalid <name> "<value>": <problem>`). */
typedef struct http_param_err {
    const char *name; /* the parameter */
    char value[48];   /* the value as sent, cut to 40 bytes; "" when not worth showing */
    char problem[96]; /* "want a non-negative integer", "longer than 62 bytes", "out of range" */
} http_param_err;

/* The latest time the parameter readers accept, the same instant in every unit:
 * the last whole second that fits in 64-bit Unix nanoseconds
 * (2554-07-21T23:34:32.999999999Z), so that adding the fraction of an end second
 * never wraps. Later times are refused as out of range, never wrapped or cut. */
#define HTTP_TIME_MAX_SEC 18446744072ull
#define HTTP_TIME_MAX_NS  (HTTP_TIME_MAX_SEC * 1000000000ull + 999999999ull)

/* Units of a time parameter. */
typedef enum http_time_unit {
    HTTP_TIME_SECONDS, /* Unix seconds (Tempo's start/end) */
    HTTP_TIME_MILLIS,  /* Unix milliseconds (Jaeger's endTs, lookback) */
    HTTP_TIME_MICROS,  /* Unix microseconds (Jaeger's start/end) */
    HTTP_TIME_RFC3339, /* "2024-05-01T10:00:00Z" (Jaeger api_v3) */
} http_time_unit;

/* The readers of query parameters below return 1 with the value stored, 0 when
 * the parameter is absent (the output is left as it was), or -1 when the value
 * is refused, with |e| (may be NULL) filled.
 *
 * http_param_str: the |index|-th value of |name| decoded into |out|; an empty
 * value counts as present. -1 when it does not fit in |outlen| - 1 bytes. */
int http_param_str(const http_request *req, const char *name, int index, char *out, size_t outlen,
                   http_param_err *e);
/* An unsigned decimal integer; an empty value counts as absent. */
int http_param_u64(const http_request *req, const char *name, uint64_t *out, http_param_err *e);
/* http_param_u64 capped at |max| (a result limit). */
int http_param_limit(const http_request *req, const char *name, size_t max, size_t *out,
                     http_param_err *e);
/* A Go-style duration such as "100ms" or "1.5s" in nanoseconds; empty = absent. */
int http_param_duration(const http_request *req, const char *name, uint64_t *out_ns,
                        http_param_err *e);
/* A time in |unit| as Unix nanoseconds; empty = absent. Every unit is read by
 * one parser with one range check: -1 ("out of range") past HTTP_TIME_MAX_NS or,
 * for RFC 3339, before 1970. */
int http_param_time(const http_request *req, const char *name, http_time_unit unit,
                    uint64_t *out_ns, http_param_err *e);
/* Parameters of the form |name|[key]=value (brackets sent as is or as %5B %5D):
 * the |index|-th one's key and value, decoded into |key| and |val|. -1 when the
 * key has no closing bracket or the key or value does not fit. */
int http_param_bracket(const http_request *req, const char *name, int index, char *key,
                       size_t keylen, char *val, size_t vallen, http_param_err *e);

/* If the request path is |prefix| + one segment + |suffix|, percent-decodes the
 * segment into |out|. Returns 1 on a match, 0 when the path does not match, -1
 * when the segment has a bad escape, an encoded NUL or does not fit. */
int http_path_segment(const http_request *req, const char *prefix, const char *suffix, char *out,
                      size_t outlen);

/* Decimal digits only, no sign, no overflow. Returns 0 or -1. */
int http_parse_u64(const char *s, uint64_t *out);
/* Percent-decodes |n| bytes of a path segment into |out| (NUL-terminated).
 * Returns 0, or -1 on a bad escape, an encoded NUL or |outlen| too small. */
int http_percent_decode(const char *s, size_t n, char *out, size_t outlen);

/* ------------------------------------------------------------------ gRPC (grpc.c) */

/* The gRPC status codes the server answers with. */
enum {
    HTTP_GRPC_OK = 0,
    HTTP_GRPC_CANCELLED = 1,
    HTTP_GRPC_UNKNOWN = 2,
    HTTP_GRPC_INVALID_ARGUMENT = 3,
    HTTP_GRPC_DEADLINE_EXCEEDED = 4,
    HTTP_GRPC_NOT_FOUND = 5,
    HTTP_GRPC_RESOURCE_EXHAUSTED = 8,
    HTTP_GRPC_UNIMPLEMENTED = 12,
    HTTP_GRPC_INTERNAL = 13,
    HTTP_GRPC_UNAVAILABLE = 14,
    HTTP_GRPC_UNAUTHENTICATED = 16,
};

/* 1 when |req| is a gRPC call: HTTP/2, POST, content-type application/grpc[+proto]. */
int http_grpc_is(const http_request *req);
/* The one request message of a unary or server-streaming call: its bytes in
 * *msg and *len (pointing into the body; an empty message is a NULL pointer
 * with length 0). Returns HTTP_GRPC_OK, or a status with why in |err|:
 * INVALID_ARGUMENT for a cut or extra frame, UNIMPLEMENTED for a compressed one
 * (no grpc-encoding is accepted), RESOURCE_EXHAUSTED for a body over the limit. */
int http_grpc_message(const http_request *req, const uint8_t **msg, size_t *len, char *err,
                      size_t errlen);
/* Appends |len| bytes of a message to |out| as one length-prefixed frame. */
void http_grpc_frame(ottr_buf *out, const void *msg, size_t len);
/* Makes |resp| a gRPC answer: HTTP 200, application/grpc, and the trailers
 * grpc-status |code| and, unless |msg| is NULL or empty, grpc-message (|msg|
 * percent-encoded). Messages already in |resp|'s body stay; pass an empty
 * body for an error (trailers only). */
void http_grpc_finish(http_response *resp, int code, const char *msg);
/* The grpc-timeout header in nanoseconds: 1 when present and valid, 0 when
 * absent or malformed (no deadline then). */
int http_grpc_timeout(const http_request *req, uint64_t *out_ns);
/* The gRPC code for an HTTP status a route answered (401 UNAUTHENTICATED, 429
 * RESOURCE_EXHAUSTED, 503 UNAVAILABLE, ...), as gRPC's HTTP mapping has it. */
int http_grpc_code_of_http(int status);

/* ------------------------------------------------------------------ gzip */

/* Inflates the gzip stream |in| (one or more concatenated members) into a new
 * buffer of at most |max_out| bytes. The output grows geometrically, so a small
 * body that inflates past the cap costs at most |max_out| bytes before it fails.
 * On success *out (malloc'ed, the caller frees it; NULL when the output is
 * empty) and *out_len are set. Returns OTTR_OK, or:
 *   OTTR_ERR_TOO_LARGE - the output would exceed |max_out|
 *   OTTR_ERR_CORRUPT   - not gzip, bad checksum, truncated or trailing garbage
 *   OTTR_ERR_NOMEM     - out of memory
 * On error nothing is returned to free. */
ottr_status http_gunzip(const uint8_t *in, size_t in_len, size_t max_out, uint8_t **out,
                        size_t *out_len);

#endif /* OTTR_HTTP_H */
