/* http/feed.c - for tests and fuzzing only: one connection of the HTTP server
 * run over bytes in memory, without sockets, threads or event loops. The bytes
 * go through the server's own read path (protocol sniffing, then HTTP/1.1 or
 * HTTP/2) in reads of a chosen size, and the output is dropped as if sent, as
 * the loop thread would do it. Not used by ottrd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

/* Sends (drops) what |c| has queued, as conn_flush does. Returns 0 while the
 * connection stays open, -1 when the server would close it. */
static int feed_flush(http_conn *c, size_t *out_bytes)
{
    if (c->fatal)
        return -1;
    if (c->proto == HTTP_PROTO_H2 && http_h2_pump(c) != 0)
        return -1;
    *out_bytes += c->out.bytes;
    http_out_free(&c->out);
    if (c->proto == HTTP_PROTO_H2 && (c->closing || http_h2_done(c)))
        return -1;
    return c->closing ? -1 : 0; /* HTTP/1.1: the rest of the input is discarded */
}

size_t http_feed_for_test(const http_server_options *o, const uint8_t *data, size_t n, size_t step)
{
    size_t out_bytes = 0;
    http_server *s = calloc(1, sizeof(*s));
    http_worker *w = calloc(1, sizeof(*w));
    http_conn *c = calloc(1, sizeof(*c));
    if (s == NULL || w == NULL || c == NULL)
        goto done;
    s->o = *o;
    http_limits_default(&s->lim);
    s->listen_fd = s->acceptor_fd = -1;
    snprintf(s->name, sizeof(s->name), "%s", o->name ? o->name : "feed");
    s->o.name = s->name;
    /* Counters of their own, so that tests of the real server see theirs unchanged. */
    s->m_conns = ottr_counter_get("ottr_http_feed_test_total", "Test feeds.", "what=\"conns\"");
    s->m_bad = ottr_counter_get("ottr_http_feed_test_total", "Test feeds.", "what=\"bad\"");
    s->m_req_h1 = ottr_counter_get("ottr_http_feed_test_total", "Test feeds.", "what=\"h1\"");
    s->m_req_h2 = ottr_counter_get("ottr_http_feed_test_total", "Test feeds.", "what=\"h2\"");
    if (http_h2_callbacks_new(s) != 0)
        goto done;
    w->srv = s;
    w->date_sec = -1;
    w->notify_fd = -1;
    w->hdrs = calloc(HTTP_MAX_HEADERS + 1, sizeof(http_header));
    if (w->hdrs == NULL)
        goto done;
    c->w = w;
    c->fd = -1;
    if (step == 0 || step > HTTP_READ_BUF)
        step = HTTP_READ_BUF;
    while (n > 0) {
        size_t k = n < step ? n : step;
        /* Each read in a buffer of its own, with the sniffing headroom in front,
         * so that reads past the bytes received are caught. */
        uint8_t *buf = malloc(HTTP_SNIFF_LEN + k);
        if (buf == NULL)
            break;
        memcpy(buf + HTTP_SNIFF_LEN, data, k);
        int rc = http_conn_feed(c, buf + HTTP_SNIFF_LEN, k);
        free(buf);
        if (rc != 0 || feed_flush(c, &out_bytes) != 0)
            break;
        data += k;
        n -= k;
    }
done:
    if (c != NULL) {
        http_h1_free(c);
        http_h2_free(c);
        http_out_free(&c->out);
        free(c);
    }
    if (w != NULL)
        free(w->hdrs);
    free(w);
    if (s != NULL)
        http_h2_callbacks_free(s);
    free(s);
    return out_bytes;
}
