/*
 * ring.c - the out-of-line parts of the SPSC ring: construction, occupancy, and the
 * blocking helpers built on struct sl_waiter. The hot path (reserve, commit, peek,
 * release) is inline in ring.h, where the invariants and the memory ordering are stated.
 */
#include <stdlib.h>
#include <string.h>

#include "ring.h"

int sl_ring_spsc_new(size_t capacity, struct sl_waiter *cons_waiter, struct sl_waiter *prod_waiter,
                     struct sl_ring **ret_ring)
{
    struct sl_ring *r = NULL;
    size_t size = (sizeof(*r) + SL__RING_ALIGN - 1) & ~(size_t)(SL__RING_ALIGN - 1);

    if (capacity < SL_RING_MIN_CAPACITY || capacity > SL_RING_MAX_CAPACITY ||
        (capacity & (capacity - 1)) != 0) {
        return -EINVAL;
    }
    r = aligned_alloc(SL__RING_ALIGN, size);
    if (r == NULL) {
        goto fail;
    }
    memset(r, 0, size);
    /* C11 wants the size to be a multiple of the alignment: 64-byte rings get 128. */
    r->buf = aligned_alloc(SL__RING_ALIGN, capacity < SL__RING_ALIGN ? SL__RING_ALIGN : capacity);
    if (r->buf == NULL) {
        goto fail;
    }
    /* Pages are not touched here: an idle engine keeps its rings out of its RSS, and a page
     * costs one fault the first time a record reaches it (the ring's producer never reads
     * before writing). */
    r->cap = capacity;
    r->mask = capacity - 1;
    r->max_len = capacity / 2 - SL__RING_HDR;
    r->cons_waiter = cons_waiter;
    r->prod_waiter = prod_waiter;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    *ret_ring = r;
    return 0;

fail:
    sl_ring_spsc_free(r);
    return -ENOMEM;
}

void sl_ring_spsc_free(struct sl_ring *r)
{
    if (r == NULL) {
        return;
    }
    free(r->buf);
    free(r);
}

size_t sl_ring_capacity(const struct sl_ring *r)
{
    return (size_t)r->cap;
}

size_t sl_ring_max_record(const struct sl_ring *r)
{
    return (size_t)r->max_len;
}

size_t sl_ring_used(const struct sl_ring *r)
{
    /* Relaxed: a metrics snapshot. The two loads are not one instant, so clamp. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

    if (tail <= head) {
        return 0;
    }
    return tail - head > r->cap ? (size_t)r->cap : (size_t)(tail - head);
}

int sl_ring_spsc_push(struct sl_ring *r, const void *rec, size_t len)
{
    void *dst;
    int rc = sl_ring_spsc_reserve(r, len, &dst);

    if (rc < 0) {
        return rc;
    }
    if (len > 0) {
        memcpy(dst, rec, len);
    }
    sl_ring_spsc_commit(r);
    return 0;
}

struct space_wait {
    struct sl_ring *r;
    size_t len;
};

static bool has_space(void *ud)
{
    struct space_wait *sw = ud;

    return sl_ring_spsc_can_reserve(sw->r, sw->len);
}

int sl_ring_spsc_reserve_wait(struct sl_ring *r, size_t len, int timeout_ms, void **ret_rec)
{
    struct space_wait sw = {.r = r, .len = len};
    int rc = sl_ring_spsc_reserve(r, len, ret_rec);

    if (rc != -EAGAIN) {
        return rc;
    }
    if (r->prod_waiter == NULL) {
        return -EINVAL;
    }
    /* The consumer must see what is pending, or it may never free the space we need. */
    sl_ring_spsc_commit(r);
    rc = sl_waiter_wait(r->prod_waiter, has_space, &sw, timeout_ms);
    if (rc == 1) {
        return -EINTR;
    }
    if (rc < 0) {
        return rc;
    }
    return sl_ring_spsc_reserve(r, len, ret_rec);
}

struct any_wait {
    struct sl_ring *const *rings;
    size_t n;
};

static bool any_ready(void *ud)
{
    struct any_wait *aw = ud;

    for (size_t i = 0; i < aw->n; i++) {
        if (!sl_ring_spsc_empty(aw->rings[i])) {
            return true;
        }
    }
    return false;
}

int sl_ring_spsc_wait_any(struct sl_ring *const *rings, size_t n, struct sl_waiter *w,
                          int timeout_ms)
{
    struct any_wait aw = {.rings = rings, .n = n};

    return sl_waiter_wait(w, any_ready, &aw, timeout_ms);
}
