/*
 * test_engine_sketch.c - the sketch aggregates (PERCENTILE, APPROX_COUNT_DISTINCT, TOPK, RATE)
 * run end to end through the engine in TUMBLE, HOP and SESSION windows: a file source, a
 * query, a file sink, a bounded run, at 1 and 3 workers. Expected rows are worked out by hand
 * from SQL.md; a quantile that is not the minimum or the maximum is written '@' in the expected
 * text and checked to be within 1 % of the order statistic worked out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "queries/front.h"

static char dir[] = "/tmp/sl-test-engine-sketch-XXXXXX";

#include "engine_harness.h"

/* Compares got with want, where each '@' in want stands for a number in got within 1 % of
 * approx[i] (in order). */
static void match(const char *got, const char *want, const double *approx, int napprox)
{
    const char *g = got, *w = want;
    int i = 0;
    while (*w != '\0') {
        if (*w == '@') {
            char *end;
            double v = strtod(g, &end);
            assert_true(i < napprox);
            double a = approx[i++];
            if (end == g ||
                !(v >= a - 0.01 * (a < 0 ? -a : a) && v <= a + 0.01 * (a < 0 ? -a : a))) {
                fail_msg("got %.*s for @%d, want within 1 %% of %g\n--- got\n%s--- want\n%s",
                         (int)(end - g), g, i, a, got, want);
            }
            g = end;
            w++;
            continue;
        }
        if (*g != *w) {
            fail_msg("differs at offset %d\n--- got\n%s--- want\n%s", (int)(g - got), got, want);
        }
        g++;
        w++;
    }
    if (*g != '\0') {
        fail_msg("extra output\n--- got\n%s--- want\n%s", got, want);
    }
    assert_int_equal(i, napprox);
}

static void expect(const char *input, const char *query, const char *want, const double *approx,
                   int napprox)
{
    for (int workers = 1; workers <= 3; workers += 2) {
        char *got = run_case(input, query, workers);
        match(got, want, approx, napprox);
        free(got);
    }
}

#define SRC(delay)                                                                                 \
    "CREATE SOURCE ev (device TEXT, temp DOUBLE, n BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts "  \
    "- "                                                                                           \
    "INTERVAL '" delay "' SECOND) WITH (connector = 'file', path = '${IN}', "                      \
    "timestamp_format = 'epoch_ms');\n"
#define SINK "CREATE SINK out WITH (connector = 'file', path = '${OUT}') AS\n"

/* TUMBLE: window [0, 10 s) holds temps 1, 2, 3, 4, 10: the median (rank floor(0.5 * 4) = 2)
 * is 3 within 1 %, p100 is 10 exactly, 3 distinct devices, a three times; RATE of the counter
 * n: 1 -> 2 -> 3 -> 4 -> 10 is 9 over 4 s. Window [10 s, 20 s): one event, so RATE is NULL.
 * TOPK(device, 2) and TOPK(device, 1) share one sketch; each prints its own k. */
static void test_tumble(void **state)
{
    (void)state;
    static const double approx[] = {3};
    expect("{\"device\":\"a\",\"temp\":1,\"n\":1,\"ts\":1000}\n"
           "{\"device\":\"b\",\"temp\":2,\"n\":2,\"ts\":2000}\n"
           "{\"device\":\"a\",\"temp\":3,\"n\":3,\"ts\":3000}\n"
           "{\"device\":\"a\",\"temp\":4,\"n\":4,\"ts\":4000}\n"
           "{\"device\":\"c\",\"temp\":10,\"n\":10,\"ts\":5000}\n"
           "{\"device\":\"a\",\"temp\":100,\"n\":7,\"ts\":15000}\n",
           SRC("0") SINK
           "SELECT window_start, PERCENTILE(temp, 0.5) AS p50, APPROX_PERCENTILE(temp, 1) AS "
           "p100, APPROX_COUNT_DISTINCT(device) AS u, TOPK(device, 2) AS top, RATE(n) AS r, "
           "TOPK(device, 1) AS top1 FROM TUMBLE(ev, ts, INTERVAL '10' SECOND);",
           "{\"window_start\":0,\"p50\":@,\"p100\":10,\"u\":3,\"top\":\"[{\\\"value\\\":\\\"a\\\","
           "\\\"count\\\":3},{\\\"value\\\":\\\"b\\\",\\\"count\\\":1}]\",\"r\":2.25,"
           "\"top1\":\"[{\\\"value\\\":\\\"a\\\",\\\"count\\\":3}]\"}\n"
           "{\"window_start\":10000,\"p50\":100,\"p100\":100,\"u\":1,\"top\":\"[{\\\"value\\\":"
           "\\\"a\\\",\\\"count\\\":1}]\",\"r\":null,\"top1\":\"[{\\\"value\\\":"
           "\\\"a\\\",\\\"count\\\":1}]\"}\n",
           approx, 1);
}

/* HOP 10 s every 5 s, panes merged on emit: (a 1 @1 s, b 3 @2 s) | (a 5 @6 s, c 9 @7 s).
 * [-5, 5): p0 1, p100 3, 2 devices, RATE (3-1)/1 s = 2; [0, 10): median rank 1 -> 3, 3
 * devices, a twice, RATE 8 over 6 s; [5, 15): p0 5, p100 9, RATE 4/1 s. */
static void test_hop(void **state)
{
    (void)state;
    static const double approx[] = {3};
    expect("{\"device\":\"a\",\"temp\":1,\"n\":1,\"ts\":1000}\n"
           "{\"device\":\"b\",\"temp\":3,\"n\":3,\"ts\":2000}\n"
           "{\"device\":\"a\",\"temp\":5,\"n\":5,\"ts\":6000}\n"
           "{\"device\":\"c\",\"temp\":9,\"n\":9,\"ts\":7000}\n",
           SRC("0") SINK
           "SELECT window_start, PERCENTILE(temp, 0) AS p0, PERCENTILE(temp, 0.5) AS p50, "
           "PERCENTILE(temp, 1) AS p100, APPROX_COUNT_DISTINCT(device) AS u, TOPK(device, 1) AS "
           "top, RATE(temp) AS r FROM HOP(ev, ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND);",
           "{\"window_start\":-5000,\"p0\":1,\"p50\":1,\"p100\":3,\"u\":2,\"top\":\"[{\\\"value\\\""
           ":\\\"a\\\",\\\"count\\\":1}]\",\"r\":2}\n"
           "{\"window_start\":0,\"p0\":1,\"p50\":@,\"p100\":9,\"u\":3,\"top\":\"[{\\\"value\\\":"
           "\\\"a\\\",\\\"count\\\":2}]\",\"r\":1.3333333333333333}\n"
           "{\"window_start\":5000,\"p0\":5,\"p50\":5,\"p100\":9,\"u\":2,\"top\":\"[{\\\"value\\\":"
           "\\\"a\\\",\\\"count\\\":1}]\",\"r\":4}\n",
           approx, 1);
}

/* SESSION gap 5 s per device, events out of order within the watermark delay so that sessions
 * merge: a's samples arrive as n = 5 @5 s, 10 @1 s, 20 @3 s and form the session [1 s, 10 s).
 * RATE (rate.c): 10 @1 s extends the chain before 5 @5 s, a reset (+5); 20 @3 s arrives
 * between the first and the last and is counted but not chained: 5 over 4 s = 1.25 (in event
 * order it would be 10 + 5 = 15 over 4 s: the documented approximation for late samples across
 * a reset). Distinct n: 3; median of {5, 10, 20} (rank 1) is 10 within 1 %; TOPK by count then
 * value. b's session [2 s, 7 s) has one sample: RATE NULL. a @30 s is a session alone. */
static void test_session(void **state)
{
    (void)state;
    static const double approx[] = {10};
    expect("{\"device\":\"a\",\"temp\":5,\"n\":5,\"ts\":5000}\n"
           "{\"device\":\"a\",\"temp\":10,\"n\":10,\"ts\":1000}\n"
           "{\"device\":\"b\",\"temp\":1,\"n\":1,\"ts\":2000}\n"
           "{\"device\":\"a\",\"temp\":20,\"n\":20,\"ts\":3000}\n"
           "{\"device\":\"a\",\"temp\":1,\"n\":1,\"ts\":30000}\n",
           SRC("10") SINK "SELECT device, window_start, window_end, PERCENTILE(temp, 0.5) AS p50, "
                          "APPROX_COUNT_DISTINCT(n) AS u, TOPK(n, 5) AS top, RATE(n) AS r "
                          "FROM SESSION(ev, ts, INTERVAL '5' SECOND) GROUP BY device;",
           "{\"device\":\"b\",\"window_start\":2000,\"window_end\":7000,\"p50\":1,\"u\":1,\"top\":"
           "\"[{\\\"value\\\":1,\\\"count\\\":1}]\",\"r\":null}\n"
           "{\"device\":\"a\",\"window_start\":1000,\"window_end\":10000,\"p50\":@,\"u\":3,\"top\":"
           "\"[{\\\"value\\\":5,\\\"count\\\":1},{\\\"value\\\":10,\\\"count\\\":1},{\\\"value\\\":"
           "20,\\\"count\\\":1}]\",\"r\":1.25}\n"
           "{\"device\":\"a\",\"window_start\":30000,\"window_end\":35000,\"p50\":1,\"u\":1,"
           "\"top\":\"[{\\\"value\\\":1,\\\"count\\\":1}]\",\"r\":null}\n",
           approx, 1);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof(p), "%s/in.jsonl", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/out.jsonl", dir);
    unlink(p);
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tumble),
        cmocka_unit_test(test_hop),
        cmocka_unit_test(test_session),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
