/* model.h — M, the learned model that every worker holds a copy of.
 *
 * An MLP over embedded input slots with a categorical head over tokens and a
 * scalar value head. One row of input is one decision: the question type,
 * the question tokens, the answer tokens emitted so far, and the index of
 * the answer token being chosen. A multi-token answer is produced
 * autoregressively, one row per answer position (see policy.h). Models
 * whose answers may be longer than one token (a_len > 1) have one more
 * slot, the last token emitted (PAD at the first): the same table at every
 * position, so what the model learns about "the next token after e" is
 * shared by all positions instead of learned once per prefix slot.
 *
 * With cont = 1 the model also has a continuous head: two outputs per row,
 * the parameters of a distribution on [0, 1] (worker/contdist.h). A model
 * without it (every token-only task) has exactly the layout it had before
 * the head existed.
 *
 * All parameters live in one contiguous float buffer and all gradients in a
 * second one of the same layout, so that gradient aggregation and
 * checkpoints handle one buffer each. The layout follows the order in which
 * backward finishes each group (value head, output head, the last hidden
 * layer, ..., the first, the embeddings), so the finished gradients always
 * form a growing prefix of the buffer: a bucketed allreduce can start on a
 * bucket as soon as backward's progress passes its end.
 */
#ifndef IAMP_MODEL_H
#define IAMP_MODEL_H

#include "common/error.h"
#include "common/rng.h"

#include <stddef.h>
#include <stdint.h>

#define IAMP_LAYERS_MAX 8

struct iamp_model_config {
    int vocab;   /* V: tokens of questions and answers */
    int n_types; /* question types */
    int q_len;   /* question token slots */
    int a_len;   /* answer tokens at most (prefix slots = a_len - 1) */
    int embed;   /* E: width of each slot's embedding; 0: one-hot inputs, the first
                    hidden layer is the sum of one H-wide table row per slot */
    int hidden;  /* H: width of each hidden layer */
    int layers;  /* hidden layers, 1..IAMP_LAYERS_MAX */
    int cont;    /* 1: a continuous head (IAMP_CONT_OUTPUTS outputs per row); 0: none */
    int pair;    /* 1: a pair slot, one embedding per (q[0], q[1]); 0: none */
};

/* The pair slot (pair = 1, q_len >= 2) is a table with one row for every
 * pair of the first two question tokens, (vocab + 1)^2 rows, zero at reset:
 * a memory for tasks whose answers are a fixed, arbitrary function of two
 * tokens (graph: a distance per pair of vertices) that the MLP over
 * separate token embeddings fits only slowly. A pair training has not
 * visited adds nothing, so M answers it from the separate embeddings. */
#define IAMP_PAIR_ROWS_MAX (1 << 20)

/* Rows the pair slot's table needs, (vocab + 1)^2 (a config with more
 * than IAMP_PAIR_ROWS_MAX is refused). */
long iamp_model_pair_rows(const struct iamp_model_config *c);

#define IAMP_CONT_OUTPUTS 2 /* continuous head: mu and the raw sigma (contdist.h) */

/* Offsets (in floats) of each parameter group in params/grads. */
struct iamp_model_layout {
    size_t wc, bc;             /* continuous head (cont only): (C, H), (C); C = 2 */
    size_t wv, bv;             /* value head: (H), (1) */
    size_t wo, bo;             /* token head: (V, H), (V) */
    size_t w[IAMP_LAYERS_MAX]; /* layer l: (H, in_l), in_0 = S*E, else H */
    size_t b[IAMP_LAYERS_MAX]; /* (H) */
    size_t emb;                /* all slot tables, (sum of slot rows, E) */
    size_t total;
};

/* Forward computes its rows in blocks of about this many (rows / this
 * rounded, at least one, rows split evenly), each block by its own GEMMs over every
 * layer, on the model's pool when it has one: a row's outputs depend on
 * the number of rows in the call, never on the thread count. Small
 * blocks run the GEMMs far below their peak (32 rows: 58% of a 256-row
 * call's speed; 128 rows: 88%). */
#define IAMP_MODEL_BLOCK_ROWS 128

struct iamp_pool;

struct iamp_model {
    struct iamp_model_config cfg;
    struct iamp_model_layout lay;
    int n_slots;                   /* S = 1 + q_len + (a_len - 1) + (a_len > 1) + 1 + pair */
    int *slot_base;                /* (S) first embedding row of each slot's table */
    int *slot_rows;                /* (S) rows of each slot's table */
    float *params;                 /* (lay.total) */
    float *grads;                  /* (lay.total) written by backward */
    const struct iamp_model *base; /* a view: params and slot tables are base's */
    struct iamp_pool *pool;        /* borrowed: forward's blocks run on it (NULL: here) */

    /* Activations of the last forward, kept for backward. */
    int rows, cap_rows;
    int32_t *in;                 /* (rows, S) slot tokens */
    float *x0;                   /* (rows, S*E) concatenated embeddings */
    float *act[IAMP_LAYERS_MAX]; /* (rows, H) post-ReLU */
    float *logits;               /* (rows, V); columns [out_lo, out_hi) written */
    int out_lo, out_hi;          /* the logit columns the last forward computed */
    float *values;               /* (rows) */
    float *cont;                 /* (rows, C) continuous head outputs (cont only) */
    float *scratch_a;            /* (rows, max(S*E, H)) */
    float *scratch_b;            /* (rows, max(S*E, H)) */
};

/* Called by backward as gradient groups finish: grads[0, done) are final. */
typedef void (*iamp_grad_ready_cb)(void *ctx, size_t done);

IAMP_WUR int iamp_model_init(struct iamp_model *m, const struct iamp_model_config *cfg);
void iamp_model_release(struct iamp_model *m);
/* A view of base: base's parameters (read and written through it), its own
 * gradients and activations, so that several threads can each run
 * forward and backward on one set of parameters. Release it before base. */
IAMP_WUR int iamp_model_init_view(struct iamp_model *v, const struct iamp_model *base);
/* Fresh parameters: He-uniform layers, N(0, 1/E) embeddings, zero biases. */
void iamp_model_reset(struct iamp_model *m, struct iamp_rng *r);
/* Copy parameters from src (same config). */
void iamp_model_copy_params(struct iamp_model *dst, const struct iamp_model *src);

/* FLOPs of one forward row (multiply-adds count 2); backward costs twice. */
double iamp_model_flops_per_row(const struct iamp_model_config *cfg);

/* Input slots of one row into in[0..S): type, question, answer prefix
 * prefix[0..step), the last token prefix[step - 1] (a_len > 1), and step. */
void iamp_model_row(const struct iamp_model *m, int type, const uint16_t *q, int q_len,
                    const uint16_t *prefix, int step, int32_t *in);

/* Forward `rows` rows of slot tokens (rows x S). Fills m->logits,
 * m->values and (cont) m->cont. */
IAMP_WUR int iamp_model_forward(struct iamp_model *m, const int32_t *in, int rows);
/* The same, computing only the logit columns [lo, hi) (0 <= lo <= hi <=
 * vocab): the union of the rows' answer ranges, the only logits a loss or
 * a decoder reads. Backward then reads dlogits in [lo, hi) alone and gives
 * the output layer's other rows zero gradient, exactly what the full
 * forward gives when dlogits is zero there. */
IAMP_WUR int iamp_model_forward_cols(struct iamp_model *m, const int32_t *in, int rows, int lo,
                                     int hi);
/* Backward from dlogits (rows x V), dvalues (rows; may be NULL) and dcont
 * (rows x C; may be NULL, ignored without the head) of the last forward.
 * Overwrites m->grads. ready (may be NULL) sees progress. */
void iamp_model_backward(struct iamp_model *m, const float *dlogits, const float *dvalues,
                         const float *dcont, iamp_grad_ready_cb ready, void *ctx);

/* A cheap checksum of the parameters (FNV-1a over the bytes). */
uint64_t iamp_model_checksum(const struct iamp_model *m);

#endif
