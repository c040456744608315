/* session.h — one task with one model copy, its optimizer and its engine:
 * what every command that does model work starts from.
 *
 * A session is created fresh (task spec + model sizes + seed) or from a
 * checkpoint, which fixes the task and the model shape. Runs on one thread.
 */
#ifndef IAMP_SESSION_H
#define IAMP_SESSION_H

#include "proto/codec.h"
#include "tasks/task.h"
#include "worker/adam.h"
#include "worker/engine.h"
#include "worker/model.h"

struct iamp_model_opts {
    int embed;  /* slot embedding width */
    int hidden; /* hidden layer width */
    int layers; /* hidden layers */
};

#define IAMP_MODEL_OPTS_DEFAULT                                                                    \
    {                                                                                              \
        32, 256, 2                                                                                 \
    }

struct iamp_session {
    struct iamp_task task;
    struct iamp_model model;
    struct iamp_adam adam;
    struct iamp_engine engine;
    int open;
};

/* A fresh session; err gets a one-line reason. */
IAMP_WUR int iamp_session_open(struct iamp_session *s, const char *task_spec,
                               const struct iamp_model_opts *mo, float lr, uint64_t seed, char *err,
                               size_t errlen);
/* A session from a checkpoint file. task_spec may be NULL (use the
 * checkpoint's); otherwise it must name the same task. ck (may be NULL)
 * receives the checkpoint's training state; the caller releases it. */
IAMP_WUR int iamp_session_load(struct iamp_session *s, const char *path, const char *task_spec,
                               struct iamp_checkpoint *ck, char *err, size_t errlen);
void iamp_session_close(struct iamp_session *s);

/* A checkpoint view of the session: its pointers borrow the session's
 * buffers, so save it but do not release it. */
void iamp_session_checkpoint_view(const struct iamp_session *s, struct iamp_checkpoint *ck);

/* M's greedy answers (depth 0). */
IAMP_WUR int iamp_session_answer(struct iamp_session *s, const struct iamp_question *qs, int n,
                                 struct iamp_answer *out);
/* Amp^depth(H, M) with M greedy at the leaves. */
IAMP_WUR int iamp_session_amplify(struct iamp_session *s, const struct iamp_question *qs, int n,
                                  int depth, struct iamp_answer *out);

/* The leaf function over a local model: ctx is a struct iamp_leaf_ctx. */
struct iamp_leaf_ctx {
    struct iamp_model *model;
    const struct iamp_task *task;
    int mode;          /* enum iamp_decode_mode */
    float temperature; /* when sampling */
    struct iamp_rng *rng;
};
int iamp_leaf_local(void *ctx, const struct iamp_question *qs, const int *depth, int n,
                    struct iamp_answer *out);

#endif
