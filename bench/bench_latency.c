/*
 * bench_latency.c - end-to-end latency of sluice (MQTT in, Redis out) and of its two
 * neighbours alone, sent open-loop and recorded in an HDR-style histogram (issue 11).
 *
 * A publisher sends events at a fixed rate: event i is due at t0 + i / rate and is sent at
 * that moment, never waiting for replies or acknowledgements (open loop). When it falls
 * behind it sends at once, and latency is still measured from the due time, so a stall
 * shows as the latency every queued event really saw (no coordinated omission). Payload:
 *   {"device":"d-17","sent":<due time, us since the epoch>,"ts":<due time, ms>}
 *
 * Modes (what is measured, from the due time to the moment a subscriber has the row):
 *   engine   MQTT publish (QoS 0) -> mosquitto -> sluice -> Redis PUBLISH -> subscriber.
 *            Two queries of bench/run.sh's latency job are read at once:
 *            channel lat:e, per-event rows {"device":…,"sent":…}: event -> Redis;
 *            channel lat:w, TUMBLE(1 s) rows {"device":…,"window_end":…}: window close ->
 *            Redis, measured from the due time of the event that closed the window (the
 *            first event with ts >= window_end; its watermark is what fires the window).
 *   file     as engine, but the events are appended as lines to a file (--file PATH) that
 *            sluice's file source follows: sluice without a broker in front. Events already
 *            due are written with one write() when the publisher is about to wait (as a
 *            logger's buffer would); their latency still counts from each one's due time.
 *   redis    the same payloads PUBLISHed straight to Redis on a raw socket (replies are
 *            read by another thread and dropped): Redis's own latency, the reference.
 *   mqtt     the same payloads through mosquitto to a libmosquitto subscriber: the broker
 *            hop alone.
 *
 * Histogram: values in microseconds; exact below 128 us, then 64 sub-buckets per power of
 * two (≤ 1.6 % relative error, as HdrHistogram with 2 significant digits); percentiles are
 * reported as the upper edge of their bucket.
 *
 *   bench_latency MODE --rate N --seconds S [--redis PORT] [--mqtt PORT] [--keys K]
 *                 [--file PATH]
 *   --rate 0 sends as fast as possible (to find the maximum sustainable rate: the rate at
 *   which rows come out, printed as recv_per_s).
 * Output: one line per measured stream, e.g.
 *   stream=event sent=… recv=… recv_per_s=… p50_us=… p99_us=… p999_us=… max_us=…
 */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NBUCKETS (128 + 64 * 40)
#define MAXWIN   4096

struct hist {
    uint64_t c[NBUCKETS];
    uint64_t n, max;
};

static int hist_index(uint64_t v)
{
    if (v < 128) {
        return (int)v;
    }
    int e = 63 - __builtin_clzll(v); /* >= 7 */
    int sub = (int)((v >> (e - 6)) & 63);
    int i = 128 + (e - 7) * 64 + sub;
    return i < NBUCKETS ? i : NBUCKETS - 1;
}

static uint64_t hist_upper(int i)
{
    if (i < 128) {
        return (uint64_t)i;
    }
    int e = (i - 128) / 64 + 7, sub = (i - 128) % 64;
    return ((uint64_t)(64 + sub + 1) << (e - 6)) - 1;
}

static void hist_add(struct hist *h, int64_t v)
{
    uint64_t u = v < 0 ? 0 : (uint64_t)v;
    h->c[hist_index(u)]++;
    h->n++;
    if (u > h->max) {
        h->max = u;
    }
}

static uint64_t hist_pct(const struct hist *h, double q)
{
    uint64_t want = (uint64_t)(q * (double)h->n), seen = 0;
    if (want >= h->n && h->n > 0) {
        want = h->n - 1;
    }
    for (int i = 0; i < NBUCKETS; i++) {
        seen += h->c[i];
        if (seen > want) {
            return hist_upper(i) < h->max ? hist_upper(i) : h->max;
        }
    }
    return h->max;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

enum mode { M_ENGINE, M_REDIS, M_MQTT, M_FILE };

static enum mode mode;
static double rate;
static double seconds = 5;
static int redis_port = 6379, mqtt_port = 1883, keys = 100;
static _Atomic int64_t close_us[MAXWIN]; /* due time of the first event of second w */
static int64_t base_s;                   /* first second of the run */
static _Atomic uint64_t sent;
static _Atomic bool pub_done;
static int64_t t_first_recv, t_last_recv, t_start, t_end;
static int64_t warm_until; /* rows of events due before this are not recorded */
static struct hist h_event, h_window;
static uint64_t n_event, n_window;
static pthread_mutex_t hmu = PTHREAD_MUTEX_INITIALIZER;

static int64_t field(const char *s, size_t len, const char *name)
{
    char pat[32];
    snprintf(pat, sizeof(pat), "\"%s\":", name);
    const char *p = memmem(s, len, pat, strlen(pat));
    if (p == NULL) {
        return -1;
    }
    return strtoll(p + strlen(pat), NULL, 10);
}

/* One row arrived at t: record it. */
static void on_row(const char *chan, const char *msg, size_t len, int64_t t)
{
    pthread_mutex_lock(&hmu);
    if (t_first_recv == 0) {
        t_first_recv = t;
    }
    t_last_recv = t;
    if (strncmp(chan, "lat:w", 5) == 0) {
        int64_t we = field(msg, len, "window_end");
        int64_t w = we / 1000 - base_s;
        n_window++;
        if (w >= 0 && w < MAXWIN) {
            int64_t c = atomic_load(&close_us[w]);
            if (c > 0 && c >= warm_until) {
                hist_add(&h_window, t - c);
            }
        }
    } else {
        int64_t s = field(msg, len, "sent");
        n_event++;
        if (s >= warm_until) {
            hist_add(&h_event, t - s);
        }
    }
    pthread_mutex_unlock(&hmu);
}

/* ---- publishers ---- */

static struct mosquitto *mq_pub;
static int redis_fd = -1;
static int file_fd = -1;

/* Writes all of p, or exits: an open-loop sender has nothing to retry with. */
static void write_all(int fd, const char *p, size_t m, const char *what)
{
    while (m > 0) {
        ssize_t r = write(fd, p, m);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            fprintf(stderr, "bench_latency: write to %s: %s\n", what, strerror(errno));
            exit(1);
        }
        p += r;
        m -= (size_t)r;
    }
}

static void *drain_replies(void *arg)
{
    (void)arg;
    char buf[65536];
    while (read(redis_fd, buf, sizeof(buf)) > 0) {
    }
    return NULL;
}

/* File mode: the lines of events already due, written together when the publisher is about
 * to wait for the next one (an appending logger's buffer; latency still counts from each
 * event's due time). */
static char fbuf[65536];
static size_t fbuf_len;

static void flush_file(void)
{
    write_all(file_fd, fbuf, fbuf_len, "the file");
    fbuf_len = 0;
}

static void send_one(uint64_t i, int64_t due_us)
{
    char payload[160], topic[64];
    int k = (int)(i % (uint64_t)keys);
    int n = snprintf(payload, sizeof(payload), "{\"device\":\"d-%d\",\"sent\":%lld,\"ts\":%lld}", k,
                     (long long)due_us, (long long)(due_us / 1000));
    int64_t w = due_us / 1000000 - base_s;
    if (w >= 0 && w < MAXWIN && atomic_load(&close_us[w]) == 0) {
        atomic_store(&close_us[w], due_us);
    }
    if (mode == M_REDIS) {
        char cmd[256];
        int m = snprintf(cmd, sizeof(cmd), "*3\r\n$7\r\nPUBLISH\r\n$5\r\nlat:e\r\n$%d\r\n%s\r\n", n,
                         payload);
        write_all(redis_fd, cmd, (size_t)m, "redis");
    } else if (mode == M_FILE) {
        if (fbuf_len + (size_t)n + 1 > sizeof(fbuf)) {
            flush_file();
        }
        memcpy(fbuf + fbuf_len, payload, (size_t)n);
        fbuf[fbuf_len + (size_t)n] = '\n';
        fbuf_len += (size_t)n + 1;
    } else {
        snprintf(topic, sizeof(topic), "lat/d-%d", k);
        int rc = mosquitto_publish(mq_pub, NULL, topic, n, payload, 0, false);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "bench_latency: publish: %s\n", mosquitto_strerror(rc));
            exit(1);
        }
    }
}

static void *publisher(void *arg)
{
    (void)arg;
    uint64_t total = rate > 0 ? (uint64_t)(rate * seconds) : UINT64_MAX;
    int64_t t0 = now_us();
    t_start = t0;
    for (uint64_t i = 0; i < total; i++) {
        int64_t due;
        if (rate > 0) {
            due = t0 + (int64_t)((double)i * 1e6 / rate);
            int64_t d = due - now_us();
            if (d > 0 && fbuf_len > 0) {
                flush_file();
                d = due - now_us();
            }
            if (d > 0) {
                struct timespec ts = {.tv_sec = d / 1000000, .tv_nsec = (d % 1000000) * 1000};
                nanosleep(&ts, NULL);
            }
        } else {
            due = now_us();
            if (due - t0 >= (int64_t)(seconds * 1e6)) {
                break;
            }
        }
        send_one(i, due);
        atomic_fetch_add(&sent, 1);
    }
    if (fbuf_len > 0) {
        flush_file();
    }
    t_end = now_us();
    atomic_store(&pub_done, true);
    return NULL;
}

/* ---- subscribers ---- */

static void mqtt_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    (void)m;
    (void)ud;
    on_row("lat:e", msg->payload, (size_t)msg->payloadlen, now_us());
}

static int redis_connect_fd(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)redis_port)};
    a.sin_addr.s_addr = htonl(0x7f000001);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("bench_latency: connect to redis");
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_latency engine|file|redis|mqtt --rate N --seconds S "
                        "[--redis PORT] [--mqtt PORT] [--keys K] [--file PATH]\n");
        return 2;
    }
    mode = strcmp(argv[1], "redis") == 0  ? M_REDIS
           : strcmp(argv[1], "mqtt") == 0 ? M_MQTT
           : strcmp(argv[1], "file") == 0 ? M_FILE
                                          : M_ENGINE;
    const char *file_path = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rate") == 0) {
            rate = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--seconds") == 0) {
            seconds = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--redis") == 0) {
            redis_port = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--mqtt") == 0) {
            mqtt_port = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--keys") == 0) {
            keys = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--file") == 0) {
            file_path = argv[i + 1];
        }
    }
    base_s = now_us() / 1000000;
    warm_until = now_us() + 1000000; /* the first second warms up connections and caches */
    mosquitto_lib_init();

    /* Subscriber first. */
    redisContext *sub = NULL;
    struct mosquitto *mq_sub = NULL;
    if (mode == M_MQTT) {
        mq_sub = mosquitto_new(NULL, true, NULL);
        mosquitto_message_callback_set(mq_sub, mqtt_on_message);
        if (mosquitto_connect(mq_sub, "127.0.0.1", mqtt_port, 30) != MOSQ_ERR_SUCCESS ||
            mosquitto_subscribe(mq_sub, NULL, "lat/#", 0) != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "bench_latency: cannot subscribe on mqtt port %d\n", mqtt_port);
            return 1;
        }
        mosquitto_loop_start(mq_sub);
    } else {
        sub = redisConnect("127.0.0.1", redis_port);
        if (sub == NULL || sub->err) {
            fprintf(stderr, "bench_latency: cannot connect to redis port %d\n", redis_port);
            return 1;
        }
        redisReply *r = redisCommand(sub, "PSUBSCRIBE lat:*");
        freeReplyObject(r);
    }
    if (mode == M_REDIS) {
        redis_fd = redis_connect_fd();
        pthread_t d;
        pthread_create(&d, NULL, drain_replies, NULL);
        pthread_detach(d);
    } else if (mode == M_FILE) {
        file_fd = file_path == NULL ? -1 : open(file_path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (file_fd < 0) {
            fprintf(stderr, "bench_latency: file mode needs --file PATH of an existing file\n");
            return 1;
        }
    } else {
        mq_pub = mosquitto_new(NULL, true, NULL);
        if (mosquitto_connect(mq_pub, "127.0.0.1", mqtt_port, 30) != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "bench_latency: cannot connect to mqtt port %d\n", mqtt_port);
            return 1;
        }
        mosquitto_loop_start(mq_pub);
    }
    usleep(200000); /* subscriptions in place */
    warm_until = now_us() + 1000000;
    pthread_t pt;
    pthread_create(&pt, NULL, publisher, NULL);

    /* Read until the publisher is done and nothing arrived for 3 s (the last windows close
     * on the engine's once-a-second marker). The Redis subscriber polls its socket itself:
     * a stall of the engine (or of a busy machine) is a latency to record, not an error. */
    int64_t quiet_since = 0;
    for (;;) {
        bool got = false;
        if (sub != NULL) {
            void *rp = NULL;
            while (redisGetReplyFromReader(sub, &rp) == REDIS_OK && rp != NULL) {
                redisReply *r = rp;
                if (r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
                    on_row(r->element[2]->str, r->element[3]->str, r->element[3]->len, now_us());
                }
                freeReplyObject(r);
                rp = NULL;
                got = true;
            }
            struct pollfd pfd = {.fd = sub->fd, .events = POLLIN};
            if (poll(&pfd, 1, 100) > 0) {
                if (redisBufferRead(sub) != REDIS_OK) {
                    fprintf(stderr, "bench_latency: redis subscriber: %s\n", sub->errstr);
                    return 1;
                }
                continue;
            }
        } else {
            usleep(100000);
            pthread_mutex_lock(&hmu);
            got = t_last_recv > quiet_since && quiet_since != 0;
            pthread_mutex_unlock(&hmu);
        }
        if (!atomic_load(&pub_done)) {
            continue;
        }
        if (got || quiet_since == 0) {
            quiet_since = now_us();
        } else if (now_us() - quiet_since > 3000000) {
            break;
        }
    }
    pthread_join(pt, NULL);
    double span = (double)(t_last_recv - t_first_recv) / 1e6;
    double send_span = (double)(t_end - t_start) / 1e6;
    struct {
        const char *name;
        struct hist *h;
        uint64_t n;
    } st[2] = {{"event", &h_event, n_event}, {"window", &h_window, n_window}};
    for (int i = 0; i < (mode == M_ENGINE || mode == M_FILE ? 2 : 1); i++) {
        printf("stream=%s mode=%s rate=%.0f sent=%llu sent_per_s=%.0f recv=%llu recv_per_s=%.0f "
               "measured=%llu p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu\n",
               st[i].name, argv[1], rate, (unsigned long long)atomic_load(&sent),
               (double)atomic_load(&sent) / send_span, (unsigned long long)st[i].n,
               span > 0 ? (double)st[i].n / span : 0.0, (unsigned long long)st[i].h->n,
               (unsigned long long)hist_pct(st[i].h, 0.50),
               (unsigned long long)hist_pct(st[i].h, 0.99),
               (unsigned long long)hist_pct(st[i].h, 0.999), (unsigned long long)st[i].h->max);
    }
    return 0;
}
