/* journal.h — an append-only file of checksummed records.
 *
 * On disk (format 2): a 16-byte file header ("iamp-jnl", the le32 format
 * number, the CRC-32C of those 12 bytes), then records, each a 16-byte
 * header — the le32 marker IAMP_JOURNAL_MARK, the le32 payload length, the
 * le32 CRC-32C of the payload, the le32 CRC-32C of those 12 header bytes —
 * and the payload. Appends write a batch of records and fsync before they
 * return, so a record the caller acknowledges survives a crash.
 *
 * Opening replays every intact record in order. A record that fails its
 * checks is damage: replay scans forward for the next place where a whole
 * record checks out (marker, header CRC, payload CRC) and goes on from
 * there, so one damaged record in the middle loses that record alone; the
 * damaged ranges are reported. Damage with no intact record after it is a
 * torn tail (a crash during an append) and is cut off, so later appends
 * follow intact data. A file that does not begin with the header (nor is a
 * format-1 journal, records from offset 0 without markers, which is
 * replayed by its own rules and rewritten as format 2) is not opened: the
 * caller gets IAMP_ECORRUPT and a reason, and the file is left alone.
 *
 * The journal knows nothing about what records mean. One thread at a time
 * may use a journal; the server appends from its commit worker only.
 */
#ifndef IAMP_JOURNAL_H
#define IAMP_JOURNAL_H

#include "common/error.h"

#include <stddef.h>
#include <stdint.h>

#define IAMP_JOURNAL_RECORD_MAX (1u << 30) /* payload bytes of one record */
#define IAMP_JOURNAL_FILE_HEADER_BYTES 16
#define IAMP_JOURNAL_HEADER_BYTES 16  /* of each record */
#define IAMP_JOURNAL_MARK 0x6365726au /* "jrec" little-endian */
#define IAMP_JOURNAL_FORMAT 2

struct iamp_journal {
    int fd;
    uint64_t size; /* bytes of the file up to the end of its last intact record */
    int broken;    /* an append failed and could not be undone */
    char path[4096];
};

/* What opening (or scanning) found. */
struct iamp_journal_replay {
    long records;           /* intact records replayed */
    uint64_t kept_bytes;    /* file size after truncation */
    uint64_t torn_bytes;    /* bytes dropped from the tail */
    long damaged;           /* damaged ranges in the middle, skipped */
    uint64_t damaged_bytes; /* their bytes */
    uint64_t first_damage;  /* offset of the first one (when damaged > 0) */
    int format;             /* the file's format as found (1 or 2; 0: new) */
    char why[200];          /* IAMP_ECORRUPT: why the file is not a journal */
};

/* Called once per intact record, in order; payload is borrowed. at: the
 * record's offset in the file, for iamp_journal_read (0 while a format-1
 * file is replayed: its records move when it is rewritten). */
typedef void (*iamp_journal_record_cb)(void *ctx, const uint8_t *payload, size_t len, uint64_t at);

/* Open or create path, replay it through cb (may be NULL), cut a torn
 * tail (fsynced); a format-1 file is rewritten as format 2. */
IAMP_WUR int iamp_journal_open(struct iamp_journal *j, const char *path, iamp_journal_record_cb cb,
                               void *ctx, struct iamp_journal_replay *rep);
/* Replay path read-only: what opening would find, changing nothing
 * (IAMP_ENOENT when it does not exist). */
IAMP_WUR int iamp_journal_scan(const char *path, iamp_journal_record_cb cb, void *ctx,
                               struct iamp_journal_replay *rep);
void iamp_journal_close(struct iamp_journal *j);

/* One record to append: payload bytes. */
struct iamp_journal_rec {
    const uint8_t *data;
    size_t len;
};

/* Append n records and fsync; at (may be NULL) gets each record's offset.
 * On failure the file is cut back to its size before the call, so no
 * partial record is left behind. */
IAMP_WUR int iamp_journal_append(struct iamp_journal *j, const struct iamp_journal_rec *recs, int n,
                                 uint64_t *at);
/* Replace the whole journal by recs, atomically (temp file, fsync, rename,
 * directory fsync): a crash leaves the old journal or the new one. at (may
 * be NULL) gets each record's offset in the new file. */
IAMP_WUR int iamp_journal_rewrite(struct iamp_journal *j, const struct iamp_journal_rec *recs,
                                  int n, uint64_t *at);
/* The payload of the record at offset at (as append, rewrite or replay
 * gave it), checked against its CRCs, into *payload (malloc'd). Safe on
 * one thread while another appends: it reads only what is written. */
IAMP_WUR int iamp_journal_read(const struct iamp_journal *j, uint64_t at, uint8_t **payload,
                               size_t *len);

#endif
