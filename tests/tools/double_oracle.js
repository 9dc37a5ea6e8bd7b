// double_oracle.js - checks sl_format_double against JavaScript's own Number#toString.
//
// Usage: node double_oracle.js <format_driver> [count]
// Generates `count` (default 100000) seeded random doubles of every magnitude (random bit
// patterns, decimal-looking values, integers), plus every power of two and of ten with
// their neighbours and a list of edge cases, feeds their bit patterns to
// `format_driver double`, and compares each output line with String(x) byte for byte.
'use strict';
const { spawnSync } = require('child_process');

const driver = process.argv[2];
const count = Number(process.argv[3] || 100000);
if (!driver) {
    console.error('usage: node double_oracle.js <format_driver> [count]');
    process.exit(2);
}

// xorshift128+ on BigInt, seeded: the same numbers on every run.
let s0 = 0x9e3779b97f4a7c15n, s1 = 0xbf58476d1ce4e5b9n;
const M64 = (1n << 64n) - 1n;
function next64() {
    let x = s0;
    const y = s1;
    s0 = y;
    x ^= (x << 23n) & M64;
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return (s1 + y) & M64;
}
function rand() { // [0, 1)
    return Number(next64() >> 11n) / 2 ** 53;
}

const buf = new DataView(new ArrayBuffer(8));
function fromBits(b) {
    buf.setBigUint64(0, b);
    return buf.getFloat64(0);
}
function toBits(d) {
    buf.setFloat64(0, d);
    return buf.getBigUint64(0);
}
function nextUp(d) {
    if (d === 0) return 5e-324;
    const b = toBits(d);
    return fromBits(d > 0 ? b + 1n : b - 1n);
}
function nextDown(d) {
    return -nextUp(-d);
}

const values = [];
function add(d) {
    if (Number.isFinite(d)) {
        values.push(d, -d);
    }
}

// Edge cases named in the brief and a few more.
[1e21, 1e-7, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, -0, 0, 123456789012345680000,
 1e20, 999999999999999900000, 1e-6, 1.5e-7, 0.000001234, 21.5, 21, 1 / 3, 2 / 3, 100,
 2.2250738585072014e-308, 2.225073858507201e-308, 4.9406564584124654e-324, 9007199254740992,
 9007199254740993, 1.2345678901234567e-7, 0.1, 0.7, 1.005, 5e-7, 1e300, 1.7976931348623155e308,
].forEach(add);

// Every power of two and ten, with neighbours (asymmetric rounding intervals live there).
for (let e = -1074; e <= 1023; e++) {
    const d = 2 ** e;
    add(d);
    add(nextUp(d));
    add(nextDown(d));
}
for (let k = -323; k <= 308; k++) {
    const d = Number('1e' + k);
    add(d);
    add(nextUp(d));
    add(nextDown(d));
}

for (let i = 0; i < count; i++) {
    const kind = i % 4;
    let d;
    if (kind === 0) { // any bit pattern: every exponent, subnormals included
        d = fromBits(next64());
        if (!Number.isFinite(d)) continue;
        values.push(d);
        continue;
    } else if (kind === 1) { // decimal-looking values: k digits, point anywhere
        const digits = 1 + Math.floor(rand() * 17);
        const mant = Math.floor(rand() * 10 ** digits);
        const exp = Math.floor(rand() * 60) - 30;
        d = Number(mant + 'e' + exp);
    } else if (kind === 2) { // integers up to 2^70
        d = Math.floor(rand() * 2 ** Math.floor(rand() * 70));
    } else { // around the exponent-form thresholds
        d = rand() * 10 ** (Math.floor(rand() * 12) - 9 + (rand() < 0.5 ? 20 : 0));
    }
    values.push(rand() < 0.5 ? -d : d);
}

const input = values.map(d => toBits(d).toString(16).padStart(16, '0')).join('\n') + '\n';
const r = spawnSync(driver, ['double'], { input, maxBuffer: 1 << 28, encoding: 'utf8' });
if (r.status !== 0) {
    console.error('driver failed:', r.status, r.stderr);
    process.exit(1);
}
const got = r.stdout.split('\n');
let bad = 0;
for (let i = 0; i < values.length; i++) {
    const want = String(values[i]);
    if (got[i] !== want) {
        if (bad < 20) {
            console.error(`mismatch: bits ${toBits(values[i]).toString(16)} want ${want} got ${got[i]}`);
        }
        bad++;
    }
}
console.log(`${values.length} doubles compared with String(x), ${bad} mismatches`);
process.exit(bad === 0 ? 0 : 1);
