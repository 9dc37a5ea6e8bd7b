/*
 * expr_eval.c - preparing and evaluating expression trees (expr.h).
 *
 * sl_expr_prepare runs once per tree at load: it compiles what can be compiled (constant
 * LIKE patterns here; REGEXP_MATCH and DATE_TRUNC units in funcs.c) into e->aux, so that a
 * bad pattern is a load error and evaluation never parses constants again.
 *
 * sl_expr_eval is a recursive walk over the tree. It never fails: every error case gives a
 * NULL of the node's type, as SQL.md says, and counts it in struct sl_eval (overflows for
 * overflow, division by zero, non-finite results and failed conversions; truncated for TEXT
 * results that do not fit in scratch). It allocates nothing, makes no syscall and takes no
 * lock; TEXT results live in ev->scratch (expr_int.h explains how scratch is reused).
 * AND, OR, CASE, COALESCE and IN stop evaluating once the result is known.
 *
 * Threads: prepare runs on the loading thread; afterwards the tree is read-only and any
 * number of threads evaluate it, each with its own struct sl_eval.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr_int.h"
#include "format.h"
#include "timefmt.h"

/* Releases what sl_expr_prepare attached to one node; called by sl_expr_free. */
void sl__expr_unprepare(struct sl_expr *e);

/* ---- LIKE ---- */

/* Shapes of constant patterns with fast paths; anything else runs like_match on the raw
 * pattern. lit holds the pattern's literal bytes with escapes resolved. */
enum like_kind {
    LIKE_GENERAL,  /* has '_', or % between literals */
    LIKE_EXACT,    /* lit */
    LIKE_PREFIX,   /* lit% */
    LIKE_SUFFIX,   /* %lit */
    LIKE_CONTAINS, /* %lit% */
    LIKE_ALL,      /* % */
};

struct like_prep {
    int kind;
    uint32_t len;
    char lit[];
};

/* Matches text t against pattern p: '%' any run of code points, '_' one code point, '\'
 * makes the next byte literal (a trailing lone '\' is itself literal). Greedy with one
 * backtracking point (the last '%'), which is exact for these wildcards: O(|t| * |p|). */
static bool like_match(const char *t, size_t tn, const char *p, size_t pn)
{
    size_t ti = 0, pi = 0;
    size_t star_p = SIZE_MAX, star_t = 0;
    while (ti < tn) {
        if (pi < pn) {
            char c = p[pi];
            if (c == '%') {
                star_p = ++pi;
                star_t = ti;
                continue;
            }
            if (c == '_') {
                ti = sl__utf8_next(t, tn, ti);
                pi++;
                continue;
            }
            size_t np = pi + 1;
            if (c == '\\' && pi + 1 < pn) {
                c = p[pi + 1];
                np = pi + 2;
            }
            if (t[ti] == c) {
                ti++;
                pi = np;
                continue;
            }
        }
        if (star_p == SIZE_MAX) {
            return false;
        }
        star_t = sl__utf8_next(t, tn, star_t);
        ti = star_t;
        pi = star_p;
    }
    while (pi < pn && p[pi] == '%') {
        pi++;
    }
    return pi == pn;
}

static int like_prepare(struct sl_expr *e, struct sl_err *err)
{
    const struct sl_expr *pat = e->args[1];
    if (pat->op != SL_EXPR_CONST || pat->cval.null) {
        return 0; /* evaluated per row */
    }
    const char *p = pat->cval.u.s;
    size_t n = pat->cval.len;
    struct like_prep *lp = malloc(sizeof(*lp) + n + 1);
    if (lp == NULL) {
        return sl_err_set(err, -ENOMEM, "out of memory");
    }
    /* Tokenise: runs of literal bytes separated by '%'; any '_' makes it GENERAL. */
    bool lead = false, trail = false, general = false;
    int nlit_runs = 0;
    bool in_lit = false;
    uint32_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\') {
            if (i + 1 == n) {
                free(lp);
                return sl_err_set(err, SL_ERR_PARSE,
                                  "LIKE pattern must not end with the escape character '\\' "
                                  "(write '\\\\' for a backslash)");
            }
            c = p[++i];
        } else if (c == '_') {
            general = true;
            continue;
        } else if (c == '%') {
            if (len == 0 && !in_lit) {
                lead = true;
            }
            trail = true;
            in_lit = false;
            continue;
        }
        if (!in_lit) {
            nlit_runs++;
            in_lit = true;
        }
        trail = false;
        lp->lit[len++] = c;
    }
    lp->len = len;
    if (general || nlit_runs > 1) {
        lp->kind = LIKE_GENERAL;
    } else if (nlit_runs == 0) {
        lp->kind = lead ? LIKE_ALL : LIKE_EXACT; /* '' matches only '' */
    } else if (lead && trail) {
        lp->kind = LIKE_CONTAINS;
    } else if (lead) {
        lp->kind = LIKE_SUFFIX;
    } else if (trail) {
        lp->kind = LIKE_PREFIX;
    } else {
        lp->kind = LIKE_EXACT;
    }
    /* A literal starting inside a UTF-8 sequence (only an invalid pattern can do that)
     * could match mid-character by bytes: keep such patterns on the exact path. */
    if ((lp->kind == LIKE_SUFFIX || lp->kind == LIKE_CONTAINS) &&
        ((unsigned char)lp->lit[0] & 0xC0) == 0x80) {
        lp->kind = LIKE_GENERAL;
    }
    e->aux = lp;
    return 0;
}

static bool like_prepared(const struct like_prep *lp, const char *t, size_t tn, const char *p,
                          size_t pn)
{
    switch (lp->kind) {
    case LIKE_EXACT:
        return tn == lp->len && memcmp(t, lp->lit, tn) == 0;
    case LIKE_PREFIX:
        return tn >= lp->len && memcmp(t, lp->lit, lp->len) == 0;
    case LIKE_SUFFIX:
        return tn >= lp->len && memcmp(t + tn - lp->len, lp->lit, lp->len) == 0;
    case LIKE_CONTAINS:
        return memmem(t, tn, lp->lit, lp->len) != NULL;
    case LIKE_ALL:
        return true;
    default:
        return like_match(t, tn, p, pn);
    }
}

/* ---- prepare ---- */

static int prepare_node(struct sl_expr *e, struct sl_err *err, const struct sl_expr **ret_bad)
{
    for (int i = 0; i < e->nargs; i++) {
        int r = prepare_node(e->args[i], err, ret_bad);
        if (r < 0) {
            return r;
        }
    }
    sl__expr_unprepare(e); /* prepared twice: start again */
    int r = 0;
    if (e->op == SL_EXPR_LIKE && e->nargs == 2) {
        r = like_prepare(e, err);
    } else if (e->op == SL_EXPR_CALL) {
        r = sl__func_prepare(e, err);
    }
    if (r < 0 && ret_bad != NULL) {
        *ret_bad = e;
    }
    return r;
}

int sl_expr_prepare(struct sl_expr *e, struct sl_err *err, const struct sl_expr **ret_bad)
{
    if (e == NULL) {
        return 0;
    }
    return prepare_node(e, err, ret_bad);
}

void sl__expr_unprepare(struct sl_expr *e)
{
    if (e->aux == NULL) {
        return;
    }
    if (e->op == SL_EXPR_CALL) {
        sl__func_unprepare(e);
    } else {
        free(e->aux);
    }
    e->aux = NULL;
}

/* ---- evaluation context ---- */

void sl_eval_init(struct sl_eval *ev, size_t scratch_cap)
{
    ev->scratch = scratch_cap > 0 ? malloc(scratch_cap) : NULL;
    ev->scratch_cap = ev->scratch != NULL ? scratch_cap : 0;
    ev->scratch_used = 0;
    ev->now_ms = 0;
    ev->overflows = 0;
    ev->truncated = 0;
    ev->regex_limits = 0;
    ev->match_data = NULL;
}

void sl_eval_fini(struct sl_eval *ev)
{
    sl__func_eval_fini(ev);
    free(ev->scratch);
    ev->scratch = NULL;
    ev->scratch_cap = 0;
    ev->scratch_used = 0;
}

/* ---- helpers ---- */

static inline void set_null(struct sl_value *out, const struct sl_expr *e)
{
    *out = sl_value_null((enum sl_type)e->type);
}

/* Evaluates e's first two arguments into *a and *b, for operators that are NULL when either
 * operand is: returns false with *out NULL (the second is not evaluated when the first is
 * NULL). */
static inline bool eval_args2(const struct sl_expr *e, const struct sl_value *row,
                              struct sl_eval *ev, struct sl_value *a, struct sl_value *b,
                              struct sl_value *out)
{
    sl_expr_eval(e->args[0], row, ev, a);
    if (a->null) {
        set_null(out, e);
        return false;
    }
    sl_expr_eval(e->args[1], row, ev, b);
    if (b->null) {
        set_null(out, e);
        return false;
    }
    return true;
}

static inline void set_bool(struct sl_value *out, bool b)
{
    *out = sl_value_bool(b);
}

int sl__value_cmp(const struct sl_value *a, const struct sl_value *b)
{
    switch (a->type) {
    case SL_TYPE_DOUBLE:
        return (a->u.d > b->u.d) - (a->u.d < b->u.d);
    case SL_TYPE_TEXT: {
        uint32_t n = a->len < b->len ? a->len : b->len;
        int c = n > 0 ? memcmp(a->u.s, b->u.s, n) : 0;
        if (c != 0) {
            return c;
        }
        return (a->len > b->len) - (a->len < b->len);
    }
    case SL_TYPE_BOOLEAN:
        return (int)a->u.b - (int)b->u.b;
    case SL_TYPE_BIGINT:
    case SL_TYPE_TIMESTAMP:
    case SL_TYPE_INTERVAL:
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    default:
        return 0;
    }
}

/* Three-valued truth: 0 false, 1 true, 2 unknown. */
enum { TV_FALSE, TV_TRUE, TV_NULL };

static inline int truth(const struct sl_value *v)
{
    return v->null ? TV_NULL : (v->u.b ? TV_TRUE : TV_FALSE);
}

static inline void set_truth(struct sl_value *out, int t)
{
    if (t == TV_NULL) {
        *out = sl_value_null(SL_TYPE_BOOLEAN);
    } else {
        set_bool(out, t == TV_TRUE);
    }
}

static inline int tv_not(int t)
{
    return t == TV_NULL ? TV_NULL : !t;
}

/* ---- arithmetic ---- */

static bool int_arith(int op, int64_t a, int64_t b, int64_t *ret)
{
    switch (op) {
    case SL_EXPR_ADD:
        return !__builtin_add_overflow(a, b, ret);
    case SL_EXPR_SUB:
        return !__builtin_sub_overflow(a, b, ret);
    case SL_EXPR_MUL:
        return !__builtin_mul_overflow(a, b, ret);
    case SL_EXPR_DIV:
        if (b == 0 || (a == INT64_MIN && b == -1)) {
            return false;
        }
        *ret = a / b;
        return true;
    case SL_EXPR_MOD:
        if (b == 0) {
            return false;
        }
        *ret = b == -1 ? 0 : a % b;
        return true;
    default:
        return false;
    }
}

static bool dbl_arith(int op, double a, double b, double *ret)
{
    double r;
    switch (op) {
    case SL_EXPR_ADD:
        r = a + b;
        break;
    case SL_EXPR_SUB:
        r = a - b;
        break;
    case SL_EXPR_MUL:
        r = a * b;
        break;
    case SL_EXPR_DIV:
        if (b == 0) {
            return false;
        }
        r = a / b;
        break;
    case SL_EXPR_MOD:
        if (b == 0) {
            return false;
        }
        r = fmod(a, b);
        break;
    default:
        return false;
    }
    *ret = r;
    return isfinite(r);
}

static void eval_arith(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                       struct sl_value *out)
{
    struct sl_value a, b;
    if (!eval_args2(e, row, ev, &a, &b, out)) {
        return;
    }
    if (e->type == SL_TYPE_DOUBLE) {
        double r;
        if (!dbl_arith(e->op, a.u.d, b.u.d, &r)) {
            ev->overflows++;
            set_null(out, e);
            return;
        }
        *out = sl_value_double(r);
        return;
    }
    /* BIGINT, TIMESTAMP +- INTERVAL, INTERVAL +- INTERVAL, TIMESTAMP - TIMESTAMP: int64 ms */
    int64_t r;
    if (!int_arith(e->op, a.u.i, b.u.i, &r)) {
        ev->overflows++;
        set_null(out, e);
        return;
    }
    *out = sl_value_bigint(r);
    out->type = e->type;
}

static void eval_neg(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                     struct sl_value *out)
{
    struct sl_value a;
    sl_expr_eval(e->args[0], row, ev, &a);
    if (a.null) {
        set_null(out, e);
        return;
    }
    if (e->type == SL_TYPE_DOUBLE) {
        *out = sl_value_double(-a.u.d);
        return;
    }
    if (a.u.i == INT64_MIN) {
        ev->overflows++;
        set_null(out, e);
        return;
    }
    *out = sl_value_bigint(-a.u.i);
    out->type = e->type;
}

/* ---- TEXT ---- */

bool sl__text_concat(struct sl_eval *ev, size_t mark, struct sl_value *acc,
                     const struct sl_value *b)
{
    if (b->len == 0) {
        return true;
    }
    if (acc->len == 0) {
        *acc = *b;
        return true;
    }
    size_t total = (size_t)acc->len + b->len;
    if (total > UINT32_MAX || ev->scratch == NULL) {
        ev->truncated++;
        return false;
    }
    if (acc->u.s == ev->scratch + mark) { /* acc sits at the mark: append b in place */
        if (total > ev->scratch_cap - mark) {
            ev->truncated++;
            return false;
        }
        memmove(ev->scratch + mark + acc->len, b->u.s, b->len);
        ev->scratch_used = mark + total;
        acc->len = (uint32_t)total;
        return true;
    }
    char *p = sl__scratch_alloc(ev, total);
    if (p == NULL) {
        return false;
    }
    memcpy(p, acc->u.s, acc->len);
    memcpy(p + acc->len, b->u.s, b->len);
    *acc = sl_value_text(sl__scratch_settle(ev, mark, p, total), (uint32_t)total);
    return true;
}

static void eval_concat(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                        struct sl_value *out)
{
    size_t mark = ev->scratch_used;
    struct sl_value a, b;
    if (!eval_args2(e, row, ev, &a, &b, out)) {
        return;
    }
    if (!sl__text_concat(ev, mark, &a, &b)) {
        set_null(out, e);
        return;
    }
    *out = a;
}

static void eval_like(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                      struct sl_value *out)
{
    struct sl_value x, p;
    if (!eval_args2(e, row, ev, &x, &p, out)) {
        return;
    }
    bool m = e->aux != NULL ? like_prepared(e->aux, x.u.s, x.len, p.u.s, p.len)
                            : like_match(x.u.s, x.len, p.u.s, p.len);
    set_bool(out, m != (bool)e->negated);
}

/* ---- comparisons and logic ---- */

static void eval_cmp(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                     struct sl_value *out)
{
    struct sl_value a, b;
    if (!eval_args2(e, row, ev, &a, &b, out)) {
        return;
    }
    int c = sl__value_cmp(&a, &b);
    bool r;
    switch (e->op) {
    case SL_EXPR_EQ:
        r = c == 0;
        break;
    case SL_EXPR_NE:
        r = c != 0;
        break;
    case SL_EXPR_LT:
        r = c < 0;
        break;
    case SL_EXPR_LE:
        r = c <= 0;
        break;
    case SL_EXPR_GT:
        r = c > 0;
        break;
    default:
        r = c >= 0;
        break;
    }
    set_bool(out, r);
}

static void eval_andor(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                       struct sl_value *out)
{
    /* AND: a FALSE decides; OR: a TRUE decides. Otherwise NULL beats the other value. */
    int decisive = e->op == SL_EXPR_AND ? TV_FALSE : TV_TRUE;
    struct sl_value v;
    sl_expr_eval(e->args[0], row, ev, &v);
    int a = truth(&v);
    if (a == decisive) {
        set_truth(out, a);
        return;
    }
    sl_expr_eval(e->args[1], row, ev, &v);
    int b = truth(&v);
    if (b == decisive) {
        set_truth(out, b);
        return;
    }
    set_truth(out, (a == TV_NULL || b == TV_NULL) ? TV_NULL : a);
}

static void eval_in(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                    struct sl_value *out)
{
    struct sl_value x, v;
    sl_expr_eval(e->args[0], row, ev, &x);
    if (x.null) {
        set_null(out, e);
        return;
    }
    bool saw_null = false;
    for (int i = 1; i < e->nargs; i++) {
        sl_expr_eval(e->args[i], row, ev, &v);
        if (v.null) {
            saw_null = true;
        } else if (sl__value_cmp(&x, &v) == 0) {
            set_bool(out, !e->negated);
            return;
        }
    }
    if (saw_null) {
        set_null(out, e);
        return;
    }
    set_bool(out, e->negated);
}

static void eval_between(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                         struct sl_value *out)
{
    struct sl_value x, lo, hi;
    sl_expr_eval(e->args[0], row, ev, &x);
    sl_expr_eval(e->args[1], row, ev, &lo);
    sl_expr_eval(e->args[2], row, ev, &hi);
    /* x >= lo AND x <= hi, three-valued */
    int ge = (x.null || lo.null) ? TV_NULL : sl__value_cmp(&x, &lo) >= 0;
    int le = (x.null || hi.null) ? TV_NULL : sl__value_cmp(&x, &hi) <= 0;
    int t;
    if (ge == TV_FALSE || le == TV_FALSE) {
        t = TV_FALSE;
    } else if (ge == TV_NULL || le == TV_NULL) {
        t = TV_NULL;
    } else {
        t = TV_TRUE;
    }
    set_truth(out, e->negated ? tv_not(t) : t);
}

static void eval_case(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                      struct sl_value *out)
{
    int n = e->nargs;
    int npairs = e->has_else ? (n - 1) / 2 : n / 2;
    struct sl_value w;
    for (int i = 0; i < npairs; i++) {
        sl_expr_eval(e->args[2 * i], row, ev, &w);
        if (!w.null && w.u.b) {
            sl_expr_eval(e->args[2 * i + 1], row, ev, out);
            out->type = e->type;
            return;
        }
    }
    if (e->has_else && n > 0) {
        sl_expr_eval(e->args[n - 1], row, ev, out);
        out->type = e->type;
        return;
    }
    set_null(out, e);
}

/* ---- CAST ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void trim_space(const char **s, size_t *n)
{
    while (*n > 0 && is_space((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*s)[*n - 1])) {
        (*n)--;
    }
}

/* [space] [+-] digits [space] -> int64; false if malformed or out of range. */
static bool parse_int(const char *s, size_t n, int64_t *ret)
{
    trim_space(&s, &n);
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == n) {
        return false;
    }
    int64_t v = 0; /* accumulated negatively so that INT64_MIN fits */
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, s[i] - '0', &v)) {
            return false;
        }
    }
    if (!neg) {
        if (v == INT64_MIN) {
            return false;
        }
        v = -v;
    }
    *ret = v;
    return true;
}

/* Decimal text -> double: [space] [+-] (d+ [. d*] | . d+) [(e|E) [+-] d+] [space]. The
 * digits are handed to strtod without a radix character ("-12345e-3"), so the locale
 * cannot change the result. NaN, Infinity and hex are refused; overflow gives false. */
static bool parse_double(const char *s, size_t n, double *ret)
{
    char buf[480];
    size_t k = 0, i = 0;
    trim_space(&s, &n);
    if (n == 0 || n > 400) {
        return false;
    }
    if (s[i] == '+' || s[i] == '-') {
        if (s[i] == '-') {
            buf[k++] = '-';
        }
        i++;
    }
    size_t nd = 0, nfrac = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        buf[k++] = s[i];
        nd++;
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            buf[k++] = s[i];
            nd++;
            nfrac++;
        }
    }
    if (nd == 0) {
        return false;
    }
    long x = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool xneg = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            xneg = s[i] == '-';
            i++;
        }
        if (i == n) {
            return false;
        }
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (x < 1000000) { /* beyond, the value is 0 or infinite anyway */
                x = x * 10 + (s[i] - '0');
            }
        }
        if (xneg) {
            x = -x;
        }
    }
    if (i != n) {
        return false;
    }
    x -= (long)nfrac;
    k += (size_t)snprintf(buf + k, sizeof(buf) - k, "e%ld", x);
    double d = strtod(buf, NULL);
    if (!isfinite(d)) {
        return false;
    }
    *ret = d;
    return true;
}

static bool ieq(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != lit[i]) {
            return false;
        }
    }
    return true;
}

/* DOUBLE -> int64, rounding half away from zero; false if out of range. */
static bool dbl_to_int(double d, int64_t *ret)
{
    double r = round(d);
    if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0)) {
        return false;
    }
    *ret = (int64_t)r;
    return true;
}

static void cast_to_text(const struct sl_expr *e, const struct sl_value *v, struct sl_eval *ev,
                         struct sl_value *out)
{
    char tmp[SL_FORMAT_NUM_MAX];
    size_t n;
    switch (v->type) {
    case SL_TYPE_BOOLEAN:
        *out = v->u.b ? sl_value_text("true", 4) : sl_value_text("false", 5);
        return;
    case SL_TYPE_BIGINT:
    case SL_TYPE_INTERVAL:
        n = sl_format_int(v->u.i, tmp);
        break;
    case SL_TYPE_DOUBLE:
        if (!isfinite(v->u.d)) {
            ev->overflows++;
            set_null(out, e);
            return;
        }
        n = sl_format_double(v->u.d, tmp);
        break;
    case SL_TYPE_TIMESTAMP: {
        int r = sl_format_rfc3339(v->u.i, tmp, sizeof(tmp));
        if (r < 0) {
            ev->overflows++;
            set_null(out, e);
            return;
        }
        n = (size_t)r;
        break;
    }
    default:
        ev->overflows++;
        set_null(out, e);
        return;
    }
    sl__scratch_text(ev, e, tmp, n, out);
}

static void cast_from_text(const struct sl_expr *e, const struct sl_value *v, struct sl_eval *ev,
                           struct sl_value *out)
{
    const char *s = v->u.s;
    size_t n = v->len;
    bool ok = false;
    int64_t i = 0;
    double d = 0;
    switch (e->type) {
    case SL_TYPE_BIGINT:
        ok = parse_int(s, n, &i);
        break;
    case SL_TYPE_DOUBLE:
        ok = parse_double(s, n, &d);
        break;
    case SL_TYPE_BOOLEAN:
        trim_space(&s, &n);
        ok = ieq(s, n, "true") || ieq(s, n, "false");
        i = ieq(s, n, "true");
        break;
    case SL_TYPE_TIMESTAMP:
        trim_space(&s, &n);
        ok = sl_parse_rfc3339(s, n, &i) == 0;
        break;
    default:
        break;
    }
    if (!ok) {
        ev->overflows++;
        set_null(out, e);
        return;
    }
    if (e->type == SL_TYPE_DOUBLE) {
        *out = sl_value_double(d);
    } else if (e->type == SL_TYPE_BOOLEAN) {
        *out = sl_value_bool(i != 0);
    } else {
        *out = sl_value_bigint(i);
        out->type = e->type;
    }
}

static void eval_cast(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                      struct sl_value *out)
{
    struct sl_value v;
    sl_expr_eval(e->args[0], row, ev, &v);
    if (v.null) {
        set_null(out, e);
        return;
    }
    enum sl_type to = (enum sl_type)e->type;
    if (v.type == to) {
        *out = v;
        return;
    }
    if (to == SL_TYPE_TEXT) {
        cast_to_text(e, &v, ev, out);
        return;
    }
    if (v.type == SL_TYPE_TEXT) {
        cast_from_text(e, &v, ev, out);
        return;
    }
    /* between BOOLEAN, BIGINT, DOUBLE, TIMESTAMP and INTERVAL */
    int64_t i = 0;
    double d = 0;
    bool is_dbl = false;
    switch (v.type) {
    case SL_TYPE_BOOLEAN:
        i = v.u.b;
        break;
    case SL_TYPE_BIGINT:
    case SL_TYPE_TIMESTAMP:
    case SL_TYPE_INTERVAL:
        i = v.u.i;
        break;
    case SL_TYPE_DOUBLE:
        d = v.u.d;
        is_dbl = true;
        break;
    default:
        ev->overflows++;
        set_null(out, e);
        return;
    }
    switch (to) {
    case SL_TYPE_DOUBLE:
        *out = sl_value_double(is_dbl ? d : (double)i);
        return;
    case SL_TYPE_BOOLEAN:
        *out = sl_value_bool(is_dbl ? d != 0 : i != 0);
        return;
    case SL_TYPE_BIGINT:
    case SL_TYPE_TIMESTAMP:
    case SL_TYPE_INTERVAL:
        if (is_dbl && !dbl_to_int(d, &i)) {
            ev->overflows++;
            set_null(out, e);
            return;
        }
        *out = sl_value_bigint(i);
        out->type = (uint8_t)to;
        return;
    default:
        ev->overflows++;
        set_null(out, e);
        return;
    }
}

/* ---- the walk ---- */

void sl_expr_eval(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                  struct sl_value *out)
{
    struct sl_value v;
    switch (e->op) {
    case SL_EXPR_CONST:
        *out = e->cval;
        out->type = e->type;
        return;
    case SL_EXPR_COL:
        *out = row[e->slot];
        out->type = e->type;
        if (e->type == SL_TYPE_TEXT && !out->null && out->u.s == NULL) {
            out->u.s = ""; /* an empty cell without bytes: keep NULL away from memcmp & co. */
        }
        return;
    case SL_EXPR_NEG:
        eval_neg(e, row, ev, out);
        return;
    case SL_EXPR_ADD:
    case SL_EXPR_SUB:
    case SL_EXPR_MUL:
    case SL_EXPR_DIV:
    case SL_EXPR_MOD:
        eval_arith(e, row, ev, out);
        return;
    case SL_EXPR_CONCAT:
        eval_concat(e, row, ev, out);
        return;
    case SL_EXPR_EQ:
    case SL_EXPR_NE:
    case SL_EXPR_LT:
    case SL_EXPR_LE:
    case SL_EXPR_GT:
    case SL_EXPR_GE:
        eval_cmp(e, row, ev, out);
        return;
    case SL_EXPR_AND:
    case SL_EXPR_OR:
        eval_andor(e, row, ev, out);
        return;
    case SL_EXPR_NOT:
        sl_expr_eval(e->args[0], row, ev, &v);
        set_truth(out, tv_not(truth(&v)));
        return;
    case SL_EXPR_IS_NULL:
        sl_expr_eval(e->args[0], row, ev, &v);
        set_bool(out, (bool)v.null != (bool)e->negated);
        return;
    case SL_EXPR_IN:
        eval_in(e, row, ev, out);
        return;
    case SL_EXPR_BETWEEN:
        eval_between(e, row, ev, out);
        return;
    case SL_EXPR_LIKE:
        eval_like(e, row, ev, out);
        return;
    case SL_EXPR_CASE:
        eval_case(e, row, ev, out);
        return;
    case SL_EXPR_CAST:
        eval_cast(e, row, ev, out);
        return;
    case SL_EXPR_CALL:
        sl__func_eval(e, row, ev, out);
        return;
    default:
        set_null(out, e);
        return;
    }
}
