/*
 * main.c - the `sluice` command: run, check, health, version.
 */
#include <stdio.h>
#include <string.h>

#include "queries/front.h"

static int usage(FILE *f)
{
    fprintf(f, "usage: sluice run [FILE|DIR]…     run the queries\n"
               "       sluice check [FILE|DIR]…   check the queries and print their plans\n"
               "       sluice health [ADDR]       exit 0 if the engine at ADDR is ready\n"
               "       sluice version\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        return usage(stderr);
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("sluice %s\n", SL_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "check") == 0) {
        return sl_cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        return usage(stdout);
    }
    fprintf(stderr, "sluice: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
