/*
 * fuzz_options.c - libFuzzer target for the option parser, every connector's load-time
 * checks, key templates and the unit parsers: none may crash, leak or read out of bounds
 * on any input, and every message must be one line without a secret value.
 *
 * Input: byte 0 picks the connector and whether it is a source or a sink; the rest is
 * lines "name=value". The whole input is also parsed as a key template and as a duration
 * and a size. Built with -DSL_FUZZ as a libFuzzer target; otherwise a replay driver that
 * runs the files named on its command line (the seed corpus, as a unit test).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/connector.h"
#include "engine/options.h"
#include "engine/template.h"
#include "queries/plan.h"

#define SECRET "s3cr3t-value"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ud: whether the secret text may be echoed: it is in an option's name, or in the value of
 * an option that is not secret (both are shown in messages; secret values never are). */
static void check_msg(void *ud, int index, const char *msg)
{
    bool secret_in_name = ud != NULL && *(bool *)ud;
    (void)index;
    if (strchr(msg, '\n') != NULL || (!secret_in_name && strstr(msg, SECRET) != NULL)) {
        abort();
    }
}

static struct sl_out_col outs[] = {
    {.name = "site", .type = SL_TYPE_TEXT},
    {.name = "device", .type = SL_TYPE_TEXT},
    {.name = "avg_temp", .type = SL_TYPE_DOUBLE},
};
static char *keys[] = {"site", "device"};

/* Whether option name of c is secret (a def by that name or prefix says so). */
static bool is_secret(const struct sl_connector *c, bool sink, const char *name)
{
    const struct sl_option_def *tables[] = {sink ? c->sink_options : c->source_options,
                                            sink ? sl_sink_common_options
                                                 : sl_source_common_options};
    for (int t = 0; t < 2; t++) {
        for (const struct sl_option_def *d = tables[t]; d != NULL && d->name != NULL; d++) {
            size_t n = strlen(d->name);
            bool match = (d->flags & SL_OPT_PREFIX) ? strncasecmp(name, d->name, n) == 0
                                                    : strcasecmp(name, d->name) == 0;
            if (match && sl_options_is_secret(d, name)) {
                return true;
            }
        }
    }
    return false;
}

static void run_options(const struct sl_connector *c, bool sink, char *text)
{
    struct sl_opt_input in[32];
    int nin = 0;
    bool secret_in_name = false;
    for (char *line = strtok(text, "\n"); line != NULL && nin < 32; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            continue;
        }
        *eq = '\0';
        in[nin] = (struct sl_opt_input){line, eq + 1, nin + 1, 1};
        secret_in_name = secret_in_name || strstr(line, SECRET) != NULL ||
                         (strstr(eq + 1, SECRET) != NULL && !is_secret(c, sink, line));
        nin++;
    }
    const struct sl_option_def *own = sink ? c->sink_options : c->source_options;
    const struct sl_option_def *const tables[] = {
        own, sink ? sl_sink_common_options : sl_source_common_options, NULL};
    struct sl_options o = {0};
    if (sl_options_parse(tables, c->name, in, nin, &o, check_msg, &secret_in_name) != 0) {
        return;
    }
    char buf[64];
    for (int i = 0; i < o.n; i++) {
        sl_options_display(&o.v[i], buf, sizeof(buf));
    }
    if (sink) {
        struct sl_plan p = {.name = "s",
                            .window = nin % 2 ? SL_WINDOW_TUMBLE : SL_WINDOW_NONE,
                            .key_names = keys,
                            .nkeys = nin % 2 ? 2 : 0,
                            .out = outs,
                            .nout = 3,
                            .sink_opts = o};
        if (c->check_sink != NULL) {
            c->check_sink(&p, check_msg, &secret_in_name);
        }
    } else {
        struct sl_source src = {.name = "src", .conn = c, .opts = o};
        if (c->check_source != NULL) {
            c->check_source(&src, check_msg, &secret_in_name);
        }
    }
    sl_options_fini(&o);
}

static void run_template(const char *text)
{
    struct sl_template t;
    struct sl_err err;
    if (sl_template_parse(text, &t, &err) != 0) {
        return;
    }
    struct sl_plan p = {.name = "s", .window = SL_WINDOW_HOP, .out = outs, .nout = 3};
    int bad;
    sl_template_bind(&t, &p, &bad);
    struct sl_tmpl_piece pieces[64];
    for (int i = 0; i < 64; i++) {
        pieces[i] = (struct sl_tmpl_piece){"v", 1};
    }
    if (t.nph <= 64) {
        char out[256];
        int n = sl_template_render(&t, pieces, out, sizeof(out));
        if (n >= 0 && (size_t)n != strlen(out)) {
            abort();
        }
    }
    sl_template_fini(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 4096) {
        return 0;
    }
    int nconn = 0;
    while (sl_connectors[nconn] != NULL) {
        nconn++;
    }
    const struct sl_connector *c = sl_connectors[(data[0] >> 1) % nconn];
    bool sink = (data[0] & 1) != 0;
    if ((sink ? c->sink_options : c->source_options) == NULL) {
        sink = !sink;
    }
    char *text = malloc(size);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    int64_t v;
    sl_parse_duration(text, &v);
    sl_parse_size(text, &v);
    sl_edit_distance(text, "receive_maximum");
    run_template(text);
    run_options(c, sink, text); /* strtok: last, it cuts text */
    free(text);
    return 0;
}

#ifndef SL_FUZZ
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        static uint8_t buf[4097];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("replayed %d inputs\n", argc - 1);
    return 0;
}
#endif
