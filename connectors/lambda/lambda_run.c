/*
 * lambda_run.c - the Lambda sink at run time: batched, SigV4-signed Invoke API calls over
 * libcurl's multi interface, on the sink's own thread.
 *
 * write() turns each row into JSON (its columns, then `_id`, `_rev`, `is_final` unless the
 * query selects columns of those names), cuts the rows into batches of at most batch_size
 * rows and batch_bytes payload bytes ({"sink": …, "records": […]}), and runs the batches
 * with up to max_in_flight invocations at once on one CURLM (connections are kept and
 * reused between calls and writes). It returns once every batch is acknowledged or
 * dead-lettered, so the engine's marker acknowledgement (DESIGN.md, Markers) covers exactly
 * the rows the function received or the dead letter holds. Rows the engine hands over
 * together always share invocations; `linger` is applied before that, by the engine's sink
 * thread (engine/sink.c), which holds per-event rows until batch_size of them wait or
 * linger has passed since the first.
 *
 * Outcomes (sl__lambda_classify): RequestResponse is acknowledged only by a 200 without
 * X-Amz-Function-Error, Event by a 202. 429 is retried no earlier than Retry-After (or the
 * body's retryAfterSeconds) and halves the in-flight limit, which grows back by one per
 * round of successes (AIMD). 5xx, timeouts, connection failures and 401/403 are retried with
 * capped (20 s), jittered exponential backoff from 500 ms; a function error is retried the
 * same way. After
 * `retries` retries the batch goes to the dead letter with the reason. 413 splits the batch
 * in two (no retry counted); a single row too large for batch_bytes, or one Lambda refuses
 * with 413, goes to the dead letter at once, as do 404 (no such function) and other 4xx.
 *
 * The dead letter is a JSON Lines file, one line per failed batch:
 * {"time": "…", "sink": "…", "function": "…", "reason": "…", "detail": "…", "status": 500,
 * "attempts": 6, "records": […]}. Without a dead_letter option, failed rows are counted and logged
 * only. Counters (label sink=name) say which rows were acknowledged and which dead-lettered, by
 * reason; acknowledged + dead-lettered = rows written.
 *
 * SigV4: libcurl signs with CURLOPT_AWS_SIGV4 "aws:amz:<region>:lambda". The Invoke path
 * holds the function name URL-encoded (an ARN's colons become %3A); SigV4 for services other
 * than S3 signs that path encoded once more (%253A). libcurl 7.x (Debian 12: 7.88) signs the
 * URL's path as it is; at open, a request signed to an abstract Unix socket shows which kind
 * this libcurl is (sl__lambda_curl_encodes_path). When it signs paths as they are, the URL carries
 * the canonical (twice-encoded) path and CURLOPT_REQUEST_TARGET the path actually sent. Credentials
 * come from creds.c's chain and are refreshed before they expire; they are never logged (no
 * CURLOPT_VERBOSE, errors name only status codes and AWS error types).
 *
 * Threads: open/close on the start-up thread, write on the sink thread.
 */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "connectors/lambda/lambda_int.h"
#include "engine/common.h"
#include "engine/format.h"
#include "engine/log.h"
#include "engine/metrics.h"
#include "queries/plan.h"

#define MIB                ((size_t)1 << 20)
#define RESP_KEEP          4096  /* response bytes kept for error reasons */
#define BACKOFF_BASE_MS    500   /* first retry after 250..500 ms; 5 retries span 8-16 s */
#define BACKOFF_CAP_MS     20000 /* no retry waits longer, Retry-After excepted */
#define RETRY_AFTER_CAP_MS (15 * 60 * 1000)

enum { INV_REQUEST_RESPONSE, INV_EVENT };

/* Results of one invocation, the values of the `result` label. */
enum {
    RES_OK,
    RES_THROTTLED,
    RES_SERVER,
    RES_NETWORK,
    RES_FUNCTION,
    RES_TOO_LARGE,
    RES_CLIENT,
    RES_N
};
static const char *const res_names[RES_N] = {"ok",       "throttled", "server_error", "network",
                                             "function", "too_large", "client_error"};

/* Reasons for dead-lettering, the values of the `reason` label. */
enum { DL_FUNCTION, DL_RETRIES, DL_OVERSIZE, DL_NOT_FOUND, DL_REFUSED, DL_N };
static const char *const dl_names[DL_N] = {"function_error", "retries_exhausted", "oversize",
                                           "not_found", "refused"};

struct job {
    int first, n;       /* rows [first, first + n) of the current write */
    int attempts;       /* failed tries so far */
    int64_t not_before; /* monotonic ms */
    bool running, done;
    long status;      /* last HTTP status, 0 below HTTP */
    int last_res;     /* RES_* of the last try */
    char reason[320]; /* why the last try failed */
};

struct slot {
    CURL *e;
    int job; /* -1: free */
    struct sl_buf body, resp;
    struct curl_slist *hdrs;
    char fn_err[64], retry_after[64], errtype[96];
    int64_t started;
    char errbuf[CURL_ERROR_SIZE];
};

struct lsink {
    const struct sl_plan *plan;
    const char *name, *function;
    char logkey[64]; /* rate-limited log lines of this sink */
    char region[40];
    char sigv4[80];
    char *url;    /* what libcurl connects to and, before 8.10, signs */
    char *target; /* CURLOPT_REQUEST_TARGET when it differs from url's path; else NULL */
    bool event;
    int batch_size, max_in_flight, retries;
    size_t batch_bytes;
    int64_t timeout_ms;
    char *dl_path;
    FILE *dl;
    const atomic_bool *stopping;

    CURLM *multi;
    struct slot *slots;
    double limit; /* AIMD in-flight limit, [1, max_in_flight] */
    int running;
    struct sl__aws_chain chain;
    uint64_t seed;

    /* per-write scratch */
    struct sl_buf rows;  /* JSON of every row, back to back */
    size_t *roff, *rlen; /* per row */
    int rcap;
    struct job *jobs;
    int njobs, jcap;
    int *js, *jc;
    bool *jbig;
    int jscap;
    struct sl_buf prefix; /* {"sink":"<name>","records":[ */
    struct sl_buf line;   /* a dead-letter line */
    const char **names;
    bool add_id, add_rev, add_final;

    /* metrics (fallback cells when the engine gives no registry) */
    struct sl_counter *m_inv[RES_N], *m_dl[DL_N], *m_acked, *m_retries, *m_splits, *m_cred_ref,
        *m_cred_err;
    struct sl_gauge *m_limit, *m_inflight;
    struct sl_histogram *m_rtt;
    struct sl_counter local_ctr[RES_N + DL_N + 5];
    struct sl_gauge local_g[2];
    struct sl_histogram local_h;
};

/* ---- pure pieces ---- */

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static int enc(struct sl_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int r;
        if (unreserved(c)) {
            r = sl_buf_putc(b, (char)c);
        } else {
            char t[3] = {'%', hex[c >> 4], hex[c & 15]};
            r = sl_buf_append(b, t, 3);
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

int sl__lambda_path(struct sl_buf *b, const char *fn, bool twice)
{
    int r = sl_buf_puts(b, "/2015-03-31/functions/");
    if (r < 0) {
        return r;
    }
    if (!twice) {
        r = enc(b, fn, strlen(fn));
    } else {
        struct sl_buf once;
        sl_buf_init(&once);
        r = enc(&once, fn, strlen(fn));
        if (r == 0) {
            r = enc(b, once.p, once.len);
        }
        sl_buf_fini(&once);
    }
    return r < 0 ? r : sl_buf_puts(b, "/invocations");
}

int sl__lambda_split(const size_t *len, int n, size_t overhead, int max_rows, size_t max_bytes,
                     int *start, int *count, bool *big)
{
    int nb = 0;
    for (int i = 0; i < n;) {
        if (overhead + len[i] > max_bytes) {
            start[nb] = i;
            count[nb] = 1;
            big[nb++] = true;
            i++;
            continue;
        }
        size_t bytes = overhead + len[i];
        int j = i + 1;
        while (j < n && j - i < max_rows && bytes + 1 + len[j] <= max_bytes) {
            bytes += 1 + len[j];
            j++;
        }
        start[nb] = i;
        count[nb] = j - i;
        big[nb++] = false;
        i = j;
    }
    return nb;
}

int64_t sl__lambda_backoff(int attempt, int64_t base_ms, int64_t cap_ms, double r,
                           int64_t retry_after_ms)
{
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < cap_ms; i++) {
        d *= 2;
    }
    if (d > cap_ms) {
        d = cap_ms;
    }
    int64_t ms = d / 2 + (int64_t)((double)(d - d / 2) * r);
    if (retry_after_ms > ms) {
        ms = retry_after_ms;
    }
    return ms;
}

double sl__lambda_aimd(double limit, bool throttled, int max)
{
    limit = throttled ? limit / 2 : limit + 1.0 / (limit > 1 ? limit : 1);
    if (limit < 1) {
        limit = 1;
    }
    if (limit > max) {
        limit = max;
    }
    return limit;
}

enum sl__lambda_outcome sl__lambda_classify(long status, bool event, bool function_error)
{
    if (status == 0) {
        return SL_LAMBDA_RETRY;
    }
    if (!event && status == 200) {
        return function_error ? SL_LAMBDA_FUNCTION_ERROR : SL_LAMBDA_OK;
    }
    if (event && (status == 202 || status == 200)) {
        return SL_LAMBDA_OK;
    }
    if (status == 429) {
        return SL_LAMBDA_THROTTLED;
    }
    if (status == 413) {
        return SL_LAMBDA_TOO_LARGE;
    }
    if (status >= 500 || status == 401 || status == 403 || status == 408) {
        return SL_LAMBDA_RETRY;
    }
    return status >= 200 && status < 300 ? SL_LAMBDA_RETRY : SL_LAMBDA_FAIL;
}

int64_t sl__lambda_retry_after(const char *value, int64_t now_ms)
{
    if (value == NULL) {
        return -1;
    }
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    if (*value == '\0') {
        return -1;
    }
    char *end;
    double secs = strtod(value, &end);
    if (end != value && (*end == '\0' || *end == '\r' || *end == '\n' || *end == ' ') &&
        secs >= 0 && isfinite(secs)) {
        return secs * 1000 > RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS : (int64_t)(secs * 1000);
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1) {
        return -1;
    }
    int64_t ms = (int64_t)t * 1000 - now_ms;
    return ms < 0 ? 0 : (ms > RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS : ms);
}

/* ---- helpers ---- */

static double rnd(struct lsink *k)
{
    /* xorshift64*: jitter only, never security. */
    k->seed ^= k->seed >> 12;
    k->seed ^= k->seed << 25;
    k->seed ^= k->seed >> 27;
    return (double)((k->seed * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static bool selected(const struct sl_plan *plan, const char *name)
{
    for (int c = 0; c < plan->nout; c++) {
        if (strcasecmp(plan->out[c].name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* Appends one row's JSON to k->rows. */
static int row_json(struct lsink *k, const struct sl_row *row)
{
    struct sl_buf *b = &k->rows;
    size_t start = b->len;
    int r = sl_format_row(b, k->names, row->vals, k->plan->nout);
    if (r < 0) {
        return r;
    }
    bool empty = b->len - start == 2;
    if (!(k->add_id || k->add_rev || k->add_final)) {
        return 0;
    }
    b->len--; /* drop '}' */
    char num[SL_FORMAT_NUM_MAX];
    const char *sep = empty ? "" : ",";
    if (k->add_id) {
        r = sl_buf_appendf(b, "%s\"_id\":\"%s\"", sep, row->id != NULL ? row->id : "");
        sep = ",";
    }
    if (r == 0 && k->add_rev) {
        sl_format_int(row->rev, num);
        r = sl_buf_appendf(b, "%s\"_rev\":%s", sep, num);
        sep = ",";
    }
    if (r == 0 && k->add_final) {
        r = sl_buf_appendf(b, "%s\"is_final\":%s", sep, row->is_final ? "true" : "false");
    }
    return r < 0 ? r : sl_buf_putc(b, '}');
}

static int build_body(struct lsink *k, const struct job *j, struct sl_buf *b)
{
    sl_buf_reset(b);
    int r = sl_buf_append(b, k->prefix.p, k->prefix.len);
    for (int i = 0; r == 0 && i < j->n; i++) {
        int row = j->first + i;
        if (i > 0) {
            r = sl_buf_putc(b, ',');
        }
        if (r == 0) {
            r = sl_buf_append(b, k->rows.p + k->roff[row], k->rlen[row]);
        }
    }
    return r < 0 ? r : sl_buf_puts(b, "]}");
}

static int add_job(struct lsink *k, int first, int n)
{
    if (k->njobs == k->jcap) {
        int cap = k->jcap ? k->jcap * 2 : 16;
        struct job *nj = realloc(k->jobs, sizeof(*nj) * (size_t)cap);
        if (nj == NULL) {
            return -ENOMEM;
        }
        k->jobs = nj;
        k->jcap = cap;
    }
    k->jobs[k->njobs++] = (struct job){.first = first, .n = n};
    return 0;
}

/* Writes a batch to the dead letter and counts its rows. Returns 0, or < 0 when the file
 * could not be written (the rows are then not dead-lettered). */
static int dead_letter(struct lsink *k, struct job *j, int why)
{
    sl_counter_sw_add(k->m_dl[why], (uint64_t)j->n);
    j->done = true;
    if (k->dl == NULL) {
        sl_log_keyed(k->logkey, 10, SL_LOG_WARN, "lambda",
                     "sink %s: %d rows failed (%s: %s) and no dead_letter is set; they are "
                     "dropped",
                     k->name, j->n, dl_names[why], j->reason);
        return 0;
    }
    struct sl_buf *b = &k->line;
    sl_buf_reset(b);
    char ts[32];
    sl_log_format_time(sl_now_ms(), ts, sizeof(ts));
    int r = sl_buf_appendf(b, "{\"time\":\"%s\",\"sink\":", ts);
    r = r < 0 ? r : sl_format_json_str(b, k->name, strlen(k->name));
    r = r < 0 ? r : sl_buf_puts(b, ",\"function\":");
    r = r < 0 ? r : sl_format_json_str(b, k->function, strlen(k->function));
    r = r < 0 ? r : sl_buf_appendf(b, ",\"reason\":\"%s\",\"detail\":", dl_names[why]);
    r = r < 0 ? r : sl_format_json_str(b, j->reason, strlen(j->reason));
    r = r < 0 ? r
              : sl_buf_appendf(b, ",\"status\":%ld,\"attempts\":%d,\"records\":[", j->status,
                               j->attempts);
    for (int i = 0; r == 0 && i < j->n; i++) {
        int row = j->first + i;
        if (i > 0) {
            r = sl_buf_putc(b, ',');
        }
        r = r < 0 ? r : sl_buf_append(b, k->rows.p + k->roff[row], k->rlen[row]);
    }
    r = r < 0 ? r : sl_buf_puts(b, "]}\n");
    if (r == 0 && (fwrite(b->p, 1, b->len, k->dl) != b->len || fflush(k->dl) != 0)) {
        r = -EIO;
    }
    if (r < 0) {
        sl_log_keyed(k->logkey, 10, SL_LOG_ERROR, "lambda",
                     "sink %s: cannot write the dead letter %s: %s", k->name, k->dl_path,
                     strerror(-r));
        return r;
    }
    return 0;
}

/* ---- requests ---- */

static size_t on_header(char *p, size_t size, size_t nitems, void *ud)
{
    struct slot *s = ud;
    size_t n = size * nitems;
    struct {
        const char *name;
        char *dst;
        size_t cap;
    } want[] = {{"x-amz-function-error:", s->fn_err, sizeof(s->fn_err)},
                {"retry-after:", s->retry_after, sizeof(s->retry_after)},
                {"x-amzn-errortype:", s->errtype, sizeof(s->errtype)}};
    for (size_t i = 0; i < SL_ARRAY_LEN(want); i++) {
        size_t l = strlen(want[i].name);
        if (n > l && strncasecmp(p, want[i].name, l) == 0) {
            size_t a = l, e = n;
            while (a < e && (p[a] == ' ' || p[a] == '\t')) {
                a++;
            }
            while (e > a && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' ')) {
                e--;
            }
            size_t m = e - a < want[i].cap - 1 ? e - a : want[i].cap - 1;
            memcpy(want[i].dst, p + a, m);
            want[i].dst[m] = '\0';
        }
    }
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct slot *s = ud;
    size_t n = size * nmemb;
    if (s->resp.len < RESP_KEEP) {
        size_t m = RESP_KEEP - s->resp.len < n ? RESP_KEEP - s->resp.len : n;
        if (sl_buf_append(&s->resp, p, m) < 0) {
            return 0;
        }
    }
    return n;
}

static int start(struct lsink *k, struct slot *s, int ji, const struct sl__aws_creds *cr)
{
    struct job *j = &k->jobs[ji];
    int r = build_body(k, j, &s->body);
    if (r < 0) {
        return r;
    }
    sl_buf_reset(&s->resp);
    s->fn_err[0] = s->retry_after[0] = s->errtype[0] = s->errbuf[0] = '\0';
    curl_slist_free_all(s->hdrs);
    s->hdrs = NULL;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = h ? curl_slist_append(h, k->event ? "X-Amz-Invocation-Type: Event"
                                          : "X-Amz-Invocation-Type: RequestResponse")
          : NULL;
    if (h != NULL && cr->token != NULL) {
        struct sl_buf tb;
        sl_buf_init(&tb);
        if (sl_buf_appendf(&tb, "X-Amz-Security-Token: %s", cr->token) == 0) {
            h = curl_slist_append(h, tb.p);
        } else {
            curl_slist_free_all(h);
            h = NULL;
        }
        if (tb.p != NULL) {
            memset(tb.p, 0, tb.len);
        }
        sl_buf_fini(&tb);
    }
    if (h == NULL) {
        return -ENOMEM;
    }
    s->hdrs = h;
    CURL *e = s->e;
    curl_easy_setopt(e, CURLOPT_URL, k->url);
    if (k->target != NULL) {
        curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, k->target);
    }
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body.p);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, k->sigv4);
    curl_easy_setopt(e, CURLOPT_USERNAME, cr->access_key);
    curl_easy_setopt(e, CURLOPT_PASSWORD, cr->secret_key);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)k->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(k->timeout_ms < 10000 ? k->timeout_ms : 10000));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "sluice-lambda/1");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (curl_multi_add_handle(k->multi, e) != CURLM_OK) {
        return -EIO;
    }
    s->job = ji;
    s->started = sl_mono_ms();
    j->running = true;
    k->running++;
    return 0;
}

/* A short, secret-free description of a failed response. */
static void describe(struct lsink *k, struct slot *s, struct job *j, CURLcode cc, long status)
{
    (void)k;
    if (status == 0) {
        snprintf(j->reason, sizeof(j->reason), "%.256s",
                 s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(cc));
        return;
    }
    /* Lambda's error bodies: {"Type": …, "message": …} or, for a function error,
     * {"errorType": …, "errorMessage": …}. Kept short; they never hold our credentials. */
    char msg[160] = "";
    const char *keys[] = {"\"errorMessage\":\"", "\"message\":\"", "\"Message\":\""};
    for (size_t i = 0; s->resp.p != NULL && i < SL_ARRAY_LEN(keys) && msg[0] == '\0'; i++) {
        const char *m = strstr(s->resp.p, keys[i]);
        if (m != NULL) {
            m += strlen(keys[i]);
            size_t n = 0;
            while (m[n] != '\0' && m[n] != '"' && n < sizeof(msg) - 1) {
                msg[n] = m[n];
                n++;
            }
            msg[n] = '\0';
        }
    }
    char type[96] = "";
    if (s->fn_err[0] != '\0') {
        const char *t = s->resp.p != NULL ? strstr(s->resp.p, "\"errorType\":\"") : NULL;
        size_t n = 0;
        if (t != NULL) {
            t += 13;
            while (t[n] != '\0' && t[n] != '"' && n < sizeof(type) - 1) {
                type[n] = t[n];
                n++;
            }
        }
        type[n] = '\0';
        snprintf(j->reason, sizeof(j->reason), "function error (%s) %s: %s", s->fn_err,
                 type[0] ? type : "", msg);
    } else {
        snprintf(j->reason, sizeof(j->reason), "HTTP %ld%s%s%s%s", status, s->errtype[0] ? " " : "",
                 s->errtype, msg[0] ? ": " : "", msg);
    }
}

/* Settles a finished request. Returns < 0 only when the dead letter cannot be written. */
static int finish(struct lsink *k, struct slot *s, CURLcode cc)
{
    struct job *j = &k->jobs[s->job];
    long status = 0;
    if (cc == CURLE_OK) {
        curl_easy_getinfo(s->e, CURLINFO_RESPONSE_CODE, &status);
    }
    int64_t now = sl_mono_ms();
    sl_histogram_sw_observe(k->m_rtt, (double)(now - s->started) / 1000.0);
    curl_multi_remove_handle(k->multi, s->e);
    k->running--;
    s->job = -1;
    j->running = false;
    j->status = status;
    enum sl__lambda_outcome o = sl__lambda_classify(status, k->event, s->fn_err[0] != '\0');
    if (o == SL_LAMBDA_OK) {
        sl_counter_sw_inc(k->m_inv[RES_OK]);
        sl_counter_sw_add(k->m_acked, (uint64_t)j->n);
        j->done = true;
        k->limit = sl__lambda_aimd(k->limit, false, k->max_in_flight);
        return 0;
    }
    describe(k, s, j, cc, status);
    if (o == SL_LAMBDA_TOO_LARGE) {
        sl_counter_sw_inc(k->m_inv[RES_TOO_LARGE]);
        if (j->n == 1) {
            return dead_letter(k, j, DL_OVERSIZE);
        }
        /* Two halves replace the batch; the job array may move, so copy first. */
        int first = j->first, n = j->n, h = n / 2;
        j->done = true;
        sl_counter_sw_inc(k->m_splits);
        if (add_job(k, first, h) < 0 || add_job(k, first + h, n - h) < 0) {
            return -ENOMEM;
        }
        return 0;
    }
    if (o == SL_LAMBDA_FAIL) {
        sl_counter_sw_inc(k->m_inv[RES_CLIENT]);
        return dead_letter(k, j, status == 404 ? DL_NOT_FOUND : DL_REFUSED);
    }
    int res = o == SL_LAMBDA_THROTTLED        ? RES_THROTTLED
              : o == SL_LAMBDA_FUNCTION_ERROR ? RES_FUNCTION
              : status == 0                   ? RES_NETWORK
                                              : RES_SERVER;
    sl_counter_sw_inc(k->m_inv[res]);
    j->last_res = res;
    j->attempts++;
    int64_t ra = -1;
    if (o == SL_LAMBDA_THROTTLED) {
        k->limit = sl__lambda_aimd(k->limit, true, k->max_in_flight);
        ra = sl__lambda_retry_after(s->retry_after[0] ? s->retry_after : NULL, sl_now_ms());
        const char *b = s->resp.p != NULL ? strstr(s->resp.p, "\"retryAfterSeconds\":") : NULL;
        if (ra < 0 && b != NULL) {
            char tmp[32];
            snprintf(tmp, sizeof(tmp), "%.20s", b + 20);
            tmp[strcspn(tmp, ",}")] = '\0';
            ra = sl__lambda_retry_after(tmp[0] == '"' ? tmp + 1 : tmp, sl_now_ms());
        }
    }
    if (j->attempts > k->retries) {
        return dead_letter(k, j, res == RES_FUNCTION ? DL_FUNCTION : DL_RETRIES);
    }
    sl_counter_sw_inc(k->m_retries);
    int64_t wait =
        sl__lambda_backoff(j->attempts, BACKOFF_BASE_MS, BACKOFF_CAP_MS, rnd(k), ra > 0 ? ra : 0);
    if (k->stopping != NULL && atomic_load_explicit(k->stopping, memory_order_relaxed) &&
        wait > 1000 && o != SL_LAMBDA_THROTTLED) {
        wait = 1000; /* shutting down: retry soon rather than hold the exit up */
    }
    j->not_before = now + wait;
    return 0;
}

static void abort_running(struct lsink *k)
{
    for (int i = 0; i < k->max_in_flight; i++) {
        struct slot *s = &k->slots[i];
        if (s->job >= 0) {
            curl_multi_remove_handle(k->multi, s->e);
            s->job = -1;
        }
    }
    k->running = 0;
}

/* Runs every job of this write to the end. */
static int run_jobs(struct lsink *k)
{
    int r = 0;
    for (;;) {
        int64_t now = sl_mono_ms();
        int64_t wake = now + 1000;
        bool pending = false;
        /* start what may start */
        int cap = (int)k->limit;
        for (int ji = 0; ji < k->njobs; ji++) {
            struct job *j = &k->jobs[ji];
            if (j->done) {
                continue;
            }
            pending = true;
            if (j->running) {
                continue;
            }
            if (j->not_before > now) {
                wake = j->not_before < wake ? j->not_before : wake;
                continue;
            }
            if (k->running >= cap) {
                continue;
            }
            const struct sl__aws_creds *cr = NULL;
            int c = sl__aws_chain_get(&k->chain, sl_now_ms(), &cr);
            if (c == 1) {
                sl_counter_sw_inc(k->m_cred_ref);
                sl_log(SL_LOG_INFO, "lambda", "sink %s: AWS credentials from %s", k->name,
                       cr->source);
            }
            if (c < 0) {
                sl_counter_sw_inc(k->m_cred_err);
                snprintf(j->reason, sizeof(j->reason), "no credentials: %.256s",
                         k->chain.last_error);
                sl_log_keyed(k->logkey, 10, SL_LOG_WARN, "lambda", "sink %s: %s", k->name,
                             j->reason);
                j->attempts++;
                j->status = 0;
                if (j->attempts > k->retries) {
                    r = dead_letter(k, j, DL_RETRIES);
                    if (r < 0) {
                        goto out;
                    }
                    continue;
                }
                j->not_before =
                    now + sl__lambda_backoff(j->attempts, 1000, BACKOFF_CAP_MS, rnd(k), 0);
                continue;
            }
            struct slot *s = NULL;
            for (int i = 0; i < k->max_in_flight && s == NULL; i++) {
                if (k->slots[i].job < 0) {
                    s = &k->slots[i];
                }
            }
            if (s == NULL) {
                continue;
            }
            r = start(k, s, ji, cr);
            if (r < 0) {
                goto out;
            }
        }
        sl_gauge_set(k->m_limit, k->limit);
        sl_gauge_set(k->m_inflight, k->running);
        if (!pending) {
            break;
        }
        int still;
        curl_multi_perform(k->multi, &still);
        CURLMsg *msg;
        int left;
        bool finished = false;
        while ((msg = curl_multi_info_read(k->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            struct slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            r = finish(k, s, msg->data.result);
            finished = true;
            if (r < 0) {
                goto out;
            }
        }
        if (finished) {
            continue; /* start follow-ups before waiting */
        }
        long ct = -1;
        curl_multi_timeout(k->multi, &ct);
        int64_t ms = wake - sl_mono_ms();
        if (ct >= 0 && ct < ms) {
            ms = ct;
        }
        if (ms < 0) {
            ms = 0;
        }
        if (ms > 0 || k->running > 0) {
            curl_multi_poll(k->multi, NULL, 0, (int)(ms > 1000 ? 1000 : ms), NULL);
        }
    }
out:
    if (r < 0) {
        abort_running(k);
    }
    sl_gauge_set(k->m_inflight, 0);
    return r;
}

static int lsink_write(void *state, const struct sl_row *rows, int n)
{
    struct lsink *k = state;
    if (n <= 0) {
        return 0;
    }
    if (n > k->rcap) {
        int cap = k->rcap ? k->rcap : 256;
        while (cap < n) {
            cap *= 2;
        }
        size_t *ro = realloc(k->roff, sizeof(*ro) * (size_t)cap);
        if (ro == NULL) {
            return -ENOMEM;
        }
        k->roff = ro;
        size_t *rl = realloc(k->rlen, sizeof(*rl) * (size_t)cap);
        if (rl == NULL) {
            return -ENOMEM;
        }
        k->rlen = rl;
        k->rcap = cap;
    }
    if (n > k->jscap) {
        int *js = realloc(k->js, sizeof(*js) * (size_t)n);
        if (js != NULL) {
            k->js = js;
        }
        int *jc = realloc(k->jc, sizeof(*jc) * (size_t)n);
        if (jc != NULL) {
            k->jc = jc;
        }
        bool *jb = realloc(k->jbig, sizeof(*jb) * (size_t)n);
        if (jb != NULL) {
            k->jbig = jb;
        }
        if (js == NULL || jc == NULL || jb == NULL) {
            return -ENOMEM;
        }
        k->jscap = n;
    }
    sl_buf_reset(&k->rows);
    for (int i = 0; i < n; i++) {
        k->roff[i] = k->rows.len;
        if (row_json(k, &rows[i]) < 0) {
            return -ENOMEM;
        }
        k->rlen[i] = k->rows.len - k->roff[i];
    }
    int nb = sl__lambda_split(k->rlen, n, k->prefix.len + 2, k->batch_size, k->batch_bytes, k->js,
                              k->jc, k->jbig);
    k->njobs = 0;
    int r = 0;
    for (int b = 0; b < nb; b++) {
        if (add_job(k, k->js[b], k->jc[b]) < 0) {
            return -ENOMEM;
        }
        if (k->jbig[b]) {
            struct job *j = &k->jobs[k->njobs - 1];
            snprintf(j->reason, sizeof(j->reason),
                     "row of %zu bytes does not fit batch_bytes = %zu", k->rlen[k->js[b]],
                     k->batch_bytes);
            r = dead_letter(k, j, DL_OVERSIZE);
            if (r < 0) {
                return r;
            }
        }
    }
    r = run_jobs(k);
    /* Only a dead letter that cannot be written fails the write: the engine then sends the
     * same rows again, so nothing is lost (batches already invoked may run twice). */
    return r;
}

/* ---- open / close ---- */

static int reg_metrics(struct lsink *k, struct sl_metrics *m, struct sl_err *err)
{
    int c = 0;
    for (int i = 0; i < RES_N; i++) {
        k->m_inv[i] = &k->local_ctr[c++];
    }
    for (int i = 0; i < DL_N; i++) {
        k->m_dl[i] = &k->local_ctr[c++];
    }
    k->m_acked = &k->local_ctr[c++];
    k->m_retries = &k->local_ctr[c++];
    k->m_splits = &k->local_ctr[c++];
    k->m_cred_ref = &k->local_ctr[c++];
    k->m_cred_err = &k->local_ctr[c++];
    k->m_limit = &k->local_g[0];
    k->m_inflight = &k->local_g[1];
    k->m_rtt = &k->local_h;
    k->local_h.nbounds = 0;
    if (m == NULL) {
        return 0;
    }
    const char *s = k->name;
    int r = 0;
    for (int i = 0; r == 0 && i < RES_N; i++) {
        r = sl_metrics_counter_register(
            m, "sluice_lambda_invocations_total", "Lambda invocations by result.",
            SL_LABELS({"sink", s}, {"result", res_names[i]}), &k->m_inv[i], err);
    }
    for (int i = 0; r == 0 && i < DL_N; i++) {
        r = sl_metrics_counter_register(
            m, "sluice_lambda_rows_dead_lettered_total",
            "Rows the Lambda sink gave up on (written to dead_letter when set), by reason.",
            SL_LABELS({"sink", s}, {"reason", dl_names[i]}), &k->m_dl[i], err);
    }
    if (r == 0) {
        r = sl_metrics_counter_register(m, "sluice_lambda_rows_acked_total",
                                        "Rows in invocations Lambda acknowledged.",
                                        SL_LABELS({"sink", s}), &k->m_acked, err);
    }
    if (r == 0) {
        r = sl_metrics_counter_register(m, "sluice_lambda_retries_total",
                                        "Invocations retried after throttling, 5xx, timeouts or "
                                        "function errors.",
                                        SL_LABELS({"sink", s}), &k->m_retries, err);
    }
    if (r == 0) {
        r = sl_metrics_counter_register(m, "sluice_lambda_batch_splits_total",
                                        "Batches split in two after a 413 (payload too large).",
                                        SL_LABELS({"sink", s}), &k->m_splits, err);
    }
    if (r == 0) {
        r = sl_metrics_counter_register(m, "sluice_lambda_credential_refreshes_total",
                                        "AWS credentials fetched (first time and refreshes).",
                                        SL_LABELS({"sink", s}), &k->m_cred_ref, err);
    }
    if (r == 0) {
        r = sl_metrics_counter_register(m, "sluice_lambda_credential_errors_total",
                                        "Invocations held back because no credentials were "
                                        "usable.",
                                        SL_LABELS({"sink", s}), &k->m_cred_err, err);
    }
    if (r == 0) {
        r = sl_metrics_gauge_register(m, "sluice_lambda_in_flight_limit",
                                      "Current AIMD limit of concurrent invocations.",
                                      SL_LABELS({"sink", s}), &k->m_limit, err);
    }
    if (r == 0) {
        r = sl_metrics_gauge_register(m, "sluice_lambda_in_flight", "Invocations in progress.",
                                      SL_LABELS({"sink", s}), &k->m_inflight, err);
    }
    if (r == 0) {
        static const double b[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
        r = sl_metrics_histogram_register(m, "sluice_lambda_invoke_seconds",
                                          "Duration of one Invoke request.", SL_LABELS({"sink", s}),
                                          b, SL_ARRAY_LEN(b), &k->m_rtt, err);
    }
    return r;
}

/* Region from a full ARN (arn:<p>:lambda:<region>:…), else NULL. */
static bool arn_region(const char *fn, char *out, size_t cap)
{
    if (strncmp(fn, "arn:", 4) != 0) {
        return false;
    }
    const char *p = fn + 4;
    for (int i = 0; i < 2; i++) {
        p = strchr(p, ':');
        if (p == NULL) {
            return false;
        }
        p++;
    }
    size_t n = strcspn(p, ":");
    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* ---- how this libcurl builds SigV4's canonical path ----
 *
 * libcurl 7.75-8.x signs the URL's path as it is; later versions encode it (once more) for
 * services other than S3, as AWS does. Rather than trust a version number, sign one request
 * to an abstract Unix socket (no file, no network) and check its signature against both
 * canonical forms. */

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[d[i] >> 4];
        out[2 * i + 1] = h[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

/* The signature AWS computes for GET <canon> with headers host;x-amz-date and no body. */
static void aws_sig(const char *canon, const char *host, const char *amzdate, char out[65])
{
    unsigned char h[32], k1[32], k2[32];
    char chex[65], empty[65], cr[512], sts[512], date[9];
    SHA256((const unsigned char *)"", 0, h);
    hex(h, 32, empty);
    snprintf(cr, sizeof(cr), "GET\n%s\n\nhost:%s\nx-amz-date:%s\n\nhost;x-amz-date\n%s", canon,
             host, amzdate, empty);
    SHA256((const unsigned char *)cr, strlen(cr), h);
    hex(h, 32, chex);
    snprintf(date, sizeof(date), "%.8s", amzdate);
    snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s/us-east-1/lambda/aws4_request\n%s",
             amzdate, date, chex);
    hmac("AWS4probe", 9, date, k1);
    hmac(k1, 32, "us-east-1", k2);
    hmac(k2, 32, "lambda", k1);
    hmac(k1, 32, "aws4_request", k2);
    hmac(k2, 32, sts, k1);
    hex(k1, 32, out);
}

static size_t probe_sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* The value of header name (with ": ") in an HTTP request head, copied into out. */
static bool head_value(const char *req, const char *name, char *out, size_t cap)
{
    const char *p = strcasestr(req, name);
    if (p == NULL) {
        return false;
    }
    p += strlen(name);
    size_t n = strcspn(p, "\r\n");
    if (n >= cap) {
        return false;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

int sl__lambda_curl_encodes_path(void)
{
    /* A listening abstract Unix socket (no file, no network) that curl connects to. */
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ls < 0) {
        return -errno;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    static _Atomic int seq;
    char name[64];
    int nl = snprintf(name, sizeof(name), "sluice-sigv4-probe-%ld-%d", (long)getpid(),
                      atomic_fetch_add(&seq, 1));
    memcpy(sa.sun_path + 1, name, (size_t)nl);
    int r = -EPROTO, cs = -1;
    CURL *e = NULL;
    CURLM *m = NULL;
    if (bind(ls, (struct sockaddr *)&sa,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)nl)) < 0 ||
        listen(ls, 1) < 0) {
        r = -errno;
        goto out;
    }
    e = curl_easy_init();
    m = curl_multi_init();
    if (e == NULL || m == NULL) {
        r = -ENOMEM;
        goto out;
    }
    curl_easy_setopt(e, CURLOPT_URL, "http://localhost/p/a%3Ab");
    curl_easy_setopt(e, CURLOPT_ABSTRACT_UNIX_SOCKET, name);
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:lambda");
    curl_easy_setopt(e, CURLOPT_USERNAME, "AKIDPROBE");
    curl_easy_setopt(e, CURLOPT_PASSWORD, "probe");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, probe_sink);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_multi_add_handle(m, e);
    char req[4096];
    size_t got = 0;
    bool answered = false;
    int64_t deadline = sl_mono_ms() + 2000;
    for (int running = 1; running > 0 && sl_mono_ms() < deadline;) {
        curl_multi_perform(m, &running);
        if (cs < 0) {
            cs = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        }
        if (cs >= 0 && !answered) {
            ssize_t n = recv(cs, req + got, sizeof(req) - 1 - got, 0);
            if (n > 0) {
                got += (size_t)n;
                req[got] = '\0';
            }
            if (strstr(req, "\r\n\r\n") != NULL || got == sizeof(req) - 1) {
                static const char resp[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
                answered = write(cs, resp, sizeof(resp) - 1) == (ssize_t)(sizeof(resp) - 1);
            }
        }
        curl_multi_poll(m, NULL, 0, 10, NULL);
    }
    if (got == 0) {
        r = -EIO;
        goto out;
    }
    req[got] = '\0';
    char host[128], amzdate[32], auth[512];
    if (!head_value(req, "\nHost: ", host, sizeof(host)) ||
        !head_value(req, "\nX-Amz-Date: ", amzdate, sizeof(amzdate)) ||
        !head_value(req, "\nAuthorization: ", auth, sizeof(auth)) ||
        strstr(auth, "SignedHeaders=host;x-amz-date,") == NULL) {
        goto out;
    }
    const char *sig = strstr(auth, "Signature=");
    if (sig == NULL) {
        goto out;
    }
    sig += 10;
    char want[65];
    aws_sig("/p/a%253Ab", host, amzdate, want);
    if (strncmp(sig, want, 64) == 0) {
        r = 1;
        goto out;
    }
    aws_sig("/p/a%3Ab", host, amzdate, want);
    if (strncmp(sig, want, 64) == 0) {
        r = 0;
    }
out:
    if (m != NULL && e != NULL) {
        curl_multi_remove_handle(m, e);
    }
    curl_easy_cleanup(e);
    curl_multi_cleanup(m);
    if (cs >= 0) {
        close(cs);
    }
    close(ls);
    return r;
}

static void lsink_close(void *state);

static int build_url(struct lsink *k, const char *endpoint, struct sl_err *err)
{
    struct sl_buf base, wire, canon;
    sl_buf_init(&base);
    sl_buf_init(&wire);
    sl_buf_init(&canon);
    int r;
    if (endpoint != NULL) {
        size_t n = strlen(endpoint);
        while (n > 0 && endpoint[n - 1] == '/') {
            n--;
        }
        r = sl_buf_append(&base, endpoint, n);
    } else {
        bool cn = strncmp(k->function, "arn:aws-cn:", 11) == 0;
        r = sl_buf_appendf(&base, "https://lambda.%s.amazonaws.com%s", k->region, cn ? ".cn" : "");
    }
    /* An endpoint with a path prefix (a proxy) keeps it in front of the Invoke path. */
    const char *scheme_end = strstr(base.p != NULL ? base.p : "", "://");
    const char *path0 = scheme_end != NULL ? strchr(scheme_end + 3, '/') : NULL;
    size_t prefix_len = path0 != NULL ? strlen(path0) : 0;
    if (r == 0 && prefix_len > 0) {
        r = sl_buf_append(&wire, path0, prefix_len);
        r = r < 0 ? r : sl_buf_append(&canon, path0, prefix_len);
        base.len -= prefix_len;
        base.p[base.len] = '\0';
    }
    r = r < 0 ? r : sl__lambda_path(&wire, k->function, false);
    r = r < 0 ? r : sl__lambda_path(&canon, k->function, true);
    if (r < 0) {
        goto out;
    }
    bool differs = wire.len != canon.len || memcmp(wire.p, canon.p, wire.len) != 0;
    struct sl_buf url;
    sl_buf_init(&url);
    /* The answer is the same for the whole process: probe once. */
    static _Atomic int cached = INT_MIN;
    int encodes = 1;
    if (differs) {
        encodes = atomic_load(&cached);
        if (encodes == INT_MIN) {
            encodes = sl__lambda_curl_encodes_path();
            atomic_store(&cached, encodes);
        }
    }
    if (encodes < 0) {
        sl_log(SL_LOG_WARN, "lambda",
               "sink %s: cannot tell how libcurl %s signs paths (%s); assuming it signs them "
               "as they are",
               k->name, curl_version_info(CURLVERSION_NOW)->version, strerror(-encodes));
    }
    if (differs && encodes <= 0) {
        r = sl_buf_appendf(&url, "%s%s", base.p, canon.p);
        k->target = strdup(wire.p);
        if (k->target == NULL) {
            r = -ENOMEM;
        }
    } else {
        r = sl_buf_appendf(&url, "%s%s", base.p, wire.p);
    }
    k->url = url.p; /* owned */
out:
    sl_buf_fini(&base);
    sl_buf_fini(&wire);
    sl_buf_fini(&canon);
    if (r < 0) {
        return sl_err_set(err, r, "sink %s: out of memory", k->name);
    }
    return 0;
}

static int lsink_open(const struct sl_plan *plan, const struct sl_sink_env *env, void **ret_state,
                      struct sl_err *err)
{
    /* Reference-counted; thread-safe in the libcurl versions that have CURLOPT_AWS_SIGV4's
     * companions used here (7.84+), and called before this sink's thread exists. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct sl_options *o = &plan->sink_opts;
    struct lsink *k = calloc(1, sizeof(*k));
    int r;
    if (k == NULL) {
        curl_global_cleanup();
        return sl_err_set(err, -ENOMEM, "out of memory");
    }
    *ret_state = NULL;
    k->plan = plan;
    snprintf(k->logkey, sizeof(k->logkey), "lambda:%s", plan->name);
    k->name = plan->name;
    k->function = sl_options_str(o, "function");
    k->event = sl_options_int(o, "invocation_type", INV_REQUEST_RESPONSE) == INV_EVENT;
    k->batch_size = (int)sl_options_int(o, "batch_size", 100);
    k->batch_bytes =
        (size_t)sl_options_int(o, "batch_bytes", k->event ? (int64_t)MIB : (int64_t)(6 * MIB));
    k->max_in_flight = (int)sl_options_int(o, "max_in_flight", 16);
    k->retries = (int)sl_options_int(o, "retries", 5);
    k->timeout_ms = sl_options_int(o, "timeout", 30000);
    k->stopping = env != NULL ? env->stopping : NULL;
    k->limit = k->max_in_flight;
    k->seed = (uint64_t)sl_mono_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)k;
    if (k->seed == 0) {
        k->seed = 1;
    }
    sl_buf_init(&k->rows);
    sl_buf_init(&k->prefix);
    sl_buf_init(&k->line);
    if (k->batch_size < 1) {
        k->batch_size = 1;
    }
    if (k->max_in_flight < 1) {
        k->max_in_flight = 1;
    }
    r = reg_metrics(k, env != NULL ? env->metrics : NULL, err);
    if (r < 0) {
        goto fail;
    }
    if (k->function == NULL) {
        r = sl_err_set(err, -EINVAL, "sink %s: option 'function' is required", k->name);
        goto fail;
    }
    const char *region = sl_options_str(o, "region");
    if (!arn_region(k->function, k->region, sizeof(k->region))) {
        if (region == NULL || *region == '\0') {
            region = getenv("AWS_REGION");
        }
        if (region == NULL || *region == '\0') {
            region = getenv("AWS_DEFAULT_REGION");
        }
        if (region == NULL || *region == '\0' || strlen(region) >= sizeof(k->region)) {
            r = sl_err_set(err, -EINVAL,
                           "sink %s: no AWS region: write the function as an ARN, set option "
                           "region, or set AWS_REGION",
                           k->name);
            goto fail;
        }
        snprintf(k->region, sizeof(k->region), "%s", region);
    }
    snprintf(k->sigv4, sizeof(k->sigv4), "aws:amz:%s:lambda", k->region);
    const char *endpoint = sl_options_str(o, "endpoint");
    if (endpoint == NULL) {
        endpoint = getenv("AWS_ENDPOINT_URL_LAMBDA");
    }
    if (endpoint == NULL) {
        endpoint = getenv("AWS_ENDPOINT_URL");
    }
    if (endpoint != NULL && *endpoint == '\0') {
        endpoint = NULL;
    }
    r = build_url(k, endpoint, err);
    if (r < 0) {
        goto fail;
    }
    const char *dl = sl_options_str(o, "dead_letter");
    if (dl != NULL) {
        k->dl_path = strdup(dl);
        k->dl = k->dl_path != NULL ? fopen(dl, "a") : NULL;
        if (k->dl == NULL) {
            r = sl_err_set(err, -errno ? -errno : -ENOMEM,
                           "sink %s: cannot open dead_letter '%s' for appending: %s", k->name, dl,
                           strerror(errno));
            goto fail;
        }
    }
    if (sl_buf_puts(&k->prefix, "{\"sink\":") < 0 ||
        sl_format_json_str(&k->prefix, k->name, strlen(k->name)) < 0 ||
        sl_buf_puts(&k->prefix, ",\"records\":[") < 0) {
        r = sl_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    k->names = calloc((size_t)plan->nout + 1, sizeof(*k->names));
    if (k->names == NULL) {
        r = sl_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    for (int c = 0; c < plan->nout; c++) {
        k->names[c] = plan->out[c].name;
    }
    k->add_id = !selected(plan, "_id");
    k->add_rev = !selected(plan, "_rev");
    k->add_final = !selected(plan, "is_final");
    if (sl__aws_chain_init(&k->chain, k->region) < 0) {
        r = sl_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    k->multi = curl_multi_init();
    k->slots = calloc((size_t)k->max_in_flight, sizeof(*k->slots));
    if (k->multi == NULL || k->slots == NULL) {
        r = sl_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    curl_multi_setopt(k->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)k->max_in_flight);
    curl_multi_setopt(k->multi, CURLMOPT_MAXCONNECTS, (long)k->max_in_flight);
    for (int i = 0; i < k->max_in_flight; i++) {
        struct slot *s = &k->slots[i];
        s->job = -1;
        sl_buf_init(&s->body);
        sl_buf_init(&s->resp);
        s->e = curl_easy_init();
        if (s->e == NULL) {
            r = sl_err_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
    }
    sl_gauge_set(k->m_limit, k->limit);
    /* Credentials are resolved at the first write (open must not fail for an absent peer). */
    *ret_state = k;
    return 0;
fail:
    lsink_close(k);
    return r;
}

static void lsink_close(void *state)
{
    struct lsink *k = state;
    if (k == NULL) {
        return;
    }
    if (k->slots != NULL) {
        for (int i = 0; i < k->max_in_flight; i++) {
            struct slot *s = &k->slots[i];
            if (s->e != NULL) {
                if (s->job >= 0 && k->multi != NULL) {
                    curl_multi_remove_handle(k->multi, s->e);
                }
                curl_easy_cleanup(s->e);
            }
            sl_buf_fini(&s->body);
            sl_buf_fini(&s->resp);
            curl_slist_free_all(s->hdrs);
        }
        free(k->slots);
    }
    if (k->multi != NULL) {
        curl_multi_cleanup(k->multi);
    }
    sl__aws_chain_fini(&k->chain);
    if (k->dl != NULL) {
        fclose(k->dl);
    }
    free(k->dl_path);
    free(k->url);
    free(k->target);
    free(k->names);
    free(k->roff);
    free(k->rlen);
    free(k->jobs);
    free(k->js);
    free(k->jc);
    free(k->jbig);
    sl_buf_fini(&k->rows);
    sl_buf_fini(&k->prefix);
    sl_buf_fini(&k->line);
    free(k);
    curl_global_cleanup();
}

const struct sl_sink_ops sl_lambda_sink_ops = {
    .row_ids = true,
    .open = lsink_open,
    .write = lsink_write,
    .close = lsink_close,
};
