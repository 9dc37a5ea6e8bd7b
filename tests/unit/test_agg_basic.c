/*
 * test_agg_basic.c - COUNT, SUM, AVG, MIN, MAX, FIRST_VALUE and LAST_VALUE on small inputs
 * whose results are worked out by hand from SQL.md: NULLs ignored, empty groups, overflow,
 * ordering of DOUBLE and TEXT, owned TEXT copies, ties by source position.
 */
#include <float.h>
#include <math.h>

#include "agg_harness.h"

#define I(x)  sl_value_bigint(x)
#define D(x)  sl_value_double(x)
#define B(x)  sl_value_bool(x)
#define TS(x) sl_value_ts(x)
#define T(s)  sl_value_text((s), (uint32_t)strlen(s))
#define N(t)  sl_value_null(t)

static void test_count(void **unused)
{
    (void)unused;
    struct h_agg cx = h_agg_make("COUNT", SL_TYPE_BIGINT, false);
    struct h_agg cs = h_agg_make("COUNT", SL_TYPE_NULL, true);
    struct h_state a = h_new(&cx), s = h_new(&cs);
    h_assert_i(h_final(&a), 0); /* empty group: 0, not NULL */
    h_assert_i(h_final(&s), 0);
    const struct sl_value vals[] = {I(1), N(SL_TYPE_BIGINT), I(3), N(SL_TYPE_BIGINT), I(0)};
    for (size_t i = 0; i < SL_ARRAY_LEN(vals); i++) {
        h_put(&a, vals[i]);
        h_put(&s, sl_value_null(SL_TYPE_NULL)); /* COUNT(*) gets a NULL cell */
    }
    h_assert_i(h_final(&a), 3);
    h_assert_i(h_final(&s), 5);
    h_merge(&a, &s);
    h_assert_i(h_final(&a), 8);
    h_free(&a);
    h_free(&s);
}

static void test_sum_bigint(void **unused)
{
    (void)unused;
    struct h_agg ag = h_agg_make("SUM", SL_TYPE_BIGINT, false);
    struct h_state s = h_new(&ag);
    h_assert_null(h_final(&s)); /* no rows */
    h_put(&s, N(SL_TYPE_BIGINT));
    h_assert_null(h_final(&s)); /* only NULLs */
    h_put(&s, I(1));
    h_put(&s, I(2));
    h_put(&s, N(SL_TYPE_BIGINT));
    h_put(&s, I(-10));
    h_assert_i(h_final(&s), -7);
    h_free(&s);

    /* Beyond BIGINT: NULL; back within range: the exact value, whatever the order. */
    s = h_new(&ag);
    h_put(&s, I(INT64_MAX));
    h_put(&s, I(1));
    h_assert_null(h_final(&s));
    h_put(&s, I(-1));
    h_assert_i(h_final(&s), INT64_MAX);
    h_put(&s, I(INT64_MAX));
    h_put(&s, I(INT64_MAX));
    h_put(&s, I(INT64_MIN));
    h_put(&s, I(INT64_MIN));
    h_put(&s, I(INT64_MIN));
    h_assert_i(h_final(&s), -3); /* MAX + 1 - 1 + 2 MAX + 3 MIN = 3 (MAX + MIN) */
    h_free(&s);

    s = h_new(&ag);
    h_put(&s, I(INT64_MIN));
    h_assert_i(h_final(&s), INT64_MIN);
    h_put(&s, I(-1));
    h_assert_null(h_final(&s));
    h_free(&s);
}

static void test_sum_double(void **unused)
{
    (void)unused;
    struct h_agg ag = h_agg_make("SUM", SL_TYPE_DOUBLE, false);
    struct h_state s = h_new(&ag);
    h_assert_null(h_final(&s));
    /* The doubles nearest 0.1, 0.2, 0.3 add up to 0.6000000000000000055…, nearest double 0.6;
     * naive summation gives 0.6000000000000001. */
    h_put(&s, D(0.1));
    h_put(&s, D(0.2));
    h_put(&s, N(SL_TYPE_DOUBLE));
    h_put(&s, D(0.3));
    struct sl_value v = h_final(&s);
    assert_int_equal(v.null, 0);
    assert_true(v.u.d == 0.6);
    h_free(&s);

    /* Neumaier's example: 1 + 1e100 + 1 - 1e100 = 2 (naive and Kahan give 0). */
    s = h_new(&ag);
    h_put(&s, D(1.0));
    h_put(&s, D(1e100));
    h_put(&s, D(1.0));
    h_put(&s, D(-1e100));
    v = h_final(&s);
    assert_true(v.u.d == 2.0);
    h_free(&s);

    /* Non-finite results are NULL. */
    s = h_new(&ag);
    h_put(&s, D(DBL_MAX));
    h_put(&s, D(DBL_MAX));
    h_assert_null(h_final(&s));
    h_free(&s);
    s = h_new(&ag);
    h_put(&s, D(1.0));
    h_put(&s, D(INFINITY));
    h_assert_null(h_final(&s));
    h_free(&s);
}

static void test_avg(void **unused)
{
    (void)unused;
    struct h_agg ai = h_agg_make("AVG", SL_TYPE_BIGINT, false);
    struct h_agg ad = h_agg_make("AVG", SL_TYPE_DOUBLE, false);
    struct h_state s = h_new(&ai);
    h_assert_null(h_final(&s));
    h_put(&s, I(1));
    h_put(&s, N(SL_TYPE_BIGINT));
    h_put(&s, I(2));
    struct sl_value v = h_final(&s);
    assert_int_equal(v.type, SL_TYPE_DOUBLE);
    assert_true(v.u.d == 1.5);
    h_free(&s);

    /* The mean of two INT64_MAX is INT64_MAX; as a double 2^63 (no overflow on the way). */
    s = h_new(&ai);
    h_put(&s, I(INT64_MAX));
    h_put(&s, I(INT64_MAX));
    v = h_final(&s);
    assert_true(v.u.d == 0x1p63);
    h_put(&s, I(INT64_MIN));
    h_put(&s, I(INT64_MIN));
    v = h_final(&s);
    assert_true(v.u.d == -0.5);
    h_free(&s);

    s = h_new(&ad);
    h_put(&s, D(1.0));
    h_put(&s, N(SL_TYPE_DOUBLE));
    h_put(&s, D(2.0));
    h_put(&s, D(4.0));
    v = h_final(&s);
    assert_true(v.u.d == 7.0 / 3.0);
    h_free(&s);
}

static void test_minmax_numbers(void **unused)
{
    (void)unused;
    struct h_agg mn = h_agg_make("MIN", SL_TYPE_BIGINT, false);
    struct h_agg mx = h_agg_make("MAX", SL_TYPE_BIGINT, false);
    struct h_state a = h_new(&mn), b = h_new(&mx);
    h_assert_null(h_final(&a));
    h_assert_null(h_final(&b));
    h_put(&a, N(SL_TYPE_BIGINT));
    h_put(&b, N(SL_TYPE_BIGINT));
    h_assert_null(h_final(&a));
    h_assert_null(h_final(&b));
    const int64_t xs[] = {5, -3, 7, INT64_MAX, INT64_MIN, 0};
    for (int i = 0; i < 3; i++) {
        h_put(&a, I(xs[i]));
        h_put(&b, I(xs[i]));
    }
    h_assert_i(h_final(&a), -3);
    h_assert_i(h_final(&b), 7);
    for (int i = 3; i < 6; i++) {
        h_put(&a, I(xs[i]));
        h_put(&b, I(xs[i]));
    }
    h_assert_i(h_final(&a), INT64_MIN);
    h_assert_i(h_final(&b), INT64_MAX);
    h_free(&a);
    h_free(&b);

    /* A group whose only value is the key's identity is still that value, not NULL. */
    a = h_new(&mn);
    h_put(&a, I(INT64_MAX));
    h_assert_i(h_final(&a), INT64_MAX);
    h_free(&a);

    struct h_agg dn = h_agg_make("MIN", SL_TYPE_DOUBLE, false);
    struct h_agg dx = h_agg_make("MAX", SL_TYPE_DOUBLE, false);
    a = h_new(&dn);
    b = h_new(&dx);
    const double ds[] = {2.5, -0.5, INFINITY, -INFINITY, 1e-300};
    for (size_t i = 0; i < SL_ARRAY_LEN(ds); i++) {
        h_put(&a, D(ds[i]));
        h_put(&b, D(ds[i]));
    }
    assert_true(h_final(&a).u.d == -INFINITY);
    assert_true(h_final(&b).u.d == INFINITY);
    h_free(&a);
    h_free(&b);

    /* -0 sorts below +0 and NaN above every number (PostgreSQL), in any arrival order. */
    for (int order = 0; order < 2; order++) {
        a = h_new(&dn);
        b = h_new(&dx);
        double seq[3] = {0.0, -0.0, NAN};
        if (order == 1) {
            seq[0] = NAN;
            seq[2] = 0.0;
        }
        for (int i = 0; i < 3; i++) {
            h_put(&a, D(seq[i]));
            h_put(&b, D(seq[i]));
        }
        struct sl_value lo = h_final(&a), hi = h_final(&b);
        assert_true(lo.u.d == 0.0 && signbit(lo.u.d));
        assert_true(isnan(hi.u.d));
        h_free(&a);
        h_free(&b);
    }

    struct h_agg tn = h_agg_make("MIN", SL_TYPE_TIMESTAMP, false);
    struct h_agg tx = h_agg_make("MAX", SL_TYPE_TIMESTAMP, false);
    a = h_new(&tn);
    b = h_new(&tx);
    const int64_t tss[] = {1700000000000, -86400000, 1700000000001};
    for (int i = 0; i < 3; i++) {
        h_put(&a, TS(tss[i]));
        h_put(&b, TS(tss[i]));
    }
    assert_int_equal(h_final(&a).type, SL_TYPE_TIMESTAMP);
    h_assert_i(h_final(&a), -86400000);
    h_assert_i(h_final(&b), 1700000000001);
    h_free(&a);
    h_free(&b);

    struct h_agg bn = h_agg_make("MIN", SL_TYPE_BOOLEAN, false);
    struct h_agg bx = h_agg_make("MAX", SL_TYPE_BOOLEAN, false);
    a = h_new(&bn);
    b = h_new(&bx);
    h_put(&a, B(true));
    h_put(&b, B(false));
    assert_true(h_final(&a).u.b == true);
    assert_true(h_final(&b).u.b == false);
    h_put(&a, B(false));
    h_put(&a, B(true));
    h_put(&b, B(true));
    h_put(&b, B(false));
    assert_true(h_final(&a).u.b == false);
    assert_true(h_final(&b).u.b == true);
    h_free(&a);
    h_free(&b);
}

static void test_minmax_text(void **unused)
{
    (void)unused;
    struct h_agg mn = h_agg_make("MIN", SL_TYPE_TEXT, false);
    struct h_agg mx = h_agg_make("MAX", SL_TYPE_TEXT, false);
    struct h_state a = h_new(&mn), b = h_new(&mx);
    char buf[128];
    h_assert_null(h_final(&a));
    /* Every value passes through one buffer that is overwritten after each update. */
    const char *words[] = {"pear", "apples", "apple", "banana", "Zebra", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < SL_ARRAY_LEN(words); i++) {
        size_t n = strlen(words[i]);
        memcpy(buf, words[i], n);
        h_put(&a, sl_value_text(buf, (uint32_t)n));
        h_put(&b, sl_value_text(buf, (uint32_t)n));
        memset(buf, 'X', sizeof(buf));
    }
    h_put(&a, N(SL_TYPE_TEXT));
    h_assert_text(h_final(&a), "Zebra");             /* 'Z' 0x5a < 'a' 0x61 */
    h_assert_text(h_final(&b), "\xc3\xa9t\xc3\xa9"); /* 0xc3 > every ASCII byte */
    h_free(&a);
    h_free(&b);

    /* Long values (beyond the 24 inline bytes), growing, shrinking and growing again. */
    a = h_new(&mn);
    b = h_new(&mx);
    const char *seq[] = {
        "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm",       /* 44: first, heap */
        "llllllllllllllllllllllllllllllllllllllllllllllllll", /* 50, smaller: heap grows */
        "k",                                                  /* 1, smaller: heap reused */
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", /* not smaller */
        "", /* empty is the least */
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    };
    const char *want_min[] = {seq[0], seq[1], seq[2], seq[2], seq[4], seq[4]};
    const char *want_max[] = {seq[0], seq[0], seq[0], seq[0], seq[0], seq[5]};
    for (size_t i = 0; i < SL_ARRAY_LEN(seq); i++) {
        size_t n = strlen(seq[i]);
        memcpy(buf, seq[i], n);
        h_put(&a, sl_value_text(buf, (uint32_t)n));
        h_put(&b, sl_value_text(buf, (uint32_t)n));
        memset(buf, 'X', sizeof(buf));
        h_assert_text(h_final(&a), want_min[i]);
        h_assert_text(h_final(&b), want_max[i]);
    }
    h_free(&a);
    h_free(&b);

    /* A prefix sorts first; merge copies from the other state. */
    a = h_new(&mn);
    b = h_new(&mn);
    h_put(&a, T("apple pie with a long description"));
    h_put(&b, T("apple"));
    h_merge(&a, &b);
    h_free(&b);
    h_assert_text(h_final(&a), "apple");
    b = h_new(&mn);
    h_merge(&a, &b); /* an empty state changes nothing */
    h_merge(&b, &a); /* and takes everything from a full one */
    h_assert_text(h_final(&a), "apple");
    h_assert_text(h_final(&b), "apple");
    h_free(&a);
    h_assert_text(h_final(&b), "apple");
    h_free(&b);
}

static void test_first_last(void **unused)
{
    (void)unused;
    struct h_agg fa = h_agg_make("FIRST_VALUE", SL_TYPE_TEXT, false);
    struct h_agg la = h_agg_make("LAST_VALUE", SL_TYPE_TEXT, false);
    struct h_state f = h_new(&fa), l = h_new(&la);
    char buf[128];
    h_assert_null(h_final(&f));
    h_assert_null(h_final(&l));
    /* Arrival order is not time order: (ts 30, c), (ts 10, a), (ts 20, b). */
    struct {
        int64_t ts;
        uint64_t pos;
        const char *s;
    } ev[] = {
        {30, 1, "c: the third one, long enough to go on the heap"},
        {10, 2, "a"},
        {5, 9, NULL}, /* NULL: ignored even though earliest */
        {20, 3, "b"},
        {40, 0, NULL},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(ev); i++) {
        struct sl_value v = N(SL_TYPE_TEXT);
        if (ev[i].s != NULL) {
            size_t n = strlen(ev[i].s);
            memcpy(buf, ev[i].s, n);
            v = sl_value_text(buf, (uint32_t)n);
        }
        h_put_at(&f, v, ev[i].ts, ev[i].pos);
        h_put_at(&l, v, ev[i].ts, ev[i].pos);
        memset(buf, 'X', sizeof(buf));
    }
    h_assert_text(h_final(&f), "a");
    h_assert_text(h_final(&l), "c: the third one, long enough to go on the heap");
    h_free(&f);
    h_free(&l);

    /* Ties in time: the smaller position is first, the larger last, whatever the arrival. */
    struct h_agg fi = h_agg_make("FIRST_VALUE", SL_TYPE_BIGINT, false);
    struct h_agg li = h_agg_make("LAST_VALUE", SL_TYPE_BIGINT, false);
    for (int order = 0; order < 2; order++) {
        f = h_new(&fi);
        l = h_new(&li);
        const uint64_t part1 = (uint64_t)1 << 48;
        struct {
            uint64_t pos;
            int64_t v;
        } tie[] = {{part1 | 5, 105}, {3, 3}, {part1 | 2, 102}, {7, 7}};
        for (int k = 0; k < 4; k++) {
            int i = order == 0 ? k : 3 - k;
            h_put_at(&f, I(tie[i].v), 100, tie[i].pos);
            h_put_at(&l, I(tie[i].v), 100, tie[i].pos);
        }
        h_put_at(&f, I(-1), 101, 0); /* later in time, smallest position: not first ... */
        h_put_at(&l, I(-1), 101, 0);
        h_assert_i(h_final(&f), 3);
        h_assert_i(h_final(&l), -1); /* ... but last */
        h_free(&f);
        h_free(&l);
        f = h_new(&li);
        for (int k = 0; k < 4; k++) {
            int i = order == 0 ? k : 3 - k;
            h_put_at(&f, I(tie[i].v), 100, tie[i].pos);
        }
        h_assert_i(h_final(&f), 105); /* partition 1 offset 5 is the largest position */
        h_free(&f);
    }

    /* Merge compares (ts, pos) too. */
    f = h_new(&fi);
    l = h_new(&fi);
    h_put_at(&f, I(1), 50, 8);
    h_put_at(&l, I(2), 50, 7);
    h_merge(&f, &l);
    h_assert_i(h_final(&f), 2);
    h_free(&f);
    h_free(&l);

    /* Other types keep their type. */
    struct h_agg fd = h_agg_make("FIRST_VALUE", SL_TYPE_DOUBLE, false);
    struct h_agg lb = h_agg_make("LAST_VALUE", SL_TYPE_BOOLEAN, false);
    struct h_agg ft = h_agg_make("FIRST_VALUE", SL_TYPE_TIMESTAMP, false);
    f = h_new(&fd);
    l = h_new(&lb);
    struct h_state t = h_new(&ft);
    h_put_at(&f, D(2.5), 2, 0);
    h_put_at(&f, D(-0.25), 1, 0);
    h_put_at(&l, B(true), 1, 0);
    h_put_at(&l, B(false), 2, 0);
    h_put_at(&t, TS(1700000000000), 9, 0);
    h_put_at(&t, TS(-5), 8, 0);
    assert_true(h_final(&f).u.d == -0.25);
    assert_int_equal(h_final(&l).type, SL_TYPE_BOOLEAN);
    assert_true(h_final(&l).u.b == false);
    h_assert_i(h_final(&t), -5);
    h_free(&f);
    h_free(&l);
    h_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count),          cmocka_unit_test(test_sum_bigint),
        cmocka_unit_test(test_sum_double),     cmocka_unit_test(test_avg),
        cmocka_unit_test(test_minmax_numbers), cmocka_unit_test(test_minmax_text),
        cmocka_unit_test(test_first_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
