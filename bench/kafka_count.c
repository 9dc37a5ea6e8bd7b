/*
 * kafka_count.c - the reference for bench/bench_kafka.sh: a bare librdkafka consumer loop that
 * drains a topic from its beginning (in a fresh consumer group, as Sluice does) and reports
 * how fast. It touches each payload (sums its bytes' length) and does nothing else.
 *
 * usage: kafka_count BROKERS TOPIC MESSAGES
 * prints: messages=<n> bytes=<n> seconds=<s> rate=<msgs/s>  (timed from the first message)
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double t_assign;

/* Takes the assignment as librdkafka would, noting when: the rate is timed from here, as
 * Sluice's is (bench_kafka.sh), so that neither side is credited with what was prefetched
 * before its first message was counted. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (t_assign == 0) {
            t_assign = now_s();
        }
        rd_kafka_assign(rk, parts);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: kafka_count BROKERS TOPIC MESSAGES [name=value]...\n");
        return 2;
    }
    long long want = atoll(argv[3]), got = 0, bytes = 0;
    char errstr[512], group[64];
    snprintf(group, sizeof(group), "kafka-count-%d", (int)getpid());
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr))) {
        fprintf(stderr, "kafka_count: %s\n", errstr);
        return 1;
    }
    for (int i = 4; i < argc; i++) {
        char name[256];
        const char *eq = strchr(argv[i], '=');
        if (eq == NULL || (size_t)(eq - argv[i]) >= sizeof(name)) {
            fprintf(stderr, "kafka_count: %s: expected name=value\n", argv[i]);
            return 2;
        }
        memcpy(name, argv[i], (size_t)(eq - argv[i]));
        name[eq - argv[i]] = '\0';
        if (rd_kafka_conf_set(conf, name, eq + 1, errstr, sizeof(errstr))) {
            fprintf(stderr, "kafka_count: %s\n", errstr);
            return 1;
        }
    }
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kafka_count: %s\n", errstr);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, argv[2], RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    double deadline = now_s() + 600;
    while (got < want && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            got++;
            bytes += (long long)m->len;
        }
        rd_kafka_message_destroy(m);
    }
    double secs = now_s() - t_assign;
    printf("messages=%lld bytes=%lld seconds=%.3f rate=%.0f\n", got, bytes, secs,
           secs > 0 ? (double)got / secs : 0.0);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return got == want ? 0 : 1;
}
