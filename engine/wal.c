/*
 * wal.c - the write-ahead log (wal.h): segment files, CRC-32C framing, repair on open, an
 * appender and a reader on two threads, truncation, and a size bound with a "full" state.
 *
 * Shared state: `end` (appender stores with release after each write; the reader loads with
 * acquire) and `first` (truncate stores under the mutex). The segment list, the full flag and
 * the wake flag are under the mutex, with a condition variable for sl_wal_wait_space. The
 * appender's file, buffer and key ring and the reader's file and buffer are private to their
 * threads.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wal.h"

#define HDR        8u  /* body length + CRC */
#define BODY_FIXED 16u /* receive time, packet id, 0, topic length */
#define NAME_LEN   (20 + 4)

struct key {
    uint16_t pid;
    uint32_t tcrc, pcrc;
};

struct sl_wal {
    char *dir;
    uint64_t seg_bytes, max_bytes;
    uint32_t max_record, nkeys;
    bool fsync;
    ssize_t (*write_fn)(int fd, const void *buf, size_t len);

    pthread_mutex_t lock;
    pthread_cond_t space;
    uint64_t *segs; /* bases, ascending; under lock */
    size_t nsegs, segs_cap;
    bool full;  /* under lock: an append was refused for want of room */
    bool woken; /* under lock: sl_wal_wake */
    _Atomic uint64_t first, end;
    atomic_bool enospc;

    /* Appender. */
    int afd;
    uint64_t abase, apos;
    uint8_t *abuf;
    size_t acap;
    struct key *keys;
    uint64_t *key_pos;
    uint32_t key_next, key_count;
    /* Redelivery candidates of the current session, by packet id: the newest record with
     * that id appended before the session began, until a message with the id arrives
     * (pid 0: no candidate; QoS 1 packet ids are never 0). */
    struct key *cand;           /* 65 536, NULL before the first sl_wal_session */
    _Atomic uint64_t keep_from; /* position of the oldest record whose key is kept */

    /* Reader. */
    int rfd;
    uint64_t rbase, rend; /* the reader's segment: [rbase, rend); rend UINT64_MAX: the last */
    uint64_t rpos;
    uint8_t *rbuf;
    size_t rcap, rlen;
    uint64_t rbuf_pos; /* log position of rbuf[0] */
};

/* ---- CRC-32C ---- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        crc_table[i] = c;
    }
}

uint32_t sl_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    }
    return ~crc;
}

/* ---- little-endian fields ---- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- helpers ---- */

static void seg_path(const struct sl_wal *w, uint64_t base, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%020" PRIu64 ".wal", w->dir, base);
}

static void fsync_dir(const struct sl_wal *w)
{
    int fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static void key_push(struct sl_wal *w, uint64_t pos, struct key k)
{
    w->keys[w->key_next] = k;
    w->key_pos[w->key_next] = pos;
    w->key_next = (w->key_next + 1) % w->nkeys;
    if (w->key_count < w->nkeys) {
        w->key_count++;
    }
    uint32_t oldest = w->key_count < w->nkeys ? 0 : w->key_next;
    atomic_store_explicit(&w->keep_from, w->key_pos[oldest], memory_order_release);
}

static struct key key_of(uint16_t pid, const void *topic, size_t tlen, const void *payload,
                         size_t plen)
{
    struct key k = {
        .pid = pid, .tcrc = sl_crc32c(0, topic, tlen), .pcrc = sl_crc32c(0, payload, plen)};
    return k;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void segs_push(struct sl_wal *w, uint64_t base)
{
    if (w->nsegs == w->segs_cap) {
        w->segs_cap = w->segs_cap ? w->segs_cap * 2 : 16;
        uint64_t *n = realloc(w->segs, w->segs_cap * sizeof(*n));
        if (n == NULL) {
            abort();
        }
        w->segs = n;
    }
    w->segs[w->nsegs++] = base;
}

/* Checks the record at p (avail bytes); returns its total size, 0 when incomplete, or -1
 * when damaged. */
static int64_t check_rec(const struct sl_wal *w, const uint8_t *p, size_t avail)
{
    if (avail < HDR) {
        return 0;
    }
    uint32_t len = get32(p);
    if (len < BODY_FIXED || len > w->max_record) {
        return -1;
    }
    if (avail < HDR + (size_t)len) {
        return 0;
    }
    if (sl_crc32c(0, p + HDR, len) != get32(p + 4)) {
        return -1;
    }
    if (get32(p + HDR + 12) > len - BODY_FIXED) {
        return -1;
    }
    return (int64_t)(HDR + len);
}

/* ---- open: scan and repair ---- */

/* Scans segment i; returns its good length, and sets *damaged when it stops early. */
static int scan_segment(struct sl_wal *w, uint64_t base, struct sl_wal_report *rep, bool *damaged,
                        uint64_t *ret_good, uint64_t *ret_size)
{
    char path[4096];
    seg_path(w, base, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    size_t cap = (size_t)w->max_record + HDR + (1u << 16);
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    uint64_t good = 0; /* file offset after the last good record */
    size_t len = 0;    /* bytes in buf, from file offset good */
    uint64_t file_off = 0;
    *damaged = false;
    for (;;) {
        size_t off = 0;
        for (;;) {
            int64_t n = check_rec(w, buf + off, len - off);
            if (n <= 0) {
                if (n < 0) {
                    *damaged = true;
                }
                break;
            }
            const uint8_t *b = buf + off + HDR;
            uint32_t tlen = get32(b + 12);
            uint32_t blen = get32(buf + off);
            key_push(w, base + good,
                     key_of((uint16_t)(b[8] | b[9] << 8), b + BODY_FIXED, tlen,
                            b + BODY_FIXED + tlen, blen - BODY_FIXED - tlen));
            rep->records++;
            good += (uint64_t)n;
            off += (size_t)n;
        }
        if (*damaged) {
            break;
        }
        memmove(buf, buf + off, len - off);
        len -= off;
        ssize_t r = pread(fd, buf + len, cap - len, (off_t)file_off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            if (len > 0) {
                *damaged = true; /* a torn record at the end */
            }
            break;
        }
        len += (size_t)r;
        file_off += (uint64_t)r;
    }
    free(buf);
    close(fd);
    *ret_good = good;
    *ret_size = (uint64_t)st.st_size;
    return 0;
}

int sl_wal_open(const struct sl_wal_opts *opts, struct sl_wal **ret_wal, struct sl_wal_report *rep,
                struct sl_err *err)
{
    struct sl_wal *w = sl_xcalloc(1, sizeof(*w));
    char path[4096];
    int r;

    memset(rep, 0, sizeof(*rep));
    w->dir = strdup(opts->dir);
    if (w->dir == NULL) {
        abort();
    }
    w->seg_bytes = opts->segment_bytes ? opts->segment_bytes : (uint64_t)64 << 20;
    w->max_bytes = opts->max_bytes ? opts->max_bytes : (uint64_t)1 << 30;
    w->max_record = opts->max_record ? opts->max_record : (16u << 20) + (64u << 10);
    w->nkeys = opts->keep_keys ? opts->keep_keys : 100;
    w->fsync = opts->fsync;
    w->write_fn = opts->write_fn ? opts->write_fn : write;
    w->afd = w->rfd = -1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->space, &ca);
    pthread_condattr_destroy(&ca);
    w->keys = sl_xcalloc(w->nkeys, sizeof(*w->keys));
    w->key_pos = sl_xcalloc(w->nkeys, sizeof(*w->key_pos));
    w->acap = 64 << 10;
    w->abuf = sl_xcalloc(1, w->acap);
    w->rcap = 256 << 10;
    w->rbuf = sl_xcalloc(1, w->rcap);

    if (mkdir(w->dir, 0750) < 0 && errno != EEXIST) {
        r = sl_err_set(err, -errno, "wal: cannot create %s: %s", w->dir, strerror(errno));
        goto fail;
    }
    DIR *d = opendir(w->dir);
    if (d == NULL) {
        r = sl_err_set(err, -errno, "wal: cannot read %s: %s", w->dir, strerror(errno));
        goto fail;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strlen(n) != NAME_LEN || strcmp(n + 20, ".wal") != 0 || strspn(n, "0123456789") != 20) {
            continue;
        }
        segs_push(w, strtoull(n, NULL, 10));
    }
    closedir(d);
    if (w->nsegs > 1) {
        qsort(w->segs, w->nsegs, sizeof(*w->segs), cmp_u64);
    }

    uint64_t end = w->nsegs > 0 ? w->segs[0] : 0;
    for (size_t i = 0; i < w->nsegs; i++) {
        bool damaged = false, gap = false;
        uint64_t good = 0, size = 0;
        if (w->segs[i] != end) {
            gap = true;
            snprintf(rep->why, sizeof(rep->why),
                     "segment %020" PRIu64 " does not follow the log's end %" PRIu64, w->segs[i],
                     end);
            damaged = true;
        } else {
            r = scan_segment(w, w->segs[i], rep, &damaged, &good, &size);
            if (r < 0) {
                sl_err_set(err, r, "wal: cannot read segment %020" PRIu64 ": %s", w->segs[i],
                           strerror(-r));
                goto fail;
            }
            end = w->segs[i] + good;
            if (damaged) {
                rep->cut_bytes += size - good;
                snprintf(rep->why, sizeof(rep->why),
                         "segment %020" PRIu64 ": a torn or damaged record at position %" PRIu64
                         "; %" PRIu64 " bytes cut",
                         w->segs[i], end, size - good);
                seg_path(w, w->segs[i], path, sizeof(path));
                if (truncate(path, (off_t)good) < 0) {
                    r = sl_err_set(err, -errno, "wal: cannot cut %s: %s", path, strerror(errno));
                    goto fail;
                }
            }
        }
        if (damaged) {
            /* A segment out of place goes; a damaged one was cut and stays. */
            size_t keep = gap ? i : i + 1;
            for (size_t j = keep; j < w->nsegs; j++) {
                seg_path(w, w->segs[j], path, sizeof(path));
                unlink(path);
                rep->removed_segments++;
            }
            w->nsegs = keep;
            break;
        }
    }
    if (w->nsegs == 0) {
        segs_push(w, end);
    }
    w->abase = w->segs[w->nsegs - 1];
    seg_path(w, w->abase, path, sizeof(path));
    w->afd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (w->afd < 0) {
        r = sl_err_set(err, -errno, "wal: cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (w->fsync) {
        fsync_dir(w);
    }
    w->apos = end;
    atomic_init(&w->end, end);
    atomic_init(&w->first, w->segs[0]);
    if (w->key_count == 0) {
        atomic_init(&w->keep_from, end);
    }
    w->rpos = w->rbuf_pos = w->segs[0];
    rep->first = w->segs[0];
    rep->end = end;
    *ret_wal = w;
    return 0;
fail:
    sl_wal_close(w);
    return r;
}

void sl_wal_close(struct sl_wal *w)
{
    if (w == NULL) {
        return;
    }
    if (w->afd >= 0) {
        if (w->fsync) {
            fdatasync(w->afd);
        }
        close(w->afd);
    }
    if (w->rfd >= 0) {
        close(w->rfd);
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->space);
    free(w->segs);
    free(w->keys);
    free(w->cand);
    free(w->key_pos);
    free(w->abuf);
    free(w->rbuf);
    free(w->dir);
    free(w);
}

/* ---- appender ---- */

static int roll(struct sl_wal *w)
{
    char path[4096];
    seg_path(w, w->apos, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -errno;
    }
    if (w->fsync) {
        fdatasync(w->afd);
        fsync_dir(w);
    }
    close(w->afd);
    w->afd = fd;
    w->abase = w->apos;
    pthread_mutex_lock(&w->lock);
    segs_push(w, w->apos);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int sl_wal_append(struct sl_wal *w, int64_t recv_ms, uint16_t packet_id, const char *topic,
                  size_t topic_len, const void *payload, size_t payload_len, uint64_t *ret_pos)
{
    if (topic_len > UINT32_MAX || payload_len > w->max_record ||
        BODY_FIXED + topic_len + payload_len > w->max_record) {
        return -EMSGSIZE;
    }
    uint32_t blen = (uint32_t)(BODY_FIXED + topic_len + payload_len);
    size_t total = HDR + blen;
    uint64_t first = atomic_load_explicit(&w->first, memory_order_acquire);
    if (w->apos + total - first > w->max_bytes) {
        pthread_mutex_lock(&w->lock);
        first = atomic_load_explicit(&w->first, memory_order_relaxed);
        bool over = w->apos + total - first > w->max_bytes;
        w->full = w->full || over;
        pthread_mutex_unlock(&w->lock);
        if (over) {
            return -ENOSPC;
        }
    }
    if (w->apos > w->abase && w->apos - w->abase + total > w->seg_bytes) {
        int r = roll(w);
        if (r < 0) {
            return r;
        }
    }
    if (total > w->acap) {
        size_t cap = w->acap;
        while (cap < total) {
            cap *= 2;
        }
        uint8_t *n = realloc(w->abuf, cap);
        if (n == NULL) {
            return -ENOMEM;
        }
        w->abuf = n;
        w->acap = cap;
    }
    uint8_t *p = w->abuf;
    put32(p, blen);
    put64(p + HDR, (uint64_t)recv_ms);
    p[HDR + 8] = (uint8_t)packet_id;
    p[HDR + 9] = (uint8_t)(packet_id >> 8);
    p[HDR + 10] = p[HDR + 11] = 0;
    put32(p + HDR + 12, (uint32_t)topic_len);
    if (topic_len > 0) {
        memcpy(p + HDR + BODY_FIXED, topic, topic_len);
    }
    if (payload_len > 0) {
        memcpy(p + HDR + BODY_FIXED + topic_len, payload, payload_len);
    }
    put32(p + 4, sl_crc32c(0, p + HDR, blen));

    size_t done = 0;
    while (done < total) {
        ssize_t n = w->write_fn(w->afd, p + done, total - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            /* Cut a partial record off again so that the log stays well-formed. */
            if (done > 0 && ftruncate(w->afd, (off_t)(w->apos - w->abase)) < 0) {
                e = errno;
            }
            if (e == ENOSPC || e == EDQUOT) {
                atomic_store(&w->enospc, true);
                pthread_mutex_lock(&w->lock);
                w->full = true;
                pthread_mutex_unlock(&w->lock);
                return -ENOSPC;
            }
            return -e;
        }
        done += (size_t)n;
    }
    if (w->fsync && fdatasync(w->afd) < 0) {
        return -errno;
    }
    if (atomic_load_explicit(&w->enospc, memory_order_relaxed)) {
        atomic_store(&w->enospc, false);
    }
    uint64_t pos = w->apos;
    w->apos += total;
    /* Pairs with the reader's acquire load: the record is written before end covers it. */
    atomic_store_explicit(&w->end, w->apos, memory_order_release);
    key_push(w, pos, key_of(packet_id, topic, topic_len, payload, payload_len));
    if (ret_pos != NULL) {
        *ret_pos = pos;
    }
    return 0;
}

void sl_wal_session(struct sl_wal *w, bool resumed)
{
    if (w->cand == NULL) {
        w->cand = sl_xcalloc(65536, sizeof(*w->cand));
    }
    memset(w->cand, 0, 65536 * sizeof(*w->cand));
    if (!resumed) {
        return; /* a new session: the broker has nothing to send again */
    }
    /* Oldest to newest, so that the newest record of each packet id wins: the broker reuses
     * an id only once its previous message was acknowledged. */
    uint32_t oldest = w->key_count < w->nkeys ? 0 : w->key_next;
    for (uint32_t i = 0; i < w->key_count; i++) {
        const struct key *k = &w->keys[(oldest + i) % w->nkeys];
        if (k->pid != 0) {
            w->cand[k->pid] = *k;
        }
    }
}

bool sl_wal_seen(struct sl_wal *w, uint16_t packet_id, const char *topic, size_t topic_len,
                 const void *payload, size_t payload_len)
{
    if (packet_id == 0 || w->cand == NULL || w->cand[packet_id].pid == 0) {
        return false;
    }
    struct key k = key_of(packet_id, topic, topic_len, payload, payload_len);
    struct key *x = &w->cand[packet_id];
    /* Whatever it is, the id now belongs to this session: a later message with it is new. */
    x->pid = 0;
    return x->tcrc == k.tcrc && x->pcrc == k.pcrc;
}

bool sl_wal_full(struct sl_wal *w)
{
    pthread_mutex_lock(&w->lock);
    bool full = w->full;
    pthread_mutex_unlock(&w->lock);
    return full || atomic_load(&w->enospc);
}

int sl_wal_wait_space(struct sl_wal *w, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    if (timeout_ms >= 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    int r = 0;
    pthread_mutex_lock(&w->lock);
    while (w->full && !w->woken) {
        int e = timeout_ms < 0 ? pthread_cond_wait(&w->space, &w->lock)
                               : pthread_cond_timedwait(&w->space, &w->lock, &dl);
        if (e == ETIMEDOUT) {
            break;
        }
    }
    if (w->woken) {
        w->woken = false;
        r = -EINTR;
    } else if (w->full) {
        r = -ETIMEDOUT;
    }
    pthread_mutex_unlock(&w->lock);
    return r;
}

void sl_wal_wake(struct sl_wal *w)
{
    pthread_mutex_lock(&w->lock);
    w->woken = true;
    pthread_cond_broadcast(&w->space);
    pthread_mutex_unlock(&w->lock);
}

int sl_wal_sync(struct sl_wal *w)
{
    return fdatasync(w->afd) < 0 ? -errno : 0;
}

/* ---- truncation ---- */

int sl_wal_truncate(struct sl_wal *w, uint64_t pos)
{
    char path[4096];
    uint64_t keep = atomic_load_explicit(&w->keep_from, memory_order_acquire);
    uint64_t limit = pos < keep ? pos : keep;
    int deleted = 0;
    pthread_mutex_lock(&w->lock);
    size_t n = 0;
    while (n + 1 < w->nsegs && w->segs[n + 1] <= limit) {
        seg_path(w, w->segs[n], path, sizeof(path));
        unlink(path);
        n++;
    }
    if (n > 0) {
        memmove(w->segs, w->segs + n, (w->nsegs - n) * sizeof(*w->segs));
        w->nsegs -= n;
        deleted = (int)n;
        atomic_store_explicit(&w->first, w->segs[0], memory_order_release);
        w->full = false;
        atomic_store(&w->enospc, false);
        pthread_cond_broadcast(&w->space);
    }
    pthread_mutex_unlock(&w->lock);
    if (deleted > 0 && w->fsync) {
        fsync_dir(w);
    }
    return deleted;
}

uint64_t sl_wal_first(struct sl_wal *w)
{
    return atomic_load_explicit(&w->first, memory_order_acquire);
}

uint64_t sl_wal_end(struct sl_wal *w)
{
    return atomic_load_explicit(&w->end, memory_order_acquire);
}

uint64_t sl_wal_bytes(struct sl_wal *w)
{
    return sl_wal_end(w) - sl_wal_first(w);
}

/* ---- reader ---- */

/* Opens the segment that holds rpos. Returns 0 or a negative errno. */
static int reader_enter(struct sl_wal *w)
{
    uint64_t base = 0, next = UINT64_MAX;
    bool found = false;
    pthread_mutex_lock(&w->lock);
    for (size_t i = w->nsegs; i-- > 0;) {
        if (w->segs[i] <= w->rpos) {
            base = w->segs[i];
            next = i + 1 < w->nsegs ? w->segs[i + 1] : UINT64_MAX;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&w->lock);
    if (!found) {
        return -ERANGE;
    }
    if (w->rfd >= 0 && base == w->rbase) {
        w->rend = next;
        return 0;
    }
    char path[4096];
    seg_path(w, base, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (w->rfd >= 0) {
        close(w->rfd);
    }
    w->rfd = fd;
    w->rbase = base;
    w->rend = next;
    return 0;
}

int sl_wal_read(struct sl_wal *w, struct sl_wal_rec *rec)
{
    for (int tries = 0; tries < 4; tries++) {
        size_t off = (size_t)(w->rpos - w->rbuf_pos);
        size_t avail = w->rlen - off;
        int64_t n = check_rec(w, w->rbuf + off, avail);
        if (n < 0) {
            return -EIO;
        }
        if (n > 0) {
            const uint8_t *b = w->rbuf + off + HDR;
            uint32_t blen = get32(w->rbuf + off);
            uint32_t tlen = get32(b + 12);
            rec->pos = w->rpos;
            rec->next = w->rpos + (uint64_t)n;
            rec->recv_ms = (int64_t)get64(b);
            rec->packet_id = (uint16_t)(b[8] | b[9] << 8);
            rec->topic = (const char *)b + BODY_FIXED;
            rec->topic_len = tlen;
            rec->payload = b + BODY_FIXED + tlen;
            rec->payload_len = blen - BODY_FIXED - tlen;
            w->rpos = rec->next;
            return 1;
        }
        /* Pairs with the appender's release store: bytes before end are written. */
        uint64_t end = atomic_load_explicit(&w->end, memory_order_acquire);
        if (w->rpos >= end) {
            return 0;
        }
        if (w->rfd < 0 || w->rpos >= w->rend || (w->rend == UINT64_MAX && tries > 0)) {
            int r = reader_enter(w);
            if (r < 0) {
                return r;
            }
        }
        /* Keep the unread bytes, then read more of this segment. */
        memmove(w->rbuf, w->rbuf + off, avail);
        w->rbuf_pos = w->rpos;
        w->rlen = avail;
        if (avail >= HDR) {
            size_t need = HDR + get32(w->rbuf);
            if (need > w->rcap && need <= (size_t)w->max_record + HDR) {
                uint8_t *nb = realloc(w->rbuf, need);
                if (nb == NULL) {
                    return -ENOMEM;
                }
                w->rbuf = nb;
                w->rcap = need;
            }
        }
        uint64_t stop = end < w->rend ? end : w->rend;
        uint64_t from = w->rbuf_pos + w->rlen;
        size_t want = w->rcap - w->rlen;
        if (stop > from && stop - from < want) {
            want = (size_t)(stop - from);
        }
        if (stop <= from) {
            continue; /* the segment ended: enter the next one */
        }
        ssize_t r = pread(w->rfd, w->rbuf + w->rlen, want, (off_t)(from - w->rbase));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        w->rlen += (size_t)r;
        if (r > 0) {
            tries = -1; /* progress: start over */
        }
    }
    return 0;
}

int sl_wal_seek(struct sl_wal *w, uint64_t pos)
{
    if (pos < sl_wal_first(w) || pos > sl_wal_end(w)) {
        return -ERANGE;
    }
    w->rpos = w->rbuf_pos = pos;
    w->rlen = 0;
    if (w->rfd >= 0) {
        close(w->rfd);
        w->rfd = -1;
    }
    return 0;
}
