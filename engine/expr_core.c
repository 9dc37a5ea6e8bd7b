/*
 * expr_core.c - building and freeing expression trees (load time only).
 */
#include <stdlib.h>
#include <string.h>

#include "expr.h"

struct sl_expr *sl_expr_new(enum sl_expr_op op, enum sl_type type, int nargs)
{
    struct sl_expr *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        abort();
    }
    e->op = (uint8_t)op;
    e->type = (uint8_t)type;
    e->nargs = (uint16_t)nargs;
    if (nargs > 0) {
        e->args = calloc((size_t)nargs, sizeof(*e->args));
        if (e->args == NULL) {
            abort();
        }
    }
    e->cval.type = (uint8_t)type;
    return e;
}

struct sl_expr *sl_expr_const(struct sl_value v)
{
    struct sl_expr *e = sl_expr_new(SL_EXPR_CONST, (enum sl_type)v.type, 0);
    e->cval = v;
    if (v.type == SL_TYPE_TEXT && !v.null) {
        char *copy = malloc(v.len + 1);
        if (copy == NULL) {
            abort();
        }
        memcpy(copy, v.u.s, v.len);
        copy[v.len] = '\0';
        e->cval.u.s = copy;
    }
    return e;
}

/* Releases what sl_expr_prepare attached; defined in expr_eval.c. */
void sl__expr_unprepare(struct sl_expr *e);

void sl_expr_free(struct sl_expr *e)
{
    if (e == NULL) {
        return;
    }
    for (int i = 0; i < e->nargs; i++) {
        sl_expr_free(e->args[i]);
    }
    free(e->args);
    sl__expr_unprepare(e);
    if (e->op == SL_EXPR_CONST && e->cval.type == SL_TYPE_TEXT && !e->cval.null) {
        free((void *)e->cval.u.s);
    }
    free(e->text);
    free(e);
}
