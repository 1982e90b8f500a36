/* sampler/internal.h - the sampler's private pieces: policies, the trace table,
 * decision caches, the writer, span metrics and the service graph. */
#ifndef OTTR_SAMPLER_INTERNAL_H
#define OTTR_SAMPLER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"
#include "sampler/sampler.h"
#include "store/store.h"

#define SPAN_KIND_INTERNAL OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL
#define SPAN_KIND_SERVER   OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER
#define SPAN_KIND_CLIENT   OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT
#define SPAN_KIND_PRODUCER OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER
#define SPAN_KIND_CONSUMER OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER
#define STATUS_UNSET       OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_UNSET
#define STATUS_OK          OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK
#define STATUS_ERROR       OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR
#define ANY_STRING         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_BOOL           OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define ANY_INT            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define ANY_DOUBLE         OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE

/* ------------------------------------------------------------------ spans */

/* The span's status code (UNSET when absent). Attributes are looked up with
 * otlp_attr_find and otlp_attr_str. */
static inline int span_status(const otlp_span *sp)
{
    return otlp_span_status_code(sp);
}

/* ------------------------------------------------------------------ policies */

/* What one policy says about a trace, in the tail_sampling vocabulary. */
typedef enum pol_decision {
    POL_NOT_SAMPLED = 0,
    POL_SAMPLED = 1,
    POL_INVERT_SAMPLED = 2,     /* an inverted match found nothing to exclude */
    POL_INVERT_NOT_SAMPLED = 3, /* an inverted match found its value: excludes */
    POL_DROPPED = 4,            /* a drop policy matched */
} pol_decision;

/* What a policy sees of a trace at decision time: the summary, not the spans. */
typedef struct pol_trace {
    const uint8_t *trace_id;
    uint64_t span_count;
    uint64_t bytes;
    uint64_t min_start_ns; /* UINT64_MAX when no span had a start */
    uint64_t max_end_ns;
    uint64_t bits; /* span-level policies that some span matched, by bit */
    uint64_t now_ns;
} pol_trace;

typedef struct policy policy;
typedef struct policy_set policy_set;

/* The state of one policies-list parse. */
typedef struct pol_parse {
    char *err;
    size_t errlen;
    char path[768];   /* "sampling.policies[1] (errors)" */
    const char *type; /* type being parsed */
    policy_set *set;
    int depth;
} pol_parse;

/* One policy type: its `type:` name and functions. Span-level types (attribute,
 * status, trace state) set match_span and/or match_resource and get a bit in each
 * trace's summary; the others decide from the summary alone. */
typedef struct policy_type {
    const char *name;
    /* Parses the type's own map (the value under the key named like the type;
     * NULL when absent). Returns 0, or -1 after sampler_pol_error(). */
    int (*parse)(policy *p, const ottr_yaml_node *cfg, pol_parse *pp);
    bool (*match_span)(const policy *p, const otlp_span *sp);
    bool (*match_resource)(const policy *p, const otlp_resource *r);
    /* NULL for span-level types (decided from their bit). Called by one thread
     * at a time; may update the policy's own state (rate limits). */
    pol_decision (*evaluate)(policy *p, const pol_trace *t);
    void (*free_data)(void *data);
    /* Combinators: which types their sub-policies may have. */
    bool combinator;
} policy_type;

struct policy {
    const policy_type *type;
    char *name;
    int bit;     /* span-level: index into pol_trace.bits, else -1 */
    bool invert; /* span-level: invert_match */
    void *data;  /* type-specific, freed by type->free_data */
    policy **subs;
    size_t nsubs;
    char *sig; /* span-level: canonical text of the type and config (reload) */
};

#define POL_MAX_BITS 64

/* A parsed `policies` list. Counters are the registry's (not owned). */
struct policy_set {
    policy **top;
    size_t ntop;
    policy *leaves[POL_MAX_BITS]; /* span-level policies by bit (not owned) */
    size_t nleaves;
    bool has_resource;      /* some leaf has match_resource */
    ottr_counter **kept;    /* per top-level policy */
    ottr_counter **dropped; /* per top-level policy */
    ottr_counter *none_dropped;
    ottr_counter *always_kept;
};

/* Parses |policies| (a sequence, NULL or empty = always_sample). Returns 0 and a
 * set the caller frees with sampler_policy_set_free(), or -1 with a message in |err|. */
int sampler_policy_set_parse(const ottr_yaml_node *policies, policy_set **out, char *err,
                             size_t errlen);
void sampler_policy_set_free(policy_set *ps);
/* The share of traces the set is expected to keep before any decision, in
 * thousandths: the sum of the percentages when every top-level policy is
 * probabilistic, else 1000 (all; the cautious guess). */
uint32_t sampler_policy_set_keep_prior(const policy_set *ps);
/* A probabilistic policy's percentage, in thousandths. */
uint32_t sampler_policy_probabilistic_permille(const policy *p);
/* Appends the set as JSON: [{"name","type"[,"policies":[...]]}, ...]. */
void sampler_policy_set_json(const policy_set *ps, ottr_buf *out);
/* Gets the set's decision counters from the registry (not under any sampler lock). */
void sampler_policy_set_bind_metrics(policy_set *ps);
/* The span-level bits that some span of |spans| matches. Thread-safe. */
uint64_t sampler_policy_set_match(const policy_set *ps, const otlp_span_ref *spans, size_t n);
/* The final decision: true = keep. |decider| gets the deciding policy's name.
 * One caller at a time (stateful policies). Counts the decision. */
bool sampler_policy_set_decide(policy_set *ps, const pol_trace *t, const char **decider);
/* For each bit of |from|, the bits of the same span-level policies in |to|. */
void sampler_policy_set_map_bits(const policy_set *from, const policy_set *to,
                                 uint64_t map[POL_MAX_BITS]);
uint64_t sampler_policy_bits_remap(uint64_t bits, const uint64_t map[POL_MAX_BITS]);

/* The table of policy types (policies.c). */
const policy_type *sampler_policy_type_find(const char *name);
extern const policy_type sampler_policy_always_sample;
extern const policy_type sampler_policy_latency;
extern const policy_type sampler_policy_numeric_attribute;
extern const policy_type sampler_policy_probabilistic;
extern const policy_type sampler_policy_status_code;
extern const policy_type sampler_policy_string_attribute;
extern const policy_type sampler_policy_rate_limiting;
extern const policy_type sampler_policy_bytes_limiting;
extern const policy_type sampler_policy_span_count;
extern const policy_type sampler_policy_trace_state;
extern const policy_type sampler_policy_boolean_attribute;
extern const policy_type sampler_policy_and;
extern const policy_type sampler_policy_drop;
extern const policy_type sampler_policy_composite;

/* ---- parsing helpers for policy types (policy.c) ---- */

/* Writes "<path>: <type>.<field>: <message> (line N)" to the error buffer and
 * returns -1. |at| may be NULL (no line). */
int sampler_pol_error(pol_parse *pp, const ottr_yaml_node *at, const char *field, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
/* Fails when |cfg| (a map or NULL) has a key outside |allowed| (NULL-terminated). */
int sampler_pol_check_fields(pol_parse *pp, const ottr_yaml_node *cfg, const char *const *allowed);
/* Require |cfg| to be a map (or NULL when |optional|). */
int sampler_pol_need_map(pol_parse *pp, const ottr_yaml_node *cfg, bool optional);
/* Each getter returns 1 when the field is present and valid, 0 when absent,
 * -1 on a bad value (after sampler_pol_error). */
int sampler_pol_get_int(pol_parse *pp, const ottr_yaml_node *cfg, const char *field, int64_t *out);
int sampler_pol_get_double(pol_parse *pp, const ottr_yaml_node *cfg, const char *field,
                           double *out);
int sampler_pol_get_bool(pol_parse *pp, const ottr_yaml_node *cfg, const char *field, bool *out);
int sampler_pol_get_str(pol_parse *pp, const ottr_yaml_node *cfg, const char *field, char **out);
/* A list of scalars (also a single scalar). *out is a NULL-terminated array. */
int sampler_pol_get_str_list(pol_parse *pp, const ottr_yaml_node *cfg, const char *field,
                             char ***out, size_t *n);
void sampler_pol_free_str_list(char **list);
/* Parses a sequence of sub-policies under |field| of |cfg| into p->subs. */
int sampler_pol_parse_subs(pol_parse *pp, policy *p, const ottr_yaml_node *cfg, const char *field);
/* The decision of a span-level policy from its bit. */
pol_decision sampler_pol_leaf_decision(const policy *p, const pol_trace *t);
/* Decision of a sub-policy (recursing into span-level bits). */
pol_decision sampler_pol_evaluate(policy *p, const pol_trace *t);
/* The child |field| of map |cfg|, or NULL. */
const ottr_yaml_node *sampler_pol_field(const ottr_yaml_node *cfg, const char *field);

/* ------------------------------------------------------------------ id table */

/* A hash table of fixed-size entries whose first |klen| bytes are the key. Entries
 * live in chunks and keep their index (uint32) until removed, so lists can link
 * them by index. Not thread-safe. */
#define IDT_NONE UINT32_MAX

typedef struct idtable {
    size_t esize;
    size_t klen;
    uint8_t **chunks;
    size_t nchunks;
    uint32_t carved;    /* entries ever handed out */
    uint32_t free_head; /* free entries, linked through the 4 bytes after the key */
    uint64_t *slots;    /* (index + 1) << 32 | hash >> 32; 0 = empty */
    size_t mask;        /* slots - 1 */
    size_t count;
} idtable;

uint64_t sampler_idt_hash(const void *key, size_t klen);
/* esize >= klen + 4. Returns 0 or -1 (out of memory). */
int sampler_idt_init(idtable *t, size_t esize, size_t klen);
void sampler_idt_free(idtable *t);
void *sampler_idt_at(const idtable *t, uint32_t idx);
uint32_t sampler_idt_find(const idtable *t, const void *key, uint64_t h);
/* Adds |key| (absent) and returns its zeroed entry's index, or IDT_NONE when out
 * of memory. */
uint32_t sampler_idt_insert(idtable *t, const void *key, uint64_t h);
void sampler_idt_remove(idtable *t, uint32_t idx, uint64_t h);
/* Heap bytes held: slots plus live entries. */
size_t sampler_idt_bytes(const idtable *t);

/* ------------------------------------------------------------------ decision cache */

/* A bounded set of 64-bit trace hashes: a ring (oldest evicted first) plus an
 * open-addressing set. Grows on demand up to |cap|. Not thread-safe. */
typedef struct dcache {
    size_t cap; /* most entries kept; 0 = disabled */
    uint64_t *ring;
    size_t ring_alloc;
    size_t head; /* next write position once the ring is full */
    size_t count;
    uint64_t *set;
    size_t set_mask;
} dcache;

void sampler_dcache_init(dcache *c, size_t cap);
void sampler_dcache_free(dcache *c);
bool sampler_dcache_has(const dcache *c, uint64_t key);
/* Adds |key|, evicting the oldest at capacity. Returns 0, or -1 when out of
 * memory (the key is not remembered). */
int sampler_dcache_add(dcache *c, uint64_t key);
size_t sampler_dcache_bytes(const dcache *c);

/* ------------------------------------------------------------------ writer */

/* A kept trace to copy: the pending records that hold its chunks. The job owns
 * |refs| (heap, when nrefs > 1; else NULL and the one ref is ref0). */
typedef struct keep_job {
    uint32_t tenant;
    uint8_t trace_id[16];
    uint32_t nrefs;
    uint32_t min_sec; /* the oldest record's second: pending below it may go */
    store_pending_ref ref0;
    store_pending_ref *refs;
    uint64_t queued_ns; /* monotonic time it was queued (set by the writer) */
} keep_job;

/* The job's refs as one array. */
static inline const store_pending_ref *keep_job_refs(const keep_job *j)
{
    return j->nrefs > 1 ? j->refs : &j->ref0;
}

/* Kept traces waiting for the writer past which submits of new traces are
 * pushed back (decisions already taken are always queued). */
#define WRITER_QUEUE_MAX 65536
/* The receivers push back on new traces when new traces come faster than the
 * writer can copy its share of them (a token bucket filled at its measured
 * traces per busy second, WRITER_TOKEN_SEC deep, each new trace costing the
 * share that recent decisions kept), when its queue holds more than
 * WRITER_WORK_SEC of its work, or when the oldest queued trace has waited
 * WRITER_MAX_DELAY_NS: so that at full load a kept trace is readable a second or
 * two after its decision, and the queue cannot grow without bound. */
#define WRITER_WORK_SEC     2
#define WRITER_TOKEN_SEC    2
#define WRITER_MAX_DELAY_NS (2 * NS_PER_SEC)
#define WRITER_QUEUE_MIN    1024
/* Batches of fewer traces do not count in the writer's capacity. */
#define WRITER_CAPACITY_BATCH 256
/* Traces per second assumed before the writer has measured its own. */
#define WRITER_CAPACITY_GUESS 4096
/* How long shutdown goes on copying queued kept traces before it leaves the
 * rest in pending (they are decided again at the next start). */
#define WRITER_STOP_NS (2 * NS_PER_SEC)

/* A queue of kept traces to copy into `traces`, run by one thread (or drained by
 * the caller in manual mode). */
typedef struct writer {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    store *st;
    keep_job *q; /* ring */
    size_t cap, head, count;
    uint32_t busy_min_sec; /* first_sec of jobs being written, UINT32_MAX if none */
    bool stop;
    uint64_t stop_deadline_ns; /* monotonic: at shutdown, copying stops here */
    bool started;
    pthread_t th;
    _Atomic uint64_t written;
    _Atomic uint64_t failures;
    _Atomic uint64_t capacity;      /* traces per busy second, smoothed; 0 = unknown */
    uint64_t cap_written, cap_busy; /* since the last capacity update (writer thread) */
    ottr_histogram *m_delay;        /* decision to copied, seconds (not owned; may be NULL) */
} writer;

int sampler_writer_init(writer *w, store *st);
void sampler_writer_destroy(writer *w);
/* Queues |j| (taking its refs); when the queue cannot grow, writes it at once. */
void sampler_writer_push(writer *w, keep_job *j);
/* The queue's length and how long its oldest job has waited (0 when empty). */
void sampler_writer_queue(writer *w, size_t *count, uint64_t *wait_ns);
/* The smallest first_sec of queued or in-progress jobs, or |dflt|. */
uint32_t sampler_writer_min_sec(writer *w, uint32_t dflt);
size_t sampler_writer_pending(writer *w);
/* Writes everything queued from the calling thread; stops at the first error
 * (the job stays queued). Returns 0 when the queue is empty, -1 otherwise. */
int sampler_writer_drain(writer *w);
int sampler_writer_start(writer *w);
/* Goes on copying the queue for up to WRITER_STOP_NS (retrying a little on
 * errors), leaves the rest in pending for the next start, and joins the thread. */
void sampler_writer_stop(writer *w);

/* ------------------------------------------------------------------ string map */

/* An open-addressing map from byte strings to pointers. Keys are copied. Not
 * thread-safe. */
typedef struct strmap_entry {
    uint64_t hash;
    char *key; /* NULL = empty slot */
    size_t klen;
    void *val;
} strmap_entry;

typedef struct strmap {
    strmap_entry *e;
    size_t mask;
    size_t count;
} strmap;

void sampler_strmap_init(strmap *m);
/* Frees keys (and values with |free_val| when not NULL). */
void sampler_strmap_free(strmap *m, void (*free_val)(void *));
void *sampler_strmap_get(const strmap *m, const void *key, size_t klen, uint64_t h);
/* Stores |val| under |key| (absent). Returns 0 or -1 (out of memory). */
int sampler_strmap_put(strmap *m, const void *key, size_t klen, uint64_t h, void *val);
/* Removes |key|; returns its value or NULL. */
void *sampler_strmap_del(strmap *m, const void *key, size_t klen, uint64_t h);

/* ------------------------------------------------------------------ span metrics */

typedef struct spanmetrics spanmetrics;

spanmetrics *sampler_spanmetrics_create(size_t max_series);
void sampler_spanmetrics_destroy(spanmetrics *m);
/* Counts |n| spans (or every span of |b|): the series' calls, sizes and latency
 * histograms are the same as when the spans are counted one at a time. */
void sampler_spanmetrics_observe(spanmetrics *m, const otlp_span_ref *spans, size_t n);
void sampler_spanmetrics_observe_batch(spanmetrics *m, const otlp_batch *b);
/* Renders the series of |n| instances, each with its label |labels|[i]
 * (`tenant="a"`, or "" for none), under one header per family. */
void sampler_spanmetrics_render(spanmetrics *const *m, const char *const *labels, size_t n,
                                ottr_buf *out);
size_t sampler_spanmetrics_series(spanmetrics *m);
/* Writes the per-minute counts gathered since the last flush to the store
 * (kept for the next flush when the write fails) and makes |now_ns| the
 * current minute: later spans that end after it, or have no end, count in it. */
ottr_status sampler_spanmetrics_flush(spanmetrics *m, store_view v, uint64_t now_ns);

/* ------------------------------------------------------------------ service graph */

typedef struct servicegraph servicegraph;

/* |wait_ns|: how long an unpaired half waits; |max_pending|: halves held at most. */
servicegraph *sampler_servicegraph_create(uint64_t wait_ns, size_t max_pending, size_t max_edges);
void sampler_servicegraph_destroy(servicegraph *g);
/* Observes |n| spans of trace |trace_id| (or every span of |b|) arriving at
 * |now_ns|: the same counts, halves and edges as observing them one at a time. */
void sampler_servicegraph_observe(servicegraph *g, const uint8_t trace_id[16],
                                  const otlp_span_ref *spans, size_t n, uint64_t now_ns);
void sampler_servicegraph_observe_batch(servicegraph *g, const otlp_batch *b, uint64_t now_ns);
/* Turns halves that waited past their time into virtual edges or unpaired counts. */
void sampler_servicegraph_expire(servicegraph *g, uint64_t now_ns);
/* The same for every half, due or not, counted in the minute of |now_ns|: at
 * shutdown, what they would have become once due (their state is not kept). */
void sampler_servicegraph_expire_all(servicegraph *g, uint64_t now_ns);
/* Persists per-minute counts for minutes < |before_minute| (UINT32_MAX: all).
 * Counts that fail to persist are kept for the next call. */
ottr_status sampler_servicegraph_flush(servicegraph *g, store_view st, uint32_t before_minute);
/* As sampler_spanmetrics_render. */
void sampler_servicegraph_render(servicegraph *const *g, const char *const *labels, size_t n,
                                 ottr_buf *out);
size_t sampler_servicegraph_pending(servicegraph *g);

/* ------------------------------------------------------------------ tenants */

/* A trace's key in the sampler's tables: its ID and its tenant. */
typedef struct trace_key {
    uint8_t trace_id[16];
    uint32_t tenant;
} trace_key;
#define SAMPLER_KEY_LEN sizeof(trace_key)

static inline trace_key trace_key_of(uint32_t tenant, const uint8_t trace_id[16])
{
    trace_key k;
    memcpy(k.trace_id, trace_id, 16);
    k.tenant = tenant;
    return k;
}

/* What the sampler keeps per tenant (tenants.c): its span metrics and service
 * graph, its buffered traces and its limits. Created at its first request,
 * never freed before the sampler. */
typedef struct sampler_tenant {
    uint32_t id;
    char label[2 * STORE_TENANT_NAME_MAX + 16]; /* tenant="name", or "" (one tenant) */
    spanmetrics *sm;
    servicegraph *sg;
    _Atomic uint64_t buffered; /* undecided traces */
    sampler_tenant_limits lim;
    policy_set *pol;         /* its own policies (not owned), or NULL: the sampler's */
    pthread_mutex_t rate_mu; /* the span-rate bucket */
    uint64_t rate_tokens;    /* milli-spans */
    uint64_t rate_last_ns;
    ottr_counter *m_limited_rate, *m_limited_traces;
} sampler_tenant;

/* A page holds TENANT_PAGE slots; a tenant's state is in slot id % TENANT_PAGE
 * of page id / TENANT_PAGE. */
typedef _Atomic(sampler_tenant *) tenant_slot;
#define TENANT_PAGE   1024
#define TENANT_NPAGES ((STORE_TENANT_MAX + TENANT_PAGE) / TENANT_PAGE)

/* The state of tenant |id|, created when missing. NULL when out of memory. */
sampler_tenant *sampler_tenant_get(sampler *s, uint32_t id);
/* The state of tenant |id|, or NULL when it has none yet. */
sampler_tenant *sampler_tenant_find(sampler *s, uint32_t id);
/* OTTR_OK when the tenant may add |nspans| spans (taken from its rate bucket)
 * and |new_traces| new traces; else OTTR_ERR_LIMIT (counted). */
ottr_status sampler_tenant_admit(sampler_tenant *t, size_t nspans, size_t new_traces);
/* Parses the policies of the overrides that have their own. 0, or -1 with a
 * message naming the tenant. */
int sampler_tenants_parse_policies(sampler *s, char *err, size_t errlen);
/* Frees every tenant state and the overrides' policies. */
void sampler_tenants_free(sampler *s);
void sampler_tenants_render(sampler *s, ottr_buf *out);
/* Flushes every tenant's service graph (sampler_servicegraph_flush); the first
 * error, or OTTR_OK. */
ottr_status sampler_tenants_flush_graph(sampler *s, uint32_t before_minute);
void sampler_tenants_expire_graph(sampler *s, uint64_t now_ns);
/* At shutdown: every tenant's client spans still waiting for a server span become
 * their edges (sampler_servicegraph_expire_all). */
/* Writes every tenant's per-minute span metrics (sampler_spanmetrics_flush). */
ottr_status sampler_tenants_flush_spanmetrics(sampler *s, uint64_t now_ns);
void sampler_tenants_expire_graph_all(sampler *s, uint64_t now_ns);

/* ------------------------------------------------------------------ shards */

/* One buffered trace: a fixed summary, not its spans. */
typedef struct trace_entry {
    uint8_t trace_id[16];
    uint32_t tenant;    /* with the trace ID, the table's key (SAMPLER_KEY_LEN bytes) */
    uint32_t free_next; /* used by idtable when free; must follow the key */
    uint32_t span_count;
    uint64_t first_ns;     /* arrival of the first span */
    uint64_t last_ns;      /* arrival of the latest span */
    uint64_t min_start_ns; /* UINT64_MAX until a span has a start */
    uint64_t max_end_ns;
    uint64_t bytes;
    uint64_t bits;                 /* span-level policy matches */
    uint32_t fifo_prev, fifo_next; /* every entry, by first_ns */
    uint32_t root_prev, root_next; /* root seen or forced, by last_ns; forced first */
    store_pending_ref ref0;        /* the first pending record holding its spans */
    store_pending_ref *refs;       /* every record, on the heap, when more than one */
    uint32_t nrefs;
    uint8_t flags;
} trace_entry;

#define TE_ROOT   0x01 /* the root span arrived */
#define TE_INROOT 0x02 /* linked in the root list */
#define TE_FORCED 0x04 /* over max spans/bytes: decide at the next tick */

typedef struct shard {
    pthread_mutex_t mu;
    idtable traces;
    uint32_t fifo_head, fifo_tail;
    uint32_t root_head, root_tail;
    dcache kept;
    dcache dropped;
} shard;

/* ------------------------------------------------------------------ the sampler */

struct sampler {
    sampler_options o;
    store *st;
    int nshards;
    shard *shards;

    pthread_rwlock_t pol_lock; /* submit and decide read; reload writes */
    policy_set *pol;

    pthread_mutex_t decide_mu; /* one decider at a time (stateful policies) */

    /* Arrival clock: monotonic nanoseconds, and the seconds of submits that
     * appended to pending but have not yet updated their summaries. */
    pthread_mutex_t arr_mu;
    uint64_t arr_last_ns;
    struct inflight {
        uint32_t sec;
        uint32_t n;
    } inflight[32];
    pthread_cond_t arr_cv;

    writer w;
    _Atomic(tenant_slot *) tenant_pages[TENANT_NPAGES];
    pthread_mutex_t tenant_mu; /* creation of tenant states */
    policy_set **tenant_pols;  /* o.overrides[i]'s own policies, or NULL; owned */

    _Atomic uint64_t ntraces;
    _Atomic uint64_t index_bytes; /* sum over shards of idtable slot bytes */
    _Atomic uint64_t kept, dropped, late_spans;
    /* Share of recent decisions that kept, in thousandths (0 until known, taken
     * as all);
     * with the writer's capacity it tells how much copying the buffered traces
     * will bring. Updated by housekeeping. */
    _Atomic uint32_t keep_permille;
    _Atomic uint32_t keep_prior;        /* the policies' guess while keep_permille is 0 */
    uint64_t ratio_kept, ratio_dropped; /* at the last update (housekeeping) */
    pthread_mutex_t tok_mu;             /* the keep-token bucket (keep_tokens_take) */
    uint64_t tokens;                    /* milli-traces of copying new traces may bring */
    uint64_t tok_last_ns;

    uint32_t reclaimed_sec; /* pending below this is gone */
    uint32_t flushed_minute;
    uint64_t last_housekeeping_sec;

    bool started, stopped;
    _Atomic bool replaying; /* reclaim waits while pending is replayed */
    pthread_t ticker;
    pthread_mutex_t tick_mu;
    pthread_cond_t tick_cv;
    bool tick_stop;

    ottr_gauge *m_buffered, *m_keep_queue, *m_keep_oldest, *m_keep_capacity;
    ottr_counter *m_late_kept, *m_late_dropped, *m_backpressure;
    ottr_histogram *m_age;
};

uint64_t sampler_clock(const sampler *s);

/* The policies that decide the traces of tenant |t| (NULL: the sampler's). Under
 * pol_lock (read). */
static inline policy_set *sampler_tenant_policies(sampler *s, const sampler_tenant *t)
{
    return t && t->pol ? t->pol : s->pol;
}
/* Adds a group's spans, stored in the pending record |ref|, to its trace's
 * summary (or follows its decision). |live|: false during replay (no decision
 * caches, no late counts). */
ottr_status sampler_apply_group(sampler *s, const policy_set *ps, sampler_tenant *t,
                                const uint8_t trace_id[16], const otlp_span_ref *spans,
                                size_t nspans, size_t bytes, store_pending_ref ref, uint64_t now_ns,
                                bool live);
/* Decides every due trace of every shard at |now_ns|; |all| decides everything. */
void sampler_decide_due(sampler *s, uint64_t now_ns, bool all);

/* Rewrites buffered traces' policy bits after a reload. Under pol_lock (write). */
void sampler_remap_bits(sampler *s, const uint64_t map[POL_MAX_BITS]);
/* The smallest first-arrival second of a buffered trace, or |dflt|. */
uint32_t sampler_oldest_sec(sampler *s, uint32_t dflt);
/* True when the trace is buffered or in a decision cache. */
bool sampler_trace_known(sampler *s, uint32_t tenant, const uint8_t trace_id[16]);
/* Remembers |trace_id| as kept and queues the copy of its chunk in |ref|. */
void sampler_mark_kept(sampler *s, uint32_t tenant, const uint8_t trace_id[16],
                       store_pending_ref ref);
/* Rebuilds summaries from `pending` (replay.c). */
ottr_status sampler_replay_pending(sampler *s);

#endif /* OTTR_SAMPLER_INTERNAL_H */
