/* test_path.c — the shortest-path task on instances given as facts: H
 * with a perfect subanswer oracle equals the ground truth (itself checked
 * against the test's own Floyd-Warshall over the facts) on every pair of
 * random instances, and its first steps are valid; drawn instances are
 * valid graphs of the sizes asked, within dmax; the sampler's pairs are
 * within its level's reach; malformed facts and questions about vertices
 * outside the instance are refused; H's lookups and bad subanswers; the
 * text syntax and the spec. */
#include "tasks/task.h"
#include "tasks/transcript.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "task_helpers.h"

#define FAR 1000

/* All-pairs distances of c's edges over n vertices (FAR: none). */
static void floyd(const struct iamp_context *c, int n, int d[64][64])
{
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            d[a][b] = a == b ? 0 : FAR;
    for (int f = 0; f < c->n_facts; f++)
        d[c->tok[f][0]][c->tok[f][1]] = 1;
    for (int k = 0; k < n; k++)
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
                if (d[a][k] + d[k][b] < d[a][b])
                    d[a][b] = d[a][k] + d[k][b];
}

static int named(const struct iamp_context *c, int v)
{
    for (int f = 0; f < c->n_facts; f++)
        if (c->tok[f][0] == v || c->tok[f][1] == v)
            return 1;
    return 0;
}

static int is_fact(const struct iamp_context *c, int a, int b)
{
    for (int f = 0; f < c->n_facts; f++)
        if (c->tok[f][0] == a && c->tok[f][1] == b)
            return 1;
    return 0;
}

static struct iamp_question ask(const struct iamp_task *t, const char *word, int a, int b,
                                const struct iamp_context *c)
{
    char text[64], err[256];
    struct iamp_question q;
    snprintf(text, sizeof(text), "%s a=%d b=%d", word, a, b);
    cr_assert_eq(t->ops->parse_question(t, text, &q, err, sizeof(err)), 0, "%s", err);
    q.ctx = c;
    return q;
}

/* Both types on every pair of each instance's vertices. */
static void check_instance(const struct iamp_task *t, const struct iamp_context *c, int n, int dmax)
{
    static int d[64][64];
    floyd(c, n, d);
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            if (!named(c, a) || !named(c, b))
                continue;
            for (int ty = 0; ty < 2; ty++) {
                struct iamp_question q = ask(t, ty ? "step" : "dist", a, b, c);
                cr_assert(t->ops->valid_question(t, &q));
                struct iamp_answer got, truth;
                run_with_oracle(t, &q, NULL, &got);
                iamp_task_truth(t, &q, &truth);
                cr_assert(iamp_answer_equal(&got, &truth), "H wrong on %s %d -> %d",
                          ty ? "step" : "dist", a, b);
                cr_assert(iamp_answer_valid(t, &q, &got));
                cr_assert(iamp_task_correct(t, &q, &got));
                int want = d[a][b] < FAR ? n + 1 + d[a][b] : n + dmax + 2;
                if (ty == 0)
                    cr_assert_eq(truth.tok[0], want, "dist %d -> %d is Floyd's", a, b);
                else if (d[a][b] == 0 || d[a][b] == FAR)
                    cr_assert_eq(truth.tok[0], n, "no first step %d -> %d", a, b);
                else
                    cr_assert(is_fact(c, a, truth.tok[0]) && d[truth.tok[0]][b] == d[a][b] - 1,
                              "first step %d -> %d starts a shortest path", a, b);
            }
        }
}

static void check_instances(const char *spec, int n, int dmax, int count)
{
    struct iamp_task t = make(spec);
    struct iamp_rng r;
    iamp_rng_seed(&r, 5, 0);
    cr_assert_eq(t.max_difficulty, dmax);
    for (int i = 0; i < count; i++) {
        struct iamp_context c;
        char err[256];
        t.ops->draw_context(&t, &r, 1 + i % t.max_difficulty, &c);
        cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
        check_instance(&t, &c, n, dmax);
    }
    iamp_task_destroy(&t);
}

Test(path, overseer_with_perfect_oracle_equals_truth_on_random_instances, .timeout = 60)
{
    check_instances("path", 16, 12, 24);
    check_instances("path:n=64", 64, 12, 3);
    check_instances("path:n=5,dmax=4", 5, 4, 24);
    check_instances("path:n=16,dmax=3", 16, 3, 12);
    check_instances("path:n=6,dmax=2,degree=3", 6, 2, 24);
}

Test(path, instances_are_valid_graphs_of_the_sizes_asked, .timeout = 30)
{
    struct iamp_task t = make("path");
    struct iamp_rng r;
    iamp_rng_seed(&r, 7, 0);
    cr_assert_eq(t.facts_max, 32);
    cr_assert_eq(t.fact_len, 2);
    int edges_seen[33] = {0};
    for (int i = 0; i < 300; i++) {
        struct iamp_context c;
        char err[256];
        t.ops->draw_context(&t, &r, 1 + i % t.max_difficulty, &c);
        cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
        cr_assert(t.ops->valid_context(&t, &c, err, sizeof(err)), "%s", err);
        int verts = 0, deg[16] = {0};
        for (int v = 0; v < 16; v++)
            verts += named(&c, v);
        for (int f = 0; f < c.n_facts; f++) {
            cr_assert_neq(c.tok[f][0], c.tok[f][1], "a self-loop");
            cr_assert_leq(++deg[c.tok[f][0]], 8, "out-degree");
            for (int e = 0; e < f; e++)
                cr_assert(c.tok[e][0] != c.tok[f][0] || c.tok[e][1] != c.tok[f][1], "a duplicate");
        }
        /* Twice as many edges as the 8..16 vertices drawn (a drawn vertex
         * may end up without edges, so not in the instance). */
        cr_assert(c.n_facts % 2 == 0 && c.n_facts >= 16 && c.n_facts <= 32, "%d edges", c.n_facts);
        cr_assert_leq(verts, c.n_facts / 2);
        edges_seen[c.n_facts]++;
    }
    cr_assert(edges_seen[16] > 0 && edges_seen[32] > 0, "every size");
    iamp_task_destroy(&t);
}

Test(path, instances_keep_within_a_small_dmax, .timeout = 30)
{
    struct iamp_task t = make("path:n=16,dmax=2");
    struct iamp_rng r;
    iamp_rng_seed(&r, 3, 0);
    static int d[64][64];
    for (int i = 0; i < 50; i++) {
        struct iamp_context c;
        char err[256];
        t.ops->draw_context(&t, &r, 1, &c);
        cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
        floyd(&c, 16, d);
        for (int a = 0; a < 16; a++)
            for (int b = 0; b < 16; b++)
                cr_assert(d[a][b] <= 2 || d[a][b] == FAR);
    }
    iamp_task_destroy(&t);
}

Test(path, sampled_pairs_are_within_their_levels_reach, .timeout = 30)
{
    struct iamp_task t = make("path");
    struct iamp_rng r;
    iamp_rng_seed(&r, 11, 0);
    static int d[64][64];
    for (int level = 1; level <= t.max_difficulty; level++) {
        int unreachable = 0, top = 0;
        for (int i = 0; i < 40; i++) {
            struct iamp_context c;
            t.ops->draw_context(&t, &r, level, &c);
            floyd(&c, 16, d);
            for (int j = 0; j < 16; j++) {
                struct iamp_question q;
                iamp_task_sample(&t, &r, level, &c, &q);
                cr_assert(t.ops->valid_question(&t, &q));
                cr_assert_eq(q.ctx, &c);
                int dist = d[q.tok[0]][q.tok[1]];
                unreachable += dist == FAR;
                if (dist < FAR)
                    top = dist > top ? dist : top;
                if (level < t.max_difficulty)
                    cr_assert_leq(dist, level, "level %d asked a pair %d apart", level, dist);
            }
        }
        if (level < 6)
            cr_assert_eq(top, level, "level %d never reaches its reach", level);
        if (level == t.max_difficulty)
            cr_assert_gt(unreachable, 10, "the top level asks unreachable pairs");
    }
    iamp_task_destroy(&t);
}

Test(path, format_then_parse_round_trips, .timeout = 10)
{
    struct iamp_task t = make("path");
    struct iamp_rng r;
    iamp_rng_seed(&r, 1, 0);
    struct iamp_context ctx[4];
    struct iamp_question qs[64];
    for (int round = 0; round < 30; round++) {
        iamp_task_sample_roots(&t, &r, 1 + round % t.max_difficulty, 64, ctx, qs);
        for (int i = 0; i < 64; i++) {
            struct iamp_question back;
            char text[IAMP_TEXT_MAX], err[256];
            cr_assert(t.ops->valid_question(&t, &qs[i]));
            t.ops->format_question(&t, &qs[i], text, sizeof(text));
            cr_assert_eq(t.ops->parse_question(&t, text, &back, err, sizeof(err)), 0, "%s", err);
            back.ctx = qs[i].ctx; /* the text carries no facts */
            cr_assert_eq(memcmp(&qs[i], &back, sizeof(back)), 0, "%s", text);
        }
    }
    cr_assert(memcmp(ctx[0].tok, ctx[1].tok, sizeof(ctx[0].tok)) != 0, "fresh instances");
    iamp_task_destroy(&t);
}

Test(path, rejects_malformed_text_with_a_reason, .timeout = 10)
{
    static const char *const bad[] = {
        "",
        "dist",
        "dist a=1",
        "dist b=1",
        "dist a=16 b=1",
        "dist a=1 b=16",
        "dist a=-1 b=2",
        "dist a=x b=2",
        "step a=1 b=2 c=3",
        "step a=1 a=2",
        "path a=1 b=2",
        "DIST a=1 b=2",
        "dist a= b=2",
        "dist a=1b=2",
        "step a=99999999999999999999 b=1",
        "edge a=1",
        "edge a=16 b=1",
        "edge a=1 b=16",
        "edge a=1 b=2 c=3",
        "nbrs",
        "nbrs a=16",
        "nbrs a=1 b=2",
        "nbrs b=1",
    };
    struct iamp_task t = make("path");
    check_rejects(&t, bad, sizeof(bad) / sizeof(bad[0]));
    iamp_task_destroy(&t);
}

Test(path, malformed_facts_and_foreign_vertices_are_refused, .timeout = 10)
{
    struct iamp_task t = make("path:n=16,dmax=3");
    /* 0 -> 1 -> 2 -> 3, and 3 -> 0. */
    struct iamp_context c = {.n_facts = 4, .fact_len = 2, .tok = {{0, 1}, {1, 2}, {2, 3}, {3, 0}}};
    char err[256] = "";
    cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
    struct iamp_question q = ask(&t, "dist", 0, 5, &c);
    cr_assert_not(t.ops->valid_question(&t, &q), "5 is not a vertex of the instance");
    q = ask(&t, "step", 7, 1, &c);
    cr_assert_not(t.ops->valid_question(&t, &q), "7 is not a vertex of the instance");
    q = ask(&t, "dist", 0, 3, NULL);
    cr_assert_not(t.ops->valid_question(&t, &q), "a question needs its facts");
    struct iamp_context bad = c;
    bad.tok[0][1] = 0; /* 0 -> 0 */
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    cr_assert(strstr(err, "self-loop"), "%s", err);
    bad = c;
    bad.tok[3][0] = 0;
    bad.tok[3][1] = 1; /* 0 -> 1 twice */
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    cr_assert(strstr(err, "twice"), "%s", err);
    bad = c;
    bad.tok[3][1] = 40; /* beyond the vocabulary */
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    cr_assert(strstr(err, "out of range"), "%s", err);
    bad = c;
    bad.tok[3][1] = 16; /* NONE, a token of the vocabulary but no vertex */
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    cr_assert(strstr(err, "0..15"), "%s", err);
    bad = c;
    bad.tok[3][0] = 3;
    bad.tok[3][1] = 4; /* 0 -> 1 -> 2 -> 3 -> 4: four edges */
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    cr_assert(strstr(err, "over dmax=3"), "%s", err);
    struct iamp_context star = {.n_facts = 9, .fact_len = 2};
    for (int i = 0; i < 9; i++) {
        star.tok[i][0] = 0;
        star.tok[i][1] = (uint16_t)(i + 1);
    }
    cr_assert_neq(iamp_task_check_context(&t, &star, err, sizeof(err)), 0);
    cr_assert(strstr(err, "more than degree=8 out-edges"), "%s", err);
    star.n_facts = 8;
    cr_assert_eq(iamp_task_check_context(&t, &star, err, sizeof(err)), 0, "%s", err);
    bad = c;
    bad.fact_len = 3;
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    bad = c;
    bad.n_facts = 33;
    cr_assert_neq(iamp_task_check_context(&t, &bad, err, sizeof(err)), 0);
    iamp_task_destroy(&t);
}

Test(path, overseer_reads_the_facts_and_guards_bad_subanswers, .timeout = 10)
{
    struct iamp_task t = make("path:n=16,dmax=3");
    /* 0 -> 1 -> 2, 0 -> 3 -> 2, 4 -> 0; 2 has no out-edges. */
    struct iamp_context c = {
        .n_facts = 5, .fact_len = 2, .tok = {{0, 1}, {1, 2}, {0, 3}, {3, 2}, {4, 0}}};
    struct iamp_answer a;
    char text[64];
    static const struct {
        const char *word;
        int a, b, primitive;
        const char *answer;
    } cases[] = {
        {"dist", 0, 0, 1, "0"},           {"step", 0, 0, 1, "none"},
        {"dist", 0, 1, 1, "1"},           {"step", 0, 1, 1, "1"},
        {"dist", 2, 0, 1, "unreachable"}, {"step", 2, 0, 1, "none"},
        {"dist", 0, 2, 0, "2"},           {"step", 0, 2, 0, "1"},
        {"dist", 4, 2, 0, "3"},           {"dist", 1, 4, 0, "unreachable"},
        {"step", 1, 4, 0, "none"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_question q = ask(&t, cases[i].word, cases[i].a, cases[i].b, &c);
        cr_assert_eq(t.ops->primitive(&t, &q, &a), cases[i].primitive, "%s %d %d", cases[i].word,
                     cases[i].a, cases[i].b);
        run_with_oracle(&t, &q, NULL, &a);
        t.ops->format_answer(&t, &q, &a, text, sizeof(text));
        cr_assert_str_eq(text, cases[i].answer, "%s %d %d", cases[i].word, cases[i].a, cases[i].b);
    }
    /* The lookups: primitive, and their truth is the facts. */
    static const struct {
        const char *text, *answer;
    } looks[] = {{"edge a=0 b=1", "yes"}, {"edge a=1 b=0", "no"}, {"edge a=0 b=9", "no"},
                 {"nbrs a=0", "1 3"},     {"nbrs a=2", "none"},   {"nbrs a=4", "0"}};
    for (size_t i = 0; i < sizeof(looks) / sizeof(looks[0]); i++) {
        struct iamp_question q;
        struct iamp_answer want;
        char err[256];
        cr_assert_eq(t.ops->parse_question(&t, looks[i].text, &q, err, sizeof(err)), 0, "%s", err);
        q.ctx = &c;
        cr_assert(t.ops->valid_question(&t, &q), "%s", looks[i].text);
        cr_assert(t.ops->primitive(&t, &q, &a), "%s is H's lookup", looks[i].text);
        cr_assert(iamp_answer_valid(&t, &q, &a), "%s", looks[i].text);
        iamp_task_truth(&t, &q, &want);
        cr_assert(iamp_answer_equal(&a, &want));
        cr_assert(iamp_task_correct(&t, &q, &a));
        t.ops->format_answer(&t, &q, &a, text, sizeof(text));
        cr_assert_str_eq(text, looks[i].answer, "%s", looks[i].text);
        t.ops->format_question(&t, &q, text, sizeof(text));
        cr_assert_str_eq(text, looks[i].text);
    }
    /* dist 0 -> 2 with the episode reading no facts: the step proposed is
     * checked by the edge query. */
    unsigned char ep[512];
    struct iamp_question asks[IAMP_ASK_MAX];
    struct iamp_answer sub[2];
    int n_asks;
    struct iamp_question q = ask(&t, "dist", 0, 2, NULL);
    t.ops->episode_start(&t, ep, &q);
    cr_assert_eq(t.ops->episode_step(&t, ep, NULL, 0, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert(n_asks == 1 && asks[0].type == 1, "asks the first step");
    struct iamp_answer four = {.len = 1, .tok = {4}};
    cr_assert_eq(t.ops->episode_step(&t, ep, &four, 1, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert(n_asks == 1 && asks[0].type == 2 && asks[0].tok[0] == 0 && asks[0].tok[1] == 4,
              "edge a=0 b=4");
    asks[0].ctx = &c;
    cr_assert(t.ops->primitive(&t, &asks[0], &sub[0]));
    cr_assert_eq(t.ops->episode_step(&t, ep, sub, 1, asks, &n_asks, &a), IAMP_EP_DONE);
    t.ops->format_answer(&t, &q, &a, text, sizeof(text));
    cr_assert_str_eq(text, "unreachable", "a step that is not an edge leads nowhere");
    struct iamp_answer none = {.len = 1, .tok = {16}};
    t.ops->episode_start(&t, ep, &q);
    (void)t.ops->episode_step(&t, ep, NULL, 0, asks, &n_asks, &a);
    cr_assert_eq(t.ops->episode_step(&t, ep, &none, 1, asks, &n_asks, &a), IAMP_EP_DONE,
                 "no first step: no edge query");
    t.ops->format_answer(&t, &q, &a, text, sizeof(text));
    cr_assert_str_eq(text, "unreachable");
    /* step 0 -> 2: the neighbours, then one distance each; garbage reads
     * as unreachable. */
    q = ask(&t, "step", 0, 2, NULL);
    t.ops->episode_start(&t, ep, &q);
    cr_assert_eq(t.ops->episode_step(&t, ep, NULL, 0, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert(n_asks == 1 && asks[0].type == 3 && asks[0].tok[0] == 0, "nbrs a=0");
    asks[0].ctx = &c;
    cr_assert(t.ops->primitive(&t, &asks[0], &sub[0]));
    cr_assert_eq(t.ops->episode_step(&t, ep, sub, 1, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert_eq(n_asks, 2);
    cr_assert(asks[0].tok[0] == 1 && asks[1].tok[0] == 3, "out-neighbours in order");
    sub[0] = (struct iamp_answer){.len = 1, .tok = {0}};
    sub[1] = (struct iamp_answer){.len = 1, .tok = {16 + 1 + 1}};
    cr_assert_eq(t.ops->episode_step(&t, ep, sub, 2, asks, &n_asks, &a), IAMP_EP_DONE);
    q.ctx = &c;
    t.ops->format_answer(&t, &q, &a, text, sizeof(text));
    cr_assert_str_eq(text, "3", "the neighbour with a distance");
    cr_assert(iamp_task_correct(&t, &q, &a), "3 also starts a shortest path");
    iamp_task_destroy(&t);
}

/* A learned overseer's transcripts fit up to degree=4. */
Test(path, small_degrees_fit_a_learned_overseer, .timeout = 10)
{
    static const struct {
        const char *spec;
        int fits;
    } cases[] = {{"path:n=6,dmax=2,degree=3", 1},
                 {"path:n=16,dmax=12,degree=4", 1},
                 {"path:n=16,dmax=12,degree=5", 0},
                 {"path", 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_task t = make(cases[i].spec), tt;
        char err[256] = "";
        int rc = iamp_transcript_task(&tt, &t, err, sizeof(err));
        cr_assert_eq(rc == 0, cases[i].fits, "%s: %s", cases[i].spec, err);
        if (rc == 0)
            iamp_task_destroy(&tt);
        else
            cr_assert(strstr(err, "do not fit"), "%s", err);
        iamp_task_destroy(&t);
    }
}

/* degree caps the drawn out-edges and a client's. */
Test(path, degree_caps_out_edges, .timeout = 30)
{
    struct iamp_task t = make("path:n=12,dmax=11,degree=2");
    struct iamp_rng r;
    iamp_rng_seed(&r, 4, 0);
    for (int i = 0; i < 200; i++) {
        struct iamp_context c;
        int deg[64] = {0};
        char err[256];
        t.ops->draw_context(&t, &r, 1, &c);
        cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
        for (int f = 0; f < c.n_facts; f++)
            cr_assert_leq(++deg[c.tok[f][0]], 2);
    }
    struct iamp_context star = {.n_facts = 3, .fact_len = 2, .tok = {{0, 1}, {0, 2}, {0, 3}}};
    char err[256] = "";
    cr_assert_neq(iamp_task_check_context(&t, &star, err, sizeof(err)), 0);
    cr_assert(strstr(err, "more than degree=2"), "%s", err);
    iamp_task_destroy(&t);
}

Test(path, spec_is_canonical_and_unknown_parameters_are_refused, .timeout = 10)
{
    struct iamp_task a = make("path"), b = make("path:n=64"), c = make("path:n=4");
    cr_assert_str_eq(a.spec, "path:n=16,dmax=12,degree=8");
    cr_assert_str_eq(b.spec, "path:n=64,dmax=12,degree=8");
    cr_assert_str_eq(c.spec, "path:n=4,dmax=3,degree=8");
    cr_assert_eq(a.vocab, 16 + 12 + 5);
    cr_assert_eq(a.max_asks, 9, "a first step: the neighbours, then a distance each");
    cr_assert_eq(a.a_len, 9, "a neighbour list and its end");
    cr_assert_eq(a.n_types, 4);
    struct iamp_task d = make("path:n=6,dmax=2,degree=3");
    cr_assert_eq(d.max_asks, 4);
    struct iamp_task e = make("path:degree=1");
    cr_assert_eq(e.max_asks, 3, "a distance: step, edge, dist");
    iamp_task_destroy(&d);
    iamp_task_destroy(&e);
    cr_assert_eq(b.facts_max, 128);
    cr_assert(iamp_task_has_contexts(&a));
    cr_assert(strstr(iamp_task_train_defaults(&a), "transformer"));
    iamp_task_destroy(&a);
    iamp_task_destroy(&b);
    iamp_task_destroy(&c);
    static const struct {
        const char *spec, *needle;
    } cases[] = {
        {"path:seed=1", "no parameter 'seed'"},
        {"path:edges=3", "no parameter 'edges'"},
        {"path:n=1", "n=1"},
        {"path:n=65", "n=65"},
        {"path:dmax=0", "dmax=0"},
        {"path:dmax=65", "dmax=65"},
        {"path:degree=0", "degree=0"},
        {"path:degree=9", "degree=9"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_task t;
        char err[256] = "";
        cr_assert_neq(iamp_task_create(&t, cases[i].spec, err, sizeof(err)), 0, "%s accepted",
                      cases[i].spec);
        cr_assert_not_null(strstr(err, cases[i].needle), "%s: '%s'", cases[i].spec, err);
    }
}

Test(path, facts_lines_parse_into_a_valid_instance, .timeout = 10)
{
    struct iamp_task t = make("path");
    struct iamp_context c;
    char err[256] = "";
    cr_assert_eq(iamp_context_parse(&t, "facts: 0 1, 1 2, 2 0", &c, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(c.n_facts, 3);
    cr_assert_neq(iamp_context_parse(&t, "facts: 0 1, 0 1", &c, err, sizeof(err)), 0);
    cr_assert(strstr(err, "twice"), "%s", err);
    iamp_task_destroy(&t);
}
