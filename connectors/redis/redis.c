/*
 * redis.c - the Redis sink: its option table and load-time checks.
 *
 * Options follow SQL.md ("Sinks"). The checks validate the URL (never echoing its password),
 * the options that belong to one type only (maxlen: stream; score/member: zset; latest_key:
 * hash and string of windowed queries), and every key template against the query's output
 * columns, warning when a hash or string key leaves out a group column of a windowed query
 * (its groups would overwrite each other). The runtime (hiredis) is built later in this
 * folder and plugs into .sink.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "connectors/conn_util.h"
#include "connectors/redis/redis_run.h"
#include "engine/template.h"
#include "queries/plan.h"

enum { TYPE_HASH, TYPE_STRING, TYPE_STREAM, TYPE_PUBLISH, TYPE_ZSET };

static const struct sl_option_def redis_sink_options[] = {
    {.name = "url",
     .type = SL_OPT_STRING,
     .flags = SL_OPT_REQUIRED,
     .help = "Server address, redis://[user:password@]host[:port][/db] (port 6379, db 0 by "
             "default) or unix:///path/to/socket."},
    {.name = "type",
     .type = SL_OPT_ENUM,
     .def = "hash",
     .choices = "hash|string|stream|publish|zset",
     .help = "How a row is written: hash (HSET of its non-NULL columns, HDEL of the NULL "
             "ones), string (SET key JSON), stream (XADD key MAXLEN ~ maxlen), publish "
             "(PUBLISH key JSON) or zset (ZADD key score member)."},
    {.name = "key",
     .type = SL_OPT_STRING,
     .doc_default = "<sink>:{group columns…}:{window_start}; per-event rows <sink>:{_id}",
     .help = "Key template: {column} placeholders name output columns, or window_start, "
             "window_end, _id; write {{ and }} for literal braces."},
    {.name = "latest_key",
     .type = SL_OPT_STRING,
     .help = "A second key template, written only when the row's window_start is not older "
             "than the one stored there (hash and string of windowed queries)."},
    {.name = "ttl",
     .type = SL_OPT_DURATION,
     .min = 1,
     .max = INT64_MAX,
     .doc_default = "none",
     .help = "Expiry set on every key written; keys do not expire by default."},
    {.name = "maxlen",
     .type = SL_OPT_INT,
     .def = "100000",
     .min = 1,
     .max = INT64_MAX,
     .help = "Approximate length a stream is trimmed to (type stream only)."},
    {.name = "score",
     .type = SL_OPT_STRING,
     .help = "Output column that gives the score (a number or timestamp) of type zset."},
    {.name = "member",
     .type = SL_OPT_STRING,
     .help = "Output column that gives the member of type zset."},
    {.name = "hll_key",
     .type = SL_OPT_STRING,
     .help = "Key template under which each APPROX_COUNT_DISTINCT sketch is also stored as a "
             "native Redis HyperLogLog."},
    {.name = "pipeline",
     .type = SL_OPT_INT,
     .def = "256",
     .min = 1,
     .max = 100000,
     .help = "Commands sent before waiting for replies."},
    {.name = NULL},
};

static int check_url(const char *url)
{
    if (sl__conn_has_scheme(url, "unix://")) {
        const char *path = url + 7;
        return (path[0] == '/' && path[1] != '\0') ? 0 : -EINVAL;
    }
    if (!sl__conn_has_scheme(url, "redis://")) {
        return -EINVAL;
    }
    /* The host follows the last '@' (a raw password may hold '/' or '@'). */
    const char *auth = url + 8;
    const char *at = strrchr(auth, '@');
    const char *host = at != NULL ? at + 1 : auth;
    size_t hlen = strcspn(host, "/");
    if (sl__conn_hostport(host, hlen, false) < 0) {
        return -EINVAL;
    }
    const char *db = host + hlen;
    if (*db == '\0' || strcmp(db, "/") == 0) {
        return 0;
    }
    db++;
    size_t n = strlen(db);
    if (n == 0 || n > 9) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)db[i])) {
            return -EINVAL;
        }
    }
    return 0;
}

static const struct sl_out_col *find_out(const struct sl_plan *plan, const char *name)
{
    for (int k = 0; k < plan->nout; k++) {
        if (plan->out[k].name != NULL && strcasecmp(plan->out[k].name, name) == 0) {
            return &plan->out[k];
        }
    }
    return NULL;
}

/* "; did you mean 'x'?" or "; its columns are: a, b" into b, for a name that is not an
 * output column; specials (window_start, window_end, _id) are offered when allowed. */
static void suggest_col(struct sl_msgbuf *b, const struct sl_plan *plan, const char *name,
                        bool specials)
{
    static const char *const sp[] = {"window_start", "window_end", "_id"};
    bool windowed = plan->window != SL_WINDOW_NONE;
    const char *best = NULL;
    int best_d = 3;
    size_t nlen = strlen(name);
    for (int k = 0; k < plan->nout; k++) {
        int d = sl_edit_distance(name, plan->out[k].name);
        if (d < best_d && (size_t)d < nlen) {
            best = plan->out[k].name;
            best_d = d;
        }
    }
    for (size_t i = 0; specials && i < SL_ARRAY_LEN(sp); i++) {
        if (i < 2 && !windowed) {
            continue;
        }
        int d = sl_edit_distance(name, sp[i]);
        if (d < best_d && (size_t)d < nlen) {
            best = sp[i];
            best_d = d;
        }
    }
    if (best != NULL) {
        sl_msgbuf_printf(b, "; did you mean '%s'?", best);
        return;
    }
    sl_msgbuf_puts(b, "; its columns are: ");
    int n = 0;
    for (int k = 0; k < plan->nout; k++) {
        sl_msgbuf_printf(b, "%s%s", n++ ? ", " : "", plan->out[k].name);
    }
    for (size_t i = 0; specials && i < SL_ARRAY_LEN(sp); i++) {
        if ((i < 2 && !windowed) || find_out(plan, sp[i]) != NULL) {
            continue;
        }
        sl_msgbuf_printf(b, "%s%s", n++ ? ", " : "", sp[i]);
    }
}

static void report_msg(sl_opt_report_fn report, void *ud, const struct sl_options *o,
                       const char *opt, struct sl_msgbuf *b)
{
    sl__conn_report(report, ud, o, opt, "%s", sl_msgbuf_str(b));
    sl_msgbuf_fini(b);
}

/* Parses and binds the template of option opt (text), reporting problems. *ret_t is filled
 * on success (caller finishes it). Returns 0 or the number of errors (1). */
static int check_template(const struct sl_plan *plan, const char *opt, const char *text,
                          struct sl_template *ret_t, sl_opt_report_fn report, void *ud)
{
    const struct sl_options *o = &plan->sink_opts;
    struct sl_err err;
    struct sl_msgbuf b;
    sl_msgbuf_init(&b);
    struct sl_template t;
    if (*text == '\0') {
        sl__conn_report(report, ud, o, opt, "option '%s' must not be empty", opt);
        sl_msgbuf_fini(&b);
        return 1;
    }
    if (sl_template_parse(text, &t, &err) < 0) {
        sl_msgbuf_printf(&b, "%s template '", opt);
        sl_msgbuf_put_shown(&b, text, 120);
        sl_msgbuf_printf(&b, "': %s", err.msg);
        report_msg(report, ud, o, opt, &b);
        return 1;
    }
    int bad = -1;
    if (sl_template_bind(&t, plan, &bad) < 0) {
        const char *name = t.segs[bad].text;
        sl_msgbuf_printf(&b, "%s template '", opt);
        sl_msgbuf_put_shown(&b, text, 120);
        sl_msgbuf_puts(&b, "' names no column");
        struct sl_msgbuf s;
        sl_msgbuf_init(&s);
        suggest_col(&s, plan, name, true);
        if (strncmp(sl_msgbuf_str(&s), "; did", 5) != 0) {
            sl_msgbuf_puts(&b, " '");
            sl_msgbuf_put_shown(&b, name, 120);
            sl_msgbuf_puts(&b, "'");
        }
        sl_msgbuf_puts(&b, sl_msgbuf_str(&s));
        sl_msgbuf_fini(&s);
        report_msg(report, ud, o, opt, &b);
        sl_template_fini(&t);
        return 1;
    }
    sl_msgbuf_fini(&b);
    *ret_t = t;
    return 0;
}

/* Warns when a hash/string key of a windowed query leaves out a group column. */
static void warn_group_cols(const struct sl_plan *plan, const char *opt,
                            const struct sl_template *t, sl_opt_report_fn report, void *ud)
{
    if (plan->window == SL_WINDOW_NONE || sl_template_mentions(t, "_id")) {
        return; /* _id already differs per group and window */
    }
    for (int k = 0; k < plan->nkeys; k++) {
        const char *kn = plan->key_names != NULL ? plan->key_names[k] : NULL;
        if (kn == NULL || sl_template_mentions(t, kn)) {
            continue;
        }
        struct sl_msgbuf b;
        sl_msgbuf_init(&b);
        sl_msgbuf_printf(&b, "warning: %s template '", opt);
        sl_msgbuf_put_shown(&b, t->src, 120);
        sl_msgbuf_puts(&b, "' leaves out group column ");
        sl_msgbuf_put_shown(&b, kn, 120);
        sl_msgbuf_puts(&b, ": groups would overwrite each other");
        report_msg(report, ud, &plan->sink_opts, opt, &b);
    }
}

static int check_column_opt(const struct sl_plan *plan, const char *opt, bool numeric,
                            sl_opt_report_fn report, void *ud)
{
    const struct sl_options *o = &plan->sink_opts;
    const char *name = sl_options_str(o, opt);
    struct sl_msgbuf b;
    sl_msgbuf_init(&b);
    if (name == NULL) {
        sl_msgbuf_printf(&b,
                         "type = 'zset' needs option '%s': the output column that gives "
                         "each %s",
                         opt, numeric ? "member's score" : "member");
        sl__conn_report(report, ud, o, "type", "%s", sl_msgbuf_str(&b));
        sl_msgbuf_fini(&b);
        return 1;
    }
    const struct sl_out_col *c = find_out(plan, name);
    if (c == NULL) {
        sl_msgbuf_printf(&b, "option '%s' names no column '", opt);
        sl_msgbuf_put_shown(&b, name, 120);
        sl_msgbuf_puts(&b, "'");
        suggest_col(&b, plan, name, false);
        report_msg(report, ud, o, opt, &b);
        return 1;
    }
    if (numeric && c->type != SL_TYPE_BIGINT && c->type != SL_TYPE_DOUBLE &&
        c->type != SL_TYPE_TIMESTAMP) {
        sl_msgbuf_printf(&b,
                         "option '%s' names column '%s' of type %s; a zset score must be "
                         "a number or a timestamp",
                         opt, c->name, sl_type_name(c->type));
        report_msg(report, ud, o, opt, &b);
        return 1;
    }
    sl_msgbuf_fini(&b);
    return 0;
}

static bool has_hll(const struct sl_plan *plan)
{
    for (int i = 0; i < plan->naggs; i++) {
        const struct sl_agg_ops *ops = plan->aggs[i].ops;
        if (ops != NULL && ops->name != NULL &&
            strcasecmp(ops->name, "APPROX_COUNT_DISTINCT") == 0) {
            return true;
        }
    }
    return false;
}

static int redis_check_sink(const struct sl_plan *plan, sl_opt_report_fn report, void *ud)
{
    const struct sl_options *o = &plan->sink_opts;
    int errors = 0;
    struct sl_msgbuf tmp;
    sl_msgbuf_init(&tmp);
    int64_t type = sl_options_int(o, "type", TYPE_HASH);
    const char *type_name = sl_options_str(o, "type");
    if (type_name == NULL) {
        type_name = "hash";
    }
    bool windowed = plan->window != SL_WINDOW_NONE;

    const char *url = sl_options_str(o, "url");
    if (url != NULL && check_url(url) < 0) {
        sl__conn_report(report, ud, o, "url",
                        "option 'url' must be redis://[user:password@]host[:port][/db] or "
                        "unix:///path, got '%s'",
                        sl__conn_shown(&tmp, url));
        errors++;
    }

    if (sl__conn_given(o, "maxlen") && type != TYPE_STREAM) {
        sl__conn_report(report, ud, o, "maxlen",
                        "option 'maxlen' applies only to type = 'stream', not '%s'", type_name);
        errors++;
    }
    if (type == TYPE_ZSET) {
        errors += check_column_opt(plan, "score", true, report, ud);
        errors += check_column_opt(plan, "member", false, report, ud);
    } else {
        static const char *const zopts[] = {"score", "member"};
        for (size_t i = 0; i < SL_ARRAY_LEN(zopts); i++) {
            if (sl_options_get(o, zopts[i]) != NULL) {
                sl__conn_report(report, ud, o, zopts[i],
                                "option '%s' applies only to type = 'zset', not '%s'", zopts[i],
                                type_name);
                errors++;
            }
        }
    }
    if (type == TYPE_PUBLISH && sl_options_get(o, "ttl") != NULL) {
        sl__conn_report(report, ud, o, "ttl",
                        "option 'ttl' does not apply to type = 'publish': PUBLISH stores no "
                        "key");
        errors++;
    }

    const char *latest = sl_options_str(o, "latest_key");
    if (latest != NULL) {
        if (type != TYPE_HASH && type != TYPE_STRING) {
            sl__conn_report(report, ud, o, "latest_key",
                            "option 'latest_key' applies only to type = 'hash' or 'string', "
                            "not '%s'",
                            type_name);
            errors++;
            latest = NULL;
        } else if (!windowed) {
            sl__conn_report(report, ud, o, "latest_key",
                            "option 'latest_key' needs a windowed query: it keeps the row of "
                            "the newest window_start");
            errors++;
            latest = NULL;
        }
    }
    const char *hll = sl_options_str(o, "hll_key");
    if (hll != NULL && !has_hll(plan)) {
        sl__conn_report(report, ud, o, "hll_key",
                        "option 'hll_key' needs an APPROX_COUNT_DISTINCT aggregate in the "
                        "query");
        errors++;
        hll = NULL;
    }

    /* Templates: key (given or default), latest_key, hll_key. */
    const struct {
        const char *opt;
        const char *text;
        bool warn;
    } tmpls[] = {
        {"key", sl_options_str(o, "key"), type == TYPE_HASH || type == TYPE_STRING},
        {"latest_key", latest, true},
        {"hll_key", hll, false},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(tmpls); i++) {
        if (tmpls[i].text == NULL) {
            continue;
        }
        struct sl_template t;
        if (check_template(plan, tmpls[i].opt, tmpls[i].text, &t, report, ud) != 0) {
            errors++;
            continue;
        }
        if (tmpls[i].warn) {
            warn_group_cols(plan, tmpls[i].opt, &t, report, ud);
        }
        sl_template_fini(&t);
    }

    sl_msgbuf_fini(&tmp);
    return errors;
}

const struct sl_connector sl_connector_redis = {
    .name = "redis",
    .summary = "Writes rows to Redis as hashes, strings, stream entries, messages or sorted "
               "set members, under keys built from templates.",
    .source_options = NULL,
    .sink_options = redis_sink_options,
    .sink = &sl_redis_sink_ops,
    .check_sink = redis_check_sink,
};
