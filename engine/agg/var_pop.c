/*
 * var_pop.c - VAR_POP(x) over BIGINT or DOUBLE -> DOUBLE: the population variance, m2 / n; 0 for
 * one value. Shares the "moments" state (moments.c) with the other variance and deviation
 * aggregates.
 */
#include <math.h>

#include "internal.h"

static int var_pop_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    return sl__agg_moments_check("VAR_POP", sig, err);
}

static void var_pop_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                          char *buf, size_t cap)
{
    double r = sl__agg_moments_var(state, 0);
    (void)sig;
    (void)buf;
    (void)cap;
    *out = isfinite(r) ? sl_value_double(r) : sl_value_null(SL_TYPE_DOUBLE);
}

const struct sl_agg_ops sl_agg_var_pop = {
    .name = "VAR_POP",
    .state_name = "moments",
    .min_args = 1,
    .max_args = 1,
    .exact = true,
    .check = var_pop_check,
    .init = sl__agg_moments_init,
    .update = sl__agg_moments_update,
    .merge = sl__agg_moments_merge,
    .final = var_pop_final,
    .fini = NULL,
};
