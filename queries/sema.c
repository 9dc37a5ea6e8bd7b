/*
 * sema.c - name resolution, type checking and planning: statements to a catalog.
 *
 * Sources are built first (columns, paths, watermark, connector options), then each sink's
 * query is planned against them, so a source may be declared anywhere in the load. A query
 * is planned in this order: sink options (max_distinct feeds the aggregates), FROM and the
 * window, WHERE, GROUP BY, SELECT, HAVING, aggregate state layout, output columns,
 * sl_expr_prepare, then the connector's own check_sink.
 *
 * Expressions compile to typed trees (expr.h) with explicit CASTs where the operand contract
 * needs them. In a windowed query the SELECT list and HAVING are compiled over the input row
 * first, with placeholders for aggregates (slot AGG_BASE + i) and window columns (slot
 * WIN_BASE + SL_AGGROW_*); lift() then rewrites them over the aggregate row: a subtree equal
 * to a GROUP BY key becomes that key's slot, placeholders their final slots, and any input
 * column left over is an error (not grouped, not aggregated).
 *
 * Error policy: report, count, and keep going to find more errors; a subexpression that
 * failed returns NULL and its parents stay silent, so one mistake gives one message.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "front_int.h"

#define AGG_BASE      (1u << 30)
#define WIN_BASE      (1u << 29)
#define ONE_HOUR_MS   INT64_C(3600000)
#define MAX_WINDOW_MS (INT64_C(366) * 86400000) /* a year: keeps window arithmetic exact */

struct src_info {
    struct sl__stmt *st;
    struct sl_source *src; /* NULL if the statement was broken */
    bool *quoted;          /* per column: declared "quoted" */
};

struct ctx {
    struct sl__front *fr;
    struct sl_catalog *cat;
    struct src_info *srcs;
    int nsrcs;
    struct sl__stmt *stmts;
    int nstmts;
};

struct qctx {
    struct ctx *c;
    struct sl__stmt *st;
    struct sl__select *sel;
    struct src_info *si;
    struct sl_source *src;
    struct sl_plan *plan;
    int file;
    bool windowed;
    int errors;
    struct sl_plan_agg *aggs;
    int naggs, acap;
    struct sl_expr **keys;
    char **key_names;
    int nkeys, kcap;
};

enum { M_INPUT, M_AGGROW };

struct scope {
    int mode;
    const char *clause; /* for messages: "WHERE", "GROUP BY", … */
    bool select_list;   /* _id, _rev, is_final allowed */
    const char *in_agg; /* name of the enclosing aggregate, or NULL */
};

static const char *const pseudo_names[SL_PSEUDO_N] = {
    [SL_PSEUDO_TOPIC] = "_topic",
    [SL_PSEUDO_KEY] = "_key",
    [SL_PSEUDO_PARTITION] = "_partition",
    [SL_PSEUDO_OFFSET] = "_offset",
    [SL_PSEUDO_ARRIVAL] = "_arrival",
    [SL_PSEUDO_ID] = "_id",
    [SL_PSEUDO_REV] = "_rev",
    [SL_PSEUDO_IS_FINAL] = "is_final",
};

static const uint8_t pseudo_types[SL_PSEUDO_N] = {
    [SL_PSEUDO_TOPIC] = SL_TYPE_TEXT,        [SL_PSEUDO_KEY] = SL_TYPE_TEXT,
    [SL_PSEUDO_PARTITION] = SL_TYPE_BIGINT,  [SL_PSEUDO_OFFSET] = SL_TYPE_BIGINT,
    [SL_PSEUDO_ARRIVAL] = SL_TYPE_TIMESTAMP, [SL_PSEUDO_ID] = SL_TYPE_TEXT,
    [SL_PSEUDO_REV] = SL_TYPE_BIGINT,        [SL_PSEUDO_IS_FINAL] = SL_TYPE_BOOLEAN,
};

static const struct scalar {
    const char *name;
    uint16_t fn;
    int min, max;
} scalars[] = {
    {"ABS", SL_FN_ABS, 1, 1},
    {"ROUND", SL_FN_ROUND, 1, 2},
    {"FLOOR", SL_FN_FLOOR, 1, 1},
    {"CEIL", SL_FN_CEIL, 1, 1},
    {"SQRT", SL_FN_SQRT, 1, 1},
    {"LN", SL_FN_LN, 1, 1},
    {"EXP", SL_FN_EXP, 1, 1},
    {"POWER", SL_FN_POWER, 2, 2},
    {"LEAST", SL_FN_LEAST, 1, SL__MAX_LIST},
    {"GREATEST", SL_FN_GREATEST, 1, SL__MAX_LIST},
    {"COALESCE", SL_FN_COALESCE, 1, SL__MAX_LIST},
    {"NULLIF", SL_FN_NULLIF, 2, 2},
    {"LOWER", SL_FN_LOWER, 1, 1},
    {"UPPER", SL_FN_UPPER, 1, 1},
    {"LENGTH", SL_FN_LENGTH, 1, 1},
    {"SUBSTR", SL_FN_SUBSTR, 2, 3},
    {"TRIM", SL_FN_TRIM, 1, 1},
    {"CONCAT", SL_FN_CONCAT, 1, SL__MAX_LIST},
    {"SPLIT_PART", SL_FN_SPLIT_PART, 3, 3},
    {"REGEXP_MATCH", SL_FN_REGEXP_MATCH, 2, 2},
    {"TO_TIMESTAMP", SL_FN_TO_TIMESTAMP, 1, 1},
    {"FORMAT_TIMESTAMP", SL_FN_FORMAT_TIMESTAMP, 1, 1},
    {"DATE_TRUNC", SL_FN_DATE_TRUNC, 2, 2},
    {"NOW", SL_FN_NOW, 0, 0},
};

/* ---------------------------------------------------------------- small helpers */

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (p == NULL) {
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t sz)
{
    p = realloc(p, sz ? sz : 1);
    if (p == NULL) {
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL) {
        abort();
    }
    return d;
}

/* Names compare as PostgreSQL's do: unquoted names are case-insensitive, "quoted" exact. */
static bool name_eq(const char *a, bool aq, const char *b, bool bq)
{
    if (!aq && !bq) {
        return strcasecmp(a, b) == 0;
    }
    if (aq && bq) {
        return strcmp(a, b) == 0;
    }
    const char *u = aq ? b : a, *q = aq ? a : b;
    for (; *u != '\0' && *q != '\0'; u++, q++) {
        if (tolower((unsigned char)*u) != *q) {
            return false;
        }
    }
    return *u == *q;
}

static bool is_num(int t)
{
    return t == SL_TYPE_BIGINT || t == SL_TYPE_DOUBLE;
}

/* Text of an AST node for messages, shortened. */
struct tbuf {
    char s[100];
};

static struct tbuf atext(struct qctx *q, const struct sl__ast *a)
{
    struct tbuf b;
    char *t = sl__tok_text(q->c->fr, a->first, a->last);
    size_t n = strlen(t);
    if (n > 80) {
        size_t k = 77;
        while (k > 0 && ((unsigned char)t[k] & 0xC0) == 0x80) {
            k--; /* never cut a UTF-8 sequence */
        }
        snprintf(b.s, sizeof(b.s), "%.*s…", (int)k, t);
    } else {
        snprintf(b.s, sizeof(b.s), "%s", t);
    }
    free(t);
    return b;
}

static char *full_text(struct qctx *q, const struct sl__ast *a)
{
    return sl__tok_text(q->c->fr, a->first, a->last);
}

#define ERR_TOK(q, tok, ...)                                                                       \
    do {                                                                                           \
        (q)->errors++;                                                                             \
        sl__diag_tok((q)->c->fr, SL_DIAG_ERROR, (tok), __VA_ARGS__);                               \
    } while (0)

static struct sl_expr *node_at(struct qctx *q, enum sl_expr_op op, int type, int nargs,
                               const struct sl__ast *a)
{
    struct sl_expr *e = sl_expr_new(op, (enum sl_type)type, nargs);
    const struct sl__tok *t = &q->c->fr->toks[a->tok];
    e->line = t->line;
    e->col = t->col;
    return e;
}

static void free_args(struct sl_expr **v, int n)
{
    for (int i = 0; i < n; i++) {
        sl_expr_free(v[i]);
    }
}

/* Gives an expression of type NULL (the NULL literal, or CASE/COALESCE/… made only of NULL
 * results) a real type. */
static void set_null_type(struct sl_expr *e, int t)
{
    if (e->type != SL_TYPE_NULL) {
        return;
    }
    e->type = (uint8_t)t;
    if (e->op == SL_EXPR_CONST) {
        e->cval.type = (uint8_t)t;
        e->cval.null = 1;
        return;
    }
    for (int i = 0; i < e->nargs; i++) {
        if (e->op == SL_EXPR_CASE && i % 2 == 0 && !(e->has_else && i == e->nargs - 1)) {
            continue; /* a WHEN condition */
        }
        set_null_type(e->args[i], t);
    }
}

/* Converts e to type t (implicit: NULL to anything, BIGINT to DOUBLE, anything to TEXT for
 * ||). Constants are folded. */
static struct sl_expr *coerce(struct sl_expr *e, int t)
{
    if (e->type == t) {
        return e;
    }
    if (e->type == SL_TYPE_NULL) {
        set_null_type(e, t);
        return e;
    }
    if (e->op == SL_EXPR_CONST && e->type == SL_TYPE_BIGINT && t == SL_TYPE_DOUBLE) {
        e->cval = sl_value_double((double)e->cval.u.i);
        e->type = SL_TYPE_DOUBLE;
        return e;
    }
    struct sl_expr *c = sl_expr_new(SL_EXPR_CAST, (enum sl_type)t, 1);
    c->args[0] = e;
    c->line = e->line;
    c->col = e->col;
    return c;
}

/* The common type of a list (NULL-typed entries adopt it); -1 at the first misfit. */
static int unify(const int *types, int n, int *ret_bad)
{
    int t = SL_TYPE_NULL;
    for (int i = 0; i < n; i++) {
        if (types[i] == SL_TYPE_NULL) {
            continue;
        }
        if (t == SL_TYPE_NULL || t == types[i]) {
            t = types[i];
        } else if (is_num(t) && is_num(types[i])) {
            t = SL_TYPE_DOUBLE;
        } else {
            *ret_bad = i;
            return -1;
        }
    }
    return t;
}

static bool value_eq(const struct sl_value *a, const struct sl_value *b)
{
    if (a->type != b->type || a->null != b->null) {
        return false;
    }
    if (a->null) {
        return true;
    }
    switch (a->type) {
    case SL_TYPE_BOOLEAN:
        return a->u.b == b->u.b;
    case SL_TYPE_DOUBLE:
        return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
    case SL_TYPE_TEXT:
        return a->len == b->len && memcmp(a->u.s, b->u.s, a->len) == 0;
    default:
        return a->u.i == b->u.i;
    }
}

/* Structural equality of typed trees (texts and positions aside). */
static bool expr_equal(const struct sl_expr *a, const struct sl_expr *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (a->op != b->op || a->type != b->type || a->negated != b->negated ||
        a->has_else != b->has_else || a->fn != b->fn || a->nargs != b->nargs) {
        return false;
    }
    if (a->op == SL_EXPR_COL && a->slot != b->slot) {
        return false;
    }
    if (a->op == SL_EXPR_CONST && !value_eq(&a->cval, &b->cval)) {
        return false;
    }
    for (int i = 0; i < a->nargs; i++) {
        if (!expr_equal(a->args[i], b->args[i])) {
            return false;
        }
    }
    return true;
}

static struct sl_expr *expr_dup(const struct sl_expr *e)
{
    struct sl_expr *d = e->op == SL_EXPR_CONST
                            ? sl_expr_const(e->cval)
                            : sl_expr_new((enum sl_expr_op)e->op, (enum sl_type)e->type, e->nargs);
    d->type = e->type;
    d->negated = e->negated;
    d->has_else = e->has_else;
    d->fn = e->fn;
    d->slot = e->slot;
    d->line = e->line;
    d->col = e->col;
    d->text = e->text != NULL ? xstrdup(e->text) : NULL;
    for (int i = 0; i < e->nargs && e->op != SL_EXPR_CONST; i++) {
        d->args[i] = expr_dup(e->args[i]);
    }
    return d;
}

/* ---------------------------------------------------------------- columns */

static void unknown_column(struct qctx *q, const struct scope *sc, const struct sl__ast *a)
{
    const char *cands[SL__MAX_COLUMNS + SL_PSEUDO_N + 2];
    int n = 0;
    for (int i = 0; i < q->src->ncols; i++) {
        cands[n++] = q->src->cols[i].name;
    }
    for (int i = 0; i < SL_PSEUDO_N; i++) {
        cands[n++] = pseudo_names[i];
    }
    if (q->windowed) {
        cands[n++] = "window_start";
        cands[n++] = "window_end";
    }
    /* a SELECT alias used where only input columns are known */
    if (q->sel != NULL && sc->clause != NULL && strcmp(sc->clause, "SELECT") != 0) {
        for (int i = 0; i < q->sel->nitems; i++) {
            const struct sl__item *it = &q->sel->items[i];
            if (it->alias != NULL && name_eq(it->alias, it->alias_quoted, a->s, a->quoted)) {
                struct tbuf t = atext(q, it->e);
                ERR_TOK(q, a->tok,
                        "'%s' is an alias from the SELECT list, which %s cannot use; write "
                        "the expression itself: %s",
                        a->s, sc->clause, t.s);
                return;
            }
        }
    }
    const char *near = sl__suggest(a->s, cands, n);
    if (near != NULL) {
        ERR_TOK(q, a->tok, "unknown column '%s' in source %s; did you mean '%s'?", a->s,
                q->src->name, near);
    } else {
        ERR_TOK(q, a->tok, "unknown column '%s' in source %s", a->s, q->src->name);
    }
}

static struct sl_expr *compile_col(struct qctx *q, const struct scope *sc, const struct sl__ast *a)
{
    if (a->qual != NULL) {
        bool ok = name_eq(q->src->name, q->si->st->quoted, a->qual, a->qual_quoted) ||
                  (q->sel->alias != NULL &&
                   name_eq(q->sel->alias, q->sel->alias_quoted, a->qual, a->qual_quoted));
        if (!ok) {
            ERR_TOK(q, a->first, "unknown name '%s' before '.': the query reads source %s", a->qual,
                    q->src->name);
            return NULL;
        }
    }
    for (int i = 0; i < q->src->ncols; i++) {
        struct sl_column *col = &q->src->cols[i];
        if (name_eq(col->name, q->si->quoted[i], a->s, a->quoted)) {
            struct sl_expr *e = node_at(q, SL_EXPR_COL, col->type, 0, a);
            e->slot = (uint32_t)i;
            e->text = xstrdup(col->name);
            col->used = true;
            return e;
        }
    }
    for (int p = 0; p < SL_PSEUDO_N; p++) {
        if (!name_eq(pseudo_names[p], false, a->s, a->quoted)) {
            continue;
        }
        if (p == SL_PSEUDO_ID || p == SL_PSEUDO_REV || p == SL_PSEUDO_IS_FINAL) {
            if (!sc->select_list) {
                ERR_TOK(q, a->tok,
                        "%s is only known when a row is emitted: use it in the SELECT list "
                        "only, not in %s",
                        pseudo_names[p], sc->clause);
                return NULL;
            }
        }
        struct sl_expr *e = node_at(q, SL_EXPR_COL, pseudo_types[p], 0, a);
        e->text = xstrdup(pseudo_names[p]);
        if (sc->mode == M_AGGROW &&
            (p == SL_PSEUDO_ID || p == SL_PSEUDO_REV || p == SL_PSEUDO_IS_FINAL)) {
            e->slot = WIN_BASE + (uint32_t)(SL_AGGROW_ID + (p - SL_PSEUDO_ID));
        } else {
            e->slot = (uint32_t)sl_pseudo_slot(q->src, p);
        }
        if (p == SL_PSEUDO_ARRIVAL) {
            q->plan->uses_arrival = true;
        }
        if (p == SL_PSEUDO_ID) {
            q->plan->uses_id = true;
        }
        return e;
    }
    bool ws = name_eq("window_start", false, a->s, a->quoted);
    bool we = name_eq("window_end", false, a->s, a->quoted);
    if (ws || we) {
        const char *nm = ws ? "window_start" : "window_end";
        if (!q->windowed) {
            ERR_TOK(q, a->tok, "%s needs a window: read FROM TUMBLE(…), HOP(…) or SESSION(…)", nm);
            return NULL;
        }
        if (sc->mode != M_AGGROW) {
            ERR_TOK(q, a->tok,
                    "%s is known only once the window closes: use it in the SELECT list or "
                    "HAVING, not in %s",
                    nm, sc->clause);
            return NULL;
        }
        struct sl_expr *e = node_at(q, SL_EXPR_COL, SL_TYPE_TIMESTAMP, 0, a);
        e->slot = WIN_BASE + (uint32_t)(ws ? SL_AGGROW_WINDOW_START : SL_AGGROW_WINDOW_END);
        e->text = xstrdup(nm);
        return e;
    }
    unknown_column(q, sc, a);
    return NULL;
}

/* ---------------------------------------------------------------- operators */

static struct sl_expr *compile(struct qctx *q, const struct scope *sc, struct sl__ast *a);

static const char *op_symbol(int op)
{
    switch (op) {
    case SL_EXPR_ADD:
        return "+";
    case SL_EXPR_SUB:
        return "-";
    case SL_EXPR_MUL:
        return "*";
    case SL_EXPR_DIV:
        return "/";
    case SL_EXPR_MOD:
        return "%";
    case SL_EXPR_CONCAT:
        return "||";
    case SL_EXPR_EQ:
        return "=";
    case SL_EXPR_NE:
        return "<>";
    case SL_EXPR_LT:
        return "<";
    case SL_EXPR_LE:
        return "<=";
    case SL_EXPR_GT:
        return ">";
    case SL_EXPR_GE:
        return ">=";
    case SL_EXPR_AND:
        return "AND";
    case SL_EXPR_OR:
        return "OR";
    default:
        return "?";
    }
}

/* Explains why two operand types do not go together, with the fix where there is one. */
static void mismatch(struct qctx *q, const struct sl__ast *whole, bool compare,
                     const struct sl__ast *la, int lt, const struct sl__ast *ra, int rt)
{
    struct tbuf w = atext(q, whole);
    if ((lt == SL_TYPE_TEXT && is_num(rt)) || (rt == SL_TYPE_TEXT && is_num(lt))) {
        const struct sl__ast *ta = lt == SL_TYPE_TEXT ? la : ra;
        int nt = lt == SL_TYPE_TEXT ? rt : lt;
        struct tbuf t = atext(q, ta);
        ERR_TOK(q, whole->tok, "TEXT %s a number: %s; use CAST(%s AS %s)",
                compare ? "compared with" : "used in arithmetic with", w.s, t.s,
                sl_type_name((enum sl_type)nt));
        return;
    }
    if ((lt == SL_TYPE_TIMESTAMP && (rt == SL_TYPE_TEXT || is_num(rt))) ||
        (rt == SL_TYPE_TIMESTAMP && (lt == SL_TYPE_TEXT || is_num(lt)))) {
        const struct sl__ast *oa = lt == SL_TYPE_TIMESTAMP ? ra : la;
        int ot = lt == SL_TYPE_TIMESTAMP ? rt : lt;
        struct tbuf t = atext(q, oa);
        if (compare) {
            ERR_TOK(q, whole->tok, "TIMESTAMP compared with %s: %s; use TO_TIMESTAMP(%s)",
                    ot == SL_TYPE_TEXT ? "TEXT" : "a number", w.s, t.s);
        } else {
            ERR_TOK(q, whole->tok,
                    "cannot do TIMESTAMP arithmetic with %s: %s; add or subtract an INTERVAL, "
                    "like ts + INTERVAL '5' SECOND",
                    sl_type_name((enum sl_type)ot), w.s);
        }
        return;
    }
    ERR_TOK(q, whole->tok, "%s %s %s: %s", sl_type_name((enum sl_type)lt),
            compare ? "compared with" : "and", sl_type_name((enum sl_type)rt), w.s);
}

static struct sl_expr *compile_binary(struct qctx *q, const struct scope *sc, struct sl__ast *a)
{
    struct sl_expr *l = compile(q, sc, a->args[0]);
    struct sl_expr *r = compile(q, sc, a->args[1]);
    struct sl_expr *e = NULL;
    if (l == NULL || r == NULL) {
        goto fail;
    }
    int op = a->op, lt = l->type, rt = r->type;
    switch (op) {
    case SL_EXPR_AND:
    case SL_EXPR_OR:
        if ((lt != SL_TYPE_BOOLEAN && lt != SL_TYPE_NULL) ||
            (rt != SL_TYPE_BOOLEAN && rt != SL_TYPE_NULL)) {
            const struct sl__ast *bad =
                (lt != SL_TYPE_BOOLEAN && lt != SL_TYPE_NULL) ? a->args[0] : a->args[1];
            struct tbuf t = atext(q, bad);
            ERR_TOK(q, a->tok, "%s needs BOOLEAN operands, but %s is %s", op_symbol(op), t.s,
                    sl_type_name((enum sl_type)(bad == a->args[0] ? lt : rt)));
            goto fail;
        }
        l = coerce(l, SL_TYPE_BOOLEAN);
        r = coerce(r, SL_TYPE_BOOLEAN);
        e = node_at(q, (enum sl_expr_op)op, SL_TYPE_BOOLEAN, 2, a);
        break;
    case SL_EXPR_CONCAT:
        if (lt == SL_TYPE_INTERVAL || rt == SL_TYPE_INTERVAL) {
            struct tbuf w = atext(q, a);
            ERR_TOK(q, a->tok, "an INTERVAL cannot be joined with ||: %s", w.s);
            goto fail;
        }
        l = coerce(l, SL_TYPE_TEXT);
        r = coerce(r, SL_TYPE_TEXT);
        e = node_at(q, SL_EXPR_CONCAT, SL_TYPE_TEXT, 2, a);
        break;
    case SL_EXPR_EQ:
    case SL_EXPR_NE:
    case SL_EXPR_LT:
    case SL_EXPR_LE:
    case SL_EXPR_GT:
    case SL_EXPR_GE: {
        int types[2] = {lt, rt}, bad;
        int t = unify(types, 2, &bad);
        if (t < 0) {
            mismatch(q, a, true, a->args[0], lt, a->args[1], rt);
            goto fail;
        }
        if (t == SL_TYPE_NULL) {
            t = SL_TYPE_TEXT;
        }
        l = coerce(l, t);
        r = coerce(r, t);
        e = node_at(q, (enum sl_expr_op)op, SL_TYPE_BOOLEAN, 2, a);
        break;
    }
    default: { /* + - * / % */
        int t;
        if (lt == SL_TYPE_NULL && rt == SL_TYPE_NULL) {
            lt = rt = SL_TYPE_BIGINT;
        } else if (lt == SL_TYPE_NULL) {
            lt = (rt == SL_TYPE_TIMESTAMP) ? (op == SL_EXPR_ADD ? SL_TYPE_INTERVAL : -1) : rt;
        } else if (rt == SL_TYPE_NULL) {
            rt = (lt == SL_TYPE_TIMESTAMP) ? SL_TYPE_INTERVAL : lt;
        }
        if (lt < 0) {
            struct tbuf w = atext(q, a);
            ERR_TOK(q, a->tok, "cannot subtract a TIMESTAMP from NULL: %s", w.s);
            goto fail;
        }
        l = coerce(l, lt);
        r = coerce(r, rt);
        if (is_num(lt) && is_num(rt)) {
            t = (lt == SL_TYPE_DOUBLE || rt == SL_TYPE_DOUBLE) ? SL_TYPE_DOUBLE : SL_TYPE_BIGINT;
            l = coerce(l, t);
            r = coerce(r, t);
        } else if (op == SL_EXPR_ADD && lt == SL_TYPE_TIMESTAMP && rt == SL_TYPE_INTERVAL) {
            t = SL_TYPE_TIMESTAMP;
        } else if (op == SL_EXPR_ADD && lt == SL_TYPE_INTERVAL && rt == SL_TYPE_TIMESTAMP) {
            struct sl_expr *tmp = l; /* normalised to TIMESTAMP + INTERVAL (expr.h) */
            l = r;
            r = tmp;
            t = SL_TYPE_TIMESTAMP;
        } else if (op == SL_EXPR_SUB && lt == SL_TYPE_TIMESTAMP && rt == SL_TYPE_INTERVAL) {
            t = SL_TYPE_TIMESTAMP;
        } else if (op == SL_EXPR_SUB && lt == SL_TYPE_TIMESTAMP && rt == SL_TYPE_TIMESTAMP) {
            t = SL_TYPE_INTERVAL;
        } else if ((op == SL_EXPR_ADD || op == SL_EXPR_SUB) && lt == SL_TYPE_INTERVAL &&
                   rt == SL_TYPE_INTERVAL) {
            t = SL_TYPE_INTERVAL;
        } else if (lt == SL_TYPE_TEXT && rt == SL_TYPE_TEXT && op == SL_EXPR_ADD) {
            struct tbuf w = atext(q, a), x = atext(q, a->args[0]), y = atext(q, a->args[1]);
            ERR_TOK(q, a->tok, "cannot add TEXT values: %s; join strings with ||: %s || %s", w.s,
                    x.s, y.s);
            goto fail;
        } else {
            mismatch(q, a, false, a->args[0], lt, a->args[1], rt);
            goto fail;
        }
        e = node_at(q, (enum sl_expr_op)op, t, 2, a);
        break;
    }
    }
    e->args[0] = l;
    e->args[1] = r;
    return e;
fail:
    sl_expr_free(l);
    sl_expr_free(r);
    return NULL;
}

/* Compiles all args of a and brings them to one type; NULL on error. */
static struct sl_expr **compile_unified(struct qctx *q, const struct scope *sc,
                                        struct sl__ast *whole, struct sl__ast **args, int n,
                                        bool compare, int *ret_type)
{
    struct sl_expr **v = xcalloc((size_t)n, sizeof(*v));
    int *types = xcalloc((size_t)n, sizeof(int));
    bool ok = true;
    for (int i = 0; i < n; i++) {
        v[i] = compile(q, sc, args[i]);
        if (v[i] == NULL) {
            ok = false;
        } else {
            types[i] = v[i]->type;
        }
    }
    if (!ok) {
        goto fail;
    }
    int bad = 0;
    int t = unify(types, n, &bad);
    if (t < 0) {
        int first = 0;
        while (types[first] == SL_TYPE_NULL) {
            first++;
        }
        mismatch(q, whole, compare, args[first], types[first], args[bad], types[bad]);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        if (t != SL_TYPE_NULL) {
            v[i] = coerce(v[i], t);
        }
    }
    free(types);
    *ret_type = t;
    return v;
fail:
    free_args(v, n);
    free(v);
    free(types);
    return NULL;
}

static struct sl_expr *compile_case(struct qctx *q, const struct scope *sc, struct sl__ast *a)
{
    int k = a->has_operand ? 1 : 0;
    int npairs = (a->nargs - k - (a->has_else ? 1 : 0)) / 2;
    int nres = npairs + (a->has_else ? 1 : 0);
    struct sl_expr *operand = NULL;
    struct sl_expr **whens = xcalloc((size_t)npairs, sizeof(*whens));
    struct sl__ast **res_ast = xcalloc((size_t)nres, sizeof(*res_ast));
    struct sl_expr **res = NULL;
    struct sl_expr *e = NULL;
    bool ok = true;
    int t;
    if (a->has_operand) {
        operand = compile(q, sc, a->args[0]);
        ok = operand != NULL;
    }
    for (int i = 0; i < npairs; i++) {
        struct sl__ast *w = a->args[k + 2 * i];
        res_ast[i] = a->args[k + 2 * i + 1];
        struct sl_expr *we = compile(q, sc, w);
        if (we == NULL) {
            ok = false;
            continue;
        }
        if (a->has_operand) {
            if (operand == NULL) {
                sl_expr_free(we);
                continue;
            }
            int types[2] = {operand->type, we->type}, bad;
            int ct = unify(types, 2, &bad);
            if (ct < 0) {
                mismatch(q, w, true, a->args[0], operand->type, w, we->type);
                sl_expr_free(we);
                ok = false;
                continue;
            }
            if (ct == SL_TYPE_NULL) {
                ct = SL_TYPE_TEXT;
            }
            struct sl_expr *eq = node_at(q, SL_EXPR_EQ, SL_TYPE_BOOLEAN, 2, w);
            eq->args[0] = coerce(expr_dup(operand), ct);
            eq->args[1] = coerce(we, ct);
            we = eq;
        } else if (we->type != SL_TYPE_BOOLEAN && we->type != SL_TYPE_NULL) {
            struct tbuf tb = atext(q, w);
            ERR_TOK(q, w->first, "CASE WHEN needs a BOOLEAN condition, but %s is %s", tb.s,
                    sl_type_name((enum sl_type)we->type));
            sl_expr_free(we);
            ok = false;
            continue;
        }
        whens[i] = coerce(we, SL_TYPE_BOOLEAN);
    }
    if (a->has_else) {
        res_ast[npairs] = a->args[a->nargs - 1];
    }
    res = compile_unified(q, sc, a, res_ast, nres, false, &t);
    if (res == NULL || !ok) {
        goto out;
    }
    e = node_at(q, SL_EXPR_CASE, t, 2 * npairs + (a->has_else ? 1 : 0), a);
    e->has_else = a->has_else;
    for (int i = 0; i < npairs; i++) {
        e->args[2 * i] = whens[i];
        e->args[2 * i + 1] = res[i];
        whens[i] = NULL;
        res[i] = NULL;
    }
    if (a->has_else) {
        e->args[2 * npairs] = res[npairs];
        res[npairs] = NULL;
    }
out:
    sl_expr_free(operand);
    free_args(whens, npairs);
    free(whens);
    if (res != NULL) {
        free_args(res, nres);
        free(res);
    }
    free(res_ast);
    return e;
}

/* Explicit CASTs: NULL to anything; TEXT to and from the other column types; numbers among
 * themselves; BOOLEAN and BIGINT (0/1); TIMESTAMP and BIGINT (epoch milliseconds, the
 * number results carry); INTERVAL to BIGINT (milliseconds). */
static bool cast_ok(int from, int to)
{
    if (from == to || from == SL_TYPE_NULL) {
        return true;
    }
    if (from == SL_TYPE_INTERVAL) {
        return to == SL_TYPE_BIGINT;
    }
    if (to == SL_TYPE_TEXT || from == SL_TYPE_TEXT) {
        return true;
    }
    if (is_num(from) && is_num(to)) {
        return true;
    }
    return (from == SL_TYPE_BOOLEAN && to == SL_TYPE_BIGINT) ||
           (from == SL_TYPE_BIGINT && to == SL_TYPE_BOOLEAN) ||
           (from == SL_TYPE_TIMESTAMP && to == SL_TYPE_BIGINT) ||
           (from == SL_TYPE_BIGINT && to == SL_TYPE_TIMESTAMP);
}

/* ---------------------------------------------------------------- functions */

static const struct scalar *find_scalar(const char *name)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(scalars); i++) {
        if (strcasecmp(scalars[i].name, name) == 0) {
            return &scalars[i];
        }
    }
    return NULL;
}

/* Requires v's type to be one of the mask's; offers the CAST that fixes it. */
static bool want_type(struct qctx *q, const struct sl__ast *call, const struct sl__ast *arg,
                      struct sl_expr *v, unsigned mask, const char *what)
{
    if (v->type == SL_TYPE_NULL || (mask & (1u << v->type))) {
        return true;
    }
    struct tbuf t = atext(q, arg);
    const char *fix = (mask & (1u << SL_TYPE_TEXT))     ? "TEXT"
                      : (mask & (1u << SL_TYPE_DOUBLE)) ? "DOUBLE"
                      : (mask & (1u << SL_TYPE_BIGINT)) ? "BIGINT"
                                                        : NULL;
    if (fix != NULL && cast_ok(v->type, fix[0] == 'T'   ? SL_TYPE_TEXT
                                        : fix[0] == 'D' ? SL_TYPE_DOUBLE
                                                        : SL_TYPE_BIGINT)) {
        ERR_TOK(q, arg->first, "%s needs %s, but %s is %s; use CAST(%s AS %s)", call->s, what, t.s,
                sl_type_name((enum sl_type)v->type), t.s, fix);
    } else {
        ERR_TOK(q, arg->first, "%s needs %s, but %s is %s", call->s, what, t.s,
                sl_type_name((enum sl_type)v->type));
    }
    return false;
}

#define T(x) (1u << SL_TYPE_##x)

static struct sl_expr *compile_scalar(struct qctx *q, const struct scope *sc, struct sl__ast *a,
                                      const struct scalar *f)
{
    if (a->star || a->distinct || a->filter != NULL) {
        ERR_TOK(q, a->tok, "%s is not an aggregate: %s", f->name,
                a->star       ? "'*' is only for COUNT(*)"
                : a->distinct ? "DISTINCT is only for COUNT(DISTINCT x)"
                              : "FILTER (WHERE …) applies to aggregates only");
        return NULL;
    }
    if (a->nargs < f->min || a->nargs > f->max) {
        if (f->min == f->max) {
            ERR_TOK(q, a->tok, "%s takes %d argument%s, got %d", f->name, f->min,
                    f->min == 1 ? "" : "s", a->nargs);
        } else if (f->max >= SL__MAX_LIST) {
            ERR_TOK(q, a->tok, "%s takes at least %d argument%s", f->name, f->min,
                    f->min == 1 ? "" : "s");
        } else {
            ERR_TOK(q, a->tok, "%s takes %d to %d arguments, got %d", f->name, f->min, f->max,
                    a->nargs);
        }
        return NULL;
    }
    int n = a->nargs, t = SL_TYPE_NULL;
    struct sl_expr **v = NULL;
    struct sl_expr *e = NULL;
    bool ok = true;
    switch (f->fn) {
    case SL_FN_LEAST:
    case SL_FN_GREATEST:
    case SL_FN_COALESCE:
    case SL_FN_NULLIF:
        v = compile_unified(q, sc, a, a->args, n, true, &t);
        if (v == NULL) {
            return NULL;
        }
        if (t == SL_TYPE_INTERVAL) {
            /* fine: INTERVALs compare */
        }
        goto build;
    default:
        break;
    }
    v = xcalloc((size_t)n, sizeof(*v));
    for (int i = 0; i < n; i++) {
        v[i] = compile(q, sc, a->args[i]);
        ok = ok && v[i] != NULL;
    }
    if (!ok) {
        goto fail;
    }
    switch (f->fn) {
    case SL_FN_ABS:
    case SL_FN_FLOOR:
    case SL_FN_CEIL:
    case SL_FN_ROUND:
        if (!want_type(q, a, a->args[0], v[0], T(BIGINT) | T(DOUBLE), "a number")) {
            goto fail;
        }
        t = v[0]->type == SL_TYPE_NULL ? SL_TYPE_DOUBLE : v[0]->type;
        v[0] = coerce(v[0], t);
        if (n == 2) {
            if (!want_type(q, a, a->args[1], v[1], T(BIGINT), "a BIGINT number of digits")) {
                goto fail;
            }
            v[1] = coerce(v[1], SL_TYPE_BIGINT);
        }
        break;
    case SL_FN_SQRT:
    case SL_FN_LN:
    case SL_FN_EXP:
    case SL_FN_POWER:
        for (int i = 0; i < n; i++) {
            if (!want_type(q, a, a->args[i], v[i], T(BIGINT) | T(DOUBLE), "a number")) {
                goto fail;
            }
            v[i] = coerce(v[i], SL_TYPE_DOUBLE);
        }
        t = SL_TYPE_DOUBLE;
        break;
    case SL_FN_LOWER:
    case SL_FN_UPPER:
    case SL_FN_TRIM:
    case SL_FN_LENGTH:
        if (!want_type(q, a, a->args[0], v[0], T(TEXT), "TEXT")) {
            goto fail;
        }
        v[0] = coerce(v[0], SL_TYPE_TEXT);
        t = f->fn == SL_FN_LENGTH ? SL_TYPE_BIGINT : SL_TYPE_TEXT;
        break;
    case SL_FN_SUBSTR:
        if (!want_type(q, a, a->args[0], v[0], T(TEXT), "TEXT")) {
            goto fail;
        }
        v[0] = coerce(v[0], SL_TYPE_TEXT);
        for (int i = 1; i < n; i++) {
            if (!want_type(q, a, a->args[i], v[i], T(BIGINT), "BIGINT positions")) {
                goto fail;
            }
            v[i] = coerce(v[i], SL_TYPE_BIGINT);
        }
        t = SL_TYPE_TEXT;
        break;
    case SL_FN_CONCAT:
        for (int i = 0; i < n; i++) {
            if (v[i]->type == SL_TYPE_INTERVAL) {
                want_type(q, a, a->args[i], v[i],
                          T(TEXT) | T(BIGINT) | T(DOUBLE) | T(BOOLEAN) | T(TIMESTAMP),
                          "values that are not INTERVALs");
                goto fail;
            }
            v[i] = coerce(v[i], SL_TYPE_TEXT);
        }
        t = SL_TYPE_TEXT;
        break;
    case SL_FN_SPLIT_PART:
        if (!want_type(q, a, a->args[0], v[0], T(TEXT), "TEXT") ||
            !want_type(q, a, a->args[1], v[1], T(TEXT), "a TEXT delimiter") ||
            !want_type(q, a, a->args[2], v[2], T(BIGINT), "a BIGINT field number")) {
            goto fail;
        }
        v[0] = coerce(v[0], SL_TYPE_TEXT);
        v[1] = coerce(v[1], SL_TYPE_TEXT);
        v[2] = coerce(v[2], SL_TYPE_BIGINT);
        t = SL_TYPE_TEXT;
        break;
    case SL_FN_REGEXP_MATCH:
        if (!want_type(q, a, a->args[0], v[0], T(TEXT), "TEXT")) {
            goto fail;
        }
        if (v[1]->op != SL_EXPR_CONST || v[1]->type != SL_TYPE_TEXT) {
            struct tbuf tb = atext(q, a->args[1]);
            ERR_TOK(q, a->args[1]->first,
                    "REGEXP_MATCH needs a constant 'pattern' (compiled at load), but got %s", tb.s);
            goto fail;
        }
        v[0] = coerce(v[0], SL_TYPE_TEXT);
        t = SL_TYPE_BOOLEAN;
        break;
    case SL_FN_TO_TIMESTAMP:
        if (!want_type(q, a, a->args[0], v[0], T(BIGINT) | T(DOUBLE) | T(TEXT),
                       "an epoch number or RFC 3339 TEXT")) {
            goto fail;
        }
        v[0] = coerce(v[0], v[0]->type == SL_TYPE_NULL ? SL_TYPE_BIGINT : v[0]->type);
        t = SL_TYPE_TIMESTAMP;
        break;
    case SL_FN_FORMAT_TIMESTAMP:
        if (!want_type(q, a, a->args[0], v[0], T(TIMESTAMP), "a TIMESTAMP")) {
            goto fail;
        }
        v[0] = coerce(v[0], SL_TYPE_TIMESTAMP);
        t = SL_TYPE_TEXT;
        break;
    case SL_FN_DATE_TRUNC:
        if (v[0]->op != SL_EXPR_CONST || v[0]->type != SL_TYPE_TEXT) {
            ERR_TOK(q, a->args[0]->first,
                    "DATE_TRUNC needs a constant unit first, like DATE_TRUNC('hour', ts)");
            goto fail;
        }
        if (!want_type(q, a, a->args[1], v[1], T(TIMESTAMP), "a TIMESTAMP")) {
            goto fail;
        }
        v[1] = coerce(v[1], SL_TYPE_TIMESTAMP);
        t = SL_TYPE_TIMESTAMP;
        break;
    case SL_FN_NOW:
        q->plan->uses_now = true;
        t = SL_TYPE_TIMESTAMP;
        break;
    default:
        break;
    }
build:
    e = node_at(q, SL_EXPR_CALL, t, n, a);
    e->fn = f->fn;
    for (int i = 0; i < n; i++) {
        e->args[i] = v[i];
    }
    free(v);
    return e;
fail:
    free_args(v, n);
    free(v);
    return NULL;
}

static void agg_names(const char **cands, int *n)
{
    for (int i = 0; sl_agg_registry[i] != NULL && *n < 256; i++) {
        cands[(*n)++] = sl_agg_registry[i]->name;
    }
}

static struct sl_expr *compile_agg(struct qctx *q, const struct scope *sc, struct sl__ast *a,
                                   const struct sl_agg_ops *ops)
{
    const char *name = ops->name;
    if (sc->in_agg != NULL) {
        ERR_TOK(q, a->tok, "aggregates cannot be nested: %s inside %s", a->s, sc->in_agg);
        return NULL;
    }
    if (sc->mode != M_AGGROW) {
        if (!q->windowed && strcmp(sc->clause, "SELECT") == 0) {
            ERR_TOK(q, a->tok,
                    "aggregate %s needs a window: read FROM TUMBLE(source, time, size), HOP(…) "
                    "or SESSION(…)",
                    a->s);
        } else if (strcmp(sc->clause, "WHERE") == 0) {
            ERR_TOK(q, a->tok, "aggregates are not allowed in WHERE; filter groups with HAVING");
        } else {
            ERR_TOK(q, a->tok, "aggregates are not allowed in %s", sc->clause);
        }
        return NULL;
    }
    if (a->star && strcmp(name, "COUNT") != 0) {
        ERR_TOK(q, a->tok, "'*' is only for COUNT(*); %s needs a column or expression", a->s);
        return NULL;
    }
    if (!a->star && a->nargs == 0) {
        ERR_TOK(q, a->tok, "%s needs an argument%s", a->s,
                strcmp(name, "COUNT") == 0 ? ", or * as in COUNT(*)" : "");
        return NULL;
    }
    if (!a->star && (a->nargs < ops->min_args || a->nargs > ops->max_args)) {
        if (ops->min_args == ops->max_args) {
            ERR_TOK(q, a->tok, "%s takes %d argument%s, got %d", a->s, ops->min_args,
                    ops->min_args == 1 ? "" : "s", a->nargs);
        } else {
            ERR_TOK(q, a->tok, "%s takes %d to %d arguments, got %d", a->s, ops->min_args,
                    ops->max_args, a->nargs);
        }
        return NULL;
    }
    if (a->nargs > 3) {
        ERR_TOK(q, a->tok, "%s takes at most 2 constant parameters", a->s);
        return NULL;
    }
    struct scope in = {.mode = M_INPUT, .clause = "an aggregate's argument", .in_agg = a->s};
    struct scope fin = {.mode = M_INPUT, .clause = "FILTER (WHERE …)", .in_agg = a->s};
    struct sl_plan_agg ag = {.ops = ops};
    bool ok = true;
    ag.sig.star = a->star;
    ag.sig.arg_type = SL_TYPE_NULL;
    ag.sig.max_distinct = q->plan->max_distinct;
    if (!a->star) {
        ag.arg = compile(q, &in, a->args[0]);
        if (ag.arg == NULL) {
            ok = false;
        } else {
            if (ag.arg->type == SL_TYPE_NULL) {
                set_null_type(ag.arg, SL_TYPE_TEXT);
            }
            free(ag.arg->text);
            ag.arg->text = full_text(q, a->args[0]);
            ag.sig.arg_type = (enum sl_type)ag.arg->type;
        }
        for (int i = 1; i < a->nargs; i++) {
            struct scope pin = {
                .mode = M_INPUT, .clause = "an aggregate's parameter", .in_agg = a->s};
            struct sl_expr *pv = compile(q, &pin, a->args[i]);
            if (pv == NULL) {
                ok = false;
                continue;
            }
            if (pv->op == SL_EXPR_NEG && pv->args[0]->op == SL_EXPR_CONST) {
                struct sl_expr *c = pv->args[0];
                if (c->type == SL_TYPE_DOUBLE) {
                    c->cval.u.d = -c->cval.u.d;
                } else if (c->cval.u.i != INT64_MIN) {
                    c->cval.u.i = -c->cval.u.i;
                }
                pv->args[0] = NULL;
                pv->nargs = 0;
                sl_expr_free(pv);
                pv = c;
            }
            if (pv->op != SL_EXPR_CONST || pv->type == SL_TYPE_TEXT) {
                struct tbuf tb = atext(q, a->args[i]);
                ERR_TOK(q, a->args[i]->first, "%s needs a constant number as argument %d, got %s",
                        a->s, i + 1, tb.s);
                sl_expr_free(pv);
                ok = false;
                continue;
            }
            ag.sig.params[ag.sig.nparams++] = pv->cval;
            sl_expr_free(pv);
        }
    }
    if (a->filter != NULL) {
        ag.filter = compile(q, &fin, a->filter);
        if (ag.filter == NULL) {
            ok = false;
        } else if (ag.filter->type != SL_TYPE_BOOLEAN && ag.filter->type != SL_TYPE_NULL) {
            struct tbuf tb = atext(q, a->filter);
            ERR_TOK(q, a->filter->first, "FILTER needs a BOOLEAN condition, but %s is %s", tb.s,
                    sl_type_name((enum sl_type)ag.filter->type));
            ok = false;
        } else {
            set_null_type(ag.filter, SL_TYPE_BOOLEAN);
            free(ag.filter->text);
            ag.filter->text = full_text(q, a->filter);
        }
    }
    if (ok) {
        struct sl_err err = {{0}};
        if (ops->check(&ag.sig, &err) < 0) {
            ERR_TOK(q, a->tok, "%s", err.msg[0] ? err.msg : "aggregate refuses its arguments");
            ok = false;
        } else if (ag.sig.result == SL_TYPE_NULL || ag.sig.result > SL_TYPE_TIMESTAMP) {
            ERR_TOK(q, a->tok, "%s: the aggregate gave no result type", a->s);
            ok = false;
        }
    }
    if (!ok) {
        sl_expr_free(ag.arg);
        sl_expr_free(ag.filter);
        return NULL;
    }
    /* identical calls are one aggregate */
    int idx = -1;
    for (int i = 0; i < q->naggs && idx < 0; i++) {
        struct sl_plan_agg *o = &q->aggs[i];
        if (o->ops == ops && o->sig.star == ag.sig.star && o->sig.nparams == ag.sig.nparams &&
            expr_equal(o->arg, ag.arg) && expr_equal(o->filter, ag.filter)) {
            bool same = true;
            for (int k = 0; k < ag.sig.nparams; k++) {
                same = same && value_eq(&o->sig.params[k], &ag.sig.params[k]);
            }
            if (same) {
                idx = i;
            }
        }
    }
    if (idx >= 0) {
        sl_expr_free(ag.arg);
        sl_expr_free(ag.filter);
    } else {
        if (q->naggs == q->acap) {
            q->acap = q->acap ? q->acap * 2 : 8;
            q->aggs = xrealloc(q->aggs, sizeof(*q->aggs) * (size_t)q->acap);
        }
        ag.text = full_text(q, a);
        ag.state = -1;
        idx = q->naggs;
        q->aggs[q->naggs++] = ag;
        /* plan->aggs mirrors q->aggs so that a failed plan frees them */
        q->plan->aggs = q->aggs;
        q->plan->naggs = q->naggs;
    }
    struct sl_expr *e = node_at(q, SL_EXPR_COL, q->aggs[idx].sig.result, 0, a);
    e->slot = AGG_BASE + (uint32_t)idx;
    return e;
}

static struct sl_expr *compile_call(struct qctx *q, const struct scope *sc, struct sl__ast *a)
{
    const struct scalar *f = a->quoted ? NULL : find_scalar(a->s);
    if (f != NULL) {
        return compile_scalar(q, sc, a, f);
    }
    const struct sl_agg_ops *ops = NULL;
    if (!a->quoted) {
        if (a->distinct) {
            if (strcasecmp(a->s, "COUNT") != 0) {
                ERR_TOK(q, a->tok, "DISTINCT is supported only in COUNT(DISTINCT x)");
                return NULL;
            }
            if (a->nargs != 1) {
                ERR_TOK(q, a->tok, "COUNT(DISTINCT x) takes one argument");
                return NULL;
            }
            ops = sl_agg_find("COUNT_DISTINCT");
        } else {
            ops = sl_agg_find(a->s);
        }
    }
    if (ops != NULL) {
        return compile_agg(q, sc, a, ops);
    }
    /* names other SQL dialects use */
    static const char *const synonyms[][2] = {
        {"AVERAGE", "AVG"},
        {"MEAN", "AVG"},
        {"CEILING", "CEIL"},
        {"SUBSTRING", "SUBSTR"},
        {"LEN", "LENGTH"},
        {"CHAR_LENGTH", "LENGTH"},
        {"POW", "POWER"},
        {"IFNULL", "COALESCE"},
        {"NVL", "COALESCE"},
        {"STDDEV", "STDDEV_SAMP"},
        {"VARIANCE", "VAR_SAMP"},
        {"CURRENT_TIMESTAMP", "NOW"},
        {"MEDIAN", "PERCENTILE(x, 0.5)"},
        {"REGEXP_LIKE", "REGEXP_MATCH"},
        {"SPLIT_INDEX", "SPLIT_PART"},
        {"DATE_FORMAT", "FORMAT_TIMESTAMP"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(synonyms); i++) {
        if (strcasecmp(a->s, synonyms[i][0]) == 0) {
            ERR_TOK(q, a->tok, "unknown function '%s'; did you mean '%s'?", a->s, synonyms[i][1]);
            return NULL;
        }
    }
    const char *cands[SL_ARRAY_LEN(scalars) + 256];
    int n = 0;
    for (size_t i = 0; i < SL_ARRAY_LEN(scalars); i++) {
        cands[n++] = scalars[i].name;
    }
    agg_names(cands, &n);
    const char *near = sl__suggest(a->s, cands, n);
    if (near != NULL) {
        ERR_TOK(q, a->tok, "unknown function '%s'; did you mean '%s'?", a->s, near);
    } else {
        ERR_TOK(q, a->tok, "unknown function '%s'", a->s);
    }
    return NULL;
}

static struct sl_expr *compile(struct qctx *q, const struct scope *sc, struct sl__ast *a)
{
    struct sl_expr *e = NULL, *x = NULL;
    switch (a->kind) {
    case SL_AST_INT:
        e = sl_expr_const(sl_value_bigint(a->i));
        break;
    case SL_AST_FLOAT:
        e = sl_expr_const(sl_value_double(a->d));
        break;
    case SL_AST_STRING:
        e = sl_expr_const(sl_value_text(a->s, (uint32_t)a->slen));
        break;
    case SL_AST_BOOL:
        e = sl_expr_const(sl_value_bool(a->i != 0));
        break;
    case SL_AST_NULL:
        e = sl_expr_const(sl_value_null(SL_TYPE_NULL));
        break;
    case SL_AST_INTERVAL: {
        struct sl_value v = {.type = SL_TYPE_INTERVAL, .u.i = a->i};
        e = sl_expr_const(v);
        break;
    }
    case SL_AST_STAR:
        ERR_TOK(q, a->tok, "'*' is not a value here");
        return NULL;
    case SL_AST_COL:
        return compile_col(q, sc, a);
    case SL_AST_NEG:
        x = compile(q, sc, a->args[0]);
        if (x == NULL) {
            return NULL;
        }
        if (x->type == SL_TYPE_NULL) {
            set_null_type(x, SL_TYPE_BIGINT);
        }
        if (!is_num(x->type) && x->type != SL_TYPE_INTERVAL) {
            struct tbuf t = atext(q, a->args[0]);
            ERR_TOK(q, a->tok, "cannot negate %s, which is %s", t.s,
                    sl_type_name((enum sl_type)x->type));
            sl_expr_free(x);
            return NULL;
        }
        if (x->op == SL_EXPR_CONST && (x->type == SL_TYPE_DOUBLE || x->cval.u.i != INT64_MIN)) {
            if (x->type == SL_TYPE_DOUBLE) {
                x->cval.u.d = -x->cval.u.d;
            } else {
                x->cval.u.i = -x->cval.u.i;
            }
            e = x;
            break;
        }
        e = node_at(q, SL_EXPR_NEG, x->type, 1, a);
        e->args[0] = x;
        return e;
    case SL_AST_NOT:
        x = compile(q, sc, a->args[0]);
        if (x == NULL) {
            return NULL;
        }
        if (x->type != SL_TYPE_BOOLEAN && x->type != SL_TYPE_NULL) {
            struct tbuf t = atext(q, a->args[0]);
            ERR_TOK(q, a->tok, "NOT needs a BOOLEAN, but %s is %s", t.s,
                    sl_type_name((enum sl_type)x->type));
            sl_expr_free(x);
            return NULL;
        }
        e = node_at(q, SL_EXPR_NOT, SL_TYPE_BOOLEAN, 1, a);
        e->args[0] = coerce(x, SL_TYPE_BOOLEAN);
        return e;
    case SL_AST_BINARY:
        return compile_binary(q, sc, a);
    case SL_AST_IS_NULL:
        x = compile(q, sc, a->args[0]);
        if (x == NULL) {
            return NULL;
        }
        if (x->type == SL_TYPE_NULL) {
            set_null_type(x, SL_TYPE_TEXT);
        }
        e = node_at(q, SL_EXPR_IS_NULL, SL_TYPE_BOOLEAN, 1, a);
        e->negated = a->negated;
        e->args[0] = x;
        return e;
    case SL_AST_IN:
    case SL_AST_BETWEEN: {
        int t;
        struct sl_expr **v = compile_unified(q, sc, a, a->args, a->nargs, true, &t);
        if (v == NULL) {
            return NULL;
        }
        if (t == SL_TYPE_NULL) {
            for (int i = 0; i < a->nargs; i++) {
                set_null_type(v[i], SL_TYPE_TEXT);
            }
        }
        e = node_at(q, a->kind == SL_AST_IN ? SL_EXPR_IN : SL_EXPR_BETWEEN, SL_TYPE_BOOLEAN,
                    a->nargs, a);
        e->negated = a->negated;
        for (int i = 0; i < a->nargs; i++) {
            e->args[i] = v[i];
        }
        free(v);
        return e;
    }
    case SL_AST_LIKE: {
        struct sl_expr *l = compile(q, sc, a->args[0]);
        struct sl_expr *r = compile(q, sc, a->args[1]);
        if (l == NULL || r == NULL) {
            sl_expr_free(l);
            sl_expr_free(r);
            return NULL;
        }
        for (int i = 0; i < 2; i++) {
            struct sl_expr *s = i == 0 ? l : r;
            if (s->type != SL_TYPE_TEXT && s->type != SL_TYPE_NULL) {
                struct tbuf t = atext(q, a->args[i]);
                ERR_TOK(q, a->args[i]->first,
                        "LIKE needs TEXT, but %s is %s; use CAST(%s AS "
                        "TEXT)",
                        t.s, sl_type_name((enum sl_type)s->type), t.s);
                sl_expr_free(l);
                sl_expr_free(r);
                return NULL;
            }
        }
        e = node_at(q, SL_EXPR_LIKE, SL_TYPE_BOOLEAN, 2, a);
        e->negated = a->negated;
        e->args[0] = coerce(l, SL_TYPE_TEXT);
        e->args[1] = coerce(r, SL_TYPE_TEXT);
        return e;
    }
    case SL_AST_CASE:
        return compile_case(q, sc, a);
    case SL_AST_CAST:
        x = compile(q, sc, a->args[0]);
        if (x == NULL) {
            return NULL;
        }
        if (!cast_ok(x->type, a->cast_type)) {
            struct tbuf t = atext(q, a->args[0]);
            const char *hint = "";
            if (x->type == SL_TYPE_DOUBLE && a->cast_type == SL_TYPE_TIMESTAMP) {
                hint = "; use TO_TIMESTAMP(x) for epoch seconds or milliseconds";
            }
            ERR_TOK(q, a->tok, "cannot CAST %s from %s to %s%s", t.s,
                    sl_type_name((enum sl_type)x->type), sl_type_name((enum sl_type)a->cast_type),
                    hint);
            sl_expr_free(x);
            return NULL;
        }
        if (x->type == a->cast_type || x->type == SL_TYPE_NULL) {
            set_null_type(x, a->cast_type);
            return x;
        }
        e = node_at(q, SL_EXPR_CAST, a->cast_type, 1, a);
        e->args[0] = x;
        return e;
    case SL_AST_CALL:
        return compile_call(q, sc, a);
    default:
        ERR_TOK(q, a->tok, "internal error: unknown expression");
        return NULL;
    }
    /* constants */
    const struct sl__tok *t = &q->c->fr->toks[a->tok];
    e->line = t->line;
    e->col = t->col;
    return e;
}

/* A top-level expression: compiled, NULL type resolved, text set. */
static struct sl_expr *compile_top(struct qctx *q, const struct scope *sc, struct sl__ast *a,
                                   int null_type)
{
    struct sl_expr *e = compile(q, sc, a);
    if (e != NULL) {
        set_null_type(e, null_type);
        free(e->text);
        e->text = full_text(q, a);
    }
    return e;
}

static struct sl_expr *compile_cond(struct qctx *q, const struct scope *sc, struct sl__ast *a)
{
    struct sl_expr *e = compile_top(q, sc, a, SL_TYPE_BOOLEAN);
    if (e != NULL && e->type != SL_TYPE_BOOLEAN) {
        struct tbuf t = atext(q, a);
        ERR_TOK(q, a->first, "%s needs a BOOLEAN condition, but %s is %s", sc->clause, t.s,
                sl_type_name((enum sl_type)e->type));
        sl_expr_free(e);
        return NULL;
    }
    return e;
}

/* ---------------------------------------------------------------- lifting */

static struct sl_expr *lift(struct qctx *q, struct sl_expr *e, const char *clause)
{
    for (int k = 0; k < q->nkeys; k++) {
        if (q->keys[k] != NULL && expr_equal(e, q->keys[k])) {
            struct sl_expr *c = sl_expr_new(SL_EXPR_COL, (enum sl_type)e->type, 0);
            c->slot = (uint32_t)k;
            c->line = e->line;
            c->col = e->col;
            c->text = e->text;
            e->text = NULL;
            sl_expr_free(e);
            return c;
        }
    }
    if (e->op == SL_EXPR_COL) {
        if (e->slot >= AGG_BASE) {
            e->slot = (uint32_t)q->nkeys + (e->slot - AGG_BASE);
        } else if (e->slot >= WIN_BASE) {
            e->slot = (uint32_t)(q->nkeys + q->naggs) + (e->slot - WIN_BASE);
        } else {
            q->errors++;
            sl__diag_lc(q->c->fr, SL_DIAG_ERROR, q->file, e->line, e->col,
                        "column '%s' must appear in GROUP BY or be used in an aggregate "
                        "(the %s of a windowed query sees only groups)",
                        e->text ? e->text : "?", clause);
        }
        return e;
    }
    for (int i = 0; i < e->nargs; i++) {
        e->args[i] = lift(q, e->args[i], clause);
    }
    return e;
}

/* ---------------------------------------------------------------- options */

struct report_ctx {
    struct qctx *q; /* for error counting; NULL for sources */
    struct sl__front *fr;
    struct sl__stmt *st;
    const int *map; /* input index -> st->opts index */
    int nmap;
    int *errors;
};

static void scrub_secrets(struct sl__stmt *st, char *msg, size_t cap)
{
    for (int i = 0; i < st->nopts; i++) {
        const char *v = st->opts[i].value;
        size_t vl = strlen(v);
        if (!st->opts[i].secret || vl == 0) {
            continue;
        }
        /* search on after each replacement: the value may occur in "<secret>" itself */
        char *from = msg, *hit;
        while ((hit = strstr(from, v)) != NULL) {
            size_t rest = strlen(hit + vl);
            const char *rep = "<secret>";
            size_t rl = strlen(rep);
            if ((size_t)(hit - msg) + rl + rest + 1 > cap) {
                *hit = '\0';
                break;
            }
            memmove(hit + rl, hit + vl, rest + 1);
            memcpy(hit, rep, rl);
            from = hit + rl;
        }
    }
}

static void report_opt(void *ud, int index, const char *msg)
{
    struct report_ctx *rc = ud;
    char buf[1024];
    enum sl_diag_level lvl = SL_DIAG_ERROR;
    if (strncmp(msg, "warning: ", 9) == 0) {
        lvl = SL_DIAG_WARNING;
        msg += 9;
    }
    snprintf(buf, sizeof(buf), "%s", msg);
    scrub_secrets(rc->st, buf, sizeof(buf));
    int tok = rc->st->with_tok;
    if (index >= 0 && index < rc->nmap && rc->map != NULL) {
        tok = rc->st->opts[rc->map[index]].name_tok;
    }
    if (lvl == SL_DIAG_ERROR) {
        (*rc->errors)++;
    }
    sl__diag_tok(rc->fr, lvl, tok, "%s", buf);
}

static const char *connector_list(bool sink, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; sl_connectors[i] != NULL; i++) {
        const struct sl_connector *c = sl_connectors[i];
        if ((sink ? c->sink_options : c->source_options) == NULL) {
            continue;
        }
        int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", c->name);
        if (w < 0 || (size_t)w >= cap - n) {
            break;
        }
        n += (size_t)w;
    }
    return buf;
}

/* Finds the connector and parses the options; returns the connector or NULL. */
static const struct sl_connector *parse_options(struct sl__front *fr, struct sl__stmt *st,
                                                bool sink, struct sl_options *ret, int *errors)
{
    int conn_at = -1;
    const char *what = sink ? "sink" : "source";
    char list[512];
    for (int i = 0; i < st->nopts; i++) {
        if (strcasecmp(st->opts[i].name, "connector") == 0) {
            if (conn_at >= 0) {
                (*errors)++;
                sl__diag_tok(fr, SL_DIAG_ERROR, st->opts[i].name_tok,
                             "option 'connector' given twice");
                return NULL;
            }
            conn_at = i;
        }
    }
    if (conn_at < 0) {
        (*errors)++;
        sl__diag_tok(fr, SL_DIAG_ERROR, st->with_tok,
                     "missing option connector: a %s needs connector = '…' (one of: %s)", what,
                     connector_list(sink, list, sizeof(list)));
        return NULL;
    }
    const char *cname = st->opts[conn_at].value;
    const struct sl_connector *conn = sl_connector_find(cname);
    if (conn == NULL) {
        const char *cands[64];
        int n = 0;
        for (int i = 0; sl_connectors[i] != NULL && n < 64; i++) {
            cands[n++] = sl_connectors[i]->name;
        }
        const char *near = sl__suggest(cname, cands, n);
        (*errors)++;
        if (near != NULL) {
            sl__diag_tok(fr, SL_DIAG_ERROR, st->opts[conn_at].value_tok,
                         "unknown connector '%s'; did you mean '%s'?", cname, near);
        } else {
            sl__diag_tok(fr, SL_DIAG_ERROR, st->opts[conn_at].value_tok,
                         "unknown connector '%s': a %s is one of %s", cname, what,
                         connector_list(sink, list, sizeof(list)));
        }
        return NULL;
    }
    const struct sl_option_def *own = sink ? conn->sink_options : conn->source_options;
    if (own == NULL) {
        (*errors)++;
        sl__diag_tok(fr, SL_DIAG_ERROR, st->opts[conn_at].value_tok,
                     "connector %s cannot be a %s (%ss: %s)", conn->name, what, what,
                     connector_list(sink, list, sizeof(list)));
        return NULL;
    }
    const struct sl_option_def *tables[3] = {
        own, sink ? sl_sink_common_options : sl_source_common_options, NULL};
    struct sl_opt_input *in = xcalloc((size_t)st->nopts, sizeof(*in));
    int *map = xcalloc((size_t)st->nopts, sizeof(int));
    int nin = 0;
    for (int i = 0; i < st->nopts; i++) {
        if (i == conn_at) {
            continue;
        }
        const struct sl__tok *t = &fr->toks[st->opts[i].name_tok];
        in[nin].name = st->opts[i].name;
        in[nin].value = st->opts[i].value;
        in[nin].line = t->line;
        in[nin].col = t->col;
        map[nin++] = i;
    }
    int before = *errors;
    struct report_ctx rc = {.fr = fr, .st = st, .map = map, .nmap = nin, .errors = errors};
    struct sl_options opts = {0};
    int r = sl_options_parse(tables, conn->name, in, nin, &opts, report_opt, &rc);
    if (r > 0 && *errors == before) {
        (*errors)++; /* problems counted but all reported as warnings: still refused */
    }
    if (r == 0) {
        for (int k = 0; k < opts.n; k++) {
            struct sl_opt_value *v = &opts.v[k];
            if (v->given && v->index >= 0 && v->index < nin && st->opts[map[v->index]].secret) {
                v->secret = true;
            }
        }
        *ret = opts;
    }
    free(in);
    free(map);
    return conn;
}

/* Runs the connector's cross-option check; its index is into the inputs it was given: all
 * options but connector. */
static void run_check(struct sl__front *fr, struct sl__stmt *st, int *errors,
                      const struct sl_connector *conn, const struct sl_source *src,
                      const struct sl_plan *plan)
{
    int *map = xcalloc((size_t)st->nopts, sizeof(int));
    int n = 0;
    for (int i = 0; i < st->nopts; i++) {
        if (strcasecmp(st->opts[i].name, "connector") != 0) {
            map[n++] = i;
        }
    }
    struct report_ctx rc = {.fr = fr, .st = st, .map = map, .nmap = n, .errors = errors};
    int before = *errors;
    int r = plan != NULL ? conn->check_sink(plan, report_opt, &rc)
                         : conn->check_source(src, report_opt, &rc);
    if (r > 0 && *errors == before) {
        (*errors)++;
    }
    free(map);
}

/* ---------------------------------------------------------------- sources */

static const char *const reserved_cols[] = {"_topic",       "_key",      "_partition", "_offset",
                                            "_arrival",     "_id",       "_rev",       "is_final",
                                            "window_start", "window_end"};

static void build_source(struct ctx *c, struct src_info *si, int *errors)
{
    struct sl__front *fr = c->fr;
    struct sl__stmt *st = si->st;
    struct sl_source *src = xcalloc(1, sizeof(*src));
    const struct sl__tok *nt = &fr->toks[st->name_tok];
    src->name = xstrdup(st->name);
    src->file = xstrdup(fr->files[nt->file].name);
    src->line = nt->line;
    src->col = nt->col;
    src->wm_col = -1;
    src->index = c->cat->nsources;
    c->cat->sources =
        xrealloc(c->cat->sources, sizeof(*c->cat->sources) * (size_t)(c->cat->nsources + 1));
    c->cat->sources[c->cat->nsources++] = src;
    si->src = src;
    src->cols = xcalloc((size_t)st->ncols, sizeof(*src->cols));
    si->quoted = xcalloc((size_t)st->ncols + 1, sizeof(bool));
    for (int i = 0; i < st->ncols; i++) {
        const struct sl__coldef *cd = &st->cols[i];
        const struct sl__tok *ct = &fr->toks[cd->tok];
        struct sl_column *col = &src->cols[src->ncols];
        bool bad = false;
        for (size_t k = 0; k < SL_ARRAY_LEN(reserved_cols); k++) {
            if (name_eq(reserved_cols[k], false, cd->name, cd->quoted)) {
                (*errors)++;
                sl__diag_tok(fr, SL_DIAG_ERROR, cd->tok,
                             "'%s' is a reserved column name; name the column differently and "
                             "read the field with PATH '$.%s'",
                             cd->name, cd->name);
                bad = true;
            }
        }
        for (int k = 0; k < src->ncols && !bad; k++) {
            if (name_eq(src->cols[k].name, si->quoted[k], cd->name, cd->quoted)) {
                (*errors)++;
                sl__diag_tok(fr, SL_DIAG_ERROR, cd->tok,
                             "column '%s' is declared twice in source %s", cd->name, st->name);
                bad = true;
            }
        }
        if (bad) {
            continue;
        }
        col->name = xstrdup(cd->name);
        col->type = (enum sl_type)cd->type;
        col->not_null = cd->not_null;
        col->line = ct->line;
        col->col = ct->col;
        if (cd->path != NULL) {
            struct sl_err err = {{0}};
            if (sl_path_parse(cd->path, &col->path, &err) < 0) {
                (*errors)++;
                sl__diag_tok(fr, SL_DIAG_ERROR, cd->path_tok, "bad PATH '%s': %s", cd->path,
                             err.msg);
                col->path = sl_path_member(cd->name);
            }
        } else {
            col->path = sl_path_member(cd->name);
        }
        si->quoted[src->ncols] = cd->quoted;
        src->ncols++;
    }
    if (st->has_wm) {
        for (int i = 0; i < src->ncols; i++) {
            if (name_eq(src->cols[i].name, si->quoted[i], st->wm_col, st->wm_quoted)) {
                src->wm_col = i;
            }
        }
        if (src->wm_col < 0) {
            const char *cands[SL__MAX_COLUMNS];
            for (int i = 0; i < src->ncols; i++) {
                cands[i] = src->cols[i].name;
            }
            const char *near = sl__suggest(st->wm_col, cands, src->ncols);
            (*errors)++;
            if (near != NULL) {
                sl__diag_tok(fr, SL_DIAG_ERROR, st->wm_tok,
                             "WATERMARK FOR unknown column '%s'; did you mean '%s'?", st->wm_col,
                             near);
            } else {
                sl__diag_tok(fr, SL_DIAG_ERROR, st->wm_tok,
                             "WATERMARK FOR unknown column '%s': declare it as a TIMESTAMP "
                             "column of source %s",
                             st->wm_col, st->name);
            }
        } else if (src->cols[src->wm_col].type != SL_TYPE_TIMESTAMP) {
            (*errors)++;
            sl__diag_tok(fr, SL_DIAG_ERROR, st->wm_tok,
                         "the WATERMARK column %s must be TIMESTAMP, not %s",
                         src->cols[src->wm_col].name, sl_type_name(src->cols[src->wm_col].type));
            src->wm_col = -1;
        } else {
            src->cols[src->wm_col].used = true;
            src->wm_delay_ms = st->wm_delay_ms;
        }
    }
    int before = *errors;
    src->conn = parse_options(fr, st, false, &src->opts, errors);
    if (src->conn != NULL && *errors == before && src->conn->check_source != NULL) {
        run_check(fr, st, errors, src->conn, src, NULL);
    }
}

/* ---------------------------------------------------------------- sinks */

static struct src_info *find_source(struct ctx *c, const char *name, bool quoted)
{
    for (int i = 0; i < c->nsrcs; i++) {
        if (name_eq(c->srcs[i].st->name, c->srcs[i].st->quoted, name, quoted)) {
            return &c->srcs[i];
        }
    }
    return NULL;
}

static bool check_interval(struct qctx *q, const struct sl__interval *iv, const char *what,
                           bool zero_ok)
{
    if (iv->ms < 0 || (iv->ms == 0 && !zero_ok)) {
        ERR_TOK(q, iv->tok, "%s must be %s", what, zero_ok ? "zero or more" : "positive");
        return false;
    }
    if (iv->ms > MAX_WINDOW_MS) {
        ERR_TOK(q, iv->tok, "%s must be at most 366 days", what);
        return false;
    }
    return true;
}

static void plan_window(struct qctx *q)
{
    struct sl__select *sel = q->sel;
    struct sl_plan *plan = q->plan;
    struct sl_source *src = q->src;
    char b1[32], b2[32];
    const char *wname = sel->window == SL_WINDOW_TUMBLE ? "TUMBLE"
                        : sel->window == SL_WINDOW_HOP  ? "HOP"
                                                        : "SESSION";
    plan->window = (enum sl_window_kind)sel->window;
    /* the time column */
    const struct sl__ast *tc = sel->timecol;
    if (tc->qual != NULL && !name_eq(src->name, q->si->st->quoted, tc->qual, tc->qual_quoted)) {
        ERR_TOK(q, tc->first, "unknown name '%s' before '.': the window reads source %s", tc->qual,
                src->name);
    } else if (name_eq("_arrival", false, tc->s, tc->quoted)) {
        plan->time_slot = sl_pseudo_slot(src, SL_PSEUDO_ARRIVAL);
        plan->uses_arrival = true;
    } else if (src->wm_col >= 0 && name_eq(src->cols[src->wm_col].name, q->si->quoted[src->wm_col],
                                           tc->s, tc->quoted)) {
        plan->time_slot = src->wm_col;
    } else if (src->wm_col >= 0) {
        ERR_TOK(q, tc->tok,
                "the time column of %s must be the source's WATERMARK column %s, or _arrival "
                "for processing time; %s is not",
                wname, src->cols[src->wm_col].name, tc->s);
    } else {
        ERR_TOK(q, tc->tok,
                "source %s has no WATERMARK, so it runs on processing time: the time column of "
                "%s must be _arrival (or declare WATERMARK FOR %s AS %s - INTERVAL '5' SECOND)",
                src->name, wname, tc->s, tc->s);
    }
    int64_t span = 0; /* how much input a restart replays: size, or max_duration */
    switch (sel->window) {
    case SL_WINDOW_TUMBLE:
        if (check_interval(q, &sel->a, "the TUMBLE size", false)) {
            plan->size_ms = plan->slide_ms = sel->a.ms;
            span = sel->a.ms;
        }
        break;
    case SL_WINDOW_HOP:
        if (check_interval(q, &sel->a, "the HOP slide", false) &&
            check_interval(q, &sel->b, "the HOP size", false)) {
            if (sel->b.ms % sel->a.ms != 0) {
                sl__fmt_dur(sel->b.ms, b1, sizeof(b1));
                sl__fmt_dur(sel->a.ms, b2, sizeof(b2));
                ERR_TOK(q, sel->b.tok,
                        "HOP size %s is not a multiple of slide %s (HOP(source, time, slide, "
                        "size))",
                        b1, b2);
            } else {
                plan->slide_ms = sel->a.ms;
                plan->size_ms = sel->b.ms;
                span = sel->b.ms;
            }
        }
        break;
    default:
        plan->max_duration_ms = ONE_HOUR_MS;
        if (check_interval(q, &sel->a, "the SESSION gap", false)) {
            plan->gap_ms = sel->a.ms;
        }
        if (sel->b.given && check_interval(q, &sel->b, "the SESSION max_duration", false)) {
            plan->max_duration_ms = sel->b.ms;
        }
        if (plan->gap_ms > plan->max_duration_ms) {
            sl__fmt_dur(plan->gap_ms, b1, sizeof(b1));
            sl__fmt_dur(plan->max_duration_ms, b2, sizeof(b2));
            ERR_TOK(q, sel->a.tok, "the SESSION gap %s is longer than its max_duration %s", b1, b2);
        }
        span = plan->max_duration_ms;
        if (sel->lateness.given) {
            ERR_TOK(q, sel->lateness.tok,
                    "SESSION windows cannot have ALLOWED LATENESS in v1: a late event could "
                    "move a session's start and orphan keys already written");
        }
        if (sel->emit_every) {
            ERR_TOK(q, sel->emit_tok,
                    "SESSION windows cannot EMIT EVERY in v1: a session's start can still move, "
                    "which would orphan keys already written");
        }
        break;
    }
    if (sel->emit_every) {
        plan->emit = SL_EMIT_EVERY;
        if (check_interval(q, &sel->every, "the EMIT EVERY interval", false)) {
            plan->emit_every_ms = sel->every.ms;
        }
    }
    if (sel->lateness.given && sel->window != SL_WINDOW_SESSION &&
        check_interval(q, &sel->lateness, "ALLOWED LATENESS", true)) {
        plan->lateness_ms = sel->lateness.ms;
    }
    if (sel->having != NULL && sel->emit_every) {
        ERR_TOK(q, sel->having_tok,
                "HAVING cannot be combined with EMIT EVERY in v1: a row already sent cannot be "
                "withdrawn when a later event makes HAVING false");
    }
    if (sel->having != NULL && sel->lateness.given && sel->window != SL_WINDOW_SESSION) {
        ERR_TOK(q, sel->having_tok,
                "HAVING cannot be combined with ALLOWED LATENESS in v1: a row already sent "
                "cannot be withdrawn when a late event makes HAVING false");
    }
    if (span > 0 && span + plan->lateness_ms > ONE_HOUR_MS) {
        char late[64] = "";
        sl__fmt_dur(span, b1, sizeof(b1));
        if (plan->lateness_ms > 0) {
            sl__fmt_dur(plan->lateness_ms, b2, sizeof(b2));
            snprintf(late, sizeof(late), " plus allowed lateness %s", b2);
        }
        sl__diag_tok(q->c->fr, SL_DIAG_WARNING, sel->from_tok,
                     "%s %s %s%s is more than one hour: a restart replays that much input", wname,
                     sel->window == SL_WINDOW_SESSION ? "max_duration" : "size", b1, late);
    }
}

static void add_key(struct qctx *q, struct sl_expr *e)
{
    for (int k = 0; k < q->nkeys; k++) {
        if (expr_equal(q->keys[k], e)) {
            sl_expr_free(e); /* GROUP BY a, a: one key */
            return;
        }
    }
    if (q->nkeys == q->kcap) {
        q->kcap = q->kcap ? q->kcap * 2 : 8;
        q->keys = xrealloc(q->keys, sizeof(*q->keys) * (size_t)q->kcap);
        q->key_names = xrealloc(q->key_names, sizeof(*q->key_names) * (size_t)q->kcap);
    }
    q->key_names[q->nkeys] = NULL;
    q->keys[q->nkeys++] = e;
    q->plan->keys = q->keys;
    q->plan->key_names = q->key_names;
    q->plan->nkeys = q->nkeys;
}

/* Is a bare name an input column (or pseudo-column) of the source? */
static bool is_input_name(struct qctx *q, const struct sl__ast *a)
{
    for (int i = 0; i < q->src->ncols; i++) {
        if (name_eq(q->src->cols[i].name, q->si->quoted[i], a->s, a->quoted)) {
            return true;
        }
    }
    for (int p = 0; p < SL_PSEUDO_N; p++) {
        if (name_eq(pseudo_names[p], false, a->s, a->quoted)) {
            return true;
        }
    }
    return false;
}

static void plan_group_by(struct qctx *q)
{
    struct sl__select *sel = q->sel;
    struct scope sc = {.mode = M_INPUT, .clause = "GROUP BY"};
    for (int i = 0; i < sel->ngroup; i++) {
        struct sl__ast *g = sel->group[i];
        if (g->kind == SL_AST_INT) {
            /* GROUP BY 2: the second SELECT item (PostgreSQL) */
            if (g->i < 1 || g->i > sel->nitems || sel->items[g->i - 1].e == NULL) {
                ERR_TOK(q, g->tok, "GROUP BY %lld: there is no SELECT item %lld", (long long)g->i,
                        (long long)g->i);
                continue;
            }
            g = sel->items[g->i - 1].e;
        } else if (g->kind == SL_AST_COL && g->qual == NULL && !is_input_name(q, g)) {
            if (name_eq("window_start", false, g->s, g->quoted) ||
                name_eq("window_end", false, g->s, g->quoted)) {
                continue; /* rows are always per window: nothing to add */
            }
            /* an output alias (PostgreSQL; input column names win) */
            for (int k = 0; k < sel->nitems; k++) {
                const struct sl__item *it = &sel->items[k];
                if (it->alias != NULL && name_eq(it->alias, it->alias_quoted, g->s, g->quoted)) {
                    g = it->e;
                    break;
                }
            }
        }
        struct sl_expr *e = compile_top(q, &sc, g, SL_TYPE_TEXT);
        if (e != NULL) {
            add_key(q, e);
        }
    }
}

static const char *reserved_out[] = {"_id", "_rev", "is_final", "window_start", "window_end"};

static void plan_outputs(struct qctx *q)
{
    struct sl__select *sel = q->sel;
    struct sl_plan *plan = q->plan;
    struct scope sc = {
        .mode = q->windowed ? M_AGGROW : M_INPUT, .clause = "SELECT", .select_list = true};
    int cap = 0;
    bool *quoted = NULL;
    for (int i = 0; i < sel->nitems; i++) {
        struct sl__item *it = &sel->items[i];
        if (it->e == NULL) {
            if (q->windowed) {
                ERR_TOK(q, it->tok,
                        "SELECT * is for per-event queries; a windowed query lists its group "
                        "keys and aggregates");
                continue;
            }
            for (int k = 0; k < q->src->ncols; k++) {
                struct sl_column *col = &q->src->cols[k];
                if (plan->nout == cap) {
                    cap = cap ? cap * 2 : 8;
                    plan->out = xrealloc(plan->out, sizeof(*plan->out) * (size_t)cap);
                    quoted = xrealloc(quoted, sizeof(bool) * (size_t)cap);
                }
                struct sl_expr *e = sl_expr_new(SL_EXPR_COL, col->type, 0);
                e->slot = (uint32_t)k;
                e->line = col->line;
                e->col = col->col;
                e->text = xstrdup(col->name);
                col->used = true;
                quoted[plan->nout] = q->si->quoted[k];
                plan->out[plan->nout++] =
                    (struct sl_out_col){.name = xstrdup(col->name), .type = col->type, .expr = e};
            }
            continue;
        }
        struct sl_expr *e = compile_top(q, &sc, it->e, SL_TYPE_TEXT);
        if (e == NULL) {
            continue;
        }
        if (e->type == SL_TYPE_INTERVAL) {
            struct tbuf t = atext(q, it->e);
            ERR_TOK(q, it->e->first,
                    "%s is an INTERVAL, which a result row cannot hold; results are BOOLEAN, "
                    "BIGINT, DOUBLE, TEXT or TIMESTAMP",
                    t.s);
            sl_expr_free(e);
            continue;
        }
        const char *name;
        bool nq = false;
        if (it->alias != NULL) {
            name = it->alias;
            nq = it->alias_quoted;
            bool self = it->e->kind == SL_AST_COL &&
                        name_eq(it->alias, it->alias_quoted, it->e->s, it->e->quoted);
            for (size_t k = 0; k < SL_ARRAY_LEN(reserved_out) && !self; k++) {
                if (name_eq(reserved_out[k], false, name, nq)) {
                    ERR_TOK(q, it->alias_tok,
                            "'%s' is a reserved column name: choose another alias", name);
                }
            }
        } else if (it->e->kind == SL_AST_COL && e->op == SL_EXPR_COL) {
            /* a bare column: its declared (or canonical) name */
            uint32_t ncols = (uint32_t)q->src->ncols;
            if (e->slot < ncols) {
                nq = q->si->quoted[e->slot];
                name = q->src->cols[e->slot].name;
            } else if (e->slot < ncols + SL_PSEUDO_N) {
                name = pseudo_names[e->slot - ncols];
            } else if (e->slot == WIN_BASE + SL_AGGROW_WINDOW_START) {
                name = "window_start";
            } else if (e->slot == WIN_BASE + SL_AGGROW_WINDOW_END) {
                name = "window_end";
            } else if (e->slot >= WIN_BASE && e->slot < WIN_BASE + SL_AGGROW_N) {
                name = pseudo_names[SL_PSEUDO_ID + (e->slot - WIN_BASE - SL_AGGROW_ID)];
            } else {
                name = e->text;
            }
        } else {
            name = e->text;
        }
        if (plan->nout == cap) {
            cap = cap ? cap * 2 : 8;
            plan->out = xrealloc(plan->out, sizeof(*plan->out) * (size_t)cap);
            quoted = xrealloc(quoted, sizeof(bool) * (size_t)cap);
        }
        quoted[plan->nout] = nq;
        plan->out[plan->nout++] =
            (struct sl_out_col){.name = xstrdup(name), .type = (enum sl_type)e->type, .expr = e};
    }
    for (int i = 0; i < plan->nout; i++) {
        for (int k = 0; k < i; k++) {
            if (name_eq(plan->out[k].name, quoted[k], plan->out[i].name, quoted[i])) {
                q->errors++;
                sl__diag_lc(q->c->fr, SL_DIAG_ERROR, q->file, plan->out[i].expr->line,
                            plan->out[i].expr->col,
                            "two result columns are named '%s'; give one another name with AS",
                            plan->out[i].name);
                break;
            }
        }
    }
    free(quoted);
}

static void layout_states(struct qctx *q)
{
    struct sl_plan *plan = q->plan;
    int cap = 0;
    uint32_t *sizes = NULL;
    for (int i = 0; i < plan->naggs; i++) {
        struct sl_plan_agg *ag = &plan->aggs[i];
        int j;
        for (j = 0; j < plan->nstates; j++) {
            struct sl_plan_state *s = &plan->states[j];
            if (strcmp(s->ops->state_name, ag->ops->state_name) == 0 &&
                expr_equal(s->arg, ag->arg) && expr_equal(s->filter, ag->filter)) {
                break;
            }
        }
        if (j == plan->nstates) {
            if (plan->nstates == cap) {
                cap = cap ? cap * 2 : 8;
                plan->states = xrealloc(plan->states, sizeof(*plan->states) * (size_t)cap);
                sizes = xrealloc(sizes, sizeof(*sizes) * (size_t)cap);
            }
            plan->states[j] = (struct sl_plan_state){
                .ops = ag->ops, .sig = &ag->sig, .arg = ag->arg, .filter = ag->filter};
            sizes[j] = 0;
            plan->nstates++;
        }
        if (ag->sig.state_size > sizes[j]) {
            sizes[j] = ag->sig.state_size;
        }
        ag->state = j;
    }
    uint32_t off = 0;
    for (int j = 0; j < plan->nstates; j++) {
        plan->states[j].offset = off;
        off += (sizes[j] + 7u) & ~7u;
    }
    plan->state_size = off;
    free(sizes);
}

static void prepare(struct qctx *q, struct sl_expr *e)
{
    if (e == NULL) {
        return;
    }
    struct sl_err err = {{0}};
    const struct sl_expr *bad = NULL;
    if (sl_expr_prepare(e, &err, &bad) < 0) {
        const struct sl_expr *at = bad != NULL ? bad : e;
        q->errors++;
        sl__diag_lc(q->c->fr, SL_DIAG_ERROR, q->file, at->line, at->col, "%s",
                    err.msg[0] ? err.msg : "expression refused");
    }
}

static void plan_sink(struct ctx *c, struct sl__stmt *st, int *errors)
{
    struct sl__front *fr = c->fr;
    struct sl_plan *plan = xcalloc(1, sizeof(*plan));
    const struct sl__tok *nt = &fr->toks[st->name_tok];
    plan->name = xstrdup(st->name);
    plan->file = xstrdup(fr->files[nt->file].name);
    plan->line = nt->line;
    plan->col = nt->col;
    plan->index = c->cat->nplans;
    plan->max_groups = 1000000;
    plan->max_distinct = 100000;
    c->cat->plans = xrealloc(c->cat->plans, sizeof(*c->cat->plans) * (size_t)(c->cat->nplans + 1));
    c->cat->plans[c->cat->nplans++] = plan;

    struct qctx q = {.c = c, .st = st, .sel = st->sel, .plan = plan, .file = nt->file};
    int opt_errors = 0;
    plan->sink_conn = parse_options(fr, st, true, &plan->sink_opts, &opt_errors);
    if (plan->sink_conn != NULL && opt_errors == 0) {
        plan->max_groups = (uint64_t)sl_options_int(&plan->sink_opts, "max_groups", 1000000);
        plan->max_distinct = (uint64_t)sl_options_int(&plan->sink_opts, "max_distinct", 100000);
    }
    struct sl__select *sel = st->sel;
    q.si = find_source(c, sel->src, sel->src_quoted);
    if (q.si == NULL) {
        const char *cands[1024];
        int n = 0;
        bool is_sink = false;
        for (int i = 0; i < c->nsrcs && n < 1024; i++) {
            cands[n++] = c->srcs[i].st->name;
        }
        for (int i = 0; i < c->nstmts; i++) {
            if (c->stmts[i].kind != SL_STMT_SOURCE &&
                name_eq(c->stmts[i].name, c->stmts[i].quoted, sel->src, sel->src_quoted)) {
                is_sink = true;
            }
        }
        const char *near = sl__suggest(sel->src, cands, n);
        q.errors++;
        if (is_sink) {
            sl__diag_tok(fr, SL_DIAG_ERROR, sel->src_tok,
                         "'%s' is a sink or view, not a source: queries read CREATE SOURCE "
                         "streams",
                         sel->src);
        } else if (near != NULL) {
            sl__diag_tok(fr, SL_DIAG_ERROR, sel->src_tok, "unknown source '%s'; did you mean '%s'?",
                         sel->src, near);
        } else {
            sl__diag_tok(fr, SL_DIAG_ERROR, sel->src_tok,
                         "unknown source '%s': declare it with CREATE SOURCE", sel->src);
        }
        goto out;
    }
    if (q.si->src == NULL) {
        q.errors++; /* the source itself failed to parse: already reported */
        goto out;
    }
    q.src = plan->src = q.si->src;
    q.windowed = sel->window != SL_WINDOW_NONE;
    plan->time_slot = q.src->wm_col >= 0 ? q.src->wm_col : sl_pseudo_slot(q.src, SL_PSEUDO_ARRIVAL);
    if (q.windowed) {
        plan_window(&q);
    } else {
        const char *need = NULL;
        int tok = 0;
        if (sel->ngroup > 0) {
            need = "GROUP BY";
            tok = sel->group_tok;
        } else if (sel->having != NULL) {
            need = "HAVING";
            tok = sel->having_tok;
        } else if (sel->emit_tok != 0) {
            need = "EMIT";
            tok = sel->emit_tok;
        } else if (sel->lateness.given) {
            need = "ALLOWED LATENESS";
            tok = sel->lateness.tok;
        }
        if (need != NULL) {
            ERR_TOK(&q, tok,
                    "%s needs a window: read FROM TUMBLE(source, time, size), HOP(…) "
                    "or SESSION(…)",
                    need);
        }
    }
    if (sel->where != NULL) {
        struct scope sc = {.mode = M_INPUT, .clause = "WHERE"};
        plan->where = compile_cond(&q, &sc, sel->where);
    }
    if (q.windowed) {
        plan_group_by(&q);
    }
    plan_outputs(&q);
    if (q.windowed && sel->having != NULL) {
        struct scope sc = {.mode = M_AGGROW, .clause = "HAVING"};
        plan->having = compile_cond(&q, &sc, sel->having);
    }
    plan->aggs = q.aggs;
    plan->naggs = q.naggs;
    plan->keys = q.keys;
    plan->key_names = q.key_names;
    plan->nkeys = q.nkeys;
    if (q.windowed) {
        for (int i = 0; i < plan->nout; i++) {
            plan->out[i].expr = lift(&q, plan->out[i].expr, "SELECT list");
        }
        if (plan->having != NULL) {
            plan->having = lift(&q, plan->having, "HAVING");
        }
        for (int k = 0; k < plan->nkeys; k++) {
            for (int i = 0; i < plan->nout; i++) {
                const struct sl_expr *o = plan->out[i].expr;
                if (o->op == SL_EXPR_COL && o->slot == (uint32_t)k) {
                    plan->key_names[k] = xstrdup(plan->out[i].name);
                    break;
                }
            }
            if (plan->key_names[k] == NULL) {
                plan->key_names[k] = xstrdup(plan->keys[k]->text ? plan->keys[k]->text : "?");
            }
        }
        layout_states(&q);
    }
    {
        /* every tree that compiled is complete and typed: prepare it, so that a bad regex is
         * reported together with the query's other errors */
        prepare(&q, plan->where);
        for (int k = 0; k < plan->nkeys; k++) {
            prepare(&q, plan->keys[k]);
        }
        for (int i = 0; i < plan->naggs; i++) {
            prepare(&q, plan->aggs[i].arg);
            prepare(&q, plan->aggs[i].filter);
        }
        prepare(&q, plan->having);
        for (int i = 0; i < plan->nout; i++) {
            prepare(&q, plan->out[i].expr);
        }
    }
    if (q.errors == 0 && opt_errors == 0 && plan->sink_conn != NULL &&
        plan->sink_conn->check_sink != NULL) {
        run_check(fr, st, &opt_errors, plan->sink_conn, NULL, plan);
    }
out:
    *errors += q.errors + opt_errors;
}

/* ---------------------------------------------------------------- the catalog */

static const char *kind_name(int kind)
{
    return kind == SL_STMT_SOURCE ? "source" : kind == SL_STMT_SINK ? "sink" : "view";
}

/* A name as name_eq compares it: unquoted names lower-cased, "quoted" ones as written, so
 * that two names are equal exactly when their canonical forms are. */
static char *canonical(const char *name, bool quoted)
{
    char *c = xstrdup(name);
    for (char *p = c; !quoted && *p != '\0'; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    return c;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    }
    return h;
}

/* Reports every statement whose name an earlier one has (one namespace for sources, sinks
 * and views, in load order) and marks it in dup. A hash table keeps this linear. */
static void find_duplicates(struct sl__front *fr, struct sl__stmt *stmts, int n, bool *dup)
{
    size_t cap = 16;
    while (cap < (size_t)n * 2) {
        cap *= 2;
    }
    int *slot = xcalloc(cap, sizeof(int)); /* statement index + 1, 0 = empty */
    char **canon = xcalloc((size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        canon[i] = canonical(stmts[i].name, stmts[i].quoted);
        size_t h = (size_t)hash_str(canon[i]) & (cap - 1);
        while (slot[h] != 0 && strcmp(canon[slot[h] - 1], canon[i]) != 0) {
            h = (h + 1) & (cap - 1);
        }
        if (slot[h] == 0) {
            slot[h] = i + 1;
            continue;
        }
        int j = slot[h] - 1;
        const struct sl__tok *t = &fr->toks[stmts[j].name_tok];
        sl__diag_tok(fr, SL_DIAG_ERROR, stmts[i].name_tok,
                     "'%s' is already defined, as a %s at %s:%d:%d", stmts[i].name,
                     kind_name(stmts[j].kind), fr->files[t->file].name, t->line, t->col);
        dup[i] = true;
    }
    for (int i = 0; i < n; i++) {
        free(canon[i]);
    }
    free(canon);
    free(slot);
}

struct sl_catalog *sl__sema(struct sl__front *fr, struct sl__stmt *stmts, int nstmts)
{
    struct ctx c = {.fr = fr, .stmts = stmts, .nstmts = nstmts};
    c.cat = xcalloc(1, sizeof(*c.cat));
    bool *dup = xcalloc((size_t)nstmts, sizeof(bool));
    int errors = 0, nsrc = 0;
    find_duplicates(fr, stmts, nstmts, dup);
    for (int i = 0; i < nstmts; i++) {
        nsrc += stmts[i].kind == SL_STMT_SOURCE && !dup[i];
    }
    c.srcs = xcalloc((size_t)nsrc, sizeof(*c.srcs));
    for (int i = 0; i < nstmts; i++) {
        if (stmts[i].kind != SL_STMT_SOURCE || dup[i]) {
            continue;
        }
        struct src_info *si = &c.srcs[c.nsrcs++];
        si->st = &stmts[i];
        if (!stmts[i].broken) {
            build_source(&c, si, &errors);
        }
    }
    for (int i = 0; i < nstmts; i++) {
        if (dup[i] || stmts[i].broken) {
            continue;
        }
        if (stmts[i].kind == SL_STMT_SINK) {
            plan_sink(&c, &stmts[i], &errors);
        } else if (stmts[i].kind == SL_STMT_VIEW) {
            sl__diag_tok(fr, SL_DIAG_ERROR, stmts[i].create_tok,
                         "CREATE VIEW is planned, not in v1: write the query into each CREATE "
                         "SINK that needs it");
        }
    }
    for (int i = 0; i < c.nsrcs; i++) {
        free(c.srcs[i].quoted);
    }
    free(c.srcs);
    free(dup);
    return c.cat;
}
