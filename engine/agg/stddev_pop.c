/*
 * stddev_pop.c - STDDEV_POP(x) over BIGINT or DOUBLE -> DOUBLE: the population standard deviation,
 * sqrt(m2 / n). Shares the "moments" state (moments.c) with the other variance and deviation
 * aggregates.
 */
#include <math.h>

#include "internal.h"

static int stddev_pop_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    return sl__agg_moments_check("STDDEV_POP", sig, err);
}

static void stddev_pop_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                             char *buf, size_t cap)
{
    double r = sqrt(sl__agg_moments_var(state, 0));
    (void)sig;
    (void)buf;
    (void)cap;
    *out = isfinite(r) ? sl_value_double(r) : sl_value_null(SL_TYPE_DOUBLE);
}

const struct sl_agg_ops sl_agg_stddev_pop = {
    .name = "STDDEV_POP",
    .state_name = "moments",
    .min_args = 1,
    .max_args = 1,
    .exact = true,
    .check = stddev_pop_check,
    .init = sl__agg_moments_init,
    .update = sl__agg_moments_update,
    .merge = sl__agg_moments_merge,
    .final = stddev_pop_final,
    .fini = NULL,
};
