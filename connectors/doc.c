/*
 * doc.c - writes docs/connectors.md from the connectors' option tables, so that the
 * reference can never disagree with what the parser accepts. Cells escape what Markdown
 * tables would misread ('|', and '<' '>' that renderers take for HTML tags).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "connectors/doc.h"
#include "engine/connector.h"

static void put_cell(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '|':
            fputs("\\|", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '\n':
            fputc(' ', f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* A code span in a table cell: only '|' needs escaping. */
static void put_code(FILE *f, const char *s)
{
    fputc('`', f);
    for (; *s != '\0'; s++) {
        if (*s == '|') {
            fputs("\\|", f);
        } else {
            fputc(*s, f);
        }
    }
    fputc('`', f);
}

static const char *type_name(enum sl_opt_type t)
{
    switch (t) {
    case SL_OPT_STRING:
        return "string";
    case SL_OPT_INT:
        return "integer";
    case SL_OPT_DOUBLE:
        return "number";
    case SL_OPT_BOOL:
        return "boolean";
    case SL_OPT_DURATION:
        return "duration";
    case SL_OPT_SIZE:
        return "size";
    case SL_OPT_ENUM:
        return "enum";
    }
    return "?";
}

static void put_range(FILE *f, const struct sl_option_def *d)
{
    char a[64], b[64];
    if (d->type == SL_OPT_ENUM && d->choices != NULL) {
        const char *p = d->choices;
        for (;;) {
            const char *bar = strchr(p, '|');
            size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);
            fprintf(f, "`%.*s`", (int)n, p);
            if (bar == NULL) {
                break;
            }
            fputs(" \\| ", f);
            p = bar + 1;
        }
        return;
    }
    if (d->type == SL_OPT_BOOL) {
        fputs("`true` \\| `false`", f);
        return;
    }
    if ((d->type != SL_OPT_INT && d->type != SL_OPT_DURATION && d->type != SL_OPT_SIZE) ||
        (d->min == 0 && d->max == 0)) {
        fputs("—", f);
        return;
    }
    sl_options_fmt(d->type, d->min, a, sizeof(a));
    if (d->max == INT64_MAX) {
        fprintf(f, "≥ %s", a);
        return;
    }
    sl_options_fmt(d->type, d->max, b, sizeof(b));
    fprintf(f, "%s to %s", a, b);
}

static void put_table(FILE *f, const struct sl_option_def *defs)
{
    fputs("| option | type | default | range / choices | required | description |\n", f);
    fputs("|---|---|---|---|---|---|\n", f);
    for (const struct sl_option_def *d = defs; d->name != NULL; d++) {
        fputs("| `", f);
        fputs(d->name, f);
        if (d->flags & SL_OPT_PREFIX) {
            fputs("<name>", f);
        }
        fprintf(f, "` | %s | ", type_name(d->type));
        if (d->def != NULL) {
            put_code(f, d->def);
        } else if (d->doc_default != NULL) {
            put_cell(f, d->doc_default);
        } else {
            fputs("—", f);
        }
        fputs(" | ", f);
        put_range(f, d);
        fprintf(f, " | %s | ", (d->flags & SL_OPT_REQUIRED) ? "yes" : "");
        put_cell(f, d->help != NULL ? d->help : "");
        if (d->flags & SL_OPT_SECRET) {
            fputs(" Secret: shown as &lt;secret&gt; in plans and messages.", f);
        }
        fputs(" |\n", f);
    }
}

void sl_connectors_doc(FILE *f)
{
    fputs("# Connector options\n\n"
          "<!-- Generated from the option tables by tests/tools/connectors_doc.c; do not edit.\n"
          "     Regenerate with: cmake --build build --target connectors-doc -->\n\n"
          "Options are strings in a `WITH ( option = 'value', … )` clause (SQL.md). Unknown "
          "options,\nwrong types, values out of range and missing required options are errors "
          "at load time.\n\n"
          "- **duration**: a whole number and a unit, `ms`, `s`, `m`, `h` or `d` "
          "(`'500ms'`, `'10s'`,\n  `'5m'`, `'1h'`, `'1d'`), or `'0'`.\n"
          "- **size**: a whole number of bytes, optionally with a unit: `KiB`, `MiB`, `GiB`, "
          "`TiB`\n  (powers of 1024: `'64KiB'`, `'1MiB'`) or `KB`, `MB`, `GB`, `TB` (powers "
          "of 1000).\n"
          "- **boolean**: `true`/`false` (also `on`/`off`, `yes`/`no`, `1`/`0`).\n"
          "- **enum**: one of the choices listed, case-insensitive.\n\n",
          f);
    fputs("Connectors:", f);
    for (int i = 0; sl_connectors[i] != NULL; i++) {
        fprintf(f, "%s [%s](#%s)", i ? "," : "", sl_connectors[i]->name, sl_connectors[i]->name);
    }
    fputs(".\n", f);
    for (int i = 0; sl_connectors[i] != NULL; i++) {
        const struct sl_connector *c = sl_connectors[i];
        fprintf(f, "\n## %s\n\n", c->name);
        put_cell(f, c->summary != NULL ? c->summary : "");
        fputs("\n", f);
        if (c->source_options != NULL) {
            fputs("\n### Source options\n\n", f);
            put_table(f, c->source_options);
            fputs("\nAlso the [options of every source](#options-of-every-source).\n", f);
        }
        if (c->sink_options != NULL) {
            fputs("\n### Sink options\n\n", f);
            put_table(f, c->sink_options);
            fputs("\nAlso the [options of every sink](#options-of-every-sink).\n", f);
        }
    }
    fputs("\n## Options of every source\n\n", f);
    put_table(f, sl_source_common_options);
    fputs("\n## Options of every sink\n\n", f);
    put_table(f, sl_sink_common_options);
}
