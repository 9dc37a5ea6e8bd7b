/*
 * bench_ring.c - throughput of one SPSC ring between two threads (16-byte records, batch 1
 * and batch 64 on both sides: commit every N reservations, release every N peeks), and the
 * CPU an idle consumer burns while it waits on an empty ring for 2 s (it should be ~0).
 * Both sides use the production paths: waiters attached, reserve_wait when full, wait_any
 * when empty. The consumer checks the sequence in every record; a mismatch exits 1.
 *
 * Usage: bench_ring [--quick] [--runs N] [--items N] [--pin]
 *   --quick  a short run for ctest (label bench): checks it works, numbers mean little.
 *   --pin    pins the producer to CPU 0 and the consumer to CPU 1.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring.h"

#define RING_BYTES (256u * 1024u)
#define REC_BYTES  16u

struct run {
    struct sl_ring *r;
    struct sl_waiter pw, cw;
    uint64_t items;
    unsigned batch;
    int pin;
    _Atomic int go;
    int64_t t_start, t_end; /* ns, start by the producer, end by the consumer */
    int bad;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pin_to(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *producer(void *arg)
{
    struct run *ru = arg;
    struct sl_ring *r = ru->r;
    unsigned pending = 0;

    if (ru->pin) {
        pin_to(0);
    }
    while (atomic_load_explicit(&ru->go, memory_order_acquire) == 0) {
        sl_cpu_relax();
    }
    ru->t_start = now_ns();
    for (uint64_t i = 0; i < ru->items; i++) {
        uint64_t *p;
        if (sl_ring_spsc_reserve(r, REC_BYTES, (void **)&p) != 0) {
            pending = 0; /* reserve_wait commits what is pending */
            if (sl_ring_spsc_reserve_wait(r, REC_BYTES, -1, (void **)&p) != 0) {
                ru->bad = 1;
                return NULL;
            }
        }
        p[0] = i;
        p[1] = ~i;
        if (++pending == ru->batch) {
            sl_ring_spsc_commit(r);
            pending = 0;
        }
    }
    sl_ring_spsc_commit(r);
    return NULL;
}

static void *consumer(void *arg)
{
    struct run *ru = arg;
    struct sl_ring *r = ru->r;
    uint64_t next = 0;

    if (ru->pin) {
        pin_to(1);
    }
    while (next < ru->items) {
        unsigned n = 0;
        const uint64_t *p;
        size_t len;

        while (n < ru->batch && (p = sl_ring_spsc_peek(r, &len)) != NULL) {
            if (len != REC_BYTES || p[0] != next || p[1] != ~next) {
                ru->bad = 1;
                return NULL;
            }
            next++;
            n++;
        }
        sl_ring_spsc_release(r);
        if (n == 0) {
            sl_ring_spsc_wait_any(&r, 1, &ru->cw, -1);
        }
    }
    ru->t_end = now_ns();
    return NULL;
}

/* Returns items per second, or -1 on a verification failure. */
static double throughput(unsigned batch, uint64_t items, int pin, uint64_t *ret_sleeps)
{
    struct run ru;
    pthread_t pt, ct;

    memset(&ru, 0, sizeof(ru));
    sl_waiter_init(&ru.pw, SL_WAITER_SPIN_DEFAULT);
    sl_waiter_init(&ru.cw, SL_WAITER_SPIN_DEFAULT);
    if (sl_ring_spsc_new(RING_BYTES, &ru.cw, &ru.pw, &ru.r) != 0) {
        return -1;
    }
    ru.items = items;
    ru.batch = batch;
    ru.pin = pin;
    pthread_create(&ct, NULL, consumer, &ru);
    pthread_create(&pt, NULL, producer, &ru);
    atomic_store_explicit(&ru.go, 1, memory_order_release);
    pthread_join(pt, NULL);
    pthread_join(ct, NULL);
    sl_ring_spsc_free(ru.r);
    *ret_sleeps = atomic_load(&ru.pw.sleeps) + atomic_load(&ru.cw.sleeps);
    if (ru.bad) {
        return -1;
    }
    return (double)items * 1e9 / (double)(ru.t_end - ru.t_start);
}

struct idle {
    int64_t wall_ns;
    int64_t cpu_ns;
    uint64_t sleeps;
    int rc;
};

static void *idle_consumer(void *arg)
{
    struct idle *id = arg;
    struct sl_waiter w;
    struct sl_ring *r = NULL;
    struct timespec c0, c1;
    int64_t t0, t_end;

    sl_waiter_init(&w, SL_WAITER_SPIN_DEFAULT);
    if (sl_ring_spsc_new(4096, &w, NULL, &r) != 0) {
        id->rc = -1;
        return NULL;
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    t0 = now_ns();
    t_end = t0 + id->wall_ns;
    /* The shard loop with nothing to do: wait with a timer-sized timeout, then "timers". */
    while (now_ns() < t_end) {
        if (sl_ring_spsc_wait_any(&r, 1, &w, 100) == 0) {
            id->rc = -1; /* nothing was ever produced */
            break;
        }
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    id->wall_ns = now_ns() - t0;
    id->cpu_ns = (int64_t)(c1.tv_sec - c0.tv_sec) * 1000000000 + (c1.tv_nsec - c0.tv_nsec);
    id->sleeps = atomic_load(&w.sleeps);
    sl_ring_spsc_free(r);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int quick = 0, pin = 0, runs = 5;
    uint64_t items = 50000000;
    const unsigned batches[] = {1, 64};
    struct idle id = {.wall_ns = 2000000000};
    pthread_t t;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--pin") == 0) {
            pin = 1;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--items") == 0 && i + 1 < argc) {
            items = strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--runs N] [--items N] [--pin]\n", argv[0]);
            return 2;
        }
    }
    if (quick) {
        runs = 1;
        items = 1000000;
        id.wall_ns = 300000000;
    }
    if (runs < 1 || runs > 100) {
        runs = 1;
    }
    printf("ring %u bytes, %u-byte records, %llu items per run, %d runs%s\n", RING_BYTES, REC_BYTES,
           (unsigned long long)items, runs, pin ? ", pinned" : "");
    for (size_t b = 0; b < SL_ARRAY_LEN(batches); b++) {
        double rate[100];
        uint64_t sleeps = 0;

        for (int i = 0; i < runs; i++) {
            uint64_t s = 0;
            rate[i] = throughput(batches[b], items, pin, &s);
            if (rate[i] < 0) {
                fprintf(stderr, "batch %u: verification failed\n", batches[b]);
                return 1;
            }
            sleeps += s;
        }
        qsort(rate, (size_t)runs, sizeof(rate[0]), cmp_double);
        printf("batch %-3u median %7.1f M items/s  best %7.1f  worst %7.1f  (sleeps %llu)\n",
               batches[b], rate[runs / 2] / 1e6, rate[runs - 1] / 1e6, rate[0] / 1e6,
               (unsigned long long)sleeps);
    }
    pthread_create(&t, NULL, idle_consumer, &id);
    pthread_join(t, NULL);
    if (id.rc != 0) {
        fprintf(stderr, "idle: a record appeared from nowhere\n");
        return 1;
    }
    printf("idle consumer: %.3f ms CPU in %.2f s wall (%.4f%% of a core), %llu futex waits\n",
           (double)id.cpu_ns / 1e6, (double)id.wall_ns / 1e9,
           100.0 * (double)id.cpu_ns / (double)id.wall_ns, (unsigned long long)id.sleeps);
    return 0;
}
