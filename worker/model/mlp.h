/* mlp.h — the MLP implementation of the model ops (mlp.c), and its
 * layout for the tests that check it group by group.
 *
 * An MLP over embedded input slots with a categorical head over tokens and a
 * scalar value head. A row's slots: the question type, the question tokens,
 * the answer tokens emitted so far, and the index of the answer token being
 * chosen. Models whose answers may be longer than one token (a_len > 1) have
 * one more slot, the last token emitted (PAD at the first): the same table
 * at every position, so what the model learns about "the next token after
 * e" is shared by all positions instead of learned once per prefix slot.
 * It reads no contexts (a row's context index is ignored).
 *
 * With cont = 1 the model also has a continuous head: two outputs per row.
 * A model without it (every token-only task) has exactly the layout it had
 * before the head existed.
 *
 * The layout follows the order in which backward finishes each group (value
 * head, output head, the last hidden layer, ..., the first, the
 * embeddings).
 */
#ifndef IAMP_MLP_H
#define IAMP_MLP_H

#include "worker/model/model.h"

/* Offsets (in floats) of each parameter group in params/grads. */
struct iamp_mlp_layout {
    size_t wc, bc;             /* continuous head (cont only): (C, H), (C); C = 2 */
    size_t wv, bv;             /* value head: (H), (1) */
    size_t wo, bo;             /* token head: (V, H), (V) */
    size_t w[IAMP_LAYERS_MAX]; /* layer l: (H, in_l), in_0 = S*E, else H */
    size_t b[IAMP_LAYERS_MAX]; /* (H) */
    size_t emb;                /* all slot tables, (sum of slot rows, E) */
    size_t total;
};

struct iamp_mlp {
    struct iamp_mlp_layout lay;
    int *slot_base; /* (S) first embedding row of each slot's table (a view: base's) */
    int *slot_rows; /* (S) rows of each slot's table */
    /* Activations of the last forward, kept for backward. */
    int cap_rows;
    int32_t *in;                 /* (rows, S) slot tokens */
    float *x0;                   /* (rows, S*E) concatenated embeddings */
    float *act[IAMP_LAYERS_MAX]; /* (rows, H) post-ReLU */
    float *scratch_a;            /* (rows, max(S*E, H)) */
    float *scratch_b;            /* (rows, max(S*E, H)) */
};

/* The MLP state of m (NULL when m is another implementation). */
const struct iamp_mlp *iamp_mlp_of(const struct iamp_model *m);

#define IAMP_MLP(m) ((struct iamp_mlp *)(m)->impl)

#endif
