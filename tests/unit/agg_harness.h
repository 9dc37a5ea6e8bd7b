/*
 * agg_harness.h - a small driver for aggregate unit tests: finds an aggregate, types it with
 * check(), and runs states through init/update/merge/final/fini the way the engine does.
 * States are allocated with the exact state_size and poisoned before init(), so that ASan
 * catches reads past the declared size and tests catch fields init() forgot.
 */
#ifndef SL_TEST_AGG_HARNESS_H
#define SL_TEST_AGG_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/agg.h"

struct h_agg {
    const struct sl_agg_ops *ops;
    struct sl_agg_sig sig;
};

struct h_state {
    const struct h_agg *a;
    void *st;
    _Atomic uint64_t over; /* *cx->over_limit */
    int64_t ts;            /* next event time */
    uint64_t pos;          /* next source position */
};

static inline struct h_agg h_agg_make(const char *name, enum sl_type t, bool star)
{
    struct h_agg a;
    struct sl_err err = {{0}};
    memset(&a, 0, sizeof(a));
    a.ops = sl_agg_find(name);
    assert_non_null(a.ops);
    a.sig.arg_type = t;
    a.sig.star = star;
    a.sig.max_distinct = 100000;
    int r = a.ops->check(&a.sig, &err);
    if (r != 0) {
        fail_msg("check(%s) failed: %s", name, err.msg);
    }
    assert_int_equal(a.sig.state_size % 8, 0);
    assert_true(a.sig.state_size > 0);
    assert_non_null(a.ops->init);
    assert_non_null(a.ops->update);
    assert_non_null(a.ops->merge);
    assert_non_null(a.ops->final);
    return a;
}

static inline struct h_state h_new(const struct h_agg *a)
{
    struct h_state s;
    memset(&s, 0, sizeof(s));
    s.a = a;
    s.st = malloc(a->sig.state_size);
    assert_non_null(s.st);
    memset(s.st, 0xa5, a->sig.state_size);
    a->ops->init(s.st, &a->sig);
    s.ts = 1000;
    return s;
}

static inline void h_free(struct h_state *s)
{
    if (s->a->ops->fini != NULL) {
        s->a->ops->fini(s->st, &s->a->sig);
    }
    free(s->st);
    s->st = NULL;
}

/* Updates with v at event time ts and position pos. */
static inline void h_put_at(struct h_state *s, struct sl_value v, int64_t ts, uint64_t pos)
{
    struct sl_agg_ctx cx = {.ts = ts, .pos = pos, .over_limit = &s->over};
    s->a->ops->update(s->st, &s->a->sig, &v, &cx);
}

/* Updates with v at the next time and position (both increasing). */
static inline void h_put(struct h_state *s, struct sl_value v)
{
    h_put_at(s, v, s->ts, s->pos);
    s->ts++;
    s->pos++;
}

static inline void h_merge(struct h_state *dst, const struct h_state *src)
{
    dst->a->ops->merge(dst->st, src->st, &dst->a->sig);
    dst->over += src->over;
}

static inline struct sl_value h_final(const struct h_state *s)
{
    struct sl_value out;
    char buf[256];
    memset(&out, 0x5a, sizeof(out));
    s->a->ops->final(s->st, &s->a->sig, &out, buf, sizeof(buf));
    assert_int_equal(out.type, s->a->sig.result);
    return out;
}

static inline void h_assert_null(struct sl_value v)
{
    assert_int_equal(v.null, 1);
}

static inline void h_assert_i(struct sl_value v, int64_t want)
{
    assert_int_equal(v.null, 0);
    if (v.u.i != want) {
        fail_msg("got %lld, want %lld", (long long)v.u.i, (long long)want);
    }
}

static inline void h_assert_text(struct sl_value v, const char *want)
{
    assert_int_equal(v.null, 0);
    assert_int_equal(v.type, SL_TYPE_TEXT);
    if (v.len != strlen(want) || (v.len != 0 && memcmp(v.u.s, want, v.len) != 0)) {
        fail_msg("got '%.*s', want '%s'", (int)v.len, v.u.s, want);
    }
}

/* |got - want| <= rel * |want| (and both finite). */
static inline void h_assert_rel(double got, double want, double rel)
{
    double diff = got > want ? got - want : want - got;
    double mag = want < 0 ? -want : want;
    if (!(diff <= rel * mag)) {
        fail_msg("got %.17g, want %.17g (relative error %.3g > %.3g)", got, want,
                 mag != 0 ? diff / mag : diff, rel);
    }
}

/* splitmix64: the tests' seeded generator. */
static inline uint64_t h_rand(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double h_unif(uint64_t *x)
{
    return (double)(h_rand(x) >> 11) * 0x1.0p-53;
}

#endif
