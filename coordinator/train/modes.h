/* modes.h — the distillation modes: a round's questions become training
 * examples by each question's mode (train.h, step 2).
 *
 * Given the round's questions and M's greedy answers, iamp_modes_build
 * decides each question's mode for this round (search, reinforce and mixed
 * imitate during the warm-up), amplifies imitation targets, samples
 * answers, asks Amp(H, M_target) to approve M's greedy answer and the
 * samples (one batched engine run for the whole round), reads the value
 * baseline, and writes each question's examples and its agreement (the
 * curriculum's signal). Ground truth is read only for supervised-mode
 * questions. Runs on the trainer's thread.
 */
#ifndef IAMP_MODES_H
#define IAMP_MODES_H

#include "coordinator/train/train.h"

/* Fills tr->mode, targets, cand, score, baseline, ex, n_ex and agree for
 * tr->qs[0..n) given tr->mine; st gets approval, reward and value_error. */
IAMP_WUR int iamp_modes_build(struct iamp_trainer *tr, int n, struct iamp_round_stats *st);

#endif
