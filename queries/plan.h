/*
 * plan.h - what the front end hands the engine: a catalog of sources and one plan per sink.
 *
 * A catalog is built once at load (or reload) by sl_front_load (front.h), is immutable
 * afterwards, and is shared read-only by every thread. Everything in it is owned by it and
 * freed by sl_catalog_free.
 *
 * Rows. Expressions read values from rows by slot (expr.h, SL_EXPR_COL):
 *  - An input row of a source has src->ncols declared columns in declaration order,
 *    then SL_PSEUDO_N pseudo-columns at slot src->ncols + SL_PSEUDO_*. WHERE, GROUP BY
 *    keys, aggregate arguments and FILTERs, and the output of per-event queries read it.
 *    _id, _rev and is_final are filled only when a per-event row is emitted, so the front
 *    end allows them only in the SELECT list.
 *  - An aggregate row (windowed queries) has the group key values at slots [0, nkeys), the
 *    aggregate results at [nkeys, nkeys + naggs), then SL_AGGROW_N window columns at
 *    slot nkeys + naggs + SL_AGGROW_*. HAVING and the output of windowed queries read it.
 */
#ifndef SL_PLAN_H
#define SL_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "../engine/agg.h"
#include "../engine/connector.h"
#include "../engine/expr.h"
#include "../engine/options.h"
#include "../engine/path.h"

enum {
    SL_PSEUDO_TOPIC,     /* TEXT: MQTT/Kafka topic, file path */
    SL_PSEUDO_KEY,       /* TEXT: Kafka key */
    SL_PSEUDO_PARTITION, /* BIGINT */
    SL_PSEUDO_OFFSET,    /* BIGINT */
    SL_PSEUDO_ARRIVAL,   /* TIMESTAMP: processing time when received */
    SL_PSEUDO_ID,        /* TEXT: row id (SQL.md, Values in results); SELECT list only */
    SL_PSEUDO_REV,       /* BIGINT; SELECT list only */
    SL_PSEUDO_IS_FINAL,  /* BOOLEAN; SELECT list only */
    SL_PSEUDO_N
};

enum {
    SL_AGGROW_WINDOW_START, /* TIMESTAMP */
    SL_AGGROW_WINDOW_END,   /* TIMESTAMP */
    SL_AGGROW_ID,           /* TEXT */
    SL_AGGROW_REV,          /* BIGINT */
    SL_AGGROW_IS_FINAL,     /* BOOLEAN */
    SL_AGGROW_N
};

struct sl_column {
    char *name;           /* as declared (case kept; compared case-insensitively unless quoted) */
    enum sl_type type;    /* BOOLEAN BIGINT DOUBLE TEXT TIMESTAMP */
    struct sl_path *path; /* where in the JSON object (default: $.<name>) */
    bool not_null;
    bool used; /* read by some query: the decoder skips unused columns */
    int line, col;
};

struct sl_source {
    char *name;
    const struct sl_connector *conn;
    struct sl_options opts; /* connector's and common source options, parsed */
    struct sl_column *cols;
    int ncols;
    int wm_col;          /* index of the WATERMARK column, -1: processing time */
    int64_t wm_delay_ms; /* WATERMARK … - INTERVAL delay */
    int index;           /* position in the catalog */
    char *file;
    int line, col;
};

enum sl_window_kind {
    SL_WINDOW_NONE, /* per-event query */
    SL_WINDOW_TUMBLE,
    SL_WINDOW_HOP,
    SL_WINDOW_SESSION,
};

enum sl_emit {
    SL_EMIT_ON_CLOSE,
    SL_EMIT_EVERY,
};

/* One aggregate call in a query. */
struct sl_plan_agg {
    const struct sl_agg_ops *ops;
    struct sl_agg_sig sig;
    struct sl_expr *arg;    /* over the input row; NULL for COUNT(*) */
    struct sl_expr *filter; /* FILTER (WHERE …) over the input row; NULL if none */
    int state;              /* index into plan->states */
    char *text;             /* as written, for plans */
};

/* One aggregate state in the group's state block (shared by equal aggregates). */
struct sl_plan_state {
    const struct sl_agg_ops *ops;
    const struct sl_agg_sig *sig; /* of the first aggregate using it */
    struct sl_expr *arg;          /* borrowed from that aggregate */
    struct sl_expr *filter;       /* borrowed */
    uint32_t offset;              /* in the state block, 8-aligned */
};

struct sl_out_col {
    char *name; /* alias, else the expression's text */
    enum sl_type type;
    struct sl_expr *expr; /* over the aggregate row (windowed) or input row (per-event) */
};

struct sl_plan {
    char *name; /* the sink's name */
    const struct sl_connector *sink_conn;
    struct sl_options sink_opts;
    struct sl_source *src; /* borrowed from the catalog */

    enum sl_window_kind window;
    int time_slot;           /* input-row slot of the window's time column */
    int64_t size_ms;         /* TUMBLE/HOP size */
    int64_t slide_ms;        /* HOP slide (TUMBLE: == size) */
    int64_t gap_ms;          /* SESSION gap */
    int64_t max_duration_ms; /* SESSION cut (default 1 h) */
    int64_t lateness_ms;     /* ALLOWED LATENESS, 0 if none */
    enum sl_emit emit;
    int64_t emit_every_ms; /* EMIT EVERY */

    struct sl_expr *where; /* over the input row; NULL if none */
    struct sl_expr **keys; /* GROUP BY expressions over the input row */
    char **key_names;      /* their column names in the output (or text) */
    int nkeys;
    struct sl_plan_agg *aggs;
    int naggs;
    struct sl_plan_state *states;
    int nstates;
    uint32_t state_size;    /* bytes of one group's state block */
    struct sl_expr *having; /* over the aggregate row; NULL if none */
    struct sl_out_col *out;
    int nout;

    uint64_t max_groups;   /* sink option */
    uint64_t max_distinct; /* sink option */
    bool uses_arrival;     /* reads _arrival (output not reproducible) */
    bool uses_now;         /* calls NOW() */
    bool uses_id;          /* selects _id (row ids are computed only when read) */

    int index; /* position in the catalog */
    char *file;
    int line, col;
};

struct sl_catalog {
    struct sl_source **sources;
    int nsources;
    struct sl_plan **plans;
    int nplans;
};

void sl_catalog_free(struct sl_catalog *cat);

/* Input-row slot of a pseudo-column; aggregate-row slot of a window column. */
static inline int sl_pseudo_slot(const struct sl_source *src, int pseudo)
{
    return src->ncols + pseudo;
}

static inline int sl_aggrow_slot(const struct sl_plan *plan, int which)
{
    return plan->nkeys + plan->naggs + which;
}

#endif
