/*
 * avg.c - AVG(x) over BIGINT or DOUBLE -> DOUBLE. It shares SUM's "sum" state (sum.c), so
 * SUM(x) and AVG(x) in one query keep one state. BIGINT: the exact 128-bit sum divided by n
 * (two roundings); DOUBLE: the compensated sum divided by n. No non-NULL input, or an infinite
 * or NaN result, gives NULL.
 */
#include <math.h>

#include "internal.h"

static int avg_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    int r = sl__agg_check_arg("AVG", sig, SL__AGG_T_NUMERIC, SL__AGG_NUMBER_WHAT, 0, err);
    if (r < 0) {
        return r;
    }
    sig->result = SL_TYPE_DOUBLE;
    sig->state_size = sizeof(struct sl__agg_sum);
    return 0;
}

static void avg_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                      char *buf, size_t cap)
{
    const struct sl__agg_sum *s = state;
    double r;
    (void)buf;
    (void)cap;
    *out = sl_value_null(SL_TYPE_DOUBLE);
    if (s->n == 0) {
        return;
    }
    if (sig->arg_type == SL_TYPE_BIGINT) {
        r = (double)sl__agg_sum_i128(s) / (double)s->n;
    } else {
        r = (s->u.d.s + s->u.d.c) / (double)s->n;
    }
    if (isfinite(r)) {
        *out = sl_value_double(r);
    }
}

const struct sl_agg_ops sl_agg_avg = {
    .name = "AVG",
    .state_name = "sum",
    .min_args = 1,
    .max_args = 1,
    .exact = true,
    .check = avg_check,
    .init = sl__agg_sum_init,
    .update = sl__agg_sum_update,
    .merge = sl__agg_sum_merge,
    .final = avg_final,
    .fini = NULL,
};
