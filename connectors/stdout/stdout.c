/*
 * stdout.c - the stdout sink: its option table.
 *
 * Rows go to the process's standard output, one JSON object per line or as a table for
 * people. The runtime is built later in this folder and plugs into .sink.
 */
#include "connectors/stdout/stdout_run.h"
#include "engine/connector.h"

static const struct sl_option_def stdout_sink_options[] = {
    {.name = "format",
     .type = SL_OPT_ENUM,
     .def = "json",
     .choices = "json|table",
     .help = "json writes one object per line; table aligns columns for people."},
    {.name = NULL},
};

const struct sl_connector sl_connector_stdout = {
    .name = "stdout",
    .summary = "Writes rows to standard output.",
    .source_options = NULL,
    .sink_options = stdout_sink_options,
    .sink = &sl_stdout_sink_ops,
};
