/*
 * count.c - COUNT(*) and COUNT(x): the number of rows, or of rows where x is not NULL. BIGINT,
 * 0 for a group with no counted row (a FILTER can leave one). State: one int64 (8 bytes).
 */
#include "internal.h"

static int count_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    if (sig->nparams != 0) {
        return sl_err_set(err, SL_ERR_TYPE, "COUNT takes 1 argument, got %d", 1 + sig->nparams);
    }
    /* Any argument type: only its NULL flag is read. */
    sig->result = SL_TYPE_BIGINT;
    sig->state_size = sizeof(int64_t);
    return 0;
}

static void count_init(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    *(int64_t *)state = 0;
}

static void count_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                         const struct sl_agg_ctx *cx)
{
    (void)cx;
    *(int64_t *)state += (int64_t)(sig->star || !v->null);
}

static void count_merge(void *dst, const void *src, const struct sl_agg_sig *sig)
{
    (void)sig;
    *(int64_t *)dst += *(const int64_t *)src;
}

static void count_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                        char *buf, size_t cap)
{
    (void)sig;
    (void)buf;
    (void)cap;
    *out = sl_value_bigint(*(const int64_t *)state);
}

const struct sl_agg_ops sl_agg_count = {
    .name = "COUNT",
    .state_name = "count",
    .min_args = 0, /* COUNT(*): sig->star, no argument */
    .max_args = 1,
    .exact = true,
    .check = count_check,
    .init = count_init,
    .update = count_update,
    .merge = count_merge,
    .final = count_final,
    .fini = NULL,
};
