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
#include <unistd.h>

#include "engine.h"
#include "keys.h"

/* Copies of rows held for a later batch (or for linger) live in chunks: rows are copied in
 * arrival order and released in the same order, so a chunk is freed once its last row is
 * released, without a malloc and free per row. */
struct chunk {
    struct chunk *next;
    size_t used, cap;
    uint64_t live; /* rows in it not yet released */
    _Alignas(8) uint8_t data[];
};

#define CHUNK_MIN ((size_t)64 << 10)
#define CHUNK_MAX ((size_t)4 << 20)

struct held {
    uint64_t batch;
    uint8_t *rec;
    struct chunk *ck;
};

/* A row to sort: its order's leading fields copied out of the record, so that most
 * comparisons read only this array (a batch of a million rows does not fit in a cache). */
struct sortent {
    int64_t wend, wstart;
    uint64_t k[2]; /* sl_key_prefix */
    const uint8_t *rec;
};

struct input {
    struct sl_chan *c;
    uint64_t markers;
    bool final;
    struct held *rows;
    int head, n, cap;
    struct chunk *first, *last; /* the chunks of rows[head, n), oldest first */
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
    /* write scratch: the records of a delivery, and the rows of one chunk of it */
    struct sl_row *rows;
    struct sl_value *vals;
    const uint8_t **recs;
    int cap;
    struct sortent *sorted;
    int sortcap;
    pthread_t thr;
    bool started;
    _Alignas(SL_CACHELINE) struct sl_waiter w;
};

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Rows handed to the connector per write call: rows and values are decoded a chunk at a
 * time, so their memory stays small however large a batch is. */
#define WRITE_ROWS 8192

/* Room for n record pointers in k->recs (the first k->cap are kept). */
static void ensure(struct sl__sinkrt *k, int n)
{
    if (n <= k->cap) {
        return;
    }
    int cap = k->cap ? k->cap : 256;
    while (cap < n) {
        cap *= 2;
    }
    k->recs = sl_xrealloc(k->recs, sizeof(*k->recs) * (size_t)cap);
    k->cap = cap;
}

/* Fills k->rows[i] from a row record; values point into the record. */
static void decode_row(struct sl__sinkrt *k, int i, const uint8_t *rec)
{
    const struct sl__rowrec *r = (const struct sl__rowrec *)rec;
    const uint8_t *blob = sl__rowrec_key(r) + pad8(r->keylen);
    const struct sl_value *raw = (const struct sl_value *)(blob + pad8(r->bloblen));
    struct sl_value *vals = &k->vals[(size_t)i * (size_t)(k->plan->nout + 1)];
    for (int j = 0; j < r->nout; j++) {
        vals[j] = raw[j];
        if (raw[j].type == SL_TYPE_TEXT && !raw[j].null) {
            vals[j].u.s = (const char *)rec + (uintptr_t)raw[j].u.s;
        }
    }
    k->rows[i].vals = vals;
    k->rows[i].id = sl__rowrec_id(r);
    k->rows[i].rev = r->rev;
    k->rows[i].is_final = r->is_final;
    k->rows[i].window_start = r->wstart;
    k->rows[i].window_end = r->wend;
    k->rows[i].hll = r->bloblen > 0 ? (const char *)blob : NULL;
    k->rows[i].hll_len = r->bloblen;
}

/* Writes the rows of recs[0, n) in order, a chunk per write call, retrying a chunk the
 * connector could not deliver. */
static void deliver(struct sl__sinkrt *k, const uint8_t *const *recs, int n)
{
    int backoff = 10;
    for (int off = 0; off < n;) {
        int chunk = n - off < WRITE_ROWS ? n - off : WRITE_ROWS;
        for (int i = 0; i < chunk; i++) {
            decode_row(k, i, recs[off + i]);
        }
        int r;
        while ((r = k->ops->write(k->state, k->rows, chunk)) < 0) {
            sl_ctr_add(&k->write_retries, 1);
            /* Jittered exponential backoff: a peer that is away costs no CPU. */
            int ms = backoff / 2 + rand() % (backoff / 2 + 1);
            struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            backoff = backoff < 5000 ? backoff * 2 : 5000;
        }
        off += chunk;
        backoff = 10;
    }
    sl_ctr_add(&k->rows_out, (uint64_t)n);
}

static int row_cmp(const struct sl__rowrec *x, const struct sl__rowrec *y)
{
    if (x->wend != y->wend) {
        return x->wend < y->wend ? -1 : 1;
    }
    if (x->wstart != y->wstart) {
        return x->wstart < y->wstart ? -1 : 1;
    }
    int c = sl_key_cmp(sl__rowrec_key(x), sl__rowrec_key(y), x->nkeys);
    if (c != 0) {
        return c;
    }
    /* Same window and key in one batch (a correction after an early row): by (_rev, final). */
    if (x->rev != y->rev) {
        return x->rev < y->rev ? -1 : 1;
    }
    return (int)x->is_final - (int)y->is_final;
}

static inline int ent_cmp(const struct sortent *a, const struct sortent *b)
{
    if (a->wend != b->wend) {
        return a->wend < b->wend ? -1 : 1;
    }
    if (a->wstart != b->wstart) {
        return a->wstart < b->wstart ? -1 : 1;
    }
    if (a->k[0] != b->k[0]) {
        return a->k[0] < b->k[0] ? -1 : 1;
    }
    if (a->k[1] != b->k[1]) {
        return a->k[1] < b->k[1] ? -1 : 1;
    }
    return row_cmp((const struct sl__rowrec *)a->rec, (const struct sl__rowrec *)b->rec);
}

static int ent_qcmp(const void *a, const void *b)
{
    return ent_cmp(a, b);
}

static inline void ent_swap(struct sortent *a, struct sortent *b)
{
    struct sortent t = *a;
    *a = *b;
    *b = t;
}

/* Quicksort with the comparison inlined (qsort's indirect call per comparison was most of
 * the sort): median of three, Hoare partition (runs of equal rows split evenly), insertion
 * sort below 16, the smaller side first; qsort() takes over a range that recursed too deep. */
static void sort_ents(struct sortent *v, size_t n, int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            qsort(v, n, sizeof(*v), ent_qcmp);
            return;
        }
        size_t m = n / 2;
        if (ent_cmp(&v[m], &v[0]) < 0) {
            ent_swap(&v[m], &v[0]);
        }
        if (ent_cmp(&v[n - 1], &v[m]) < 0) {
            ent_swap(&v[n - 1], &v[m]);
            if (ent_cmp(&v[m], &v[0]) < 0) {
                ent_swap(&v[m], &v[0]);
            }
        }
        struct sortent pivot = v[m];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (ent_cmp(&v[i], &pivot) < 0) {
                i++;
            }
            while (ent_cmp(&pivot, &v[j]) < 0) {
                j--;
            }
            if (i >= j) {
                break;
            }
            ent_swap(&v[i], &v[j]);
            i++;
            j--;
        }
        /* [0, j] <= pivot <= [j + 1, n) */
        size_t left = j + 1;
        if (left < n - left) {
            sort_ents(v, left, depth);
            v += left;
            n -= left;
        } else {
            sort_ents(v + left, n - left, depth);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        struct sortent t = v[i];
        size_t j = i;
        while (j > 0 && ent_cmp(&t, &v[j - 1]) < 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = t;
    }
}

/* Copies rec (len bytes) out of the ring into in's chunks and appends it to in->rows. */
static void hold_copy(struct input *in, uint64_t batch, const uint8_t *rec, uint32_t len)
{
    struct chunk *c = in->last;
    if (c == NULL || c->cap - c->used < len) {
        size_t cap =
            c != NULL && c->cap < CHUNK_MAX ? c->cap * 2 : (c != NULL ? c->cap : CHUNK_MIN);
        cap = cap < len ? len : cap;
        struct chunk *nc = sl_xrealloc(NULL, sizeof(*nc) + cap);
        nc->next = NULL;
        nc->used = 0;
        nc->cap = cap;
        nc->live = 0;
        if (c != NULL) {
            c->next = nc;
        } else {
            in->first = nc;
        }
        in->last = c = nc;
    }
    if (in->n >= in->cap) {
        in->cap = in->cap ? in->cap * 2 : 256;
        in->rows = sl_xrealloc(in->rows, sizeof(*in->rows) * (size_t)in->cap);
    }
    uint8_t *copy = c->data + c->used;
    memcpy(copy, rec, len);
    c->used += (len + 7) & ~(size_t)7;
    c->live++;
    in->rows[in->n].batch = batch;
    in->rows[in->n].rec = copy;
    in->rows[in->n].ck = c;
    in->n++;
}

/* Releases the copy of h (rows are released in the order they were held). */
static void hold_release(struct input *in, const struct held *h)
{
    h->ck->live--;
    while (in->first != NULL && in->first->live == 0) {
        struct chunk *c = in->first;
        if (c == in->last) {
            c->used = 0; /* the newest chunk is kept for the next rows */
            break;
        }
        in->first = c->next;
        free(c);
    }
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
    if (n > k->sortcap) {
        free(k->sorted);
        k->sortcap = k->cap;
        k->sorted = sl_xcalloc((size_t)k->sortcap, sizeof(*k->sorted));
    }
    n = 0;
    for (int i = 0; i < k->nin; i++) {
        struct input *in = &k->in[i];
        for (int j = in->head; j < in->n && in->rows[j].batch <= batch; j++) {
            const struct sl__rowrec *r = (const struct sl__rowrec *)in->rows[j].rec;
            struct sortent *e = &k->sorted[n++];
            e->wend = r->wend;
            e->wstart = r->wstart;
            sl_key_prefix(sl__rowrec_key(r), r->nkeys, e->k);
            e->rec = in->rows[j].rec;
        }
    }
    sort_ents(k->sorted, (size_t)n, 2 * (64 - __builtin_clzll((unsigned long long)n)));
    for (int i = 0; i < n; i++) {
        k->recs[i] = k->sorted[i].rec;
    }
    deliver(k, k->recs, n);
    for (int i = 0; i < k->nin; i++) {
        struct input *in = &k->in[i];
        while (in->head < in->n && in->rows[in->head].batch <= batch) {
            hold_release(in, &in->rows[in->head++]);
        }
        if (in->head == in->n) {
            in->head = in->n = 0;
        } else if (in->head > in->n / 2) { /* an input ahead of the others: keep it compact */
            memmove(in->rows, in->rows + in->head, sizeof(*in->rows) * (size_t)(in->n - in->head));
            in->n -= in->head;
            in->head = 0;
        }
    }
}

/* linger: a per-event row is copied out of the ring and held. */
static void hold_row(struct sl__sinkrt *k, struct input *in, const uint8_t *rec, uint32_t len)
{
    if (in->n == 0) {
        k->linger_since = sl_mono_ms();
        k->markers_at_held = in->markers;
    }
    hold_copy(in, 0, rec, len);
}

static void flush_held(struct sl__sinkrt *k, struct input *in)
{
    int n = in->n;
    ensure(k, n);
    for (int i = 0; i < n; i++) {
        k->recs[i] = in->rows[i].rec;
    }
    deliver(k, k->recs, n);
    for (int i = 0; i < n; i++) {
        hold_release(in, &in->rows[i]);
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
                        ensure(k, nrows + 1);
                        k->recs[nrows++] = rec;
                        continue;
                    }
                    hold_copy(in, in->markers + 1, rec, len);
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
                deliver(k, k->recs, nrows);
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
    if (k->eng->done_fd >= 0) {
        uint64_t one = 1;
        (void)!write(k->eng->done_fd, &one, sizeof(one));
    }
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
    k->rows = sl_xcalloc(WRITE_ROWS, sizeof(*k->rows));
    k->vals = sl_xcalloc((size_t)WRITE_ROWS * (size_t)(plan->nout + 1), sizeof(*k->vals));
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
        while (in->first != NULL) {
            struct chunk *c = in->first;
            in->first = c->next;
            free(c);
        }
        free(in->rows);
        sl_chan_free(in->c);
    }
    free(k->in);
    free(k->rows);
    free(k->vals);
    free(k->recs);
    free(k->sorted);
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
