/* test_tictactoe.c — the tictactoe task: the board tables (5,478 reachable
 * boards, 4,520 unfinished), H with a perfect value oracle equals ground
 * truth for value and approve on every board and move, H's rule of thumb
 * for action is optimal on about 81% of boards, the text syntax
 * round-trips and rejects bad boards, and sampling respects difficulty. */
#include "tasks/task.h"

#include <criterion/criterion.h>
#include <string.h>

static struct iamp_task task;
static struct iamp_question all[3 * 4520 + 3];
static int n_all;

static void setup(void)
{
    char err[256] = "";
    cr_assert_eq(iamp_task_create(&task, "tictactoe", err, sizeof(err)), 0, "%s", err);
    struct iamp_rng r;
    iamp_rng_seed(&r, 1, 2);
    n_all = task.ops->eval_set(&task, &r, all, (int)(sizeof(all) / sizeof(all[0])));
}

static void teardown(void)
{
    iamp_task_destroy(&task);
}

TestSuite(tictactoe, .init = setup, .fini = teardown, .timeout = 30);

/* Run H on q, answering every ask with ground truth. */
static void run_with_oracle(const struct iamp_question *q, struct iamp_answer *out)
{
    if (task.ops->primitive(&task, q, out))
        return;
    unsigned char ep[256];
    cr_assert_leq(task.episode_size, sizeof(ep));
    task.ops->episode_start(&task, ep, q);
    struct iamp_answer answers[IAMP_ASK_MAX];
    struct iamp_question asks[IAMP_ASK_MAX];
    int n_in = 0, n_asks = 0;
    for (int steps = 0; steps < 10; steps++) {
        int st = task.ops->episode_step(&task, ep, answers, n_in, asks, &n_asks, out);
        if (st == IAMP_EP_DONE)
            return;
        cr_assert_eq(st, IAMP_EP_ASK);
        for (int i = 0; i < n_asks; i++) {
            cr_assert(task.ops->valid_question(&task, &asks[i]), "H asked an invalid question");
            task.ops->truth(&task, &asks[i], &answers[i]);
        }
        n_in = n_asks;
    }
    cr_assert_fail("episode does not end");
}

Test(tictactoe, shape_and_reachable_boards)
{
    cr_assert_eq(task.n_types, 3);
    cr_assert_str_eq(task.type_names[task.headline_type], "action");
    cr_assert_str_eq(task.type_names[task.approve_type], "approve");
    cr_assert(iamp_task_approvable(&task, 1));
    cr_assert_not(iamp_task_approvable(&task, 0));
    cr_assert_eq(task.eval_size, 3 * 4520, "4,520 reachable unfinished boards");
    cr_assert_eq(n_all, 3 * 4520);
    for (int i = 0; i < n_all; i++)
        cr_assert(task.ops->valid_question(&task, &all[i]), "eval question %d invalid", i);
}

Test(tictactoe, overseer_with_perfect_oracle_equals_truth)
{
    long checked = 0;
    for (int i = 0; i < n_all; i++) {
        struct iamp_question q = all[i];
        if (q.type == 1)
            continue;
        int moves = q.type == 2 ? 9 : 1;
        for (int m = 0; m < moves; m++) {
            if (q.type == 2)
                q.tok[9] = (uint16_t)(3 + m); /* every move, legal or not */
            struct iamp_answer got, want;
            run_with_oracle(&q, &got);
            task.ops->truth(&task, &q, &want);
            char text[IAMP_TEXT_MAX];
            task.ops->format_question(&task, &q, text, sizeof(text));
            cr_assert(iamp_answer_equal(&got, &want), "H wrong on %s", text);
            cr_assert(iamp_answer_valid(&task, &q, &got));
            cr_assert(task.ops->correct(&task, &q, &got));
            checked++;
        }
    }
    cr_assert_eq(checked, 4520 * 10);
}

Test(tictactoe, rule_of_thumb_is_optimal_on_about_81_percent)
{
    int right = 0, boards = 0;
    for (int i = 0; i < n_all; i++) {
        if (all[i].type != 1)
            continue;
        struct iamp_answer a;
        cr_assert(task.ops->primitive(&task, &all[i], &a), "H answers action itself");
        right += task.ops->correct(&task, &all[i], &a);
        boards++;
    }
    double share = (double)right / boards;
    cr_log_info("H's rule: %d of %d boards optimal (%.4f)\n", right, boards, share);
    cr_assert(share > 0.78 && share < 0.84, "share %.4f", share);
}

Test(tictactoe, approval_of_optimal_moves_is_one)
{
    for (int i = 0; i < n_all; i++) {
        if (all[i].type != 1)
            continue;
        struct iamp_answer best, score;
        struct iamp_question aq;
        task.ops->truth(&task, &all[i], &best);
        cr_assert(task.ops->correct(&task, &all[i], &best));
        cr_assert_eq(iamp_task_approval_question(&task, &all[i], &best, &aq), 0);
        cr_assert_eq(aq.type, 2);
        task.ops->truth(&task, &aq, &score);
        cr_assert_float_eq(iamp_task_approval_score(&task, &aq, &score), 1.0, 1e-12);
    }
}

Test(tictactoe, known_positions)
{
    static const struct {
        const char *text, *answer;
    } cases[] = {
        {"value board=.........", "0"},
        {"value board=XX.OO....", "1"},  /* X to move wins at 2 */
        {"value board=XXOOO.X..", "0"},  /* X must block at 5; then a draw */
        {"action board=XX.OO....", "2"}, /* win at once */
        {"approve board=XX.OO.... move=2", "1"},
        {"approve board=XX.OO.... move=5", "0.5"}, /* blocks, keeps a draw at best */
        {"approve board=XX.OO.... move=0", "0"},   /* occupied */
        {"value board=XXXOO....", "-1"},           /* finished: O to move has lost */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_question q;
        struct iamp_answer a;
        char err[256], text[IAMP_TEXT_MAX], ans[IAMP_TEXT_MAX];
        cr_assert_eq(task.ops->parse_question(&task, cases[i].text, &q, err, sizeof(err)), 0,
                     "%s: %s", cases[i].text, err);
        task.ops->format_question(&task, &q, text, sizeof(text));
        cr_assert_str_eq(text, cases[i].text);
        task.ops->truth(&task, &q, &a);
        task.ops->format_answer(&task, &q, &a, ans, sizeof(ans));
        cr_assert_str_eq(ans, cases[i].answer, "%s", cases[i].text);
    }
}

Test(tictactoe, text_round_trips_for_every_eval_question)
{
    for (int i = 0; i < n_all; i++) {
        char text[IAMP_TEXT_MAX], err[256];
        struct iamp_question q;
        task.ops->format_question(&task, &all[i], text, sizeof(text));
        cr_assert_eq(task.ops->parse_question(&task, text, &q, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(memcmp(&q, &all[i], sizeof(q)), 0, "%s", text);
    }
}

Test(tictactoe, bad_questions_are_rejected_with_a_reason)
{
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"value board=XXXXXXXXX", "cannot arise"},
        {"value board=OO.......", "cannot arise"},
        {"action board=XXXOO....", "is over"},
        {"approve board=XXXOO.... move=5", "is over"},
        {"value board=XX", "not of the form"},
        {"value board=XX.OO....Q", "not of the form"},
        {"approve board=XX.OO.... move=9", "not of the form"},
        {"approve board=XX.OO....", "not of the form"},
        {"move board=XX.OO....", "not of the form"},
        {"", "not of the form"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct iamp_question q;
        char err[256] = "";
        cr_assert_neq(task.ops->parse_question(&task, bad[i].text, &q, err, sizeof(err)), 0,
                      "accepted '%s'", bad[i].text);
        cr_assert_not_null(strstr(err, bad[i].needle), "'%s': %s", bad[i].text, err);
    }
}

Test(tictactoe, sampling_respects_difficulty_and_mixes_types)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 9, 0);
    int types[3] = {0};
    for (int d = 1; d <= 9; d++) {
        for (int i = 0; i < 400; i++) {
            struct iamp_question q;
            task.ops->sample(&task, &r, d, &q);
            cr_assert(task.ops->valid_question(&task, &q));
            int empty = 0;
            for (int k = 0; k < 9; k++)
                empty += q.tok[k] == 0;
            cr_assert_leq(empty, d);
            types[q.type]++;
        }
    }
    cr_assert(types[0] > 1500 && types[1] > 700 && types[2] > 700, "%d %d %d", types[0], types[1],
              types[2]);
}
