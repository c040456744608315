/* fileio.c — see fileio.h. POSIX only. */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return iamp_err_from_errno(errno);
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int iamp_fsync_parent(const char *path)
{
    char copy[4096];
    if (strlen(path) >= sizeof(copy))
        return IAMP_EINVAL;
    strcpy(copy, path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return iamp_err_from_errno(errno);
    int rc = fsync(fd) ? iamp_err_from_errno(errno) : 0;
    close(fd);
    return rc;
}

int iamp_file_write_atomic(const char *path, const void *buf, size_t len)
{
    char tmp[4200];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return IAMP_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return iamp_err_from_errno(errno);
    int rc = write_all(fd, buf, len);
    if (!rc && fsync(fd))
        rc = iamp_err_from_errno(errno);
    if (close(fd) && !rc)
        rc = iamp_err_from_errno(errno);
    if (!rc && rename(tmp, path))
        rc = iamp_err_from_errno(errno);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return iamp_fsync_parent(path);
}

int iamp_file_read(const char *path, size_t max_bytes, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return iamp_err_from_errno(errno);
    int rc = 0;
    struct stat st;
    uint8_t *p = NULL;
    if (fstat(fd, &st)) {
        rc = iamp_err_from_errno(errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = IAMP_EINVAL;
        goto out;
    }
    if ((size_t)st.st_size > max_bytes) {
        rc = IAMP_ELIMIT;
        goto out;
    }
    size_t want = (size_t)st.st_size, got = 0;
    p = malloc(want ? want : 1);
    if (!p) {
        rc = IAMP_ENOMEM;
        goto out;
    }
    while (got < want) {
        ssize_t r = read(fd, p + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? iamp_err_from_errno(errno) : IAMP_ECORRUPT;
            goto out;
        }
        got += (size_t)r;
    }
    *buf = p;
    *len = got;
    p = NULL;
out:
    free(p);
    close(fd);
    return rc;
}

int iamp_mkdir(const char *path)
{
    if (mkdir(path, 0755) == 0)
        return iamp_fsync_parent(path);
    if (errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        return IAMP_EINVAL;
    }
    return iamp_err_from_errno(errno);
}
