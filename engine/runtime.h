/*
 * runtime.h - what connectors implement to move data at run time, and what the engine
 * offers them.
 *
 * A source connector reads messages and hands each to the engine through struct sl_src_io,
 * from the source's own thread: either a raw payload (decoded by the engine's JSON decoder)
 * or an already typed row (datagen). The engine does the rest on that thread: event time,
 * watermarks, WHERE, keys, routing to shards, markers.
 *
 * A sink connector receives batches of finished rows on the sink's own thread and returns
 * once they are delivered (or fails, and the engine retries with backoff).
 *
 * Ownership: payload bytes passed to sl_src_io_json are borrowed for the duration of the
 * call only; rows passed to write() are borrowed for the duration of the call.
 */
#ifndef SL_RUNTIME_H
#define SL_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "value.h"

struct sl_source;
struct sl_plan;
struct sl_src_io;
struct sl_metrics;

/* Where a message came from. */
struct sl_msg_meta {
    const char *topic; /* MQTT/Kafka topic, file path; NULL if none */
    uint32_t topic_len;
    const char *key; /* Kafka key; NULL if none */
    uint32_t key_len;
    int32_t partition;  /* watermark partition index, 0-based, < io partitions */
    int64_t offset;     /* position within the partition */
    int64_t arrival_ms; /* processing time when received (0: the engine stamps now) */
};

/* Hands one JSON payload to the engine. Returns 0. May block while a ring is full
 * (backpressure): that is the only way the engine slows a source down. */
int sl_src_io_json(struct sl_src_io *io, const char *buf, size_t len,
                   const struct sl_msg_meta *meta);
/* Hands one typed row (src->ncols values, in column order) to the engine. */
int sl_src_io_row(struct sl_src_io *io, const struct sl_value *row, const struct sl_msg_meta *meta);
/* Hands one payload that the connector has already decoded, on a thread of its own, with a
 * decoder from sl_decoder_for_source (engine/decode.h), into row (src->ncols values; TEXT
 * values may point into buf). buf is the raw payload, kept for dead letters of events the
 * engine still rejects (bad or future event time). A payload the connector's decoder
 * rejected goes through sl_src_io_json instead, which rejects it the same way. */
int sl_src_io_decoded(struct sl_src_io *io, const struct sl_value *row, const char *buf, size_t len,
                      const struct sl_msg_meta *meta);
/* True once the engine asks sources to stop (shutdown). */
bool sl_src_io_stopping(const struct sl_src_io *io);

/* ---- Delivery guarantees: replay and commit (DESIGN.md, "Delivery guarantees") ----
 *
 * A durable source (Kafka; MQTT with --state-dir) has a commit() op. Positions are the
 * connector's offsets within a watermark partition (Kafka offsets, MQTT log sequence
 * numbers): increasing in the order messages are handed to the engine.
 *
 * Once every sink reading the source has acknowledged marker k, the engine calls commit()
 * with, for each partition, the replay start (smallest position among events of windows not
 * expired at `done`; hi when nothing is open), hi (the next position to read at marker k),
 * and the partition's watermark at hi. The all-idle wall-clock advance is committed the same
 * way before its marker is sent (done stays the acknowledged value, wm carries the advance).
 *
 * On start or assignment the connector reads its last record and calls sl_src_io_resume()
 * for the partition before handing it any message, then delivers messages from the replay
 * start: those below hi are replayed (folded only into windows not expired at done, nothing
 * emitted, the rest counted replay_skipped); from hi on the partition is live with its
 * watermark at wm. */

#define SL_POS_NONE INT64_MIN /* no position / no watermark recorded */

struct sl_commit_part {
    int64_t start; /* replay start */
    int64_t hi;    /* next position to read at the marker; SL_POS_NONE if p was never read */
    int64_t wm;    /* p's watermark at hi, SL_POS_NONE if none */
    /* p had not finished its replay at the marker (a shutdown during replay): start and hi
     * do not cover what it had still to replay, and nothing of p was emitted, so the
     * connector keeps p's previous record. */
    bool replaying;
};

struct sl_commit {
    int64_t done; /* the source watermark at the acknowledged marker, SL_POS_NONE if none */
    uint64_t seq; /* the marker */
    int nparts;
    const struct sl_commit_part *parts; /* index = watermark partition */
};

/* Partition p resumes from a record: replay up to hi (exclusive), then live at wm. Call
 * before p's first message after open or assignment. Source thread. */
void sl_src_io_resume(struct sl_src_io *io, int partition, int64_t done, int64_t wm, int64_t hi);
/* The connector knows p has no more messages below hi (end of log or of partition): replay
 * of p ends now even if position hi - 1 never came. Source thread. */
void sl_src_io_replay_end(struct sl_src_io *io, int partition);
/* Partition p is no longer read here (Kafka revocation, or never assigned): state built
 * from it is discarded, never emitted, and p stops holding the source watermark back.
 * Source thread. */
void sl_src_io_revoke(struct sl_src_io *io, int partition);
/* Partition p is assigned without a record (a fresh start): it holds the watermark back
 * until it has events or goes idle. Source thread. */
void sl_src_io_assign(struct sl_src_io *io, int partition);
/* While p is behind (messages known to be waiting: Kafka lag > 0, paused for
 * backpressure), it never counts as idle; idleness applies only at the partition's end.
 * Source thread. */
void sl_src_io_behind(struct sl_src_io *io, int partition, bool behind);

/* Process-wide settings connectors read at open; main sets them before building the
 * engine (command line: --state-dir, --fsync). */
struct sl_runtime_settings {
    const char *state_dir; /* NULL: no crash durability for the MQTT source */
    bool fsync;            /* fsync the MQTT log per batch (host crashes) */
};
void sl_runtime_set(const struct sl_runtime_settings *rs);
const struct sl_runtime_settings *sl_runtime_get(void);

/* Return values of poll(). */
enum {
    SL_POLL_IDLE = 0, /* nothing right now */
    SL_POLL_MORE = 1, /* delivered messages, call again */
    SL_POLL_END = 2,  /* bounded input finished */
};

struct sl_source_ops {
    /* Creates the connector's state for src. Number of watermark partitions in
     * *ret_partitions (1 for files and datagen). Start-up thread. */
    int (*open)(const struct sl_source *src, void **ret_state, int *ret_partitions,
                struct sl_err *err);
    /* Delivers messages through io; waits at most timeout_ms when nothing is available.
     * Returns SL_POLL_* or a negative error. Source thread. */
    int (*poll)(void *state, struct sl_src_io *io, int timeout_ms);
    /* True if the source is bounded (file without follow, datagen with rows): no
     * wall-clock markers, no max_future. */
    bool (*bounded)(void *state);
    void (*close)(void *state);
    /* The connector replays recorded or generated events (file, datagen): max_future is off
     * unless the source sets it explicitly (SQL.md). */
    bool replay;
    /* Optional: whether the source can receive now (connected to its peer); when not, writes
     * "source <name>: <why>" into reason (cap bytes) and returns false, and /readyz says 503.
     * Any thread (the HTTP thread calls it); must not block. */
    bool (*ready)(void *state, char *reason, size_t cap);
    /* Optional: registers the connector's own metrics (label source=name) with m; called once
     * after open, on the start-up thread. Returns 0 or a negative error (err set). */
    int (*metrics)(void *state, struct sl_metrics *m, const char *source, struct sl_err *err);
    /* Optional, durable sources only: records c (above) durably before returning - Kafka
     * commits every partition's replay start with metadata
     * "sluice:1;done=<ms>;wm=<ms>;hi=<offset>" in one call; MQTT writes a log record and
     * truncates to the smallest replay start. Returns 0, or < 0 when it could not (the
     * engine tries again with a later marker; replay then starts earlier, nothing is lost).
     * Source thread. */
    int (*commit)(void *state, const struct sl_commit *c);
    /* Optional: whether this instance commits (MQTT only with --state-dir); NULL: it does
     * whenever commit is set. Start-up thread, after open. */
    bool (*durable)(void *state);
};

/* A finished result row as sinks see it. */
struct sl_row {
    const struct sl_value *vals; /* plan->nout output values, SELECT order */
    const char *id;              /* _id, 32 hex characters, NUL-terminated */
    int64_t rev;                 /* _rev */
    bool is_final;
    int64_t window_start, window_end; /* windowed rows; INT64_MIN for per-event rows */
    /* Redis's dense HyperLogLog encoding ("HYLL…") of the query's APPROX_COUNT_DISTINCT
     * sketch, for the redis sink's hll_key; NULL when the sink has no hll_key. */
    const char *hll;
    uint32_t hll_len;
};

/* What the engine gives a sink at open. */
struct sl_sink_env {
    struct sl_metrics *metrics;  /* register the sink's own counters here (label sink=name) */
    const atomic_bool *stopping; /* true once shutdown began: stop waiting on an absent peer */
};

struct sl_sink_ops {
    /* Creates the connector's state for plan's sink. Start-up thread; may connect, but must
     * not fail because the peer is away (write() retries). */
    int (*open)(const struct sl_plan *plan, const struct sl_sink_env *env, void **ret_state,
                struct sl_err *err);
    /* Delivers n rows (in order) and returns 0 once the peer has acknowledged all of them:
     * only then does the engine count them delivered (DESIGN.md, Markers). Returns < 0 when
     * they must be sent again (the connection failed: the engine waits with jittered backoff
     * and calls write again with the same rows, so writes must be idempotent or at least
     * once). A row the peer refuses for good (wrong type at that key) is counted, logged and
     * skipped, not retried. Sink thread; may block. */
    int (*write)(void *state, const struct sl_row *rows, int n);
    void (*close)(void *state);
    /* The connector reads sl_row.id. When false (and the query's SELECT list has no _id),
     * the engine does not compute row ids and id is "". */
    bool row_ids;
    /* Optional, and then row_ids is not read: decides per query from its sink options (an id
     * costs a SHA-256 per row). Start-up; must answer true when in doubt. */
    bool (*row_ids_for)(const struct sl_plan *plan);
};

#endif
