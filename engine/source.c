/*
 * source.c - a source's thread: receive, decode, event time and watermarks, per-query
 * WHERE / keys / aggregate inputs, routing to shards, markers (DESIGN.md, Data flow).
 *
 * Everything here runs on the source's own thread, except sl__srcrt_new/connect/start/join/
 * free (main thread) and the counters, which any thread may read.
 *
 * Watermarks (SQL.md, "Watermarks and time"): each partition p has W(p) = max event time
 * seen in p minus the delay; the source watermark W = max(W, min of W(p) over partitions
 * that are not idle), where a partition without events holds W until it is idle. Every event
 * is stamped with the W in force before it is read; the shards judge lateness by that stamp.
 * A marker goes to every shard (and to per-event sinks) before the first event that follows
 * an advance of W past a window boundary of any query reading the source, and at the end.
 * Bounded sources send no wall-clock markers, so their output depends on the input only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "engine.h"
#include "format.h"
#include "keys.h"
#include "timefmt.h"

/* One query reading this source. */
struct qroute {
    const struct sl_plan *plan;
    bool per_event;
    bool ids;                /* per-event: compute row ids (sl__plan_row_ids) */
    struct sl_chan *sink_in; /* per-event: our channel into the sink */
    int64_t gran;            /* marker granularity in ms (0: none) */
    struct sl_qstats st;     /* filtered (both kinds), accepted (per-event) */
    struct sl_value *keys;   /* scratch: nkeys */
    struct sl_value *args;   /* scratch: nstates */
    struct sl_value *outs;   /* scratch: nout (per-event) */
    uint8_t *keybuf;
    size_t keybuf_cap;
};

struct part {
    int64_t max_ts;
    int64_t last_mono;
    int64_t hi;        /* next position to read (last read + 1); SL_POS_NONE if none */
    int64_t replay_hi; /* replaying below this position; SL_POS_NONE when live */
    int64_t replay_done;
    int64_t rmax; /* replay: largest event time replayed (valid when rhas) */
    bool rhas;
    bool has;
    bool idle;
    bool revoked; /* not read here: never holds the watermark */
    bool behind;  /* messages known to be waiting: never idle */
};

/* A marker sent but not yet committed (durable sources): what commit() will record once
 * every sink has acknowledged it. Shards fold the smallest position of their open windows
 * into minpos when they pass the marker on. */
struct pending {
    _Atomic uint64_t seq;
    int64_t done;
    int64_t *hi, *wm;        /* nparts */
    bool *replaying;         /* nparts */
    _Atomic int64_t *minpos; /* nparts, INT64_MAX: nothing open */
    atomic_int reports;
};

#define NPENDING 256

struct sl_src_io {
    struct sl__srcrt *s;
};

struct sl__srcrt {
    struct sl_engine *eng;
    const struct sl_source *def;
    int index;
    const struct sl_source_ops *ops;
    void *state;
    int nparts;
    bool bounded;
    struct sl_decoder *dec;
    struct sl_value *row; /* ncols + SL_PSEUDO_N */
    char *scratch;
    size_t scratch_cap;
    struct sl_eval ev;
    struct qroute *q;
    int nq;
    int nwindowed;
    struct sl_chan **to_shard; /* nshards; NULL if no windowed query */
    bool *dirty;               /* per shard: records reserved since the last commit */
    bool in_poll;              /* inside ops->poll: commit_all follows when it returns */
    struct sl_src_io io;

    struct part *parts;
    /* replay and commit (durable sources) */
    bool durable;
    int nreplaying;   /* partitions below their replay hi */
    bool live_fired;  /* a firing marker went out since start */
    bool restore_due; /* resumed at start: the windows up to restore_wm count as fired */
    int64_t restore_wm;
    int64_t fired_to;         /* wm of the last marker that fired windows (SL_WM_NONE: none) */
    struct pending *pend;     /* NPENDING, marker seq % NPENDING */
    _Atomic uint64_t seq_pub; /* the last marker sent, for other threads */
    uint64_t committed;       /* last marker committed */
    int64_t committed_done;
    int64_t *cstart, *chi; /* nparts: replay starts and hi of the last commit */
    int64_t *tmp;          /* nparts scratch */
    struct sl_commit_part *cparts;
    int reporters; /* shards that report per marker */
    int64_t wm, wm_marked;
    _Atomic int64_t wm_pub; /* wm for other threads (metrics, progress) */
    uint64_t seq;
    int64_t start_mono;
    int64_t all_idle_since, wm_at_all_idle;
    int64_t delay, idle_timeout, max_future;
    int64_t now_ms;      /* processing time, refreshed every few events */
    int64_t mono_now;    /* monotonic time of the current poll */
    int64_t marker_mono; /* when the last marker went out */
    uint32_t since_clock;
    bool need_arrival;

    sl_ctr in, decoded, rejected[SL_REJECT__COUNT + 1];
    FILE *dl;
    uint64_t dl_bytes, dl_max; /* under dl_lock: shards write late events here too */
    pthread_mutex_t dl_lock;
    atomic_bool dl_full; /* past dead_letter_max_bytes: a lock-free early exit */
    char *dl_path;

    pthread_t thr;
    bool started;
    _Alignas(SL_CACHELINE) struct sl_waiter wprod; /* we sleep here while a ring is full */
};

#define REJECT_FUTURE SL_REJECT__COUNT
#define TS_LIMIT      (INT64_C(1) << 55) /* ±1.1 million years: room for window arithmetic */

static const char *reject_name(int r)
{
    return r == REJECT_FUTURE ? SL_REJECT_FUTURE_NAME : sl_reject_name(r);
}

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void end_replay(struct sl__srcrt *s, int p);

int sl__srcrt_new(struct sl_engine *eng, const struct sl_source *src, struct sl__srcrt **ret,
                  struct sl_err *err)
{
    struct sl__srcrt *s = sl_xcalloc(1, sizeof(*s));
    int r;

    s->eng = eng;
    s->def = src;
    s->index = src->index;
    s->ops = src->conn->source;
    s->io.s = s;
    s->wm = s->wm_marked = SL_WM_NONE;
    atomic_init(&s->wm_pub, SL_WM_NONE);
    pthread_mutex_init(&s->dl_lock, NULL);
    sl_waiter_init(&s->wprod, SL_WAITER_SPIN_DEFAULT);
    if (s->ops == NULL) {
        r = sl_err_set(err, -ENOTSUP, "source %s: connector %s cannot run yet (not built)",
                       src->name, src->conn->name);
        goto fail;
    }
    s->delay = src->wm_col >= 0 ? src->wm_delay_ms : 0;
    s->idle_timeout = sl_options_int(&src->opts, "idle_timeout", 30000);
    const struct sl_opt_value *mf = sl_options_get(&src->opts, "max_future");
    s->max_future = sl_options_int(&src->opts, "max_future", 300000);
    if (s->ops->replay && (mf == NULL || !mf->given)) {
        s->max_future = 0; /* off for file and datagen unless asked for */
    }
    s->dl_max = (uint64_t)sl_options_int(&src->opts, "dead_letter_max_bytes", 64 << 20);
    r = sl_decoder_for_source(src, &s->dec, &s->scratch_cap);
    if (r < 0) {
        sl_err_set(err, r, "source %s: cannot create its decoder", src->name);
        goto fail;
    }
    s->scratch = sl_xcalloc(1, s->scratch_cap);
    sl_eval_init(&s->ev, 64 * 1024);
    s->row = sl_xcalloc((size_t)(src->ncols + SL_PSEUDO_N), sizeof(*s->row));
    s->need_arrival = src->wm_col < 0;

    const struct sl_catalog *cat = eng->cat;
    s->q = sl_xcalloc((size_t)cat->nplans, sizeof(*s->q));
    for (int i = 0; i < cat->nplans; i++) {
        const struct sl_plan *p = cat->plans[i];
        if (p->src != src) {
            continue;
        }
        struct qroute *q = &s->q[s->nq++];
        q->plan = p;
        q->per_event = p->window == SL_WINDOW_NONE;
        q->ids = sl__plan_row_ids(p);
        q->keys = sl_xcalloc((size_t)p->nkeys, sizeof(*q->keys));
        q->args = sl_xcalloc((size_t)p->nstates, sizeof(*q->args));
        q->outs = sl_xcalloc((size_t)p->nout, sizeof(*q->outs));
        q->keybuf_cap = 256;
        q->keybuf = sl_xcalloc(1, q->keybuf_cap);
        if (p->uses_arrival || p->uses_now) {
            s->need_arrival = true;
        }
        switch (p->window) {
        case SL_WINDOW_TUMBLE:
        case SL_WINDOW_HOP:
            q->gran = p->slide_ms;
            break;
        case SL_WINDOW_SESSION:
            q->gran = p->gap_ms < 1000 ? p->gap_ms : 1000;
            break;
        default:
            q->gran = 0;
            break;
        }
        if (!q->per_event) {
            s->nwindowed++;
        }
    }
    const char *dl = sl_options_str(&src->opts, "dead_letter");
    if (dl != NULL && dl[0] != '\0') {
        s->dl_path = strdup(dl);
        s->dl = fopen(dl, "a");
        if (s->dl == NULL) {
            r = sl_err_set(err, -errno, "source %s: cannot open dead_letter file %s: %s", src->name,
                           dl, strerror(errno));
            goto fail;
        }
    }
    r = s->ops->open(src, &s->state, &s->nparts, err);
    if (r < 0) {
        goto fail;
    }
    if (s->nparts < 1) {
        s->nparts = 1;
    }
    s->parts = sl_xcalloc((size_t)s->nparts, sizeof(*s->parts));
    for (int i = 0; i < s->nparts; i++) {
        s->parts[i].hi = s->parts[i].replay_hi = SL_POS_NONE;
    }
    s->fired_to = SL_WM_NONE;
    s->durable = s->ops->commit != NULL && (s->ops->durable == NULL || s->ops->durable(s->state));
    s->committed_done = SL_POS_NONE;
    if (s->durable) {
        size_t np = (size_t)s->nparts;
        s->pend = sl_xcalloc(NPENDING, sizeof(*s->pend));
        for (int i = 0; i < NPENDING; i++) {
            s->pend[i].hi = sl_xcalloc(np, sizeof(int64_t));
            s->pend[i].wm = sl_xcalloc(np, sizeof(int64_t));
            s->pend[i].replaying = sl_xcalloc(np, sizeof(bool));
            s->pend[i].minpos = sl_xcalloc(np, sizeof(*s->pend[i].minpos));
        }
        s->cstart = sl_xcalloc(np, sizeof(*s->cstart));
        s->chi = sl_xcalloc(np, sizeof(*s->chi));
        s->tmp = sl_xcalloc(np, sizeof(*s->tmp));
        s->cparts = sl_xcalloc(np, sizeof(*s->cparts));
        for (size_t i = 0; i < np; i++) {
            s->cstart[i] = s->chi[i] = SL_POS_NONE;
        }
    }
    s->bounded = s->ops->bounded != NULL && s->ops->bounded(s->state);
    if (!s->bounded || s->max_future > 0) {
        s->need_arrival = true;
    }
    *ret = s;
    return 0;
fail:
    sl__srcrt_free(s);
    return r;
}

void sl__srcrt_connect(struct sl__srcrt *s)
{
    struct sl_engine *eng = s->eng;
    if (s->nwindowed > 0) {
        s->reporters = eng->nshards;
        s->to_shard = sl_xcalloc((size_t)eng->nshards, sizeof(*s->to_shard));
        s->dirty = sl_xcalloc((size_t)eng->nshards, sizeof(*s->dirty));
        for (int i = 0; i < eng->nshards; i++) {
            s->to_shard[i] = sl__shard_input(eng->shards[i], s->index);
        }
    }
    for (int i = 0; i < s->nq; i++) {
        if (s->q[i].per_event) {
            s->q[i].sink_in = sl__sinkrt_input(eng->sinks[s->q[i].plan->index], 0);
        }
    }
}

void sl__srcrt_free(struct sl__srcrt *s)
{
    if (s == NULL) {
        return;
    }
    if (s->state != NULL && s->ops != NULL && s->ops->close != NULL) {
        s->ops->close(s->state);
    }
    for (int i = 0; i < s->nq; i++) {
        free(s->q[i].keys);
        free(s->q[i].args);
        free(s->q[i].outs);
        free(s->q[i].keybuf);
    }
    free(s->q);
    free(s->to_shard);
    free(s->dirty);
    if (s->pend != NULL) {
        for (int i = 0; i < NPENDING; i++) {
            free(s->pend[i].hi);
            free(s->pend[i].wm);
            free(s->pend[i].replaying);
            free((void *)s->pend[i].minpos);
        }
        free(s->pend);
    }
    free(s->cstart);
    free(s->chi);
    free(s->tmp);
    free(s->cparts);
    free(s->parts);
    free(s->row);
    free(s->scratch);
    if (s->dec != NULL) {
        sl_decoder_free(s->dec);
        sl_eval_fini(&s->ev);
    }
    if (s->dl != NULL) {
        fclose(s->dl);
    }
    pthread_mutex_destroy(&s->dl_lock);
    free(s->dl_path);
    free(s);
}

/* ---- channels ---- */

static void commit_all(struct sl__srcrt *s)
{
    if (s->to_shard != NULL) {
        for (int i = 0; i < s->eng->nshards; i++) {
            if (s->dirty[i]) {
                sl_chan_commit(s->to_shard[i]);
                s->dirty[i] = false;
            }
        }
    }
}

/* Room for len bytes on shard i's channel: commits everything first if it must wait, so
 * that no consumer waits for records we hold back while we wait for another. Gives up
 * (NULL) when *stop becomes true while waiting; stop NULL: never. */
static void *reserve_shard_until(struct sl__srcrt *s, int i, uint32_t len, const atomic_bool *stop)
{
    void *p = sl_chan_try_reserve(s->to_shard[i], len);
    if (p == NULL) {
        commit_all(s);
        p = sl_chan_reserve(s->to_shard[i], len, stop);
    }
    if (p != NULL) {
        s->dirty[i] = true;
    }
    return p;
}

static void *reserve_shard(struct sl__srcrt *s, int i, uint32_t len)
{
    return reserve_shard_until(s, i, len, &s->eng->stop);
}

static int64_t part_wm(const struct sl__srcrt *s, const struct part *p)
{
    return p->has ? p->max_ts - s->delay : SL_WM_NONE;
}

static void progress_commits(struct sl__srcrt *s);
static bool commit_advance(struct sl__srcrt *s, int64_t w);

/* Records what marker seq will commit (durable sources). */
static void pending_push(struct sl__srcrt *s, uint64_t seq, int64_t done)
{
    struct pending *e = &s->pend[seq % NPENDING];
    atomic_store_explicit(&e->seq, seq, memory_order_relaxed);
    e->done = done;
    for (int i = 0; i < s->nparts; i++) {
        e->hi[i] = s->parts[i].hi;
        e->wm[i] = part_wm(s, &s->parts[i]);
        e->replaying[i] = s->parts[i].replay_hi != SL_POS_NONE;
        atomic_store_explicit(&e->minpos[i], INT64_MAX, memory_order_relaxed);
    }
    atomic_store_explicit(&e->reports, 0, memory_order_release);
}

static void send_marker_flags(struct sl__srcrt *s, bool final, bool fire, uint8_t flags, int64_t wm)
{
    struct sl__marker m = {.kind = SL_REC_MARKER,
                           .final = final,
                           .fire = fire,
                           .flags = flags,
                           .source = (uint32_t)s->index,
                           .seq = ++s->seq,
                           .wm = wm};
    /* done is how far windows have fired: a marker that does not fire (shutdown, restore,
     * revocation) leaves it where the last one that fired put it. */
    if ((fire && wm != SL_WM_NONE) || (flags & SL_MARK_RESTORE)) {
        s->fired_to = wm;
    }
    uint64_t slot_seq =
        s->durable ? atomic_load_explicit(&s->pend[m.seq % NPENDING].seq, memory_order_relaxed) : 0;
    if (s->durable && (slot_seq == 0 || slot_seq <= s->committed)) {
        /* When the sinks are NPENDING markers behind, this one is not recorded: a later
         * one commits instead. */
        m.flags |= SL_MARK_TRACK;
        pending_push(s, m.seq, s->fired_to);
    }
    atomic_store_explicit(&s->seq_pub, m.seq, memory_order_relaxed);
    if (s->to_shard != NULL) {
        /* Queued like events: a marker read inside a poll is published with the poll's
         * other records when it returns (one commit and at most one wake of each shard per
         * poll, not one per marker: HOP sends one per slide); one sent between polls, or the
         * final one, at once. */
        for (int i = 0; i < s->eng->nshards; i++) {
            void *p = reserve_shard_until(s, i, sizeof(m), final ? NULL : &s->eng->stop);
            if (p != NULL) {
                memcpy(p, &m, sizeof(m));
            }
        }
        if (!s->in_poll || final) {
            commit_all(s);
        }
    }
    for (int i = 0; i < s->nq; i++) {
        if (s->q[i].per_event) {
            sl__send_marker(s->q[i].sink_in, &m, final ? NULL : &s->eng->stop);
        }
    }
    s->marker_mono = s->mono_now;
}

static void send_marker(struct sl__srcrt *s, bool final, bool fire)
{
    if (!final && s->nreplaying > 0) {
        return; /* nothing fires while a partition replays */
    }
    send_marker_flags(s, final, fire, 0, final && fire ? SL_WM_MAX : s->wm);
    s->wm_marked = s->wm;
    if (fire && s->wm != SL_WM_NONE) {
        /* A marker without a watermark fires nothing: a Kafka source sends such periodic
         * markers while it waits for its first assignment, and its resumes are still a
         * start (restore marker), not an assignment while running. */
        s->live_fired = true;
    }
}

/* Whether moving the watermark to w passes a window boundary of a query since the last
 * marker. */
static bool crosses(const struct sl__srcrt *s, int64_t w)
{
    if (w == SL_WM_NONE || w <= s->wm_marked) {
        return false;
    }
    if (s->wm_marked == SL_WM_NONE) {
        return s->nwindowed > 0;
    }
    for (int i = 0; i < s->nq; i++) {
        int64_t g = s->q[i].gran;
        if (g > 0 && sl_floor_div(w, g) != sl_floor_div(s->wm_marked, g)) {
            return true;
        }
    }
    return false;
}

static bool crossed_boundary(const struct sl__srcrt *s)
{
    return crosses(s, s->wm);
}

static bool utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        int k = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (k < 0 || i + (size_t)k >= n) {
            return false;
        }
        uint32_t cp = k == 0 ? c : (uint32_t)(c & (0x3f >> k));
        for (int j = 1; j <= k; j++) {
            if ((p[i + (size_t)j] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + (size_t)j] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0) {
            return false;
        }
        i += (size_t)k + 1;
    }
    return true;
}

/* ---- dead letters ---- */

/* Appends one line, within dead_letter_max_bytes; beyond it only the counters rise. */
static void dl_write(struct sl__srcrt *s, const struct sl_buf *b)
{
    pthread_mutex_lock(&s->dl_lock);
    if (s->dl_bytes + b->len <= s->dl_max) {
        fwrite(b->p, 1, b->len, s->dl);
        fflush(s->dl);
        s->dl_bytes += b->len;
    } else {
        s->dl_bytes = s->dl_max;
        atomic_store_explicit(&s->dl_full, true, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->dl_lock);
}

static void dead_letter(struct sl__srcrt *s, int reason, const char *buf, size_t len,
                        const struct sl_msg_meta *m)
{
    if (s->dl == NULL || atomic_load_explicit(&s->dl_full, memory_order_relaxed)) {
        return;
    }
    struct sl_buf b;
    sl_buf_init(&b);
    sl_buf_appendf(&b, "{\"reason\":\"%s\",\"source\":", reject_name(reason));
    sl_format_json_str(&b, s->def->name, strlen(s->def->name));
    sl_buf_appendf(&b, ",\"partition\":%d,\"offset\":%lld,\"payload\":", (int)m->partition,
                   (long long)m->offset);
    if (buf != NULL && utf8_valid((const uint8_t *)buf, len)) {
        sl_format_json_str(&b, buf, len);
    } else {
        sl_buf_append(&b, "null", 4);
    }
    sl_buf_append(&b, "}\n", 2);
    dl_write(s, &b);
    sl_buf_fini(&b);
}

void sl__srcrt_dead_late(struct sl__srcrt *s, const struct sl_plan *plan, int64_t ts, uint64_t pos)
{
    if (s->dl == NULL || atomic_load_explicit(&s->dl_full, memory_order_relaxed)) {
        return;
    }
    struct sl_buf b;
    char t[32];
    sl_buf_init(&b);
    sl_buf_puts(&b, "{\"reason\":\"late\",\"source\":");
    sl_format_json_str(&b, s->def->name, strlen(s->def->name));
    sl_buf_puts(&b, ",\"query\":");
    sl_format_json_str(&b, plan->name, strlen(plan->name));
    if (sl_format_rfc3339(ts, t, sizeof(t)) < 0) {
        t[0] = '\0';
    }
    sl_buf_appendf(&b,
                   ",\"partition\":%u,\"offset\":%llu,\"event_time\":%lld,"
                   "\"event_time_text\":\"%s\"}\n",
                   (unsigned)(pos >> 48), (unsigned long long)(pos & ((UINT64_C(1) << 48) - 1)),
                   (long long)ts, t);
    dl_write(s, &b);
    sl_buf_fini(&b);
}

static void reject(struct sl__srcrt *s, int reason, const char *buf, size_t len,
                   const struct sl_msg_meta *m)
{
    sl_ctr_add(&s->rejected[reason], 1);
    dead_letter(s, reason, buf, len, m);
}

/* ---- per event ---- */

static void recompute_watermark(struct sl__srcrt *s)
{
    int64_t cand = INT64_MAX;
    for (int i = 0; i < s->nparts; i++) {
        const struct part *q = &s->parts[i];
        if (q->idle || q->revoked) {
            continue;
        }
        if (!q->has) {
            return; /* holds the watermark where it is */
        }
        int64_t w = q->max_ts - s->delay;
        if (w < cand) {
            cand = w;
        }
    }
    if (cand != INT64_MAX && (s->wm == SL_WM_NONE || cand > s->wm)) {
        s->wm = cand;
        atomic_store_explicit(&s->wm_pub, cand, memory_order_relaxed);
    }
}

static void update_watermark(struct sl__srcrt *s, int p, int64_t ts)
{
    struct part *pt = &s->parts[p];
    if (!pt->has || ts > pt->max_ts) {
        pt->max_ts = ts;
    }
    pt->has = true;
    pt->idle = false;
    pt->last_mono = s->mono_now;
    s->all_idle_since = 0;
    recompute_watermark(s);
}

/* SESSION queries on replay: whether an event joins a session depends on which sessions
 * had fired when it was first read, which depends on the watermark then, not on the
 * commit's done. The watermark recomputed from the replayed events alone (each replaying
 * partition's largest event time so far, minus the delay, the least over them) is a lower
 * bound of it: every event it finds late was late then. SL_WM_NONE until every replaying
 * partition has replayed an event. */
static int64_t replay_stamp(const struct sl__srcrt *s)
{
    int64_t w = INT64_MAX;
    for (int i = 0; i < s->nparts; i++) {
        const struct part *p = &s->parts[i];
        if (p->replay_hi == SL_POS_NONE) {
            continue;
        }
        if (!p->rhas) {
            return SL_WM_NONE;
        }
        int64_t c = p->rmax - s->delay;
        w = c < w ? c : w;
    }
    if (w == INT64_MAX) {
        return SL_WM_NONE;
    }
    int64_t done = INT64_MAX;
    for (int i = 0; i < s->nparts; i++) {
        if (s->parts[i].replay_hi != SL_POS_NONE && s->parts[i].replay_done < done) {
            done = s->parts[i].replay_done;
        }
    }
    return w < done ? w : done;
}

static void route_windowed(struct sl__srcrt *s, struct qroute *q, int64_t ts, int64_t stamp,
                           uint64_t pos, bool replay)
{
    const struct sl_plan *p = q->plan;
    const struct sl_value *row = s->row;
    uint64_t filters = 0;
    size_t text = 0;

    for (int k = 0; k < p->nkeys; k++) {
        sl_expr_eval(p->keys[k], row, &s->ev, &q->keys[k]);
    }
    for (int i = 0; i < p->nstates; i++) {
        const struct sl_plan_state *st = &p->states[i];
        if (st->filter != NULL && !sl_expr_true(st->filter, row, &s->ev)) {
            q->args[i] = sl_value_null(SL_TYPE_NULL);
            continue;
        }
        filters |= UINT64_C(1) << i;
        if (st->arg != NULL) {
            sl_expr_eval(st->arg, row, &s->ev, &q->args[i]);
            if (q->args[i].type == SL_TYPE_TEXT && !q->args[i].null) {
                text += q->args[i].len;
            }
        } else {
            q->args[i] = sl_value_null(SL_TYPE_NULL);
        }
    }
    size_t keylen = sl_key_size(q->keys, p->nkeys);
    size_t len = sizeof(struct sl__evrec) + pad8(keylen) +
                 (size_t)p->nstates * sizeof(struct sl_value) + text;
    len = pad8(len);
    if (len > sl_chan_max_record(s->to_shard[0])) {
        sl_ctr_add(&q->st.over_limit, 1); /* cannot happen with the default limits */
        return;
    }
    if (keylen > q->keybuf_cap) {
        free(q->keybuf);
        q->keybuf_cap = pad8(keylen * 2);
        q->keybuf = sl_xcalloc(1, q->keybuf_cap);
    }
    sl_key_encode(q->keys, p->nkeys, q->keybuf);
    uint64_t h = sl_hash_bytes(q->keybuf, keylen, (uint64_t)p->index);
    int shard = (int)(h % (uint64_t)s->eng->nshards);
    uint8_t *rec = reserve_shard(s, shard, (uint32_t)len);
    if (rec == NULL) {
        return; /* stopping */
    }
    struct sl__evrec *e = (struct sl__evrec *)rec;
    memset(e, 0, sizeof(*e));
    e->kind = SL_REC_EVENT;
    e->replay = replay;
    e->query = (uint16_t)p->index;
    e->nstates = (uint16_t)p->nstates;
    e->keylen = (uint32_t)keylen;
    e->filters = filters;
    e->keyhash = h;
    e->ts = ts;
    e->stamp = stamp;
    e->pos = pos;
    uint8_t *kp = rec + sizeof(*e);
    memcpy(kp, q->keybuf, keylen);
    struct sl_value *vals = (struct sl_value *)(kp + pad8(keylen));
    uint8_t *tp = (uint8_t *)(vals + p->nstates);
    for (int i = 0; i < p->nstates; i++) {
        vals[i] = q->args[i];
        if (vals[i].type == SL_TYPE_TEXT && !vals[i].null) {
            if (vals[i].len > 0) {
                memcpy(tp, q->args[i].u.s, vals[i].len);
            }
            vals[i].u.s = (const char *)(uintptr_t)(tp - rec);
            tp += vals[i].len;
        }
    }
}

static void route_per_event(struct sl__srcrt *s, struct qroute *q, const struct sl_msg_meta *m,
                            bool replay)
{
    if (replay) {
        sl_ctr_add(&q->st.replay_skipped, 1); /* emitted before the crash */
        return;
    }
    const struct sl_plan *p = q->plan;
    char id[33] = {0};
    const char *topic = m->topic != NULL ? m->topic : "";
    if (q->ids) {
        sl_row_id_event(p->name, topic, m->topic != NULL ? m->topic_len : 0, m->partition,
                        m->offset, id);
    }
    s->row[sl_pseudo_slot(s->def, SL_PSEUDO_ID)] = sl_value_text(id, 32);
    s->row[sl_pseudo_slot(s->def, SL_PSEUDO_REV)] = sl_value_bigint(1);
    s->row[sl_pseudo_slot(s->def, SL_PSEUDO_IS_FINAL)] = sl_value_bool(true);
    for (int i = 0; i < p->nout; i++) {
        sl_expr_eval(p->out[i].expr, s->row, &s->ev, &q->outs[i]);
    }
    sl_ctr_add(&q->st.accepted, 1);
    struct sl__rowout o = {.out = q->outs,
                           .nout = p->nout,
                           .rev = 1,
                           .is_final = true,
                           .wstart = INT64_MIN,
                           .wend = INT64_MIN,
                           .id = id};
    sl__send_row(q->sink_in, &o, &s->eng->stop);
}

static void process(struct sl__srcrt *s, const struct sl_msg_meta *m, const char *buf, size_t len)
{
    const struct sl_source *src = s->def;
    struct sl_value *row = s->row;
    int64_t arrival = m->arrival_ms;

    if (arrival == 0 && s->need_arrival) {
        if (++s->since_clock >= 64 || s->now_ms == 0) {
            s->now_ms = sl_now_ms();
            s->since_clock = 0;
        }
        arrival = s->now_ms;
    }
    row[sl_pseudo_slot(src, SL_PSEUDO_TOPIC)] =
        m->topic != NULL ? sl_value_text(m->topic, m->topic_len) : sl_value_null(SL_TYPE_TEXT);
    row[sl_pseudo_slot(src, SL_PSEUDO_KEY)] =
        m->key != NULL ? sl_value_text(m->key, m->key_len) : sl_value_null(SL_TYPE_TEXT);
    row[sl_pseudo_slot(src, SL_PSEUDO_PARTITION)] = sl_value_bigint(m->partition);
    row[sl_pseudo_slot(src, SL_PSEUDO_OFFSET)] = sl_value_bigint(m->offset);
    row[sl_pseudo_slot(src, SL_PSEUDO_ARRIVAL)] = sl_value_ts(arrival);

    int64_t ts = arrival;
    if (src->wm_col >= 0) {
        const struct sl_value *t = &row[src->wm_col];
        if (t->null) {
            reject(s, SL_REJECT_BAD_EVENT_TIME, buf, len, m);
            return;
        }
        ts = t->u.i;
    }
    if (ts > TS_LIMIT || ts < -TS_LIMIT) {
        reject(s, SL_REJECT_BAD_EVENT_TIME, buf, len, m);
        return;
    }
    if (s->max_future > 0 && src->wm_col >= 0 && ts > arrival + s->max_future) {
        reject(s, REJECT_FUTURE, buf, len, m);
        return;
    }
    sl_ctr_add(&s->decoded, 1);
    int part = m->partition >= 0 && m->partition < s->nparts ? m->partition : 0;
    struct part *pt = &s->parts[part];
    bool replay = false;
    int64_t stamp;
    int64_t sstamp; /* the stamp SESSION queries see */
    if (pt->replay_hi != SL_POS_NONE) {
        /* Replay (DESIGN.md): judged against the windows expired at the commit, folded
         * silently; the partition's watermark stays at its recorded value. */
        replay = true;
        stamp = pt->replay_done;
        sstamp = replay_stamp(s);
        if (!pt->rhas || ts > pt->rmax) {
            pt->rmax = ts;
            pt->rhas = true;
        }
    } else {
        if (crossed_boundary(s)) {
            send_marker(s, false, true);
        }
        stamp = sstamp = s->wm;
        update_watermark(s, part, ts);
    }

    uint64_t pos = ((uint64_t)(uint32_t)m->partition << 48) |
                   ((uint64_t)m->offset & ((UINT64_C(1) << 48) - 1));
    for (int i = 0; i < s->nq; i++) {
        struct qroute *q = &s->q[i];
        s->ev.scratch_used = 0;
        s->ev.now_ms = arrival;
        if (q->plan->where != NULL && !sl_expr_true(q->plan->where, row, &s->ev)) {
            sl_ctr_add(&q->st.filtered, 1);
            continue;
        }
        if (q->per_event) {
            route_per_event(s, q, m, replay);
        } else {
            route_windowed(s, q, ts, q->plan->window == SL_WINDOW_SESSION ? sstamp : stamp, pos,
                           replay);
        }
    }
}

/* Positions: a message at or past a partition's replay hi ends its replay; every message,
 * rejected ones included, moves the partition's read position. */
static struct part *pos_before(struct sl__srcrt *s, const struct sl_msg_meta *m)
{
    int p = m->partition >= 0 && m->partition < s->nparts ? m->partition : 0;
    struct part *pt = &s->parts[p];
    if (pt->replay_hi != SL_POS_NONE && m->offset >= pt->replay_hi) {
        end_replay(s, p);
    }
    return pt;
}

static void pos_after(struct sl__srcrt *s, struct part *pt, const struct sl_msg_meta *m)
{
    if (pt->hi == SL_POS_NONE || m->offset + 1 > pt->hi) {
        pt->hi = m->offset + 1;
    }
    if (pt->replay_hi != SL_POS_NONE && m->offset + 1 >= pt->replay_hi) {
        end_replay(s, (int)(pt - s->parts));
    }
}

int sl_src_io_json(struct sl_src_io *io, const char *buf, size_t len,
                   const struct sl_msg_meta *meta)
{
    struct sl__srcrt *s = io->s;
    sl_ctr_add(&s->in, 1);
    struct part *pt = pos_before(s, meta);
    int r = sl_decode(s->dec, buf, len, s->row, s->scratch, s->scratch_cap);
    if (r < 0) {
        reject(s, -r, buf, len, meta);
    } else {
        process(s, meta, buf, len);
    }
    pos_after(s, pt, meta);
    return 0;
}

int sl_src_io_row(struct sl_src_io *io, const struct sl_value *row, const struct sl_msg_meta *meta)
{
    return sl_src_io_decoded(io, row, NULL, 0, meta);
}

int sl_src_io_decoded(struct sl_src_io *io, const struct sl_value *row, const char *buf, size_t len,
                      const struct sl_msg_meta *meta)
{
    struct sl__srcrt *s = io->s;
    sl_ctr_add(&s->in, 1);
    struct part *pt = pos_before(s, meta);
    memcpy(s->row, row, sizeof(*row) * (size_t)s->def->ncols);
    process(s, meta, buf, len);
    pos_after(s, pt, meta);
    return 0;
}

bool sl_src_io_stopping(const struct sl_src_io *io)
{
    return atomic_load_explicit(&io->s->eng->stop, memory_order_relaxed);
}

/* ---- timers ---- */

static void check_idle(struct sl__srcrt *s)
{
    if (s->bounded || s->nreplaying > 0) {
        return;
    }
    int64_t now = sl_mono_ms();
    bool all = true;
    for (int i = 0; i < s->nparts; i++) {
        struct part *p = &s->parts[i];
        int64_t since = p->has ? p->last_mono : s->start_mono;
        if (!p->idle && !p->behind && now - since >= s->idle_timeout) {
            p->idle = true;
            recompute_watermark(s);
        }
        all = all && (p->idle || p->revoked);
    }
    if (!all || s->wm == SL_WM_NONE) {
        return;
    }
    if (s->all_idle_since == 0) {
        s->all_idle_since = now;
        s->wm_at_all_idle = s->wm;
        return;
    }
    int64_t w = s->wm_at_all_idle + (now - s->all_idle_since);
    /* Durable sources write the advance ahead (DESIGN.md) and only when it fires something:
     * once every marker so far is committed, it is committed with the acknowledged done and
     * the new watermark for every partition; until then it waits. Events then carry the
     * same stamps on replay as they did live. */
    if (w > s->wm && s->durable && (!crosses(s, w) || !commit_advance(s, w))) {
        return;
    }
    if (w > s->wm) {
        s->wm = w;
        atomic_store_explicit(&s->wm_pub, w, memory_order_relaxed);
        if (crossed_boundary(s)) {
            send_marker(s, false, true);
        }
    }
}

static void *source_main(void *arg)
{
    struct sl__srcrt *s = arg;
    bool ended = false;
    sl_thread_name("sl-src-%s", s->def->name);
    int backoff = 10;

    s->start_mono = sl_mono_ms();
    while (!atomic_load_explicit(&s->eng->stop, memory_order_relaxed)) {
        s->mono_now = sl_mono_ms();
        s->in_poll = true;
        int r = s->ops->poll(s->state, &s->io, 100);
        s->in_poll = false;
        commit_all(s);
        if (r == SL_POLL_END) {
            ended = true;
            break;
        }
        if (r < 0) {
            /* The connector logs its own errors; back off so a broken peer costs no CPU. */
            struct timespec ts = {.tv_sec = backoff / 1000, .tv_nsec = (backoff % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            backoff = backoff < 5000 ? backoff * 2 : 5000;
            continue;
        }
        backoff = 10;
        if (s->durable) {
            progress_commits(s);
        }
        check_idle(s);
        /* A live source sends a marker at least every second even when the watermark has
         * not moved (DESIGN.md): corrections and early rows go out, sinks acknowledge, and
         * sources read only by per-event queries still commit. Bounded sources do not, so
         * their output depends on their input only. */
        if (!s->bounded && s->mono_now - s->marker_mono >= 1000) {
            send_marker(s, false, true);
        }
    }
    /* End of a bounded input fires every window; a shutdown keeps them open (replay). */
    send_marker(s, true, ended);
    if (s->durable) {
        /* Shutdown (DESIGN.md): commit once the sinks have delivered what was emitted, or
         * what they could before they stopped. */
        while (s->committed < s->seq) {
            bool sinks_done = atomic_load(&s->eng->sinks_running) == 0;
            progress_commits(s);
            if (sinks_done) {
                break;
            }
            struct timespec ts = {.tv_sec = 0, .tv_nsec = 5 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int sl__srcrt_start(struct sl__srcrt *s)
{
    int r = pthread_create(&s->thr, NULL, source_main, s);
    if (r != 0) {
        return -r;
    }
    s->started = true;
    return 0;
}

void sl__srcrt_join(struct sl__srcrt *s)
{
    if (s->started) {
        pthread_join(s->thr, NULL);
        s->started = false;
    }
}

uint64_t sl__srcrt_events(struct sl__srcrt *s)
{
    return sl_ctr_get(&s->in);
}

void sl__srcrt_summary(struct sl__srcrt *s, FILE *f)
{
    uint64_t rej = 0;
    for (int i = 1; i <= SL_REJECT__COUNT; i++) {
        rej += sl_ctr_get(&s->rejected[i]);
    }
    fprintf(f, "source %s: in=%llu decoded=%llu rejected=%llu", s->def->name,
            (unsigned long long)sl_ctr_get(&s->in), (unsigned long long)sl_ctr_get(&s->decoded),
            (unsigned long long)rej);
    for (int i = 1; i <= SL_REJECT__COUNT; i++) {
        uint64_t n = sl_ctr_get(&s->rejected[i]);
        if (n > 0) {
            fprintf(f, " %s=%llu", reject_name(i), (unsigned long long)n);
        }
    }
    fputc('\n', f);
    for (int i = 0; i < s->nq; i++) {
        struct qroute *q = &s->q[i];
        struct sl_qstats tot = {0};
        sl_ctr_add(&tot.filtered, sl_ctr_get(&q->st.filtered));
        sl_ctr_add(&tot.accepted, sl_ctr_get(&q->st.accepted));
        sl_ctr_add(&tot.over_limit, sl_ctr_get(&q->st.over_limit));
        if (!q->per_event) {
            for (int k = 0; k < s->eng->nshards; k++) {
                struct sl_qstats *x = sl__shard_qstats(s->eng->shards[k], q->plan->index);
                sl_ctr_add(&tot.late, sl_ctr_get(&x->late));
                sl_ctr_add(&tot.over_limit, sl_ctr_get(&x->over_limit));
                sl_ctr_add(&tot.accepted, sl_ctr_get(&x->accepted));
            }
        }
        fprintf(f, "  query %s: filtered=%llu late=%llu over_limit=%llu accepted=%llu\n",
                q->plan->name, (unsigned long long)sl_ctr_get(&tot.filtered),
                (unsigned long long)sl_ctr_get(&tot.late),
                (unsigned long long)sl_ctr_get(&tot.over_limit),
                (unsigned long long)sl_ctr_get(&tot.accepted));
    }
}

struct sl_waiter *sl__srcrt_waiter(struct sl__srcrt *s)
{
    return &s->wprod;
}

int64_t sl__srcrt_watermark(struct sl__srcrt *s)
{
    return atomic_load_explicit(&s->wm_pub, memory_order_relaxed);
}

bool sl__srcrt_ready(struct sl__srcrt *s, char *reason, size_t cap)
{
    if (s->state == NULL || s->ops->ready == NULL) {
        return true;
    }
    return s->ops->ready(s->state, reason, cap);
}

uint64_t sl__srcrt_rejected(struct sl__srcrt *s)
{
    uint64_t n = 0;
    for (int i = 1; i <= SL_REJECT__COUNT; i++) {
        n += sl_ctr_get(&s->rejected[i]);
    }
    return n;
}

static double watermark_lag(void *ud)
{
    struct sl__srcrt *s = ud;
    int64_t w = sl__srcrt_watermark(s);
    return w == SL_WM_NONE ? 0.0 : (double)(sl_now_ms() - w) / 1000.0;
}

int sl__srcrt_metrics(struct sl__srcrt *s, struct sl_err *err)
{
    struct sl_metrics *m = s->eng->metrics;
    const char *src = s->def->name;
    int r = sl__metric_ctr(s->eng, "sluice_source_events_total",
                           "Events received by a source (in = decoded + rejected).",
                           SL_LABELS({"source", src}), &s->in, err);
    r = r < 0 ? r
              : sl__metric_ctr(s->eng, "sluice_source_decoded_total",
                               "Events a source decoded and accepted for its queries.",
                               SL_LABELS({"source", src}), &s->decoded, err);
    for (int i = 1; i <= SL_REJECT__COUNT && r >= 0; i++) {
        r = sl__metric_ctr(s->eng, "sluice_source_rejected_total",
                           "Events a source rejected, by reason (dead-lettered when set).",
                           SL_LABELS({"source", src}, {"reason", reject_name(i)}), &s->rejected[i],
                           err);
    }
    if (r >= 0) {
        r = sl_metrics_gauge_fn_register(m, "sluice_source_watermark_lag_seconds",
                                         "Wall clock minus the source watermark.",
                                         SL_LABELS({"source", src}), watermark_lag, s, err);
    }
    if (r >= 0 && s->ops->metrics != NULL) {
        r = s->ops->metrics(s->state, m, src, err);
    }
    for (int i = 0; i < s->nq && r >= 0; i++) {
        struct qroute *q = &s->q[i];
        const char *qn = q->plan->name;
        r = sl__metric_ctr(s->eng, "sluice_query_filtered_total",
                           "Decoded events a query's WHERE dropped.",
                           SL_LABELS({"source", src}, {"query", qn}), &q->st.filtered, err);
        r = r < 0
                ? r
                : sl__metric_ctr(s->eng, "sluice_query_over_limit_total",
                                 "Events refused by a limit (max_groups, record size).",
                                 SL_LABELS({"source", src}, {"query", qn}), &q->st.over_limit, err);
        if (r >= 0 && q->per_event) {
            r = sl__metric_ctr(s->eng, "sluice_query_accepted_total",
                               "Events folded into a query's windows or emitted by it.",
                               SL_LABELS({"source", src}, {"query", qn}), &q->st.accepted, err);
        }
        if (r >= 0 && q->per_event) {
            r = sl__metric_ctr(s->eng, "sluice_query_replay_skipped_total",
                               "Events read again on replay and not folded (already done).",
                               SL_LABELS({"source", src}, {"query", qn}), &q->st.replay_skipped,
                               err);
        }
    }
    return r;
}

/* ---- replay and commit (runtime.h, DESIGN.md "Delivery guarantees") ---- */

static void send_restore(struct sl__srcrt *s)
{
    /* Resumed at start and every replay is done: windows that ended by the commit's done
     * fired before the crash; sessions that ended by then become fired, silently. */
    s->restore_due = false;
    send_marker_flags(s, false, false, SL_MARK_RESTORE, s->restore_wm);
    s->wm_marked = s->wm;
}

static void end_replay(struct sl__srcrt *s, int p)
{
    struct part *pt = &s->parts[p];
    if (pt->replay_hi == SL_POS_NONE) {
        return;
    }
    pt->replay_hi = SL_POS_NONE;
    pt->last_mono = s->mono_now != 0 ? s->mono_now : sl_mono_ms();
    if (--s->nreplaying == 0 && s->restore_due) {
        send_restore(s);
    }
}

void sl_src_io_resume(struct sl_src_io *io, int partition, int64_t done, int64_t wm, int64_t hi)
{
    struct sl__srcrt *s = io->s;
    if (partition < 0 || partition >= s->nparts) {
        return;
    }
    struct part *pt = &s->parts[partition];
    if (pt->replay_hi != SL_POS_NONE) {
        s->nreplaying--;
    }
    pt->revoked = false;
    pt->idle = false;
    pt->last_mono = sl_mono_ms();
    if (wm != SL_POS_NONE) {
        pt->has = true;
        pt->max_ts = wm + s->delay;
    }
    pt->hi = hi;
    pt->rhas = false;
    pt->replay_hi = SL_POS_NONE;
    if (hi != SL_POS_NONE) {
        pt->replay_hi = hi;
        pt->replay_done = done;
        s->nreplaying++;
    }
    if (done != SL_POS_NONE && !s->live_fired) {
        /* At start: the source watermark resumes at the commit's done (the smallest over
         * partitions resumed from different commits), or higher when every partition's
         * recorded watermark is (an all-idle advance). */
        if (!s->restore_due || done < s->restore_wm) {
            s->restore_wm = done;
        }
        s->restore_due = true;
        if (s->wm == SL_WM_NONE || s->wm < s->restore_wm) {
            s->wm = s->restore_wm;
        }
        recompute_watermark(s);
        s->wm_marked = s->wm;
        atomic_store_explicit(&s->wm_pub, s->wm, memory_order_relaxed);
    } else if (s->live_fired) {
        /* An assignment while running (DESIGN.md, Kafka): the source watermark is the least
         * over the partitions read here, so it may go back; the moved partition's events
         * are then judged by its own progress, and windows of its keys that end before
         * what already fired here go out as corrections. */
        int64_t cand = INT64_MAX;
        for (int i = 0; i < s->nparts; i++) {
            const struct part *q = &s->parts[i];
            if (!q->idle && !q->revoked && q->has && q->max_ts - s->delay < cand) {
                cand = q->max_ts - s->delay;
            }
        }
        if (cand != INT64_MAX && s->wm != SL_WM_NONE && cand < s->wm) {
            s->wm = cand;
            atomic_store_explicit(&s->wm_pub, cand, memory_order_relaxed);
        }
    }
    if (s->nreplaying == 0 && s->restore_due) {
        send_restore(s);
    }
}

void sl_src_io_replay_end(struct sl_src_io *io, int partition)
{
    struct sl__srcrt *s = io->s;
    if (partition >= 0 && partition < s->nparts) {
        end_replay(s, partition);
    }
}

void sl_src_io_revoke(struct sl_src_io *io, int partition)
{
    struct sl__srcrt *s = io->s;
    if (partition < 0 || partition >= s->nparts) {
        return;
    }
    struct part *pt = &s->parts[partition];
    if (pt->replay_hi != SL_POS_NONE) {
        pt->replay_hi = SL_POS_NONE;
        s->nreplaying--;
    }
    bool had = pt->has || pt->hi != SL_POS_NONE;
    pt->revoked = true;
    pt->has = false;
    pt->hi = SL_POS_NONE;
    if (had) {
        /* State built from the partition is discarded, never emitted: its new owner
         * replays it. */
        send_marker_flags(s, false, false, SL_MARK_REVOKE, partition);
    }
    recompute_watermark(s);
    if (s->nreplaying == 0 && s->restore_due) {
        send_restore(s);
    }
}

void sl_src_io_assign(struct sl_src_io *io, int partition)
{
    struct sl__srcrt *s = io->s;
    if (partition >= 0 && partition < s->nparts) {
        struct part *pt = &s->parts[partition];
        pt->revoked = false;
        pt->idle = false;
        pt->last_mono = sl_mono_ms();
    }
}

void sl_src_io_behind(struct sl_src_io *io, int partition, bool behind)
{
    struct sl__srcrt *s = io->s;
    if (partition >= 0 && partition < s->nparts) {
        struct part *pt = &s->parts[partition];
        pt->behind = behind;
        if (behind && pt->idle) {
            pt->idle = false;
            pt->last_mono = sl_mono_ms();
        }
    }
}

int sl__srcrt_nparts(const struct sl__srcrt *s)
{
    return s->nparts;
}

bool sl__srcrt_durable(const struct sl__srcrt *s)
{
    return s->durable;
}

void sl__srcrt_report(struct sl__srcrt *s, uint64_t seq, const int64_t *minpos)
{
    struct pending *e = &s->pend[seq % NPENDING];
    for (int i = 0; i < s->nparts; i++) {
        int64_t cur = atomic_load_explicit(&e->minpos[i], memory_order_relaxed);
        while (minpos[i] < cur &&
               !atomic_compare_exchange_weak_explicit(&e->minpos[i], &cur, minpos[i],
                                                      memory_order_relaxed, memory_order_relaxed)) {
        }
    }
    atomic_fetch_add_explicit(&e->reports, 1, memory_order_release);
}

/* The highest marker every sink reading this source has delivered. */
static uint64_t acknowledged(struct sl__srcrt *s)
{
    uint64_t k = UINT64_MAX;
    for (int i = 0; i < s->nq; i++) {
        uint64_t d = sl__sinkrt_delivered(s->eng->sinks[s->q[i].plan->index]);
        k = d < k ? d : k;
    }
    return k == UINT64_MAX ? s->seq : k;
}

static int do_commit(struct sl__srcrt *s, uint64_t seq, int64_t done, const int64_t *hi,
                     const int64_t *wm, const int64_t *start, const bool *replaying)
{
    for (int i = 0; i < s->nparts; i++) {
        s->cparts[i].hi = hi[i];
        s->cparts[i].wm = wm[i];
        s->cparts[i].start = start[i];
        s->cparts[i].replaying = replaying != NULL && replaying[i];
    }
    struct sl_commit c = {.done = done, .seq = seq, .nparts = s->nparts, .parts = s->cparts};
    return s->ops->commit(s->state, &c);
}

static void progress_commits(struct sl__srcrt *s)
{
    uint64_t k = acknowledged(s);
    if (k <= s->committed) {
        return;
    }
    /* The newest recorded marker at or below k whose shards have all reported (markers
     * sent while every slot held an uncommitted one were not recorded). */
    struct pending *best = NULL;
    uint64_t bseq = 0;
    for (int i = 0; i < NPENDING; i++) {
        struct pending *e = &s->pend[i];
        uint64_t q = atomic_load_explicit(&e->seq, memory_order_relaxed);
        if (q > s->committed && q <= k && q > bseq &&
            atomic_load_explicit(&e->reports, memory_order_acquire) >= s->reporters) {
            best = e;
            bseq = q;
        }
    }
    if (best == NULL) {
        return;
    }
    int64_t *start = s->tmp;
    for (int i = 0; i < s->nparts; i++) {
        int64_t m = atomic_load_explicit(&best->minpos[i], memory_order_relaxed);
        int64_t h = best->hi[i];
        start[i] = h == SL_POS_NONE ? SL_POS_NONE : (m < h ? m : h);
    }
    uint64_t seq = atomic_load_explicit(&best->seq, memory_order_relaxed);
    if (do_commit(s, seq, best->done, best->hi, best->wm, start, best->replaying) < 0) {
        return; /* the next acknowledged marker tries again */
    }
    memcpy(s->cstart, start, sizeof(*start) * (size_t)s->nparts);
    memcpy(s->chi, best->hi, sizeof(*start) * (size_t)s->nparts);
    s->committed = seq;
    s->committed_done = best->done;
}

static bool commit_advance(struct sl__srcrt *s, int64_t w)
{
    progress_commits(s);
    if (s->committed < s->seq) {
        return false;
    }
    int64_t *wm = s->tmp;
    for (int i = 0; i < s->nparts; i++) {
        if (s->parts[i].hi != s->chi[i]) {
            return false; /* read since the last marker: the next one commits it first */
        }
        wm[i] = s->chi[i] == SL_POS_NONE ? SL_POS_NONE : w;
    }
    /* Nothing replays now (check_idle), and only a final marker is sent during a replay. */
    return do_commit(s, s->committed, s->committed_done, s->chi, wm, s->cstart, NULL) == 0;
}

uint64_t sl__srcrt_markers(struct sl__srcrt *s)
{
    return atomic_load_explicit(&s->seq_pub, memory_order_relaxed);
}
