/*
 * rate.c - RATE(x) over BIGINT or DOUBLE -> DOUBLE: the per-second increase of a counter over
 * the window, counter resets handled (a drop counts as a restart from 0, as Prometheus does).
 *
 * Only check() exists so far; the runtime is issue 4 and its functions are NULL (the engine
 * refuses to run a plan that uses them). The 64 bytes reserved are the first and last samples
 * (time, position, value) and the accumulated increase; issue 4 may change them.
 */
#include "internal.h"

#define RATE_STATE_SIZE 64

static int rate_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    int r = sl__agg_check_arg("RATE", sig, SL__AGG_T_NUMERIC, SL__AGG_NUMBER_WHAT, 0, err);
    if (r < 0) {
        return r;
    }
    sig->result = SL_TYPE_DOUBLE;
    sig->state_size = RATE_STATE_SIZE;
    return 0;
}

const struct sl_agg_ops sl_agg_rate = {
    .name = "RATE",
    .state_name = "rate",
    .min_args = 1,
    .max_args = 1,
    .exact = false,
    .check = rate_check,
    .init = NULL,
    .update = NULL,
    .merge = NULL,
    .final = NULL,
    .fini = NULL,
};
