/*
 * msgbuf.h - a growable string for composing messages on load-time paths (option and
 * template errors, generated docs). Not for hot paths: it allocates.
 *
 * An allocation failure sets oom and turns further appends into no-ops, so callers compose
 * without checking each step and test oom once at the end. p is always NUL-terminated when
 * oom is false (an empty buffer reads as "").
 */
#ifndef SL_MSGBUF_H
#define SL_MSGBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "common.h"

struct sl_msgbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

void sl_msgbuf_init(struct sl_msgbuf *b);
void sl_msgbuf_fini(struct sl_msgbuf *b);
void sl_msgbuf_puts(struct sl_msgbuf *b, const char *s);
void sl_msgbuf_putn(struct sl_msgbuf *b, const char *s, size_t n);
void sl_msgbuf_printf(struct sl_msgbuf *b, const char *fmt, ...) SL_PRINTF(2, 3);
void sl_msgbuf_vprintf(struct sl_msgbuf *b, const char *fmt, va_list ap) SL_PRINTF(2, 0);
/* Appends a user's text for a one-line message: at most max bytes (then "..."), control
 * characters shown as '?'. */
void sl_msgbuf_put_shown(struct sl_msgbuf *b, const char *s, size_t max);
/* Appends s with the password of a URL's user info replaced by <secret>:
 * "redis://u:pw@h:1/0" -> "redis://u:<secret>@h:1/0", "redis://pw@h" -> "redis://<secret>@h".
 * Text without "://…@" is copied as is. */
void sl_msgbuf_put_redacted(struct sl_msgbuf *b, const char *s);
/* The text (caller frees) or NULL after an allocation failure; b is left empty. */
char *sl_msgbuf_take(struct sl_msgbuf *b);
/* The text, "" if empty; a fixed note after an allocation failure. */
const char *sl_msgbuf_str(const struct sl_msgbuf *b);

#endif
