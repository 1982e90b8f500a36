/* bench/loadgen/loadgen_http.c - the OTLP/HTTP driver: libcurl multi per worker,
 * --inflight POST /v1/traces in flight, over HTTP/1.1 connections or multiplexed on
 * one h2c (prior knowledge) connection. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bench/loadgen/loadgen.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define RESP_MAX 8192

typedef struct hreq {
    lg_worker *w;
    CURL *easy;
    uint8_t *raw; /* the patched request, template-sized */
    size_t raw_cap;
    uint8_t *gz; /* compressed body when --gzip, else NULL */
    const lg_template *tpl;
    uint8_t *ids;
    uint64_t t0;
    char resp[RESP_MAX];
    size_t resp_len;
    char errbuf[CURL_ERROR_SIZE];
} hreq;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    hreq *h = ctx;
    size_t len = size * n;
    size_t room = RESP_MAX - h->resp_len;
    size_t take = len < room ? len : room;
    memcpy(h->resp + h->resp_len, p, take);
    h->resp_len += take;
    return len;
}

static uint64_t body_rejected(const hreq *h)
{
    if (h->resp_len == 0 || h->resp_len == RESP_MAX)
        return 0;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, h->resp_len, (const uint8_t *)h->resp);
    uint64_t n = 0;
    if (r) {
        if (r->partial_success && r->partial_success->rejected_spans > 0)
            n = (uint64_t)r->partial_success->rejected_spans;
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
            r, NULL);
    }
    return n;
}

/* Prepares slot |h| with a fresh request and adds it to |m|. Returns 0 or -1. */
static int hreq_start(CURLM *m, hreq *h)
{
    lg_worker *w = h->w;
    lg_run *run = w->run;
    h->tpl = &run->templates[lg_rand(&w->rng) % (uint64_t)run->ntemplates];
    if (h->raw_cap < h->tpl->len) {
        uint8_t *p = realloc(h->raw, h->tpl->len);
        if (p == NULL)
            return -1;
        h->raw = p;
        h->raw_cap = h->tpl->len;
    }
    lg_template_fill(h->tpl, h->raw, &w->rng, lg_now_ns() - 100000000u, h->ids);
    free(h->gz);
    h->gz = NULL;
    const uint8_t *body = h->raw;
    size_t len = h->tpl->len;
    if (run->o->gzip) {
        h->gz = lg_gzip(h->raw, h->tpl->len, &len);
        if (h->gz == NULL)
            return -1;
        body = h->gz;
    }
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    h->resp_len = 0;
    h->errbuf[0] = '\0';
    h->t0 = lg_mono_ns();
    return curl_multi_add_handle(m, h->easy) == CURLM_OK ? 0 : -1;
}

static void hreq_finish(hreq *h, CURLcode rc)
{
    lg_stats *st = &h->w->stats;
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    lg_stats_latency(st, (lg_mono_ns() - h->t0) / 1000);
    if (status < 0 || status >= 600)
        status = 0;
    st->by_code[status]++;
    if (status == 200) {
        uint64_t rejected = body_rejected(h);
        st->ok_requests++;
        st->ok_spans += h->tpl->nspans > rejected ? h->tpl->nspans - rejected : 0;
        st->ok_bytes += h->tpl->len;
        lg_run_record_ids(h->w->run, h->ids, h->tpl);
    } else {
        st->err_requests++;
        lg_worker *w = h->w;
        if (w->first_failure[0] == '\0') {
            if (rc != CURLE_OK)
                snprintf(w->first_failure, sizeof(w->first_failure), "%s",
                         h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
            else
                snprintf(w->first_failure, sizeof(w->first_failure), "HTTP %ld: %.*s", status,
                         (int)(h->resp_len > 200 ? 200 : h->resp_len), h->resp);
        }
    }
}

void *lg_http_worker(void *arg)
{
    lg_worker *w = arg;
    lg_run *run = w->run;
    const lg_options *o = run->o;
    char url[512];
    snprintf(url, sizeof(url), "http://%s%s", o->target, o->path);

    CURLM *m = curl_multi_init();
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/x-protobuf");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (o->gzip)
        hdrs = curl_slist_append(hdrs, "Content-Encoding: gzip");
    int k = o->inflight;
    hreq *reqs = calloc((size_t)k, sizeof(*reqs));
    uint8_t *ids = calloc((size_t)k, (size_t)o->traces_per_request * 16);
    if (m == NULL || hdrs == NULL || reqs == NULL || ids == NULL) {
        snprintf(w->error, sizeof(w->error), "out of memory");
        k = 0;
    }
    /* Debian's libcurl 7.88 cannot send a second request on an h2c prior-knowledge
     * connection (fixed in curl 8.0), so each h2c request opens its own
     * connection; requests in flight still run in parallel. */
    if (m)
        curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);

    int active = 0;
    for (int i = 0; i < k; i++) {
        hreq *h = &reqs[i];
        h->w = w;
        h->ids = ids + (size_t)i * o->traces_per_request * 16;
        h->easy = curl_easy_init();
        if (h->easy == NULL) {
            snprintf(w->error, sizeof(w->error), "curl_easy_init failed");
            break;
        }
        curl_easy_setopt(h->easy, CURLOPT_URL, url);
        curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
        curl_easy_setopt(h->easy, CURLOPT_PRIVATE, h);
        curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->errbuf);
        curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, (long)(o->timeout_s * 1000));
        if (o->protocol == LG_H2C) {
            curl_easy_setopt(h->easy, CURLOPT_HTTP_VERSION,
                             (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
            curl_easy_setopt(h->easy, CURLOPT_FORBID_REUSE, 1L);
        } else {
            curl_easy_setopt(h->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        }
        if (!lg_run_take(run))
            break;
        if (hreq_start(m, h) != 0) {
            snprintf(w->error, sizeof(w->error), "cannot start an HTTP request");
            break;
        }
        active++;
    }

    while (active > 0) {
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            hreq *h = NULL;
            CURL *easy = msg->easy_handle;
            CURLcode rc = msg->data.result;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&h);
            hreq_finish(h, rc);
            curl_multi_remove_handle(m, easy);
            if (lg_run_take(run) && hreq_start(m, h) == 0)
                continue;
            active--;
        }
        if (active > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }

    for (int i = 0; reqs && i < k; i++) {
        if (reqs[i].easy)
            curl_easy_cleanup(reqs[i].easy);
        free(reqs[i].raw);
        free(reqs[i].gz);
    }
    free(reqs);
    free(ids);
    curl_slist_free_all(hdrs);
    if (m)
        curl_multi_cleanup(m);
    return NULL;
}
