/* transformer.c — the transformer behind M: a fact encoder and a question
 * decoder reading the facts by cross-attention, with token, value,
 * continuous and pointer (copy) heads; layout, forward and backward over
 * CBLAS.
 *
 * The model (pre-LayerNorm, ReLU feed-forward, no dropout; d the width, H
 * the heads, F the feed-forward width, V the vocabulary, FL the fact
 * length, T = 2 + q_len + a_len - 1 the decoder positions):
 * - encoder, once per distinct context of a batch, shared by every row
 *   that indexes it: fact f's FL token embeddings (one table E_tok of V + 1
 *   rows, row V is PAD, shared with the questions) concatenated and
 *   projected to d; `enc` layers of x += MHA(LN(x)) over the context's
 *   facts (a set: no positions) and x += FF(LN(x)); a final LN gives the
 *   fact states fs. Each decoder layer's cross-attention keys and values
 *   are projected from fs once per context too.
 * - decoder, per row: [READ (a table indexed by the step), type, question
 *   tokens, prefix tokens], each plus a position embedding; PAD positions
 *   are masked as keys; `dec` layers of x += SelfAttn(LN(x)), x +=
 *   CrossAttn(LN(x), fs) (exactly zero for a row without a context, or
 *   whose context has no facts) and x += FF(LN(x)); a final LN of the READ
 *   position gives h. Only h is read, so the last layer computes its
 *   queries, cross-attention and FF at READ alone (keys and values still
 *   at every position).
 * - heads on h: token logits W_o h + b_o (columns [lo, hi) only), value
 *   w_v.h + b_v, continuous W_c h + b_c (cont). The pointer head scores
 *   each fact slot, s_{f,j} = (W_pj h).fs_f / sqrt(d), and mixes them into
 *   the logits as one softmax over generator tokens and fact slots,
 *   marginalised per token: logit_t = log(exp(gen_t) + sum over slots
 *   holding t of exp(s_{f,j})). Forward keeps the mixing weights
 *   exp(gen_t - logit_t) and exp(s - logit_t), all backward needs. With
 *   pointer=2 the copy head scores the row's own question and prefix
 *   positions instead, against their embeddings (copy_fwd).
 *
 * Row-major throughout. Attention's small products (one row's positions,
 * one context's facts) are loops written to vectorise (common/simd.h):
 * every element summed in one fixed order, keys transposed for the
 * forward so that the innermost loop runs over keys; every projection is
 * one GEMM over all positions of a block of rows or all facts of a
 * context.
 *
 * Threads: forward encodes the contexts one task each, then runs the rows
 * in the MLP's fixed blocks (IAMP_MODEL_BLOCK_ROWS), both on the model's
 * pool; each task writes only its own context's or rows' activations, so
 * outputs do not depend on the thread count. Backward runs on the calling
 * thread: whole-batch GEMMs for the decoder, the contexts in their fixed
 * order for the encoder (a gradient summed over contexts is summed in
 * that order), and reports the growing prefix of finished gradients (see
 * transformer.h for the layout). A view shares its base's parameters and
 * owns its activations and gradients.
 */
#include "worker/model/transformer.h"

#include "common/pool.h"
#include "common/simd.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LN_EPS 1e-5f

/* With a ready callback, backward calls it this many times per
 * attention loop with unchanged progress (see mlp.c: a non-blocking
 * reduction moves only inside MPI calls). */
#define IAMP_POLL_SPLIT 8

struct tf_dims {
    int d, H, dh, F, V, NT, Q, A, T, FL, C, S;
    int enc, dec; /* layers (enc 0 without contexts) */
    int ptr;      /* the pointer head over the facts is in the layout */
    int cp;       /* the copy head over the row's own tokens is (pointer=2) */
};

/* One LayerNorm's activations over n positions. */
struct tf_ln {
    float *xh; /* (n, d) normalised input */
    float *rs; /* (n) 1 / sigma */
    float *y;  /* (n, d) output */
};

/* One context's encoder activations (pointers into the arena). */
struct tf_enc {
    int slot;                                    /* index in the batch's context table */
    int n;                                       /* facts */
    int32_t tok[IAMP_FACTS_MAX * IAMP_FACT_LEN]; /* (n, FL) tokens, kept inside the table */
    float *xin;                                  /* (n, FL*d) concatenated embeddings */
    float *x;                                    /* (n, d) residual stream */
    struct tf_ln ln1[IAMP_LAYERS_MAX], ln3[IAMP_LAYERS_MAX];
    float *qkv[IAMP_LAYERS_MAX]; /* (n, 3*d) */
    float *kt[IAMP_LAYERS_MAX];  /* (d, n) keys transposed */
    float *p[IAMP_LAYERS_MAX];   /* (H, n, n) attention */
    float *a[IAMP_LAYERS_MAX];   /* (n, d) attention output */
    float *hid[IAMP_LAYERS_MAX]; /* (n, F) post-ReLU */
    struct tf_ln lnf;            /* y: the fact states fs (n, d) */
    float *fst;                  /* (d, n) fs transposed */
    float *kv[IAMP_LAYERS_MAX];  /* (n, 2*d) decoder layer l's cross keys, values */
    float *kvt[IAMP_LAYERS_MAX]; /* (2*d, n) transposed */
    float *dx, *dfs;             /* backward: (n, d), (n, d) */
    float *dkv;                  /* backward: (n, 2*d) one decoder layer's */
};

/* One decoder layer's activations over all P = rows * T positions. */
struct tf_dec_layer {
    struct tf_ln ln1, ln2, ln3;
    float *qkv; /* (P, 3*d) */
    float *kt;  /* (rows, d, T) keys transposed */
    float *p;   /* (rows, H, T, T) */
    float *a;   /* (P, d) */
    float *qx;  /* (P, d) cross queries */
    float *px;  /* (H, T, n_r) of row r at H*T*cum[r] */
    float *ax;  /* (P, d) cross output, zero for rows without facts */
    float *hid; /* (P, F) */
};

struct tf_dec {
    struct tf_dec_layer l[IAMP_LAYERS_MAX];
    float *x;         /* (P, d) residual stream */
    float *tmp;       /* (P, d) cross projection before its masked add */
    struct tf_ln lnf; /* (rows) READ positions; y = h (rows, d) */
    float *wgen;      /* (rows, V) pointer rows: exp(gen_t - logit_t) */
    float *qp;        /* (rows, FL*d) pointer queries; copy: (rows, d) */
    float *ws;        /* (FL, n_r) of row r at FL*cum[r]: exp(s - logit_t), 0 off [lo, hi);
                       * copy: (rows, T), 0 at PAD, READ, type and off [lo, hi) */
    /* Backward scratch (P' = max(P, nmax), W = max(3*d, F, FL*d), M = max(T, nmax)). */
    float *dx;           /* (P, d) */
    float *dt, *da, *dy; /* (P', W), (P', d), (P', d) */
    float *dh, *dqp;     /* (rows, d), (rows, FL*d) */
    float *dgen;         /* (rows, hi - lo) */
    float *att, *vt;     /* (M, M), (d, M) */
    float *ds;           /* (FL, nmax) */
};

struct tf {
    struct iamp_tf_layout lay;
    struct tf_dims D;
    /* The last forward. */
    int rows, n_used, cap_used, nmax;
    struct tf_enc *enc; /* (cap_used) its contexts, in order of first use */
    struct tf_dec dec;
    int cap_rows, cap_slots;
    int32_t *rtok;         /* (rows, T) step, type, then question and prefix tokens */
    unsigned char *rvalid; /* (rows, T) 1: a key (not PAD) */
    int *row_u;            /* (rows) the row's context in enc, -1: none */
    long *cum;             /* (rows + 1) facts of the rows before */
    int *slot_u;           /* (cap_slots) batch context -> enc index */
    float *arena;
    size_t cap_floats;
};

#define TF(m) ((struct tf *)(m)->impl)

/* ---- configuration and layout ---- */

static struct tf_dims dims_of(const struct iamp_model_config *c)
{
    struct tf_dims D;
    D.d = c->d;
    D.H = c->heads > 0 ? c->heads : 1;
    D.dh = c->d / D.H;
    D.F = c->ff ? c->ff : 4 * c->d;
    D.V = c->vocab;
    D.NT = c->n_types;
    D.Q = c->q_len;
    D.A = c->a_len;
    D.T = 2 + c->q_len + c->a_len - 1;
    D.FL = c->facts_max > 0 ? c->fact_len : 0;
    D.C = c->cont ? IAMP_CONT_OUTPUTS : 0;
    D.S = 1 + c->q_len + (c->a_len - 1) + 1 + 1;
    D.enc = D.FL > 0 ? c->enc : 0;
    D.dec = c->dec;
    D.ptr = c->pointer == 1 && D.FL > 0;
    D.cp = c->pointer == 2;
    return D;
}

/* Query positions per row of decoder layer l: every position, but in the
 * last layer only READ, the one position the heads read. */
static int tq_of(const struct tf_dims *D, int l)
{
    return l == D->dec - 1 ? 1 : D->T;
}

/* The row stride of those query positions in the residual stream. */
static int ldq_of(const struct tf_dims *D, int l)
{
    return tq_of(D, l) == D->T ? D->d : D->T * D->d;
}

static int tf_check(const struct iamp_model_config *c, char *err, size_t errlen)
{
    if (c->d < 1 || c->heads < 1 || c->d % c->heads != 0) {
        snprintf(err, errlen, "transformer: heads=%d must divide d=%d", c->heads, c->d);
        return IAMP_EINVAL;
    }
    if (c->enc < 0 || c->enc > IAMP_LAYERS_MAX || c->dec < 1 || c->dec > IAMP_LAYERS_MAX) {
        snprintf(err, errlen, "transformer: enc=%d must be 0..%d and dec=%d 1..%d", c->enc,
                 IAMP_LAYERS_MAX, c->dec, IAMP_LAYERS_MAX);
        return IAMP_EINVAL;
    }
    if (c->ff < 0 || c->pointer < 0 || c->pointer > 2) {
        snprintf(err, errlen, "transformer: ff=%d must be >= 0 and pointer 0, 1 or 2", c->ff);
        return IAMP_EINVAL;
    }
    if (c->facts_max < 0 || c->facts_max > IAMP_FACTS_MAX || c->fact_len < 0 ||
        c->fact_len > IAMP_FACT_LEN) {
        snprintf(err, errlen, "transformer: contexts of at most %d facts of %d tokens",
                 IAMP_FACTS_MAX, IAMP_FACT_LEN);
        return IAMP_EINVAL;
    }
    return 0;
}

/* One layer's groups from off on, in the order backward finishes them. */
static size_t layer_layout(struct iamp_tf_layer *L, size_t off, const struct tf_dims *D, int cross)
{
    size_t d = (size_t)D->d, F = (size_t)D->F, x = cross ? d : 0;
    L->start = off;
    L->w2 = off, off += d * F;
    L->b2 = off, off += d;
    L->w1 = off, off += F * d;
    L->b1 = off, off += F;
    L->ln3g = off, off += d;
    L->ln3b = off, off += d;
    L->wox = off, off += x * d;
    L->box = off, off += x;
    L->wq = off, off += x * d;
    L->bq = off, off += x;
    L->wkv = off, off += 2 * x * d;
    L->bkv = off, off += 2 * x;
    L->ln2g = off, off += x;
    L->ln2b = off, off += x;
    L->wo = off, off += d * d;
    L->bo = off, off += d;
    L->wqkv = off, off += 3 * d * d;
    L->bqkv = off, off += 3 * d;
    L->ln1g = off, off += d;
    L->ln1b = off, off += d;
    L->end = off;
    return off;
}

static void tf_layout(struct iamp_tf_layout *lay, const struct tf_dims *D)
{
    size_t d = (size_t)D->d, V = (size_t)D->V, FL = (size_t)D->FL, off = 0;
    lay->wc = off, off += (size_t)D->C * d;
    lay->bc = off, off += (size_t)D->C;
    lay->wv = off, off += d;
    lay->bv = off, off += 1;
    lay->wo = off, off += V * d;
    lay->bo = off, off += V;
    lay->wp = off, off += D->ptr ? FL * d * d : D->cp ? d * d : 0;
    lay->lnfg = off, off += d;
    lay->lnfb = off, off += d;
    for (int l = D->dec - 1; l >= 0; l--)
        off = layer_layout(&lay->dec[l], off, D, 1);
    lay->read = off, off += (size_t)D->A * d;
    lay->type = off, off += (size_t)D->NT * d;
    lay->pos = off, off += (size_t)D->T * d;
    lay->lneg = off, off += d;
    lay->lneb = off, off += d;
    for (int l = D->enc - 1; l >= 0; l--)
        off = layer_layout(&lay->enc[l], off, D, 0);
    lay->wf = off, off += d * FL * d;
    lay->bf = off, off += FL ? d : 0;
    lay->tok = off, off += (V + 1) * d;
    lay->total = off;
}

static int tf_init(struct iamp_model *m)
{
    struct tf *p = calloc(1, sizeof(*p));
    if (!p)
        return IAMP_ENOMEM;
    m->impl = p;
    p->D = dims_of(&m->cfg);
    tf_layout(&p->lay, &p->D);
    m->n_slots = p->D.S;
    m->n_params = p->lay.total;
    return 0;
}

static int tf_init_view(struct iamp_model *v)
{
    const struct tf *b = v->base->impl;
    struct tf *p = calloc(1, sizeof(*p));
    if (!p)
        return IAMP_ENOMEM;
    p->lay = b->lay;
    p->D = b->D;
    v->impl = p;
    return 0;
}

static void free_ints(struct tf *p)
{
    free(p->rtok);
    free(p->rvalid);
    free(p->row_u);
    free(p->cum);
    p->rtok = NULL;
    p->rvalid = NULL;
    p->row_u = NULL;
    p->cum = NULL;
    p->cap_rows = 0;
}

static void tf_release(struct iamp_model *m)
{
    struct tf *p = m->impl;
    if (!p)
        return;
    free_ints(p);
    free(p->slot_u);
    free(p->enc);
    free(p->arena);
    free(p);
    m->impl = NULL;
}

/* ---- initialisation ---- */

/* Uniform on [-bound, bound]. */
static void fill_uniform(float *w, size_t n, double bound, struct iamp_rng *r)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((2.0 * iamp_rng_uniform(r) - 1.0) * bound);
}

static void fill_normal(float *w, size_t n, double std, struct iamp_rng *r)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(std * iamp_rng_normal(r));
}

static void fill_ones(float *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w[i] = 1.0f;
}

/* Bound of a uniform with standard deviation gain / sqrt(fan_in). */
static double fan_in(size_t in, double gain)
{
    return gain * sqrt(3.0 / (double)in);
}

/* A layer: inputs' projections std 1/sqrt(fan-in); the projections that
 * write the residual stream (wo, wox, w2) that times res. */
static void reset_layer(float *w, const struct iamp_tf_layer *L, const struct tf_dims *D, int cross,
                        double res, struct iamp_rng *r)
{
    size_t d = (size_t)D->d, F = (size_t)D->F;
    fill_uniform(w + L->w2, d * F, fan_in(F, res), r);
    fill_uniform(w + L->w1, F * d, fan_in(d, 1.0), r);
    fill_ones(w + L->ln3g, d);
    if (cross) {
        fill_uniform(w + L->wox, d * d, fan_in(d, res), r);
        fill_uniform(w + L->wq, d * d, fan_in(d, 1.0), r);
        fill_uniform(w + L->wkv, 2 * d * d, fan_in(d, 1.0), r);
        fill_ones(w + L->ln2g, d);
    }
    fill_uniform(w + L->wo, d * d, fan_in(d, res), r);
    fill_uniform(w + L->wqkv, 3 * d * d, fan_in(d, 1.0), r);
    fill_ones(w + L->ln1g, d);
}

/* Biases 0, LN gains 1; heads U(+-1/sqrt(d)) like the MLP's; other
 * matrices fan-in scaled (reset_layer), the residual writers by
 * 1/sqrt(sublayers of their stack); embeddings N(0, 1) but the READ/step
 * table, zero (a step training has not reached adds nothing, as the MLP's
 * answer-side slots). Draws in layout order, the continuous head's last
 * (the others' draws are those of a model without it). */
static void tf_reset(struct iamp_model *m, struct iamp_rng *r)
{
    const struct tf_dims *D = &TF(m)->D;
    const struct iamp_tf_layout *lay = &TF(m)->lay;
    size_t d = (size_t)D->d, FL = (size_t)D->FL;
    float *w = m->params;
    memset(w, 0, lay->total * sizeof(float));
    fill_uniform(w + lay->wv, d, sqrt(1.0 / (double)d), r);
    fill_uniform(w + lay->wo, (size_t)D->V * d, sqrt(1.0 / (double)d), r);
    if (D->ptr)
        fill_uniform(w + lay->wp, FL * d * d, fan_in(d, 1.0), r);
    if (D->cp)
        fill_uniform(w + lay->wp, d * d, fan_in(d, 1.0), r);
    fill_ones(w + lay->lnfg, d);
    for (int l = D->dec - 1; l >= 0; l--)
        reset_layer(w, &lay->dec[l], D, 1, 1.0 / sqrt(3.0 * D->dec), r);
    fill_normal(w + lay->type, (size_t)D->NT * d, 1.0, r);
    fill_normal(w + lay->pos, (size_t)D->T * d, 1.0, r);
    fill_ones(w + lay->lneg, d);
    for (int l = D->enc - 1; l >= 0; l--)
        reset_layer(w, &lay->enc[l], D, 0, 1.0 / sqrt(2.0 * D->enc), r);
    if (FL)
        fill_uniform(w + lay->wf, d * FL * d, fan_in(FL * d, 1.0), r);
    fill_normal(w + lay->tok, ((size_t)D->V + 1) * d, 1.0, r);
    if (D->C)
        fill_uniform(w + lay->wc, (size_t)D->C * d, sqrt(1.0 / (double)d), r);
}

/* Forward FLOPs of one row (multiply-adds 2): its decoder (keys and
 * values at every position, queries at every position but in the last
 * layer, READ alone) and heads, and the encoder of its context (with the
 * cross keys and values) shared by rows_per_ctx rows. */
static double tf_flops_per_row(const struct iamp_model_config *c, int facts, int rows_per_ctx)
{
    struct tf_dims D = dims_of(c);
    double d = D.d, F = D.F, T = D.T, FL = D.FL, row = 0.0, ctx = 0.0;
    double n = D.FL > 0 ? (facts < IAMP_FACTS_MAX ? facts : IAMP_FACTS_MAX) : 0;
    for (int l = 0; l < D.dec; l++) {
        double tq = tq_of(&D, l), query = d * d + 2 * d * F + 2 * T * d;
        if (n > 0)
            query += 2 * d * d + 2 * n * d; /* cross-attention */
        row += T * 3 * d * d + tq * query;
    }
    row += d * D.V + d + D.C * d;
    if (D.ptr && n > 0)
        row += FL * d * d + FL * n * d;
    if (D.cp)
        row += d * d + 2 * T * d;
    if (n > 0)
        ctx = n * FL * d * d + D.enc * n * (4 * d * d + 2 * d * F + 2 * n * d) +
              D.dec * n * 2 * d * d;
    return 2.0 * (row + ctx / (rows_per_ctx > 0 ? rows_per_ctx : 1));
}

static void tf_row(const struct iamp_model *m, int type, const uint16_t *q, int q_len,
                   const uint16_t *prefix, int step, int ctx, int32_t *in)
{
    const struct iamp_model_config *c = &m->cfg;
    int s = 0;
    in[s++] = type;
    for (int i = 0; i < c->q_len; i++)
        in[s++] = i < q_len ? q[i] : c->vocab;
    for (int i = 0; i < c->a_len - 1; i++)
        in[s++] = i < step ? prefix[i] : c->vocab;
    in[s++] = step;
    in[s] = ctx;
}

/* ---- kernels ---- */

/* C (m, n) = alpha A (m, k) B (k, n), or C += that (acc); each element
 * summed over k in order. */
IAMP_VECTOR_CLONES static void mm_nn(int m, int n, int k, float alpha, const float *a, int lda,
                                     const float *b, int ldb, int acc, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        float *restrict ci = c + (size_t)i * (size_t)ldc;
        if (!acc)
            for (int j = 0; j < n; j++)
                ci[j] = 0.0f;
        for (int p = 0; p < k; p++) {
            float s = alpha * a[(size_t)i * (size_t)lda + p];
            const float *restrict bp = b + (size_t)p * (size_t)ldb;
            for (int j = 0; j < n; j++)
                ci[j] += s * bp[j];
        }
    }
}

/* C (k, n) += alpha A^T B for A (m, k), B (m, n); each element summed
 * over m in order. */
IAMP_VECTOR_CLONES static void mm_tn(int m, int n, int k, float alpha, const float *a, int lda,
                                     const float *b, int ldb, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        const float *restrict bi = b + (size_t)i * (size_t)ldb;
        for (int p = 0; p < k; p++) {
            float s = alpha * a[(size_t)i * (size_t)lda + p];
            float *restrict cp = c + (size_t)p * (size_t)ldc;
            for (int j = 0; j < n; j++)
                cp[j] += s * bi[j];
        }
    }
}

/* dst (cols, rows) = src (rows, cols)^T. */
static void transpose(int rows, int cols, const float *src, int lds, float *dst, int ldd)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            dst[(size_t)j * (size_t)ldd + i] = src[(size_t)i * (size_t)lds + j];
}

IAMP_VECTOR_CLONES static void tf_add_bias(float *y, const float *b, int rows, int n, int stride)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
            y[(size_t)r * (size_t)stride + j] += b[j];
}

/* y += x. */
IAMP_VECTOR_CLONES static void add_to(float *restrict y, const float *restrict x, int n)
{
    for (int j = 0; j < n; j++)
        y[j] += x[j];
}

/* y = a + b. */
IAMP_VECTOR_CLONES static void sum_of(float *restrict y, const float *restrict a,
                                      const float *restrict b, int n)
{
    for (int j = 0; j < n; j++)
        y[j] = a[j] + b[j];
}

/* y += x + b. */
IAMP_VECTOR_CLONES static void add_biased(float *restrict y, const float *restrict x,
                                          const float *restrict b, int n)
{
    for (int j = 0; j < n; j++)
        y[j] += x[j] + b[j];
}

/* y += a x. */
IAMP_VECTOR_CLONES static void axpy_of(float *restrict y, float a, const float *restrict x, int n)
{
    for (int j = 0; j < n; j++)
        y[j] += a * x[j];
}

/* a . b, summed in order. */
static float dot_of(const float *a, const float *b, int n)
{
    float s = 0.0f;
    for (int j = 0; j < n; j++)
        s += a[j] * b[j];
    return s;
}

/* y = a * b. */
IAMP_VECTOR_CLONES static void mul_of(float *restrict y, const float *restrict a,
                                      const float *restrict b, int n)
{
    for (int j = 0; j < n; j++)
        y[j] = a[j] * b[j];
}

IAMP_VECTOR_CLONES static void tf_relu(float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

IAMP_VECTOR_CLONES static void tf_relu_mask(float *restrict d, const float *restrict act, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = act[i] > 0.0f ? d[i] : 0.0f;
}

/* out[j] += the sum over rows of x[r * stride + j], rows in order. */
IAMP_VECTOR_CLONES static void col_sums_acc(const float *x, int rows, int n, int stride, float *out)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
            out[j] += x[(size_t)r * (size_t)stride + j];
}

IAMP_VECTOR_CLONES static void mask_row(float *restrict s, int n, const unsigned char *restrict ok)
{
    for (int j = 0; j < n; j++)
        s[j] = ok[j] ? s[j] : -INFINITY;
}

IAMP_VECTOR_CLONES static void scale_row(float *restrict s, int n, float k)
{
    for (int j = 0; j < n; j++)
        s[j] *= k;
}

/* Softmax of s (n) in place, keys with ok[j] == 0 (ok may be NULL) get
 * exactly 0; at least one key is valid. */
static void softmax_row(float *s, int n, const unsigned char *ok)
{
    if (ok)
        mask_row(s, n, ok);
    float mx = -INFINITY, sum = 0.0f;
    for (int j = 0; j < n; j++)
        mx = s[j] > mx ? s[j] : mx;
    for (int j = 0; j < n; j++) {
        s[j] = expf(s[j] - mx);
        sum += s[j];
    }
    scale_row(s, n, 1.0f / sum);
}

IAMP_VECTOR_CLONES static void softmax_grad(float *restrict dp, const float *restrict p, float dot,
                                            int n)
{
    for (int j = 0; j < n; j++)
        dp[j] = p[j] * (dp[j] - dot);
}

/* dp (n): dL/dp in, dL/ds out, for p = softmax(s). */
static void softmax_back_row(const float *p, float *dp, int n)
{
    float dot = 0.0f;
    for (int j = 0; j < n; j++)
        dot += p[j] * dp[j];
    softmax_grad(dp, p, dot, n);
}

static float log_add_exp(float a, float b)
{
    float mx = a > b ? a : b;
    return mx + log1pf(expf(-fabsf(a - b)));
}

IAMP_VECTOR_CLONES static void ln_apply(int d, const float *restrict x, float mean, float rs,
                                        const float *restrict g, const float *restrict b,
                                        float *restrict xh, float *restrict y)
{
    for (int j = 0; j < d; j++) {
        xh[j] = (x[j] - mean) * rs;
        y[j] = xh[j] * g[j] + b[j];
    }
}

/* LayerNorm of n rows of x (row stride ldx) into xh, rs, y (stride d). */
static void ln_fwd(int n, int d, const float *x, int ldx, const float *g, const float *b, float *xh,
                   float *rs, float *y)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * (size_t)ldx;
        float mean = 0.0f, var = 0.0f;
        for (int j = 0; j < d; j++)
            mean += xi[j];
        mean /= (float)d;
        for (int j = 0; j < d; j++)
            var += (xi[j] - mean) * (xi[j] - mean);
        var /= (float)d;
        rs[i] = 1.0f / sqrtf(var + LN_EPS);
        ln_apply(d, xi, mean, rs[i], g, b, xh + (size_t)i * (size_t)d, y + (size_t)i * (size_t)d);
    }
}

IAMP_VECTOR_CLONES static void ln_back_row(int d, const float *restrict dy,
                                           const float *restrict xh, const float *restrict g,
                                           float rs, float m1, float m2, float *restrict gg,
                                           float *restrict gb, float *restrict dx)
{
    for (int j = 0; j < d; j++) {
        gg[j] += dy[j] * xh[j];
        gb[j] += dy[j];
        dx[j] += rs * (dy[j] * g[j] - m1 - xh[j] * m2);
    }
}

/* dx (row stride lddx) += dL/dx of the LayerNorm from dy (stride lddy);
 * gg, gb accumulate the gain's and bias's gradients, rows in order. */
static void ln_back(int n, int d, const float *dy, int lddy, const float *xh, const float *rs,
                    const float *g, float *gg, float *gb, float *dx, int lddx)
{
    for (int i = 0; i < n; i++) {
        const float *dyi = dy + (size_t)i * (size_t)lddy, *xhi = xh + (size_t)i * (size_t)d;
        float s1 = 0.0f, s2 = 0.0f;
        for (int j = 0; j < d; j++) {
            float t = dyi[j] * g[j];
            s1 += t;
            s2 += t * xhi[j];
        }
        ln_back_row(d, dyi, xhi, g, rs[i], s1 / (float)d, s2 / (float)d, gg, gb,
                    dx + (size_t)i * (size_t)lddx);
    }
}

/* y (n, out) = x (n, in) W^T + b (b may be NULL), or y += that (acc). */
static void linear(int n, int out, int in, const float *x, int ldx, const float *w, const float *b,
                   int acc, float *y, int ldy)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, ldx, w, in,
                acc ? 1.0f : 0.0f, y, ldy);
    if (b)
        tf_add_bias(y, b, n, out, ldy);
}

/* The backward of linear: gw (out, in) += dy^T x, gb (may be NULL) +=
 * dy's column sums, dx (n, in) = dy W or += (acc_dx); dx NULL: none. */
static void linear_back(int n, int out, int in, const float *dy, int lddy, const float *x, int ldx,
                        const float *w, float *gw, float *gb, float *dx, int lddx, int acc_dx)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, lddy, x, ldx, 1.0f,
                gw, in);
    if (gb)
        col_sums_acc(dy, n, out, lddy, gb);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, lddy, w, in,
                    acc_dx ? 1.0f : 0.0f, dx, lddx);
}

/* ---- attention ---- */

/* One attention of nq queries over nk keys, all heads: queries q (nq, d),
 * values v (nk, d), keys transposed kt (d, nk) for the forward; keys k
 * (nk, d) and values transposed vt (d, nk) for the backward; each with its
 * own row stride. */
struct tf_att {
    int nq, nk;
    const float *q, *k, *kt, *v, *vt;
    int ldq, ldk, ldkt, ldv, ldvt;
    const unsigned char *ok; /* (nk) key mask; NULL: all keys */
    float *p;                /* (H, nq, nk) probabilities */
};

/* o (nq, d; row stride ldo) = the heads' outputs side by side. */
static void attend(const struct tf_dims *D, const struct tf_att *at, float *o, int ldo)
{
    float scale = 1.0f / sqrtf((float)D->dh);
    int nq = at->nq, nk = at->nk, dh = D->dh;
    for (int h = 0; h < D->H; h++) {
        float *ph = at->p + (size_t)h * (size_t)nq * (size_t)nk;
        size_t c = (size_t)h * (size_t)dh;
        mm_nn(nq, nk, dh, scale, at->q + c, at->ldq, at->kt + c * (size_t)at->ldkt, at->ldkt, 0, ph,
              nk);
        for (int i = 0; i < nq; i++)
            softmax_row(ph + (size_t)i * (size_t)nk, nk, at->ok);
        mm_nn(nq, dh, nk, 1.0f, ph, nk, at->v + c, at->ldv, 0, o + c, ldo);
    }
}

/* From do (nq, d): dq (nq, d) written, dk and dv (nk, d) accumulated;
 * tmp (nq, nk) scratch. */
static void attend_back(const struct tf_dims *D, const struct tf_att *at, const float *dout,
                        int lddo, float *dq, int lddq, float *dk, int lddk, float *dv, int lddv,
                        float *tmp)
{
    float scale = 1.0f / sqrtf((float)D->dh);
    int nq = at->nq, nk = at->nk, dh = D->dh;
    for (int h = 0; h < D->H; h++) {
        const float *ph = at->p + (size_t)h * (size_t)nq * (size_t)nk;
        size_t c = (size_t)h * (size_t)dh;
        mm_nn(nq, nk, dh, 1.0f, dout + c, lddo, at->vt + c * (size_t)at->ldvt, at->ldvt, 0, tmp,
              nk);
        mm_tn(nq, dh, nk, 1.0f, ph, nk, dout + c, lddo, dv + c, lddv);
        for (int i = 0; i < nq; i++)
            softmax_back_row(ph + (size_t)i * (size_t)nk, tmp + (size_t)i * (size_t)nk, nk);
        mm_nn(nq, dh, nk, scale, tmp, nk, at->k + c, at->ldk, 0, dq + c, lddq);
        mm_tn(nq, dh, nk, scale, tmp, nk, at->q + c, at->ldq, dk + c, lddk);
    }
}

/* One self-attention sublayer over `groups` groups of glen positions each
 * (a decoder block's rows, or one context's facts), pointers at the
 * groups' start. */
struct tf_self {
    int groups, glen;
    int nq;                  /* queries per group, its first: glen, or 1 (READ) */
    int ldx;                 /* the queries' row stride in x: d (nq = glen) or glen*d */
    const unsigned char *ok; /* (groups, glen) key masks; NULL: all keys */
    struct tf_ln ln;         /* (groups*glen) */
    float *qkv;              /* (groups*glen, 3*d) */
    float *kt;               /* (groups, d, glen) */
    float *p;                /* (groups, H, nq, glen) */
    float *a;                /* (groups*nq, d) */
};

/* Backward progress for the ready callback. */
struct tf_bw {
    iamp_grad_ready_cb ready;
    void *ctx;
    size_t done;
};

static void report(struct tf_bw *bw, size_t done)
{
    bw->done = done;
    if (bw->ready)
        bw->ready(bw->ctx, done);
}

/* Calls the callback with unchanged progress about IAMP_POLL_SPLIT times
 * over a loop of n iterations (i the one just finished). */
static void poll_loop(struct tf_bw *bw, int i, int n)
{
    int step = n > IAMP_POLL_SPLIT ? (n + IAMP_POLL_SPLIT - 1) / IAMP_POLL_SPLIT : 1;
    if (bw->ready && (i + 1) % step == 0)
        bw->ready(bw->ctx, bw->done);
}

/* x (groups*glen, d) += SelfAttn(LN1(x)) at each group's nq queries. */
static void self_fwd(const struct iamp_model *m, const struct iamp_tf_layer *L,
                     const struct tf_self *s, float *x)
{
    const struct tf_dims *D = &TF(m)->D;
    const float *w = m->params;
    int d = D->d, np = s->groups * s->glen;
    size_t G = (size_t)s->glen, nq = (size_t)s->nq;
    ln_fwd(np, d, x, d, w + L->ln1g, w + L->ln1b, s->ln.xh, s->ln.rs, s->ln.y);
    linear(np, 3 * d, d, s->ln.y, d, w + L->wqkv, w + L->bqkv, 0, s->qkv, 3 * d);
    for (int g = 0; g < s->groups; g++) {
        float *q = s->qkv + (size_t)g * G * 3 * (size_t)d, *kt = s->kt + (size_t)g * (size_t)d * G;
        transpose(s->glen, d, q + d, 3 * d, kt, s->glen);
        struct tf_att at = {.nq = s->nq,
                            .nk = s->glen,
                            .q = q,
                            .ldq = 3 * d,
                            .kt = kt,
                            .ldkt = s->glen,
                            .v = q + 2 * d,
                            .ldv = 3 * d,
                            .ok = s->ok ? s->ok + (size_t)g * G : NULL,
                            .p = s->p + (size_t)g * (size_t)D->H * nq * G};
        attend(D, &at, s->a + (size_t)g * nq * (size_t)d, d);
    }
    linear(s->groups * s->nq, d, d, s->a, d, w + L->wo, w + L->bo, 1, x, s->ldx);
}

/* dx (groups*glen, d) += dL/dx through SelfAttn(LN1(x)), from dL/dx at
 * the queries (row stride ldx). */
static void self_back(struct iamp_model *m, const struct iamp_tf_layer *L, const struct tf_self *s,
                      float *dx, struct tf_bw *bw)
{
    struct tf *tp = TF(m);
    const float *w = m->params;
    float *gr = m->grads, *dqkv = tp->dec.dt, *da = tp->dec.da;
    int d = tp->D.d, np = s->groups * s->glen;
    size_t G = (size_t)s->glen, nq = (size_t)s->nq;
    linear_back(s->groups * s->nq, d, d, dx, s->ldx, s->a, d, w + L->wo, gr + L->wo, gr + L->bo, da,
                d, 0);
    for (int g = 0; g < s->groups; g++) {
        const float *q = s->qkv + (size_t)g * G * 3 * (size_t)d;
        float *dq = dqkv + (size_t)g * G * 3 * (size_t)d;
        transpose(s->glen, d, q + 2 * d, 3 * d, tp->dec.vt, s->glen);
        memset(dq, 0, G * 3 * (size_t)d * sizeof(float));
        struct tf_att at = {.nq = s->nq,
                            .nk = s->glen,
                            .q = q,
                            .ldq = 3 * d,
                            .k = q + d,
                            .ldk = 3 * d,
                            .vt = tp->dec.vt,
                            .ldvt = s->glen,
                            .p = s->p + (size_t)g * (size_t)tp->D.H * nq * G};
        attend_back(&tp->D, &at, da + (size_t)g * nq * (size_t)d, d, dq, 3 * d, dq + d, 3 * d,
                    dq + 2 * d, 3 * d, tp->dec.att);
        poll_loop(bw, g, s->groups);
    }
    linear_back(np, 3 * d, d, dqkv, 3 * d, s->ln.y, d, w + L->wqkv, gr + L->wqkv, gr + L->bqkv,
                tp->dec.dy, d, 0);
    ln_back(np, d, tp->dec.dy, d, s->ln.xh, s->ln.rs, w + L->ln1g, gr + L->ln1g, gr + L->ln1b, dx,
            d);
}

/* x (n, d; row stride ldx) += FF(LN3(x)). */
static void ff_fwd(const struct iamp_model *m, const struct iamp_tf_layer *L, int n, float *x,
                   int ldx, const struct tf_ln *ln, float *hid)
{
    const float *w = m->params;
    int d = TF(m)->D.d, F = TF(m)->D.F;
    ln_fwd(n, d, x, ldx, w + L->ln3g, w + L->ln3b, ln->xh, ln->rs, ln->y);
    linear(n, F, d, ln->y, d, w + L->w1, w + L->b1, 0, hid, F);
    tf_relu(hid, (size_t)n * (size_t)F);
    linear(n, d, F, hid, F, w + L->w2, w + L->b2, 1, x, ldx);
}

/* dx (n, d; row stride ldx) += dL/dx through FF(LN3(x)). */
static void ff_back(struct iamp_model *m, const struct iamp_tf_layer *L, int n, float *dx, int ldx,
                    const struct tf_ln *ln, const float *hid)
{
    struct tf *tp = TF(m);
    const float *w = m->params;
    float *gr = m->grads, *dt = tp->dec.dt, *dy = tp->dec.dy;
    int d = tp->D.d, F = tp->D.F;
    linear_back(n, d, F, dx, ldx, hid, F, w + L->w2, gr + L->w2, gr + L->b2, dt, F, 0);
    tf_relu_mask(dt, hid, (size_t)n * (size_t)F);
    linear_back(n, F, d, dt, F, ln->y, d, w + L->w1, gr + L->w1, gr + L->b1, dy, d, 0);
    ln_back(n, d, dy, d, ln->xh, ln->rs, w + L->ln3g, gr + L->ln3g, gr + L->ln3b, dx, ldx);
}

/* ---- activations ---- */

/* n floats from *off on (64-byte aligned), or NULL while sizing. */
static float *take(float *base, size_t *off, size_t n)
{
    float *p = base ? base + *off : NULL;
    *off += (n + 15) & ~(size_t)15;
    return p;
}

static void take_ln(float *base, size_t *off, size_t n, size_t d, struct tf_ln *ln)
{
    ln->xh = take(base, off, n * d);
    ln->rs = take(base, off, n);
    ln->y = take(base, off, n * d);
}

/* One context's activations from off on; returns the end. */
static size_t carve_enc(const struct tf_dims *D, float *base, size_t off, struct tf_enc *e)
{
    size_t n = (size_t)e->n, d = (size_t)D->d;
    e->xin = take(base, &off, n * (size_t)D->FL * d);
    e->x = take(base, &off, n * d);
    for (int l = 0; l < D->enc; l++) {
        take_ln(base, &off, n, d, &e->ln1[l]);
        e->qkv[l] = take(base, &off, n * 3 * d);
        e->kt[l] = take(base, &off, d * n);
        e->p[l] = take(base, &off, (size_t)D->H * n * n);
        e->a[l] = take(base, &off, n * d);
        take_ln(base, &off, n, d, &e->ln3[l]);
        e->hid[l] = take(base, &off, n * (size_t)D->F);
    }
    take_ln(base, &off, n, d, &e->lnf);
    e->fst = take(base, &off, d * n);
    for (int l = 0; l < D->dec; l++) {
        e->kv[l] = take(base, &off, n * 2 * d);
        e->kvt[l] = take(base, &off, n * 2 * d);
    }
    e->dx = take(base, &off, n * d);
    e->dfs = take(base, &off, n * d);
    e->dkv = take(base, &off, n * 2 * d);
    return off;
}

static size_t max3(size_t a, size_t b, size_t c)
{
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

/* The decoder's activations for R rows whose contexts hold cum facts in
 * all, and the backward's scratch; returns the end. */
static size_t carve_dec(const struct tf_dims *D, float *base, int R, long cum, int nmax,
                        struct tf_dec *q)
{
    size_t off = 0, d = (size_t)D->d, T = (size_t)D->T, H = (size_t)D->H, FL = (size_t)D->FL;
    size_t P = (size_t)R * T, V = (size_t)D->V, C = (size_t)cum, M = max3(T, (size_t)nmax, 1);
    for (int l = 0; l < D->dec; l++) {
        struct tf_dec_layer *dl = &q->l[l];
        size_t tq = (size_t)tq_of(D, l), Pq = (size_t)R * tq;
        take_ln(base, &off, P, d, &dl->ln1);
        dl->qkv = take(base, &off, P * 3 * d);
        dl->kt = take(base, &off, P * d);
        dl->p = take(base, &off, Pq * H * T);
        dl->a = take(base, &off, Pq * d);
        take_ln(base, &off, Pq, d, &dl->ln2);
        dl->qx = take(base, &off, Pq * d);
        dl->px = take(base, &off, H * tq * C);
        dl->ax = take(base, &off, Pq * d);
        take_ln(base, &off, Pq, d, &dl->ln3);
        dl->hid = take(base, &off, Pq * (size_t)D->F);
    }
    q->x = take(base, &off, P * d);
    q->tmp = take(base, &off, P * d);
    take_ln(base, &off, (size_t)R, d, &q->lnf);
    q->wgen = take(base, &off, (size_t)R * V);
    size_t QW = D->cp ? d : FL * d; /* a row's pointer or copy queries */
    q->qp = take(base, &off, (size_t)R * QW);
    q->ws = take(base, &off, D->cp ? P : FL * C);
    size_t Pb = P > (size_t)nmax ? P : (size_t)nmax, W = max3(3 * d, (size_t)D->F, FL * d);
    q->dx = take(base, &off, P * d);
    q->dt = take(base, &off, Pb * W);
    q->da = take(base, &off, Pb * d);
    q->dy = take(base, &off, Pb * d);
    q->dh = take(base, &off, (size_t)R * d);
    q->dqp = take(base, &off, (size_t)R * QW);
    q->dgen = take(base, &off, (size_t)R * V);
    q->att = take(base, &off, M * M);
    q->vt = take(base, &off, d * M);
    q->ds = take(base, &off, FL * (size_t)nmax);
    return off;
}

static size_t carve_all(struct tf *p, int R, float *base)
{
    size_t off = carve_dec(&p->D, base, R, p->cum[R], p->nmax, &p->dec);
    for (int u = 0; u < p->n_used; u++)
        off = carve_enc(&p->D, base, off, &p->enc[u]);
    return off;
}

static int ensure_arena(struct tf *p, int R)
{
    size_t need = carve_all(p, R, NULL);
    if (need > p->cap_floats) {
        free(p->arena);
        p->arena = iamp_model_alloc_floats(need);
        p->cap_floats = p->arena ? need : 0;
        if (!p->arena)
            return IAMP_ENOMEM;
    }
    carve_all(p, R, p->arena);
    return 0;
}

static int ensure_ints(struct tf *p, int R, int n_ctx)
{
    if (R > p->cap_rows) {
        free_ints(p);
        size_t P = (size_t)R * (size_t)p->D.T;
        p->rtok = malloc(P * sizeof(int32_t));
        p->rvalid = malloc(P);
        p->row_u = malloc((size_t)R * sizeof(int));
        p->cum = malloc(((size_t)R + 1) * sizeof(long));
        if (!p->rtok || !p->rvalid || !p->row_u || !p->cum) {
            free_ints(p);
            return IAMP_ENOMEM;
        }
        p->cap_rows = R;
    }
    if (n_ctx > p->cap_slots) {
        free(p->slot_u);
        p->slot_u = malloc((size_t)n_ctx * sizeof(int));
        p->cap_slots = p->slot_u ? n_ctx : 0;
        if (!p->slot_u)
            return IAMP_ENOMEM;
    }
    return 0;
}

/* A new entry in enc for batch context `slot`, its tokens kept inside the
 * token table (callers validate); returns its index or a negative code. */
static int add_context(struct tf *p, const struct iamp_context *c, int slot)
{
    if (p->n_used == p->cap_used) {
        int cap = p->cap_used ? 2 * p->cap_used : 8;
        struct tf_enc *e = realloc(p->enc, (size_t)cap * sizeof(*e));
        if (!e)
            return IAMP_ENOMEM;
        p->enc = e;
        p->cap_used = cap;
    }
    struct tf_enc *e = &p->enc[p->n_used];
    int FL = p->D.FL;
    e->slot = slot;
    e->n = c->n_facts < IAMP_FACTS_MAX ? c->n_facts : IAMP_FACTS_MAX;
    for (int f = 0; f < e->n; f++)
        for (int j = 0; j < FL; j++) {
            int t = c->tok[f][j];
            e->tok[f * FL + j] = t > p->D.V ? 0 : t;
        }
    p->nmax = e->n > p->nmax ? e->n : p->nmax;
    return p->n_used++;
}

/* Each row's context in enc (-1: none, or no facts), contexts in order of
 * first use; IAMP_EINVAL for a row indexing past the table. */
static int map_contexts(struct tf *p, const struct iamp_model_batch *b)
{
    int S = p->D.S;
    p->n_used = 0;
    p->nmax = 0;
    for (int s = 0; s < b->n_ctx; s++)
        p->slot_u[s] = -1;
    for (int r = 0; r < b->rows; r++) {
        int c = b->in[(size_t)r * (size_t)S + (size_t)S - 1];
        if (c >= b->n_ctx || (c >= 0 && !b->ctx[c]))
            return IAMP_EINVAL;
        p->row_u[r] = -1;
        if (c < 0 || p->D.FL == 0 || b->ctx[c]->n_facts == 0)
            continue;
        if (p->slot_u[c] < 0) {
            int u = add_context(p, b->ctx[c], c);
            if (u < 0)
                return u;
            p->slot_u[c] = u;
        }
        p->row_u[r] = p->slot_u[c];
    }
    return 0;
}

static int clamp_token(int t, int n)
{
    return t < 0 || t >= n ? 0 : t; /* callers validate; never read outside a table */
}

/* Rows' positions: rtok (step, type, tokens), their key masks and cum. */
static void decode_rows(struct tf *p, const int32_t *in, int R)
{
    const struct tf_dims *D = &p->D;
    p->cum[0] = 0;
    for (int r = 0; r < R; r++) {
        const int32_t *row = in + (size_t)r * (size_t)D->S;
        int32_t *t = p->rtok + (size_t)r * (size_t)D->T;
        unsigned char *ok = p->rvalid + (size_t)r * (size_t)D->T;
        t[0] = clamp_token(row[D->S - 2], D->A);
        t[1] = clamp_token(row[0], D->NT);
        ok[0] = ok[1] = 1;
        for (int i = 2; i < D->T; i++) {
            t[i] = clamp_token(row[i - 1], D->V + 1);
            ok[i] = t[i] != D->V;
        }
        p->cum[r + 1] = p->cum[r] + (p->row_u[r] >= 0 ? p->enc[p->row_u[r]].n : 0);
    }
}

/* ---- forward ---- */

/* Context e's self-attention sublayer in encoder layer l: every fact a
 * query. */
static struct tf_self enc_self_at(const struct tf *p, const struct tf_enc *e, int l)
{
    struct tf_self s = {.groups = 1,
                        .glen = e->n,
                        .nq = e->n,
                        .ldx = p->D.d,
                        .ok = NULL,
                        .ln = e->ln1[l],
                        .qkv = e->qkv[l],
                        .kt = e->kt[l],
                        .p = e->p[l],
                        .a = e->a[l]};
    return s;
}

static void enc_layer_fwd(const struct iamp_model *m, struct tf_enc *e, int l)
{
    const struct iamp_tf_layer *L = &TF(m)->lay.enc[l];
    struct tf_self s = enc_self_at(TF(m), e, l);
    self_fwd(m, L, &s, e->x);
    ff_fwd(m, L, e->n, e->x, TF(m)->D.d, &e->ln3[l], e->hid[l]);
}

/* Context u: fact states, and every decoder layer's cross keys and values. */
static void encode_context(const struct iamp_model *m, int u)
{
    const struct tf *p = TF(m);
    const struct tf_dims *D = &p->D;
    const float *w = m->params;
    struct tf_enc *e = &p->enc[u];
    int n = e->n, d = D->d, FL = D->FL;
    for (int i = 0; i < n * FL; i++)
        memcpy(e->xin + (size_t)i * (size_t)d, w + p->lay.tok + (size_t)e->tok[i] * (size_t)d,
               (size_t)d * sizeof(float));
    linear(n, d, FL * d, e->xin, FL * d, w + p->lay.wf, w + p->lay.bf, 0, e->x, d);
    for (int l = 0; l < D->enc; l++)
        enc_layer_fwd(m, e, l);
    ln_fwd(n, d, e->x, d, w + p->lay.lneg, w + p->lay.lneb, e->lnf.xh, e->lnf.rs, e->lnf.y);
    transpose(n, d, e->lnf.y, d, e->fst, n);
    for (int l = 0; l < D->dec; l++) {
        const struct iamp_tf_layer *L = &p->lay.dec[l];
        linear(n, 2 * d, d, e->lnf.y, d, w + L->wkv, w + L->bkv, 0, e->kv[l], 2 * d);
        transpose(n, 2 * d, e->kv[l], 2 * d, e->kvt[l], n);
    }
}

static void encode_cb(void *ctx, int k, int thread)
{
    (void)thread;
    encode_context(ctx, k);
}

/* Rows [r0, r0 + rows): x = each position's embedding plus its position's. */
static void embed_rows(const struct iamp_model *m, int r0, int rows)
{
    const struct tf *p = TF(m);
    const struct tf_dims *D = &p->D;
    const float *w = m->params;
    size_t d = (size_t)D->d, T = (size_t)D->T;
    for (size_t r = (size_t)r0; r < (size_t)(r0 + rows); r++) {
        const int32_t *t = p->rtok + r * T;
        for (size_t i = 0; i < T; i++) {
            size_t at = i == 0 ? p->lay.read : i == 1 ? p->lay.type : p->lay.tok;
            sum_of(p->dec.x + (r * T + i) * d, w + at + (size_t)t[i] * d, w + p->lay.pos + i * d,
                   (int)d);
        }
    }
}

static struct tf_ln ln_at(const struct tf_ln *ln, size_t pos, size_t d)
{
    struct tf_ln s = {ln->xh + pos * d, ln->rs + pos, ln->y + pos * d};
    return s;
}

/* Decoder layer l's self-attention sublayer from row r0 on. */
static struct tf_self dec_self_at(const struct tf *p, int l, int r0, int rows)
{
    const struct tf_dec_layer *dl = &p->dec.l[l];
    size_t d = (size_t)p->D.d, T = (size_t)p->D.T, p0 = (size_t)r0 * T;
    size_t q0 = (size_t)r0 * (size_t)tq_of(&p->D, l);
    struct tf_self s = {.groups = rows,
                        .glen = p->D.T,
                        .nq = tq_of(&p->D, l),
                        .ldx = ldq_of(&p->D, l),
                        .ok = p->rvalid + p0,
                        .ln = ln_at(&dl->ln1, p0, d),
                        .qkv = dl->qkv + p0 * 3 * d,
                        .kt = dl->kt + p0 * d,
                        .p = dl->p + q0 * (size_t)p->D.H * T,
                        .a = dl->a + q0 * d};
    return s;
}

/* Row r's cross-attention in decoder layer l. */
static struct tf_att cross_at(const struct tf *p, int l, int r)
{
    const struct tf_enc *e = &p->enc[p->row_u[r]];
    int d = p->D.d, tq = tq_of(&p->D, l), n = e->n;
    struct tf_att at = {.nq = tq,
                        .nk = n,
                        .q = p->dec.l[l].qx + (size_t)r * (size_t)tq * (size_t)d,
                        .ldq = d,
                        .k = e->kv[l],
                        .ldk = 2 * d,
                        .kt = e->kvt[l],
                        .ldkt = n,
                        .v = e->kv[l] + d,
                        .ldv = 2 * d,
                        .vt = e->kvt[l] + (size_t)d * (size_t)n,
                        .ldvt = n,
                        .p = p->dec.l[l].px + (size_t)p->D.H * (size_t)tq * (size_t)p->cum[r]};
    return at;
}

/* x += CrossAttn(LN2(x), fs) at the query positions of the rows with
 * facts. */
static void cross_fwd(const struct iamp_model *m, int l, int r0, int rows)
{
    const struct tf *p = TF(m);
    const struct iamp_tf_layer *L = &p->lay.dec[l];
    const struct tf_dec_layer *dl = &p->dec.l[l];
    const float *w = m->params;
    int d = p->D.d, T = p->D.T, tq = tq_of(&p->D, l), ldx = ldq_of(&p->D, l), nq = rows * tq;
    size_t q0 = (size_t)r0 * (size_t)tq, td = (size_t)tq * (size_t)d;
    struct tf_ln ln2 = ln_at(&dl->ln2, q0, (size_t)d);
    ln_fwd(nq, d, p->dec.x + (size_t)r0 * (size_t)T * (size_t)d, ldx, w + L->ln2g, w + L->ln2b,
           ln2.xh, ln2.rs, ln2.y);
    linear(nq, d, d, ln2.y, d, w + L->wq, w + L->bq, 0, dl->qx + q0 * (size_t)d, d);
    for (int r = r0; r < r0 + rows; r++) {
        struct tf_att at;
        if (p->row_u[r] < 0) {
            memset(dl->ax + (size_t)r * td, 0, td * sizeof(float));
            continue;
        }
        at = cross_at(p, l, r);
        attend(&p->D, &at, dl->ax + (size_t)r * td, d);
    }
    linear(nq, d, d, dl->ax + q0 * (size_t)d, d, w + L->wox, NULL, 0, p->dec.tmp + q0 * (size_t)d,
           d);
    for (int r = r0; r < r0 + rows; r++)
        for (int i = 0; p->row_u[r] >= 0 && i < tq; i++)
            add_biased(p->dec.x + ((size_t)r * (size_t)T + (size_t)i) * (size_t)d,
                       p->dec.tmp + ((size_t)r * (size_t)tq + (size_t)i) * (size_t)d, w + L->box,
                       d);
}

/* Row r's logits [lo, hi) mixed with its context's slot scores s (FL, n),
 * which become the mixing weights exp(s - logit_t) (0 off [lo, hi)). */
static void mix_copies(struct iamp_model *m, int r, const struct tf_enc *e, float *s)
{
    struct tf *p = TF(m);
    int lo = m->out_lo, hi = m->out_hi, n = e->n, FL = p->D.FL;
    float *lg = m->logits + (size_t)r * (size_t)p->D.V, *wg = p->dec.wgen + (size_t)r * p->D.V;
    memcpy(wg + lo, lg + lo, (size_t)(hi - lo) * sizeof(float));
    for (int f = 0; f < n; f++)
        for (int j = 0; j < FL; j++) {
            int t = e->tok[f * FL + j];
            if (t >= lo && t < hi)
                lg[t] = log_add_exp(lg[t], s[j * n + f]);
        }
    for (int t = lo; t < hi; t++)
        wg[t] = expf(wg[t] - lg[t]);
    for (int f = 0; f < n; f++)
        for (int j = 0; j < FL; j++) {
            int t = e->tok[f * FL + j];
            s[j * n + f] = t >= lo && t < hi ? expf(s[j * n + f] - lg[t]) : 0.0f;
        }
}

static void pointer_fwd(struct iamp_model *m, int r0, int rows)
{
    struct tf *p = TF(m);
    int d = p->D.d, FL = p->D.FL;
    float scale = 1.0f / sqrtf((float)d);
    float *qp = p->dec.qp + (size_t)r0 * (size_t)FL * (size_t)d;
    linear(rows, FL * d, d, p->dec.lnf.y + (size_t)r0 * (size_t)d, d, m->params + p->lay.wp, NULL,
           0, qp, FL * d);
    for (int r = r0; r < r0 + rows; r++) {
        if (p->row_u[r] < 0)
            continue;
        const struct tf_enc *e = &p->enc[p->row_u[r]];
        float *s = p->dec.ws + (size_t)FL * (size_t)p->cum[r];
        mm_nn(FL, e->n, d, scale, p->dec.qp + (size_t)r * (size_t)FL * (size_t)d, d, e->fst, e->n,
              0, s, e->n);
        mix_copies(m, r, e, s);
    }
}

/* The copy head (pointer=2) on rows [r0, r0 + rows): position i of row
 * r (question and prefix tokens t_i in [lo, hi)) scores s_i = (W_p
 * h_r).e_i / sqrt(d) against its embedding e_i = E_tok[t_i] + pos_i, and
 * the scores mix into the logits as the facts' slots do (mix_copies):
 * logit_t = log(exp(gen_t) + sum over positions holding t of exp(s_i)).
 * A query read from h can pick a position by what the row holds (after
 * one layer of attention), where a layer's own queries at READ can not:
 * one decoder layer copies a subanswer into the next subquestion. ws
 * keeps exp(s_i - logit_t). */
static void copy_fwd(struct iamp_model *m, int r0, int rows)
{
    struct tf *p = TF(m);
    const float *w = m->params;
    int d = p->D.d, T = p->D.T, V = p->D.V, lo = m->out_lo, hi = m->out_hi;
    float scale = 1.0f / sqrtf((float)d);
    linear(rows, d, d, p->dec.lnf.y + (size_t)r0 * (size_t)d, d, w + p->lay.wp, NULL, 0,
           p->dec.qp + (size_t)r0 * (size_t)d, d);
    for (int r = r0; r < r0 + rows; r++) {
        const int32_t *t = p->rtok + (size_t)r * (size_t)T;
        const unsigned char *ok = p->rvalid + (size_t)r * (size_t)T;
        const float *q = p->dec.qp + (size_t)r * (size_t)d;
        float *s = p->dec.ws + (size_t)r * (size_t)T;
        float *lg = m->logits + (size_t)r * (size_t)V, *wg = p->dec.wgen + (size_t)r * (size_t)V;
        memcpy(wg + lo, lg + lo, (size_t)(hi - lo) * sizeof(float));
        for (int i = 0; i < T; i++) {
            s[i] = 0.0f;
            if (i < 2 || !ok[i] || t[i] < lo || t[i] >= hi)
                continue;
            s[i] = scale * (dot_of(q, w + p->lay.tok + (size_t)t[i] * (size_t)d, d) +
                            dot_of(q, w + p->lay.pos + (size_t)i * (size_t)d, d));
            lg[t[i]] = log_add_exp(lg[t[i]], s[i]);
        }
        for (int k = lo; k < hi; k++)
            wg[k] = expf(wg[k] - lg[k]);
        for (int i = 2; i < T; i++)
            if (ok[i] && t[i] >= lo && t[i] < hi)
                s[i] = expf(s[i] - lg[t[i]]);
    }
}

static void heads_fwd(struct iamp_model *m, int r0, int rows)
{
    struct tf *p = TF(m);
    const float *w = m->params, *h = p->dec.lnf.y + (size_t)r0 * (size_t)p->D.d;
    int d = p->D.d, V = p->D.V, lo = m->out_lo, hi = m->out_hi, C = p->D.C;
    if (hi > lo)
        linear(rows, hi - lo, d, h, d, w + p->lay.wo + (size_t)lo * (size_t)d, w + p->lay.bo + lo,
               0, m->logits + (size_t)r0 * (size_t)V + lo, V);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, d, 1.0f, h, d, w + p->lay.wv, 1, 0.0f,
                m->values + r0, 1);
    for (int r = 0; r < rows; r++)
        m->values[r0 + r] += w[p->lay.bv];
    if (C)
        linear(rows, C, d, h, d, w + p->lay.wc, w + p->lay.bc, 0, m->cont + (size_t)r0 * (size_t)C,
               C);
    if (p->D.ptr)
        pointer_fwd(m, r0, rows);
    if (p->D.cp && hi > lo)
        copy_fwd(m, r0, rows);
}

/* Rows [r0, r0 + rows): every decoder layer, the final LN and the heads. */
static void dec_block(struct iamp_model *m, int r0, int rows)
{
    struct tf *p = TF(m);
    const float *w = m->params;
    int d = p->D.d, T = p->D.T;
    size_t p0 = (size_t)r0 * (size_t)T;
    embed_rows(m, r0, rows);
    for (int l = 0; l < p->D.dec; l++) {
        const struct iamp_tf_layer *L = &p->lay.dec[l];
        struct tf_self s = dec_self_at(p, l, r0, rows);
        size_t q0 = (size_t)r0 * (size_t)tq_of(&p->D, l);
        struct tf_ln ln3 = ln_at(&p->dec.l[l].ln3, q0, (size_t)d);
        self_fwd(m, L, &s, p->dec.x + p0 * (size_t)d);
        cross_fwd(m, l, r0, rows);
        ff_fwd(m, L, rows * tq_of(&p->D, l), p->dec.x + p0 * (size_t)d, ldq_of(&p->D, l), &ln3,
               p->dec.l[l].hid + q0 * (size_t)p->D.F);
    }
    ln_fwd(rows, d, p->dec.x + p0 * (size_t)d, T * d, w + p->lay.lnfg, w + p->lay.lnfb,
           p->dec.lnf.xh + (size_t)r0 * (size_t)d, p->dec.lnf.rs + r0,
           p->dec.lnf.y + (size_t)r0 * (size_t)d);
    heads_fwd(m, r0, rows);
}

/* Blocks of a forward over rows, as the MLP's (model.h). */
static int blocks_for(int rows)
{
    int b = (rows + IAMP_MODEL_BLOCK_ROWS / 2) / IAMP_MODEL_BLOCK_ROWS;
    return b < 1 ? 1 : b;
}

static void block_cb(void *ctx, int k, int thread)
{
    struct iamp_model *m = ctx;
    int R = TF(m)->rows, b = blocks_for(R);
    int r0 = (int)((long)R * k / b), r1 = (int)((long)R * (k + 1) / b);
    (void)thread;
    dec_block(m, r0, r1 - r0);
}

static int tf_forward(struct iamp_model *m, const struct iamp_model_batch *b)
{
    struct tf *p = TF(m);
    int R = b->rows;
    p->rows = 0;
    int rc = ensure_ints(p, R > 0 ? R : 1, b->n_ctx);
    if (!rc)
        rc = map_contexts(p, b);
    if (rc)
        return rc;
    decode_rows(p, b->in, R);
    rc = ensure_arena(p, R);
    if (rc || R == 0)
        return rc;
    p->rows = R;
    iamp_pool_run(m->pool, p->n_used, encode_cb, m);
    iamp_pool_run(m->pool, blocks_for(R), block_cb, m);
    return 0;
}

/* ---- backward ---- */

/* dgen (R, hi - lo): dL/dgen, through the pointer's mixing on its rows. */
static void token_dgen(struct iamp_model *m, const float *dlogits)
{
    struct tf *p = TF(m);
    int V = p->D.V, lo = m->out_lo, nc = m->out_hi - m->out_lo;
    for (int r = 0; r < p->rows; r++) {
        const float *dl = dlogits + (size_t)r * (size_t)V + lo;
        float *dg = p->dec.dgen + (size_t)r * (size_t)nc;
        if ((p->D.ptr && p->row_u[r] >= 0) || p->D.cp)
            mul_of(dg, dl, p->dec.wgen + (size_t)r * (size_t)V + lo, nc);
        else
            memcpy(dg, dl, (size_t)nc * sizeof(float));
    }
}

/* The pointer's queries' gradients; dh += its share, each context's dfs
 * += the slots' share. */
static void pointer_back(struct iamp_model *m, const float *dlogits)
{
    struct tf *p = TF(m);
    int d = p->D.d, FL = p->D.FL, V = p->D.V, R = p->rows, lo = m->out_lo, hi = m->out_hi;
    float scale = 1.0f / sqrtf((float)d), *ds = p->dec.ds;
    memset(p->dec.dqp, 0, (size_t)R * (size_t)FL * (size_t)d * sizeof(float));
    for (int r = 0; r < R; r++) {
        if (p->row_u[r] < 0)
            continue;
        struct tf_enc *e = &p->enc[p->row_u[r]];
        const float *ws = p->dec.ws + (size_t)FL * (size_t)p->cum[r];
        int n = e->n;
        for (int f = 0; f < n; f++)
            for (int j = 0; j < FL; j++) {
                int t = e->tok[f * FL + j];
                ds[j * n + f] = t >= lo && t < hi ? dlogits[(size_t)r * V + t] * ws[j * n + f] : 0;
            }
        size_t at = (size_t)r * (size_t)FL * (size_t)d;
        mm_nn(FL, d, n, scale, ds, n, e->lnf.y, d, 0, p->dec.dqp + at, d);
        mm_tn(FL, d, n, scale, ds, n, p->dec.qp + at, d, e->dfs, d);
    }
    linear_back(R, FL * d, d, p->dec.dqp, FL * d, p->dec.lnf.y, d, m->params + p->lay.wp,
                m->grads + p->lay.wp, NULL, p->dec.dh, d, 1);
}

/* The copy head's scores' gradients: ws becomes dL/ds (0 where no
 * position scored), the queries' dqp, W_p's and dh += their share. The
 * embeddings' share waits for copy_embed_back. */
static void copy_back(struct iamp_model *m, const float *dlogits)
{
    struct tf *p = TF(m);
    const float *w = m->params;
    int d = p->D.d, T = p->D.T, V = p->D.V, R = p->rows, lo = m->out_lo, hi = m->out_hi;
    float scale = 1.0f / sqrtf((float)d);
    for (int r = 0; r < R; r++) {
        const int32_t *t = p->rtok + (size_t)r * (size_t)T;
        const unsigned char *ok = p->rvalid + (size_t)r * (size_t)T;
        float *ds = p->dec.ws + (size_t)r * (size_t)T, *dq = p->dec.dqp + (size_t)r * (size_t)d;
        memset(dq, 0, (size_t)d * sizeof(float));
        for (int i = 2; i < T; i++) {
            if (!ok[i] || t[i] < lo || t[i] >= hi)
                continue;
            ds[i] *= dlogits[(size_t)r * (size_t)V + (size_t)t[i]];
            axpy_of(dq, scale * ds[i], w + p->lay.tok + (size_t)t[i] * (size_t)d, d);
            axpy_of(dq, scale * ds[i], w + p->lay.pos + (size_t)i * (size_t)d, d);
        }
    }
    linear_back(R, d, d, p->dec.dqp, d, p->dec.lnf.y, d, w + p->lay.wp, m->grads + p->lay.wp, NULL,
                p->dec.dh, d, 1);
}

/* The copy head's share of dL/de_i (copy_back's dL/ds times the query),
 * added to the decoder's input gradients dx before the embeddings take
 * theirs. */
static void copy_embed_back(struct iamp_model *m)
{
    struct tf *p = TF(m);
    int d = p->D.d, T = p->D.T;
    float scale = 1.0f / sqrtf((float)d);
    for (int r = 0; r < p->rows; r++) {
        const float *ds = p->dec.ws + (size_t)r * (size_t)T, *q = p->dec.qp + (size_t)r * (size_t)d;
        for (int i = 2; i < T; i++)
            if (ds[i] != 0.0f)
                axpy_of(p->dec.dx + ((size_t)r * (size_t)T + (size_t)i) * (size_t)d, scale * ds[i],
                        q, d);
    }
}

/* Every head's gradients; dh (R, d) = dL/dh. */
static void heads_back(struct iamp_model *m, const float *dlogits, const float *dvalues,
                       const float *dcont)
{
    struct tf *p = TF(m);
    const struct iamp_tf_layout *lay = &p->lay;
    const float *w = m->params, *h = p->dec.lnf.y;
    float *g = m->grads, *dh = p->dec.dh;
    int R = p->rows, d = p->D.d, C = p->D.C, lo = m->out_lo, nc = m->out_hi - m->out_lo;
    memset(dh, 0, (size_t)R * (size_t)d * sizeof(float));
    if (C && dcont)
        linear_back(R, C, d, dcont, C, h, d, w + lay->wc, g + lay->wc, g + lay->bc, dh, d, 1);
    if (dvalues) {
        cblas_sgemv(CblasRowMajor, CblasTrans, R, d, 1.0f, h, d, dvalues, 1, 0.0f, g + lay->wv, 1);
        float s = 0.0f;
        for (int r = 0; r < R; r++)
            s += dvalues[r];
        g[lay->bv] = s;
        cblas_sger(CblasRowMajor, R, d, 1.0f, dvalues, 1, w + lay->wv, 1, dh, d);
    }
    if (nc > 0) {
        size_t wo = lay->wo + (size_t)lo * (size_t)d;
        token_dgen(m, dlogits);
        linear_back(R, nc, d, p->dec.dgen, nc, h, d, w + wo, g + wo, g + lay->bo + lo, dh, d, 1);
        if (p->D.ptr)
            pointer_back(m, dlogits);
        if (p->D.cp)
            copy_back(m, dlogits);
    }
}

/* Decoder layer l's cross-attention; then each context's dfs += its keys'
 * and values' share, and their projection's gradients. */
static void cross_back(struct iamp_model *m, int l, struct tf_bw *bw)
{
    struct tf *p = TF(m);
    const struct iamp_tf_layer *L = &p->lay.dec[l];
    const struct tf_dec_layer *dl = &p->dec.l[l];
    const float *w = m->params;
    float *g = m->grads, *dx = p->dec.dx, *da = p->dec.da, *dq = p->dec.dt;
    int d = p->D.d, R = p->rows, tq = tq_of(&p->D, l), ldx = ldq_of(&p->D, l), nq = R * tq;
    size_t td = (size_t)tq * (size_t)d, xd = (size_t)p->D.T * (size_t)d;
    linear_back(nq, d, d, dx, ldx, dl->ax, d, w + L->wox, g + L->wox, NULL, da, d, 0);
    for (int r = 0; r < R; r++) {
        if (p->row_u[r] < 0) {
            memset(dq + (size_t)r * td, 0, td * sizeof(float));
            continue;
        }
        struct tf_enc *e = &p->enc[p->row_u[r]];
        struct tf_att at = cross_at(p, l, r);
        col_sums_acc(dx + (size_t)r * xd, tq, d, d, g + L->box);
        attend_back(&p->D, &at, da + (size_t)r * td, d, dq + (size_t)r * td, d, e->dkv, 2 * d,
                    e->dkv + d, 2 * d, p->dec.att);
        poll_loop(bw, r, R);
    }
    linear_back(nq, d, d, dq, d, dl->ln2.y, d, w + L->wq, g + L->wq, g + L->bq, p->dec.dy, d, 0);
    ln_back(nq, d, p->dec.dy, d, dl->ln2.xh, dl->ln2.rs, w + L->ln2g, g + L->ln2g, g + L->ln2b, dx,
            ldx);
    for (int u = 0; u < p->n_used; u++) {
        struct tf_enc *e = &p->enc[u];
        linear_back(e->n, 2 * d, d, e->dkv, 2 * d, e->lnf.y, d, w + L->wkv, g + L->wkv, g + L->bkv,
                    e->dfs, d, 1);
        memset(e->dkv, 0, (size_t)e->n * 2 * (size_t)d * sizeof(float));
    }
}

static void dec_layer_back(struct iamp_model *m, int l, struct tf_bw *bw)
{
    struct tf *p = TF(m);
    const struct iamp_tf_layer *L = &p->lay.dec[l];
    ff_back(m, L, p->rows * tq_of(&p->D, l), p->dec.dx, ldq_of(&p->D, l), &p->dec.l[l].ln3,
            p->dec.l[l].hid);
    if (bw->ready)
        bw->ready(bw->ctx, bw->done);
    cross_back(m, l, bw);
    struct tf_self s = dec_self_at(p, l, 0, p->rows);
    self_back(m, L, &s, p->dec.dx, bw);
}

/* The decoder's embeddings from dL/dx of its first layer's input. */
static void dec_embed_back(struct iamp_model *m)
{
    struct tf *p = TF(m);
    const struct iamp_tf_layout *lay = &p->lay;
    size_t d = (size_t)p->D.d, T = (size_t)p->D.T;
    for (size_t r = 0; r < (size_t)p->rows; r++) {
        const int32_t *t = p->rtok + r * T;
        for (size_t i = 0; i < T; i++) {
            const float *dx = p->dec.dx + (r * T + i) * d;
            size_t at = i == 0 ? lay->read : i == 1 ? lay->type : lay->tok;
            add_to(m->grads + at + (size_t)t[i] * d, dx, (int)d);
            add_to(m->grads + lay->pos + i * d, dx, (int)d);
        }
    }
}

static void enc_layer_back(struct iamp_model *m, struct tf_enc *e, int l, struct tf_bw *bw)
{
    const struct iamp_tf_layer *L = &TF(m)->lay.enc[l];
    struct tf_self s = enc_self_at(TF(m), e, l);
    ff_back(m, L, e->n, e->dx, TF(m)->D.d, &e->ln3[l], e->hid[l]);
    self_back(m, L, &s, e->dx, bw);
}

/* The fact projection's gradients, and the token table's from the facts. */
static void proj_back(struct iamp_model *m, struct tf_enc *e)
{
    struct tf *p = TF(m);
    int d = p->D.d, FL = p->D.FL;
    float *dt = p->dec.dt;
    linear_back(e->n, d, FL * d, e->dx, d, e->xin, FL * d, m->params + p->lay.wf,
                m->grads + p->lay.wf, m->grads + p->lay.bf, dt, FL * d, 0);
    for (int i = 0; i < e->n * FL; i++)
        add_to(m->grads + p->lay.tok + (size_t)e->tok[i] * (size_t)d, dt + (size_t)i * (size_t)d,
               d);
}

/* The encoder, layer by layer over the contexts in order. */
static void enc_back(struct iamp_model *m, struct tf_bw *bw)
{
    struct tf *p = TF(m);
    const struct iamp_tf_layout *lay = &p->lay;
    size_t d = (size_t)p->D.d;
    for (int u = 0; u < p->n_used; u++) {
        struct tf_enc *e = &p->enc[u];
        memset(e->dx, 0, (size_t)e->n * d * sizeof(float));
        ln_back(e->n, (int)d, e->dfs, (int)d, e->lnf.xh, e->lnf.rs, m->params + lay->lneg,
                m->grads + lay->lneg, m->grads + lay->lneb, e->dx, (int)d);
    }
    report(bw, p->D.enc ? lay->enc[p->D.enc - 1].start : lay->wf);
    for (int l = p->D.enc - 1; l >= 0; l--) {
        for (int u = 0; u < p->n_used; u++)
            enc_layer_back(m, &p->enc[u], l, bw);
        report(bw, l ? lay->enc[l - 1].start : lay->wf);
    }
    for (int u = 0; u < p->n_used; u++)
        proj_back(m, &p->enc[u]);
}

static void zero_backward_state(struct tf *p)
{
    size_t d = (size_t)p->D.d;
    memset(p->dec.dx, 0, (size_t)p->rows * (size_t)p->D.T * d * sizeof(float));
    for (int u = 0; u < p->n_used; u++) {
        memset(p->enc[u].dfs, 0, (size_t)p->enc[u].n * d * sizeof(float));
        memset(p->enc[u].dkv, 0, (size_t)p->enc[u].n * 2 * d * sizeof(float));
    }
}

static void tf_backward(struct iamp_model *m, const float *dlogits, const float *dvalues,
                        const float *dcont, iamp_grad_ready_cb ready, void *ctx)
{
    struct tf *p = TF(m);
    const struct iamp_tf_layout *lay = &p->lay;
    struct tf_bw bw = {ready, ctx, 0};
    int d = p->D.d;
    memset(m->grads, 0, lay->total * sizeof(float));
    if (p->rows == 0) {
        report(&bw, lay->total);
        return;
    }
    zero_backward_state(p);
    heads_back(m, dlogits, dvalues, dcont);
    report(&bw, lay->lnfg);
    ln_back(p->rows, d, p->dec.dh, d, p->dec.lnf.xh, p->dec.lnf.rs, m->params + lay->lnfg,
            m->grads + lay->lnfg, m->grads + lay->lnfb, p->dec.dx, p->D.T * d);
    report(&bw, lay->dec[p->D.dec - 1].start);
    for (int l = p->D.dec - 1; l >= 0; l--) {
        dec_layer_back(m, l, &bw);
        report(&bw, l ? lay->dec[l - 1].start : lay->read);
    }
    if (p->D.cp && m->out_hi > m->out_lo)
        copy_embed_back(m);
    dec_embed_back(m);
    report(&bw, lay->lneg);
    enc_back(m, &bw);
    report(&bw, lay->total);
}

const struct iamp_tf_layout *iamp_transformer_layout(const struct iamp_model *m)
{
    return m->ops == &iamp_transformer_ops ? &TF(m)->lay : NULL;
}

const struct iamp_model_ops iamp_transformer_ops = {
    .name = "transformer",
    .check = tf_check,
    .init = tf_init,
    .init_view = tf_init_view,
    .release = tf_release,
    .reset = tf_reset,
    .flops_per_row = tf_flops_per_row,
    .row = tf_row,
    .forward = tf_forward,
    .backward = tf_backward,
};
