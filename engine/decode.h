/*
 * decode.h - the JSON event decoder: one payload in, one typed input row out.
 *
 * A decoder is built once per (source, thread) from the source's columns and decodes every
 * payload that thread receives. It validates the whole payload (SQL.md, "Columns": one JSON
 * object, UTF-8, size, depth 64, no duplicate member names at any level, finite numbers,
 * nothing after the object) in a single pass, and converts only the projected columns: those
 * with `used` set, plus NOT NULL columns and the WATERMARK column, whose absence must reject
 * the event whichever queries run. Other columns are NULL in the row.
 *
 * Per event there is no allocation, syscall, lock or log (one madvise every 2^32 events
 * recycles the name table). A decoder is not thread-safe: one
 * per thread. The source (struct sl_source) need not outlive the decoder.
 */
#ifndef SL_DECODE_H
#define SL_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "value.h"

struct sl_source;
struct sl_decoder;

/* Why an event was rejected. Values are stable; names (sl_reject_name) are metric labels and
 * dead-letter reasons. When a payload has several problems, the first structural one in
 * byte order wins; conversion problems are reported only for well-formed payloads (the first
 * one in byte order), and missing values after that. */
enum sl_reject {
    SL_REJECT_NONE = 0,
    SL_REJECT_NOT_JSON,         /* "not_json": a syntax error (also empty input) */
    SL_REJECT_TRUNCATED,        /* "truncated": the payload ends inside the object */
    SL_REJECT_NOT_OBJECT,       /* "not_object": JSON, but an array, string, number, … */
    SL_REJECT_TRAILING_DATA,    /* "trailing_data": bytes other than whitespace after it */
    SL_REJECT_INVALID_UTF8,     /* "invalid_utf8": bad UTF-8 in a string, lone surrogate
                                 * escape, \u0000 */
    SL_REJECT_DUPLICATE_KEY,    /* "duplicate_key": a member name twice in one object */
    SL_REJECT_TOO_DEEP,         /* "too_deep": more than 64 nested objects/arrays */
    SL_REJECT_TOO_LARGE,        /* "too_large": longer than max_message_bytes */
    SL_REJECT_BAD_NUMBER,       /* "bad_number": a number beyond the range of a double */
    SL_REJECT_BAD_VALUE,        /* "bad_value": does not convert to the column's type */
    SL_REJECT_OUT_OF_RANGE,     /* "out_of_range": converts, but not within the type's range */
    SL_REJECT_NULL_NOT_ALLOWED, /* "null_not_allowed": NOT NULL column absent or null */
    SL_REJECT_BAD_EVENT_TIME,   /* "bad_event_time": WATERMARK column absent, null or bad */
    SL_REJECT__COUNT
};

/* timestamp_format, in the order of the option's choices
 * ("auto|epoch_s|epoch_ms|epoch_us|rfc3339"), so that the ENUM option's index maps directly.
 * Numbers are read in the format's unit (auto: |x| > 1e11 is ms, else s; rfc3339 refuses
 * numbers); strings are RFC 3339 in every format. Sub-millisecond parts are floored toward
 * -infinity, exactly (from the decimal digits, not through a double). Accepted TIMESTAMPs
 * lie in years 0001-9999; others are out_of_range. */
enum sl_ts_format {
    SL_TS_AUTO,
    SL_TS_EPOCH_S,
    SL_TS_EPOCH_MS,
    SL_TS_EPOCH_US,
    SL_TS_RFC3339,
};

/* The snake_case name of a reason ("duplicate_key"). Accepts the reason or sl_decode's
 * negative return; "unknown" for anything else. */
const char *sl_reject_name(int reason);

/* Builds a decoder for src's columns. max_message_bytes is clamped to [1, 2^31]. Memory: a
 * member-name stack and table of 6.4 to 9.6 bytes of address space per byte of
 * max_message_bytes (7.2 at the default 1 MiB), mapped lazily, so that only what the largest
 * event needed is ever resident. Start-up path: returns 0 and *ret, -EINVAL for a bad
 * ts_format or column type, -ENOMEM. Any thread; the decoder is then used by one. */
int sl_decoder_new(const struct sl_source *src, int ts_format, size_t max_message_bytes,
                   struct sl_decoder **ret);
/* The same, with the source's own options (timestamp_format, max_message_bytes), as the
 * engine's source thread builds it: for connector threads that decode before the source
 * thread (Kafka). *ret_scratch_cap is the scratch size sl_decode then needs. */
int sl_decoder_for_source(const struct sl_source *src, struct sl_decoder **ret,
                          size_t *ret_scratch_cap);
void sl_decoder_free(struct sl_decoder *d);

/* Test hook (allocation-failure injection, tests/fuzz/fuzz_decode_split.c): when set, it is
 * asked before each allocation sl_decoder_new makes, and a true answer makes that allocation
 * fail. NULL (the default) in the engine. Not thread-safe: set it only in single-threaded
 * tests. */
extern bool (*sl__decoder_alloc_fail)(void);

/* Decodes one payload (buf, len: need not be NUL-terminated) into row[0 .. src->ncols).
 * Pseudo-columns after them are the caller's. TEXT values point into buf, or into scratch
 * when they had escapes; both must outlive the row's use. scratch_cap must be >= len (that
 * always suffices); a smaller scratch is refused as too_large.
 *
 * Returns 0, or -(enum sl_reject) with row contents unspecified. Never reads outside
 * [buf, buf + len), never writes outside row[0 .. ncols) and scratch. Hot path: no
 * allocation, syscall, lock or log; the calling thread must own d. */
int sl_decode(struct sl_decoder *d, const char *buf, size_t len, struct sl_value *row,
              char *scratch, size_t scratch_cap);

#endif
