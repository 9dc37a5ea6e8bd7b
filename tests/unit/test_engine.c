/*
 * test_engine.c - the engine end to end on small inputs whose results are worked out by hand
 * from SQL.md: a file source, a query, a file sink, a bounded run. Each case names the rule
 * it checks. Rows are compared as the exact JSON text SQL.md prescribes.
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

static char dir[] = "/tmp/sl-test-engine-XXXXXX";

#include "engine_harness.h"

static void expect(const char *input, const char *query, const char *want)
{
    for (int workers = 1; workers <= 3; workers += 2) {
        char *got = run_case(input, query, workers);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "workers %d\n--- got\n%s--- want\n%s", workers, got, want);
        }
        assert_string_equal(got, want);
        free(got);
    }
}

#define SRC(delay)                                                                                 \
    "CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP, WATERMARK FOR ts AS ts - "          \
    "INTERVAL '" delay "' SECOND) WITH (connector = 'file', path = '${IN}', "                      \
    "timestamp_format = 'epoch_ms');\n"
#define SINK "CREATE SINK out WITH (connector = 'file', path = '${OUT}') AS\n"

/* TUMBLE: epoch-aligned, start inclusive, end exclusive; rows ordered by (window_end,
 * window_start, key); at the end of a bounded input every window fires. */
static void test_tumble(void **state)
{
    (void)state;
    expect("{\"device\":\"b\",\"temp\":5,\"ts\":1500}\n"
           "{\"device\":\"a\",\"temp\":1,\"ts\":1000}\n"
           "{\"device\":\"a\",\"temp\":3.5,\"ts\":9999}\n"
           "{\"device\":\"a\",\"temp\":7,\"ts\":10000}\n",
           SRC("0") SINK "SELECT device, window_start, window_end, COUNT(*) AS n, SUM(temp) AS s "
                         "FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device;",
           "{\"device\":\"a\",\"window_start\":0,\"window_end\":10000,\"n\":2,\"s\":4.5}\n"
           "{\"device\":\"b\",\"window_start\":0,\"window_end\":10000,\"n\":1,\"s\":5}\n"
           "{\"device\":\"a\",\"window_start\":10000,\"window_end\":20000,\"n\":1,\"s\":7}\n");
}

/* Late: an event whose every window expired at its stamp is dropped, not folded. */
static void test_late_dropped(void **state)
{
    (void)state;
    expect("{\"device\":\"a\",\"temp\":1,\"ts\":15000}\n"
           "{\"device\":\"a\",\"temp\":2,\"ts\":5000}\n",
           SRC("0") SINK "SELECT window_start, COUNT(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10' "
                         "SECOND);",
           "{\"window_start\":10000,\"n\":1}\n");
}

/* ALLOWED LATENESS: the window fires at the marker before the first event after W passes
 * its end; a late event within lateness re-emits it at the next marker with a larger _rev. */
static void test_lateness_reemit(void **state)
{
    (void)state;
    expect("{\"device\":\"a\",\"temp\":1,\"ts\":1000}\n"
           "{\"device\":\"a\",\"temp\":1,\"ts\":12000}\n"
           "{\"device\":\"a\",\"temp\":1,\"ts\":3000}\n"
           "{\"device\":\"a\",\"temp\":1,\"ts\":30000}\n"
           "{\"device\":\"a\",\"temp\":1,\"ts\":4000}\n",
           SRC("0") SINK "SELECT window_start, COUNT(*) AS n, _rev, is_final "
                         "FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device "
                         "ALLOWED LATENESS INTERVAL '5' SECOND;",
           "{\"window_start\":0,\"n\":1,\"_rev\":1,\"is_final\":true}\n"
           "{\"window_start\":0,\"n\":2,\"_rev\":2,\"is_final\":true}\n"
           "{\"window_start\":10000,\"n\":1,\"_rev\":1,\"is_final\":true}\n"
           "{\"window_start\":30000,\"n\":1,\"_rev\":1,\"is_final\":true}\n");
}

/* HOP: size/slide windows per event, aligned to the epoch with floor arithmetic (a window
 * before 1970). */
static void test_hop(void **state)
{
    (void)state;
    expect("{\"device\":\"a\",\"temp\":1,\"ts\":1000}\n"
           "{\"device\":\"a\",\"temp\":2,\"ts\":6000}\n",
           SRC("0") SINK "SELECT window_start, window_end, COUNT(*) AS n, MAX(temp) AS hi "
                         "FROM HOP(ev, ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND);",
           "{\"window_start\":-5000,\"window_end\":5000,\"n\":1,\"hi\":1}\n"
           "{\"window_start\":0,\"window_end\":10000,\"n\":2,\"hi\":2}\n"
           "{\"window_start\":5000,\"window_end\":15000,\"n\":1,\"hi\":2}\n");
}

/* SESSION: [ts, ts+gap) intervals merge when they overlap, not when they only touch. */
static void test_session(void **state)
{
    (void)state;
    expect("{\"device\":\"a\",\"temp\":1,\"ts\":1000}\n"
           "{\"device\":\"b\",\"temp\":1,\"ts\":2000}\n"
           "{\"device\":\"a\",\"temp\":1,\"ts\":3000}\n"
           "{\"device\":\"a\",\"temp\":1,\"ts\":30000}\n"
           "{\"device\":\"a\",\"temp\":1,\"ts\":35000}\n",
           SRC("0") SINK "SELECT device, window_start, window_end, COUNT(*) AS n "
                         "FROM SESSION(ev, ts, INTERVAL '5' SECOND) GROUP BY device;",
           "{\"device\":\"b\",\"window_start\":2000,\"window_end\":7000,\"n\":1}\n"
           "{\"device\":\"a\",\"window_start\":1000,\"window_end\":8000,\"n\":2}\n"
           "{\"device\":\"a\",\"window_start\":30000,\"window_end\":35000,\"n\":1}\n"
           "{\"device\":\"a\",\"window_start\":35000,\"window_end\":40000,\"n\":1}\n");
}

/* SESSION max_duration: no session across an epoch multiple of it. */
static void test_session_cut(void **state)
{
    (void)state;
    expect("{\"device\":\"a\",\"temp\":1,\"ts\":8000}\n"
           "{\"device\":\"a\",\"temp\":1,\"ts\":11000}\n",
           SRC("0") SINK "SELECT window_start, window_end, COUNT(*) AS n FROM SESSION(ev, ts, "
                         "INTERVAL '5' SECOND, INTERVAL '10' SECOND) GROUP BY device;",
           "{\"window_start\":8000,\"window_end\":13000,\"n\":1}\n"
           "{\"window_start\":11000,\"window_end\":16000,\"n\":1}\n");
}

/* NULL group keys form one group, ordered first; HAVING filters rows. */
static void test_null_keys_having(void **state)
{
    (void)state;
    expect("{\"device\":null,\"temp\":1,\"ts\":1}\n"
           "{\"temp\":2,\"ts\":2}\n"
           "{\"device\":\"a\",\"temp\":3,\"ts\":3}\n"
           "{\"device\":\"z\",\"temp\":4,\"ts\":4}\n"
           "{\"device\":\"z\",\"temp\":5,\"ts\":5}\n",
           SRC("0") SINK "SELECT device, COUNT(*) AS n, AVG(temp) AS a FROM TUMBLE(ev, ts, "
                         "INTERVAL '1' SECOND) GROUP BY device HAVING COUNT(*) > 1;",
           "{\"device\":null,\"n\":2,\"a\":1.5}\n"
           "{\"device\":\"z\",\"n\":2,\"a\":4.5}\n");
}

/* Per-event queries: WHERE, projection, source order; lateness does not apply. */
static void test_per_event(void **state)
{
    (void)state;
    expect("{\"device\":\"a\",\"temp\":91,\"ts\":50000}\n"
           "{\"device\":\"b\",\"temp\":12,\"ts\":1}\n"
           "{\"device\":\"c\",\"temp\":95.5,\"ts\":2}\n",
           SRC("0") SINK "SELECT device, temp * 2 AS t2, _rev FROM ev WHERE temp > 90;",
           "{\"device\":\"a\",\"t2\":182,\"_rev\":1}\n"
           "{\"device\":\"c\",\"t2\":191,\"_rev\":1}\n");
}

/* max_groups: beyond it new keys are refused (counted); existing keys keep working. */
static void test_max_groups(void **state)
{
    (void)state;
    char *got = run_case("{\"device\":\"a\",\"temp\":1,\"ts\":1}\n"
                         "{\"device\":\"b\",\"temp\":1,\"ts\":2}\n"
                         "{\"device\":\"c\",\"temp\":1,\"ts\":3}\n"
                         "{\"device\":\"a\",\"temp\":1,\"ts\":4}\n",
                         SRC("0") "CREATE SINK out WITH (connector = 'file', path = '${OUT}', "
                                  "max_groups = '2') AS SELECT device, COUNT(*) AS n FROM "
                                  "TUMBLE(ev, ts, INTERVAL '1' SECOND) GROUP BY device;",
                         1);
    assert_string_equal(got, "{\"device\":\"a\",\"n\":2}\n{\"device\":\"b\",\"n\":1}\n");
    free(got);
}

/* FIRST_VALUE / LAST_VALUE by event time, not arrival; COUNT(DISTINCT); FILTER. */
static void test_first_last_distinct_filter(void **state)
{
    (void)state;
    expect("{\"device\":\"a\",\"temp\":3,\"ts\":300}\n"
           "{\"device\":\"b\",\"temp\":1,\"ts\":100}\n"
           "{\"device\":\"a\",\"temp\":2,\"ts\":200}\n"
           "{\"device\":\"a\",\"temp\":9,\"ts\":900}\n",
           SRC("1") SINK "SELECT FIRST_VALUE(temp) AS f, LAST_VALUE(temp) AS l, "
                         "COUNT(DISTINCT device) AS d, COUNT(*) FILTER (WHERE temp > 2) AS hot "
                         "FROM TUMBLE(ev, ts, INTERVAL '1' SECOND);",
           "{\"f\":1,\"l\":9,\"d\":2,\"hot\":2}\n");
}

/* Reads a file into a malloc'd string ("" if absent). */
static char *slurp(const char *name)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return strdup("");
    }
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* dead_letter_max_bytes bounds the file; past it only the counters rise. */
static void test_dead_letter_bound(void **state)
{
    (void)state;
    char dl[300];
    snprintf(dl, sizeof(dl), "%s/dead.jsonl", dir);
    unlink(dl);
    setenv("DL", dl, 1);
    char input[4096] = "";
    for (int i = 0; i < 20; i++) {
        strcat(input, "{not json}\n");
    }
    strcat(input, "{\"device\":\"a\",\"temp\":1,\"ts\":1}\n");
    char *got = run_case(input,
                         "CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP, WATERMARK FOR "
                         "ts AS ts) WITH (connector = 'file', path = '${IN}', timestamp_format = "
                         "'epoch_ms', dead_letter = '${DL}', dead_letter_max_bytes = '300');\n" SINK
                         "SELECT COUNT(*) AS n FROM TUMBLE(ev, ts, INTERVAL '1' SECOND);",
                         1);
    assert_string_equal(got, "{\"n\":1}\n");
    free(got);
    char *dead = slurp("dead.jsonl");
    size_t len = strlen(dead);
    /* Each line is {"reason":"not_json","source":"ev","partition":0,"offset":N,
     * "payload":"{not json}"}: 90 bytes or so; whole lines only, within 300 bytes. */
    assert_true(len > 0 && len <= 300);
    assert_int_equal(dead[len - 1], '\n');
    assert_non_null(strstr(dead, "\"reason\":\"not_json\""));
    free(dead);
    unlink(dl);
}

/* EMIT EVERY: early rows (is_final false, _rev not larger than the final's) may come on the
 * processing-time timer; the last row of every window is final with its full content. */
static void test_emit_every(void **state)
{
    (void)state;
    char input[1 << 14] = "";
    for (int i = 0; i < 300; i++) {
        char line[96];
        snprintf(line, sizeof(line), "{\"device\":\"d%d\",\"temp\":1,\"ts\":%d}\n", i % 2, i * 10);
        strcat(input, line);
    }
    char *got = run_case(input,
                         SRC("0") SINK "SELECT device, window_start, COUNT(*) AS n, _rev, "
                                       "is_final FROM TUMBLE(ev, ts, INTERVAL '1' "
                                       "SECOND) GROUP BY device EMIT EVERY INTERVAL "
                                       "'10' MILLISECOND;",
                         2);
    /* Final rows, by hand: 3 windows of 100 events, 50 per device. */
    int finals = 0;
    for (char *line = strtok(got, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strstr(line, "\"is_final\":true") != NULL) {
            assert_non_null(strstr(line, "\"n\":50,\"_rev\":50,"));
            finals++;
        } else {
            assert_non_null(strstr(line, "\"is_final\":false"));
        }
    }
    assert_int_equal(finals, 6);
    free(got);
}

/* A source without WATERMARK runs on processing time: _arrival is the event time. Every
 * event lands in some window of the wall clock; together they count all events. */
static void test_processing_time(void **state)
{
    (void)state;
    char *got = run_case("{\"device\":\"a\"}\n{\"device\":\"a\"}\n{\"device\":\"b\"}\n",
                         "CREATE SOURCE ev (device TEXT) WITH (connector = 'file', path = "
                         "'${IN}');\n" SINK "SELECT COUNT(*) AS n FROM TUMBLE(ev, _arrival, "
                         "INTERVAL '1' DAY);",
                         1);
    /* One window of a day, unless the run straddles midnight UTC: then two that add to 3. */
    int total = 0;
    for (char *p = strstr(got, "\"n\":"); p != NULL; p = strstr(p + 1, "\"n\":")) {
        total += atoi(p + 4);
    }
    assert_int_equal(total, 3);
    free(got);
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
        cmocka_unit_test(test_late_dropped),
        cmocka_unit_test(test_lateness_reemit),
        cmocka_unit_test(test_hop),
        cmocka_unit_test(test_session),
        cmocka_unit_test(test_session_cut),
        cmocka_unit_test(test_null_keys_having),
        cmocka_unit_test(test_per_event),
        cmocka_unit_test(test_max_groups),
        cmocka_unit_test(test_first_last_distinct_filter),
        cmocka_unit_test(test_dead_letter_bound),
        cmocka_unit_test(test_emit_every),
        cmocka_unit_test(test_processing_time),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
