/* plan.h — everything that decides a training run, with its defaults and
 * its options in one place: the training config (kept by checkpoints, one
 * list in proto/train_config.h), M's shape, the curriculum switch, how
 * many rounds to run and the cadence (evaluate, checkpoint).
 *
 * iamp_train_plan_for_task gives iamp's defaults and then the task's own
 * (a task's train_defaults, written as options of these tables): `iamp
 * train`, `iamp serve --task`, the service's train jobs and `iamp answer`
 * without a checkpoint all start there, so a model of one task has one
 * shape and one set of training defaults whichever command made it.
 */
#ifndef IAMP_PLAN_H
#define IAMP_PLAN_H

#include "common/options.h"
#include "worker/session.h"

struct iamp_demos;

struct iamp_train_opts {
    struct iamp_train_config cfg; /* algo, depth, sizes, lr, seed, curriculum */
    uint64_t eval_seed;           /* fixes the held-out set */
    int curriculum;               /* 0: start at the top level */
    struct iamp_demos *demos;     /* M imitates these instead of Amp(H, M) (borrowed,
                                     coordinator/train/demos.h); NULL: IA */
};

/* When a run evaluates and saves (round numbers count from the model's
 * first round, so a resumed run or a second train job keeps the cadence). */
struct iamp_cadence {
    long eval_every;       /* evaluate after round r when r % eval_every == 0 (0: by
                              eval_budget), and after a run's last round; other rounds
                              report accuracy as NAN */
    double eval_budget;    /* eval_every 0: evaluate after a round when evaluating has so
                              far taken at most this share of the run's time */
    long checkpoint_every; /* save after round r when r % checkpoint_every == 0, and at
                              the end */
};

struct iamp_train_plan {
    struct iamp_train_opts o;
    struct iamp_model_opts mo; /* M's shape when the run starts a fresh model */
    long rounds;               /* the run ends after this round (counted from the model's first) */
    struct iamp_cadence cadence;
    int algo_given; /* --algo was given */
};

#define IAMP_EVAL_SEED 12345 /* the held-out set of every command */

void iamp_train_opts_default(struct iamp_train_opts *o);
void iamp_train_plan_default(struct iamp_train_plan *p);

/* iamp's defaults, then the training defaults of the task `spec` names
 * (none when spec is NULL or names no task: creating the task reports
 * that). *applied (may be NULL) gets the task's defaults as text, or NULL
 * when it has none. IAMP_EINVAL with err when they do not parse. */
IAMP_WUR int iamp_train_plan_for_task(struct iamp_train_plan *p, const char *spec,
                                      const char **applied, char *err, size_t errlen);

/* The plan's option groups (training, model, run), their offsets taken
 * from a struct iamp_train_plan at `base` of the caller's struct. */
#define IAMP_PLAN_GROUPS 3
void iamp_train_plan_groups(size_t base, struct iamp_opt_group out[IAMP_PLAN_GROUPS]);
/* The model's shape options alone (embed, hidden, layers, pair slot), over
 * a struct iamp_model_opts at `base`. */
struct iamp_opt_group iamp_model_opts_group(size_t base);

#endif
