/*
 * test_format.c - result formatting and row ids (format.h).
 *
 * Number texts are what JavaScript's String(x) prints, written here by hand (the exhaustive
 * comparison with node runs in tests/tools/double_oracle.js). Row ids are compared with
 * coreutils' sha256sum run over JSON texts written by hand in this file.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "format.h"

static void test_buf(void **state)
{
    (void)state;
    struct sl_buf b;
    sl_buf_init(&b);
    assert_null(b.p);
    assert_int_equal(sl_buf_append(&b, "ab", 2), 0);
    assert_int_equal(sl_buf_putc(&b, 'c'), 0);
    assert_int_equal(sl_buf_puts(&b, "de"), 0);
    assert_int_equal(sl_buf_appendf(&b, "-%d-%s", 42, "x"), 0);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.p, "abcde-42-x");
    char big[1000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(sl_buf_appendf(&b, "[%s]", big), 0); /* longer than the stack buffer */
    assert_int_equal(b.len, 10 + 1001);
    assert_int_equal(b.p[10], '[');
    assert_int_equal(b.p[b.len - 1], ']');
    assert_int_equal(b.p[b.len], '\0');
    size_t cap = b.cap;
    char *p = b.p;
    sl_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.p, "");
    for (int i = 0; i < 100; i++) { /* no growth while it fits */
        assert_int_equal(sl_buf_append(&b, "0123456789", 10), 0);
    }
    assert_ptr_equal(b.p, p);
    assert_int_equal(sl_buf_append(&b, NULL, 0), 0);
    assert_int_equal(sl_buf_reserve(&b, SIZE_MAX - 1), -ENOMEM);
    assert_int_equal(b.len, 1000);
    sl_buf_fini(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    sl_buf_fini(&b); /* twice is fine */
}

static void dbl(double d, const char *want)
{
    char out[SL_FORMAT_NUM_MAX];
    size_t n = sl_format_double(d, out);
    if (strcmp(out, want) != 0 || n != strlen(want)) {
        fail_msg("%.17g: want %s, got %s", d, want, out);
    }
}

static void test_double(void **state)
{
    (void)state;
    dbl(21.5, "21.5");
    dbl(21, "21");
    dbl(-1.5, "-1.5");
    dbl(0, "0");
    dbl(-0.0, "0");
    dbl(100, "100");
    dbl(0.1, "0.1");
    dbl(0.1 + 0.2, "0.30000000000000004");
    dbl(1.0 / 3, "0.3333333333333333");
    dbl(1e21, "1e+21");
    dbl(1e20, "100000000000000000000");
    dbl(123456789012345680000.0, "123456789012345680000");
    dbl(1.5e21, "1.5e+21");
    dbl(1e-6, "0.000001");
    dbl(1.234e-6, "0.000001234");
    dbl(1e-7, "1e-7");
    dbl(1.5e-7, "1.5e-7");
    dbl(-1e-7, "-1e-7");
    dbl(5e-324, "5e-324");
    dbl(1e-323, "1e-323");
    dbl(2.2250738585072014e-308, "2.2250738585072014e-308");
    dbl(1.7976931348623157e308, "1.7976931348623157e+308");
    dbl(9007199254740993.0, "9007199254740992");
    dbl(4.35, "4.35");
    dbl(1e100, "1e+100");
    dbl(NAN, "NaN");
    dbl(INFINITY, "Infinity");
    dbl(-INFINITY, "-Infinity");
}

static void test_int(void **state)
{
    (void)state;
    char out[SL_FORMAT_NUM_MAX];
    assert_int_equal(sl_format_int(0, out), 1);
    assert_string_equal(out, "0");
    sl_format_int(-42, out);
    assert_string_equal(out, "-42");
    sl_format_int(INT64_MIN, out);
    assert_string_equal(out, "-9223372036854775808");
    sl_format_int(INT64_MAX, out);
    assert_string_equal(out, "9223372036854775807");
}

static void json(struct sl_value v, const char *want)
{
    struct sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_format_json(&b, &v), 0);
    if (b.len != strlen(want) || memcmp(b.p, want, b.len) != 0) {
        fail_msg("want %s, got %.*s", want, (int)b.len, b.p);
    }
    sl_buf_fini(&b);
}

static struct sl_value txt(const char *s)
{
    return sl_value_text(s, (uint32_t)strlen(s));
}

static void test_json(void **state)
{
    (void)state;
    json(sl_value_null(SL_TYPE_BIGINT), "null");
    json(sl_value_null(SL_TYPE_TEXT), "null");
    json(sl_value_bool(true), "true");
    json(sl_value_bool(false), "false");
    json(sl_value_bigint(-7), "-7");
    json(sl_value_ts(1714564800000), "1714564800000");
    json(sl_value_double(21.5), "21.5");
    json(sl_value_double(-0.0), "0");
    json(sl_value_double(1e21), "1e+21");
    json(sl_value_double(NAN), "null");
    json(sl_value_double(-INFINITY), "null");
    json(txt("plain"), "\"plain\"");
    json(txt(""), "\"\"");
    json(txt("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
    json(txt("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
    json(txt("\x01\x1f\x7f"), "\"\\u0001\\u001f\x7f\""); /* DEL is not escaped */
    json(sl_value_text("a\0b", 3), "\"a\\u0000b\"");
    json(txt("日本 é 😀 \xe2\x80\xa8"), "\"日本 é 😀 \xe2\x80\xa8\""); /* U+2028 raw too */
    /* Long strings are scanned eight bytes at a time: a byte to escape in every position of
     * a word and in the tail, next to bytes that are only just allowed (0x20, 0x21, 0x23,
     * 0x5b, 0x5d, 0x7f, 0x80, 0xff). */
    const char fill[] = " !#[]\x7f\x80\xff !#[]\x7f\x80\xff !#[]\x7f\x80\xff";
    json(txt(fill), "\" !#[]\x7f\x80\xff !#[]\x7f\x80\xff !#[]\x7f\x80\xff\"");
    const char *bad[] = {"\"", "\\", "\x1f", "\n"};
    const char *esc[] = {"\\\"", "\\\\", "\\u001f", "\\n"};
    for (int k = 0; k < 4; k++) {
        for (int at = 0; at < 20; at++) {
            char in[32], want[40];
            memcpy(in, "abcdefghijklmnopqrst", 21);
            in[at] = bad[k][0];
            snprintf(want, sizeof(want), "\"%.*s%s%s\"", at, in, esc[k], in + at + 1);
            json(txt(in), want);
        }
    }
}

static void test_row(void **state)
{
    (void)state;
    const char *names[] = {"device", "avg_temp", "n", "ok", "missing", "window_start", "q\"x"};
    struct sl_value vals[] = {
        txt("dev-1"),        sl_value_double(21.5),         sl_value_bigint(3),
        sl_value_bool(true), sl_value_null(SL_TYPE_DOUBLE), sl_value_ts(1714564800000),
        txt("line\nbreak")};
    struct sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_format_row(&b, names, vals, 7), 0);
    assert_string_equal(b.p, "{\"device\":\"dev-1\",\"avg_temp\":21.5,\"n\":3,\"ok\":true,"
                             "\"missing\":null,\"window_start\":1714564800000,"
                             "\"q\\\"x\":\"line\\nbreak\"}");
    sl_buf_reset(&b);
    assert_int_equal(sl_format_row(&b, names, vals, 0), 0);
    assert_string_equal(b.p, "{}");
    /* appends */
    assert_int_equal(sl_format_row(&b, names + 2, vals + 2, 1), 0);
    assert_string_equal(b.p, "{}{\"n\":3}");
    sl_buf_fini(&b);
}

static void text_form(struct sl_value v, const char *want)
{
    struct sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_buf_puts(&b, "k:"), 0);
    assert_int_equal(sl_format_text(&b, &v), 0);
    assert_string_equal(b.p, want);
    sl_buf_fini(&b);
}

static void test_text_form(void **state)
{
    (void)state;
    text_form(sl_value_null(SL_TYPE_TEXT), "k:");
    text_form(sl_value_null(SL_TYPE_BIGINT), "k:");
    text_form(txt("dev \"1\"\n"), "k:dev \"1\"\n"); /* raw */
    text_form(sl_value_double(21.5), "k:21.5");
    text_form(sl_value_double(1e-7), "k:1e-7");
    text_form(sl_value_bigint(-3), "k:-3");
    text_form(sl_value_bool(false), "k:false");
    text_form(sl_value_ts(-1), "k:-1");
    struct sl_buf b;
    sl_buf_init(&b);
    struct sl_value n = sl_value_null(SL_TYPE_TEXT);
    assert_int_equal(sl_format_text(&b, &n), 0); /* into an empty buffer */
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    sl_buf_fini(&b);
}

/* The first 32 hex digits of sha256sum over text, computed by coreutils. */
static void sha256sum_prefix(const char *text, char out[33])
{
    char path[] = "/tmp/sl_test_format_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[256] = {0};
    assert_non_null(fgets(line, sizeof(line), f));
    assert_int_equal(pclose(f), 0);
    unlink(path);
    memcpy(out, line, 32);
    out[32] = '\0';
}

static void test_row_id_window(void **state)
{
    (void)state;
    char want[33], got[SL_ROW_ID_LEN + 1];

    struct sl_value keys[] = {
        txt("site-a"),         txt("dev\"1"),       sl_value_null(SL_TYPE_TEXT),
        sl_value_double(21.5), sl_value_bool(true), sl_value_bigint(-7)};
    sl_row_id_window("temp_stats", keys, 6, 1714564800000, got);
    sha256sum_prefix("[\"temp_stats\",\"site-a\",\"dev\\\"1\",null,21.5,true,-7,1714564800000]",
                     want);
    assert_string_equal(got, want);

    sl_row_id_window("overheat", NULL, 0, -60000, got);
    sha256sum_prefix("[\"overheat\",-60000]", want);
    assert_string_equal(got, want);

    struct sl_value k2[] = {txt("日本"), sl_value_double(1e21), sl_value_ts(5)};
    sl_row_id_window("s", k2, 3, 0, got);
    sha256sum_prefix("[\"s\",\"日本\",1e+21,5,0]", want);
    assert_string_equal(got, want);

    /* the same row gives the same id; a different key a different one */
    char again[SL_ROW_ID_LEN + 1];
    sl_row_id_window("s", k2, 3, 0, again);
    assert_string_equal(got, again);
    k2[2] = sl_value_ts(6);
    sl_row_id_window("s", k2, 3, 0, again);
    assert_string_not_equal(got, again);
    for (int i = 0; i < SL_ROW_ID_LEN; i++) {
        assert_true((got[i] >= '0' && got[i] <= '9') || (got[i] >= 'a' && got[i] <= 'f'));
    }
}

static void test_row_id_event(void **state)
{
    (void)state;
    char want[33], got[SL_ROW_ID_LEN + 1];
    const char *topic = "factory/dev42/telemetry";
    sl_row_id_event("overheat", topic, strlen(topic), 3, 12345, got);
    sha256sum_prefix("[\"overheat\",\"factory/dev42/telemetry\",3,12345]", want);
    assert_string_equal(got, want);

    sl_row_id_event("gen", NULL, 0, 0, 0, got);
    sha256sum_prefix("[\"gen\",\"\",0,0]", want);
    assert_string_equal(got, want);

    const char *path = "/data/in\\put \"1\".jsonl";
    sl_row_id_event("replay", path, strlen(path), -1, INT64_MAX, got);
    sha256sum_prefix("[\"replay\",\"/data/in\\\\put \\\"1\\\".jsonl\",-1,9223372036854775807]",
                     want);
    assert_string_equal(got, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),           cmocka_unit_test(test_double),
        cmocka_unit_test(test_int),           cmocka_unit_test(test_json),
        cmocka_unit_test(test_row),           cmocka_unit_test(test_text_form),
        cmocka_unit_test(test_row_id_window), cmocka_unit_test(test_row_id_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
