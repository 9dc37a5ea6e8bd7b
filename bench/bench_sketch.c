/*
 * bench_sketch.c - ns per insert of each sketch aggregate through its update() (the engine's
 * hot path), beside exact baselines measured in the same run: append to an array and sort at
 * the end (quantiles), an open-addressing hash set of 64-bit keys (distinct counts), and an
 * exact hash map of counts (top-k).
 *
 * Usage: bench_sketch [--quick]   (--quick: 1/10 of the inserts, for the ctest label `bench`)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/agg.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(uint64_t *x)
{
    return (double)(rnd(x) >> 11) * 0x1.0p-53;
}

static volatile uint64_t sink_u64;

/* Runs n updates of aggregate name over vals; returns ns per update (final() included once). */
static double run_agg(const char *name, enum sl_type t, struct sl_value param, int nparams,
                      const struct sl_value *vals, size_t n)
{
    const struct sl_agg_ops *ops = sl_agg_find(name);
    struct sl_agg_sig sig = {.arg_type = t, .nparams = nparams, .max_distinct = 100000};
    struct sl_err err = {{0}};
    sig.params[0] = param;
    if (ops == NULL || ops->check(&sig, &err) < 0) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        exit(1);
    }
    void *st = aligned_alloc(64, (sig.state_size + 63) & ~63u);
    _Atomic uint64_t over = 0;
    struct sl_agg_ctx cx = {.over_limit = &over};
    ops->init(st, &sig);
    double t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        cx.ts = (int64_t)i;
        cx.pos = i;
        ops->update(st, &sig, &vals[i], &cx);
    }
    static char buf[1 << 18];
    struct sl_value out;
    ops->final(st, &sig, &out, buf, sizeof(buf));
    double t1 = now_ns();
    sink_u64 += out.u.i;
    if (ops->fini != NULL) {
        ops->fini(st, &sig);
    }
    free(st);
    return (t1 - t0) / (double)n;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Exact quantiles: append, then sort once and read the median. */
static double run_sort(const struct sl_value *vals, size_t n)
{
    double t0 = now_ns();
    size_t cap = 1024, len = 0;
    double *a = malloc(cap * sizeof(*a));
    for (size_t i = 0; i < n; i++) {
        if (len == cap) {
            cap *= 2;
            a = realloc(a, cap * sizeof(*a));
        }
        a[len++] = vals[i].u.d;
    }
    qsort(a, len, sizeof(*a), cmp_d);
    double med = a[len / 2];
    double t1 = now_ns();
    sink_u64 += (uint64_t)med;
    free(a);
    return (t1 - t0) / (double)n;
}

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

/* Exact distinct count: open addressing over 64-bit keys, doubling at load 1/2. With counts,
 * the exact top-k baseline (counting only; selecting k at the end is not timed). */
static double run_hashset(const struct sl_value *vals, size_t n, int counts)
{
    double t0 = now_ns();
    size_t cap = 1024, used = 0;
    uint64_t *k = calloc(cap, sizeof(*k));
    uint64_t *c = counts ? calloc(cap, sizeof(*c)) : NULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = (uint64_t)vals[i].u.i + 1; /* 0 marks empty; keys here are >= 0 */
        if (2 * (used + 1) > cap) {
            size_t nc = cap * 2;
            uint64_t *nk = calloc(nc, sizeof(*nk));
            uint64_t *ncn = counts ? calloc(nc, sizeof(*ncn)) : NULL;
            for (size_t j = 0; j < cap; j++) {
                if (k[j] != 0) {
                    size_t h = mix(k[j]) & (nc - 1);
                    while (nk[h] != 0) {
                        h = (h + 1) & (nc - 1);
                    }
                    nk[h] = k[j];
                    if (counts) {
                        ncn[h] = c[j];
                    }
                }
            }
            free(k);
            free(c);
            k = nk;
            c = ncn;
            cap = nc;
        }
        size_t h = mix(key) & (cap - 1);
        while (k[h] != 0 && k[h] != key) {
            h = (h + 1) & (cap - 1);
        }
        if (k[h] == 0) {
            k[h] = key;
            used++;
        }
        if (counts) {
            c[h]++;
        }
    }
    double t1 = now_ns();
    sink_u64 += used;
    free(k);
    free(c);
    return (t1 - t0) / (double)n;
}

int main(int argc, char **argv)
{
    size_t n = 4000000;
    if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
        n /= 10;
    }
    struct sl_value *lognormal = malloc(n * sizeof(*lognormal));
    struct sl_value *distinct = malloc(n * sizeof(*distinct));
    struct sl_value *small = malloc(n * sizeof(*small));
    struct sl_value *zipf = malloc(n * sizeof(*zipf));
    if (lognormal == NULL || distinct == NULL || small == NULL || zipf == NULL) {
        return 1;
    }
    uint64_t seed = 42;
    for (size_t i = 0; i < n; i++) {
        double u = unif(&seed), v = unif(&seed);
        lognormal[i] = sl_value_double(exp(2 * sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v)));
        distinct[i] = sl_value_bigint((int64_t)(rnd(&seed) >> 4));
        small[i] = sl_value_bigint((int64_t)(rnd(&seed) % 60));
        zipf[i] = sl_value_bigint((int64_t)pow(100000, unif(&seed)) - 1);
    }
    struct sl_value none = {0};
    printf("inserts per run: %zu\n", n);
    printf("%-48s %8s\n", "sketch / baseline", "ns/insert");
    printf("%-48s %8.1f\n", "PERCENTILE (DDSketch), lognormal DOUBLE",
           run_agg("PERCENTILE", SL_TYPE_DOUBLE, sl_value_double(0.5), 1, lognormal, n));
    printf("%-48s %8.1f\n", "  exact: append + qsort at the end", run_sort(lognormal, n));
    printf("%-48s %8.1f\n", "APPROX_COUNT_DISTINCT, exact mode (60 vals)",
           run_agg("APPROX_COUNT_DISTINCT", SL_TYPE_BIGINT, none, 0, small, n));
    printf("%-48s %8.1f\n", "APPROX_COUNT_DISTINCT, registers, all distinct",
           run_agg("APPROX_COUNT_DISTINCT", SL_TYPE_BIGINT, none, 0, distinct, n));
    printf("%-48s %8.1f\n", "  exact: hash set, all distinct", run_hashset(distinct, n, 0));
    printf("%-48s %8.1f\n", "COUNT(DISTINCT) (exact, max_distinct 100000)",
           run_agg("COUNT_DISTINCT", SL_TYPE_BIGINT, none, 0, distinct, n));
    printf("%-48s %8.1f\n", "TOPK (Space-Saving, 2048), zipf over 1e5",
           run_agg("TOPK", SL_TYPE_BIGINT, sl_value_bigint(10), 1, zipf, n));
    printf("%-48s %8.1f\n", "TOPK (Space-Saving, 2048), all distinct",
           run_agg("TOPK", SL_TYPE_BIGINT, sl_value_bigint(10), 1, distinct, n));
    printf("%-48s %8.1f\n", "  exact: hash map of counts, zipf", run_hashset(zipf, n, 1));
    printf("%-48s %8.1f\n", "RATE", run_agg("RATE", SL_TYPE_DOUBLE, none, 0, lognormal, n));
    free(lognormal);
    free(distinct);
    free(small);
    free(zipf);
    return 0;
}
