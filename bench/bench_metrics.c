/*
 * bench_metrics.c - what a counter increment costs on a hot path: the single-writer relaxed
 * load + store (sl_counter_sw_inc) against a relaxed atomic fetch_add (sl_counter_mw_add),
 * one thread, then with a reader thread polling the cell as the HTTP thread would.
 *
 *   bench_metrics [N]   N increments per run (default 200 million)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "metrics.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Atomic int reader_stop;

static void *reader(void *arg)
{
    struct sl_counter *c = arg;
    uint64_t sink = 0;
    while (!atomic_load_explicit(&reader_stop, memory_order_relaxed)) {
        sink += sl_counter_get(c);
        struct timespec ts = {0, 1000000}; /* a scrape reads far less often; 1 kHz is harsh */
        nanosleep(&ts, NULL);
    }
    return (void *)(uintptr_t)sink;
}

static double run(struct sl_counter *c, uint64_t n, int mw)
{
    double t0 = now_s();
    if (mw) {
        for (uint64_t i = 0; i < n; i++) {
            sl_counter_mw_add(c, 1);
        }
    } else {
        for (uint64_t i = 0; i < n; i++) {
            sl_counter_sw_inc(c);
            /* keep the compiler from merging the loop into one add */
            __asm__ volatile("" ::: "memory");
        }
    }
    return (now_s() - t0) * 1e9 / (double)n;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000000ULL;
    struct sl_metrics *m;
    struct sl_counter *c;
    if (sl_metrics_new(&m) < 0 ||
        sl_metrics_counter_register(m, "bench_total", "B.", SL_NO_LABELS, &c, NULL) < 0) {
        return 1;
    }
    for (int with_reader = 0; with_reader <= 1; with_reader++) {
        pthread_t th;
        if (with_reader) {
            atomic_store(&reader_stop, 0);
            pthread_create(&th, NULL, reader, c);
        }
        double sw = run(c, n, 0);
        double mw = run(c, n, 1);
        printf("%-14s sw load+store %.2f ns/inc   mw fetch_add %.2f ns/inc\n",
               with_reader ? "with reader:" : "alone:", sw, mw);
        if (with_reader) {
            atomic_store(&reader_stop, 1);
            pthread_join(th, NULL);
        }
    }
    if (sl_counter_get(c) != 4 * n) {
        fprintf(stderr, "count %llu, expected %llu\n", (unsigned long long)sl_counter_get(c),
                (unsigned long long)(4 * n));
        return 1;
    }
    sl_metrics_free(m);
    return 0;
}
