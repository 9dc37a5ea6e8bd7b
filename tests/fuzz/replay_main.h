/*
 * replay_main.h - the main() of a fuzz target built without libFuzzer (gcc, ctest label
 * fuzz): runs LLVMFuzzerTestOneInput on every file named on the command line, and on every
 * file of every directory named, so that the seed corpus replays as an ordinary test.
 *
 * A target ends with SL_FUZZ_REPLAY_MAIN("name"); with -DSL_FUZZ the macro expands to
 * nothing and libFuzzer provides main(). Exit status 1 when a path cannot be read or no
 * input was run.
 */
#ifndef SL_FUZZ_REPLAY_MAIN_H
#define SL_FUZZ_REPLAY_MAIN_H

#ifdef SL_FUZZ
#define SL_FUZZ_REPLAY_MAIN(name)
#else
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sl__replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *b = malloc(cap);
    while (b != NULL && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(b, cap * 2);
            if (nb == NULL) {
                free(b);
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (b == NULL) {
        return 1;
    }
    /* an exactly-sized copy, so that ASan sees a read past the end */
    uint8_t *exact = malloc(n ? n : 1);
    if (exact == NULL) {
        free(b);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        exact[i] = b[i];
    }
    free(b);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int sl__replay_main(const char *name, int argc, char **argv)
{
    int files = 0, errors = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            errors += sl__replay_file(argv[i]);
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
            struct stat fst;
            if (stat(path, &fst) == 0 && S_ISDIR(fst.st_mode)) {
                continue;
            }
            errors += sl__replay_file(path);
            files++;
        }
        if (dir != NULL) {
            closedir(dir);
        }
    }
    printf("%s replay: %d inputs\n", name, files);
    return errors != 0 || files == 0;
}

#define SL_FUZZ_REPLAY_MAIN(name)                                                                  \
    int main(int argc, char **argv);                                                               \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return sl__replay_main(name, argc, argv);                                                  \
    }
#endif

#endif
