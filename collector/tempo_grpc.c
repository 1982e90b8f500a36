/* collector/tempo_grpc.c - Grafana Tempo's tempopb.StreamingQuerier over gRPC
 * on the query port, next to the HTTP API, as Tempo serves it for Grafana's
 * "streaming" datasource switch. Each call is decoded from its protobuf
 * request, answered by the same query/ function as the HTTP route (on the
 * query threads, within the same budget, shortened by grpc-timeout), and its
 * JSON answer converted into the protobuf response (json_pb.c). A stream holds
 * one message, the whole answer; the trailers carry grpc-status. Tenants and
 * authentication are the HTTP port's: x-scope-orgid and authorization are
 * request headers either way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "collector/collector.h"
#include "otlp/otlp.h"
#include "query/query.h"
#include "tempo/tempo.pb-c.h"

#define SERVICE     "/tempopb.StreamingQuerier/"
#define SEARCH_JOBS 4 /* a ranged search runs as this many time windows, newest first */

typedef enum method {
    M_SEARCH = 0,
    M_TAGS,
    M_TAGS_V2,
    M_VALUES,
    M_VALUES_V2,
    M_RANGE,
    M_INSTANT,
} method;

static const struct {
    const char *name;
    const ProtobufCMessageDescriptor *req, *resp;
} methods[] = {
    [M_SEARCH] = {"Search", &tempopb__search_request__descriptor,
                  &tempopb__search_response__descriptor},
    [M_TAGS] = {"SearchTags", &tempopb__search_tags_request__descriptor,
                &tempopb__search_tags_response__descriptor},
    [M_TAGS_V2] = {"SearchTagsV2", &tempopb__search_tags_request__descriptor,
                   &tempopb__search_tags_v2_response__descriptor},
    [M_VALUES] = {"SearchTagValues", &tempopb__search_tag_values_request__descriptor,
                  &tempopb__search_tag_values_response__descriptor},
    [M_VALUES_V2] = {"SearchTagValuesV2", &tempopb__search_tag_values_request__descriptor,
                     &tempopb__search_tag_values_v2_response__descriptor},
    [M_RANGE] = {"MetricsQueryRange", &tempopb__query_range_request__descriptor,
                 &tempopb__query_range_response__descriptor},
    [M_INSTANT] = {"MetricsQueryInstant", &tempopb__query_instant_request__descriptor,
                   &tempopb__query_instant_response__descriptor},
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

static int method_of(const char *path)
{
    if (strncmp(path, SERVICE, sizeof(SERVICE) - 1) != 0)
        return -1;
    for (size_t i = 0; i < NMETHODS; i++)
        if (strcmp(path + sizeof(SERVICE) - 1, methods[i].name) == 0)
            return (int)i;
    return -1;
}

static void grpc_error(http_response *resp, int code, const char *msg)
{
    ottr_buf_reset(&resp->body);
    http_grpc_finish(resp, code, msg);
}

/* A query refused at the limits, at shutdown or for its tenant. */
static void grpc_refuse(const http_request *req, http_response *resp, int status, const char *msg)
{
    (void)req;
    grpc_error(resp, http_grpc_code_of_http(status), msg);
}

static int code_of(ottr_status st)
{
    switch (st) {
    case OTTR_ERR_INVALID:
    case OTTR_ERR_TOO_LARGE:
        return HTTP_GRPC_INVALID_ARGUMENT;
    case OTTR_ERR_NOTFOUND:
        return HTTP_GRPC_NOT_FOUND;
    case OTTR_ERR_BUSY:
        return HTTP_GRPC_UNAVAILABLE;
    default:
        return HTTP_GRPC_INTERNAL;
    }
}

/* Tempo's Search tags map as logfmt (k="v" ...). */
static void tags_logfmt(ottr_buf *b, const Tempopb__SearchRequest *r)
{
    for (size_t i = 0; i < r->n_tags; i++) {
        const Tempopb__SearchRequest__TagsEntry *e = r->tags[i];
        if (e == NULL || e->key == NULL || e->key[0] == '\0')
            continue;
        if (b->len)
            ottr_buf_putc(b, ' ');
        ottr_buf_puts(b, e->key);
        ottr_buf_puts(b, "=\"");
        for (const char *p = e->value ? e->value : ""; *p; p++) {
            if (*p == '"' || *p == '\\')
                ottr_buf_putc(b, '\\');
            ottr_buf_putc(b, *p);
        }
        ottr_buf_putc(b, '"');
    }
}

static uint64_t secs_ns(uint32_t s, int end)
{
    return s ? (uint64_t)s * 1000000000ull + (end ? 999999999ull : 0) : 0;
}

/* Packs the JSON answer |json| as message type |d| into one gRPC frame
 * appended to |out|. Returns 0 or -1 (not convertible, out of memory). */
static int frame_json(const ProtobufCMessageDescriptor *d, const char *json, size_t len,
                      ottr_buf *out)
{
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 256u << 20);
    ProtobufCMessage *pb = collector_json_to_pb(&a, d, json, len);
    if (pb != NULL && d == &tempopb__search_response__descriptor) {
        /* The deprecated single spanSet is the first of spanSets. */
        Tempopb__SearchResponse *sr = (Tempopb__SearchResponse *)pb;
        for (size_t i = 0; i < sr->n_traces; i++)
            if (sr->traces[i]->n_spansets > 0)
                sr->traces[i]->spanset = sr->traces[i]->spansets[0];
    }
    size_t n = pb ? protobuf_c_message_get_packed_size(pb) : 0;
    uint8_t *packed = pb ? malloc(n ? n : 1) : NULL;
    if (packed != NULL) {
        protobuf_c_message_pack(pb, packed);
        http_grpc_frame(out, packed, n);
        free(packed);
    }
    ottr_arena_free(&a);
    return packed != NULL && !out->oom ? 0 : -1;
}

/* The traces found so far as a SearchResponse JSON into |out|. */
static void search_json(ottr_buf *out, json_object *traces, uint64_t inspected, uint64_t bytes,
                        int done, int total)
{
    ottr_buf_reset(out);
    ottr_buf_puts(out, "{\"traces\":");
    ottr_buf_puts(out, json_object_to_json_string_ext(traces, JSON_C_TO_STRING_PLAIN));
    ottr_buf_printf(out,
                    ",\"metrics\":{\"inspectedTraces\":%llu,\"inspectedBytes\":\"%llu\","
                    "\"completedJobs\":%d,\"totalJobs\":%d}}",
                    (unsigned long long)inspected, (unsigned long long)bytes, done, total);
}

/* A ranged Search as SEARCH_JOBS time windows, newest first, as Tempo's
 * frontend shards it: after each window but the last, the traces found so far
 * go out as one message (when |d| can stream); the whole answer, whose
 * completedJobs equals totalJobs, ends up in |json|. */
static ottr_status search_windows(store_view v, http_deferred *d,
                                  const query_tempo_search_params *base, ottr_buf *json, char *err,
                                  size_t errlen)
{
    size_t limit = base->limit ? base->limit : 20;
    uint64_t span = (base->end_ns - base->start_ns) / SEARCH_JOBS;
    json_object *all = json_object_new_array();
    if (all == NULL)
        return OTTR_ERR_NOMEM;
    uint64_t inspected = 0, bytes = 0;
    ottr_status st = OTTR_OK;
    ottr_buf part = {0};
    int done = 0;
    for (int i = 0; i < SEARCH_JOBS && st == OTTR_OK; i++) {
        query_tempo_search_params p = *base;
        p.end_ns = base->end_ns - (uint64_t)i * span;
        p.start_ns = i == SEARCH_JOBS - 1 ? base->start_ns : p.end_ns - span + 1;
        p.limit = limit - json_object_array_length(all);
        query_cut cut = QUERY_CUT_NONE;
        p.cut = &cut;
        ottr_buf_reset(&part);
        st = query_tempo_search(v, &p, &part, err, errlen);
        collector_query_note_cut(cut);
        if (st != OTTR_OK)
            break;
        json_object *o = json_tokener_parse(part.data ? part.data : "");
        json_object *tr, *m, *x;
        if (o == NULL || !json_object_object_get_ex(o, "traces", &tr)) {
            json_object_put(o);
            st = OTTR_ERR_NOMEM;
            break;
        }
        for (size_t k = 0; k < json_object_array_length(tr); k++)
            json_object_array_add(all, json_object_get(json_object_array_get_idx(tr, k)));
        if (json_object_object_get_ex(o, "metrics", &m)) {
            if (json_object_object_get_ex(m, "inspectedTraces", &x))
                inspected += (uint64_t)json_object_get_int64(x);
            if (json_object_object_get_ex(m, "inspectedBytes", &x))
                bytes += strtoull(json_object_get_string(x), NULL, 10);
        }
        json_object_put(o);
        if (cut != QUERY_CUT_NONE) /* out of budget: the rest is not run */
            break;
        done = i + 1;
        if (json_object_array_length(all) >= limit) {
            done = SEARCH_JOBS; /* the newest traces are all in */
            break;
        }
        if (i + 1 < SEARCH_JOBS && d != NULL) {
            search_json(&part, all, inspected, bytes, done, SEARCH_JOBS);
            ottr_buf frame = {0};
            if (!part.oom && frame_json(&tempopb__search_response__descriptor, part.data, part.len,
                                        &frame) == 0) {
                http_response head;
                http_response_init(&head);
                http_response_set_type(&head, "application/grpc");
                http_stream_push(d, &head, frame.data, frame.len);
            }
            ottr_buf_free(&frame);
        }
    }
    if (st == OTTR_OK) {
        search_json(json, all, inspected, bytes, done, SEARCH_JOBS);
        if (json->oom)
            st = OTTR_ERR_NOMEM;
    }
    if (st == OTTR_ERR_NOMEM)
        snprintf(err, errlen, "out of memory");
    ottr_buf_free(&part);
    json_object_put(all);
    return st;
}

/* Runs the call's query into |json|; the HTTP route's function for each. */
static ottr_status run(method m, store_view v, http_deferred *d, void *rq, const query_budget *b,
                       ottr_buf *json, query_metrics_source *src, char *err, size_t errlen)
{
    switch (m) {
    case M_SEARCH: {
        Tempopb__SearchRequest *r = rq;
        ottr_buf tags = {0};
        tags_logfmt(&tags, r);
        query_tempo_search_params p = {0};
        p.q = r->query && r->query[0] ? r->query : NULL;
        p.tags = tags.len ? tags.data : NULL;
        p.min_duration_ns = (uint64_t)r->mindurationms * 1000000ull;
        p.max_duration_ns = (uint64_t)r->maxdurationms * 1000000ull;
        p.limit = r->limit;
        p.spss = r->spansperspanset;
        p.start_ns = secs_ns(r->start, 0);
        p.end_ns = secs_ns(r->end, 1);
        query_cut cut = QUERY_CUT_NONE;
        p.budget = b;
        ottr_status st;
        if (tags.oom) {
            st = OTTR_ERR_NOMEM;
        } else if (p.start_ns && p.end_ns > p.start_ns &&
                   p.end_ns - p.start_ns >= SEARCH_JOBS * 1000000000ull) {
            st = search_windows(v, d, &p, json, err, errlen);
        } else {
            p.cut = &cut;
            st = query_tempo_search(v, &p, json, err, errlen);
            collector_query_note_cut(cut);
        }
        ottr_buf_free(&tags);
        return st;
    }
    case M_TAGS:
    case M_TAGS_V2: {
        Tempopb__SearchTagsRequest *r = rq;
        return query_tempo_tags(v, m == M_TAGS_V2 ? 2 : 1, r->scope, json, err, errlen);
    }
    case M_VALUES:
    case M_VALUES_V2: {
        Tempopb__SearchTagValuesRequest *r = rq;
        query_tempo_tag_values_params p = {.version = m == M_VALUES_V2 ? 2 : 1,
                                           .tag = r->tagname,
                                           .limit = r->maxtagvalues,
                                           .q = r->query,
                                           .start_ns = secs_ns(r->start, 0),
                                           .end_ns = secs_ns(r->end, 1),
                                           .budget = b};
        return query_tempo_tag_values_in(v, &p, json, err, errlen);
    }
    case M_RANGE:
    case M_INSTANT: {
        query_tempo_metrics_params p = {0};
        if (m == M_RANGE) {
            Tempopb__QueryRangeRequest *r = rq;
            p.q = r->query;
            p.start_ns = r->start;
            p.end_ns = r->end;
            p.step_ns = r->step;
            p.exemplars = r->exemplars > 1000 ? 1000 : r->exemplars;
            p.max_series = r->maxseries;
        } else {
            Tempopb__QueryInstantRequest *r = rq;
            p.q = r->query;
            p.start_ns = r->start;
            p.end_ns = r->end;
            p.instant = true;
        }
        if (p.end_ns == 0)
            p.end_ns = ottr_now_ns();
        if (p.start_ns == 0)
            p.start_ns = p.end_ns > 3600000000000ull ? p.end_ns - 3600000000000ull : 0;
        query_cut cut = QUERY_CUT_NONE;
        p.budget = b;
        p.cut = &cut;
        p.source = src;
        ottr_status st = query_tempo_metrics(v, &p, json, err, errlen);
        collector_query_note_cut(cut);
        return st;
    }
    }
    return OTTR_ERR_INVALID;
}

/* On a query thread. */
static void grpc_query(void *ctx, const http_request *req, http_response *resp,
                       const query_budget *b)
{
    ottrd_query_ctx *q = ctx;
    method m = (method)method_of(req->path);
    store_view v;
    if (!collector_routes_view(q, req, resp, grpc_refuse, &v))
        return;
    char err[QUERY_ERRLEN];
    const uint8_t *msg;
    size_t len;
    int code = http_grpc_message(req, &msg, &len, err, sizeof(err));
    if (code != HTTP_GRPC_OK) {
        grpc_error(resp, code, err);
        return;
    }
    ProtobufCMessage *rq = protobuf_c_message_unpack(methods[m].req, NULL, len, msg);
    if (rq == NULL) {
        grpc_error(resp, HTTP_GRPC_INVALID_ARGUMENT, "request message does not decode");
        return;
    }
    /* grpc-timeout shortens the query's budget. */
    query_budget bb = b ? *b : (query_budget){0};
    uint64_t tmo;
    if (http_grpc_timeout(req, &tmo)) {
        uint64_t dl = ottr_mono_ns() + tmo;
        if (bb.deadline_ns == 0 || dl < bb.deadline_ns)
            bb.deadline_ns = dl;
    }
    ottr_buf json = {0};
    query_metrics_source src = QUERY_METRICS_TRACES;
    ottr_status st = run(m, v, req->deferred, rq, &bb, &json, &src, err, sizeof(err));
    protobuf_c_message_free_unpacked(rq, NULL);
    if (st != OTTR_OK) {
        ottr_buf_free(&json);
        grpc_error(resp, code_of(st), err);
        return;
    }
    if (m == M_RANGE || m == M_INSTANT)
        http_response_set_header(resp, "x-ottr-metrics-source", query_metrics_source_name(src));
    ottr_buf_reset(&resp->body);
    int rc = json.oom ? -1 : frame_json(methods[m].resp, json.data, json.len, &resp->body);
    ottr_buf_free(&json);
    if (rc != 0) {
        grpc_error(resp, HTTP_GRPC_INTERNAL, "out of memory building the answer");
        return;
    }
    http_grpc_finish(resp, HTTP_GRPC_OK, NULL);
}

void collector_tempo_grpc_handle(ottrd_query_ctx *q, const http_request *req, http_response *resp)
{
    if (method_of(req->path) < 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "unknown method %.100s", req->path);
        grpc_error(resp, HTTP_GRPC_UNIMPLEMENTED, msg);
        return;
    }
    collector_query_pool_submit(q->pool, req, resp, grpc_query, grpc_refuse, q);
}
