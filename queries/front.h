/*
 * front.h - the SQL front end: query files in, a checked catalog of plans out.
 *
 * sl_front_load reads files and directories (a directory's *.sql files in lexical order, as
 * if they were one file), substitutes ${VAR}, ${VAR:-default} and ${file:/path}, parses,
 * resolves names, type-checks and plans. It opens no socket. Problems are collected as
 * diagnostics, several per file where the parser can recover.
 *
 * Called from the main thread at start-up and on SIGHUP; not thread-safe.
 */
#ifndef SL_FRONT_H
#define SL_FRONT_H

#include <stdio.h>

#include "plan.h"

enum sl_diag_level {
    SL_DIAG_ERROR,
    SL_DIAG_WARNING,
};

struct sl_diag {
    enum sl_diag_level level;
    char *file;     /* NULL when not tied to a file */
    int line, col;  /* 1-based; 0 when unknown */
    char *msg;      /* what is wrong and, where possible, the fix */
    char *src_line; /* the line of the file, for the caret display; NULL if unknown */
    int src_col;    /* column of src_line's first code point: 1, or more when a line longer
                     * than 160 code points was cut to a window around col (src_line then
                     * begins and/or ends with "…"); 0 is taken as 1 */
};

struct sl_diags {
    struct sl_diag *v;
    int n, cap;
    int errors, warnings;
};

/* Prints every diagnostic, gcc style:
 *   file:line:col: error: message
 *       the source line
 *           ^
 */
void sl_diags_print(const struct sl_diags *d, FILE *f);
void sl_diags_fini(struct sl_diags *d);

/* Loads paths (files or directories). Returns 0 and *ret when there was no error (warnings
 * may be present in d), or a negative code with d->errors > 0. */
int sl_front_load(const char *const *paths, int npaths, struct sl_catalog **ret,
                  struct sl_diags *d);

/* Loads one in-memory text as if it were the file `name` (tests, fuzzing). */
int sl_front_load_text(const char *name, const char *text, size_t len, struct sl_catalog **ret,
                       struct sl_diags *d);

/* Prints each plan for `sluice check`: source, window, group key, aggregate states, output
 * columns with types, sink. Secret option values are printed as <secret>. */
void sl_catalog_print(const struct sl_catalog *cat, FILE *f);

/* `sluice check [FILE|DIR]…`: returns the process exit code (0 ok, 1 errors). */
int sl_cmd_check(int argc, char **argv);

#endif
