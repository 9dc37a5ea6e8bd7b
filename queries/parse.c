/*
 * parse.c - the parser: tokens to statements. Hand-written recursive descent.
 *
 * One function per grammar rule (SQL.md, "Statements" and "Queries"); expressions by
 * precedence climbing written out as functions, lowest first, as in PostgreSQL:
 *
 *   expr    := or
 *   or      := and { OR and }
 *   and     := not { AND not }
 *   not     := NOT not | is
 *   is      := cmp { IS [NOT] NULL }
 *   cmp     := pred [ (= <> != < <= > >=) pred ]
 *   pred    := concat [ [NOT] BETWEEN concat AND concat | [NOT] IN ( expr, … )
 *                     | [NOT] LIKE concat ]
 *   concat  := add { || add }
 *   add     := mul { (+ | -) mul }
 *   mul     := unary { (* | / | %) unary }
 *   unary   := (- | +) unary | primary
 *   primary := literal | INTERVAL … | CASE … | CAST ( expr AS type ) | ( expr )
 *            | name ( [DISTINCT] args | * ) [FILTER ( WHERE expr )] | [qual .] name
 *
 * Errors: the first syntax error in a statement is reported (what was expected, what was
 * found) and the parser longjmps back to the statement loop, which skips to the next ';'.
 * Everything the parser allocates lives in the load's arena, so abandoning a statement half
 * built leaks nothing. A statement abandoned after its name was read is kept, marked broken,
 * so that later statements naming it are not told it does not exist.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "front_int.h"

struct parser {
    struct sl__front *fr;
    struct sl__arena *a;
    int pos;
    int depth;
    struct sl__stmt *cur;
    jmp_buf jb;
};

static const char *const reserved[] = {
    "SELECT", "FROM",  "WHERE", "GROUP",   "HAVING", "EMIT",     "ALLOWED", "AND",
    "OR",     "NOT",   "IS",    "IN",      "BETWEEN", "LIKE",    "CASE",    "WHEN",
    "THEN",   "ELSE",  "END",   "AS",      "CAST",   "NULL",     "TRUE",    "FALSE",
    "INTERVAL", "DISTINCT", "CREATE", "WITH", "ORDER", "LIMIT",   "UNION",   "JOIN",
    "ON",     "BY",    "OVER",  "FILTER",  "WINDOW",
};

static bool is_reserved(const char *s)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(reserved); i++) {
        if (strcasecmp(s, reserved[i]) == 0) {
            return true;
        }
    }
    return false;
}

static struct sl__tok *tk(struct parser *p)
{
    return &p->fr->toks[p->pos];
}

static struct sl__tok *tk_at(struct parser *p, int k)
{
    int i = p->pos + k;
    return &p->fr->toks[i < p->fr->ntoks ? i : p->fr->ntoks - 1];
}

static bool is_kind(struct parser *p, enum sl__tok_kind kind)
{
    return tk(p)->kind == kind;
}

static bool kw_at(struct parser *p, int k, const char *kw)
{
    struct sl__tok *t = tk_at(p, k);
    return t->kind == SL_TOK_IDENT && strcasecmp(t->val, kw) == 0;
}

static bool is_kw(struct parser *p, const char *kw)
{
    return kw_at(p, 0, kw);
}

static void next(struct parser *p)
{
    if (tk(p)->kind != SL_TOK_EOF) {
        p->pos++;
    }
}

/* How a token reads in a message. */
static void describe(struct parser *p, const struct sl__tok *t, char *buf, size_t cap)
{
    const char *src = p->fr->files[t->file].text + t->off;
    int n = t->len > 40 ? 40 : (int)t->len;
    switch (t->kind) {
    case SL_TOK_EOF:
        snprintf(buf, cap, "end of input");
        break;
    case SL_TOK_SEMI:
        snprintf(buf, cap, t->len == 0 ? "end of file" : "';'");
        break;
    case SL_TOK_STRING:
        snprintf(buf, cap, "string %.*s%s", n, src, t->len > 40 ? "…" : "");
        break;
    default:
        snprintf(buf, cap, "'%.*s%s'", n, src, t->len > 40 ? "…" : "");
        break;
    }
}

static _Noreturn void bail(struct parser *p)
{
    longjmp(p->jb, 1);
}

static _Noreturn SL_PRINTF(3, 4) void fail_at(struct parser *p, int tok, const char *fmt, ...)
{
    if (p->fr->toks[tok].kind != SL_TOK_ERROR) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        sl__diag_tok(p->fr, SL_DIAG_ERROR, tok, "%s", msg);
    }
    bail(p);
}

/* "expected X, found Y" at the current token. */
static _Noreturn void expected(struct parser *p, const char *what)
{
    char found[96];
    describe(p, tk(p), found, sizeof(found));
    fail_at(p, p->pos, "expected %s, found %s", what, found);
}

static void expect(struct parser *p, enum sl__tok_kind kind, const char *what)
{
    if (!is_kind(p, kind)) {
        expected(p, what);
    }
    next(p);
}

static void expect_kw(struct parser *p, const char *kw)
{
    if (!is_kw(p, kw)) {
        char what[64];
        snprintf(what, sizeof(what), "%s", kw);
        expected(p, what);
    }
    next(p);
}

static void *grow(struct parser *p, void *old, int n, int *cap, size_t elem)
{
    if (n < *cap) {
        return old;
    }
    int ncap = *cap ? *cap * 2 : 8;
    void *v = sl__arena_alloc(p->a, elem * (size_t)ncap);
    if (old != NULL) {
        memcpy(v, old, elem * (size_t)n);
    }
    *cap = ncap;
    return v;
}

static char *astr(struct parser *p, const char *s)
{
    return sl__arena_strndup(p->a, s, strlen(s));
}

/* A name: identifier or "quoted identifier". */
static char *parse_name(struct parser *p, const char *what, bool *ret_quoted, int *ret_tok)
{
    struct sl__tok *t = tk(p);
    if (t->kind == SL_TOK_QIDENT || (t->kind == SL_TOK_IDENT && !is_reserved(t->val))) {
        *ret_quoted = t->kind == SL_TOK_QIDENT;
        *ret_tok = p->pos;
        next(p);
        return astr(p, t->val);
    }
    if (t->kind == SL_TOK_IDENT) {
        fail_at(p, p->pos, "expected %s, found the keyword '%s' (write \"%s\" to use it as a "
                           "name)",
                what, t->val, t->val);
    }
    expected(p, what);
}

/* INTERVAL 'n' unit | INTERVAL '10s' */
static struct sl__interval parse_interval(struct parser *p, const char *what)
{
    struct sl__interval iv = {.tok = p->pos, .given = true};
    if (!is_kw(p, "INTERVAL")) {
        expected(p, what);
    }
    next(p);
    if (!is_kind(p, SL_TOK_STRING)) {
        expected(p, "a quoted interval like '10' SECOND or '10s'");
    }
    int stok = p->pos;
    if (tk(p)->flags & SL_TOKF_BAD) {
        bail(p);
    }
    const char *s = tk(p)->val;
    next(p);
    const char *unit = NULL;
    if (is_kind(p, SL_TOK_IDENT) && !is_reserved(tk(p)->val)) {
        static const char *const units[] = {"MILLISECOND", "MILLISECONDS", "SECOND", "SECONDS",
                                            "MINUTE",      "MINUTES",      "HOUR",   "HOURS",
                                            "DAY",         "DAYS"};
        for (size_t i = 0; i < SL_ARRAY_LEN(units); i++) {
            if (strcasecmp(tk(p)->val, units[i]) == 0) {
                unit = tk(p)->val;
            }
        }
        if (unit == NULL) {
            const char *near = sl__suggest(tk(p)->val, units, (int)SL_ARRAY_LEN(units));
            if (near != NULL) {
                fail_at(p, p->pos, "unknown interval unit '%s'; did you mean '%s'?",
                        tk(p)->val, near);
            }
        } else {
            next(p);
        }
    }
    struct sl_err err = {{0}};
    if (sl__interval_ms(s, unit, &iv.ms, &err) < 0) {
        fail_at(p, stok, "%s", err.msg);
    }
    return iv;
}

static struct sl__ast *node(struct parser *p, enum sl__ast_kind kind, int tok, int first)
{
    struct sl__ast *e = sl__arena_alloc(p->a, sizeof(*e));
    e->kind = (uint8_t)kind;
    e->tok = tok;
    e->first = first;
    e->last = p->pos - 1;
    return e;
}

static void set_args(struct parser *p, struct sl__ast *e, struct sl__ast **args, int n)
{
    e->args = sl__arena_alloc(p->a, sizeof(*args) * (size_t)(n ? n : 1));
    if (n > 0) {
        memcpy(e->args, args, sizeof(*args) * (size_t)n);
    }
    e->nargs = n;
}

static struct sl__ast *parse_expr(struct parser *p);

static void enter(struct parser *p)
{
    if (++p->depth > SL__MAX_DEPTH) {
        fail_at(p, p->pos, "expression nested more than %d deep", SL__MAX_DEPTH);
    }
}

static struct sl__ast *binary(struct parser *p, int op, int tok, struct sl__ast *l,
                              struct sl__ast *r)
{
    struct sl__ast *e = node(p, SL_AST_BINARY, tok, l->first);
    e->op = (uint8_t)op;
    struct sl__ast *args[2] = {l, r};
    set_args(p, e, args, 2);
    return e;
}

/* ( expr, … ) after a function name or IN; returns the count. */
static int parse_list(struct parser *p, struct sl__ast ***ret, const char *what)
{
    struct sl__ast **v = NULL;
    int n = 0, cap = 0;
    for (;;) {
        if (n >= SL__MAX_LIST) {
            fail_at(p, p->pos, "more than %d %s", SL__MAX_LIST, what);
        }
        v = grow(p, v, n, &cap, sizeof(*v));
        v[n++] = parse_expr(p);
        if (!is_kind(p, SL_TOK_COMMA)) {
            break;
        }
        next(p);
    }
    *ret = v;
    return n;
}

static int parse_type(struct parser *p)
{
    static const char *const names[] = {"BOOLEAN", "BIGINT", "INT", "DOUBLE", "FLOAT",
                                        "REAL",    "TEXT",   "VARCHAR", "STRING", "TIMESTAMP"};
    uint8_t type;
    if (!is_kind(p, SL_TOK_IDENT)) {
        expected(p, "a type (BOOLEAN, BIGINT, DOUBLE, TEXT or TIMESTAMP)");
    }
    if (sl__type_from_name(tk(p)->val, &type) < 0) {
        const char *near = sl__suggest(tk(p)->val, names, (int)SL_ARRAY_LEN(names));
        if (near != NULL) {
            fail_at(p, p->pos, "unknown type '%s'; did you mean '%s'?", tk(p)->val, near);
        }
        fail_at(p, p->pos, "unknown type '%s': expected BOOLEAN, BIGINT, DOUBLE, TEXT or "
                           "TIMESTAMP",
                tk(p)->val);
    }
    bool varchar = strcasecmp(tk(p)->val, "VARCHAR") == 0;
    next(p);
    if (varchar && is_kind(p, SL_TOK_LP)) {
        /* VARCHAR(n), as Flink and PostgreSQL write it: the length is not enforced */
        next(p);
        expect(p, SL_TOK_INT, "a length");
        expect(p, SL_TOK_RP, "')'");
    }
    return type;
}

static struct sl__ast *parse_call(struct parser *p, int first)
{
    struct sl__tok *name = tk(p);
    int name_tok = p->pos;
    next(p); /* name */
    next(p); /* ( */
    struct sl__ast *e = node(p, SL_AST_CALL, name_tok, first);
    e->s = astr(p, name->val);
    e->quoted = name->kind == SL_TOK_QIDENT;
    if (is_kind(p, SL_TOK_STAR)) {
        e->star = true;
        next(p);
    } else if (!is_kind(p, SL_TOK_RP)) {
        if (is_kw(p, "DISTINCT")) {
            e->distinct = true;
            next(p);
        } else if (is_kw(p, "ALL")) {
            next(p);
        }
        struct sl__ast **args;
        int n = parse_list(p, &args, "function arguments");
        set_args(p, e, args, n);
    }
    expect(p, SL_TOK_RP, "')' after the arguments");
    if (is_kw(p, "FILTER") && tk_at(p, 1)->kind == SL_TOK_LP) {
        next(p);
        next(p);
        expect_kw(p, "WHERE");
        e->filter = parse_expr(p);
        expect(p, SL_TOK_RP, "')' after FILTER (WHERE …");
    }
    if (is_kw(p, "OVER")) {
        fail_at(p, p->pos, "OVER (…) windows are not supported: use FROM TUMBLE(…), HOP(…) "
                           "or SESSION(…) and GROUP BY");
    }
    e->last = p->pos - 1;
    return e;
}

static struct sl__ast *parse_primary(struct parser *p)
{
    struct sl__tok *t = tk(p);
    int first = p->pos;
    struct sl__ast *e;
    switch (t->kind) {
    case SL_TOK_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(t->val, &end, 10);
        if (errno == ERANGE || *end != '\0') {
            fail_at(p, p->pos, "integer %s is out of the BIGINT range", t->val);
        }
        next(p);
        e = node(p, SL_AST_INT, first, first);
        e->i = v;
        return e;
    }
    case SL_TOK_FLOAT: {
        double v = strtod(t->val, NULL);
        if (!isfinite(v)) {
            fail_at(p, p->pos, "number %s is out of the DOUBLE range", t->val);
        }
        next(p);
        e = node(p, SL_AST_FLOAT, first, first);
        e->d = v;
        return e;
    }
    case SL_TOK_STRING:
        if (t->flags & SL_TOKF_BAD) {
            bail(p);
        }
        next(p);
        e = node(p, SL_AST_STRING, first, first);
        e->s = sl__arena_strndup(p->a, t->val, t->vlen);
        e->slen = t->vlen;
        e->secret = (t->flags & SL_TOKF_SECRET) != 0;
        return e;
    case SL_TOK_LP:
        next(p);
        if (is_kw(p, "SELECT")) {
            fail_at(p, p->pos, "subqueries are not supported");
        }
        e = parse_expr(p);
        expect(p, SL_TOK_RP, "')'");
        /* the parenthesised text is the expression's text */
        e->first = first;
        e->last = p->pos - 1;
        return e;
    case SL_TOK_IDENT:
    case SL_TOK_QIDENT:
        break;
    case SL_TOK_ERROR:
        bail(p);
    default:
        expected(p, "an expression");
    }
    if (t->kind == SL_TOK_IDENT) {
        if (is_kw(p, "TRUE") || is_kw(p, "FALSE")) {
            next(p);
            e = node(p, SL_AST_BOOL, first, first);
            e->i = strcasecmp(t->val, "TRUE") == 0;
            return e;
        }
        if (is_kw(p, "NULL")) {
            next(p);
            return node(p, SL_AST_NULL, first, first);
        }
        if (is_kw(p, "INTERVAL")) {
            struct sl__interval iv = parse_interval(p, "INTERVAL");
            e = node(p, SL_AST_INTERVAL, first, first);
            e->i = iv.ms;
            return e;
        }
        if (is_kw(p, "CAST")) {
            next(p);
            expect(p, SL_TOK_LP, "'(' after CAST");
            struct sl__ast *x = parse_expr(p);
            expect_kw(p, "AS");
            int type_tok = p->pos;
            int type = parse_type(p);
            expect(p, SL_TOK_RP, "')' after the type");
            e = node(p, SL_AST_CAST, type_tok, first);
            e->cast_type = (uint8_t)type;
            set_args(p, e, &x, 1);
            return e;
        }
        if (is_kw(p, "CASE")) {
            struct sl__ast **v = NULL;
            int n = 0, cap = 0;
            bool has_operand = false, has_else = false;
            next(p);
            if (!is_kw(p, "WHEN")) {
                v = grow(p, v, n, &cap, sizeof(*v));
                v[n++] = parse_expr(p);
                has_operand = true;
            }
            if (!is_kw(p, "WHEN")) {
                expected(p, "WHEN");
            }
            while (is_kw(p, "WHEN")) {
                if (n >= SL__MAX_LIST) {
                    fail_at(p, p->pos, "more than %d CASE arms", SL__MAX_LIST / 2);
                }
                next(p);
                v = grow(p, v, n, &cap, sizeof(*v));
                v[n++] = parse_expr(p);
                expect_kw(p, "THEN");
                v = grow(p, v, n, &cap, sizeof(*v));
                v[n++] = parse_expr(p);
            }
            if (is_kw(p, "ELSE")) {
                next(p);
                v = grow(p, v, n, &cap, sizeof(*v));
                v[n++] = parse_expr(p);
                has_else = true;
            }
            expect_kw(p, "END");
            e = node(p, SL_AST_CASE, first, first);
            e->has_operand = has_operand;
            e->has_else = has_else;
            set_args(p, e, v, n);
            return e;
        }
        if (is_reserved(t->val)) {
            expected(p, "an expression");
        }
    }
    if (tk_at(p, 1)->kind == SL_TOK_LP) {
        return parse_call(p, first);
    }
    next(p);
    e = node(p, SL_AST_COL, first, first);
    e->s = astr(p, t->val);
    e->quoted = t->kind == SL_TOK_QIDENT;
    if (is_kind(p, SL_TOK_DOT)) {
        next(p);
        bool quoted;
        int tok;
        char *name = parse_name(p, "a column name after '.'", &quoted, &tok);
        e->qual = e->s;
        e->qual_quoted = e->quoted;
        e->s = name;
        e->quoted = quoted;
        e->tok = tok;
        e->last = p->pos - 1;
    }
    return e;
}

static struct sl__ast *parse_unary(struct parser *p)
{
    if (is_kind(p, SL_TOK_MINUS) || is_kind(p, SL_TOK_PLUS)) {
        int first = p->pos;
        bool neg = is_kind(p, SL_TOK_MINUS);
        enter(p);
        next(p);
        struct sl__ast *x = parse_unary(p);
        p->depth--;
        if (!neg) {
            x->first = first;
            return x;
        }
        struct sl__ast *e = node(p, SL_AST_NEG, first, first);
        set_args(p, e, &x, 1);
        return e;
    }
    return parse_primary(p);
}

static struct sl__ast *parse_mul(struct parser *p)
{
    struct sl__ast *l = parse_unary(p);
    for (;;) {
        int op;
        if (is_kind(p, SL_TOK_STAR)) {
            op = SL_EXPR_MUL;
        } else if (is_kind(p, SL_TOK_SLASH)) {
            op = SL_EXPR_DIV;
        } else if (is_kind(p, SL_TOK_PERCENT)) {
            op = SL_EXPR_MOD;
        } else {
            return l;
        }
        int tok = p->pos;
        next(p);
        l = binary(p, op, tok, l, parse_unary(p));
    }
}

static struct sl__ast *parse_add(struct parser *p)
{
    struct sl__ast *l = parse_mul(p);
    while (is_kind(p, SL_TOK_PLUS) || is_kind(p, SL_TOK_MINUS)) {
        int op = is_kind(p, SL_TOK_PLUS) ? SL_EXPR_ADD : SL_EXPR_SUB;
        int tok = p->pos;
        next(p);
        l = binary(p, op, tok, l, parse_mul(p));
    }
    return l;
}

static struct sl__ast *parse_concat(struct parser *p)
{
    struct sl__ast *l = parse_add(p);
    while (is_kind(p, SL_TOK_CONCAT)) {
        int tok = p->pos;
        next(p);
        l = binary(p, SL_EXPR_CONCAT, tok, l, parse_add(p));
    }
    return l;
}

static struct sl__ast *parse_pred(struct parser *p)
{
    struct sl__ast *x = parse_concat(p);
    bool negated = false;
    int tok = p->pos;
    if (is_kw(p, "NOT") && (kw_at(p, 1, "BETWEEN") || kw_at(p, 1, "IN") || kw_at(p, 1, "LIKE"))) {
        negated = true;
        next(p);
    }
    struct sl__ast *e;
    if (is_kw(p, "BETWEEN")) {
        next(p);
        struct sl__ast *args[3] = {x, parse_concat(p), NULL};
        expect_kw(p, "AND");
        args[2] = parse_concat(p);
        e = node(p, SL_AST_BETWEEN, tok, x->first);
        set_args(p, e, args, 3);
    } else if (is_kw(p, "IN")) {
        next(p);
        expect(p, SL_TOK_LP, "'(' after IN");
        if (is_kw(p, "SELECT")) {
            fail_at(p, p->pos, "subqueries are not supported");
        }
        struct sl__ast **list;
        int n = parse_list(p, &list, "IN list elements");
        expect(p, SL_TOK_RP, "')' after the IN list");
        struct sl__ast **args = sl__arena_alloc(p->a, sizeof(*args) * (size_t)(n + 1));
        args[0] = x;
        memcpy(args + 1, list, sizeof(*args) * (size_t)n);
        e = node(p, SL_AST_IN, tok, x->first);
        e->args = args;
        e->nargs = n + 1;
    } else if (is_kw(p, "LIKE")) {
        next(p);
        struct sl__ast *args[2] = {x, parse_concat(p)};
        e = node(p, SL_AST_LIKE, tok, x->first);
        set_args(p, e, args, 2);
    } else {
        return x;
    }
    e->negated = negated;
    return e;
}

static struct sl__ast *parse_cmp(struct parser *p)
{
    struct sl__ast *l = parse_pred(p);
    int op;
    switch (tk(p)->kind) {
    case SL_TOK_EQ:
        op = SL_EXPR_EQ;
        break;
    case SL_TOK_NE:
        op = SL_EXPR_NE;
        break;
    case SL_TOK_LT:
        op = SL_EXPR_LT;
        break;
    case SL_TOK_LE:
        op = SL_EXPR_LE;
        break;
    case SL_TOK_GT:
        op = SL_EXPR_GT;
        break;
    case SL_TOK_GE:
        op = SL_EXPR_GE;
        break;
    default:
        return l;
    }
    int tok = p->pos;
    next(p);
    struct sl__ast *e = binary(p, op, tok, l, parse_pred(p));
    switch (tk(p)->kind) {
    case SL_TOK_EQ:
    case SL_TOK_NE:
    case SL_TOK_LT:
    case SL_TOK_LE:
    case SL_TOK_GT:
    case SL_TOK_GE:
        fail_at(p, p->pos, "comparisons do not chain: write a < b AND b < c");
    default:
        break;
    }
    return e;
}

static struct sl__ast *parse_is(struct parser *p)
{
    struct sl__ast *x = parse_cmp(p);
    while (is_kw(p, "IS")) {
        int tok = p->pos;
        bool negated = false;
        next(p);
        if (is_kw(p, "NOT")) {
            negated = true;
            next(p);
        }
        if (!is_kw(p, "NULL")) {
            expected(p, negated ? "NULL after IS NOT" : "NULL or NOT NULL after IS");
        }
        next(p);
        struct sl__ast *e = node(p, SL_AST_IS_NULL, tok, x->first);
        e->negated = negated;
        set_args(p, e, &x, 1);
        x = e;
    }
    return x;
}

static struct sl__ast *parse_not(struct parser *p)
{
    if (is_kw(p, "NOT")) {
        int first = p->pos;
        enter(p);
        next(p);
        struct sl__ast *x = parse_not(p);
        p->depth--;
        struct sl__ast *e = node(p, SL_AST_NOT, first, first);
        set_args(p, e, &x, 1);
        return e;
    }
    return parse_is(p);
}

static struct sl__ast *parse_and(struct parser *p)
{
    struct sl__ast *l = parse_not(p);
    while (is_kw(p, "AND")) {
        int tok = p->pos;
        next(p);
        l = binary(p, SL_EXPR_AND, tok, l, parse_not(p));
    }
    return l;
}

static struct sl__ast *parse_expr(struct parser *p)
{
    enter(p);
    struct sl__ast *l = parse_and(p);
    while (is_kw(p, "OR")) {
        int tok = p->pos;
        next(p);
        l = binary(p, SL_EXPR_OR, tok, l, parse_and(p));
    }
    p->depth--;
    return l;
}

/* ---- statements ---- */

static void parse_options(struct parser *p, struct sl__stmt *st)
{
    int cap = 0;
    st->with_tok = p->pos;
    expect_kw(p, "WITH");
    expect(p, SL_TOK_LP, "'(' after WITH");
    if (is_kind(p, SL_TOK_RP)) {
        next(p);
        return;
    }
    for (;;) {
        struct sl__opt o = {.name_tok = p->pos};
        if (st->nopts >= SL__MAX_ITEMS) {
            fail_at(p, p->pos, "more than %d options", SL__MAX_ITEMS);
        }
        if (is_kind(p, SL_TOK_STRING) || is_kind(p, SL_TOK_QIDENT)) {
            if (tk(p)->flags & SL_TOKF_BAD) {
                bail(p);
            }
            o.name = astr(p, tk(p)->val);
            next(p);
        } else if (is_kind(p, SL_TOK_IDENT)) {
            /* dotted names: properties.sasl.mechanism */
            int first = p->pos;
            next(p);
            while (is_kind(p, SL_TOK_DOT) && tk_at(p, 1)->kind == SL_TOK_IDENT) {
                next(p);
                next(p);
            }
            char *text = sl__tok_text(p->fr, first, p->pos - 1);
            o.name = astr(p, text);
            free(text);
        } else {
            expected(p, "an option name");
        }
        expect(p, SL_TOK_EQ, "'=' after the option name");
        o.value_tok = p->pos;
        if (is_kind(p, SL_TOK_STRING)) {
            if (tk(p)->flags & SL_TOKF_BAD) {
                bail(p);
            }
            o.value = sl__arena_strndup(p->a, tk(p)->val, tk(p)->vlen);
            o.secret = (tk(p)->flags & SL_TOKF_SECRET) != 0;
            if (strlen(o.value) != tk(p)->vlen) {
                fail_at(p, p->pos, "an option value cannot hold a NUL byte");
            }
            next(p);
        } else if (is_kind(p, SL_TOK_INT) || is_kind(p, SL_TOK_FLOAT) ||
                   is_kind(p, SL_TOK_IDENT)) {
            struct sl__tok *t = tk(p);
            fail_at(p, p->pos, "option values are strings: write %s = '%.*s'", o.name,
                    (int)(t->len > 60 ? 60 : t->len), p->fr->files[t->file].text + t->off);
        } else {
            expected(p, "a quoted option value");
        }
        st->opts = grow(p, st->opts, st->nopts, &cap, sizeof(*st->opts));
        st->opts[st->nopts++] = o;
        if (is_kind(p, SL_TOK_RP)) {
            next(p);
            return;
        }
        expect(p, SL_TOK_COMMA, "',' or ')' after the option");
    }
}

static void parse_source(struct parser *p, struct sl__stmt *st)
{
    int cap = 0;
    expect(p, SL_TOK_LP, "'(' and the column list");
    for (;;) {
        if (is_kw(p, "WATERMARK") && kw_at(p, 1, "FOR")) {
            if (st->has_wm) {
                fail_at(p, p->pos, "a source has one WATERMARK");
            }
            st->has_wm = true;
            next(p);
            next(p);
            st->wm_col = parse_name(p, "the event-time column after WATERMARK FOR",
                                    &st->wm_quoted, &st->wm_tok);
            expect_kw(p, "AS");
            bool quoted;
            int tok;
            char *again = parse_name(p, "the same column, as in WATERMARK FOR ts AS ts - "
                                        "INTERVAL '5' SECOND",
                                     &quoted, &tok);
            bool same = (quoted || st->wm_quoted) ? strcmp(again, st->wm_col) == 0
                                                  : strcasecmp(again, st->wm_col) == 0;
            if (!same) {
                fail_at(p, tok, "WATERMARK FOR %s AS must use the same column: %s - "
                                "INTERVAL '5' SECOND",
                        st->wm_col, st->wm_col);
            }
            if (is_kind(p, SL_TOK_MINUS)) {
                next(p);
                struct sl__interval iv = parse_interval(
                    p, "INTERVAL after '-', as in ts - INTERVAL '5' SECOND");
                if (iv.ms < 0) {
                    fail_at(p, iv.tok, "the watermark delay cannot be negative");
                }
                st->wm_delay_ms = iv.ms;
            } else if (!is_kind(p, SL_TOK_COMMA) && !is_kind(p, SL_TOK_RP)) {
                expected(p, "'- INTERVAL …' after the column, as in ts - INTERVAL '5' SECOND");
            }
        } else {
            struct sl__coldef c = {0};
            if (st->ncols >= SL__MAX_COLUMNS) {
                fail_at(p, p->pos, "more than %d columns", SL__MAX_COLUMNS);
            }
            c.name = parse_name(p, "a column name or WATERMARK FOR", &c.quoted, &c.tok);
            c.type = (uint8_t)parse_type(p);
            for (;;) {
                if (is_kw(p, "PATH")) {
                    if (c.path != NULL) {
                        fail_at(p, p->pos, "PATH given twice");
                    }
                    next(p);
                    c.path_tok = p->pos;
                    if (!is_kind(p, SL_TOK_STRING)) {
                        expected(p, "a quoted JSON path after PATH, like '$.meta.site'");
                    }
                    if (tk(p)->flags & SL_TOKF_BAD) {
                        bail(p);
                    }
                    c.path = sl__arena_strndup(p->a, tk(p)->val, tk(p)->vlen);
                    next(p);
                } else if (is_kw(p, "NOT") && kw_at(p, 1, "NULL")) {
                    c.not_null = true;
                    next(p);
                    next(p);
                } else if (is_kw(p, "NULL")) {
                    next(p);
                } else {
                    break;
                }
            }
            st->cols = grow(p, st->cols, st->ncols, &cap, sizeof(*st->cols));
            st->cols[st->ncols++] = c;
        }
        if (is_kind(p, SL_TOK_RP)) {
            next(p);
            break;
        }
        expect(p, SL_TOK_COMMA, "',' or ')' after the column");
    }
    if (!is_kw(p, "WITH")) {
        expected(p, "WITH (connector = '…', …) after the columns");
    }
    parse_options(p, st);
}

static void parse_window(struct parser *p, struct sl__select *sel)
{
    const char *fn = tk(p)->val;
    sel->window = strcasecmp(fn, "TUMBLE") == 0 ? SL_WINDOW_TUMBLE
                  : strcasecmp(fn, "HOP") == 0  ? SL_WINDOW_HOP
                                                : SL_WINDOW_SESSION;
    next(p);
    next(p); /* ( */
    if (is_kw(p, "TABLE") && (tk_at(p, 1)->kind == SL_TOK_IDENT ||
                              tk_at(p, 1)->kind == SL_TOK_QIDENT)) {
        next(p); /* Flink's TABLE src */
    }
    sel->src = parse_name(p, "the source name", &sel->src_quoted, &sel->src_tok);
    expect(p, SL_TOK_COMMA, "',' and the time column");
    bool descriptor = false;
    if (is_kw(p, "DESCRIPTOR") && tk_at(p, 1)->kind == SL_TOK_LP) {
        next(p); /* Flink's DESCRIPTOR(ts) */
        next(p);
        descriptor = true;
    }
    int first = p->pos;
    struct sl__ast *tc = node(p, SL_AST_COL, p->pos, first);
    tc->s = parse_name(p, "the time column", &tc->quoted, &tc->tok);
    if (is_kind(p, SL_TOK_DOT)) {
        next(p);
        tc->qual = tc->s;
        tc->qual_quoted = tc->quoted;
        tc->s = parse_name(p, "a column name after '.'", &tc->quoted, &tc->tok);
    }
    tc->last = p->pos - 1;
    sel->timecol = tc;
    if (descriptor) {
        expect(p, SL_TOK_RP, "')' after DESCRIPTOR(column");
    }
    expect(p, SL_TOK_COMMA, "',' and the window size");
    switch (sel->window) {
    case SL_WINDOW_TUMBLE:
        sel->a = parse_interval(p, "the window size, as INTERVAL '10' SECOND");
        break;
    case SL_WINDOW_HOP:
        sel->a = parse_interval(p, "the slide, as INTERVAL '10' SECOND");
        expect(p, SL_TOK_COMMA, "',' and the window size (HOP(src, ts, slide, size))");
        sel->b = parse_interval(p, "the window size, as INTERVAL '1' MINUTE");
        break;
    default:
        sel->a = parse_interval(p, "the session gap, as INTERVAL '5' MINUTE");
        if (is_kind(p, SL_TOK_COMMA)) {
            next(p);
            sel->b = parse_interval(p, "the session's max_duration, as INTERVAL '1' HOUR");
        }
        break;
    }
    if (is_kind(p, SL_TOK_COMMA)) {
        fail_at(p, p->pos, "too many arguments: %s",
                sel->window == SL_WINDOW_TUMBLE ? "TUMBLE(source, time_column, size)"
                : sel->window == SL_WINDOW_HOP
                    ? "HOP(source, time_column, slide, size)"
                    : "SESSION(source, time_column, gap [, max_duration])");
    }
    expect(p, SL_TOK_RP, "')' after the window arguments");
}

static bool clause_start(struct parser *p)
{
    return is_kw(p, "WHERE") || is_kw(p, "GROUP") || is_kw(p, "HAVING") || is_kw(p, "EMIT") ||
           is_kw(p, "ALLOWED");
}

static struct sl__select *parse_select(struct parser *p)
{
    struct sl__select *sel = sl__arena_alloc(p->a, sizeof(*sel));
    int cap = 0;
    sel->select_tok = p->pos;
    if (!is_kw(p, "SELECT")) {
        expected(p, "SELECT");
    }
    next(p);
    for (;;) {
        struct sl__item it = {.tok = p->pos};
        if (sel->nitems >= SL__MAX_ITEMS) {
            fail_at(p, p->pos, "more than %d SELECT items", SL__MAX_ITEMS);
        }
        if (is_kind(p, SL_TOK_STAR)) {
            next(p);
        } else {
            it.e = parse_expr(p);
            if (is_kw(p, "AS")) {
                next(p);
                it.alias = parse_name(p, "a column name after AS", &it.alias_quoted,
                                      &it.alias_tok);
            } else if (is_kind(p, SL_TOK_QIDENT) ||
                       (is_kind(p, SL_TOK_IDENT) && !is_reserved(tk(p)->val))) {
                it.alias = parse_name(p, "a column name", &it.alias_quoted, &it.alias_tok);
            }
        }
        sel->items = grow(p, sel->items, sel->nitems, &cap, sizeof(*sel->items));
        sel->items[sel->nitems++] = it;
        if (!is_kind(p, SL_TOK_COMMA)) {
            break;
        }
        next(p);
    }
    if (!is_kw(p, "FROM")) {
        expected(p, "',' or FROM after the SELECT list");
    }
    next(p);
    sel->from_tok = p->pos;
    if ((is_kw(p, "TUMBLE") || is_kw(p, "HOP") || is_kw(p, "SESSION")) &&
        tk_at(p, 1)->kind == SL_TOK_LP) {
        parse_window(p, sel);
    } else if (is_kw(p, "TABLE") && tk_at(p, 1)->kind == SL_TOK_LP) {
        /* Flink's FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), size)) */
        next(p);
        next(p);
        if (!((is_kw(p, "TUMBLE") || is_kw(p, "HOP") || is_kw(p, "SESSION")) &&
              tk_at(p, 1)->kind == SL_TOK_LP)) {
            expected(p, "TUMBLE(…), HOP(…) or SESSION(…)");
        }
        sel->from_tok = p->pos;
        parse_window(p, sel);
        expect(p, SL_TOK_RP, "')'");
    } else {
        sel->window = SL_WINDOW_NONE;
        sel->src = parse_name(p, "a source name, or TUMBLE(…), HOP(…), SESSION(…)",
                              &sel->src_quoted, &sel->src_tok);
    }
    if (is_kw(p, "AS")) {
        int tok;
        next(p);
        sel->alias = parse_name(p, "a name after AS", &sel->alias_quoted, &tok);
    } else if (is_kind(p, SL_TOK_QIDENT) ||
               (is_kind(p, SL_TOK_IDENT) && !is_reserved(tk(p)->val))) {
        int tok;
        sel->alias = parse_name(p, "a name", &sel->alias_quoted, &tok);
    }
    if (is_kind(p, SL_TOK_COMMA) || is_kw(p, "JOIN")) {
        fail_at(p, p->pos, "a query reads one source: joins are not supported in v1");
    }
    if (is_kw(p, "WHERE")) {
        next(p);
        sel->where = parse_expr(p);
    }
    if (is_kw(p, "GROUP")) {
        sel->group_tok = p->pos;
        next(p);
        expect_kw(p, "BY");
        sel->ngroup = parse_list(p, &sel->group, "GROUP BY items");
    }
    if (is_kw(p, "HAVING")) {
        sel->having_tok = p->pos;
        next(p);
        sel->having = parse_expr(p);
    }
    for (;;) {
        if (is_kw(p, "EMIT") && sel->emit_tok == 0) {
            sel->emit_tok = p->pos;
            next(p);
            if (is_kw(p, "ON")) {
                next(p);
                expect_kw(p, "WINDOW");
                expect_kw(p, "CLOSE");
            } else if (is_kw(p, "EVERY")) {
                next(p);
                sel->emit_every = true;
                sel->every = parse_interval(p, "INTERVAL after EMIT EVERY");
            } else {
                expected(p, "ON WINDOW CLOSE or EVERY INTERVAL … after EMIT");
            }
        } else if (is_kw(p, "ALLOWED") && !sel->lateness.given) {
            next(p);
            expect_kw(p, "LATENESS");
            sel->lateness = parse_interval(p, "INTERVAL after ALLOWED LATENESS");
        } else {
            break;
        }
    }
    if (is_kw(p, "ORDER")) {
        fail_at(p, p->pos, "ORDER BY is not supported: window rows leave in window order, "
                           "per-event rows in source order");
    }
    if (is_kw(p, "LIMIT")) {
        fail_at(p, p->pos, "LIMIT is not supported on a stream");
    }
    if (is_kw(p, "UNION")) {
        fail_at(p, p->pos, "UNION is not supported: write one CREATE SINK per query");
    }
    if (!is_kind(p, SL_TOK_SEMI) && !is_kind(p, SL_TOK_EOF)) {
        if (clause_start(p)) {
            fail_at(p, p->pos, "%s is out of place: the order is WHERE, GROUP BY, HAVING, "
                               "EMIT, ALLOWED LATENESS (each once)",
                    tk(p)->val);
        }
        expected(p, "';' at the end of the statement");
    }
    return sel;
}

static void parse_statement(struct parser *p)
{
    struct sl__stmt *st = p->cur;
    st->create_tok = p->pos;
    if (!is_kw(p, "CREATE")) {
        if (is_kw(p, "SELECT")) {
            fail_at(p, p->pos, "a query needs somewhere to go: CREATE SINK name WITH "
                               "(connector = '…') AS SELECT …");
        }
        if (is_kw(p, "INSERT")) {
            fail_at(p, p->pos, "INSERT INTO is written CREATE SINK name WITH (connector = "
                               "'…') AS SELECT …");
        }
        expected(p, "CREATE SOURCE, CREATE SINK or CREATE VIEW");
    }
    next(p);
    if (is_kw(p, "SOURCE")) {
        st->kind = SL_STMT_SOURCE;
    } else if (is_kw(p, "SINK")) {
        st->kind = SL_STMT_SINK;
    } else if (is_kw(p, "VIEW")) {
        st->kind = SL_STMT_VIEW;
    } else if (is_kw(p, "TABLE")) {
        fail_at(p, p->pos, "Sluice writes CREATE SOURCE (input) and CREATE SINK (output), "
                           "not CREATE TABLE");
    } else {
        expected(p, "SOURCE, SINK or VIEW after CREATE");
    }
    next(p);
    if (is_kw(p, "IF") && kw_at(p, 1, "NOT")) {
        fail_at(p, p->pos, "IF NOT EXISTS is not supported: a load defines every name once");
    }
    st->name = parse_name(p, "a name", &st->quoted, &st->name_tok);
    switch (st->kind) {
    case SL_STMT_SOURCE:
        parse_source(p, st);
        if (!is_kind(p, SL_TOK_SEMI) && !is_kind(p, SL_TOK_EOF)) {
            expected(p, "';' at the end of the statement");
        }
        break;
    case SL_STMT_SINK:
        if (!is_kw(p, "WITH")) {
            expected(p, "WITH (connector = '…', …) after the sink's name");
        }
        parse_options(p, st);
        expect_kw(p, "AS");
        st->sel = parse_select(p);
        break;
    default:
        expect_kw(p, "AS");
        st->sel = parse_select(p);
        break;
    }
}

/* Parses one statement into p->cur; false after a syntax error (reported). The setjmp
 * lives here, with no local state to clobber. */
static bool parse_one(struct parser *p)
{
    if (setjmp(p->jb) != 0) {
        return false;
    }
    parse_statement(p);
    return true;
}

int sl__parse(struct sl__front *fr, struct sl__stmt **ret_stmts)
{
    struct parser p = {.fr = fr, .a = &fr->arena};
    struct sl__stmt *v = NULL;
    int n = 0, cap = 0;
    for (;;) {
        while (is_kind(&p, SL_TOK_SEMI)) {
            next(&p);
        }
        if (is_kind(&p, SL_TOK_EOF)) {
            break;
        }
        v = grow(&p, v, n, &cap, sizeof(*v));
        p.cur = &v[n];
        memset(p.cur, 0, sizeof(*p.cur));
        p.depth = 0;
        if (parse_one(&p)) {
            n++;
            continue;
        }
        if (p.cur->name != NULL) {
            p.cur->broken = true;
            n++;
        }
        while (!is_kind(&p, SL_TOK_SEMI) && !is_kind(&p, SL_TOK_EOF)) {
            next(&p);
        }
    }
    *ret_stmts = v;
    return n;
}
