/*
 * metrics.h - the metrics registry: counters, gauges and histograms with labels (the
 * Prometheus data model), rendered as Prometheus text exposition format 0.0.4.
 *
 * Two phases. Registration (start-up, reload) allocates, validates names and takes the
 * registry's mutex; it may run on any thread. Updates (hot paths) touch only the cell a
 * registration returned: no lock, no syscall, no allocation. Every cell is a cache-line-aligned
 * block owned by ONE writer thread; the `_sw_` (single writer) update functions do a relaxed
 * load and a relaxed store, which on x86-64 compiles to mov/add/mov with no lock prefix, where a
 * relaxed fetch_add is a `lock add` that also drains the store buffer. bench_metrics (AMD EPYC,
 * one core, gcc -O2): 0.24 ns against 4.7 ns per increment, 0.23 against 5.9 ns with a reader
 * thread polling the cell. With one writer there is nothing for the atomic RMW to arbitrate,
 * so the cheaper form is also correct. A cell that several threads must write uses the
 * `_mw_` (multi-writer) variants, an atomic read-modify-write.
 *
 * A family (name, help, type) holds series (one per label set). Registering the same family
 * and label set again - typically from another thread - adds another cell to the same series,
 * and rendering sums the cells: per-thread parts of one counter need no sharing at all. Label
 * sets are compared as sets (order of registration does not matter) and rendered sorted by
 * label name, as client_golang does; series are sorted bytewise by their rendered labels and
 * families by name, so the output is stable.
 *
 * The HTTP thread renders with relaxed loads under the registry mutex; it may observe a
 * counter one increment behind the writer, never a torn value. Cells stay valid until
 * sl_metrics_free(); callback parts can be withdrawn with sl_metrics_forget().
 */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

struct sl_metrics;

/* One label pair. Both strings are copied at registration. */
struct sl_label {
    const char *name;
    const char *value;
};

/* Builds the (labels, nlabels) argument pair from a list of {name, value} initialisers:
 *   sl_metrics_counter_register(m, "sluice_source_rejected_total", "…",
 *       SL_LABELS({"source", src_name}, {"reason", "bad_value"}), &c, err);
 * Use SL_NO_LABELS for a series without labels. */
#define SL_LABELS(...)                                                                             \
    (const struct sl_label[]){__VA_ARGS__},                                                        \
        (sizeof((const struct sl_label[]){__VA_ARGS__}) / sizeof(struct sl_label))
#define SL_NO_LABELS NULL, 0

/* A counter cell. Monotonic, starts at 0. */
struct sl_counter {
    _Alignas(SL_CACHELINE) _Atomic uint64_t v;
};

/* A gauge cell: a double stored as its bit pattern. Starts at 0. */
struct sl_gauge {
    _Alignas(SL_CACHELINE) _Atomic uint64_t bits;
};

#define SL_HISTOGRAM_MAX_BOUNDS 16

/* A histogram cell: non-cumulative bucket counts (the last one is +Inf), the sum of the
 * observations, and a copy of the family's upper bounds so that observing touches only this
 * cell. The count is the sum of the buckets, so _count always equals the +Inf bucket. */
struct sl_histogram {
    _Alignas(SL_CACHELINE) _Atomic uint64_t sum_bits;
    uint32_t nbounds;
    double bounds[SL_HISTOGRAM_MAX_BOUNDS];
    _Atomic uint64_t counts[SL_HISTOGRAM_MAX_BOUNDS + 1];
};

/* Render-time callbacks: called on the HTTP thread (or whoever renders) with the registry
 * mutex held; they must be thread-safe with respect to their data, must not block for long
 * and must not call back into the registry. */
typedef double (*sl_metrics_fn)(void *ud);

/* ---- hot path: no lock, no syscall, no allocation ---- */

static inline uint64_t sl__metrics_load_u64(_Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}

static inline double sl__metrics_bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static inline uint64_t sl__metrics_double_to_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    return bits;
}

/* Adds n to a counter cell. Only the thread that owns the cell may call it. */
static inline void sl_counter_sw_add(struct sl_counter *c, uint64_t n)
{
    /* Relaxed: readers want a recent value, not ordering with other memory. */
    atomic_store_explicit(&c->v, atomic_load_explicit(&c->v, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void sl_counter_sw_inc(struct sl_counter *c)
{
    sl_counter_sw_add(c, 1);
}

/* Adds n to a counter cell that several threads write. Any thread. */
static inline void sl_counter_mw_add(struct sl_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

/* Current value of one cell (not of the series). Any thread. */
static inline uint64_t sl_counter_get(struct sl_counter *c)
{
    return atomic_load_explicit(&c->v, memory_order_relaxed);
}

/* Sets a gauge cell. A store: any thread, but concurrent setters race (last one wins). */
static inline void sl_gauge_set(struct sl_gauge *g, double v)
{
    atomic_store_explicit(&g->bits, sl__metrics_double_to_bits(v), memory_order_relaxed);
}

/* Adds d (may be negative) to a gauge cell. Only the owning thread. */
static inline void sl_gauge_sw_add(struct sl_gauge *g, double d)
{
    double v = sl__metrics_bits_to_double(atomic_load_explicit(&g->bits, memory_order_relaxed));
    atomic_store_explicit(&g->bits, sl__metrics_double_to_bits(v + d), memory_order_relaxed);
}

/* Adds d to a gauge cell that several threads write (compare-and-swap loop). Any thread. */
static inline void sl_gauge_mw_add(struct sl_gauge *g, double d)
{
    uint64_t old = atomic_load_explicit(&g->bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(
        &g->bits, &old, sl__metrics_double_to_bits(sl__metrics_bits_to_double(old) + d),
        memory_order_relaxed, memory_order_relaxed)) {
    }
}

static inline double sl_gauge_get(struct sl_gauge *g)
{
    return sl__metrics_bits_to_double(atomic_load_explicit(&g->bits, memory_order_relaxed));
}

/* Records one observation (base units: seconds, bytes). Only the owning thread. A value
 * equal to a bound falls in that bound's bucket (Prometheus `le`); NaN falls in +Inf. */
static inline void sl_histogram_sw_observe(struct sl_histogram *h, double v)
{
    uint32_t i = 0;
    while (i < h->nbounds && !(v <= h->bounds[i])) {
        i++;
    }
    atomic_store_explicit(&h->counts[i],
                          atomic_load_explicit(&h->counts[i], memory_order_relaxed) + 1,
                          memory_order_relaxed);
    double s = sl__metrics_bits_to_double(atomic_load_explicit(&h->sum_bits, memory_order_relaxed));
    atomic_store_explicit(&h->sum_bits, sl__metrics_double_to_bits(s + v), memory_order_relaxed);
}

/* ---- registry: start-up paths, any thread, may block on the registry mutex ---- */

/* Creates an empty registry. Returns 0, or -ENOMEM. */
int sl_metrics_new(struct sl_metrics **ret_m);

/* Frees the registry and every cell it handed out. NULL is a no-op. No other thread may use
 * the registry or its cells any more. */
void sl_metrics_free(struct sl_metrics *m);

/* Registers one cell of a counter series and returns it in *ret_c (owned by the registry,
 * valid until sl_metrics_free). name must match [a-zA-Z_:][a-zA-Z0-9_:]* and end in
 * "_total"; label names [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", no duplicates.
 * Label values and help are any text (invalid UTF-8 is replaced by U+FFFD). The help of the
 * first registration of a family wins. Returns 0, -EINVAL (bad name or label, or the family
 * exists with another type; err says which), or -ENOMEM. */
int sl_metrics_counter_register(struct sl_metrics *m, const char *name, const char *help,
                                const struct sl_label *labels, size_t nlabels,
                                struct sl_counter **ret_c, struct sl_err *err);

/* Registers one cell of a gauge series; as above, without the "_total" rule (a gauge name
 * must not end in "_total"). */
int sl_metrics_gauge_register(struct sl_metrics *m, const char *name, const char *help,
                              const struct sl_label *labels, size_t nlabels,
                              struct sl_gauge **ret_g, struct sl_err *err);

/* Registers a part of a gauge (or counter) series whose value fn(ud) computes at render time:
 * ring occupancy, RSS, librdkafka's consumer lag. Parts of one series are summed with its
 * cells. For a counter, fn must be monotonic. Remove with sl_metrics_forget(m, ud) before ud
 * dies. Returns as the cell registrations. */
int sl_metrics_gauge_fn_register(struct sl_metrics *m, const char *name, const char *help,
                                 const struct sl_label *labels, size_t nlabels, sl_metrics_fn fn,
                                 void *ud, struct sl_err *err);
int sl_metrics_counter_fn_register(struct sl_metrics *m, const char *name, const char *help,
                                   const struct sl_label *labels, size_t nlabels, sl_metrics_fn fn,
                                   void *ud, struct sl_err *err);

/* Registers one cell of a histogram series with upper bounds bounds[0..nbounds) (strictly
 * increasing, finite, 1..SL_HISTOGRAM_MAX_BOUNDS; +Inf is implicit). Every series of a family
 * must use the same bounds. name must not end in _bucket, _sum, _count or _total, and "le" is
 * not a valid label name. Returns 0, -EINVAL or -ENOMEM. */
int sl_metrics_histogram_register(struct sl_metrics *m, const char *name, const char *help,
                                  const struct sl_label *labels, size_t nlabels,
                                  const double *bounds, size_t nbounds, struct sl_histogram **ret_h,
                                  struct sl_err *err);

/* Removes every callback part registered with this ud (a series left without parts is no
 * longer rendered). After it returns, no render calls those callbacks. */
void sl_metrics_forget(struct sl_metrics *m, const void *ud);

/* Registers the process metrics: process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_cpu_seconds_total, process_open_fds, process_start_time_seconds, and
 * sluice_build_info{version}. Returns 0 or a negative code with err filled. */
int sl_metrics_process_register(struct sl_metrics *m, struct sl_err *err);

/* Renders every family in Prometheus text format 0.0.4 into a malloc'd, NUL-terminated buffer
 * (*ret_text, free() it; *ret_len excludes the NUL). Families with no series are left out.
 * Any thread; takes the registry mutex and calls the render-time callbacks. Returns 0 or
 * -ENOMEM. */
int sl_metrics_render(struct sl_metrics *m, char **ret_text, size_t *ret_len);

/* Sums the current value of every series of family name whose labels include all of
 * labels[0..nlabels) (nlabels 0: the whole family). For a histogram the sum is of the
 * observation counts. Returns 0 and *ret_v, or -ENOENT when no such family or series exists.
 * For tests that reconcile counters and for the progress line; takes the registry mutex. */
int sl_metrics_read(struct sl_metrics *m, const char *name, const struct sl_label *labels,
                    size_t nlabels, double *ret_v);

/* Writes v as Prometheus does ("+Inf", "-Inf", "NaN", integers without exponent up to
 * 2^53, otherwise the shortest "%g" form that reads back exactly) into buf (cap >= 32).
 * Returns the length. Independent of the locale's decimal point. */
int sl_metrics_format_double(double v, char *buf, size_t cap);

#endif
