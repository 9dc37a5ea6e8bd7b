/*
 * fuzz_decode.c - libFuzzer target for the JSON event decoder (engine/decode.c).
 *
 * Each input is decoded whole (the decoder has no streaming API) by seven decoders: one
 * projecting nothing, five projecting a mixed schema (one per timestamp_format), and one
 * with NOT NULL and WATERMARK columns; then its first half is decoded too. The payload is
 * an exactly-sized heap copy and the scratch is exactly as long as the payload, so ASan
 * sees any read past len or write past the scratch budget. Checked on every input:
 *  - the result is 0 or -(a known reason), and decoding twice gives the same result;
 *  - structural verdicts do not depend on projection: a structural reason from the
 *    projection-less decoder is returned by every decoder, and if it accepts, the others
 *    accept or report a conversion reason;
 *  - on success each value has its column's type; TEXT points into the payload or the
 *    scratch and is valid UTF-8 without NUL; DOUBLE is finite; TIMESTAMP is in 0001-9999.
 *
 * Built with -DSL_FUZZ=ON (clang). With SL_FUZZ_REPLAY it gets a main() that runs every
 * file of the directories (or files) on its command line, for ctest under gcc.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "queries/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDEC 7

struct fcol {
    const char *name;
    enum sl_type type;
    const char *path;
};

static const struct fcol fcols[] = {
    {"v", SL_TYPE_DOUBLE, "$.v"},
    {"t", SL_TYPE_TEXT, "$.t"},
    {"b", SL_TYPE_BOOLEAN, "$.b"},
    {"i", SL_TYPE_BIGINT, "$.i"},
    {"ts", SL_TYPE_TIMESTAMP, "$.ts"},
    {"site", SL_TYPE_TEXT, "$.meta.site"},
    {"l0", SL_TYPE_BIGINT, "$.list[0]"},
    {"l1", SL_TYPE_TEXT, "$.list[1]"},
    {"deep", SL_TYPE_TIMESTAMP, "$.a[0].b[1].c"},
    {"odd", SL_TYPE_TEXT, "$['odd.key']"},
    {"vt", SL_TYPE_TEXT, "$.v"},
    {"td", SL_TYPE_DOUBLE, "$.t"},
};
#define NFCOLS ((int)(sizeof(fcols) / sizeof(fcols[0])))

static struct sl_source srcs[NDEC];
static struct sl_decoder *decs[NDEC];

static void setup(void)
{
    for (int k = 0; k < NDEC; k++) {
        struct sl_source *src = &srcs[k];
        src->name = "fuzz";
        src->ncols = NFCOLS;
        src->wm_col = k == 6 ? 4 : -1;
        src->cols = calloc(NFCOLS, sizeof(struct sl_column));
        if (src->cols == NULL) {
            abort();
        }
        for (int i = 0; i < NFCOLS; i++) {
            struct sl_err err;
            src->cols[i].name = (char *)fcols[i].name;
            src->cols[i].type = fcols[i].type;
            src->cols[i].used = k != 0;
            src->cols[i].not_null = k == 6 && i == 1;
            if (sl_path_parse(fcols[i].path, &src->cols[i].path, &err) != 0) {
                abort();
            }
        }
        int tsf = k >= 1 && k <= 5 ? k - 1 : SL_TS_AUTO;
        if (sl_decoder_new(src, tsf, 1 << 20, &decs[k]) != 0) {
            abort();
        }
    }
}

static bool structural(int r)
{
    return r != 0 && r != -SL_REJECT_BAD_VALUE && r != -SL_REJECT_OUT_OF_RANGE &&
           r != -SL_REJECT_NULL_NOT_ALLOWED && r != -SL_REJECT_BAD_EVENT_TIME;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        uint32_t cp;
        size_t len;
        if (c == 0) {
            return false;
        } else if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) {
            return false;
        }
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += len;
    }
    return true;
}

static void check_row(const struct sl_source *src, const struct sl_value *row, const char *buf,
                      size_t len, const char *scratch, size_t cap)
{
    for (int i = 0; i < src->ncols; i++) {
        const struct sl_value *v = &row[i];
        if (v->type != src->cols[i].type || v->null > 1) {
            abort();
        }
        if (v->null) {
            if (src->wm_col == i || src->cols[i].not_null) {
                abort();
            }
            continue;
        }
        if (!src->cols[i].used && src->wm_col != i && !src->cols[i].not_null) {
            abort(); /* unprojected columns stay NULL */
        }
        switch (v->type) {
        case SL_TYPE_TEXT: {
            bool in_buf = v->u.s >= buf && v->len <= len && v->u.s <= buf + len - v->len;
            bool in_scr = v->u.s >= scratch && v->len <= cap && v->u.s <= scratch + cap - v->len;
            bool lit = v->len <= 5 && (memcmp(v->u.s, "true", v->len) == 0 ||
                                       memcmp(v->u.s, "false", v->len) == 0);
            if (!in_buf && !in_scr && !lit) {
                abort();
            }
            if (!valid_utf8((const unsigned char *)v->u.s, v->len)) {
                abort();
            }
            break;
        }
        case SL_TYPE_DOUBLE:
            if (!isfinite(v->u.d)) {
                abort();
            }
            break;
        case SL_TYPE_TIMESTAMP:
            if (v->u.i < -62135596800000LL || v->u.i > 253402300799999LL) {
                abort();
            }
            break;
        case SL_TYPE_BOOLEAN:
            if (v->u.b != true && v->u.b != false) {
                abort();
            }
            break;
        default:
            break;
        }
    }
}

static void one(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    char *scratch = malloc(size ? size : 1);
    struct sl_value row[NFCOLS];
    if (buf == NULL || scratch == NULL) {
        abort();
    }
    if (size > 0) {
        memcpy(buf, data, size);
    }
    int r0 = 0;
    for (int k = 0; k < NDEC; k++) {
        int r = sl_decode(decs[k], buf, size, row, scratch, size);
        if (r > 0 || r <= -SL_REJECT__COUNT || (r < 0 && r == -SL_REJECT_NONE)) {
            abort();
        }
        if (r == 0) {
            check_row(&srcs[k], row, buf, size, scratch, size);
        }
        if (sl_decode(decs[k], buf, size, row, scratch, size) != r) {
            abort();
        }
        if (k == 0) {
            r0 = r;
            if (r != 0 && !structural(r)) {
                abort(); /* nothing projected: only structural reasons */
            }
        } else if (structural(r0) ? r != r0 : structural(r)) {
            abort();
        }
    }
    free(buf);
    free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size > (1 << 20)) {
        return 0;
    }
    one(data, size);
    one(data, size / 2);
    return 0;
}

#ifdef SL_FUZZ_REPLAY
#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    fclose(f);
    LLVMFuzzerTestOneInput(b, n);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, errors = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            errors += run_file(argv[i]);
            files++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        struct dirent *de;
        while (dir != NULL && (de = readdir(dir)) != NULL) {
            if (de->d_name[0] == '.') {
                continue;
            }
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            errors += run_file(path);
            files++;
        }
        if (dir != NULL) {
            closedir(dir);
        }
    }
    printf("fuzz_decode replay: %d inputs\n", files);
    return errors != 0 || files == 0;
}
#endif
