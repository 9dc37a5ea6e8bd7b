/* file_run.h - the file source's and sink's runtime ops (file_run.c). */
#ifndef SL_CONN_FILE_H
#define SL_CONN_FILE_H

#include "engine/format.h"
#include "engine/runtime.h"

struct sl_plan;

extern const struct sl_source_ops sl_file_source_ops;
extern const struct sl_sink_ops sl_file_sink_ops;

/* Appends rows as JSON Lines (SELECT order, SQL.md's value formats); shared by the file and
 * stdout sinks. */
void sl_rows_json(struct sl_buf *b, const struct sl_plan *plan, const struct sl_row *rows, int n);

#endif
