/*
 * msgbuf.c - growable message strings for load-time paths (see msgbuf.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgbuf.h"

void sl_msgbuf_init(struct sl_msgbuf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = false;
}

void sl_msgbuf_fini(struct sl_msgbuf *b)
{
    free(b->p);
    sl_msgbuf_init(b);
}

static bool reserve(struct sl_msgbuf *b, size_t extra)
{
    if (b->oom) {
        return false;
    }
    if (b->len + extra + 1 <= b->cap) {
        return true;
    }
    size_t cap = b->cap != 0 ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void sl_msgbuf_putn(struct sl_msgbuf *b, const char *s, size_t n)
{
    if (!reserve(b, n)) {
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sl_msgbuf_puts(struct sl_msgbuf *b, const char *s)
{
    sl_msgbuf_putn(b, s, strlen(s));
}

void sl_msgbuf_vprintf(struct sl_msgbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if (!reserve(b, (size_t)n)) {
        return;
    }
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void sl_msgbuf_printf(struct sl_msgbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sl_msgbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void sl_msgbuf_put_shown(struct sl_msgbuf *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    bool cut = n > max;
    if (cut) {
        n = max;
        /* Do not cut inside a UTF-8 sequence. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    if (!reserve(b, n + 3)) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        b->p[b->len++] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
    }
    b->p[b->len] = '\0';
    if (cut) {
        sl_msgbuf_puts(b, "...");
    }
}

void sl_msgbuf_put_redacted(struct sl_msgbuf *b, const char *s)
{
    /* The user info is everything from after "://" (or, in a mistyped URL such as
     * "redis:/u:pw@h", from after the first ':' and its slashes) to the last '@': a raw
     * password may hold '/', '@' or ':'. Its part after the first ':' is the password; user
     * info without ':' is hidden whole, since some clients read redis://password@host.
     * Text with no ':' before its last '@' ("user@example.com") is no URL and is kept.
     * Over-redacting is the safe mistake. */
    const char *at = strrchr(s, '@');
    const char *scheme = strstr(s, "://");
    const char *auth;
    if (at == NULL) {
        sl_msgbuf_puts(b, s);
        return;
    }
    if (scheme != NULL && scheme < at) {
        auth = scheme + 3;
    } else {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        if (colon == NULL) {
            sl_msgbuf_puts(b, s);
            return;
        }
        auth = colon + 1;
        while (auth < at && *auth == '/') {
            auth++;
        }
        if (auth == colon + 1 && colon != s) {
            /* "u:pw@h": the colon separates user and password. */
            auth = s;
        }
    }
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    const char *cut = colon != NULL ? colon + 1 : auth;
    sl_msgbuf_putn(b, s, (size_t)(cut - s));
    sl_msgbuf_puts(b, "<secret>");
    sl_msgbuf_puts(b, at);
}

char *sl_msgbuf_take(struct sl_msgbuf *b)
{
    if (b->oom) {
        sl_msgbuf_fini(b);
        return NULL;
    }
    char *p = b->p != NULL ? b->p : strdup("");
    sl_msgbuf_init(b);
    return p;
}

const char *sl_msgbuf_str(const struct sl_msgbuf *b)
{
    if (b->oom) {
        return "out of memory formatting a message";
    }
    return b->p != NULL ? b->p : "";
}
