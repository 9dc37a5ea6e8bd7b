/*
 * redis_run.c - the Redis sink at run time, on hiredis (blocking context, own thread).
 *
 * write() renders every row's key and values and encodes the commands of `pipeline` rows as
 * RESP into one buffer handed to hiredis; two pipelines are in flight (Redis executes one
 * while the next is encoded), and write() returns only when every reply is read. A hash row
 * is HSET of its non-NULL columns and HDEL of its NULL ones (plus PEXPIRE for ttl), wrapped
 * in MULTI/EXEC when it takes more than one command; a string row is SET key JSON [PX ttl];
 * a stream row XADD key MAXLEN ~ n * field value… [PEXPIRE]; publish PUBLISH key JSON; zset
 * ZADD key score member [PEXPIRE]. latest_key runs a Lua script (EVALSHA, loaded at connect)
 * that writes only when the row's window_start is not older than the one stored there; the
 * latest key always holds window_start (a hash field, or a member of the JSON).
 *
 * Errors: a broken connection or a timeout frees the context and returns -EAGAIN (the engine
 * backs off with jitter and calls write again with the same rows: the resend). Replies that
 * are errors are classified: OOM, READONLY, LOADING, BUSY, MASTERDOWN, TRYAGAIN and NOSCRIPT
 * are transient (all replies are read, then -EAGAIN); WRONGTYPE, NOPERM, script errors and
 * anything else are permanent: the row is counted, logged with its key (rate-limited) and
 * skipped, the rest is acknowledged. The URL's password is never logged.
 *
 * Sink thread only, except open/close.
 */
#include <hiredis/hiredis.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "connectors/redis/redis_run.h"
#include "engine/format.h"
#include "engine/log.h"
#include "engine/metrics.h"
#include "engine/template.h"
#include "queries/plan.h"

enum { TYPE_HASH, TYPE_STRING, TYPE_STREAM, TYPE_PUBLISH, TYPE_ZSET };

/* Error kinds, the values of the `kind` label. */
enum { EK_NONE, EK_WRONGTYPE, EK_OOM, EK_READONLY, EK_OTHER, EK_CONN, EK_N };
static const char *const ek_names[EK_N] = {"",         "wrongtype", "oom",
                                           "readonly", "other",     "connection"};

/* What a queued command's reply means. */
enum { CMD_PLAIN, CMD_QUEUED, CMD_EXEC };

#define CONNECT_TIMEOUT_MS 2000
#define COMMAND_TIMEOUT_MS 5000

/* KEYS[1] latest key; ARGV[1] window_start (ms); ARGV[2] ttl ms ('0': none); ARGV[3] 'h' or
 * 's'. 's': ARGV[4] the JSON. 'h': ARGV[4] n, then n field/value pairs, then fields to
 * delete. Writes only when the stored window_start is not newer; returns 1 if written. */
static const char latest_lua[] =
    "local ws = tonumber(ARGV[1])\n"
    "local cur\n"
    "if ARGV[3] == 'h' then\n"
    "  cur = redis.call('HGET', KEYS[1], 'window_start')\n"
    "else\n"
    "  local s = redis.call('GET', KEYS[1])\n"
    "  if s then\n"
    "    local ok, o = pcall(cjson.decode, s)\n"
    "    if ok and type(o) == 'table' then cur = o['window_start'] end\n"
    "  end\n"
    "end\n"
    "if cur and tonumber(cur) and tonumber(cur) > ws then return 0 end\n"
    "if ARGV[3] == 'h' then\n"
    "  local n = tonumber(ARGV[4])\n"
    "  if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 5, 4 + 2 * n)) end\n"
    "  redis.call('HSET', KEYS[1], 'window_start', ARGV[1])\n"
    "  if #ARGV > 4 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 5 + 2 * n, #ARGV)) "
    "end\n"
    "else\n"
    "  redis.call('SET', KEYS[1], ARGV[4])\n"
    "end\n"
    "if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
    "return 1\n";

struct cmdrec {
    int row;
    int kind;
};

struct rsink {
    const struct sl_plan *plan;
    const char *name;
    int type;
    struct sl_template key, latest, hll;
    bool has_latest, has_hll;
    bool ws_selected; /* an output column is called window_start */
    int64_t ttl_ms, maxlen;
    int score_col, member_col;
    int pipeline;
    const char **names;

    /* where */
    bool is_unix;
    char *host, *path, *user, *pass;
    int port, db;
    redisContext *c;
    bool ever_connected;
    bool sigpipe_blocked; /* in the sink thread */
    char sha[48];
    bool sha_ok;

    /* scratch: arguments of one command (bytes + offsets), pieces, keys */
    struct sl_buf ab;
    size_t *aoff, *alen;
    int nargs, acap;
    bool nomem;
    struct sl_buf pb, kb, kb2, jb;
    struct sl_buf ob; /* RESP of one pipeline */
    size_t *poff;
    struct sl_tmpl_piece *pieces;
    int maxph;
    struct cmdrec *cmds;
    int ncmds, ccap;
    uint8_t *row_err; /* per row of the write: first error kind */
    char **row_msg;   /* its message (malloc'd) */
    int rcap;

    /* metrics (fallback cells when the engine gives no registry) */
    struct sl_counter *m_cmds, *m_err[EK_N], *m_reconnects, *m_refused;
    struct sl_histogram *m_rtt;
    struct sl_counter local_ctr[EK_N + 3];
    struct sl_histogram local_h;
};

/* ---- argument building ---- */

static void args_reset(struct rsink *k)
{
    sl_buf_reset(&k->ab);
    k->nargs = 0;
}

static void args_grow(struct rsink *k)
{
    if (k->nargs < k->acap) {
        return;
    }
    int cap = k->acap ? k->acap * 2 : 64;
    k->aoff = sl_xrealloc(k->aoff, sizeof(*k->aoff) * (size_t)cap);
    k->alen = sl_xrealloc(k->alen, sizeof(*k->alen) * (size_t)cap);
    k->acap = cap;
}

static void arg_mark(struct rsink *k, size_t start)
{
    args_grow(k);
    k->aoff[k->nargs] = start;
    k->alen[k->nargs] = k->ab.len - start;
    k->nargs++;
}

static void arg_add(struct rsink *k, const char *s, size_t n)
{
    size_t start = k->ab.len;
    if (sl_buf_append(&k->ab, s, n) < 0) {
        k->nomem = true;
    }
    arg_mark(k, start);
}

static void arg_str(struct rsink *k, const char *s)
{
    arg_add(k, s, strlen(s));
}

static void arg_int(struct rsink *k, int64_t v)
{
    char num[SL_FORMAT_NUM_MAX];
    size_t n = sl_format_int(v, num);
    arg_add(k, num, n);
}

static void arg_val(struct rsink *k, const struct sl_value *v)
{
    size_t start = k->ab.len;
    if (v->type == SL_TYPE_DOUBLE && !v->null) {
        char num[SL_FORMAT_NUM_MAX];
        arg_add(k, num, sl_format_double(v->u.d, num));
        return;
    }
    if (sl_format_text(&k->ab, v) < 0) {
        k->nomem = true;
    }
    arg_mark(k, start);
}

/* Writes c then v in decimal then CRLF at o; returns the end. */
static char *put_head(char *o, char c, size_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    *o++ = c;
    while (n > 0) {
        *o++ = tmp[--n];
    }
    *o++ = '\r';
    *o++ = '\n';
    return o;
}

/* Encodes the built command (RESP) at the end of the pipeline buffer k->ob. */
static void send_cmd(struct rsink *k, int row, int kind)
{
    if (sl_buf_reserve(&k->ob, k->ab.len + 16 + (size_t)k->nargs * 24) < 0) {
        k->nomem = true;
        return;
    }
    char *o = k->ob.p + k->ob.len;
    o = put_head(o, '*', (size_t)k->nargs);
    for (int i = 0; i < k->nargs; i++) {
        o = put_head(o, '$', k->alen[i]);
        memcpy(o, k->ab.p + k->aoff[i], k->alen[i]);
        o += k->alen[i];
        *o++ = '\r';
        *o++ = '\n';
    }
    *o = '\0';
    k->ob.len = (size_t)(o - k->ob.p);
    if (k->ncmds == k->ccap) {
        int cap = k->ccap ? k->ccap * 2 : 1024;
        k->cmds = sl_xrealloc(k->cmds, sizeof(*k->cmds) * (size_t)cap);
        k->ccap = cap;
    }
    k->cmds[k->ncmds].row = row;
    k->cmds[k->ncmds].kind = kind;
    k->ncmds++;
}

/* Renders template t for row into out (reset first); returns 0 or -ENOMEM. */
static int render(struct rsink *k, const struct sl_template *t, const struct sl_row *row,
                  struct sl_buf *out)
{
    sl_buf_reset(&k->pb);
    int p = 0;
    for (int i = 0; i < t->nsegs; i++) {
        const struct sl_tmpl_seg *s = &t->segs[i];
        if (!s->placeholder) {
            continue;
        }
        k->poff[p] = k->pb.len;
        char num[SL_FORMAT_NUM_MAX];
        int r = 0;
        switch (s->ref) {
        case SL_TMPL_OUT:
            r = sl_format_text(&k->pb, &row->vals[s->col]);
            break;
        case SL_TMPL_WINDOW_START:
            r = sl_buf_append(&k->pb, num, sl_format_int(row->window_start, num));
            break;
        case SL_TMPL_WINDOW_END:
            r = sl_buf_append(&k->pb, num, sl_format_int(row->window_end, num));
            break;
        case SL_TMPL_ID:
            r = sl_buf_puts(&k->pb, row->id != NULL ? row->id : "");
            break;
        default:
            break;
        }
        if (r < 0) {
            return -ENOMEM;
        }
        p++;
    }
    for (int i = 0; i < p; i++) {
        k->pieces[i].s = k->pb.p + k->poff[i];
        k->pieces[i].len = (i + 1 < p ? k->poff[i + 1] : k->pb.len) - k->poff[i];
    }
    size_t need = t->literal_len + k->pb.len + 1;
    sl_buf_reset(out);
    if (sl_buf_reserve(out, need) < 0) {
        return -ENOMEM;
    }
    int n = sl_template_render(t, k->pieces, out->p, out->cap);
    if (n < 0) {
        return n;
    }
    out->len = (size_t)n;
    return 0;
}

/* ---- connection ---- */

static void set_err(struct rsink *k, int row, int kind, const char *msg)
{
    if (k->row_err[row] != EK_NONE) {
        return;
    }
    k->row_err[row] = (uint8_t)kind;
    k->row_msg[row] = strdup(msg != NULL ? msg : "");
}

/* A write to a socket Redis closed raises SIGPIPE in the writing thread, which would kill the
 * process: the sink thread blocks it for itself (the process's disposition is left alone) and
 * discards one that is pending after a failure. */
static void block_sigpipe(struct rsink *k)
{
    if (k->sigpipe_blocked) {
        return;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    k->sigpipe_blocked = true;
}

static void drain_sigpipe(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) == SIGPIPE) {
    }
}

static void drop_conn(struct rsink *k, const char *what)
{
    drain_sigpipe();
    sl_counter_sw_inc(k->m_err[EK_CONN]);
    char lk[160];
    snprintf(lk, sizeof(lk), "redis:%s:conn", k->name);
    sl_log_keyed(lk, 10, SL_LOG_WARN, "redis", "sink %s: Redis connection to %s:%d%s: %s", k->name,
                 k->is_unix ? k->path : k->host, k->is_unix ? 0 : k->port,
                 k->is_unix ? " (unix)" : "", what);
    if (k->c != NULL) {
        redisFree(k->c);
        k->c = NULL;
    }
    k->sha_ok = false;
}

/* One synchronous command during connection set-up; returns the reply or NULL (and drops
 * the connection, logging what failed). */
static redisReply *setup_cmd(struct rsink *k, const char *what, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(k->c, argc, argv, NULL);
    if (r == NULL) {
        drop_conn(k, k->c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        char msg[600];
        snprintf(msg, sizeof(msg), "%s refused: %.500s", what, r->str);
        freeReplyObject(r);
        drop_conn(k, msg);
        return NULL;
    }
    return r;
}

static int load_script(struct rsink *k)
{
    const char *argv[] = {"SCRIPT", "LOAD", latest_lua};
    redisReply *r = setup_cmd(k, "SCRIPT LOAD", 3, argv);
    if (r == NULL) {
        return -EAGAIN;
    }
    if (r->type == REDIS_REPLY_STRING && r->len < sizeof(k->sha)) {
        memcpy(k->sha, r->str, r->len);
        k->sha[r->len] = '\0';
        k->sha_ok = true;
    }
    freeReplyObject(r);
    return k->sha_ok ? 0 : -EAGAIN;
}

static int ensure_conn(struct rsink *k)
{
    if (k->c == NULL) {
        struct timeval tv = {CONNECT_TIMEOUT_MS / 1000, (CONNECT_TIMEOUT_MS % 1000) * 1000};
        k->c = k->is_unix ? redisConnectUnixWithTimeout(k->path, tv)
                          : redisConnectWithTimeout(k->host, k->port, tv);
        if (k->c == NULL) {
            drop_conn(k, "out of memory");
            return -EAGAIN;
        }
        if (k->c->err) {
            drop_conn(k, k->c->errstr);
            return -EAGAIN;
        }
        struct timeval ct = {COMMAND_TIMEOUT_MS / 1000, (COMMAND_TIMEOUT_MS % 1000) * 1000};
        redisSetTimeout(k->c, ct);
        if (!k->is_unix) {
            redisEnableKeepAlive(k->c); /* finds a dead peer on an idle connection */
        }
        if (k->pass != NULL) {
            const char *av[] = {"AUTH", k->user, k->pass};
            bool with_user = k->user != NULL && k->user[0] != '\0';
            redisReply *r = with_user ? setup_cmd(k, "AUTH", 3, av)
                                      : setup_cmd(k, "AUTH", 2, (const char *[]){"AUTH", k->pass});
            if (r == NULL) {
                return -EAGAIN;
            }
            freeReplyObject(r);
        }
        if (k->db != 0) {
            char db[16];
            snprintf(db, sizeof(db), "%d", k->db);
            const char *av[] = {"SELECT", db};
            redisReply *r = setup_cmd(k, "SELECT", 2, av);
            if (r == NULL) {
                return -EAGAIN;
            }
            freeReplyObject(r);
        }
        if (k->ever_connected) {
            sl_counter_sw_inc(k->m_reconnects);
            char lk[160];
            snprintf(lk, sizeof(lk), "redis:%s:up", k->name);
            sl_log_keyed(lk, 10, SL_LOG_INFO, "redis", "sink %s: reconnected to Redis", k->name);
        }
        k->ever_connected = true;
    }
    if (k->has_latest && !k->sha_ok) {
        return load_script(k);
    }
    return 0;
}

/* ---- rows to commands ---- */

static void ttl_arg_cmd(struct rsink *k, const struct sl_buf *key, int row)
{
    args_reset(k);
    arg_str(k, "PEXPIRE");
    arg_add(k, key->p, key->len);
    arg_int(k, k->ttl_ms);
    send_cmd(k, row, CMD_PLAIN);
}

/* JSON of the row into k->jb; with_ws: also window_start when not selected. */
static void row_json(struct rsink *k, const struct sl_row *row, bool with_ws)
{
    sl_buf_reset(&k->jb);
    if (sl_format_row(&k->jb, k->names, row->vals, k->plan->nout) < 0) {
        k->nomem = true;
        return;
    }
    if (with_ws && !k->ws_selected && k->jb.len > 0) {
        char num[SL_FORMAT_NUM_MAX];
        sl_format_int(row->window_start, num);
        k->jb.len--; /* the closing brace */
        if (sl_buf_appendf(&k->jb, "%s\"window_start\":%s}", k->plan->nout > 0 ? "," : "", num) <
            0) {
            k->nomem = true;
        }
    }
}

static void hash_fields(struct rsink *k, const struct sl_row *row, bool nulls)
{
    for (int c = 0; c < k->plan->nout; c++) {
        if ((row->vals[c].null != 0) != nulls) {
            continue;
        }
        arg_str(k, k->names[c]);
        if (!nulls) {
            arg_val(k, &row->vals[c]);
        }
    }
}

static void append_row(struct rsink *k, const struct sl_row *row, int ri)
{
    const struct sl_plan *plan = k->plan;
    struct sl_buf *key = &k->kb;
    if (render(k, &k->key, row, key) < 0) {
        k->nomem = true;
        return;
    }
    int nnull = 0;
    for (int c = 0; c < plan->nout; c++) {
        nnull += row->vals[c].null != 0;
    }
    switch (k->type) {
    case TYPE_HASH: {
        bool hset = nnull<plan->nout, hdel = nnull> 0;
        bool multi = (int)hset + (int)hdel + (k->ttl_ms > 0) > 1;
        if (multi) {
            args_reset(k);
            arg_str(k, "MULTI");
            send_cmd(k, ri, CMD_QUEUED);
        }
        if (hset) {
            args_reset(k);
            arg_str(k, "HSET");
            arg_add(k, key->p, key->len);
            hash_fields(k, row, false);
            send_cmd(k, ri, multi ? CMD_QUEUED : CMD_PLAIN);
        }
        if (hdel) {
            args_reset(k);
            arg_str(k, "HDEL");
            arg_add(k, key->p, key->len);
            hash_fields(k, row, true);
            send_cmd(k, ri, multi ? CMD_QUEUED : CMD_PLAIN);
        }
        if (k->ttl_ms > 0) {
            ttl_arg_cmd(k, key, ri);
            if (multi) {
                k->cmds[k->ncmds - 1].kind = CMD_QUEUED;
            }
        }
        if (multi) {
            args_reset(k);
            arg_str(k, "EXEC");
            send_cmd(k, ri, CMD_EXEC);
        }
        break;
    }
    case TYPE_STRING:
        row_json(k, row, false);
        args_reset(k);
        arg_str(k, "SET");
        arg_add(k, key->p, key->len);
        arg_add(k, k->jb.p, k->jb.len);
        if (k->ttl_ms > 0) {
            arg_str(k, "PX");
            arg_int(k, k->ttl_ms);
        }
        send_cmd(k, ri, CMD_PLAIN);
        break;
    case TYPE_STREAM:
        args_reset(k);
        arg_str(k, "XADD");
        arg_add(k, key->p, key->len);
        arg_str(k, "MAXLEN");
        arg_str(k, "~");
        arg_int(k, k->maxlen);
        arg_str(k, "*");
        if (nnull == plan->nout) {
            arg_str(k, "_id");
            arg_str(k, row->id != NULL ? row->id : "");
        } else {
            hash_fields(k, row, false);
        }
        send_cmd(k, ri, CMD_PLAIN);
        if (k->ttl_ms > 0) {
            ttl_arg_cmd(k, key, ri);
        }
        break;
    case TYPE_PUBLISH:
        row_json(k, row, false);
        args_reset(k);
        arg_str(k, "PUBLISH");
        arg_add(k, key->p, key->len);
        arg_add(k, k->jb.p, k->jb.len);
        send_cmd(k, ri, CMD_PLAIN);
        break;
    case TYPE_ZSET: {
        const struct sl_value *sv = &row->vals[k->score_col];
        const struct sl_value *mv = &row->vals[k->member_col];
        if (sv->null || mv->null) {
            set_err(k, ri, EK_OTHER, "the zset score or member is NULL");
            break;
        }
        args_reset(k);
        arg_str(k, "ZADD");
        arg_add(k, key->p, key->len);
        arg_val(k, sv);
        arg_val(k, mv);
        send_cmd(k, ri, CMD_PLAIN);
        if (k->ttl_ms > 0) {
            ttl_arg_cmd(k, key, ri);
        }
        break;
    }
    default:
        break;
    }

    if (k->has_latest) {
        if (render(k, &k->latest, row, &k->kb2) < 0) {
            k->nomem = true;
            return;
        }
        args_reset(k);
        arg_str(k, "EVALSHA");
        arg_str(k, k->sha);
        arg_str(k, "1");
        arg_add(k, k->kb2.p, k->kb2.len);
        arg_int(k, row->window_start);
        arg_int(k, k->ttl_ms);
        if (k->type == TYPE_HASH) {
            arg_str(k, "h");
            arg_int(k, plan->nout - nnull);
            hash_fields(k, row, false);
            hash_fields(k, row, true);
        } else {
            row_json(k, row, true);
            arg_str(k, "s");
            arg_add(k, k->jb.p, k->jb.len);
        }
        send_cmd(k, ri, CMD_PLAIN);
    }
    if (k->has_hll && row->hll != NULL) {
        if (render(k, &k->hll, row, &k->kb2) < 0) {
            k->nomem = true;
            return;
        }
        args_reset(k);
        arg_str(k, "SET");
        arg_add(k, k->kb2.p, k->kb2.len);
        arg_add(k, row->hll, row->hll_len);
        if (k->ttl_ms > 0) {
            arg_str(k, "PX");
            arg_int(k, k->ttl_ms);
        }
        send_cmd(k, ri, CMD_PLAIN);
    }
}

/* ---- replies ---- */

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Error kind of a reply error message; *ret_transient: retry instead of skip. */
static int classify(struct rsink *k, const char *msg, bool *ret_transient)
{
    *ret_transient = false;
    if (has_prefix(msg, "WRONGTYPE")) {
        return EK_WRONGTYPE;
    }
    if (has_prefix(msg, "OOM")) {
        *ret_transient = true;
        return EK_OOM;
    }
    if (has_prefix(msg, "READONLY")) {
        *ret_transient = true;
        return EK_READONLY;
    }
    if (has_prefix(msg, "NOSCRIPT")) {
        k->sha_ok = false;
        *ret_transient = true;
        return EK_OTHER;
    }
    static const char *const transient[] = {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN",
                                            "CLUSTERDOWN"};
    for (size_t i = 0; i < SL_ARRAY_LEN(transient); i++) {
        if (has_prefix(msg, transient[i])) {
            *ret_transient = true;
            return EK_OTHER;
        }
    }
    return EK_OTHER;
}

/* Records an error reply for row ri; returns true when it is transient. */
static bool reply_error(struct rsink *k, int ri, const char *msg)
{
    bool transient;
    int kind = classify(k, msg, &transient);
    if (transient) {
        sl_counter_sw_inc(k->m_err[kind]);
        char lk[160];
        snprintf(lk, sizeof(lk), "redis:%s:transient", k->name);
        sl_log_keyed(lk, 10, SL_LOG_WARN, "redis",
                     "sink %s: Redis is not accepting writes "
                     "(will retry): %.300s",
                     k->name, msg);
        return true;
    }
    if (has_prefix(msg, "EXECABORT") && k->row_err[ri] != EK_NONE) {
        return false; /* the queued command's own error is already recorded */
    }
    set_err(k, ri, kind, msg);
    return false;
}

/* Reads the replies of commands [from, to). Returns 0 or -EAGAIN (connection lost: the
 * context is dropped); a transient error reply sets *transient. */
static int read_replies(struct rsink *k, int from, int to, bool *transient)
{
    for (int i = from; i < to; i++) {
        void *rv = NULL;
        if (redisGetReply(k->c, &rv) != REDIS_OK || rv == NULL) {
            drop_conn(k, k->c->errstr[0] ? k->c->errstr : "connection lost");
            return -EAGAIN;
        }
        redisReply *r = rv;
        int ri = k->cmds[i].row;
        if (r->type == REDIS_REPLY_ERROR) {
            *transient |= reply_error(k, ri, r->str);
        } else if (k->cmds[i].kind == CMD_EXEC) {
            if (r->type != REDIS_REPLY_ARRAY) {
                *transient = true; /* a nil EXEC: aborted, send again */
            } else {
                for (size_t e = 0; e < r->elements; e++) {
                    if (r->element[e]->type == REDIS_REPLY_ERROR) {
                        *transient |= reply_error(k, ri, r->element[e]->str);
                    }
                }
            }
        }
        freeReplyObject(r);
    }
    return 0;
}

static void report_refused(struct rsink *k, const struct sl_row *rows, int n)
{
    for (int i = 0; i < n; i++) {
        if (k->row_err[i] == EK_NONE) {
            continue;
        }
        sl_counter_sw_inc(k->m_err[k->row_err[i]]);
        sl_counter_sw_inc(k->m_refused);
        const char *key = "?";
        if (render(k, &k->key, &rows[i], &k->kb) == 0) {
            key = k->kb.p;
        }
        char lk[160];
        snprintf(lk, sizeof(lk), "redis:%s:%s", k->name, ek_names[k->row_err[i]]);
        sl_log_keyed(lk, 10, SL_LOG_WARN, "redis",
                     "sink %s: Redis refused the row at key '%.200s' (%s; row skipped): %.300s",
                     k->name, key, ek_names[k->row_err[i]], k->row_msg[i]);
    }
}

static void clear_row_errs(struct rsink *k, int n)
{
    for (int i = 0; i < n; i++) {
        k->row_err[i] = EK_NONE;
        free(k->row_msg[i]);
        k->row_msg[i] = NULL;
    }
}

/* Sends the rows `pipeline` at a time, keeping two pipelines in flight (Redis executes one
 * while the next is encoded), and returns once every reply is read. */
static int rsink_write(void *state, const struct sl_row *rows, int n)
{
    struct rsink *k = state;
    block_sigpipe(k);
    int r = ensure_conn(k);
    if (r < 0) {
        return r;
    }
    if (n > k->rcap) {
        k->row_err = sl_xrealloc(k->row_err, (size_t)n);
        k->row_msg = sl_xrealloc(k->row_msg, sizeof(*k->row_msg) * (size_t)n);
        memset(k->row_err + k->rcap, 0, (size_t)(n - k->rcap));
        memset(k->row_msg + k->rcap, 0, sizeof(*k->row_msg) * (size_t)(n - k->rcap));
        k->rcap = n;
    }
    struct timespec ts0;
    clock_gettime(CLOCK_MONOTONIC, &ts0);
    k->ncmds = 0;
    k->nomem = false;
    bool transient = false;
    int nread = 0;
    for (int off = 0; off < n && r == 0; off += k->pipeline) {
        int m = n - off < k->pipeline ? n - off : k->pipeline;
        int first = k->ncmds;
        sl_buf_reset(&k->ob);
        for (int i = 0; i < m; i++) {
            append_row(k, &rows[off + i], off + i);
        }
        if (k->nomem ||
            (k->ob.len > 0 && redisAppendFormattedCommand(k->c, k->ob.p, k->ob.len) != REDIS_OK)) {
            /* The connection may hold a partial pipeline: start over on a fresh one. */
            redisFree(k->c);
            k->c = NULL;
            k->sha_ok = false;
            r = -ENOMEM;
            break;
        }
        int done = 0;
        while (!done) {
            if (redisBufferWrite(k->c, &done) != REDIS_OK) {
                drop_conn(k, k->c->errstr[0] ? k->c->errstr : "write failed");
                r = -EAGAIN;
                break;
            }
        }
        if (r == 0) {
            r = read_replies(k, nread, first, &transient);
            nread = first;
        }
    }
    if (r == 0) {
        r = read_replies(k, nread, k->ncmds, &transient);
    }
    sl_counter_sw_add(k->m_cmds, (uint64_t)k->ncmds);
    if (r == 0) {
        struct timespec ts1;
        clock_gettime(CLOCK_MONOTONIC, &ts1);
        sl_histogram_sw_observe(k->m_rtt, (double)(ts1.tv_sec - ts0.tv_sec) +
                                              (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e9);
        if (transient) {
            r = -EAGAIN;
        } else {
            report_refused(k, rows, n);
        }
    }
    clear_row_errs(k, n);
    return r;
}

/* ---- open / close ---- */

static int parse_url(struct rsink *k, const char *url)
{
    if (strncasecmp(url, "unix://", 7) == 0) {
        k->is_unix = true;
        k->path = strdup(url + 7);
        return k->path != NULL ? 0 : -ENOMEM;
    }
    if (strncasecmp(url, "redis://", 8) != 0) {
        return -EINVAL;
    }
    const char *auth = url + 8;
    const char *at = strrchr(auth, '@');
    const char *host = auth;
    if (at != NULL) {
        host = at + 1;
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon != NULL) {
            k->user = strndup(auth, (size_t)(colon - auth));
            k->pass = strndup(colon + 1, (size_t)(at - colon - 1));
        } else {
            k->user = strndup(auth, (size_t)(at - auth));
        }
    }
    size_t hlen = strcspn(host, "/");
    const char *portp = NULL;
    size_t namelen = hlen;
    const char *name = host;
    if (host[0] == '[') {
        const char *rb = memchr(host, ']', hlen);
        if (rb == NULL) {
            return -EINVAL;
        }
        name = host + 1;
        namelen = (size_t)(rb - host - 1);
        if (rb + 1 < host + hlen && rb[1] == ':') {
            portp = rb + 2;
        }
    } else {
        const char *colon = memchr(host, ':', hlen);
        if (colon != NULL) {
            namelen = (size_t)(colon - host);
            portp = colon + 1;
        }
    }
    k->host = strndup(name, namelen);
    k->port = portp != NULL ? atoi(portp) : 6379;
    if (host[hlen] == '/' && host[hlen + 1] != '\0') {
        k->db = atoi(host + hlen + 1);
    }
    return k->host != NULL ? 0 : -ENOMEM;
}

/* The key template's text: the key option, or the default key in *ret_def (malloc'd, for the
 * caller to free; NULL when the option is set). NULL when out of memory. */
static const char *key_text(const struct sl_plan *plan, char **ret_def)
{
    const char *kt = sl_options_str(&plan->sink_opts, "key");
    *ret_def = NULL;
    if (kt == NULL) {
        *ret_def = sl_template_default_key(plan);
        kt = *ret_def;
    }
    return kt;
}

static int bind_tmpl(struct rsink *k, const char *text, struct sl_template *t, struct sl_err *err)
{
    int bad = -1;
    int r = sl_template_parse(text, t, err);
    if (r < 0) {
        memset(t, 0, sizeof(*t));
        return r;
    }
    if (sl_template_bind(t, k->plan, &bad) < 0) {
        sl_template_fini(t);
        return sl_err_set(err, -EINVAL, "sink %s: template names no column", k->name);
    }
    if (t->nph > k->maxph) {
        k->maxph = t->nph;
    }
    return 0;
}

static int find_col(const struct sl_plan *plan, const char *name)
{
    for (int c = 0; name != NULL && c < plan->nout; c++) {
        if (strcasecmp(plan->out[c].name, name) == 0) {
            return c;
        }
    }
    return -1;
}

static int reg_metrics(struct rsink *k, struct sl_metrics *m, struct sl_err *err)
{
    for (int i = 0; i < EK_N; i++) {
        k->m_err[i] = &k->local_ctr[i];
    }
    k->m_cmds = &k->local_ctr[EK_N];
    k->m_reconnects = &k->local_ctr[EK_N + 1];
    k->m_refused = &k->local_ctr[EK_N + 2];
    k->m_rtt = &k->local_h;
    k->local_h.nbounds = 0;
    if (m == NULL) {
        return 0;
    }
    const char *s = k->name;
    int r = sl_metrics_counter_register(m, "sluice_redis_commands_total",
                                        "Commands the Redis sink sent.", SL_LABELS({"sink", s}),
                                        &k->m_cmds, err);
    for (int i = 1; r == 0 && i < EK_N; i++) {
        r = sl_metrics_counter_register(
            m, "sluice_redis_errors_total",
            "Errors of the Redis sink by kind (refused commands and lost connections).",
            SL_LABELS({"sink", s}, {"kind", ek_names[i]}), &k->m_err[i], err);
    }
    if (r == 0) {
        r = sl_metrics_counter_register(m, "sluice_redis_reconnects_total",
                                        "Connections to Redis re-established after a loss.",
                                        SL_LABELS({"sink", s}), &k->m_reconnects, err);
    }
    if (r == 0) {
        r = sl_metrics_counter_register(
            m, "sluice_redis_rows_refused_total",
            "Rows Redis refused for good (wrong type, no permission, script error): skipped.",
            SL_LABELS({"sink", s}), &k->m_refused, err);
    }
    if (r == 0) {
        static const double b[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                   0.05,   0.1,   0.25,  0.5,   1,    5};
        r = sl_metrics_histogram_register(
            m, "sluice_redis_write_seconds",
            "Round trip of one pipeline of rows to Redis (append to last reply).",
            SL_LABELS({"sink", s}), b, SL_ARRAY_LEN(b), &k->m_rtt, err);
    }
    return r;
}

static void rsink_close(void *state);

static int rsink_open(const struct sl_plan *plan, const struct sl_sink_env *env, void **ret_state,
                      struct sl_err *err)
{
    const struct sl_options *o = &plan->sink_opts;
    struct rsink *k = calloc(1, sizeof(*k));
    int r;
    if (k == NULL) {
        return sl_err_set(err, -ENOMEM, "out of memory");
    }
    k->plan = plan;
    k->name = plan->name;
    k->type = (int)sl_options_int(o, "type", TYPE_HASH);
    k->ttl_ms = sl_options_int(o, "ttl", 0);
    k->maxlen = sl_options_int(o, "maxlen", 100000);
    k->pipeline = (int)sl_options_int(o, "pipeline", 256);
    if (k->pipeline < 1) {
        k->pipeline = 1;
    }
    k->score_col = find_col(plan, sl_options_str(o, "score"));
    k->member_col = find_col(plan, sl_options_str(o, "member"));
    k->ws_selected = find_col(plan, "window_start") >= 0;
    sl_buf_init(&k->ab);
    sl_buf_init(&k->pb);
    sl_buf_init(&k->kb);
    sl_buf_init(&k->kb2);
    sl_buf_init(&k->jb);
    sl_buf_init(&k->ob);
    *ret_state = NULL;

    r = reg_metrics(k, env != NULL ? env->metrics : NULL, err);
    if (r < 0) {
        goto fail;
    }
    const char *url = sl_options_str(o, "url");
    if (url == NULL || parse_url(k, url) < 0) {
        r = sl_err_set(err, -EINVAL, "sink %s: bad Redis url", k->name);
        goto fail;
    }
    if (k->type == TYPE_ZSET && (k->score_col < 0 || k->member_col < 0)) {
        r = sl_err_set(err, -EINVAL, "sink %s: zset needs score and member columns", k->name);
        goto fail;
    }
    char *def;
    const char *kt = key_text(plan, &def);
    if (kt == NULL) {
        r = sl_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    r = bind_tmpl(k, kt, &k->key, err);
    free(def);
    if (r < 0) {
        goto fail;
    }
    const char *lt = sl_options_str(o, "latest_key");
    if (lt != NULL && (k->type == TYPE_HASH || k->type == TYPE_STRING) &&
        plan->window != SL_WINDOW_NONE) {
        r = bind_tmpl(k, lt, &k->latest, err);
        if (r < 0) {
            goto fail;
        }
        k->has_latest = true;
    }
    const char *ht = sl_options_str(o, "hll_key");
    if (ht != NULL) {
        r = bind_tmpl(k, ht, &k->hll, err);
        if (r < 0) {
            goto fail;
        }
        k->has_hll = true;
    }
    k->names = calloc((size_t)plan->nout + 1, sizeof(*k->names));
    k->poff = calloc((size_t)k->maxph + 1, sizeof(*k->poff));
    k->pieces = calloc((size_t)k->maxph + 1, sizeof(*k->pieces));
    if (k->names == NULL || k->poff == NULL || k->pieces == NULL) {
        r = sl_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    for (int c = 0; c < plan->nout; c++) {
        k->names[c] = plan->out[c].name;
    }
    /* Connect now if Redis is there; if not, write() connects (open never fails for it). */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if (ensure_conn(k) < 0 && k->c != NULL) {
        redisFree(k->c);
        k->c = NULL;
    }
    drain_sigpipe();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    *ret_state = k;
    return 0;
fail:
    rsink_close(k);
    return r;
}

static void rsink_close(void *state)
{
    struct rsink *k = state;
    if (k == NULL) {
        return;
    }
    if (k->c != NULL) {
        redisFree(k->c);
    }
    sl_template_fini(&k->key);
    if (k->has_latest) {
        sl_template_fini(&k->latest);
    }
    if (k->has_hll) {
        sl_template_fini(&k->hll);
    }
    clear_row_errs(k, k->rcap);
    free(k->row_msg);
    free(k->row_err);
    free(k->names);
    free(k->poff);
    free(k->pieces);
    free(k->cmds);
    free(k->aoff);
    free(k->alen);
    sl_buf_fini(&k->ab);
    sl_buf_fini(&k->pb);
    sl_buf_fini(&k->kb);
    sl_buf_fini(&k->kb2);
    sl_buf_fini(&k->jb);
    sl_buf_fini(&k->ob);
    free(k->host);
    free(k->path);
    free(k->user);
    free(k->pass);
    free(k);
}

/* Whether a key template has an {_id} placeholder; true when it does not parse (open says
 * why) or memory is short. */
static bool tmpl_reads_id(const char *text)
{
    struct sl_template t;
    struct sl_err err;
    if (sl_template_parse(text, &t, &err) < 0) {
        return true;
    }
    bool id = sl_template_mentions(&t, "_id");
    sl_template_fini(&t);
    return id;
}

/* Row ids are read by a stream entry whose columns are all NULL (it carries _id) and by any
 * key template naming {_id}, a per-event query's default key among them. A PUBLISH to a fixed
 * channel, or a hash per group, reads none: no SHA-256 per row for those. */
static bool rsink_row_ids(const struct sl_plan *plan)
{
    const struct sl_options *o = &plan->sink_opts;
    if (sl_options_int(o, "type", TYPE_HASH) == TYPE_STREAM) {
        return true;
    }
    char *def;
    const char *kt = key_text(plan, &def);
    if (kt == NULL) {
        return true;
    }
    bool ids = tmpl_reads_id(kt);
    free(def);
    const char *lt = sl_options_str(o, "latest_key"), *ht = sl_options_str(o, "hll_key");
    return ids || (lt != NULL && tmpl_reads_id(lt)) || (ht != NULL && tmpl_reads_id(ht));
}

const struct sl_sink_ops sl_redis_sink_ops = {
    .row_ids_for = rsink_row_ids,
    .open = rsink_open,
    .write = rsink_write,
    .close = rsink_close,
};
