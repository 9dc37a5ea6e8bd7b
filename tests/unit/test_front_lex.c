/*
 * test_front_lex.c - the SQL lexer (queries/lex.c) and the front end's small helpers
 * (queries/util.c): token kinds, values, positions in code points, comments, escapes,
 * lexical errors and where they point, the statement end a file supplies, expression text
 * folding, intervals, durations and suggestions. Expected values are written by hand from
 * SQL.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queries/front_int.h"

/* Lexes text as one file into a fresh front; the caller calls done(). */
struct lexed {
    struct sl__front fr;
    struct sl_diags d;
};

static void lex(struct lexed *lx, const char *text, size_t len)
{
    memset(lx, 0, sizeof(*lx));
    lx->fr.d = &lx->d;
    lx->fr.files = calloc(1, sizeof(*lx->fr.files));
    lx->fr.files[0].name = strdup("t.sql");
    lx->fr.files[0].text = malloc(len + 1);
    memcpy(lx->fr.files[0].text, text, len);
    lx->fr.files[0].text[len] = '\0';
    lx->fr.files[0].len = len;
    lx->fr.nfiles = 1;
    sl__lex_file(&lx->fr, 0);
    sl__lex_finish(&lx->fr);
}

static void lex_str(struct lexed *lx, const char *text)
{
    lex(lx, text, strlen(text));
}

static void done(struct lexed *lx)
{
    for (int i = 0; i < lx->fr.ntoks; i++) {
        free(lx->fr.toks[i].val);
    }
    free(lx->fr.toks);
    free(lx->fr.files[0].name);
    free(lx->fr.files[0].text);
    free(lx->fr.files);
    free(lx->fr.dkeys);
    sl_diags_fini(&lx->d);
}

static const struct sl__tok *tok(struct lexed *lx, int i)
{
    assert_true(i < lx->fr.ntoks);
    return &lx->fr.toks[i];
}

static void test_statement_tokens(void **state)
{
    (void)state;
    struct lexed lx;
    lex_str(&lx, "SELECT a, 'x' FROM s;");
    static const int kinds[] = {SL_TOK_IDENT, SL_TOK_IDENT, SL_TOK_COMMA, SL_TOK_STRING,
                                SL_TOK_IDENT, SL_TOK_IDENT, SL_TOK_SEMI,  SL_TOK_EOF};
    static const int cols[] = {1, 8, 9, 11, 15, 20, 21, 22};
    assert_int_equal(lx.fr.ntoks, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(tok(&lx, i)->kind, kinds[i]);
        assert_int_equal(tok(&lx, i)->line, 1);
        assert_int_equal(tok(&lx, i)->col, cols[i]);
    }
    assert_string_equal(tok(&lx, 0)->val, "SELECT");
    assert_string_equal(tok(&lx, 3)->val, "x");
    assert_int_equal(tok(&lx, 3)->off, 10);
    assert_int_equal(tok(&lx, 3)->len, 3);
    assert_int_equal(lx.d.n, 0);
    done(&lx);
}

static void test_comments_and_lines(void **state)
{
    (void)state;
    struct lexed lx;
    lex_str(&lx, "-- a comment 'not a string'\n/* block\n * over lines */ a\n  b -- end\n");
    /* a, b, the statement end the file supplies, EOF */
    assert_int_equal(lx.fr.ntoks, 4);
    assert_string_equal(tok(&lx, 0)->val, "a");
    assert_int_equal(tok(&lx, 0)->line, 3);
    assert_int_equal(tok(&lx, 0)->col, 18);
    assert_string_equal(tok(&lx, 1)->val, "b");
    assert_int_equal(tok(&lx, 1)->line, 4);
    assert_int_equal(tok(&lx, 1)->col, 3);
    assert_int_equal(tok(&lx, 2)->kind, SL_TOK_SEMI);
    assert_int_equal(tok(&lx, 2)->len, 0);
    assert_int_equal(tok(&lx, 3)->kind, SL_TOK_EOF);
    assert_int_equal(lx.d.n, 0);
    done(&lx);
}

static void test_no_extra_semicolon(void **state)
{
    (void)state;
    struct lexed lx;
    lex_str(&lx, "a;\n-- only a comment after the last ';'\n");
    assert_int_equal(lx.fr.ntoks, 3);
    assert_int_equal(tok(&lx, 1)->kind, SL_TOK_SEMI);
    assert_int_equal(tok(&lx, 1)->len, 1);
    assert_int_equal(tok(&lx, 2)->kind, SL_TOK_EOF);
    done(&lx);
    lex_str(&lx, "");
    assert_int_equal(lx.fr.ntoks, 1);
    assert_int_equal(tok(&lx, 0)->kind, SL_TOK_EOF);
    done(&lx);
}

static void test_strings_and_identifiers(void **state)
{
    (void)state;
    struct lexed lx;
    lex_str(&lx, "'it''s' '' \"Quoted \"\"id\"\"\" '--x' '/*y*/' MiXeD _a1$b");
    assert_int_equal(tok(&lx, 0)->kind, SL_TOK_STRING);
    assert_string_equal(tok(&lx, 0)->val, "it's");
    assert_int_equal(tok(&lx, 0)->vlen, 4);
    assert_string_equal(tok(&lx, 1)->val, "");
    assert_int_equal(tok(&lx, 2)->kind, SL_TOK_QIDENT);
    assert_string_equal(tok(&lx, 2)->val, "Quoted \"id\"");
    assert_string_equal(tok(&lx, 3)->val, "--x");
    assert_string_equal(tok(&lx, 4)->val, "/*y*/");
    assert_int_equal(tok(&lx, 5)->kind, SL_TOK_IDENT);
    assert_string_equal(tok(&lx, 5)->val, "MiXeD");
    assert_string_equal(tok(&lx, 6)->val, "_a1$b");
    assert_int_equal(lx.d.n, 0);
    done(&lx);
}

static void test_multiline_string(void **state)
{
    (void)state;
    struct lexed lx;
    lex_str(&lx, "'a\nb' c");
    assert_string_equal(tok(&lx, 0)->val, "a\nb");
    assert_int_equal(tok(&lx, 1)->line, 2);
    assert_int_equal(tok(&lx, 1)->col, 4);
    done(&lx);
}

static void test_numbers(void **state)
{
    (void)state;
    struct lexed lx;
    lex_str(&lx, "42 3.5 .5 1e3 2E-2 7. 1e");
    static const int kinds[] = {SL_TOK_INT, SL_TOK_FLOAT, SL_TOK_FLOAT, SL_TOK_FLOAT,
                                SL_TOK_FLOAT, SL_TOK_FLOAT};
    static const char *vals[] = {"42", "3.5", ".5", "1e3", "2E-2", "7."};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(tok(&lx, i)->kind, kinds[i]);
        assert_string_equal(tok(&lx, i)->val, vals[i]);
    }
    /* 1e: a number glued to a word */
    assert_int_equal(tok(&lx, 6)->kind, SL_TOK_ERROR);
    assert_int_equal(lx.d.errors, 1);
    assert_non_null(strstr(lx.d.v[0].msg, "bad number '1e'"));
    done(&lx);
}

static void test_operators(void **state)
{
    (void)state;
    struct lexed lx;
    lex_str(&lx, "( ) , ; . * + - / % || = == <> != < <= > >=");
    static const int kinds[] = {SL_TOK_LP,    SL_TOK_RP,    SL_TOK_COMMA,   SL_TOK_SEMI,
                                SL_TOK_DOT,   SL_TOK_STAR,  SL_TOK_PLUS,    SL_TOK_MINUS,
                                SL_TOK_SLASH, SL_TOK_PERCENT, SL_TOK_CONCAT, SL_TOK_EQ,
                                SL_TOK_EQ,    SL_TOK_NE,    SL_TOK_NE,      SL_TOK_LT,
                                SL_TOK_LE,    SL_TOK_GT,    SL_TOK_GE,      SL_TOK_SEMI,
                                SL_TOK_EOF};
    assert_int_equal(lx.fr.ntoks, (int)SL_ARRAY_LEN(kinds));
    for (size_t i = 0; i < SL_ARRAY_LEN(kinds); i++) {
        assert_int_equal(tok(&lx, (int)i)->kind, kinds[i]);
    }
    assert_int_equal(lx.d.n, 0);
    done(&lx);
}

static void test_columns_count_code_points(void **state)
{
    (void)state;
    struct lexed lx;
    /* 'é' is 2 bytes, '€' 3: columns count them as one each */
    lex_str(&lx, "'é€' x\n\té y");
    assert_int_equal(tok(&lx, 1)->col, 6);
    assert_int_equal(tok(&lx, 1)->off, 8);
    /* a tab is one column; identifiers may hold UTF-8 */
    assert_string_equal(tok(&lx, 2)->val, "é");
    assert_int_equal(tok(&lx, 2)->col, 2);
    assert_int_equal(tok(&lx, 3)->col, 4);
    int line, col;
    sl__pos_of(lx.fr.files[0].text, 8, &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 6);
    done(&lx);
}

static void test_errors_point_at_their_start(void **state)
{
    (void)state;
    struct lexed lx;
    lex_str(&lx, "a # b\n  'open\nmore");
    assert_int_equal(lx.d.errors, 2);
    assert_string_equal(lx.d.v[0].msg, "unexpected character '#'");
    assert_int_equal(lx.d.v[0].line, 1);
    assert_int_equal(lx.d.v[0].col, 3);
    assert_string_equal(lx.d.v[0].src_line, "a # b");
    assert_string_equal(lx.d.v[1].msg, "unterminated string: close it with '");
    assert_int_equal(lx.d.v[1].line, 2);
    assert_int_equal(lx.d.v[1].col, 3);
    assert_string_equal(lx.d.v[1].file, "t.sql");
    assert_int_equal(tok(&lx, 1)->kind, SL_TOK_ERROR);
    done(&lx);
}

static void test_other_errors(void **state)
{
    (void)state;
    struct lexed lx;
    lex_str(&lx, "/* never closed");
    assert_int_equal(lx.d.errors, 1);
    assert_string_equal(lx.d.v[0].msg, "unterminated comment: close it with */");
    done(&lx);
    lex_str(&lx, "x = ${A} \"\" \"unclosed");
    assert_int_equal(lx.d.errors, 3);
    assert_string_equal(lx.d.v[0].msg,
                        "unexpected '$': ${…} is substituted only inside 'strings'");
    assert_int_equal(lx.d.v[0].col, 5);
    assert_string_equal(lx.d.v[1].msg, "empty quoted identifier");
    assert_string_equal(lx.d.v[2].msg, "unterminated quoted identifier: close it with \"");
    done(&lx);
}

static void test_nul_and_control_bytes(void **state)
{
    (void)state;
    struct lexed lx;
    lex(&lx, "a\0b\x01", 4);
    assert_int_equal(lx.d.errors, 2);
    assert_string_equal(lx.d.v[0].msg, "unexpected character (byte 0x00)");
    assert_string_equal(lx.d.v[1].msg, "unexpected character (byte 0x01)");
    assert_string_equal(tok(&lx, 0)->val, "a");
    assert_string_equal(tok(&lx, 2)->val, "b");
    done(&lx);
}

static void test_long_identifier(void **state)
{
    (void)state;
    char buf[400];
    memset(buf, 'x', 300);
    buf[300] = '\0';
    struct lexed lx;
    lex_str(&lx, buf);
    assert_int_equal(lx.d.errors, 1);
    assert_string_equal(lx.d.v[0].msg, "identifier longer than 256 bytes");
    done(&lx);
}

static void test_token_text_folds_space(void **state)
{
    (void)state;
    struct lexed lx;
    lex_str(&lx, "MAX( temp\n   *  2 ) /* c */ + 'a  b'");
    char *t = sl__tok_text(&lx.fr, 0, lx.fr.ntoks - 3);
    assert_string_equal(t, "MAX( temp * 2 ) + 'a  b'");
    free(t);
    t = sl__tok_text(&lx.fr, 0, 2);
    assert_string_equal(t, "MAX( temp");
    free(t);
    done(&lx);
}

static void test_intervals(void **state)
{
    (void)state;
    struct sl_err err = {{0}};
    int64_t ms = 0;
    assert_int_equal(sl__interval_ms("10", "SECOND", &ms, &err), 0);
    assert_int_equal(ms, 10000);
    assert_int_equal(sl__interval_ms("500", "millisecond", &ms, &err), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(sl__interval_ms("1", "MINUTES", &ms, &err), 0);
    assert_int_equal(ms, 60000);
    assert_int_equal(sl__interval_ms("2", "hour", &ms, &err), 0);
    assert_int_equal(ms, 7200000);
    assert_int_equal(sl__interval_ms("1", "DAY", &ms, &err), 0);
    assert_int_equal(ms, 86400000);
    assert_int_equal(sl__interval_ms("1.5", "SECOND", &ms, &err), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(sl__interval_ms("-5", "SECOND", &ms, &err), 0);
    assert_int_equal(ms, -5000);
    assert_int_equal(sl__interval_ms(" 3 ", "SECOND", &ms, &err), 0);
    assert_int_equal(ms, 3000);
    /* the short form goes through the option parser's durations */
    assert_int_equal(sl__interval_ms("10s", NULL, &ms, &err), 0);
    assert_int_equal(ms, 10000);
    assert_int_equal(sl__interval_ms("500ms", NULL, &ms, &err), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(sl__interval_ms("1d", NULL, &ms, &err), 0);
    assert_int_equal(ms, 86400000);
    /* errors */
    assert_true(sl__interval_ms("1.0001", "SECOND", &ms, &err) < 0);
    assert_string_equal(err.msg, "interval '1.0001' SECOND is not a whole number of "
                                 "milliseconds");
    assert_true(sl__interval_ms("99999999999999999999", "DAY", &ms, &err) < 0);
    assert_string_equal(err.msg, "interval '99999999999999999999' DAY is out of range");
    assert_true(sl__interval_ms("9999999999999", "DAY", &ms, &err) < 0);
    assert_true(sl__interval_ms("ten", "SECOND", &ms, &err) < 0);
    assert_string_equal(err.msg, "bad interval 'ten': expected a number, like INTERVAL '10' "
                                 "SECOND");
    assert_true(sl__interval_ms("", "SECOND", &ms, &err) < 0);
    assert_true(sl__interval_ms("1", "WEEK", &ms, &err) < 0);
    assert_true(sl__interval_ms("10 sec", NULL, &ms, &err) < 0);
}

static void test_durations_out(void **state)
{
    (void)state;
    char b[32];
    static const struct {
        int64_t ms;
        const char *s;
    } cases[] = {{0, "0s"},       {500, "500ms"},    {1000, "1s"},  {90000, "90s"},
                 {60000, "1m"},   {3600000, "1h"},   {5400000, "90m"},
                 {86400000, "1d"}, {1500, "1500ms"}, {-5000, "-5s"}};
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl__fmt_dur(cases[i].ms, b, sizeof(b));
        assert_string_equal(b, cases[i].s);
    }
}

static void test_suggestions(void **state)
{
    (void)state;
    static const char *const cols[] = {"device", "temperature", "temp", "humidity", "ts"};
    int n = (int)SL_ARRAY_LEN(cols);
    assert_string_equal(sl__suggest("temprature", cols, n), "temperature");
    assert_string_equal(sl__suggest("DEVICE", cols, n), "device");
    assert_string_equal(sl__suggest("devcie", cols, n), "device");
    assert_string_equal(sl__suggest("tss", cols, n), "ts");
    assert_null(sl__suggest("pressure", cols, n));
    assert_null(sl__suggest("x", cols, n));
    /* no close spelling: a candidate that begins the word, or that the word begins */
    static const char *const short_cols[] = {"temp", "humidity"};
    assert_string_equal(sl__suggest("temprature", short_cols, 2), "temp");
    assert_string_equal(sl__suggest("hum", short_cols, 2), "humidity");
}

static void test_type_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint8_t type;
    } cases[] = {{"BOOLEAN", SL_TYPE_BOOLEAN}, {"bigint", SL_TYPE_BIGINT},
                 {"Int", SL_TYPE_BIGINT},       {"DOUBLE", SL_TYPE_DOUBLE},
                 {"float", SL_TYPE_DOUBLE},     {"REAL", SL_TYPE_DOUBLE},
                 {"text", SL_TYPE_TEXT},        {"VARCHAR", SL_TYPE_TEXT},
                 {"string", SL_TYPE_TEXT},      {"TIMESTAMP", SL_TYPE_TIMESTAMP}};
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        uint8_t t = 0;
        assert_int_equal(sl__type_from_name(cases[i].name, &t), 0);
        assert_int_equal(t, cases[i].type);
    }
    uint8_t t;
    assert_true(sl__type_from_name("INTERVAL", &t) < 0);
    assert_true(sl__type_from_name("DUBLE", &t) < 0);
}


/* A file full of errors: all are counted, the first 1000 kept, the printout says so. */
static void test_diagnostics_capped(void **state)
{
    (void)state;
    char *q = malloc(3 * 1500 + 1);
    for (int i = 0; i < 1500; i++) {
        memcpy(q + 3 * i, "x;\n", 3);
    }
    q[3 * 1500] = '\0';
    struct sl_diags d = {0};
    struct sl_catalog *cat = NULL;
    assert_true(sl_front_load_text("m.sql", q, strlen(q), &cat, &d) < 0);
    assert_int_equal(d.errors, 1500);
    assert_int_equal(d.n, 1000);
    assert_int_equal(d.v[999].line, 1000);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    sl_diags_print(&d, f);
    fclose(f);
    const char *last = "sluice: 500 more diagnostics not shown\n";
    assert_true(len > strlen(last));
    assert_string_equal(out + len - strlen(last), last);
    free(out);
    free(q);
    sl_diags_fini(&d);
}

/* Lines longer than 160 code points are shown as a window around the column. */
static void test_long_line_window(void **state)
{
    (void)state;
    struct sl_diags d = {0};
    struct sl_diag g = {.level = SL_DIAG_ERROR, .line = 1, .col = 201};
    char line[401];
    for (int i = 0; i < 400; i++) {
        line[i] = (char)('a' + i % 26);
    }
    line[400] = '\0';
    g.file = "l.sql";
    g.msg = "m";
    g.src_line = line;
    d.v = &g;
    d.n = 1;
    d.errors = 1;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    sl_diags_print(&d, f);
    fclose(f);
    /* code points 120..279 (0-based) are shown: 80 before column 201, 80 from it */
    char want[1024];
    snprintf(want, sizeof(want), "l.sql:1:201: error: m\n    …%.160s…\n    %*s^\n", line + 120,
             81, "");
    assert_string_equal(out, want);
    free(out);
    /* near the start: no cut on the left */
    g.col = 3;
    out = NULL;
    f = open_memstream(&out, &len);
    sl_diags_print(&d, f);
    fclose(f);
    snprintf(want, sizeof(want), "l.sql:1:3: error: m\n    %.160s…\n      ^\n", line);
    assert_string_equal(out, want);
    free(out);
    /* a tab before the column is copied into the caret line */
    g.src_line = "\tab";
    g.col = 3;
    out = NULL;
    f = open_memstream(&out, &len);
    sl_diags_print(&d, f);
    fclose(f);
    assert_string_equal(out, "l.sql:1:3: error: m\n    \tab\n    \t ^\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statement_tokens),
        cmocka_unit_test(test_comments_and_lines),
        cmocka_unit_test(test_no_extra_semicolon),
        cmocka_unit_test(test_strings_and_identifiers),
        cmocka_unit_test(test_multiline_string),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_columns_count_code_points),
        cmocka_unit_test(test_errors_point_at_their_start),
        cmocka_unit_test(test_other_errors),
        cmocka_unit_test(test_nul_and_control_bytes),
        cmocka_unit_test(test_long_identifier),
        cmocka_unit_test(test_token_text_folds_space),
        cmocka_unit_test(test_intervals),
        cmocka_unit_test(test_durations_out),
        cmocka_unit_test(test_suggestions),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_diagnostics_capped),
        cmocka_unit_test(test_long_line_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
