/* bench/query/bench_query.c - loads a store with N traces (default 1M) spread
 * over 24 hours and a day of per-minute service-graph counts, then measures the
 * query engine: trace by ID (Tempo v1/v2 protobuf, Jaeger JSON), search by
 * service + duration over one hour with limit 20, tag values, and dependencies
 * over 24 hours. Prints p50/p99 per operation.
 *
 *   bench_query [--traces N] [--dir DIR] [--reuse] [--keep] [--iters N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "query/query.h"
#include "store/store.h"

#define NSERVICES        20
#define NNAMES           10
#define SPANS_PER_TRACE  5
#define TRACES_PER_BATCH 200
#define DAY_SEC          86400ull
#define END_SEC          1700000000ull /* the data set ends here */
#define START_SEC        (END_SEC - DAY_SEC)

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void trace_id(uint64_t i, uint8_t out[16])
{
    uint64_t hi = splitmix(i * 2 + 1), lo = splitmix(i * 2 + 2);
    for (int k = 0; k < 8; k++) {
        out[k] = (uint8_t)(hi >> (56 - 8 * k));
        out[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
    }
}

static void *xalloc(ottr_arena *a, size_t n)
{
    void *p = ottr_arena_alloc(a, n);
    if (p == NULL) {
        fprintf(stderr, "bench_query: out of memory\n");
        exit(1);
    }
    memset(p, 0, n);
    return p;
}

static otlp_kv *kv_str(ottr_arena *a, const char *k, const char *v)
{
    otlp_kv *kv = xalloc(a, sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = (char *)k;
    kv->value = xalloc(a, sizeof(otlp_any));
    opentelemetry__proto__common__v1__any_value__init(kv->value);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    kv->value->string_value = ottr_arena_strndup(a, v, strlen(v));
    return kv;
}

static otlp_kv *kv_int(ottr_arena *a, const char *k, int64_t v)
{
    otlp_kv *kv = xalloc(a, sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = (char *)k;
    kv->value = xalloc(a, sizeof(otlp_any));
    opentelemetry__proto__common__v1__any_value__init(kv->value);
    kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    kv->value->int_value = v;
    return kv;
}

static char service_names[NSERVICES][16];
static char span_names[NNAMES][24];

/* One trace: a server root and its client in service A, the called server and
 * its client in B, a database-ish server in C. Duration log-spread 1 ms .. 4 s. */
static void add_trace(ottr_arena *a, otlp_request *r, uint64_t i, uint64_t start_ns)
{
    uint64_t h = splitmix(i ^ 0xabcdef);
    int svc[3] = {(int)(h % NSERVICES), (int)((h >> 8) % NSERVICES), (int)((h >> 16) % NSERVICES)};
    int name = (int)((h >> 24) % NNAMES);
    uint64_t dur = NS_PER_MS << ((h >> 32) % 12); /* 1 ms .. 2 s */
    dur += (h >> 40) % dur;
    uint8_t tid[16];
    trace_id(i, tid);
    otlp_span **spans = xalloc(a, SPANS_PER_TRACE * sizeof(otlp_span *));
    uint64_t parent = 0;
    for (int k = 0; k < SPANS_PER_TRACE; k++) {
        otlp_span *s = xalloc(a, sizeof(*s));
        opentelemetry__proto__trace__v1__span__init(s);
        s->trace_id.data = ottr_arena_memdup(a, tid, 16);
        s->trace_id.len = 16;
        uint64_t sid = splitmix(i * 8 + (uint64_t)k) | 1;
        s->span_id.data = xalloc(a, 8);
        memcpy(s->span_id.data, &sid, 8);
        s->span_id.len = 8;
        if (k) {
            s->parent_span_id.data = xalloc(a, 8);
            memcpy(s->parent_span_id.data, &parent, 8);
            s->parent_span_id.len = 8;
        }
        parent = sid;
        s->name = span_names[(name + k / 2) % NNAMES];
        s->kind = k % 2 == 0 ? 2 : 3;
        s->start_time_unix_nano = start_ns + (uint64_t)k * 100000;
        s->end_time_unix_nano = start_ns + dur - (uint64_t)k * 100000;
        s->n_attributes = 3;
        s->attributes = xalloc(a, 4 * sizeof(otlp_kv *));
        s->attributes[0] = kv_str(a, "http.method", (h >> 50) & 1 ? "POST" : "GET");
        s->attributes[1] = kv_int(a, "http.status_code", (h >> 51) % 50 == 0 ? 500 : 200);
        s->attributes[2] = kv_str(a, "http.route", s->name);
        if (k == 0) {
            char cust[24];
            snprintf(cust, sizeof(cust), "cust-%u", (unsigned)((h >> 20) % 1000));
            s->attributes[s->n_attributes++] = kv_str(a, "customer.id", cust);
        }
        spans[k] = s;
    }
    /* One ResourceSpans per service: spans 0-1 in A, 2-3 in B, 4 in C. */
    for (int g = 0; g < 3; g++) {
        otlp_resource_spans *rs = xalloc(a, sizeof(*rs));
        opentelemetry__proto__trace__v1__resource_spans__init(rs);
        rs->resource = xalloc(a, sizeof(otlp_resource));
        opentelemetry__proto__resource__v1__resource__init(rs->resource);
        rs->resource->n_attributes = 2;
        rs->resource->attributes = xalloc(a, 2 * sizeof(otlp_kv *));
        rs->resource->attributes[0] = kv_str(a, "service.name", service_names[svc[g]]);
        char host[24];
        snprintf(host, sizeof(host), "%s-%u", service_names[svc[g]], (unsigned)(h % 7));
        rs->resource->attributes[1] = kv_str(a, "host.name", host);
        otlp_scope_spans *ss = xalloc(a, sizeof(*ss));
        opentelemetry__proto__trace__v1__scope_spans__init(ss);
        ss->n_spans = g < 2 ? 2 : 1;
        ss->spans = &spans[2 * g];
        rs->n_scope_spans = 1;
        rs->scope_spans = xalloc(a, sizeof(otlp_scope_spans *));
        rs->scope_spans[0] = ss;
        r->resource_spans[r->n_resource_spans++] = rs;
    }
}

static void load(store *st, uint64_t ntraces)
{
    ottr_arena a;
    ottr_arena_init(&a, 1 << 20, 0);
    uint64_t t0 = ottr_mono_ns();
    uint64_t step_ns = DAY_SEC * NS_PER_SEC / ntraces;
    uint32_t reclaimed = 0;
    for (uint64_t base = 0; base < ntraces; base += TRACES_PER_BATCH) {
        ottr_arena_reset(&a);
        otlp_request *r = xalloc(&a, sizeof(*r));
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(r);
        r->resource_spans = xalloc(&a, 3 * TRACES_PER_BATCH * sizeof(otlp_resource_spans *));
        uint64_t n = ntraces - base < TRACES_PER_BATCH ? ntraces - base : TRACES_PER_BATCH;
        for (uint64_t i = 0; i < n; i++)
            add_trace(&a, r, base + i, START_SEC * NS_PER_SEC + (base + i) * step_ns);
        otlp_batch b;
        size_t rejected = 0;
        char msg[128];
        if (otlp_batch_build(&a, r, &b, &rejected, msg, sizeof(msg)) != OTTR_OK || rejected) {
            fprintf(stderr, "bench_query: batch build: %s\n", msg);
            exit(1);
        }
        uint32_t sec = (uint32_t)(START_SEC + base * step_ns / NS_PER_SEC);
        store_pending_ref ref;
        if (store_append_pending(st, &b, sec, &ref) != OTTR_OK) {
            fprintf(stderr, "bench_query: append failed\n");
            exit(1);
        }
        for (size_t g = 0; g < b.ngroups; g++) {
            if (store_keep_trace(st, 0, b.groups[g].trace_id, &ref, 1) != OTTR_OK) {
                fprintf(stderr, "bench_query: keep failed\n");
                exit(1);
            }
        }
        if (sec > reclaimed + 600) {
            store_reclaim_pending(st, sec);
            reclaimed = sec;
        }
        if ((base / TRACES_PER_BATCH) % 500 == 0 && base) {
            double s = (double)(ottr_mono_ns() - t0) / NS_PER_SEC;
            fprintf(stderr, "\rloaded %llu traces (%.0f/s)   ", (unsigned long long)base,
                    (double)base / s);
        }
    }
    store_reclaim_pending(st, (uint32_t)END_SEC + 1);
    ottr_arena_free(&a);

    /* A day of per-minute service-graph counts: each service calls the next two. */
    for (uint32_t m = (uint32_t)(START_SEC / 60); m < (uint32_t)(END_SEC / 60); m++) {
        store_edge e[2 * NSERVICES];
        store_node nodes[NSERVICES];
        memset(e, 0, sizeof(e));
        memset(nodes, 0, sizeof(nodes));
        for (int s = 0; s < NSERVICES; s++) {
            for (int k = 0; k < 2; k++) {
                store_edge *x = &e[2 * s + k];
                snprintf(x->client, sizeof(x->client), "%s", service_names[s]);
                snprintf(x->server, sizeof(x->server), "%s",
                         service_names[(s + 1 + k) % NSERVICES]);
                x->calls = 10;
                x->failed = (uint64_t)(m + s) % 3 == 0;
                x->latency[(s + k) % STORE_LAT_BUCKETS] = 10;
            }
            snprintf(nodes[s].service, sizeof(nodes[s].service), "%s", service_names[s]);
            nodes[s].calls = 20;
            nodes[s].latency[s % STORE_LAT_BUCKETS] = 20;
        }
        if (store_add_graph(store_view_of(st, 0), m, e, 2 * NSERVICES, nodes, NSERVICES) !=
            OTTR_OK) {
            fprintf(stderr, "bench_query: add_graph failed\n");
            exit(1);
        }
    }
    double s = (double)(ottr_mono_ns() - t0) / NS_PER_SEC;
    fprintf(stderr, "\rloaded %llu traces and a day of graph counts in %.1f s\n",
            (unsigned long long)ntraces, s);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *ns, size_t n, const char *extra)
{
    qsort(ns, n, sizeof(*ns), cmp_u64);
    double p50 = (double)ns[n / 2] / NS_PER_MS, p99 = (double)ns[(n * 99) / 100] / NS_PER_MS;
    printf("%-48s n=%-6zu p50 %8.3f ms   p99 %8.3f ms  %s\n", what, n, p50, p99,
           extra ? extra : "");
}

static int rc_check(ottr_status code, const char *what, const char *err)
{
    if (code != OTTR_OK) {
        fprintf(stderr, "bench_query: %s: %s %s\n", what, ottr_status_str(code), err);
        exit(1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t ntraces = 1000000;
    const char *dir = NULL;
    int reuse = 0, keep = 0;
    size_t iters = 2000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--traces") == 0 && i + 1 < argc)
            ntraces = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            iters = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--reuse") == 0)
            reuse = 1;
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_query [--traces N] [--dir DIR] [--reuse] [--keep] "
                            "[--iters N]\n");
            return 2;
        }
    }
    if (ntraces < 1000)
        ntraces = 1000;
    for (int s = 0; s < NSERVICES; s++)
        snprintf(service_names[s], sizeof(service_names[s]), "svc-%02d", s);
    for (int k = 0; k < NNAMES; k++)
        snprintf(span_names[k], sizeof(span_names[k]), "GET /api/r%02d", k);

    char tmp[128];
    if (dir == NULL) {
        snprintf(tmp, sizeof(tmp), "%s/ottr-bench-query.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(tmp) == NULL) {
            perror("mkdtemp");
            return 1;
        }
        dir = tmp;
    }
    char marker[512];
    snprintf(marker, sizeof(marker), "%s/loaded-%llu", dir, (unsigned long long)ntraces);
    struct stat sb;
    int loaded = reuse && stat(marker, &sb) == 0;
    ottr_log_set_level(OTTR_LOG_WARN);

    char path[512];
    snprintf(path, sizeof(path), "%s/data", dir);
    store_options o = {.path = path,
                       .sync = STORE_SYNC_NONE,
                       .retention_ns = 0,
                       .max_trace_bytes = 50ull << 20,
                       .block_cache_bytes = 256ull << 20,
                       .memtable_bytes = 128ull << 20};
    store *st = NULL;
    char err[QUERY_ERRLEN];
    if (store_open(&o, &st, err, sizeof(err)) != OTTR_OK) {
        fprintf(stderr, "bench_query: %s\n", err);
        return 1;
    }
    if (!loaded) {
        load(st, ntraces);
        FILE *f = fopen(marker, "w");
        if (f)
            fclose(f);
        /* Reopen so reads come from SST files, as in a running daemon. */
        store_close(st);
        if (store_open(&o, &st, err, sizeof(err)) != OTTR_OK) {
            fprintf(stderr, "bench_query: %s\n", err);
            return 1;
        }
    }
    printf("store: %llu traces x %d spans over 24 h, %d services\n", (unsigned long long)ntraces,
           SPANS_PER_TRACE, NSERVICES);

    uint64_t *ns = malloc(iters * sizeof(uint64_t));
    if (ns == NULL)
        return 1;
    ottr_buf out = {0};
    uint64_t bytes = 0;
    char idhex[33], extra[96];

    /* ---- trace by ID ---- */
    static const struct {
        const char *name;
        int version;
        bool protobuf;
        int jaeger;
    } tb[] = {
        {"trace by ID, Tempo v2 protobuf", 2, true, 0},
        {"trace by ID, Tempo v1 protobuf", 1, true, 0},
        {"trace by ID, Tempo v2 JSON", 2, false, 0},
        {"trace by ID, Jaeger JSON", 0, false, 1},
    };
    for (size_t t = 0; t < sizeof(tb) / sizeof(tb[0]); t++) {
        bytes = 0;
        for (size_t i = 0; i < iters; i++) {
            uint8_t id[16];
            trace_id(splitmix(i * 7919 + t) % ntraces, id);
            ottr_hex_encode(id, 16, idhex);
            ottr_buf_reset(&out);
            uint64_t t0 = ottr_mono_ns();
            ottr_status code;
            if (tb[t].jaeger) {
                code = query_jaeger_trace(store_view_of(st, 0), idhex, &out, err, sizeof(err));
            } else {
                query_tempo_trace_opts to = {.version = tb[t].version, .protobuf = tb[t].protobuf};
                code = query_tempo_trace(store_view_of(st, 0), idhex, &to, &out, err, sizeof(err));
            }
            ns[i] = ottr_mono_ns() - t0;
            rc_check(code, tb[t].name, err);
            bytes += out.len;
        }
        snprintf(extra, sizeof(extra), "(%llu bytes/answer)", (unsigned long long)(bytes / iters));
        report(tb[t].name, ns, iters, extra);
    }

    /* ---- search by service + duration over one hour, limit 20 ---- */
    size_t nsearch = iters / 10 ? iters / 10 : 1;
    uint64_t found = 0, inspected = 0;
    for (int mode = 0; mode < 2; mode++) {
        found = inspected = 0;
        for (size_t i = 0; i < nsearch; i++) {
            uint64_t h = splitmix(i + 99);
            uint64_t hour = START_SEC + (h % 23) * 3600;
            char qtext[160], tags[64];
            query_tempo_search_params p = {
                .limit = 20, .start_ns = hour * NS_PER_SEC, .end_ns = (hour + 3600) * NS_PER_SEC};
            if (mode == 0) {
                snprintf(qtext, sizeof(qtext),
                         "{ resource.service.name = \"%s\" && duration > 500ms }",
                         service_names[h % NSERVICES]);
                p.q = qtext;
            } else {
                snprintf(tags, sizeof(tags), "service.name=%s", service_names[h % NSERVICES]);
                p.tags = tags;
                p.min_duration_ns = 500000000ull;
            }
            ottr_buf_reset(&out);
            uint64_t t0 = ottr_mono_ns();
            ottr_status code = query_tempo_search(store_view_of(st, 0), &p, &out, err, sizeof(err));
            ns[i] = ottr_mono_ns() - t0;
            rc_check(code, "search", err);
            const char *m = strstr(out.data, "\"inspectedTraces\":");
            if (m)
                inspected += strtoull(m + 18, NULL, 10);
            for (const char *c = out.data; (c = strstr(c, "\"traceID\"")) != NULL; c++)
                found++;
        }
        snprintf(extra, sizeof(extra), "(%.1f traces found, %.0f inspected per query)",
                 (double)found / (double)nsearch, (double)inspected / (double)nsearch);
        report(mode == 0 ? "search TraceQL service && duration>500ms, 1 h, 20"
                         : "search tags service.name + minDuration, 1 h, 20",
               ns, nsearch, extra);
    }

    /* A rare attribute value: index-driven, the whole day. */
    for (size_t i = 0; i < nsearch; i++) {
        char qtext[96];
        snprintf(qtext, sizeof(qtext), "{ span.customer.id = \"cust-%u\" && status != error }",
                 (unsigned)(splitmix(i) % 1000));
        query_tempo_search_params p = {.q = qtext, .limit = 20};
        ottr_buf_reset(&out);
        uint64_t t0 = ottr_mono_ns();
        rc_check(query_tempo_search(store_view_of(st, 0), &p, &out, err, sizeof(err)),
                 "attr search", err);
        ns[i] = ottr_mono_ns() - t0;
    }
    report("search span.customer.id = X, 24 h, 20", ns, nsearch, NULL);

    /* ---- tag values ---- */
    static const char *const tv[] = {"resource.service.name", "span.customer.id", "name"};
    for (size_t t = 0; t < 3; t++) {
        for (size_t i = 0; i < nsearch; i++) {
            ottr_buf_reset(&out);
            uint64_t t0 = ottr_mono_ns();
            rc_check(
                query_tempo_tag_values(store_view_of(st, 0), 2, tv[t], 0, &out, err, sizeof(err)),
                "tag values", err);
            ns[i] = ottr_mono_ns() - t0;
        }
        char what[80];
        snprintf(what, sizeof(what), "tag values %s", tv[t]);
        report(what, ns, nsearch, NULL);
    }

    /* ---- dependencies and service graph over 24 h ---- */
    size_t ndeps = nsearch < 50 ? nsearch : 50;
    for (size_t i = 0; i < ndeps; i++) {
        ottr_buf_reset(&out);
        uint64_t t0 = ottr_mono_ns();
        rc_check(query_jaeger_dependencies(store_view_of(st, 0), END_SEC * NS_PER_SEC,
                                           DAY_SEC * NS_PER_SEC, NULL, false, &out, err,
                                           sizeof(err)),
                 "dependencies", err);
        ns[i] = ottr_mono_ns() - t0;
    }
    report("dependencies over 24 h", ns, ndeps, NULL);
    for (size_t i = 0; i < ndeps; i++) {
        ottr_buf_reset(&out);
        uint64_t t0 = ottr_mono_ns();
        rc_check(query_service_graph(store_view_of(st, 0), START_SEC * NS_PER_SEC,
                                     END_SEC * NS_PER_SEC, &out, err, sizeof(err)),
                 "service graph", err);
        ns[i] = ottr_mono_ns() - t0;
    }
    report("service graph over 24 h", ns, ndeps, NULL);

    ottr_buf_free(&out);
    free(ns);
    store_close(st);
    if (!keep && !reuse) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_query: could not remove %s\n", dir);
    }
    return 0;
}
