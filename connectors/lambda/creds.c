/*
 * creds.c - AWS credentials for the Lambda sink, from the standard chain, refreshed before
 * they expire.
 *
 * The chain follows the AWS SDKs (botocore's order): the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); web identity (AWS_WEB_IDENTITY_TOKEN_FILE +
 * AWS_ROLE_ARN, exchanged at STS with an unsigned AssumeRoleWithWebIdentity, as on EKS); the
 * shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials; profile
 * AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default"); the container endpoint
 * (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI under http://169.254.170.2, or
 * AWS_CONTAINER_CREDENTIALS_FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]); EC2
 * IMDSv2 (a PUT for a session token, then the role's credentials; AWS_EC2_METADATA_DISABLED
 * turns it off). The first source that is configured decides: its failure is reported, not
 * skipped. Endpoints honour the SDKs' override variables (AWS_ENDPOINT_URL_STS,
 * AWS_ENDPOINT_URL, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_EC2_METADATA_SERVICE_ENDPOINT),
 * which is how tests point them at loopback servers.
 *
 * Temporary credentials are fetched again SL_AWS_REFRESH_MS before they expire; while a
 * refresh fails the old ones are used until they expire. Error texts name the source and
 * the HTTP status, never a key, a token or a response body that may hold one. Sink thread.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "connectors/lambda/lambda_int.h"
#include "engine/common.h"

#define RESP_MAX (256 * 1024)

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? strdup(v) : NULL;
}

static void set_why(char *why, size_t cap, const char *fmt, ...) SL_PRINTF(3, 4);

static void set_why(char *why, size_t cap, const char *fmt, ...)
{
    if (why != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
}

void sl__aws_creds_fini(struct sl__aws_creds *c)
{
    if (c == NULL) {
        return;
    }
    /* Secrets are wiped before their memory goes back to the allocator. */
    if (c->secret_key != NULL) {
        memset(c->secret_key, 0, strlen(c->secret_key));
    }
    if (c->token != NULL) {
        memset(c->token, 0, strlen(c->token));
    }
    free(c->access_key);
    free(c->secret_key);
    free(c->token);
    c->access_key = c->secret_key = c->token = NULL;
    c->expires_ms = 0;
}

int sl__aws_parse_time(const char *s, int64_t *ret_ms)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        n < 19) {
        return -EINVAL;
    }
    const char *p = s + n;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    }
    if (!(strcmp(p, "Z") == 0 || strcmp(p, "+00:00") == 0 || *p == '\0')) {
        return -EINVAL;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return -EINVAL;
    }
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1) {
        return -EINVAL;
    }
    *ret_ms = (int64_t)t * 1000;
    return 0;
}

static int fill(struct sl__aws_creds *ret, const char *ak, const char *sk, const char *tok,
                int64_t exp)
{
    struct sl__aws_creds c = {0};
    c.access_key = strdup(ak);
    c.secret_key = strdup(sk);
    c.token = tok != NULL && *tok != '\0' ? strdup(tok) : NULL;
    if (c.access_key == NULL || c.secret_key == NULL ||
        (tok != NULL && *tok != '\0' && c.token == NULL)) {
        sl__aws_creds_fini(&c);
        return -ENOMEM;
    }
    c.expires_ms = exp;
    *ret = c;
    return 0;
}

/* ---- shared credentials file (INI) ---- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) {
        *--e = '\0';
    }
    return s;
}

int sl__aws_parse_ini(const char *text, const char *profile, struct sl__aws_creds *ret, char *why,
                      size_t cap)
{
    char *copy = strdup(text);
    if (copy == NULL) {
        return -ENOMEM;
    }
    char *ak = NULL, *sk = NULL, *tok = NULL;
    bool in = false, seen = false;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *l = trim(line);
        if (*l == '#' || *l == ';' || *l == '\0') {
            continue;
        }
        if (*l == '[') {
            char *e = strchr(l, ']');
            if (e == NULL) {
                in = false;
                continue;
            }
            *e = '\0';
            char *name = trim(l + 1);
            if (strncmp(name, "profile ", 8) == 0) { /* config-file spelling */
                name = trim(name + 8);
            }
            in = strcmp(name, profile) == 0;
            seen = seen || in;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!in || eq == NULL) {
            continue;
        }
        *eq = '\0';
        char *k = trim(l), *v = trim(eq + 1);
        if (strcasecmp(k, "aws_access_key_id") == 0) {
            ak = v;
        } else if (strcasecmp(k, "aws_secret_access_key") == 0) {
            sk = v;
        } else if (strcasecmp(k, "aws_session_token") == 0) {
            tok = v;
        }
    }
    int r;
    if (!seen) {
        set_why(why, cap, "profile '%s' not found in the shared credentials file", profile);
        r = -ENOENT;
    } else if (ak == NULL || sk == NULL || *ak == '\0' || *sk == '\0') {
        set_why(why, cap,
                "profile '%s' in the shared credentials file lacks aws_access_key_id or "
                "aws_secret_access_key",
                profile);
        r = -EINVAL;
    } else {
        r = fill(ret, ak, sk, tok, 0);
    }
    memset(copy, 0, strlen(text));
    free(copy);
    return r;
}

/* ---- JSON (container endpoint, IMDS) and XML (STS) ---- */

int sl__aws_parse_json(const char *text, struct sl__aws_creds *ret, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        set_why(why, cap, "credentials response is not a JSON object%s", "");
        return -EINVAL;
    }
    const char *code = json_string_value(json_object_get(o, "Code"));
    const char *ak = json_string_value(json_object_get(o, "AccessKeyId"));
    const char *sk = json_string_value(json_object_get(o, "SecretAccessKey"));
    const char *tok = json_string_value(json_object_get(o, "Token"));
    const char *exp = json_string_value(json_object_get(o, "Expiration"));
    int64_t exp_ms = 0;
    int r;
    if (code != NULL && strcmp(code, "Success") != 0) {
        set_why(why, cap, "credentials response has Code '%.64s'", code);
        r = -EINVAL;
    } else if (ak == NULL || sk == NULL || *ak == '\0' || *sk == '\0') {
        set_why(why, cap, "credentials response lacks AccessKeyId or SecretAccessKey%s", "");
        r = -EINVAL;
    } else if (exp != NULL && sl__aws_parse_time(exp, &exp_ms) < 0) {
        set_why(why, cap, "credentials response has an unreadable Expiration '%.40s'", exp);
        r = -EINVAL;
    } else {
        r = fill(ret, ak, sk, tok, exp_ms);
    }
    json_decref(o);
    return r;
}

/* The text of the first <tag>…</tag> inside text, copied into a malloc'd string. */
static char *xml_text(const char *text, const char *tag)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = strstr(text, open);
    if (a == NULL) {
        return NULL;
    }
    a += strlen(open);
    const char *b = strstr(a, close);
    if (b == NULL) {
        return NULL;
    }
    char *s = malloc((size_t)(b - a) + 1);
    if (s == NULL) {
        return NULL;
    }
    /* Undo the five predefined XML entities (a session token is base64: '+', '/', '='). */
    size_t n = 0;
    for (const char *p = a; p < b; p++) {
        static const struct {
            const char *ent;
            char c;
        } ents[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        bool done = false;
        for (size_t i = 0; *p == '&' && i < SL_ARRAY_LEN(ents); i++) {
            size_t l = strlen(ents[i].ent);
            if ((size_t)(b - p) >= l && strncmp(p, ents[i].ent, l) == 0) {
                s[n++] = ents[i].c;
                p += l - 1;
                done = true;
                break;
            }
        }
        if (!done) {
            s[n++] = *p;
        }
    }
    s[n] = '\0';
    return s;
}

int sl__aws_parse_sts(const char *text, struct sl__aws_creds *ret, char *why, size_t cap)
{
    const char *c = strstr(text, "<Credentials>");
    if (c == NULL) {
        char *code = xml_text(text, "Code");
        set_why(why, cap, "STS answered without credentials (%.80s)",
                code != NULL ? code : "no error code");
        free(code);
        return -EINVAL;
    }
    char *ak = xml_text(c, "AccessKeyId"), *sk = xml_text(c, "SecretAccessKey");
    char *tok = xml_text(c, "SessionToken"), *exp = xml_text(c, "Expiration");
    int64_t exp_ms = 0;
    int r;
    if (ak == NULL || sk == NULL || *ak == '\0' || *sk == '\0') {
        set_why(why, cap, "STS credentials lack AccessKeyId or SecretAccessKey%s", "");
        r = -EINVAL;
    } else if (exp == NULL || sl__aws_parse_time(exp, &exp_ms) < 0) {
        set_why(why, cap, "STS credentials have no readable Expiration%s", "");
        r = -EINVAL;
    } else {
        r = fill(ret, ak, sk, tok, exp_ms);
    }
    if (sk != NULL) {
        memset(sk, 0, strlen(sk));
    }
    if (tok != NULL) {
        memset(tok, 0, strlen(tok));
    }
    free(ak);
    free(sk);
    free(tok);
    free(exp);
    return r;
}

/* ---- HTTP for the providers (blocking, short) ---- */

struct resp {
    struct sl_buf b;
    bool over;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    struct resp *rs = ud;
    size_t n = size * nmemb;
    if (rs->b.len + n > RESP_MAX || sl_buf_append(&rs->b, p, n) < 0) {
        rs->over = true;
        return 0;
    }
    return n;
}

/* Sends one request; returns the HTTP status (body in rs) or < 0 when none came. */
static int http(const char *method, const char *url, struct curl_slist *hdrs, const char *body,
                int timeout_ms, struct resp *rs)
{
    CURL *e = curl_easy_init();
    if (e == NULL) {
        return -ENOMEM;
    }
    sl_buf_init(&rs->b);
    rs->over = false;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, rs);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    if (cc != CURLE_OK || rs->over) {
        sl_buf_fini(&rs->b);
        return rs->over ? -EMSGSIZE : -EIO;
    }
    if (rs->b.p == NULL && sl_buf_putc(&rs->b, '\0') == 0) {
        rs->b.len = 0;
    }
    return (int)status;
}

static void wipe_resp(struct resp *rs)
{
    if (rs->b.p != NULL) {
        memset(rs->b.p, 0, rs->b.len);
    }
    sl_buf_fini(&rs->b);
}

static char *read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    struct sl_buf b;
    sl_buf_init(&b);
    char tmp[4096];
    size_t n;
    bool ok = true;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        if (b.len + n > max || sl_buf_append(&b, tmp, n) < 0) {
            ok = false;
            break;
        }
    }
    fclose(f);
    if (!ok || (b.p == NULL && sl_buf_putc(&b, '\0') < 0)) {
        sl_buf_fini(&b);
        return NULL;
    }
    return b.p;
}

/* ---- providers ---- */

static int from_web_identity(struct sl__aws_chain *ch, struct sl__aws_creds *out)
{
    char *jwt = read_file(ch->web_token_file, 64 * 1024);
    if (jwt == NULL) {
        set_why(ch->last_error, sizeof(ch->last_error),
                "web identity: cannot read AWS_WEB_IDENTITY_TOKEN_FILE %.180s", ch->web_token_file);
        return -ENOENT;
    }
    CURL *esc = curl_easy_init();
    char *t = esc != NULL ? curl_easy_escape(esc, trim(jwt), 0) : NULL;
    char *role = esc != NULL ? curl_easy_escape(esc, ch->role_arn, 0) : NULL;
    char *sess = esc != NULL ? curl_easy_escape(esc, ch->role_session, 0) : NULL;
    struct sl_buf body;
    sl_buf_init(&body);
    int r = -ENOMEM;
    if (t != NULL && role != NULL && sess != NULL &&
        sl_buf_appendf(&body,
                       "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=%s"
                       "&RoleSessionName=%s&WebIdentityToken=%s",
                       role, sess, t) == 0) {
        struct curl_slist *h =
            curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
        struct resp rs;
        int st = http("POST", ch->sts_endpoint, h, body.p, ch->timeout_ms, &rs);
        curl_slist_free_all(h);
        if (st < 0) {
            set_why(ch->last_error, sizeof(ch->last_error),
                    "web identity: no answer from STS at %.180s", ch->sts_endpoint);
            r = -EIO;
        } else {
            char why[200] = "";
            r = sl__aws_parse_sts(rs.b.p, out, why, sizeof(why));
            if (r < 0) {
                snprintf(ch->last_error, sizeof(ch->last_error), "web identity: STS HTTP %d: %s",
                         st, why);
            }
            wipe_resp(&rs);
        }
    }
    if (body.p != NULL) {
        memset(body.p, 0, body.len);
    }
    sl_buf_fini(&body);
    if (t != NULL) {
        memset(t, 0, strlen(t));
    }
    curl_free(t);
    curl_free(role);
    curl_free(sess);
    curl_easy_cleanup(esc);
    memset(jwt, 0, strlen(jwt));
    free(jwt);
    return r;
}

static int from_shared_file(struct sl__aws_chain *ch, struct sl__aws_creds *out, bool *ret_absent)
{
    *ret_absent = false;
    char *text = ch->shared_file != NULL ? read_file(ch->shared_file, 1024 * 1024) : NULL;
    if (text == NULL) {
        *ret_absent = true;
        return -ENOENT;
    }
    char why[200] = "";
    int r = sl__aws_parse_ini(text, ch->profile, out, why, sizeof(why));
    if (r == -ENOENT && getenv("AWS_PROFILE") == NULL) {
        *ret_absent = true; /* the default profile need not exist */
    }
    if (r < 0) {
        snprintf(ch->last_error, sizeof(ch->last_error), "%s (%.60s)", why, ch->shared_file);
    }
    memset(text, 0, strlen(text));
    free(text);
    return r;
}

static bool host_allowed(const char *url)
{
    /* The SDKs accept a full container URI over http only on loopback or the ECS/EKS
     * link-local agents; https anywhere. */
    if (strncasecmp(url, "https://", 8) == 0) {
        return true;
    }
    if (strncasecmp(url, "http://", 7) != 0) {
        return false;
    }
    const char *h = url + 7;
    static const char *const ok[] = {"127.",           "localhost:",     "localhost/",    "[::1]",
                                     "169.254.170.2:", "169.254.170.2/", "169.254.170.23"};
    for (size_t i = 0; i < SL_ARRAY_LEN(ok); i++) {
        if (strncasecmp(h, ok[i], strlen(ok[i])) == 0) {
            return true;
        }
    }
    return strcasecmp(h, "localhost") == 0 || strcasecmp(h, "169.254.170.2") == 0;
}

static int from_container(struct sl__aws_chain *ch, struct sl__aws_creds *out)
{
    if (!host_allowed(ch->container_url)) {
        snprintf(ch->last_error, sizeof(ch->last_error),
                 "container: AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback "
                 "http URL");
        return -EINVAL;
    }
    struct curl_slist *h = NULL;
    char *tok = ch->container_token != NULL ? strdup(ch->container_token) : NULL;
    if (tok == NULL && ch->container_token_file != NULL) {
        tok = read_file(ch->container_token_file, 16 * 1024);
        if (tok == NULL) {
            snprintf(ch->last_error, sizeof(ch->last_error),
                     "container: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
            return -ENOENT;
        }
    }
    if (tok != NULL) {
        struct sl_buf hb;
        sl_buf_init(&hb);
        if (sl_buf_appendf(&hb, "Authorization: %s", trim(tok)) == 0) {
            h = curl_slist_append(NULL, hb.p);
        }
        memset(hb.p, 0, hb.len);
        sl_buf_fini(&hb);
        memset(tok, 0, strlen(tok));
        free(tok);
    }
    struct resp rs;
    int st = http("GET", ch->container_url, h, NULL, ch->timeout_ms, &rs);
    if (h != NULL) {
        memset(h->data, 0, strlen(h->data));
    }
    curl_slist_free_all(h);
    if (st < 0) {
        snprintf(ch->last_error, sizeof(ch->last_error), "container: no answer from %.180s",
                 ch->container_url);
        return -EIO;
    }
    int r;
    if (st != 200) {
        snprintf(ch->last_error, sizeof(ch->last_error), "container: HTTP %d from %.180s", st,
                 ch->container_url);
        r = -EIO;
    } else {
        char why[200] = "";
        r = sl__aws_parse_json(rs.b.p, out, why, sizeof(why));
        if (r < 0) {
            snprintf(ch->last_error, sizeof(ch->last_error), "container: %s", why);
        }
    }
    wipe_resp(&rs);
    return r;
}

static int from_imds(struct sl__aws_chain *ch, struct sl__aws_creds *out)
{
    struct sl_buf url, hdr;
    sl_buf_init(&url);
    sl_buf_init(&hdr);
    const char *base = ch->imds_endpoint;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/') {
        bl--;
    }
    int tmo = ch->timeout_ms < 2000 ? ch->timeout_ms : 2000;
    struct resp rs = {0};
    struct curl_slist *h = NULL;
    int r = -EIO, st;
    /* 1. session token */
    if (sl_buf_appendf(&url, "%.*s/latest/api/token", (int)bl, base) < 0) {
        r = -ENOMEM;
        goto out;
    }
    h = curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
    st = http("PUT", url.p, h, "", tmo, &rs);
    curl_slist_free_all(h);
    h = NULL;
    if (st != 200 || rs.b.len == 0) {
        snprintf(ch->last_error, sizeof(ch->last_error),
                 "imds: no session token from %.*s (HTTP %d)", (int)(bl < 150 ? bl : 150), base,
                 st);
        if (st >= 0) {
            wipe_resp(&rs);
        }
        goto out;
    }
    if (sl_buf_appendf(&hdr, "X-aws-ec2-metadata-token: %s", trim(rs.b.p)) < 0) {
        wipe_resp(&rs);
        r = -ENOMEM;
        goto out;
    }
    wipe_resp(&rs);
    h = curl_slist_append(NULL, hdr.p);
    /* 2. role name */
    sl_buf_reset(&url);
    sl_buf_appendf(&url, "%.*s/latest/meta-data/iam/security-credentials/", (int)bl, base);
    st = http("GET", url.p, h, NULL, tmo, &rs);
    if (st != 200) {
        snprintf(ch->last_error, sizeof(ch->last_error), "imds: no IAM role (HTTP %d)", st);
        if (st >= 0) {
            wipe_resp(&rs);
        }
        goto out;
    }
    char *role = trim(rs.b.p);
    role[strcspn(role, "\r\n")] = '\0';
    if (*role == '\0' || strchr(role, '/') != NULL) {
        snprintf(ch->last_error, sizeof(ch->last_error), "imds: no IAM role attached");
        wipe_resp(&rs);
        goto out;
    }
    sl_buf_appendf(&url, "%s", role);
    wipe_resp(&rs);
    /* 3. the role's credentials */
    st = http("GET", url.p, h, NULL, tmo, &rs);
    if (st != 200) {
        snprintf(ch->last_error, sizeof(ch->last_error), "imds: HTTP %d for the role's credentials",
                 st);
        if (st >= 0) {
            wipe_resp(&rs);
        }
        goto out;
    }
    char why[200] = "";
    r = sl__aws_parse_json(rs.b.p, out, why, sizeof(why));
    if (r < 0) {
        snprintf(ch->last_error, sizeof(ch->last_error), "imds: %s", why);
    }
    wipe_resp(&rs);
out:
    if (h != NULL) {
        memset(h->data, 0, strlen(h->data));
    }
    curl_slist_free_all(h);
    if (hdr.p != NULL) {
        memset(hdr.p, 0, hdr.len);
    }
    sl_buf_fini(&hdr);
    sl_buf_fini(&url);
    return r;
}

/* Tries the chain; the first configured source decides. */
static int resolve(struct sl__aws_chain *ch, struct sl__aws_creds *out)
{
    if (ch->env_ak != NULL || ch->env_sk != NULL) {
        if (ch->env_ak == NULL || ch->env_sk == NULL) {
            snprintf(ch->last_error, sizeof(ch->last_error),
                     "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set");
            return -EINVAL;
        }
        int r = fill(out, ch->env_ak, ch->env_sk, ch->env_token, 0);
        out->source = "environment";
        return r;
    }
    if (ch->web_token_file != NULL && ch->role_arn != NULL) {
        int r = from_web_identity(ch, out);
        out->source = "web-identity";
        return r;
    }
    bool absent;
    int r = from_shared_file(ch, out, &absent);
    if (r == 0 || !absent) {
        out->source = "shared-file";
        return r;
    }
    if (ch->container_url != NULL) {
        r = from_container(ch, out);
        out->source = "container";
        return r;
    }
    if (!ch->imds_disabled) {
        r = from_imds(ch, out);
        out->source = "imds";
        return r;
    }
    snprintf(ch->last_error, sizeof(ch->last_error),
             "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE with a "
             "shared credentials file, web identity, or run with a container or instance role");
    return -ENOENT;
}

int sl__aws_chain_init(struct sl__aws_chain *ch, const char *region)
{
    memset(ch, 0, sizeof(*ch));
    ch->timeout_ms = 5000;
    ch->env_ak = env_dup("AWS_ACCESS_KEY_ID");
    ch->env_sk = env_dup("AWS_SECRET_ACCESS_KEY");
    ch->env_token = env_dup("AWS_SESSION_TOKEN");
    ch->profile = env_dup("AWS_PROFILE");
    if (ch->profile == NULL) {
        ch->profile = env_dup("AWS_DEFAULT_PROFILE");
    }
    if (ch->profile == NULL) {
        ch->profile = strdup("default");
    }
    ch->shared_file = env_dup("AWS_SHARED_CREDENTIALS_FILE");
    const char *home = getenv("HOME");
    if (ch->shared_file == NULL && home != NULL && *home != '\0') {
        size_t n = strlen(home) + 32;
        ch->shared_file = malloc(n);
        if (ch->shared_file != NULL) {
            snprintf(ch->shared_file, n, "%s/.aws/credentials", home);
        }
    }
    ch->web_token_file = env_dup("AWS_WEB_IDENTITY_TOKEN_FILE");
    ch->role_arn = env_dup("AWS_ROLE_ARN");
    ch->role_session = env_dup("AWS_ROLE_SESSION_NAME");
    if (ch->role_session == NULL) {
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "sluice-%ld-%lld", (long)getpid(), (long long)sl_now_ms());
        ch->role_session = strdup(tmp);
    }
    ch->sts_endpoint = env_dup("AWS_ENDPOINT_URL_STS");
    if (ch->sts_endpoint == NULL) {
        ch->sts_endpoint = env_dup("AWS_ENDPOINT_URL");
    }
    if (ch->sts_endpoint == NULL) {
        char tmp[96];
        if (region != NULL) {
            snprintf(tmp, sizeof(tmp), "https://sts.%.40s.amazonaws.com/", region);
        } else {
            snprintf(tmp, sizeof(tmp), "https://sts.amazonaws.com/");
        }
        ch->sts_endpoint = strdup(tmp);
    }
    ch->container_url = env_dup("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    if (rel != NULL && *rel != '\0') {
        free(ch->container_url); /* the relative URI wins, as in the SDKs */
        size_t n = strlen(rel) + 32;
        ch->container_url = malloc(n);
        if (ch->container_url != NULL) {
            snprintf(ch->container_url, n, "http://169.254.170.2%s", rel);
        }
    }
    ch->container_token = env_dup("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    ch->container_token_file = env_dup("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    ch->imds_endpoint = env_dup("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (ch->imds_endpoint == NULL) {
        ch->imds_endpoint = strdup("http://169.254.169.254");
    }
    const char *dis = getenv("AWS_EC2_METADATA_DISABLED");
    ch->imds_disabled = dis != NULL && strcasecmp(dis, "true") == 0;
    if (ch->profile == NULL || ch->role_session == NULL || ch->sts_endpoint == NULL ||
        ch->imds_endpoint == NULL || (rel != NULL && *rel != '\0' && ch->container_url == NULL)) {
        sl__aws_chain_fini(ch);
        return -ENOMEM;
    }
    return 0;
}

static void free_secret(char **s)
{
    if (*s != NULL) {
        memset(*s, 0, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

void sl__aws_chain_fini(struct sl__aws_chain *ch)
{
    free(ch->env_ak);
    free_secret(&ch->env_sk);
    free_secret(&ch->env_token);
    free(ch->profile);
    free(ch->shared_file);
    free(ch->web_token_file);
    free(ch->role_arn);
    free(ch->role_session);
    free(ch->sts_endpoint);
    free(ch->container_url);
    free_secret(&ch->container_token);
    free(ch->container_token_file);
    free(ch->imds_endpoint);
    sl__aws_creds_fini(&ch->cur);
    memset(ch, 0, sizeof(*ch));
}

/* When cached credentials with this expiry should be fetched again: SL_AWS_REFRESH_MS before
 * they expire (as the SDKs do), but at most once a second for very short-lived ones. */
static int64_t refresh_at(int64_t fetched_ms, int64_t expires_ms)
{
    if (expires_ms == 0) {
        return INT64_MAX;
    }
    int64_t at = expires_ms - SL_AWS_REFRESH_MS;
    return at > fetched_ms + 1000 ? at : fetched_ms + 1000;
}

int sl__aws_chain_get(struct sl__aws_chain *ch, int64_t now_ms, const struct sl__aws_creds **ret)
{
    bool have = ch->cur.access_key != NULL;
    bool valid = have && (ch->cur.expires_ms == 0 || now_ms < ch->cur.expires_ms);
    /* next_try_ms doubles as the planned refresh time of the cached credentials. */
    if (valid && now_ms < ch->next_try_ms) {
        *ret = &ch->cur;
        return 0;
    }
    if (!valid && have && now_ms < ch->next_try_ms && ch->last_error[0] != '\0') {
        return -EAGAIN;
    }
    if (!have && now_ms < ch->next_try_ms) {
        return -EAGAIN;
    }
    struct sl__aws_creds fresh = {0};
    int r = resolve(ch, &fresh);
    if (r == 0) {
        const char *src = fresh.source;
        sl__aws_creds_fini(&ch->cur);
        ch->cur = fresh;
        ch->cur.source = src;
        ch->last_error[0] = '\0';
        ch->next_try_ms = refresh_at(now_ms, fresh.expires_ms);
        *ret = &ch->cur;
        return 1;
    }
    sl__aws_creds_fini(&fresh);
    ch->next_try_ms = now_ms + 2000; /* a failing source is asked again after 2 s */
    if (valid) {
        *ret = &ch->cur;
        return 0;
    }
    return r;
}
