/* distill.h — from training examples to gradients: the one place where the
 * distillation losses meet the model.
 *
 * A training example says what M should learn on one question: push up
 * (weight > 0) or down (weight < 0) the log-probability of an answer,
 * optionally regress the value head toward a target, and optionally add
 * an entropy bonus and a KL penalty to a reference policy on the rows of
 * the answer. Every distillation mode reduces to such examples:
 *   imitate / search / supervised: weight 1 on the chosen answer;
 *   reinforce: weight = advantage (reward - baseline) on a sampled answer,
 *              value_target = reward, entropy_weight = the bonus; for
 *              token sequences the baseline is per prefix
 *              (prefix_baseline: weight = the coefficient, and each
 *              answer row's advantage is reward - V(question, prefix));
 *   mixed: an imitate example with weight lambda and a reinforce example
 *          scaled by 1 - lambda that also carries kl_weight = beta.
 * The gradient of  scale * sum_i loss_i  is written to m->grads, so N
 * workers each holding a share of a batch of B examples, called with
 * scale = 1/B, produce gradients whose sum is the full batch's gradient.
 * Runs on the thread that owns the model.
 */
#ifndef IAMP_DISTILL_H
#define IAMP_DISTILL_H

#include "worker/policy.h"

/* A reinforce example: sampled answer a with reward R and baseline b,
 * all scaled by coef: weight coef * (R - b), value target R, entropy
 * bonus coef * entropy. Minimising its loss follows the REINFORCE
 * estimate of the gradient of E[R] (see tests/unit/test_distill.c). */
void iamp_example_reinforce(struct iamp_example *e, const struct iamp_question *q,
                            const struct iamp_answer *a, float reward, float baseline, float coef,
                            float entropy);
/* A reinforce example with the per-prefix baseline (sequence answers):
 * the reward comes at the end; row r's advantage is R - V(q, a[0..r)),
 * read from the value head in the same forward pass, times coef. */
void iamp_example_reinforce_prefix(struct iamp_example *e, const struct iamp_question *q,
                                   const struct iamp_answer *a, float reward, float coef,
                                   float entropy);
/* An imitation example: weight on -log p_M(a | q), nothing else. */
void iamp_example_imitate(struct iamp_example *e, const struct iamp_question *q,
                          const struct iamp_answer *a, float weight);

struct iamp_distill_opts {
    float value_coef;       /* weight of the squared value error */
    struct iamp_model *ref; /* p_ref for kl_weight; may be NULL when no example has one */
};

struct iamp_distill_stats {
    double loss;        /* scale * sum of every example's total loss */
    double policy_loss; /* scale * sum of weight * -log p(a | q) (density on continuous rows) */
    double value_loss;  /* scale * sum of squared value errors */
    double reg_loss;    /* scale * sum of kl_weight * KL - entropy_weight * H */
    long rows;          /* model rows (answer tokens) in the batch */
    /* Filled by iamp_session_fit (seconds over the whole call). */
    double compute_s;     /* forward + backward */
    double reduce_wait_s; /* waiting for the gradient sum after backward */
    double optimizer_s;   /* Adam */
};

/* Reusable buffers for iamp_distill_grad. */
struct iamp_distill_work {
    struct iamp_rows rows;
    float *row_weight;  /* (rows) */
    float *row_entropy; /* (rows) entropy_weight of each row's example */
    float *row_kl;      /* (rows) kl_weight of each row's example */
    float *dlogits;     /* (rows, V) */
    float *dvalues;     /* (rows) */
    float *dcont;       /* (rows, C) continuous head */
    size_t cap_rows;
};

void iamp_distill_work_init(struct iamp_distill_work *w);
void iamp_distill_work_release(struct iamp_distill_work *w);

/* Forward and backward over ex[0..n); gradients of scale * loss into
 * m->grads (overwritten). ready (may be NULL) sees backward's progress.
 * With a kl_weight anywhere, o->ref is run forward on the same rows
 * (IAMP_EINVAL without one). */
IAMP_WUR int iamp_distill_grad(struct iamp_model *m, const struct iamp_task *t,
                               const struct iamp_example *ex, int n, float scale,
                               const struct iamp_distill_opts *o, struct iamp_distill_work *w,
                               struct iamp_distill_stats *st, iamp_grad_ready_cb ready, void *ctx);

#endif
