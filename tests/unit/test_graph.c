/* test_graph.c — the shortest-path task: the graph is fixed by the seed
 * with the asked number of edges, no loops or duplicates; ground truth
 * distances agree with a naive Bellman-Ford; H with a perfect oracle
 * equals ground truth on every distance and gives a valid first step on
 * every pair; H's primitives (edge and neighbour queries); the checker
 * accepts any shortest-path first step; bad subanswers are read safely;
 * the text syntax and spec errors. */
#include "task_helpers.h"

static struct iamp_question pair_q(int type, int a, int b)
{
    return (struct iamp_question){
        .type = (uint16_t)type, .len = 2, .tok = {(uint16_t)a, (uint16_t)b}};
}

/* dist(a, b) by ground truth; -1 when unreachable. */
static int dist_truth(const struct iamp_task *t, int v, int dmax, int a, int b)
{
    struct iamp_question q = pair_q(0, a, b);
    struct iamp_answer ans;
    iamp_task_truth(t, &q, &ans);
    int d = ans.tok[0] - v - 1;
    return d <= dmax ? d : -1;
}

/* a -> b is an edge: H's own primitive (dist 1 without asking), in a
 * graph of v vertices (distance 1 is token v + 2). */
static int edge_v(const struct iamp_task *t, int v, int a, int b)
{
    struct iamp_question q = pair_q(0, a, b);
    struct iamp_answer ans;
    return a != b && t->ops->primitive(t, &q, &ans) && ans.tok[0] == v + 2;
}

static int edge(const struct iamp_task *t, int a, int b)
{
    return edge_v(t, 256, a, b);
}

Test(graph, graph_is_fixed_by_seed_with_the_asked_edges, .timeout = 30)
{
    struct iamp_task t = make("graph"), same = make("graph:seed=1"), other = make("graph:seed=2");
    cr_assert_str_eq(t.spec, "graph:v=256,seed=1,edges=512,dmax=32");
    cr_assert_eq(t.vocab, 256 + 32 + 3);
    int edges = 0, differ = 0;
    for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++) {
            int e = edge(&t, a, b);
            edges += e;
            cr_assert_eq(e, edge(&same, a, b));
            differ += e != edge(&other, a, b);
        }
    cr_assert_eq(edges, 512);
    cr_assert_gt(differ, 0);
    iamp_task_destroy(&t);
    iamp_task_destroy(&same);
    iamp_task_destroy(&other);
}

Test(graph, truth_agrees_with_bellman_ford, .timeout = 30)
{
    enum { V = 40 };
    struct iamp_task t = make("graph:v=40,edges=70,seed=5,dmax=39");
    static int d[V][V];
    for (int a = 0; a < V; a++)
        for (int b = 0; b < V; b++)
            d[a][b] = a == b ? 0 : edge_v(&t, V, a, b) ? 1 : 1000;
    for (int it = 0; it < V; it++)
        for (int a = 0; a < V; a++)
            for (int c = 0; c < V; c++)
                for (int b = 0; b < V; b++)
                    if (edge_v(&t, V, a, c) && d[c][b] + 1 < d[a][b])
                        d[a][b] = d[c][b] + 1;
    for (int a = 0; a < V; a++)
        for (int b = 0; b < V; b++)
            cr_assert_eq(dist_truth(&t, V, 39, a, b), d[a][b] >= 1000 ? -1 : d[a][b], "%d->%d", a,
                         b);
    iamp_task_destroy(&t);
}

static void check_overseer(const char *spec, int v)
{
    struct iamp_task t = make(spec);
    int reachable = 0;
    for (int a = 0; a < v; a++)
        for (int b = 0; b < v; b++) {
            struct iamp_question dq = pair_q(0, a, b), sq = pair_q(1, a, b);
            struct iamp_answer got, want;
            run_with_oracle(&t, &dq, NULL, &got);
            iamp_task_truth(&t, &dq, &want);
            cr_assert(iamp_answer_equal(&got, &want), "dist %d->%d", a, b);
            run_with_oracle(&t, &sq, NULL, &got);
            cr_assert(iamp_answer_valid(&t, &sq, &got));
            cr_assert(iamp_task_correct(&t, &sq, &got), "step %d->%d: %d", a, b, got.tok[0]);
            reachable += got.tok[0] < v;
        }
    cr_assert_gt(reachable, v, "some pairs have a path");
    iamp_task_destroy(&t);
}

Test(graph, overseer_with_perfect_oracle_equals_truth, .timeout = 60)
{
    check_overseer("graph", 256);
    check_overseer("graph:v=30,edges=90,seed=7", 30);
}

Test(graph, any_shortest_path_first_step_is_correct, .timeout = 30)
{
    struct iamp_task t = make("graph");
    int several = 0;
    for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++) {
            int d = dist_truth(&t, 256, 32, a, b), valid = 0;
            struct iamp_question q = pair_q(1, a, b);
            for (int c = 0; c <= 256; c++) {
                struct iamp_answer ans = {.len = 1, .tok = {(uint16_t)c}};
                int want =
                    d <= 0 ? c == 256
                           : c < 256 && edge(&t, a, c) && dist_truth(&t, 256, 32, c, b) == d - 1;
                cr_assert_eq(iamp_task_correct(&t, &q, &ans), want, "%d->%d via %d", a, b, c);
                valid += want;
            }
            cr_assert_geq(valid, 1);
            several += valid > 1;
        }
    cr_assert_gt(several, 0, "some pairs have several shortest first steps");
    iamp_task_destroy(&t);
}

/* Subanswers that name non-neighbours or nonsense. */
static void bad_oracle(const struct iamp_task *t, const struct iamp_question *q,
                       struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->len = 1;
    a->tok[0] = (uint16_t)(q->type == 1 ? (q->tok[0] + 1) % 256 : t->vocab - 1);
}

Test(graph, overseer_reads_bad_subanswers_safely, .timeout = 10)
{
    struct iamp_task t = make("graph");
    for (int a = 0; a < 256; a += 7)
        for (int b = 0; b < 256; b += 5)
            for (int ty = 0; ty < 2; ty++) {
                struct iamp_question q = pair_q(ty, a, b);
                struct iamp_answer got;
                run_with_oracle(&t, &q, bad_oracle, &got);
                cr_assert(iamp_answer_valid(&t, &q, &got));
            }
    iamp_task_destroy(&t);
}

Test(graph, text_syntax_answers_and_spec_errors, .timeout = 10)
{
    struct iamp_task t = make("graph");
    check_round_trip(&t);
    static const char *const bad[] = {"",
                                      "dist",
                                      "dist a=1",
                                      "dist a=256 b=1",
                                      "step a=1 b=256",
                                      "walk a=1 b=2",
                                      "dist a=1 b=2 c=3"};
    check_rejects(&t, bad, sizeof(bad) / sizeof(bad[0]));
    char buf[32];
    struct iamp_question dq = pair_q(0, 1, 2), sq = pair_q(1, 1, 2);
    struct iamp_answer a = {.len = 1, .tok = {256 + 1 + 7}};
    t.ops->format_answer(&t, &dq, &a, buf, sizeof(buf));
    cr_assert_str_eq(buf, "7");
    a.tok[0] = (uint16_t)(t.vocab - 1);
    t.ops->format_answer(&t, &dq, &a, buf, sizeof(buf));
    cr_assert_str_eq(buf, "unreachable");
    a.tok[0] = 256;
    t.ops->format_answer(&t, &sq, &a, buf, sizeof(buf));
    cr_assert_str_eq(buf, "none");
    a.tok[0] = 17;
    t.ops->format_answer(&t, &sq, &a, buf, sizeof(buf));
    cr_assert_str_eq(buf, "17");
    iamp_task_destroy(&t);
    static const struct {
        const char *spec, *needle;
    } cases[] = {{"graph:v=1", "v=1"},
                 {"graph:edges=0", "edges"},
                 {"graph:dmax=3", "dmax=3"},
                 {"graph:v=8,edges=200", "edges"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_task x;
        char err[256] = "";
        cr_assert_neq(iamp_task_create(&x, cases[i].spec, err, sizeof(err)), 0, "%s",
                      cases[i].spec);
        cr_assert_not_null(strstr(err, cases[i].needle), "%s: %s", cases[i].spec, err);
    }
}

Test(graph, sampler_levels_bound_the_distance_and_cover_every_target, .timeout = 30)
{
    struct iamp_task t = make("graph");
    cr_assert_eq(t.max_difficulty, 6);
    struct iamp_rng r;
    iamp_rng_seed(&r, 4, 0);
    for (int d = 1; d <= 6; d++) {
        int hi = 1 << (d - 1), unreachable = 0, seen_b[256] = {0}, distinct = 0;
        for (int i = 0; i < 4000; i++) {
            struct iamp_question q;
            t.ops->sample(&t, &r, d, &q);
            cr_assert(t.ops->valid_question(&t, &q));
            int dist = dist_truth(&t, 256, 32, q.tok[0], q.tok[1]);
            if (d < 6)
                cr_assert(dist >= 0 && dist <= hi, "level %d: a pair at distance %d", d, dist);
            unreachable += dist < 0;
            distinct += !seen_b[q.tok[1]]++;
        }
        cr_assert_gt(distinct, 200, "level %d: only %d targets", d, distinct);
        if (d == 6)
            cr_assert_gt(unreachable, 200, "the top level has uniform pairs too");
    }
    iamp_task_destroy(&t);
}
