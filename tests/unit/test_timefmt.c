/*
 * test_timefmt.c - RFC 3339 parsing/formatting and civil dates.
 *
 * Expected epoch values were computed with GNU date (`date -u -d … +%s`) and written here
 * by hand; the civil-date functions are checked day by day against glibc's timegm/gmtime_r,
 * which share no code with ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common.h"
#include "timefmt.h"

static int64_t parse_ok(const char *s)
{
    int64_t ms = 12345;
    int r = sl_parse_rfc3339(s, strlen(s), &ms);
    if (r != 0) {
        fail_msg("expected \"%s\" to parse, got %d", s, r);
    }
    return ms;
}

static void parse_bad(const char *s)
{
    int64_t ms = 777;
    int r = sl_parse_rfc3339(s, strlen(s), &ms);
    if (r != -EINVAL) {
        fail_msg("expected \"%s\" to be refused, got %d (ms %lld)", s, r, (long long)ms);
    }
    assert_int_equal(ms, 777); /* ret_ms untouched on failure */
}

static void test_parse_basic(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-05-01T12:00:00Z"), 1714564800000LL);
    assert_int_equal(parse_ok("2024-05-01t12:00:00z"), 1714564800000LL);
    assert_int_equal(parse_ok("2024-05-01 12:00:00Z"), 1714564800000LL);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1969-07-20T20:17:40Z"), -14182940000LL);
    assert_int_equal(parse_ok("0001-01-01T00:00:00Z"), -62135596800000LL);
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), 253402300799999LL);
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400000LL);
    assert_int_equal(parse_ok("1900-03-01T00:00:00Z"), -2203891200000LL);
}

static void test_parse_offsets(void **state)
{
    (void)state;
    /* 12:00+02:00 is 10:00Z */
    assert_int_equal(parse_ok("2024-05-01T12:00:00+02:00"), 1714557600000LL);
    assert_int_equal(parse_ok("2024-05-01T10:00:00-02:00"), 1714564800000LL);
    assert_int_equal(parse_ok("2024-05-01T12:00:00+00:00"), 1714564800000LL);
    assert_int_equal(parse_ok("2024-05-01T12:00:00-00:00"), 1714564800000LL);
    assert_int_equal(parse_ok("2024-05-01T17:30:00+05:30"), 1714564800000LL);
    assert_int_equal(parse_ok("2024-05-01T12:00:00.123456+02:00"), 1714557600123LL);
    /* crossing a day and a year by the offset */
    assert_int_equal(parse_ok("1970-01-01T00:00:00+01:00"), -3600000LL);
    assert_int_equal(parse_ok("1969-12-31T23:00:00-01:00"), 0);
}

static void test_parse_fraction_floor(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00.1Z"), 100);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.12Z"), 120);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.123Z"), 123);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.1239Z"), 123);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.0009Z"), 0);
    assert_int_equal(parse_ok("1970-01-01T00:00:00.999999999999999Z"), 999);
    /* Before 1970: -0.0001 s floors to -1 ms, not 0. */
    assert_int_equal(parse_ok("1969-12-31T23:59:59.9999Z"), -1);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.0001Z"), -1000);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.5Z"), -500);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    parse_bad("");
    parse_bad("2024-05-01");
    parse_bad("2024-05-01T12:00:00");   /* no zone */
    parse_bad("2024-05-01T12:00Z");     /* no seconds */
    parse_bad("2024-05-01T12:00:00.Z"); /* empty fraction */
    parse_bad("2024-05-01T12:00:00.");
    parse_bad("2024-05-01T12:00:00.123");
    parse_bad("2024-05-01T12:00:00ZZ"); /* trailing */
    parse_bad("2024-05-01T12:00:00Z ");
    parse_bad(" 2024-05-01T12:00:00Z");
    parse_bad("2024-05-01X12:00:00Z");
    parse_bad("2024/05/01T12:00:00Z");
    parse_bad("2024-13-01T12:00:00Z");
    parse_bad("2024-00-01T12:00:00Z");
    parse_bad("2024-05-00T12:00:00Z");
    parse_bad("2024-04-31T12:00:00Z");
    parse_bad("2023-02-29T12:00:00Z"); /* not a leap year */
    parse_bad("1900-02-29T12:00:00Z"); /* century, not leap */
    parse_bad("2024-05-01T24:00:00Z");
    parse_bad("2024-05-01T12:60:00Z");
    parse_bad("2024-05-01T12:00:60Z"); /* leap second refused */
    parse_bad("0000-01-01T00:00:00Z");
    parse_bad("+2024-05-01T12:00:00Z");
    parse_bad("2024-05-01T12:00:00+2:00");
    parse_bad("2024-05-01T12:00:00+0200");
    parse_bad("2024-05-01T12:00:00+24:00");
    parse_bad("2024-05-01T12:00:00+02:60");
    parse_bad("2024-05-01T12:00:00+02:00:00");
    parse_bad("2024-05-01T12:00:00+02");
    parse_bad("2024-5-01T12:00:00Z");
    parse_bad("2024-05-01T1:00:00Z");
    parse_bad("2024-05-01T12:00:-1Z");
    parse_bad("1714564800");
    /* a valid prefix must not read past len */
    int64_t ms = 0;
    assert_int_equal(sl_parse_rfc3339("2024-05-01T12:00:00Zjunk", 20, &ms), 0);
    assert_int_equal(ms, 1714564800000LL);
    assert_int_equal(sl_parse_rfc3339("2024-05-01T12:00:00Zjunk", 19, &ms), -EINVAL);
    assert_int_equal(sl_parse_rfc3339("2024-05-01T12:00:00.5", 21, &ms), -EINVAL);
}

static void test_format(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(sl_format_rfc3339(1714564800123LL, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "2024-05-01T12:00:00.123Z");
    assert_int_equal(sl_format_rfc3339(0, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    assert_int_equal(sl_format_rfc3339(-1, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_int_equal(sl_format_rfc3339(-14182940000LL, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "1969-07-20T20:17:40.000Z");
    assert_int_equal(sl_format_rfc3339(-62135596800000LL, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "0001-01-01T00:00:00.000Z");
    assert_int_equal(sl_format_rfc3339(253402300799999LL, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
    assert_int_equal(sl_format_rfc3339(-62135596800001LL, buf, sizeof(buf)), -ERANGE);
    assert_int_equal(sl_format_rfc3339(253402300800000LL, buf, sizeof(buf)), -ERANGE);
    assert_int_equal(sl_format_rfc3339(INT64_MIN, buf, sizeof(buf)), -ERANGE);
    assert_int_equal(sl_format_rfc3339(INT64_MAX, buf, sizeof(buf)), -ERANGE);
    assert_int_equal(sl_format_rfc3339(0, buf, 24), -ERANGE);
}

/* Every day from 0001-01-01 to 9999-12-31 against glibc's timegm / gmtime_r. */
static void test_civil_vs_libc(void **state)
{
    (void)state;
    int64_t first = sl_days_from_civil(1, 1, 1), last = sl_days_from_civil(9999, 12, 31);
    assert_int_equal(first, -719162);
    assert_int_equal(last, 2932896);
    assert_int_equal(sl_days_from_civil(1970, 1, 1), 0);
    for (int64_t z = first; z <= last; z++) {
        time_t t = (time_t)(z * 86400);
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        int64_t y;
        unsigned m, d;
        sl_civil_from_days(z, &y, &m, &d);
        if (y != tm.tm_year + 1900LL || m != (unsigned)tm.tm_mon + 1 || d != (unsigned)tm.tm_mday) {
            fail_msg("day %lld: ours %lld-%u-%u, libc %d-%d-%d", (long long)z, (long long)y, m, d,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        }
        assert_int_equal(sl_days_from_civil(y, m, d), z);
    }
    /* proleptic negative years and the extremes: no overflow, round trip */
    int64_t zs[] = {INT64_MIN, INT64_MIN + 1,   -1000000000000LL,   -719469,
                    0,         1000000000000LL, INT64_MAX - 719468, INT64_MAX};
    for (size_t i = 0; i < sizeof(zs) / sizeof(zs[0]); i++) {
        int64_t y;
        unsigned m, d;
        sl_civil_from_days(zs[i], &y, &m, &d);
        assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
        if (zs[i] > -1000000000000000LL && zs[i] < 1000000000000000LL) {
            assert_int_equal(sl_days_from_civil(y, m, d), zs[i]);
        }
    }
}

/* format then parse is the identity on ms, at a spread of instants around the epoch. */
static void test_round_trip(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* within ±10 years of 2024 half of the time, else anywhere in 0001-9999 */
        int64_t ms;
        if (i & 1) {
            ms = 1714564800000LL + (int64_t)(x % 631152000000ULL) - 315576000000LL;
        } else {
            ms = -62135596800000LL + (int64_t)(x % 315537897600000ULL);
        }
        char buf[32];
        assert_int_equal(sl_format_rfc3339(ms, buf, sizeof(buf)), 24);
        int64_t back = 0;
        assert_int_equal(sl_parse_rfc3339(buf, 24, &back), 0);
        assert_int_equal(back, ms);
        /* and against libc for the seconds part */
        time_t t = (time_t)sl_floor_div(ms, 1000);
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        char want[96];
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)sl_floor_mod(ms, 1000));
        assert_string_equal(buf, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_fraction_floor),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_civil_vs_libc),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
