/*
 * fuzz_decode_split.c - libFuzzer target for the JSON event decoder (engine/decode.c): a
 * payload split at any byte, limits, and allocation failures while building a decoder.
 *
 * Input: byte 0 picks which allocation of sl_decoder_new fails (0: none), bytes 1-2 a split
 * point; the rest is the payload. Checked on every input:
 *  - allocation failure: sl_decoder_new returns -ENOMEM and leaks nothing (LeakSanitizer),
 *    or 0 when the chosen allocation is past the last one;
 *  - byte split: the payload cut at the split point into a head and a tail (two messages, as
 *    a broker might deliver a torn payload) is decoded as head, tail, then whole again: the
 *    whole payload gives the same verdict and the same row both times (a rejected event
 *    leaves nothing behind in the decoder), and when the whole is accepted a head that ends
 *    before its closing brace is rejected;
 *  - limits: a decoder with max_message_bytes 64 rejects a longer payload as too_large and
 *    otherwise agrees with the 1 MiB decoder.
 *
 * Built with -DSL_FUZZ=ON (clang); otherwise main() replays the files and directories named
 * on the command line (the seed corpus tests/fuzz/corpus/decode_split, label fuzz).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "queries/plan.h"

#include "replay_main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fcol {
    const char *name;
    enum sl_type type;
    const char *path;
};

static const struct fcol fcols[] = {
    {"v", SL_TYPE_DOUBLE, "$.v"},         {"t", SL_TYPE_TEXT, "$.t"},
    {"b", SL_TYPE_BOOLEAN, "$.b"},        {"i", SL_TYPE_BIGINT, "$.i"},
    {"ts", SL_TYPE_TIMESTAMP, "$.ts"},    {"site", SL_TYPE_TEXT, "$.meta.site"},
    {"l0", SL_TYPE_BIGINT, "$.list[0]"},  {"l1", SL_TYPE_TEXT, "$.list[1]"},
    {"odd", SL_TYPE_TEXT, "$['odd.key']"}};
#define NFCOLS ((int)(sizeof(fcols) / sizeof(fcols[0])))
#define SMALL  64

static struct sl_source src;
static struct sl_decoder *big, *small;
static int fail_at, allocs;

static bool fail_hook(void)
{
    return ++allocs == fail_at;
}

static void setup(void)
{
    src.name = "fuzz";
    src.ncols = NFCOLS;
    src.wm_col = -1;
    src.cols = calloc(NFCOLS, sizeof(struct sl_column));
    if (src.cols == NULL) {
        abort();
    }
    for (int i = 0; i < NFCOLS; i++) {
        struct sl_err err;
        src.cols[i].name = (char *)fcols[i].name;
        src.cols[i].type = fcols[i].type;
        src.cols[i].used = true;
        if (sl_path_parse(fcols[i].path, &src.cols[i].path, &err) != 0) {
            abort();
        }
    }
    if (sl_decoder_new(&src, SL_TS_AUTO, 1 << 20, &big) != 0 ||
        sl_decoder_new(&src, SL_TS_AUTO, SMALL, &small) != 0) {
        abort();
    }
}

static bool same_value(const struct sl_value *a, const struct sl_value *b)
{
    if (a->type != b->type || a->null != b->null) {
        return false;
    }
    if (a->null) {
        return true;
    }
    switch (a->type) {
    case SL_TYPE_TEXT:
        return a->len == b->len && memcmp(a->u.s, b->u.s, a->len) == 0;
    case SL_TYPE_DOUBLE:
        return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
    case SL_TYPE_BOOLEAN:
        return a->u.b == b->u.b;
    default:
        return a->u.i == b->u.i;
    }
}

static int decode_copy(struct sl_decoder *d, const uint8_t *p, size_t n, struct sl_value *row,
                       char **ret_buf, char **ret_scratch)
{
    char *buf = malloc(n ? n : 1), *scratch = malloc(n ? n : 1);
    if (buf == NULL || scratch == NULL) {
        abort();
    }
    if (n > 0) {
        memcpy(buf, p, n);
    }
    int r = sl_decode(d, buf, n, row, scratch, n);
    if (r > 0 || r <= -SL_REJECT__COUNT) {
        abort();
    }
    if (ret_buf != NULL) {
        *ret_buf = buf;
        *ret_scratch = scratch;
    } else {
        free(buf);
        free(scratch);
    }
    return r;
}

static void alloc_failure(int k)
{
    struct sl_decoder *d = NULL;
    fail_at = k;
    allocs = 0;
    sl__decoder_alloc_fail = fail_hook;
    int r = sl_decoder_new(&src, SL_TS_AUTO, 4096, &d);
    sl__decoder_alloc_fail = NULL;
    if (k <= allocs && k > 0 ? r != -ENOMEM : r != 0) {
        abort();
    }
    if (r == 0) {
        struct sl_value row[NFCOLS];
        char scratch[16];
        if (sl_decode(d, "{\"v\":1.5}", 9, row, scratch, sizeof(scratch)) != 0 ||
            row[0].u.d != 1.5) {
            abort();
        }
    }
    sl_decoder_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size < 3 || size > (1 << 20) + 3) {
        return 0;
    }
    alloc_failure(data[0] % 20);
    size_t n = size - 3;
    const uint8_t *p = data + 3;
    size_t cut = n == 0 ? 0 : ((size_t)data[1] << 8 | data[2]) % (n + 1);

    struct sl_value row1[NFCOLS], row2[NFCOLS];
    char *b1, *s1, *b2, *s2;
    int r1 = decode_copy(big, p, n, row1, &b1, &s1);
    int rh = decode_copy(big, p, cut, row2, NULL, NULL);
    decode_copy(big, p + cut, n - cut, row2, NULL, NULL);
    int r2 = decode_copy(big, p, n, row2, &b2, &s2);
    if (r1 != r2) {
        abort();
    }
    if (r1 == 0) {
        for (int i = 0; i < NFCOLS; i++) {
            if (!same_value(&row1[i], &row2[i])) {
                abort();
            }
        }
        size_t close = n;
        while (close > 0 && p[close - 1] != '}') {
            close--;
        }
        if (cut < close && rh == 0) {
            abort(); /* an object cut before its closing brace was accepted */
        }
    }
    int rs = decode_copy(small, p, n, row2, NULL, NULL);
    if (n > SMALL ? rs != -SL_REJECT_TOO_LARGE : rs != r1) {
        abort();
    }
    free(b1);
    free(s1);
    free(b2);
    free(s2);
    return 0;
}

SL_FUZZ_REPLAY_MAIN("fuzz_decode_split")
