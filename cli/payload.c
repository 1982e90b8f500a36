/* cli/payload.c - what `ottr send` sends: recognises OTLP JSON, protobuf and
 * gzip files, counts their spans, and reads the receiver's reply. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <zlib.h>

#include "google/rpc/status.pb-c.h"
#include "cli/cli.h"

#define CT_JSON      "application/json"
#define CT_PROTO     "application/x-protobuf"
#define MAX_INFLATED (512u << 20)

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Inflates gzip |data| into |out|. Returns 0 or -1 with |err|. */
static int gunzip(const uint8_t *data, size_t len, ottr_buf *out, char *err, size_t errlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
    int zrc = Z_OK;
    while (zrc == Z_OK) {
        if (ottr_buf_reserve(out, 65536) != 0 || out->len + 65536 > MAX_INFLATED) {
            inflateEnd(&zs);
            snprintf(err, errlen, out->oom ? "out of memory" : "gzip content over 512 MiB");
            return -1;
        }
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = 65536;
        zrc = inflate(&zs, Z_NO_FLUSH);
        out->len += 65536 - zs.avail_out;
        out->data[out->len] = '\0';
    }
    inflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        snprintf(err, errlen, "bad gzip data (%s)", zs.msg ? zs.msg : "truncated");
        return -1;
    }
    return 0;
}

static int inspect_json(const char *text, size_t len, cli_payload *p, char *err, size_t errlen)
{
    char jerr[160];
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_traces_data *td;
    otlp_json_doc doc;
    ottr_status st = otlp_json_decode_traces(&a, text, len, &td, &doc, jerr, sizeof(jerr));
    if (st != OTTR_OK) {
        ottr_arena_free(&a);
        snprintf(err, errlen, "not OTLP JSON: %s", jerr);
        return CLI_EXIT_BADDATA;
    }
    for (size_t i = 0; i < td->n_resource_spans; i++)
        for (size_t j = 0; j < td->resource_spans[i]->n_scope_spans; j++)
            p->nspans += td->resource_spans[i]->scope_spans[j]->n_spans;
    ottr_arena_free(&a);
    if (doc.wrapped) {
        /* Tempo's trace JSON: the receiver wants the same array as "resourceSpans" */
        ottr_buf_puts(&p->rewritten, "{\"resourceSpans\":");
        ottr_buf_append(&p->rewritten, text + doc.array_off, doc.array_len);
        ottr_buf_putc(&p->rewritten, '}');
        p->gzip = false;
    }
    if (p->rewritten.oom) {
        snprintf(err, errlen, "out of memory");
        return CLI_EXIT_BADDATA;
    }
    return CLI_EXIT_OK;
}

static int inspect_proto(const uint8_t *data, size_t len, cli_payload *p, char *err, size_t errlen)
{
    otlp_request *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, len,
                                                                                         data);
    if (req == NULL) {
        snprintf(err, errlen, "neither OTLP JSON nor OTLP protobuf");
        return CLI_EXIT_BADDATA;
    }
    for (size_t i = 0; i < req->n_resource_spans; i++)
        for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
            p->nspans += req->resource_spans[i]->scope_spans[j]->n_spans;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                            NULL);
    return CLI_EXIT_OK;
}

int cli_payload_inspect(const char *path, const uint8_t *data, size_t len, cli_payload *p,
                        char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    if (len == 0) {
        snprintf(err, errlen, "empty file");
        return CLI_EXIT_BADDATA;
    }
    ottr_buf plain = {0};
    const uint8_t *body = data;
    size_t blen = len;
    if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        if (gunzip(data, len, &plain, err, errlen) != 0) {
            ottr_buf_free(&plain);
            return CLI_EXIT_BADDATA;
        }
        p->gzip = true;
        body = (const uint8_t *)(plain.data ? plain.data : "");
        blen = plain.len;
    }
    size_t i = 0;
    while (i < blen && isspace(body[i]))
        i++;
    bool json =
        ends_with(path, ".json") || ends_with(path, ".json.gz") || (i < blen && body[i] == '{');
    int rc;
    if (json) {
        p->ctype = CT_JSON;
        rc = inspect_json((const char *)body, blen, p, err, errlen);
    } else {
        p->ctype = CT_PROTO;
        rc = inspect_proto(body, blen, p, err, errlen);
    }
    ottr_buf_free(&plain);
    if (rc == CLI_EXIT_OK && p->nspans == 0) {
        snprintf(err, errlen, "no spans in the request");
        rc = CLI_EXIT_BADDATA;
    }
    if (rc != CLI_EXIT_OK)
        cli_payload_free(p);
    return rc;
}

void cli_payload_free(cli_payload *p)
{
    ottr_buf_free(&p->rewritten);
}

static void copy_msg(char *msg, size_t msglen, const char *s)
{
    if (msglen == 0)
        return;
    snprintf(msg, msglen, "%s", s ? s : "");
}

/* A text or HTML error page (from a proxy, say): keep its first line. */
static void first_line(const char *body, size_t len, char *msg, size_t msglen)
{
    size_t n = 0;
    while (n < len && n < 200 && body[n] != '\n' && body[n] != '\r')
        n++;
    if (msglen > 0)
        snprintf(msg, msglen, "%.*s", (int)n, body);
}

static int reply_json(const char *body, size_t len, int64_t *rejected, char *msg, size_t msglen)
{
    char jerr[64];
    struct json_object *doc = cli_json_parse(body, len, jerr, sizeof(jerr));
    if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
        json_object_put(doc);
        return -1;
    }
    struct json_object *ps = cli_jget(doc, "partialSuccess", "partial_success");
    if (ps != NULL) {
        uint64_t n = 0;
        cli_ju64(cli_jget(ps, "rejectedSpans", "rejected_spans"), &n);
        *rejected = (int64_t)n;
        copy_msg(msg, msglen, cli_jstr(ps, "errorMessage", "error_message", ""));
    } else {
        copy_msg(msg, msglen, cli_jstr(doc, "message", NULL, ""));
    }
    json_object_put(doc);
    return 0;
}

int cli_export_reply_parse(const char *ctype, const char *body, size_t len, bool is_error,
                           int64_t *rejected, char *msg, size_t msglen)
{
    *rejected = 0;
    copy_msg(msg, msglen, "");
    if (len == 0)
        return 0;
    bool json = strstr(ctype, "json") != NULL;
    bool proto = strstr(ctype, "protobuf") != NULL;
    if (json && reply_json(body, len, rejected, msg, msglen) == 0)
        return 0;
    if (is_error) {
        Google__Rpc__Status *st =
            proto ? google__rpc__status__unpack(NULL, len, (const uint8_t *)body) : NULL;
        if (st == NULL) {
            first_line(body, len, msg, msglen);
            return 0;
        }
        copy_msg(msg, msglen, st->message);
        google__rpc__status__free_unpacked(st, NULL);
        return 0;
    }
    if (!proto)
        return -1;
    otlp_response *resp =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, len, (const uint8_t *)body);
    if (resp == NULL)
        return -1;
    if (resp->partial_success != NULL) {
        *rejected = resp->partial_success->rejected_spans;
        copy_msg(msg, msglen, resp->partial_success->error_message);
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(resp,
                                                                                             NULL);
    return 0;
}
