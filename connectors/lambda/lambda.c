/*
 * lambda.c - the AWS Lambda sink: its option table and load-time checks.
 *
 * Options follow SQL.md ("Sinks"). The checks validate the function (a name, name:qualifier,
 * partial ARN or full ARN), find the region (from the ARN, else option region, else the
 * environment's AWS_REGION or AWS_DEFAULT_REGION) and refuse to load without one, since
 * every request is SigV4-signed for a region; they validate an endpoint override and keep
 * Event batches within Lambda's 1 MiB payload limit for asynchronous invocations. The
 * runtime (libcurl multi, SigV4, the credential chain) is lambda_run.c and creds.c.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/conn_util.h"
#include "connectors/lambda/lambda_int.h"
#include "queries/plan.h"

#define MIB ((int64_t)1 << 20)

enum { INV_REQUEST_RESPONSE, INV_EVENT };

static const struct sl_option_def lambda_sink_options[] = {
    {.name = "function",
     .type = SL_OPT_STRING,
     .flags = SL_OPT_REQUIRED,
     .help = "Function to invoke: a name (name:alias allowed) or an ARN "
             "arn:aws:lambda:<region>:<account>:function:<name>."},
    {.name = "region",
     .type = SL_OPT_STRING,
     .doc_default = "from the ARN, else $AWS_REGION",
     .help = "AWS region that requests are sent to and signed for."},
    {.name = "endpoint",
     .type = SL_OPT_STRING,
     .help = "Endpoint URL overriding https://lambda.<region>.amazonaws.com, for local "
             "emulators and VPC endpoints."},
    {.name = "invocation_type",
     .type = SL_OPT_ENUM,
     .def = "RequestResponse",
     .choices = "RequestResponse|Event",
     .help = "RequestResponse waits for the function: only a 200 without a function error "
             "counts as delivered. Event queues the batch in Lambda (202)."},
    {.name = "batch_size",
     .type = SL_OPT_INT,
     .def = "100",
     .min = 1,
     .max = 100000,
     .help = "Most rows in one invocation."},
    {.name = "batch_bytes",
     .type = SL_OPT_SIZE,
     .min = 1,
     .max = 6 * MIB,
     .doc_default = "1MiB for Event, 6MiB for RequestResponse",
     .help = "Largest payload of one invocation; Lambda accepts at most 6MiB synchronously and "
             "1MiB for Event."},
    {.name = "linger",
     .type = SL_OPT_DURATION,
     .def = "1s",
     .min = 0,
     .max = 3600000,
     .help = "How long a batch may wait for more rows before it is sent."},
    {.name = "max_in_flight",
     .type = SL_OPT_INT,
     .def = "16",
     .min = 1,
     .max = 1000,
     .help = "Invocations in progress at once."},
    {.name = "retries",
     .type = SL_OPT_INT,
     .def = "5",
     .min = 0,
     .max = 100,
     .help = "Retries of a failed batch, with jittered backoff, on throttling, 5xx and "
             "timeouts."},
    {.name = "timeout",
     .type = SL_OPT_DURATION,
     .def = "30s",
     .min = 1000,
     .max = 3600000,
     .help = "Time allowed for one invocation request."},
    {.name = "dead_letter",
     .type = SL_OPT_STRING,
     .help = "Path of a JSON Lines file that receives batches that still fail after the "
             "retries; none by default."},
    {.name = NULL},
};

static bool name_chars(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-' && c != '_') {
            return false;
        }
    }
    return true;
}

/* name[:qualifier], qualifier a version, an alias or $LATEST. */
static bool valid_name_qual(const char *s)
{
    const char *colon = strchr(s, ':');
    size_t n = colon != NULL ? (size_t)(colon - s) : strlen(s);
    if (!name_chars(s, n, 64)) {
        return false;
    }
    if (colon == NULL) {
        return true;
    }
    const char *q = colon + 1;
    return strcmp(q, "$LATEST") == 0 || name_chars(q, strlen(q), 128);
}

static bool valid_region(const char *s, size_t n)
{
    if (n < 4 || n > 32 || !islower((unsigned char)s[0])) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!islower(c) && !isdigit(c) && c != '-') {
            return false;
        }
    }
    return true;
}

static bool twelve_digits(const char *s, size_t n)
{
    if (n != 12) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* Validates the function; for a full ARN copies its region into region (cap bytes). */
static int parse_function(const char *fn, char *region, size_t cap)
{
    region[0] = '\0';
    if (strncmp(fn, "arn:", 4) == 0) {
        /* arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>] */
        const char *f[6];
        size_t len[6];
        const char *p = fn + 4;
        for (int i = 0; i < 5; i++) {
            const char *c = strchr(p, ':');
            if (c == NULL) {
                return -EINVAL;
            }
            f[i] = p;
            len[i] = (size_t)(c - p);
            p = c + 1;
        }
        f[5] = p; /* name[:qualifier] */
        len[5] = strlen(p);
        bool part = (len[0] == 3 && strncmp(f[0], "aws", 3) == 0) ||
                    (len[0] == 6 && strncmp(f[0], "aws-cn", 6) == 0) ||
                    (len[0] == 10 && strncmp(f[0], "aws-us-gov", 10) == 0);
        if (!part || len[1] != 6 || strncmp(f[1], "lambda", 6) != 0 ||
            !valid_region(f[2], len[2]) || !twelve_digits(f[3], len[3]) || len[4] != 8 ||
            strncmp(f[4], "function", 8) != 0 || len[5] == 0) {
            return -EINVAL;
        }
        if (!valid_name_qual(f[5])) {
            return -EINVAL;
        }
        if (len[2] + 1 > cap) {
            return -EINVAL;
        }
        memcpy(region, f[2], len[2]);
        region[len[2]] = '\0';
        return 0;
    }
    /* <account>:function:<name>[:qualifier] */
    const char *c = strchr(fn, ':');
    if (c != NULL && twelve_digits(fn, (size_t)(c - fn))) {
        if (strncmp(c + 1, "function:", 9) != 0) {
            return -EINVAL;
        }
        return valid_name_qual(c + 10) ? 0 : -EINVAL;
    }
    return valid_name_qual(fn) ? 0 : -EINVAL;
}

static int check_endpoint(const char *url)
{
    const char *rest;
    if (sl__conn_has_scheme(url, "https://")) {
        rest = url + 8;
    } else if (sl__conn_has_scheme(url, "http://")) {
        rest = url + 7;
    } else {
        return -EINVAL;
    }
    size_t n = strcspn(rest, "/");
    if (memchr(rest, '@', n) != NULL) {
        return -EINVAL;
    }
    return sl__conn_hostport(rest, n, false);
}

static int lambda_check_sink(const struct sl_plan *plan, sl_opt_report_fn report, void *ud)
{
    const struct sl_options *o = &plan->sink_opts;
    int errors = 0;
    struct sl_msgbuf tmp;
    sl_msgbuf_init(&tmp);

    const char *fn = sl_options_str(o, "function");
    char arn_region[40];
    bool fn_ok = false;
    if (fn != NULL) {
        if (parse_function(fn, arn_region, sizeof(arn_region)) < 0) {
            sl__conn_report(report, ud, o, "function",
                            "option 'function' must be a function name (letters, digits, '-', "
                            "'_'; name:alias allowed) or an ARN "
                            "arn:aws:lambda:<region>:<account>:function:<name>, got '%s'",
                            sl__conn_shown(&tmp, fn));
            errors++;
        } else {
            fn_ok = true;
        }
    }

    const char *region = sl_options_str(o, "region");
    if (region != NULL && !valid_region(region, strlen(region))) {
        sl__conn_report(report, ud, o, "region",
                        "option 'region' must be an AWS region like 'eu-west-1', got '%s'",
                        sl__conn_shown(&tmp, region));
        errors++;
    } else if (fn_ok) {
        if (region != NULL && arn_region[0] != '\0' && strcmp(region, arn_region) != 0) {
            sl__conn_report(report, ud, o, "region",
                            "option 'region' is '%s' but the function's ARN is in region '%s'",
                            region, arn_region);
            errors++;
        } else if (region == NULL && arn_region[0] == '\0') {
            const char *env = getenv("AWS_REGION");
            if (env == NULL || *env == '\0') {
                env = getenv("AWS_DEFAULT_REGION");
            }
            if (env == NULL || *env == '\0') {
                sl__conn_report(report, ud, o, "function",
                                "connector lambda needs a region for function '%s': write the "
                                "function as a full ARN, set option region = 'eu-west-1', or "
                                "set AWS_REGION in the environment",
                                sl__conn_shown(&tmp, fn));
                errors++;
            }
        }
    }

    const char *endpoint = sl_options_str(o, "endpoint");
    if (endpoint != NULL && check_endpoint(endpoint) < 0) {
        sl__conn_report(report, ud, o, "endpoint",
                        "option 'endpoint' must be an http:// or https:// URL like "
                        "'http://127.0.0.1:3002', got '%s'",
                        sl__conn_shown(&tmp, endpoint));
        errors++;
    }

    const struct sl_opt_value *bb = sl_options_get(o, "batch_bytes");
    if (bb != NULL && sl_options_int(o, "invocation_type", 0) == INV_EVENT && bb->i > MIB) {
        sl__conn_report(report, ud, o, "batch_bytes",
                        "option 'batch_bytes' must be at most 1MiB with invocation_type = "
                        "'Event' (Lambda's limit for asynchronous invocations), got '%s'",
                        sl__conn_shown(&tmp, bb->str));
        errors++;
    }

    sl_msgbuf_fini(&tmp);
    return errors;
}

const struct sl_connector sl_connector_lambda = {
    .name = "lambda",
    .summary = "Invokes an AWS Lambda function with batches of rows: "
               "{\"sink\": \"<name>\", \"records\": [...]}.",
    .source_options = NULL,
    .sink_options = lambda_sink_options,
    .check_sink = lambda_check_sink,
    .sink = &sl_lambda_sink_ops,
};
