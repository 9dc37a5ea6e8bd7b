/*
 * test_decode.c - the JSON event decoder: every reject reason, every conversion, paths,
 * duplicates at depth, nesting limits, UTF-8 and escapes, sizes, timestamps.
 *
 * Sources are built by hand (the front end is written in parallel). Expected values are
 * written from SQL.md "Columns" or computed here with integer arithmetic and libc
 * (gmtime_r), never from the decoder's own output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "decode.h"
#include "queries/plan.h"

struct colspec {
    const char *name;
    enum sl_type type;
    const char *path; /* NULL: default $.<name> */
    bool not_null;
    bool unused;
};

struct fixture {
    struct sl_source src;
    struct sl_decoder *d;
    struct sl_value row[16];
    char *scratch;
    size_t scratch_cap;
};

static void fx_init(struct fixture *fx, const struct colspec *cs, int n, int wm_col, int tsf,
                    size_t max_bytes)
{
    memset(fx, 0, sizeof(*fx));
    fx->src.name = "s";
    fx->src.ncols = n;
    fx->src.wm_col = wm_col;
    fx->src.cols = calloc((size_t)n + 1, sizeof(struct sl_column));
    assert_non_null(fx->src.cols);
    for (int i = 0; i < n; i++) {
        struct sl_column *col = &fx->src.cols[i];
        col->name = (char *)cs[i].name;
        col->type = cs[i].type;
        col->not_null = cs[i].not_null;
        col->used = !cs[i].unused;
        if (cs[i].path != NULL) {
            struct sl_err err;
            assert_int_equal(sl_path_parse(cs[i].path, &col->path, &err), 0);
        } else {
            col->path = sl_path_member(cs[i].name);
        }
    }
    assert_int_equal(sl_decoder_new(&fx->src, tsf, max_bytes, &fx->d), 0);
    fx->scratch_cap = max_bytes > (1u << 20) ? max_bytes : (1u << 20);
    fx->scratch = malloc(fx->scratch_cap);
    assert_non_null(fx->scratch);
}

static void fx_fini(struct fixture *fx)
{
    sl_decoder_free(fx->d);
    for (int i = 0; i < fx->src.ncols; i++) {
        sl_path_free(fx->src.cols[i].path);
    }
    free(fx->src.cols);
    free(fx->scratch);
}

static int dec_n(struct fixture *fx, const char *buf, size_t len)
{
    /* poison the row so that a value left unset shows */
    memset(fx->row, 0xA5, sizeof(fx->row));
    assert_true(len <= fx->scratch_cap);
    return sl_decode(fx->d, buf, len, fx->row, fx->scratch, fx->scratch_cap);
}

static int dec(struct fixture *fx, const char *json)
{
    return dec_n(fx, json, strlen(json));
}

#define REJECTS(fx, json, reason)                                                                  \
    do {                                                                                           \
        int r_ = dec((fx), (json));                                                                \
        if (r_ != -(reason)) {                                                                     \
            fail_msg("%s: expected %s, got %s (%d)", (json), sl_reject_name(reason),               \
                     sl_reject_name(r_), r_);                                                      \
        }                                                                                          \
    } while (0)

#define ACCEPTS(fx, json)                                                                          \
    do {                                                                                           \
        int r_ = dec((fx), (json));                                                                \
        if (r_ != 0) {                                                                             \
            fail_msg("%s: expected accepted, got %s", (json), sl_reject_name(r_));                 \
        }                                                                                          \
    } while (0)

static void assert_sqlnull(const struct sl_value *v, enum sl_type t)
{
    assert_int_equal(v->null, 1);
    assert_int_equal(v->type, t);
}

static void assert_text(const struct sl_value *v, const char *s, size_t n)
{
    assert_int_equal(v->null, 0);
    assert_int_equal(v->type, SL_TYPE_TEXT);
    assert_int_equal(v->len, n);
    assert_memory_equal(v->u.s, s, n);
}

#define assert_text_str(v, s) assert_text((v), (s), strlen(s))

static void assert_bigint(const struct sl_value *v, int64_t i)
{
    assert_int_equal(v->null, 0);
    assert_int_equal(v->type, SL_TYPE_BIGINT);
    assert_int_equal(v->u.i, i);
}

static void assert_ts(const struct sl_value *v, int64_t ms)
{
    assert_int_equal(v->null, 0);
    assert_int_equal(v->type, SL_TYPE_TIMESTAMP);
    if (v->u.i != ms) {
        fail_msg("timestamp %lld, expected %lld", (long long)v->u.i, (long long)ms);
    }
}

static void assert_double_bits(const struct sl_value *v, double want)
{
    assert_int_equal(v->null, 0);
    assert_int_equal(v->type, SL_TYPE_DOUBLE);
    if (memcmp(&v->u.d, &want, sizeof(want)) != 0) {
        fail_msg("double %.17g, expected %.17g", v->u.d, want);
    }
}

/* One column of the given type at $.v; returns its fixture. */
static void one_col(struct fixture *fx, enum sl_type t, int tsf)
{
    const struct colspec cs[] = {{"v", t, NULL, false, false}};
    fx_init(fx, cs, 1, -1, tsf, 1 << 20);
}

/* --- reasons --------------------------------------------------------------------- */

static void test_reject_names(void **state)
{
    (void)state;
    static const char *const want[] = {
        "none",         "not_json",      "truncated",        "not_object",    "trailing_data",
        "invalid_utf8", "duplicate_key", "too_deep",         "too_large",     "bad_number",
        "bad_value",    "out_of_range",  "null_not_allowed", "bad_event_time"};
    assert_int_equal(SL_ARRAY_LEN(want), SL_REJECT__COUNT);
    for (int i = 0; i < SL_REJECT__COUNT; i++) {
        assert_string_equal(sl_reject_name(i), want[i]);
        if (i > 0) {
            assert_string_equal(sl_reject_name(-i), want[i]);
        }
    }
    assert_string_equal(sl_reject_name(SL_REJECT__COUNT), "unknown");
    assert_string_equal(sl_reject_name(-SL_REJECT__COUNT), "unknown");
    assert_string_equal(sl_reject_name(-100000), "unknown");
}

static void test_syntax(void **state)
{
    (void)state;
    struct fixture fx;
    one_col(&fx, SL_TYPE_TEXT, SL_TS_AUTO);
    REJECTS(&fx, "", SL_REJECT_NOT_JSON);
    REJECTS(&fx, " \n\t\r ", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "x", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{a:1}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{'a':1}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\" 1}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":1,}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{,}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":1 \"b\":2}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":[1,]}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":[,1]}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":[1 2]}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":[1}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":{]}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":01}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":-01}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":1.}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":.5}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":+1}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":1e}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":1e+}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":-}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":0x10}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":NaN}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":Infinity}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":-Infinity}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":tru}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":nul}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":True}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":\"x\ty\"}", SL_REJECT_NOT_JSON); /* raw control char */
    REJECTS(&fx, "{\"a\":\"\\x\"}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":\"\\u12G4\"}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":\"\\U0041\"}", SL_REJECT_NOT_JSON);
    REJECTS(&fx, "{\"a\":1}\x01", SL_REJECT_TRAILING_DATA);
    REJECTS(&fx, "\xef\xbb\xbf{}", SL_REJECT_NOT_JSON); /* BOM */
    REJECTS(&fx, "{\"v\" :\v1}", SL_REJECT_NOT_JSON);   /* \v is not JSON whitespace */
    /* NUL bytes */
    assert_int_equal(dec_n(&fx, "\0{}", 3), -SL_REJECT_NOT_JSON);
    assert_int_equal(dec_n(&fx, "{\0}", 3), -SL_REJECT_NOT_JSON);
    assert_int_equal(dec_n(&fx, "{}\0", 3), -SL_REJECT_TRAILING_DATA);
    assert_int_equal(dec_n(&fx, "{\"a\":\"\0\"}", 9), -SL_REJECT_NOT_JSON);

    REJECTS(&fx, "{", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{ ", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\"", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":1", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":1,", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":-", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":1.", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":1e", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":\"abc", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":\"abc\\", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":\"\\u12", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":\"\\ud83d", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":\"\\ud83d\\u", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":\"\xe2\x82", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":[1,2", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":[", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":tr", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":fals", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"a\":{\"b\":1}", SL_REJECT_TRUNCATED);
    /* a long string cut mid-way (exercises the 16-byte scan) */
    REJECTS(&fx, "{\"a\":\"0123456789abcdef0123456789abcdef0123", SL_REJECT_TRUNCATED);

    REJECTS(&fx, "[1]", SL_REJECT_NOT_OBJECT);
    REJECTS(&fx, "[{\"v\":1}]", SL_REJECT_NOT_OBJECT);
    REJECTS(&fx, "\"s\"", SL_REJECT_NOT_OBJECT);
    REJECTS(&fx, "  3", SL_REJECT_NOT_OBJECT);
    REJECTS(&fx, "-3", SL_REJECT_NOT_OBJECT);
    REJECTS(&fx, "true", SL_REJECT_NOT_OBJECT);
    REJECTS(&fx, "null", SL_REJECT_NOT_OBJECT);

    REJECTS(&fx, "{}x", SL_REJECT_TRAILING_DATA);
    REJECTS(&fx, "{} {}", SL_REJECT_TRAILING_DATA);
    REJECTS(&fx, "{\"v\":1}{\"v\":2}", SL_REJECT_TRAILING_DATA);
    REJECTS(&fx, "{\"v\":1}]", SL_REJECT_TRAILING_DATA);
    REJECTS(&fx, "{\"v\":1}}", SL_REJECT_TRAILING_DATA);

    ACCEPTS(&fx, "{}");
    assert_sqlnull(&fx.row[0], SL_TYPE_TEXT);
    ACCEPTS(&fx, " \t\r\n{ \t\r\n\"v\" \t\r\n: \t\r\n\"x\" \t\r\n, \"w\" : [ 1 , { } , [ ] ] "
                 "} \t\r\n");
    assert_text_str(&fx.row[0], "x");
    ACCEPTS(&fx, "{\"a\":[],\"b\":{},\"c\":[[]],\"d\":[{}],\"e\":\"\",\"f\":0,\"g\":-0.0e-0}");
    fx_fini(&fx);
}

static void test_utf8(void **state)
{
    (void)state;
    struct fixture fx;
    one_col(&fx, SL_TYPE_TEXT, SL_TS_AUTO);
    static const char *const bad[] = {
        "\xc0\x80",                 /* overlong NUL */
        "\xc1\xbf",                 /* overlong */
        "\xe0\x80\x80",             /* overlong 3-byte */
        "\xe0\x9f\xbf",             /* overlong 3-byte, top */
        "\xf0\x80\x80\x80",         /* overlong 4-byte */
        "\xf0\x8f\xbf\xbf",         /* overlong 4-byte, top */
        "\xed\xa0\x80",             /* U+D800 encoded */
        "\xed\xbf\xbf",             /* U+DFFF encoded */
        "\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 pair */
        "\xf4\x90\x80\x80",         /* U+110000 */
        "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80",
        "\xfe",
        "\xff",
        "\x80", /* lone continuation */
        "\xbf",
        "\xc2", /* truncated, then the closing quote */
        "\xe2\x82",
        "\xf0\x9f\x98",
        "\xc2\x41", /* continuation missing */
        "\xe2\x28\xa1",
        "\xf0\x9f\x28\x80",
        "\\u0000",
        "\\ud800",
        "\\udbff",
        "\\udc00",
        "\\udfff",
        "\\ud800\\u0041",
        "\\ud800x",
        "\\ud800\\ud800",
        "\\udc00\\ud800",
        "abc\\ud83dxxxxxxxxxxxxxxxx",
    };
    char buf[256];
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        /* as a value, projected and skipped, and as a member name */
        snprintf(buf, sizeof(buf), "{\"v\":\"%s\"}", bad[i]);
        REJECTS(&fx, buf, SL_REJECT_INVALID_UTF8);
        snprintf(buf, sizeof(buf), "{\"w\":[\"%s\"]}", bad[i]);
        REJECTS(&fx, buf, SL_REJECT_INVALID_UTF8);
        snprintf(buf, sizeof(buf), "{\"%s\":1}", bad[i]);
        REJECTS(&fx, buf, SL_REJECT_INVALID_UTF8);
        /* past the first 16 bytes of a long string */
        snprintf(buf, sizeof(buf), "{\"v\":\"0123456789abcdef0123456789%s0123456789abcdef\"}",
                 bad[i]);
        REJECTS(&fx, buf, SL_REJECT_INVALID_UTF8);
    }
    /* bad bytes outside strings are syntax errors */
    REJECTS(&fx, "{\"v\":\xc3\xa9}", SL_REJECT_NOT_JSON);

    /* valid: boundaries of every sequence length, pointed to in place */
    static const char *const good[] = {
        "\x7f",
        "\xc2\x80",
        "\xdf\xbf",
        "\xe0\xa0\x80",
        "\xed\x9f\xbf",
        "\xee\x80\x80",
        "\xef\xbf\xbf",
        "\xf0\x90\x80\x80",
        "\xf4\x8f\xbf\xbf",
        "h\xc3\xa9llo",
        "\xe2\x82\xac 12",
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80x"};
    for (size_t i = 0; i < SL_ARRAY_LEN(good); i++) {
        snprintf(buf, sizeof(buf), "{\"v\":\"%s\"}", good[i]);
        ACCEPTS(&fx, buf);
        assert_text_str(&fx.row[0], good[i]);
        assert_ptr_equal(fx.row[0].u.s, buf + 6); /* in place, no copy */
    }
    fx_fini(&fx);
}

static void test_escapes(void **state)
{
    (void)state;
    struct fixture fx;
    one_col(&fx, SL_TYPE_TEXT, SL_TS_AUTO);
    ACCEPTS(&fx, "{\"v\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"}");
    assert_text_str(&fx.row[0], "a\"b\\c/d\be\ff\ng\rh\ti");
    assert_true(fx.row[0].u.s >= fx.scratch && fx.row[0].u.s < fx.scratch + fx.scratch_cap);
    ACCEPTS(&fx, "{\"v\":\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\uD83D\\uDE00\"}");
    assert_text_str(&fx.row[0], "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
    ACCEPTS(&fx, "{\"v\":\"\\u0001\\u001f\\u007f\\u0080\\u07ff\\u0800\\uffff\\udbff\\udfff\"}");
    assert_text_str(&fx.row[0], "\x01\x1f\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
                                "\xf4\x8f\xbf\xbf");
    /* escapes after a long plain run, and a plain run after escapes */
    ACCEPTS(&fx, "{\"v\":\"0123456789abcdefghij\\n0123456789abcdefghij\\t\"}");
    assert_text_str(&fx.row[0], "0123456789abcdefghij\n0123456789abcdefghij\t");
    /* an escaped member name matches the path and counts for duplicates */
    ACCEPTS(&fx, "{\"\\u0076\":\"x\"}");
    assert_text_str(&fx.row[0], "x");
    REJECTS(&fx, "{\"v\":1,\"\\u0076\":2}", SL_REJECT_DUPLICATE_KEY);
    REJECTS(&fx, "{\"\\/\":1,\"/\":2}", SL_REJECT_DUPLICATE_KEY);
    REJECTS(&fx, "{\"\\u00e9\":1,\"\xc3\xa9\":2}", SL_REJECT_DUPLICATE_KEY);
    ACCEPTS(&fx, "{\"\\u00e9\":1,\"e\":2,\"\\u00e8\":3}");
    /* the scratch is never larger than needed: exactly len bytes suffice */
    const char *j = "{\"\\u0076\":\"\\n\\n\\n\\u00e9\",\"k\\t\":\"\\t\"}";
    size_t n = strlen(j);
    char *tight = malloc(n);
    assert_int_equal(sl_decode(fx.d, j, n, fx.row, tight, n), 0);
    assert_text_str(&fx.row[0], "\n\n\n\xc3\xa9");
    assert_int_equal(sl_decode(fx.d, j, n, fx.row, tight, n - 1), -SL_REJECT_TOO_LARGE);
    free(tight);
    fx_fini(&fx);
}

static void test_duplicates(void **state)
{
    (void)state;
    struct fixture fx;
    one_col(&fx, SL_TYPE_BIGINT, SL_TS_AUTO);
    REJECTS(&fx, "{\"v\":1,\"v\":1}", SL_REJECT_DUPLICATE_KEY);
    REJECTS(&fx, "{\"a\":1,\"b\":2,\"a\":3}", SL_REJECT_DUPLICATE_KEY);
    REJECTS(&fx, "{\"\":1,\"\":2}", SL_REJECT_DUPLICATE_KEY);
    REJECTS(&fx, "{\"x\":{\"y\":[1,{\"z\":{\"q\":1,\"q\":2}}]}}", SL_REJECT_DUPLICATE_KEY);
    REJECTS(&fx, "{\"x\":[[[[{\"a\":{},\"a\":[]}]]]]}", SL_REJECT_DUPLICATE_KEY);
    /* same name in different objects is fine */
    ACCEPTS(&fx, "{\"v\":1,\"x\":{\"v\":2},\"y\":{\"v\":3,\"x\":{\"v\":4}},\"z\":[{\"v\":5},"
                 "{\"v\":6}]}");
    assert_bigint(&fx.row[0], 1);
    /* the outer object's names survive an inner object */
    REJECTS(&fx, "{\"v\":1,\"x\":{\"a\":1,\"b\":2},\"v\":2}", SL_REJECT_DUPLICATE_KEY);
    ACCEPTS(&fx, "{\"aa\":1,\"ab\":2}");
    ACCEPTS(&fx, "{\"abcdefgh\":1,\"abcdefgi\":2,\"abcdefghabcdefgh\":3,\"abcdefghabcdefgi\":4,"
                 "\"abcdefghabcdefghX\":5,\"abcdefghabcdefghY\":6}");

    /* large objects use the hash table: build them */
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    for (int nmem = 15; nmem <= 5000; nmem = nmem < 40 ? nmem + 1 : nmem * 3) {
        for (int where = 0; where < 4; where++) {
            /* {"k0":0,...,"k<n-1>":n-1} with, for where > 0, a duplicate of k<dup> somewhere,
             * inside a nested big object with the same names as its parent (where 3). */
            size_t o = 0;
            o += (size_t)snprintf(buf + o, cap - o, "{");
            for (int i = 0; i < nmem; i++) {
                o += (size_t)snprintf(buf + o, cap - o, "%s\"k%d\":%d", i ? "," : "", i, i);
                if (where == 3 && i == nmem / 2) {
                    o += (size_t)snprintf(buf + o, cap - o, ",\"inner\":{");
                    for (int j = 0; j < nmem; j++) {
                        o += (size_t)snprintf(buf + o, cap - o, "%s\"k%d\":%d", j ? "," : "", j, j);
                    }
                    o += (size_t)snprintf(buf + o, cap - o, "}");
                }
            }
            if (where == 1) {
                o += (size_t)snprintf(buf + o, cap - o, ",\"k0\":0");
            } else if (where == 2) {
                o += (size_t)snprintf(buf + o, cap - o, ",\"k%d\":0", nmem - 1);
            }
            o += (size_t)snprintf(buf + o, cap - o, "}");
            int r = dec_n(&fx, buf, o);
            if (where == 1 || where == 2) {
                assert_int_equal(r, -SL_REJECT_DUPLICATE_KEY);
            } else {
                assert_int_equal(r, 0);
            }
        }
    }
    /* two sibling big objects with the same names, then a duplicate in the second */
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "{\"a\":{");
    for (int i = 0; i < 100; i++) {
        o += (size_t)snprintf(buf + o, cap - o, "%s\"k%d\":1", i ? "," : "", i);
    }
    o += (size_t)snprintf(buf + o, cap - o, "},\"b\":{");
    for (int i = 0; i < 100; i++) {
        o += (size_t)snprintf(buf + o, cap - o, "%s\"k%d\":1", i ? "," : "", i);
    }
    size_t mid = o;
    o += (size_t)snprintf(buf + o, cap - o, "}}");
    assert_int_equal(dec_n(&fx, buf, o), 0);
    o = mid;
    o += (size_t)snprintf(buf + o, cap - o, ",\"k57\":2}}");
    assert_int_equal(dec_n(&fx, buf, o), -SL_REJECT_DUPLICATE_KEY);
    free(buf);
    fx_fini(&fx);
}

/* {"a": open^depth inner close^depth } */
static char *nest(int depth, const char *open, const char *close, const char *inner,
                  size_t *ret_len)
{
    size_t lo = strlen(open), lc = strlen(close), li = strlen(inner);
    size_t n = 8 + (size_t)depth * (lo + lc) + li;
    char *b = malloc(n), *o = b;
    memcpy(o, "{\"a\":", 5);
    o += 5;
    for (int i = 0; i < depth; i++) {
        memcpy(o, open, lo);
        o += lo;
    }
    memcpy(o, inner, li);
    o += li;
    for (int i = 0; i < depth; i++) {
        memcpy(o, close, lc);
        o += lc;
    }
    *o++ = '}';
    *ret_len = (size_t)(o - b);
    return b;
}

static void depth_case(struct fixture *fx, int depth, const char *open, const char *close,
                       const char *inner, int want)
{
    size_t n;
    char *b = nest(depth, open, close, inner, &n);
    int r = dec_n(fx, b, n);
    free(b);
    if (r != want) {
        fail_msg("depth %d of %s: got %s", depth, open, sl_reject_name(r));
    }
}

static void test_depth(void **state)
{
    (void)state;
    struct fixture fx;
    one_col(&fx, SL_TYPE_BIGINT, SL_TS_AUTO);
    /* the top-level object is level 1 */
    depth_case(&fx, 63, "{\"a\":", "}", "1", 0);
    depth_case(&fx, 64, "{\"a\":", "}", "1", -SL_REJECT_TOO_DEEP);
    depth_case(&fx, 63, "[", "]", "1", 0);
    depth_case(&fx, 64, "[", "]", "1", -SL_REJECT_TOO_DEEP);
    depth_case(&fx, 62, "[", "]", "[]", 0);
    depth_case(&fx, 63, "[", "]", "[]", -SL_REJECT_TOO_DEEP);
    depth_case(&fx, 62, "[", "]", "{}", 0);
    depth_case(&fx, 63, "[", "]", "{}", -SL_REJECT_TOO_DEEP);
    depth_case(&fx, 31, "[{\"a\":", "}]", "[]", 0);
    depth_case(&fx, 31, "[{\"a\":", "}]", "[[]]", -SL_REJECT_TOO_DEEP);
    depth_case(&fx, 32, "[{\"a\":", "}]", "1", -SL_REJECT_TOO_DEEP);
    /* too deep wins even over an error later in the payload */
    depth_case(&fx, 64, "[", "]", "1,,", -SL_REJECT_TOO_DEEP);
    fx_fini(&fx);

    /* a projected path that reaches deep */
    const struct colspec cs1[] = {{"v", SL_TYPE_BIGINT, "$.a[0][0][0]", false, false}};
    fx_init(&fx, cs1, 1, -1, SL_TS_AUTO, 1 << 20);
    depth_case(&fx, 63, "[", "]", "7", -SL_REJECT_BAD_VALUE); /* a[0][0][0] is an array */
    depth_case(&fx, 3, "[", "]", "7", 0);
    assert_bigint(&fx.row[0], 7);
    depth_case(&fx, 64, "[", "]", "7", -SL_REJECT_TOO_DEEP);
    fx_fini(&fx);

    /* 200000 levels: rejected without recursion, balanced or not */
    const struct colspec cs[] = {{"v", SL_TYPE_BIGINT, NULL, false, false}};
    fx_init(&fx, cs, 1, -1, SL_TS_AUTO, 16 << 20);
    depth_case(&fx, 200000, "[", "]", "1", -SL_REJECT_TOO_DEEP);
    depth_case(&fx, 200000, "{\"a\":", "}", "1", -SL_REJECT_TOO_DEEP);
    depth_case(&fx, 200000, "[{\"a\":", "", "", -SL_REJECT_TOO_DEEP);
    fx_fini(&fx);
}

static void test_sizes(void **state)
{
    (void)state;
    struct fixture fx;
    const struct colspec cs[] = {{"v", SL_TYPE_TEXT, NULL, false, false}};
    fx_init(&fx, cs, 1, -1, SL_TS_AUTO, 1 << 20);
    /* 16 MiB against a 1 MiB limit */
    size_t big = 16u << 20;
    char *b = malloc(big), *scratch = malloc(big);
    memset(b, ' ', big);
    memcpy(b, "{\"v\":\"", 6);
    memset(b + 6, 'x', big - 8);
    memcpy(b + big - 2, "\"}", 2);
    assert_int_equal(sl_decode(fx.d, b, big, fx.row, scratch, big), -SL_REJECT_TOO_LARGE);
    /* exactly the limit is accepted, one byte more is not */
    size_t lim = 1u << 20;
    memcpy(b + lim - 2, "\"}", 2);
    assert_int_equal(sl_decode(fx.d, b, lim, fx.row, scratch, big), 0);
    assert_int_equal(fx.row[0].len, lim - 8);
    assert_ptr_equal(fx.row[0].u.s, b + 6);
    b[lim - 2] = 'x';
    b[lim - 1] = '"';
    b[lim] = '}';
    assert_int_equal(sl_decode(fx.d, b, lim + 1, fx.row, scratch, big), -SL_REJECT_TOO_LARGE);
    /* a 1 MiB message of many small members: the member stack and table bound */
    size_t o = 0;
    b[o++] = '{';
    for (int i = 0; o + 16 < lim; i++) {
        o += (size_t)snprintf(b + o, big - o, "%s\"%x\":%d", i ? "," : "", i, i % 10);
    }
    b[o++] = '}';
    assert_int_equal(sl_decode(fx.d, b, o, fx.row, scratch, big), 0);
    /* many tiny objects in an array: names pushed and popped 150000 times */
    o = 0;
    o += (size_t)snprintf(b + o, big - o, "{\"v\":\"x\",\"a\":[");
    while (o + 16 < lim) {
        memcpy(b + o, "{\"\":0},", 7);
        o += 7;
    }
    memcpy(b + o - 1, "]}", 2);
    o++;
    assert_int_equal(sl_decode(fx.d, b, o, fx.row, scratch, big), 0);
    assert_text_str(&fx.row[0], "x");
    free(b);
    free(scratch);
    fx_fini(&fx);

    /* binary garbage never crashes, is never accepted unless it starts with '{' */
    one_col(&fx, SL_TYPE_TEXT, SL_TS_AUTO);
    uint64_t x = 0x243f6a8885a308d3ULL;
    char g[512];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(i % 512);
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            g[k] = (char)x;
        }
        int r = dec_n(&fx, g, n);
        if (n == 0 || g[0] != '{') {
            assert_true(r < 0);
        }
        assert_true(r <= 0 && r > -SL_REJECT__COUNT);
    }
    fx_fini(&fx);
}

/* --- numbers and conversions ------------------------------------------------------- */

static void test_bad_number(void **state)
{
    (void)state;
    struct fixture fx;
    one_col(&fx, SL_TYPE_DOUBLE, SL_TS_AUTO);
    REJECTS(&fx, "{\"v\":1e400}", SL_REJECT_BAD_NUMBER);
    REJECTS(&fx, "{\"v\":-1e400}", SL_REJECT_BAD_NUMBER);
    REJECTS(&fx, "{\"w\":1e400}", SL_REJECT_BAD_NUMBER); /* skipped, still checked */
    REJECTS(&fx, "{\"w\":[{\"x\":-1.8e308}]}", SL_REJECT_BAD_NUMBER);
    REJECTS(&fx, "{\"w\":1.7976931348623159e308}", SL_REJECT_BAD_NUMBER);
    REJECTS(&fx, "{\"w\":179769313486231581e291}", SL_REJECT_BAD_NUMBER); /* just past half */
    REJECTS(&fx, "{\"w\":1e99999999999999999999999}", SL_REJECT_BAD_NUMBER);
    REJECTS(&fx, "{\"w\":0.0000000001e319}", SL_REJECT_BAD_NUMBER);
    ACCEPTS(&fx, "{\"v\":1.7976931348623157e308}");
    assert_double_bits(&fx.row[0], 1.7976931348623157e308);
    ACCEPTS(&fx, "{\"v\":1.7976931348623158e308}"); /* rounds down to DBL_MAX */
    assert_double_bits(&fx.row[0], 1.7976931348623157e308);
    ACCEPTS(&fx, "{\"v\":179769313486231580e291}");
    ACCEPTS(&fx, "{\"v\":1e308}");
    ACCEPTS(&fx, "{\"v\":0.00000000001e318}");
    ACCEPTS(&fx, "{\"v\":1e-400}"); /* underflow is zero, not an error */
    assert_double_bits(&fx.row[0], 0.0);
    ACCEPTS(&fx, "{\"v\":-1e-400}");
    assert_double_bits(&fx.row[0], -0.0);
    ACCEPTS(&fx, "{\"v\":0e999999999999999999999}");
    assert_double_bits(&fx.row[0], 0.0);
    ACCEPTS(&fx, "{\"v\":4.9406564584124654e-324}");
    assert_double_bits(&fx.row[0], 4.9406564584124654e-324);
    /* integers of many digits are doubles, not errors */
    ACCEPTS(&fx, "{\"v\":123456789012345678901234567890}");
    assert_double_bits(&fx.row[0], 1.2345678901234568e29);
    fx_fini(&fx);
}

static void test_double(void **state)
{
    (void)state;
    struct fixture fx;
    one_col(&fx, SL_TYPE_DOUBLE, SL_TS_AUTO);
    static const struct {
        const char *json;
        double want;
    } ok[] = {
        {"1.5", 1.5},
        {"-0.0", -0.0},
        {"-0", -0.0},
        {"0", 0.0},
        {"3", 3.0},
        {"1e-5", 1e-5},
        {"21.37", 21.37},
        {"0.1", 0.1},
        {"0.30000000000000004", 0.30000000000000004},
        {"9007199254740993", 9007199254740992.0}, /* ties to even */
        {"9007199254740995", 9007199254740996.0},
        {"2.2250738585072014e-308", 2.2250738585072014e-308},
        {"2.2250738585072011e-308", 2.2250738585072011e-308},
        {"1E+2", 100.0},
        {"1e22", 1e22},
        {"1e23", 1e23},
        {"123456.789e-3", 123.456789},
        {"\"2.5\"", 2.5},
        {"\"-1e3\"", -1000.0},
        {"\"+3\"", 3.0},
        {"\".5\"", 0.5},
        {"\"5.\"", 5.0},
        {"\"007\"", 7.0},
        {"\"\\u0031\\u0032\"", 12.0},
    };
    char buf[256];
    for (size_t i = 0; i < SL_ARRAY_LEN(ok); i++) {
        snprintf(buf, sizeof(buf), "{\"v\":%s}", ok[i].json);
        ACCEPTS(&fx, buf);
        assert_double_bits(&fx.row[0], ok[i].want);
    }
    /* 1 followed by 1000 zeros and a 1 in the fraction: exactly 1.0 after rounding */
    char *big = malloc(2100);
    strcpy(big, "{\"v\":1.");
    memset(big + 7, '0', 1000);
    strcpy(big + 1007, "1}");
    ACCEPTS(&fx, big);
    assert_double_bits(&fx.row[0], 1.0);
    /* the halfway case past 780 digits: 2^53 + 1 then a nonzero far digit rounds up */
    strcpy(big, "{\"v\":9007199254740993.");
    memset(big + 22, '0', 1000);
    strcpy(big + 1022, "1}");
    ACCEPTS(&fx, big);
    assert_double_bits(&fx.row[0], 9007199254740994.0);
    free(big);

    static const char *const bad[] = {"\"hot\"", "\"\"",         "\" 1\"",   "\"1 \"", "\"nan\"",
                                      "\"inf\"", "\"Infinity\"", "\"0x10\"", "\"1e\"", "\"-\"",
                                      "\".\"",   "\"1.2.3\"",    "true",     "false",  "[1]",
                                      "{}",      "{\"x\":1}"};
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        snprintf(buf, sizeof(buf), "{\"v\":%s}", bad[i]);
        REJECTS(&fx, buf, SL_REJECT_BAD_VALUE);
    }
    REJECTS(&fx, "{\"v\":\"1e400\"}", SL_REJECT_OUT_OF_RANGE);
    ACCEPTS(&fx, "{\"v\":null}");
    assert_sqlnull(&fx.row[0], SL_TYPE_DOUBLE);
    fx_fini(&fx);
}

static void test_bigint(void **state)
{
    (void)state;
    struct fixture fx;
    one_col(&fx, SL_TYPE_BIGINT, SL_TS_AUTO);
    static const struct {
        const char *json;
        int64_t want;
    } ok[] = {
        {"3", 3},
        {"3.0", 3},
        {"3e2", 300},
        {"3E+2", 300},
        {"300e-2", 3},
        {"-0", 0},
        {"0.0e-5", 0},
        {"-12", -12},
        {"1.5e1", 15},
        {"0.0003e4", 3},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
        {"9.223372036854775807e18", INT64_MAX},
        {"-92233720368547758.08e2", INT64_MIN},
        {"1234567890123456789000000e-6", 1234567890123456789LL},
        {"0e99999999999999999999", 0},
        {"\"12\"", 12},
        {"\"-12\"", -12},
        {"\"+12\"", 12},
        {"\"007\"", 7},
        {"\"9223372036854775807\"", INT64_MAX},
        {"\"-9223372036854775808\"", INT64_MIN},
    };
    char buf[256];
    for (size_t i = 0; i < SL_ARRAY_LEN(ok); i++) {
        snprintf(buf, sizeof(buf), "{\"v\":%s}", ok[i].json);
        ACCEPTS(&fx, buf);
        assert_bigint(&fx.row[0], ok[i].want);
    }
    static const char *const bad[] = {
        "3.5",     "-0.5",    "1e-1",    "1e-400", "\"3.5\"",
        "\"3.0\"", "\"1e3\"", "\"abc\"", "\"\"",   "\"-\"",
        "\" 1\"",  "true",    "[1]",     "{}",     "12345678901234567890e-10"};
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        snprintf(buf, sizeof(buf), "{\"v\":%s}", bad[i]);
        REJECTS(&fx, buf, SL_REJECT_BAD_VALUE);
    }
    static const char *const range[] = {"9223372036854775808",
                                        "-9223372036854775809",
                                        "1e19",
                                        "-1e19",
                                        "1e300",
                                        "9.3e18",
                                        "\"9223372036854775808\"",
                                        "\"-9223372036854775809\"",
                                        "\"99999999999999999999999\"",
                                        "123456789012345678901"};
    for (size_t i = 0; i < SL_ARRAY_LEN(range); i++) {
        snprintf(buf, sizeof(buf), "{\"v\":%s}", range[i]);
        REJECTS(&fx, buf, SL_REJECT_OUT_OF_RANGE);
    }
    fx_fini(&fx);
}

static void test_boolean_text(void **state)
{
    (void)state;
    struct fixture fx;
    const struct colspec cs[] = {{"b", SL_TYPE_BOOLEAN, NULL, false, false},
                                 {"t", SL_TYPE_TEXT, NULL, false, false}};
    fx_init(&fx, cs, 2, -1, SL_TS_AUTO, 1 << 20);
    ACCEPTS(&fx, "{\"b\":true,\"t\":\"hi\"}");
    assert_int_equal(fx.row[0].null, 0);
    assert_int_equal(fx.row[0].type, SL_TYPE_BOOLEAN);
    assert_true(fx.row[0].u.b);
    assert_text_str(&fx.row[1], "hi");
    ACCEPTS(&fx, "{\"b\":false,\"t\":3.0e2}");
    assert_false(fx.row[0].u.b);
    assert_text_str(&fx.row[1], "3.0e2"); /* a number's JSON text, as written */
    ACCEPTS(&fx, "{\"t\":-0.50}");
    assert_text_str(&fx.row[1], "-0.50");
    assert_sqlnull(&fx.row[0], SL_TYPE_BOOLEAN);
    ACCEPTS(&fx, "{\"t\":true}");
    assert_text_str(&fx.row[1], "true");
    ACCEPTS(&fx, "{\"t\":false}");
    assert_text_str(&fx.row[1], "false");
    ACCEPTS(&fx, "{\"t\":\"\"}");
    assert_text_str(&fx.row[1], "");
    ACCEPTS(&fx, "{\"t\":null,\"b\":null}");
    assert_sqlnull(&fx.row[0], SL_TYPE_BOOLEAN);
    assert_sqlnull(&fx.row[1], SL_TYPE_TEXT);
    REJECTS(&fx, "{\"b\":\"true\"}", SL_REJECT_BAD_VALUE);
    REJECTS(&fx, "{\"b\":1}", SL_REJECT_BAD_VALUE);
    REJECTS(&fx, "{\"b\":0}", SL_REJECT_BAD_VALUE);
    REJECTS(&fx, "{\"b\":[]}", SL_REJECT_BAD_VALUE);
    REJECTS(&fx, "{\"t\":{}}", SL_REJECT_BAD_VALUE);
    REJECTS(&fx, "{\"t\":[\"a\"]}", SL_REJECT_BAD_VALUE);
    /* a conversion problem never hides a later syntax problem */
    REJECTS(&fx, "{\"b\":1,\"x\":\"\xff\"}", SL_REJECT_INVALID_UTF8);
    REJECTS(&fx, "{\"b\":1,\"x\":1", SL_REJECT_TRUNCATED);
    REJECTS(&fx, "{\"b\":1,\"b\":true}", SL_REJECT_DUPLICATE_KEY);
    fx_fini(&fx);
}

/* --- paths and projection ---------------------------------------------------------- */

static void test_paths(void **state)
{
    (void)state;
    struct fixture fx;
    const struct colspec cs[] = {
        {"site", SL_TYPE_TEXT, "$.meta.site", false, false},
        {"first", SL_TYPE_BIGINT, "$.list[0]", false, false},
        {"third", SL_TYPE_BIGINT, "$.list[2]", false, false},
        {"odd", SL_TYPE_DOUBLE, "$['odd.key']", false, false},
        {"deep", SL_TYPE_TEXT, "$.m[1][0].x", false, false},
        {"site2", SL_TYPE_BIGINT, "$.meta.site", false, false}, /* same path, other type */
        {"meta", SL_TYPE_TEXT, "$.meta", false, false},         /* prefix of another path */
        {"top", SL_TYPE_TEXT, NULL, false, false},
    };
    fx_init(&fx, cs, 8, -1, SL_TS_AUTO, 1 << 20);
    ACCEPTS(&fx, "{\"list\":[10,20,30,40],\"odd.key\":2.5,\"m\":[[],[{\"x\":\"deep!\"}]],"
                 "\"odd\":{\"key\":1},\"top\":\"t\"}");
    assert_sqlnull(&fx.row[0], SL_TYPE_TEXT);
    assert_bigint(&fx.row[1], 10);
    assert_bigint(&fx.row[2], 30);
    assert_double_bits(&fx.row[3], 2.5);
    assert_text_str(&fx.row[4], "deep!");
    assert_sqlnull(&fx.row[5], SL_TYPE_BIGINT);
    assert_sqlnull(&fx.row[6], SL_TYPE_TEXT);
    assert_text_str(&fx.row[7], "t");
    /* meta.site as "12": TEXT and BIGINT from the same member; meta itself a string */
    ACCEPTS(&fx, "{\"meta\":\"m\"}");
    assert_text_str(&fx.row[6], "m");
    assert_sqlnull(&fx.row[0], SL_TYPE_TEXT);
    /* an object where the TEXT column "meta" sits: bad_value */
    REJECTS(&fx, "{\"meta\":{\"site\":\"12\"}}", SL_REJECT_BAD_VALUE);
    fx_fini(&fx);

    const struct colspec cs2[] = {
        {"site", SL_TYPE_TEXT, "$.meta.site", false, false},
        {"site2", SL_TYPE_BIGINT, "$.meta.site", false, false},
        {"last", SL_TYPE_BIGINT, "$.list[3]", false, false},
        {"x", SL_TYPE_TEXT, "$.a.b.c", false, false},
    };
    fx_init(&fx, cs2, 4, -1, SL_TS_AUTO, 1 << 20);
    ACCEPTS(&fx, "{\"meta\":{\"other\":[1,{\"site\":9}],\"site\":\"12\"},\"list\":[1,[2],{\"3\":3},"
                 "4,5]}");
    assert_text_str(&fx.row[0], "12");
    assert_bigint(&fx.row[1], 12);
    assert_bigint(&fx.row[2], 4);
    /* index out of range, a path through a scalar or an array: absent, NULL */
    ACCEPTS(&fx, "{\"meta\":5,\"list\":[1,2],\"a\":{\"b\":[{\"c\":1}]}}");
    assert_sqlnull(&fx.row[0], SL_TYPE_TEXT);
    assert_sqlnull(&fx.row[1], SL_TYPE_BIGINT);
    assert_sqlnull(&fx.row[2], SL_TYPE_BIGINT);
    assert_sqlnull(&fx.row[3], SL_TYPE_TEXT);
    ACCEPTS(&fx, "{\"meta\":[{\"site\":1}],\"list\":{\"3\":1},\"a\":{\"b\":{\"c\":\"C\"}}}");
    assert_sqlnull(&fx.row[0], SL_TYPE_TEXT);
    assert_sqlnull(&fx.row[2], SL_TYPE_BIGINT);
    assert_text_str(&fx.row[3], "C");
    /* a wrong-typed value deep in the path rejects */
    REJECTS(&fx, "{\"a\":{\"b\":{\"c\":[]}}}", SL_REJECT_BAD_VALUE);
    REJECTS(&fx, "{\"meta\":{\"site\":\"twelve\"}}", SL_REJECT_BAD_VALUE);
    fx_fini(&fx);
}

static void test_projection_and_nulls(void **state)
{
    (void)state;
    struct fixture fx;
    const struct colspec cs[] = {
        {"a", SL_TYPE_BIGINT, NULL, false, true}, /* unused: never decoded */
        {"b", SL_TYPE_TEXT, NULL, true, false},   /* NOT NULL */
        {"c", SL_TYPE_DOUBLE, NULL, true, true},  /* NOT NULL, unused: still checked */
        {"d", SL_TYPE_BOOLEAN, NULL, false, false},
    };
    fx_init(&fx, cs, 4, -1, SL_TS_AUTO, 1 << 20);
    ACCEPTS(&fx, "{\"a\":\"not a number\",\"b\":\"x\",\"c\":1}");
    assert_sqlnull(&fx.row[0], SL_TYPE_BIGINT); /* present but unused: NULL */
    assert_text_str(&fx.row[1], "x");
    assert_double_bits(&fx.row[2], 1.0);
    assert_sqlnull(&fx.row[3], SL_TYPE_BOOLEAN);
    REJECTS(&fx, "{\"c\":1}", SL_REJECT_NULL_NOT_ALLOWED);
    REJECTS(&fx, "{\"b\":null,\"c\":1}", SL_REJECT_NULL_NOT_ALLOWED);
    REJECTS(&fx, "{\"b\":\"x\"}", SL_REJECT_NULL_NOT_ALLOWED);
    REJECTS(&fx, "{\"b\":\"x\",\"c\":null}", SL_REJECT_NULL_NOT_ALLOWED);
    REJECTS(&fx, "{\"b\":\"x\",\"c\":\"hot\"}", SL_REJECT_BAD_VALUE);
    /* the first conversion problem in byte order wins over a missing value */
    REJECTS(&fx, "{\"d\":1}", SL_REJECT_BAD_VALUE);
    fx_fini(&fx);
}

static void test_event_time(void **state)
{
    (void)state;
    struct fixture fx;
    const struct colspec cs[] = {
        {"v", SL_TYPE_DOUBLE, NULL, false, false},
        {"ts", SL_TYPE_TIMESTAMP, NULL, false, true}, /* WATERMARK column: checked if unused */
    };
    fx_init(&fx, cs, 2, 1, SL_TS_AUTO, 1 << 20);
    ACCEPTS(&fx, "{\"ts\":1714564800,\"v\":1}");
    assert_ts(&fx.row[1], 1714564800000LL);
    REJECTS(&fx, "{\"v\":1}", SL_REJECT_BAD_EVENT_TIME);
    REJECTS(&fx, "{\"ts\":null}", SL_REJECT_BAD_EVENT_TIME);
    REJECTS(&fx, "{\"ts\":\"yesterday\"}", SL_REJECT_BAD_EVENT_TIME);
    REJECTS(&fx, "{\"ts\":\"2024-02-30T00:00:00Z\"}", SL_REJECT_BAD_EVENT_TIME);
    REJECTS(&fx, "{\"ts\":1e15}", SL_REJECT_BAD_EVENT_TIME); /* year > 9999 */
    REJECTS(&fx, "{\"ts\":true}", SL_REJECT_BAD_EVENT_TIME);
    REJECTS(&fx, "{\"ts\":{}}", SL_REJECT_BAD_EVENT_TIME);
    REJECTS(&fx, "{\"ts\":[1]}", SL_REJECT_BAD_EVENT_TIME);
    REJECTS(&fx, "{\"v\":\"x\",\"ts\":\"no\"}", SL_REJECT_BAD_VALUE); /* first in order */
    REJECTS(&fx, "{\"ts\":\"no\",\"v\":\"x\"}", SL_REJECT_BAD_EVENT_TIME);
    fx_fini(&fx);
}

/* --- timestamps -------------------------------------------------------------------- */

static void test_timestamp_forms(void **state)
{
    (void)state;
    struct fixture fx;
    /* 2024-05-01T12:00:00Z = 1714564800 s (GNU date) */
    one_col(&fx, SL_TYPE_TIMESTAMP, SL_TS_AUTO);
    ACCEPTS(&fx, "{\"v\":1714564800}");
    assert_ts(&fx.row[0], 1714564800000LL);
    ACCEPTS(&fx, "{\"v\":1714564800.1239}");
    assert_ts(&fx.row[0], 1714564800123LL);
    ACCEPTS(&fx, "{\"v\":1714564800123}");
    assert_ts(&fx.row[0], 1714564800123LL);
    ACCEPTS(&fx, "{\"v\":1714564800123.9}");
    assert_ts(&fx.row[0], 1714564800123LL);
    ACCEPTS(&fx, "{\"v\":1.714564800123e12}");
    assert_ts(&fx.row[0], 1714564800123LL);
    ACCEPTS(&fx, "{\"v\":100000000000}"); /* exactly 1e11: seconds */
    assert_ts(&fx.row[0], 100000000000000LL);
    ACCEPTS(&fx, "{\"v\":100000000000.5}"); /* above 1e11: ms */
    assert_ts(&fx.row[0], 100000000000LL);
    ACCEPTS(&fx, "{\"v\":-1}");
    assert_ts(&fx.row[0], -1000);
    ACCEPTS(&fx, "{\"v\":-0.0001}"); /* floored toward -infinity */
    assert_ts(&fx.row[0], -1);
    ACCEPTS(&fx, "{\"v\":-14182940}"); /* 1969-07-20T20:17:40Z */
    assert_ts(&fx.row[0], -14182940000LL);
    ACCEPTS(&fx, "{\"v\":-14182940000}"); /* |x| < 1e11: s, year 1520 */
    assert_ts(&fx.row[0], -14182940000000LL);
    ACCEPTS(&fx, "{\"v\":-141829400000}"); /* |x| > 1e11: ms */
    assert_ts(&fx.row[0], -141829400000LL);
    ACCEPTS(&fx, "{\"v\":\"2024-05-01T12:00:00.123456+02:00\"}");
    assert_ts(&fx.row[0], 1714557600123LL);
    ACCEPTS(&fx, "{\"v\":\"1969-12-31T23:59:59.9999Z\"}");
    assert_ts(&fx.row[0], -1);
    ACCEPTS(&fx, "{\"v\":0}");
    assert_ts(&fx.row[0], 0);
    REJECTS(&fx, "{\"v\":\"1714564800\"}", SL_REJECT_BAD_VALUE);
    REJECTS(&fx, "{\"v\":\"0001-01-01T00:00:00+01:00\"}", SL_REJECT_OUT_OF_RANGE);
    REJECTS(&fx, "{\"v\":1e300}", SL_REJECT_OUT_OF_RANGE);
    REJECTS(&fx, "{\"v\":-62135596800001}", SL_REJECT_OUT_OF_RANGE);
    ACCEPTS(&fx, "{\"v\":-62135596800000}");
    assert_ts(&fx.row[0], -62135596800000LL);
    ACCEPTS(&fx, "{\"v\":253402300799999}");
    assert_ts(&fx.row[0], 253402300799999LL);
    REJECTS(&fx, "{\"v\":253402300800000}", SL_REJECT_OUT_OF_RANGE);
    ACCEPTS(&fx, "{\"v\":253402300799999.5}"); /* floors into range */
    assert_ts(&fx.row[0], 253402300799999LL);
    REJECTS(&fx, "{\"v\":253402300800000.5}", SL_REJECT_OUT_OF_RANGE);
    REJECTS(&fx, "{\"v\":-62135596800000.5}", SL_REJECT_OUT_OF_RANGE);
    fx_fini(&fx);

    one_col(&fx, SL_TYPE_TIMESTAMP, SL_TS_EPOCH_S);
    REJECTS(&fx, "{\"v\":1714564800123}", SL_REJECT_OUT_OF_RANGE); /* seconds: year 56000 */
    ACCEPTS(&fx, "{\"v\":253402300799}");
    assert_ts(&fx.row[0], 253402300799000LL);
    REJECTS(&fx, "{\"v\":253402300800}", SL_REJECT_OUT_OF_RANGE);
    ACCEPTS(&fx, "{\"v\":1.5}");
    assert_ts(&fx.row[0], 1500);
    ACCEPTS(&fx, "{\"v\":-1.0005}");
    assert_ts(&fx.row[0], -1001);
    ACCEPTS(&fx, "{\"v\":\"2024-05-01T12:00:00Z\"}");
    assert_ts(&fx.row[0], 1714564800000LL);
    fx_fini(&fx);

    one_col(&fx, SL_TYPE_TIMESTAMP, SL_TS_EPOCH_MS);
    ACCEPTS(&fx, "{\"v\":5}");
    assert_ts(&fx.row[0], 5);
    ACCEPTS(&fx, "{\"v\":-5.5}");
    assert_ts(&fx.row[0], -6);
    fx_fini(&fx);

    one_col(&fx, SL_TYPE_TIMESTAMP, SL_TS_EPOCH_US);
    ACCEPTS(&fx, "{\"v\":1714564800123999}");
    assert_ts(&fx.row[0], 1714564800123LL);
    ACCEPTS(&fx, "{\"v\":-1}");
    assert_ts(&fx.row[0], -1);
    ACCEPTS(&fx, "{\"v\":-1000}");
    assert_ts(&fx.row[0], -1);
    ACCEPTS(&fx, "{\"v\":-1001}");
    assert_ts(&fx.row[0], -2);
    ACCEPTS(&fx, "{\"v\":999}");
    assert_ts(&fx.row[0], 0);
    fx_fini(&fx);

    one_col(&fx, SL_TYPE_TIMESTAMP, SL_TS_RFC3339);
    REJECTS(&fx, "{\"v\":1714564800}", SL_REJECT_BAD_VALUE);
    ACCEPTS(&fx, "{\"v\":\"2024-05-01 12:00:00z\"}");
    assert_ts(&fx.row[0], 1714564800000LL);
    fx_fini(&fx);

    const struct colspec cs[] = {{"v", SL_TYPE_TIMESTAMP, NULL, false, false}};
    struct sl_decoder *d = NULL;
    fx_init(&fx, cs, 1, -1, SL_TS_AUTO, 100);
    assert_int_equal(sl_decoder_new(&fx.src, 5, 100, &d), -EINVAL);
    assert_int_equal(sl_decoder_new(&fx.src, -1, 100, &d), -EINVAL);
    assert_null(d);
    fx_fini(&fx);
}

/* Sources the front end may hand over: no columns, a NULL path, the path '$'. */
static void test_odd_sources(void **state)
{
    (void)state;
    struct sl_source src = {.name = "s", .ncols = 0, .wm_col = -1};
    struct sl_decoder *d = NULL;
    char scratch[64];
    assert_int_equal(sl_decoder_new(&src, SL_TS_AUTO, 1 << 20, &d), 0);
    assert_int_equal(sl_decode(d, "{\"a\":1}", 7, NULL, scratch, sizeof(scratch)), 0);
    assert_int_equal(sl_decode(d, "{\"a\":1,\"a\":1}", 13, NULL, scratch, sizeof(scratch)),
                     -SL_REJECT_DUPLICATE_KEY);
    sl_decoder_free(d);
    sl_decoder_free(NULL);

    struct sl_column cols[2] = {
        {.name = "temp", .type = SL_TYPE_DOUBLE, .used = true}, /* path NULL: $.temp */
        {.name = "whole", .type = SL_TYPE_TEXT, .used = true},
    };
    struct sl_path whole = {.nsegs = 0}; /* sl_path_parse refuses '$'; a decoder copes */
    cols[1].path = &whole;
    src.cols = cols;
    src.ncols = 1;
    struct sl_value row[2];
    assert_int_equal(sl_decoder_new(&src, SL_TS_AUTO, 1 << 20, &d), 0);
    assert_int_equal(sl_decode(d, "{\"temp\":2.5}", 12, row, scratch, sizeof(scratch)), 0);
    assert_double_bits(&row[0], 2.5);
    sl_decoder_free(d);
    src.ncols = 2; /* the whole object as TEXT: an object does not convert */
    assert_int_equal(sl_decoder_new(&src, SL_TS_AUTO, 1 << 20, &d), 0);
    assert_int_equal(sl_decode(d, "{\"temp\":2.5}", 12, row, scratch, sizeof(scratch)),
                     -SL_REJECT_BAD_VALUE);
    sl_decoder_free(d);
    cols[0].type = SL_TYPE_INTERVAL; /* never a column type */
    assert_int_equal(sl_decoder_new(&src, SL_TS_AUTO, 1 << 20, &d), -EINVAL);
    cols[0].type = SL_TYPE_NULL;
    assert_int_equal(sl_decoder_new(&src, SL_TS_AUTO, 1 << 20, &d), -EINVAL);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Writes the exact decimal of v / 10^k (v may be negative), with k fraction digits. */
static void fixed(char *b, size_t cap, int64_t v, int k)
{
    int64_t p = 1;
    for (int i = 0; i < k; i++) {
        p *= 10;
    }
    uint64_t a = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    if (k == 0) {
        snprintf(b, cap, "%s%llu", v < 0 ? "-" : "", (unsigned long long)a);
    } else {
        snprintf(b, cap, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(a / (uint64_t)p),
                 k, (unsigned long long)(a % (uint64_t)p));
    }
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Random instants (microseconds) within +-10 years of 2024 and before 1970, written in
 * every format; expected values by integer floor division. */
static void test_timestamp_sweep(void **state)
{
    (void)state;
    struct fixture fx[5];
    for (int f = 0; f <= SL_TS_RFC3339; f++) {
        one_col(&fx[f], SL_TYPE_TIMESTAMP, f);
    }
    const int64_t us_2024 = 1714564800000000LL, ten_years = 315576000000000LL;
    char num[64], json[160];
    for (int i = 0; i < 20000; i++) {
        int64_t us;
        if (i % 3 == 2) {
            us = -(int64_t)(rnd() % (uint64_t)(20 * ten_years)); /* 1770 .. 1970 */
        } else {
            us = us_2024 - ten_years + (int64_t)(rnd() % (uint64_t)(2 * ten_years));
        }
        int64_t want = floordiv(us, 1000);
        /* epoch_us, exact integer */
        snprintf(num, sizeof(num), "%lld", (long long)us);
        snprintf(json, sizeof(json), "{\"v\":%s}", num);
        assert_int_equal(dec(&fx[SL_TS_EPOCH_US], json), 0);
        assert_ts(&fx[SL_TS_EPOCH_US].row[0], want);
        /* epoch_ms with three decimals, and auto (ms: |x| > 1e11 here unless near 1970) */
        fixed(num, sizeof(num), us, 3);
        snprintf(json, sizeof(json), "{\"v\":%s}", num);
        assert_int_equal(dec(&fx[SL_TS_EPOCH_MS], json), 0);
        assert_ts(&fx[SL_TS_EPOCH_MS].row[0], want);
        if (us > 100000000000000LL || us < -100000000000000LL) {
            assert_int_equal(dec(&fx[SL_TS_AUTO], json), 0);
            assert_ts(&fx[SL_TS_AUTO].row[0], want);
        }
        /* epoch_s with six decimals, and auto (s) */
        fixed(num, sizeof(num), us, 6);
        snprintf(json, sizeof(json), "{\"v\":%s}", num);
        assert_int_equal(dec(&fx[SL_TS_EPOCH_S], json), 0);
        assert_ts(&fx[SL_TS_EPOCH_S].row[0], want);
        assert_int_equal(dec(&fx[SL_TS_AUTO], json), 0);
        assert_ts(&fx[SL_TS_AUTO].row[0], want);
        /* and in exponent form: <digits>e-6 */
        snprintf(json, sizeof(json), "{\"v\":%lldE-6}", (long long)us);
        assert_int_equal(dec(&fx[SL_TS_EPOCH_S], json), 0);
        assert_ts(&fx[SL_TS_EPOCH_S].row[0], want);
        /* RFC 3339 with a random offset, written from libc's broken-down time */
        int off_min = (int)(rnd() % (2 * 14 * 60 + 1)) - 14 * 60;
        int64_t secs = floordiv(us, 1000000);
        int frac_us = (int)(us - secs * 1000000);
        time_t local = (time_t)(secs + off_min * 60);
        struct tm tm;
        assert_non_null(gmtime_r(&local, &tm));
        int aoff = off_min < 0 ? -off_min : off_min;
        snprintf(json, sizeof(json), "{\"v\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06d%c%02d:%02d\"}",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 frac_us, off_min < 0 ? '-' : '+', aoff / 60, aoff % 60);
        for (int f = 0; f <= SL_TS_RFC3339; f++) {
            assert_int_equal(dec(&fx[f], json), 0);
            assert_ts(&fx[f].row[0], want);
        }
    }
    for (int f = 0; f <= SL_TS_RFC3339; f++) {
        fx_fini(&fx[f]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reject_names),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_bad_number),
        cmocka_unit_test(test_double),
        cmocka_unit_test(test_bigint),
        cmocka_unit_test(test_boolean_text),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_projection_and_nulls),
        cmocka_unit_test(test_event_time),
        cmocka_unit_test(test_timestamp_forms),
        cmocka_unit_test(test_odd_sources),
        cmocka_unit_test(test_timestamp_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
