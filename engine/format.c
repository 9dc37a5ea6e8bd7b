/*
 * format.c - result formatting (SQL.md, "Values in results") and row ids.
 *
 * Doubles are written as JavaScript's Number.prototype.toString writes them: the shortest
 * digits that read back to the same double (the closest such, ties to even) come from
 * Dragonbox (dtoa.cc), laid out here by ECMAScript's rules (plain up to 21 integer
 * digits, "0.000001" down to 1e-6, exponent form beyond). This runs when rows are emitted,
 * not per event, but HOP windows emit a row per slide, so it is kept cheap: a few hundred
 * instructions, where a printf/strtod search cost thousands.
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
    if (b->len + 1 < b->cap) {
        b->p[b->len++] = c;
        b->p[b->len] = '\0';
        return 0;
    }
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
    /* Two digits per division: timestamps have 13. */
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "6263646566676869707172737475767778798081828384858687888990919293"
                                "949596979899";
    char tmp[24];
    size_t n = sizeof(tmp);
    uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100) * 2;
        u /= 100;
        tmp[--n] = pairs[d + 1];
        tmp[--n] = pairs[d];
    }
    if (u >= 10) {
        tmp[--n] = pairs[u * 2 + 1];
        tmp[--n] = pairs[u * 2];
    } else {
        tmp[--n] = (char)('0' + u);
    }
    size_t len = 0;
    if (i < 0) {
        buf[len++] = '-';
    }
    memcpy(buf + len, tmp + n, sizeof(tmp) - n);
    len += sizeof(tmp) - n;
    buf[len] = '\0';
    return len;
}

int sl__dtoa_shortest(double d, char *digits, int *ret_point); /* dtoa.cc */

int sl__format_digits(double d, char digits[17], int *ret_n)
{
    return sl__dtoa_shortest(fabs(d), digits, ret_n);
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

/* The JSON of a value that is not a non-null TEXT, into d (SL_FORMAT_NUM_MAX bytes,
 * NUL-terminated): null for NULL, non-finite doubles and unknown types. Returns its length. */
static size_t json_scalar(const struct sl_value *v, char *d)
{
    if (v->null) {
        memcpy(d, "null", 5);
        return 4;
    }
    switch (v->type) {
    case SL_TYPE_BOOLEAN:
        memcpy(d, v->u.b ? "true" : "false", v->u.b ? 5 : 6);
        return v->u.b ? 4 : 5;
    case SL_TYPE_BIGINT:
    case SL_TYPE_TIMESTAMP:
    case SL_TYPE_INTERVAL:
        return sl_format_int(v->u.i, d);
    case SL_TYPE_DOUBLE:
        if (isfinite(v->u.d)) {
            return sl_format_double(v->u.d, d);
        }
        break;
    default:
        break;
    }
    memcpy(d, "null", 5);
    return 4;
}

static int emit_json(const struct emit *o, const struct sl_value *v)
{
    if (!v->null && v->type == SL_TYPE_TEXT) {
        return emit_json_str(o, v->u.s, v->len);
    }
    char tmp[SL_FORMAT_NUM_MAX];
    return o->put(o->ctx, tmp, json_scalar(v, tmp));
}

/* Strings without a byte to escape (names, most values) are copied in one piece; the others
 * go through emit_json_str. Returns 1 when it wrote s, 0 when s needs escaping. */
static int json_str_plain(struct sl_buf *b, const char *s, size_t len)
{
    /* Eight bytes at a time: a byte below 0x20, a '"' or a '\\' sets its high bit in bad
     * (the classic "has zero byte" test on x - n, x ^ '"', x ^ '\\'). */
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x, q, k;
        memcpy(&x, s + i, 8);
        q = x ^ (ones * '"');
        k = x ^ (ones * '\\');
        uint64_t bad = ((x - ones * 0x20) | (q - ones) | (k - ones)) & ~x & highs;
        if (bad != 0) {
            return 0;
        }
    }
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\') {
            return 0;
        }
    }
    char *d = b->p + b->len;
    d[0] = '"';
    if (len > 0) {
        memcpy(d + 1, s, len);
    }
    d[len + 1] = '"';
    b->len += len + 2;
    b->p[b->len] = '\0';
    return 1;
}

int sl_format_json_str(struct sl_buf *b, const char *s, size_t len)
{
    struct emit o = {put_buf, b};
    size_t keep = b->len;
    int r = sl_buf_reserve(b, len + 2);
    if (r == 0 && json_str_plain(b, s, len)) {
        return 0;
    }
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
    if (!v->null && v->type == SL_TYPE_TEXT) {
        return sl_format_json_str(b, v->u.s, v->len);
    }
    /* Everything else is at most SL_FORMAT_NUM_MAX bytes: written in place. */
    int r = sl_buf_reserve(b, SL_FORMAT_NUM_MAX);
    if (r < 0) {
        return r;
    }
    b->len += json_scalar(v, b->p + b->len);
    return 0;
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
