/* tests/cluster/mock_kafka.c - librdkafka's mock cluster on loopback for the
 * integration tests: mock_kafka BROKERS TOPIC PARTITIONS FILE starts BROKERS
 * mock brokers with TOPIC (PARTITIONS partitions, replicated on every broker),
 * writes the bootstrap servers to FILE and serves until SIGTERM or SIGINT. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mock_kafka BROKERS TOPIC PARTITIONS FILE\n");
        return 2;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "mock_kafka: %s\n", err);
        return 1;
    }
    int nbrokers = atoi(argv[1]);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nbrokers);
    if (mc == NULL || rd_kafka_mock_topic_create(mc, argv[2], atoi(argv[3]), nbrokers) !=
                          RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "mock_kafka: cannot start the mock cluster\n");
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", argv[4]);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 ||
        fclose(f) != 0 || rename(tmp, argv[4]) != 0) {
        fprintf(stderr, "mock_kafka: cannot write %s\n", argv[4]);
        return 1;
    }
    int sig;
    sigwait(&sigs, &sig);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
