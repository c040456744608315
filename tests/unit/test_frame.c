/* test_frame.c — the frame reader hands out exactly the frames it was fed,
 * however the bytes are split, and refuses oversize lengths before it
 * allocates anything. */
#include "proto/codec.h"
#include "proto/frame.h"

#include <criterion/criterion.h>
#include <string.h>

/* Frame `payload` into out; returns the frame's bytes. */
static size_t framed(const char *payload, uint8_t *out)
{
    size_t n = strlen(payload);
    iamp_frame_put_len(out, (uint32_t)n);
    memcpy(out + 4, payload, n);
    return n + 4;
}

/* Feed data in chunks of `step`; collect frames into got (joined by '|'). */
static int feed_all(struct iamp_frame_reader *r, const uint8_t *data, size_t len, size_t step,
                    char *got)
{
    size_t off = 0;
    got[0] = '\0';
    while (off < len) {
        size_t chunk = len - off < step ? len - off : step, used = 0;
        const uint8_t *f = NULL;
        uint32_t flen = 0;
        int rc = iamp_frame_reader_feed(r, data + off, chunk, &used, &f, &flen);
        if (rc < 0)
            return rc;
        off += used;
        if (rc == 1) {
            strncat(got, (const char *)f, flen);
            strcat(got, "|");
        }
    }
    return 0;
}

Test(frame, reassembles_frames_split_at_every_byte)
{
    uint8_t buf[256];
    size_t n = framed("hello", buf);
    n += framed("", buf + n);
    n += framed("world!", buf + n);
    for (size_t step = 1; step <= n; step++) {
        struct iamp_frame_reader r;
        char got[128];
        iamp_frame_reader_init(&r, 1024);
        cr_assert_eq(feed_all(&r, buf, n, step, got), 0);
        cr_assert_str_eq(got, "hello||world!|", "step %zu", step);
        cr_assert_not(iamp_frame_reader_partial(&r));
        iamp_frame_reader_release(&r);
    }
}

Test(frame, refuses_an_oversize_length_before_allocating)
{
    struct iamp_frame_reader r;
    uint8_t hdr[4];
    iamp_frame_put_len(hdr, 1u << 30);
    iamp_frame_reader_init(&r, 1u << 20);
    size_t used = 0;
    const uint8_t *f = NULL;
    uint32_t flen = 0;
    cr_assert_eq(iamp_frame_reader_feed(&r, hdr, 4, &used, &f, &flen), IAMP_ELIMIT);
    cr_assert_eq(flen, 1u << 30);
    cr_assert_null(r.buf);
    iamp_frame_reader_release(&r);
}

Test(frame, memory_follows_the_bytes_that_arrive)
{
    struct iamp_frame_reader r;
    uint8_t data[4 + 10] = {0};
    iamp_frame_put_len(data, 1u << 20);
    iamp_frame_reader_init(&r, 16u << 20);
    size_t used = 0;
    const uint8_t *f = NULL;
    uint32_t flen = 0;
    cr_assert_eq(iamp_frame_reader_feed(&r, data, sizeof(data), &used, &f, &flen), 0);
    cr_assert_eq(used, sizeof(data));
    cr_assert_leq(r.cap, 4096u, "a 1 MiB announcement allocated %u bytes", r.cap);
    cr_assert(iamp_frame_reader_partial(&r));
    uint32_t have, need;
    iamp_frame_reader_progress(&r, &have, &need);
    cr_assert_eq(have, 14u);
    cr_assert_eq(need, 4u + (1u << 20));
    iamp_frame_reader_release(&r);
}

Test(frame, stops_after_each_frame_so_the_caller_can_act)
{
    struct iamp_frame_reader r;
    uint8_t buf[64];
    size_t n = framed("ab", buf);
    n += framed("cd", buf + n);
    iamp_frame_reader_init(&r, 64);
    size_t used = 0;
    const uint8_t *f = NULL;
    uint32_t flen = 0;
    cr_assert_eq(iamp_frame_reader_feed(&r, buf, n, &used, &f, &flen), 1);
    cr_assert_eq(used, 6u);
    cr_assert_eq(flen, 2u);
    cr_assert_eq(memcmp(f, "ab", 2), 0);
    cr_assert_eq(iamp_frame_reader_feed(&r, buf + used, n - used, &used, &f, &flen), 1);
    cr_assert_eq(memcmp(f, "cd", 2), 0);
    iamp_frame_reader_release(&r);
}
