/* test_permpow.c — the permutation-powering task: H with a perfect
 * subanswer oracle equals ground truth on every question, the text syntax
 * round-trips, malformed text is rejected with a reason, and the spec,
 * sampler and eval set behave. */
#include "tasks/task.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "task_helpers.h"

static void check_all_questions(const char *spec, int n, int kmax)
{
    struct iamp_task t = make(spec);
    for (int k = 1; k <= kmax; k++) {
        for (int x = 0; x < n; x++) {
            char text[64], err[256];
            struct iamp_question q;
            snprintf(text, sizeof(text), "pow x=%d k=%d", x, k);
            cr_assert_eq(t.ops->parse_question(&t, text, &q, err, sizeof(err)), 0, "%s", err);
            struct iamp_answer got, want;
            run_with_oracle(&t, &q, NULL, &got);
            iamp_task_truth(&t, &q, &want);
            cr_assert(iamp_answer_equal(&got, &want), "H wrong on %s", text);
            cr_assert(iamp_answer_valid(&t, &q, &got));
        }
    }
    iamp_task_destroy(&t);
}

Test(permpow, overseer_with_perfect_oracle_equals_truth_default_instance, .timeout = 30)
{
    check_all_questions("permpow", 64, 63);
}

Test(permpow, overseer_with_perfect_oracle_equals_truth_small_instances, .timeout = 30)
{
    check_all_questions("permpow:n=8,kmax=7,seed=3", 8, 7);
    check_all_questions("permpow:n=5,kmax=40,seed=9", 5, 40);
}

Test(permpow, truth_is_sigma_applied_k_times, .timeout = 10)
{
    struct iamp_task t = make("permpow:n=16,seed=4");
    char err[128];
    struct iamp_question q1, qk;
    struct iamp_answer a;
    for (int x = 0; x < 16; x++) {
        int y = x;
        for (int k = 1; k <= 15; k++) {
            char text[64];
            snprintf(text, sizeof(text), "pow x=%d k=1", y);
            cr_assert_eq(t.ops->parse_question(&t, text, &q1, err, sizeof(err)), 0);
            iamp_task_truth(&t, &q1, &a);
            y = a.tok[0];
            snprintf(text, sizeof(text), "pow x=%d k=%d", x, k);
            cr_assert_eq(t.ops->parse_question(&t, text, &qk, err, sizeof(err)), 0);
            iamp_task_truth(&t, &qk, &a);
            cr_assert_eq(a.tok[0], y, "sigma^%d(%d)", k, x);
        }
    }
    iamp_task_destroy(&t);
}

Test(permpow, sigma_is_a_permutation_fixed_by_seed, .timeout = 10)
{
    struct iamp_task a = make("permpow:seed=1"), b = make("permpow:seed=1"),
                     c = make("permpow:seed=2");
    int seen[64] = {0}, differ = 0;
    for (int x = 0; x < 64; x++) {
        struct iamp_question q = {.type = 0, .len = 2, .tok = {(uint16_t)x, 64}};
        struct iamp_answer ra, rb, rc;
        iamp_task_truth(&a, &q, &ra);
        iamp_task_truth(&b, &q, &rb);
        iamp_task_truth(&c, &q, &rc);
        seen[ra.tok[0]]++;
        cr_assert_eq(ra.tok[0], rb.tok[0]);
        differ += ra.tok[0] != rc.tok[0];
    }
    for (int x = 0; x < 64; x++)
        cr_assert_eq(seen[x], 1, "element %d hit %d times", x, seen[x]);
    cr_assert_gt(differ, 0, "seeds 1 and 2 give the same permutation");
    iamp_task_destroy(&a);
    iamp_task_destroy(&b);
    iamp_task_destroy(&c);
}

Test(permpow, format_then_parse_round_trips, .timeout = 10)
{
    struct iamp_task t = make("permpow");
    struct iamp_rng r;
    iamp_rng_seed(&r, 1, 0);
    for (int i = 0; i < 2000; i++) {
        struct iamp_question q, back;
        char text[IAMP_TEXT_MAX], err[256];
        t.ops->sample(&t, &r, t.max_difficulty, &q);
        t.ops->format_question(&t, &q, text, sizeof(text));
        cr_assert_eq(t.ops->parse_question(&t, text, &back, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(memcmp(&q, &back, sizeof(q)), 0, "%s", text);
    }
    iamp_task_destroy(&t);
}

Test(permpow, accepts_any_order_and_spacing, .timeout = 10)
{
    struct iamp_task t = make("permpow");
    struct iamp_question a, b;
    char err[256];
    cr_assert_eq(t.ops->parse_question(&t, "pow x=5 k=37", &a, err, sizeof(err)), 0);
    cr_assert_eq(t.ops->parse_question(&t, "  pow\tk=37   x=5 ", &b, err, sizeof(err)), 0);
    cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
    iamp_task_destroy(&t);
}

Test(permpow, rejects_malformed_text_with_a_reason, .timeout = 10)
{
    static const char *const bad[] = {
        "",
        "pow",
        "pow x=5",
        "pow k=3",
        "pow x=5 k=0",
        "pow x=64 k=3",
        "pow x=5 k=64",
        "pow x=a k=3",
        "pw x=1 k=2",
        "pow x=1 k=2 z=3",
        "pow x=1 x=2",
        "pow x=-1 k=2",
        "pow x= k=2",
        "pow x=1k=2",
        "POW x=1 k=2",
        "pow x=99999999999999999999 k=2",
        "pow x=1 k=2x",
        "pow=1 x=1 k=2",
    };
    struct iamp_task t = make("permpow");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct iamp_question q;
        char err[256] = "";
        cr_assert_neq(t.ops->parse_question(&t, bad[i], &q, err, sizeof(err)), 0, "accepted '%s'",
                      bad[i]);
        cr_assert_gt(strlen(err), 10, "no reason for '%s'", bad[i]);
        cr_assert_null(strchr(err, '\n'), "reason must be one line");
    }
    iamp_task_destroy(&t);
}

Test(permpow, spec_errors_name_the_parameter, .timeout = 10)
{
    static const struct {
        const char *spec, *needle;
    } cases[] = {
        {"permpow:n=1", "n=1"},       {"permpow:n=abc", "n=abc"},   {"permpow:n=5000", "n=5000"},
        {"permpow:bogus=1", "bogus"}, {"permpow:n=8,n=9", "twice"}, {"permpow:kmax=0", "kmax"},
        {"permpow:", "nothing"},      {"permpow:n", "key=value"},   {"nosuchtask", "unknown task"},
        {"permpow:seed=-3", "seed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_task t;
        char err[256] = "";
        cr_assert_neq(iamp_task_create(&t, cases[i].spec, err, sizeof(err)), 0, "%s accepted",
                      cases[i].spec);
        cr_assert_not_null(strstr(err, cases[i].needle), "%s: '%s' lacks '%s'", cases[i].spec, err,
                           cases[i].needle);
    }
}

Test(permpow, canonical_spec_spells_out_every_parameter, .timeout = 10)
{
    struct iamp_task t = make("permpow:seed=7");
    cr_assert_str_eq(t.spec, "permpow:n=64,seed=7,kmax=63");
    iamp_task_destroy(&t);
}

Test(permpow, sampler_respects_difficulty, .timeout = 10)
{
    struct iamp_task t = make("permpow");
    cr_assert_eq(t.max_difficulty, 6);
    struct iamp_rng r;
    iamp_rng_seed(&r, 2, 0);
    for (int d = 1; d <= 6; d++) {
        int top = 0;
        for (int i = 0; i < 3000; i++) {
            struct iamp_question q;
            t.ops->sample(&t, &r, d, &q);
            int k = q.tok[1] - 64 + 1;
            int hi = (1 << d) - 1 > 63 ? 63 : (1 << d) - 1;
            cr_assert(k >= 1 && k <= hi, "level %d sampled k=%d", d, k);
            top = k > top ? k : top;
        }
        cr_assert_eq(top, (1 << d) - 1 > 63 ? 63 : (1 << d) - 1, "level %d never reaches its top",
                     d);
    }
    iamp_task_destroy(&t);
}

Test(permpow, eval_set_covers_every_k, .timeout = 10)
{
    struct iamp_task t = make("permpow");
    struct iamp_question qs[1008];
    struct iamp_rng r;
    iamp_rng_seed(&r, 12345, 0);
    int n = t.ops->eval_set(&t, &r, qs, 1008);
    cr_assert_eq(n, 1008);
    int per_k[64] = {0};
    for (int i = 0; i < n; i++) {
        cr_assert(t.ops->valid_question(&t, &qs[i]));
        per_k[qs[i].tok[1] - 64 + 1]++;
    }
    for (int k = 1; k <= 63; k++)
        cr_assert_eq(per_k[k], 16, "k=%d has %d questions", k, per_k[k]);
    iamp_task_destroy(&t);
}

Test(permpow, approve_is_off_by_default_and_leaves_the_shape_alone, .timeout = 10)
{
    struct iamp_task t = make("permpow"), a = make("permpow:approve=1");
    cr_assert_eq(t.n_types, 1);
    cr_assert_eq(t.q_len, 2);
    cr_assert_eq(t.vocab, 64 + 63);
    cr_assert_eq(t.approve_type, -1);
    cr_assert_not(iamp_task_approvable(&t, 0));
    cr_assert_eq(a.n_types, 2);
    cr_assert_str_eq(a.type_names[1], "approve");
    cr_assert_str_eq(a.spec, "permpow:n=64,seed=1,kmax=63,approve=1");
    cr_assert(iamp_task_approvable(&a, 0));
    cr_assert_not(iamp_task_approvable(&a, 1));
    struct iamp_question q;
    char err[256] = "";
    cr_assert_neq(t.ops->parse_question(&t, "approve x=1 k=2 a=3", &q, err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, "approve=1"), "%s", err);
    cr_assert_eq(a.ops->parse_question(&a, "approve x=1 k=2 a=3", &q, err, sizeof(err)), 0, "%s",
                 err);
    char text[IAMP_TEXT_MAX];
    a.ops->format_question(&a, &q, text, sizeof(text));
    cr_assert_str_eq(text, "approve x=1 k=2 a=3");
    cr_assert_neq(a.ops->parse_question(&a, "approve x=1 k=2 a=64", &q, err, sizeof(err)), 0);
    cr_assert_neq(a.ops->parse_question(&a, "approve x=1 k=2", &q, err, sizeof(err)), 0);
    iamp_task_destroy(&t);
    iamp_task_destroy(&a);
}

Test(permpow, approval_by_overseer_with_oracle_equals_truth, .timeout = 30)
{
    struct iamp_task t = make("permpow:n=8,kmax=7,seed=3,approve=1");
    int yes = 0;
    for (int x = 0; x < 8; x++) {
        for (int k = 1; k <= 7; k++) {
            struct iamp_question q = {
                .type = 0, .len = 2, .tok = {(uint16_t)x, (uint16_t)(8 + k - 1)}};
            struct iamp_answer truth;
            iamp_task_truth(&t, &q, &truth);
            for (int a = 0; a < 8; a++) {
                struct iamp_answer cand = {.len = 1, .tok = {(uint16_t)a}}, got, want;
                struct iamp_question aq;
                cr_assert_eq(iamp_task_approval_question(&t, &q, &cand, &aq), 0);
                cr_assert(t.ops->valid_question(&t, &aq));
                run_with_oracle(&t, &aq, NULL, &got);
                iamp_task_truth(&t, &aq, &want);
                cr_assert(iamp_answer_equal(&got, &want));
                double score = iamp_task_approval_score(&t, &aq, &got);
                cr_assert_float_eq(score, a == truth.tok[0] ? 1.0 : 0.0, 1e-12);
                yes += score > 0.5;
            }
        }
    }
    cr_assert_eq(yes, 8 * 7, "exactly one approved answer per question");
    iamp_task_destroy(&t);
}

/* ---- permpow:context=1: every root its own permutation, as facts ---- */

/* sigma(x) read from the facts by the test itself. */
static int fact_of(const struct iamp_context *c, int x)
{
    for (int f = 0; f < c->n_facts; f++)
        if (c->tok[f][0] == x)
            return c->tok[f][1];
    cr_assert_fail("element %d has no fact", x);
    return -1;
}

static void check_instances(const char *spec, int n, int kmax)
{
    struct iamp_task t = make(spec);
    struct iamp_rng r;
    iamp_rng_seed(&r, 5, 0);
    cr_assert_eq(t.facts_max, n);
    for (int d = 0; d < 12; d++) {
        struct iamp_context c;
        t.ops->draw_context(&t, &r, 1 + d % t.max_difficulty, &c);
        char err[256];
        cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
        cr_assert(c.n_facts >= (n < 9 ? n : 9) && c.n_facts <= n, "%d facts", c.n_facts);
        for (int f = 0; f < c.n_facts; f++) {
            int x = c.tok[f][0];
            for (int k = 1; k <= kmax; k++) {
                char text[64];
                struct iamp_question q;
                snprintf(text, sizeof(text), "pow x=%d k=%d", x, k);
                cr_assert_eq(t.ops->parse_question(&t, text, &q, err, sizeof(err)), 0, "%s", err);
                q.ctx = &c;
                cr_assert(t.ops->valid_question(&t, &q));
                struct iamp_answer got, want;
                run_with_oracle(&t, &q, NULL, &got);
                iamp_task_truth(&t, &q, &want);
                cr_assert(iamp_answer_equal(&got, &want), "H wrong on %s (d %d)", text, d);
                int y = x;
                for (int i = 0; i < k; i++)
                    y = fact_of(&c, y);
                cr_assert_eq(want.tok[0], y, "truth is the facts applied %d times", k);
            }
        }
    }
    iamp_task_destroy(&t);
}

Test(permpow_context, overseer_with_perfect_oracle_equals_truth_on_random_instances, .timeout = 60)
{
    check_instances("permpow:context=1", 16, 15);
    check_instances("permpow:n=64,context=1", 64, 63);
    check_instances("permpow:n=5,kmax=4,context=1", 5, 4);
}

Test(permpow_context, instances_differ_and_questions_stay_on_their_instance, .timeout = 10)
{
    struct iamp_task t = make("permpow:n=32,context=1");
    struct iamp_rng r;
    iamp_rng_seed(&r, 9, 0);
    struct iamp_context ctx[8];
    struct iamp_question qs[8 * 16];
    cr_assert_eq(iamp_task_contexts_for(&t, 8 * 16), 8);
    iamp_task_sample_roots(&t, &r, t.max_difficulty, 8 * 16, ctx, qs);
    int kseen[32] = {0};
    for (int i = 0; i < 8 * 16; i++) {
        cr_assert_eq(qs[i].ctx, &ctx[i / 16], "16 roots per instance, in order");
        cr_assert(t.ops->valid_question(&t, &qs[i]), "a root asks about its instance");
        kseen[qs[i].tok[1] - 32 + 1]++;
    }
    int ks = 0;
    for (int k = 1; k <= 31; k++)
        ks += kseen[k] > 0;
    cr_assert_gt(ks, 20, "powers across [1, kmax] at every size (%d seen)", ks);
    cr_assert(memcmp(ctx[0].tok, ctx[1].tok, sizeof(ctx[0].tok)) != 0, "fresh instances");
    iamp_task_destroy(&t);
}

Test(permpow_context, malformed_facts_and_foreign_elements_are_refused, .timeout = 10)
{
    struct iamp_task t = make("permpow:context=1");
    struct iamp_context c = {.n_facts = 3, .fact_len = 2, .tok = {{0, 1}, {1, 2}, {2, 0}}};
    char err[256] = "";
    cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
    struct iamp_question q;
    cr_assert_eq(t.ops->parse_question(&t, "pow x=5 k=2", &q, err, sizeof(err)), 0);
    q.ctx = &c;
    cr_assert_not(t.ops->valid_question(&t, &q), "5 is not an element of the instance");
    struct iamp_context bad = c;
    bad.tok[2][1] = 1; /* 1 is hit twice, 0 never */
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    cr_assert(strstr(err, "permutation"), "%s", err);
    bad = c;
    bad.tok[1][0] = 0; /* 0 mapped twice */
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    cr_assert(strstr(err, "twice"), "%s", err);
    bad = c;
    bad.fact_len = 3;
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    bad = c;
    bad.tok[0][1] = 40; /* beyond the vocabulary's elements */
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    bad = c;
    bad.n_facts = 17;
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    struct iamp_task plain = make("permpow");
    cr_assert_neq(iamp_task_check_context(&plain, &c, err, sizeof(err)), 0);
    cr_assert(strstr(err, "no facts"), "%s", err);
    iamp_task_destroy(&plain);
    iamp_task_destroy(&t);
}

Test(permpow_context, spec_is_canonical_and_keeps_the_old_one, .timeout = 10)
{
    struct iamp_task a = make("permpow:context=1"), b = make("permpow");
    cr_assert_str_eq(a.spec, "permpow:n=16,kmax=15,context=1");
    cr_assert_str_eq(b.spec, "permpow:n=64,seed=1,kmax=63", "context=0 leaves the spec as it was");
    cr_assert_eq(b.facts_max, 0);
    cr_assert_not_null(iamp_task_train_defaults(&a));
    cr_assert(strstr(iamp_task_train_defaults(&a), "transformer"));
    cr_assert(strstr(iamp_task_train_defaults(&b), "--hidden 192"));
    iamp_task_destroy(&a);
    iamp_task_destroy(&b);
}
