/*
 * metrics.c - the metrics registry and its Prometheus text rendering (see metrics.h).
 *
 * The registry is a sorted array of families, each a sorted array of series, each a list of
 * parts: cells (written by their owner thread without locks) or render-time callbacks. The
 * mutex guards the arrays and lists only; cells are read with relaxed atomic loads. Names are
 * validated and label values sanitised and escaped once, at registration, so rendering is a
 * walk that formats numbers.
 */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "metrics.h"

enum kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

static const char *const kind_names[] = {"counter", "gauge", "histogram"};

struct part {
    struct part *next;
    void *cell; /* struct sl_counter / sl_gauge / sl_histogram, or NULL for a callback */
    sl_metrics_fn fn;
    void *ud;
};

struct series {
    char *inner; /* escaped labels without braces, sorted by name: a="x",b="y"; "" if none */
    size_t nlabels;
    char **names;  /* sanitised copies, sorted by name */
    char **values; /* sanitised, unescaped copies */
    struct part *parts;
};

struct family {
    char *name;
    char *help; /* escaped for the HELP line */
    enum kind kind;
    size_t nbounds;
    double bounds[SL_HISTOGRAM_MAX_BOUNDS];
    struct series **series; /* sorted by inner */
    size_t nseries, cap;
};

struct sl_metrics {
    pthread_mutex_t mu;
    struct family **fams; /* sorted by name */
    size_t nfams, cap;
};

/* ---- growable text buffer ---- */

struct buf {
    char *p;
    size_t len, cap;
    int failed;
};

static int buf_reserve(struct buf *b, size_t more)
{
    if (b->failed) {
        return -ENOMEM;
    }
    if (b->len + more + 1 <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) {
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = 1;
        return -ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    b->p[b->len] = '\0';
    return 0;
}

static void buf_put(struct buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0) {
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_putc(struct buf *b, char c)
{
    buf_put(b, &c, 1);
}

/* ---- names, UTF-8 and escaping ---- */

static int is_name_start(int c, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static int is_name_char(int c, int colon)
{
    return is_name_start(c, colon) || (c >= '0' && c <= '9');
}

static int valid_name(const char *s, int colon)
{
    if (s == NULL || !is_name_start((unsigned char)s[0], colon)) {
        return 0;
    }
    for (const char *p = s + 1; *p; p++) {
        if (!is_name_char((unsigned char)*p, colon)) {
            return 0;
        }
    }
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Appends s with invalid UTF-8 replaced by U+FFFD and, if esc_quote, '"' escaped; '\\' and
 * newline are always escaped (the rules of HELP text and label values). */
static void buf_put_escaped(struct buf *b, const char *s, int esc_quote)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n > 0) {
        size_t k = sl_utf8_seq(p, n);
        if (k == 0) {
            buf_puts(b, "\xef\xbf\xbd");
            p++, n--;
            continue;
        }
        if (*p == '\\') {
            buf_puts(b, "\\\\");
        } else if (*p == '\n') {
            buf_puts(b, "\\n");
        } else if (*p == '"' && esc_quote) {
            buf_puts(b, "\\\"");
        } else {
            buf_put(b, (const char *)p, k);
        }
        p += k, n -= k;
    }
}

/* A malloc'd copy of s with invalid UTF-8 replaced by U+FFFD, unescaped. */
static char *utf8_dup(const char *s)
{
    struct buf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    buf_reserve(&b, n);
    while (n > 0) {
        size_t k = sl_utf8_seq(p, n);
        if (k == 0) {
            buf_puts(&b, "\xef\xbf\xbd");
            p++, n--;
            continue;
        }
        buf_put(&b, (const char *)p, k);
        p += k, n -= k;
    }
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

int sl_metrics_format_double(double v, char *buf, size_t cap)
{
    int n;
    if (isnan(v)) {
        n = snprintf(buf, cap, "NaN");
    } else if (isinf(v)) {
        n = snprintf(buf, cap, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) <= 9007199254740992.0) {
        n = snprintf(buf, cap, "%" PRId64, (int64_t)v);
    } else {
        /* snprintf and strtod follow the same locale, so the round trip is checked in the
         * locale's notation; the decimal point is normalised to '.' afterwards. */
        n = 0;
        for (int prec = 15; prec <= 17; prec++) {
            n = snprintf(buf, cap, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) {
                break;
            }
        }
        for (char *p = buf; *p; p++) {
            if (*p == ',') {
                *p = '.';
            }
        }
    }
    return n;
}

/* ---- registry ---- */

int sl_metrics_new(struct sl_metrics **ret_m)
{
    struct sl_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_init(&m->mu, NULL);
    *ret_m = m;
    return 0;
}

static void series_free(struct series *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nlabels; i++) {
        free(s->names ? s->names[i] : NULL);
        free(s->values ? s->values[i] : NULL);
    }
    free(s->names);
    free(s->values);
    free(s->inner);
    struct part *p = s->parts;
    while (p != NULL) {
        struct part *next = p->next;
        free(p->cell);
        free(p);
        p = next;
    }
    free(s);
}

static void family_free(struct family *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->nseries; i++) {
        series_free(f->series[i]);
    }
    free(f->series);
    free(f->name);
    free(f->help);
    free(f);
}

void sl_metrics_free(struct sl_metrics *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->nfams; i++) {
        family_free(m->fams[i]);
    }
    free(m->fams);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Builds a series (not yet linked) from labels: validated, sorted by name, sanitised. */
static int series_build(enum kind kind, const struct sl_label *labels, size_t nlabels,
                        struct series **ret_s, struct sl_err *err)
{
    const struct sl_label *sorted[64];
    if (nlabels > SL_ARRAY_LEN(sorted)) {
        return sl_err_set(err, -EINVAL, "too many labels (%zu, at most %zu)", nlabels,
                          SL_ARRAY_LEN(sorted));
    }
    for (size_t i = 0; i < nlabels; i++) {
        const struct sl_label *l = &labels[i];
        if (!valid_name(l->name, 0) || strncmp(l->name, "__", 2) == 0) {
            return sl_err_set(err, -EINVAL,
                              "invalid label name '%s': expected [a-zA-Z_][a-zA-Z0-9_]* not "
                              "starting with '__'",
                              l->name ? l->name : "(null)");
        }
        if (kind == KIND_HISTOGRAM && strcmp(l->name, "le") == 0) {
            return sl_err_set(err, -EINVAL, "label name 'le' is reserved in a histogram");
        }
        if (l->value == NULL) {
            return sl_err_set(err, -EINVAL, "label '%s' has no value", l->name);
        }
        /* insertion sort by name */
        size_t j = i;
        while (j > 0 && strcmp(sorted[j - 1]->name, l->name) > 0) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        if (j > 0 && strcmp(sorted[j - 1]->name, l->name) == 0) {
            return sl_err_set(err, -EINVAL, "label '%s' given twice", l->name);
        }
        sorted[j] = l;
    }

    struct series *s = calloc(1, sizeof(*s));
    struct buf b = {0};
    if (s == NULL) {
        goto fail;
    }
    buf_reserve(&b, 0);
    if (nlabels > 0) {
        s->names = calloc(nlabels, sizeof(char *));
        s->values = calloc(nlabels, sizeof(char *));
        if (s->names == NULL || s->values == NULL) {
            goto fail;
        }
    }
    s->nlabels = nlabels;
    for (size_t i = 0; i < nlabels; i++) {
        s->names[i] = strdup(sorted[i]->name);
        s->values[i] = utf8_dup(sorted[i]->value);
        if (s->names[i] == NULL || s->values[i] == NULL) {
            goto fail;
        }
        if (i > 0) {
            buf_putc(&b, ',');
        }
        buf_puts(&b, sorted[i]->name);
        buf_puts(&b, "=\"");
        buf_put_escaped(&b, sorted[i]->value, 1);
        buf_putc(&b, '"');
    }
    if (b.failed) {
        goto fail;
    }
    s->inner = b.p;
    *ret_s = s;
    return 0;
fail:
    free(b.p);
    series_free(s);
    return sl_err_set(err, -ENOMEM, "out of memory registering a metric");
}

/* Index of the first element >= key in a sorted array of n entries, via cmp(i). */
#define LOWER_BOUND(n, cmp_expr, ret)                                                              \
    do {                                                                                           \
        size_t lo_ = 0, hi_ = (n);                                                                 \
        while (lo_ < hi_) {                                                                        \
            size_t i = lo_ + (hi_ - lo_) / 2;                                                      \
            if ((cmp_expr) < 0) {                                                                  \
                lo_ = i + 1;                                                                       \
            } else {                                                                               \
                hi_ = i;                                                                           \
            }                                                                                      \
        }                                                                                          \
        (ret) = lo_;                                                                               \
    } while (0)

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL) {
        return -ENOMEM;
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Finds or creates the family; m->mu held. */
static int family_get(struct sl_metrics *m, enum kind kind, const char *name, const char *help,
                      const double *bounds, size_t nbounds, struct family **ret_f,
                      struct sl_err *err)
{
    size_t at;
    LOWER_BOUND(m->nfams, strcmp(m->fams[i]->name, name), at);
    if (at < m->nfams && strcmp(m->fams[at]->name, name) == 0) {
        struct family *f = m->fams[at];
        if (f->kind != kind) {
            return sl_err_set(err, -EINVAL, "metric '%s' is already registered as a %s", name,
                              kind_names[f->kind]);
        }
        if (kind == KIND_HISTOGRAM &&
            (f->nbounds != nbounds || memcmp(f->bounds, bounds, nbounds * sizeof(double)))) {
            return sl_err_set(err, -EINVAL,
                              "histogram '%s' is already registered with other buckets", name);
        }
        *ret_f = f;
        return 0;
    }
    if (grow((void **)&m->fams, &m->cap, m->nfams, sizeof(*m->fams)) < 0) {
        return sl_err_set(err, -ENOMEM, "out of memory registering a metric");
    }
    struct family *f = calloc(1, sizeof(*f));
    struct buf hb = {0};
    if (f == NULL) {
        goto fail;
    }
    buf_reserve(&hb, 0);
    buf_put_escaped(&hb, help ? help : "", 0);
    f->name = strdup(name);
    f->help = hb.p;
    if (f->name == NULL || hb.failed) {
        goto fail;
    }
    f->kind = kind;
    f->nbounds = nbounds;
    if (nbounds > 0) {
        memcpy(f->bounds, bounds, nbounds * sizeof(double));
    }
    memmove(&m->fams[at + 1], &m->fams[at], (m->nfams - at) * sizeof(*m->fams));
    m->fams[at] = f;
    m->nfams++;
    *ret_f = f;
    return 0;
fail:
    if (f == NULL) {
        free(hb.p);
    }
    family_free(f);
    return sl_err_set(err, -ENOMEM, "out of memory registering a metric");
}

static int register_part(struct sl_metrics *m, enum kind kind, const char *name, const char *help,
                         const struct sl_label *labels, size_t nlabels, const double *bounds,
                         size_t nbounds, struct part *part, struct sl_err *err)
{
    if (!valid_name(name, 1)) {
        return sl_err_set(err, -EINVAL,
                          "invalid metric name '%s': expected [a-zA-Z_:][a-zA-Z0-9_:]*",
                          name ? name : "(null)");
    }
    if (kind == KIND_COUNTER && !ends_with(name, "_total")) {
        return sl_err_set(err, -EINVAL, "counter name '%s' must end in '_total'", name);
    }
    if (kind != KIND_COUNTER && ends_with(name, "_total")) {
        return sl_err_set(err, -EINVAL, "only a counter name may end in '_total' ('%s')", name);
    }
    if (kind == KIND_HISTOGRAM &&
        (ends_with(name, "_bucket") || ends_with(name, "_sum") || ends_with(name, "_count"))) {
        return sl_err_set(err, -EINVAL,
                          "histogram name '%s' must not end in _bucket, _sum or _count", name);
    }
    if (nlabels > 0 && labels == NULL) {
        return sl_err_set(err, -EINVAL, "metric '%s': labels missing", name);
    }

    struct series *s;
    int r = series_build(kind, labels, nlabels, &s, err);
    if (r < 0) {
        return r;
    }

    pthread_mutex_lock(&m->mu);
    struct family *f = NULL;
    r = family_get(m, kind, name, help, bounds, nbounds, &f, err);
    if (r < 0) {
        goto out;
    }
    size_t at;
    LOWER_BOUND(f->nseries, strcmp(f->series[i]->inner, s->inner), at);
    if (at == f->nseries || strcmp(f->series[at]->inner, s->inner) != 0) {
        if (grow((void **)&f->series, &f->cap, f->nseries, sizeof(*f->series)) < 0) {
            r = sl_err_set(err, -ENOMEM, "out of memory registering a metric");
            goto out;
        }
        memmove(&f->series[at + 1], &f->series[at], (f->nseries - at) * sizeof(*f->series));
        f->series[at] = s;
        f->nseries++;
        s = NULL;
    }
    /* Append, so that parts are summed in registration order. */
    struct part **pp = &f->series[at]->parts;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = part;
out:
    pthread_mutex_unlock(&m->mu);
    series_free(s);
    return r;
}

static int register_cell(struct sl_metrics *m, enum kind kind, const char *name, const char *help,
                         const struct sl_label *labels, size_t nlabels, const double *bounds,
                         size_t nbounds, size_t cell_size, void **ret_cell, struct sl_err *err)
{
    struct part *part = calloc(1, sizeof(*part));
    void *cell = aligned_alloc(SL_CACHELINE, cell_size);
    if (part == NULL || cell == NULL) {
        free(part);
        free(cell);
        return sl_err_set(err, -ENOMEM, "out of memory registering a metric");
    }
    memset(cell, 0, cell_size);
    if (kind == KIND_HISTOGRAM) {
        struct sl_histogram *h = cell;
        h->nbounds = (uint32_t)nbounds;
        memcpy(h->bounds, bounds, nbounds * sizeof(double));
    }
    part->cell = cell;
    int r = register_part(m, kind, name, help, labels, nlabels, bounds, nbounds, part, err);
    if (r < 0) {
        free(cell);
        free(part);
        return r;
    }
    *ret_cell = cell;
    return 0;
}

int sl_metrics_counter_register(struct sl_metrics *m, const char *name, const char *help,
                                const struct sl_label *labels, size_t nlabels,
                                struct sl_counter **ret_c, struct sl_err *err)
{
    void *cell;
    int r = register_cell(m, KIND_COUNTER, name, help, labels, nlabels, NULL, 0,
                          sizeof(struct sl_counter), &cell, err);
    if (r == 0) {
        *ret_c = cell;
    }
    return r;
}

int sl_metrics_gauge_register(struct sl_metrics *m, const char *name, const char *help,
                              const struct sl_label *labels, size_t nlabels,
                              struct sl_gauge **ret_g, struct sl_err *err)
{
    void *cell;
    int r = register_cell(m, KIND_GAUGE, name, help, labels, nlabels, NULL, 0,
                          sizeof(struct sl_gauge), &cell, err);
    if (r == 0) {
        *ret_g = cell;
    }
    return r;
}

int sl_metrics_histogram_register(struct sl_metrics *m, const char *name, const char *help,
                                  const struct sl_label *labels, size_t nlabels,
                                  const double *bounds, size_t nbounds, struct sl_histogram **ret_h,
                                  struct sl_err *err)
{
    if (bounds == NULL || nbounds == 0 || nbounds > SL_HISTOGRAM_MAX_BOUNDS) {
        return sl_err_set(err, -EINVAL, "histogram '%s' needs 1 to %d bucket bounds",
                          name ? name : "(null)", SL_HISTOGRAM_MAX_BOUNDS);
    }
    for (size_t i = 0; i < nbounds; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
            return sl_err_set(err, -EINVAL,
                              "histogram '%s': bucket bounds must be finite and increasing",
                              name ? name : "(null)");
        }
    }
    void *cell;
    int r = register_cell(m, KIND_HISTOGRAM, name, help, labels, nlabels, bounds, nbounds,
                          sizeof(struct sl_histogram), &cell, err);
    if (r == 0) {
        *ret_h = cell;
    }
    return r;
}

static int register_fn(struct sl_metrics *m, enum kind kind, const char *name, const char *help,
                       const struct sl_label *labels, size_t nlabels, sl_metrics_fn fn, void *ud,
                       struct sl_err *err)
{
    if (fn == NULL) {
        return sl_err_set(err, -EINVAL, "metric '%s': no callback", name ? name : "(null)");
    }
    struct part *part = calloc(1, sizeof(*part));
    if (part == NULL) {
        return sl_err_set(err, -ENOMEM, "out of memory registering a metric");
    }
    part->fn = fn;
    part->ud = ud;
    int r = register_part(m, kind, name, help, labels, nlabels, NULL, 0, part, err);
    if (r < 0) {
        free(part);
    }
    return r;
}

int sl_metrics_gauge_fn_register(struct sl_metrics *m, const char *name, const char *help,
                                 const struct sl_label *labels, size_t nlabels, sl_metrics_fn fn,
                                 void *ud, struct sl_err *err)
{
    return register_fn(m, KIND_GAUGE, name, help, labels, nlabels, fn, ud, err);
}

int sl_metrics_counter_fn_register(struct sl_metrics *m, const char *name, const char *help,
                                   const struct sl_label *labels, size_t nlabels, sl_metrics_fn fn,
                                   void *ud, struct sl_err *err)
{
    return register_fn(m, KIND_COUNTER, name, help, labels, nlabels, fn, ud, err);
}

void sl_metrics_forget(struct sl_metrics *m, const void *ud)
{
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nfams; i++) {
        struct family *f = m->fams[i];
        size_t keep = 0;
        for (size_t j = 0; j < f->nseries; j++) {
            struct series *s = f->series[j];
            struct part **pp = &s->parts;
            while (*pp != NULL) {
                struct part *p = *pp;
                if (p->cell == NULL && p->ud == ud) {
                    *pp = p->next;
                    free(p);
                } else {
                    pp = &p->next;
                }
            }
            if (s->parts == NULL) {
                series_free(s);
            } else {
                f->series[keep++] = s;
            }
        }
        f->nseries = keep;
    }
    pthread_mutex_unlock(&m->mu);
}

/* ---- reading ---- */

/* Value of one counter or gauge series; *ret_exact is set when it is an exact integer sum of
 * counter cells. m->mu held. */
static double series_value(const struct family *f, const struct series *s, uint64_t *ret_u,
                           int *ret_exact)
{
    uint64_t u = 0;
    double d = 0;
    int exact = f->kind == KIND_COUNTER;
    for (const struct part *p = s->parts; p != NULL; p = p->next) {
        if (p->cell == NULL) {
            d += p->fn(p->ud);
            exact = 0;
        } else if (f->kind == KIND_COUNTER) {
            u += sl_counter_get(p->cell);
        } else if (f->kind == KIND_GAUGE) {
            d += sl_gauge_get(p->cell);
        } else {
            const struct sl_histogram *h = p->cell;
            for (size_t b = 0; b <= f->nbounds; b++) {
                u += sl__metrics_load_u64((_Atomic uint64_t *)&h->counts[b]);
            }
        }
    }
    if (ret_u != NULL) {
        *ret_u = u;
    }
    if (ret_exact != NULL) {
        *ret_exact = exact;
    }
    return d + (double)u;
}

static int series_matches(const struct series *s, const struct sl_label *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < s->nlabels && (strcmp(s->names[j], labels[i].name) != 0 ||
                                  strcmp(s->values[j], labels[i].value) != 0)) {
            j++;
        }
        if (j == s->nlabels) {
            return 0;
        }
    }
    return 1;
}

int sl_metrics_read(struct sl_metrics *m, const char *name, const struct sl_label *labels,
                    size_t nlabels, double *ret_v)
{
    int r = -ENOENT;
    double sum = 0;
    pthread_mutex_lock(&m->mu);
    size_t at;
    LOWER_BOUND(m->nfams, strcmp(m->fams[i]->name, name), at);
    if (at < m->nfams && strcmp(m->fams[at]->name, name) == 0) {
        struct family *f = m->fams[at];
        for (size_t j = 0; j < f->nseries; j++) {
            if (series_matches(f->series[j], labels, nlabels)) {
                sum += series_value(f, f->series[j], NULL, NULL);
                r = 0;
            }
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (r == 0) {
        *ret_v = sum;
    }
    return r;
}

/* ---- rendering ---- */

static void put_sample_name(struct buf *b, const char *name, const char *suffix, const char *inner,
                            const char *le)
{
    buf_puts(b, name);
    buf_puts(b, suffix);
    if (inner[0] != '\0' || le != NULL) {
        buf_putc(b, '{');
        buf_puts(b, inner);
        if (le != NULL) {
            if (inner[0] != '\0') {
                buf_putc(b, ',');
            }
            buf_puts(b, "le=\"");
            buf_puts(b, le);
            buf_putc(b, '"');
        }
        buf_putc(b, '}');
    }
    buf_putc(b, ' ');
}

static void put_u64_line(struct buf *b, uint64_t v)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%" PRIu64 "\n", v);
    buf_put(b, num, (size_t)n);
}

static void put_double_line(struct buf *b, double v)
{
    char num[40];
    sl_metrics_format_double(v, num, sizeof(num));
    buf_puts(b, num);
    buf_putc(b, '\n');
}

static void render_histogram(struct buf *b, const struct family *f, const struct series *s)
{
    uint64_t counts[SL_HISTOGRAM_MAX_BOUNDS + 1] = {0};
    double sum = 0;
    for (const struct part *p = s->parts; p != NULL; p = p->next) {
        struct sl_histogram *h = p->cell;
        for (size_t i = 0; i <= f->nbounds; i++) {
            counts[i] += sl__metrics_load_u64(&h->counts[i]);
        }
        sum += sl__metrics_bits_to_double(sl__metrics_load_u64(&h->sum_bits));
    }
    uint64_t cum = 0;
    for (size_t i = 0; i <= f->nbounds; i++) {
        char le[40];
        cum += counts[i];
        if (i < f->nbounds) {
            sl_metrics_format_double(f->bounds[i], le, sizeof(le));
        } else {
            snprintf(le, sizeof(le), "+Inf");
        }
        put_sample_name(b, f->name, "_bucket", s->inner, le);
        put_u64_line(b, cum);
    }
    put_sample_name(b, f->name, "_sum", s->inner, NULL);
    put_double_line(b, sum);
    put_sample_name(b, f->name, "_count", s->inner, NULL);
    put_u64_line(b, cum);
}

int sl_metrics_render(struct sl_metrics *m, char **ret_text, size_t *ret_len)
{
    struct buf b = {0};
    buf_reserve(&b, 4096);
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nfams; i++) {
        const struct family *f = m->fams[i];
        if (f->nseries == 0) {
            continue;
        }
        buf_puts(&b, "# HELP ");
        buf_puts(&b, f->name);
        buf_putc(&b, ' ');
        buf_puts(&b, f->help);
        buf_puts(&b, "\n# TYPE ");
        buf_puts(&b, f->name);
        buf_putc(&b, ' ');
        buf_puts(&b, kind_names[f->kind]);
        buf_putc(&b, '\n');
        for (size_t j = 0; j < f->nseries; j++) {
            const struct series *s = f->series[j];
            if (f->kind == KIND_HISTOGRAM) {
                render_histogram(&b, f, s);
                continue;
            }
            uint64_t u;
            int exact;
            double d = series_value(f, s, &u, &exact);
            put_sample_name(&b, f->name, "", s->inner, NULL);
            if (exact) {
                put_u64_line(&b, u);
            } else {
                put_double_line(&b, d);
            }
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (b.failed || b.p == NULL) {
        free(b.p);
        return -ENOMEM;
    }
    *ret_text = b.p;
    *ret_len = b.len;
    return 0;
}

/* ---- process metrics ---- */

/* Field i (0-based) of /proc/self/statm, in pages; -1 if unreadable. */
static double statm_field(int i)
{
    FILE *fp = fopen("/proc/self/statm", "re");
    if (fp == NULL) {
        return -1;
    }
    unsigned long v[2] = {0, 0};
    int n = fscanf(fp, "%lu %lu", &v[0], &v[1]);
    fclose(fp);
    if (n != 2) {
        return -1;
    }
    return (double)v[i] * (double)sysconf(_SC_PAGESIZE);
}

static double rss_bytes(void *ud)
{
    (void)ud;
    return statm_field(1);
}

static double vm_bytes(void *ud)
{
    (void)ud;
    return statm_field(0);
}

static double cpu_seconds(void *ud)
{
    (void)ud;
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
        return 0;
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double open_fds(void *ud)
{
    (void)ud;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        return -1;
    }
    double n = -1; /* the directory's own descriptor */
    while (readdir(d) != NULL) {
        n++;
    }
    closedir(d);
    return n - 2; /* "." and ".." */
}

int sl_metrics_process_register(struct sl_metrics *m, struct sl_err *err)
{
    struct sl_gauge *start, *info;
    int r;
    if ((r = sl_metrics_gauge_fn_register(m, "process_resident_memory_bytes",
                                          "Resident memory size in bytes.", SL_NO_LABELS, rss_bytes,
                                          NULL, err)) < 0 ||
        (r = sl_metrics_gauge_fn_register(m, "process_virtual_memory_bytes",
                                          "Virtual memory size in bytes.", SL_NO_LABELS, vm_bytes,
                                          NULL, err)) < 0 ||
        (r = sl_metrics_counter_fn_register(m, "process_cpu_seconds_total",
                                            "Total user and system CPU time spent in seconds.",
                                            SL_NO_LABELS, cpu_seconds, NULL, err)) < 0 ||
        (r = sl_metrics_gauge_fn_register(m, "process_open_fds", "Number of open file descriptors.",
                                          SL_NO_LABELS, open_fds, NULL, err)) < 0 ||
        (r = sl_metrics_gauge_register(m, "process_start_time_seconds",
                                       "Start time of the process since unix epoch in seconds.",
                                       SL_NO_LABELS, &start, err)) < 0 ||
        (r = sl_metrics_gauge_register(m, "sluice_build_info",
                                       "Always 1; the version of Sluice in a label.",
                                       SL_LABELS({"version", SL_VERSION}), &info, err)) < 0) {
        return r;
    }
    sl_gauge_set(start, (double)sl_now_ms() / 1000.0);
    sl_gauge_set(info, 1);
    return 0;
}
