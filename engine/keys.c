/*
 * keys.c - canonical group-key bytes, value ordering and hashing (see keys.h).
 */
#include <string.h>

#include "keys.h"

size_t sl_key_size(const struct sl_value *vals, int n)
{
    size_t sz = 0;
    for (int i = 0; i < n; i++) {
        sz += 1;
        if (vals[i].null) {
            continue;
        }
        switch (vals[i].type) {
        case SL_TYPE_TEXT:
            sz += 4 + vals[i].len;
            break;
        case SL_TYPE_BOOLEAN:
            sz += 1;
            break;
        default:
            sz += 8;
            break;
        }
    }
    return sz;
}

size_t sl_key_encode(const struct sl_value *vals, int n, uint8_t *out)
{
    uint8_t *p = out;
    for (int i = 0; i < n; i++) {
        const struct sl_value *v = &vals[i];
        if (v->null) {
            *p++ = (uint8_t)(0x80 | v->type);
            continue;
        }
        *p++ = v->type;
        switch (v->type) {
        case SL_TYPE_TEXT:
            memcpy(p, &v->len, 4);
            p += 4;
            if (v->len > 0) {
                memcpy(p, v->u.s, v->len);
            }
            p += v->len;
            break;
        case SL_TYPE_BOOLEAN:
            *p++ = v->u.b ? 1 : 0;
            break;
        case SL_TYPE_DOUBLE: {
            double d = v->u.d == 0.0 ? 0.0 : v->u.d; /* -0 and 0 group together */
            memcpy(p, &d, 8);
            p += 8;
            break;
        }
        default:
            memcpy(p, &v->u.i, 8);
            p += 8;
            break;
        }
    }
    return (size_t)(p - out);
}

size_t sl_key_decode(const uint8_t *key, int n, struct sl_value *ret_vals)
{
    const uint8_t *p = key;
    for (int i = 0; i < n; i++) {
        struct sl_value *v = &ret_vals[i];
        uint8_t t = *p++;
        memset(v, 0, sizeof(*v));
        v->type = t & 0x7f;
        if (t & 0x80) {
            v->null = 1;
            continue;
        }
        switch (v->type) {
        case SL_TYPE_TEXT:
            memcpy(&v->len, p, 4);
            p += 4;
            v->u.s = (const char *)p;
            p += v->len;
            break;
        case SL_TYPE_BOOLEAN:
            v->u.b = *p++ != 0;
            break;
        case SL_TYPE_DOUBLE:
            memcpy(&v->u.d, p, 8);
            p += 8;
            break;
        default:
            memcpy(&v->u.i, p, 8);
            p += 8;
            break;
        }
    }
    return (size_t)(p - key);
}

int sl_value_cmp(const struct sl_value *a, const struct sl_value *b)
{
    if (a->null || b->null) {
        return a->null && b->null ? 0 : (a->null ? -1 : 1);
    }
    switch (a->type) {
    case SL_TYPE_TEXT: {
        uint32_t n = a->len < b->len ? a->len : b->len;
        int c = n ? memcmp(a->u.s, b->u.s, n) : 0;
        if (c != 0) {
            return c < 0 ? -1 : 1;
        }
        return a->len < b->len ? -1 : (a->len > b->len ? 1 : 0);
    }
    case SL_TYPE_DOUBLE:
        return a->u.d < b->u.d ? -1 : (a->u.d > b->u.d ? 1 : 0);
    case SL_TYPE_BOOLEAN:
        return (int)a->u.b - (int)b->u.b;
    default:
        return a->u.i < b->u.i ? -1 : (a->u.i > b->u.i ? 1 : 0);
    }
}

static inline int word_cmp(const uint8_t *a, const uint8_t *b)
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    if (x == y) {
        return 0;
    }
    return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
}

/* Bytes compared as unsigned, memcmp's order, eight at a time (big-endian loads); a tail
 * of 1-7 bytes after at least one word is compared as the last eight bytes, overlapping
 * bytes already known equal. */
static int bytes_cmp(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    if (n >= 8) {
        uint32_t i = 0;
        for (; i + 8 <= n; i += 8) {
            int c = word_cmp(a + i, b + i);
            if (c != 0) {
                return c;
            }
        }
        return i == n ? 0 : word_cmp(a + n - 8, b + n - 8);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
    }
    return 0;
}

/* sl_value_cmp's order read straight from the encoded bytes: the sink sorts every batch of
 * rows by key, so this runs O(rows log rows) times per batch and decoding both keys value by
 * value into sl_values (and memcmp calls for short TEXT) cost more than the comparison. */
int sl_key_cmp(const uint8_t *a, const uint8_t *b, int n)
{
    for (int i = 0; i < n; i++) {
        uint8_t ta = *a, tb = *b;
        if ((ta | tb) & 0x80) {
            if (ta & tb & 0x80) {
                a++;
                b++;
                continue;
            }
            return (ta & 0x80) ? -1 : 1;
        }
        if (ta != tb) { /* never within one query; keep sl_value_cmp's exact answer */
            struct sl_value va, vb;
            a += sl_key_decode(a, 1, &va);
            b += sl_key_decode(b, 1, &vb);
            int c = sl_value_cmp(&va, &vb);
            if (c != 0) {
                return c;
            }
            continue;
        }
        a++;
        b++;
        switch (ta) {
        case SL_TYPE_TEXT: {
            uint32_t la, lb;
            memcpy(&la, a, 4);
            memcpy(&lb, b, 4);
            a += 4;
            b += 4;
            int c = bytes_cmp(a, b, la < lb ? la : lb);
            if (c != 0) {
                return c;
            }
            if (la != lb) {
                return la < lb ? -1 : 1;
            }
            a += la;
            b += lb;
            break;
        }
        case SL_TYPE_BOOLEAN:
            if ((*a != 0) != (*b != 0)) {
                return *a != 0 ? 1 : -1;
            }
            a++;
            b++;
            break;
        case SL_TYPE_DOUBLE: {
            double x, y;
            memcpy(&x, a, 8);
            memcpy(&y, b, 8);
            if (x < y || x > y) {
                return x < y ? -1 : 1;
            }
            a += 8;
            b += 8;
            break;
        }
        default: {
            int64_t x, y;
            memcpy(&x, a, 8);
            memcpy(&y, b, 8);
            if (x != y) {
                return x < y ? -1 : 1;
            }
            a += 8;
            b += 8;
            break;
        }
        }
    }
    return 0;
}

void sl_key_prefix(const uint8_t *key, int n, uint64_t out[2])
{
    out[0] = out[1] = 0;
    if (n == 0 || (key[0] & 0x80)) {
        return; /* NULL sorts first: zero is the least */
    }
    switch (key[0]) {
    case SL_TYPE_TEXT: {
        uint32_t len;
        memcpy(&len, key + 1, 4);
        uint8_t b[16] = {0};
        memcpy(b, key + 5, len < 16 ? len : 16);
        /* Zero padding orders a string before its extensions, as sl_key_cmp does; a
         * string ending in zero bytes ties with its prefix and is left to sl_key_cmp. */
        uint64_t w[2];
        memcpy(w, b, 16);
        out[0] = __builtin_bswap64(w[0]);
        out[1] = __builtin_bswap64(w[1]);
        break;
    }
    case SL_TYPE_BIGINT:
    case SL_TYPE_TIMESTAMP: {
        int64_t v;
        memcpy(&v, key + 1, 8);
        out[0] = (uint64_t)v ^ (UINT64_C(1) << 63); /* signed order as unsigned */
        break;
    }
    default:
        break; /* BOOLEAN, DOUBLE (-0 = 0, NaN): left to sl_key_cmp */
    }
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t sl_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    const uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
    uint64_t h = seed ^ k0 ^ len;
    while (len >= 16) {
        h = mum(rd64(p) ^ k1, rd64(p + 8) ^ h);
        p += 16;
        len -= 16;
    }
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        a = rd64(p);
        p += 8;
        len -= 8;
    }
    for (size_t i = 0; i < len; i++) {
        b |= (uint64_t)p[i] << (8 * i);
    }
    return sl_hash_mix(mum(a ^ k1, b ^ h ^ k0));
}
