/*
 * waiter.c - futex sleeping and waking for struct sl_waiter; the protocol and its memory
 * ordering are described at the top of waiter.h. Linux only (futex).
 */
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <linux/futex.h>
#include <sys/syscall.h>

#include "waiter.h"

/* A wait shorter than this would have been covered by a full spin (256 polls of a few
 * nanoseconds each, plus the futex round trip it replaced). */
#define SL_WAITER_SHORT_NS 20000

/* Doubles the owner's spin (plus one, so that it grows back from 0), up to its most. */
static void grow_spin(struct sl_waiter *w, uint32_t from)
{
    w->spin_now = from * 2 + 1 < w->spin ? from * 2 + 1 : w->spin;
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void sl_waiter_init(struct sl_waiter *w, uint32_t spin)
{
    atomic_init(&w->word, 0);
    atomic_init(&w->sleeping, 0);
    atomic_init(&w->kicked, 0);
    w->spin = spin;
    w->spin_now = spin;
    atomic_init(&w->sleeps, 0);
    atomic_init(&w->wakeups, 0);
}

uint32_t sl_waiter_prepare(struct sl_waiter *w)
{
    /* The token is read before sleeping = 1 is published: a waker that sees sleeping = 1
     * bumps the word after this load (release below, acq_rel exchange in the waker), so
     * futex_wait(token) cannot miss it. */
    uint32_t token = atomic_load_explicit(&w->word, memory_order_acquire);
    atomic_store_explicit(&w->sleeping, 1, memory_order_release);
    /* [F1] pairs with [F2] in sl_waiter_notify: orders the store of sleeping before the
     * owner's re-check of its conditions. */
    atomic_thread_fence(memory_order_seq_cst);
    return token;
}

void sl_waiter_cancel(struct sl_waiter *w)
{
    atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
}

int sl_waiter_sleep(struct sl_waiter *w, uint32_t token, int64_t timeout_ns)
{
    struct timespec ts;
    const struct timespec *tsp = NULL;
    int r = 0;

    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts;
    }
    atomic_fetch_add_explicit(&w->sleeps, 1, memory_order_relaxed);
    /* The kernel compares word with token under its own lock: a bump made after the token
     * was read makes the wait return at once (EAGAIN). */
    if (futex(&w->word, FUTEX_WAIT_PRIVATE, token, tsp) != 0 && errno == ETIMEDOUT) {
        r = -ETIMEDOUT;
    }
    /* Awake: wakers may skip the syscall again. Any state change is re-checked by the
     * owner after this, so relaxed is enough. */
    atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
    return r;
}

void sl__waiter_wake(struct sl_waiter *w)
{
    /* Only one waker per sleep issues the syscall. acq_rel: acquire pairs with the release
     * store of sleeping = 1 in sl_waiter_prepare, so the bump below is ordered after the
     * owner's read of its token. */
    if (atomic_exchange_explicit(&w->sleeping, 0, memory_order_acq_rel) == 0) {
        return;
    }
    atomic_fetch_add_explicit(&w->word, 1, memory_order_release);
    atomic_fetch_add_explicit(&w->wakeups, 1, memory_order_relaxed);
    futex(&w->word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

void sl_waiter_kick(struct sl_waiter *w)
{
    atomic_store_explicit(&w->kicked, 1, memory_order_release);
    sl_waiter_notify(w);
}

static bool take_kick(struct sl_waiter *w)
{
    if (atomic_load_explicit(&w->kicked, memory_order_relaxed) == 0) {
        return false;
    }
    /* Acquire pairs with the release store in sl_waiter_kick. */
    return atomic_exchange_explicit(&w->kicked, 0, memory_order_acquire) != 0;
}

int sl_waiter_wait(struct sl_waiter *w, sl_waiter_ready_fn ready, void *ud, int timeout_ms)
{
    int64_t deadline = 0;

    if (timeout_ms > 0) {
        deadline = mono_ns() + (int64_t)timeout_ms * 1000000;
    }
    uint32_t spin = w->spin_now;
    for (uint32_t i = 0; i < spin; i++) {
        if (ready(ud)) {
            grow_spin(w, spin); /* the spin paid: spin longer next time */
            return 0;
        }
        if (take_kick(w)) {
            return 1;
        }
        sl_cpu_relax();
    }
    /* The spin did not pay (or none was allowed): spin less next time, unless the sleep
     * below turns out shorter than a full spin would have been. */
    w->spin_now = spin / 2;
    int64_t slept_from = w->spin_now < w->spin ? mono_ns() : 0;
    for (;;) {
        int64_t left = -1;
        uint32_t token = sl_waiter_prepare(w);

        if (ready(ud)) {
            sl_waiter_cancel(w);
            if (slept_from != 0 && mono_ns() - slept_from < SL_WAITER_SHORT_NS) {
                grow_spin(w, w->spin_now);
            }
            return 0;
        }
        if (take_kick(w)) {
            sl_waiter_cancel(w);
            return 1;
        }
        if (timeout_ms == 0) {
            sl_waiter_cancel(w);
            return -ETIMEDOUT;
        }
        if (timeout_ms > 0) {
            left = deadline - mono_ns();
            if (left <= 0) {
                sl_waiter_cancel(w);
                return -ETIMEDOUT;
            }
        }
        sl_waiter_sleep(w, token, left);
    }
}
