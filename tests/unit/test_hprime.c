/* test_hprime.c — the learned overseer H' (worker/hprime.c) where it is in
 * doubt: an untrained H' (no step of H seen, so every transcript novel) is
 * counted in doubt on every episode it runs, calls no H without budget, and once a
 * round's doubts have put H's rate at 1, H takes over exactly as many
 * doubtful episodes as the budget allows, each answered as H answers it
 * (the same M at the leaves), each an H call whose steps H' learns from;
 * the rest H' answers as before. Outside amplification for training (an
 * evaluation) H takes nothing over. On unionfind, whose episodes ask one
 * subquestion at a time, so a take-over replays the subquestions H' had
 * asked before H answers.
 *
 * Second: an H' that learned level 1's episodes meets, at level 3, a
 * subanswer it has hardly seen (a depth of 1 or 2: at level 1 every
 * subquestion's depth is 0). Its first steps are familiar and sure, so
 * the doubt comes mid-episode, and H takes over by replaying the
 * subquestions H' asked, answering as H does. */
#include "worker/hprime.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#define SPEC "unionfind:n=8,dmax=3"
#define N 96

static struct iamp_session s;
static struct iamp_context ctx[N];
static struct iamp_question qs[N];

static void open_uf(void)
{
    struct iamp_model_opts mo = {8, 32, 2, 0, "transformer:d=16,heads=2,enc=1,dec=1"};
    char err[256];
    cr_assert_eq(iamp_session_open(&s, SPEC, &mo, 1e-3f, 5, err, sizeof(err)), 0, "%s", err);
    struct iamp_rng r;
    iamp_rng_seed(&r, 7, 0);
    iamp_task_sample_roots(&s.task, &r, 3, N, ctx, qs);
}

static int count_equal(const struct iamp_answer *a, const struct iamp_answer *b)
{
    int k = 0;
    for (int i = 0; i < N; i++)
        k += iamp_answer_equal(&a[i], &b[i]);
    return k;
}

/* Answers that changed from before to after (a take-over): each must be
 * H's (want). How many changed. */
static int taken_over(const struct iamp_answer *before, const struct iamp_answer *after,
                      const struct iamp_answer *want)
{
    int changed = 0;
    for (int i = 0; i < N; i++) {
        if (iamp_answer_equal(&before[i], &after[i]))
            continue;
        changed++;
        cr_assert(iamp_answer_equal(&after[i], &want[i]),
                  "question %d: taken over, yet not H's answer", i);
    }
    return changed;
}

Test(hprime, doubtful_episodes_go_to_h_on_the_budget)
{
    open_uf();
    static struct iamp_answer want[N], got1[N], got2[N], got3[N];
    cr_assert_eq(iamp_session_amplify(&s, qs, N, 1, want), 0); /* Amp(H, M) */

    struct iamp_hprime_opts o = IAMP_HPRIME_OPTS_DEFAULT;
    o.first = 0; /* no H call before a round's rate */
    o.steps = 0; /* H' stays as it is: its answers repeat */
    struct iamp_hprime *h;
    char err[256];
    cr_assert_eq(iamp_hprime_install(&s, &o, &h, err, sizeof(err)), 0, "%s", err);
    struct iamp_hprime_stats st;

    iamp_hprime_training(h, 1);
    cr_assert_eq(iamp_session_amplify(&s, qs, N, 1, got1), 0);
    iamp_hprime_get_stats(h, &st);
    cr_assert_eq(st.h_calls, 0, "H called without budget");
    cr_assert_gt(st.hprime_episodes, N / 4, "only %ld episodes", st.hprime_episodes);
    /* no step of H seen yet: every transcript is novel */
    cr_assert_eq(st.doubted, st.hprime_episodes, "untrained H' in doubt on %ld of %ld", st.doubted,
                 st.hprime_episodes);
    long doubted1 = st.doubted;

    /* the doubts put the rate at 1: 5 steps of M, 5 H calls */
    cr_assert_eq(iamp_hprime_round(h, 5, 3), 0);
    cr_assert_eq(iamp_hprime_ready(h), 0, "the curriculum moves on while H' is in doubt");
    cr_assert_eq(iamp_session_amplify(&s, qs, N, 1, got2), 0);
    iamp_hprime_get_stats(h, &st);
    cr_assert_eq(st.takeovers, 5, "%ld take-overs", st.takeovers);
    cr_assert_eq(st.h_calls, 5, "%ld H calls", st.h_calls);
    cr_assert_geq(st.examples, 5, "the take-overs' steps are not H' examples");
    cr_assert_geq(st.doubted, 2 * doubted1 - 5);
    int changed = taken_over(got1, got2, want);
    cr_assert_leq(changed, 5);
    cr_assert_gt(count_equal(got2, want), count_equal(got1, want),
                 "no take-over changed an answer to H's");

    /* the take-overs' steps are H' training examples, never scored: the
     * cases H' doubted are no random sample of H's, and H''s loss (the
     * rate) is still unknown */
    cr_assert_eq(iamp_hprime_round(h, 5, 3), 0);
    iamp_hprime_get_stats(h, &st);
    cr_assert(isnan(st.loss), "take-over steps scored: H' loss %g", st.loss);

    /* an evaluation: H' alone, whatever the budget */
    iamp_hprime_training(h, 0);
    cr_assert_eq(iamp_session_amplify(&s, qs, N, 1, got3), 0);
    iamp_hprime_get_stats(h, &st);
    cr_assert_eq(st.takeovers, 5, "H took over during an evaluation");
    cr_assert_eq(count_equal(got3, got1), N, "H' answered otherwise outside training");
    iamp_hprime_free(h, &s);
    iamp_session_close(&s);
}

Test(hprime, a_case_new_mid_episode_goes_to_h)
{
    open_uf();
    struct iamp_rng r;
    iamp_rng_seed(&r, 11, 0);
    static struct iamp_context c1[N], c3[N];
    static struct iamp_question q1[N], q3[N];
    static struct iamp_answer want[N], got[N], got2[N];
    iamp_task_sample_roots(&s.task, &r, 3, N, c3, q3);
    cr_assert_eq(iamp_session_amplify(&s, q3, N, 1, want), 0); /* Amp(H, M) at level 3 */

    struct iamp_hprime_opts o = IAMP_HPRIME_OPTS_DEFAULT;
    o.first = 600;
    o.steps = 64;
    struct iamp_hprime *h;
    char err[256];
    cr_assert_eq(iamp_hprime_install(&s, &o, &h, err, sizeof(err)), 0, "%s", err);
    struct iamp_hprime_stats st;
    iamp_hprime_training(h, 1);
    for (int round = 0; round < 16; round++) { /* level 1 until H''s first calls are spent */
        iamp_task_sample_roots(&s.task, &r, 1, N, c1, q1);
        cr_assert_eq(iamp_session_amplify(&s, q1, N, 1, got), 0);
        cr_assert_eq(iamp_hprime_round(h, 0, 1), 0);
    }
    iamp_hprime_get_stats(h, &st);
    cr_assert_gt(st.h_calls, 300, "%ld H calls at level 1", st.h_calls);
    cr_assert_leq(st.h_calls, 600);
    cr_assert_geq(st.ask_accuracy, 0.95, "H' did not learn level 1's steps (%.3f)",
                  st.ask_accuracy);
    long calls = st.h_calls, doubted = st.doubted;

    /* level 3: no budget left; H' doubts, and the round puts the rate at 1 */
    cr_assert_eq(iamp_session_amplify(&s, q3, N, 1, got), 0);
    iamp_hprime_get_stats(h, &st);
    cr_assert_eq(st.h_calls, calls, "H called without budget");
    cr_assert_gt(st.doubted, doubted, "no doubt at level 3");
    cr_assert_eq(iamp_hprime_round(h, 4, 3), 0);
    long takeovers = st.takeovers;
    cr_assert_eq(iamp_session_amplify(&s, q3, N, 1, got2), 0);
    iamp_hprime_get_stats(h, &st);
    cr_assert_eq(st.takeovers - takeovers, 4, "%ld take-overs", st.takeovers - takeovers);
    cr_assert_eq(st.h_calls - calls, 4, "%ld H calls", st.h_calls - calls);
    int changed = taken_over(got, got2, want);
    cr_assert_gt(changed, 0, "no take-over changed an answer");
    iamp_hprime_free(h, &s);
    iamp_session_close(&s);
}
