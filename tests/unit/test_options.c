/*
 * test_options.c - the option parser (engine/options.c): unit parsers, edit distance, every
 * option type, ranges, defaults, PREFIX options, secrets, and every message form. Expected
 * values and messages are written by hand from SQL.md and the task's message forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/options.h"

/* ---- a report callback that keeps every message ---------------------------------------- */

#define MAXMSG 32

struct got {
    int n;
    int index[MAXMSG];
    char msg[MAXMSG][512];
};

static void collect(void *ud, int index, const char *msg)
{
    struct got *g = ud;
    assert_true(g->n < MAXMSG);
    g->index[g->n] = index;
    snprintf(g->msg[g->n], sizeof(g->msg[0]), "%s", msg);
    g->n++;
}

/* A table with one option of every type and flag. */
static const struct sl_option_def test_opts[] = {
    {.name = "url", .type = SL_OPT_STRING, .flags = SL_OPT_REQUIRED, .help = "Where to go."},
    {.name = "qos", .type = SL_OPT_INT, .def = "1", .min = 0, .max = 2, .help = "QoS."},
    {.name = "receive_maximum",
     .type = SL_OPT_INT,
     .def = "100",
     .min = 1,
     .max = 65535,
     .help = "Window."},
    {.name = "count", .type = SL_OPT_INT, .min = 1, .max = INT64_MAX, .help = "At least one."},
    {.name = "anyint", .type = SL_OPT_INT, .help = "Any integer."},
    {.name = "ratio", .type = SL_OPT_DOUBLE, .def = "0.5", .help = "A number."},
    {.name = "follow", .type = SL_OPT_BOOL, .def = "false", .help = "A flag."},
    {.name = "linger",
     .type = SL_OPT_DURATION,
     .def = "1s",
     .min = 0,
     .max = 3600000,
     .help = "A duration."},
    {.name = "batch_bytes",
     .type = SL_OPT_SIZE,
     .def = "1MiB",
     .min = 1,
     .max = 6 << 20,
     .help = "A size."},
    {.name = "type",
     .type = SL_OPT_ENUM,
     .def = "hash",
     .choices = "hash|string|stream|publish|zset",
     .help = "An enum."},
    {.name = "mode", .type = SL_OPT_ENUM, .choices = "RequestResponse|Event", .help = "Case."},
    {.name = "password", .type = SL_OPT_STRING, .flags = SL_OPT_SECRET, .help = "Secret."},
    {.name = "pin", .type = SL_OPT_INT, .flags = SL_OPT_SECRET, .help = "Secret number."},
    {.name = "properties.", .type = SL_OPT_STRING, .flags = SL_OPT_PREFIX, .help = "Pass."},
    {.name = "num.", .type = SL_OPT_INT, .flags = SL_OPT_PREFIX, .help = "Numeric pass."},
    {.name = NULL},
};

static const struct sl_option_def common_opts[] = {
    {.name = "idle_timeout", .type = SL_OPT_DURATION, .def = "30s", .help = "Idle."},
    {.name = NULL},
};

static const struct sl_option_def *const tables[] = {test_opts, common_opts, NULL};

#define IN(n, v)                                                                                   \
    {                                                                                              \
        .name = (n), .value = (v), .line = 3, .col = 5                                             \
    }

static int parse(const struct sl_opt_input *in, int nin, struct sl_options *o, struct got *g)
{
    memset(g, 0, sizeof(*g));
    return sl_options_parse(tables, "mqtt", in, nin, o, collect, g);
}

/* Parses one bad input next to a valid url; expects exactly one message. */
static void expect_one(const char *name, const char *value, const char *msg)
{
    struct sl_opt_input in[] = {IN("url", "x"), IN(name, value)};
    struct sl_options o = {0};
    struct got g;
    assert_int_equal(parse(in, 2, &o, &g), 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.index[0], 1);
    assert_string_equal(g.msg[0], msg);
    assert_null(o.v); /* not filled on error */
}

/* ---- units ------------------------------------------------------------------------------ */

static void test_duration(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"500ms", 500},
        {"10s", 10000},
        {"5m", 300000},
        {"1h", 3600000},
        {"1d", 86400000},
        {"0", 0},
        {"0s", 0},
        {"10S", 10000},
        {"1MS", 1},
        {"90m", 5400000},
        {"007s", 7000},
        {"0ms", 0},
        {"106751991167d", 106751991167LL * 86400000LL},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t ms = -1;
        assert_int_equal(sl_parse_duration(ok[i].s, &ms), 0);
        assert_true(ms == ok[i].ms);
    }
    static const char *const bad[] = {"",  "soon", "10", "-1s",  "1.5s", "10 s",  " 10s",  "10sec",
                                      "s", "1w",   "1y", "10s ", "+1s",  "1e3ms", "0x10s", "5M5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 12345;
        assert_int_equal(sl_parse_duration(bad[i], &ms), -EINVAL);
        assert_true(ms == 12345); /* ret_ written only on success */
    }
    int64_t ms = 1;
    assert_int_equal(sl_parse_duration("106751991167d", &ms), 0);
    assert_int_equal(sl_parse_duration("106751991168d", &ms), -ERANGE);
    assert_int_equal(sl_parse_duration("99999999999999999999ms", &ms), -ERANGE);
    assert_int_equal(sl_parse_duration("9223372036854775807ms", &ms), 0);
    assert_true(ms == INT64_MAX);
    assert_int_equal(sl_parse_duration("9223372036854775808ms", &ms), -ERANGE);
    assert_int_equal(sl_parse_duration(NULL, &ms), -EINVAL);
}

static void test_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t b;
    } ok[] = {
        {"512", 512},
        {"0", 0},
        {"10B", 10},
        {"64KiB", 65536},
        {"1MiB", 1048576},
        {"1GiB", 1073741824},
        {"2TiB", 2199023255552LL},
        {"1KB", 1000},
        {"3MB", 3000000},
        {"1GB", 1000000000},
        {"1TB", 1000000000000LL},
        {"64kib", 65536},
        {"1mib", 1048576},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t b = -1;
        assert_int_equal(sl_parse_size(ok[i].s, &b), 0);
        assert_true(b == ok[i].b);
    }
    static const char *const bad[] = {"big", "1.5MiB", "-1",  "1 KiB", "1K",  "",
                                      "KiB", "1MiBs",  "1Mi", " 1",    "1PiB"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t b = 777;
        assert_int_equal(sl_parse_size(bad[i], &b), -EINVAL);
        assert_true(b == 777);
    }
    int64_t b;
    assert_int_equal(sl_parse_size("8388607TiB", &b), 0);
    assert_true(b == 8388607LL << 40);
    assert_int_equal(sl_parse_size("8388608TiB", &b), -ERANGE);
    assert_int_equal(sl_parse_size("99999999999999999999", &b), -ERANGE);
}

static void test_fmt(void **state)
{
    (void)state;
    char buf[32];
    sl_options_fmt(SL_OPT_DURATION, 90000, buf, sizeof(buf));
    assert_string_equal(buf, "90s");
    sl_options_fmt(SL_OPT_DURATION, 3600000, buf, sizeof(buf));
    assert_string_equal(buf, "1h");
    sl_options_fmt(SL_OPT_DURATION, 1500, buf, sizeof(buf));
    assert_string_equal(buf, "1500ms");
    sl_options_fmt(SL_OPT_DURATION, 0, buf, sizeof(buf));
    assert_string_equal(buf, "0");
    sl_options_fmt(SL_OPT_SIZE, 1048576, buf, sizeof(buf));
    assert_string_equal(buf, "1MiB");
    sl_options_fmt(SL_OPT_SIZE, 1000, buf, sizeof(buf));
    assert_string_equal(buf, "1000");
    sl_options_fmt(SL_OPT_INT, 65535, buf, sizeof(buf));
    assert_string_equal(buf, "65535");
}

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(sl_edit_distance("qso", "qos"), 1); /* transposition */
    assert_int_equal(sl_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(sl_edit_distance("QOS", "qos"), 0);
    assert_int_equal(sl_edit_distance("", "abc"), 3);
    assert_int_equal(sl_edit_distance("abc", ""), 3);
    assert_int_equal(sl_edit_distance("", ""), 0);
    assert_int_equal(sl_edit_distance("ca", "abc"), 3); /* OSA, not full Damerau */
    assert_int_equal(sl_edit_distance("devce", "device"), 1);
    assert_int_equal(sl_edit_distance("temperatur", "temperature"), 1);
    assert_int_equal(sl_edit_distance("url", "qos"), 3);
    char a[400], b[400];
    memset(a, 'a', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memset(b, 'a', 10);
    b[10] = '\0';
    assert_true(sl_edit_distance(a, b) > 2); /* long strings: no crash, no suggestion */
}

/* ---- parsing ---------------------------------------------------------------------------- */

static void test_values_and_defaults(void **state)
{
    (void)state;
    struct sl_opt_input in[] = {
        IN("url", "mqtt://h"), IN("QOS", "0"),          IN("ratio", "1e-3"),
        IN("follow", "ON"),    IN("linger", "500ms"),   IN("batch_bytes", "64KiB"),
        IN("type", "ZSET"),    IN("mode", "event"),     IN("anyint", "-42"),
        IN("count", "+7"),     IN("connector", "mqtt"), IN("properties.Sasl.Mechanism", "PLAIN"),
    };
    struct sl_options o = {0};
    struct got g;
    int n = (int)(sizeof(in) / sizeof(in[0]));
    assert_int_equal(parse(in, n, &o, &g), 0);
    assert_int_equal(g.n, 0);

    const struct sl_opt_value *v = sl_options_get(&o, "url");
    assert_non_null(v);
    assert_string_equal(v->str, "mqtt://h");
    assert_true(v->given);
    assert_int_equal(v->index, 0);
    assert_int_equal(v->line, 3);
    assert_int_equal(v->col, 5);

    v = sl_options_get(&o, "qos");
    assert_non_null(v);
    assert_string_equal(v->name, "qos"); /* the table's spelling */
    assert_true(v->i == 0);
    assert_int_equal(v->index, 1);

    v = sl_options_get(&o, "ratio");
    assert_true(v->d == 1e-3);
    assert_true(sl_options_int(&o, "follow", -1) == 1);
    assert_true(sl_options_int(&o, "linger", -1) == 500);
    assert_true(sl_options_int(&o, "batch_bytes", -1) == 65536);
    v = sl_options_get(&o, "type");
    assert_true(v->i == 4);
    assert_string_equal(v->str, "zset");
    v = sl_options_get(&o, "mode");
    assert_true(v->i == 1);
    assert_string_equal(v->str, "Event"); /* canonical spelling */
    assert_true(sl_options_int(&o, "anyint", 0) == -42);
    assert_true(sl_options_int(&o, "count", 0) == 7);

    /* Defaults: present, not given, index -1. */
    v = sl_options_get(&o, "receive_maximum");
    assert_non_null(v);
    assert_false(v->given);
    assert_int_equal(v->index, -1);
    assert_true(v->i == 100);
    assert_string_equal(v->str, "100");
    v = sl_options_get(&o, "idle_timeout"); /* from the second table */
    assert_non_null(v);
    assert_true(v->i == 30000);
    assert_false(v->given);

    /* No default and not given: absent. */
    assert_null(sl_options_get(&o, "password"));
    assert_null(sl_options_str(&o, "password"));
    assert_true(sl_options_int(&o, "pin", 99) == 99);
    assert_null(sl_options_get(&o, "connector"));

    /* PREFIX: the full name as given, looked up by it. */
    v = sl_options_get(&o, "properties.sasl.mechanism");
    assert_non_null(v);
    assert_string_equal(v->name, "properties.Sasl.Mechanism");
    assert_string_equal(v->str, "PLAIN");
    assert_ptr_equal(v->def, &test_opts[13]);
    assert_int_equal(v->index, 11);

    sl_options_fini(&o);
    assert_null(o.v);
    assert_int_equal(o.n, 0);
    sl_options_fini(&o); /* twice is harmless */
}

static void test_bool_forms(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int v;
    } forms[] = {{"true", 1},  {"TRUE", 1}, {"on", 1}, {"yes", 1}, {"1", 1},
                 {"false", 0}, {"off", 0},  {"No", 0}, {"0", 0}};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct sl_opt_input in[] = {IN("url", "x"), IN("follow", forms[i].s)};
        struct sl_options o = {0};
        struct got g;
        assert_int_equal(parse(in, 2, &o, &g), 0);
        assert_true(sl_options_int(&o, "follow", -1) == forms[i].v);
        sl_options_fini(&o);
    }
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_one("linger", "soon",
               "option 'linger' must be a duration like '500ms', '10s', '5m', got 'soon'");
    expect_one("batch_bytes", "big",
               "option 'batch_bytes' must be a size like '512', '64KiB', '1MiB', got 'big'");
    expect_one("anyint", "3.5", "option 'anyint' must be an integer, got '3.5'");
    expect_one("anyint", "", "option 'anyint' must be an integer, got ''");
    expect_one("anyint", " 1", "option 'anyint' must be an integer, got ' 1'");
    expect_one("anyint", "99999999999999999999",
               "option 'anyint' must be a 64-bit integer, got '99999999999999999999'");
    expect_one("ratio", "nan", "option 'ratio' must be a number, got 'nan'");
    expect_one("ratio", "inf", "option 'ratio' must be a number, got 'inf'");
    expect_one("ratio", "", "option 'ratio' must be a number, got ''");
    expect_one("ratio", "1e999", "option 'ratio' must be a number, got '1e999'");
    expect_one("follow", "maybe", "option 'follow' must be true or false, got 'maybe'");
    expect_one("type", "list",
               "option 'type' must be one of hash|string|stream|publish|zset, got 'list'");
    expect_one("mode", "", "option 'mode' must be one of RequestResponse|Event, got ''");
}

static void test_ranges(void **state)
{
    (void)state;
    expect_one("receive_maximum", "0",
               "option 'receive_maximum' must be between 1 and 65535, got '0'");
    expect_one("receive_maximum", "65536",
               "option 'receive_maximum' must be between 1 and 65535, got '65536'");
    expect_one("receive_maximum", "99999999999999999999",
               "option 'receive_maximum' must be between 1 and 65535, got "
               "'99999999999999999999'");
    expect_one("qos", "-1", "option 'qos' must be between 0 and 2, got '-1'");
    expect_one("count", "0", "option 'count' must be at least 1, got '0'");
    expect_one("linger", "2h", "option 'linger' must be between 0 and 1h, got '2h'");
    expect_one("linger", "999999999999999d",
               "option 'linger' must be between 0 and 1h, got '999999999999999d'");
    expect_one("batch_bytes", "7MiB",
               "option 'batch_bytes' must be between 1 and 6MiB, got "
               "'7MiB'");
    expect_one("batch_bytes", "0", "option 'batch_bytes' must be between 1 and 6MiB, got '0'");

    /* The bounds themselves are accepted. */
    struct sl_opt_input in[] = {IN("url", "x"), IN("receive_maximum", "65535"), IN("linger", "1h"),
                                IN("batch_bytes", "6MiB"), IN("qos", "0")};
    struct sl_options o = {0};
    struct got g;
    assert_int_equal(parse(in, 5, &o, &g), 0);
    assert_true(sl_options_int(&o, "receive_maximum", 0) == 65535);
    assert_true(sl_options_int(&o, "batch_bytes", 0) == 6 << 20);
    sl_options_fini(&o);
}

static void test_twice(void **state)
{
    (void)state;
    struct sl_opt_input in[] = {IN("url", "x"), IN("qos", "1"), IN("QOS", "0"),
                                IN("properties.a", "1"), IN("properties.A", "2")};
    struct sl_options o = {0};
    struct got g;
    assert_int_equal(parse(in, 5, &o, &g), 2);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.index[0], 2);
    assert_string_equal(g.msg[0], "option 'QOS' is given twice");
    assert_int_equal(g.index[1], 4);
    assert_string_equal(g.msg[1], "option 'properties.A' is given twice");
}

static void test_unknown(void **state)
{
    (void)state;
    /* Transposition, distance 1. */
    expect_one("qso", "1", "unknown option 'qso' for connector mqtt; did you mean 'qos'?");
    /* Distance 2. */
    expect_one("receive_maximun", "1",
               "unknown option 'receive_maximun' for connector mqtt; did you mean "
               "'receive_maximum'?");
    /* A prefix of a name. */
    expect_one("receive", "1",
               "unknown option 'receive' for connector mqtt; did you mean 'receive_maximum'?");
    /* Second table too. */
    expect_one("idle_timout", "1s",
               "unknown option 'idle_timout' for connector mqtt; did you mean "
               "'idle_timeout'?");
    /* A misspelt prefix option keeps its suffix. */
    expect_one("propertes.sasl.mechanism", "PLAIN",
               "unknown option 'propertes.sasl.mechanism' for connector mqtt; did you mean "
               "'properties.sasl.mechanism'?");
    /* The bare prefix is not an option. */
    expect_one("properties.", "x",
               "unknown option 'properties.' for connector mqtt; did you mean "
               "'properties.<name>'?");
    /* Nothing close: the list. */
    const char *list = "; its options are: url, qos, receive_maximum, count, anyint, ratio, "
                       "follow, linger, batch_bytes, type, mode, password, pin, "
                       "properties.<name>, num.<name>, idle_timeout";
    char want[512];
    snprintf(want, sizeof(want), "unknown option 'x' for connector mqtt%s", list);
    expect_one("x", "1", want);
    snprintf(want, sizeof(want), "unknown option 'zzzzzz' for connector mqtt%s", list);
    expect_one("zzzzzz", "1", want);
}

static void test_missing_required(void **state)
{
    (void)state;
    struct sl_opt_input in[] = {IN("qos", "1")};
    struct sl_options o = {0};
    struct got g;
    assert_int_equal(parse(in, 1, &o, &g), 1);
    assert_int_equal(g.index[0], -1);
    assert_string_equal(g.msg[0], "connector mqtt needs option 'url': Where to go.");
    assert_int_equal(parse(NULL, 0, &o, &g), 1);
    assert_string_equal(g.msg[0], "connector mqtt needs option 'url': Where to go.");
}

static void test_many_problems(void **state)
{
    (void)state;
    struct sl_opt_input in[] = {
        IN("qso", "1"),             /* 0 unknown, suggestion */
        IN("linger", "soon"),       /* 1 bad duration */
        IN("qos", "7"),             /* 2 range */
        IN("qos", "1"),             /* 3 twice */
        IN("receive_maximum", "0"), /* 4 range */
        IN("x", "1"),               /* 5 unknown, list */
        IN("type", "list"),         /* 6 enum */
        IN("follow", "maybe"),      /* 7 bool */
        IN("ratio", "abc"),         /* 8 double */
        IN("batch_bytes", "big"),   /* 9 size */
        IN("num.x", "y"),           /* 10 prefix int */
        /* url missing: -1 */
    };
    struct sl_options o = {.v = NULL, .n = 0};
    struct got g;
    int n = (int)(sizeof(in) / sizeof(in[0]));
    assert_int_equal(parse(in, n, &o, &g), 12);
    assert_int_equal(g.n, 12);
    /* Reported in input order, then the missing url for the clause as a whole. */
    for (int i = 0; i < 11; i++) {
        assert_int_equal(g.index[i], i);
    }
    assert_string_equal(g.msg[2], "option 'qos' must be between 0 and 2, got '7'");
    assert_string_equal(g.msg[3], "option 'qos' is given twice");
    assert_string_equal(g.msg[10], "option 'num.x' must be an integer, got 'y'");
    assert_int_equal(g.index[11], -1);
    assert_string_equal(g.msg[11], "connector mqtt needs option 'url': Where to go.");
    assert_int_equal(o.n, 0);
    assert_null(o.v);

    /* Without a callback the count is still returned. */
    assert_int_equal(sl_options_parse(tables, "mqtt", in, n, &o, NULL, NULL), 12);
}

static void test_secret(void **state)
{
    (void)state;
    struct sl_opt_input in[] = {
        IN("url", "x"),
        IN("pin", "hunter2"),               /* SECRET, bad integer */
        IN("num.sasl.password", "hunter3"), /* PREFIX whose name is a credential */
        IN("password", "hunter4"),          /* fine */
        IN("password", "hunter5"),          /* twice */
        IN("pasword", "hunter6"),           /* unknown */
    };
    struct sl_options o = {0};
    struct got g;
    assert_int_equal(parse(in, 6, &o, &g), 4);
    assert_string_equal(g.msg[0], "option 'pin' must be an integer, got <secret>");
    assert_string_equal(g.msg[1], "option 'num.sasl.password' must be an integer, got <secret>");
    assert_string_equal(g.msg[2], "option 'password' is given twice");
    assert_string_equal(g.msg[3],
                        "unknown option 'pasword' for connector mqtt; did you mean 'password'?");
    for (int i = 0; i < g.n; i++) {
        assert_null(strstr(g.msg[i], "hunter"));
    }

    /* Display: secret options and URL passwords are hidden. */
    struct sl_opt_input ok[] = {
        IN("url", "redis://app:hunter7@redis:6379/0"), IN("password", "hunter8"),
        IN("properties.sasl.password", "hunter9"), IN("properties.ssl.key.pem", "-----BEGIN"),
        IN("properties.sasl.mechanism", "PLAIN")};
    assert_int_equal(parse(ok, 5, &o, &g), 0);
    char buf[128];
    assert_string_equal(sl_options_display(sl_options_get(&o, "url"), buf, sizeof(buf)),
                        "redis://app:<secret>@redis:6379/0");
    assert_string_equal(sl_options_display(sl_options_get(&o, "password"), buf, sizeof(buf)),
                        "<secret>");
    assert_string_equal(
        sl_options_display(sl_options_get(&o, "properties.sasl.password"), buf, sizeof(buf)),
        "<secret>");
    assert_string_equal(
        sl_options_display(sl_options_get(&o, "properties.ssl.key.pem"), buf, sizeof(buf)),
        "<secret>");
    assert_string_equal(
        sl_options_display(sl_options_get(&o, "properties.sasl.mechanism"), buf, sizeof(buf)),
        "PLAIN");
    struct sl_opt_value raw = {.def = &test_opts[0], .name = "url"};
    static const struct {
        const char *in, *out;
    } urls[] = {
        {"redis://u:p/w@d@h:1/0", "redis://u:<secret>@h:1/0"},
        {"redis://pw@h", "redis://<secret>@h"},
        {"redis://:pw@h", "redis://:<secret>@h"},
        {"redis://h:6379/0", "redis://h:6379/0"},
        {"user@example.com", "user@example.com"},
        {"redis:/u:pw@h", "redis:/u:<secret>@h"},
        {"redis:pw@h", "redis:<secret>@h"},
        {"u:pw@h", "u:<secret>@h"},
        {"x@y://u:pw@h", "x@y://u:<secret>@h"},
        {"a://@h", "a://<secret>@h"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        raw.str = (char *)urls[i].in;
        assert_string_equal(sl_options_display(&raw, buf, sizeof(buf)), urls[i].out);
    }
    assert_true(sl_options_is_secret(&test_opts[11], "password"));
    assert_false(sl_options_is_secret(&test_opts[0], "url"));
    assert_true(sl_options_is_secret(&test_opts[13], "properties.sasl.oauthbearer.client.secret"));
    assert_false(sl_options_is_secret(&test_opts[13], "properties.security.protocol"));
    sl_options_fini(&o);
}

static void test_shown_values(void **state)
{
    (void)state;
    /* Control characters become '?', long values are cut. */
    expect_one("follow", "a\nb\tc", "option 'follow' must be true or false, got 'a?b?c'");
    char longv[300];
    memset(longv, 'z', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    struct sl_opt_input in[] = {IN("url", "x"), IN("follow", longv)};
    struct sl_options o = {0};
    struct got g;
    assert_int_equal(parse(in, 2, &o, &g), 1);
    assert_true(strlen(g.msg[0]) < 200);
    assert_non_null(strstr(g.msg[0], "zzz...'"));
}

static void test_lookups(void **state)
{
    (void)state;
    struct sl_options empty = {0};
    assert_null(sl_options_get(&empty, "url"));
    assert_null(sl_options_get(NULL, "url"));
    assert_null(sl_options_str(&empty, "url"));
    assert_true(sl_options_int(&empty, "qos", 5) == 5);
    sl_options_fini(NULL);
}

/* The shared tables hold SQL.md's defaults. */
static void test_common_tables(void **state)
{
    (void)state;
    const struct sl_option_def *const src[] = {sl_source_common_options, NULL};
    struct sl_options o = {0};
    struct got g;
    memset(&g, 0, sizeof(g));
    assert_int_equal(sl_options_parse(src, "file", NULL, 0, &o, collect, &g), 0);
    assert_true(sl_options_int(&o, "dead_letter_max_bytes", 0) == 64LL << 20);
    assert_true(sl_options_int(&o, "idle_timeout", 0) == 30000);
    assert_true(sl_options_int(&o, "max_future", 0) == 300000);
    assert_string_equal(sl_options_str(&o, "timestamp_format"), "auto");
    assert_true(sl_options_int(&o, "max_message_bytes", 0) == 1 << 20);
    assert_null(sl_options_get(&o, "dead_letter"));
    sl_options_fini(&o);

    struct sl_opt_input in[] = {IN("timestamp_format", "epoch_us"), IN("max_future", "0")};
    assert_int_equal(sl_options_parse(src, "file", in, 2, &o, collect, &g), 0);
    assert_true(sl_options_int(&o, "timestamp_format", -1) == 3);
    assert_true(sl_options_int(&o, "max_future", -1) == 0);
    sl_options_fini(&o);

    const struct sl_option_def *const snk[] = {sl_sink_common_options, NULL};
    assert_int_equal(sl_options_parse(snk, "stdout", NULL, 0, &o, collect, &g), 0);
    assert_true(sl_options_int(&o, "max_groups", 0) == 1000000);
    assert_true(sl_options_int(&o, "max_distinct", 0) == 100000);
    sl_options_fini(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_fmt),
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_values_and_defaults),
        cmocka_unit_test(test_bool_forms),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_twice),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_many_problems),
        cmocka_unit_test(test_secret),
        cmocka_unit_test(test_shown_values),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_common_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
