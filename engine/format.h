/*
 * format.h - how values leave Sluice: a growable byte buffer, numbers written as JavaScript
 * writes them, the JSON text of values and rows, the text form of values in key templates,
 * and row ids (SQL.md, "Values in results").
 *
 * Everything here is a pure function of its arguments (no locale, no global state) and may
 * be called from any thread. Only sl_buf allocates, and only when it grows; formatting a
 * value into a buffer that is already large enough performs no allocation or syscall.
 */
#ifndef SL_FORMAT_H
#define SL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "value.h"

/* ---- growable byte buffer ---- */

/* p[0..len) holds the bytes; once anything has been appended p[len] is a NUL (not counted
 * in len), so p can be used as a C string when the bytes hold no NUL. */
struct sl_buf {
    char *p;
    size_t len, cap;
};

/* An empty buffer that owns nothing yet. */
void sl_buf_init(struct sl_buf *b);
/* Frees the bytes; the buffer is empty again (init state). */
void sl_buf_fini(struct sl_buf *b);
/* len = 0, keeping the allocation. */
void sl_buf_reset(struct sl_buf *b);
/* Makes room for n more bytes (plus the NUL). Returns 0 or -ENOMEM (buffer unchanged). */
int sl_buf_reserve(struct sl_buf *b, size_t n);
/* Appends n bytes / a C string / one byte / printf output. Return 0 or -ENOMEM; on failure
 * the buffer keeps its previous contents. */
int sl_buf_append(struct sl_buf *b, const void *s, size_t n);
int sl_buf_puts(struct sl_buf *b, const char *s);
int sl_buf_putc(struct sl_buf *b, char c);
int sl_buf_appendf(struct sl_buf *b, const char *fmt, ...) SL_PRINTF(2, 3);

/* ---- numbers ---- */

/* Room for any output of sl_format_double / sl_format_int, NUL included. */
#define SL_FORMAT_NUM_MAX 32

/* Writes d as JavaScript's Number.prototype.toString does (shortest digits that read back
 * to d; exponent form when the decimal exponent is >= 21 or <= -7: "1e+21", "1.5e-7";
 * -0 is "0"; NaN and infinities as "NaN", "Infinity", "-Infinity"). buf has at least
 * SL_FORMAT_NUM_MAX bytes; the output is NUL-terminated. Returns its length. */
size_t sl_format_double(double d, char *buf);
/* Writes i in decimal into buf (SL_FORMAT_NUM_MAX bytes), NUL-terminated; returns length. */
size_t sl_format_int(int64_t i, char *buf);

/* Internal (ROUND uses it): the shortest round-trip decimal digits of a finite d != 0:
 * |d| = 0.D1D2…Dk × 10^n. Writes k digits (no trailing zeros, at most 17, not
 * NUL-terminated) to digits and n to *ret_n; returns k. */
int sl__format_digits(double d, char digits[17], int *ret_n);

/* ---- JSON and template text ---- */

/* TEXT bytes as a JSON string, quotes included: only '"', '\\' and U+0000-U+001F are
 * escaped (\n \r \t \b \f short, others \u00XX); other bytes are copied as they are. */
int sl_format_json_str(struct sl_buf *b, const char *s, size_t len);
/* The JSON text of a value: null, true/false, an integer (BIGINT, and TIMESTAMP and
 * INTERVAL as milliseconds), a DOUBLE as sl_format_double (null for NaN/infinities), a
 * TEXT as sl_format_json_str. */
int sl_format_json(struct sl_buf *b, const struct sl_value *v);
/* Appends one row as a JSON object without spaces: {"name":value,...}, n columns. */
int sl_format_row(struct sl_buf *b, const char *const *names, const struct sl_value *vals, int n);
/* The text form of a value in a key template: NULL -> nothing, TEXT -> its raw bytes, any
 * other value -> its JSON text. */
int sl_format_text(struct sl_buf *b, const struct sl_value *v);

/* ---- row ids (`_id`) ---- */

#define SL_ROW_ID_LEN 32 /* hex characters; buffers hold SL_ROW_ID_LEN + 1 */

/* The `_id` of a window row: lower-case hex of the first 16 bytes of SHA-256 over the JSON
 * text of ["<sink>", key1, …, keyN, window_start] (no spaces). Writes 32 characters and a
 * NUL to out. No allocation. */
void sl_row_id_window(const char *sink, const struct sl_value *keys, int nkeys,
                      int64_t window_start, char out[SL_ROW_ID_LEN + 1]);
/* The `_id` of a per-event row: over ["<sink>", "<topic or file path>", partition, offset].
 * topic may be NULL when topic_len is 0. No allocation. */
void sl_row_id_event(const char *sink, const char *topic, size_t topic_len, int64_t partition,
                     int64_t offset, char out[SL_ROW_ID_LEN + 1]);

/* Length of the valid UTF-8 sequence at s (n >= 1 bytes left), or 0 if it is not valid
 * (overlong, surrogate, past U+10FFFF or cut short). */
size_t sl_utf8_seq(const unsigned char *s, size_t n);

#endif
