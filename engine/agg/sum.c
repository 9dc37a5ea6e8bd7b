/*
 * sum.c - SUM(x) over BIGINT or DOUBLE, and the "sum" state it shares with AVG.
 *
 * BIGINT: the sum is kept exactly in 128 bits (two words with carry: no branch, and no
 * overflow short of 2^63 events), so the result does not depend on the order of the inputs
 * or of merges; final() gives NULL when the exact sum does not fit in a BIGINT (PostgreSQL
 * widens to NUMERIC there; Sluice's result type is BIGINT). That is how overflow is detected:
 * there is no sticky flag, which would make MAX + 1 - 1 depend on the order it arrives in.
 * DOUBLE: Neumaier's compensated summation (s + c); the result is accurate to a few ulps of
 * the sum unless the inputs cancel catastrophically. An infinite or NaN result gives NULL.
 * No non-NULL input gives NULL.
 */
#include <math.h>

#include "internal.h"

/* Adds x to the compensated pair (s, c). */
static inline void neumaier_add(double *s, double *c, double x)
{
    double t = *s + x;
    if (fabs(*s) >= fabs(x)) {
        *c += (*s - t) + x;
    } else {
        *c += (x - t) + *s;
    }
    *s = t;
}

static int sum_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    int r = sl__agg_check_arg("SUM", sig, SL__AGG_T_NUMERIC, SL__AGG_NUMBER_WHAT, 0, err);
    if (r < 0) {
        return r;
    }
    sig->result = sig->arg_type;
    sig->state_size = sizeof(struct sl__agg_sum);
    return 0;
}

void sl__agg_sum_init(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    memset(state, 0, sizeof(struct sl__agg_sum));
}

void sl__agg_sum_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                        const struct sl_agg_ctx *cx)
{
    struct sl__agg_sum *s = state;
    (void)cx;
    if (SL_UNLIKELY(v->null)) {
        return;
    }
    if (sig->arg_type == SL_TYPE_BIGINT) {
        uint64_t x = (uint64_t)v->u.i;
        uint64_t lo = s->u.i.lo + x;
        /* sign extension of x into the high word, plus the carry out of the low word */
        s->u.i.hi += (uint64_t)(v->u.i < 0 ? -1 : 0) + (uint64_t)(lo < x);
        s->u.i.lo = lo;
    } else {
        neumaier_add(&s->u.d.s, &s->u.d.c, v->u.d);
    }
    s->n++;
}

void sl__agg_sum_merge(void *dst, const void *src, const struct sl_agg_sig *sig)
{
    struct sl__agg_sum *d = dst;
    const struct sl__agg_sum *s = src;
    if (sig->arg_type == SL_TYPE_BIGINT) {
        uint64_t lo = d->u.i.lo + s->u.i.lo;
        d->u.i.hi += s->u.i.hi + (uint64_t)(lo < s->u.i.lo);
        d->u.i.lo = lo;
    } else {
        neumaier_add(&d->u.d.s, &d->u.d.c, s->u.d.s);
        d->u.d.c += s->u.d.c;
    }
    d->n += s->n;
}

static void sum_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                      char *buf, size_t cap)
{
    const struct sl__agg_sum *s = state;
    (void)buf;
    (void)cap;
    *out = sl_value_null(sig->result);
    if (s->n == 0) {
        return;
    }
    if (sig->arg_type == SL_TYPE_BIGINT) {
        __int128 v = sl__agg_sum_i128(s);
        if (v >= INT64_MIN && v <= INT64_MAX) {
            *out = sl_value_bigint((int64_t)v);
        }
    } else {
        double r = s->u.d.s + s->u.d.c;
        if (isfinite(r)) {
            *out = sl_value_double(r);
        }
    }
}

const struct sl_agg_ops sl_agg_sum = {
    .name = "SUM",
    .state_name = "sum",
    .min_args = 1,
    .max_args = 1,
    .exact = true,
    .check = sum_check,
    .init = sl__agg_sum_init,
    .update = sl__agg_sum_update,
    .merge = sl__agg_sum_merge,
    .final = sum_final,
    .fini = NULL,
};
