/*
 * approx_count_distinct.c - APPROX_COUNT_DISTINCT(x) -> BIGINT: HyperLogLog with precision 14
 * (16384 registers, about 0.8 % standard error), exact below 64 values (SQL.md).
 *
 * Only check() exists so far; the sketch is issue 4 and the runtime functions are NULL (the
 * engine refuses to run a plan that uses them). Sizes reserved: the fixed state is 528 bytes,
 * a 16-byte header and room for 64 64-bit value hashes (the exact small-set mode); the 16384
 * registers (one byte each, 16 KiB) go on the heap when the 65th distinct hash arrives, so
 * groups with few values stay small. Issue 4 may change these.
 */
#include "internal.h"

#define HLL_EXACT_VALUES 64
#define HLL_STATE_SIZE   (16 + 8 * HLL_EXACT_VALUES)

static int acd_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    int r = sl__agg_check_arg("APPROX_COUNT_DISTINCT", sig, SL__AGG_T_VALUE, SL__AGG_VALUE_WHAT, 0,
                              err);
    if (r < 0) {
        return r;
    }
    sig->result = SL_TYPE_BIGINT;
    sig->state_size = HLL_STATE_SIZE;
    return 0;
}

const struct sl_agg_ops sl_agg_approx_count_distinct = {
    .name = "APPROX_COUNT_DISTINCT",
    .state_name = "hll",
    .min_args = 1,
    .max_args = 1,
    .exact = false,
    .check = acd_check,
    .init = NULL,
    .update = NULL,
    .merge = NULL,
    .final = NULL,
    .fini = NULL,
};
