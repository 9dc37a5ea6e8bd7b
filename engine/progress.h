/*
 * progress.h - the progress line of `sluice run` on a terminal.
 *
 * When the output descriptor (stderr) is a terminal, one line is redrawn in place ("\r",
 * text, erase to end of line) at most 4 times a second:
 *
 *   events 1234567 (12.3k/s)  watermark 2026-11-27T06:00:00.000Z  rejected 12
 *
 * and log lines written meanwhile erase it first (log.c). Otherwise nothing is shown until
 * sl_progress_stop() writes one summary line:
 *
 *   sluice: 1234567 events in 12.3 s (100.2k/s), rejected 12, watermark 2026-11-27T06:00:00.000Z
 *
 * The engine owns a struct sl_progress_stats and keeps its atomic fields current - either
 * directly, or from the refresh callback, which the drawing thread calls before each draw
 * (e.g. summing metrics with sl_metrics_read). The line is drawn by a timer thread, or by the
 * caller through sl_progress_tick() when opts.no_thread is set.
 */
#ifndef SL_PROGRESS_H
#define SL_PROGRESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define SL_PROGRESS_NO_WATERMARK INT64_MIN
#define SL_PROGRESS_INTERVAL_MS  250

/* Written by the engine (relaxed stores), read by the drawing thread (relaxed loads). */
struct sl_progress_stats {
    _Atomic uint64_t events;      /* events read, all sources */
    _Atomic uint64_t rejected;    /* events rejected, all sources */
    _Atomic int64_t watermark_ms; /* lowest source watermark; SL_PROGRESS_NO_WATERMARK if none */
};

/* Initialises the fields: zero counts, no watermark. */
void sl_progress_stats_init(struct sl_progress_stats *st);

typedef void (*sl_progress_refresh_fn)(struct sl_progress_stats *st, void *ud);

struct sl_progress_opts {
    int fd;                         /* where to draw; 0 means 2 (stderr) */
    int tty;                        /* -1: isatty(fd); 0: summary only; 1: draw the line */
    bool no_thread;                 /* the caller calls sl_progress_tick() */
    int64_t (*now_ms)(void);        /* monotonic clock; NULL: sl_mono_ms */
    sl_progress_refresh_fn refresh; /* NULL: the engine updates the stats itself */
    void *refresh_ud;
};

struct sl_progress;

/* Starts showing progress of st (which must outlive the handle). opts NULL: stderr,
 * detect the terminal, own timer thread. Returns 0 and *ret_p, -ENOMEM, or -errno if the
 * thread cannot start. */
int sl_progress_start(struct sl_progress_stats *st, const struct sl_progress_opts *opts,
                      struct sl_progress **ret_p);

/* Draws the line if at least SL_PROGRESS_INTERVAL_MS passed since the last draw (the first
 * call always draws). Only with opts.no_thread, from one thread at a time. Returns 1 if it
 * drew, 0 if not. */
int sl_progress_tick(struct sl_progress *p);

/* Stops the timer thread, erases the line and writes the summary line. Frees p; NULL is a
 * no-op. Blocks until the thread has exited (at most one write). */
void sl_progress_stop(struct sl_progress *p);

/* Formats a rate per second as "950/s", "12.3k/s", "4.56M/s", "1.20G/s". Returns length. */
int sl_progress_format_rate(double per_s, char *buf, size_t cap);

#endif
