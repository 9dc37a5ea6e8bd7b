/*
 * log.h - the engine's log: one line per event of interest, text or JSON, with the level and
 * the component in each line.
 *
 *   text: 2026-11-27T06:00:00.123Z info  kafka: partition 3 assigned
 *   json: {"ts":"2026-11-27T06:00:00.123Z","level":"info","component":"kafka","msg":"…"}
 *
 * The level, format and output descriptor are set once at start-up (sl_log_configure) before
 * other threads log. After that any thread may log: a line is formatted on the caller's stack
 * and written with one write(2) call of at most SL_LOG_LINE_MAX bytes (<= PIPE_BUF, so lines
 * from several threads never interleave on a pipe or an O_APPEND file). Control characters in
 * the message are escaped (\n, \t, \xNN in text; JSON escapes in JSON) and invalid UTF-8 is
 * replaced by U+FFFD, so one call is always exactly one line. A longer message is cut and
 * ends in "...".
 *
 * Hot paths do not log (STYLE.md); repeated problems go through sl_log_limited or
 * sl_log_keyed: at most one line per key per interval, the next one saying how many were
 * suppressed.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"

enum sl_log_level {
    SL_LOG_ERROR = 0,
    SL_LOG_WARN = 1,
    SL_LOG_INFO = 2,
    SL_LOG_DEBUG = 3,
};

enum sl_log_format {
    SL_LOG_TEXT = 0,
    SL_LOG_JSON = 1,
};

#define SL_LOG_LINE_MAX 4096

/* A clock returning milliseconds since the epoch (for timestamps and rate limits). */
typedef int64_t (*sl_log_clock_fn)(void);

/* Sets the level filter, the format and the descriptor lines go to (2 by default; the log does
 * not own it). Call at start-up, before other threads log. Defaults: info, text, 2. */
void sl_log_configure(enum sl_log_level level, enum sl_log_format format, int fd);

/* The format set by sl_log_configure (for code that writes other lines to stderr, such as the
 * progress summary, and must keep a JSON log all JSON). Any thread. */
enum sl_log_format sl_log_format_get(void);

/* Replaces the clock (NULL: sl_now_ms). For tests: timestamps and rate limits become exact. */
void sl_log_set_clock(sl_log_clock_fn clock);

/* Parses "error", "warn" (or "warning"), "info", "debug" / "text", "json", case-insensitive.
 * Returns 0 and *ret, or -EINVAL. */
int sl_log_level_parse(const char *s, enum sl_log_level *ret_level);
int sl_log_format_parse(const char *s, enum sl_log_format *ret_format);

extern _Atomic int sl__log_level;

/* True when a line at this level would be written; lets callers skip costly arguments. */
static inline bool sl_log_enabled(enum sl_log_level level)
{
    return (int)level <= atomic_load_explicit(&sl__log_level, memory_order_relaxed);
}

/* Writes one line (no trailing newline needed; one is added). component: a short word
 * ("kafka", "http", "shard"). Any thread; blocks only as long as write(2) to the log fd. */
void sl_log(enum sl_log_level level, const char *component, const char *fmt, ...) SL_PRINTF(3, 4);
void sl_log_v(enum sl_log_level level, const char *component, const char *fmt, va_list ap)
    SL_PRINTF(3, 0);

/* Rate limiter state owned by the caller: one per kind of repeated problem (a static at the
 * call site, or a field per source). Lock-free; any thread. */
struct sl_log_limit {
    _Atomic int64_t next_ms;     /* no line before this time */
    _Atomic uint64_t suppressed; /* calls dropped since the last line */
};
#define SL_LOG_LIMIT_INIT                                                                          \
    {                                                                                              \
        INT64_MIN, 0                                                                               \
    }

/* Logs at most one line per interval_s seconds for this limiter; a line that follows dropped
 * calls ends in " (N more suppressed)". Calls below the level filter are not counted. */
void sl_log_limited(struct sl_log_limit *lim, int interval_s, enum sl_log_level level,
                    const char *component, const char *fmt, ...) SL_PRINTF(5, 6);

/* The same with the key given as a string (for keys made at run time, e.g. "redis:host:6379").
 * Keys live in a small fixed table (SL_LOG_KEYS entries, keys cut to 63 bytes; when it is
 * full, a new key takes over the slot of another, whose count is lost). Takes a mutex: error paths
 * only. */
#define SL_LOG_KEYS 128
void sl_log_keyed(const char *key, int interval_s, enum sl_log_level level, const char *component,
                  const char *fmt, ...) SL_PRINTF(5, 6);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" for ms (years 0000-9999 are exact; others are clamped),
 * into buf (cap >= 25). Returns the length (24). No locale, no lock; any thread. */
int sl_log_format_time(int64_t ms, char *buf, size_t cap);

/* Internal, for progress.c: while a progress line is shown on fd, each log line to the same
 * fd starts by erasing it ("\r\033[K"); the progress line is drawn again on its next tick. */
void sl__log_set_progress_fd(int fd);

#endif
