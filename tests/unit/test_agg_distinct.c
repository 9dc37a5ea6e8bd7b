/*
 * test_agg_distinct.c - COUNT_DISTINCT: exact counts of BIGINT, DOUBLE, TEXT, BOOLEAN and
 * TIMESTAMP values (hand-counted, or counted by a sorted-array oracle), NULLs ignored, TEXT
 * copies, the max_distinct limit at and beyond it with its refusal counted once per state,
 * and merge as union under the limit.
 */
#include <math.h>
#include <stdio.h>

#include "agg_harness.h"
#include "engine/agg/internal.h"

#define I(x) sl_value_bigint(x)
#define D(x) sl_value_double(x)
#define T(s) sl_value_text((s), (uint32_t)strlen(s))

static struct h_agg cd(enum sl_type t, uint64_t limit)
{
    struct h_agg a = h_agg_make("COUNT_DISTINCT", t, false);
    a.sig.max_distinct = limit;
    return a;
}

static void test_small_sets(void **unused)
{
    (void)unused;
    struct h_agg ai = cd(SL_TYPE_BIGINT, 100000);
    struct h_state s = h_new(&ai);
    h_assert_i(h_final(&s), 0); /* an empty group counts 0 */
    const int64_t xs[] = {1, 2, 2, 3, 0, 0, -1, INT64_MIN, INT64_MAX, 1};
    for (size_t i = 0; i < SL_ARRAY_LEN(xs); i++) {
        h_put(&s, I(xs[i]));
        h_put(&s, sl_value_null(SL_TYPE_BIGINT));
    }
    h_assert_i(h_final(&s), 7); /* 1 2 3 0 -1 MIN MAX */
    assert_int_equal(s.over, 0);
    h_free(&s);

    struct h_agg ad = cd(SL_TYPE_DOUBLE, 100000);
    s = h_new(&ad);
    const double ds[] = {0.0, -0.0, 1.0, NAN, -NAN, 1.0, 0.1, 0.1 + 1e-18, 1e-300, -1e-300};
    for (size_t i = 0; i < SL_ARRAY_LEN(ds); i++) {
        h_put(&s, D(ds[i]));
    }
    /* 0 (= -0), 1, NaN (every NaN is one value), 0.1 (0.1 + 1e-18 rounds to it), ±1e-300 */
    h_assert_i(h_final(&s), 6);
    h_free(&s);

    struct h_agg at = cd(SL_TYPE_TEXT, 100000);
    s = h_new(&at);
    char buf[64];
    const char *ws[] = {"a", "b", "a", "", "", "ab", "ba", "A", "a\0b"};
    for (size_t i = 0; i < SL_ARRAY_LEN(ws); i++) {
        size_t n = strlen(ws[i]);
        memcpy(buf, ws[i], n);
        h_put(&s, sl_value_text(buf, (uint32_t)n));
        memset(buf, 'a', sizeof(buf)); /* the caller's buffer is reused */
    }
    /* "a\0b" is the 3 bytes a, NUL, b: distinct from "a". */
    h_put(&s, sl_value_text("a\0b", 3));
    h_put(&s, sl_value_text("a\0b", 3));
    h_put(&s, sl_value_null(SL_TYPE_TEXT));
    h_assert_i(h_final(&s), 7); /* a b "" ab ba A a\0b */
    h_free(&s);

    struct h_agg ab = cd(SL_TYPE_BOOLEAN, 100000);
    s = h_new(&ab);
    h_put(&s, sl_value_bool(true));
    h_put(&s, sl_value_bool(true));
    h_assert_i(h_final(&s), 1);
    h_put(&s, sl_value_bool(false));
    h_assert_i(h_final(&s), 2);
    h_free(&s);

    struct h_agg ats = cd(SL_TYPE_TIMESTAMP, 100000);
    s = h_new(&ats);
    h_put(&s, sl_value_ts(1700000000000));
    h_put(&s, sl_value_ts(1700000000000));
    h_put(&s, sl_value_ts(0));
    h_assert_i(h_final(&s), 2);
    h_free(&s);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Many values with repeats; the oracle sorts and counts runs. */
static void test_large_against_sort(void **unused)
{
    (void)unused;
    enum { N = 200000 };
    int64_t *xs = malloc(N * sizeof(*xs));
    uint64_t seed = 42;
    assert_non_null(xs);
    for (int i = 0; i < N; i++) {
        /* about 60000 distinct values, some small, some with only high bits set */
        uint64_t r = h_rand(&seed) % 60000;
        xs[i] = (i % 3 == 0) ? (int64_t)(r << 40) : (int64_t)r - 30000;
    }
    struct h_agg ai = cd(SL_TYPE_BIGINT, 1000000);
    struct h_agg at = cd(SL_TYPE_TEXT, 1000000);
    struct h_state s = h_new(&ai), t = h_new(&at);
    char buf[32];
    for (int i = 0; i < N; i++) {
        h_put(&s, I(xs[i]));
        int n = snprintf(buf, sizeof(buf), "k%lld", (long long)xs[i]);
        h_put(&t, sl_value_text(buf, (uint32_t)n));
    }
    qsort(xs, N, sizeof(*xs), cmp_i64);
    int64_t want = 1;
    for (int i = 1; i < N; i++) {
        want += xs[i] != xs[i - 1];
    }
    h_assert_i(h_final(&s), want);
    h_assert_i(h_final(&t), want);
    h_free(&s);
    h_free(&t);
    free(xs);
}

static void test_limit(void **unused)
{
    (void)unused;
    struct h_agg ai = cd(SL_TYPE_BIGINT, 3);
    /* At the limit: fine, repeats included. */
    struct h_state s = h_new(&ai);
    const int64_t upto[] = {1, 2, 3, 3, 1, 2};
    for (size_t i = 0; i < SL_ARRAY_LEN(upto); i++) {
        h_put(&s, I(upto[i]));
    }
    h_assert_i(h_final(&s), 3);
    assert_int_equal(s.over, 0);
    /* One beyond: NULL, counted once however many more come. */
    h_put(&s, I(4));
    h_assert_null(h_final(&s));
    assert_int_equal(s.over, 1);
    h_put(&s, I(5));
    h_put(&s, I(1));
    h_put(&s, I(6));
    h_assert_null(h_final(&s));
    assert_int_equal(s.over, 1);
    h_free(&s);

    /* The zero key counts toward the limit like any other. */
    s = h_new(&ai);
    h_put(&s, I(0));
    h_put(&s, I(7));
    h_put(&s, I(8));
    h_put(&s, I(0));
    h_assert_i(h_final(&s), 3);
    h_put(&s, I(9));
    h_assert_null(h_final(&s));
    assert_int_equal(s.over, 1);
    h_free(&s);

    struct h_agg at = cd(SL_TYPE_TEXT, 2);
    s = h_new(&at);
    h_put(&s, T("x"));
    h_put(&s, T("y"));
    h_put(&s, T("x"));
    h_assert_i(h_final(&s), 2);
    h_put(&s, T("z"));
    h_assert_null(h_final(&s));
    assert_int_equal(s.over, 1);
    h_free(&s);

    /* max_distinct 0 in a sig means the documented default, 100000. */
    struct h_agg dflt = cd(SL_TYPE_BIGINT, 0);
    s = h_new(&dflt);
    for (int64_t i = 0; i < 100000; i++) {
        h_put(&s, I(i * 7919));
    }
    h_assert_i(h_final(&s), 100000);
    h_put(&s, I(-1));
    h_assert_null(h_final(&s));
    assert_int_equal(s.over, 1);
    h_free(&s);
}

static void test_merge_union(void **unused)
{
    (void)unused;
    struct h_agg ai = cd(SL_TYPE_BIGINT, 3);
    struct h_state a = h_new(&ai), b = h_new(&ai), e = h_new(&ai);
    h_put(&a, I(1));
    h_put(&a, I(2));
    h_put(&b, I(2));
    h_put(&b, I(0));
    h_merge(&a, &e); /* empty changes nothing */
    h_assert_i(h_final(&a), 2);
    h_merge(&a, &b); /* {1, 2} ∪ {2, 0} = 3 values: at the limit */
    h_assert_i(h_final(&a), 3);
    h_assert_i(h_final(&b), 2); /* src unchanged */
    h_merge(&e, &b);
    h_put(&e, I(5)); /* {2, 0, 5} */
    h_merge(&a, &e); /* 4 values: beyond */
    h_assert_null(h_final(&a));
    h_merge(&a, &b); /* stays NULL */
    h_assert_null(h_final(&a));
    h_free(&a);
    h_free(&b);
    h_free(&e);

    /* An overflowed state poisons any union, in either direction. */
    a = h_new(&ai);
    b = h_new(&ai);
    for (int i = 0; i < 4; i++) {
        h_put(&a, I(i + 10));
    }
    h_put(&b, I(1));
    h_merge(&b, &a);
    h_assert_null(h_final(&b));
    h_free(&b);
    b = h_new(&ai);
    h_put(&b, I(1));
    h_merge(&a, &b);
    h_assert_null(h_final(&a));
    h_free(&a);
    h_free(&b);

    /* TEXT union: bytes are copied out of the source, which may then be freed. */
    struct h_agg at = cd(SL_TYPE_TEXT, 100);
    a = h_new(&at);
    b = h_new(&at);
    h_put(&a, T("shared value that is rather long, to be sure it is not inline"));
    h_put(&a, T("only in a"));
    h_put(&b, T("shared value that is rather long, to be sure it is not inline"));
    h_put(&b, T(""));
    h_put(&b, T("only in b"));
    h_merge(&a, &b);
    h_free(&b);
    h_assert_i(h_final(&a), 4);
    h_put(&a, T("only in b"));
    h_put(&a, T(""));
    h_assert_i(h_final(&a), 4);
    h_free(&a);

    /* Empty strings only: no byte pool at all. */
    a = h_new(&at);
    b = h_new(&at);
    h_put(&b, T(""));
    h_merge(&a, &b);
    h_assert_i(h_final(&a), 1);
    h_free(&a);
    h_free(&b);
}

/* The hash behind the sets (written for Sluice, so tested here): every input bit flips about
 * half the output bits, and structured keys spread evenly over the low bits the table uses. */
static void test_hash_quality(void **unused)
{
    (void)unused;
    uint64_t seed = 3;
    uint8_t buf[96];
    double flips = 0;
    int trials = 0;
    for (int t = 0; t < 2000; t++) {
        size_t len = 1 + h_rand(&seed) % 80;
        for (size_t i = 0; i < len; i++) {
            buf[i] = (uint8_t)h_rand(&seed);
        }
        uint64_t h0 = sl__agg_hash_bytes(buf, len, 0);
        size_t bit = h_rand(&seed) % (len * 8);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        flips += __builtin_popcountll(h0 ^ sl__agg_hash_bytes(buf, len, 0));
        trials++;
        uint64_t k = h_rand(&seed);
        uint64_t k1 = k ^ ((uint64_t)1 << (h_rand(&seed) % 64));
        flips += __builtin_popcountll(sl__agg_hash_u64(k, 0) ^ sl__agg_hash_u64(k1, 0));
        trials++;
    }
    double avg = flips / trials;
    print_message("average output bits flipped by one input bit: %.2f of 64\n", avg);
    assert_true(avg > 30 && avg < 34);

    /* A prefix and a zero-padded value hash differently from the value. */
    assert_true(sl__agg_hash_bytes("ab", 2, 0) != sl__agg_hash_bytes("ab\0", 3, 0));
    assert_true(sl__agg_hash_bytes("", 0, 0) != sl__agg_hash_bytes("\0", 1, 0));

    /* Buckets: 409600 structured keys into 4096 buckets by the low bits: 100 each expected. */
    enum { NB = 4096, NK = 409600 };
    static uint32_t bu[NB], bt[NB], bs[NB];
    char s[32];
    for (uint64_t i = 0; i < NK; i++) {
        bu[sl__agg_hash_u64(i, 0) & (NB - 1)]++;
        bs[sl__agg_hash_u64(i << 40, 0) & (NB - 1)]++;
        int n = snprintf(s, sizeof(s), "sensor-%llu", (unsigned long long)i);
        bt[sl__agg_hash_bytes(s, (size_t)n, 0) & (NB - 1)]++;
    }
    uint32_t mx = 0, mn = UINT32_MAX;
    for (int b = 0; b < NB; b++) {
        uint32_t c[3] = {bu[b], bs[b], bt[b]};
        for (int j = 0; j < 3; j++) {
            mx = c[j] > mx ? c[j] : mx;
            mn = c[j] < mn ? c[j] : mn;
        }
    }
    print_message("bucket loads: min %u max %u (expected 100)\n", mn, mx);
    assert_true(mx < 160 && mn > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_sets),   cmocka_unit_test(test_large_against_sort),
        cmocka_unit_test(test_limit),        cmocka_unit_test(test_merge_union),
        cmocka_unit_test(test_hash_quality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
