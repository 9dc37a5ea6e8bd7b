/*
 * path.h - JSON paths of source columns (`PATH '$.meta.site'`, `'$.list[0]'`).
 *
 * Parsed once at load; the decoder walks the segments per event.
 */
#ifndef SL_PATH_H
#define SL_PATH_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

struct sl_path_seg {
    bool is_index; /* [n] */
    uint32_t index;
    uint32_t len; /* member name length */
    char *key;    /* member name, NUL-terminated (may be quoted in the path: ['a.b']) */
};

struct sl_path {
    int nsegs;
    struct sl_path_seg *segs;
};

/* Parses "$.a.b", "$.list[0]", "$['odd.key'][2]". Returns 0 and *ret (free with
 * sl_path_free), or -EINVAL with err saying what is wrong and at which character. */
int sl_path_parse(const char *text, struct sl_path **ret, struct sl_err *err);
/* A one-segment path for a top-level member. */
struct sl_path *sl_path_member(const char *name);
void sl_path_free(struct sl_path *p);

#endif
