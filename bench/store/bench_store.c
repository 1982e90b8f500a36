/* bench/store/bench_store.c - measures the store: append throughput into pending,
 * keep throughput, and trace-by-ID read latency (p50/p99) with many traces stored.
 *
 * Usage: bench_store [--traces N] [--spans S] [--per-request T] [--lookups L]
 *                    [--keep-batch K] [--dir DIR] [--keep-dir] [--sync POLICY]
 * Requests of T traces x S spans are built with otlp_batch_build (real OTLP
 * chunks), appended one WriteBatch each, kept per simulated second (as the
 * sampler's writer does, K traces per store_keep_traces call), and the second
 * reclaimed; then L random traces are
 * read back by ID. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "store/store.h"

static const char *const SERVICES[] = {"frontend", "cart",    "checkout", "payment",  "shipping",
                                       "email",    "catalog", "ads",      "currency", "quote"};
static const char *const NAMES[] = {"GET /api/cart", "POST /api/checkout",  "SELECT orders",
                                    "redis GET",     "grpc.Payment/Charge", "render"};

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Trace |i|'s ID: random-looking and reproducible. */
static void trace_id(uint64_t i, uint8_t out[16])
{
    uint64_t x = i * 2 + 1;
    uint64_t a = splitmix(&x), b = splitmix(&x);
    for (int k = 0; k < 8; k++) {
        out[k] = (uint8_t)(a >> (8 * k));
        out[8 + k] = (uint8_t)(b >> (8 * k));
    }
}

static otlp_kv *kv(ottr_arena *a, const char *k, const char *v, int64_t iv, bool is_int)
{
    otlp_kv *p = ottr_arena_alloc(a, sizeof(*p));
    otlp_any *av = ottr_arena_alloc(a, sizeof(*av));
    opentelemetry__proto__common__v1__key_value__init(p);
    opentelemetry__proto__common__v1__any_value__init(av);
    if (is_int) {
        av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        av->int_value = iv;
    } else {
        av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        av->string_value = (char *)v;
    }
    p->key = (char *)k;
    p->value = av;
    return p;
}

/* One request: |ntr| traces from |first| with |nsp| spans each, one ResourceSpans
 * per service, spans spread over services. */
static void build_request(ottr_arena *a, uint64_t first, size_t ntr, size_t nsp, uint64_t now_ns,
                          otlp_batch *out)
{
    enum { NSVC = sizeof(SERVICES) / sizeof(SERVICES[0]) };
    otlp_request req;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
    req.resource_spans = ottr_arena_alloc(a, NSVC * sizeof(*req.resource_spans));
    otlp_scope_spans *ss[NSVC];
    for (size_t v = 0; v < NSVC; v++) {
        otlp_resource_spans *rs = ottr_arena_alloc(a, sizeof(*rs));
        otlp_resource *res = ottr_arena_alloc(a, sizeof(*res));
        opentelemetry__proto__trace__v1__resource_spans__init(rs);
        opentelemetry__proto__resource__v1__resource__init(res);
        res->attributes = ottr_arena_alloc(a, 3 * sizeof(otlp_kv *));
        res->attributes[0] = kv(a, "service.name", SERVICES[v], 0, false);
        res->attributes[1] = kv(a, "deployment.environment", "production", 0, false);
        res->attributes[2] = kv(a, "host.name", "node-17.eu-west-1.compute.internal", 0, false);
        res->n_attributes = 3;
        rs->resource = res;
        ss[v] = ottr_arena_alloc(a, sizeof(*ss[v]));
        opentelemetry__proto__trace__v1__scope_spans__init(ss[v]);
        ss[v]->spans = ottr_arena_alloc(a, ntr * nsp * sizeof(otlp_span *));
        rs->scope_spans = ottr_arena_alloc(a, sizeof(*rs->scope_spans));
        rs->scope_spans[0] = ss[v];
        rs->n_scope_spans = 1;
        req.resource_spans[v] = rs;
    }
    req.n_resource_spans = NSVC;
    for (size_t t = 0; t < ntr; t++) {
        uint8_t tid[16];
        trace_id(first + t, tid);
        uint64_t start = now_ns - 500000000ull;
        for (size_t k = 0; k < nsp; k++) {
            otlp_span *sp = ottr_arena_alloc(a, sizeof(*sp));
            opentelemetry__proto__trace__v1__span__init(sp);
            sp->trace_id.data = ottr_arena_memdup(a, tid, 16);
            sp->trace_id.len = 16;
            uint8_t *sid = ottr_arena_alloc(a, 8), *pid = ottr_arena_alloc(a, 8);
            for (int b = 0; b < 8; b++) {
                sid[b] = (uint8_t)(k + 1 + b);
                pid[b] = (uint8_t)(k + b);
            }
            sp->span_id.data = sid;
            sp->span_id.len = 8;
            if (k) {
                sp->parent_span_id.data = pid;
                sp->parent_span_id.len = 8;
            }
            sp->name = (char *)NAMES[(first + t + k) % (sizeof(NAMES) / sizeof(NAMES[0]))];
            sp->kind = k == 0 ? 2 : 3;
            sp->start_time_unix_nano = start + k * NS_PER_MS;
            sp->end_time_unix_nano = start + 200000000ull - k * NS_PER_MS;
            sp->attributes = ottr_arena_alloc(a, 3 * sizeof(otlp_kv *));
            sp->attributes[0] = kv(a, "http.method", k % 2 ? "POST" : "GET", 0, false);
            sp->attributes[1] = kv(a, "http.status_code", NULL, (first + t) % 50 ? 200 : 500, true);
            sp->attributes[2] =
                kv(a, "http.url", "https://shop.example.com/api/cart/items", 0, false);
            sp->n_attributes = 3;
            otlp_scope_spans *s = ss[(first + t + k) % NSVC];
            s->spans[s->n_spans++] = sp;
        }
    }
    size_t rejected;
    char msg[128];
    if (otlp_batch_build(a, &req, out, &rejected, msg, sizeof(msg)) != OTTR_OK || rejected) {
        fprintf(stderr, "batch build failed: %s\n", msg);
        exit(1);
    }
}

/* CPU time of the whole process (all threads, RocksDB's included). */
static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * NS_PER_SEC +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * NS_PER_US;
}

static double secs(uint64_t ns)
{
    return (double)ns / NS_PER_SEC;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void print_latency(const char *what, uint64_t *lat, size_t n)
{
    qsort(lat, n, sizeof(*lat), cmp_u64);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += lat[i];
    printf("%s: n=%zu mean=%.1fus p50=%.1fus p90=%.1fus p99=%.1fus p99.9=%.1fus max=%.1fus\n", what,
           n, (double)sum / (double)n / 1e3, (double)lat[n / 2] / 1e3,
           (double)lat[n * 90 / 100] / 1e3, (double)lat[n * 99 / 100] / 1e3,
           (double)lat[n * 999 / 1000] / 1e3, (double)lat[n - 1] / 1e3);
}

static void lookups(store *s, uint64_t ntraces, size_t n, size_t nsp, const char *what)
{
    uint64_t *lat = malloc(n * sizeof(*lat));
    if (lat == NULL)
        exit(1);
    uint64_t x = 12345;
    ottr_buf buf = {0};
    store_trace_summary sum;
    for (size_t i = 0; i < n; i++) {
        uint8_t tid[16];
        trace_id(splitmix(&x) % ntraces, tid);
        buf.len = 0;
        uint64_t t0 = ottr_mono_ns();
        ottr_status st = store_get_trace(store_view_of(s, 0), tid, &buf, &sum);
        lat[i] = ottr_mono_ns() - t0;
        if (st != OTTR_OK || sum.span_count != nsp) {
            fprintf(stderr, "lookup %zu: %s (spans %u)\n", i, ottr_status_str(st), sum.span_count);
            exit(1);
        }
    }
    ottr_buf_free(&buf);
    print_latency(what, lat, n);
    free(lat);
}

int main(int argc, char **argv)
{
    uint64_t ntraces = 1000000;
    size_t nsp = 5, per_req = 50, nlookups = 100000;
    const char *dir = NULL;
    bool keep_dir = false;
    store_sync_policy sync = STORE_SYNC_INTERVAL;
    size_t keep_batch = 64;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--traces") == 0 && i + 1 < argc)
            ntraces = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--spans") == 0 && i + 1 < argc)
            nsp = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--per-request") == 0 && i + 1 < argc)
            per_req = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--lookups") == 0 && i + 1 < argc)
            nlookups = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--keep-batch") == 0 && i + 1 < argc)
            keep_batch = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--keep-dir") == 0)
            keep_dir = true;
        else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            sync = strcmp(v, "none") == 0     ? STORE_SYNC_NONE
                   : strcmp(v, "always") == 0 ? STORE_SYNC_ALWAYS
                                              : STORE_SYNC_INTERVAL;
        } else {
            fprintf(stderr,
                    "usage: %s [--traces N] [--spans S] [--per-request T] "
                    "[--lookups L] [--keep-batch K] [--dir DIR] [--keep-dir]\n"
                    "       [--sync none|interval|always]\n",
                    argv[0]);
            return 2;
        }
    }
    if (ntraces == 0 || nsp == 0 || per_req == 0 || nlookups == 0 || keep_batch == 0)
        return 2;
    store_keep_req *reqs = malloc(keep_batch * sizeof(*reqs));
    if (reqs == NULL)
        return 1;
    /* The records of the current second's requests, by request. */
    uint64_t per_sec_max = 10000 / per_req + 1;
    store_pending_ref *sec_refs = malloc(per_sec_max * sizeof(*sec_refs));
    if (sec_refs == NULL)
        return 1;
    size_t nsec_refs = 0;
    char tmpl[] = "/tmp/ottr-bench-store-XXXXXX";
    if (dir == NULL) {
        dir = mkdtemp(tmpl);
        if (dir == NULL)
            return 1;
    }
    ottr_log_set_level(OTTR_LOG_WARN);
    /* The daemon's defaults (docs/CONFIG.md), but for the sync policy. */
    store_options o = {.path = dir,
                       .sync = sync,
                       .sync_interval_ns = 100ull * 1000 * 1000,
                       .retention_ns = 72ull * 3600 * 1000000000,
                       .max_trace_bytes = 50ull << 20,
                       .block_cache_bytes = 64ull << 20,
                       .memtable_bytes = 128ull << 20};
    store *s;
    char err[512];
    if (store_open(&o, &s, err, sizeof(err)) != OTTR_OK) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    printf("store %s: %" PRIu64 " traces x %zu spans, %zu traces per request, sync=%s\n", dir,
           ntraces, nsp, per_req,
           sync == STORE_SYNC_NONE     ? "none"
           : sync == STORE_SYNC_ALWAYS ? "always"
                                       : "interval");

    /* 10,000 traces per simulated second, as a busy collector sees. */
    uint64_t per_sec_reqs = 10000 / per_req ? 10000 / per_req : 1;
    uint32_t base_sec = (uint32_t)(ottr_now_ns() / NS_PER_SEC);
    ottr_arena a;
    ottr_arena_init(&a, 1 << 20, 0);
    uint64_t append_ns = 0, keep_ns = 0, build_ns = 0, bytes = 0, requests = 0;
    uint64_t append_cpu = 0, keep_cpu = 0;
    uint64_t t_all = ottr_mono_ns();
    uint64_t sec_first = 0; /* first trace of the current second */
    for (uint64_t first = 0; first < ntraces; first += per_req) {
        size_t ntr = (size_t)(ntraces - first < per_req ? ntraces - first : per_req);
        uint32_t sec = base_sec + (uint32_t)(requests / per_sec_reqs);
        ottr_arena_reset(&a);
        otlp_batch b;
        uint64_t t0 = ottr_mono_ns();
        build_request(&a, first, ntr, nsp, (uint64_t)sec * NS_PER_SEC, &b);
        uint64_t t1 = ottr_mono_ns(), c1 = cpu_ns();
        if (store_append_pending(s, &b, sec, &sec_refs[nsec_refs++]) != OTTR_OK) {
            fprintf(stderr, "append failed\n");
            return 1;
        }
        uint64_t t2 = ottr_mono_ns();
        append_cpu += cpu_ns() - c1;
        build_ns += t1 - t0;
        append_ns += t2 - t1;
        bytes += b.chunk_bytes;
        requests++;
        bool last = first + ntr >= ntraces;
        if (requests % per_sec_reqs == 0 || last) {
            /* The second is decided: keep its traces, then drop it from pending. */
            uint64_t t3 = ottr_mono_ns(), c3 = cpu_ns();
            for (uint64_t t = sec_first; t < first + ntr;) {
                size_t n = 0;
                for (; n < keep_batch && t < first + ntr; n++, t++) {
                    reqs[n].tenant = 0;
                    trace_id(t, reqs[n].trace_id);
                    reqs[n].refs = &sec_refs[(t - sec_first) / per_req];
                    reqs[n].nrefs = 1;
                }
                if (store_keep_traces(s, reqs, n) != OTTR_OK) {
                    fprintf(stderr, "keep failed\n");
                    return 1;
                }
            }
            store_reclaim_pending(s, sec + 1);
            keep_ns += ottr_mono_ns() - t3;
            keep_cpu += cpu_ns() - c3;
            sec_first = first + ntr;
            nsec_refs = 0;
        }
    }
    uint64_t total_ns = ottr_mono_ns() - t_all;
    ottr_arena_free(&a);
    printf("chunk_bytes_avg=%.0f request_bytes_avg=%.0f requests=%" PRIu64 "\n",
           (double)bytes / (double)ntraces, (double)bytes / (double)requests, requests);
    printf("append: %.2f s (cpu %.2f s), %.1f MB/s, %.0f requests/s, %.0f spans/s "
           "(build excluded: %.2f s)\n",
           secs(append_ns), secs(append_cpu), (double)bytes / 1e6 / secs(append_ns),
           (double)requests / secs(append_ns), (double)(ntraces * nsp) / secs(append_ns),
           secs(build_ns));
    printf("keep (%zu traces per call): %.2f s (cpu %.2f s), %.0f traces/s, %.1f MB/s "
           "(with reclaim)\n",
           keep_batch, secs(keep_ns), secs(keep_cpu), (double)ntraces / secs(keep_ns),
           (double)bytes / 1e6 / secs(keep_ns));
    printf("fill total: %.2f s\n", secs(total_ns));

    lookups(s, ntraces, nlookups, nsp, "get_trace (warm)");
    ottr_buf m = {0};
    store_render_metrics(s, &m);
    const char *want[] = {
        "ottr_store_sst_bytes{family=\"traces\"}", "ottr_store_sst_bytes{family=\"index\"}",
        "ottr_store_sst_bytes{family=\"pending\"}", "ottr_store_block_cache_hits_total",
        "ottr_store_block_cache_misses_total"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "\n%s ", want[i]);
        const char *p = m.data ? strstr(m.data, line) : NULL;
        if (p)
            printf("  %.*s\n", (int)strcspn(p + 1, "\n"), p + 1);
    }
    ottr_buf_free(&m);
    store_close(s);

    /* Reopened: memtables flushed to L0 and the block cache cold. */
    if (store_open(&o, &s, err, sizeof(err)) != OTTR_OK) {
        fprintf(stderr, "reopen: %s\n", err);
        return 1;
    }
    lookups(s, ntraces, nlookups, nsp, "get_trace (after reopen)");
    store_compact(s);
    lookups(s, ntraces, nlookups, nsp, "get_trace (after full compaction)");
    store_close(s);
    free(reqs);
    free(sec_refs);
    if (!keep_dir) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return 0;
}
