/* distill.h — from training examples to gradients: the one place where the
 * distillation losses meet the model.
 *
 * A training example says what M should learn on one question: push up
 * (weight > 0) or down (weight < 0) the log-probability of an answer, and
 * optionally regress the value head toward a target. Every distillation
 * mode reduces to such examples:
 *   imitate / search / supervised: weight 1 on the chosen answer;
 *   reinforce: weight = advantage (reward - baseline) on a sampled answer,
 *              value_target = reward.
 * The gradient of  scale * sum_i loss_i  is written to m->grads, so N
 * workers each holding a share of a batch of B examples, called with
 * scale = 1/B, produce gradients whose sum is the full batch's gradient.
 * Runs on the thread that owns the model.
 */
#ifndef IAMP_DISTILL_H
#define IAMP_DISTILL_H

#include "worker/policy.h"

#include <math.h>

struct iamp_distill_opts {
    float value_coef; /* weight of the squared value error */
};

struct iamp_distill_stats {
    double loss;        /* scale * sum of every example's total loss */
    double policy_loss; /* scale * sum of weight * -log p(a | q) */
    double value_loss;  /* scale * sum of squared value errors */
    long rows;          /* model rows (answer tokens) in the batch */
    /* Filled by iamp_session_fit (seconds over the whole call). */
    double compute_s;     /* forward + backward */
    double reduce_wait_s; /* waiting for the gradient sum after backward */
    double optimizer_s;   /* Adam */
};

/* Reusable buffers for iamp_distill_grad. */
struct iamp_distill_work {
    struct iamp_rows rows;
    float *row_weight; /* (rows) */
    float *dlogits;    /* (rows, V) */
    float *dvalues;    /* (rows) */
    size_t cap_rows;
};

void iamp_distill_work_init(struct iamp_distill_work *w);
void iamp_distill_work_release(struct iamp_distill_work *w);

/* Forward and backward over ex[0..n); gradients of scale * loss into
 * m->grads (overwritten). ready (may be NULL) sees backward's progress. */
IAMP_WUR int iamp_distill_grad(struct iamp_model *m, const struct iamp_task *t,
                               const struct iamp_example *ex, int n, float scale,
                               const struct iamp_distill_opts *o, struct iamp_distill_work *w,
                               struct iamp_distill_stats *st, iamp_grad_ready_cb ready, void *ctx);

#endif
