/*
 * subst.c - the value of a string literal: '' unescaping and ${…} substitution (SQL.md).
 *
 *   ${NAME}            the environment variable NAME; unset is an error
 *   ${NAME:-default}   NAME if set and not empty, else default (as in the shell)
 *   ${file:/path}      the file's content without its trailing newline (Docker and
 *                      Kubernetes secrets); unreadable is an error; marks the value secret
 *   $${                a literal ${ (Docker Compose's escape), so that ${ can be written
 *
 * NAME is [A-Za-z_][A-Za-z0-9_]*. The default runs to the first '}' and is taken as written
 * (no nested ${…}). Works on the raw body of the literal so that an error can point at the
 * exact ${ in the source.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front_int.h"

struct buf {
    char *p;
    size_t n, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->cap - b->n < n + 1) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->n < n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            abort();
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* Appends raw[0..n) with '' turned into '. */
static void add_unescaped(struct buf *b, const char *raw, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && raw[j] != '\'') {
            j++;
        }
        buf_add(b, raw + i, j - i);
        if (j < n) {
            buf_add(b, "'", 1);
            j += (j + 1 < n && raw[j + 1] == '\'') ? 2 : 1;
        }
        i = j;
    }
}

static int read_secret(const char *path, struct buf *b, struct sl_err *err)
{
    /* Non-blocking open, then only a regular file: a FIFO or a terminal named by mistake
     * must fail the load, not hang it. Secrets mounted by Docker and Kubernetes are regular
     * files (behind symlinks, which open follows). */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return sl_err_set(err, -errno, "cannot read secret file '%s' named by ${file:%s}: %s",
                          path, path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return sl_err_set(err, -EINVAL,
                          "cannot read secret file '%s' named by ${file:%s}: not a regular file",
                          path, path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) {
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        int e = errno;
        close(fd);
        return sl_err_set(err, -e, "cannot read secret file '%s' named by ${file:%s}: %s", path,
                          path, strerror(e));
    }
    struct buf tmp = {0};
    char chunk[4096];
    size_t got;
    int r = 0;
    buf_add(&tmp, "", 0);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (tmp.n + got > SL__MAX_SECRET_BYTES) {
            r = sl_err_set(err, -EFBIG, "secret file '%s' is larger than %u bytes", path,
                           SL__MAX_SECRET_BYTES);
            goto out;
        }
        buf_add(&tmp, chunk, got);
    }
    if (ferror(f)) {
        r = sl_err_set(err, -EIO, "cannot read secret file '%s' named by ${file:%s}: %s", path,
                       path, strerror(errno));
        goto out;
    }
    if (memchr(tmp.p, '\0', tmp.n) != NULL) {
        r = sl_err_set(err, -EINVAL, "secret file '%s' contains a NUL byte", path);
        goto out;
    }
    if (tmp.n > 0 && tmp.p[tmp.n - 1] == '\n') {
        tmp.n--;
        if (tmp.n > 0 && tmp.p[tmp.n - 1] == '\r') {
            tmp.n--;
        }
    }
    buf_add(b, tmp.p, tmp.n);
out:
    free(tmp.p);
    fclose(f);
    return r;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_')) {
            return false;
        }
    }
    return true;
}

/* One ${…} whose body (between "${" and "}") is raw[0..n). */
static int substitute(const char *body, size_t n, struct buf *b, unsigned *flags,
                      struct sl_err *err)
{
    struct buf tmp = {0};
    int r = 0;
    buf_add(&tmp, "", 0);
    if (n >= 5 && memcmp(body, "file:", 5) == 0) {
        add_unescaped(&tmp, body + 5, n - 5);
        if (tmp.n == 0) {
            r = sl_err_set(err, -EINVAL, "${file:} needs a path, like ${file:/run/secrets/x}");
            goto out;
        }
        if (strlen(tmp.p) != tmp.n) {
            r = sl_err_set(err, -EINVAL, "a NUL byte in the path of ${file:…}");
            goto out;
        }
        r = read_secret(tmp.p, b, err);
        if (r == 0) {
            *flags |= SL_TOKF_SECRET;
        }
        goto out;
    }
    size_t nl = 0;
    while (nl < n && body[nl] != ':') {
        nl++;
    }
    if (!name_ok(body, nl)) {
        add_unescaped(&tmp, body, nl);
        if (nl == 0) {
            r = sl_err_set(err, -EINVAL, "empty variable name in ${}: write ${NAME}, "
                                         "${NAME:-default} or ${file:/path}");
        } else {
            r = sl_err_set(err, -EINVAL,
                           "bad variable name '%.100s' in ${…}: a name is letters, digits "
                           "and '_', not starting with a digit",
                           tmp.p);
        }
        goto out;
    }
    char name[256];
    if (nl >= sizeof(name)) {
        r = sl_err_set(err, -EINVAL, "variable name in ${…} is too long");
        goto out;
    }
    memcpy(name, body, nl);
    name[nl] = '\0';
    const char *val = getenv(name);
    if (nl < n) {
        if (n - nl < 2 || body[nl + 1] != '-') {
            r = sl_err_set(err, -EINVAL,
                           "expected ${%s} or ${%s:-default}; ':' must be followed by '-'",
                           name, name);
            goto out;
        }
        if (val == NULL || val[0] == '\0') {
            add_unescaped(b, body + nl + 2, n - nl - 2);
            goto out;
        }
    } else if (val == NULL) {
        r = sl_err_set(err, -ENOENT,
                       "environment variable '%s' is not set (set it, or give a default: "
                       "${%s:-default})",
                       name, name);
        goto out;
    }
    buf_add(b, val, strlen(val));
out:
    free(tmp.p);
    return r;
}

int sl__string_value(const char *raw, size_t n, char **ret, size_t *ret_len,
                     unsigned *ret_flags, struct sl_err *err, size_t *ret_at)
{
    struct buf b = {0};
    unsigned flags = 0;
    size_t i = 0, lit = 0; /* raw[lit..i) is plain text not yet copied */
    buf_add(&b, "", 0);
    while (i < n) {
        if (raw[i] != '$') {
            i++;
            continue;
        }
        if (i + 2 < n && raw[i + 1] == '$' && raw[i + 2] == '{') {
            add_unescaped(&b, raw + lit, i - lit);
            buf_add(&b, "${", 2);
            i += 3;
            lit = i;
            continue;
        }
        if (i + 1 < n && raw[i + 1] == '{') {
            size_t end = i + 2;
            while (end < n && raw[end] != '}') {
                end++;
            }
            if (end >= n) {
                sl_err_set(err, -EINVAL, "unterminated ${ in string: close it with '}'");
                goto fail;
            }
            add_unescaped(&b, raw + lit, i - lit);
            if (substitute(raw + i + 2, end - i - 2, &b, &flags, err) < 0) {
                goto fail;
            }
            i = end + 1;
            lit = i;
            continue;
        }
        i++;
    }
    add_unescaped(&b, raw + lit, n - lit);
    *ret = b.p;
    *ret_len = b.n;
    *ret_flags = flags;
    return 0;
fail:
    free(b.p);
    *ret_at = i;
    return -EINVAL;
}
