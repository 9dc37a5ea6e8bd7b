/*
 * test_keys.c - canonical group keys: equal values give equal bytes, NULLs group together,
 * decoding gives the values back, and the row order of SQL.md (NULL first, TEXT by bytes).
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
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_equal_bytes),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_hash_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
