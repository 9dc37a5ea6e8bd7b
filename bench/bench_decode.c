/*
 * bench_decode.c - micro-benchmark of the JSON event decoder, beside simdjson.
 *
 * Generates N IoT-like events of about 100 bytes (seeded, so every run decodes the same
 * bytes), then times, over the same buffer:
 *   sluice/6 cols   sl_decode projecting all six fields an event has
 *   sluice/1 col    sl_decode projecting only ts (the rest validated and skipped)
 *   simdjson OD     simdjson On-Demand reading the same six fields (bench/ref_simdjson.cpp)
 *   simdjson DOM    simdjson DOM parse of each line (full validation), reading ts
 * and, on ~1 KB "wide" events with nested arrays/objects of which three fields are used,
 * sluice/3 cols and simdjson DOM. Prints CPU ns per event (thread CPU time, so that time
 * spent descheduled on a shared machine does not count) and MB/s of JSON text.
 *
 * Usage: bench_decode [events [reps [only]]]   (defaults 100000 20; only = s6 | s1 | od | dom
 * | w3 | wdom runs just that one, for perf stat)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode.h"
#include "queries/plan.h"

#ifndef SL_NO_SIMDJSON
double sl_bench_simdjson_ondemand(const char *buf, const size_t *off, size_t n, int reps,
                                  uint64_t *ret_check);
double sl_bench_simdjson_dom(const char *buf, const size_t *off, size_t n, int reps,
                             uint64_t *ret_check);
#endif

static uint64_t rs = 42;

static uint64_t rnd(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct lines {
    char *buf;
    size_t *off; /* n + 1 offsets; line i is [off[i], off[i+1] - 1), then '\n' */
    size_t n, bytes;
};

static void gen(struct lines *l, size_t n, int wide)
{
    size_t cap = n * (wide ? 1400 : 160) + 128;
    l->buf = malloc(cap);
    l->off = malloc((n + 1) * sizeof(size_t));
    l->n = n;
    size_t o = 0;
    uint64_t ts = 1714564800000ULL;
    for (size_t i = 0; i < n; i++) {
        l->off[i] = o;
        ts += rnd() % 50;
        unsigned dev = (unsigned)(rnd() % 10000), t = (unsigned)(rnd() % 4000);
        unsigned h = (unsigned)(rnd() % 1000);
        if (!wide) {
            o += (size_t)sprintf(l->buf + o,
                                 "{\"device\":\"dev-%04u\",\"ts\":%llu,\"temp\":%u.%02u,"
                                 "\"hum\":%u.%u,\"ok\":%s,\"meta\":{\"site\":\"plant-%u\"}}\n",
                                 dev, (unsigned long long)ts, t / 100, t % 100, h / 10, h % 10,
                                 rnd() % 8 ? "true" : "false", dev % 13);
        } else {
            o += (size_t)sprintf(l->buf + o, "{\"device\":\"dev-%04u\",\"ts\":%llu,", dev,
                                 (unsigned long long)ts);
            for (int k = 0; k < 12; k++) {
                o += (size_t)sprintf(l->buf + o,
                                     "\"sensor_%02d\":{\"v\":%u.%02u,\"unit\":\"C\","
                                     "\"hist\":[%u,%u,%u,%u]},",
                                     k, t / 100, t % 100, h, h + 1, h + 2, h + 3);
            }
            o += (size_t)sprintf(l->buf + o,
                                 "\"firmware\":\"v2.14.3-rc1 build 20240501\","
                                 "\"note\":\"caf\\u00e9 \\\"quoted\\\" text\",\"temp\":%u.%02u}\n",
                                 t / 100, t % 100);
        }
    }
    l->off[n] = o;
    l->bytes = o;
    memset(l->buf + o, ' ', 128); /* readable padding for simdjson */
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

struct colspec {
    const char *name;
    enum sl_type type;
    const char *path;
};

static struct sl_decoder *make(const struct colspec *cs, int n, struct sl_source *src)
{
    memset(src, 0, sizeof(*src));
    src->name = "bench";
    src->ncols = n;
    src->wm_col = -1;
    src->cols = calloc((size_t)n, sizeof(struct sl_column));
    for (int i = 0; i < n; i++) {
        struct sl_err err;
        src->cols[i].name = (char *)cs[i].name;
        src->cols[i].type = cs[i].type;
        src->cols[i].used = true;
        if (sl_path_parse(cs[i].path, &src->cols[i].path, &err) != 0) {
            abort();
        }
    }
    struct sl_decoder *d;
    if (sl_decoder_new(src, SL_TS_AUTO, 1 << 20, &d) != 0) {
        abort();
    }
    return d;
}

static void unmake(struct sl_decoder *d, struct sl_source *src)
{
    sl_decoder_free(d);
    for (int i = 0; i < src->ncols; i++) {
        sl_path_free(src->cols[i].path);
    }
    free(src->cols);
}

/* ns per event */
static double run_sluice(struct sl_decoder *d, const struct lines *l, int reps, int ncols)
{
    struct sl_value row[8];
    char scratch[2048];
    uint64_t check = 0, rejected = 0;
    double t0 = now_ns();
    for (int r = 0; r < reps; r++) {
        for (size_t i = 0; i < l->n; i++) {
            size_t len = l->off[i + 1] - l->off[i] - 1;
            int rc = sl_decode(d, l->buf + l->off[i], len, row, scratch, sizeof(scratch));
            if (rc != 0) {
                rejected++;
                continue;
            }
            for (int c = 0; c < ncols; c++) {
                check += (uint64_t)row[c].u.i + row[c].len;
            }
        }
    }
    double ns = (now_ns() - t0) / ((double)l->n * reps);
    if (rejected != 0) {
        fprintf(stderr, "unexpected rejects: %llu\n", (unsigned long long)rejected);
        exit(1);
    }
    if (check == 42) {
        puts(""); /* keep the loop */
    }
    return ns;
}

static void report(const char *what, double ns, const struct lines *l)
{
    double avg = (double)l->bytes / (double)l->n;
    printf("  %-22s %8.1f ns/event %9.1f MB/s\n", what, ns, avg / ns * 1e3);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    const char *only = argc > 3 ? argv[3] : NULL;
    struct lines small, wide;
    gen(&small, n, 0);
    gen(&wide, n / 10 + 1, 1);

    const struct colspec six[] = {
        {"device", SL_TYPE_TEXT, "$.device"}, {"ts", SL_TYPE_TIMESTAMP, "$.ts"},
        {"temp", SL_TYPE_DOUBLE, "$.temp"},   {"hum", SL_TYPE_DOUBLE, "$.hum"},
        {"ok", SL_TYPE_BOOLEAN, "$.ok"},      {"site", SL_TYPE_TEXT, "$.meta.site"},
    };
    const struct colspec three[] = {
        {"device", SL_TYPE_TEXT, "$.device"},
        {"ts", SL_TYPE_TIMESTAMP, "$.ts"},
        {"temp", SL_TYPE_DOUBLE, "$.temp"},
    };
    struct sl_source s6, s1, s3;
    struct sl_decoder *d6 = make(six, 6, &s6), *d1 = make(six + 1, 1, &s1);
    struct sl_decoder *d3 = make(three, 3, &s3);

    printf("bench_decode: %zu small events (avg %.1f bytes), %zu wide (avg %.1f bytes), "
           "%d reps\n",
           small.n, (double)small.bytes / (double)small.n, wide.n,
           (double)wide.bytes / (double)wide.n, reps);
#define WANT(x) (only == NULL || strcmp(only, (x)) == 0)
    /* warm up, then measure */
    run_sluice(d6, &small, 1, 6);
    printf(" small (~100 B):\n");
    if (WANT("s6")) {
        report("sluice, 6 columns", run_sluice(d6, &small, reps, 6), &small);
    }
    if (WANT("s1")) {
        report("sluice, 1 column", run_sluice(d1, &small, reps, 1), &small);
    }
#ifndef SL_NO_SIMDJSON
    uint64_t check;
    sl_bench_simdjson_ondemand(small.buf, small.off, small.n, 1, &check);
    if (WANT("od")) {
        report("simdjson On-Demand, 6",
               sl_bench_simdjson_ondemand(small.buf, small.off, small.n, reps, &check), &small);
    }
    if (WANT("dom")) {
        report("simdjson DOM", sl_bench_simdjson_dom(small.buf, small.off, small.n, reps, &check),
               &small);
    }
#endif
    printf(" wide (~1 KB, 3 of 16 members used):\n");
    if (WANT("w3")) {
        report("sluice, 3 columns", run_sluice(d3, &wide, reps, 3), &wide);
    }
#ifndef SL_NO_SIMDJSON
    if (WANT("wdom")) {
        report("simdjson DOM", sl_bench_simdjson_dom(wide.buf, wide.off, wide.n, reps, &check),
               &wide);
    }
#endif
    unmake(d6, &s6);
    unmake(d1, &s1);
    unmake(d3, &s3);
    free(small.buf);
    free(small.off);
    free(wide.buf);
    free(wide.off);
    return 0;
}
