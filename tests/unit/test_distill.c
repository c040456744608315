/* test_distill.c — examples to gradients: splitting a batch across workers
 * and summing their gradients equals the whole batch's gradient (the basis
 * of data-parallel distillation), with the entropy and KL terms too;
 * weights scale the policy term; the value term follows value_target; a KL
 * term without a reference is refused; and REINFORCE on a bandit with
 * known rewards: the estimator's mean matches the exact policy gradient,
 * and the learned value baseline cuts its variance. Continuous answers:
 * the log-density loss (with value, entropy and KL terms) against finite
 * differences over every parameter, and shares summing. Token sequences:
 * the per-prefix baseline is unbiased (against the exact gradient by
 * enumerating every answer of a small sequence bandit) and cuts the
 * variance well below the question's baseline V(q) (measured: about 4x
 * on this bandit); shares sum with prefix examples too. */
#include "worker/adam.h"
#include "worker/model/mlp.h"
#include "worker/distill.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct iamp_task task;
static struct iamp_model model;

static void setup(void)
{
    char err[128];
    cr_assert_eq(iamp_task_create(&task, "permpow:n=16,kmax=15", err, sizeof(err)), 0);
    struct iamp_model_config c = {.vocab = task.vocab,
                                  .n_types = task.n_types,
                                  .q_len = task.q_len,
                                  .a_len = task.a_len,
                                  .embed = 8,
                                  .hidden = 16,
                                  .layers = 2,
                                  .cont = 0,
                                  .pair = 0};
    cr_assert_eq(iamp_model_init(&model, &c), 0);
    struct iamp_rng r;
    iamp_rng_seed(&r, 4, 0);
    iamp_model_reset(&model, &r);
}

static void teardown(void)
{
    iamp_model_release(&model);
    iamp_task_destroy(&task);
}

TestSuite(distill, .init = setup, .fini = teardown, .timeout = 30);

static void make_examples(struct iamp_example *ex, int n, int with_value)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 8, 0);
    memset(ex, 0, (size_t)n * sizeof(*ex));
    for (int i = 0; i < n; i++) {
        task.ops->sample(&task, &r, task.max_difficulty, &ex[i].q);
        memset(&ex[i].a, 0, sizeof(ex[i].a));
        ex[i].a.len = 1;
        ex[i].a.tok[0] = (uint16_t)iamp_rng_below(&r, 16);
        ex[i].weight = (float)(iamp_rng_uniform(&r) * 2.0 - 0.5);
        ex[i].value_target = with_value ? (float)iamp_rng_uniform(&r) : NAN;
    }
}

static struct iamp_model *ref_model; /* p_ref for KL terms, when set */

static float *grad_of(const struct iamp_example *ex, int n, float scale, double *loss)
{
    struct iamp_distill_work w;
    struct iamp_distill_stats st;
    struct iamp_distill_opts o = {.value_coef = 0.5f, .ref = ref_model};
    iamp_distill_work_init(&w);
    cr_assert_eq(iamp_distill_grad(&model, &task, ex, n, scale, &o, &w, &st, NULL, NULL), 0);
    iamp_distill_work_release(&w);
    float *g = malloc(model.n_params * sizeof(float));
    memcpy(g, model.grads, model.n_params * sizeof(float));
    if (loss)
        *loss = st.loss;
    return g;
}

Test(distill, shares_of_a_batch_sum_to_the_batch_gradient)
{
    struct iamp_example ex[40];
    make_examples(ex, 40, 1);
    double l_all, l1, l2, l3;
    float *all = grad_of(ex, 40, 1.0f / 40, &l_all);
    float *g1 = grad_of(ex, 13, 1.0f / 40, &l1);
    float *g2 = grad_of(ex + 13, 14, 1.0f / 40, &l2);
    float *g3 = grad_of(ex + 27, 13, 1.0f / 40, &l3);
    cr_assert_float_eq(l_all, l1 + l2 + l3, 1e-5);
    for (size_t i = 0; i < model.n_params; i++)
        cr_assert_float_eq(all[i], g1[i] + g2[i] + g3[i], 1e-5, "parameter %zu", i);
    free(all);
    free(g1);
    free(g2);
    free(g3);
}

Test(distill, shares_sum_to_the_batch_gradient_with_entropy_and_kl)
{
    struct iamp_model ref;
    struct iamp_rng r;
    cr_assert_eq(iamp_model_init(&ref, &model.cfg), 0);
    iamp_rng_seed(&r, 5, 0);
    iamp_model_reset(&ref, &r);
    ref_model = &ref;
    struct iamp_example ex[30];
    make_examples(ex, 30, 1);
    for (int i = 0; i < 30; i++) {
        ex[i].entropy_weight = 0.1f * (float)(i % 3);
        ex[i].kl_weight = 0.2f * (float)(i % 4);
    }
    double l_all, l1, l2;
    float *all = grad_of(ex, 30, 1.0f / 30, &l_all);
    float *g1 = grad_of(ex, 11, 1.0f / 30, &l1);
    float *g2 = grad_of(ex + 11, 19, 1.0f / 30, &l2);
    cr_assert_float_eq(l_all, l1 + l2, 1e-5);
    for (size_t i = 0; i < model.n_params; i++)
        cr_assert_float_eq(all[i], g1[i] + g2[i], 1e-5, "parameter %zu", i);
    /* The terms change the gradient: without them it differs. */
    for (int i = 0; i < 30; i++)
        ex[i].entropy_weight = ex[i].kl_weight = 0.0f;
    float *plain = grad_of(ex, 30, 1.0f / 30, NULL);
    double diff = 0.0;
    for (size_t i = 0; i < model.n_params; i++)
        diff += fabs(plain[i] - all[i]);
    cr_assert_gt(diff, 1e-3);
    ref_model = NULL;
    free(all);
    free(g1);
    free(g2);
    free(plain);
    iamp_model_release(&ref);
}

Test(distill, kl_term_without_a_reference_is_refused)
{
    struct iamp_example ex[4];
    make_examples(ex, 4, 0);
    ex[2].kl_weight = 1.0f;
    struct iamp_distill_work w;
    struct iamp_distill_stats st;
    struct iamp_distill_opts o = {.value_coef = 0.5f, .ref = NULL};
    iamp_distill_work_init(&w);
    cr_assert_eq(iamp_distill_grad(&model, &task, ex, 4, 1.0f, &o, &w, &st, NULL, NULL),
                 IAMP_EINVAL);
    iamp_distill_work_release(&w);
}

Test(distill, negating_weights_negates_the_policy_gradient)
{
    struct iamp_example ex[10];
    make_examples(ex, 10, 0);
    float *g = grad_of(ex, 10, 0.1f, NULL);
    for (int i = 0; i < 10; i++)
        ex[i].weight = -ex[i].weight;
    float *h = grad_of(ex, 10, 0.1f, NULL);
    int nonzero = 0;
    for (size_t i = 0; i < model.n_params; i++) {
        cr_assert_float_eq(g[i], -h[i], 1e-6);
        nonzero += g[i] != 0.0f;
    }
    cr_assert_gt(nonzero, 100);
    free(g);
    free(h);
}

Test(distill, value_term_only_when_a_target_is_given)
{
    struct iamp_example ex[8];
    make_examples(ex, 8, 0);
    for (int i = 0; i < 8; i++)
        ex[i].weight = 0.0f;
    double loss;
    float *g = grad_of(ex, 8, 1.0f, &loss);
    cr_assert_float_eq(loss, 0.0, 1e-12);
    cr_assert_eq(g[IAMP_MLP(&model)->lay.bv], 0.0f);
    free(g);
    for (int i = 0; i < 8; i++)
        ex[i].value_target = 3.0f; /* far above the untrained head's output */
    g = grad_of(ex, 8, 1.0f, &loss);
    cr_assert_gt(loss, 1.0);
    cr_assert_lt(g[IAMP_MLP(&model)->lay.bv], 0.0f, "raising the bias lowers the error");
    free(g);
}

/* ---------------------------------------------------------------- bandit */

/* A one-question bandit: the answer a in [0, 16) of question q earns a
 * known reward. J = sum_a p(a) r(a); the REINFORCE estimate of -grad J
 * from a sampled a is -(r(a) - b) grad log p(a). */
static const double bandit_reward[16] = {0.9,  0.6, 0.75, 1.0, 0.55, 0.8,  0.7,  0.65,
                                         0.95, 0.5, 0.85, 0.6, 0.75, 0.55, 0.65, 0.9};
static const struct iamp_question bandit_q = {.type = 0, .len = 2, .tok = {3, 16 + 5 - 1}};

/* Exact gradient of -J, by the model's backward from dlogits of -J. */
static float *exact_gradient(double *J)
{
    struct iamp_rows rows;
    struct iamp_answer a = {.len = 1, .tok = {0}};
    iamp_rows_init(&rows);
    cr_assert_eq(iamp_rows_teacher(&rows, &model, &task, &bandit_q, &a, 1), 0);
    cr_assert_eq(iamp_model_forward(&model, rows.in, 1), 0);
    float p[32], d[32] = {0};
    cr_assert_leq(model.cfg.vocab, 32);
    iamp_softmax_range(model.logits, 0, 16, 1.0f, p);
    *J = 0.0;
    for (int v = 0; v < 16; v++)
        *J += p[v] * bandit_reward[v];
    for (int v = 0; v < 16; v++)
        d[v] = (float)(-p[v] * (bandit_reward[v] - *J));
    iamp_model_backward(&model, d, NULL, NULL, NULL, NULL);
    iamp_rows_release(&rows);
    float *g = malloc(model.n_params * sizeof(float));
    memcpy(g, model.grads, model.n_params * sizeof(float));
    return g;
}

/* n reinforce examples with answers sampled from M, baseline b and
 * policy coefficient coef. */
static void bandit_examples(struct iamp_example *ex, int n, float b, float coef, struct iamp_rng *r)
{
    struct iamp_question *qs = malloc((size_t)n * sizeof(*qs));
    struct iamp_answer *as = malloc((size_t)n * sizeof(*as));
    for (int i = 0; i < n; i++)
        qs[i] = bandit_q;
    cr_assert_eq(iamp_policy_answer(&model, &task, qs, n, IAMP_DECODE_SAMPLE, 1.0f, r, as), 0);
    for (int i = 0; i < n; i++)
        iamp_example_reinforce(&ex[i], &bandit_q, &as[i], (float)bandit_reward[as[i].tok[0]], b,
                               coef, 0.0f);
    free(qs);
    free(as);
}

/* The estimator's gradient (policy term only: value_coef 0). */
static float *estimate(const struct iamp_example *ex, int n)
{
    struct iamp_distill_work w;
    struct iamp_distill_stats st;
    struct iamp_distill_opts o = {.value_coef = 0.0f};
    iamp_distill_work_init(&w);
    cr_assert_eq(iamp_distill_grad(&model, &task, ex, n, 1.0f / (float)n, &o, &w, &st, NULL, NULL),
                 0);
    iamp_distill_work_release(&w);
    float *g = malloc(model.n_params * sizeof(float));
    memcpy(g, model.grads, model.n_params * sizeof(float));
    return g;
}

static double rel_error(const float *a, const float *b)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < model.n_params; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num / den);
}

/* Total variance (sum over parameters) of single-sample estimates. */
static double estimator_variance(float b, struct iamp_rng *r, int draws)
{
    size_t P = model.n_params;
    double *sum = calloc(P, sizeof(double)), sq = 0.0;
    struct iamp_example ex;
    for (int k = 0; k < draws; k++) {
        bandit_examples(&ex, 1, b, 1.0f, r);
        float *g = estimate(&ex, 1);
        for (size_t i = 0; i < P; i++) {
            sum[i] += g[i];
            sq += (double)g[i] * g[i];
        }
        free(g);
    }
    double mean_sq = 0.0;
    for (size_t i = 0; i < P; i++)
        mean_sq += (sum[i] / draws) * (sum[i] / draws);
    free(sum);
    return sq / draws - mean_sq;
}

/* Fit the value head to the rewards with the reinforce examples' value
 * term alone (policy coefficient 0), as training does with its own. */
static void fit_baseline(struct iamp_rng *r)
{
    struct iamp_adam adam;
    struct iamp_distill_work w;
    struct iamp_distill_stats st;
    struct iamp_distill_opts o = {.value_coef = 0.5f};
    struct iamp_example ex[32];
    cr_assert_eq(iamp_adam_init(&adam, model.n_params, 1e-2f), 0);
    iamp_distill_work_init(&w);
    for (int step = 0; step < 300; step++) {
        bandit_examples(ex, 32, 0.0f, 0.0f, r);
        cr_assert_eq(iamp_distill_grad(&model, &task, ex, 32, 1.0f / 32, &o, &w, &st, NULL, NULL),
                     0);
        iamp_adam_step(&adam, model.params, model.grads);
    }
    iamp_distill_work_release(&w);
    iamp_adam_release(&adam);
}

Test(distill, reinforce_estimator_matches_the_exact_policy_gradient)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 21, 0);
    double J;
    float *exact = exact_gradient(&J);
    enum { N = 160000 };
    struct iamp_example *ex = malloc(N * sizeof(*ex));
    const float baselines[2] = {0.0f, 0.5f};
    for (int k = 0; k < 2; k++) {
        bandit_examples(ex, N, baselines[k], 1.0f, &r);
        float *est = estimate(ex, N);
        double err = rel_error(est, exact);
        cr_log_info("baseline %.1f: relative error of the mean estimate %.4f\n", baselines[k], err);
        cr_assert_lt(err, 0.06, "baseline %.1f: mean estimate off by %.3f", baselines[k], err);
        free(est);
    }
    /* The test can fail: an estimator that misreads the rewards (doubles
     * those of answers below 8) is caught. A constant shift of every
     * weight would not be: that is a baseline, and unbiased. */
    bandit_examples(ex, N, 0.5f, 1.0f, &r);
    for (int i = 0; i < N; i++)
        if (ex[i].a.tok[0] < 8)
            ex[i].weight += ex[i].value_target;
    float *biased = estimate(ex, N);
    double berr = rel_error(biased, exact);
    cr_log_info("misread rewards: relative error %.4f\n", berr);
    cr_assert_gt(berr, 0.2);
    free(biased);
    free(ex);
    free(exact);
}

Test(distill, learned_value_baseline_cuts_the_estimator_variance)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 22, 0);
    fit_baseline(&r);
    double J;
    float *exact = exact_gradient(&J);
    float v;
    cr_assert_eq(iamp_policy_values(&model, &task, &bandit_q, 1, &v), 0);
    cr_log_info("E[r] = %.4f, learned V(q) = %.4f\n", J, v);
    cr_assert_float_eq(v, J, 0.03, "the value head learned E[r]");
    double var0 = estimator_variance(0.0f, &r, 600);
    double varb = estimator_variance(v, &r, 600);
    cr_log_info("estimator variance: no baseline %.5g, learned baseline %.5g (x%.3f)\n", var0, varb,
                varb / var0);
    cr_assert_lt(varb, 0.25 * var0, "baseline: variance %.4g vs %.4g without", varb, var0);
    /* Still unbiased with the learned baseline. */
    enum { N = 40000 };
    struct iamp_example *ex = malloc(N * sizeof(*ex));
    bandit_examples(ex, N, v, 1.0f, &r);
    float *est = estimate(ex, N);
    cr_assert_lt(rel_error(est, exact), 0.08);
    free(est);
    free(ex);
    free(exact);
}

/* ------------------------------------------------ continuous answers */

/* A model with the continuous head on markov:s=4,kmax=4 (continuous
 * answers), its examples and p_ref. */
struct cont_fixture {
    struct iamp_task t;
    struct iamp_model m, ref;
    struct iamp_example ex[12];
};

static void cont_setup(struct cont_fixture *f)
{
    char err[128];
    struct iamp_rng r;
    cr_assert_eq(iamp_task_create(&f->t, "markov:s=4,kmax=4,succ=2", err, sizeof(err)), 0);
    struct iamp_model_config c = {.vocab = f->t.vocab,
                                  .n_types = f->t.n_types,
                                  .q_len = f->t.q_len,
                                  .a_len = f->t.a_len,
                                  .embed = 3,
                                  .hidden = 6,
                                  .layers = 2,
                                  .cont = 1,
                                  .pair = 0};
    cr_assert_eq(iamp_model_init(&f->m, &c), 0);
    cr_assert_eq(iamp_model_init(&f->ref, &c), 0);
    iamp_rng_seed(&r, 11, 0);
    iamp_model_reset(&f->m, &r);
    iamp_model_reset(&f->ref, &r);
    for (size_t i = 0; i < f->m.n_params; i++) /* biases away from zero */
        f->m.params[i] += 0.05f * (float)iamp_rng_normal(&r);
    for (int i = 0; i < 12; i++) {
        struct iamp_answer a = {.len = 0, .value = (float)iamp_rng_uniform(&r)};
        f->t.ops->sample(&f->t, &r, f->t.max_difficulty, &f->ex[i].q);
        iamp_example_imitate(&f->ex[i], &f->ex[i].q, &a, 0.3f + (float)(i % 4));
        f->ex[i].value_target = i % 3 ? (float)iamp_rng_uniform(&r) : NAN;
        f->ex[i].entropy_weight = 0.2f * (float)(i % 2);
        f->ex[i].kl_weight = 0.4f * (float)(i % 3);
    }
    f->ex[5].a.value = 0.0f; /* the clamped ends too */
    f->ex[6].a.value = 1.0f;
}

static void cont_teardown(struct cont_fixture *f)
{
    iamp_model_release(&f->m);
    iamp_model_release(&f->ref);
    iamp_task_destroy(&f->t);
}

static double cont_loss(struct cont_fixture *f, int n, float scale)
{
    struct iamp_distill_work w;
    struct iamp_distill_stats st;
    struct iamp_distill_opts o = {.value_coef = 0.5f, .ref = &f->ref};
    iamp_distill_work_init(&w);
    cr_assert_eq(iamp_distill_grad(&f->m, &f->t, f->ex, n, scale, &o, &w, &st, NULL, NULL), 0);
    iamp_distill_work_release(&w);
    return st.loss;
}

Test(distill, continuous_log_density_gradient_matches_finite_differences, .timeout = 30)
{
    struct cont_fixture f;
    cont_setup(&f);
    cont_loss(&f, 12, 0.5f);
    float *analytic = malloc(f.m.n_params * sizeof(float));
    memcpy(analytic, f.m.grads, f.m.n_params * sizeof(float));
    const float eps = 1e-3f;
    size_t bad = 0;
    double worst = 0.0, gc = 0.0;
    for (size_t i = 0; i < f.m.n_params; i++) {
        float keep = f.m.params[i];
        f.m.params[i] = keep + eps;
        double lp = cont_loss(&f, 12, 0.5f);
        f.m.params[i] = keep - eps;
        double lm = cont_loss(&f, 12, 0.5f);
        f.m.params[i] = keep;
        double num = (lp - lm) / (2.0 * eps), err = fabs(num - analytic[i]);
        bad += err > 2e-3 + 2e-2 * fabs(num);
        worst = err > worst ? err : worst;
        if (i < IAMP_MLP(&f.m)->lay.wv)
            gc += fabs(analytic[i]);
    }
    cr_assert_eq(bad, 0, "%zu of %zu gradients disagree (worst abs error %g)", bad, f.m.n_params,
                 worst);
    cr_assert_gt(gc, 1e-2, "the continuous head gets a gradient");
    free(analytic);
    cont_teardown(&f);
}

Test(distill, continuous_shares_sum_to_the_batch_gradient, .timeout = 30)
{
    struct cont_fixture f;
    cont_setup(&f);
    double l_all = cont_loss(&f, 12, 1.0f / 12), l1, l2;
    float *all = malloc(f.m.n_params * sizeof(float));
    memcpy(all, f.m.grads, f.m.n_params * sizeof(float));
    l1 = cont_loss(&f, 5, 1.0f / 12);
    float *g1 = malloc(f.m.n_params * sizeof(float));
    memcpy(g1, f.m.grads, f.m.n_params * sizeof(float));
    struct iamp_example keep[12];
    memcpy(keep, f.ex, sizeof(keep));
    memmove(f.ex, f.ex + 5, 7 * sizeof(f.ex[0]));
    l2 = cont_loss(&f, 7, 1.0f / 12);
    cr_assert_float_eq(l_all, l1 + l2, 1e-5);
    for (size_t i = 0; i < f.m.n_params; i++)
        cr_assert_float_eq(all[i], g1[i] + f.m.grads[i], 1e-5, "parameter %zu", i);
    free(all);
    free(g1);
    cont_teardown(&f);
}

/* ------------------------------------------------ per-prefix baseline */

/* A sequence bandit: trajectory:n=3,lmax=2 (answers are up to 3 tokens in
 * [0, 4), END = 3) on one question; the reward of an answer is its share
 * of positions agreeing with the true list. Small enough to enumerate
 * every answer for the exact gradient. */
struct seq_fixture {
    struct iamp_task t;
    struct iamp_model m;
    struct iamp_question q;
    struct iamp_answer truth;
    int n_all;
    struct iamp_answer all[64]; /* every answer M can give */
};

static double seq_reward(struct seq_fixture *f, const struct iamp_answer *a)
{
    return iamp_task_approval_compare(&f->t, &f->q, a, &f->truth);
}

static void seq_setup(struct seq_fixture *f)
{
    char err[128];
    struct iamp_rng r;
    memset(f, 0, sizeof(*f));
    cr_assert_eq(iamp_task_create(&f->t, "trajectory:n=3,lmax=2,seed=2", err, sizeof(err)), 0);
    struct iamp_model_config c = {.vocab = f->t.vocab,
                                  .n_types = f->t.n_types,
                                  .q_len = f->t.q_len,
                                  .a_len = f->t.a_len,
                                  .embed = 8,
                                  .hidden = 32,
                                  .layers = 2,
                                  .cont = 0,
                                  .pair = 0};
    cr_assert_eq(iamp_model_init(&f->m, &c), 0);
    iamp_rng_seed(&r, 17, 0);
    iamp_model_reset(&f->m, &r);
    cr_assert_eq(f->t.ops->parse_question(&f->t, "traj x=0 l=2", &f->q, err, sizeof(err)), 0);
    iamp_task_truth(&f->t, &f->q, &f->truth);
    /* END alone; e END; e e END; e e e (cut at the cap of 3). */
    for (int v = 0; v < 6; v++) /* lengths 1, 2, 3 with END; 3 without */
        for (int code = 0; code < 27; code++) {
            int len = v < 3 ? v + 1 : 3;
            struct iamp_answer a = {.len = (uint16_t)len};
            int x = code, ok = 1;
            for (int j = 0; j < len; j++, x /= 3)
                a.tok[j] = (uint16_t)(x % 3);
            if (v < 3)
                a.tok[len - 1] = 3;
            for (int k = 0; k < f->n_all; k++)
                ok &= !iamp_answer_equal(&a, &f->all[k]);
            if (ok && iamp_answer_valid(&f->t, &f->q, &a))
                f->all[f->n_all++] = a;
        }
    cr_assert_eq(f->n_all, 1 + 3 + 9 + 27);
}

static float *seq_grad(struct seq_fixture *f, const struct iamp_example *ex, int n, float scale)
{
    struct iamp_distill_work w;
    struct iamp_distill_stats st;
    struct iamp_distill_opts o = {.value_coef = 0.0f};
    iamp_distill_work_init(&w);
    cr_assert_eq(iamp_distill_grad(&f->m, &f->t, ex, n, scale, &o, &w, &st, NULL, NULL), 0);
    iamp_distill_work_release(&w);
    float *g = malloc(f->m.n_params * sizeof(float));
    memcpy(g, f->m.grads, f->m.n_params * sizeof(float));
    return g;
}

/* -grad E[R], by enumeration: examples weighted p(a) R(a). */
static float *seq_exact(struct seq_fixture *f)
{
    struct iamp_question qs[64];
    struct iamp_example ex[64];
    double logp[64], total = 0.0;
    for (int k = 0; k < f->n_all; k++)
        qs[k] = f->q;
    cr_assert_eq(iamp_policy_logprob(&f->m, &f->t, qs, f->all, f->n_all, logp), 0);
    for (int k = 0; k < f->n_all; k++) {
        total += exp(logp[k]);
        iamp_example_imitate(&ex[k], &f->q, &f->all[k],
                             (float)(exp(logp[k]) * seq_reward(f, &f->all[k])));
    }
    cr_assert_float_eq(total, 1.0, 1e-4, "the answers' probabilities sum to one");
    return seq_grad(f, ex, f->n_all, 1.0f);
}

enum { SEQ_NONE = 0, SEQ_QUESTION = 1, SEQ_PREFIX = 2 };

/* n single-sample examples of one estimator. */
static void seq_examples(struct seq_fixture *f, int kind, float vq, struct iamp_example *ex, int n,
                         struct iamp_rng *r)
{
    struct iamp_question *qs = malloc((size_t)n * sizeof(*qs));
    struct iamp_answer *as = malloc((size_t)n * sizeof(*as));
    for (int i = 0; i < n; i++)
        qs[i] = f->q;
    cr_assert_eq(iamp_policy_answer(&f->m, &f->t, qs, n, IAMP_DECODE_SAMPLE, 1.0f, r, as), 0);
    for (int i = 0; i < n; i++) {
        float R = (float)seq_reward(f, &as[i]);
        if (kind == SEQ_PREFIX)
            iamp_example_reinforce_prefix(&ex[i], &f->q, &as[i], R, 1.0f, 0.0f);
        else
            iamp_example_reinforce(&ex[i], &f->q, &as[i], R, kind == SEQ_QUESTION ? vq : 0.0f, 1.0f,
                                   0.0f);
    }
    free(qs);
    free(as);
}

/* Fit the value head on every prefix of sampled answers (policy weight 0). */
static void seq_fit_values(struct seq_fixture *f, struct iamp_rng *r)
{
    struct iamp_adam adam;
    struct iamp_distill_work w;
    struct iamp_distill_stats st;
    struct iamp_distill_opts o = {.value_coef = 0.5f};
    struct iamp_example ex[64];
    cr_assert_eq(iamp_adam_init(&adam, f->m.n_params, 1e-2f), 0);
    iamp_distill_work_init(&w);
    for (int step = 0; step < 400; step++) {
        seq_examples(f, SEQ_PREFIX, 0.0f, ex, 64, r);
        for (int i = 0; i < 64; i++)
            ex[i].weight = 0.0f;
        cr_assert_eq(iamp_distill_grad(&f->m, &f->t, ex, 64, 1.0f / 64, &o, &w, &st, NULL, NULL),
                     0);
        iamp_adam_step(&adam, f->m.params, f->m.grads);
    }
    iamp_distill_work_release(&w);
    iamp_adam_release(&adam);
}

static double seq_variance(struct seq_fixture *f, int kind, float vq, struct iamp_rng *r, int draws)
{
    size_t P = f->m.n_params;
    double *sum = calloc(P, sizeof(double)), sq = 0.0, mean_sq = 0.0;
    struct iamp_example ex;
    for (int k = 0; k < draws; k++) {
        seq_examples(f, kind, vq, &ex, 1, r);
        float *g = seq_grad(f, &ex, 1, 1.0f);
        for (size_t i = 0; i < P; i++) {
            sum[i] += g[i];
            sq += (double)g[i] * g[i];
        }
        free(g);
    }
    for (size_t i = 0; i < P; i++)
        mean_sq += (sum[i] / draws) * (sum[i] / draws);
    free(sum);
    return sq / draws - mean_sq;
}

static double seq_rel_error(const float *a, const float *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num / den);
}

Test(distill, per_prefix_baseline_is_unbiased_and_cuts_the_variance, .timeout = 60)
{
    struct seq_fixture f;
    struct iamp_rng r;
    seq_setup(&f);
    iamp_rng_seed(&r, 23, 0);
    seq_fit_values(&f, &r);
    float *exact = seq_exact(&f), vq;
    cr_assert_eq(iamp_policy_values(&f.m, &f.t, &f.q, 1, &vq), 0);
    /* Unbiased: the mean of many per-prefix estimates is the gradient. */
    enum { N = 40000 };
    struct iamp_example *ex = malloc(N * sizeof(*ex));
    seq_examples(&f, SEQ_PREFIX, 0.0f, ex, N, &r);
    float *est = seq_grad(&f, ex, N, 1.0f / N);
    double err = seq_rel_error(est, exact, f.m.n_params);
    cr_log_info("per-prefix baseline: relative error of the mean estimate %.4f\n", err);
    cr_assert_lt(err, 0.08);
    free(est);
    free(ex);
    double v0 = seq_variance(&f, SEQ_NONE, vq, &r, 800);
    double v1 = seq_variance(&f, SEQ_QUESTION, vq, &r, 800);
    double v2 = seq_variance(&f, SEQ_PREFIX, vq, &r, 800);
    cr_log_info("gradient variance: no baseline %.5g, V(q) %.5g (x%.3f), per prefix %.5g (x%.3f "
                "of V(q))\n",
                v0, v1, v1 / v0, v2, v2 / v1);
    cr_assert_lt(v1, v0, "the question's baseline helps");
    cr_assert_lt(v2, 0.5 * v1, "per prefix: %.4g vs %.4g with V(q) alone", v2, v1);
    free(exact);
    iamp_model_release(&f.m);
    iamp_task_destroy(&f.t);
}

Test(distill, shares_sum_with_prefix_baselines, .timeout = 30)
{
    struct seq_fixture f;
    struct iamp_rng r;
    struct iamp_example ex[30];
    seq_setup(&f);
    iamp_rng_seed(&r, 5, 0);
    seq_examples(&f, SEQ_PREFIX, 0.0f, ex, 30, &r);
    for (int i = 0; i < 30; i += 3)
        ex[i].prefix_baseline = 0; /* mixed with plain examples */
    struct iamp_distill_work w;
    struct iamp_distill_stats st;
    struct iamp_distill_opts o = {.value_coef = 0.5f};
    double la, l1, l2;
    iamp_distill_work_init(&w);
    cr_assert_eq(iamp_distill_grad(&f.m, &f.t, ex, 30, 1.0f / 30, &o, &w, &st, NULL, NULL), 0);
    la = st.loss;
    float *all = malloc(f.m.n_params * sizeof(float)), *g1 = malloc(f.m.n_params * sizeof(float));
    memcpy(all, f.m.grads, f.m.n_params * sizeof(float));
    cr_assert_eq(iamp_distill_grad(&f.m, &f.t, ex, 13, 1.0f / 30, &o, &w, &st, NULL, NULL), 0);
    l1 = st.loss;
    memcpy(g1, f.m.grads, f.m.n_params * sizeof(float));
    cr_assert_eq(iamp_distill_grad(&f.m, &f.t, ex + 13, 17, 1.0f / 30, &o, &w, &st, NULL, NULL), 0);
    l2 = st.loss;
    cr_assert_float_eq(la, l1 + l2, 1e-5);
    for (size_t i = 0; i < f.m.n_params; i++)
        cr_assert_float_eq(all[i], g1[i] + f.m.grads[i], 1e-5, "parameter %zu", i);
    iamp_distill_work_release(&w);
    free(all);
    free(g1);
    iamp_model_release(&f.m);
    iamp_task_destroy(&f.t);
}
