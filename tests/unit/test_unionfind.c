/* test_unionfind.c — the union-find task on instances given as facts: H
 * with a perfect subanswer oracle equals the ground truth (itself checked
 * against the test's own walk up the facts) on every question of random
 * instances at every difficulty; drawn instances are valid, of the sizes
 * and depths their level says; malformed facts and questions about
 * variables outside the instance are refused; the text syntax round-trips
 * and malformed text is rejected with a reason; the spec. */
#include "tasks/task.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "task_helpers.h"

/* The second token of x's fact, by the test itself (-1: none). */
static int fact_tok(const struct iamp_context *c, int x)
{
    for (int f = 0; f < c->n_facts; f++)
        if (c->tok[f][0] == x)
            return c->tok[f][1];
    return -1;
}

/* x's depth and its root's value token, walking up the facts (n: the
 * variables; tokens >= n are values). */
static int walk_up(const struct iamp_context *c, int n, int x, int *value)
{
    for (int k = 0; k <= c->n_facts; k++) {
        int y = fact_tok(c, x);
        cr_assert_geq(y, 0, "variable %d has no fact", x);
        if (y >= n) {
            *value = y;
            return k;
        }
        x = y;
    }
    cr_assert_fail("a cycle of parents");
    return -1;
}

static const char *const type_words[] = {"value", "parent", "depth"};

/* Every question on every variable of `per_level` instances at each
 * level: H with the truth as oracle equals the truth, which is the walk. */
static void check_instances(const char *spec, int n, int vals, int dmax, int per_level)
{
    struct iamp_task t = make(spec);
    struct iamp_rng r;
    iamp_rng_seed(&r, 5, 0);
    cr_assert_eq(t.max_difficulty, dmax);
    for (int d = 1; d <= dmax; d++) {
        for (int i = 0; i < per_level; i++) {
            struct iamp_context c;
            char err[256];
            t.ops->draw_context(&t, &r, d, &c);
            cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
            for (int f = 0; f < c.n_facts; f++) {
                int x = c.tok[f][0], value, k = walk_up(&c, n, x, &value);
                int want[3] = {value, fact_tok(&c, x) < n ? fact_tok(&c, x) : x, n + vals + k};
                for (int ty = 0; ty < 3; ty++) {
                    char text[64];
                    struct iamp_question q;
                    snprintf(text, sizeof(text), "%s x=%d", type_words[ty], x);
                    cr_assert_eq(t.ops->parse_question(&t, text, &q, err, sizeof(err)), 0, "%s",
                                 err);
                    q.ctx = &c;
                    cr_assert(t.ops->valid_question(&t, &q));
                    struct iamp_answer got, truth;
                    run_with_oracle(&t, &q, NULL, &got);
                    iamp_task_truth(&t, &q, &truth);
                    cr_assert(iamp_answer_equal(&got, &truth), "H wrong on %s (level %d)", text, d);
                    cr_assert(iamp_answer_valid(&t, &q, &got));
                    cr_assert(iamp_task_correct(&t, &q, &got));
                    cr_assert_eq(truth.tok[0], want[ty], "truth of %s is the walk up the facts",
                                 text);
                }
            }
        }
    }
    iamp_task_destroy(&t);
}

Test(unionfind, overseer_with_perfect_oracle_equals_truth_on_random_instances, .timeout = 60)
{
    check_instances("unionfind", 16, 4, 6, 12);
    check_instances("unionfind:n=64,vals=8,dmax=12", 64, 8, 12, 4);
    check_instances("unionfind:n=5,vals=2", 5, 2, 4, 12);
    check_instances("unionfind:n=2,vals=1", 2, 1, 1, 12);
}

Test(unionfind, instances_are_valid_of_the_size_and_depth_their_level_says, .timeout = 30)
{
    struct iamp_task t = make("unionfind");
    struct iamp_rng r;
    iamp_rng_seed(&r, 7, 0);
    cr_assert_eq(t.facts_max, 16);
    cr_assert_eq(t.fact_len, 2);
    for (int d = 1; d <= 6; d++) {
        int deepest = 0, sizes[17] = {0};
        for (int i = 0; i < 200; i++) {
            struct iamp_context c;
            char err[256];
            t.ops->draw_context(&t, &r, d, &c);
            cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
            cr_assert(t.ops->valid_context(&t, &c, err, sizeof(err)), "%s", err);
            cr_assert(c.n_facts >= 8 && c.n_facts <= 16, "%d variables", c.n_facts);
            sizes[c.n_facts]++;
            int roots = 0, seen_value[4] = {0};
            for (int f = 0; f < c.n_facts; f++) {
                int value, k = walk_up(&c, 16, c.tok[f][0], &value);
                cr_assert_leq(k, d, "level %d holds a variable %d deep", d, k);
                deepest = k > deepest ? k : deepest;
                if (c.tok[f][1] >= 16) {
                    roots++;
                    cr_assert_eq(seen_value[c.tok[f][1] - 16]++, 0, "two classes of one value");
                }
            }
            cr_assert(roots >= 1 && roots <= 4, "%d classes", roots);
        }
        cr_assert_eq(deepest, d, "level %d never reaches its depth", d);
        cr_assert(sizes[8] > 0 && sizes[16] > 0, "sizes 8..16 at level %d", d);
    }
    iamp_task_destroy(&t);
}

Test(unionfind, instances_differ_and_questions_stay_on_their_instance, .timeout = 10)
{
    struct iamp_task t = make("unionfind");
    struct iamp_rng r;
    iamp_rng_seed(&r, 9, 0);
    struct iamp_context ctx[8];
    struct iamp_question qs[8 * 16];
    cr_assert_eq(iamp_task_contexts_for(&t, 8 * 16), 8);
    iamp_task_sample_roots(&t, &r, t.max_difficulty, 8 * 16, ctx, qs);
    int types[3] = {0};
    for (int i = 0; i < 8 * 16; i++) {
        cr_assert_eq(qs[i].ctx, &ctx[i / 16], "16 roots per instance, in order");
        cr_assert(t.ops->valid_question(&t, &qs[i]), "a root asks about its instance");
        types[qs[i].type]++;
    }
    cr_assert(types[0] > 20 && types[1] > 20 && types[2] > 20, "every type sampled");
    cr_assert(memcmp(ctx[0].tok, ctx[1].tok, sizeof(ctx[0].tok)) != 0, "fresh instances");
    iamp_task_destroy(&t);
}

Test(unionfind, format_then_parse_round_trips, .timeout = 10)
{
    struct iamp_task t = make("unionfind");
    struct iamp_rng r;
    iamp_rng_seed(&r, 1, 0);
    struct iamp_context ctx[4];
    struct iamp_question qs[64];
    for (int round = 0; round < 30; round++) {
        iamp_task_sample_roots(&t, &r, 1 + round % t.max_difficulty, 64, ctx, qs);
        for (int i = 0; i < 64; i++) {
            struct iamp_question back;
            char text[IAMP_TEXT_MAX], err[256];
            t.ops->format_question(&t, &qs[i], text, sizeof(text));
            cr_assert_eq(t.ops->parse_question(&t, text, &back, err, sizeof(err)), 0, "%s", err);
            back.ctx = qs[i].ctx; /* the text carries no facts */
            cr_assert_eq(memcmp(&qs[i], &back, sizeof(back)), 0, "%s", text);
        }
    }
    iamp_task_destroy(&t);
}

Test(unionfind, rejects_malformed_text_with_a_reason, .timeout = 10)
{
    static const char *const bad[] = {
        "",
        "value",
        "value x=",
        "value x=16",
        "value x=-1",
        "value x=a",
        "value y=3",
        "value x=1 x=2",
        "value x=1 k=2",
        "root x=1",
        "VALUE x=1",
        "parent",
        "depth x=99999999999999999999",
        "depth x=1y",
        "dist a=1 b=2",
    };
    struct iamp_task t = make("unionfind");
    check_rejects(&t, bad, sizeof(bad) / sizeof(bad[0]));
    struct iamp_question a, b;
    char err[256];
    cr_assert_eq(t.ops->parse_question(&t, "  depth\tx=15 ", &a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(t.ops->parse_question(&t, "depth x=15", &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
    iamp_task_destroy(&t);
}

Test(unionfind, malformed_facts_and_foreign_variables_are_refused, .timeout = 10)
{
    /* 0 is a root of value token 16 (value 0), 1 its child, 2 its grandchild. */
    struct iamp_task t = make("unionfind:n=16,vals=4,dmax=2");
    struct iamp_context c = {.n_facts = 3, .fact_len = 2, .tok = {{0, 16}, {1, 0}, {2, 1}}};
    char err[256] = "";
    cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
    struct iamp_question q;
    cr_assert_eq(t.ops->parse_question(&t, "value x=5", &q, err, sizeof(err)), 0);
    q.ctx = &c;
    cr_assert_not(t.ops->valid_question(&t, &q), "5 is not a variable of the instance");
    q.ctx = NULL;
    cr_assert_not(t.ops->valid_question(&t, &q), "a question needs its facts");
    static const struct {
        int f, j, tok;
        const char *needle;
    } cases[] = {
        {0, 1, 1, "cycle"},          /* 0 -> 1 -> 0 */
        {2, 1, 2, "cycle"},          /* 2 is its own parent */
        {2, 1, 7, "no fact"},        /* parent 7 has none */
        {1, 0, 0, "second fact"},    /* 0 twice */
        {1, 1, 20, "neither"},       /* a depth token */
        {2, 0, 40, "out of range"},  /* beyond the vocabulary */
        {0, 0, 16, "not a variable"} /* a value token as a variable */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_context bad = c;
        bad.tok[cases[i].f][cases[i].j] = (uint16_t)cases[i].tok;
        cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0, "case %zu", i);
        cr_assert(strstr(err, cases[i].needle), "case %zu: %s", i, err);
        cr_assert_null(strchr(err, '\n'));
    }
    struct iamp_context deep = c;
    deep.n_facts = 4;
    deep.tok[3][0] = 3;
    deep.tok[3][1] = 2; /* 3 is 3 deep, past dmax=2 */
    cr_assert_neq(iamp_task_check_context(&t, &deep, err, sizeof(err)), 0);
    cr_assert(strstr(err, "dmax=2"), "%s", err);
    struct iamp_context shape = c;
    shape.fact_len = 3;
    cr_assert_neq(iamp_task_check_context(&t, &shape, err, sizeof(err)), 0);
    shape = c;
    shape.n_facts = 17;
    cr_assert_neq(iamp_task_check_context(&t, &shape, err, sizeof(err)), 0);
    iamp_task_destroy(&t);
}

Test(unionfind, overseer_reads_the_facts_and_follows_parents, .timeout = 10)
{
    struct iamp_task t = make("unionfind:n=16,vals=4,dmax=2");
    struct iamp_context c = {.n_facts = 3, .fact_len = 2, .tok = {{0, 17}, {1, 0}, {2, 1}}};
    struct iamp_question q;
    struct iamp_answer a;
    char err[256], text[64];
    /* Primitive: a root's value and depth, every parent. */
    static const struct {
        const char *q;
        int primitive;
        const char *answer;
    } cases[] = {
        {"value x=0", 1, "17"}, {"depth x=0", 1, "0"},  {"parent x=0", 1, "0"},
        {"parent x=2", 1, "1"}, {"value x=2", 0, "17"}, {"depth x=2", 0, "2"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(t.ops->parse_question(&t, cases[i].q, &q, err, sizeof(err)), 0);
        q.ctx = &c;
        cr_assert_eq(t.ops->primitive(&t, &q, &a), cases[i].primitive, "%s", cases[i].q);
        run_with_oracle(&t, &q, NULL, &a);
        t.ops->format_answer(&t, &q, &a, text, sizeof(text));
        cr_assert_str_eq(text, cases[i].answer, "%s", cases[i].q);
    }
    /* Two subquestions: x's parent (H's lookup, so that it is in the
     * transcript), then the same type about it; bad subanswers are read
     * safely. */
    unsigned char ep[512];
    struct iamp_question asks[IAMP_ASK_MAX];
    int n_asks;
    cr_assert_eq(t.ops->parse_question(&t, "depth x=2", &q, err, sizeof(err)), 0);
    q.ctx = &c;
    t.ops->episode_start(&t, ep, &q);
    cr_assert_eq(t.ops->episode_step(&t, ep, NULL, 0, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert_eq(n_asks, 1);
    cr_assert_eq(asks[0].type, 1, "asks x's parent first");
    cr_assert_eq(asks[0].tok[0], 2);
    asks[0].ctx = &c;
    cr_assert(t.ops->primitive(&t, &asks[0], &a), "the parent is H's lookup");
    struct iamp_answer parent = {.len = 1, .tok = {1}};
    cr_assert_eq(t.ops->episode_step(&t, ep, &parent, 1, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert_eq(n_asks, 1);
    cr_assert_eq(asks[0].type, q.type);
    cr_assert_eq(asks[0].tok[0], 1, "then asks about x's parent");
    struct iamp_answer garbage = {.len = 1, .tok = {3}};
    cr_assert_eq(t.ops->episode_step(&t, ep, &garbage, 1, asks, &n_asks, &a), IAMP_EP_DONE);
    cr_assert(iamp_answer_valid(&t, &q, &a));
    struct iamp_answer past = {.len = 1, .tok = {16 + 4 + 2}};   /* depth dmax: +1 stays dmax */
    struct iamp_answer bad_parent = {.len = 1, .tok = {16 + 1}}; /* a value, not a variable */
    t.ops->episode_start(&t, ep, &q);
    t.ops->episode_step(&t, ep, NULL, 0, asks, &n_asks, &a);
    cr_assert_eq(t.ops->episode_step(&t, ep, &bad_parent, 1, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert_eq(asks[0].tok[0], 0, "a bad parent reads as variable 0");
    t.ops->episode_step(&t, ep, &past, 1, asks, &n_asks, &a);
    cr_assert(iamp_answer_valid(&t, &q, &a));
    cr_assert_eq(t.ops->parse_question(&t, "value x=2", &q, err, sizeof(err)), 0);
    q.ctx = &c;
    t.ops->episode_start(&t, ep, &q);
    t.ops->episode_step(&t, ep, NULL, 0, asks, &n_asks, &a);
    t.ops->episode_step(&t, ep, &parent, 1, asks, &n_asks, &a);
    t.ops->episode_step(&t, ep, &garbage, 1, asks, &n_asks, &a);
    cr_assert(iamp_answer_valid(&t, &q, &a));
    iamp_task_destroy(&t);
}

Test(unionfind, spec_is_canonical_and_unknown_parameters_are_refused, .timeout = 10)
{
    struct iamp_task a = make("unionfind"), b = make("unionfind:n=64,vals=8"),
                     c = make("unionfind:n=4");
    cr_assert_str_eq(a.spec, "unionfind:n=16,vals=4,dmax=6");
    cr_assert_str_eq(b.spec, "unionfind:n=64,vals=8,dmax=6");
    cr_assert_str_eq(c.spec, "unionfind:n=4,vals=4,dmax=3");
    cr_assert_eq(a.vocab, 16 + 4 + 7);
    cr_assert_eq(a.max_asks, 2);
    cr_assert(iamp_task_has_contexts(&a));
    cr_assert(strstr(iamp_task_train_defaults(&a), "transformer"));
    iamp_task_destroy(&a);
    iamp_task_destroy(&b);
    iamp_task_destroy(&c);
    static const struct {
        const char *spec, *needle;
    } cases[] = {
        {"unionfind:seed=1", "no parameter 'seed'"},
        {"unionfind:bogus=1", "no parameter 'bogus'"},
        {"unionfind:n=1", "n=1"},
        {"unionfind:n=129", "n=129"},
        {"unionfind:vals=0", "vals=0"},
        {"unionfind:dmax=16", "dmax=16"},
        {"unionfind:n=8,dmax=0", "dmax=0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_task t;
        char err[256] = "";
        cr_assert_neq(iamp_task_create(&t, cases[i].spec, err, sizeof(err)), 0, "%s accepted",
                      cases[i].spec);
        cr_assert_not_null(strstr(err, cases[i].needle), "%s: '%s'", cases[i].spec, err);
    }
}

Test(unionfind, facts_lines_parse_into_a_valid_instance, .timeout = 10)
{
    struct iamp_task t = make("unionfind");
    struct iamp_context c;
    char err[256] = "";
    cr_assert_eq(iamp_context_parse(&t, "facts: 0 16, 1 0, 2 1, 3 17", &c, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(c.n_facts, 4);
    cr_assert_neq(iamp_context_parse(&t, "facts: 0 1, 1 0", &c, err, sizeof(err)), 0);
    cr_assert(strstr(err, "cycle"), "%s", err);
    iamp_task_destroy(&t);
}
