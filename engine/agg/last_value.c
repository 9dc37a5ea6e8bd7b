/*
 * last_value.c - LAST_VALUE(x): the value of the latest event by (event time, source
 * position); see firstlast.h.
 */
#define SL__FL_DIR (-1)
#include "firstlast.h"

static int last_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    return fl_check("LAST_VALUE", sig, err);
}

const struct sl_agg_ops sl_agg_last_value = {
    .name = "LAST_VALUE",
    .state_name = "last_value",
    .min_args = 1,
    .max_args = 1,
    .exact = true,
    .check = last_check,
    .init = fl_init,
    .update = fl_update,
    .merge = fl_merge,
    .final = fl_final,
    .fini = fl_fini,
};
