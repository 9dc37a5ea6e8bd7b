/*
 * internal.h - helpers the aggregates in engine/agg/ share, not part of the engine's interface
 * (sl__ prefix): argument checks that name what is wrong, owned copies of TEXT values, a total
 * order over DOUBLE and the 64-bit hash of the exact distinct sets. Like the aggregates, these
 * are called from one shard thread per state; the check helpers from the loading thread.
 */
#ifndef SL_AGG_INTERNAL_H
#define SL_AGG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agg.h"

/* Sets of argument types, as bit masks of enum sl_type. */
#define SL__AGG_TBIT(t)   (1u << (unsigned)(t))
#define SL__AGG_T_NUMERIC (SL__AGG_TBIT(SL_TYPE_BIGINT) | SL__AGG_TBIT(SL_TYPE_DOUBLE))
#define SL__AGG_T_VALUE                                                                            \
    (SL__AGG_T_NUMERIC | SL__AGG_TBIT(SL_TYPE_TEXT) | SL__AGG_TBIT(SL_TYPE_TIMESTAMP) |            \
     SL__AGG_TBIT(SL_TYPE_BOOLEAN))
#define SL__AGG_NUMBER_WHAT "a number"
#define SL__AGG_VALUE_WHAT  "a BIGINT, DOUBLE, TIMESTAMP, TEXT or BOOLEAN value"

/* The checks every aggregate starts with: no `*` (only COUNT takes it), exactly nparams
 * constant parameters, an argument type in `types` (what: how to say that set to a person).
 * Returns 0, or SL_ERR_TYPE with err set ("SUM needs a number, got TEXT"). */
int sl__agg_check_arg(const char *name, const struct sl_agg_sig *sig, uint32_t types,
                      const char *what, int nparams, struct sl_err *err);

/* Writes d in the shortest form that reads back to the same double ("1.5", "0.1"). */
void sl__agg_fmt_double(char *buf, size_t cap, double d);

/* Describes a constant parameter for a message: its value ("1.5", "7", "'abc'", "NULL"). */
void sl__agg_fmt_param(char *buf, size_t cap, const struct sl_value *p);

/* ---- owned TEXT copies (MIN, MAX, FIRST_VALUE, LAST_VALUE) ---- */

#define SL__AGG_TEXT_INLINE 24

/* A copy of a TEXT value: inline up to SL__AGG_TEXT_INLINE bytes, else on the heap. Once on
 * the heap the buffer is kept (and reused for shorter values); it grows only when a longer
 * value has to be kept. 32 bytes; zeroed memory is a valid empty text. */
struct sl__agg_text {
    uint32_t len;
    uint32_t cap; /* heap capacity in bytes; 0 while the bytes are inline */
    union {
        char inl[SL__AGG_TEXT_INLINE];
        char *heap;
    } u;
};

static inline const char *sl__agg_text_ptr(const struct sl__agg_text *t)
{
    return t->cap != 0 ? t->u.heap : t->u.inl;
}

/* Copies len bytes at s into t. Returns 0, or -ENOMEM leaving t as it was. */
int sl__agg_text_set(struct sl__agg_text *t, const char *s, uint32_t len);
/* Frees the heap buffer, if any, and leaves t empty and inline. */
void sl__agg_text_fini(struct sl__agg_text *t);

/* Compares byte strings as SQL compares TEXT: by bytes, a prefix first. <0, 0, >0. */
static inline int sl__agg_bytes_cmp(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
    uint32_t n = alen < blen ? alen : blen;
    int r = n != 0 ? memcmp(a, b, n) : 0;
    if (r != 0) {
        return r;
    }
    return (alen > blen) - (alen < blen);
}

/* ---- orders ---- */

/* A signed 64-bit key whose integer order is a total order of doubles: -inf < … < -0 < +0 <
 * … < +inf < NaN (every NaN maps to INT64_MAX, as PostgreSQL sorts NaN above all numbers). */
static inline int64_t sl__agg_dkey(double d)
{
    int64_t b;
    if (d != d) {
        return INT64_MAX;
    }
    memcpy(&b, &d, sizeof(b));
    return b ^ (int64_t)((uint64_t)(b >> 63) >> 1);
}

/* The inverse of sl__agg_dkey (INT64_MAX gives a NaN). */
static inline double sl__agg_dkey_value(int64_t k)
{
    int64_t b = k ^ (int64_t)((uint64_t)(k >> 63) >> 1);
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

/* ---- hashing (COUNT_DISTINCT) ---- */

/* A wyhash-style 64-bit hash of len bytes (any alignment), and of one 64-bit word. */
uint64_t sl__agg_hash_bytes(const void *p, size_t len, uint64_t seed);
uint64_t sl__agg_hash_u64(uint64_t k, uint64_t seed);

/* ---- states shared between aggregates of different names ---- */

/* "sum": SUM and AVG. BIGINT arguments are summed exactly in 128 bits (lo, hi: two's
 * complement), so the sum never wraps and merging is exact in any order; DOUBLE arguments with
 * Neumaier's compensated summation (s + c). n counts non-NULL inputs. 24 bytes. */
struct sl__agg_sum {
    union {
        struct {
            uint64_t lo, hi;
        } i;
        struct {
            double s, c;
        } d;
    } u;
    int64_t n;
};

void sl__agg_sum_init(void *state, const struct sl_agg_sig *sig);
void sl__agg_sum_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                        const struct sl_agg_ctx *cx);
void sl__agg_sum_merge(void *dst, const void *src, const struct sl_agg_sig *sig);
/* The exact BIGINT sum as an int128 value (only for BIGINT states). */
static inline __int128 sl__agg_sum_i128(const struct sl__agg_sum *s)
{
    unsigned __int128 u = ((unsigned __int128)s->u.i.hi << 64) | s->u.i.lo;
    return (__int128)u;
}

/* "moments": VAR_POP, VAR_SAMP, STDDEV_POP, STDDEV_SAMP. Welford's algorithm with the running
 * mean kept as a double-double (hi + lo), which keeps the deviations x - mean exact to a few
 * ulps of the deviation even for data far from zero (1e9 + noise); Chan et al.'s formula
 * merges. m2 is the sum of squared deviations from the mean. 32 bytes. */
struct sl__agg_moments {
    int64_t n;
    double hi, lo;
    double m2;
};

int sl__agg_moments_check(const char *name, struct sl_agg_sig *sig, struct sl_err *err);
void sl__agg_moments_init(void *state, const struct sl_agg_sig *sig);
void sl__agg_moments_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                            const struct sl_agg_ctx *cx);
void sl__agg_moments_merge(void *dst, const void *src, const struct sl_agg_sig *sig);
/* The variance with divisor n - ddof (0 population, 1 sample); NAN when there is none. */
double sl__agg_moments_var(const struct sl__agg_moments *m, int ddof);

/* The value of a non-TEXT aggregate result of type t held as an integer i (BIGINT,
 * TIMESTAMP, BOOLEAN as 0/1) or a double d (DOUBLE). */
static inline struct sl_value sl__agg_scalar(enum sl_type t, int64_t i, double d)
{
    switch (t) {
    case SL_TYPE_DOUBLE:
        return sl_value_double(d);
    case SL_TYPE_BOOLEAN:
        return sl_value_bool(i != 0);
    case SL_TYPE_TIMESTAMP:
        return sl_value_ts(i);
    default:
        return sl_value_bigint(i);
    }
}

#endif
