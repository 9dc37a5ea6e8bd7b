/*
 * test_hostile_decode.c - the decoder under hostile conditions: every allocation of
 * sl_decoder_new failing in turn (it returns -ENOMEM and frees what it took: LeakSanitizer in
 * the ASan build), and the payload list decoded one by one between valid neighbours
 * whose rows stay exact (reasons by hand from decode.h and SQL.md).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/decode.h"
#include "queries/plan.h"

static int fail_at, allocs;

static bool fail_hook(void)
{
    return ++allocs == fail_at;
}

static struct sl_column cols[3];
static struct sl_source src = {.name = "t", .ncols = 3, .cols = cols, .wm_col = 2};

static void setup_cols(void)
{
    cols[0] = (struct sl_column){.name = "device", .type = SL_TYPE_TEXT, .used = true};
    cols[1] = (struct sl_column){.name = "temp", .type = SL_TYPE_DOUBLE, .used = true};
    cols[2] = (struct sl_column){.name = "ts", .type = SL_TYPE_TIMESTAMP, .used = true};
}

static void test_alloc_failures(void **state)
{
    (void)state;
    setup_cols();
    int k;
    for (k = 1; k < 100; k++) {
        struct sl_decoder *d = NULL;
        fail_at = k;
        allocs = 0;
        sl__decoder_alloc_fail = fail_hook;
        int r = sl_decoder_new(&src, SL_TS_AUTO, 1 << 20, &d);
        sl__decoder_alloc_fail = NULL;
        if (r == 0) {
            assert_true(allocs < k); /* every allocation succeeded: the loop is done */
            sl_decoder_free(d);
            break;
        }
        assert_int_equal(r, -ENOMEM);
    }
    assert_true(k > 5 && k < 100); /* several allocations, each failure seen */
}

struct payload {
    const char *text;
    size_t len; /* 0: strlen */
    int reason;
};

static void test_payload_list(void **state)
{
    (void)state;
    setup_cols();
    struct sl_decoder *d;
    assert_int_equal(sl_decoder_new(&src, SL_TS_AUTO, 1 << 20, &d), 0);
    static const struct payload bad[] = {
        {"{\"device\":\"a\",\"temp\":1,\"ts\":", 0, SL_REJECT_TRUNCATED},
        {"{\"device\":\"a\",\"temp\":1,\"ts\":1700000000000} xyz", 0, SL_REJECT_TRAILING_DATA},
        {"{\"device\":\"a\",\"temp\":\"hot\",\"ts\":1700000000000}", 0, SL_REJECT_BAD_VALUE},
        {"", 0, SL_REJECT_NOT_JSON},
        {"\x00\x01\xfe\xff", 4, SL_REJECT_NOT_JSON},
        {"{\"device\":\"\xc0\xaf\",\"temp\":1,\"ts\":1700000000000}", 0, SL_REJECT_INVALID_UTF8},
        {"{\"device\":\"\xed\xa0\x80\",\"temp\":1,\"ts\":1700000000000}", 0,
         SL_REJECT_INVALID_UTF8},
        {"{\"device\":\"\\udc00\",\"temp\":1,\"ts\":1700000000000}", 0, SL_REJECT_INVALID_UTF8},
        {"{\"device\":\"\xe2\x82\",\"temp\":1,\"ts\":1700000000000}", 0, SL_REJECT_INVALID_UTF8},
        {"{\"device\":\"a\",\"temp\":NaN,\"ts\":1700000000000}", 0, SL_REJECT_NOT_JSON},
        {"{\"device\":\"a\",\"temp\":Infinity,\"ts\":1700000000000}", 0, SL_REJECT_NOT_JSON},
        {"{\"device\":\"a\",\"temp\":1e400,\"ts\":1700000000000}", 0, SL_REJECT_BAD_NUMBER},
        {"{\"device\":\"a\",\"temp\":1,\"ts\":\"+12024-01-01T00:00:00Z\"}", 0,
         SL_REJECT_BAD_EVENT_TIME},
        {"{\"device\":\"a\",\"temp\":1,\"ts\":253402300800000}", 0, SL_REJECT_BAD_EVENT_TIME},
        {"[]", 0, SL_REJECT_NOT_OBJECT},
    };
    static const char good[] = "{\"device\":\"dev-1\",\"temp\":21.5,\"ts\":1700000000123}";
    char scratch[1 << 12];
    struct sl_value row[3];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = bad[i].len ? bad[i].len : strlen(bad[i].text);
        char *copy = malloc(n + 1);
        memcpy(copy, bad[i].text, n);
        int r = sl_decode(d, copy, n, row, scratch, sizeof(scratch));
        if (r != -bad[i].reason) {
            fprintf(stderr, "payload %zu: %s, expected %s\n", i, sl_reject_name(r),
                    sl_reject_name(bad[i].reason));
        }
        assert_int_equal(r, -bad[i].reason);
        free(copy);
        /* the valid neighbour decodes exactly */
        assert_int_equal(sl_decode(d, good, strlen(good), row, scratch, sizeof(scratch)), 0);
        assert_int_equal(row[0].len, 5);
        assert_memory_equal(row[0].u.s, "dev-1", 5);
        assert_true(row[1].u.d == 21.5);
        assert_int_equal(row[2].u.i, 1700000000123LL);
    }
    /* 200 000-deep nesting and a 16 MiB message */
    size_t deep = 200000, n = 0;
    char *b = malloc(2 * deep + 64);
    n += (size_t)sprintf(b, "{\"x\":");
    memset(b + n, '[', deep);
    n += deep;
    memset(b + n, ']', deep);
    n += deep;
    b[n++] = '}';
    char *sc = malloc(n);
    assert_int_equal(sl_decode(d, b, n, row, sc, n), -SL_REJECT_TOO_DEEP);
    free(b);
    free(sc);
    size_t big = 16u << 20;
    b = malloc(big);
    memset(b, ' ', big);
    memcpy(b, "{\"a\":1}", 7);
    assert_int_equal(sl_decode(d, b, big, row, scratch, sizeof(scratch)), -SL_REJECT_TOO_LARGE);
    free(b);
    assert_int_equal(sl_decode(d, good, strlen(good), row, scratch, sizeof(scratch)), 0);
    sl_decoder_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_payload_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
