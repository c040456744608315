/* test_engine.c — the amplification engine: exact with a perfect leaf
 * oracle at every depth, one leaf batch per dependent step whatever the
 * number of roots, depth 0 is M alone, and runs are deterministic. */
#include "worker/engine.h"

#include <criterion/criterion.h>
#include <stdlib.h>
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

/* ------------------------------------------------------------ traces */

struct forest {
    struct iamp_trace_node *nodes;
    long n;
    int n_roots, calls, fail_with;
};

static int keep_forest(void *ctx, const struct iamp_trace_node *nodes, long n, int n_roots)
{
    struct forest *f = ctx;
    f->calls++;
    if (f->fail_with)
        return f->fail_with;
    free(f->nodes);
    f->nodes = malloc((size_t)(n ? n : 1) * sizeof(*nodes));
    cr_assert(f->nodes);
    memcpy(f->nodes, nodes, (size_t)n * sizeof(*nodes));
    f->n = n;
    f->n_roots = n_roots;
    return 0;
}

static int pow_x(const struct iamp_question *q)
{
    return q->tok[0];
}

static int pow_k(const struct iamp_question *q)
{
    return q->tok[1] - 64 + 1;
}

/* Every node's children, in index order: kids[start[i], start[i + 1]). */
struct kids {
    long *start, *list;
};

static void index_children(const struct forest *f, struct kids *k)
{
    k->start = calloc((size_t)f->n + 1, sizeof(long));
    k->list = malloc((size_t)(f->n ? f->n : 1) * sizeof(long));
    cr_assert(k->start && k->list);
    for (long j = 0; j < f->n; j++)
        if (f->nodes[j].parent >= 0)
            k->start[f->nodes[j].parent + 1]++;
    for (long i = 0; i < f->n; i++)
        k->start[i + 1] += k->start[i];
    long *fill = calloc((size_t)f->n + 1, sizeof(long));
    cr_assert(fill);
    for (long j = 0; j < f->n; j++) {
        long p = f->nodes[j].parent;
        if (p >= 0)
            k->list[k->start[p] + fill[p]++] = j;
    }
    free(fill);
}

/* Every node is what permpow's H makes of its question: k = 1 a
 * primitive leaf; depth left 0 a leaf M answers; otherwise an episode
 * that asks pow x k/2 (step 1), then pow y k/2 from y, the first answer
 * (step 2), for odd k pow z 1 from z, the second (step 3, H's lookup), and
 * answers with the last. */
static void check_decomposition(const struct forest *f)
{
    struct kids kd;
    index_children(f, &kd);
    for (long i = 0; i < f->n; i++) {
        const struct iamp_trace_node *nd = &f->nodes[i];
        const long *kids = kd.list + kd.start[i];
        int nk = (int)(kd.start[i + 1] - kd.start[i]), k = pow_k(&nd->q);
        cr_assert_eq(nd->parent < 0, i < f->n_roots, "node %ld", i);
        cr_assert(nd->parent < i);
        if (k == 1) {
            cr_assert_eq(nd->by, IAMP_BY_PRIMITIVE, "node %ld (k 1)", i);
            cr_assert_eq(nk, 0);
        } else if (nd->depth_left == 0) {
            cr_assert_eq(nd->by, IAMP_BY_MODEL, "node %ld (k %d, no depth left)", i, k);
            cr_assert_eq(nk, 0);
        } else {
            cr_assert_eq(nd->by, IAMP_BY_OVERSEER, "node %ld (k %d)", i, k);
            cr_assert_eq(nk, 2 + k % 2, "node %ld has %d children", i, nk);
            const struct iamp_trace_node *a = &f->nodes[kids[0]], *b = &f->nodes[kids[1]];
            cr_assert_eq(a->step, 1);
            cr_assert_eq(b->step, 2);
            cr_assert_eq(pow_x(&a->q), pow_x(&nd->q));
            cr_assert_eq(pow_x(&b->q), a->a.tok[0], "step 2 asks from step 1's answer");
            cr_assert_eq(pow_k(&a->q), k / 2);
            cr_assert_eq(pow_k(&b->q), k / 2);
            cr_assert_eq(a->depth_left, nd->depth_left - 1);
            cr_assert_eq(b->depth_left, nd->depth_left - 1);
            if (k % 2) {
                const struct iamp_trace_node *c = &f->nodes[kids[2]];
                cr_assert_eq(c->step, 3);
                cr_assert_eq(pow_x(&c->q), b->a.tok[0], "step 3 asks from step 2's answer");
                cr_assert_eq(pow_k(&c->q), 1);
                cr_assert_eq(c->by, IAMP_BY_PRIMITIVE);
            }
            cr_assert_eq(nd->a.tok[0], f->nodes[kids[nk - 1]].a.tok[0], "the last answer");
        }
    }
    free(kd.start);
    free(kd.list);
}

Test(engine, a_trace_is_h_decomposition_and_changes_no_answer)
{
    int n = all_questions(qs);
    struct iamp_engine e;
    iamp_engine_init(&e, &task);
    struct oracle a = {.t = &task, .noisy = 1, .state = 11},
                  b = {.t = &task, .noisy = 1, .state = 11};
    cr_assert_eq(iamp_engine_run(&e, qs, n, 2, oracle_leaf, &a, out), 0);
    cr_assert_null(e.tr, "an untraced run records nothing");
    long nodes = e.n_nodes;
    struct forest f = {0};
    e.trace_cb = keep_forest;
    e.trace_ctx = &f;
    cr_assert_eq(iamp_engine_run(&e, qs, n, 2, oracle_leaf, &b, out2), 0);
    cr_assert_eq(memcmp(out, out2, (size_t)n * sizeof(out[0])), 0, "tracing changed an answer");
    cr_assert_eq(f.calls, 1);
    cr_assert_eq(f.n, nodes);
    cr_assert_eq(f.n_roots, n);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(memcmp(&f.nodes[i].q, &qs[i], sizeof(qs[i])), 0, "root %d", i);
        cr_assert(iamp_answer_equal(&f.nodes[i].a, &out[i]));
        cr_assert_eq(f.nodes[i].step, 0);
        cr_assert_eq(f.nodes[i].depth_left, 2);
    }
    check_decomposition(&f);
    free(f.nodes);
    iamp_engine_release(&e);
}

Test(engine, traced_depth_one_k5_asks_two_half_powers)
{
    struct iamp_question q = {.type = 0, .len = 2, .tok = {5, 64 + 5 - 1}};
    struct iamp_engine e;
    struct oracle o = {.t = &task};
    struct forest f = {0};
    iamp_engine_init(&e, &task);
    e.trace_cb = keep_forest;
    e.trace_ctx = &f;
    cr_assert_eq(iamp_engine_run(&e, &q, 1, 1, oracle_leaf, &o, out), 0);
    cr_assert_eq(f.n, 4, "k = 5: two half powers and sigma of the second");
    cr_assert_eq(f.nodes[0].by, IAMP_BY_OVERSEER);
    cr_assert_eq(f.nodes[3].by, IAMP_BY_PRIMITIVE);
    cr_assert_eq(pow_x(&f.nodes[3].q), f.nodes[2].a.tok[0]);
    for (int c = 1; c <= 2; c++) {
        cr_assert_eq(f.nodes[c].parent, 0);
        cr_assert_eq(f.nodes[c].by, IAMP_BY_MODEL);
        cr_assert_eq(pow_k(&f.nodes[c].q), 2);
    }
    cr_assert_eq(pow_x(&f.nodes[1].q), 5);
    cr_assert_eq(pow_x(&f.nodes[2].q), f.nodes[1].a.tok[0]);
    struct iamp_answer want;
    iamp_task_truth(&task, &q, &want);
    cr_assert(iamp_answer_equal(&f.nodes[0].a, &want));
    free(f.nodes);
    iamp_engine_release(&e);
}

Test(engine, traced_depth_zero_roots_are_the_model_s)
{
    struct iamp_engine e;
    struct oracle o = {.t = &task};
    struct forest f = {0};
    iamp_engine_init(&e, &task);
    e.trace_cb = keep_forest;
    e.trace_ctx = &f;
    int n = all_questions(qs);
    cr_assert_eq(iamp_engine_run(&e, qs, n, 0, oracle_leaf, &o, out), 0);
    cr_assert_eq(f.n, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(f.nodes[i].by, IAMP_BY_MODEL, "depth 0: M alone, even for k = 1");
    free(f.nodes);
    iamp_engine_release(&e);
}

Test(engine, shipped_subtrees_are_named_in_a_trace)
{
    int n = all_questions(qs);
    struct iamp_engine e;
    struct oracle o = {.t = &task};
    struct forest f = {0};
    iamp_engine_init(&e, &task);
    e.leaf_depth = 1;
    e.trace_cb = keep_forest;
    e.trace_ctx = &f;
    cr_assert_eq(iamp_engine_run(&e, qs, n, 2, oracle_leaf, &o, out), 0);
    long subtrees = 0;
    for (long i = 0; i < f.n; i++) {
        if (f.nodes[i].by == IAMP_BY_SUBTREE) {
            subtrees++;
            cr_assert_eq(f.nodes[i].depth_left, 1);
        }
        cr_assert_neq(f.nodes[i].by, IAMP_BY_MODEL, "no node is M's alone here");
    }
    cr_assert_gt(subtrees, 0);
    free(f.nodes);
    iamp_engine_release(&e);
}

Test(engine, a_failing_trace_callback_fails_the_run)
{
    int n = all_questions(qs);
    struct iamp_engine e;
    struct oracle o = {.t = &task};
    struct forest f = {.fail_with = IAMP_EIO};
    iamp_engine_init(&e, &task);
    e.trace_cb = keep_forest;
    e.trace_ctx = &f;
    cr_assert_eq(iamp_engine_run(&e, qs, n, 1, oracle_leaf, &o, out), IAMP_EIO);
    cr_assert_eq(f.calls, 1);
    e.trace_cb = NULL;
    cr_assert_eq(iamp_engine_run(&e, qs, n, 1, oracle_leaf, &o, out), 0);
    cr_assert_eq(f.calls, 1, "no callback once tracing is off");
    iamp_engine_release(&e);
}
