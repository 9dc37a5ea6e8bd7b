/*
 * chan.c - the engine's channels over SPSC rings (ring.h): blocking reserve with a stop
 * flag, batch commit and release. A channel is a ring; the casts are the whole layer.
 */
#include <stdlib.h>

#include "chan.h"
#include "ring.h"

struct sl_chan *sl_chan_new(size_t cap, struct sl_waiter *consumer, struct sl_waiter *producer)
{
    size_t c = SL_RING_MIN_CAPACITY;
    struct sl_ring *r = NULL;
    while (c < cap) {
        c <<= 1;
    }
    if (sl_ring_spsc_new(c, consumer, producer, &r) < 0) {
        abort();
    }
    return (struct sl_chan *)r;
}

void sl_chan_free(struct sl_chan *c)
{
    sl_ring_spsc_free((struct sl_ring *)c);
}

void *sl_chan_try_reserve(struct sl_chan *c, uint32_t len)
{
    void *rec = NULL;
    if (sl_ring_spsc_reserve((struct sl_ring *)c, len, &rec) < 0) {
        return NULL;
    }
    return rec;
}

void *sl_chan_reserve(struct sl_chan *c, uint32_t len, const atomic_bool *stop)
{
    struct sl_ring *r = (struct sl_ring *)c;
    void *rec = NULL;
    for (;;) {
        int e = sl_ring_spsc_reserve_wait(r, len, 100, &rec);
        if (e == 0) {
            return rec;
        }
        if (e == -EMSGSIZE || e == -EINVAL) {
            return NULL;
        }
        if (stop != NULL && atomic_load_explicit(stop, memory_order_relaxed)) {
            return NULL;
        }
    }
}

void sl_chan_commit(struct sl_chan *c)
{
    sl_ring_spsc_commit((struct sl_ring *)c);
}

const void *sl_chan_peek(struct sl_chan *c, uint32_t *ret_len)
{
    size_t len = 0;
    const void *p = sl_ring_spsc_peek((struct sl_ring *)c, &len);
    *ret_len = (uint32_t)len;
    return p;
}

bool sl_chan_readable(struct sl_chan *c)
{
    return !sl_ring_spsc_empty((struct sl_ring *)c);
}

void sl_chan_release(struct sl_chan *c)
{
    sl_ring_spsc_release((struct sl_ring *)c);
}

size_t sl_chan_used(const struct sl_chan *c)
{
    return sl_ring_used((const struct sl_ring *)c);
}

size_t sl_chan_cap(const struct sl_chan *c)
{
    return sl_ring_capacity((const struct sl_ring *)c);
}

size_t sl_chan_max_record(const struct sl_chan *c)
{
    return sl_ring_max_record((const struct sl_ring *)c);
}
