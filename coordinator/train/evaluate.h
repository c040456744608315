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
 *
 * Decomposition depth (issue 13: where overseer errors propagate): a
 * question's depth is the height of H's full decomposition tree, without
 * M and without ground truth — 0 for a question H answers as a primitive,
 * 1 when every subquestion it asks is a primitive, d + 1 when the deepest
 * subquestion has depth d (permpow: floor(log2 k)). It is found by running
 * the engine on H alone, at depth IAMP_EVAL_DEPTHS - 1, with a leaf
 * function that fails the run when called: a tree that needs M (or grows
 * past IAMP_EVAL_DEPTH_NODES nodes per question) has no depth. The
 * headline questions' depths are computed once (iamp_eval_set_depths: the
 * set is fixed), and accuracy by depth is the share correct of the
 * headline questions of each depth. A task where some headline question
 * has no depth reports none: markov at its default size (16 subquestions
 * a level), graph and path (a first step asks every neighbour's distance;
 * an unreachable pair never ends) outgrow the cap. tictactoe's headline
 * type, action, is H's primitive rule of thumb: depth 0 throughout.
 */
#ifndef IAMP_EVALUATE_H
#define IAMP_EVALUATE_H

#include "worker/session.h"

#define IAMP_EVAL_DEPTHS 16        /* decomposition depths 0..15 */
#define IAMP_EVAL_DEPTH_NODES 4096 /* nodes per question H may need without M */

struct iamp_eval_set {
    int n;
    struct iamp_question *qs; /* (n) */
    struct iamp_answer *buf;  /* (n) scratch for answers */
    int n_head;
    struct iamp_question *head; /* (n_head) the headline type's questions */
    struct iamp_context *ctx;   /* the set's instances (tasks with contexts), every size */
    int *depth;                 /* (n) decomposition depth of qs[i], -1 for other types;
                                   NULL: not computed, or the task's H needs M */
    int *head_depth;            /* (n_head) the same of head[i] */
    unsigned depths;            /* bit d: some headline question has depth d; 0: none known */
};

/* size <= 0: the task's full evaluation set (t->eval_size). A task with
 * contexts gets instances of every size from the eval-only stream, which
 * training never draws from: held-out accuracy is on unseen instances. */
IAMP_WUR int iamp_eval_set_init(struct iamp_eval_set *ev, const struct iamp_task *t, int size,
                                uint64_t eval_seed);
void iamp_eval_set_release(struct iamp_eval_set *ev);

/* Decomposition depth of each of qs[0..n) into depth[] (see above): 0, or
 * IAMP_ELIMIT when some question's tree needs M or outgrows the caps
 * (depth[] then undefined); other codes are failures (out of memory). */
IAMP_WUR int iamp_eval_depths(const struct iamp_task *t, const struct iamp_question *qs, int n,
                              int *depth);
/* Compute ev->depth and ev->depths once; a task whose H needs M leaves
 * them NULL and 0 and is not an error. */
IAMP_WUR int iamp_eval_set_depths(struct iamp_eval_set *ev, const struct iamp_task *t);

/* Headline accuracy of M alone (depth 0, greedy, the whole set) or of
 * Amp^depth(H, M) (the headline questions). per_type (may be NULL) gets
 * the share per question type, NAN for types absent from the set; metrics
 * (may be NULL) the task's own metrics (t->metric_names: trajectory's
 * token accuracy, markov's mean absolute error), each the mean over the
 * questions it applies to (NAN: none); by_depth (may be NULL;
 * IAMP_EVAL_DEPTHS of them) the headline accuracy per decomposition
 * depth, NAN for depths absent or unknown. */
IAMP_WUR int iamp_eval_accuracy(struct iamp_session *s, struct iamp_eval_set *ev, int depth,
                                double *accuracy, double *per_type, double *metrics,
                                double *by_depth);

#endif
