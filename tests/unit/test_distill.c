/* test_distill.c — examples to gradients: splitting a batch across workers
 * and summing their gradients equals the whole batch's gradient (the basis
 * of data-parallel distillation), weights scale the policy term, and the
 * value term follows value_target. */
#include "worker/distill.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct iamp_task task;
static struct iamp_model model;

static void setup(void)
{
    char err[128];
    cr_assert_eq(iamp_task_create(&task, "permpow:n=16,kmax=15", err, sizeof(err)), 0);
    struct iamp_model_config c = {task.vocab, task.n_types, task.q_len, task.a_len, 8, 16, 2};
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
    for (int i = 0; i < n; i++) {
        task.ops->sample(&task, &r, task.max_difficulty, &ex[i].q);
        memset(&ex[i].a, 0, sizeof(ex[i].a));
        ex[i].a.len = 1;
        ex[i].a.tok[0] = (uint16_t)iamp_rng_below(&r, 16);
        ex[i].weight = (float)(iamp_rng_uniform(&r) * 2.0 - 0.5);
        ex[i].value_target = with_value ? (float)iamp_rng_uniform(&r) : NAN;
    }
}

static float *grad_of(const struct iamp_example *ex, int n, float scale, double *loss)
{
    struct iamp_distill_work w;
    struct iamp_distill_stats st;
    struct iamp_distill_opts o = {.value_coef = 0.5f};
    iamp_distill_work_init(&w);
    cr_assert_eq(iamp_distill_grad(&model, &task, ex, n, scale, &o, &w, &st, NULL, NULL), 0);
    iamp_distill_work_release(&w);
    float *g = malloc(model.lay.total * sizeof(float));
    memcpy(g, model.grads, model.lay.total * sizeof(float));
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
    for (size_t i = 0; i < model.lay.total; i++)
        cr_assert_float_eq(all[i], g1[i] + g2[i] + g3[i], 1e-5, "parameter %zu", i);
    free(all);
    free(g1);
    free(g2);
    free(g3);
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
    for (size_t i = 0; i < model.lay.total; i++) {
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
    cr_assert_eq(g[model.lay.bv], 0.0f);
    free(g);
    for (int i = 0; i < 8; i++)
        ex[i].value_target = 3.0f; /* far above the untrained head's output */
    g = grad_of(ex, 8, 1.0f, &loss);
    cr_assert_gt(loss, 1.0);
    cr_assert_lt(g[model.lay.bv], 0.0f, "raising the bias lowers the error");
    free(g);
}
