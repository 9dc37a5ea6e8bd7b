/*
 * test_expr.c - the expression evaluator and scalar functions (expr.h, expr_eval.c,
 * funcs.c), on trees built by hand.
 *
 * Expected values are written from SQL.md and the SQL standard / PostgreSQL semantics named
 * in funcs.c; epoch values were computed with GNU date (`date -u -d … +%s`). Exhaustive
 * checks against independent oracles (node, python) live in tests/tools/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "expr.h"

static struct sl_eval ev;
static struct sl_value row[8];

/* ---- building trees ---- */

static struct sl_expr *K_int(int64_t i)
{
    return sl_expr_const(sl_value_bigint(i));
}

static struct sl_expr *K_dbl(double d)
{
    return sl_expr_const(sl_value_double(d));
}

static struct sl_expr *K_txt(const char *s)
{
    return sl_expr_const(sl_value_text(s, (uint32_t)strlen(s)));
}

static struct sl_expr *K_bool(bool b)
{
    return sl_expr_const(sl_value_bool(b));
}

static struct sl_expr *K_ts(int64_t ms)
{
    return sl_expr_const(sl_value_ts(ms));
}

static struct sl_expr *K_iv(int64_t ms)
{
    struct sl_value v = sl_value_bigint(ms);
    v.type = SL_TYPE_INTERVAL;
    return sl_expr_const(v);
}

static struct sl_expr *K_null(enum sl_type t)
{
    return sl_expr_const(sl_value_null(t));
}

static struct sl_expr *COL(int slot, enum sl_type t)
{
    struct sl_expr *e = sl_expr_new(SL_EXPR_COL, t, 0);
    e->slot = (uint32_t)slot;
    return e;
}

static struct sl_expr *OP1(enum sl_expr_op op, enum sl_type t, struct sl_expr *a)
{
    struct sl_expr *e = sl_expr_new(op, t, 1);
    e->args[0] = a;
    return e;
}

static struct sl_expr *OP2(enum sl_expr_op op, enum sl_type t, struct sl_expr *a, struct sl_expr *b)
{
    struct sl_expr *e = sl_expr_new(op, t, 2);
    e->args[0] = a;
    e->args[1] = b;
    return e;
}

static struct sl_expr *OPN(enum sl_expr_op op, enum sl_type t, int n, ...)
{
    struct sl_expr *e = sl_expr_new(op, t, n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        e->args[i] = va_arg(ap, struct sl_expr *);
    }
    va_end(ap);
    return e;
}

static struct sl_expr *FN(enum sl_func fn, enum sl_type t, int n, ...)
{
    struct sl_expr *e = sl_expr_new(SL_EXPR_CALL, t, n);
    e->fn = (uint16_t)fn;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        e->args[i] = va_arg(ap, struct sl_expr *);
    }
    va_end(ap);
    return e;
}

static struct sl_expr *NEGATED(struct sl_expr *e)
{
    e->negated = 1;
    return e;
}

/* ---- evaluating and checking (each frees the tree) ---- */

static struct sl_value run(struct sl_expr *e, int line)
{
    struct sl_err err = {{0}};
    const struct sl_expr *bad = NULL;
    if (sl_expr_prepare(e, &err, &bad) != 0) {
        fail_msg("line %d: prepare failed: %s", line, err.msg);
    }
    struct sl_value v;
    memset(&v, 0xA5, sizeof(v));
    sl_expr_eval(e, row, &ev, &v);
    if (v.type != e->type) {
        fail_msg("line %d: result type %d, node type %d", line, v.type, e->type);
    }
    return v;
}

static void expect_int(struct sl_expr *e, int64_t want, int line)
{
    struct sl_value v = run(e, line);
    if (v.null || v.u.i != want) {
        fail_msg("line %d: want %lld, got %s%lld", line, (long long)want, v.null ? "NULL " : "",
                 (long long)v.u.i);
    }
    sl_expr_free(e);
}

static void expect_dbl(struct sl_expr *e, double want, int line)
{
    struct sl_value v = run(e, line);
    if (v.null || v.type != SL_TYPE_DOUBLE || v.u.d != want) {
        fail_msg("line %d: want %.17g, got %s%.17g", line, want, v.null ? "NULL " : "", v.u.d);
    }
    sl_expr_free(e);
}

static void expect_txt(struct sl_expr *e, const char *want, int line)
{
    struct sl_value v = run(e, line);
    if (v.null || v.type != SL_TYPE_TEXT || v.len != strlen(want) ||
        memcmp(v.u.s, want, v.len) != 0) {
        fail_msg("line %d: want '%s', got %s'%.*s'", line, want, v.null ? "NULL " : "",
                 v.null ? 0 : (int)v.len, v.null ? "" : v.u.s);
    }
    sl_expr_free(e);
}

static void expect_bool(struct sl_expr *e, bool want, int line)
{
    struct sl_value v = run(e, line);
    if (v.null || v.type != SL_TYPE_BOOLEAN || v.u.b != want) {
        fail_msg("line %d: want %s, got %s", line, want ? "TRUE" : "FALSE",
                 v.null ? "NULL" : (v.u.b ? "TRUE" : "FALSE"));
    }
    sl_expr_free(e);
}

static void expect_null(struct sl_expr *e, int line)
{
    struct sl_value v = run(e, line);
    if (!v.null) {
        fail_msg("line %d: want NULL, got a value", line);
    }
    sl_expr_free(e);
}

#define INT(e, w)  expect_int((e), (w), __LINE__)
#define DBL(e, w)  expect_dbl((e), (w), __LINE__)
#define TXT(e, w)  expect_txt((e), (w), __LINE__)
#define BOOL(e, w) expect_bool((e), (w), __LINE__)
#define NUL(e)     expect_null((e), __LINE__)

/* Counter deltas. */
#define OVERFLOWS(n, stmt)                                                                         \
    do {                                                                                           \
        uint64_t before_ = ev.overflows;                                                           \
        stmt;                                                                                      \
        if (ev.overflows - before_ != (uint64_t)(n)) {                                             \
            fail_msg("line %d: overflows +%llu, want +%d", __LINE__,                               \
                     (unsigned long long)(ev.overflows - before_), (int)(n));                      \
        }                                                                                          \
    } while (0)

static int setup(void **state)
{
    (void)state;
    sl_eval_init(&ev, 4096);
    memset(row, 0, sizeof(row));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_eval_fini(&ev);
    return 0;
}

#define B  SL_TYPE_BOOLEAN
#define I  SL_TYPE_BIGINT
#define D  SL_TYPE_DOUBLE
#define T  SL_TYPE_TEXT
#define TS SL_TYPE_TIMESTAMP
#define IV SL_TYPE_INTERVAL

/* ---- tests ---- */

static void test_const_col(void **state)
{
    (void)state;
    row[0] = sl_value_bigint(7);
    row[1] = sl_value_text("héllo", 6);
    row[2] = sl_value_null(D);
    INT(COL(0, I), 7);
    TXT(COL(1, T), "héllo");
    NUL(COL(2, D));
    INT(K_int(-3), -3);
    NUL(K_null(T));
    /* a NULL literal the front end gave a type to */
    struct sl_expr *n = K_null(SL_TYPE_NULL);
    n->type = I;
    NUL(n);
}

static void test_arith_bigint(void **state)
{
    (void)state;
    INT(OP2(SL_EXPR_ADD, I, K_int(2), K_int(3)), 5);
    INT(OP2(SL_EXPR_SUB, I, K_int(2), K_int(3)), -1);
    INT(OP2(SL_EXPR_MUL, I, K_int(-4), K_int(3)), -12);
    INT(OP2(SL_EXPR_DIV, I, K_int(7), K_int(2)), 3);
    INT(OP2(SL_EXPR_DIV, I, K_int(-7), K_int(2)), -3); /* toward zero */
    INT(OP2(SL_EXPR_MOD, I, K_int(-7), K_int(2)), -1); /* dividend's sign */
    INT(OP2(SL_EXPR_MOD, I, K_int(7), K_int(-2)), 1);
    INT(OP2(SL_EXPR_DIV, I, K_int(INT64_MIN), K_int(1)), INT64_MIN);
    OVERFLOWS(0, INT(OP2(SL_EXPR_MOD, I, K_int(INT64_MIN), K_int(-1)), 0));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_ADD, I, K_int(INT64_MAX), K_int(1))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_SUB, I, K_int(INT64_MIN), K_int(1))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_MUL, I, K_int(INT64_MAX / 2 + 1), K_int(2))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_DIV, I, K_int(INT64_MIN), K_int(-1))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_DIV, I, K_int(1), K_int(0))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_MOD, I, K_int(1), K_int(0))));
    /* NULL propagates without counting */
    OVERFLOWS(0, NUL(OP2(SL_EXPR_ADD, I, K_null(I), K_int(1))));
    OVERFLOWS(0, NUL(OP2(SL_EXPR_DIV, I, K_int(1), K_null(I))));
    OVERFLOWS(0, NUL(OP2(SL_EXPR_DIV, I, K_null(I), K_int(0))));
    /* NEG */
    INT(OP1(SL_EXPR_NEG, I, K_int(5)), -5);
    OVERFLOWS(1, NUL(OP1(SL_EXPR_NEG, I, K_int(INT64_MIN))));
    NUL(OP1(SL_EXPR_NEG, I, K_null(I)));
    DBL(OP1(SL_EXPR_NEG, D, K_dbl(2.5)), -2.5);
    INT(OP1(SL_EXPR_NEG, IV, K_iv(1000)), -1000);
}

static void test_arith_double(void **state)
{
    (void)state;
    DBL(OP2(SL_EXPR_ADD, D, K_dbl(1.5), K_dbl(2.25)), 3.75);
    DBL(OP2(SL_EXPR_SUB, D, K_dbl(1.5), K_dbl(2.25)), -0.75);
    DBL(OP2(SL_EXPR_MUL, D, K_dbl(1.5), K_dbl(-2)), -3);
    DBL(OP2(SL_EXPR_DIV, D, K_dbl(1), K_dbl(4)), 0.25);
    DBL(OP2(SL_EXPR_MOD, D, K_dbl(7.5), K_dbl(2)), 1.5);
    DBL(OP2(SL_EXPR_MOD, D, K_dbl(-7.5), K_dbl(2)), -1.5);
    OVERFLOWS(1, NUL(OP2(SL_EXPR_DIV, D, K_dbl(1), K_dbl(0))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_DIV, D, K_dbl(0), K_dbl(-0.0))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_MOD, D, K_dbl(1), K_dbl(0))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_MUL, D, K_dbl(1e308), K_dbl(10))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_ADD, D, K_dbl(-1.7e308), K_dbl(-1.7e308))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_DIV, D, K_dbl(1e308), K_dbl(1e-308))));
    OVERFLOWS(0, DBL(OP2(SL_EXPR_MUL, D, K_dbl(1e-308), K_dbl(1e-308)), 0)); /* underflow ok */
    OVERFLOWS(0, NUL(OP2(SL_EXPR_MUL, D, K_dbl(1), K_null(D))));
}

static void test_arith_time(void **state)
{
    (void)state;
    INT(OP2(SL_EXPR_ADD, TS, K_ts(1714564800000), K_iv(5000)), 1714564805000);
    INT(OP2(SL_EXPR_SUB, TS, K_ts(1714564800000), K_iv(5000)), 1714564795000);
    INT(OP2(SL_EXPR_SUB, TS, K_ts(-1000), K_iv(500)), -1500);
    INT(OP2(SL_EXPR_SUB, IV, K_ts(1714564800000), K_ts(1714564795000)), 5000);
    INT(OP2(SL_EXPR_ADD, IV, K_iv(1000), K_iv(-3000)), -2000);
    OVERFLOWS(1, NUL(OP2(SL_EXPR_ADD, TS, K_ts(INT64_MAX), K_iv(1))));
    OVERFLOWS(1, NUL(OP2(SL_EXPR_SUB, IV, K_ts(INT64_MIN), K_ts(1))));
    NUL(OP2(SL_EXPR_ADD, TS, K_null(TS), K_iv(1)));
}

static void test_compare(void **state)
{
    (void)state;
    static const enum sl_expr_op ops[] = {SL_EXPR_EQ, SL_EXPR_NE, SL_EXPR_LT,
                                          SL_EXPR_LE, SL_EXPR_GT, SL_EXPR_GE};
    /* for a < b: EQ NE LT LE GT GE */
    static const bool lt[] = {false, true, true, true, false, false};
    static const bool eq[] = {true, false, false, true, false, true};
    static const bool gt[] = {false, true, false, false, true, true};
    for (int i = 0; i < 6; i++) {
        enum sl_expr_op op = ops[i];
        BOOL(OP2(op, B, K_int(1), K_int(2)), lt[i]);
        BOOL(OP2(op, B, K_int(2), K_int(1)), gt[i]);
        BOOL(OP2(op, B, K_txt("b"), K_txt("a")), gt[i]);
        BOOL(OP2(op, B, K_bool(true), K_bool(false)), gt[i]);
        BOOL(OP2(op, B, K_int(5), K_int(5)), eq[i]);
        BOOL(OP2(op, B, K_dbl(-1.5), K_dbl(2.5)), lt[i]);
        BOOL(OP2(op, B, K_dbl(-0.0), K_dbl(0.0)), eq[i]);
        BOOL(OP2(op, B, K_txt("a"), K_txt("b")), lt[i]);
        BOOL(OP2(op, B, K_txt("a"), K_txt("ab")), lt[i]);
        BOOL(OP2(op, B, K_txt(""), K_txt("a")), lt[i]);
        BOOL(OP2(op, B, K_txt("z"), K_txt("é")), lt[i]); /* by bytes: 0x7a < 0xc3 */
        BOOL(OP2(op, B, K_txt("same"), K_txt("same")), eq[i]);
        BOOL(OP2(op, B, K_bool(false), K_bool(true)), lt[i]);
        BOOL(OP2(op, B, K_ts(-5), K_ts(3)), lt[i]);
        BOOL(OP2(op, B, K_iv(100), K_iv(200)), lt[i]);
        NUL(OP2(op, B, K_null(I), K_int(1)));
        NUL(OP2(op, B, K_txt("a"), K_null(T)));
    }
}

static void test_compare_reversed(void **state)
{
    (void)state;
    /* b > a: GT and GE true, the rest false except NE */
    BOOL(OP2(SL_EXPR_GT, B, K_int(2), K_int(1)), true);
    BOOL(OP2(SL_EXPR_GE, B, K_int(2), K_int(1)), true);
    BOOL(OP2(SL_EXPR_LT, B, K_int(2), K_int(1)), false);
    BOOL(OP2(SL_EXPR_LE, B, K_int(2), K_int(1)), false);
    BOOL(OP2(SL_EXPR_NE, B, K_int(2), K_int(1)), true);
    BOOL(OP2(SL_EXPR_EQ, B, K_int(2), K_int(1)), false);
    BOOL(OP2(SL_EXPR_GT, B, K_int(INT64_MIN), K_int(INT64_MAX)), false);
}

/* t: 0 false, 1 true, 2 NULL */
static struct sl_expr *K_tv(int t)
{
    return t == 2 ? K_null(B) : K_bool(t == 1);
}

static void test_three_valued(void **state)
{
    (void)state;
    /* SQL's tables: AND/OR/NOT over {F, T, N} */
    static const int and_t[3][3] = {{0, 0, 0}, {0, 1, 2}, {0, 2, 2}};
    static const int or_t[3][3] = {{0, 1, 2}, {1, 1, 1}, {2, 1, 2}};
    for (int a = 0; a < 3; a++) {
        for (int b = 0; b < 3; b++) {
            struct sl_expr *x = OP2(SL_EXPR_AND, B, K_tv(a), K_tv(b));
            struct sl_expr *y = OP2(SL_EXPR_OR, B, K_tv(a), K_tv(b));
            if (and_t[a][b] == 2) {
                NUL(x);
            } else {
                BOOL(x, and_t[a][b] == 1);
            }
            if (or_t[a][b] == 2) {
                NUL(y);
            } else {
                BOOL(y, or_t[a][b] == 1);
            }
        }
    }
    BOOL(OP1(SL_EXPR_NOT, B, K_bool(true)), false);
    BOOL(OP1(SL_EXPR_NOT, B, K_bool(false)), true);
    NUL(OP1(SL_EXPR_NOT, B, K_null(B)));
    /* short circuit: the division by zero on the right is never evaluated */
    struct sl_expr *boom = OP2(SL_EXPR_EQ, B, OP2(SL_EXPR_DIV, I, K_int(1), K_int(0)), K_int(1));
    OVERFLOWS(0, BOOL(OP2(SL_EXPR_AND, B, K_bool(false), boom), false));
    boom = OP2(SL_EXPR_EQ, B, OP2(SL_EXPR_DIV, I, K_int(1), K_int(0)), K_int(1));
    OVERFLOWS(0, BOOL(OP2(SL_EXPR_OR, B, K_bool(true), boom), true));
    boom = OP2(SL_EXPR_EQ, B, OP2(SL_EXPR_DIV, I, K_int(1), K_int(0)), K_int(1));
    OVERFLOWS(1, BOOL(OP2(SL_EXPR_AND, B, boom, K_bool(false)), false));
}

static void test_is_null(void **state)
{
    (void)state;
    BOOL(OP1(SL_EXPR_IS_NULL, B, K_null(I)), true);
    BOOL(OP1(SL_EXPR_IS_NULL, B, K_int(0)), false);
    BOOL(OP1(SL_EXPR_IS_NULL, B, K_txt("")), false);
    BOOL(NEGATED(OP1(SL_EXPR_IS_NULL, B, K_null(T))), false);
    BOOL(NEGATED(OP1(SL_EXPR_IS_NULL, B, K_txt("x"))), true);
    BOOL(OP1(SL_EXPR_IS_NULL, B, OP2(SL_EXPR_DIV, I, K_int(1), K_int(0))), true);
}

static void test_in(void **state)
{
    (void)state;
    BOOL(OPN(SL_EXPR_IN, B, 4, K_int(2), K_int(1), K_int(2), K_int(3)), true);
    BOOL(OPN(SL_EXPR_IN, B, 4, K_int(5), K_int(1), K_int(2), K_int(3)), false);
    NUL(OPN(SL_EXPR_IN, B, 3, K_int(5), K_int(1), K_null(I)));
    BOOL(OPN(SL_EXPR_IN, B, 3, K_int(1), K_null(I), K_int(1)), true);
    NUL(OPN(SL_EXPR_IN, B, 3, K_null(I), K_int(1), K_int(2)));
    BOOL(NEGATED(OPN(SL_EXPR_IN, B, 3, K_int(5), K_int(1), K_int(2))), true);
    BOOL(NEGATED(OPN(SL_EXPR_IN, B, 3, K_int(1), K_int(1), K_int(2))), false);
    NUL(NEGATED(OPN(SL_EXPR_IN, B, 3, K_int(5), K_int(1), K_null(I))));
    BOOL(NEGATED(OPN(SL_EXPR_IN, B, 3, K_int(1), K_int(1), K_null(I))), false);
    NUL(NEGATED(OPN(SL_EXPR_IN, B, 2, K_null(I), K_int(1))));
    BOOL(OPN(SL_EXPR_IN, B, 3, K_txt("b"), K_txt("a"), K_txt("b")), true);
    BOOL(OPN(SL_EXPR_IN, B, 3, K_txt("b"), K_txt("bb"), K_txt("")), false);
    BOOL(OPN(SL_EXPR_IN, B, 2, K_dbl(0.5), K_dbl(0.5)), true);
}

static void test_between(void **state)
{
    (void)state;
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_int(5), K_int(1), K_int(10)), true);
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_int(1), K_int(1), K_int(10)), true);
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_int(10), K_int(1), K_int(10)), true);
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_int(0), K_int(1), K_int(10)), false);
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_int(11), K_int(1), K_int(10)), false);
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_int(5), K_int(10), K_int(1)), false); /* not symmetric */
    NUL(OPN(SL_EXPR_BETWEEN, B, 3, K_null(I), K_int(1), K_int(10)));
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_int(5), K_null(I), K_int(3)), false); /* 5 <= 3 decides */
    NUL(OPN(SL_EXPR_BETWEEN, B, 3, K_int(5), K_null(I), K_int(10)));
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_int(0), K_int(1), K_null(I)), false);
    BOOL(NEGATED(OPN(SL_EXPR_BETWEEN, B, 3, K_int(0), K_int(1), K_int(10))), true);
    BOOL(NEGATED(OPN(SL_EXPR_BETWEEN, B, 3, K_int(5), K_int(1), K_int(10))), false);
    BOOL(NEGATED(OPN(SL_EXPR_BETWEEN, B, 3, K_int(5), K_null(I), K_int(3))), true);
    NUL(NEGATED(OPN(SL_EXPR_BETWEEN, B, 3, K_int(5), K_null(I), K_int(10))));
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_txt("m"), K_txt("a"), K_txt("z")), true);
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_dbl(2.5), K_dbl(2.5), K_dbl(2.5)), true);
    BOOL(OPN(SL_EXPR_BETWEEN, B, 3, K_ts(0), K_ts(-10), K_ts(10)), true);
}

struct like_case {
    const char *text, *pat;
    bool want;
};

static void test_like(void **state)
{
    (void)state;
    static const struct like_case cases[] = {
        {"hello", "hello", true},
        {"hello", "hell", false},
        {"hello", "hello!", false},
        {"", "", true},
        {"a", "", false},
        {"hello", "he%", true},
        {"he", "he%", true},
        {"h", "he%", false},
        {"hello", "%llo", true},
        {"lo", "%llo", false},
        {"hello", "%ell%", true},
        {"hello", "%elx%", false},
        {"", "%", true},
        {"anything", "%%", true},
        {"hello", "h_llo", true},
        {"héllo", "h_llo", true}, /* _ is one code point, not one byte */
        {"héllo", "h__llo", false},
        {"日本語", "__語", true},
        {"日本語", "_語", false},
        {"日本語", "%本%", true},
        {"😀x", "_x", true},
        {"a%b", "a\\%b", true},
        {"axb", "a\\%b", false},
        {"a_b", "a\\_b", true},
        {"axb", "a\\_b", false},
        {"a\\b", "a\\\\b", true},
        {"ab", "\\a\\b", true}, /* escaping an ordinary character keeps it */
        {"100%", "%\\%", true},
        {"100", "%\\%", false},
        {"abcabcabd", "%abc%abd", true},
        {"abcabcab", "%abc%abd", false},
        {"aaa", "%a%a%a%a", false},
        {"aaaa", "%a%a%a%a", true},
        {"xyz", "x%y%z", true},
        {"xz", "x%y%z", false},
        {"mississippi", "m%iss%ppi", true},
        {"mississippi", "%s_s%", true},
        {"Hello", "hello", false}, /* case-sensitive */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct like_case *c = &cases[i];
        /* constant pattern: prepared fast paths */
        struct sl_expr *e = OP2(SL_EXPR_LIKE, B, K_txt(c->text), K_txt(c->pat));
        struct sl_value v = run(e, (int)i);
        if (v.null || v.u.b != c->want) {
            fail_msg("'%s' LIKE '%s' (constant): want %d", c->text, c->pat, c->want);
        }
        sl_expr_free(e);
        /* pattern from a column: the general matcher */
        row[0] = sl_value_text(c->text, (uint32_t)strlen(c->text));
        row[1] = sl_value_text(c->pat, (uint32_t)strlen(c->pat));
        e = OP2(SL_EXPR_LIKE, B, COL(0, T), COL(1, T));
        v = run(e, (int)i);
        if (v.null || v.u.b != c->want) {
            fail_msg("'%s' LIKE '%s' (column): want %d", c->text, c->pat, c->want);
        }
        sl_expr_free(e);
        /* NOT LIKE */
        e = NEGATED(OP2(SL_EXPR_LIKE, B, K_txt(c->text), K_txt(c->pat)));
        v = run(e, (int)i);
        if (v.null || v.u.b == c->want) {
            fail_msg("'%s' NOT LIKE '%s': want %d", c->text, c->pat, !c->want);
        }
        sl_expr_free(e);
    }
    NUL(OP2(SL_EXPR_LIKE, B, K_null(T), K_txt("%")));
    NUL(OP2(SL_EXPR_LIKE, B, K_txt("a"), K_null(T)));
    NUL(NEGATED(OP2(SL_EXPR_LIKE, B, K_null(T), K_txt("a"))));
    /* an empty TEXT cell may come without bytes */
    row[0] = sl_value_text(NULL, 0);
    row[1] = sl_value_text(NULL, 0);
    BOOL(OP2(SL_EXPR_LIKE, B, COL(0, T), COL(1, T)), true);
    BOOL(OP2(SL_EXPR_LIKE, B, COL(0, T), K_txt("")), true);
    BOOL(OP2(SL_EXPR_EQ, B, COL(0, T), K_txt("")), true);
    TXT(FN(SL_FN_CONCAT, T, 2, COL(0, T), COL(1, T)), "");
    TXT(FN(SL_FN_SUBSTR, T, 2, COL(0, T), K_int(2)), "");
    TXT(FN(SL_FN_UPPER, T, 1, COL(0, T)), "");
    BOOL(FN(SL_FN_REGEXP_MATCH, B, 2, COL(0, T), K_txt("^$")), true);
    TXT(FN(SL_FN_SPLIT_PART, T, 3, COL(0, T), K_txt("/"), K_int(1)), "");
    /* a trailing escape in a runtime pattern is a literal backslash */
    row[0] = sl_value_text("a\\", 2);
    row[1] = sl_value_text("a\\", 2);
    BOOL(OP2(SL_EXPR_LIKE, B, COL(0, T), COL(1, T)), true);
}

static void test_like_no_blowup(void **state)
{
    (void)state;
    static char big[20001];
    memset(big, 'a', sizeof(big) - 1);
    row[0] = sl_value_text(big, (uint32_t)(sizeof(big) - 1));
    /* exponential for a naive backtracker; O(n*m) here */
    BOOL(OP2(SL_EXPR_LIKE, B, COL(0, T), K_txt("%a%a%a%a%a%a%a%a%b")), false);
    BOOL(OP2(SL_EXPR_LIKE, B, COL(0, T), K_txt("%a%a%a%a%a%a%a%a%a")), true);
}

static void test_like_prepare_error(void **state)
{
    (void)state;
    struct sl_expr *like = OP2(SL_EXPR_LIKE, B, COL(0, T), K_txt("abc\\"));
    struct sl_expr *e = OP2(SL_EXPR_AND, B, K_bool(true), like);
    struct sl_err err = {{0}};
    const struct sl_expr *bad = NULL;
    assert_true(sl_expr_prepare(e, &err, &bad) < 0);
    assert_ptr_equal(bad, like);
    assert_non_null(strstr(err.msg, "escape"));
    sl_expr_free(e);
}

static void test_case(void **state)
{
    (void)state;
    /* CASE WHEN false THEN 1 WHEN true THEN 2 ELSE 3 END */
    struct sl_expr *e =
        OPN(SL_EXPR_CASE, I, 5, K_bool(false), K_int(1), K_bool(true), K_int(2), K_int(3));
    e->has_else = 1;
    INT(e, 2);
    e = OPN(SL_EXPR_CASE, I, 5, K_bool(false), K_int(1), K_null(B), K_int(2), K_int(3));
    e->has_else = 1;
    INT(e, 3); /* a NULL condition is not true */
    e = OPN(SL_EXPR_CASE, I, 4, K_bool(false), K_int(1), K_null(B), K_int(2));
    NUL(e);
    e = OPN(SL_EXPR_CASE, T, 2, K_bool(true), K_null(T));
    NUL(e);
    e = OPN(SL_EXPR_CASE, T, 3, K_bool(true), K_txt("yes"), K_txt("no"));
    e->has_else = 1;
    TXT(e, "yes");
    /* only the chosen branch is evaluated */
    e = OPN(SL_EXPR_CASE, I, 3, K_bool(true), K_int(1), OP2(SL_EXPR_DIV, I, K_int(1), K_int(0)));
    e->has_else = 1;
    OVERFLOWS(0, INT(e, 1));
}

static struct sl_expr *CAST(enum sl_type to, struct sl_expr *a)
{
    return OP1(SL_EXPR_CAST, to, a);
}

static void test_cast_from_text(void **state)
{
    (void)state;
    INT(CAST(I, K_txt("42")), 42);
    INT(CAST(I, K_txt(" -42 ")), -42);
    INT(CAST(I, K_txt("+7")), 7);
    INT(CAST(I, K_txt("-9223372036854775808")), INT64_MIN);
    INT(CAST(I, K_txt("9223372036854775807")), INT64_MAX);
    OVERFLOWS(1, NUL(CAST(I, K_txt("9223372036854775808"))));
    OVERFLOWS(1, NUL(CAST(I, K_txt("-9223372036854775809"))));
    OVERFLOWS(1, NUL(CAST(I, K_txt("abc"))));
    OVERFLOWS(1, NUL(CAST(I, K_txt(""))));
    OVERFLOWS(1, NUL(CAST(I, K_txt("-"))));
    OVERFLOWS(1, NUL(CAST(I, K_txt("3.0"))));
    OVERFLOWS(1, NUL(CAST(I, K_txt("1e3"))));
    OVERFLOWS(1, NUL(CAST(I, K_txt("12 3"))));

    DBL(CAST(D, K_txt("1.5")), 1.5);
    DBL(CAST(D, K_txt(" -2.5e3 ")), -2500);
    DBL(CAST(D, K_txt(".5")), 0.5);
    DBL(CAST(D, K_txt("5.")), 5);
    DBL(CAST(D, K_txt("1E-2")), 0.01);
    DBL(CAST(D, K_txt("0.1000000000000000055511151231257827")), 0.1);
    DBL(CAST(D, K_txt("1e-400")), 0);
    DBL(CAST(D, K_txt("123456789012345678901234567890")), 123456789012345678901234567890.0);
    OVERFLOWS(1, NUL(CAST(D, K_txt("1e400"))));
    OVERFLOWS(1, NUL(CAST(D, K_txt("NaN"))));
    OVERFLOWS(1, NUL(CAST(D, K_txt("inf"))));
    OVERFLOWS(1, NUL(CAST(D, K_txt("0x10"))));
    OVERFLOWS(1, NUL(CAST(D, K_txt("1e"))));
    OVERFLOWS(1, NUL(CAST(D, K_txt("."))));
    OVERFLOWS(1, NUL(CAST(D, K_txt("1.2.3"))));

    BOOL(CAST(B, K_txt("true")), true);
    BOOL(CAST(B, K_txt("FALSE")), false);
    BOOL(CAST(B, K_txt(" True ")), true);
    OVERFLOWS(1, NUL(CAST(B, K_txt("yes"))));
    OVERFLOWS(1, NUL(CAST(B, K_txt("t"))));

    INT(CAST(TS, K_txt("2024-05-01T12:00:00Z")), 1714564800000);
    INT(CAST(TS, K_txt("2024-05-01T14:00:00.250+02:00")), 1714564800250);
    OVERFLOWS(1, NUL(CAST(TS, K_txt("yesterday"))));
    NUL(CAST(I, K_null(T)));
    TXT(CAST(T, K_txt("same")), "same");
}

static void test_cast_to_text(void **state)
{
    (void)state;
    TXT(CAST(T, K_int(-42)), "-42");
    TXT(CAST(T, K_int(INT64_MIN)), "-9223372036854775808");
    TXT(CAST(T, K_dbl(21.5)), "21.5");
    TXT(CAST(T, K_dbl(21.0)), "21");
    TXT(CAST(T, K_dbl(-0.0)), "0");
    TXT(CAST(T, K_dbl(1e21)), "1e+21");
    TXT(CAST(T, K_dbl(1e-7)), "1e-7");
    TXT(CAST(T, K_dbl(0.1 + 0.2)), "0.30000000000000004");
    TXT(CAST(T, K_dbl(123456789012345680000.0)), "123456789012345680000");
    TXT(CAST(T, K_bool(true)), "true");
    TXT(CAST(T, K_bool(false)), "false");
    TXT(CAST(T, K_ts(1714564800000)), "2024-05-01T12:00:00.000Z");
    TXT(CAST(T, K_ts(-1)), "1969-12-31T23:59:59.999Z");
    OVERFLOWS(1, NUL(CAST(T, K_ts(INT64_MAX))));
    NUL(CAST(T, K_null(D)));
}

static void test_cast_numbers(void **state)
{
    (void)state;
    INT(CAST(I, K_dbl(2.5)), 3);
    INT(CAST(I, K_dbl(-2.5)), -3);
    INT(CAST(I, K_dbl(2.4999999)), 2);
    INT(CAST(I, K_dbl(-0.4)), 0);
    INT(CAST(I, K_dbl(9223372036854774784.0)), 9223372036854774784LL);
    INT(CAST(I, K_dbl(-9223372036854775808.0)), INT64_MIN);
    OVERFLOWS(1, NUL(CAST(I, K_dbl(9223372036854775808.0))));
    OVERFLOWS(1, NUL(CAST(I, K_dbl(1e19))));
    OVERFLOWS(1, NUL(CAST(I, K_dbl(-9.3e18))));
    DBL(CAST(D, K_int(9007199254740993)), 9007199254740992.0);
    DBL(CAST(D, K_int(-3)), -3);
    INT(CAST(TS, K_int(1714564800000)), 1714564800000);
    INT(CAST(I, K_ts(-5)), -5);
    INT(CAST(I, K_bool(true)), 1);
    INT(CAST(I, K_bool(false)), 0);
    BOOL(CAST(B, K_int(0)), false);
    BOOL(CAST(B, K_int(-3)), true);
    DBL(CAST(D, K_ts(1000)), 1000);
    NUL(CAST(D, K_null(I)));
}

static void test_math(void **state)
{
    (void)state;
    INT(FN(SL_FN_ABS, I, 1, K_int(-5)), 5);
    INT(FN(SL_FN_ABS, I, 1, K_int(INT64_MAX)), INT64_MAX);
    OVERFLOWS(1, NUL(FN(SL_FN_ABS, I, 1, K_int(INT64_MIN))));
    DBL(FN(SL_FN_ABS, D, 1, K_dbl(-2.5)), 2.5);
    NUL(FN(SL_FN_ABS, D, 1, K_null(D)));

    DBL(FN(SL_FN_ROUND, D, 1, K_dbl(2.5)), 3);
    DBL(FN(SL_FN_ROUND, D, 1, K_dbl(-2.5)), -3);
    DBL(FN(SL_FN_ROUND, D, 1, K_dbl(2.4999)), 2);
    DBL(FN(SL_FN_ROUND, D, 2, K_dbl(1.005), K_int(2)), 1.01); /* decimal, as Flink */
    DBL(FN(SL_FN_ROUND, D, 2, K_dbl(0.285), K_int(2)), 0.29);
    DBL(FN(SL_FN_ROUND, D, 2, K_dbl(-0.285), K_int(2)), -0.29);
    DBL(FN(SL_FN_ROUND, D, 2, K_dbl(21.456), K_int(1)), 21.5);
    DBL(FN(SL_FN_ROUND, D, 2, K_dbl(1234.5678), K_int(-2)), 1200);
    DBL(FN(SL_FN_ROUND, D, 2, K_dbl(1250), K_int(-2)), 1300);
    DBL(FN(SL_FN_ROUND, D, 2, K_dbl(0.1), K_int(30)), 0.1);
    DBL(FN(SL_FN_ROUND, D, 2, K_dbl(0.4), K_int(-5)), 0);
    DBL(FN(SL_FN_ROUND, D, 2, K_dbl(99.96), K_int(1)), 100);
    OVERFLOWS(1, NUL(FN(SL_FN_ROUND, D, 2, K_dbl(1.7976931348623157e308), K_int(-308))));
    NUL(FN(SL_FN_ROUND, D, 2, K_dbl(1.5), K_null(I)));
    INT(FN(SL_FN_ROUND, I, 1, K_int(7)), 7);
    INT(FN(SL_FN_ROUND, I, 2, K_int(7), K_int(2)), 7);
    INT(FN(SL_FN_ROUND, I, 2, K_int(1234), K_int(-2)), 1200);
    INT(FN(SL_FN_ROUND, I, 2, K_int(1250), K_int(-2)), 1300);
    INT(FN(SL_FN_ROUND, I, 2, K_int(-1250), K_int(-2)), -1300);
    INT(FN(SL_FN_ROUND, I, 2, K_int(-1249), K_int(-2)), -1200);
    INT(FN(SL_FN_ROUND, I, 2, K_int(4000000000000000000), K_int(-19)), 0);
    INT(FN(SL_FN_ROUND, I, 2, K_int(INT64_MAX), K_int(-40)), 0);
    OVERFLOWS(1, NUL(FN(SL_FN_ROUND, I, 2, K_int(5000000000000000000), K_int(-19))));
    OVERFLOWS(1, NUL(FN(SL_FN_ROUND, I, 2, K_int(INT64_MAX), K_int(-1))));
    OVERFLOWS(1, NUL(FN(SL_FN_ROUND, I, 2, K_int(INT64_MIN), K_int(-1))));
    INT(FN(SL_FN_ROUND, I, 2, K_int(INT64_MIN), K_int(-2)), -9223372036854775800LL);

    DBL(FN(SL_FN_FLOOR, D, 1, K_dbl(-1.5)), -2);
    DBL(FN(SL_FN_CEIL, D, 1, K_dbl(-1.5)), -1);
    DBL(FN(SL_FN_CEIL, D, 1, K_dbl(1.2)), 2);
    INT(FN(SL_FN_FLOOR, I, 1, K_int(-7)), -7);
    INT(FN(SL_FN_CEIL, I, 1, K_int(-7)), -7);

    DBL(FN(SL_FN_SQRT, D, 1, K_dbl(16)), 4);
    OVERFLOWS(1, NUL(FN(SL_FN_SQRT, D, 1, K_dbl(-1))));
    DBL(FN(SL_FN_LN, D, 1, K_dbl(1)), 0);
    OVERFLOWS(1, NUL(FN(SL_FN_LN, D, 1, K_dbl(0))));
    OVERFLOWS(1, NUL(FN(SL_FN_LN, D, 1, K_dbl(-1))));
    DBL(FN(SL_FN_EXP, D, 1, K_dbl(0)), 1);
    OVERFLOWS(1, NUL(FN(SL_FN_EXP, D, 1, K_dbl(1000))));
    DBL(FN(SL_FN_POWER, D, 2, K_dbl(2), K_dbl(10)), 1024);
    DBL(FN(SL_FN_POWER, D, 2, K_dbl(4), K_dbl(0.5)), 2);
    OVERFLOWS(1, NUL(FN(SL_FN_POWER, D, 2, K_dbl(-8), K_dbl(1.0 / 3))));
    OVERFLOWS(1, NUL(FN(SL_FN_POWER, D, 2, K_dbl(0), K_dbl(-1))));
    OVERFLOWS(1, NUL(FN(SL_FN_POWER, D, 2, K_dbl(10), K_dbl(400))));
    OVERFLOWS(0, NUL(FN(SL_FN_POWER, D, 2, K_null(D), K_dbl(2))));
}

static void test_least_coalesce_nullif(void **state)
{
    (void)state;
    INT(FN(SL_FN_LEAST, I, 3, K_int(3), K_int(1), K_int(2)), 1);
    INT(FN(SL_FN_GREATEST, I, 3, K_int(3), K_null(I), K_int(5)), 5);
    INT(FN(SL_FN_LEAST, I, 3, K_null(I), K_int(4), K_null(I)), 4);
    NUL(FN(SL_FN_LEAST, I, 2, K_null(I), K_null(I)));
    TXT(FN(SL_FN_LEAST, T, 3, K_txt("b"), K_txt("a"), K_txt("c")), "a");
    TXT(FN(SL_FN_GREATEST, T, 3, K_txt("b"), K_txt("ba"), K_txt("a")), "ba");
    DBL(FN(SL_FN_GREATEST, D, 2, K_dbl(-1.5), K_dbl(-2.5)), -1.5);
    INT(FN(SL_FN_GREATEST, TS, 2, K_ts(-1), K_ts(-2)), -1);

    INT(FN(SL_FN_COALESCE, I, 4, K_null(I), K_null(I), K_int(3), K_int(4)), 3);
    NUL(FN(SL_FN_COALESCE, T, 2, K_null(T), K_null(T)));
    TXT(FN(SL_FN_COALESCE, T, 2, K_txt(""), K_txt("x")), ""); /* '' is not NULL */
    OVERFLOWS(0,
              INT(FN(SL_FN_COALESCE, I, 2, K_int(1), OP2(SL_EXPR_DIV, I, K_int(1), K_int(0))), 1));

    NUL(FN(SL_FN_NULLIF, I, 2, K_int(1), K_int(1)));
    INT(FN(SL_FN_NULLIF, I, 2, K_int(1), K_int(2)), 1);
    NUL(FN(SL_FN_NULLIF, I, 2, K_null(I), K_int(1)));
    INT(FN(SL_FN_NULLIF, I, 2, K_int(1), K_null(I)), 1);
    NUL(FN(SL_FN_NULLIF, T, 2, K_txt("a"), K_txt("a")));
    TXT(FN(SL_FN_NULLIF, T, 2, K_txt("a"), K_txt("ab")), "a");
}

static void test_case_mapping(void **state)
{
    (void)state;
    TXT(FN(SL_FN_LOWER, T, 1, K_txt("ÀÉÎ ÑANDÚ STRASSE Øre")), "àéî ñandú strasse øre");
    TXT(FN(SL_FN_UPPER, T, 1, K_txt("straße")), "STRAßE"); /* ß: no simple upper case */
    TXT(FN(SL_FN_UPPER, T, 1, K_txt("ÿ")), "Ÿ");
    TXT(FN(SL_FN_LOWER, T, 1, K_txt("Ÿ")), "ÿ");
    TXT(FN(SL_FN_UPPER, T, 1, K_txt("µ")), "Μ");
    TXT(FN(SL_FN_LOWER, T, 1, K_txt("ΑΒΓ ΣΑΣ Ά")), "αβγ σασ ά");
    TXT(FN(SL_FN_UPPER, T, 1, K_txt("αβγ ς ά")), "ΑΒΓ Σ Ά");
    TXT(FN(SL_FN_UPPER, T, 1, K_txt("привет, ёж")), "ПРИВЕТ, ЁЖ");
    TXT(FN(SL_FN_LOWER, T, 1, K_txt("ПРИВЕТ, ЁЖ Ѣ")), "привет, ёж ѣ");
    TXT(FN(SL_FN_LOWER, T, 1, K_txt("ŁÓDŹ ĞİŞ")), "łódź ğiş");
    TXT(FN(SL_FN_UPPER, T, 1, K_txt("łódź ğış")), "ŁÓDŹ ĞIŞ");
    TXT(FN(SL_FN_UPPER, T, 1, K_txt("țară șosea")), "ȚARĂ ȘOSEA");
    TXT(FN(SL_FN_UPPER, T, 1, K_txt("tiếng việt")), "TIẾNG VIỆT");
    TXT(FN(SL_FN_UPPER, T, 1, K_txt("日本 😀 a")), "日本 😀 A");
    TXT(FN(SL_FN_LOWER, T, 1, K_txt("")), "");
    NUL(FN(SL_FN_LOWER, T, 1, K_null(T)));
    /* ASCII already in the asked case: the input itself, no scratch */
    row[0] = sl_value_text("abc def", 7);
    struct sl_expr *e = FN(SL_FN_LOWER, T, 1, COL(0, T));
    ev.scratch_used = 0;
    struct sl_value v = run(e, __LINE__);
    assert_ptr_equal(v.u.s, row[0].u.s);
    assert_int_equal(ev.scratch_used, 0);
    sl_expr_free(e);
}

static void test_length_substr_trim(void **state)
{
    (void)state;
    INT(FN(SL_FN_LENGTH, I, 1, K_txt("héllo")), 5);
    INT(FN(SL_FN_LENGTH, I, 1, K_txt("日本語")), 3);
    INT(FN(SL_FN_LENGTH, I, 1, K_txt("😀😀")), 2);
    INT(FN(SL_FN_LENGTH, I, 1, K_txt("")), 0);
    NUL(FN(SL_FN_LENGTH, I, 1, K_null(T)));

    TXT(FN(SL_FN_SUBSTR, T, 3, K_txt("héllo wörld"), K_int(2), K_int(4)), "éllo");
    TXT(FN(SL_FN_SUBSTR, T, 2, K_txt("日本語テキスト"), K_int(3)), "語テキスト");
    TXT(FN(SL_FN_SUBSTR, T, 3, K_txt("日本語"), K_int(2), K_int(1)), "本");
    TXT(FN(SL_FN_SUBSTR, T, 3, K_txt("abc"), K_int(0), K_int(2)), "a");
    TXT(FN(SL_FN_SUBSTR, T, 3, K_txt("abc"), K_int(-1), K_int(3)), "a");
    TXT(FN(SL_FN_SUBSTR, T, 3, K_txt("abc"), K_int(-5), K_int(3)), "");
    TXT(FN(SL_FN_SUBSTR, T, 2, K_txt("abc"), K_int(5)), "");
    TXT(FN(SL_FN_SUBSTR, T, 2, K_txt("abc"), K_int(-5)), "abc");
    TXT(FN(SL_FN_SUBSTR, T, 3, K_txt("abc"), K_int(2), K_int(0)), "");
    TXT(FN(SL_FN_SUBSTR, T, 3, K_txt("abc"), K_int(2), K_int(INT64_MAX)), "bc");
    TXT(FN(SL_FN_SUBSTR, T, 3, K_txt("abc"), K_int(INT64_MIN), K_int(INT64_MAX)), "");
    NUL(FN(SL_FN_SUBSTR, T, 3, K_txt("abc"), K_int(2), K_int(-1)));
    NUL(FN(SL_FN_SUBSTR, T, 2, K_txt("abc"), K_null(I)));
    NUL(FN(SL_FN_SUBSTR, T, 3, K_txt("abc"), K_int(1), K_null(I)));

    TXT(FN(SL_FN_TRIM, T, 1, K_txt("  a b  ")), "a b");
    TXT(FN(SL_FN_TRIM, T, 1, K_txt("    ")), "");
    TXT(FN(SL_FN_TRIM, T, 1, K_txt("\ta ")), "\ta"); /* spaces only */
    NUL(FN(SL_FN_TRIM, T, 1, K_null(T)));
}

static void test_concat_split(void **state)
{
    (void)state;
    TXT(OP2(SL_EXPR_CONCAT, T, K_txt("ab"), K_txt("cd")), "abcd");
    TXT(OP2(SL_EXPR_CONCAT, T, K_txt(""), K_txt("cd")), "cd");
    NUL(OP2(SL_EXPR_CONCAT, T, K_txt("ab"), K_null(T)));
    NUL(OP2(SL_EXPR_CONCAT, T, K_null(T), K_txt("ab")));
    /* (LOWER('AB') || 'c') || UPPER('d') || 'é' */
    TXT(OP2(SL_EXPR_CONCAT, T,
            OP2(SL_EXPR_CONCAT, T,
                OP2(SL_EXPR_CONCAT, T, FN(SL_FN_LOWER, T, 1, K_txt("AB")), K_txt("c")),
                FN(SL_FN_UPPER, T, 1, K_txt("d"))),
            K_txt("é")),
        "abcDé");
    /* 'x' || (LOWER('Y') || LOWER('Z')): the right side is the one in scratch */
    TXT(OP2(SL_EXPR_CONCAT, T, K_txt("x"),
            OP2(SL_EXPR_CONCAT, T, FN(SL_FN_LOWER, T, 1, K_txt("Y")),
                FN(SL_FN_LOWER, T, 1, K_txt("Z")))),
        "xyz");
    TXT(FN(SL_FN_CONCAT, T, 4, K_txt("a"), K_null(T), K_txt("b"), K_txt("c")), "abc");
    TXT(FN(SL_FN_CONCAT, T, 2, K_null(T), K_null(T)), "");
    TXT(FN(SL_FN_CONCAT, T, 1, K_txt("only")), "only");
    TXT(FN(SL_FN_CONCAT, T, 3, FN(SL_FN_UPPER, T, 1, K_txt("a")), K_txt("-"),
           FN(SL_FN_LOWER, T, 1, K_txt("B"))),
        "A-b");
    TXT(FN(SL_FN_CONCAT, T, 3, K_txt("k="), CAST(T, K_int(42)), CAST(T, K_dbl(0.5))), "k=420.5");

    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("factory/dev42/telemetry"), K_txt("/"), K_int(2)),
        "dev42");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("factory/dev42/telemetry"), K_txt("/"), K_int(1)),
        "factory");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("factory/dev42/telemetry"), K_txt("/"), K_int(3)),
        "telemetry");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("factory/dev42/telemetry"), K_txt("/"), K_int(4)), "");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("factory/dev42/telemetry"), K_txt("/"), K_int(-1)),
        "telemetry");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("factory/dev42/telemetry"), K_txt("/"), K_int(-3)),
        "factory");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("factory/dev42/telemetry"), K_txt("/"), K_int(-4)), "");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("a~@~b~@~c"), K_txt("~@~"), K_int(2)), "b");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("a//b"), K_txt("/"), K_int(2)), "");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("/a"), K_txt("/"), K_int(1)), "");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("abc"), K_txt("/"), K_int(1)), "abc");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("abc"), K_txt(""), K_int(1)), "abc");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("abc"), K_txt(""), K_int(-1)), "abc");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("abc"), K_txt(""), K_int(2)), "");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt(""), K_txt("/"), K_int(1)), "");
    TXT(FN(SL_FN_SPLIT_PART, T, 3, K_txt("日本/語"), K_txt("/"), K_int(2)), "語");
    NUL(FN(SL_FN_SPLIT_PART, T, 3, K_txt("a/b"), K_txt("/"), K_int(0)));
    NUL(FN(SL_FN_SPLIT_PART, T, 3, K_null(T), K_txt("/"), K_int(1)));
    NUL(FN(SL_FN_SPLIT_PART, T, 3, K_txt("a/b"), K_null(T), K_int(1)));
    NUL(FN(SL_FN_SPLIT_PART, T, 3, K_txt("a/b"), K_txt("/"), K_null(I)));
}

static void test_regexp(void **state)
{
    (void)state;
    BOOL(FN(SL_FN_REGEXP_MATCH, B, 2, K_txt("device-42"), K_txt("^device-\\d+$")), true);
    BOOL(FN(SL_FN_REGEXP_MATCH, B, 2, K_txt("Device-42"), K_txt("^device")), false);
    BOOL(FN(SL_FN_REGEXP_MATCH, B, 2, K_txt("xx device-42"), K_txt("device")), true);
    BOOL(FN(SL_FN_REGEXP_MATCH, B, 2, K_txt("日本"), K_txt("^.{2}$")), true); /* UTF mode */
    BOOL(FN(SL_FN_REGEXP_MATCH, B, 2, K_txt(""), K_txt("^$")), true);
    NUL(FN(SL_FN_REGEXP_MATCH, B, 2, K_null(T), K_txt("a")));
    NUL(FN(SL_FN_REGEXP_MATCH, B, 2, K_txt("a"), K_null(T)));
    assert_non_null(ev.match_data);

    /* catastrophic backtracking stops at the match limit: NULL, counted */
    row[0] = sl_value_text("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 38);
    uint64_t before = ev.regex_limits;
    NUL(FN(SL_FN_REGEXP_MATCH, B, 2, COL(0, T), K_txt("^(a+)+$")));
    assert_int_equal(ev.regex_limits, before + 1);
    /* and the per-thread match data still works afterwards */
    BOOL(FN(SL_FN_REGEXP_MATCH, B, 2, COL(0, T), K_txt("a+b$")), true);
    assert_int_equal(ev.regex_limits, before + 1);
}

static void test_regexp_prepare_errors(void **state)
{
    (void)state;
    struct sl_err err = {{0}};
    const struct sl_expr *bad = NULL;
    struct sl_expr *e = FN(SL_FN_REGEXP_MATCH, B, 2, COL(0, T), K_txt("(unclosed"));
    assert_true(sl_expr_prepare(e, &err, &bad) < 0);
    assert_ptr_equal(bad, e);
    assert_non_null(strstr(err.msg, "offset"));
    sl_expr_free(e);

    e = FN(SL_FN_REGEXP_MATCH, B, 2, COL(0, T), COL(1, T));
    assert_true(sl_expr_prepare(e, &err, &bad) < 0);
    assert_non_null(strstr(err.msg, "literal"));
    sl_expr_free(e);

    /* preparing twice releases the first compilation (ASan checks the leak) */
    e = OP2(SL_EXPR_AND, B, FN(SL_FN_REGEXP_MATCH, B, 2, COL(0, T), K_txt("^a")),
            OP2(SL_EXPR_LIKE, B, COL(0, T), K_txt("a%")));
    assert_int_equal(sl_expr_prepare(e, &err, &bad), 0);
    assert_int_equal(sl_expr_prepare(e, &err, &bad), 0);
    row[0] = sl_value_text("abc", 3);
    assert_true(sl_expr_true(e, row, &ev));
    sl_expr_free(e);
}

static void test_timestamps(void **state)
{
    (void)state;
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_int(1714564800)), 1714564800000);
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_int(1714564800123)), 1714564800123);
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_int(100000000000)), 100000000000000); /* not above */
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_int(100000000001)), 100000000001);
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_int(-1)), -1000);
    OVERFLOWS(1, NUL(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_int(-10000000000000000))));
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_dbl(1.5)), 1500);
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_dbl(1.001)), 1001);
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_dbl(1.0019)), 1001);
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_dbl(-1.0005)), -1001);
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_dbl(1714564800.123)), 1714564800123);
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_dbl(1714564800123.9)), 1714564800123);
    OVERFLOWS(1, NUL(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_dbl(1e300))));
    OVERFLOWS(1, NUL(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_dbl(-1e300))));
    INT(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_txt("2024-05-01T12:00:00Z")), 1714564800000);
    OVERFLOWS(1, NUL(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_txt("1714564800"))));
    NUL(FN(SL_FN_TO_TIMESTAMP, TS, 1, K_null(I)));

    TXT(FN(SL_FN_FORMAT_TIMESTAMP, T, 1, K_ts(1714564800000)), "2024-05-01T12:00:00.000Z");
    TXT(FN(SL_FN_FORMAT_TIMESTAMP, T, 1, K_ts(1714566896789)), "2024-05-01T12:34:56.789Z");
    TXT(FN(SL_FN_FORMAT_TIMESTAMP, T, 1, K_ts(-1)), "1969-12-31T23:59:59.999Z");
    OVERFLOWS(1, NUL(FN(SL_FN_FORMAT_TIMESTAMP, T, 1, K_ts(253402300800000))));
    NUL(FN(SL_FN_FORMAT_TIMESTAMP, T, 1, K_null(TS)));

    ev.now_ms = 1714564800042;
    INT(FN(SL_FN_NOW, TS, 0), 1714564800042);
}

struct trunc_case {
    const char *unit;
    int64_t in, want;
};

static void test_date_trunc(void **state)
{
    (void)state;
    /* 2024-05-01T12:34:56.789Z is a Wednesday; 1969-12-31T23:59:59.999Z too. */
    static const struct trunc_case cases[] = {
        {"millisecond", 1714566896789, 1714566896789},
        {"second", 1714566896789, 1714566896000},
        {"minute", 1714566896789, 1714566840000},
        {"hour", 1714566896789, 1714564800000},
        {"day", 1714566896789, 1714521600000},
        {"week", 1714566896789, 1714348800000},
        {"month", 1714566896789, 1714521600000},
        {"quarter", 1714566896789, 1711929600000},
        {"year", 1714566896789, 1704067200000},
        {"second", -1, -1000},
        {"minute", -1, -60000},
        {"day", -1, -86400000},
        {"week", -1, -259200000},
        {"month", -1, -2678400000},
        {"quarter", -1, -7948800000},
        {"year", -1, -31536000000},
        {"week", 0, -259200000},        /* Thursday 1970-01-01 -> Monday 1969-12-29 */
        {"week", 345600000, 345600000}, /* Monday 1970-01-05 */
        {"HOUR", 1714566896789, 1714564800000},
        {"Hours", 1714566896789, 1714564800000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sl_expr *e = FN(SL_FN_DATE_TRUNC, TS, 2, K_txt(cases[i].unit), K_ts(cases[i].in));
        struct sl_value v = run(e, (int)i);
        if (v.null || v.u.i != cases[i].want) {
            fail_msg("DATE_TRUNC('%s', %lld): want %lld got %lld", cases[i].unit,
                     (long long)cases[i].in, (long long)cases[i].want, (long long)v.u.i);
        }
        sl_expr_free(e);
    }
    NUL(FN(SL_FN_DATE_TRUNC, TS, 2, K_txt("day"), K_null(TS)));
    NUL(FN(SL_FN_DATE_TRUNC, TS, 2, K_null(T), K_ts(0)));
    OVERFLOWS(1, NUL(FN(SL_FN_DATE_TRUNC, TS, 2, K_txt("second"), K_ts(INT64_MIN))));
    OVERFLOWS(0,
              INT(FN(SL_FN_DATE_TRUNC, TS, 2, K_txt("second"), K_ts(INT64_MAX)), INT64_MAX - 807));

    struct sl_err err = {{0}};
    const struct sl_expr *bad = NULL;
    struct sl_expr *e = FN(SL_FN_DATE_TRUNC, TS, 2, K_txt("fortnight"), COL(0, TS));
    assert_true(sl_expr_prepare(e, &err, &bad) < 0);
    assert_ptr_equal(bad, e);
    assert_non_null(strstr(err.msg, "fortnight"));
    sl_expr_free(e);
    e = FN(SL_FN_DATE_TRUNC, TS, 2, COL(1, T), COL(0, TS));
    assert_true(sl_expr_prepare(e, &err, &bad) < 0);
    sl_expr_free(e);
}

static void test_scratch_limits(void **state)
{
    (void)state;
    struct sl_eval small;
    sl_eval_init(&small, 8);
    struct sl_expr *e = CAST(T, K_int(12345678901));
    struct sl_value v;
    sl_expr_eval(e, row, &small, &v);
    assert_true(v.null);
    assert_int_equal(small.truncated, 1);
    sl_expr_free(e);
    e = OP2(SL_EXPR_CONCAT, T, K_txt("12345"), K_txt("6789"));
    sl_expr_eval(e, row, &small, &v);
    assert_true(v.null);
    assert_int_equal(small.truncated, 2);
    sl_expr_free(e);
    e = FN(SL_FN_CONCAT, T, 2, K_txt("12345"), K_txt("678"));
    small.scratch_used = 0;
    sl_expr_eval(e, row, &small, &v);
    assert_false(v.null);
    assert_int_equal(v.len, 8);
    assert_memory_equal(v.u.s, "12345678", 8);
    sl_expr_free(e);
    sl_eval_fini(&small);

    /* no scratch at all: TEXT results that need it are NULL, nothing crashes */
    struct sl_eval none;
    sl_eval_init(&none, 0);
    struct sl_expr *exprs[] = {
        CAST(T, K_int(1)),
        FN(SL_FN_UPPER, T, 1, K_txt("abc")),
        OP2(SL_EXPR_CONCAT, T, K_txt("a"), K_txt("b")),
        FN(SL_FN_CONCAT, T, 2, K_txt("a"), K_txt("b")),
        FN(SL_FN_FORMAT_TIMESTAMP, T, 1, K_ts(0)),
    };
    for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
        sl_expr_eval(exprs[i], row, &none, &v);
        assert_true(v.null);
        sl_expr_free(exprs[i]);
    }
    assert_int_equal(none.truncated, 5);
    sl_eval_fini(&none);
}

static void test_scratch_reuse(void **state)
{
    (void)state;
    /* A left-deep chain of 12 CONCATs of LOWER()ed 5-byte pieces: 60 bytes of result. Built
     * naively it would need 5+10+…+60 bytes of scratch; compacted, about the result's size. */
    struct sl_eval e64;
    sl_eval_init(&e64, 80);
    struct sl_expr *e = FN(SL_FN_LOWER, T, 1, K_txt("ABCDE"));
    for (int i = 1; i < 12; i++) {
        e = OP2(SL_EXPR_CONCAT, T, e, FN(SL_FN_LOWER, T, 1, K_txt("FGHIJ")));
    }
    struct sl_value v;
    sl_expr_eval(e, row, &e64, &v);
    assert_false(v.null);
    assert_int_equal(v.len, 60);
    assert_memory_equal(v.u.s, "abcdefghijfghij", 15);
    assert_int_equal(e64.truncated, 0);
    assert_true(e64.scratch_used <= 70);
    sl_expr_free(e);
    /* and a right-deep one */
    e64.scratch_used = 0;
    e = FN(SL_FN_UPPER, T, 1, K_txt("vwxyz"));
    for (int i = 1; i < 12; i++) {
        e = OP2(SL_EXPR_CONCAT, T, FN(SL_FN_UPPER, T, 1, K_txt("abcde")), e);
    }
    sl_expr_eval(e, row, &e64, &v);
    assert_false(v.null);
    assert_int_equal(v.len, 60);
    assert_memory_equal(v.u.s + 50, "ABCDEVWXYZ", 10);
    assert_int_equal(e64.truncated, 0);
    sl_expr_free(e);
    sl_eval_fini(&e64);
}

static void test_expr_true(void **state)
{
    (void)state;
    struct sl_expr *t = K_bool(true), *f = K_bool(false), *n = K_null(B);
    assert_true(sl_expr_true(t, row, &ev));
    assert_false(sl_expr_true(f, row, &ev));
    assert_false(sl_expr_true(n, row, &ev));
    sl_expr_free(t);
    sl_expr_free(f);
    sl_expr_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_const_col, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arith_bigint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arith_double, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arith_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_reversed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_valued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_between, setup, teardown),
        cmocka_unit_test_setup_teardown(test_like, setup, teardown),
        cmocka_unit_test_setup_teardown(test_like_no_blowup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_like_prepare_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cast_from_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cast_to_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cast_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_math, setup, teardown),
        cmocka_unit_test_setup_teardown(test_least_coalesce_nullif, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_substr_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concat_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regexp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regexp_prepare_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_date_trunc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expr_true, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
