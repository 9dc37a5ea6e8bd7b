/*
 * test_ring_stress.c - rings under real threads: three producers and two consumers on five
 * small rings (P0->C0, P1->C0, P2->C0, P1->C1, P2->C1), so one consumer reads several rings
 * through one waiter and one producer feeds several rings through one waiter. Records have
 * random sizes (some close to the maximum, to cross the wrap with skip markers), a sequence
 * number per ring, bytes from a generator the consumer re-runs, and a checksum; batches on
 * both sides have random lengths, and both sides spin very little before sleeping, and take
 * turns at being slow, so they sleep and wake all the time. The consumers check order and
 * content of every record.
 *
 * Lost wake-ups: every wait has a 2 s timeout while the other side always has work within
 * microseconds, so a wait that times out means a wake-up was lost; the test counts them and
 * requires none. A global deadline stops everything if the test hangs.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ring.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

#ifdef UNDER_TSAN
#define RECORDS_PER_RING 200000u
#else
#define RECORDS_PER_RING 500000u
#endif

#define NPROD       3
#define NCONS       2
#define NRINGS      5
#define RING_BYTES  4096u
#define WAIT_MS     2000
#define DEADLINE_MS 60000
#define HDR_BYTES   16u /* seq (8), ring (4), len (4) */
#define SUM_BYTES   8u

struct link {
    int prod, cons;
    struct sl_ring *r;
};

static struct link links[NRINGS] = {
    {0, 0, NULL}, {1, 0, NULL}, {2, 0, NULL}, {1, 1, NULL}, {2, 1, NULL},
};

static struct sl_waiter prod_w[NPROD];
static struct sl_waiter cons_w[NCONS];
static _Atomic int stop;          /* the deadline passed */
static _Atomic uint64_t timeouts; /* waits that timed out: lost wake-ups */
static _Atomic uint64_t bad;      /* records with wrong order, length or content */
static _Atomic uint64_t received; /* records checked */
static int64_t deadline_ms;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Record length for (ring, seq): mostly small, sometimes large, rarely the maximum. */
static size_t rec_len(int ring, uint64_t seq, size_t max)
{
    uint64_t h = mix(((uint64_t)ring << 40) ^ seq);
    size_t min = HDR_BYTES + SUM_BYTES;

    switch (h % 16) {
    case 0:
        return max - (size_t)((h >> 8) % 16);
    case 1:
    case 2:
        return min + (size_t)((h >> 8) % (max - min));
    default:
        return min + (size_t)((h >> 8) % 64);
    }
}

static uint8_t body_byte(int ring, uint64_t seq, size_t i)
{
    return (uint8_t)(mix(seq * 8191 + (uint64_t)ring) >> (8 * (i % 8))) ^ (uint8_t)i;
}

/* FNV-1a over the record before its checksum. */
static uint64_t checksum(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

static void fill(uint8_t *p, int ring, uint64_t seq, size_t len)
{
    uint32_t r32 = (uint32_t)ring, l32 = (uint32_t)len;
    uint64_t sum;

    memcpy(p, &seq, 8);
    memcpy(p + 8, &r32, 4);
    memcpy(p + 12, &l32, 4);
    for (size_t i = HDR_BYTES; i < len - SUM_BYTES; i++) {
        p[i] = body_byte(ring, seq, i);
    }
    sum = checksum(p, len - SUM_BYTES);
    memcpy(p + len - SUM_BYTES, &sum, 8);
}

static bool check(const uint8_t *p, size_t len, int ring, uint64_t seq, size_t max)
{
    uint64_t got_seq, sum;
    uint32_t r32, l32;

    if (len != rec_len(ring, seq, max)) {
        return false;
    }
    memcpy(&got_seq, p, 8);
    memcpy(&r32, p + 8, 4);
    memcpy(&l32, p + 12, 4);
    if (got_seq != seq || r32 != (uint32_t)ring || l32 != (uint32_t)len) {
        return false;
    }
    memcpy(&sum, p + len - SUM_BYTES, 8);
    if (sum != checksum(p, len - SUM_BYTES)) {
        return false;
    }
    for (size_t i = HDR_BYTES; i < len - SUM_BYTES; i++) {
        if (p[i] != body_byte(ring, seq, i)) {
            return false;
        }
    }
    return true;
}

static bool past_deadline(void)
{
    if (atomic_load(&stop)) {
        return true;
    }
    if (sl_mono_ms() > deadline_ms) {
        atomic_store(&stop, 1);
        for (int i = 0; i < NPROD; i++) {
            sl_waiter_kick(&prod_w[i]);
        }
        for (int i = 0; i < NCONS; i++) {
            sl_waiter_kick(&cons_w[i]);
        }
        return true;
    }
    return false;
}

/* Burns some CPU: the slow phases that make the other side fill up or run dry. */
static uint64_t busy(uint64_t n)
{
    uint64_t x = n;

    for (uint64_t i = 0; i < n; i++) {
        x = mix(x);
    }
    return x;
}

static void *producer(void *arg)
{
    int me = (int)(intptr_t)arg;
    int mine[NRINGS], nmine = 0;
    uint64_t seq[NRINGS] = {0};
    unsigned pending[NRINGS] = {0}, batch[NRINGS];
    uint64_t rng = mix(1000 + (uint64_t)me);
    unsigned done = 0;

    for (int i = 0; i < NRINGS; i++) {
        if (links[i].prod == me) {
            mine[nmine++] = i;
            batch[i] = 1;
        }
    }
    while (done < (unsigned)nmine && !past_deadline()) {
        int k = mine[(rng = mix(rng)) % (uint64_t)nmine];
        struct sl_ring *r = links[k].r;
        size_t len;
        void *p;
        int rc;

        if (seq[k] == RECORDS_PER_RING) {
            continue;
        }
        len = rec_len(k, seq[k], sl_ring_max_record(r));
        rc = sl_ring_spsc_reserve(r, len, &p);
        if (rc == -EAGAIN) {
            /* Publish everything before sleeping, then wait for this ring only. */
            for (int j = 0; j < nmine; j++) {
                sl_ring_spsc_commit(links[mine[j]].r);
                pending[mine[j]] = 0;
            }
            rc = sl_ring_spsc_reserve_wait(r, len, WAIT_MS, &p);
            if (rc == -ETIMEDOUT) {
                atomic_fetch_add(&timeouts, 1);
                continue;
            }
            if (rc == -EINTR) {
                continue; /* kicked at the deadline */
            }
        }
        if (rc != 0) {
            atomic_fetch_add(&bad, 1);
            break;
        }
        fill(p, k, seq[k], len);
        if (++seq[k] == RECORDS_PER_RING) {
            done++;
        }
        if (++pending[k] >= batch[k] || seq[k] == RECORDS_PER_RING) {
            sl_ring_spsc_commit(r);
            pending[k] = 0;
            batch[k] = 1 + (unsigned)((rng = mix(rng)) % 32);
        }
        if ((rng = mix(rng)) % 4096 == 0) {
            /* A slow phase: publish and dawdle, so that consumers run dry and sleep. */
            for (int j = 0; j < nmine; j++) {
                sl_ring_spsc_commit(links[mine[j]].r);
                pending[mine[j]] = 0;
            }
            rng ^= busy(rng % 2000);
            sched_yield();
        }
    }
    for (int j = 0; j < nmine; j++) {
        sl_ring_spsc_commit(links[mine[j]].r);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    int me = (int)(intptr_t)arg;
    struct sl_ring *rings[NRINGS];
    int ids[NRINGS], n = 0;
    uint64_t seq[NRINGS] = {0};
    uint64_t rng = mix(2000 + (uint64_t)me);
    unsigned done = 0;

    for (int i = 0; i < NRINGS; i++) {
        if (links[i].cons == me) {
            ids[n] = i;
            rings[n++] = links[i].r;
        }
    }
    while (done < (unsigned)n && !past_deadline()) {
        bool got = false;

        for (int j = 0; j < n; j++) {
            int k = ids[j];
            unsigned want = 1 + (unsigned)((rng = mix(rng)) % 48);
            size_t max = sl_ring_max_record(rings[j]);
            size_t len;
            const uint8_t *p;

            for (unsigned m = 0; m < want && (p = sl_ring_spsc_peek(rings[j], &len)); m++) {
                got = true;
                if (seq[k] >= RECORDS_PER_RING || !check(p, len, k, seq[k], max)) {
                    atomic_fetch_add(&bad, 1);
                    atomic_store(&stop, 1);
                    return NULL;
                }
                if (++seq[k] == RECORDS_PER_RING) {
                    done++;
                }
            }
            sl_ring_spsc_release(rings[j]);
        }
        if ((rng = mix(rng)) % 2048 == 0) {
            rng ^= busy(rng % 5000); /* a slow phase: producers fill up and sleep */
        }
        if (!got && done < (unsigned)n) {
            int rc = sl_ring_spsc_wait_any(rings, (size_t)n, &cons_w[me], WAIT_MS);
            if (rc == -ETIMEDOUT) {
                atomic_fetch_add(&timeouts, 1);
            }
        }
    }
    for (int j = 0; j < n; j++) {
        atomic_fetch_add(&received, seq[ids[j]]);
    }
    return NULL;
}

static void test_stress_many_rings(void **state)
{
    pthread_t pt[NPROD], ct[NCONS];
    uint64_t psleeps = 0, csleeps = 0, pwakes = 0, cwakes = 0;
    int64_t t0 = sl_mono_ms();

    (void)state;
    deadline_ms = t0 + DEADLINE_MS;
    for (int i = 0; i < NPROD; i++) {
        sl_waiter_init(&prod_w[i], 8);
    }
    for (int i = 0; i < NCONS; i++) {
        sl_waiter_init(&cons_w[i], 8);
    }
    for (int i = 0; i < NRINGS; i++) {
        assert_int_equal(sl_ring_spsc_new(RING_BYTES, &cons_w[links[i].cons],
                                          &prod_w[links[i].prod], &links[i].r),
                         0);
    }
    for (int i = 0; i < NCONS; i++) {
        assert_int_equal(pthread_create(&ct[i], NULL, consumer, (void *)(intptr_t)i), 0);
    }
    for (int i = 0; i < NPROD; i++) {
        assert_int_equal(pthread_create(&pt[i], NULL, producer, (void *)(intptr_t)i), 0);
    }
    for (int i = 0; i < NPROD; i++) {
        pthread_join(pt[i], NULL);
        psleeps += atomic_load(&prod_w[i].sleeps);
        pwakes += atomic_load(&prod_w[i].wakeups);
    }
    for (int i = 0; i < NCONS; i++) {
        pthread_join(ct[i], NULL);
        csleeps += atomic_load(&cons_w[i].sleeps);
        cwakes += atomic_load(&cons_w[i].wakeups);
    }
    printf("# %llu records in %lld ms; producers slept %llu (woken %llu), consumers slept "
           "%llu (woken %llu); timeouts %llu\n",
           (unsigned long long)atomic_load(&received), (long long)(sl_mono_ms() - t0),
           (unsigned long long)psleeps, (unsigned long long)pwakes, (unsigned long long)csleeps,
           (unsigned long long)cwakes, (unsigned long long)atomic_load(&timeouts));
    assert_int_equal(atomic_load(&stop), 0);
    assert_int_equal(atomic_load(&bad), 0);
    assert_int_equal(atomic_load(&timeouts), 0);
    assert_int_equal(atomic_load(&received), (uint64_t)NRINGS * RECORDS_PER_RING);
    for (int i = 0; i < NRINGS; i++) {
        assert_int_equal(sl_ring_used(links[i].r), 0);
        sl_ring_spsc_free(links[i].r);
    }
    /* Both sides slept and were woken by the other side. */
    assert_true(psleeps > 0 && pwakes > 0);
    assert_true(csleeps > 0 && cwakes > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_many_rings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
