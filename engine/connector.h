/*
 * connector.h - the connector interface and registry.
 *
 * A connector is a struct of function pointers plus option tables, defined in its own
 * folder under connectors/ and registered by one line in connectors/registry.c. The engine
 * and the front end know no connector by name.
 *
 * Runtime ops (struct sl_source_ops / struct sl_sink_ops) are declared in engine/runtime.h
 * by the engine; a connector whose runtime is not built yet leaves them NULL and
 * `sluice run` refuses it with a clear message, while `sluice check` accepts it.
 */
#ifndef SL_CONNECTOR_H
#define SL_CONNECTOR_H

#include "options.h"

struct sl_source;
struct sl_plan;
struct sl_source_ops;
struct sl_sink_ops;

struct sl_connector {
    const char *name;    /* as in `connector = '…'` */
    const char *summary; /* one line for docs */
    /* Option tables, NULL-terminated; NULL if the connector is not a source / not a sink. */
    const struct sl_option_def *source_options;
    const struct sl_option_def *sink_options;
    /* Cross-option checks at load (url scheme, qos 2 refused, zset needs score/member, key
     * template columns exist). Report problems through report (index as in
     * sl_options_parse, -1 for the clause); may also warn by prefixing "warning: ". Return
     * the number of errors. NULL: nothing to check. */
    int (*check_source)(const struct sl_source *src, sl_opt_report_fn report, void *ud);
    int (*check_sink)(const struct sl_plan *plan, sl_opt_report_fn report, void *ud);
    /* Runtime; NULL until implemented. */
    const struct sl_source_ops *source;
    const struct sl_sink_ops *sink;
};

/* NULL-terminated list of every connector (connectors/registry.c). */
extern const struct sl_connector *const sl_connectors[];

/* Finds a connector by name (case-insensitive); NULL if none. */
const struct sl_connector *sl_connector_find(const char *name);

#endif
