/* STUB: replaced by the expression evaluator. */
#include <stdlib.h>

#include "expr.h"

void sl__expr_unprepare(struct sl_expr *e);

void sl__expr_unprepare(struct sl_expr *e)
{
    (void)e;
}

int sl_expr_prepare(struct sl_expr *e, struct sl_err *err, const struct sl_expr **ret_bad)
{
    (void)e;
    (void)err;
    (void)ret_bad;
    return 0;
}

void sl_eval_init(struct sl_eval *ev, size_t scratch_cap)
{
    ev->scratch = malloc(scratch_cap);
    ev->scratch_cap = scratch_cap;
    ev->scratch_used = 0;
    ev->now_ms = 0;
    ev->overflows = ev->truncated = ev->regex_limits = 0;
    ev->match_data = NULL;
}

void sl_eval_fini(struct sl_eval *ev)
{
    free(ev->scratch);
}

void sl_expr_eval(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                  struct sl_value *out)
{
    (void)row;
    (void)ev;
    *out = sl_value_null((enum sl_type)e->type);
}
