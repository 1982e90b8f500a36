/* cli/http.c - the CLI's HTTP client: one libcurl request at a time, with
 * failures turned into an exit code and a single readable line. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cli/cli.h"

#define MAX_BODY (512u << 20)

typedef struct body_ctx {
    cli_http_resp *resp;
    bool too_large;
} body_ctx;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    body_ctx *c = ud;
    size_t n = size * nmemb;
    if (c->resp->body.len + n > MAX_BODY) {
        c->too_large = true;
        return 0;
    }
    ottr_buf_append(&c->resp->body, p, n);
    return c->resp->body.oom ? 0 : n;
}

/* |url| without its query string (or, with |origin|, without its path), for
 * messages. */
static void url_for_message(const char *url, bool origin, char *out, size_t outlen)
{
    const char *end = strchr(url, '?');
    if (origin) {
        const char *host = strstr(url, "://");
        const char *slash = strchr(host ? host + 3 : url, '/');
        if (slash != NULL && (end == NULL || slash < end))
            end = slash;
    }
    int n = end ? (int)(end - url) : (int)strlen(url);
    snprintf(out, outlen, "%.*s", n, url);
}

static const char *reason(CURLcode code, const cli_opts *o, char *tmp, size_t tmplen)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return "cannot resolve the host name";
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "cannot resolve the proxy host name";
    case CURLE_COULDNT_CONNECT:
        return "connection refused";
    case CURLE_OPERATION_TIMEDOUT: {
        char d[32];
        cli_fmt_duration(o->timeout_ns, d, sizeof(d));
        snprintf(tmp, tmplen, "no answer within %s", d);
        return tmp;
    }
    case CURLE_GOT_NOTHING:
        return "connection closed without an answer";
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        return "connection reset";
    case CURLE_PARTIAL_FILE:
        return "connection closed in the middle of the answer";
    case CURLE_WEIRD_SERVER_REPLY:
        return "the answer is not HTTP";
    default:
        return curl_easy_strerror(code);
    }
}

int cli_http_request(const cli_opts *o, const char *what, const char *hint, const char *url,
                     const char *accept, const char *ctype, const char *encoding, const void *body,
                     size_t len, cli_http_resp *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    char shown[256], origin[256];
    url_for_message(url, false, shown, sizeof(shown));
    /* ottrd is known by its base URL, the receiver by its endpoint */
    url_for_message(url, strcmp(what, "ottrd") == 0, origin, sizeof(origin));

    CURL *h = curl_easy_init();
    if (h == NULL) {
        snprintf(err, errlen, "cannot start an HTTP client (out of memory)");
        return CLI_EXIT_UNREACHABLE;
    }
    struct curl_slist *hdrs = NULL, *tmp;
    char line[256];
    int rc = CLI_EXIT_OK;
#define ADD_HEADER(...)                                                                            \
    do {                                                                                           \
        snprintf(line, sizeof(line), __VA_ARGS__);                                                 \
        if ((tmp = curl_slist_append(hdrs, line)) == NULL)                                         \
            rc = CLI_EXIT_UNREACHABLE;                                                             \
        else                                                                                       \
            hdrs = tmp;                                                                            \
    } while (0)
    if (accept != NULL)
        ADD_HEADER("Accept: %s", accept);
    if (ctype != NULL)
        ADD_HEADER("Content-Type: %s", ctype);
    if (encoding != NULL)
        ADD_HEADER("Content-Encoding: %s", encoding);
    if (body != NULL)
        ADD_HEADER("Expect:");
    if (o->tenant != NULL)
        ADD_HEADER("X-Scope-OrgID: %s", o->tenant);
#undef ADD_HEADER
    if (rc != CLI_EXIT_OK) {
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        snprintf(err, errlen, "out of memory");
        return rc;
    }

    long timeout_ms = (long)(o->timeout_ns / NS_PER_MS);
    body_ctx bc = {resp, false};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ottr/" OTTR_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &bc);
    if (o->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    if (o->cert_file != NULL)
        curl_easy_setopt(h, CURLOPT_SSLCERT, o->cert_file);
    if (o->key_file != NULL)
        curl_easy_setopt(h, CURLOPT_SSLKEY, o->key_file);
    if (o->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (o->token != NULL) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, o->token);
    } else if (o->user != NULL) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERPWD, o->user);
    }
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }

    CURLcode code = curl_easy_perform(h);
    if (code == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        char *ct = NULL;
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL) {
            size_t i = 0;
            for (; ct[i] && i + 1 < sizeof(resp->ctype); i++)
                resp->ctype[i] = (char)tolower((unsigned char)ct[i]);
            resp->ctype[i] = '\0';
        }
        curl_off_t ra = -1;
        if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            resp->retry_after = (long)ra;
    } else if (code == CURLE_WRITE_ERROR && bc.too_large) {
        snprintf(err, errlen, "the answer from %s is over 512 MiB", shown);
        rc = CLI_EXIT_BADDATA;
    } else if (code == CURLE_WRITE_ERROR) {
        snprintf(err, errlen, "out of memory reading the answer from %s", shown);
        rc = CLI_EXIT_BADDATA;
    } else if (code == CURLE_BAD_CONTENT_ENCODING) {
        snprintf(err, errlen, "the answer from %s does not decompress", shown);
        rc = CLI_EXIT_BADDATA;
    } else if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
        snprintf(err, errlen, "invalid URL \"%s\" for %s (want http://host:port)", shown, what);
        rc = CLI_EXIT_USAGE;
    } else {
        char tmp2[64];
        bool nobody = code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST;
        snprintf(err, errlen, "cannot reach %s at %s: %s%s", what, origin,
                 reason(code, o, tmp2, sizeof(tmp2)), nobody && hint ? hint : "");
        rc = CLI_EXIT_UNREACHABLE;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc != CLI_EXIT_OK)
        cli_http_resp_free(resp);
    return rc;
}

void cli_http_resp_free(cli_http_resp *r)
{
    ottr_buf_free(&r->body);
}

/* The most useful line of an error body: a JSON "message"/"error"/"msg", else the
 * first line of text. */
static void error_text(const cli_http_resp *r, char *out, size_t outlen)
{
    out[0] = '\0';
    const char *b = r->body.data ? r->body.data : "";
    size_t len = r->body.len;
    char jerr[32];
    struct json_object *doc =
        len && b[0] == '{' ? cli_json_parse(b, len, jerr, sizeof(jerr)) : NULL;
    if (doc != NULL) {
        const char *m = cli_jstr(doc, "message", NULL, NULL);
        if (m == NULL)
            m = cli_jstr(doc, "error", NULL, NULL);
        if (m == NULL)
            m = cli_jstr(cli_jget(doc, "error", NULL), "message", NULL, NULL);
        struct json_object *errs = cli_jget(doc, "errors", NULL);
        if (m == NULL && errs && json_object_is_type(errs, json_type_array))
            m = cli_jstr(json_object_array_get_idx(errs, 0), "msg", NULL, NULL);
        if (m != NULL) {
            ottr_buf t = {0};
            cli_put_text(&t, m, 200);
            snprintf(out, outlen, "%s", t.data ? t.data : "");
            ottr_buf_free(&t);
        }
        json_object_put(doc);
        if (out[0])
            return;
    }
    size_t n = 0;
    while (n < len && n < 200 && b[n] != '\n' && b[n] != '\r')
        n++;
    ottr_buf t = {0};
    ottr_buf_append(&t, b, n);
    ottr_buf line = {0};
    cli_put_text(&line, t.data ? t.data : "", 200);
    snprintf(out, outlen, "%s", line.data ? line.data : "");
    ottr_buf_free(&t);
    ottr_buf_free(&line);
}

int cli_http_check(const cli_http_resp *r, const char *url, char *err, size_t errlen)
{
    if (r->status >= 200 && r->status < 300)
        return CLI_EXIT_OK;
    char shown[256], text[256];
    url_for_message(url, false, shown, sizeof(shown));
    error_text(r, text, sizeof(text));
    snprintf(err, errlen, "%s answered HTTP %ld%s%s%s", shown, r->status, text[0] ? ": " : "", text,
             r->status == 401 ? " (give --token or --user)" : "");
    return r->status == 404 ? CLI_EXIT_NOTFOUND : CLI_EXIT_SERVER;
}
