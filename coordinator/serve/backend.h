/* backend.h — the compute side of the service, behind one narrow ops
 * struct: answer questions with the served model, evaluate it, run
 * training rounds on it. The executor (executor.h) calls nothing else, so
 * the distributed engine of issue 3 replaces the in-process backend
 * (backend_local.c) by providing these ops over MPI ranks.
 *
 * Model versions: answers come from a *pinned* version of the served
 * model. A job pins the newest published version when it starts and keeps
 * it to the end, so every answer of one job comes from one model even
 * while a training job publishes new versions between its slices. A
 * version is freed when its last pin goes and it is no longer the newest.
 *
 * Threads: every op is called from the executor thread, one at a time.
 * Ownership: the backend owns its model versions; a pin is a borrowed
 * handle valid until unpin.
 */
#ifndef IAMP_BACKEND_H
#define IAMP_BACKEND_H

#include "common/error.h"
#include "common/types.h"
#include "coordinator/train/train.h"
#include "proto/wire.h"

#include <stddef.h>
#include <stdint.h>

struct iamp_backend;
struct iamp_model_ref; /* a pinned model version */
struct iamp_pool;

struct iamp_backend_ops {
    /* Pin the newest published model; *round gets its training round. */
    IAMP_WUR int (*pin)(struct iamp_backend *b, struct iamp_model_ref **ref, uint64_t *round);
    void (*unpin)(struct iamp_backend *b, struct iamp_model_ref *ref);
    /* Amp^depth(H, M_ref)(qs[i]) into out[i] for i < n, M greedy at the
     * leaves. At most max_nodes tree nodes (IAMP_ELIMIT beyond); *nodes
     * gets the nodes used. trace_cb (NULL: none) gets the run's every
     * node, as the engine's (worker/engine.h); a backend that cannot see
     * every node (workers amplifying subtrees) refuses it, IAMP_ESTATE. */
    IAMP_WUR int (*amplify)(struct iamp_backend *b, struct iamp_model_ref *ref,
                            const struct iamp_question *qs, int n, int depth, long max_nodes,
                            iamp_engine_trace_cb trace_cb, void *trace_ctx, struct iamp_answer *out,
                            long *nodes);
    /* Held-out accuracy of M_ref alone and of Amp^depth(H, M_ref) on the
     * task's fixed evaluation set of eval_size questions. */
    IAMP_WUR int (*evaluate)(struct iamp_backend *b, struct iamp_model_ref *ref, int depth,
                             int eval_size, double *accuracy, double *amplified);
    /* Training, through the one round driver (coordinator/train/train.h)
     * with the backend's cadence. open continues the served model's saved
     * training state, or starts one from iamp_train_plan_for_task and p;
     * *round gets the rounds the model has done; each round's metrics row
     * is appended to metrics_path (may be NULL). round runs one IA round of
     * a run whose last round is last_round (evaluated when the cadence or
     * the end asks for it) and publishes the new model; close saves the
     * checkpoint. err gets a one-line reason. */
    IAMP_WUR int (*train_open)(struct iamp_backend *b, const struct iamp_train_params *p,
                               const char *metrics_path, uint64_t *round, char *err, size_t errlen);
    IAMP_WUR int (*train_round)(struct iamp_backend *b, uint64_t last_round,
                                struct iamp_round_stats *st, char *err, size_t errlen);
    IAMP_WUR int (*train_close)(struct iamp_backend *b, char *err, size_t errlen);
    void (*destroy)(struct iamp_backend *b);
};

struct iamp_backend {
    const struct iamp_backend_ops *ops;
    char task[IAMP_SPEC_MAX]; /* canonical spec of the served model's task */
    uint64_t round;           /* training round of the newest published model */
    uint32_t ranks;           /* processes the backend computes on */
};

/* Options of the in-process backend. */
struct iamp_backend_local_opts {
    const char *checkpoint;       /* model file: loaded when present, saved by training */
    const char *task;             /* task spec; NULL: the checkpoint's */
    uint64_t seed;                /* init seed of a fresh model (no checkpoint) */
    int max_versions;             /* model versions alive at most (>= 2) */
    struct iamp_cadence cadence;  /* training: evaluations and checkpoints */
    struct iamp_cluster *cluster; /* the workers under mpirun; NULL: one process */
    struct iamp_pool *pool;       /* threads for model work (borrowed; NULL: one) */
};

/* The in-process backend: one session (task, model, engine) on the
 * executor thread. err gets a one-line reason. */
IAMP_WUR int iamp_backend_local_new(const struct iamp_backend_local_opts *o,
                                    struct iamp_backend **out, char *err, size_t errlen);
void iamp_backend_free(struct iamp_backend *b);

#endif
