/* task_helpers.h — helpers the task tests share (static inline, so a test
 * may leave some unused; included by the task tests): create a task, run H
 * on a question with an oracle answering its asks, round-trip the text
 * syntax, and check malformed text is refused with a one-line reason. */
#ifndef IAMP_TEST_TASK_HELPERS_H
#define IAMP_TEST_TASK_HELPERS_H

#include "tasks/task.h"

#include <criterion/criterion.h>
#include <string.h>

static inline struct iamp_task make(const char *spec)
{
    struct iamp_task t;
    char err[256] = "";
    int rc = iamp_task_create(&t, spec, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s: %s", spec, err);
    return t;
}

/* Run H on q, answering every ask with `oracle` (ground truth when NULL). */
typedef void (*oracle_fn)(const struct iamp_task *t, const struct iamp_question *q,
                          struct iamp_answer *a);
static inline void run_with_oracle(const struct iamp_task *t, const struct iamp_question *q,
                                   oracle_fn oracle, struct iamp_answer *out)
{
    if (t->ops->primitive(t, q, out))
        return;
    unsigned char ep[512];
    cr_assert_leq(t->episode_size, sizeof(ep));
    t->ops->episode_start(t, ep, q);
    struct iamp_answer answers[IAMP_ASK_MAX];
    struct iamp_question asks[IAMP_ASK_MAX];
    int n_in = 0, n_asks = 0, steps = 0, asked = 0;
    for (;;) {
        int st = t->ops->episode_step(t, ep, answers, n_in, asks, &n_asks, out);
        if (st == IAMP_EP_DONE)
            return;
        cr_assert_eq(st, IAMP_EP_ASK);
        cr_assert(n_asks >= 1 && n_asks <= IAMP_ASK_MAX);
        asked += n_asks;
        cr_assert_leq(asked, t->max_asks, "more asks than max_asks");
        for (int i = 0; i < n_asks; i++) {
            asks[i].ctx = q->ctx; /* as the engine does: the tree shares its root's facts */
            cr_assert(t->ops->valid_question(t, &asks[i]), "H asked an invalid question");
            if (oracle)
                oracle(t, &asks[i], &answers[i]);
            else
                iamp_task_truth(t, &asks[i], &answers[i]);
        }
        n_in = n_asks;
        cr_assert_lt(++steps, 100, "episode does not end");
    }
}

/* Text of every sampled question parses back to the same question. */
static inline void check_round_trip(const struct iamp_task *t)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 1, 0);
    for (int i = 0; i < 2000; i++) {
        struct iamp_question q, back;
        char text[IAMP_TEXT_MAX], err[256];
        t->ops->sample(t, &r, t->max_difficulty, &q);
        cr_assert(t->ops->valid_question(t, &q));
        t->ops->format_question(t, &q, text, sizeof(text));
        cr_assert_eq(t->ops->parse_question(t, text, &back, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(memcmp(&q, &back, sizeof(q)), 0, "%s", text);
    }
}

static inline void check_rejects(const struct iamp_task *t, const char *const *bad, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct iamp_question q;
        char err[256] = "";
        cr_assert_neq(t->ops->parse_question(t, bad[i], &q, err, sizeof(err)), 0, "accepted '%s'",
                      bad[i]);
        cr_assert_gt(strlen(err), 10, "no reason for '%s'", bad[i]);
        cr_assert_null(strchr(err, '\n'), "reason must be one line");
    }
}

#endif
