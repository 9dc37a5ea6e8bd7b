/*
 * test_progress.c - the progress line and summary, driven by the caller with an injected
 * monotonic clock: exact bytes on a terminal (forced) and off one, the 4-per-second limit,
 * the rate, the RFC 3339 watermark, the refresh callback, rate formatting, and the timer
 * thread started and stopped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "progress.h"

/* 2026-11-27T06:00:00.123Z (Python: datetime(2026,11,27,6,0,0,123000,tzinfo=utc)) */
#define WM 1795759200123LL

static int64_t mono;

static int64_t fake_mono(void)
{
    return mono;
}

static int out_fd = -1;
static off_t out_off;

static int setup(void **state)
{
    (void)state;
    char path[] = "/tmp/test_progress_XXXXXX";
    out_fd = mkstemp(path);
    assert_true(out_fd >= 0);
    unlink(path);
    out_off = 0;
    mono = 1000;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(out_fd);
    return 0;
}

static void expect_output(const char *expected)
{
    off_t end = lseek(out_fd, 0, SEEK_END);
    size_t n = (size_t)(end - out_off);
    char *got = calloc(1, n + 1);
    assert_int_equal(pread(out_fd, got, n, out_off), (ssize_t)n);
    out_off = end;
    assert_string_equal(got, expected);
    free(got);
}

static void test_tty_line(void **state)
{
    (void)state;
    struct sl_progress_stats st;
    struct sl_progress *p;
    sl_progress_stats_init(&st);
    struct sl_progress_opts o = {.fd = out_fd, .tty = 1, .no_thread = true, .now_ms = fake_mono};
    assert_int_equal(sl_progress_start(&st, &o, &p), 0);

    assert_int_equal(sl_progress_tick(p), 1);
    expect_output("\r\033[Kevents 0 (0/s)  watermark -  rejected 0");

    atomic_store(&st.events, 1000);
    atomic_store(&st.watermark_ms, WM);
    mono = 1249; /* too soon: at most every 250 ms */
    assert_int_equal(sl_progress_tick(p), 0);
    expect_output("");
    mono = 1250; /* 1000 events in 250 ms */
    assert_int_equal(sl_progress_tick(p), 1);
    expect_output("\r\033[Kevents 1000 (4.00k/s)  watermark 2026-11-27T06:00:00.123Z  rejected 0");

    atomic_store(&st.events, 13345);
    atomic_store(&st.rejected, 2);
    mono = 2250; /* 12345 more in 1 s */
    assert_int_equal(sl_progress_tick(p), 1);
    expect_output("\r\033[Kevents 13345 (12.3k/s)  watermark 2026-11-27T06:00:00.123Z  "
                  "rejected 2");

    /* A log line meanwhile erases the progress line first. */
    sl_log_configure(SL_LOG_INFO, SL_LOG_TEXT, out_fd);
    sl_log(SL_LOG_WARN, "x", "hello");
    char got[128];
    off_t end = lseek(out_fd, 0, SEEK_END);
    ssize_t n = pread(out_fd, got, (size_t)(end - out_off), out_off);
    assert_true(n > 4);
    assert_memory_equal(got, "\r\033[K", 4);
    out_off = end;

    mono = 13500; /* 13345 events in 12.5 s = 1067.6/s */
    sl_progress_stop(p);
    expect_output("\r\033[Ksluice: 13345 events in 12.5 s (1.07k/s), rejected 2, "
                  "watermark 2026-11-27T06:00:00.123Z\n");
    /* Stopped: log lines no longer erase anything. */
    sl_log(SL_LOG_WARN, "x", "plain");
    end = lseek(out_fd, 0, SEEK_END);
    n = pread(out_fd, got, (size_t)(end - out_off), out_off);
    assert_true(n > 4);
    assert_memory_not_equal(got, "\r\033[K", 4);
    out_off = end;
    sl_log_configure(SL_LOG_INFO, SL_LOG_TEXT, 2);
}

static void test_not_a_tty(void **state)
{
    (void)state;
    struct sl_progress_stats st;
    struct sl_progress *p;
    sl_progress_stats_init(&st);
    /* tty -1: detected; a regular file is not a terminal. */
    struct sl_progress_opts o = {.fd = out_fd, .tty = -1, .no_thread = true, .now_ms = fake_mono};
    assert_int_equal(sl_progress_start(&st, &o, &p), 0);
    atomic_store(&st.events, 500);
    assert_int_equal(sl_progress_tick(p), 0);
    mono = 5000;
    assert_int_equal(sl_progress_tick(p), 0);
    expect_output("");
    mono = 3001000; /* 50 minutes */
    atomic_store(&st.events, 7200000000ULL);
    sl_progress_stop(p);
    expect_output("sluice: 7200000000 events in 3000.0 s (2.40M/s), rejected 0, watermark -\n");
}

struct refresh_src {
    int calls;
};

static void refresh(struct sl_progress_stats *st, void *ud)
{
    struct refresh_src *src = ud;
    src->calls++;
    atomic_store(&st->events, (uint64_t)src->calls * 100);
}

static void test_refresh_and_zero_elapsed(void **state)
{
    (void)state;
    struct sl_progress_stats st;
    struct sl_progress *p;
    struct refresh_src src = {0};
    sl_progress_stats_init(&st);
    struct sl_progress_opts o = {.fd = out_fd,
                                 .tty = 1,
                                 .no_thread = true,
                                 .now_ms = fake_mono,
                                 .refresh = refresh,
                                 .refresh_ud = &src};
    assert_int_equal(sl_progress_start(&st, &o, &p), 0);
    assert_int_equal(sl_progress_tick(p), 1);
    expect_output("\r\033[Kevents 100 (0/s)  watermark -  rejected 0");
    sl_progress_stop(p); /* same instant: no division by zero */
    expect_output("\r\033[Ksluice: 200 events in 0.0 s (0/s), rejected 0, watermark -\n");
    assert_int_equal(src.calls, 2);
}

static void test_thread(void **state)
{
    (void)state;
    struct sl_progress_stats st;
    struct sl_progress *p;
    sl_progress_stats_init(&st);
    atomic_store(&st.events, 42);
    struct sl_progress_opts o = {.fd = out_fd, .tty = 1};
    assert_int_equal(sl_progress_start(&st, &o, &p), 0);
    /* The thread draws at once; wait for it (poll with a deadline). */
    int64_t deadline = sl_mono_ms() + 5000;
    while (lseek(out_fd, 0, SEEK_END) == out_off && sl_mono_ms() < deadline) {
        sched_yield();
    }
    sl_progress_stop(p); /* wakes the thread at once; no 250 ms wait */
    off_t end = lseek(out_fd, 0, SEEK_END);
    char *got = calloc(1, (size_t)(end - out_off) + 1);
    assert_int_equal(pread(out_fd, got, (size_t)(end - out_off), out_off), end - out_off);
    assert_memory_equal(got, "\r\033[Kevents 42 (", 15);
    assert_non_null(strstr(got, "\r\033[Ksluice: 42 events in "));
    free(got);
    out_off = end;
    sl_progress_stop(NULL);
}

static void test_rate_format(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0, "0/s"},          {-5, "0/s"},       {950, "950/s"},     {999.4, "999/s"},
        {999.6, "1.00k/s"},  {1000, "1.00k/s"}, {12345, "12.3k/s"}, {123456, "123k/s"},
        {4.56e6, "4.56M/s"}, {2e9, "2.00G/s"},  {7e15, "7000T/s"},
    };
    char buf[32];
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl_progress_format_rate(cases[i].v, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tty_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_tty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_and_zero_elapsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread, setup, teardown),
        cmocka_unit_test(test_rate_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
