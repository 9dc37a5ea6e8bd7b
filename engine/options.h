/*
 * options.h - connector option tables: one source of truth for parsing, validation, error
 * messages and the generated options reference (docs/connectors.md).
 *
 * Every connector declares, in its own folder, a table of struct sl_option_def terminated by
 * an entry with name == NULL. Every source also takes sl_source_common_options and every
 * sink sl_sink_common_options. Values are strings in SQL (`key = 'value'`); they are parsed
 * here, once, at load time.
 */
#ifndef SL_OPTIONS_H
#define SL_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

enum sl_opt_type {
    SL_OPT_STRING,
    SL_OPT_INT, /* decimal integer */
    SL_OPT_DOUBLE,
    SL_OPT_BOOL,     /* true/false (also on/off, yes/no, 1/0) */
    SL_OPT_DURATION, /* '500ms' '10s' '5m' '1h' '1d'; stored as ms */
    SL_OPT_SIZE,     /* '512' '64KiB' '1MiB' '1GiB'; stored as bytes */
    SL_OPT_ENUM,     /* one of choices ("a|b|c"), case-insensitive, stored as index */
};

#define SL_OPT_REQUIRED 0x1u /* must be given */
#define SL_OPT_SECRET   0x2u /* never printed: plans, logs, errors show "<secret>" */
#define SL_OPT_PREFIX   0x4u /* name ends in '.', accepts name<anything> (properties.x) */

struct sl_option_def {
    const char *name;
    enum sl_opt_type type;
    unsigned flags;
    const char *def;     /* default as a user would write it; NULL = none (unset) */
    int64_t min, max;    /* INT, DURATION (ms), SIZE (bytes): inclusive; min == max == 0: any */
    const char *choices; /* ENUM: "a|b|c" */
    const char *help;    /* one sentence for docs and error messages */
    /* Docs only: a default computed at run time, described in words ("sluice-<source>");
     * def is then NULL. (Added after the first contract; NULL elsewhere.) */
    const char *doc_default;
};

/* One option as written in a WITH clause (after ${…} substitution). */
struct sl_opt_input {
    const char *name;
    const char *value;
    int line, col; /* of the name, for messages */
};

/* One option after parsing. Options with a default are present even when not given. */
struct sl_opt_value {
    const struct sl_option_def *def;
    char *name; /* as given (differs from def->name for PREFIX options) */
    char *str;  /* the string value (given or default) */
    int64_t i;  /* INT, DURATION ms, SIZE bytes, BOOL 0/1, ENUM index */
    double d;   /* DOUBLE */
    bool given; /* written by the user, not a default */
    int line, col;
    int index;   /* the struct sl_opt_input it came from, -1 for a default: what check
                  * functions pass to report (added after the first contract) */
    bool secret; /* set by the front end: the value came from ${file:…}; print "<secret>"
                  * (added by the front end) */
};

struct sl_options {
    struct sl_opt_value *v;
    int n;
};

/* Called once per problem; index is the struct sl_opt_input at fault, or -1 for the clause
 * as a whole (a missing required option). */
typedef void (*sl_opt_report_fn)(void *ud, int index, const char *msg);

/* Parses given options against the NULL-terminated list of tables (connector's own first,
 * then the common one). Reports every problem (unknown option with a did-you-mean, bad
 * value with the expected form, out of range, missing required, given twice) through report
 * and returns how many there were; on 0 fills *ret (free with sl_options_fini). Also:
 * -ENOMEM. Problems come in input order, then missing options in table order. Names match
 * case-insensitively; an input named "connector" is skipped (the front end's own). ENUM
 * values are stored in the table's spelling ('event' -> "Event"). DOUBLE has no range. */
int sl_options_parse(const struct sl_option_def *const *tables, const char *connector,
                     const struct sl_opt_input *in, int nin, struct sl_options *ret,
                     sl_opt_report_fn report, void *ud);
void sl_options_fini(struct sl_options *o);

/* Lookups by exact name; NULL / the default when absent. */
const struct sl_opt_value *sl_options_get(const struct sl_options *o, const char *name);
const char *sl_options_str(const struct sl_options *o, const char *name);
int64_t sl_options_int(const struct sl_options *o, const char *name, int64_t dflt);

/* Shared option tables. */
extern const struct sl_option_def sl_source_common_options[];
extern const struct sl_option_def sl_sink_common_options[];

/* Unit parsers, shared with the SQL front end (INTERVAL '10s'). Return 0 or -EINVAL/-ERANGE. */
int sl_parse_duration(const char *s, int64_t *ret_ms);
int sl_parse_size(const char *s, int64_t *ret_bytes);

/* Writes an INT, DURATION or SIZE value of type t as a user would write it (DURATION in the
 * largest exact unit, 90000 -> "90s"; SIZE likewise, 1048576 -> "1MiB") into buf. */
void sl_options_fmt(enum sl_opt_type t, int64_t v, char *buf, size_t cap);

/* Edit distance for did-you-mean suggestions (case-insensitive; optimal string alignment:
 * an adjacent transposition costs 1). */
int sl_edit_distance(const char *a, const char *b);

/* Whether the value of option `name` (matched by def) must never be shown: def is SECRET, or
 * def is a PREFIX option whose name carries a credential (properties.sasl.password,
 * properties.ssl.key.password, properties.sasl.oauthbearer.client.secret, ...). */
bool sl_options_is_secret(const struct sl_option_def *def, const char *name);

/* The value of v as plans and messages may show it: "<secret>" for secret options, a URL's
 * password replaced by <secret> (redis://user:<secret>@host), else v->str. Returns buf or a
 * constant string; buf has cap bytes. */
const char *sl_options_display(const struct sl_opt_value *v, char *buf, size_t cap);

#endif
