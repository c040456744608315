/* tensorboard.h — TensorBoard event files, written natively: scalars per
 * step, nothing else.
 *
 * A file DIR/events.out.tfevents.<unix seconds>.<hostname> (a ".N" suffix
 * when a run in the same second took that name) of TFRecords: a
 * little-endian uint64 length, the masked CRC-32C of those 8 bytes, the
 * data, the masked CRC-32C of the data, where mask(c) = ((c >> 15) |
 * (c << 17)) + 0xa282ead8. Each record holds one `Event` protobuf
 * (tensorflow/core/util/event.proto: wall_time = 1 double, step = 2 int64,
 * file_version = 3 string, summary = 5 Summary; Summary.value = 1 repeated
 * Value {tag = 1 string, simple_value = 2 float}), encoded here by hand.
 * The first event carries file_version "brain.Event:2".
 *
 * Each call writes its record with one write(2); iamp_tensorboard_sync
 * makes the file durable (fsync). One writer per file, one thread.
 */
#ifndef IAMP_TENSORBOARD_H
#define IAMP_TENSORBOARD_H

#include "common/error.h"

#include <stddef.h>
#include <stdint.h>

#define IAMP_TB_TAG_MAX 128 /* bytes of a tag, NUL excluded */

struct iamp_tensorboard;

struct iamp_tb_scalar {
    const char *tag;
    double value; /* written as float32; a value that is not finite is left out */
};

/* Create dir when missing (one level), open a new event file in it and
 * write the file_version event. err gets one line on failure. */
IAMP_WUR int iamp_tensorboard_new(const char *dir, struct iamp_tensorboard **out, char *err,
                                  size_t errlen);
/* One Event at step with these scalars (wall_time: Unix seconds). */
IAMP_WUR int iamp_tensorboard_scalars(struct iamp_tensorboard *tb, int64_t step, double wall_time,
                                      const struct iamp_tb_scalar *v, int n);
/* fsync the file. */
IAMP_WUR int iamp_tensorboard_sync(struct iamp_tensorboard *tb);
/* The file's path. */
const char *iamp_tensorboard_path(const struct iamp_tensorboard *tb);
/* Close (without a sync); NULL is a no-op. */
void iamp_tensorboard_free(struct iamp_tensorboard *tb);

/* The TFRecord CRC mask (exposed for the tests). */
uint32_t iamp_tfrecord_mask(uint32_t crc);

#endif
