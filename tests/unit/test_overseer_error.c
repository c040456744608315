/* test_overseer_error.c — `--overseer-error P` (coordinator/train/modes.h):
 * a uniform draw lies in its question's answer space and covers it (one
 * token, a sequence closed by END, a continuous value); with P = 0.5
 * about half the amplified targets of a round are replaced, and half the
 * approvals the RL modes judge by; P = 0 leaves the round as it was. */
#include "coordinator/train/train.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

static struct iamp_task make(const char *spec)
{
    struct iamp_task t;
    char err[256] = "";
    cr_assert_eq(iamp_task_create(&t, spec, err, sizeof(err)), 0, "%s: %s", spec, err);
    return t;
}

static struct iamp_question parse(const struct iamp_task *t, const char *text)
{
    struct iamp_question q;
    char err[256] = "";
    cr_assert_eq(t->ops->parse_question(t, text, &q, err, sizeof(err)), 0, "%s: %s", text, err);
    return q;
}

TestSuite(overseer_error, .timeout = 60);

Test(overseer_error, a_drawn_token_is_any_of_the_answer_space)
{
    struct iamp_task t = make("permpow");
    struct iamp_question q = parse(&t, "pow x=5 k=37");
    struct iamp_answer_space sp;
    t.ops->answer_space(&t, &q, &sp);
    struct iamp_rng r;
    iamp_rng_seed(&r, 7, 1);
    int seen[1024] = {0}, distinct = 0;
    for (int i = 0; i < 4000; i++) {
        struct iamp_answer a;
        iamp_answer_uniform(&t, &q, &r, &a);
        cr_assert(iamp_answer_valid(&t, &q, &a), "draw %d outside the answer space", i);
        cr_assert_eq(a.len, 1);
        distinct += !seen[a.tok[0]]++;
    }
    cr_assert_eq(distinct, sp.hi - sp.lo, "4000 draws over %d tokens saw %d", sp.hi - sp.lo,
                 distinct);
    iamp_task_destroy(&t);
}

Test(overseer_error, a_drawn_sequence_has_every_length_and_ends_with_end)
{
    struct iamp_task t = make("trajectory");
    struct iamp_question q = parse(&t, "traj x=3 l=5");
    struct iamp_answer_space sp;
    t.ops->answer_space(&t, &q, &sp);
    cr_assert_geq(sp.end_tok, 0, "trajectory answers are END-closed sequences");
    struct iamp_rng r;
    iamp_rng_seed(&r, 7, 2);
    int lengths[IAMP_A_MAX + 1] = {0};
    long inner_end = 0;
    for (int i = 0; i < 20000; i++) {
        struct iamp_answer a;
        iamp_answer_uniform(&t, &q, &r, &a);
        cr_assert(iamp_answer_valid(&t, &q, &a), "draw %d outside the answer space", i);
        cr_assert_eq(a.tok[a.len - 1], sp.end_tok);
        for (int k = 0; k + 1 < a.len; k++)
            inner_end += a.tok[k] == sp.end_tok;
        lengths[a.len]++;
    }
    cr_assert_eq(inner_end, 0);
    /* Uniform in 1..max_len: each about 20000 / max_len times. */
    double want = 20000.0 / sp.max_len;
    for (int l = 1; l <= sp.max_len; l++)
        cr_assert(lengths[l] > 0.7 * want && lengths[l] < 1.3 * want, "length %d drawn %d times", l,
                  lengths[l]);
    iamp_task_destroy(&t);
}

Test(overseer_error, a_drawn_value_is_uniform_in_the_unit_interval)
{
    struct iamp_task t = make("markov");
    struct iamp_question q = parse(&t, "prob u=1 t=2 k=3");
    cr_assert(iamp_task_continuous(&t, &q));
    struct iamp_rng r;
    iamp_rng_seed(&r, 7, 3);
    double sum = 0.0;
    int below_tenth = 0;
    for (int i = 0; i < 10000; i++) {
        struct iamp_answer a;
        iamp_answer_uniform(&t, &q, &r, &a);
        cr_assert(iamp_answer_valid(&t, &q, &a));
        cr_assert(a.len == 0 && a.value >= 0.0f && a.value < 1.0f);
        sum += a.value;
        below_tenth += a.value < 0.1f;
    }
    cr_assert_float_eq(sum / 10000.0, 0.5, 0.02);
    cr_assert(below_tenth > 850 && below_tenth < 1150, "%d of 10000 below 0.1", below_tenth);
    iamp_task_destroy(&t);
}

enum { N = 512 };

/* One round of `algo` on `spec` at overseer error p, left in tr. */
static void one_round(const char *spec, const char *algo, float p, struct iamp_session *s,
                      struct iamp_trainer *tr)
{
    struct iamp_model_opts mo = {8, 32, 2, 0, ""};
    struct iamp_train_opts o;
    struct iamp_round_stats st;
    char err[256];
    cr_assert_eq(iamp_session_open(s, spec, &mo, 1e-3f, 5, err, sizeof(err)), 0, "%s", err);
    iamp_train_opts_default(&o);
    snprintf(o.cfg.algo, sizeof(o.cfg.algo), "%s", algo);
    o.cfg.questions_per_round = N;
    o.cfg.eval_size = 30;
    o.cfg.samples = 3;
    o.cfg.overseer_error = p;
    cr_assert_eq(iamp_trainer_init(tr, s, &o, NULL, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(iamp_trainer_step(tr, &st), 0);
}

static void done(struct iamp_session *s, struct iamp_trainer *tr)
{
    iamp_trainer_release(tr);
    iamp_session_close(s);
}

Test(overseer_error, half_the_imitation_targets_at_p_one_half)
{
    struct iamp_session s0, s1;
    struct iamp_trainer a, b;
    one_round("permpow", "imitate", 0.0f, &s0, &a);
    one_round("permpow", "imitate", 0.5f, &s1, &b);
    cr_assert_eq(a.rd.n_amplified, N);
    cr_assert_eq(a.rd.n_errors, 0, "p = 0 replaces nothing");
    cr_assert_eq(b.rd.n_amplified, N);
    int differ = 0;
    for (int i = 0; i < N; i++) {
        /* Same seed: the same questions and M, so the same Amp(H, M). */
        cr_assert_eq(memcmp(&a.rd.qs[i].tok, &b.rd.qs[i].tok, sizeof(a.rd.qs[i].tok)), 0);
        cr_assert(iamp_answer_equal(&a.rd.mine[i], &b.rd.mine[i]));
        cr_assert(iamp_answer_valid(&s1.task, &b.rd.qs[i], &b.rd.targets[i]));
        int d = !iamp_answer_equal(&a.rd.targets[i], &b.rd.targets[i]);
        differ += d;
        /* The example M learns from is the replaced target. */
        cr_assert(iamp_answer_equal(&b.rd.ex[2 * i].a, &b.rd.targets[i]));
    }
    /* Replaced with chance 1/2; a draw equals Amp's answer one time in 64. */
    cr_assert(b.rd.n_errors > 0.44 * N && b.rd.n_errors < 0.56 * N, "%ld of %d replaced",
              b.rd.n_errors, N);
    cr_assert(differ <= b.rd.n_errors && differ >= b.rd.n_errors - 0.05 * N,
              "%d targets differ, %ld replaced", differ, b.rd.n_errors);
    done(&s0, &a);
    done(&s1, &b);
}

Test(overseer_error, half_the_approvals_at_p_one_half)
{
    struct iamp_session s0, s1;
    struct iamp_trainer a, b;
    const char *algo = "pow=search,approve=imitate";
    one_round("permpow:approve=1", algo, 0.0f, &s0, &a);
    one_round("permpow:approve=1", algo, 0.5f, &s1, &b);
    int C = 4, judged = 0, differ = 0;
    for (int i = 0; i < N; i++) {
        cr_assert_eq(a.rd.mode[i], IAMP_MODE_SEARCH, "permpow samples pow questions only");
        for (int j = 0; j < C; j++) {
            const float *x = &a.rd.score[i * C + j], *y = &b.rd.score[i * C + j];
            cr_assert(iamp_answer_equal(&a.rd.cand[i * C + j], &b.rd.cand[i * C + j]));
            cr_assert(*y >= 0.0f && *y <= 1.0f);
            differ += *x != *y;
            judged++;
        }
    }
    /* Each distinct candidate's amplified approval is an answer learned
     * from: one per question at least (M's greedy answer), C at most. */
    cr_assert_eq(b.rd.n_amplified, a.rd.n_amplified);
    cr_assert(b.rd.n_amplified >= N && b.rd.n_amplified <= (long)N * C, "%ld judged",
              b.rd.n_amplified);
    cr_assert(b.rd.n_errors > 0.44 * b.rd.n_amplified && b.rd.n_errors < 0.56 * b.rd.n_amplified,
              "%ld of %ld replaced", b.rd.n_errors, b.rd.n_amplified);
    /* A replaced yes/no approval flips half the time; twins share one. */
    cr_assert(differ > 0.1 * judged && differ < 0.4 * judged, "%d of %d approvals changed", differ,
              judged);
    done(&s0, &a);
    done(&s1, &b);
}
