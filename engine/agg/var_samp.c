/*
 * var_samp.c - VAR_SAMP(x) over BIGINT or DOUBLE -> DOUBLE: the sample variance, m2 / (n - 1); NULL
 * below two values (PostgreSQL). Shares the "moments" state (moments.c) with the other variance and
 * deviation aggregates.
 */
#include <math.h>

#include "internal.h"

static int var_samp_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    return sl__agg_moments_check("VAR_SAMP", sig, err);
}

static void var_samp_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                           char *buf, size_t cap)
{
    double r = sl__agg_moments_var(state, 1);
    (void)sig;
    (void)buf;
    (void)cap;
    *out = isfinite(r) ? sl_value_double(r) : sl_value_null(SL_TYPE_DOUBLE);
}

const struct sl_agg_ops sl_agg_var_samp = {
    .name = "VAR_SAMP",
    .state_name = "moments",
    .min_args = 1,
    .max_args = 1,
    .exact = true,
    .check = var_samp_check,
    .init = sl__agg_moments_init,
    .update = sl__agg_moments_update,
    .merge = sl__agg_moments_merge,
    .final = var_samp_final,
    .fini = NULL,
};
