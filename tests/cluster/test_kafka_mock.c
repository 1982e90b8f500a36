/* tests/cluster/test_kafka_mock.c - receivers and store nodes against
 * librdkafka's mock cluster (three brokers on loopback, no real broker):
 * records keyed by trace ID, acknowledged only once Kafka has them, offsets
 * committed only past settled traces, a record taken twice stored once, Kafka
 * down answered as a retryable failure, partitions moving between nodes. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <time.h>

#include "cluster/cluster.h"
#include "tests/sampler/helpers.h"

#define TOPIC   "spans"
#define NPARTS  4
#define NTRACES 20

typedef struct mock {
    rd_kafka_t *host; /* the handle the mock cluster lives in */
    rd_kafka_mock_cluster_t *mc;
    char brokers[256];
} mock;

static void mock_start(mock *m)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)), 0);
    m->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(m->host);
    m->mc = rd_kafka_mock_cluster_new(m->host, 3);
    assert_non_null(m->mc);
    snprintf(m->brokers, sizeof(m->brokers), "%s", rd_kafka_mock_cluster_bootstraps(m->mc));
    assert_int_equal(rd_kafka_mock_topic_create(m->mc, TOPIC, NPARTS, 3), 0);
}

static void mock_stop(mock *m)
{
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->host);
}

static cluster_kafka_options kopts(const mock *m, const char *group)
{
    cluster_kafka_options k = {.brokers = m->brokers,
                               .topic = TOPIC,
                               .group = group,
                               .produce_timeout_ns = 2 * NS_PER_SEC,
                               .commit_interval_ns = 20 * NS_PER_MS,
                               .session_timeout_ns = 6 * NS_PER_SEC};
    return k;
}

static void nap(void)
{
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
}

/* Sends traces first..first+n-1 (two spans each: a root and a child) through
 * |p|, five traces per request. */
static ottr_status produce_traces(cluster_producer *p, uint64_t first, int n)
{
    ottr_arena a;
    ottr_arena_init(&a, 1 << 16, 0);
    ottr_status st = OTTR_OK;
    for (int i = 0; i < n && st == OTTR_OK; i += 5) {
        tspan spans[10];
        size_t k = 0;
        for (int j = i; j < i + 5 && j < n; j++) {
            uint64_t t = first + (uint64_t)j;
            spans[k++] = (tspan){.service = "api",
                                 .trace = t,
                                 .span = 1,
                                 .name = "GET /",
                                 .kind = 2,
                                 .start_ms = 0,
                                 .dur_ms = 10};
            spans[k++] = (tspan){.service = "db",
                                 .trace = t,
                                 .span = 2,
                                 .parent = 1,
                                 .name = "SELECT",
                                 .kind = 3,
                                 .start_ms = 1,
                                 .dur_ms = 5};
        }
        otlp_batch b;
        ottr_arena_reset(&a);
        h_batch(&a, spans, k, &b);
        st = cluster_produce(p, &b);
    }
    ottr_arena_free(&a);
    return st;
}

static cluster_consumer *consumer_start(const mock *m, fx *f, const char *group)
{
    cluster_consumer_options co = {
        .kafka = kopts(m, group), .smp = f->s, .st = f->st, .multitenant = false};
    cluster_consumer *c = NULL;
    char err[512];
    if (cluster_consumer_start(&co, &c, err, sizeof(err)) != OTTR_OK)
        fail_msg("consumer: %s", err);
    return c;
}

/* Waits up to 30 s until |f| has buffered or decided |n| traces. */
static void wait_traces(fx *f, uint64_t n)
{
    for (int i = 0; i < 1500; i++) {
        sampler_stats s = fx_stats(f);
        if (s.traces_buffered + s.kept + s.dropped >= n)
            return;
        nap();
    }
    sampler_stats s = fx_stats(f);
    fail_msg("only %llu of %llu traces arrived",
             (unsigned long long)(s.traces_buffered + s.kept + s.dropped), (unsigned long long)n);
}

/* The group's committed offsets summed over the partitions (-1: none). */
static int64_t committed_sum(const mock *m, const char *group)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", m->brokers, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPARTS);
    for (int i = 0; i < NPARTS; i++)
        rd_kafka_topic_partition_list_add(l, TOPIC, i);
    int64_t sum = -1;
    if (rd_kafka_committed(rk, l, 5000) == 0) {
        for (int i = 0; i < NPARTS; i++)
            if (l->elems[i].offset >= 0)
                sum = (sum < 0 ? 0 : sum) + l->elems[i].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return sum;
}

static void wait_committed(const mock *m, const char *group, int64_t want)
{
    int64_t got = -1;
    for (int i = 0; i < 300; i++) {
        got = committed_sum(m, group);
        if (got == want)
            return;
        nap();
    }
    fail_msg("committed %lld, want %lld", (long long)got, (long long)want);
}

static cluster_producer *producer_start(const mock *m)
{
    cluster_kafka_options k = kopts(m, NULL);
    cluster_producer *p = NULL;
    char err[512];
    if (cluster_producer_start(&k, NULL, &p, err, sizeof(err)) != OTTR_OK)
        fail_msg("producer: %s", err);
    return p;
}

static void settle(fx *f)
{
    g_now += SEC(60);
    sampler_tick(f->s);
}

/* Starts the mock cluster, a node's store and sampler |f| and a producer, and
 * produces NTRACES traces from |first|. */
static cluster_producer *start_with_traces(mock *m, fx *f, uint64_t first)
{
    mock_start(m);
    fx_open(f, NULL, NULL);
    cluster_producer *p = producer_start(m);
    assert_int_equal(produce_traces(p, first, NTRACES), OTTR_OK);
    return p;
}

static void stop_all(mock *m, fx *f, cluster_producer *p)
{
    cluster_producer_stop(p);
    fx_close(f);
    mock_stop(m);
}

/* Acknowledged spans reach the store; offsets commit only once their traces
 * are decided and stored; a record read again (another group) is stored once. */
static void produce_consume_commit(void **state)
{
    (void)state;
    mock m;
    fx f;
    cluster_producer *p = start_with_traces(&m, &f, 1);
    cluster_consumer *c = consumer_start(&m, &f, "g1");
    wait_traces(&f, NTRACES);
    /* Every trace is still undecided: no commit may pass any record. */
    for (int i = 0; i < 10; i++) {
        int64_t sum = committed_sum(&m, "g1");
        assert_true(sum <= 0);
        nap();
    }
    assert_int_equal(fx_stats(&f).kept, 0);
    settle(&f);
    assert_int_equal(fx_stats(&f).kept, NTRACES);
    /* One record per trace: the commits reach the end of every partition. */
    wait_committed(&m, "g1", NTRACES);
    for (uint64_t t = 1; t <= NTRACES; t++)
        assert_int_equal(fx_kept_spans(&f, t), 2);
    cluster_consumer_stop(c);

    /* Another group reads every record again into the same store: the chunks
     * keep their names (the records'), so nothing is stored twice. */
    c = consumer_start(&m, &f, "g2");
    for (int i = 0; i < 1500 && committed_sum(&m, "g2") != NTRACES; i++) {
        nap();
        settle(&f);
    }
    assert_int_equal(committed_sum(&m, "g2"), NTRACES);
    for (uint64_t t = 1; t <= NTRACES; t++)
        assert_int_equal(fx_kept_spans(&f, t), 2);
    cluster_consumer_stop(c);

    stop_all(&m, &f, p);
}

/* Kafka unreachable: the request fails (retry later), it is not acknowledged;
 * once the brokers are back, it goes through. */
static void brokers_down_is_a_retryable_failure(void **state)
{
    (void)state;
    mock m;
    mock_start(&m);
    cluster_producer *p = producer_start(&m);
    assert_int_equal(produce_traces(p, 100, 5), OTTR_OK);
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_down(m.mc, b);
    uint64_t t0 = ottr_mono_ns();
    assert_int_equal(produce_traces(p, 200, 5), OTTR_ERR_IO);
    /* The answer waits for librdkafka's verdict on every record (an answer given
     * earlier could be followed by a late delivery and a duplicate on retry): 2 s
     * of produce timeout, several more on a loaded machine (9 s seen with the
     * test suite running in parallel), never a hang. */
    assert_true(ottr_mono_ns() - t0 < 30 * NS_PER_SEC);
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_up(m.mc, b);
    ottr_status st = OTTR_ERR_IO;
    for (int i = 0; i < 20 && st != OTTR_OK; i++)
        st = produce_traces(p, 300, 5);
    assert_int_equal(st, OTTR_OK);
    cluster_producer_stop(p);
    mock_stop(&m);
}

/* Which node holds trace |t|'s spans, by the partition Kafka's partitioner
 * gives its key. */
static int32_t partition_of_trace(uint64_t t)
{
    uint8_t tid[16];
    id16(t, tid);
    return cluster_partition_of(tid, NPARTS);
}

/* A second store node joins: partitions move to it without a stop (cooperative
 * rebalancing); it reads them from the last commit, so every trace of its
 * partitions is complete in its store. */
static void rebalance_hands_partitions_over(void **state)
{
    (void)state;
    mock m;
    fx a, b;
    cluster_producer *p = start_with_traces(&m, &a, 1);
    cluster_consumer *ca = consumer_start(&m, &a, "g");
    wait_traces(&a, NTRACES);

    /* b's own store and sampler (same fake clock). */
    b.st = NULL;
    {
        uint64_t now = g_now;
        fx_open(&b, NULL, NULL);
        g_now = now;
    }
    cluster_consumer *cb = consumer_start(&m, &b, "g");
    int32_t parts[NPARTS];
    size_t na = 0, nb = 0;
    for (int i = 0; i < 1500; i++) {
        na = cluster_consumer_partitions(ca, parts, NPARTS);
        nb = cluster_consumer_partitions(cb, parts, NPARTS);
        if (na + nb == NPARTS && nb > 0 && na > 0)
            break;
        nap();
    }
    assert_int_equal(na + nb, NPARTS);
    assert_true(na > 0 && nb > 0);
    nb = cluster_consumer_partitions(cb, parts, NPARTS);
    uint64_t expect_b = 0;
    for (uint64_t t = 1; t <= NTRACES; t++)
        for (size_t i = 0; i < nb; i++)
            expect_b += partition_of_trace(t) == parts[i];
    wait_traces(&b, expect_b);
    settle(&a);
    settle(&b);
    /* Every trace of b's partitions is whole in b's store. */
    for (uint64_t t = 1; t <= NTRACES; t++)
        for (size_t i = 0; i < nb; i++)
            if (partition_of_trace(t) == parts[i])
                assert_int_equal(fx_kept_spans(&b, t), 2);
    wait_committed(&m, "g", NTRACES);
    cluster_consumer_stop(cb);
    cluster_consumer_stop(ca);
    fx_close(&b);
    stop_all(&m, &a, p);
}

static double consumed_records(void)
{
    char *m = h_metrics();
    double v = h_metric(m, "ottr_kafka_consumed_records_total");
    free(m);
    return v;
}

/* The same records read twice before their traces are decided (two groups into
 * one node here; a partition that comes back, or a restart, in practice): the
 * trace is kept once, its spans counted once. */
static void read_twice_before_decision_counts_once(void **state)
{
    (void)state;
    mock m;
    fx f;
    cluster_producer *p = start_with_traces(&m, &f, 500);
    double before = consumed_records();
    cluster_consumer *c1 = consumer_start(&m, &f, "twice-1");
    cluster_consumer *c2 = consumer_start(&m, &f, "twice-2");
    for (int i = 0; i < 1500 && consumed_records() < before + 2 * NTRACES; i++)
        nap();
    assert_true(consumed_records() >= before + 2 * NTRACES);
    assert_int_equal(fx_stats(&f).kept, 0);
    settle(&f);
    assert_int_equal(fx_stats(&f).kept, NTRACES);
    for (uint64_t t = 500; t < 500 + NTRACES; t++)
        assert_int_equal(fx_kept_spans(&f, t), 2);
    cluster_consumer_stop(c2);
    cluster_consumer_stop(c1);
    stop_all(&m, &f, p);
}

/* A tenant's spans travel under its name (record header "tenant") and land in
 * that tenant of the store node, whatever number the node gives the name. */
static void tenants_travel_by_name(void **state)
{
    (void)state;
    mock m;
    mock_start(&m);
    fx r, s;
    fx_open(&r, NULL, NULL); /* the receiver's store: its tenant registry */
    fx_open(&s, NULL, NULL);
    uint32_t other, acme;
    /* Different numbers on each side for the same name. */
    assert_int_equal(store_tenant_id(s.st, "other", 5, true, &other), OTTR_OK);
    assert_int_equal(store_tenant_id(r.st, "acme", 4, true, &acme), OTTR_OK);
    cluster_kafka_options k = kopts(&m, NULL);
    cluster_producer *p = NULL;
    char err[512];
    assert_int_equal(cluster_producer_start(&k, r.st, &p, err, sizeof(err)), OTTR_OK);
    tspan spans[] = {{.service = "api", .trace = 77, .span = 1, .name = "GET /", .dur_ms = 3}};
    otlp_batch b;
    ottr_arena_reset(&r.arena);
    h_batch(&r.arena, spans, 1, &b);
    b.tenant = acme;
    assert_int_equal(cluster_produce(p, &b), OTTR_OK);
    cluster_consumer_options co = {
        .kafka = kopts(&m, "gt"), .smp = s.s, .st = s.st, .multitenant = true};
    cluster_consumer *c = NULL;
    assert_int_equal(cluster_consumer_start(&co, &c, err, sizeof(err)), OTTR_OK);
    wait_traces(&s, 1);
    settle(&s);
    uint32_t there;
    assert_int_equal(store_tenant_id(s.st, "acme", 4, false, &there), OTTR_OK);
    assert_int_not_equal(there, acme);
    uint8_t tid[16];
    id16(77, tid);
    store_trace_summary sum;
    assert_int_equal(store_get_summary(store_view_of(s.st, there), tid, &sum), OTTR_OK);
    assert_int_equal(store_get_summary(store_view_of(s.st, STORE_TENANT_DEFAULT), tid, &sum),
                     OTTR_ERR_NOTFOUND);
    cluster_consumer_stop(c);
    cluster_producer_stop(p);
    fx_close(&s);
    fx_close(&r);
    mock_stop(&m);
}

/* A store node stopped while it is still joining the group stops cleanly. */
static void stop_while_joining(void **state)
{
    (void)state;
    mock m;
    mock_start(&m);
    fx f;
    fx_open(&f, NULL, NULL);
    for (int i = 0; i < 3; i++)
        cluster_consumer_stop(consumer_start(&m, &f, "joining"));
    fx_close(&f);
    mock_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(produce_consume_commit),
        cmocka_unit_test(brokers_down_is_a_retryable_failure),
        cmocka_unit_test(rebalance_hands_partitions_over),
        cmocka_unit_test(tenants_travel_by_name),
        cmocka_unit_test(read_twice_before_decision_counts_once),
        cmocka_unit_test(stop_while_joining),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
