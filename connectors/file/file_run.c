/*
 * file_run.c - the file source and sink at run time.
 *
 * Source: reads a JSON Lines file in large blocks and hands each line to the engine; the
 * line's 0-based number is its offset, the path its _topic, partition 0. Blank lines are
 * skipped (not events); a line longer than max_message_bytes is handed over cut at the
 * limit + 1 byte so the decoder rejects it as too_large, and the rest of it is skipped.
 * Without follow the source is bounded and ends at end of file; with follow it waits for
 * the file to grow: in poll() on an inotify watch of the file (IN_MODIFY), so that a line is
 * read as soon as it is written, or by sleeping 50 ms at a time where inotify is not to be
 * had (no instance or watch left). `rate` paces lines per second.
 *
 * Sink: appends one JSON object per row and flushes after every batch.
 *
 * Source thread / sink thread only, except open/close.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "connectors/file/file_run.h"
#include "engine/format.h"
#include "queries/plan.h"

struct fsrc {
    const struct sl_source *src;
    int fd;
    int ino; /* inotify instance watching the file (follow), or -1 */
    bool follow;
    int64_t rate;
    size_t max_msg;
    char *buf;
    size_t cap, len, off;
    bool eof;
    bool skipping; /* inside an oversized line */
    int64_t line;
    int64_t start_mono;
    const char *path;
};

static int fsrc_open(const struct sl_source *src, void **ret_state, int *ret_partitions,
                     struct sl_err *err)
{
    struct fsrc *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return sl_err_set(err, -ENOMEM, "out of memory");
    }
    f->src = src;
    f->path = sl_options_str(&src->opts, "path");
    f->follow = sl_options_int(&src->opts, "follow", 0) != 0;
    f->rate = sl_options_int(&src->opts, "rate", 0);
    f->max_msg = (size_t)sl_options_int(&src->opts, "max_message_bytes", 1 << 20);
    f->cap = f->max_msg + 2 + (1 << 20);
    f->buf = malloc(f->cap);
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (f->buf == NULL || f->fd < 0) {
        int e = errno;
        free(f->buf);
        if (f->fd >= 0) {
            close(f->fd);
        }
        free(f);
        return sl_err_set(err, -e, "source %s: cannot open %s: %s", src->name,
                          sl_options_str(&src->opts, "path"), strerror(e));
    }
    f->ino = -1;
    if (f->follow) {
        f->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (f->ino >= 0 && inotify_add_watch(f->ino, f->path, IN_MODIFY) < 0) {
            close(f->ino);
            f->ino = -1;
        }
    }
    *ret_state = f;
    *ret_partitions = 1;
    return 0;
}

/* Follow at end of file: waits up to timeout_ms for the file to be written. Every write
 * after the read that found the end queues an event, and the events are drained only after
 * the wait, so none is missed; one drained early costs an extra read, not a wakeup. */
static void wait_growth(struct fsrc *f, int timeout_ms)
{
    if (f->ino < 0) {
        struct timespec ts = {.tv_nsec = (timeout_ms < 50 ? timeout_ms : 50) * 1000000L};
        nanosleep(&ts, NULL);
        return;
    }
    struct pollfd pf = {.fd = f->ino, .events = POLLIN};
    if (poll(&pf, 1, timeout_ms) > 0) {
        char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        while (read(f->ino, ev, sizeof(ev)) > 0) {
        }
    }
}

static void deliver_line(struct fsrc *f, struct sl_src_io *io, const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == '\r')) {
        n--;
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    if (i < n) {
        struct sl_msg_meta m = {.topic = f->path,
                                .topic_len = (uint32_t)strlen(f->path),
                                .partition = 0,
                                .offset = f->line};
        sl_src_io_json(io, p, n, &m);
    }
    f->line++;
}

static int fsrc_poll(void *state, struct sl_src_io *io, int timeout_ms)
{
    struct fsrc *f = state;
    int64_t budget = 4096;
    if (f->rate > 0) {
        int64_t now = sl_mono_ms();
        if (f->start_mono == 0) {
            f->start_mono = now;
        }
        budget = (now - f->start_mono) * f->rate / 1000 + 1 - f->line;
        if (budget <= 0) {
            struct timespec ts = {.tv_nsec = 1000000L};
            nanosleep(&ts, NULL);
            return SL_POLL_IDLE;
        }
    }
    int done = 0;
    while (done < budget && !sl_src_io_stopping(io)) {
        char *nl = f->off < f->len ? memchr(f->buf + f->off, '\n', f->len - f->off) : NULL;
        if (nl != NULL) {
            size_t n = (size_t)(nl - (f->buf + f->off));
            if (f->skipping) {
                f->skipping = false;
                f->line++;
            } else {
                deliver_line(f, io, f->buf + f->off, n);
            }
            f->off += n + 1;
            done++;
            continue;
        }
        /* No full line buffered: an oversized line is cut here, else read more. */
        size_t pending = f->len - f->off;
        if (!f->skipping && pending > f->max_msg) {
            struct sl_msg_meta m = {.topic = f->path,
                                    .topic_len = (uint32_t)strlen(f->path),
                                    .partition = 0,
                                    .offset = f->line};
            sl_src_io_json(io, f->buf + f->off, f->max_msg + 1, &m);
            f->skipping = true;
            f->off = f->len;
            pending = 0;
        } else if (f->skipping) {
            f->off = f->len;
            pending = 0;
        }
        memmove(f->buf, f->buf + f->off, pending);
        f->len = pending;
        f->off = 0;
        ssize_t r = read(f->fd, f->buf + f->len, f->cap - f->len);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (r == 0) {
            if (f->follow) {
                if (done > 0) {
                    return SL_POLL_MORE; /* publish what was read before waiting */
                }
                wait_growth(f, timeout_ms);
                return SL_POLL_IDLE;
            }
            /* A last line without a newline is still a line. */
            if (f->len > 0 && !f->skipping) {
                deliver_line(f, io, f->buf, f->len);
            }
            f->len = 0;
            return SL_POLL_END;
        }
        f->len += (size_t)r;
    }
    return SL_POLL_MORE;
}

static bool fsrc_bounded(void *state)
{
    return !((struct fsrc *)state)->follow;
}

static void fsrc_close(void *state)
{
    struct fsrc *f = state;
    if (f != NULL) {
        close(f->fd);
        if (f->ino >= 0) {
            close(f->ino);
        }
        free(f->buf);
        free(f);
    }
}

const struct sl_source_ops sl_file_source_ops = {
    .open = fsrc_open,
    .poll = fsrc_poll,
    .bounded = fsrc_bounded,
    .close = fsrc_close,
    .replay = true,
};

/* ---- sink ---- */

struct fsink {
    const struct sl_plan *plan;
    FILE *f;
    struct sl_buf b;
};

static int fsink_open(const struct sl_plan *plan, const struct sl_sink_env *env, void **ret_state,
                      struct sl_err *err)
{
    struct fsink *k = calloc(1, sizeof(*k));
    (void)env;
    const char *path = sl_options_str(&plan->sink_opts, "path");
    if (k == NULL) {
        return sl_err_set(err, -ENOMEM, "out of memory");
    }
    k->plan = plan;
    k->f = fopen(path, "a");
    if (k->f == NULL) {
        int e = errno;
        free(k);
        return sl_err_set(err, -e, "sink %s: cannot open %s: %s", plan->name, path, strerror(e));
    }
    sl_buf_init(&k->b);
    *ret_state = k;
    return 0;
}

void sl_rows_json(struct sl_buf *b, const struct sl_plan *plan, const struct sl_row *rows, int n)
{
    /* Each column's [,]"name": is escaped once per batch (a firing can write a million rows
     * at once), then copied per row. */
    struct sl_buf names;
    size_t *off = n > 1 ? malloc(((size_t)plan->nout + 1) * sizeof(*off)) : NULL;
    sl_buf_init(&names);
    int r = off != NULL ? 0 : -ENOMEM;
    for (int c = 0; c < plan->nout && r == 0; c++) {
        off[c] = names.len;
        if (c > 0) {
            r = sl_buf_putc(&names, ',');
        }
        if (r == 0) {
            r = sl_format_json_str(&names, plan->out[c].name, strlen(plan->out[c].name));
        }
        if (r == 0) {
            r = sl_buf_putc(&names, ':');
        }
    }
    if (r == 0) {
        off[plan->nout] = names.len;
        for (int i = 0; i < n; i++) {
            sl_buf_putc(b, '{');
            for (int c = 0; c < plan->nout; c++) {
                sl_buf_append(b, names.p + off[c], off[c + 1] - off[c]);
                sl_format_json(b, &rows[i].vals[c]);
            }
            sl_buf_append(b, "}\n", 2);
        }
        n = 0;
    }
    free(off);
    sl_buf_fini(&names);
    for (int i = 0; i < n; i++) {
        sl_buf_putc(b, '{');
        for (int c = 0; c < plan->nout; c++) {
            if (c > 0) {
                sl_buf_putc(b, ',');
            }
            sl_format_json_str(b, plan->out[c].name, strlen(plan->out[c].name));
            sl_buf_putc(b, ':');
            sl_format_json(b, &rows[i].vals[c]);
        }
        sl_buf_append(b, "}\n", 2);
    }
}

static int fsink_write(void *state, const struct sl_row *rows, int n)
{
    struct fsink *k = state;
    sl_buf_reset(&k->b);
    sl_rows_json(&k->b, k->plan, rows, n);
    if (fwrite(k->b.p, 1, k->b.len, k->f) != k->b.len || fflush(k->f) != 0) {
        clearerr(k->f);
        return -EIO;
    }
    return 0;
}

static void fsink_close(void *state)
{
    struct fsink *k = state;
    if (k != NULL) {
        fclose(k->f);
        sl_buf_fini(&k->b);
        free(k);
    }
}

const struct sl_sink_ops sl_file_sink_ops = {
    .open = fsink_open,
    .write = fsink_write,
    .close = fsink_close,
};
