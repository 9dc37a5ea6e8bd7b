/*
 * test_agg_numerics.c - SUM, AVG, VAR_POP, VAR_SAMP, STDDEV_POP and STDDEV_SAMP against an
 * oracle that shares no code with the engine: exact sums (Shewchuk's partials), long double
 * (64-bit mantissa) arithmetic and the corrected two-pass variance of Chan, Golub and LeVeque, on
 * seeded random data including large offsets (1e9 + noise) where the textbook formula fails
 * (checked here too, so that the data really is hard). Results must agree to 1e-9 relative; SUM and
 * AVG, which use compensated summation, to 1e-14.
 */
#include <math.h>
#include <stdio.h>

#include "agg_harness.h"

enum dist { UNIT, OFFSET_GAUSS, OFFSET_TINY, OFFSET_1E12, WIDE, CANCEL, CONSTANT };

static const char *const dist_names[] = {"uniform[-1,1)",   "1e9 + N(0,1)", "1e9 + U(-1e-3,1e-3)",
                                         "1e12 + N(0,1)",   "±e^U(-30,30)", "cancelling ±1e15",
                                         "constant 1e9+0.1"};

static double gauss(uint64_t *seed)
{
    double u1 = h_unif(seed), u2 = h_unif(seed);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

static double draw(enum dist d, uint64_t *seed, int i)
{
    switch (d) {
    case UNIT:
        return 2.0 * h_unif(seed) - 1.0;
    case OFFSET_GAUSS:
        return 1e9 + gauss(seed);
    case OFFSET_TINY:
        return 1e9 + (2.0 * h_unif(seed) - 1.0) * 1e-3;
    case OFFSET_1E12:
        return 1e12 + gauss(seed);
    case WIDE: {
        double m = exp(60.0 * h_unif(seed) - 30.0);
        return (h_rand(seed) & 1) ? m : -m;
    }
    case CANCEL: {
        /* large values that cancel exactly in pairs (b, later -b), and small ones that carry
         * the result: naive summation loses it in the rounding of the large partial sums */
        if (i % 3 != 0) {
            return h_unif(seed);
        }
        uint64_t pair = (uint64_t)(i / 6) + 12345;
        double b = 1e15 * (1 + h_unif(&pair));
        return (i / 3) % 2 == 0 ? b : -b;
    }
    case CONSTANT:
        return 1e9 + 0.1;
    }
    return 0;
}

/* The oracle. */
struct oracle {
    long double sum, mean, m2;
};

/* The sum of x, exact up to the final rounding to long double: Shewchuk's algorithm keeps the
 * running sum as a list of non-overlapping double partials whose exact total is the exact sum
 * (Python's math.fsum does the same). */
static long double exact_sum(const double *x, int n)
{
    double p[64];
    int np = 0;
    for (int i = 0; i < n; i++) {
        double v = x[i];
        int k = 0;
        for (int j = 0; j < np; j++) {
            double y = p[j];
            if (fabs(v) < fabs(y)) {
                double t = v;
                v = y;
                y = t;
            }
            double hi = v + y;
            double lo = y - (hi - v);
            if (lo != 0) {
                p[k++] = lo;
            }
            v = hi;
        }
        assert_true(k < 64);
        p[k++] = v;
        np = k;
    }
    long double s = 0;
    for (int j = 0; j < np; j++) { /* partials increase in magnitude */
        s += p[j];
    }
    return s;
}

static struct oracle oracle_of(const double *x, int n)
{
    struct oracle o;
    o.sum = exact_sum(x, n);
    o.mean = o.sum / n;
    long double sq = 0, lin = 0;
    for (int i = 0; i < n; i++) {
        long double d = (long double)x[i] - o.mean;
        sq += d * d;
        lin += d;
    }
    o.m2 = sq - lin * lin / n; /* corrected two-pass */
    return o;
}

static double rel_err(double got, long double want)
{
    long double diff = fabsl((long double)got - want);
    return want != 0 ? (double)(diff / fabsl(want)) : (double)diff;
}

static double final_d(const char *name, enum sl_type t, const double *x, const int64_t *xi, int n)
{
    struct h_agg a = h_agg_make(name, t, false);
    struct h_state s = h_new(&a);
    for (int i = 0; i < n; i++) {
        h_put(&s, t == SL_TYPE_DOUBLE ? sl_value_double(x[i]) : sl_value_bigint(xi[i]));
    }
    struct sl_value v = h_final(&s);
    h_free(&s);
    if (v.null) {
        fail_msg("%s gave NULL", name);
    }
    return t == SL_TYPE_BIGINT && strcmp(name, "SUM") == 0 ? (double)v.u.i : v.u.d;
}

static void check_dist(enum dist d, int n, uint64_t seed)
{
    double *x = malloc((size_t)n * sizeof(*x));
    assert_non_null(x);
    for (int i = 0; i < n; i++) {
        x[i] = draw(d, &seed, i);
    }
    struct oracle o = oracle_of(x, n);
    long double vp = o.m2 / n, vs = o.m2 / (n - 1);

    double e_sum = rel_err(final_d("SUM", SL_TYPE_DOUBLE, x, NULL, n), o.sum);
    double e_avg = rel_err(final_d("AVG", SL_TYPE_DOUBLE, x, NULL, n), o.mean);
    double e_vp = 0, e_vs = 0, e_sp = 0, e_ss = 0;
    if (d == CONSTANT) {
        assert_true(final_d("VAR_POP", SL_TYPE_DOUBLE, x, NULL, n) == 0.0);
        assert_true(final_d("STDDEV_SAMP", SL_TYPE_DOUBLE, x, NULL, n) == 0.0);
    } else {
        e_vp = rel_err(final_d("VAR_POP", SL_TYPE_DOUBLE, x, NULL, n), vp);
        e_vs = rel_err(final_d("VAR_SAMP", SL_TYPE_DOUBLE, x, NULL, n), vs);
        e_sp = rel_err(final_d("STDDEV_POP", SL_TYPE_DOUBLE, x, NULL, n), sqrtl(vp));
        e_ss = rel_err(final_d("STDDEV_SAMP", SL_TYPE_DOUBLE, x, NULL, n), sqrtl(vs));
    }
    print_message("%-22s n=%-6d rel.err sum %.1e avg %.1e var_pop %.1e var_samp %.1e "
                  "stddev_pop %.1e stddev_samp %.1e\n",
                  dist_names[d], n, e_sum, e_avg, e_vp, e_vs, e_sp, e_ss);
    assert_true(e_sum <= 1e-14);
    assert_true(e_avg <= 1e-14);
    assert_true(e_vp <= 1e-9);
    assert_true(e_vs <= 1e-9);
    assert_true(e_sp <= 1e-9);
    assert_true(e_ss <= 1e-9);

    /* The data is hard where it should be: the textbook one-pass formula fails on offsets. */
    if (d == OFFSET_GAUSS || d == OFFSET_TINY || d == OFFSET_1E12) {
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) {
            s += x[i];
            s2 += x[i] * x[i];
        }
        double naive = (s2 - s * s / n) / n;
        assert_true(rel_err(naive, vp) > 1e-6);
    }
    free(x);
}

static void test_double_oracle(void **unused)
{
    (void)unused;
    check_dist(UNIT, 10000, 1);
    check_dist(UNIT, 3, 2);
    check_dist(OFFSET_GAUSS, 100000, 3);
    check_dist(OFFSET_TINY, 50000, 4);
    check_dist(OFFSET_1E12, 20000, 5);
    check_dist(WIDE, 20000, 6);
    check_dist(CANCEL, 30000, 7);
    check_dist(CONSTANT, 1000, 8);
}

/* BIGINT inputs: SUM exact against a sum done in two 32-bit halves; AVG and the moments
 * against the long double oracle. */
static void test_bigint_oracle(void **unused)
{
    (void)unused;
    enum { N = 50000 };
    int64_t *xi = malloc(N * sizeof(*xi));
    double *x = malloc(N * sizeof(*x));
    uint64_t seed = 99;
    assert_non_null(xi);
    assert_non_null(x);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            uint64_t r = h_rand(&seed);
            switch (round) {
            case 0: /* around 1e9, as counters are */
                xi[i] = 1000000000 + (int64_t)(r % 2001) - 1000;
                break;
            case 1: /* ±1e15 */
                xi[i] = (int64_t)(r % 2000000000000001ull) - 1000000000000000;
                break;
            default: /* up to ±2^53, exactly representable as doubles */
                xi[i] = (int64_t)(r >> 11) - ((int64_t)1 << 52);
                break;
            }
            x[i] = (double)xi[i];
        }
        /* exact sum: high and low 32-bit halves summed separately (no overflow below 2^31
         * terms), then recombined */
        int64_t hi = 0, lo = 0;
        for (int i = 0; i < N; i++) {
            hi += xi[i] >> 32;
            lo += (int64_t)((uint64_t)xi[i] & 0xffffffffu);
        }
        long double exact = (long double)hi * 4294967296.0L + (long double)lo;
        struct h_agg a = h_agg_make("SUM", SL_TYPE_BIGINT, false);
        struct h_state s = h_new(&a);
        for (int i = 0; i < N; i++) {
            h_put(&s, sl_value_bigint(xi[i]));
        }
        struct sl_value v = h_final(&s);
        h_free(&s);
        assert_int_equal(v.null, 0);
        assert_true((long double)v.u.i == exact);

        struct oracle o = oracle_of(x, N);
        double e_avg = rel_err(final_d("AVG", SL_TYPE_BIGINT, x, xi, N), o.mean);
        double e_vs = rel_err(final_d("VAR_SAMP", SL_TYPE_BIGINT, x, xi, N), o.m2 / (N - 1));
        double e_sp = rel_err(final_d("STDDEV_POP", SL_TYPE_BIGINT, x, xi, N), sqrtl(o.m2 / N));
        print_message("BIGINT round %d: rel.err avg %.1e var_samp %.1e stddev_pop %.1e\n", round,
                      e_avg, e_vs, e_sp);
        assert_true(e_avg <= 1e-15);
        assert_true(e_vs <= 1e-9);
        assert_true(e_sp <= 1e-9);
    }
    free(xi);
    free(x);
}

/* Hand-computed small cases from SQL.md and PostgreSQL's definitions. */
static void test_moments_small(void **unused)
{
    (void)unused;
    const char *names[] = {"VAR_POP", "VAR_SAMP", "STDDEV_POP", "STDDEV_SAMP"};
    for (int k = 0; k < 4; k++) {
        struct h_agg a = h_agg_make(names[k], SL_TYPE_DOUBLE, false);
        struct h_state s = h_new(&a);
        h_assert_null(h_final(&s)); /* no values */
        h_put(&s, sl_value_null(SL_TYPE_DOUBLE));
        h_assert_null(h_final(&s));
        h_put(&s, sl_value_double(7.0));
        struct sl_value v = h_final(&s);
        if (k % 2 == 1) {
            h_assert_null(v); /* sample statistics need two values */
        } else {
            assert_int_equal(v.null, 0);
            assert_true(v.u.d == 0.0); /* one value: population variance 0 */
        }
        h_free(&s);

        /* 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum 32: VAR_POP 4, VAR_SAMP
         * 32/7, STDDEV_POP 2, STDDEV_SAMP sqrt(32/7). */
        s = h_new(&a);
        const double xs[] = {2, 4, 4, 4, 5, 5, 7, 9};
        for (int i = 0; i < 8; i++) {
            h_put(&s, sl_value_double(xs[i]));
            h_put(&s, sl_value_null(SL_TYPE_DOUBLE));
        }
        const double want[] = {4.0, 32.0 / 7.0, 2.0, 2.138089935299395};
        h_assert_rel(h_final(&s).u.d, want[k], 1e-15);
        h_free(&s);

        /* Infinite input: the result is not a number, so NULL. */
        s = h_new(&a);
        h_put(&s, sl_value_double(1.0));
        h_put(&s, sl_value_double(INFINITY));
        h_put(&s, sl_value_double(2.0));
        h_assert_null(h_final(&s));
        h_free(&s);
    }
    struct h_agg a = h_agg_make("VAR_SAMP", SL_TYPE_BIGINT, false);
    struct h_state s = h_new(&a);
    h_put(&s, sl_value_bigint(1));
    h_put(&s, sl_value_bigint(2));
    h_assert_rel(h_final(&s).u.d, 0.5, 1e-15);
    h_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_double_oracle),
        cmocka_unit_test(test_bigint_oracle),
        cmocka_unit_test(test_moments_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
