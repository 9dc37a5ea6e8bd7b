/*
 * fuzz_decode_jansson.c - libFuzzer differential target: the JSON event decoder
 * (engine/decode.c) against jansson as the oracle, on any bytes.
 *
 * jansson parses with JSON_REJECT_DUPLICATES (and without JSON_DECODE_ANY); the decoder
 * projects nothing, so only structural verdicts are compared: the decoder accepts exactly
 * when jansson accepts an object, except for the documented differences, which are skipped
 * (tests/diff/diff_decode_jansson.c lists them):
 *  - depth: the decoder refuses nesting beyond 64 (too_deep), jansson allows 2048;
 *  - top-level values other than objects: jansson accepts arrays, the decoder wants an object;
 *  - integers beyond int64 in integer syntax: jansson refuses ("too big"), the decoder reads
 *    them as numbers;
 *  - a NUL byte in the input: jansson's lexer may lose a pushed-back NUL and accept.
 * When both reject, nothing more is compared (the reasons have no jansson equivalent).
 *
 * Built with -DSL_FUZZ=ON (clang); otherwise main() replays the seed corpus
 * (tests/fuzz/corpus/decode_jansson, label fuzz).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "queries/plan.h"

#include "replay_main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sl_decoder *dec;

static void setup(void)
{
    static struct sl_column col = {.name = "v", .type = SL_TYPE_DOUBLE};
    static struct sl_source src = {.name = "fuzz", .ncols = 1, .cols = &col, .wm_col = -1};
    if (sl_decoder_new(&src, SL_TS_AUTO, 1 << 20, &dec) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dec == NULL) {
        setup();
    }
    if (size > (1 << 16) || memchr(data, 0, size) != NULL) {
        return 0;
    }
    char *buf = malloc(size ? size : 1), *scratch = malloc(size ? size : 1);
    struct sl_value row[1];
    if (buf == NULL || scratch == NULL) {
        abort();
    }
    if (size > 0) {
        memcpy(buf, data, size);
    }
    int r = sl_decode(dec, buf, size, row, scratch, size);
    json_error_t jerr;
    json_t *root = json_loadb(buf, size, JSON_REJECT_DUPLICATES, &jerr);
    bool j_obj = root != NULL && json_is_object(root);
    bool skip = r == -SL_REJECT_TOO_DEEP || (root != NULL && !j_obj) ||
                (root == NULL && strstr(jerr.text, "too big") != NULL) ||
                (root == NULL && strstr(jerr.text, "maximum parsing depth") != NULL);
    if (!skip && (r == 0) != j_obj) {
        fprintf(stderr, "decoder %s (%s), jansson %s (%s)\n", r == 0 ? "accepts" : "rejects",
                sl_reject_name(r), j_obj ? "accepts" : "rejects", root ? "" : jerr.text);
        abort();
    }
    json_decref(root);
    free(buf);
    free(scratch);
    return 0;
}

SL_FUZZ_REPLAY_MAIN("fuzz_decode_jansson")
