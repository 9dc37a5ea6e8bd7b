/*
 * common.h - definitions every module of Sluice shares: error codes, the error message
 * carrier used on configuration and start-up paths, and a few compiler helpers.
 *
 * Conventions (STYLE.md): fallible functions return int, >= 0 on success and a negative
 * errno-style code on failure; out-parameters are named ret_* and written only on success.
 * Start-up paths also fill a struct sl_err with a message a person can act on.
 */
#ifndef SL_COMMON_H
#define SL_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SL_LIKELY(x)    __builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SL_CACHELINE    64
#define SL_UNUSED       __attribute__((unused))
#define SL_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Error codes beyond errno: kept negative and out of errno's range. */
enum {
    SL_ERR_PARSE = -1000, /* malformed input (query text, option value, payload) */
    SL_ERR_TYPE = -1001,  /* type error in a query */
    SL_ERR_LIMIT = -1002, /* a configured limit was reached */
    SL_ERR_STATE = -1003, /* operation not valid in the current state */
};

/* A message for a person, filled on configuration and start-up paths. */
struct sl_err {
    char msg[1024];
};

/* Formats into err (if not NULL) and returns code, so that callers can write
 * `return sl_err_set(err, -EINVAL, "...", ...);`. */
int sl_err_set(struct sl_err *err, int code, const char *fmt, ...) SL_PRINTF(3, 4);

/* Allocation on start-up paths and in amortised growth (never per event): calloc/realloc
 * that abort the process when memory is exhausted, so callers need no failure path. A zero
 * size allocates one byte. */
void *sl_xcalloc(size_t n, size_t size);
void *sl_xrealloc(void *p, size_t size);

/* Milliseconds since the epoch, from the wall clock / from a monotonic clock. */
int64_t sl_now_ms(void);
int64_t sl_mono_ms(void);
/* Names the calling thread (printf format, cut to the kernel's 15 bytes) for top -H, perf
 * and /proc/<pid>/task/<tid>/comm. */
void sl_thread_name(const char *fmt, ...) SL_PRINTF(1, 2);

/* Floor division and modulo for signed 64-bit values (pre-1970 times). b > 0. */
static inline int64_t sl_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && (a < 0)) {
        q--;
    }
    return q;
}

static inline int64_t sl_floor_mod(int64_t a, int64_t b)
{
    int64_t m = a % b;
    if (m < 0) {
        m += b;
    }
    return m;
}

#endif
