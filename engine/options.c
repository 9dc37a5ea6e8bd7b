/* STUB: replaced by the option table parser. */
#include "options.h"

const struct sl_option_def sl_source_common_options[] = {{.name = NULL}};
const struct sl_option_def sl_sink_common_options[] = {{.name = NULL}};
