/*
 * fuzz_sql.c - libFuzzer target for the SQL front end: any bytes, loaded as one query file.
 *
 * Each input goes through sl_front_load_text (lexer, ${…} substitution, parser, checker,
 * planner, sl_expr_prepare, connector option checks), then the plan or the diagnostics are
 * printed to /dev/null and everything is freed, so ASan sees leaks and UBSan undefined
 * behaviour anywhere on that path.
 *
 * Built with -DSL_FUZZ (clang, -fsanitize=fuzzer) it is a libFuzzer binary:
 *   build-fuzz/fuzz_sql -max_total_time=600 -dict=tests/fuzz/sql.dict build-fuzz/fuzz_sql_corpus \
 *       tests/fuzz/corpus/sql queries/examples tests/golden/check
 * Otherwise main() below replays the files named on the command line (the seed corpus, as a
 * ctest) through the same function.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "queries/front.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (devnull == NULL) {
        devnull = fopen("/dev/null", "w");
        if (devnull == NULL) {
            abort();
        }
    }
    struct sl_diags d = {0};
    struct sl_catalog *cat = NULL;
    int r = sl_front_load_text("fuzz.sql", (const char *)data, size, &cat, &d);
    if (r == 0) {
        if (cat == NULL || d.errors != 0) {
            abort(); /* success means a catalog and no error */
        }
        sl_catalog_print(cat, devnull);
    } else if (cat != NULL || d.errors == 0) {
        abort(); /* failure means no catalog and at least one error */
    }
    sl_diags_print(&d, devnull);
    sl_catalog_free(cat);
    sl_diags_fini(&d);
    return 0;
}

#ifndef SL_FUZZ
/* Replays files through the target: the seed corpus as an ordinary test. */
int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        size_t cap = 1 << 16, len = 0;
        uint8_t *buf = malloc(cap);
        size_t got;
        while (buf != NULL && (got = fread(buf + len, 1, cap - len, f)) > 0) {
            len += got;
            if (len == cap) {
                cap *= 2;
                uint8_t *nb = realloc(buf, cap);
                if (nb == NULL) {
                    free(buf);
                    buf = NULL;
                }
                buf = nb;
            }
        }
        fclose(f);
        if (buf == NULL) {
            return 1;
        }
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        n++;
    }
    printf("fuzz_sql: replayed %d inputs\n", n);
    return 0;
}
#endif
