/* test_markov.c — the continuous task: the chain is stochastic and fixed
 * by the seed, ground truth is the matrix power (checked against a naive
 * step-by-step propagation), H with a perfect oracle equals ground truth
 * on every question (even and odd K), answers are values in [0, 1], the
 * checker's tolerance and mae, approval and agreement, the text syntax,
 * the sampler's levels and the eval set. */
#include "task_helpers.h"

static struct iamp_question prob_q(int s, int u, int t, int k)
{
    return (struct iamp_question){
        .type = 0, .len = 3, .tok = {(uint16_t)u, (uint16_t)t, (uint16_t)(s + k - 1)}};
}

static double truth_of(const struct iamp_task *t, int s, int u, int v, int k)
{
    struct iamp_question q = prob_q(s, u, v, k);
    struct iamp_answer a;
    iamp_task_truth(t, &q, &a);
    cr_assert_eq(a.len, 0, "continuous answers have no tokens");
    return a.value;
}

Test(markov, chain_is_stochastic_with_succ_successors, .timeout = 10)
{
    struct iamp_task t = make("markov"), same = make("markov:seed=1"),
                     other = make("markov:seed=2");
    cr_assert_str_eq(t.spec, "markov:s=8,seed=1,succ=3,kmax=32");
    cr_assert_eq(t.continuous, 1u);
    int differ = 0;
    for (int u = 0; u < 8; u++) {
        double sum = 0.0;
        int nz = 0;
        for (int v = 0; v < 8; v++) {
            double p = truth_of(&t, 8, u, v, 1);
            sum += p;
            nz += p > 0.0;
            cr_assert_eq(p, truth_of(&same, 8, u, v, 1));
            differ += p != truth_of(&other, 8, u, v, 1);
        }
        cr_assert_float_eq(sum, 1.0, 1e-6, "row %d", u);
        cr_assert_eq(nz, 3, "row %d has %d successors", u, nz);
    }
    cr_assert_gt(differ, 0);
    iamp_task_destroy(&t);
    iamp_task_destroy(&same);
    iamp_task_destroy(&other);
}

Test(markov, truth_is_the_k_step_distribution, .timeout = 10)
{
    struct iamp_task t = make("markov:s=5,succ=2,seed=3");
    double p[5][5], dist[5], next[5];
    for (int u = 0; u < 5; u++)
        for (int v = 0; v < 5; v++)
            p[u][v] = truth_of(&t, 5, u, v, 1);
    for (int u = 0; u < 5; u++) {
        for (int v = 0; v < 5; v++)
            dist[v] = v == u;
        for (int k = 1; k <= 32; k++) {
            double sum = 0.0;
            for (int v = 0; v < 5; v++) {
                next[v] = 0.0;
                for (int w = 0; w < 5; w++)
                    next[v] += dist[w] * p[w][v];
            }
            for (int v = 0; v < 5; v++) {
                dist[v] = next[v];
                sum += dist[v];
                cr_assert_float_eq(truth_of(&t, 5, u, v, k), dist[v], 1e-6, "u=%d v=%d k=%d", u, v,
                                   k);
            }
            cr_assert_float_eq(sum, 1.0, 1e-6);
        }
    }
    iamp_task_destroy(&t);
}

Test(markov, overseer_with_perfect_oracle_equals_truth, .timeout = 30)
{
    struct iamp_task t = make("markov");
    for (int k = 1; k <= 32; k++)
        for (int u = 0; u < 8; u++)
            for (int v = 0; v < 8; v++) {
                struct iamp_question q = prob_q(8, u, v, k);
                struct iamp_answer got, want;
                run_with_oracle(&t, &q, NULL, &got);
                iamp_task_truth(&t, &q, &want);
                cr_assert(iamp_answer_valid(&t, &q, &got));
                cr_assert_float_eq(got.value, want.value, 1e-6, "u=%d t=%d k=%d", u, v, k);
                cr_assert(iamp_task_correct(&t, &q, &got));
            }
    iamp_task_destroy(&t);
}

Test(markov, overseer_works_at_the_largest_chain, .timeout = 10)
{
    struct iamp_task t = make("markov:s=16,succ=16,kmax=8");
    for (int k = 1; k <= 8; k++) {
        struct iamp_question q = prob_q(16, 3, 11, k);
        struct iamp_answer got, want;
        run_with_oracle(&t, &q, NULL, &got);
        iamp_task_truth(&t, &q, &want);
        cr_assert_float_eq(got.value, want.value, 1e-6, "k=%d", k);
    }
    iamp_task_destroy(&t);
}

/* Subanswers out of range are clamped; H's answer stays in [0, 1]. */
static void wild_oracle(const struct iamp_task *t, const struct iamp_question *q,
                        struct iamp_answer *a)
{
    (void)t;
    memset(a, 0, sizeof(*a));
    a->value = q->tok[0] % 2 ? 7.0f : -3.0f;
}

Test(markov, overseer_clamps_wild_subanswers, .timeout = 10)
{
    struct iamp_task t = make("markov");
    for (int k = 2; k <= 9; k++) {
        struct iamp_question q = prob_q(8, 1, 2, k);
        struct iamp_answer got;
        run_with_oracle(&t, &q, wild_oracle, &got);
        cr_assert(iamp_answer_valid(&t, &q, &got), "k=%d: %g", k, got.value);
    }
    iamp_task_destroy(&t);
}

Test(markov, checker_tolerance_mae_approval_and_agreement, .timeout = 10)
{
    struct iamp_task t = make("markov");
    struct iamp_question q = prob_q(8, 0, 0, 4);
    struct iamp_answer truth, a;
    double m[IAMP_METRICS_MAX];
    iamp_task_truth(&t, &q, &truth);
    cr_assert_eq(t.n_metrics, 1);
    cr_assert_str_eq(t.metric_names[0], "mae");
    a = truth;
    a.value = truth.value + 0.009f;
    cr_assert(iamp_task_correct(&t, &q, &a));
    iamp_task_metrics(&t, &q, &a, m);
    cr_assert_float_eq(m[0], 0.009, 1e-6);
    a.value = truth.value + 0.02f;
    cr_assert_not(iamp_task_correct(&t, &q, &a));
    cr_assert(iamp_task_compares(&t) && iamp_task_approvable(&t, 0));
    cr_assert_float_eq(iamp_task_approval_compare(&t, &q, &a, &truth), 0.98, 1e-6);
    a.value = truth.value + 0.03f;
    cr_assert_not(iamp_task_agree(&t, &q, &a, &truth), "the curriculum's tolerance is 0.02");
    a.value = truth.value - 0.015f;
    cr_assert(iamp_task_agree(&t, &q, &a, &truth));
    a.len = 1; /* tokens are not a continuous answer */
    cr_assert_not(iamp_answer_valid(&t, &q, &a));
    cr_assert_not(iamp_task_correct(&t, &q, &a));
    char buf[32];
    a = truth;
    a.value = 0.25f;
    t.ops->format_answer(&t, &q, &a, buf, sizeof(buf));
    cr_assert_str_eq(buf, "0.2500");
    iamp_task_destroy(&t);
}

Test(markov, text_round_trips_and_malformed_text_is_refused, .timeout = 10)
{
    struct iamp_task t = make("markov");
    check_round_trip(&t);
    static const char *const bad[] = {"",
                                      "prob",
                                      "prob u=1 t=2",
                                      "prob u=8 t=1 k=1",
                                      "prob u=1 t=8 k=1",
                                      "prob u=1 t=1 k=0",
                                      "prob u=1 t=1 k=33",
                                      "prob u=1 t=1 k=2 x=1",
                                      "traj x=1 l=2"};
    check_rejects(&t, bad, sizeof(bad) / sizeof(bad[0]));
    static const char *const specs[] = {"markov:s=1", "markov:s=17", "markov:succ=0",
                                        "markov:s=4,succ=5", "markov:kmax=65"};
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct iamp_task x;
        char err[256] = "";
        cr_assert_neq(iamp_task_create(&x, specs[i], err, sizeof(err)), 0, "%s", specs[i]);
        cr_assert_gt(strlen(err), 10);
    }
    iamp_task_destroy(&t);
}

Test(markov, sampler_levels_double_and_eval_set_covers_every_k, .timeout = 10)
{
    struct iamp_task t = make("markov");
    cr_assert_eq(t.max_difficulty, 5);
    struct iamp_rng r;
    iamp_rng_seed(&r, 3, 0);
    for (int d = 1; d <= 5; d++) {
        int top = 0, hi = 1 << d;
        for (int i = 0; i < 3000; i++) {
            struct iamp_question q;
            t.ops->sample(&t, &r, d, &q);
            int k = q.tok[2] - 8 + 1;
            cr_assert(k >= 1 && k <= hi, "level %d sampled k=%d", d, k);
            top = k > top ? k : top;
        }
        cr_assert_eq(top, hi);
    }
    struct iamp_question qs[1024];
    int n = t.ops->eval_set(&t, &r, qs, t.eval_size), per[33] = {0};
    cr_assert_eq(n, 1024);
    for (int i = 0; i < n; i++) {
        cr_assert(t.ops->valid_question(&t, &qs[i]));
        per[qs[i].tok[2] - 7]++;
    }
    for (int k = 1; k <= 32; k++)
        cr_assert_eq(per[k], 32);
    iamp_task_destroy(&t);
}
