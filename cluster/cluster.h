/* cluster/cluster.h - Ottr nodes on Kafka (librdkafka), partitioned by trace ID.
 * Receivers produce each request's spans, one record per trace keyed by the
 * trace ID, and acknowledge only once Kafka has (acks=all, idempotence). Store
 * nodes share a consumer group: each owns the traces of its partitions, hands
 * their records to the sampler and commits a partition's offset only up to its
 * oldest record whose trace is not yet decided and stored. Kafka is the durable
 * buffer: a node that dies loses nothing, another replays from the commit.
 *
 * A record: key = trace ID (16 bytes), value = an OTLP TracesData (the chunk the
 * store keeps: ResourceSpans framed as field 1), header "tenant" = the tenant's
 * name when it is not the implicit one. An OpenTelemetry Collector's kafka
 * exporter (otlp_proto, partitioned by trace ID) writes records the store nodes
 * read alike.
 */
#ifndef OTTR_CLUSTER_H
#define OTTR_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "otlp/otlp.h"
#include "sampler/sampler.h"
#include "store/store.h"

/* Where the cluster's Kafka is and how to use it (the kafka.* keys). */
typedef struct cluster_kafka_options {
    const char *brokers;         /* bootstrap.servers: host:port[,host:port...] */
    const char *topic;           /* the spans topic */
    const char *group;           /* consumer group of the store nodes */
    const char *client_id;       /* NULL: "ottrd" */
    uint64_t produce_timeout_ns; /* how long a record may wait for its acks */
    uint64_t commit_interval_ns; /* how often settled offsets are committed */
    uint64_t session_timeout_ns; /* a store node silent this long loses its partitions */
} cluster_kafka_options;

/* The partition Kafka's default (murmur2) partitioner gives a 16-byte trace ID
 * key among |npartitions|; what producers in Java and librdkafka's
 * murmur2_random agree on. */
int32_t cluster_partition_of(const uint8_t trace_id[16], int32_t npartitions);

/* ---- receivers (producer.c) ---- */

typedef struct cluster_producer cluster_producer;

/* Connects a producer (acks=all, idempotence on). |st| (not owned, may be NULL)
 * names tenants for the records' "tenant" header. Returns OTTR_OK,
 * OTTR_ERR_INVALID (a bad setting, why in |err|) or OTTR_ERR_NOMEM. Brokers
 * unreachable is not an error here: produce then fails after the timeout. */
ottr_status cluster_producer_start(const cluster_kafka_options *o, store *st,
                                   cluster_producer **out, char *err, size_t errlen);
/* Produces one record per trace of |b| and waits until Kafka acknowledged every
 * one. Returns OTTR_OK (acknowledge the client), OTTR_ERR_BUSY (the local queue
 * is full: retry later) or OTTR_ERR_IO (a record failed or timed out: Kafka
 * unavailable, retry later). Thread-safe; the ottr_ingest_fn of a receiver. */
ottr_status cluster_produce(void *producer, const otlp_batch *b);
/* Waits for records in flight (up to the produce timeout), then frees. */
void cluster_producer_stop(cluster_producer *p);

/* ---- store nodes (consumer.c) ---- */

typedef struct cluster_consumer cluster_consumer;

typedef struct cluster_consumer_options {
    cluster_kafka_options kafka;
    sampler *smp;       /* where records go; not owned */
    store *st;          /* tenant names to numbers; not owned */
    bool multitenant;   /* false: every record is the implicit tenant's */
    otlp_limits limits; /* what one record may carry */
    const char *node;   /* this node's name in the group and the announcements */
    const char *query;  /* host:port of this node's Tempo API, announced; may be NULL */
    const char *jaeger; /* host:port of this node's Jaeger API, announced; may be NULL */
} cluster_consumer_options;

/* Joins the group (cooperative-sticky) and starts the consuming thread. Returns
 * OTTR_OK, OTTR_ERR_INVALID (why in |err|), OTTR_ERR_NOMEM or
 * OTTR_ERR_INTERNAL (no thread). */
ottr_status cluster_consumer_start(const cluster_consumer_options *o, cluster_consumer **out,
                                   char *err, size_t errlen);
/* The partitions this node owns now into |parts| (up to |cap|); returns how
 * many it owns. Thread-safe. */
size_t cluster_consumer_partitions(cluster_consumer *c, int32_t *parts, size_t cap);
/* Commits what is settled, leaves the group (its partitions go to the other
 * nodes), stops the thread and frees. Call before sampler_stop(): traces still
 * undecided are replayed by the partitions' next owners. */
void cluster_consumer_stop(cluster_consumer *c);

/* ---- offsets to commit (offsets.c): not thread-safe, the consumer's own ---- */

/* Per partition, the records handed to the sampler, as runs of offsets that
 * arrived in the same second. A partition's commit point is the first offset
 * of its oldest run not yet settled, or past the last record when all are. */
typedef struct cluster_offsets cluster_offsets;

cluster_offsets *cluster_offsets_new(void);
void cluster_offsets_free(cluster_offsets *t);
/* Starts tracking |part| afresh (assigned). Returns 0 or -1 (out of memory). */
int cluster_offsets_assign(cluster_offsets *t, int32_t part);
/* Forgets |part| (revoked). */
void cluster_offsets_revoke(cluster_offsets *t, int32_t part);
/* Notes the record |offset| of |part| submitted in second |sec| (0: nothing to
 * wait for). Offsets of a partition come in increasing order. Returns 0, or -1
 * when out of memory or |part| is not assigned (the record is then not
 * committed past, and will be read again). */
int cluster_offsets_add(cluster_offsets *t, int32_t part, int64_t offset, uint32_t sec);
/* Drops the runs of |part| submitted before |settled_sec| and returns the new
 * commit point when it moved past the last one returned, else -1. */
int64_t cluster_offsets_settle(cluster_offsets *t, int32_t part, uint32_t settled_sec);
/* The partitions tracked, into |parts| (up to |cap|); returns how many. */
size_t cluster_offsets_partitions(const cluster_offsets *t, int32_t *parts, size_t cap);
/* Whether |part| is assigned (tracked). */
bool cluster_offsets_tracked(const cluster_offsets *t, int32_t part);
/* Records of |part| waiting to settle (for tests and metrics). */
uint64_t cluster_offsets_waiting(const cluster_offsets *t, int32_t part);

#endif /* OTTR_CLUSTER_H */
