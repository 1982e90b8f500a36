/* http/util.c - the HTTP server's request and response helpers: header
 * and query-parameter lookup, response setters, status reasons, and the call into
 * the handler shared by HTTP/1.1 and HTTP/2. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/internal.h"

void http_limits_default(http_limits *l)
{
    l->idle_timeout_ms = 60000;
    l->header_timeout_ms = 30000;
    l->request_timeout_ms = 30000;
    l->min_body_rate = 1024;
    l->body_rate_window_ms = 5000;
    l->linger_ms = 2000;
    l->drain_ms = 5000;
    l->max_connections = 10000;
    l->max_conns_per_ip = 256;
}

void http_reqclock_start(http_reqclock *rc, uint64_t now)
{
    rc->start_ms = now;
    rc->mark_ms = 0;
    rc->mark_bytes = 0;
}

void http_reqclock_body(http_reqclock *rc, uint64_t now, uint64_t body_bytes)
{
    rc->mark_ms = now;
    rc->mark_bytes = body_bytes;
}

int http_reqclock_check(const http_limits *l, http_reqclock *rc, uint64_t body_bytes, uint64_t now)
{
    if (now - rc->start_ms >= l->request_timeout_ms)
        return HTTP_LATE_TIMEOUT;
    if (l->min_body_rate == 0 || rc->mark_ms == 0 || now - rc->mark_ms < l->body_rate_window_ms)
        return HTTP_LATE_NO;
    uint64_t want = (uint64_t)l->min_body_rate * (now - rc->mark_ms) / 1000;
    if (body_bytes - rc->mark_bytes < want)
        return HTTP_LATE_SLOW;
    http_reqclock_body(rc, now, body_bytes); /* the next window */
    return HTTP_LATE_NO;
}

void http_count_late(http_server *s, int late, const char *proto)
{
    if (late == HTTP_LATE_SLOW) {
        ottr_counter_add(s->m_slow, 1);
        OTTR_DEBUG("http", "%s: %s request body slower than %u bytes/s: 408", s->name, proto,
                   s->lim.min_body_rate);
    } else {
        ottr_counter_add(s->m_timeouts, 1);
        OTTR_DEBUG("http", "%s: %s request not in within %u ms: 408", s->name, proto,
                   s->lim.request_timeout_ms);
    }
}

uint64_t http_now_ms(void)
{
    return ottr_mono_ns() / 1000000u;
}

const char *http_request_header(const http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

/* Decodes one character of a query component at |*p| (before |end|) and moves
 * past it: "%41" is 'A', '+' is a space; a bad or NUL escape stays literal. */
static char query_next(const char **p, const char *end)
{
    const char *s = *p;
    if (*s == '+') {
        *p = s + 1;
        return ' ';
    }
    if (*s == '%' && end - s >= 3) {
        int hi = ottr_hex_digit((unsigned char)s[1]), lo = ottr_hex_digit((unsigned char)s[2]);
        if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
            *p = s + 3;
            return (char)(hi * 16 + lo);
        }
    }
    *p = s + 1;
    return *s;
}

/* 1 when the encoded key [k, end) decodes to |name|. */
static int query_key_is(const char *k, const char *end, const char *name)
{
    while (k < end) {
        if (*name == '\0' || query_next(&k, end) != *name)
            return 0;
        name++;
    }
    return *name == '\0';
}

int http_query_param(const http_request *req, const char *name, int index, char *out, size_t outlen)
{
    const char *q = req->query;
    int seen = 0;
    if (q == NULL || name == NULL)
        return 0;
    while (*q != '\0') {
        const char *amp = strchr(q, '&');
        const char *end = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));
        const char *kend = eq ? eq : end;
        if (end > q && query_key_is(q, kend, name)) {
            if (seen == index) {
                const char *v = eq ? eq + 1 : end;
                size_t o = 0;
                while (v < end && o + 1 < outlen)
                    out[o++] = query_next(&v, end);
                if (outlen > 0)
                    out[o] = '\0';
                return 1;
            }
            seen++;
        }
        q = amp ? amp + 1 : end;
    }
    return 0;
}

/* Decodes the query component [s, end) into |out|: 0, or -1 when it does not
 * fit in |outlen| - 1 bytes. */
static int query_decode(const char *s, const char *end, char *out, size_t outlen)
{
    size_t o = 0;
    while (s < end) {
        if (o + 1 >= outlen)
            return -1;
        out[o++] = query_next(&s, end);
    }
    out[o] = '\0';
    return 0;
}

int http_param_bracket(const http_request *req, const char *name, int index, char *key,
                       size_t keylen, char *val, size_t vallen, http_param_err *e)
{
    const char *q = req->query;
    size_t nl = strlen(name);
    char k[512];
    int seen = 0;
    while (q != NULL && *q != '\0') {
        const char *amp = strchr(q, '&');
        const char *end = amp ? amp : q + strlen(q);
        const char *eq = memchr(q, '=', (size_t)(end - q));
        const char *kend = eq ? eq : end;
        /* Keys longer than |k| are not |name|[...] keys anyone sends: skip them. */
        if (query_decode(q, kend, k, sizeof(k)) == 0 && strncmp(k, name, nl) == 0 && k[nl] == '[' &&
            seen++ == index) {
            size_t kl = strlen(k + nl + 1);
            if (kl == 0 || k[nl + 1 + kl - 1] != ']')
                return http_param_refuse(e, name, NULL, "want %s[key]=value", name);
            k[nl + kl] = '\0';
            if (kl > keylen)
                return http_param_refuse(e, name, k + nl + 1, "want a shorter key");
            memcpy(key, k + nl + 1, kl);
            if (query_decode(eq ? eq + 1 : end, end, val, vallen) != 0)
                return http_param_refuse(e, name, key, "want a shorter value");
            return 1;
        }
        q = amp ? amp + 1 : end;
    }
    return 0;
}

/* 1 when |s| is a header name (an RFC 9110 token). */
static int header_name_ok(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s) != NULL))
            return 0;
    return 1;
}

/* 1 when |s| has no control byte but tab, so it cannot break a header line. */
static int header_safe(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 0;
    return 1;
}

void http_response_set_header(http_response *resp, const char *name, const char *value)
{
    if (strlen(name) >= sizeof(resp->extra_name[0]) ||
        strlen(value) >= sizeof(resp->extra_value[0]) || !header_name_ok(name) ||
        !header_safe(value)) {
        OTTR_WARN("http", "response header %.40s not set: too long or bad bytes", name);
        return;
    }
    int i;
    for (i = 0; i < resp->nextra; i++)
        if (strcasecmp(resp->extra_name[i], name) == 0)
            break;
    if (i == resp->nextra) {
        if (resp->nextra >= HTTP_MAX_EXTRA_HEADERS) {
            OTTR_WARN("http", "response header %s not set: too many headers", name);
            return;
        }
        resp->nextra++;
    }
    snprintf(resp->extra_name[i], sizeof(resp->extra_name[i]), "%s", name);
    snprintf(resp->extra_value[i], sizeof(resp->extra_value[i]), "%s", value);
}

void http_response_set_trailer(http_response *resp, const char *name, const char *value)
{
    if (strlen(name) >= sizeof(resp->trailer_name[0]) || !header_name_ok(name) ||
        !header_safe(value)) {
        OTTR_WARN("http", "response trailer %.40s not set: too long or bad bytes", name);
        return;
    }
    int i;
    for (i = 0; i < resp->ntrailers; i++)
        if (strcmp(resp->trailer_name[i], name) == 0)
            break;
    if (i == resp->ntrailers) {
        if (resp->ntrailers >= HTTP_MAX_TRAILERS) {
            OTTR_WARN("http", "response trailer %s not set: too many trailers", name);
            return;
        }
        resp->ntrailers++;
    }
    snprintf(resp->trailer_name[i], sizeof(resp->trailer_name[i]), "%s", name);
    snprintf(resp->trailer_value[i], sizeof(resp->trailer_value[i]), "%.*s",
             (int)sizeof(resp->trailer_value[i]) - 1, value);
}

void http_response_set_type(http_response *resp, const char *content_type)
{
    if (strlen(content_type) >= sizeof(resp->content_type) || !header_safe(content_type)) {
        OTTR_WARN("http", "content type %.40s not set: too long or bad bytes", content_type);
        return;
    }
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", content_type);
}

void http_response_init(http_response *resp)
{
    resp->status = 200;
    snprintf(resp->content_type, sizeof(resp->content_type), "text/plain; charset=utf-8");
    memset(&resp->body, 0, sizeof(resp->body));
    resp->nextra = 0;
    resp->ntrailers = 0;
}

static const struct {
    int status;
    const char *reason;
} status_reasons[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {411, "Length Required"},
    {413, "Payload Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Entity"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

const char *http_status_reason(int status)
{
    for (size_t i = 0; i < sizeof(status_reasons) / sizeof(status_reasons[0]); i++)
        if (status_reasons[i].status == status)
            return status_reasons[i].reason;
    return status < 300   ? "OK"
           : status < 400 ? "Redirect"
           : status < 500 ? "Client Error"
                          : "Server Error";
}

void http_worker_date(http_worker *w)
{
    time_t now = time(NULL);
    if ((int64_t)now == w->date_sec)
        return;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(w->date, sizeof(w->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    w->date_sec = (int64_t)now;
}

/* Cuts the request target in |rb| into path and query (in place). */
static void split_target(char *target, const char **path, const char **query)
{
    char *p = target;
    if (p == NULL || *p == '\0') {
        *path = "/";
        *query = "";
        return;
    }
    if (*p != '/' && *p != '*') {
        /* absolute-form: scheme://authority/path?query */
        char *s = strstr(p, "://");
        if (s != NULL) {
            char *slash = strpbrk(s + 3, "/?#");
            p = slash ? slash : s + strlen(s);
        }
    }
    char *hash = strchr(p, '#');
    if (hash != NULL)
        *hash = '\0';
    char *q = strchr(p, '?');
    if (q != NULL) {
        *q = '\0';
        *query = q + 1;
    } else {
        *query = "";
    }
    *path = *p != '\0' ? p : "/";
}

void http_response_check(const http_server *s, http_response *resp)
{
    if (resp->status < 200 || resp->status > 599 || resp->body.oom) {
        if (resp->body.oom)
            OTTR_ERROR("http", "%s: out of memory building a response", s->name);
        ottr_buf_free(&resp->body);
        http_response_init(resp);
        resp->status = 500;
    }
}

void http_call_handler(http_conn *c, const char *method, http_reqbuf *rb, const uint8_t *body,
                       size_t body_len, int http2, http_response *resp, http_deferred **deferred)
{
    http_worker *w = c->w;
    http_server *s = w->srv;
    char *target = NULL;
    size_t nh = 0;
    char *p = rb->hdr.data, *end = rb->hdr.data + rb->hdr.len;
    while (p != NULL && p < end) {
        char *name = p;
        char *value = name + strlen(name) + 1;
        if (value >= end)
            break;
        p = value + strlen(value) + 1;
        if (name[0] == ':') {
            if (strcmp(name, ":path") == 0)
                target = value;
            else if (strcmp(name, ":method") == 0 && method == NULL)
                method = value;
            continue;
        }
        if (nh < HTTP_MAX_HEADERS + 1) {
            w->hdrs[nh].name = name;
            w->hdrs[nh].value = value;
            nh++;
        }
    }
    http_request req = {0};
    req.method = method ? method : "GET";
    split_target(target, &req.path, &req.query);
    req.headers = w->hdrs;
    req.nheaders = nh;
    req.body_too_large = rb->too_large;
    if (body == NULL && rb->body.len > 0) {
        body = rb->body.data;
        body_len = rb->body.len;
    }
    if (!rb->too_large && body_len > 0) {
        req.body = body;
        req.body_len = body_len;
    }
    req.http2 = http2;
    req.tls = c->ssl != NULL;
    struct http_call call = {w, NULL};
    req.call = &call;

    http_response_init(resp);
    *deferred = NULL;
    if (s->o.auth != NULL &&
        s->o.auth(s->o.auth_ctx, &req, http_tls_peer(c), &req.principal, resp) != 0) {
        ottr_counter_add(http2 ? s->m_req_h2 : s->m_req_h1, 1);
        http_response_check(s, resp);
        if (http_grpc_is(&req)) { /* a gRPC client reads the status, not the 401 */
            ottr_buf_reset(&resp->body);
            resp->nextra = 0;
            http_grpc_finish(resp, http_grpc_code_of_http(resp->status), "authentication required");
        }
        return;
    }
    s->o.handler(s->o.ctx, &req, resp);
    ottr_counter_add(http2 ? s->m_req_h2 : s->m_req_h1, 1);
    *deferred = call.deferred;
    if (call.deferred != NULL) {
        ottr_buf_free(&resp->body);
        http_response_init(resp);
        return;
    }
    http_response_check(s, resp);
}

const char *http_reqbuf_find(const http_reqbuf *rb, const char *name)
{
    const char *p = rb->hdr.data, *end = rb->hdr.data + rb->hdr.len;
    while (p != NULL && p < end) {
        const char *v = p + strlen(p) + 1;
        if (v >= end)
            break;
        if (strcmp(p, name) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}
