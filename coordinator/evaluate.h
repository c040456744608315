/* evaluate.h — held-out evaluation against ground truth.
 *
 * The evaluation set is fixed by the task and an eval seed, independent of
 * the training seed, so every run of a task is measured on the same
 * questions. This is the only place (with the supervised baseline) where
 * iamp consults ground truth.
 */
#ifndef IAMP_EVALUATE_H
#define IAMP_EVALUATE_H

#include "worker/session.h"

struct iamp_eval_set {
    int n;
    struct iamp_question *qs; /* (n) */
    struct iamp_answer *buf;  /* (n) scratch for answers */
};

IAMP_WUR int iamp_eval_set_init(struct iamp_eval_set *ev, const struct iamp_task *t, int size,
                                uint64_t eval_seed);
void iamp_eval_set_release(struct iamp_eval_set *ev);

/* Share of the set that Amp^depth(H, M) answers correctly (depth 0: M
 * alone, greedy). per_type (may be NULL) gets the share per question type,
 * NAN for types absent from the set. */
IAMP_WUR int iamp_eval_accuracy(struct iamp_session *s, struct iamp_eval_set *ev, int depth,
                                double *accuracy, double *per_type);

#endif
