/*
 * max.c - MAX(x) over BIGINT, DOUBLE, TIMESTAMP, TEXT (by bytes) or BOOLEAN; see minmax.h.
 */
#define SL__MM_DIR (-1)
#include "minmax.h"

static int max_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    return mm_check("MAX", sig, err);
}

const struct sl_agg_ops sl_agg_max = {
    .name = "MAX",
    .state_name = "max",
    .min_args = 1,
    .max_args = 1,
    .exact = true,
    .check = max_check,
    .init = mm_init,
    .update = mm_update,
    .merge = mm_merge,
    .final = mm_final,
    .fini = mm_fini,
};
