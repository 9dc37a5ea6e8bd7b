/*
 * fuzz_subst.c - libFuzzer target for the value of a string literal (queries/subst.c):
 * '' unescaping and ${NAME}, ${NAME:-default}, ${file:/path}, $${ substitution.
 *
 * Input: the raw body of a literal, where each byte 0x01 stands for the path of a secret file
 * the target made (its content is a canary). The environment holds SL_FZ_A=alpha,
 * SL_FZ_EMPTY= and SL_FZ_SECRET=<another canary>. Checked on every input:
 *  - the result agrees with an independent expander written from SQL.md (value, and whether
 *    it failed), for every input that names no file other than the secret one;
 *  - a value read from a file is marked secret, and only then;
 *  - an error message is one line (when the input is) and never holds either canary (unless the
 * input itself spells it), and the error offset lies inside the input.
 *
 * Built with -DSL_FUZZ=ON (clang); otherwise main() replays the seed corpus
 * (tests/fuzz/corpus/subst, label fuzz).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queries/front_int.h"

#include "replay_main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CANARY_FILE "CANARY-FILE-91c2e"
#define CANARY_ENV  "CANARY-ENV-7f3a0"

static char secret_path[256];

struct obuf {
    char *p;
    size_t n;
};

static void oadd(struct obuf *b, const char *s, size_t n)
{
    b->p = realloc(b->p, b->n + n + 1);
    if (b->p == NULL) {
        abort();
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* '' is one quote; a lone quote stays one quote. */
static void ounq(struct obuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        oadd(b, s + i, 1);
        if (s[i] == '\'' && i + 1 < n && s[i + 1] == '\'') {
            i++;
        }
    }
}

static bool oname(const char *s, size_t n)
{
    if (n == 0 || n > 255 || (s[0] >= '0' && s[0] <= '9')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return true;
}

/* Returns 0 (value in *b, *secret), -1 (an error), 1 (names another file: not judged). */
static int expand(const char *raw, size_t n, struct obuf *b, bool *secret)
{
    size_t i = 0;
    *secret = false;
    oadd(b, "", 0);
    while (i < n) {
        if (raw[i] == '$' && i + 2 < n && raw[i + 1] == '$' && raw[i + 2] == '{') {
            oadd(b, "${", 2);
            i += 3;
            continue;
        }
        if (!(raw[i] == '$' && i + 1 < n && raw[i + 1] == '{')) {
            size_t j = i + 1;
            while (j < n && raw[j] != '$') {
                j++;
            }
            ounq(b, raw + i, j - i);
            i = j;
            continue;
        }
        const char *body = raw + i + 2;
        const char *close = memchr(body, '}', n - i - 2);
        if (close == NULL) {
            return -1;
        }
        size_t bl = (size_t)(close - body);
        if (bl >= 5 && memcmp(body, "file:", 5) == 0) {
            struct obuf path = {0};
            ounq(&path, body + 5, bl - 5);
            bool ours = path.n == strlen(secret_path) && strcmp(path.p, secret_path) == 0;
            free(path.p);
            if (!ours) {
                return bl == 5 ? -1 : 1;
            }
            oadd(b, CANARY_FILE, strlen(CANARY_FILE));
            *secret = true;
        } else {
            const char *colon = memchr(body, ':', bl);
            size_t nl = colon != NULL ? (size_t)(colon - body) : bl;
            if (!oname(body, nl)) {
                return -1;
            }
            char name[256];
            memcpy(name, body, nl);
            name[nl] = '\0';
            const char *v = getenv(name);
            if (colon != NULL) {
                if (bl - nl < 2 || colon[1] != '-') {
                    return -1;
                }
                if (v == NULL || v[0] == '\0') {
                    ounq(b, colon + 2, bl - nl - 2);
                    v = NULL;
                }
            } else if (v == NULL) {
                return -1;
            }
            if (v != NULL) {
                oadd(b, v, strlen(v));
            }
        }
        i = (size_t)(close - raw) + 1;
    }
    return 0;
}

static void setup(void)
{
    char dir[200];
    snprintf(dir, sizeof(dir), "/tmp/sl-fuzz-subst-%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(secret_path, sizeof(secret_path), "%s/s", dir);
    FILE *f = fopen(secret_path, "w");
    if (f == NULL || fputs(CANARY_FILE "\n", f) < 0 || fclose(f) != 0) {
        abort();
    }
    setenv("SL_FZ_A", "alpha", 1);
    setenv("SL_FZ_EMPTY", "", 1);
    setenv("SL_FZ_SECRET", CANARY_ENV, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (secret_path[0] == '\0') {
        setup();
    }
    if (size > 4096) {
        return 0;
    }
    struct obuf raw = {0};
    oadd(&raw, "", 0);
    for (size_t i = 0; i < size; i++) {
        if (data[i] == 1) {
            oadd(&raw, secret_path, strlen(secret_path));
        } else {
            oadd(&raw, (const char *)data + i, 1);
        }
    }
    char *val = NULL;
    size_t len = 0, at = SIZE_MAX;
    unsigned flags = 0;
    struct sl_err err = {{0}};
    int r = sl__string_value(raw.p, raw.n, &val, &len, &flags, &err, &at);

    struct obuf want = {0};
    bool secret = false;
    int o = expand(raw.p, raw.n, &want, &secret);
    if (r == 0) {
        if (val == NULL || val[len] != '\0' || (o == -1) ||
            (o == 0 && (len != want.n || memcmp(val, want.p, len) != 0 ||
                        ((flags & SL_TOKF_SECRET) != 0) != secret))) {
            abort();
        }
    } else {
        bool nl = memchr(raw.p, '\n', raw.n) != NULL;
        if (o == 0 || at > raw.n || (!nl && strchr(err.msg, '\n') != NULL) || err.msg[0] == '\0') {
            abort();
        }
        bool spelled = memmem(raw.p, raw.n, "CANARY", 6) != NULL;
        if (!spelled && (strstr(err.msg, CANARY_FILE) || strstr(err.msg, CANARY_ENV))) {
            abort();
        }
    }
    free(val);
    free(want.p);
    free(raw.p);
    return 0;
}

SL_FUZZ_REPLAY_MAIN("fuzz_subst")
