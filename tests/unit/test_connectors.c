/*
 * test_connectors.c - the connector registry, the soundness of every option table, and each
 * connector's load-time cross-checks, run on hand-built struct sl_source / struct sl_plan.
 * Expected messages are written by hand from SQL.md and the task's message forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "engine/connector.h"
#include "engine/options.h"
#include "queries/plan.h"

#define MAXMSG 16

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

static void print_got(const struct got *g)
{
    for (int i = 0; i < g->n; i++) {
        fprintf(stderr, "  [%d] %s\n", g->index[i], g->msg[i]);
    }
}

#define IN(n, v)                                                                                   \
    {                                                                                              \
        .name = (n), .value = (v), .line = 1, .col = 1                                             \
    }
#define NIN(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Parses options of a source of connector name; parsing must succeed. */
static void make_source(struct sl_source *src, const char *name, const struct sl_opt_input *in,
                        int nin)
{
    memset(src, 0, sizeof(*src));
    src->name = "telemetry";
    src->conn = sl_connector_find(name);
    assert_non_null(src->conn);
    const struct sl_option_def *const tables[] = {src->conn->source_options,
                                                  sl_source_common_options, NULL};
    struct got g = {0};
    int r = sl_options_parse(tables, name, in, nin, &src->opts, collect, &g);
    if (r != 0) {
        print_got(&g);
    }
    assert_int_equal(r, 0);
}

/* Runs check_source; returns the number of errors and fills g. */
static int check_source(struct sl_source *src, struct got *g)
{
    memset(g, 0, sizeof(*g));
    int errors = src->conn->check_source(src, collect, g);
    sl_options_fini(&src->opts);
    return errors;
}

static void make_sink(struct sl_plan *plan, const char *name, const struct sl_opt_input *in,
                      int nin)
{
    plan->sink_conn = sl_connector_find(name);
    assert_non_null(plan->sink_conn);
    const struct sl_option_def *const tables[] = {plan->sink_conn->sink_options,
                                                  sl_sink_common_options, NULL};
    struct got g = {0};
    int r = sl_options_parse(tables, name, in, nin, &plan->sink_opts, collect, &g);
    if (r != 0) {
        print_got(&g);
    }
    assert_int_equal(r, 0);
}

static int check_sink(struct sl_plan *plan, struct got *g)
{
    memset(g, 0, sizeof(*g));
    int errors = plan->sink_conn->check_sink(plan, collect, g);
    sl_options_fini(&plan->sink_opts);
    return errors;
}

/* One source check with one expected message (or none when msg is NULL). */
static void src_case(const char *conn, const struct sl_opt_input *in, int nin, int want_index,
                     const char *msg)
{
    struct sl_source src;
    struct got g;
    make_source(&src, conn, in, nin);
    int errors = check_source(&src, &g);
    if ((msg == NULL && g.n != 0) || (msg != NULL && g.n != 1)) {
        print_got(&g);
    }
    if (msg == NULL) {
        assert_int_equal(errors, 0);
        assert_int_equal(g.n, 0);
        return;
    }
    assert_int_equal(errors, 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.index[0], want_index);
    assert_string_equal(g.msg[0], msg);
}

/* ---- registry and tables ---------------------------------------------------------------- */

static void test_registry(void **state)
{
    (void)state;
    static const char *const names[] = {"mqtt",  "kafka",  "datagen", "file",
                                        "redis", "lambda", "stdout"};
    int n = 0;
    while (sl_connectors[n] != NULL) {
        n++;
    }
    assert_int_equal(n, 7);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct sl_connector *c = sl_connector_find(names[i]);
        assert_non_null(c);
        assert_string_equal(c->name, names[i]);
        assert_non_null(c->summary);
        /* A connector runs as what its option tables say it is. */
        if (c->source != NULL) {
            assert_non_null(c->source_options);
        }
        if (c->sink != NULL) {
            assert_non_null(c->sink_options);
        }
    }
    /* The connectors that need no infrastructure run today (issue 3). */
    assert_non_null(sl_connector_find("datagen")->source);
    assert_non_null(sl_connector_find("file")->source);
    assert_non_null(sl_connector_find("file")->sink);
    assert_non_null(sl_connector_find("stdout")->sink);
    assert_ptr_equal(sl_connector_find("MQTT"), sl_connector_find("mqtt"));
    assert_null(sl_connector_find("mqtts"));
    assert_null(sl_connector_find(""));
    assert_null(sl_connector_find(NULL));

    /* Which are sources and which sinks (SQL.md's tables). */
    assert_non_null(sl_connector_find("mqtt")->source_options);
    assert_null(sl_connector_find("mqtt")->sink_options);
    assert_non_null(sl_connector_find("kafka")->source_options);
    assert_null(sl_connector_find("kafka")->sink_options);
    assert_non_null(sl_connector_find("datagen")->source_options);
    assert_null(sl_connector_find("datagen")->sink_options);
    assert_non_null(sl_connector_find("file")->source_options);
    assert_non_null(sl_connector_find("file")->sink_options);
    assert_null(sl_connector_find("redis")->source_options);
    assert_non_null(sl_connector_find("redis")->sink_options);
    assert_null(sl_connector_find("lambda")->source_options);
    assert_non_null(sl_connector_find("lambda")->sink_options);
    assert_null(sl_connector_find("stdout")->source_options);
    assert_non_null(sl_connector_find("stdout")->sink_options);
}

/* A plausible value for each required option. */
static const char *required_value(const char *conn, const char *opt)
{
    static const struct {
        const char *conn, *opt, *value;
    } v[] = {
        {"mqtt", "url", "mqtt://broker:1883"},
        {"mqtt", "topic", "factory/+/telemetry"},
        {"kafka", "brokers", "k1:9092,k2:9092"},
        {"kafka", "topic", "events"},
        {"file", "path", "/data/in.jsonl"},
        {"redis", "url", "redis://redis:6379/0"},
        {"lambda", "function", "arn:aws:lambda:eu-west-1:123456789012:function:f"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (strcmp(v[i].conn, conn) == 0 && strcmp(v[i].opt, opt) == 0) {
            return v[i].value;
        }
    }
    fail_msg("no test value for %s.%s", conn, opt);
    return NULL;
}

static void check_table(const struct sl_connector *c, const struct sl_option_def *defs,
                        const struct sl_option_def *common)
{
    struct sl_opt_input in[16];
    int nin = 0;
    for (const struct sl_option_def *d = defs; d->name != NULL; d++) {
        assert_non_null(d->help);
        assert_true(strlen(d->help) > 10);
        assert_false(d->def != NULL && d->doc_default != NULL);
        if (d->type == SL_OPT_ENUM) {
            assert_non_null(d->choices);
        }
        if (d->flags & SL_OPT_REQUIRED) {
            assert_null(d->def);
            assert_true(nin < 16);
            in[nin++] = (struct sl_opt_input){d->name, required_value(c->name, d->name), 1, 1};
        }
        /* No option shadows a common one, and names are unique. */
        for (const struct sl_option_def *e = common; e->name != NULL; e++) {
            assert_true(strcasecmp(d->name, e->name) != 0);
        }
        for (const struct sl_option_def *e = d + 1; e->name != NULL; e++) {
            assert_true(strcasecmp(d->name, e->name) != 0);
        }
    }
    /* Every default parses and lies in its range; the required options suffice. */
    const struct sl_option_def *const tables[] = {defs, common, NULL};
    struct sl_options o = {0};
    struct got g = {0};
    int r = sl_options_parse(tables, c->name, in, nin, &o, collect, &g);
    if (r != 0) {
        print_got(&g);
    }
    assert_int_equal(r, 0);
    for (const struct sl_option_def *d = defs; d->name != NULL; d++) {
        if (d->def != NULL) {
            assert_non_null(sl_options_get(&o, d->name));
        }
    }
    sl_options_fini(&o);
}

static void test_tables(void **state)
{
    (void)state;
    for (int i = 0; sl_connectors[i] != NULL; i++) {
        const struct sl_connector *c = sl_connectors[i];
        if (c->source_options != NULL) {
            check_table(c, c->source_options, sl_source_common_options);
        }
        if (c->sink_options != NULL) {
            check_table(c, c->sink_options, sl_sink_common_options);
        }
    }
}

/* SQL.md's defaults, spot-checked through the parser. */
static void test_defaults(void **state)
{
    (void)state;
    struct sl_source src;
    struct sl_opt_input mq[] = {IN("url", "mqtt://b"), IN("topic", "t")};
    make_source(&src, "mqtt", mq, NIN(mq));
    const struct sl_options *o = &src.opts;
    assert_true(sl_options_int(o, "qos", -1) == 1);
    assert_string_equal(sl_options_str(o, "protocol"), "5");
    assert_true(sl_options_int(o, "session_expiry", -1) == 3600000);
    assert_true(sl_options_int(o, "receive_maximum", -1) == 100);
    assert_string_equal(sl_options_str(o, "retained"), "ignore");
    assert_true(sl_options_int(o, "keepalive", -1) == 30000);
    assert_string_equal(sl_options_str(o, "format"), "json");
    assert_null(sl_options_get(o, "client_id")); /* computed at run time */
    assert_true(sl_options_int(o, "idle_timeout", -1) == 30000);
    sl_options_fini(&src.opts);

    struct sl_opt_input kf[] = {IN("brokers", "k:9092"), IN("topic", "t")};
    make_source(&src, "kafka", kf, NIN(kf));
    assert_string_equal(sl_options_str(&src.opts, "start"), "committed");
    sl_options_fini(&src.opts);

    make_source(&src, "datagen", NULL, 0);
    assert_true(sl_options_int(&src.opts, "rows_per_second", -1) == 1000);
    assert_true(sl_options_int(&src.opts, "keys", -1) == 100);
    assert_true(sl_options_int(&src.opts, "out_of_order", -1) == 0);
    assert_null(sl_options_get(&src.opts, "rows")); /* unbounded */
    sl_options_fini(&src.opts);

    struct sl_opt_input fl[] = {IN("path", "/x")};
    make_source(&src, "file", fl, NIN(fl));
    assert_true(sl_options_int(&src.opts, "follow", -1) == 0);
    sl_options_fini(&src.opts);

    struct sl_plan p = {.name = "s"};
    struct sl_opt_input rd[] = {IN("url", "redis://r:6379/0")};
    make_sink(&p, "redis", rd, NIN(rd));
    assert_string_equal(sl_options_str(&p.sink_opts, "type"), "hash");
    assert_true(sl_options_int(&p.sink_opts, "maxlen", -1) == 100000);
    assert_true(sl_options_int(&p.sink_opts, "pipeline", -1) == 256);
    assert_null(sl_options_get(&p.sink_opts, "ttl"));
    assert_true(sl_options_int(&p.sink_opts, "max_groups", -1) == 1000000);
    sl_options_fini(&p.sink_opts);

    struct sl_opt_input lm[] = {IN("function", "f")};
    make_sink(&p, "lambda", lm, NIN(lm));
    assert_string_equal(sl_options_str(&p.sink_opts, "invocation_type"), "RequestResponse");
    assert_true(sl_options_int(&p.sink_opts, "batch_size", -1) == 100);
    assert_true(sl_options_int(&p.sink_opts, "linger", -1) == 1000);
    assert_true(sl_options_int(&p.sink_opts, "max_in_flight", -1) == 16);
    assert_true(sl_options_int(&p.sink_opts, "retries", -1) == 5);
    assert_true(sl_options_int(&p.sink_opts, "timeout", -1) == 30000);
    assert_null(sl_options_get(&p.sink_opts, "batch_bytes")); /* depends on the type */
    sl_options_fini(&p.sink_opts);

    make_sink(&p, "stdout", NULL, 0);
    assert_string_equal(sl_options_str(&p.sink_opts, "format"), "json");
    sl_options_fini(&p.sink_opts);
}

/* Bad values are caught by the tables themselves. */
static void test_table_ranges(void **state)
{
    (void)state;
    struct sl_opt_input in[] = {
        IN("url", "mqtt://b"), IN("topic", "t"),       IN("receive_maximum", "0"),
        IN("protocol", "4"),   IN("retained", "keep"), IN("keepalive", "1s"),
        IN("qos", "3")};
    const struct sl_option_def *const tables[] = {sl_connector_find("mqtt")->source_options,
                                                  sl_source_common_options, NULL};
    struct sl_options o = {0};
    struct got g = {0};
    assert_int_equal(sl_options_parse(tables, "mqtt", in, NIN(in), &o, collect, &g), 5);
    assert_string_equal(g.msg[0], "option 'receive_maximum' must be between 1 and 65535, got '0'");
    assert_string_equal(g.msg[1], "option 'protocol' must be one of 5|3.1.1, got '4'");
    assert_string_equal(g.msg[2], "option 'retained' must be one of ignore|accept, got 'keep'");
    assert_string_equal(g.msg[3], "option 'keepalive' must be between 5s and 65535s, got '1s'");
    assert_string_equal(g.msg[4], "option 'qos' must be between 0 and 2, got '3'");

    struct sl_opt_input st[] = {IN("format", "csv")};
    const struct sl_option_def *const t2[] = {sl_connector_find("stdout")->sink_options,
                                              sl_sink_common_options, NULL};
    memset(&g, 0, sizeof(g));
    assert_int_equal(sl_options_parse(t2, "stdout", st, 1, &o, collect, &g), 1);
    assert_string_equal(g.msg[0], "option 'format' must be one of json|table, got 'csv'");

    struct sl_opt_input lm[] = {IN("function", "f"), IN("linger", "soon"),
                                IN("batch_bytes", "7MiB")};
    const struct sl_option_def *const t3[] = {sl_connector_find("lambda")->sink_options,
                                              sl_sink_common_options, NULL};
    memset(&g, 0, sizeof(g));
    assert_int_equal(sl_options_parse(t3, "lambda", lm, 3, &o, collect, &g), 2);
    assert_string_equal(g.msg[0],
                        "option 'linger' must be a duration like '500ms', '10s', '5m', got 'soon'");
    assert_string_equal(g.msg[1], "option 'batch_bytes' must be between 1 and 6MiB, got '7MiB'");

    struct sl_opt_input dg[] = {IN("keys", "0"), IN("rows", "-1")};
    const struct sl_option_def *const t4[] = {sl_connector_find("datagen")->source_options,
                                              sl_source_common_options, NULL};
    memset(&g, 0, sizeof(g));
    assert_int_equal(sl_options_parse(t4, "datagen", dg, 2, &o, collect, &g), 2);
    assert_string_equal(g.msg[0], "option 'keys' must be between 1 and 100000000, got '0'");
    assert_string_equal(g.msg[1], "option 'rows' must be at least 0, got '-1'");
}

/* ---- mqtt ------------------------------------------------------------------------------- */

static void test_mqtt(void **state)
{
    (void)state;
    char want[256];

    struct sl_opt_input ok[] = {IN("url", "mqtt://mosquitto:1883"),
                                IN("topic", "factory/+/telemetry, alarms/#"),
                                IN("username", "sluice"), IN("password", "pw")};
    src_case("mqtt", ok, NIN(ok), 0, NULL);

    static const char *const good_urls[] = {"mqtt://h",           "MQTT://h:1",
                                            "mqtts://h:8883",     "mqtt://10.0.0.1:1883/",
                                            "mqtts://[::1]:8883", "mqtt://a-b.c_d"};
    for (size_t i = 0; i < sizeof(good_urls) / sizeof(good_urls[0]); i++) {
        struct sl_opt_input in[] = {IN("url", good_urls[i]), IN("topic", "t")};
        src_case("mqtt", in, 2, 0, NULL);
    }
    static const char *const bad_urls[] = {"http://h",       "mqtt://",       "mqtt://h:0",
                                           "mqtt://h:65536", "mqtt://h/path", "mqtt://h:x",
                                           "h:1883",         "mqtt://[::1",   "mqtt://h h"};
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        struct sl_opt_input in[] = {IN("topic", "t"), IN("url", bad_urls[i])};
        snprintf(want, sizeof(want),
                 "option 'url' must be mqtt://host[:port] or mqtts://host[:port], got '%s'",
                 bad_urls[i]);
        src_case("mqtt", in, 2, 1, want);
    }
    /* Credentials in the URL: refused, and never echoed. */
    struct sl_opt_input cred[] = {IN("url", "mqtt://u:hunter2@h"), IN("topic", "t")};
    src_case("mqtt", cred, 2, 0,
             "option 'url' must not carry credentials: give them as username and password");

    /* QoS. */
    struct sl_opt_input q2[] = {IN("url", "mqtt://h"), IN("topic", "t"), IN("qos", "2")};
    src_case("mqtt", q2, 3, 2,
             "QoS 2 is refused in v1: Sluice's crash safety relies on QoS 1 redelivery; use "
             "qos = '1'");
    struct sl_opt_input q0[] = {IN("url", "mqtt://h"), IN("topic", "t"), IN("qos", "0")};
    src_case("mqtt", q0, 3, 0, NULL);

    /* Shared subscriptions. */
    struct sl_opt_input sg3[] = {IN("url", "mqtt://h"), IN("topic", "t"), IN("protocol", "3.1.1"),
                                 IN("shared_group", "g")};
    src_case("mqtt", sg3, 4, 3,
             "option 'shared_group' needs protocol = '5': shared subscriptions are an MQTT 5 "
             "feature");
    struct sl_opt_input sg5[] = {IN("url", "mqtt://h"), IN("topic", "t"),
                                 IN("shared_group", "workers")};
    src_case("mqtt", sg5, 3, 0, NULL);
    struct sl_opt_input sgbad[] = {IN("url", "mqtt://h"), IN("topic", "t"),
                                   IN("shared_group", "a/b")};
    src_case("mqtt", sgbad, 3, 2,
             "option 'shared_group' must be a group name without '/', '+' or '#', got 'a/b'");

    /* TLS files need mqtts://, and a certificate needs its key. */
    struct sl_opt_input tls1[] = {IN("url", "mqtt://h"), IN("topic", "t"), IN("tls_ca", "/ca.pem")};
    src_case("mqtt", tls1, 3, 2, "option 'tls_ca' needs an mqtts:// url: TLS is off for mqtt://");
    struct sl_opt_input tls2[] = {IN("url", "mqtts://h"), IN("topic", "t"), IN("tls_ca", "/ca.pem"),
                                  IN("tls_cert", "/c.pem"), IN("tls_key", "/k.pem")};
    src_case("mqtt", tls2, 5, 0, NULL);
    struct sl_opt_input tls3[] = {IN("url", "mqtts://h"), IN("topic", "t"),
                                  IN("tls_cert", "/c.pem")};
    src_case("mqtt", tls3, 3, 2,
             "option 'tls_cert' needs option 'tls_key': a client certificate and its key go "
             "together");

    /* Topic filters. */
    static const struct {
        const char *topic, *msg;
    } topics[] = {
        {"a/#/b", "option 'topic' has an invalid filter 'a/#/b': '#' must be a whole level and "
                  "the last one"},
        {"a/b#", "option 'topic' has an invalid filter 'a/b#': '#' must be a whole level and "
                 "the last one"},
        {"a/b+", "option 'topic' has an invalid filter 'a/b+': '+' must be a whole level"},
        {"x, a,,b", "option 'topic' has an invalid filter '': a filter is empty"},
        {"", "option 'topic' has an invalid filter '': a filter is empty"},
        {"#", NULL},
        {"+", NULL},
        {"+/+/x/#", NULL},
        {"/a/", NULL},
    };
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        struct sl_opt_input in[] = {IN("url", "mqtt://h"), IN("topic", topics[i].topic)};
        src_case("mqtt", in, 2, 1, topics[i].msg);
    }

    /* MQTT 3.1.1 has no password without a user name. */
    struct sl_opt_input pw[] = {IN("url", "mqtt://h"), IN("topic", "t"), IN("protocol", "3.1.1"),
                                IN("password", "hunter2")};
    src_case("mqtt", pw, 4, 3, "option 'password' needs option 'username' with protocol 3.1.1");

    /* Several problems at once. */
    struct sl_opt_input many[] = {IN("url", "http://x"), IN("topic", "a#"), IN("qos", "2")};
    struct sl_source src;
    struct got g;
    make_source(&src, "mqtt", many, 3);
    assert_int_equal(check_source(&src, &g), 3);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.index[0], 0);
    assert_int_equal(g.index[1], 1);
    assert_int_equal(g.index[2], 2);
}

/* ---- kafka ------------------------------------------------------------------------------ */

static void test_kafka(void **state)
{
    (void)state;
    struct sl_opt_input ok[] = {IN("brokers", "k1:9092, k2:9093"), IN("topic", "a,b.c,d_e-f"),
                                IN("properties.security.protocol", "SASL_SSL"),
                                IN("properties.sasl.password", "hunter2"), IN("start", "latest")};
    src_case("kafka", ok, NIN(ok), 0, NULL);

    static const char *const bad[] = {"k1", "k1:0", "k1:99999", "k1:9092,", ":9092", "k 1:9092"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sl_opt_input in[] = {IN("topic", "t"), IN("brokers", bad[i])};
        char want[256];
        snprintf(want, sizeof(want),
                 "option 'brokers' must be a comma-separated list of host:port, got '%s'", bad[i]);
        src_case("kafka", in, 2, 1, want);
    }

    struct sl_opt_input tp[] = {IN("brokers", "k:1"), IN("topic", "ok,bad topic")};
    src_case("kafka", tp, 2, 1,
             "option 'topic' has an invalid topic name 'bad topic': Kafka topic names are 1 to "
             "249 letters, digits, '.', '_' and '-'");
    struct sl_opt_input re[] = {IN("brokers", "k:1"), IN("topic", "^sensors\\..*")};
    src_case("kafka", re, 2, 1, NULL);

    struct sl_opt_input own[] = {IN("brokers", "k:1"), IN("topic", "t"),
                                 IN("properties.enable.auto.commit", "true")};
    src_case("kafka", own, 3, 2,
             "option 'properties.enable.auto.commit' is set by Sluice: Sluice commits offsets "
             "itself once the sinks have delivered");
    struct sl_opt_input gid[] = {IN("brokers", "k:1"), IN("topic", "t"),
                                 IN("properties.group.id", "g")};
    src_case("kafka", gid, 3, 2,
             "option 'properties.group.id' is set by Sluice: use option "
             "group_id");
    struct sl_opt_input eg[] = {IN("brokers", "k:1"), IN("topic", "t"), IN("group_id", "")};
    src_case("kafka", eg, 3, 2, "option 'group_id' must not be empty");

    struct sl_opt_input st[] = {IN("brokers", "k:1"), IN("topic", "t"), IN("start", "newest")};
    const struct sl_option_def *const tables[] = {sl_connector_find("kafka")->source_options,
                                                  sl_source_common_options, NULL};
    struct sl_options o;
    struct got g = {0};
    assert_int_equal(sl_options_parse(tables, "kafka", st, 3, &o, collect, &g), 1);
    assert_string_equal(g.msg[0],
                        "option 'start' must be one of earliest|latest|committed, got 'newest'");
}

/* ---- file ------------------------------------------------------------------------------- */

static void test_file(void **state)
{
    (void)state;
    struct sl_opt_input ok[] = {IN("path", "/data/events.jsonl"), IN("follow", "true"),
                                IN("rate", "500")};
    src_case("file", ok, 3, 0, NULL);
    struct sl_opt_input empty[] = {IN("path", "")};
    src_case("file", empty, 1, 0, "option 'path' must not be empty");

    struct sl_plan p = {.name = "out"};
    struct got g;
    struct sl_opt_input sk[] = {IN("path", "/out.jsonl")};
    make_sink(&p, "file", sk, 1);
    assert_int_equal(check_sink(&p, &g), 0);
    make_sink(&p, "file", empty, 1);
    assert_int_equal(check_sink(&p, &g), 1);
    assert_string_equal(g.msg[0], "option 'path' must not be empty");
    assert_int_equal(g.index[0], 0);
}

/* ---- redis ------------------------------------------------------------------------------ */

/* SELECT site, device, window_start, AVG(temp) AS avg_temp, COUNT(*) AS n, APPROX… AS users
 * FROM TUMBLE(...) GROUP BY site, device */
static struct sl_out_col win_out[] = {
    {.name = "site", .type = SL_TYPE_TEXT},
    {.name = "device", .type = SL_TYPE_TEXT},
    {.name = "window_start", .type = SL_TYPE_TIMESTAMP},
    {.name = "avg_temp", .type = SL_TYPE_DOUBLE},
    {.name = "n", .type = SL_TYPE_BIGINT},
};
static char *win_keys[] = {"site", "device"};
static const struct sl_agg_ops fake_hll = {.name = "APPROX_COUNT_DISTINCT"};
static const struct sl_agg_ops fake_avg = {.name = "AVG"};
static struct sl_plan_agg aggs_avg[] = {{.ops = &fake_avg}};
static struct sl_plan_agg aggs_hll[] = {{.ops = &fake_avg}, {.ops = &fake_hll}};

static struct sl_plan win_plan(void)
{
    struct sl_plan p = {
        .name = "temp_stats",
        .window = SL_WINDOW_TUMBLE,
        .key_names = win_keys,
        .nkeys = 2,
        .aggs = aggs_avg,
        .naggs = 1,
        .out = win_out,
        .nout = 5,
    };
    return p;
}

static struct sl_out_col ev_out[] = {
    {.name = "device", .type = SL_TYPE_TEXT},
    {.name = "temp", .type = SL_TYPE_DOUBLE},
};

static struct sl_plan event_plan(void)
{
    struct sl_plan p = {.name = "hot", .window = SL_WINDOW_NONE, .out = ev_out, .nout = 2};
    return p;
}

static void sink_case(struct sl_plan p, const char *conn, const struct sl_opt_input *in, int nin,
                      int want_errors, int want_index, const char *msg)
{
    struct got g;
    make_sink(&p, conn, in, nin);
    int errors = check_sink(&p, &g);
    if (errors != want_errors || g.n != (msg != NULL)) {
        print_got(&g);
    }
    assert_int_equal(errors, want_errors);
    assert_int_equal(g.n, msg != NULL ? 1 : 0);
    if (msg != NULL) {
        assert_int_equal(g.index[0], want_index);
        assert_string_equal(g.msg[0], msg);
    }
}

#define RURL IN("url", "redis://redis:6379/0")

static void test_redis_url(void **state)
{
    (void)state;
    static const char *const good[] = {"redis://redis:6379/0",  "redis://h",
                                       "redis://u:p@h:6379/15", "redis://:p@h",
                                       "redis://h:6379/",       "unix:///run/redis.sock",
                                       "REDIS://[::1]:6379/2",  "redis://u:p/w@d@h:1/3"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct sl_opt_input in[] = {IN("url", good[i])};
        sink_case(win_plan(), "redis", in, 1, 0, 0, NULL);
    }
    static const struct {
        const char *url, *shown;
    } bad[] = {
        {"http://h", "http://h"},
        {"redis://h:6379/x", "redis://h:6379/x"},
        {"redis://h:0", "redis://h:0"},
        {"redis://", "redis://"},
        {"unix://", "unix://"},
        {"unix://relative", "unix://relative"},
        {"rediss://h", "rediss://h"},
        {"redis://app:hunter2@h:6379/x", "redis://app:<secret>@h:6379/x"},
        {"redis://app:hun/ter@2@h:6379/x", "redis://app:<secret>@h:6379/x"},
        {"redis://hunter2@h:0", "redis://<secret>@h:0"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sl_opt_input in[] = {IN("url", bad[i].url)};
        char want[256];
        snprintf(want, sizeof(want),
                 "option 'url' must be redis://[user:password@]host[:port][/db] or "
                 "unix:///path, got '%s'",
                 bad[i].shown);
        sink_case(win_plan(), "redis", in, 1, 1, 0, want);
    }
}

static void test_redis_templates(void **state)
{
    (void)state;
    /* The key of SQL.md's example, and the default key: fine. */
    struct sl_opt_input ok[] = {RURL, IN("key", "temp:{site}:{device}:{window_start}"),
                                IN("latest_key", "temp:{site}:{device}:latest"), IN("ttl", "1h")};
    sink_case(win_plan(), "redis", ok, NIN(ok), 0, 0, NULL);
    struct sl_opt_input dflt[] = {RURL};
    sink_case(win_plan(), "redis", dflt, 1, 0, 0, NULL);
    sink_case(event_plan(), "redis", dflt, 1, 0, 0, NULL);

    /* A misspelt column, with and without a suggestion. */
    struct sl_opt_input typo[] = {RURL, IN("key", "x:{devce}")};
    sink_case(win_plan(), "redis", typo, 2, 1, 1,
              "key template 'x:{devce}' names no column; did you mean 'device'?");
    struct sl_opt_input far[] = {RURL, IN("key", "x:{zzzz}:{_id}")};
    sink_case(win_plan(), "redis", far, 2, 1, 1,
              "key template 'x:{zzzz}:{_id}' names no column 'zzzz'; its columns are: site, "
              "device, window_start, avg_temp, n, window_end, _id");
    /* window_end exists only for windowed queries. */
    struct sl_opt_input wwe[] = {RURL, IN("key", "x:{site}:{device}:{window_end}")};
    sink_case(win_plan(), "redis", wwe, 2, 0, 0, NULL);
    struct sl_opt_input we[] = {RURL, IN("key", "x:{device}:{window_end}")};
    sink_case(event_plan(), "redis", we, 2, 1, 1,
              "key template 'x:{device}:{window_end}' names no column 'window_end'; its "
              "columns are: device, temp, _id");
    struct sl_opt_input lt[] = {RURL, IN("latest_key", "t:{site}:{devic}:latest")};
    sink_case(win_plan(), "redis", lt, 2, 1, 1,
              "latest_key template 't:{site}:{devic}:latest' names no column; did you mean "
              "'device'?");

    /* Malformed templates. */
    struct sl_opt_input br[] = {RURL, IN("key", "a}b")};
    sink_case(win_plan(), "redis", br, 2, 1, 1,
              "key template 'a}b': '}' at byte 2 closes nothing; write '}}' for a literal "
              "brace");
    struct sl_opt_input em[] = {RURL, IN("key", "")};
    sink_case(win_plan(), "redis", em, 2, 1, 1, "option 'key' must not be empty");

    /* Leaving out a group column of a windowed hash/string key: a warning, not an error. */
    struct sl_opt_input miss[] = {RURL, IN("key", "temp:{site}:{window_start}")};
    sink_case(win_plan(), "redis", miss, 2, 0, 1,
              "warning: key template 'temp:{site}:{window_start}' leaves out group column "
              "device: groups would overwrite each other");
    struct sl_opt_input miss_s[] = {RURL, IN("type", "string"), IN("key", "t:{device}")};
    sink_case(win_plan(), "redis", miss_s, 3, 0, 2,
              "warning: key template 't:{device}' leaves out group column site: groups would "
              "overwrite each other");
    struct sl_opt_input miss_l[] = {RURL, IN("latest_key", "t:{device}:latest")};
    sink_case(win_plan(), "redis", miss_l, 2, 0, 1,
              "warning: latest_key template 't:{device}:latest' leaves out group column site: "
              "groups would overwrite each other");
    /* ... but not for streams, not with {_id}, not for per-event queries. */
    struct sl_opt_input st[] = {RURL, IN("type", "stream"), IN("key", "events")};
    sink_case(win_plan(), "redis", st, 3, 0, 0, NULL);
    struct sl_opt_input id[] = {RURL, IN("key", "t:{_id}")};
    sink_case(win_plan(), "redis", id, 2, 0, 0, NULL);
    struct sl_opt_input ev[] = {RURL, IN("key", "hot:{device}")};
    sink_case(event_plan(), "redis", ev, 2, 0, 0, NULL);
    /* Two group columns missing: two warnings. */
    struct sl_plan p = win_plan();
    struct got g;
    struct sl_opt_input two[] = {RURL, IN("key", "t:{window_start}")};
    make_sink(&p, "redis", two, 2);
    assert_int_equal(check_sink(&p, &g), 0);
    assert_int_equal(g.n, 2);
    assert_non_null(strstr(g.msg[0], "group column site:"));
    assert_non_null(strstr(g.msg[1], "group column device:"));
}

static void test_redis_types(void **state)
{
    (void)state;
    struct sl_opt_input ml[] = {RURL, IN("maxlen", "10")};
    sink_case(win_plan(), "redis", ml, 2, 1, 1,
              "option 'maxlen' applies only to type = 'stream', not 'hash'");
    struct sl_opt_input mls[] = {RURL, IN("type", "stream"), IN("maxlen", "10")};
    sink_case(win_plan(), "redis", mls, 3, 0, 0, NULL);

    struct sl_opt_input z[] = {RURL, IN("type", "zset"), IN("score", "avg_temp"),
                               IN("member", "device"), IN("key", "top:{window_start}")};
    sink_case(win_plan(), "redis", z, NIN(z), 0, 0, NULL);
    struct sl_opt_input zts[] = {RURL, IN("type", "zset"), IN("score", "window_start"),
                                 IN("member", "n")};
    sink_case(win_plan(), "redis", zts, NIN(zts), 0, 0, NULL);
    struct sl_opt_input z1[] = {RURL, IN("type", "zset"), IN("member", "device")};
    sink_case(win_plan(), "redis", z1, 3, 1, 1,
              "type = 'zset' needs option 'score': the output column that gives each member's "
              "score");
    struct sl_opt_input z2[] = {RURL, IN("type", "zset"), IN("score", "n")};
    sink_case(win_plan(), "redis", z2, 3, 1, 1,
              "type = 'zset' needs option 'member': the output column that gives each member");
    struct sl_opt_input z3[] = {RURL, IN("type", "zset"), IN("score", "device"),
                                IN("member", "site")};
    sink_case(win_plan(), "redis", z3, 4, 1, 2,
              "option 'score' names column 'device' of type TEXT; a zset score must be a "
              "number or a timestamp");
    struct sl_opt_input z4[] = {RURL, IN("type", "zset"), IN("score", "avgtemp"),
                                IN("member", "site")};
    sink_case(win_plan(), "redis", z4, 4, 1, 2,
              "option 'score' names no column 'avgtemp'; did you mean 'avg_temp'?");
    struct sl_opt_input z5[] = {RURL, IN("score", "n")};
    sink_case(win_plan(), "redis", z5, 2, 1, 1,
              "option 'score' applies only to type = 'zset', not 'hash'");

    struct sl_opt_input pub[] = {RURL, IN("type", "publish"), IN("ttl", "1h")};
    sink_case(win_plan(), "redis", pub, 3, 1, 2,
              "option 'ttl' does not apply to type = 'publish': PUBLISH stores no key");

    struct sl_opt_input lk[] = {RURL, IN("latest_key", "t:{device}")};
    sink_case(event_plan(), "redis", lk, 2, 1, 1,
              "option 'latest_key' needs a windowed query: it keeps the row of the newest "
              "window_start");
    struct sl_opt_input lks[] = {RURL, IN("type", "stream"), IN("latest_key", "t:{device}")};
    sink_case(win_plan(), "redis", lks, 3, 1, 2,
              "option 'latest_key' applies only to type = 'hash' or 'string', not 'stream'");

    struct sl_opt_input hll[] = {RURL, IN("hll_key", "u:{site}:{device}:{window_start}")};
    sink_case(win_plan(), "redis", hll, 2, 1, 1,
              "option 'hll_key' needs an APPROX_COUNT_DISTINCT aggregate in the query");
    struct sl_plan hp = win_plan();
    hp.aggs = aggs_hll;
    hp.naggs = 2;
    sink_case(hp, "redis", hll, 2, 0, 0, NULL);
    struct sl_opt_input hllbad[] = {RURL, IN("hll_key", "u:{sit}")};
    sink_case(hp, "redis", hllbad, 2, 1, 1,
              "hll_key template 'u:{sit}' names no column; did you mean 'site'?");
}

/* ---- lambda ----------------------------------------------------------------------------- */

static void no_region_env(void)
{
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
}

static void test_lambda(void **state)
{
    (void)state;
    no_region_env();
    struct sl_plan ep = event_plan();

    static const char *const good_arns[] = {
        "arn:aws:lambda:eu-west-1:123456789012:function:notify-oncall",
        "arn:aws:lambda:us-east-1:123456789012:function:f:prod",
        "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:f_1",
    };
    for (size_t i = 0; i < sizeof(good_arns) / sizeof(good_arns[0]); i++) {
        struct sl_opt_input in[] = {IN("function", good_arns[i])};
        sink_case(ep, "lambda", in, 1, 0, 0, NULL);
    }

    /* A bare name needs a region from somewhere. */
    struct sl_opt_input name[] = {IN("function", "device-offline")};
    sink_case(ep, "lambda", name, 1, 1, 0,
              "connector lambda needs a region for function 'device-offline': write the "
              "function as a full ARN, set option region = 'eu-west-1', or set AWS_REGION in "
              "the environment");
    struct sl_opt_input partial[] = {IN("function", "123456789012:function:f")};
    sink_case(ep, "lambda", partial, 1, 1, 0,
              "connector lambda needs a region for function '123456789012:function:f': write "
              "the function as a full ARN, set option region = 'eu-west-1', or set AWS_REGION "
              "in the environment");
    struct sl_opt_input named_region[] = {IN("function", "device-offline:live"),
                                          IN("region", "eu-central-1")};
    sink_case(ep, "lambda", named_region, 2, 0, 0, NULL);
    setenv("AWS_REGION", "eu-west-1", 1);
    sink_case(ep, "lambda", name, 1, 0, 0, NULL);
    no_region_env();
    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    sink_case(ep, "lambda", name, 1, 0, 0, NULL);
    no_region_env();

    /* The region of an ARN and option region must agree. */
    struct sl_opt_input clash[] = {
        IN("function", "arn:aws:lambda:eu-west-1:123456789012:function:f"),
        IN("region", "us-east-1")};
    sink_case(ep, "lambda", clash, 2, 1, 1,
              "option 'region' is 'us-east-1' but the function's ARN is in region 'eu-west-1'");
    struct sl_opt_input badreg[] = {IN("function", "f"), IN("region", "Europe")};
    sink_case(ep, "lambda", badreg, 2, 1, 1,
              "option 'region' must be an AWS region like 'eu-west-1', got 'Europe'");

    static const char *const bad_fns[] = {
        "a b",
        "",
        "arn:aws:lambda:eu-west-1:123:function:f",
        "arn:aws:s3:eu-west-1:123456789012:function:f",
        "arn:aws:lambda:eu-west-1:123456789012:layer:f",
        "arn:aws:lambda:eu-west-1:123456789012:function:",
        "arn:aws:lambda:eu-west-1:123456789012:function:f:g:h",
        "f/g",
        "12345678901234567890123456789012345678901234567890123456789012345",
    };
    for (size_t i = 0; i < sizeof(bad_fns) / sizeof(bad_fns[0]); i++) {
        struct sl_opt_input in[] = {IN("region", "eu-west-1"), IN("function", bad_fns[i])};
        char want[512];
        snprintf(want, sizeof(want),
                 "option 'function' must be a function name (letters, digits, '-', '_'; "
                 "name:alias allowed) or an ARN arn:aws:lambda:<region>:<account>:function:"
                 "<name>, got '%s'",
                 bad_fns[i]);
        sink_case(ep, "lambda", in, 2, 1, 1, want);
    }

    /* Endpoint override. */
    struct sl_opt_input ep_ok[] = {IN("function", "f"), IN("region", "us-east-1"),
                                   IN("endpoint", "http://127.0.0.1:3002")};
    sink_case(ep, "lambda", ep_ok, 3, 0, 0, NULL);
    struct sl_opt_input ep_ok2[] = {IN("function", "f"), IN("region", "us-east-1"),
                                    IN("endpoint", "https://vpce-1.lambda.us-east-1.vpce.aws/")};
    sink_case(ep, "lambda", ep_ok2, 3, 0, 0, NULL);
    struct sl_opt_input ep_bad[] = {IN("function", "f"), IN("region", "us-east-1"),
                                    IN("endpoint", "ftp://x")};
    sink_case(ep, "lambda", ep_bad, 3, 1, 2,
              "option 'endpoint' must be an http:// or https:// URL like "
              "'http://127.0.0.1:3002', got 'ftp://x'");

    /* Event payloads are limited to 1MiB. */
    struct sl_opt_input ev[] = {IN("function", "f"), IN("region", "us-east-1"),
                                IN("invocation_type", "event"), IN("batch_bytes", "2MiB")};
    sink_case(ep, "lambda", ev, 4, 1, 3,
              "option 'batch_bytes' must be at most 1MiB with invocation_type = 'Event' "
              "(Lambda's limit for asynchronous invocations), got '2MiB'");
    struct sl_opt_input ev1[] = {IN("function", "f"), IN("region", "us-east-1"),
                                 IN("invocation_type", "Event"), IN("batch_bytes", "1MiB")};
    sink_case(ep, "lambda", ev1, 4, 0, 0, NULL);
    struct sl_opt_input rr[] = {IN("function", "f"), IN("region", "us-east-1"),
                                IN("batch_bytes", "6MiB")};
    sink_case(ep, "lambda", rr, 3, 0, 0, NULL);

    /* SQL.md's examples. */
    struct sl_opt_input overheat[] = {
        IN("function", "arn:aws:lambda:eu-west-1:123456789012:function:notify-oncall"),
        IN("invocation_type", "Event"), IN("batch_size", "100"), IN("linger", "500ms")};
    sink_case(ep, "lambda", overheat, 4, 0, 0, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_table_ranges),
        cmocka_unit_test(test_mqtt),
        cmocka_unit_test(test_kafka),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_redis_templates),
        cmocka_unit_test(test_redis_types),
        cmocka_unit_test(test_lambda),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
