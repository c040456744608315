/* types.h — the question and answer records every layer passes around.
 *
 * Fixed-size token records, so batches need no per-item allocation. The
 * meaning of tokens is the task's (tasks/); the codec (proto/) converts
 * these records to and from the wire.
 */
#ifndef IAMP_TYPES_H
#define IAMP_TYPES_H

#include <stdint.h>

#define IAMP_Q_MAX 48     /* question tokens at most (a learned overseer's transcripts) */
#define IAMP_A_MAX 48     /* answer tokens at most, END included */
#define IAMP_TEXT_MAX 256 /* one question or answer in text form */

#define IAMP_FACTS_MAX 128 /* facts of one context at most */
#define IAMP_FACT_LEN 4    /* tokens of one fact at most */

/* A context: the facts of one instance of a task's world (a permutation's
 * pairs (x, sigma(x)), a graph's edges), each a fixed-length token tuple.
 * Every question of a tree refers to its root's context by pointer; the
 * owner of the roots (a round, the evaluation set, a job, a decoded work
 * unit) keeps the context alive while any question points at it. Facts
 * are a set: their order means nothing to H or to the model. */
struct iamp_context {
    uint16_t n_facts;                            /* facts in use, <= IAMP_FACTS_MAX */
    uint16_t fact_len;                           /* tokens per fact, 1..IAMP_FACT_LEN */
    uint16_t tok[IAMP_FACTS_MAX][IAMP_FACT_LEN]; /* fact f's tokens; unused ones 0 */
};

struct iamp_question {
    uint16_t type;                  /* question type, index into the task's types */
    uint16_t len;                   /* tokens in use */
    uint16_t tok[IAMP_Q_MAX];       /* token ids in [0, vocab) */
    const struct iamp_context *ctx; /* the instance's facts; NULL for tasks without */
};

struct iamp_answer {
    uint16_t len;             /* tokens in use (END included for sequences; 0: continuous) */
    uint16_t tok[IAMP_A_MAX]; /* token ids in [0, vocab) */
    float value;              /* continuous answers and scores; 0 otherwise */
};

/* One training example: what M should learn on one question (see
 * worker/distill.h for how each distillation mode fills it). */
struct iamp_example {
    struct iamp_question q;
    struct iamp_answer a; /* the answer whose log-probability is weighted */
    float weight;         /* coefficient on -log p_M(a | q) */
    float value_target;   /* target of the value head; NAN: no value loss */
    float entropy_weight; /* coefficient on -H(p_M) at each row of a; 0: none */
    float kl_weight;      /* coefficient on KL(p_M || p_ref) at each row of a; 0: none */
    int prefix_baseline;  /* 1: the baseline is per prefix: row r of a (the state: q and
                             a's first r tokens) gets weight * (value_target - V_r), V_r
                             the value head there (not differentiated), and the value
                             loss covers every row (mean over the rows) */
};

#endif
