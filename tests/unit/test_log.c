/*
 * test_log.c - log lines: exact text and JSON lines for a fixed clock (expected bytes written
 * by hand; epoch values from Python's datetime), escaping, truncation, the level filter, rate
 * limiting with an injected clock, and lines from several threads arriving whole. With
 * jansson available (cmake/targets/metrics.cmake) every JSON line is also parsed by it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#ifdef SL_HAVE_JANSSON
#include <jansson.h>
#endif

#include "log.h"

/* 2026-11-27T06:00:00.123Z: datetime(2026,11,27,6,0,0,123000,tzinfo=utc) in Python. */
#define T0 1795759200123LL

static int64_t fake_now = T0;

static int64_t fake_clock(void)
{
    return fake_now;
}

static int out_fd = -1;
static off_t out_off;

static int setup(void **state)
{
    (void)state;
    char path[] = "/tmp/test_log_XXXXXX";
    out_fd = mkstemp(path);
    assert_true(out_fd >= 0);
    unlink(path);
    int fl = fcntl(out_fd, F_GETFL);
    fcntl(out_fd, F_SETFL, fl | O_APPEND);
    out_off = 0;
    fake_now = T0;
    sl_log_set_clock(fake_clock);
    sl_log_configure(SL_LOG_INFO, SL_LOG_TEXT, out_fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_log_configure(SL_LOG_INFO, SL_LOG_TEXT, 2);
    sl_log_set_clock(NULL);
    close(out_fd);
    return 0;
}

/* Everything written since the last call, NUL-terminated; free() it. */
static char *drain(void)
{
    off_t end = lseek(out_fd, 0, SEEK_END);
    size_t n = (size_t)(end - out_off);
    char *p = malloc(n + 1);
    assert_non_null(p);
    assert_int_equal(pread(out_fd, p, n, out_off), (ssize_t)n);
    p[n] = '\0';
    out_off = end;
    return p;
}

static void expect_output(const char *expected)
{
    char *got = drain();
    assert_string_equal(got, expected);
    free(got);
}

static void test_text_line(void **state)
{
    (void)state;
    sl_log(SL_LOG_INFO, "kafka", "partition %d assigned", 3);
    sl_log(SL_LOG_WARN, "redis", "retrying");
    sl_log(SL_LOG_ERROR, "main", "bad");
    expect_output("2026-11-27T06:00:00.123Z info  kafka: partition 3 assigned\n"
                  "2026-11-27T06:00:00.123Z warn  redis: retrying\n"
                  "2026-11-27T06:00:00.123Z error main: bad\n");
    /* Control characters are escaped: one call, one line. Invalid UTF-8 becomes U+FFFD. */
    sl_log(SL_LOG_INFO, "file", "line1\nline2\ttab\r\x01\x7f \xc3\xa9 \xff end");
    expect_output("2026-11-27T06:00:00.123Z info  file: line1\\nline2\\ttab\\r\\x01\\x7f "
                  "\xc3\xa9 \xef\xbf\xbd end\n");
}

static void test_level_filter(void **state)
{
    (void)state;
    sl_log(SL_LOG_DEBUG, "x", "hidden");
    expect_output("");
    assert_false(sl_log_enabled(SL_LOG_DEBUG));
    assert_true(sl_log_enabled(SL_LOG_INFO));
    sl_log_configure(SL_LOG_DEBUG, SL_LOG_TEXT, out_fd);
    sl_log(SL_LOG_DEBUG, "x", "shown");
    expect_output("2026-11-27T06:00:00.123Z debug x: shown\n");
    sl_log_configure(SL_LOG_ERROR, SL_LOG_TEXT, out_fd);
    sl_log(SL_LOG_WARN, "x", "hidden");
    sl_log(SL_LOG_ERROR, "x", "shown");
    expect_output("2026-11-27T06:00:00.123Z error x: shown\n");

    enum sl_log_level lv;
    enum sl_log_format f;
    assert_int_equal(sl_log_level_parse("WARNING", &lv), 0);
    assert_int_equal(lv, SL_LOG_WARN);
    assert_int_equal(sl_log_level_parse("debug", &lv), 0);
    assert_int_equal(lv, SL_LOG_DEBUG);
    assert_int_equal(sl_log_level_parse("verbose", &lv), -EINVAL);
    assert_int_equal(sl_log_level_parse(NULL, &lv), -EINVAL);
    assert_int_equal(sl_log_format_parse("json", &f), 0);
    assert_int_equal(f, SL_LOG_JSON);
    assert_int_equal(sl_log_format_parse("Text", &f), 0);
    assert_int_equal(f, SL_LOG_TEXT);
    assert_int_equal(sl_log_format_parse("xml", &f), -EINVAL);
}

#ifdef SL_HAVE_JANSSON
/* Parses one JSON line with jansson and checks its four fields. */
static void check_json(const char *line, const char *level, const char *component, const char *msg)
{
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    if (o == NULL) {
        fail_msg("jansson cannot parse '%s': %s", line, jerr.text);
    }
    assert_int_equal(json_object_size(o), 4);
    assert_string_equal(json_string_value(json_object_get(o, "ts")), "2026-11-27T06:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(o, "level")), level);
    assert_string_equal(json_string_value(json_object_get(o, "component")), component);
    if (msg != NULL) {
        assert_string_equal(json_string_value(json_object_get(o, "msg")), msg);
    }
    json_decref(o);
}
#else
static void check_json(const char *line, const char *level, const char *component, const char *msg)
{
    (void)line, (void)level, (void)component, (void)msg;
}
#endif

static void test_json_line(void **state)
{
    (void)state;
    sl_log_configure(SL_LOG_INFO, SL_LOG_JSON, out_fd);
    sl_log(SL_LOG_INFO, "kafka", "partition %d assigned", 3);
    char *got = drain();
    assert_string_equal(got, "{\"ts\":\"2026-11-27T06:00:00.123Z\",\"level\":\"info\","
                             "\"component\":\"kafka\",\"msg\":\"partition 3 assigned\"}\n");
    check_json(got, "info", "kafka", "partition 3 assigned");
    free(got);

    sl_log(SL_LOG_WARN, "my \"comp\"", "a \"q\" b\\c\nd\te\x01\x1f \xc3\xa9 \xff/\x7f");
    got = drain();
    assert_string_equal(got,
                        "{\"ts\":\"2026-11-27T06:00:00.123Z\",\"level\":\"warn\","
                        "\"component\":\"my \\\"comp\\\"\",\"msg\":\"a \\\"q\\\" b\\\\c\\nd\\te"
                        "\\u0001\\u001f \xc3\xa9 \xef\xbf\xbd/\x7f\"}\n");
    check_json(got, "warn", "my \"comp\"", "a \"q\" b\\c\nd\te\x01\x1f \xc3\xa9 \xef\xbf\xbd/\x7f");
    free(got);
}

static void test_truncation(void **state)
{
    (void)state;
    char big[6000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[100] = '"'; /* escapes count toward the limit */
    for (int json = 0; json <= 1; json++) {
        sl_log_configure(SL_LOG_INFO, json ? SL_LOG_JSON : SL_LOG_TEXT, out_fd);
        sl_log(SL_LOG_INFO, "t", "%s", big);
        char *got = drain();
        size_t n = strlen(got);
        assert_true(n <= SL_LOG_LINE_MAX);
        assert_true(n > SL_LOG_LINE_MAX - 16);
        assert_int_equal(strchr(got, '\n') - got, (long)n - 1); /* one line */
        assert_string_equal(got + n - (json ? 6 : 4), json ? "...\"}\n" : "...\n");
        if (json) {
            check_json(got, "info", "t", NULL);
        }
        free(got);
    }
}

static void test_time_format(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *s;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {T0, "2026-11-27T06:00:00.123Z"},
        {1709210096789LL, "2024-02-29T12:34:56.789Z"},
        {951868800000LL, "2000-03-01T00:00:00.000Z"},
        {-62135596800000LL, "0001-01-01T00:00:00.000Z"},
        {-2208988799999LL, "1900-01-01T00:00:00.001Z"},
        {INT64_MAX, "9999-12-31T23:59:59.999Z"}, /* clamped */
        {INT64_MIN, "0000-01-01T00:00:00.000Z"}, /* clamped */
    };
    char buf[32];
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        assert_int_equal(sl_log_format_time(cases[i].ms, buf, sizeof(buf)), 24);
        assert_string_equal(buf, cases[i].s);
    }
}

static void test_rate_limited(void **state)
{
    (void)state;
    struct sl_log_limit lim = SL_LOG_LIMIT_INIT;
    fake_now = 0; /* 1970-01-01T00:00:00.000Z */
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "bad payload %d", 1);
    fake_now = 1000;
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "bad payload %d", 2);
    fake_now = 9999;
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "bad payload %d", 3);
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "bad payload %d", 4);
    expect_output("1970-01-01T00:00:00.000Z warn  mqtt: bad payload 1\n");
    fake_now = 10000;
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "bad payload %d", 5);
    expect_output("1970-01-01T00:00:10.000Z warn  mqtt: bad payload 5 (3 more suppressed)\n");
    fake_now = 10500;
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "bad payload %d", 6);
    /* Below the level filter: neither written nor counted. */
    sl_log_limited(&lim, 10, SL_LOG_DEBUG, "mqtt", "bad payload %d", 7);
    expect_output("");
    fake_now = 60000;
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "bad payload %d", 8);
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "bad payload %d", 9);
    fake_now = 70000;
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "bad payload %d", 10);
    expect_output("1970-01-01T00:01:00.000Z warn  mqtt: bad payload 8 (1 more suppressed)\n"
                  "1970-01-01T00:01:10.000Z warn  mqtt: bad payload 10 (1 more suppressed)\n");

    /* JSON: the count is part of msg. */
    sl_log_configure(SL_LOG_INFO, SL_LOG_JSON, out_fd);
    fake_now = 80000;
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "x");
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "x");
    fake_now = 90000;
    sl_log_limited(&lim, 10, SL_LOG_WARN, "mqtt", "x");
    expect_output("{\"ts\":\"1970-01-01T00:01:20.000Z\",\"level\":\"warn\",\"component\":\"mqtt\","
                  "\"msg\":\"x\"}\n"
                  "{\"ts\":\"1970-01-01T00:01:30.000Z\",\"level\":\"warn\",\"component\":\"mqtt\","
                  "\"msg\":\"x (1 more suppressed)\"}\n");
}

static void test_keyed(void **state)
{
    (void)state;
    fake_now = 0;
    sl_log_keyed("redis:a", 5, SL_LOG_ERROR, "redis", "a down");
    sl_log_keyed("redis:b", 5, SL_LOG_ERROR, "redis", "b down");
    sl_log_keyed("redis:a", 5, SL_LOG_ERROR, "redis", "a down");
    sl_log_keyed("redis:a", 5, SL_LOG_ERROR, "redis", "a down");
    fake_now = 4999;
    sl_log_keyed("redis:b", 5, SL_LOG_ERROR, "redis", "b down");
    fake_now = 5000;
    sl_log_keyed("redis:a", 5, SL_LOG_ERROR, "redis", "a down");
    sl_log_keyed("redis:b", 5, SL_LOG_ERROR, "redis", "b down");
    expect_output("1970-01-01T00:00:00.000Z error redis: a down\n"
                  "1970-01-01T00:00:00.000Z error redis: b down\n"
                  "1970-01-01T00:00:05.000Z error redis: a down (2 more suppressed)\n"
                  "1970-01-01T00:00:05.000Z error redis: b down (1 more suppressed)\n");
    /* Many more keys than slots: every key's first line still gets out. */
    fake_now = 100000;
    for (int i = 0; i < 3 * SL_LOG_KEYS; i++) {
        char key[32];
        snprintf(key, sizeof(key), "k%d", i);
        sl_log_keyed(key, 60, SL_LOG_WARN, "x", "%s", key);
    }
    char *got = drain();
    int lines = 0;
    for (char *p = got; (p = strchr(p, '\n')) != NULL; p++) {
        lines++;
    }
    assert_int_equal(lines, 3 * SL_LOG_KEYS);
    free(got);
}

#define THREADS 4
#define LINES   2000

static void *log_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < LINES; i++) {
        sl_log(SL_LOG_INFO, "thread", "t%d line %d %s", id, i,
               "padding padding padding padding padding padding padding padding");
    }
    return NULL;
}

static void test_threads_whole_lines(void **state)
{
    (void)state;
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, log_thread, (void *)(intptr_t)i), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    char *got = drain();
    int next[THREADS] = {0};
    int lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(got, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        int id, i;
        char pad[128];
        assert_int_equal(sscanf(line,
                                "2026-11-27T06:00:00.123Z info  thread: t%d line %d %127[a-z ]",
                                &id, &i, pad),
                         3);
        assert_string_equal(pad, "padding padding padding padding padding padding padding padding");
        assert_true(id >= 0 && id < THREADS);
        assert_int_equal(i, next[id]); /* each thread's lines in its order, none lost */
        next[id]++;
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES);
    free(got);
}

static void test_progress_prefix(void **state)
{
    (void)state;
    sl__log_set_progress_fd(out_fd);
    sl_log(SL_LOG_INFO, "p", "over the bar");
    sl__log_set_progress_fd(-1);
    sl_log(SL_LOG_INFO, "p", "plain");
    expect_output("\r\033[K2026-11-27T06:00:00.123Z info  p: over the bar\n"
                  "2026-11-27T06:00:00.123Z info  p: plain\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_whole_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_prefix, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
