/* test_model.c — M's gradients against central finite differences, batch
 * forward against per-row forwards, the backward progress contract, and
 * forward's blocks on a pool. */
#include "worker/model/mlp.h"

#include "common/pool.h"
#include "worker/policy.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 6

static const struct iamp_model_config small = {
    .vocab = 7, .n_types = 2, .q_len = 2, .a_len = 3, .embed = 3, .hidden = 5, .layers = 2};

struct fixture {
    struct iamp_model m;
    struct iamp_rows rows;
    float weights[ROWS];
    float vtarget[ROWS];
};

static void setup(struct fixture *f, const struct iamp_model_config *cfg)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 42, 1);
    cr_assert_eq(iamp_model_init(&f->m, cfg), 0);
    iamp_model_reset(&f->m, &r);
    /* Every slot's embeddings drawn (a sequence model starts its answer
     * slots at zero), and non-zero biases, so every gradient is exercised
     * away from zero. */
    for (size_t i = IAMP_MLP(&f->m)->lay.emb; i < f->m.n_params; i++)
        f->m.params[i] = (float)iamp_rng_normal(&r);
    for (size_t i = 0; i < f->m.n_params; i++)
        f->m.params[i] += 0.05f * (float)iamp_rng_normal(&r);
    iamp_rows_init(&f->rows);
    f->rows.n = 0;
    f->rows.cap = 0;
    f->rows.n_slots = f->m.n_slots;
    f->rows.in = calloc((size_t)ROWS * (size_t)f->m.n_slots, sizeof(int32_t));
    f->rows.lo = calloc(ROWS, sizeof(uint16_t));
    f->rows.hi = calloc(ROWS, sizeof(uint16_t));
    f->rows.target = calloc(ROWS, sizeof(int32_t));
    f->rows.example = calloc(ROWS, sizeof(int32_t));
    for (int rr = 0; rr < ROWS; rr++) {
        uint16_t q[2] = {(uint16_t)iamp_rng_below(&r, 7), (uint16_t)iamp_rng_below(&r, 7)};
        uint16_t prefix[3] = {(uint16_t)iamp_rng_below(&r, 7), (uint16_t)iamp_rng_below(&r, 7), 0};
        int step = rr % cfg->a_len;
        iamp_model_row(&f->m, rr % 2, q, 2, prefix, step, -1, f->rows.in + rr * f->m.n_slots);
        f->rows.lo[rr] = 1;
        f->rows.hi[rr] = 6;
        f->rows.target[rr] = 1 + (int)iamp_rng_below(&r, 5);
        f->rows.example[rr] = rr;
        f->weights[rr] = 0.5f + (float)rr / ROWS;
        f->vtarget[rr] = (float)iamp_rng_normal(&r);
    }
    f->rows.n = ROWS;
}

static void teardown(struct fixture *f)
{
    iamp_rows_release(&f->rows);
    iamp_model_release(&f->m);
}

/* Loss = weighted cross-entropy + sum of squared value errors; fills
 * m.grads when grad is set. */
static double loss_of(struct fixture *f, int grad)
{
    cr_assert_eq(iamp_model_forward(&f->m, f->rows.in, ROWS), 0);
    float dlogits[ROWS * 7], dvalues[ROWS];
    double l = iamp_loss_xent(&f->m, &f->rows, f->weights, 1.0f, dlogits);
    for (int r = 0; r < ROWS; r++) {
        double e = (double)f->m.values[r] - f->vtarget[r];
        l += e * e;
        dvalues[r] = (float)(2.0 * e);
    }
    if (grad)
        iamp_model_backward(&f->m, dlogits, dvalues, NULL, NULL, NULL);
    return l;
}

/* Compare analytic and numeric gradients over params[off, off+n). */
static void check_group(struct fixture *f, const char *name, size_t off, size_t n)
{
    float *analytic = malloc(f->m.n_params * sizeof(float));
    loss_of(f, 1);
    memcpy(analytic, f->m.grads, f->m.n_params * sizeof(float));
    /* Small enough not to cross a ReLU kink of this fixture's units (1e-2
     * did once the a_len > 1 model got its last-token slot). */
    const float eps = 1e-3f;
    size_t bad = 0;
    double worst = 0.0;
    for (size_t i = off; i < off + n; i++) {
        float keep = f->m.params[i];
        f->m.params[i] = keep + eps;
        double lp = loss_of(f, 0);
        f->m.params[i] = keep - eps;
        double lm = loss_of(f, 0);
        f->m.params[i] = keep;
        double num = (lp - lm) / (2.0 * eps);
        double err = fabs(num - analytic[i]);
        if (err > 2e-3 + 2e-2 * fabs(num))
            bad++;
        worst = err > worst ? err : worst;
    }
    free(analytic);
    cr_assert_eq(bad, 0, "%s: %zu of %zu gradients disagree (worst abs error %g)", name, bad, n,
                 worst);
}

Test(model, every_parameter_group_matches_finite_differences, .timeout = 30)
{
    struct fixture f;
    setup(&f, &small);
    const struct iamp_mlp_layout *L = &IAMP_MLP(&f.m)->lay;
    size_t H = 5, V = 7;
    check_group(&f, "value head weights", L->wv, H);
    check_group(&f, "value head bias", L->bv, 1);
    check_group(&f, "token head weights", L->wo, V * H);
    check_group(&f, "token head bias", L->bo, V);
    check_group(&f, "layer 1 weights", L->w[1], H * H);
    check_group(&f, "layer 1 bias", L->b[1], H);
    check_group(&f, "layer 0 weights", L->w[0], H * (size_t)f.m.n_slots * 3);
    check_group(&f, "layer 0 bias", L->b[0], H);
    check_group(&f, "embeddings", L->emb, L->total - L->emb);
    teardown(&f);
}

Test(model, one_hidden_layer_gradients_match_finite_differences, .timeout = 30)
{
    struct iamp_model_config one = small;
    one.layers = 1;
    struct fixture f;
    setup(&f, &one);
    check_group(&f, "all parameters", 0, f.m.n_params);
    teardown(&f);
}

/* embed 0: one-hot inputs, every slot's table a row of the first layer. */
Test(model, one_hot_input_gradients_match_finite_differences, .timeout = 30)
{
    struct iamp_model_config oh = small;
    oh.embed = 0;
    struct fixture f;
    setup(&f, &oh);
    const struct iamp_mlp_layout *L = &IAMP_MLP(&f.m)->lay;
    cr_assert_eq(L->b[0] - L->w[0], 0, "no first-layer weight matrix");
    cr_assert_eq(L->total - L->emb, (size_t)5 * (2 + 8 + 8 + 8 + 8 + 8 + 3),
                 "type, two question tokens, two prefix tokens, the last token, step: H wide");
    check_group(&f, "layer 1 weights", L->w[1], 25);
    check_group(&f, "layer 0 bias", L->b[0], 5);
    check_group(&f, "tables", L->emb, L->total - L->emb);
    teardown(&f);
    oh.layers = 1;
    setup(&f, &oh);
    check_group(&f, "all parameters, one layer", 0, f.m.n_params);
    teardown(&f);
}

Test(model, batch_forward_equals_per_row_forwards, .timeout = 30)
{
    struct fixture f;
    setup(&f, &small);
    cr_assert_eq(iamp_model_forward(&f.m, f.rows.in, ROWS), 0);
    float logits[ROWS * 7], values[ROWS];
    memcpy(logits, f.m.logits, sizeof(logits));
    memcpy(values, f.m.values, sizeof(values));
    for (int r = 0; r < ROWS; r++) {
        cr_assert_eq(iamp_model_forward(&f.m, f.rows.in + r * f.m.n_slots, 1), 0);
        for (int v = 0; v < 7; v++)
            cr_assert_float_eq(f.m.logits[v], logits[r * 7 + v], 1e-5, "row %d token %d", r, v);
        cr_assert_float_eq(f.m.values[0], values[r], 1e-5, "row %d value", r);
    }
    teardown(&f);
}

/* Logits [1, 6) (every row's answer range) by a forward of those columns
 * alone equal the full forward's, and so do every gradient (the loss sees
 * nothing outside the range), the token head's other rows having zero. */
Test(model, forward_of_the_answer_columns_matches_the_full_forward, .timeout = 30)
{
    struct fixture f;
    setup(&f, &small);
    size_t P = f.m.n_params;
    float full_logits[ROWS * 7], dlogits[ROWS * 7];
    float *full_grads = malloc(P * sizeof(float));
    cr_assert_eq(iamp_model_forward(&f.m, f.rows.in, ROWS), 0);
    memcpy(full_logits, f.m.logits, sizeof(full_logits));
    iamp_loss_xent(&f.m, &f.rows, f.weights, 1.0f, dlogits);
    iamp_model_backward(&f.m, dlogits, NULL, NULL, NULL, NULL);
    memcpy(full_grads, f.m.grads, P * sizeof(float));
    memset(f.m.logits, 0x7f, (size_t)ROWS * 7 * sizeof(float)); /* stale values would show */
    cr_assert_eq(iamp_model_forward_cols(&f.m, f.rows.in, ROWS, 1, 6), 0);
    for (int r = 0; r < ROWS; r++)
        for (int v = 1; v < 6; v++)
            cr_assert_float_eq(f.m.logits[r * 7 + v], full_logits[r * 7 + v], 1e-5,
                               "row %d token %d", r, v);
    iamp_loss_xent(&f.m, &f.rows, f.weights, 1.0f, dlogits);
    memset(f.m.grads, 0x7f, P * sizeof(float));
    iamp_model_backward(&f.m, dlogits, NULL, NULL, NULL, NULL);
    for (size_t i = 0; i < P; i++)
        cr_assert_float_eq(f.m.grads[i], full_grads[i], 1e-5, "gradient %zu", i);
    cr_assert_eq(iamp_model_forward_cols(&f.m, f.rows.in, ROWS, 0, 0), 0, "values alone");
    cr_assert_neq(iamp_model_forward_cols(&f.m, f.rows.in, ROWS, 5, 8), 0, "past the vocabulary");
    free(full_grads);
    teardown(&f);
}

struct progress {
    size_t last;
    int calls, monotone;
};

static void ready_cb(void *ctx, size_t done)
{
    struct progress *p = ctx;
    p->monotone &= done >= p->last;
    p->last = done;
    p->calls++;
}

Test(model, gradients_are_the_same_with_a_ready_callback, .timeout = 30)
{
    /* The polled backward computes the big GEMMs in pieces; the result must
     * not change. */
    struct fixture f;
    setup(&f, &small);
    cr_assert_eq(iamp_model_forward(&f.m, f.rows.in, ROWS), 0);
    float dlogits[ROWS * 7];
    iamp_loss_xent(&f.m, &f.rows, NULL, 1.0f, dlogits);
    iamp_model_backward(&f.m, dlogits, NULL, NULL, NULL, NULL);
    float *plain = malloc(f.m.n_params * sizeof(float));
    memcpy(plain, f.m.grads, f.m.n_params * sizeof(float));
    struct progress p = {0, 0, 1};
    iamp_model_backward(&f.m, dlogits, NULL, NULL, ready_cb, &p);
    for (size_t i = 0; i < f.m.n_params; i++)
        cr_assert_float_eq(f.m.grads[i], plain[i], 1e-6, "parameter %zu", i);
    free(plain);
    teardown(&f);
}

Test(model, backward_reports_growing_prefix_ending_at_total, .timeout = 30)
{
    struct fixture f;
    setup(&f, &small);
    cr_assert_eq(iamp_model_forward(&f.m, f.rows.in, ROWS), 0);
    float dlogits[ROWS * 7];
    iamp_loss_xent(&f.m, &f.rows, NULL, 1.0f, dlogits);
    struct progress p = {0, 0, 1};
    iamp_model_backward(&f.m, dlogits, NULL, NULL, ready_cb, &p);
    cr_assert(p.monotone, "progress must never shrink");
    cr_assert_gt(p.calls, small.layers + 2, "polled between GEMM pieces too");
    cr_assert_eq(p.last, f.m.n_params);
    teardown(&f);
}

Test(model, checksum_changes_with_any_parameter, .timeout = 10)
{
    struct fixture f;
    setup(&f, &small);
    uint64_t a = iamp_model_checksum(&f.m);
    f.m.params[f.m.n_params - 1] += 1.0f;
    cr_assert_neq(a, iamp_model_checksum(&f.m));
    teardown(&f);
}

Test(model, rejects_bad_config, .timeout = 10)
{
    struct iamp_model m;
    struct iamp_model_config c = small;
    c.layers = 0;
    cr_assert_eq(iamp_model_init(&m, &c), IAMP_EINVAL);
    c = small;
    c.vocab = 1;
    cr_assert_eq(iamp_model_init(&m, &c), IAMP_EINVAL);
}

Test(model, a_model_without_the_continuous_head_keeps_its_layout, .timeout = 10)
{
    struct iamp_model_config c = small;
    struct iamp_model a, b;
    c.a_len = 1;
    cr_assert_eq(iamp_model_init(&a, &c), 0);
    cr_assert_eq(IAMP_MLP(&a)->lay.wv, 0, "value head first, as before the head existed");
    cr_assert_eq(IAMP_MLP(&a)->lay.wc, 0);
    cr_assert_eq(IAMP_MLP(&a)->lay.bc, 0);
    cr_assert_eq(a.n_slots, 1 + 2 + 0 + 1, "no prefix or last-token slot for one-token answers");
    c.cont = 1;
    cr_assert_eq(iamp_model_init(&b, &c), 0);
    cr_assert_eq(IAMP_MLP(&b)->lay.wc, 0,
                 "the continuous head comes first: backward finishes it with the rest");
    cr_assert_eq(IAMP_MLP(&b)->lay.wv, (size_t)IAMP_CONT_OUTPUTS * 5 + IAMP_CONT_OUTPUTS);
    cr_assert_eq(b.n_params, a.n_params + (size_t)IAMP_CONT_OUTPUTS * 6);
    c.cont = 2;
    struct iamp_model bad;
    cr_assert_eq(iamp_model_init(&bad, &c), IAMP_EINVAL);
    iamp_model_release(&a);
    iamp_model_release(&b);
}

Test(model, sequence_models_read_the_last_token, .timeout = 10)
{
    struct iamp_model m;
    cr_assert_eq(iamp_model_init(&m, &small), 0);
    cr_assert_eq(m.n_slots, 1 + 2 + 2 + 1 + 1);
    uint16_t q[2] = {1, 2}, prefix[2] = {4, 6};
    int32_t in[7];
    iamp_model_row(&m, 1, q, 2, prefix, 0, -1, in);
    cr_assert_eq(in[5], 7, "PAD before the first token");
    cr_assert_eq(in[6], 0);
    iamp_model_row(&m, 1, q, 2, prefix, 2, -1, in);
    cr_assert(in[3] == 4 && in[4] == 6 && in[5] == 6 && in[6] == 2);
    /* Answer-side slots (prefix, last token, step) start at zero; the
     * question's are drawn. */
    struct iamp_rng r;
    iamp_rng_seed(&r, 1, 0);
    iamp_model_reset(&m, &r);
    size_t answer_side =
        IAMP_MLP(&m)->lay.emb + (size_t)IAMP_MLP(&m)->slot_base[3] * (size_t)small.embed;
    int zeros = 0, drawn = 0;
    for (size_t i = IAMP_MLP(&m)->lay.emb; i < m.n_params; i++) {
        zeros += i >= answer_side && m.params[i] == 0.0f;
        drawn += i < answer_side && m.params[i] != 0.0f;
    }
    cr_assert_eq((size_t)zeros, m.n_params - answer_side);
    cr_assert_eq((size_t)drawn, answer_side - IAMP_MLP(&m)->lay.emb);
    iamp_model_release(&m);
}

/* Loss with a term on the continuous outputs: sum_r c_r * cont[r, k]^2. */
static double cont_loss_of(struct fixture *f, int grad)
{
    cr_assert_eq(iamp_model_forward(&f->m, f->rows.in, ROWS), 0);
    float dlogits[ROWS * 7], dvalues[ROWS], dcont[ROWS * IAMP_CONT_OUTPUTS];
    double l = iamp_loss_xent(&f->m, &f->rows, f->weights, 1.0f, dlogits);
    for (int r = 0; r < ROWS; r++) {
        double e = (double)f->m.values[r] - f->vtarget[r];
        l += e * e;
        dvalues[r] = (float)(2.0 * e);
        for (int k = 0; k < IAMP_CONT_OUTPUTS; k++) {
            double x = f->m.cont[r * IAMP_CONT_OUTPUTS + k], c = f->weights[r] * (k + 1);
            l += c * x * x;
            dcont[r * IAMP_CONT_OUTPUTS + k] = (float)(2.0 * c * x);
        }
    }
    if (grad)
        iamp_model_backward(&f->m, dlogits, dvalues, dcont, NULL, NULL);
    return l;
}

Test(model, continuous_head_gradients_match_finite_differences, .timeout = 30)
{
    struct iamp_model_config c = small;
    struct fixture f;
    c.cont = 1;
    setup(&f, &c);
    float *analytic = malloc(f.m.n_params * sizeof(float));
    cont_loss_of(&f, 1);
    memcpy(analytic, f.m.grads, f.m.n_params * sizeof(float));
    const float eps = 1e-3f;
    size_t bad = 0;
    for (size_t i = 0; i < f.m.n_params; i++) {
        float keep = f.m.params[i];
        f.m.params[i] = keep + eps;
        double lp = cont_loss_of(&f, 0);
        f.m.params[i] = keep - eps;
        double lm = cont_loss_of(&f, 0);
        f.m.params[i] = keep;
        double num = (lp - lm) / (2.0 * eps);
        bad += fabs(num - analytic[i]) > 2e-3 + 2e-2 * fabs(num);
    }
    cr_assert_eq(bad, 0, "%zu of %zu gradients disagree", bad, f.m.n_params);
    free(analytic);
    teardown(&f);
}

Test(model, pair_slot_gradients_match_finite_differences, .timeout = 30)
{
    struct iamp_model_config c = small;
    struct fixture f;
    c.pair = 1;
    setup(&f, &c);
    cr_assert_eq(f.m.n_slots, 1 + 2 + 2 + 1 + 1 + 1);
    cr_assert_eq(IAMP_MLP(&f.m)->slot_rows[f.m.n_slots - 1], 8 * 8,
                 "one row per pair of tokens and PAD");
    check_group(&f, "all parameters", 0, f.m.n_params);
    teardown(&f);
}

Test(model, pair_slot_is_one_row_per_pair_and_starts_at_zero, .timeout = 10)
{
    struct iamp_model_config c = small;
    struct iamp_model m, plain;
    c.a_len = 1;
    cr_assert_eq(iamp_model_init(&plain, &c), 0);
    c.pair = 1;
    cr_assert_eq(iamp_model_init(&m, &c), 0);
    int S = m.n_slots;
    cr_assert_eq(S, plain.n_slots + 1, "the pair slot comes last");
    uint16_t q1[2] = {3, 5}, q2[2] = {5, 3}, q3[2] = {3, 6};
    int32_t a[8], b[8], d[8];
    iamp_model_row(&m, 0, q1, 2, NULL, 0, -1, a);
    iamp_model_row(&m, 0, q2, 2, NULL, 0, -1, b);
    iamp_model_row(&m, 0, q3, 2, NULL, 0, -1, d);
    cr_assert_eq(a[S - 1], 3 * 8 + 5);
    cr_assert(a[S - 1] != b[S - 1] && a[S - 1] != d[S - 1] && b[S - 1] != d[S - 1],
              "(3, 5), (5, 3) and (3, 6) have rows of their own");
    /* At reset the pair table is zero; a row written changes the answers
     * to its own pair only. */
    struct iamp_rng r;
    iamp_rng_seed(&r, 5, 0);
    iamp_model_reset(&m, &r);
    size_t E = (size_t)c.embed,
           lo = IAMP_MLP(&m)->lay.emb + (size_t)IAMP_MLP(&m)->slot_base[S - 1] * E;
    cr_assert_eq(m.n_params - lo, (size_t)64 * E);
    for (size_t i = lo; i < m.n_params; i++)
        cr_assert_eq(m.params[i], 0.0f);
    size_t V = (size_t)c.vocab;
    float la[7], ld[7];
    cr_assert_eq(iamp_model_forward(&m, a, 1), 0);
    memcpy(la, m.logits, V * sizeof(float));
    cr_assert_eq(iamp_model_forward(&m, d, 1), 0);
    memcpy(ld, m.logits, V * sizeof(float));
    for (size_t e = 0; e < E; e++)
        m.params[lo + (size_t)a[S - 1] * E + e] = e % 2 ? -4.0f : 4.0f;
    cr_assert_eq(iamp_model_forward(&m, d, 1), 0);
    cr_assert_eq(memcmp(ld, m.logits, V * sizeof(float)), 0, "another pair's answer is unchanged");
    cr_assert_eq(iamp_model_forward(&m, a, 1), 0);
    cr_assert_neq(memcmp(la, m.logits, V * sizeof(float)), 0, "its own pair's answer moved");
    iamp_model_release(&plain);
    c.q_len = 1;
    struct iamp_model bad;
    cr_assert_eq(iamp_model_init(&bad, &c), IAMP_EINVAL, "a pair needs two question tokens");
    iamp_model_release(&m);
}

/* Forward over more rows than one block: every output bit-identical with
 * no pool and on pools of 2 and 3 threads; a view computes the same as
 * its base and writes gradients of its own. */
Test(model, forward_blocks_do_not_depend_on_threads, .timeout = 30)
{
    enum { R = 3 * IAMP_MODEL_BLOCK_ROWS + 17 };
    struct iamp_model_config cfg = small;
    cfg.hidden = 48;
    struct iamp_model m, v;
    struct iamp_rng r;
    iamp_rng_seed(&r, 9, 3);
    cr_assert_eq(iamp_model_init(&m, &cfg), 0);
    iamp_model_reset(&m, &r);
    int32_t *in = calloc((size_t)R * (size_t)m.n_slots, sizeof(int32_t));
    float *want = malloc((size_t)R * (size_t)cfg.vocab * sizeof(float));
    float *vals = malloc(R * sizeof(float));
    for (int i = 0; i < R; i++) {
        uint16_t q[2] = {(uint16_t)iamp_rng_below(&r, 7), (uint16_t)iamp_rng_below(&r, 7)};
        uint16_t prefix[3] = {(uint16_t)iamp_rng_below(&r, 7), 0, 0};
        iamp_model_row(&m, i % 2, q, 2, prefix, i % 2, -1, in + (size_t)i * (size_t)m.n_slots);
    }
    cr_assert_eq(iamp_model_forward(&m, in, R), 0);
    memcpy(want, m.logits, (size_t)R * (size_t)cfg.vocab * sizeof(float));
    memcpy(vals, m.values, R * sizeof(float));
    for (int threads = 2; threads <= 3; threads++) {
        struct iamp_pool *p;
        cr_assert_eq(iamp_pool_new(&p, threads), 0);
        m.pool = p;
        cr_assert_eq(iamp_model_forward(&m, in, R), 0);
        cr_assert_eq(memcmp(want, m.logits, (size_t)R * (size_t)cfg.vocab * sizeof(float)), 0,
                     "logits with %d threads", threads);
        cr_assert_eq(memcmp(vals, m.values, R * sizeof(float)), 0, "values, %d threads", threads);
        m.pool = NULL;
        iamp_pool_free(p);
    }
    cr_assert_eq(iamp_model_init_view(&v, &m), 0);
    cr_assert_eq(v.params, m.params, "a view reads its base's parameters");
    cr_assert_neq(v.grads, m.grads, "and has gradients of its own");
    cr_assert_eq(iamp_model_forward(&v, in, R), 0);
    cr_assert_eq(memcmp(want, v.logits, (size_t)R * (size_t)cfg.vocab * sizeof(float)), 0);
    iamp_model_release(&v);
    cr_assert_eq(m.params[0], m.params[0], "releasing a view leaves its base");
    free(in);
    free(want);
    free(vals);
    iamp_model_release(&m);
}
