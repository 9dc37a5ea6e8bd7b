/*
 * util.c - helpers shared by the aggregates (see internal.h): argument checks and their
 * messages, owned TEXT copies, and the 64-bit hash.
 *
 * The hash follows the construction of wyhash (Wang Yi, public domain): 64x64->128-bit
 * multiplications folded by xor, over 8-byte reads. It is written here from that description;
 * its output is not meant to equal wyhash's. Exact sets only need a good spread of the low bits
 * and no pathological inputs short of an attack; the seed mixes in a per-process address so that
 * crafted collisions do not carry from one process to another (results never depend on it).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

int sl__agg_check_arg(const char *name, const struct sl_agg_sig *sig, uint32_t types,
                      const char *what, int nparams, struct sl_err *err)
{
    if (sig->star) {
        return sl_err_set(err, SL_ERR_TYPE, "%s(*) is not allowed: only COUNT(*) counts rows",
                          name);
    }
    if (sig->nparams != nparams) {
        return sl_err_set(err, SL_ERR_TYPE, "%s takes %d argument%s, got %d", name, 1 + nparams,
                          nparams == 0 ? "" : "s", 1 + sig->nparams);
    }
    if (sig->arg_type >= 32 || (types & SL__AGG_TBIT(sig->arg_type)) == 0) {
        return sl_err_set(err, SL_ERR_TYPE, "%s needs %s, got %s", name, what,
                          sl_type_name(sig->arg_type));
    }
    return 0;
}

void sl__agg_fmt_double(char *buf, size_t cap, double d)
{
    if (cap == 0) {
        return;
    }
    if (d != d) {
        snprintf(buf, cap, "NaN");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) {
            return;
        }
    }
}

void sl__agg_fmt_param(char *buf, size_t cap, const struct sl_value *p)
{
    if (p->null) {
        snprintf(buf, cap, "NULL");
        return;
    }
    switch ((enum sl_type)p->type) {
    case SL_TYPE_BIGINT:
        snprintf(buf, cap, "%lld", (long long)p->u.i);
        return;
    case SL_TYPE_DOUBLE:
        sl__agg_fmt_double(buf, cap, p->u.d);
        return;
    case SL_TYPE_BOOLEAN:
        snprintf(buf, cap, "%s", p->u.b ? "TRUE" : "FALSE");
        return;
    case SL_TYPE_TEXT: {
        int n = p->len > 40 ? 40 : (int)p->len;
        snprintf(buf, cap, "'%.*s%s'", n, p->u.s != NULL ? p->u.s : "", p->len > 40 ? "…" : "");
        return;
    }
    default:
        snprintf(buf, cap, "a %s", sl_type_name((enum sl_type)p->type));
        return;
    }
}

int sl__agg_text_set(struct sl__agg_text *t, const char *s, uint32_t len)
{
    char *dst;
    if (t->cap != 0) {
        if (len > t->cap) {
            /* Grow to the next multiple of 32 (no realloc: the old bytes are not needed). */
            uint32_t cap = len <= UINT32_MAX - 31 ? (len + 31) & ~31u : len;
            char *p = malloc(cap);
            if (p == NULL) {
                return -ENOMEM;
            }
            free(t->u.heap);
            t->u.heap = p;
            t->cap = cap;
        }
        dst = t->u.heap;
    } else if (len <= SL__AGG_TEXT_INLINE) {
        dst = t->u.inl;
    } else {
        uint32_t cap = len <= UINT32_MAX - 31 ? (len + 31) & ~31u : len;
        char *p = malloc(cap);
        if (p == NULL) {
            return -ENOMEM;
        }
        t->u.heap = p;
        t->cap = cap;
        dst = p;
    }
    if (len != 0) {
        memcpy(dst, s, len);
    }
    t->len = len;
    return 0;
}

void sl__agg_text_fini(struct sl__agg_text *t)
{
    if (t->cap != 0) {
        free(t->u.heap);
    }
    memset(t, 0, sizeof(*t));
}

/* ---- hash ---- */

#define S0 0xa0761d6478bd642full
#define S1 0xe7037ed1a0b428dbull
#define S2 0x8ebc6af09c88c6e3ull
#define S3 0x589965cc75374cc3ull

static inline uint64_t mum(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd8(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rd4(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

uint64_t sl__agg_hash_bytes(const void *key, size_t len, uint64_t seed)
{
    const uint8_t *p = key;
    uint64_t a, b;
    seed ^= mum(seed ^ S0, S1);
    if (len <= 16) {
        if (len >= 4) {
            size_t m = (len >> 3) << 2; /* 0 or 4: the two reads overlap for 4..7 bytes */
            a = (rd4(p) << 32) | rd4(p + m);
            b = (rd4(p + len - 4) << 32) | rd4(p + len - 4 - m);
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = len;
        if (i > 48) {
            uint64_t see1 = seed, see2 = seed;
            do {
                seed = mum(rd8(p) ^ S1, rd8(p + 8) ^ seed);
                see1 = mum(rd8(p + 16) ^ S2, rd8(p + 24) ^ see1);
                see2 = mum(rd8(p + 32) ^ S3, rd8(p + 40) ^ see2);
                p += 48;
                i -= 48;
            } while (i > 48);
            seed ^= see1 ^ see2;
        }
        while (i > 16) {
            seed = mum(rd8(p) ^ S1, rd8(p + 8) ^ seed);
            i -= 16;
            p += 16;
        }
        a = rd8(p + i - 16);
        b = rd8(p + i - 8);
    }
    a ^= S1;
    b ^= seed;
    unsigned __int128 r = (unsigned __int128)a * b;
    a = (uint64_t)r;
    b = (uint64_t)(r >> 64);
    return mum(a ^ S0 ^ (uint64_t)len, b ^ S1);
}

uint64_t sl__agg_hash_u64(uint64_t k, uint64_t seed)
{
    unsigned __int128 r = (unsigned __int128)(k ^ S0) * ((seed ^ S1) | 1);
    return mum((uint64_t)r ^ S0, (uint64_t)(r >> 64) ^ S1);
}
