/*
 * progress.c - the progress line and the final summary (see progress.h).
 *
 * One drawing thread at a time: the timer thread, or the caller with opts.no_thread. The
 * timer thread sleeps on a condition variable (CLOCK_MONOTONIC) so that stop wakes it at
 * once. The stats are read with relaxed loads: the line is a report, not a synchronisation.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "progress.h"

struct sl_progress {
    struct sl_progress_stats *st;
    struct sl_progress_opts o;
    int64_t start_ms;
    int64_t last_ms; /* INT64_MIN: never drawn */
    uint64_t last_events;
    int drawn;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    int has_thread;
    pthread_t thread;
};

void sl_progress_stats_init(struct sl_progress_stats *st)
{
    atomic_init(&st->events, 0);
    atomic_init(&st->rejected, 0);
    atomic_init(&st->watermark_ms, SL_PROGRESS_NO_WATERMARK);
}

int sl_progress_format_rate(double per_s, char *buf, size_t cap)
{
    static const char units[] = {'k', 'M', 'G', 'T'};
    if (!(per_s >= 0)) {
        per_s = 0;
    }
    if (per_s < 999.5) {
        return snprintf(buf, cap, "%.0f/s", per_s);
    }
    size_t u = 0;
    per_s /= 1000;
    while (per_s >= 999.5 && u + 1 < sizeof(units)) {
        per_s /= 1000;
        u++;
    }
    int decimals = per_s < 9.995 ? 2 : per_s < 99.95 ? 1 : 0;
    return snprintf(buf, cap, "%.*f%c/s", decimals, per_s, units[u]);
}

static int64_t now(const struct sl_progress *p)
{
    return p->o.now_ms != NULL ? p->o.now_ms() : sl_mono_ms();
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void format_watermark(int64_t wm, char *buf, size_t cap)
{
    if (wm == SL_PROGRESS_NO_WATERMARK) {
        snprintf(buf, cap, "-");
    } else {
        sl_log_format_time(wm, buf, cap);
    }
}

static void refresh(struct sl_progress *p)
{
    if (p->o.refresh != NULL) {
        p->o.refresh(p->st, p->o.refresh_ud);
    }
}

int sl_progress_tick(struct sl_progress *p)
{
    int64_t t = now(p);
    if (!p->o.tty || (p->last_ms != INT64_MIN && t - p->last_ms < SL_PROGRESS_INTERVAL_MS)) {
        return 0;
    }
    refresh(p);
    uint64_t events = atomic_load_explicit(&p->st->events, memory_order_relaxed);
    uint64_t rejected = atomic_load_explicit(&p->st->rejected, memory_order_relaxed);
    int64_t wm = atomic_load_explicit(&p->st->watermark_ms, memory_order_relaxed);
    int64_t since = p->last_ms != INT64_MIN ? p->last_ms : p->start_ms;
    uint64_t before = p->last_ms != INT64_MIN ? p->last_events : 0;
    double rate = t > since && events >= before
                      ? (double)(events - before) * 1000.0 / (double)(t - since)
                      : 0.0;
    char r[32], w[32], line[256];
    sl_progress_format_rate(rate, r, sizeof(r));
    format_watermark(wm, w, sizeof(w));
    int n = snprintf(line, sizeof(line), "\r\033[Kevents %llu (%s)  watermark %s  rejected %llu",
                     (unsigned long long)events, r, w, (unsigned long long)rejected);
    if (n < 0) {
        return 0;
    }
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    struct winsize ws;
    if (ioctl(p->o.fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && len - 4 > ws.ws_col - 1u) {
        len = 4 + ws.ws_col - 1u; /* never wrap: a wrapped line cannot be redrawn with \r */
    }
    write_all(p->o.fd, line, len);
    p->last_ms = t;
    p->last_events = events;
    p->drawn = 1;
    return 1;
}

static void *progress_main(void *arg)
{
    struct sl_progress *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        pthread_mutex_unlock(&p->mu);
        sl_progress_tick(p);
        pthread_mutex_lock(&p->mu);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += SL_PROGRESS_INTERVAL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!p->stopping && pthread_cond_timedwait(&p->cv, &p->mu, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int sl_progress_start(struct sl_progress_stats *st, const struct sl_progress_opts *opts,
                      struct sl_progress **ret_p)
{
    struct sl_progress *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    p->st = st;
    if (opts != NULL) {
        p->o = *opts;
    } else {
        p->o.tty = -1;
    }
    if (p->o.fd == 0) {
        p->o.fd = 2;
    }
    if (p->o.tty < 0) {
        p->o.tty = isatty(p->o.fd) == 1;
    }
    p->start_ms = now(p);
    p->last_ms = INT64_MIN;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (p->o.tty) {
        sl__log_set_progress_fd(p->o.fd);
    }
    if (p->o.tty && !p->o.no_thread) {
        int r = pthread_create(&p->thread, NULL, progress_main, p);
        if (r != 0) {
            sl__log_set_progress_fd(-1);
            pthread_cond_destroy(&p->cv);
            pthread_mutex_destroy(&p->mu);
            free(p);
            return -r;
        }
        p->has_thread = 1;
    }
    *ret_p = p;
    return 0;
}

void sl_progress_stop(struct sl_progress *p)
{
    if (p == NULL) {
        return;
    }
    if (p->has_thread) {
        pthread_mutex_lock(&p->mu);
        p->stopping = 1;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
    }
    if (p->o.tty) {
        sl__log_set_progress_fd(-1);
    }
    refresh(p);
    uint64_t events = atomic_load_explicit(&p->st->events, memory_order_relaxed);
    uint64_t rejected = atomic_load_explicit(&p->st->rejected, memory_order_relaxed);
    int64_t wm = atomic_load_explicit(&p->st->watermark_ms, memory_order_relaxed);
    int64_t elapsed = now(p) - p->start_ms;
    if (elapsed < 0) {
        elapsed = 0;
    }
    double rate = elapsed > 0 ? (double)events * 1000.0 / (double)elapsed : 0.0;
    char r[32], w[32], line[256];
    sl_progress_format_rate(rate, r, sizeof(r));
    format_watermark(wm, w, sizeof(w));
    int n = snprintf(line, sizeof(line),
                     "%ssluice: %llu events in %lld.%lld s (%s), rejected %llu, watermark %s\n",
                     p->drawn ? "\r\033[K" : "", (unsigned long long)events,
                     (long long)(elapsed / 1000), (long long)(elapsed % 1000 / 100), r,
                     (unsigned long long)rejected, w);
    if (n > 0 && sl_log_format_get() == SL_LOG_JSON && !p->drawn) {
        /* A JSON log stays all JSON: the summary is one more log line. */
        line[strcspn(line, "\n")] = '\0';
        sl_log(SL_LOG_INFO, "summary", "%s", line + strlen("sluice: "));
    } else if (n > 0) {
        write_all(p->o.fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
