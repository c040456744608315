/* test_modes.c — the examples each distillation mode builds from one
 * round on tictactoe: reinforce weights the sampled answer by reward minus
 * baseline with the reward as value target and the entropy bonus; mixed
 * adds the imitation example at lambda and puts beta's KL on the sample;
 * search imitates the best-approved candidate, and nothing when no
 * candidate is approved; the warm-up imitates; every approval comes from
 * the task's approval question. Answer domains: reinforce on token
 * sequences (trajectory) uses the per-prefix baseline, and approval by
 * comparison scores every candidate against the amplified answer
 * (trajectory, markov). */
#include "coordinator/train/train.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

enum { N = 64, C = 5 }; /* questions per round; candidates: greedy + 4 samples */

/* One step of `algo` on `spec`, left in tr for inspection. */
static void one_step_on(const char *spec, struct iamp_session *s, struct iamp_trainer *tr,
                        const char *algo, int warmup)
{
    struct iamp_model_opts mo = {8, 32, 2, 0, ""};
    struct iamp_train_opts o;
    struct iamp_round_stats st;
    char err[256];
    cr_assert_eq(iamp_session_open(s, spec, &mo, 1e-3f, 5, err, sizeof(err)), 0, "%s", err);
    iamp_train_opts_default(&o);
    snprintf(o.cfg.algo, sizeof(o.cfg.algo), "%s", algo);
    o.cfg.questions_per_round = N;
    o.cfg.batch = 32;
    o.cfg.eval_size = 30;
    o.cfg.samples = C - 1;
    o.cfg.mix_lambda = 0.25f;
    o.cfg.kl_beta = 0.5f;
    o.cfg.warmup = (uint32_t)warmup;
    cr_assert_eq(iamp_trainer_init(tr, s, &o, NULL, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(iamp_trainer_step(tr, &st), 0);
    cr_assert(!isnan(st.approval));
}

static void one_step(struct iamp_session *s, struct iamp_trainer *tr, const char *algo, int warmup)
{
    one_step_on("tictactoe", s, tr, algo, warmup);
}

static void done(struct iamp_session *s, struct iamp_trainer *tr)
{
    iamp_trainer_release(tr);
    iamp_session_close(s);
}

TestSuite(modes, .timeout = 60);

Test(modes, reinforce_weights_the_sample_by_its_advantage)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    one_step(&s, &tr, "value=imitate,action=reinforce,approve=supervised", 0);
    for (int i = 0; i < N; i++) {
        const struct iamp_example *e = &tr.rd.ex[2 * i];
        cr_assert_eq(tr.rd.n_ex[i], 1);
        if (tr.rd.qs[i].type == 1) {
            cr_assert_eq(tr.rd.mode[i], IAMP_MODE_REINFORCE);
            cr_assert_float_eq(e->weight, tr.rd.score[i * C + 1] - tr.rd.baseline[i], 1e-6,
                               "advantage = reward - baseline");
            cr_assert_float_eq(e->value_target, tr.rd.score[i * C + 1], 1e-6);
            cr_assert_float_eq(e->entropy_weight, 0.01f, 1e-6);
            cr_assert_eq(e->kl_weight, 0.0f);
            cr_assert(iamp_answer_equal(&e->a, &tr.rd.cand[i * C + 1]), "the sampled answer");
        } else {
            cr_assert_float_eq(e->weight, 1.0f, 1e-6);
            cr_assert(isnan(e->value_target));
        }
    }
    done(&s, &tr);
}

Test(modes, mixed_adds_imitation_at_lambda_and_kl_at_beta)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    one_step(&s, &tr, "mixed", 0);
    for (int i = 0; i < N; i++) {
        if (tr.rd.qs[i].type != 1)
            continue;
        cr_assert_eq(tr.rd.n_ex[i], 2);
        cr_assert_float_eq(tr.rd.ex[2 * i].weight, 0.25f, 1e-6, "lambda on the imitation");
        cr_assert(iamp_answer_equal(&tr.rd.ex[2 * i].a, &tr.rd.targets[i]));
        cr_assert_float_eq(tr.rd.ex[2 * i + 1].kl_weight, 0.5f, 1e-6, "beta on the sample");
        cr_assert_float_eq(tr.rd.ex[2 * i + 1].weight,
                           0.75f * (tr.rd.score[i * C + 1] - tr.rd.baseline[i]), 1e-6);
    }
    done(&s, &tr);
}

Test(modes, search_imitates_the_best_approved_candidate)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    one_step(&s, &tr, "search", 0);
    int learned = 0, skipped = 0;
    for (int i = 0; i < N; i++) {
        if (tr.rd.qs[i].type != 1)
            continue;
        float best = 0.0f;
        for (int j = 0; j < C; j++) {
            struct iamp_question aq;
            cr_assert_eq(
                iamp_task_approval_question(&s.task, &tr.rd.qs[i], &tr.rd.cand[i * C + j], &aq), 0);
            cr_assert(!isnan(tr.rd.score[i * C + j]), "every candidate judged");
            best = tr.rd.score[i * C + j] > best ? tr.rd.score[i * C + j] : best;
        }
        cr_assert_eq(tr.rd.n_ex[i], best > 0.0f, "an example only when something is approved");
        learned += tr.rd.n_ex[i];
        skipped += !tr.rd.n_ex[i];
        for (int j = 0; tr.rd.n_ex[i] && j < C; j++)
            if (iamp_answer_equal(&tr.rd.cand[i * C + j], &tr.rd.ex[2 * i].a))
                cr_assert_float_eq(tr.rd.score[i * C + j], best, 1e-6, "the target is the best");
    }
    cr_assert_gt(learned, 0);
    cr_log_info("search: %d questions learned from, %d without an approved candidate\n", learned,
                skipped);
    done(&s, &tr);
}

Test(modes, warmup_imitates_and_judges_only_the_greedy_answer)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    one_step(&s, &tr, "reinforce", 3);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(tr.rd.mode[i], IAMP_MODE_IMITATE);
        cr_assert_eq(tr.rd.n_ex[i], 1);
        cr_assert_float_eq(tr.rd.ex[2 * i].weight, 1.0f, 1e-6);
        if (tr.rd.qs[i].type == 1)
            cr_assert(!isnan(tr.rd.score[i * C]), "the greedy answer's approval is measured");
    }
    cr_assert_not(tr.s->has_ref, "p_ref is taken after the warm-up");
    done(&s, &tr);
}

Test(modes, reinforce_on_sequences_uses_the_per_prefix_baseline)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    one_step_on("trajectory:n=16,lmax=8", &s, &tr, "reinforce", 0);
    for (int i = 0; i < N; i++) {
        const struct iamp_example *e = &tr.rd.ex[2 * i];
        cr_assert_eq(tr.rd.n_ex[i], 1);
        cr_assert(e->prefix_baseline, "a sequence: the baseline is per prefix");
        cr_assert_float_eq(e->weight, 1.0f, 1e-6, "the coefficient; advantages come per row");
        cr_assert_float_eq(e->value_target, tr.rd.score[i * C + 1], 1e-6, "the reward at the end");
        cr_assert(iamp_answer_equal(&e->a, &tr.rd.cand[i * C + 1]));
    }
    done(&s, &tr);
    one_step_on("trajectory:n=16,lmax=8", &s, &tr, "mixed", 0);
    for (int i = 0; i < N; i++) {
        cr_assert_not(tr.rd.ex[2 * i].prefix_baseline, "the imitation example has none");
        cr_assert(tr.rd.ex[2 * i + 1].prefix_baseline);
        cr_assert_float_eq(tr.rd.ex[2 * i + 1].weight, 0.75f, 1e-6, "1 - lambda");
    }
    done(&s, &tr);
}

Test(modes, comparison_approval_scores_candidates_against_the_amplified_answer)
{
    static const char *const specs[] = {"trajectory:n=16,lmax=8", "markov:s=4,kmax=8"};
    for (int k = 0; k < 2; k++) {
        struct iamp_session s;
        struct iamp_trainer tr;
        one_step_on(specs[k], &s, &tr, "mixed", 0); /* targets are the amplified answers */
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < 2; j++)
                cr_assert_float_eq(tr.rd.score[i * C + j],
                                   iamp_task_approval_compare(&s.task, &tr.rd.qs[i],
                                                              &tr.rd.cand[i * C + j],
                                                              &tr.rd.targets[i]),
                                   1e-6, "%s question %d candidate %d", specs[k], i, j);
            cr_assert_not(tr.rd.ex[2 * i + 1].prefix_baseline == (k == 1),
                          "per prefix on sequences only");
        }
        done(&s, &tr);
    }
}
