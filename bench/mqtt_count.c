/*
 * mqtt_count.c - the reference for bench/bench_mqtt.sh: a minimal libmosquitto subscriber
 * that only counts. MQTT 5, QoS 1, Receive Maximum 100, clean start (as Sluice's source but
 * without parsing anything). Prints "ready" once subscribed, then, after N messages, the
 * milliseconds from the first to the N-th message (messages on bench/warm are not counted).
 *
 * usage: mqtt_count HOST PORT TOPIC N
 */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long want, got;
static double t_first;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *q)
{
    (void)m;
    (void)ud;
    (void)mid;
    (void)n;
    (void)q;
    printf("ready\n");
    fflush(stdout);
}

static void on_connect(struct mosquitto *m, void *ud, int rc, int flags,
                       const mosquitto_property *p)
{
    (void)flags;
    (void)p;
    if (rc != 0) {
        fprintf(stderr, "connect refused: %d\n", rc);
        exit(1);
    }
    mosquitto_subscribe(m, NULL, (const char *)ud, 1);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
                       const mosquitto_property *p)
{
    (void)ud;
    (void)p;
    if (strcmp(msg->topic, "bench/warm") == 0) {
        return; /* warm-up messages are not counted */
    }
    if (got++ == 0) {
        t_first = now_ms();
    }
    if (got == want) {
        printf("%ld messages in %.1f ms (first to last)\n", got, now_ms() - t_first);
        fflush(stdout);
        mosquitto_disconnect(m);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mqtt_count HOST PORT TOPIC N\n");
        return 2;
    }
    want = atol(argv[4]);
    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new(NULL, true, argv[3]);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 100);
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_subscribe_callback_set(m, on_subscribe);
    mosquitto_message_v5_callback_set(m, on_message);
    if (mosquitto_connect(m, argv[1], atoi(argv[2]), 30) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "cannot connect\n");
        return 1;
    }
    mosquitto_loop_forever(m, -1, 1);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    return got == want ? 0 : 1;
}
