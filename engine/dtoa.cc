/*
 * dtoa.cc - the shortest round-trip digits of a double, from Dragonbox (Debian's
 * libdragonbox-dev, header only): among the shortest decimals that read back to the double,
 * the one closest to it, ties to even - exactly the digits ECMAScript's Number::toString
 * asks for, which is what SQL.md's "Values in results" specifies. Tens of nanoseconds, no
 * allocation, no locale, no tables beyond the header's.
 *
 * The only C++ in the engine, behind one C function (format.c, sl__format_digits); built
 * without exceptions or RTTI.
 */
#include <dragonbox/dragonbox.h>

extern "C" int sl__dtoa_shortest(double d, char *digits, int *ret_point);

/* d finite and > 0. digits: at least 17 bytes. Writes the k digits of d (no trailing zeros,
 * not NUL-terminated), sets *ret_point so that d = 0.D1…Dk × 10^point; returns k. */
int sl__dtoa_shortest(double d, char *digits, int *ret_point)
{
    auto r = jkj::dragonbox::to_decimal(d, jkj::dragonbox::policy::sign::ignore,
                                        jkj::dragonbox::policy::trailing_zero::remove);
    char tmp[20];
    int k = 0;
    for (auto m = r.significand; m != 0; m /= 10) {
        tmp[k++] = static_cast<char>('0' + m % 10);
    }
    for (int i = 0; i < k; i++) {
        digits[i] = tmp[k - 1 - i];
    }
    *ret_point = k + r.exponent;
    return k;
}
