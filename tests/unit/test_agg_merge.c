/*
 * test_agg_merge.c - merge is associative and commutative, and updates do not depend on
 * arrival order: for every exact aggregate and argument type, a seeded dataset is split into
 * random partitions (some empty), each fed in shuffled order, and the partial states are
 * merged left to right in random order, as random binary trees, and into a fresh empty state;
 * every result must equal the single state's: exactly for integer, TEXT, BOOLEAN, TIMESTAMP
 * results and for MIN/MAX/FIRST/LAST of DOUBLE, within 1e-12 relative for SUM/AVG/variance of
 * DOUBLE.
 */
#include <math.h>
#include <stdio.h>

#include "agg_harness.h"

enum { NEV = 3000, TRIALS = 24, MAXPART = 12 };

struct ev {
    struct sl_value v;
    int64_t ts;
    uint64_t pos;
    char text[64];
};

static struct ev evs[NEV];

static const char alphabet[] = "abcz";

/* Fills evs with values of type t (about 10 % NULL). kind varies the distribution. */
static void make_data(enum sl_type t, int kind, uint64_t seed)
{
    for (int i = 0; i < NEV; i++) {
        struct ev *e = &evs[i];
        uint64_t r = h_rand(&seed);
        /* few distinct times, so that ties by position are common */
        e->ts = 1000 + (int64_t)(h_rand(&seed) % 50);
        e->pos = ((h_rand(&seed) % 4) << 48) | (uint64_t)i;
        if (r % 10 == 0 && !(t == SL_TYPE_BIGINT && kind == 1)) {
            e->v = sl_value_null(t);
            continue;
        }
        switch (t) {
        case SL_TYPE_BIGINT:
            if (kind == 1) { /* ±2^62 in pairs: partial sums overflow, the total fits */
                uint64_t pair = (uint64_t)(i / 2) + 777;
                int64_t b = (int64_t)(h_rand(&pair) >> 1);
                e->v = sl_value_bigint(i % 2 == 0 ? b : -b + (int64_t)(r % 1000));
            } else if (kind == 2) { /* up to ±2^63: the total overflows */
                e->v = sl_value_bigint((int64_t)(h_rand(&seed) >> 1) * ((i % 2) ? -1 : 1));
            } else {
                e->v = sl_value_bigint((int64_t)(h_rand(&seed) % 200) - 100);
            }
            break;
        case SL_TYPE_DOUBLE:
            if (kind == 1) {
                e->v = sl_value_double(1e9 + (h_unif(&seed) - 0.5) * 1e-2);
            } else if (kind == 2 && h_rand(&seed) % 50 == 0) {
                const double odd[] = {0.0, -0.0, NAN, INFINITY, -INFINITY};
                e->v = sl_value_double(odd[h_rand(&seed) % 5]);
            } else {
                e->v = sl_value_double((h_unif(&seed) - 0.5) * exp(10 * h_unif(&seed)));
            }
            break;
        case SL_TYPE_TIMESTAMP:
            e->v = sl_value_ts(1700000000000 + (int64_t)(h_rand(&seed) % 100000) - 50000);
            break;
        case SL_TYPE_BOOLEAN:
            e->v = sl_value_bool(h_rand(&seed) % 3 == 0);
            break;
        default: { /* TEXT: 0..60 bytes from a small alphabet: prefixes, repeats, heap */
            uint32_t n = (uint32_t)(h_rand(&seed) % (kind == 1 ? 4 : 61));
            for (uint32_t j = 0; j < n; j++) {
                e->text[j] = alphabet[h_rand(&seed) % 4];
            }
            e->v = sl_value_text(e->text, n);
            break;
        }
        }
    }
}

static void shuffle(int *a, int n, uint64_t *seed)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(h_rand(seed) % (uint64_t)(i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static void feed(struct h_state *s, const int *idx, int n)
{
    for (int i = 0; i < n; i++) {
        const struct ev *e = &evs[idx[i]];
        h_put_at(s, e->v, e->ts, e->pos);
    }
}

/* Compares two results as the test's header says; what names the case for messages. */
static void same(struct sl_value a, struct sl_value b, bool approx, const char *what)
{
    if (a.null != b.null) {
        fail_msg("%s: null %d vs %d", what, a.null, b.null);
    }
    if (a.null) {
        return;
    }
    assert_int_equal(a.type, b.type);
    switch ((enum sl_type)a.type) {
    case SL_TYPE_TEXT:
        if (a.len != b.len || (a.len != 0 && memcmp(a.u.s, b.u.s, a.len) != 0)) {
            fail_msg("%s: '%.*s' vs '%.*s'", what, (int)a.len, a.u.s, (int)b.len, b.u.s);
        }
        break;
    case SL_TYPE_DOUBLE:
        if (approx) {
            double d = fabs(a.u.d - b.u.d), m = fabs(b.u.d);
            if (!(d <= 1e-12 * m)) {
                fail_msg("%s: %.17g vs %.17g", what, a.u.d, b.u.d);
            }
        } else if (memcmp(&a.u.d, &b.u.d, sizeof(double)) != 0 && !(isnan(a.u.d) && isnan(b.u.d))) {
            fail_msg("%s: %.17g vs %.17g (bits)", what, a.u.d, b.u.d);
        }
        break;
    case SL_TYPE_BOOLEAN:
        assert_int_equal(a.u.b, b.u.b);
        break;
    default:
        if (a.u.i != b.u.i) {
            fail_msg("%s: %lld vs %lld", what, (long long)a.u.i, (long long)b.u.i);
        }
        break;
    }
}

/* Returns the single state's BIGINT result (INT64_MIN for NULL; 0 for other types). */
static int64_t check_merges(const char *name, enum sl_type t, int kind, uint64_t max_distinct)
{
    char what[96];
    uint64_t seed = 0x5eed0000u + (uint64_t)t * 131 + (uint64_t)kind * 7 + strlen(name);
    make_data(t, kind, seed);
    struct h_agg a = h_agg_make(name, t, false);
    if (max_distinct != 0) {
        a.sig.max_distinct = max_distinct;
    }
    bool approx = a.sig.result == SL_TYPE_DOUBLE &&
                  (strcmp(name, "MIN") != 0 && strcmp(name, "MAX") != 0 &&
                   strcmp(name, "FIRST_VALUE") != 0 && strcmp(name, "LAST_VALUE") != 0);
    int order[NEV];
    for (int i = 0; i < NEV; i++) {
        order[i] = i;
    }
    struct h_state whole = h_new(&a);
    feed(&whole, order, NEV);
    struct sl_value want = h_final(&whole);

    for (int trial = 0; trial < TRIALS; trial++) {
        snprintf(what, sizeof(what), "%s(%s) kind %d trial %d", name, sl_type_name(t), kind, trial);
        /* Shuffled arrival into one state. */
        shuffle(order, NEV, &seed);
        struct h_state one = h_new(&a);
        feed(&one, order, NEV);
        same(h_final(&one), want, approx, what);
        h_free(&one);

        /* Random partitions, each fed in shuffled order. */
        int k = 1 + (int)(h_rand(&seed) % MAXPART);
        int part_of[NEV], counts[MAXPART] = {0};
        static int members[MAXPART][NEV];
        for (int i = 0; i < NEV; i++) {
            int p = (int)(h_rand(&seed) % (uint64_t)k);
            part_of[i] = p;
            members[p][counts[p]++] = order[i];
        }
        (void)part_of;
        struct h_state parts[MAXPART];
        for (int p = 0; p < k; p++) {
            parts[p] = h_new(&a);
            feed(&parts[p], members[p], counts[p]);
        }
        int perm[MAXPART];
        for (int p = 0; p < k; p++) {
            perm[p] = p;
        }
        shuffle(perm, k, &seed);
        struct h_state out;
        switch (trial % 3) {
        case 0: /* left fold in random order */
            out = parts[perm[0]];
            for (int p = 1; p < k; p++) {
                h_merge(&out, &parts[perm[p]]);
                h_free(&parts[perm[p]]);
            }
            break;
        case 1: { /* random binary tree, random direction */
            int live = k;
            while (live > 1) {
                int i = (int)(h_rand(&seed) % (uint64_t)live);
                int j = (int)(h_rand(&seed) % (uint64_t)(live - 1));
                j += j >= i;
                h_merge(&parts[perm[i]], &parts[perm[j]]);
                h_free(&parts[perm[j]]);
                perm[j] = perm[--live];
            }
            out = parts[perm[0]];
            break;
        }
        default: /* into a fresh state, as HOP panes are merged into a window */
            out = h_new(&a);
            for (int p = 0; p < k; p++) {
                h_merge(&out, &parts[perm[p]]);
                h_free(&parts[perm[p]]);
            }
            break;
        }
        same(h_final(&out), want, approx, what);
        h_free(&out);
    }
    int64_t ret = want.null ? INT64_MIN : want.type == SL_TYPE_BIGINT ? want.u.i : 0;
    h_free(&whole);
    return ret;
}

static void test_count_sum_avg(void **unused)
{
    (void)unused;
    check_merges("COUNT", SL_TYPE_BIGINT, 0, 0);
    check_merges("COUNT", SL_TYPE_TEXT, 0, 0);
    check_merges("SUM", SL_TYPE_BIGINT, 0, 0);
    /* the exact total of the pairs is the sum of the small parts: below 1000 * NEV / 2 */
    int64_t big = check_merges("SUM", SL_TYPE_BIGINT, 1, 0);
    assert_true(big > 0 && big < 1000 * NEV / 2);
    assert_int_equal(check_merges("SUM", SL_TYPE_BIGINT, 2, 0), INT64_MIN); /* NULL */
    check_merges("SUM", SL_TYPE_DOUBLE, 0, 0);
    check_merges("SUM", SL_TYPE_DOUBLE, 1, 0);
    check_merges("AVG", SL_TYPE_BIGINT, 0, 0);
    check_merges("AVG", SL_TYPE_BIGINT, 1, 0);
    check_merges("AVG", SL_TYPE_DOUBLE, 1, 0);
}

static void test_count_star(void **unused)
{
    (void)unused;
    struct h_agg a = h_agg_make("COUNT", SL_TYPE_NULL, true);
    struct h_state x = h_new(&a), y = h_new(&a), z = h_new(&a);
    for (int i = 0; i < 5; i++) {
        h_put(&x, sl_value_null(SL_TYPE_NULL));
    }
    for (int i = 0; i < 7; i++) {
        h_put(&y, sl_value_null(SL_TYPE_NULL));
    }
    h_merge(&z, &y);
    h_merge(&z, &x);
    h_merge(&x, &y);
    h_assert_i(h_final(&z), 12);
    h_assert_i(h_final(&x), 12);
    h_free(&x);
    h_free(&y);
    h_free(&z);
}

static void test_minmax(void **unused)
{
    (void)unused;
    const enum sl_type ts[] = {SL_TYPE_BIGINT, SL_TYPE_DOUBLE, SL_TYPE_TIMESTAMP, SL_TYPE_BOOLEAN,
                               SL_TYPE_TEXT};
    for (size_t i = 0; i < SL_ARRAY_LEN(ts); i++) {
        check_merges("MIN", ts[i], 0, 0);
        check_merges("MAX", ts[i], 0, 0);
    }
    check_merges("MIN", SL_TYPE_DOUBLE, 2, 0); /* ±0, NaN, ±inf */
    check_merges("MAX", SL_TYPE_DOUBLE, 2, 0);
}

static void test_first_last(void **unused)
{
    (void)unused;
    const enum sl_type ts[] = {SL_TYPE_BIGINT, SL_TYPE_DOUBLE, SL_TYPE_TIMESTAMP, SL_TYPE_BOOLEAN,
                               SL_TYPE_TEXT};
    for (size_t i = 0; i < SL_ARRAY_LEN(ts); i++) {
        check_merges("FIRST_VALUE", ts[i], 0, 0);
        check_merges("LAST_VALUE", ts[i], 0, 0);
    }
}

static void test_count_distinct(void **unused)
{
    (void)unused;
    check_merges("COUNT_DISTINCT", SL_TYPE_BIGINT, 0, 0);
    check_merges("COUNT_DISTINCT", SL_TYPE_DOUBLE, 2, 0);
    check_merges("COUNT_DISTINCT", SL_TYPE_TEXT, 0, 0);
    check_merges("COUNT_DISTINCT", SL_TYPE_TEXT, 1, 0); /* short strings, many repeats */
    check_merges("COUNT_DISTINCT", SL_TYPE_BOOLEAN, 0, 0);
    /* 200 distinct BIGINTs: a limit above gives 200 in every order, one below NULL. */
    assert_int_equal(check_merges("COUNT_DISTINCT", SL_TYPE_BIGINT, 0, 200), 200);
    assert_int_equal(check_merges("COUNT_DISTINCT", SL_TYPE_BIGINT, 0, 199), INT64_MIN);
    /* 1 + 4 + 16 + 64 strings of up to 3 letters from 4 */
    assert_int_equal(check_merges("COUNT_DISTINCT", SL_TYPE_TEXT, 1, 85), 85);
    assert_int_equal(check_merges("COUNT_DISTINCT", SL_TYPE_TEXT, 1, 84), INT64_MIN);
}

static void test_moments(void **unused)
{
    (void)unused;
    const char *names[] = {"VAR_POP", "VAR_SAMP", "STDDEV_POP", "STDDEV_SAMP"};
    for (int i = 0; i < 4; i++) {
        check_merges(names[i], SL_TYPE_DOUBLE, 0, 0);
        check_merges(names[i], SL_TYPE_DOUBLE, 1, 0); /* 1e9 + noise */
        check_merges(names[i], SL_TYPE_BIGINT, 0, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_sum_avg),  cmocka_unit_test(test_count_star),
        cmocka_unit_test(test_minmax),         cmocka_unit_test(test_first_last),
        cmocka_unit_test(test_count_distinct), cmocka_unit_test(test_moments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
