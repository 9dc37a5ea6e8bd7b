/*
 * path.c - parsing JSON paths of source columns.
 *
 * Grammar: '$' ( '.' name | '[' digits ']' | '[' quoted ']' )*, where name is a run of
 * characters other than '.', '[', and quoted is '…' or "…" with \ escaping the quote.
 */
#include <stdlib.h>
#include <string.h>

#include "path.h"

static void add_seg(struct sl_path *p, const struct sl_path_seg *seg)
{
    struct sl_path_seg *segs = realloc(p->segs, sizeof(*segs) * (size_t)(p->nsegs + 1));
    if (segs == NULL) {
        abort();
    }
    p->segs = segs;
    p->segs[p->nsegs++] = *seg;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL) {
        abort();
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void sl_path_free(struct sl_path *p)
{
    if (p == NULL) {
        return;
    }
    for (int i = 0; i < p->nsegs; i++) {
        free(p->segs[i].key);
    }
    free(p->segs);
    free(p);
}

struct sl_path *sl_path_member(const char *name)
{
    struct sl_path *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        abort();
    }
    struct sl_path_seg seg = {.len = (uint32_t)strlen(name), .key = dup_n(name, strlen(name))};
    add_seg(p, &seg);
    return p;
}

int sl_path_parse(const char *text, struct sl_path **ret, struct sl_err *err)
{
    struct sl_path *p = calloc(1, sizeof(*p));
    const char *s = text;
    if (p == NULL) {
        abort();
    }
    if (*s != '$') {
        sl_err_set(err, -EINVAL, "a path starts with '$' (like '$.meta.site')");
        goto fail;
    }
    s++;
    while (*s != '\0') {
        struct sl_path_seg seg = {0};
        if (*s == '.') {
            const char *b = ++s;
            while (*s != '\0' && *s != '.' && *s != '[') {
                s++;
            }
            if (s == b) {
                sl_err_set(err, -EINVAL, "empty member name at character %d of path",
                           (int)(b - text) + 1);
                goto fail;
            }
            seg.len = (uint32_t)(s - b);
            seg.key = dup_n(b, seg.len);
        } else if (*s == '[' && (s[1] == '\'' || s[1] == '"')) {
            char quote = s[1];
            size_t cap = strlen(s), n = 0;
            char *buf = malloc(cap + 1);
            if (buf == NULL) {
                abort();
            }
            s += 2;
            while (*s != '\0' && *s != quote) {
                if (*s == '\\' && s[1] != '\0') {
                    s++;
                }
                buf[n++] = *s++;
            }
            if (*s != quote || s[1] != ']') {
                free(buf);
                sl_err_set(err, -EINVAL, "unterminated quoted member in path");
                goto fail;
            }
            s += 2;
            buf[n] = '\0';
            seg.key = buf;
            seg.len = (uint32_t)n;
        } else if (*s == '[') {
            const char *b = ++s;
            uint64_t v = 0;
            while (*s >= '0' && *s <= '9') {
                v = v * 10 + (uint64_t)(*s - '0');
                if (v > UINT32_MAX) {
                    sl_err_set(err, -EINVAL, "array index too large in path");
                    goto fail;
                }
                s++;
            }
            if (s == b || *s != ']') {
                sl_err_set(err, -EINVAL,
                           "expected an array index like [0] at character %d "
                           "of path",
                           (int)(b - text));
                goto fail;
            }
            s++;
            seg.is_index = true;
            seg.index = (uint32_t)v;
        } else {
            sl_err_set(err, -EINVAL, "expected '.' or '[' at character %d of path",
                       (int)(s - text) + 1);
            goto fail;
        }
        add_seg(p, &seg);
    }
    if (p->nsegs == 0) {
        sl_err_set(err, -EINVAL,
                   "the path '$' selects the whole event; name a member "
                   "(like '$.temp')");
        goto fail;
    }
    *ret = p;
    return 0;
fail:
    sl_path_free(p);
    return -EINVAL;
}
