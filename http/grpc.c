/* http/grpc.c - what a gRPC call needs from the HTTP/2 server: recognising a
 * call, reading its one length-prefixed request message, framing answer
 * messages, and ending the call with grpc-status/grpc-message trailers (or a
 * trailers-only answer for errors). Servicing the methods is the routes' job. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"

#define GRPC_PREFIX 5 /* compressed flag, then the length, big-endian */

int http_grpc_is(const http_request *req)
{
    if (!req->http2 || strcmp(req->method, "POST") != 0)
        return 0;
    const char *ct = http_request_header(req, "content-type");
    if (ct == NULL || strncasecmp(ct, "application/grpc", 16) != 0)
        return 0;
    return ct[16] == '\0' || ct[16] == '+' || ct[16] == ';';
}

int http_grpc_message(const http_request *req, const uint8_t **msg, size_t *len, char *err,
                      size_t errlen)
{
    *msg = NULL;
    *len = 0;
    if (req->body_too_large) {
        snprintf(err, errlen, "request message larger than the server takes");
        return HTTP_GRPC_RESOURCE_EXHAUSTED;
    }
    if (req->body_len < GRPC_PREFIX) {
        snprintf(err, errlen, "request message missing or cut short");
        return HTTP_GRPC_INVALID_ARGUMENT;
    }
    const uint8_t *b = req->body;
    if (b[0] != 0) {
        snprintf(err, errlen, "compressed request messages are not accepted");
        return HTTP_GRPC_UNIMPLEMENTED;
    }
    size_t n = (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | (size_t)b[4];
    if (n != req->body_len - GRPC_PREFIX) {
        snprintf(err, errlen, "request message length %zu does not match the %zu bytes sent", n,
                 req->body_len - GRPC_PREFIX);
        return HTTP_GRPC_INVALID_ARGUMENT;
    }
    if (n > 0)
        *msg = b + GRPC_PREFIX;
    *len = n;
    return HTTP_GRPC_OK;
}

void http_grpc_frame(ottr_buf *out, const void *msg, size_t len)
{
    uint8_t p[GRPC_PREFIX] = {0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                              (uint8_t)len};
    ottr_buf_append(out, p, sizeof(p));
    if (len > 0)
        ottr_buf_append(out, msg, len);
}

void http_grpc_finish(http_response *resp, int code, const char *msg)
{
    char num[12];
    resp->status = 200;
    http_response_set_type(resp, "application/grpc");
    snprintf(num, sizeof(num), "%d", code);
    http_response_set_trailer(resp, "grpc-status", num);
    if (msg == NULL || msg[0] == '\0')
        return;
    /* Percent-encoding as gRPC's HTTP/2 protocol has it: printable ASCII but
     * '%' as is, everything else %XX; cut at a whole escape. */
    static const char hex[] = "0123456789ABCDEF";
    char enc[sizeof(resp->trailer_value[0])];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            if (o + 1 >= sizeof(enc))
                break;
            enc[o++] = (char)*p;
        } else {
            if (o + 3 >= sizeof(enc))
                break;
            enc[o++] = '%';
            enc[o++] = hex[*p >> 4];
            enc[o++] = hex[*p & 15];
        }
    }
    enc[o] = '\0';
    http_response_set_trailer(resp, "grpc-message", enc);
}

int http_grpc_timeout(const http_request *req, uint64_t *out_ns)
{
    const char *v = http_request_header(req, "grpc-timeout");
    if (v == NULL)
        return 0;
    /* At most 8 digits, then one unit letter. */
    uint64_t n = 0;
    size_t i = 0;
    for (; v[i] >= '0' && v[i] <= '9'; i++) {
        if (i == 8)
            return 0;
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (i == 0 || v[i] == '\0' || v[i + 1] != '\0')
        return 0;
    uint64_t mul;
    switch (v[i]) {
    case 'H':
        mul = 3600000000000ull;
        break;
    case 'M':
        mul = 60000000000ull;
        break;
    case 'S':
        mul = 1000000000ull;
        break;
    case 'm':
        mul = 1000000ull;
        break;
    case 'u':
        mul = 1000ull;
        break;
    case 'n':
        mul = 1;
        break;
    default:
        return 0;
    }
    *out_ns = n * mul; /* 99999999 H fits in 64 bits */
    return 1;
}

int http_grpc_code_of_http(int status)
{
    switch (status) {
    case 200:
        return HTTP_GRPC_OK;
    case 400:
        return HTTP_GRPC_INVALID_ARGUMENT;
    case 401:
        return HTTP_GRPC_UNAUTHENTICATED;
    case 403:
        return 7; /* PERMISSION_DENIED */
    case 404:
        return HTTP_GRPC_NOT_FOUND;
    case 408:
    case 504:
        return HTTP_GRPC_DEADLINE_EXCEEDED;
    case 413:
    case 429:
        return HTTP_GRPC_RESOURCE_EXHAUSTED;
    case 501:
        return HTTP_GRPC_UNIMPLEMENTED;
    case 502:
    case 503:
        return HTTP_GRPC_UNAVAILABLE;
    default:
        return status >= 500 ? HTTP_GRPC_INTERNAL : HTTP_GRPC_UNKNOWN;
    }
}
