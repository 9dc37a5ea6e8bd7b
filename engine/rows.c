/*
 * rows.c - row and marker records on channels (producer side), shared by sources, shards
 * and sinks. See engine.h for the layouts.
 */
#include <string.h>

#include "engine.h"

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

bool sl__send_marker(struct sl_chan *c, const struct sl__marker *m, const atomic_bool *stop)
{
    void *p = sl_chan_reserve(c, sizeof(*m), stop);
    if (p == NULL) {
        return false;
    }
    memcpy(p, m, sizeof(*m));
    sl_chan_commit(c);
    return true;
}

bool sl__send_row(struct sl_chan *c, const uint8_t *key, uint32_t keylen, int nkeys,
                  const struct sl_value *out, int nout, int64_t rev, bool is_final, int64_t wstart,
                  int64_t wend, const char *id, const atomic_bool *stop)
{
    size_t text = 0;
    for (int i = 0; i < nout; i++) {
        if (out[i].type == SL_TYPE_TEXT && !out[i].null) {
            text += out[i].len;
        }
    }
    size_t len = pad8(sizeof(struct sl__rowrec) + pad8(keylen) +
                      (size_t)nout * sizeof(struct sl_value) + text);
    uint8_t *rec = sl_chan_reserve(c, (uint32_t)len, stop);
    if (rec == NULL) {
        return false;
    }
    struct sl__rowrec *r = (struct sl__rowrec *)rec;
    memset(r, 0, sizeof(*r));
    r->kind = SL_REC_ROW;
    r->is_final = is_final;
    r->nkeys = (uint16_t)nkeys;
    r->nout = (uint16_t)nout;
    r->keylen = keylen;
    r->rev = rev;
    r->wstart = wstart;
    r->wend = wend;
    memcpy(r->id, id, 33);
    uint8_t *kp = rec + sizeof(*r);
    if (keylen > 0) {
        memcpy(kp, key, keylen);
    }
    struct sl_value *vals = (struct sl_value *)(kp + pad8(keylen));
    uint8_t *tp = (uint8_t *)(vals + nout);
    for (int i = 0; i < nout; i++) {
        vals[i] = out[i];
        if (out[i].type == SL_TYPE_TEXT && !out[i].null) {
            if (out[i].len > 0) {
                memcpy(tp, out[i].u.s, out[i].len);
            }
            vals[i].u.s = (const char *)(uintptr_t)(tp - rec);
            tp += out[i].len;
        }
    }
    sl_chan_commit(c);
    return true;
}
