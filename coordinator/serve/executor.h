/* executor.h — the one thread that runs jobs on the backend.
 *
 * The model and its engine are single-threaded, and the libuv loop must
 * never wait on them, so every job runs here, in slices: an ANSWER job a
 * few questions at a time (sized to about slice_ms), a TRAIN job one IA
 * round, an EVAL job whole. Between slices the scheduler (sched.h) picks
 * the job with the least executor time, so answer jobs keep being served
 * while a training job runs, and cancels take effect.
 *
 * The loop thread hands over committed jobs (submit), asks for cancels,
 * and drains events (poll) after the notify callback fired; notify is
 * called on the executor thread and must only wake the loop (uv_async).
 *
 * Answer jobs that are ready together are amplified together: a slice of
 * one that finishes it takes along other answer jobs of the same depth on
 * the same model version that finish in it too, up to the slice's size,
 * in one amplify call (each job is charged its share of the time); when
 * the batch exceeds a job's tree-node limit, each runs alone. So many
 * small jobs cost about what one large job does. (A job that starts and
 * ends in one batch posts no RUNNING event: QUEUED, then its end.)
 *
 * A traced ANSWER job (spec.trace) runs alone, never batched: each slice
 * hands the engine's nodes to the job, which keeps them split into one
 * tree per question (coordinator/train/traces.h); a tree over
 * max_trace_nodes fails the job with the reason. Its trees go with its
 * answers into the result.
 *
 * A finished ANSWER job's DONE event carries its answers and, when they
 * fit in IAMP_RESULT_INLINE_MAX bytes, their result-file bytes, which the
 * server journals in the job's END record (one group-committed fsync for
 * many jobs); larger results are written atomically to
 * <data_dir>/jobs/<id>.result before the DONE event is posted. A TRAIN
 * job writes <id>.train (its first round) so that it resumes after a
 * restart with the same end, and appends a metrics row per round to
 * <id>.metrics.jsonl (as `iamp train --metrics` writes them; rounds that
 * a restart runs again appear again).
 */
#ifndef IAMP_EXECUTOR_H
#define IAMP_EXECUTOR_H

#include "coordinator/serve/backend.h"
#include "proto/wire.h"

struct iamp_executor;

#define IAMP_RESULT_INLINE_MAX (256u << 10) /* result bytes journaled in an END record */

struct iamp_executor_opts {
    const char *data_dir;    /* results go to <data_dir>/jobs/ */
    double slice_ms;         /* target length of an ANSWER slice */
    int slice_max_questions; /* root questions per ANSWER slice at most */
    long max_tree_nodes;     /* per job, over all its slices */
    long max_trace_nodes;    /* per question of a traced job: its tree's nodes */
};

/* One report from the executor. */
struct iamp_exec_event {
    struct iamp_job_status st;  /* job_id and the dynamic fields: state, done,
                                   total, message, model_round, accuracies,
                                   finished_ms */
    struct iamp_result *result; /* ANSWER and DONE: its answers, passed to the
                                   receiver (iamp_result_release + free);
                                   else NULL */
    uint8_t *result_file;       /* with result: its result-file bytes for the END
                                   record (free), or NULL when the result file
                                   holds them */
    size_t result_file_len;
    uint64_t served_round; /* round of the newest published model */
};

typedef void (*iamp_executor_notify_cb)(void *ctx);

IAMP_WUR int iamp_executor_start(struct iamp_executor **out, struct iamp_backend *b,
                                 const struct iamp_executor_opts *o, iamp_executor_notify_cb notify,
                                 void *ctx);
/* Take a committed job; the heap parts of *spec move to the executor and
 * *spec is zeroed. */
IAMP_WUR int iamp_executor_submit(struct iamp_executor *x, uint64_t id, struct iamp_job_spec *spec);
/* Ask job id to end CANCELED (a running slice finishes first). */
void iamp_executor_cancel(struct iamp_executor *x, uint64_t id);
/* Move the oldest pending event into *ev; 1 when there was one. */
int iamp_executor_poll(struct iamp_executor *x, struct iamp_exec_event *ev);
/* Batches run so far (amplify calls for two or more answer jobs), and
 * the jobs they held. */
void iamp_executor_counts(struct iamp_executor *x, long *batches, long *batched);
/* Stop after the slice in progress, save an open training job, join the
 * thread, free everything. Unfinished jobs are dropped here; the journal
 * still holds them. */
void iamp_executor_stop(struct iamp_executor *x);

#endif
