/*
 * expr_int.h - internals shared by the evaluator (expr_eval.c) and the scalar functions
 * (funcs.c): scratch allocation, value comparison, UTF-8 helpers. Not for other modules.
 *
 * Scratch discipline: TEXT results made during one evaluation are bump-allocated from
 * ev->scratch. A node may note ev->scratch_used on entry (its "mark") and, once its result
 * is built, move the result down to the mark and release everything above: the temporaries
 * of its children are dead by then, and whatever its parents made before lies below the
 * mark. This keeps scratch use near the size of the live results, not of every step.
 */
#ifndef SL_EXPR_INT_H
#define SL_EXPR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "expr.h"

/* n bytes of scratch, or NULL (counted in ev->truncated) when they do not fit. */
static inline char *sl__scratch_alloc(struct sl_eval *ev, size_t n)
{
    if (ev->scratch == NULL || n > ev->scratch_cap - ev->scratch_used) {
        ev->truncated++;
        return NULL;
    }
    char *p = ev->scratch + ev->scratch_used;
    ev->scratch_used += n;
    return p;
}

/* out := a TEXT copy of s[0, n) in scratch; NULL of e's type (counted in ev->truncated)
 * when it does not fit. */
static inline void sl__scratch_text(struct sl_eval *ev, const struct sl_expr *e, const char *s,
                                    size_t n, struct sl_value *out)
{
    char *p = sl__scratch_alloc(ev, n);
    if (p == NULL) {
        *out = sl_value_null((enum sl_type)e->type);
        return;
    }
    memcpy(p, s, n);
    *out = sl_value_text(p, (uint32_t)n);
}

/* Moves a TEXT result built at p (len bytes, in scratch above mark) down to mark and frees
 * the scratch above it. Returns the new address. */
static inline const char *sl__scratch_settle(struct sl_eval *ev, size_t mark, const char *p,
                                             size_t len)
{
    char *dst = ev->scratch + mark;
    if (p != dst && len > 0) {
        memmove(dst, p, len);
    }
    ev->scratch_used = mark + len;
    return dst;
}

/* acc := acc || b (both non-NULL TEXT), with acc's result at mark when it has to be built.
 * acc may already sit at mark (an earlier call built it there). Returns false when the
 * result does not fit in scratch (counted in ev->truncated). */
bool sl__text_concat(struct sl_eval *ev, size_t mark, struct sl_value *acc,
                     const struct sl_value *b);

/* Orders two non-NULL values of the same type: < 0, 0, > 0. TEXT by bytes, BOOLEAN with
 * false < true. */
int sl__value_cmp(const struct sl_value *a, const struct sl_value *b);

/* Length of the UTF-8 sequence starting with byte c (1 for invalid lead bytes). */
static inline size_t sl__utf8_len(unsigned char c)
{
    if (c < 0xC0) {
        return 1;
    }
    if (c < 0xE0) {
        return 2;
    }
    if (c < 0xF0) {
        return 3;
    }
    return c < 0xF8 ? 4 : 1;
}

/* Byte offset just past the code point starting at s[i] (clamped to len). */
static inline size_t sl__utf8_next(const char *s, size_t len, size_t i)
{
    size_t n = sl__utf8_len((unsigned char)s[i]);
    return n > len - i ? len : i + n;
}

/* CALL nodes (funcs.c). */
void sl__func_eval(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                   struct sl_value *out);
int sl__func_prepare(struct sl_expr *e, struct sl_err *err);
void sl__func_unprepare(struct sl_expr *e);
/* Frees per-thread data made lazily by functions (PCRE2 match data). */
void sl__func_eval_fini(struct sl_eval *ev);

/* Case mapping of one code point (funcs.c; tests use it through LOWER/UPPER). */
uint32_t sl__cp_lower(uint32_t c);
uint32_t sl__cp_upper(uint32_t c);

#endif
