/*
 * connectors_doc.c - prints docs/connectors.md, generated from the option tables.
 *
 *   connectors_doc              writes the reference to stdout
 *   connectors_doc --check FILE exits 1 (saying where) if FILE differs from it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/doc.h"

static int check(const char *path)
{
    char *gen = NULL;
    size_t glen = 0;
    FILE *m = open_memstream(&gen, &glen);
    if (m == NULL) {
        perror("open_memstream");
        return 2;
    }
    sl_connectors_doc(m);
    fclose(m);

    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open: the generated reference is missing\n", path);
        free(gen);
        return 1;
    }
    size_t line = 1, i = 0;
    int c;
    int rc = 0;
    while ((c = fgetc(f)) != EOF) {
        if (i >= glen || gen[i] != (char)c) {
            rc = 1;
            break;
        }
        if (c == '\n') {
            line++;
        }
        i++;
    }
    if (rc == 0 && i != glen) {
        rc = 1;
    }
    fclose(f);
    if (rc != 0) {
        fprintf(stderr,
                "%s differs from the option tables at line %zu; regenerate it with\n"
                "  cmake --build build --target connectors-doc\n"
                "and commit it.\n",
                path, line);
    }
    free(gen);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--check") == 0) {
        return check(argv[2]);
    }
    if (argc != 1) {
        fprintf(stderr, "usage: connectors_doc [--check FILE]\n");
        return 2;
    }
    sl_connectors_doc(stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
