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
    struct iamp_executor_opts xo = {dir, 0.5, 64, 1L << 20};
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

static void answer_spec(struct iamp_job_spec *s, const struct iamp_task *t, int n)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 9, 9);
    memset(s, 0, sizeof(*s));
    s->kind = IAMP_JOB_ANSWER;
    snprintf(s->task, sizeof(s->task), "%s", t->spec);
    s->depth = 2;
    s->n = n;
    s->qs = calloc((size_t)n, sizeof(*s->qs));
    for (int i = 0; i < n; i++)
        t->ops->sample(t, &r, t->max_difficulty, &s->qs[i]);
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
    char path[200];
    cr_assert_eq(iamp_job_path(path, sizeof(path), dir, 1, "result"), 0);
    cr_assert_eq(access(path, R_OK), 0, "the result file is written before DONE");
    iamp_result_release(ev.result);
    free(ev.result);
    free(want);
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
