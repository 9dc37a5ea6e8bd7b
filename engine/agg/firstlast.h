/*
 * firstlast.h - the body of FIRST_VALUE and LAST_VALUE (first_value.c, last_value.c
 * instantiate it with SL__FL_DIR = +1 / -1).
 *
 * The kept value is that of the event with the smallest (FIRST) or largest (LAST) pair
 * (event time cx->ts, source position cx->pos): ties in time go to the smaller position for
 * FIRST and the larger for LAST, never to arrival order, and merge compares the same pairs, so
 * any order of updates and merges gives the same result. NULLs are ignored. TEXT is copied as
 * MIN copies it (struct sl__agg_text); a copy that cannot be allocated makes the result NULL
 * and is counted in *cx->over_limit.
 *
 * State: 32 bytes (flags, ts, pos, the value), 56 for TEXT.
 */
#ifndef SL_AGG_FIRSTLAST_H
#define SL_AGG_FIRSTLAST_H

#include "internal.h"

struct fl_state {
    uint8_t has;
    uint8_t oom;
    uint8_t pad[6];
    int64_t ts;
    uint64_t pos;
    union {
        int64_t i;
        double d;
        struct sl__agg_text t;
    } u;
};

/* True when event (ts, pos) beats the kept one (kts, kpos). */
static inline bool fl_beats(int64_t ts, uint64_t pos, int64_t kts, uint64_t kpos)
{
    if (SL__FL_DIR > 0) {
        return ts < kts || (ts == kts && pos < kpos);
    }
    return ts > kts || (ts == kts && pos > kpos);
}

static int fl_check(const char *name, struct sl_agg_sig *sig, struct sl_err *err)
{
    int r = sl__agg_check_arg(name, sig, SL__AGG_T_VALUE, SL__AGG_VALUE_WHAT, 0, err);
    if (r < 0) {
        return r;
    }
    sig->result = sig->arg_type;
    sig->state_size = sig->arg_type == SL_TYPE_TEXT ? sizeof(struct fl_state) : 32;
    return 0;
}

static void fl_init(void *state, const struct sl_agg_sig *sig)
{
    struct fl_state *s = state;
    s->has = 0;
    s->oom = 0;
    s->ts = 0;
    s->pos = 0;
    if (sig->arg_type == SL_TYPE_TEXT) {
        memset(&s->u.t, 0, sizeof(s->u.t));
    } else {
        s->u.i = 0;
    }
}

/* Keeps (ts, pos, value) if it beats what s holds. v is a non-NULL value of s's type; for
 * TEXT, (p, len) are its bytes. */
static void fl_keep(struct fl_state *s, enum sl_type t, int64_t ts, uint64_t pos, int64_t i,
                    double d, const char *p, uint32_t len, _Atomic uint64_t *over)
{
    if (s->has && !fl_beats(ts, pos, s->ts, s->pos)) {
        return;
    }
    switch (t) {
    case SL_TYPE_TEXT:
        if (sl__agg_text_set(&s->u.t, p, len) < 0) {
            if (!s->oom && over != NULL) {
                (*over)++;
            }
            s->oom = 1;
            return;
        }
        break;
    case SL_TYPE_DOUBLE:
        s->u.d = d;
        break;
    default:
        s->u.i = i;
        break;
    }
    s->ts = ts;
    s->pos = pos;
    s->has = 1;
}

static void fl_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                      const struct sl_agg_ctx *cx)
{
    struct fl_state *s = state;
    enum sl_type t = (enum sl_type)sig->arg_type;
    if (SL_UNLIKELY(v->null)) {
        return;
    }
    switch (t) {
    case SL_TYPE_TEXT:
        fl_keep(s, t, cx->ts, cx->pos, 0, 0, v->u.s, v->len, cx->over_limit);
        break;
    case SL_TYPE_DOUBLE:
        fl_keep(s, t, cx->ts, cx->pos, 0, v->u.d, NULL, 0, NULL);
        break;
    case SL_TYPE_BOOLEAN:
        fl_keep(s, t, cx->ts, cx->pos, v->u.b ? 1 : 0, 0, NULL, 0, NULL);
        break;
    default:
        fl_keep(s, t, cx->ts, cx->pos, v->u.i, 0, NULL, 0, NULL);
        break;
    }
}

static void fl_merge(void *dst, const void *src, const struct sl_agg_sig *sig)
{
    struct fl_state *d = dst;
    const struct fl_state *s = src;
    enum sl_type t = (enum sl_type)sig->arg_type;
    d->oom |= s->oom;
    if (!s->has) {
        return;
    }
    if (t == SL_TYPE_TEXT) {
        fl_keep(d, t, s->ts, s->pos, 0, 0, sl__agg_text_ptr(&s->u.t), s->u.t.len, NULL);
    } else {
        fl_keep(d, t, s->ts, s->pos, s->u.i, s->u.d, NULL, 0, NULL);
    }
}

static void fl_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                     char *buf, size_t cap)
{
    const struct fl_state *s = state;
    (void)buf;
    (void)cap;
    *out = sl_value_null(sig->result);
    if (!s->has || s->oom) {
        return;
    }
    if (sig->arg_type == SL_TYPE_TEXT) {
        *out = sl_value_text(sl__agg_text_ptr(&s->u.t), s->u.t.len);
    } else {
        *out = sl__agg_scalar((enum sl_type)sig->arg_type, s->u.i, s->u.d);
    }
}

static void fl_fini(void *state, const struct sl_agg_sig *sig)
{
    struct fl_state *s = state;
    if (sig->arg_type == SL_TYPE_TEXT) {
        sl__agg_text_fini(&s->u.t);
    }
}

#endif
