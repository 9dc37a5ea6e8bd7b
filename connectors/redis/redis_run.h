/* redis_run.h - the Redis sink's runtime ops (redis_run.c, on hiredis). */
#ifndef SL_CONN_REDIS_H
#define SL_CONN_REDIS_H

#include <stddef.h>

#include "engine/format.h"
#include "engine/runtime.h"

extern const struct sl_sink_ops sl_redis_sink_ops;

/* Internal (the sink's hot path; tested against sl_format_double): writes d exactly as
 * sl_format_double does, faster for numbers of at most 15 significant digits in
 * [1e-3, 1e15). buf has SL_FORMAT_NUM_MAX bytes; NUL-terminated; returns the length. */
size_t sl__redis_format_double(double d, char *buf);

#endif
