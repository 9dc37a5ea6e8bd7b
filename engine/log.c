/*
 * log.c - the engine's log lines, text or JSON, one write(2) per line (see log.h).
 *
 * Configuration lives in relaxed atomics set at start-up; formatting uses only the caller's
 * stack, so logging threads share nothing but the descriptor and, for sl_log_keyed, the key
 * table's mutex. Timestamps are formatted here from the clock's milliseconds (no gmtime, no
 * locale, no lock).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "format.h"
#include "log.h"

_Atomic int sl__log_level = SL_LOG_INFO;
static _Atomic int log_format = SL_LOG_TEXT;
static _Atomic int log_fd = 2;
static _Atomic int progress_fd = -1;
static _Atomic(sl_log_clock_fn) log_clock; /* NULL: sl_now_ms */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void sl_log_configure(enum sl_log_level level, enum sl_log_format format, int fd)
{
    atomic_store_explicit(&sl__log_level, (int)level, memory_order_relaxed);
    atomic_store_explicit(&log_format, (int)format, memory_order_relaxed);
    atomic_store_explicit(&log_fd, fd, memory_order_relaxed);
}

enum sl_log_format sl_log_format_get(void)
{
    return (enum sl_log_format)atomic_load_explicit(&log_format, memory_order_relaxed);
}

void sl_log_set_clock(sl_log_clock_fn clock)
{
    atomic_store_explicit(&log_clock, clock, memory_order_relaxed);
}

void sl__log_set_progress_fd(int fd)
{
    atomic_store_explicit(&progress_fd, fd, memory_order_relaxed);
}

static int64_t log_now(void)
{
    sl_log_clock_fn clock = atomic_load_explicit(&log_clock, memory_order_relaxed);
    return clock != NULL ? clock() : sl_now_ms();
}

int sl_log_level_parse(const char *s, enum sl_log_level *ret_level)
{
    static const struct {
        const char *name;
        enum sl_log_level level;
    } names[] = {{"error", SL_LOG_ERROR},
                 {"warn", SL_LOG_WARN},
                 {"warning", SL_LOG_WARN},
                 {"info", SL_LOG_INFO},
                 {"debug", SL_LOG_DEBUG}};
    for (size_t i = 0; s != NULL && i < SL_ARRAY_LEN(names); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *ret_level = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

int sl_log_format_parse(const char *s, enum sl_log_format *ret_format)
{
    if (s != NULL && strcasecmp(s, "text") == 0) {
        *ret_format = SL_LOG_TEXT;
        return 0;
    }
    if (s != NULL && strcasecmp(s, "json") == 0) {
        *ret_format = SL_LOG_JSON;
        return 0;
    }
    return -EINVAL;
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm, proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *ret_y = (int64_t)yoe + era * 400 + (m <= 2);
    *ret_m = m;
    *ret_d = d;
}

int sl_log_format_time(int64_t ms, char *buf, size_t cap)
{
    const int64_t lo = -62167219200000LL; /* 0000-01-01T00:00:00.000Z */
    const int64_t hi = 253402300799999LL; /* 9999-12-31T23:59:59.999Z */
    ms = ms < lo ? lo : ms > hi ? hi : ms;
    int64_t days = sl_floor_div(ms, 86400000);
    int64_t rem = sl_floor_mod(ms, 86400000);
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    return snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", (int)y, mo, d,
                    (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
                    (int)(rem % 1000));
}

/* A line being built in a fixed buffer; writes stop at `limit`, leaving room for the tail. */
struct line {
    char p[SL_LOG_LINE_MAX];
    size_t len;
    size_t limit;
    int cut;
};

static void line_put(struct line *l, const char *s, size_t n)
{
    if (l->len + n > l->limit) {
        l->cut = 1;
        return;
    }
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void line_puts(struct line *l, const char *s)
{
    line_put(l, s, strlen(s));
}

/* Appends s escaped for the format; stops (and marks the line cut) at the first unit that
 * would pass the limit, so no escape sequence or UTF-8 character is ever split. */
static void line_put_escaped(struct line *l, const char *s, int json)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n > 0 && !l->cut) {
        size_t k = sl_utf8_seq(p, n);
        char esc[8];
        if (k == 0) {
            line_put(l, "\xef\xbf\xbd", 3);
            p++, n--;
            continue;
        }
        unsigned c = *p;
        if (c == '\n') {
            line_put(l, "\\n", 2);
        } else if (c == '\t') {
            line_put(l, "\\t", 2);
        } else if (c == '\r') {
            line_put(l, "\\r", 2);
        } else if (json && c == '"') {
            line_put(l, "\\\"", 2);
        } else if (json && c == '\\') {
            line_put(l, "\\\\", 2);
        } else if (c < 0x20 || (!json && c == 0x7f)) {
            snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x", c);
            line_puts(l, esc);
        } else {
            line_put(l, (const char *)p, k);
        }
        p += k, n -= k;
    }
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return; /* nowhere to report a failing log */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void emit(enum sl_log_level level, const char *component, const char *suffix,
                 const char *fmt, va_list ap) SL_PRINTF(4, 0);

static void emit(enum sl_log_level level, const char *component, const char *suffix,
                 const char *fmt, va_list ap)
{
    int saved_errno = errno;
    char msg[SL_LOG_LINE_MAX];
    if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
        snprintf(msg, sizeof(msg), "(unformattable message: %s)", fmt);
    }
    if ((unsigned)level >= SL_ARRAY_LEN(level_names)) {
        level = SL_LOG_ERROR;
    }
    int fd = atomic_load_explicit(&log_fd, memory_order_relaxed);
    int json = atomic_load_explicit(&log_format, memory_order_relaxed) == SL_LOG_JSON;
    char ts[32];
    sl_log_format_time(log_now(), ts, sizeof(ts));
    if (component == NULL) {
        component = "sluice";
    }
    if (suffix == NULL) {
        suffix = "";
    }

    struct line l;
    l.len = 0;
    l.cut = 0;
    l.limit = sizeof(l.p);
    if (fd == atomic_load_explicit(&progress_fd, memory_order_relaxed)) {
        line_puts(&l, "\r\033[K");
    }
    /* Room kept for the suffix, the "..." of a cut message, the closing "} and the newline. */
    size_t tail = strlen(suffix) + 8;
    if (tail > sizeof(l.p) / 2) {
        suffix = "";
        tail = 8;
    }
    l.limit = sizeof(l.p) - tail;
    if (json) {
        line_puts(&l, "{\"ts\":\"");
        line_puts(&l, ts);
        line_puts(&l, "\",\"level\":\"");
        line_puts(&l, level_names[level]);
        line_puts(&l, "\",\"component\":\"");
        line_put_escaped(&l, component, 1);
        line_puts(&l, "\",\"msg\":\"");
        line_put_escaped(&l, msg, 1);
    } else {
        line_puts(&l, ts);
        line_puts(&l, " ");
        line_puts(&l, level_names[level]);
        line_puts(&l, &"     "[strlen(level_names[level])]); /* pad the level to 5 + 1 */
        line_puts(&l, " ");
        line_put_escaped(&l, component, 0);
        line_puts(&l, ": ");
        line_put_escaped(&l, msg, 0);
    }
    int cut = l.cut;
    l.cut = 0;
    l.limit = sizeof(l.p);
    if (cut) {
        line_puts(&l, "...");
    }
    line_put_escaped(&l, suffix, json);
    line_puts(&l, json ? "\"}\n" : "\n");
    write_all(fd, l.p, l.len);
    errno = saved_errno;
}

void sl_log_v(enum sl_log_level level, const char *component, const char *fmt, va_list ap)
{
    if (!sl_log_enabled(level)) {
        return;
    }
    emit(level, component, NULL, fmt, ap);
}

void sl_log(enum sl_log_level level, const char *component, const char *fmt, ...)
{
    if (!sl_log_enabled(level)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    emit(level, component, NULL, fmt, ap);
    va_end(ap);
}

static void emit_with_count(enum sl_log_level level, const char *component, uint64_t dropped,
                            const char *fmt, va_list ap) SL_PRINTF(4, 0);

static void emit_with_count(enum sl_log_level level, const char *component, uint64_t dropped,
                            const char *fmt, va_list ap)
{
    char suffix[48] = "";
    if (dropped > 0) {
        snprintf(suffix, sizeof(suffix), " (%llu more suppressed)", (unsigned long long)dropped);
    }
    emit(level, component, suffix, fmt, ap);
}

void sl_log_limited(struct sl_log_limit *lim, int interval_s, enum sl_log_level level,
                    const char *component, const char *fmt, ...)
{
    if (!sl_log_enabled(level)) {
        return;
    }
    int64_t now = log_now();
    /* Relaxed throughout: the limiter orders nothing but itself; the CAS elects one writer. */
    int64_t next = atomic_load_explicit(&lim->next_ms, memory_order_relaxed);
    if (now < next || !atomic_compare_exchange_strong_explicit(
                          &lim->next_ms, &next, now + (int64_t)interval_s * 1000,
                          memory_order_relaxed, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&lim->suppressed, 1, memory_order_relaxed);
        return;
    }
    uint64_t dropped = atomic_exchange_explicit(&lim->suppressed, 0, memory_order_relaxed);
    va_list ap;
    va_start(ap, fmt);
    emit_with_count(level, component, dropped, fmt, ap);
    va_end(ap);
}

struct key_slot {
    char key[64];
    int64_t next_ms;
    uint64_t suppressed;
    int used;
};

static pthread_mutex_t keys_mu = PTHREAD_MUTEX_INITIALIZER;
static struct key_slot keys[SL_LOG_KEYS];

void sl_log_keyed(const char *key, int interval_s, enum sl_log_level level, const char *component,
                  const char *fmt, ...)
{
    if (!sl_log_enabled(level)) {
        return;
    }
    char k[sizeof(keys[0].key)];
    snprintf(k, sizeof(k), "%s", key != NULL ? key : "");
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = k; *p; p++) {
        h = (h ^ (unsigned char)*p) * 16777619u;
    }
    int64_t now = log_now();
    uint64_t dropped = 0;
    int speak = 0;

    pthread_mutex_lock(&keys_mu);
    struct key_slot *slot = NULL;
    for (size_t i = 0; i < 8 && slot == NULL; i++) {
        struct key_slot *s = &keys[(h + i) % SL_LOG_KEYS];
        if (!s->used || strcmp(s->key, k) == 0) {
            slot = s;
        }
    }
    if (slot == NULL) {
        slot = &keys[h % SL_LOG_KEYS]; /* full: take over another key's slot */
        slot->used = 0;
    }
    if (!slot->used) {
        memcpy(slot->key, k, sizeof(k));
        slot->used = 1;
        slot->next_ms = INT64_MIN;
        slot->suppressed = 0;
    }
    if (now >= slot->next_ms) {
        speak = 1;
        dropped = slot->suppressed;
        slot->suppressed = 0;
        slot->next_ms = now + (int64_t)interval_s * 1000;
    } else {
        slot->suppressed++;
    }
    pthread_mutex_unlock(&keys_mu);

    if (speak) {
        va_list ap;
        va_start(ap, fmt);
        emit_with_count(level, component, dropped, fmt, ap);
        va_end(ap);
    }
}
