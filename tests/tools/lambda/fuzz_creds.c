/*
 * fuzz_creds.c - libFuzzer target for what the Lambda sink reads from the network and from
 * files it does not control: the shared credentials file (INI), container/IMDS credential
 * JSON, STS XML, AWS timestamps and Retry-After values (connectors/lambda/creds.c,
 * lambda_run.c). The first byte picks the parser; the rest is its input. A parser that
 * succeeds must hand back non-empty keys. Without SL_FUZZ, main() replays files (the seed
 * corpus tests/tools/lambda/corpus) as an ordinary test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/lambda/lambda_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int r, struct sl__aws_creds *c)
{
    if (r == 0) {
        if (c->access_key == NULL || c->secret_key == NULL || c->access_key[0] == '\0' ||
            c->secret_key[0] == '\0') {
            abort();
        }
        sl__aws_creds_fini(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    char *s = malloc(size);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    struct sl__aws_creds c = {0};
    char why[200];
    int64_t ms;
    switch (data[0] % 5) {
    case 0:
        check(sl__aws_parse_ini(s, "default", &c, why, sizeof(why)), &c);
        check(sl__aws_parse_ini(s, "other", &c, why, sizeof(why)), &c);
        break;
    case 1:
        check(sl__aws_parse_json(s, &c, why, sizeof(why)), &c);
        break;
    case 2:
        check(sl__aws_parse_sts(s, &c, why, sizeof(why)), &c);
        break;
    case 3:
        (void)sl__aws_parse_time(s, &ms);
        break;
    default:
        if (sl__lambda_retry_after(s, 1767225600000) > 15 * 60 * 1000) {
            abort();
        }
        break;
    }
    free(s);
    return 0;
}

#ifndef SL_FUZZ
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("%d inputs replayed\n", argc - 1);
    return 0;
}
#endif
