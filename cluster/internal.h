/* cluster/internal.h - what the files of cluster/ share; private to it. */
#ifndef OTTR_CLUSTER_INTERNAL_H
#define OTTR_CLUSTER_INTERNAL_H

#include <librdkafka/rdkafka.h>

#include "cluster/cluster.h"

#define CLUSTER_COMPONENT "cluster"
/* The record header naming a tenant other than the implicit one. */
#define CLUSTER_TENANT_HEADER "tenant"

/* A librdkafka configuration from |o|: a producer's (acks=all, idempotence,
 * murmur2 partitioning) or a consumer's (the group, cooperative-sticky, manual
 * commits). NULL with why in |err|. The caller owns it until rd_kafka_new(). */
rd_kafka_conf_t *cluster_conf_new(const cluster_kafka_options *o, bool producer, char *err,
                                  size_t errlen);
/* rd_kafka_conf_set with the message in |err|. 0 or -1. */
int cluster_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                     size_t errlen);

#endif /* OTTR_CLUSTER_INTERNAL_H */
