/*
 * rate.c - RATE(x) over BIGINT or DOUBLE -> DOUBLE: the per-second increase of a monotonic
 * counter over the window, counter resets handled as Prometheus does.
 *
 * Definition. Order the group's non-NULL, non-NaN samples by (event time, source position).
 * The increase from one sample to the next is next - prev, or next itself when next < prev (a
 * reset: the counter restarted from 0). RATE = (sum of the increases) / ((last time - first
 * time) / 1000). Fewer than two samples, or first and last at the same millisecond: NULL.
 *
 * State (64 bytes): the first and last samples (time, position, value), the sum of increases
 * along the samples in between, and the number of samples. A sample later than the last, or
 * earlier than the first, extends the chain exactly. A sample that arrives out of order between
 * the first and the last is counted but not added to the chain: for a counter with no reset
 * between its neighbours that is exact (it splits one increase into two equal-summing ones);
 * across a reset the result is approximate. Merge joins two chains in time order: when one
 * ends before the other starts the result is exactly the chain of all samples, so merging
 * time-disjoint pieces that are adjacent (HOP panes merged in pane order, any bracketing of
 * contiguous pieces, either argument order) is exact. A chain merged into the span of another
 * (a gap filled later, as when a session absorbs its last neighbour before the middle ones)
 * adds only its resets beyond its net change, treating the bridge it falls under as linear:
 * exact for a counter with no reset at the borders of that gap, approximate otherwise.
 * No heap memory.
 */
#include <math.h>

#include "internal.h"

struct rate_state {
    int64_t t0, t1; /* first and last event time (ms) */
    uint64_t p0, p1;
    double v0, v1;
    double inc; /* sum of increases along the chain */
    uint64_t n; /* samples */
};

_Static_assert(sizeof(struct rate_state) == 64, "state layout");

static int rate_check(struct sl_agg_sig *sig, struct sl_err *err)
{
    int r = sl__agg_check_arg("RATE", sig, SL__AGG_T_NUMERIC, SL__AGG_NUMBER_WHAT, 0, err);
    if (r < 0) {
        return r;
    }
    sig->result = SL_TYPE_DOUBLE;
    sig->state_size = sizeof(struct rate_state);
    return 0;
}

static void rate_init(void *state, const struct sl_agg_sig *sig)
{
    (void)sig;
    memset(state, 0, sizeof(struct rate_state));
}

/* The increase from a to b. */
static inline double rate_delta(double a, double b)
{
    return b >= a ? b - a : b;
}

static inline bool rate_before(int64_t ta, uint64_t pa, int64_t tb, uint64_t pb)
{
    return ta < tb || (ta == tb && pa < pb);
}

static void rate_update(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                        const struct sl_agg_ctx *cx)
{
    (void)sig;
    struct rate_state *s = state;
    if (v->null) {
        return;
    }
    double x = v->type == SL_TYPE_DOUBLE ? v->u.d : (double)v->u.i;
    if (x != x) {
        return;
    }
    if (s->n == 0) {
        s->t0 = s->t1 = cx->ts;
        s->p0 = s->p1 = cx->pos;
        s->v0 = s->v1 = x;
    } else if (!rate_before(cx->ts, cx->pos, s->t1, s->p1)) {
        s->inc += rate_delta(s->v1, x);
        s->t1 = cx->ts;
        s->p1 = cx->pos;
        s->v1 = x;
    } else if (rate_before(cx->ts, cx->pos, s->t0, s->p0)) {
        s->inc += rate_delta(x, s->v0);
        s->t0 = cx->ts;
        s->p0 = cx->pos;
        s->v0 = x;
    }
    s->n++;
}

static void rate_merge(void *dst, const void *src, const struct sl_agg_sig *sig)
{
    (void)sig;
    struct rate_state *d = dst;
    const struct rate_state *s = src;
    if (s->n == 0) {
        return;
    }
    if (d->n == 0) {
        *d = *s;
        return;
    }
    const struct rate_state *a = d, *b = s; /* a starts first */
    struct rate_state out;
    if (rate_before(s->t0, s->p0, d->t0, d->p0)) {
        a = s;
        b = d;
    }
    out = *a;
    out.n = a->n + b->n;
    if (rate_before(a->t1, a->p1, b->t0, b->p0)) {
        /* Disjoint, a then b: exactly the joined chain. */
        out.inc = a->inc + b->inc + rate_delta(a->v1, b->v0);
        out.t1 = b->t1;
        out.p1 = b->p1;
        out.v1 = b->v1;
    } else if (!rate_before(a->t1, a->p1, b->t1, b->p1)) {
        /* b lies inside a's span: a already bridged it linearly; add b's resets only. */
        out.inc = a->inc + (b->inc - (b->v1 - b->v0));
    } else {
        /* Partial overlap: a, then b's resets, then from a's last to b's last. */
        out.inc = a->inc + (b->inc - (b->v1 - b->v0)) + rate_delta(a->v1, b->v1);
        out.t1 = b->t1;
        out.p1 = b->p1;
        out.v1 = b->v1;
    }
    *d = out;
}

static void rate_final(const void *state, const struct sl_agg_sig *sig, struct sl_value *out,
                       char *buf, size_t cap)
{
    (void)sig;
    (void)buf;
    (void)cap;
    const struct rate_state *s = state;
    if (s->n < 2 || s->t1 == s->t0) {
        *out = sl_value_null(SL_TYPE_DOUBLE);
        return;
    }
    *out = sl_value_double(s->inc / ((double)(s->t1 - s->t0) / 1000.0));
}

const struct sl_agg_ops sl_agg_rate = {
    .name = "RATE",
    .state_name = "rate",
    .min_args = 1,
    .max_args = 1,
    .exact = false,
    .check = rate_check,
    .init = rate_init,
    .update = rate_update,
    .merge = rate_merge,
    .final = rate_final,
    .fini = NULL,
};
