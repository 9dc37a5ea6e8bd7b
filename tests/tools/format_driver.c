/*
 * format_driver.c - runs the engine's formatter and scalar functions over inputs given by an
 * independent oracle script (double_oracle.js, expr_oracle.py), which compares the output
 * with its own answers. One line in, one line out.
 *
 *   format_driver double   stdin: 16 hex digits (IEEE bits)  stdout: sl_format_double
 *   format_driver round    stdin: "<bits> <digits>"         stdout: bits of ROUND(x, digits)
 *                                                                   or "null"
 *   format_driver ts       stdin: <bits>                     stdout: TO_TIMESTAMP(x) in ms
 *                                                                   or "null"
 *   format_driver case     stdin: -                          stdout: "<cp> <LOWER> <UPPER>"
 *                          for every code point below 0x2000 (UTF-8 bytes in hex)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/expr.h"
#include "engine/format.h"

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static uint64_t to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static struct sl_expr *call1(enum sl_func fn, enum sl_type type, enum sl_type arg_type)
{
    struct sl_expr *e = sl_expr_new(SL_EXPR_CALL, type, 1);
    e->fn = (uint16_t)fn;
    e->args[0] = sl_expr_new(SL_EXPR_COL, arg_type, 0);
    return e;
}

static size_t utf8_put(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (c >> 12));
    out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[2] = (char)(0x80 | (c & 0x3F));
    return 3;
}

static void print_hex(const struct sl_value *v)
{
    if (v->null) {
        fputs("null", stdout);
        return;
    }
    for (uint32_t i = 0; i < v->len; i++) {
        printf("%02x", (unsigned char)v->u.s[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s double|round|ts|case\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    struct sl_eval ev;
    sl_eval_init(&ev, 1 << 16);
    char line[256];
    if (strcmp(mode, "double") == 0) {
        char out[SL_FORMAT_NUM_MAX];
        while (fgets(line, sizeof(line), stdin) != NULL) {
            sl_format_double(from_bits(strtoull(line, NULL, 16)), out);
            puts(out);
        }
    } else if (strcmp(mode, "round") == 0) {
        struct sl_expr *e = sl_expr_new(SL_EXPR_CALL, SL_TYPE_DOUBLE, 2);
        e->fn = SL_FN_ROUND;
        e->args[0] = sl_expr_new(SL_EXPR_COL, SL_TYPE_DOUBLE, 0);
        e->args[1] = sl_expr_new(SL_EXPR_COL, SL_TYPE_BIGINT, 0);
        e->args[1]->slot = 1;
        while (fgets(line, sizeof(line), stdin) != NULL) {
            char *end;
            struct sl_value row[2] = {sl_value_double(from_bits(strtoull(line, &end, 16))),
                                      sl_value_bigint(strtoll(end, NULL, 10))};
            struct sl_value v;
            ev.scratch_used = 0;
            sl_expr_eval(e, row, &ev, &v);
            if (v.null) {
                puts("null");
            } else {
                printf("%016" PRIx64 "\n", to_bits(v.u.d));
            }
        }
        sl_expr_free(e);
    } else if (strcmp(mode, "ts") == 0) {
        struct sl_expr *e = call1(SL_FN_TO_TIMESTAMP, SL_TYPE_TIMESTAMP, SL_TYPE_DOUBLE);
        while (fgets(line, sizeof(line), stdin) != NULL) {
            struct sl_value row[1] = {sl_value_double(from_bits(strtoull(line, NULL, 16)))};
            struct sl_value v;
            sl_expr_eval(e, row, &ev, &v);
            if (v.null) {
                puts("null");
            } else {
                printf("%" PRId64 "\n", v.u.i);
            }
        }
        sl_expr_free(e);
    } else if (strcmp(mode, "case") == 0) {
        struct sl_expr *lo = call1(SL_FN_LOWER, SL_TYPE_TEXT, SL_TYPE_TEXT);
        struct sl_expr *up = call1(SL_FN_UPPER, SL_TYPE_TEXT, SL_TYPE_TEXT);
        for (uint32_t c = 0; c < 0x2000; c++) {
            char buf[8];
            size_t n = utf8_put(c, buf);
            struct sl_value row[1] = {sl_value_text(buf, (uint32_t)n)};
            struct sl_value a, b;
            ev.scratch_used = 0;
            sl_expr_eval(lo, row, &ev, &a);
            sl_expr_eval(up, row, &ev, &b);
            printf("%04" PRIX32 " ", c);
            print_hex(&a);
            putchar(' ');
            print_hex(&b);
            putchar('\n');
        }
        sl_expr_free(lo);
        sl_expr_free(up);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    sl_eval_fini(&ev);
    return 0;
}
