#!/usr/bin/env python3
"""expr_oracle.py - checks scalar functions against python3's decimal module and Unicode
database, through tests/tools/format_driver.c.

  expr_oracle.py <format_driver> round   ROUND(DOUBLE, n): the shortest decimal form of x
                                         (repr) rounded half away from zero (Flink's rule)
  expr_oracle.py <format_driver> ts      TO_TIMESTAMP(DOUBLE): > 1e11 is ms, else seconds;
                                         the decimal form floored to ms
  expr_oracle.py <format_driver> case    LOWER/UPPER of every code point below U+2000: the
                                         Unicode simple case mapping in the blocks the engine
                                         claims, unchanged elsewhere
"""
import decimal
import math
import random
import struct
import subprocess
import sys

D = decimal.Decimal


def bits(x):
    return struct.unpack('<Q', struct.pack('<d', x))[0]


def from_bits(b):
    return struct.unpack('<d', struct.pack('<Q', b))[0]


def run(driver, mode, lines):
    r = subprocess.run([driver, mode], input=''.join(lines), capture_output=True, text=True,
                       check=True)
    return r.stdout.split('\n')


def rand_double(rng):
    kind = rng.randrange(4)
    if kind == 0:
        while True:
            x = from_bits(rng.getrandbits(64))
            if math.isfinite(x):
                return x
    if kind == 1:  # decimal-looking, often exactly on a .5 at some position
        digits = rng.randrange(1, 17)
        m = rng.randrange(10 ** digits)
        if rng.random() < 0.5:
            m = m - m % 10 + 5
        return float(D(m).scaleb(rng.randrange(-25, 10)))
    if kind == 2:
        return rng.uniform(-1e6, 1e6)
    return float(rng.randrange(-2 ** 62, 2 ** 62))


def check_round(driver):
    rng = random.Random(20240501)
    decimal.getcontext().prec = 2000
    cases = [(1.005, 2), (2.5, 0), (-2.5, 0), (0.285, 2), (1234.5678, -2), (1.45, 1),
             (1.7976931348623157e308, -308), (5e-324, 323), (5e-324, 324), (0.5, 0),
             (-0.5, 0), (0.49999999999999994, 0), (9.5, -1), (123.456, 25), (1e22, -22),
             (4.35, 1), (8.345, 2), (1.0000000000000002, 15), (1.0000000000000002, 16)]
    for _ in range(60000):
        x = rand_double(rng)
        d = rng.choice([rng.randrange(-5, 12), rng.randrange(-330, 340)])
        cases.append((x, d))
    lines = ['%016x %d\n' % (bits(x), d) for x, d in cases]
    out = run(driver, 'round', lines)
    bad = 0
    for (x, d), got in zip(cases, out):
        try:
            want = float(D(repr(x)).quantize(D(1).scaleb(-d), rounding=decimal.ROUND_HALF_UP))
        except OverflowError:
            want = math.inf
        if not math.isfinite(want):
            ok = got == 'null'
        else:
            ok = got != 'null' and from_bits(int(got, 16)) == want
        if not ok:
            if bad < 20:
                print('ROUND(%r, %d): want %r got %s' % (x, d, want, got))
            bad += 1
    print('%d ROUND cases, %d mismatches' % (len(cases), bad))
    return bad == 0


def check_ts(driver):
    rng = random.Random(7)
    cases = [1.001, 1.0015, 1.9999999, -1.001, -0.0005, 1714564800.123, 1714564800123.0,
             1714564800123.9, 1e11, 100000000000.5, -1e11, 0.0, -0.0, 0.1, 1e-9, -1e-9,
             1714564800.9999999, 1714564800000.99999]
    for _ in range(60000):
        k = rng.randrange(4)
        if k == 0:
            x = rng.uniform(-1e11, 1e11)
        elif k == 1:
            x = rng.uniform(1e11, 9e15)
        elif k == 2:
            x = round(rng.uniform(0, 2e9), rng.randrange(0, 10))
        else:
            x = round(rng.uniform(1e11, 2e12), rng.randrange(0, 5))
        cases.append(x)
    out = run(driver, 'ts', ['%016x\n' % bits(x) for x in cases])
    bad = 0
    for x, got in zip(cases, out):
        s = D(repr(x))
        want = math.floor(s) if x > 1e11 else math.floor(s * 1000)
        if got != str(want):
            if bad < 20:
                print('TO_TIMESTAMP(%r): want %d got %s' % (x, want, got))
            bad += 1
    print('%d TO_TIMESTAMP cases, %d mismatches' % (len(cases), bad))
    return bad == 0


CLAIMED = [(0x0000, 0x024F), (0x0345, 0x0345), (0x0370, 0x03FF), (0x0400, 0x052F),
           (0x1E00, 0x1EFF)]


def simple_map(c, lower):
    r = chr(c).lower() if lower else chr(c).upper()
    if len(r) == 1:
        return ord(r)
    if lower and c == 0x130:  # full mapping i + combining dot; the simple one is 'i'
        return 0x69
    return c  # only a full (multi-code-point) mapping exists: simple mapping is none


def check_case(driver):
    out = run(driver, 'case', [])
    bad = 0
    n = 0
    for line in out:
        if not line:
            continue
        cp_hex, lo_hex, up_hex = line.split(' ')
        c = int(cp_hex, 16)
        claimed = any(a <= c <= b for a, b in CLAIMED)
        want_lo = simple_map(c, True) if claimed else c
        want_up = simple_map(c, False) if claimed else c
        got_lo = bytes.fromhex(lo_hex).decode('utf-8')
        got_up = bytes.fromhex(up_hex).decode('utf-8')
        n += 1
        if got_lo != chr(want_lo) or got_up != chr(want_up):
            if bad < 40:
                print('U+%04X: LOWER want U+%04X got %s, UPPER want U+%04X got %s' % (
                    c, want_lo, ' '.join('U+%04X' % ord(ch) for ch in got_lo), want_up,
                    ' '.join('U+%04X' % ord(ch) for ch in got_up)))
            bad += 1
    print('%d code points (Unicode %s), %d mismatches' % (n, __import__('unicodedata').unidata_version, bad))
    return bad == 0 and n == 0x2000


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    driver, mode = sys.argv[1], sys.argv[2]
    ok = {'round': check_round, 'ts': check_ts, 'case': check_case}[mode](driver)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
