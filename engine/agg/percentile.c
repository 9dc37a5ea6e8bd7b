/*
 * percentile.c - PERCENTILE(x, q) and its alias APPROX_PERCENTILE(x, q) -> DOUBLE: a quantile
 * of a numeric x from a mergeable relative-error sketch (DDSketch: Masson, Rim and Lee, "a fast
 * and fully-mergeable quantile sketch with relative-error guarantees", VLDB 2019), shared by
 * every q on the same x (state_name "ddsketch": the state does not depend on q).
 *
 * A value x != 0 goes to bucket i = ceil(log_gamma |x|) of the store of its sign, gamma =
 * (1 + a) / (1 - a); bucket i holds (gamma^(i-1), gamma^i] and stands for 2 gamma^i / (gamma +
 * 1), which is within a of everything in it. a = 0.0099, a little under SQL.md's 1 %, so that a
 * value rounded into the neighbouring bucket by log()'s last bit still lands within 1 %. Zeros
 * and the infinities are counted apart (bucket indices of finite values lie within ±37600); NaN
 * is ignored (it is no number to rank).
 *
 * The quantile q answers the value of rank k = floor(q (n - 1)) (0-based, ascending: the
 * negative store from its largest magnitude, then zeros, then the positive store): the
 * representative of the bucket holding that order statistic, clamped to the exact [min, max]
 * (which only moves it closer). So the answer is within a of the order statistic k itself,
 * which SQL.md's bound allows (between ⌊q(n−1)⌋ and ⌈q(n−1)⌉); q = 0 and q = 1 are exact.
 *
 * Memory: each store is a dense array of 64-bit counts over a window of bucket indices, grown
 * on the heap by doubling (with slack so that moving the window is amortised) up to 2560
 * buckets. The occupied span of a store is capped at 2048 buckets, gamma^2048 ≈ 4e17: when a
 * store would span more, its lowest-magnitude buckets are folded into the lowest one kept, so a
 * value more than ~4e17 times smaller in magnitude than the largest of its sign is reported as
 * that floor (DDSketch's collapsing store). Within that span the bound holds exactly. Fixed
 * state 104 bytes; at most 2 × 2560 × 8 = 40 KiB on the heap, freed in fini(). A failed
 * allocation makes the result NULL for good (counted in over_limit).
 *
 * Merge adds counts bucket by bucket: exactly associative and commutative (the result depends
 * only on the multiset of buckets, up to the same collapse).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define DD_ALPHA    0.0099
#define DD_SPAN_MAX 2048
#define DD_CAP_MIN  64
#define DD_CAP_MAX  2560

/* Buckets [base, base + cap) in b; the occupied ones are [lo, hi]; b == NULL when empty. */
struct dd_store {
    uint64_t *b;
    int32_t base;
    uint32_t cap;
    int32_t lo, hi;
};

struct dd_state {
    struct dd_store pos, neg;
    uint64_t n;    /* non-NULL, non-NaN values */
    uint64_t zero; /* zeros */
    uint64_t inf_pos, inf_neg;
    double min, max;
    uint64_t lost; /* an allocation failed */
};

_Static_assert(sizeof(struct dd_state) == 104, "state layout");

static double dd_gamma(void)
{
    return (1 + DD_ALPHA) / (1 - DD_ALPHA);
}

/* 1 / ln gamma: ln(1.0099 / 0.9901), written out so that it is a constant. */
#define DD_INV_LN_GAMMA (1.0 / 0.019800646904042287)

static inline int32_t dd_index(double a)
{
    return (int32_t)ceil(log(a) * DD_INV_LN_GAMMA);
}

static double dd_value(int32_t i)
{
    double g = dd_gamma();
    return 2 * pow(g, i) / (g + 1);
}

/* Adds c at index idx (slow path: outside the window, or the store is empty). */
static int dd_store_slow(struct dd_store *s, int32_t idx, uint64_t c)
{
    int32_t lo, hi;
    if (s->b == NULL) {
        lo = hi = idx;
    } else {
        lo = idx < s->lo ? idx : s->lo;
        hi = idx > s->hi ? idx : s->hi;
    }
    if ((int64_t)hi - lo + 1 > DD_SPAN_MAX) {
        lo = hi - DD_SPAN_MAX + 1;
    }
    if (idx < lo) {
        idx = lo;
    }
    if (s->b != NULL && lo >= s->base && hi < s->base + (int64_t)s->cap) {
        /* The window holds the new span: fold buckets below the new lo into it in place. */
        if (lo > s->lo) {
            uint64_t sum = 0;
            int32_t top = s->hi < lo ? s->hi : lo - 1;
            for (int32_t j = s->lo; j <= top; j++) {
                sum += s->b[j - s->base];
                s->b[j - s->base] = 0;
            }
            s->b[lo - s->base] += sum;
        }
    } else {
        uint32_t span = (uint32_t)(hi - lo + 1);
        uint32_t need = span + span / 2;
        uint32_t cap = s->cap != 0 ? s->cap : DD_CAP_MIN;
        while (cap < need && cap < DD_CAP_MAX) {
            cap *= 2;
        }
        if (cap > DD_CAP_MAX) {
            cap = DD_CAP_MAX;
        }
        uint64_t *nb = calloc(cap, sizeof(*nb));
        if (nb == NULL) {
            return -ENOMEM;
        }
        /* Slack on the side the store grows towards. */
        int32_t base = (s->b != NULL && idx < s->lo) ? hi + 1 - (int32_t)cap : lo;
        if (s->b != NULL) {
            for (int32_t j = s->lo; j <= s->hi; j++) {
                int32_t t = j < lo ? lo : j;
                nb[t - base] += s->b[j - s->base];
            }
            free(s->b);
        }
        s->b = nb;
        s->base = base;
        s->cap = cap;
    }
    s->lo = lo;
    s->hi = hi;
    s->b[idx - s->base] += c;
    return 0;
}

static inline int dd_store_add(struct dd_store *s, int32_t idx, uint64_t c)
{
    if (s->b != NULL && (uint32_t)(idx - s->base) < s->cap) {
        int32_t lo = idx < s->lo ? idx : s->lo;
        int32_t hi = idx > s->hi ? idx : s->hi;
        if (hi - lo < DD_SPAN_MAX) {
            s->b[idx - s->base] += c;
            s->lo = lo;
            s->hi = hi;
            return 0;
        }
    }
    return dd_store_slow(s, idx, c);
}

static int pct_check(const char *name, struct sl_agg_sig *sig, struct sl_err *err)
{
    char got[64];
    if (sig->star) {
        return sl_err_set(err, SL_ERR_TYPE, "%s(*) is not allowed: only COUNT(*) counts rows",
                          name);
    }
    if (sig->nparams != 1) {
        return sl_err_set(err, SL_ERR_TYPE,
                          "%s takes 2 arguments, a value and a quantile: %s(x, 0.99), got %d", name,
                          name, 1 + sig->nparams);
    }
    int r = sl__agg_check_arg(name, sig, SL__AGG_T_NUMERIC, SL__AGG_NUMBER_WHAT, 1, err);
    if (r < 0) {
        return r;
    }
    const struct sl_value *q = &sig->params[0];
    double qd = NAN;
    if (!q->null && q->type == SL_TYPE_DOUBLE) {
        qd = q->u.d;
    } else if (!q->null && q->type == SL_TYPE_BIGINT) {
        qd = (double)q->u.i;
    }
    if (!(qd >= 0 && qd <= 1)) {
        if (q->null || q->type == SL_TYPE_BIGINT || q->type == SL_TYPE_DOUBLE) {
            sl__agg_fmt_param(got, sizeof(got), q);
        } else {
            snprintf(got, sizeof(got), "%s", sl_type_name((enum sl_type)q->type));
        }
        return sl_err_set(err, SL_ERR_TYPE,
                          "%s's quantile must be a constant between 0 and 1, got %s", name, got);
    }
    sig->result = SL_TYPE_DOUBLE;
    sig->state_size = sizeof(struct dd_state);
    return 0;
}

static int percentile_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    return pct_check("PERCENTILE", sig, err);
}

static int approx_percentile_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    return pct_check("APPROX_PERCENTILE", sig, err);
}

static void pct_init(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    memset(state, 0, sizeof(struct dd_state));
}

static void pct_fini(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    struct dd_state *s = state;
    free(s->pos.b);
    free(s->neg.b);
    memset(s, 0, sizeof(*s));
}

static int dd_add(struct dd_state *s, double x, uint64_t c)
{
    int r = 0;
    if (isinf(x)) {
        *(x > 0 ? &s->inf_pos : &s->inf_neg) += c;
    } else if (x > 0) {
        r = dd_store_add(&s->pos, dd_index(x), c);
    } else if (x < 0) {
        r = dd_store_add(&s->neg, dd_index(-x), c);
    } else {
        s->zero += c;
    }
    return r;
}

static void pct_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                       const struct sl_agg_ctx *cx)
{
    (void)sig;
    struct dd_state *s = state;
    double x;
    if (v->null || s->lost) {
        return;
    }
    x = v->type == SL_TYPE_DOUBLE ? v->u.d : (double)v->u.i;
    if (x != x) {
        return;
    }
    if (dd_add(s, x, 1) < 0) {
        s->lost = 1;
        if (cx->over_limit != NULL) {
            atomic_fetch_add_explicit(cx->over_limit, 1, memory_order_relaxed);
        }
        return;
    }
    if (s->n == 0 || x < s->min) {
        s->min = x;
    }
    if (s->n == 0 || x > s->max) {
        s->max = x;
    }
    s->n++;
}

static int dd_merge_store(struct dd_store *d, const struct dd_store *s)
{
    if (s->b == NULL) {
        return 0;
    }
    /* Highest first: the collapse of d then happens once, at its final span. */
    for (int32_t j = s->hi; j >= s->lo; j--) {
        uint64_t c = s->b[j - s->base];
        if (c != 0 && dd_store_add(d, j, c) < 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

static void pct_merge(void *dst, const void *src, const struct sl_agg_sig *sig)
{
    (void)sig;
    struct dd_state *d = dst;
    const struct dd_state *s = src;
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
    if (dd_merge_store(&d->pos, &s->pos) < 0 || dd_merge_store(&d->neg, &s->neg) < 0) {
        d->lost = 1;
        return;
    }
    d->zero += s->zero;
    d->inf_pos += s->inf_pos;
    d->inf_neg += s->inf_neg;
    if (d->n == 0 || s->min < d->min) {
        d->min = s->min;
    }
    if (d->n == 0 || s->max > d->max) {
        d->max = s->max;
    }
    d->n += s->n;
}

static double pct_q(const struct sl_agg_sig *sig)
{
    const struct sl_value *q = &sig->params[0];
    return q->type == SL_TYPE_DOUBLE ? q->u.d : (double)q->u.i;
}

static void pct_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                      char *buf, size_t cap)
{
    (void)buf;
    (void)cap;
    const struct dd_state *s = state;
    if (s->lost || s->n == 0) {
        *out = sl_value_null(SL_TYPE_DOUBLE);
        return;
    }
    double q = pct_q(sig);
    /* floor(q (n - 1)) in exact arithmetic for n < 2^53; clamp against rounding. */
    double rf = floor(q * (double)(s->n - 1));
    uint64_t rank = rf <= 0 ? 0 : (uint64_t)rf;
    if (rank > s->n - 1) {
        rank = s->n - 1;
    }
    double v;
    if (rank == 0) {
        v = s->min;
    } else if (rank == s->n - 1) {
        v = s->max;
    } else {
        uint64_t cum = s->inf_neg;
        v = s->max;
        bool found = cum > rank;
        if (found) {
            v = -INFINITY;
        }
        const struct dd_store *st = &s->neg;
        if (!found && st->b != NULL) {
            for (int32_t j = st->hi; j >= st->lo; j--) {
                cum += st->b[j - st->base];
                if (cum > rank) {
                    v = -dd_value(j);
                    found = true;
                    break;
                }
            }
        }
        if (!found) {
            cum += s->zero;
            if (cum > rank) {
                v = 0;
                found = true;
            }
        }
        st = &s->pos;
        if (!found && st->b != NULL) {
            for (int32_t j = st->lo; j <= st->hi; j++) {
                cum += st->b[j - st->base];
                if (cum > rank) {
                    v = dd_value(j);
                    break;
                }
            }
        }
        if (v < s->min) {
            v = s->min;
        }
        if (v > s->max) {
            v = s->max;
        }
    }
    *out = sl_value_double(v);
}

const struct sl_agg_ops sl_agg_percentile = {
    .name = "PERCENTILE",
    .state_name = "ddsketch",
    .min_args = 2,
    .max_args = 2,
    .exact = false,
    .check = percentile_check,
    .init = pct_init,
    .update = pct_update,
    .merge = pct_merge,
    .final = pct_final,
    .fini = pct_fini,
};

/* The same aggregate under its other name; only the name in messages differs. */
const struct sl_agg_ops sl_agg_approx_percentile = {
    .name = "APPROX_PERCENTILE",
    .state_name = "ddsketch",
    .min_args = 2,
    .max_args = 2,
    .exact = false,
    .check = approx_percentile_check,
    .init = pct_init,
    .update = pct_update,
    .merge = pct_merge,
    .final = pct_final,
    .fini = pct_fini,
};
