/* tests/http/test_server.c - the HTTP server over real sockets: libcurl
 * (HTTP/1.1 and h2c), raw sockets for malformed and split input, an nghttp2
 * client for a split preface, and h2load for throughput. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <nghttp2/nghttp2.h>

#include "http/internal.h"
#include "http/http.h"

#define MAX_BODY (1024 * 1024)

static http_server *srv;
static int port;
static atomic_int saw_too_large;
static atomic_int slow_entered;

static void echo_handler(void *ctx, const http_request *req, http_response *resp);

/* Answers a deferred request from another thread after ?ms= milliseconds. */
static void *answer_later(void *arg)
{
    http_deferred *d = arg;
    const http_request *req = http_deferred_request(d);
    char ms[16] = "50";
    http_query_param(req, "ms", 0, ms, sizeof(ms));
    struct timespec ts = {0, atol(ms) * 1000000L};
    nanosleep(&ts, NULL);
    http_response resp;
    http_response_init(&resp);
    echo_handler(NULL, req, &resp); /* a copied request cannot be deferred again */
    http_respond_async(d, &resp);
    return NULL;
}

/* Echoes what the server parsed; a few paths do more. */
static void echo_handler(void *ctx, const http_request *req, http_response *resp)
{
    (void)ctx;
    http_deferred *d;
    if (strncmp(req->path, "/defer", 6) == 0 && (d = http_defer(req)) != NULL) {
        pthread_t t;
        if (pthread_create(&t, NULL, answer_later, d) != 0)
            abort();
        pthread_detach(t);
        return;
    }
    if (req->body_too_large) {
        atomic_fetch_add(&saw_too_large, 1);
        resp->status = 413;
        ottr_buf_puts(&resp->body, "too large\n");
        return;
    }
    if (strcmp(req->path, "/slow") == 0) {
        atomic_store(&slow_entered, 1);
        struct timespec ts = {0, 400 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (strcmp(req->path, "/big") == 0) {
        char n[32] = "0";
        http_query_param(req, "n", 0, n, sizeof(n));
        size_t len = strtoul(n, NULL, 10);
        ottr_buf_reserve(&resp->body, len);
        for (size_t i = 0; i < len; i++)
            ottr_buf_putc(&resp->body, (char)('a' + i % 26));
        http_response_set_type(resp, "application/octet-stream");
        return;
    }
    if (strcmp(req->path, "/status") == 0) {
        char code[8] = "200";
        http_query_param(req, "code", 0, code, sizeof(code));
        resp->status = atoi(code);
    }
    uint32_t sum = 0;
    for (size_t i = 0; i < req->body_len; i++)
        sum = sum * 31 + req->body[i];
    ottr_buf_printf(&resp->body, "method=%s\npath=%s\nquery=%s\nbody=%zu\nsum=%u\nh2=%d\n",
                    req->method, req->path, req->query, req->body_len, sum, req->http2);
    const char *x = http_request_header(req, "X-Test");
    if (x != NULL)
        ottr_buf_printf(&resp->body, "x-test=%s\n", x);
    const char *host = http_request_header(req, "host");
    ottr_buf_printf(&resp->body, "host=%s\n", host ? host : "-");
    char v[64];
    for (int i = 0; http_query_param(req, "q", i, v, sizeof(v)); i++)
        ottr_buf_printf(&resp->body, "q%d=%s\n", i, v);
    http_response_set_header(resp, "X-Echo", "yes");
    http_response_set_type(resp, "text/x-echo");
}

static uint32_t body_sum(const char *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = sum * 31 + (uint8_t)p[i];
    return sum;
}

static int setup(void **state)
{
    (void)state;
    ottr_log_set_level(OTTR_LOG_WARN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    http_server_options o = {.name = "test",
                             .addr = "127.0.0.1:0",
                             .threads = 2,
                             .max_body_bytes = MAX_BODY,
                             .handler = echo_handler};
    char err[256];
    if (http_server_start(&o, &srv, err, sizeof(err)) != OTTR_OK) {
        fprintf(stderr, "start: %s\n", err);
        return -1;
    }
    port = http_server_port(srv);
    return port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    http_server_stop(srv);
    curl_global_cleanup();
    ottr_metrics_shutdown();
    return 0;
}

/* ------------------------------------------------------------------ curl helpers */

typedef struct reply {
    long status;
    ottr_buf body;
    ottr_buf headers;
    long connects;
    long version;
    CURLcode rc;
} reply;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    ottr_buf_append(ud, p, sz * n);
    return sz * n;
}

static void reply_free(reply *r)
{
    ottr_buf_free(&r->body);
    ottr_buf_free(&r->headers);
}

static void easy_prepare(CURL *h, reply *r, const char *path, long version)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, version);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    if (getenv("CURL_VERBOSE") != NULL)
        curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
}

static void easy_finish(CURL *h, reply *r)
{
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &r->version);
}

/* One request on |h| (reused across calls for keep-alive). */
static void do_req(CURL *h, reply *r, const char *path, long version, const char *post,
                   size_t postlen, struct curl_slist *hdrs)
{
    memset(r, 0, sizeof(*r));
    easy_prepare(h, r, path, version);
    if (post != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)postlen);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    r->rc = curl_easy_perform(h);
    easy_finish(h, r);
}

static int has(const reply *r, const char *s)
{
    return r->body.data != NULL && strstr(r->body.data, s) != NULL;
}

static char *pattern(size_t n)
{
    char *p = malloc(n + 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(i * 7 + i / 251);
    p[n] = 0;
    return p;
}

/* ------------------------------------------------------------------ HTTP/1.1 */

static void test_h1_get(void **state)
{
    (void)state;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "X-Test: hello there  ");
    reply r;
    do_req(h, &r, "/a/b?q=x%20y&q=z+w&other=1", CURL_HTTP_VERSION_1_1, NULL, 0, hdrs);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.version, CURL_HTTP_VERSION_1_1);
    assert_true(has(&r, "method=GET\n"));
    assert_true(has(&r, "path=/a/b\n"));
    assert_true(has(&r, "query=q=x%20y&q=z+w&other=1\n"));
    assert_true(has(&r, "q0=x y\nq1=z w\n"));
    assert_true(has(&r, "x-test=hello there\n"));
    assert_true(has(&r, "h2=0\n"));
    assert_non_null(strstr(r.headers.data, "X-Echo: yes\r\n"));
    assert_non_null(strstr(r.headers.data, "Content-Type: text/x-echo\r\n"));
    assert_non_null(strstr(r.headers.data, "Date: "));
    reply_free(&r);

    /* HEAD: the length of the body, not the body. */
    memset(&r, 0, sizeof(r));
    easy_prepare(h, &r, "/big?n=1000", CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    r.rc = curl_easy_perform(h);
    easy_finish(h, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers.data, "Content-Length: 1000\r\n"));
    assert_int_equal(r.body.len, 0);
    reply_free(&r);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
}

static void test_h1_post_and_keepalive(void **state)
{
    (void)state;
    CURL *h = curl_easy_init();
    size_t sizes[] = {0, 1, 1000, 70000, 300000, MAX_BODY};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *body = pattern(sizes[i]);
        reply r;
        do_req(h, &r, "/post", CURL_HTTP_VERSION_1_1, body, sizes[i], NULL);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        char want[96];
        snprintf(want, sizeof(want), "method=POST\npath=/post\nquery=\nbody=%zu\nsum=%u\n",
                 sizes[i], body_sum(body, sizes[i]));
        assert_true(has(&r, want));
        /* Every request after the first reuses the connection. */
        assert_int_equal(r.connects, i == 0 ? 1 : 0);
        reply_free(&r);
        free(body);
    }
    curl_easy_cleanup(h);
}

typedef struct upload {
    const char *data;
    size_t len, off;
} upload;

static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
    upload *u = ud;
    size_t k = sz * n;
    if (k > 777)
        k = 777; /* many small chunks */
    if (k > u->len - u->off)
        k = u->len - u->off;
    memcpy(p, u->data + u->off, k);
    u->off += k;
    return k;
}

/* A chunked upload of |len| bytes. */
static void do_chunked(CURL *h, reply *r, long version, const char *data, size_t len)
{
    upload u = {data, len, 0};
    memset(r, 0, sizeof(*r));
    easy_prepare(h, r, "/chunked", version);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Transfer-Encoding: chunked");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    r->rc = curl_easy_perform(h);
    easy_finish(h, r);
    curl_slist_free_all(hdrs);
}

static void test_h1_chunked(void **state)
{
    (void)state;
    CURL *h = curl_easy_init();
    char *body = pattern(200000);
    reply r;
    do_chunked(h, &r, CURL_HTTP_VERSION_1_1, body, 200000);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    char want[64];
    snprintf(want, sizeof(want), "body=200000\nsum=%u\n", body_sum(body, 200000));
    assert_true(has(&r, want));
    reply_free(&r);
    /* The connection stays usable after a chunked request. */
    do_req(h, &r, "/after", CURL_HTTP_VERSION_1_1, NULL, 0, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0);
    reply_free(&r);
    free(body);
    curl_easy_cleanup(h);
}

static void test_h1_too_large(void **state)
{
    (void)state;
    char *body = pattern(MAX_BODY + 1);
    CURL *h = curl_easy_init();
    int before = atomic_load(&saw_too_large);
    reply r;
    /* Content-Length over the limit, with and without Expect: 100-continue. */
    struct curl_slist *noexpect = curl_slist_append(NULL, "Expect:");
    do_req(h, &r, "/post", CURL_HTTP_VERSION_1_1, body, MAX_BODY + 1, noexpect);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 413);
    assert_true(has(&r, "too large"));
    reply_free(&r);
    struct curl_slist *expect = curl_slist_append(NULL, "Expect: 100-continue");
    do_req(h, &r, "/post", CURL_HTTP_VERSION_1_1, body, MAX_BODY + 1, expect);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 413);
    reply_free(&r);
    /* Chunked: found out while reading. */
    do_chunked(h, &r, CURL_HTTP_VERSION_1_1, body, MAX_BODY + 1);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 413);
    reply_free(&r);
    assert_int_equal(atomic_load(&saw_too_large) - before, 3);
    /* Exactly the limit is fine. */
    do_req(h, &r, "/post", CURL_HTTP_VERSION_1_1, body, MAX_BODY, expect);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    curl_slist_free_all(noexpect);
    curl_slist_free_all(expect);
    curl_easy_cleanup(h);
    free(body);
}

static void test_h1_big_response(void **state)
{
    (void)state;
    CURL *h = curl_easy_init();
    reply r;
    do_req(h, &r, "/big?n=5000000", CURL_HTTP_VERSION_1_1, NULL, 0, NULL);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 5000000);
    for (size_t i = 0; i < r.body.len; i += 4999)
        assert_int_equal(r.body.data[i], 'a' + i % 26);
    reply_free(&r);
    curl_easy_cleanup(h);
}

/* ------------------------------------------------------------------ raw sockets */

static int raw_connect(int p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void raw_send(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads until EOF (returns 1), a timeout (0) or |want| appears |count| times. */
static int raw_read(int fd, ottr_buf *b, const char *want, int count)
{
    for (;;) {
        if (want != NULL && b->data != NULL) {
            int seen = 0;
            for (const char *p = b->data; (p = strstr(p, want)) != NULL; p++)
                seen++;
            if (seen >= count)
                return 2;
        }
        char tmp[65536];
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n == 0)
            return 1;
        if (n < 0)
            return errno == ECONNRESET ? 1 : 0;
        ottr_buf_append(b, tmp, (size_t)n);
    }
}

static void test_h1_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "GET /x HTTP/9\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int fd = raw_connect(port);
        raw_send(fd, bad[i], strlen(bad[i]));
        ottr_buf b = {0};
        assert_int_equal(raw_read(fd, &b, NULL, 0), 1); /* closed */
        assert_non_null(b.data);
        assert_memory_equal(b.data, "HTTP/1.1 400 ", 13);
        assert_non_null(strstr(b.data, "Connection: close\r\n"));
        ottr_buf_free(&b);
        close(fd);
    }
}

static void test_h1_header_limits(void **state)
{
    (void)state;
    /* A header block over 64 KiB. */
    ottr_buf req = {0};
    ottr_buf_puts(&req, "GET / HTTP/1.1\r\nX-Big: ");
    for (int i = 0; i < 70000; i++)
        ottr_buf_putc(&req, 'x');
    ottr_buf_puts(&req, "\r\n\r\n");
    int fd = raw_connect(port);
    raw_send(fd, req.data, req.len);
    ottr_buf b = {0};
    assert_int_equal(raw_read(fd, &b, NULL, 0), 1);
    assert_memory_equal(b.data, "HTTP/1.1 400 ", 13);
    ottr_buf_free(&b);
    close(fd);
    /* Too many headers. */
    ottr_buf_reset(&req);
    ottr_buf_puts(&req, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 150; i++)
        ottr_buf_printf(&req, "X-H%d: v\r\n", i);
    ottr_buf_puts(&req, "\r\n");
    fd = raw_connect(port);
    raw_send(fd, req.data, req.len);
    assert_int_equal(raw_read(fd, &b, NULL, 0), 1);
    assert_memory_equal(b.data, "HTTP/1.1 400 ", 13);
    ottr_buf_free(&b);
    close(fd);
    ottr_buf_free(&req);
}

static void test_h1_pipelining(void **state)
{
    (void)state;
    const char *reqs = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                       "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                       "GET /three?q=3 HTTP/1.1\r\nHost: a\r\n\r\n";
    int fd = raw_connect(port);
    raw_send(fd, reqs, strlen(reqs));
    ottr_buf b = {0};
    assert_int_equal(raw_read(fd, &b, "HTTP/1.1 200 OK", 3), 2);
    /* Wait for the end of the last body, then check the order. */
    assert_int_equal(raw_read(fd, &b, "q0=3\n", 1), 2);
    char *one = strstr(b.data, "path=/one"), *two = strstr(b.data, "path=/two"),
         *three = strstr(b.data, "path=/three");
    assert_true(one && two && three && one < two && two < three);
    assert_non_null(strstr(b.data, "body=3\n"));
    ottr_buf_free(&b);
    close(fd);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Deferred answers keep the order of pipelined requests, and other connections
 * of the same loop are served while one waits. */
static void test_h1_deferred(void **state)
{
    (void)state;
    const char *reqs = "GET /defer?ms=300 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                       "HEAD /defer?ms=10&q=3 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "POST /defer?ms=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxy"
                       "GET /three?q=9 HTTP/1.1\r\nHost: a\r\n\r\n";
    uint64_t t0 = now_ms();
    int fd = raw_connect(port);
    raw_send(fd, reqs, strlen(reqs));
    /* Meanwhile, on other connections (both loop threads). */
    for (int i = 0; i < 4; i++) {
        int fd2 = raw_connect(port);
        const char *one = "GET /one HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        raw_send(fd2, one, strlen(one));
        ottr_buf b2 = {0};
        assert_int_equal(raw_read(fd2, &b2, NULL, 0), 1);
        assert_non_null(strstr(b2.data, "path=/one"));
        ottr_buf_free(&b2);
        close(fd2);
    }
    assert_true(now_ms() - t0 < 250);
    ottr_buf b = {0};
    assert_int_equal(raw_read(fd, &b, "q0=9\n", 1), 2);
    char *first = strstr(b.data, "query=ms=300"), *two = strstr(b.data, "path=/two"),
         *post = strstr(b.data, "sum=3841"), *three = strstr(b.data, "path=/three");
    assert_true(first && two && post && three && first < two && two < post && post < three);
    assert_null(strstr(b.data, "query=ms=10")); /* HEAD: no body */
    int heads = 0;
    for (const char *p = b.data; (p = strstr(p, "HTTP/1.1 200 OK")) != NULL; p++)
        heads++;
    assert_int_equal(heads, 5);
    ottr_buf_free(&b);
    close(fd);
    /* A connection that goes away before its answer: the answer is dropped. */
    fd = raw_connect(port);
    const char *gone = "GET /defer?ms=50 HTTP/1.1\r\nHost: a\r\n\r\n";
    raw_send(fd, gone, strlen(gone));
    close(fd);
    while (atomic_load(&srv->ndeferred) > 0 && now_ms() - t0 < 5000) {
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&srv->ndeferred), 0);
}

static void test_h1_expect_continue(void **state)
{
    (void)state;
    int fd = raw_connect(port);
    const char *head = "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\n\r\n";
    raw_send(fd, head, strlen(head));
    ottr_buf b = {0};
    assert_int_equal(raw_read(fd, &b, "\r\n\r\n", 1), 2);
    assert_string_equal(b.data, "HTTP/1.1 100 Continue\r\n\r\n");
    raw_send(fd, "hello", 5);
    assert_int_equal(raw_read(fd, &b, "host=a\n", 1), 2);
    assert_non_null(strstr(b.data, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(b.data, "body=5\n"));
    ottr_buf_free(&b);
    close(fd);
}

static void test_h1_connection_close(void **state)
{
    (void)state;
    const char *reqs[] = {"GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                          "GET /c HTTP/1.0\r\n\r\n"};
    for (int i = 0; i < 2; i++) {
        int fd = raw_connect(port);
        raw_send(fd, reqs[i], strlen(reqs[i]));
        ottr_buf b = {0};
        assert_int_equal(raw_read(fd, &b, NULL, 0), 1);
        assert_non_null(strstr(b.data, "HTTP/1.1 200 OK\r\n"));
        assert_non_null(strstr(b.data, "Connection: close\r\n"));
        assert_non_null(strstr(b.data, "path=/c\n"));
        ottr_buf_free(&b);
        close(fd);
    }
    /* HTTP/1.0 keep-alive stays open. */
    int fd = raw_connect(port);
    const char *ka = "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    raw_send(fd, ka, strlen(ka));
    ottr_buf b = {0};
    assert_int_equal(raw_read(fd, &b, "host=-\n", 1), 2);
    assert_non_null(strstr(b.data, "Connection: keep-alive\r\n"));
    raw_send(fd, ka, strlen(ka));
    assert_int_equal(raw_read(fd, &b, "host=-\n", 2), 2);
    ottr_buf_free(&b);
    close(fd);
}

static void test_query_param(void **state)
{
    (void)state;
    http_request req = {.query = "q=a%20b&q=c+d&flag&y=%zz&k%65y=v&empty=&q=%E2%82%AC&z=%00"};
    char out[32];
    assert_int_equal(http_query_param(&req, "q", 0, out, sizeof(out)), 1);
    assert_string_equal(out, "a b");
    assert_int_equal(http_query_param(&req, "q", 1, out, sizeof(out)), 1);
    assert_string_equal(out, "c d");
    assert_int_equal(http_query_param(&req, "q", 2, out, sizeof(out)), 1);
    assert_string_equal(out, "\xe2\x82\xac");
    assert_int_equal(http_query_param(&req, "q", 3, out, sizeof(out)), 0);
    assert_int_equal(http_query_param(&req, "flag", 0, out, sizeof(out)), 1);
    assert_string_equal(out, "");
    assert_int_equal(http_query_param(&req, "y", 0, out, sizeof(out)), 1);
    assert_string_equal(out, "%zz");
    assert_int_equal(http_query_param(&req, "key", 0, out, sizeof(out)), 1);
    assert_string_equal(out, "v");
    assert_int_equal(http_query_param(&req, "empty", 0, out, sizeof(out)), 1);
    assert_string_equal(out, "");
    assert_int_equal(http_query_param(&req, "z", 0, out, sizeof(out)), 1);
    assert_string_equal(out, "%00");
    assert_int_equal(http_query_param(&req, "missing", 0, out, sizeof(out)), 0);
    assert_int_equal(http_query_param(&req, "k", 0, out, sizeof(out)), 0);
    /* Truncated to the buffer. */
    assert_int_equal(http_query_param(&req, "q", 1, out, 3), 1);
    assert_string_equal(out, "c ");
    http_request none = {.query = ""};
    assert_int_equal(http_query_param(&none, "q", 0, out, sizeof(out)), 0);

    http_header hs[] = {{"content-type", "a/b"}, {"x-one", "1"}};
    http_request hr = {.headers = hs, .nheaders = 2};
    assert_string_equal(http_request_header(&hr, "Content-Type"), "a/b");
    assert_string_equal(http_request_header(&hr, "X-ONE"), "1");
    assert_null(http_request_header(&hr, "x-two"));

    http_response resp;
    http_response_init(&resp);
    http_response_set_header(&resp, "Retry-After", "1");
    http_response_set_header(&resp, "retry-after", "2");
    http_response_set_header(&resp, "X-Bad", "a\r\nInjected: 1");
    assert_int_equal(resp.nextra, 1);
    assert_string_equal(resp.extra_value[0], "2");
    http_response_set_type(&resp, "application/json");
    assert_string_equal(resp.content_type, "application/json");
}

/* ------------------------------------------------------------------ HTTP/2 */

/* libcurl 7.88.1 cannot reuse an h2c prior-knowledge connection (its fix came in
 * 8.0), so each curl request below gets its own connection; streams multiplexed
 * on one connection are driven with an nghttp2 client. */

static void test_h2_curl(void **state)
{
    (void)state;
    char *body = pattern(300000);
    for (int i = 0; i < 2; i++) {
        CURL *h = curl_easy_init();
        struct curl_slist *hdrs = curl_slist_append(NULL, "X-Test: h2");
        reply r;
        do_req(h, &r, "/h2?q=a+b", CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, i ? body : NULL,
               i ? 300000 : 0, hdrs);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.version, CURL_HTTP_VERSION_2_0);
        char want[160];
        snprintf(want, sizeof(want), "method=%s\npath=/h2\nquery=q=a+b\nbody=%d\nsum=%u\nh2=1\n",
                 i ? "POST" : "GET", i ? 300000 : 0, i ? body_sum(body, 300000) : 0);
        assert_true(has(&r, want));
        assert_true(has(&r, "x-test=h2\n"));
        assert_true(has(&r, "q0=a b\n"));
        snprintf(want, sizeof(want), "host=127.0.0.1:%d\n", port);
        assert_true(has(&r, want));
        assert_non_null(strstr(r.headers.data, "x-echo: yes\r\n"));
        assert_non_null(strstr(r.headers.data, "content-type: text/x-echo\r\n"));
        reply_free(&r);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
    }
    free(body);
}

/* ---- a small nghttp2 client */

typedef struct h2req {
    const char *method;
    const char *path;
    const char *body; /* NULL: no body */
    size_t body_len, body_off;
    int extra_headers; /* "x-h<i>: v" headers to add */
    int32_t id;
    int status;
    int closed;
    uint32_t error;
    ottr_buf resp;
} h2req;

typedef struct h2client {
    int fd;
    h2req *reqs;
    int n;
    int nclosed;
    int goaway;
} h2client;

static h2req *h2c_req(nghttp2_session *s, int32_t id)
{
    return nghttp2_session_get_stream_user_data(s, id);
}

static int h2c_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                      size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                      void *ud)
{
    (void)flags, (void)ud, (void)valuelen;
    h2req *r = h2c_req(s, f->hd.stream_id);
    if (r != NULL && namelen == 7 && memcmp(name, ":status", 7) == 0)
        r->status = atoi((const char *)value);
    return 0;
}

static int h2c_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                    void *ud)
{
    (void)flags, (void)ud;
    h2req *r = h2c_req(s, id);
    if (r != NULL)
        ottr_buf_append(&r->resp, data, len);
    return 0;
}

static int h2c_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    h2client *c = ud;
    h2req *r = h2c_req(s, id);
    if (r != NULL) {
        r->closed = 1;
        r->error = code;
        c->nclosed++;
    }
    return 0;
}

static int h2c_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    if (f->hd.type == NGHTTP2_GOAWAY)
        ((h2client *)ud)->goaway = 1;
    return 0;
}

static ssize_t h2c_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                        nghttp2_data_source *src, void *ud)
{
    (void)s, (void)id, (void)ud;
    h2req *r = src->ptr;
    size_t k = r->body_len - r->body_off;
    if (k > len)
        k = len;
    memcpy(buf, r->body + r->body_off, k);
    r->body_off += k;
    if (r->body_off == r->body_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)k;
}

/* Sends all |reqs| at once on one new connection and runs it until every stream
 * closed (or the server ended the connection). The first |split| bytes go out
 * alone, followed by a pause. Returns the number of streams closed. */
static int h2_run(int p, h2req *reqs, int n, size_t split)
{
    h2client c = {.fd = raw_connect(p), .reqs = reqs, .n = n};
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2c_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2c_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2c_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2c_frame);
    nghttp2_session *s;
    assert_int_equal(nghttp2_session_client_new(&s, cb, &c), 0);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
    char authority[32];
    snprintf(authority, sizeof(authority), "127.0.0.1:%d", p);
    for (int i = 0; i < n; i++) {
        h2req *r = &reqs[i];
        char clen[24];
        snprintf(clen, sizeof(clen), "%zu", r->body_len);
        nghttp2_nv nva[] = {
            {(uint8_t *)":method", (uint8_t *)r->method, 7, strlen(r->method), 0},
            {(uint8_t *)":path", (uint8_t *)r->path, 5, strlen(r->path), 0},
            {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
            {(uint8_t *)":authority", (uint8_t *)authority, 10, strlen(authority), 0},
            {(uint8_t *)"content-length", (uint8_t *)clen, 14, strlen(clen), 0},
        };
        nghttp2_nv all[5 + 200];
        char names[200][16];
        size_t nnv = r->body ? 5 : 4;
        memcpy(all, nva, nnv * sizeof(nghttp2_nv));
        for (int k = 0; k < r->extra_headers && k < 200; k++) {
            snprintf(names[k], sizeof(names[k]), "x-h%d", k);
            all[nnv++] = (nghttp2_nv){(uint8_t *)names[k], (uint8_t *)"v", strlen(names[k]), 1, 0};
        }
        nghttp2_data_provider prd = {.source.ptr = r, .read_callback = h2c_read};
        r->id = nghttp2_submit_request(s, NULL, all, nnv, r->body ? &prd : NULL, r);
        assert_true(r->id > 0);
    }
    ottr_buf out = {0};
    size_t off = 0;
    int first = split > 0;
    while (c.nclosed < n) {
        const uint8_t *d;
        ssize_t k;
        while (out.len - off < 65536 && (k = nghttp2_session_mem_send(s, &d)) > 0)
            ottr_buf_append(&out, d, (size_t)k);
        if (first && out.len > split) {
            raw_send(c.fd, out.data, split);
            struct timespec ts = {0, 150 * 1000000};
            nanosleep(&ts, NULL);
            off = split;
            first = 0;
        }
        struct pollfd pfd = {.fd = c.fd, .events = POLLIN | (out.len > off ? POLLOUT : 0)};
        assert_true(poll(&pfd, 1, 10000) > 0);
        if (pfd.revents & POLLOUT) {
            ssize_t w = send(c.fd, out.data + off, out.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            assert_true(w > 0 || errno == EAGAIN);
            if (w > 0)
                off += (size_t)w;
            if (off == out.len) {
                ottr_buf_reset(&out);
                off = 0;
            }
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            uint8_t buf[65536];
            ssize_t r = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (r <= 0 && !(r < 0 && errno == EAGAIN))
                break; /* the server closed */
            if (r > 0)
                assert_int_equal(nghttp2_session_mem_recv(s, buf, (size_t)r), r);
        }
    }
    ottr_buf_free(&out);
    nghttp2_session_del(s);
    nghttp2_session_callbacks_del(cb);
    close(c.fd);
    return c.nclosed;
}

static void h2req_free(h2req *r, int n)
{
    for (int i = 0; i < n; i++)
        ottr_buf_free(&r[i].resp);
}

static void test_h2_multiplexed(void **state)
{
    (void)state;
    enum { N = 40 };
    h2req reqs[N];
    char paths[N][32];
    char *body = pattern(200000);
    memset(reqs, 0, sizeof(reqs));
    for (int i = 0; i < N; i++) {
        snprintf(paths[i], sizeof(paths[i]), "/s%d?q=%d", i, i);
        reqs[i].method = i % 3 == 1 ? "POST" : "GET";
        reqs[i].path = paths[i];
        if (i % 3 == 1) {
            reqs[i].body = body;
            reqs[i].body_len = 200000 - (size_t)i;
        }
    }
    reqs[N - 1].path = "/big?n=3000000";
    assert_int_equal(h2_run(port, reqs, N, 0), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(reqs[i].error, 0);
        assert_int_equal(reqs[i].status, 200);
        if (i == N - 1) {
            assert_int_equal(reqs[i].resp.len, 3000000);
            assert_int_equal(reqs[i].resp.data[2999999], 'a' + 2999999 % 26);
            continue;
        }
        char want[128];
        snprintf(want, sizeof(want), "method=%s\npath=/s%d\nquery=q=%d\nbody=%zu\nsum=%u\nh2=1\n",
                 reqs[i].method, i, i, reqs[i].body_len, body_sum(body, reqs[i].body_len));
        assert_non_null(strstr(reqs[i].resp.data, want));
    }
    h2req_free(reqs, N);
    free(body);
}

/* Deferred streams are answered when ready; the others go on meanwhile. */
static void test_h2_deferred(void **state)
{
    (void)state;
    enum { N = 6 };
    h2req reqs[N];
    memset(reqs, 0, sizeof(reqs));
    const char *paths[N] = {"/defer?ms=200", "/a", "/defer?ms=20", "/b", "/defer?ms=1", "/c"};
    for (int i = 0; i < N; i++) {
        reqs[i].method = "GET";
        reqs[i].path = paths[i];
    }
    reqs[4].method = "POST";
    reqs[4].body = "xy";
    reqs[4].body_len = 2;
    assert_int_equal(h2_run(port, reqs, N, 0), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(reqs[i].error, 0);
        assert_int_equal(reqs[i].status, 200);
        char want[64];
        const char *q = strchr(paths[i], '?');
        snprintf(want, sizeof(want), "query=%s\n", q ? q + 1 : "");
        assert_non_null(strstr(reqs[i].resp.data, want));
    }
    assert_non_null(strstr(reqs[4].resp.data, "body=2\nsum=3841\n"));
    h2req_free(reqs, N);
}

static void test_h2_too_large(void **state)
{
    (void)state;
    char *body = pattern(MAX_BODY + 1);
    int before = atomic_load(&saw_too_large);
    CURL *h = curl_easy_init();
    reply r;
    do_req(h, &r, "/post", CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, body, MAX_BODY + 1, NULL);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 413);
    assert_int_equal(r.version, CURL_HTTP_VERSION_2_0);
    assert_true(has(&r, "too large"));
    reply_free(&r);
    curl_easy_cleanup(h);
    /* On one connection: over the limit with and without a content-length,
     * exactly the limit, and a small request; each stream gets its answer. */
    h2req reqs[4];
    memset(reqs, 0, sizeof(reqs));
    reqs[0] = (h2req){.method = "POST", .path = "/a", .body = body, .body_len = MAX_BODY + 1};
    reqs[1] = (h2req){.method = "POST", .path = "/b", .body = body, .body_len = MAX_BODY};
    reqs[2] = (h2req){.method = "GET", .path = "/c"};
    reqs[3] = (h2req){.method = "PUT", .path = "/d", .body = body, .body_len = MAX_BODY + 1};
    assert_int_equal(h2_run(port, reqs, 4, 0), 4);
    assert_int_equal(reqs[0].status, 413);
    assert_int_equal(reqs[1].status, 200);
    assert_non_null(strstr(reqs[1].resp.data, "body=1048576\n"));
    assert_int_equal(reqs[2].status, 200);
    assert_int_equal(reqs[3].status, 413);
    assert_int_equal(atomic_load(&saw_too_large) - before, 3);
    h2req_free(reqs, 4);
    free(body);
}

static void test_h2_bad(void **state)
{
    (void)state;
    /* Too many headers: 400 on that stream, the others are served. */
    h2req reqs[2];
    memset(reqs, 0, sizeof(reqs));
    reqs[0] = (h2req){.method = "GET", .path = "/many", .extra_headers = 150};
    reqs[1] = (h2req){.method = "GET", .path = "/fine", .extra_headers = 50};
    assert_int_equal(h2_run(port, reqs, 2, 0), 2);
    assert_int_equal(reqs[0].status, 400);
    assert_int_equal(reqs[1].status, 200);
    h2req_free(reqs, 2);

    /* A frame error after the preface: the server answers with GOAWAY and closes. */
    int fd = raw_connect(port);
    static const char bad[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                              "\x00\x00\x01\x04\x00\x00\x00\x00\x00\x00";
    raw_send(fd, bad, sizeof(bad) - 1);
    ottr_buf b = {0};
    assert_int_equal(raw_read(fd, &b, NULL, 0), 1);
    /* Walk the frames: SETTINGS, then a GOAWAY with FRAME_SIZE_ERROR (6). */
    int goaway = 0;
    for (size_t off = 0; off + 9 <= b.len;) {
        const uint8_t *f = (const uint8_t *)b.data + off;
        size_t len = (size_t)f[0] << 16 | (size_t)f[1] << 8 | f[2];
        if (f[3] == 7 && off + 9 + 8 <= b.len)
            goaway = f[9 + 7] == 6 ? 1 : -1;
        off += 9 + len;
    }
    assert_int_equal(goaway, 1);
    ottr_buf_free(&b);
    close(fd);
}

/* The client preface arrives in two writes with a pause between them. */
static void test_h2_split_preface(void **state)
{
    (void)state;
    size_t splits[] = {1, 10, 23, 24, 30};
    for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
        h2req r = {.method = "GET", .path = "/split?q=1"};
        assert_int_equal(h2_run(port, &r, 1, splits[i]), 1);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.resp.data, "path=/split\n"));
        assert_non_null(strstr(r.resp.data, "h2=1\n"));
        h2req_free(&r, 1);
    }
}

/* Not HTTP/2 after all: a request line that starts like the preface. */
static void test_h2_prefix_then_h1(void **state)
{
    (void)state;
    int fd = raw_connect(port);
    raw_send(fd, "PRI", 3);
    struct timespec ts = {0, 100 * 1000000};
    nanosleep(&ts, NULL);
    raw_send(fd, " /x HTTP/1.1\r\n\r\n", 17);
    ottr_buf b = {0};
    raw_read(fd, &b, "\r\n\r\n", 1);
    assert_non_null(b.data);
    assert_memory_equal(b.data, "HTTP/1.1 ", 9);
    ottr_buf_free(&b);
    close(fd);
}

/* ------------------------------------------------------------------ load */

/* Runs h2load and returns the req/s it reports (0 when requests failed). */
static double run_h2load(const char *extra)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s %s -n 2000 -c 4 -m 10 http://127.0.0.1:%d/x 2>&1", OTTR_H2LOAD,
             extra, port);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512];
    double rps = 0;
    long succeeded = -1;
    while (fgets(line, sizeof(line), p) != NULL) {
        const char *f = strstr(line, "finished in");
        if (f != NULL) {
            const char *c = strchr(f, ',');
            if (c != NULL)
                rps = strtod(c + 1, NULL);
        }
        const char *r = strstr(line, "requests:");
        if (r != NULL) {
            const char *s = strstr(r, "done, ");
            if (s != NULL)
                succeeded = strtol(s + 6, NULL, 10);
        }
    }
    int rc = pclose(p);
    assert_int_equal(rc, 0);
    assert_int_equal(succeeded, 2000);
    return rps;
}

static void test_h2load(void **state)
{
    (void)state;
    double h2 = run_h2load("");
    double h1 = run_h2load("--h1");
    fprintf(stderr, "h2load -n 2000 -c 4 -m 10: h2c %.0f req/s, HTTP/1.1 %.0f req/s\n", h2, h1);
    assert_true(h2 > 0 && h1 > 0);
}

/* ------------------------------------------------------------------ lifecycle */

static void test_metrics(void **state)
{
    (void)state;
    ottr_buf b = {0};
    ottr_metrics_render(&b);
    assert_non_null(strstr(b.data, "ottr_http_connections_total{server=\"test\"}"));
    assert_non_null(strstr(b.data, "ottr_http_requests_total{server=\"test\",version=\"1.1\"}"));
    assert_non_null(strstr(b.data, "ottr_http_requests_total{server=\"test\",version=\"2\"}"));
    assert_non_null(strstr(b.data, "ottr_http_bad_requests_total{server=\"test\"}"));
    ottr_buf_free(&b);
}

static http_server *start_limited(const http_limits *l)
{
    http_server_options o = {.name = "limited",
                             .addr = "127.0.0.1:0",
                             .threads = 1,
                             .max_body_bytes = 1000,
                             .handler = echo_handler};
    http_server *s;
    char err[256];
    assert_int_equal(http_server_start_limits(&o, l, &s, err, sizeof(err)), OTTR_OK);
    return s;
}

static void test_timeouts(void **state)
{
    (void)state;
    http_limits l;
    http_limits_default(&l);
    l.idle_timeout_ms = 1500;
    l.header_timeout_ms = 500;
    http_server *s = start_limited(&l);
    int p = http_server_port(s);
    /* A header section that never ends gets 408 and a close. */
    int fd = raw_connect(p);
    raw_send(fd, "GET / HTTP/1.1\r\nX-Slow: ", 24);
    uint64_t t0 = http_now_ms();
    ottr_buf b = {0};
    assert_int_equal(raw_read(fd, &b, NULL, 0), 1);
    assert_memory_equal(b.data, "HTTP/1.1 408 ", 13);
    assert_true(http_now_ms() - t0 < 4000);
    ottr_buf_free(&b);
    close(fd);
    /* A silent connection is closed. */
    fd = raw_connect(p);
    t0 = http_now_ms();
    assert_int_equal(raw_read(fd, &b, NULL, 0), 1);
    assert_null(b.data);
    assert_true(http_now_ms() - t0 >= 1000);
    close(fd);
    /* The same with half an HTTP/2 preface. */
    fd = raw_connect(p);
    raw_send(fd, "PRI * HTTP", 10);
    assert_int_equal(raw_read(fd, &b, NULL, 0), 1);
    close(fd);
    http_server_stop(s);
}

/* At the cap a newcomer is let in in place of the connection that has gone
 * longest without finishing anything: idle the longest, or receiving one request
 * the longest. */
static void test_max_connections(void **state)
{
    (void)state;
    http_limits l;
    http_limits_default(&l);
    l.max_connections = 2;
    http_server *s = start_limited(&l);
    int p = http_server_port(s);
    uint64_t evicted0 = ottr_counter_value(s->m_evicted);
    const char *req = "GET /m HTTP/1.1\r\nHost: h\r\n\r\n";
    /* A request under way, its headers seen by the server (it answers 100). */
    const char *part = "POST /m HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
                       "Expect: 100-continue\r\n\r\n";
    ottr_buf out = {0}, none = {0};
    int a = raw_connect(p);
    raw_send(a, req, strlen(req));
    assert_int_equal(raw_read(a, &out, "host=h\n", 1), 2); /* a: idle, kept alive */
    int b = raw_connect(p);
    raw_send(b, part, strlen(part));
    assert_int_equal(raw_read(b, &out, "100 Continue", 1), 2);
    /* c takes the place of a, idle since before b's request began. */
    int c = raw_connect(p);
    assert_int_equal(raw_read(a, &none, NULL, 0), 1);
    assert_null(none.data);
    raw_send(c, part, strlen(part)); /* younger than b's */
    ottr_buf_reset(&out);
    assert_int_equal(raw_read(c, &out, "100 Continue", 1), 2);
    /* d takes b's place, the older of two requests under way. */
    int d = raw_connect(p);
    assert_int_equal(raw_read(b, &none, NULL, 0), 1);
    assert_null(none.data);
    raw_send(d, req, strlen(req));
    assert_int_equal(raw_read(d, &out, "host=h\n", 1), 2);
    raw_send(c, "abcd", 4);
    ottr_buf_reset(&out);
    assert_int_equal(raw_read(c, &out, "body=4\n", 1), 2);
    assert_int_equal(ottr_counter_value(s->m_evicted) - evicted0, 2);
    close(a);
    close(b);
    close(c);
    close(d);
    ottr_buf_free(&out);
    http_server_stop(s);
}

/* A body trickled byte by byte, each byte in time for the idle limit, is cut by
 * the request deadline; one slower than the minimum rate sooner. */
static void test_request_deadline(void **state)
{
    (void)state;
    http_limits l;
    http_limits_default(&l);
    l.request_timeout_ms = 800;
    l.min_body_rate = 0;
    http_server *s = start_limited(&l);
    int p = http_server_port(s);
    uint64_t timed0 = ottr_counter_value(s->m_timeouts);
    int fd = raw_connect(p);
    const char *head = "POST /m HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n";
    raw_send(fd, head, strlen(head));
    uint64_t t0 = http_now_ms();
    ottr_buf b = {0};
    for (int i = 0; i < 40 && b.data == NULL; i++) {
        raw_send(fd, "x", 1);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 100) == 1)
            assert_int_equal(raw_read(fd, &b, "request timeout\n", 1), 2);
    }
    assert_non_null(b.data);
    assert_memory_equal(b.data, "HTTP/1.1 408 ", 13);
    assert_true(http_now_ms() - t0 < 2500);
    assert_int_equal(ottr_counter_value(s->m_timeouts) - timed0, 1);
    ottr_buf_free(&b);
    close(fd);
    http_server_stop(s);

    /* The minimum body rate. */
    l.request_timeout_ms = 30000;
    l.min_body_rate = 10000;
    l.body_rate_window_ms = 300;
    s = start_limited(&l);
    p = http_server_port(s);
    uint64_t slow0 = ottr_counter_value(s->m_slow);
    fd = raw_connect(p);
    raw_send(fd, head, strlen(head));
    raw_send(fd, "0123456789", 10);
    t0 = http_now_ms();
    assert_int_equal(raw_read(fd, &b, "request timeout\n", 1), 2);
    assert_memory_equal(b.data, "HTTP/1.1 408 ", 13);
    assert_true(http_now_ms() - t0 < 2000);
    assert_int_equal(ottr_counter_value(s->m_slow) - slow0, 1);
    ottr_buf_free(&b);
    close(fd);
    /* A request that arrives in time is not disturbed. */
    fd = raw_connect(p);
    raw_send(fd, head, strlen(head));
    char body[100];
    memset(body, 'y', sizeof(body));
    raw_send(fd, body, sizeof(body));
    assert_int_equal(raw_read(fd, &b, "body=100\n", 1), 2);
    ottr_buf_free(&b);
    close(fd);
    http_server_stop(s);
}

/* Walks the HTTP/2 frames in |b| from |off|; returns the flags of the frame
 * types seen as bits (1 << type) and the error code of the first RST_STREAM. */
static unsigned h2_frame_types(const ottr_buf *b, size_t off, uint32_t *rst_code)
{
    unsigned seen = 0;
    const uint8_t *d = (const uint8_t *)b->data;
    while (off + 9 <= b->len) {
        size_t len = ((size_t)d[off] << 16) | ((size_t)d[off + 1] << 8) | d[off + 2];
        uint8_t type = d[off + 3];
        if (type == 3 && len >= 4 && off + 13 <= b->len && !(seen & (1u << 3)))
            *rst_code = ((uint32_t)d[off + 9] << 24) | ((uint32_t)d[off + 10] << 16) |
                        ((uint32_t)d[off + 11] << 8) | d[off + 12];
        if (type < 32)
            seen |= 1u << type;
        off += 9 + len;
    }
    return seen;
}

/* An HTTP/2 stream whose request does not end in time gets 408 and a reset, and
 * the connection a GOAWAY and a close. */
static void test_request_deadline_h2(void **state)
{
    (void)state;
    http_limits l;
    http_limits_default(&l);
    l.request_timeout_ms = 600;
    http_server *s = start_limited(&l);
    uint64_t timed0 = ottr_counter_value(s->m_timeouts);
    int fd = raw_connect(http_server_port(s));
    /* Preface, empty SETTINGS, then HEADERS without END_STREAM on stream 1:
     * :method POST, :path /, :scheme http, :authority h. */
    static const uint8_t open_stream[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                         "\x00\x00\x00\x04\x00\x00\x00\x00\x00"
                                         "\x00\x00\x06\x01\x04\x00\x00\x00\x01"
                                         "\x83\x84\x86\x01\x01h";
    raw_send(fd, open_stream, sizeof(open_stream) - 1);
    uint64_t t0 = http_now_ms();
    ottr_buf b = {0};
    assert_int_equal(raw_read(fd, &b, NULL, 0), 1);
    assert_true(http_now_ms() - t0 < 3000);
    uint32_t code = 99;
    unsigned types = h2_frame_types(&b, 0, &code);
    assert_true(types & (1u << 1)); /* HEADERS: the 408 */
    assert_true(types & (1u << 3)); /* RST_STREAM */
    assert_int_equal(code, 0);      /* NO_ERROR */
    assert_true(types & (1u << 7)); /* GOAWAY */
    assert_int_equal(ottr_counter_value(s->m_timeouts) - timed0, 1);
    ottr_buf_free(&b);
    close(fd);
    http_server_stop(s);
}

/* Past its address's cap a client gets 503 with Retry-After and a close. */
static void test_per_ip_cap(void **state)
{
    (void)state;
    http_limits l;
    http_limits_default(&l);
    l.max_conns_per_ip = 2;
    http_server *s = start_limited(&l);
    int p = http_server_port(s);
    uint64_t refused0 = ottr_counter_value(s->m_refused_ip);
    int a = raw_connect(p), b = raw_connect(p);
    int c = raw_connect(p);
    ottr_buf out = {0};
    assert_int_equal(raw_read(c, &out, NULL, 0), 1);
    assert_non_null(out.data);
    assert_memory_equal(out.data, "HTTP/1.1 503 ", 13);
    assert_non_null(strstr(out.data, "Retry-After: 1\r\n"));
    close(c);
    assert_int_equal(ottr_counter_value(s->m_refused_ip) - refused0, 1);
    /* Once one closes, a new one is let in. */
    close(a);
    const char *req = "GET /m HTTP/1.1\r\nHost: h\r\n\r\n";
    int served = 0;
    for (uint64_t t0 = http_now_ms(); !served && http_now_ms() - t0 < 3000;) {
        int d = raw_connect(p);
        ottr_buf_reset(&out);
        if (send(d, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req))
            served = raw_read(d, &out, "host=h\n", 1) == 2;
        close(d);
    }
    assert_true(served);
    close(b);
    ottr_buf_free(&out);
    http_server_stop(s);
}

typedef struct slow_arg {
    int port;
    long version;
    reply r;
} slow_arg;

static void *slow_client(void *arg)
{
    slow_arg *a = arg;
    CURL *h = curl_easy_init();
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", a->port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, a->version);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a->r.body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    a->r.rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->r.status);
    curl_easy_cleanup(h);
    return NULL;
}

/* Stopping lets a request in progress finish, on both protocols. */
static void test_stop_drains(void **state)
{
    (void)state;
    long versions[] = {CURL_HTTP_VERSION_1_1, CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    for (int v = 0; v < 2; v++) {
        http_limits l;
        http_limits_default(&l);
        http_server *s = start_limited(&l);
        /* An idle keep-alive connection does not hold up the stop. */
        int idle = raw_connect(http_server_port(s));
        const char *req = "GET /i HTTP/1.1\r\nHost: h\r\n\r\n";
        raw_send(idle, req, strlen(req));
        ottr_buf out = {0};
        assert_int_equal(raw_read(idle, &out, "host=h\n", 1), 2);
        ottr_buf_free(&out);

        slow_arg a = {.port = http_server_port(s), .version = versions[v]};
        atomic_store(&slow_entered, 0);
        pthread_t t;
        pthread_create(&t, NULL, slow_client, &a);
        while (!atomic_load(&slow_entered)) {
            struct timespec ts = {0, 5 * 1000000};
            nanosleep(&ts, NULL);
        }
        uint64_t t0 = http_now_ms();
        http_server_stop(s);
        assert_true(http_now_ms() - t0 < 1500);
        pthread_join(t, NULL);
        assert_int_equal(a.r.rc, CURLE_OK);
        assert_int_equal(a.r.status, 200);
        assert_true(has(&a.r, "path=/slow\n"));
        reply_free(&a.r);
        assert_int_equal(raw_read(idle, &out, NULL, 0), 1);
        close(idle);
    }
}

static void test_bind_error(void **state)
{
    (void)state;
    char addr[64], err[256];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    http_server_options o = {
        .name = "dup", .addr = addr, .threads = 1, .max_body_bytes = 10, .handler = echo_handler};
    http_server *s = NULL;
    assert_int_equal(http_server_start(&o, &s, err, sizeof(err)), OTTR_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err, "bind 127.0.0.1:"));
    assert_non_null(strstr(err, "Address already in use"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_param),
        cmocka_unit_test(test_h1_get),
        cmocka_unit_test(test_h1_post_and_keepalive),
        cmocka_unit_test(test_h1_chunked),
        cmocka_unit_test(test_h1_too_large),
        cmocka_unit_test(test_h1_big_response),
        cmocka_unit_test(test_h1_malformed),
        cmocka_unit_test(test_h1_header_limits),
        cmocka_unit_test(test_h1_pipelining),
        cmocka_unit_test(test_h1_deferred),
        cmocka_unit_test(test_h1_expect_continue),
        cmocka_unit_test(test_h1_connection_close),
        cmocka_unit_test(test_h2_curl),
        cmocka_unit_test(test_h2_multiplexed),
        cmocka_unit_test(test_h2_deferred),
        cmocka_unit_test(test_h2_too_large),
        cmocka_unit_test(test_h2_bad),
        cmocka_unit_test(test_h2_split_preface),
        cmocka_unit_test(test_h2_prefix_then_h1),
        cmocka_unit_test(test_h2load),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_request_deadline),
        cmocka_unit_test(test_request_deadline_h2),
        cmocka_unit_test(test_per_ip_cap),
        cmocka_unit_test(test_stop_drains),
        cmocka_unit_test(test_bind_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
