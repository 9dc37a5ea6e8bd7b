/*
 * count_distinct.c - COUNT_DISTINCT(x) (the front end maps COUNT(DISTINCT x) to it) -> BIGINT:
 * the exact number of distinct non-NULL values of x in the group.
 *
 * The set is an open-addressing hash table with linear probing, load at most 0.7, grown by
 * doubling (allocation is amortised: none in the steady state of a group). BIGINT, TIMESTAMP,
 * BOOLEAN and DOUBLE values are 64-bit keys (DOUBLE canonicalised: -0 is 0 and every NaN is one
 * value, as SQL compares them); the key 0 is kept as a flag outside the table so that 0 can mark
 * an empty slot. TEXT values are entries (hash, offset, length) into a byte pool the set owns.
 * One set holds one type, so 1 and 1.0 never meet.
 *
 * Limit: at most sig->max_distinct values per state (0 there means the documented default,
 * 100000). The first value beyond it frees the set and makes the result NULL for good; that
 * state counts one refusal in *cx->over_limit, once (later values are dropped silently). A
 * failed allocation is treated the same way. Merge is the union: a merge that exceeds the limit
 * also gives NULL, but merge() has no context to count in, so it is not counted (a HOP pane
 * that overflowed on its own was counted when it did).
 *
 * State: 48 bytes; memory beyond it is freed in fini().
 */
#include <stdlib.h>

#include "internal.h"

#define CD_DEFAULT_LIMIT 100000u
#define CD_MIN_CAP       8u

struct cd_entry {
    uint64_t hash;
    uint64_t off;
    uint32_t len;
    uint32_t used;
};

struct cd_state {
    void *slots; /* uint64_t keys, or struct cd_entry for TEXT; NULL until needed */
    char *pool;  /* TEXT bytes */
    uint64_t pool_len, pool_cap;
    uint32_t cap; /* slots: 0 or a power of two */
    uint32_t n;   /* distinct values held, the zero key included */
    uint8_t has_zero;
    uint8_t over; /* beyond the limit (or out of memory): result NULL, set freed */
    uint8_t pad[6];
};

enum { CD_PRESENT = 0, CD_ADDED = 1, CD_REFUSED = -1 };

extern const struct sl_agg_ops sl_agg_count_distinct;

/* The hash seed: an address, different in each process under ASLR, so that crafted colliding
 * values do not carry over. It never changes results, only where values sit in the table. */
static inline uint64_t cd_seed(void)
{
    return (uint64_t)(uintptr_t)&sl_agg_count_distinct;
}

static inline uint64_t cd_limit(const struct sl_agg_sig *sig)
{
    return sig->max_distinct != 0 ? sig->max_distinct : CD_DEFAULT_LIMIT;
}

static int cd_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    if (sig->star) {
        return sl_err_set(err, SL_ERR_TYPE,
                          "COUNT(DISTINCT *) is not allowed: write COUNT(*), or name a column");
    }
    int r = sl__agg_check_arg("COUNT(DISTINCT)", sig, SL__AGG_T_VALUE, SL__AGG_VALUE_WHAT, 0, err);
    if (r < 0) {
        return r;
    }
    sig->result = SL_TYPE_BIGINT;
    sig->state_size = sizeof(struct cd_state);
    return 0;
}

static void cd_init(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    memset(state, 0, sizeof(struct cd_state));
}

static void cd_free(struct cd_state *s)
{
    free(s->slots);
    free(s->pool);
    s->slots = NULL;
    s->pool = NULL;
    s->pool_len = s->pool_cap = 0;
    s->cap = 0;
}

static void cd_fini(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    cd_free(state);
}

/* Gives up on the set: the result is NULL from now on. */
static void cd_refuse(struct cd_state *s)
{
    cd_free(s);
    s->n = 0;
    s->has_zero = 0;
    s->over = 1;
}

/* Grows the table so that one more value fits under the load limit. Returns 0 or -ENOMEM. */
static int cd_reserve(struct cd_state *s, bool text)
{
    uint32_t held = s->n - s->has_zero;
    if (s->cap != 0 && (uint64_t)(held + 1) * 10 <= (uint64_t)s->cap * 7) {
        return 0;
    }
    if (s->cap > UINT32_MAX / 2) {
        return -ENOMEM;
    }
    uint32_t cap = s->cap != 0 ? s->cap * 2 : CD_MIN_CAP;
    uint32_t mask = cap - 1;
    if (text) {
        struct cd_entry *nt = calloc(cap, sizeof(*nt));
        const struct cd_entry *ot = s->slots;
        if (nt == NULL) {
            return -ENOMEM;
        }
        for (uint32_t j = 0; j < s->cap; j++) {
            if (ot[j].used) {
                uint32_t i = (uint32_t)ot[j].hash & mask;
                while (nt[i].used) {
                    i = (i + 1) & mask;
                }
                nt[i] = ot[j];
            }
        }
        free(s->slots);
        s->slots = nt;
    } else {
        uint64_t *nt = calloc(cap, sizeof(*nt));
        const uint64_t *ot = s->slots;
        uint64_t seed = cd_seed();
        if (nt == NULL) {
            return -ENOMEM;
        }
        for (uint32_t j = 0; j < s->cap; j++) {
            if (ot[j] != 0) {
                uint32_t i = (uint32_t)sl__agg_hash_u64(ot[j], seed) & mask;
                while (nt[i] != 0) {
                    i = (i + 1) & mask;
                }
                nt[i] = ot[j];
            }
        }
        free(s->slots);
        s->slots = nt;
    }
    s->cap = cap;
    return 0;
}

static int cd_add_key(struct cd_state *s, uint64_t k, uint64_t limit)
{
    if (k == 0) {
        if (s->has_zero) {
            return CD_PRESENT;
        }
        if (s->n >= limit) {
            return CD_REFUSED;
        }
        s->has_zero = 1;
        s->n++;
        return CD_ADDED;
    }
    uint64_t h = sl__agg_hash_u64(k, cd_seed());
    if (s->cap != 0) {
        const uint64_t *t = s->slots;
        uint32_t mask = s->cap - 1;
        for (uint32_t i = (uint32_t)h & mask; t[i] != 0; i = (i + 1) & mask) {
            if (t[i] == k) {
                return CD_PRESENT;
            }
        }
    }
    if (s->n >= limit || cd_reserve(s, false) < 0) {
        return CD_REFUSED;
    }
    uint64_t *t = s->slots;
    uint32_t mask = s->cap - 1;
    uint32_t i = (uint32_t)h & mask;
    while (t[i] != 0) {
        i = (i + 1) & mask;
    }
    t[i] = k;
    s->n++;
    return CD_ADDED;
}

static int cd_add_text(struct cd_state *s, const char *p, uint32_t len, uint64_t h, uint64_t limit)
{
    if (s->cap != 0) {
        const struct cd_entry *t = s->slots;
        uint32_t mask = s->cap - 1;
        for (uint32_t i = (uint32_t)h & mask; t[i].used; i = (i + 1) & mask) {
            if (t[i].hash == h && t[i].len == len &&
                (len == 0 || memcmp(s->pool + t[i].off, p, len) == 0)) {
                return CD_PRESENT;
            }
        }
    }
    if (s->n >= limit || cd_reserve(s, true) < 0) {
        return CD_REFUSED;
    }
    if (s->pool_cap - s->pool_len < len) {
        uint64_t need = s->pool_len + len;
        uint64_t cap = s->pool_cap != 0 ? s->pool_cap * 2 : 256;
        cap = cap < need ? need : cap;
        char *np = realloc(s->pool, (size_t)cap);
        if (np == NULL) {
            return CD_REFUSED;
        }
        s->pool = np;
        s->pool_cap = cap;
    }
    if (len != 0) {
        memcpy(s->pool + s->pool_len, p, len);
    }
    struct cd_entry *t = s->slots;
    uint32_t mask = s->cap - 1;
    uint32_t i = (uint32_t)h & mask;
    while (t[i].used) {
        i = (i + 1) & mask;
    }
    t[i].hash = h;
    t[i].off = s->pool_len;
    t[i].len = len;
    t[i].used = 1;
    s->pool_len += len;
    s->n++;
    return CD_ADDED;
}

/* The 64-bit key of a non-NULL fixed-width value. */
static inline uint64_t cd_key(const struct sl_value *v, enum sl_type t)
{
    switch (t) {
    case SL_TYPE_DOUBLE: {
        double d = v->u.d;
        uint64_t k;
        if (d != d) {
            return 0x7ff8000000000000ull; /* one NaN */
        }
        if (d == 0) {
            return 0; /* -0 = 0 */
        }
        memcpy(&k, &d, sizeof(k));
        return k;
    }
    case SL_TYPE_BOOLEAN:
        return v->u.b ? 1 : 0;
    default:
        return (uint64_t)v->u.i;
    }
}

static void cd_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                      const struct sl_agg_ctx *cx)
{
    struct cd_state *s = state;
    int r;
    if (v->null || s->over) {
        return;
    }
    if (sig->arg_type == SL_TYPE_TEXT) {
        r = cd_add_text(s, v->u.s, v->len, sl__agg_hash_bytes(v->u.s, v->len, cd_seed()),
                        cd_limit(sig));
    } else {
        r = cd_add_key(s, cd_key(v, (enum sl_type)sig->arg_type), cd_limit(sig));
    }
    if (SL_UNLIKELY(r == CD_REFUSED)) {
        cd_refuse(s);
        if (cx != NULL && cx->over_limit != NULL) {
            (*cx->over_limit)++;
        }
    }
}

static void cd_merge(void *dst, const void *src, const struct sl_agg_sig *sig)
{
    struct cd_state *d = dst;
    const struct cd_state *s = src;
    uint64_t limit = cd_limit(sig);
    if (d->over) {
        return;
    }
    if (s->over) {
        cd_refuse(d);
        return;
    }
    if (sig->arg_type == SL_TYPE_TEXT) {
        const struct cd_entry *t = s->slots;
        for (uint32_t j = 0; j < s->cap; j++) {
            if (!t[j].used) {
                continue;
            }
            const char *p = t[j].len != 0 ? s->pool + t[j].off : "";
            if (cd_add_text(d, p, t[j].len, t[j].hash, limit) == CD_REFUSED) {
                cd_refuse(d);
                return;
            }
        }
        return;
    }
    if (s->has_zero && cd_add_key(d, 0, limit) == CD_REFUSED) {
        cd_refuse(d);
        return;
    }
    const uint64_t *t = s->slots;
    for (uint32_t j = 0; j < s->cap; j++) {
        if (t[j] != 0 && cd_add_key(d, t[j], limit) == CD_REFUSED) {
            cd_refuse(d);
            return;
        }
    }
}

static void cd_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                     char *buf, size_t cap)
{
    const struct cd_state *s = state;
    (void)sig;
    (void)buf;
    (void)cap;
    *out = s->over ? sl_value_null(SL_TYPE_BIGINT) : sl_value_bigint(s->n);
}

const struct sl_agg_ops sl_agg_count_distinct = {
    .name = "COUNT_DISTINCT",
    .state_name = "count_distinct",
    .min_args = 1,
    .max_args = 1,
    .exact = true,
    .check = cd_check,
    .init = cd_init,
    .update = cd_update,
    .merge = cd_merge,
    .final = cd_final,
    .fini = cd_fini,
};
