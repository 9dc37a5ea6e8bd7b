/*
 * test_keys.c - canonical group keys: equal values give equal bytes, NULLs group together,
 * decoding gives the values back, and the row order of SQL.md (NULL first, TEXT by bytes),
 * checked on 200 000 random pairs against an oracle that reads the values, not the bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine/keys.h"

static size_t enc(const struct sl_value *v, int n, uint8_t *out)
{
    size_t sz = sl_key_size(v, n);
    size_t len = sl_key_encode(v, n, out);
    assert_int_equal(sz, len);
    return len;
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct sl_value v[5] = {sl_value_text("dév", 4), sl_value_bigint(-7), sl_value_double(2.5),
                            sl_value_bool(true), sl_value_null(SL_TYPE_TEXT)};
    uint8_t buf[128];
    size_t len = enc(v, 5, buf);
    struct sl_value out[5];
    assert_int_equal(sl_key_decode(buf, 5, out), len);
    assert_int_equal(out[0].len, 4);
    assert_memory_equal(out[0].u.s, "dév", 4);
    assert_int_equal(out[1].u.i, -7);
    assert_true(out[2].u.d == 2.5);
    assert_true(out[3].u.b);
    assert_true(out[4].null);
    assert_int_equal(out[4].type, SL_TYPE_TEXT);
}

static void test_equal_bytes(void **state)
{
    (void)state;
    uint8_t a[64], b[64];
    struct sl_value x = sl_value_null(SL_TYPE_BIGINT), y = sl_value_null(SL_TYPE_BIGINT);
    y.u.i = 12345; /* payload of a NULL is meaningless */
    size_t la = enc(&x, 1, a), lb = enc(&y, 1, b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    /* -0 and 0 are one group */
    struct sl_value z1 = sl_value_double(0.0), z2 = sl_value_double(-0.0);
    la = enc(&z1, 1, a);
    lb = enc(&z2, 1, b);
    assert_memory_equal(a, b, la);
    assert_int_equal(sl_hash_bytes(a, la, 1), sl_hash_bytes(b, lb, 1));
    /* "ab","c" differs from "a","bc" */
    struct sl_value p[2] = {sl_value_text("ab", 2), sl_value_text("c", 1)};
    struct sl_value q[2] = {sl_value_text("a", 1), sl_value_text("bc", 2)};
    la = enc(p, 2, a);
    lb = enc(q, 2, b);
    assert_int_equal(la, lb);
    assert_true(memcmp(a, b, la) != 0);
}

static void test_order(void **state)
{
    (void)state;
    struct sl_value n = sl_value_null(SL_TYPE_TEXT), a = sl_value_text("a", 1);
    struct sl_value ab = sl_value_text("ab", 2), b = sl_value_text("b", 1);
    struct sl_value hi = sl_value_text("\xc3\xa9", 2); /* é sorts after ASCII by bytes */
    assert_true(sl_value_cmp(&n, &a) < 0);
    assert_true(sl_value_cmp(&a, &n) > 0);
    assert_int_equal(sl_value_cmp(&n, &n), 0);
    assert_true(sl_value_cmp(&a, &ab) < 0);
    assert_true(sl_value_cmp(&ab, &b) < 0);
    assert_true(sl_value_cmp(&b, &hi) < 0);
    struct sl_value m1 = sl_value_bigint(-5), m2 = sl_value_bigint(3);
    assert_true(sl_value_cmp(&m1, &m2) < 0);
    uint8_t k1[64], k2[64];
    struct sl_value r1[2] = {sl_value_text("x", 1), sl_value_bigint(10)};
    struct sl_value r2[2] = {sl_value_text("x", 1), sl_value_bigint(9)};
    enc(r1, 2, k1);
    enc(r2, 2, k2);
    assert_true(sl_key_cmp(k1, k2, 2) > 0);
    assert_int_equal(sl_key_cmp(k1, k1, 2), 0);
}

/* Oracle for the row order of SQL.md, on the values themselves (no key bytes): NULL first,
 * numbers by value, TEXT by unsigned bytes then length, false < true. */
static int oracle_cmp(const struct sl_value *a, const struct sl_value *b, int n)
{
    for (int i = 0; i < n; i++) {
        if (a[i].null != b[i].null) {
            return a[i].null ? -1 : 1;
        }
        if (a[i].null) {
            continue;
        }
        int c = 0;
        if (a[i].type == SL_TYPE_TEXT) {
            uint32_t k = 0;
            while (c == 0 && k < a[i].len && k < b[i].len) {
                unsigned char x = (unsigned char)a[i].u.s[k], y = (unsigned char)b[i].u.s[k];
                c = x < y ? -1 : (x > y ? 1 : 0);
                k++;
            }
            if (c == 0 && a[i].len != b[i].len) {
                c = a[i].len < b[i].len ? -1 : 1;
            }
        } else if (a[i].type == SL_TYPE_DOUBLE) {
            c = a[i].u.d < b[i].u.d ? -1 : (a[i].u.d > b[i].u.d ? 1 : 0);
        } else if (a[i].type == SL_TYPE_BOOLEAN) {
            c = a[i].u.b == b[i].u.b ? 0 : (a[i].u.b ? 1 : -1);
        } else {
            c = a[i].u.i < b[i].u.i ? -1 : (a[i].u.i > b[i].u.i ? 1 : 0);
        }
        if (c != 0) {
            return c;
        }
    }
    return 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* A random row of (TEXT, BIGINT, DOUBLE, BOOLEAN, TIMESTAMP), values drawn from small sets
 * so that ties and shared prefixes are common; TEXT bytes include 0x00 and >= 0x80. */
static void random_row(struct sl_value *v, char *text)
{
    static const char alpha[] = {'a', 'b', 0, (char)0x80, (char)0xff};
    uint32_t len = rnd(4) == 0 ? rnd(3) : rnd(20);
    for (uint32_t k = 0; k < len; k++) {
        text[k] = k < 9 ? 'd' : alpha[rnd(sizeof(alpha))]; /* long shared prefixes */
    }
    static const double dbl[] = {-1.5, -0.0, 0.0, 1e-300, 2.5, 1e300};
    v[0] = sl_value_text(text, len);
    v[1] = sl_value_bigint((int64_t)rnd(5) - 2 + (rnd(2) ? INT64_C(1) << 40 : 0));
    v[2] = (struct sl_value){.type = SL_TYPE_DOUBLE, .u.d = dbl[rnd(6)]};
    v[3] = (struct sl_value){.type = SL_TYPE_BOOLEAN, .u.b = rnd(2) != 0};
    v[4] = (struct sl_value){.type = SL_TYPE_TIMESTAMP, .u.i = (int64_t)rnd(3) - 1};
    for (int i = 0; i < 5; i++) {
        if (rnd(6) == 0) {
            v[i].null = 1;
        }
    }
}

static void test_key_cmp_oracle(void **state)
{
    (void)state;
    for (int it = 0; it < 200000; it++) {
        struct sl_value a[5], b[5];
        char ta[32], tb[32];
        uint8_t ka[128], kb[128];
        random_row(a, ta);
        random_row(b, tb);
        if (rnd(3) == 0) { /* equal prefix columns, differ later */
            memcpy(b, a, sizeof(struct sl_value) * 2);
        }
        enc(a, 5, ka);
        enc(b, 5, kb);
        int want = oracle_cmp(a, b, 5), got = sl_key_cmp(ka, kb, 5);
        if ((want > 0) != (got > 0) || (want < 0) != (got < 0)) {
            fail_msg("row %d: sl_key_cmp %d, oracle %d", it, got, want);
        }
        assert_int_equal(sl_key_cmp(ka, ka, 5), 0);
    }
}

/* sl_key_prefix: wherever two keys' words differ, their unsigned order is the oracle's; each
 * column type in turn leads the key (the words summarise the first value only). */
static void test_key_prefix_oracle(void **state)
{
    (void)state;
    int decided[5] = {0};
    for (int it = 0; it < 200000; it++) {
        struct sl_value a[5], b[5];
        char ta[32], tb[32];
        uint8_t ka[128], kb[128];
        random_row(a, ta);
        random_row(b, tb);
        if (it % 2 == 0) { /* texts that differ early, not only after 'ddddddddd' */
            static const char alpha[] = {'a', 'b', 0, (char)0x80, (char)0xff};
            for (uint32_t k = 0; k < a[0].len; k++) {
                ta[k] = alpha[rnd(sizeof(alpha))];
            }
            for (uint32_t k = 0; k < b[0].len; k++) {
                tb[k] = k < a[0].len && rnd(2) ? ta[k] : alpha[rnd(sizeof(alpha))];
            }
        }
        int f = it % 5;
        struct sl_value t = a[0];
        a[0] = a[f];
        a[f] = t;
        t = b[0];
        b[0] = b[f];
        b[f] = t;
        enc(a, 5, ka);
        enc(b, 5, kb);
        uint64_t pa[2], pb[2];
        sl_key_prefix(ka, 5, pa);
        sl_key_prefix(kb, 5, pb);
        int got = pa[0] != pb[0] ? (pa[0] < pb[0] ? -1 : 1)
                                 : (pa[1] != pb[1] ? (pa[1] < pb[1] ? -1 : 1) : 0);
        if (got == 0) {
            continue;
        }
        decided[f]++;
        int want = oracle_cmp(a, b, 5);
        if ((want > 0) != (got > 0) || (want < 0) != (got < 0)) {
            fail_msg("row %d (column %d first): prefix %d, oracle %d", it, f, got, want);
        }
    }
    /* Not vacuous: TEXT (0), BIGINT (1) and TIMESTAMP (4) keys are mostly told apart by the
     * words; DOUBLE and BOOLEAN never are (NULL against a value still is). */
    assert_true(decided[0] > 20000);
    assert_true(decided[1] > 20000);
    assert_true(decided[4] > 20000);
}

static void test_hash_spread(void **state)
{
    (void)state;
    /* 10000 keys "device-N" into 16 buckets: each within 25 % of the mean. */
    int buckets[16] = {0};
    char s[32];
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(s, sizeof(s), "device-%d", i);
        buckets[sl_hash_bytes(s, (size_t)n, 0) % 16]++;
    }
    for (int i = 0; i < 16; i++) {
        assert_in_range(buckets[i], 625 * 3 / 4, 625 * 5 / 4);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),   cmocka_unit_test(test_equal_bytes),
        cmocka_unit_test(test_order),       cmocka_unit_test(test_key_cmp_oracle),
        cmocka_unit_test(test_hash_spread), cmocka_unit_test(test_key_prefix_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
