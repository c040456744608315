/* session.h — one model copy with everything it works with: the task, M,
 * optionally M_target (the snapshot amplification asks during training),
 * the optimizer and the amplification engine.
 *
 * Every command that does model work goes through a session. A session is
 * local (this process computes) or has a remote: then run/fit/sync go to
 * the remote copies (MPI workers, worker/cluster.c) and this process
 * only holds the state that pull() brought back (for checkpoints). The
 * caller does not need to know which.
 *
 * Determinism: greedy answers depend only on the parameters; sampled
 * answers depend only on (seed, position of the root in the call), because
 * roots are answered in units of IAMP_SESSION_UNIT roots, unit k drawing
 * from a stream seeded with (seed, k) — so a sharded run samples exactly
 * what a local one does.
 *
 * Threads: a session with a pool (iamp_session_set_pool) runs its models'
 * forward blocks (worker/model/model.h) there, distils each minibatch as
 * IAMP_FIT_SHARDS_FOR fixed shards of its examples side by side (one model
 * view each, their gradients summed in shard order) and runs Adam's chunks
 * (worker/adam.h) there. All are fixed by the shapes, so answers and
 * parameters do not depend on the thread count. The session itself is
 * used by one thread at a time.
 */
#ifndef IAMP_SESSION_H
#define IAMP_SESSION_H

#include "proto/codec.h"
#include "tasks/task.h"
#include "worker/adam.h"
#include "worker/distill.h"
#include "worker/engine.h"
#include "worker/model/model.h"

#define IAMP_SESSION_UNIT 64 /* roots per sampling unit (and per shipped unit) */

/* Shards of a minibatch of ne examples in a local fit: one per
 * IAMP_FIT_SHARD_EXAMPLES examples (at least one, at most
 * IAMP_FIT_SHARDS_MAX); shard k holds examples [ne * k / S, ne * (k + 1) / S).
 * A shard under 64 rows runs its GEMMs well below their peak. */
#define IAMP_FIT_SHARD_EXAMPLES 64
#define IAMP_FIT_SHARDS_MAX 8
#define IAMP_FIT_SHARDS_FOR(ne)                                                                    \
    ((ne) < 2 * IAMP_FIT_SHARD_EXAMPLES                      ? 1                                   \
     : (ne) >= IAMP_FIT_SHARDS_MAX * IAMP_FIT_SHARD_EXAMPLES ? IAMP_FIT_SHARDS_MAX                 \
                                                             : (ne) / IAMP_FIT_SHARD_EXAMPLES)

struct iamp_model_opts {
    int embed;       /* slot embedding width */
    int hidden;      /* hidden layer width */
    int layers;      /* hidden layers */
    int pair;        /* 1: a pair slot (worker/model/mlp.h) */
    char model[128]; /* a model spec (worker/model/model.h); "": an mlp from the
                        four above, or a transformer for a task with contexts */
};

/* Default model size: embed 32, hidden 512, 2 hidden layers. On permpow a
 * 512-wide M reaches 99% in about 25% fewer examples than a 256-wide one. */
#define IAMP_MODEL_OPTS_DEFAULT                                                                    \
    {                                                                                              \
        32, 512, 2, 0, ""                                                                          \
    }

enum iamp_pick {
    IAMP_PICK_M = 0,       /* the model being trained */
    IAMP_PICK_TARGET = 1,  /* M_target (falls back to M when not enabled) */
    IAMP_PICK_VERSION = 2, /* a published version (the job server's pinned models) */
};

/* One amplification request: Amp^depth(H, copy) with leaves decoded
 * greedily or by sampling. */
struct iamp_amp_req {
    int depth;
    int pick;                 /* enum iamp_pick */
    int decode;               /* enum iamp_decode_mode */
    float temperature;        /* when sampling */
    uint64_t seed;            /* when sampling */
    uint64_t version;         /* IAMP_PICK_VERSION: which (remote copies hold it) */
    struct iamp_model *model; /* local runs: this copy answers the leaves (or NULL) */
};

/* One round of distillation. Examples are grouped by question (mixed
 * modes give a question two); a minibatch is `batch` questions taken in
 * `order` (n_order question indices, e.g. several shuffled epochs) with
 * all their examples, and its loss is the mean over those questions. */
struct iamp_fit_req {
    const struct iamp_example *ex; /* (n) */
    int n;
    const int *first, *count; /* question q: ex[first[q], +count[q]); NULL: one each */
    int n_questions;
    const int *order; /* (n_order) question indices */
    int n_order;
    int batch; /* questions per minibatch */
    float lr;
    float value_coef;
};

/* Sums a gradient buffer across the copies that each computed a share of a
 * minibatch (bucketed allreduce); NULL for a single copy. */
struct iamp_grad_reducer {
    int (*begin)(void *ctx, float *grads, size_t n); /* before backward */
    iamp_grad_ready_cb ready;                        /* during: grads[0, done) final */
    int (*finish)(void *ctx);                        /* after: all of grads summed */
    void *ctx;
};

struct iamp_session;
struct iamp_pool;

/* Shard k >= 1 of a local fit: views of M and p_ref and their buffers
 * (shard 0 uses the session's own). */
struct iamp_fit_shard {
    struct iamp_model m, ref;
    int has_ref;
    struct iamp_distill_work work;
};

/* Where run/fit/sync go when the session is not local. */
struct iamp_remote_ops {
    int (*run)(void *ctx, struct iamp_session *s, const struct iamp_question *qs, int n,
               const struct iamp_amp_req *req, struct iamp_answer *out);
    int (*fit)(void *ctx, struct iamp_session *s, const struct iamp_fit_req *req,
               struct iamp_distill_stats *st);
    int (*target_sync)(void *ctx, struct iamp_session *s);
    int (*ref_set)(void *ctx, struct iamp_session *s);
    int (*pull)(void *ctx, struct iamp_session *s); /* remote state -> this process */
    int (*push)(void *ctx, struct iamp_session *s); /* this process's state -> remotes */
};

struct iamp_session {
    struct iamp_task task;
    struct iamp_model model;
    struct iamp_model target; /* valid when has_target */
    int has_target;
    struct iamp_model ref; /* p_ref for KL terms, valid when has_ref */
    int has_ref;
    struct iamp_adam adam;
    struct iamp_engine engine;
    struct iamp_distill_work work;
    struct iamp_pool *pool;                           /* borrowed; NULL: one thread */
    struct iamp_fit_shard shard[IAMP_FIT_SHARDS_MAX]; /* [1, n_shards) built */
    int n_shards;
    const struct iamp_remote_ops *remote; /* NULL: local */
    void *remote_ctx;
    int open;
};

/* A fresh session; err gets a one-line reason. */
IAMP_WUR int iamp_session_open(struct iamp_session *s, const char *task_spec,
                               const struct iamp_model_opts *mo, float lr, uint64_t seed, char *err,
                               size_t errlen);
/* The same with a task already made (moved into the session: *t is
 * zeroed, and the session destroys it, also on failure). */
IAMP_WUR int iamp_session_open_task(struct iamp_session *s, struct iamp_task *t,
                                    const struct iamp_model_opts *mo, float lr, uint64_t seed,
                                    char *err, size_t errlen);
/* A session from a checkpoint file. task_spec may be NULL (use the
 * checkpoint's); otherwise it must name the same task. ck (may be NULL)
 * receives the checkpoint's training state; the caller releases it. */
IAMP_WUR int iamp_session_load(struct iamp_session *s, const char *path, const char *task_spec,
                               struct iamp_checkpoint *ck, char *err, size_t errlen);
/* A session from a decoded checkpoint (params, optimizer, M_target). */
IAMP_WUR int iamp_session_from_checkpoint(struct iamp_session *s, const struct iamp_checkpoint *ck,
                                          char *err, size_t errlen);
void iamp_session_close(struct iamp_session *s);
void iamp_session_set_remote(struct iamp_session *s, const struct iamp_remote_ops *ops, void *ctx);
/* Run local work on pool's threads (borrowed; NULL: this thread only). */
void iamp_session_set_pool(struct iamp_session *s, struct iamp_pool *pool);

/* A checkpoint view of the session: its pointers borrow the session's
 * buffers, so save it but do not release it. Call pull() first. */
void iamp_session_checkpoint_view(const struct iamp_session *s, struct iamp_checkpoint *ck);

/* Amplify (or answer, depth 0) n questions. */
IAMP_WUR int iamp_session_run(struct iamp_session *s, const struct iamp_question *qs, int n,
                              const struct iamp_amp_req *req, struct iamp_answer *out);
/* M's greedy answers (depth 0). */
IAMP_WUR int iamp_session_answer(struct iamp_session *s, const struct iamp_question *qs, int n,
                                 struct iamp_answer *out);
/* Amp^depth(H, M) with M greedy at the leaves. */
IAMP_WUR int iamp_session_amplify(struct iamp_session *s, const struct iamp_question *qs, int n,
                                  int depth, struct iamp_answer *out);

/* M_target: enable (a copy of M, or init when given), and refresh from M. */
IAMP_WUR int iamp_session_target_enable(struct iamp_session *s, const float *init);
IAMP_WUR int iamp_session_target_sync(struct iamp_session *s);

/* p_ref <- M (the frozen reference of KL terms), here and on remotes. */
IAMP_WUR int iamp_session_ref_set(struct iamp_session *s, const float *init);

/* Distil: Adam steps over the request's minibatches; st gets the mean
 * over steps of each step's loss. */
IAMP_WUR int iamp_session_fit(struct iamp_session *s, const struct iamp_fit_req *req,
                              struct iamp_distill_stats *st);
/* The same on one copy of `shards`: this copy computes the gradient of
 * share `shard` of each minibatch, `red` sums the shares across copies,
 * and every copy takes the same Adam step. */
IAMP_WUR int iamp_session_fit_shard(struct iamp_session *s, const struct iamp_fit_req *req,
                                    int shard, int shards, const struct iamp_grad_reducer *red,
                                    struct iamp_distill_stats *st);

/* Bring remote state here (params, optimizer, M_target); a no-op for a
 * local session. */
IAMP_WUR int iamp_session_pull(struct iamp_session *s);

/* The leaf function over any local model copy (M, M_target, or a pinned
 * version the job server keeps): ctx is a struct iamp_leaf_ctx. */
struct iamp_leaf_ctx {
    struct iamp_model *model;
    const struct iamp_task *task;
    int mode;          /* enum iamp_decode_mode */
    float temperature; /* when sampling */
    struct iamp_rng *rng;
};
int iamp_leaf_local(void *ctx, const struct iamp_question *qs, const int *depth, int n,
                    struct iamp_answer *out);

/* Run a request on this process's copies, ignoring any remote. */
IAMP_WUR int iamp_session_run_local(struct iamp_session *s, const struct iamp_question *qs, int n,
                                    const int *depth, const struct iamp_amp_req *req,
                                    uint64_t first_unit, struct iamp_answer *out);

#endif
