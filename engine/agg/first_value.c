/*
 * first_value.c - FIRST_VALUE(x): the value of the earliest event by (event time, source
 * position); see firstlast.h.
 */
#define SL__FL_DIR 1
#include "firstlast.h"

static int first_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    return fl_check("FIRST_VALUE", sig, err);
}

const struct sl_agg_ops sl_agg_first_value = {
    .name = "FIRST_VALUE",
    .state_name = "first_value",
    .min_args = 1,
    .max_args = 1,
    .exact = true,
    .check = first_check,
    .init = fl_init,
    .update = fl_update,
    .merge = fl_merge,
    .final = fl_final,
    .fini = fl_fini,
};
