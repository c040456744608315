/* test_journal.c — records come back in order; a torn tail is cut off so
 * later appends follow intact data; a damaged record in the middle costs
 * that record alone; a file that is not a journal is refused and left
 * alone; format 1 is read and rewritten; a scan changes nothing. */
#include "common/journal.h"

#include "common/crc32c.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], path[128];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/iamp-journal-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/journal", dir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

struct seen {
    int n;
    char text[16][32];
    uint64_t at[16];
};

static void collect_cb(void *ctx, const uint8_t *p, size_t len, uint64_t at)
{
    struct seen *s = ctx;
    if (s->n < 16)
        s->at[s->n] = at;
    if (s->n < 16 && len < 32) {
        memcpy(s->text[s->n], p, len);
        s->text[s->n][len] = '\0';
    }
    s->n++;
}

static void append_texts(const char *const *texts, int n)
{
    struct iamp_journal j;
    struct iamp_journal_replay rep;
    struct iamp_journal_rec recs[8];
    cr_assert_eq(iamp_journal_open(&j, path, NULL, NULL, &rep), 0);
    for (int i = 0; i < n; i++)
        recs[i] = (struct iamp_journal_rec){(const uint8_t *)texts[i], strlen(texts[i])};
    cr_assert_eq(iamp_journal_append(&j, recs, n, NULL), 0);
    iamp_journal_close(&j);
}

static void replay(struct seen *s, struct iamp_journal_replay *rep)
{
    struct iamp_journal j;
    memset(s, 0, sizeof(*s));
    cr_assert_eq(iamp_journal_open(&j, path, collect_cb, s, rep), 0);
    iamp_journal_close(&j);
}

static off_t file_size(void)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

TestSuite(journal, .init = setup, .fini = teardown, .timeout = 30);

Test(journal, replays_records_in_order)
{
    const char *a[] = {"one", "two"}, *b[] = {"three"};
    append_texts(a, 2);
    append_texts(b, 1);
    struct seen s;
    struct iamp_journal_replay rep;
    replay(&s, &rep);
    cr_assert_eq(s.n, 3);
    cr_assert_str_eq(s.text[0], "one");
    cr_assert_str_eq(s.text[2], "three");
    cr_assert_eq(rep.torn_bytes, 0);
}

Test(journal, survives_torn_tail)
{
    const char *a[] = {"first", "second", "third"};
    append_texts(a, 3);
    off_t full = file_size(), rec = 16 + 5;               /* the last record: header + "third" */
    for (off_t cut = full - 1; cut > full - rec; cut--) { /* every cut into the last record */
        cr_assert_eq(truncate(path, cut), 0);
        struct seen s;
        struct iamp_journal_replay rep;
        replay(&s, &rep);
        cr_assert_eq(s.n, 2, "cut at %ld", (long)cut);
        cr_assert_eq(rep.torn_bytes, (uint64_t)(cut - (full - rec)));
        cr_assert_eq(rep.damaged, 0);
        cr_assert_eq(file_size(), full - rec);
        const char *b[] = {"third"};
        append_texts(b, 1); /* later appends follow intact data */
        replay(&s, &rep);
        cr_assert_eq(s.n, 3);
        cr_assert_str_eq(s.text[2], "third");
    }
}

static void poke(off_t at, const char *byte)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, byte, 1, at), 1);
    close(fd);
}

/* File header 16, then records of 16 + 4 bytes: "bbbb" is at 36..56. */
Test(journal, skips_a_damaged_record_in_the_middle_and_keeps_the_rest)
{
    const char *a[] = {"aaaa", "bbbb", "cccc", "dddd"};
    append_texts(a, 4);
    off_t full = file_size();
    for (off_t at = 36; at < 56; at++) { /* every byte of the second record */
        const char *again[] = {"aaaa", "bbbb", "cccc", "dddd"};
        unlink(path);
        append_texts(again, 4);
        poke(at, at == 36 ? "k" : "X"); /* 36: the marker's first byte */
        struct seen s;
        struct iamp_journal_replay rep;
        replay(&s, &rep);
        cr_assert_eq(s.n, 3, "damage at %ld: %d records", (long)at, s.n);
        cr_assert_str_eq(s.text[0], "aaaa");
        cr_assert_str_eq(s.text[1], "cccc", "damage at %ld", (long)at);
        cr_assert_str_eq(s.text[2], "dddd");
        cr_assert_eq(rep.damaged, 1);
        cr_assert_eq(rep.damaged_bytes, 20u);
        cr_assert_eq(rep.first_damage, 36u);
        cr_assert_eq(rep.torn_bytes, 0u);
        cr_assert_eq(file_size(), full, "nothing after the damage was cut");
    }
}

Test(journal, a_damaged_last_record_is_a_torn_tail)
{
    const char *a[] = {"aaaa", "bbbb", "cccc"};
    append_texts(a, 3);
    poke(16 + 2 * 20 + 17, "X"); /* inside "cccc" */
    struct seen s;
    struct iamp_journal_replay rep;
    replay(&s, &rep);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(rep.damaged, 0);
    cr_assert_eq(rep.torn_bytes, 20u);
}

Test(journal, refuses_a_file_that_is_not_a_journal_and_leaves_it)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    uint8_t junk[100];
    for (int i = 0; i < 100; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    struct iamp_journal j;
    struct iamp_journal_replay rep;
    cr_assert_eq(iamp_journal_open(&j, path, NULL, NULL, &rep), IAMP_ECORRUPT);
    cr_assert(strstr(rep.why, "not an iamp journal") != NULL, "why: %s", rep.why);
    cr_assert_eq(file_size(), 100, "left as it was");
    cr_assert_eq(iamp_journal_scan(path, NULL, NULL, &rep), IAMP_ECORRUPT);
}

Test(journal, a_header_cut_short_at_creation_starts_empty)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    cr_assert_eq(write(fd, "iamp-j", 6), 6);
    close(fd);
    struct seen s;
    struct iamp_journal_replay rep;
    replay(&s, &rep);
    cr_assert_eq(s.n, 0);
    cr_assert_eq(file_size(), 16, "a whole header now");
}

Test(journal, reads_format_1_and_rewrites_it_as_format_2)
{
    /* Format 1: le32 length, le32 CRC-32C, payload, from offset 0. */
    const char *texts[] = {"one", "two!"};
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    for (int i = 0; i < 2; i++) {
        uint32_t len = (uint32_t)strlen(texts[i]), crc = iamp_crc32c(0, texts[i], len);
        uint8_t h[8] = {
            (uint8_t)len,        0, 0, 0, (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
            (uint8_t)(crc >> 24)};
        cr_assert_eq(write(fd, h, 8), 8);
        cr_assert_eq(write(fd, texts[i], len), (ssize_t)len);
    }
    close(fd);
    struct seen s;
    struct iamp_journal_replay rep;
    replay(&s, &rep);
    cr_assert_eq(s.n, 2);
    cr_assert_str_eq(s.text[1], "two!");
    cr_assert_eq(rep.format, 1);
    replay(&s, &rep);
    cr_assert_eq(rep.format, 2, "rewritten");
    cr_assert_eq(s.n, 2);
    cr_assert_eq(file_size(), 16 + 19 + 20);
}

Test(journal, scan_reports_without_changing_the_file)
{
    const char *a[] = {"aaaa", "bbbb", "cccc"};
    append_texts(a, 3);
    poke(40, "X");
    cr_assert_eq(truncate(path, file_size() - 3), 0); /* and a torn tail */
    off_t before = file_size();
    struct seen s;
    memset(&s, 0, sizeof(s));
    struct iamp_journal_replay rep;
    cr_assert_eq(iamp_journal_scan(path, collect_cb, &s, &rep), 0);
    cr_assert_eq(s.n, 1, "aaaa; bbbb damaged, cccc torn");
    cr_assert_eq(rep.damaged, 0, "no intact record after the damage: all of it is tail");
    cr_assert_eq(rep.torn_bytes, (uint64_t)(before - 36));
    cr_assert_eq(file_size(), before);
}

Test(journal, empty_records_round_trip)
{
    const char *a[] = {"", "x", ""};
    append_texts(a, 3);
    struct seen s;
    struct iamp_journal_replay rep;
    replay(&s, &rep);
    cr_assert_eq(s.n, 3);
    cr_assert_str_eq(s.text[1], "x");
}

static void assert_read(const struct iamp_journal *j, uint64_t at, const char *want)
{
    uint8_t *p = NULL;
    size_t len = 0;
    cr_assert_eq(iamp_journal_read(j, at, &p, &len), 0);
    cr_assert_eq(len, strlen(want));
    cr_assert(memcmp(p, want, len) == 0);
    free(p);
}

Test(journal, offsets_from_append_rewrite_and_replay_read_back)
{
    struct iamp_journal j;
    struct iamp_journal_replay rep;
    const char *a[] = {"first", "", "third record"};
    struct iamp_journal_rec recs[3];
    uint64_t at[3], again[3];
    for (int i = 0; i < 3; i++)
        recs[i] = (struct iamp_journal_rec){(const uint8_t *)a[i], strlen(a[i])};
    cr_assert_eq(iamp_journal_open(&j, path, NULL, NULL, &rep), 0);
    cr_assert_eq(iamp_journal_append(&j, recs, 1, at), 0);
    cr_assert_eq(iamp_journal_append(&j, recs + 1, 2, at + 1), 0);
    cr_assert_eq(at[0], 16u, "after the file header");
    cr_assert_eq(at[2], 16u + 16 + 5 + 16);
    for (int i = 0; i < 3; i++)
        assert_read(&j, at[i], a[i]);
    uint8_t *p = NULL;
    size_t len = 0;
    cr_assert_eq(iamp_journal_read(&j, at[0] + 1, &p, &len), IAMP_ECORRUPT, "not a record");
    cr_assert_eq(iamp_journal_read(&j, 4, &p, &len), IAMP_EINVAL, "inside the file header");
    cr_assert_null(p);
    iamp_journal_close(&j);

    struct seen s;
    replay(&s, &rep);
    cr_assert_eq(s.n, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(s.at[i], at[i], "replay names the offsets append gave");

    cr_assert_eq(iamp_journal_open(&j, path, NULL, NULL, &rep), 0);
    cr_assert_eq(iamp_journal_rewrite(&j, recs + 2, 1, again), 0);
    cr_assert_eq(again[0], 16u);
    assert_read(&j, again[0], a[2]);
    poke((off_t)again[0] + 20, "Z"); /* damage inside the payload, under the open journal */
    cr_assert_eq(iamp_journal_read(&j, again[0], &p, &len), IAMP_ECORRUPT);
    cr_assert_null(p);
    iamp_journal_close(&j);
}
