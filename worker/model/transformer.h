/* transformer.h — the transformer implementation of the model ops
 * (transformer.c), and its layout for the tests that check it group by
 * group.
 *
 * The layout follows the order in which backward finishes each group:
 * the heads (continuous, value, token, pointer), the decoder's final
 * LayerNorm, the decoder layers from the last to the first, the decoder's
 * embeddings (READ/step, type, position), the encoder's final LayerNorm,
 * the encoder layers from the last to the first, the fact projection and
 * last the token table, which both sides read.
 */
#ifndef IAMP_TRANSFORMER_H
#define IAMP_TRANSFORMER_H

#include "worker/model/model.h"

/* One layer's offsets, in the order backward finishes them: the
 * feed-forward block, the cross-attention block (decoder layers only; size
 * zero in the encoder) and the self-attention block. d the width, F the
 * feed-forward width. */
struct iamp_tf_layer {
    size_t start;                      /* the layer's first float */
    size_t w2, b2, w1, b1, ln3g, ln3b; /* (d, F), (d), (F, d), (F), (d), (d) */
    size_t wox, box, wq, bq, wkv, bkv; /* (d, d), (d), (d, d), (d), (2*d, d), (2*d) */
    size_t ln2g, ln2b;                 /* (d), (d) */
    size_t wo, bo, wqkv, bqkv;         /* (d, d), (d), (3*d, d), (3*d) */
    size_t ln1g, ln1b;                 /* (d), (d) */
    size_t end;                        /* one past the layer's last float */
};

/* Offsets (in floats) of each parameter group in params/grads. V the
 * vocabulary, C = IAMP_CONT_OUTPUTS, FL the task's fact length, T the
 * decoder positions (READ, type, question, prefix). */
struct iamp_tf_layout {
    size_t wc, bc; /* continuous head (cont only): (C, d), (C) */
    size_t wv, bv; /* value head: (d), (1) */
    size_t wo, bo; /* token head: (V, d), (V) */
    size_t wp;     /* pointer queries (pointer=1): (FL, d, d); copy queries (pointer=2): (d, d) */
    size_t lnfg, lnfb;                         /* decoder final LayerNorm: (d), (d) */
    struct iamp_tf_layer dec[IAMP_LAYERS_MAX]; /* decoder layer l */
    size_t read, type, pos;                    /* (a_len, d), (n_types, d), (T, d) */
    size_t lneg, lneb;                         /* encoder final LayerNorm: (d), (d) */
    struct iamp_tf_layer enc[IAMP_LAYERS_MAX]; /* encoder layer l */
    size_t wf, bf;                             /* fact projection: (d, FL*d), (d) */
    size_t tok;                                /* token table: (V + 1, d), row V is PAD */
    size_t total;
};

/* The layout of m (NULL when m is another implementation). */
const struct iamp_tf_layout *iamp_transformer_layout(const struct iamp_model *m);

#endif
