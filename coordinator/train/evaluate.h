/* evaluate.h — held-out evaluation against ground truth.
 *
 * The evaluation set is fixed by the task and an eval seed, independent of
 * the training seed, so every run of a task is measured on the same
 * questions. This is the only place (with the supervised baseline) where
 * iamp consults ground truth.
 *
 * Each question is judged by its own type (the task's correct()); the
 * headline accuracy is the share correct of the task's headline type (of
 * every question when the task names none). Amplified accuracy is measured
 * on the headline type's questions only: it is the figure reported, and on
 * tasks with several types the others' amplification is the costly part.
 */
#ifndef IAMP_EVALUATE_H
#define IAMP_EVALUATE_H

#include "worker/session.h"

struct iamp_eval_set {
    int n;
    struct iamp_question *qs; /* (n) */
    struct iamp_answer *buf;  /* (n) scratch for answers */
    int n_head;
    struct iamp_question *head; /* (n_head) the headline type's questions */
    struct iamp_context *ctx;   /* the set's instances (tasks with contexts), every size */
};

/* size <= 0: the task's full evaluation set (t->eval_size). A task with
 * contexts gets instances of every size from the eval-only stream, which
 * training never draws from: held-out accuracy is on unseen instances. */
IAMP_WUR int iamp_eval_set_init(struct iamp_eval_set *ev, const struct iamp_task *t, int size,
                                uint64_t eval_seed);
void iamp_eval_set_release(struct iamp_eval_set *ev);

/* Headline accuracy of M alone (depth 0, greedy, the whole set) or of
 * Amp^depth(H, M) (the headline questions). per_type (may be NULL) gets
 * the share per question type, NAN for types absent from the set; metrics
 * (may be NULL) the task's own metrics (t->metric_names: trajectory's
 * token accuracy, markov's mean absolute error), each the mean over the
 * questions it applies to (NAN: none). */
IAMP_WUR int iamp_eval_accuracy(struct iamp_session *s, struct iamp_eval_set *ev, int depth,
                                double *accuracy, double *per_type, double *metrics);

#endif
