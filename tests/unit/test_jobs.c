/* test_jobs.c — the job table rebuilt from the journal: final jobs stay
 * final, unfinished ones come back queued, a journaled cancel or a result
 * file written before a crash ends a job at replay (once), and ids go on
 * after the last one. */
#include "coordinator/serve/executor.h"
#include "coordinator/serve/jobs.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static struct iamp_jobs js;

static void setup(void)
{
    char err[256];
    snprintf(dir, sizeof(dir), "/tmp/iamp-jobs-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(iamp_jobs_open(&js, dir, 1 << 20, IAMP_JOURNAL_COMPACT_BYTES, err, sizeof(err)), 0,
                 "%s", err);
}

static void teardown(void)
{
    char cmd[128];
    iamp_jobs_close(&js);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(jobs, .init = setup, .fini = teardown, .timeout = 30);

static void reopen(void)
{
    char err[256];
    iamp_jobs_close(&js);
    cr_assert_eq(iamp_jobs_open(&js, dir, 1 << 20, IAMP_JOURNAL_COMPACT_BYTES, err, sizeof(err)), 0,
                 "%s", err);
}

static void journal(struct iamp_job *j, int kind)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(iamp_jobs_record(j, kind, 1000, &buf, &len), 0);
    struct iamp_journal_rec rec = {buf, len};
    cr_assert_eq(iamp_journal_append(&js.journal, &rec, 1, NULL), 0);
    free(buf);
}

/* A committed answer job of n questions. */
static struct iamp_job *add(int n, const char *key)
{
    struct iamp_job_spec spec;
    struct iamp_job *j = NULL;
    memset(&spec, 0, sizeof(spec));
    spec.kind = IAMP_JOB_ANSWER;
    snprintf(spec.task, sizeof(spec.task), "permpow:n=16,seed=1,kmax=15");
    snprintf(spec.client_key, sizeof(spec.client_key), "%s", key);
    spec.depth = 1;
    spec.n = n;
    spec.qs = calloc((size_t)n, sizeof(*spec.qs));
    cr_assert_eq(iamp_jobs_add(&js, &spec, 0, 5, &j), 0);
    journal(j, IAMP_REC_SUBMIT);
    j->committed = 1;
    return j;
}

Test(jobs, unfinished_jobs_come_back_queued_and_final_ones_stay)
{
    add(3, "a");
    struct iamp_job *b = add(2, "b");
    b->st.state = IAMP_JOB_FAILED;
    snprintf(b->st.message, sizeof(b->st.message), "boom");
    journal(b, IAMP_REC_END);
    reopen();
    struct iamp_job *a = iamp_jobs_get(&js, 1);
    cr_assert_not_null(a);
    cr_assert_eq(a->st.state, IAMP_JOB_QUEUED);
    cr_assert_eq(a->spec.n, 3, "its questions are kept for the executor");
    cr_assert_eq(a->st.created_ms, 5);
    b = iamp_jobs_get(&js, 2);
    cr_assert_eq(b->st.state, IAMP_JOB_FAILED);
    cr_assert_str_eq(b->st.message, "boom");
    cr_assert_eq(js.unfinished, 1);
    cr_assert_eq(iamp_jobs_by_key(&js, "b"), b);
    struct iamp_job_spec spec;
    struct iamp_job *c = NULL;
    memset(&spec, 0, sizeof(spec));
    cr_assert_eq(iamp_jobs_add(&js, &spec, 0, 6, &c), 0);
    /* Ids go on after the reserve in <dir>/ids (a block ahead), not after
     * the last journaled id: a restart skips the rest of the block. */
    cr_assert_eq(c->st.job_id, IAMP_JOB_ID_BLOCK + 1, "id %llu", (unsigned long long)c->st.job_id);
}

Test(jobs, ids_are_never_reused_when_the_journal_loses_the_newest_jobs)
{
    add(1, "a");
    add(1, "b");
    char jpath[4200];
    snprintf(jpath, sizeof(jpath), "%s/journal", js.dir);
    iamp_jobs_close(&js);
    cr_assert_eq(truncate(jpath, 16), 0, "every record gone");
    char err[256];
    cr_assert_eq(iamp_jobs_open(&js, dir, 1 << 20, IAMP_JOURNAL_COMPACT_BYTES, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_null(iamp_jobs_get(&js, 1));
    struct iamp_job_spec spec;
    struct iamp_job *c = NULL;
    memset(&spec, 0, sizeof(spec));
    cr_assert_eq(iamp_jobs_add(&js, &spec, 0, 6, &c), 0);
    cr_assert_gt(c->st.job_id, 2, "ids 1 and 2 were handed out once already");
}

Test(jobs, a_journaled_cancel_ends_the_job_at_replay)
{
    struct iamp_job *a = add(3, "");
    journal(a, IAMP_REC_CANCEL);
    reopen();
    cr_assert_eq(iamp_jobs_get(&js, 1)->st.state, IAMP_JOB_CANCELED);
    cr_assert_eq(js.recovered, 1);
    reopen();
    cr_assert_eq(js.recovered, 0, "the END record was written");
    cr_assert_eq(iamp_jobs_get(&js, 1)->st.state, IAMP_JOB_CANCELED);
}

Test(jobs, a_result_written_before_a_crash_makes_the_job_done)
{
    add(2, "");
    struct iamp_question qs[2] = {{.type = 0, .len = 2, .tok = {1, 2}},
                                  {.type = 0, .len = 2, .tok = {3, 4}}};
    struct iamp_answer as[2] = {{1, {5}, 0.0f}, {1, {6}, 0.0f}};
    struct iamp_result r = {.job_id = 1, .depth = 1, .model_round = 7, .n = 2, .qs = qs, .as = as};
    char path[256];
    snprintf(r.task, sizeof(r.task), "permpow:n=16,seed=1,kmax=15");
    cr_assert_eq(iamp_job_path(path, sizeof(path), dir, 1, "result"), 0);
    cr_assert_eq(iamp_result_save(path, &r), 0);
    reopen();
    struct iamp_job *j = iamp_jobs_get(&js, 1);
    cr_assert_eq(j->st.state, IAMP_JOB_DONE);
    cr_assert_eq(j->st.model_round, 7);
    const struct iamp_result *got = NULL;
    cr_assert_eq(iamp_jobs_result(&js, j, &got), 0);
    cr_assert_eq(got->as[1].tok[0], 6);
}

Test(jobs, leftovers_of_interrupted_writes_are_removed)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/jobs/4.result.tmp.999", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    reopen();
    cr_assert_neq(access(path, F_OK), 0);
}

Test(jobs, compaction_keeps_the_table_and_drops_finished_questions)
{
    struct iamp_job *done = add(500, "k-done");
    done->st.state = IAMP_JOB_DONE;
    done->st.done = 500;
    done->st.finished_ms = 77;
    journal(done, IAMP_REC_END);
    add(4, "k-open");
    struct iamp_job *asked = add(2, "");
    journal(asked, IAMP_REC_CANCEL);
    asked->cancel_asked = 1;
    uint64_t before = js.journal.size;
    cr_assert_eq(iamp_jobs_compact(&js), 0);
    cr_assert_lt(js.journal.size, before / 4, "%lu -> %lu", (unsigned long)before,
                 (unsigned long)js.journal.size);
    reopen();
    struct iamp_job *j = iamp_jobs_get(&js, 1);
    cr_assert_eq(j->st.state, IAMP_JOB_DONE);
    cr_assert_eq(j->st.total, 500);
    cr_assert_eq(j->st.finished_ms, 77);
    cr_assert_eq(iamp_jobs_by_key(&js, "k-done"), j);
    j = iamp_jobs_get(&js, 2);
    cr_assert_eq(j->st.state, IAMP_JOB_QUEUED);
    cr_assert_eq(j->spec.n, 4, "unfinished jobs keep their questions");
    cr_assert_eq(iamp_jobs_get(&js, 3)->st.state, IAMP_JOB_CANCELED);
    cr_assert_eq(js.unfinished, 1);
}

Test(jobs, pruning_keeps_the_table_the_size_of_what_is_kept, .timeout = 60)
{
    for (int i = 0; i < 3000; i++) {
        struct iamp_job *j = add(1, "");
        j->st.state = IAMP_JOB_DONE;
        j->st.finished_ms = 10;
        journal(j, IAMP_REC_END);
        if (i % 500 == 499) {
            long pruned = 0;
            cr_assert_eq(iamp_jobs_prune(&js, 1000, 10, 0.0, &pruned), 0);
            cr_assert_eq(pruned, i == 499 ? 490 : 500, "pruned %ld", pruned);
        }
    }
    cr_assert_leq(js.len, 10 + 500, "table of %zu slots for 10 kept jobs", js.len);
    cr_assert_leq(js.cap, 4 * (10 + 500) + 256);
    cr_assert_not_null(iamp_jobs_get(&js, 3000));
    cr_assert_null(iamp_jobs_get(&js, 1));
    cr_assert(iamp_jobs_expired(&js, 1));
    cr_assert_not(iamp_jobs_expired(&js, 3000));
    reopen();
    cr_assert_not_null(iamp_jobs_get(&js, 2995), "kept after a restart");
    cr_assert(iamp_jobs_expired(&js, 2000));
    cr_assert_leq(js.len, 10 + IAMP_JOB_ID_BLOCK + 1);
}

/* The replayed table begins at the first id replayed, not at 1; a record
 * older than it moves the table down. */
Test(jobs, a_record_older_than_the_first_replayed_moves_the_table_down)
{
    struct iamp_job *a = add(1, "a"), *b = add(1, "b");
    b->st.state = IAMP_JOB_DONE;
    b->st.finished_ms = 10;
    journal(b, IAMP_REC_END);
    /* Journal order b, a (ids 2, 1): rewrite it so. */
    uint8_t *rb = NULL, *ra = NULL, *re = NULL;
    size_t lb = 0, la = 0, le = 0;
    cr_assert_eq(iamp_jobs_record(b, IAMP_REC_SUBMIT, 0, &rb, &lb), 0);
    cr_assert_eq(iamp_jobs_record(b, IAMP_REC_END, 10, &re, &le), 0);
    cr_assert_eq(iamp_jobs_record(a, IAMP_REC_SUBMIT, 0, &ra, &la), 0);
    struct iamp_journal_rec recs[3] = {{rb, lb}, {re, le}, {ra, la}};
    cr_assert_eq(iamp_journal_rewrite(&js.journal, recs, 3, NULL), 0);
    free(rb);
    free(ra);
    free(re);
    reopen();
    cr_assert_not_null(iamp_jobs_get(&js, 1));
    cr_assert_eq(iamp_jobs_get(&js, 1)->st.state, IAMP_JOB_QUEUED);
    cr_assert_eq(iamp_jobs_get(&js, 2)->st.state, IAMP_JOB_DONE);
    cr_assert_eq(js.bad_records, 0);
}

/* Job j DONE with n answers, journaled as the server does: the END record
 * holds the answers. */
static void end_with_answers(struct iamp_job *j, int n)
{
    struct iamp_result r;
    memset(&r, 0, sizeof(r));
    r.job_id = j->st.job_id;
    snprintf(r.task, sizeof(r.task), "%s", j->st.task);
    r.n = n;
    r.qs = calloc((size_t)n, sizeof(*r.qs));
    r.as = calloc((size_t)n, sizeof(*r.as));
    for (int i = 0; i < n; i++) {
        r.qs[i].len = 1;
        r.qs[i].tok[0] = (uint16_t)i;
        r.as[i].len = 1;
        r.as[i].tok[0] = (uint16_t)(100 + i + j->st.job_id);
    }
    uint8_t *file = NULL, *buf = NULL;
    size_t flen = 0, len = 0;
    cr_assert_eq(iamp_result_encode_file(&r, &file, &flen), 0);
    struct iamp_job_status st = j->st;
    st.state = IAMP_JOB_DONE;
    st.done = (uint64_t)n;
    st.finished_ms = 7;
    cr_assert_eq(iamp_jobs_end_record(j, &st, file, flen, &buf, &len), 0);
    struct iamp_journal_rec rec = {buf, len};
    uint64_t at = 0;
    cr_assert_eq(iamp_journal_append(&js.journal, &rec, 1, &at), 0);
    j->st = st;
    j->result_at = at;
    iamp_result_release(&r);
    free(file);
    free(buf);
}

static void assert_answers(uint64_t id, int n)
{
    struct iamp_job *j = iamp_jobs_get(&js, id);
    cr_assert_not_null(j, "job %llu", (unsigned long long)id);
    cr_assert_eq(j->st.state, IAMP_JOB_DONE);
    cr_assert_eq(j->st.kind, IAMP_JOB_ANSWER, "the END record keeps the whole status");
    const struct iamp_result *r = NULL;
    cr_assert_eq(iamp_jobs_result(&js, j, &r), 0);
    cr_assert_eq(r->n, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(r->as[i].tok[0], 100 + i + id, "job %llu answer %d", (unsigned long long)id,
                     i);
}

Test(jobs, answers_in_end_records_survive_reopen_compaction_and_pruning)
{
    for (int k = 0; k < 6; k++)
        end_with_answers(add(3 + k, ""), 3 + k);
    reopen();
    char path[4200];
    cr_assert_eq(iamp_job_path(path, sizeof(path), dir, 2, "result"), 0);
    cr_assert_neq(access(path, F_OK), 0, "no result file: the journal holds the answers");
    for (int k = 0; k < 6; k++)
        assert_answers((uint64_t)(1 + k), 3 + k);
    uint64_t before = iamp_jobs_get(&js, 6)->result_at;
    cr_assert_eq(iamp_jobs_compact(&js), 0);
    cr_assert_neq(iamp_jobs_get(&js, 6)->result_at, before, "compaction moved the record");
    for (int k = 0; k < 6; k++) { /* drop the cache: read from the rewritten journal */
        struct iamp_job *j = iamp_jobs_get(&js, (uint64_t)(1 + k));
        iamp_result_release(j->result);
        free(j->result);
        j->result = NULL;
        js.result_bytes = 0;
    }
    for (int k = 0; k < 6; k++)
        assert_answers((uint64_t)(1 + k), 3 + k);
    long pruned = 0;
    cr_assert_eq(iamp_jobs_prune(&js, 1000, 2, 0.0, &pruned), 0);
    cr_assert_eq(pruned, 4);
    reopen();
    assert_answers(5, 7);
    assert_answers(6, 8);
    cr_assert_null(iamp_jobs_get(&js, 4));
}

/* An unfinished job whose spec went to the executor (the server keeps no
 * copy) is rewritten by compaction from its journaled SUBMIT. */
Test(jobs, compaction_keeps_an_unfinished_job_whose_spec_was_handed_over)
{
    struct iamp_job *a = add(4, "a");
    a->spec.qs[2].len = 1;
    a->spec.qs[2].tok[0] = 7;
    cr_assert_eq(iamp_jobs_compact(&js), 0); /* journal it with that token, from the spec */
    reopen(); /* as at a start: the replayed job knows its SUBMIT's place */
    a = iamp_jobs_get(&js, 1);
    cr_assert_neq(a->submit_at, 0);
    iamp_job_spec_release(&a->spec); /* handed to the executor */
    cr_assert_eq(iamp_jobs_compact(&js), 0);
    cr_assert_eq(iamp_jobs_compact(&js), 0, "and again, from the rewritten journal");
    reopen();
    a = iamp_jobs_get(&js, 1);
    cr_assert_not_null(a);
    cr_assert_eq(a->st.state, IAMP_JOB_QUEUED);
    cr_assert_eq(a->spec.n, 4, "its questions came back");
    cr_assert_eq(a->spec.qs[2].tok[0], 7);
    cr_assert_str_eq(a->st.task, "permpow:n=16,seed=1,kmax=15");
}
