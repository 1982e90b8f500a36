/* cluster/consumer.c - the store nodes' side: one thread reads the partitions
 * this node owns in the consumer group, decodes each record (an OTLP
 * TracesData), hands it to the sampler as a receiver would, and commits each
 * partition's offset only up to its oldest record whose trace is not yet
 * decided and stored. Partitions come and go with cooperative-sticky
 * rebalancing: an assigned one is read from its committed offset, a revoked one
 * has what is settled committed first. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/internal.h"

#define POLL_MS         100
#define RETRY_WAIT_MS   50
#define MAX_OWNED       1024
#define ARENA_PER_BYTE  16
#define ARENA_SLACK     (1u << 20)
#define ARENA_MIN_BLOCK (64u << 10)
#define BATCH_RECORDS   1024       /* records handed to the sampler at once, at most */
#define BATCH_BYTES     (4u << 20) /* and their bytes */

struct cluster_consumer {
    cluster_consumer_options o; /* strings are the caller's and outlive the consumer */
    rd_kafka_t *rk;
    cluster_offsets *offs; /* the consuming thread's only (rebalances run on it) */
    pthread_t thread;
    atomic_bool stop;
    bool assigned_once; /* a first assignment arrived (the consuming thread's) */
    uint64_t last_commit_ns;
    ottr_arena arena;
    pthread_mutex_t mu; /* guards owned */
    int32_t owned[MAX_OWNED];
    size_t nowned;
    /* The hand-off being built: every record's groups, each with its origin. */
    otlp_trace_group *groups;
    uint64_t *origins;
    size_t ngroups, cap, nspans, chunk_bytes;
    ottr_counter *m_records, *m_invalid, *m_commits, *m_rebalances;
    ottr_gauge *m_waiting;
};

/* Commits the settled offsets of the partitions tracked (all of them, or those
 * in |only|); |sync| waits for the broker's answer. */
static void commit_settled(cluster_consumer *c, const rd_kafka_topic_partition_list_t *only,
                           bool sync)
{
    uint32_t settled = sampler_settled_before(c->o.smp);
    int32_t parts[MAX_OWNED];
    size_t n = cluster_offsets_partitions(c->offs, parts, MAX_OWNED);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n + 1);
    if (list == NULL)
        return;
    uint64_t waiting = 0;
    for (size_t i = 0; i < n && i < MAX_OWNED; i++) {
        if (only && rd_kafka_topic_partition_list_find(only, c->o.kafka.topic, parts[i]) == NULL)
            continue;
        int64_t point = cluster_offsets_settle(c->offs, parts[i], settled);
        waiting += cluster_offsets_waiting(c->offs, parts[i]);
        if (point >= 0)
            rd_kafka_topic_partition_list_add(list, c->o.kafka.topic, parts[i])->offset = point;
    }
    if (only == NULL)
        ottr_gauge_set(c->m_waiting, (double)waiting);
    if (list->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, list, sync ? 0 : 1);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
            OTTR_WARN(CLUSTER_COMPONENT, "offset commit failed: %s", rd_kafka_err2str(e));
        else
            ottr_counter_add(c->m_commits, 1);
    }
    rd_kafka_topic_partition_list_destroy(list);
}

static void owned_update(cluster_consumer *c)
{
    pthread_mutex_lock(&c->mu);
    c->nowned = cluster_offsets_partitions(c->offs, c->owned, MAX_OWNED);
    if (c->nowned > MAX_OWNED)
        c->nowned = MAX_OWNED;
    pthread_mutex_unlock(&c->mu);
}

static void log_parts(const char *what, const rd_kafka_topic_partition_list_t *parts)
{
    char buf[512];
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < parts->cnt && used + 16 < sizeof(buf); i++)
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%d", i ? "," : "",
                                 parts->elems[i].partition);
    OTTR_INFO(CLUSTER_COMPONENT, "partitions %s: [%s]", what, buf);
}

static void rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    cluster_consumer *c = opaque;
    bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *e = NULL;
    ottr_counter_add(c->m_rebalances, 1);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++)
            if (cluster_offsets_assign(c->offs, parts->elems[i].partition) != 0)
                OTTR_ERROR(CLUSTER_COMPONENT, "out of memory tracking partition %d",
                           parts->elems[i].partition);
        c->assigned_once = true;
        log_parts("assigned", parts);
        if (coop)
            e = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
    } else {
        /* What is settled is committed; the rest is read again by the next
         * owner, from that commit (a lost assignment cannot commit). */
        if (!rd_kafka_assignment_lost(rk))
            commit_settled(c, parts, true);
        for (int i = 0; i < parts->cnt; i++)
            cluster_offsets_revoke(c->offs, parts->elems[i].partition);
        log_parts("revoked", parts);
        if (coop)
            e = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    if (e != NULL) {
        OTTR_ERROR(CLUSTER_COMPONENT, "rebalance: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    owned_update(c);
}

/* The tenant a record names (header "tenant"), as this store's number. Returns
 * OTTR_OK, OTTR_ERR_INVALID (a bad name) or the store's error. */
static ottr_status record_tenant(cluster_consumer *c, const rd_kafka_message_t *m, uint32_t *tenant)
{
    *tenant = STORE_TENANT_DEFAULT;
    rd_kafka_headers_t *h = NULL;
    if (!c->o.multitenant || rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return OTTR_OK;
    const void *v;
    size_t len;
    if (rd_kafka_header_get_last(h, CLUSTER_TENANT_HEADER, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return OTTR_OK;
    return store_tenant_id(c->o.st, v, len, true, tenant);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void commit_when_due(cluster_consumer *c)
{
    uint64_t now = ottr_mono_ns();
    if (now - c->last_commit_ns >= c->o.kafka.commit_interval_ns) {
        c->last_commit_ns = now;
        commit_settled(c, NULL, false);
    }
}

/* Submits |b| until the sampler takes it; false when stopping first. */
static bool submit(cluster_consumer *c, const otlp_batch *b)
{
    for (;;) {
        ottr_status st = sampler_submit(c->o.smp, b);
        if (st == OTTR_OK)
            return true;
        if (st == OTTR_ERR_INVALID || st == OTTR_ERR_TOO_LARGE)
            return true; /* never taken: nothing to wait for */
        /* Back-pressure or a failing store: the record waits, as a client would. */
        if (atomic_load(&c->stop))
            return false;
        sleep_ms(RETRY_WAIT_MS);
        commit_when_due(c);
    }
}

/* Decodes record |m| (a TracesData) into the hand-off being built; its groups
 * are kept under the record's name. Returns false when it holds no spans to take
 * (counted and logged). */
static bool add_record(cluster_consumer *c, const rd_kafka_message_t *m)
{
    otlp_request *req = NULL;
    char err[256] = "";
    ottr_status st = m->payload ? otlp_proto_decode_request(&c->arena, m->payload, m->len, &req,
                                                            err, sizeof(err))
                                : OTTR_ERR_INVALID;
    otlp_batch b;
    memset(&b, 0, sizeof(b));
    size_t rejected = 0;
    if (st == OTTR_OK)
        st = otlp_batch_build_limited(&c->arena, req, m->payload, m->len, &c->o.limits, &b,
                                      &rejected, err, sizeof(err));
    if (st != OTTR_OK || rejected) {
        ottr_counter_add(c->m_invalid, 1);
        OTTR_WARN(CLUSTER_COMPONENT, "partition %d offset %lld: %s%s", m->partition,
                  (long long)m->offset, st == OTTR_OK ? "spans rejected: " : "not OTLP: ", err);
    }
    if (st != OTTR_OK || b.ngroups == 0)
        return false;
    if (c->ngroups + b.ngroups > c->cap) {
        size_t cap = (c->ngroups + b.ngroups) * 2;
        otlp_trace_group *g = realloc(c->groups, cap * sizeof(*g));
        if (g != NULL)
            c->groups = g;
        uint64_t *o = g ? realloc(c->origins, cap * sizeof(*o)) : NULL;
        if (o == NULL) {
            OTTR_ERROR(CLUSTER_COMPONENT, "out of memory: partition %d offset %lld skipped",
                       m->partition, (long long)m->offset);
            return false;
        }
        c->origins = o;
        c->cap = cap;
    }
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    uint64_t tsec = ts > 0 ? (uint64_t)ts / 1000u : ottr_now_ns() / NS_PER_SEC;
    /* The record's own name: taken twice, its chunks overwrite themselves. */
    uint64_t origin = (tsec ? tsec : 1) << 32 | (uint32_t)m->offset;
    for (size_t i = 0; i < b.ngroups; i++) {
        c->groups[c->ngroups] = b.groups[i];
        c->origins[c->ngroups++] = origin;
    }
    c->nspans += b.nspans;
    c->chunk_bytes += b.chunk_bytes;
    return true;
}

/* Hands the records msgs[from..to) of one tenant to the sampler in one batch and
 * notes their offsets. False when stopping first (nothing noted: read again). */
static bool flush(cluster_consumer *c, rd_kafka_message_t **msgs, size_t from, size_t to,
                  uint32_t tenant)
{
    uint32_t sec = 0; /* nothing to wait for unless the sampler takes spans */
    if (c->ngroups > 0) {
        otlp_batch b = {.groups = c->groups,
                        .ngroups = c->ngroups,
                        .nspans = c->nspans,
                        .chunk_bytes = c->chunk_bytes,
                        .tenant = tenant,
                        .origins = c->origins};
        if (!submit(c, &b))
            return false;
        sec = sampler_now_sec(c->o.smp);
    }
    for (size_t i = from; i < to; i++)
        if (cluster_offsets_tracked(c->offs, msgs[i]->partition) &&
            cluster_offsets_add(c->offs, msgs[i]->partition, msgs[i]->offset, sec) != 0)
            OTTR_ERROR(CLUSTER_COMPONENT, "out of memory noting partition %d offset %lld",
                       msgs[i]->partition, (long long)msgs[i]->offset);
    c->ngroups = c->nspans = c->chunk_bytes = 0;
    return true;
}

/* Takes the records |msgs| (|n|, in the order read; freed here): decodes them,
 * hands them to the sampler in as few batches as their tenants allow, notes
 * their offsets. Records of partitions revoked meanwhile are left to the
 * partitions' new owners. */
static void handle(cluster_consumer *c, rd_kafka_message_t **msgs, size_t n)
{
    ottr_counter_add(c->m_records, n);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += msgs[i]->len;
    ottr_arena_reset(&c->arena);
    c->arena.limit = bytes > (SIZE_MAX - ARENA_SLACK) / ARENA_PER_BYTE
                         ? SIZE_MAX
                         : bytes * ARENA_PER_BYTE + ARENA_SLACK;
    c->ngroups = c->nspans = c->chunk_bytes = 0;
    size_t from = 0;
    uint32_t cur = STORE_TENANT_DEFAULT;
    bool go = true;
    for (size_t i = 0; i < n && go; i++) {
        rd_kafka_message_t *m = msgs[i];
        uint32_t tenant;
        ottr_status st = record_tenant(c, m, &tenant);
        while (st != OTTR_OK && st != OTTR_ERR_INVALID && st != OTTR_ERR_TOO_LARGE) {
            if (atomic_load(&c->stop))
                break; /* not noted: read again */
            sleep_ms(RETRY_WAIT_MS);
            st = record_tenant(c, m, &tenant);
        }
        if (st != OTTR_OK && atomic_load(&c->stop))
            break;
        if (i > from && st == OTTR_OK && tenant != cur) {
            go = flush(c, msgs, from, i, cur);
            from = i;
        }
        if (st == OTTR_OK)
            cur = tenant;
        if (st != OTTR_OK) {
            ottr_counter_add(c->m_invalid, 1);
            OTTR_WARN(CLUSTER_COMPONENT, "partition %d offset %lld: bad tenant header, skipped",
                      m->partition, (long long)m->offset);
        } else if (cluster_offsets_tracked(c->offs, m->partition)) {
            add_record(c, m);
        }
    }
    if (go && !atomic_load(&c->stop))
        flush(c, msgs, from, n, cur);
    for (size_t i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
}

static void *consumer_main(void *arg)
{
    cluster_consumer *c = arg;
    pthread_setname_np(pthread_self(), "ottr-consumer");
    c->last_commit_ns = ottr_mono_ns();
    rd_kafka_message_t *msgs[BATCH_RECORDS];
    while (!atomic_load(&c->stop)) {
        /* What is there now, up to a batch: one hand-off for many records. */
        size_t n = 0, bytes = 0;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, POLL_MS);
        while (m != NULL) {
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                msgs[n++] = m;
                bytes += m->len;
            } else {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    OTTR_WARN(CLUSTER_COMPONENT, "consume: %s", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
            }
            if (n == BATCH_RECORDS || bytes >= BATCH_BYTES)
                break;
            m = rd_kafka_consumer_poll(c->rk, 0);
        }
        if (n > 0)
            handle(c, msgs, n);
        commit_when_due(c);
    }
    return NULL;
}

/* Leaves the group (the revocation commits what is settled and hands the
 * partitions on) and frees |c|; its thread is not running. */
static void consumer_close(cluster_consumer *c)
{
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    ottr_arena_free(&c->arena);
    pthread_mutex_destroy(&c->mu);
    cluster_offsets_free(c->offs);
    free(c->groups);
    free(c->origins);
    free(c);
}

ottr_status cluster_consumer_start(const cluster_consumer_options *o, cluster_consumer **out,
                                   char *err, size_t errlen)
{
    *out = NULL;
    if (o->smp == NULL || o->st == NULL || o->kafka.group == NULL || o->kafka.group[0] == '\0' ||
        o->kafka.commit_interval_ns == 0) {
        snprintf(err, errlen,
                 "kafka consumer: a sampler, a store, kafka.group and "
                 "kafka.commit_interval are needed");
        return OTTR_ERR_INVALID;
    }
    cluster_consumer *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->offs = cluster_offsets_new()) == NULL) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    c->o = *o;
    rd_kafka_conf_t *conf = cluster_conf_new(&o->kafka, false, err, errlen);
    if (conf == NULL) {
        cluster_offsets_free(c->offs);
        free(c);
        return OTTR_ERR_INVALID;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance);
    char why[512];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    if (c->rk == NULL) {
        snprintf(err, errlen, "kafka consumer: %s", why);
        rd_kafka_conf_destroy(conf);
        cluster_offsets_free(c->offs);
        free(c);
        return OTTR_ERR_INVALID;
    }
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__FAIL;
    if (topics != NULL) {
        rd_kafka_topic_partition_list_add(topics, o->kafka.topic, RD_KAFKA_PARTITION_UA);
        e = rd_kafka_subscribe(c->rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "kafka subscribe to %s: %s", o->kafka.topic, rd_kafka_err2str(e));
        rd_kafka_destroy(c->rk);
        cluster_offsets_free(c->offs);
        free(c);
        return OTTR_ERR_INVALID;
    }
    ottr_arena_init(&c->arena, ARENA_MIN_BLOCK, ARENA_SLACK);
    pthread_mutex_init(&c->mu, NULL);
    static const char help[] = "Span records read from Kafka.";
    c->m_records = ottr_counter_get("ottr_kafka_consumed_records_total", help, NULL);
    c->m_invalid = ottr_counter_get("ottr_kafka_invalid_records_total",
                                    "Records read from Kafka that are not OTLP TracesData, or "
                                    "with spans over the limits (skipped).",
                                    NULL);
    c->m_commits = ottr_counter_get("ottr_kafka_offset_commits_total",
                                    "Offset commits of settled records.", NULL);
    c->m_rebalances = ottr_counter_get("ottr_kafka_rebalances_total",
                                       "Partition assignments and revocations.", NULL);
    c->m_waiting =
        ottr_gauge_get("ottr_kafka_unsettled_records",
                       "Records read whose traces are not yet decided and stored.", NULL);
    atomic_init(&c->stop, false);
    if (pthread_create(&c->thread, NULL, consumer_main, c) != 0) {
        snprintf(err, errlen, "cannot start the kafka consumer thread");
        consumer_close(c);
        return OTTR_ERR_INTERNAL;
    }
    *out = c;
    return OTTR_OK;
}

size_t cluster_consumer_partitions(cluster_consumer *c, int32_t *parts, size_t cap)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->nowned;
    for (size_t i = 0; i < n && i < cap; i++)
        parts[i] = c->owned[i];
    pthread_mutex_unlock(&c->mu);
    return n;
}

void cluster_consumer_stop(cluster_consumer *c)
{
    if (c == NULL)
        return;
    atomic_store(&c->stop, true);
    pthread_join(c->thread, NULL);
    commit_settled(c, NULL, true);
    /* librdkafka 2.0 (Debian 12) aborts when a cooperative-sticky consumer is
     * destroyed before its first assignment (its issue 4312, fixed in 2.3): a
     * node stopped while joining waits for it, up to a session timeout. What
     * it reads meanwhile is not taken (not committed either). */
    uint64_t until = ottr_mono_ns() + c->o.kafka.session_timeout_ns + 5 * NS_PER_SEC;
    while (!c->assigned_once && ottr_mono_ns() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, POLL_MS);
        if (m != NULL)
            rd_kafka_message_destroy(m);
    }
    if (!c->assigned_once) {
        /* Exiting anyway: leave the handle rather than abort in its destroy. */
        OTTR_WARN(CLUSTER_COMPONENT, "never joined the group; not closing the kafka consumer");
        return;
    }
    consumer_close(c);
}
