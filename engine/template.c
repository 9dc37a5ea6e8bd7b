/*
 * template.c - parses, binds and renders sink key templates (see template.h).
 *
 * Parsing and binding run at load time and allocate; rendering runs per row on sink threads
 * and only copies bytes into the caller's buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msgbuf.h"
#include "template.h"
#include "../queries/plan.h"

static int add_seg(struct sl_template *t, int *cap, bool ph, const char *text, size_t len)
{
    if (t->nsegs == *cap) {
        int ncap = *cap != 0 ? *cap * 2 : 8;
        struct sl_tmpl_seg *s = realloc(t->segs, sizeof(*s) * (size_t)ncap);
        if (s == NULL) {
            return -ENOMEM;
        }
        t->segs = s;
        *cap = ncap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return -ENOMEM;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    t->segs[t->nsegs++] = (struct sl_tmpl_seg){
        .placeholder = ph,
        .text = copy,
        .len = len,
        .ref = SL_TMPL_UNBOUND,
        .col = -1,
    };
    if (ph) {
        t->nph++;
    } else {
        t->literal_len += len;
    }
    return 0;
}

int sl_template_parse(const char *text, struct sl_template *ret, struct sl_err *err)
{
    struct sl_template t = {0};
    int cap = 0;
    int r = -ENOMEM;
    struct sl_msgbuf lit;
    sl_msgbuf_init(&lit);

    if (text == NULL) {
        return sl_err_set(err, -EINVAL, "no template");
    }
    t.src = strdup(text);
    if (t.src == NULL) {
        goto fail;
    }
    for (size_t i = 0; text[i] != '\0';) {
        char c = text[i];
        if (c == '{' && text[i + 1] == '{') {
            sl_msgbuf_putn(&lit, "{", 1);
            i += 2;
        } else if (c == '}' && text[i + 1] == '}') {
            sl_msgbuf_putn(&lit, "}", 1);
            i += 2;
        } else if (c == '}') {
            r = sl_err_set(err, SL_ERR_PARSE,
                           "'}' at byte %zu closes nothing; write '}}' for a literal brace", i + 1);
            goto fail;
        } else if (c == '{') {
            size_t start = i + 1, j = start;
            while (text[j] != '\0' && text[j] != '}' && text[j] != '{') {
                j++;
            }
            if (text[j] != '}') {
                r = sl_err_set(err, SL_ERR_PARSE,
                               "'{' at byte %zu is not closed; write '{{' for a literal brace",
                               i + 1);
                goto fail;
            }
            if (j == start) {
                r = sl_err_set(err, SL_ERR_PARSE,
                               "'{}' at byte %zu names no column; write '{{}}' for literal "
                               "braces",
                               i + 1);
                goto fail;
            }
            if (lit.oom) {
                goto fail;
            }
            if (lit.len > 0) {
                if (add_seg(&t, &cap, false, lit.p, lit.len) < 0) {
                    goto fail;
                }
                lit.len = 0;
            }
            if (add_seg(&t, &cap, true, text + start, j - start) < 0) {
                goto fail;
            }
            i = j + 1;
        } else {
            size_t j = i;
            while (text[j] != '\0' && text[j] != '{' && text[j] != '}') {
                j++;
            }
            sl_msgbuf_putn(&lit, text + i, j - i);
            i = j;
        }
    }
    if (lit.oom) {
        goto fail;
    }
    if (lit.len > 0 && add_seg(&t, &cap, false, lit.p, lit.len) < 0) {
        goto fail;
    }
    sl_msgbuf_fini(&lit);
    *ret = t;
    return 0;

fail:
    if (r == -ENOMEM) {
        sl_err_set(err, -ENOMEM, "out of memory parsing a template");
    }
    sl_msgbuf_fini(&lit);
    sl_template_fini(&t);
    return r;
}

void sl_template_fini(struct sl_template *t)
{
    if (t == NULL) {
        return;
    }
    for (int i = 0; i < t->nsegs; i++) {
        free(t->segs[i].text);
    }
    free(t->segs);
    free(t->src);
    memset(t, 0, sizeof(*t));
}

int sl_template_bind(struct sl_template *t, const struct sl_plan *plan, int *ret_bad)
{
    bool windowed = plan->window != SL_WINDOW_NONE;
    for (int i = 0; i < t->nsegs; i++) {
        struct sl_tmpl_seg *s = &t->segs[i];
        if (!s->placeholder) {
            continue;
        }
        s->ref = SL_TMPL_UNBOUND;
        s->col = -1;
        for (int k = 0; k < plan->nout; k++) {
            if (plan->out[k].name != NULL && strcasecmp(plan->out[k].name, s->text) == 0) {
                s->ref = SL_TMPL_OUT;
                s->col = k;
                break;
            }
        }
        if (s->ref == SL_TMPL_UNBOUND) {
            if (windowed && strcasecmp(s->text, "window_start") == 0) {
                s->ref = SL_TMPL_WINDOW_START;
            } else if (windowed && strcasecmp(s->text, "window_end") == 0) {
                s->ref = SL_TMPL_WINDOW_END;
            } else if (strcasecmp(s->text, "_id") == 0) {
                s->ref = SL_TMPL_ID;
            } else {
                if (ret_bad != NULL) {
                    *ret_bad = i;
                }
                return -ENOENT;
            }
        }
    }
    return 0;
}

bool sl_template_mentions(const struct sl_template *t, const char *name)
{
    for (int i = 0; i < t->nsegs; i++) {
        if (t->segs[i].placeholder && strcasecmp(t->segs[i].text, name) == 0) {
            return true;
        }
    }
    return false;
}

int sl_template_render(const struct sl_template *t, const struct sl_tmpl_piece *pieces, char *buf,
                       size_t cap)
{
    size_t n = 0;
    int ph = 0;
    for (int i = 0; i < t->nsegs; i++) {
        const struct sl_tmpl_seg *s = &t->segs[i];
        const char *p = s->text;
        size_t len = s->len;
        if (s->placeholder) {
            p = pieces[ph].s;
            len = pieces[ph].len;
            ph++;
        }
        if (cap == 0 || len >= cap - n) {
            return -ENOSPC;
        }
        if (len > 0) {
            memcpy(buf + n, p, len);
        }
        n += len;
    }
    if (n >= cap) {
        return -ENOSPC;
    }
    buf[n] = '\0';
    return n > (size_t)INT32_MAX ? -ENOSPC : (int)n;
}

static void put_escaped(struct sl_msgbuf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '{' || *s == '}') {
            sl_msgbuf_putn(b, s, 1);
        }
        sl_msgbuf_putn(b, s, 1);
    }
}

char *sl_template_escape(const char *s)
{
    struct sl_msgbuf b;
    sl_msgbuf_init(&b);
    put_escaped(&b, s);
    return sl_msgbuf_take(&b);
}

static bool is_out_col(const struct sl_plan *plan, const char *name)
{
    for (int k = 0; k < plan->nout; k++) {
        if (plan->out[k].name != NULL && strcasecmp(plan->out[k].name, name) == 0) {
            return true;
        }
    }
    return false;
}

char *sl_template_default_key(const struct sl_plan *plan)
{
    struct sl_msgbuf b;
    sl_msgbuf_init(&b);
    put_escaped(&b, plan->name != NULL ? plan->name : "sink");
    bool by_group = plan->window != SL_WINDOW_NONE;
    for (int k = 0; by_group && k < plan->nkeys; k++) {
        const char *kn = plan->key_names != NULL ? plan->key_names[k] : NULL;
        by_group = kn != NULL && *kn != '\0' && strpbrk(kn, "{}") == NULL && is_out_col(plan, kn);
    }
    if (by_group) {
        for (int k = 0; k < plan->nkeys; k++) {
            sl_msgbuf_printf(&b, ":{%s}", plan->key_names[k]);
        }
        sl_msgbuf_puts(&b, ":{window_start}");
    } else {
        sl_msgbuf_puts(&b, ":{_id}");
    }
    return sl_msgbuf_take(&b);
}
