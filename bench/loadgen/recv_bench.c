/* bench/loadgen/recv_bench.c - the OTLP/gRPC receiver alone with an ingest callback
 * that only counts, to measure receive + decode + grouping throughput with loadgen. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "collector/collector.h"

static _Atomic uint64_t g_spans, g_groups, g_bytes;
static volatile sig_atomic_t g_stop;

static ottr_status count_ingest(void *ctx, const otlp_batch *b)
{
    (void)ctx;
    g_spans += b->nspans;
    g_groups += b->ngroups;
    g_bytes += b->chunk_bytes;
    return OTTR_OK;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1:0";
    const char *port_file = NULL;
    int threads = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc)
            addr = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
            port_file = argv[++i];
        else {
            fprintf(stderr,
                    "usage: recv_bench [--addr HOST:PORT] [--threads N] [--port-file FILE]\n"
                    "Serves OTLP/gRPC with an ingest that only counts; on SIGINT/SIGTERM prints\n"
                    "spans received and spans per CPU-second of this process.\n");
            return 2;
        }
    }
    ottr_log_set_level(OTTR_LOG_WARN);
    otlp_grpc_options o = {
        .addr = addr, .threads = threads, .max_recv_bytes = 64u << 20, .ingest = count_ingest};
    otlp_grpc *g;
    char err[256];
    if (collector_grpc_start(&o, &g, err, sizeof(err)) != OTTR_OK) {
        fprintf(stderr, "recv_bench: %s\n", err);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "grpc=%d\n", collector_grpc_port(g));
            fclose(f);
        }
    }
    printf("recv_bench: listening on port %d with %d threads\n", collector_grpc_port(g), threads);
    fflush(stdout);
    double cpu0 = cpu_seconds();
    while (!g_stop)
        usleep(50000);
    double cpu = cpu_seconds() - cpu0;
    collector_grpc_stop(g);
    printf("recv_bench: %llu spans in %llu trace groups, %llu chunk bytes; %.2f CPU-s, "
           "%.0f spans per CPU-second\n",
           (unsigned long long)g_spans, (unsigned long long)g_groups, (unsigned long long)g_bytes,
           cpu, cpu > 0 ? (double)g_spans / cpu : 0.0);
    ottr_metrics_shutdown();
    return 0;
}
