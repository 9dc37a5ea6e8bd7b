/*
 * load.c - the front end's entry points: loading files and directories, diagnostics, and
 * the catalog's printing and freeing.
 *
 * A load reads every file first (a directory contributes its *.sql files in lexical byte
 * order, dot-files skipped), lexes them into one token stream, parses, checks and plans
 * (front_int.h). Diagnostics are kept in the order of their position (file in load order,
 * then offset), whatever phase found them, with exact duplicates dropped.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "front_int.h"

/* ---------------------------------------------------------------- diagnostics */

static char *xstrndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL) {
        abort();
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static SL_PRINTF(7, 0) void add_diag(struct sl__front *fr, enum sl_diag_level lvl, int file,
                                      uint32_t off, int line, int col, const char *fmt,
                                      va_list ap)
{
    struct sl_diags *d = fr->d;
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    const char *fname = file >= 0 && file < fr->nfiles ? fr->files[file].name : NULL;
    if (d->n >= SL__MAX_DIAGS) {
        /* enough to act on; the count still says how many there were */
        if (lvl == SL_DIAG_ERROR) {
            d->errors++;
        } else {
            d->warnings++;
        }
        return;
    }
    /* a repeat comes from the same statement: looking back a few entries is enough, and
     * keeps a file full of errors linear */
    for (int i = d->n > 8 ? d->n - 8 : 0; i < d->n; i++) {
        const struct sl_diag *o = &d->v[i];
        if (o->line == line && o->col == col && strcmp(o->msg, msg) == 0 &&
            ((o->file == NULL && fname == NULL) ||
             (o->file != NULL && fname != NULL && strcmp(o->file, fname) == 0))) {
            return;
        }
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->v = realloc(d->v, sizeof(*d->v) * (size_t)d->cap);
        if (d->v == NULL) {
            abort();
        }
    }
    if (d->n >= fr->dcap) {
        fr->dcap = d->cap;
        fr->dkeys = realloc(fr->dkeys, sizeof(*fr->dkeys) * (size_t)fr->dcap);
        if (fr->dkeys == NULL) {
            abort();
        }
    }
    struct sl_diag *g = &d->v[d->n];
    memset(g, 0, sizeof(*g));
    g->level = lvl;
    g->line = line;
    g->col = col;
    g->msg = xstrndup(msg, strlen(msg));
    if (fname != NULL) {
        g->file = xstrndup(fname, strlen(fname));
        if (line > 0) {
            const char *text = fr->files[file].text;
            size_t len = fr->files[file].len;
            size_t b = off > len ? len : off, e = b;
            while (b > 0 && text[b - 1] != '\n') {
                b--;
            }
            while (e < len && text[e] != '\n') {
                e++;
            }
            if (e > b && text[e - 1] == '\r') {
                e--;
            }
            g->src_line = xstrndup(text + b, e - b);
        }
    }
    fr->dkeys[d->n] = (struct sl__dkey){.file = file < 0 ? fr->nfiles : file, .off = off,
                                       .seq = d->n};
    d->n++;
    if (lvl == SL_DIAG_ERROR) {
        d->errors++;
    } else {
        d->warnings++;
    }
}

void sl__diag_tok(struct sl__front *fr, enum sl_diag_level lvl, int tok, const char *fmt, ...)
{
    const struct sl__tok *t = &fr->toks[tok];
    va_list ap;
    va_start(ap, fmt);
    add_diag(fr, lvl, t->file, t->off, t->line, t->col, fmt, ap);
    va_end(ap);
}

void sl__diag_at(struct sl__front *fr, enum sl_diag_level lvl, int file, uint32_t off,
                 const char *fmt, ...)
{
    int line, col;
    sl__pos_of(fr->files[file].text, off, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    add_diag(fr, lvl, file, off, line, col, fmt, ap);
    va_end(ap);
}

void sl__diag_lc(struct sl__front *fr, enum sl_diag_level lvl, int file, int line, int col,
                 const char *fmt, ...)
{
    const char *text = fr->files[file].text;
    size_t len = fr->files[file].len, off = 0;
    for (int l = 1; l < line && off < len; off++) {
        if (text[off] == '\n') {
            l++;
        }
    }
    for (int c = 1; c < col && off < len; c++) {
        off++;
        while (off < len && ((unsigned char)text[off] & 0xC0) == 0x80) {
            off++;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    add_diag(fr, lvl, file, (uint32_t)off, line, col, fmt, ap);
    va_end(ap);
}

void sl__diag_plain(struct sl__front *fr, enum sl_diag_level lvl, const char *file,
                    const char *fmt, ...)
{
    /* a file that could not be read is not in fr->files: give it a name only */
    va_list ap;
    va_start(ap, fmt);
    add_diag(fr, lvl, -1, 0, 0, 0, fmt, ap);
    va_end(ap);
    if (file != NULL) {
        struct sl_diag *g = &fr->d->v[fr->d->n - 1];
        free(g->file);
        g->file = xstrndup(file, strlen(file));
    }
}

/* Byte offset of code point k (0-based) in s, or strlen(s). */
static size_t cp_offset(const char *s, int k)
{
    size_t i = 0;
    for (int c = 0; c < k && s[i] != '\0'; c++) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80) {
            i++;
        }
    }
    return i;
}

#define LINE_WINDOW 160 /* code points shown of a long line: half before the column */

/* The source line, then a caret under column col. A line longer than LINE_WINDOW code
 * points is shown as a window around the column, with … where it was cut. Tabs before the
 * column are copied into the caret line so that it lines up. */
static void print_source_line(FILE *f, const char *line, int col)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)line; *p != '\0'; p++) {
        n += (*p & 0xC0) != 0x80;
    }
    int start = 0, end = n;
    if (n > LINE_WINDOW) {
        start = col - 1 - LINE_WINDOW / 2;
        if (start < 0) {
            start = 0;
        }
        end = start + LINE_WINDOW;
        if (end > n) {
            end = n;
            start = n - LINE_WINDOW;
        }
    }
    size_t b = cp_offset(line, start), e = cp_offset(line, end);
    fprintf(f, "    %s%.*s%s\n    ", start > 0 ? "…" : "", (int)(e - b), line + b,
            end < n ? "…" : "");
    if (start > 0) {
        fputc(' ', f);
    }
    const unsigned char *s = (const unsigned char *)line + b;
    for (int c = start + 1; c < col && *s != '\0';) {
        fputc(*s == '\t' ? '\t' : ' ', f);
        s++;
        while ((*s & 0xC0) == 0x80) {
            s++;
        }
        c++;
    }
    fputs("^\n", f);
}

void sl_diags_print(const struct sl_diags *d, FILE *f)
{
    for (int i = 0; i < d->n; i++) {
        const struct sl_diag *g = &d->v[i];
        const char *lvl = g->level == SL_DIAG_ERROR ? "error" : "warning";
        if (g->file == NULL) {
            fprintf(f, "sluice: %s: %s\n", lvl, g->msg);
            continue;
        }
        if (g->line <= 0) {
            fprintf(f, "%s: %s: %s\n", g->file, lvl, g->msg);
            continue;
        }
        fprintf(f, "%s:%d:%d: %s: %s\n", g->file, g->line, g->col, lvl, g->msg);
        if (g->src_line != NULL) {
            print_source_line(f, g->src_line, g->col);
        }
    }
    if (d->errors + d->warnings > d->n) {
        fprintf(f, "sluice: %d more diagnostics not shown\n", d->errors + d->warnings - d->n);
    }
}

void sl_diags_fini(struct sl_diags *d)
{
    if (d == NULL) {
        return;
    }
    for (int i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].msg);
        free(d->v[i].src_line);
    }
    free(d->v);
    memset(d, 0, sizeof(*d));
}

static int dkey_cmp(const void *a, const void *b)
{
    const struct sl__dkey *x = a, *y = b;
    if (x->file != y->file) {
        return x->file < y->file ? -1 : 1;
    }
    if (x->off != y->off) {
        return x->off < y->off ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts the diagnostics added since index `from` by position. */
static void sort_diags(struct sl__front *fr, int from)
{
    struct sl_diags *d = fr->d;
    int n = d->n - from;
    if (n < 2) {
        return;
    }
    for (int i = from; i < d->n; i++) {
        fr->dkeys[i].seq = i;
    }
    qsort(fr->dkeys + from, (size_t)n, sizeof(*fr->dkeys), dkey_cmp);
    struct sl_diag *tmp = malloc(sizeof(*tmp) * (size_t)n);
    if (tmp == NULL) {
        abort();
    }
    for (int i = 0; i < n; i++) {
        tmp[i] = d->v[fr->dkeys[from + i].seq];
    }
    memcpy(d->v + from, tmp, sizeof(*tmp) * (size_t)n);
    free(tmp);
}

/* ---------------------------------------------------------------- loading */

static void add_file(struct sl__front *fr, const char *name, char *text, size_t len)
{
    struct sl__file *v = realloc(fr->files, sizeof(*v) * (size_t)(fr->nfiles + 1));
    if (v == NULL) {
        abort();
    }
    fr->files = v;
    fr->files[fr->nfiles++] = (struct sl__file){
        .name = xstrndup(name, strlen(name)), .text = text, .len = len};
}

static void read_file(struct sl__front *fr, const char *path)
{
    if (fr->nfiles >= SL__MAX_FILES) {
        sl__diag_plain(fr, SL_DIAG_ERROR, path, "too many files in one load");
        return;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        sl__diag_plain(fr, SL_DIAG_ERROR, path, "cannot read: %s", strerror(errno));
        return;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        abort();
    }
    for (;;) {
        if (n == cap) {
            if (cap >= SL__MAX_FILE_BYTES) {
                sl__diag_plain(fr, SL_DIAG_ERROR, path, "larger than %u bytes: not a query file",
                               SL__MAX_FILE_BYTES);
                free(buf);
                fclose(f);
                return;
            }
            cap *= 2;
            buf = realloc(buf, cap + 1);
            if (buf == NULL) {
                abort();
            }
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        sl__diag_plain(fr, SL_DIAG_ERROR, path, "cannot read: %s", strerror(errno));
        free(buf);
        fclose(f);
        return;
    }
    fclose(f);
    buf[n] = '\0';
    add_file(fr, path, buf, n);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void read_dir(struct sl__front *fr, const char *path)
{
    DIR *dir = opendir(path);
    if (dir == NULL) {
        sl__diag_plain(fr, SL_DIAG_ERROR, path, "cannot read directory: %s", strerror(errno));
        return;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    size_t plen = strlen(path);
    bool slash = plen > 0 && path[plen - 1] == '/';
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= 4 || strcmp(de->d_name + len - 4, ".sql") != 0) {
            continue;
        }
        char *full = malloc(plen + len + 2);
        if (full == NULL) {
            abort();
        }
        snprintf(full, plen + len + 2, "%s%s%s", path, slash ? "" : "/", de->d_name);
        struct stat sb;
        if (stat(full, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(full);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, sizeof(*names) * (size_t)cap);
            if (names == NULL) {
                abort();
            }
        }
        names[n++] = full;
    }
    closedir(dir);
    if (n == 0) {
        sl__diag_plain(fr, SL_DIAG_ERROR, path, "no *.sql files in this directory");
    }
    if (n > 1) {
        qsort(names, (size_t)n, sizeof(*names), str_cmp);
    }
    for (int i = 0; i < n; i++) {
        read_file(fr, names[i]);
        free(names[i]);
    }
    free(names);
}

static void front_fini(struct sl__front *fr)
{
    for (int i = 0; i < fr->nfiles; i++) {
        free(fr->files[i].name);
        free(fr->files[i].text);
    }
    free(fr->files);
    for (int i = 0; i < fr->ntoks; i++) {
        free(fr->toks[i].val);
    }
    free(fr->toks);
    free(fr->dkeys);
    sl__arena_fini(&fr->arena);
}

static int finish(struct sl__front *fr, int first_diag, int errors_before,
                  struct sl_catalog **ret)
{
    struct sl_catalog *cat = NULL;
    for (int i = 0; i < fr->nfiles; i++) {
        sl__lex_file(fr, i);
    }
    sl__lex_finish(fr);
    struct sl__stmt *stmts = NULL;
    int n = sl__parse(fr, &stmts);
    cat = sl__sema(fr, stmts, n);
    sort_diags(fr, first_diag);
    int r = 0;
    if (fr->d->errors > errors_before) {
        sl_catalog_free(cat);
        r = SL_ERR_PARSE;
    } else {
        *ret = cat;
    }
    front_fini(fr);
    return r;
}

int sl_front_load(const char *const *paths, int npaths, struct sl_catalog **ret,
                  struct sl_diags *d)
{
    struct sl__front fr = {.d = d};
    int first = d->n, errors = d->errors;
    fr.dcap = 0;
    for (int i = 0; i < npaths; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0) {
            sl__diag_plain(&fr, SL_DIAG_ERROR, paths[i], "cannot read: %s", strerror(errno));
        } else if (S_ISDIR(sb.st_mode)) {
            read_dir(&fr, paths[i]);
        } else {
            read_file(&fr, paths[i]);
        }
    }
    return finish(&fr, first, errors, ret);
}

int sl_front_load_text(const char *name, const char *text, size_t len,
                       struct sl_catalog **ret, struct sl_diags *d)
{
    struct sl__front fr = {.d = d};
    int first = d->n, errors = d->errors;
    if (len > SL__MAX_FILE_BYTES) {
        sl__diag_plain(&fr, SL_DIAG_ERROR, name, "larger than %u bytes: not a query file",
                       SL__MAX_FILE_BYTES);
        front_fini(&fr);
        return SL_ERR_PARSE;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        abort();
    }
    if (len > 0) {
        memcpy(copy, text, len);
    }
    copy[len] = '\0';
    add_file(&fr, name, copy, len);
    return finish(&fr, first, errors, ret);
}

/* ---------------------------------------------------------------- freeing */

void sl_catalog_free(struct sl_catalog *cat)
{
    if (cat == NULL) {
        return;
    }
    for (int i = 0; i < cat->nsources; i++) {
        struct sl_source *src = cat->sources[i];
        if (src == NULL) {
            continue;
        }
        for (int k = 0; k < src->ncols; k++) {
            free(src->cols[k].name);
            sl_path_free(src->cols[k].path);
        }
        free(src->cols);
        if (src->opts.v != NULL) {
            sl_options_fini(&src->opts);
        }
        free(src->name);
        free(src->file);
        free(src);
    }
    free(cat->sources);
    for (int i = 0; i < cat->nplans; i++) {
        struct sl_plan *p = cat->plans[i];
        if (p == NULL) {
            continue;
        }
        free(p->name);
        if (p->sink_opts.v != NULL) {
            sl_options_fini(&p->sink_opts);
        }
        sl_expr_free(p->where);
        for (int k = 0; k < p->nkeys; k++) {
            sl_expr_free(p->keys[k]);
            if (p->key_names != NULL) {
                free(p->key_names[k]);
            }
        }
        free(p->keys);
        free(p->key_names);
        for (int k = 0; k < p->naggs; k++) {
            sl_expr_free(p->aggs[k].arg);
            sl_expr_free(p->aggs[k].filter);
            free(p->aggs[k].text);
        }
        free(p->aggs);
        free(p->states);
        sl_expr_free(p->having);
        for (int k = 0; k < p->nout; k++) {
            free(p->out[k].name);
            sl_expr_free(p->out[k].expr);
        }
        free(p->out);
        free(p->file);
        free(p);
    }
    free(cat->plans);
    free(cat);
}

/* ---------------------------------------------------------------- printing */

static void print_quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s != '\0'; s++) {
        if (*s == '\'') {
            fputc('\'', f);
        }
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* The path as PATH would take it (sl_path_parse's syntax), written into a memory stream. */
static void print_path(FILE *f, const struct sl_path *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m == NULL) {
        abort();
    }
    fputc('$', m);
    for (int i = 0; i < p->nsegs; i++) {
        const struct sl_path_seg *s = &p->segs[i];
        if (s->is_index) {
            fprintf(m, "[%u]", s->index);
        } else if (strpbrk(s->key, ".[]'\"\\") != NULL || s->key[0] == '\0') {
            fputs("['", m);
            for (const char *c = s->key; *c != '\0'; c++) {
                if (*c == '\'' || *c == '\\') {
                    fputc('\\', m);
                }
                fputc(*c, m);
            }
            fputs("']", m);
        } else {
            fprintf(m, ".%s", s->key);
        }
    }
    fclose(m);
    print_quoted(f, buf);
    free(buf);
}

static int opt_pos_cmp(const void *a, const void *b)
{
    const struct sl_opt_value *x = *(const struct sl_opt_value *const *)a;
    const struct sl_opt_value *y = *(const struct sl_opt_value *const *)b;
    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }
    return x->col < y->col ? -1 : x->col > y->col;
}

/* The options the user wrote, in the order written; secrets hidden. */
static void print_options(FILE *f, const struct sl_options *o)
{
    const struct sl_opt_value **v = malloc(sizeof(*v) * (size_t)(o->n ? o->n : 1));
    int n = 0;
    if (v == NULL) {
        abort();
    }
    for (int i = 0; i < o->n; i++) {
        if (o->v[i].given) {
            v[n++] = &o->v[i];
        }
    }
    qsort(v, (size_t)n, sizeof(*v), opt_pos_cmp);
    for (int i = 0; i < n; i++) {
        char buf[1024];
        const char *shown = v[i]->secret ? "<secret>" : sl_options_display(v[i], buf, sizeof(buf));
        fprintf(f, "  option %s = ", v[i]->name);
        if (strcmp(shown, "<secret>") == 0) {
            fputs("<secret>\n", f);
        } else {
            print_quoted(f, shown);
            fputc('\n', f);
        }
    }
    free(v);
}

static void print_source(FILE *f, const struct sl_source *src)
{
    fprintf(f, "source %s (%s) at %s:%d:%d\n", src->name, src->conn ? src->conn->name : "?",
            src->file, src->line, src->col);
    for (int i = 0; i < src->ncols; i++) {
        const struct sl_column *c = &src->cols[i];
        fprintf(f, "  column %s %s", c->name, sl_type_name(c->type));
        bool dflt = c->path != NULL && c->path->nsegs == 1 && !c->path->segs[0].is_index &&
                    strcmp(c->path->segs[0].key, c->name) == 0;
        if (c->path != NULL && !dflt) {
            fputs(" PATH ", f);
            print_path(f, c->path);
        }
        if (c->not_null) {
            fputs(" NOT NULL", f);
        }
        if (!c->used) {
            fputs(" (unused)", f);
        }
        fputc('\n', f);
    }
    char b[32];
    if (src->wm_col >= 0) {
        sl__fmt_dur(src->wm_delay_ms, b, sizeof(b));
        fprintf(f, "  event time: %s, watermark %s - %s\n", src->cols[src->wm_col].name,
                src->cols[src->wm_col].name, b);
    } else {
        fputs("  event time: _arrival (processing time, no WATERMARK)\n", f);
    }
    print_options(f, &src->opts);
}

static void print_named(FILE *f, const char *what, int i, const char *name, enum sl_type t,
                        const char *text)
{
    fprintf(f, "  %s %d: %s %s", what, i, name, sl_type_name(t));
    if (text != NULL && strcmp(text, name) != 0) {
        fprintf(f, " = %s", text);
    }
    fputc('\n', f);
}

static void print_plan(FILE *f, const struct sl_plan *p)
{
    char b1[32], b2[32];
    fprintf(f, "sink %s (%s) at %s:%d:%d\n", p->name, p->sink_conn ? p->sink_conn->name : "?",
            p->file, p->line, p->col);
    fprintf(f, "  from: %s\n", p->src ? p->src->name : "?");
    const char *tcol = "?";
    if (p->src != NULL) {
        tcol = p->time_slot < p->src->ncols ? p->src->cols[p->time_slot].name : "_arrival";
    }
    switch (p->window) {
    case SL_WINDOW_NONE:
        fputs("  window: none (per event)\n", f);
        break;
    case SL_WINDOW_TUMBLE:
        sl__fmt_dur(p->size_ms, b1, sizeof(b1));
        fprintf(f, "  window: TUMBLE(%s, size %s)\n", tcol, b1);
        break;
    case SL_WINDOW_HOP:
        sl__fmt_dur(p->slide_ms, b1, sizeof(b1));
        sl__fmt_dur(p->size_ms, b2, sizeof(b2));
        fprintf(f, "  window: HOP(%s, slide %s, size %s)\n", tcol, b1, b2);
        break;
    case SL_WINDOW_SESSION:
        sl__fmt_dur(p->gap_ms, b1, sizeof(b1));
        sl__fmt_dur(p->max_duration_ms, b2, sizeof(b2));
        fprintf(f, "  window: SESSION(%s, gap %s, max_duration %s)\n", tcol, b1, b2);
        break;
    }
    if (p->window != SL_WINDOW_NONE) {
        if (p->emit == SL_EMIT_EVERY) {
            sl__fmt_dur(p->emit_every_ms, b1, sizeof(b1));
            fprintf(f, "  emit: every %s, then on window close\n", b1);
        } else {
            fputs("  emit: on window close\n", f);
        }
        if (p->lateness_ms > 0) {
            sl__fmt_dur(p->lateness_ms, b1, sizeof(b1));
            fprintf(f, "  allowed lateness: %s\n", b1);
        }
    }
    if (p->where != NULL) {
        fprintf(f, "  where: %s\n", p->where->text);
    }
    for (int k = 0; k < p->nkeys; k++) {
        print_named(f, "group key", k, p->key_names[k], (enum sl_type)p->keys[k]->type,
                    p->keys[k]->text);
    }
    for (int i = 0; i < p->naggs; i++) {
        const struct sl_plan_agg *a = &p->aggs[i];
        fprintf(f, "  aggregate %d: %s -> %s, state %d%s\n", i, a->text,
                sl_type_name(a->sig.result), a->state, a->ops->exact ? "" : " (approximate)");
    }
    for (int j = 0; j < p->nstates; j++) {
        const struct sl_plan_state *s = &p->states[j];
        fprintf(f, "  state %d: %s(%s)", j, s->ops->name, s->arg ? s->arg->text : "*");
        if (s->filter != NULL) {
            fprintf(f, " FILTER (WHERE %s)", s->filter->text);
        }
        int users = 0;
        for (int i = 0; i < p->naggs; i++) {
            users += p->aggs[i].state == j;
        }
        if (users > 1) {
            fputs(", shared by aggregates", f);
            const char *sep = " ";
            for (int i = 0; i < p->naggs; i++) {
                if (p->aggs[i].state == j) {
                    fprintf(f, "%s%d", sep, i);
                    sep = ", ";
                }
            }
        }
        fputc('\n', f);
    }
    if (p->having != NULL) {
        fprintf(f, "  having: %s\n", p->having->text);
    }
    for (int i = 0; i < p->nout; i++) {
        print_named(f, "output", i, p->out[i].name, p->out[i].type, p->out[i].expr->text);
    }
    if (p->window != SL_WINDOW_NONE) {
        fprintf(f, "  limits: max_groups %llu, max_distinct %llu\n",
                (unsigned long long)p->max_groups, (unsigned long long)p->max_distinct);
    }
    if (p->uses_arrival || p->uses_now) {
        fprintf(f, "  reads the clock:%s%s (output not reproducible)\n",
                p->uses_arrival ? " _arrival" : "",
                p->uses_now ? (p->uses_arrival ? ", NOW()" : " NOW()") : "");
    }
    print_options(f, &p->sink_opts);
}

void sl_catalog_print(const struct sl_catalog *cat, FILE *f)
{
    for (int i = 0; i < cat->nsources; i++) {
        if (i > 0) {
            fputc('\n', f);
        }
        print_source(f, cat->sources[i]);
    }
    for (int i = 0; i < cat->nplans; i++) {
        if (i > 0 || cat->nsources > 0) {
            fputc('\n', f);
        }
        print_plan(f, cat->plans[i]);
    }
}
