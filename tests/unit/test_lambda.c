/*
 * test_lambda.c - the Lambda sink's pure pieces (connectors/lambda/lambda_run.c: Invoke
 * paths, batching, backoff, AIMD, outcomes, Retry-After) and the credential parsers and
 * chain of creds.c. Expected values are written by hand from the AWS documentation and
 * SQL.md. Nothing here opens a socket except a connection refused on loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "connectors/lambda/lambda_int.h"

static void path_is(const char *fn, bool twice, const char *want)
{
    struct sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl__lambda_path(&b, fn, twice), 0);
    assert_string_equal(b.p, want);
    sl_buf_fini(&b);
}

static void test_path(void **state)
{
    (void)state;
    path_is("notify", false, "/2015-03-31/functions/notify/invocations");
    path_is("my_fn-1.x~", false, "/2015-03-31/functions/my_fn-1.x~/invocations");
    path_is("notify:prod", false, "/2015-03-31/functions/notify%3Aprod/invocations");
    path_is("arn:aws:lambda:eu-west-1:123456789012:function:f", false,
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Af/"
            "invocations");
    /* SigV4's canonical URI for services other than S3: encoded once more. */
    path_is("arn:aws:lambda:eu-west-1:123456789012:function:f", true,
            "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aeu-west-1%253A123456789012%253A"
            "function%253Af/invocations");
    path_is("notify", true, "/2015-03-31/functions/notify/invocations");
    path_is("a$b/c", false, "/2015-03-31/functions/a%24b%2Fc/invocations");
}

static void test_split(void **state)
{
    (void)state;
    int start[16], count[16];
    bool big[16];
    /* 10 rows of 10 bytes, overhead 20: by count (4 per batch). */
    size_t len[10];
    for (int i = 0; i < 10; i++) {
        len[i] = 10;
    }
    int nb = sl__lambda_split(len, 10, 20, 4, 1000, start, count, big);
    assert_int_equal(nb, 3);
    assert_int_equal(start[0], 0);
    assert_int_equal(count[0], 4);
    assert_int_equal(start[1], 4);
    assert_int_equal(count[1], 4);
    assert_int_equal(start[2], 8);
    assert_int_equal(count[2], 2);
    assert_false(big[0] || big[1] || big[2]);
    /* By bytes: 20 + 10 + 1 + 10 + 1 + 10 = 52 fits exactly, a fourth row would not. */
    nb = sl__lambda_split(len, 10, 20, 100, 52, start, count, big);
    assert_int_equal(nb, 4);
    assert_int_equal(count[0], 3);
    assert_int_equal(count[3], 1);
    nb = sl__lambda_split(len, 10, 20, 100, 51, start, count, big);
    assert_int_equal(count[0], 2);
    assert_int_equal(nb, 5);
    /* A row too large alone forms an oversize batch; neighbours batch around it. */
    size_t mixed[5] = {10, 10, 500, 10, 10};
    nb = sl__lambda_split(mixed, 5, 20, 100, 100, start, count, big);
    assert_int_equal(nb, 3);
    assert_int_equal(start[0], 0);
    assert_int_equal(count[0], 2);
    assert_false(big[0]);
    assert_int_equal(start[1], 2);
    assert_int_equal(count[1], 1);
    assert_true(big[1]);
    assert_int_equal(start[2], 3);
    assert_int_equal(count[2], 2);
    assert_false(big[2]);
    /* Exactly the limit is not oversize. */
    size_t exact[1] = {80};
    nb = sl__lambda_split(exact, 1, 20, 100, 100, start, count, big);
    assert_int_equal(nb, 1);
    assert_false(big[0]);
    assert_int_equal(sl__lambda_split(len, 0, 20, 4, 1000, start, count, big), 0);
    /* batch_size 1: one row per batch. */
    assert_int_equal(sl__lambda_split(len, 10, 20, 1, 1000, start, count, big), 10);
}

static void test_backoff(void **state)
{
    (void)state;
    /* Equal jitter: [d/2, d], d = 100 ms * 2^(attempt-1), capped. */
    assert_int_equal(sl__lambda_backoff(1, 100, 20000, 0.0, 0), 50);
    assert_int_equal(sl__lambda_backoff(1, 100, 20000, 0.999999, 0), 99);
    assert_int_equal(sl__lambda_backoff(2, 100, 20000, 0.0, 0), 100);
    assert_int_equal(sl__lambda_backoff(3, 100, 20000, 0.5, 0), 300);
    assert_int_equal(sl__lambda_backoff(9, 100, 20000, 0.0, 0), 10000);
    assert_int_equal(sl__lambda_backoff(10, 100, 20000, 0.0, 0), 10000);
    assert_int_equal(sl__lambda_backoff(60, 100, 20000, 0.999999, 0), 19999);
    assert_int_equal(sl__lambda_backoff(1000, 100, 20000, 0.0, 0), 10000);
    /* Retry-After is a floor, never shortened by the jitter. */
    assert_int_equal(sl__lambda_backoff(1, 100, 20000, 0.0, 3000), 3000);
    assert_int_equal(sl__lambda_backoff(9, 100, 20000, 0.0, 2000), 10000);
}

static void test_aimd(void **state)
{
    (void)state;
    double l = 16;
    l = sl__lambda_aimd(l, true, 16);
    assert_true(l == 8);
    l = sl__lambda_aimd(l, true, 16);
    l = sl__lambda_aimd(l, true, 16);
    l = sl__lambda_aimd(l, true, 16);
    assert_true(l == 1);
    l = sl__lambda_aimd(l, true, 16);
    assert_true(l == 1); /* floor */
    /* +1/limit per success: about one more per round of `limit` successes. */
    l = sl__lambda_aimd(l, false, 16);
    assert_true(l == 2);
    for (int i = 0; i < 2; i++) {
        l = sl__lambda_aimd(l, false, 16);
    }
    assert_true(l > 2.899 && l < 2.901); /* 2 + 1/2 + 1/2.5 */
    for (int i = 0; i < 10000; i++) {
        l = sl__lambda_aimd(l, false, 16);
    }
    assert_true(l == 16); /* ceiling */
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(sl__lambda_classify(200, false, false), SL_LAMBDA_OK);
    assert_int_equal(sl__lambda_classify(200, false, true), SL_LAMBDA_FUNCTION_ERROR);
    assert_int_equal(sl__lambda_classify(202, true, false), SL_LAMBDA_OK);
    /* RequestResponse must be a 200: a 202 proves nothing ran. */
    assert_int_equal(sl__lambda_classify(202, false, false), SL_LAMBDA_RETRY);
    assert_int_equal(sl__lambda_classify(429, false, false), SL_LAMBDA_THROTTLED);
    assert_int_equal(sl__lambda_classify(413, true, false), SL_LAMBDA_TOO_LARGE);
    assert_int_equal(sl__lambda_classify(500, false, false), SL_LAMBDA_RETRY);
    assert_int_equal(sl__lambda_classify(502, false, false), SL_LAMBDA_RETRY);
    assert_int_equal(sl__lambda_classify(0, false, false), SL_LAMBDA_RETRY);
    assert_int_equal(sl__lambda_classify(403, false, false), SL_LAMBDA_RETRY);
    assert_int_equal(sl__lambda_classify(404, false, false), SL_LAMBDA_FAIL);
    assert_int_equal(sl__lambda_classify(400, true, false), SL_LAMBDA_FAIL);
}

static void test_retry_after(void **state)
{
    (void)state;
    assert_int_equal(sl__lambda_retry_after("2", 0), 2000);
    assert_int_equal(sl__lambda_retry_after(" 1.5", 0), 1500);
    assert_int_equal(sl__lambda_retry_after("0", 0), 0);
    assert_int_equal(sl__lambda_retry_after(NULL, 0), -1);
    assert_int_equal(sl__lambda_retry_after("", 0), -1);
    assert_int_equal(sl__lambda_retry_after("soon", 0), -1);
    assert_int_equal(sl__lambda_retry_after("-3", 0), -1);
    assert_int_equal(sl__lambda_retry_after("999999999", 0), 15 * 60 * 1000); /* capped */
    /* HTTP date: Thu, 01 Jan 2026 00:00:10 GMT = 1767225610 s. */
    assert_int_equal(sl__lambda_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", 1767225600000), 10000);
    assert_int_equal(sl__lambda_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", 1767225700000), 0);
}

static void test_time(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(sl__aws_parse_time("2026-01-01T00:00:10Z", &ms), 0);
    assert_int_equal(ms, 1767225610000);
    assert_int_equal(sl__aws_parse_time("2026-01-01T00:00:10.123Z", &ms), 0);
    assert_int_equal(ms, 1767225610000);
    assert_int_equal(sl__aws_parse_time("2026-01-01T00:00:10+00:00", &ms), 0);
    assert_int_equal(sl__aws_parse_time("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_true(sl__aws_parse_time("2026-13-01T00:00:10Z", &ms) < 0);
    assert_true(sl__aws_parse_time("2026-01-01 00:00:10Z", &ms) < 0);
    assert_true(sl__aws_parse_time("2026-01-01T00:00:10+02:00", &ms) < 0);
    assert_true(sl__aws_parse_time("", &ms) < 0);
    assert_true(sl__aws_parse_time(NULL, &ms) < 0);
}

static void test_ini(void **state)
{
    (void)state;
    const char *text = "# comment\n"
                       "[default]\n"
                       "aws_access_key_id = AKIDDEF\n"
                       "aws_secret_access_key = def/secret\n"
                       "\n"
                       "[profile other]\r\n"
                       "  aws_access_key_id=AKIDOTHER  \r\n"
                       "; another comment\n"
                       "aws_secret_access_key = other+secret=\n"
                       "aws_session_token = tok\n"
                       "[broken]\n"
                       "aws_access_key_id = AKIDBROKEN\n";
    struct sl__aws_creds c = {0};
    char why[200];
    assert_int_equal(sl__aws_parse_ini(text, "default", &c, why, sizeof(why)), 0);
    assert_string_equal(c.access_key, "AKIDDEF");
    assert_string_equal(c.secret_key, "def/secret");
    assert_null(c.token);
    assert_int_equal(c.expires_ms, 0);
    sl__aws_creds_fini(&c);
    assert_int_equal(sl__aws_parse_ini(text, "other", &c, why, sizeof(why)), 0);
    assert_string_equal(c.access_key, "AKIDOTHER");
    assert_string_equal(c.secret_key, "other+secret=");
    assert_string_equal(c.token, "tok");
    sl__aws_creds_fini(&c);
    assert_int_equal(sl__aws_parse_ini(text, "nope", &c, why, sizeof(why)), -ENOENT);
    assert_non_null(strstr(why, "nope"));
    assert_int_equal(sl__aws_parse_ini(text, "broken", &c, why, sizeof(why)), -EINVAL);
    assert_null(strstr(why, "AKIDBROKEN")); /* reasons name no key */
    assert_int_equal(sl__aws_parse_ini("", "default", &c, why, sizeof(why)), -ENOENT);
    assert_int_equal(sl__aws_parse_ini("[default\nx=y", "default", &c, why, sizeof(why)), -ENOENT);
}

static void test_json(void **state)
{
    (void)state;
    struct sl__aws_creds c = {0};
    char why[200];
    assert_int_equal(sl__aws_parse_json("{\"Code\":\"Success\",\"AccessKeyId\":\"ASIA1\","
                                        "\"SecretAccessKey\":\"s\",\"Token\":\"t\","
                                        "\"Expiration\":\"2026-01-01T00:00:10Z\"}",
                                        &c, why, sizeof(why)),
                     0);
    assert_string_equal(c.access_key, "ASIA1");
    assert_string_equal(c.secret_key, "s");
    assert_string_equal(c.token, "t");
    assert_int_equal(c.expires_ms, 1767225610000);
    sl__aws_creds_fini(&c);
    /* The ECS shape has no Code. */
    assert_int_equal(sl__aws_parse_json("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\"}", &c,
                                        why, sizeof(why)),
                     0);
    assert_null(c.token);
    assert_int_equal(c.expires_ms, 0);
    sl__aws_creds_fini(&c);
    assert_true(sl__aws_parse_json("{\"Code\":\"Failure\",\"AccessKeyId\":\"A\","
                                   "\"SecretAccessKey\":\"s\"}",
                                   &c, why, sizeof(why)) < 0);
    assert_non_null(strstr(why, "Failure"));
    assert_true(sl__aws_parse_json("{\"AccessKeyId\":\"A\"}", &c, why, sizeof(why)) < 0);
    assert_true(sl__aws_parse_json("[1,2]", &c, why, sizeof(why)) < 0);
    assert_true(sl__aws_parse_json("not json", &c, why, sizeof(why)) < 0);
    assert_true(sl__aws_parse_json("", &c, why, sizeof(why)) < 0);
    assert_true(sl__aws_parse_json("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\","
                                   "\"Expiration\":\"tomorrow\"}",
                                   &c, why, sizeof(why)) < 0);
    assert_true(sl__aws_parse_json("{\"AccessKeyId\":1,\"SecretAccessKey\":\"s\"}", &c, why,
                                   sizeof(why)) < 0);
}

static void test_sts(void **state)
{
    (void)state;
    struct sl__aws_creds c = {0};
    char why[200];
    const char *ok =
        "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
        "<SubjectFromWebIdentityToken>x</SubjectFromWebIdentityToken><Credentials>"
        "<AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>a&amp;b/c+d</SecretAccessKey>"
        "<SessionToken>tok&lt;1&gt;</SessionToken><Expiration>2026-01-01T00:00:10Z</Expiration>"
        "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
    assert_int_equal(sl__aws_parse_sts(ok, &c, why, sizeof(why)), 0);
    assert_string_equal(c.access_key, "ASIAWEB");
    assert_string_equal(c.secret_key, "a&b/c+d");
    assert_string_equal(c.token, "tok<1>");
    assert_int_equal(c.expires_ms, 1767225610000);
    sl__aws_creds_fini(&c);
    assert_true(sl__aws_parse_sts("<ErrorResponse><Error><Code>AccessDenied</Code></Error>"
                                  "</ErrorResponse>",
                                  &c, why, sizeof(why)) < 0);
    assert_non_null(strstr(why, "AccessDenied"));
    assert_true(sl__aws_parse_sts("<Credentials><AccessKeyId>A</AccessKeyId></Credentials>", &c,
                                  why, sizeof(why)) < 0);
    assert_true(sl__aws_parse_sts("<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>s"
                                  "</SecretAccessKey></Credentials>",
                                  &c, why, sizeof(why)) < 0); /* no Expiration */
    assert_true(sl__aws_parse_sts("<Credentials><AccessKeyId>A", &c, why, sizeof(why)) < 0);
    assert_true(sl__aws_parse_sts("", &c, why, sizeof(why)) < 0);
}

static void chain_empty(struct sl__aws_chain *ch)
{
    memset(ch, 0, sizeof(*ch));
    ch->profile = strdup("default");
    ch->imds_disabled = true;
    ch->timeout_ms = 1000;
}

static void test_chain_env_and_file(void **state)
{
    (void)state;
    struct sl__aws_chain ch;
    const struct sl__aws_creds *cr = NULL;
    chain_empty(&ch);
    ch.env_ak = strdup("AKIDENV");
    ch.env_sk = strdup("envsecret");
    assert_int_equal(sl__aws_chain_get(&ch, 1000, &cr), 1);
    assert_string_equal(cr->access_key, "AKIDENV");
    assert_string_equal(cr->source, "environment");
    assert_null(cr->token);
    /* Long-lived: never fetched again. */
    assert_int_equal(sl__aws_chain_get(&ch, 1000 + 86400000LL * 365, &cr), 0);
    sl__aws_chain_fini(&ch);

    /* Half an environment pair is an error that names the variables, not the value. */
    chain_empty(&ch);
    ch.env_ak = strdup("AKIDHALF");
    assert_true(sl__aws_chain_get(&ch, 1000, &cr) < 0);
    assert_non_null(strstr(ch.last_error, "AWS_SECRET_ACCESS_KEY"));
    assert_null(strstr(ch.last_error, "AKIDHALF"));
    sl__aws_chain_fini(&ch);

    char path[] = "/tmp/sl_test_lambda_credsXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "[default]\naws_access_key_id=AKIDFILE\naws_secret_access_key=fs\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chain_empty(&ch);
    ch.shared_file = strdup(path);
    assert_int_equal(sl__aws_chain_get(&ch, 1000, &cr), 1);
    assert_string_equal(cr->access_key, "AKIDFILE");
    assert_string_equal(cr->source, "shared-file");
    sl__aws_chain_fini(&ch);
    unlink(path);

    /* Nothing configured. */
    chain_empty(&ch);
    ch.shared_file = strdup("/nonexistent/credentials");
    assert_int_equal(sl__aws_chain_get(&ch, 1000, &cr), -ENOENT);
    assert_non_null(strstr(ch.last_error, "no AWS credentials"));
    /* Not asked again within 2 s. */
    assert_int_equal(sl__aws_chain_get(&ch, 2000, &cr), -EAGAIN);
    sl__aws_chain_fini(&ch);
}

static void test_chain_refresh_failure(void **state)
{
    (void)state;
    /* Cached temporary credentials stay in use while a refresh fails and they have not
     * expired; after expiry the failure shows. The container endpoint is a refused port. */
    struct sl__aws_chain ch;
    const struct sl__aws_creds *cr = NULL;
    chain_empty(&ch);
    ch.container_url = strdup("http://127.0.0.1:1/creds");
    assert_true(sl__aws_chain_get(&ch, 1000, &cr) < 0);
    assert_non_null(strstr(ch.last_error, "container"));
    ch.cur.access_key = strdup("ASIAOLD");
    ch.cur.secret_key = strdup("old");
    ch.cur.expires_ms = 1000000;
    ch.next_try_ms = 1000000 - SL_AWS_REFRESH_MS; /* as refresh_at would set it */
    assert_int_equal(sl__aws_chain_get(&ch, 500000, &cr), 0);
    assert_string_equal(cr->access_key, "ASIAOLD");
    /* Inside the refresh window: the refresh fails, the old ones are still returned. */
    assert_int_equal(sl__aws_chain_get(&ch, 800000, &cr), 0);
    assert_string_equal(cr->access_key, "ASIAOLD");
    /* Expired and the source still failing. */
    assert_true(sl__aws_chain_get(&ch, 1000001, &cr) < 0);
    sl__aws_chain_fini(&ch);

    /* A container URL on another host over http is refused (the SDKs' rule). */
    chain_empty(&ch);
    ch.container_url = strdup("http://203.0.113.7/creds");
    assert_true(sl__aws_chain_get(&ch, 1000, &cr) < 0);
    assert_non_null(strstr(ch.last_error, "loopback"));
    sl__aws_chain_fini(&ch);
}

static void test_curl_probe(void **state)
{
    (void)state;
    /* libcurl 7.x (Debian 12: 7.88) signs the URL's path as it is: the sink must put the
     * canonical path in the URL and the wire path in CURLOPT_REQUEST_TARGET. */
    int r = sl__lambda_curl_encodes_path();
    assert_true(r == 0 || r == 1);
    if (curl_version_info(CURLVERSION_NOW)->version_num < 0x080000) {
        assert_int_equal(r, 0);
    }
    assert_int_equal(sl__lambda_curl_encodes_path(), r); /* stable */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_aimd),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_ini),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_sts),
        cmocka_unit_test(test_chain_env_and_file),
        cmocka_unit_test(test_chain_refresh_failure),
        cmocka_unit_test(test_curl_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
