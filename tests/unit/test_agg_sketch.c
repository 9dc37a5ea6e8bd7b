/*
 * test_agg_sketch.c - the sketch aggregates against exact answers computed here by sorting
 * and counting (code shared with nothing in engine/): PERCENTILE's bound exactly as SQL.md
 * states it on several distributions and sizes, its merges (any order gives the same answer)
 * and its collapse beyond a span of ~4e17; APPROX_COUNT_DISTINCT exact up to 64 values and
 * within a few standard errors beyond, equal hashing of 1, 1.0 and '1', and merges; TOPK by
 * hand and against exact counts of a heavy-tailed stream within its n/2048 bound, merged;
 * RATE by hand with resets, out of order, and over merged panes.
 */
#include <math.h>
#include <stdio.h>

#include "agg_harness.h"
#include "engine/agg/hll.h"

#define I(x) sl_value_bigint(x)
#define D(x) sl_value_double(x)
#define T(s) sl_value_text((s), (uint32_t)strlen(s))

static struct h_agg pct_agg(double q)
{
    struct h_agg a;
    struct sl_err err = {{0}};
    memset(&a, 0, sizeof(a));
    a.ops = sl_agg_find("PERCENTILE");
    assert_non_null(a.ops);
    a.sig.arg_type = SL_TYPE_DOUBLE;
    a.sig.nparams = 1;
    a.sig.params[0] = sl_value_double(q);
    if (a.ops->check(&a.sig, &err) != 0) {
        fail_msg("check: %s", err.msg);
    }
    assert_non_null(a.ops->update);
    return a;
}

/* The final value of state s (made with any q) for quantile q. */
static double pct_at(const struct h_state *s, double q)
{
    struct h_agg a = pct_agg(q);
    struct sl_value out;
    char buf[64];
    a.ops->final(s->st, &a.sig, &out, buf, sizeof(buf));
    assert_int_equal(out.type, SL_TYPE_DOUBLE);
    assert_int_equal(out.null, 0);
    return out.u.d;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const double qs[] = {0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1};

/* SQL.md: within 1 % relative of a value between the order statistics floor(q(n-1)) and
 * ceil(q(n-1)) of sorted (0-based). v - 0.01|v| and v + 0.01|v| both grow with v, so the
 * allowed set is [lo - 0.01|lo|, hi + 0.01|hi|]. */
static void assert_bound(const double *sorted, size_t n, double q, double got, const char *what)
{
    double r = q * (double)(n - 1);
    size_t k0 = (size_t)floor(r), k1 = (size_t)ceil(r);
    double lo = sorted[k0], hi = sorted[k1];
    double a = lo - 0.01 * fabs(lo), b = hi + 0.01 * fabs(hi);
    if (!(got >= a && got <= b)) {
        fail_msg("%s n=%zu q=%g: got %.17g, allowed [%.17g, %.17g]", what, n, q, got, a, b);
    }
}

static double gauss(uint64_t *x)
{
    double u = h_unif(x), v = h_unif(x);
    return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

static double draw(int dist, uint64_t *x)
{
    switch (dist) {
    case 0:
        return h_unif(x) * 1000;
    case 1:
        return 50 + 10 * gauss(x);
    case 2:
        return exp(2 * gauss(x)); /* lognormal: heavy tail */
    case 3:
        return 42.5;
    default: /* mixed signs, zeros, magnitudes over ~1e13 */
        switch (h_rand(x) % 4) {
        case 0:
            return 0;
        case 1:
            return -exp(3 * gauss(x));
        default:
            return exp(3 * gauss(x));
        }
    }
}

static const char *const dist_names[] = {"uniform", "normal", "lognormal", "constant", "mixed"};

static void test_pct_distributions(void **unused)
{
    (void)unused;
    static const size_t sizes[] = {1, 10, 1000, 1000000};
    struct h_agg a = pct_agg(0.5);
    for (int dist = 0; dist < 5; dist++) {
        for (size_t si = 0; si < 4; si++) {
            size_t n = sizes[si];
            uint64_t seed = 1000 + (uint64_t)dist * 10 + si;
            double *v = malloc(n * sizeof(*v));
            assert_non_null(v);
            struct h_state s = h_new(&a);
            for (size_t i = 0; i < n; i++) {
                v[i] = draw(dist, &seed);
                h_put(&s, D(v[i]));
            }
            qsort(v, n, sizeof(*v), cmp_d);
            for (size_t qi = 0; qi < sizeof(qs) / sizeof(qs[0]); qi++) {
                assert_bound(v, n, qs[qi], pct_at(&s, qs[qi]), dist_names[dist]);
            }
            assert_true(pct_at(&s, 0) == v[0]);
            assert_true(pct_at(&s, 1) == v[n - 1]);
            h_free(&s);
            free(v);
        }
    }
}

/* Every q on an exhaustive grid of small sets: the rank arithmetic at its edges. */
static void test_pct_small_ranks(void **unused)
{
    (void)unused;
    struct h_agg a = pct_agg(0.5);
    double v[] = {-3, -1, 0, 0, 2, 7, 1000, 1e9};
    for (size_t n = 1; n <= 8; n++) {
        struct h_state s = h_new(&a);
        for (size_t i = 0; i < n; i++) {
            h_put(&s, D(v[n - 1 - i < n ? i : i]));
        }
        for (int qi = 0; qi <= 100; qi++) {
            assert_bound(v, n, qi / 100.0, pct_at(&s, qi / 100.0), "small");
        }
        h_free(&s);
    }
    /* By hand: median of 1..5 is 3 (within 1 %), of 10 and 20 is 10 (rank floor(0.5)). */
    struct h_state s = h_new(&a);
    for (int i = 1; i <= 5; i++) {
        h_put(&s, I(i));
    }
    h_assert_rel(pct_at(&s, 0.5), 3, 0.01);
    h_free(&s);
    s = h_new(&a);
    h_put(&s, D(20));
    h_put(&s, D(10));
    h_assert_rel(pct_at(&s, 0.5), 10, 0.01);
    h_free(&s);
}

static void test_pct_null_nan_empty(void **unused)
{
    (void)unused;
    struct h_agg a = pct_agg(0.5);
    struct h_state s = h_new(&a);
    h_assert_null(h_final(&s));
    h_put(&s, sl_value_null(SL_TYPE_DOUBLE));
    h_put(&s, D(NAN));
    h_assert_null(h_final(&s));
    h_put(&s, D(INFINITY));
    h_put(&s, D(1));
    h_put(&s, D(-INFINITY));
    assert_true(pct_at(&s, 1) == INFINITY);
    assert_true(pct_at(&s, 0) == -INFINITY);
    h_assert_rel(pct_at(&s, 0.5), 1, 0.01);
    h_free(&s);

    /* Extremes of DOUBLE: the largest finite, the smallest normal and subnormal values. */
    double ext[] = {-1.7976931348623157e308,
                    -2.2250738585072014e-308,
                    -4.9e-324,
                    0,
                    4.9e-324,
                    2.2250738585072014e-308,
                    1e-300,
                    1.7976931348623157e308};
    s = h_new(&a);
    for (int i = 0; i < 8; i++) {
        h_put(&s, D(ext[i]));
    }
    for (int qi = 0; qi <= 70; qi++) {
        /* spans beyond 4e17 collapse: only the extremes of each sign are checked */
        double q = qi / 70.0;
        size_t k = (size_t)floor(q * 7);
        if (k == 0 || k == 3 || k == 7) {
            assert_bound(ext, 8, q, pct_at(&s, q), "extremes");
        }
    }
    h_free(&s);
}

/* Values spanning 1e-30..1e30: the top 2048 buckets (a factor ~4e17) stay exact to 1 %, the
 * values far below the largest are reported no lower than max / 4e17. */
static void test_pct_collapse(void **unused)
{
    (void)unused;
    struct h_agg a = pct_agg(0.5);
    struct h_state s = h_new(&a);
    enum { N = 6001 };
    double v[N];
    for (int i = 0; i < N; i++) {
        v[i] = pow(10, -30 + i * 0.01);
    }
    for (int i = 0; i < N; i++) {
        h_put(&s, D(v[N - 1 - i]));
    }
    qsort(v, N, sizeof(v[0]), cmp_d);
    double floorv = v[N - 1] / 4e17;
    for (int qi = 0; qi <= 1000; qi++) {
        double q = qi / 1000.0;
        double got = pct_at(&s, q);
        size_t k = (size_t)floor(q * (N - 1));
        if (v[k] >= floorv * 1.05 || qi == 0) {
            assert_bound(v, N, q, got, "collapse");
        } else {
            assert_true(got >= v[k] * 0.99 && got <= floorv * 1.05);
        }
    }
    h_free(&s);

    /* The memory bound: whatever the span, a store never holds more than 2560 buckets. This
     * reads the state's layout (percentile.c): each store starts with its bucket pointer, base
     * index and capacity; the positive store first, the negative one 24 bytes later. */
    s = h_new(&a);
    uint64_t seed = 11;
    enum { W = 200000 };
    double *w = malloc(W * sizeof(*w));
    assert_non_null(w);
    for (int i = 0; i < W; i++) {
        double x = pow(10, -320 + 628 * h_unif(&seed));
        w[i] = h_rand(&seed) & 1 ? x : -x;
        h_put(&s, D(w[i]));
    }
    qsort(w, W, sizeof(*w), cmp_d);
    uint32_t cap_pos, cap_neg;
    memcpy(&cap_pos, (const char *)s.st + 12, 4);
    memcpy(&cap_neg, (const char *)s.st + 24 + 12, 4);
    assert_true(cap_pos > 0 && cap_pos <= 2560);
    assert_true(cap_neg > 0 && cap_neg <= 2560);
    /* The largest magnitudes of each sign are still within the bound. */
    assert_bound(w, W, 0.001, pct_at(&s, 0.001), "wide");
    assert_bound(w, W, 0.999, pct_at(&s, 0.999), "wide");
    free(w);
    h_free(&s);
}

/* Merge: any grouping and order of parts gives exactly the same answers as one state, and a
 * merge into a fresh state copies. */
static void test_pct_merge(void **unused)
{
    (void)unused;
    struct h_agg a = pct_agg(0.5);
    enum { PARTS = 5, N = 20000 };
    uint64_t seed = 77;
    struct h_state all = h_new(&a), part[PARTS];
    for (int p = 0; p < PARTS; p++) {
        part[p] = h_new(&a);
    }
    double *v = malloc(N * sizeof(*v));
    assert_non_null(v);
    for (int i = 0; i < N; i++) {
        int p = (int)(h_rand(&seed) % PARTS);
        v[i] = draw(p == 0 ? 4 : p % 3, &seed) * (p == 3 ? 1e12 : 1);
        h_put(&part[p], D(v[i]));
        h_put(&all, D(v[i]));
    }
    qsort(v, N, sizeof(*v), cmp_d);
    /* ((0+1)+2)+(3+4) into fresh states, and 4+3+2+1+0 into part 4. */
    struct h_state l = h_new(&a), r = h_new(&a);
    h_merge(&l, &part[0]);
    h_merge(&l, &part[1]);
    h_merge(&l, &part[2]);
    h_merge(&r, &part[3]);
    h_merge(&r, &part[4]);
    h_merge(&l, &r);
    struct h_state empty = h_new(&a);
    h_merge(&part[4], &empty);
    for (int p = 3; p >= 0; p--) {
        h_merge(&part[4], &part[p]);
    }
    for (size_t qi = 0; qi < sizeof(qs) / sizeof(qs[0]); qi++) {
        double want = pct_at(&all, qs[qi]);
        assert_true(pct_at(&l, qs[qi]) == want);
        assert_true(pct_at(&part[4], qs[qi]) == want);
        assert_bound(v, N, qs[qi], want, "merge");
    }
    h_free(&empty);
    h_free(&l);
    h_free(&r);
    h_free(&all);
    for (int p = 0; p < PARTS; p++) {
        h_free(&part[p]);
    }
    free(v);
}

/* ---- APPROX_COUNT_DISTINCT ---- */

static void test_hll_exact_small(void **unused)
{
    (void)unused;
    struct h_agg a = h_agg_make("APPROX_COUNT_DISTINCT", SL_TYPE_BIGINT, false);
    struct h_state s = h_new(&a);
    h_assert_i(h_final(&s), 0);
    h_put(&s, sl_value_null(SL_TYPE_BIGINT));
    h_assert_i(h_final(&s), 0);
    for (int n = 1; n <= 64; n++) {
        h_put(&s, I(n * 1000003LL));
        h_put(&s, I(n * 1000003LL)); /* a repeat changes nothing */
        h_assert_i(h_final(&s), n);
    }
    h_free(&s);
    /* 1 (BIGINT), 1.0 and 1 (DOUBLE) and '1' (TEXT) hash the same text "1". */
    struct h_agg ad = h_agg_make("APPROX_COUNT_DISTINCT", SL_TYPE_DOUBLE, false);
    struct h_agg at = h_agg_make("APPROX_COUNT_DISTINCT", SL_TYPE_TEXT, false);
    struct h_state si = h_new(&a), sd = h_new(&ad), st = h_new(&at);
    h_put(&si, I(1));
    h_put(&sd, D(1.0));
    h_put(&sd, D(-0.0));
    h_put(&st, T("1"));
    h_put(&st, T("0"));
    h_merge(&si, &sd);
    h_merge(&si, &st);
    h_assert_i(h_final(&si), 2);
    h_free(&si);
    h_free(&sd);
    h_free(&st);
}

/* A BIGINT hashes as its decimal text: each value and its printf text count as one. */
static void test_hll_int_text(void **unused)
{
    (void)unused;
    static const int64_t v[] = {0,  -1,   1,    9,      10,      99,        100,       -100,
                                -9, 1234, -999, 123456, 1000000, INT64_MAX, INT64_MIN, 4294967296};
    struct h_agg ai = h_agg_make("APPROX_COUNT_DISTINCT", SL_TYPE_BIGINT, false);
    struct h_agg at = h_agg_make("APPROX_COUNT_DISTINCT", SL_TYPE_TEXT, false);
    char txt[32];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct h_state si = h_new(&ai), st = h_new(&at);
        h_put(&si, I(v[i]));
        snprintf(txt, sizeof(txt), "%lld", (long long)v[i]);
        h_put(&st, T(txt));
        h_merge(&si, &st);
        if (h_final(&si).u.i != 1) {
            fail_msg("%s: BIGINT and its text hash differently", txt);
        }
        h_free(&si);
        h_free(&st);
    }
}

static void test_hll_accuracy(void **unused)
{
    (void)unused;
    static const int64_t sizes[] = {65, 100, 1000, 10000, 100000, 1000000};
    struct h_agg a = h_agg_make("APPROX_COUNT_DISTINCT", SL_TYPE_BIGINT, false);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct h_state s = h_new(&a);
        for (int64_t k = 0; k < sizes[i]; k++) {
            h_put(&s, I(k * 7919 + 13));
            if (k % 3 == 0) {
                h_put(&s, I(k * 7919 + 13));
            }
        }
        struct sl_value v = h_final(&s);
        double err = fabs((double)v.u.i - (double)sizes[i]) / (double)sizes[i];
        /* 0.81 % standard error; 4 standard errors, and tighter where linear counting is. */
        if (err > (sizes[i] <= 1000 ? 0.01 : 0.033)) {
            fail_msg("n=%lld: got %lld (%.2f %%)", (long long)sizes[i], (long long)v.u.i,
                     err * 100);
        }
        h_free(&s);
    }
}

static void test_hll_merge(void **unused)
{
    (void)unused;
    struct h_agg a = h_agg_make("APPROX_COUNT_DISTINCT", SL_TYPE_TEXT, false);
    enum { PARTS = 4 };
    static const int sizes[PARTS] = {10, 60, 5000, 40};
    struct h_state part[PARTS], all = h_new(&a);
    char txt[32];
    for (int p = 0; p < PARTS; p++) {
        part[p] = h_new(&a);
        for (int k = 0; k < sizes[p]; k++) {
            snprintf(txt, sizeof(txt), "user-%d", k * (p + 1));
            h_put(&part[p], T(txt));
            h_put(&all, T(txt));
        }
    }
    struct h_state l = h_new(&a), r = h_new(&a);
    h_merge(&l, &part[0]);
    h_merge(&l, &part[3]);
    h_merge(&r, &part[2]);
    h_merge(&r, &part[1]);
    h_merge(&r, &l);
    h_merge(&part[1], &part[3]);
    h_merge(&part[1], &part[0]);
    h_merge(&part[1], &part[2]);
    int64_t want = h_final(&all).u.i;
    h_assert_i(h_final(&r), want);
    h_assert_i(h_final(&part[1]), want);
    /* Two exact sets whose union passes 64 switch to registers and still agree. */
    struct h_state x = h_new(&a), y = h_new(&a), xy = h_new(&a);
    for (int k = 0; k < 50; k++) {
        snprintf(txt, sizeof(txt), "x%d", k);
        h_put(&x, T(txt));
        h_put(&xy, T(txt));
        snprintf(txt, sizeof(txt), "y%d", k);
        h_put(&y, T(txt));
        h_put(&xy, T(txt));
    }
    h_merge(&x, &y);
    h_assert_i(h_final(&x), h_final(&xy).u.i);
    assert_true(llabs(h_final(&x).u.i - 100) <= 2);
    h_free(&x);
    h_free(&y);
    h_free(&xy);
    h_free(&l);
    h_free(&r);
    h_free(&all);
    for (int p = 0; p < PARTS; p++) {
        h_free(&part[p]);
    }
}

/* The export: header bytes, size, and registers read back in Redis's bit order agree with a
 * state's count (a register-mode sketch of 1000 values has 1000 - collisions set registers). */
static void test_hll_export_layout(void **unused)
{
    (void)unused;
    struct h_agg a = h_agg_make("APPROX_COUNT_DISTINCT", SL_TYPE_BIGINT, false);
    struct h_state s = h_new(&a);
    struct sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_hll_redis_dense(s.st, &a.sig, &b), 0);
    assert_int_equal(b.len, 16 + 12288);
    assert_memory_equal(b.p, "HYLL\0\0\0\0", 8);
    assert_int_equal((uint8_t)b.p[15], 0x80);
    for (size_t i = 16; i < b.len; i++) {
        assert_int_equal(b.p[i], 0);
    }
    h_put(&s, I(5));
    sl_buf_reset(&b);
    assert_int_equal(sl_hll_redis_dense(s.st, &a.sig, &b), 0);
    int set = 0;
    for (unsigned r = 0; r < 16384; r++) {
        const uint8_t *p = (const uint8_t *)b.p + 16;
        unsigned bit = r * 6, byte = bit / 8, fb = bit % 8;
        unsigned v = p[byte] >> fb;
        if (byte + 1 < 12288) {
            v |= (unsigned)p[byte + 1] << (8 - fb);
        }
        v &= 63;
        if (v != 0) {
            set++;
            assert_true(v <= 51);
        }
    }
    assert_int_equal(set, 1);
    sl_buf_fini(&b);
    h_free(&s);
}

/* ---- TOPK ---- */

static struct h_agg topk_agg(enum sl_type t, int64_t k)
{
    struct h_agg a;
    struct sl_err err = {{0}};
    memset(&a, 0, sizeof(a));
    a.ops = sl_agg_find("TOPK");
    assert_non_null(a.ops);
    a.sig.arg_type = t;
    a.sig.nparams = 1;
    a.sig.params[0] = sl_value_bigint(k);
    if (a.ops->check(&a.sig, &err) != 0) {
        fail_msg("check: %s", err.msg);
    }
    return a;
}

/* final() of state s with TOPK's k into a buffer of cap bytes; "NULL" for a NULL result. */
static const char *topk_text(const struct h_state *s, int64_t k, size_t cap)
{
    static char buf[1 << 18];
    static char txt[1 << 18];
    struct h_agg a = topk_agg((enum sl_type)s->a->sig.arg_type, k);
    struct sl_value out;
    a.ops->final(s->st, &a.sig, &out, buf, cap);
    assert_int_equal(out.type, SL_TYPE_TEXT);
    if (out.null) {
        return "NULL";
    }
    memcpy(txt, out.u.s, out.len);
    txt[out.len] = '\0';
    return txt;
}

static void test_topk_by_hand(void **unused)
{
    (void)unused;
    struct h_agg a = topk_agg(SL_TYPE_TEXT, 3);
    struct h_state s = h_new(&a);
    assert_string_equal(topk_text(&s, 3, 256), "[]");
    const char *in[] = {"b", "a", "c", "a", "d", "b", "a", "c", "a", "b", "c", "a", "q\"\n"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        h_put(&s, T(in[i]));
    }
    h_put(&s, sl_value_null(SL_TYPE_TEXT));
    assert_string_equal(topk_text(&s, 3, 256), "[{\"value\":\"a\",\"count\":5},{\"value\":\"b\","
                                               "\"count\":3},{\"value\":\"c\",\"count\":3}]");
    assert_string_equal(topk_text(&s, 1, 256), "[{\"value\":\"a\",\"count\":5}]");
    assert_string_equal(topk_text(&s, 10, 256),
                        "[{\"value\":\"a\",\"count\":5},{\"value\":\"b\",\"count\":3},{\"value\":"
                        "\"c\",\"count\":3},{\"value\":\"d\",\"count\":1},{\"value\":\"q\\\"\\n\","
                        "\"count\":1}]");
    /* Does not fit: NULL. */
    assert_string_equal(topk_text(&s, 10, 40), "NULL");
    h_free(&s);

    struct h_agg ad = topk_agg(SL_TYPE_DOUBLE, 3);
    s = h_new(&ad);
    h_put(&s, D(1.5));
    h_put(&s, D(-0.0));
    h_put(&s, D(0.0));
    h_put(&s, D(-2));
    h_put(&s, D(1.5));
    h_put(&s, D(1e21));
    assert_string_equal(topk_text(&s, 3, 256), "[{\"value\":0,\"count\":2},{\"value\":1.5,"
                                               "\"count\":2},{\"value\":-2,\"count\":1}]");
    h_free(&s);
    struct h_agg ab = topk_agg(SL_TYPE_BOOLEAN, 5);
    s = h_new(&ab);
    h_put(&s, sl_value_bool(true));
    h_put(&s, sl_value_bool(false));
    h_put(&s, sl_value_bool(true));
    assert_string_equal(topk_text(&s, 5, 256),
                        "[{\"value\":true,\"count\":2},{\"value\":false,\"count\":1}]");
    h_free(&s);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A Zipf-like stream over 100000 values: every reported count is within [f, f + n/2048] of the
 * exact count f, and every value with f > n/2048 is reported. Checked on one state and on the
 * merge of four. */
static void test_topk_zipf(void **unused)
{
    (void)unused;
    enum { V = 100000, N = 1000000, K = 1000 };
    uint64_t *f = calloc(V, sizeof(*f));
    assert_non_null(f);
    struct h_agg a = topk_agg(SL_TYPE_BIGINT, K);
    struct h_state one = h_new(&a), part[4];
    for (int p = 0; p < 4; p++) {
        part[p] = h_new(&a);
    }
    uint64_t seed = 5;
    for (int i = 0; i < N; i++) {
        /* value = floor(V^u) - 1 for uniform u: a heavy head, a long tail */
        int64_t v = (int64_t)pow(V, h_unif(&seed)) - 1;
        f[v]++;
        h_put(&one, I(v));
        h_put(&part[i * 4 / N], I(v));
    }
    h_merge(&part[0], &part[1]);
    h_merge(&part[2], &part[3]);
    h_merge(&part[2], &part[0]);
    for (int which = 0; which < 2; which++) {
        const char *js = topk_text(which == 0 ? &one : &part[2], K, 1 << 18);
        int seen = 0;
        uint64_t bound = N / 2048;
        uint8_t *got = calloc(V, 1);
        const char *p = js;
        long long val;
        unsigned long long cnt;
        while ((p = strstr(p, "{\"value\":")) != NULL &&
               sscanf(p, "{\"value\":%lld,\"count\":%llu}", &val, &cnt) == 2) {
            assert_true(val >= 0 && val < V);
            if (!(cnt >= f[val] && cnt <= f[val] + bound)) {
                fail_msg("value %lld: count %llu, exact %llu", val, cnt,
                         (unsigned long long)f[val]);
            }
            got[val] = 1;
            seen++;
            p++;
        }
        assert_int_equal(seen, K);
        uint64_t *sorted = malloc(V * sizeof(*sorted));
        memcpy(sorted, f, V * sizeof(*sorted));
        qsort(sorted, V, sizeof(*sorted), cmp_u64);
        /* Values above n/M and above the K-th largest count + n/M must all be in the top K. */
        uint64_t cut = sorted[V - K] + bound;
        for (int v = 0; v < V; v++) {
            if (f[v] > bound && f[v] > cut && !got[v]) {
                fail_msg("value %d (count %llu) missing", v, (unsigned long long)f[v]);
            }
        }
        free(sorted);
        free(got);
    }
    h_free(&one);
    for (int p = 0; p < 4; p++) {
        h_free(&part[p]);
    }
    free(f);
}

/* Merge: commutative always, associative while the union fits; exact counts then. */
static void test_topk_merge(void **unused)
{
    (void)unused;
    struct h_agg a = topk_agg(SL_TYPE_TEXT, 50);
    struct h_state x = h_new(&a), y = h_new(&a), z = h_new(&a);
    char txt[32];
    uint64_t seed = 9;
    for (int i = 0; i < 3000; i++) {
        snprintf(txt, sizeof(txt), "key-%d-long-enough-for-heap", (int)(h_rand(&seed) % 300));
        h_put(i % 3 == 0 ? &x : i % 3 == 1 ? &y : &z, T(txt));
    }
    struct h_state l = h_new(&a), r = h_new(&a), yz = h_new(&a);
    h_merge(&l, &x); /* (x + y) + z */
    h_merge(&l, &y);
    h_merge(&l, &z);
    h_merge(&yz, &z); /* x + (z + y), into x */
    h_merge(&yz, &y);
    h_merge(&r, &yz);
    h_merge(&r, &x);
    char want[1 << 14];
    snprintf(want, sizeof(want), "%s", topk_text(&l, 50, 1 << 14));
    assert_string_equal(topk_text(&r, 50, 1 << 14), want);
    /* Beyond M counters: commutative. */
    struct h_state b1 = h_new(&a), b2 = h_new(&a), m1 = h_new(&a), m2 = h_new(&a);
    for (int i = 0; i < 20000; i++) {
        snprintf(txt, sizeof(txt), "v%d", (int)(h_rand(&seed) % 5000));
        h_put(i % 2 ? &b1 : &b2, T(txt));
    }
    h_merge(&m1, &b1);
    h_merge(&m1, &b2);
    h_merge(&m2, &b2);
    h_merge(&m2, &b1);
    snprintf(want, sizeof(want), "%s", topk_text(&m1, 50, 1 << 14));
    assert_string_equal(topk_text(&m2, 50, 1 << 14), want);
    struct h_state *all[] = {&x, &y, &z, &l, &r, &yz, &b1, &b2, &m1, &m2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        h_free(all[i]);
    }
}

/* ---- RATE ---- */

static double rate_of(const struct h_state *s)
{
    struct sl_value v = h_final(s);
    assert_int_equal(v.null, 0);
    return v.u.d;
}

static void test_rate(void **unused)
{
    (void)unused;
    struct h_agg a = h_agg_make("RATE", SL_TYPE_DOUBLE, false);
    struct h_state s = h_new(&a);
    h_assert_null(h_final(&s));
    h_put_at(&s, D(10), 0, 0);
    h_assert_null(h_final(&s));
    h_put_at(&s, D(11), 0, 1);
    h_assert_null(h_final(&s)); /* no time elapsed */
    h_put_at(&s, D(20), 1000, 2);
    h_put_at(&s, D(5), 2000, 3); /* reset: +5 */
    h_put_at(&s, D(15), 3000, 4);
    h_put_at(&s, sl_value_null(SL_TYPE_DOUBLE), 4000, 5);
    /* 1 + 9 + 5 + 10 = 25 over 3 s */
    h_assert_rel(rate_of(&s), 25.0 / 3, 1e-12);
    h_free(&s);

    /* A monotonic counter arriving out of order: exact. */
    struct h_agg ai = h_agg_make("RATE", SL_TYPE_BIGINT, false);
    s = h_new(&ai);
    int64_t ts[] = {2000, 0, 3000, 1000, 500, 4000};
    for (int i = 0; i < 6; i++) {
        h_put_at(&s, I(100 + ts[i] / 10), ts[i], (uint64_t)i);
    }
    h_assert_rel(rate_of(&s), 400.0 / 4, 1e-12);
    h_free(&s);

    /* Time-disjoint panes merged in any order equal one state (exact), with resets. */
    struct h_state one = h_new(&a), pane[4];
    for (int p = 0; p < 4; p++) {
        pane[p] = h_new(&a);
    }
    uint64_t seed = 3;
    double v = 0, inc = 0;
    for (int i = 0; i < 400; i++) {
        double nv = (h_rand(&seed) % 10 == 0) ? (double)(h_rand(&seed) % 5) : v + 1.5;
        inc += nv >= v ? nv - v : nv;
        if (i == 0) {
            inc = 0;
        }
        v = nv;
        h_put_at(&one, D(v), i * 100, (uint64_t)i);
        h_put_at(&pane[i / 100], D(v), i * 100, (uint64_t)i);
    }
    h_assert_rel(rate_of(&one), inc / 39.9, 1e-9);
    struct h_state m = h_new(&a), m2 = h_new(&a);
    h_merge(&m, &pane[2]);
    h_merge(&m, &pane[3]);
    h_merge(&m, &pane[1]);
    h_merge(&m, &pane[0]);
    h_merge(&pane[3], &pane[2]);
    h_merge(&pane[1], &pane[0]);
    h_merge(&m2, &pane[3]);
    h_merge(&m2, &pane[1]);
    h_assert_rel(rate_of(&m), inc / 39.9, 1e-9);
    h_assert_rel(rate_of(&m2), inc / 39.9, 1e-9);
    h_free(&m);
    h_free(&m2);
    h_free(&one);
    for (int p = 0; p < 4; p++) {
        h_free(&pane[p]);
        pane[p] = h_new(&a);
    }
    /* No reset: any merge order, gaps filled last included, is exact. */
    for (int i = 0; i < 400; i++) {
        h_put_at(&pane[i / 100], D(1000 + i * 2.5), i * 100, (uint64_t)i);
    }
    m = h_new(&a);
    h_merge(&m, &pane[3]);
    h_merge(&m, &pane[0]);
    h_merge(&pane[2], &pane[1]);
    h_merge(&m, &pane[2]);
    h_assert_rel(rate_of(&m), 399 * 2.5 / 39.9, 1e-12);
    h_free(&m);
    for (int p = 0; p < 4; p++) {
        h_free(&pane[p]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_distributions),  cmocka_unit_test(test_pct_small_ranks),
        cmocka_unit_test(test_pct_null_nan_empty), cmocka_unit_test(test_pct_collapse),
        cmocka_unit_test(test_pct_merge),          cmocka_unit_test(test_hll_exact_small),
        cmocka_unit_test(test_hll_accuracy),       cmocka_unit_test(test_hll_int_text),
        cmocka_unit_test(test_hll_merge),          cmocka_unit_test(test_hll_export_layout),
        cmocka_unit_test(test_topk_by_hand),       cmocka_unit_test(test_topk_zipf),
        cmocka_unit_test(test_topk_merge),         cmocka_unit_test(test_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
