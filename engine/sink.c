/*
 * sink.c - a sink's thread: rows in from shards (windowed queries) or from the source
 * thread (per-event queries), in SQL.md's order, out through the connector with retries.
 *
 * Order (SQL.md, "Values in results"): rows of a windowed query are grouped by the marker
 * they were emitted at. A row that arrives on input i after that input's m-th marker belongs
 * to batch m + 1; batch k is complete once every input has delivered marker k. A complete
 * batch is sorted by (window_end, window_start, group key) and written. Per-event rows have
 * one input and are written in arrival order, which is source order; with the sink's
 * `linger` option (lambda) they are held until `batch_size` rows or `linger` has passed since
 * the first one, so that a trickle of rows shares invocations (SQL.md).
 *
 * Only the sink's thread touches this state; the row counter is read by others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "keys.h"

struct held {
    uint64_t batch;
    uint8_t *rec;
};

struct input {
    struct sl_chan *c;
    uint64_t markers;
    bool final;
    struct held *rows;
    int head, n, cap;
};

struct sl__sinkrt {
    struct sl_engine *eng;
    const struct sl_plan *plan;
    const struct sl_sink_ops *ops;
    void *state;
    bool windowed;
    int64_t linger_ms;        /* per-event rows: hold up to this long (0: write at once) */
    int64_t linger_rows;      /* ... or until this many are held */
    int64_t linger_since;     /* monotonic ms of the first held row, 0: none held */
    uint64_t markers_at_held; /* markers read before the first held row */
    struct input *in;
    int nin;
    uint64_t flushed;
    _Atomic uint64_t delivered; /* highest marker whose rows are all delivered */
    sl_ctr rows_out, write_retries;
    /* write scratch */
    struct sl_row *rows;
    struct sl_value *vals;
    const uint8_t **recs;
    int cap;
    pthread_t thr;
    bool started;
    _Alignas(SL_CACHELINE) struct sl_waiter w;
};

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void ensure(struct sl__sinkrt *k, int n)
{
    if (n <= k->cap) {
        return;
    }
    int cap = k->cap ? k->cap : 256;
    while (cap < n) {
        cap *= 2;
    }
    /* Rows and values are refilled after every growth; record pointers are kept. */
    free(k->rows);
    free(k->vals);
    k->rows = sl_xcalloc((size_t)cap, sizeof(*k->rows));
    k->vals = sl_xcalloc((size_t)cap * (size_t)(k->plan->nout + 1), sizeof(*k->vals));
    const uint8_t **recs = sl_xcalloc((size_t)cap, sizeof(*recs));
    if (k->recs != NULL) {
        memcpy(recs, k->recs, sizeof(*recs) * (size_t)k->cap);
    }
    free(k->recs);
    k->recs = recs;
    k->cap = cap;
}

/* Fills k->rows[i] from a row record; values point into the record. */
static void decode_row(struct sl__sinkrt *k, int i, const uint8_t *rec)
{
    const struct sl__rowrec *r = (const struct sl__rowrec *)rec;
    const uint8_t *blob = rec + sizeof(*r) + pad8(r->keylen);
    const struct sl_value *raw = (const struct sl_value *)(blob + pad8(r->bloblen));
    struct sl_value *vals = &k->vals[(size_t)i * (size_t)(k->plan->nout + 1)];
    for (int j = 0; j < r->nout; j++) {
        vals[j] = raw[j];
        if (raw[j].type == SL_TYPE_TEXT && !raw[j].null) {
            vals[j].u.s = (const char *)rec + (uintptr_t)raw[j].u.s;
        }
    }
    k->rows[i].vals = vals;
    k->rows[i].id = r->id;
    k->rows[i].rev = r->rev;
    k->rows[i].is_final = r->is_final;
    k->rows[i].window_start = r->wstart;
    k->rows[i].window_end = r->wend;
    k->rows[i].hll = r->bloblen > 0 ? (const char *)blob : NULL;
    k->rows[i].hll_len = r->bloblen;
}

static void deliver(struct sl__sinkrt *k, int n)
{
    int backoff = 10;
    for (int off = 0; off < n;) {
        int chunk = n - off < 8192 ? n - off : 8192;
        int r = k->ops->write(k->state, k->rows + off, chunk);
        if (r >= 0) {
            off += chunk;
            backoff = 10;
            continue;
        }
        sl_ctr_add(&k->write_retries, 1);
        /* Jittered exponential backoff: a peer that is away costs no CPU. */
        int ms = backoff / 2 + rand() % (backoff / 2 + 1);
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        backoff = backoff < 5000 ? backoff * 2 : 5000;
    }
    sl_ctr_add(&k->rows_out, (uint64_t)n);
}

static int row_cmp(const void *a, const void *b)
{
    const struct sl__rowrec *x = *(const struct sl__rowrec *const *)a;
    const struct sl__rowrec *y = *(const struct sl__rowrec *const *)b;
    if (x->wend != y->wend) {
        return x->wend < y->wend ? -1 : 1;
    }
    if (x->wstart != y->wstart) {
        return x->wstart < y->wstart ? -1 : 1;
    }
    int c = sl_key_cmp((const uint8_t *)(x + 1), (const uint8_t *)(y + 1), x->nkeys);
    if (c != 0) {
        return c;
    }
    /* Same window and key in one batch (a correction after an early row): by (_rev, final). */
    if (x->rev != y->rev) {
        return x->rev < y->rev ? -1 : 1;
    }
    return (int)x->is_final - (int)y->is_final;
}

static void flush_batch(struct sl__sinkrt *k, uint64_t batch)
{
    int n = 0;
    for (int i = 0; i < k->nin; i++) {
        struct input *in = &k->in[i];
        for (int j = in->head; j < in->n && in->rows[j].batch <= batch; j++) {
            n++;
        }
    }
    if (n == 0) {
        return;
    }
    ensure(k, n);
    n = 0;
    for (int i = 0; i < k->nin; i++) {
        struct input *in = &k->in[i];
        while (in->head < in->n && in->rows[in->head].batch <= batch) {
            k->recs[n++] = in->rows[in->head++].rec;
        }
        if (in->head == in->n) {
            in->head = in->n = 0;
        }
    }
    qsort(k->recs, (size_t)n, sizeof(*k->recs), row_cmp);
    for (int i = 0; i < n; i++) {
        decode_row(k, i, k->recs[i]);
    }
    deliver(k, n);
    for (int i = 0; i < n; i++) {
        free((void *)k->recs[i]);
    }
}

/* linger: a per-event row is copied out of the ring and held. */
static void hold_row(struct sl__sinkrt *k, struct input *in, const uint8_t *rec, uint32_t len)
{
    if (in->n == 0) {
        k->linger_since = sl_mono_ms();
        k->markers_at_held = in->markers;
    }
    if (in->n >= in->cap) {
        in->cap = in->cap ? in->cap * 2 : 256;
        in->rows = sl_xrealloc(in->rows, sizeof(*in->rows) * (size_t)in->cap);
    }
    uint8_t *copy = sl_xrealloc(NULL, len);
    memcpy(copy, rec, len);
    in->rows[in->n].batch = 0;
    in->rows[in->n].rec = copy;
    in->n++;
}

static void flush_held(struct sl__sinkrt *k, struct input *in)
{
    int n = in->n;
    ensure(k, n);
    for (int i = 0; i < n; i++) {
        k->recs[i] = in->rows[i].rec;
    }
    for (int i = 0; i < n; i++) {
        decode_row(k, i, k->recs[i]);
    }
    deliver(k, n);
    for (int i = 0; i < n; i++) {
        free(in->rows[i].rec);
    }
    in->n = in->head = 0;
    k->linger_since = 0;
}

static bool inputs_ready(void *ud)
{
    struct sl__sinkrt *k = ud;
    for (int i = 0; i < k->nin; i++) {
        if (!k->in[i].final && sl_chan_readable(k->in[i].c)) {
            return true;
        }
    }
    return false;
}

static void *sink_main(void *arg)
{
    struct sl__sinkrt *k = arg;
    sl_thread_name("sl-sink-%s", k->plan->name);
    for (;;) {
        bool any = false, all_final = true;
        for (int i = 0; i < k->nin; i++) {
            struct input *in = &k->in[i];
            if (in->final) {
                continue;
            }
            const uint8_t *rec;
            uint32_t len;
            int n = 0, nrows = 0;
            while (n < 1024 && (rec = sl_chan_peek(in->c, &len)) != NULL) {
                n++;
                if (rec[0] == SL_REC_ROW) {
                    if (!k->windowed && k->linger_ms > 0) {
                        hold_row(k, in, rec, len);
                        continue;
                    }
                    if (!k->windowed) {
                        ensure(k, nrows + 1); /* keeps recs[0, nrows) */
                        k->recs[nrows++] = rec;
                        continue;
                    }
                    if (in->n >= in->cap) {
                        in->cap = in->cap ? in->cap * 2 : 256;
                        in->rows = sl_xrealloc(in->rows, sizeof(*in->rows) * (size_t)in->cap);
                    }
                    uint8_t *copy = sl_xrealloc(NULL, len);
                    memcpy(copy, rec, len);
                    in->rows[in->n].batch = in->markers + 1;
                    in->rows[in->n].rec = copy;
                    in->n++;
                } else if (rec[0] == SL_REC_MARKER) {
                    const struct sl__marker *m = (const struct sl__marker *)rec;
                    in->markers++;
                    if (m->final) {
                        in->final = true;
                        break;
                    }
                }
            }
            if (nrows > 0) {
                for (int j = 0; j < nrows; j++) {
                    decode_row(k, j, k->recs[j]);
                }
                deliver(k, nrows);
            }
            if (!k->windowed && k->linger_ms > 0 && in->n > 0 &&
                (in->n >= k->linger_rows || in->final ||
                 atomic_load_explicit(&k->eng->stop, memory_order_relaxed) ||
                 sl_mono_ms() - k->linger_since >= k->linger_ms)) {
                flush_held(k, in);
            }
            if (!k->windowed) {
                /* Rows before the markers read so far are delivered now, except those held
                 * for linger: the markers before the first of them. */
                atomic_store_explicit(&k->delivered, in->n > 0 ? k->markers_at_held : in->markers,
                                      memory_order_release);
            }
            if (n > 0) {
                sl_chan_release(in->c);
                any = true;
            }
            all_final = all_final && in->final;
        }
        if (k->windowed) {
            uint64_t lo = UINT64_MAX;
            for (int i = 0; i < k->nin; i++) {
                if (k->in[i].markers < lo) {
                    lo = k->in[i].markers;
                }
            }
            while (k->flushed < lo) {
                flush_batch(k, ++k->flushed);
                atomic_store_explicit(&k->delivered, k->flushed, memory_order_release);
            }
        }
        if (all_final) {
            break;
        }
        if (!any) {
            int wait = 100;
            if (k->linger_since != 0) {
                int64_t left = k->linger_since + k->linger_ms - sl_mono_ms();
                wait = left < 1 ? 1 : (left < wait ? (int)left : wait);
            }
            sl_waiter_wait(&k->w, inputs_ready, k, wait);
        }
    }
    atomic_fetch_sub(&k->eng->sinks_running, 1);
    return NULL;
}

int sl__sinkrt_new(struct sl_engine *eng, const struct sl_plan *plan, struct sl__sinkrt **ret,
                   struct sl_err *err)
{
    struct sl__sinkrt *k = sl_xcalloc(1, sizeof(*k));
    int r;
    k->eng = eng;
    k->plan = plan;
    k->ops = plan->sink_conn->sink;
    k->windowed = plan->window != SL_WINDOW_NONE;
    const struct sl_opt_value *lg = sl_options_get(&plan->sink_opts, "linger");
    if (!k->windowed && lg != NULL) {
        k->linger_ms = sl_options_int(&plan->sink_opts, "linger", 0);
        k->linger_rows = sl_options_int(&plan->sink_opts, "batch_size", 100);
        k->linger_rows = k->linger_rows > 0 ? k->linger_rows : 1;
    }
    sl_waiter_init(&k->w, SL_WAITER_SPIN_DEFAULT);
    if (k->ops == NULL) {
        r = sl_err_set(err, -ENOTSUP, "sink %s: connector %s cannot run yet (not built)",
                       plan->name, plan->sink_conn->name);
        goto fail;
    }
    k->nin = k->windowed ? eng->nshards : 1;
    k->in = sl_xcalloc((size_t)k->nin, sizeof(*k->in));
    for (int i = 0; i < k->nin; i++) {
        struct sl_waiter *prod = k->windowed ? sl__shard_waiter(eng->shards[i])
                                             : sl__srcrt_waiter(eng->srcs[plan->src->index]);
        k->in[i].c = sl_chan_new(1 << 20, &k->w, prod);
    }
    struct sl_sink_env env = {.metrics = eng->metrics, .stopping = &eng->stop};
    r = k->ops->open(plan, &env, &k->state, err);
    if (r < 0) {
        goto fail;
    }
    *ret = k;
    return 0;
fail:
    sl__sinkrt_free(k);
    return r;
}

struct sl_chan *sl__sinkrt_input(struct sl__sinkrt *k, int i)
{
    return k->in[i].c;
}

int sl__sinkrt_start(struct sl__sinkrt *k)
{
    int r = pthread_create(&k->thr, NULL, sink_main, k);
    if (r != 0) {
        return -r;
    }
    k->started = true;
    return 0;
}

void sl__sinkrt_join(struct sl__sinkrt *k)
{
    if (k->started) {
        pthread_join(k->thr, NULL);
        k->started = false;
    }
}

uint64_t sl__sinkrt_delivered(struct sl__sinkrt *k)
{
    /* Pairs with the release stores after delivery: what the marker covers is done. */
    return atomic_load_explicit(&k->delivered, memory_order_acquire);
}

uint64_t sl__sinkrt_rows(struct sl__sinkrt *k)
{
    return sl_ctr_get(&k->rows_out);
}

void sl__sinkrt_free(struct sl__sinkrt *k)
{
    if (k == NULL) {
        return;
    }
    if (k->state != NULL && k->ops->close != NULL) {
        k->ops->close(k->state);
    }
    for (int i = 0; i < k->nin; i++) {
        struct input *in = &k->in[i];
        for (int j = in->head; j < in->n; j++) {
            free(in->rows[j].rec);
        }
        free(in->rows);
        sl_chan_free(in->c);
    }
    free(k->in);
    free(k->rows);
    free(k->vals);
    free(k->recs);
    free(k);
}

static double delivered_marker(void *ud)
{
    return (double)sl__sinkrt_delivered(ud);
}

int sl__sinkrt_metrics(struct sl__sinkrt *k, struct sl_err *err)
{
    const char *name = k->plan->name;
    int r = sl__metric_ctr(k->eng, "sluice_sink_rows_total", "Rows a sink delivered.",
                           SL_LABELS({"sink", name}), &k->rows_out, err);
    if (r >= 0) {
        r = sl_metrics_gauge_fn_register(
            k->eng->metrics, "sluice_sink_delivered_marker",
            "Highest marker of the source whose rows the sink's peer has acknowledged.",
            SL_LABELS({"sink", name}), delivered_marker, k, err);
    }
    return r < 0 ? r
                 : sl__metric_ctr(k->eng, "sluice_sink_write_retries_total",
                                  "Writes a sink retried after a failure.",
                                  SL_LABELS({"sink", name}), &k->write_retries, err);
}
