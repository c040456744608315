/* model.h — M, the learned model every worker holds a copy of, behind one
 * set of operations (struct iamp_model_ops) with one implementation per
 * file: mlp.c (the MLP over embedded input slots) and transformer.c (a
 * fact encoder and a question decoder with cross-attention, for tasks
 * whose questions carry a context).
 *
 * What every implementation shares, and all that callers (policy,
 * distill, session, the ranks) use:
 * - rows: one row of input is one decision: the question type, the
 *   question tokens, the answer tokens emitted so far, the index of the
 *   answer token being chosen and the row's context (an index into the
 *   batch's context table, -1: none). iamp_model_row encodes it into
 *   n_slots ints in the model's own way; a multi-token answer is produced
 *   autoregressively, one row per answer position (see policy.h).
 * - outputs of the last forward: logits (rows x vocab; the columns
 *   [out_lo, out_hi) written), values (rows) and, for a model with the
 *   continuous head (cfg.cont), cont (rows x IAMP_CONT_OUTPUTS): the
 *   parameters of a distribution on [0, 1] (worker/model/contdist.h).
 * - parameters in one flat float buffer and gradients in a second of the
 *   same layout, so that gradient aggregation and checkpoints handle one
 *   buffer each. Each implementation lays its groups out in the order its
 *   backward finishes them, so the finished gradients always form a
 *   growing prefix of the buffer that backward reports through the ready
 *   callback: a bucketed allreduce starts on a bucket as soon as backward
 *   passes its end.
 * Nothing else about an implementation is visible: a GPU implementation
 * could keep its activations on the device and copy only the outputs and
 * the flat buffers.
 *
 * Determinism: a row's outputs depend on the rows and contexts of the
 * call, never on the thread count of the model's pool.
 *
 * A model spec names an implementation and its sizes, like a task spec:
 * `mlp:embed=32,hidden=512,layers=2` or `transformer:d=64,heads=4,enc=3,dec=3`
 * (iamp_model_spec_parse). The task's shape (vocabulary, types, lengths,
 * contexts, the continuous head) completes it into a config.
 */
#ifndef IAMP_MODEL_H
#define IAMP_MODEL_H

#include "common/error.h"
#include "common/rng.h"
#include "common/types.h"

#include <stddef.h>
#include <stdint.h>

#define IAMP_LAYERS_MAX 8

enum iamp_model_kind {
    IAMP_MODEL_MLP = 0,
    IAMP_MODEL_TRANSFORMER = 1,
};

struct iamp_model_config {
    /* The task's shape. */
    int vocab;   /* V: tokens of questions and answers */
    int n_types; /* question types */
    int q_len;   /* question token slots */
    int a_len;   /* answer tokens at most (prefix slots = a_len - 1) */
    /* mlp: */
    int embed;  /* E: width of each slot's embedding; 0: one-hot inputs, the first
                   hidden layer is the sum of one H-wide table row per slot */
    int hidden; /* H: width of each hidden layer */
    int layers; /* hidden layers, 1..IAMP_LAYERS_MAX */
    /* the task's again: */
    int cont; /* 1: a continuous head (IAMP_CONT_OUTPUTS outputs per row); 0: none */
    /* mlp: */
    int pair; /* 1: a pair slot, one embedding per (q[0], q[1]); 0: none */
    /* Which implementation (enum iamp_model_kind). */
    int kind;
    /* transformer: */
    int d;       /* model width */
    int heads;   /* attention heads (d % heads == 0) */
    int enc;     /* self-attention layers over the facts */
    int dec;     /* question layers (self-attention, cross-attention to the facts) */
    int ff;      /* feed-forward width (0: 4 d) */
    int pointer; /* 1: a copy head, a distribution over the facts' tokens; 2: over
                  * the row's own question and prefix tokens */
    /* The task's contexts: facts per context and tokens per fact at most
     * (0, 0: questions carry none). */
    int facts_max, fact_len;
};

/* A parsed model spec: the implementation's sizes in a config whose task
 * fields are zero. */
struct iamp_model_spec {
    struct iamp_model_config cfg;
    unsigned given; /* bit k: parameter k of the implementation's list was spelled */
};

/* Parse "mlp[:k=v,...]" or "transformer[:k=v,...]" over defaults (the
 * implementation's own, see --help). On error err holds a one-line reason
 * naming the key. */
IAMP_WUR int iamp_model_spec_parse(const char *text, struct iamp_model_spec *spec, char *err,
                                   size_t errlen);
/* The canonical spec of a config, every parameter spelled out. */
void iamp_model_spec_format(const struct iamp_model_config *cfg, char *buf, size_t len);
/* One line per implementation with its parameters, for --help. */
const char *iamp_model_spec_help(void);

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

/* Forward computes its rows in blocks of about this many (rows / this
 * rounded, at least one, rows split evenly), each block by its own GEMMs,
 * on the model's pool when it has one. Small blocks run the GEMMs far
 * below their peak (32 rows: 58% of a 256-row call's speed; 128 rows: 88%). */
#define IAMP_MODEL_BLOCK_ROWS 128

struct iamp_pool;
struct iamp_model;

/* Called by backward as gradient groups finish: grads[0, done) are final. */
typedef void (*iamp_grad_ready_cb)(void *ctx, size_t done);

/* One forward call: rows of n_slots ints each, the contexts their context
 * slots index, and the logit columns [lo, hi) to compute. */
struct iamp_model_batch {
    const int32_t *in;
    int rows;
    const struct iamp_context *const *ctx; /* (n_ctx) */
    int n_ctx;
    int lo, hi;
};

/* One implementation. Every function gets a model whose ops, cfg and
 * (for views) base are set. */
struct iamp_model_ops {
    const char *name; /* the spec's name: "mlp", "transformer" */
    /* 0 when the config fits this implementation; else a reason in err. */
    int (*check)(const struct iamp_model_config *c, char *err, size_t errlen);
    /* Set n_slots, n_params and impl (the caller then allocates params
     * and grads, zeroed). */
    int (*init)(struct iamp_model *m);
    /* A view of m->base: its params (m->params already set), own grads and
     * activations. */
    int (*init_view)(struct iamp_model *m);
    void (*release)(struct iamp_model *m); /* frees impl and activations, not params */
    void (*reset)(struct iamp_model *m, struct iamp_rng *r);
    /* FLOPs of one forward row (multiply-adds count 2; backward costs
     * twice), a context of `facts` facts shared by `rows_per_ctx` rows. */
    double (*flops_per_row)(const struct iamp_model_config *c, int facts, int rows_per_ctx);
    void (*row)(const struct iamp_model *m, int type, const uint16_t *q, int q_len,
                const uint16_t *prefix, int step, int ctx, int32_t *in);
    /* Fill logits [lo, hi), values and cont of every row; rows, out_lo,
     * out_hi set by the caller (and the output buffers sized, see
     * iamp_model_outputs). */
    int (*forward)(struct iamp_model *m, const struct iamp_model_batch *b);
    void (*backward)(struct iamp_model *m, const float *dlogits, const float *dvalues,
                     const float *dcont, iamp_grad_ready_cb ready, void *ctx);
};

struct iamp_model {
    const struct iamp_model_ops *ops;
    struct iamp_model_config cfg;
    int n_slots;                   /* ints per input row */
    size_t n_params;               /* floats in params and grads */
    float *params;                 /* (n_params) */
    float *grads;                  /* (n_params) written by backward */
    const struct iamp_model *base; /* a view: params are base's */
    struct iamp_pool *pool;        /* borrowed: forward's blocks run on it (NULL: here) */

    /* Outputs of the last forward. */
    int rows, cap_rows;
    float *logits;      /* (rows, V); columns [out_lo, out_hi) written */
    int out_lo, out_hi; /* the logit columns the last forward computed */
    float *values;      /* (rows) */
    float *cont;        /* (rows, C) continuous head outputs (cont only) */

    void *impl; /* the implementation's own state */
};

/* The implementation a config names (NULL: none). */
const struct iamp_model_ops *iamp_model_ops_for(const struct iamp_model_config *c);

/* A config's own check: 0, or a one-line reason in err. */
IAMP_WUR int iamp_model_check(const struct iamp_model_config *c, char *err, size_t errlen);
IAMP_WUR int iamp_model_init(struct iamp_model *m, const struct iamp_model_config *cfg);
void iamp_model_release(struct iamp_model *m);
/* A view of base: base's parameters (read and written through it), its own
 * gradients and activations, so that several threads can each run
 * forward and backward on one set of parameters. Release it before base. */
IAMP_WUR int iamp_model_init_view(struct iamp_model *v, const struct iamp_model *base);
/* Fresh parameters (the implementation's initialisation, from r). */
void iamp_model_reset(struct iamp_model *m, struct iamp_rng *r);
/* Copy parameters from src (same config). */
void iamp_model_copy_params(struct iamp_model *dst, const struct iamp_model *src);

/* FLOPs of one forward row without contexts (multiply-adds count 2);
 * backward costs twice. */
double iamp_model_flops_per_row(const struct iamp_model_config *cfg);
/* The same with a context of `facts` facts shared by `rows_per_ctx` rows. */
double iamp_model_flops_per_row_ctx(const struct iamp_model_config *cfg, int facts,
                                    int rows_per_ctx);

/* Input of one row into in[0..n_slots): type, question, answer prefix
 * prefix[0..step), step, and ctx, the row's index in the batch's context
 * table (-1: none). */
void iamp_model_row(const struct iamp_model *m, int type, const uint16_t *q, int q_len,
                    const uint16_t *prefix, int step, int ctx, int32_t *in);

/* Forward `rows` rows (rows x n_slots) without contexts. Fills m->logits,
 * m->values and (cont) m->cont. */
IAMP_WUR int iamp_model_forward(struct iamp_model *m, const int32_t *in, int rows);
/* The same, computing only the logit columns [lo, hi) (0 <= lo <= hi <=
 * vocab): the union of the rows' answer ranges, the only logits a loss or
 * a decoder reads. Backward then reads dlogits in [lo, hi) alone and gives
 * the output layer's other rows zero gradient, exactly what the full
 * forward gives when dlogits is zero there. */
IAMP_WUR int iamp_model_forward_cols(struct iamp_model *m, const int32_t *in, int rows, int lo,
                                     int hi);
/* The general call: rows with contexts. */
IAMP_WUR int iamp_model_forward_batch(struct iamp_model *m, const struct iamp_model_batch *b);
/* Backward from dlogits (rows x V), dvalues (rows; may be NULL) and dcont
 * (rows x C; may be NULL, ignored without the head) of the last forward.
 * Overwrites m->grads. ready (may be NULL) sees progress. */
void iamp_model_backward(struct iamp_model *m, const float *dlogits, const float *dvalues,
                         const float *dcont, iamp_grad_ready_cb ready, void *ctx);

/* A cheap checksum of the parameters (FNV-1a over the bytes). */
uint64_t iamp_model_checksum(const struct iamp_model *m);

/* For implementations: n floats starting on a cache line (free()). */
float *iamp_model_alloc_floats(size_t n);

extern const struct iamp_model_ops iamp_mlp_ops;
extern const struct iamp_model_ops iamp_transformer_ops;

#endif
