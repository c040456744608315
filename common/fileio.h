/* fileio.h — whole-file reads and crash-safe whole-file writes.
 *
 * iamp_file_write_atomic: write to "<path>.tmp.<pid>", fsync it, rename it
 * over path, fsync the directory. After it returns 0 the new content
 * survives a crash; before, the old content (or nothing) remains.
 */
#ifndef IAMP_FILEIO_H
#define IAMP_FILEIO_H

#include "common/error.h"

#include <stddef.h>
#include <stdint.h>

IAMP_WUR int iamp_file_write_atomic(const char *path, const void *buf, size_t len);
/* Read a whole file of at most max_bytes into a malloc'd buffer (caller
 * frees). IAMP_ENOENT when missing, IAMP_ELIMIT when larger. */
IAMP_WUR int iamp_file_read(const char *path, size_t max_bytes, uint8_t **buf, size_t *len);
/* fsync the directory that holds path. */
IAMP_WUR int iamp_fsync_parent(const char *path);
/* mkdir -p for one directory level; 0 when it exists already. */
IAMP_WUR int iamp_mkdir(const char *path);

#endif
