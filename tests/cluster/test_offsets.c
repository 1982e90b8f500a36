/* tests/cluster/test_offsets.c - the commit point of a partition: never past a
 * record whose trace is not settled, past everything once all are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "cluster/cluster.h"

static void commit_waits_for_oldest_unsettled(void **state)
{
    (void)state;
    cluster_offsets *t = cluster_offsets_new();
    assert_non_null(t);
    assert_int_equal(cluster_offsets_assign(t, 3), 0);
    /* Offsets 10..14 in second 100, 15..16 in 101, 17 in 102. */
    for (int64_t o = 10; o < 15; o++)
        assert_int_equal(cluster_offsets_add(t, 3, o, 100), 0);
    assert_int_equal(cluster_offsets_add(t, 3, 15, 101), 0);
    assert_int_equal(cluster_offsets_add(t, 3, 16, 101), 0);
    assert_int_equal(cluster_offsets_add(t, 3, 17, 102), 0);
    assert_int_equal(cluster_offsets_waiting(t, 3), 8);
    /* Nothing settled: the first record read is the commit point. */
    assert_int_equal(cluster_offsets_settle(t, 3, 100), 10);
    assert_int_equal(cluster_offsets_settle(t, 3, 100), -1); /* not moved */
    assert_int_equal(cluster_offsets_settle(t, 3, 101), 15);
    assert_int_equal(cluster_offsets_waiting(t, 3), 3);
    assert_int_equal(cluster_offsets_settle(t, 3, 102), 17);
    assert_int_equal(cluster_offsets_settle(t, 3, 103), 18);
    assert_int_equal(cluster_offsets_waiting(t, 3), 0);
    cluster_offsets_free(t);
}

static void skipped_offsets_and_nothing_to_wait_for(void **state)
{
    (void)state;
    cluster_offsets *t = cluster_offsets_new();
    assert_int_equal(cluster_offsets_assign(t, 0), 0);
    /* A record that is not OTLP (second 0) settles at once. */
    assert_int_equal(cluster_offsets_add(t, 0, 0, 0), 0);
    assert_int_equal(cluster_offsets_settle(t, 0, 1), 1);
    /* Offsets may skip (compaction, transaction markers): 5 follows 1. */
    assert_int_equal(cluster_offsets_add(t, 0, 5, 200), 0);
    assert_int_equal(cluster_offsets_add(t, 0, 9, 201), 0);
    assert_int_equal(cluster_offsets_settle(t, 0, 201), 6);
    assert_int_equal(cluster_offsets_settle(t, 0, 202), 10);
    cluster_offsets_free(t);
}

static void revoked_and_unknown_partitions(void **state)
{
    (void)state;
    cluster_offsets *t = cluster_offsets_new();
    for (int32_t p = 0; p < 20; p++)
        assert_int_equal(cluster_offsets_assign(t, p), 0);
    int32_t parts[32];
    assert_int_equal(cluster_offsets_partitions(t, parts, 32), 20);
    assert_int_equal(cluster_offsets_add(t, 7, 0, 50), 0);
    cluster_offsets_revoke(t, 7);
    assert_int_equal(cluster_offsets_partitions(t, parts, 32), 19);
    assert_int_equal(cluster_offsets_add(t, 7, 1, 50), -1);
    assert_int_equal(cluster_offsets_settle(t, 7, 60), -1);
    /* Assigned again: read from the group's commit, tracked afresh. */
    assert_int_equal(cluster_offsets_assign(t, 7), 0);
    assert_int_equal(cluster_offsets_add(t, 7, 0, 51), 0);
    assert_int_equal(cluster_offsets_settle(t, 7, 60), 1);
    cluster_offsets_free(t);
}

static void many_runs_grow_the_ring(void **state)
{
    (void)state;
    cluster_offsets *t = cluster_offsets_new();
    assert_int_equal(cluster_offsets_assign(t, 1), 0);
    /* Settle half as fast as runs come: the ring wraps and grows. */
    for (int64_t o = 0; o < 1000; o++) {
        assert_int_equal(cluster_offsets_add(t, 1, o, (uint32_t)(1000 + o)), 0);
        if (o % 7 == 0)
            cluster_offsets_settle(t, 1, (uint32_t)(1000 + o / 2));
    }
    assert_int_equal(cluster_offsets_settle(t, 1, 1500), 500);
    assert_int_equal(cluster_offsets_waiting(t, 1), 500);
    assert_int_equal(cluster_offsets_settle(t, 1, 5000), 1000);
    cluster_offsets_free(t);
}

static void partition_of_matches_kafka(void **state)
{
    (void)state;
    /* The partition of a trace ID key is librdkafka's murmur2 (Kafka's Java
     * client's default), for many IDs and partition counts. */
    uint8_t tid[16];
    uint32_t x = 12345;
    for (int n = 0; n < 2000; n++) {
        for (int i = 0; i < 16; i++) {
            x = x * 1103515245u + 12345u;
            tid[i] = (uint8_t)(x >> 16);
        }
        int32_t parts = 1 + n % 48;
        assert_int_equal(cluster_partition_of(tid, parts),
                         rd_kafka_msg_partitioner_murmur2(NULL, tid, 16, parts, NULL, NULL));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commit_waits_for_oldest_unsettled),
        cmocka_unit_test(skipped_offsets_and_nothing_to_wait_for),
        cmocka_unit_test(revoked_and_unknown_partitions),
        cmocka_unit_test(many_runs_grow_the_ring),
        cmocka_unit_test(partition_of_matches_kafka),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
