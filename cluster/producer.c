/* cluster/producer.c - the receivers' side: each request's traces become one
 * Kafka record each, keyed by trace ID, and the request is acknowledged only
 * once Kafka has acknowledged all of them (acks=all, idempotent producer). A
 * thread serves librdkafka's delivery reports. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/internal.h"

struct cluster_producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    store *st; /* tenant names; may be NULL */
    pthread_t poller;
    atomic_bool stop;
    ottr_counter *m_acked, *m_failed, *m_full;
};

/* One request's records in flight: the delivery reports count them down. */
typedef struct produce_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t remaining;
    rd_kafka_resp_err_t err; /* the first failure */
} produce_wait;

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    cluster_producer *p = opaque;
    produce_wait *w = m->_private;
    ottr_counter_add(m->err ? p->m_failed : p->m_acked, 1);
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    if (m->err && !w->err)
        w->err = m->err;
    if (--w->remaining == 0)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void *poller_main(void *arg)
{
    cluster_producer *p = arg;
    pthread_setname_np(pthread_self(), "ottr-producer");
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 50);
    return NULL;
}

ottr_status cluster_producer_start(const cluster_kafka_options *o, store *st,
                                   cluster_producer **out, char *err, size_t errlen)
{
    *out = NULL;
    cluster_producer *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    p->st = st;
    rd_kafka_conf_t *conf = cluster_conf_new(o, true, err, errlen);
    if (conf == NULL) {
        free(p);
        return OTTR_ERR_INVALID;
    }
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, delivered);
    char why[512];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (p->rk == NULL) {
        snprintf(err, errlen, "kafka producer: %s", why);
        rd_kafka_conf_destroy(conf);
        free(p);
        return OTTR_ERR_INVALID;
    }
    p->rkt = rd_kafka_topic_new(p->rk, o->topic, NULL);
    if (p->rkt == NULL) {
        snprintf(err, errlen, "kafka topic %s: %s", o->topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(p->rk);
        free(p);
        return OTTR_ERR_INVALID;
    }
    static const char help[] = "Span records produced to Kafka, by outcome.";
    p->m_acked = ottr_counter_get("ottr_kafka_produced_records_total", help, "result=\"acked\"");
    p->m_failed = ottr_counter_get("ottr_kafka_produced_records_total", help, "result=\"failed\"");
    p->m_full =
        ottr_counter_get("ottr_kafka_produced_records_total", help, "result=\"queue_full\"");
    atomic_init(&p->stop, false);
    if (pthread_create(&p->poller, NULL, poller_main, p) != 0) {
        snprintf(err, errlen, "cannot start the kafka producer thread");
        rd_kafka_topic_destroy(p->rkt);
        rd_kafka_destroy(p->rk);
        free(p);
        return OTTR_ERR_INTERNAL;
    }
    *out = p;
    return OTTR_OK;
}

/* Sends one record of |w|; returns 0, or librdkafka's error (nothing sent). */
static rd_kafka_resp_err_t send_one(cluster_producer *p, const otlp_trace_group *g,
                                    const char *tenant, produce_wait *w)
{
    rd_kafka_headers_t *h = NULL;
    if (tenant != NULL) {
        h = rd_kafka_headers_new(1);
        if (h == NULL)
            return RD_KAFKA_RESP_ERR__FAIL;
        rd_kafka_header_add(h, CLUSTER_TENANT_HEADER, -1, tenant, (ssize_t)strlen(tenant));
    }
    pthread_mutex_lock(&w->mu);
    w->remaining++;
    pthread_mutex_unlock(&w->mu);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        p->rk, RD_KAFKA_V_RKT(p->rkt), RD_KAFKA_V_KEY(g->trace_id, 16),
        RD_KAFKA_V_VALUE(g->chunk, g->chunk_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(w), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Not taken: the headers are still ours, no report will come. */
        if (h)
            rd_kafka_headers_destroy(h);
        pthread_mutex_lock(&w->mu);
        w->remaining--;
        pthread_mutex_unlock(&w->mu);
    }
    return e;
}

ottr_status cluster_produce(void *producer, const otlp_batch *b)
{
    cluster_producer *p = producer;
    if (b == NULL || b->ngroups == 0)
        return OTTR_OK;
    char name[STORE_TENANT_NAME_MAX + 1];
    const char *tenant = NULL;
    if (b->tenant != STORE_TENANT_DEFAULT) {
        if (p->st == NULL || store_tenant_name(p->st, b->tenant, name, sizeof(name)) != 0)
            return OTTR_ERR_INTERNAL;
        tenant = name;
    }
    produce_wait w = {.remaining = 0, .err = RD_KAFKA_RESP_ERR_NO_ERROR};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    rd_kafka_resp_err_t refused = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (size_t i = 0; i < b->ngroups && !refused; i++)
        refused = send_one(p, &b->groups[i], tenant, &w);
    /* Whatever was taken is waited for: the wait lives on this stack. */
    pthread_mutex_lock(&w.mu);
    while (w.remaining > 0)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    if (refused == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        ottr_counter_add(p->m_full, 1);
        return OTTR_ERR_BUSY;
    }
    if (refused || w.err) {
        OTTR_WARN(CLUSTER_COMPONENT, "spans not acknowledged by kafka: %s",
                  rd_kafka_err2str(refused ? refused : w.err));
        return OTTR_ERR_IO;
    }
    return OTTR_OK;
}

void cluster_producer_stop(cluster_producer *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->poller, NULL);
    /* Reports still due are served here; receivers have stopped by now. */
    rd_kafka_flush(p->rk, 10000);
    rd_kafka_topic_destroy(p->rkt);
    rd_kafka_destroy(p->rk);
    free(p);
}
