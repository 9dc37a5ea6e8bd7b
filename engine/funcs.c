/*
 * funcs.c - the scalar functions of SQL.md (enum sl_func in expr.h): their load-time
 * preparation and their evaluation.
 *
 * Same contract as expr_eval.c: evaluation never fails (errors give NULL and are counted in
 * struct sl_eval), allocates nothing, makes no syscall and takes no lock. The one exception
 * is the PCRE2 match data, made once per thread on its first REGEXP_MATCH and kept in
 * ev->match_data (PCRE2 also keeps its backtracking frames there, grown on demand).
 *
 * Choices where SQL.md is silent (Flink, then RisingWave, then PostgreSQL):
 *  - ROUND(DOUBLE, n) rounds the shortest decimal form of the value half away from zero,
 *    as Flink does (BigDecimal.valueOf(d), HALF_UP): ROUND(1.005, 2) = 1.01.
 *  - SUBSTR(s, start, count) as PostgreSQL/RisingWave: positions before 1 are cut off
 *    (SUBSTR('abc', 0, 2) = 'a'); a negative count gives NULL (their error).
 *  - SPLIT_PART with n = 0 gives NULL (PostgreSQL's error); an empty delimiter makes the
 *    whole text field 1 (and -1).
 *  - CONCAT of only NULLs is '' (PostgreSQL); LEAST/GREATEST ignore NULLs (PostgreSQL).
 *  - LOWER/UPPER use a hand-written table of Unicode simple case mappings (no locale):
 *    Basic Latin, Latin-1, Latin Extended-A and -B, Greek and Coptic, Cyrillic and its
 *    Supplement, Latin Extended Additional. Other code points are left as they are.
 *  - TO_TIMESTAMP of a DOUBLE floors the value's shortest decimal form to milliseconds, so
 *    TO_TIMESTAMP(1.001) is 1001 ms, as the JSON decoder reads the text "1.001".
 *  - DATE_TRUNC accepts its units in singular or plural, any case.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "expr_int.h"
#include "format.h"
#include "timefmt.h"

/* REGEXP_MATCH limits: a run stopped by one gives NULL and counts in ev->regex_limits. */
#define REGEX_MATCH_LIMIT 1000000u /* calls of PCRE2's internal match(): a few ms at most */
#define REGEX_DEPTH_LIMIT 10000u   /* nested backtracking points */
#define REGEX_HEAP_LIMIT  8192u    /* KiB of backtracking frames per thread */

#define MS_PER_DAY 86400000LL

/* ---- case mapping ---- */

enum case_kind {
    CASE_DELTA, /* upper [lo, hi] <-> lower [lo + d, hi + d] */
    CASE_EVEN,  /* in [lo, hi], even code points are upper case, the next one its lower */
    CASE_ODD,   /* in [lo, hi], odd code points are upper case, the next one its lower */
};

struct case_range {
    uint16_t lo, hi;
    uint8_t kind;
    int16_t d;
};

static const struct case_range case_ranges[] = {
    {0x0041, 0x005A, CASE_DELTA, 32}, {0x00C0, 0x00D6, CASE_DELTA, 32},
    {0x00D8, 0x00DE, CASE_DELTA, 32}, {0x0100, 0x012F, CASE_EVEN, 0},
    {0x0132, 0x0137, CASE_EVEN, 0},   {0x0139, 0x0148, CASE_ODD, 0},
    {0x014A, 0x0177, CASE_EVEN, 0},   {0x0179, 0x017E, CASE_ODD, 0},
    {0x0182, 0x0185, CASE_EVEN, 0},   {0x0187, 0x0188, CASE_ODD, 0},
    {0x018B, 0x018C, CASE_ODD, 0},    {0x0191, 0x0192, CASE_ODD, 0},
    {0x0198, 0x0199, CASE_EVEN, 0},   {0x01A0, 0x01A5, CASE_EVEN, 0},
    {0x01A7, 0x01A8, CASE_ODD, 0},    {0x01AC, 0x01AD, CASE_EVEN, 0},
    {0x01AF, 0x01B0, CASE_ODD, 0},    {0x01B3, 0x01B6, CASE_ODD, 0},
    {0x01B8, 0x01B9, CASE_EVEN, 0},   {0x01BC, 0x01BD, CASE_EVEN, 0},
    {0x01CD, 0x01DC, CASE_ODD, 0},    {0x01DE, 0x01EF, CASE_EVEN, 0},
    {0x01F4, 0x01F5, CASE_EVEN, 0},   {0x01F8, 0x021F, CASE_EVEN, 0},
    {0x0222, 0x0233, CASE_EVEN, 0},   {0x023B, 0x023C, CASE_ODD, 0},
    {0x0241, 0x0242, CASE_ODD, 0},    {0x0246, 0x024F, CASE_EVEN, 0},
    {0x0370, 0x0373, CASE_EVEN, 0},   {0x0376, 0x0377, CASE_EVEN, 0},
    {0x0388, 0x038A, CASE_DELTA, 37}, {0x038E, 0x038F, CASE_DELTA, 63},
    {0x0391, 0x03A1, CASE_DELTA, 32}, {0x03A3, 0x03AB, CASE_DELTA, 32},
    {0x03D8, 0x03EF, CASE_EVEN, 0},   {0x03F7, 0x03F8, CASE_ODD, 0},
    {0x03FA, 0x03FB, CASE_EVEN, 0},   {0x03FD, 0x03FF, CASE_DELTA, -130},
    {0x0400, 0x040F, CASE_DELTA, 80}, {0x0410, 0x042F, CASE_DELTA, 32},
    {0x0460, 0x0481, CASE_EVEN, 0},   {0x048A, 0x04BF, CASE_EVEN, 0},
    {0x04C1, 0x04CE, CASE_ODD, 0},    {0x04D0, 0x04FF, CASE_EVEN, 0},
    {0x0500, 0x052F, CASE_EVEN, 0},   {0x1E00, 0x1E95, CASE_EVEN, 0},
    {0x1EA0, 0x1EFF, CASE_EVEN, 0},
};

/* One-way mappings that no range above covers: from -> to. */
struct case_pair {
    uint16_t from, to;
};

static const struct case_pair lower_pairs[] = {
    {0x0130, 0x0069}, {0x0178, 0x00FF}, {0x0181, 0x0253}, {0x0186, 0x0254}, {0x0189, 0x0256},
    {0x018A, 0x0257}, {0x018E, 0x01DD}, {0x018F, 0x0259}, {0x0190, 0x025B}, {0x0193, 0x0260},
    {0x0194, 0x0263}, {0x0196, 0x0269}, {0x0197, 0x0268}, {0x019C, 0x026F}, {0x019D, 0x0272},
    {0x019F, 0x0275}, {0x01A6, 0x0280}, {0x01A9, 0x0283}, {0x01AE, 0x0288}, {0x01B1, 0x028A},
    {0x01B2, 0x028B}, {0x01B7, 0x0292}, {0x01C4, 0x01C6}, {0x01C5, 0x01C6}, {0x01C7, 0x01C9},
    {0x01C8, 0x01C9}, {0x01CA, 0x01CC}, {0x01CB, 0x01CC}, {0x01F1, 0x01F3}, {0x01F2, 0x01F3},
    {0x01F6, 0x0195}, {0x01F7, 0x01BF}, {0x0220, 0x019E}, {0x023A, 0x2C65}, {0x023D, 0x019A},
    {0x023E, 0x2C66}, {0x0243, 0x0180}, {0x0244, 0x0289}, {0x0245, 0x028C}, {0x037F, 0x03F3},
    {0x0386, 0x03AC}, {0x038C, 0x03CC}, {0x03CF, 0x03D7}, {0x03F4, 0x03B8}, {0x03F9, 0x03F2},
    {0x04C0, 0x04CF}, {0x1E9E, 0x00DF},
};

static const struct case_pair upper_pairs[] = {
    {0x00B5, 0x039C}, {0x00FF, 0x0178}, {0x0131, 0x0049}, {0x017F, 0x0053}, {0x0180, 0x0243},
    {0x0195, 0x01F6}, {0x019A, 0x023D}, {0x019E, 0x0220}, {0x01BF, 0x01F7}, {0x01C5, 0x01C4},
    {0x01C6, 0x01C4}, {0x01C8, 0x01C7}, {0x01C9, 0x01C7}, {0x01CB, 0x01CA}, {0x01CC, 0x01CA},
    {0x01DD, 0x018E}, {0x01F2, 0x01F1}, {0x01F3, 0x01F1}, {0x023F, 0x2C7E}, {0x0240, 0x2C7F},
    {0x0345, 0x0399}, {0x037B, 0x03FD}, {0x037C, 0x03FE}, {0x037D, 0x03FF}, {0x03AC, 0x0386},
    {0x03AD, 0x0388}, {0x03AE, 0x0389}, {0x03AF, 0x038A}, {0x03C2, 0x03A3}, {0x03CC, 0x038C},
    {0x03CD, 0x038E}, {0x03CE, 0x038F}, {0x03D0, 0x0392}, {0x03D1, 0x0398}, {0x03D5, 0x03A6},
    {0x03D6, 0x03A0}, {0x03D7, 0x03CF}, {0x03F0, 0x039A}, {0x03F1, 0x03A1}, {0x03F2, 0x03F9},
    {0x03F3, 0x037F}, {0x03F5, 0x0395}, {0x04CF, 0x04C0}, {0x1E9B, 0x1E60},
};

static uint32_t pair_lookup(const struct case_pair *t, size_t n, uint32_t c)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].from == c) {
            return t[i].to;
        }
    }
    return c;
}

uint32_t sl__cp_lower(uint32_t c)
{
    if (c < 0x80) {
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(case_ranges); i++) {
        const struct case_range *r = &case_ranges[i];
        if (c < r->lo || c > r->hi) {
            continue;
        }
        if (r->kind == CASE_DELTA) {
            return (uint32_t)((int32_t)c + r->d);
        }
        if ((c & 1) == (r->kind == CASE_ODD ? 1u : 0u) && c < r->hi) {
            return c + 1;
        }
        return c;
    }
    return pair_lookup(lower_pairs, SL_ARRAY_LEN(lower_pairs), c);
}

uint32_t sl__cp_upper(uint32_t c)
{
    if (c < 0x80) {
        return c >= 'a' && c <= 'z' ? c - 32 : c;
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(case_ranges); i++) {
        const struct case_range *r = &case_ranges[i];
        if (r->kind == CASE_DELTA) {
            int32_t lo = r->lo + r->d, hi = r->hi + r->d;
            if ((int32_t)c >= lo && (int32_t)c <= hi) {
                return (uint32_t)((int32_t)c - r->d);
            }
            continue;
        }
        if (c < r->lo || c > r->hi) {
            continue;
        }
        if ((c & 1) != (r->kind == CASE_ODD ? 1u : 0u) && c > r->lo) {
            return c - 1;
        }
        return c;
    }
    return pair_lookup(upper_pairs, SL_ARRAY_LEN(upper_pairs), c);
}

/* Decodes the UTF-8 sequence at s (n > 0 bytes left). Returns the code point and its
 * length, or UINT32_MAX with length 1 for a byte that does not start a valid sequence. */
static uint32_t utf8_decode(const unsigned char *s, size_t n, size_t *ret_len)
{
    uint32_t c = s[0];
    size_t len = sl__utf8_len(s[0]);
    *ret_len = 1;
    if (c < 0x80) {
        return c;
    }
    if (len == 1 || len > n) {
        return UINT32_MAX;
    }
    c &= 0x3Fu >> (len - 1);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return UINT32_MAX;
        }
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    *ret_len = len;
    return c;
}

static size_t utf8_encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* ---- helpers ---- */

static inline void set_null(struct sl_value *out, const struct sl_expr *e)
{
    *out = sl_value_null((enum sl_type)e->type);
}

static inline void set_int(struct sl_value *out, const struct sl_expr *e, int64_t i)
{
    *out = sl_value_bigint(i);
    out->type = e->type;
}

/* A DOUBLE result: NULL (counted) unless finite. */
static inline void set_double(struct sl_value *out, const struct sl_expr *e, struct sl_eval *ev,
                              double d)
{
    if (!isfinite(d)) {
        ev->overflows++;
        set_null(out, e);
        return;
    }
    *out = sl_value_double(d);
}

static inline void overflow(struct sl_value *out, const struct sl_expr *e, struct sl_eval *ev)
{
    ev->overflows++;
    set_null(out, e);
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* ---- ROUND ---- */

/* x rounded at 10^-d, half away from zero, on its shortest decimal form: exact. */
static double round_digits(double x, int64_t d)
{
    char dg[17];
    int n;
    int k = sl__format_digits(x, dg, &n);
    int64_t keep = n + d; /* digits kept */
    if (keep >= k) {
        return x;
    }
    if (keep < 0) {
        return 0.0;
    }
    /* digits [0, keep) then carry from dg[keep] */
    char buf[48];
    size_t len = 0;
    if (x < 0) {
        buf[len++] = '-';
    }
    size_t first = len;
    memcpy(buf + len, dg, (size_t)keep);
    len += (size_t)keep;
    int x10 = n - (int)keep; /* value = digits × 10^x10 */
    if (dg[keep] >= '5') {
        size_t i = len;
        while (i > first && buf[i - 1] == '9') {
            buf[--i] = '0';
        }
        if (i > first) {
            buf[i - 1]++;
        } else { /* all nines (or nothing kept): 10^(digits) */
            buf[first] = '1';
            len = first + 1;
            x10 = n;
        }
    } else if (keep == 0) {
        return 0.0;
    }
    snprintf(buf + len, sizeof(buf) - len, "e%d", x10);
    return strtod(buf, NULL);
}

static double round_double(double x, int64_t d)
{
    if (x == 0 || !isfinite(x)) {
        return x;
    }
    if (d > 400 || (d >= 0 && fabs(x) >= 4503599627370496.0)) { /* 2^52: x is an integer */
        return x;
    }
    if (d < -400) {
        return 0.0;
    }
    /* Fast path: x·10^d computed in one correctly rounded step is within 2.3e-16 relative of
     * the shortest decimal times 10^d; when its fraction is clearly away from .5 both round
     * the same way, and one more correctly rounded step gives the exact answer. */
    if (d >= -22 && d <= 22) {
        double p = pow10_exact[d < 0 ? -d : d];
        double y = d >= 0 ? x * p : x / p;
        double ay = fabs(y);
        if (ay < 1e13) {
            double f = ay - floor(ay);
            if (fabs(f - 0.5) > 1e-14 * ay + 1e-300) {
                double r = round(y);
                return d >= 0 ? r / p : r * p;
            }
        }
    }
    return round_digits(x, d);
}

static bool round_bigint(int64_t x, int64_t d, int64_t *ret)
{
    if (d >= 0) {
        *ret = x;
        return true;
    }
    if (d < -19) {
        *ret = 0;
        return true;
    }
    if (d == -19) { /* 10^19 does not fit: 0, or ±10^19 which overflows */
        *ret = 0;
        return x > -5000000000000000000LL && x < 5000000000000000000LL;
    }
    int64_t p = 1;
    for (int64_t i = 0; i < -d; i++) {
        p *= 10;
    }
    int64_t q = x / p, r = x % p;
    if (r >= 0 && r >= p - r) {
        q++;
    } else if (r < 0 && -r >= p + r) {
        q--;
    }
    return !__builtin_mul_overflow(q, p, ret);
}

/* ---- timestamps ---- */

/* floor(S · 10^s) where S is the shortest decimal form of x; false if out of range. */
static bool floor_scaled_digits(double x, int s, int64_t *ret)
{
    char dg[17];
    int n;
    int k = sl__format_digits(x, dg, &n);
    int ip = n + s; /* integer digits */
    if (ip > 18) {
        return false;
    }
    int64_t v = 0;
    bool frac = false;
    for (int i = 0; i < k; i++) {
        if (i < ip) {
            v = v * 10 + (dg[i] - '0');
        } else if (dg[i] != '0') {
            frac = true;
        }
    }
    for (int i = k; i < ip; i++) {
        v *= 10;
    }
    *ret = x < 0 ? -(v + frac) : v;
    return true;
}

/* Epoch number -> ms: above 1e11 it is ms, else seconds; fractions floored to ms. */
static bool epoch_double_to_ms(double x, int64_t *ret)
{
    if (!isfinite(x)) {
        return false;
    }
    bool ms = x > 1e11;
    if (x == trunc(x)) {
        if (!(fabs(x) < 9.2e18)) {
            return false;
        }
        int64_t i = (int64_t)x;
        if (ms) {
            *ret = i;
            return true;
        }
        return !__builtin_mul_overflow(i, 1000, ret);
    }
    double y = ms ? x : x * 1000.0;
    double ay = fabs(y);
    if (!(ay < 9e17)) {
        return false;
    }
    double f = y - floor(y);
    double margin = 1e-15 * ay + 1e-300;
    if (f > margin && f < 1.0 - margin) {
        *ret = (int64_t)floor(y);
        return true;
    }
    return floor_scaled_digits(x, ms ? 0 : 3, ret);
}

enum trunc_unit {
    TRUNC_MS = 1,
    TRUNC_SECOND,
    TRUNC_MINUTE,
    TRUNC_HOUR,
    TRUNC_DAY,
    TRUNC_WEEK,
    TRUNC_MONTH,
    TRUNC_QUARTER,
    TRUNC_YEAR,
};

static const char *const trunc_names[] = {
    [TRUNC_MS] = "millisecond", [TRUNC_SECOND] = "second",   [TRUNC_MINUTE] = "minute",
    [TRUNC_HOUR] = "hour",      [TRUNC_DAY] = "day",         [TRUNC_WEEK] = "week",
    [TRUNC_MONTH] = "month",    [TRUNC_QUARTER] = "quarter", [TRUNC_YEAR] = "year",
};

static int trunc_unit_find(const char *s, size_t n)
{
    for (int u = TRUNC_MS; u <= TRUNC_YEAR; u++) {
        size_t m = strlen(trunc_names[u]);
        if (n != m && n != m + 1) {
            continue;
        }
        if (strncasecmp(s, trunc_names[u], m) == 0 && (n == m || s[m] == 's' || s[m] == 'S')) {
            return u;
        }
    }
    return 0;
}

static bool date_trunc(int unit, int64_t ms, int64_t *ret)
{
    static const int64_t fixed[] = {[TRUNC_MS] = 1,
                                    [TRUNC_SECOND] = 1000,
                                    [TRUNC_MINUTE] = 60000,
                                    [TRUNC_HOUR] = 3600000,
                                    [TRUNC_DAY] = MS_PER_DAY};
    int64_t days = sl_floor_div(ms, MS_PER_DAY);
    int64_t y;
    unsigned m, d;
    switch (unit) {
    case TRUNC_MS:
    case TRUNC_SECOND:
    case TRUNC_MINUTE:
    case TRUNC_HOUR:
    case TRUNC_DAY:
        return !__builtin_mul_overflow(sl_floor_div(ms, fixed[unit]), fixed[unit], ret);
    case TRUNC_WEEK: /* 1970-01-01 was a Thursday: Monday-based weekday = (days + 3) mod 7 */
        days -= sl_floor_mod(days + 3, 7);
        return !__builtin_mul_overflow(days, MS_PER_DAY, ret);
    default:
        sl_civil_from_days(days, &y, &m, &d);
        if (unit == TRUNC_YEAR) {
            m = 1;
        } else if (unit == TRUNC_QUARTER) {
            m = (m - 1) / 3 * 3 + 1;
        }
        return !__builtin_mul_overflow(sl_days_from_civil(y, m, 1), MS_PER_DAY, ret);
    }
}

/* ---- REGEXP_MATCH ---- */

struct re_prep {
    pcre2_code *code;
    pcre2_match_context *mctx;
};

static int regex_prepare(struct sl_expr *e, struct sl_err *err)
{
    const struct sl_expr *pat = e->args[1];
    if (pat->op != SL_EXPR_CONST) {
        return sl_err_set(err, SL_ERR_TYPE,
                          "REGEXP_MATCH needs a literal pattern (it is compiled at load)");
    }
    if (pat->cval.null) {
        return 0; /* always NULL */
    }
    struct re_prep *rp = calloc(1, sizeof(*rp));
    if (rp == NULL) {
        return sl_err_set(err, -ENOMEM, "out of memory");
    }
    int code;
    PCRE2_SIZE off;
    rp->code =
        pcre2_compile((PCRE2_SPTR)pat->cval.u.s, pat->cval.len, PCRE2_UTF, &code, &off, NULL);
    if (rp->code == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        free(rp);
        return sl_err_set(err, SL_ERR_PARSE,
                          "invalid regular expression at offset %zu of the pattern: %s",
                          (size_t)off, (const char *)msg);
    }
    rp->mctx = pcre2_match_context_create(NULL);
    if (rp->mctx == NULL) {
        pcre2_code_free(rp->code);
        free(rp);
        return sl_err_set(err, -ENOMEM, "out of memory");
    }
    pcre2_set_match_limit(rp->mctx, REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(rp->mctx, REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(rp->mctx, REGEX_HEAP_LIMIT);
    e->aux = rp;
    return 0;
}

static void regex_eval(const struct sl_expr *e, const struct sl_value *x, struct sl_eval *ev,
                       struct sl_value *out)
{
    const struct re_prep *rp = e->aux;
    if (rp == NULL) {
        set_null(out, e);
        return;
    }
    if (ev->match_data == NULL) {
        ev->match_data = pcre2_match_data_create(1, NULL); /* once per thread */
        if (ev->match_data == NULL) {
            ev->regex_limits++;
            set_null(out, e);
            return;
        }
    }
    int rc = pcre2_match(rp->code, (PCRE2_SPTR)(x->len > 0 ? x->u.s : ""), x->len, 0, 0,
                         ev->match_data, rp->mctx);
    if (rc >= 0) {
        *out = sl_value_bool(true);
    } else if (rc == PCRE2_ERROR_NOMATCH) {
        *out = sl_value_bool(false);
    } else if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
               rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_NOMEMORY) {
        ev->regex_limits++;
        set_null(out, e);
    } else { /* invalid UTF-8 in the subject: not a value we can judge */
        ev->overflows++;
        set_null(out, e);
    }
}

/* ---- prepare ---- */

int sl__func_prepare(struct sl_expr *e, struct sl_err *err)
{
    switch (e->fn) {
    case SL_FN_REGEXP_MATCH:
        if (e->nargs != 2) {
            return sl_err_set(err, SL_ERR_TYPE, "REGEXP_MATCH takes (text, pattern)");
        }
        return regex_prepare(e, err);
    case SL_FN_DATE_TRUNC: {
        if (e->nargs != 2) {
            return sl_err_set(err, SL_ERR_TYPE, "DATE_TRUNC takes (unit, timestamp)");
        }
        const struct sl_expr *u = e->args[0];
        if (u->op != SL_EXPR_CONST || (!u->cval.null && u->cval.type != SL_TYPE_TEXT)) {
            return sl_err_set(err, SL_ERR_TYPE, "DATE_TRUNC needs a literal unit such as 'hour'");
        }
        if (u->cval.null) {
            return 0; /* always NULL */
        }
        int unit = trunc_unit_find(u->cval.u.s, u->cval.len);
        if (unit == 0) {
            return sl_err_set(err, SL_ERR_PARSE,
                              "unknown DATE_TRUNC unit '%.*s'; expected one of millisecond, "
                              "second, minute, hour, day, week, month, quarter, year",
                              (int)(u->cval.len > 64 ? 64 : u->cval.len), u->cval.u.s);
        }
        e->aux = (void *)(uintptr_t)unit; /* not a pointer: see sl__func_unprepare */
        return 0;
    }
    default:
        return 0;
    }
}

void sl__func_unprepare(struct sl_expr *e)
{
    if (e->fn == SL_FN_REGEXP_MATCH) {
        struct re_prep *rp = e->aux;
        pcre2_match_context_free(rp->mctx);
        pcre2_code_free(rp->code);
        free(rp);
    }
    e->aux = NULL; /* DATE_TRUNC keeps its unit number in aux: nothing to free */
}

void sl__func_eval_fini(struct sl_eval *ev)
{
    pcre2_match_data_free(ev->match_data);
    ev->match_data = NULL;
}

/* ---- TEXT functions ---- */

static void fn_case(const struct sl_expr *e, const struct sl_value *v, struct sl_eval *ev,
                    size_t mark, bool upper, struct sl_value *out)
{
    const unsigned char *s = (const unsigned char *)v->u.s;
    size_t n = v->len, i = 0;
    /* Common case: ASCII already in the asked case -> the input itself. */
    for (; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x80 || (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'))) {
            break;
        }
    }
    if (i == n) {
        *out = *v;
        return;
    }
    if (ev->scratch == NULL) {
        ev->truncated++;
        set_null(out, e);
        return;
    }
    char *dst = ev->scratch + ev->scratch_used;
    size_t room = ev->scratch_cap - ev->scratch_used, len = 0;
    if (i > room) {
        ev->truncated++;
        set_null(out, e);
        return;
    }
    memcpy(dst, s, i);
    len = i;
    while (i < n) {
        size_t cl;
        uint32_t c = utf8_decode(s + i, n - i, &cl);
        char enc[4];
        size_t el;
        if (c == UINT32_MAX) {
            enc[0] = (char)s[i];
            el = 1;
        } else {
            el = utf8_encode(upper ? sl__cp_upper(c) : sl__cp_lower(c), enc);
        }
        if (el > room - len) {
            ev->truncated++;
            set_null(out, e);
            return;
        }
        memcpy(dst + len, enc, el);
        len += el;
        i += cl;
    }
    if (len > UINT32_MAX) {
        ev->truncated++;
        set_null(out, e);
        return;
    }
    ev->scratch_used += len;
    *out = sl_value_text(sl__scratch_settle(ev, mark, dst, len), (uint32_t)len);
}

static int64_t utf8_count(const char *s, size_t n)
{
    int64_t count = 0;
    for (size_t i = 0; i < n; i++) {
        count += ((unsigned char)s[i] & 0xC0) != 0x80;
    }
    return count;
}

/* Byte offset of the code point with 0-based index k (n if the text is shorter). */
static size_t utf8_skip(const char *s, size_t n, int64_t k)
{
    size_t i = 0;
    while (k > 0 && i < n) {
        i = sl__utf8_next(s, n, i);
        k--;
    }
    return i;
}

static void fn_substr(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                      struct sl_value *out)
{
    struct sl_value s, a, b;
    sl_expr_eval(e->args[0], row, ev, &s);
    sl_expr_eval(e->args[1], row, ev, &a);
    if (s.null || a.null) {
        set_null(out, e);
        return;
    }
    int64_t start = a.u.i, end = INT64_MAX; /* 1-based, [start, end) */
    if (e->nargs > 2) {
        sl_expr_eval(e->args[2], row, ev, &b);
        if (b.null || b.u.i < 0) {
            set_null(out, e);
            return;
        }
        if (__builtin_add_overflow(start, b.u.i, &end)) {
            end = INT64_MAX;
        }
    }
    if (start < 1) {
        start = 1;
    }
    if (end <= start) {
        *out = sl_value_text(s.u.s, 0);
        return;
    }
    size_t from = utf8_skip(s.u.s, s.len, start - 1);
    size_t to = from + utf8_skip(s.u.s + from, s.len - from, end - start);
    *out = sl_value_text(s.u.s + from, (uint32_t)(to - from));
}

static void fn_split_part(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                          struct sl_value *out)
{
    struct sl_value s, dl, nv;
    sl_expr_eval(e->args[0], row, ev, &s);
    sl_expr_eval(e->args[1], row, ev, &dl);
    sl_expr_eval(e->args[2], row, ev, &nv);
    if (s.null || dl.null || nv.null || nv.u.i == 0) {
        set_null(out, e);
        return;
    }
    int64_t n = nv.u.i;
    if (dl.len == 0) {
        *out = (n == 1 || n == -1) ? s : sl_value_text(s.u.s, 0);
        return;
    }
    if (n < 0) { /* count the fields, then index from the left */
        int64_t fields = 1;
        const char *p = s.u.s, *end = s.u.s + s.len;
        const char *q;
        while ((q = memmem(p, (size_t)(end - p), dl.u.s, dl.len)) != NULL) {
            fields++;
            p = q + dl.len;
        }
        n = fields + n + 1;
        if (n < 1) {
            *out = sl_value_text(s.u.s, 0);
            return;
        }
    }
    const char *p = s.u.s, *end = s.u.s + s.len;
    for (int64_t i = 1; i < n; i++) {
        const char *q = memmem(p, (size_t)(end - p), dl.u.s, dl.len);
        if (q == NULL) {
            *out = sl_value_text(s.u.s, 0);
            return;
        }
        p = q + dl.len;
    }
    const char *q = memmem(p, (size_t)(end - p), dl.u.s, dl.len);
    *out = sl_value_text(p, (uint32_t)((q != NULL ? q : end) - p));
}

static void fn_concat(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                      struct sl_value *out)
{
    size_t mark = ev->scratch_used;
    struct sl_value acc = sl_value_text("", 0), v;
    for (int i = 0; i < e->nargs; i++) {
        sl_expr_eval(e->args[i], row, ev, &v);
        if (!v.null && !sl__text_concat(ev, mark, &acc, &v)) {
            set_null(out, e);
            return;
        }
    }
    *out = acc;
}

/* ---- dispatch ---- */

/* LEAST / GREATEST: NULLs ignored. */
static void fn_extreme(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                       bool greatest, struct sl_value *out)
{
    struct sl_value best = sl_value_null((enum sl_type)e->type), v;
    for (int i = 0; i < e->nargs; i++) {
        sl_expr_eval(e->args[i], row, ev, &v);
        if (v.null) {
            continue;
        }
        if (best.null) {
            best = v;
            continue;
        }
        int c = sl__value_cmp(&v, &best);
        if (greatest ? c > 0 : c < 0) {
            best = v;
        }
    }
    *out = best;
    out->type = e->type;
}

void sl__func_eval(const struct sl_expr *e, const struct sl_value *row, struct sl_eval *ev,
                   struct sl_value *out)
{
    struct sl_value a, b;
    size_t mark = ev->scratch_used;
    switch (e->fn) {
    case SL_FN_LEAST:
    case SL_FN_GREATEST:
        fn_extreme(e, row, ev, e->fn == SL_FN_GREATEST, out);
        return;
    case SL_FN_COALESCE:
        for (int i = 0; i < e->nargs; i++) {
            sl_expr_eval(e->args[i], row, ev, out);
            if (!out->null) {
                out->type = e->type;
                return;
            }
        }
        set_null(out, e);
        return;
    case SL_FN_CONCAT:
        fn_concat(e, row, ev, out);
        return;
    case SL_FN_SUBSTR:
        fn_substr(e, row, ev, out);
        return;
    case SL_FN_SPLIT_PART:
        fn_split_part(e, row, ev, out);
        return;
    case SL_FN_NOW:
        *out = sl_value_ts(ev->now_ms);
        return;
    default:
        break;
    }

    /* The rest: NULL in the first argument gives NULL. */
    if (e->nargs < 1) {
        set_null(out, e);
        return;
    }
    if (e->fn == SL_FN_DATE_TRUNC) {
        if (e->aux == NULL) {
            set_null(out, e);
            return;
        }
        sl_expr_eval(e->args[1], row, ev, &a);
        int64_t r;
        if (a.null) {
            set_null(out, e);
        } else if (!date_trunc((int)(uintptr_t)e->aux, a.u.i, &r)) {
            overflow(out, e, ev);
        } else {
            *out = sl_value_ts(r);
        }
        return;
    }
    sl_expr_eval(e->args[0], row, ev, &a);
    if (a.null) {
        set_null(out, e);
        return;
    }
    bool dbl = e->type == SL_TYPE_DOUBLE;
    switch (e->fn) {
    case SL_FN_ABS:
        if (dbl) {
            *out = sl_value_double(fabs(a.u.d));
        } else if (a.u.i == INT64_MIN) {
            overflow(out, e, ev);
        } else {
            set_int(out, e, a.u.i < 0 ? -a.u.i : a.u.i);
        }
        return;
    case SL_FN_ROUND: {
        int64_t d = 0;
        if (e->nargs > 1) {
            sl_expr_eval(e->args[1], row, ev, &b);
            if (b.null) {
                set_null(out, e);
                return;
            }
            d = b.u.i;
        }
        if (dbl) {
            set_double(out, e, ev, e->nargs > 1 ? round_double(a.u.d, d) : round(a.u.d));
            return;
        }
        int64_t r;
        if (!round_bigint(a.u.i, d, &r)) {
            overflow(out, e, ev);
            return;
        }
        set_int(out, e, r);
        return;
    }
    case SL_FN_FLOOR:
    case SL_FN_CEIL:
        if (dbl) {
            *out = sl_value_double(e->fn == SL_FN_FLOOR ? floor(a.u.d) : ceil(a.u.d));
        } else {
            set_int(out, e, a.u.i);
        }
        return;
    case SL_FN_SQRT:
        if (a.u.d < 0) {
            overflow(out, e, ev);
            return;
        }
        set_double(out, e, ev, sqrt(a.u.d));
        return;
    case SL_FN_LN:
        if (a.u.d <= 0) {
            overflow(out, e, ev);
            return;
        }
        set_double(out, e, ev, log(a.u.d));
        return;
    case SL_FN_EXP:
        set_double(out, e, ev, exp(a.u.d));
        return;
    case SL_FN_POWER:
        sl_expr_eval(e->args[1], row, ev, &b);
        if (b.null) {
            set_null(out, e);
            return;
        }
        set_double(out, e, ev, pow(a.u.d, b.u.d));
        return;
    case SL_FN_NULLIF:
        sl_expr_eval(e->args[1], row, ev, &b);
        if (!b.null && sl__value_cmp(&a, &b) == 0) {
            set_null(out, e);
            return;
        }
        *out = a;
        out->type = e->type;
        return;
    case SL_FN_LOWER:
    case SL_FN_UPPER:
        fn_case(e, &a, ev, mark, e->fn == SL_FN_UPPER, out);
        return;
    case SL_FN_LENGTH:
        set_int(out, e, utf8_count(a.u.s, a.len));
        return;
    case SL_FN_TRIM: {
        const char *s = a.u.s;
        size_t n = a.len;
        while (n > 0 && s[0] == ' ') {
            s++;
            n--;
        }
        while (n > 0 && s[n - 1] == ' ') {
            n--;
        }
        *out = sl_value_text(s, (uint32_t)n);
        return;
    }
    case SL_FN_REGEXP_MATCH:
        regex_eval(e, &a, ev, out);
        return;
    case SL_FN_TO_TIMESTAMP: {
        int64_t ms = 0;
        bool ok;
        switch (a.type) {
        case SL_TYPE_BIGINT:
            ms = a.u.i;
            ok = a.u.i > 100000000000LL || !__builtin_mul_overflow(a.u.i, 1000, &ms);
            break;
        case SL_TYPE_DOUBLE:
            ok = epoch_double_to_ms(a.u.d, &ms);
            break;
        case SL_TYPE_TEXT:
            ok = sl_parse_rfc3339(a.u.s, a.len, &ms) == 0;
            break;
        case SL_TYPE_TIMESTAMP:
            ms = a.u.i;
            ok = true;
            break;
        default:
            ok = false;
            break;
        }
        if (!ok) {
            overflow(out, e, ev);
            return;
        }
        *out = sl_value_ts(ms);
        return;
    }
    case SL_FN_FORMAT_TIMESTAMP: {
        char tmp[32];
        int r = sl_format_rfc3339(a.u.i, tmp, sizeof(tmp));
        if (r < 0) {
            overflow(out, e, ev);
            return;
        }
        sl__scratch_text(ev, e, tmp, (size_t)r, out);
        return;
    }
    default:
        set_null(out, e);
        return;
    }
}
