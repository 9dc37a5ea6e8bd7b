/* redis_run.h - the Redis sink's runtime ops (redis_run.c, on hiredis). */
#ifndef SL_CONN_REDIS_H
#define SL_CONN_REDIS_H

#include <stddef.h>

#include "engine/format.h"
#include "engine/runtime.h"

extern const struct sl_sink_ops sl_redis_sink_ops;

#endif
