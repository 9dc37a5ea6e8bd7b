/* stdout_run.h - the stdout sink's runtime ops (stdout_run.c). */
#ifndef SL_CONN_STDOUT_H
#define SL_CONN_STDOUT_H

#include "engine/runtime.h"

extern const struct sl_sink_ops sl_stdout_sink_ops;

#endif
