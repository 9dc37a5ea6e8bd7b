/*
 * test_redis_run.c - the redis sink's fast double formatter: byte-identical to
 * sl_format_double (SQL.md, "Values in results") on hand-written values and on millions of
 * generated ones (two decimals, k decimals, random bit patterns). The sink's behaviour
 * against a real Redis is tested in tests/integration/redis_sink.py.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "connectors/redis/redis_run.h"
#include "engine/format.h"

static void check_same(double d)
{
    char a[SL_FORMAT_NUM_MAX], b[SL_FORMAT_NUM_MAX];
    size_t na = sl__redis_format_double(d, a);
    size_t nb = sl_format_double(d, b);
    if (na != nb || strcmp(a, b) != 0) {
        fail_msg("%.17g: fast '%s' vs sl_format_double '%s'", d, a, b);
    }
}

static void test_hand_written(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {21.5, "21.5"},
        {21.0, "21"},
        {-1.25, "-1.25"},
        {0.001, "0.001"},
        {0.1 + 0.2, "0.30000000000000004"},
        {-0.0, "0"},
        {1e-7, "1e-7"},
        {999999999999999.0, "999999999999999"},
        {1e21, "1e+21"},
        {66.75, "66.75"},
        {0.0123, "0.0123"},
        {123456.789, "123456.789"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[SL_FORMAT_NUM_MAX];
        size_t n = sl__redis_format_double(cases[i].d, buf);
        assert_string_equal(buf, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
    check_same(NAN);
    check_same(INFINITY);
    check_same(-INFINITY);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_generated(void **state)
{
    (void)state;
    for (int64_t x = -1000000; x <= 1000000; x++) {
        check_same((double)x / 100.0);
    }
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10};
    for (int i = 0; i < 2000000; i++) {
        int64_t m = (int64_t)(next() % 1000000000000000ULL) - 500000000000000LL;
        m >>= next() % 50;
        check_same((double)m / p10[next() % 11]);
    }
    for (int i = 0; i < 1000000; i++) {
        uint64_t bits = next();
        double d;
        memcpy(&d, &bits, sizeof(d));
        check_same(d);
        check_same((double)(bits % 100000) * 0.001 + 15.0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_written),
        cmocka_unit_test(test_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
