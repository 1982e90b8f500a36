/* bench/sampler/bench_sampler.c - buffers 1M synthetic traces in the sampler's
 * summaries (no pending write), then decides them all; prints heap bytes per
 * buffered trace and decisions per second, the median of 5 runs. With --requests,
 * submits the load generator's requests (decoded and grouped as the receivers do)
 * once, for counting instructions per span under callgrind or perf. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>

#include "bench/loadgen/loadgen.h"
#include "sampler/sampler.h"

#define RUNS           5
#define DEFAULT_TRACES 1000000

static uint64_t g_now = 1700000000000000000ull;
static uint64_t bench_clock(void)
{
    return g_now;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[n / 2];
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint64_t rng(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const char POLICIES[] =
    "policies:\n"
    "  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
    "  - {name: slow, type: latency, latency: {threshold_ms: 2000}}\n"
    "  - {name: some, type: probabilistic, probabilistic: {sampling_percentage: 5}}\n"
    "  - name: no-health\n    type: drop\n    drop:\n      drop_sub_policy:\n"
    "        - {name: h, type: string_attribute, string_attribute: {key: http.route, values: "
    "[/health]}}\n";

/* A request of |ntraces| traces of |nspans| spans each (the first a root), as a
 * receiver would hand it over. */
static int build_batch(ottr_arena *a, uint64_t seq, int ntraces, int nspans, otlp_batch *out)
{
    /* The batch points into the request: it lives in |a| as the spans do. */
    struct {
        otlp_request req;
        otlp_resource_spans rs;
        otlp_scope_spans ss;
        otlp_resource res;
        otlp_kv kv;
        otlp_any av;
        otlp_kv *kvs[1];
        otlp_scope_spans *sss[1];
        otlp_resource_spans *rss[1];
    } *r = ottr_arena_alloc(a, sizeof(*r));
    if (r == NULL)
        return -1;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&r->req);
    opentelemetry__proto__trace__v1__resource_spans__init(&r->rs);
    opentelemetry__proto__trace__v1__scope_spans__init(&r->ss);
    opentelemetry__proto__resource__v1__resource__init(&r->res);
    opentelemetry__proto__common__v1__key_value__init(&r->kv);
    opentelemetry__proto__common__v1__any_value__init(&r->av);
    r->av.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    r->av.string_value = "checkout";
    r->kv.key = "service.name";
    r->kv.value = &r->av;
    r->kvs[0] = &r->kv;
    r->res.attributes = r->kvs;
    r->res.n_attributes = 1;
    r->rs.resource = &r->res;
    r->sss[0] = &r->ss;
    r->rs.scope_spans = r->sss;
    r->rs.n_scope_spans = 1;
    r->rss[0] = &r->rs;
    r->req.resource_spans = r->rss;
    r->req.n_resource_spans = 1;
    size_t n = (size_t)ntraces * (size_t)nspans;
    otlp_span *spans = ottr_arena_alloc(a, n * sizeof(otlp_span));
    otlp_span **ptrs = ottr_arena_alloc(a, n * sizeof(otlp_span *));
    uint8_t *ids = ottr_arena_alloc(a, n * 32);
    if (spans == NULL || ptrs == NULL || ids == NULL)
        return -1;
    static const char *const kinds_names[] = {"GET /cart", "SELECT cart", "render"};
    for (size_t i = 0; i < n; i++) {
        otlp_span *sp = &spans[i];
        opentelemetry__proto__trace__v1__span__init(sp);
        uint8_t *tid = ids + i * 32, *sid = tid + 16, *pid = tid + 24;
        uint64_t t = seq * (uint64_t)ntraces + i / (size_t)nspans + 1;
        memset(tid, 0x11, 16);
        memcpy(tid + 8, &t, 8);
        uint64_t sv = i % (size_t)nspans + 1, pv = 1;
        memset(sid, 0x22, 8);
        memcpy(sid, &sv, 4);
        memset(pid, 0x22, 8);
        memcpy(pid, &pv, 4);
        sp->trace_id = (ProtobufCBinaryData){16, tid};
        sp->span_id = (ProtobufCBinaryData){8, sid};
        if (sv != 1)
            sp->parent_span_id = (ProtobufCBinaryData){8, pid};
        sp->name = (char *)kinds_names[i % 3];
        sp->kind = sv == 1 ? OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER
                   : i % 2 ? OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT
                           : OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;
        sp->start_time_unix_nano = g_now - 50000000;
        sp->end_time_unix_nano = g_now - 1000000 * (i % 40);
        ptrs[i] = sp;
    }
    r->ss.spans = ptrs;
    r->ss.n_spans = n;
    size_t rejected = 0;
    return otlp_batch_build(a, &r->req, out, &rejected, NULL, 0) == OTTR_OK ? 0 : -1;
}

/* Spans per second through sampler_submit (pending append on tmpfs included;
 * the requests are built beforehand). */
static double bench_submit(sampler *s, uint64_t *seq)
{
    enum { BATCHES = 2000, NTRACES = 10, NSPANS = 10 };
    ottr_arena a;
    ottr_arena_init(&a, 1 << 20, 0);
    otlp_batch *batch = malloc(BATCHES * sizeof(*batch));
    if (batch == NULL)
        exit(1);
    for (int b = 0; b < BATCHES; b++) {
        if (build_batch(&a, (*seq)++, NTRACES, NSPANS, &batch[b]) != 0) {
            fprintf(stderr, "build failed\n");
            exit(1);
        }
    }
    uint64_t t0 = ottr_mono_ns();
    for (int b = 0; b < BATCHES; b++) {
        if (sampler_submit(s, &batch[b]) != OTTR_OK) {
            fprintf(stderr, "submit failed\n");
            exit(1);
        }
    }
    uint64_t t1 = ottr_mono_ns();
    free(batch);
    ottr_arena_free(&a);
    return (double)BATCHES * NTRACES * NSPANS / ((double)(t1 - t0) / NS_PER_SEC);
}

static void figure(const char *name, const double *v, const char *unit)
{
    double lo = v[0], hi = v[0];
    for (int i = 1; i < RUNS; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    printf("FIGURE %s %.1f %s %.1f %.1f\n", name, median((double *)v, RUNS), unit, lo, hi);
}

/* Submits |nreq| requests shaped as loadgen's defaults (16 traces x 8 spans, 7
 * attributes, 10 services, client/server pairs) through the receivers' path:
 * protobuf decode, otlp_batch_build_wire, sampler_submit. Returns 0 or -1. */
static int bench_requests(sampler *s, long nreq)
{
    lg_options o = {.services = 10,
                    .depth = 4,
                    .spans_per_trace = 8,
                    .traces_per_request = 16,
                    .attrs = 7,
                    .error_rate = 0.05,
                    .templates = 64,
                    .seed = 1};
    lg_template *t = NULL;
    int nt = 0;
    if (lg_templates_build(&o, &t, &nt) != 0)
        return -1;
    size_t maxlen = 0;
    for (int i = 0; i < nt; i++)
        maxlen = t[i].len > maxlen ? t[i].len : maxlen;
    uint8_t *buf = malloc(maxlen);
    uint8_t ids[16 * 16];
    ottr_arena a;
    ottr_arena_init(&a, 1 << 20, 0);
    uint64_t rng = 42, spans = 0;
    int rc = buf ? 0 : -1;
    uint64_t t0 = ottr_mono_ns();
    for (long r = 0; r < nreq && rc == 0; r++) {
        const lg_template *tp = &t[r % nt];
        lg_template_fill(tp, buf, &rng, g_now - NS_PER_SEC, ids);
        otlp_request *req = NULL;
        otlp_batch b;
        size_t rejected = 0;
        char err[256];
        if (otlp_proto_decode_request(&a, buf, tp->len, &req, err, sizeof(err)) != OTTR_OK ||
            otlp_batch_build_wire(&a, req, buf, tp->len, &b, &rejected, err, sizeof(err)) !=
                OTTR_OK ||
            sampler_submit(s, &b) != OTTR_OK) {
            fprintf(stderr, "request %ld failed\n", r);
            rc = -1;
        }
        spans += b.nspans;
        ottr_arena_reset(&a);
        if (r % 256 == 255) {
            g_now += NS_PER_SEC;
            sampler_tick(s);
        }
    }
    uint64_t t1 = ottr_mono_ns();
    printf("requests: %ld requests, %llu spans, %.0f spans/s\n", nreq, (unsigned long long)spans,
           (double)spans / ((double)(t1 - t0) / NS_PER_SEC));
    ottr_arena_free(&a);
    free(buf);
    lg_templates_free(t, nt);
    return rc;
}

int main(int argc, char **argv)
{
    /* bench_sampler [N | --quick | --requests R]: N traces per run (default 1M;
     * --quick 100k); --requests submits R loadgen-shaped requests once. */
    size_t n = DEFAULT_TRACES;
    long nreq = 0;
    if (argc > 2 && strcmp(argv[1], "--requests") == 0)
        nreq = strtol(argv[2], NULL, 10);
    else if (argc > 1)
        n = strcmp(argv[1], "--quick") == 0 ? 100000 : (size_t)strtoull(argv[1], NULL, 10);
    if (n == 0)
        n = DEFAULT_TRACES;
    ottr_log_set_level(OTTR_LOG_WARN);
    char dir[] = "/dev/shm/ottr-bench-sampler-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    store_options so = {.path = dir,
                        .sync = STORE_SYNC_NONE,
                        .max_trace_bytes = 50ull << 20,
                        .block_cache_bytes = 64ull << 20,
                        .memtable_bytes = 128ull << 20};
    store *st = NULL;
    char err[512];
    if (store_open(&so, &st, err, sizeof(err)) != OTTR_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return 1;
    }
    ottr_yaml_node *yaml = NULL;
    if (ottr_yaml_parse_string(POLICIES, strlen(POLICIES), &yaml, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* The daemon's defaults (docs/CONFIG.md), but for the budgets. */
    sampler_options o = {
        .decision_wait_ns = 30ull * 1000000000,
        .decision_wait_after_root_ns = 2ull * 1000000000,
        .max_spans_per_trace = 100000,
        .max_trace_bytes = 50ull << 20,
        .max_buffered_traces = n + 1,
        .max_memory_bytes = 8ull << 30,
        .decision_cache_size = 200000,
        .clock_ns = bench_clock,
        .manual_tick = true,
        .policies = ottr_yaml_get(yaml, "policies"),
    };
    sampler *s = NULL;
    if (sampler_create(&o, st, &s, err, sizeof(err)) != OTTR_OK) {
        fprintf(stderr, "sampler_create: %s\n", err);
        return 1;
    }
    if (nreq > 0) {
        int rc = bench_requests(s, nreq);
        sampler_destroy(s);
        store_close(st);
        ottr_yaml_free(yaml);
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        return rc == 0 ? 0 : 1;
    }
    uint8_t(*ids)[16] = malloc(n * 16);
    if (ids == NULL)
        return 1;
    double heap_pt[RUNS], own_pt[RUNS], ins_ps[RUNS], dec_ps[RUNS], sub_ps[RUNS];
    uint64_t seq = 0;
    bool heap_ok = true;
    printf("bench_sampler: %zu traces per run, %d runs, %d shards\n", n, RUNS, sampler_shards(s));
    for (int r = 0; r < RUNS; r++) {
        for (size_t i = 0; i < n; i++) {
            uint64_t a = rng(), b = rng();
            memcpy(ids[i], &a, 8);
            memcpy(ids[i] + 8, &b, 8);
        }
        malloc_trim(0);
        struct mallinfo2 m0 = mallinfo2();
        uint64_t t0 = ottr_mono_ns();
        if (sampler_bench_insert(s, (const uint8_t(*)[16])ids, n, g_now) != OTTR_OK) {
            fprintf(stderr, "insert failed\n");
            return 1;
        }
        uint64_t t1 = ottr_mono_ns();
        struct mallinfo2 m1 = mallinfo2();
        sampler_stats stt;
        sampler_get_stats(s, &stt);
        if (stt.traces_buffered != n) {
            fprintf(stderr, "buffered %llu, want %zu\n", (unsigned long long)stt.traces_buffered,
                    n);
            return 1;
        }
        size_t used0 = m0.uordblks + m0.hblkhd, used1 = m1.uordblks + m1.hblkhd;
        if (used1 <= used0)
            heap_ok = false;
        heap_pt[r] = used1 > used0 ? (double)(used1 - used0) / (double)n : 0;
        own_pt[r] = (double)stt.bytes_buffered / (double)n;
        ins_ps[r] = (double)n / ((double)(t1 - t0) / NS_PER_SEC);

        g_now += 31 * NS_PER_SEC;
        uint64_t t2 = ottr_mono_ns();
        sampler_bench_decide(s, g_now);
        uint64_t t3 = ottr_mono_ns();
        sampler_get_stats(s, &stt);
        if (stt.traces_buffered != 0) {
            fprintf(stderr, "undecided after decision_wait: %llu\n",
                    (unsigned long long)stt.traces_buffered);
            return 1;
        }
        dec_ps[r] = (double)n / ((double)(t3 - t2) / NS_PER_SEC);
        /* Kept traces (about 5%) are copied by the writer; not timed. */
        sampler_tick(s);
        sub_ps[r] = bench_submit(s, &seq);
        sampler_bench_decide(s, g_now + 31 * NS_PER_SEC);
        sampler_tick(s);
        printf("run %d: heap %.1f B/trace (own count %.1f), %.0f inserts/s, %.0f decisions/s, "
               "%.0f spans/s submitted\n",
               r + 1, heap_pt[r], own_pt[r], ins_ps[r], dec_ps[r], sub_ps[r]);
        g_now += NS_PER_SEC;
    }
    sampler_stats stt;
    sampler_get_stats(s, &stt);
    printf("median: heap bytes per buffered trace %s%.1f (target <= 256; own count %.1f)\n",
           heap_ok ? "" : "n/a, allocator not observable; ", median(heap_pt, RUNS),
           median(own_pt, RUNS));
    printf("median: decisions/s %.0f, summary inserts/s %.0f (kept %llu, dropped %llu)\n",
           median(dec_ps, RUNS), median(ins_ps, RUNS), (unsigned long long)stt.kept,
           (unsigned long long)stt.dropped);
    printf("median: sampler_submit %.0f spans/s (10 traces x 10 spans per request, pending on "
           "tmpfs, span metrics and service graph included)\n",
           median(sub_ps, RUNS));
    /* Machine-readable lines for bench/run: name median unit min max. */
    figure("sampler_heap_bytes_per_trace", heap_pt, "B");
    figure("sampler_decisions_per_s", dec_ps, "1/s");
    figure("sampler_submit_spans_per_s", sub_ps, "spans/s");
    sampler_destroy(s);
    store_close(st);
    ottr_yaml_free(yaml);
    free(ids);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
