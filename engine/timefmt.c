/*
 * timefmt.c - RFC 3339 parsing and formatting, civil-date arithmetic (UTC, epoch ms).
 *
 * The civil-date conversions are Howard Hinnant's days_from_civil / civil_from_days
 * (http://howardhinnant.github.io/date_algorithms.html), proleptic Gregorian, exact for
 * negative days. Parsing reads a strict subset of ISO 8601: RFC 3339's date-time, with 't'
 * and ' ' accepted for 'T' and 'z' for 'Z'. Leap seconds (":60") are refused: the engine's
 * time is POSIX time, which has none. Pure functions, no allocation, any thread.
 */
#include <stdbool.h>

#include "common.h"
#include "timefmt.h"

#define MS_PER_DAY 86400000LL

/* Valid for |y| < 2^50 or so; the engine only passes years of a few digits. */
int64_t sl_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                                     /* [0, 399] */
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* Defined for every int64 z: the shift by 719468 days (to 0000-03-01) is folded into the
 * era split so that it cannot overflow. */
void sl_civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
    /* 719468 = 4 * 146097 + 135080 */
    int64_t q = sl_floor_div(z, 146097);
    int64_t r = sl_floor_mod(z, 146097) + 135080; /* [135080, 281176] */
    int64_t era = q + 4 + r / 146097;
    int64_t doe = r % 146097;                                            /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);               /* [1, 31] */
    unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);                  /* [1, 12] */
    *ret_y = yoe + era * 400 + (m <= 2);
    *ret_m = m;
    *ret_d = d;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* n decimal digits at s (caller checked the length). Returns -1 if one is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - '0';
        if (c > 9) {
            return -1;
        }
        v = v * 10 + (int)c;
    }
    return v;
}

int sl_parse_rfc3339(const char *s, size_t len, int64_t *ret_ms)
{
    /* YYYY-MM-DDTHH:MM:SS is 19 bytes; then [.frac] and Z or +HH:MM. */
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':') {
        return -EINVAL;
    }
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
        return -EINVAL;
    }
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo) ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) {
        return -EINVAL;
    }
    size_t i = 19;
    int frac_ms = 0;
    if (s[i] == '.') {
        size_t b = ++i;
        while (i < len && (unsigned)((unsigned char)s[i] - '0') <= 9) {
            if (i - b < 3) {
                frac_ms = frac_ms * 10 + (s[i] - '0');
            }
            i++;
        }
        if (i == b) {
            return -EINVAL;
        }
        /* Fewer than three digits: scale up. More: the rest is dropped, which floors,
         * since the fraction counts forward from the whole second even before 1970. */
        for (size_t n = i - b; n < 3; n++) {
            frac_ms *= 10;
        }
        if (i >= len) {
            return -EINVAL;
        }
    }
    int off_min = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        if (len - i < 6 || s[i + 3] != ':') {
            return -EINVAL;
        }
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) {
            return -EINVAL;
        }
        off_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return -EINVAL;
    }
    if (i != len) {
        return -EINVAL;
    }
    int64_t days = sl_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off_min * 60;
    *ret_ms = secs * 1000 + frac_ms;
    return 0;
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

int sl_format_rfc3339(int64_t ms, char *buf, size_t cap)
{
    /* 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z */
    static const int64_t lo = -62135596800000LL, hi = 253402300799999LL;
    if (ms < lo || ms > hi || cap < 25) {
        return -ERANGE;
    }
    int64_t days = sl_floor_div(ms, MS_PER_DAY);
    int64_t in_day = ms - days * MS_PER_DAY;
    int64_t y;
    unsigned m, d;
    sl_civil_from_days(days, &y, &m, &d);
    unsigned secs = (unsigned)(in_day / 1000), milli = (unsigned)(in_day % 1000);
    put2(buf, (unsigned)(y / 100));
    put2(buf + 2, (unsigned)(y % 100));
    buf[4] = '-';
    put2(buf + 5, m);
    buf[7] = '-';
    put2(buf + 8, d);
    buf[10] = 'T';
    put2(buf + 11, secs / 3600);
    buf[13] = ':';
    put2(buf + 14, secs / 60 % 60);
    buf[16] = ':';
    put2(buf + 17, secs % 60);
    buf[19] = '.';
    buf[20] = (char)('0' + milli / 100);
    put2(buf + 21, milli % 100);
    buf[23] = 'Z';
    buf[24] = '\0';
    return 24;
}
