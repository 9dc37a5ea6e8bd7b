/*
 * value.h - SQL types and the value cell every part of the engine passes around.
 *
 * A struct sl_value is 16 bytes: a type tag, a NULL flag and a payload. TEXT values borrow
 * their bytes (ptr/len, not NUL-terminated): from the event's payload buffer, from a plan's
 * constants, or from the per-event scratch arena of struct sl_eval (expr.h). Whoever keeps a
 * TEXT value beyond the event (group keys, MIN/MAX of TEXT, FIRST_VALUE) copies the bytes.
 *
 * TIMESTAMP and INTERVAL are int64 milliseconds (since the epoch / a duration).
 */
#ifndef SL_VALUE_H
#define SL_VALUE_H

#include <stdbool.h>
#include <stdint.h>

enum sl_type {
    SL_TYPE_NULL = 0, /* the type of the NULL literal before it is given one */
    SL_TYPE_BOOLEAN,
    SL_TYPE_BIGINT,
    SL_TYPE_DOUBLE,
    SL_TYPE_TEXT,
    SL_TYPE_TIMESTAMP,
    SL_TYPE_INTERVAL, /* literals and TIMESTAMP arithmetic only; never a column type */
};

struct sl_value {
    uint8_t type; /* enum sl_type */
    uint8_t null; /* 1 = SQL NULL; the payload is then meaningless */
    uint8_t pad[2];
    uint32_t len; /* TEXT: length in bytes */
    union {
        int64_t i;     /* BIGINT, TIMESTAMP (ms), INTERVAL (ms) */
        double d;      /* DOUBLE */
        bool b;        /* BOOLEAN */
        const char *s; /* TEXT: UTF-8 bytes, not NUL-terminated */
    } u;
};

/* The SQL name of a type ("BIGINT", ...). */
const char *sl_type_name(enum sl_type t);

static inline struct sl_value sl_value_null(enum sl_type t)
{
    struct sl_value v = {.type = (uint8_t)t, .null = 1};
    return v;
}

static inline struct sl_value sl_value_bigint(int64_t i)
{
    struct sl_value v = {.type = SL_TYPE_BIGINT, .u.i = i};
    return v;
}

static inline struct sl_value sl_value_double(double d)
{
    struct sl_value v = {.type = SL_TYPE_DOUBLE, .u.d = d};
    return v;
}

static inline struct sl_value sl_value_bool(bool b)
{
    struct sl_value v = {.type = SL_TYPE_BOOLEAN, .u.b = b};
    return v;
}

static inline struct sl_value sl_value_text(const char *s, uint32_t len)
{
    struct sl_value v = {.type = SL_TYPE_TEXT, .len = len, .u.s = s};
    return v;
}

static inline struct sl_value sl_value_ts(int64_t ms)
{
    struct sl_value v = {.type = SL_TYPE_TIMESTAMP, .u.i = ms};
    return v;
}

#endif
