/*
 * decode.c - the JSON event decoder (decode.h): validation, projection and conversion in one
 * pass over the payload.
 *
 * Shape. The parser is a loop over an explicit stack of at most 64 frames (one per open
 * object or array), so no input can exhaust the C stack; the 65th opening bracket is
 * too_deep. Each frame carries the projection node it is in: the columns' paths, merged into
 * a small trie at sl_decoder_new, say which member names and array indexes lead to a
 * column. Outside the trie the parser still validates every byte but builds nothing.
 *
 * Strings are scanned 16 bytes at a time with SSE2 for '"', '\\', control bytes and
 * non-ASCII bytes; non-ASCII is then validated as UTF-8 (Unicode Table 3-7: no overlong
 * forms, no surrogates, nothing above U+10FFFF) by a scalar step. A string without escapes
 * is used in place; one with escapes is unescaped into the caller's scratch only when
 * something needs its bytes (a projected value, or a member name, which is compared
 * unescaped). The scratch never overflows: an unescaped string is never longer than its
 * escaped text, and the caller's scratch is as long as the payload.
 *
 * Duplicate member names, at any depth: every open object's names are on a member stack
 * (pointer, length, seeded hash). An object compares a new name with its previous ones
 * linearly while it has fewer than 16; from the 16th on it also indexes them in an
 * open-addressing table shared by the whole event, whose slots carry the event's
 * generation (so nothing is cleared between events) and the member's stack index (a slot is
 * only taken as a match if that index lies in the current object's range and the bytes
 * match, so stale slots of closed objects are harmless). A payload of n bytes has at most
 * n/5 + 2 member names, which sizes both arrays; they are mapped lazily at start-up, so a
 * decoder only ever touches as much as its largest event needed.
 *
 * Numbers are checked against the JSON grammar and for overflow of a double anywhere in the
 * document. Conversions work on the decimal digits: BIGINT and TIMESTAMP exactly (floor
 * toward -infinity for sub-millisecond parts), DOUBLE by the exact fast path (Clinger: at
 * most 19 digits, mantissa <= 2^53, power of ten <= 22) and otherwise strtod_l in the C
 * locale on a bounded copy of the digits (truncated past 780 significant digits with a
 * sticky digit, which keeps the rounding exact).
 *
 * Thread use: one decoder per thread; everything here is reentrant otherwise.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <emmintrin.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "../queries/plan.h"
#include "decode.h"
#include "options.h"
#include "timefmt.h"

#define MAX_DEPTH      64
#define LINEAR_MEMBERS 16 /* objects switch to the hash table at this many members */
#define MAX_SIG_DIGITS 780
#define TS_MIN_MS      (-62135596800000LL) /* 0001-01-01T00:00:00.000Z */
#define TS_MAX_MS      253402300799999LL   /* 9999-12-31T23:59:59.999Z */
#define EXP_SATURATE   1000000000000LL

/* --- projection trie -------------------------------------------------------------- */

struct pnode {
    int32_t kid;     /* first child, -1 */
    int32_t next;    /* next sibling, -1 */
    int32_t leaf;    /* first leaf (index in d->leaves), -1 */
    bool is_index;   /* reached by [index] rather than by member name */
    bool key_kids;   /* has children by member name */
    bool index_kids; /* has children by index */
    uint32_t index;
    uint32_t hash;
    uint32_t len;
    const char *key; /* into d->keys */
    int32_t kfirst;  /* children by member name: d->krefs[kfirst .. kfirst + kn) */
    int32_t kn;
    int32_t ifirst; /* children by index: d->irefs[ifirst .. ifirst + in) */
    int32_t in;
    uint64_t kbloom; /* one bit per child name's hash: most members are not projected */
};

/* The children of a node, flattened for the per-member lookup. */
struct kref {
    uint32_t hash;
    uint32_t len;
    const char *key;
    int32_t node;
};

struct iref {
    uint32_t index;
    int32_t node;
};

struct leaf {
    int32_t col;
    int32_t next;
};

struct member {
    const char *key;
    uint32_t len;
    uint32_t hash;
};

struct slot {
    uint32_t gen;
    uint32_t idx;
};

struct frame {
    int32_t node;  /* projection node of this container, -1: nothing projected inside */
    uint32_t base; /* object: first member of this object on the member stack */
    uint32_t n;    /* members / elements so far */
    bool is_obj;
    bool hashed;
    uint64_t bloom; /* object: one bit per member name's hash, to skip the linear scan */
    int32_t guess;  /* object: index of the projected child expected next */
};

struct sl_decoder {
    int ncols;
    int wm_col;
    int ts_format;
    size_t max_bytes;
    uint64_t seed;
    locale_t c_locale;

    struct pnode *nodes;
    int nnodes;
    struct leaf *leaves;
    struct kref *krefs;
    struct iref *irefs;
    char *keys;
    uint8_t *col_type;  /* per column: enum sl_type */
    uint8_t *col_check; /* per column: 1 not null, 2 event time */
    int32_t *checks;    /* projected columns that must not end NULL */
    int nchecks;
    struct sl_value *tmpl; /* the row before decoding: NULL of each column's type */

    struct member *members; /* member stack */
    size_t members_cap;
    size_t members_map; /* bytes mapped */
    struct slot *slots;
    size_t slots_cap; /* power of two */
    size_t slots_map;
    uint32_t gen;
};

/* Per-call state, on the stack of sl_decode. */
struct ctx {
    struct sl_decoder *d;
    const unsigned char *end;
    char *sp;   /* scratch: next free byte */
    size_t len; /* of the payload */
    struct sl_value *row;
    int conv_err;   /* first conversion problem, if any */
    uint32_t mtop;  /* member stack top */
    uint32_t smask; /* this event's slot table mask; 0: not sized yet */
};

static const char *const reject_names[SL_REJECT__COUNT] = {
    [SL_REJECT_NONE] = "none",
    [SL_REJECT_NOT_JSON] = "not_json",
    [SL_REJECT_TRUNCATED] = "truncated",
    [SL_REJECT_NOT_OBJECT] = "not_object",
    [SL_REJECT_TRAILING_DATA] = "trailing_data",
    [SL_REJECT_INVALID_UTF8] = "invalid_utf8",
    [SL_REJECT_DUPLICATE_KEY] = "duplicate_key",
    [SL_REJECT_TOO_DEEP] = "too_deep",
    [SL_REJECT_TOO_LARGE] = "too_large",
    [SL_REJECT_BAD_NUMBER] = "bad_number",
    [SL_REJECT_BAD_VALUE] = "bad_value",
    [SL_REJECT_OUT_OF_RANGE] = "out_of_range",
    [SL_REJECT_NULL_NOT_ALLOWED] = "null_not_allowed",
    [SL_REJECT_BAD_EVENT_TIME] = "bad_event_time",
};

const char *sl_reject_name(int reason)
{
    if (reason < 0 && reason > -SL_REJECT__COUNT) {
        reason = -reason;
    }
    if (reason < 0 || reason >= SL_REJECT__COUNT) {
        return "unknown";
    }
    return reject_names[reason];
}

/* --- hashing ----------------------------------------------------------------------- */

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* A seeded wyhash-style hash of a member name. The seed is random per decoder so that a
 * producer cannot aim collisions at the table without seeing it. */
static inline uint32_t key_hash(uint64_t seed, const char *s, size_t n)
{
    uint64_t a, b;
    if (n > 16) {
        uint64_t h = seed ^ n;
        for (size_t i = 0; i + 16 < n; i += 16) {
            h = mix(load64(s + i) ^ 0xa0761d6478bd642fULL ^ h,
                    load64(s + i + 8) ^ 0xe7037ed1a0b428dbULL);
        }
        a = load64(s + n - 16) ^ h;
        b = load64(s + n - 8);
    } else if (n >= 8) {
        a = load64(s) ^ seed;
        b = load64(s + n - 8);
    } else if (n >= 4) {
        a = load32(s) ^ seed;
        b = load32(s + n - 4);
    } else if (n > 0) {
        a = ((uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[n >> 1] << 8 |
             (unsigned char)s[n - 1]) ^
            seed;
        b = 0;
    } else {
        a = seed;
        b = 0;
    }
    return (uint32_t)mix(a ^ 0x8ebc6af09c88c6e3ULL, b ^ n ^ 0x589965cc75374cc3ULL);
}

/* --- building ---------------------------------------------------------------------- */

bool (*sl__decoder_alloc_fail)(void);

/* Every allocation of sl_decoder_new goes through here, so that a test can make any one of
 * them fail (sl__decoder_alloc_fail). */
static void *d_calloc(size_t n, size_t size)
{
    if (sl__decoder_alloc_fail != NULL && sl__decoder_alloc_fail()) {
        return NULL;
    }
    return calloc(n, size);
}

static void *map_lazy(size_t bytes)
{
    if (sl__decoder_alloc_fail != NULL && sl__decoder_alloc_fail()) {
        return NULL;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void sl_decoder_free(struct sl_decoder *d)
{
    if (d == NULL) {
        return;
    }
    if (d->members != NULL) {
        munmap(d->members, d->members_map);
    }
    if (d->slots != NULL) {
        munmap(d->slots, d->slots_map);
    }
    if (d->c_locale != (locale_t)0) {
        freelocale(d->c_locale);
    }
    free(d->nodes);
    free(d->leaves);
    free(d->krefs);
    free(d->irefs);
    free(d->keys);
    free(d->col_type);
    free(d->col_check);
    free(d->checks);
    free(d->tmpl);
    free(d);
}

static size_t max_members(size_t len)
{
    /* the shortest member is `"":0` plus a separator: 5 bytes */
    return len / 5 + 2;
}

static int32_t find_or_add_kid(struct sl_decoder *d, int32_t parent, const struct sl_path_seg *seg,
                               char **keyp)
{
    for (int32_t k = d->nodes[parent].kid; k >= 0; k = d->nodes[k].next) {
        struct pnode *n = &d->nodes[k];
        if (n->is_index != seg->is_index) {
            continue;
        }
        if (seg->is_index ? n->index == seg->index
                          : n->len == seg->len && memcmp(n->key, seg->key, seg->len) == 0) {
            return k;
        }
    }
    int32_t k = d->nnodes++;
    struct pnode *n = &d->nodes[k];
    *n = (struct pnode){.kid = -1, .next = d->nodes[parent].kid, .leaf = -1};
    n->is_index = seg->is_index;
    if (seg->is_index) {
        n->index = seg->index;
        d->nodes[parent].index_kids = true;
    } else {
        memcpy(*keyp, seg->key, seg->len);
        n->key = *keyp;
        n->len = seg->len;
        n->hash = key_hash(d->seed, n->key, n->len);
        *keyp += seg->len;
        d->nodes[parent].key_kids = true;
    }
    d->nodes[parent].kid = k;
    return k;
}

int sl_decoder_for_source(const struct sl_source *src, struct sl_decoder **ret,
                          size_t *ret_scratch_cap)
{
    int64_t max_msg = sl_options_int(&src->opts, "max_message_bytes", 1 << 20);
    const struct sl_opt_value *tf = sl_options_get(&src->opts, "timestamp_format");
    if (max_msg < 1) {
        max_msg = 1;
    }
    *ret_scratch_cap = (size_t)max_msg + 64;
    return sl_decoder_new(src, tf != NULL ? (int)tf->i : 0, (size_t)max_msg, ret);
}

int sl_decoder_new(const struct sl_source *src, int ts_format, size_t max_message_bytes,
                   struct sl_decoder **ret)
{
    if (ts_format < SL_TS_AUTO || ts_format > SL_TS_RFC3339 || src->ncols < 0) {
        return -EINVAL;
    }
    struct sl_decoder *d = d_calloc(1, sizeof(*d));
    int ncols = src->ncols;
    int r = -ENOMEM;
    if (d == NULL) {
        return -ENOMEM;
    }
    d->ncols = ncols;
    d->wm_col = src->wm_col;
    d->ts_format = ts_format;
    if (max_message_bytes < 1) {
        max_message_bytes = 1;
    }
    if (max_message_bytes > (size_t)1 << 31) {
        max_message_bytes = (size_t)1 << 31;
    }
    d->max_bytes = max_message_bytes;
    if (getrandom(&d->seed, sizeof(d->seed), GRND_NONBLOCK) != (ssize_t)sizeof(d->seed)) {
        d->seed = (uint64_t)(uintptr_t)d ^ 0x9e3779b97f4a7c15ULL;
    }
    d->c_locale = sl__decoder_alloc_fail != NULL && sl__decoder_alloc_fail()
                      ? (locale_t)0
                      : newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (d->c_locale == (locale_t)0) {
        goto fail;
    }

    /* The trie: at most one node per path segment, plus the root. */
    size_t nseg = 0, keybytes = 0;
    for (int i = 0; i < ncols; i++) {
        const struct sl_path *path = src->cols[i].path;
        if (path == NULL) {
            nseg++;
            keybytes += strlen(src->cols[i].name);
            continue;
        }
        nseg += (size_t)path->nsegs;
        for (int j = 0; j < path->nsegs; j++) {
            keybytes += path->segs[j].is_index ? 0 : path->segs[j].len;
        }
    }
    d->nodes = d_calloc(nseg + 1, sizeof(*d->nodes));
    d->leaves = d_calloc((size_t)ncols + 1, sizeof(*d->leaves));
    d->keys = d_calloc(keybytes + 1, 1);
    d->col_type = d_calloc((size_t)ncols + 1, 1);
    d->col_check = d_calloc((size_t)ncols + 1, 1);
    d->checks = d_calloc((size_t)ncols + 1, sizeof(*d->checks));
    d->tmpl = d_calloc((size_t)ncols + 1, sizeof(*d->tmpl));
    if (d->nodes == NULL || d->leaves == NULL || d->keys == NULL || d->col_type == NULL ||
        d->col_check == NULL || d->checks == NULL || d->tmpl == NULL) {
        goto fail;
    }
    d->nodes[0] = (struct pnode){.kid = -1, .next = -1, .leaf = -1};
    d->nnodes = 1;
    char *keyp = d->keys;
    int nleaves = 0;
    for (int i = 0; i < ncols; i++) {
        const struct sl_column *col = &src->cols[i];
        if (col->type < SL_TYPE_BOOLEAN || col->type > SL_TYPE_TIMESTAMP) {
            r = -EINVAL;
            goto fail;
        }
        d->col_type[i] = (uint8_t)col->type;
        d->tmpl[i] = sl_value_null(col->type);
        if (col->not_null) {
            d->col_check[i] = 1;
        }
        if (i == src->wm_col) {
            d->col_check[i] = 2;
        }
        if (!col->used && d->col_check[i] == 0) {
            continue;
        }
        if (d->col_check[i] != 0) {
            d->checks[d->nchecks++] = i;
        }
        int32_t node = 0;
        if (col->path == NULL) {
            struct sl_path_seg seg = {.len = (uint32_t)strlen(col->name), .key = col->name};
            node = find_or_add_kid(d, 0, &seg, &keyp);
        } else {
            for (int j = 0; j < col->path->nsegs; j++) {
                node = find_or_add_kid(d, node, &col->path->segs[j], &keyp);
            }
        }
        d->leaves[nleaves] = (struct leaf){.col = i, .next = d->nodes[node].leaf};
        d->nodes[node].leaf = nleaves++;
    }

    d->krefs = d_calloc((size_t)d->nnodes, sizeof(*d->krefs));
    d->irefs = d_calloc((size_t)d->nnodes, sizeof(*d->irefs));
    if (d->krefs == NULL || d->irefs == NULL) {
        goto fail;
    }
    int nk = 0, ni = 0;
    for (int32_t i = 0; i < d->nnodes; i++) {
        struct pnode *n = &d->nodes[i];
        n->kfirst = nk;
        n->ifirst = ni;
        for (int32_t k = n->kid; k >= 0; k = d->nodes[k].next) {
            const struct pnode *kid = &d->nodes[k];
            if (kid->is_index) {
                d->irefs[ni++] = (struct iref){.index = kid->index, .node = k};
            } else {
                d->krefs[nk++] =
                    (struct kref){.hash = kid->hash, .len = kid->len, .key = kid->key, .node = k};
                n->kbloom |= 1ULL << (kid->hash >> 26);
            }
        }
        /* the list was built by prepending: restore declaration order, which is most often
         * the order of the payload's members (match_key tries the next one first) */
        for (int32_t a = n->kfirst, b = nk - 1; a < b; a++, b--) {
            struct kref t = d->krefs[a];
            d->krefs[a] = d->krefs[b];
            d->krefs[b] = t;
        }
        n->kn = nk - n->kfirst;
        n->in = ni - n->ifirst;
    }

    d->members_cap = max_members(max_message_bytes);
    d->members_map = d->members_cap * sizeof(*d->members);
    d->members = map_lazy(d->members_map);
    size_t cap = 64;
    while (cap < 2 * d->members_cap) {
        cap *= 2;
    }
    d->slots_cap = cap;
    d->slots_map = cap * sizeof(*d->slots);
    d->slots = map_lazy(d->slots_map);
    if (d->members == NULL || d->slots == NULL) {
        goto fail;
    }
    d->gen = 1;
    *ret = d;
    return 0;
fail:
    sl_decoder_free(d);
    return r;
}

/* --- lexing helpers ---------------------------------------------------------------- */

static inline bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
    /* compact JSON has no whitespace: one compare decides */
    if (p < end && SL_LIKELY(*p > ' ')) {
        return p;
    }
    while (p < end && is_ws(*p)) {
        p++;
    }
    return p;
}

static inline int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Four hex digits at p (caller checked 4 bytes). Returns the code unit or -1. */
static inline int32_t hex4(const unsigned char *p)
{
    int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), e = hexval(p[3]);
    if ((a | b | c | e) < 0) {
        return -1;
    }
    return (a << 12) | (b << 8) | (c << 4) | e;
}

/* One UTF-8 sequence with a lead byte >= 0x80 at p. Returns its length, 0 if invalid, or -1
 * if the payload ends inside it. */
static inline int utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t avail = (size_t)(end - p);
    unsigned lo = 0x80, hi = 0xBF;
    int n;
    if (c < 0xC2) {
        return 0; /* continuation byte, or overlong 2-byte form */
    } else if (c < 0xE0) {
        n = 2;
    } else if (c < 0xF0) {
        n = 3;
        if (c == 0xE0) {
            lo = 0xA0; /* overlong */
        } else if (c == 0xED) {
            hi = 0x9F; /* surrogates */
        }
    } else if (c < 0xF5) {
        n = 4;
        if (c == 0xF0) {
            lo = 0x90; /* overlong */
        } else if (c == 0xF4) {
            hi = 0x8F; /* above U+10FFFF */
        }
    } else {
        return 0;
    }
    if (avail < 2) {
        return -1;
    }
    if (p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (int i = 2; i < n; i++) {
        if ((size_t)i >= avail) {
            return -1;
        }
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return n;
}

static inline char *put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Position of the first byte in [p, p+16) that is '"', '\\', < 0x20 or >= 0x80; 16 if none. */
static inline unsigned special16(const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    /* signed compare: 0x00-0x1F and 0x80-0xFF are both "less than 0x20" */
    __m128i c = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, b), c));
    return m == 0 ? 16 : (unsigned)__builtin_ctz(m);
}

struct str {
    const char *s;
    uint32_t len;
};

/*
 * Scans a string whose opening quote is at p[-1]. On success returns the byte after the
 * closing quote and fills *ret: the bytes in place, or (escaped and copy) unescaped in the
 * scratch, which then advances. Without copy, *ret is meaningless if the string had
 * escapes; *ret_esc says whether it had. On failure returns NULL and sets *ret_reason.
 */
static inline __attribute__((always_inline)) const unsigned char *
scan_string(struct ctx *c, const unsigned char *p, bool copy, struct str *ret, bool *ret_esc,
            int *ret_reason)
{
    const unsigned char *end = c->end;
    const unsigned char *start = p;
    char *o = NULL;
    const unsigned char *run = p; /* copy mode: start of the bytes not copied yet */
    bool esc = false;
    for (;;) {
        while (SL_LIKELY(end - p >= 16)) {
            unsigned k = special16(p);
            p += k;
            if (k < 16) {
                goto special;
            }
        }
        /* the last 15 bytes or fewer: scan a copy padded with a control byte */
        if (p < end) {
            unsigned char tail[16] = {0};
            memcpy(tail, p, (size_t)(end - p));
            unsigned k = special16(tail);
            if (k < (unsigned)(end - p)) {
                p += k;
                goto special;
            }
        }
        *ret_reason = SL_REJECT_TRUNCATED;
        return NULL;
    special:
        if (*p == '"') {
            break;
        }
        if (*p >= 0x80) {
            int n = utf8_len(p, end);
            if (n <= 0) {
                *ret_reason = n < 0 ? SL_REJECT_TRUNCATED : SL_REJECT_INVALID_UTF8;
                return NULL;
            }
            p += n;
            continue;
        }
        if (*p < 0x20) {
            *ret_reason = SL_REJECT_NOT_JSON; /* raw control character */
            return NULL;
        }
        /* backslash */
        if (copy && !esc) {
            o = c->sp;
        }
        if (copy) {
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
        }
        esc = true;
        if (end - p < 2) {
            *ret_reason = SL_REJECT_TRUNCATED;
            return NULL;
        }
        unsigned char e = p[1];
        uint32_t cp;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            cp = e;
            break;
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u': {
            if (end - p < 6) {
                *ret_reason = SL_REJECT_TRUNCATED;
                return NULL;
            }
            int32_t u = hex4(p + 2);
            if (u < 0) {
                *ret_reason = SL_REJECT_NOT_JSON;
                return NULL;
            }
            if (u == 0 || (u >= 0xDC00 && u <= 0xDFFF)) {
                *ret_reason = SL_REJECT_INVALID_UTF8;
                return NULL;
            }
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (end - p < 12) {
                    if (end - p >= 7 && p[6] != '\\') {
                        *ret_reason = SL_REJECT_INVALID_UTF8;
                    } else if (end - p >= 8 && p[7] != 'u') {
                        *ret_reason = SL_REJECT_INVALID_UTF8;
                    } else {
                        *ret_reason = SL_REJECT_TRUNCATED;
                    }
                    return NULL;
                }
                int32_t lo = p[6] == '\\' && p[7] == 'u' ? hex4(p + 8) : -2;
                if (lo == -1) {
                    *ret_reason = SL_REJECT_NOT_JSON;
                    return NULL;
                }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    *ret_reason = SL_REJECT_INVALID_UTF8;
                    return NULL;
                }
                cp = 0x10000 + (((uint32_t)u - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                p += 6;
            } else {
                cp = (uint32_t)u;
            }
            p += 4;
            break;
        }
        default:
            *ret_reason = SL_REJECT_NOT_JSON;
            return NULL;
        }
        p += 2;
        if (copy) {
            o = put_utf8(o, cp);
        }
        run = p;
    }
    /* p at the closing quote */
    if (!esc) {
        ret->s = (const char *)start;
        ret->len = (uint32_t)(p - start);
    } else if (copy) {
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
        ret->s = c->sp;
        ret->len = (uint32_t)(o - c->sp);
        c->sp = o;
    }
    *ret_esc = esc;
    return p + 1;
}

/* --- numbers ----------------------------------------------------------------------- */

struct num {
    const char *s; /* the number's text */
    uint32_t n;
    bool neg;
    bool integral_syntax; /* no fraction, no exponent */
    const char *ip;       /* integer digits */
    uint32_t ilen;
    const char *fp; /* fraction digits */
    uint32_t flen;
    int64_t exp;   /* explicit exponent, saturated at +-EXP_SATURATE */
    uint64_t mant; /* all ilen + flen digits as an integer, valid when <= 19 of them */
};

static inline char num_digit(const struct num *x, int64_t i)
{
    return i < x->ilen ? x->ip[i] : x->fp[i - x->ilen];
}

/* Eight ASCII digits at p? Then *ret their value. (SWAR, after Lemire's simdjson.) */
static inline bool eight_digits(const unsigned char *p, uint64_t *ret)
{
    uint64_t v;
    memcpy(&v, p, 8);
    if ((((v & 0xF0F0F0F0F0F0F0F0ULL) |
          (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) != 0x3333333333333333ULL)) {
        return false;
    }
    v -= 0x3030303030303030ULL;
    v = (v * 10) + (v >> 8);
    v = (((v & 0x000000FF000000FFULL) * 0x000F424000000064ULL) +
         (((v >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >>
        32;
    *ret = v;
    return true;
}

/*
 * Scans a number at p. lenient (for numeric strings) also takes a leading '+', leading
 * zeros, "1." and ".5". Returns the byte after it, or NULL with *ret_reason (not_json, or
 * truncated if the payload ends inside it). Does not check what follows.
 */
static inline __attribute__((always_inline)) const unsigned char *
scan_number(const unsigned char *p, const unsigned char *end, bool lenient, struct num *x,
            int *ret_reason)
{
    const unsigned char *s = p;
    uint64_t mant = 0;
    x->neg = false;
    x->exp = 0;
    x->flen = 0;
    x->fp = (const char *)p;
    if (p < end && (*p == '-' || (lenient && *p == '+'))) {
        x->neg = *p == '-';
        p++;
    }
    x->ip = (const char *)p;
    const unsigned char *d = p;
    uint64_t eight;
    while (end - p >= 8 && eight_digits(p, &eight)) {
        mant = mant * 100000000 + eight;
        p += 8;
    }
    while (p < end && (unsigned)(*p - '0') <= 9) {
        mant = mant * 10 + (unsigned)(*p - '0');
        p++;
    }
    x->ilen = (uint32_t)(p - d);
    if (!lenient && x->ilen > 1 && *d == '0') {
        *ret_reason = SL_REJECT_NOT_JSON; /* leading zero */
        return NULL;
    }
    if (x->ilen == 0 && !(lenient && p < end && *p == '.')) {
        *ret_reason = p == end ? SL_REJECT_TRUNCATED : SL_REJECT_NOT_JSON;
        return NULL;
    }
    if (p < end && *p == '.') {
        p++;
        x->fp = (const char *)p;
        d = p;
        while (end - p >= 8 && eight_digits(p, &eight)) {
            mant = mant * 100000000 + eight;
            p += 8;
        }
        while (p < end && (unsigned)(*p - '0') <= 9) {
            mant = mant * 10 + (unsigned)(*p - '0');
            p++;
        }
        x->flen = (uint32_t)(p - d);
        if (x->flen == 0 && !(lenient && x->ilen > 0)) {
            *ret_reason = p == end ? SL_REJECT_TRUNCATED : SL_REJECT_NOT_JSON;
            return NULL;
        }
    }
    x->integral_syntax = true;
    if (x->flen > 0 || (const char *)p > x->ip + x->ilen) {
        x->integral_syntax = false;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        x->integral_syntax = false;
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        d = p;
        int64_t e = 0;
        while (p < end && (unsigned)(*p - '0') <= 9) {
            if (e < EXP_SATURATE) {
                e = e * 10 + (*p - '0');
            }
            p++;
        }
        if (p == d) {
            *ret_reason = p == end ? SL_REJECT_TRUNCATED : SL_REJECT_NOT_JSON;
            return NULL;
        }
        x->exp = eneg ? -e : e;
    }
    x->mant = mant; /* garbage when more than 19 digits; callers check ilen + flen */
    x->s = (const char *)s;
    x->n = (uint32_t)(p - s);
    return p;
}

/* Index of the first nonzero digit among the ilen + flen digits, or -1 if all are zero. */
static int64_t first_sig(const struct num *x)
{
    int64_t nd = (int64_t)x->ilen + x->flen;
    for (int64_t i = 0; i < nd; i++) {
        if (num_digit(x, i) != '0') {
            return i;
        }
    }
    return -1;
}

/* Decimal magnitude: the value is in [10^mag, 10^(mag+1)); false if it is zero. */
static bool num_mag(const struct num *x, int64_t *ret_mag)
{
    int64_t f;
    if (x->ilen + x->flen <= 19) {
        if (x->mant == 0) {
            return false;
        }
        /* digits of mant, minus leading zeros, locate the first significant digit */
        int64_t nd = (int64_t)x->ilen + x->flen, sig = 1;
        for (uint64_t m = x->mant; m >= 10; m /= 10) {
            sig++;
        }
        f = nd - sig;
    } else {
        f = first_sig(x);
        if (f < 0) {
            return false;
        }
    }
    *ret_mag = (int64_t)x->ilen - f - 1 + x->exp;
    return true;
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The double nearest the number (round half to even); +-inf on overflow. */
static double num_to_double(const struct sl_decoder *d, const struct num *x)
{
    uint32_t nd = x->ilen + x->flen;
    if (nd <= 19 && x->mant <= (1ULL << 53)) {
        int64_t e = x->exp - x->flen;
        double m = (double)x->mant;
        if (e >= -22 && e <= 22) {
            double v = e >= 0 ? m * pow10_exact[e] : m / pow10_exact[-e];
            return x->neg ? -v : v;
        }
    }
    /* Slow path: "-0.DDDDe<E>" with at most MAX_SIG_DIGITS digits and a sticky digit. */
    char buf[MAX_SIG_DIGITS + 48];
    char *o = buf;
    int64_t f = first_sig(x);
    if (f < 0) {
        return x->neg ? -0.0 : 0.0;
    }
    int64_t mag = (int64_t)x->ilen - f - 1 + x->exp;
    if (mag > 400) {
        return x->neg ? -HUGE_VAL : HUGE_VAL;
    }
    if (mag < -400) {
        return x->neg ? -0.0 : 0.0;
    }
    if (x->neg) {
        *o++ = '-';
    }
    *o++ = '0';
    *o++ = '.';
    int64_t i = f;
    for (; i < nd && i - f < MAX_SIG_DIGITS; i++) {
        *o++ = num_digit(x, i);
    }
    for (; i < nd; i++) {
        if (num_digit(x, i) != '0') {
            *o++ = '1';
            break;
        }
    }
    *o++ = 'e';
    int64_t e10 = mag + 1;
    if (e10 < 0) {
        *o++ = '-';
        e10 = -e10;
    }
    char tmp[24];
    int t = 0;
    do {
        tmp[t++] = (char)('0' + e10 % 10);
        e10 /= 10;
    } while (e10 > 0);
    while (t > 0) {
        *o++ = tmp[--t];
    }
    *o = '\0';
    return strtod_l(buf, NULL, d->c_locale);
}

/* Does the number overflow a double? Callers first rule out ilen + exp <= 308, which
 * cannot (the value is then below 10^308). */
static bool num_overflows(const struct sl_decoder *d, const struct num *x)
{
    int64_t mag;
    if (!num_mag(x, &mag) || mag < 308) {
        return false;
    }
    if (mag > 308) {
        return true;
    }
    double v = num_to_double(d, x);
    return v == HUGE_VAL || v == -HUGE_VAL;
}

enum { INT_OK, INT_OVERFLOW };

/*
 * |value| * 10^scale, truncated to an integer: *ret_abs, and *ret_inexact whether a nonzero
 * digit was dropped. INT_OVERFLOW if the integer part is 2^63 or more (except -2^63 exactly,
 * which ret_abs can hold and callers check).
 */
static int num_scaled(const struct num *x, int scale, uint64_t *ret_abs, bool *ret_inexact)
{
    int64_t nd = (int64_t)x->ilen + x->flen;
    /* fast: integer syntax, at most 18 digits */
    if (x->integral_syntax && nd <= 18 && scale >= 0) {
        uint64_t v = x->mant;
        for (int i = 0; i < scale; i++) {
            if (v > UINT64_MAX / 10) {
                return INT_OVERFLOW;
            }
            v *= 10;
        }
        if (v > (1ULL << 63)) {
            return INT_OVERFLOW;
        }
        *ret_abs = v;
        *ret_inexact = false;
        return INT_OK;
    }
    int64_t f = first_sig(x);
    if (f < 0) {
        *ret_abs = 0;
        *ret_inexact = false;
        return INT_OK;
    }
    /* digits [0, point) form the integer part after scaling */
    int64_t point = (int64_t)x->ilen + x->exp + scale;
    if (point - f > 20) {
        return INT_OVERFLOW;
    }
    uint64_t v = 0;
    for (int64_t i = f; i < point; i++) {
        unsigned dg = i < nd ? (unsigned)(num_digit(x, i) - '0') : 0;
        if (v > (UINT64_MAX - dg) / 10) {
            return INT_OVERFLOW;
        }
        v = v * 10 + dg;
    }
    if (v > (1ULL << 63)) {
        return INT_OVERFLOW;
    }
    bool inexact = false;
    for (int64_t i = point > f ? point : f; i < nd; i++) {
        if (num_digit(x, i) != '0') {
            inexact = true;
            break;
        }
    }
    *ret_abs = v;
    *ret_inexact = inexact;
    return INT_OK;
}

/* BIGINT from a number: 0 and *ret, or a reason. */
static int num_to_bigint(const struct num *x, int64_t *ret)
{
    uint64_t a;
    bool inexact;
    if (num_scaled(x, 0, &a, &inexact) != INT_OK) {
        return SL_REJECT_OUT_OF_RANGE;
    }
    if (inexact) {
        return SL_REJECT_BAD_VALUE; /* 3.5 */
    }
    if (x->neg) {
        *ret = a == (1ULL << 63) ? INT64_MIN : -(int64_t)a;
        return 0;
    }
    if (a > (uint64_t)INT64_MAX) {
        return SL_REJECT_OUT_OF_RANGE;
    }
    *ret = (int64_t)a;
    return 0;
}

/* TIMESTAMP ms from an epoch number: 0 and *ret, or a reason. */
static int num_to_ts(int ts_format, const struct num *x, int64_t *ret)
{
    int scale;
    uint64_t a;
    bool inexact;
    switch (ts_format) {
    case SL_TS_EPOCH_S:
        scale = 3;
        break;
    case SL_TS_EPOCH_MS:
        scale = 0;
        break;
    case SL_TS_EPOCH_US:
        scale = -3;
        break;
    case SL_TS_AUTO:
        /* |x| > 1e11: milliseconds */
        if (x->integral_syntax && x->ilen <= 15) {
            /* the common case: an integer of at most 15 digits */
            int64_t v = (int64_t)x->mant;
            if (v <= 100000000000LL) {
                v *= 1000;
            }
            v = x->neg ? -v : v;
            if (v < TS_MIN_MS || v > TS_MAX_MS) {
                return SL_REJECT_OUT_OF_RANGE;
            }
            *ret = v;
            return 0;
        }
        if (num_scaled(x, 0, &a, &inexact) != INT_OK) {
            return SL_REJECT_OUT_OF_RANGE;
        }
        scale = (a > 100000000000ULL || (a == 100000000000ULL && inexact)) ? 0 : 3;
        break;
    default:
        return SL_REJECT_BAD_VALUE; /* rfc3339: numbers refused */
    }
    if (num_scaled(x, scale, &a, &inexact) != INT_OK) {
        return SL_REJECT_OUT_OF_RANGE;
    }
    /* floor toward -infinity */
    if (x->neg) {
        if (a > (uint64_t)-TS_MIN_MS || (a == (uint64_t)-TS_MIN_MS && inexact)) {
            return SL_REJECT_OUT_OF_RANGE;
        }
        *ret = -(int64_t)a - (inexact ? 1 : 0);
        return 0;
    }
    if (a > (uint64_t)TS_MAX_MS) {
        return SL_REJECT_OUT_OF_RANGE;
    }
    *ret = (int64_t)a;
    return 0;
}

/* --- conversions ------------------------------------------------------------------- */

enum vkind { V_STRING, V_NUMBER, V_TRUE, V_FALSE, V_NULL, V_CONTAINER };

static inline void conv_fail(struct ctx *c, int col, int reason)
{
    if (c->conv_err == 0) {
        c->conv_err = c->d->col_check[col] == 2 ? SL_REJECT_BAD_EVENT_TIME : reason;
    }
}

/* A numeric string's number, which must span all of s. */
static bool str_number(const struct str *s, bool integer_only, struct num *x)
{
    const unsigned char *p = (const unsigned char *)s->s, *end = p + s->len;
    int reason;
    const unsigned char *q = scan_number(p, end, true, x, &reason);
    if (q == NULL || q != end) {
        return false;
    }
    return !integer_only || x->integral_syntax;
}

static inline __attribute__((always_inline)) void convert(struct ctx *c, int32_t leaf, enum vkind k,
                                                          const struct str *s, const struct num *x)
{
    const struct sl_decoder *d = c->d;
    for (; leaf >= 0; leaf = d->leaves[leaf].next) {
        int col = d->leaves[leaf].col;
        struct sl_value *v = &c->row[col];
        int r = 0;
        struct num sx;
        if (k == V_NULL) {
            continue; /* stays NULL; NOT NULL is checked at the end */
        }
        switch (d->col_type[col]) {
        case SL_TYPE_BOOLEAN:
            if (k == V_TRUE || k == V_FALSE) {
                *v = sl_value_bool(k == V_TRUE);
            } else {
                r = SL_REJECT_BAD_VALUE;
            }
            break;
        case SL_TYPE_BIGINT:
            if (k == V_NUMBER || (k == V_STRING && str_number(s, true, &sx))) {
                int64_t i;
                r = num_to_bigint(k == V_NUMBER ? x : &sx, &i);
                if (r == 0) {
                    *v = sl_value_bigint(i);
                }
            } else {
                r = SL_REJECT_BAD_VALUE;
            }
            break;
        case SL_TYPE_DOUBLE:
            if (k == V_NUMBER || (k == V_STRING && str_number(s, false, &sx))) {
                double f = num_to_double(d, k == V_NUMBER ? x : &sx);
                if (f == HUGE_VAL || f == -HUGE_VAL) {
                    r = SL_REJECT_OUT_OF_RANGE; /* only strings get here: see num_overflows */
                } else {
                    *v = sl_value_double(f);
                }
            } else {
                r = SL_REJECT_BAD_VALUE;
            }
            break;
        case SL_TYPE_TEXT:
            if (k == V_STRING) {
                *v = sl_value_text(s->s, s->len);
            } else if (k == V_NUMBER) {
                *v = sl_value_text(x->s, x->n);
            } else if (k == V_TRUE) {
                *v = sl_value_text("true", 4);
            } else if (k == V_FALSE) {
                *v = sl_value_text("false", 5);
            } else {
                r = SL_REJECT_BAD_VALUE;
            }
            break;
        case SL_TYPE_TIMESTAMP: {
            int64_t ms = 0;
            if (k == V_NUMBER) {
                r = num_to_ts(d->ts_format, x, &ms);
            } else if (k == V_STRING) {
                if (sl_parse_rfc3339(s->s, s->len, &ms) != 0) {
                    r = SL_REJECT_BAD_VALUE;
                } else if (ms < TS_MIN_MS || ms > TS_MAX_MS) {
                    r = SL_REJECT_OUT_OF_RANGE; /* 0001-01-01T00:00:00+01:00 */
                }
            } else {
                r = SL_REJECT_BAD_VALUE;
            }
            if (r == 0) {
                *v = sl_value_ts(ms);
            }
            break;
        }
        default:
            r = SL_REJECT_BAD_VALUE;
            break;
        }
        if (r != 0) {
            conv_fail(c, col, r);
        }
    }
}

/* --- member names ------------------------------------------------------------------ */

/* Equal bytes; n is short in practice, where a call to memcmp costs more than the loop. */
static inline bool eq_bytes(const char *a, const char *b, uint32_t n)
{
    if (n >= 8) {
        if (n > 16) {
            return memcmp(a, b, n) == 0;
        }
        return ((load64(a) ^ load64(b)) | (load64(a + n - 8) ^ load64(b + n - 8))) == 0;
    }
    if (n >= 4) {
        return ((load32(a) ^ load32(b)) | (load32(a + n - 4) ^ load32(b + n - 4))) == 0;
    }
    return n == 0 || (a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1]);
}

static inline bool same_key(const struct member *m, const char *k, uint32_t len, uint32_t h)
{
    return m->hash == h && m->len == len && eq_bytes(m->key, k, len);
}

/* Inserts member idx into the table, which has no entry equal to it in its object. */
static inline void slot_insert(struct ctx *c, uint32_t idx)
{
    struct sl_decoder *d = c->d;
    uint32_t pos = d->members[idx].hash & c->smask;
    while (d->slots[pos].gen == d->gen) {
        pos = (pos + 1) & c->smask;
    }
    d->slots[pos].gen = d->gen;
    d->slots[pos].idx = idx;
}

/* Adds a member name to the innermost object; false if it is already there. */
static inline bool add_member(struct ctx *c, struct frame *fr, const char *k, uint32_t len,
                              uint32_t h)
{
    struct sl_decoder *d = c->d;
    struct member *m = d->members;
    uint32_t base = fr->base;
    if (!fr->hashed) {
        uint64_t bit = 1ULL << (h >> 26);
        if (fr->bloom & bit) {
            for (uint32_t i = base; i < c->mtop; i++) {
                if (same_key(&m[i], k, len, h)) {
                    return false;
                }
            }
        }
        fr->bloom |= bit;
    } else {
        for (uint32_t pos = h & c->smask; d->slots[pos].gen == d->gen; pos = (pos + 1) & c->smask) {
            uint32_t i = d->slots[pos].idx;
            if (i >= base && i < c->mtop && same_key(&m[i], k, len, h)) {
                return false;
            }
        }
    }
    uint32_t idx = c->mtop++;
    m[idx] = (struct member){.key = k, .len = len, .hash = h};
    fr->n++;
    if (fr->hashed) {
        slot_insert(c, idx);
    } else if (fr->n == LINEAR_MEMBERS) {
        if (c->smask == 0) {
            /* First big object of this event: a table at least twice the event's bound on
             * names (within d->slots_cap); slots of older events are ignored by generation. */
            size_t need = 64;
            while (need < 2 * max_members(c->len)) {
                need *= 2;
            }
            c->smask = (uint32_t)(need - 1);
        }
        fr->hashed = true;
        for (uint32_t i = base; i < c->mtop; i++) {
            slot_insert(c, i);
        }
    }
    return true;
}

/* --- the parser -------------------------------------------------------------------- */

/* The child of fr's node named k, or -1. Tries the child after the last one matched in
 * this object first. */
static inline int32_t match_key(const struct sl_decoder *d, struct frame *fr, const char *k,
                                uint32_t len, uint32_t h)
{
    const struct pnode *n = &d->nodes[fr->node];
    if (!(n->kbloom & (1ULL << (h >> 26)))) {
        return -1;
    }
    const struct kref *kr = d->krefs + n->kfirst;
    int32_t g = fr->guess < n->kn ? fr->guess : 0;
    for (int32_t j = 0; j < n->kn; j++) {
        int32_t i = g + j < n->kn ? g + j : g + j - n->kn;
        if (kr[i].hash == h && kr[i].len == len && eq_bytes(kr[i].key, k, len)) {
            fr->guess = i + 1;
            return kr[i].node;
        }
    }
    return -1;
}

static inline int32_t match_index(const struct sl_decoder *d, int32_t node, uint32_t index)
{
    const struct pnode *n = &d->nodes[node];
    const struct iref *ir = d->irefs + n->ifirst;
    for (int32_t i = 0; i < n->in; i++) {
        if (ir[i].index == index) {
            return ir[i].node;
        }
    }
    return -1;
}

static int first_byte_reason(unsigned char ch)
{
    if (ch == '[' || ch == '"' || ch == '-' || (ch >= '0' && ch <= '9') || ch == 't' || ch == 'f' ||
        ch == 'n') {
        return SL_REJECT_NOT_OBJECT;
    }
    return SL_REJECT_NOT_JSON;
}

static inline bool literal(const unsigned char *p, const unsigned char *end, const char *lit,
                           size_t n, int *ret_reason)
{
    size_t avail = (size_t)(end - p);
    if (avail < n) {
        *ret_reason = memcmp(p, lit, avail) == 0 ? SL_REJECT_TRUNCATED : SL_REJECT_NOT_JSON;
        return false;
    }
    if (memcmp(p, lit, n) != 0) {
        *ret_reason = SL_REJECT_NOT_JSON;
        return false;
    }
    return true;
}

int sl_decode(struct sl_decoder *d, const char *buf, size_t len, struct sl_value *row,
              char *scratch, size_t scratch_cap)
{
    if (len > d->max_bytes || scratch_cap < len) {
        return -SL_REJECT_TOO_LARGE;
    }
    if (d->ncols > 0) {
        memcpy(row, d->tmpl, sizeof(*row) * (size_t)d->ncols);
    }
    const unsigned char *p = (const unsigned char *)buf;
    const unsigned char *end = p + len;
    struct ctx c = {.d = d, .end = end, .sp = scratch, .len = len, .row = row};
    struct frame st[MAX_DEPTH];
    int depth = 0;
    int reason = 0;
    int32_t node; /* projection node of the value about to be parsed, -1: none */
    struct frame *fr;

    p = skip_ws(p, end);
    if (p == end) {
        return -SL_REJECT_NOT_JSON;
    }
    if (*p != '{') {
        return -first_byte_reason(*p);
    }
    if (SL_UNLIKELY(++d->gen == 0)) {
        /* once in 2^32 events: forget every slot (fresh zero pages, nothing resident) */
        if (madvise(d->slots, d->slots_map, MADV_DONTNEED) != 0) {
            memset(d->slots, 0, d->slots_map);
        }
        d->gen = 1;
    }
    node = 0;
    goto object;

value:
    /* p at the first byte of a value (after whitespace); node is its projection node */
    if (SL_UNLIKELY(p == end)) {
        goto truncated;
    }
    switch (*p) {
    case '"': {
        struct str s;
        bool esc;
        bool want = node >= 0 && d->nodes[node].leaf >= 0;
        p = scan_string(&c, p + 1, want, &s, &esc, &reason);
        if (p == NULL) {
            return -reason;
        }
        if (want) {
            convert(&c, d->nodes[node].leaf, V_STRING, &s, NULL);
        }
        break;
    }
    case '{':
    object:
        if (node >= 0 && d->nodes[node].leaf >= 0) {
            convert(&c, d->nodes[node].leaf, V_CONTAINER, NULL, NULL); /* path '$' */
        }
        if (depth == MAX_DEPTH) {
            return -SL_REJECT_TOO_DEEP;
        }
        fr = &st[depth++];
        fr->node = node >= 0 && d->nodes[node].key_kids ? node : -1;
        fr->base = c.mtop;
        fr->n = 0;
        fr->is_obj = true;
        fr->hashed = false;
        fr->bloom = 0;
        fr->guess = 0;
        p = skip_ws(p + 1, end);
        if (p == end) {
            goto truncated;
        }
        if (*p == '}') {
            goto close;
        }
        goto member;
    case '[':
        if (node >= 0 && d->nodes[node].leaf >= 0) {
            convert(&c, d->nodes[node].leaf, V_CONTAINER, NULL, NULL);
        }
        if (depth == MAX_DEPTH) {
            return -SL_REJECT_TOO_DEEP;
        }
        fr = &st[depth++];
        fr->node = node >= 0 && d->nodes[node].index_kids ? node : -1;
        fr->n = 0;
        fr->is_obj = false;
        p = skip_ws(p + 1, end);
        if (p == end) {
            goto truncated;
        }
        if (*p == ']') {
            goto close;
        }
        node = fr->node >= 0 ? match_index(d, fr->node, 0) : -1;
        goto value;
    case 't':
        if (!literal(p, end, "true", 4, &reason)) {
            return -reason;
        }
        if (node >= 0 && d->nodes[node].leaf >= 0) {
            convert(&c, d->nodes[node].leaf, V_TRUE, NULL, NULL);
        }
        p += 4;
        break;
    case 'f':
        if (!literal(p, end, "false", 5, &reason)) {
            return -reason;
        }
        if (node >= 0 && d->nodes[node].leaf >= 0) {
            convert(&c, d->nodes[node].leaf, V_FALSE, NULL, NULL);
        }
        p += 5;
        break;
    case 'n':
        if (!literal(p, end, "null", 4, &reason)) {
            return -reason;
        }
        p += 4;
        break;
    default: {
        struct num x;
        p = scan_number(p, end, false, &x, &reason);
        if (p == NULL) {
            return -reason;
        }
        if (SL_UNLIKELY((int64_t)x.ilen + x.exp > 308) && num_overflows(d, &x)) {
            return -SL_REJECT_BAD_NUMBER;
        }
        if (node >= 0 && d->nodes[node].leaf >= 0) {
            convert(&c, d->nodes[node].leaf, V_NUMBER, NULL, &x);
        }
        break;
    }
    }

    /* after a value: ',' or the end of the container */
    p = skip_ws(p, end);
    if (SL_UNLIKELY(p == end)) {
        goto truncated;
    }
    fr = &st[depth - 1];
    if (*p == ',') {
        p = skip_ws(p + 1, end);
        if (fr->is_obj) {
            goto member;
        }
        fr->n++;
        node = fr->node >= 0 ? match_index(d, fr->node, fr->n) : -1;
        goto value;
    }
    if (*p != (fr->is_obj ? '}' : ']')) {
        return -SL_REJECT_NOT_JSON;
    }

close:
    /* p at the closing bracket of st[depth - 1] */
    fr = &st[--depth];
    if (fr->is_obj) {
        c.mtop = fr->base;
    }
    p++;
    if (depth == 0) {
        p = skip_ws(p, end);
        if (p != end) {
            return -SL_REJECT_TRAILING_DATA;
        }
        goto done;
    }
    p = skip_ws(p, end);
    if (SL_UNLIKELY(p == end)) {
        goto truncated;
    }
    fr = &st[depth - 1];
    if (*p == ',') {
        p = skip_ws(p + 1, end);
        if (fr->is_obj) {
            goto member;
        }
        fr->n++;
        node = fr->node >= 0 ? match_index(d, fr->node, fr->n) : -1;
        goto value;
    }
    if (*p != (fr->is_obj ? '}' : ']')) {
        return -SL_REJECT_NOT_JSON;
    }
    goto close;

member:
    /* p at the first byte of a member name (after whitespace); fr is its object */
    if (SL_UNLIKELY(p == end)) {
        goto truncated;
    }
    if (*p != '"') {
        return -SL_REJECT_NOT_JSON;
    }
    {
        struct str k;
        bool esc;
        p = scan_string(&c, p + 1, true, &k, &esc, &reason);
        if (p == NULL) {
            return -reason;
        }
        uint32_t h = key_hash(d->seed, k.s, k.len);
        if (!add_member(&c, fr, k.s, k.len, h)) {
            return -SL_REJECT_DUPLICATE_KEY;
        }
        node = fr->node >= 0 ? match_key(d, fr, k.s, k.len, h) : -1;
    }
    p = skip_ws(p, end);
    if (SL_UNLIKELY(p == end)) {
        goto truncated;
    }
    if (*p != ':') {
        return -SL_REJECT_NOT_JSON;
    }
    p = skip_ws(p + 1, end);
    goto value;

truncated:
    return -SL_REJECT_TRUNCATED;

done:
    if (c.conv_err != 0) {
        return -c.conv_err;
    }
    for (int i = 0; i < d->nchecks; i++) {
        int col = d->checks[i];
        if (row[col].null) {
            return d->col_check[col] == 2 ? -SL_REJECT_BAD_EVENT_TIME : -SL_REJECT_NULL_NOT_ALLOWED;
        }
    }
    return 0;
}
