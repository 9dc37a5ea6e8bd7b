/*
 * moments.c - the "moments" state of VAR_POP, VAR_SAMP, STDDEV_POP and STDDEV_SAMP (each in
 * its own file with its final()): count, mean and sum of squared deviations m2.
 *
 * Update is Welford's: d = x - mean; mean += d / n; m2 += d * (x - mean'). Its weak spot is
 * data far from zero (1e9 + noise of 1e-3): a double mean carries an error of an ulp of 1e9,
 * which lands directly in every deviation. So the mean is kept as a double-double (hi + lo,
 * renormalised each step): deviations are then accurate to a few ulps of themselves and m2 to a
 * few ulps times sqrt(n). Merge is Chan, Golub and LeVeque's pairwise formula:
 *   n = na + nb, d = mean_b - mean_a, mean = mean_a + d nb / n, m2 = m2a + m2b + d^2 na nb / n.
 * NaN or infinite inputs make the results NaN, which final() turns into NULL.
 */
#include <math.h>

#include "internal.h"

/* hi + lo := hi + lo + x, renormalised so that |lo| <= ulp(hi) / 2. */
static inline void dd_add(double *hi, double *lo, double x)
{
    double s = *hi + x;
    double bb = s - *hi;
    double err = (*hi - (s - bb)) + (x - bb);
    double l = *lo + err;
    double t = s + l;
    *lo = l - (t - s);
    *hi = t;
}

int sl__agg_moments_check(const char *name, struct sl_agg_sig *sig, struct sl_err *err)
{
    int r = sl__agg_check_arg(name, sig, SL__AGG_T_NUMERIC, SL__AGG_NUMBER_WHAT, 0, err);
    if (r < 0) {
        return r;
    }
    sig->result = SL_TYPE_DOUBLE;
    sig->state_size = sizeof(struct sl__agg_moments);
    return 0;
}

void sl__agg_moments_init(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    memset(state, 0, sizeof(struct sl__agg_moments));
}

void sl__agg_moments_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                            const struct sl_agg_ctx *cx)
{
    struct sl__agg_moments *m = state;
    double x;
    (void)cx;
    if (SL_UNLIKELY(v->null)) {
        return;
    }
    x = sig->arg_type == SL_TYPE_BIGINT ? (double)v->u.i : v->u.d;
    m->n++;
    double d = (x - m->hi) - m->lo;
    dd_add(&m->hi, &m->lo, d / (double)m->n);
    m->m2 += d * ((x - m->hi) - m->lo);
}

void sl__agg_moments_merge(void *dst, const void *src, const struct sl_agg_sig *sig)
{
    struct sl__agg_moments *a = dst;
    const struct sl__agg_moments *b = src;
    (void)sig;
    if (b->n == 0) {
        return;
    }
    if (a->n == 0) {
        *a = *b;
        return;
    }
    double na = (double)a->n, nb = (double)b->n, n = na + nb;
    double d = (b->hi - a->hi) + (b->lo - a->lo);
    dd_add(&a->hi, &a->lo, d * (nb / n));
    a->m2 = a->m2 + b->m2 + d * d * (na * (nb / n));
    a->n += b->n;
}

double sl__agg_moments_var(const struct sl__agg_moments *m, int ddof)
{
    if (m->n <= ddof || m->n == 0) {
        return NAN;
    }
    /* Rounding can leave m2 a hair below zero for constant data; the variance is 0 there. */
    double m2 = m->m2 < 0 ? 0 : m->m2;
    return m2 / (double)(m->n - ddof);
}
