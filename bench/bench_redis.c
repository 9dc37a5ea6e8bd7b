/*
 * bench_redis.c - the redis sink's write path against a running redis-server: result rows
 * per second, and how long after a window closes its rows are visible in Redis.
 *
 * Loads a query (TUMBLE ... GROUP BY device: device, window_start, n, avg_temp, max_temp)
 * with a redis sink of type hash, opens the sink and hands it G rows per window, W windows,
 * in chunks of 1024 rows as the engine's sink thread does. A row is visible in Redis when
 * the write() call holding it returns (the sink returns only after reading every reply), so
 * the latency of a row is: return of its chunk's write() - the moment the window's rows
 * were handed to the sink (the window close, as the sink thread sees it). Prints rows/s
 * over all write() time, and p50/p99/max of per-row latency.
 *
 *   build/bench_redis PORT [--groups G] [--windows W] [--pipeline P]
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connectors/redis/redis_run.h"
#include "engine/format.h"
#include "queries/front.h"
#include "queries/plan.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_redis PORT [--groups G] [--windows W] [--pipeline P]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int groups = 10000, windows = 30, pipeline = 256;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--groups") == 0) {
            groups = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--windows") == 0) {
            windows = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--pipeline") == 0) {
            pipeline = atoi(argv[i + 1]);
        }
    }
    if (groups < 1 || windows < 1 || pipeline < 1) {
        fprintf(stderr, "bench_redis: groups, windows and pipeline must be positive\n");
        return 2;
    }
    char q[1024];
    snprintf(q, sizeof(q),
             "CREATE SOURCE g (device TEXT, temp DOUBLE, ts TIMESTAMP, WATERMARK FOR ts AS ts) "
             "WITH (connector = "
             "'datagen');\n"
             "CREATE SINK b WITH (connector = 'redis', url = 'redis://127.0.0.1:%d/0', "
             "key = 'bench:{device}:{window_start}', pipeline = '%d') AS\n"
             "SELECT device, window_start, COUNT(*) AS n, AVG(temp) AS avg_temp, "
             "MAX(temp) AS max_temp FROM TUMBLE(g, ts, INTERVAL '10' SECOND) GROUP BY device;\n",
             port, pipeline);
    struct sl_catalog *cat = NULL;
    struct sl_diags d;
    memset(&d, 0, sizeof(d));
    if (sl_front_load_text("bench.sql", q, strlen(q), &cat, &d) < 0) {
        sl_diags_print(&d, stderr);
        return 1;
    }
    sl_diags_fini(&d);
    const struct sl_plan *plan = cat->plans[0];
    int nout = plan->nout;
    struct sl_row *rows = calloc((size_t)groups, sizeof(*rows));
    struct sl_value *vals = calloc((size_t)groups * (size_t)nout, sizeof(*vals));
    char(*names)[24] = calloc((size_t)groups, sizeof(*names));
    double *lat = calloc((size_t)groups * (size_t)windows, sizeof(*lat));
    if (rows == NULL || vals == NULL || names == NULL || lat == NULL) {
        return 1;
    }
    atomic_bool stop = false;
    struct sl_sink_env env = {.metrics = NULL, .stopping = &stop};
    void *st = NULL;
    struct sl_err err;
    if (sl_redis_sink_ops.open(plan, &env, &st, &err) < 0) {
        fprintf(stderr, "bench_redis: open: %s\n", err.msg);
        return 1;
    }
    double busy = 0;
    size_t nl = 0;
    for (int w = 0; w < windows; w++) {
        int64_t ws = 1704067200000LL + (int64_t)w * 10000;
        for (int g = 0; g < groups; g++) {
            snprintf(names[g], sizeof(names[g]), "device-%d", g);
            struct sl_value *v = &vals[(size_t)g * (size_t)nout];
            for (int c = 0; c < nout; c++) {
                v[c].type = (uint8_t)plan->out[c].type;
                switch (plan->out[c].type) {
                case SL_TYPE_TEXT:
                    v[c].u.s = names[g];
                    v[c].len = (uint32_t)strlen(names[g]);
                    break;
                case SL_TYPE_TIMESTAMP:
                    v[c].u.i = ws;
                    break;
                case SL_TYPE_BIGINT:
                    v[c].u.i = 1 + (g * 7 + w) % 1000;
                    break;
                default: /* avg_temp: any double; max_temp: two decimals, as datagen */
                    v[c].u.d = c == nout - 1 ? (double)(1500 + (g * 31 + w) % 3000) / 100.0
                                             : (double)(g * 7919 + w) / 7.0;
                    break;
                }
            }
            rows[g].vals = v;
            rows[g].id = "00000000000000000000000000000000";
            rows[g].rev = 1;
            rows[g].is_final = true;
            rows[g].window_start = ws;
            rows[g].window_end = ws + 10000;
        }
        double t0 = now_s();
        for (int off = 0; off < groups; off += 1024) {
            int n = groups - off < 1024 ? groups - off : 1024;
            while (sl_redis_sink_ops.write(st, rows + off, n) < 0) {
                fprintf(stderr, "bench_redis: write failed, retrying\n");
                struct timespec ts = {.tv_nsec = 100000000L};
                nanosleep(&ts, NULL);
            }
            double t = now_s();
            for (int i = 0; i < n; i++) {
                lat[nl++] = t - t0;
            }
        }
        busy += now_s() - t0;
    }
    sl_redis_sink_ops.close(st);
    qsort(lat, nl, sizeof(*lat), cmp_double);
    double total = (double)groups * windows;
    printf("rows=%.0f rows_per_s=%.0f latency_ms p50=%.2f p99=%.2f max=%.2f\n", total, total / busy,
           lat[nl / 2] * 1e3, lat[(size_t)((double)nl * 0.99)] * 1e3, lat[nl - 1] * 1e3);
    free(rows);
    free(vals);
    free(names);
    free(lat);
    sl_catalog_free(cat);
    return 0;
}
