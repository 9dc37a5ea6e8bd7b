/*
 * test_expr_hotpath.c - the evaluator's per-event promises: no allocation once warm, and
 * any number of threads evaluating one prepared tree at once (run under TSan too).
 *
 * Allocation is counted by interposing malloc/calloc/realloc/free in this executable and
 * forwarding to glibc's __libc_* entry points; sanitizer builds own malloc, so there the
 * counting test is skipped and only the threaded test runs.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "expr.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define SL_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SL_TEST_SANITIZED 1
#endif

#ifndef SL_TEST_SANITIZED
static atomic_long g_allocs;
static atomic_bool g_counting;

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void free(void *p);

void *malloc(size_t n)
{
    if (atomic_load_explicit(&g_counting, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&g_allocs, 1, memory_order_relaxed);
    }
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    if (atomic_load_explicit(&g_counting, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&g_allocs, 1, memory_order_relaxed);
    }
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    if (atomic_load_explicit(&g_counting, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&g_allocs, 1, memory_order_relaxed);
    }
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}
#endif

/* ---- a realistic set of expressions over one input row ---- */

enum { C_DEVICE, C_SITE, C_TEMP, C_TS, C_TOPIC, C_EPOCH, C_N, C_NCOLS };

static struct sl_expr *col(int slot, enum sl_type t)
{
    struct sl_expr *e = sl_expr_new(SL_EXPR_COL, t, 0);
    e->slot = (uint32_t)slot;
    return e;
}

static struct sl_expr *txt(const char *s)
{
    return sl_expr_const(sl_value_text(s, (uint32_t)strlen(s)));
}

static struct sl_expr *op(enum sl_expr_op o, enum sl_type t, int n, ...)
{
    struct sl_expr *e = sl_expr_new(o, t, n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        e->args[i] = va_arg(ap, struct sl_expr *);
    }
    va_end(ap);
    return e;
}

static struct sl_expr *fn(enum sl_func f, enum sl_type t, int n, ...)
{
    struct sl_expr *e = sl_expr_new(SL_EXPR_CALL, t, n);
    e->fn = (uint16_t)f;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        e->args[i] = va_arg(ap, struct sl_expr *);
    }
    va_end(ap);
    return e;
}

#define NEXPR 10
static struct sl_expr *exprs[NEXPR];

static void build(void)
{
    const enum sl_type T = SL_TYPE_TEXT, B = SL_TYPE_BOOLEAN, D = SL_TYPE_DOUBLE,
                       I = SL_TYPE_BIGINT, TS = SL_TYPE_TIMESTAMP;
    /* (temp > 90 AND device LIKE 'dev-%' AND REGEXP_MATCH(device, '^dev-[0-9]+$'))
     *   OR SPLIT_PART(topic, '/', 2) IN ('a', 'b') */
    exprs[0] = op(
        SL_EXPR_OR, B, 2,
        op(SL_EXPR_AND, B, 2,
           op(SL_EXPR_AND, B, 2,
              op(SL_EXPR_GT, B, 2, col(C_TEMP, D), sl_expr_const(sl_value_double(90))),
              op(SL_EXPR_LIKE, B, 2, col(C_DEVICE, T), txt("dev-%"))),
           fn(SL_FN_REGEXP_MATCH, B, 2, col(C_DEVICE, T), txt("^dev-[0-9]+$"))),
        op(SL_EXPR_IN, B, 3,
           fn(SL_FN_SPLIT_PART, T, 3, col(C_TOPIC, T), txt("/"), sl_expr_const(sl_value_bigint(2))),
           txt("a"), txt("b")));
    exprs[1] = fn(SL_FN_CONCAT, T, 3, fn(SL_FN_UPPER, T, 1, col(C_DEVICE, T)), txt("-"),
                  op(SL_EXPR_CAST, T, 1, col(C_TEMP, D)));
    exprs[2] = fn(SL_FN_ROUND, D, 2, col(C_TEMP, D), sl_expr_const(sl_value_bigint(1)));
    exprs[3] = fn(SL_FN_DATE_TRUNC, TS, 2, txt("hour"), col(C_TS, TS));
    exprs[4] = fn(SL_FN_FORMAT_TIMESTAMP, T, 1, col(C_TS, TS));
    exprs[5] = op(SL_EXPR_CONCAT, T, 2, fn(SL_FN_LOWER, T, 1, col(C_SITE, T)),
                  fn(SL_FN_SUBSTR, T, 3, col(C_DEVICE, T), sl_expr_const(sl_value_bigint(2)),
                     sl_expr_const(sl_value_bigint(3))));
    exprs[6] = op(SL_EXPR_ADD, I, 2, op(SL_EXPR_CAST, I, 1, txt("123")), col(C_N, I));
    exprs[7] = fn(SL_FN_TO_TIMESTAMP, TS, 1, col(C_EPOCH, D));
    exprs[8] = op(
        SL_EXPR_CAST, D, 1,
        fn(SL_FN_SPLIT_PART, T, 3, col(C_TOPIC, T), txt("/"), sl_expr_const(sl_value_bigint(-1))));
    exprs[9] = fn(SL_FN_LENGTH, I, 1, fn(SL_FN_LOWER, T, 1, col(C_SITE, T)));
    for (int i = 0; i < NEXPR; i++) {
        struct sl_err err;
        assert_int_equal(sl_expr_prepare(exprs[i], &err, NULL), 0);
    }
}

static void release(void)
{
    for (int i = 0; i < NEXPR; i++) {
        sl_expr_free(exprs[i]);
        exprs[i] = NULL;
    }
}

struct input {
    char device[32], site[32], topic[64];
    struct sl_value row[C_NCOLS];
};

static void make_row(struct input *in, int i)
{
    snprintf(in->device, sizeof(in->device), "dev-%d", i % 1000);
    snprintf(in->site, sizeof(in->site), "Sité-%c", 'A' + i % 26);
    snprintf(in->topic, sizeof(in->topic), "factory/%c/%d.%d", "abc"[i % 3], i % 97, i % 10);
    in->row[C_DEVICE] = sl_value_text(in->device, (uint32_t)strlen(in->device));
    in->row[C_SITE] = sl_value_text(in->site, (uint32_t)strlen(in->site));
    in->row[C_TOPIC] = sl_value_text(in->topic, (uint32_t)strlen(in->topic));
    in->row[C_TEMP] = sl_value_double(50 + (i % 600) / 10.0);
    in->row[C_TS] = sl_value_ts(1714564800000 + (int64_t)i * 7919);
    in->row[C_EPOCH] = sl_value_double(1714564800.0 + i * 0.001);
    in->row[C_N] = i % 5 == 0 ? sl_value_null(SL_TYPE_BIGINT) : sl_value_bigint(i);
}

/* A digest of all results for row i, as text (compared across threads). */
static void digest(struct sl_eval *ev, const struct input *in, char *out, size_t cap)
{
    size_t len = 0;
    ev->scratch_used = 0;
    for (int k = 0; k < NEXPR && len < cap; k++) {
        struct sl_value v;
        sl_expr_eval(exprs[k], in->row, ev, &v);
        int n;
        if (v.null) {
            n = snprintf(out + len, cap - len, "N|");
        } else if (v.type == SL_TYPE_TEXT) {
            n = snprintf(out + len, cap - len, "%.*s|", (int)v.len, v.u.s);
        } else if (v.type == SL_TYPE_DOUBLE) {
            n = snprintf(out + len, cap - len, "%.17g|", v.u.d);
        } else if (v.type == SL_TYPE_BOOLEAN) {
            n = snprintf(out + len, cap - len, "%d|", v.u.b);
        } else {
            n = snprintf(out + len, cap - len, "%lld|", (long long)v.u.i);
        }
        len += (size_t)n;
    }
}

static void test_no_allocation(void **state)
{
    (void)state;
#ifdef SL_TEST_SANITIZED
    skip();
#else
    build();
    struct sl_eval ev;
    sl_eval_init(&ev, 4096);
    struct input in;
    make_row(&in, 500); /* temp 100: reaches REGEXP_MATCH */
    struct sl_value v;
    /* warm: the PCRE2 match data (and the frame vector PCRE2 keeps in it) are made once per
     * thread, on the first match */
    for (int k = 0; k < NEXPR; k++) {
        sl_expr_eval(exprs[k], in.row, &ev, &v);
    }
    atomic_store(&g_allocs, 0);
    atomic_store(&g_counting, true);
    for (int i = 0; i < 20000; i++) {
        make_row(&in, i);
        ev.scratch_used = 0;
        for (int k = 0; k < NEXPR; k++) {
            sl_expr_eval(exprs[k], in.row, &ev, &v);
        }
    }
    atomic_store(&g_counting, false);
    assert_int_equal(atomic_load(&g_allocs), 0);
    assert_int_equal(ev.truncated, 0);
    sl_eval_fini(&ev);
    release();
#endif
}

#define NTHREADS 4
#define NROWS    3000

static char expected[NROWS][512];

struct worker {
    pthread_t tid;
    int index;
    int mismatches;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct sl_eval ev;
    sl_eval_init(&ev, 4096);
    struct input in;
    char got[512];
    for (int pass = 0; pass < 3; pass++) {
        for (int j = 0; j < NROWS; j++) {
            int i = (j * 7 + w->index * 131) % NROWS; /* each thread in its own order */
            make_row(&in, i);
            digest(&ev, &in, got, sizeof(got));
            if (strcmp(got, expected[i]) != 0) {
                w->mismatches++;
            }
        }
    }
    sl_eval_fini(&ev);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    build();
    struct sl_eval ev;
    sl_eval_init(&ev, 4096);
    struct input in;
    for (int i = 0; i < NROWS; i++) {
        make_row(&in, i);
        digest(&ev, &in, expected[i], sizeof(expected[i]));
    }
    sl_eval_fini(&ev);
    /* spot-check one digest by hand: row 7 */
    assert_string_equal(expected[7], "1|DEV-7-50.7|50.700000000000003|1714564800000|"
                                     "2024-05-01T12:00:55.433Z|sité-hev-|130|1714564800007|"
                                     "7.7000000000000002|6|");
    struct worker w[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        w[t].index = t;
        w[t].mismatches = 0;
        assert_int_equal(pthread_create(&w[t].tid, NULL, work, &w[t]), 0);
    }
    for (int t = 0; t < NTHREADS; t++) {
        pthread_join(w[t].tid, NULL);
        assert_int_equal(w[t].mismatches, 0);
    }
    release();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_allocation),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
