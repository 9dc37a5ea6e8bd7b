/*
 * test_front_subst.c - string literal values (queries/subst.c): '' unescaping and the
 * ${NAME}, ${NAME:-default}, ${file:/path} and $${ forms of SQL.md, their errors and where
 * the errors point. Expected values are written by hand from SQL.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "queries/front_int.h"

struct res {
    int r;
    char *val;
    size_t len;
    unsigned flags;
    size_t at;
    struct sl_err err;
};

static struct res run(const char *raw)
{
    struct res x = {0};
    x.r = sl__string_value(raw, strlen(raw), &x.val, &x.len, &x.flags, &x.err, &x.at);
    return x;
}

static void ok(const char *raw, const char *want, unsigned flags)
{
    struct res x = run(raw);
    assert_int_equal(x.r, 0);
    assert_string_equal(x.val, want);
    assert_int_equal(x.len, strlen(want));
    assert_int_equal(x.flags, flags);
    free(x.val);
}

static void bad(const char *raw, size_t at, const char *msg)
{
    struct res x = run(raw);
    assert_true(x.r < 0);
    assert_null(x.val);
    assert_int_equal(x.at, at);
    assert_string_equal(x.err.msg, msg);
}

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sl_subst_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    setenv("SL_T_SET", "value", 1);
    setenv("SL_T_EMPTY", "", 1);
    setenv("SL_T_QUOTE", "it's", 1);
    unsetenv("SL_T_UNSET");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *content, size_t len)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    fclose(f);
    return path;
}

static void test_plain_and_quotes(void **state)
{
    (void)state;
    ok("", "", 0);
    ok("abc", "abc", 0);
    ok("it''s", "it's", 0);
    ok("''''", "''", 0);
    ok("a $ b {x} $x", "a $ b {x} $x", 0); /* only ${ is special */
    ok("key:{site}:{device}", "key:{site}:{device}", 0);
}

static void test_env(void **state)
{
    (void)state;
    ok("${SL_T_SET}", "value", 0);
    ok("a-${SL_T_SET}-b", "a-value-b", 0);
    ok("${SL_T_SET}${SL_T_SET}", "valuevalue", 0);
    ok("${SL_T_EMPTY}", "", 0);
    /* a value is inserted as is: its quote is not SQL syntax */
    ok("${SL_T_QUOTE}", "it's", 0);
    ok("x''${SL_T_SET}''y", "x'value'y", 0);
}

static void test_defaults(void **state)
{
    (void)state;
    ok("${SL_T_UNSET:-fallback}", "fallback", 0);
    ok("${SL_T_EMPTY:-fallback}", "fallback", 0); /* as the shell: empty takes the default */
    ok("${SL_T_SET:-fallback}", "value", 0);
    ok("${SL_T_UNSET:-}", "", 0);
    ok("${SL_T_UNSET:-it''s}", "it's", 0);
    ok("${SL_T_UNSET:-a:b-c}", "a:b-c", 0);
    ok("${SL_T_UNSET:-mqtt://h:1883}/x", "mqtt://h:1883/x", 0);
}

static void test_escape(void **state)
{
    (void)state;
    ok("$${SL_T_SET}", "${SL_T_SET}", 0);
    ok("a$${b", "a${b", 0);
    ok("$$${SL_T_SET}", "$${SL_T_SET}", 0); /* the leftmost $${ is the escape */
}

static void test_env_errors(void **state)
{
    (void)state;
    bad("ab${SL_T_UNSET}", 2,
        "environment variable 'SL_T_UNSET' is not set (set it, or give a default: "
        "${SL_T_UNSET:-default})");
    bad("${SL_T_SET:x}", 0, "expected ${SL_T_SET} or ${SL_T_SET:-default}; ':' must be "
                            "followed by '-'");
    bad("x ${}", 2, "empty variable name in ${}: write ${NAME}, ${NAME:-default} or "
                    "${file:/path}");
    bad("${9lives}", 0, "bad variable name '9lives' in ${…}: a name is letters, digits and '_', "
                        "not starting with a digit");
    bad("${a b}", 0, "bad variable name 'a b' in ${…}: a name is letters, digits and '_', not "
                     "starting with a digit");
    bad("ok ${SL_T_SET", 3, "unterminated ${ in string: close it with '}'");
    bad("${SL_T_SET} ${SL_T_UNSET}", 12,
        "environment variable 'SL_T_UNSET' is not set (set it, or give a default: "
        "${SL_T_UNSET:-default})");
}

static void test_files(void **state)
{
    (void)state;
    char raw[256];
    const char *p = write_file("nl", "hunter2\n", 8);
    snprintf(raw, sizeof(raw), "${file:%s}", p);
    ok(raw, "hunter2", SL_TOKF_SECRET);
    p = write_file("crlf", "hunter2\r\n", 9);
    snprintf(raw, sizeof(raw), "${file:%s}", p);
    ok(raw, "hunter2", SL_TOKF_SECRET);
    p = write_file("none", "hunter2", 7);
    snprintf(raw, sizeof(raw), "pw=${file:%s};", p);
    ok(raw, "pw=hunter2;", SL_TOKF_SECRET);
    /* only one trailing newline goes */
    p = write_file("two", "a\n\n", 3);
    snprintf(raw, sizeof(raw), "${file:%s}", p);
    ok(raw, "a\n", SL_TOKF_SECRET);
    p = write_file("empty", "", 0);
    snprintf(raw, sizeof(raw), "${file:%s}", p);
    ok(raw, "", SL_TOKF_SECRET);
    /* mixed with an environment variable */
    p = write_file("u", "secret", 6);
    snprintf(raw, sizeof(raw), "redis://${SL_T_SET}:${file:%s}@h", p);
    ok(raw, "redis://value:secret@h", SL_TOKF_SECRET);
}

static void test_file_errors(void **state)
{
    (void)state;
    char raw[256], msg[512];
    snprintf(raw, sizeof(raw), "x${file:%s/missing}", tmpdir);
    snprintf(msg, sizeof(msg),
             "cannot read secret file '%s/missing' named by ${file:%s/missing}: No such file "
             "or directory",
             tmpdir, tmpdir);
    bad(raw, 1, msg);
    bad("${file:}", 0, "${file:} needs a path, like ${file:/run/secrets/x}");
    const char *p = write_file("nul", "a\0b", 3);
    snprintf(raw, sizeof(raw), "${file:%s}", p);
    snprintf(msg, sizeof(msg), "secret file '%s' contains a NUL byte", p);
    bad(raw, 0, msg);
    /* only a regular file: a directory, a FIFO (which would block) or a device is refused */
    snprintf(raw, sizeof(raw), "${file:%s}", tmpdir);
    snprintf(msg, sizeof(msg),
             "cannot read secret file '%s' named by ${file:%s}: not a regular file", tmpdir,
             tmpdir);
    bad(raw, 0, msg);
    char fifo[128];
    snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(raw, sizeof(raw), "${file:%s}", fifo);
    snprintf(msg, sizeof(msg),
             "cannot read secret file '%s' named by ${file:%s}: not a regular file", fifo, fifo);
    bad(raw, 0, msg);
    bad("${file:/dev/null}", 0, "cannot read secret file '/dev/null' named by "
                                "${file:/dev/null}: not a regular file");
}

static void test_big_file(void **state)
{
    (void)state;
    size_t n = SL__MAX_SECRET_BYTES + 10;
    char *big = malloc(n);
    memset(big, 'x', n);
    const char *p = write_file("big", big, n);
    free(big);
    char raw[256], msg[512];
    snprintf(raw, sizeof(raw), "${file:%s}", p);
    snprintf(msg, sizeof(msg), "secret file '%s' is larger than %u bytes", p,
             SL__MAX_SECRET_BYTES);
    bad(raw, 0, msg);
}

/* Through the whole front end: an error names the variable, the file and the line. */
static void test_in_a_load(void **state)
{
    (void)state;
    const char *q = "CREATE SOURCE s (a TEXT) WITH (connector = 'datagen');\n"
                    "CREATE SINK k WITH (connector = 'file',\n"
                    "                    path = 'out/${SL_T_UNSET}.jsonl') AS SELECT a FROM s;\n";
    struct sl_diags d = {0};
    struct sl_catalog *cat = NULL;
    assert_true(sl_front_load_text("q.sql", q, strlen(q), &cat, &d) < 0);
    assert_null(cat);
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.v[0].file, "q.sql");
    assert_int_equal(d.v[0].line, 3);
    assert_int_equal(d.v[0].col, 33);
    assert_non_null(strstr(d.v[0].msg, "'SL_T_UNSET'"));
    sl_diags_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quotes),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_big_file),
        cmocka_unit_test(test_in_a_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
