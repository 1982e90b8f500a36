/* bench/loadgen/loadgen.c - OTLP trace load generator: sends export requests of a
 * configurable trace shape over gRPC, HTTP/1.1 or h2c and reports acknowledged
 * spans/s, MB/s, statuses and latency, ending with a machine-readable RESULT line. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <grpc/grpc.h>

#include "bench/loadgen/loadgen.h"

static _Atomic int *g_stop;

static void on_signal(int sig)
{
    (void)sig;
    if (g_stop)
        *g_stop = 1;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: loadgen [options]\n"
        "Sends OTLP trace export requests and reports what the server acknowledged.\n"
        "\n"
        "Target:\n"
        "  --protocol P          grpc (default), http (HTTP/1.1) or h2c (HTTP/2 prior knowledge)\n"
        "  --target HOST:PORT    server address (default 127.0.0.1:4317 for grpc, :4318 "
        "otherwise)\n"
        "  --path PATH           HTTP path (default /v1/traces)\n"
        "  --gzip                compress requests with gzip\n"
        "  --timeout SECS        per-request deadline (default 30)\n"
        "\n"
        "Workload (defaults are the ingest benchmark: 16 x 8 spans, 7 attributes, 5%% errors,\n"
        "~335 bytes per span):\n"
        "  --services N          distinct service.name values (default 10)\n"
        "  --depth D             levels in each trace's span tree (default 4)\n"
        "  --spans-per-trace S   spans per trace (default 8)\n"
        "  --traces-per-request T  traces per request (default 16)\n"
        "  --attrs A             attributes per span (default 7)\n"
        "  --error-rate R        fraction of traces with one ERROR span (default 0.05)\n"
        "  --group-resources     one ResourceSpans per service (default: one per span)\n"
        "  --templates N         pre-generated request shapes; IDs and times are patched per\n"
        "                        request (default 64)\n"
        "  --seed N              random seed for shapes and IDs (default: time-based)\n"
        "\n"
        "Load:\n"
        "  --workers W           threads, each with its own connection (default 2)\n"
        "  --inflight K          requests in flight per worker (default 32)\n"
        "  --backoff-ms MS       gRPC: after UNAVAILABLE or RESOURCE_EXHAUSTED, that slot waits\n"
        "                        MS before its next request, as exporters honour RetryInfo\n"
        "                        (default 0: at once)\n"
        "  --duration SECS       run time (default 10 unless --requests is given)\n"
        "  --requests N          stop after N requests in total\n"
        "\n"
        "Output:\n"
        "  --ids-file FILE       append every acknowledged trace ID (hex) and its span count,\n"
        "                        one per line, flushed after each acknowledgement\n"
        "  --progress            print a line every second\n"
        "  --quiet               print only the RESULT line\n"
        "  --rate SPANS          send at most SPANS spans per second in total (default: as\n"
        "                        fast as acknowledgements allow)\n"
        "  --write-request FILE  write one request of the workload (protobuf) to FILE and\n"
        "                        exit, for decode benchmarks and h2load\n"
        "  --help                this text\n"
        "\n"
        "Prints acknowledged spans/s, MB/s (uncompressed request bytes), requests by status\n"
        "(gRPC code names, or HTTP statuses; 0 = no response) and latency p50/p99, then\n"
        "  RESULT spans_per_s=N mb_per_s=N ok=N errors=N p50_ms=N p99_ms=N\n"
        "Exits 1 when nothing was acknowledged, 2 on bad usage.\n");
}

static const char *const GRPC_CODES[17] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

static int parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

enum {
    OPT_PROTOCOL = 256,
    OPT_TARGET,
    OPT_PATH,
    OPT_GZIP,
    OPT_TIMEOUT,
    OPT_SERVICES,
    OPT_DEPTH,
    OPT_SPT,
    OPT_TPR,
    OPT_ATTRS,
    OPT_ERR,
    OPT_GROUP,
    OPT_TEMPLATES,
    OPT_SEED,
    OPT_WORKERS,
    OPT_INFLIGHT,
    OPT_BACKOFF,
    OPT_DURATION,
    OPT_REQUESTS,
    OPT_IDS,
    OPT_PROGRESS,
    OPT_QUIET,
    OPT_RATE,
    OPT_WRITE,
    OPT_HELP,
};

static int parse_args(int argc, char **argv, lg_options *o)
{
    static const struct option longopts[] = {
        {"protocol", required_argument, 0, OPT_PROTOCOL},
        {"target", required_argument, 0, OPT_TARGET},
        {"path", required_argument, 0, OPT_PATH},
        {"gzip", no_argument, 0, OPT_GZIP},
        {"timeout", required_argument, 0, OPT_TIMEOUT},
        {"services", required_argument, 0, OPT_SERVICES},
        {"depth", required_argument, 0, OPT_DEPTH},
        {"spans-per-trace", required_argument, 0, OPT_SPT},
        {"traces-per-request", required_argument, 0, OPT_TPR},
        {"attrs", required_argument, 0, OPT_ATTRS},
        {"error-rate", required_argument, 0, OPT_ERR},
        {"group-resources", no_argument, 0, OPT_GROUP},
        {"templates", required_argument, 0, OPT_TEMPLATES},
        {"seed", required_argument, 0, OPT_SEED},
        {"workers", required_argument, 0, OPT_WORKERS},
        {"inflight", required_argument, 0, OPT_INFLIGHT},
        {"backoff-ms", required_argument, 0, OPT_BACKOFF},
        {"duration", required_argument, 0, OPT_DURATION},
        {"requests", required_argument, 0, OPT_REQUESTS},
        {"ids-file", required_argument, 0, OPT_IDS},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"quiet", no_argument, 0, OPT_QUIET},
        {"rate", required_argument, 0, OPT_RATE},
        {"write-request", required_argument, 0, OPT_WRITE},
        {"help", no_argument, 0, OPT_HELP},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof(*o));
    o->services = 10;
    o->depth = 4;
    o->spans_per_trace = 8;
    o->traces_per_request = 16;
    o->attrs = 7;
    o->error_rate = 0.05;
    o->workers = 2;
    o->inflight = 32;
    o->timeout_s = 30;
    o->templates = 64;
    o->seed = lg_now_ns();
    snprintf(o->path, sizeof(o->path), "/v1/traces");
    int have_duration = 0, c, bad = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_PROTOCOL:
            if (strcmp(optarg, "grpc") == 0)
                o->protocol = LG_GRPC;
            else if (strcmp(optarg, "http") == 0)
                o->protocol = LG_HTTP;
            else if (strcmp(optarg, "h2c") == 0)
                o->protocol = LG_H2C;
            else
                bad = fprintf(stderr, "loadgen: --protocol must be grpc, http or h2c\n");
            break;
        case OPT_TARGET:
            snprintf(o->target, sizeof(o->target), "%s", optarg);
            break;
        case OPT_PATH:
            snprintf(o->path, sizeof(o->path), "%s", optarg);
            break;
        case OPT_GZIP:
            o->gzip = 1;
            break;
        case OPT_TIMEOUT:
            if (parse_double(optarg, 0.001, 3600, &o->timeout_s))
                bad = fprintf(stderr, "loadgen: bad --timeout\n");
            break;
        case OPT_SERVICES:
            if (parse_int(optarg, 1, 10000, &o->services))
                bad = fprintf(stderr, "loadgen: --services must be 1..10000\n");
            break;
        case OPT_DEPTH:
            if (parse_int(optarg, 1, 1000, &o->depth))
                bad = fprintf(stderr, "loadgen: --depth must be 1..1000\n");
            break;
        case OPT_SPT:
            if (parse_int(optarg, 1, 100000, &o->spans_per_trace))
                bad = fprintf(stderr, "loadgen: --spans-per-trace must be 1..100000\n");
            break;
        case OPT_TPR:
            if (parse_int(optarg, 1, 10000, &o->traces_per_request))
                bad = fprintf(stderr, "loadgen: --traces-per-request must be 1..10000\n");
            break;
        case OPT_ATTRS:
            if (parse_int(optarg, 0, 1000, &o->attrs))
                bad = fprintf(stderr, "loadgen: --attrs must be 0..1000\n");
            break;
        case OPT_ERR:
            if (parse_double(optarg, 0, 1, &o->error_rate))
                bad = fprintf(stderr, "loadgen: --error-rate must be in [0, 1]\n");
            break;
        case OPT_GROUP:
            o->group_resources = 1;
            break;
        case OPT_TEMPLATES:
            if (parse_int(optarg, 1, 4096, &o->templates))
                bad = fprintf(stderr, "loadgen: --templates must be 1..4096\n");
            break;
        case OPT_SEED:
            o->seed = strtoull(optarg, NULL, 0);
            break;
        case OPT_WORKERS:
            if (parse_int(optarg, 1, 1024, &o->workers))
                bad = fprintf(stderr, "loadgen: --workers must be 1..1024\n");
            break;
        case OPT_INFLIGHT:
            if (parse_int(optarg, 1, 100000, &o->inflight))
                bad = fprintf(stderr, "loadgen: --inflight must be 1..100000\n");
            break;
        case OPT_BACKOFF:
            if (parse_int(optarg, 0, 600000, &o->backoff_ms))
                bad = fprintf(stderr, "loadgen: --backoff-ms must be 0..600000\n");
            break;
        case OPT_DURATION:
            if (parse_double(optarg, 0.001, 1e7, &o->duration_s))
                bad = fprintf(stderr, "loadgen: bad --duration\n");
            have_duration = 1;
            break;
        case OPT_REQUESTS: {
            char *end;
            o->requests = strtoll(optarg, &end, 10);
            if (*end || o->requests < 1)
                bad = fprintf(stderr, "loadgen: --requests must be a positive number\n");
            break;
        }
        case OPT_IDS:
            o->ids_file = optarg;
            break;
        case OPT_PROGRESS:
            o->progress = 1;
            break;
        case OPT_QUIET:
            o->quiet = 1;
            break;
        case OPT_RATE:
            if (parse_double(optarg, 1, 1e9, &o->rate_spans))
                bad = fprintf(stderr, "loadgen: bad --rate\n");
            break;
        case OPT_WRITE:
            o->write_request = optarg;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            exit(0);
        default:
            bad = 1;
        }
    }
    if (optind < argc)
        bad = fprintf(stderr, "loadgen: unexpected argument %s\n", argv[optind]);
    if ((long long)o->spans_per_trace * o->traces_per_request > 1000000)
        bad = fprintf(stderr, "loadgen: more than 1000000 spans per request\n");
    if (!have_duration && o->requests == 0)
        o->duration_s = 10;
    if (o->target[0] == '\0')
        snprintf(o->target, sizeof(o->target), "127.0.0.1:%d",
                 o->protocol == LG_GRPC ? 4317 : 4318);
    if (bad) {
        usage(stderr);
        return -1;
    }
    return 0;
}

void lg_stats_latency(lg_stats *s, uint64_t us)
{
    if (s->nlat == s->caplat) {
        size_t cap = s->caplat ? s->caplat * 2 : 4096;
        uint32_t *p = realloc(s->lat_us, cap * sizeof(uint32_t));
        if (p == NULL)
            return;
        s->lat_us = p;
        s->caplat = cap;
    }
    s->lat_us[s->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

int lg_run_take(lg_run *r)
{
    if (r->stop)
        return 0;
    if (r->end_ns && lg_mono_ns() >= r->end_ns)
        return 0;
    long long n = atomic_fetch_add(&r->issued, 1);
    if (r->o->requests != 0 && n >= r->o->requests)
        return 0;
    if (r->o->rate_spans > 0) {
        /* Open-loop pacing: request n is due at start + n / rate. */
        double per_s = r->o->rate_spans / (double)r->templates[0].nspans;
        uint64_t due = r->start_ns + (uint64_t)((double)n * 1e9 / per_s);
        uint64_t now = lg_mono_ns();
        if (due > now) {
            if (r->end_ns && due >= r->end_ns)
                return 0;
            struct timespec ts = {(time_t)((due - now) / 1000000000ull),
                                  (long)((due - now) % 1000000000ull)};
            nanosleep(&ts, NULL);
        }
    }
    return 1;
}

void lg_run_record_ids(lg_run *r, const uint8_t *ids, const lg_template *t)
{
    static const char hex[] = "0123456789abcdef";
    if (r->ids == NULL)
        return;
    char *line = malloc((size_t)t->ntraces * 48 + 1);
    if (line == NULL)
        return;
    size_t n = 0;
    for (int i = 0; i < t->ntraces; i++) {
        for (int b = 0; b < 16; b++) {
            line[n++] = hex[ids[16 * i + b] >> 4];
            line[n++] = hex[ids[16 * i + b] & 15];
        }
        n += (size_t)sprintf(line + n, " %d\n", t->trace_spans[i]);
    }
    pthread_mutex_lock(&r->ids_lock);
    fwrite(line, 1, n, r->ids);
    fflush(r->ids);
    pthread_mutex_unlock(&r->ids_lock);
    free(line);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    lg_options o;
    if (parse_args(argc, argv, &o) != 0)
        return 2;

    lg_run run;
    memset(&run, 0, sizeof(run));
    run.o = &o;
    pthread_mutex_init(&run.ids_lock, NULL);
    if (lg_templates_build(&o, &run.templates, &run.ntemplates) != 0)
        return 2;
    size_t tlen = 0;
    for (int i = 0; i < run.ntemplates; i++)
        tlen += run.templates[i].len;
    double req_bytes = (double)tlen / run.ntemplates;
    size_t spans_per_req = run.templates[0].nspans;
    if (o.write_request) {
        const lg_template *t = &run.templates[0];
        uint8_t *buf = malloc(t->len);
        uint8_t *ids = malloc((size_t)t->ntraces * 16);
        uint64_t rng = o.seed;
        FILE *f = fopen(o.write_request, "wb");
        int ok = buf && ids && f;
        if (ok) {
            lg_template_fill(t, buf, &rng, lg_now_ns(), ids);
            ok = fwrite(buf, 1, t->len, f) == t->len;
        }
        if (f && fclose(f) != 0)
            ok = 0;
        free(buf);
        free(ids);
        if (ok)
            printf("wrote %zu bytes (%zu spans) to %s\n", t->len, t->nspans, o.write_request);
        else
            perror(o.write_request);
        lg_templates_free(run.templates, run.ntemplates);
        return ok ? 0 : 2;
    }
    if (o.ids_file) {
        run.ids = fopen(o.ids_file, "a");
        if (run.ids == NULL) {
            perror(o.ids_file);
            lg_templates_free(run.templates, run.ntemplates);
            return 2;
        }
    }
    static const char *const proto_names[] = {"grpc", "http", "h2c"};
    if (!o.quiet)
        printf("loadgen: %s %s%s, %d workers x %d in flight, %d traces x %d spans per request "
               "(%zu spans, %.1f KB, %.0f B/span), %d attrs, %.0f%% error traces\n",
               proto_names[o.protocol], o.target, o.gzip ? " gzip" : "", o.workers, o.inflight,
               o.traces_per_request, o.spans_per_trace, spans_per_req, req_bytes / 1000,
               req_bytes / (double)spans_per_req, o.attrs, o.error_rate * 100);
    fflush(stdout);

    if (o.protocol == LG_GRPC)
        grpc_init();
    else
        curl_global_init(CURL_GLOBAL_DEFAULT);
    g_stop = &run.stop;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    lg_worker *workers = calloc((size_t)o.workers, sizeof(*workers));
    if (workers == NULL)
        return 2;
    run.start_ns = lg_mono_ns();
    if (o.duration_s > 0)
        run.end_ns = run.start_ns + (uint64_t)(o.duration_s * 1e9);
    int started = 0;
    for (int i = 0; i < o.workers; i++) {
        workers[i].run = &run;
        workers[i].index = i;
        workers[i].rng = o.seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)) ^ lg_now_ns();
        if (pthread_create(&workers[i].thread, NULL,
                           o.protocol == LG_GRPC ? lg_grpc_worker : lg_http_worker,
                           &workers[i]) != 0) {
            fprintf(stderr, "loadgen: cannot start worker %d\n", i);
            run.stop = 1;
            break;
        }
        started++;
    }

    /* Progress: poll the workers' atomics once a second until they are done. */
    uint64_t last_spans = 0, last_bytes = 0, last_t = run.start_ns;
    int tick = 0;
    for (;;) {
        usleep(100000);
        uint64_t now = lg_mono_ns();
        int done = (run.end_ns && now >= run.end_ns) || run.stop ||
                   (o.requests && run.issued >= o.requests);
        if (!done && now - last_t < 1000000000u)
            continue;
        if (o.progress && !o.quiet && now - last_t >= 1000000000u) {
            uint64_t spans = 0, bytes = 0, ok = 0, err = 0;
            for (int i = 0; i < started; i++) {
                spans += workers[i].stats.ok_spans;
                bytes += workers[i].stats.ok_bytes;
                ok += workers[i].stats.ok_requests;
                err += workers[i].stats.err_requests;
            }
            double dt = (double)(now - last_t) / 1e9;
            printf("progress t=%ds spans_per_s=%.0f mb_per_s=%.1f ok=%llu errors=%llu\n", ++tick,
                   (double)(spans - last_spans) / dt, (double)(bytes - last_bytes) / dt / 1e6,
                   (unsigned long long)ok, (unsigned long long)err);
            fflush(stdout);
            last_spans = spans;
            last_bytes = bytes;
            last_t = now;
        }
        if (done)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].thread, NULL);
    double elapsed = (double)(lg_mono_ns() - run.start_ns) / 1e9;

    /* Merge. */
    lg_stats total;
    memset(&total, 0, sizeof(total));
    size_t nlat = 0;
    for (int i = 0; i < started; i++)
        nlat += workers[i].stats.nlat;
    uint32_t *lat = malloc((nlat + 1) * sizeof(uint32_t));
    nlat = 0;
    for (int i = 0; i < started; i++) {
        lg_stats *s = &workers[i].stats;
        total.ok_requests += s->ok_requests;
        total.ok_spans += s->ok_spans;
        total.ok_bytes += s->ok_bytes;
        total.err_requests += s->err_requests;
        for (int c = 0; c < 600; c++)
            total.by_code[c] += s->by_code[c];
        if (lat && s->nlat)
            memcpy(lat + nlat, s->lat_us, s->nlat * sizeof(uint32_t));
        nlat += s->nlat;
        free(s->lat_us);
        if (workers[i].error[0])
            fprintf(stderr, "loadgen: worker %d: %s\n", i, workers[i].error);
        if (workers[i].first_failure[0] && !o.quiet)
            fprintf(stderr, "loadgen: worker %d: first failure: %s\n", i, workers[i].first_failure);
    }
    double p50 = 0, p99 = 0;
    if (lat && nlat) {
        qsort(lat, nlat, sizeof(uint32_t), cmp_u32);
        p50 = lat[(nlat - 1) / 2] / 1000.0;
        p99 = lat[(size_t)((double)(nlat - 1) * 0.99)] / 1000.0;
    }
    free(lat);
    uint64_t ok = total.ok_requests, errs = total.err_requests;
    double sps = (double)total.ok_spans / elapsed, mbps = (double)total.ok_bytes / elapsed / 1e6;
    if (!o.quiet) {
        printf("elapsed %.2f s: %llu requests acknowledged, %llu failed, %llu spans acknowledged\n",
               elapsed, (unsigned long long)ok, (unsigned long long)errs,
               (unsigned long long)total.ok_spans);
        printf("throughput: %.0f spans/s, %.2f MB/s\n", sps, mbps);
        printf("status:");
        for (int c = 0; c < 600; c++) {
            if (total.by_code[c] == 0)
                continue;
            if (o.protocol == LG_GRPC && c <= 16)
                printf(" %s=%llu", GRPC_CODES[c], (unsigned long long)total.by_code[c]);
            else
                printf(" %d=%llu", c, (unsigned long long)total.by_code[c]);
        }
        printf("\nlatency: p50 %.2f ms, p99 %.2f ms\n", p50, p99);
    }
    printf("RESULT spans_per_s=%.0f mb_per_s=%.2f ok=%llu errors=%llu p50_ms=%.3f p99_ms=%.3f\n",
           sps, mbps, (unsigned long long)ok, (unsigned long long)errs, p50, p99);
    fflush(stdout);

    if (run.ids)
        fclose(run.ids);
    free(workers);
    lg_templates_free(run.templates, run.ntemplates);
    if (o.protocol == LG_GRPC)
        grpc_shutdown_blocking();
    else
        curl_global_cleanup();
    pthread_mutex_destroy(&run.ids_lock);
    return ok > 0 ? 0 : 1;
}
