/*
 * check_cmd.c - `sluice check [FILE|DIR]…`: load, type-check and print each plan.
 *
 * Plans go to stdout, diagnostics to stderr. Exit 0 when there is no error (warnings
 * allowed), 1 on any error, 2 on a usage error. With no path: $SLUICE_QUERIES, else
 * ./queries, as `sluice run` does. Reads only the query files and the secrets they name;
 * opens no socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front.h"

static int usage(FILE *f)
{
    fprintf(f, "usage: sluice check [FILE|DIR]…\n"
               "  Loads the query files (a directory: its *.sql files in lexical order),\n"
               "  checks them and prints each plan. Exit 0 if there is no error, else 1.\n"
               "  Default: $SLUICE_QUERIES, else ./queries.\n");
    return f == stdout ? 0 : 2;
}

static const char *plural(int n)
{
    return n == 1 ? "" : "s";
}

int sl_cmd_check(int argc, char **argv)
{
    const char *dflt[1];
    const char *const *paths = (const char *const *)(argv + 1);
    int npaths = argc - 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return usage(stdout);
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "sluice check: unknown option '%s'\n", argv[i]);
            return usage(stderr);
        }
    }
    if (npaths == 0) {
        const char *env = getenv("SLUICE_QUERIES");
        dflt[0] = env != NULL && env[0] != '\0' ? env : "queries";
        paths = dflt;
        npaths = 1;
    }
    struct sl_diags d = {0};
    struct sl_catalog *cat = NULL;
    int r = sl_front_load(paths, npaths, &cat, &d);
    if (r == 0) {
        sl_catalog_print(cat, stdout);
        if (cat->nsources + cat->nplans > 0) {
            fputc('\n', stdout);
        }
        printf("ok: %d source%s, %d sink%s", cat->nsources, plural(cat->nsources),
               cat->nplans, plural(cat->nplans));
        if (d.warnings > 0) {
            printf(", %d warning%s", d.warnings, plural(d.warnings));
        }
        putchar('\n');
    }
    fflush(stdout);
    sl_diags_print(&d, stderr);
    if (r != 0) {
        fprintf(stderr, "%d error%s", d.errors, plural(d.errors));
        if (d.warnings > 0) {
            fprintf(stderr, ", %d warning%s", d.warnings, plural(d.warnings));
        }
        fputc('\n', stderr);
    }
    sl_catalog_free(cat);
    sl_diags_fini(&d);
    return r == 0 ? 0 : 1;
}
