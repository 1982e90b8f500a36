/* cluster/kafka.c - what the producer and the consumer share: librdkafka
 * configuration from the kafka.* options, its log lines in Ottr's log, and the
 * partition a trace ID maps to. */
#include <stdio.h>
#include <string.h>

#include "cluster/internal.h"

int32_t cluster_partition_of(const uint8_t trace_id[16], int32_t npartitions)
{
    /* Kafka's murmur2 (as its Java client computes it), over the 16-byte key. */
    const uint32_t m = 0x5bd1e995u;
    uint32_t h = 0x9747b28cu ^ 16u;
    for (int i = 0; i < 16; i += 4) {
        uint32_t k = (uint32_t)trace_id[i] | (uint32_t)trace_id[i + 1] << 8 |
                     (uint32_t)trace_id[i + 2] << 16 | (uint32_t)trace_id[i + 3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return npartitions > 0 ? (int32_t)((h & 0x7fffffffu) % (uint32_t)npartitions) : 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* syslog levels: 0-3 errors, 4 warnings, 5-6 notices and info, 7 debug. */
    ottr_log_level l = level <= 3   ? OTTR_LOG_ERROR
                       : level == 4 ? OTTR_LOG_WARN
                       : level <= 6 ? OTTR_LOG_INFO
                                    : OTTR_LOG_DEBUG;
    ottr_log(l, "kafka", "%s: %s", fac, buf);
}

int cluster_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                     size_t errlen)
{
    char why[256];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka setting %s=%s: %s", name, value, why);
        return -1;
    }
    return 0;
}

static int set_ms(rd_kafka_conf_t *conf, const char *name, uint64_t ns, char *err, size_t errlen)
{
    char v[32];
    snprintf(v, sizeof(v), "%llu", (unsigned long long)(ns / 1000000u));
    return cluster_conf_set(conf, name, v, err, errlen);
}

rd_kafka_conf_t *cluster_conf_new(const cluster_kafka_options *o, bool producer, char *err,
                                  size_t errlen)
{
    if (o->brokers == NULL || o->brokers[0] == '\0' || o->topic == NULL || o->topic[0] == '\0') {
        snprintf(err, errlen, "kafka.brokers and kafka.topic must be set");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    int bad =
        cluster_conf_set(conf, "bootstrap.servers", o->brokers, err, errlen) ||
        cluster_conf_set(conf, "client.id", o->client_id ? o->client_id : "ottrd", err, errlen);
    if (!bad && producer) {
        /* Durable before acknowledged: every in-sync replica has the record, and
         * a retried send is not written twice. */
        bad = cluster_conf_set(conf, "enable.idempotence", "true", err, errlen) ||
              cluster_conf_set(conf, "acks", "all", err, errlen) ||
              cluster_conf_set(conf, "partitioner", "murmur2_random", err, errlen) ||
              cluster_conf_set(conf, "linger.ms", "2", err, errlen) ||
              set_ms(conf, "message.timeout.ms", o->produce_timeout_ns, err, errlen);
    } else if (!bad) {
        bad = cluster_conf_set(conf, "group.id", o->group, err, errlen) ||
              cluster_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", err,
                               errlen) ||
              cluster_conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
              cluster_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
              cluster_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
              /* Where the brokers allow it, the topic is made with their defaults. */
              cluster_conf_set(conf, "allow.auto.create.topics", "true", err, errlen) ||
              set_ms(conf, "session.timeout.ms", o->session_timeout_ns, err, errlen) ||
              set_ms(conf, "heartbeat.interval.ms", o->session_timeout_ns / 5, err, errlen);
    }
    if (bad) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}
