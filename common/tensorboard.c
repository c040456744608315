/* tensorboard.c — see tensorboard.h. An event is encoded into one buffer
 * that already has room for its TFRecord header and footer, so a record
 * goes out in one write(2): a crash leaves at most a torn last record,
 * which TensorBoard's reader stops at (its CRC does not match). */
#include "common/tensorboard.h"

#include "common/crc32c.h"
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TB_PATH_MAX 4096
#define TB_HOST_MAX 256
#define TB_SUFFIXES 100      /* names tried when a run in the same second took one */
#define RECORD_HEAD_BYTES 12 /* uint64 length, masked CRC of it */
#define RECORD_FOOT_BYTES 4  /* masked CRC of the data */
#define EVENT_HEAD_BYTES 64  /* wall_time, step, the summary's key and length */
#define VALUE_MAX_BYTES (IAMP_TB_TAG_MAX + 24)
#define FILE_VERSION "brain.Event:2"

/* Protobuf keys, (field << 3) | wire type, of event.proto and summary.proto. */
#define KEY_EVENT_WALL_TIME 0x09    /* 1, fixed64 (double) */
#define KEY_EVENT_STEP 0x10         /* 2, varint */
#define KEY_EVENT_FILE_VERSION 0x1a /* 3, length-delimited */
#define KEY_EVENT_SUMMARY 0x2a      /* 5, length-delimited */
#define KEY_SUMMARY_VALUE 0x0a      /* Summary.value = 1, length-delimited */
#define KEY_VALUE_TAG 0x0a          /* Value.tag = 1, length-delimited */
#define KEY_VALUE_SIMPLE 0x15       /* Value.simple_value = 2, fixed32 (float) */

struct iamp_tensorboard {
    int fd;
    char path[TB_PATH_MAX];
};

uint32_t iamp_tfrecord_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

/* ---------------------------------------------------------- encoding */

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + bytes;
}

static uint8_t *put_double(uint8_t *p, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    return put_le(p, bits, 8);
}

static uint8_t *put_bytes(uint8_t *p, uint8_t key, const void *data, size_t len)
{
    *p++ = key;
    p = put_varint(p, len);
    memcpy(p, data, len);
    return p + len;
}

/* One Summary.Value {tag, simple_value} at p (its key and length included). */
static uint8_t *put_value(uint8_t *p, const struct iamp_tb_scalar *s)
{
    uint8_t v[VALUE_MAX_BYTES], *q = v;
    float f = (float)s->value;
    uint32_t bits;
    memcpy(&bits, &f, sizeof(bits));
    q = put_bytes(q, KEY_VALUE_TAG, s->tag, strlen(s->tag));
    *q++ = KEY_VALUE_SIMPLE;
    q = put_le(q, bits, 4);
    return put_bytes(p, KEY_SUMMARY_VALUE, v, (size_t)(q - v));
}

/* The Summary of v's finite values into p; its length. */
static size_t put_summary(uint8_t *p, const struct iamp_tb_scalar *v, int n)
{
    uint8_t *q = p;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i].value))
            q = put_value(q, &v[i]);
    return (size_t)(q - p);
}

/* Frame the event in rec[RECORD_HEAD_BYTES ..+ len) and write the record. */
static int write_record(struct iamp_tensorboard *tb, uint8_t *rec, size_t len)
{
    put_le(rec, len, 8);
    put_le(rec + 8, iamp_tfrecord_mask(iamp_crc32c(0, rec, 8)), 4);
    uint8_t *data = rec + RECORD_HEAD_BYTES;
    put_le(data + len, iamp_tfrecord_mask(iamp_crc32c(0, data, len)), 4);
    size_t total = RECORD_HEAD_BYTES + len + RECORD_FOOT_BYTES, done = 0;
    while (done < total) {
        ssize_t w = write(tb->fd, rec + done, total - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return iamp_err_from_errno(errno);
        done += (size_t)w;
    }
    return 0;
}

/* An Event of wall_time and step, then file_version (when not NULL) and the
 * scalars (a Summary, when there is any). */
static int write_event(struct iamp_tensorboard *tb, double wall_time, int64_t step,
                       const char *file_version, const struct iamp_tb_scalar *v, int n)
{
    for (int i = 0; i < n; i++)
        if (strlen(v[i].tag) > IAMP_TB_TAG_MAX)
            return IAMP_EINVAL;
    size_t cap = RECORD_HEAD_BYTES + EVENT_HEAD_BYTES + sizeof(FILE_VERSION) +
                 (size_t)n * (VALUE_MAX_BYTES + 8) + RECORD_FOOT_BYTES;
    uint8_t *rec = malloc(cap), *summary = malloc((size_t)n * (VALUE_MAX_BYTES + 8) + 1);
    int rc = IAMP_ENOMEM;
    if (!rec || !summary)
        goto out;
    uint8_t *p = rec + RECORD_HEAD_BYTES;
    *p++ = KEY_EVENT_WALL_TIME;
    p = put_double(p, wall_time);
    *p++ = KEY_EVENT_STEP;
    p = put_varint(p, (uint64_t)step);
    if (file_version)
        p = put_bytes(p, KEY_EVENT_FILE_VERSION, file_version, strlen(file_version));
    size_t slen = put_summary(summary, v, n);
    if (slen > 0)
        p = put_bytes(p, KEY_EVENT_SUMMARY, summary, slen);
    rc = write_record(tb, rec, (size_t)(p - rec) - RECORD_HEAD_BYTES);
out:
    free(rec);
    free(summary);
    return rc;
}

/* ---------------------------------------------------------- the file */

/* gethostname, with '/' (never in a file name) as '_'. */
static void host_name(char *host, size_t len)
{
    if (gethostname(host, len) != 0 || !host[0])
        snprintf(host, len, "localhost");
    host[len - 1] = '\0';
    for (char *c = host; *c; c++)
        if (*c == '/')
            *c = '_';
}

/* A new file: the first name no other run holds (O_EXCL). */
static int create_file(struct iamp_tensorboard *tb, const char *dir)
{
    char host[TB_HOST_MAX];
    host_name(host, sizeof(host));
    long long now = (long long)time(NULL);
    for (int k = 0; k < TB_SUFFIXES; k++) {
        char suffix[16] = "";
        if (k > 0)
            snprintf(suffix, sizeof(suffix), ".%d", k);
        int n = snprintf(tb->path, sizeof(tb->path), "%s/events.out.tfevents.%010lld.%s%s", dir,
                         now, host, suffix);
        if (n < 0 || (size_t)n >= sizeof(tb->path))
            return IAMP_EINVAL;
        tb->fd = open(tb->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
        if (tb->fd >= 0)
            return iamp_fsync_parent(tb->path); /* the name survives a crash */
        if (errno != EEXIST)
            return iamp_err_from_errno(errno);
    }
    return IAMP_ELIMIT;
}

int iamp_tensorboard_new(const char *dir, struct iamp_tensorboard **out, char *err, size_t errlen)
{
    *out = NULL;
    struct iamp_tensorboard *tb = calloc(1, sizeof(*tb));
    if (!tb) {
        snprintf(err, errlen, "out of memory");
        return IAMP_ENOMEM;
    }
    tb->fd = -1;
    int rc = iamp_mkdir(dir);
    if (rc) {
        snprintf(err, errlen, "cannot create %.900s: %s", dir, iamp_strerror(rc));
        goto out;
    }
    rc = create_file(tb, dir);
    if (rc) {
        snprintf(err, errlen, "cannot create an event file in %.900s: %s", dir, iamp_strerror(rc));
        goto out;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rc = write_event(tb, (double)ts.tv_sec + ts.tv_nsec * 1e-9, 0, FILE_VERSION, NULL, 0);
    if (rc)
        snprintf(err, errlen, "cannot write %.900s: %s", tb->path, iamp_strerror(rc));
out:
    if (rc)
        iamp_tensorboard_free(tb);
    else
        *out = tb;
    return rc;
}

int iamp_tensorboard_scalars(struct iamp_tensorboard *tb, int64_t step, double wall_time,
                             const struct iamp_tb_scalar *v, int n)
{
    return write_event(tb, wall_time, step, NULL, v, n);
}

int iamp_tensorboard_sync(struct iamp_tensorboard *tb)
{
    return fsync(tb->fd) ? iamp_err_from_errno(errno) : 0;
}

const char *iamp_tensorboard_path(const struct iamp_tensorboard *tb)
{
    return tb->path;
}

void iamp_tensorboard_free(struct iamp_tensorboard *tb)
{
    if (!tb)
        return;
    if (tb->fd >= 0)
        close(tb->fd);
    free(tb);
}
