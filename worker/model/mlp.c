/* mlp.c — the MLP behind M: layout, forward and backward over CBLAS.
 *
 * Row-major throughout. Forward keeps every activation of the last call so
 * backward needs only the output gradients. Backward overwrites m->grads
 * (it does not accumulate) and reports progress through the ready callback
 * in layout order (see model.h). Runs on whichever thread owns the model;
 * forward hands its fixed row blocks to the model's pool, each block
 * running every layer over its own rows (so a thread's rows stay in its
 * core's cache from layer to layer). A view (iamp_model_init_view) shares
 * the parameters and owns the rest: shards of a minibatch trained side by
 * side each run forward and backward on a view.
 */
#include "worker/model/mlp.h"

#include "common/pool.h"
#include "common/simd.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* embed 0: one-hot inputs, each slot's table is the first layer itself. */
static int one_hot(const struct iamp_model_config *c)
{
    return c->embed == 0;
}

/* Floats per row of a slot's table: E, or H for one-hot inputs. */
static size_t table_width(const struct iamp_model_config *c)
{
    return (size_t)(one_hot(c) ? c->hidden : c->embed);
}

/* Inputs of the first layer's GEMM: the concatenated embeddings (none for
 * one-hot inputs, whose first layer is a sum of table rows). */
static size_t in0_of(const struct iamp_model *m)
{
    return one_hot(&m->cfg) ? 0 : (size_t)m->n_slots * (size_t)m->cfg.embed;
}

static size_t layer_in(const struct iamp_model *m, int l)
{
    return l == 0 ? in0_of(m) : (size_t)m->cfg.hidden;
}

static int mlp_check(const struct iamp_model_config *c, char *err, size_t errlen)
{
    if (c->embed < 0 || c->hidden < 1 || c->layers < 1 || c->layers > IAMP_LAYERS_MAX ||
        (c->pair != 0 && c->pair != 1)) {
        snprintf(err, errlen, "mlp: embed, hidden or layers out of range");
        return IAMP_EINVAL;
    }
    if (c->pair && (c->q_len < 2 || iamp_model_pair_rows(c) > IAMP_PAIR_ROWS_MAX)) {
        snprintf(err, errlen, "mlp: a pair slot needs two question tokens and at most 2^20 pairs");
        return IAMP_EINVAL;
    }
    return 0;
}

/* The last-token slot exists when answers can be longer than a token. */
static int has_last_slot(const struct iamp_model_config *c)
{
    return c->a_len > 1;
}

/* type, question tokens, answer prefix, last token, step, pair */
static int n_slots_of(const struct iamp_model_config *c)
{
    return 1 + c->q_len + (c->a_len - 1) + has_last_slot(c) + 1 + c->pair;
}

static void layout_params(struct iamp_model *m)
{
    const struct iamp_model_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, V = (size_t)c->vocab, off = 0;
    struct iamp_mlp_layout *lay = &IAMP_MLP(m)->lay;
    size_t C = c->cont ? IAMP_CONT_OUTPUTS : 0;
    lay->wc = off, off += C * H;
    lay->bc = off, off += C;
    lay->wv = off, off += H;
    lay->bv = off, off += 1;
    lay->wo = off, off += V * H;
    lay->bo = off, off += V;
    for (int l = c->layers - 1; l >= 0; l--) {
        lay->w[l] = off, off += H * layer_in(m, l);
        lay->b[l] = off, off += H;
    }
    lay->emb = off;
    int rows = 0;
    for (int s = 0; s < m->n_slots; s++)
        rows += IAMP_MLP(m)->slot_rows[s];
    off += (size_t)rows * table_width(c);
    lay->total = off;
}

static int mlp_init(struct iamp_model *m)
{
    const struct iamp_model_config *cfg = &m->cfg;
    struct iamp_mlp *p = calloc(1, sizeof(*p));
    if (!p)
        return IAMP_ENOMEM;
    m->impl = p;
    m->n_slots = n_slots_of(cfg);
    p->slot_base = calloc((size_t)m->n_slots, sizeof(int));
    p->slot_rows = calloc((size_t)m->n_slots, sizeof(int));
    if (!p->slot_base || !p->slot_rows)
        return IAMP_ENOMEM;
    int base = 0;
    for (int s = 0; s < m->n_slots; s++) {
        int rows = cfg->vocab + 1; /* tokens and PAD */
        int step_slot = m->n_slots - 1 - cfg->pair;
        if (s == 0)
            rows = cfg->n_types;
        else if (s == step_slot)
            rows = cfg->a_len;
        else if (s > step_slot)
            rows = (int)iamp_model_pair_rows(cfg);
        p->slot_base[s] = base;
        p->slot_rows[s] = rows;
        base += rows;
    }
    layout_params(m);
    m->n_params = p->lay.total;
    return 0;
}

static void free_activations(struct iamp_mlp *p)
{
    free(p->in);
    free(p->x0);
    for (int l = 0; l < IAMP_LAYERS_MAX; l++) {
        free(p->act[l]);
        p->act[l] = NULL;
    }
    free(p->scratch_a);
    free(p->scratch_b);
    p->in = NULL;
    p->x0 = p->scratch_a = p->scratch_b = NULL;
    p->cap_rows = 0;
}

static void mlp_release(struct iamp_model *m)
{
    struct iamp_mlp *p = m->impl;
    if (!p)
        return;
    free_activations(p);
    if (!m->base) {
        free(p->slot_base);
        free(p->slot_rows);
    }
    free(p);
    m->impl = NULL;
}

static int mlp_init_view(struct iamp_model *v)
{
    const struct iamp_mlp *b = v->base->impl;
    struct iamp_mlp *p = calloc(1, sizeof(*p));
    if (!p)
        return IAMP_ENOMEM;
    p->lay = b->lay;
    p->slot_base = b->slot_base;
    p->slot_rows = b->slot_rows;
    v->impl = p;
    return 0;
}

static int ensure_rows(struct iamp_model *m, int rows)
{
    struct iamp_mlp *p = m->impl;
    if (rows <= p->cap_rows)
        return 0;
    free_activations(p);
    size_t R = (size_t)rows, H = (size_t)m->cfg.hidden, in0 = in0_of(m);
    size_t wide = in0 > H ? in0 : H;
    p->in = malloc(R * (size_t)m->n_slots * sizeof(int32_t));
    p->x0 = iamp_model_alloc_floats(R * (in0 ? in0 : 1));
    p->scratch_a = iamp_model_alloc_floats(R * wide);
    p->scratch_b = iamp_model_alloc_floats(R * wide);
    int ok = p->in && p->x0 && p->scratch_a && p->scratch_b;
    for (int l = 0; l < m->cfg.layers; l++) {
        p->act[l] = iamp_model_alloc_floats(R * H);
        ok = ok && p->act[l];
    }
    if (!ok) {
        free_activations(p);
        return IAMP_ENOMEM;
    }
    p->cap_rows = rows;
    return 0;
}

static void fill_uniform(float *w, size_t n, double bound, struct iamp_rng *r)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((2.0 * iamp_rng_uniform(r) - 1.0) * bound);
}

static void mlp_reset(struct iamp_model *m, struct iamp_rng *r)
{
    const struct iamp_model_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, V = (size_t)c->vocab;
    memset(m->params, 0, IAMP_MLP(m)->lay.total * sizeof(float));
    for (int l = 0; l < c->layers; l++) {
        size_t in = layer_in(m, l);
        if (in > 0)
            fill_uniform(m->params + IAMP_MLP(m)->lay.w[l], H * in, sqrt(6.0 / (double)in), r);
    }
    fill_uniform(m->params + IAMP_MLP(m)->lay.wo, V * H, sqrt(1.0 / (double)H), r);
    fill_uniform(m->params + IAMP_MLP(m)->lay.wv, H, sqrt(1.0 / (double)H), r);
    /* One-hot inputs: a row is the sum of S table rows, each drawn with
     * variance 1/S so that the sum's has 1, as with embeddings. */
    double scale = one_hot(c) ? sqrt(1.0 / m->n_slots) : 1.0;
    for (size_t i = IAMP_MLP(m)->lay.emb; i < IAMP_MLP(m)->lay.total; i++)
        m->params[i] = (float)(scale * iamp_rng_normal(r));
    /* Drawn last, so the draws above are those of a model without it. */
    if (c->cont)
        fill_uniform(m->params + IAMP_MLP(m)->lay.wc, IAMP_CONT_OUTPUTS * H, sqrt(1.0 / (double)H),
                     r);
    /* Sequence models: the answer-side slots (prefix, last token, step)
     * start at zero, so a position training has not reached yet adds
     * nothing to a row rather than noise (a curriculum that lengthens the
     * answers would otherwise shock every row at each new length). */
    if (c->a_len > 1) {
        int first = 1 + c->q_len;
        size_t lo = IAMP_MLP(m)->lay.emb + (size_t)IAMP_MLP(m)->slot_base[first] * table_width(c);
        memset(m->params + lo, 0, (IAMP_MLP(m)->lay.total - lo) * sizeof(float));
    }
    if (c->pair) {
        int s = m->n_slots - 1;
        size_t lo = IAMP_MLP(m)->lay.emb + (size_t)IAMP_MLP(m)->slot_base[s] * table_width(c);
        memset(m->params + lo, 0,
               (size_t)IAMP_MLP(m)->slot_rows[s] * table_width(c) * sizeof(float));
    }
}

static double mlp_flops_per_row(const struct iamp_model_config *c, int facts, int rows_per_ctx)
{
    (void)facts;
    (void)rows_per_ctx;
    double S = n_slots_of(c);
    double in0 = S * c->embed, H = c->hidden; /* one-hot: adds only, not counted */
    double f = in0 * H + (c->layers - 1) * H * H + H * c->vocab + H;
    f += c->cont ? IAMP_CONT_OUTPUTS * H : 0;
    return 2.0 * f;
}

static void mlp_row(const struct iamp_model *m, int type, const uint16_t *q, int q_len,
                    const uint16_t *prefix, int step, int ctx, int32_t *in)
{
    (void)ctx; /* the MLP reads no facts */
    const struct iamp_model_config *c = &m->cfg;
    int s = 0;
    in[s++] = type;
    for (int i = 0; i < c->q_len; i++)
        in[s++] = i < q_len ? q[i] : c->vocab;
    for (int i = 0; i < c->a_len - 1; i++)
        in[s++] = i < step ? prefix[i] : c->vocab;
    if (has_last_slot(c))
        in[s++] = step > 0 ? prefix[step - 1] : c->vocab;
    in[s++] = step;
    if (c->pair)
        in[s] = (q_len >= 2 ? q[0] : c->vocab) * (c->vocab + 1) + (q_len >= 2 ? q[1] : c->vocab);
}

/* y[r * stride + j] += b[j] for j < n. */
/* y = max(y, 0), and ReLU's backward d = act > 0 ? d : 0. */
IAMP_VECTOR_CLONES static void relu(float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

IAMP_VECTOR_CLONES static void relu_mask(float *restrict d, const float *restrict act, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = act[i] > 0.0f ? d[i] : 0.0f;
}

IAMP_VECTOR_CLONES static void add_bias(float *y, const float *b, int rows, int n, int stride)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
            y[(size_t)r * stride + j] += b[j];
}

/* The token of slot s in an input row, kept inside its table. */
static int slot_token(const struct iamp_model *m, const int32_t *row, size_t s)
{
    int tok = row[s];
    return tok < 0 || tok >= IAMP_MLP(m)->slot_rows[s] ? 0 : tok; /* callers validate */
}

/* One-hot inputs: z = b + the sum over slots of their table rows. */
IAMP_VECTOR_CLONES static void sum_tables(struct iamp_model *m, const int32_t *in, int rows,
                                          float *z)
{
    size_t H = (size_t)m->cfg.hidden, S = (size_t)m->n_slots;
    const float *tab = m->params + IAMP_MLP(m)->lay.emb, *b = m->params + IAMP_MLP(m)->lay.b[0];
    for (int r = 0; r < rows; r++) {
        float *restrict dst = z + (size_t)r * H;
        memcpy(dst, b, H * sizeof(float));
        for (size_t s = 0; s < S; s++) {
            const float *restrict src =
                tab +
                (size_t)(IAMP_MLP(m)->slot_base[s] + slot_token(m, in + (size_t)r * S, s)) * H;
            for (size_t j = 0; j < H; j++)
                dst[j] += src[j];
        }
    }
}

static void gather_embeddings(struct iamp_model *m, const int32_t *in, int rows, float *x0)
{
    size_t E = (size_t)m->cfg.embed, S = (size_t)m->n_slots;
    const float *emb = m->params + IAMP_MLP(m)->lay.emb;
    for (int r = 0; r < rows; r++) {
        float *dst = x0 + (size_t)r * S * E;
        for (size_t s = 0; s < S; s++) {
            int tok = in[(size_t)r * S + s];
            if (tok < 0 || tok >= IAMP_MLP(m)->slot_rows[s])
                tok = 0; /* callers validate; never read outside the table */
            memcpy(dst + s * E, emb + (size_t)(IAMP_MLP(m)->slot_base[s] + tok) * E,
                   E * sizeof(float));
        }
    }
}

/* Forward rows [r0, r0 + rows) of the call's input (m->in) into the same
 * rows of the activation buffers; logit columns [m->out_lo, out_hi). */
static void forward_block(struct iamp_model *m, int r0, int rows)
{
    const struct iamp_model_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, V = (size_t)c->vocab, R0 = (size_t)r0;
    size_t in0 = in0_of(m), S = (size_t)m->n_slots;
    int lo = m->out_lo, hi = m->out_hi;
    const int32_t *in = IAMP_MLP(m)->in + R0 * S;
    if (!one_hot(c))
        gather_embeddings(m, in, rows, IAMP_MLP(m)->x0 + R0 * in0);
    const float *a = IAMP_MLP(m)->x0 + R0 * in0;
    for (int l = 0; l < c->layers; l++) {
        int in_l = (int)layer_in(m, l);
        float *z = IAMP_MLP(m)->act[l] + R0 * H;
        if (in_l == 0) {
            sum_tables(m, in, rows, z);
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)H, in_l, 1.0f, a, in_l,
                        m->params + IAMP_MLP(m)->lay.w[l], in_l, 0.0f, z, (int)H);
            add_bias(z, m->params + IAMP_MLP(m)->lay.b[l], rows, (int)H, (int)H);
        }
        relu(z, (size_t)rows * H);
        a = z;
    }
    float *logits = m->logits + R0 * V;
    if (hi > lo) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, hi - lo, (int)H, 1.0f, a, (int)H,
                    m->params + IAMP_MLP(m)->lay.wo + (size_t)lo * H, (int)H, 0.0f, logits + lo,
                    (int)V);
        add_bias(logits + lo, m->params + IAMP_MLP(m)->lay.bo + lo, rows, hi - lo, (int)V);
    }
    float *values = m->values + R0;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, (int)H, 1.0f, a, (int)H,
                m->params + IAMP_MLP(m)->lay.wv, 1, 0.0f, values, 1);
    float bv = m->params[IAMP_MLP(m)->lay.bv];
    for (int r = 0; r < rows; r++)
        values[r] += bv;
    if (c->cont) {
        float *cont = m->cont + R0 * IAMP_CONT_OUTPUTS;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, IAMP_CONT_OUTPUTS, (int)H, 1.0f,
                    a, (int)H, m->params + IAMP_MLP(m)->lay.wc, (int)H, 0.0f, cont,
                    IAMP_CONT_OUTPUTS);
        add_bias(cont, m->params + IAMP_MLP(m)->lay.bc, rows, IAMP_CONT_OUTPUTS, IAMP_CONT_OUTPUTS);
    }
}

/* Blocks of a forward over rows: rows / IAMP_MODEL_BLOCK_ROWS rounded to
 * the nearest (at least one), block k holding rows [rows * k / B,
 * rows * (k + 1) / B). */
static int blocks_for(int rows)
{
    int b = (rows + IAMP_MODEL_BLOCK_ROWS / 2) / IAMP_MODEL_BLOCK_ROWS;
    return b < 1 ? 1 : b;
}

static void forward_block_cb(void *ctx, int k, int thread)
{
    struct iamp_model *m = ctx;
    int b = blocks_for(m->rows);
    int r0 = (int)((long)m->rows * k / b), r1 = (int)((long)m->rows * (k + 1) / b);
    (void)thread;
    forward_block(m, r0, r1 - r0);
}

static int mlp_forward(struct iamp_model *m, const struct iamp_model_batch *b)
{
    int rc = ensure_rows(m, b->rows > 0 ? b->rows : 1);
    if (rc || b->rows == 0)
        return rc;
    memcpy(IAMP_MLP(m)->in, b->in, (size_t)b->rows * (size_t)m->n_slots * sizeof(int32_t));
    iamp_pool_run(m->pool, blocks_for(b->rows), forward_block_cb, m);
    return 0;
}

/* out[j] = sum over rows of x[r * stride + j], j < n. */
IAMP_VECTOR_CLONES static void col_sums(const float *x, int rows, int n, int stride, float *out)
{
    memset(out, 0, (size_t)n * sizeof(float));
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
            out[j] += x[(size_t)r * stride + j];
}

/* The continuous head's gradients; adds its share of dL/dA_last to da. */
static void backward_cont(struct iamp_model *m, const float *dcont, float *da)
{
    int R = m->rows, H = m->cfg.hidden, C = IAMP_CONT_OUTPUTS;
    const float *a = IAMP_MLP(m)->act[m->cfg.layers - 1];
    float *g = m->grads;
    memset(g + IAMP_MLP(m)->lay.wc, 0, (size_t)(C * H + C) * sizeof(float));
    if (!dcont)
        return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, H, R, 1.0f, dcont, C, a, H, 0.0f,
                g + IAMP_MLP(m)->lay.wc, H);
    col_sums(dcont, R, C, C, g + IAMP_MLP(m)->lay.bc);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, H, C, 1.0f, dcont, C,
                m->params + IAMP_MLP(m)->lay.wc, H, 1.0f, da, H);
}

/* Gradients of the heads; leaves dL/dA_last in IAMP_MLP(m)->scratch_a. */
static void backward_heads(struct iamp_model *m, const float *dlogits, const float *dvalues,
                           const float *dcont)
{
    int R = m->rows, H = m->cfg.hidden, V = m->cfg.vocab;
    const float *a = IAMP_MLP(m)->act[m->cfg.layers - 1];
    float *g = m->grads;
    memset(g + IAMP_MLP(m)->lay.wv, 0, (size_t)(H + 1) * sizeof(float));
    if (dvalues) {
        cblas_sgemv(CblasRowMajor, CblasTrans, R, H, 1.0f, a, H, dvalues, 1, 0.0f,
                    g + IAMP_MLP(m)->lay.wv, 1);
        float s = 0.0f;
        for (int r = 0; r < R; r++)
            s += dvalues[r];
        g[IAMP_MLP(m)->lay.bv] = s;
    }
    /* Only the logit columns the forward computed [lo, hi) have gradient. */
    int lo = m->out_lo, n = m->out_hi - m->out_lo;
    float *da = IAMP_MLP(m)->scratch_a;
    memset(g + IAMP_MLP(m)->lay.wo, 0,
           (size_t)V * (size_t)(H + 1) * sizeof(float)); /* wo, then bo */
    if (n > 0) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, H, R, 1.0f, dlogits + lo, V, a, H,
                    0.0f, g + IAMP_MLP(m)->lay.wo + (size_t)lo * H, H);
        col_sums(dlogits + lo, R, n, V, g + IAMP_MLP(m)->lay.bo + lo);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, H, n, 1.0f, dlogits + lo, V,
                    m->params + IAMP_MLP(m)->lay.wo + (size_t)lo * H, H, 0.0f, da, H);
    } else {
        memset(da, 0, (size_t)R * (size_t)H * sizeof(float));
    }
    if (dvalues)
        cblas_sger(CblasRowMajor, R, H, 1.0f, dvalues, 1, m->params + IAMP_MLP(m)->lay.wv, 1, da,
                   H);
    if (m->cfg.cont)
        backward_cont(m, dcont, da);
}

/* Table gradients from dL/dx0 (rows x S*E), or for one-hot inputs from
 * dL/dz of the first layer (rows x H), which every slot's row receives. */
IAMP_VECTOR_CLONES static void scatter_embeddings(struct iamp_model *m, const float *dx)
{
    size_t W = table_width(&m->cfg), S = (size_t)m->n_slots;
    size_t slot_step = one_hot(&m->cfg) ? 0 : W, row_step = one_hot(&m->cfg) ? W : S * W;
    float *gemb = m->grads + IAMP_MLP(m)->lay.emb;
    memset(gemb, 0, (IAMP_MLP(m)->lay.total - IAMP_MLP(m)->lay.emb) * sizeof(float));
    for (int r = 0; r < m->rows; r++) {
        for (size_t s = 0; s < S; s++) {
            float *restrict dst =
                gemb + (size_t)(IAMP_MLP(m)->slot_base[s] +
                                slot_token(m, IAMP_MLP(m)->in + (size_t)r * S, s)) *
                           W;
            const float *restrict src = dx + (size_t)r * row_step + s * slot_step;
            for (size_t e = 0; e < W; e++)
                dst[e] += src[e];
        }
    }
}

/* With a ready callback (a gradient reduction in flight), the big GEMMs
 * run in IAMP_POLL_SPLIT pieces and the callback is called between them
 * with unchanged progress: non-blocking collectives only move forward
 * inside MPI calls, so these calls are what lets communication overlap
 * the rest of backward. */
#define IAMP_POLL_SPLIT 8

static void poll_ready(iamp_grad_ready_cb ready, void *ctx, size_t done)
{
    if (ready)
        ready(ctx, done);
}

/* dW (H x in) = dZ^T (H x R) A (R x in), in row blocks of dW. */
static void weight_grad(int R, int H, int in, const float *dz, const float *a, float *dw,
                        iamp_grad_ready_cb ready, void *ctx, size_t done)
{
    int step = ready ? (H + IAMP_POLL_SPLIT - 1) / IAMP_POLL_SPLIT : H;
    for (int h = 0; h < H; h += step) {
        int hb = H - h < step ? H - h : step;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hb, in, R, 1.0f, dz + h, H, a, in,
                    0.0f, dw + (size_t)h * (size_t)in, in);
        poll_ready(ready, ctx, done);
    }
}

/* dprev (R x in) = dZ (R x H) W (H x in), in row blocks of dprev. */
static void input_grad(int R, int H, int in, const float *dz, const float *w, float *dprev,
                       iamp_grad_ready_cb ready, void *ctx, size_t done)
{
    int step = ready ? (R + IAMP_POLL_SPLIT - 1) / IAMP_POLL_SPLIT : R;
    for (int r = 0; r < R; r += step) {
        int rb = R - r < step ? R - r : step;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rb, in, H, 1.0f,
                    dz + (size_t)r * (size_t)H, H, w, in, 0.0f, dprev + (size_t)r * (size_t)in, in);
        poll_ready(ready, ctx, done);
    }
}

static void mlp_backward(struct iamp_model *m, const float *dlogits, const float *dvalues,
                         const float *dcont, iamp_grad_ready_cb ready, void *ctx)
{
    int R = m->rows, H = m->cfg.hidden, L = m->cfg.layers;
    if (R == 0) {
        memset(m->grads, 0, IAMP_MLP(m)->lay.total * sizeof(float));
        poll_ready(ready, ctx, IAMP_MLP(m)->lay.total);
        return;
    }
    backward_heads(m, dlogits, dvalues, dcont);
    size_t done = IAMP_MLP(m)->lay.w[L - 1];
    poll_ready(ready, ctx, done);
    float *da = IAMP_MLP(m)->scratch_a, *dprev = IAMP_MLP(m)->scratch_b;
    for (int l = L - 1; l >= 0; l--) {
        int in_l = (int)layer_in(m, l);
        const float *act = IAMP_MLP(m)->act[l];
        relu_mask(da, act, (size_t)R * (size_t)H);
        const float *a_in = l == 0 ? IAMP_MLP(m)->x0 : IAMP_MLP(m)->act[l - 1];
        if (in_l > 0)
            weight_grad(R, H, in_l, da, a_in, m->grads + IAMP_MLP(m)->lay.w[l], ready, ctx, done);
        col_sums(da, R, H, H, m->grads + IAMP_MLP(m)->lay.b[l]);
        done = l == 0 ? IAMP_MLP(m)->lay.emb : IAMP_MLP(m)->lay.w[l - 1];
        poll_ready(ready, ctx, done);
        if (in_l == 0)
            break; /* one-hot inputs: da is dL/dz of the tables' sum */
        input_grad(R, H, in_l, da, m->params + IAMP_MLP(m)->lay.w[l], dprev, ready, ctx, done);
        float *t = da;
        da = dprev;
        dprev = t;
    }
    scatter_embeddings(m, da);
    poll_ready(ready, ctx, IAMP_MLP(m)->lay.total);
}

const struct iamp_mlp *iamp_mlp_of(const struct iamp_model *m)
{
    return m->ops == &iamp_mlp_ops ? m->impl : NULL;
}

const struct iamp_model_ops iamp_mlp_ops = {
    .name = "mlp",
    .check = mlp_check,
    .init = mlp_init,
    .init_view = mlp_init_view,
    .release = mlp_release,
    .reset = mlp_reset,
    .flops_per_row = mlp_flops_per_row,
    .row = mlp_row,
    .forward = mlp_forward,
    .backward = mlp_backward,
};
