/*
 * test_kafka.c - the Kafka source's commit record: the metadata written with each committed
 * offset ("sluice:1;done=<ms>;wm=<ms>;hi=<offset>", DESIGN.md "Delivery guarantees") and how
 * it is read back on assignment. Expected strings are written by hand from DESIGN.md; bad
 * records (another tool's metadata, a future version, garbage) never parse as ours.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "connectors/kafka/kafka_run.h"

static void test_format(void **state)
{
    (void)state;
    char b[128];
    size_t n = sl__kafka_meta_format(b, sizeof(b), 1700000005000, 1700000004000, 42);
    assert_string_equal(b, "sluice:1;done=1700000005000;wm=1700000004000;hi=42");
    assert_int_equal(n, strlen(b));
    n = sl__kafka_meta_format(b, sizeof(b), SL_POS_NONE, SL_POS_NONE, 0);
    assert_string_equal(b, "sluice:1;done=;wm=;hi=0");
    assert_int_equal(n, strlen(b));
    sl__kafka_meta_format(b, sizeof(b), -86400000, -1, 7);
    assert_string_equal(b, "sluice:1;done=-86400000;wm=-1;hi=7");
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    char b[64];
    for (size_t cap = 1; cap < 40; cap++) {
        memset(b, 'X', sizeof(b));
        size_t n = sl__kafka_meta_format(b, cap, INT64_MAX, INT64_MIN + 1, INT64_MAX);
        assert_true(n < cap);
        assert_int_equal(b[n], '\0');
        assert_int_equal(b[cap], 'X'); /* nothing written past cap */
    }
}

static void parse_ok(const char *s, int64_t done, int64_t wm, int64_t hi)
{
    int64_t d = 1, w = 1, h = 1;
    assert_int_equal(sl__kafka_meta_parse(s, strlen(s), &d, &w, &h), 0);
    assert_true(d == done);
    assert_true(w == wm);
    assert_true(h == hi);
}

static void parse_err(const char *s, size_t len, int want)
{
    int64_t d = 1, w = 2, h = 3;
    assert_int_equal(sl__kafka_meta_parse(s, len, &d, &w, &h), want);
    assert_true(d == 1 && w == 2 && h == 3); /* ret_* untouched on failure */
}

static void test_parse(void **state)
{
    (void)state;
    parse_ok("sluice:1;done=1700000005000;wm=1700000004000;hi=42", 1700000005000, 1700000004000,
             42);
    parse_ok("sluice:1;done=;wm=;hi=0", SL_POS_NONE, SL_POS_NONE, 0);
    parse_ok("sluice:1;hi=9;wm=-5;done=-6", -6, -5, 9);             /* any order */
    parse_ok("sluice:1;hi=9;future=abc;done=1", 1, SL_POS_NONE, 9); /* unknown fields */
    parse_ok("sluice:1;done=9223372036854775807;hi=1", INT64_MAX, SL_POS_NONE, 1);
    /* Round trip. */
    char b[128];
    sl__kafka_meta_format(b, sizeof(b), 123, SL_POS_NONE, 456);
    parse_ok(b, 123, SL_POS_NONE, 456);
}

static void test_parse_refuses(void **state)
{
    (void)state;
    /* Not ours: another tool committed, or nothing. */
    parse_err(NULL, 0, -ENOENT);
    parse_err("", 0, -ENOENT);
    parse_err("checkpoint-7", 12, -ENOENT);
    parse_err("sluic", 5, -ENOENT);
    /* Ours but unusable: a version we do not know, or malformed. */
    const char *bad[] = {
        "sluice:2;done=1;wm=1;hi=1",
        "sluice:;done=1;hi=1",
        "sluice:1",
        "sluice:1;done=1;wm=1",
        "sluice:1;hi=",
        "sluice:1;hi=-1",
        "sluice:1;hi=1x",
        "sluice:1;hi=1;hi=2",
        "sluice:1;done=1;done=2;hi=1",
        "sluice:1;hi=99999999999999999999",
        "sluice:1;hi=9223372036854775808",
        "sluice:1;done=--1;hi=1",
        "sluice:1;hi",
        "sluice:1;done= 1;hi=1",
        "sluice:1;wm=-;hi=1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        parse_err(bad[i], strlen(bad[i]), -EINVAL);
    }
    /* The length bounds the record: metadata is bytes, not a C string. */
    const char *s = "sluice:1;done=1;wm=2;hi=345";
    int64_t d, w, h;
    assert_int_equal(sl__kafka_meta_parse(s, strlen(s) - 2, &d, &w, &h), 0);
    assert_true(h == 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
