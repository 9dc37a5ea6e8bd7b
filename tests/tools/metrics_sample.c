/*
 * metrics_sample.c - builds a registry with every kind of metric and awkward label values,
 * for tests/tools/promparse.py to check with an independent parser.
 *
 *   metrics_sample          print the rendered text on stdout
 *   metrics_sample --serve  serve it on 127.0.0.1:<free port>, print "port N", stop at EOF
 *                           on stdin (the script fetches /metrics, /healthz, /readyz)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

static double occupancy(void *ud)
{
    return *(double *)ud;
}

static bool not_ready(void *ud, char *reason, size_t cap)
{
    (void)ud;
    snprintf(reason, cap, "source telemetry: not connected");
    return false;
}

static int build(struct sl_metrics *m, struct sl_err *err)
{
    static double fill = 0.375;
    static const char *const reasons[] = {"bad_value", "bad_json", "too_large", "no_timestamp"};
    static const char *const sources[] = {"telemetry", "orders", "we\"ird\\name\nx", "ünïcödé", ""};
    const double lat_bounds[] = {0.001, 0.005, 0.025, 0.1, 0.5, 2.5};
    const double size_bounds[] = {64, 1024, 65536};
    struct sl_counter *c;
    struct sl_gauge *g;
    struct sl_histogram *h;
    int r;

    for (size_t s = 0; s < SL_ARRAY_LEN(sources); s++) {
        if ((r = sl_metrics_counter_register(m, "sluice_source_in_total",
                                             "Messages read by a source.",
                                             SL_LABELS({"source", sources[s]}), &c, err)) < 0) {
            return r;
        }
        sl_counter_sw_add(c, 1000 * (s + 1));
        for (size_t i = 0; i < SL_ARRAY_LEN(reasons); i++) {
            /* two parts per series, as two source threads would register */
            for (int part = 0; part < 2; part++) {
                if ((r = sl_metrics_counter_register(
                         m, "sluice_source_rejected_total",
                         "Messages a source rejected, by reason.\nSee SQL.md \\ \"Errors\".",
                         SL_LABELS({"source", sources[s]}, {"reason", reasons[i]}), &c, err)) < 0) {
                    return r;
                }
                sl_counter_sw_add(c, i + (size_t)part);
            }
        }
        if ((r = sl_metrics_histogram_register(m, "sluice_sink_latency_seconds",
                                               "Seconds from emit to delivery.",
                                               SL_LABELS({"sink", sources[s]}), lat_bounds,
                                               SL_ARRAY_LEN(lat_bounds), &h, err)) < 0) {
            return r;
        }
        for (int i = 0; i < 50; i++) {
            sl_histogram_sw_observe(h, 0.0007 * i * i);
        }
    }
    if ((r = sl_metrics_histogram_register(m, "sluice_record_size_bytes", "Record sizes.",
                                           SL_NO_LABELS, size_bounds, SL_ARRAY_LEN(size_bounds), &h,
                                           err)) < 0) {
        return r;
    }
    sl_histogram_sw_observe(h, 64);
    sl_histogram_sw_observe(h, 1e9);
    static const struct {
        const char *name;
        double v;
    } gauges[] = {
        {"nan", NAN},       {"inf", INFINITY}, {"neg_inf", -INFINITY}, {"tiny", 1.5e-300},
        {"third", 1.0 / 3}, {"neg", -12.75},   {"big", 1e300},         {"int", 123456789},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(gauges); i++) {
        if ((r = sl_metrics_gauge_register(m, "sluice_test_value", "Awkward values.",
                                           SL_LABELS({"case", gauges[i].name}), &g, err)) < 0) {
            return r;
        }
        sl_gauge_set(g, gauges[i].v);
    }
    if ((r = sl_metrics_gauge_fn_register(m, "sluice_ring_occupancy_ratio", "Ring fill.",
                                          SL_LABELS({"source", "telemetry"}, {"shard", "0"}),
                                          occupancy, &fill, err)) < 0) {
        return r;
    }
    return sl_metrics_process_register(m, err);
}

int main(int argc, char **argv)
{
    struct sl_metrics *m = NULL;
    struct sl_err err = {{0}};
    int r = sl_metrics_new(&m);
    if (r < 0 || (r = build(m, &err)) < 0) {
        fprintf(stderr, "metrics_sample: %s (%d)\n", err.msg, r);
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "--serve") == 0) {
        struct sl_http *http;
        sl_log_configure(SL_LOG_WARN, SL_LOG_TEXT, 2);
        if (sl_http_start("127.0.0.1:0", m, not_ready, NULL, &http, &err) < 0) {
            fprintf(stderr, "metrics_sample: %s\n", err.msg);
            return 1;
        }
        printf("port %d\n", sl_http_port(http));
        fflush(stdout);
        while (getchar() != EOF) {
        }
        sl_http_stop(http);
    } else {
        char *text;
        size_t len;
        if (sl_metrics_render(m, &text, &len) < 0) {
            return 1;
        }
        fwrite(text, 1, len, stdout);
        free(text);
    }
    sl_metrics_free(m);
    return 0;
}
