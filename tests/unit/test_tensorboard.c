/* test_tensorboard.c — TensorBoard event files (common/tensorboard.c): the
 * TFRecord framing and its masked CRCs, the events' bytes, non-finite
 * values left out, refusals. tests/integration/tensorboard.sh reads whole
 * training runs back with an independent reader. */
#include "common/crc32c.h"
#include "common/fileio.h"
#include "common/tensorboard.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t masked(const uint8_t *p, size_t n)
{
    uint32_t c = iamp_crc32c(0, p, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* The records of buf: their data offsets and lengths; asserts the framing. */
static int records(const uint8_t *buf, size_t len, size_t *off, size_t *n, int cap)
{
    int k = 0;
    for (size_t i = 0; i < len; k++) {
        cr_assert(i + 12 <= len && k < cap);
        uint64_t dlen = le(buf + i, 8);
        cr_assert_eq(le(buf + i + 8, 4), masked(buf + i, 8), "record %d: length CRC", k);
        cr_assert(i + 16 + dlen <= len, "record %d: truncated", k);
        cr_assert_eq(le(buf + i + 12 + dlen, 4), masked(buf + i + 12, dlen), "record %d: CRC", k);
        off[k] = i + 12;
        n[k] = (size_t)dlen;
        i += 16 + dlen;
    }
    return k;
}

static int contains(const uint8_t *p, size_t n, const void *pat, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(p + i, pat, m) == 0)
            return 1;
    return 0;
}

Test(tensorboard, mask_is_tfrecords, .timeout = 10)
{
    cr_assert_eq(iamp_tfrecord_mask(0), 0xa282ead8u);
    cr_assert_eq(iamp_tfrecord_mask(0x12345678u), 0x4f730f40u);
}

Test(tensorboard, writes_framed_events_without_non_finite_values, .timeout = 10)
{
    char dir[] = "/tmp/iamp_tb_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    struct iamp_tensorboard *tb = NULL;
    char err[256];
    cr_assert_eq(iamp_tensorboard_new(dir, &tb, err, sizeof(err)), 0, "%s", err);
    cr_assert(strstr(iamp_tensorboard_path(tb), "/events.out.tfevents."));
    struct iamp_tb_scalar v[] = {{"a", 0.5}, {"b", NAN}, {"c", 2.0}, {"d", INFINITY}};
    cr_assert_eq(iamp_tensorboard_scalars(tb, 7, 1.5e9, v, 4), 0);
    cr_assert_eq(iamp_tensorboard_sync(tb), 0);
    uint8_t *buf = NULL;
    size_t len = 0, off[4], n[4];
    cr_assert_eq(iamp_file_read(iamp_tensorboard_path(tb), 1 << 20, &buf, &len), 0);
    cr_assert_eq(records(buf, len, off, n, 4), 2);
    /* file_version, then wall_time 1.5e9 (key 0x09), step 7 (0x10 0x07) and
     * a Summary with {tag "a", simple_value 0.5f} and {tag "c", 2.0f}. */
    cr_assert(contains(buf + off[0], n[0],
                       "\x1a\x0d"
                       "brain.Event:2",
                       15));
    uint8_t want_time[9] = {0x09}, step[2] = {0x10, 0x07};
    double t = 1.5e9;
    memcpy(want_time + 1, &t, 8);
    cr_assert_eq(memcmp(buf + off[1], want_time, 9), 0);
    cr_assert_eq(memcmp(buf + off[1] + 9, step, 2), 0);
    const uint8_t a[] = {0x0a, 0x08, 0x0a, 0x01, 'a', 0x15, 0x00, 0x00, 0x00, 0x3f};
    const uint8_t c[] = {0x0a, 0x08, 0x0a, 0x01, 'c', 0x15, 0x00, 0x00, 0x00, 0x40};
    cr_assert(contains(buf + off[1], n[1], a, sizeof(a)));
    cr_assert(contains(buf + off[1], n[1], c, sizeof(c)));
    cr_assert_not(contains(buf + off[1], n[1],
                           "\x0a\x01"
                           "b",
                           3));
    cr_assert_not(contains(buf + off[1], n[1],
                           "\x0a\x01"
                           "d",
                           3));
    cr_assert_eq(n[1], 11 + 2 + 2 * 10, "event, summary key and length, two values");
    free(buf);
    unlink(iamp_tensorboard_path(tb));
    iamp_tensorboard_free(tb);
    rmdir(dir);
}

Test(tensorboard, two_writers_get_two_files, .timeout = 10)
{
    char dir[] = "/tmp/iamp_tb_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    struct iamp_tensorboard *x = NULL, *y = NULL;
    char err[256];
    cr_assert_eq(iamp_tensorboard_new(dir, &x, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(iamp_tensorboard_new(dir, &y, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_neq(iamp_tensorboard_path(x), iamp_tensorboard_path(y));
    cr_assert_eq(access(iamp_tensorboard_path(x), F_OK), 0);
    cr_assert_eq(access(iamp_tensorboard_path(y), F_OK), 0);
    unlink(iamp_tensorboard_path(x));
    unlink(iamp_tensorboard_path(y));
    iamp_tensorboard_free(x);
    iamp_tensorboard_free(y);
    rmdir(dir);
}

Test(tensorboard, refuses_long_tags_and_unmakeable_dirs, .timeout = 10)
{
    char dir[] = "/tmp/iamp_tb_XXXXXX", path[300];
    cr_assert_not_null(mkdtemp(dir));
    struct iamp_tensorboard *tb = NULL;
    char err[256], tag[IAMP_TB_TAG_MAX + 2];
    cr_assert_eq(iamp_tensorboard_new(dir, &tb, err, sizeof(err)), 0, "%s", err);
    memset(tag, 'x', sizeof(tag) - 1);
    tag[sizeof(tag) - 1] = '\0';
    struct iamp_tb_scalar v = {tag, 1.0};
    uint8_t *buf = NULL;
    size_t before = 0, after = 0;
    cr_assert_eq(iamp_file_read(iamp_tensorboard_path(tb), 1 << 20, &buf, &before), 0);
    free(buf);
    cr_assert_eq(iamp_tensorboard_scalars(tb, 1, 0.0, &v, 1), IAMP_EINVAL);
    cr_assert_eq(iamp_file_read(iamp_tensorboard_path(tb), 1 << 20, &buf, &after), 0);
    free(buf);
    cr_assert_eq(after, before, "nothing written");
    snprintf(path, sizeof(path), "%s/no/such", dir);
    struct iamp_tensorboard *none = tb; /* must come back NULL */
    cr_assert_neq(iamp_tensorboard_new(path, &none, err, sizeof(err)), 0);
    cr_assert_null(none);
    cr_assert(strstr(err, "cannot create"), "%s", err);
    unlink(iamp_tensorboard_path(tb));
    iamp_tensorboard_free(tb);
    iamp_tensorboard_free(NULL);
    rmdir(dir);
}
