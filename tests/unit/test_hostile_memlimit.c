/*
 * test_hostile_memlimit.c - the process memory budget (engine/memlimit.c): no budget refuses
 * nothing; reservations between measurements are refused past the budget less its headroom,
 * counted, and make /readyz degraded with a reason; the next measurement does not recover unless
 * memory was freed (no flapping), freeing a sixteenth of the budget does;
 * the metrics are registered and read back; the default comes from the cgroup (or is none).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "engine/memlimit.h"
#include "engine/metrics.h"

static void test_no_budget(void **state)
{
    (void)state;
    char reason[256] = "";
    sl_memlimit_set(0);
    uint64_t refused = sl_memlimit_refused();
    for (int i = 0; i < 1000; i++) {
        assert_true(sl_memlimit_take((size_t)1 << 30));
    }
    assert_int_equal(sl_memlimit_refused(), refused);
    assert_true(sl_memlimit_ready(reason, sizeof(reason)));
    assert_int_equal(sl_memlimit_get(), 0);
}

/* Touches n bytes of fresh anonymous memory, so that the RSS grows by n. */
static void *touch(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 1, n);
    return p;
}

static void test_budget(void **state)
{
    (void)state;
    char reason[256] = "";
    /* a block the test frees later, so that the RSS falls */
    size_t blocksz = (size_t)32 << 20;
    void *block = touch(blocksz);
    sl_memlimit_set(1); /* take a measurement (with the block, and a sanitizer's shadow of it) */
    uint64_t rss = sl_memlimit_used();
    assert_true(rss > 0);
    /* 64 MiB above the RSS, headroom 1/16 of the budget */
    int64_t budget = (int64_t)rss + (64 << 20);
    uint64_t threshold = (uint64_t)budget - (uint64_t)budget / 16;
    assert_true((uint64_t)budget / 16 < blocksz);
    sl_memlimit_set(budget);
    assert_int_equal(sl_memlimit_get(), budget);
    assert_true(sl_memlimit_ready(reason, sizeof(reason)));
    uint64_t refused = sl_memlimit_refused();
    uint64_t measured = sl_memlimit_used();
    size_t step = 1 << 20;
    int ok = 0;
    while (sl_memlimit_take(step)) {
        ok++;
        assert_true(ok < 1000);
    }
    /* every 1 MiB reservation fit while measured + reservations stayed under the threshold */
    assert_true(measured + (uint64_t)ok * step < threshold);
    assert_true(measured + (uint64_t)(ok + 1) * step >= threshold);
    assert_int_equal(sl_memlimit_refused(), refused + 1);
    /* over: even a small group is refused and counted, readiness says why */
    assert_false(sl_memlimit_take(64));
    assert_int_equal(sl_memlimit_refused(), refused + 2);
    assert_false(sl_memlimit_ready(reason, sizeof(reason)));
    assert_non_null(strstr(reason, "degraded: memory limit"));
    /* A measurement replaces the reservations. The RSS did not grow (the estimate said full
     * before it got there), but nothing was freed either: still refused, no flapping. */
    sl_memlimit_refresh();
    assert_false(sl_memlimit_ready(reason, sizeof(reason)));
    assert_false(sl_memlimit_take(64));
    sl_memlimit_refresh();
    assert_false(sl_memlimit_ready(reason, sizeof(reason)));
    /* freeing more than a sixteenth of the budget recovers */
    assert_int_equal(munmap(block, blocksz), 0);
    sl_memlimit_refresh();
    assert_true(sl_memlimit_ready(reason, sizeof(reason)));
    assert_true(sl_memlimit_take(64));
    sl_memlimit_set(0);
}

static void test_rss_over(void **state)
{
    (void)state;
    char reason[256] = "";
    sl_memlimit_set(4096); /* far below any RSS */
    assert_false(sl_memlimit_ready(reason, sizeof(reason)));
    assert_false(sl_memlimit_take(1));
    sl_memlimit_refresh();
    assert_false(sl_memlimit_ready(reason, sizeof(reason)));
    sl_memlimit_set(0);
    assert_true(sl_memlimit_ready(reason, sizeof(reason)));
}

static void test_metrics(void **state)
{
    (void)state;
    struct sl_metrics *m;
    struct sl_err err;
    assert_int_equal(sl_metrics_new(&m), 0);
    assert_int_equal(sl_memlimit_register_metrics(m, &err), 0);
    sl_memlimit_set(12345678);
    char *text;
    size_t len;
    assert_int_equal(sl_metrics_render(m, &text, &len), 0);
    assert_non_null(strstr(text, "\nsluice_memory_limit_bytes 12345678\n"));
    assert_non_null(strstr(text, "\nsluice_memory_used_bytes "));
    assert_non_null(strstr(text, "\nsluice_memory_refused_groups_total "));
    free(text);
    sl_metrics_free(m);
    sl_memlimit_set(0);
}

static void test_default(void **state)
{
    (void)state;
    int64_t d = sl_memlimit_default();
    assert_true(d >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_budget), cmocka_unit_test(test_budget),
        cmocka_unit_test(test_rss_over),  cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
