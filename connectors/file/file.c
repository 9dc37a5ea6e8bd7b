/*
 * file.c - the file source and sink: their option tables and load-time checks.
 *
 * The source replays a JSON Lines file (deterministic; finite unless follow is set); the
 * sink appends JSON Lines, flushed per batch. The runtimes are built later in this folder
 * and plug into .source and .sink.
 */
#include <stdint.h>

#include "connectors/conn_util.h"
#include "connectors/file/file_run.h"
#include "queries/plan.h"

static const struct sl_option_def file_source_options[] = {
    {.name = "path",
     .type = SL_OPT_STRING,
     .flags = SL_OPT_REQUIRED,
     .help = "Path of a JSON Lines file, one event per line."},
    {.name = "follow",
     .type = SL_OPT_BOOL,
     .def = "false",
     .help = "Keep reading as the file grows, like tail -f (woken by inotify as lines are "
             "appended); the source then never finishes."},
    {.name = "rate",
     .type = SL_OPT_INT,
     .def = "0",
     .min = 0,
     .max = INT64_MAX,
     .help = "Events read per second; 0 reads as fast as possible."},
    {.name = NULL},
};

static const struct sl_option_def file_sink_options[] = {
    {.name = "path",
     .type = SL_OPT_STRING,
     .flags = SL_OPT_REQUIRED,
     .help = "Path of the JSON Lines file that rows are appended to, flushed per batch."},
    {.name = NULL},
};

static int check_path(const struct sl_options *o, sl_opt_report_fn report, void *ud)
{
    const char *path = sl_options_str(o, "path");
    if (path != NULL && *path == '\0') {
        sl__conn_report(report, ud, o, "path", "option 'path' must not be empty");
        return 1;
    }
    return 0;
}

static int file_check_source(const struct sl_source *src, sl_opt_report_fn report, void *ud)
{
    return check_path(&src->opts, report, ud);
}

static int file_check_sink(const struct sl_plan *plan, sl_opt_report_fn report, void *ud)
{
    return check_path(&plan->sink_opts, report, ud);
}

const struct sl_connector sl_connector_file = {
    .name = "file",
    .summary = "Reads or appends JSON Lines files: replays recorded events, records results.",
    .source_options = file_source_options,
    .sink_options = file_sink_options,
    .check_source = file_check_source,
    .source = &sl_file_source_ops,
    .sink = &sl_file_sink_ops,
    .check_sink = file_check_sink,
};
