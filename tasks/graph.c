/* graph.c — shortest paths in a random directed graph (the paper's
 * shortest-path task): a large discrete answer domain.
 *
 * A directed graph on v vertices with `edges` random edges (default 2v; no
 * self-loops, no duplicates, at most IAMP_ASK_MAX out-edges per vertex)
 * is fixed by the task seed. Two question types:
 *   dist a=A b=B   the length of a shortest path from A to B: 0..dmax, or
 *                  "unreachable";
 *   step a=A b=B   the first vertex of a shortest path from A to B: one of
 *                  the v vertices (the large discrete domain), or "none"
 *                  when A = B or B is unreachable.
 *
 * H, as in the paper: the edge query ("is A -> C an edge?") and the
 * neighbour query ("the out-neighbours of A") are primitive. A distance is
 * 0 for A = B, 1 for an edge, unreachable from a vertex without
 * out-edges; otherwise H asks for the first step C, checks it with the
 * edge query, asks dist(C, B) and adds one. A first step is B itself when
 * A -> B is an edge, none when A = B or A has no out-edges; otherwise the
 * proposals are A's out-neighbours: H asks dist(C, B) for each and picks
 * the nearest (the first among equals), none when all are unreachable.
 * Together the two types are a Bellman-Ford iteration that each round of
 * IA carries one edge further.
 *
 * Checker: breadth-first search from every vertex at create. A distance is
 * correct when equal; a first step is correct (valid) when it is an
 * out-neighbour C of A with dist(C, B) = dist(A, B) - 1 (any shortest
 * path), or none when there is no path. Create fails if a finite distance
 * exceeds dmax (raise dmax): every finite distance then has its token.
 *
 * Tokens: vertex i is token i, NONE is v, distance d is v + 1 + d, and
 * UNREACHABLE is v + dmax + 2.
 *
 * Difficulty: the sampler cannot tell near from far without the ground
 * truth, but it may walk the graph: at level d it draws A uniformly and
 * takes for B where a random walk of at most 2^(d-1) edges from A ends
 * (earlier at a vertex without out-edges), or — for half of the pairs —
 * draws B uniformly and walks backwards along in-edges to A; either way
 * dist(A, B) <= 2^(d-1). The backward walks matter: forward walks end
 * mostly at a few well-connected vertices, and amplification, which
 * learns dist(., B) for one target B from the nearest sources outwards,
 * then never learns the others (tried: held-out accuracy stayed below
 * 0.5). At the top level a quarter of the pairs are drawn uniformly, as in
 * the evaluation set (most unreachable pairs are among them).
 */
#include "tasks/distance.h"
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TYPE_DIST = 0, TYPE_STEP = 1 };

struct graph {
    int v, n_edges, dmax;
    int *first;    /* (v + 1) out-edges of a are adj[first[a], first[a + 1]) */
    int *adj;      /* (n_edges) targets, ascending per vertex */
    int *rfirst;   /* (v + 1) in-edges of b are radj[rfirst[b], rfirst[b + 1]) */
    int *radj;     /* (n_edges) sources (the sampler's backward walks) */
    int16_t *dist; /* (v, v) BFS distances; -1: unreachable (evaluation only) */
};

struct graph_episode {
    uint16_t type, a, b, phase;
    uint16_t c; /* dist: the first step asked */
};

static const struct graph *state_of(const struct iamp_task *t)
{
    return t->state;
}

static int none_tok(const struct graph *g)
{
    return g->v;
}

static int dist_tok(const struct graph *g, int d)
{
    return g->v + 1 + d;
}

static int unreach_tok(const struct graph *g)
{
    return g->v + g->dmax + 2;
}

static int is_edge(const struct graph *g, int a, int c)
{
    for (int i = g->first[a]; i < g->first[a + 1]; i++)
        if (g->adj[i] == c)
            return 1;
    return 0;
}

static int out_degree(const struct graph *g, int a)
{
    return g->first[a + 1] - g->first[a];
}

static void make_question(int type, int a, int b, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    q->type = (uint16_t)type;
    q->len = 2;
    q->tok[0] = (uint16_t)a;
    q->tok[1] = (uint16_t)b;
}

static void make_answer(int tok, struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->len = 1;
    a->tok[0] = (uint16_t)tok;
}

/* The distance token for d (UNREACHABLE when d < 0 or beyond dmax). */
static int dist_answer(const struct graph *g, int d)
{
    return d >= 0 && d <= g->dmax ? dist_tok(g, d) : unreach_tok(g);
}

/* The distance an answer token stands for; -1: unreachable (or garbage). */
static int dist_of(const struct graph *g, const struct iamp_answer *a)
{
    int d = a->len == 1 ? (int)a->tok[0] - g->v - 1 : -1;
    return d >= 0 && d <= g->dmax ? d : -1;
}

/* ---------------------------------------------------------------- create */

static int cmp_int(const void *x, const void *y)
{
    return *(const int *)x - *(const int *)y;
}

/* In-edge lists from the out-edge lists; deg is scratch of v ints. */
static int build_reverse(struct graph *g, int *deg)
{
    g->rfirst = calloc((size_t)g->v + 1, sizeof(int));
    g->radj = malloc((size_t)g->n_edges * sizeof(int));
    if (!g->rfirst || !g->radj)
        return IAMP_ENOMEM;
    memset(deg, 0, (size_t)g->v * sizeof(int));
    for (int e = 0; e < g->n_edges; e++)
        deg[g->adj[e]]++;
    for (int b = 0; b < g->v; b++)
        g->rfirst[b + 1] = g->rfirst[b] + deg[b];
    for (int a = 0; a < g->v; a++)
        for (int i = g->first[a]; i < g->first[a + 1]; i++)
            g->radj[g->rfirst[g->adj[i] + 1] - deg[g->adj[i]]--] = a;
    return 0;
}

/* Random edges into adjacency lists (CSR). Edges are drawn as pairs and
 * redrawn on a self-loop, a duplicate or a full source. */
static int build_edges(struct graph *g, struct iamp_rng *r)
{
    int V = g->v, *deg = calloc((size_t)V, sizeof(int));
    int *src = malloc((size_t)g->n_edges * sizeof(int)),
        *dst = malloc((size_t)g->n_edges * sizeof(int));
    unsigned char *seen = calloc((size_t)V * V, 1);
    g->first = calloc((size_t)V + 1, sizeof(int));
    g->adj = malloc((size_t)g->n_edges * sizeof(int));
    int rc = deg && src && dst && seen && g->first && g->adj ? 0 : IAMP_ENOMEM;
    for (int e = 0; !rc && e < g->n_edges;) {
        int a = (int)iamp_rng_below(r, (uint32_t)V), b = (int)iamp_rng_below(r, (uint32_t)V);
        if (a == b || seen[(size_t)a * V + b] || deg[a] == IAMP_ASK_MAX)
            continue;
        seen[(size_t)a * V + b] = 1;
        deg[a]++;
        src[e] = a;
        dst[e++] = b;
    }
    for (int a = 0; !rc && a < V; a++)
        g->first[a + 1] = g->first[a] + deg[a];
    for (int e = 0; !rc && e < g->n_edges; e++)
        g->adj[g->first[src[e]] + --deg[src[e]]] = dst[e];
    for (int a = 0; !rc && a < V; a++)
        qsort(g->adj + g->first[a], (size_t)out_degree(g, a), sizeof(int), cmp_int);
    if (!rc)
        rc = build_reverse(g, deg);
    free(deg);
    free(src);
    free(dst);
    free(seen);
    return rc;
}

/* BFS from every vertex; returns the largest finite distance. */
static int all_distances(struct graph *g)
{
    int V = g->v, far = 0, *queue = malloc((size_t)V * sizeof(int));
    if (!queue)
        return -1;
    for (int s = 0; s < V; s++) {
        int16_t *d = g->dist + (size_t)s * V;
        int head = 0, tail = 0;
        for (int i = 0; i < V; i++)
            d[i] = -1;
        d[s] = 0;
        queue[tail++] = s;
        while (head < tail) {
            int a = queue[head++];
            far = d[a] > far ? d[a] : far;
            for (int i = g->first[a]; i < g->first[a + 1]; i++)
                if (d[g->adj[i]] < 0) {
                    d[g->adj[i]] = (int16_t)(d[a] + 1);
                    queue[tail++] = g->adj[i];
                }
        }
    }
    free(queue);
    return far;
}

static void graph_free(struct graph *g)
{
    if (!g)
        return;
    free(g->first);
    free(g->adj);
    free(g->rfirst);
    free(g->radj);
    free(g->dist);
    free(g);
}

static int parse_params(const struct iamp_spec *spec, long *v, char *err, size_t errlen)
{
    static const char *const keys[] = {"v", "seed", "edges", "dmax", NULL};
    int rc = iamp_spec_check_keys(spec, keys, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "v", 256, 2, 4096, &v[0], err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "seed", 1, 0, 2147483647L, &v[1], err, errlen);
    long most = v[0] * (v[0] - 1 < IAMP_ASK_MAX ? v[0] - 1 : IAMP_ASK_MAX);
    if (!rc)
        rc = iamp_spec_int(spec, "edges", 2 * v[0] < most ? 2 * v[0] : most, 1, most, &v[2], err,
                           errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "dmax", 32, 1, 1000, &v[3], err, errlen);
    return rc;
}

static void set_shape(struct iamp_task *t, const struct graph *g, long seed)
{
    snprintf(t->spec, sizeof(t->spec), "graph:v=%d,seed=%ld,edges=%d,dmax=%d", g->v, seed,
             g->n_edges, g->dmax);
    t->vocab = g->v + g->dmax + 3;
    t->q_len = 2;
    t->a_len = 1;
    t->n_types = 2;
    t->type_names[TYPE_DIST] = "dist";
    t->type_names[TYPE_STEP] = "step";
    t->max_difficulty = 1;
    while ((1 << (t->max_difficulty - 1)) < g->dmax)
        t->max_difficulty++;
    t->episode_size = sizeof(struct graph_episode);
    t->max_asks = IAMP_ASK_MAX; /* step: one per out-edge; dist: 2 */
    t->headline_type = -1;
    t->eval_size = 2048;
}

static int graph_create(struct iamp_task *t, const struct iamp_spec *spec, char *err, size_t errlen)
{
    long v[4] = {0};
    int rc = parse_params(spec, v, err, errlen);
    if (rc)
        return rc;
    struct graph *g = calloc(1, sizeof(*g));
    if (g) {
        *g = (struct graph){.v = (int)v[0], .n_edges = (int)v[2], .dmax = (int)v[3]};
        g->dist = malloc((size_t)v[0] * (size_t)v[0] * sizeof(int16_t));
    }
    struct iamp_rng r;
    iamp_rng_seed(&r, (uint64_t)v[1], 0x67726170 /* "grap" */);
    rc = g && g->dist ? build_edges(g, &r) : IAMP_ENOMEM;
    int far = rc ? -1 : all_distances(g);
    if (rc || far < 0) {
        snprintf(err, errlen, "out of memory");
        rc = IAMP_ENOMEM;
    } else if (far > g->dmax) {
        snprintf(err, errlen, "the graph has a shortest path of %d edges, over dmax=%d", far,
                 g->dmax);
        rc = IAMP_ERANGE;
    }
    if (rc) {
        graph_free(g);
        return rc;
    }
    t->state = g;
    set_shape(t, g, v[1]);
    return 0;
}

static void graph_destroy(struct iamp_task *t)
{
    graph_free(t->state);
}

/* ---------------------------------------------------------------- questions */

/* Where a random walk of w edges from a ends: along out-edges, or
 * backwards along in-edges. */
static int walk(const struct graph *g, int a, int w, int backwards, struct iamp_rng *r)
{
    const int *first = backwards ? g->rfirst : g->first, *adj = backwards ? g->radj : g->adj;
    for (int i = 0; i < w && first[a + 1] > first[a]; i++)
        a = adj[first[a] + (int)iamp_rng_below(r, (uint32_t)(first[a + 1] - first[a]))];
    return a;
}

/* A walk length at level d: half pick a level's band uniformly, half a
 * length up to 2^(d-1) (as permpow picks k). */
static int walk_length(const struct graph *g, int d, struct iamp_rng *r)
{
    int hi = 1 << (d - 1);
    hi = hi > g->dmax ? g->dmax : hi;
    if (iamp_rng_below(r, 2) == 0) {
        int lv = 1 + (int)iamp_rng_below(r, (uint32_t)d);
        int bhi = 1 << (lv - 1), blo = lv == 1 ? 1 : (1 << (lv - 2)) + 1;
        bhi = bhi > hi ? hi : bhi;
        blo = blo > bhi ? bhi : blo;
        return blo + (int)iamp_rng_below(r, (uint32_t)(bhi - blo + 1));
    }
    return 1 + (int)iamp_rng_below(r, (uint32_t)hi);
}

static void graph_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                         struct iamp_question *q)
{
    const struct graph *g = state_of(t);
    int d = difficulty < 1 ? 1 : difficulty > t->max_difficulty ? t->max_difficulty : difficulty;
    int type = (int)iamp_rng_below(r, 2), a = (int)iamp_rng_below(r, (uint32_t)g->v), b;
    int how = (int)iamp_rng_below(r, 4); /* 0, 1: forward walk; 2, 3: backward (or uniform) */
    if (how == 3 && d == t->max_difficulty)
        b = (int)iamp_rng_below(r, (uint32_t)g->v);
    else if (how >= 2) {
        b = a; /* uniform; its source from a backward walk */
        a = walk(g, b, walk_length(g, d, r), 1, r);
    } else
        b = walk(g, a, walk_length(g, d, r), 0, r);
    make_question(type, a, b, q);
}

static int graph_eval_set(const struct iamp_task *t, struct iamp_rng *r, struct iamp_question *qs,
                          int max)
{
    const struct graph *g = state_of(t);
    for (int i = 0; i < max; i++) {
        int a = (int)iamp_rng_below(r, (uint32_t)g->v);
        make_question(i % 2, a, (int)iamp_rng_below(r, (uint32_t)g->v), &qs[i]);
    }
    return max;
}

static int graph_parse(const struct iamp_task *t, const char *text, struct iamp_question *q,
                       char *err, size_t errlen)
{
    return iamp_dist_parse(state_of(t)->v, text, q, err, errlen);
}

static void graph_format_question(const struct iamp_task *t, const struct iamp_question *q,
                                  char *buf, size_t len)
{
    (void)t;
    iamp_dist_format_question(q, buf, len);
}

static void graph_format_answer(const struct iamp_task *t, const struct iamp_question *q,
                                const struct iamp_answer *a, char *buf, size_t len)
{
    iamp_dist_format_answer(state_of(t)->v, state_of(t)->dmax, q, a, buf, len);
}

static void graph_answer_space(const struct iamp_task *t, const struct iamp_question *q,
                               struct iamp_answer_space *s)
{
    iamp_dist_answer_space(state_of(t)->v, state_of(t)->dmax, q, s);
}

static int graph_valid(const struct iamp_task *t, const struct iamp_question *q)
{
    const struct graph *g = state_of(t);
    return q->type <= TYPE_STEP && q->len == 2 && q->tok[0] < g->v && q->tok[1] < g->v;
}

/* ---------------------------------------------------------------- H */

static int graph_primitive(const struct iamp_task *t, const struct iamp_question *q,
                           struct iamp_answer *ans)
{
    const struct graph *g = state_of(t);
    int a = q->tok[0], b = q->tok[1], step = q->type == TYPE_STEP;
    if (a == b)
        make_answer(step ? none_tok(g) : dist_tok(g, 0), ans);
    else if (is_edge(g, a, b))
        make_answer(step ? b : dist_tok(g, 1), ans);
    else if (out_degree(g, a) == 0)
        make_answer(step ? none_tok(g) : unreach_tok(g), ans);
    else
        return 0;
    return 1;
}

static void graph_episode_start(const struct iamp_task *t, void *ep, const struct iamp_question *q)
{
    struct graph_episode *e = ep;
    (void)t;
    memset(e, 0, sizeof(*e));
    e->type = q->type;
    e->a = q->tok[0];
    e->b = q->tok[1];
}

/* Distance: ask the first step C, check the edge, ask dist(C, B), add 1. */
static int dist_step(const struct graph *g, struct graph_episode *e,
                     const struct iamp_answer *answers, int n_answers, struct iamp_question *asks,
                     int *n_asks, struct iamp_answer *out)
{
    if (e->phase == 0) {
        make_question(TYPE_STEP, e->a, e->b, &asks[0]);
        e->phase = 1;
        *n_asks = 1;
        return IAMP_EP_ASK;
    }
    if (e->phase == 1) {
        int c = n_answers == 1 && answers[0].len == 1 ? answers[0].tok[0] : none_tok(g);
        if (c >= g->v || !is_edge(g, e->a, c)) {
            make_answer(unreach_tok(g), out);
            return IAMP_EP_DONE;
        }
        e->c = (uint16_t)c;
        make_question(TYPE_DIST, c, e->b, &asks[0]);
        e->phase = 2;
        *n_asks = 1;
        return IAMP_EP_ASK;
    }
    int d = n_answers == 1 ? dist_of(g, &answers[0]) : -1;
    make_answer(dist_answer(g, d < 0 ? -1 : d + 1), out);
    return IAMP_EP_DONE;
}

/* First step: the out-neighbour nearest to B by the distances asked. */
static int first_step(const struct graph *g, struct graph_episode *e,
                      const struct iamp_answer *answers, int n_answers, struct iamp_question *asks,
                      int *n_asks, struct iamp_answer *out)
{
    int lo = g->first[e->a], deg = out_degree(g, e->a);
    if (e->phase == 0) {
        for (int i = 0; i < deg; i++)
            make_question(TYPE_DIST, g->adj[lo + i], e->b, &asks[i]);
        e->phase = 1;
        *n_asks = deg;
        return IAMP_EP_ASK;
    }
    int best = none_tok(g), best_d = -1;
    for (int i = 0; i < deg && i < n_answers; i++) {
        int d = dist_of(g, &answers[i]);
        if (d >= 0 && (best_d < 0 || d < best_d)) {
            best_d = d;
            best = g->adj[lo + i];
        }
    }
    make_answer(best, out);
    return IAMP_EP_DONE;
}

static int graph_episode_step(const struct iamp_task *t, void *ep,
                              const struct iamp_answer *answers, int n_answers,
                              struct iamp_question *asks, int *n_asks, struct iamp_answer *out)
{
    const struct graph *g = state_of(t);
    struct graph_episode *e = ep;
    struct iamp_question q;
    *n_asks = 0;
    make_question(e->type, e->a, e->b, &q);
    if (e->phase == 0 && graph_primitive(t, &q, out))
        return IAMP_EP_DONE;
    if (e->type == TYPE_STEP)
        return first_step(g, e, answers, n_answers, asks, n_asks, out);
    return dist_step(g, e, answers, n_answers, asks, n_asks, out);
}

/* ---------------------------------------------------------------- truth */

static int true_dist(const struct graph *g, int a, int b)
{
    return g->dist[(size_t)a * g->v + b];
}

static void graph_truth(const struct iamp_task *t, const struct iamp_question *q,
                        struct iamp_answer *ans)
{
    const struct graph *g = state_of(t);
    int a = q->tok[0], b = q->tok[1], d = true_dist(g, a, b);
    if (q->type == TYPE_DIST) {
        make_answer(dist_answer(g, d), ans);
        return;
    }
    int best = none_tok(g);
    for (int i = g->first[a]; d > 0 && i < g->first[a + 1] && best == none_tok(g); i++)
        if (true_dist(g, g->adj[i], b) == d - 1)
            best = g->adj[i];
    make_answer(best, ans);
}

static int graph_correct(const struct iamp_task *t, const struct iamp_question *q,
                         const struct iamp_answer *ans)
{
    const struct graph *g = state_of(t);
    int a = q->tok[0], b = q->tok[1], d = true_dist(g, a, b);
    if (ans->len != 1)
        return 0;
    if (q->type == TYPE_DIST)
        return ans->tok[0] == dist_answer(g, d);
    int c = ans->tok[0];
    if (d <= 0)
        return c == none_tok(g);
    return c < g->v && is_edge(g, a, c) && true_dist(g, c, b) == d - 1;
}

const struct iamp_task_ops iamp_graph_ops = {
    .name = "graph",
    .summary = "shortest paths: dist a=A b=B (0..dmax or unreachable), step a=A b=B (a vertex)",
    .params = "v=256 (2..4096) vertices, seed=1 graph seed, edges=2v random directed edges "
              "(out-degree <= 16), dmax=32 (1..1000) longest distance",
    /* With iamp train's own defaults (depth 1, 256 questions a round, no
     * pair slot) imitation stalls below 50%: README "Answer domains". */
    .train_defaults = "--pair-slot --hidden 256 --depth 3 --target-sync 2 --questions 16384 "
                      "--batch 1024 --lr 0.01 --rounds 300 --lr-decay-rounds 300",
    .create = graph_create,
    .destroy = graph_destroy,
    .sample = graph_sample,
    .eval_set = graph_eval_set,
    .parse_question = graph_parse,
    .format_question = graph_format_question,
    .format_answer = graph_format_answer,
    .answer_space = graph_answer_space,
    .valid_question = graph_valid,
    .primitive = graph_primitive,
    .episode_start = graph_episode_start,
    .episode_step = graph_episode_step,
    .truth = graph_truth,
    .correct = graph_correct,
};
