/*
 * test_metrics.c - the metrics registry: exact rendering of a hand-built registry (expected
 * text written by hand from the Prometheus text format 0.0.4), escaping, label-set identity,
 * per-thread parts summed, cumulative histogram buckets, validation, number formatting, and a
 * concurrent writers + renderer run (meant for the TSan build) whose final totals are exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static char *render(struct sl_metrics *m)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(sl_metrics_render(m, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

static double quarter(void *ud)
{
    (void)ud;
    return 0.25;
}

static void test_render_exact(void **state)
{
    (void)state;
    struct sl_metrics *m;
    struct sl_err err;
    struct sl_counter *rej_value, *rej_json, *in;
    struct sl_gauge *occ1, *up;
    struct sl_histogram *lat;
    const double bounds[] = {0.25, 1, 2.5};
    assert_int_equal(sl_metrics_new(&m), 0);

    /* Registered out of order; labels given in different orders. */
    assert_int_equal(
        sl_metrics_gauge_register(m, "sluice_up", "Whether it runs.", SL_NO_LABELS, &up, &err), 0);
    assert_int_equal(sl_metrics_counter_register(
                         m, "sluice_source_rejected_total", "Events a source rejected, by reason.",
                         SL_LABELS({"source", "s"}, {"reason", "bad_value"}), &rej_value, &err),
                     0);
    assert_int_equal(sl_metrics_counter_register(m, "sluice_source_rejected_total", "ignored",
                                                 SL_LABELS({"reason", "bad_json"}, {"source", "s"}),
                                                 &rej_json, &err),
                     0);
    assert_int_equal(
        sl_metrics_counter_register(m, "sluice_source_in_total",
                                    "Events read.\nSecond line with a \\ backslash and a \" quote.",
                                    SL_LABELS({"source", "a\\b\"c\nd"}), &in, &err),
        0);
    assert_int_equal(sl_metrics_gauge_register(m, "sluice_ring_occupancy_ratio",
                                               "Fill level of each ring.",
                                               SL_LABELS({"shard", "1"}), &occ1, &err),
                     0);
    assert_int_equal(sl_metrics_gauge_fn_register(m, "sluice_ring_occupancy_ratio", "",
                                                  SL_LABELS({"shard", "0"}), quarter, NULL, &err),
                     0);
    assert_int_equal(sl_metrics_histogram_register(
                         m, "sluice_sink_latency_seconds", "Time from emit to delivery.",
                         SL_LABELS({"sink", "redis"}), bounds, 3, &lat, &err),
                     0);

    sl_gauge_set(up, 1);
    sl_counter_sw_add(rej_value, 3);
    sl_counter_sw_inc(rej_json);
    for (int i = 0; i < 7; i++) {
        sl_counter_sw_inc(in);
    }
    sl_gauge_set(occ1, -1.5);
    sl_histogram_sw_observe(lat, 0.25); /* on a bound: le="0.25" */
    sl_histogram_sw_observe(lat, 0.5);
    sl_histogram_sw_observe(lat, 1);
    sl_histogram_sw_observe(lat, 4); /* above all: +Inf only */

    const char *expected =
        "# HELP sluice_ring_occupancy_ratio Fill level of each ring.\n"
        "# TYPE sluice_ring_occupancy_ratio gauge\n"
        "sluice_ring_occupancy_ratio{shard=\"0\"} 0.25\n"
        "sluice_ring_occupancy_ratio{shard=\"1\"} -1.5\n"
        "# HELP sluice_sink_latency_seconds Time from emit to delivery.\n"
        "# TYPE sluice_sink_latency_seconds histogram\n"
        "sluice_sink_latency_seconds_bucket{sink=\"redis\",le=\"0.25\"} 1\n"
        "sluice_sink_latency_seconds_bucket{sink=\"redis\",le=\"1\"} 3\n"
        "sluice_sink_latency_seconds_bucket{sink=\"redis\",le=\"2.5\"} 3\n"
        "sluice_sink_latency_seconds_bucket{sink=\"redis\",le=\"+Inf\"} 4\n"
        "sluice_sink_latency_seconds_sum{sink=\"redis\"} 5.75\n"
        "sluice_sink_latency_seconds_count{sink=\"redis\"} 4\n"
        "# HELP sluice_source_in_total Events read.\\nSecond line with a \\\\ backslash and a \" "
        "quote.\n"
        "# TYPE sluice_source_in_total counter\n"
        "sluice_source_in_total{source=\"a\\\\b\\\"c\\nd\"} 7\n"
        "# HELP sluice_source_rejected_total Events a source rejected, by reason.\n"
        "# TYPE sluice_source_rejected_total counter\n"
        "sluice_source_rejected_total{reason=\"bad_json\",source=\"s\"} 1\n"
        "sluice_source_rejected_total{reason=\"bad_value\",source=\"s\"} 3\n"
        "# HELP sluice_up Whether it runs.\n"
        "# TYPE sluice_up gauge\n"
        "sluice_up 1\n";
    char *text = render(m);
    assert_string_equal(text, expected);
    free(text);
    sl_metrics_free(m);
}

static void test_empty_and_help_free(void **state)
{
    (void)state;
    struct sl_metrics *m;
    struct sl_counter *c;
    assert_int_equal(sl_metrics_new(&m), 0);
    char *text = render(m);
    assert_string_equal(text, "");
    free(text);
    assert_int_equal(sl_metrics_counter_register(m, "x_total", NULL, SL_NO_LABELS, &c, NULL), 0);
    text = render(m);
    assert_string_equal(text, "# HELP x_total \n# TYPE x_total counter\nx_total 0\n");
    free(text);
    sl_metrics_free(m);
    sl_metrics_free(NULL);
}

static void test_invalid_utf8_label(void **state)
{
    (void)state;
    struct sl_metrics *m;
    struct sl_counter *c;
    assert_int_equal(sl_metrics_new(&m), 0);
    /* A lone continuation byte and a truncated 3-byte sequence; "é" stays as is. */
    assert_int_equal(sl_metrics_counter_register(m, "t_total", "h\xff",
                                                 SL_LABELS({"topic", "a\x80"
                                                                     "b\xc3\xa9"
                                                                     "c\xe2\x82"}),
                                                 &c, NULL),
                     0);
    char *text = render(m);
    assert_string_equal(text, "# HELP t_total h\xef\xbf\xbd\n"
                              "# TYPE t_total counter\n"
                              "t_total{topic=\"a\xef\xbf\xbd"
                              "b\xc3\xa9"
                              "c\xef\xbf\xbd\xef\xbf\xbd\"} 0\n");
    free(text);
    double v;
    /* The stored value is the sanitised one. */
    assert_int_equal(sl_metrics_read(m, "t_total",
                                     SL_LABELS({"topic", "a\xef\xbf\xbd"
                                                         "b\xc3\xa9"
                                                         "c\xef\xbf\xbd\xef\xbf\xbd"}),
                                     &v),
                     0);
    sl_metrics_free(m);
}

static void test_parts_summed(void **state)
{
    (void)state;
    struct sl_metrics *m;
    struct sl_counter *a, *b, *c;
    struct sl_gauge *g1, *g2;
    assert_int_equal(sl_metrics_new(&m), 0);
    /* Three threads' parts of one series: label order differs, the series is the same. */
    assert_int_equal(sl_metrics_counter_register(m, "sluice_q_accepted_total", "Accepted.",
                                                 SL_LABELS({"source", "t"}, {"query", "q1"}), &a,
                                                 NULL),
                     0);
    assert_int_equal(sl_metrics_counter_register(m, "sluice_q_accepted_total", "Accepted.",
                                                 SL_LABELS({"query", "q1"}, {"source", "t"}), &b,
                                                 NULL),
                     0);
    assert_int_equal(sl_metrics_counter_register(m, "sluice_q_accepted_total", "Accepted.",
                                                 SL_LABELS({"query", "q2"}, {"source", "t"}), &c,
                                                 NULL),
                     0);
    assert_ptr_not_equal(a, b);
    assert_int_equal(((uintptr_t)a) % SL_CACHELINE, 0);
    assert_int_equal(((uintptr_t)b) % SL_CACHELINE, 0);
    sl_counter_sw_add(a, 10);
    sl_counter_sw_add(b, 5);
    sl_counter_mw_add(c, 2);
    assert_int_equal(
        sl_metrics_gauge_register(m, "sluice_open_windows", "Open.", SL_NO_LABELS, &g1, NULL), 0);
    assert_int_equal(
        sl_metrics_gauge_register(m, "sluice_open_windows", "Open.", SL_NO_LABELS, &g2, NULL), 0);
    sl_gauge_sw_add(g1, 3);
    sl_gauge_sw_add(g1, -1);
    sl_gauge_mw_add(g2, 0.5);
    char *text = render(m);
    assert_string_equal(text, "# HELP sluice_open_windows Open.\n"
                              "# TYPE sluice_open_windows gauge\n"
                              "sluice_open_windows 2.5\n"
                              "# HELP sluice_q_accepted_total Accepted.\n"
                              "# TYPE sluice_q_accepted_total counter\n"
                              "sluice_q_accepted_total{query=\"q1\",source=\"t\"} 15\n"
                              "sluice_q_accepted_total{query=\"q2\",source=\"t\"} 2\n");
    free(text);

    double v;
    assert_int_equal(sl_metrics_read(m, "sluice_q_accepted_total", SL_NO_LABELS, &v), 0);
    assert_true(v == 17);
    assert_int_equal(sl_metrics_read(m, "sluice_q_accepted_total", SL_LABELS({"query", "q1"}), &v),
                     0);
    assert_true(v == 15);
    assert_int_equal(sl_metrics_read(m, "sluice_q_accepted_total", SL_LABELS({"query", "q3"}), &v),
                     -ENOENT);
    assert_int_equal(sl_metrics_read(m, "nope_total", SL_NO_LABELS, &v), -ENOENT);
    sl_metrics_free(m);
}

static void test_histogram_parts_and_count(void **state)
{
    (void)state;
    struct sl_metrics *m;
    struct sl_histogram *h1, *h2;
    const double bounds[] = {0.001, 0.01};
    assert_int_equal(sl_metrics_new(&m), 0);
    assert_int_equal(
        sl_metrics_histogram_register(m, "lat_seconds", "L.", SL_NO_LABELS, bounds, 2, &h1, NULL),
        0);
    assert_int_equal(
        sl_metrics_histogram_register(m, "lat_seconds", "L.", SL_NO_LABELS, bounds, 2, &h2, NULL),
        0);
    sl_histogram_sw_observe(h1, 0);      /* le 0.001 */
    sl_histogram_sw_observe(h2, 0.001);  /* le 0.001 */
    sl_histogram_sw_observe(h2, 0.0015); /* le 0.01 */
    sl_histogram_sw_observe(h1, NAN);    /* +Inf, sum NaN */
    char *text = render(m);
    assert_string_equal(text, "# HELP lat_seconds L.\n"
                              "# TYPE lat_seconds histogram\n"
                              "lat_seconds_bucket{le=\"0.001\"} 2\n"
                              "lat_seconds_bucket{le=\"0.01\"} 3\n"
                              "lat_seconds_bucket{le=\"+Inf\"} 4\n"
                              "lat_seconds_sum NaN\n"
                              "lat_seconds_count 4\n");
    free(text);
    double v;
    assert_int_equal(sl_metrics_read(m, "lat_seconds", SL_NO_LABELS, &v), 0);
    assert_true(v == 4);
    /* Other bounds for the same family are refused. */
    const double other[] = {0.001, 0.02};
    struct sl_err err;
    struct sl_histogram *h3;
    assert_int_equal(
        sl_metrics_histogram_register(m, "lat_seconds", "L.", SL_NO_LABELS, other, 2, &h3, &err),
        -EINVAL);
    assert_non_null(strstr(err.msg, "other buckets"));
    sl_metrics_free(m);
}

static void test_validation(void **state)
{
    (void)state;
    struct sl_metrics *m;
    struct sl_counter *c;
    struct sl_gauge *g;
    struct sl_histogram *h;
    struct sl_err err;
    const double bounds[] = {1, 2};
    const double bad_bounds[] = {1, 1};
    const double inf_bounds[] = {1, INFINITY};
    assert_int_equal(sl_metrics_new(&m), 0);

    assert_int_equal(sl_metrics_counter_register(m, "events", "", SL_NO_LABELS, &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "_total"));
    assert_int_equal(sl_metrics_gauge_register(m, "events_total", "", SL_NO_LABELS, &g, &err),
                     -EINVAL);
    assert_int_equal(sl_metrics_counter_register(m, "9lives_total", "", SL_NO_LABELS, &c, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "9lives_total"));
    assert_int_equal(sl_metrics_counter_register(m, "a-b_total", "", SL_NO_LABELS, &c, &err),
                     -EINVAL);
    assert_int_equal(sl_metrics_counter_register(m, "", "", SL_NO_LABELS, &c, &err), -EINVAL);
    assert_int_equal(sl_metrics_counter_register(m, NULL, "", SL_NO_LABELS, &c, &err), -EINVAL);
    assert_int_equal(sl_metrics_counter_register(m, "ns:ok_total", "", SL_NO_LABELS, &c, &err), 0);
    assert_int_equal(
        sl_metrics_counter_register(m, "x_total", "", SL_LABELS({"a:b", "v"}), &c, &err), -EINVAL);
    assert_int_equal(
        sl_metrics_counter_register(m, "x_total", "", SL_LABELS({"__a", "v"}), &c, &err), -EINVAL);
    assert_int_equal(
        sl_metrics_counter_register(m, "x_total", "", SL_LABELS({"a", NULL}), &c, &err), -EINVAL);
    assert_int_equal(sl_metrics_counter_register(
                         m, "x_total", "", SL_LABELS({"a", "1"}, {"b", "2"}, {"a", "3"}), &c, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(sl_metrics_histogram_register(m, "h_seconds", "", SL_LABELS({"le", "1"}),
                                                   bounds, 2, &h, &err),
                     -EINVAL);
    assert_int_equal(
        sl_metrics_histogram_register(m, "h_count", "", SL_NO_LABELS, bounds, 2, &h, &err),
        -EINVAL);
    assert_int_equal(
        sl_metrics_histogram_register(m, "h_seconds", "", SL_NO_LABELS, bad_bounds, 2, &h, &err),
        -EINVAL);
    assert_int_equal(
        sl_metrics_histogram_register(m, "h_seconds", "", SL_NO_LABELS, inf_bounds, 2, &h, &err),
        -EINVAL);
    assert_int_equal(
        sl_metrics_histogram_register(m, "h_seconds", "", SL_NO_LABELS, bounds, 0, &h, &err),
        -EINVAL);
    /* One family, one type. */
    assert_int_equal(sl_metrics_gauge_register(m, "dual", "", SL_NO_LABELS, &g, &err), 0);
    assert_int_equal(
        sl_metrics_histogram_register(m, "dual", "", SL_NO_LABELS, bounds, 2, &h, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "already registered as a gauge"));
    assert_int_equal(sl_metrics_gauge_fn_register(m, "dual", "", SL_NO_LABELS, NULL, NULL, &err),
                     -EINVAL);
    /* Nothing half-registered leaked into the output. */
    char *text = render(m);
    assert_string_equal(text, "# HELP dual \n# TYPE dual gauge\ndual 0\n"
                              "# HELP ns:ok_total \n# TYPE ns:ok_total counter\nns:ok_total 0\n");
    free(text);
    sl_metrics_free(m);
}

static double counted(void *ud)
{
    return (double)++*(int *)ud;
}

static void test_callbacks_and_forget(void **state)
{
    (void)state;
    struct sl_metrics *m;
    int calls_a = 0, calls_b = 0;
    struct sl_counter *cell;
    assert_int_equal(sl_metrics_new(&m), 0);
    assert_int_equal(sl_metrics_gauge_fn_register(m, "ring_fill", "F.", SL_LABELS({"ring", "a"}),
                                                  counted, &calls_a, NULL),
                     0);
    assert_int_equal(sl_metrics_gauge_fn_register(m, "ring_fill", "F.", SL_LABELS({"ring", "b"}),
                                                  counted, &calls_b, NULL),
                     0);
    /* A counter series with a cell and a callback part: the sum is rendered as a double. */
    assert_int_equal(sl_metrics_counter_register(m, "c_total", "C.", SL_NO_LABELS, &cell, NULL), 0);
    assert_int_equal(
        sl_metrics_counter_fn_register(m, "c_total", "C.", SL_NO_LABELS, counted, &calls_b, NULL),
        0);
    sl_counter_sw_add(cell, 40);
    char *text = render(m);
    /* c_total renders first: its part counts calls_b to 1; ring b then counts it to 2. */
    assert_string_equal(text, "# HELP c_total C.\n# TYPE c_total counter\nc_total 41\n"
                              "# HELP ring_fill F.\n# TYPE ring_fill gauge\n"
                              "ring_fill{ring=\"a\"} 1\nring_fill{ring=\"b\"} 2\n");
    free(text);
    sl_metrics_forget(m, &calls_b);
    text = render(m);
    assert_string_equal(text, "# HELP c_total C.\n# TYPE c_total counter\nc_total 40\n"
                              "# HELP ring_fill F.\n# TYPE ring_fill gauge\n"
                              "ring_fill{ring=\"a\"} 2\n");
    free(text);
    sl_metrics_forget(m, &calls_a);
    text = render(m);
    assert_string_equal(text, "# HELP c_total C.\n# TYPE c_total counter\nc_total 40\n");
    free(text);
    assert_int_equal(calls_a, 2);
    assert_int_equal(calls_b, 2);
    sl_metrics_free(m);
}

static void test_format_double(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {1, "1"},
        {-42, "-42"},
        {0.005, "0.005"},
        {0.1, "0.1"},
        {2.5, "2.5"},
        {1.0 / 3.0, "0.3333333333333333"},
        {9007199254740992.0, "9007199254740992"},
        {1e21, "1e+21"},
        {1.5e-7, "1.5e-07"},
        {0.1 + 0.2, "0.30000000000000004"},
    };
    char buf[40];
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl_metrics_format_double(cases[i].v, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].s);
    }
    sl_metrics_format_double(INFINITY, buf, sizeof(buf));
    assert_string_equal(buf, "+Inf");
    sl_metrics_format_double(-INFINITY, buf, sizeof(buf));
    assert_string_equal(buf, "-Inf");
    sl_metrics_format_double(NAN, buf, sizeof(buf));
    assert_string_equal(buf, "NaN");
}

static void test_process_metrics(void **state)
{
    (void)state;
    struct sl_metrics *m;
    struct sl_err err;
    assert_int_equal(sl_metrics_new(&m), 0);
    assert_int_equal(sl_metrics_process_register(m, &err), 0);
    double rss, fds, info;
    assert_int_equal(sl_metrics_read(m, "process_resident_memory_bytes", SL_NO_LABELS, &rss), 0);
    assert_true(rss > 1024 * 1024 && rss < 64.0 * 1024 * 1024 * 1024);
    assert_int_equal(sl_metrics_read(m, "process_open_fds", SL_NO_LABELS, &fds), 0);
    assert_true(fds >= 3);
    assert_int_equal(
        sl_metrics_read(m, "sluice_build_info", SL_LABELS({"version", SL_VERSION}), &info), 0);
    assert_true(info == 1);
    char *text = render(m);
    assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
    free(text);
    sl_metrics_free(m);
}

/* ---- concurrency: writers own cells, a renderer reads; totals exact at the end ---- */

#define WRITERS 4
#define ROUNDS  200000

struct writer {
    struct sl_metrics *m;
    int id;
    int r; /* registration result; cmocka's asserts are for the main thread only */
};

static _Atomic int writers_done;

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct sl_counter *shared, *own;
    struct sl_histogram *h;
    struct sl_gauge *g;
    const double bounds[] = {10, 100};
    char id[8];
    snprintf(id, sizeof(id), "%d", w->id);
    /* Registration from the writer thread itself, concurrently with rendering. */
    w->r = sl_metrics_counter_register(w->m, "stress_events_total", "E.",
                                       SL_LABELS({"source", "s"}), &shared, NULL);
    w->r |= sl_metrics_counter_register(w->m, "stress_own_total", "O.", SL_LABELS({"thread", id}),
                                        &own, NULL);
    w->r |= sl_metrics_histogram_register(w->m, "stress_size_bytes", "S.", SL_NO_LABELS, bounds, 2,
                                          &h, NULL);
    w->r |= sl_metrics_gauge_register(w->m, "stress_level", "L.", SL_NO_LABELS, &g, NULL);
    if (w->r != 0) {
        return NULL;
    }
    for (int i = 0; i < ROUNDS; i++) {
        sl_counter_sw_inc(shared);
        sl_counter_sw_add(own, 2);
        sl_histogram_sw_observe(h, (double)(i % 200));
        sl_gauge_sw_add(g, 1);
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

static uint64_t sample_value(const char *text, const char *series)
{
    const char *p = strstr(text, series);
    if (p == NULL) {
        return 0;
    }
    return strtoull(p + strlen(series), NULL, 10);
}

static void test_concurrent_writers_and_renders(void **state)
{
    (void)state;
    struct sl_metrics *m;
    assert_int_equal(sl_metrics_new(&m), 0);
    pthread_t th[WRITERS];
    struct writer w[WRITERS];
    atomic_store(&writers_done, 0);
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){m, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }
    /* Render while they write: each counter only goes up between renders. */
    uint64_t last = 0, last_inf = 0;
    int renders = 0;
    while (atomic_load(&writers_done) < WRITERS || renders < 100) {
        renders++;
        char *text = render(m);
        uint64_t now = sample_value(text, "stress_events_total{source=\"s\"} ");
        uint64_t inf = sample_value(text, "stress_size_bytes_bucket{le=\"+Inf\"} ");
        uint64_t count = sample_value(text, "stress_size_bytes_count ");
        assert_true(now >= last);
        assert_true(inf >= last_inf);
        assert_true(count == inf); /* the count is the +Inf bucket, always */
        last = now;
        last_inf = inf;
        free(text);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].r, 0);
    }
    print_message("%d renders during the writes\n", renders);
    char *text = render(m);
    assert_int_equal(sample_value(text, "stress_events_total{source=\"s\"} "),
                     (uint64_t)WRITERS * ROUNDS);
    for (int i = 0; i < WRITERS; i++) {
        char series[64];
        snprintf(series, sizeof(series), "stress_own_total{thread=\"%d\"} ", i);
        assert_int_equal(sample_value(text, series), 2 * (uint64_t)ROUNDS);
    }
    /* Per writer: i % 200 in 0..199; <= 10: 11 values, <= 100: 101 values, per 200 rounds. */
    uint64_t per = ROUNDS / 200;
    assert_int_equal(sample_value(text, "stress_size_bytes_bucket{le=\"10\"} "),
                     WRITERS * per * 11);
    assert_int_equal(sample_value(text, "stress_size_bytes_bucket{le=\"100\"} "),
                     WRITERS * per * 101);
    assert_int_equal(sample_value(text, "stress_size_bytes_count "), (uint64_t)WRITERS * ROUNDS);
    /* sum of 0..199 = 19900 per 200 rounds */
    char expect_sum[64];
    snprintf(expect_sum, sizeof(expect_sum), "stress_size_bytes_sum %llu\n",
             (unsigned long long)(WRITERS * per * 19900));
    assert_non_null(strstr(text, expect_sum));
    char expect_gauge[64];
    snprintf(expect_gauge, sizeof(expect_gauge), "stress_level %d\n", WRITERS * ROUNDS);
    assert_non_null(strstr(text, expect_gauge));
    free(text);
    sl_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_empty_and_help_free),
        cmocka_unit_test(test_invalid_utf8_label),
        cmocka_unit_test(test_parts_summed),
        cmocka_unit_test(test_histogram_parts_and_count),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_callbacks_and_forget),
        cmocka_unit_test(test_format_double),
        cmocka_unit_test(test_process_metrics),
        cmocka_unit_test(test_concurrent_writers_and_renders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
