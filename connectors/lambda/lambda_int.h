/*
 * lambda_int.h - what the Lambda sink's files share: the runtime ops, the AWS credential
 * chain (creds.c) and the pure pieces of the runtime (paths, batching, backoff, AIMD,
 * response classification) that unit tests call directly.
 *
 * Everything here runs on the sink's thread (open/close on the start-up thread) unless a
 * comment says otherwise. Nothing here logs a secret: credentials appear only in the
 * struct sl__aws_creds they are copied into and in libcurl's signing options.
 */
#ifndef SL_CONN_LAMBDA_INT_H
#define SL_CONN_LAMBDA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/format.h"
#include "engine/runtime.h"

extern const struct sl_sink_ops sl_lambda_sink_ops;

/* ---- credentials (creds.c) ---- */

struct sl__aws_creds {
    char *access_key, *secret_key, *token; /* token NULL without a session token */
    int64_t expires_ms;                    /* wall clock; 0: does not expire */
    const char *source; /* "environment", "shared-file", "web-identity", "container", "imds" */
};

/* Where the chain looks. Filled from the environment by sl__aws_chain_init; tests may set
 * fields directly. Strings are owned by the chain. */
struct sl__aws_chain {
    char *env_ak, *env_sk, *env_token;
    char *profile, *shared_file;
    char *web_token_file, *role_arn, *role_session, *sts_endpoint;
    char *container_url, *container_token, *container_token_file;
    char *imds_endpoint;
    bool imds_disabled;
    int timeout_ms; /* per HTTP request of a provider */

    struct sl__aws_creds cur; /* last credentials found (access_key NULL: none) */
    int64_t next_try_ms;      /* after a failure, no new attempt before this (mono) */
    char last_error[256];     /* why the last resolution failed; never holds a secret */
};

/* Reads AWS_* variables (region for the STS endpoint). Returns 0 or -ENOMEM. */
int sl__aws_chain_init(struct sl__aws_chain *ch, const char *region);
void sl__aws_chain_fini(struct sl__aws_chain *ch);

/* Credentials valid now, refreshing those that expire within SL_AWS_REFRESH_MS (wall clock
 * now_ms). Blocks for the provider's HTTP requests (each at most timeout_ms). Returns 1 when
 * it fetched new ones, 0 when the cached ones are still good, < 0 when none are usable
 * (ch->last_error says why; the old ones are kept and used while they have not expired, and
 * then the result is 0). *ret points into ch (valid until the next call). */
#define SL_AWS_REFRESH_MS (5 * 60 * 1000)
int sl__aws_chain_get(struct sl__aws_chain *ch, int64_t now_ms, const struct sl__aws_creds **ret);

/* Parsers (exposed for unit tests). Each returns 0 and fills *ret (owned strings, free with
 * sl__aws_creds_fini) or < 0 with a reason in why (cap bytes). */
int sl__aws_parse_ini(const char *text, const char *profile, struct sl__aws_creds *ret, char *why,
                      size_t cap);
int sl__aws_parse_json(const char *text, struct sl__aws_creds *ret, char *why, size_t cap);
int sl__aws_parse_sts(const char *text, struct sl__aws_creds *ret, char *why, size_t cap);
/* "2026-11-27T09:00:00Z" (fractions and +00:00 allowed) -> epoch ms; < 0 if not that form. */
int sl__aws_parse_time(const char *s, int64_t *ret_ms);
void sl__aws_creds_fini(struct sl__aws_creds *c);

/* ---- the runtime's pure pieces (lambda_run.c) ---- */

/* Appends the Invoke API path for fn to b: /2015-03-31/functions/<fn>/invocations, fn with
 * every byte outside A-Z a-z 0-9 - _ . ~ percent-encoded (the colons of an ARN become %3A).
 * With twice, the result is encoded once more (%253A): SigV4's canonical URI for services
 * other than S3. Returns 0 or -ENOMEM. */
int sl__lambda_path(struct sl_buf *b, const char *fn, bool twice);

/* Splits rows [0, n) with JSON sizes len[i] into consecutive batches of at most max_rows rows
 * whose payload (overhead + rows + commas) is at most max_bytes. A row that alone exceeds
 * max_bytes forms a batch of its own marked oversize. Writes batch starts to start[] and
 * sizes to count[] (room for n entries each) and oversize flags to big[]; returns the number
 * of batches. */
int sl__lambda_split(const size_t *len, int n, size_t overhead, int max_rows, size_t max_bytes,
                     int *start, int *count, bool *big);

/* Delay before retry number attempt (1-based) of a failed invocation: exponential from
 * base_ms, capped at cap_ms, "equal jitter" (half fixed, half uniform from r in [0, 1)). A
 * throttled call waits at least retry_after_ms (0: none given). */
int64_t sl__lambda_backoff(int attempt, int64_t base_ms, int64_t cap_ms, double r,
                           int64_t retry_after_ms);

/* AIMD on the in-flight limit: success adds 1/limit (about +1 per round of max_in_flight
 * calls), throttling halves it; kept within [1, max]. */
double sl__lambda_aimd(double limit, bool throttled, int max);

/* What one finished invocation means. */
enum sl__lambda_outcome {
    SL_LAMBDA_OK,             /* acknowledged */
    SL_LAMBDA_RETRY,          /* transient: 5xx, network, timeout, auth */
    SL_LAMBDA_THROTTLED,      /* 429: retry, no earlier than Retry-After; shrink in-flight */
    SL_LAMBDA_FUNCTION_ERROR, /* 200 with X-Amz-Function-Error: retry, then dead letter */
    SL_LAMBDA_TOO_LARGE,      /* 413: split the batch */
    SL_LAMBDA_FAIL,           /* permanent (404, 400): dead letter now */
};
/* status 0 means the request failed below HTTP (curl error). */
enum sl__lambda_outcome sl__lambda_classify(long status, bool event, bool function_error);

/* Whether this libcurl encodes the path itself when it builds SigV4's canonical request (1),
 * or signs the URL's path as it is (0): found by signing one request into a socketpair and
 * checking the signature against both forms. < 0 when it cannot tell. No network. */
int sl__lambda_curl_encodes_path(void);

/* Retry-After as seconds or an HTTP date, relative to now_ms; -1 if absent or unreadable. */
int64_t sl__lambda_retry_after(const char *value, int64_t now_ms);

#endif
