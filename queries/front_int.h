/*
 * front_int.h - internals of the SQL front end shared by its files (not for other modules).
 *
 * The front end runs in four steps over one load (struct sl__front):
 *   1. load.c reads the files (a directory: its *.sql files in lexical order) and lexes each
 *      into one shared token array (lex.c), so that the whole load is one token stream, as
 *      SQL.md says, while every token remembers its real file, line and column. String
 *      literals get their ${…} substitution here (subst.c).
 *   2. parse.c, a hand-written recursive-descent parser, turns the tokens into statements
 *      (struct sl__stmt) whose nodes live in an arena freed at the end of the load. After a
 *      syntax error it skips to the next ';' and goes on, so one run reports several errors.
 *   3. sema.c resolves names, type-checks, and plans: every CREATE SOURCE first, then every
 *      CREATE SINK (sources may be declared anywhere in the load), into a struct sl_catalog.
 *   4. load.c sorts the diagnostics by position and hands the catalog out if there was no
 *      error.
 *
 * Everything here runs on the loading thread; nothing is shared.
 */
#ifndef SL_FRONT_INT_H
#define SL_FRONT_INT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "front.h"

/* ---- limits (bad input must fail cleanly, not exhaust the stack or wrap counters) ---- */
#define SL__MAX_FILE_BYTES   (16u << 20) /* one query file */
#define SL__MAX_SECRET_BYTES (1u << 20)  /* one ${file:…} */
#define SL__MAX_DEPTH        200         /* expression nesting */
#define SL__MAX_LIST         4096        /* IN list, CASE arms, function arguments */
#define SL__MAX_IDENT        256         /* bytes in an identifier */
#define SL__MAX_COLUMNS      4096        /* columns of one source */
#define SL__MAX_ITEMS        4096        /* SELECT items, GROUP BY items, options */
#define SL__MAX_FILES        65535
#define SL__MAX_DIAGS        1000        /* diagnostics kept (all are counted) */

/* ---- the arena: AST nodes and their strings, freed at once at the end of a load ---- */
struct sl__arena_blk;
struct sl__arena {
    struct sl__arena_blk *head;
};
void *sl__arena_alloc(struct sl__arena *a, size_t n); /* zeroed; aborts on OOM */
char *sl__arena_strndup(struct sl__arena *a, const char *s, size_t n);
void sl__arena_fini(struct sl__arena *a);

/* ---- files and tokens ---- */
struct sl__file {
    char *name; /* as the user wrote it (directory entries: dir/entry) */
    char *text; /* NUL-terminated copy; may hold NULs of its own (fuzzing) */
    size_t len;
};

enum sl__tok_kind {
    SL_TOK_EOF,
    SL_TOK_ERROR, /* a lexical error, already reported */
    SL_TOK_IDENT, /* val: as written */
    SL_TOK_QIDENT, /* "quoted": val unquoted, case kept */
    SL_TOK_STRING, /* val: unescaped and substituted */
    SL_TOK_INT,
    SL_TOK_FLOAT,
    SL_TOK_LP,
    SL_TOK_RP,
    SL_TOK_COMMA,
    SL_TOK_SEMI,
    SL_TOK_DOT,
    SL_TOK_STAR,
    SL_TOK_PLUS,
    SL_TOK_MINUS,
    SL_TOK_SLASH,
    SL_TOK_PERCENT,
    SL_TOK_CONCAT, /* || */
    SL_TOK_EQ,
    SL_TOK_NE, /* <> and != */
    SL_TOK_LT,
    SL_TOK_LE,
    SL_TOK_GT,
    SL_TOK_GE,
};

#define SL_TOKF_SECRET 0x1u /* a string that took content from ${file:…} */
#define SL_TOKF_BAD    0x2u /* a string whose substitution failed (already reported) */

struct sl__tok {
    uint8_t kind;  /* enum sl__tok_kind */
    uint8_t flags; /* SL_TOKF_* */
    uint16_t file; /* index into front->files */
    uint32_t off;  /* byte offset of the token in its file */
    uint32_t len;  /* bytes of source text */
    int line, col; /* 1-based; col counts code points */
    char *val;     /* IDENT/QIDENT/STRING/INT/FLOAT: NUL-terminated value (malloc'd) */
    size_t vlen;
};

/* ---- diagnostics ---- */
struct sl__front {
    struct sl_diags *d;
    struct sl__file *files;
    int nfiles;
    struct sl__tok *toks;
    int ntoks, tcap;
    struct sl__arena arena;
    /* sort keys of d->v, parallel to it: (file, offset, sequence) */
    struct sl__dkey *dkeys;
    int dcap;
};

struct sl__dkey {
    int file;
    uint32_t off;
    int seq;
};

void sl__diag_tok(struct sl__front *fr, enum sl_diag_level lvl, int tok, const char *fmt, ...)
    SL_PRINTF(4, 5);
void sl__diag_at(struct sl__front *fr, enum sl_diag_level lvl, int file, uint32_t off,
                 const char *fmt, ...) SL_PRINTF(5, 6);
/* At a line and column of a file (expression nodes keep only those). */
void sl__diag_lc(struct sl__front *fr, enum sl_diag_level lvl, int file, int line, int col,
                 const char *fmt, ...) SL_PRINTF(6, 7);
/* A diagnostic tied to no position (file may be NULL). */
void sl__diag_plain(struct sl__front *fr, enum sl_diag_level lvl, const char *file,
                    const char *fmt, ...) SL_PRINTF(4, 5);

/* ---- lexing and substitution ---- */
/* Appends the tokens of files[file] (without EOF) to fr->toks, reporting lexical errors. */
void sl__lex_file(struct sl__front *fr, int file);
/* Appends the final EOF token. */
void sl__lex_finish(struct sl__front *fr);
/* Line and column (code points) of byte off in text. */
void sl__pos_of(const char *text, size_t off, int *ret_line, int *ret_col);

/* The value of a string literal from its raw body (between the quotes): '' becomes ',
 * $${ becomes ${, and ${NAME}, ${NAME:-default}, ${file:/path} are substituted (SQL.md).
 * Returns 0 with *ret (malloc'd, NUL-terminated; *ret_len bytes, may hold NULs only if the
 * raw body did) and *ret_flags (SL_TOKF_SECRET), or < 0 with err and *ret_at, the offset in
 * raw of the faulty ${. */
int sl__string_value(const char *raw, size_t n, char **ret, size_t *ret_len,
                     unsigned *ret_flags, struct sl_err *err, size_t *ret_at);

/* ---- text helpers ---- */
/* The source text of tokens [first, last], whitespace and comments between tokens folded
 * into one space. malloc'd. */
char *sl__tok_text(const struct sl__front *fr, int first, int last);
/* The closest candidate within a small edit distance, or NULL. */
const char *sl__suggest(const char *word, const char *const *cands, int n);
/* ms as the short form: 500ms, 10s, 5m, 1h, 1d, 90s. */
void sl__fmt_dur(int64_t ms, char *buf, size_t cap);
/* Parses an interval literal's string with its unit keyword (NULL: short form). */
int sl__interval_ms(const char *s, const char *unit, int64_t *ret_ms, struct sl_err *err);

/* ---- AST (arena) ---- */
enum sl__ast_kind {
    SL_AST_INT,
    SL_AST_FLOAT,
    SL_AST_STRING,
    SL_AST_BOOL,
    SL_AST_NULL,
    SL_AST_INTERVAL,
    SL_AST_COL,    /* name [qual.] */
    SL_AST_STAR,   /* * as a select item or COUNT(*) argument */
    SL_AST_NEG,
    SL_AST_NOT,
    SL_AST_BINARY, /* op: enum sl_expr_op (ADD … GE, AND, OR, CONCAT) */
    SL_AST_IS_NULL,
    SL_AST_IN,
    SL_AST_BETWEEN,
    SL_AST_LIKE,
    SL_AST_CASE, /* args: [operand,] when, then, …, [else]; has_operand, has_else */
    SL_AST_CAST,
    SL_AST_CALL, /* name(args) [FILTER (WHERE filter)]; distinct, star */
};

struct sl__ast {
    uint8_t kind;
    uint8_t op;
    bool negated, distinct, star, has_else, has_operand, quoted;
    uint8_t cast_type;
    int64_t i;       /* INT, BOOL, INTERVAL (ms) */
    double d;        /* FLOAT */
    char *s;         /* STRING value, COL name, CALL name */
    size_t slen;
    char *qual;      /* COL: qualifier, or NULL */
    bool qual_quoted;
    bool secret;     /* STRING: from ${file:…} */
    struct sl__ast **args;
    int nargs;
    struct sl__ast *filter; /* CALL */
    int tok;         /* where errors point (operator, name, …) */
    int first, last; /* token span, for text */
};

struct sl__opt {
    char *name;
    char *value;
    bool secret;
    int name_tok, value_tok;
};

struct sl__coldef {
    char *name;
    bool quoted;
    uint8_t type;
    char *path; /* NULL: default */
    int path_tok;
    bool not_null;
    int tok;
};

struct sl__item {
    struct sl__ast *e; /* NULL for * */
    char *alias;
    bool alias_quoted;
    int alias_tok;
    int tok; /* first token */
};

struct sl__interval {
    int64_t ms;
    int tok; /* INTERVAL keyword */
    bool given;
};

struct sl__select {
    int select_tok;
    struct sl__item *items;
    int nitems;
    /* FROM */
    int from_tok;      /* the source name or the window function name */
    int window;        /* enum sl_window_kind */
    char *src;
    bool src_quoted;
    int src_tok;
    char *alias;       /* FROM … [AS] alias */
    bool alias_quoted;
    struct sl__ast *timecol; /* windowed: SL_AST_COL */
    struct sl__interval a, b, c; /* TUMBLE size; HOP slide, size; SESSION gap, max_duration */
    struct sl__ast *where;
    struct sl__ast **group;
    int ngroup;
    int group_tok;
    struct sl__ast *having;
    int having_tok;
    bool emit_every;
    int emit_tok;
    struct sl__interval every;
    struct sl__interval lateness;
};

enum sl__stmt_kind {
    SL_STMT_SOURCE,
    SL_STMT_SINK,
    SL_STMT_VIEW,
};

struct sl__stmt {
    int kind;
    char *name;
    bool quoted;
    int name_tok;
    int create_tok;
    bool broken; /* a syntax or substitution error: only its name is known */
    /* SOURCE */
    struct sl__coldef *cols;
    int ncols;
    bool has_wm;
    char *wm_col;
    bool wm_quoted;
    int wm_tok;
    int64_t wm_delay_ms;
    /* SOURCE and SINK */
    struct sl__opt *opts;
    int nopts;
    int with_tok;
    /* SINK and VIEW */
    struct sl__select *sel;
};

/* Parses the whole token stream into *ret_stmts (arena). */
int sl__parse(struct sl__front *fr, struct sl__stmt **ret_stmts);

/* Checks and plans the statements into a catalog (always returned, maybe partial). */
struct sl_catalog *sl__sema(struct sl__front *fr, struct sl__stmt *stmts, int nstmts);

/* Type names for messages and SQL: BOOLEAN, BIGINT, … */
int sl__type_from_name(const char *name, uint8_t *ret_type);

#endif
