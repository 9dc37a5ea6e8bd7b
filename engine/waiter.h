/*
 * waiter.h - the place where one thread sleeps until another has work for it.
 *
 * A struct sl_waiter belongs to a thread (its owner), not to a ring: a shard sleeps on one
 * waiter that all its input rings point to, and a source thread sleeps on one waiter that
 * all its output rings point to. The owner is the only thread that sleeps on it; any
 * number of other threads may wake it.
 *
 * Protocol (no lost wake-ups). The owner, having found nothing to do:
 *   1. token = word; sleeping = 1; fence [F1]     (sl_waiter_prepare)
 *   2. re-checks every condition it sleeps on     (its predicate: rings, kick flag)
 *   3. if something is there: sleeping = 0        (sl_waiter_cancel)
 *      else futex_wait(&word, token, timeout)     (sl_waiter_sleep)
 * A waker, having published its change (a ring's tail or head, the kick flag):
 *   4. fence [F2]; if sleeping: exchange(sleeping, 0) and, if it was 1, word += 1 and
 *      futex_wake                                  (sl_waiter_notify)
 * [F1] and [F2] are seq_cst fences between a store and a load of two different variables
 * (Dekker): in their total order either [F1] comes first and the waker's load of sleeping
 * sees 1, or [F2] comes first and the owner's re-check sees the waker's publication. In the
 * first case the waker bumps word after the owner read its token (the owner's release store
 * of sleeping = 1 synchronises with the waker's acq_rel exchange), so the futex wait returns
 * at once or is woken. While the owner is awake, sleeping is 0 and a waker pays one fence and
 * one load that hits its cache: no syscall, no write to a shared line.
 *
 * Nothing here orders the data that wakers publish: that is the job of the rings'
 * acquire/release pairs, which the owner's re-check goes through.
 *
 * Placement: wakers read `sleeping` on every publication, so keep the waiter away from
 * fields its owner writes often (give it its own cache line in the owner's struct).
 */
#ifndef SL_WAITER_H
#define SL_WAITER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"

/* Polls of the predicate before a waiter sleeps, by default: a few microseconds. */
#define SL_WAITER_SPIN_DEFAULT 256

struct sl_waiter {
    _Atomic uint32_t word;     /* the futex word: every wake-up bumps it */
    _Atomic uint32_t sleeping; /* 1 from prepare until the owner is awake again */
    _Atomic uint32_t kicked;   /* set by sl_waiter_kick, consumed by sl_waiter_wait */
    uint32_t spin;             /* owner only: most polls before sleeping */
    uint32_t spin_now;         /* owner only: polls before sleeping now (adaptive, <= spin) */
    _Atomic uint64_t sleeps;   /* futex waits the owner entered (owner writes, relaxed) */
    _Atomic uint64_t wakeups;  /* futex wakes issued by wakers (relaxed) */
};

/* Returns true when the condition the owner waits for holds. Called by the owner only. */
typedef bool (*sl_waiter_ready_fn)(void *ud);

/* Initialises w; spin is the number of predicate polls before sleeping (0: sleep at once).
 * Call before any other thread can see w. */
void sl_waiter_init(struct sl_waiter *w, uint32_t spin);

/* Waits until ready(ud) holds, the waiter is kicked or timeout_ms passes (< 0: no limit;
 * 0: polls and returns). Spins up to w->spin polls, then sleeps on the futex. The spin
 * adapts: a spin that ends in sleep anyway halves the next one, a spin that finds work
 * doubles it back, so a thread whose work comes in bursts far apart (a sink between
 * markers) stops burning CPU on spins that never pay. Spurious wake-ups (another ring's
 * waker) are absorbed here. Returns 0 when ready(ud) held, 1 when kicked
 * (the kick is consumed), -ETIMEDOUT on timeout. Owner thread only; blocks. The owner must
 * have published whatever the wakers wait for (ring commit/release) before calling. */
int sl_waiter_wait(struct sl_waiter *w, sl_waiter_ready_fn ready, void *ud, int timeout_ms);

/* Wakes the owner whether or not it is asleep, and makes its next (or current)
 * sl_waiter_wait return 1: for stop requests and other out-of-band news. Any thread. */
void sl_waiter_kick(struct sl_waiter *w);

/* The primitives sl_waiter_wait is made of, for owners with their own loop.
 * prepare: announces the owner may sleep and returns the token for sl_waiter_sleep; the
 *   owner must then re-check all its conditions and either cancel or sleep.
 * cancel: the owner found work after prepare and will not sleep.
 * sleep: sleeps until woken or timeout_ns passes (< 0: no limit), then marks the owner
 *   awake. Returns 0 when woken (or the word changed before sleeping), -ETIMEDOUT.
 * Owner thread only. */
uint32_t sl_waiter_prepare(struct sl_waiter *w);
void sl_waiter_cancel(struct sl_waiter *w);
int sl_waiter_sleep(struct sl_waiter *w, uint32_t token, int64_t timeout_ns);

/* The slow half of sl_waiter_notify: bumps the word and issues the futex wake. */
void sl__waiter_wake(struct sl_waiter *w);

/* Wakes the owner if it is asleep or about to sleep. Call after publishing the change the
 * owner waits for. Any thread; never blocks; a syscall only when the owner sleeps. */
static inline void sl_waiter_notify(struct sl_waiter *w)
{
    /* [F2] pairs with [F1] in sl_waiter_prepare: orders the caller's publication before
     * the load of sleeping. */
    atomic_thread_fence(memory_order_seq_cst);
    if (SL_UNLIKELY(atomic_load_explicit(&w->sleeping, memory_order_relaxed) != 0)) {
        sl__waiter_wake(w);
    }
}

/* A hint to the CPU that this thread is spinning. */
static inline void sl_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

#endif
