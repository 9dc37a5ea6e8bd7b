/*
 * conn_util.h - helpers the connectors' load-time checks share: reporting a problem against
 * an option, and validating host[:port] lists and URLs. Internal to connectors/ (sl__ names).
 *
 * Load time only, main thread; messages never carry a secret value (URLs are redacted).
 */
#ifndef SL_CONN_UTIL_H
#define SL_CONN_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/connector.h"
#include "engine/msgbuf.h"
#include "engine/options.h"

/* Reports a formatted message against the input that gave option `name` in o (-1 if it was
 * a default or absent). */
void sl__conn_report(sl_opt_report_fn report, void *ud, const struct sl_options *o,
                     const char *name, const char *fmt, ...) SL_PRINTF(5, 6);

/* s as a message may show it (see sl_msgbuf_put_shown; URL passwords redacted), held in
 * tmp, which the caller finishes with sl_msgbuf_fini. */
const char *sl__conn_shown(struct sl_msgbuf *tmp, const char *s);

/* Whether option `name` was written by the user. */
bool sl__conn_given(const struct sl_options *o, const char *name);

/* Validates host[:port] in s[0, len): host is a DNS name or IPv4 address of letters, digits,
 * '-', '.', '_' or a bracketed IPv6 address; port, when present, 1..65535. need_port: the
 * port must be present. Returns 0 or -EINVAL. */
int sl__conn_hostport(const char *s, size_t len, bool need_port);

/* Whether s begins with scheme (e.g. "mqtt://"), case-insensitive. */
bool sl__conn_has_scheme(const char *s, const char *scheme);

/* Walks a comma-separated option value, each item with spaces trimmed:
 *   const char *cur = list, *item;
 *   size_t n;
 *   while (sl__conn_list_next(&cur, &item, &n)) { … item[0, n) … }
 * Empty items are returned too (n == 0) so that checks can refuse them. */
bool sl__conn_list_next(const char **cursor, const char **ret_item, size_t *ret_n);

#endif
