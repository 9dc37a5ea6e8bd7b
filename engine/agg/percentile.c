/*
 * percentile.c - PERCENTILE(x, q) and its alias APPROX_PERCENTILE(x, q) -> DOUBLE: a quantile
 * of a numeric x from a mergeable relative-error sketch (DDSketch, 1 % relative accuracy),
 * shared by every q on the same x (state_name "ddsketch": the state must not depend on q).
 *
 * Only check() exists so far; the sketch itself is issue 4. The runtime functions are NULL,
 * and the engine refuses to run a plan that uses them. The 64-byte state reserved here is the
 * sketch's fixed header (counts, min, max, pointer to the bins); issue 4 may change it.
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"

#define DDSKETCH_STATE_SIZE 64

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
    sig->state_size = DDSKETCH_STATE_SIZE;
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

const struct sl_agg_ops sl_agg_percentile = {
    .name = "PERCENTILE",
    .state_name = "ddsketch",
    .min_args = 2,
    .max_args = 2,
    .exact = false,
    .check = percentile_check,
    .init = NULL,
    .update = NULL,
    .merge = NULL,
    .final = NULL,
    .fini = NULL,
};

/* The same aggregate under its other name; only the name in messages differs. */
const struct sl_agg_ops sl_agg_approx_percentile = {
    .name = "APPROX_PERCENTILE",
    .state_name = "ddsketch",
    .min_args = 2,
    .max_args = 2,
    .exact = false,
    .check = approx_percentile_check,
    .init = NULL,
    .update = NULL,
    .merge = NULL,
    .final = NULL,
    .fini = NULL,
};
