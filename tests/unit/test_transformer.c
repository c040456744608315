/* test_transformer.c — the transformer's gradients against central
 * finite differences, group by group; what its outputs must not depend on
 * (batching, facts past n_facts, token slots past fact_len, the facts'
 * order, shared or copied contexts, views, threads); the pointer head's
 * mixing; the backward progress contract and the config check. */
#include "worker/model/transformer.h"

#include "common/pool.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V 9
#define ROWS 8
#define NCTX 3
#define LO 1
#define HI 8
#define C IAMP_CONT_OUTPUTS

static const struct iamp_model_config small = {.vocab = V,
                                               .n_types = 2,
                                               .q_len = 2,
                                               .a_len = 3,
                                               .cont = 1,
                                               .kind = IAMP_MODEL_TRANSFORMER,
                                               .d = 8,
                                               .heads = 2,
                                               .enc = 2,
                                               .dec = 2,
                                               .ff = 16,
                                               .pointer = 1,
                                               .facts_max = 5,
                                               .fact_len = 2};

struct fixture {
    struct iamp_model m;
    struct iamp_context ctx[NCTX];
    const struct iamp_context *table[NCTX];
    int32_t in[ROWS * 16];
    int target[ROWS];
    float weight[ROWS], vtarget[ROWS];
};

/* Contexts of 3, 4 and 5 facts; rows of every step, two of them without a
 * context (-1), the others in pairs sharing one. */
static void make_batch(struct fixture *f, const struct iamp_model_config *cfg, struct iamp_rng *r)
{
    memset(f->ctx, 0, sizeof(f->ctx));
    for (int c = 0; c < NCTX; c++) {
        f->ctx[c].n_facts = (uint16_t)(cfg->facts_max > 0 ? 3 + c : 0);
        f->ctx[c].fact_len = (uint16_t)cfg->fact_len;
        for (int k = 0; k < f->ctx[c].n_facts; k++)
            for (int j = 0; j < cfg->fact_len; j++)
                f->ctx[c].tok[k][j] = (uint16_t)iamp_rng_below(r, V);
        f->table[c] = &f->ctx[c];
    }
    for (int i = 0; i < ROWS; i++) {
        uint16_t q[2] = {(uint16_t)iamp_rng_below(r, V), (uint16_t)iamp_rng_below(r, V)};
        uint16_t prefix[2] = {(uint16_t)iamp_rng_below(r, V), (uint16_t)iamp_rng_below(r, V)};
        int ctx = i % 4 == 3 ? -1 : i % NCTX;
        iamp_model_row(&f->m, i % 2, q, 2, prefix, i % cfg->a_len, ctx, f->in + i * f->m.n_slots);
        f->target[i] = LO + (int)iamp_rng_below(r, HI - LO);
        f->weight[i] = 0.5f + (float)i / ROWS;
        f->vtarget[i] = (float)iamp_rng_normal(r);
    }
}

static void setup(struct fixture *f, const struct iamp_model_config *cfg)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 42, 1);
    cr_assert_eq(iamp_model_init(&f->m, cfg), 0);
    cr_assert_leq(f->m.n_slots, 16);
    iamp_model_reset(&f->m, &r);
    /* Away from the reset's zeros (biases, the step table) and ones (LN
     * gains), so every gradient is exercised. */
    for (size_t i = 0; i < f->m.n_params; i++)
        f->m.params[i] += 0.1f * (float)iamp_rng_normal(&r);
    make_batch(f, cfg, &r);
}

static void teardown(struct fixture *f)
{
    iamp_model_release(&f->m);
}

static int forward(struct iamp_model *m, const int32_t *in, int rows,
                   const struct iamp_context *const *table, int n_ctx)
{
    struct iamp_model_batch b = {in, rows, table, n_ctx, LO, HI};
    return iamp_model_forward_batch(m, &b);
}

/* Cross-entropy over [LO, HI), squared value errors and a weighted square
 * of the continuous outputs. dlogits outside [LO, HI) is NAN: backward
 * must not read it. */
static double loss_grads(struct fixture *f, float *dlogits, float *dvalues, float *dcont)
{
    double l = 0.0;
    for (int r = 0; r < ROWS; r++) {
        const float *lg = f->m.logits + r * V;
        double mx = -INFINITY, sum = 0.0;
        for (int t = LO; t < HI; t++)
            mx = lg[t] > mx ? lg[t] : mx;
        for (int t = LO; t < HI; t++)
            sum += exp(lg[t] - mx);
        l -= f->weight[r] * (lg[f->target[r]] - mx - log(sum));
        for (int t = 0; t < V; t++)
            dlogits[r * V + t] = NAN;
        for (int t = LO; t < HI; t++)
            dlogits[r * V + t] =
                (float)(f->weight[r] * (exp(lg[t] - mx) / sum - (t == f->target[r])));
        double e = (double)f->m.values[r] - f->vtarget[r];
        l += e * e;
        dvalues[r] = (float)(2.0 * e);
        for (int k = 0; f->m.cfg.cont && k < C; k++) {
            double x = f->m.cont[r * C + k], c = f->weight[r] * (k + 1);
            l += c * x * x;
            dcont[r * C + k] = (float)(2.0 * c * x);
        }
    }
    return l;
}

static double loss_of(struct fixture *f, int grad)
{
    float dlogits[ROWS * V], dvalues[ROWS], dcont[ROWS * C];
    cr_assert_eq(forward(&f->m, f->in, ROWS, f->table, NCTX), 0);
    double l = loss_grads(f, dlogits, dvalues, dcont);
    if (grad)
        iamp_model_backward(&f->m, dlogits, dvalues, dcont, NULL, NULL);
    return l;
}

struct group {
    char name[32];
    size_t off, n;
};

static int add_group(struct group *g, int k, const char *name, size_t off, size_t n)
{
    if (n == 0)
        return k;
    snprintf(g[k].name, sizeof(g[k].name), "%s", name);
    g[k].off = off;
    g[k].n = n;
    return k + 1;
}

static int layer_groups(struct group *g, int k, const char *side, int l,
                        const struct iamp_tf_layer *L, size_t d, size_t F, int cross)
{
    static const char *names[] = {"w2",  "b2",  "w1",  "b1", "ln3", "wox",  "box",  "wq", "bq",
                                  "wkv", "bkv", "ln2", "wo", "bo",  "wqkv", "bqkv", "ln1"};
    size_t x = cross ? d : 0;
    size_t off[] = {L->w2,  L->b2,  L->w1,   L->b1, L->ln3g, L->wox,  L->box,  L->wq,  L->bq,
                    L->wkv, L->bkv, L->ln2g, L->wo, L->bo,   L->wqkv, L->bqkv, L->ln1g};
    size_t n[] = {d * F,     d,     F * d, F,     2 * d, x * d,     x,     x * d, x,
                  2 * x * d, 2 * x, 2 * x, d * d, d,     3 * d * d, 3 * d, 2 * d};
    for (int i = 0; i < 17; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%s %d %s", side, l, names[i]);
        k = add_group(g, k, name, off[i], n[i]);
    }
    return k;
}

/* Every group of the layout, in buffer order. */
static int all_groups(const struct iamp_model *m, struct group *g)
{
    const struct iamp_tf_layout *L = iamp_transformer_layout(m);
    const struct iamp_model_config *c = &m->cfg;
    size_t d = (size_t)c->d, F = (size_t)(c->ff ? c->ff : 4 * c->d), FL = (size_t)c->fact_len;
    size_t T = (size_t)(2 + c->q_len + c->a_len - 1), Cc = c->cont ? C : 0;
    int k = 0, enc = c->facts_max > 0 ? c->enc : 0;
    k = add_group(g, k, "cont head", L->wc, Cc * d + Cc);
    k = add_group(g, k, "value head", L->wv, d + 1);
    k = add_group(g, k, "token head", L->wo, V * d + V);
    k = add_group(g, k, "pointer", L->wp,
                  c->pointer == 1 && FL ? FL * d * d
                  : c->pointer == 2     ? d * d
                                        : 0);
    k = add_group(g, k, "decoder final LN", L->lnfg, 2 * d);
    for (int l = c->dec - 1; l >= 0; l--)
        k = layer_groups(g, k, "dec", l, &L->dec[l], d, F, 1);
    k = add_group(g, k, "step table", L->read, (size_t)c->a_len * d);
    k = add_group(g, k, "type table", L->type, (size_t)c->n_types * d);
    k = add_group(g, k, "position table", L->pos, T * d);
    k = add_group(g, k, "encoder final LN", L->lneg, 2 * d);
    for (int l = enc - 1; l >= 0; l--)
        k = layer_groups(g, k, "enc", l, &L->enc[l], d, F, 0);
    k = add_group(g, k, "fact projection", L->wf, FL ? d * FL * d + d : 0);
    k = add_group(g, k, "token table", L->tok, (V + 1) * d);
    return k;
}

static double central_difference(struct fixture *f, size_t i, float eps)
{
    float keep = f->m.params[i];
    f->m.params[i] = keep + eps;
    double lp = loss_of(f, 0);
    f->m.params[i] = keep - eps;
    double lm = loss_of(f, 0);
    f->m.params[i] = keep;
    return (lp - lm) / (2.0 * eps);
}

/* The smallest disagreement, in tolerances, of the analytic gradient a
 * with central differences at steps 2e-3 down to 2.5e-4: float noise
 * grows as the step shrinks, and a step that crosses a ReLU's kink
 * (both happen in this fixture) spoils a larger one, but a wrong gradient
 * disagrees at every step. */
static double disagreement(struct fixture *f, size_t i, double a)
{
    double best = INFINITY;
    for (float eps = 2e-3f; eps > 2e-4f && best > 0.25; eps /= 2) {
        double num = central_difference(f, i, eps);
        double err = fabs(num - a) / (2e-3 + 2e-2 * fabs(num));
        best = err < best ? err : best;
    }
    return best;
}

/* Analytic gradients against central differences, every group; the
 * groups must tile the buffer. */
static void check_gradients(struct fixture *f, const char *what)
{
    struct group g[128];
    int ng = all_groups(&f->m, g);
    size_t at = 0;
    for (int i = 0; i < ng; i++) {
        cr_assert_eq(g[i].off, at, "%s: group %s starts at %zu, not %zu", what, g[i].name, g[i].off,
                     at);
        at += g[i].n;
    }
    cr_assert_eq(at, f->m.n_params, "%s: the groups tile the parameters", what);
    float *analytic = malloc(f->m.n_params * sizeof(float));
    loss_of(f, 1);
    memcpy(analytic, f->m.grads, f->m.n_params * sizeof(float));
    size_t bad = 0, nonzero = 0;
    double worst = 0.0;
    const char *worst_group = "none";
    for (int k = 0; k < ng; k++)
        for (size_t i = g[k].off; i < g[k].off + g[k].n; i++) {
            double err = disagreement(f, i, analytic[i]);
            bad += err > 1.0;
            nonzero += analytic[i] != 0.0f;
            if (err > worst) {
                worst = err;
                worst_group = g[k].name;
            }
        }
    free(analytic);
    cr_assert_eq(bad, 0, "%s: %zu of %zu gradients disagree (worst: %s, %.2f x the tolerance)",
                 what, bad, f->m.n_params, worst_group, worst);
    cr_assert_gt(nonzero, f->m.n_params / 2, "%s: most gradients are exercised", what);
    cr_log_info("%s: worst %s, %.2f x the tolerance", what, worst_group, worst);
}

Test(transformer, gradients_match_finite_differences_with_the_pointer_head, .timeout = 60)
{
    struct fixture f;
    setup(&f, &small);
    check_gradients(&f, "pointer, cont");
    teardown(&f);
}

Test(transformer, gradients_match_finite_differences_without_the_pointer_head, .timeout = 60)
{
    struct iamp_model_config c = small;
    struct fixture f;
    c.pointer = 0;
    c.cont = 0;
    c.a_len = 2;
    setup(&f, &c);
    check_gradients(&f, "no pointer, no cont");
    teardown(&f);
}

/* Gradients against central differences for config c. */
static void check_config(const struct iamp_model_config *c, const char *what)
{
    struct fixture f;
    setup(&f, c);
    check_gradients(&f, what);
    teardown(&f);
}

Test(transformer, gradients_match_with_fewer_layers_or_no_contexts, .timeout = 60)
{
    struct iamp_model_config c = small;
    c.enc = 0;
    check_config(&c, "enc = 0");
    c = small;
    c.enc = 1;
    c.dec = 1;
    check_config(&c, "enc = 1, dec = 1");
    c = small;
    c.facts_max = 0;
    c.fact_len = 0;
    check_config(&c, "no contexts");
}

/* The copy head over the row's own tokens (pointer=2), with contexts and
 * without (H''s transcripts have none). */
Test(transformer, gradients_match_with_the_copy_head, .timeout = 60)
{
    struct iamp_model_config c = small;
    c.pointer = 2;
    check_config(&c, "copy head");
    c.facts_max = 0;
    c.fact_len = 0;
    c.dec = 1;
    check_config(&c, "copy head, no contexts, dec = 1");
}

struct outputs {
    float logits[ROWS * V], values[ROWS], cont[ROWS * C];
};

static void keep_outputs(const struct iamp_model *m, int rows, int at, struct outputs *o)
{
    memcpy(o->logits + at * V, m->logits, (size_t)rows * V * sizeof(float));
    memcpy(o->values + at, m->values, (size_t)rows * sizeof(float));
    memcpy(o->cont + at * C, m->cont, (size_t)rows * C * sizeof(float));
}

static void assert_outputs_near(const struct outputs *a, const struct outputs *b, double tol,
                                const char *what)
{
    for (int r = 0; r < ROWS; r++) {
        for (int t = LO; t < HI; t++)
            cr_assert_float_eq(a->logits[r * V + t], b->logits[r * V + t], tol,
                               "%s: row %d token %d", what, r, t);
        cr_assert_float_eq(a->values[r], b->values[r], tol, "%s: row %d value", what, r);
        for (int k = 0; k < C; k++)
            cr_assert_float_eq(a->cont[r * C + k], b->cont[r * C + k], tol, "%s: row %d cont", what,
                               r);
    }
}

Test(transformer, a_batch_equals_per_row_forwards, .timeout = 30)
{
    struct fixture f;
    struct outputs batch, alone;
    setup(&f, &small);
    int S = f.m.n_slots;
    cr_assert_eq(forward(&f.m, f.in, ROWS, f.table, NCTX), 0);
    keep_outputs(&f.m, ROWS, 0, &batch);
    for (int r = 0; r < ROWS; r++) {
        int32_t row[16];
        memcpy(row, f.in + r * S, (size_t)S * sizeof(int32_t));
        int c = row[S - 1];
        row[S - 1] = c < 0 ? -1 : 0;
        cr_assert_eq(forward(&f.m, row, 1, c < 0 ? NULL : &f.table[c], c < 0 ? 0 : 1), 0);
        keep_outputs(&f.m, 1, r, &alone);
    }
    assert_outputs_near(&batch, &alone, 1e-5, "alone");
    teardown(&f);
}

Test(transformer, facts_past_n_facts_and_slots_past_fact_len_change_nothing, .timeout = 30)
{
    struct fixture f;
    struct outputs clean, dirty;
    setup(&f, &small);
    float *grads = malloc(f.m.n_params * sizeof(float));
    loss_of(&f, 1);
    keep_outputs(&f.m, ROWS, 0, &clean);
    memcpy(grads, f.m.grads, f.m.n_params * sizeof(float));
    struct iamp_rng r;
    iamp_rng_seed(&r, 7, 0);
    for (int c = 0; c < NCTX; c++)
        for (int k = 0; k < IAMP_FACTS_MAX; k++)
            for (int j = 0; j < IAMP_FACT_LEN; j++)
                if (k >= f.ctx[c].n_facts || j >= small.fact_len)
                    f.ctx[c].tok[k][j] = (uint16_t)iamp_rng_below(&r, V);
    loss_of(&f, 1);
    keep_outputs(&f.m, ROWS, 0, &dirty);
    assert_outputs_near(&clean, &dirty, 0.0, "garbage past the facts");
    cr_assert_eq(memcmp(grads, f.m.grads, f.m.n_params * sizeof(float)), 0, "gradients");
    free(grads);
    teardown(&f);
}

Test(transformer, permuting_the_facts_changes_nothing, .timeout = 30)
{
    struct fixture f;
    struct outputs before, after;
    setup(&f, &small);
    cr_assert_eq(forward(&f.m, f.in, ROWS, f.table, NCTX), 0);
    keep_outputs(&f.m, ROWS, 0, &before);
    for (int c = 0; c < NCTX; c++) {
        struct iamp_context keep = f.ctx[c];
        int n = keep.n_facts;
        for (int k = 0; k < n; k++) /* a rotation and a reflection */
            memcpy(f.ctx[c].tok[k], keep.tok[(n - 1 - k + c) % n], sizeof(keep.tok[0]));
    }
    cr_assert_eq(forward(&f.m, f.in, ROWS, f.table, NCTX), 0);
    keep_outputs(&f.m, ROWS, 0, &after);
    assert_outputs_near(&before, &after, 1e-5, "permuted facts");
    teardown(&f);
}

Test(transformer, rows_sharing_a_context_equal_rows_with_their_own_copies, .timeout = 30)
{
    struct fixture f;
    struct outputs shared, copies;
    setup(&f, &small);
    int S = f.m.n_slots;
    size_t P = f.m.n_params;
    float *grads = malloc(P * sizeof(float));
    loss_of(&f, 1);
    keep_outputs(&f.m, ROWS, 0, &shared);
    memcpy(grads, f.m.grads, P * sizeof(float));
    struct iamp_context own[ROWS];
    const struct iamp_context *table[ROWS];
    for (int r = 0; r < ROWS; r++) {
        int c = f.in[r * S + S - 1];
        own[r] = f.ctx[c < 0 ? 0 : c];
        table[r] = &own[r];
        f.in[r * S + S - 1] = c < 0 ? -1 : r;
    }
    float dlogits[ROWS * V], dvalues[ROWS], dcont[ROWS * C];
    cr_assert_eq(forward(&f.m, f.in, ROWS, table, ROWS), 0);
    keep_outputs(&f.m, ROWS, 0, &copies);
    loss_grads(&f, dlogits, dvalues, dcont);
    iamp_model_backward(&f.m, dlogits, dvalues, dcont, NULL, NULL);
    assert_outputs_near(&shared, &copies, 1e-6, "own copies");
    for (size_t i = 0; i < P; i++)
        cr_assert_float_eq(f.m.grads[i], grads[i], 1e-5 + 1e-4 * fabsf(grads[i]), "gradient %zu",
                           i);
    free(grads);
    teardown(&f);
}

/* Records each newly reported range of the gradients when it is
 * reported. */
struct progress {
    const struct iamp_model *m;
    float *snap;
    size_t last;
    int calls, monotone;
};

static void ready_cb(void *ctx, size_t done)
{
    struct progress *p = ctx;
    p->monotone &= done >= p->last;
    if (done > p->last)
        memcpy(p->snap + p->last, p->m->grads + p->last, (done - p->last) * sizeof(float));
    p->last = done > p->last ? done : p->last;
    p->calls++;
}

Test(transformer, ready_reports_a_growing_prefix_of_final_gradients, .timeout = 30)
{
    struct fixture f;
    setup(&f, &small);
    size_t P = f.m.n_params;
    float dlogits[ROWS * V], dvalues[ROWS], dcont[ROWS * C];
    float *plain = malloc(P * sizeof(float)), *snap = malloc(P * sizeof(float));
    cr_assert_eq(forward(&f.m, f.in, ROWS, f.table, NCTX), 0);
    loss_grads(&f, dlogits, dvalues, dcont);
    iamp_model_backward(&f.m, dlogits, dvalues, dcont, NULL, NULL);
    memcpy(plain, f.m.grads, P * sizeof(float));
    memset(f.m.grads, 0x7f, P * sizeof(float)); /* backward overwrites */
    struct progress p = {&f.m, snap, 0, 0, 1};
    iamp_model_backward(&f.m, dlogits, dvalues, dcont, ready_cb, &p);
    cr_assert(p.monotone, "progress must never shrink");
    cr_assert_eq(p.last, P, "it ends at n_params");
    cr_assert_gt(p.calls, 2 * small.dec + 2 * small.enc + 4, "one call per group and polls");
    cr_assert_eq(memcmp(snap, f.m.grads, P * sizeof(float)), 0,
                 "every gradient was final when reported");
    cr_assert_eq(memcmp(plain, f.m.grads, P * sizeof(float)), 0, "the same with and without ready");
    free(plain);
    free(snap);
    teardown(&f);
}

Test(transformer, no_rows_give_zero_gradients_and_full_progress, .timeout = 10)
{
    struct fixture f;
    setup(&f, &small);
    size_t P = f.m.n_params;
    float *snap = malloc(P * sizeof(float));
    cr_assert_eq(forward(&f.m, f.in, 0, f.table, NCTX), 0);
    memset(f.m.grads, 0x7f, P * sizeof(float));
    struct progress p = {&f.m, snap, 0, 0, 1};
    iamp_model_backward(&f.m, NULL, NULL, NULL, ready_cb, &p);
    cr_assert_eq(p.last, P);
    for (size_t i = 0; i < P; i++)
        cr_assert_eq(f.m.grads[i], 0.0f, "gradient %zu", i);
    free(snap);
    teardown(&f);
}

Test(transformer, a_row_indexing_past_the_context_table_is_refused, .timeout = 10)
{
    struct fixture f;
    setup(&f, &small);
    cr_assert_eq(forward(&f.m, f.in, ROWS, f.table, NCTX - 1), IAMP_EINVAL);
    cr_assert_eq(forward(&f.m, f.in, ROWS, f.table, NCTX), 0);
    teardown(&f);
}

Test(transformer, a_view_computes_what_its_base_computes, .timeout = 30)
{
    struct fixture f;
    struct iamp_model v;
    struct outputs base, view;
    setup(&f, &small);
    size_t P = f.m.n_params;
    float *grads = malloc(P * sizeof(float));
    float dlogits[ROWS * V], dvalues[ROWS], dcont[ROWS * C];
    loss_of(&f, 1);
    keep_outputs(&f.m, ROWS, 0, &base);
    memcpy(grads, f.m.grads, P * sizeof(float));
    loss_grads(&f, dlogits, dvalues, dcont);
    cr_assert_eq(iamp_model_init_view(&v, &f.m), 0);
    cr_assert_eq(v.params, f.m.params, "a view reads its base's parameters");
    cr_assert_neq(v.grads, f.m.grads, "and has gradients of its own");
    cr_assert_eq(forward(&v, f.in, ROWS, f.table, NCTX), 0);
    keep_outputs(&v, ROWS, 0, &view);
    iamp_model_backward(&v, dlogits, dvalues, dcont, NULL, NULL);
    assert_outputs_near(&base, &view, 0.0, "view");
    cr_assert_eq(memcmp(grads, v.grads, P * sizeof(float)), 0, "the view's gradients");
    cr_assert_eq(memcmp(grads, f.m.grads, P * sizeof(float)), 0, "the base's are untouched");
    iamp_model_release(&v);
    free(grads);
    teardown(&f);
}

/* dvalues and dcont NULL: the gradients of zero value and continuous
 * gradients (the heads' own are zero). */
Test(transformer, missing_value_and_continuous_gradients_count_as_zero, .timeout = 10)
{
    struct fixture f;
    setup(&f, &small);
    const struct iamp_tf_layout *L = iamp_transformer_layout(&f.m);
    size_t P = f.m.n_params;
    float dlogits[ROWS * V], dvalues[ROWS], dcont[ROWS * C];
    float *zeros = malloc(P * sizeof(float));
    cr_assert_eq(forward(&f.m, f.in, ROWS, f.table, NCTX), 0);
    loss_grads(&f, dlogits, dvalues, dcont);
    memset(dvalues, 0, sizeof(dvalues));
    memset(dcont, 0, sizeof(dcont));
    iamp_model_backward(&f.m, dlogits, dvalues, dcont, NULL, NULL);
    memcpy(zeros, f.m.grads, P * sizeof(float));
    memset(f.m.grads, 0x7f, P * sizeof(float));
    iamp_model_backward(&f.m, dlogits, NULL, NULL, NULL, NULL);
    for (size_t i = 0; i < P; i++)
        cr_assert_eq(f.m.grads[i], zeros[i], "gradient %zu", i);
    for (size_t i = L->wc; i < L->wo; i++)
        cr_assert_eq(f.m.grads[i], 0.0f, "value and continuous heads: %zu", i);
    free(zeros);
    teardown(&f);
}

/* More rows than one block, more contexts than threads. */
enum { BIG_ROWS = 3 * IAMP_MODEL_BLOCK_ROWS + 17, BIG_CTX = 20 };

struct big_batch {
    struct iamp_context ctx[BIG_CTX];
    const struct iamp_context *table[BIG_CTX];
    int32_t in[BIG_ROWS * 8];
    float dl[BIG_ROWS * V], dv[BIG_ROWS];
};

static void make_big_batch(const struct iamp_model *m, struct big_batch *bb, struct iamp_rng *r)
{
    memset(bb->ctx, 0, sizeof(bb->ctx));
    for (int c = 0; c < BIG_CTX; c++) {
        bb->ctx[c].n_facts = (uint16_t)(1 + c % 5);
        bb->ctx[c].fact_len = 2;
        for (int k = 0; k < bb->ctx[c].n_facts; k++)
            for (int j = 0; j < 2; j++)
                bb->ctx[c].tok[k][j] = (uint16_t)iamp_rng_below(r, V);
        bb->table[c] = &bb->ctx[c];
    }
    for (int i = 0; i < BIG_ROWS; i++) {
        uint16_t q[2] = {(uint16_t)iamp_rng_below(r, V), (uint16_t)iamp_rng_below(r, V)};
        uint16_t prefix[2] = {(uint16_t)iamp_rng_below(r, V), 0};
        int ctx = i % 7 == 0 ? -1 : i % BIG_CTX;
        iamp_model_row(m, i % 2, q, 2, prefix, i % 3, ctx, bb->in + i * m->n_slots);
        bb->dv[i] = (float)iamp_rng_normal(r);
        for (int t = 0; t < V; t++)
            bb->dl[i * V + t] = (float)iamp_rng_normal(r);
    }
}

/* Outputs and gradients bit-identical with no pool and a pool of 2
 * threads. */
Test(transformer, outputs_do_not_depend_on_threads, .timeout = 60)
{
    static struct big_batch bb;
    struct iamp_model m;
    struct iamp_rng r;
    struct iamp_pool *pool;
    iamp_rng_seed(&r, 9, 3);
    cr_assert_eq(iamp_model_init(&m, &small), 0);
    cr_assert_leq(m.n_slots, 8);
    iamp_model_reset(&m, &r);
    make_big_batch(&m, &bb, &r);
    struct iamp_model_batch b = {bb.in, BIG_ROWS, bb.table, BIG_CTX, LO, HI};
    size_t P = m.n_params, L = (size_t)BIG_ROWS * V;
    float *want = malloc(L * sizeof(float)), *vals = malloc(BIG_ROWS * sizeof(float));
    float *grads = malloc(P * sizeof(float));
    cr_assert_eq(iamp_model_forward_batch(&m, &b), 0);
    memcpy(want, m.logits, L * sizeof(float));
    memcpy(vals, m.values, BIG_ROWS * sizeof(float));
    iamp_model_backward(&m, bb.dl, bb.dv, NULL, NULL, NULL);
    memcpy(grads, m.grads, P * sizeof(float));
    cr_assert_eq(iamp_pool_new(&pool, 2), 0);
    m.pool = pool;
    cr_assert_eq(iamp_model_forward_batch(&m, &b), 0);
    for (int i = 0; i < BIG_ROWS; i++)
        cr_assert_eq(memcmp(want + i * V + LO, m.logits + i * V + LO, (HI - LO) * sizeof(float)), 0,
                     "row %d's logits with 2 threads", i);
    cr_assert_eq(memcmp(vals, m.values, BIG_ROWS * sizeof(float)), 0, "values with 2 threads");
    iamp_model_backward(&m, bb.dl, bb.dv, NULL, NULL, NULL);
    cr_assert_eq(memcmp(grads, m.grads, P * sizeof(float)), 0, "gradients with 2 threads");
    m.pool = NULL;
    iamp_pool_free(pool);
    free(want);
    free(vals);
    free(grads);
    iamp_model_release(&m);
}

/* A logit with the generator pushed far down and zero copy scores:
 * log(count) of the places holding its token, or far down for none. */
static void assert_copies(float lg, int count, int r, int t)
{
    if (count)
        cr_assert_float_eq(lg, logf((float)count), 1e-5, "row %d token %d", r, t);
    else
        cr_assert_lt(lg, -30.0f, "row %d token %d: no place holds it", r, t);
}

/* With zero pointer queries every slot scores 0: the logit of token t is
 * log(exp(gen_t) + the number of slots holding t), and with gen pushed
 * far down, log(that number); a row without a context gets none. */
Test(transformer, the_pointer_head_mixes_in_the_facts_tokens, .timeout = 10)
{
    struct fixture f;
    setup(&f, &small);
    const struct iamp_tf_layout *L = iamp_transformer_layout(&f.m);
    int S = f.m.n_slots, d = small.d;
    memset(f.m.params + L->wp, 0, (size_t)small.fact_len * d * d * sizeof(float));
    for (int t = 0; t < V; t++)
        f.m.params[L->bo + t] = -40.0f;
    cr_assert_eq(forward(&f.m, f.in, ROWS, f.table, NCTX), 0);
    for (int r = 0; r < ROWS; r++) {
        int c = f.in[r * S + S - 1];
        for (int t = LO; t < HI; t++) {
            int count = 0;
            for (int k = 0; c >= 0 && k < f.ctx[c].n_facts; k++)
                count += (f.ctx[c].tok[k][0] == t) + (f.ctx[c].tok[k][1] == t);
            assert_copies(f.m.logits[r * V + t], count, r, t);
        }
    }
    teardown(&f);
}

/* With zero copy queries every position scores 0: the logit of token t
 * is log(exp(gen_t) + the positions holding t among the question's
 * tokens and the prefix's first `step`), and with gen pushed far down,
 * log(that number). */
Test(transformer, the_copy_head_mixes_in_the_rows_own_tokens, .timeout = 10)
{
    struct iamp_model_config c = small;
    c.pointer = 2;
    struct fixture f;
    setup(&f, &c);
    const struct iamp_tf_layout *L = iamp_transformer_layout(&f.m);
    int S = f.m.n_slots, d = c.d;
    memset(f.m.params + L->wp, 0, (size_t)d * d * sizeof(float));
    for (int t = 0; t < V; t++)
        f.m.params[L->bo + t] = -40.0f;
    cr_assert_eq(forward(&f.m, f.in, ROWS, f.table, NCTX), 0);
    for (int r = 0; r < ROWS; r++) {
        const int32_t *in = f.in + r * S; /* type, q (2), prefix (a_len - 1), step, ctx */
        int step = in[S - 2];
        for (int t = LO; t < HI; t++) {
            int count = (in[1] == t) + (in[2] == t);
            for (int j = 0; j < step; j++)
                count += in[3 + j] == t;
            assert_copies(f.m.logits[r * V + t], count, r, t);
        }
    }
    teardown(&f);
}

Test(transformer, rows_encode_the_question_prefix_step_and_context, .timeout = 10)
{
    struct iamp_model m;
    cr_assert_eq(iamp_model_init(&m, &small), 0);
    cr_assert_eq(m.n_slots, 1 + 2 + 2 + 1 + 1);
    uint16_t q[1] = {4}, prefix[2] = {5, 6};
    int32_t in[7];
    iamp_model_row(&m, 1, q, 1, prefix, 1, 2, in);
    int32_t want[7] = {1, 4, V, 5, V, 1, 2};
    cr_assert_arr_eq(in, want, sizeof(want));
    cr_assert_gt(iamp_model_flops_per_row_ctx(&m.cfg, 16, 1),
                 iamp_model_flops_per_row_ctx(&m.cfg, 16, 16), "the encoder's share shrinks");
    cr_assert_gt(iamp_model_flops_per_row_ctx(&m.cfg, 16, 16), iamp_model_flops_per_row(&m.cfg));
    iamp_model_release(&m);
}

Test(transformer, check_refuses_what_it_cannot_build, .timeout = 10)
{
    char err[160];
    struct iamp_model_config c = small;
    c.heads = 3;
    cr_assert_eq(iamp_model_check(&c, err, sizeof(err)), IAMP_EINVAL);
    cr_assert(strstr(err, "heads") != NULL, "a reason naming heads: %s", err);
    c = small;
    c.dec = 0;
    cr_assert_eq(iamp_model_check(&c, err, sizeof(err)), IAMP_EINVAL);
    cr_assert(strstr(err, "dec") != NULL, "%s", err);
    c = small;
    c.enc = IAMP_LAYERS_MAX + 1;
    cr_assert_eq(iamp_model_check(&c, err, sizeof(err)), IAMP_EINVAL);
    c = small;
    c.fact_len = IAMP_FACT_LEN + 1;
    cr_assert_eq(iamp_model_check(&c, err, sizeof(err)), IAMP_EINVAL);
    c = small;
    c.ff = -1;
    cr_assert_eq(iamp_model_check(&c, err, sizeof(err)), IAMP_EINVAL);
    c = small;
    c.facts_max = 0;
    c.fact_len = 0;
    cr_assert_eq(iamp_model_check(&c, err, sizeof(err)), 0, "no contexts: %s", err);
    cr_assert_eq(iamp_model_check(&small, err, sizeof(err)), 0, "%s", err);
}
