/*
 * bench_load.c - how long loading and planning a large query file takes (sluice check,
 * start-up and SIGHUP reload all do it).
 *
 * Generates one file with a source and N sinks (default 1000) that cycle through the shapes
 * people write: per-event filters, TUMBLE/HOP/SESSION windows with several aggregates,
 * FILTER, HAVING, GROUP BY expressions, CASE and scalar functions. Each run loads the text
 * with sl_front_load_text (lex, parse, check, plan, prepare, connector checks) and frees the
 * catalog; the report gives the median and best of the runs. Target: under one second for
 * 1000 queries.
 *
 *   build/bench_load [--queries N] [--runs R] [--dump FILE]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queries/front.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One sink of shape i % 6. */
static void gen_sink(FILE *f, int i)
{
    switch (i % 6) {
    case 0:
        fprintf(f,
                "CREATE SINK q%d WITH (connector = 'stdout', format = 'json') AS\n"
                "SELECT device, site, temp, temp * 1.8 + 32 AS temp_f, _id\n"
                "FROM telemetry\n"
                "WHERE temp > %d AND site IN ('a', 'b', 'c') AND device LIKE 'dev-%%';\n\n",
                i, i % 100);
        break;
    case 1:
        fprintf(f,
                "CREATE SINK q%d WITH (connector = 'redis', url = 'redis://redis:6379/0',\n"
                "    type = 'hash', key = 'q%d:{site}:{device}:{window_start}', ttl = '1h') AS\n"
                "SELECT site, device, window_start, window_end,\n"
                "       COUNT(*) AS readings, AVG(temp) AS avg_temp, MAX(temp) AS max_temp,\n"
                "       PERCENTILE(temp, 0.5) AS p50, PERCENTILE(temp, 0.99) AS p99\n"
                "FROM TUMBLE(telemetry, ts, INTERVAL '%d' SECOND)\n"
                "WHERE temp IS NOT NULL\n"
                "GROUP BY site, device;\n\n",
                i, i, 1 + i % 60);
        break;
    case 2:
        fprintf(f,
                "CREATE SINK q%d WITH (connector = 'lambda',\n"
                "    function = 'arn:aws:lambda:eu-west-1:123456789012:function:f%d') AS\n"
                "SELECT device, window_end, MAX(temp) AS max_temp,\n"
                "       COUNT(*) FILTER (WHERE temp > 90) AS hot\n"
                "FROM HOP(telemetry, ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE)\n"
                "GROUP BY device\n"
                "HAVING MAX(temp) > %d AND COUNT(*) FILTER (WHERE temp > 90) >= 3;\n\n",
                i, i, 50 + i % 50);
        break;
    case 3:
        fprintf(f,
                "CREATE SINK q%d WITH (connector = 'stdout') AS\n"
                "SELECT device, window_start AS first_seen, window_end AS silent_since,\n"
                "       COUNT(*) AS readings, LAST_VALUE(humidity) AS last_humidity\n"
                "FROM SESSION(telemetry, ts, INTERVAL '%d' MINUTE)\n"
                "GROUP BY device;\n\n",
                i, 1 + i % 30);
        break;
    case 4:
        fprintf(f,
                "CREATE SINK q%d WITH (connector = 'file', path = '/tmp/q%d.jsonl') AS\n"
                "SELECT SPLIT_PART(_topic, '/', 2) AS dev, UPPER(site) AS site_uc,\n"
                "       COUNT(DISTINCT device) AS devices, APPROX_COUNT_DISTINCT(device) AS "
                "approx,\n"
                "       TOPK(device, 5) AS top, STDDEV_SAMP(temp) AS sd\n"
                "FROM TUMBLE(telemetry, ts, INTERVAL '1' MINUTE)\n"
                "GROUP BY SPLIT_PART(_topic, '/', 2), UPPER(site)\n"
                "EMIT EVERY INTERVAL '5' SECOND;\n\n",
                i, i);
        break;
    default:
        fprintf(f,
                "CREATE SINK q%d WITH (connector = 'stdout') AS\n"
                "SELECT device,\n"
                "       CASE WHEN temp > 80 THEN 'hot' WHEN temp < 10 THEN 'cold' ELSE 'ok' END "
                "AS state,\n"
                "       COALESCE(site, 'unknown') || '/' || device AS path,\n"
                "       ROUND(temp, 1) AS t, FORMAT_TIMESTAMP(ts) AS at,\n"
                "       REGEXP_MATCH(device, '^dev-[0-9]+$') AS well_formed\n"
                "FROM telemetry\n"
                "WHERE humidity BETWEEN 0 AND 100 OR temp > %d;\n\n",
                i, i % 120);
        break;
    }
}

int main(int argc, char **argv)
{
    int nq = 1000, runs = 7;
    const char *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc) {
            nq = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
            dump = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_load [--queries N] [--runs R] [--dump FILE]\n");
            return 2;
        }
    }
    if (nq < 1 || runs < 1) {
        return 2;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        return 1;
    }
    fprintf(f, "CREATE SOURCE telemetry (\n"
               "    device TEXT NOT NULL, site TEXT PATH '$.meta.site', temp DOUBLE,\n"
               "    humidity DOUBLE, ts TIMESTAMP,\n"
               "    WATERMARK FOR ts AS ts - INTERVAL '5' SECOND\n"
               ") WITH (connector = 'mqtt', url = 'mqtt://mosquitto:1883',\n"
               "        topic = 'factory/+/telemetry');\n\n");
    for (int i = 0; i < nq; i++) {
        gen_sink(f, i);
    }
    fclose(f);
    if (dump != NULL) {
        FILE *d = fopen(dump, "w");
        if (d == NULL || fwrite(text, 1, len, d) != len) {
            perror(dump);
            return 1;
        }
        fclose(d);
    }
    double *t = calloc((size_t)runs, sizeof(double));
    int nplans = 0;
    for (int r = 0; r < runs; r++) {
        struct sl_diags d = {0};
        struct sl_catalog *cat = NULL;
        double t0 = now_s();
        int rc = sl_front_load_text("bench.sql", text, len, &cat, &d);
        if (rc == 0) {
            nplans = cat->nplans;
        }
        sl_catalog_free(cat);
        t[r] = now_s() - t0;
        if (rc != 0) {
            sl_diags_print(&d, stderr);
            return 1;
        }
        sl_diags_fini(&d);
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    printf("bench_load: %d queries, %zu bytes, %d runs: median %.1f ms, best %.1f ms "
           "(%.1f us per query)\n",
           nplans, len, runs, t[runs / 2] * 1e3, t[0] * 1e3, t[runs / 2] * 1e6 / nplans);
    bool met = t[runs / 2] < 1.0;
    printf("target < 1000 ms: %s\n", met ? "met" : "MISSED");
    free(t);
    free(text);
    return 0;
}
