/* journal.c — see journal.h. Replay maps the file read-only and walks it:
 * a record is taken only when its marker, header CRC and payload CRC all
 * check out; past damage it searches for the next such record byte by
 * byte (the marker first, so the search is a memchr-speed scan). Appends
 * go through pwrite at the known end so that a failed append can be cut
 * off again with ftruncate. */
#include "common/journal.h"

#include "common/crc32c.h"
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t file_magic[8] = {'i', 'a', 'm', 'p', '-', 'j', 'n', 'l'};

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void file_header(uint8_t h[IAMP_JOURNAL_FILE_HEADER_BYTES])
{
    memcpy(h, file_magic, sizeof(file_magic));
    put_le32(h + 8, IAMP_JOURNAL_FORMAT);
    put_le32(h + 12, iamp_crc32c(0, h, 12));
}

static void record_header(uint8_t h[IAMP_JOURNAL_HEADER_BYTES], const uint8_t *data, size_t len)
{
    put_le32(h, IAMP_JOURNAL_MARK);
    put_le32(h + 4, (uint32_t)len);
    put_le32(h + 8, iamp_crc32c(0, data, len));
    put_le32(h + 12, iamp_crc32c(0, h, 12));
}

/* ---------------------------------------------------------- replay */

/* The payload length of a whole, intact format-2 record at off, or -1. */
static long record_at(const uint8_t *m, uint64_t size, uint64_t off)
{
    if (off + IAMP_JOURNAL_HEADER_BYTES > size)
        return -1;
    const uint8_t *h = m + off;
    if (get_le32(h) != IAMP_JOURNAL_MARK || get_le32(h + 12) != iamp_crc32c(0, h, 12))
        return -1;
    uint32_t len = get_le32(h + 4);
    if (len > IAMP_JOURNAL_RECORD_MAX || off + IAMP_JOURNAL_HEADER_BYTES + len > size ||
        iamp_crc32c(0, h + IAMP_JOURNAL_HEADER_BYTES, len) != get_le32(h + 8))
        return -1;
    return (long)len;
}

/* The first offset after off holding an intact record, or size. */
static uint64_t next_record(const uint8_t *m, uint64_t size, uint64_t off)
{
    const uint8_t first = (uint8_t)IAMP_JOURNAL_MARK;
    for (uint64_t at = off + 1; at + IAMP_JOURNAL_HEADER_BYTES <= size; at++) {
        const uint8_t *p = memchr(m + at, first, (size_t)(size - at));
        if (!p)
            break;
        at = (uint64_t)(p - m);
        if (record_at(m, size, at) >= 0)
            return at;
    }
    return size;
}

/* Format 2: every intact record from the file header on; *end gets the
 * offset after the last one (where a torn tail begins). */
static void replay_v2(const uint8_t *m, uint64_t size, iamp_journal_record_cb cb, void *ctx,
                      struct iamp_journal_replay *rep, uint64_t *end)
{
    uint64_t off = IAMP_JOURNAL_FILE_HEADER_BYTES;
    *end = off;
    while (off < size) {
        long len = record_at(m, size, off);
        if (len < 0) {
            uint64_t next = next_record(m, size, off);
            if (next >= size)
                break; /* nothing intact after it: a torn tail */
            if (rep->damaged++ == 0)
                rep->first_damage = off;
            rep->damaged_bytes += next - off;
            off = next;
            continue;
        }
        if (cb)
            cb(ctx, m + off + IAMP_JOURNAL_HEADER_BYTES, (size_t)len, off);
        rep->records++;
        off += IAMP_JOURNAL_HEADER_BYTES + (uint64_t)len;
        *end = off;
    }
}

/* Format 1 (before markers): records of an 8-byte header (le32 length,
 * le32 CRC) from offset 0, replayed up to the first that fails. recs (may
 * be NULL) gets each payload, pointing into m. */
static void replay_v1(const uint8_t *m, uint64_t size, iamp_journal_record_cb cb, void *ctx,
                      struct iamp_journal_replay *rep, uint64_t *end, struct iamp_journal_rec *recs)
{
    uint64_t off = 0;
    while (off + 8 <= size) {
        uint32_t len = get_le32(m + off), crc = get_le32(m + off + 4);
        if (len > IAMP_JOURNAL_RECORD_MAX || off + 8 + len > size ||
            iamp_crc32c(0, m + off + 8, len) != crc)
            break;
        if (cb)
            cb(ctx, m + off + 8, len, 0);
        if (recs)
            recs[rep->records] = (struct iamp_journal_rec){m + off + 8, len};
        rep->records++;
        off += 8 + (uint64_t)len;
    }
    *end = off;
}

/* Which format m holds: 2, 1, 0 (empty, or a header cut short by a crash
 * while the file was created), or -1 (not a journal; why says so). */
static int format_of(const uint8_t *m, uint64_t size, struct iamp_journal_replay *rep)
{
    uint8_t h[IAMP_JOURNAL_FILE_HEADER_BYTES];
    file_header(h);
    if (size == 0)
        return 0; /* m is NULL: nothing mapped */
    if (size < sizeof(h) && memcmp(m, h, (size_t)size) == 0)
        return 0;
    if (size >= sizeof(h) && memcmp(m, h, 8) == 0) {
        if (get_le32(m + 12) == iamp_crc32c(0, m, 12) && get_le32(m + 8) == IAMP_JOURNAL_FORMAT)
            return 2;
        snprintf(rep->why, sizeof(rep->why), "journal header damaged or of an unknown format (%u)",
                 get_le32(m + 8));
        return -1;
    }
    if (size >= 8) {
        uint32_t len = get_le32(m);
        if (len <= IAMP_JOURNAL_RECORD_MAX && 8 + (uint64_t)len <= size &&
            iamp_crc32c(0, m + 8, len) == get_le32(m + 4))
            return 1;
    }
    snprintf(rep->why, sizeof(rep->why),
             "not an iamp journal (%llu bytes, no journal header at offset 0)",
             (unsigned long long)size);
    return -1;
}

/* Map fd's size bytes read-only (NULL for an empty file). */
static int map_file(int fd, uint64_t size, const uint8_t **m)
{
    *m = NULL;
    if (size == 0)
        return 0;
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return iamp_err_from_errno(errno);
    *m = p;
    return 0;
}

static void unmap_file(const uint8_t *m, uint64_t size)
{
    if (m)
        munmap((void *)m, (size_t)size);
}

int iamp_journal_scan(const char *path, iamp_journal_record_cb cb, void *ctx,
                      struct iamp_journal_replay *rep)
{
    memset(rep, 0, sizeof(*rep));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return iamp_err_from_errno(errno);
    struct stat st;
    const uint8_t *m = NULL;
    uint64_t size = 0, end = 0;
    int rc = fstat(fd, &st) ? iamp_err_from_errno(errno) : 0;
    if (!rc) {
        size = (uint64_t)st.st_size;
        rc = map_file(fd, size, &m);
    }
    int format = rc ? 0 : format_of(m, size, rep);
    if (!rc && format < 0)
        rc = IAMP_ECORRUPT;
    if (!rc && format == 2)
        replay_v2(m, size, cb, ctx, rep, &end);
    else if (!rc && format == 1)
        replay_v1(m, size, cb, ctx, rep, &end, NULL);
    if (!rc) {
        rep->format = format;
        rep->torn_bytes = size > end && format ? size - end : 0;
        rep->kept_bytes = size - rep->torn_bytes;
    }
    unmap_file(m, size);
    close(fd);
    return rc;
}

/* ---------------------------------------------------------- writing */

static int write_at(int fd, uint64_t off, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = pwrite(fd, buf + done, len - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return iamp_err_from_errno(errno);
        done += (size_t)w;
    }
    return 0;
}

/* All records of a batch in one buffer (after the file header when
 * with_header), so the batch is one write. */
/* recs framed into one buffer; at (may be NULL) gets each record's offset
 * in it. */
static int pack_batch(const struct iamp_journal_rec *recs, int n, int with_header, uint8_t **out,
                      size_t *len, uint64_t *at)
{
    size_t total = with_header ? IAMP_JOURNAL_FILE_HEADER_BYTES : 0;
    for (int i = 0; i < n; i++) {
        if (recs[i].len > IAMP_JOURNAL_RECORD_MAX)
            return IAMP_ELIMIT;
        total += IAMP_JOURNAL_HEADER_BYTES + recs[i].len;
    }
    uint8_t *buf = malloc(total ? total : 1), *p = buf;
    if (!buf)
        return IAMP_ENOMEM;
    if (with_header) {
        file_header(p);
        p += IAMP_JOURNAL_FILE_HEADER_BYTES;
    }
    for (int i = 0; i < n; i++) {
        if (at)
            at[i] = (uint64_t)(p - buf);
        record_header(p, recs[i].data, recs[i].len);
        if (recs[i].len)
            memcpy(p + IAMP_JOURNAL_HEADER_BYTES, recs[i].data, recs[i].len);
        p += IAMP_JOURNAL_HEADER_BYTES + recs[i].len;
    }
    *out = buf;
    *len = total;
    return 0;
}

/* Replace the file at j->path by recs (atomically) and reopen it. */
static int rewrite_file(struct iamp_journal *j, const struct iamp_journal_rec *recs, int n,
                        uint64_t *at)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = pack_batch(recs, n, 1, &buf, &len, at);
    if (!rc)
        rc = iamp_file_write_atomic(j->path, buf, len);
    free(buf);
    if (rc)
        return rc;
    int fd = open(j->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        j->broken = 1;
        return iamp_err_from_errno(errno);
    }
    if (j->fd >= 0)
        close(j->fd);
    j->fd = fd;
    j->size = len;
    j->broken = 0;
    return 0;
}

/* A format-1 file's intact records, rewritten as format 2. */
static int convert_v1(struct iamp_journal *j, const uint8_t *m, uint64_t size,
                      iamp_journal_record_cb cb, void *ctx, struct iamp_journal_replay *rep)
{
    size_t most = (size_t)(size / 8) + 1;
    struct iamp_journal_rec *recs = malloc(most * sizeof(*recs));
    if (!recs)
        return IAMP_ENOMEM;
    uint64_t end = 0;
    replay_v1(m, size, cb, ctx, rep, &end, recs);
    rep->torn_bytes = size - end;
    int rc = rewrite_file(j, recs, (int)rep->records, NULL);
    free(recs);
    return rc;
}

/* Replay the open file j->fd and leave j->size at the end of its last
 * intact record, the torn tail cut off. */
static int replay_open(struct iamp_journal *j, iamp_journal_record_cb cb, void *ctx,
                       struct iamp_journal_replay *rep)
{
    struct stat st;
    if (fstat(j->fd, &st))
        return iamp_err_from_errno(errno);
    uint64_t size = (uint64_t)st.st_size, end = 0;
    const uint8_t *m = NULL;
    int rc = map_file(j->fd, size, &m);
    int format = rc ? 0 : format_of(m, size, rep);
    rep->format = format > 0 ? format : 0;
    if (!rc && format < 0)
        rc = IAMP_ECORRUPT;
    else if (!rc && format == 1)
        rc = convert_v1(j, m, size, cb, ctx, rep);
    else if (!rc && format == 0)
        rc = rewrite_file(j, NULL, 0, NULL); /* a new journal: its header */
    else if (!rc) {
        replay_v2(m, size, cb, ctx, rep, &end);
        if (end < size) {
            rep->torn_bytes = size - end;
            if (ftruncate(j->fd, (off_t)end) || fsync(j->fd))
                rc = iamp_err_from_errno(errno);
        }
        j->size = end;
    }
    unmap_file(m, size);
    rep->kept_bytes = j->size;
    return rc;
}

int iamp_journal_open(struct iamp_journal *j, const char *path, iamp_journal_record_cb cb,
                      void *ctx, struct iamp_journal_replay *rep)
{
    memset(j, 0, sizeof(*j));
    memset(rep, 0, sizeof(*rep));
    j->fd = -1;
    if (strlen(path) >= sizeof(j->path))
        return IAMP_EINVAL;
    strcpy(j->path, path);
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->fd < 0)
        return iamp_err_from_errno(errno);
    int rc = replay_open(j, cb, ctx, rep);
    if (rc)
        iamp_journal_close(j);
    return rc;
}

void iamp_journal_close(struct iamp_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}

int iamp_journal_append(struct iamp_journal *j, const struct iamp_journal_rec *recs, int n,
                        uint64_t *at)
{
    if (j->fd < 0 || j->broken)
        return IAMP_ESTATE;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = pack_batch(recs, n, 0, &buf, &len, at);
    if (rc)
        return rc;
    rc = write_at(j->fd, j->size, buf, len);
    if (!rc && fdatasync(j->fd))
        rc = iamp_err_from_errno(errno);
    free(buf);
    if (!rc) {
        for (int i = 0; at && i < n; i++)
            at[i] += j->size;
        j->size += len;
        return 0;
    }
    if (ftruncate(j->fd, (off_t)j->size) || fsync(j->fd))
        j->broken = 1;
    return rc;
}

int iamp_journal_rewrite(struct iamp_journal *j, const struct iamp_journal_rec *recs, int n,
                         uint64_t *at)
{
    return rewrite_file(j, recs, n, at);
}

int iamp_journal_read(const struct iamp_journal *j, uint64_t at, uint8_t **payload, size_t *len)
{
    uint8_t h[IAMP_JOURNAL_HEADER_BYTES];
    *payload = NULL;
    *len = 0;
    if (j->fd < 0 || at < IAMP_JOURNAL_FILE_HEADER_BYTES)
        return IAMP_EINVAL;
    ssize_t got = pread(j->fd, h, sizeof(h), (off_t)at);
    if (got != (ssize_t)sizeof(h))
        return got < 0 ? iamp_err_from_errno(errno) : IAMP_ECORRUPT;
    uint32_t n = get_le32(h + 4);
    if (get_le32(h) != IAMP_JOURNAL_MARK || iamp_crc32c(0, h, 12) != get_le32(h + 12) ||
        n > IAMP_JOURNAL_RECORD_MAX)
        return IAMP_ECORRUPT;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return IAMP_ENOMEM;
    got = n ? pread(j->fd, p, n, (off_t)(at + IAMP_JOURNAL_HEADER_BYTES)) : 0;
    if (got != (ssize_t)n || iamp_crc32c(0, p, n) != get_le32(h + 8)) {
        free(p);
        return got < 0 ? iamp_err_from_errno(errno) : IAMP_ECORRUPT;
    }
    *payload = p;
    *len = n;
    return 0;
}
