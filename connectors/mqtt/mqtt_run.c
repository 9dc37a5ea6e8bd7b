/*
 * mqtt_run.c - the MQTT source at run time, on libmosquitto, with its write-ahead log
 * under --state-dir (DESIGN.md, "Delivery guarantees": MQTT).
 *
 * Threads. open() starts a network thread of our own that connects, drives mosquitto_loop()
 * and reconnects with jittered exponential backoff (250 ms doubling to 30 s, each delay drawn
 * in [d/2, d]); libmosquitto is in threaded mode (mosquitto_threaded_set), so the QoS 1 PUBACK
 * is queued during the message callback and written by the next loop pass, after the callback
 * returned. The callback copies each message (topic, payload cut at max_message_bytes + 1,
 * receive time, partition) into an SPSC ring; when the ring is full it waits for space, which
 * delays the PUBACK and, with Receive Maximum, stops the broker sending more (backpressure;
 * keepalives pause meanwhile and the broker may drop the connection, which we survive by
 * reconnecting). The source thread drains the ring in poll() and hands each payload to the
 * engine with meta {topic, partition, offset, arrival}.
 *
 * Partitions are the topic filters, in the order the `topic` option lists them; a message
 * belongs to the first filter that matches its topic. Without --state-dir, offsets count
 * messages per partition from 0 in this process (there is nothing to replay).
 *
 * With --state-dir the callback appends each message to the write-ahead log
 * (<state-dir>/mqtt/<source>/, engine/wal.h) with its receive time and returns; only then
 * does libmosquitto write the PUBACK. When the broker resumes a session (CONNACK's session
 * present), it sends again what it had not seen acknowledged: a QoS 1 message whose packet id,
 * topic and payload equal the newest logged record with that packet id from before the
 * session is such a redelivery and is dropped (engine/wal.h, sl_wal_session). Only the first
 * message of the session with each id is compared: brokers reuse ids, and a new message may
 * carry the same payload as an old one (a sensor sending the same reading). When the log
 * is full (its size bound, or the disk) the callback waits for room: backpressure to the
 * broker. The source thread reads the log instead of the ring; a message's offset is its
 * log position. commit() writes the engine's record (done, and per topic filter the replay
 * start, hi and watermark) to <dir>/commit by write + rename, then truncates the log to the
 * smallest replay start. On start the record is read back and each filter resumes from it:
 * records below a filter's replay start are skipped, those below its hi are replayed.
 * The commit record lives in its own file rather than in the log because the log has one
 * appender, the network thread.
 *
 * Subscriptions are made in the connect callback, once per successful CONNACK: a persistent
 * session keeps them across reconnects, and subscribing again to the same filter replaces the
 * subscription (MQTT 5 section 3.8.4), so there are never duplicates. retained = ignore asks
 * the broker not to send retained messages on subscribe (MQTT 5 retain handling 2) and drops
 * any message that still carries the Retain flag (MQTT 3.1.1 sets it only on that snapshot).
 *
 * Hot path (per message): the callback reserves, copies and commits (no lock, no allocation,
 * a futex wake only when the source thread sleeps); poll() peeks and releases.
 */
#include <errno.h>
#include <stddef.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/conn_util.h"
#include "connectors/mqtt/mqtt_run.h"
#include "engine/log.h"
#include "engine/metrics.h"
#include "engine/ring.h"
#include "engine/testhook.h"
#include "engine/wal.h"
#include "queries/plan.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define DRAIN_MAX      4096 /* messages per poll */
#define RELEASE_EVERY  64   /* give ring space back while draining */

/* A message in the ring: this header, the topic, the payload. */
struct mrec {
    int64_t arrival_ms;
    uint32_t topic_len;
    uint32_t payload_len;
    int32_t partition;
    uint32_t pad;
};

struct msrc {
    const struct sl_source *src;
    struct mosquitto *mosq;
    char host[256];
    int port;
    bool tls, v5, accept_retained;
    int qos, keepalive_s;
    char *client_id;
    char **filters; /* nf, as written */
    char **subs;    /* nf, with $share/<group>/ when shared_group is set */
    int nf;
    mosquitto_property *props; /* CONNECT properties (MQTT 5) */
    size_t max_msg;
    struct sl_ring *ring;
    int64_t *offsets; /* per partition; source thread */

    pthread_t thr;
    bool thr_started;
    atomic_bool closing;
    atomic_bool connected;
    bool ever_connected; /* network thread */
    bool refused;        /* network thread: the last CONNACK refused us */
    uint32_t rng;        /* network thread: backoff jitter */
    struct sl_log_limit lim_fail;

    pthread_mutex_t why_lock; /* guards why and last_err */
    char why[512];            /* why we are not connected */
    char last_err[200];       /* the library's last error log line */

    _Atomic uint64_t n_msgs, n_bytes, n_reconnects, n_retained, n_subscribe_fail;

    /* --state-dir: the write-ahead log, and the record of the last commit */
    struct sl_wal *wal;
    char *commit_path;
    bool fsync;
    bool resumed;          /* source thread: resume calls made */
    int64_t rdone;         /* the record's done */
    int64_t *rstart, *rhi; /* per partition; SL_POS_NONE: no record */
    int64_t *rwm;
    bool *replaying;         /* source thread: below rhi */
    char *tbuf;              /* source thread: NUL-terminated topic */
    atomic_bool wal_blocked; /* the callback waits for room in the log */
    char wal_why[200];       /* under why_lock */
    struct sl_log_limit lim_wal;
    _Atomic uint64_t n_redelivered, n_wal_waits;

    _Alignas(SL_CACHELINE) struct sl_waiter wcons; /* the source thread sleeps here */
    _Alignas(SL_CACHELINE) struct sl_waiter wprod; /* the network thread waits for space */
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    mosquitto_lib_init();
}

/* Single-writer counter bump (the network thread). */
static void bump(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static void set_why(struct msrc *m, const char *prefix, const char *what)
{
    pthread_mutex_lock(&m->why_lock);
    snprintf(m->why, sizeof(m->why), "%s%s", prefix, what);
    pthread_mutex_unlock(&m->why_lock);
}

/* Parses mqtt[s]://host[:port][/] (already checked at load). */
static int parse_url(struct msrc *m, const char *url)
{
    const char *rest = strstr(url, "://");
    if (rest == NULL) {
        return -EINVAL;
    }
    rest += 3;
    m->tls = rest - url == 8; /* "mqtts://" */
    m->port = m->tls ? 8883 : 1883;
    size_t len = strlen(rest);
    if (len > 0 && rest[len - 1] == '/') {
        len--;
    }
    const char *host = rest;
    size_t hlen = len;
    const char *port = NULL;
    if (len > 0 && rest[0] == '[') {
        const char *close = memchr(rest, ']', len);
        if (close == NULL) {
            return -EINVAL;
        }
        host = rest + 1;
        hlen = (size_t)(close - host);
        if ((size_t)(close + 1 - rest) < len && close[1] == ':') {
            port = close + 2;
        }
    } else {
        const char *colon = memchr(rest, ':', len);
        if (colon != NULL) {
            hlen = (size_t)(colon - rest);
            port = colon + 1;
        }
    }
    if (hlen == 0 || hlen >= sizeof(m->host)) {
        return -EINVAL;
    }
    memcpy(m->host, host, hlen);
    m->host[hlen] = '\0';
    if (port != NULL) {
        m->port = atoi(port);
    }
    return 0;
}

static int split_filters(struct msrc *m, const char *topic, const char *group)
{
    int n = 1;
    for (const char *p = topic; *p != '\0'; p++) {
        n += *p == ',';
    }
    m->filters = sl_xcalloc((size_t)n, sizeof(char *));
    m->subs = sl_xcalloc((size_t)n, sizeof(char *));
    const char *cur = topic, *f;
    size_t len;
    for (int i = 0; i < n && sl__conn_list_next(&cur, &f, &len); i++) {
        m->filters[i] = sl_xcalloc(1, len + 1);
        memcpy(m->filters[i], f, len);
        if (group != NULL) {
            size_t cap = len + strlen(group) + 9;
            m->subs[i] = sl_xcalloc(1, cap);
            snprintf(m->subs[i], cap, "$share/%s/%s", group, m->filters[i]);
        } else {
            m->subs[i] = strdup(m->filters[i]);
            if (m->subs[i] == NULL) {
                abort();
            }
        }
        m->nf = i + 1;
    }
    return 0;
}

/* ---- libmosquitto callbacks: network thread ---- */

static void on_log(struct mosquitto *mosq, void *ud, int level, const char *str)
{
    struct msrc *m = ud;
    (void)mosq;
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) {
        pthread_mutex_lock(&m->why_lock);
        snprintf(m->last_err, sizeof(m->last_err), "%s", str);
        pthread_mutex_unlock(&m->why_lock);
    }
}

static void on_connect(struct mosquitto *mosq, void *ud, int rc, int flags,
                       const mosquitto_property *props)
{
    struct msrc *m = ud;
    (void)props;
    if (rc != 0) {
        const char *why = m->v5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc);
        set_why(m, "the broker refused the connection: ", why);
        m->refused = true;
        return;
    }
    int opts = 0;
    if (m->v5 && !m->accept_retained) {
        opts = MQTT_SUB_OPT_SEND_RETAIN_NEVER;
    }
    int r = mosquitto_subscribe_multiple(mosq, NULL, m->nf, m->subs, m->qos, opts, NULL);
    if (r != MOSQ_ERR_SUCCESS) {
        bump(&m->n_subscribe_fail, 1);
        sl_log(SL_LOG_ERROR, "mqtt", "source %s: cannot subscribe: %s", m->src->name,
               mosquitto_strerror(r));
    }
    if (m->ever_connected) {
        bump(&m->n_reconnects, 1);
    }
    m->ever_connected = true;
    if (m->wal != NULL) {
        sl_wal_session(m->wal, (flags & 1) != 0);
    }
    atomic_store(&m->connected, true);
    sl_log(SL_LOG_INFO, "mqtt", "source %s: connected to %s:%d (session %s), %d filter(s)",
           m->src->name, m->host, m->port, (flags & 1) != 0 ? "resumed" : "new", m->nf);
}

static void on_subscribe(struct mosquitto *mosq, void *ud, int mid, int n, const int *granted)
{
    struct msrc *m = ud;
    (void)mosq;
    (void)mid;
    for (int i = 0; i < n; i++) {
        if (granted[i] >= 0x80) {
            bump(&m->n_subscribe_fail, 1);
            sl_log(SL_LOG_ERROR, "mqtt", "source %s: the broker refused subscription '%s' (%s)",
                   m->src->name, i < m->nf ? m->subs[i] : "?", mosquitto_reason_string(granted[i]));
        }
    }
}

static int partition_of(const struct msrc *m, const char *topic)
{
    for (int i = 0; i < m->nf; i++) {
        bool match = false;
        if (mosquitto_topic_matches_sub(m->filters[i], topic, &match) == MOSQ_ERR_SUCCESS &&
            match) {
            return i;
        }
    }
    return 0;
}

/* The log path of the callback: the message is in the log (written, not fsynced unless
 * --fsync) before we return and libmosquitto acknowledges it. */
static void wal_append(struct msrc *m, const struct mosquitto_message *msg, size_t tlen,
                       size_t plen)
{
    const char *topic = msg->topic != NULL ? msg->topic : "";
    uint16_t pid = msg->qos > 0 ? (uint16_t)msg->mid : 0;
    if (pid != 0 && sl_wal_seen(m->wal, pid, topic, tlen, msg->payload, plen)) {
        bump(&m->n_redelivered, 1); /* sent again after a reconnect: already in the log */
        return;
    }
    sl_testhook("mqtt_before_append");
    bool waited = false;
    for (;;) {
        int r = sl_wal_append(m->wal, sl_now_ms(), pid, topic, tlen, msg->payload, plen, NULL);
        if (r == 0 || r == -EMSGSIZE) {
            break;
        }
        /* Full (size bound or disk) or unwritable: hold the PUBACK until there is room. */
        if (!waited) {
            waited = true;
            bump(&m->n_wal_waits, 1);
            atomic_store(&m->wal_blocked, true);
            pthread_mutex_lock(&m->why_lock);
            snprintf(m->wal_why, sizeof(m->wal_why), "the write-ahead log cannot take more: %s",
                     strerror(-r));
            pthread_mutex_unlock(&m->why_lock);
            sl_log_limited(&m->lim_wal, 30, SL_LOG_ERROR, "mqtt",
                           "source %s: the write-ahead log cannot take more (%s); holding the "
                           "broker back until there is room",
                           m->src->name, strerror(-r));
        }
        if (atomic_load(&m->closing)) {
            break;
        }
        sl_wal_wait_space(m->wal, 200);
    }
    if (waited) {
        atomic_store(&m->wal_blocked, false);
        sl_log(SL_LOG_INFO, "mqtt", "source %s: the write-ahead log takes messages again",
               m->src->name);
    }
    sl_testhook("mqtt_after_append");
    sl_waiter_notify(&m->wcons);
    bump(&m->n_msgs, 1);
    bump(&m->n_bytes, (uint64_t)(msg->payloadlen > 0 ? msg->payloadlen : 0));
}

static void on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct msrc *m = ud;
    (void)mosq;
    (void)props;
    if (msg->retain && !m->accept_retained) {
        bump(&m->n_retained, 1);
        return;
    }
    size_t tlen = msg->topic != NULL ? strlen(msg->topic) : 0;
    size_t plen = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    if (plen > m->max_msg) {
        plen = m->max_msg + 1; /* the decoder rejects it as too_large */
    }
    if (m->wal != NULL) {
        wal_append(m, msg, tlen, plen);
        return;
    }
    struct mrec h = {.arrival_ms = sl_now_ms(),
                     .topic_len = (uint32_t)tlen,
                     .payload_len = (uint32_t)plen,
                     .partition = partition_of(m, msg->topic != NULL ? msg->topic : "")};
    void *rec = NULL;
    int r;
    for (;;) {
        r = sl_ring_spsc_reserve_wait(m->ring, sizeof(h) + tlen + plen, 200, &rec);
        if (r == 0 || atomic_load(&m->closing) || (r != -ETIMEDOUT && r != -EINTR)) {
            break;
        }
    }
    if (r != 0) {
        return; /* closing: the message is lost with the rest in flight */
    }
    memcpy(rec, &h, sizeof(h));
    if (tlen > 0) {
        memcpy((char *)rec + sizeof(h), msg->topic, tlen);
    }
    if (plen > 0) {
        memcpy((char *)rec + sizeof(h) + tlen, msg->payload, plen);
    }
    sl_ring_spsc_commit(m->ring);
    bump(&m->n_msgs, 1);
    bump(&m->n_bytes, (uint64_t)(msg->payloadlen > 0 ? msg->payloadlen : 0));
}

/* ---- network thread ---- */

/* Sleeps ms unless closing; returns false when closing. */
static bool nap(struct msrc *m, int ms)
{
    while (ms > 0 && !atomic_load(&m->closing)) {
        int step = ms < 50 ? ms : 50;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return !atomic_load(&m->closing);
}

static const char *rc_text(int rc, int saved_errno, char *buf, size_t cap)
{
    if (rc == MOSQ_ERR_ERRNO) {
        snprintf(buf, cap, "%s", strerror(saved_errno));
    } else {
        snprintf(buf, cap, "%s", mosquitto_strerror(rc));
    }
    return buf;
}

/* Records and logs (rate-limited) a failed or lost connection. */
static void conn_failed(struct msrc *m, int rc, int saved_errno)
{
    char buf[128], lib[200], shown[512];
    bool was = atomic_exchange(&m->connected, false);
    pthread_mutex_lock(&m->why_lock);
    snprintf(lib, sizeof(lib), "%s", m->last_err);
    m->last_err[0] = '\0';
    if (m->refused) {
        m->refused = false; /* on_connect wrote why: the broker's reason code */
    } else {
        rc_text(rc, saved_errno, buf, sizeof(buf));
        size_t n = strlen(buf);
        if (n > 0 && buf[n - 1] == '.') {
            buf[n - 1] = '\0';
        }
        snprintf(m->why, sizeof(m->why), "%s%s%s", buf, lib[0] != '\0' ? ": " : "", lib);
    }
    memcpy(shown, m->why, sizeof(shown));
    pthread_mutex_unlock(&m->why_lock);
    if (was) {
        sl_log(SL_LOG_WARN, "mqtt", "source %s: disconnected from %s:%d: %s; reconnecting",
               m->src->name, m->host, m->port, shown);
    } else {
        sl_log_limited(&m->lim_fail, 30, SL_LOG_WARN, "mqtt",
                       "source %s: cannot connect to %s:%d: %s; retrying with backoff",
                       m->src->name, m->host, m->port, shown);
    }
}

static int next_backoff(struct msrc *m, int *d)
{
    m->rng = m->rng * 1103515245u + 12345u;
    int lo = *d / 2;
    int wait = lo + (int)((m->rng >> 8) % (uint32_t)(*d - lo + 1));
    *d = *d < BACKOFF_MAX_MS / 2 ? *d * 2 : BACKOFF_MAX_MS;
    return wait;
}

static void *net_main(void *arg)
{
    struct msrc *m = arg;
    int backoff = BACKOFF_MIN_MS;
    sl_thread_name("sl-mqtt");
    while (!atomic_load(&m->closing)) {
        errno = 0;
        int rc = mosquitto_connect_bind_v5(m->mosq, m->host, m->port, m->keepalive_s, NULL,
                                           m->v5 ? m->props : NULL);
        int e = errno;
        if (rc != MOSQ_ERR_SUCCESS) {
            conn_failed(m, rc, e);
            if (!nap(m, next_backoff(m, &backoff))) {
                break;
            }
            continue;
        }
        while (!atomic_load(&m->closing)) {
            errno = 0;
            rc = mosquitto_loop(m->mosq, 200, 1);
            e = errno;
            if (rc != MOSQ_ERR_SUCCESS) {
                break;
            }
            if (atomic_load_explicit(&m->connected, memory_order_relaxed)) {
                backoff = BACKOFF_MIN_MS;
            }
        }
        if (atomic_load(&m->closing)) {
            mosquitto_disconnect(m->mosq);
            mosquitto_loop(m->mosq, 100, 1);
            break;
        }
        conn_failed(m, rc, e);
        if (!nap(m, next_backoff(m, &backoff))) {
            break;
        }
    }
    atomic_store(&m->connected, false);
    return NULL;
}

/* ---- source ops ---- */

static void msrc_free(struct msrc *m)
{
    if (m == NULL) {
        return;
    }
    if (m->thr_started) {
        atomic_store(&m->closing, true);
        sl_waiter_kick(&m->wprod);
        if (m->wal != NULL) {
            sl_wal_wake(m->wal);
        }
        pthread_join(m->thr, NULL);
    }
    if (m->mosq != NULL) {
        mosquitto_destroy(m->mosq);
    }
    mosquitto_property_free_all(&m->props);
    for (int i = 0; i < m->nf; i++) {
        free(m->filters[i]);
        free(m->subs[i]);
    }
    free(m->filters);
    free(m->subs);
    free(m->client_id);
    sl_ring_spsc_free(m->ring);
    free(m->offsets);
    if (m->wal != NULL) {
        sl_wal_close(m->wal);
    }
    free(m->commit_path);
    free(m->rstart);
    free(m->rhi);
    free(m->rwm);
    free(m->replaying);
    free(m->tbuf);
    pthread_mutex_destroy(&m->why_lock);
    free(m);
}

static size_t pow2_at_least(size_t n)
{
    size_t c = SL_RING_MIN_CAPACITY;
    while (c < n) {
        c <<= 1;
    }
    return c;
}

/* Makes dir and its parents (mode 0700). */
static int mkdirs(char *dir)
{
    for (char *p = dir + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            int r = mkdir(dir, 0700);
            *p = c;
            if (r != 0 && errno != EEXIST) {
                return -errno;
            }
            if (c == '\0') {
                return 0;
            }
        }
    }
}

/* Reads <dir>/commit: "sluice:1 done=<ms|->" then per filter "<start> <hi> <wm> <filter>". */
static void commit_load(struct msrc *m)
{
    FILE *f = fopen(m->commit_path, "r");
    if (f == NULL) {
        return;
    }
    char line[70000];
    if (fgets(line, sizeof(line), f) == NULL || strncmp(line, "sluice:1 done=", 14) != 0) {
        sl_log(SL_LOG_ERROR, "mqtt",
               "source %s: %s is not a commit record; replaying the whole log", m->src->name,
               m->commit_path);
        fclose(f);
        return;
    }
    m->rdone = line[14] == '-' ? SL_POS_NONE : strtoll(line + 14, NULL, 10);
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\n') {
            line[--n] = '\0';
        }
        long long a, b;
        char wm[32];
        int used = 0;
        if (sscanf(line, "%lld %lld %31s %n", &a, &b, wm, &used) != 3 || used == 0) {
            continue;
        }
        for (int i = 0; i < m->nf; i++) {
            if (strcmp(m->filters[i], line + used) == 0) {
                m->rstart[i] = a;
                m->rhi[i] = b;
                m->rwm[i] = wm[0] == '-' ? SL_POS_NONE : strtoll(wm, NULL, 10);
            }
        }
    }
    fclose(f);
}

/* The log's size bound: 1 GiB, or SLUICE_MQTT_LOG_MAX_BYTES (operators and tests). */
static uint64_t log_max_bytes(void)
{
    const char *e = getenv("SLUICE_MQTT_LOG_MAX_BYTES");
    long long v = e != NULL ? atoll(e) : 0;
    return v > 0 ? (uint64_t)v : (uint64_t)1 << 30;
}

/* How many of the last records redeliveries are looked up among. After Sluice is killed the
 * broker resends every message whose PUBACK it had not processed, and that is more than
 * Receive Maximum: the kernel answers a connection closed with unread input with a reset,
 * and a reset makes the broker drop the PUBACKs still unread in its socket (seen: 4 000
 * messages resent). Packet ids are 16 bits, so no broker has more than 65 535 messages in
 * flight: look among that many, but within half the log's bound (truncation keeps the
 * records whose keys are looked up). */
static uint32_t redelivery_window(const struct sl_options *o)
{
    int64_t rm = sl_options_int(o, "receive_maximum", 100);
    uint64_t fit = log_max_bytes() / 2 / 128;
    uint64_t n = 65535;
    n = n < fit ? n : fit;
    n = n > (uint64_t)rm ? n : (uint64_t)rm;
    return (uint32_t)n;
}

static int wal_open(struct msrc *m, const struct sl_runtime_settings *rs, struct sl_err *err)
{
    size_t cap = strlen(rs->state_dir) + strlen(m->src->name) + 32;
    char *dir = sl_xcalloc(1, cap);
    snprintf(dir, cap, "%s/mqtt/%s", rs->state_dir, m->src->name);
    int r = mkdirs(dir);
    if (r < 0) {
        r = sl_err_set(err, r, "source %s: cannot create the state directory %s: %s", m->src->name,
                       dir, strerror(-r));
        free(dir);
        return r;
    }
    const struct sl_options *o = &m->src->opts;
    struct sl_wal_opts wo = {
        .dir = dir,
        .max_bytes = log_max_bytes(),
        /* Truncation deletes whole segments: several per bound, or a small bound would
         * never free room. */
        .segment_bytes =
            log_max_bytes() / 8 < ((uint64_t)64 << 20) ? log_max_bytes() / 8 : (uint64_t)64 << 20,
        .max_record = (uint32_t)(m->max_msg + 1 + 65536 + 64),
        .keep_keys = redelivery_window(o),
        .fsync = rs->fsync,
    };
    struct sl_wal_report rep;
    r = sl_wal_open(&wo, &m->wal, &rep, err);
    if (r < 0) {
        free(dir);
        return r;
    }
    if (rep.why[0] != '\0') {
        sl_log(SL_LOG_WARN, "mqtt",
               "source %s: write-ahead log %s: %s; recovered %llu records, cut %llu bytes and "
               "%d segment(s) after the last good record",
               m->src->name, dir, rep.why, (unsigned long long)rep.records,
               (unsigned long long)rep.cut_bytes, rep.removed_segments);
    }
    m->fsync = rs->fsync;
    m->commit_path = sl_xcalloc(1, cap + 16);
    snprintf(m->commit_path, cap + 16, "%s/commit", dir);
    free(dir);
    m->rstart = sl_xcalloc((size_t)m->nf, sizeof(*m->rstart));
    m->rhi = sl_xcalloc((size_t)m->nf, sizeof(*m->rhi));
    m->rwm = sl_xcalloc((size_t)m->nf, sizeof(*m->rwm));
    m->replaying = sl_xcalloc((size_t)m->nf, sizeof(*m->replaying));
    m->tbuf = sl_xcalloc(1, 65536 + 1);
    m->rdone = SL_POS_NONE;
    for (int i = 0; i < m->nf; i++) {
        m->rstart[i] = m->rhi[i] = m->rwm[i] = SL_POS_NONE;
    }
    commit_load(m);
    sl_log(SL_LOG_INFO, "mqtt", "source %s: write-ahead log with %llu record(s) [%llu, %llu)",
           m->src->name, (unsigned long long)rep.records, (unsigned long long)rep.first,
           (unsigned long long)rep.end);
    return 0;
}

static int msrc_open(const struct sl_source *src, void **ret_state, int *ret_partitions,
                     struct sl_err *err)
{
    const struct sl_options *o = &src->opts;
    struct msrc *m = sl_xcalloc(1, sizeof(*m));
    int r;
    char hostname[128];

    pthread_once(&lib_once, lib_init);
    m->src = src;
    pthread_mutex_init(&m->why_lock, NULL);
    m->lim_fail = (struct sl_log_limit)SL_LOG_LIMIT_INIT;
    sl_waiter_init(&m->wcons, SL_WAITER_SPIN_DEFAULT);
    sl_waiter_init(&m->wprod, SL_WAITER_SPIN_DEFAULT);
    m->rng = (uint32_t)sl_now_ms() ^ ((uint32_t)getpid() << 16);
    snprintf(m->why, sizeof(m->why), "connecting");

    if (parse_url(m, sl_options_str(o, "url")) < 0) {
        r = sl_err_set(err, -EINVAL, "source %s: bad url", src->name);
        goto fail;
    }
    split_filters(m, sl_options_str(o, "topic"), sl_options_str(o, "shared_group"));
    m->qos = (int)sl_options_int(o, "qos", 1);
    m->v5 = sl_options_int(o, "protocol", 0) == 0;
    m->accept_retained = sl_options_int(o, "retained", 0) == 1;
    m->keepalive_s = (int)(sl_options_int(o, "keepalive", 30000) / 1000);
    m->max_msg = (size_t)sl_options_int(o, "max_message_bytes", 1 << 20);
    const char *cid = sl_options_str(o, "client_id");
    if (cid != NULL) {
        m->client_id = strdup(cid);
    } else {
        if (gethostname(hostname, sizeof(hostname)) != 0) {
            snprintf(hostname, sizeof(hostname), "localhost");
        }
        hostname[sizeof(hostname) - 1] = '\0';
        size_t cap = strlen(src->name) + strlen(hostname) + 16;
        m->client_id = sl_xcalloc(1, cap);
        snprintf(m->client_id, cap, "sluice-%s-%s", src->name, hostname);
    }
    if (m->client_id == NULL) {
        abort();
    }

    /* The ring holds at least two of the largest records (topic up to 64 KiB). */
    size_t largest = sizeof(struct mrec) + 65536 + m->max_msg + 1 + 16;
    size_t cap = pow2_at_least(2 * largest);
    if (cap < ((size_t)8 << 20)) {
        cap = (size_t)8 << 20;
    }
    r = sl_ring_spsc_new(cap, &m->wcons, &m->wprod, &m->ring);
    if (r < 0) {
        sl_err_set(err, r, "source %s: cannot create its ring", src->name);
        goto fail;
    }
    m->offsets = sl_xcalloc((size_t)m->nf, sizeof(*m->offsets));

    const struct sl_runtime_settings *rs = sl_runtime_get();
    if (rs->state_dir != NULL && (r = wal_open(m, rs, err)) < 0) {
        goto fail;
    }

    m->mosq = mosquitto_new(m->client_id, false, m);
    if (m->mosq == NULL) {
        r = sl_err_set(err, -ENOMEM, "source %s: cannot create the MQTT client", src->name);
        goto fail;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         m->v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_threaded_set(m->mosq, true);
    if (m->v5) {
        int64_t exp_s = sl_options_int(o, "session_expiry", 3600000) / 1000;
        int rm = (int)sl_options_int(o, "receive_maximum", 100);
        if (mosquitto_property_add_int32(&m->props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                         (uint32_t)exp_s) != MOSQ_ERR_SUCCESS ||
            mosquitto_property_add_int16(&m->props, MQTT_PROP_RECEIVE_MAXIMUM, (uint16_t)rm) !=
                MOSQ_ERR_SUCCESS) {
            r = sl_err_set(err, -ENOMEM, "source %s: cannot build CONNECT properties", src->name);
            goto fail;
        }
        mosquitto_int_option(m->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, rm);
    }
    const char *user = sl_options_str(o, "username");
    const char *pass = sl_options_str(o, "password");
    if ((user != NULL || pass != NULL) &&
        (r = mosquitto_username_pw_set(m->mosq, user, pass)) != MOSQ_ERR_SUCCESS) {
        r = sl_err_set(err, -EINVAL, "source %s: cannot set the credentials: %s", src->name,
                       mosquitto_strerror(r));
        goto fail;
    }
    if (m->tls) {
        const char *ca = sl_options_str(o, "tls_ca");
        const char *cert = sl_options_str(o, "tls_cert");
        const char *key = sl_options_str(o, "tls_key");
        if (ca == NULL) {
            mosquitto_int_option(m->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
        }
        /* tls_set checks that the files are readable; NULL tls_version means TLS 1.2+. */
        if ((ca != NULL || cert != NULL) &&
            (r = mosquitto_tls_set(m->mosq, ca, NULL, cert, key, NULL)) != MOSQ_ERR_SUCCESS) {
            r = sl_err_set(err, -EINVAL,
                           "source %s: cannot use the TLS files (tls_ca, tls_cert, tls_key): %s",
                           src->name, mosquitto_strerror(r));
            goto fail;
        }
        if (mosquitto_tls_opts_set(m->mosq, 1, NULL, NULL) != MOSQ_ERR_SUCCESS ||
            mosquitto_tls_insecure_set(m->mosq, false) != MOSQ_ERR_SUCCESS) {
            r = sl_err_set(err, -EINVAL, "source %s: cannot configure TLS", src->name);
            goto fail;
        }
    }
    mosquitto_log_callback_set(m->mosq, on_log);
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
    mosquitto_message_v5_callback_set(m->mosq, on_message);

    r = pthread_create(&m->thr, NULL, net_main, m);
    if (r != 0) {
        r = sl_err_set(err, -r, "source %s: cannot start its network thread", src->name);
        goto fail;
    }
    m->thr_started = true;
    *ret_state = m;
    *ret_partitions = m->nf;
    return 0;
fail:
    msrc_free(m);
    return r;
}

/* First poll with a log: every filter with a record resumes from it, and the reader goes to
 * the smallest replay start. */
static void wal_resume(struct msrc *m, struct sl_src_io *io)
{
    uint64_t from = sl_wal_first(m->wal);
    int64_t lo = INT64_MAX;
    for (int i = 0; i < m->nf; i++) {
        if (m->rhi[i] == SL_POS_NONE) {
            continue;
        }
        sl_src_io_resume(io, i, m->rdone, m->rwm[i], m->rhi[i]);
        m->replaying[i] = true;
        if (m->rstart[i] < lo) {
            lo = m->rstart[i];
        }
    }
    if (lo != INT64_MAX && (uint64_t)lo > from && (uint64_t)lo <= sl_wal_end(m->wal)) {
        from = (uint64_t)lo;
    }
    if (sl_wal_seek(m->wal, from) < 0) {
        sl_log(SL_LOG_ERROR, "mqtt", "source %s: cannot seek the write-ahead log to %llu",
               m->src->name, (unsigned long long)from);
    }
    m->resumed = true;
}

static void wal_replay_ends(struct msrc *m, struct sl_src_io *io, uint64_t next)
{
    for (int i = 0; i < m->nf; i++) {
        if (m->replaying[i] && (int64_t)next >= m->rhi[i]) {
            m->replaying[i] = false;
            sl_src_io_replay_end(io, i);
        }
    }
}

static bool wal_readable(void *ud)
{
    (void)ud;
    return false; /* woken by the appender's notify, or the timeout */
}

static int wal_poll(struct msrc *m, struct sl_src_io *io, int timeout_ms)
{
    if (!m->resumed) {
        wal_resume(m, io);
    }
    struct sl_wal_rec rec;
    int n = 0, r = 0;
    while (n < DRAIN_MAX && (r = sl_wal_read(m->wal, &rec)) == 1) {
        n++;
        size_t tl = rec.topic_len <= 65536 ? rec.topic_len : 65536;
        memcpy(m->tbuf, rec.topic, tl);
        m->tbuf[tl] = '\0';
        int part = partition_of(m, m->tbuf);
        /* Before the filter's replay start: only windows expired at the commit. */
        if (m->rstart != NULL && m->rstart[part] != SL_POS_NONE &&
            (int64_t)rec.pos < m->rstart[part]) {
            wal_replay_ends(m, io, rec.next);
            continue;
        }
        struct sl_msg_meta meta = {.topic = m->tbuf,
                                   .topic_len = (uint32_t)tl,
                                   .partition = part,
                                   .offset = (int64_t)rec.pos,
                                   .arrival_ms = rec.recv_ms};
        sl_src_io_json(io, rec.payload, rec.payload_len, &meta);
        wal_replay_ends(m, io, rec.next);
    }
    if (r == 0) {
        wal_replay_ends(m, io, sl_wal_end(m->wal));
    }
    if (r < 0) {
        sl_log_limited(&m->lim_wal, 30, SL_LOG_ERROR, "mqtt",
                       "source %s: cannot read the write-ahead log back: %s", m->src->name,
                       strerror(-r));
        return r;
    }
    if (n > 0) {
        return SL_POLL_MORE;
    }
    sl_waiter_wait(&m->wcons, wal_readable, m, timeout_ms < 20 ? timeout_ms : 20);
    return SL_POLL_IDLE;
}

/* Writes the engine's record to <dir>/commit (write, fsync with --fsync, rename), then
 * truncates the log to the smallest replay start. */
static int msrc_commit(void *state, const struct sl_commit *c)
{
    struct msrc *m = state;
    if (m->wal == NULL) {
        return 0;
    }
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", m->commit_path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        sl_log_limited(&m->lim_wal, 30, SL_LOG_ERROR, "mqtt", "source %s: cannot write %s: %s",
                       m->src->name, tmp, strerror(errno));
        return -errno;
    }
    int64_t lo = INT64_MAX;
    /* done never goes back: a shutdown during the replay at start commits before the
     * restore marker, with nothing fired yet in this process. */
    int64_t done = c->done;
    if (m->rdone != SL_POS_NONE && (done == SL_POS_NONE || done < m->rdone)) {
        done = m->rdone;
    }
    if (done == SL_POS_NONE) {
        fprintf(f, "sluice:1 done=-\n");
    } else {
        fprintf(f, "sluice:1 done=%lld\n", (long long)done);
    }
    for (int i = 0; i < c->nparts && i < m->nf; i++) {
        struct sl_commit_part kept;
        const struct sl_commit_part *p = &c->parts[i];
        if (p->replaying && m->rhi != NULL && m->rhi[i] != SL_POS_NONE) {
            /* Still replaying: the record it resumed from stays. */
            kept = (struct sl_commit_part){.start = m->rstart[i], .hi = m->rhi[i], .wm = m->rwm[i]};
            p = &kept;
        }
        if (p->hi == SL_POS_NONE) {
            continue;
        }
        lo = p->start < lo ? p->start : lo;
        if (p->wm == SL_POS_NONE) {
            fprintf(f, "%lld %lld - %s\n", (long long)p->start, (long long)p->hi, m->filters[i]);
        } else {
            fprintf(f, "%lld %lld %lld %s\n", (long long)p->start, (long long)p->hi,
                    (long long)p->wm, m->filters[i]);
        }
    }
    bool ok = fflush(f) == 0 && (!m->fsync || fdatasync(fileno(f)) == 0);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, m->commit_path) != 0) {
        int e = errno != 0 ? errno : EIO;
        sl_log_limited(&m->lim_wal, 30, SL_LOG_ERROR, "mqtt",
                       "source %s: cannot record the commit in %s: %s (commits wait for room)",
                       m->src->name, m->commit_path, strerror(e));
        unlink(tmp);
        return -e;
    }
    if (lo != INT64_MAX && lo > 0) {
        sl_wal_truncate(m->wal, (uint64_t)lo);
    }
    return 0;
}

static bool msrc_durable(void *state)
{
    return ((struct msrc *)state)->wal != NULL;
}

static int msrc_poll(void *state, struct sl_src_io *io, int timeout_ms)
{
    struct msrc *m = state;
    if (m->wal != NULL) {
        return wal_poll(m, io, timeout_ms);
    }
    int n = 0;
    const void *p;
    size_t len;
    while (n < DRAIN_MAX && (p = sl_ring_spsc_peek(m->ring, &len)) != NULL) {
        struct mrec h;
        memcpy(&h, p, sizeof(h));
        const char *topic = (const char *)p + sizeof(h);
        int part = h.partition >= 0 && h.partition < m->nf ? h.partition : 0;
        struct sl_msg_meta meta = {.topic = topic,
                                   .topic_len = h.topic_len,
                                   .partition = part,
                                   .offset = m->offsets[part]++,
                                   .arrival_ms = h.arrival_ms};
        sl_src_io_json(io, topic + h.topic_len, h.payload_len, &meta);
        n++;
        if (n % RELEASE_EVERY == 0) {
            sl_ring_spsc_release(m->ring);
        }
    }
    sl_ring_spsc_release(m->ring);
    if (n > 0) {
        return SL_POLL_MORE;
    }
    sl_ring_spsc_wait_any(&m->ring, 1, &m->wcons, timeout_ms);
    return SL_POLL_IDLE;
}

static bool msrc_bounded(void *state)
{
    (void)state;
    return false;
}

static void msrc_close(void *state)
{
    msrc_free(state);
}

static bool msrc_ready(void *state, char *reason, size_t cap)
{
    struct msrc *m = state;
    if (atomic_load(&m->wal_blocked)) {
        pthread_mutex_lock(&m->why_lock);
        snprintf(reason, cap, "source %s: %s", m->src->name, m->wal_why);
        pthread_mutex_unlock(&m->why_lock);
        return false;
    }
    if (atomic_load(&m->connected)) {
        return true;
    }
    pthread_mutex_lock(&m->why_lock);
    snprintf(reason, cap, "source %s: not connected to %s:%d: %s", m->src->name, m->host, m->port,
             m->why);
    pthread_mutex_unlock(&m->why_lock);
    return false;
}

static double get_connected(void *ud)
{
    return atomic_load(&((struct msrc *)ud)->connected) ? 1.0 : 0.0;
}

static double get_queue(void *ud)
{
    return (double)sl_ring_used(((struct msrc *)ud)->ring);
}

static double get_u64(void *ud)
{
    return (double)atomic_load_explicit((_Atomic uint64_t *)ud, memory_order_relaxed);
}

static int msrc_metrics(void *state, struct sl_metrics *mt, const char *source, struct sl_err *err)
{
    struct msrc *m = state;
    int r = sl_metrics_gauge_fn_register(mt, "sluice_mqtt_connected",
                                         "1 while the MQTT source is connected to its broker.",
                                         SL_LABELS({"source", source}), get_connected, m, err);
    r = r < 0 ? r
              : sl_metrics_gauge_fn_register(
                    mt, "sluice_mqtt_queue_bytes",
                    "Bytes of received MQTT messages waiting for the source thread.",
                    SL_LABELS({"source", source}), get_queue, m, err);
    static const struct {
        const char *name, *help;
        size_t off;
    } ctrs[] = {
        {"sluice_mqtt_messages_total", "MQTT messages received.", offsetof(struct msrc, n_msgs)},
        {"sluice_mqtt_bytes_total", "MQTT payload bytes received.", offsetof(struct msrc, n_bytes)},
        {"sluice_mqtt_reconnects_total", "Successful MQTT reconnections after the first.",
         offsetof(struct msrc, n_reconnects)},
        {"sluice_mqtt_retained_ignored_total",
         "Retained MQTT messages dropped (retained = 'ignore').",
         offsetof(struct msrc, n_retained)},
        {"sluice_mqtt_subscribe_failures_total", "MQTT subscriptions that failed or were refused.",
         offsetof(struct msrc, n_subscribe_fail)},
        {"sluice_mqtt_redelivered_total",
         "QoS 1 messages the broker sent again that were already in the write-ahead log.",
         offsetof(struct msrc, n_redelivered)},
        {"sluice_mqtt_log_full_waits_total",
         "Times the message callback waited for room in the write-ahead log.",
         offsetof(struct msrc, n_wal_waits)},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(ctrs) && r >= 0; i++) {
        r = sl_metrics_counter_fn_register(mt, ctrs[i].name, ctrs[i].help,
                                           SL_LABELS({"source", source}), get_u64,
                                           (char *)m + ctrs[i].off, err);
    }
    return r;
}

const struct sl_source_ops sl_mqtt_source_ops = {
    .open = msrc_open,
    .poll = msrc_poll,
    .bounded = msrc_bounded,
    .close = msrc_close,
    .replay = false,
    .ready = msrc_ready,
    .metrics = msrc_metrics,
    .commit = msrc_commit,
    .durable = msrc_durable,
};
