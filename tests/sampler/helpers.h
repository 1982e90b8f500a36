/* tests/sampler/helpers.h - builds export requests and batches from compact span
 * descriptions, a fake clock, and a sampler over a real store in a temp dir. */
#ifndef OTTR_TESTS_SAMPLER_HELPERS_H
#define OTTR_TESTS_SAMPLER_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <unistd.h>

#include "common/common.h"
#include "sampler/internal.h"
#include "sampler/sampler.h"
#include "store/store.h"

#define H_UNUSED __attribute__((unused))

enum { A_STR = 1, A_INT, A_DBL, A_BOOL };

typedef struct tattr {
    const char *key;
    int type;
    const char *s;
    int64_t i;
    double d;
    bool b;
} tattr;

#define ASTR(k, v)                                                                                 \
    {                                                                                              \
        .key = (k), .type = A_STR, .s = (v)                                                        \
    }
#define AINT(k, v)                                                                                 \
    {                                                                                              \
        .key = (k), .type = A_INT, .i = (v)                                                        \
    }
#define ADBL(k, v)                                                                                 \
    {                                                                                              \
        .key = (k), .type = A_DBL, .d = (v)                                                        \
    }
#define ABOOL(k, v)                                                                                \
    {                                                                                              \
        .key = (k), .type = A_BOOL, .b = (v)                                                       \
    }

/* One span. trace / span / parent are small numbers turned into IDs; parent 0
 * makes a root span. */
typedef struct tspan {
    const char *service;
    uint64_t trace;
    uint64_t span;
    uint64_t parent;
    const char *name;
    int kind;
    int status;
    uint64_t start_ms; /* relative to T0 */
    uint64_t dur_ms;
    const char *trace_state;
    tattr attrs[6];
    tattr rattrs[3]; /* resource attributes besides service.name */
} tspan;

#define T0_NS 1700000000000000000ull

static H_UNUSED void id16(uint64_t n, uint8_t out[16])
{
    memset(out, 0, 16);
    out[0] = 0x5a;
    for (int i = 0; i < 8; i++)
        out[8 + i] = (uint8_t)(n >> (56 - 8 * i));
}

static H_UNUSED void id8(uint64_t n, uint8_t out[8])
{
    out[0] = 0xa5;
    for (int i = 1; i < 8; i++)
        out[i] = (uint8_t)(n >> (56 - 8 * i));
}

static H_UNUSED otlp_kv *h_kv(ottr_arena *a, const tattr *t)
{
    otlp_kv *kv = ottr_arena_alloc(a, sizeof(*kv));
    otlp_any *v = ottr_arena_alloc(a, sizeof(*v));
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    kv->key = (char *)t->key;
    kv->value = v;
    switch (t->type) {
    case A_STR:
        v->value_case = ANY_STRING;
        v->string_value = (char *)t->s;
        break;
    case A_INT:
        v->value_case = ANY_INT;
        v->int_value = t->i;
        break;
    case A_DBL:
        v->value_case = ANY_DOUBLE;
        v->double_value = t->d;
        break;
    case A_BOOL:
        v->value_case = ANY_BOOL;
        v->bool_value = t->b;
        break;
    }
    return kv;
}

/* Builds an export request with one ResourceSpans per span, in |a|. */
static H_UNUSED otlp_request *h_request(ottr_arena *a, const tspan *spans, size_t n)
{
    otlp_request *req = ottr_arena_alloc(a, sizeof(*req));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(req);
    req->n_resource_spans = n;
    req->resource_spans = ottr_arena_alloc(a, n * sizeof(otlp_resource_spans *) + 1);
    for (size_t i = 0; i < n; i++) {
        const tspan *t = &spans[i];
        otlp_resource_spans *rs = ottr_arena_alloc(a, sizeof(*rs));
        opentelemetry__proto__trace__v1__resource_spans__init(rs);
        otlp_resource *res = ottr_arena_alloc(a, sizeof(*res));
        opentelemetry__proto__resource__v1__resource__init(res);
        size_t nr = 1;
        while (nr - 1 < 3 && t->rattrs[nr - 1].key)
            nr++;
        res->attributes = ottr_arena_alloc(a, nr * sizeof(otlp_kv *));
        tattr svc = ASTR("service.name", t->service ? t->service : "svc");
        res->attributes[0] = h_kv(a, &svc);
        for (size_t k = 1; k < nr; k++)
            res->attributes[k] = h_kv(a, &t->rattrs[k - 1]);
        res->n_attributes = nr;
        rs->resource = res;
        otlp_scope_spans *ss = ottr_arena_alloc(a, sizeof(*ss));
        opentelemetry__proto__trace__v1__scope_spans__init(ss);
        rs->n_scope_spans = 1;
        rs->scope_spans = ottr_arena_alloc(a, sizeof(otlp_scope_spans *));
        rs->scope_spans[0] = ss;
        otlp_span *sp = ottr_arena_alloc(a, sizeof(*sp));
        opentelemetry__proto__trace__v1__span__init(sp);
        uint8_t *tid = ottr_arena_alloc(a, 16), *sid = ottr_arena_alloc(a, 8);
        id16(t->trace, tid);
        id8(t->span ? t->span : 1, sid);
        sp->trace_id.data = tid;
        sp->trace_id.len = 16;
        sp->span_id.data = sid;
        sp->span_id.len = 8;
        if (t->parent) {
            uint8_t *pid = ottr_arena_alloc(a, 8);
            id8(t->parent, pid);
            sp->parent_span_id.data = pid;
            sp->parent_span_id.len = 8;
        }
        sp->name = (char *)(t->name ? t->name : "op");
        sp->kind = t->kind;
        sp->start_time_unix_nano = T0_NS + t->start_ms * 1000000ull;
        sp->end_time_unix_nano = sp->start_time_unix_nano + t->dur_ms * 1000000ull;
        if (t->trace_state)
            sp->trace_state = (char *)t->trace_state;
        if (t->status) {
            otlp_status *st = ottr_arena_alloc(a, sizeof(*st));
            opentelemetry__proto__trace__v1__status__init(st);
            st->code = t->status;
            sp->status = st;
        }
        size_t na = 0;
        while (na < 6 && t->attrs[na].key)
            na++;
        sp->attributes = ottr_arena_alloc(a, (na + 1) * sizeof(otlp_kv *));
        for (size_t k = 0; k < na; k++)
            sp->attributes[k] = h_kv(a, &t->attrs[k]);
        sp->n_attributes = na;
        ss->n_spans = 1;
        ss->spans = ottr_arena_alloc(a, sizeof(otlp_span *));
        ss->spans[0] = sp;
        req->resource_spans[i] = rs;
    }
    return req;
}

static H_UNUSED void h_batch(ottr_arena *a, const tspan *spans, size_t n, otlp_batch *out)
{
    otlp_request *req = h_request(a, spans, n);
    size_t rejected = 0;
    char msg[256];
    assert_int_equal(otlp_batch_build(a, req, out, &rejected, msg, sizeof(msg)), OTTR_OK);
    assert_int_equal(rejected, 0);
}

/* ---- fake clock ---- */

static uint64_t g_now = T0_NS;
static H_UNUSED uint64_t fake_clock(void)
{
    return g_now;
}
#define SEC(n) ((uint64_t)(n)*1000000000ull)
#define MS(n)  ((uint64_t)(n)*1000000ull)

/* ---- YAML ---- */

/* Parses "policies:\n<text>" and returns the policies node (tree in *root). */
/* Every policy type, in the collector's block and flow styles (a sampling.policies
 * list for h_policies). */
#define H_EVERY_POLICY                                                                             \
    "  [\n"                                                                                        \
    "    {name: p1, type: always_sample},\n"                                                       \
    "    {name: p2, type: latency, latency: {threshold_ms: 5000}},\n"                              \
    "    {name: p3, type: numeric_attribute, numeric_attribute: {key: key1, "                      \
    "min_value: 50, max_value: 100}},\n"                                                           \
    "    {name: p4, type: probabilistic, probabilistic: {sampling_percentage: 10}},\n"             \
    "    {name: p5, type: status_code, status_code: {status_codes: [ERROR, UNSET]}},\n"            \
    "    {name: p6, type: string_attribute, string_attribute: {key: key2, values: "                \
    "[value1, value2]}},\n"                                                                        \
    "    {name: p7, type: string_attribute, string_attribute: {key: key2, values: "                \
    "[value1, val*], enabled_regex_matching: true, cache_max_size: 10}},\n"                        \
    "    {name: p8, type: rate_limiting, rate_limiting: {spans_per_second: 35}},\n"                \
    "    {name: p9, type: string_attribute, string_attribute: {key: http.url, values: "            \
    "[\\/health, \\/metrics], enabled_regex_matching: true, invert_match: true}},\n"               \
    "    {name: p10, type: span_count, span_count: {min_spans: 2, max_spans: 20}},\n"              \
    "    {name: p11, type: trace_state, trace_state: {key: key3, values: [value1, "                \
    "value2]}},\n"                                                                                 \
    "    {name: p12, type: boolean_attribute, boolean_attribute: {key: key4, value: "              \
    "true}},\n"                                                                                    \
    "    {name: p13, type: bytes_limiting, bytes_limiting: {bytes_per_second: "                    \
    "1048576, burst_capacity: 2097152}},\n"                                                        \
    "    {name: p14, type: latency, latency: {threshold_ms: 100, "                                 \
    "upper_threshold_ms: 2000}},\n"                                                                \
    "    {\n"                                                                                      \
    "      name: and-policy-1, type: and,\n"                                                       \
    "      and: {and_sub_policy: [\n"                                                              \
    "        {name: s1, type: numeric_attribute, numeric_attribute: {key: key1, "                  \
    "min_value: 50, max_value: 100}},\n"                                                           \
    "        {name: s2, type: string_attribute, string_attribute: {key: key2, values: "            \
    "[value1, value2]}}\n"                                                                         \
    "      ]}\n"                                                                                   \
    "    },\n"                                                                                     \
    "    {\n"                                                                                      \
    "      name: drop-it, type: drop,\n"                                                           \
    "      drop: {drop_sub_policy: [\n"                                                            \
    "        {name: d1, type: string_attribute, string_attribute: {key: url.path, "                \
    "values: [\\/health], enabled_regex_matching: true}}\n"                                        \
    "      ]}\n"                                                                                   \
    "    },\n"                                                                                     \
    "    {\n"                                                                                      \
    "      name: composite-policy-1, type: composite,\n"                                           \
    "      composite: {\n"                                                                         \
    "        max_total_spans_per_second: 1000,\n"                                                  \
    "        policy_order: [c1, c2, c3],\n"                                                        \
    "        composite_sub_policy: [\n"                                                            \
    "          {name: c1, type: numeric_attribute, numeric_attribute: {key: key1, "                \
    "min_value: 50, max_value: 100}},\n"                                                           \
    "          {name: c2, type: string_attribute, string_attribute: {key: key2, "                  \
    "values: [value1, value2]}},\n"                                                                \
    "          {name: c3, type: always_sample}\n"                                                  \
    "        ],\n"                                                                                 \
    "        rate_allocation: [{policy: c1, percent: 50}, {policy: c2, percent: "                  \
    "25}]\n"                                                                                       \
    "      }\n"                                                                                    \
    "    }\n"                                                                                      \
    "  ]\n"

static H_UNUSED const ottr_yaml_node *h_policies(const char *text, ottr_yaml_node **root)
{
    char err[512];
    size_t len = strlen(text) + 16;
    char *doc = malloc(len);
    snprintf(doc, len, "policies:\n%s", text);
    int rc = ottr_yaml_parse_string(doc, strlen(doc), root, err, sizeof(err));
    free(doc);
    if (rc != 0)
        fail_msg("yaml: %s", err);
    return ottr_yaml_get(*root, "policies");
}

/* ---- a sampler over a store in a temp dir ---- */

typedef struct fx {
    char dir[64];
    store *st;
    sampler *s;
    ottr_yaml_node *yaml;
    ottr_arena arena;
} fx;

static H_UNUSED int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static H_UNUSED void fx_store_open(fx *f)
{
    store_options so = {.path = f->dir,
                        .sync = STORE_SYNC_NONE,
                        .retention_ns = 72ull * 3600 * NS_PER_SEC,
                        .max_trace_bytes = 50ull << 20,
                        .block_cache_bytes = 8u << 20,
                        .memtable_bytes = 64ull << 20,
                        .clock_ns = fake_clock};
    char err[512];
    if (store_open(&so, &f->st, err, sizeof(err)) != OTTR_OK)
        fail_msg("store_open: %s", err);
}

/* Gives every limit a test leaves at 0 a roomy explicit value (the sampler has
 * no defaults of its own). */
static H_UNUSED void h_limits(sampler_options *o)
{
    if (o->decision_wait_ns == 0)
        o->decision_wait_ns = 30 * NS_PER_SEC;
    if (o->decision_wait_after_root_ns == 0)
        o->decision_wait_after_root_ns = 2 * NS_PER_SEC;
    if (o->max_spans_per_trace == 0)
        o->max_spans_per_trace = 100000;
    if (o->max_trace_bytes == 0)
        o->max_trace_bytes = 50ull << 20;
    if (o->max_buffered_traces == 0)
        o->max_buffered_traces = 1000000;
    if (o->max_memory_bytes == 0)
        o->max_memory_bytes = 512ull << 20;
    if (o->decision_cache_size == 0)
        o->decision_cache_size = 1000000;
}

/* Opens a store and a manual-tick sampler with |policies| (YAML list text or
 * NULL) and options from |o| (may be NULL; limits left at 0 get h_limits()). */
static H_UNUSED void fx_open(fx *f, const char *policies, const sampler_options *o)
{
    memset(f, 0, sizeof(*f));
    g_now = T0_NS;
    snprintf(f->dir, sizeof(f->dir), "/tmp/ottr-sampler-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    fx_store_open(f);
    ottr_arena_init(&f->arena, 1 << 16, 0);
    sampler_options so;
    if (o)
        so = *o;
    else
        memset(&so, 0, sizeof(so));
    h_limits(&so);
    so.clock_ns = fake_clock;
    so.manual_tick = true;
    so.policies = policies ? h_policies(policies, &f->yaml) : NULL;
    char err[512];
    if (sampler_create(&so, f->st, &f->s, err, sizeof(err)) != OTTR_OK)
        fail_msg("sampler_create: %s", err);
    assert_int_equal(sampler_start(f->s), OTTR_OK);
}

/* Stops and reopens the sampler (same store), replaying pending. */
static H_UNUSED void fx_restart(fx *f, bool clean)
{
    sampler_options so = f->s->o;
    if (clean)
        sampler_stop(f->s);
    else
        f->s->stopped = true; /* as after kill -9: nothing settles */
    sampler_destroy(f->s);
    so.policies = f->yaml ? ottr_yaml_get(f->yaml, "policies") : NULL;
    char err[512];
    if (sampler_create(&so, f->st, &f->s, err, sizeof(err)) != OTTR_OK)
        fail_msg("sampler_create: %s", err);
    assert_int_equal(sampler_replay(f->s), OTTR_OK);
    assert_int_equal(sampler_start(f->s), OTTR_OK);
}

static H_UNUSED void fx_close(fx *f)
{
    sampler_destroy(f->s);
    store_close(f->st);
    ottr_yaml_free(f->yaml);
    ottr_arena_free(&f->arena);
    nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static H_UNUSED ottr_status fx_submit(fx *f, const tspan *spans, size_t n)
{
    otlp_batch b;
    ottr_arena_reset(&f->arena);
    h_batch(&f->arena, spans, n, &b);
    return sampler_submit(f->s, &b);
}

/* True when trace |n| was kept (has a summary in the store). */
static H_UNUSED bool fx_kept(fx *f, uint64_t n)
{
    uint8_t tid[16];
    id16(n, tid);
    store_trace_summary sum;
    ottr_status st = store_get_summary(store_view_of(f->st, 0), tid, &sum);
    if (st != OTTR_OK && st != OTTR_ERR_NOTFOUND)
        fail_msg("store_get_summary: %s", ottr_status_str(st));
    return st == OTTR_OK;
}

static H_UNUSED uint32_t fx_kept_spans(fx *f, uint64_t n)
{
    uint8_t tid[16];
    id16(n, tid);
    store_trace_summary sum;
    if (store_get_summary(store_view_of(f->st, 0), tid, &sum) != OTTR_OK)
        return 0;
    return sum.span_count;
}

static H_UNUSED sampler_stats fx_stats(fx *f)
{
    sampler_stats st;
    sampler_get_stats(f->s, &st);
    return st;
}

/* The rendered /metrics text (caller frees). */
static H_UNUSED char *h_metrics(void)
{
    ottr_buf b = {0};
    ottr_metrics_render(&b);
    return ottr_buf_detach(&b, NULL);
}

/* The value of the metric line starting with |prefix| (name and labels), or -1. */
static H_UNUSED double h_metric(const char *text, const char *prefix)
{
    size_t pl = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, pl) == 0 && p[pl] == ' ')
            return strtod(p + pl + 1, NULL);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

#endif /* OTTR_TESTS_SAMPLER_HELPERS_H */
