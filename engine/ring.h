/*
 * ring.h - bounded single-producer/single-consumer rings of variable-length records: the
 * links between source threads and shards, and between shards and sinks (DESIGN.md, Rings).
 *
 * Layout. A ring is a power-of-two byte buffer and two free-running 64-bit byte counters:
 * `tail` (everything before it is written and published; the producer advances it) and
 * `head` (everything before it is consumed and free; the consumer advances it). Invariant:
 * head <= tail <= head + capacity; bytes used = tail - head. A record is an 8-byte header
 * (length, flags) followed by its payload padded to 8 bytes, so every record and payload is
 * 8-byte aligned. A record never splits across the end of the buffer: when it does not fit
 * before the end, the producer writes a skip marker (a header with SL__RING_SKIP) and the
 * record starts at offset 0; the skipped bytes count as used until the consumer passes them.
 * A record with its header may take at most half the capacity, so that one always fits into
 * an empty ring wherever the counters stand (sl_ring_max_record).
 *
 * Threads. Exactly one producer thread calls the sl_ring_spsc_* producer functions
 * (reserve, commit, cancel, push, can_reserve, reserve_wait) and exactly one consumer thread
 * calls the consumer functions (peek, release, empty, wait_any); the names say spsc because
 * two producers or two consumers would corrupt the ring. sl_ring_used and sl_ring_capacity
 * may be called from any thread (metrics). Each side keeps a private cursor (what it has
 * reserved / peeked) and a cached copy of the other side's counter, refreshed only when the
 * cache says full / empty, so the shared lines move between cores only when they must.
 * Shared counters and private fields sit on separate cache-line pairs.
 *
 * Batches. The producer reserves any number of records, writes them, and publishes them all
 * with one commit; nothing reserved is visible to the consumer before that commit. The
 * consumer peeks any number of records and frees them all with one release; a peeked record
 * stays valid (and its space stays unavailable to the producer) until then.
 *
 * Memory ordering (C11; each pair is labelled where it occurs):
 *   [A] commit:  store-release tail    pairs with [B]: the records' bytes, written by the
 *   [B] peek:    load-acquire tail     producer before [A], are visible after [B].
 *   [C] release: store-release head    pairs with [D]: the consumer's reads of the records
 *   [D] reserve: load-acquire head     happen before the producer's reuse of their space.
 *   [F2] after [A] and after [C], sl_waiter_notify's seq_cst fence pairs with [F1] in the
 *   sleeping side's sl_waiter_prepare (waiter.h): no lost wake-ups.
 *   sl_ring_used: relaxed loads, a snapshot that may be stale but stays in [0, capacity].
 *
 * Sleeping. A ring points to the consumer's waiter (woken by commit when the consumer
 * sleeps) and to the producer's waiter (woken by release when the producer waits for
 * space); either may be NULL for a side that only polls. Waiters belong to threads and are
 * shared by all the rings a thread reads or writes. Commit and release cost one fence and one
 * cached load when the other side is awake; the syscall happens only when it sleeps.
 *
 * Ownership: a successful commit hands the records to the consumer; reserved but
 * uncommitted records stay with the producer; records and ring memory are never allocated
 * per record. Rings are made with sl_ring_spsc_new (cache-line aligned), not embedded.
 */
#ifndef SL_RING_H
#define SL_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "waiter.h"

/* Two cache lines: adjacent-line prefetchers pull lines in pairs. */
#define SL__RING_ALIGN (2 * SL_CACHELINE)

/* Smallest and largest capacity in bytes (powers of two). */
#define SL_RING_MIN_CAPACITY 64u
#define SL_RING_MAX_CAPACITY (1u << 30)

/* The record header, internal. */
struct sl__ring_hdr {
    uint32_t len;   /* payload bytes (not counting header and padding) */
    uint32_t flags; /* SL__RING_SKIP: the rest of the buffer up to its end is padding */
};

#define SL__RING_HDR  ((uint64_t)sizeof(struct sl__ring_hdr))
#define SL__RING_SKIP 1u

struct sl_ring {
    /* Read-only after sl_ring_spsc_new. */
    uint8_t *buf;
    uint64_t cap;                  /* capacity in bytes, a power of two */
    uint64_t mask;                 /* cap - 1 */
    uint64_t max_len;              /* the largest payload: cap / 2 - header */
    struct sl_waiter *cons_waiter; /* woken by commit; NULL: the consumer polls */
    struct sl_waiter *prod_waiter; /* woken by release; NULL: the producer polls */

    /* Written by the consumer, read by the producer: bytes before it are free. */
    alignas(SL__RING_ALIGN) _Atomic uint64_t head;

    /* Consumer-private. */
    alignas(SL__RING_ALIGN) uint64_t cons_pos; /* where the next peek starts */
    uint64_t cons_head;                        /* head as last released */
    uint64_t cons_tail;                        /* cached copy of tail */

    /* Written by the producer, read by the consumer: bytes before it are published. */
    alignas(SL__RING_ALIGN) _Atomic uint64_t tail;

    /* Producer-private. */
    alignas(SL__RING_ALIGN) uint64_t prod_pos; /* end of the last reservation */
    uint64_t prod_tail;                        /* tail as last committed */
    uint64_t prod_head;                        /* cached copy of head */
};

/* Makes a ring of capacity bytes (a power of two in [SL_RING_MIN_CAPACITY,
 * SL_RING_MAX_CAPACITY]) whose commits wake cons_waiter and whose releases wake
 * prod_waiter (either may be NULL; the waiters must outlive the ring). The buffer is touched
 * once here so that the hot path takes no page faults. Returns 0 and *ret_ring, -EINVAL
 * (bad capacity) or -ENOMEM. Any thread, before the ring is shared. */
int sl_ring_spsc_new(size_t capacity, struct sl_waiter *cons_waiter, struct sl_waiter *prod_waiter,
                     struct sl_ring **ret_ring);

/* Frees the ring and its buffer; NULL is a no-op. Neither side may use it any more. */
void sl_ring_spsc_free(struct sl_ring *r);

/* Capacity in bytes. Any thread. */
size_t sl_ring_capacity(const struct sl_ring *r);

/* The largest payload a record may have: capacity / 2 - 8. Any thread. */
size_t sl_ring_max_record(const struct sl_ring *r);

/* Bytes published and not yet released (headers and padding included), a relaxed snapshot
 * in [0, capacity] for metrics. Any thread; never blocks. */
size_t sl_ring_used(const struct sl_ring *r);

/* Space a record of len payload bytes takes at producer position pos, skip padding
 * included; internal. */
static inline uint64_t sl__ring_need(const struct sl_ring *r, uint64_t pos, size_t len)
{
    uint64_t need = SL__RING_HDR + (((uint64_t)len + 7) & ~(uint64_t)7);
    uint64_t room = r->cap - (pos & r->mask); /* bytes before the end of the buffer */

    return need <= room ? need : room + need;
}

/* Whether the producer's cached head shows room for total bytes at pos; refreshes the
 * cache from head when it does not. Internal. */
static inline bool sl__ring_room(struct sl_ring *r, uint64_t pos, uint64_t total)
{
    if (SL_LIKELY(pos + total - r->prod_head <= r->cap)) {
        return true;
    }
    /* [D] pairs with [C] in sl_ring_spsc_release: the consumer is done with the bytes
     * before head, so they may be overwritten. */
    r->prod_head = atomic_load_explicit(&r->head, memory_order_acquire);
    return pos + total - r->prod_head <= r->cap;
}

/* Reserves a record of len payload bytes after the previous reservations and sets
 * *ret_rec to its payload (8-byte aligned, len bytes, to be written before the commit).
 * Returns 0; -EAGAIN when the ring has no room now (nothing is reserved; commit what is
 * pending, then retry or wait); -EMSGSIZE when len > sl_ring_max_record (never fits).
 * Producer thread only; never blocks. */
static inline int sl_ring_spsc_reserve(struct sl_ring *r, size_t len, void **ret_rec)
{
    uint64_t pos = r->prod_pos;
    uint64_t total;
    struct sl__ring_hdr *hdr;

    if (SL_UNLIKELY(len > r->max_len)) {
        return -EMSGSIZE;
    }
    total = sl__ring_need(r, pos, len);
    if (SL_UNLIKELY(!sl__ring_room(r, pos, total))) {
        return -EAGAIN;
    }
    hdr = (struct sl__ring_hdr *)(r->buf + (pos & r->mask));
    if (SL_UNLIKELY(total > r->cap - (pos & r->mask))) {
        /* Does not fit before the end: mark the rest as skipped, start at offset 0. */
        hdr->len = 0;
        hdr->flags = SL__RING_SKIP;
        hdr = (struct sl__ring_hdr *)r->buf;
    }
    hdr->len = (uint32_t)len;
    hdr->flags = 0;
    r->prod_pos = pos + total;
    *ret_rec = hdr + 1;
    return 0;
}

/* Whether a record of len payload bytes can be reserved now. Producer thread only. */
static inline bool sl_ring_spsc_can_reserve(struct sl_ring *r, size_t len)
{
    if (len > r->max_len) {
        return false;
    }
    return sl__ring_room(r, r->prod_pos, sl__ring_need(r, r->prod_pos, len));
}

/* Publishes every record reserved since the last commit (a no-op when there is none) and
 * wakes the consumer if it sleeps. Producer thread only; never blocks. */
static inline void sl_ring_spsc_commit(struct sl_ring *r)
{
    if (r->prod_pos == r->prod_tail) {
        return;
    }
    r->prod_tail = r->prod_pos;
    /* [A] pairs with [B] in sl_ring_spsc_peek: the records' bytes before the new tail. */
    atomic_store_explicit(&r->tail, r->prod_pos, memory_order_release);
    if (r->cons_waiter != NULL) {
        sl_waiter_notify(r->cons_waiter); /* [F2] */
    }
}

/* Drops every record reserved since the last commit. Producer thread only. */
static inline void sl_ring_spsc_cancel(struct sl_ring *r)
{
    r->prod_pos = r->prod_tail;
}

/* Copies one record in and commits it: reserve + memcpy + commit. Returns as
 * sl_ring_spsc_reserve (on failure, earlier reservations stay pending). Producer only. */
int sl_ring_spsc_push(struct sl_ring *r, const void *rec, size_t len);

/* Internal: the consumer's cursor has reached its cached tail; refresh the cache. */
static inline bool sl__ring_refresh_tail(struct sl_ring *r, uint64_t pos)
{
    /* [B] pairs with [A] in sl_ring_spsc_commit: the bytes before tail are written. */
    r->cons_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    return pos != r->cons_tail;
}

/* Returns the next committed record after the ones already peeked, and its payload length
 * in *ret_len; NULL when there is none now. The record stays valid, and must not be
 * modified, until the next sl_ring_spsc_release. Consumer thread only; never blocks. */
static inline const void *sl_ring_spsc_peek(struct sl_ring *r, size_t *ret_len)
{
    uint64_t pos = r->cons_pos;
    const struct sl__ring_hdr *hdr;

    if (pos == r->cons_tail && !sl__ring_refresh_tail(r, pos)) {
        return NULL;
    }
    hdr = (const struct sl__ring_hdr *)(r->buf + (pos & r->mask));
    if (SL_UNLIKELY(hdr->flags & SL__RING_SKIP)) {
        /* The record was reserved together with its skip marker, so it is committed. */
        pos += r->cap - (pos & r->mask);
        hdr = (const struct sl__ring_hdr *)r->buf;
    }
    r->cons_pos = pos + SL__RING_HDR + (((uint64_t)hdr->len + 7) & ~(uint64_t)7);
    *ret_len = hdr->len;
    return hdr + 1;
}

/* Whether no committed record is left to peek now. Consumer thread only. */
static inline bool sl_ring_spsc_empty(struct sl_ring *r)
{
    uint64_t pos = r->cons_pos;

    return pos == r->cons_tail && !sl__ring_refresh_tail(r, pos);
}

/* Frees every record peeked since the last release (a no-op when there is none) and wakes
 * the producer if it waits for space. Pointers from sl_ring_spsc_peek become invalid.
 * Consumer thread only; never blocks. */
static inline void sl_ring_spsc_release(struct sl_ring *r)
{
    if (r->cons_pos == r->cons_head) {
        return;
    }
    r->cons_head = r->cons_pos;
    /* [C] pairs with [D] in sl__ring_room: the reads of the released records are done. */
    atomic_store_explicit(&r->head, r->cons_pos, memory_order_release);
    if (r->prod_waiter != NULL) {
        sl_waiter_notify(r->prod_waiter); /* [F2] */
    }
}

/* Reserves like sl_ring_spsc_reserve but, when the ring is full, commits what is pending
 * and sleeps on the ring's producer waiter until the record fits, the waiter is kicked or
 * timeout_ms passes (< 0: no limit). Returns 0 and *ret_rec; -EMSGSIZE; -EINTR when the
 * producer waiter was kicked; -ETIMEDOUT; -EINVAL when the ring has no producer waiter.
 * Producer thread only; blocks. */
int sl_ring_spsc_reserve_wait(struct sl_ring *r, size_t len, int timeout_ms, void **ret_rec);

/* Waits until one of the n rings has a record to peek, w is kicked or timeout_ms passes
 * (< 0: no limit). All the rings must have w as their consumer waiter. The caller must have
 * released what it peeked first, or a producer waiting for that space would never wake it.
 * Returns 0 (a record is there), 1 (kicked; the kick is consumed) or -ETIMEDOUT. Consumer
 * thread only; blocks. */
int sl_ring_spsc_wait_any(struct sl_ring *const *rings, size_t n, struct sl_waiter *w,
                          int timeout_ms);

#endif
