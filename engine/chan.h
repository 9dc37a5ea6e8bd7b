/*
 * chan.h - the engine's view of a ring: a single-producer/single-consumer channel of
 * variable-length records between two threads, plus the waiter a consumer thread sleeps on.
 *
 * This is a thin layer over ring.h that adds what the engine wants from every ring:
 * a blocking reserve (backpressure: the producer waits while the ring is full, unless the
 * engine is stopping) and waking the consumer's waiter on commit.
 *
 * Record layout: every record starts with a uint8_t kind (enum sl_rec_kind).
 */
#ifndef SL_CHAN_H
#define SL_CHAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "waiter.h"

struct sl_chan;

enum sl_rec_kind {
    SL_REC_EVENT = 1,  /* source -> shard: one event of one windowed query */
    SL_REC_MARKER = 2, /* source -> shard -> sink, source -> sink: watermark and sequence */
    SL_REC_ROW = 3,    /* shard -> sink, source -> sink: one result row */
};

/* A channel of cap bytes (rounded up to a power of two) whose consumer sleeps on consumer
 * and whose producer sleeps on producer while the channel is full (waiter.h). */
struct sl_chan *sl_chan_new(size_t cap, struct sl_waiter *consumer, struct sl_waiter *producer);
/* True if a record is published (consumer side; for waiter predicates). */
bool sl_chan_readable(struct sl_chan *c);
void sl_chan_free(struct sl_chan *c);

/* Producer: room for a record of len bytes (8-aligned pointer). Blocks while the channel is
 * full; returns NULL only if *stop becomes true while waiting, or len can never fit. */
void *sl_chan_reserve(struct sl_chan *c, uint32_t len, const atomic_bool *stop);
/* Producer: like sl_chan_reserve but returns NULL at once when the channel is full. */
void *sl_chan_try_reserve(struct sl_chan *c, uint32_t len);
/* Producer: publishes every record reserved since the last commit; wakes the consumer. */
void sl_chan_commit(struct sl_chan *c);

/* Consumer: the next record and its length, or NULL if none is published. */
const void *sl_chan_peek(struct sl_chan *c, uint32_t *ret_len);
/* Consumer: frees every record peeked since the last release; wakes a waiting producer. */
void sl_chan_release(struct sl_chan *c);

/* The largest record the channel takes. Any thread. */
size_t sl_chan_max_record(const struct sl_chan *c);

/* Bytes in use / capacity, any thread (approximate, for metrics). */
size_t sl_chan_used(const struct sl_chan *c);
size_t sl_chan_cap(const struct sl_chan *c);

#endif
