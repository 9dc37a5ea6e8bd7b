/*
 * options.c - parses a WITH clause against connector option tables.
 *
 * The tables (struct sl_option_def, options.h) are the single source of truth: this file
 * turns them into parsed values, defaults and every error message a user sees about an
 * option; connectors/doc.c turns them into docs/connectors.md. Parsing reports every
 * problem of a clause, not just the first, through the caller's callback, and never puts the
 * value of a secret option into a message. Values given by the user are shown at most
 * SHOW_MAX bytes long, with control characters replaced, so a message stays one line.
 *
 * Units: durations are an unsigned decimal integer followed by ms, s, m, h or d (case-
 * insensitive), or a bare '0'. Sizes are an unsigned decimal integer followed by nothing or
 * B (bytes), KiB/MiB/GiB/TiB (powers of 1024) or KB/MB/GB/TB (powers of 1000, as the SI
 * prefixes say; the binary forms are the ones to use), case-insensitive.
 *
 * Called at load time from the main thread only; allocates.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"
#include "msgbuf.h"

#define SHOW_MAX 120 /* bytes of a user's value shown in a message */

/* ---- shared tables ---------------------------------------------------------------------- */

const struct sl_option_def sl_source_common_options[] = {
    {.name = "dead_letter",
     .type = SL_OPT_STRING,
     .help = "Path of a JSON Lines file that receives rejected and late events, each with "
             "its reason; none by default."},
    {.name = "dead_letter_max_bytes",
     .type = SL_OPT_SIZE,
     .def = "64MiB",
     .min = 1,
     .max = INT64_MAX,
     .help = "Size past which the dead-letter file is no longer written; only the counters "
             "rise then."},
    {.name = "idle_timeout",
     .type = SL_OPT_DURATION,
     .def = "30s",
     .min = 1,
     .max = INT64_MAX,
     .help = "A partition without events for this long is idle and stops holding the "
             "source's watermark back."},
    {.name = "max_future",
     .type = SL_OPT_DURATION,
     .def = "5m",
     .min = 0,
     .max = INT64_MAX,
     .help = "Events more than this far ahead of the wall clock are rejected before they can "
             "move the watermark; '0' turns the check off, which is the default for file and "
             "datagen sources unless given."},
    {.name = "timestamp_format",
     .type = SL_OPT_ENUM,
     .def = "auto",
     .choices = "auto|epoch_s|epoch_ms|epoch_us|rfc3339",
     .help = "How TIMESTAMP columns are read from JSON: auto takes numbers above 1e11 as "
             "milliseconds and smaller ones as seconds, and strings as RFC 3339."},
    {.name = "max_message_bytes",
     .type = SL_OPT_SIZE,
     .def = "1MiB",
     .min = 1,
     .max = (int64_t)1 << 30,
     .help = "Largest payload accepted; a longer message is rejected as a whole."},
    {.name = NULL},
};

const struct sl_option_def sl_sink_common_options[] = {
    {.name = "max_groups",
     .type = SL_OPT_INT,
     .def = "1000000",
     .min = 1,
     .max = INT64_MAX,
     .help = "Open groups the sink's query may hold; beyond it new keys are refused and "
             "counted, existing ones keep working."},
    {.name = "max_distinct",
     .type = SL_OPT_INT,
     .def = "100000",
     .min = 1,
     .max = INT64_MAX,
     .help = "Values one COUNT(DISTINCT) keeps per group; beyond it the result is NULL and "
             "the overflow counted."},
    {.name = NULL},
};

/* ---- units ------------------------------------------------------------------------------ */

/* Reads an unsigned decimal integer at *p (at least one digit), advancing *p. */
static int read_u63(const char **p, int64_t *ret)
{
    const char *s = *p;
    int64_t v = 0;
    if (!isdigit((unsigned char)*s)) {
        return -EINVAL;
    }
    int overflow = 0;
    for (; isdigit((unsigned char)*s); s++) {
        int dg = *s - '0';
        if (v > (INT64_MAX - dg) / 10) {
            overflow = 1;
        } else {
            v = v * 10 + dg;
        }
    }
    *p = s;
    if (overflow) {
        return -ERANGE;
    }
    *ret = v;
    return 0;
}

static int mul_checked(int64_t v, int64_t unit, int64_t *ret)
{
    if (unit != 0 && v > INT64_MAX / unit) {
        return -ERANGE;
    }
    *ret = v * unit;
    return 0;
}

int sl_parse_duration(const char *s, int64_t *ret_ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    if (s == NULL) {
        return -EINVAL;
    }
    const char *p = s;
    int64_t v;
    int r = read_u63(&p, &v);
    if (r == -EINVAL) {
        return r;
    }
    if (*p == '\0') {
        /* A bare number is ambiguous, except zero. */
        if (r == 0 && v == 0) {
            *ret_ms = 0;
            return 0;
        }
        return -EINVAL;
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(units); i++) {
        if (strcasecmp(p, units[i].unit) == 0) {
            if (r < 0) {
                return r;
            }
            return mul_checked(v, units[i].ms, ret_ms);
        }
    }
    return -EINVAL;
}

int sl_parse_size(const char *s, int64_t *ret_bytes)
{
    static const struct {
        const char *unit;
        int64_t bytes;
    } units[] = {
        {"", 1},
        {"B", 1},
        {"KiB", (int64_t)1 << 10},
        {"MiB", (int64_t)1 << 20},
        {"GiB", (int64_t)1 << 30},
        {"TiB", (int64_t)1 << 40},
        {"KB", 1000},
        {"MB", 1000000},
        {"GB", 1000000000},
        {"TB", 1000000000000},
    };
    if (s == NULL) {
        return -EINVAL;
    }
    const char *p = s;
    int64_t v;
    int r = read_u63(&p, &v);
    if (r == -EINVAL) {
        return r;
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(units); i++) {
        if (strcasecmp(p, units[i].unit) == 0) {
            if (r < 0) {
                return r;
            }
            return mul_checked(v, units[i].bytes, ret_bytes);
        }
    }
    return -EINVAL;
}

/* Writes ms in the largest unit that divides it exactly: 1500 -> "1500ms", 60000 -> "1m". */
static void fmt_duration(struct sl_msgbuf *sb, int64_t ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    if (ms == 0) {
        sl_msgbuf_puts(sb, "0");
        return;
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(units); i++) {
        if (ms % units[i].ms == 0) {
            sl_msgbuf_printf(sb, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    }
    sl_msgbuf_printf(sb, "%lldms", (long long)ms);
}

static void fmt_size(struct sl_msgbuf *sb, int64_t b)
{
    static const struct {
        const char *unit;
        int64_t bytes;
    } units[] = {{"TiB", (int64_t)1 << 40},
                 {"GiB", (int64_t)1 << 30},
                 {"MiB", (int64_t)1 << 20},
                 {"KiB", (int64_t)1 << 10}};
    if (b != 0) {
        for (size_t i = 0; i < SL_ARRAY_LEN(units); i++) {
            if (b % units[i].bytes == 0) {
                sl_msgbuf_printf(sb, "%lld%s", (long long)(b / units[i].bytes), units[i].unit);
                return;
            }
        }
    }
    sl_msgbuf_printf(sb, "%lld", (long long)b);
}

static void fmt_bound(struct sl_msgbuf *sb, enum sl_opt_type t, int64_t v)
{
    if (t == SL_OPT_DURATION) {
        fmt_duration(sb, v);
    } else if (t == SL_OPT_SIZE) {
        fmt_size(sb, v);
    } else {
        sl_msgbuf_printf(sb, "%lld", (long long)v);
    }
}

void sl_options_fmt(enum sl_opt_type t, int64_t v, char *buf, size_t cap)
{
    struct sl_msgbuf sb;
    sl_msgbuf_init(&sb);
    fmt_bound(&sb, t, v);
    snprintf(buf, cap, "%s", sl_msgbuf_str(&sb));
    sl_msgbuf_fini(&sb);
}

/* ---- edit distance ---------------------------------------------------------------------- */

int sl_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 256 || lb > 256) {
        /* Names are short; long strings are never worth suggesting. */
        return (int)(la > lb ? la : lb);
    }
    int rows[3][257];
    int *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++) {
        prev[j] = (int)j;
    }
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        int ca = tolower((unsigned char)a[i - 1]);
        for (size_t j = 1; j <= lb; j++) {
            int cb = tolower((unsigned char)b[j - 1]);
            int cost = ca != cb;
            int best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) {
                best = cur[j - 1] + 1;
            }
            if (prev[j - 1] + cost < best) {
                best = prev[j - 1] + cost;
            }
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < best) {
                best = pp[j - 2] + 1;
            }
            cur[j] = best;
        }
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

/* ---- secrets ---------------------------------------------------------------------------- */

bool sl_options_is_secret(const struct sl_option_def *def, const char *name)
{
    static const char *const marks[] = {"password",           "secret",    "ssl.key.pem",
                                        "oauthbearer.config", "sasl.jaas", "token"};
    if (def == NULL) {
        return false;
    }
    if (def->flags & SL_OPT_SECRET) {
        return true;
    }
    if ((def->flags & SL_OPT_PREFIX) && name != NULL) {
        for (size_t i = 0; i < SL_ARRAY_LEN(marks); i++) {
            if (strcasestr(name, marks[i]) != NULL) {
                return true;
            }
        }
    }
    return false;
}

const char *sl_options_display(const struct sl_opt_value *v, char *buf, size_t cap)
{
    if (v == NULL || v->str == NULL) {
        return "";
    }
    if (sl_options_is_secret(v->def, v->name)) {
        return "<secret>";
    }
    struct sl_msgbuf sb;
    sl_msgbuf_init(&sb);
    sl_msgbuf_put_redacted(&sb, v->str);
    snprintf(buf, cap, "%s", sb.oom ? "<secret>" : sl_msgbuf_str(&sb));
    sl_msgbuf_fini(&sb);
    return buf;
}

/* ---- the parser ------------------------------------------------------------------------- */

struct parse {
    const struct sl_option_def *const *tables;
    const char *connector;
    sl_opt_report_fn report;
    void *ud;
    int problems;
};

static void problem(struct parse *ps, int index, struct sl_msgbuf *sb)
{
    ps->problems++;
    if (ps->report != NULL) {
        ps->report(ps->ud, index, sl_msgbuf_str(sb));
    }
    sl_msgbuf_fini(sb);
}

static bool is_prefix_def(const struct sl_option_def *d)
{
    return (d->flags & SL_OPT_PREFIX) != 0;
}

/* The def matching name, or NULL. */
static const struct sl_option_def *find_def(const struct sl_option_def *const *tables,
                                            const char *name)
{
    for (int t = 0; tables[t] != NULL; t++) {
        for (const struct sl_option_def *d = tables[t]; d->name != NULL; d++) {
            if (is_prefix_def(d)) {
                size_t n = strlen(d->name);
                if (strncasecmp(name, d->name, n) == 0 && name[n] != '\0') {
                    return d;
                }
            } else if (strcasecmp(name, d->name) == 0) {
                return d;
            }
        }
    }
    return NULL;
}

static void report_unknown(struct parse *ps, int index, const char *name)
{
    struct sl_msgbuf sb;
    sl_msgbuf_init(&sb);
    sl_msgbuf_puts(&sb, "unknown option '");
    sl_msgbuf_put_shown(&sb, name, SHOW_MAX);
    sl_msgbuf_printf(&sb, "' for connector %s", ps->connector);

    /* Best suggestion: smallest distance <= 2 (and smaller than the name, so that 'x' does
     * not suggest 'qos'), else a known name that the given one begins. */
    const struct sl_option_def *best = NULL;
    const char *best_rest = "";
    int best_d = INT_MAX;
    const struct sl_option_def *pre = NULL;
    size_t nlen = strlen(name);
    for (int t = 0; ps->tables[t] != NULL; t++) {
        for (const struct sl_option_def *d = ps->tables[t]; d->name != NULL; d++) {
            int dist;
            const char *rest = "";
            if (is_prefix_def(d)) {
                /* Compare the part up to the first '.' with the prefix. */
                const char *dot = strchr(name, '.');
                char head[128];
                if (dot == NULL || (size_t)(dot - name) + 2 > sizeof(head)) {
                    dist = sl_edit_distance(name, d->name);
                } else {
                    size_t hl = (size_t)(dot - name) + 1;
                    memcpy(head, name, hl);
                    head[hl] = '\0';
                    dist = sl_edit_distance(head, d->name);
                    rest = dot + 1;
                }
            } else {
                dist = sl_edit_distance(name, d->name);
                if (pre == NULL && nlen >= 2 && strncasecmp(name, d->name, nlen) == 0) {
                    pre = d;
                }
            }
            if (dist <= 2 && (size_t)dist < nlen && dist < best_d) {
                best = d;
                best_d = dist;
                best_rest = rest;
            }
        }
    }
    if (best == NULL && pre != NULL) {
        best = pre;
    }
    if (best != NULL) {
        sl_msgbuf_printf(&sb, "; did you mean '%s", best->name);
        if (is_prefix_def(best)) {
            sl_msgbuf_put_shown(&sb, *best_rest ? best_rest : "<name>", SHOW_MAX);
        }
        sl_msgbuf_puts(&sb, "'?");
    } else {
        sl_msgbuf_puts(&sb, "; its options are: ");
        int k = 0;
        for (int t = 0; ps->tables[t] != NULL; t++) {
            for (const struct sl_option_def *d = ps->tables[t]; d->name != NULL; d++) {
                sl_msgbuf_printf(&sb, "%s%s%s", k++ ? ", " : "", d->name,
                                 is_prefix_def(d) ? "<name>" : "");
            }
        }
    }
    problem(ps, index, &sb);
}

/* "option 'x' must be <what>, got '<value>'" */
static void report_bad(struct parse *ps, int index, const char *name, bool secret,
                       const char *value, const char *what_fmt, ...) SL_PRINTF(6, 7);

static void report_bad(struct parse *ps, int index, const char *name, bool secret,
                       const char *value, const char *what_fmt, ...)
{
    struct sl_msgbuf sb;
    sl_msgbuf_init(&sb);
    sl_msgbuf_puts(&sb, "option '");
    sl_msgbuf_put_shown(&sb, name, SHOW_MAX);
    sl_msgbuf_puts(&sb, "' must be ");
    va_list ap;
    va_start(ap, what_fmt);
    sl_msgbuf_vprintf(&sb, what_fmt, ap);
    va_end(ap);
    if (secret) {
        sl_msgbuf_puts(&sb, ", got <secret>");
    } else {
        sl_msgbuf_puts(&sb, ", got '");
        sl_msgbuf_put_shown(&sb, value, SHOW_MAX);
        sl_msgbuf_puts(&sb, "'");
    }
    problem(ps, index, &sb);
}

static void report_range(struct parse *ps, int index, const char *name, bool secret,
                         const struct sl_option_def *d, const char *value)
{
    struct sl_msgbuf what;
    sl_msgbuf_init(&what);
    if (d->max == INT64_MAX) {
        sl_msgbuf_puts(&what, "at least ");
        fmt_bound(&what, d->type, d->min);
    } else {
        sl_msgbuf_puts(&what, "between ");
        fmt_bound(&what, d->type, d->min);
        sl_msgbuf_puts(&what, " and ");
        fmt_bound(&what, d->type, d->max);
    }
    report_bad(ps, index, name, secret, value, "%s", sl_msgbuf_str(&what));
    sl_msgbuf_fini(&what);
}

static bool has_range(const struct sl_option_def *d)
{
    return !(d->min == 0 && d->max == 0);
}

static bool parse_bool(const char *s, int64_t *ret)
{
    static const char *const yes[] = {"true", "on", "yes", "1"};
    static const char *const no[] = {"false", "off", "no", "0"};
    for (size_t i = 0; i < SL_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *ret = 1;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *ret = 0;
            return true;
        }
    }
    return false;
}

/* Index of s among "a|b|c" (case-insensitive), or -1; *ret_canon points at the choice. */
static int enum_index(const char *choices, const char *s, const char **ret_canon, size_t *ret_len)
{
    size_t sl = strlen(s);
    int i = 0;
    for (const char *p = choices; p != NULL; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (n == sl && strncasecmp(p, s, n) == 0) {
            *ret_canon = p;
            *ret_len = n;
            return i;
        }
        p = bar != NULL ? bar + 1 : NULL;
    }
    return -1;
}

/* Parses value into v (already holding def, name). Returns 0 or -1 after reporting. */
static int parse_value(struct parse *ps, int index, struct sl_opt_value *v, const char *value)
{
    const struct sl_option_def *d = v->def;
    bool secret = sl_options_is_secret(d, v->name);
    const char *name = v->name;
    int64_t i = 0;
    int r;

    switch (d->type) {
    case SL_OPT_STRING:
        break;
    case SL_OPT_INT: {
        const char *p = value;
        bool neg = false;
        if (*p == '-' || *p == '+') {
            neg = *p == '-';
            p++;
        }
        r = read_u63(&p, &i);
        if (r == -EINVAL || *p != '\0') {
            report_bad(ps, index, name, secret, value, "an integer");
            return -1;
        }
        if (r == -ERANGE) {
            if (has_range(d)) {
                report_range(ps, index, name, secret, d, value);
            } else {
                report_bad(ps, index, name, secret, value, "a 64-bit integer");
            }
            return -1;
        }
        if (neg) {
            i = -i;
        }
        break;
    }
    case SL_OPT_DOUBLE: {
        char *end = NULL;
        errno = 0;
        double x = strtod(value, &end);
        if (*value == '\0' || isspace((unsigned char)*value) || end == NULL || *end != '\0' ||
            !isfinite(x) || errno == ERANGE) {
            report_bad(ps, index, name, secret, value, "a number");
            return -1;
        }
        v->d = x;
        break;
    }
    case SL_OPT_BOOL:
        if (!parse_bool(value, &i)) {
            report_bad(ps, index, name, secret, value, "true or false");
            return -1;
        }
        break;
    case SL_OPT_DURATION:
        r = sl_parse_duration(value, &i);
        if (r == -ERANGE && has_range(d)) {
            report_range(ps, index, name, secret, d, value);
            return -1;
        }
        if (r < 0) {
            report_bad(ps, index, name, secret, value, "a duration like '500ms', '10s', '5m'");
            return -1;
        }
        break;
    case SL_OPT_SIZE:
        r = sl_parse_size(value, &i);
        if (r == -ERANGE && has_range(d)) {
            report_range(ps, index, name, secret, d, value);
            return -1;
        }
        if (r < 0) {
            report_bad(ps, index, name, secret, value, "a size like '512', '64KiB', '1MiB'");
            return -1;
        }
        break;
    case SL_OPT_ENUM: {
        const char *canon = NULL;
        size_t clen = 0;
        int k = enum_index(d->choices != NULL ? d->choices : "", value, &canon, &clen);
        if (k < 0) {
            report_bad(ps, index, name, secret, value, "one of %s",
                       d->choices != NULL ? d->choices : "");
            return -1;
        }
        i = k;
        char *c = strndup(canon, clen);
        if (c == NULL) {
            return -ENOMEM;
        }
        v->str = c;
        v->i = i;
        return 0;
    }
    }
    if ((d->type == SL_OPT_INT || d->type == SL_OPT_DURATION || d->type == SL_OPT_SIZE) &&
        has_range(d) && (i < d->min || i > d->max)) {
        report_range(ps, index, name, secret, d, value);
        return -1;
    }
    v->i = i;
    v->str = strdup(value);
    return v->str != NULL ? 0 : -ENOMEM;
}

static int count_defs(const struct sl_option_def *const *tables)
{
    int n = 0;
    for (int t = 0; tables[t] != NULL; t++) {
        for (const struct sl_option_def *d = tables[t]; d->name != NULL; d++) {
            n++;
        }
    }
    return n;
}

/* The index of def d across tables, in table order. */
static int def_index(const struct sl_option_def *const *tables, const struct sl_option_def *d)
{
    int k = 0;
    for (int t = 0; tables[t] != NULL; t++) {
        for (const struct sl_option_def *e = tables[t]; e->name != NULL; e++, k++) {
            if (e == d) {
                return k;
            }
        }
    }
    return -1;
}

/* Fills v for def d from input i (or the default when i < 0) and parses the value. Returns
 * 0, -1 after reporting a bad value, or -ENOMEM. */
static int fill(struct parse *ps, struct sl_opt_value *v, const struct sl_option_def *d,
                const char *name, const struct sl_opt_input *in, int i)
{
    v->def = d;
    v->name = strdup(name);
    if (v->name == NULL) {
        return -ENOMEM;
    }
    v->given = i >= 0;
    v->line = i >= 0 ? in[i].line : 0;
    v->col = i >= 0 ? in[i].col : 0;
    v->index = i;
    return parse_value(ps, i, v, i >= 0 ? in[i].value : d->def);
}

static void free_value(struct sl_opt_value *v)
{
    free(v->name);
    free(v->str);
    memset(v, 0, sizeof(*v));
}

int sl_options_parse(const struct sl_option_def *const *tables, const char *connector,
                     const struct sl_opt_input *in, int nin, struct sl_options *ret,
                     sl_opt_report_fn report, void *ud)
{
    struct parse ps = {
        .tables = tables,
        .connector = connector != NULL ? connector : "?",
        .report = report,
        .ud = ud,
    };
    struct sl_options o = {0};
    if (nin < 0 || (nin > 0 && in == NULL)) {
        nin = 0;
    }
    int ndefs = count_defs(tables);
    /* One slot per def (table order), then one per input for prefix options. Problems are
     * reported in input order, then missing options in table order. */
    int nslots = ndefs + nin;
    struct sl_opt_value *slot = calloc((size_t)nslots + 1, sizeof(*slot));
    o.v = calloc((size_t)nslots + 1, sizeof(*o.v));
    if (slot == NULL || o.v == NULL) {
        ps.problems = -ENOMEM;
        goto fail;
    }

    for (int i = 0; i < nin; i++) {
        const char *name = in[i].name;
        if (name == NULL || in[i].value == NULL || strcasecmp(name, "connector") == 0) {
            continue; /* "connector" is the front end's own option */
        }
        const struct sl_option_def *d = find_def(tables, name);
        if (d == NULL) {
            report_unknown(&ps, i, name);
            continue;
        }
        bool twice = false;
        for (int j = 0; j < i && !twice; j++) {
            twice = in[j].name != NULL && in[j].value != NULL && strcasecmp(in[j].name, name) == 0;
        }
        if (twice) {
            struct sl_msgbuf sb;
            sl_msgbuf_init(&sb);
            sl_msgbuf_puts(&sb, "option '");
            sl_msgbuf_put_shown(&sb, name, SHOW_MAX);
            sl_msgbuf_puts(&sb, "' is given twice");
            problem(&ps, i, &sb);
            continue;
        }
        struct sl_opt_value *v = is_prefix_def(d) ? &slot[ndefs + i] : &slot[def_index(tables, d)];
        int r = fill(&ps, v, d, is_prefix_def(d) ? name : d->name, in, i);
        if (r == -ENOMEM) {
            ps.problems = r;
            goto fail;
        }
    }

    int k = 0;
    for (int t = 0; tables[t] != NULL; t++) {
        for (const struct sl_option_def *d = tables[t]; d->name != NULL; d++, k++) {
            if (is_prefix_def(d) || slot[k].def != NULL) {
                continue;
            }
            if (d->flags & SL_OPT_REQUIRED) {
                struct sl_msgbuf sb;
                sl_msgbuf_init(&sb);
                sl_msgbuf_printf(&sb, "connector %s needs option '%s': %s", ps.connector, d->name,
                                 d->help != NULL ? d->help : "");
                problem(&ps, -1, &sb);
                continue;
            }
            if (d->def == NULL) {
                continue;
            }
            int r = fill(&ps, &slot[k], d, d->name, in, -1);
            if (r == -ENOMEM) {
                ps.problems = r;
                goto fail;
            }
        }
    }
    if (ps.problems != 0) {
        goto fail;
    }
    for (int j = 0; j < nslots; j++) {
        if (slot[j].def != NULL) {
            o.v[o.n++] = slot[j];
            memset(&slot[j], 0, sizeof(slot[j]));
        }
    }
    free(slot);
    *ret = o;
    return 0;

fail:
    if (slot != NULL) {
        for (int j = 0; j < nslots; j++) {
            free_value(&slot[j]);
        }
    }
    free(slot);
    sl_options_fini(&o);
    return ps.problems;
}

void sl_options_fini(struct sl_options *o)
{
    if (o == NULL) {
        return;
    }
    for (int i = 0; i < o->n; i++) {
        free(o->v[i].name);
        free(o->v[i].str);
    }
    free(o->v);
    o->v = NULL;
    o->n = 0;
}

const struct sl_opt_value *sl_options_get(const struct sl_options *o, const char *name)
{
    if (o == NULL || name == NULL) {
        return NULL;
    }
    for (int i = 0; i < o->n; i++) {
        if (o->v[i].name != NULL && strcasecmp(o->v[i].name, name) == 0) {
            return &o->v[i];
        }
    }
    return NULL;
}

const char *sl_options_str(const struct sl_options *o, const char *name)
{
    const struct sl_opt_value *v = sl_options_get(o, name);
    return v != NULL ? v->str : NULL;
}

int64_t sl_options_int(const struct sl_options *o, const char *name, int64_t dflt)
{
    const struct sl_opt_value *v = sl_options_get(o, name);
    return v != NULL ? v->i : dflt;
}
