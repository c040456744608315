/* test_journal.c — records come back in order; a torn or damaged tail is
 * cut off so the journal always loads and later appends follow intact
 * data. */
#include "common/journal.h"

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
};

static void collect_cb(void *ctx, const uint8_t *p, size_t len)
{
    struct seen *s = ctx;
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
    cr_assert_eq(iamp_journal_append(&j, recs, n), 0);
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
    off_t full = file_size();
    for (off_t cut = full - 1; cut > full - 14; cut--) { /* every cut into the last record */
        cr_assert_eq(truncate(path, cut), 0);
        struct seen s;
        struct iamp_journal_replay rep;
        replay(&s, &rep);
        cr_assert_eq(s.n, 2, "cut at %ld", (long)cut);
        cr_assert_eq(rep.torn_bytes, (uint64_t)(cut - (full - 13)));
        cr_assert_eq(file_size(), full - 13);
        const char *b[] = {"third"};
        append_texts(b, 1); /* later appends follow intact data */
        replay(&s, &rep);
        cr_assert_eq(s.n, 3);
        cr_assert_str_eq(s.text[2], "third");
    }
}

Test(journal, cuts_at_a_damaged_record)
{
    const char *a[] = {"aaaa", "bbbb", "cccc"};
    append_texts(a, 3);
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, "X", 1, 12 + 8 + 1), 1); /* inside "bbbb" */
    close(fd);
    struct seen s;
    struct iamp_journal_replay rep;
    replay(&s, &rep);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(rep.torn_bytes, 24u);
}

Test(journal, garbage_file_loads_empty)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    uint8_t junk[100];
    for (int i = 0; i < 100; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    struct seen s;
    struct iamp_journal_replay rep;
    replay(&s, &rep);
    cr_assert_eq(s.n, 0);
    cr_assert_eq(rep.torn_bytes, 100u);
    cr_assert_eq(file_size(), 0);
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
