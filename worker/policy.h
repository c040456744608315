/* policy.h — M as a policy over answers: rows, decoding, log-probabilities
 * and the per-row losses the distillation modes are built from.
 *
 * A question with an answer becomes one row per answer token (teacher
 * forcing): the row's input holds the answer prefix before that token, its
 * target is the token. Every softmax is taken over the question's answer
 * range [lo, hi) only; logits outside it get no probability and no gradient.
 *
 * A question of a continuous type is one row (the question alone) whose
 * target is the value y in [0, 1]: its distribution is the continuous
 * head's logistic-normal (contdist.h), its "log-probability" the
 * log-density, and decoding gives the median (greedy) or a draw (sample)
 * in answer.value.
 */
#ifndef IAMP_POLICY_H
#define IAMP_POLICY_H

#include "tasks/task.h"
#include "worker/model/model.h"

/* The distinct contexts of a batch of rows in first-seen order; a row's
 * context slot holds its index here, so the model encodes each context
 * once per batch. Grown on demand. */
struct iamp_ctx_table {
    const struct iamp_context **ctx; /* (n) */
    int n, cap;
    int *hash; /* (2 cap) open addressing over indices; -1: empty */
};

void iamp_ctx_table_init(struct iamp_ctx_table *t);
void iamp_ctx_table_release(struct iamp_ctx_table *t);
void iamp_ctx_table_clear(struct iamp_ctx_table *t);
/* *index: c's index in t, added when new; -1 for NULL. */
IAMP_WUR int iamp_ctx_table_index(struct iamp_ctx_table *t, const struct iamp_context *c,
                                  int *index);

/* Rows for the model, with their targets; grown on demand. */
struct iamp_rows {
    int n, cap, n_slots;
    struct iamp_ctx_table ctx; /* the contexts the rows' context slots index */
    int32_t *in;               /* (n, S) slot tokens */
    uint16_t *lo, *hi;         /* (n) answer token range of the row */
    int32_t *target;           /* (n) token the row should emit; -1 on continuous rows */
    int32_t *example;          /* (n) index of the example the row came from */
    uint8_t *cont;             /* (n) 1: a continuous row, its target is y */
    float *y;                  /* (n) continuous rows: the target value */
};

void iamp_rows_init(struct iamp_rows *rows);
void iamp_rows_release(struct iamp_rows *rows);
/* No rows (and no contexts), the buffers kept. */
void iamp_rows_clear(struct iamp_rows *rows);
/* Teacher-forced rows of examples (qs[i], as[i]), appended. */
IAMP_WUR int iamp_rows_teacher(struct iamp_rows *rows, const struct iamp_model *m,
                               const struct iamp_task *t, const struct iamp_question *qs,
                               const struct iamp_answer *as, int n);

/* Forward m over rows (and their contexts), logit columns [lo, hi). */
IAMP_WUR int iamp_rows_forward(struct iamp_model *m, const struct iamp_rows *rows, int lo, int hi);

enum iamp_decode_mode {
    IAMP_DECODE_GREEDY = 0, /* argmax at every token */
    IAMP_DECODE_SAMPLE = 1, /* softmax(logits / temperature) */
    IAMP_DECODE_VALUE = 2,  /* no answer: the value head's V(q) in answer.value */
};

/* Answer n questions autoregressively with M. r is used when sampling. */
IAMP_WUR int iamp_policy_answer(struct iamp_model *m, const struct iamp_task *t,
                                const struct iamp_question *qs, int n, int mode, float temperature,
                                struct iamp_rng *r, struct iamp_answer *out);
/* log p_M(as[i] | qs[i]) for each i. */
IAMP_WUR int iamp_policy_logprob(struct iamp_model *m, const struct iamp_task *t,
                                 const struct iamp_question *qs, const struct iamp_answer *as,
                                 int n, double *logp);

/* The value head's V(q) for each question: its output on the row of the
 * first answer token (the question alone is the state). */
IAMP_WUR int iamp_policy_values(struct iamp_model *m, const struct iamp_task *t,
                                const struct iamp_question *qs, int n, float *v);

/* Means over n questions of the policy's entropy and of KL(p_M || p_ref),
 * each summed over the rows of answer as[i] (teacher forcing): for a
 * one-token answer exactly H(p_M(.|q)) and KL(p_M(.|q) || p_ref(.|q)); for
 * longer answers the sums along that answer's prefixes. ref may be NULL
 * (*kl = NAN). m and ref must share a shape. */
IAMP_WUR int iamp_policy_divergence(struct iamp_model *m, struct iamp_model *ref,
                                    const struct iamp_task *t, const struct iamp_question *qs,
                                    const struct iamp_answer *as, int n, double *entropy,
                                    double *kl);

/* Softmax of logits[lo, hi) / temperature into p[lo, hi). */
void iamp_softmax_range(const float *logits, int lo, int hi, float temperature, float *p);

/* Weighted cross-entropy over the token rows of the last forward of m:
 * returns sum_r w_r * -log p(target_r) * scale, and writes dlogits
 * (rows x V; zero on continuous rows). weights (per row) may be NULL for
 * all ones. */
double iamp_loss_xent(const struct iamp_model *m, const struct iamp_rows *rows,
                      const float *weights, float scale, float *dlogits);

/* Every term of the continuous rows of the last forward of m (a model with
 * the head): *policy gets scale * sum_r w_r * -log p(y_r), *reg gets
 * scale * sum_r (kl_w[r] * KL_r - ent_w[r] * H_r) with H_r the entropy of
 * the logit and KL_r the KL to p_ref's distribution from ref_cont (rows x
 * C; may be NULL when every kl_w is 0). Writes dcont (rows x C; zero on
 * token rows). weights, ent_w, kl_w may be NULL (1, 0, 0). */
void iamp_loss_cont(const struct iamp_model *m, const struct iamp_rows *rows, const float *ref_cont,
                    const float *weights, const float *ent_w, const float *kl_w, float scale,
                    float *dcont, double *policy, double *reg);

/* The regularisers over the token rows of the last forward of m: *loss gets
 * scale * sum_r (kl_w[r] * KL_r - ent_w[r] * H_r) and its gradient is ADDED to
 * dlogits, where H_r is the entropy of row r's distribution and KL_r its
 * KL(p_M || p_ref) with p_ref the softmax of ref_logits (rows x V) over the
 * same range. ref_logits may be NULL when every kl_w is 0. Minimising
 * -H is the entropy bonus of reinforce; KL is mixed's penalty. */
IAMP_WUR int iamp_loss_entropy_kl(const struct iamp_model *m, const struct iamp_rows *rows,
                                  const float *ref_logits, const float *ent_w, const float *kl_w,
                                  float scale, float *dlogits, double *loss);

#endif
