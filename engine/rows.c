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

bool sl__plan_row_ids(const struct sl_plan *p)
{
    if (p->uses_id) {
        return true;
    }
    if (p->sink_conn == NULL || p->sink_conn->sink == NULL) {
        return false;
    }
    const struct sl_sink_ops *ops = p->sink_conn->sink;
    return ops->row_ids_for != NULL ? ops->row_ids_for(p) : ops->row_ids;
}

bool sl__queue_marker(struct sl_chan *c, const struct sl__marker *m, const atomic_bool *stop)
{
    void *p = sl_chan_reserve(c, sizeof(*m), stop);
    if (p == NULL) {
        return false;
    }
    memcpy(p, m, sizeof(*m));
    return true;
}

bool sl__send_marker(struct sl_chan *c, const struct sl__marker *m, const atomic_bool *stop)
{
    if (!sl__queue_marker(c, m, stop)) {
        return false;
    }
    sl_chan_commit(c);
    return true;
}

bool sl__queue_row(struct sl_chan *c, const struct sl__rowout *o, const atomic_bool *stop)
{
    size_t text = 0;
    for (int i = 0; i < o->nout; i++) {
        if (o->out[i].type == SL_TYPE_TEXT && !o->out[i].null) {
            text += o->out[i].len;
        }
    }
    bool has_id = o->id != NULL && o->id[0] != 0;
    size_t len = pad8(sizeof(struct sl__rowrec) + (has_id ? SL__ROWREC_ID : 0) + pad8(o->keylen) +
                      pad8(o->bloblen) + (size_t)o->nout * sizeof(struct sl_value) + text);
    uint8_t *rec = sl_chan_reserve(c, (uint32_t)len, stop);
    if (rec == NULL) {
        return false;
    }
    struct sl__rowrec *r = (struct sl__rowrec *)rec;
    memset(r, 0, sizeof(*r));
    r->kind = SL_REC_ROW;
    r->is_final = o->is_final;
    r->nkeys = (uint16_t)o->nkeys;
    r->nout = (uint16_t)o->nout;
    r->keylen = o->keylen;
    r->bloblen = o->blob != NULL ? o->bloblen : 0;
    r->rev = o->rev;
    r->wstart = o->wstart;
    r->wend = o->wend;
    r->has_id = has_id;
    uint8_t *kp = rec + sizeof(*r);
    if (has_id) {
        memcpy(kp, o->id, 33);
        kp += SL__ROWREC_ID;
    }
    if (o->keylen > 0) {
        memcpy(kp, o->key, o->keylen);
    }
    uint8_t *bp = kp + pad8(o->keylen);
    if (r->bloblen > 0) {
        memcpy(bp, o->blob, r->bloblen);
    }
    struct sl_value *vals = (struct sl_value *)(bp + pad8(r->bloblen));
    uint8_t *tp = (uint8_t *)(vals + o->nout);
    for (int i = 0; i < o->nout; i++) {
        vals[i] = o->out[i];
        if (o->out[i].type == SL_TYPE_TEXT && !o->out[i].null) {
            if (o->out[i].len > 0) {
                memcpy(tp, o->out[i].u.s, o->out[i].len);
            }
            vals[i].u.s = (const char *)(uintptr_t)(tp - rec);
            tp += o->out[i].len;
        }
    }
    return true;
}

bool sl__send_row(struct sl_chan *c, const struct sl__rowout *o, const atomic_bool *stop)
{
    if (!sl__queue_row(c, o, stop)) {
        return false;
    }
    sl_chan_commit(c);
    return true;
}
