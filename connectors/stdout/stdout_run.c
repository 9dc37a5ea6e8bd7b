/*
 * stdout_run.c - the stdout sink at run time: JSON Lines (default) or an aligned table for
 * people. Sinks writing to stdout share one lock so that lines never interleave; the lock
 * is taken once per batch, on the sink thread, never per event.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/file/file_run.h"
#include "connectors/stdout/stdout_run.h"
#include "queries/plan.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

struct ssink {
    const struct sl_plan *plan;
    bool table;
    bool header_done;
    int *width;
    struct sl_buf b, cell;
};

static int ssink_open(const struct sl_plan *plan, const struct sl_sink_env *env, void **ret_state,
                      struct sl_err *err)
{
    struct ssink *k = calloc(1, sizeof(*k));
    (void)env;
    if (k == NULL) {
        return sl_err_set(err, -ENOMEM, "out of memory");
    }
    k->plan = plan;
    const char *fmt = sl_options_str(&plan->sink_opts, "format");
    k->table = fmt != NULL && strcmp(fmt, "table") == 0;
    k->width = calloc((size_t)plan->nout + 1, sizeof(*k->width));
    for (int c = 0; c < plan->nout; c++) {
        int w = (int)strlen(plan->out[c].name);
        k->width[c] = w > 12 ? w : 12;
    }
    sl_buf_init(&k->b);
    sl_buf_init(&k->cell);
    *ret_state = k;
    return 0;
}

static void pad_to(struct sl_buf *b, size_t n, int width)
{
    for (int i = (int)n; i < width; i++) {
        sl_buf_putc(b, ' ');
    }
}

static void table_rows(struct ssink *k, const struct sl_row *rows, int n)
{
    const struct sl_plan *p = k->plan;
    if (!k->header_done) {
        sl_buf_appendf(&k->b, "-- %s\n", p->name);
        for (int c = 0; c < p->nout; c++) {
            sl_buf_append(&k->b, p->out[c].name, strlen(p->out[c].name));
            pad_to(&k->b, strlen(p->out[c].name), k->width[c] + 2);
        }
        sl_buf_putc(&k->b, '\n');
        k->header_done = true;
    }
    for (int i = 0; i < n; i++) {
        sl_buf_appendf(&k->b, "%s", "");
        for (int c = 0; c < p->nout; c++) {
            sl_buf_reset(&k->cell);
            sl_format_text(&k->cell, &rows[i].vals[c]);
            if (rows[i].vals[c].null) {
                sl_buf_append(&k->cell, "NULL", 4);
            }
            sl_buf_append(&k->b, k->cell.p, k->cell.len);
            pad_to(&k->b, k->cell.len, k->width[c] + 2);
        }
        sl_buf_putc(&k->b, '\n');
    }
}

static int ssink_write(void *state, const struct sl_row *rows, int n)
{
    struct ssink *k = state;
    sl_buf_reset(&k->b);
    if (k->table) {
        table_rows(k, rows, n);
    } else {
        sl_rows_json(&k->b, k->plan, rows, n);
    }
    pthread_mutex_lock(&out_lock);
    size_t w = fwrite(k->b.p, 1, k->b.len, stdout);
    int r = fflush(stdout);
    pthread_mutex_unlock(&out_lock);
    return w == k->b.len && r == 0 ? 0 : -EIO;
}

static void ssink_close(void *state)
{
    struct ssink *k = state;
    if (k != NULL) {
        sl_buf_fini(&k->b);
        sl_buf_fini(&k->cell);
        free(k->width);
        free(k);
    }
}

const struct sl_sink_ops sl_stdout_sink_ops = {
    .open = ssink_open,
    .write = ssink_write,
    .close = ssink_close,
};
