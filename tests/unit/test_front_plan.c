/*
 * test_front_plan.c - what the planner hands the engine (queries/plan.h, engine/expr.h):
 * row slots of the input and aggregate rows, the CASTs the operand contract needs, the
 * aggregate state layout and its sharing, the window fields, column `used` flags and sink
 * limits. Trees are also evaluated with the real evaluator on rows written by hand, so a tree
 * that breaks the operand contract fails here. Expected values come from plan.h, expr.h and
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

#include "engine/engine.h"
#include "queries/front.h"

static const char *const SRC =
    "CREATE SOURCE t (\n"
    "    s TEXT, n BIGINT, d DOUBLE, b BOOLEAN, unused_col TEXT, ts TIMESTAMP,\n"
    "    WATERMARK FOR ts AS ts - INTERVAL '3' SECOND\n"
    ") WITH (connector = 'datagen');\n";

/* column slots of t */
enum { S, N, D, B, U, TS, NCOLS };

static struct sl_catalog *load(const char *sinks)
{
    char *text = malloc(strlen(SRC) + strlen(sinks) + 1);
    strcpy(text, SRC);
    strcat(text, sinks);
    struct sl_diags d = {0};
    struct sl_catalog *cat = NULL;
    int r = sl_front_load_text("q.sql", text, strlen(text), &cat, &d);
    if (r != 0) {
        sl_diags_print(&d, stderr);
    }
    assert_int_equal(r, 0);
    assert_int_equal(d.errors, 0);
    sl_diags_fini(&d);
    free(text);
    return cat;
}

static const struct sl_expr *out(const struct sl_plan *p, const char *name)
{
    for (int i = 0; i < p->nout; i++) {
        if (strcmp(p->out[i].name, name) == 0) {
            return p->out[i].expr;
        }
    }
    fail_msg("no output column %s", name);
    return NULL;
}

static void assert_col(const struct sl_expr *e, uint32_t slot, enum sl_type type)
{
    assert_int_equal(e->op, SL_EXPR_COL);
    assert_int_equal(e->slot, slot);
    assert_int_equal(e->type, type);
}

static void test_source(void **state)
{
    (void)state;
    struct sl_catalog *cat = load("");
    assert_int_equal(cat->nsources, 1);
    const struct sl_source *src = cat->sources[0];
    assert_string_equal(src->name, "t");
    assert_string_equal(src->conn->name, "datagen");
    assert_int_equal(src->ncols, NCOLS);
    assert_int_equal(src->wm_col, TS);
    assert_int_equal(src->wm_delay_ms, 3000);
    assert_int_equal(src->index, 0);
    assert_string_equal(src->file, "q.sql");
    assert_int_equal(src->line, 1);
    assert_int_equal(src->col, 15);
    assert_int_equal(src->cols[N].type, SL_TYPE_BIGINT);
    assert_int_equal(src->cols[N].line, 2);
    assert_int_equal(src->cols[N].col, 13);
    assert_int_equal(src->cols[S].path->nsegs, 1);
    assert_string_equal(src->cols[S].path->segs[0].key, "s");
    /* no query reads anything but the event time */
    for (int i = 0; i < NCOLS; i++) {
        assert_int_equal(src->cols[i].used, i == TS);
    }
    sl_catalog_free(cat);
}

static void test_per_event_slots_and_casts(void **state)
{
    (void)state;
    struct sl_catalog *cat =
        load("CREATE SINK k WITH (connector = 'stdout') AS\n"
             "SELECT n + d AS nd, INTERVAL '1' HOUR + ts AS later, s || n AS cat,\n"
             "       _topic, _arrival, _id, is_final, d > 1 AS big, n / 2 AS half,\n"
             "       CASE WHEN b THEN n ELSE d END AS c, COALESCE(n, 2.5) AS co\n"
             "FROM t WHERE s IN ('a', 'b') AND n BETWEEN 1 AND d;\n");
    const struct sl_source *src = cat->sources[0];
    const struct sl_plan *p = cat->plans[0];
    assert_int_equal(p->window, SL_WINDOW_NONE);
    assert_int_equal(p->nkeys, 0);
    assert_int_equal(p->naggs, 0);
    assert_int_equal(p->time_slot, TS);
    assert_true(p->uses_arrival);
    assert_false(p->uses_now);
    assert_true(p->uses_id); /* selects _id: row ids are computed for the stdout sink */
    assert_true(sl__plan_row_ids(p));

    /* BIGINT widens to DOUBLE through a CAST */
    const struct sl_expr *e = out(p, "nd");
    assert_int_equal(e->op, SL_EXPR_ADD);
    assert_int_equal(e->type, SL_TYPE_DOUBLE);
    assert_int_equal(e->args[0]->op, SL_EXPR_CAST);
    assert_int_equal(e->args[0]->type, SL_TYPE_DOUBLE);
    assert_col(e->args[0]->args[0], N, SL_TYPE_BIGINT);
    assert_col(e->args[1], D, SL_TYPE_DOUBLE);
    assert_string_equal(e->text, "n + d");

    /* INTERVAL + TIMESTAMP is normalised to TIMESTAMP, INTERVAL */
    e = out(p, "later");
    assert_int_equal(e->op, SL_EXPR_ADD);
    assert_int_equal(e->type, SL_TYPE_TIMESTAMP);
    assert_col(e->args[0], TS, SL_TYPE_TIMESTAMP);
    assert_int_equal(e->args[1]->op, SL_EXPR_CONST);
    assert_int_equal(e->args[1]->type, SL_TYPE_INTERVAL);
    assert_int_equal(e->args[1]->cval.u.i, 3600000);

    /* || casts its non-TEXT operand */
    e = out(p, "cat");
    assert_int_equal(e->op, SL_EXPR_CONCAT);
    assert_col(e->args[0], S, SL_TYPE_TEXT);
    assert_int_equal(e->args[1]->op, SL_EXPR_CAST);
    assert_int_equal(e->args[1]->type, SL_TYPE_TEXT);

    /* pseudo-columns after the declared ones */
    assert_col(out(p, "_topic"), (uint32_t)(NCOLS + SL_PSEUDO_TOPIC), SL_TYPE_TEXT);
    assert_col(out(p, "_arrival"), (uint32_t)(NCOLS + SL_PSEUDO_ARRIVAL), SL_TYPE_TIMESTAMP);
    assert_col(out(p, "_id"), (uint32_t)(NCOLS + SL_PSEUDO_ID), SL_TYPE_TEXT);
    assert_col(out(p, "is_final"), (uint32_t)(NCOLS + SL_PSEUDO_IS_FINAL), SL_TYPE_BOOLEAN);
    assert_int_equal(sl_pseudo_slot(src, SL_PSEUDO_ID), NCOLS + SL_PSEUDO_ID);

    /* a BIGINT constant compared with a DOUBLE is folded to a DOUBLE constant */
    e = out(p, "big");
    assert_int_equal(e->op, SL_EXPR_GT);
    assert_int_equal(e->args[1]->op, SL_EXPR_CONST);
    assert_int_equal(e->args[1]->type, SL_TYPE_DOUBLE);
    assert_true(e->args[1]->cval.u.d == 1.0);

    e = out(p, "half");
    assert_int_equal(e->type, SL_TYPE_BIGINT);

    e = out(p, "c");
    assert_int_equal(e->op, SL_EXPR_CASE);
    assert_int_equal(e->type, SL_TYPE_DOUBLE);
    assert_true(e->has_else);
    assert_int_equal(e->args[1]->op, SL_EXPR_CAST);

    e = out(p, "co");
    assert_int_equal(e->op, SL_EXPR_CALL);
    assert_int_equal(e->fn, SL_FN_COALESCE);
    assert_int_equal(e->type, SL_TYPE_DOUBLE);

    assert_non_null(p->where);
    assert_int_equal(p->where->op, SL_EXPR_AND);
    assert_string_equal(p->where->text, "s IN ('a', 'b') AND n BETWEEN 1 AND d");
    const struct sl_expr *bt = p->where->args[1];
    assert_int_equal(bt->op, SL_EXPR_BETWEEN);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(bt->args[i]->type, SL_TYPE_DOUBLE);
    }

    /* the columns read are marked for the decoder */
    assert_true(src->cols[S].used && src->cols[N].used && src->cols[D].used);
    assert_true(src->cols[B].used && src->cols[TS].used);
    assert_false(src->cols[U].used);
    sl_catalog_free(cat);
}

static void test_evaluates(void **state)
{
    (void)state;
    struct sl_catalog *cat =
        load("CREATE SINK k WITH (connector = 'stdout') AS\n"
             "SELECT n + d AS nd, s || n AS cat, ts - INTERVAL '1s' AS earlier,\n"
             "       CASE n WHEN 2 THEN 'two' ELSE 'other' END AS word,\n"
             "       REGEXP_MATCH(s, '^de+v$') AS rx\n"
             "FROM t WHERE n > 1 AND s LIKE 'd%';\n");
    const struct sl_plan *p = cat->plans[0];
    struct sl_value row[NCOLS + SL_PSEUDO_N];
    for (size_t i = 0; i < SL_ARRAY_LEN(row); i++) {
        row[i] = sl_value_null(SL_TYPE_TEXT);
    }
    row[S] = sl_value_text("deev", 4);
    row[N] = sl_value_bigint(2);
    row[D] = sl_value_double(0.5);
    row[TS] = sl_value_ts(10000);
    struct sl_eval ev;
    sl_eval_init(&ev, 4096);
    struct sl_value v;
    assert_true(sl_expr_true(p->where, row, &ev));
    sl_expr_eval(out(p, "nd"), row, &ev, &v);
    assert_false(v.null);
    assert_true(v.u.d == 2.5);
    sl_expr_eval(out(p, "cat"), row, &ev, &v);
    assert_int_equal(v.len, 5);
    assert_memory_equal(v.u.s, "deev2", 5);
    sl_expr_eval(out(p, "earlier"), row, &ev, &v);
    assert_int_equal(v.type, SL_TYPE_TIMESTAMP);
    assert_int_equal(v.u.i, 9000);
    sl_expr_eval(out(p, "word"), row, &ev, &v);
    assert_memory_equal(v.u.s, "two", 3);
    /* prepared at load: the pattern is compiled */
    assert_non_null(out(p, "rx")->aux);
    sl_expr_eval(out(p, "rx"), row, &ev, &v);
    assert_false(v.null);
    assert_true(v.u.b);
    row[N] = sl_value_bigint(1);
    assert_false(sl_expr_true(p->where, row, &ev));
    sl_eval_fini(&ev);
    sl_catalog_free(cat);
}

static void test_windowed_slots(void **state)
{
    (void)state;
    struct sl_catalog *cat =
        load("CREATE SINK w WITH (connector = 'stdout', max_groups = '777', "
             "max_distinct = '55') AS\n"
             "SELECT s AS dev, window_start, UPPER(s) AS up, COUNT(*) AS c,\n"
             "       MAX(d) - MIN(d) AS spread, _id, _rev, is_final, count(*) + 1 AS c1,\n"
             "       COUNT(DISTINCT n) AS dn\n"
             "FROM HOP(t, ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE)\n"
             "WHERE b\n"
             "GROUP BY s, n % 2, window_end\n"
             "HAVING MAX(d) > 0 AND COUNT(*) > 1;\n");
    const struct sl_plan *p = cat->plans[0];
    assert_int_equal(p->window, SL_WINDOW_HOP);
    assert_int_equal(p->slide_ms, 10000);
    assert_int_equal(p->size_ms, 60000);
    assert_int_equal(p->time_slot, TS);
    assert_int_equal(p->emit, SL_EMIT_ON_CLOSE);
    assert_int_equal(p->lateness_ms, 0);
    assert_int_equal(p->max_groups, 777);
    assert_int_equal(p->max_distinct, 55);
    /* window_end in GROUP BY adds nothing: rows are per window anyway */
    assert_int_equal(p->nkeys, 2);
    assert_col(p->keys[0], S, SL_TYPE_TEXT);
    assert_int_equal(p->keys[1]->op, SL_EXPR_MOD);
    assert_string_equal(p->key_names[0], "dev");   /* the output that is exactly the key */
    assert_string_equal(p->key_names[1], "n % 2"); /* not selected: its text */
    /* COUNT(*), MAX(d), MIN(d), COUNT(DISTINCT n): count(*) is COUNT(*) again */
    assert_int_equal(p->naggs, 4);
    assert_string_equal(p->aggs[0].text, "COUNT(*)");
    assert_true(p->aggs[0].sig.star);
    assert_null(p->aggs[0].arg);
    assert_int_equal(p->aggs[3].sig.max_distinct, 55);
    assert_col(p->aggs[1].arg, D, SL_TYPE_DOUBLE);
    int nk = p->nkeys, na = p->naggs;
    assert_col(out(p, "dev"), 0, SL_TYPE_TEXT);
    assert_col(out(p, "window_start"), (uint32_t)sl_aggrow_slot(p, SL_AGGROW_WINDOW_START),
               SL_TYPE_TIMESTAMP);
    assert_int_equal(sl_aggrow_slot(p, SL_AGGROW_WINDOW_START), nk + na);
    const struct sl_expr *e = out(p, "up");
    assert_int_equal(e->op, SL_EXPR_CALL);
    assert_col(e->args[0], 0, SL_TYPE_TEXT);
    assert_col(out(p, "c"), (uint32_t)nk, SL_TYPE_BIGINT);
    e = out(p, "spread");
    assert_int_equal(e->op, SL_EXPR_SUB);
    assert_col(e->args[0], (uint32_t)(nk + 1), SL_TYPE_DOUBLE);
    assert_col(e->args[1], (uint32_t)(nk + 2), SL_TYPE_DOUBLE);
    assert_col(out(p, "_id"), (uint32_t)(nk + na + SL_AGGROW_ID), SL_TYPE_TEXT);
    assert_col(out(p, "_rev"), (uint32_t)(nk + na + SL_AGGROW_REV), SL_TYPE_BIGINT);
    assert_col(out(p, "is_final"), (uint32_t)(nk + na + SL_AGGROW_IS_FINAL), SL_TYPE_BOOLEAN);
    e = out(p, "c1");
    assert_int_equal(e->op, SL_EXPR_ADD);
    assert_col(e->args[0], (uint32_t)nk, SL_TYPE_BIGINT);
    assert_string_equal(e->text, "count(*) + 1");
    /* HAVING reads the aggregate row */
    assert_int_equal(p->having->op, SL_EXPR_AND);
    assert_col(p->having->args[0]->args[0], (uint32_t)(nk + 1), SL_TYPE_DOUBLE);
    /* WHERE reads the input row */
    assert_col(p->where, B, SL_TYPE_BOOLEAN);
    sl_catalog_free(cat);
}

static void test_state_layout(void **state)
{
    (void)state;
    struct sl_catalog *cat =
        load("CREATE SINK w WITH (connector = 'stdout') AS\n"
             "SELECT PERCENTILE(d, 0.5) AS p50, APPROX_PERCENTILE(d, 0.99) AS p99,\n"
             "       PERCENTILE(n, 0.5) AS pn, COUNT(*) AS c,\n"
             "       COUNT(*) FILTER (WHERE d > 1) AS cf, SUM(n) AS sn, TOPK(s, 3) AS top\n"
             "FROM TUMBLE(t, ts, INTERVAL '1' MINUTE);\n");
    const struct sl_plan *p = cat->plans[0];
    assert_int_equal(p->nkeys, 0);
    assert_int_equal(p->naggs, 7);
    /* the two quantiles of d share one sketch; of n, another */
    assert_int_equal(p->aggs[0].state, p->aggs[1].state);
    assert_true(p->aggs[2].state != p->aggs[0].state);
    /* a FILTER makes its own state */
    assert_true(p->aggs[4].state != p->aggs[3].state);
    /* a state describes its first aggregate */
    for (int j = 0; j < p->nstates; j++) {
        int first = -1;
        for (int i = 0; i < p->naggs && first < 0; i++) {
            if (p->aggs[i].state == j) {
                first = i;
            }
        }
        assert_true(first >= 0);
        assert_ptr_equal(p->states[j].sig, &p->aggs[first].sig);
        assert_ptr_equal(p->states[j].arg, p->aggs[first].arg);
        assert_ptr_equal(p->states[j].filter, p->aggs[first].filter);
        assert_ptr_equal(p->states[j].ops, p->aggs[first].ops);
    }
    /* laid out one after another, each 8-aligned; the block is their sum */
    uint32_t off = 0;
    for (int j = 0; j < p->nstates; j++) {
        uint32_t size = 0;
        for (int i = 0; i < p->naggs; i++) {
            if (p->aggs[i].state == j && p->aggs[i].sig.state_size > size) {
                size = p->aggs[i].sig.state_size;
            }
        }
        assert_int_equal(p->states[j].offset % 8, 0);
        assert_int_equal(p->states[j].offset, off);
        off += (size + 7) / 8 * 8;
    }
    assert_int_equal(p->state_size, off);
    assert_true(p->state_size > 0);
    /* the result types of SQL.md */
    assert_int_equal(p->aggs[0].sig.result, SL_TYPE_DOUBLE);
    assert_int_equal(p->aggs[3].sig.result, SL_TYPE_BIGINT);
    assert_int_equal(p->aggs[5].sig.result, SL_TYPE_BIGINT);
    assert_int_equal(p->aggs[6].sig.result, SL_TYPE_TEXT);
    assert_int_equal(p->aggs[0].sig.nparams, 1);
    assert_int_equal(p->aggs[0].sig.params[0].type, SL_TYPE_DOUBLE);
    assert_int_equal(p->aggs[6].sig.params[0].type, SL_TYPE_BIGINT);
    assert_int_equal(p->aggs[6].sig.params[0].u.i, 3);
    sl_catalog_free(cat);
}

static void test_window_fields(void **state)
{
    (void)state;
    struct sl_catalog *cat =
        load("CREATE SINK a WITH (connector = 'stdout') AS SELECT COUNT(*) AS c\n"
             "FROM TUMBLE(t, ts, INTERVAL '10s') EMIT EVERY INTERVAL '2' SECOND\n"
             "ALLOWED LATENESS INTERVAL '500ms';\n"
             "CREATE SINK b WITH (connector = 'stdout') AS SELECT COUNT(*) AS c\n"
             "FROM SESSION(t, ts, INTERVAL '5' MINUTE);\n"
             "CREATE SINK c WITH (connector = 'stdout') AS SELECT COUNT(*) AS c\n"
             "FROM SESSION(t, _arrival, INTERVAL '5' SECOND, INTERVAL '2' MINUTE);\n"
             "CREATE SINK d WITH (connector = 'stdout') AS SELECT NOW() AS now FROM t;\n");
    assert_int_equal(cat->nplans, 4);
    const struct sl_plan *a = cat->plans[0], *b = cat->plans[1], *c = cat->plans[2];
    assert_int_equal(a->window, SL_WINDOW_TUMBLE);
    assert_int_equal(a->size_ms, 10000);
    assert_int_equal(a->slide_ms, 10000);
    assert_int_equal(a->emit, SL_EMIT_EVERY);
    assert_int_equal(a->emit_every_ms, 2000);
    assert_int_equal(a->lateness_ms, 500);
    assert_int_equal(a->max_groups, 1000000);
    assert_int_equal(a->max_distinct, 100000);
    assert_int_equal(a->index, 0);
    assert_int_equal(a->line, 5);
    assert_int_equal(a->col, 13);
    assert_int_equal(b->window, SL_WINDOW_SESSION);
    assert_int_equal(b->gap_ms, 300000);
    assert_int_equal(b->max_duration_ms, 3600000);
    assert_false(b->uses_arrival);
    assert_int_equal(c->max_duration_ms, 120000);
    assert_int_equal(c->time_slot, NCOLS + SL_PSEUDO_ARRIVAL);
    assert_true(c->uses_arrival);
    assert_true(cat->plans[3]->uses_now);
    for (int i = 0; i < 4; i++) {
        assert_false(cat->plans[i]->uses_id); /* no _id: stdout rows get no row id */
        assert_false(sl__plan_row_ids(cat->plans[i]));
    }
    assert_int_equal(cat->plans[3]->index, 3);
    for (int i = 0; i < 4; i++) {
        assert_ptr_equal(cat->plans[i]->src, cat->sources[0]);
        assert_string_equal(cat->plans[i]->sink_conn->name, "stdout");
    }
    sl_catalog_free(cat);
}

/* Row ids (a SHA-256 per row) are computed for a Redis sink only where it reads them: a key
 * template naming {_id} (a per-event query's default key does) or a stream. */
static void test_redis_row_ids(void **state)
{
    (void)state;
    static const struct {
        const char *with, *select;
        bool ids;
    } cases[] = {
        {"type = 'publish', key = 'ch'", "SELECT s, n FROM t", false},
        {"type = 'publish', key = 'ch:{_id}'", "SELECT s, n FROM t", true},
        {"type = 'hash'", "SELECT s, n FROM t", true}, /* default key <sink>:{_id} */
        {"type = 'hash', key = 'k:{s}'", "SELECT s, n FROM t", false},
        {"type = 'string', key = 'k:{s}', latest_key = 'l:{_ID}'",
         "SELECT s, COUNT(*) AS c FROM TUMBLE(t, ts, INTERVAL '1' MINUTE) GROUP BY s", true},
        {"type = 'hash'",
         "SELECT s, COUNT(*) AS c FROM TUMBLE(t, ts, INTERVAL '1' MINUTE) GROUP BY s", false},
        {"type = 'stream', key = 'x'", "SELECT s, n FROM t", true},
        {"type = 'publish', key = 'ch'", "SELECT s, _id FROM t", true}, /* selects _id */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text),
                 "CREATE SINK r WITH (connector = 'redis', url = 'redis://127.0.0.1:1/0', %s) AS "
                 "%s;\n",
                 cases[i].with, cases[i].select);
        struct sl_catalog *cat = load(text);
        if (sl__plan_row_ids(cat->plans[0]) != cases[i].ids) {
            fail_msg("case %zu (%s): row ids %d, expected %d", i, cases[i].with, !cases[i].ids,
                     cases[i].ids);
        }
        sl_catalog_free(cat);
    }
}

/* Several loads in a row, and a failing load leaves nothing behind (ASan checks leaks). */
static void test_errors_free_everything(void **state)
{
    (void)state;
    const char *q = "CREATE SOURCE x (a TEXT) WITH (connector = 'datagen');\n"
                    "CREATE SINK y WITH (connector = 'stdout') AS\n"
                    "SELECT a, COUNT(*), MAX(a) FILTER (WHERE a > 1) FROM TUMBLE(x, _arrival,\n"
                    "INTERVAL '1' SECOND) GROUP BY a HAVING nope;\n"
                    "CREATE SINK z WITH (connector = 'stdout') AS SELECT a, PERCENTILE(a, 2)\n"
                    "FROM x;\n";
    for (int i = 0; i < 3; i++) {
        struct sl_diags d = {0};
        struct sl_catalog *cat = NULL;
        assert_true(sl_front_load_text("q.sql", q, strlen(q), &cat, &d) < 0);
        assert_null(cat);
        assert_true(d.errors >= 3);
        sl_diags_fini(&d);
    }
    sl_catalog_free(NULL);
    sl_diags_fini(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source),        cmocka_unit_test(test_per_event_slots_and_casts),
        cmocka_unit_test(test_evaluates),     cmocka_unit_test(test_windowed_slots),
        cmocka_unit_test(test_state_layout),  cmocka_unit_test(test_window_fields),
        cmocka_unit_test(test_redis_row_ids), cmocka_unit_test(test_errors_free_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
