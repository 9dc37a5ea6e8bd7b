/*
 * shard.c - a shard's thread: window state for the keys it owns, aggregates folded per
 * event, windows fired and expired at markers, rows sent to sinks (DESIGN.md, Shards).
 *
 * Only the shard's own thread touches its state; nothing here locks. Per query:
 *
 *  TUMBLE and HOP keep panes of `slide` milliseconds (TUMBLE: slide == size), one per
 *  (group key, pane start), in an open-addressing table and in buckets ordered by pane
 *  start. An event folds into exactly one pane, so its cost does not grow with size/slide.
 *  A window [E - size, E) fires at the first marker whose watermark reaches E: for TUMBLE
 *  its one pane is the row; for HOP the panes of each key are merged. A pane is freed when
 *  the last window containing it expires (W >= pane start + size + lateness).
 *
 *  SESSION keeps, per (group key, max_duration cut), the sessions sorted by start, and a
 *  min-heap of session ends for firing. Fired sessions stay as tombstones while an event
 *  could still bridge to them (such an event is late: SQL.md).
 *
 * Lateness is judged by each record's stamp (the source watermark when it was read), never
 * by this thread's timing: an event is late when every window it belongs to has expired at
 * its stamp. An event that joins a window that already fired (ALLOWED LATENESS) queues that
 * (key, window) to be emitted again at the next marker with a larger _rev.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/hll.h"
#include "engine.h"
#include "format.h"
#include "keys.h"
#include "memlimit.h"

#define INLINE_KEY 40
#define MAX_IN     256 /* records handled per input before looking at the others */

/* Header shared by panes and session groups: what the table hashes and compares. */
struct gent {
    uint64_t hash;    /* table hash: key hash mixed with t */
    uint64_t keyhash; /* hash of the key bytes alone (from the source) */
    int64_t t;        /* pane start, or session cut */
    uint32_t keylen;
    uint32_t pad;
    uint8_t *key;
};

struct pane {
    struct gent g;
    int64_t rev;
    uint8_t dirty;
    uint8_t pad;
    uint16_t part; /* watermark partition of its first event (revocation) */
    uint8_t pad2[4];
    _Alignas(8) uint8_t state[];
};

struct sess {
    int64_t start, end, rev;
    uint8_t fired;
    uint8_t pad;
    uint16_t part; /* watermark partition of its first event (revocation) */
    uint8_t pad2[4];
    _Alignas(8) uint8_t state[];
};

struct sgroup {
    struct gent g;
    struct sess **v;
    int n, cap;
    int heap_refs;
    uint8_t inl[INLINE_KEY];
};

struct hent {
    int64_t end, start;
    struct sgroup *grp;
};

struct bucket {
    int64_t pstart;
    struct pane **v;
    int n, cap;
    int64_t *minpos; /* per partition, smallest position folded here (tracking sources) */
};

/* A slot keeps the entry's hash beside its pointer: probes, inserts, growth and
 * backward-shift deletes compare and move hashes without reading the entries (with a
 * million groups each read of an entry is a cache miss). */
struct slot {
    uint64_t hash;
    struct gent *g; /* NULL: empty */
};

struct table {
    struct slot *slots;
    size_t cap, n;
};

struct pend {
    struct pane *pn; /* a pane of the key (for its key bytes) */
    int64_t wend;
};

struct qrt {
    const struct sl_plan *p;
    struct sl_qstats st;
    int64_t fired_wm;
    struct table tab;
    struct bucket *bk;
    int nbk, capbk;
    struct pend *pend;
    int npend, cappend;
    struct pane **dirty;
    int ndirty, capdirty;
    struct pend *early;
    int nearly, capearly;
    struct hent *heap;
    int nheap, capheap;
    void *freelist; /* blocks of blk bytes */
    size_t blk;
    struct sl_chan *out;
    bool queued; /* rows or markers written to out, not yet committed (publish_rows) */
    bool ids;    /* compute row ids: the sink or the SELECT list reads them */
    int64_t next_early;
    int hll_agg; /* APPROX_COUNT_DISTINCT exported for the sink's hll_key, or -1 */
    /* Replay and commit: a durable source's queries track, per partition, the smallest
     * position of an event in each open bucket or session (sessions keep np positions
     * after their state, at moff). */
    bool track;
    int np;
    size_t moff;
    /* HOP (slide < size): each pane links to its key's neighbouring panes (prev, next) at
     * coff in its block, so a window merges a key's panes by walking them instead of
     * probing a table per pane. Consecutive panes of a key closer than size are always
     * linked (panes further apart never share a window). 0 when not HOP. */
    size_t coff;
    uint8_t *scratch; /* HOP: a merged state (state_size bytes) */
    /* Added by a reload: windows that start before emit_from (the watermark its source
     * resumed at) are not emitted (DESIGN.md, Reload). */
    bool added;
    int64_t emit_from;
};

/* Merge slots for HOP windows and re-emissions. */
struct mslot {
    struct gent g;
    int64_t rev;
    _Alignas(8) uint8_t state[];
};

struct sl__shard {
    struct sl_engine *eng;
    int index;
    struct sl_chan **in; /* per source index; NULL if that source has no windowed query */
    bool *in_final;
    int nin;
    struct qrt *q; /* per plan index; q[i].p NULL if not windowed */
    int nq;
    struct sl_value *aggrow;
    struct sl_value *outs;
    char *fbuf;
    size_t fbuf_cap;
    struct sl_eval ev;
    struct sl_value *vals; /* decoded record values */
    /* merge scratch */
    struct table mtab;
    uint8_t *marena;
    size_t marena_cap, marena_used;
    struct mslot **mlist;
    int nmlist, capmlist;
    pthread_t thr;
    bool started;
    bool has_early;
    int64_t *mp; /* scratch: positions reported per marker */
    struct sl_gauge *cap_gauge;
    struct sl_buf hll; /* Redis HyperLogLog bytes of the row being emitted */
    _Alignas(SL_CACHELINE) struct sl_waiter w;
};

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) >= (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 16;                                                          \
            (arr) = sl_xrealloc((arr), sizeof(*(arr)) * (size_t)(cap));                            \
        }                                                                                          \
    } while (0)

/* ---- the table: open addressing, linear probing, backward-shift deletion ---- */

static uint64_t ghash(uint64_t keyhash, int64_t t)
{
    return sl_hash_mix(keyhash ^ ((uint64_t)t * 0x9e3779b97f4a7c15ULL));
}

static void tab_init(struct table *t)
{
    t->cap = 1024;
    t->n = 0;
    t->slots = sl_xcalloc(t->cap, sizeof(*t->slots));
}

/* Whether g is the entry for (t, key); its hash was compared in its slot. */
static bool gent_eq(const struct gent *g, int64_t t, const uint8_t *key, uint32_t keylen)
{
    return g->t == t && g->keylen == keylen && (keylen == 0 || memcmp(g->key, key, keylen) == 0);
}

static struct gent *tab_find(const struct table *t, uint64_t h, int64_t ts, const uint8_t *key,
                             uint32_t keylen)
{
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const struct slot *s = &t->slots[i];
        if (s->g == NULL) {
            return NULL;
        }
        if (s->hash == h && gent_eq(s->g, ts, key, keylen)) {
            return s->g;
        }
    }
}

static void tab_insert_raw(struct table *t, uint64_t h, struct gent *g)
{
    size_t mask = t->cap - 1;
    size_t i = h & mask;
    while (t->slots[i].g != NULL) {
        i = (i + 1) & mask;
    }
    t->slots[i].hash = h;
    t->slots[i].g = g;
}

static void tab_insert(struct table *t, struct gent *g)
{
    if ((t->n + 1) * 4 > t->cap * 3) {
        struct slot *old = t->slots;
        size_t oldcap = t->cap;
        t->cap *= 2;
        /* Zeroed by writing, not by calloc: a large calloc gets fresh pages that the probes
         * below would first map read-only (the shared zero page), and the write that follows
         * then costs a copy-on-write fault with a TLB shootdown of every CPU running one of
         * our threads (an IPI each). Written first, each page faults once. */
        t->slots = sl_xrealloc(NULL, t->cap * sizeof(*t->slots));
        memset(t->slots, 0, t->cap * sizeof(*t->slots));
        for (size_t i = 0; i < oldcap; i++) {
            if (old[i].g != NULL) {
                tab_insert_raw(t, old[i].hash, old[i].g);
            }
        }
        free(old);
    }
    tab_insert_raw(t, g->hash, g);
    t->n++;
}

static void tab_remove(struct table *t, struct gent *g)
{
    size_t mask = t->cap - 1;
    size_t i = g->hash & mask;
    while (t->slots[i].g != g) {
        i = (i + 1) & mask;
    }
    t->slots[i].g = NULL;
    t->n--;
    /* Backward shift: move later entries of the cluster into the hole when allowed. */
    for (size_t j = (i + 1) & mask; t->slots[j].g != NULL; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        bool move = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (move) {
            t->slots[i] = t->slots[j];
            t->slots[j].g = NULL;
            i = j;
        }
    }
}

static void tab_clear(struct table *t)
{
    memset(t->slots, 0, t->cap * sizeof(*t->slots));
    t->n = 0;
}

/* ---- aggregate state helpers ---- */

static void state_init(const struct sl_plan *p, uint8_t *state)
{
    for (int i = 0; i < p->nstates; i++) {
        const struct sl_plan_state *s = &p->states[i];
        s->ops->init(state + s->offset, s->sig);
    }
}

static void state_fini(const struct sl_plan *p, uint8_t *state)
{
    for (int i = 0; i < p->nstates; i++) {
        const struct sl_plan_state *s = &p->states[i];
        if (s->ops->fini != NULL) {
            s->ops->fini(state + s->offset, s->sig);
        }
    }
}

static void state_merge(const struct sl_plan *p, uint8_t *dst, const uint8_t *src)
{
    for (int i = 0; i < p->nstates; i++) {
        const struct sl_plan_state *s = &p->states[i];
        s->ops->merge(dst + s->offset, src + s->offset, s->sig);
    }
}

static void fold(struct qrt *q, uint8_t *state, const struct sl__evrec *e,
                 const struct sl_value *vals)
{
    const struct sl_plan *p = q->p;
    struct sl_agg_ctx cx = {.ts = e->ts, .pos = e->pos, .over_limit = &q->st.over_limit};
    for (int i = 0; i < p->nstates; i++) {
        if (e->filters & (UINT64_C(1) << i)) {
            const struct sl_plan_state *s = &p->states[i];
            s->ops->update(state + s->offset, s->sig, &vals[i], &cx);
        }
    }
}

/* Blocks: header + state + inline key. */
static void *blk_alloc(struct qrt *q)
{
    void *b = q->freelist;
    if (b != NULL) {
        q->freelist = *(void **)b;
        return b;
    }
    return sl_xcalloc(1, q->blk);
}

static void blk_free(struct qrt *q, void *b)
{
    *(void **)b = q->freelist;
    q->freelist = b;
}

/* ---- positions for the replay start (DESIGN.md, "Delivery guarantees") ---- */

#define POS_PART(pos) ((int)((pos) >> 48))
#define POS_OFF(pos)  ((int64_t)((pos) & ((UINT64_C(1) << 48) - 1)))

static int64_t *sess_minpos(struct qrt *q, struct sess *s)
{
    return (int64_t *)(void *)((uint8_t *)s + q->moff);
}

static void minpos_init(int64_t *m, int np)
{
    for (int i = 0; i < np; i++) {
        m[i] = INT64_MAX;
    }
}

static void minpos_note(struct qrt *q, int64_t *m, uint64_t pos)
{
    int p = POS_PART(pos);
    int64_t off = POS_OFF(pos);
    if (p < q->np && off < m[p]) {
        m[p] = off;
    }
}

static void minpos_fold(int64_t *dst, const int64_t *src, int np)
{
    for (int i = 0; i < np; i++) {
        dst[i] = src[i] < dst[i] ? src[i] : dst[i];
    }
}

static bool groups_take(struct sl__shard *sh, struct qrt *q)
{
    _Atomic(uint64_t) *g = &sh->eng->groups[q->p->index];
    if (!sl_memlimit_take(q->blk + SL_MEMLIMIT_GROUP_OVERHEAD)) {
        return false;
    }
    if (atomic_fetch_add_explicit(g, 1, memory_order_relaxed) >= q->p->max_groups) {
        atomic_fetch_sub_explicit(g, 1, memory_order_relaxed);
        return false;
    }
    return true;
}

static void groups_give(struct sl__shard *sh, struct qrt *q)
{
    atomic_fetch_sub_explicit(&sh->eng->groups[q->p->index], 1, memory_order_relaxed);
}

static void set_key(struct gent *g, uint8_t *inl, const uint8_t *key, uint32_t keylen)
{
    g->keylen = keylen;
    g->key = keylen <= INLINE_KEY ? inl : sl_xcalloc(1, keylen);
    if (keylen > 0) {
        memcpy(g->key, key, keylen);
    }
}

static void free_key(struct gent *g, uint8_t *inl)
{
    if (g->key != inl) {
        free(g->key);
    }
}

/* ---- emitting rows ---- */

static void emit(struct sl__shard *sh, struct qrt *q, const uint8_t *key, uint32_t keylen,
                 const uint8_t *state, int64_t ws, int64_t we, int64_t rev, bool is_final)
{
    if (ws < q->emit_from) {
        return; /* a reload added the query after this window began */
    }
    const struct sl_plan *p = q->p;
    struct sl_value *ar = sh->aggrow;
    size_t off = 0;
    char id[33];

    sl_key_decode(key, p->nkeys, ar);
    for (int i = 0; i < p->naggs; i++) {
        const struct sl_plan_agg *a = &p->aggs[i];
        struct sl_value *v = &ar[p->nkeys + i];
        a->ops->final(state + p->states[a->state].offset, &a->sig, v, sh->fbuf + off,
                      sh->fbuf_cap - off);
        if (v->type == SL_TYPE_TEXT && !v->null && v->u.s >= sh->fbuf &&
            v->u.s < sh->fbuf + sh->fbuf_cap) {
            off += v->len;
        }
    }
    if (q->ids) {
        sl_row_id_window(p->name, ar, p->nkeys, ws, id);
    } else {
        memset(id, 0, sizeof(id));
    }
    int base = p->nkeys + p->naggs;
    ar[base + SL_AGGROW_WINDOW_START] = sl_value_ts(ws);
    ar[base + SL_AGGROW_WINDOW_END] = sl_value_ts(we);
    ar[base + SL_AGGROW_ID] = sl_value_text(id, 32);
    ar[base + SL_AGGROW_REV] = sl_value_bigint(rev);
    ar[base + SL_AGGROW_IS_FINAL] = sl_value_bool(is_final);
    sh->ev.scratch_used = 0;
    if (p->having != NULL && !sl_expr_true(p->having, ar, &sh->ev)) {
        return;
    }
    for (int i = 0; i < p->nout; i++) {
        sl_expr_eval(p->out[i].expr, ar, &sh->ev, &sh->outs[i]);
    }
    sl_ctr_add(&q->st.rows, 1);
    const char *blob = NULL;
    uint32_t bloblen = 0;
    if (q->hll_agg >= 0) {
        const struct sl_plan_agg *a = &p->aggs[q->hll_agg];
        sl_buf_reset(&sh->hll);
        if (sl_hll_redis_dense(state + p->states[a->state].offset, &a->sig, &sh->hll) == 0) {
            blob = sh->hll.p;
            bloblen = (uint32_t)sh->hll.len;
        }
    }
    struct sl__rowout o = {.blob = blob,
                           .bloblen = bloblen,
                           .key = key,
                           .keylen = keylen,
                           .nkeys = p->nkeys,
                           .out = sh->outs,
                           .nout = p->nout,
                           .rev = rev,
                           .is_final = is_final,
                           .wstart = ws,
                           .wend = we,
                           .id = id};
    /* Blocks even during shutdown: a row emitted is delivered (or the shutdown timeout ends
     * the process); the sink keeps draining until it has every source's final marker.
     * Published by the marker that follows, or by publish_rows at the end of the batch. */
    sl__queue_row(q->out, &o, NULL);
    q->queued = true;
}

/* Merge scratch: one slot per key, reset per window. */
static struct mslot *mslot_get(struct sl__shard *sh, struct qrt *q, const struct gent *src)
{
    uint64_t h = ghash(src->keyhash, 0);
    struct gent *g = tab_find(&sh->mtab, h, 0, src->key, src->keylen);
    if (g != NULL) {
        return (struct mslot *)g;
    }
    size_t need = (sizeof(struct mslot) + q->p->state_size + 7) & ~(size_t)7;
    if (sh->marena_used + need > sh->marena_cap) {
        /* Start a new arena; slots already handed out stay valid in the old one until the
         * window is done, so keep them by never reallocating: chain via a list. */
        size_t cap = sh->marena_cap * 2 > need * 64 ? sh->marena_cap * 2 : need * 64;
        uint8_t *a = sl_xcalloc(1, cap + sizeof(void *));
        *(uint8_t **)a = sh->marena; /* link to the previous arena */
        sh->marena = a;
        sh->marena_cap = cap;
        sh->marena_used = 0;
    }
    struct mslot *m = (struct mslot *)(sh->marena + sizeof(void *) + sh->marena_used);
    sh->marena_used += need;
    memset(m, 0, sizeof(*m));
    m->g.hash = h;
    m->g.keyhash = src->keyhash;
    m->g.t = 0;
    m->g.keylen = src->keylen;
    m->g.key = src->key; /* borrowed from a pane that outlives the window's emission */
    state_init(q->p, m->state);
    tab_insert(&sh->mtab, &m->g);
    GROW(sh->mlist, sh->nmlist, sh->capmlist);
    sh->mlist[sh->nmlist++] = m;
    return m;
}

static void mslots_reset(struct sl__shard *sh, struct qrt *q)
{
    for (int i = 0; i < sh->nmlist; i++) {
        state_fini(q->p, sh->mlist[i]->state);
    }
    sh->nmlist = 0;
    tab_clear(&sh->mtab);
    /* Free all but the newest arena. */
    if (sh->marena != NULL) {
        uint8_t *prev = *(uint8_t **)sh->marena;
        while (prev != NULL) {
            uint8_t *pp = *(uint8_t **)prev;
            free(prev);
            prev = pp;
        }
        *(uint8_t **)sh->marena = NULL;
    }
    sh->marena_used = 0;
}

/* Late events are counted and dead-lettered (rare: not the accepted-event path). */
static void late_event(struct sl__shard *sh, struct qrt *q, const struct sl__evrec *e)
{
    sl_ctr_add(&q->st.late, 1);
    sl__srcrt_dead_late(sh->eng->srcs[q->p->src->index], q->p, e->ts, e->pos);
}

/* ---- TUMBLE / HOP ---- */

static struct bucket *bucket_get(struct qrt *q, int64_t pstart, bool create)
{
    int lo = 0, hi = q->nbk;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (q->bk[mid].pstart < pstart) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < q->nbk && q->bk[lo].pstart == pstart) {
        return &q->bk[lo];
    }
    if (!create) {
        return NULL;
    }
    GROW(q->bk, q->nbk, q->capbk);
    memmove(&q->bk[lo + 1], &q->bk[lo], sizeof(*q->bk) * (size_t)(q->nbk - lo));
    q->nbk++;
    memset(&q->bk[lo], 0, sizeof(q->bk[lo]));
    q->bk[lo].pstart = pstart;
    return &q->bk[lo];
}

static uint8_t *pane_inl(struct qrt *q, struct pane *pn)
{
    return pn->state + q->p->state_size;
}

/* HOP: the pane's links to its key's previous and next panes (q->coff != 0). */
static struct pane **pane_links(const struct qrt *q, struct pane *pn)
{
    return (struct pane **)((uint8_t *)pn + q->coff);
}

static struct pane *pane_find(struct qrt *q, uint64_t keyhash, int64_t pstart, const uint8_t *key,
                              uint32_t keylen);

/* Links a new pane between its key's nearest panes less than size away on either side
 * (found by probing one slide at a time; in-order data finds the previous one at once and
 * has no next). */
static void pane_link(struct qrt *q, struct pane *pn, const uint8_t *key)
{
    const struct sl_plan *p = q->p;
    int64_t slide = p->slide_ms, t = pn->g.t;
    struct pane *prev = NULL, *next = NULL;
    int64_t oldest = q->bk[0].pstart, newest = q->bk[q->nbk - 1].pstart;
    for (int64_t u = t - slide; u > t - p->size_ms && u >= oldest && prev == NULL; u -= slide) {
        prev = pane_find(q, pn->g.keyhash, u, key, pn->g.keylen);
    }
    for (int64_t u = t + slide; u < t + p->size_ms && u <= newest && next == NULL; u += slide) {
        next = pane_find(q, pn->g.keyhash, u, key, pn->g.keylen);
    }
    pane_links(q, pn)[0] = prev;
    pane_links(q, pn)[1] = next;
    if (prev != NULL) {
        pane_links(q, prev)[1] = pn;
    }
    if (next != NULL) {
        pane_links(q, next)[0] = pn;
    }
}

/* Takes a pane out of its key's chain (before it is freed); its neighbours become
 * consecutive. */
static void pane_unlink(struct qrt *q, struct pane *pn)
{
    if (q->coff == 0) {
        return;
    }
    struct pane *prev = pane_links(q, pn)[0], *next = pane_links(q, pn)[1];
    if (prev != NULL) {
        pane_links(q, prev)[1] = next;
    }
    if (next != NULL) {
        pane_links(q, next)[0] = prev;
    }
}

static struct pane *pane_find(struct qrt *q, uint64_t keyhash, int64_t pstart, const uint8_t *key,
                              uint32_t keylen)
{
    return (struct pane *)tab_find(&q->tab, ghash(keyhash, pstart), pstart, key, keylen);
}

/* A TUMBLE/HOP event's pane start and table hash, computed once per event: the thread's
 * loop prefetches the event's home slot with them a few events ahead (with many groups the
 * table is far larger than the caches), and hop_event looks its pane up with them. */
struct evkey {
    int64_t pstart;
    uint64_t hash;
    const void *slot; /* the home slot; NULL: not a TUMBLE/HOP event (markers, sessions) */
};

/* A function without side effects: the caller prefetches evkey.slot (GCC deletes a call to a
 * function whose only effect is a prefetch). */
static struct evkey event_key(const struct sl__shard *sh, const uint8_t *rec)
{
    struct evkey k = {0, 0, NULL};
    if (rec[0] != SL_REC_EVENT) {
        return k;
    }
    const struct sl__evrec *e = (const struct sl__evrec *)rec;
    const struct qrt *q = &sh->q[e->query];
    if (q->p->window == SL_WINDOW_SESSION) {
        return k;
    }
    k.pstart = sl_floor_div(e->ts, q->p->slide_ms) * q->p->slide_ms;
    k.hash = ghash(e->keyhash, k.pstart);
    k.slot = &q->tab.slots[k.hash & (q->tab.cap - 1)];
    return k;
}

static void hop_event(struct sl__shard *sh, struct qrt *q, const struct sl__evrec *e,
                      const uint8_t *key, const struct sl_value *vals, const struct evkey *k)
{
    const struct sl_plan *p = q->p;
    int64_t slide = p->slide_ms, size = p->size_ms, late = p->lateness_ms;
    int64_t pstart = k->pstart;
    int64_t last_end = pstart + size;

    if (e->stamp != SL_WM_NONE && e->stamp >= last_end + late) {
        if (e->replay) {
            sl_ctr_add(&q->st.replay_skipped, 1);
        } else {
            late_event(sh, q, e);
        }
        return;
    }
    struct pane *pn = (struct pane *)tab_find(&q->tab, k->hash, pstart, key, e->keylen);
    if (pn == NULL) {
        if (!groups_take(sh, q)) {
            sl_ctr_add(&q->st.over_limit, 1);
            return;
        }
        pn = blk_alloc(q);
        memset(pn, 0, sizeof(*pn));
        pn->g.hash = k->hash;
        pn->g.keyhash = e->keyhash;
        pn->g.t = pstart;
        pn->part = (uint16_t)POS_PART(e->pos);
        set_key(&pn->g, pane_inl(q, pn), key, e->keylen);
        state_init(p, pn->state);
        tab_insert(&q->tab, &pn->g);
        struct bucket *b = bucket_get(q, pstart, true);
        GROW(b->v, b->n, b->cap);
        b->v[b->n++] = pn;
        if (q->coff != 0) {
            pane_link(q, pn, key);
        }
    }
    fold(q, pn->state, e, vals);
    pn->rev++;
    sl_ctr_add(&q->st.accepted, 1);
    if (q->track) {
        struct bucket *b = bucket_get(q, pstart, false);
        if (b->minpos == NULL) {
            b->minpos = sl_xcalloc((size_t)q->np, sizeof(*b->minpos));
            minpos_init(b->minpos, q->np);
        }
        minpos_note(q, b->minpos, e->pos);
    }
    if (e->replay && q->fired_wm == SL_WM_NONE) {
        return; /* replay at start rebuilds state; the restore marker says what fired */
    }
    if (p->emit == SL_EMIT_EVERY && !pn->dirty && !e->replay) {
        pn->dirty = 1;
        GROW(q->dirty, q->ndirty, q->capdirty);
        q->dirty[q->ndirty++] = pn;
    }
    /* Windows containing the pane that already fired and have not expired: emit again. */
    if (q->fired_wm != SL_WM_NONE && pstart + slide <= q->fired_wm) {
        int64_t top = q->fired_wm < last_end ? q->fired_wm : last_end;
        for (int64_t E = pstart + slide; E <= top; E += slide) {
            /* A replay while running (a partition assigned here): windows its old owner
             * fired (end <= its done, the stamp) are not emitted again; those that fired
             * here since are, with the replayed events in them. */
            if (e->replay ? E > e->stamp : (e->stamp == SL_WM_NONE || E + late > e->stamp)) {
                GROW(q->pend, q->npend, q->cappend);
                q->pend[q->npend].pn = pn;
                q->pend[q->npend].wend = E;
                q->npend++;
            }
        }
    }
}

/* Emits window [E - size, E) of one key (re-emission, early row). */
static void emit_key_window(struct sl__shard *sh, struct qrt *q, const struct gent *kg, int64_t E,
                            bool is_final)
{
    const struct sl_plan *p = q->p;
    int64_t S = E - p->size_ms;
    if (p->slide_ms == p->size_ms) {
        struct pane *pn = pane_find(q, kg->keyhash, S, kg->key, kg->keylen);
        if (pn != NULL) {
            emit(sh, q, pn->g.key, pn->g.keylen, pn->state, S, E, pn->rev, is_final);
        }
        return;
    }
    struct mslot *m = NULL;
    for (int64_t ps = S; ps < E; ps += p->slide_ms) {
        struct pane *pn = pane_find(q, kg->keyhash, ps, kg->key, kg->keylen);
        if (pn == NULL) {
            continue;
        }
        if (m == NULL) {
            m = mslot_get(sh, q, &pn->g);
        }
        state_merge(p, m->state, pn->state);
        m->rev += pn->rev;
    }
    if (m != NULL) {
        emit(sh, q, m->g.key, m->g.keylen, m->state, S, E, m->rev, is_final);
        mslots_reset(sh, q);
    }
}

static int pend_cmp(const void *a, const void *b)
{
    const struct pend *x = a, *y = b;
    if (x->wend != y->wend) {
        return x->wend < y->wend ? -1 : 1;
    }
    const struct gent *gx = &x->pn->g, *gy = &y->pn->g;
    if (gx->keylen != gy->keylen) {
        return gx->keylen < gy->keylen ? -1 : 1;
    }
    return gx->keylen ? memcmp(gx->key, gy->key, gx->keylen) : 0;
}

/* Emits each distinct (key, window) of list once; empties it. */
static void emit_list(struct sl__shard *sh, struct qrt *q, struct pend *list, int *n, bool is_final)
{
    if (*n == 0) {
        return;
    }
    qsort(list, (size_t)*n, sizeof(*list), pend_cmp);
    for (int i = 0; i < *n; i++) {
        if (i > 0 && pend_cmp(&list[i - 1], &list[i]) == 0) {
            continue;
        }
        emit_key_window(sh, q, &list[i].pn->g, list[i].wend, is_final);
    }
    *n = 0;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

static void hop_fire(struct sl__shard *sh, struct qrt *q, int64_t W)
{
    const struct sl_plan *p = q->p;
    int64_t size = p->size_ms, slide = p->slide_ms, late = p->lateness_ms;
    int64_t fired = q->fired_wm;

    emit_list(sh, q, q->pend, &q->npend, true);
    if (fired != SL_WM_NONE && W <= fired) {
        return;
    }
    if (slide == size) {
        for (int i = 0; i < q->nbk; i++) {
            struct bucket *b = &q->bk[i];
            int64_t E = b->pstart + size;
            if (E > W) {
                break;
            }
            if (fired != SL_WM_NONE && E <= fired) {
                continue;
            }
            for (int j = 0; j < b->n; j++) {
                struct pane *pn = b->v[j];
                emit(sh, q, pn->g.key, pn->g.keylen, pn->state, b->pstart, E, pn->rev, true);
            }
        }
    } else {
        int64_t *ends = NULL;
        int nends = 0, capends = 0;
        int64_t k = size / slide;
        for (int i = 0; i < q->nbk; i++) {
            for (int64_t j = 1; j <= k; j++) {
                int64_t E = q->bk[i].pstart + j * slide;
                if (E <= W && (fired == SL_WM_NONE || E > fired)) {
                    GROW(ends, nends, capends);
                    ends[nends++] = E;
                }
            }
        }
        if (nends > 1) {
            qsort(ends, (size_t)nends, sizeof(*ends), i64_cmp);
        }
        for (int x = 0; x < nends; x++) {
            if (x > 0 && ends[x] == ends[x - 1]) {
                continue;
            }
            int64_t E = ends[x], S = E - size;
            /* Each key once, at its first pane in [S, E), merging its chain up to E. */
            for (int i = 0; i < q->nbk && q->bk[i].pstart < E; i++) {
                struct bucket *b = &q->bk[i];
                if (b->pstart < S) {
                    continue;
                }
                for (int j = 0; j < b->n; j++) {
                    struct pane *pn = b->v[j], *prev = pane_links(q, pn)[0];
                    if (prev != NULL && prev->g.t >= S) {
                        continue;
                    }
                    int64_t rev = 0;
                    state_init(p, q->scratch);
                    for (struct pane *c = pn; c != NULL && c->g.t < E; c = pane_links(q, c)[1]) {
                        state_merge(p, q->scratch, c->state);
                        rev += c->rev;
                    }
                    emit(sh, q, pn->g.key, pn->g.keylen, q->scratch, S, E, rev, true);
                    state_fini(p, q->scratch);
                }
            }
        }
        free(ends);
    }
    q->fired_wm = W;
    /* Expire panes whose last window has expired. Panes on the dirty list are taken off
     * it first (their windows have all fired, so no early row is due). */
    int drop = 0;
    while (drop < q->nbk && q->bk[drop].pstart + size + late <= W) {
        drop++;
    }
    if (drop == 0) {
        return;
    }
    if (q->ndirty > 0) {
        for (int i = 0; i < drop; i++) {
            for (int j = 0; j < q->bk[i].n; j++) {
                if (q->bk[i].v[j]->dirty) {
                    q->bk[i].v[j]->dirty = 2;
                }
            }
        }
        int keep = 0;
        for (int i = 0; i < q->ndirty; i++) {
            if (q->dirty[i]->dirty == 1) {
                q->dirty[keep++] = q->dirty[i];
            }
        }
        q->ndirty = keep;
    }
    /* Dropping at least half the panes: the table is cleared and the rest put back, which
     * reads only the survivors (one deletion each would visit every dropped pane's slot
     * and shift its cluster). */
    size_t ndrop = 0;
    for (int i = 0; i < drop; i++) {
        ndrop += (size_t)q->bk[i].n;
    }
    bool rebuild = ndrop * 2 >= q->tab.n;
    if (rebuild) {
        tab_clear(&q->tab);
        for (int i = drop; i < q->nbk; i++) {
            for (int j = 0; j < q->bk[i].n; j++) {
                tab_insert(&q->tab, &q->bk[i].v[j]->g);
            }
        }
    }
    for (int i = 0; i < drop; i++) {
        struct bucket *b = &q->bk[i];
        for (int j = 0; j < b->n; j++) {
            struct pane *pn = b->v[j];
            if (!rebuild) {
                tab_remove(&q->tab, &pn->g);
            }
            pane_unlink(q, pn);
            state_fini(p, pn->state);
            free_key(&pn->g, pane_inl(q, pn));
            blk_free(q, pn);
            groups_give(sh, q);
        }
        free(b->v);
        free(b->minpos);
    }
    memmove(q->bk, q->bk + drop, sizeof(*q->bk) * (size_t)(q->nbk - drop));
    q->nbk -= drop;
}

/* EMIT EVERY: early rows for windows (not yet fired) whose panes changed. */
static void hop_early(struct sl__shard *sh, struct qrt *q)
{
    const struct sl_plan *p = q->p;
    for (int i = 0; i < q->ndirty; i++) {
        struct pane *pn = q->dirty[i];
        pn->dirty = 0;
        for (int64_t E = pn->g.t + p->slide_ms; E <= pn->g.t + p->size_ms; E += p->slide_ms) {
            if (q->fired_wm == SL_WM_NONE || E > q->fired_wm) {
                GROW(q->early, q->nearly, q->capearly);
                q->early[q->nearly].pn = pn;
                q->early[q->nearly].wend = E;
                q->nearly++;
            }
        }
    }
    q->ndirty = 0;
    emit_list(sh, q, q->early, &q->nearly, false);
}

/* ---- SESSION ---- */

static void heap_push(struct qrt *q, int64_t end, int64_t start, struct sgroup *g)
{
    GROW(q->heap, q->nheap, q->capheap);
    int i = q->nheap++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (q->heap[parent].end <= end) {
            break;
        }
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i].end = end;
    q->heap[i].start = start;
    q->heap[i].grp = g;
    g->heap_refs++;
}

static struct hent heap_pop(struct qrt *q)
{
    struct hent top = q->heap[0];
    struct hent last = q->heap[--q->nheap];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= q->nheap) {
            break;
        }
        if (c + 1 < q->nheap && q->heap[c + 1].end < q->heap[c].end) {
            c++;
        }
        if (last.end <= q->heap[c].end) {
            break;
        }
        q->heap[i] = q->heap[c];
        i = c;
    }
    if (q->nheap > 0) {
        q->heap[i] = last;
    }
    top.grp->heap_refs--;
    return top;
}

static void sess_remove_at(struct sgroup *g, int i)
{
    memmove(&g->v[i], &g->v[i + 1], sizeof(*g->v) * (size_t)(g->n - i - 1));
    g->n--;
}

static void session_event(struct sl__shard *sh, struct qrt *q, const struct sl__evrec *e,
                          const uint8_t *key, const struct sl_value *vals)
{
    const struct sl_plan *p = q->p;
    int64_t gap = p->gap_ms;
    int64_t cut = sl_floor_div(e->ts, p->max_duration_ms);
    int64_t lo = e->ts, hi = e->ts + gap;
    uint64_t h = ghash(e->keyhash, cut);
    struct sgroup *g = (struct sgroup *)tab_find(&q->tab, h, cut, key, e->keylen);

    if (g == NULL) {
        g = sl_xcalloc(1, sizeof(*g));
        g->g.hash = h;
        g->g.keyhash = e->keyhash;
        g->g.t = cut;
        set_key(&g->g, g->inl, key, e->keylen);
        tab_insert(&q->tab, &g->g);
    }
    int first = -1, last = -1;
    int64_t mstart = lo, mend = hi;
    for (int i = 0; i < g->n; i++) {
        struct sess *s = g->v[i];
        if (s->start < hi && lo < s->end) {
            if (s->fired || (e->stamp != SL_WM_NONE && s->end <= e->stamp)) {
                if (e->replay) {
                    sl_ctr_add(&q->st.replay_skipped, 1);
                } else {
                    late_event(sh, q, e);
                }
                return;
            }
            if (first < 0) {
                first = i;
            }
            last = i;
            if (s->start < mstart) {
                mstart = s->start;
            }
            if (s->end > mend) {
                mend = s->end;
            }
        }
    }
    /* Replayed events carry a lower bound of the watermark they were first read under
     * (source.c, replay_stamp): what it finds late was late then. Sessions that ended by
     * the commit's done are made fired when the replay is over (SL_MARK_RESTORE). */
    if (e->stamp != SL_WM_NONE && mend <= e->stamp) {
        if (e->replay) {
            sl_ctr_add(&q->st.replay_skipped, 1);
        } else {
            late_event(sh, q, e);
        }
        return;
    }
    struct sess *s;
    if (first < 0) {
        if (!groups_take(sh, q)) {
            sl_ctr_add(&q->st.over_limit, 1);
            return;
        }
        s = blk_alloc(q);
        memset(s, 0, sizeof(*s));
        s->part = (uint16_t)POS_PART(e->pos);
        state_init(p, s->state);
        if (q->track) {
            minpos_init(sess_minpos(q, s), q->np);
        }
        int at = 0;
        while (at < g->n && g->v[at]->start < lo) {
            at++;
        }
        GROW(g->v, g->n, g->cap);
        memmove(&g->v[at + 1], &g->v[at], sizeof(*g->v) * (size_t)(g->n - at));
        g->v[at] = s;
        g->n++;
    } else {
        s = g->v[first];
        for (int i = last; i > first; i--) {
            struct sess *o = g->v[i];
            if (o->fired) {
                continue;
            }
            state_merge(p, s->state, o->state);
            s->rev += o->rev;
            if (q->track) {
                minpos_fold(sess_minpos(q, s), sess_minpos(q, o), q->np);
            }
            state_fini(p, o->state);
            sess_remove_at(g, i);
            blk_free(q, o);
            groups_give(sh, q);
        }
    }
    s->start = mstart;
    s->end = mend;
    if (q->track) {
        minpos_note(q, sess_minpos(q, s), e->pos);
    }
    fold(q, s->state, e, vals);
    s->rev++;
    sl_ctr_add(&q->st.accepted, 1);
    heap_push(q, s->end, s->start, g);
}

/* The end of a group's max_duration cut plus one gap: from that watermark on, every
 * session of the cut has fired and no event can join one. */
static int64_t cut_done(const struct qrt *q, const struct sgroup *g)
{
    return (g->g.t + 1) * q->p->max_duration_ms + q->p->gap_ms;
}

/* Tombstones. An event whose merged session would include a fired one is late (SQL.md), and
 * an open session can grow back towards older ones through a chain of such merges, so the
 * latest fired session of a group is kept until its cut is done; older ones cannot be
 * reached without crossing it (sessions are disjoint, fired ones precede open ones). */
static void sgroup_cleanup(struct sl__shard *sh, struct qrt *q, struct sgroup *g, int64_t W)
{
    bool all = W == SL_WM_MAX || W >= cut_done(q, g);
    int last = -1;
    for (int i = 0; i < g->n; i++) {
        if (g->v[i]->fired) {
            last = i;
        }
    }
    for (int i = 0; i < g->n;) {
        struct sess *t = g->v[i];
        if (t->fired && (all || i < last)) {
            sess_remove_at(g, i);
            blk_free(q, t);
            last--;
        } else {
            i++;
        }
    }
    if (g->n == 0 && g->heap_refs == 0) {
        tab_remove(&q->tab, &g->g);
        free_key(&g->g, g->inl);
        free(g->v);
        free(g);
    }
    (void)sh;
}

static void session_fire(struct sl__shard *sh, struct qrt *q, int64_t W, bool silent)
{
    while (q->nheap > 0 && q->heap[0].end <= W) {
        struct hent h = heap_pop(q);
        struct sgroup *g = h.grp;
        for (int i = 0; i < g->n; i++) {
            struct sess *s = g->v[i];
            if (!s->fired && s->start == h.start && s->end == h.end) {
                if (!silent) {
                    emit(sh, q, g->g.key, g->g.keylen, s->state, s->start, s->end, s->rev, true);
                }
                state_fini(q->p, s->state);
                s->fired = 1;
                groups_give(sh, q);
                /* Come back when the cut is done and the tombstone may go (start INT64_MIN
                 * matches no session). */
                heap_push(q, cut_done(q, g), INT64_MIN, g);
                break;
            }
        }
        sgroup_cleanup(sh, q, g, W);
    }
    q->fired_wm = W;
}

/* ---- the thread ---- */

#define PREFETCH 8 /* events between an event's slot prefetch and its use */

static void handle_event(struct sl__shard *sh, const uint8_t *rec, const struct evkey *k)
{
    const struct sl__evrec *e = (const struct sl__evrec *)rec;
    struct qrt *q = &sh->q[e->query];
    const uint8_t *key = rec + sizeof(*e);
    const struct sl_value *raw = (const struct sl_value *)(key + ((e->keylen + 7) & ~(uint32_t)7));
    for (int i = 0; i < e->nstates; i++) {
        sh->vals[i] = raw[i];
        if (raw[i].type == SL_TYPE_TEXT && !raw[i].null) {
            sh->vals[i].u.s = (const char *)rec + (uintptr_t)raw[i].u.s;
        }
    }
    if (q->p->window == SL_WINDOW_SESSION) {
        session_event(sh, q, e, key, sh->vals);
    } else {
        hop_event(sh, q, e, key, sh->vals, k);
    }
}

/* Revocation: panes and sessions whose first event came from partition part are dropped
 * without a row (with co-partitioned keys, all of a key's events do). */
static void revoke_part(struct sl__shard *sh, struct qrt *q, int part)
{
    const struct sl_plan *p = q->p;
    if (p->window == SL_WINDOW_SESSION) {
        struct sgroup **empty = NULL;
        int nempty = 0, capempty = 0;
        for (size_t i = 0; i < q->tab.cap; i++) {
            struct sgroup *g = (struct sgroup *)q->tab.slots[i].g;
            if (g == NULL) {
                continue;
            }
            for (int j = 0; j < g->n;) {
                struct sess *t = g->v[j];
                if (t->part != part) {
                    j++;
                    continue;
                }
                if (!t->fired) {
                    state_fini(p, t->state);
                    groups_give(sh, q);
                }
                sess_remove_at(g, j);
                blk_free(q, t);
            }
            if (g->n == 0 && g->heap_refs == 0) {
                GROW(empty, nempty, capempty);
                empty[nempty++] = g;
            }
        }
        for (int i = 0; i < nempty; i++) {
            tab_remove(&q->tab, &empty[i]->g);
            free_key(&empty[i]->g, empty[i]->inl);
            free(empty[i]->v);
            free(empty[i]);
        }
        free(empty);
        return;
    }
    int keep = 0;
    for (int i = 0; i < q->ndirty; i++) {
        if (q->dirty[i]->part != part) {
            q->dirty[keep++] = q->dirty[i];
        }
    }
    q->ndirty = keep;
    keep = 0;
    for (int i = 0; i < q->npend; i++) {
        if (q->pend[i].pn->part != part) {
            q->pend[keep++] = q->pend[i];
        }
    }
    q->npend = keep;
    for (int i = 0; i < q->nbk; i++) {
        struct bucket *b = &q->bk[i];
        keep = 0;
        for (int j = 0; j < b->n; j++) {
            struct pane *pn = b->v[j];
            if (pn->part != part) {
                b->v[keep++] = pn;
                continue;
            }
            tab_remove(&q->tab, &pn->g);
            pane_unlink(q, pn);
            state_fini(p, pn->state);
            free_key(&pn->g, pane_inl(q, pn));
            blk_free(q, pn);
            groups_give(sh, q);
        }
        b->n = keep;
        if (b->minpos != NULL && part < q->np) {
            b->minpos[part] = INT64_MAX;
        }
    }
}

/* The smallest position per partition among q's open buckets and sessions. */
static void open_positions(struct qrt *q, int64_t *mp)
{
    if (q->p->window == SL_WINDOW_SESSION) {
        for (size_t i = 0; i < q->tab.cap; i++) {
            struct sgroup *g = (struct sgroup *)q->tab.slots[i].g;
            for (int j = 0; g != NULL && j < g->n; j++) {
                minpos_fold(mp, sess_minpos(q, g->v[j]), q->np);
            }
        }
        return;
    }
    for (int i = 0; i < q->nbk; i++) {
        if (q->bk[i].minpos != NULL) {
            minpos_fold(mp, q->bk[i].minpos, q->np);
        }
    }
}

static void handle_marker(struct sl__shard *sh, const struct sl__marker *m)
{
    bool track = (m->flags & SL_MARK_TRACK) != 0;
    int np = 0;
    for (int i = 0; i < sh->nq; i++) {
        struct qrt *q = &sh->q[i];
        if (q->p == NULL || q->p->src->index != (int)m->source) {
            continue;
        }
        if (m->flags & SL_MARK_RESTORE) {
            if (q->added) {
                q->emit_from = m->wm;
            }
            /* After replay at start: windows ending by the commit's done fired before the
             * crash (DESIGN.md); sessions that ended by then become fired, silently. */
            if (q->p->window == SL_WINDOW_SESSION) {
                session_fire(sh, q, m->wm, true);
            } else if (q->fired_wm == SL_WM_NONE || q->fired_wm < m->wm) {
                q->fired_wm = m->wm;
            }
        } else if (m->flags & SL_MARK_REVOKE) {
            revoke_part(sh, q, (int)m->wm);
        } else if (m->fire && m->wm != SL_WM_NONE) {
            if (q->p->window == SL_WINDOW_SESSION) {
                session_fire(sh, q, m->wm, false);
            } else {
                hop_fire(sh, q, m->wm);
            }
        }
        if (track) {
            if (np == 0) {
                np = q->np;
                minpos_init(sh->mp, np);
            }
            open_positions(q, sh->mp);
        }
    }
    if (track) {
        if (np == 0) {
            np = sl__srcrt_nparts(sh->eng->srcs[m->source]);
            minpos_init(sh->mp, np);
        }
        sl__srcrt_report(sh->eng->srcs[m->source], m->seq, sh->mp);
    }
    for (int i = 0; i < sh->nq; i++) {
        struct qrt *q = &sh->q[i];
        if (q->p != NULL && q->p->src->index == (int)m->source) {
            /* Published with the rows by publish_rows at the end of this batch. */
            sl__queue_marker(q->out, m, NULL);
            q->queued = true;
        }
    }
    if (m->final) {
        sh->in_final[m->source] = true;
    }
}

static bool inputs_ready(void *ud)
{
    struct sl__shard *sh = ud;
    for (int i = 0; i < sh->nin; i++) {
        if (sh->in[i] != NULL && !sh->in_final[i] && sl_chan_readable(sh->in[i])) {
            return true;
        }
    }
    return false;
}

static bool all_final(const struct sl__shard *sh)
{
    for (int i = 0; i < sh->nin; i++) {
        if (sh->in[i] != NULL && !sh->in_final[i]) {
            return false;
        }
    }
    return true;
}

static int64_t run_early(struct sl__shard *sh)
{
    int64_t now = sl_mono_ms(), next = now + 1000;
    for (int i = 0; i < sh->nq; i++) {
        struct qrt *q = &sh->q[i];
        if (q->p == NULL || q->p->emit != SL_EMIT_EVERY) {
            continue;
        }
        if (now >= q->next_early) {
            hop_early(sh, q);
            q->next_early = now + q->p->emit_every_ms;
        }
        if (q->next_early < next) {
            next = q->next_early;
        }
    }
    return next - now;
}

/* Publishes the rows emitted since the last commit, one commit (and at most one wake of the
 * sink) per channel and batch. */
static void publish_rows(struct sl__shard *sh)
{
    for (int i = 0; i < sh->nq; i++) {
        struct qrt *q = &sh->q[i];
        if (q->queued) {
            q->queued = false;
            sl_chan_commit(q->out);
        }
    }
}

static void *shard_main(void *arg)
{
    struct sl__shard *sh = arg;
    sl_thread_name("sl-shard-%d", sh->index);
    for (;;) {
        bool any = false;
        for (int i = 0; i < sh->nin; i++) {
            struct sl_chan *c = sh->in[i];
            if (c == NULL || sh->in_final[i]) {
                continue;
            }
            /* Records are peeked first, so that each event's table slot can be fetched
             * from memory a few events before it is needed (struct evkey). */
            const uint8_t *recs[MAX_IN];
            struct evkey ks[MAX_IN];
            int n = 0;
            const uint8_t *rec;
            uint32_t len;
            while (n < MAX_IN && (rec = sl_chan_peek(c, &len)) != NULL) {
                recs[n++] = rec;
                if (rec[0] == SL_REC_MARKER && ((const struct sl__marker *)rec)->final) {
                    break;
                }
            }
            /* Record j's slot is fetched PREFETCH records before record j is handled. */
            for (int j = 0; j < n + PREFETCH; j++) {
                if (j < n) {
                    ks[j] = event_key(sh, recs[j]);
                    __builtin_prefetch(ks[j].slot);
                }
                int u = j - PREFETCH;
                if (u < 0) {
                    continue;
                }
                if (recs[u][0] == SL_REC_EVENT) {
                    handle_event(sh, recs[u], &ks[u]);
                } else if (recs[u][0] == SL_REC_MARKER) {
                    handle_marker(sh, (const struct sl__marker *)recs[u]);
                }
            }
            if (n > 0) {
                sl_chan_release(c);
                any = true;
            }
        }
        int64_t wait = 100;
        if (sh->has_early) {
            wait = run_early(sh);
        }
        publish_rows(sh);
        if (all_final(sh)) {
            break;
        }
        if (!any) {
            sl_waiter_wait(&sh->w, inputs_ready, sh, (int)(wait > 0 ? wait : 0));
        }
    }
    return NULL;
}

struct sl__shard *sl__shard_new(struct sl_engine *eng, int index)
{
    const struct sl_catalog *cat = eng->cat;
    struct sl__shard *sh = sl_xcalloc(1, sizeof(*sh));
    int maxrow = 0, maxout = 0, maxstates = 0, maxnp = 1;

    sh->eng = eng;
    sh->index = index;
    sl_waiter_init(&sh->w, SL_WAITER_SPIN_DEFAULT);
    sh->nin = cat->nsources;
    sh->in = sl_xcalloc((size_t)sh->nin, sizeof(*sh->in));
    sh->in_final = sl_xcalloc((size_t)sh->nin, sizeof(*sh->in_final));
    sh->nq = cat->nplans;
    sh->q = sl_xcalloc((size_t)sh->nq, sizeof(*sh->q));
    for (int i = 0; i < cat->nplans; i++) {
        const struct sl_plan *p = cat->plans[i];
        if (p->window == SL_WINDOW_NONE) {
            continue;
        }
        struct qrt *q = &sh->q[i];
        q->p = p;
        q->fired_wm = SL_WM_NONE;
        q->hll_agg = -1;
        q->emit_from = INT64_MIN;
        q->ids = sl__plan_row_ids(p);
        for (int a = 0; a < eng->opts.nadded; a++) {
            if (strcmp(eng->opts.added[a], p->name) == 0) {
                q->added = true;
            }
        }
        const struct sl_opt_value *hk = sl_options_get(&p->sink_opts, "hll_key");
        for (int a = 0; hk != NULL && hk->given && a < p->naggs; a++) {
            if (strcmp(p->aggs[a].ops->name, "APPROX_COUNT_DISTINCT") == 0) {
                q->hll_agg = a;
                break;
            }
        }
        tab_init(&q->tab);
        size_t hdr = p->window == SL_WINDOW_SESSION ? sizeof(struct sess) : sizeof(struct pane);
        q->blk = (hdr + p->state_size + INLINE_KEY + 7) & ~(size_t)7;
        if (p->window == SL_WINDOW_HOP && p->slide_ms < p->size_ms) {
            q->coff = q->blk;
            q->blk += 2 * sizeof(struct pane *);
            q->scratch = sl_xcalloc(1, p->state_size > 0 ? p->state_size : 1);
        }
        struct sl__srcrt *src = eng->srcs[p->src->index];
        q->np = sl__srcrt_nparts(src);
        q->track = sl__srcrt_durable(src);
        if (q->np > maxnp) {
            maxnp = q->np;
        }
        if (q->track && p->window == SL_WINDOW_SESSION) {
            q->moff = (hdr + p->state_size + 7) & ~(size_t)7;
            size_t need = q->moff + (size_t)q->np * sizeof(int64_t);
            q->blk = need > q->blk ? need : q->blk;
        }
        if (q->blk < sizeof(void *)) {
            q->blk = sizeof(void *);
        }
        if (p->emit == SL_EMIT_EVERY) {
            sh->has_early = true;
        }
        int row = p->nkeys + p->naggs + SL_AGGROW_N;
        maxrow = row > maxrow ? row : maxrow;
        maxout = p->nout > maxout ? p->nout : maxout;
        maxstates = p->nstates > maxstates ? p->nstates : maxstates;
        if (sh->in[p->src->index] == NULL) {
            sh->in[p->src->index] =
                sl_chan_new(4 << 20, &sh->w, sl__srcrt_waiter(eng->srcs[p->src->index]));
        }
    }
    sh->aggrow = sl_xcalloc((size_t)maxrow + 1, sizeof(*sh->aggrow));
    sh->outs = sl_xcalloc((size_t)maxout + 1, sizeof(*sh->outs));
    sh->vals = sl_xcalloc((size_t)maxstates + 1, sizeof(*sh->vals));
    for (int i = 0; i < cat->nsources; i++) {
        int np = eng->srcs[i] != NULL ? sl__srcrt_nparts(eng->srcs[i]) : 1;
        maxnp = np > maxnp ? np : maxnp;
    }
    sh->mp = sl_xcalloc((size_t)maxnp, sizeof(*sh->mp));
    sh->fbuf_cap = 256 * 1024;
    sh->fbuf = sl_xcalloc(1, sh->fbuf_cap);
    sl_eval_init(&sh->ev, 64 * 1024);
    sl_buf_init(&sh->hll);
    tab_init(&sh->mtab);
    return sh;
}

struct sl_chan *sl__shard_input(struct sl__shard *sh, int source_index)
{
    return sh->in[source_index];
}

struct sl_qstats *sl__shard_qstats(struct sl__shard *sh, int plan_index)
{
    return &sh->q[plan_index].st;
}

void sl__shard_connect(struct sl__shard *sh)
{
    for (int i = 0; i < sh->nq; i++) {
        if (sh->q[i].p != NULL) {
            sh->q[i].out = sl__sinkrt_input(sh->eng->sinks[i], sh->index);
        }
    }
}

int sl__shard_start(struct sl__shard *sh)
{
    int r = pthread_create(&sh->thr, NULL, shard_main, sh);
    if (r != 0) {
        return -r;
    }
    sh->started = true;
    return 0;
}

void sl__shard_join(struct sl__shard *sh)
{
    if (sh->started) {
        pthread_join(sh->thr, NULL);
        sh->started = false;
    }
}

static void qrt_fini(struct qrt *q)
{
    const struct sl_plan *p = q->p;
    if (p->window == SL_WINDOW_SESSION) {
        for (size_t i = 0; i < q->tab.cap; i++) {
            struct sgroup *g = (struct sgroup *)q->tab.slots[i].g;
            if (g == NULL) {
                continue;
            }
            for (int j = 0; j < g->n; j++) {
                if (!g->v[j]->fired) {
                    state_fini(p, g->v[j]->state);
                }
                free(g->v[j]);
            }
            free(g->v);
            free_key(&g->g, g->inl);
            free(g);
        }
    } else {
        for (int i = 0; i < q->nbk; i++) {
            for (int j = 0; j < q->bk[i].n; j++) {
                struct pane *pn = q->bk[i].v[j];
                state_fini(p, pn->state);
                free_key(&pn->g, pane_inl(q, pn));
                free(pn);
            }
            free(q->bk[i].v);
            free(q->bk[i].minpos);
        }
    }
    while (q->freelist != NULL) {
        void *n = *(void **)q->freelist;
        free(q->freelist);
        q->freelist = n;
    }
    free(q->tab.slots);
    free(q->scratch);
    free(q->bk);
    free(q->pend);
    free(q->early);
    free(q->dirty);
    free(q->heap);
}

void sl__shard_free(struct sl__shard *sh)
{
    if (sh == NULL) {
        return;
    }
    for (int i = 0; i < sh->nq; i++) {
        if (sh->q[i].p != NULL) {
            qrt_fini(&sh->q[i]);
        }
    }
    for (int i = 0; i < sh->nin; i++) {
        sl_chan_free(sh->in[i]);
    }
    while (sh->marena != NULL) {
        uint8_t *prev = *(uint8_t **)sh->marena;
        free(sh->marena);
        sh->marena = prev;
    }
    free(sh->mtab.slots);
    free(sh->in);
    free(sh->in_final);
    free(sh->q);
    free(sh->aggrow);
    free(sh->outs);
    free(sh->vals);
    free(sh->mp);
    free(sh->fbuf);
    sl_eval_fini(&sh->ev);
    sl_buf_fini(&sh->hll);
    free(sh->mlist);
    free(sh);
}

struct sl_waiter *sl__shard_waiter(struct sl__shard *sh)
{
    return &sh->w;
}

static double ring_used(void *ud)
{
    return (double)sl_chan_used(ud);
}

static double open_groups(void *ud)
{
    return (double)atomic_load_explicit((_Atomic(uint64_t) *)ud, memory_order_relaxed);
}

int sl__shard_metrics(struct sl__shard *sh, struct sl_err *err)
{
    struct sl_engine *eng = sh->eng;
    char idx[16];
    int r = 0;
    snprintf(idx, sizeof(idx), "%d", sh->index);
    for (int i = 0; i < sh->nq && r >= 0; i++) {
        struct qrt *q = &sh->q[i];
        if (q->p == NULL) {
            continue;
        }
        const char *src = q->p->src->name, *qn = q->p->name;
        r = sl__metric_ctr(eng, "sluice_query_late_total",
                           "Events dropped because every window they belong to had expired.",
                           SL_LABELS({"source", src}, {"query", qn}), &q->st.late, err);
        r = r < 0
                ? r
                : sl__metric_ctr(eng, "sluice_query_over_limit_total",
                                 "Events refused by a limit (max_groups, record size).",
                                 SL_LABELS({"source", src}, {"query", qn}), &q->st.over_limit, err);
        r = r < 0 ? r
                  : sl__metric_ctr(eng, "sluice_query_accepted_total",
                                   "Events folded into a query's windows or emitted by it.",
                                   SL_LABELS({"source", src}, {"query", qn}), &q->st.accepted, err);
        r = r < 0 ? r
                  : sl__metric_ctr(eng, "sluice_query_replay_skipped_total",
                                   "Events read again on replay and not folded (already done).",
                                   SL_LABELS({"source", src}, {"query", qn}), &q->st.replay_skipped,
                                   err);
        r = r < 0 ? r
                  : sl__metric_ctr(eng, "sluice_query_rows_total",
                                   "Result rows a query emitted (early, final and corrections).",
                                   SL_LABELS({"query", qn}), &q->st.rows, err);
        if (r >= 0 && sh->index == 0) {
            r = sl_metrics_gauge_fn_register(eng->metrics, "sluice_query_open_groups",
                                             "Open groups (panes or sessions) of a query.",
                                             SL_LABELS({"query", qn}), open_groups,
                                             (void *)&eng->groups[i], err);
        }
    }
    for (int i = 0; i < sh->nin && r >= 0; i++) {
        if (sh->in[i] == NULL) {
            continue;
        }
        const char *src = eng->cat->sources[i]->name;
        r = sl_metrics_gauge_fn_register(
            eng->metrics, "sluice_ring_used_bytes", "Bytes waiting in a ring between two threads.",
            SL_LABELS({"from", src}, {"to", idx}), ring_used, sh->in[i], err);
        if (r >= 0) {
            r = sl_metrics_gauge_register(eng->metrics, "sluice_ring_capacity_bytes",
                                          "Capacity of a ring between two threads.",
                                          SL_LABELS({"from", src}, {"to", idx}), &sh->cap_gauge,
                                          err);
            if (r >= 0) {
                sl_gauge_set(sh->cap_gauge, (double)sl_chan_cap(sh->in[i]));
            }
        }
    }
    return r;
}
