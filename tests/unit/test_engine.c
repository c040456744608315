/* test_engine.c — the amplification engine: exact with a perfect leaf
 * oracle at every depth, one leaf batch per dependent step whatever the
 * number of roots, depth 0 is M alone, and runs are deterministic. */
#include "worker/engine.h"

#include <criterion/criterion.h>
#include <string.h>

struct oracle {
    const struct iamp_task *t;
    long calls, batches;
    int max_depth_seen;
    int noisy; /* answer wrongly on a pseudo-random share */
    uint64_t state;
};

static int oracle_leaf(void *ctx, const struct iamp_question *qs, const int *depth, int n,
                       struct iamp_answer *out)
{
    struct oracle *o = ctx;
    o->batches++;
    o->calls += n;
    for (int i = 0; i < n; i++) {
        o->max_depth_seen = depth[i] > o->max_depth_seen ? depth[i] : o->max_depth_seen;
        iamp_task_truth(o->t, &qs[i], &out[i]);
        if (o->noisy) {
            o->state = o->state * 6364136223846793005ULL + 1442695040888963407ULL;
            if ((o->state >> 60) < 3)
                out[i].tok[0] = (uint16_t)((out[i].tok[0] + 1) % 64);
        }
    }
    return 0;
}

static struct iamp_task task;

static void setup(void)
{
    char err[128];
    cr_assert_eq(iamp_task_create(&task, "permpow", err, sizeof(err)), 0);
}

static void teardown(void)
{
    iamp_task_destroy(&task);
}

static int all_questions(struct iamp_question *qs)
{
    int n = 0;
    for (int k = 1; k <= 63; k++)
        for (int x = 0; x < 64; x++)
            qs[n++] = (struct iamp_question){
                .type = 0, .len = 2, .tok = {(uint16_t)x, (uint16_t)(64 + k - 1)}};
    return n;
}

static struct iamp_question qs[4032];
static struct iamp_answer out[4032], out2[4032];

TestSuite(engine, .init = setup, .fini = teardown, .timeout = 30);

Test(engine, perfect_leaves_give_truth_at_every_depth)
{
    int n = all_questions(qs);
    for (int depth = 0; depth <= 3; depth++) {
        struct iamp_engine e;
        struct oracle o = {.t = &task};
        iamp_engine_init(&e, &task);
        cr_assert_eq(iamp_engine_run(&e, qs, n, depth, oracle_leaf, &o, out), 0);
        for (int i = 0; i < n; i++) {
            struct iamp_answer want;
            iamp_task_truth(&task, &qs[i], &want);
            cr_assert(iamp_answer_equal(&out[i], &want), "depth %d question %d", depth, i);
        }
        cr_assert_eq(o.max_depth_seen, 0, "a local engine's leaves are depth 0");
        iamp_engine_release(&e);
    }
}

Test(engine, depth_zero_sends_every_root_to_the_leaf_function)
{
    int n = all_questions(qs);
    struct iamp_engine e;
    struct oracle o = {.t = &task};
    iamp_engine_init(&e, &task);
    cr_assert_eq(iamp_engine_run(&e, qs, n, 0, oracle_leaf, &o, out), 0);
    cr_assert_eq(o.calls, n);
    cr_assert_eq(o.batches, 1);
    iamp_engine_release(&e);
}

Test(engine, one_leaf_batch_per_dependent_step)
{
    /* Depth 1 on k >= 4: H asks y, then z — two dependent leaf steps, so two
     * batches whether there is one root or a thousand. */
    struct iamp_engine e;
    iamp_engine_init(&e, &task);
    for (int n = 1; n <= 1000; n *= 10) {
        for (int i = 0; i < n; i++)
            qs[i] = (struct iamp_question){
                .type = 0, .len = 2, .tok = {(uint16_t)(i % 64), (uint16_t)(64 + 4 + i % 50)}};
        struct oracle o = {.t = &task};
        cr_assert_eq(iamp_engine_run(&e, qs, n, 1, oracle_leaf, &o, out), 0);
        cr_assert_eq(o.batches, 2, "%d roots took %ld batches", n, o.batches);
        cr_assert_eq(o.calls, 2 * n);
    }
    iamp_engine_release(&e);
}

Test(engine, primitive_roots_are_answered_by_h)
{
    for (int x = 0; x < 64; x++)
        qs[x] = (struct iamp_question){.type = 0, .len = 2, .tok = {(uint16_t)x, 64}};
    struct iamp_engine e;
    struct oracle o = {.t = &task};
    iamp_engine_init(&e, &task);
    cr_assert_eq(iamp_engine_run(&e, qs, 64, 2, oracle_leaf, &o, out), 0);
    cr_assert_eq(o.calls, 0);
    cr_assert_eq(e.stats.h_answers, 64);
    iamp_engine_release(&e);
}

Test(engine, same_leaf_answers_give_identical_trees)
{
    int n = all_questions(qs);
    struct iamp_engine e;
    iamp_engine_init(&e, &task);
    struct oracle a = {.t = &task, .noisy = 1, .state = 7},
                  b = {.t = &task, .noisy = 1, .state = 7};
    cr_assert_eq(iamp_engine_run(&e, qs, n, 2, oracle_leaf, &a, out), 0);
    long nodes = e.n_nodes;
    cr_assert_eq(iamp_engine_run(&e, qs, n, 2, oracle_leaf, &b, out2), 0);
    cr_assert_eq(e.n_nodes, nodes);
    cr_assert_eq(memcmp(out, out2, (size_t)n * sizeof(out[0])), 0);
    int wrong = 0;
    for (int i = 0; i < n; i++)
        wrong += !iamp_task_correct(&task, &qs[i], &out[i]);
    cr_assert_gt(wrong, 0, "noisy leaves should make some answers wrong");
    iamp_engine_release(&e);
}

Test(engine, node_limit_is_an_error_not_a_crash)
{
    int n = all_questions(qs);
    struct iamp_engine e;
    struct oracle o = {.t = &task};
    iamp_engine_init(&e, &task);
    e.max_nodes = 5000;
    cr_assert_eq(iamp_engine_run(&e, qs, n, 3, oracle_leaf, &o, out), IAMP_ELIMIT);
    iamp_engine_release(&e);
}

Test(engine, leaf_depth_ships_subtrees_with_their_depth)
{
    /* With leaf_depth 1 a depth-3 tree sends nodes with one level left to
     * the leaf function, which must amplify them itself. */
    int n = all_questions(qs);
    struct iamp_engine e;
    struct oracle o = {.t = &task};
    iamp_engine_init(&e, &task);
    e.leaf_depth = 1;
    cr_assert_eq(iamp_engine_run(&e, qs, n, 3, oracle_leaf, &o, out), 0);
    cr_assert_eq(o.max_depth_seen, 1);
    iamp_engine_release(&e);
}
