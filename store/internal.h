/* store/internal.h - the store's private state and the helpers its files share:
 * column families, key encodings, summary encoding, the write path and the
 * retention cut-off. Nothing outside store/ includes this. */
#ifndef OTTR_STORE_INTERNAL_H
#define OTTR_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <rocksdb/c.h>

#include "store/store.h"

#define STORE_COMPONENT "store"

/* The format marker in `meta`; a directory without it is not ours. */
#define STORE_FORMAT_KEY   "format"
#define STORE_FORMAT_VALUE "ottr-store-2" /* keys start with the tenant */
#define STORE_FORMAT_V1    "ottr-store-1" /* no tenant in keys: migrated at open */
/* The tenant registry in `meta`: TENANT_NAME_KEY name -> number (4),
 * TENANT_ID_KEY number (4) -> name. */
#define TENANT_NAME_KEY 'n'
#define TENANT_ID_KEY   'i'
#define STORE_BOOT_KEY  "boot"

/* Column families, in the order they are opened. */
enum {
    CF_DEFAULT = 0,
    CF_META,
    CF_PENDING,
    CF_TRACES,
    CF_SUMMARIES,
    CF_INDEX,
    CF_TAGS,
    CF_EDGES,
    CF_COUNT
};

extern const char *const store_cf_names[CF_COUNT];

/* Index kinds (first byte of an `index` key). */
#define IDX_SERVICE  's' /* term: service */
#define IDX_SVC_NAME 'n' /* term: service 0x00 span name */
#define IDX_NAME     'p' /* term: span name */
#define IDX_ATTR     'a' /* term: key 0x01 value (span or resource attribute) */
#define IDX_ALL      't' /* term: empty; every kept trace */

/* Scopes of `tags` keys beyond store_scope: operations and services. */
#define TAG_SCOPE_OPERATION 2 /* service 0x00 name 0x00 kind-digit */
#define TAG_SCOPE_SERVICE   3 /* service 0x00 (empty value) */

/* Limits on what is indexed: longer keys or values are not indexed at all (an
 * exact-match index of a truncated value would answer wrongly). */
#define STORE_MAX_TERM_KEY   64
#define STORE_MAX_TERM_VALUE 128
/* Distinct index terms (and tag entries) added by one keep; the rest of a
 * trace's attribute values are not searchable. */
#define STORE_MAX_TERMS 4096

/* Edge and node counter records: calls, errors, latency buckets, latency sum (ns). */
#define GRAPH_NCOUNTERS (2 + STORE_LAT_BUCKETS + 1)
#define GRAPH_VALUE_LEN (GRAPH_NCOUNTERS * 8)
#define GRAPH_KIND_EDGE 'e'
#define GRAPH_KIND_NODE 'v'
#define GRAPH_KIND_SPAN 'm' /* per-minute span metrics (store/spanmetrics.c) */
/* Hour roll-ups live beside the minute records under minute = HOUR_FLAG | hour. */
#define GRAPH_HOUR_FLAG 0x80000000u

#define STORE_KEEP_STRIPES 64

/* Tag entries written in the last TAG_REFRESH_SEC seconds are not written again
 * (their last-seen second is that coarse); remembered in a small lossy table. */
#define TAG_CACHE_SLOTS 65536
#define TAG_REFRESH_SEC 60

/* The pending log (plog.c): a write slot per recently appended second. */
#define PLOG_WSLOTS       8
#define PLOG_READER_FILES 8
#define PLOG_HEAD         16 /* magic(4) | payload_len(4) | xxh3_64(8) */

typedef struct store_plog_file {
    uint32_t sec;
    int fd; /* -1: unused */
    uint64_t size;
    bool dirty; /* appended since the last sync */
} store_plog_file;

typedef struct store_plog {
    char *dir;
    int dirfd;
    bool mu_ready;
    pthread_mutex_t mu; /* guards w and dir_dirty */
    store_plog_file w[PLOG_WSLOTS];
    bool dir_dirty; /* a file was created since the last directory sync */
    atomic_uint_fast64_t bytes;
    atomic_uint_fast64_t files;
    atomic_bool nospace;                     /* the last append found the disk full */
    atomic_uint_fast64_t reserve_checked_ns; /* since: the last free-space check */
    atomic_bool reserve_short;               /* its answer: less than disk_reserve free */
} store_plog;

typedef struct store_filter_ctx {
    struct store *s;
    int cf;
} store_filter_ctx;

struct store {
    char *path;
    store_options opt; /* opt.path points to |path| */

    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[CF_COUNT];
    rocksdb_options_t *dbopt;
    rocksdb_options_t *cfopt[CF_COUNT];
    store_filter_ctx fctx[CF_COUNT];      /* state of each family's filter factory */
    rocksdb_column_family_handle_t **xcf; /* families of a newer format, kept open */
    int nxcf;
    rocksdb_cache_t *cache;
    rocksdb_logger_t *logger;
    rocksdb_writeoptions_t *wo;      /* sync only for STORE_SYNC_ALWAYS */
    rocksdb_writeoptions_t *wo_sync; /* sync=true, for WAL syncs */
    rocksdb_readoptions_t *ro;

    uint32_t boot; /* incremented at every open, persisted in meta */
    bool legacy;   /* format 1 at open: keys get their tenant before use (tenant.c) */

    /* The tenant registry (tenant.c): names by number (0: ""), and a hash
     * table of numbers by name; under tenant_mu. */
    pthread_mutex_t tenant_mu;
    char **tenant_names;
    uint32_t ntenants, tenant_cap;
    uint32_t *tenant_slots; /* number + 1, 0 = empty */
    size_t tenant_mask;

    atomic_bool inject_error;
    atomic_bool failing;
    atomic_uint_fast64_t unsynced; /* writes since the last WAL sync (interval) */
    atomic_uint_fast64_t last_resume_ns;
    atomic_uint_fast64_t write_errors;
    atomic_uint_fast64_t appended_bytes;
    atomic_uint_fast64_t appended_records;
    atomic_uint_fast64_t kept_traces;
    atomic_uint_fast64_t kept_chunks;
    atomic_uint_fast64_t kept_bytes;
    atomic_uint_fast64_t dropped_chunks; /* over max_trace_bytes or undecodable */

    pthread_mutex_t keep_locks[STORE_KEEP_STRIPES];
    /* A keep's WriteBatch and index entries, kept between calls with their
     * capacity so that the next keep does not fault fresh pages in (store/keep.c);
     * NULL while one is in use. */
    pthread_mutex_t keep_scratch_mu;
    struct store_keep_scratch *keep_scratch;
    _Atomic uint64_t *tag_cache; /* hash high 32 bits << 32 | last written second */

    char *ingest_dir;             /* <path>/ingest: SST files of large keeps */
    atomic_uint ingest_seq;       /* names those files */
    _Atomic uint64_t posting_seq; /* the next index key number (store/postings.c) */

    store_plog plog;

    /* STORE_SYNC_INTERVAL: a thread fsyncs the WAL and the pending log every
     * sync_interval_ns. */
    bool sync_started;
    bool sync_stop;
    pthread_t sync_thread;
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
};

/* ---- keys.c: big-endian integers and keys ---- */

static inline void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t be32_get(const void *q)
{
    const uint8_t *p = q;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void be64_put(uint8_t *p, uint64_t v)
{
    be32_put(p, (uint32_t)(v >> 32));
    be32_put(p + 4, (uint32_t)v);
}

static inline uint64_t be64_get(const void *q)
{
    const uint8_t *p = q;
    return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

/* The second of |ns| as the keys hold it: 32 bits, so every time from
 * 2106-02-07T06:28:15Z on shares the last second (UINT32_MAX). Readers compare
 * exact times from the summaries, so a clamped key is found by any range that
 * contains its trace's start. */
static inline uint32_t store_key_sec(uint64_t ns)
{
    uint64_t sec = ns / NS_PER_SEC;
    return sec > UINT32_MAX ? UINT32_MAX : (uint32_t)sec;
}

/* Keys of the `pending` family of earlier versions, moved into the log at start-up. */
#define PENDING_KEY_LEN        8  /* arrival_sec(4) | seq(4) */
#define PENDING_LEGACY_KEY_LEN 24 /* arrival_sec(4) | trace_id(16) | seq(4), one chunk */
#define TENANT_KEY_LEN         4  /* the tenant's number, first in every key */
#define TRACE_KEY_LEN          20 /* tenant(4) | trace_id(16): summaries */
#define TRACES_KEY_LEN         28 /* tenant(4) | trace_id(16) | arrival_sec(4) | seq(4) */
#define GRAPH_KEY_HEAD         9  /* tenant(4) | minute(4) | kind(1) */
/* Index keys of earlier versions: [tenant] kind | term | 0x00 | ~start_sec(4) |
 * trace_id(16), moved into posting lists at start-up (store/postings.c). */
#define LEGACY_INDEX_SUFFIX_LEN 20
/* An index entry of a trace whose start second lies further than this from its
 * arrival second is expired by the arrival second, as the trace's data is; else
 * by its start second. */
#define INDEX_ARRIVAL_SKEW_SEC 3600u

/* ---- pending.c: a pending record, one request's chunks grouped by trace ---- */

struct store_plog_reader;
/* Reads the chunk of |tid| of |tenant| in the record |ref| into |a|. Returns 1 with
 * |*chunk|, |*chunk_len| and the record's |*origin| (0: none); 0 when the trace is not in it or the
 * record is gone (reclaimed); -1 when it is malformed; -2 on a read error (logged); -3 when out of
 * memory. */
int store_pending_read(struct store_plog_reader *r, ottr_arena *a, store_pending_ref ref,
                       uint32_t tenant, const uint8_t tid[16], const uint8_t **chunk,
                       size_t *chunk_len, uint64_t *origin);
/* Every key below starts with its tenant's number (TENANT_KEY_LEN bytes). */
/* summaries: tenant | trace_id; also the prefix of the trace's `traces` keys. */
void store_key_trace(uint8_t out[TRACE_KEY_LEN], uint32_t tenant, const uint8_t tid[16]);
/* traces: tenant | trace_id | arrival_sec | seq. */
void store_key_traces(uint8_t out[TRACES_KEY_LEN], uint32_t tenant, const uint8_t tid[16],
                      uint32_t sec, uint32_t seq);

/* An index term: tenant | kind | term | 0x00, a term being |a|, or |a| sep |b| for
 * the two-part kinds (IDX_SVC_NAME: service 0x00 name; IDX_ATTR: key 0x01 value).
 * Writes it into |out| (capacity |cap|) and returns its length, or 0 when it does
 * not fit. Its XXH3 hash places it in the index (store/postings.c). */
size_t store_key_index_prefix(uint8_t *out, size_t cap, uint32_t tenant, char kind, const void *a,
                              size_t alen, const void *b, size_t blen);
/* index keys: head | key number(8); head = tenant | group | bucket(1) |
 * ~start_sec(4), the group being the kind in upper case, followed for IDX_ATTR by
 * the attribute key and 0x01; bucket the top byte of the term's hash. So a
 * bucket's newest entries come first. Value: retention second(4) | entries of
 * trace_id(16) | term hash(8). Writes the head of term |prefix| into |out|;
 * returns its length, or 0 when over |cap| or not a term. */
#define STORE_POSTING_HEAD_MAX  (TENANT_KEY_LEN + STORE_MAX_TERM_KEY + 8)
#define STORE_POSTING_ENTRY_LEN 24
size_t store_key_posting_head(uint8_t *out, size_t cap, const uint8_t *prefix, size_t plen,
                              uint64_t hash, uint32_t start_sec);
/* The head's length without its second (tenant | group | bucket). */
static inline size_t store_key_posting_bucket_len(size_t hlen)
{
    return hlen - 4;
}
/* The start second of a head of |hlen| bytes (or of a key's first |hlen| bytes). */
uint32_t store_key_posting_sec(const uint8_t *head, size_t hlen);

/* tags: tenant | scope | name 0x00 value (attribute keys and values;
 * TAG_SCOPE_SERVICE with an empty value), or tenant | TAG_SCOPE_OPERATION |
 * service 0x00 name 0x00 kind-digit. Return the length, or 0 when over |cap|. */
size_t store_key_tag(uint8_t *out, size_t cap, uint32_t tenant, uint8_t scope, const void *name,
                     size_t nlen, const void *value, size_t vlen);
size_t store_key_tag_operation(uint8_t *out, size_t cap, uint32_t tenant, const void *service,
                               size_t slen, const void *name, size_t nlen, int kind);
/* tenant | scope: where a scope's tag keys start. Returns the length. */
size_t store_key_tag_scope(uint8_t out[TENANT_KEY_LEN + 1], uint32_t tenant, uint8_t scope);

/* The upper bound of the keys that start with |prefix| ending in its 0x00
 * separator: the same bytes with the last one 0x01 (|plen| bytes into |out|). */
void store_key_upper(uint8_t *out, const uint8_t *prefix, size_t plen);

/* The names of an edge's key: client 0x00 server 0x00 connection_type, into
 * |out| (at least sizeof client + server + connection_type + 2 bytes). Returns
 * the length. */
size_t store_key_edge_names(uint8_t *out, const store_edge *e);
/* edges: tenant | minute | kind | names (GRAPH_HOUR_FLAG | hour for roll-ups);
 * names are client 0x00 server 0x00 connection_type for edges, the service for
 * nodes. Returns the length, or 0 when over |cap|. */
size_t store_key_graph(uint8_t *out, size_t cap, uint32_t tenant, uint32_t minute, uint8_t kind,
                       const uint8_t *names, size_t nlen);

/* Whether a key of family |cf| has the layout of format 1 (no tenant), for the
 * migration at open (tenant.c); meaningful only while that runs. */
bool store_key_is_legacy(int cf, const uint8_t *k, size_t klen);
/* The names of a span-metrics series' key: service 0x00 name 0x00 kind-digit
 * (service cut at 255 bytes, name at 511), into |out| (at least 770 bytes).
 * Returns the length. */
#define SPAN_SERIES_NAMES_MAX 770
size_t store_key_span_series_names(uint8_t *out, const char *service, const char *name, int kind);

/* ---- summary.c ---- */

/* A summary being built from spans; services beyond STORE_MAX_SERVICES are
 * counted in the totals only. */
typedef struct store_summary_acc {
    store_trace_summary sum;
    bool has_root;
    uint64_t root_start_ns;
    uint32_t last_arrival_sec; /* newest arrival second of a kept chunk */
    bool empty;                /* no span seen yet */
} store_summary_acc;

void store_summary_acc_init(store_summary_acc *a, const uint8_t tid[16]);
void store_summary_acc_span(store_summary_acc *a, const otlp_span_ref *ref);
/* Folds |b| into |a| (counts add up, extremes combine). */
void store_summary_acc_merge(store_summary_acc *a, const store_summary_acc *b);

/* Encodes into |out| (at least STORE_SUMMARY_MAX bytes); returns the length. */
#define STORE_SUMMARY_MAX 2048
size_t store_summary_encode(const store_summary_acc *a, uint8_t *out);
/* Decodes a value; fills |a| (trace ID from |tid|). Returns 0 or -1 when corrupt. */
int store_summary_decode(const uint8_t *p, size_t n, const uint8_t tid[16], store_summary_acc *a);
/* The last-arrival second of an encoded summary (retention), or 0 if corrupt. */
uint32_t store_summary_value_sec(const uint8_t *p, size_t n);

/* ---- terms.c: the index terms and tag entries of a trace ---- */

/* A set of distinct byte strings (memory from |arena|). Entries added with
 * |capped| stop being accepted after |max_capped| of them. */
typedef struct store_term {
    uint64_t hash;
    uint8_t *p;
    uint32_t len;
} store_term;

typedef struct store_termset {
    ottr_arena *arena;
    store_term *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
    size_t ncapped;
    size_t max_capped;
    bool oom;
} store_termset;

void store_termset_init(store_termset *t, ottr_arena *arena, size_t max_capped);
void store_termset_free(store_termset *t);
/* Empties the set for the next trace, keeping its table unless it grew large. */
void store_termset_clear(store_termset *t);
/* Adds |len| bytes (first byte: the kind or scope). Returns 1 when added, 0 when
 * present, over the cap or empty (a key that did not fit), -1 when out of memory. */
int store_termset_add(store_termset *t, const void *p, size_t len, bool capped);

/* Adds the index key prefixes (store_key_index_prefix) and the tag keys
 * (store_key_tag, store_key_tag_operation) of one span. |last_resource| skips resource attributes
 * already added for the previous span of the same resource. |tags| may be NULL. */
void store_terms_span(store_termset *idx, store_termset *tags, uint32_t tenant,
                      const otlp_span_ref *ref, const void **last_resource);

/* ---- read.c ---- */

/* Iterates the keys of family |cf| in [lower, upper) until |visit| returns
 * non-zero; |visit| moves the iterator on itself (next or a seek) and returns 1
 * to stop or -1 to stop on out of memory. Returns OTTR_OK, OTTR_ERR_IO (logged)
 * or OTTR_ERR_NOMEM. */
typedef int (*store_visit_fn)(void *ctx, rocksdb_iterator_t *it, const uint8_t *k, size_t klen);
ottr_status store_scan(store *s, int cf, const uint8_t *lower, size_t llen, const uint8_t *upper,
                       size_t ulen, store_visit_fn visit, void *ctx);
/* 1 when family |cf| holds |key|, 0 when not, -1 on a read error (logged). */
int store_key_exists(store *s, const rocksdb_readoptions_t *ro, int cf, const uint8_t *key,
                     size_t klen);
/* Reads and decodes the summary of |tid|. Sets |*found|; a summary that does
 * not decode counts as absent (logged). Returns OTTR_OK or OTTR_ERR_IO. */
ottr_status store_summary_load(store *s, const rocksdb_readoptions_t *ro, uint32_t tenant,
                               const uint8_t tid[16], store_summary_acc *a, bool *found);

/* ---- write path (write.c) ---- */

/* Writes |b|; on failure marks the store failing, counts the error, logs it once
 * and returns OTTR_ERR_IO with RocksDB's message in |err| (may be NULL). */
ottr_status store_write(store *s, rocksdb_writebatch_t *b, char *err, size_t errlen);
/* The same accounting for writes that are not a WriteBatch (ingests): a failure
 * (|msg|; |rocks| when RocksDB reported it, so it may need resuming), a success. */
void store_write_failed(store *s, const char *msg, bool rocks);
/* Whether store.disk_reserve bytes are free on the store's file system (true
 * when that cannot be told). Writes failing after a full disk wait for it. */
bool store_reserve_free(store *s);
void store_write_succeeded(store *s);

/* ---- ingest.c: keys written as an SST file and ingested, not via the memtable ---- */

/* Creates the ingest directory or empties it of an earlier run's files. */
ottr_status store_ingest_dir_prepare(store *s, char *err, size_t errlen);

typedef struct store_sst store_sst;
/* Starts an SST file for family |cf| (its options, its format). Returns
 * OTTR_OK, OTTR_ERR_NOMEM or OTTR_ERR_IO (logged). */
ottr_status store_sst_create(store *s, int cf, store_sst **out);
/* Adds a key; keys come in strictly increasing order (bytewise). */
ottr_status store_sst_put(store_sst *f, const void *key, size_t klen, const void *val, size_t vlen);
ottr_status store_sst_delete(store_sst *f, const void *key, size_t klen);
/* Finishes and ingests |n| files in order, stopping at the first failure (the
 * files before it stay ingested); then removes every file. A file without keys
 * is skipped. Returns OTTR_OK, OTTR_ERR_NOMEM or OTTR_ERR_IO (logged, counted
 * as a write error; store_inject_write_error makes it fail). */
ottr_status store_sst_ingest(store_sst **files, size_t n);
/* Drops a file that is not to be ingested. NULL is ignored. */
void store_sst_discard(store_sst *f);

/* ---- postings.c: index entries gathered into posting lists ---- */

typedef struct store_posting {
    uint32_t head; /* index into the heads */
    uint32_t sec;  /* retention second */
    uint64_t hash; /* the term's */
    uint8_t tid[16];
} store_posting;

/* A distinct head (store_key_posting_head) of one write's entries. */
typedef struct store_posting_head {
    const uint8_t *p; /* in the arena */
    uint32_t len;
    uint32_t count; /* entries; after sorting, where its entries start */
    uint64_t hash;
} store_posting_head;

/* The entries of one write. */
typedef struct store_postings {
    store_posting *v;
    size_t n, cap;
    store_posting_head *heads;
    size_t nheads, heads_cap;
    uint32_t *table; /* head index + 1 by hash (open addressing), 0: free */
    size_t table_cap;
    store_posting *spare; /* where sorting places the entries; swapped with v */
    size_t spare_cap;
    ottr_arena arena;
    bool sorted;
    bool oom;
} store_postings;

void store_postings_init(store_postings *p);
void store_postings_free(store_postings *p);
/* Forgets the entries; keeps the arrays for the next write unless they grew
 * past a bound. */
void store_postings_reset(store_postings *p);
/* Adds the entry of term |prefix| (XXH3 |hash|) for trace |tid| starting at
 * |start_sec|, expiring with |ret_sec|. Out of memory sets |oom|. */
void store_postings_add(store_postings *p, const uint8_t *prefix, size_t plen, uint64_t hash,
                        uint32_t start_sec, uint32_t ret_sec, const uint8_t tid[16]);
/* Orders the entries by head; returns the number of keys they make. */
size_t store_postings_sort(store_postings *p);
/* Writes the sorted entries, a key per head: into |wb| when |f| is NULL, else
 * into an SST file created in |*f| at the first key. */
ottr_status store_postings_write(store *s, store_postings *p, rocksdb_writebatch_t *wb,
                                 store_sst **f);
/* Picks where this run's key numbers start (at open). */
void store_postings_seed(store *s);
/* Moves the index of an earlier version into posting lists (at open). */
ottr_status store_index_migrate(store *s);

/* ---- plog.c: the pending log ---- */

ottr_status store_plog_open(store *s, char *err, size_t errlen);
/* Syncs and closes; safe on a store whose plog was never opened. */
void store_plog_close(store *s);
/* Appends one record: |iov|[1..niov) is the payload, |iov|[0] is filled with
 * the header; |iov| is consumed (advanced in place). Sets |*off|. Returns
 * OTTR_OK, OTTR_ERR_IO (counted and logged as a write failure) or
 * OTTR_ERR_TOO_LARGE. With sync: always, the record is on disk on return. */
ottr_status store_plog_append(store *s, uint32_t sec, struct iovec *iov, int niov, uint32_t *off);
/* fdatasyncs the files appended to since the last call; 0 or -1. */
int store_plog_sync(store *s);
/* 0 and the payload length when |h| is a record header, else -1. */
int store_plog_header_check(const uint8_t h[PLOG_HEAD], uint32_t *payload_len);

/* Reads records back; remembers a few open files. One per thread. */
typedef struct store_plog_reader {
    store *s;
    uint32_t sec[PLOG_READER_FILES];
    int fd[PLOG_READER_FILES];
    int n, next;
} store_plog_reader;
void store_plog_reader_init(store_plog_reader *r, store *s);
void store_plog_reader_close(store_plog_reader *r);
/* Reads up to |len| bytes at |off| of |sec|'s file: the count (short at the end
 * of the file), 0 when the file is gone, -1 on an error (logged). */
ssize_t store_plog_pread(store_plog_reader *r, uint32_t sec, void *buf, size_t len, uint64_t off);

/* Calls |fn| for every valid record, files in second order, records in file
 * order, until it returns non-zero; |payload| is valid during the call. */
typedef int (*store_plog_fn)(void *ctx, uint32_t sec, uint32_t off, const uint8_t *payload,
                             size_t len);
ottr_status store_plog_scan(store *s, store_plog_fn fn, void *ctx);
ottr_status store_plog_remove_before(store *s, uint32_t before_sec);
/* Copies the log's files into |dir|/pending (a checkpoint's). */
ottr_status store_plog_copy(store *s, const char *dir, char *err, size_t errlen);
ottr_status store_plog_remove_all(store *s);

/* Fdatasyncs RocksDB's WAL (store.c); 0 or -1 with |err|. */
int store_sync_wal(store *s, char *err, size_t errlen);

/* ---- retention.c ---- */

/* Gives the options |o| of family |cf| its retention filter (none for families
 * without one). Returns 0, or -1 when out of memory. */
int store_retention_install(store *s, rocksdb_options_t *o, int cf);
/* Records whose timestamp (Unix seconds) is below this are expired; 0 = none. */
uint32_t store_retention_cutoff_sec(const store *s);

/* ---- graph.c ---- */

rocksdb_mergeoperator_t *store_graph_merge_operator_create(void);
/* Graph counter records: the value of |calls| ... |sum_s| in |v| (GRAPH_VALUE_LEN),
 * and back. */
void store_graph_value(uint8_t *v, uint64_t calls, uint64_t errors, const uint64_t *lat,
                       double sum_s);
void store_graph_counters(const char *v, uint64_t *calls, uint64_t *errors, uint64_t *lat,
                          double *sum_s);
/* Adds edge |e| to minute |minute| (and its hour) in |wb|, by the merge operator. */
void store_graph_batch_edge(store_view v, rocksdb_writebatch_t *wb, uint32_t minute,
                            const store_edge *e);

/* ---- keep.c ---- */

/* Frees what store_close finds kept between keeps. NULL is ignored. */
void store_keep_scratch_free(struct store_keep_scratch *sc);

/* ---- links.c ---- */

/* The "direct" dependency links of one keep call, summed per tenant, minute,
 * parent and child service (open addressing; calls == 0 marks a free slot). */
typedef struct store_link {
    uint64_t hash;
    uint32_t tenant, minute;
    store_edge edge;
} store_link;

typedef struct store_links {
    store_link *v;
    size_t n, cap;
} store_links;

/* Counts |calls| of the link |parent| -> |child| in |minute|. When the table is
 * full or out of memory, the link is merged into |wb| at once instead. Zero the
 * table to start. */
void store_links_add(store_links *t, store *s, rocksdb_writebatch_t *wb, uint32_t tenant,
                     uint32_t minute, const char *parent, const char *child, uint64_t calls);
/* Merges every counted link into |wb|. */
void store_links_write(store_links *t, store *s, rocksdb_writebatch_t *wb);
void store_links_free(store_links *t);

/* ---- tenant.c ---- */

/* Gives every key of a format-1 store its tenant (the implicit one) when
 * s->legacy, then marks the store format 2; loads the tenant registry. Returns
 * OTTR_OK or an error with a message in |err|. */
ottr_status store_tenants_open(store *s, char *err, size_t errlen);
void store_tenants_free(store *s);

/* ---- misc ---- */

/* RocksDB counts every key comparison in a thread-local perf context unless the
 * thread's perf level says not to; nothing reads those counts, and they cost a
 * tenth of a memtable insert. Called at the top of each entry point. */
static inline void store_perf_off(void)
{
    rocksdb_set_perf_level(rocksdb_disable);
}

uint64_t store_now_ns(const store *s);
/* A stripe lock serializing keeps of one trace. */
pthread_mutex_t *store_keep_lock(store *s, const uint8_t tid[16]);

#endif /* OTTR_STORE_INTERNAL_H */
