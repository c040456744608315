/* test_trajectory.c — the sequence task: H with a perfect oracle equals
 * ground truth on every question, H reads short or overlong subanswers
 * safely and always answers L elements and END, the answers are valid
 * sequences within the cap, the checker's exact match and token accuracy,
 * approval by comparison, the text syntax, the sampler's levels and the
 * eval set. */
#include "task_helpers.h"

#include <stdio.h>

/* An answer of elements el[0..k), no END. */
static void element_answer(const int *el, int k, struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < k; i++)
        a->tok[a->len++] = (uint16_t)el[i];
}

Test(trajectory, overseer_with_perfect_oracle_equals_truth, .timeout = 30)
{
    struct iamp_task t = make("trajectory");
    cr_assert_str_eq(t.spec, "trajectory:n=64,seed=1,lmax=32,cap=33");
    for (int l = 1; l <= 32; l++) {
        for (int x = 0; x < 64; x++) {
            char text[64], err[256];
            struct iamp_question q;
            struct iamp_answer got, want;
            snprintf(text, sizeof(text), "traj x=%d l=%d", x, l);
            cr_assert_eq(t.ops->parse_question(&t, text, &q, err, sizeof(err)), 0, "%s", err);
            run_with_oracle(&t, &q, NULL, &got);
            iamp_task_truth(&t, &q, &want);
            cr_assert(iamp_answer_equal(&got, &want), "H wrong on %s", text);
            cr_assert(iamp_answer_valid(&t, &q, &got));
            cr_assert_eq(got.len, l + 1, "L elements and END");
            cr_assert(iamp_task_correct(&t, &q, &got));
        }
    }
    iamp_task_destroy(&t);
}

Test(trajectory, shares_permpows_permutation, .timeout = 10)
{
    struct iamp_task t = make("trajectory:n=16,seed=4"), p = make("permpow:n=16,seed=4");
    for (int x = 0; x < 16; x++) {
        struct iamp_question q = {.type = 0, .len = 2, .tok = {(uint16_t)x, 16 + 15}}, pq;
        struct iamp_answer a, pa;
        iamp_task_truth(&t, &q, &a);
        cr_assert_eq(a.len, 16);
        for (int k = 1; k <= 15; k++) {
            pq = (struct iamp_question){
                .type = 0, .len = 2, .tok = {(uint16_t)x, (uint16_t)(15 + k)}};
            iamp_task_truth(&p, &pq, &pa);
            cr_assert_eq(a.tok[k - 1], pa.tok[0], "sigma^%d(%d)", k, x);
        }
        cr_assert_eq(a.tok[15], 16, "END");
    }
    iamp_task_destroy(&t);
    iamp_task_destroy(&p);
}

/* An oracle whose answers are cut short (END after half) or run on
 * without END to the cap: H still answers L elements and END. */
static void short_oracle(const struct iamp_task *t, const struct iamp_question *q,
                         struct iamp_answer *a)
{
    iamp_task_truth(t, q, a);
    int l = a->len - 1;
    a->tok[l / 2] = a->tok[l];
    a->len = (uint16_t)(l / 2 + 1);
}

static void runaway_oracle(const struct iamp_task *t, const struct iamp_question *q,
                           struct iamp_answer *a)
{
    iamp_task_truth(t, q, a);
    while (a->len < t->a_len)
        a->tok[a->len - 1] = 3, a->tok[a->len++] = 3;
    a->tok[a->len - 1] = 3;
}

Test(trajectory, overseer_reads_malformed_subanswers_safely, .timeout = 10)
{
    struct iamp_task t = make("trajectory");
    for (int l = 2; l <= 32; l++) {
        struct iamp_question q = {.type = 0, .len = 2, .tok = {7, (uint16_t)(64 + l)}};
        struct iamp_answer a, b;
        run_with_oracle(&t, &q, short_oracle, &a);
        run_with_oracle(&t, &q, runaway_oracle, &b);
        cr_assert(iamp_answer_valid(&t, &q, &a) && a.len == l + 1, "l=%d", l);
        cr_assert(iamp_answer_valid(&t, &q, &b) && b.len == l + 1, "l=%d", l);
        cr_assert_eq(a.tok[l], 64);
        cr_assert_eq(b.tok[l], 64);
    }
    iamp_task_destroy(&t);
}

Test(trajectory, answers_are_sequences_closed_by_end_within_the_cap, .timeout = 10)
{
    struct iamp_task t = make("trajectory:n=8,lmax=4,cap=6");
    struct iamp_question q = {.type = 0, .len = 2, .tok = {1, 8 + 3}};
    struct iamp_answer_space sp;
    t.ops->answer_space(&t, &q, &sp);
    cr_assert(sp.lo == 0 && sp.hi == 9 && sp.max_len == 6 && sp.end_tok == 8);
    cr_assert_eq(t.a_len, 6);
    int el[6] = {1, 2, 3, 4, 5, 6};
    struct iamp_answer a;
    element_answer(el, 3, &a);
    a.tok[a.len++] = 8;
    cr_assert(iamp_answer_valid(&t, &q, &a), "three elements and END");
    a.len = 1;
    a.tok[0] = 8;
    cr_assert(iamp_answer_valid(&t, &q, &a), "END alone");
    element_answer(el, 6, &a);
    cr_assert(iamp_answer_valid(&t, &q, &a), "cut at the cap");
    element_answer(el, 4, &a);
    cr_assert_not(iamp_answer_valid(&t, &q, &a), "no END before the cap");
    a.tok[1] = 8;
    cr_assert_not(iamp_answer_valid(&t, &q, &a), "END in the middle");
    char buf[64];
    element_answer(el, 6, &a);
    t.ops->format_answer(&t, &q, &a, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1 2 3 4 5 6 ...");
    iamp_task_destroy(&t);
}

Test(trajectory, checker_counts_exact_matches_and_tokens, .timeout = 10)
{
    struct iamp_task t = make("trajectory:n=16,seed=2");
    struct iamp_question q = {.type = 0, .len = 2, .tok = {5, 16 + 8}};
    struct iamp_answer truth, a;
    double m[IAMP_METRICS_MAX];
    iamp_task_truth(&t, &q, &truth);
    cr_assert_eq(t.n_metrics, 1);
    cr_assert_str_eq(t.metric_names[0], "token_accuracy");
    iamp_task_metrics(&t, &q, &truth, m);
    cr_assert_float_eq(m[0], 1.0, 1e-12);
    a = truth;
    a.tok[2] = (uint16_t)((a.tok[2] + 1) % 16);
    a.tok[5] = (uint16_t)((a.tok[5] + 1) % 16);
    cr_assert_not(iamp_task_correct(&t, &q, &a));
    iamp_task_metrics(&t, &q, &a, m);
    cr_assert_float_eq(m[0], 6.0 / 8.0, 1e-12);
    a = truth; /* one element too many: 8 right of 9 positions */
    a.tok[8] = 3;
    a.tok[9] = 16;
    a.len = 10;
    cr_assert_not(iamp_task_correct(&t, &q, &a));
    iamp_task_metrics(&t, &q, &a, m);
    cr_assert_float_eq(m[0], 8.0 / 9.0, 1e-12);
    a = truth; /* two short: 6 of 8 */
    a.tok[6] = 16;
    a.len = 7;
    iamp_task_metrics(&t, &q, &a, m);
    cr_assert_float_eq(m[0], 6.0 / 8.0, 1e-12);
    iamp_task_destroy(&t);
}

Test(trajectory, approval_is_the_share_of_positions_agreeing, .timeout = 10)
{
    struct iamp_task t = make("trajectory:n=16");
    cr_assert(iamp_task_approvable(&t, 0));
    cr_assert(iamp_task_compares(&t));
    struct iamp_question q = {.type = 0, .len = 2, .tok = {2, 16 + 4}};
    struct iamp_answer amp, x;
    iamp_task_truth(&t, &q, &amp);
    cr_assert_float_eq(iamp_task_approval_compare(&t, &q, &amp, &amp), 1.0, 1e-12);
    x = amp;
    x.tok[0] = (uint16_t)((x.tok[0] + 1) % 16);
    cr_assert_float_eq(iamp_task_approval_compare(&t, &q, &x, &amp), 0.75, 1e-12);
    x.len = 1;
    x.tok[0] = 16; /* END alone: nothing agrees */
    cr_assert_float_eq(iamp_task_approval_compare(&t, &q, &x, &amp), 0.0, 1e-12);
    struct iamp_question aq;
    cr_assert_neq(iamp_task_approval_question(&t, &q, &amp, &aq), 0, "no approval question");
    iamp_task_destroy(&t);
}

Test(trajectory, text_round_trips_and_malformed_text_is_refused, .timeout = 10)
{
    struct iamp_task t = make("trajectory");
    check_round_trip(&t);
    static const char *const bad[] = {"",
                                      "traj",
                                      "traj x=1",
                                      "traj x=1 l=0",
                                      "traj x=64 l=3",
                                      "traj x=1 l=33",
                                      "traj x=1 l=2 k=3",
                                      "pow x=1 k=2",
                                      "traj x=1 x=2",
                                      "traj l=a x=1"};
    check_rejects(&t, bad, sizeof(bad) / sizeof(bad[0]));
    iamp_task_destroy(&t);
}

Test(trajectory, spec_bounds_and_errors, .timeout = 10)
{
    static const struct {
        const char *spec, *needle;
    } cases[] = {{"trajectory:lmax=0", "lmax"},
                 {"trajectory:lmax=48", "lmax"},
                 {"trajectory:cap=10", "cap"},
                 {"trajectory:lmax=8,cap=49", "cap"},
                 {"trajectory:k=3", "k"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_task t;
        char err[256] = "";
        cr_assert_neq(iamp_task_create(&t, cases[i].spec, err, sizeof(err)), 0, "%s",
                      cases[i].spec);
        cr_assert_not_null(strstr(err, cases[i].needle), "%s: %s", cases[i].spec, err);
    }
    struct iamp_task t = make("trajectory:lmax=47");
    cr_assert_eq(t.a_len, IAMP_A_MAX);
    iamp_task_destroy(&t);
}

Test(trajectory, sampler_levels_halve_and_eval_set_covers_every_length, .timeout = 10)
{
    struct iamp_task t = make("trajectory");
    cr_assert_eq(t.max_difficulty, 6);
    struct iamp_rng r;
    iamp_rng_seed(&r, 3, 0);
    for (int d = 1; d <= 6; d++) {
        int top = 0, hi = 1 << (d - 1);
        for (int i = 0; i < 3000; i++) {
            struct iamp_question q;
            t.ops->sample(&t, &r, d, &q);
            int l = q.tok[1] - 64;
            cr_assert(l >= 1 && l <= hi, "level %d sampled l=%d", d, l);
            top = l > top ? l : top;
        }
        cr_assert_eq(top, hi);
    }
    struct iamp_question qs[1024];
    int n = t.ops->eval_set(&t, &r, qs, t.eval_size), per[33] = {0};
    cr_assert_eq(n, 1024);
    for (int i = 0; i < n; i++)
        per[qs[i].tok[1] - 64]++;
    for (int l = 1; l <= 32; l++)
        cr_assert_eq(per[l], 32);
    iamp_task_destroy(&t);
}
