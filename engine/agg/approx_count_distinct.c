/*
 * approx_count_distinct.c - APPROX_COUNT_DISTINCT(x) -> BIGINT: HyperLogLog with precision 14
 * (16384 registers, about 0.8 % standard error), exact up to 64 distinct values (SQL.md), and
 * laid out so that it converts to a Redis HyperLogLog register for register (hll.h).
 *
 * Values are hashed as their output text (SQL.md, "Values in results"; format.h): TEXT as its
 * bytes, BIGINT and TIMESTAMP as decimal integers, DOUBLE as JavaScript writes it (so 1 and 1.0
 * are one value, "1"), BOOLEAN as true/false; NaN and the infinities have the JSON text null
 * and count as that one value. The hash is Redis's: MurmurHash64A with seed 0xadc83b19; the
 * register is hash & 16383 and its candidate value 1 + the trailing zero bits of hash >> 14
 * with a sentinel at bit 50 (Redis's hllPatLen), so a register is at most 51.
 *
 * Exact mode: the first 64 distinct hashes are kept in the fixed state and the result is their
 * number (a 64-bit hash collision among 64 values is below 1e-16). The 65th distinct hash moves
 * the state to register mode: 16384 one-byte registers on the heap (16 KiB, allocated once; the
 * 6-bit packing is only for export), and the result is Redis's estimator (hllCount: Ertl's
 * improved raw estimate, "New cardinality estimation algorithms for HyperLogLog sketches",
 * 2017), so PFCOUNT of the exported key gives the same number. Merge is the union of the exact
 * sets, or the register-wise maximum; both are associative and commutative, and a merge into a
 * fresh state copies.
 *
 * Memory: 528 bytes of fixed state; 16384 more on the heap per state past 64 distinct values,
 * freed in fini(). A failed allocation makes the result NULL for good (counted in over_limit).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "engine/format.h"
#include "hll.h"
#include "internal.h"

#define HLL_P           14
#define HLL_REGS        (1u << HLL_P)
#define HLL_Q           (64 - HLL_P)
#define HLL_EXACT       64
#define HLL_SEED        0xadc83b19ull
#define HLL_ALPHA_INF   0.721347520444481703680 /* 0.5 / ln 2 */
#define HLL_DENSE_BYTES (HLL_REGS * 6 / 8)

struct hll_state {
    uint8_t *regs; /* NULL in exact mode */
    uint32_t n;    /* exact mode: hashes held */
    uint32_t lost; /* an allocation failed: the count is unknown */
    uint64_t h[HLL_EXACT];
};

_Static_assert(sizeof(struct hll_state) == 16 + 8 * HLL_EXACT, "state layout");

uint64_t sl_hll_murmur64a(const void *key, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ull;
    const int r = 47;
    uint64_t h = seed ^ ((uint64_t)len * m);
    const uint8_t *p = key;
    const uint8_t *end = p + (len - (len & 7));
    while (p != end) {
        uint64_t k;
        memcpy(&k, p, 8); /* little-endian hosts only, as Redis reads it there */
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
        p += 8;
    }
    switch (len & 7) {
    case 7:
        h ^= (uint64_t)p[6] << 48;
        /* fall through */
    case 6:
        h ^= (uint64_t)p[5] << 40;
        /* fall through */
    case 5:
        h ^= (uint64_t)p[4] << 32;
        /* fall through */
    case 4:
        h ^= (uint64_t)p[3] << 24;
        /* fall through */
    case 3:
        h ^= (uint64_t)p[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint64_t)p[1] << 8;
        /* fall through */
    case 1:
        h ^= (uint64_t)p[0];
        h *= m;
        break;
    default:
        break;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

/* Writes i in decimal (as sl_format_int does) ending at end; returns the first byte. Two digits
 * per division: this is most of the cost of hashing a BIGINT. */
static char *hll_itoa(int64_t i, char *end)
{
    static const char d2[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                             "34353637383940414243444546474849505152535455565758596061626364656667"
                             "6869707172737475767778798081828384858687888990919293949596979899";
    uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
    char *p = end;
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, d2 + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, d2 + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
    if (i < 0) {
        *--p = '-';
    }
    return p;
}

/* The hash of v's output text. */
static uint64_t hll_hash(const struct sl_value *v)
{
    char tmp[SL_FORMAT_NUM_MAX];
    switch ((enum sl_type)v->type) {
    case SL_TYPE_TEXT:
        return sl_hll_murmur64a(v->len != 0 ? v->u.s : "", v->len, HLL_SEED);
    case SL_TYPE_DOUBLE:
        if (!isfinite(v->u.d)) {
            return sl_hll_murmur64a("null", 4, HLL_SEED);
        }
        return sl_hll_murmur64a(tmp, sl_format_double(v->u.d, tmp), HLL_SEED);
    case SL_TYPE_BOOLEAN:
        return v->u.b ? sl_hll_murmur64a("true", 4, HLL_SEED)
                      : sl_hll_murmur64a("false", 5, HLL_SEED);
    default: { /* BIGINT, TIMESTAMP (milliseconds) */
        char *b = hll_itoa(v->u.i, tmp + sizeof(tmp));
        return sl_hll_murmur64a(b, (size_t)(tmp + sizeof(tmp) - b), HLL_SEED);
    }
    }
}

static inline void hll_reg_add(uint8_t *regs, uint64_t h)
{
    uint32_t idx = (uint32_t)(h & (HLL_REGS - 1));
    uint64_t rest = (h >> HLL_P) | (1ull << HLL_Q);
    uint8_t c = (uint8_t)(1 + __builtin_ctzll(rest));
    if (c > regs[idx]) {
        regs[idx] = c;
    }
}

/* Moves s to register mode. Returns 0 or -ENOMEM (s marked lost). */
static int hll_to_regs(struct hll_state *s)
{
    uint8_t *regs = calloc(HLL_REGS, 1);
    if (regs == NULL) {
        s->lost = 1;
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < s->n; i++) {
        hll_reg_add(regs, s->h[i]);
    }
    s->regs = regs;
    return 0;
}

/* Adds one hash. Returns 0, or -ENOMEM when the state could not grow (marked lost). */
static int hll_add_hash(struct hll_state *s, uint64_t h)
{
    if (s->regs != NULL) {
        hll_reg_add(s->regs, h);
        return 0;
    }
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->h[i] == h) {
            return 0;
        }
    }
    if (s->n < HLL_EXACT) {
        s->h[s->n++] = h;
        return 0;
    }
    int r = hll_to_regs(s);
    if (r < 0) {
        return r;
    }
    hll_reg_add(s->regs, h);
    return 0;
}

static int acd_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    int r = sl__agg_check_arg("APPROX_COUNT_DISTINCT", sig, SL__AGG_T_VALUE, SL__AGG_VALUE_WHAT, 0,
                              err);
    if (r < 0) {
        return r;
    }
    sig->result = SL_TYPE_BIGINT;
    sig->state_size = sizeof(struct hll_state);
    return 0;
}

static void acd_init(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    struct hll_state *s = state;
    s->regs = NULL;
    s->n = 0;
    s->lost = 0;
}

static void acd_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                       const struct sl_agg_ctx *cx)
{
    (void)sig;
    struct hll_state *s = state;
    if (v->null || s->lost) {
        return;
    }
    if (hll_add_hash(s, hll_hash(v)) < 0 && cx->over_limit != NULL) {
        atomic_fetch_add_explicit(cx->over_limit, 1, memory_order_relaxed);
    }
}

static void acd_merge(void *dst, const void *src, const struct sl_agg_sig *sig)
{
    (void)sig;
    struct hll_state *d = dst;
    const struct hll_state *s = src;
    if (d->lost) {
        return;
    }
    if (s->lost) {
        d->lost = 1;
        return;
    }
    if (s->regs == NULL) {
        for (uint32_t i = 0; i < s->n; i++) {
            if (hll_add_hash(d, s->h[i]) < 0) {
                return;
            }
        }
        return;
    }
    if (d->regs == NULL && hll_to_regs(d) < 0) {
        return;
    }
    for (uint32_t i = 0; i < HLL_REGS; i++) {
        if (s->regs[i] > d->regs[i]) {
            d->regs[i] = s->regs[i];
        }
    }
}

/* Redis's hllSigma and hllTau (Ertl's estimator). */
static double hll_sigma(double x)
{
    if (x == 1.) {
        return INFINITY;
    }
    double zp, y = 1, z = x;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (zp != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0. || x == 1.) {
        return 0.;
    }
    double zp, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (zp != z);
    return z / 3;
}

/* Redis's hllCount over unpacked registers. */
static uint64_t hll_estimate(const uint8_t *regs)
{
    double m = HLL_REGS;
    int histo[64] = {0};
    for (uint32_t i = 0; i < HLL_REGS; i++) {
        histo[regs[i] & 63]++;
    }
    double z = m * hll_tau((m - histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma(histo[0] / m);
    return (uint64_t)llroundl((long double)HLL_ALPHA_INF * m * m / z);
}

static void acd_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                      char *buf, size_t cap)
{
    (void)buf;
    (void)cap;
    const struct hll_state *s = state;
    if (s->lost) {
        *out = sl_value_null(sig->result);
        return;
    }
    if (s->regs == NULL) {
        *out = sl_value_bigint((int64_t)s->n);
        return;
    }
    *out = sl_value_bigint((int64_t)hll_estimate(s->regs));
}

static void acd_fini(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    struct hll_state *s = state;
    free(s->regs);
    s->regs = NULL;
    s->n = 0;
}

static void dense_set(uint8_t *p, uint32_t reg, uint8_t val)
{
    uint32_t bit = reg * 6;
    uint32_t byte = bit / 8, fb = bit & 7;
    p[byte] = (uint8_t)(p[byte] | (val << fb));
    if (fb > 2) {
        p[byte + 1] = (uint8_t)(p[byte + 1] | (val >> (8 - fb)));
    }
}

int sl_hll_redis_dense(const void *state, const struct sl_agg_sig *sig, struct sl_buf *out)
{
    (void)sig;
    const struct hll_state *s = state;
    uint8_t tmp[HLL_REGS];
    const uint8_t *regs = s->regs;
    if (s->lost) {
        return -EINVAL;
    }
    if (regs == NULL) {
        memset(tmp, 0, sizeof(tmp));
        for (uint32_t i = 0; i < s->n; i++) {
            hll_reg_add(tmp, s->h[i]);
        }
        regs = tmp;
    }
    int r = sl_buf_reserve(out, SL_HLL_REDIS_DENSE_SIZE);
    if (r < 0) {
        return r;
    }
    uint8_t *p = (uint8_t *)out->p + out->len;
    memset(p, 0, SL_HLL_REDIS_DENSE_SIZE);
    memcpy(p, "HYLL", 4);
    p[4] = 0;        /* HLL_DENSE */
    p[15] = 1u << 7; /* cached cardinality invalid */
    for (uint32_t i = 0; i < HLL_REGS; i++) {
        if (regs[i] != 0) {
            dense_set(p + 16, i, regs[i]);
        }
    }
    out->len += SL_HLL_REDIS_DENSE_SIZE;
    out->p[out->len] = '\0';
    return 0;
}

const struct sl_agg_ops sl_agg_approx_count_distinct = {
    .name = "APPROX_COUNT_DISTINCT",
    .state_name = "hll",
    .min_args = 1,
    .max_args = 1,
    .exact = false,
    .check = acd_check,
    .init = acd_init,
    .update = acd_update,
    .merge = acd_merge,
    .final = acd_final,
    .fini = acd_fini,
};
