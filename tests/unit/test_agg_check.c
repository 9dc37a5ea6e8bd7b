/*
 * test_agg_check.c - the aggregate registry and check(): every name of SQL.md is found
 * (case-insensitively), result types and state sharing are as documented, and wrong uses are
 * refused with messages a person can act on. Expected messages are written by hand.
 */
#include "agg_harness.h"

static struct sl_agg_sig sig_t(enum sl_type t)
{
    struct sl_agg_sig s;
    memset(&s, 0, sizeof(s));
    s.arg_type = t;
    s.max_distinct = 100000;
    return s;
}

static struct sl_agg_sig sig_p(enum sl_type t, struct sl_value p)
{
    struct sl_agg_sig s = sig_t(t);
    s.nparams = 1;
    s.params[0] = p;
    return s;
}

/* check() must fail with exactly this message. */
static void want_err(const char *name, struct sl_agg_sig sig, const char *msg)
{
    struct sl_err err = {{0}};
    const struct sl_agg_ops *ops = sl_agg_find(name);
    assert_non_null(ops);
    int r = ops->check(&sig, &err);
    assert_true(r < 0);
    assert_string_equal(err.msg, msg);
}

/* check() must pass with this result type; returns the state size. */
static uint32_t want_ok(const char *name, struct sl_agg_sig sig, enum sl_type result)
{
    struct sl_err err = {{0}};
    const struct sl_agg_ops *ops = sl_agg_find(name);
    assert_non_null(ops);
    int r = ops->check(&sig, &err);
    if (r != 0) {
        fail_msg("%s: %s", name, err.msg);
    }
    assert_int_equal(sig.result, result);
    assert_int_equal(sig.state_size % 8, 0);
    assert_true(sig.state_size > 0);
    return sig.state_size;
}

static void test_registry_names(void **unused)
{
    static const char *const names[] = {
        "COUNT",
        "SUM",
        "AVG",
        "MIN",
        "MAX",
        "STDDEV_POP",
        "STDDEV_SAMP",
        "VAR_POP",
        "VAR_SAMP",
        "FIRST_VALUE",
        "LAST_VALUE",
        "COUNT_DISTINCT",
        "PERCENTILE",
        "APPROX_PERCENTILE",
        "APPROX_COUNT_DISTINCT",
        "TOPK",
        "RATE",
    };
    (void)unused;
    int n = 0;
    while (sl_agg_registry[n] != NULL) {
        n++;
    }
    assert_int_equal(n, (int)SL_ARRAY_LEN(names));
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++) {
        const struct sl_agg_ops *ops = sl_agg_find(names[i]);
        assert_non_null(ops);
        assert_string_equal(ops->name, names[i]);
        assert_non_null(ops->check);
        assert_non_null(ops->state_name);
        assert_true(ops->min_args <= ops->max_args);
    }
    assert_ptr_equal(sl_agg_find("sum"), sl_agg_find("SUM"));
    assert_ptr_equal(sl_agg_find("Stddev_Pop"), sl_agg_find("STDDEV_POP"));
    assert_null(sl_agg_find("MEDIAN"));
    assert_null(sl_agg_find(""));
}

static void test_exactness_and_runtime(void **unused)
{
    static const char *const exact[] = {"COUNT",    "SUM",         "AVG",         "MIN",
                                        "MAX",      "STDDEV_POP",  "STDDEV_SAMP", "VAR_POP",
                                        "VAR_SAMP", "FIRST_VALUE", "LAST_VALUE",  "COUNT_DISTINCT"};
    static const char *const sketch[] = {"PERCENTILE", "APPROX_PERCENTILE", "APPROX_COUNT_DISTINCT",
                                         "TOPK", "RATE"};
    (void)unused;
    for (size_t i = 0; i < SL_ARRAY_LEN(exact); i++) {
        const struct sl_agg_ops *ops = sl_agg_find(exact[i]);
        assert_true(ops->exact);
        assert_non_null(ops->init);
        assert_non_null(ops->update);
        assert_non_null(ops->merge);
        assert_non_null(ops->final);
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(sketch); i++) {
        const struct sl_agg_ops *ops = sl_agg_find(sketch[i]);
        assert_false(ops->exact);
        assert_non_null(ops->init);
        assert_non_null(ops->update);
        assert_non_null(ops->merge);
        assert_non_null(ops->final);
    }
}

static void test_state_sharing(void **unused)
{
    (void)unused;
    /* The variance family shares one state, identical in layout whichever comes first. */
    const char *mom[] = {"VAR_POP", "VAR_SAMP", "STDDEV_POP", "STDDEV_SAMP"};
    const struct sl_agg_ops *m0 = sl_agg_find(mom[0]);
    for (int i = 0; i < 4; i++) {
        const struct sl_agg_ops *m = sl_agg_find(mom[i]);
        assert_string_equal(m->state_name, "moments");
        assert_ptr_equal(m->init, m0->init);
        assert_ptr_equal(m->update, m0->update);
        assert_ptr_equal(m->merge, m0->merge);
        assert_ptr_equal(m->fini, m0->fini);
        assert_int_equal(want_ok(mom[i], sig_t(SL_TYPE_DOUBLE), SL_TYPE_DOUBLE),
                         want_ok(mom[0], sig_t(SL_TYPE_DOUBLE), SL_TYPE_DOUBLE));
    }
    /* SUM and AVG share "sum". */
    const struct sl_agg_ops *s = sl_agg_find("SUM"), *a = sl_agg_find("AVG");
    assert_string_equal(s->state_name, a->state_name);
    assert_ptr_equal(s->update, a->update);
    assert_ptr_equal(s->merge, a->merge);
    assert_ptr_equal(s->init, a->init);
    assert_int_equal(want_ok("SUM", sig_t(SL_TYPE_BIGINT), SL_TYPE_BIGINT),
                     want_ok("AVG", sig_t(SL_TYPE_BIGINT), SL_TYPE_DOUBLE));
    /* PERCENTILE states do not depend on q; the alias shares them. */
    const struct sl_agg_ops *p = sl_agg_find("PERCENTILE"), *ap = sl_agg_find("APPROX_PERCENTILE");
    assert_string_equal(p->state_name, "ddsketch");
    assert_string_equal(ap->state_name, "ddsketch");
    assert_int_equal(
        want_ok("PERCENTILE", sig_p(SL_TYPE_DOUBLE, sl_value_double(0.5)), SL_TYPE_DOUBLE),
        want_ok("APPROX_PERCENTILE", sig_p(SL_TYPE_BIGINT, sl_value_double(0.99)), SL_TYPE_DOUBLE));
    /* TOPK's state does not depend on k. */
    assert_int_equal(want_ok("TOPK", sig_p(SL_TYPE_TEXT, sl_value_bigint(1)), SL_TYPE_TEXT),
                     want_ok("TOPK", sig_p(SL_TYPE_TEXT, sl_value_bigint(1000)), SL_TYPE_TEXT));
    /* Different aggregates with their own states do not collide. */
    assert_string_not_equal(sl_agg_find("MIN")->state_name, sl_agg_find("MAX")->state_name);
    assert_string_not_equal(sl_agg_find("FIRST_VALUE")->state_name,
                            sl_agg_find("LAST_VALUE")->state_name);
    assert_string_not_equal(sl_agg_find("COUNT")->state_name, s->state_name);
}

static void test_result_types(void **unused)
{
    (void)unused;
    struct sl_agg_sig star = sig_t(SL_TYPE_NULL);
    star.star = true;
    want_ok("COUNT", star, SL_TYPE_BIGINT);
    want_ok("COUNT", sig_t(SL_TYPE_TEXT), SL_TYPE_BIGINT);
    want_ok("COUNT", sig_t(SL_TYPE_NULL), SL_TYPE_BIGINT); /* COUNT(NULL) is 0 */
    want_ok("SUM", sig_t(SL_TYPE_BIGINT), SL_TYPE_BIGINT);
    want_ok("SUM", sig_t(SL_TYPE_DOUBLE), SL_TYPE_DOUBLE);
    want_ok("AVG", sig_t(SL_TYPE_BIGINT), SL_TYPE_DOUBLE);
    want_ok("AVG", sig_t(SL_TYPE_DOUBLE), SL_TYPE_DOUBLE);
    const enum sl_type vals[] = {SL_TYPE_BIGINT, SL_TYPE_DOUBLE, SL_TYPE_TIMESTAMP, SL_TYPE_TEXT,
                                 SL_TYPE_BOOLEAN};
    for (size_t i = 0; i < SL_ARRAY_LEN(vals); i++) {
        want_ok("MIN", sig_t(vals[i]), vals[i]);
        want_ok("MAX", sig_t(vals[i]), vals[i]);
        want_ok("FIRST_VALUE", sig_t(vals[i]), vals[i]);
        want_ok("LAST_VALUE", sig_t(vals[i]), vals[i]);
        want_ok("COUNT_DISTINCT", sig_t(vals[i]), SL_TYPE_BIGINT);
        want_ok("APPROX_COUNT_DISTINCT", sig_t(vals[i]), SL_TYPE_BIGINT);
        want_ok("TOPK", sig_p(vals[i], sl_value_bigint(10)), SL_TYPE_TEXT);
    }
    want_ok("STDDEV_SAMP", sig_t(SL_TYPE_BIGINT), SL_TYPE_DOUBLE);
    want_ok("VAR_POP", sig_t(SL_TYPE_DOUBLE), SL_TYPE_DOUBLE);
    want_ok("RATE", sig_t(SL_TYPE_BIGINT), SL_TYPE_DOUBLE);
    want_ok("RATE", sig_t(SL_TYPE_DOUBLE), SL_TYPE_DOUBLE);
    want_ok("PERCENTILE", sig_p(SL_TYPE_BIGINT, sl_value_bigint(0)), SL_TYPE_DOUBLE);
    want_ok("PERCENTILE", sig_p(SL_TYPE_BIGINT, sl_value_bigint(1)), SL_TYPE_DOUBLE);
    want_ok("PERCENTILE", sig_p(SL_TYPE_DOUBLE, sl_value_double(0.999)), SL_TYPE_DOUBLE);
    /* TEXT MIN/MAX/FIRST/LAST need room for the owned copy. */
    assert_true(want_ok("MIN", sig_t(SL_TYPE_TEXT), SL_TYPE_TEXT) >= 32);
    assert_int_equal(want_ok("MIN", sig_t(SL_TYPE_BIGINT), SL_TYPE_BIGINT), 16);
    assert_int_equal(want_ok("COUNT", sig_t(SL_TYPE_BIGINT), SL_TYPE_BIGINT), 8);
}

static void test_type_errors(void **unused)
{
    (void)unused;
    want_err("SUM", sig_t(SL_TYPE_TEXT), "SUM needs a number, got TEXT");
    want_err("SUM", sig_t(SL_TYPE_TIMESTAMP), "SUM needs a number, got TIMESTAMP");
    want_err("SUM", sig_t(SL_TYPE_BOOLEAN), "SUM needs a number, got BOOLEAN");
    want_err("SUM", sig_t(SL_TYPE_NULL), "SUM needs a number, got NULL");
    want_err("AVG", sig_t(SL_TYPE_TEXT), "AVG needs a number, got TEXT");
    want_err("VAR_SAMP", sig_t(SL_TYPE_TEXT), "VAR_SAMP needs a number, got TEXT");
    want_err("STDDEV_POP", sig_t(SL_TYPE_BOOLEAN), "STDDEV_POP needs a number, got BOOLEAN");
    want_err("RATE", sig_t(SL_TYPE_TEXT), "RATE needs a number, got TEXT");
    want_err("MIN", sig_t(SL_TYPE_INTERVAL),
             "MIN needs a BIGINT, DOUBLE, TIMESTAMP, TEXT or BOOLEAN value, got INTERVAL");
    want_err("LAST_VALUE", sig_t(SL_TYPE_NULL),
             "LAST_VALUE needs a BIGINT, DOUBLE, TIMESTAMP, TEXT or BOOLEAN value, got NULL");
    want_err("COUNT_DISTINCT", sig_t(SL_TYPE_INTERVAL),
             "COUNT(DISTINCT) needs a BIGINT, DOUBLE, TIMESTAMP, TEXT or BOOLEAN value, got "
             "INTERVAL");
    want_err("PERCENTILE", sig_p(SL_TYPE_TEXT, sl_value_double(0.5)),
             "PERCENTILE needs a number, got TEXT");

    struct sl_agg_sig star = sig_t(SL_TYPE_NULL);
    star.star = true;
    want_err("SUM", star, "SUM(*) is not allowed: only COUNT(*) counts rows");
    want_err("COUNT_DISTINCT", star,
             "COUNT(DISTINCT *) is not allowed: write COUNT(*), or name a column");

    struct sl_agg_sig two = sig_p(SL_TYPE_BIGINT, sl_value_bigint(3));
    want_err("SUM", two, "SUM takes 1 argument, got 2");
    want_err("COUNT", two, "COUNT takes 1 argument, got 2");
}

static void test_param_errors(void **unused)
{
    (void)unused;
    want_err("PERCENTILE", sig_p(SL_TYPE_DOUBLE, sl_value_double(1.5)),
             "PERCENTILE's quantile must be a constant between 0 and 1, got 1.5");
    want_err("PERCENTILE", sig_p(SL_TYPE_DOUBLE, sl_value_double(-0.1)),
             "PERCENTILE's quantile must be a constant between 0 and 1, got -0.1");
    want_err("APPROX_PERCENTILE", sig_p(SL_TYPE_DOUBLE, sl_value_bigint(99)),
             "APPROX_PERCENTILE's quantile must be a constant between 0 and 1, got 99");
    want_err("PERCENTILE", sig_p(SL_TYPE_DOUBLE, sl_value_null(SL_TYPE_DOUBLE)),
             "PERCENTILE's quantile must be a constant between 0 and 1, got NULL");
    want_err("PERCENTILE", sig_p(SL_TYPE_DOUBLE, sl_value_text("half", 4)),
             "PERCENTILE's quantile must be a constant between 0 and 1, got TEXT");
    want_err("PERCENTILE", sig_p(SL_TYPE_DOUBLE, sl_value_double(0.0 / 0.0)),
             "PERCENTILE's quantile must be a constant between 0 and 1, got NaN");
    want_err("PERCENTILE", sig_t(SL_TYPE_DOUBLE),
             "PERCENTILE takes 2 arguments, a value and a quantile: PERCENTILE(x, 0.99), got 1");

    want_err("TOPK", sig_p(SL_TYPE_TEXT, sl_value_bigint(0)),
             "TOPK's k must be a constant integer between 1 and 1000, got 0");
    want_err("TOPK", sig_p(SL_TYPE_TEXT, sl_value_bigint(1001)),
             "TOPK's k must be a constant integer between 1 and 1000, got 1001");
    want_err("TOPK", sig_p(SL_TYPE_TEXT, sl_value_double(2.5)),
             "TOPK's k must be a constant integer between 1 and 1000, got 2.5");
    want_err("TOPK", sig_p(SL_TYPE_TEXT, sl_value_text("ten", 3)),
             "TOPK's k must be a constant integer between 1 and 1000, got TEXT");
    want_err("TOPK", sig_t(SL_TYPE_TEXT),
             "TOPK takes 2 arguments, a value and how many to keep: TOPK(x, 10), got 1");
    want_err("TOPK", sig_p(SL_TYPE_INTERVAL, sl_value_bigint(3)),
             "TOPK needs a BIGINT, DOUBLE, TIMESTAMP, TEXT or BOOLEAN value, got INTERVAL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_names), cmocka_unit_test(test_exactness_and_runtime),
        cmocka_unit_test(test_state_sharing),  cmocka_unit_test(test_result_types),
        cmocka_unit_test(test_type_errors),    cmocka_unit_test(test_param_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
