/*
 * engine.c - building the runtime from a catalog, running it, and stopping it.
 *
 * Start order: sinks, then shards, then sources, so that every consumer runs before its
 * producers. Creation order is the reverse need: sources own the waiters that shards' and
 * per-event sinks' input rings wake, and shards own those of windowed sinks' inputs.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP are blocked in every thread and taken by the main
 * thread with sigtimedwait, so no handler runs in the middle of the hot path. The main thread
 * sleeps in poll on a signalfd (a signal is pending) and an eventfd (a sink thread ended), so
 * a bounded job (file, datagen) exits as soon as its last sink is done, not at the next tick.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "engine.h"
#include "http.h"
#include "log.h"
#include "memlimit.h"
#include "progress.h"

static double read_ctr(void *ud)
{
    return (double)sl_ctr_get(ud);
}

int sl__metric_ctr(struct sl_engine *eng, const char *name, const char *help,
                   const struct sl_label *labels, size_t nlabels, sl_ctr *c, struct sl_err *err)
{
    return sl_metrics_counter_fn_register(eng->metrics, name, help, labels, nlabels, read_ctr,
                                          (void *)c, err);
}

/* Refuses, with a message, what `sluice check` accepts but this build cannot run yet. */
static int check_runnable(const struct sl_catalog *cat, struct sl_err *err)
{
    for (int i = 0; i < cat->nplans; i++) {
        const struct sl_plan *p = cat->plans[i];
        if (p->sink_conn->sink == NULL) {
            return sl_err_set(err, -ENOTSUP,
                              "sink %s: the %s connector is not available in "
                              "this version of sluice (sluice check accepts it)",
                              p->name, p->sink_conn->name);
        }
        if (p->src->conn->source == NULL) {
            return sl_err_set(err, -ENOTSUP,
                              "source %s: the %s connector is not available "
                              "in this version of sluice (sluice check accepts it)",
                              p->src->name, p->src->conn->name);
        }
        if (p->nstates > 64) {
            return sl_err_set(err, -E2BIG,
                              "sink %s: more than 64 distinct aggregates in one "
                              "query; split it into several sinks",
                              p->name);
        }
        for (int j = 0; j < p->naggs; j++) {
            const struct sl_agg_ops *ops = p->aggs[j].ops;
            if (ops->update == NULL || ops->final == NULL || ops->merge == NULL) {
                return sl_err_set(err, -ENOTSUP,
                                  "sink %s: aggregate %s is not available in "
                                  "this version of sluice",
                                  p->name, ops->name);
            }
        }
    }
    return 0;
}

int sl_engine_new(const struct sl_catalog *cat, const struct sl_engine_opts *opts,
                  struct sl_engine **ret, struct sl_err *err)
{
    struct sl_engine *eng = sl_xcalloc(1, sizeof(*eng));
    eng->done_fd = -1;
    int r = check_runnable(cat, err);
    if (r < 0) {
        free(eng);
        return r;
    }
    eng->cat = cat;
    eng->opts = *opts;
    r = sl_metrics_new(&eng->metrics);
    if (r < 0) {
        sl_err_set(err, r, "cannot create the metrics registry");
        free(eng);
        return r;
    }
    eng->nshards = opts->workers > 0 ? opts->workers : 1;
    eng->groups = sl_xcalloc((size_t)cat->nplans, sizeof(*eng->groups));
    eng->nsrcs = cat->nsources;
    eng->srcs = sl_xcalloc((size_t)cat->nsources, sizeof(*eng->srcs));
    for (int i = 0; i < cat->nplans; i++) {
        const struct sl_source *src = cat->plans[i]->src;
        if (eng->srcs[src->index] == NULL) {
            r = sl__srcrt_new(eng, src, &eng->srcs[src->index], err);
            if (r < 0) {
                goto fail;
            }
        }
    }
    eng->shards = sl_xcalloc((size_t)eng->nshards, sizeof(*eng->shards));
    for (int i = 0; i < eng->nshards; i++) {
        eng->shards[i] = sl__shard_new(eng, i);
    }
    eng->nsinks = cat->nplans;
    eng->sinks = sl_xcalloc((size_t)cat->nplans, sizeof(*eng->sinks));
    for (int i = 0; i < cat->nplans; i++) {
        r = sl__sinkrt_new(eng, cat->plans[i], &eng->sinks[i], err);
        if (r < 0) {
            goto fail;
        }
    }
    for (int i = 0; i < eng->nshards; i++) {
        sl__shard_connect(eng->shards[i]);
    }
    for (int i = 0; i < eng->nsrcs; i++) {
        if (eng->srcs[i] != NULL) {
            sl__srcrt_connect(eng->srcs[i]);
        }
    }
    r = sl_metrics_process_register(eng->metrics, err);
    r = r < 0 ? r : sl_memlimit_register_metrics(eng->metrics, err);
    for (int i = 0; i < eng->nsrcs && r >= 0; i++) {
        if (eng->srcs[i] != NULL) {
            r = sl__srcrt_metrics(eng->srcs[i], err);
        }
    }
    for (int i = 0; i < eng->nshards && r >= 0; i++) {
        r = sl__shard_metrics(eng->shards[i], err);
    }
    for (int i = 0; i < eng->nsinks && r >= 0; i++) {
        r = sl__sinkrt_metrics(eng->sinks[i], err);
    }
    if (r < 0) {
        goto fail;
    }
    *ret = eng;
    return 0;
fail:
    sl_engine_free(eng);
    return r;
}

void sl_engine_free(struct sl_engine *eng)
{
    if (eng == NULL) {
        return;
    }
    /* The HTTP thread reads counters everywhere: it goes first. */
    sl_http_stop(eng->http);
    sl_metrics_free(eng->metrics);
    /* Sources first: closing a sink may flush; rings are freed by their consumers. */
    for (int i = 0; i < eng->nsrcs; i++) {
        sl__srcrt_free(eng->srcs[i]);
    }
    for (int i = 0; i < eng->nsinks; i++) {
        sl__sinkrt_free(eng->sinks[i]);
    }
    if (eng->shards != NULL) {
        for (int i = 0; i < eng->nshards; i++) {
            sl__shard_free(eng->shards[i]);
        }
    }
    free(eng->srcs);
    free(eng->sinks);
    free(eng->shards);
    free((void *)eng->groups);
    free(eng);
}

static bool ready(void *ud, char *reason, size_t cap)
{
    struct sl_engine *eng = ud;
    if (atomic_load(&eng->stop)) {
        snprintf(reason, cap, "stopping");
        return false;
    }
    for (int i = 0; i < eng->nsrcs; i++) {
        if (eng->srcs[i] != NULL && !sl__srcrt_ready(eng->srcs[i], reason, cap)) {
            return false;
        }
    }
    for (int i = 0; i < eng->cat->nplans; i++) {
        const struct sl_plan *pl = eng->cat->plans[i];
        if (pl->window != SL_WINDOW_NONE && atomic_load(&eng->groups[i]) >= pl->max_groups) {
            snprintf(reason, cap,
                     "degraded: query %s holds max_groups (%llu) groups; new groups are refused",
                     pl->name, (unsigned long long)pl->max_groups);
            return false;
        }
    }
    return sl_memlimit_ready(reason, cap);
}

static void progress_refresh(struct sl_progress_stats *st, void *ud)
{
    struct sl_engine *eng = ud;
    uint64_t events = 0, rejected = 0;
    int64_t wm = SL_PROGRESS_NO_WATERMARK;
    for (int i = 0; i < eng->nsrcs; i++) {
        if (eng->srcs[i] == NULL) {
            continue;
        }
        events += sl__srcrt_events(eng->srcs[i]);
        rejected += sl__srcrt_rejected(eng->srcs[i]);
        int64_t w = sl__srcrt_watermark(eng->srcs[i]);
        if (w != SL_WM_NONE && (wm == SL_PROGRESS_NO_WATERMARK || w < wm)) {
            wm = w;
        }
    }
    atomic_store_explicit(&st->events, events, memory_order_relaxed);
    atomic_store_explicit(&st->rejected, rejected, memory_order_relaxed);
    atomic_store_explicit(&st->watermark_ms, wm, memory_order_relaxed);
}

int sl_engine_run(struct sl_engine *eng)
{
    struct sl_err err = {{0}};
    struct sl_progress_stats pst;
    struct sl_progress *prog = NULL;

    if (eng->opts.http != NULL && strcmp(eng->opts.http, "off") != 0) {
        int r = sl_http_start(eng->opts.http, eng->metrics, ready, eng, &eng->http, &err);
        if (r < 0) {
            sl_log(SL_LOG_ERROR, "http", "%s", err.msg);
            return 1;
        }
    }
    sl_progress_stats_init(&pst);
    struct sl_progress_opts po = {.tty = -1, .refresh = progress_refresh, .refresh_ud = eng};
    if (sl_progress_start(&pst, &po, &prog) < 0) {
        prog = NULL;
    }

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);

    atomic_store(&eng->sinks_running, eng->nsinks);
    /* Either may fail (no fds left): the loop below then wakes every 100 ms, as a tick. */
    eng->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    for (int i = 0; i < eng->nsinks; i++) {
        sl__sinkrt_start(eng->sinks[i]);
    }
    for (int i = 0; i < eng->nshards; i++) {
        sl__shard_start(eng->shards[i]);
    }
    for (int i = 0; i < eng->nsrcs; i++) {
        if (eng->srcs[i] != NULL) {
            sl__srcrt_start(eng->srcs[i]);
        }
    }

    int64_t deadline = 0;
    int code = 0;
    bool reload = false;
    while (atomic_load(&eng->sinks_running) > 0) {
        struct pollfd pf[2] = {{.fd = sig_fd, .events = POLLIN},
                               {.fd = eng->done_fd, .events = POLLIN}};
        (void)poll(pf, 2, 100); /* negative fds are ignored */
        uint64_t ended;
        if (eng->done_fd >= 0) {
            (void)!read(eng->done_fd, &ended, sizeof(ended));
        }
        struct timespec now = {0, 0};
        int sig = sigtimedwait(&set, NULL, &now);
        sl_memlimit_refresh();
        if (sig == SIGHUP && !atomic_load(&eng->stop)) {
            if (eng->opts.reload == NULL) {
                sl_log(SL_LOG_WARN, "engine", "SIGHUP: no query files to reload; going on");
            } else if (eng->opts.reload(eng->opts.reload_ud)) {
                sl_log(SL_LOG_INFO, "engine",
                       "SIGHUP: stopping intake, delivering emitted rows, then starting again "
                       "with the new files");
                atomic_store(&eng->stop, true);
                reload = true;
                deadline = sl_mono_ms() + eng->opts.shutdown_timeout_ms;
            }
        }
        if (sig == SIGINT || sig == SIGTERM) {
            if (!atomic_load(&eng->stop)) {
                sl_log(SL_LOG_INFO, "engine", "%s: stopping intake, delivering emitted rows",
                       sig == SIGINT ? "SIGINT" : "SIGTERM");
                atomic_store(&eng->stop, true);
                deadline = sl_mono_ms() + eng->opts.shutdown_timeout_ms;
            }
        }
        if (deadline != 0 && sl_mono_ms() > deadline) {
            for (int i = 0; i < eng->nsinks; i++) {
                const struct sl_plan *p = eng->cat->plans[i];
                uint64_t sent = sl__srcrt_markers(eng->srcs[p->src->index]);
                uint64_t done = sl__sinkrt_delivered(eng->sinks[i]);
                if (done < sent) {
                    sl_log(SL_LOG_ERROR, "engine",
                           "sink %s: rows after marker %llu of source %s are undelivered "
                           "(its peer has not acknowledged them)",
                           p->name, (unsigned long long)done, p->src->name);
                }
            }
            sl_log(SL_LOG_ERROR, "engine",
                   "rows remain undelivered after --shutdown-timeout; "
                   "exiting with status 1 (they are replayed on restart)");
            code = 1;
            break;
        }
    }
    if (code != 0) {
        fflush(NULL);
        _exit(code); /* threads may be stuck on a peer; the rows are replayed on restart */
    }
    if (sig_fd >= 0) {
        close(sig_fd);
    }
    for (int i = 0; i < eng->nsrcs; i++) {
        if (eng->srcs[i] != NULL) {
            sl__srcrt_join(eng->srcs[i]);
        }
    }
    for (int i = 0; i < eng->nshards; i++) {
        sl__shard_join(eng->shards[i]);
    }
    for (int i = 0; i < eng->nsinks; i++) {
        sl__sinkrt_join(eng->sinks[i]);
    }
    if (eng->done_fd >= 0) {
        close(eng->done_fd);
        eng->done_fd = -1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    sl_progress_stop(prog);
    return reload && code == 0 ? SL_ENGINE_RELOAD : code;
}

void sl_engine_summary(struct sl_engine *eng, FILE *f)
{
    for (int i = 0; i < eng->nsrcs; i++) {
        if (eng->srcs[i] != NULL) {
            sl__srcrt_summary(eng->srcs[i], f);
        }
    }
    for (int i = 0; i < eng->nsinks; i++) {
        fprintf(f, "sink %s: rows=%llu\n", eng->cat->plans[i]->name,
                (unsigned long long)sl__sinkrt_rows(eng->sinks[i]));
    }
}

static struct sl_runtime_settings runtime_settings;

void sl_runtime_set(const struct sl_runtime_settings *rs)
{
    runtime_settings = *rs;
}

const struct sl_runtime_settings *sl_runtime_get(void)
{
    return &runtime_settings;
}
