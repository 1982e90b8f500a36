/* collector/fanout.c - queries for the whole cluster (Kafka mode): a node with
 * query.peers (jaeger.peers) asks every store node's Tempo (Jaeger) port at once,
 * on a query thread with libcurl, and answers with the merge. A trace by ID is the
 * most complete copy found (its partition's owner has it whole); searches, tags
 * and the rest are merged as JSON: objects key by key, arrays as a union (traces
 * by traceID, dependency links by parent and child with their calls added),
 * numbers added (the inspected bytes and such). A peer
 * answers from its own store only when asked with X-Ottr-Local, so a peer list
 * that names the asking node too does not loop. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

#define MAX_PEERS     64
#define LOCAL_HEADER  "x-ottr-local"
#define PEER_BODY_MAX (64u << 20)

typedef struct peer_call {
    CURL *h;
    struct curl_slist *headers;
    ottr_buf body;
    long status;
    int failed; /* transport error or body past PEER_BODY_MAX */
} peer_call;

bool collector_fanout_wanted(const ottrd_query_ctx *q, const http_request *req, bool jaeger)
{
    return q->cfg != NULL && (jaeger ? q->cfg->jaeger_peers : q->cfg->query_peers) != NULL &&
           http_request_header(req, LOCAL_HEADER) == NULL;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    peer_call *c = ctx;
    size_t len = size * n;
    if (c->body.len + len > PEER_BODY_MAX) {
        c->failed = 1;
        return 0;
    }
    ottr_buf_append(&c->body, data, len);
    return c->body.oom ? 0 : len;
}

/* Adds "Name: value" of |req|'s header |name| to |h|. */
static struct curl_slist *forward(struct curl_slist *h, const http_request *req, const char *name,
                                  const char *as)
{
    const char *v = http_request_header(req, name);
    if (v == NULL)
        return h;
    char line[4096];
    snprintf(line, sizeof(line), "%s: %s", as, v);
    struct curl_slist *n = curl_slist_append(h, line);
    return n ? n : h;
}

/* Starts the GET of |req| on |peer| (host:port) into |c|. 0 or -1. */
static int call_init(peer_call *c, const char *peer, const http_request *req, uint64_t timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->h = curl_easy_init();
    if (c->h == NULL)
        return -1;
    char url[8192];
    snprintf(url, sizeof(url), "http://%s%s%s%s", peer, req->path, req->query[0] ? "?" : "",
             req->query);
    c->headers = curl_slist_append(NULL, "X-Ottr-Local: 1");
    c->headers = forward(c->headers, req, "x-scope-orgid", "X-Scope-OrgID");
    c->headers = forward(c->headers, req, "authorization", "Authorization");
    c->headers = forward(c->headers, req, "accept", "Accept");
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c->h, CURLOPT_ACCEPT_ENCODING, "");
    return 0;
}

static void call_free(peer_call *c)
{
    if (c->h)
        curl_easy_cleanup(c->h);
    curl_slist_free_all(c->headers);
    ottr_buf_free(&c->body);
}

/* The string under |key| of object |o|, or NULL. */
static const char *str_at(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* Whether two array elements are the same thing: traces by traceID, Jaeger's
 * dependency links by parent and child (their calls then added into |a|), the
 * rest by their JSON text. */
static bool same_element(json_object *a, json_object *b)
{
    if (json_object_is_type(a, json_type_object) && json_object_is_type(b, json_type_object)) {
        const char *ta = str_at(a, "traceID"), *tb = str_at(b, "traceID");
        if (ta && tb)
            return strcmp(ta, tb) == 0;
        const char *pa = str_at(a, "parent"), *pb = str_at(b, "parent");
        const char *ca = str_at(a, "child"), *cb = str_at(b, "child");
        json_object *na, *nb;
        if (pa && pb && ca && cb && json_object_object_get_ex(a, "callCount", &na) &&
            json_object_object_get_ex(b, "callCount", &nb)) {
            if (strcmp(pa, pb) != 0 || strcmp(ca, cb) != 0)
                return false;
            json_object_object_add(
                a, "callCount",
                json_object_new_int64(json_object_get_int64(na) + json_object_get_int64(nb)));
            return true;
        }
    }
    return strcmp(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                  json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN)) == 0;
}

/* Merges |from| into |into| (both owned by their trees); returns the merged
 * value, which may be |into| or a new one replacing it. */
static json_object *merge(json_object *into, json_object *from)
{
    if (json_object_is_type(into, json_type_object) &&
        json_object_is_type(from, json_type_object)) {
        json_object_object_foreach(from, key, val)
        {
            json_object *old;
            if (json_object_object_get_ex(into, key, &old)) {
                json_object *m = merge(old, val);
                if (m != old)
                    json_object_object_add(into, key, m);
            } else {
                json_object_object_add(into, key, json_object_get(val));
            }
        }
        return into;
    }
    if (json_object_is_type(into, json_type_array) && json_object_is_type(from, json_type_array)) {
        size_t n = json_object_array_length(into);
        for (size_t i = 0; i < json_object_array_length(from); i++) {
            json_object *e = json_object_array_get_idx(from, i);
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = same_element(json_object_array_get_idx(into, j), e);
            if (!seen)
                json_object_array_add(into, json_object_get(e));
        }
        return into;
    }
    if (json_object_is_type(into, json_type_int) && json_object_is_type(from, json_type_int))
        return json_object_new_int64(json_object_get_int64(into) + json_object_get_int64(from));
    return into;
}

static int by_start_desc(const void *a, const void *b)
{
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
    json_object *sx, *sy;
    uint64_t vx = json_object_object_get_ex(x, "startTimeUnixNano", &sx)
                      ? strtoull(json_object_get_string(sx), NULL, 10)
                      : 0;
    uint64_t vy = json_object_object_get_ex(y, "startTimeUnixNano", &sy)
                      ? strtoull(json_object_get_string(sy), NULL, 10)
                      : 0;
    return vx < vy ? 1 : vx > vy ? -1 : 0;
}

/* A merged search keeps its newest |limit| traces, as one node would. */
static void trim_search(const http_request *req, json_object *doc)
{
    json_object *traces;
    if (!json_object_object_get_ex(doc, "traces", &traces) ||
        !json_object_is_type(traces, json_type_array))
        return;
    json_object_array_sort(traces, by_start_desc);
    char lim[32];
    size_t limit = 20;
    if (http_query_param(req, "limit", 0, lim, sizeof(lim)) > 0 && atoi(lim) > 0)
        limit = (size_t)atoi(lim);
    size_t n = json_object_array_length(traces);
    if (n > limit)
        json_object_array_del_idx(traces, limit, n - limit);
}

static bool is_trace_by_id(const char *path)
{
    return strncmp(path, "/api/traces/", 12) == 0 || strncmp(path, "/api/v2/traces/", 15) == 0 ||
           strncmp(path, "/api/v3/traces/", 15) == 0;
}

/* Answers with the peers' results: the largest 200 for a trace by ID, else
 * the merge of every 200; with none, the first peer's answer (or 502). */
static void answer(const http_request *req, http_response *resp, peer_call *calls, size_t n)
{
    size_t best = n;
    json_object *doc = NULL;
    bool by_id = is_trace_by_id(req->path);
    for (size_t i = 0; i < n; i++) {
        if (calls[i].failed || calls[i].status != 200)
            continue;
        if (by_id) {
            if (best == n || calls[i].body.len > calls[best].body.len)
                best = i;
            continue;
        }
        json_object *d = json_tokener_parse(calls[i].body.data ? calls[i].body.data : "");
        if (d == NULL)
            continue;
        if (doc == NULL) {
            doc = d;
            best = i;
        } else {
            json_object *m = merge(doc, d);
            if (m != doc) {
                json_object_put(doc);
                doc = m;
            }
            json_object_put(d);
        }
    }
    if (best == n) {
        for (size_t i = 0; i < n && best == n; i++)
            if (!calls[i].failed && calls[i].status > 0)
                best = i;
        if (best == n) {
            resp->status = 502;
            ottr_buf_puts(&resp->body, "no store node answered\n");
            return;
        }
    }
    char *ct = NULL;
    curl_easy_getinfo(calls[best].h, CURLINFO_CONTENT_TYPE, &ct);
    http_response_set_type(resp, ct ? ct : "application/json");
    resp->status = (int)calls[best].status;
    if (doc != NULL) {
        trim_search(req, doc);
        ottr_buf_puts(&resp->body, json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
        json_object_put(doc);
    } else {
        ottr_buf_append(&resp->body, calls[best].body.data, calls[best].body.len);
    }
}

/* Asks every peer of the comma-separated |list| and answers with the merge. */
static void fan_out(const char *list, const http_request *req, http_response *resp,
                    const query_budget *b)
{
    char peers[4096];
    snprintf(peers, sizeof(peers), "%s", list);
    peer_call calls[MAX_PEERS];
    size_t n = 0;
    uint64_t now = ottr_mono_ns();
    uint64_t timeout_ms = b && b->deadline_ns > now ? (b->deadline_ns - now) / 1000000u : 30000;
    CURLM *m = curl_multi_init();
    char *save = NULL;
    for (char *p = strtok_r(peers, ", ", &save); p && n < MAX_PEERS && m;
         p = strtok_r(NULL, ", ", &save)) {
        if (call_init(&calls[n], p, req, timeout_ms ? timeout_ms : 1) != 0) {
            call_free(&calls[n]);
            continue;
        }
        curl_multi_add_handle(m, calls[n].h);
        n++;
    }
    int running = 1;
    while (m && running) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    CURLMsg *msg;
    int left;
    while (m && (msg = curl_multi_info_read(m, &left)) != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (msg->msg != CURLMSG_DONE || msg->easy_handle != calls[i].h)
                continue;
            if (msg->data.result != CURLE_OK)
                calls[i].failed = 1;
            else
                curl_easy_getinfo(calls[i].h, CURLINFO_RESPONSE_CODE, &calls[i].status);
        }
    }
    answer(req, resp, calls, n);
    for (size_t i = 0; i < n; i++) {
        curl_multi_remove_handle(m, calls[i].h);
        call_free(&calls[i]);
    }
    curl_multi_cleanup(m);
}

void collector_fanout_tempo(void *ctx, const http_request *req, http_response *resp,
                            const query_budget *b)
{
    fan_out(((ottrd_query_ctx *)ctx)->cfg->query_peers, req, resp, b);
}

void collector_fanout_jaeger(void *ctx, const http_request *req, http_response *resp,
                             const query_budget *b)
{
    fan_out(((ottrd_query_ctx *)ctx)->cfg->jaeger_peers, req, resp, b);
}
