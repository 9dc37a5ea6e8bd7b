/*
 * engine.h - the runtime: one thread per source, one per shard, one per sink (DESIGN.md).
 *
 *   source thread --(chan per shard)--> shard thread --(chan per sink)--> sink thread
 *   source thread --(chan)-----------------------------------------------> sink thread
 *                                                              (per-event queries)
 *
 * Ownership (the rule for every record): a record reserved and committed on a channel
 * belongs to the consumer until it releases it; a record that could not be reserved stays
 * with the producer. Window state lives in its shard and is freed as windows expire.
 * The catalog is read-only for the engine's whole life.
 *
 * Counters are per writer thread (one writer each, relaxed stores) and summed by readers.
 */
#ifndef SL_ENGINE_H
#define SL_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include "chan.h"
#include "metrics.h"
#include "runtime.h"
#include "queries/plan.h"

#define SL_WM_NONE INT64_MIN /* no watermark yet */
#define SL_WM_MAX  INT64_MAX /* end of a bounded input: every window fires */

typedef _Atomic uint64_t sl_ctr;

/* Single-writer counter increment: a plain load and store, no locked instruction. */
static inline void sl_ctr_add(sl_ctr *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline uint64_t sl_ctr_get(const sl_ctr *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* Rejection reasons counted at the source besides the decoder's (decode.h). */
#define SL_REJECT_FUTURE_NAME "future"

/* Per (source, query) counters, one block per writer thread. */
struct sl_qstats {
    sl_ctr filtered, late, over_limit, replay_skipped, accepted, rows;
};

struct sl_engine_opts {
    int workers; /* shards */
    int64_t shutdown_timeout_ms;
    const char *http; /* --http address, "off" or NULL for none */
    /* SIGHUP: returns true when the engine should stop as on SIGTERM and sl_engine_run
     * return SL_ENGINE_RELOAD (the caller starts again with the new files); false keeps
     * running. NULL: SIGHUP is logged and ignored. Main thread. */
    bool (*reload)(void *ud);
    void *reload_ud;
    /* Queries added by a reload: they emit only windows that start at or after the
     * watermark their source resumes at (DESIGN.md, Reload). */
    const char *const *added;
    int nadded;
};

#define SL_ENGINE_RELOAD 75 /* sl_engine_run: stopped for a reload */

struct sl_engine;

/* Builds the runtime for cat; refuses plans whose connectors or aggregates have no runtime
 * yet. Main thread. */
int sl_engine_new(const struct sl_catalog *cat, const struct sl_engine_opts *opts,
                  struct sl_engine **ret, struct sl_err *err);
/* Starts every thread and waits until every bounded source has finished and every sink
 * has drained, or until SIGINT/SIGTERM. Returns the process exit code. Main thread. */
int sl_engine_run(struct sl_engine *eng);
void sl_engine_free(struct sl_engine *eng);
/* Prints the counters (summary at the end of a run). */
void sl_engine_summary(struct sl_engine *eng, FILE *f);

/* ---- internal: shared between engine.c, source.c, shard.c, sink.c ---- */

/* Marker flags (replay and commit, source.c). */
#define SL_MARK_TRACK   1 /* shards report their open windows' smallest positions */
#define SL_MARK_RESTORE 2 /* after replay at start: windows ending by wm fired before */
#define SL_MARK_REVOKE  4 /* partition wm was revoked: discard state built from it */

struct sl__marker {
    uint8_t kind;  /* SL_REC_MARKER */
    uint8_t final; /* the source is done: nothing follows */
    uint8_t fire;  /* fire windows up to wm (0 on shutdown: open windows are kept) */
    uint8_t flags; /* SL_MARK_* */
    uint32_t source;
    uint64_t seq;
    int64_t wm;
};

/* Source -> shard: one event of one windowed query. Followed by keylen key bytes (padded
 * to 8), then nstates struct sl_value (TEXT: u.s holds the byte offset from the record
 * start), then TEXT bytes. */
struct sl__evrec {
    uint8_t kind;   /* SL_REC_EVENT */
    uint8_t replay; /* read again after a crash: fold silently (DESIGN.md) */
    uint16_t query;
    uint16_t nstates;
    uint16_t pad2;
    uint32_t keylen;
    uint32_t pad3;
    uint64_t filters; /* bit s: state s's FILTER passed (or it has none) */
    uint64_t keyhash;
    int64_t ts;    /* event time */
    int64_t stamp; /* source watermark in force when read */
    uint64_t pos;  /* partition << 48 | offset */
};

/* Shard/source -> sink: one result row. Followed by its id when has_id (SL__ROWREC_ID
 * bytes), then keylen key bytes (padded to 8), then
 * bloblen bytes of sketch (padded to 8; the Redis HyperLogLog for hll_key), then nout
 * struct sl_value (TEXT as offsets from the record start), then TEXT bytes. */
struct sl__rowrec {
    uint8_t kind; /* SL_REC_ROW */
    uint8_t is_final;
    uint16_t nkeys;
    uint16_t nout;
    uint16_t has_id; /* the row id (33 bytes with its NUL, 40 in the record) follows */
    uint32_t keylen;
    uint32_t bloblen;
    int64_t rev;
    int64_t wstart, wend;
};

#define SL__ROWREC_ID 40 /* bytes of a row id in a record */

/* The row's id ("" when its query computes none) and its key bytes. */
static inline const char *sl__rowrec_id(const struct sl__rowrec *r)
{
    return r->has_id ? (const char *)(r + 1) : "";
}

static inline const uint8_t *sl__rowrec_key(const struct sl__rowrec *r)
{
    return (const uint8_t *)(r + 1) + (r->has_id ? SL__ROWREC_ID : 0);
}

struct sl__srcrt;
struct sl__shard;
struct sl__sinkrt;

struct sl_engine {
    const struct sl_catalog *cat;
    struct sl_engine_opts opts;
    int nshards;
    struct sl__srcrt **srcs;
    int nsrcs;
    struct sl__shard **shards;
    struct sl__sinkrt **sinks; /* index = plan index */
    int nsinks;
    atomic_bool stop; /* shutdown requested */
    struct sl_metrics *metrics;
    struct sl_http *http;
    atomic_int sinks_running;
    int done_fd; /* eventfd a sink thread writes when it ends: wakes the main thread */
    _Atomic(uint64_t) *groups; /* open groups per plan, for max_groups */
};

/* source.c */
int sl__srcrt_new(struct sl_engine *eng, const struct sl_source *src, struct sl__srcrt **ret,
                  struct sl_err *err);
void sl__srcrt_connect(struct sl__srcrt *s); /* after shards and sinks exist */
int sl__srcrt_start(struct sl__srcrt *s);
void sl__srcrt_join(struct sl__srcrt *s);
void sl__srcrt_free(struct sl__srcrt *s);
void sl__srcrt_summary(struct sl__srcrt *s, FILE *f);
/* Registers the source's counters (and its queries') with eng->metrics. */
int sl__srcrt_metrics(struct sl__srcrt *s, struct sl_err *err);
/* The source watermark as last published (SL_WM_NONE if none), any thread. */
int64_t sl__srcrt_watermark(struct sl__srcrt *s);
uint64_t sl__srcrt_rejected(struct sl__srcrt *s);
/* Whether the source's connector can receive now (runtime.h, ready); reason when not. Any
 * thread. */
bool sl__srcrt_ready(struct sl__srcrt *s, char *reason, size_t cap);
/* Writes a late event of plan to the source's dead_letter file, if it has one. Any thread. */
void sl__srcrt_dead_late(struct sl__srcrt *s, const struct sl_plan *plan, int64_t ts, uint64_t pos);
uint64_t sl__srcrt_events(struct sl__srcrt *s);
/* The last marker the source sent (any thread). */
uint64_t sl__srcrt_markers(struct sl__srcrt *s);

struct sl_waiter *sl__srcrt_waiter(struct sl__srcrt *s);
/* Replay and commit: the source's watermark partitions, whether it commits, and a shard's
 * report for a tracked marker (smallest position per partition among its open windows,
 * INT64_MAX for none). */
int sl__srcrt_nparts(const struct sl__srcrt *s);
bool sl__srcrt_durable(const struct sl__srcrt *s);
void sl__srcrt_report(struct sl__srcrt *s, uint64_t seq, const int64_t *minpos);

/* shard.c */
struct sl__shard *sl__shard_new(struct sl_engine *eng, int index);
/* The channel source s writes into this shard. */
struct sl_chan *sl__shard_input(struct sl__shard *sh, int source_index);
struct sl_waiter *sl__shard_waiter(struct sl__shard *sh);
void sl__shard_connect(struct sl__shard *sh); /* after sinks exist */
int sl__shard_start(struct sl__shard *sh);
void sl__shard_join(struct sl__shard *sh);
void sl__shard_free(struct sl__shard *sh);
struct sl_qstats *sl__shard_qstats(struct sl__shard *sh, int plan_index);

/* sink.c */
int sl__sinkrt_new(struct sl_engine *eng, const struct sl_plan *plan, struct sl__sinkrt **ret,
                   struct sl_err *err);
/* Input channel i (shard i for windowed plans; 0 = the source thread for per-event plans). */
struct sl_chan *sl__sinkrt_input(struct sl__sinkrt *k, int i);
int sl__sinkrt_start(struct sl__sinkrt *k);
void sl__sinkrt_join(struct sl__sinkrt *k);
void sl__sinkrt_free(struct sl__sinkrt *k);
uint64_t sl__sinkrt_rows(struct sl__sinkrt *k);
/* The highest marker sequence of the sink's source whose rows the sink has fully delivered
 * (acknowledged by its peer). Any thread; sources read it to decide what they may commit. */
uint64_t sl__sinkrt_delivered(struct sl__sinkrt *k);
int sl__sinkrt_metrics(struct sl__sinkrt *k, struct sl_err *err);
int sl__shard_metrics(struct sl__shard *sh, struct sl_err *err);

/* metrics helper: registers a counter whose value is the single-writer counter c. */
int sl__metric_ctr(struct sl_engine *eng, const char *name, const char *help,
                   const struct sl_label *labels, size_t nlabels, sl_ctr *c, struct sl_err *err);

/* Sends a marker on a channel (producer side). Returns false if stopping won. */
bool sl__send_marker(struct sl_chan *c, const struct sl__marker *m, const atomic_bool *stop);
/* The same without publishing it (the producer commits once per batch). */
bool sl__queue_marker(struct sl_chan *c, const struct sl__marker *m, const atomic_bool *stop);

/* Row records (rows.c): encode a result row onto a channel; decode one for sinks. */
struct sl__rowout {
    const uint8_t *key; /* canonical group key bytes (keys.h); NULL for per-event rows */
    uint32_t keylen;
    int nkeys;
    const struct sl_value *out;
    int nout;
    int64_t rev;
    bool is_final;
    int64_t wstart, wend; /* INT64_MIN for per-event rows */
    const char *id;       /* 32 hex characters */
    const char *blob;     /* sketch bytes for the sink, or NULL */
    uint32_t bloblen;
};
/* Whether rows of p need their _id computed: p selects _id or its sink connector reads it. */
bool sl__plan_row_ids(const struct sl_plan *p);
/* Sends a row and publishes it (with everything reserved before it) to the consumer. */
bool sl__send_row(struct sl_chan *c, const struct sl__rowout *r, const atomic_bool *stop);
/* Writes a row without publishing it: the producer commits once for a batch of rows (a
 * shard emitting a marker's windows), so the sink wakes once per batch, not once per row.
 * A full channel still publishes what is pending before it waits (sl_chan_reserve). */
bool sl__queue_row(struct sl_chan *c, const struct sl__rowout *r, const atomic_bool *stop);

#endif
