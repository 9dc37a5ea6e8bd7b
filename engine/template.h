/*
 * template.h - key templates of sinks: `temp:{site}:{device}:{window_start}`.
 *
 * A template is parsed once at load into literal and placeholder segments; `{{` and `}}` are
 * literal braces, any other brace must open or close a placeholder, and a placeholder holds
 * a non-empty name without braces. Binding resolves each placeholder against a plan: an
 * output column of the query (compared case-insensitively, first match), else one of the row
 * fields window_start, window_end (windowed queries) and _id. Rendering fills a caller's
 * buffer from one text piece per placeholder, formatted by the caller as SQL.md "Values in
 * results" says (TIMESTAMP as epoch ms, NULL as empty), and allocates nothing: sink threads
 * call it per row.
 *
 * A parsed template is immutable and may be shared read-only by any thread.
 */
#ifndef SL_TEMPLATE_H
#define SL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

struct sl_plan;

/* What a placeholder reads, after sl_template_bind. */
enum sl_tmpl_ref {
    SL_TMPL_UNBOUND,      /* not bound yet */
    SL_TMPL_OUT,          /* output column plan->out[col] */
    SL_TMPL_WINDOW_START, /* the row's window_start (not selected as an output column) */
    SL_TMPL_WINDOW_END,   /* the row's window_end (not selected as an output column) */
    SL_TMPL_ID,           /* the row's _id */
};

struct sl_tmpl_seg {
    bool placeholder;
    char *text;           /* literal text (braces unescaped) or the placeholder's name */
    size_t len;           /* bytes of text */
    enum sl_tmpl_ref ref; /* placeholders */
    int col;              /* SL_TMPL_OUT: index into plan->out; else -1 */
};

struct sl_template {
    char *src; /* the template as written */
    struct sl_tmpl_seg *segs;
    int nsegs;
    int nph;            /* placeholders: segments with placeholder set, in order */
    size_t literal_len; /* bytes of all literal segments */
};

/* Text of one placeholder's value, formatted by the caller; not NUL-terminated. */
struct sl_tmpl_piece {
    const char *s;
    size_t len;
};

/* Parses text into *ret (caller's memory; free with sl_template_fini). Returns 0, or
 * SL_ERR_PARSE with err saying what is wrong and where ("'}' at byte 7 closes nothing; write
 * '}}' for a literal brace"), or -ENOMEM. Load time. */
int sl_template_parse(const char *text, struct sl_template *ret, struct sl_err *err);
void sl_template_fini(struct sl_template *t);

/* Resolves every placeholder against plan (see the top of this file). Returns 0, or -ENOENT
 * with *ret_bad set to the index of the first placeholder segment that names nothing (its
 * name is t->segs[*ret_bad].text). Load time. */
int sl_template_bind(struct sl_template *t, const struct sl_plan *plan, int *ret_bad);

/* Whether some placeholder of t reads the output column called name (case-insensitive). */
bool sl_template_mentions(const struct sl_template *t, const char *name);

/* Writes the template with pieces[i] for the i-th placeholder (t->nph of them) into buf
 * (cap bytes, NUL-terminated). Returns the length without the NUL, or -ENOSPC when cap is
 * too small (nothing useful in buf then). No allocation; any thread. */
int sl_template_render(const struct sl_template *t, const struct sl_tmpl_piece *pieces, char *buf,
                       size_t cap);

/* The default key of a sink (SQL.md, redis): `<sink>:{k1}:…:{kn}:{window_start}` for
 * windowed queries, where k are the group columns, and `<sink>:{_id}` for per-event ones and
 * for windowed queries whose group columns are not all output columns (only _id then tells
 * the rows apart). Braces in names are doubled. Returns a malloc'd string or NULL (ENOMEM). */
char *sl_template_default_key(const struct sl_plan *plan);

/* Writes s with '{' and '}' doubled into a NUL-terminated malloc'd string, or NULL. */
char *sl_template_escape(const char *s);

#endif
