/* modes.h — the distillation modes, one table: how a round's questions
 * become training examples (train.h, step 2), and `--algo`, which names a
 * mode per question type.
 *
 * A mode is one row of iamp_mode_info: its name, whether it needs an
 * approval question, how many answers it samples, where its target comes
 * from, whether it reads the value baseline, what the curriculum's signal
 * is, and the function that writes a question's examples. A new mode is a
 * new row and its writer; nothing else switches on modes.
 *
 * Given the round's questions and M's greedy answers, iamp_modes_build
 * decides each question's mode for this round (the approval modes imitate
 * during the warm-up), amplifies imitation targets, samples answers, asks
 * Amp(H, M_target) to approve M's greedy answer and the samples (one
 * batched engine run for the whole round), reads the value baseline, and
 * writes each question's examples and its agreement (the curriculum's
 * signal). Ground truth is read only for supervised-mode questions. Runs
 * on the trainer's thread; knows nothing of the trainer.
 */
#ifndef IAMP_MODES_H
#define IAMP_MODES_H

#include "worker/session.h"

enum iamp_mode {
    IAMP_MODE_IMITATE = 0,
    IAMP_MODE_SEARCH,
    IAMP_MODE_REINFORCE,
    IAMP_MODE_MIXED,
    IAMP_MODE_SUPERVISED,
    IAMP_MODE_COUNT
};

/* Where a mode's imitation target comes from. */
enum iamp_target_kind {
    IAMP_TARGET_NONE = 0,  /* none of its own (search picks a candidate) */
    IAMP_TARGET_AMPLIFIED, /* Amp^depth(H, M_target) */
    IAMP_TARGET_TRUTH,     /* ground truth (the supervised baseline) */
};

#define IAMP_SAMPLES_K (-1) /* a mode's samples: the config's `samples` */

struct iamp_round_data;

struct iamp_mode_info {
    const char *name;
    const char *help;      /* one line for --help: what M learns from */
    int approval;          /* needs an approval type; imitates during the warm-up */
    int samples;           /* answers sampled besides M's greedy one, or IAMP_SAMPLES_K */
    int target;            /* enum iamp_target_kind */
    int baseline;          /* reads V(q); reports the sample's reward and V's error */
    int agree_by_approval; /* curriculum signal: approval of M's greedy answer
                              (else: M's greedy answer agrees with the target) */
    void (*write)(struct iamp_round_data *rd, int i); /* question i's examples */
};

/* The row of a mode; NULL when out of range. */
const struct iamp_mode_info *iamp_mode_info(int mode);
const char *iamp_mode_name(int mode);

/* Distillation mode per question type, parsed from "imitate" or
 * "type=mode,type=mode". A single word applies to every type; under an
 * approval mode a type without an approval question (tictactoe's value
 * and approve) imitates instead. Naming such a type explicitly with one of
 * them is an error, and so is any of them on a task without approval. */
struct iamp_algo {
    int mode[IAMP_TYPES_MAX];
};

IAMP_WUR int iamp_algo_parse(const char *text, const struct iamp_task *t, struct iamp_algo *a,
                             char *err, size_t errlen);
/* "type=mode,..." for every type of t. */
void iamp_algo_format(const struct iamp_algo *a, const struct iamp_task *t, char *buf, size_t len);

/* One round's questions and what the modes make of them. The caller sets
 * the first five fields and the questions and greedy answers; q is
 * cfg->questions_per_round and C = cfg->samples + 1. */
struct iamp_round_data {
    struct iamp_session *s;
    const struct iamp_train_config *cfg;
    const struct iamp_algo *algo;
    struct iamp_rng *rng;        /* sampling seeds (the training stream) */
    long round;                  /* rounds done before this one (the warm-up) */
    struct iamp_question *qs;    /* (q) the round's questions */
    struct iamp_answer *mine;    /* (q) M's greedy answers */
    struct iamp_answer *targets; /* (q) imitation/search target */
    int *mode;                   /* (q) mode of each question this round */
    float *agree;                /* (q) curriculum signal per question */
    struct iamp_answer *cand;    /* (q, C) greedy answer, then samples */
    float *score;                /* (q, C) their amplified approval; NAN: not judged */
    float *baseline;             /* (q) V(q) for the modes that read it */
    struct iamp_example *ex;     /* (q, 2) each question's examples */
    int *n_ex;                   /* (q) */
};

/* Allocate the buffers for cfg's sizes and set the context fields. */
IAMP_WUR int iamp_round_data_init(struct iamp_round_data *rd, struct iamp_session *s,
                                  const struct iamp_train_config *cfg, const struct iamp_algo *algo,
                                  struct iamp_rng *rng);
void iamp_round_data_release(struct iamp_round_data *rd);

/* What the approval modes measured this round; NAN where none applies. */
struct iamp_mode_stats {
    double approval;    /* mean amplified approval of M's greedy answers */
    double reward;      /* mean reward of the sampled answers learned from */
    double value_error; /* mean (V(q) - reward)^2 */
};

/* Fills mode, targets, cand, score, baseline, ex, n_ex and agree for
 * qs[0..n) given mine. */
IAMP_WUR int iamp_modes_build(struct iamp_round_data *rd, int n, struct iamp_mode_stats *st);
/* Demonstrations (coordinator/train/demos.h): targets[0..n) are already
 * the answers to imitate. Every question imitates its target, with no
 * engine run and no ground truth; fills mode, ex, n_ex and agree (M's
 * greedy answer against the target); the approval figures are NAN. */
void iamp_modes_build_given(struct iamp_round_data *rd, int n, struct iamp_mode_stats *st);

#endif
