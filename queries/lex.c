/*
 * lex.c - the lexer: query text to tokens.
 *
 * Tokens of every file of a load go into one array (front_int.h), each with its file, byte
 * offset, and 1-based line and column (columns count code points, so carets line up under
 * UTF-8 text). Comments run from -- to the end of the line, or from slash-star to star-slash
 * (not nested, as in Flink). Identifiers are letters, digits, '_' and '$' (and any byte >= 0x80), not starting
 * with a digit or '$'; "double-quoted" identifiers keep their case and use "" for a quote;
 * 'strings' use '' for a quote and get ${…} substitution (subst.c). A lexical error is
 * reported once and leaves an SL_TOK_ERROR token, which the parser treats as an error
 * already reported.
 */
#include <stdlib.h>
#include <string.h>

#include "front_int.h"

void sl__pos_of(const char *text, size_t off, int *ret_line, int *ret_col)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            line++;
            col = 1;
        } else if ((c & 0xC0) != 0x80) {
            col++;
        }
    }
    *ret_line = line;
    *ret_col = col;
}

struct lexer {
    struct sl__front *fr;
    int file;
    const char *s;
    size_t n, i;
    int line, col; /* of s[i] */
};

static void advance(struct lexer *lx, size_t k)
{
    for (size_t j = 0; j < k && lx->i < lx->n; j++) {
        unsigned char c = (unsigned char)lx->s[lx->i++];
        if (c == '\n') {
            lx->line++;
            lx->col = 1;
        } else if ((c & 0xC0) != 0x80) {
            lx->col++;
        }
    }
}

static struct sl__tok *push(struct lexer *lx, enum sl__tok_kind kind, size_t start, int line,
                            int col)
{
    struct sl__front *fr = lx->fr;
    if (fr->ntoks == fr->tcap) {
        int cap = fr->tcap ? fr->tcap * 2 : 1024;
        struct sl__tok *t = realloc(fr->toks, sizeof(*t) * (size_t)cap);
        if (t == NULL) {
            abort();
        }
        fr->toks = t;
        fr->tcap = cap;
    }
    struct sl__tok *t = &fr->toks[fr->ntoks++];
    memset(t, 0, sizeof(*t));
    t->kind = (uint8_t)kind;
    t->file = (uint16_t)lx->file;
    t->off = (uint32_t)start;
    t->len = (uint32_t)(lx->i - start);
    t->line = line;
    t->col = col;
    return t;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL) {
        abort();
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static bool ident_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

static bool ident_char(unsigned char c)
{
    return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void lex_string(struct lexer *lx, size_t start, int line, int col)
{
    advance(lx, 1); /* ' */
    size_t body = lx->i;
    for (;;) {
        if (lx->i >= lx->n) {
            push(lx, SL_TOK_ERROR, start, line, col);
            sl__diag_at(lx->fr, SL_DIAG_ERROR, lx->file, (uint32_t)start,
                        "unterminated string: close it with '");
            return;
        }
        if (lx->s[lx->i] == '\'') {
            if (lx->i + 1 < lx->n && lx->s[lx->i + 1] == '\'') {
                advance(lx, 2);
                continue;
            }
            break;
        }
        advance(lx, 1);
    }
    size_t body_end = lx->i;
    advance(lx, 1); /* closing ' */
    struct sl__tok *t = push(lx, SL_TOK_STRING, start, line, col);
    struct sl_err err = {{0}};
    size_t at = 0;
    unsigned flags = 0;
    if (sl__string_value(lx->s + body, body_end - body, &t->val, &t->vlen, &flags, &err, &at) <
        0) {
        t->flags |= SL_TOKF_BAD;
        t->val = dupn("", 0);
        t->vlen = 0;
        sl__diag_at(lx->fr, SL_DIAG_ERROR, lx->file, (uint32_t)(body + at), "%s", err.msg);
        return;
    }
    t->flags |= (uint8_t)flags;
}

static void lex_qident(struct lexer *lx, size_t start, int line, int col)
{
    advance(lx, 1);
    size_t body = lx->i;
    for (;;) {
        if (lx->i >= lx->n || lx->s[lx->i] == '\n') {
            push(lx, SL_TOK_ERROR, start, line, col);
            sl__diag_at(lx->fr, SL_DIAG_ERROR, lx->file, (uint32_t)start,
                        "unterminated quoted identifier: close it with \"");
            return;
        }
        if (lx->s[lx->i] == '"') {
            if (lx->i + 1 < lx->n && lx->s[lx->i + 1] == '"') {
                advance(lx, 2);
                continue;
            }
            break;
        }
        advance(lx, 1);
    }
    size_t body_end = lx->i;
    advance(lx, 1);
    char *v = malloc(body_end - body + 1);
    size_t n = 0;
    if (v == NULL) {
        abort();
    }
    for (size_t j = body; j < body_end; j++) {
        v[n++] = lx->s[j];
        if (lx->s[j] == '"') {
            j++;
        }
    }
    v[n] = '\0';
    if (n == 0 || n > SL__MAX_IDENT || memchr(v, '\0', n) != NULL) {
        free(v);
        push(lx, SL_TOK_ERROR, start, line, col);
        sl__diag_at(lx->fr, SL_DIAG_ERROR, lx->file, (uint32_t)start,
                    n == 0 ? "empty quoted identifier" : "bad quoted identifier (too long, "
                                                         "or a NUL byte)");
        return;
    }
    struct sl__tok *t = push(lx, SL_TOK_QIDENT, start, line, col);
    t->val = v;
    t->vlen = n;
}

static void lex_number(struct lexer *lx, size_t start, int line, int col)
{
    bool is_float = false;
    while (lx->i < lx->n && is_digit(lx->s[lx->i])) {
        advance(lx, 1);
    }
    if (lx->i < lx->n && lx->s[lx->i] == '.') {
        is_float = true;
        advance(lx, 1);
        while (lx->i < lx->n && is_digit(lx->s[lx->i])) {
            advance(lx, 1);
        }
    }
    if (lx->i < lx->n && (lx->s[lx->i] == 'e' || lx->s[lx->i] == 'E')) {
        size_t k = lx->i + 1;
        if (k < lx->n && (lx->s[k] == '+' || lx->s[k] == '-')) {
            k++;
        }
        if (k < lx->n && is_digit(lx->s[k])) {
            is_float = true;
            advance(lx, k - lx->i);
            while (lx->i < lx->n && is_digit(lx->s[lx->i])) {
                advance(lx, 1);
            }
        }
    }
    if (lx->i < lx->n && ident_start((unsigned char)lx->s[lx->i])) {
        /* 10s: a number glued to a word is a typo for a string or an interval */
        while (lx->i < lx->n && ident_char((unsigned char)lx->s[lx->i])) {
            advance(lx, 1);
        }
        push(lx, SL_TOK_ERROR, start, line, col);
        sl__diag_at(lx->fr, SL_DIAG_ERROR, lx->file, (uint32_t)start,
                    "bad number '%.*s'%s", (int)(lx->i - start > 60 ? 60 : lx->i - start),
                    lx->s + start,
                    " (an interval is written INTERVAL '10s' or INTERVAL '10' SECOND)");
        return;
    }
    struct sl__tok *t = push(lx, is_float ? SL_TOK_FLOAT : SL_TOK_INT, start, line, col);
    t->val = dupn(lx->s + start, lx->i - start);
    t->vlen = lx->i - start;
}

void sl__lex_file(struct sl__front *fr, int file)
{
    struct lexer lx = {
        .fr = fr,
        .file = file,
        .s = fr->files[file].text,
        .n = fr->files[file].len,
        .line = 1,
        .col = 1,
    };
    int first = fr->ntoks;
    while (lx.i < lx.n) {
        char c = lx.s[lx.i];
        size_t start = lx.i;
        int line = lx.line, col = lx.col;
        char c1 = lx.i + 1 < lx.n ? lx.s[lx.i + 1] : '\0';
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            advance(&lx, 1);
            continue;
        }
        if (c == '-' && c1 == '-') {
            while (lx.i < lx.n && lx.s[lx.i] != '\n') {
                advance(&lx, 1);
            }
            continue;
        }
        if (c == '/' && c1 == '*') {
            advance(&lx, 2);
            for (;;) {
                if (lx.i >= lx.n) {
                    sl__diag_at(fr, SL_DIAG_ERROR, file, (uint32_t)start,
                                "unterminated comment: close it with */");
                    break;
                }
                if (lx.s[lx.i] == '*' && lx.i + 1 < lx.n && lx.s[lx.i + 1] == '/') {
                    advance(&lx, 2);
                    break;
                }
                advance(&lx, 1);
            }
            continue;
        }
        if (c == '\'') {
            lex_string(&lx, start, line, col);
            continue;
        }
        if (c == '"') {
            lex_qident(&lx, start, line, col);
            continue;
        }
        if (is_digit(c) || (c == '.' && is_digit(c1))) {
            lex_number(&lx, start, line, col);
            continue;
        }
        if (ident_start((unsigned char)c)) {
            while (lx.i < lx.n && ident_char((unsigned char)lx.s[lx.i])) {
                advance(&lx, 1);
            }
            if (lx.i - start > SL__MAX_IDENT) {
                push(&lx, SL_TOK_ERROR, start, line, col);
                sl__diag_at(fr, SL_DIAG_ERROR, file, (uint32_t)start,
                            "identifier longer than %d bytes", SL__MAX_IDENT);
                continue;
            }
            struct sl__tok *t = push(&lx, SL_TOK_IDENT, start, line, col);
            t->val = dupn(lx.s + start, lx.i - start);
            t->vlen = lx.i - start;
            continue;
        }
        enum sl__tok_kind kind;
        size_t len = 1;
        switch (c) {
        case '(':
            kind = SL_TOK_LP;
            break;
        case ')':
            kind = SL_TOK_RP;
            break;
        case ',':
            kind = SL_TOK_COMMA;
            break;
        case ';':
            kind = SL_TOK_SEMI;
            break;
        case '.':
            kind = SL_TOK_DOT;
            break;
        case '*':
            kind = SL_TOK_STAR;
            break;
        case '+':
            kind = SL_TOK_PLUS;
            break;
        case '-':
            kind = SL_TOK_MINUS;
            break;
        case '/':
            kind = SL_TOK_SLASH;
            break;
        case '%':
            kind = SL_TOK_PERCENT;
            break;
        case '=':
            kind = SL_TOK_EQ;
            len = c1 == '=' ? 2 : 1; /* == is taken as = */
            break;
        case '|':
            if (c1 != '|') {
                goto bad;
            }
            kind = SL_TOK_CONCAT;
            len = 2;
            break;
        case '!':
            if (c1 != '=') {
                goto bad;
            }
            kind = SL_TOK_NE;
            len = 2;
            break;
        case '<':
            kind = c1 == '=' ? SL_TOK_LE : c1 == '>' ? SL_TOK_NE : SL_TOK_LT;
            len = (c1 == '=' || c1 == '>') ? 2 : 1;
            break;
        case '>':
            kind = c1 == '=' ? SL_TOK_GE : SL_TOK_GT;
            len = c1 == '=' ? 2 : 1;
            break;
        default:
            goto bad;
        }
        advance(&lx, len);
        push(&lx, kind, start, line, col);
        continue;
    bad:
        if (c == '$' && c1 == '{') {
            /* ${X} outside a string: one error for all of it */
            size_t k = lx.i + 2;
            while (k < lx.n && lx.s[k] != '}' && lx.s[k] != '\n' && k - lx.i < 256) {
                k++;
            }
            if (k < lx.n && lx.s[k] == '}') {
                advance(&lx, k - lx.i);
            }
        }
        advance(&lx, 1);
        while (lx.i < lx.n && ((unsigned char)lx.s[lx.i] & 0xC0) == 0x80) {
            advance(&lx, 1);
        }
        push(&lx, SL_TOK_ERROR, start, line, col);
        if (c == '$') {
            sl__diag_at(fr, SL_DIAG_ERROR, file, (uint32_t)start,
                        "unexpected '$': ${…} is substituted only inside 'strings'");
        } else if (c == '"' || (unsigned char)c < 0x20 || c == 0x7f) {
            sl__diag_at(fr, SL_DIAG_ERROR, file, (uint32_t)start,
                        "unexpected character (byte 0x%02x)", (unsigned char)c);
        } else {
            sl__diag_at(fr, SL_DIAG_ERROR, file, (uint32_t)start, "unexpected character '%c'",
                        c);
        }
    }
    /* A statement ends at the end of its file: the last ';' of a file may be left out, and a
     * statement never runs on into the next file of a directory. */
    if (fr->ntoks > first && fr->toks[fr->ntoks - 1].kind != SL_TOK_SEMI) {
        push(&lx, SL_TOK_SEMI, lx.n, lx.line, lx.col);
    }
}

void sl__lex_finish(struct sl__front *fr)
{
    int file = fr->nfiles > 0 ? fr->nfiles - 1 : 0;
    struct lexer lx = {.fr = fr, .file = file};
    if (fr->nfiles > 0) {
        lx.s = fr->files[file].text;
        lx.n = lx.i = fr->files[file].len;
        sl__pos_of(lx.s, lx.n, &lx.line, &lx.col);
    } else {
        lx.line = lx.col = 1;
    }
    push(&lx, SL_TOK_EOF, lx.i, lx.line, lx.col);
}

char *sl__tok_text(const struct sl__front *fr, int first, int last)
{
    size_t cap = 1;
    for (int i = first; i <= last; i++) {
        cap += fr->toks[i].len + 1;
    }
    char *out = malloc(cap);
    size_t n = 0;
    if (out == NULL) {
        abort();
    }
    for (int i = first; i <= last; i++) {
        const struct sl__tok *t = &fr->toks[i];
        if (i > first) {
            const struct sl__tok *p = &fr->toks[i - 1];
            if (p->file != t->file || p->off + p->len != t->off) {
                out[n++] = ' ';
            }
        }
        memcpy(out + n, fr->files[t->file].text + t->off, t->len);
        n += t->len;
    }
    out[n] = '\0';
    return out;
}
