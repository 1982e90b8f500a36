/* common/common.h - the small pieces every Ottr component shares: status codes,
 * structured logging, time, hex and base64 helpers, growable buffers, a bump arena,
 * a YAML node tree, host:port parsing, the metrics registry and its Prometheus
 * text writer.
 *
 * common/ depends only on system libraries; it knows nothing of OTLP (otlp/ does).
 * Everything here is thread-safe unless a comment says otherwise. */
#ifndef OTTR_COMMON_H
#define OTTR_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ status */

/* One status enum for the whole program. 0 is success, errors are negative. */
typedef enum ottr_status {
    OTTR_OK = 0,
    OTTR_ERR_NOMEM = -1,     /* allocation failed */
    OTTR_ERR_INVALID = -2,   /* bad input or argument */
    OTTR_ERR_BUSY = -3,      /* over a budget: retry later (back-pressure) */
    OTTR_ERR_IO = -4,        /* storage or socket error */
    OTTR_ERR_NOTFOUND = -5,  /* no such trace / key */
    OTTR_ERR_TOO_LARGE = -6, /* over a size limit */
    OTTR_ERR_CORRUPT = -7,   /* stored data does not decode */
    OTTR_ERR_INTERNAL = -8,  /* a bug or an impossible state */
    OTTR_ERR_EXISTS = -9,    /* the target already exists (a conflict) */
    OTTR_ERR_LIMIT = -10,    /* over a tenant's limit: retry later (429, RESOURCE_EXHAUSTED) */
} ottr_status;

const char *ottr_status_str(ottr_status st);

/* ------------------------------------------------------------------ logging */

typedef enum ottr_log_level {
    OTTR_LOG_DEBUG = 0,
    OTTR_LOG_INFO = 1,
    OTTR_LOG_WARN = 2,
    OTTR_LOG_ERROR = 3,
} ottr_log_level;

/* Parses "debug", "info", "warn", "error". Returns 0 or -1 if unknown. */
int ottr_log_level_parse(const char *s, ottr_log_level *out);
void ottr_log_set_level(ottr_log_level level);
ottr_log_level ottr_log_get_level(void);

/* Writes one JSON line to stderr:
 * {"ts":"2026-11-23T11:32:58.123Z","level":"info","component":"store","msg":"..."}
 * |component| is a short static string ("collector", "store", ...). */
void ottr_log(ottr_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define OTTR_DEBUG(comp, ...) ottr_log(OTTR_LOG_DEBUG, comp, __VA_ARGS__)
#define OTTR_INFO(comp, ...)  ottr_log(OTTR_LOG_INFO, comp, __VA_ARGS__)
#define OTTR_WARN(comp, ...)  ottr_log(OTTR_LOG_WARN, comp, __VA_ARGS__)
#define OTTR_ERROR(comp, ...) ottr_log(OTTR_LOG_ERROR, comp, __VA_ARGS__)

/* ------------------------------------------------------------------ time */

#define NS_PER_SEC 1000000000ull
#define NS_PER_MS  1000000ull
#define NS_PER_US  1000ull

uint64_t ottr_now_ns(void);  /* wall clock, Unix nanoseconds */
uint64_t ottr_mono_ns(void); /* monotonic clock */

/* Parses a Go-style duration ("250ms", "1.5s", "2m30s", "72h", "100us", "10ns")
 * into nanoseconds. A bare "0" is accepted. Returns 0, or -1 on bad syntax,
 * negative values or overflow. */
int ottr_parse_duration(const char *s, uint64_t *out_ns);

/* Parses a byte size: "1048576", "64MiB", "64MB", "512KiB", "1GiB" (KB/MB/GB are
 * taken as powers of 1000, KiB/MiB/GiB as powers of 1024). Returns 0 or -1. */
int ottr_parse_size(const char *s, uint64_t *out);

/* Formats |ns| (Unix nanoseconds) as RFC 3339 UTC with milliseconds into |out|
 * (at least 32 bytes). */
void ottr_format_time(uint64_t ns, char *out, size_t outlen);

/* Parses RFC 3339 ("2024-05-01T10:00:00Z"; fractions down to nanoseconds, "t"/" "
 * for "T", "z", and +hh:mm offsets allowed) into Unix nanoseconds; with
 * |date_only_ok| a bare date ("2024-05-01") is midnight UTC. Returns 0, -1 on
 * bad syntax or out-of-range fields, or -2 for a well-formed time before 1970
 * or past what 64-bit Unix nanoseconds hold (2554). */
int ottr_parse_rfc3339(const char *s, bool date_only_ok, uint64_t *out_ns);

/* ------------------------------------------------------------------ hex and base64 */

/* The value of hex digit |c| (either case), or -1. */
int ottr_hex_digit(int c);

/* Writes 2*|n| lowercase hex digits and a NUL to |out| (2*n+1 bytes). */
void ottr_hex_encode(const uint8_t *in, size_t n, char *out);

/* Decodes exactly |len| hex digits (either case) into |out|. Returns the number
 * of bytes written, or -1 on an odd length, a non-hex digit or |outcap| too small. */
int ottr_hex_decode(const char *in, size_t len, uint8_t *out, size_t outcap);

/* Appends |n| bytes as base64, standard alphabet with padding (no NUL counted). */
struct ottr_buf;
void ottr_base64_encode(struct ottr_buf *b, const uint8_t *in, size_t n);
/* Decodes base64 in the standard or the URL-safe alphabet, padding optional (at
 * most two '=' that complete the last group). Returns the number of bytes written
 * to |out| (at most len / 4 * 3 + 2), or -1 on bad input or |outcap| too small. */
int ottr_base64_decode(const char *in, size_t len, uint8_t *out, size_t outcap);

/* ------------------------------------------------------------------ buffers */

/* A growable byte buffer. A zeroed struct is a valid empty buffer. After an
 * allocation failure |oom| is set and further appends are ignored, so callers may
 * append freely and check |oom| once at the end. data is NUL-terminated when
 * len > 0 (the NUL is not counted). The owner frees with ottr_buf_free(). */
typedef struct ottr_buf {
    char *data;
    size_t len; /* len < cap must hold when data != NULL */
    size_t cap;
    int oom;
} ottr_buf;

int ottr_buf_reserve(ottr_buf *b, size_t extra); /* 0 or -1 (sets oom) */
void ottr_buf_append(ottr_buf *b, const void *p, size_t n);
void ottr_buf_puts(ottr_buf *b, const char *s);
void ottr_buf_putc(ottr_buf *b, char c);
void ottr_buf_printf(ottr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends |s| (|n| bytes) as a JSON string literal with quotes, escaping as JSON
 * requires; invalid UTF-8 bytes become U+FFFD. */
void ottr_buf_json_str(ottr_buf *b, const char *s, size_t n);
/* Appends compact JSON |in| (|n| bytes) re-indented as Go's json.MarshalIndent
 * with |indent| per level. Whitespace outside strings is dropped first. */
void ottr_json_indent(ottr_buf *out, const char *in, size_t n, const char *indent);
void ottr_buf_reset(ottr_buf *b); /* len = 0, keeps memory */
void ottr_buf_free(ottr_buf *b);
/* Hands the bytes to the caller (free() them); the buffer becomes empty. */
char *ottr_buf_detach(ottr_buf *b, size_t *len);
/* Reads the whole file |path| into |b| (appended, NUL-terminated, the NUL not
 * counted). Returns 0, or -1 with why in |err| (cannot open or read, out of
 * memory, larger than |max| bytes). */
int ottr_buf_read_file(ottr_buf *b, const char *path, size_t max, char *err, size_t errlen);

/* ------------------------------------------------------------------ arena */

/* A bump allocator for per-request memory: many small allocations, one reset.
 * Not thread-safe: one arena per request or per thread. A limit bounds the total
 * so that hostile input cannot allocate without end. */
typedef struct ottr_arena_block ottr_arena_block;
typedef struct ottr_arena {
    ottr_arena_block *head; /* current block; older blocks follow */
    size_t block_size;      /* default size of a new block */
    size_t used;            /* bytes handed out since the last reset */
    size_t limit;           /* 0 = unlimited; alloc fails past it */
    unsigned char *next;    /* the free part of the current block */
    unsigned char *end;
} ottr_arena;

void ottr_arena_init(ottr_arena *a, size_t block_size, size_t limit);
/* ottr_arena_alloc when the current block is full (or |n| is 0 or over the limit). */
void *ottr_arena_alloc_slow(ottr_arena *a, size_t n);
/* Returns 16-byte aligned memory, or NULL when out of memory or over the limit.
 * Inline: decoders call it for every message and string. */
static inline void *ottr_arena_alloc(ottr_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (n != 0 && need >= n && need <= (size_t)((uintptr_t)a->end - (uintptr_t)a->next) &&
        (a->limit == 0 || (need <= a->limit && a->used <= a->limit - need))) {
        void *p = a->next;
        a->next += need;
        a->used += need;
        return p;
    }
    return ottr_arena_alloc_slow(a, n);
}
void *ottr_arena_memdup(ottr_arena *a, const void *p, size_t n);
char *ottr_arena_strndup(ottr_arena *a, const char *s, size_t n);
/* Forgets all allocations; keeps the first block for reuse and frees the rest. */
void ottr_arena_reset(ottr_arena *a);
void ottr_arena_free(ottr_arena *a);

/* ------------------------------------------------------------------ YAML */

typedef enum ottr_yaml_type {
    OTTR_YAML_SCALAR = 0,
    OTTR_YAML_MAP = 1,
    OTTR_YAML_SEQ = 2,
} ottr_yaml_type;

/* A parsed YAML document as a tree. Map entries and sequence items are the
 * children, linked through |next|; a map entry's |key| names it. */
typedef struct ottr_yaml_node {
    ottr_yaml_type type;
    char *key;    /* for children of a map, else NULL */
    char *scalar; /* for scalars, else NULL */
    int line;     /* 1-based line of the value (or of the key for map entries) */
    struct ottr_yaml_node *child;
    struct ottr_yaml_node *next;
} ottr_yaml_node;

/* Parses a file or a string. On error returns -1 with a message naming the line
 * in |err|. The caller frees the tree with ottr_yaml_free(). An empty document
 * gives an empty map. */
int ottr_yaml_parse_file(const char *path, ottr_yaml_node **out, char *err, size_t errlen);
int ottr_yaml_parse_string(const char *text, size_t len, ottr_yaml_node **out, char *err,
                           size_t errlen);
void ottr_yaml_free(ottr_yaml_node *n);
/* The child of map |n| with key |key|, or NULL. */
const ottr_yaml_node *ottr_yaml_get(const ottr_yaml_node *n, const char *key);

/* ------------------------------------------------------------------ addresses */

/* Splits "host:port", ":port" (any address) or "[v6]:port" into |host| (empty for
 * any) and |port| (0 allowed: pick a free port). Returns 0 or -1. */
int ottr_parse_addr(const char *addr, char *host, size_t hostlen, int *port);

/* ------------------------------------------------------------------ metrics */

/* A process-wide registry rendered in the Prometheus text format. Handles are
 * created once (mutex) and updated lock-free (atomics) on hot paths; they live
 * until ottr_metrics_shutdown(). |labels| is the inside of the braces, already
 * escaped, e.g. `protocol="grpc",code="0"`, or NULL. Getting the same name and
 * labels twice returns the same handle. On out of memory a shared dummy handle
 * is returned, so callers never check. */
typedef struct ottr_counter ottr_counter;
typedef struct ottr_gauge ottr_gauge;
typedef struct ottr_histogram ottr_histogram;

ottr_counter *ottr_counter_get(const char *name, const char *help, const char *labels);
void ottr_counter_add(ottr_counter *c, uint64_t n);
uint64_t ottr_counter_value(const ottr_counter *c);

ottr_gauge *ottr_gauge_get(const char *name, const char *help, const char *labels);
void ottr_gauge_set(ottr_gauge *g, double v);
double ottr_gauge_value(const ottr_gauge *g);

/* |bounds| are the upper bounds, ascending, without +Inf; copied. */
ottr_histogram *ottr_histogram_get(const char *name, const char *help, const char *labels,
                                   const double *bounds, size_t nbounds);
void ottr_histogram_observe(ottr_histogram *h, double v);

/* A collector appends its own families (with # HELP / # TYPE lines) at render
 * time; for metrics whose labels are data (span metrics) or read from elsewhere
 * (RocksDB properties, process stats). Called under the registry lock. */
typedef void (*ottr_metrics_collect_fn)(void *ctx, ottr_buf *out);
void ottr_metrics_add_collector(ottr_metrics_collect_fn fn, void *ctx);
void ottr_metrics_remove_collector(ottr_metrics_collect_fn fn, void *ctx);

/* Appends every metric in Prometheus text format 0.0.4. */
void ottr_metrics_render(ottr_buf *out);
/* Frees every handle and collector (tests, end of main). */
void ottr_metrics_shutdown(void);

/* ------------------------------------------------------------------ Prometheus text */

/* The writers of the Prometheus text format 0.0.4, used by the registry and by
 * the collectors above. |labels| is the inside of the braces, already escaped
 * (see ottr_prom_label), or NULL or "" for none. Values are written in the
 * shortest form that reads back exactly; +Inf, -Inf and NaN as the format
 * spells them. */

/* Appends the "# HELP" and "# TYPE" lines of a family (|help| escaped). */
void ottr_prom_family(ottr_buf *out, const char *name, const char *help, const char *type);
/* Appends one sample line "name{labels} value". */
void ottr_prom_sample(ottr_buf *out, const char *name, const char *labels, double v);
void ottr_prom_sample_u64(ottr_buf *out, const char *name, const char *labels, uint64_t v);
/* Appends a histogram's _bucket, _sum and _count lines. |counts| are per bucket
 * (not cumulative), nbounds + 1 of them, the last for +Inf; |bounds| ascending. */
void ottr_prom_histogram(ottr_buf *out, const char *name, const char *labels, const double *bounds,
                         size_t nbounds, const uint64_t *counts, double sum);
/* Appends key="value" with the value's \, " and newlines escaped. */
void ottr_prom_label(ottr_buf *out, const char *key, const char *value);
/* The bucket of |v|: the index of the first bound >= v, or nbounds (+Inf). */
size_t ottr_prom_bucket(const double *bounds, size_t nbounds, double v);

#endif /* OTTR_COMMON_H */
