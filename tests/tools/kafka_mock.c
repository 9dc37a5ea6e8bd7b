/*
 * kafka_mock.c - a Kafka cluster for tests: librdkafka's mock cluster (3 brokers speaking the
 * real protocol on loopback ports, with consumer groups and committed offsets and their
 * metadata) driven by commands on stdin, one per line, each answered on stdout by "ok" or
 * "error <why>" once done:
 *
 *   topic <name> <partitions>          create a topic (replication factor 1)
 *   down <broker> / up <broker>        take broker 1..3 down (connections closed) or up
 *   err <api-key> <count> <code>...    the next <count> requests of that API (1 Fetch,
 *                                      3 Metadata, 8 OffsetCommit, 9 OffsetFetch, ...) fail
 *                                      with the given Kafka error codes in turn
 *   topic_err <name> <code>            Metadata answers <code> for that topic (0 clears)
 *   rtt <broker> <ms>                  delay the broker's responses
 *   quit                               exit (so does end of input)
 *
 * The first line written is "bootstrap <host:port,...>". The cluster lives as long as the
 * process: committed offsets survive consumers being killed and restarted.
 *
 * usage: kafka_mock [brokers]
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int nbrokers = argc > 1 ? atoi(argv[1]) : 3;
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nbrokers);
    if (mc == NULL) {
        fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
        return 1;
    }
    printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[4096];
    while (fgets(line, sizeof(line), stdin) != NULL) {
        char cmd[64] = "", name[256] = "";
        int a = 0, b = 0, n = 0;
        const char *why = NULL;
        if (sscanf(line, "%63s", cmd) != 1) {
            continue;
        }
        if (strcmp(cmd, "topic") == 0 && sscanf(line, "%*s %255s %d", name, &a) == 2) {
            if (rd_kafka_mock_topic_create(mc, name, a, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                why = "cannot create the topic";
            }
        } else if (strcmp(cmd, "topic_err") == 0 && sscanf(line, "%*s %255s %d", name, &a) == 2) {
            rd_kafka_mock_topic_set_error(mc, name, (rd_kafka_resp_err_t)a);
        } else if (strcmp(cmd, "down") == 0 && sscanf(line, "%*s %d", &a) == 1) {
            rd_kafka_mock_broker_set_down(mc, a);
        } else if (strcmp(cmd, "up") == 0 && sscanf(line, "%*s %d", &a) == 1) {
            rd_kafka_mock_broker_set_up(mc, a);
        } else if (strcmp(cmd, "rtt") == 0 && sscanf(line, "%*s %d %d", &a, &b) == 2) {
            rd_kafka_mock_broker_set_rtt(mc, a, b);
        } else if (strcmp(cmd, "err") == 0 && sscanf(line, "%*s %d %d%n", &a, &b, &n) >= 2) {
            rd_kafka_resp_err_t errs[64];
            int cnt = 0, used = 0, code;
            const char *p = line + n;
            while (cnt < 64 && sscanf(p, "%d%n", &code, &used) == 1) {
                errs[cnt++] = (rd_kafka_resp_err_t)code;
                p += used;
            }
            if (cnt == 0 || b <= 0) {
                why = "usage: err <api-key> <count> <code>...";
            } else {
                /* count requests, cycling through the codes given */
                rd_kafka_resp_err_t *all = calloc((size_t)b, sizeof(*all));
                for (int i = 0; all != NULL && i < b; i++) {
                    all[i] = errs[i % cnt];
                }
                if (all != NULL) {
                    rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)b, all);
                }
                free(all);
            }
        } else if (strcmp(cmd, "quit") == 0) {
            break;
        } else {
            why = "unknown command";
        }
        if (why != NULL) {
            printf("error %s\n", why);
        } else {
            printf("ok\n");
        }
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
