/*
 * test_ring.c - single-threaded tests of the SPSC ring and the waiter: empty and full,
 * skip markers at the wrap, refused records, batch visibility, release, occupancy, and the
 * waiter's return values. Byte counts are worked out by hand from the layout in ring.h
 * (8-byte header, payload padded to 8, a record at most half the capacity).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ring.h"

static struct sl_ring *ring_new(size_t cap)
{
    struct sl_ring *r = NULL;

    assert_int_equal(sl_ring_spsc_new(cap, NULL, NULL, &r), 0);
    assert_non_null(r);
    return r;
}

static void push_byte_rec(struct sl_ring *r, size_t len, uint8_t fill)
{
    void *p = NULL;

    assert_int_equal(sl_ring_spsc_reserve(r, len, &p), 0);
    memset(p, fill, len);
    sl_ring_spsc_commit(r);
}

static void pop_byte_rec(struct sl_ring *r, size_t len, uint8_t fill)
{
    size_t got = 0;
    const uint8_t *p = sl_ring_spsc_peek(r, &got);

    assert_non_null(p);
    assert_int_equal(got, len);
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(p[i], fill);
    }
}

static void test_new_rejects_bad_capacity(void **state)
{
    struct sl_ring *r = (struct sl_ring *)0x1;

    (void)state;
    assert_int_equal(sl_ring_spsc_new(0, NULL, NULL, &r), -EINVAL);
    assert_int_equal(sl_ring_spsc_new(32, NULL, NULL, &r), -EINVAL);
    assert_int_equal(sl_ring_spsc_new(1000, NULL, NULL, &r), -EINVAL);
    assert_int_equal(sl_ring_spsc_new((size_t)1 << 31, NULL, NULL, &r), -EINVAL);
    assert_ptr_equal(r, (struct sl_ring *)0x1); /* ret_* untouched on failure */
    sl_ring_spsc_free(NULL);
}

static void test_empty(void **state)
{
    struct sl_ring *r = ring_new(256);
    size_t len = 99;

    (void)state;
    assert_int_equal(sl_ring_capacity(r), 256);
    assert_int_equal(sl_ring_max_record(r), 120);
    assert_int_equal(sl_ring_used(r), 0);
    assert_true(sl_ring_spsc_empty(r));
    assert_null(sl_ring_spsc_peek(r, &len));
    assert_int_equal(len, 99);
    sl_ring_spsc_release(r); /* nothing peeked: no-op */
    sl_ring_spsc_commit(r);  /* nothing reserved: no-op */
    assert_int_equal(sl_ring_used(r), 0);
    assert_null(sl_ring_spsc_peek(r, &len));
    sl_ring_spsc_free(r);
}

/* 256 bytes hold sixteen records of 8 payload bytes (8 header + 8 payload each). */
static void test_full(void **state)
{
    struct sl_ring *r = ring_new(256);
    void *p = NULL;

    (void)state;
    for (int i = 0; i < 16; i++) {
        assert_int_equal(sl_ring_spsc_reserve(r, 8, &p), 0);
        memcpy(p, &i, sizeof(i));
    }
    assert_int_equal(sl_ring_spsc_reserve(r, 8, &p), -EAGAIN);
    assert_int_equal(sl_ring_spsc_reserve(r, 0, &p), -EAGAIN); /* even a header is 8 bytes */
    assert_false(sl_ring_spsc_can_reserve(r, 0));
    sl_ring_spsc_commit(r);
    assert_int_equal(sl_ring_used(r), 256);
    assert_int_equal(sl_ring_spsc_push(r, "x", 1), -EAGAIN);
    for (int i = 0; i < 16; i++) {
        size_t len = 0;
        const int *v = sl_ring_spsc_peek(r, &len);
        assert_non_null(v);
        assert_int_equal(len, 8);
        assert_int_equal(*v, i);
    }
    assert_null(sl_ring_spsc_peek(r, &(size_t){0}));
    sl_ring_spsc_release(r);
    assert_int_equal(sl_ring_used(r), 0);
    assert_true(sl_ring_spsc_can_reserve(r, 120));
    sl_ring_spsc_free(r);
}

static void test_too_large_refused(void **state)
{
    struct sl_ring *r = ring_new(256);
    void *p = (void *)0x1;

    (void)state;
    assert_int_equal(sl_ring_spsc_reserve(r, 121, &p), -EMSGSIZE);
    assert_int_equal(sl_ring_spsc_reserve(r, 256, &p), -EMSGSIZE);
    assert_int_equal(sl_ring_spsc_reserve(r, SIZE_MAX, &p), -EMSGSIZE);
    assert_ptr_equal(p, (void *)0x1);
    assert_false(sl_ring_spsc_can_reserve(r, 121));
    /* The largest record fits, and a refused one leaves nothing behind. */
    assert_int_equal(sl_ring_spsc_reserve(r, 120, &p), 0);
    sl_ring_spsc_commit(r);
    assert_int_equal(sl_ring_used(r), 128);
    /* A full-size record always fits once the ring is empty, wherever the counters are. */
    for (int lap = 0; lap < 5; lap++) {
        size_t len = 0;
        assert_non_null(sl_ring_spsc_peek(r, &len));
        assert_int_equal(len, 120);
        sl_ring_spsc_release(r);
        assert_int_equal(sl_ring_spsc_reserve(r, 72, &p), 0); /* shift by 80 bytes */
        sl_ring_spsc_commit(r);
        assert_non_null(sl_ring_spsc_peek(r, &len));
        assert_int_equal(len, 72);
        sl_ring_spsc_release(r);
        assert_int_equal(sl_ring_spsc_reserve(r, 120, &p), 0);
        sl_ring_spsc_commit(r);
    }
    sl_ring_spsc_free(r);
}

static void test_zero_length_record(void **state)
{
    struct sl_ring *r = ring_new(64);
    size_t len = 7;

    (void)state;
    assert_int_equal(sl_ring_spsc_push(r, NULL, 0), 0);
    assert_int_equal(sl_ring_used(r), 8);
    assert_non_null(sl_ring_spsc_peek(r, &len));
    assert_int_equal(len, 0);
    assert_null(sl_ring_spsc_peek(r, &len));
    sl_ring_spsc_release(r);
    assert_int_equal(sl_ring_used(r), 0);
    sl_ring_spsc_free(r);
}

/* Nothing reserved is visible before commit; one commit publishes the whole batch. */
static void test_batch_commit_visibility(void **state)
{
    struct sl_ring *r = ring_new(1024);
    void *p = NULL;
    size_t len = 0;

    (void)state;
    for (uint8_t i = 1; i <= 3; i++) {
        assert_int_equal(sl_ring_spsc_reserve(r, i * 10u, &p), 0);
        memset(p, i, i * 10u);
    }
    assert_null(sl_ring_spsc_peek(r, &len));
    assert_true(sl_ring_spsc_empty(r));
    assert_int_equal(sl_ring_used(r), 0);
    sl_ring_spsc_commit(r);
    /* 10 -> 8+16, 20 -> 8+24, 30 -> 8+32: 96 bytes. */
    assert_int_equal(sl_ring_used(r), 96);
    assert_false(sl_ring_spsc_empty(r));
    pop_byte_rec(r, 10, 1);
    pop_byte_rec(r, 20, 2);
    /* A record reserved now is not visible even though earlier ones are. */
    assert_int_equal(sl_ring_spsc_reserve(r, 5, &p), 0);
    memset(p, 4, 5);
    pop_byte_rec(r, 30, 3);
    assert_null(sl_ring_spsc_peek(r, &len));
    sl_ring_spsc_commit(r);
    pop_byte_rec(r, 5, 4);
    assert_null(sl_ring_spsc_peek(r, &len));
    sl_ring_spsc_free(r);
}

static void test_cancel_drops_pending(void **state)
{
    struct sl_ring *r = ring_new(128);
    void *p = NULL;
    size_t len = 0;

    (void)state;
    push_byte_rec(r, 16, 0xaa); /* 24 bytes, committed */
    assert_int_equal(sl_ring_spsc_reserve(r, 40, &p), 0);
    assert_int_equal(sl_ring_spsc_reserve(r, 40, &p), 0);
    assert_int_equal(sl_ring_spsc_reserve(r, 40, &p), -EAGAIN); /* 24 + 48 + 48 + 48 > 128 */
    sl_ring_spsc_cancel(r);
    sl_ring_spsc_commit(r); /* nothing pending any more */
    assert_int_equal(sl_ring_used(r), 24);
    pop_byte_rec(r, 16, 0xaa);
    assert_null(sl_ring_spsc_peek(r, &len));
    /* The cancelled space is available again. */
    assert_int_equal(sl_ring_spsc_reserve(r, 40, &p), 0);
    assert_int_equal(sl_ring_spsc_reserve(r, 40, &p), 0);
    sl_ring_spsc_free(r);
}

/* Release frees exactly what was peeked, and the producer sees the space only then. */
static void test_release_frees_space(void **state)
{
    struct sl_ring *r = ring_new(128);
    void *p = NULL;

    (void)state;
    for (uint8_t i = 0; i < 4; i++) {
        push_byte_rec(r, 24, i); /* 32 bytes each: full */
    }
    assert_int_equal(sl_ring_spsc_reserve(r, 24, &p), -EAGAIN);
    pop_byte_rec(r, 24, 0);
    pop_byte_rec(r, 24, 1);
    assert_int_equal(sl_ring_used(r), 128);
    assert_int_equal(sl_ring_spsc_reserve(r, 24, &p), -EAGAIN); /* peeked, not released */
    sl_ring_spsc_release(r);
    assert_int_equal(sl_ring_used(r), 64);
    push_byte_rec(r, 24, 4);
    push_byte_rec(r, 24, 5);
    assert_int_equal(sl_ring_spsc_reserve(r, 24, &p), -EAGAIN);
    pop_byte_rec(r, 24, 2);
    pop_byte_rec(r, 24, 3);
    pop_byte_rec(r, 24, 4);
    pop_byte_rec(r, 24, 5);
    sl_ring_spsc_release(r);
    assert_int_equal(sl_ring_used(r), 0);
    sl_ring_spsc_free(r);
}

/* A record that does not fit before the end is preceded by a skip marker and starts at 0. */
static void test_skip_marker(void **state)
{
    struct sl_ring *r = ring_new(256);
    const struct sl__ring_hdr *skip;
    const uint8_t *rec;
    void *p = NULL;
    size_t len = 0;

    (void)state;
    for (uint8_t i = 0; i < 3; i++) {
        push_byte_rec(r, 56, i); /* 64 bytes each: tail at 192 */
    }
    for (uint8_t i = 0; i < 3; i++) {
        pop_byte_rec(r, 56, i);
    }
    sl_ring_spsc_release(r); /* head at 192: empty, 64 bytes before the end */
    assert_int_equal(sl_ring_used(r), 0);

    /* 72 bytes need 80 > 64: 64 bytes skipped, the record at offset 0. */
    assert_int_equal(sl_ring_spsc_reserve(r, 72, &p), 0);
    assert_ptr_equal(p, r->buf + 8);
    memset(p, 0x5a, 72);
    skip = (const struct sl__ring_hdr *)(r->buf + 192);
    assert_int_equal(skip->flags, SL__RING_SKIP);
    assert_int_equal(sl_ring_used(r), 0);
    sl_ring_spsc_commit(r);
    assert_int_equal(sl_ring_used(r), 64 + 80);
    rec = sl_ring_spsc_peek(r, &len);
    assert_ptr_equal(rec, r->buf + 8);
    assert_int_equal(len, 72);
    for (size_t i = 0; i < 72; i++) {
        assert_int_equal(rec[i], 0x5a);
    }
    assert_null(sl_ring_spsc_peek(r, &len));
    sl_ring_spsc_release(r);
    assert_int_equal(sl_ring_used(r), 0);

    /* A record that fits exactly up to the end takes no skip marker. */
    push_byte_rec(r, 56, 7);  /* 80..144 */
    push_byte_rec(r, 104, 8); /* 144..256: exactly to the end */
    assert_int_equal(sl_ring_used(r), 64 + 112);
    pop_byte_rec(r, 56, 7);
    pop_byte_rec(r, 104, 8);
    sl_ring_spsc_release(r);
    push_byte_rec(r, 0, 9);
    assert_ptr_equal(sl_ring_spsc_peek(r, &len), r->buf + 8);
    sl_ring_spsc_free(r);
}

/* The skip padding needs room too: 128 bytes are free, 80 are needed, but 64 + 80 are. */
static void test_skip_needs_room(void **state)
{
    struct sl_ring *r = ring_new(256);
    void *p = NULL;

    (void)state;
    for (uint8_t i = 0; i < 3; i++) {
        push_byte_rec(r, 56, i); /* tail at 192 */
    }
    pop_byte_rec(r, 56, 0);
    sl_ring_spsc_release(r); /* head at 64: used 128, free 128 */
    assert_int_equal(sl_ring_used(r), 128);
    assert_false(sl_ring_spsc_can_reserve(r, 72));
    assert_int_equal(sl_ring_spsc_reserve(r, 72, &p), -EAGAIN);
    assert_true(sl_ring_spsc_can_reserve(r, 56)); /* 64 fits before the end */
    pop_byte_rec(r, 56, 1);
    sl_ring_spsc_release(r); /* head at 128: free 192 >= 144 */
    assert_true(sl_ring_spsc_can_reserve(r, 72));
    assert_int_equal(sl_ring_spsc_reserve(r, 72, &p), 0);
    assert_ptr_equal(p, r->buf + 8);
    sl_ring_spsc_free(r);
}

/* splitmix64: the test's own generator for sizes and contents. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Many laps with random sizes and random batch lengths on both sides; the model is a plain
 * FIFO of sequence numbers, from which length and content follow. */
static void test_wrap_variable_sizes(void **state)
{
    struct sl_ring *r = ring_new(512);
    uint64_t next_put = 0, next_get = 0, rng = 42;
    uint64_t skips_seen = 0;

    (void)state;
    for (int round = 0; round < 20000; round++) {
        int nput = (int)((rng = mix(rng)) % 9);
        int nget = (int)((rng = mix(rng)) % 9);

        for (int i = 0; i < nput; i++) {
            size_t len = mix(next_put) % 249; /* 0..248 = max record */
            uint8_t *p = NULL;
            int rc = sl_ring_spsc_reserve(r, len, (void **)&p);
            if (rc == -EAGAIN) {
                break;
            }
            assert_int_equal(rc, 0);
            assert_int_equal((uintptr_t)p % 8, 0);
            assert_true(p >= r->buf + 8 && p + len <= r->buf + 512);
            for (size_t k = 0; k < len; k++) {
                p[k] = (uint8_t)(next_put * 31 + k);
            }
            next_put++;
        }
        sl_ring_spsc_commit(r);
        assert_true(sl_ring_used(r) <= 512);
        for (int i = 0; i < nget; i++) {
            size_t len = 0;
            const uint8_t *p = sl_ring_spsc_peek(r, &len);
            if (p == NULL) {
                assert_int_equal(next_get, next_put);
                break;
            }
            assert_int_equal(len, mix(next_get) % 249);
            for (size_t k = 0; k < len; k++) {
                assert_int_equal(p[k], (uint8_t)(next_get * 31 + k));
            }
            if (p == r->buf + 8) {
                skips_seen++;
            }
            next_get++;
        }
        sl_ring_spsc_release(r);
    }
    assert_true(next_put > 10000);
    assert_true(next_get + 64 > next_put);
    assert_true(skips_seen > 100); /* the wrap was crossed many times */
    sl_ring_spsc_free(r);
}

static void test_occupancy(void **state)
{
    struct sl_ring *r = ring_new(128);
    void *p = NULL;
    size_t len = 0;

    (void)state;
    /* Payloads 1, 8 and 9 take 16, 16 and 24 bytes. */
    assert_int_equal(sl_ring_spsc_reserve(r, 1, &p), 0);
    assert_int_equal(sl_ring_spsc_reserve(r, 8, &p), 0);
    assert_int_equal(sl_ring_spsc_reserve(r, 9, &p), 0);
    assert_int_equal(sl_ring_used(r), 0);
    sl_ring_spsc_commit(r);
    assert_int_equal(sl_ring_used(r), 56);
    assert_non_null(sl_ring_spsc_peek(r, &len));
    assert_int_equal(len, 1);
    assert_int_equal(sl_ring_used(r), 56); /* peeked is still used */
    sl_ring_spsc_release(r);
    assert_int_equal(sl_ring_used(r), 40);
    assert_non_null(sl_ring_spsc_peek(r, &len));
    assert_non_null(sl_ring_spsc_peek(r, &len));
    assert_int_equal(len, 9);
    sl_ring_spsc_release(r);
    assert_int_equal(sl_ring_used(r), 0);
    assert_int_equal(sl_ring_capacity(r), 128);
    sl_ring_spsc_free(r);
}

/* The commit path makes no wake-up syscall while the consumer is awake. */
static void test_commit_does_not_wake_awake_consumer(void **state)
{
    struct sl_waiter cw, pw;
    struct sl_ring *r = NULL;

    (void)state;
    sl_waiter_init(&cw, 0);
    sl_waiter_init(&pw, 0);
    assert_int_equal(sl_ring_spsc_new(256, &cw, &pw, &r), 0);
    for (int i = 0; i < 100; i++) {
        size_t len = 0;
        assert_int_equal(sl_ring_spsc_push(r, &i, sizeof(i)), 0);
        assert_non_null(sl_ring_spsc_peek(r, &len));
        sl_ring_spsc_release(r);
    }
    assert_int_equal(atomic_load(&cw.wakeups), 0);
    assert_int_equal(atomic_load(&pw.wakeups), 0);
    assert_int_equal(atomic_load(&cw.word), 0);
    sl_ring_spsc_free(r);
}

static bool always(void *ud)
{
    (void)ud;
    return true;
}

static bool never(void *ud)
{
    (*(int *)ud)++;
    return false;
}

static void test_waiter_returns(void **state)
{
    struct sl_waiter w;
    int polls = 0;
    int64_t t0;

    (void)state;
    sl_waiter_init(&w, 10);
    assert_int_equal(sl_waiter_wait(&w, always, NULL, -1), 0);
    assert_int_equal(sl_waiter_wait(&w, never, &polls, 0), -ETIMEDOUT);
    assert_int_equal(polls, 11); /* 10 spins and the check after prepare */
    assert_int_equal(atomic_load(&w.sleeps), 0);
    assert_int_equal(atomic_load(&w.sleeping), 0);

    t0 = sl_mono_ms();
    assert_int_equal(sl_waiter_wait(&w, never, &polls, 30), -ETIMEDOUT);
    assert_true(sl_mono_ms() - t0 >= 30);
    assert_true(atomic_load(&w.sleeps) >= 1);
    assert_int_equal(atomic_load(&w.sleeping), 0);

    /* A kick before the wait is not lost, and is consumed once. */
    sl_waiter_kick(&w);
    assert_int_equal(sl_waiter_wait(&w, never, &polls, -1), 1);
    assert_int_equal(sl_waiter_wait(&w, never, &polls, 0), -ETIMEDOUT);

    /* A notify with nobody asleep costs nothing; a wake bumps the word once. */
    sl_waiter_notify(&w);
    assert_int_equal(atomic_load(&w.wakeups), 0);
    (void)sl_waiter_prepare(&w);
    sl_waiter_notify(&w);
    sl_waiter_notify(&w);
    assert_int_equal(atomic_load(&w.wakeups), 1);
    assert_int_equal(atomic_load(&w.word), 1);
    /* The token read before the wake makes sleep return at once. */
    assert_int_equal(sl_waiter_sleep(&w, 0, -1), 0);
}

static void test_blocking_helpers_time_out(void **state)
{
    struct sl_waiter cw, pw;
    struct sl_ring *r = NULL;
    struct sl_ring *rings[1];
    void *p = NULL;

    (void)state;
    sl_waiter_init(&cw, 4);
    sl_waiter_init(&pw, 4);
    assert_int_equal(sl_ring_spsc_new(64, &cw, &pw, &r), 0);
    rings[0] = r;
    assert_int_equal(sl_ring_spsc_wait_any(rings, 1, &cw, 10), -ETIMEDOUT);
    assert_int_equal(sl_ring_spsc_reserve_wait(r, 24, 10, &p), 0);
    assert_int_equal(sl_ring_spsc_reserve_wait(r, 24, 10, &p), 0); /* 64 bytes: full */
    assert_int_equal(sl_ring_used(r), 0);
    assert_int_equal(sl_ring_spsc_reserve_wait(r, 24, 10, &p), -ETIMEDOUT);
    assert_int_equal(sl_ring_used(r), 64); /* pending records were committed first */
    assert_int_equal(sl_ring_spsc_wait_any(rings, 1, &cw, -1), 0);
    assert_int_equal(sl_ring_spsc_reserve_wait(r, 40, 10, &p), -EMSGSIZE);
    sl_waiter_kick(&pw);
    assert_int_equal(sl_ring_spsc_reserve_wait(r, 24, -1, &p), -EINTR);
    sl_waiter_kick(&cw);
    assert_int_equal(sl_ring_spsc_wait_any(rings, 0, &cw, -1), 1);
    sl_ring_spsc_free(r);

    assert_int_equal(sl_ring_spsc_new(64, NULL, NULL, &r), 0);
    assert_int_equal(sl_ring_spsc_push(r, "abcdefghijklmnopqrstuvw", 24), 0);
    assert_int_equal(sl_ring_spsc_push(r, "abcdefghijklmnopqrstuvw", 24), 0);
    assert_int_equal(sl_ring_spsc_reserve_wait(r, 24, 10, &p), -EINVAL);
    sl_ring_spsc_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_capacity),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_too_large_refused),
        cmocka_unit_test(test_zero_length_record),
        cmocka_unit_test(test_batch_commit_visibility),
        cmocka_unit_test(test_cancel_drops_pending),
        cmocka_unit_test(test_release_frees_space),
        cmocka_unit_test(test_skip_marker),
        cmocka_unit_test(test_skip_needs_room),
        cmocka_unit_test(test_wrap_variable_sizes),
        cmocka_unit_test(test_occupancy),
        cmocka_unit_test(test_commit_does_not_wake_awake_consumer),
        cmocka_unit_test(test_waiter_returns),
        cmocka_unit_test(test_blocking_helpers_time_out),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
