/* train.h — the IA training driver: rounds of sample, amplify, distil,
 * evaluate.
 *
 * One round:
 *   1. sample questions_per_round questions at the curriculum's level;
 *   2. build training examples per question type by its distillation mode
 *      (coordinator/train/modes.c) —
 *      imitate: target Amp^depth(H, M_target) with M_target greedy at the
 *      leaves, where M_target is a snapshot of M refreshed every
 *      target_sync rounds (amplifying with the M being trained makes the
 *      targets move with every step, and on permpow the run then collapses
 *      onto wrong self-consistent answers: see README, "Why a target
 *      snapshot");
 *      search: M's greedy answer and `samples` sampled ones, each judged by
 *      amplified approval (H and M_target); the best is the target;
 *      reinforce: one sampled answer, reward = its amplified approval,
 *      baseline = M's value head, plus an entropy bonus;
 *      mixed: lambda * imitate + (1 - lambda) * reinforce + beta * KL(p_M ||
 *      p_ref), p_ref being M frozen after `warmup` rounds in which every
 *      search/reinforce/mixed type imitates instead;
 *      supervised: ground truth (the baseline, never on the IA path);
 *   3. record how far M's greedy answers already agree with the targets
 *      (equal to the target; for search and reinforce, their approval) —
 *      the curriculum's signal;
 *   4. distil: `epochs` passes of Adam over the round's questions in
 *      shuffled minibatches of `batch` questions (with all their examples);
 *   5. measure the policy's entropy and KL(p_M || p_ref) on the round's
 *      questions; evaluate M (depth 0) and Amp^depth on the fixed
 *      held-out set.
 * With demonstrations (opts.demos, `iamp train --demonstrations`), steps
 * 1-2 take the round's questions and their targets from the file instead
 * (coordinator/train/demos.h): M imitates a person, no H, no engine run
 * but M's own greedy answers, no ground truth; every type must imitate.
 * The curriculum stands still (the file, not the level, picks the
 * questions), so a run resumed without the file goes on with IA from the
 * level it had.
 * A trainer and its session run on one thread.
 */
#ifndef IAMP_TRAIN_H
#define IAMP_TRAIN_H

#include "coordinator/train/curriculum.h"
#include "coordinator/train/demos.h"
#include "coordinator/train/evaluate.h"
#include "coordinator/train/modes.h"
#include "coordinator/train/plan.h"
#include "worker/session.h"
#include "worker/distill.h"

#include <stdio.h>

#define IAMP_LR_FLOOR 0.1 /* linear schedule: lr falls to this share of lr */
/* Learning rate for a round (0-based) under the config's schedule. */
float iamp_train_lr(const struct iamp_train_config *c, long round);

struct iamp_round_stats {
    long round;                /* rounds completed, this one included */
    long examples;             /* training examples consumed so far */
    int difficulty;            /* curriculum level used this round */
    double agreement;          /* M greedy == target, this round */
    double loss;               /* mean distillation loss this round */
    double accuracy;           /* M greedy vs ground truth, held-out */
    double amplified_accuracy; /* Amp^depth vs ground truth, held-out */
    double per_type[IAMP_TYPES_MAX];
    double metric[IAMP_METRICS_MAX]; /* the task's own held-out metrics (M alone) */
    double approval;                 /* mean amplified approval of M's greedy answers; NAN: none */
    double reward;        /* mean reward of sampled answers (reinforce, mixed); NAN: none */
    double entropy;       /* mean entropy of M's answer distribution */
    double kl;            /* mean KL(p_M || p_ref); NAN when there is no reference */
    double value_error;   /* mean (V(q) - reward)^2 of the baseline; NAN: none */
    double seconds;       /* wall time of all rounds so far */
    double round_seconds; /* wall time of this round (eval included) */
};

/* Where a run's time goes (`iamp train --profile`, and a timeline span of
 * each name): a round's phases, its evaluation, and saving. */
#define IAMP_PHASES(X)                                                                             \
    X(SAMPLE, "sample")     /* questions at the curriculum's level */                              \
    X(ANSWER, "answer")     /* M's greedy answers to them */                                       \
    X(TARGETS, "targets")   /* the modes: amplified targets, samples, approvals */                 \
    X(FIT, "fit")           /* distillation: forward, backward, optimizer */                       \
    X(MEASURE, "measure")   /* entropy and KL on the round's questions */                          \
    X(EVALUATE, "evaluate") /* held-out accuracy of M and Amp(H, M) */                             \
    X(SAVE, "save")         /* metrics rows and checkpoints */
enum iamp_phase {
#define IAMP_PHASE_ENUM(id, name) IAMP_PHASE_##id,
    IAMP_PHASES(IAMP_PHASE_ENUM)
#undef IAMP_PHASE_ENUM
        IAMP_PHASE_COUNT
};
const char *iamp_phase_name(int phase);

struct iamp_trainer {
    struct iamp_session *s;
    struct iamp_train_opts opts;
    struct iamp_algo algo;
    struct iamp_curriculum cur;
    struct iamp_rng rng; /* questions and shuffles */
    struct iamp_eval_set eval;
    long round, examples;
    double seconds;
    int has_reached; /* first round with accuracy >= 0.99 */
    long reached_round;
    double reached_examples, reached_seconds;
    struct iamp_round_data rd;        /* the round's questions, answers and examples */
    struct iamp_context *ctx;         /* the round's instances (tasks with contexts) */
    int *order;                       /* (epochs * q) question order of the round's minibatches */
    int *first;                       /* (q) question i's examples start at rd.ex[first[i]] */
    double phase_s[IAMP_PHASE_COUNT]; /* wall seconds per phase, this process's run */
};

/* Start training a fresh session, or continue from ck (may be NULL). */
IAMP_WUR int iamp_trainer_init(struct iamp_trainer *tr, struct iamp_session *s,
                               const struct iamp_train_opts *o, const struct iamp_checkpoint *ck,
                               char *err, size_t errlen);
void iamp_trainer_release(struct iamp_trainer *tr);
/* Steps 1-4 of a round (no ground truth on the IA path); step 5, the
 * evaluation (ground truth by design). */
IAMP_WUR int iamp_trainer_step(struct iamp_trainer *tr, struct iamp_round_stats *st);
IAMP_WUR int iamp_trainer_evaluate(struct iamp_trainer *tr, struct iamp_round_stats *st);
/* Save the whole training state atomically. */
IAMP_WUR int iamp_trainer_save(struct iamp_trainer *tr, const char *path);

/* The one round driver: a run of rounds as `iamp train` and the
 * service's train jobs both drive it, with one cadence. */
struct iamp_run {
    struct iamp_trainer *tr;
    struct iamp_cadence cadence;
    long last_round;        /* the run's last round (evaluated) */
    const char *checkpoint; /* saved here by the cadence and at the end; NULL: never */
    FILE *metrics;          /* one JSON row per round (metrics.h); NULL: none */
    struct iamp_tensorboard *tensorboard; /* the same rows as events, synced with each
                                             checkpoint and at the end; NULL: none */
};

/* One round: the step; the evaluation when the cadence asks for it or the
 * round is the run's last, else every held-out figure NAN (null in JSON);
 * the metrics row and its TensorBoard event; the checkpoint when the
 * cadence asks for it (and the event file's fsync, with or without a
 * checkpoint path). err gets one line ("round 7 failed: ...", "cannot
 * write checkpoint ..."). */
IAMP_WUR int iamp_run_round(struct iamp_run *r, struct iamp_round_stats *st, char *err,
                            size_t errlen);
/* The run's end (done, or stopped between rounds): with measure, evaluate
 * when the last round was not (or none ran: st->round 0); then save, and
 * fsync the event file. */
IAMP_WUR int iamp_run_finish(struct iamp_run *r, int measure, struct iamp_round_stats *st,
                             char *err, size_t errlen);

#endif
