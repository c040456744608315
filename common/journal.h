/* journal.h — an append-only file of checksummed records.
 *
 * On disk each record is a 4-byte little-endian payload length, the 4-byte
 * little-endian CRC-32C of the payload, then the payload. Appends write a
 * batch of records and fsync before they return, so a record the caller
 * acknowledges survives a crash. Opening replays every intact record in
 * order and truncates the file at the first record that is torn (cut short
 * by a crash) or damaged, so the journal always loads and later appends
 * follow intact data.
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
#define IAMP_JOURNAL_HEADER_BYTES 8

struct iamp_journal {
    int fd;
    uint64_t size; /* bytes of intact records */
    int broken;    /* an append failed and could not be undone */
    char path[4096];
};

/* What opening found. */
struct iamp_journal_replay {
    long records;        /* intact records replayed */
    uint64_t kept_bytes; /* file size after truncation */
    uint64_t torn_bytes; /* bytes dropped from the tail */
};

/* Called once per intact record, in order; payload is borrowed. */
typedef void (*iamp_journal_record_cb)(void *ctx, const uint8_t *payload, size_t len);

/* Open or create path, replay it through cb (may be NULL), truncate a torn
 * tail (fsynced). */
IAMP_WUR int iamp_journal_open(struct iamp_journal *j, const char *path, iamp_journal_record_cb cb,
                               void *ctx, struct iamp_journal_replay *rep);
void iamp_journal_close(struct iamp_journal *j);

/* One record to append: payload bytes. */
struct iamp_journal_rec {
    const uint8_t *data;
    size_t len;
};

/* Append n records and fsync. On failure the file is cut back to its size
 * before the call, so no partial record is left behind. */
IAMP_WUR int iamp_journal_append(struct iamp_journal *j, const struct iamp_journal_rec *recs,
                                 int n);
/* Replace the whole journal by recs, atomically (temp file, fsync, rename,
 * directory fsync): a crash leaves the old journal or the new one. */
IAMP_WUR int iamp_journal_rewrite(struct iamp_journal *j, const struct iamp_journal_rec *recs,
                                  int n);

#endif
