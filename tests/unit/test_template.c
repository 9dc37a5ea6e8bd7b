/*
 * test_template.c - key templates (engine/template.c): parsing into segments, brace
 * escapes and errors, binding against hand-built plans, rendering into caller buffers, and
 * the default key of SQL.md (`<sink>:{group columns…}:{window_start}`, `<sink>:{_id}`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/template.h"
#include "queries/plan.h"

static void expect_seg(const struct sl_template *t, int i, bool ph, const char *text)
{
    assert_true(i < t->nsegs);
    assert_int_equal(t->segs[i].placeholder, ph);
    assert_string_equal(t->segs[i].text, text);
    assert_int_equal(t->segs[i].len, strlen(text));
}

static void test_parse(void **state)
{
    (void)state;
    struct sl_template t;
    struct sl_err err;
    assert_int_equal(sl_template_parse("temp:{site}:{device}:{window_start}", &t, &err), 0);
    assert_int_equal(t.nsegs, 6);
    assert_int_equal(t.nph, 3);
    expect_seg(&t, 0, false, "temp:");
    expect_seg(&t, 1, true, "site");
    expect_seg(&t, 2, false, ":");
    expect_seg(&t, 3, true, "device");
    expect_seg(&t, 4, false, ":");
    expect_seg(&t, 5, true, "window_start");
    assert_int_equal(t.literal_len, 7);
    assert_string_equal(t.src, "temp:{site}:{device}:{window_start}");
    assert_true(sl_template_mentions(&t, "DEVICE"));
    assert_false(sl_template_mentions(&t, "temp"));
    sl_template_fini(&t);

    /* Escaped braces are literal and merge with the text around them. */
    assert_int_equal(sl_template_parse("{{x}}", &t, &err), 0);
    assert_int_equal(t.nsegs, 1);
    assert_int_equal(t.nph, 0);
    expect_seg(&t, 0, false, "{x}");
    sl_template_fini(&t);

    assert_int_equal(sl_template_parse("a{{{b}}}c", &t, &err), 0);
    assert_int_equal(t.nsegs, 3);
    expect_seg(&t, 0, false, "a{");
    expect_seg(&t, 1, true, "b");
    expect_seg(&t, 2, false, "}c");
    sl_template_fini(&t);

    /* Adjacent placeholders; names keep their spelling and spaces. */
    assert_int_equal(sl_template_parse("{a}{B c}", &t, &err), 0);
    assert_int_equal(t.nsegs, 2);
    expect_seg(&t, 0, true, "a");
    expect_seg(&t, 1, true, "B c");
    sl_template_fini(&t);

    /* No placeholder at all; the empty template. */
    assert_int_equal(sl_template_parse("fixed", &t, &err), 0);
    assert_int_equal(t.nsegs, 1);
    assert_int_equal(t.nph, 0);
    sl_template_fini(&t);
    assert_int_equal(sl_template_parse("", &t, &err), 0);
    assert_int_equal(t.nsegs, 0);
    sl_template_fini(&t);
    sl_template_fini(&t); /* twice is harmless */
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"a}b", "'}' at byte 2 closes nothing; write '}}' for a literal brace"},
        {"x:{dev", "'{' at byte 3 is not closed; write '{{' for a literal brace"},
        {"x:{}", "'{}' at byte 3 names no column; write '{{}}' for literal braces"},
        {"{a{b}}", "'{' at byte 1 is not closed; write '{{' for a literal brace"},
        {"{a}}", "'}' at byte 4 closes nothing; write '}}' for a literal brace"},
        {"{", "'{' at byte 1 is not closed; write '{{' for a literal brace"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sl_template t;
        memset(&t, 0x5A, sizeof(t));
        struct sl_err err;
        assert_int_equal(sl_template_parse(cases[i].text, &t, &err), SL_ERR_PARSE);
        assert_string_equal(err.msg, cases[i].msg);
    }
}

/* A windowed plan: SELECT site, device, window_start, AVG(temp) AS avg_temp ... */
static struct sl_out_col win_out[] = {
    {.name = "site", .type = SL_TYPE_TEXT},
    {.name = "device", .type = SL_TYPE_TEXT},
    {.name = "window_start", .type = SL_TYPE_TIMESTAMP},
    {.name = "avg_temp", .type = SL_TYPE_DOUBLE},
};
static char *win_keys[] = {"site", "device"};

static struct sl_plan win_plan(void)
{
    struct sl_plan p = {
        .name = "temp_stats",
        .window = SL_WINDOW_TUMBLE,
        .key_names = win_keys,
        .nkeys = 2,
        .out = win_out,
        .nout = 4,
    };
    return p;
}

static struct sl_out_col ev_out[] = {
    {.name = "device", .type = SL_TYPE_TEXT},
    {.name = "temp", .type = SL_TYPE_DOUBLE},
};

static struct sl_plan event_plan(void)
{
    struct sl_plan p = {
        .name = "overheat",
        .window = SL_WINDOW_NONE,
        .out = ev_out,
        .nout = 2,
    };
    return p;
}

static void test_bind(void **state)
{
    (void)state;
    struct sl_plan wp = win_plan(), ep = event_plan();
    struct sl_template t;
    struct sl_err err;
    int bad = -7;

    assert_int_equal(
        sl_template_parse("t:{Site}:{device}:{window_start}:{window_end}:{_id}", &t, &err), 0);
    assert_int_equal(sl_template_bind(&t, &wp, &bad), 0);
    assert_int_equal(bad, -7); /* untouched on success */
    assert_int_equal(t.segs[1].ref, SL_TMPL_OUT);
    assert_int_equal(t.segs[1].col, 0);
    assert_int_equal(t.segs[3].ref, SL_TMPL_OUT);
    assert_int_equal(t.segs[3].col, 1);
    /* window_start is selected: the output column wins. */
    assert_int_equal(t.segs[5].ref, SL_TMPL_OUT);
    assert_int_equal(t.segs[5].col, 2);
    assert_int_equal(t.segs[7].ref, SL_TMPL_WINDOW_END);
    assert_int_equal(t.segs[7].col, -1);
    assert_int_equal(t.segs[9].ref, SL_TMPL_ID);

    /* A per-event query has no window columns. */
    assert_int_equal(sl_template_bind(&t, &ep, &bad), -ENOENT);
    assert_int_equal(bad, 1); /* {Site} is not a column there */
    sl_template_fini(&t);

    assert_int_equal(sl_template_parse("x:{device}:{window_start}", &t, &err), 0);
    assert_int_equal(sl_template_bind(&t, &ep, &bad), -ENOENT);
    assert_int_equal(bad, 3);
    assert_string_equal(t.segs[bad].text, "window_start");
    sl_template_fini(&t);

    assert_int_equal(sl_template_parse("x:{DEVICE}:{_ID}", &t, &err), 0);
    assert_int_equal(sl_template_bind(&t, &ep, &bad), 0);
    assert_int_equal(t.segs[1].ref, SL_TMPL_OUT);
    assert_int_equal(t.segs[3].ref, SL_TMPL_ID);
    sl_template_fini(&t);

    assert_int_equal(sl_template_parse("x:{devce}", &t, &err), 0);
    assert_int_equal(sl_template_bind(&t, &wp, &bad), -ENOENT);
    assert_int_equal(bad, 1);
    sl_template_fini(&t);
}

static void test_render(void **state)
{
    (void)state;
    struct sl_template t;
    struct sl_err err;
    assert_int_equal(sl_template_parse("temp:{site}:{device}:{window_start}", &t, &err), 0);
    struct sl_tmpl_piece pieces[] = {{"s1", 2}, {"d7", 2}, {"1700000000000", 13}};
    char buf[64];
    const char *want = "temp:s1:d7:1700000000000";
    assert_int_equal(sl_template_render(&t, pieces, buf, sizeof(buf)), (int)strlen(want));
    assert_string_equal(buf, want);

    /* Exactly enough room, one byte short, none. */
    size_t need = strlen(want) + 1;
    char *exact = malloc(need);
    assert_non_null(exact);
    assert_int_equal(sl_template_render(&t, pieces, exact, need), (int)strlen(want));
    assert_string_equal(exact, want);
    assert_int_equal(sl_template_render(&t, pieces, exact, need - 1), -ENOSPC);
    assert_int_equal(sl_template_render(&t, pieces, exact, 0), -ENOSPC);
    assert_int_equal(sl_template_render(&t, pieces, exact, 3), -ENOSPC);
    free(exact);

    /* NULL values render as empty pieces; pieces are not NUL-terminated. */
    struct sl_tmpl_piece nul[] = {{NULL, 0}, {"d7xxxx", 2}, {"5", 1}};
    assert_int_equal(sl_template_render(&t, nul, buf, sizeof(buf)), 10);
    assert_string_equal(buf, "temp::d7:5");
    sl_template_fini(&t);

    assert_int_equal(sl_template_parse("{{{a}}}", &t, &err), 0);
    struct sl_tmpl_piece one[] = {{"v", 1}};
    assert_int_equal(sl_template_render(&t, one, buf, sizeof(buf)), 3);
    assert_string_equal(buf, "{v}");
    sl_template_fini(&t);

    assert_int_equal(sl_template_parse("", &t, &err), 0);
    assert_int_equal(sl_template_render(&t, NULL, buf, 1), 0);
    assert_string_equal(buf, "");
    sl_template_fini(&t);
}

static void expect_default(const struct sl_plan *p, const char *want)
{
    char *k = sl_template_default_key(p);
    assert_non_null(k);
    assert_string_equal(k, want);
    /* The default always parses and binds. */
    struct sl_template t;
    struct sl_err err;
    int bad;
    assert_int_equal(sl_template_parse(k, &t, &err), 0);
    assert_int_equal(sl_template_bind(&t, p, &bad), 0);
    sl_template_fini(&t);
    free(k);
}

static void test_default_key(void **state)
{
    (void)state;
    struct sl_plan wp = win_plan();
    expect_default(&wp, "temp_stats:{site}:{device}:{window_start}");

    struct sl_plan ep = event_plan();
    expect_default(&ep, "overheat:{_id}");

    /* A windowed query without GROUP BY. */
    struct sl_plan nk = win_plan();
    nk.nkeys = 0;
    nk.key_names = NULL;
    expect_default(&nk, "temp_stats:{window_start}");

    /* window_start not selected: it still renders, from the row. */
    struct sl_plan ns = win_plan();
    ns.nout = 2;
    expect_default(&ns, "temp_stats:{site}:{device}:{window_start}");

    /* A group column that is not an output column: only _id tells the rows apart. */
    static char *hidden[] = {"site", "SPLIT_PART(_topic, '/', 2)"};
    struct sl_plan hp = win_plan();
    hp.key_names = hidden;
    expect_default(&hp, "temp_stats:{_id}");

    /* Braces in the sink's name are doubled. */
    struct sl_plan bp = event_plan();
    bp.name = "a{b}";
    expect_default(&bp, "a{{b}}:{_id}");
}

static void test_escape(void **state)
{
    (void)state;
    char *e = sl_template_escape("a{b}c{{");
    assert_string_equal(e, "a{{b}}c{{{{");
    free(e);
    e = sl_template_escape("");
    assert_string_equal(e, "");
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),       cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_bind),        cmocka_unit_test(test_render),
        cmocka_unit_test(test_default_key), cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
