/* test_assign.c — the sequential-assignments task: H with a perfect
 * subanswer oracle equals the ground truth on every variable of random
 * instances at every level, the ground truth equals the test's own
 * evaluation of the facts, instances have the sizes and depths the spec
 * says, the text syntax round-trips, malformed text and facts are refused
 * with a reason, and the spec is canonical. */
#include "tasks/task.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "task_helpers.h"

/* The test's own reading of an instance: every variable's value and depth
 * by passes over the facts until nothing changes (-1: undefined). n
 * variables, values from token n. */
static void evaluate(const struct iamp_context *c, int n, int *value, int *depth)
{
    for (int x = 0; x < n; x++)
        value[x] = depth[x] = -1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int f = 0; f < c->n_facts; f++) {
            int x = c->tok[f][0], y = c->tok[f][1], z = c->tok[f][2];
            if (x >= n || value[x] >= 0)
                continue;
            if (y >= n) { /* x := v */
                value[x] = y - n;
                depth[x] = 0;
                changed = 1;
                continue;
            }
            if (value[y] < 0 || value[z] < 0)
                continue;
            for (int g = 0; g < c->n_facts; g++)
                if (c->tok[g][0] == n + value[y] && c->tok[g][1] == n + value[z]) {
                    value[x] = c->tok[g][2] - n;
                    depth[x] = 1 + (depth[y] > depth[z] ? depth[y] : depth[z]);
                    changed = 1;
                }
        }
    }
}

static void value_question(const struct iamp_task *t, int x, const struct iamp_context *c,
                           struct iamp_question *q)
{
    char text[64], err[256];
    snprintf(text, sizeof(text), "value x=%d", x);
    cr_assert_eq(t->ops->parse_question(t, text, q, err, sizeof(err)), 0, "%s", err);
    q->ctx = c;
}

/* Instances of `spec` (n variables, k values, depth cap) at every level:
 * valid, of min(9, n)..n variables, isqrt of them values, none deeper
 * than the cap; H with exact subanswers and the truth agree with the
 * test's evaluation on every variable. */
static void check_instances(const char *spec, int n, int k, int cap)
{
    struct iamp_task t = make(spec);
    struct iamp_rng r;
    iamp_rng_seed(&r, 5, 0);
    cr_assert_eq(t.max_difficulty, cap + 1);
    int deepest = 0;
    for (int i = 0; i < 8 * t.max_difficulty; i++) {
        struct iamp_context c;
        char err[256];
        t.ops->draw_context(&t, &r, 1 + i % t.max_difficulty, &c);
        cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
        int value[64], depth[64], size = 0, consts = 0;
        evaluate(&c, n, value, depth);
        for (int x = 0; x < n; x++) {
            if (depth[x] < 0)
                continue;
            size++;
            consts += depth[x] == 0;
            cr_assert_leq(depth[x], cap, "%s: variable %d has depth %d", spec, x, depth[x]);
            deepest = depth[x] > deepest ? depth[x] : deepest;
            struct iamp_question q;
            struct iamp_answer got, want;
            value_question(&t, x, &c, &q);
            cr_assert(t.ops->valid_question(&t, &q));
            run_with_oracle(&t, &q, NULL, &got);
            iamp_task_truth(&t, &q, &want);
            cr_assert(iamp_answer_equal(&got, &want), "%s: H wrong on x=%d", spec, x);
            cr_assert(iamp_answer_valid(&t, &q, &got));
            cr_assert_eq(want.tok[0], n + value[x], "%s: truth of x=%d", spec, x);
            cr_assert_lt(value[x], k);
        }
        int lo = n < 9 ? n : 9, root = 1;
        while ((root + 1) * (root + 1) <= size)
            root++;
        cr_assert(size >= lo && size <= n, "%s: %d variables", spec, size);
        cr_assert_eq(consts, root, "%s: %d of %d variables are values", spec, consts, size);
        cr_assert_leq(c.n_facts, t.facts_max);
    }
    cr_assert_eq(deepest, cap, "%s: the cap is reached", spec);
    iamp_task_destroy(&t);
}

Test(assign, overseer_with_perfect_oracle_equals_truth_on_random_instances, .timeout = 60)
{
    check_instances("assign", 16, 8, 4);
    check_instances("assign:vars=64,depth=8", 64, 8, 8);
    check_instances("assign:vars=32,values=3,depth=2", 32, 3, 2);
    check_instances("assign:vars=5,values=2,depth=1", 5, 2, 1);
}

/* Subanswers from M may be anything: H still answers a value. */
static void garbage(const struct iamp_task *t, const struct iamp_question *q, struct iamp_answer *a)
{
    (void)t;
    memset(a, 0, sizeof(*a));
    a->len = 1;
    a->tok[0] = (uint16_t)(q->tok[0] * 7 + 3);
}

/* One step of H's episode for q with the answers given; its asks. */
static int step(const struct iamp_task *t, void *ep, const struct iamp_answer *ans, int n,
                struct iamp_question *asks, int *n_asks, struct iamp_answer *out)
{
    return t->ops->episode_step(t, ep, ans, n, asks, n_asks, out);
}

Test(assign, overseer_asks_the_definition_the_operands_and_the_table, .timeout = 10)
{
    struct iamp_task t = make("assign:vars=4,values=3");
    /* 0 := v1, 1 := v2, 2 := f(0, 1), 3 := f(2, 2); f(1, 2) = 0, f(0, 0) = 2 */
    struct iamp_context c = {
        .n_facts = 6,
        .fact_len = 3,
        .tok = {{0, 5, 7}, {1, 6, 7}, {2, 0, 1}, {3, 2, 2}, {5, 6, 4}, {4, 4, 6}}};
    char err[256];
    cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
    struct iamp_question q, asks[IAMP_ASK_MAX];
    struct iamp_answer a, ans[2];
    unsigned char ep[512];
    int n_asks = -1;
    value_question(&t, 0, &c, &q);
    cr_assert(t.ops->primitive(&t, &q, &a), "a value is read");
    cr_assert_eq(a.tok[0], 5);
    value_question(&t, 3, &c, &q);
    cr_assert_not(t.ops->primitive(&t, &q, &a));
    /* The episode reads no facts: it runs on a question without them. */
    struct iamp_question blind = q;
    blind.ctx = NULL;
    t.ops->episode_start(&t, ep, &blind);
    cr_assert_eq(step(&t, ep, NULL, 0, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert(n_asks == 1 && asks[0].type == 1 && asks[0].tok[0] == 3, "def x=3 first");
    asks[0].ctx = &c;
    cr_assert(t.ops->valid_question(&t, &asks[0]));
    cr_assert(t.ops->primitive(&t, &asks[0], &ans[0]), "a definition is H's lookup");
    cr_assert(ans[0].len == 2 && ans[0].tok[0] == 2 && ans[0].tok[1] == 2, "3 := f(2, 2)");
    cr_assert_eq(step(&t, ep, ans, 1, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert_eq(n_asks, 2);
    cr_assert(asks[0].type == 0 && asks[0].tok[0] == 2 && asks[1].tok[0] == 2, "the operands");
    asks[0].ctx = &c;
    cr_assert_not(t.ops->primitive(&t, &asks[0], &a), "a compound operand goes to M");
    ans[0] = ans[1] = (struct iamp_answer){.len = 1, .tok = {4}}; /* value 0 */
    cr_assert_eq(step(&t, ep, ans, 2, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert(n_asks == 1 && asks[0].type == 2 && asks[0].tok[0] == 4 && asks[0].tok[1] == 4,
              "table a=0 b=0");
    asks[0].ctx = &c;
    cr_assert(t.ops->valid_question(&t, &asks[0]));
    cr_assert(t.ops->primitive(&t, &asks[0], &ans[0]), "an entry of f is H's lookup");
    cr_assert_eq(ans[0].tok[0], 6, "f(0, 0) = 2");
    cr_assert_eq(step(&t, ep, ans, 1, asks, &n_asks, &a), IAMP_EP_DONE);
    cr_assert_eq(a.tok[0], 6, "the table's answer is the answer");
    iamp_task_truth(&t, &q, &ans[0]);
    cr_assert_eq(ans[0].tok[0], 6, "2 = f(1, 2) = 0, 3 = f(0, 0) = 2");
    /* An entry the facts lack reads as value 0; so does the truth of it. */
    struct iamp_question miss;
    char e2[256];
    cr_assert_eq(t.ops->parse_question(&t, "table a=2 b=2", &miss, e2, sizeof(e2)), 0, "%s", e2);
    miss.ctx = &c;
    cr_assert(t.ops->primitive(&t, &miss, &a));
    cr_assert_eq(a.tok[0], 4);
    run_with_oracle(&t, &q, garbage, &a);
    cr_assert(iamp_answer_valid(&t, &q, &a), "garbage in, a value out");
    iamp_task_destroy(&t);
}

/* Every question H asks on random instances is valid, its lookups
 * primitive, and the truth of a lookup is H's. */
Test(assign, lookups_are_primitive_and_their_truth_is_the_facts, .timeout = 30)
{
    struct iamp_task t = make("assign:vars=16,depth=4");
    struct iamp_rng r;
    iamp_rng_seed(&r, 3, 0);
    int seen[3] = {0, 0, 0};
    for (int i = 0; i < 50; i++) {
        struct iamp_context c;
        t.ops->draw_context(&t, &r, t.max_difficulty, &c);
        for (int x = 0; x < 16; x++) {
            struct iamp_question q, asks[IAMP_ASK_MAX];
            struct iamp_answer a, ans[IAMP_ASK_MAX], want;
            unsigned char ep[512];
            int n_asks = 0, n = 0;
            value_question(&t, x, &c, &q);
            if (!t.ops->valid_question(&t, &q) || t.ops->primitive(&t, &q, &a))
                continue;
            t.ops->episode_start(&t, ep, &q);
            while (step(&t, ep, ans, n, asks, &n_asks, &a) == IAMP_EP_ASK) {
                for (int k = 0; k < n_asks; k++) {
                    asks[k].ctx = &c;
                    cr_assert(t.ops->valid_question(&t, &asks[k]));
                    seen[asks[k].type]++;
                    if (asks[k].type != 0) {
                        cr_assert(t.ops->primitive(&t, &asks[k], &ans[k]));
                        iamp_task_truth(&t, &asks[k], &want);
                        cr_assert(iamp_answer_equal(&ans[k], &want));
                        cr_assert(iamp_answer_valid(&t, &asks[k], &ans[k]));
                    } else {
                        iamp_task_truth(&t, &asks[k], &ans[k]);
                    }
                }
                n = n_asks;
            }
            iamp_task_truth(&t, &q, &want);
            cr_assert(iamp_answer_equal(&a, &want), "H with exact answers is right");
        }
    }
    cr_assert(seen[0] && seen[1] && seen[2], "every type asked");
    iamp_task_destroy(&t);
}

Test(assign, sampler_asks_within_the_levels_depth, .timeout = 30)
{
    struct iamp_task t = make("assign:vars=32,depth=5");
    struct iamp_rng r;
    iamp_rng_seed(&r, 2, 0);
    for (int d = 1; d <= t.max_difficulty; d++) {
        int top = 0;
        for (int i = 0; i < 200; i++) {
            struct iamp_context c;
            t.ops->draw_context(&t, &r, d, &c);
            int value[64], depth[64];
            evaluate(&c, 32, value, depth);
            for (int j = 0; j < 16; j++) {
                struct iamp_question q;
                iamp_task_sample(&t, &r, d, &c, &q);
                cr_assert_eq(q.ctx, &c);
                cr_assert(t.ops->valid_question(&t, &q));
                int dq = depth[q.tok[0]];
                cr_assert(dq >= 0 && dq <= d - 1, "level %d asked depth %d", d, dq);
                top = dq > top ? dq : top;
            }
        }
        cr_assert_eq(top, d - 1, "level %d never reaches depth %d", d, d - 1);
    }
    iamp_task_destroy(&t);
}

Test(assign, roots_stay_on_their_fresh_instances, .timeout = 10)
{
    struct iamp_task t = make("assign");
    struct iamp_rng r;
    iamp_rng_seed(&r, 9, 0);
    struct iamp_context ctx[8];
    struct iamp_question qs[8 * 16];
    cr_assert_eq(iamp_task_contexts_for(&t, 8 * 16), 8);
    iamp_task_sample_roots(&t, &r, 0, 8 * 16, ctx, qs);
    for (int i = 0; i < 8 * 16; i++) {
        cr_assert_eq(qs[i].ctx, &ctx[i / 16], "16 roots per instance, in order");
        cr_assert(t.ops->valid_question(&t, &qs[i]), "a root asks about its instance");
    }
    cr_assert(memcmp(ctx[0].tok, ctx[1].tok, sizeof(ctx[0].tok)) != 0, "fresh instances");
    iamp_task_destroy(&t);
}

Test(assign, format_then_parse_round_trips, .timeout = 10)
{
    struct iamp_task t = make("assign:vars=64,depth=16");
    struct iamp_rng r;
    iamp_rng_seed(&r, 1, 0);
    struct iamp_context c;
    for (int i = 0; i < 2000; i++) {
        struct iamp_question q, back;
        char text[IAMP_TEXT_MAX], err[256];
        if (i % 16 == 0)
            t.ops->draw_context(&t, &r, t.max_difficulty, &c);
        iamp_task_sample(&t, &r, t.max_difficulty, &c, &q);
        t.ops->format_question(&t, &q, text, sizeof(text));
        cr_assert_eq(t.ops->parse_question(&t, text, &back, err, sizeof(err)), 0, "%s", err);
        back.ctx = q.ctx;
        cr_assert_eq(memcmp(&q, &back, sizeof(q)), 0, "%s", text);
    }
    static const char *const lookups[] = {"def x=0", "def x=63", "table a=0 b=7", "table a=7 b=0"};
    for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
        struct iamp_question q;
        char text[IAMP_TEXT_MAX], err[256];
        cr_assert_eq(t.ops->parse_question(&t, lookups[i], &q, err, sizeof(err)), 0, "%s", err);
        cr_assert(t.ops->valid_question(&t, &q));
        t.ops->format_question(&t, &q, text, sizeof(text));
        cr_assert_str_eq(text, lookups[i]);
    }
    struct iamp_question a, b;
    char err[256];
    cr_assert_eq(t.ops->parse_question(&t, "  value\tx=63 ", &a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(t.ops->parse_question(&t, "value x=63", &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
    struct iamp_answer ans = {.len = 1, .tok = {64 + 5}};
    char text[32];
    t.ops->format_answer(&t, &a, &ans, text, sizeof(text));
    cr_assert_str_eq(text, "5", "an answer is its value, 0..values-1");
    struct iamp_question d;
    cr_assert_eq(t.ops->parse_question(&t, "def x=3", &d, err, sizeof(err)), 0, "%s", err);
    struct iamp_answer dv = {.len = 2, .tok = {64 + 5, 64 + 8}}, df = {.len = 2, .tok = {2, 9}};
    t.ops->format_answer(&t, &d, &dv, text, sizeof(text));
    cr_assert_str_eq(text, "= 5");
    t.ops->format_answer(&t, &d, &df, text, sizeof(text));
    cr_assert_str_eq(text, "f 2 9");
    iamp_task_destroy(&t);
}

Test(assign, rejects_malformed_text_with_a_reason, .timeout = 10)
{
    static const char *const bad[] = {
        "",
        "value",
        "value x=16",
        "value x=-1",
        "value x=a",
        "val x=1",
        "value y=1",
        "value x=1 x=2",
        "value x=1 k=2",
        "VALUE x=1",
        "value x=",
        "value=1 x=1",
        "value x=1x",
        "value x=99999999999999999999",
        "def",
        "def x=16",
        "def x=1 y=2",
        "table a=1",
        "table a=8 b=0",
        "table a=0 b=8",
        "table x=1 b=2",
        "table a=1 b=2 c=3",
    };
    struct iamp_task t = make("assign");
    check_rejects(&t, bad, sizeof(bad) / sizeof(bad[0]));
    iamp_task_destroy(&t);
}

Test(assign, malformed_facts_and_foreign_variables_are_refused, .timeout = 10)
{
    /* vars=4, values=3: variables 0..3, values 4..6, NIL 7 */
    static const struct {
        struct iamp_context c;
        const char *needle;
    } cases[] = {
        {{3, 3, {{0, 5, 7}, {0, 4, 7}, {5, 5, 4}}}, "defined twice"},
        {{3, 3, {{0, 5, 7}, {1, 1, 0}, {5, 5, 4}}}, "depends on itself"},
        {{4, 3, {{0, 5, 7}, {1, 2, 0}, {2, 1, 0}, {5, 5, 4}}}, "depends on itself"},
        {{2, 3, {{0, 5, 7}, {1, 0, 3}}}, "no fact defines"},
        {{2, 3, {{0, 5, 7}, {1, 0, 0}}}, "no fact gives"},
        {{4, 3, {{0, 5, 7}, {1, 0, 0}, {5, 5, 4}, {5, 5, 6}}}, "given twice"},
        {{2, 3, {{0, 5, 5}, {5, 5, 4}}}, "not 'x v 7'"},
        {{2, 3, {{0, 5, 7}, {5, 7, 4}}}, "not 'x v 7'"},
        {{2, 3, {{0, 5, 7}, {5, 0, 4}}}, "variables are 0..3, values 4..6"},
        {{1, 3, {{5, 5, 4}}}, "no variable"},
        {{1, 3, {{0, 8, 7}}}, "out of range"},
        {{2, 2, {{0, 5}, {1, 4}}}, "of 3 tokens"},
    };
    struct iamp_task t = make("assign:vars=4,values=3");
    cr_assert_eq(t.vocab, 8);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        cr_assert_neq(iamp_task_check_context(&t, &cases[i].c, err, sizeof(err)), 0,
                      "case %zu accepted", i);
        cr_assert_not_null(strstr(err, cases[i].needle), "case %zu: '%s' lacks '%s'", i, err,
                           cases[i].needle);
        cr_assert_null(strchr(err, '\n'));
    }
    struct iamp_context c;
    char err[256] = "";
    cr_assert_eq(iamp_context_parse(&t, "facts: 0 5 7, 1 0 0, 5 5 4", &c, err, sizeof(err)), 0,
                 "%s", err);
    struct iamp_question q;
    value_question(&t, 1, &c, &q);
    cr_assert(t.ops->valid_question(&t, &q));
    value_question(&t, 2, &c, &q);
    cr_assert_not(t.ops->valid_question(&t, &q), "2 is not a variable of the instance");
    struct iamp_answer a;
    iamp_task_truth(&t, &q, &a);
    cr_assert(iamp_answer_valid(&t, &q, &a), "truth answers in range even so");
    cr_assert_neq(iamp_context_parse(&t, "facts: 0 5 7, 1 0 0", &c, err, sizeof(err)), 0);
    cr_assert(strstr(err, "no fact gives"), "%s", err);
    c.n_facts = (uint16_t)(t.facts_max + 1);
    cr_assert_neq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "too many facts");
    iamp_task_destroy(&t);
}

Test(assign, spec_is_canonical_and_unknown_parameters_are_refused, .timeout = 10)
{
    struct iamp_task t = make("assign"), u = make("assign:depth=2,vars=64");
    cr_assert_str_eq(t.spec, "assign:vars=16,values=8,depth=4");
    cr_assert_str_eq(u.spec, "assign:vars=64,values=8,depth=2");
    cr_assert(iamp_task_has_contexts(&t));
    cr_assert_eq(t.facts_max, 16 + 12);
    cr_assert_eq(u.facts_max, 64 + 56);
    cr_assert_eq(t.fact_len, 3);
    cr_assert_eq(t.max_asks, 4);
    cr_assert_eq(t.n_types, 3);
    cr_assert(strstr(iamp_task_train_defaults(&t), "transformer"));
    struct iamp_task w = make("assign:vars=64,values=16,depth=16");
    cr_assert_leq(w.facts_max, IAMP_FACTS_MAX);
    iamp_task_destroy(&t);
    iamp_task_destroy(&u);
    iamp_task_destroy(&w);
    static const struct {
        const char *spec, *needle;
    } cases[] = {
        {"assign:bogus=1", "bogus"},     {"assign:vars=1", "vars=1"},
        {"assign:vars=65", "vars=65"},   {"assign:values=1", "values=1"},
        {"assign:values=17", "values"},  {"assign:depth=0", "depth=0"},
        {"assign:depth=17", "depth=17"}, {"assign:n=16", "no parameter 'n'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_task x;
        char err[256] = "";
        cr_assert_neq(iamp_task_create(&x, cases[i].spec, err, sizeof(err)), 0, "%s accepted",
                      cases[i].spec);
        cr_assert_not_null(strstr(err, cases[i].needle), "%s: '%s' lacks '%s'", cases[i].spec, err,
                           cases[i].needle);
    }
}
