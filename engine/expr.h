/*
 * expr.h - the typed expression tree that queries compile to, and its evaluator.
 *
 * The front end (queries/) type-checks SQL expressions and builds these nodes; the engine
 * evaluates them per event without looking at strings again. Every node carries its result
 * type, and the front end inserts explicit SL_EXPR_CAST nodes so that each operator sees
 * exactly the operand types listed below: the evaluator never guesses.
 *
 * Operand contract (checked by the front end, relied on by the evaluator):
 *   CONST            cval holds the value (TEXT bytes owned by the node)
 *   COL              slot indexes the row passed to sl_expr_eval
 *   NEG              1 arg of the node's type (BIGINT, DOUBLE, INTERVAL)
 *   ADD SUB MUL DIV MOD
 *                    node DOUBLE: both args DOUBLE. node BIGINT: both BIGINT (DIV truncates
 *                    toward zero, MOD has the dividend's sign, as PostgreSQL).
 *                    node TIMESTAMP (ADD/SUB): args TIMESTAMP, INTERVAL (ADD also INTERVAL,
 *                    TIMESTAMP is normalised by the front end to TIMESTAMP, INTERVAL).
 *                    node INTERVAL: ADD/SUB of two INTERVALs, or SUB of two TIMESTAMPs.
 *                    Overflow, division by zero and non-finite results give NULL; overflow
 *                    and non-finite results add to struct sl_eval.overflows.
 *   CONCAT           2 TEXT args (||); NULL if either is NULL
 *   EQ NE LT LE GT GE
 *                    2 args of one type (BIGINT, DOUBLE, TEXT by bytes, TIMESTAMP, BOOLEAN
 *                    with false < true, INTERVAL); result BOOLEAN
 *   AND OR           2 BOOLEAN args, three-valued logic; NOT 1 BOOLEAN arg
 *   IS_NULL          1 arg of any type; `negated` for IS NOT NULL; never NULL
 *   IN               args[0] x, args[1..] list, all of x's type; `negated` for NOT IN;
 *                    SQL semantics (NULL when no match and x or an element is NULL)
 *   BETWEEN          x, lo, hi of one type; `negated` for NOT BETWEEN
 *   LIKE             x TEXT, pattern TEXT; `negated`; % and _ wildcards, \ escapes
 *   CASE             args = when1, then1, when2, then2, …, [else]; `has_else`; whens BOOLEAN,
 *                    thens and else of the node's type (simple CASE is desugared to EQ)
 *   CAST             1 arg; converts to the node's type (see sl_expr_eval in expr_eval.c);
 *                    a conversion that fails (TEXT 'abc' to BIGINT) gives NULL
 *   CALL             fn is an enum sl_func; args as listed there
 *
 * Threads: a tree is built once at load and then only read; any number of threads may
 * evaluate it at once, each with its own struct sl_eval.
 */
#ifndef SL_EXPR_H
#define SL_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "value.h"

enum sl_expr_op {
    SL_EXPR_CONST,
    SL_EXPR_COL,
    SL_EXPR_NEG,
    SL_EXPR_ADD,
    SL_EXPR_SUB,
    SL_EXPR_MUL,
    SL_EXPR_DIV,
    SL_EXPR_MOD,
    SL_EXPR_CONCAT,
    SL_EXPR_EQ,
    SL_EXPR_NE,
    SL_EXPR_LT,
    SL_EXPR_LE,
    SL_EXPR_GT,
    SL_EXPR_GE,
    SL_EXPR_AND,
    SL_EXPR_OR,
    SL_EXPR_NOT,
    SL_EXPR_IS_NULL,
    SL_EXPR_IN,
    SL_EXPR_BETWEEN,
    SL_EXPR_LIKE,
    SL_EXPR_CASE,
    SL_EXPR_CAST,
    SL_EXPR_CALL,
};

/* Scalar functions. Argument types after the front end's implicit casts; "num" means the
 * node's type, BIGINT or DOUBLE. */
enum sl_func {
    SL_FN_ABS,              /* (num) -> num */
    SL_FN_ROUND,            /* (num [, BIGINT digits]) -> num; half away from zero */
    SL_FN_FLOOR,            /* (num) -> num */
    SL_FN_CEIL,             /* (num) -> num */
    SL_FN_SQRT,             /* (DOUBLE) -> DOUBLE; negative -> NULL (counted) */
    SL_FN_LN,               /* (DOUBLE) -> DOUBLE; <= 0 -> NULL (counted) */
    SL_FN_EXP,              /* (DOUBLE) -> DOUBLE */
    SL_FN_POWER,            /* (DOUBLE, DOUBLE) -> DOUBLE */
    SL_FN_LEAST,            /* (T, T, …) -> T; NULL arguments ignored, all NULL -> NULL */
    SL_FN_GREATEST,         /* (T, T, …) -> T; likewise */
    SL_FN_COALESCE,         /* (T, T, …) -> T; first non-NULL */
    SL_FN_NULLIF,           /* (T, T) -> T; NULL when equal */
    SL_FN_LOWER,            /* (TEXT) -> TEXT; ASCII and Latin letters by Unicode simple case */
    SL_FN_UPPER,            /* (TEXT) -> TEXT */
    SL_FN_LENGTH,           /* (TEXT) -> BIGINT, code points */
    SL_FN_SUBSTR,           /* (TEXT, BIGINT start [, BIGINT count]) -> TEXT, 1-based code points */
    SL_FN_TRIM,             /* (TEXT) -> TEXT, spaces removed at both ends */
    SL_FN_CONCAT,           /* (TEXT, …) -> TEXT; NULL arguments are skipped (PostgreSQL) */
    SL_FN_SPLIT_PART,       /* (TEXT, TEXT delim, BIGINT n) -> TEXT; 1-based, negative from end,
                               out of range -> '' */
    SL_FN_REGEXP_MATCH,     /* (TEXT, TEXT pattern constant) -> BOOLEAN; PCRE2, match limit */
    SL_FN_TO_TIMESTAMP,     /* (BIGINT|DOUBLE epoch, auto s/ms) or (TEXT RFC 3339) -> TIMESTAMP */
    SL_FN_FORMAT_TIMESTAMP, /* (TIMESTAMP) -> TEXT, RFC 3339 UTC with milliseconds */
    SL_FN_DATE_TRUNC,       /* (TEXT unit constant, TIMESTAMP) -> TIMESTAMP, UTC */
    SL_FN_NOW,              /* () -> TIMESTAMP, processing time of the event */
    SL_FN__COUNT
};

struct sl_expr {
    uint8_t op;       /* enum sl_expr_op */
    uint8_t type;     /* enum sl_type of the result */
    uint8_t negated;  /* NOT IN, NOT BETWEEN, NOT LIKE, IS NOT NULL */
    uint8_t has_else; /* CASE */
    uint16_t fn;      /* CALL: enum sl_func */
    uint16_t nargs;
    uint32_t slot;        /* COL */
    struct sl_value cval; /* CONST */
    struct sl_expr **args;
    void *aux;     /* prepared data: compiled regex, DATE_TRUNC unit, … (sl_expr_prepare) */
    char *text;    /* the expression as written, for plans and default column names */
    int line, col; /* where it was written */
};

/* Allocates a node with room for nargs argument pointers (all NULL). Aborts on OOM (load
 * time only). */
struct sl_expr *sl_expr_new(enum sl_expr_op op, enum sl_type type, int nargs);
/* A CONST node; TEXT bytes are copied and owned by the node. */
struct sl_expr *sl_expr_const(struct sl_value v);
/* Frees a tree, its prepared data and its text. NULL is a no-op. */
void sl_expr_free(struct sl_expr *e);

/* Prepares a checked tree for evaluation: compiles REGEXP_MATCH patterns (PCRE2, at load,
 * so a bad pattern is a load error), DATE_TRUNC units, constant LIKE patterns. Returns 0, or
 * a negative code with err naming the problem; the caller adds file:line:col from the node
 * reported in *ret_bad (may be NULL). Call once per tree, from the loading thread. */
int sl_expr_prepare(struct sl_expr *e, struct sl_err *err, const struct sl_expr **ret_bad);

/* Per-thread evaluation context. Reset scratch_used to 0 before each event. */
struct sl_eval {
    char *scratch; /* room for TEXT results made per event (LOWER, CONCAT, CAST) */
    size_t scratch_cap;
    size_t scratch_used;
    int64_t now_ms;        /* NOW(): processing time of the event */
    uint64_t overflows;    /* overflow, non-finite and failed-conversion results made NULL */
    uint64_t truncated;    /* TEXT results that did not fit in scratch (made NULL) */
    uint64_t regex_limits; /* REGEXP_MATCH runs stopped by the match limit (result NULL) */
    void *match_data;      /* PCRE2 match data, created lazily, freed by sl_eval_fini */
};

void sl_eval_init(struct sl_eval *ev, size_t scratch_cap);
void sl_eval_fini(struct sl_eval *ev);

/* Evaluates e over row (an array of values indexed by COL slots) into *out. Never fails:
 * every error case gives NULL as SQL.md says. TEXT results may point into row values,
 * constants, or ev->scratch; they are valid until ev->scratch_used is reset. */
void sl_expr_eval(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                  struct sl_value *out);

/* WHERE / HAVING / FILTER: true only when e evaluates to TRUE (not FALSE, not NULL). */
static inline bool sl_expr_true(const struct sl_expr *e, const struct sl_value *row,
                                struct sl_eval *ev)
{
    struct sl_value v;
    sl_expr_eval(e, row, ev, &v);
    return !v.null && v.u.b;
}

#endif
