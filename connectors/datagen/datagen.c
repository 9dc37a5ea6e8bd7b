/*
 * datagen.c - the datagen source: its option table.
 *
 * datagen fills the source's declared columns with plausible values derived from its seed
 * and row number only, so a run (and a replay) is repeatable; it is for demos, tests and
 * benchmarks. The runtime is built later in this folder and plugs into .source.
 */
#include <stdint.h>

#include "connectors/datagen/datagen.h"
#include "engine/connector.h"

static const struct sl_option_def datagen_source_options[] = {
    {.name = "rows_per_second",
     .type = SL_OPT_INT,
     .def = "1000",
     .min = 0,
     .max = INT64_MAX,
     .help = "Rows generated per second; 0 generates as fast as possible."},
    {.name = "rows",
     .type = SL_OPT_INT,
     .min = 0,
     .max = INT64_MAX,
     .doc_default = "unbounded",
     .help = "Rows to generate before the source finishes (a bounded input); unbounded when "
             "not given."},
    {.name = "keys",
     .type = SL_OPT_INT,
     .def = "100",
     .min = 1,
     .max = 100000000,
     .help = "Distinct values of each TEXT column (devices, sites, ...)."},
    {.name = "out_of_order",
     .type = SL_OPT_DURATION,
     .def = "0",
     .min = 0,
     .max = INT64_MAX,
     .help = "Event times are shifted back by up to this much, so events arrive out of "
             "event-time order; '0' keeps them in order."},
    {.name = "seed",
     .type = SL_OPT_INT,
     .def = "0",
     .help = "Seed of the generator; the same seed gives the same rows."},
    {.name = NULL},
};

const struct sl_connector sl_connector_datagen = {
    .name = "datagen",
    .summary = "Generates plausible rows for the declared columns, repeatably from a seed.",
    .source_options = datagen_source_options,
    .sink_options = NULL,
    .source = &sl_datagen_source_ops,
};
