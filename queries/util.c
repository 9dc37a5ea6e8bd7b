/*
 * util.c - small helpers of the front end: the AST arena, did-you-mean suggestions,
 * durations in and out, and type names.
 *
 * Suggestions use sl_edit_distance (options.h), so that every did-you-mean of Sluice agrees.
 *
 * The arena hands out zeroed memory in 64 KiB blocks (larger requests get their own block);
 * everything is released at once by sl__arena_fini at the end of a load, which is what makes
 * the parser's error recovery (longjmp to the next statement) leak-free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "front_int.h"

struct sl__arena_blk {
    struct sl__arena_blk *next;
    size_t used, cap;
    max_align_t data[];
};

#define ARENA_BLOCK (64u << 10)

void *sl__arena_alloc(struct sl__arena *a, size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    struct sl__arena_blk *b = a->head;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = calloc(1, sizeof(*b) + cap);
        if (b == NULL) {
            abort();
        }
        b->cap = cap;
        if (n > ARENA_BLOCK && a->head != NULL) {
            /* a big block goes second so the current block keeps serving small requests */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

char *sl__arena_strndup(struct sl__arena *a, const char *s, size_t n)
{
    char *d = sl__arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void sl__arena_fini(struct sl__arena *a)
{
    struct sl__arena_blk *b = a->head;
    while (b != NULL) {
        struct sl__arena_blk *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

const char *sl__suggest(const char *word, const char *const *cands, int n)
{
    size_t len = strlen(word);
    int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    int best = limit + 1;
    const char *pick = NULL;
    for (int i = 0; i < n; i++) {
        if (cands[i] == NULL) {
            continue;
        }
        int dist = sl_edit_distance(word, cands[i]);
        if (dist < best) {
            best = dist;
            pick = cands[i];
        }
    }
    if (pick != NULL) {
        return pick;
    }
    /* no close spelling: the longest candidate of 3+ letters that begins the word or that the
     * word begins ('temprature' -> 'temp', 'hum' -> 'humidity') */
    size_t plen = 0;
    for (int i = 0; i < n; i++) {
        if (cands[i] == NULL) {
            continue;
        }
        size_t cl = strlen(cands[i]);
        size_t m = cl < len ? cl : len;
        if (m >= 3 && m > plen && strncasecmp(word, cands[i], m) == 0) {
            plen = m;
            pick = cands[i];
        }
    }
    return pick;
}

void sl__fmt_dur(int64_t ms, char *buf, size_t cap)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    if (ms == 0) {
        snprintf(buf, cap, "0s");
        return;
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(units); i++) {
        if (ms % units[i].ms == 0) {
            snprintf(buf, cap, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    }
    snprintf(buf, cap, "%lldms", (long long)ms);
}

static const struct {
    const char *name;
    int64_t ms;
} interval_units[] = {
    {"MILLISECOND", 1},     {"MILLISECONDS", 1}, {"SECOND", 1000},    {"SECONDS", 1000},
    {"MINUTE", 60000},      {"MINUTES", 60000},  {"HOUR", 3600000},   {"HOURS", 3600000},
    {"DAY", 86400000},      {"DAYS", 86400000},
};

int sl__interval_ms(const char *s, const char *unit, int64_t *ret_ms, struct sl_err *err)
{
    if (unit == NULL) {
        int64_t ms;
        if (sl_parse_duration(s, &ms) < 0) {
            return sl_err_set(err, -EINVAL,
                              "bad interval '%s': expected a number and a unit, like "
                              "INTERVAL '10s', '500ms', '5m', '1h', '1d', or INTERVAL '10' "
                              "SECOND",
                              s);
        }
        *ret_ms = ms;
        return 0;
    }
    int64_t mult = 0;
    for (size_t i = 0; i < SL_ARRAY_LEN(interval_units); i++) {
        if (strcasecmp(unit, interval_units[i].name) == 0) {
            mult = interval_units[i].ms;
        }
    }
    if (mult == 0) {
        return sl_err_set(err, -EINVAL,
                          "unknown interval unit '%s': expected MILLISECOND, SECOND, MINUTE, "
                          "HOUR or DAY",
                          unit);
    }
    /* [+-]digits[.digits], exactly: the result must be a whole number of milliseconds */
    const char *p = s;
    while (*p == ' ') {
        p++;
    }
    bool neg = false;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    int64_t mant = 0, scale = 1;
    int digits = 0;
    bool frac = false;
    for (; *p != '\0'; p++) {
        if (*p == '.' && !frac) {
            frac = true;
            continue;
        }
        if (*p < '0' || *p > '9') {
            break;
        }
        digits++;
        if (__builtin_mul_overflow(mant, 10, &mant) || __builtin_add_overflow(mant, *p - '0', &mant)) {
            goto range;
        }
        if (frac && __builtin_mul_overflow(scale, 10, &scale)) {
            goto range;
        }
    }
    while (*p == ' ') {
        p++;
    }
    if (digits == 0 || *p != '\0') {
        return sl_err_set(err, -EINVAL,
                          "bad interval '%s': expected a number, like INTERVAL '10' %s", s,
                          unit);
    }
    int64_t ms;
    if (__builtin_mul_overflow(mant, mult, &ms)) {
        goto range;
    }
    if (ms % scale != 0) {
        return sl_err_set(err, -EINVAL,
                          "interval '%s' %s is not a whole number of milliseconds", s, unit);
    }
    ms /= scale;
    *ret_ms = neg ? -ms : ms;
    return 0;
range:
    return sl_err_set(err, -ERANGE, "interval '%s' %s is out of range", s, unit);
}

static const struct {
    const char *name;
    uint8_t type;
} type_names[] = {
    {"BOOLEAN", SL_TYPE_BOOLEAN},  {"BOOL", SL_TYPE_BOOLEAN},    {"BIGINT", SL_TYPE_BIGINT},
    {"INT", SL_TYPE_BIGINT},       {"INTEGER", SL_TYPE_BIGINT},  {"DOUBLE", SL_TYPE_DOUBLE},
    {"FLOAT", SL_TYPE_DOUBLE},     {"REAL", SL_TYPE_DOUBLE},     {"TEXT", SL_TYPE_TEXT},
    {"VARCHAR", SL_TYPE_TEXT},     {"STRING", SL_TYPE_TEXT},     {"TIMESTAMP", SL_TYPE_TIMESTAMP},
};

int sl__type_from_name(const char *name, uint8_t *ret_type)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(type_names); i++) {
        if (strcasecmp(name, type_names[i].name) == 0) {
            *ret_type = type_names[i].type;
            return 0;
        }
    }
    return -EINVAL;
}
