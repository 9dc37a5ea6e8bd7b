/*
 * fuzz_template.c - libFuzzer target for key templates (engine/template.c):
 * `temp:{site}:{device}:{window_start}` parsed, bound and rendered.
 *
 * Input: the template up to the first NUL byte; after it, NUL-separated texts used as the
 * placeholders' values (reused in turn when there are fewer than placeholders). Checked on
 * every input against an independent reading of template.h's rules ({{ and }} are literal
 * braces, {name} a placeholder with a non-empty name without braces, any other brace an
 * error):
 *  - parse succeeds exactly when the oracle says so, with as many placeholders and names;
 *  - binding to a windowed plan resolves the columns, window_start/window_end and _id and
 *    reports the first other name;
 *  - rendering gives the oracle's concatenation, and -ENOSPC (not an overflow) when the
 *    buffer is one byte short;
 *  - sl_template_escape of the input parses back to one literal equal to the input.
 *
 * Built with -DSL_FUZZ=ON (clang); otherwise main() replays the seed corpus
 * (tests/fuzz/corpus/template, label fuzz).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/template.h"
#include "queries/plan.h"

#include "replay_main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXPH 256

struct oseg {
    bool ph;
    const char *s;
    size_t n;
};

/* Independent parse; returns the number of segments, -1 (invalid) or -2 (too many). Literal text is
 * unescaped into lit (which must hold strlen(t) bytes), placeholders point into t. */
static int oparse(const char *t, char *lit, struct oseg *segs, int cap)
{
    int k = 0;
    size_t o = 0;
    for (size_t i = 0; t[i] != '\0';) {
        if ((t[i] == '{' && t[i + 1] == '{') || (t[i] == '}' && t[i + 1] == '}')) {
            lit[o++] = t[i];
            i += 2;
            continue;
        }
        if (t[i] == '}') {
            return -1;
        }
        if (t[i] == '{') {
            size_t j = i + 1;
            while (t[j] != '\0' && t[j] != '}' && t[j] != '{') {
                j++;
            }
            if (t[j] != '}' || j == i + 1) {
                return -1;
            }
            if (k + 2 > cap) {
                return -2;
            }
            if (o > 0) {
                segs[k++] = (struct oseg){false, lit, o};
                lit += o;
                o = 0;
            }
            segs[k++] = (struct oseg){true, t + i + 1, j - i - 1};
            i = j + 1;
            continue;
        }
        lit[o++] = t[i++];
    }
    if (o > 0) {
        if (k + 1 > cap) {
            return -2;
        }
        segs[k++] = (struct oseg){false, lit, o};
    }
    return k;
}

static struct sl_out_col outs[] = {
    {.name = "site", .type = SL_TYPE_TEXT},
    {.name = "device", .type = SL_TYPE_TEXT},
    {.name = "avg_temp", .type = SL_TYPE_DOUBLE},
};

static bool known(const char *s, size_t n)
{
    static const char *const names[] = {"site",         "device",     "avg_temp",
                                        "window_start", "window_end", "_id"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == n && strncasecmp(names[i], s, n) == 0) {
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192) {
        return 0;
    }
    char *in = malloc(size + 1);
    if (in == NULL) {
        abort();
    }
    memcpy(in, data, size);
    in[size] = '\0';
    size_t tlen = strlen(in);

    /* the values: NUL-separated after the template */
    struct sl_tmpl_piece vals[64];
    int nvals = 0;
    for (size_t i = tlen + 1; i <= size && nvals < 64;) {
        size_t n = strlen(in + i);
        vals[nvals++] = (struct sl_tmpl_piece){in + i, n};
        i += n + 1;
    }
    if (nvals == 0) {
        vals[nvals++] = (struct sl_tmpl_piece){"v", 1};
    }

    char *lit = malloc(tlen + 1);
    struct oseg *segs = malloc(sizeof(*segs) * (2 * MAXPH + 2));
    if (lit == NULL || segs == NULL) {
        abort();
    }
    int nseg = oparse(in, lit, segs, 2 * MAXPH + 2);
    int nph = 0;
    for (int i = 0; i < nseg; i++) {
        nph += segs[i].ph;
    }

    struct sl_template t;
    struct sl_err err;
    int r = sl_template_parse(in, &t, &err);
    if (nseg < 0) {
        if (nseg == -1 && r == 0) {
            abort();
        }
        if (r == 0) {
            sl_template_fini(&t);
        }
        goto out;
    }
    if (r != 0 || t.nph != nph) {
        abort();
    }
    struct sl_plan p = {.name = "s", .window = SL_WINDOW_TUMBLE, .out = outs, .nout = 3};
    int bad = -1, first_bad = -1;
    for (int i = 0, ph = 0; i < t.nsegs; i++) {
        if (t.segs[i].placeholder) {
            ph++;
            if (first_bad < 0 && !known(t.segs[i].text, t.segs[i].len)) {
                first_bad = i;
            }
        }
    }
    int br = sl_template_bind(&t, &p, &bad);
    if (first_bad < 0 ? br != 0 : (br != -ENOENT || bad != first_bad)) {
        abort();
    }

    struct sl_tmpl_piece *pieces = malloc(sizeof(*pieces) * (size_t)(nph ? nph : 1));
    size_t want = 0;
    for (int i = 0, ph = 0; i < nseg; i++) {
        if (segs[i].ph) {
            pieces[ph] = vals[ph % nvals];
            want += pieces[ph].len;
            ph++;
        } else {
            want += segs[i].n;
        }
    }
    char *exp = malloc(want + 1), *buf = malloc(want + 1);
    if (pieces == NULL || exp == NULL || buf == NULL) {
        abort();
    }
    size_t o = 0;
    for (int i = 0, ph = 0; i < nseg; i++) {
        const char *s = segs[i].ph ? pieces[ph].s : segs[i].s;
        size_t n = segs[i].ph ? pieces[ph++].len : segs[i].n;
        memcpy(exp + o, s, n);
        o += n;
    }
    int n = sl_template_render(&t, pieces, buf, want + 1);
    if (n < 0 || (size_t)n != want || memcmp(buf, exp, want) != 0 || buf[want] != '\0') {
        abort();
    }
    if (sl_template_render(&t, pieces, buf, want) != -ENOSPC) {
        abort();
    }
    free(pieces);
    free(exp);
    free(buf);
    sl_template_fini(&t);

    /* escaping round trip */
    char *esc = sl_template_escape(in);
    if (esc == NULL || sl_template_parse(esc, &t, &err) != 0 || t.nph != 0) {
        abort();
    }
    size_t lo = 0;
    for (int i = 0; i < t.nsegs; i++) {
        if (lo + t.segs[i].len > tlen || memcmp(in + lo, t.segs[i].text, t.segs[i].len) != 0) {
            abort();
        }
        lo += t.segs[i].len;
    }
    if (lo != tlen) {
        abort();
    }
    sl_template_fini(&t);
    free(esc);
out:
    free(lit);
    free(segs);
    free(in);
    return 0;
}

SL_FUZZ_REPLAY_MAIN("fuzz_template")
