/* bench/decode/decode_bench.c - measures decoding of one OTLP export request
 * (written by `loadgen --write-request`) on one core: protobuf-c with malloc (the
 * baseline), the receivers' checked decode into an arena, and that plus grouping
 * by trace (the whole receive-side cost before the store). Prints MB/s and
 * spans/s as the median of several runs, and ratios to the baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"
#include "common/common.h"

#define RUNS   5
#define RUN_NS NS_PER_SEC

typedef enum mode { MODE_MALLOC, MODE_ARENA, MODE_BATCH } mode;

/* The receivers check ottrd's default input limits (limits.* in collector/config.c). */
static const otlp_limits LIMITS = {.max_spans_per_request = 100000,
                                   .max_attributes_per_span = 1024,
                                   .max_events_per_span = 1024,
                                   .max_links_per_span = 1024,
                                   .max_attributes_per_event = 1024,
                                   .max_attributes_per_link = 1024,
                                   .max_attributes_per_resource = 1024,
                                   .max_attribute_key_length = 4096,
                                   .max_attribute_value_length = 65536};

static size_t count_spans(const otlp_request *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_resource_spans; i++)
        for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++)
            n += r->resource_spans[i]->scope_spans[j]->n_spans;
    return n;
}

/* Returns MB/s for one run of about RUN_NS. */
static double run_once(mode m, const uint8_t *data, size_t len, ottr_arena *arena)
{
    uint64_t start = ottr_mono_ns(), now;
    uint64_t iters = 0;
    char err[256];
    do {
        for (int k = 0; k < 64; k++) {
            if (m == MODE_MALLOC) {
                otlp_request *r =
                    opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
                        NULL, len, data);
                if (r == NULL)
                    exit(1);
                opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
                    r, NULL);
            } else {
                otlp_request *r;
                if (otlp_proto_decode_request(arena, data, len, &r, err, sizeof(err)) != OTTR_OK)
                    exit(1);
                if (m == MODE_BATCH) {
                    otlp_batch b;
                    size_t rejected = 0;
                    if (otlp_batch_build_limited(arena, r, data, len, &LIMITS, &b, &rejected, err,
                                                 sizeof(err)) != OTTR_OK)
                        exit(1);
                }
                ottr_arena_reset(arena);
            }
            iters++;
        }
        now = ottr_mono_ns();
    } while (now - start < RUN_NS);
    return (double)iters * (double)len / ((double)(now - start) / NS_PER_SEC) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr,
                "usage: bench_decode REQUEST.pb   (make one with loadgen --write-request)\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    static uint8_t data[64 << 20];
    size_t len = fread(data, 1, sizeof(data), f);
    fclose(f);
    otlp_request *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, len,
                                                                                         data);
    if (r == NULL) {
        fprintf(stderr, "%s does not decode\n", argv[1]);
        return 1;
    }
    size_t spans = count_spans(r);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r,
                                                                                            NULL);

    ottr_arena arena;
    ottr_arena_init(&arena, 256 * 1024, 0);
    static const char *names[] = {"protobuf-c unpack, malloc (baseline)",
                                  "checked decode into arena",
                                  "checked decode + group by trace (receiver path)"};
    double base = 0;
    printf("request: %zu bytes, %zu spans (%.0f B/span); median of %d runs of 1 s, one core\n", len,
           spans, (double)len / (double)spans, RUNS);
    for (int m = MODE_MALLOC; m <= MODE_BATCH; m++) {
        double v[RUNS];
        for (int i = 0; i < RUNS; i++)
            v[i] = run_once((mode)m, data, len, &arena);
        qsort(v, RUNS, sizeof(double), cmp_double);
        double med = v[RUNS / 2];
        if (m == MODE_MALLOC)
            base = med;
        printf("%-50s %8.1f MB/s (min %.1f max %.1f) %9.0f spans/s  x%.2f\n", names[m], med, v[0],
               v[RUNS - 1], med * 1e6 / (double)len * (double)spans, med / base);
    }
    ottr_arena_free(&arena);
    return 0;
}
