/*
 * agg.h - the aggregate function interface and its registry.
 *
 * Each aggregate is one file in engine/agg/ defining a `const struct sl_agg_ops` with
 * designated initialisers, and one line in engine/agg/registry.c. The front end looks
 * aggregates up by name, calls check() to type them and size their state, and the engine
 * calls the rest per group.
 *
 * State: a fixed-size block of sig->state_size bytes (aligned to 8) inside the group's state
 * block, laid out by the planner at load time. Aggregates that need memory beyond it (exact
 * distinct sets, copies of TEXT values) allocate it with malloc (jemalloc) only as it grows
 * (amortised, never per event in the steady state) and release it in fini(). Aggregates whose
 * ops have the same state_name, the same argument expression and the same FILTER share one
 * state: update() runs once per state, final() once per aggregate with its own sig (that is
 * how PERCENTILE(x, 0.5) and PERCENTILE(x, 0.99) share one sketch).
 *
 * Threads: state belongs to one shard thread; ops are called only from it.
 */
#ifndef SL_AGG_H
#define SL_AGG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "value.h"

/* The signature of one use of an aggregate, filled partly by the front end and completed
 * by check(). */
struct sl_agg_sig {
    /* in: from the front end */
    bool star;             /* COUNT(*): no argument */
    enum sl_type arg_type; /* type of the value argument (after implicit casts) */
    int nparams;           /* constant arguments after the value: PERCENTILE q, TOPK k */
    struct sl_value params[2];
    uint64_t max_distinct; /* sink option max_distinct */
    /* out: from check() */
    enum sl_type result; /* result type */
    uint32_t state_size; /* bytes of fixed state, multiple of 8 */
};

/* What update() knows about the event besides its value. */
struct sl_agg_ctx {
    int64_t ts;                   /* event time, ms */
    uint64_t pos;                 /* source position: partition << 48 | offset, for ties */
    _Atomic uint64_t *over_limit; /* count here when a limit refuses a value (max_distinct);
                                   * written only by the owning shard thread */
};

struct sl_agg_ops {
    const char *name;       /* upper case, as written in SQL: "SUM", "COUNT_DISTINCT" */
    const char *state_name; /* states of equal state_name, argument and FILTER are shared */
    int min_args, max_args; /* all arguments, value plus constant parameters */
    bool exact;             /* false for sketches (plans say "approximate") */

    /* Types one use: reads sig->arg_type/params, writes sig->result and sig->state_size.
     * Returns 0, or < 0 with err saying what is wrong ("SUM needs a number, got TEXT"). */
    int (*check)(struct sl_agg_sig *sig, struct sl_err *err);
    void (*init)(void *state, const struct sl_agg_sig *sig);
    /* v is the argument's value (NULL type cell for COUNT(*)); NULLs are passed in and the
     * aggregate ignores them as SQL says. */
    void (*update)(void *state, const struct sl_agg_sig *sig, const struct sl_value *v,
                   const struct sl_agg_ctx *cx);
    /* dst := dst ⊕ src. Associative and commutative (HOP panes, replicas). */
    void (*merge)(void *dst, const void *src, const struct sl_agg_sig *sig);
    /* The result. TEXT results point into the state or into buf (cap bytes, caller's). */
    void (*final)(const void *state, const struct sl_agg_sig *sig, struct sl_value *out, char *buf,
                  size_t cap);
    /* Releases memory beyond the fixed state. NULL if there is none. */
    void (*fini)(void *state, const struct sl_agg_sig *sig);
};

/* Finds an aggregate by name (case-insensitive); NULL if there is none. */
const struct sl_agg_ops *sl_agg_find(const char *name);
/* The NULL-terminated registry, for listings and suggestions. */
extern const struct sl_agg_ops *const sl_agg_registry[];

#endif
