/*
 * bench_agg.c - nanoseconds per update() of the aggregates on the hot path, called through the
 * ops table as the engine calls them, over a prepared array of values (one state, 10 % NULL).
 * Prints one line per aggregate; exits 0. Not a pass/fail test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/agg.h"

enum { N = 1 << 16, ROUNDS = 160 };

static uint64_t rnd(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct sl_value vals[N];
static char texts[N][16];

static void run(const char *name, enum sl_type t, bool star, uint64_t distinct)
{
    const struct sl_agg_ops *ops = sl_agg_find(name);
    struct sl_agg_sig sig = {.star = star, .arg_type = t, .max_distinct = 100000};
    struct sl_err err;
    uint64_t seed = 1;
    _Atomic uint64_t over = 0;
    if (ops == NULL || ops->check(&sig, &err) != 0) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        exit(1);
    }
    for (int i = 0; i < N; i++) {
        uint64_t r = rnd(&seed);
        uint64_t k = distinct != 0 ? r % distinct : r;
        switch (t) {
        case SL_TYPE_DOUBLE:
            vals[i] = sl_value_double((double)(k >> 11) * 0x1.0p-53);
            break;
        case SL_TYPE_TEXT: {
            int n = snprintf(texts[i], sizeof(texts[i]), "k%llu", (unsigned long long)(k % 100000));
            vals[i] = sl_value_text(texts[i], (uint32_t)n);
            break;
        }
        default:
            vals[i] = sl_value_bigint((int64_t)k);
            break;
        }
        if (r % 10 == 0) {
            vals[i].null = 1;
        }
    }
    void *st = aligned_alloc(8, sig.state_size);
    ops->init(st, &sig);
    struct sl_agg_ctx cx = {.ts = 0, .pos = 0, .over_limit = &over};
    double t0 = now_ns();
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++) {
            cx.ts = i;
            cx.pos = (uint64_t)i;
            ops->update(st, &sig, &vals[i], &cx);
        }
    }
    double ns = (now_ns() - t0) / ((double)N * ROUNDS);
    struct sl_value out;
    char buf[64];
    ops->final(st, &sig, &out, buf, sizeof(buf));
    if (ops->fini != NULL) {
        ops->fini(st, &sig);
    }
    free(st);
    printf("%-16s %-9s %6.2f ns/update\n", name, star ? "*" : sl_type_name(t), ns);
}

int main(void)
{
    run("COUNT", SL_TYPE_NULL, true, 0);
    run("COUNT", SL_TYPE_BIGINT, false, 0);
    run("SUM", SL_TYPE_BIGINT, false, 0);
    run("SUM", SL_TYPE_DOUBLE, false, 0);
    run("AVG", SL_TYPE_DOUBLE, false, 0);
    run("MIN", SL_TYPE_BIGINT, false, 0);
    run("MAX", SL_TYPE_DOUBLE, false, 0);
    run("MIN", SL_TYPE_TEXT, false, 0);
    run("FIRST_VALUE", SL_TYPE_BIGINT, false, 0);
    run("LAST_VALUE", SL_TYPE_TEXT, false, 0);
    run("VAR_SAMP", SL_TYPE_DOUBLE, false, 0);
    run("COUNT_DISTINCT", SL_TYPE_BIGINT, false, 1000);
    run("COUNT_DISTINCT", SL_TYPE_BIGINT, false, 50000);
    run("COUNT_DISTINCT", SL_TYPE_TEXT, false, 1000);
    return 0;
}
