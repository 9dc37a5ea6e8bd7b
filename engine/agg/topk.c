/*
 * topk.c - TOPK(x, k) -> TEXT: the k most frequent values of x with their counts, as the JSON
 * array [{"value": …, "count": …}, …], from a Space-Saving sketch; k a constant 1..1000.
 *
 * Only check() exists so far; the sketch is issue 4 and the runtime functions are NULL (the
 * engine refuses to run a plan that uses them). Note for issue 4: TOPK(x, 5) and TOPK(x, 10)
 * on the same x share one state (state_name "spacesaving"), initialised with the first one's
 * sig, so the sketch must be sized independently of k (room for the largest k, 1000, with its
 * counters on the heap, grown as distinct values arrive). The 32 bytes reserved here are its
 * fixed header.
 */
#include <stdio.h>

#include "internal.h"

#define TOPK_MAX        1000
#define TOPK_STATE_SIZE 32

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
    sig->state_size = TOPK_STATE_SIZE;
    return 0;
}

const struct sl_agg_ops sl_agg_topk = {
    .name = "TOPK",
    .state_name = "spacesaving",
    .min_args = 2,
    .max_args = 2,
    .exact = false,
    .check = topk_check,
    .init = NULL,
    .update = NULL,
    .merge = NULL,
    .final = NULL,
    .fini = NULL,
};
