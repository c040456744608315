/* journal.c — see journal.h. Replay streams the file through one buffer
 * that grows to the largest record; appends go through pwrite at the known
 * end so that a failed append can be cut off again with ftruncate. */
#include "common/journal.h"

#include "common/crc32c.h"
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Read exactly len bytes at off; IAMP_ECORRUPT when the file ends first. */
static int read_at(int fd, uint64_t off, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return iamp_err_from_errno(errno);
        if (r == 0)
            return IAMP_ECORRUPT;
        got += (size_t)r;
    }
    return 0;
}

/* Replay intact records from the start; *end gets the offset after the
 * last one. Only I/O errors fail; damage just ends the replay. */
static int replay(struct iamp_journal *j, uint64_t file_size, iamp_journal_record_cb cb, void *ctx,
                  uint64_t *end, long *records)
{
    uint8_t hdr[IAMP_JOURNAL_HEADER_BYTES], *buf = NULL;
    size_t cap = 0;
    uint64_t off = 0;
    int rc = 0;
    while (off + IAMP_JOURNAL_HEADER_BYTES <= file_size) {
        rc = read_at(j->fd, off, hdr, sizeof(hdr));
        if (rc)
            break;
        uint32_t len = get_le32(hdr), crc = get_le32(hdr + 4);
        if (len > IAMP_JOURNAL_RECORD_MAX || off + IAMP_JOURNAL_HEADER_BYTES + len > file_size)
            break;
        if (len + 1 > cap) {
            uint8_t *p = realloc(buf, len + 1);
            if (!p) {
                rc = IAMP_ENOMEM;
                break;
            }
            buf = p;
            cap = len + 1;
        }
        rc = read_at(j->fd, off + IAMP_JOURNAL_HEADER_BYTES, buf, len);
        if (rc || iamp_crc32c(0, buf, len) != crc)
            break;
        if (cb)
            cb(ctx, buf, len);
        (*records)++;
        off += IAMP_JOURNAL_HEADER_BYTES + len;
    }
    free(buf);
    *end = off;
    return rc == IAMP_ECORRUPT ? 0 : rc;
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
    struct stat st;
    int rc = fstat(j->fd, &st) ? iamp_err_from_errno(errno) : 0;
    uint64_t end = 0;
    if (!rc)
        rc = replay(j, (uint64_t)st.st_size, cb, ctx, &end, &rep->records);
    if (!rc && end < (uint64_t)st.st_size) {
        rep->torn_bytes = (uint64_t)st.st_size - end;
        if (ftruncate(j->fd, (off_t)end) || fsync(j->fd))
            rc = iamp_err_from_errno(errno);
    }
    if (!rc && st.st_size == 0)
        rc = iamp_fsync_parent(path); /* a new journal's directory entry */
    if (rc) {
        iamp_journal_close(j);
        return rc;
    }
    j->size = end;
    rep->kept_bytes = end;
    return 0;
}

void iamp_journal_close(struct iamp_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}

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

/* All records of a batch in one buffer, so the batch is one write. */
static int pack_batch(const struct iamp_journal_rec *recs, int n, uint8_t **out, size_t *len)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (recs[i].len > IAMP_JOURNAL_RECORD_MAX)
            return IAMP_ELIMIT;
        total += IAMP_JOURNAL_HEADER_BYTES + recs[i].len;
    }
    uint8_t *buf = malloc(total ? total : 1), *p = buf;
    if (!buf)
        return IAMP_ENOMEM;
    for (int i = 0; i < n; i++) {
        put_le32(p, (uint32_t)recs[i].len);
        put_le32(p + 4, iamp_crc32c(0, recs[i].data, recs[i].len));
        if (recs[i].len)
            memcpy(p + IAMP_JOURNAL_HEADER_BYTES, recs[i].data, recs[i].len);
        p += IAMP_JOURNAL_HEADER_BYTES + recs[i].len;
    }
    *out = buf;
    *len = total;
    return 0;
}

int iamp_journal_append(struct iamp_journal *j, const struct iamp_journal_rec *recs, int n)
{
    if (j->fd < 0 || j->broken)
        return IAMP_ESTATE;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = pack_batch(recs, n, &buf, &len);
    if (rc)
        return rc;
    rc = write_at(j->fd, j->size, buf, len);
    if (!rc && fdatasync(j->fd))
        rc = iamp_err_from_errno(errno);
    free(buf);
    if (!rc) {
        j->size += len;
        return 0;
    }
    if (ftruncate(j->fd, (off_t)j->size) || fsync(j->fd))
        j->broken = 1;
    return rc;
}

int iamp_journal_rewrite(struct iamp_journal *j, const struct iamp_journal_rec *recs, int n)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = pack_batch(recs, n, &buf, &len);
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
    close(j->fd);
    j->fd = fd;
    j->size = len;
    j->broken = 0;
    return 0;
}
