/* test_executor.c — jobs run on the in-process backend give what the
 * session gives, in slices, with progress; cancels end jobs; a training
 * job publishes a newer model that later jobs answer with. */
#include "coordinator/serve/executor.h"
#include "coordinator/serve/jobs.h"
#include "coordinator/train/plan.h"
#include "worker/session.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TASK "permpow:n=16,kmax=15,seed=3"

static char dir[64];
static struct iamp_backend *backend;
static struct iamp_executor *ex;

static void notify_cb(void *ctx)
{
    (void)ctx;
}

static void setup(void)
{
    char err[256], path[128];
    snprintf(dir, sizeof(dir), "/tmp/iamp-exec-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/jobs", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/checkpoint.pb", dir);
    struct iamp_backend_local_opts bo = {
        .checkpoint = path, .task = TASK, .seed = 1, .max_versions = 3, .cadence = {2, 0.05, 1}};
    cr_assert_eq(iamp_backend_local_new(&bo, &backend, err, sizeof(err)), 0, "%s", err);
    struct iamp_executor_opts xo = {dir, 0.5, 64, 1L << 20, 1L << 14};
    cr_assert_eq(iamp_executor_start(&ex, backend, &xo, notify_cb, NULL), 0);
}

static void teardown(void)
{
    iamp_executor_stop(ex);
    iamp_backend_free(backend);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(executor, .init = setup, .fini = teardown, .timeout = 60);

/* Events until job id ends; returns its final event, counts progress. */
static struct iamp_exec_event wait_end(uint64_t id, int *progress)
{
    struct iamp_exec_event ev;
    for (;;) {
        while (iamp_executor_poll(ex, &ev)) {
            if (ev.st.job_id != id)
                continue;
            if (iamp_job_state_final(ev.st.state))
                return ev;
            (*progress)++;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void answer_spec_at(struct iamp_job_spec *s, const struct iamp_task *t, int n, int depth)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 9, 9);
    memset(s, 0, sizeof(*s));
    s->kind = IAMP_JOB_ANSWER;
    snprintf(s->task, sizeof(s->task), "%s", t->spec);
    s->depth = (uint32_t)depth;
    s->n = n;
    s->qs = calloc((size_t)n, sizeof(*s->qs));
    for (int i = 0; i < n; i++)
        t->ops->sample(t, &r, t->max_difficulty, &s->qs[i]);
}

static void answer_spec(struct iamp_job_spec *s, const struct iamp_task *t, int n)
{
    answer_spec_at(s, t, n, 2);
}

Test(executor, large_answers_go_to_the_result_file_before_done)
{
    struct iamp_job_spec spec;
    struct iamp_task t;
    char err[256], path[200];
    cr_assert_eq(iamp_task_create(&t, TASK, err, sizeof(err)), 0);
    answer_spec_at(&spec, &t, 30000, 0);
    cr_assert_eq(iamp_executor_submit(ex, 1, &spec), 0);
    int progress = 0;
    struct iamp_exec_event ev = wait_end(1, &progress);
    cr_assert_eq(ev.st.state, IAMP_JOB_DONE, "%s", ev.st.message);
    cr_assert_null(ev.result_file, "30000 answers are over IAMP_RESULT_INLINE_MAX");
    cr_assert_eq(iamp_job_path(path, sizeof(path), dir, 1, "result"), 0);
    struct iamp_result r;
    cr_assert_eq(iamp_result_load(path, &r), 0, "the result file is written before DONE");
    cr_assert_eq(r.n, 30000);
    for (int i = 0; i < r.n; i++)
        cr_assert(iamp_answer_equal(&r.as[i], &ev.result->as[i]));
    iamp_result_release(&r);
    iamp_result_release(ev.result);
    free(ev.result);
    iamp_task_destroy(&t);
}

Test(executor, answers_equal_the_session_and_come_in_slices)
{
    struct iamp_session s;
    struct iamp_job_spec spec;
    struct iamp_train_plan plan; /* the model the backend made: the task's shape */
    char err[256];
    cr_assert_eq(iamp_train_plan_for_task(&plan, TASK, NULL, err, sizeof(err)), 0);
    cr_assert_eq(iamp_session_open(&s, TASK, &plan.mo, 1e-3f, 1, err, sizeof(err)), 0);
    answer_spec(&spec, &s.task, 3000);
    struct iamp_answer *want = calloc(3000, sizeof(*want));
    cr_assert_eq(iamp_session_amplify(&s, spec.qs, 3000, 2, want), 0);
    cr_assert_eq(iamp_executor_submit(ex, 1, &spec), 0);
    cr_assert_null(spec.qs, "the executor took the questions");
    int progress = 0;
    struct iamp_exec_event ev = wait_end(1, &progress);
    cr_assert_eq(ev.st.state, IAMP_JOB_DONE, "%s", ev.st.message);
    cr_assert_gt(progress, 2, "3000 questions at 0.5 ms a slice come in several slices");
    cr_assert_not_null(ev.result);
    cr_assert_eq(ev.result->n, 3000);
    for (int i = 0; i < 3000; i++)
        cr_assert(iamp_answer_equal(&ev.result->as[i], &want[i]), "question %d", i);
    /* Small answers travel to the journal with the event; large ones are
     * in the result file before DONE. */
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(iamp_result_encode_file(ev.result, &bytes, &len), 0);
    char path[200];
    cr_assert_eq(iamp_job_path(path, sizeof(path), dir, 1, "result"), 0);
    if (len <= IAMP_RESULT_INLINE_MAX) {
        cr_assert_not_null(ev.result_file);
        cr_assert_eq(ev.result_file_len, len);
        cr_assert(memcmp(ev.result_file, bytes, len) == 0);
        cr_assert_neq(access(path, R_OK), 0, "no result file for answers the journal keeps");
    } else {
        cr_assert_null(ev.result_file);
        cr_assert_eq(access(path, R_OK), 0, "the result file is written before DONE");
    }
    cr_log_info("3000 answers: %zu result bytes", len);
    free(bytes);
    free(ev.result_file);
    iamp_result_release(ev.result);
    free(ev.result);
    free(want);
    iamp_session_close(&s);
}

Test(executor, small_jobs_ready_together_are_amplified_together)
{
    struct iamp_session s;
    struct iamp_job_spec spec;
    struct iamp_train_plan plan;
    char err[256];
    cr_assert_eq(iamp_train_plan_for_task(&plan, TASK, NULL, err, sizeof(err)), 0);
    cr_assert_eq(iamp_session_open(&s, TASK, &plan.mo, 1e-3f, 1, err, sizeof(err)), 0);
    enum { SMALL = 40, EACH = 3 };
    struct iamp_question qs[SMALL * EACH];
    answer_spec(&spec, &s.task, 2000); /* a large job first keeps the executor busy */
    cr_assert_eq(iamp_executor_submit(ex, 1, &spec), 0);
    struct iamp_rng r;
    iamp_rng_seed(&r, 5, 5);
    for (int i = 0; i < SMALL * EACH; i++)
        s.task.ops->sample(&s.task, &r, 1 + i % s.task.max_difficulty, &qs[i]);
    for (int k = 0; k < SMALL; k++) {
        memset(&spec, 0, sizeof(spec));
        spec.kind = IAMP_JOB_ANSWER;
        snprintf(spec.task, sizeof(spec.task), "%s", s.task.spec);
        spec.depth = 2;
        spec.n = EACH;
        spec.qs = calloc(EACH, sizeof(*spec.qs));
        memcpy(spec.qs, qs + k * EACH, sizeof(qs[0]) * EACH);
        cr_assert_eq(iamp_executor_submit(ex, (uint64_t)(2 + k), &spec), 0);
    }
    struct iamp_answer want[SMALL * EACH];
    cr_assert_eq(iamp_session_amplify(&s, qs, SMALL * EACH, 2, want), 0);
    int progress = 0, done = 0;
    struct iamp_exec_event ev;
    while (done < SMALL + 1) {
        if (!iamp_executor_poll(ex, &ev)) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (!iamp_job_state_final(ev.st.state)) {
            progress++;
            continue;
        }
        done++;
        cr_assert_eq(ev.st.state, IAMP_JOB_DONE, "%s", ev.st.message);
        int k = (int)ev.st.job_id - 2;
        if (k >= 0) {
            cr_assert_eq(ev.result->n, EACH);
            for (int i = 0; i < EACH; i++)
                cr_assert(iamp_answer_equal(&ev.result->as[i], &want[k * EACH + i]),
                          "job %d question %d: the answer alone and in a batch", k + 2, i);
        }
        free(ev.result_file);
        iamp_result_release(ev.result);
        free(ev.result);
    }
    long batches = 0, batched = 0;
    iamp_executor_counts(ex, &batches, &batched);
    cr_log_info("%ld batches held %ld jobs", batches, batched);
    cr_assert_geq(batched, SMALL / 2, "most of the small jobs ran with others (%ld)", batched);
    cr_assert_leq(2 * batches, batched, "batches of several jobs (%ld in %ld)", batched, batches);
    iamp_session_close(&s);
}

Test(executor, cancel_ends_a_job)
{
    struct iamp_job_spec spec;
    struct iamp_task t;
    char err[256];
    cr_assert_eq(iamp_task_create(&t, TASK, err, sizeof(err)), 0);
    memset(&spec, 0, sizeof(spec));
    spec.kind = IAMP_JOB_TRAIN;
    spec.train.rounds = 1000;
    spec.train.questions_per_round = 32;
    cr_assert_eq(iamp_executor_submit(ex, 1, &spec), 0);
    answer_spec(&spec, &t, 10);
    cr_assert_eq(iamp_executor_submit(ex, 2, &spec), 0);
    iamp_executor_cancel(ex, 1);
    int progress = 0;
    struct iamp_exec_event ev = wait_end(1, &progress);
    cr_assert_eq(ev.st.state, IAMP_JOB_CANCELED);
    ev = wait_end(2, &progress);
    cr_assert_eq(ev.st.state, IAMP_JOB_DONE);
    iamp_result_release(ev.result);
    free(ev.result);
    iamp_task_destroy(&t);
}

Test(executor, training_publishes_a_model_that_later_jobs_use)
{
    struct iamp_job_spec spec;
    memset(&spec, 0, sizeof(spec));
    spec.kind = IAMP_JOB_TRAIN;
    spec.train.rounds = 3;
    spec.train.questions_per_round = 32;
    cr_assert_eq(iamp_executor_submit(ex, 1, &spec), 0);
    int progress = 0;
    struct iamp_exec_event ev = wait_end(1, &progress);
    cr_assert_eq(ev.st.state, IAMP_JOB_DONE, "%s", ev.st.message);
    cr_assert_eq(ev.st.model_round, 3);
    cr_assert(ev.st.has_accuracy, "the last round is evaluated");
    cr_assert_eq(ev.served_round, 3);
    memset(&spec, 0, sizeof(spec));
    spec.kind = IAMP_JOB_EVAL;
    spec.depth = 1;
    spec.eval_size = 100;
    cr_assert_eq(iamp_executor_submit(ex, 2, &spec), 0);
    ev = wait_end(2, &progress);
    cr_assert_eq(ev.st.state, IAMP_JOB_DONE);
    cr_assert_eq(ev.st.model_round, 3);
    char path[200];
    snprintf(path, sizeof(path), "%s/checkpoint.pb", dir);
    cr_assert_eq(access(path, R_OK), 0, "training saved the checkpoint");
}
