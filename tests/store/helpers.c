/* tests/store/helpers.c - builds OTLP test batches and temporary store
 * directories for the store's unit tests. */
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/store/helpers.h"

uint64_t th_now_ns;

uint64_t th_clock(void)
{
    return th_now_ns;
}

void th_tid(uint8_t tid[16], uint8_t b)
{
    memset(tid, b, 16);
}

static otlp_kv *kv_str(ottr_arena *a, const char *k, const char *v)
{
    otlp_kv *kv = ottr_arena_alloc(a, sizeof(*kv));
    otlp_any *av = ottr_arena_alloc(a, sizeof(*av));
    assert_non_null(kv);
    assert_non_null(av);
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(av);
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    av->string_value = (char *)v;
    kv->key = (char *)k;
    kv->value = av;
    return kv;
}

static otlp_kv *kv_int(ottr_arena *a, const char *k, int64_t v)
{
    otlp_kv *kv = kv_str(a, k, "");
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    kv->value->int_value = v;
    return kv;
}

static void id8(ottr_arena *a, ProtobufCBinaryData *d, uint64_t v)
{
    d->data = ottr_arena_alloc(a, 8);
    d->len = 8;
    for (int i = 0; i < 8; i++)
        d->data[i] = (uint8_t)(v >> (56 - 8 * i));
}

void th_build(ottr_arena *a, const tspan *spans, size_t n, otlp_batch *out)
{
    otlp_request req;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    req.n_resource_spans = n;
    req.resource_spans = ottr_arena_alloc(a, n * sizeof(*req.resource_spans) + 1);
    for (size_t i = 0; i < n; i++) {
        const tspan *t = &spans[i];
        otlp_resource_spans *rs = ottr_arena_alloc(a, sizeof(*rs));
        otlp_resource *res = ottr_arena_alloc(a, sizeof(*res));
        otlp_scope_spans *ss = ottr_arena_alloc(a, sizeof(*ss));
        otlp_span *sp = ottr_arena_alloc(a, sizeof(*sp));
        otlp_status *stt = ottr_arena_alloc(a, sizeof(*stt));
        opentelemetry__proto__trace__v1__resource_spans__init(rs);
        opentelemetry__proto__resource__v1__resource__init(res);
        opentelemetry__proto__trace__v1__scope_spans__init(ss);
        opentelemetry__proto__trace__v1__span__init(sp);
        opentelemetry__proto__trace__v1__status__init(stt);

        res->attributes = ottr_arena_alloc(a, 2 * sizeof(otlp_kv *));
        res->attributes[res->n_attributes++] = kv_str(a, "service.name", t->service);
        if (t->res_key)
            res->attributes[res->n_attributes++] = kv_str(a, t->res_key, t->res_val);
        rs->resource = res;

        sp->trace_id.data = ottr_arena_memdup(a, t->tid, 16);
        sp->trace_id.len = 16;
        id8(a, &sp->span_id, t->span_id);
        if (t->parent_id)
            id8(a, &sp->parent_span_id, t->parent_id);
        sp->name = (char *)(t->name ? t->name : "op");
        sp->kind = t->kind;
        sp->start_time_unix_nano = t->start_ns;
        sp->end_time_unix_nano = t->end_ns;
        stt->code = t->status;
        sp->status = stt;
        sp->attributes = ottr_arena_alloc(a, 3 * sizeof(otlp_kv *));
        if (t->attr_key)
            sp->attributes[sp->n_attributes++] = kv_str(a, t->attr_key, t->attr_val);
        if (t->int_key)
            sp->attributes[sp->n_attributes++] = kv_int(a, t->int_key, t->int_val);
        if (t->pad) {
            char *pad = ottr_arena_alloc(a, t->pad + 1);
            memset(pad, 'x', t->pad);
            pad[t->pad] = '\0';
            sp->attributes[sp->n_attributes++] = kv_str(a, "pad", pad);
        }
        ss->spans = ottr_arena_alloc(a, sizeof(*ss->spans));
        ss->spans[0] = sp;
        ss->n_spans = 1;
        rs->scope_spans = ottr_arena_alloc(a, sizeof(*rs->scope_spans));
        rs->scope_spans[0] = ss;
        rs->n_scope_spans = 1;
        req.resource_spans[i] = rs;
    }
    size_t rejected = 0;
    char msg[256];
    assert_int_equal(otlp_batch_build(a, &req, out, &rejected, msg, sizeof(msg)), OTTR_OK);
    assert_int_equal(rejected, 0);
}

store_pending_ref th_append(store *s, const tspan *spans, size_t n, uint32_t sec)
{
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_batch b;
    th_build(&a, spans, n, &b);
    store_pending_ref ref;
    assert_int_equal(store_append_pending(s, &b, sec, &ref), OTTR_OK);
    ottr_arena_free(&a);
    return ref;
}

char *th_tmpdir(void)
{
    char *d = strdup("/tmp/ottr-store-test-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void th_rmdir(char *dir)
{
    if (dir == NULL)
        return;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

void th_default_options(store_options *o, const char *dir)
{
    *o = (store_options){.path = dir,
                         .sync = STORE_SYNC_NONE,
                         .sync_interval_ns = 100ull * 1000 * 1000,
                         .retention_ns = 72ull * 3600 * 1000000000,
                         .max_trace_bytes = 50ull << 20,
                         .block_cache_bytes = 8u << 20,
                         .memtable_bytes = 128ull << 20,
                         .clock_ns = th_clock};
}

store *th_open_opts(const store_options *o)
{
    store *s = NULL;
    char err[512];
    ottr_status st = store_open(o, &s, err, sizeof(err));
    if (st != OTTR_OK)
        fail_msg("store_open: %s (%s)", ottr_status_str(st), err);
    return s;
}

store *th_open(const char *dir)
{
    store_options o;
    th_default_options(&o, dir);
    return th_open_opts(&o);
}

size_t th_count_spans(const ottr_buf *buf)
{
    ottr_arena a;
    ottr_arena_init(&a, 64 * 1024, 0);
    otlp_trace t;
    assert_int_equal(otlp_trace_decode(&t, &a, (const uint8_t *)buf->data, buf->len), OTTR_OK);
    ottr_arena_free(&a);
    return t.nspans;
}

static int count_one(void *ctx, store_pending_ref ref, uint32_t tenant, const uint8_t tid[16],
                     const uint8_t *chunk, size_t len)
{
    (void)ref;
    (void)tenant;
    (void)tid;
    (void)chunk;
    (void)len;
    (*(int *)ctx)++;
    return 0;
}

int th_count_pending(store *s)
{
    int n = 0;
    assert_int_equal(store_replay_pending(s, count_one, &n), OTTR_OK);
    return n;
}
