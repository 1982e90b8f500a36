/* fuzz/http_feed.h - what the HTTP fuzz targets (http1.c, h2c.c) share: a
 * handler that reads a request the way the routes do (headers, parameters,
 * gzip bodies) and answers in several shapes, and the run of one connection
 * over the input through http_feed_for_test (http/feed.c). The first input byte
 * picks the size of the reads the server sees. */
#ifndef OTTR_FUZZ_HTTP_FEED_H
#define OTTR_FUZZ_HTTP_FEED_H

#include "fuzz/fuzz.h"
#include "http/internal.h"

#define FUZZ_MAX_BODY (64 * 1024)

static void fuzz_http_handler(void *ctx, const http_request *req, http_response *resp)
{
    (void)ctx;
    FUZZ_CHECK(req->method != NULL && req->path != NULL && req->query != NULL);
    FUZZ_CHECK(req->body_len <= FUZZ_MAX_BODY && (req->body == NULL) == (req->body_len == 0));
    FUZZ_CHECK(!req->body_too_large || req->body == NULL);
    for (size_t i = 0; i < req->nheaders; i++)
        FUZZ_CHECK(req->headers[i].name != NULL && req->headers[i].value != NULL);
    char v[128];
    http_param_err e;
    uint64_t u;
    http_param_str(req, "q", 0, v, sizeof(v), &e);
    http_param_u64(req, "limit", &u, &e);
    const char *enc = http_request_header(req, "content-encoding");
    if (enc != NULL && strcmp(enc, "gzip") == 0 && req->body != NULL) {
        uint8_t *out = NULL;
        size_t n = 0;
        if (http_gunzip(req->body, req->body_len, FUZZ_MAX_BODY, &out, &n) == OTTR_OK)
            ottr_buf_append(&resp->body, out, n);
        free(out);
    }
    if (req->body_too_large) {
        resp->status = 413;
        return;
    }
    switch (req->path[1]) {
    case 'n': /* /nocontent */
        resp->status = 204;
        break;
    case 'b': /* /big: past the size copied into the output queue */
        for (int i = 0; i < 2000; i++)
            ottr_buf_puts(&resp->body, "0123456789abcdef");
        break;
    case 'h': /* /headers: every header name echoed back */
        for (size_t i = 0; i < req->nheaders; i++)
            http_response_set_header(resp, req->headers[i].name, req->headers[i].value);
        http_response_set_type(resp, req->query);
        break;
    default:
        if (req->body != NULL)
            ottr_buf_append(&resp->body, req->body, req->body_len);
        ottr_buf_printf(&resp->body, "%s %s?%s\n", req->method, req->path, req->query);
    }
}

/* Runs one connection over |prefix| (|plen| bytes) then the input after its
 * first byte. */
static void fuzz_http_run(const uint8_t *data, size_t size, const uint8_t *prefix, size_t plen)
{
    if (size == 0)
        return;
    /* 0: whole reads; else 1 to 255 bytes a read. */
    size_t step = data[0];
    uint8_t *in = malloc(plen + size - 1 + 1);
    if (in == NULL)
        return;
    if (plen > 0)
        memcpy(in, prefix, plen);
    memcpy(in + plen, data + 1, size - 1);
    http_server_options o = {0};
    o.name = "fuzz";
    o.addr = "127.0.0.1:0";
    o.threads = 1;
    o.max_body_bytes = FUZZ_MAX_BODY;
    o.handler = fuzz_http_handler;
    http_feed_for_test(&o, in, plen + size - 1, step);
    free(in);
}

#endif /* OTTR_FUZZ_HTTP_FEED_H */
