/*
 * test_wal.c - the write-ahead log: round trip, segment roll, truncation that keeps the
 * redelivery keys, reopen, a torn tail cut at every byte offset of the last record, a flipped
 * byte at every offset of a record, concurrent append and read (run under TSan), the size
 * bound's "full" state with a waiting appender, and ENOSPC from an injected write hook.
 * Expected values come from what the test itself appended, never from the log's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "wal.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_wal_XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    rmdir(dir);
    return 0;
}

static int count_segments(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        n += strstr(de->d_name, ".wal") != NULL;
    }
    closedir(d);
    return n;
}

/* Record i: topic "dev/<i%7>", payload {"i":<i>} padded by i%13 spaces. */
static void make(int i, char *topic, size_t *tlen, char *payload, size_t *plen)
{
    *tlen = (size_t)sprintf(topic, "dev/%d", i % 7);
    *plen = (size_t)sprintf(payload, "{\"i\":%d}%*s", i, i % 13, "");
}

static struct sl_wal *open_wal(struct sl_wal_opts *o, struct sl_wal_report *rep)
{
    struct sl_wal *w = NULL;
    struct sl_err err = {{0}};
    o->dir = dir;
    assert_int_equal(sl_wal_open(o, &w, rep, &err), 0);
    return w;
}

static void append_n(struct sl_wal *w, int from, int to, uint64_t *pos)
{
    char t[32], p[64];
    size_t tl, pl;
    for (int i = from; i < to; i++) {
        make(i, t, &tl, p, &pl);
        uint64_t at = 0;
        assert_int_equal(sl_wal_append(w, 1000 + i, (uint16_t)(i % 65535 + 1), t, tl, p, pl, &at),
                         0);
        if (pos != NULL) {
            pos[i] = at;
        }
    }
}

static void expect_read(struct sl_wal *w, int from, int to)
{
    char t[32], p[64];
    size_t tl, pl;
    struct sl_wal_rec rec;
    for (int i = from; i < to; i++) {
        assert_int_equal(sl_wal_read(w, &rec), 1);
        make(i, t, &tl, p, &pl);
        assert_int_equal(rec.recv_ms, 1000 + i);
        assert_int_equal(rec.packet_id, i % 65535 + 1);
        assert_int_equal(rec.topic_len, tl);
        assert_memory_equal(rec.topic, t, tl);
        assert_int_equal(rec.payload_len, pl);
        assert_memory_equal(rec.payload, p, pl);
    }
    assert_int_equal(sl_wal_read(w, &rec), 0);
}

static void test_crc32c(void **state)
{
    (void)state;
    /* The check value of CRC-32C (RFC 3720 B.4). */
    assert_int_equal(sl_crc32c(0, "123456789", 9), 0xE3069283u);
    uint8_t zeros[32] = {0};
    assert_int_equal(sl_crc32c(0, zeros, 32), 0x8A9136AAu);
    assert_int_equal(sl_crc32c(sl_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct sl_wal_opts o = {0};
    struct sl_wal_report rep;
    struct sl_wal *w = open_wal(&o, &rep);
    assert_int_equal(rep.records, 0);
    assert_int_equal(rep.end, 0);
    uint64_t pos[200];
    struct sl_wal_rec rec;
    assert_int_equal(sl_wal_read(w, &rec), 0);
    append_n(w, 0, 200, pos);
    assert_int_equal(pos[0], 0);
    for (int i = 1; i < 200; i++) {
        char t[32], p[64];
        size_t tl, pl;
        make(i - 1, t, &tl, p, &pl);
        assert_int_equal(pos[i] - pos[i - 1], 8 + 16 + tl + pl); /* exact framing */
    }
    expect_read(w, 0, 200);
    /* Empty topic and payload are records too. */
    assert_int_equal(sl_wal_append(w, 5, 9, "", 0, "", 0, NULL), 0);
    assert_int_equal(sl_wal_read(w, &rec), 1);
    assert_int_equal(rec.topic_len, 0);
    assert_int_equal(rec.payload_len, 0);
    assert_int_equal(rec.packet_id, 9);
    /* Seek back to a recorded position. */
    assert_int_equal(sl_wal_seek(w, pos[150]), 0);
    uint64_t end = sl_wal_end(w);
    for (int i = 150; i < 200; i++) {
        assert_int_equal(sl_wal_read(w, &rec), 1);
        assert_int_equal(rec.pos, pos[i]);
    }
    assert_int_equal(sl_wal_read(w, &rec), 1);
    assert_int_equal(rec.next, end);
    assert_int_equal(sl_wal_seek(w, end + 1), -ERANGE);
    sl_wal_close(w);
}

static void test_segment_roll_and_reopen(void **state)
{
    (void)state;
    struct sl_wal_opts o = {.segment_bytes = 300, .keep_keys = 4};
    struct sl_wal_report rep;
    struct sl_wal *w = open_wal(&o, &rep);
    append_n(w, 0, 100, NULL);
    /* Records are 32..57 bytes: 5 to 9 per 300-byte segment, never split. */
    int segs = count_segments();
    assert_true(segs >= 100 / 9 && segs <= 100 / 5 + 1);
    expect_read(w, 0, 100);
    uint64_t end = sl_wal_end(w);
    sl_wal_close(w);

    w = open_wal(&o, &rep);
    assert_int_equal(rep.records, 100);
    assert_int_equal(rep.end, end);
    assert_int_equal(rep.cut_bytes, 0);
    assert_string_equal(rep.why, "");
    expect_read(w, 0, 100);
    /* Keys of the last 4 records were rebuilt; the 5th from the end is forgotten. */
    char t[32], p[64];
    size_t tl, pl;
    sl_wal_session(w, true);
    for (int i = 95; i < 100; i++) {
        make(i, t, &tl, p, &pl);
        assert_int_equal(sl_wal_seen(w, (uint16_t)(i + 1), t, tl, p, pl), i >= 96);
    }
    make(99, t, &tl, p, &pl);
    assert_false(sl_wal_seen(w, 7, t, tl, p, pl)); /* another packet id */
    append_n(w, 100, 120, NULL);
    expect_read(w, 100, 120);
    sl_wal_close(w);
}

static void test_truncate_keeps_keys(void **state)
{
    (void)state;
    struct sl_wal_opts o = {.segment_bytes = 200, .keep_keys = 10};
    struct sl_wal_report rep;
    struct sl_wal *w = open_wal(&o, &rep);
    uint64_t pos[60];
    append_n(w, 0, 60, pos);
    expect_read(w, 0, 60);
    int before = count_segments();
    /* Truncating to record 30: segments wholly before it go, the one holding it stays. */
    int n = sl_wal_truncate(w, pos[30]);
    assert_true(n > 0);
    assert_int_equal(count_segments(), before - n);
    assert_true(sl_wal_first(w) <= pos[30]);
    assert_true(sl_wal_first(w) > pos[29 - 9]);       /* at most one segment before 30 */
    assert_int_equal(sl_wal_truncate(w, pos[30]), 0); /* idempotent */
    /* Truncating to the end keeps the segments of the last 10 records (their keys). */
    sl_wal_truncate(w, sl_wal_end(w));
    assert_true(sl_wal_first(w) <= pos[50]);
    sl_wal_close(w);
    w = open_wal(&o, &rep);
    assert_int_equal(rep.first, sl_wal_first(w));
    char t[32], p[64];
    size_t tl, pl;
    sl_wal_session(w, true);
    for (int i = 50; i < 60; i++) {
        make(i, t, &tl, p, &pl);
        assert_true(sl_wal_seen(w, (uint16_t)(i + 1), t, tl, p, pl));
    }
    /* The reader starts at the first kept record. */
    struct sl_wal_rec rec;
    assert_int_equal(sl_wal_read(w, &rec), 1);
    assert_int_equal(rec.pos, rep.first);
    sl_wal_close(w);
}

/* Redeliveries are told from new messages by session: only a resumed session's first message
 * with a packet id can repeat that id's newest record from before the session. */
static void test_redelivery_sessions(void **state)
{
    (void)state;
    struct sl_wal_opts o = {.segment_bytes = 1 << 20, .keep_keys = 65535}; /* as mqtt_run.c */
    struct sl_wal_report rep;
    struct sl_wal *w = open_wal(&o, &rep);
    const char *t = "dev/1", *a = "{\"on\":true}", *b = "{\"on\":false}";
    size_t tl = strlen(t), al = strlen(a), bl = strlen(b);
    /* Before any session nothing is a redelivery. */
    assert_int_equal(sl_wal_append(w, 1, 5, t, tl, a, al, NULL), 0);
    assert_false(sl_wal_seen(w, 5, t, tl, a, al));

    /* Resumed: the same id, topic and payload is dropped once; the next message with that id
     * and the same payload is a new reading (the broker reused the id). */
    sl_wal_session(w, true);
    assert_true(sl_wal_seen(w, 5, t, tl, a, al));
    assert_false(sl_wal_seen(w, 5, t, tl, a, al));
    assert_int_equal(sl_wal_append(w, 2, 5, t, tl, a, al, NULL), 0);

    /* Within a session, a repeated id with a repeated payload is never a redelivery: 70 000
     * identical readings, ids wrapping past 65 535, none dropped (the bug this guards). */
    sl_wal_session(w, false);
    int dropped = 0;
    for (int i = 0; i < 70000; i++) {
        uint16_t pid = (uint16_t)(i % 65535 + 1);
        if (sl_wal_seen(w, pid, t, tl, a, al)) {
            dropped++;
            continue;
        }
        assert_int_equal(sl_wal_append(w, 3, pid, t, tl, a, al, NULL), 0);
    }
    assert_int_equal(dropped, 0);

    /* The newest record of an id is its candidate: 7 logged with a, then with b. */
    assert_int_equal(sl_wal_append(w, 4, 7, t, tl, a, al, NULL), 0);
    assert_int_equal(sl_wal_append(w, 5, 7, t, tl, b, bl, NULL), 0);
    sl_wal_session(w, true);
    assert_false(sl_wal_seen(w, 7, t, tl, a, al));
    sl_wal_session(w, true);
    assert_true(sl_wal_seen(w, 7, t, tl, b, bl));
    /* Another topic or payload with a candidate's id is new, and ends the candidacy. */
    sl_wal_session(w, true);
    assert_false(sl_wal_seen(w, 7, "dev/2", 5, b, bl));
    assert_false(sl_wal_seen(w, 7, t, tl, b, bl));
    /* A new session (no session present): nothing is sent again, nothing dropped. */
    sl_wal_session(w, false);
    assert_false(sl_wal_seen(w, 7, t, tl, b, bl));
    sl_wal_close(w);
}

static void seg_file(uint64_t base, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%020llu.wal", dir, (unsigned long long)base);
}

static void test_torn_tail_every_offset(void **state)
{
    (void)state;
    struct sl_wal_opts o = {0};
    struct sl_wal_report rep;
    struct sl_wal *w = open_wal(&o, &rep);
    uint64_t pos[20];
    append_n(w, 0, 20, pos);
    uint64_t end = sl_wal_end(w);
    sl_wal_close(w);
    char path[256];
    seg_file(0, path, sizeof(path));
    /* Save the whole file, then cut it at every offset inside the last record. */
    uint8_t full[4096];
    int fd = open(path, O_RDONLY);
    assert_int_equal(read(fd, full, sizeof(full)), (ssize_t)end);
    close(fd);
    for (uint64_t cut = pos[19]; cut < end; cut++) {
        fd = open(path, O_WRONLY | O_TRUNC);
        assert_int_equal(write(fd, full, cut), (ssize_t)cut);
        close(fd);
        w = open_wal(&o, &rep);
        assert_int_equal(rep.records, 19);
        assert_int_equal(rep.end, pos[19]);
        assert_int_equal(rep.cut_bytes, cut - pos[19]);
        assert_true(cut == pos[19] ? rep.why[0] == '\0' : strstr(rep.why, "torn") != NULL);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, pos[19]); /* the half record is gone */
        expect_read(w, 0, 19);
        /* Appending again continues cleanly where the good records end. */
        append_n(w, 19, 20, NULL);
        expect_read(w, 19, 20);
        sl_wal_close(w);
    }
}

static void test_flipped_bytes(void **state)
{
    (void)state;
    struct sl_wal_opts o = {.segment_bytes = 400};
    struct sl_wal_report rep;
    struct sl_wal *w = open_wal(&o, &rep);
    uint64_t pos[30];
    append_n(w, 0, 30, pos);
    uint64_t end = sl_wal_end(w);
    sl_wal_close(w);
    /* Flip each byte of record 12 in turn; every flip is found and everything from record
     * 12 on is dropped (later segments removed). Restore all files between rounds. */
    char names[64][512];
    uint8_t saved[64][512];
    ssize_t lens[64];
    int nf = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".wal") != NULL) {
            snprintf(names[nf], sizeof(names[nf]), "%s/%s", dir, de->d_name);
            int fd = open(names[nf], O_RDONLY);
            lens[nf] = read(fd, saved[nf], sizeof(saved[nf]));
            close(fd);
            nf++;
        }
    }
    closedir(d);
    assert_true(nf > 3);
    /* The segment holding record 12: the largest base <= pos[12]. */
    uint64_t base = 0;
    for (int i = 0; i < nf; i++) {
        uint64_t b = strtoull(strrchr(names[i], '/') + 1, NULL, 10);
        if (b <= pos[12] && b > base) {
            base = b;
        }
    }
    char target[512];
    seg_file(base, target, sizeof(target));
    for (uint64_t off = pos[12]; off < pos[13]; off++) {
        for (int i = 0; i < nf; i++) {
            int fd = open(names[i], O_WRONLY | O_CREAT | O_TRUNC, 0640);
            assert_int_equal(write(fd, saved[i], (size_t)lens[i]), lens[i]);
            close(fd);
            if (strcmp(names[i], target) == 0) {
                fd = open(names[i], O_RDWR);
                uint8_t b;
                assert_int_equal(pread(fd, &b, 1, (off_t)(off - base)), 1);
                b ^= 0x10;
                assert_int_equal(pwrite(fd, &b, 1, (off_t)(off - base)), 1);
                close(fd);
            }
        }
        w = open_wal(&o, &rep);
        assert_int_equal(rep.records, 12);
        assert_int_equal(rep.end, pos[12]);
        assert_true(rep.cut_bytes > 0);
        assert_true(rep.cut_bytes < end);
        expect_read(w, 0, 12);
        sl_wal_close(w);
    }
}

/* ---- concurrency ---- */

#define CONC_N 20000

static void *appender(void *arg)
{
    struct sl_wal *w = arg;
    char p[64];
    for (int i = 0; i < CONC_N; i++) {
        int n = sprintf(p, "%d", i);
        int r;
        while ((r = sl_wal_append(w, i, (uint16_t)i, "t", 1, p, (size_t)n, NULL)) == -ENOSPC) {
            sl_wal_wait_space(w, 100);
        }
        assert_int_equal(r, 0);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    /* Small segments and a small bound: the appender rolls and waits while the reader
     * reads and truncates behind itself. */
    struct sl_wal_opts o = {.segment_bytes = 4096, .max_bytes = 64 * 1024};
    struct sl_wal_report rep;
    struct sl_wal *w = open_wal(&o, &rep);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, appender, w), 0);
    int next = 0;
    uint64_t done = 0;
    struct sl_wal_rec rec;
    while (next < CONC_N) {
        int r = sl_wal_read(w, &rec);
        assert_true(r >= 0);
        if (r == 0) {
            sl_wal_truncate(w, done); /* caught up: free what was read */
            sched_yield();
            continue;
        }
        done = rec.next;
        char want[16];
        int n = sprintf(want, "%d", next);
        assert_int_equal(rec.payload_len, n);
        assert_memory_equal(rec.payload, want, (size_t)n);
        assert_int_equal(rec.recv_ms, next);
        next++;
        if (next % 97 == 0) {
            sl_wal_truncate(w, rec.next);
        }
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(sl_wal_read(w, &rec), 0);
    assert_true(sl_wal_bytes(w) <= 64 * 1024);
    sl_wal_close(w);
}

/* ---- full ---- */

static void *truncator(void *arg)
{
    struct sl_wal *w = arg;
    sl_wal_truncate(w, sl_wal_end(w));
    return NULL;
}

static void test_full_bound(void **state)
{
    (void)state;
    struct sl_wal_opts o = {.segment_bytes = 256, .max_bytes = 1024, .keep_keys = 1};
    struct sl_wal_report rep;
    struct sl_wal *w = open_wal(&o, &rep);
    int i = 0, r;
    char t[32], p[64];
    size_t tl, pl;
    for (;; i++) {
        make(i, t, &tl, p, &pl);
        r = sl_wal_append(w, i, 1, t, tl, p, pl, NULL);
        if (r != 0) {
            break;
        }
    }
    assert_int_equal(r, -ENOSPC);
    assert_true(i > 10);
    assert_true(sl_wal_bytes(w) <= 1024);
    assert_true(sl_wal_full(w));
    assert_int_equal(sl_wal_wait_space(w, 10), -ETIMEDOUT);
    /* Another thread truncates: the waiting appender gets room. */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, truncator, w), 0);
    assert_int_equal(sl_wal_wait_space(w, -1), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_false(sl_wal_full(w));
    assert_int_equal(sl_wal_append(w, i, 1, t, tl, p, pl, NULL), 0);
    /* A wake makes a waiter return -EINTR. */
    sl_wal_wake(w);
    assert_int_equal(sl_wal_wait_space(w, -1), -EINTR);
    sl_wal_close(w);
}

/* A write hook that writes part of the record then fails with ENOSPC while armed. */
static _Atomic int enospc_armed;

static ssize_t write_hook(int fd, const void *buf, size_t len)
{
    if (enospc_armed) {
        ssize_t n = write(fd, buf, len / 2);
        if (n > 0) {
            return n; /* a short write first, as a filling disk does */
        }
        errno = ENOSPC;
        return -1;
    }
    return write(fd, buf, len);
}

static ssize_t always_enospc(int fd, const void *buf, size_t len)
{
    (void)fd;
    (void)buf;
    (void)len;
    errno = ENOSPC;
    return -1;
}

static void test_enospc_hook(void **state)
{
    (void)state;
    struct sl_wal_opts o = {.write_fn = write_hook};
    struct sl_wal_report rep;
    struct sl_wal *w = open_wal(&o, &rep);
    append_n(w, 0, 5, NULL);
    uint64_t end = sl_wal_end(w);
    char t[32], p[64];
    size_t tl, pl;
    make(5, t, &tl, p, &pl);
    /* A disk that refuses every byte. */
    sl_wal_close(w);
    o.write_fn = always_enospc;
    w = open_wal(&o, &rep);
    assert_int_equal(sl_wal_append(w, 1005, 6, t, tl, p, pl, NULL), -ENOSPC);
    assert_true(sl_wal_full(w));
    assert_int_equal(sl_wal_end(w), end);
    sl_wal_close(w);
    /* A disk that fills during the record: short writes (half, a quarter, ...) then ENOSPC;
     * the part already written is cut off again. */
    o.write_fn = write_hook;
    enospc_armed = 1;
    w = open_wal(&o, &rep);
    int r = sl_wal_append(w, 1005, 6, t, tl, p, pl, NULL);
    assert_int_equal(r, -ENOSPC);
    assert_int_equal(sl_wal_end(w), end);
    enospc_armed = 0;
    append_n(w, 5, 8, NULL);
    sl_wal_close(w);
    w = open_wal(&o, &rep);
    assert_int_equal(rep.records, 8);
    assert_int_equal(rep.cut_bytes, 0);
    expect_read(w, 0, 8);
    sl_wal_close(w);
}

static void test_garbage_and_gap(void **state)
{
    (void)state;
    struct sl_wal_opts o = {.segment_bytes = 200};
    struct sl_wal_report rep;
    struct sl_wal *w = open_wal(&o, &rep);
    uint64_t pos[40];
    append_n(w, 0, 40, pos);
    uint64_t end = sl_wal_end(w);
    sl_wal_close(w);
    /* A stray segment far past the end: removed, the log is intact up to end. */
    char path[256];
    seg_file(end + 1000, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT, 0640);
    assert_int_equal(write(fd, "\xff\xff\xff\xffjunk", 8), 8);
    close(fd);
    /* A file that is not a segment is left alone. */
    char other[256];
    snprintf(other, sizeof(other), "%s/notes.txt", dir);
    fd = open(other, O_WRONLY | O_CREAT, 0640);
    close(fd);
    w = open_wal(&o, &rep);
    assert_int_equal(rep.records, 40);
    assert_int_equal(rep.removed_segments, 1);
    assert_non_null(strstr(rep.why, "does not follow"));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(other, F_OK), 0);
    expect_read(w, 0, 40);
    sl_wal_close(w);
    unlink(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_roll_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_keeps_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redelivery_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_gap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
