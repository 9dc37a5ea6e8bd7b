/*
 * topk.c - TOPK(x, k) -> TEXT: the k most frequent values of x with their counts, as the JSON
 * array [{"value":…,"count":…},…] (count descending, then value ascending), from a Space-Saving
 * sketch (Metwally, Agrawal and El Abbadi, 2005); k a constant 1..1000.
 *
 * The sketch keeps at most M = 2048 counters whatever k is: TOPK(x, 5) and TOPK(x, 10) on the
 * same x share one state (state_name "spacesaving"), and each final() prints its own k. A value
 * already counted adds 1 to its counter; a new value takes a free counter, or, when all M are
 * taken, replaces the value of the smallest counter and counts from that counter's count + 1
 * (remembering that count as its possible overestimate).
 *
 * Error bound: with n non-NULL values, every reported count is at least the value's true count
 * and overestimates it by at most min ≤ n / M (n / 2048); every value whose true count exceeds
 * n / M is in the sketch. Below M distinct values the counts are exact. Merge (the mergeable
 * summaries of Agarwal et al., 2012, in Space-Saving form): a value's merged count is the sum of
 * its counts in both, a side that is full and lacks it contributing its smallest count; the M
 * largest are kept, so the bound becomes (n1 + n2) / M. It is commutative, and associative
 * whenever the union fits in M counters (beyond, only up to the bound).
 *
 * Values are keys as SQL compares them: TEXT by bytes (copied: inline up to 24 bytes, else on
 * the heap), numbers, BOOLEAN and TIMESTAMP as 64-bit keys (DOUBLE -0 is 0, NaN one value).
 *
 * Memory: fixed state 32 bytes; counters on the heap, grown by doubling from 16 to 2048, each
 * 64 bytes plus 4 of heap index and 8 of hash table: at most 2048 × 76 = 152 KiB per state,
 * plus TEXT values longer than 24 bytes (one buffer per counter, reused). Freed in fini(). A
 * failed allocation makes the result NULL for good (counted in over_limit).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/format.h"
#include "internal.h"

#define TOPK_MAX     1000
#define SS_M         2048
#define SS_CAP_MIN   16
#define SS_HASH_SEED 0x5bd1e9955bd1e995ull

struct ss_entry {
    uint64_t count, err;
    uint64_t hash;
    uint32_t hp; /* position in the min-heap */
    uint32_t pad;
    struct sl__agg_text t; /* TEXT bytes; other types: the 8-byte key in t.u.inl */
};

/* One allocation: cap entries, then cap heap slots, then 2 cap hash slots (entry + 1; 0 is
 * empty). */
struct ss_state {
    struct ss_entry *e;
    uint32_t n, cap;
    uint64_t total; /* non-NULL values seen */
    uint64_t lost;
};

_Static_assert(sizeof(struct ss_state) == 32, "state layout");

static inline uint32_t *ss_heap(const struct ss_state *s)
{
    return (uint32_t *)(void *)(s->e + s->cap);
}

static inline uint32_t *ss_tab(const struct ss_state *s)
{
    return ss_heap(s) + s->cap;
}

static size_t ss_bytes(uint32_t cap)
{
    return (size_t)cap * (sizeof(struct ss_entry) + 3 * sizeof(uint32_t));
}

/* A value's key: 8 bytes for non-TEXT (canonical DOUBLE), its bytes for TEXT. */
struct ss_key {
    const char *p;
    uint32_t len;
    uint64_t k;
    uint64_t hash;
};

static void ss_key_of(const struct sl_value *v, struct ss_key *key)
{
    if (v->type == SL_TYPE_TEXT) {
        key->p = v->len != 0 ? v->u.s : "";
        key->len = v->len;
        key->hash = sl__agg_hash_bytes(key->p, key->len, SS_HASH_SEED);
        return;
    }
    if (v->type == SL_TYPE_DOUBLE) {
        double d = v->u.d;
        if (d == 0) {
            d = 0;
        }
        key->k = (uint64_t)sl__agg_dkey(d);
    } else if (v->type == SL_TYPE_BOOLEAN) {
        key->k = v->u.b ? 1 : 0;
    } else {
        key->k = (uint64_t)v->u.i;
    }
    key->p = NULL;
    key->len = 8;
    key->hash = sl__agg_hash_u64(key->k, SS_HASH_SEED);
}

static inline bool ss_eq(const struct ss_entry *e, const struct ss_key *key)
{
    if (e->hash != key->hash) {
        return false;
    }
    if (key->p == NULL) {
        uint64_t k;
        memcpy(&k, e->t.u.inl, 8);
        return k == key->k;
    }
    return e->t.len == key->len && memcmp(sl__agg_text_ptr(&e->t), key->p, key->len) == 0;
}

static int ss_set_key(struct ss_entry *e, const struct ss_key *key)
{
    e->hash = key->hash;
    if (key->p == NULL) {
        if (e->t.cap != 0) {
            sl__agg_text_fini(&e->t);
        }
        memcpy(e->t.u.inl, &key->k, 8);
        e->t.len = 8;
        return 0;
    }
    return sl__agg_text_set(&e->t, key->p, key->len);
}

/* Hash table of entry indices: linear probing, 2 cap slots. */
static uint32_t ss_find(const struct ss_state *s, const struct ss_key *key, uint32_t *ret_slot)
{
    const uint32_t *tab = ss_tab(s);
    uint32_t mask = 2 * s->cap - 1;
    uint32_t i = (uint32_t)key->hash & mask;
    while (tab[i] != 0) {
        if (ss_eq(&s->e[tab[i] - 1], key)) {
            *ret_slot = i;
            return tab[i] - 1;
        }
        i = (i + 1) & mask;
    }
    *ret_slot = i;
    return UINT32_MAX;
}

static void ss_tab_put(struct ss_state *s, uint32_t idx)
{
    uint32_t *tab = ss_tab(s);
    uint32_t mask = 2 * s->cap - 1;
    uint32_t i = (uint32_t)s->e[idx].hash & mask;
    while (tab[i] != 0) {
        i = (i + 1) & mask;
    }
    tab[i] = idx + 1;
}

/* Removes the slot of entry idx (backward-shift deletion). */
static void ss_tab_del(struct ss_state *s, uint32_t idx)
{
    uint32_t *tab = ss_tab(s);
    uint32_t mask = 2 * s->cap - 1;
    uint32_t i = (uint32_t)s->e[idx].hash & mask;
    while (tab[i] != idx + 1) {
        i = (i + 1) & mask;
    }
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (tab[j] == 0) {
            break;
        }
        uint32_t home = (uint32_t)s->e[tab[j] - 1].hash & mask;
        /* Move tab[j] into the hole at i unless its home lies cyclically in (i, j]. */
        bool in = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in) {
            tab[i] = tab[j];
            i = j;
        }
    }
    tab[i] = 0;
}

/* Min-heap of entries by count. */
static void ss_sift_down(struct ss_state *s, uint32_t pos)
{
    uint32_t *h = ss_heap(s);
    uint32_t x = h[pos];
    uint64_t c = s->e[x].count;
    for (;;) {
        uint32_t l = 2 * pos + 1;
        if (l >= s->n) {
            break;
        }
        uint32_t m = l;
        if (l + 1 < s->n && s->e[h[l + 1]].count < s->e[h[l]].count) {
            m = l + 1;
        }
        if (s->e[h[m]].count >= c) {
            break;
        }
        h[pos] = h[m];
        s->e[h[pos]].hp = pos;
        pos = m;
    }
    h[pos] = x;
    s->e[x].hp = pos;
}

static void ss_sift_up(struct ss_state *s, uint32_t pos)
{
    uint32_t *h = ss_heap(s);
    uint32_t x = h[pos];
    uint64_t c = s->e[x].count;
    while (pos > 0) {
        uint32_t p = (pos - 1) / 2;
        if (s->e[h[p]].count <= c) {
            break;
        }
        h[pos] = h[p];
        s->e[h[pos]].hp = pos;
        pos = p;
    }
    h[pos] = x;
    s->e[x].hp = pos;
}

/* Grows to cap (keeps entries, rebuilds heap positions and the table). */
static int ss_grow(struct ss_state *s, uint32_t cap)
{
    struct ss_entry *ne = malloc(ss_bytes(cap));
    if (ne == NULL) {
        return -ENOMEM;
    }
    struct ss_state t = {.e = ne, .n = s->n, .cap = cap};
    if (s->n != 0) {
        memcpy(ne, s->e, (size_t)s->n * sizeof(*ne));
        memcpy(ss_heap(&t), ss_heap(s), (size_t)s->n * sizeof(uint32_t));
    }
    memset(ss_tab(&t), 0, (size_t)2 * cap * sizeof(uint32_t));
    free(s->e);
    s->e = ne;
    s->cap = cap;
    for (uint32_t i = 0; i < s->n; i++) {
        ss_tab_put(s, i);
    }
    return 0;
}

/* Adds c to key's count (a new key with error err). Returns 0 or -ENOMEM. */
static int ss_add(struct ss_state *s, const struct ss_key *key, uint64_t c, uint64_t err)
{
    uint32_t slot;
    if (s->e != NULL) {
        uint32_t idx = ss_find(s, key, &slot);
        if (idx != UINT32_MAX) {
            s->e[idx].count += c;
            ss_sift_down(s, s->e[idx].hp);
            return 0;
        }
    }
    if (s->n == s->cap && s->cap < SS_M) {
        if (ss_grow(s, s->cap == 0 ? SS_CAP_MIN : s->cap * 2) < 0) {
            return -ENOMEM;
        }
    }
    if (s->n < s->cap) {
        uint32_t idx = s->n;
        struct ss_entry *e = &s->e[idx];
        memset(e, 0, sizeof(*e));
        if (ss_set_key(e, key) < 0) {
            return -ENOMEM;
        }
        e->count = c;
        e->err = err;
        ss_heap(s)[idx] = idx;
        s->n++;
        ss_tab_put(s, idx);
        ss_sift_up(s, idx);
        return 0;
    }
    /* Full: the smallest counter takes the new value. */
    uint32_t idx = ss_heap(s)[0];
    struct ss_entry *e = &s->e[idx];
    ss_tab_del(s, idx);
    if (ss_set_key(e, key) < 0) {
        return -ENOMEM;
    }
    e->err = e->count;
    e->count += c;
    ss_tab_put(s, idx);
    ss_sift_down(s, 0);
    return 0;
}

static int topk_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    char got[64];
    if (sig->star) {
        return sl_err_set(err, SL_ERR_TYPE, "TOPK(*) is not allowed: only COUNT(*) counts rows");
    }
    if (sig->nparams != 1) {
        return sl_err_set(err, SL_ERR_TYPE,
                          "TOPK takes 2 arguments, a value and how many to keep: TOPK(x, 10), "
                          "got %d",
                          1 + sig->nparams);
    }
    int r = sl__agg_check_arg("TOPK", sig, SL__AGG_T_VALUE, SL__AGG_VALUE_WHAT, 1, err);
    if (r < 0) {
        return r;
    }
    const struct sl_value *k = &sig->params[0];
    if (k->null || k->type != SL_TYPE_BIGINT || k->u.i < 1 || k->u.i > TOPK_MAX) {
        if (k->null || k->type == SL_TYPE_BIGINT || k->type == SL_TYPE_DOUBLE) {
            sl__agg_fmt_param(got, sizeof(got), k);
        } else {
            snprintf(got, sizeof(got), "%s", sl_type_name((enum sl_type)k->type));
        }
        return sl_err_set(err, SL_ERR_TYPE,
                          "TOPK's k must be a constant integer between 1 and %d, got %s", TOPK_MAX,
                          got);
    }
    sig->result = SL_TYPE_TEXT;
    sig->state_size = sizeof(struct ss_state);
    return 0;
}

static void topk_init(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    memset(state, 0, sizeof(struct ss_state));
}

static void topk_fini(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    struct ss_state *s = state;
    for (uint32_t i = 0; i < s->n; i++) {
        sl__agg_text_fini(&s->e[i].t);
    }
    free(s->e);
    memset(s, 0, sizeof(*s));
}

static void topk_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                        const struct sl_agg_ctx *cx)
{
    (void)sig;
    struct ss_state *s = state;
    struct ss_key key;
    if (v->null || s->lost) {
        return;
    }
    ss_key_of(v, &key);
    if (ss_add(s, &key, 1, 0) < 0) {
        s->lost = 1;
        if (cx->over_limit != NULL) {
            atomic_fetch_add_explicit(cx->over_limit, 1, memory_order_relaxed);
        }
        return;
    }
    s->total++;
}

/* Order of output and of merge truncation: count descending, then value ascending. */

static int ss_key_cmp(const struct ss_entry *a, const struct ss_entry *b, enum sl_type t)
{
    if (t == SL_TYPE_TEXT) {
        return sl__agg_bytes_cmp(sl__agg_text_ptr(&a->t), a->t.len, sl__agg_text_ptr(&b->t),
                                 b->t.len);
    }
    int64_t x, y;
    memcpy(&x, a->t.u.inl, 8);
    memcpy(&y, b->t.u.inl, 8);
    if (t == SL_TYPE_BOOLEAN) {
        x &= 1;
        y &= 1;
    }
    return (x > y) - (x < y);
}

static int ss_cmp_entries(const struct ss_entry *a, const struct ss_entry *b, enum sl_type t)
{
    if (a->count != b->count) {
        return a->count > b->count ? -1 : 1;
    }
    return ss_key_cmp(a, b, t);
}

/* Sorts entry indices by ss_cmp_entries (merge sort; tmp has room for n). */
static void ss_sort(const struct ss_entry *e, uint32_t *idx, uint32_t *tmp, uint32_t n,
                    enum sl_type t)
{
    if (n < 2) {
        return;
    }
    uint32_t h = n / 2;
    ss_sort(e, idx, tmp, h, t);
    ss_sort(e, idx + h, tmp, n - h, t);
    uint32_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        if (ss_cmp_entries(&e[idx[j]], &e[idx[i]], t) < 0) {
            tmp[k++] = idx[j++];
        } else {
            tmp[k++] = idx[i++];
        }
    }
    while (i < h) {
        tmp[k++] = idx[i++];
    }
    while (j < n) {
        tmp[k++] = idx[j++];
    }
    memcpy(idx, tmp, (size_t)n * sizeof(*idx));
}

static void topk_merge(void *dst, const void *src, const struct sl_agg_sig *sig)
{
    struct ss_state *d = dst;
    const struct ss_state *s = src;
    if (d->lost) {
        return;
    }
    if (s->lost) {
        d->lost = 1;
        return;
    }
    if (s->n == 0) {
        return;
    }
    uint64_t dmin = d->n == SS_M ? d->e[ss_heap(d)[0]].count : 0;
    uint64_t smin = s->n == SS_M ? s->e[ss_heap(s)[0]].count : 0;
    /* Combined counters: d's first (each plus smin where s lacks it), then s's not in d. */
    struct ss_state c = {0};
    int r = ss_grow(&c, SS_M * 2);
    if (r < 0) {
        d->lost = 1;
        return;
    }
    struct ss_key key;
    for (int side = 0; side < 2 && r == 0; side++) {
        const struct ss_state *x = side == 0 ? d : s;
        const struct ss_state *y = side == 0 ? s : d;
        uint64_t ymin = side == 0 ? smin : dmin;
        for (uint32_t i = 0; i < x->n && r == 0; i++) {
            const struct ss_entry *e = &x->e[i];
            key.hash = e->hash;
            if (sig->arg_type == SL_TYPE_TEXT) {
                key.p = sl__agg_text_ptr(&e->t);
                key.len = e->t.len;
            } else {
                key.p = NULL;
                key.len = 8;
                memcpy(&key.k, e->t.u.inl, 8);
            }
            uint32_t slot;
            uint32_t other = y->e != NULL ? ss_find(y, &key, &slot) : UINT32_MAX;
            if (side == 1 && other != UINT32_MAX) {
                continue; /* already combined from d's side */
            }
            uint64_t cnt = e->count, err = e->err;
            if (other != UINT32_MAX) {
                cnt += y->e[other].count;
                err += y->e[other].err;
            } else {
                cnt += ymin;
                err += ymin;
            }
            r = ss_add(&c, &key, cnt, err);
        }
    }
    if (r < 0) {
        topk_fini(&c, sig);
        d->lost = 1;
        return;
    }
    /* Keep the SS_M largest (count descending, then value). */
    uint32_t *idx = malloc((size_t)c.n * 2 * sizeof(uint32_t));
    if (idx == NULL) {
        topk_fini(&c, sig);
        d->lost = 1;
        return;
    }
    for (uint32_t i = 0; i < c.n; i++) {
        idx[i] = i;
    }
    ss_sort(c.e, idx, idx + c.n, c.n, sig->arg_type);
    uint32_t keep = c.n < SS_M ? c.n : SS_M;
    struct ss_state out = {0};
    uint32_t cap = SS_CAP_MIN;
    while (cap < keep) {
        cap *= 2;
    }
    if (ss_grow(&out, cap) < 0) {
        free(idx);
        topk_fini(&c, sig);
        d->lost = 1;
        return;
    }
    for (uint32_t i = 0; i < keep; i++) {
        struct ss_entry *e = &out.e[i];
        *e = c.e[idx[i]]; /* moves the TEXT copy */
        memset(&c.e[idx[i]].t, 0, sizeof(c.e[idx[i]].t));
        ss_heap(&out)[i] = i;
        out.n++;
        ss_tab_put(&out, i);
        ss_sift_up(&out, i);
    }
    free(idx);
    topk_fini(&c, sig);
    uint64_t total = d->total + s->total;
    topk_fini(d, sig);
    *d = out;
    d->total = total;
}

/* Writes the JSON of one value into buf; returns its length or -1 if it does not fit. */
static long ss_json_value(const struct ss_entry *e, enum sl_type t, char *buf, size_t cap)
{
    char tmp[SL_FORMAT_NUM_MAX];
    size_t n = 0;
    int64_t k;
    memcpy(&k, e->t.u.inl, 8);
    switch (t) {
    case SL_TYPE_TEXT: {
        const unsigned char *p = (const unsigned char *)sl__agg_text_ptr(&e->t);
        if (cap < 1) {
            return -1;
        }
        buf[n++] = '"';
        for (uint32_t i = 0; i < e->t.len; i++) {
            unsigned char ch = p[i];
            char esc[8];
            size_t el;
            if (ch == '"' || ch == '\\') {
                esc[0] = '\\';
                esc[1] = (char)ch;
                el = 2;
            } else if (ch < 0x20) {
                static const char hex[] = "0123456789abcdef";
                const char *sh = ch == '\n'   ? "\\n"
                                 : ch == '\r' ? "\\r"
                                 : ch == '\t' ? "\\t"
                                 : ch == '\b' ? "\\b"
                                 : ch == '\f' ? "\\f"
                                              : NULL;
                if (sh != NULL) {
                    memcpy(esc, sh, 2);
                    el = 2;
                } else {
                    memcpy(esc, "\\u00", 4);
                    esc[4] = hex[ch >> 4];
                    esc[5] = hex[ch & 15];
                    el = 6;
                }
            } else {
                esc[0] = (char)ch;
                el = 1;
            }
            if (cap - n < el) {
                return -1;
            }
            memcpy(buf + n, esc, el);
            n += el;
        }
        if (cap - n < 1) {
            return -1;
        }
        buf[n++] = '"';
        return (long)n;
    }
    case SL_TYPE_DOUBLE: {
        double d = sl__agg_dkey_value(k);
        if (!isfinite(d)) {
            n = 4;
            memcpy(tmp, "null", 4);
        } else {
            n = sl_format_double(d, tmp);
        }
        break;
    }
    case SL_TYPE_BOOLEAN:
        n = (k & 1) ? 4 : 5;
        memcpy(tmp, (k & 1) ? "true" : "false", n);
        break;
    default:
        n = sl_format_int(k, tmp);
        break;
    }
    if (n > cap) {
        return -1;
    }
    memcpy(buf, tmp, n);
    return (long)n;
}

static void topk_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                       char *buf, size_t cap)
{
    const struct ss_state *s = state;
    uint32_t idx[2 * SS_M];
    *out = sl_value_null(SL_TYPE_TEXT);
    if (s->lost || buf == NULL || cap < 2) {
        return;
    }
    uint32_t k = (uint32_t)sig->params[0].u.i;
    for (uint32_t i = 0; i < s->n; i++) {
        idx[i] = i;
    }
    ss_sort(s->e, idx, idx + s->n, s->n, sig->arg_type);
    if (k > s->n) {
        k = s->n;
    }
    size_t n = 0;
    buf[n++] = '[';
    for (uint32_t i = 0; i < k; i++) {
        const struct ss_entry *e = &s->e[idx[i]];
        int w = snprintf(buf + n, cap - n, "%s{\"value\":", i == 0 ? "" : ",");
        if (w < 0 || (size_t)w >= cap - n) {
            return; /* does not fit in the row's buffer: NULL */
        }
        n += (size_t)w;
        long vl = ss_json_value(e, sig->arg_type, buf + n, cap - n);
        if (vl < 0) {
            return;
        }
        n += (size_t)vl;
        w = snprintf(buf + n, cap - n, ",\"count\":%llu}", (unsigned long long)e->count);
        if (w < 0 || (size_t)w >= cap - n) {
            return;
        }
        n += (size_t)w;
    }
    if (cap - n < 1) {
        return;
    }
    buf[n++] = ']';
    *out = sl_value_text(buf, (uint32_t)n);
}

const struct sl_agg_ops sl_agg_topk = {
    .name = "TOPK",
    .state_name = "spacesaving",
    .min_args = 2,
    .max_args = 2,
    .exact = false,
    .check = topk_check,
    .init = topk_init,
    .update = topk_update,
    .merge = topk_merge,
    .final = topk_final,
    .fini = topk_fini,
};
