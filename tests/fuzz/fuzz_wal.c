/*
 * fuzz_wal.c - libFuzzer target for the write-ahead log reader (engine/wal.c): a log
 * directory holding arbitrary bytes is opened, read to its end, appended to and reopened.
 *
 * Input: byte 0 holds flags (bit 0: framed; bits 1-2: segments - 1; bit 3: leave a gap
 * between segments), bytes 1-2 the cut points between segments; the rest is the log.
 * Raw, the rest is written as is. Framed, it is a list of records: a length byte k, then k
 * body bytes, framed with a correct length and CRC (so that bodies with a wrong topic length
 * get past the CRC); a length byte 0xFF instead takes the next 8 bytes as a raw header.
 *
 * Checked on every input: open succeeds (the directory is fine, only its content is bad);
 * the reader returns exactly the records open() counted, contiguous from the first position
 * to the end, each inside its record; for one segment the records are those an independent
 * scanner written from wal.h's layout finds, with the same topic and payload bytes; after one
 * append the new record reads back; a reopen then finds a clean log with one more record.
 *
 * Built with -DSL_FUZZ=ON (clang); otherwise main() replays the seed corpus
 * (tests/fuzz/corpus/wal, label fuzz).
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal.h"

#include "replay_main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORD 4096u
#define HDR        8u
#define FIXED      16u

static char dir[256];

static void clear_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            char p[512];
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
}

static void write_seg(uint64_t base, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%020llu.wal", dir, (unsigned long long)base);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        abort();
    }
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Builds the log bytes from the input (see the top). Returns the length; *out is malloc'd. */
static size_t build(bool framed, const uint8_t *p, size_t n, uint8_t **out)
{
    uint8_t *b = malloc(n * 8 + 16); /* a length byte 0 becomes an 8-byte header */
    size_t o = 0;
    if (b == NULL) {
        abort();
    }
    if (!framed) {
        memcpy(b, p, n);
        *out = b;
        return n;
    }
    size_t i = 0;
    while (i < n) {
        unsigned k = p[i++];
        if (k == 0xFF) {
            size_t m = n - i < HDR ? n - i : HDR;
            memcpy(b + o, p + i, m);
            o += m;
            i += m;
            continue;
        }
        size_t m = n - i < k ? n - i : k; /* short: a torn record */
        wr32(b + o, k);
        wr32(b + o + 4, sl_crc32c(0, p + i, m));
        memcpy(b + o + HDR, p + i, m);
        o += HDR + m;
        i += m;
    }
    *out = b;
    return o;
}

/* The independent scanner: records of one segment per wal.h's layout. */
struct orec {
    size_t off;
    uint32_t blen, tlen;
};

static int oracle(const uint8_t *b, size_t n, struct orec *recs, int cap)
{
    size_t off = 0;
    int k = 0;
    while (k < cap && n - off >= HDR) {
        uint32_t blen = rd32(b + off), crc = rd32(b + off + 4);
        if (blen < FIXED || blen > MAX_RECORD || n - off - HDR < blen ||
            sl_crc32c(0, b + off + HDR, blen) != crc || rd32(b + off + HDR + 12) > blen - FIXED) {
            break;
        }
        recs[k++] = (struct orec){off, blen, rd32(b + off + HDR + 12)};
        off += HDR + blen;
    }
    return k;
}

static struct sl_wal *open_log(struct sl_wal_report *rep)
{
    struct sl_wal_opts o = {.dir = dir, .segment_bytes = 1 << 16, .max_record = MAX_RECORD};
    struct sl_wal *w = NULL;
    struct sl_err err;
    if (sl_wal_open(&o, &w, rep, &err) != 0 || w == NULL) {
        abort(); /* the directory is fine: bad content never fails open */
    }
    if (rep->end < rep->first || strlen(rep->why) >= sizeof(rep->why)) {
        abort();
    }
    return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir[0] == '\0') {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof(dir), "%s/sl-fuzz-wal-%d", base, (int)getpid());
        mkdir(dir, 0700);
    }
    if (size < 3 || size > 64 * 1024) {
        return 0;
    }
    clear_dir();
    bool framed = data[0] & 1, gap = data[0] & 8;
    int nseg = 1 + (data[0] >> 1 & 3) % 3;
    uint8_t *log;
    size_t n = build(framed, data + 3, size - 3, &log);
    size_t cut1 = n * data[1] / 256, cut2 = cut1 + (n - cut1) * data[2] / 256;
    size_t cuts[4] = {0, nseg > 1 ? cut1 : n, nseg > 2 ? cut2 : n, n};
    for (int s = 0; s < nseg; s++) {
        write_seg(cuts[s] + (gap && s > 0 ? 1 : 0), log + cuts[s], cuts[s + 1] - cuts[s]);
    }

    struct sl_wal_report rep;
    struct sl_wal *w = open_log(&rep);
    struct orec expect[1024];
    int nexp = oracle(log, n, expect, 1024);
    if (nseg == 1 && (rep.records != (uint64_t)nexp || rep.first != 0)) {
        abort();
    }
    struct sl_wal_rec rec;
    uint64_t got = 0, pos = rep.first;
    int r;
    while ((r = sl_wal_read(w, &rec)) == 1) {
        if (rec.pos != pos || rec.next <= rec.pos ||
            rec.next - rec.pos != HDR + FIXED + (uint64_t)rec.topic_len + rec.payload_len) {
            abort();
        }
        if (nseg == 1) {
            const struct orec *e = &expect[got];
            if (e->off != rec.pos || e->tlen != rec.topic_len ||
                memcmp(rec.topic, log + e->off + HDR + FIXED, rec.topic_len) != 0 ||
                memcmp(rec.payload, log + e->off + HDR + FIXED + e->tlen, rec.payload_len) != 0) {
                abort();
            }
        }
        pos = rec.next;
        got++;
    }
    if (r != 0 || got != rep.records || pos != rep.end) {
        abort();
    }
    static const char topic[] = "t/x", payload[] = "{\"v\":1}";
    uint64_t at;
    if (sl_wal_append(w, 42, 7, topic, 3, payload, 7, &at) != 0 || at != rep.end) {
        abort();
    }
    if (sl_wal_read(w, &rec) != 1 || rec.pos != at || rec.recv_ms != 42 || rec.packet_id != 7 ||
        rec.topic_len != 3 || memcmp(rec.topic, topic, 3) != 0 || rec.payload_len != 7 ||
        memcmp(rec.payload, payload, 7) != 0) {
        abort();
    }
    sl_wal_close(w);
    struct sl_wal_report rep2;
    w = open_log(&rep2);
    if (rep2.why[0] != '\0' || rep2.cut_bytes != 0 || rep2.removed_segments != 0 ||
        rep2.records != rep.records + 1) {
        abort();
    }
    sl_wal_close(w);
    free(log);
    return 0;
}

SL_FUZZ_REPLAY_MAIN("fuzz_wal")
