/* test_evaluate.c — decomposition depth and accuracy by depth
 * (coordinator/train/evaluate.h): the depth the engine finds for permpow
 * questions is floor(log2 k) (k = 1 a primitive), on a fixed permutation
 * and on instances with facts; a task whose H needs M (markov) has no
 * depths; accuracy by depth adds up to the headline accuracy, and Amp at
 * depth D answers every question of depth <= D right whatever M is (H
 * alone decomposes it to primitives). */
#include "coordinator/train/train.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct iamp_task make(const char *spec)
{
    struct iamp_task t;
    char err[256] = "";
    cr_assert_eq(iamp_task_create(&t, spec, err, sizeof(err)), 0, "%s: %s", spec, err);
    return t;
}

static int floor_log2(int k)
{
    int d = 0;
    while (k >>= 1)
        d++;
    return d;
}

/* k of a permpow question, from its text ("pow x=5 k=37"). */
static int k_of(const struct iamp_task *t, const struct iamp_question *q)
{
    char text[128];
    t->ops->format_question(t, q, text, sizeof(text));
    const char *k = strstr(text, " k=");
    cr_assert(k, "%s", text);
    return atoi(k + 3);
}

TestSuite(evaluate, .timeout = 60);

Test(evaluate, permpow_depth_is_floor_log2_k)
{
    struct iamp_task t = make("permpow");
    struct iamp_question qs[63];
    int depth[63];
    char err[128], text[64];
    for (int k = 1; k <= 63; k++) {
        snprintf(text, sizeof(text), "pow x=%d k=%d", (k * 7) % 64, k);
        cr_assert_eq(t.ops->parse_question(&t, text, &qs[k - 1], err, sizeof(err)), 0, "%s", err);
    }
    cr_assert_eq(iamp_eval_depths(&t, qs, 63, depth), 0);
    cr_assert_eq(depth[0], 0, "k = 1 is a primitive");
    cr_assert_eq(depth[1], 1, "k = 2 asks two primitives");
    cr_assert_eq(depth[3], 2, "k = 4 asks two k = 2");
    for (int k = 1; k <= 63; k++)
        cr_assert_eq(depth[k - 1], floor_log2(k), "k = %d: depth %d", k, depth[k - 1]);
    iamp_task_destroy(&t);
}

Test(evaluate, instances_with_facts_have_the_same_depths)
{
    struct iamp_task t = make("permpow:context=1");
    struct iamp_eval_set ev;
    cr_assert_eq(iamp_eval_set_init(&ev, &t, 0, IAMP_EVAL_SEED), 0);
    cr_assert_eq(iamp_eval_set_depths(&ev, &t), 0);
    cr_assert_not_null(ev.depth);
    unsigned want = 0;
    for (int i = 0; i < ev.n_head; i++) {
        int k = k_of(&t, &ev.head[i]);
        cr_assert_eq(ev.head_depth[i], floor_log2(k), "k = %d: depth %d", k, ev.head_depth[i]);
        want |= 1u << floor_log2(k);
    }
    cr_assert_eq(ev.depths, want);
    cr_assert_eq(ev.depths, 0xfu, "kmax 15: depths 0..3");
    iamp_eval_set_release(&ev);
    iamp_task_destroy(&t);
}

Test(evaluate, a_task_whose_overseer_needs_the_model_has_no_depths)
{
    /* markov's H asks 2 x 8 subquestions a level (K up to 32): its trees
     * outgrow the cap long before H alone reaches the primitives. */
    struct iamp_task t = make("markov");
    struct iamp_eval_set ev;
    cr_assert_eq(iamp_eval_set_init(&ev, &t, 0, IAMP_EVAL_SEED), 0);
    int *depth = malloc((size_t)ev.n_head * sizeof(int));
    cr_assert_eq(iamp_eval_depths(&t, ev.head, ev.n_head, depth), IAMP_ELIMIT);
    free(depth);
    cr_assert_eq(iamp_eval_set_depths(&ev, &t), 0, "not an error: no depths");
    cr_assert_null(ev.depth);
    cr_assert_eq(ev.depths, 0u);
    iamp_eval_set_release(&ev);
    iamp_task_destroy(&t);
}

Test(evaluate, accuracy_by_depth_adds_up_and_amp_is_right_where_h_suffices)
{
    struct iamp_session s;
    struct iamp_model_opts mo = {8, 32, 2, 0, ""};
    char err[256];
    cr_assert_eq(iamp_session_open(&s, "permpow", &mo, 1e-3f, 5, err, sizeof(err)), 0, "%s", err);
    struct iamp_eval_set ev;
    cr_assert_eq(iamp_eval_set_init(&ev, &s.task, 0, IAMP_EVAL_SEED), 0);
    cr_assert_eq(iamp_eval_set_depths(&ev, &s.task), 0);
    cr_assert_eq(ev.depths, 0x3fu, "kmax 63: depths 0..5");
    int count[IAMP_EVAL_DEPTHS] = {0};
    for (int i = 0; i < ev.n_head; i++)
        count[ev.head_depth[i]]++;
    for (int amp = 0; amp <= 2; amp++) {
        double acc, by[IAMP_EVAL_DEPTHS], sum = 0.0;
        cr_assert_eq(iamp_eval_accuracy(&s, &ev, amp, &acc, NULL, NULL, by), 0);
        for (int d = 0; d < IAMP_EVAL_DEPTHS; d++) {
            if (!count[d]) {
                cr_assert(isnan(by[d]), "depth %d has no questions", d);
                continue;
            }
            sum += by[d] * count[d];
            if (amp > 0 && d <= amp)
                cr_assert_float_eq(by[d], 1.0, 1e-12, "Amp^%d at depth %d: %g", amp, d, by[d]);
        }
        cr_assert_float_eq(sum / ev.n_head, acc, 1e-9, "depth %d", amp);
        if (amp == 0)
            cr_assert_lt(acc, 0.5, "an untrained M is mostly wrong: %g", acc);
    }
    iamp_eval_set_release(&ev);
    iamp_session_close(&s);
}
