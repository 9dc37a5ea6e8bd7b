/*
 * engine_harness.h - runs a query end to end for engine tests: writes the input to a file,
 * loads `query` (with ${IN} and ${OUT} naming the input and the sink's file), runs the engine
 * over the bounded input at `workers` shards, and returns the sink file's content.
 *
 * The including test defines `static char dir[]` (a mkdtemp template) before including this.
 */
#ifndef SL_TEST_ENGINE_HARNESS_H
#define SL_TEST_ENGINE_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "queries/front.h"

/* Returns the sink file's content (malloc'd; "" if the sink wrote nothing). */
static char *run_case(const char *input, const char *query, int workers)
{
    char in[256], out[256];
    snprintf(in, sizeof(in), "%s/in.jsonl", dir);
    snprintf(out, sizeof(out), "%s/out.jsonl", dir);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    fputs(input, f);
    fclose(f);
    unlink(out);
    setenv("IN", in, 1);
    setenv("OUT", out, 1);

    struct sl_diags d = {0};
    struct sl_catalog *cat = NULL;
    int r = sl_front_load_text("case.sql", query, strlen(query), &cat, &d);
    if (r < 0) {
        sl_diags_print(&d, stderr);
    }
    sl_diags_fini(&d);
    assert_int_equal(r, 0);
    struct sl_engine_opts eo = {.workers = workers, .shutdown_timeout_ms = 5000, .http = "off"};
    struct sl_engine *eng = NULL;
    struct sl_err err = {{0}};
    r = sl_engine_new(cat, &eo, &eng, &err);
    if (r < 0) {
        fprintf(stderr, "%s\n", err.msg);
    }
    assert_int_equal(r, 0);
    assert_int_equal(sl_engine_run(eng), 0);
    sl_engine_free(eng);
    sl_catalog_free(cat);

    f = fopen(out, "r");
    if (f == NULL) {
        return strdup("");
    }
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

#endif
