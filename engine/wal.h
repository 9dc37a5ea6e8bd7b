/*
 * wal.h - a write-ahead log of received messages: the MQTT source's crash durability
 * (DESIGN.md, "Delivery guarantees": MQTT). Standalone for now: nothing in the engine calls
 * it yet.
 *
 * Layout. A directory of segment files named after the log position of their first byte
 * (20 decimal digits + ".wal"); positions are byte offsets in the log, contiguous across
 * segments. A record is framed as
 *     u32 body length | u32 CRC-32C of the body | body
 *     body = i64 receive time (ms) | u16 packet id | u16 0 | u32 topic length | topic | payload
 * (little-endian), so a torn tail or a flipped byte is detected: open() stops at the last good
 * record, cuts the file there, removes any later segment, and says so in its report. It never
 * loads half a record and never crashes on a damaged log.
 *
 * Threads. One appender thread (the MQTT callbacks) calls append / session / seen /
 * wait_space / sync;
 * one reader thread calls read / seek; truncate may be called from any one thread (the one
 * that commits). The appender publishes the log's end with a release store after each
 * write(); the reader loads it with acquire and reads the bytes back with pread, so it never
 * sees a record that is not completely written. The segment list is under a mutex taken only
 * when a segment is added, removed or entered by the reader, never per record.
 *
 * Durability: each append is one write() of the whole record (it survives a crash of the
 * process; fsync only when sl_wal_sync is called or opts.fsync is set, for host crashes).
 *
 * Bounds. The log is "full" when its size on disk would pass max_bytes, and also after a
 * write failed with ENOSPC (the partial record is cut off again): append then returns
 * -ENOSPC, nothing is written, and the appender may wait in sl_wal_wait_space until a
 * truncate frees room. Truncation deletes whole segments that end at or before the given
 * position, but never one that holds any of the last keep_keys records, whose redelivery
 * keys (packet id, CRC-32C of topic and payload) sl_wal_seen checks; open() rebuilds those
 * keys from the log.
 */
#ifndef SL_WAL_H
#define SL_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"

struct sl_wal;

struct sl_wal_opts {
    const char *dir;        /* created if missing */
    uint64_t segment_bytes; /* a segment is closed once it reaches this size (0: 64 MiB) */
    uint64_t max_bytes;     /* size bound of the whole log (0: 1 GiB) */
    uint32_t max_record;    /* largest record body accepted (0: 16 MiB + 64 KiB) */
    uint32_t keep_keys;     /* redelivery keys kept (Receive Maximum; 0: 100) */
    bool fsync;             /* fdatasync after every append */
    /* Test hook: replaces write(2) for appends (NULL: write). */
    ssize_t (*write_fn)(int fd, const void *buf, size_t len);
};

/* What open() found. */
struct sl_wal_report {
    uint64_t records;     /* good records in the log */
    uint64_t first, end;  /* positions: first record kept, end of the log */
    uint64_t cut_bytes;   /* bytes dropped after the last good record (torn or damaged) */
    int removed_segments; /* segments after a damaged one, removed */
    char why[160];        /* what was wrong, "" when nothing */
};

/* One record as the reader sees it; topic and payload stay valid until the next read. */
struct sl_wal_rec {
    uint64_t pos, next; /* this record's position and the next one's */
    int64_t recv_ms;
    uint16_t packet_id;
    const char *topic;
    uint32_t topic_len;
    const void *payload;
    uint32_t payload_len;
};

/* Opens (or creates) the log in opts->dir, checks every record, repairs a damaged tail as
 * described above and fills *rep. The reader starts at the first record. Returns 0, or a
 * negative errno with err set (the directory cannot be made or read). */
int sl_wal_open(const struct sl_wal_opts *opts, struct sl_wal **ret_wal, struct sl_wal_report *rep,
                struct sl_err *err);
void sl_wal_close(struct sl_wal *w);

/* Appends one record with one write() and returns its position in *ret_pos (may be NULL).
 * Returns 0; -ENOSPC when the log is full (nothing written; see sl_wal_wait_space);
 * -EMSGSIZE when the record is larger than max_record; another negative errno on an I/O
 * error. Appender thread. */
int sl_wal_append(struct sl_wal *w, int64_t recv_ms, uint16_t packet_id, const char *topic,
                  size_t topic_len, const void *payload, size_t payload_len, uint64_t *ret_pos);

/* A session with the broker began (CONNACK): resumed says the broker kept the previous one
 * (session present), so it may send again any message it had not seen acknowledged. Each
 * packet id's newest record among the last keep_keys becomes a redelivery candidate; a new
 * session has none. Appender thread. */
void sl_wal_session(struct sl_wal *w, bool resumed);

/* Whether this message is a redelivery: the candidate of its packet id (sl_wal_session) has
 * the same topic and payload. The first message of the session with that id, redelivery or
 * not, ends its candidacy: within a session a broker never sends a message twice, and it
 * reuses a packet id only for a new message, which may well carry the same payload. Before
 * any sl_wal_session, nothing is a redelivery. Appender thread. */
bool sl_wal_seen(struct sl_wal *w, uint16_t packet_id, const char *topic, size_t topic_len,
                 const void *payload, size_t payload_len);

/* Whether the log is full now (any thread). */
bool sl_wal_full(struct sl_wal *w);

/* Waits until the log is no longer full (a truncate freed room, or a retry after ENOSPC
 * may succeed), sl_wal_wake was called, or timeout_ms passes (< 0: no limit). Returns 0
 * when there is room, -ETIMEDOUT, or -EINTR (woken). Appender thread. */
int sl_wal_wait_space(struct sl_wal *w, int timeout_ms);

/* Makes sl_wal_wait_space return -EINTR (shutdown). Any thread. */
void sl_wal_wake(struct sl_wal *w);

/* fdatasyncs the current segment. Appender thread. Returns 0 or a negative errno. */
int sl_wal_sync(struct sl_wal *w);

/* Reads the next complete record into *rec. Returns 1, 0 when the reader is at the end of
 * what was appended, or a negative errno (-EIO: a record read back is damaged). Reader
 * thread. */
int sl_wal_read(struct sl_wal *w, struct sl_wal_rec *rec);

/* Moves the reader to pos (a record position in [first, end]). Returns 0 or -ERANGE.
 * Reader thread. */
int sl_wal_seek(struct sl_wal *w, uint64_t pos);

/* Deletes every segment that ends at or before pos and holds none of the last keep_keys
 * records. Returns the number of segments deleted, or a negative errno. One thread. */
int sl_wal_truncate(struct sl_wal *w, uint64_t pos);

/* The log's first kept position, end position and size on disk (any thread). */
uint64_t sl_wal_first(struct sl_wal *w);
uint64_t sl_wal_end(struct sl_wal *w);
uint64_t sl_wal_bytes(struct sl_wal *w);

/* CRC-32C (Castagnoli) of buf, continuing from crc (0 to start). */
uint32_t sl_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
