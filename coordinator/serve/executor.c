/* executor.c — see executor.h.
 *
 * Locking: `mu` guards the scheduler, every job's `cancel` flag and the
 * job list; `ev_mu` guards the event queue. The thread drops `mu` while a
 * slice runs, so submits and cancels never wait for the model. A job is
 * freed only by the executor thread.
 */
#include "coordinator/serve/executor.h"

#include "common/clock.h"
#include "common/fileio.h"
#include "coordinator/serve/jobs.h"
#include "coordinator/serve/sched.h"
#include "coordinator/train/traces.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define SLICE_START_QUESTIONS 16
#define BATCH_JOBS_MAX 256 /* answer jobs amplified together at most */

struct xjob {
    struct iamp_sched_entry se; /* first: the scheduler hands back entries */
    struct iamp_job_spec spec;
    int started, cancel;
    struct iamp_job_status st;
    /* ANSWER */
    struct iamp_model_ref *ref;
    struct iamp_answer *out; /* (spec.n) */
    int done, slice;
    long nodes;
    /* ANSWER with spec.trace: tree i is trace[tree_at[i], tree_at[i + 1]) */
    struct iamp_result_node *trace; /* (trace_cap) */
    long trace_n, trace_cap;
    long *tree_at;           /* (spec.n + 1) */
    long max_trace;          /* the executor's max_trace_nodes */
    long over_q, over_nodes; /* a tree over max_trace_nodes: its question, size */
    /* TRAIN */
    int train_open;
    uint64_t start_round, target_round, round;
};

struct event_node {
    struct iamp_exec_event ev;
    struct event_node *next;
};

struct iamp_executor {
    struct iamp_backend *b;
    struct iamp_executor_opts o;
    char dir[4096];
    iamp_executor_notify_cb notify;
    void *ctx;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    struct iamp_sched sched;
    int stop;
    uv_mutex_t ev_mu;
    struct event_node *ev_head, *ev_tail;
    /* batches of answer jobs (executor thread) */
    int batch_slice; /* root questions of the next batch at most */
    struct xjob *batch[BATCH_JOBS_MAX];
    struct iamp_question *bq;
    struct iamp_answer *ba;
    int bcap;
    long batches, batched; /* under mu */
};

/* ---------------------------------------------------------- events */

static void post_result(struct iamp_executor *x, struct xjob *j, struct iamp_result *result,
                        uint8_t *file, size_t file_len)
{
    struct event_node *n = calloc(1, sizeof(*n));
    if (!n) { /* the job's next event, or the journal replay, repairs this */
        if (result) {
            iamp_result_release(result);
            free(result);
        }
        free(file);
        return;
    }
    n->ev.st = j->st;
    n->ev.result = result;
    n->ev.result_file = file;
    n->ev.result_file_len = file_len;
    n->ev.served_round = x->b->round;
    uv_mutex_lock(&x->ev_mu);
    if (x->ev_tail)
        x->ev_tail->next = n;
    else
        x->ev_head = n;
    x->ev_tail = n;
    uv_mutex_unlock(&x->ev_mu);
    x->notify(x->ctx);
}

static void post(struct iamp_executor *x, struct xjob *j)
{
    post_result(x, j, NULL, NULL, 0);
}

int iamp_executor_poll(struct iamp_executor *x, struct iamp_exec_event *ev)
{
    uv_mutex_lock(&x->ev_mu);
    struct event_node *n = x->ev_head;
    if (n) {
        x->ev_head = n->next;
        if (!x->ev_head)
            x->ev_tail = NULL;
    }
    uv_mutex_unlock(&x->ev_mu);
    if (!n)
        return 0;
    *ev = n->ev;
    free(n);
    return 1;
}

/* ---------------------------------------------------------- job ends */

static void release_job(struct iamp_executor *x, struct xjob *j)
{
    char err[256];
    if (j->ref)
        x->b->ops->unpin(x->b, j->ref);
    if (j->train_open && x->b->ops->train_close(x->b, err, sizeof(err)))
        fprintf(stderr, "iamp: serve: job %" PRIu64 ": %s\n", j->se.id, err);
    free(j->out);
    free(j->trace);
    free(j->tree_at);
    iamp_job_spec_release(&j->spec);
    free(j);
}

/* Post the final state; the caller frees the job. */
static void finish(struct iamp_executor *x, struct xjob *j, int state, const char *why)
{
    j->st.state = state;
    j->st.finished_ms = iamp_unix_ms();
    snprintf(j->st.message, sizeof(j->st.message), "%.255s", why ? why : "");
    post(x, j);
}

/* ---------------------------------------------------------- ANSWER */

static int answer_start(struct iamp_executor *x, struct xjob *j)
{
    int rc = x->b->ops->pin(x->b, &j->ref, &j->st.model_round);
    if (rc)
        return rc;
    j->st.has_model_round = 1;
    j->out = calloc(j->spec.n ? (size_t)j->spec.n : 1, sizeof(*j->out));
    if (!j->out)
        return IAMP_ENOMEM;
    j->slice = SLICE_START_QUESTIONS;
    if (j->spec.trace) {
        j->max_trace = x->o.max_trace_nodes;
        j->tree_at = calloc((size_t)j->spec.n + 1, sizeof(*j->tree_at));
        if (!j->tree_at)
            return IAMP_ENOMEM;
    }
    return 0;
}

/* The engine's trace of a slice of job j (its roots from question
 * j->done): split into trees and kept. */
static int keep_trace_cb(void *ctx, const struct iamp_trace_node *nodes, long n, int n_roots)
{
    struct xjob *j = ctx;
    if (j->trace_n + n > j->trace_cap) {
        long cap = j->trace_cap ? j->trace_cap : 1024;
        while (cap < j->trace_n + n)
            cap *= 2;
        struct iamp_result_node *p = realloc(j->trace, (size_t)cap * sizeof(*p));
        if (!p)
            return IAMP_ENOMEM;
        j->trace = p;
        j->trace_cap = cap;
    }
    long *at = j->tree_at + j->done; /* at[0] is trace_n already */
    int rc = iamp_traces_split(nodes, n, n_roots, j->trace + j->trace_n, at);
    for (int r = 0; !rc && r <= n_roots; r++)
        at[r] += j->trace_n;
    for (int r = 0; !rc && r < n_roots; r++) {
        if (at[r + 1] - at[r] > j->max_trace) {
            j->over_q = j->done + r;
            j->over_nodes = at[r + 1] - at[r];
            rc = IAMP_ELIMIT;
        }
    }
    if (!rc)
        j->trace_n += n;
    return rc;
}

/* Aim the next slice at slice_ms from this one's pace (k questions in
 * `seconds`). */
static void resize_slice(struct iamp_executor *x, int *slice, int k, double seconds)
{
    double want = seconds > 1e-6 ? (double)k * x->o.slice_ms * 1e-3 / seconds : 4.0 * k;
    if (want > 4.0 * *slice)
        want = 4.0 * *slice;
    *slice = want < 1.0                        ? 1
             : want > x->o.slice_max_questions ? x->o.slice_max_questions
                                               : (int)want;
}

/* Post DONE with the answers: their result-file bytes go with the event
 * for the journal, or, when too large for a record, to the result file. */
static void answer_done(struct iamp_executor *x, struct xjob *j)
{
    char path[4200], why[300];
    uint8_t *file = NULL;
    size_t len = 0;
    struct iamp_result *r = calloc(1, sizeof(*r));
    int rc = r ? 0 : IAMP_ENOMEM;
    if (!rc) {
        r->job_id = j->se.id;
        snprintf(r->task, sizeof(r->task), "%s", j->spec.task);
        r->depth = j->spec.depth;
        r->model_round = j->st.model_round;
        r->n = j->spec.n;
        r->qs = j->spec.qs;
        r->as = j->out;
        r->ctx = j->spec.ctx; /* the questions and trace nodes point into it */
        r->n_ctx = j->spec.n_ctx;
        r->tree_at = j->tree_at;
        r->nodes = j->trace;
        j->spec.qs = NULL;
        j->spec.ctx = NULL;
        j->out = NULL;
        j->tree_at = NULL;
        j->trace = NULL;
        rc = iamp_result_encode_file(r, &file, &len);
    }
    if (!rc && len > IAMP_RESULT_INLINE_MAX) {
        rc = iamp_job_path(path, sizeof(path), x->dir, j->se.id, "result");
        if (!rc)
            rc = iamp_file_write_atomic(path, file, len);
        free(file);
        file = NULL;
    }
    if (rc) {
        snprintf(why, sizeof(why), "cannot write the result: %s", iamp_strerror(rc));
        iamp_result_release(r);
        free(r);
        free(file);
        finish(x, j, IAMP_JOB_FAILED, why);
        return;
    }
    j->st.state = IAMP_JOB_DONE;
    j->st.finished_ms = iamp_unix_ms();
    j->st.done = (uint64_t)j->spec.n;
    post_result(x, j, r, file, len);
}

static int answer_slice(struct iamp_executor *x, struct xjob *j)
{
    char why[200];
    int rc = j->started ? 0 : answer_start(x, j);
    if (rc) {
        finish(x, j, IAMP_JOB_FAILED, iamp_strerror(rc));
        return 1;
    }
    j->started = 1;
    int k = j->spec.n - j->done < j->slice ? j->spec.n - j->done : j->slice;
    long nodes = 0;
    double t0 = iamp_now();
    rc = x->b->ops->amplify(x->b, j->ref, j->spec.qs + j->done, k, (int)j->spec.depth,
                            x->o.max_tree_nodes - j->nodes, j->spec.trace ? keep_trace_cb : NULL, j,
                            j->out + j->done, &nodes);
    j->nodes += nodes;
    if (rc == IAMP_ELIMIT && j->over_nodes) {
        snprintf(why, sizeof(why),
                 "the trace of question %ld has %ld nodes; one result page carries at most %ld "
                 "(--max-frame-bytes)",
                 j->over_q + 1, j->over_nodes, x->o.max_trace_nodes);
        finish(x, j, IAMP_JOB_FAILED, why);
        return 1;
    }
    if (rc == IAMP_ESTATE && j->spec.trace) {
        finish(x, j, IAMP_JOB_FAILED,
               "trace needs one process: under mpirun the workers' subtrees are not traced");
        return 1;
    }
    if (rc == IAMP_ELIMIT) {
        snprintf(why, sizeof(why), "question trees exceed the limit of %ld nodes",
                 x->o.max_tree_nodes);
        finish(x, j, IAMP_JOB_FAILED, why);
        return 1;
    }
    if (rc) {
        snprintf(why, sizeof(why), "amplification failed: %s", iamp_strerror(rc));
        finish(x, j, IAMP_JOB_FAILED, why);
        return 1;
    }
    resize_slice(x, &j->slice, k, iamp_now() - t0);
    j->done += k;
    j->st.done = (uint64_t)j->done;
    if (j->done < j->spec.n) {
        post(x, j);
        return 0;
    }
    answer_done(x, j);
    return 1;
}

/* ---------------------------------------------------------- EVAL */

static int eval_slice(struct iamp_executor *x, struct xjob *j)
{
    uint64_t round = 0;
    double acc = 0.0, amp = 0.0;
    int rc = x->b->ops->pin(x->b, &j->ref, &round);
    if (!rc)
        rc = x->b->ops->evaluate(x->b, j->ref, (int)j->spec.depth, (int)j->spec.eval_size, &acc,
                                 &amp);
    if (rc) {
        finish(x, j, IAMP_JOB_FAILED, iamp_strerror(rc));
        return 1;
    }
    j->st.has_model_round = j->st.has_accuracy = 1;
    j->st.model_round = round;
    j->st.accuracy = acc;
    j->st.amplified_accuracy = amp;
    j->st.done = j->st.total;
    finish(x, j, IAMP_JOB_DONE, NULL);
    return 1;
}

/* ---------------------------------------------------------- TRAIN */

/* The job's first round: from <id>.train when it ran before a restart,
 * else now (and recorded). */
static int train_start_round(struct iamp_executor *x, struct xjob *j, uint64_t now)
{
    char path[4200], text[64];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = iamp_job_path(path, sizeof(path), x->dir, j->se.id, "train");
    if (rc)
        return rc;
    if (iamp_file_read(path, sizeof(text) - 1, &buf, &len) == 0) {
        unsigned long long v = 0;
        memcpy(text, buf, len);
        text[len] = '\0';
        free(buf);
        if (sscanf(text, "%llu", &v) == 1 && v <= now) {
            j->start_round = v;
            return 0;
        }
    }
    j->start_round = now;
    int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", now);
    return iamp_file_write_atomic(path, text, (size_t)n);
}

static int train_begin(struct iamp_executor *x, struct xjob *j, char *why, size_t whylen)
{
    char metrics[4200];
    uint64_t round = 0;
    int rc = iamp_job_path(metrics, sizeof(metrics), x->dir, j->se.id, "metrics.jsonl");
    if (!rc)
        rc = x->b->ops->train_open(x->b, &j->spec.train, metrics, &round, why, whylen);
    if (rc)
        return rc;
    j->train_open = 1;
    rc = train_start_round(x, j, round);
    if (rc) {
        snprintf(why, whylen, "cannot record the job's start: %s", iamp_strerror(rc));
        return rc;
    }
    j->round = round;
    j->target_round = j->start_round + j->spec.train.rounds;
    j->st.has_model_round = 1;
    return 0;
}

static void train_end(struct iamp_executor *x, struct xjob *j, int state, const char *msg)
{
    char why[300];
    j->train_open = 0;
    if (x->b->ops->train_close(x->b, why, sizeof(why)) && state == IAMP_JOB_DONE) {
        finish(x, j, IAMP_JOB_FAILED, why);
        return;
    }
    finish(x, j, state, msg);
}

static int train_slice(struct iamp_executor *x, struct xjob *j)
{
    char why[300] = "";
    if (!j->started && train_begin(x, j, why, sizeof(why))) {
        finish(x, j, IAMP_JOB_FAILED, why);
        return 1;
    }
    j->started = 1;
    if (j->round < j->target_round) {
        struct iamp_round_stats st;
        int rc = x->b->ops->train_round(x->b, j->target_round, &st, why, sizeof(why));
        if (rc) {
            train_end(x, j, IAMP_JOB_FAILED, why);
            return 1;
        }
        j->round = (uint64_t)st.round;
        if (!isnan(st.accuracy)) {
            j->st.has_accuracy = 1;
            j->st.accuracy = st.accuracy;
            j->st.amplified_accuracy = st.amplified_accuracy;
        }
    }
    j->st.model_round = j->round;
    j->st.done = j->round > j->start_round ? j->round - j->start_round : 0;
    if (j->round < j->target_round) {
        post(x, j);
        return 0;
    }
    train_end(x, j, IAMP_JOB_DONE, NULL);
    return 1;
}

/* ---------------------------------------------------------- batches of ANSWER jobs */

static int left_of(const struct xjob *j)
{
    return j->spec.n - j->done;
}

/* batch[0] = j, and after it the jobs that can run with j in one amplify
 * call (when j is an answer job it finishes): answer jobs of its depth,
 * not canceled, that finish within the batch's size; how many in all.
 * Called with mu held. */
static int gather(struct iamp_executor *x, struct xjob *j)
{
    int k = 0, room = x->batch_slice;
    x->batch[k++] = j;
    if (j->spec.kind != IAMP_JOB_ANSWER || j->spec.trace || left_of(j) > room)
        return k; /* a traced job keeps its own trees: it runs alone */
    room -= left_of(j);
    for (int i = 0; i < x->sched.n && k < BATCH_JOBS_MAX && room > 0; i++) {
        struct xjob *m = (struct xjob *)x->sched.e[i];
        if (m == j || m->spec.kind != IAMP_JOB_ANSWER || m->spec.trace || m->cancel ||
            m->spec.depth != j->spec.depth || left_of(m) > room)
            continue;
        x->batch[k++] = m;
        room -= left_of(m);
    }
    return k;
}

static int grow_batch_buffers(struct iamp_executor *x, int n)
{
    if (n <= x->bcap)
        return 0;
    struct iamp_question *q = realloc(x->bq, (size_t)n * sizeof(*q));
    if (q)
        x->bq = q;
    struct iamp_answer *a = q ? realloc(x->ba, (size_t)n * sizeof(*a)) : NULL;
    if (a)
        x->ba = a;
    if (!q || !a)
        return IAMP_ENOMEM;
    x->bcap = n;
    return 0;
}

/* Start the batch's jobs and keep those on batch[0]'s model version:
 * their count. ended[i] is set for jobs that failed to start, ran[i]
 * for the kept ones. */
static int start_batch(struct iamp_executor *x, int k, int *ended, int *ran)
{
    int kept = 0;
    for (int i = 0; i < k; i++) {
        struct xjob *m = x->batch[i];
        if (!m->started) { /* from QUEUED to its end in this slice: no RUNNING event */
            m->st.state = IAMP_JOB_RUNNING;
            int rc = answer_start(x, m);
            m->started = 1;
            if (rc) {
                finish(x, m, IAMP_JOB_FAILED, iamp_strerror(rc));
                ended[i] = 1;
                continue;
            }
        }
        if (x->batch[0]->ref && m->ref == x->batch[0]->ref) {
            ran[i] = 1;
            kept++;
        }
    }
    return kept;
}

/* Run batch[0..k) in one amplify call. ended[i]: job i ended (its final
 * event posted); share[i]: its part of the executor time. */
static void run_batch(struct iamp_executor *x, int k, int *ended, double *share)
{
    int ran[BATCH_JOBS_MAX] = {0};
    double t0 = iamp_now();
    int kept = start_batch(x, k, ended, ran), total = 0;
    long budget = x->o.max_tree_nodes;
    for (int i = 0; i < k; i++) {
        if (!ran[i])
            continue;
        struct xjob *m = x->batch[i];
        if (x->o.max_tree_nodes - m->nodes < budget)
            budget = x->o.max_tree_nodes - m->nodes;
        total += left_of(m);
    }
    int rc = kept ? grow_batch_buffers(x, total) : IAMP_EINVAL;
    for (int i = 0, at = 0; !rc && i < k; i++) {
        if (ran[i]) {
            memcpy(x->bq + at, x->batch[i]->spec.qs + x->batch[i]->done,
                   (size_t)left_of(x->batch[i]) * sizeof(*x->bq));
            at += left_of(x->batch[i]);
        }
    }
    long nodes = 0;
    if (!rc)
        rc = x->b->ops->amplify(x->b, x->batch[0]->ref, x->bq, total, (int)x->batch[0]->spec.depth,
                                budget, NULL, NULL, x->ba, &nodes);
    double spent = iamp_now() - t0;
    if (!rc)
        resize_slice(x, &x->batch_slice, total, spent);
    for (int i = 0, at = 0; i < k; i++) {
        struct xjob *m = x->batch[i];
        if (!ran[i])
            continue;
        int left = left_of(m);
        share[i] = total ? spent * left / total : 0.0;
        if (rc) { /* one at a time: each meets its own limit or error */
            double t1 = iamp_now();
            ended[i] = answer_slice(x, m);
            share[i] += iamp_now() - t1;
            continue;
        }
        memcpy(m->out + m->done, x->ba + at, (size_t)left * sizeof(*m->out));
        at += left;
        m->done = m->spec.n;
        answer_done(x, m);
        ended[i] = 1;
    }
}

/* ---------------------------------------------------------- the thread */

/* Run one slice; 1 when the job ended (its final event is posted). */
static int run_slice(struct iamp_executor *x, struct xjob *j)
{
    if (!j->started && j->spec.kind != IAMP_JOB_TRAIN) {
        j->st.state = IAMP_JOB_RUNNING;
        post(x, j);
    }
    switch (j->spec.kind) {
    case IAMP_JOB_ANSWER:
        return answer_slice(x, j);
    case IAMP_JOB_EVAL:
        return eval_slice(x, j);
    default:
        j->st.state = IAMP_JOB_RUNNING;
        return train_slice(x, j);
    }
}

/* A job whose cancel was asked, removed from the scheduler; NULL if none.
 * Called with mu held. */
static struct xjob *take_canceled(struct iamp_executor *x)
{
    for (int i = 0; i < x->sched.n; i++) {
        struct xjob *j = (struct xjob *)x->sched.e[i];
        if (j->cancel) {
            iamp_sched_remove(&x->sched, &j->se);
            return j;
        }
    }
    return NULL;
}

static void end_canceled(struct iamp_executor *x, struct xjob *j)
{
    if (j->train_open)
        train_end(x, j, IAMP_JOB_CANCELED, "canceled");
    else
        finish(x, j, IAMP_JOB_CANCELED, "canceled");
    release_job(x, j);
}

static void thread_main(void *arg)
{
    struct iamp_executor *x = arg;
    uv_mutex_lock(&x->mu);
    while (!x->stop) {
        struct xjob *j = take_canceled(x);
        if (j) {
            uv_mutex_unlock(&x->mu);
            end_canceled(x, j);
            uv_mutex_lock(&x->mu);
            continue;
        }
        j = (struct xjob *)iamp_sched_pick(&x->sched);
        if (!j) {
            uv_cond_wait(&x->cond, &x->mu);
            continue;
        }
        int k = gather(x, j);
        uv_mutex_unlock(&x->mu);
        int ended[BATCH_JOBS_MAX] = {0};
        double share[BATCH_JOBS_MAX] = {0};
        if (k > 1) {
            run_batch(x, k, ended, share);
        } else {
            double t0 = iamp_now();
            ended[0] = run_slice(x, j);
            share[0] = iamp_now() - t0;
        }
        uv_mutex_lock(&x->mu);
        x->batches += k > 1;
        x->batched += k > 1 ? k : 0;
        for (int i = 0; i < k; i++) {
            struct xjob *m = x->batch[i];
            iamp_sched_charge(&x->sched, &m->se, share[i]);
            if (ended[i]) {
                iamp_sched_remove(&x->sched, &m->se);
                release_job(x, m);
            }
        }
    }
    while (x->sched.n > 0) {
        struct xjob *j = (struct xjob *)x->sched.e[0];
        iamp_sched_remove(&x->sched, &j->se);
        release_job(x, j);
    }
    uv_mutex_unlock(&x->mu);
}

/* ---------------------------------------------------------- API */

int iamp_executor_start(struct iamp_executor **out, struct iamp_backend *b,
                        const struct iamp_executor_opts *o, iamp_executor_notify_cb notify,
                        void *ctx)
{
    struct iamp_executor *x = calloc(1, sizeof(*x));
    *out = NULL;
    if (!x)
        return IAMP_ENOMEM;
    x->b = b;
    x->o = *o;
    snprintf(x->dir, sizeof(x->dir), "%s", o->data_dir);
    x->o.data_dir = x->dir;
    x->notify = notify;
    x->ctx = ctx;
    iamp_sched_init(&x->sched);
    x->batch_slice = SLICE_START_QUESTIONS;
    if (uv_mutex_init(&x->mu) || uv_mutex_init(&x->ev_mu) || uv_cond_init(&x->cond)) {
        free(x);
        return IAMP_ENOMEM;
    }
    if (uv_thread_create(&x->thread, thread_main, x)) {
        uv_cond_destroy(&x->cond);
        uv_mutex_destroy(&x->mu);
        uv_mutex_destroy(&x->ev_mu);
        free(x);
        return IAMP_ENOMEM;
    }
    *out = x;
    return 0;
}

int iamp_executor_submit(struct iamp_executor *x, uint64_t id, struct iamp_job_spec *spec)
{
    struct xjob *j = calloc(1, sizeof(*j));
    if (!j)
        return IAMP_ENOMEM;
    j->se.id = id;
    j->se.exclusive = spec->kind == IAMP_JOB_TRAIN;
    j->se.index = -1;
    j->spec = *spec;
    memset(spec, 0, sizeof(*spec));
    j->st.job_id = id;
    j->st.state = IAMP_JOB_QUEUED;
    j->st.depth = j->spec.depth;
    j->st.total = j->spec.kind == IAMP_JOB_ANSWER  ? (uint64_t)j->spec.n
                  : j->spec.kind == IAMP_JOB_TRAIN ? j->spec.train.rounds
                                                   : j->spec.eval_size;
    uv_mutex_lock(&x->mu);
    int rc = iamp_sched_add(&x->sched, &j->se);
    if (!rc)
        uv_cond_signal(&x->cond);
    uv_mutex_unlock(&x->mu);
    if (rc) {
        *spec = j->spec;
        free(j);
    }
    return rc;
}

void iamp_executor_cancel(struct iamp_executor *x, uint64_t id)
{
    uv_mutex_lock(&x->mu);
    for (int i = 0; i < x->sched.n; i++) {
        struct xjob *j = (struct xjob *)x->sched.e[i];
        if (j->se.id == id)
            j->cancel = 1;
    }
    uv_cond_signal(&x->cond);
    uv_mutex_unlock(&x->mu);
}

void iamp_executor_counts(struct iamp_executor *x, long *batches, long *batched)
{
    uv_mutex_lock(&x->mu);
    *batches = x->batches;
    *batched = x->batched;
    uv_mutex_unlock(&x->mu);
}

void iamp_executor_stop(struct iamp_executor *x)
{
    if (!x)
        return;
    uv_mutex_lock(&x->mu);
    x->stop = 1;
    uv_cond_signal(&x->cond);
    uv_mutex_unlock(&x->mu);
    uv_thread_join(&x->thread);
    struct iamp_exec_event ev;
    while (iamp_executor_poll(x, &ev)) {
        if (ev.result) {
            iamp_result_release(ev.result);
            free(ev.result);
        }
        free(ev.result_file);
    }
    iamp_sched_release(&x->sched);
    free(x->bq);
    free(x->ba);
    uv_cond_destroy(&x->cond);
    uv_mutex_destroy(&x->mu);
    uv_mutex_destroy(&x->ev_mu);
    free(x);
}
