/*
 * datagen_run.c - the datagen source at run time.
 *
 * Row n (0-based) is a pure function of (seed, n): event time = 2024-01-01T00:00:00Z +
 * n * 1000 / rows_per_second ms (1 ms per row when rows_per_second is 0), shifted back by
 * up to out_of_order; the first TEXT column takes `keys` distinct values ("device-17"),
 * other TEXT columns 4 ("site-2"); numbers are uniform in plausible ranges chosen by the
 * column's name (temp*, humid*), else [0, 100). So two runs, or a replay, give the same
 * rows. rows_per_second paces generation against the wall clock; the times in the rows do
 * not depend on it. Source thread only, except open/close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "connectors/datagen/datagen.h"
#include "engine/format.h"
#include "engine/keys.h"
#include "queries/plan.h"

#define BASE_MS INT64_C(1704067200000) /* 2024-01-01T00:00:00Z */
#define BATCH   1024

enum { K_OTHER, K_TEMP, K_HUMID };

struct datagen {
    const struct sl_source *src;
    int64_t rps, rows, keys, ooo, seed;
    bool bounded;
    int64_t n; /* next row */
    int64_t start_mono;
    struct sl_value *row;
    char *text;     /* per-column text buffers, 64 bytes each, starting "<name>-" */
    uint8_t *kind;  /* per column: K_TEMP, K_HUMID or K_OTHER (from its name, at open) */
    uint32_t *plen; /* per TEXT column: length of its "<name>-" prefix */
    char topic[128];
    uint32_t topic_len;
};

static uint64_t rnd(const struct datagen *g, int64_t n, int col)
{
    return sl_hash_mix((uint64_t)g->seed * 0x9e3779b97f4a7c15ULL ^
                       (uint64_t)n * 0xbf58476d1ce4e5b9ULL ^
                       (uint64_t)(col + 1) * 0x94d049bb133111ebULL);
}

static double unit(uint64_t h)
{
    return (double)(h >> 11) / 9007199254740992.0;
}

static double round2(double x)
{
    return (double)(int64_t)(x * 100.0 + (x >= 0 ? 0.5 : -0.5)) / 100.0;
}

static int datagen_open(const struct sl_source *src, void **ret_state, int *ret_partitions,
                        struct sl_err *err)
{
    struct datagen *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        return sl_err_set(err, -ENOMEM, "out of memory");
    }
    g->src = src;
    g->rps = sl_options_int(&src->opts, "rows_per_second", 1000);
    g->keys = sl_options_int(&src->opts, "keys", 100);
    g->ooo = sl_options_int(&src->opts, "out_of_order", 0);
    g->seed = sl_options_int(&src->opts, "seed", 0);
    const struct sl_opt_value *rows = sl_options_get(&src->opts, "rows");
    g->bounded = rows != NULL && rows->given;
    g->rows = g->bounded ? rows->i : INT64_MAX;
    g->row = calloc((size_t)src->ncols + 1, sizeof(*g->row));
    g->text = calloc((size_t)src->ncols + 1, 64);
    g->kind = calloc((size_t)src->ncols + 1, sizeof(*g->kind));
    g->plen = calloc((size_t)src->ncols + 1, sizeof(*g->plen));
    if (g->row == NULL || g->text == NULL || g->kind == NULL || g->plen == NULL) {
        free(g->row);
        free(g->text);
        free(g->kind);
        free(g->plen);
        free(g);
        return sl_err_set(err, -ENOMEM, "out of memory");
    }
    /* Per row, only the key's digits are written after the fixed "<name>-" (the name cut
     * to 40 bytes): no printf per row, the source thread being the pipeline's longest. */
    for (int c = 0; c < src->ncols; c++) {
        const char *name = src->cols[c].name;
        size_t n = strnlen(name, 40);
        memcpy(g->text + (size_t)c * 64, name, n);
        g->text[(size_t)c * 64 + n] = '-';
        g->plen[c] = (uint32_t)n + 1;
        g->kind[c] = strncasecmp(name, "temp", 4) == 0    ? K_TEMP
                     : strncasecmp(name, "humid", 5) == 0 ? K_HUMID
                                                          : K_OTHER;
    }
    g->topic_len = (uint32_t)snprintf(g->topic, sizeof(g->topic), "datagen/%s", src->name);
    if (g->topic_len >= sizeof(g->topic)) {
        g->topic_len = sizeof(g->topic) - 1;
    }
    *ret_state = g;
    *ret_partitions = 1;
    return 0;
}

static void make_row(struct datagen *g, int64_t n)
{
    const struct sl_source *src = g->src;
    int64_t ts = g->rps > 0 ? BASE_MS + n * 1000 / g->rps : BASE_MS + n;
    if (g->ooo > 0) {
        ts -= (int64_t)(rnd(g, n, -1) % (uint64_t)(g->ooo + 1));
    }
    int64_t key = (int64_t)(rnd(g, n, -2) % (uint64_t)g->keys);
    int ntext = 0;
    for (int c = 0; c < src->ncols; c++) {
        const struct sl_column *col = &src->cols[c];
        uint64_t h = rnd(g, n, c);
        struct sl_value *v = &g->row[c];
        switch (col->type) {
        case SL_TYPE_TIMESTAMP:
            *v = sl_value_ts(ts);
            break;
        case SL_TYPE_TEXT: {
            char *buf = g->text + (size_t)c * 64;
            int64_t k = ntext++ == 0 ? key : key % 4;
            size_t len = g->plen[c] + sl_format_int(k, buf + g->plen[c]);
            *v = sl_value_text(buf, (uint32_t)len);
            break;
        }
        case SL_TYPE_DOUBLE: {
            double x;
            if (g->kind[c] == K_TEMP) {
                x = 15.0 + (double)(key % 20) + 10.0 * unit(h);
            } else if (g->kind[c] == K_HUMID) {
                x = 30.0 + 50.0 * unit(h);
            } else {
                x = 100.0 * unit(h);
            }
            *v = sl_value_double(round2(x));
            break;
        }
        case SL_TYPE_BIGINT:
            *v = sl_value_bigint((int64_t)(h % 1000));
            break;
        case SL_TYPE_BOOLEAN:
            *v = sl_value_bool((h & 1) != 0);
            break;
        default:
            *v = sl_value_null((enum sl_type)col->type);
            break;
        }
    }
}

static int datagen_poll(void *state, struct sl_src_io *io, int timeout_ms)
{
    struct datagen *g = state;
    if (g->n >= g->rows) {
        return SL_POLL_END;
    }
    int64_t now = sl_mono_ms();
    if (g->start_mono == 0) {
        g->start_mono = now;
    }
    int64_t due = BATCH;
    if (g->rps > 0) {
        due = (now - g->start_mono) * g->rps / 1000 + 1 - g->n;
        if (due <= 0) {
            /* Sleep until the next row is due (a source thread may sleep; it holds nothing). */
            int64_t next_ms = (g->n * 1000) / g->rps + g->start_mono - now;
            if (next_ms > timeout_ms) {
                next_ms = timeout_ms;
            }
            if (next_ms < 1) {
                next_ms = 1;
            }
            struct timespec ts = {.tv_sec = next_ms / 1000, .tv_nsec = (next_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            return SL_POLL_IDLE;
        }
        if (due > BATCH) {
            due = BATCH;
        }
    }
    for (int64_t i = 0; i < due && g->n < g->rows && !sl_src_io_stopping(io); i++) {
        struct sl_msg_meta m = {
            .topic = g->topic, .topic_len = g->topic_len, .partition = 0, .offset = g->n};
        make_row(g, g->n);
        sl_src_io_row(io, g->row, &m);
        g->n++;
    }
    return g->n >= g->rows ? SL_POLL_END : SL_POLL_MORE;
}

static bool datagen_bounded(void *state)
{
    return ((struct datagen *)state)->bounded;
}

static void datagen_close(void *state)
{
    struct datagen *g = state;
    if (g != NULL) {
        free(g->row);
        free(g->text);
        free(g->kind);
        free(g->plen);
        free(g);
    }
}

const struct sl_source_ops sl_datagen_source_ops = {
    .open = datagen_open,
    .poll = datagen_poll,
    .bounded = datagen_bounded,
    .close = datagen_close,
    .replay = true,
};
