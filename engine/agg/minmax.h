/*
 * minmax.h - the body of MIN and MAX (min.c, max.c instantiate it with SL__MM_DIR = +1 / -1).
 *
 * BIGINT, TIMESTAMP, BOOLEAN (false < true) and DOUBLE are kept as an int64 key whose integer
 * order is the SQL order (DOUBLE through sl__agg_dkey: -0 < +0, NaN above every number, so the
 * result never depends on arrival order); the key starts at the identity (INT64_MAX for MIN),
 * so update is one compare-and-select. TEXT compares by bytes and keeps an owned copy
 * (struct sl__agg_text: inline up to 24 bytes, heap beyond, the buffer grows only when a longer
 * value becomes the extreme). A copy that cannot be allocated makes the result NULL and is
 * counted in *cx->over_limit. NULLs are ignored; no non-NULL input gives NULL.
 *
 * State: 16 bytes (flags, then the key), 40 for TEXT (flags, then the copy).
 */
#ifndef SL_AGG_MINMAX_H
#define SL_AGG_MINMAX_H

#include "internal.h"

struct mm_state {
    uint8_t has; /* a non-NULL value was seen */
    uint8_t oom; /* a TEXT copy failed: the result is unknown, final gives NULL */
    uint8_t pad[6];
    union {
        int64_t k;
        struct sl__agg_text t;
    } u;
};

/* True when a candidate key (or byte comparison result against 0) beats the kept one. */
#define MM_BEATS(a, b) (SL__MM_DIR > 0 ? (a) < (b) : (a) > (b))

static int mm_check(const char *name, struct sl_agg_sig *sig, struct sl_err *err)
{
    int r = sl__agg_check_arg(name, sig, SL__AGG_T_VALUE, SL__AGG_VALUE_WHAT, 0, err);
    if (r < 0) {
        return r;
    }
    sig->result = sig->arg_type;
    sig->state_size = sig->arg_type == SL_TYPE_TEXT ? sizeof(struct mm_state) : 16;
    return 0;
}

static void mm_init(void *state, const struct sl_agg_sig *sig)
{
    struct mm_state *s = state;
    s->has = 0;
    s->oom = 0;
    if (sig->arg_type == SL_TYPE_TEXT) {
        memset(&s->u.t, 0, sizeof(s->u.t));
    } else {
        s->u.k = SL__MM_DIR > 0 ? INT64_MAX : INT64_MIN;
    }
}

static inline int64_t mm_key(const struct sl_value *v, enum sl_type t)
{
    switch (t) {
    case SL_TYPE_DOUBLE:
        return sl__agg_dkey(v->u.d);
    case SL_TYPE_BOOLEAN:
        return v->u.b ? 1 : 0;
    default:
        return v->u.i;
    }
}

static void mm_keep_text(struct mm_state *s, const char *p, uint32_t len, _Atomic uint64_t *over)
{
    if (s->has && !MM_BEATS(sl__agg_bytes_cmp(p, len, sl__agg_text_ptr(&s->u.t), s->u.t.len), 0)) {
        return;
    }
    if (sl__agg_text_set(&s->u.t, p, len) < 0) {
        if (!s->oom && over != NULL) {
            (*over)++;
        }
        s->oom = 1;
        return;
    }
    s->has = 1;
}

static void mm_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                      const struct sl_agg_ctx *cx)
{
    struct mm_state *s = state;
    if (SL_UNLIKELY(v->null)) {
        return;
    }
    if (SL_LIKELY(sig->arg_type != SL_TYPE_TEXT)) {
        int64_t k = mm_key(v, (enum sl_type)sig->arg_type);
        s->u.k = MM_BEATS(k, s->u.k) ? k : s->u.k;
        s->has = 1;
        return;
    }
    mm_keep_text(s, v->u.s, v->len, cx != NULL ? cx->over_limit : NULL);
}

static void mm_merge(void *dst, const void *src, const struct sl_agg_sig *sig)
{
    struct mm_state *d = dst;
    const struct mm_state *s = src;
    d->oom |= s->oom;
    if (!s->has) {
        return;
    }
    if (sig->arg_type != SL_TYPE_TEXT) {
        d->u.k = MM_BEATS(s->u.k, d->u.k) ? s->u.k : d->u.k;
        d->has = 1;
        return;
    }
    mm_keep_text(d, sl__agg_text_ptr(&s->u.t), s->u.t.len, NULL);
}

static void mm_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                     char *buf, size_t cap)
{
    const struct mm_state *s = state;
    (void)buf;
    (void)cap;
    *out = sl_value_null(sig->result);
    if (!s->has || s->oom) {
        return;
    }
    if (sig->arg_type == SL_TYPE_TEXT) {
        *out = sl_value_text(sl__agg_text_ptr(&s->u.t), s->u.t.len);
    } else {
        *out = sl__agg_scalar((enum sl_type)sig->arg_type, s->u.k, sl__agg_dkey_value(s->u.k));
    }
}

static void mm_fini(void *state, const struct sl_agg_sig *sig)
{
    struct mm_state *s = state;
    if (sig->arg_type == SL_TYPE_TEXT) {
        sl__agg_text_fini(&s->u.t);
    }
}

#endif
