/*
 * conn_util.c - shared helpers for the connectors' load-time checks (see conn_util.h).
 */
#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "conn_util.h"

void sl__conn_report(sl_opt_report_fn report, void *ud, const struct sl_options *o,
                     const char *name, const char *fmt, ...)
{
    const struct sl_opt_value *v = name != NULL ? sl_options_get(o, name) : NULL;
    struct sl_msgbuf b;
    sl_msgbuf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    sl_msgbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (report != NULL) {
        report(ud, v != NULL ? v->index : -1, sl_msgbuf_str(&b));
    }
    sl_msgbuf_fini(&b);
}

const char *sl__conn_shown(struct sl_msgbuf *tmp, const char *s)
{
    struct sl_msgbuf red;
    sl_msgbuf_init(&red);
    sl_msgbuf_put_redacted(&red, s != NULL ? s : "");
    sl_msgbuf_fini(tmp);
    sl_msgbuf_put_shown(tmp, sl_msgbuf_str(&red), 120);
    sl_msgbuf_fini(&red);
    return sl_msgbuf_str(tmp);
}

bool sl__conn_given(const struct sl_options *o, const char *name)
{
    const struct sl_opt_value *v = sl_options_get(o, name);
    return v != NULL && v->given;
}

int sl__conn_hostport(const char *s, size_t len, bool need_port)
{
    size_t i = 0;
    if (len == 0) {
        return -EINVAL;
    }
    if (s[0] == '[') {
        for (i = 1; i < len && s[i] != ']'; i++) {
            if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.') {
                return -EINVAL;
            }
        }
        if (i >= len || i == 1) {
            return -EINVAL;
        }
        i++; /* past ']' */
    } else {
        for (; i < len && s[i] != ':'; i++) {
            unsigned char c = (unsigned char)s[i];
            if (!isalnum(c) && c != '-' && c != '.' && c != '_') {
                return -EINVAL;
            }
        }
        if (i == 0) {
            return -EINVAL;
        }
    }
    if (i == len) {
        return need_port ? -EINVAL : 0;
    }
    if (s[i] != ':' || i + 1 == len || len - i - 1 > 5) {
        return -EINVAL;
    }
    long port = 0;
    for (size_t j = i + 1; j < len; j++) {
        if (!isdigit((unsigned char)s[j])) {
            return -EINVAL;
        }
        port = port * 10 + (s[j] - '0');
    }
    return (port >= 1 && port <= 65535) ? 0 : -EINVAL;
}

bool sl__conn_has_scheme(const char *s, const char *scheme)
{
    return strncasecmp(s, scheme, strlen(scheme)) == 0;
}

bool sl__conn_list_next(const char **cursor, const char **ret_item, size_t *ret_n)
{
    const char *p = *cursor;
    if (p == NULL) {
        return false;
    }
    const char *comma = strchr(p, ',');
    size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
    while (n > 0 && *p == ' ') {
        p++;
        n--;
    }
    while (n > 0 && p[n - 1] == ' ') {
        n--;
    }
    *cursor = comma != NULL ? comma + 1 : NULL;
    *ret_item = p;
    *ret_n = n;
    return true;
}
