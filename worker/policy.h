/* policy.h — M as a policy over answers: rows, decoding, log-probabilities
 * and the per-row losses the distillation modes are built from.
 *
 * A question with an answer becomes one row per answer token (teacher
 * forcing): the row's input holds the answer prefix before that token, its
 * target is the token. Every softmax is taken over the question's answer
 * range [lo, hi) only; logits outside it get no probability and no gradient.
 */
#ifndef IAMP_POLICY_H
#define IAMP_POLICY_H

#include "tasks/task.h"
#include "worker/model.h"

/* Rows for the model, with their targets; grown on demand. */
struct iamp_rows {
    int n, cap, n_slots;
    int32_t *in;       /* (n, S) slot tokens */
    uint16_t *lo, *hi; /* (n) answer token range of the row */
    int32_t *target;   /* (n) token the row should emit */
    int32_t *example;  /* (n) index of the example the row came from */
};

void iamp_rows_init(struct iamp_rows *rows);
void iamp_rows_release(struct iamp_rows *rows);
/* Teacher-forced rows of examples (qs[i], as[i]), appended. */
IAMP_WUR int iamp_rows_teacher(struct iamp_rows *rows, const struct iamp_model *m,
                               const struct iamp_task *t, const struct iamp_question *qs,
                               const struct iamp_answer *as, int n);

enum iamp_decode_mode {
    IAMP_DECODE_GREEDY = 0, /* argmax at every token */
    IAMP_DECODE_SAMPLE = 1, /* softmax(logits / temperature) */
};

/* Answer n questions autoregressively with M. r is used when sampling. */
IAMP_WUR int iamp_policy_answer(struct iamp_model *m, const struct iamp_task *t,
                                const struct iamp_question *qs, int n, int mode, float temperature,
                                struct iamp_rng *r, struct iamp_answer *out);
/* log p_M(as[i] | qs[i]) for each i. */
IAMP_WUR int iamp_policy_logprob(struct iamp_model *m, const struct iamp_task *t,
                                 const struct iamp_question *qs, const struct iamp_answer *as,
                                 int n, double *logp);

/* Softmax of logits[lo, hi) / temperature into p[lo, hi). */
void iamp_softmax_range(const float *logits, int lo, int hi, float temperature, float *p);

/* Weighted cross-entropy over the rows of the last forward of m:
 * returns sum_r w_r * -log p(target_r) * scale, and writes dlogits
 * (rows x V). weights (per row) may be NULL for all ones. */
double iamp_loss_xent(const struct iamp_model *m, const struct iamp_rows *rows,
                      const float *weights, float scale, float *dlogits);

#endif
