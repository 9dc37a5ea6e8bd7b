/*
 * mqtt_run.c - the MQTT source at run time, on libmosquitto (no crash durability yet: the
 * write-ahead log, engine/wal.h, is not connected to it).
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
 * belongs to the first filter that matches its topic. Offsets count messages per partition
 * from 0 in this process (they restart with it: without the write-ahead log there is nothing
 * to replay).
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
#include <unistd.h>

#include "connectors/conn_util.h"
#include "connectors/mqtt/mqtt_run.h"
#include "engine/log.h"
#include "engine/metrics.h"
#include "engine/ring.h"
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
    (void)flags;
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

static int msrc_poll(void *state, struct sl_src_io *io, int timeout_ms)
{
    struct msrc *m = state;
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
};
