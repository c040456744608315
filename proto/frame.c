/* frame.c — see frame.h. Invariant between calls: either no frame is in
 * progress (hdr_have == 0, have == 0, !ready), or the header is partial
 * (0 < hdr_have < 4), or the header is complete and have < need, or a
 * complete frame is ready and is dropped on the next call. */
#include "proto/frame.h"

#include "proto/codec.h"

#include <stdlib.h>
#include <string.h>

#define IAMP_FRAME_GROW_MIN 4096u

void iamp_frame_reader_init(struct iamp_frame_reader *r, uint32_t max_bytes)
{
    memset(r, 0, sizeof(*r));
    r->max_bytes = max_bytes;
}

void iamp_frame_reader_release(struct iamp_frame_reader *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

/* Room for at least want payload bytes; grows by doubling up to need. */
static int reserve(struct iamp_frame_reader *r, uint32_t want)
{
    if (want <= r->cap)
        return 0;
    uint32_t cap = r->cap > IAMP_FRAME_GROW_MIN ? r->cap : IAMP_FRAME_GROW_MIN;
    while (cap < want && cap < r->need)
        cap = cap > r->need / 2 ? r->need : cap * 2;
    if (cap < want)
        cap = want;
    uint8_t *p = realloc(r->buf, cap);
    if (!p)
        return IAMP_ENOMEM;
    r->buf = p;
    r->cap = cap;
    return 0;
}

static void reset_frame(struct iamp_frame_reader *r)
{
    r->hdr_have = 0;
    r->need = r->have = 0;
    r->ready = 0;
    if (r->cap > IAMP_FRAME_GROW_MIN * 16) { /* do not keep a huge buffer */
        free(r->buf);
        r->buf = NULL;
        r->cap = 0;
    }
}

int iamp_frame_reader_feed(struct iamp_frame_reader *r, const uint8_t *data, size_t len,
                           size_t *used, const uint8_t **frame, uint32_t *frame_len)
{
    size_t off = 0;
    *used = 0;
    if (r->ready)
        reset_frame(r);
    while (r->hdr_have < IAMP_FRAME_HEADER_BYTES && off < len)
        r->hdr[r->hdr_have++] = data[off++];
    if (r->hdr_have < IAMP_FRAME_HEADER_BYTES) {
        *used = off;
        return 0;
    }
    if (r->have == 0 && r->need == 0) {
        r->need = iamp_frame_get_len(r->hdr);
        if (r->need > r->max_bytes) {
            *used = off;
            *frame_len = r->need;
            return IAMP_ELIMIT;
        }
    }
    size_t take = len - off;
    if (take > r->need - r->have)
        take = r->need - r->have;
    if (take > 0) {
        int rc = reserve(r, r->have + (uint32_t)take);
        if (rc)
            return rc;
        memcpy(r->buf + r->have, data + off, take);
        r->have += (uint32_t)take;
        off += take;
    }
    *used = off;
    if (r->have < r->need)
        return 0;
    r->ready = 1;
    *frame = r->buf ? r->buf : (const uint8_t *)"";
    *frame_len = r->need;
    return 1;
}

void iamp_frame_reader_shrink(struct iamp_frame_reader *r, uint32_t keep)
{
    if (r->cap <= keep || iamp_frame_reader_partial(r))
        return;
    if (r->ready)
        reset_frame(r);
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

int iamp_frame_reader_partial(const struct iamp_frame_reader *r)
{
    return !r->ready && (r->hdr_have > 0 || r->have > 0);
}

void iamp_frame_reader_progress(const struct iamp_frame_reader *r, uint32_t *have, uint32_t *need)
{
    if (r->hdr_have < IAMP_FRAME_HEADER_BYTES) {
        *have = (uint32_t)r->hdr_have;
        *need = IAMP_FRAME_HEADER_BYTES;
        return;
    }
    *have = IAMP_FRAME_HEADER_BYTES + r->have;
    *need = IAMP_FRAME_HEADER_BYTES + r->need;
}
