/* cli/send.c - `ottr send`: posts OTLP files to the OTLP/HTTP receiver and
 * reports how many spans it accepted. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define ERRLEN    768
#define OTLP_HINT " (set --otlp-endpoint or OTTR_OTLP_ENDPOINT)"

/* Sends one file. Returns an exit code; the result or error has been printed. */
static int send_one(const cli_opts *o, const char *path, ottr_buf *out)
{
    char err[ERRLEN];
    ottr_buf file = {0};
    if (cli_read_file(path, &file, err, sizeof(err)) != 0) {
        cli_error("%s", err);
        ottr_buf_free(&file);
        return CLI_EXIT_BADDATA;
    }
    const uint8_t *data = (const uint8_t *)(file.data ? file.data : "");
    cli_payload p;
    int rc = cli_payload_inspect(path, data, file.len, &p, err, sizeof(err));
    if (rc != CLI_EXIT_OK) {
        cli_error("%s: %s", path, err);
        ottr_buf_free(&file);
        return rc;
    }
    const void *body = p.rewritten.len ? (const void *)p.rewritten.data : (const void *)data;
    size_t len = p.rewritten.len ? p.rewritten.len : file.len;
    ottr_buf url = {0};
    cli_url_base(&url, o->otlp_endpoint);
    cli_http_resp resp;
    rc = url.oom ? CLI_EXIT_BADDATA
                 : cli_http_request(o, "the OTLP receiver", OTLP_HINT, url.data, p.ctype, p.ctype,
                                    p.gzip ? "gzip" : NULL, body, len, &resp, err, sizeof(err));
    if (rc != CLI_EXIT_OK) {
        cli_error("%s", url.oom ? "out of memory" : err);
        goto done;
    }
    bool ok = resp.status >= 200 && resp.status < 300;
    int64_t rejected = 0;
    char msg[512];
    const char *rbody = resp.body.data ? resp.body.data : "";
    if (cli_export_reply_parse(resp.ctype, rbody, resp.body.len, !ok, &rejected, msg,
                               sizeof(msg)) != 0) {
        cli_error("%s: unparsable answer from the OTLP receiver (HTTP %ld, %s)", path, resp.status,
                  resp.ctype[0] ? resp.ctype : "no content type");
        rc = CLI_EXIT_BADDATA;
    } else if (!ok) {
        ottr_buf clean = {0};
        cli_put_text(&clean, msg, 300);
        char busy[64] = "";
        if (resp.status == 429 || resp.status == 503) {
            if (resp.retry_after > 0)
                snprintf(busy, sizeof(busy), " (busy: retry after %lds)", resp.retry_after);
            else
                snprintf(busy, sizeof(busy), " (busy: retry later)");
        }
        cli_error("%s: the OTLP receiver answered HTTP %ld%s%s%s", path, resp.status, busy,
                  clean.len ? ": " : "", clean.len ? clean.data : "");
        ottr_buf_free(&clean);
        rc = CLI_EXIT_SERVER;
    } else {
        if (rejected < 0 || (uint64_t)rejected > p.nspans)
            rejected = (int64_t)p.nspans;
        size_t accepted = p.nspans - (size_t)rejected;
        cli_put_text(out, path, (size_t)-1);
        if (rejected == 0) {
            ottr_buf_printf(out, ": %zu span%s accepted\n", accepted, accepted == 1 ? "" : "s");
        } else {
            ottr_buf_printf(out, ": %zu of %zu spans accepted, %lld rejected", accepted, p.nspans,
                            (long long)rejected);
            if (msg[0]) {
                ottr_buf_puts(out, ": ");
                cli_put_text(out, msg, 300);
            }
            ottr_buf_putc(out, '\n');
            rc = CLI_EXIT_BADDATA;
        }
    }
    cli_http_resp_free(&resp);
done:
    ottr_buf_free(&url);
    cli_payload_free(&p);
    ottr_buf_free(&file);
    return rc;
}

int cli_cmd_send(const cli_opts *o)
{
    int result = CLI_EXIT_OK;
    for (size_t i = 0; i < o->nargs; i++) {
        ottr_buf out = {0};
        int rc = send_one(o, o->args[i], &out);
        cli_write_stdout(&out);
        ottr_buf_free(&out);
        if (rc != CLI_EXIT_OK && result == CLI_EXIT_OK)
            result = rc;
        if (rc == CLI_EXIT_UNREACHABLE || rc == CLI_EXIT_USAGE)
            break; /* the next files would fail the same way */
    }
    return result;
}
