/* frame.h — reassembly of length-prefixed frames from a byte stream.
 *
 * A frame is a 4-byte big-endian length, then that many bytes (one
 * Envelope). The reader is fed whatever a socket read returned and hands
 * out complete frames one at a time. A length above the reader's limit is
 * refused as soon as the 4 header bytes are in, before any allocation; the
 * frame buffer then grows with the bytes that actually arrive, so a peer
 * that announces a large frame and sends little costs little memory.
 *
 * Pure buffer logic: no I/O, no protobuf, no threads. Used by the server's
 * connections, the client and the fuzz target.
 */
#ifndef IAMP_FRAME_H
#define IAMP_FRAME_H

#include "common/error.h"

#include <stddef.h>
#include <stdint.h>

#define IAMP_FRAME_HEADER_BYTES 4
#define IAMP_FRAME_MAX_BYTES_DEFAULT (16u << 20) /* 16 MiB */

struct iamp_frame_reader {
    uint32_t max_bytes; /* largest frame payload accepted */
    uint8_t hdr[IAMP_FRAME_HEADER_BYTES];
    int hdr_have;  /* header bytes received of the current frame */
    uint32_t need; /* payload bytes of the current frame */
    uint32_t have; /* payload bytes received */
    uint8_t *buf;  /* (cap) payload so far, owned */
    uint32_t cap;
    int ready; /* a complete frame sits in buf */
};

void iamp_frame_reader_init(struct iamp_frame_reader *r, uint32_t max_bytes);
void iamp_frame_reader_release(struct iamp_frame_reader *r);

/* Consume bytes from data[0..len) and stop after the first frame that
 * completes. *used gets the bytes consumed; feed the rest again after the
 * frame is handled. Returns 1 with frame and frame_len set (borrowed until
 * the next call) when a frame completed, 0 when every byte was consumed
 * without completing one, IAMP_ELIMIT when a header announces more than
 * max_bytes (*frame_len then holds the announced length), IAMP_ENOMEM.
 * After an error the reader is unusable until released. */
IAMP_WUR int iamp_frame_reader_feed(struct iamp_frame_reader *r, const uint8_t *data, size_t len,
                                    size_t *used, const uint8_t **frame, uint32_t *frame_len);

/* 1 when part of a frame (header or payload) has arrived but not all. */
int iamp_frame_reader_partial(const struct iamp_frame_reader *r);
/* Between frames (none partial, the last one handled): free the buffer
 * when it is larger than keep bytes. */
void iamp_frame_reader_shrink(struct iamp_frame_reader *r, uint32_t keep);
/* Bytes of the current incomplete frame: received and announced. */
void iamp_frame_reader_progress(const struct iamp_frame_reader *r, uint32_t *have, uint32_t *need);

#endif
