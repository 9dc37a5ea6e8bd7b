/*
 * format.c - result formatting (SQL.md, "Values in results") and row ids.
 *
 * Doubles are written as JavaScript's Number.prototype.toString writes them. The shortest
 * round-trip digits are found exactly with the C library, whose printf and strtod are
 * correctly rounded (glibc): for a normal double, any decimal of at most 15 significant
 * digits that reads back to d is what "%.14e" prints (DBL_DIG = 15: 15-digit decimals
 * survive a trip through double), so if that string reads back its digits without trailing
 * zeros are the shortest. Otherwise 16 digits are tried: the correctly rounded candidate and
 * its two neighbours (the interval of doubles that read back to d is lopsided at powers of
 * two, so the nearest 16-digit decimal may miss it while a neighbour hits it); at most one
 * can hit when the nearest does not. Failing that, 17 digits always read back. Subnormals,
 * which have fewer than 15 digits of precision, try 1..17 digits in turn (their intervals
 * are symmetric, so the nearest candidate of each length is the only one to try). The
 * strings given to strtod carry no decimal point ("12345e-7"), so no locale can change
 * their meaning; the "%e" output is read back digit by digit, skipping whatever radix
 * character the locale prints. This runs when rows are emitted, not per event.
 *
 * JSON and row-id text are produced by one writer that emits pieces through a callback:
 * into an sl_buf for rows, straight into SHA-256 for row ids (no buffer, no allocation).
 * SHA-256 uses libcrypto's one-shot-context API (SHA256_Init/Update/Final) on the stack:
 * unlike EVP in OpenSSL 3, it neither allocates nor takes locks.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co.: see above */

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "format.h"

/* ---- sl_buf ---- */

void sl_buf_init(struct sl_buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void sl_buf_fini(struct sl_buf *b)
{
    free(b->p);
    sl_buf_init(b);
}

void sl_buf_reset(struct sl_buf *b)
{
    b->len = 0;
    if (b->p != NULL) {
        b->p[0] = '\0';
    }
}

int sl_buf_reserve(struct sl_buf *b, size_t n)
{
    if (n < b->cap && b->len < b->cap - n) { /* room for n bytes and the NUL */
        return 0;
    }
    if (n > SIZE_MAX / 2 - b->len) {
        return -ENOMEM;
    }
    size_t need = b->len + n + 1;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        return -ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    b->p[b->len] = '\0';
    return 0;
}

int sl_buf_append(struct sl_buf *b, const void *s, size_t n)
{
    int r = sl_buf_reserve(b, n);
    if (r < 0) {
        return r;
    }
    if (n > 0) {
        memcpy(b->p + b->len, s, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int sl_buf_puts(struct sl_buf *b, const char *s)
{
    return sl_buf_append(b, s, strlen(s));
}

int sl_buf_putc(struct sl_buf *b, char c)
{
    return sl_buf_append(b, &c, 1);
}

int sl_buf_appendf(struct sl_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return -EINVAL;
    }
    if ((size_t)n < sizeof(small)) {
        return sl_buf_append(b, small, (size_t)n);
    }
    int r = sl_buf_reserve(b, (size_t)n);
    if (r < 0) {
        return r;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* ---- numbers ---- */

size_t sl_format_int(int64_t i, char *buf)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    size_t len = 0;
    if (i < 0) {
        buf[len++] = '-';
    }
    while (n > 0) {
        buf[len++] = tmp[--n];
    }
    buf[len] = '\0';
    return len;
}

/* d > 0 rounded to p significant digits: returns them as an integer m (p digits) with
 * d ≈ m × 10^(*ret_e - p + 1). */
static uint64_t sci_digits(double d, int p, int *ret_e)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof(tmp), "%.*e", p - 1, d);
    uint64_t m = 0;
    int i = 0;
    for (; i < n && tmp[i] != 'e'; i++) {
        if (tmp[i] >= '0' && tmp[i] <= '9') {
            m = m * 10 + (uint64_t)(tmp[i] - '0');
        }
    }
    int e = 0, neg = 0;
    i++; /* 'e' */
    if (i < n && (tmp[i] == '-' || tmp[i] == '+')) {
        neg = tmp[i] == '-';
        i++;
    }
    for (; i < n; i++) {
        e = e * 10 + (tmp[i] - '0');
    }
    *ret_e = neg ? -e : e;
    return m;
}

/* Does m × 10^x read back as d? */
static int reads_back(uint64_t m, int x, double d)
{
    char tmp[48];
    snprintf(tmp, sizeof(tmp), "%" PRIu64 "e%d", m, x);
    return strtod(tmp, NULL) == d;
}

/* m × 10^x (m > 0) as digits without trailing zeros; returns k, writes n. */
static int lay_digits(uint64_t m, int x, char digits[17], int *ret_n)
{
    while (m % 10 == 0) {
        m /= 10;
        x++;
    }
    char tmp[24];
    int k = 0;
    while (m != 0) {
        tmp[k++] = (char)('0' + m % 10);
        m /= 10;
    }
    for (int i = 0; i < k; i++) {
        digits[i] = tmp[k - 1 - i];
    }
    *ret_n = k + x;
    return k;
}

/* Fast path for the common case, values with at most 15 significant digits such as 21.37:
 * the first k for which m = round(d * 10^k) reads back as m / 10^k == d gives the shortest
 * digits. Exact because 10^k (k <= 22) and m (< 10^15) are exact doubles and IEEE division
 * rounds correctly, so m / 10^k == d is precisely "the decimal m·10^-k reads back as d";
 * and with at most 15 digits no two neighbouring k-digit decimals read back as the same d,
 * while |d·10^k - m| < 0.25 keeps the computed product's rounding from picking a neighbour.
 * Returns 0 when it does not apply, and the generic path below decides. */
static int short_digits(double d, char digits[17], int *ret_n)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (!(d >= 1e-7 && d < 1e15)) {
        return 0;
    }
    for (int k = 0; k < (int)(sizeof(pow10) / sizeof(pow10[0])); k++) {
        double x = d * pow10[k];
        if (x >= 1e15) {
            return 0;
        }
        double r = nearbyint(x);
        if (r != 0 && r / pow10[k] == d) {
            return lay_digits((uint64_t)r, -k, digits, ret_n);
        }
    }
    return 0;
}

int sl__format_digits(double d, char digits[17], int *ret_n)
{
    int e;
    uint64_t m;
    d = fabs(d);
    int k = short_digits(d, digits, ret_n);
    if (k > 0) {
        return k;
    }
    if (d >= DBL_MIN) {
        m = sci_digits(d, 15, &e);
        if (reads_back(m, e - 14, d)) {
            return lay_digits(m, e - 14, digits, ret_n);
        }
        m = sci_digits(d, 16, &e);
        if (reads_back(m, e - 15, d)) {
            return lay_digits(m, e - 15, digits, ret_n);
        }
        if (reads_back(m + 1, e - 15, d)) {
            return lay_digits(m + 1, e - 15, digits, ret_n);
        }
        if (reads_back(m - 1, e - 15, d)) {
            return lay_digits(m - 1, e - 15, digits, ret_n);
        }
        m = sci_digits(d, 17, &e);
        return lay_digits(m, e - 16, digits, ret_n);
    }
    for (int p = 1;; p++) {
        m = sci_digits(d, p, &e);
        if (p == 17 || reads_back(m, e - p + 1, d)) {
            return lay_digits(m, e - p + 1, digits, ret_n);
        }
    }
}

size_t sl_format_double(double d, char *buf)
{
    if (isnan(d)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    if (isinf(d)) {
        const char *s = d < 0 ? "-Infinity" : "Infinity";
        size_t n = strlen(s);
        memcpy(buf, s, n + 1);
        return n;
    }
    if (d == 0) {
        memcpy(buf, "0", 2);
        return 1;
    }
    char dg[17];
    int n;
    int k = sl__format_digits(d, dg, &n);
    size_t len = 0;
    if (d < 0) {
        buf[len++] = '-';
    }
    if (k <= n && n <= 21) {
        memcpy(buf + len, dg, (size_t)k);
        len += (size_t)k;
        for (int i = k; i < n; i++) {
            buf[len++] = '0';
        }
    } else if (0 < n && n <= 21) {
        memcpy(buf + len, dg, (size_t)n);
        len += (size_t)n;
        buf[len++] = '.';
        memcpy(buf + len, dg + n, (size_t)(k - n));
        len += (size_t)(k - n);
    } else if (-6 < n && n <= 0) {
        buf[len++] = '0';
        buf[len++] = '.';
        for (int i = 0; i < -n; i++) {
            buf[len++] = '0';
        }
        memcpy(buf + len, dg, (size_t)k);
        len += (size_t)k;
    } else {
        int x = n - 1;
        buf[len++] = dg[0];
        if (k > 1) {
            buf[len++] = '.';
            memcpy(buf + len, dg + 1, (size_t)(k - 1));
            len += (size_t)(k - 1);
        }
        buf[len++] = 'e';
        buf[len++] = x < 0 ? '-' : '+';
        len += sl_format_int(x < 0 ? -x : x, buf + len);
    }
    buf[len] = '\0';
    return len;
}

/* ---- one JSON writer, two destinations ---- */

struct emit {
    int (*put)(void *ctx, const char *s, size_t n);
    void *ctx;
};

static int put_buf(void *ctx, const char *s, size_t n)
{
    return sl_buf_append(ctx, s, n);
}

static int put_sha(void *ctx, const char *s, size_t n)
{
    SHA256_Update(ctx, s, n);
    return 0;
}

static int emit_json_str(const struct emit *o, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    int r = o->put(o->ctx, "\"", 1);
    size_t run = 0; /* start of the bytes not yet written */
    for (size_t i = 0; i < len && r == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
            break;
        }
        if (i > run) {
            r = o->put(o->ctx, s + run, i - run);
        }
        if (r == 0) {
            r = o->put(o->ctx, esc, n);
        }
        run = i + 1;
    }
    if (r == 0 && len > run) {
        r = o->put(o->ctx, s + run, len - run);
    }
    if (r == 0) {
        r = o->put(o->ctx, "\"", 1);
    }
    return r;
}

static int emit_int(const struct emit *o, int64_t i)
{
    char tmp[SL_FORMAT_NUM_MAX];
    size_t n = sl_format_int(i, tmp);
    return o->put(o->ctx, tmp, n);
}

static int emit_json(const struct emit *o, const struct sl_value *v)
{
    char tmp[SL_FORMAT_NUM_MAX];
    if (v->null) {
        return o->put(o->ctx, "null", 4);
    }
    switch (v->type) {
    case SL_TYPE_BOOLEAN:
        return v->u.b ? o->put(o->ctx, "true", 4) : o->put(o->ctx, "false", 5);
    case SL_TYPE_BIGINT:
    case SL_TYPE_TIMESTAMP:
    case SL_TYPE_INTERVAL:
        return emit_int(o, v->u.i);
    case SL_TYPE_DOUBLE:
        if (!isfinite(v->u.d)) {
            return o->put(o->ctx, "null", 4);
        }
        return o->put(o->ctx, tmp, sl_format_double(v->u.d, tmp));
    case SL_TYPE_TEXT:
        return emit_json_str(o, v->u.s, v->len);
    default:
        return o->put(o->ctx, "null", 4);
    }
}

int sl_format_json_str(struct sl_buf *b, const char *s, size_t len)
{
    struct emit o = {put_buf, b};
    size_t keep = b->len;
    int r = sl_buf_reserve(b, len + 2);
    if (r == 0) {
        r = emit_json_str(&o, s, len);
    }
    if (r < 0 && b->p != NULL) {
        b->len = keep;
        b->p[keep] = '\0';
    }
    return r;
}

int sl_format_json(struct sl_buf *b, const struct sl_value *v)
{
    struct emit o = {put_buf, b};
    size_t keep = b->len;
    int r = emit_json(&o, v);
    if (r < 0 && b->p != NULL) {
        b->len = keep;
        b->p[keep] = '\0';
    }
    return r;
}

int sl_format_row(struct sl_buf *b, const char *const *names, const struct sl_value *vals, int n)
{
    struct emit o = {put_buf, b};
    size_t keep = b->len;
    int r = o.put(o.ctx, "{", 1);
    for (int i = 0; i < n && r == 0; i++) {
        if (i > 0) {
            r = o.put(o.ctx, ",", 1);
        }
        if (r == 0) {
            r = emit_json_str(&o, names[i], strlen(names[i]));
        }
        if (r == 0) {
            r = o.put(o.ctx, ":", 1);
        }
        if (r == 0) {
            r = emit_json(&o, &vals[i]);
        }
    }
    if (r == 0) {
        r = o.put(o.ctx, "}", 1);
    }
    if (r < 0 && b->p != NULL) {
        b->len = keep;
        b->p[keep] = '\0';
    }
    return r;
}

int sl_format_text(struct sl_buf *b, const struct sl_value *v)
{
    if (v->null) {
        return sl_buf_reserve(b, 0); /* nothing to add; p[len] is a NUL afterwards */
    }
    if (v->type == SL_TYPE_TEXT) {
        return sl_buf_append(b, v->u.s, v->len);
    }
    return sl_format_json(b, v);
}

/* ---- row ids ---- */

static void sha_to_id(SHA256_CTX *c, char out[SL_ROW_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, c);
    for (int i = 0; i < SL_ROW_ID_LEN / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[SL_ROW_ID_LEN] = '\0';
}

void sl_row_id_window(const char *sink, const struct sl_value *keys, int nkeys,
                      int64_t window_start, char out[SL_ROW_ID_LEN + 1])
{
    SHA256_CTX c;
    struct emit o = {put_sha, &c};
    SHA256_Init(&c);
    put_sha(&c, "[", 1);
    emit_json_str(&o, sink, strlen(sink));
    for (int i = 0; i < nkeys; i++) {
        put_sha(&c, ",", 1);
        emit_json(&o, &keys[i]);
    }
    put_sha(&c, ",", 1);
    emit_int(&o, window_start);
    put_sha(&c, "]", 1);
    sha_to_id(&c, out);
}

void sl_row_id_event(const char *sink, const char *topic, size_t topic_len, int64_t partition,
                     int64_t offset, char out[SL_ROW_ID_LEN + 1])
{
    SHA256_CTX c;
    struct emit o = {put_sha, &c};
    SHA256_Init(&c);
    put_sha(&c, "[", 1);
    emit_json_str(&o, sink, strlen(sink));
    put_sha(&c, ",", 1);
    emit_json_str(&o, topic_len > 0 ? topic : "", topic_len);
    put_sha(&c, ",", 1);
    emit_int(&o, partition);
    put_sha(&c, ",", 1);
    emit_int(&o, offset);
    put_sha(&c, "]", 1);
    sha_to_id(&c, out);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if it is not valid. */
size_t sl_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) {
        return 1;
    }
    size_t len;
    unsigned min, cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}
