/*
 * kafka_run.c - the Kafka source at run time, on librdkafka's high-level consumer.
 *
 * Threads. open() starts consumer_threads threads of our own (struct kthr). Thread 0 owns
 * rd_kafka_consumer_poll: it serves the rebalance callback, errors, and the messages of the
 * partitions it owns; thread i > 0 owns the partitions whose index is i modulo the count,
 * whose queues are forwarded (rd_kafka_queue_get_partition + rd_kafka_queue_forward, before
 * each assignment starts fetching) to a queue it drains in batches. Several threads keep
 * librdkafka's prefetch limits per thread rather than over one consumer queue, and spread
 * the decoding. Each thread decodes every payload with its own decoder and copies the
 * message (key, payload cut at max_message_bytes + 1, offset, timestamp, partition index,
 * and the decoded values) into its own SPSC ring; the source thread drains the rings in
 * poll() and hands the typed rows on (sl_src_io_decoded). Rebalances travel through the
 * rings as control records, through the ring of the partition's owner (thread 0 posts the
 * others' records to their mailboxes), so the source thread sees "resume p" before p's first
 * message and "revoke p" after its last one, and calls sl_src_io_resume/assign/revoke/
 * replay_end/behind in stream order; a rebalance forms a block in every ring, taken at once
 * (route_ctl). When its ring has no room a thread pauses its assigned partitions
 * (rd_kafka_pause: librdkafka drops what it prefetched and fetches nothing more) and keeps
 * polling, so the group membership and rebalances stay alive while the engine is slow; it
 * resumes them once the ring is half empty (fetching restarts after the last message it
 * returned). Buffering is bounded by the rings and librdkafka's queued.max.messages.kbytes.
 *
 * Partitions. Watermark partition indices are dense: topic t's partition k is base[t] + k,
 * with topics in the order the `topic` option lists them (regular expressions expand to the
 * matching topics in name order) and partition counts read from the brokers at open. With one
 * topic the index is the Kafka partition. A partition added to a topic later is not read
 * (logged; a restart picks it up): its offsets are never committed here, so nothing is lost.
 *
 * Delivery guarantees (DESIGN.md): enable.auto.commit and enable.auto.offset.store are off.
 * commit() (source thread) commits, in one synchronous rd_kafka_commit, every assigned
 * partition's replay start as its offset, with metadata "sluice:1;done=;wm=;hi=". On
 * assignment the consumer thread reads the committed offsets and metadata
 * (rd_kafka_committed) and assigns from the replay start; a partition with a record is
 * resumed, one without is assigned fresh; a partition never assigned here is revoked, so it
 * does not hold the watermark back. On revocation the consumer thread queues "revoke p" and
 * waits (bounded) until the source thread has processed it before giving p up, so that this
 * process emits nothing from p's state once the new owner may replay it.
 *
 * Group timing: session.timeout.ms defaults to 10 s (SQL.md) and max.poll.interval.ms to 30 s,
 * which bounds how long a rebalance waits for a member that stopped mid-join; the consumer
 * thread polls at least every 100 ms, paused or not, so it never comes near either.
 *
 * Idleness: a partition is "behind" from assignment until librdkafka reports its end
 * (enable.partition.eof), again when a message shows it has more, and while paused.
 *
 * Hot path (per message): consumer thread decode + reserve + memcpy + commit; source thread
 * peek, row rebuild and release. No allocation, lock or syscall per message of our own
 * (librdkafka's queue takes its lock; a thread > 0 takes its mailbox lock once per batch,
 * only when thread 0 has posted something).
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/conn_util.h"
#include "connectors/kafka/kafka_run.h"
#include "engine/decode.h"
#include "engine/log.h"
#include "engine/metrics.h"
#include "engine/ring.h"
#include "queries/plan.h"

#define DRAIN_MAX        4096         /* records per poll */
#define RELEASE_EVERY    64           /* give ring space back while draining */
#define CTL_RESERVE      (256 * 1024) /* ring bytes only control records may use */
#define KEY_MAX          65536        /* longer keys are cut (counted) */
#define OPEN_DEADLINE_MS 30000        /* how long open() retries the brokers */
#define REVOKE_WAIT_MS   5000         /* how long a revocation waits for the source thread */
#define PROBE_EVERY_MS   2000         /* metadata probe while unhealthy */
#define BATCH_MAX        256          /* messages a thread > 0 takes from its queue at once */
#define THREADS_MAX      64

enum { START_EARLIEST = 0, START_LATEST = 1, START_COMMITTED = 2 };

enum {
    K_DATA = 1,
    K_RESUME, /* a: done, b: wm, c: hi, d: replay start */
    K_ASSIGN,
    K_REVOKE,
    K_EOF,
    K_BEHIND, /* a: 0 or 1 */
    K_SYNC,   /* a: sequence number */
    K_BEGIN,  /* a: block number; see route_ctl */
    K_END,    /* a: block number */
};

/* A message in the ring: this header, the key, the payload and, when the consumer thread
 * decoded it (decoded = 1), the source's ncols values followed by extra_len bytes of TEXT
 * values that had escapes. A TEXT value's u.i is then an offset, into the payload
 * (pad[0] = VAL_IN_PAYLOAD) or into the extra bytes (VAL_IN_EXTRA). A payload the decoder
 * rejects travels undecoded; the source thread decodes it again and rejects it there, where
 * rejections are counted and dead-lettered. */
struct kdata {
    uint32_t kind;
    int32_t part;
    uint32_t key_len; /* UINT32_MAX: no key */
    uint32_t payload_len;
    int64_t offset;
    int64_t ts; /* message timestamp, 0 if none */
    uint32_t decoded;
    uint32_t extra_len;
};

enum { VAL_IN_PAYLOAD = 1, VAL_IN_EXTRA = 2 };

struct kctl {
    uint32_t kind;
    int32_t part;
    int64_t a, b, c, d;
};

struct ktopic {
    char *name;
    size_t name_len;
    int base, nparts;
};

/* Source-thread view of a partition. */
struct spart {
    bool assigned;
    bool replaying;
    int64_t rec_done, rec_wm, rec_hi; /* last record read or committed; SL_POS_NONE */
    bool has_rec;
};

struct ksrc;

/* A consumer thread and its ring. Thread 0 polls the consumer queue (rebalances, errors, and
 * the messages of its partitions); thread w > 0 polls its own queue, into which the queues of
 * the partitions it owns (index % nthr == w) are forwarded. Every record about partition p,
 * control or data, goes through the ring of p's owner, so the source thread sees them in
 * order. Thread 0 hands control records for another thread's partitions to that thread's
 * mailbox; the owner moves them into its ring before the next messages it pushes. */
struct kthr {
    struct ksrc *k;
    int id;
    pthread_t thr;
    bool started;
    rd_kafka_queue_t *q; /* threads > 0 */
    struct sl_ring *ring;
    _Alignas(SL_CACHELINE) struct sl_waiter wprod;

    /* Decoding, on this thread. */
    struct sl_decoder *dec;
    char *scratch;
    size_t scratch_cap;
    struct sl_value *vals; /* ncols */

    /* Messages polled, not yet in the ring. */
    rd_kafka_message_t *held;   /* thread 0 */
    rd_kafka_message_t **batch; /* threads > 0: BATCH_MAX */
    int nbatch, ibatch;
    bool paused;
    rd_kafka_topic_t *last_rkt;
    int last_topic;

    /* Mailbox: control records from thread 0 for this thread's partitions. */
    pthread_mutex_t mlock;
    struct kctl *mail, *spare;
    size_t nmail, capmail, capspare;
    atomic_bool has_mail;
    struct kctl *out; /* thread 0: this thread's share of the current block */
    size_t nout, capout;
    bool fenced; /* source thread: stopped at a K_BEGIN */

    uint64_t sync_seq;                              /* K_SYNC sent (thread 0) */
    _Alignas(SL_CACHELINE) _Atomic uint64_t synced; /* K_SYNC processed (source thread) */
};

struct ksrc {
    const struct sl_source *src;
    rd_kafka_t *rk;
    char *brokers, *group;
    int start;
    size_t max_msg;
    struct ktopic *topics;
    int ntopics, nparts;
    bool cooperative;

    struct kthr *thr;
    int nthr;
    struct sl_ring **rings; /* nthr, for sl_ring_spsc_wait_any */
    _Alignas(SL_CACHELINE) struct sl_waiter wcons;

    atomic_bool closing;
    uint64_t block; /* thread 0: rebalance blocks sent */
    bool in_block;
    /* Per partition. k_assigned and k_seen belong to thread 0 (rebalances); k_live and
     * k_behind to the partition's owner: what it last put in its ring. */
    bool *k_assigned, *k_seen, *k_live, *k_behind;
    rd_kafka_topic_partition_list_t *assignment;
    _Atomic int64_t probe_mono;
    struct sl_log_limit lim_err, lim_unknown, lim_pause, lim_misrouted;

    /* Source thread. */
    struct spart *sp;
    struct sl_value *row; /* ncols */

    atomic_bool healthy, joined;
    pthread_mutex_t why_lock;
    char why[512];

    _Atomic uint64_t n_msgs, n_bytes, n_rebalances, n_commits, n_commit_fail, n_pauses, n_key_cut,
        n_errors;
    _Atomic int64_t lag, assigned_n;
};
/* ---- commit metadata ---- */

static void put_val(char **p, char *end, const char *name, int64_t v)
{
    int n;
    if (v == SL_POS_NONE) {
        n = snprintf(*p, (size_t)(end - *p), "%s=", name);
    } else {
        n = snprintf(*p, (size_t)(end - *p), "%s=%" PRId64, name, v);
    }
    if (n > 0) {
        *p += n < end - *p ? n : end - *p - 1;
    }
}

size_t sl__kafka_meta_format(char *buf, size_t cap, int64_t done, int64_t wm, int64_t hi)
{
    if (cap == 0) {
        return 0;
    }
    char *p = buf, *end = buf + cap;
    int n = snprintf(p, cap, "sluice:1;");
    p += n < (int)cap ? n : (int)cap - 1;
    put_val(&p, end, "done", done);
    if (p < end - 1) {
        *p++ = ';';
        *p = '\0';
    }
    put_val(&p, end, "wm", wm);
    if (p < end - 1) {
        *p++ = ';';
        *p = '\0';
    }
    put_val(&p, end, "hi", hi);
    return (size_t)(p - buf);
}

/* Parses an optional signed decimal that fills [s, e) exactly. */
static int parse_i64(const char *s, const char *e, int64_t *ret)
{
    if (s == e) {
        *ret = SL_POS_NONE;
        return 0;
    }
    bool neg = *s == '-';
    if (neg) {
        s++;
    }
    if (s == e || e - s > 19) {
        return -EINVAL;
    }
    uint64_t v = 0;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9') {
            return -EINVAL;
        }
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > (uint64_t)INT64_MAX) {
        return -EINVAL;
    }
    *ret = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

int sl__kafka_meta_parse(const char *s, size_t len, int64_t *ret_done, int64_t *ret_wm,
                         int64_t *ret_hi)
{
    static const char prefix[] = "sluice:";
    if (s == NULL || len < sizeof(prefix) - 1 || memcmp(s, prefix, sizeof(prefix) - 1) != 0) {
        return -ENOENT;
    }
    const char *p = s + sizeof(prefix) - 1, *end = s + len;
    const char *semi = memchr(p, ';', (size_t)(end - p));
    if (semi == NULL || semi - p != 1 || *p != '1') {
        return -EINVAL; /* an unknown version: refuse rather than guess */
    }
    int64_t done = SL_POS_NONE, wm = SL_POS_NONE, hi = SL_POS_NONE;
    bool have_hi = false, have_done = false, have_wm = false;
    p = semi + 1;
    while (p < end) {
        const char *e = memchr(p, ';', (size_t)(end - p));
        if (e == NULL) {
            e = end;
        }
        const char *eq = memchr(p, '=', (size_t)(e - p));
        if (eq == NULL) {
            return -EINVAL;
        }
        size_t kl = (size_t)(eq - p);
        int64_t v;
        if (kl == 4 && memcmp(p, "done", 4) == 0) {
            if (have_done || parse_i64(eq + 1, e, &v) < 0) {
                return -EINVAL;
            }
            done = v;
            have_done = true;
        } else if (kl == 2 && memcmp(p, "wm", 2) == 0) {
            if (have_wm || parse_i64(eq + 1, e, &v) < 0) {
                return -EINVAL;
            }
            wm = v;
            have_wm = true;
        } else if (kl == 2 && memcmp(p, "hi", 2) == 0) {
            if (have_hi || parse_i64(eq + 1, e, &v) < 0 || v == SL_POS_NONE || v < 0) {
                return -EINVAL;
            }
            hi = v;
            have_hi = true;
        }
        p = e + 1;
    }
    if (!have_hi) {
        return -EINVAL;
    }
    *ret_done = done;
    *ret_wm = wm;
    *ret_hi = hi;
    return 0;
}

/* ---- small helpers ---- */

static void bump(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void set_unhealthy(struct ksrc *k, const char *fmt, ...) SL_PRINTF(2, 3);
static void set_unhealthy(struct ksrc *k, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&k->why_lock);
    va_start(ap, fmt);
    vsnprintf(k->why, sizeof(k->why), fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&k->why_lock);
    atomic_store(&k->healthy, false);
}

static void set_healthy(struct ksrc *k)
{
    if (!atomic_load_explicit(&k->healthy, memory_order_relaxed)) {
        atomic_store(&k->healthy, true);
        sl_log(SL_LOG_INFO, "kafka", "source %s: brokers reachable again", k->src->name);
    }
}

static void nap_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The partition index of (topic, partition), or -1. */
static int index_of(struct ksrc *k, const char *topic, int32_t partition)
{
    for (int t = 0; t < k->ntopics; t++) {
        if (strcmp(k->topics[t].name, topic) == 0) {
            return partition >= 0 && partition < k->topics[t].nparts ? k->topics[t].base + partition
                                                                     : -1;
        }
    }
    return -1;
}

/* The same for a message, with a one-entry cache (per thread) of its topic handle. */
static int index_of_msg(struct kthr *th, const rd_kafka_message_t *m)
{
    struct ksrc *k = th->k;
    int t = -1;
    if (m->rkt == th->last_rkt && th->last_rkt != NULL) {
        t = th->last_topic;
    } else {
        const char *name = rd_kafka_topic_name(m->rkt);
        for (int i = 0; i < k->ntopics; i++) {
            if (strcmp(k->topics[i].name, name) == 0) {
                t = i;
                break;
            }
        }
        if (t < 0) {
            return -1;
        }
        th->last_rkt = m->rkt;
        th->last_topic = t;
    }
    return m->partition >= 0 && m->partition < k->topics[t].nparts
               ? k->topics[t].base + m->partition
               : -1;
}

static void topic_of(const struct ksrc *k, int idx, int *ret_t, int32_t *ret_p)
{
    for (int t = 0; t < k->ntopics; t++) {
        if (idx >= k->topics[t].base && idx < k->topics[t].base + k->topics[t].nparts) {
            *ret_t = t;
            *ret_p = idx - k->topics[t].base;
            return;
        }
    }
    *ret_t = 0;
    *ret_p = 0;
}

/* ---- consumer threads: the rings ---- */

static struct kthr *owner(struct ksrc *k, int idx)
{
    return &k->thr[idx % k->nthr];
}

static size_t room_left(struct kthr *t)
{
    size_t used = sl_ring_used(t->ring), cap = sl_ring_capacity(t->ring);
    return used < cap ? cap - used : 0;
}

/* Pushes a control record; control records may use the reserve, and wait only if even that
 * is full (more than a few thousand partitions changing at once). */
static void push_ctl(struct kthr *t, const struct kctl *h)
{
    void *rec = NULL;
    for (;;) {
        int r = sl_ring_spsc_reserve_wait(t->ring, sizeof(*h), 200, &rec);
        if (r == 0) {
            break;
        }
        if (atomic_load(&t->k->closing)) {
            return;
        }
    }
    memcpy(rec, h, sizeof(*h));
    sl_ring_spsc_commit(t->ring);
}

/* Drops the polled messages of partition idx that are not in the ring yet: it was revoked,
 * and whatever the new owner reads it replays. */
static void purge_part(struct kthr *t, int idx)
{
    if (t->held != NULL && index_of_msg(t, t->held) == idx) {
        rd_kafka_message_destroy(t->held);
        t->held = NULL;
    }
    for (int i = t->ibatch; i < t->nbatch; i++) {
        if (t->batch[i] != NULL && index_of_msg(t, t->batch[i]) == idx) {
            rd_kafka_message_destroy(t->batch[i]);
            t->batch[i] = NULL;
        }
    }
}

static void pause_one(struct ksrc *k, int idx, bool pause)
{
    int ti;
    int32_t kp;
    topic_of(k, idx, &ti, &kp);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, k->topics[ti].name, kp);
    if (pause) {
        rd_kafka_pause_partitions(k->rk, l);
    } else {
        rd_kafka_resume_partitions(k->rk, l);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Puts a control record about one of t's partitions into t's ring (on t's thread), keeping
 * t's view of the partition (live, behind) in step with what the ring says. */
static void emit_ctl(struct kthr *t, uint32_t kind, int part, int64_t a, int64_t b, int64_t c,
                     int64_t d)
{
    struct ksrc *k = t->k;
    switch (kind) {
    case K_RESUME:
    case K_ASSIGN:
        k->k_live[part] = true;
        if (t->paused && t->id > 0) {
            pause_one(k, part, true); /* thread 0 pauses its new partitions in on_assign */
        }
        break;
    case K_REVOKE:
        k->k_live[part] = false;
        purge_part(t, part);
        break;
    case K_BEHIND:
        k->k_behind[part] = a != 0;
        break;
    case K_EOF:
        k->k_behind[part] = false;
        break;
    default:
        break;
    }
    struct kctl h = {.kind = kind, .part = part, .a = a, .b = b, .c = c, .d = d};
    push_ctl(t, &h);
}

static void post_mail(struct kthr *t, const struct kctl *recs, size_t n)
{
    pthread_mutex_lock(&t->mlock);
    if (t->nmail + n > t->capmail) {
        t->capmail = t->nmail + n + 64;
        t->mail = sl_xrealloc(t->mail, t->capmail * sizeof(*t->mail));
    }
    memcpy(t->mail + t->nmail, recs, n * sizeof(*recs));
    t->nmail += n;
    atomic_store_explicit(&t->has_mail, true, memory_order_release);
    pthread_mutex_unlock(&t->mlock);
    rd_kafka_queue_yield(t->q); /* wakes the owner if it waits for messages */
}

/* Thread 0: a control record about partition part, to the ring of its owner: directly, or
 * through the owner's mailbox.
 *
 * A rebalance's records form a block: begin_block() puts K_BEGIN into every ring, the
 * records follow, end_block() puts K_END into every ring, and each thread's share is posted
 * in one piece so that no message comes between. The source thread stops at a K_BEGIN until
 * every ring has reached it, then takes every ring's block at once: it sees a rebalance as
 * one step, as it would with one ring, never one partition resumed and its messages read
 * while another of the same assignment is not resumed yet. */
static void route_ctl(struct ksrc *k, uint32_t kind, int part, int64_t a, int64_t b, int64_t c,
                      int64_t d)
{
    struct kthr *t = owner(k, part);
    if (t->id == 0) {
        emit_ctl(t, kind, part, a, b, c, d);
        return;
    }
    struct kctl h = {.kind = kind, .part = part, .a = a, .b = b, .c = c, .d = d};
    if (!k->in_block) {
        post_mail(t, &h, 1);
        return;
    }
    if (t->nout == t->capout) {
        t->capout = t->capout ? 2 * t->capout : 64;
        t->out = sl_xrealloc(t->out, t->capout * sizeof(*t->out));
    }
    t->out[t->nout++] = h;
}

static void begin_block(struct ksrc *k)
{
    k->block++;
    k->in_block = true;
    struct kctl h = {.kind = K_BEGIN, .a = (int64_t)k->block};
    push_ctl(&k->thr[0], &h);
    for (int i = 1; i < k->nthr; i++) {
        k->thr[i].nout = 0;
        route_ctl(k, K_BEGIN, i, (int64_t)k->block, 0, 0, 0);
    }
}

static void end_block(struct ksrc *k)
{
    struct kctl h = {.kind = K_END, .a = (int64_t)k->block};
    push_ctl(&k->thr[0], &h);
    for (int i = 1; i < k->nthr; i++) {
        route_ctl(k, K_END, i, (int64_t)k->block, 0, 0, 0);
        post_mail(&k->thr[i], k->thr[i].out, k->thr[i].nout);
        k->thr[i].nout = 0;
    }
    k->in_block = false;
}

/* Threads > 0: moves the mailbox into the ring. Called after every poll of the thread's queue
 * and before the messages it returned are pushed: a message fetched after an assignment was
 * polled after thread 0 posted that assignment's record, so the record goes first. */
static void drain_mail(struct kthr *t)
{
    if (!atomic_load_explicit(&t->has_mail, memory_order_acquire)) {
        return;
    }
    pthread_mutex_lock(&t->mlock);
    struct kctl *m = t->mail;
    size_t n = t->nmail, cap = t->capmail;
    t->mail = t->spare;
    t->capmail = t->capspare;
    t->nmail = 0;
    atomic_store_explicit(&t->has_mail, false, memory_order_relaxed);
    pthread_mutex_unlock(&t->mlock);
    for (size_t i = 0; i < n; i++) {
        if (m[i].kind == K_SYNC || m[i].kind == K_BEGIN || m[i].kind == K_END) {
            push_ctl(t, &m[i]);
        } else {
            emit_ctl(t, m[i].kind, m[i].part, m[i].a, m[i].b, m[i].c, m[i].d);
        }
    }
    t->spare = m; /* the two arrays take turns */
    t->capspare = cap;
}

/* Decodes m's payload on this thread into t->vals; returns the bytes of TEXT values outside
 * the payload (escaped ones, in the decoder's scratch), or -1 if the decoder rejects it. */
static ssize_t decode_msg(struct kthr *t, const char *pl, size_t plen)
{
    if (pl == NULL || plen > t->k->max_msg ||
        sl_decode(t->dec, pl, plen, t->vals, t->scratch, t->scratch_cap) < 0) {
        return -1;
    }
    size_t extra = 0;
    for (int c = 0; c < t->k->src->ncols; c++) {
        const struct sl_value *v = &t->vals[c];
        if (v->type == SL_TYPE_TEXT && !v->null && (v->u.s < pl || v->u.s + v->len > pl + plen)) {
            extra += v->len;
        }
    }
    return (ssize_t)extra;
}

/* Tries to put message m (partition idx) into t's ring, decoded when the decoder takes it,
 * leaving CTL_RESERVE free. Returns true if done. */
static bool push_msg(struct kthr *t, const rd_kafka_message_t *m, int idx)
{
    struct ksrc *k = t->k;
    size_t klen = m->key != NULL ? m->key_len : 0;
    size_t plen = m->payload != NULL ? m->len : 0;
    if (klen > KEY_MAX) {
        klen = KEY_MAX;
        bump(&k->n_key_cut, 1);
    }
    if (plen > k->max_msg) {
        plen = k->max_msg + 1; /* the decoder rejects it as too_large */
    }
    size_t nvals = (size_t)k->src->ncols;
    size_t need = sizeof(struct kdata) + klen + plen;
    if (room_left(t) < need + 16 + CTL_RESERVE) {
        return false;
    }
    const char *pl = m->payload;
    ssize_t extra = decode_msg(t, pl, plen);
    if (extra >= 0) {
        need += nvals * sizeof(struct sl_value) + (size_t)extra;
    }
    void *rec;
    if (room_left(t) < need + 16 + CTL_RESERVE || sl_ring_spsc_reserve(t->ring, need, &rec) < 0) {
        return false;
    }
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    struct kdata h = {.kind = K_DATA,
                      .part = idx,
                      .key_len = m->key != NULL ? (uint32_t)klen : UINT32_MAX,
                      .payload_len = (uint32_t)plen,
                      .offset = m->offset,
                      .ts = tt != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts > 0 ? ts : 0,
                      .decoded = extra >= 0,
                      .extra_len = extra >= 0 ? (uint32_t)extra : 0};
    char *w = rec;
    memcpy(w, &h, sizeof(h));
    w += sizeof(h);
    if (klen > 0) {
        memcpy(w, m->key, klen);
        w += klen;
    }
    if (plen > 0) {
        memcpy(w, pl, plen);
        w += plen;
    }
    if (extra >= 0) {
        char *x = w + nvals * sizeof(struct sl_value);
        size_t xo = 0;
        for (size_t c = 0; c < nvals; c++) {
            struct sl_value v = t->vals[c];
            if (v.type == SL_TYPE_TEXT && !v.null) {
                if (v.u.s >= pl && v.u.s + v.len <= pl + plen) {
                    v.u.i = v.u.s - pl;
                    v.pad[0] = VAL_IN_PAYLOAD;
                } else {
                    memcpy(x + xo, v.u.s, v.len);
                    v.u.i = (int64_t)xo;
                    v.pad[0] = VAL_IN_EXTRA;
                    xo += v.len;
                }
            }
            memcpy(w + c * sizeof(v), &v, sizeof(v));
        }
    }
    sl_ring_spsc_commit(t->ring);
    bump(&k->n_msgs, 1);
    bump(&k->n_bytes, m->len);
    return true;
}

static void set_behind(struct kthr *t, int idx, bool behind)
{
    if (t->k->k_behind[idx] != behind) {
        emit_ctl(t, K_BEHIND, idx, behind ? 1 : 0, 0, 0, 0);
    }
}

/* Pauses (or resumes) the partitions t owns and has in its ring. */
static void pause_own(struct kthr *t, bool pause)
{
    struct ksrc *k = t->k;
    if (t->paused == pause) {
        return;
    }
    t->paused = pause;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (int i = t->id; i < k->nparts; i += k->nthr) {
        if (k->k_live[i]) {
            int ti;
            int32_t kp;
            topic_of(k, i, &ti, &kp);
            rd_kafka_topic_partition_list_add(l, k->topics[ti].name, kp);
        }
    }
    if (l->cnt > 0) {
        rd_kafka_resp_err_t e =
            pause ? rd_kafka_pause_partitions(k->rk, l) : rd_kafka_resume_partitions(k->rk, l);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            sl_log(SL_LOG_WARN, "kafka", "source %s: cannot %s partitions: %s", k->src->name,
                   pause ? "pause" : "resume", rd_kafka_err2str(e));
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (pause) {
        bump(&k->n_pauses, 1);
        sl_log_limited(&k->lim_pause, 60, SL_LOG_INFO, "kafka",
                       "source %s: the engine is behind; partitions paused until it catches up",
                       k->src->name);
        for (int i = t->id; i < k->nparts; i += k->nthr) {
            if (k->k_live[i]) {
                set_behind(t, i, true);
            }
        }
    }
}

/* ---- consumer thread: rebalances ---- */

/* Waits until the source thread has processed every control record routed so far, through
 * every thread's ring, at most REVOKE_WAIT_MS; returns false on timeout. */
static bool sync_source(struct ksrc *k)
{
    for (int i = 0; i < k->nthr; i++) {
        struct kthr *t = &k->thr[i];
        t->sync_seq++;
        if (i == 0) {
            struct kctl h = {.kind = K_SYNC, .a = (int64_t)t->sync_seq};
            push_ctl(t, &h);
        } else {
            route_ctl(k, K_SYNC, i, (int64_t)t->sync_seq, 0, 0, 0);
        }
    }
    int64_t deadline = sl_mono_ms() + REVOKE_WAIT_MS;
    for (int i = 0; i < k->nthr; i++) {
        struct kthr *t = &k->thr[i];
        while (atomic_load_explicit(&t->synced, memory_order_acquire) < t->sync_seq) {
            if (atomic_load(&k->closing) || sl_mono_ms() > deadline) {
                return false;
            }
            nap_ms(1);
        }
    }
    return true;
}

static void assignment_remove(struct ksrc *k, const rd_kafka_topic_partition_list_t *parts)
{
    if (k->assignment == NULL) {
        return;
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_list_del(k->assignment, parts->elems[i].topic,
                                          parts->elems[i].partition);
    }
}

static void on_revoke(struct ksrc *k, rd_kafka_topic_partition_list_t *parts, bool lost)
{
    bool closing = atomic_load(&k->closing);
    begin_block(k);
    for (int i = 0; i < parts->cnt; i++) {
        int idx = index_of(k, parts->elems[i].topic, parts->elems[i].partition);
        if (idx >= 0 && k->k_assigned[idx]) {
            k->k_assigned[idx] = false;
            route_ctl(k, K_REVOKE, idx, 0, 0, 0, 0); /* drops its polled messages too */
        }
    }
    end_block(k);
    if (!closing && !sync_source(k)) {
        sl_log(SL_LOG_WARN, "kafka",
               "source %s: the engine did not take the revocation within %d ms (busy); giving "
               "the partitions up anyway",
               k->src->name, REVOKE_WAIT_MS);
    }
    sl_log(closing ? SL_LOG_DEBUG : SL_LOG_INFO, "kafka", "source %s: %d partition(s) %s",
           k->src->name, parts->cnt, lost ? "lost" : "revoked");
    if (k->cooperative) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(k->rk, parts);
        if (e != NULL) {
            rd_kafka_error_destroy(e);
        }
        assignment_remove(k, parts);
    } else {
        rd_kafka_assign(k->rk, NULL);
        if (k->assignment != NULL) {
            rd_kafka_topic_partition_list_destroy(k->assignment);
        }
        k->assignment = rd_kafka_topic_partition_list_new(0);
    }
    atomic_store(&k->assigned_n, k->assignment != NULL ? k->assignment->cnt : 0);
}

/* Reads committed offsets and metadata for parts (blocking), retrying until it works or
 * the source closes. */
static bool read_committed(struct ksrc *k, rd_kafka_topic_partition_list_t *parts)
{
    int backoff = 250;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_committed(k->rk, parts, 10000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            return true;
        }
        set_unhealthy(k, "cannot read the committed offsets of group %s: %s", k->group,
                      rd_kafka_err2str(e));
        sl_log_limited(&k->lim_err, 10, SL_LOG_WARN, "kafka",
                       "source %s: cannot read the committed offsets of group %s: %s; retrying",
                       k->src->name, k->group, rd_kafka_err2str(e));
        if (atomic_load(&k->closing)) {
            return false;
        }
        nap_ms(backoff);
        backoff = backoff < 4000 ? backoff * 2 : 5000;
    }
}

static void on_assign(struct ksrc *k, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *a = rd_kafka_topic_partition_list_copy(parts);
    bool have = k->start != START_COMMITTED || read_committed(k, a);
    int nrec = 0;
    begin_block(k);
    for (int i = 0; i < a->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &a->elems[i];
        int idx = index_of(k, tp->topic, tp->partition);
        int64_t committed = have && k->start == START_COMMITTED ? tp->offset : -1;
        int64_t done, wm, hi;
        int r = -ENOENT;
        if (committed >= 0) {
            r = sl__kafka_meta_parse(tp->metadata, tp->metadata_size, &done, &wm, &hi);
            if (r == -EINVAL) {
                sl_log(SL_LOG_ERROR, "kafka",
                       "source %s: %s [%d]: the committed metadata is not a record this "
                       "version understands; resuming from offset %" PRId64 " without replay",
                       k->src->name, tp->topic, (int)tp->partition, committed);
            }
        }
        if (committed >= 0) {
            tp->offset = committed;
        } else {
            tp->offset = k->start == START_LATEST ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
        }
        if (idx < 0) {
            sl_log(SL_LOG_ERROR, "kafka",
                   "source %s: %s [%d] was created after Sluice started; it is not read until "
                   "a restart (nothing is committed for it, so nothing is lost)",
                   k->src->name, tp->topic, (int)tp->partition);
            continue;
        }
        k->k_assigned[idx] = true;
        k->k_seen[idx] = true;
        if (r == 0) {
            if (hi < committed) {
                hi = committed; /* a record that says nothing is to be replayed */
            }
            route_ctl(k, K_RESUME, idx, done, wm, hi, committed);
            nrec++;
        } else {
            route_ctl(k, K_ASSIGN, idx, 0, 0, 0, 0);
        }
        route_ctl(k, K_BEHIND, idx, 1, 0, 0, 0);
        if (owner(k, idx)->id > 0) {
            /* Before the assignment starts fetching: its messages go to the owner's queue
             * from the first one on. */
            rd_kafka_queue_t *pq = rd_kafka_queue_get_partition(k->rk, tp->topic, tp->partition);
            if (pq != NULL) {
                rd_kafka_queue_forward(pq, owner(k, idx)->q);
                rd_kafka_queue_destroy(pq);
            } else {
                sl_log(SL_LOG_ERROR, "kafka",
                       "source %s: %s [%d]: no partition queue; its messages stay on the "
                       "consumer queue",
                       k->src->name, tp->topic, (int)tp->partition);
            }
        }
    }
    /* Partitions this process was never given do not hold the watermark back. */
    for (int i = 0; i < k->nparts; i++) {
        if (!k->k_seen[i]) {
            k->k_seen[i] = true;
            route_ctl(k, K_REVOKE, i, 0, 0, 0, 0);
        }
    }
    end_block(k);
    rd_kafka_error_t *err = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (k->cooperative) {
        err = rd_kafka_incremental_assign(k->rk, a);
    } else {
        e = rd_kafka_assign(k->rk, a);
    }
    if (err != NULL || e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        sl_log(SL_LOG_ERROR, "kafka", "source %s: cannot take the assignment: %s", k->src->name,
               err != NULL ? rd_kafka_error_string(err) : rd_kafka_err2str(e));
        if (err != NULL) {
            rd_kafka_error_destroy(err);
        }
    }
    if (k->assignment == NULL || !k->cooperative) {
        if (k->assignment != NULL) {
            rd_kafka_topic_partition_list_destroy(k->assignment);
        }
        k->assignment = rd_kafka_topic_partition_list_new(a->cnt);
    }
    for (int i = 0; i < a->cnt; i++) {
        rd_kafka_topic_partition_list_add(k->assignment, a->elems[i].topic, a->elems[i].partition);
    }
    if (k->thr[0].paused) {
        for (int i = 0; i < a->cnt; i++) {
            int idx = index_of(k, a->elems[i].topic, a->elems[i].partition);
            if (idx >= 0 && owner(k, idx)->id == 0) {
                pause_one(k, idx, true);
            }
        }
    }
    atomic_store(&k->assigned_n, k->assignment->cnt);
    atomic_store(&k->joined, true);
    sl_log(SL_LOG_INFO, "kafka",
           "source %s: assigned %d partition(s) in group %s (%d resumed from a commit record)",
           k->src->name, a->cnt, k->group, nrec);
    rd_kafka_topic_partition_list_destroy(a);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct ksrc *k = opaque;
    (void)rk;
    bump(&k->n_rebalances, 1);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(k, parts);
    } else {
        on_revoke(k, parts, rd_kafka_assignment_lost(rk) != 0);
    }
}

/* ---- consumer thread: errors and logs ---- */

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct ksrc *k = opaque;
    (void)rk;
    bump(&k->n_errors, 1);
    bool serious = err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
                   err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL ||
                   err == RD_KAFKA_RESP_ERR__FATAL ||
                   err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                   err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
                   err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED;
    if (serious) {
        set_unhealthy(k, "%s: %s", rd_kafka_err2name(err), reason);
        k->probe_mono = sl_mono_ms();
    }
    /* One line per source and kind of error every 10 s: a flapping connection does not hide
     * an authorization failure. */
    char key[128];
    snprintf(key, sizeof(key), "kafka:%s:%d", k->src->name, err);
    sl_log_keyed(key, 10, serious ? SL_LOG_ERROR : SL_LOG_WARN, "kafka", "source %s: %s (%s)%s",
                 k->src->name, reason, rd_kafka_err2name(err),
                 serious ? "; retrying with backoff" : "");
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    enum sl_log_level l = level <= 3   ? SL_LOG_ERROR
                          : level <= 4 ? SL_LOG_WARN
                          : level <= 6 ? SL_LOG_INFO
                                       : SL_LOG_DEBUG;
    if (sl_log_enabled(l)) {
        char key[64];
        snprintf(key, sizeof(key), "rdkafka:%s", fac);
        sl_log_keyed(key, 10, l, "kafka", "librdkafka %s: %s", fac, buf);
    }
}

/* A consumer error event (not a message). */
static void on_event_error(struct ksrc *k, rd_kafka_message_t *m)
{
    const char *topic = m->rkt != NULL ? rd_kafka_topic_name(m->rkt) : "";
    bump(&k->n_errors, 1);
    set_unhealthy(k, "%s%s%s: %s", topic, *topic ? ": " : "", rd_kafka_err2name(m->err),
                  rd_kafka_message_errstr(m));
    k->probe_mono = sl_mono_ms();
    char key[128];
    snprintf(key, sizeof(key), "kafka:%s:%d", k->src->name, (int)m->err);
    sl_log_keyed(key, 10, SL_LOG_ERROR, "kafka", "source %s: %s%s%s (%s); retrying with backoff",
                 k->src->name, topic, *topic ? ": " : "", rd_kafka_message_errstr(m),
                 rd_kafka_err2name(m->err));
}

/* While unhealthy, asks the brokers for the topics' metadata now and then: an answer
 * without errors makes the source healthy again even when no message flows. */
static void probe(struct ksrc *k)
{
    int64_t now = sl_mono_ms();
    if (atomic_load_explicit(&k->healthy, memory_order_relaxed) ||
        now - k->probe_mono < PROBE_EVERY_MS) {
        return;
    }
    k->probe_mono = now;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(k->rk, k->topics[0].name, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 0, rkt, &md, 1000);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
        md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->broker_cnt > 0) {
        set_healthy(k);
    }
    if (md != NULL) {
        rd_kafka_metadata_destroy(md);
    }
    if (rkt != NULL) {
        rd_kafka_topic_destroy(rkt);
    }
}

/* Lag: the high watermark minus the position, summed over assigned partitions. */
static void update_lag(struct ksrc *k)
{
    if (k->assignment == NULL || k->assignment->cnt == 0) {
        atomic_store_explicit(&k->lag, 0, memory_order_relaxed);
        return;
    }
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(k->assignment);
    int64_t lag = 0;
    if (rd_kafka_position(k->rk, pos) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < pos->cnt; i++) {
            int64_t lo, hi;
            if (pos->elems[i].offset >= 0 &&
                rd_kafka_get_watermark_offsets(k->rk, pos->elems[i].topic, pos->elems[i].partition,
                                               &lo, &hi) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                hi > pos->elems[i].offset) {
                lag += hi - pos->elems[i].offset;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(pos);
    atomic_store_explicit(&k->lag, lag, memory_order_relaxed);
}

/* ---- consumer threads ---- */

/* One message or consumer event of partition idx's owner t. Returns false when the ring has
 * no room for it (m is then t's to keep and push later); otherwise m is consumed. */
static bool on_message(struct kthr *t, rd_kafka_message_t *m)
{
    struct ksrc *k = t->k;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        int idx = m->rkt != NULL ? index_of_msg(t, m) : -1;
        if (idx >= 0 && owner(k, idx) == t && k->k_live[idx]) {
            emit_ctl(t, K_EOF, idx, m->offset, 0, 0, 0);
        }
        set_healthy(k);
        rd_kafka_message_destroy(m);
        return true;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        on_event_error(k, m);
        rd_kafka_message_destroy(m);
        return true;
    }
    int idx = index_of_msg(t, m);
    if (idx >= 0 && owner(k, idx) != t) {
        /* Never seen: partition queues are forwarded before their assignment starts. Out of
         * its owner's ring its order could not be kept, so it is dropped, and lost once the
         * owner commits past it: said loudly, with the way out. */
        sl_log_limited(&k->lim_misrouted, 60, SL_LOG_ERROR, "kafka",
                       "source %s: %s [%d]: a message reached the wrong consumer thread and "
                       "was dropped; set consumer_threads = '1' and report this",
                       k->src->name, rd_kafka_topic_name(m->rkt), (int)m->partition);
        rd_kafka_message_destroy(m);
        return true;
    }
    if (idx < 0 || !k->k_live[idx]) {
        if (idx < 0) {
            sl_log_limited(&k->lim_unknown, 60, SL_LOG_ERROR, "kafka",
                           "source %s: %s [%d] was created after Sluice started; not read "
                           "until a restart",
                           k->src->name, rd_kafka_topic_name(m->rkt), (int)m->partition);
        }
        rd_kafka_message_destroy(m);
        return true;
    }
    if (!atomic_load_explicit(&k->healthy, memory_order_relaxed)) {
        set_healthy(k);
    }
    set_behind(t, idx, true);
    if (push_msg(t, m, idx)) {
        rd_kafka_message_destroy(m);
        return true;
    }
    return false;
}

/* Thread 0: the consumer queue. */
static void *consumer_main(void *arg)
{
    struct kthr *t = arg;
    struct ksrc *k = t->k;
    int64_t lag_mono = 0;
    sl_thread_name("sl-kafka-0");
    while (!atomic_load(&k->closing)) {
        if (t->held != NULL) {
            rd_kafka_message_t *h = t->held;
            t->held = NULL;
            if (!on_message(t, h)) {
                t->held = h;
            }
        }
        if (t->held == NULL && t->paused && sl_ring_used(t->ring) < sl_ring_capacity(t->ring) / 2) {
            pause_own(t, false);
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, t->held != NULL ? 20 : 100);
        if (m != NULL) {
            if (t->held != NULL && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                /* Fetched before the pause took effect: wait for room for the held one. */
                while (t->held != NULL && !atomic_load(&k->closing)) {
                    rd_kafka_message_t *h = t->held;
                    t->held = NULL;
                    if (!on_message(t, h)) {
                        t->held = h;
                        nap_ms(5);
                    }
                }
            }
            if (atomic_load(&k->closing)) {
                rd_kafka_message_destroy(m);
                break;
            }
            if (!on_message(t, m)) {
                t->held = m;
                pause_own(t, true);
            }
            /* Drain what is already there without waiting. */
            for (int i = 0; i < 1024 && t->held == NULL; i++) {
                m = rd_kafka_consumer_poll(k->rk, 0);
                if (m == NULL) {
                    break;
                }
                if (!on_message(t, m)) {
                    t->held = m;
                    pause_own(t, true);
                }
            }
        }
        probe(k);
        int64_t now = sl_mono_ms();
        if (now - lag_mono >= 1000) {
            lag_mono = now;
            update_lag(k);
        }
    }
    if (t->held != NULL) {
        rd_kafka_message_destroy(t->held);
        t->held = NULL;
    }
    /* Leave the group now: the partitions move to other replicas at once. */
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(k->rk);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        sl_log(SL_LOG_WARN, "kafka", "source %s: leaving the group: %s", k->src->name,
               rd_kafka_err2str(e));
    }
    return NULL;
}

/* Threads > 0: their own queue, fed by their partitions' queues. */
static void *worker_main(void *arg)
{
    struct kthr *t = arg;
    struct ksrc *k = t->k;
    sl_thread_name("sl-kafka-%d", t->id);
    while (!atomic_load(&k->closing)) {
        drain_mail(t);
        while (t->ibatch < t->nbatch) {
            rd_kafka_message_t *m = t->batch[t->ibatch];
            if (m != NULL && !on_message(t, m)) {
                break;
            }
            t->batch[t->ibatch++] = NULL;
        }
        if (t->ibatch < t->nbatch) {
            pause_own(t, true);
            nap_ms(5); /* paused: waits for the source thread to make room */
            continue;
        }
        t->nbatch = t->ibatch = 0;
        if (t->paused && sl_ring_used(t->ring) < sl_ring_capacity(t->ring) / 2) {
            pause_own(t, false);
        }
        ssize_t n = rd_kafka_consume_batch_queue(t->q, 100, t->batch, BATCH_MAX);
        t->nbatch = n > 0 ? (int)n : 0;
    }
    for (int i = t->ibatch; i < t->nbatch; i++) {
        if (t->batch[i] != NULL) {
            rd_kafka_message_destroy(t->batch[i]);
        }
    }
    t->nbatch = t->ibatch = 0;
    return NULL;
}

/* ---- open ---- */

static void ksrc_free(struct ksrc *k)
{
    if (k == NULL) {
        return;
    }
    atomic_store(&k->closing, true);
    for (int i = 0; i < k->nthr; i++) {
        struct kthr *t = &k->thr[i];
        if (t->started) {
            sl_waiter_kick(&t->wprod);
            if (t->q != NULL) {
                rd_kafka_queue_yield(t->q);
            }
            pthread_join(t->thr, NULL);
        }
    }
    for (int i = 0; i < k->nthr; i++) {
        struct kthr *t = &k->thr[i];
        if (t->q != NULL) {
            rd_kafka_queue_destroy(t->q);
        }
    }
    if (k->rk != NULL) {
        rd_kafka_destroy(k->rk);
    }
    for (int i = 0; i < k->nthr; i++) {
        struct kthr *t = &k->thr[i];
        sl_ring_spsc_free(t->ring);
        if (t->dec != NULL) {
            sl_decoder_free(t->dec);
        }
        free(t->scratch);
        free(t->vals);
        free(t->batch);
        free(t->mail);
        free(t->spare);
        free(t->out);
        pthread_mutex_destroy(&t->mlock);
    }
    free(k->thr);
    free(k->rings);
    if (k->assignment != NULL) {
        rd_kafka_topic_partition_list_destroy(k->assignment);
    }
    for (int i = 0; i < k->ntopics; i++) {
        free(k->topics[i].name);
    }
    free(k->topics);
    free(k->k_assigned);
    free(k->k_behind);
    free(k->k_seen);
    free(k->k_live);
    free(k->sp);
    free(k->row);
    free(k->brokers);
    free(k->group);
    pthread_mutex_destroy(&k->why_lock);
    free(k);
}

static int conf_set(rd_kafka_conf_t *conf, const struct sl_source *src, const char *name,
                    const char *val, struct sl_err *err)
{
    char e[512];
    if (rd_kafka_conf_set(conf, name, val, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        return sl_err_set(err, -EINVAL, "source %s: librdkafka setting %s: %s", src->name, name, e);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void add_topic(struct ksrc *k, const char *name, int nparts)
{
    for (int i = 0; i < k->ntopics; i++) {
        if (strcmp(k->topics[i].name, name) == 0) {
            return;
        }
    }
    k->topics = realloc(k->topics, sizeof(*k->topics) * (size_t)(k->ntopics + 1));
    if (k->topics == NULL) {
        abort();
    }
    struct ktopic *t = &k->topics[k->ntopics++];
    t->name = strdup(name);
    if (t->name == NULL) {
        abort();
    }
    t->name_len = strlen(name);
    t->base = k->nparts;
    t->nparts = nparts;
    k->nparts += nparts;
}

/* Resolves the topic option against metadata md: each name (or regular expression, in
 * name order) becomes a topic with its partition count. Returns 0, -EAGAIN when the brokers
 * do not know the cluster yet, or a permanent error with err set. */
static int resolve_topics(struct ksrc *k, const struct rd_kafka_metadata *md, const char *topics,
                          struct sl_err *err)
{
    const char *cur = topics, *item;
    size_t n;
    while (sl__conn_list_next(&cur, &item, &n)) {
        char name[256 + 1];
        if (n >= sizeof(name)) {
            n = sizeof(name) - 1;
        }
        memcpy(name, item, n);
        name[n] = '\0';
        if (name[0] == '^') {
            regex_t re;
            if (regcomp(&re, name, REG_EXTENDED | REG_NOSUB) != 0) {
                return sl_err_set(err, -EINVAL,
                                  "source %s: topic pattern '%s' is not a valid "
                                  "regular expression",
                                  k->src->name, name);
            }
            const char **found = sl_xcalloc((size_t)md->topic_cnt + 1, sizeof(char *));
            int nf = 0;
            for (int i = 0; i < md->topic_cnt; i++) {
                if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                    regexec(&re, md->topics[i].topic, 0, NULL, 0) == 0) {
                    found[nf++] = md->topics[i].topic;
                }
            }
            regfree(&re);
            qsort(found, (size_t)nf, sizeof(*found), cmp_str);
            for (int i = 0; i < nf; i++) {
                for (int j = 0; j < md->topic_cnt; j++) {
                    if (strcmp(md->topics[j].topic, found[i]) == 0) {
                        add_topic(k, found[i], md->topics[j].partition_cnt);
                    }
                }
            }
            free(found);
            if (nf == 0) {
                sl_log(SL_LOG_WARN, "kafka", "source %s: no topic matches '%s' yet", k->src->name,
                       name);
            }
            continue;
        }
        const struct rd_kafka_metadata_topic *t = NULL;
        for (int i = 0; i < md->topic_cnt; i++) {
            if (strcmp(md->topics[i].topic, name) == 0) {
                t = &md->topics[i];
            }
        }
        if (t == NULL || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
            t->partition_cnt == 0) {
            return sl_err_set(err, -ENOENT,
                              "source %s: topic '%s' does not exist on brokers %s (Sluice does "
                              "not create topics; create it, or fix option topic)",
                              k->src->name, name, k->brokers);
        }
        if (t->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
            return sl_err_set(err, -EACCES,
                              "source %s: not authorized to read topic '%s' on brokers %s "
                              "(check the ACLs of the principal in properties.sasl.*)",
                              k->src->name, name, k->brokers);
        }
        if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return -EAGAIN;
        }
        add_topic(k, name, t->partition_cnt);
    }
    if (k->nparts == 0) {
        return sl_err_set(err, -ENOENT, "source %s: no topic to read on brokers %s", k->src->name,
                          k->brokers);
    }
    return 0;
}

/* Reads the cluster's metadata, retrying with backoff for up to OPEN_DEADLINE_MS. */
static int read_topics(struct ksrc *k, const char *topics, struct sl_err *err)
{
    int64_t deadline = sl_mono_ms() + OPEN_DEADLINE_MS;
    int backoff = 250;
    char last[1024] = "no answer";
    for (int attempt = 1;; attempt++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 1, NULL, &md, 5000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            int r = resolve_topics(k, md, topics, err);
            rd_kafka_metadata_destroy(md);
            if (r != -EAGAIN) {
                return r;
            }
            snprintf(last, sizeof(last), "the topic metadata is not available yet");
        } else {
            rd_kafka_poll(k->rk, 0); /* serves error_cb: the reason, e.g. a TLS failure */
            pthread_mutex_lock(&k->why_lock);
            snprintf(last, sizeof(last), "%s%s%s", rd_kafka_err2str(e), k->why[0] ? ": " : "",
                     k->why);
            pthread_mutex_unlock(&k->why_lock);
        }
        if (sl_mono_ms() + backoff > deadline) {
            return sl_err_set(err, -EHOSTUNREACH,
                              "source %s: cannot read the topics' metadata from brokers %s after "
                              "%d attempts: %s",
                              k->src->name, k->brokers, attempt, last);
        }
        sl_log(SL_LOG_WARN, "kafka",
               "source %s: cannot read the topics' metadata from brokers %s: %s; retrying in "
               "%d ms",
               k->src->name, k->brokers, last, backoff);
        nap_ms(backoff);
        backoff = backoff < 2000 ? backoff * 2 : 4000;
    }
}

static size_t pow2_at_least(size_t n)
{
    size_t c = SL_RING_MIN_CAPACITY;
    while (c < n) {
        c <<= 1;
    }
    return c;
}

static int ksrc_open(const struct sl_source *src, void **ret_state, int *ret_partitions,
                     struct sl_err *err)
{
    const struct sl_options *o = &src->opts;
    struct ksrc *k = sl_xcalloc(1, sizeof(*k));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    int r;

    k->src = src;
    pthread_mutex_init(&k->why_lock, NULL);
    k->lim_err = (struct sl_log_limit)SL_LOG_LIMIT_INIT;
    k->lim_unknown = (struct sl_log_limit)SL_LOG_LIMIT_INIT;
    k->lim_pause = (struct sl_log_limit)SL_LOG_LIMIT_INIT;
    k->lim_misrouted = (struct sl_log_limit)SL_LOG_LIMIT_INIT;
    sl_waiter_init(&k->wcons, SL_WAITER_SPIN_DEFAULT);
    atomic_init(&k->healthy, true);
    snprintf(k->why, sizeof(k->why), "joining the consumer group");
    k->brokers = strdup(sl_options_str(o, "brokers"));
    const char *group = sl_options_str(o, "group_id");
    size_t glen = strlen(src->name) + 8;
    k->group = sl_xcalloc(1, glen);
    if (group != NULL) {
        free(k->group);
        k->group = strdup(group);
    } else {
        snprintf(k->group, glen, "sluice-%s", src->name);
    }
    if (k->brokers == NULL || k->group == NULL) {
        abort();
    }
    k->start = (int)sl_options_int(o, "start", START_COMMITTED);
    k->max_msg = (size_t)sl_options_int(o, "max_message_bytes", 1 << 20);

    char client_id[300];
    snprintf(client_id, sizeof(client_id), "sluice-%s", src->name);
    /* Ours first, then properties.* (which may override session.timeout.ms and the rest
     * that kafka.c does not reserve). */
    if ((r = conf_set(conf, src, "bootstrap.servers", k->brokers, err)) < 0 ||
        (r = conf_set(conf, src, "group.id", k->group, err)) < 0 ||
        (r = conf_set(conf, src, "client.id", client_id, err)) < 0 ||
        (r = conf_set(conf, src, "enable.auto.commit", "false", err)) < 0 ||
        (r = conf_set(conf, src, "enable.auto.offset.store", "false", err)) < 0 ||
        (r = conf_set(conf, src, "enable.partition.eof", "true", err)) < 0 ||
        (r = conf_set(conf, src, "session.timeout.ms", "10000", err)) < 0 ||
        (r = conf_set(conf, src, "max.poll.interval.ms", "30000", err)) < 0 ||
        (r = conf_set(conf, src, "auto.offset.reset",
                      k->start == START_LATEST ? "latest" : "earliest", err)) < 0) {
        goto fail;
    }
    for (int i = 0; i < o->n; i++) {
        const struct sl_opt_value *v = &o->v[i];
        if (v->def == NULL || !(v->def->flags & SL_OPT_PREFIX) ||
            strcmp(v->def->name, "properties.") != 0) {
            continue;
        }
        if ((r = conf_set(conf, src, v->name + strlen(v->def->name), v->str, err)) < 0) {
            goto fail;
        }
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (k->rk == NULL) {
        r = sl_err_set(err, -EINVAL, "source %s: cannot create the Kafka consumer: %s", src->name,
                       errstr);
        goto fail; /* conf is still ours */
    }
    conf = NULL;
    k->cooperative = strcmp(rd_kafka_rebalance_protocol(k->rk), "COOPERATIVE") == 0;

    r = read_topics(k, sl_options_str(o, "topic"), err);
    if (r < 0) {
        goto fail;
    }
    /* From now on errors are served by rd_kafka_consumer_poll on the consumer thread. */
    rd_kafka_poll_set_consumer(k->rk);
    k->k_assigned = sl_xcalloc((size_t)k->nparts, sizeof(bool));
    k->k_behind = sl_xcalloc((size_t)k->nparts, sizeof(bool));
    k->k_seen = sl_xcalloc((size_t)k->nparts, sizeof(bool));
    k->k_live = sl_xcalloc((size_t)k->nparts, sizeof(bool));
    k->sp = sl_xcalloc((size_t)k->nparts, sizeof(*k->sp));
    k->row = sl_xcalloc((size_t)src->ncols + 1, sizeof(*k->row));
    for (int i = 0; i < k->nparts; i++) {
        k->sp[i].rec_done = k->sp[i].rec_wm = k->sp[i].rec_hi = SL_POS_NONE;
    }

    /* Consumer threads: no more than partitions (a thread without one would idle). */
    int64_t nthr = sl_options_int(o, "consumer_threads", 2);
    k->nthr = (int)(nthr < 1 ? 1 : nthr > k->nparts ? k->nparts : nthr);
    k->thr = sl_xcalloc((size_t)k->nthr, sizeof(*k->thr));
    k->rings = sl_xcalloc((size_t)k->nthr, sizeof(*k->rings));
    for (int i = 0; i < k->nthr; i++) {
        pthread_mutex_init(&k->thr[i].mlock, NULL);
    }
    size_t largest = sizeof(struct kdata) + KEY_MAX + k->max_msg + 1 +
                     (size_t)src->ncols * sizeof(struct sl_value) + k->max_msg + 16;
    size_t cap = pow2_at_least(2 * largest + 2 * CTL_RESERVE);
    if (cap < ((size_t)16 << 20)) {
        cap = (size_t)16 << 20;
    }
    for (int i = 0; i < k->nthr; i++) {
        struct kthr *t = &k->thr[i];
        t->k = k;
        t->id = i;
        sl_waiter_init(&t->wprod, SL_WAITER_SPIN_DEFAULT);
        r = sl_ring_spsc_new(cap, &k->wcons, &t->wprod, &t->ring);
        if (r < 0) {
            sl_err_set(err, r, "source %s: cannot create its ring", src->name);
            goto fail;
        }
        k->rings[i] = t->ring;
        r = sl_decoder_for_source(src, &t->dec, &t->scratch_cap);
        if (r < 0) {
            sl_err_set(err, r, "source %s: cannot create a decoder", src->name);
            goto fail;
        }
        t->scratch = sl_xcalloc(1, t->scratch_cap);
        t->vals = sl_xcalloc((size_t)src->ncols + 1, sizeof(*t->vals));
        if (i > 0) {
            t->q = rd_kafka_queue_new(k->rk);
            t->batch = sl_xcalloc(BATCH_MAX, sizeof(*t->batch));
        }
    }

    /* Subscribe to the resolved names: a regular expression resolved at open keeps the
     * partition indices stable for the life of the process. */
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(k->ntopics);
    for (int i = 0; i < k->ntopics; i++) {
        rd_kafka_topic_partition_list_add(sub, k->topics[i].name, RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(k->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r = sl_err_set(err, -EINVAL, "source %s: cannot subscribe: %s", src->name,
                       rd_kafka_err2str(e));
        goto fail;
    }
    for (int i = k->nthr - 1; i >= 0; i--) {
        struct kthr *t = &k->thr[i];
        r = pthread_create(&t->thr, NULL, i == 0 ? consumer_main : worker_main, t);
        if (r != 0) {
            r = sl_err_set(err, -r, "source %s: cannot start its consumer thread", src->name);
            goto fail;
        }
        t->started = true;
    }
    sl_log(SL_LOG_INFO, "kafka",
           "source %s: %d topic(s), %d partition(s), group %s, brokers %s, start %s, %d "
           "consumer thread(s)",
           src->name, k->ntopics, k->nparts, k->group, k->brokers,
           k->start == START_EARLIEST ? "earliest"
           : k->start == START_LATEST ? "latest"
                                      : "committed",
           k->nthr);
    *ret_state = k;
    *ret_partitions = k->nparts;
    return 0;
fail:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    ksrc_free(k);
    return r;
}

/* ---- source thread ---- */

static void do_ctl(struct ksrc *k, struct kthr *t, struct sl_src_io *io, const struct kctl *c)
{
    if (c->kind == K_SYNC) {
        atomic_store_explicit(&t->synced, (uint64_t)c->a, memory_order_release);
        return;
    }
    if (c->kind == K_BEGIN || c->kind == K_END) {
        return;
    }
    if (c->part < 0 || c->part >= k->nparts) {
        return;
    }
    struct spart *p = &k->sp[c->part];
    switch (c->kind) {
    case K_RESUME:
        if (sl_log_enabled(SL_LOG_DEBUG)) {
            sl_log(SL_LOG_DEBUG, "kafka",
                   "source %s: partition %d resumes at %" PRId64 ": done=%" PRId64 " wm=%" PRId64
                   " hi=%" PRId64,
                   k->src->name, c->part, c->d, c->a, c->b, c->c);
        }
        p->assigned = true;
        p->has_rec = true;
        p->rec_done = c->a;
        p->rec_wm = c->b;
        p->rec_hi = c->c;
        p->replaying = c->d < c->c;
        sl_src_io_resume(io, c->part, c->a, c->b, c->c);
        break;
    case K_ASSIGN:
        p->assigned = true;
        p->has_rec = false;
        p->replaying = false;
        p->rec_done = p->rec_wm = p->rec_hi = SL_POS_NONE;
        sl_src_io_assign(io, c->part);
        break;
    case K_REVOKE:
        p->assigned = false;
        p->replaying = false;
        p->has_rec = false;
        sl_src_io_revoke(io, c->part);
        break;
    case K_EOF:
        if (p->replaying) {
            p->replaying = false;
            sl_src_io_replay_end(io, c->part);
        }
        sl_src_io_behind(io, c->part, false);
        break;
    case K_BEHIND:
        sl_src_io_behind(io, c->part, c->a != 0);
        break;
    default:
        break;
    }
}

/* A decoded record's values, with their TEXT pointers back into the record. */
static void rebuild_row(struct ksrc *k, const struct kdata *h, const char *payload)
{
    size_t nvals = (size_t)k->src->ncols;
    const char *vp = payload + h->payload_len;
    const char *extra = vp + nvals * sizeof(struct sl_value);
    memcpy(k->row, vp, nvals * sizeof(struct sl_value));
    for (size_t c = 0; c < nvals; c++) {
        struct sl_value *v = &k->row[c];
        if (v->type == SL_TYPE_TEXT && !v->null) {
            v->u.s = (v->pad[0] == VAL_IN_PAYLOAD ? payload : extra) + v->u.i;
            v->pad[0] = 0;
        }
    }
}

/* Drains up to max records of thread t's ring; returns how many. */
static int drain_ring(struct ksrc *k, struct kthr *t, struct sl_src_io *io, int max)
{
    int n = 0;
    const void *p;
    size_t len;
    while (n < max && (p = sl_ring_spsc_peek(t->ring, &len)) != NULL) {
        uint32_t kind;
        memcpy(&kind, p, sizeof(kind));
        n++;
        if (kind != K_DATA) {
            struct kctl c;
            memcpy(&c, p, sizeof(c));
            if (c.kind == K_BEGIN && k->nthr > 1) {
                t->fenced = true; /* see route_ctl */
                break;
            }
            do_ctl(k, t, io, &c);
            continue;
        }
        struct kdata h;
        memcpy(&h, p, sizeof(h));
        if (h.part < 0 || h.part >= k->nparts || !k->sp[h.part].assigned) {
            continue;
        }
        int ti;
        int32_t kp;
        topic_of(k, h.part, &ti, &kp);
        const char *key = (const char *)p + sizeof(h);
        size_t klen = h.key_len == UINT32_MAX ? 0 : h.key_len;
        const char *payload = key + klen;
        struct sl_msg_meta meta = {.topic = k->topics[ti].name,
                                   .topic_len = (uint32_t)k->topics[ti].name_len,
                                   .key = h.key_len == UINT32_MAX ? NULL : key,
                                   .key_len = (uint32_t)klen,
                                   .partition = h.part,
                                   .offset = h.offset,
                                   .arrival_ms = h.ts};
        struct spart *sp = &k->sp[h.part];
        if (sp->replaying && h.offset + 1 >= sp->rec_hi) {
            sp->replaying = false;
        }
        if (h.decoded) {
            rebuild_row(k, &h, payload);
            sl_src_io_decoded(io, k->row, payload, h.payload_len, &meta);
        } else {
            sl_src_io_json(io, payload, h.payload_len, &meta);
        }
        if (n % RELEASE_EVERY == 0) {
            sl_ring_spsc_release(t->ring);
        }
    }
    sl_ring_spsc_release(t->ring);
    return n;
}

/* Every ring stopped at the K_BEGIN of one rebalance block: takes each ring's block to its
 * K_END (its producer is pushing it now, so the wait is short). */
static void take_blocks(struct ksrc *k, struct sl_src_io *io)
{
    for (int i = 0; i < k->nthr; i++) {
        struct kthr *t = &k->thr[i];
        bool end = false;
        while (!end) {
            const void *p;
            size_t len;
            p = sl_ring_spsc_peek(t->ring, &len);
            if (p == NULL) {
                if (atomic_load(&k->closing) || sl_src_io_stopping(io)) {
                    break;
                }
                sl_ring_spsc_wait_any(&t->ring, 1, &k->wcons, 10);
                continue;
            }
            struct kctl c;
            memcpy(&c, p, sizeof(c));
            end = c.kind == K_END;
            if (c.kind != K_DATA) {
                do_ctl(k, t, io, &c);
            }
            sl_ring_spsc_release(t->ring);
        }
        t->fenced = false;
    }
}

static int ksrc_poll(void *state, struct sl_src_io *io, int timeout_ms)
{
    struct ksrc *k = state;
    int n = 0, nfenced = 0;
    int share = DRAIN_MAX / k->nthr;
    struct sl_ring *open[THREADS_MAX];
    size_t nopen = 0;
    for (int i = 0; i < k->nthr; i++) {
        struct kthr *t = &k->thr[i];
        if (!t->fenced) {
            n += drain_ring(k, t, io, share > 0 ? share : 1);
        }
        if (t->fenced) {
            nfenced++;
        } else {
            open[nopen++] = t->ring;
        }
    }
    if (nfenced == k->nthr) {
        take_blocks(k, io);
        return SL_POLL_MORE;
    }
    if (n > 0) {
        return SL_POLL_MORE;
    }
    sl_ring_spsc_wait_any(open, nopen, &k->wcons, timeout_ms);
    return SL_POLL_IDLE;
}

static int ksrc_commit(void *state, const struct sl_commit *c)
{
    struct ksrc *k = state;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(k->nparts);
    int r = 0;
    int n = c->nparts < k->nparts ? c->nparts : k->nparts;
    for (int i = 0; i < n; i++) {
        struct spart *p = &k->sp[i];
        const struct sl_commit_part *cp = &c->parts[i];
        if (!p->assigned || cp->hi == SL_POS_NONE || cp->replaying) {
            continue; /* never read or still replaying here: its last record stays */
        }
        int64_t hi = cp->hi, wm = cp->wm, start = cp->start;
        /* Never move a record back: while a replay has not reached the recorded hi, the
         * recorded hi and wm still hold, and done never decreases. */
        int64_t done = c->done;
        if (p->has_rec && p->rec_done != SL_POS_NONE &&
            (done == SL_POS_NONE || done < p->rec_done)) {
            done = p->rec_done;
        }
        if (p->has_rec && hi < p->rec_hi) {
            hi = p->rec_hi;
            wm = p->rec_wm;
        }
        if (start == SL_POS_NONE || start > hi) {
            start = hi;
        }
        int t;
        int32_t kp;
        topic_of(k, i, &t, &kp);
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_add(l, k->topics[t].name, kp);
        tp->offset = start;
        char md[128];
        size_t mlen = sl__kafka_meta_format(md, sizeof(md), done, wm, hi);
        tp->metadata = malloc(mlen);
        if (tp->metadata == NULL) {
            abort();
        }
        memcpy(tp->metadata, md, mlen);
        tp->metadata_size = mlen;
        if (sl_log_enabled(SL_LOG_DEBUG)) {
            sl_log(SL_LOG_DEBUG, "kafka",
                   "source %s: marker %" PRIu64 ": %s [%d] at %" PRId64 " with %.*s", k->src->name,
                   c->seq, k->topics[t].name, (int)kp, start, (int)mlen, md);
        }
    }
    if (l->cnt == 0) {
        if (sl_log_enabled(SL_LOG_DEBUG)) {
            sl_log(SL_LOG_DEBUG, "kafka", "source %s: marker %" PRIu64 ": nothing to commit",
                   k->src->name, c->seq);
        }
        goto out;
    }
    rd_kafka_resp_err_t e = rd_kafka_commit(k->rk, l, 0);
    for (int i = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && i < l->cnt; i++) {
        if (l->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            e = l->elems[i].err;
        }
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bump(&k->n_commit_fail, 1);
        sl_log_limited(&k->lim_err, 10, SL_LOG_WARN, "kafka",
                       "source %s: cannot commit offsets to group %s: %s; trying again at the "
                       "next marker",
                       k->src->name, k->group, rd_kafka_err2str(e));
        r = -EAGAIN;
        goto out;
    }
    bump(&k->n_commits, 1);
    if (sl_log_enabled(SL_LOG_DEBUG)) {
        sl_log(SL_LOG_DEBUG, "kafka", "source %s: committed %d partition(s) at marker %" PRIu64,
               k->src->name, l->cnt, c->seq);
    }
    /* The committed record is now what a restart or the next owner resumes from. */
    for (int i = 0; i < l->cnt; i++) {
        int idx = index_of(k, l->elems[i].topic, l->elems[i].partition);
        int64_t done, wm, hi;
        if (idx >= 0 && sl__kafka_meta_parse(l->elems[i].metadata, l->elems[i].metadata_size, &done,
                                             &wm, &hi) == 0) {
            k->sp[idx].has_rec = true;
            k->sp[idx].rec_done = done;
            k->sp[idx].rec_wm = wm;
            k->sp[idx].rec_hi = hi;
        }
    }
out:
    rd_kafka_topic_partition_list_destroy(l);
    return r;
}

static bool ksrc_bounded(void *state)
{
    (void)state;
    return false;
}

static void ksrc_close(void *state)
{
    ksrc_free(state);
}

static bool ksrc_ready(void *state, char *reason, size_t cap)
{
    struct ksrc *k = state;
    bool joined = atomic_load(&k->joined);
    if (joined && atomic_load(&k->healthy)) {
        return true;
    }
    pthread_mutex_lock(&k->why_lock);
    snprintf(reason, cap, "source %s: %s", k->src->name,
             joined ? k->why : "has not joined its consumer group yet");
    pthread_mutex_unlock(&k->why_lock);
    return false;
}

/* ---- metrics ---- */

static double get_u64(void *ud)
{
    return (double)atomic_load_explicit((_Atomic uint64_t *)ud, memory_order_relaxed);
}

static double get_i64(void *ud)
{
    return (double)atomic_load_explicit((_Atomic int64_t *)ud, memory_order_relaxed);
}

static double get_ready(void *ud)
{
    struct ksrc *k = ud;
    return atomic_load(&k->joined) && atomic_load(&k->healthy) ? 1.0 : 0.0;
}

static double get_queue(void *ud)
{
    struct ksrc *k = ud;
    size_t used = 0;
    for (int i = 0; i < k->nthr; i++) {
        used += sl_ring_used(k->thr[i].ring);
    }
    return (double)used;
}

static int ksrc_metrics(void *state, struct sl_metrics *mt, const char *source, struct sl_err *err)
{
    struct ksrc *k = state;
    static const struct {
        const char *name, *help;
        size_t off;
        bool counter;
    } fs[] = {
        {"sluice_kafka_messages_total", "Kafka messages received.", offsetof(struct ksrc, n_msgs),
         true},
        {"sluice_kafka_bytes_total", "Kafka payload bytes received.",
         offsetof(struct ksrc, n_bytes), true},
        {"sluice_kafka_rebalances_total", "Partition assignments and revocations.",
         offsetof(struct ksrc, n_rebalances), true},
        {"sluice_kafka_commits_total", "Offset commits (replay start and record) that succeeded.",
         offsetof(struct ksrc, n_commits), true},
        {"sluice_kafka_commit_failures_total", "Offset commits that failed (retried later).",
         offsetof(struct ksrc, n_commit_fail), true},
        {"sluice_kafka_pauses_total", "Times the partitions were paused for backpressure.",
         offsetof(struct ksrc, n_pauses), true},
        {"sluice_kafka_errors_total", "Errors reported by librdkafka or the brokers.",
         offsetof(struct ksrc, n_errors), true},
        {"sluice_kafka_keys_cut_total", "Message keys longer than 64 KiB, cut.",
         offsetof(struct ksrc, n_key_cut), true},
        {"sluice_kafka_lag_messages",
         "Messages in the assigned partitions not yet read (high watermark minus position).",
         offsetof(struct ksrc, lag), false},
        {"sluice_kafka_assigned_partitions", "Partitions assigned to this consumer.",
         offsetof(struct ksrc, assigned_n), false},
    };
    int r = 0;
    for (size_t i = 0; i < SL_ARRAY_LEN(fs) && r >= 0; i++) {
        if (fs[i].counter) {
            r = sl_metrics_counter_fn_register(mt, fs[i].name, fs[i].help,
                                               SL_LABELS({"source", source}), get_u64,
                                               (char *)k + fs[i].off, err);
        } else {
            r = sl_metrics_gauge_fn_register(mt, fs[i].name, fs[i].help,
                                             SL_LABELS({"source", source}), get_i64,
                                             (char *)k + fs[i].off, err);
        }
    }
    r = r < 0 ? r
              : sl_metrics_gauge_fn_register(mt, "sluice_kafka_ready",
                                             "1 while the Kafka source is in its group and its "
                                             "brokers answer.",
                                             SL_LABELS({"source", source}), get_ready, k, err);
    r = r < 0 ? r
              : sl_metrics_gauge_fn_register(
                    mt, "sluice_kafka_queue_bytes",
                    "Bytes of fetched Kafka messages waiting for the source thread.",
                    SL_LABELS({"source", source}), get_queue, k, err);
    return r;
}

const struct sl_source_ops sl_kafka_source_ops = {
    .open = ksrc_open,
    .poll = ksrc_poll,
    .bounded = ksrc_bounded,
    .close = ksrc_close,
    .replay = false,
    .ready = ksrc_ready,
    .metrics = ksrc_metrics,
    .commit = ksrc_commit,
};
