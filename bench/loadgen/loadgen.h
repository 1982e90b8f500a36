/* bench/loadgen/loadgen.h - the load generator's shared pieces: options, request
 * templates with patchable trace IDs and timestamps, per-worker statistics and the
 * protocol drivers (gRPC core, libcurl HTTP/1.1 and h2c). */
#ifndef OTTR_LOADGEN_H
#define OTTR_LOADGEN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum lg_protocol { LG_GRPC = 0, LG_HTTP = 1, LG_H2C = 2 } lg_protocol;

typedef struct lg_options {
    lg_protocol protocol;
    char target[256]; /* host:port */
    char path[128];   /* HTTP path */
    int gzip;
    int services;
    int depth;
    int spans_per_trace;
    int traces_per_request;
    int attrs;
    double error_rate;
    int group_resources; /* one ResourceSpans per service instead of per span */
    int workers;
    int inflight;
    int backoff_ms;     /* gRPC: a pushed-back slot waits this long (0: not at all) */
    double duration_s;  /* 0 = until --requests are done */
    long long requests; /* 0 = until the duration ends */
    double timeout_s;
    const char *ids_file;
    uint64_t seed;
    int progress;
    int templates;
    int quiet;
    double rate_spans;         /* 0 = unpaced */
    const char *write_request; /* write one request and exit */
} lg_options;

/* One patch to apply to a copy of a template before sending it. */
typedef struct lg_patch {
    uint32_t offset;
    uint16_t trace; /* LG_PATCH_TRACE: which trace of the request */
    uint16_t kind;
    uint64_t rel_ns; /* LG_PATCH_TIME: nanoseconds relative to the request's base time */
} lg_patch;

enum { LG_PATCH_TRACE = 0, LG_PATCH_TIME = 1 };

/* A packed ExportTraceServiceRequest whose trace IDs and timestamps are rewritten
 * per request, so every request carries fresh random IDs at memcpy cost. */
typedef struct lg_template {
    uint8_t *bytes;
    size_t len;
    lg_patch *patches;
    size_t npatches;
    int ntraces;
    int *trace_spans; /* spans per trace */
    size_t nspans;
} lg_template;

/* Builds |o->templates| templates. Returns 0 or -1 with a message on stderr. */
int lg_templates_build(const lg_options *o, lg_template **out, int *n);
void lg_templates_free(lg_template *t, int n);

/* Copies template |t| into |dst| (t->len bytes) with trace IDs drawn from |rng| and
 * timestamps based at |base_ns|; writes the trace IDs to |ids| (16 * ntraces). */
void lg_template_fill(const lg_template *t, uint8_t *dst, uint64_t *rng, uint64_t base_ns,
                      uint8_t *ids);

uint64_t lg_rand(uint64_t *state);

/* Per-worker counters, merged at the end; the atomics are read by the progress line. */
typedef struct lg_stats {
    _Atomic uint64_t ok_requests;
    _Atomic uint64_t ok_spans;
    _Atomic uint64_t ok_bytes;
    _Atomic uint64_t err_requests;
    uint64_t by_code[600]; /* gRPC codes 0..16, HTTP statuses 100..599, 0 = no response */
    uint32_t *lat_us;      /* latency of every completed request */
    size_t nlat, caplat;
} lg_stats;

void lg_stats_latency(lg_stats *s, uint64_t us);

/* Shared run state. */
typedef struct lg_run {
    const lg_options *o;
    lg_template *templates;
    int ntemplates;
    _Atomic long long issued; /* requests started (for --requests) */
    _Atomic int stop;         /* set when the duration is over */
    uint64_t start_ns;
    uint64_t end_ns; /* 0 = no deadline */
    FILE *ids;       /* --ids-file, or NULL */
    pthread_mutex_t ids_lock;
} lg_run;

/* Takes a ticket for one more request. Returns 1 to go on, 0 when done. */
int lg_run_take(lg_run *r);

/* Records an acknowledged request's trace IDs to --ids-file. */
void lg_run_record_ids(lg_run *r, const uint8_t *ids, const lg_template *t);

typedef struct lg_worker {
    lg_run *run;
    int index;
    uint64_t rng;
    lg_stats stats;
    pthread_t thread;
    char error[256];         /* set when the worker could not run at all */
    char first_failure[256]; /* the first failed request's error, for the report */
} lg_worker;

void *lg_grpc_worker(void *arg);
void *lg_http_worker(void *arg);

/* Gzip-compresses |in| into a malloc'd buffer. Returns NULL on failure. */
uint8_t *lg_gzip(const uint8_t *in, size_t len, size_t *outlen);

uint64_t lg_now_ns(void);
uint64_t lg_mono_ns(void);

#endif /* OTTR_LOADGEN_H */
