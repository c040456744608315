/* train.h — the IA training driver: rounds of sample, amplify, distil,
 * evaluate.
 *
 * One round:
 *   1. sample questions_per_round questions at the curriculum's level;
 *   2. build targets per question type by its distillation mode —
 *      imitate: Amp^depth(H, M_target) with M_target greedy at the leaves,
 *      where M_target is a snapshot of M refreshed every target_sync
 *      rounds, so targets do not move with every step (README, "How a
 *      round works", says what it changes on permpow);
 *      supervised: ground truth (the baseline, never on the IA path);
 *   3. record how often M's greedy answer already equals the target
 *      (the curriculum's signal);
 *   4. distil: `epochs` passes of Adam over the round's examples in
 *      shuffled minibatches of `batch`;
 *   5. evaluate M (depth 0) and Amp^depth on the fixed held-out set.
 * A trainer and its session run on one thread.
 */
#ifndef IAMP_TRAIN_H
#define IAMP_TRAIN_H

#include "coordinator/curriculum.h"
#include "coordinator/evaluate.h"
#include "worker/distill.h"
#include "worker/session.h"

enum iamp_mode {
    IAMP_MODE_IMITATE = 0,
    IAMP_MODE_SUPERVISED = 1,
};

/* Distillation mode per question type, parsed from "imitate" or
 * "type=mode,type=mode". */
struct iamp_algo {
    int mode[IAMP_TYPES_MAX];
};

IAMP_WUR int iamp_algo_parse(const char *text, const struct iamp_task *t, struct iamp_algo *a,
                             char *err, size_t errlen);
const char *iamp_mode_name(int mode);

struct iamp_train_opts {
    struct iamp_train_config cfg; /* algo, depth, sizes, lr, seed, curriculum */
    uint64_t eval_seed;           /* fixes the held-out set */
    int curriculum;               /* 0: start at the top level */
};

void iamp_train_opts_default(struct iamp_train_opts *o);

enum { IAMP_LR_CONSTANT = 0, IAMP_LR_LINEAR = 1 };
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
    double kl;            /* KL(p_M || p_ref); NAN when there is no reference */
    double seconds;       /* wall time of all rounds so far */
    double round_seconds; /* wall time of this round (eval included) */
};

struct iamp_trainer {
    struct iamp_session *s;
    struct iamp_train_opts opts;
    struct iamp_algo algo;
    struct iamp_curriculum cur;
    struct iamp_rng rng; /* questions and shuffles */
    struct iamp_eval_set eval;
    struct iamp_model target; /* M_target, see step 2 */
    long round, examples;
    double seconds;
    int has_reached; /* first round with accuracy >= 0.99 */
    long reached_round;
    double reached_examples, reached_seconds;
    /* Round buffers. */
    struct iamp_question *qs;
    struct iamp_answer *targets, *mine;
    int *order;                        /* (epochs * questions_per_round) */
    struct iamp_example *examples_buf; /* (questions_per_round) */
};

/* Start training a fresh session, or continue from ck (may be NULL). */
IAMP_WUR int iamp_trainer_init(struct iamp_trainer *tr, struct iamp_session *s,
                               const struct iamp_train_opts *o, const struct iamp_checkpoint *ck,
                               char *err, size_t errlen);
void iamp_trainer_release(struct iamp_trainer *tr);
/* One round: step (steps 1-4, no ground truth on the IA path) then
 * evaluate (step 5, ground truth by design). */
IAMP_WUR int iamp_trainer_round(struct iamp_trainer *tr, struct iamp_round_stats *st);
IAMP_WUR int iamp_trainer_step(struct iamp_trainer *tr, struct iamp_round_stats *st);
IAMP_WUR int iamp_trainer_evaluate(struct iamp_trainer *tr, struct iamp_round_stats *st);
/* Save the whole training state atomically. */
IAMP_WUR int iamp_trainer_save(struct iamp_trainer *tr, const char *path);

#endif
