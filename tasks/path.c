/* path.c — shortest paths on instances given as facts (the paper's
 * shortest-path task, Christiano, Shlegeris & Amodei 2018).
 *
 * Every root question carries its own directed graph: between min(8, n)
 * and n vertices drawn from 0..n-1 and twice as many random edges as
 * vertices (the paper's 2n; no self-loops, no duplicates, at most
 * `degree` (default 8) out-edges per vertex), the edges (a, b) as facts. The
 * instance's vertices are those its facts name. Two question types, as
 * tasks/graph.c's (the fixed-instance version, kept as it is), besides H's lookups:
 *   dist a=A b=B   the length of a shortest path from A to B: 0..dmax, or
 *                  "unreachable";
 *   step a=A b=B   the first vertex of a shortest path from A to B, or
 *                  "none" when A = B or B is unreachable.
 *
 * H, as the paper's: the edge query and the neighbour query are H's own
 * lookups in the facts, question types of their own that are always
 * primitive (H answers them, M never does), so H's episodes read no facts
 * and a learned overseer H', which sees only H's transcripts, can learn
 * them:
 *   edge a=A b=C   "yes" when A -> C is a fact, else "no";
 *   nbrs a=A       A's out-neighbours, ascending (at most `degree`).
 * A distance is 0 for A = B, 1 for an edge, unreachable from a vertex
 * without out-edges (primitive, read from the facts); otherwise H asks the
 * first step C, checks it with the edge query (no vertex, or not an edge:
 * unreachable), asks dist(C, B) and adds one (past dmax: unreachable). A
 * first step is B itself when A -> B is an edge, none when A = B or A has
 * no out-edges (primitive); otherwise H asks A's out-neighbours (the
 * paper's candidates were M's proposal twice and one random neighbour;
 * all of them is exact and bounded), asks dist(C, B) of each and takes
 * the nearest, the first (smallest) among equals, none when all are
 * unreachable.
 *
 * Checker: breadth-first search over the facts. A distance is correct
 * when equal; a first step when it is an out-neighbour C of A with
 * dist(C, B) = dist(A, B) - 1 (any shortest path), or none when there is
 * no path. A drawn instance whose longest shortest path exceeds dmax is
 * drawn again (after 16 tries, its edges are dropped one by one until it
 * fits), and a client's is refused: every finite distance has its token.
 *
 * Difficulty: the depth of decomposition, as in tasks/graph.c the reach
 * of the sampled pairs: at level d, B is where a random walk of 1..d edges
 * from A ends (or A where a walk backwards from B does), so dist(A, B) <=
 * d; at the top level (d = dmax) a quarter of the pairs are uniform, which
 * is where most unreachable pairs come from. A distance-k question's
 * target is one edge plus M's distance k - 1, so each level needs the one
 * below. The reach grows one edge a level (graph.c doubles it, for its
 * depth-3 runs): at depth 1 a round carries a distance one edge further.
 * Growing the instance's size instead (the paper's 8 + d vertices) does
 * not bound the distances: nine vertices hold paths of eight edges.
 *
 * Tokens: vertex i is token i, NONE is n, distance k is n + 1 + k,
 * UNREACHABLE is n + dmax + 2, YES and NO are n + dmax + 3 and + 4. A
 * neighbour list is its vertices and then NONE (the END of the sequence).
 *
 * `degree` caps the out-edges of a vertex (default PATH_DEGREE_MAX): a
 * first step asks one distance per out-neighbour, so a smaller cap makes
 * H's transcripts short enough for a learned overseer (degree=3: 35
 * tokens at most; degree=4: 48, IAMP_Q_MAX; the default's 120 do not
 * fit).
 *
 * Defaults n=16, dmax=12: 32 edges per instance, twice permpow's 16
 * facts and a quarter of the paper's 64 vertices, so a two-core machine
 * trains it: with the train defaults (permpow:context=1's 4+4-layer
 * transformer), 600 rounds (307k examples, one thread, about 5 minutes)
 * reached held-out 0.746 by imitation and 0.800 supervised, both still
 * rising. dmax is the paper's 12 (2 log2 of its 64 vertices), more than
 * 16 vertices and 32 random edges need. The paper's size fits too
 * (path:n=64, 128 facts).
 */
#include "tasks/distance.h"
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TYPE_DIST = 0, TYPE_STEP = 1, TYPE_EDGE = 2, TYPE_NBRS = 3, PATH_TYPES = 4 };

/* Roots asked on each drawn instance (as permpow:context=1). */
#define PATH_QUESTIONS_PER_CONTEXT 16
/* The smallest instance (the paper's: 8 + the first level). */
#define PATH_SIZE_MIN 8
/* Vertices at most: two edges per vertex within IAMP_FACTS_MAX facts. */
#define PATH_N_MAX (IAMP_FACTS_MAX / 2)
/* Out-edges of a vertex at most: a first step asks one distance each. */
#define PATH_DEGREE_MAX 8
/* Draws of an instance before its edges are cut down to fit dmax. */
#define PATH_DRAWS_MAX 16
/* A task with facts trains a transformer that reads them. */
#define PATH_TRAIN_DEFAULTS                                                                        \
    "--model transformer:enc=4,dec=4 --lr 0.001 --lr-schedule constant "                           \
    "--questions 512 --batch 128"

struct path {
    int n;      /* vertices: tokens 0..n-1 */
    int dmax;   /* longest distance */
    int degree; /* out-edges of a vertex at most */
};

/* An instance's edges as adjacency lists (CSR), built from its facts. */
struct path_graph {
    int first[PATH_N_MAX + 1];  /* out-edges of a: adj[first[a], first[a + 1]) */
    int adj[IAMP_FACTS_MAX];    /* targets, ascending per vertex */
    int rfirst[PATH_N_MAX + 1]; /* in-edges of b: radj[rfirst[b], rfirst[b + 1]) */
    int radj[IAMP_FACTS_MAX];   /* sources */
    int n_verts;
    int verts[PATH_N_MAX]; /* the vertices the facts name, ascending */
};

/* H's episode reads no facts: it asks for them. */
struct path_episode {
    uint16_t type, a, b, phase;
    uint16_t c;                   /* dist: the first step proposed */
    uint16_t deg;                 /* step: A's out-neighbours asked */
    uint16_t nb[PATH_DEGREE_MAX]; /* step: they, as the lookup listed them */
};

static const struct path *state_of(const struct iamp_task *t)
{
    return t->state;
}

static int none_tok(const struct path *p)
{
    return p->n;
}

static int dist_tok(const struct path *p, int d)
{
    return p->n + 1 + d;
}

static int unreach_tok(const struct path *p)
{
    return p->n + p->dmax + 2;
}

static int yes_tok(const struct path *p)
{
    return p->n + p->dmax + 3;
}

static int no_tok(const struct path *p)
{
    return p->n + p->dmax + 4;
}

/* The distance token for d (UNREACHABLE when d < 0 or beyond dmax). */
static int dist_answer(const struct path *p, int d)
{
    return d >= 0 && d <= p->dmax ? dist_tok(p, d) : unreach_tok(p);
}

/* The distance an answer stands for; -1: unreachable (or garbage). */
static int dist_of(const struct path *p, const struct iamp_answer *a)
{
    int d = a->len == 1 ? (int)a->tok[0] - p->n - 1 : -1;
    return d >= 0 && d <= p->dmax ? d : -1;
}

static void make_question(int type, int a, int b, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    q->type = (uint16_t)type;
    q->len = 2;
    q->tok[0] = (uint16_t)a;
    q->tok[1] = (uint16_t)b;
}

/* "nbrs a=A": one token. */
static void make_nbrs_question(int a, struct iamp_question *q)
{
    make_question(TYPE_NBRS, a, 0, q);
    q->tok[1] = 0;
    q->len = 1;
}

static void make_answer(int tok, struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->len = 1;
    a->tok[0] = (uint16_t)tok;
}

/* ---------------------------------------------------------------- facts */

static void sort_ints(int *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
}

/* Adjacency lists of c's edges over vertices 0..n-1 (facts already in
 * range: the caller validated them or drew them). */
static void build_graph(int n, const struct iamp_context *c, struct path_graph *g)
{
    int deg[PATH_N_MAX] = {0}, rdeg[PATH_N_MAX] = {0};
    int E = c ? c->n_facts : 0;
    for (int f = 0; f < E; f++) {
        deg[c->tok[f][0]]++;
        rdeg[c->tok[f][1]]++;
    }
    g->first[0] = g->rfirst[0] = 0;
    g->n_verts = 0;
    for (int v = 0; v < n; v++) {
        g->first[v + 1] = g->first[v] + deg[v];
        g->rfirst[v + 1] = g->rfirst[v] + rdeg[v];
        if (deg[v] || rdeg[v])
            g->verts[g->n_verts++] = v;
    }
    for (int f = 0; f < E; f++) {
        int a = c->tok[f][0], b = c->tok[f][1];
        g->adj[g->first[a + 1] - deg[a]--] = b;
        g->radj[g->rfirst[b + 1] - rdeg[b]--] = a;
    }
    for (int v = 0; v < n; v++)
        sort_ints(g->adj + g->first[v], g->first[v + 1] - g->first[v]);
}

static int out_degree(const struct path_graph *g, int a)
{
    return g->first[a + 1] - g->first[a];
}

static int is_edge(const struct path_graph *g, int a, int b)
{
    for (int i = g->first[a]; i < g->first[a + 1]; i++)
        if (g->adj[i] == b)
            return 1;
    return 0;
}

/* dist[x] = edges of a shortest path from x to b, -1: none (BFS along
 * in-edges from b). */
static void dists_to(int n, const struct path_graph *g, int b, int *dist)
{
    int queue[PATH_N_MAX], head = 0, tail = 0;
    for (int v = 0; v < n; v++)
        dist[v] = -1;
    dist[b] = 0;
    queue[tail++] = b;
    while (head < tail) {
        int y = queue[head++];
        for (int i = g->rfirst[y]; i < g->rfirst[y + 1]; i++)
            if (dist[g->radj[i]] < 0) {
                dist[g->radj[i]] = dist[y] + 1;
                queue[tail++] = g->radj[i];
            }
    }
}

/* The longest finite shortest path between two vertices of g. */
static int longest(int n, const struct path_graph *g)
{
    int far = 0, dist[PATH_N_MAX];
    for (int k = 0; k < g->n_verts; k++) {
        dists_to(n, g, g->verts[k], dist);
        for (int v = 0; v < n; v++)
            far = dist[v] > far ? dist[v] : far;
    }
    return far;
}

/* 1 when v is a vertex of c's instance (named by a fact). */
static int has_vertex(const struct iamp_context *c, int v)
{
    for (int f = 0; c && f < c->n_facts; f++)
        if (c->tok[f][0] == v || c->tok[f][1] == v)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- create */

static int path_create(struct iamp_task *t, const struct iamp_spec *spec, char *err, size_t errlen)
{
    static const char *const keys[] = {"n", "dmax", "degree", NULL};
    long n, dmax, degree;
    int rc = iamp_spec_check_keys(spec, keys, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "n", 16, 2, PATH_N_MAX, &n, err, errlen);
    if (!rc)
        rc =
            iamp_spec_int(spec, "dmax", n - 1 < 12 ? n - 1 : 12, 1, PATH_N_MAX, &dmax, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "degree", PATH_DEGREE_MAX, 1, PATH_DEGREE_MAX, &degree, err,
                           errlen);
    if (rc)
        return rc;
    struct path *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return IAMP_ENOMEM;
    }
    *p = (struct path){.n = (int)n, .dmax = (int)dmax, .degree = (int)degree};
    t->state = p;
    snprintf(t->spec, sizeof(t->spec), "path:n=%ld,dmax=%ld,degree=%ld", n, dmax, degree);
    t->vocab = (int)(n + dmax + 5);
    t->q_len = 2;
    t->a_len = (int)degree + 1; /* a neighbour list and its END */
    t->n_types = PATH_TYPES;
    t->type_names[TYPE_DIST] = "dist";
    t->type_names[TYPE_STEP] = "step";
    t->type_names[TYPE_EDGE] = "edge";
    t->type_names[TYPE_NBRS] = "nbrs";
    t->max_difficulty = (int)dmax;
    t->episode_size = sizeof(struct path_episode);
    /* step: the neighbours, then one distance each; dist: step, edge, dist */
    t->max_asks = degree + 1 > 3 ? (int)degree + 1 : 3;
    t->headline_type = -1;
    t->eval_size = 1024; /* 64 instances of 16 questions */
    t->facts_max = (int)(2 * n);
    t->fact_len = 2;
    t->questions_per_context = PATH_QUESTIONS_PER_CONTEXT;
    return 0;
}

static void path_destroy(struct iamp_task *t)
{
    free(t->state);
}

/* ---------------------------------------------------------------- instances */

/* Random edges among `size` of the n vertices into c, in the order drawn
 * (random): pairs redrawn on a self-loop, a duplicate or a full source. */
static void draw_edges(const struct path *p, struct iamp_rng *r, struct iamp_context *c)
{
    int lo = p->n < PATH_SIZE_MIN ? p->n : PATH_SIZE_MIN, verts[PATH_N_MAX], deg[PATH_N_MAX] = {0};
    int size = lo + (int)iamp_rng_below(r, (uint32_t)(p->n - lo + 1));
    int per = size - 1 < p->degree ? size - 1 : p->degree;
    int edges = 2 * size < size * per ? 2 * size : size * per;
    unsigned char seen[PATH_N_MAX][PATH_N_MAX] = {{0}};
    for (int i = 0; i < p->n; i++)
        verts[i] = i;
    iamp_rng_shuffle(r, verts, p->n); /* the first `size` are the instance's */
    memset(c, 0, sizeof(*c));
    c->fact_len = 2;
    while (c->n_facts < edges) {
        int i = (int)iamp_rng_below(r, (uint32_t)size), j = (int)iamp_rng_below(r, (uint32_t)size);
        if (i == j || seen[i][j] || deg[i] == p->degree)
            continue;
        seen[i][j] = 1;
        deg[i]++;
        c->tok[c->n_facts][0] = (uint16_t)verts[i];
        c->tok[c->n_facts++][1] = (uint16_t)verts[j];
    }
}

/* An instance (the difficulty is the sampler's reach, not the size). */
static void path_draw_context(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                              struct iamp_context *c)
{
    const struct path *p = state_of(t);
    struct path_graph g;
    (void)difficulty;
    for (int draw = 0; draw < PATH_DRAWS_MAX; draw++) {
        draw_edges(p, r, c);
        build_graph(p->n, c, &g);
        if (longest(p->n, &g) <= p->dmax)
            return;
    }
    while (c->n_facts > 1) { /* one edge always fits */
        c->n_facts--;
        c->tok[c->n_facts][0] = c->tok[c->n_facts][1] = 0;
        build_graph(p->n, c, &g);
        if (longest(p->n, &g) <= p->dmax)
            return;
    }
}

/* A client's facts: edges between vertices, each once, no self-loops, at
 * most `degree` out of a vertex, no shortest path past dmax. */
static int path_valid_context(const struct iamp_task *t, const struct iamp_context *c, char *err,
                              size_t errlen)
{
    const struct path *p = state_of(t);
    int deg[PATH_N_MAX] = {0};
    for (int f = 0; f < c->n_facts; f++) {
        int a = c->tok[f][0], b = c->tok[f][1];
        if (a >= p->n || b >= p->n) {
            snprintf(err, errlen, "fact %d: vertices are 0..%d", f + 1, p->n - 1);
            return 0;
        }
        if (a == b) {
            snprintf(err, errlen, "fact %d: the edge %d -> %d is a self-loop", f + 1, a, b);
            return 0;
        }
        for (int e = 0; e < f; e++)
            if (c->tok[e][0] == a && c->tok[e][1] == b) {
                snprintf(err, errlen, "fact %d: the edge %d -> %d is given twice", f + 1, a, b);
                return 0;
            }
        if (++deg[a] > p->degree) {
            snprintf(err, errlen, "fact %d: vertex %d has more than degree=%d out-edges", f + 1, a,
                     p->degree);
            return 0;
        }
    }
    struct path_graph g;
    build_graph(p->n, c, &g);
    int far = longest(p->n, &g);
    if (far > p->dmax) {
        snprintf(err, errlen, "the facts hold a shortest path of %d edges, over dmax=%d", far,
                 p->dmax);
        return 0;
    }
    return 1;
}

/* Where a random walk of w edges from a ends: along out-edges, or
 * backwards along in-edges (earlier at a vertex without any). */
static int walk(const struct path_graph *g, int a, int w, int backwards, struct iamp_rng *r)
{
    const int *first = backwards ? g->rfirst : g->first, *adj = backwards ? g->radj : g->adj;
    for (int i = 0; i < w && first[a + 1] > first[a]; i++)
        a = adj[first[a] + (int)iamp_rng_below(r, (uint32_t)(first[a + 1] - first[a]))];
    return a;
}

/* A pair on q->ctx at level d: half from forward walks, half from
 * backward ones (forward walks end mostly at a few well-connected
 * vertices: graph.c), of 1..d edges; at the top level a quarter uniform. */
static void path_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                        struct iamp_question *q)
{
    const struct path *p = state_of(t);
    struct path_graph g;
    int d = difficulty < 1 ? 1 : difficulty > t->max_difficulty ? t->max_difficulty : difficulty;
    build_graph(p->n, q->ctx, &g);
    int type = (int)iamp_rng_below(r, 2), how = (int)iamp_rng_below(r, 4);
    int w = 1 + (int)iamp_rng_below(r, (uint32_t)d);
    int nv = g.n_verts > 0 ? g.n_verts : 1;
    int a = g.n_verts ? g.verts[iamp_rng_below(r, (uint32_t)nv)] : 0, b;
    if (how == 3 && d == t->max_difficulty)
        b = g.n_verts ? g.verts[iamp_rng_below(r, (uint32_t)nv)] : 0;
    else if (how >= 2) {
        b = a; /* uniform; its source from a backward walk */
        a = walk(&g, b, w, 1, r);
    } else
        b = walk(&g, a, w, 0, r);
    make_question(type, a, b, q);
}

/* ---------------------------------------------------------------- text */

/* dist and step as graph's (tasks/distance.c); the lookups here. */
static int path_parse(const struct iamp_task *t, const char *text, struct iamp_question *q,
                      char *err, size_t errlen)
{
    static const char *const words[] = {"edge", "nbrs"}, *const keys[] = {"a", "b"};
    const struct path *p = state_of(t);
    const char *rest = NULL;
    long v[2];
    int ty = iamp_question_type_word(text, words, 2, &rest);
    if (ty < 0)
        return iamp_dist_parse(p->n, text, q, err, errlen);
    if (iamp_question_words(rest, keys, v, ty == 0 ? 2 : 1)) {
        snprintf(err, errlen, "question '%s' is not of the form %s", text,
                 ty == 0 ? "'edge a=<vertex> b=<vertex>'" : "'nbrs a=<vertex>'");
        return IAMP_EPARSE;
    }
    if (v[0] >= p->n || (ty == 0 && v[1] >= p->n)) {
        snprintf(err, errlen, "question '%s': vertices are 0..%d", text, p->n - 1);
        return IAMP_ERANGE;
    }
    if (ty == 0)
        make_question(TYPE_EDGE, (int)v[0], (int)v[1], q);
    else
        make_nbrs_question((int)v[0], q);
    return 0;
}

static void path_format_question(const struct iamp_task *t, const struct iamp_question *q,
                                 char *buf, size_t len)
{
    (void)t;
    if (q->type == TYPE_EDGE)
        snprintf(buf, len, "edge a=%d b=%d", q->tok[0], q->tok[1]);
    else if (q->type == TYPE_NBRS)
        snprintf(buf, len, "nbrs a=%d", q->tok[0]);
    else
        iamp_dist_format_question(q, buf, len);
}

/* edge: "yes" or "no"; nbrs: the vertices, or "none". */
static void path_format_answer(const struct iamp_task *t, const struct iamp_question *q,
                               const struct iamp_answer *a, char *buf, size_t len)
{
    const struct path *p = state_of(t);
    if (q->type == TYPE_EDGE) {
        int tok = a->len == 1 ? a->tok[0] : -1;
        snprintf(buf, len, "%s", tok == yes_tok(p) ? "yes" : tok == no_tok(p) ? "no" : "?");
    } else if (q->type == TYPE_NBRS) {
        size_t at = 0;
        buf[0] = 0;
        for (int k = 0; k < a->len && a->tok[k] < p->n && at + 1 < len; k++) {
            int w = snprintf(buf + at, len - at, "%s%d", at ? " " : "", a->tok[k]);
            at = w < 0 ? len : at + (size_t)w;
        }
        if (!buf[0])
            snprintf(buf, len, "none");
    } else {
        iamp_dist_format_answer(p->n, p->dmax, q, a, buf, len);
    }
}

static void path_answer_space(const struct iamp_task *t, const struct iamp_question *q,
                              struct iamp_answer_space *s)
{
    const struct path *p = state_of(t);
    if (q->type == TYPE_EDGE) {
        *s = (struct iamp_answer_space){.lo = (uint16_t)yes_tok(p),
                                        .hi = (uint16_t)(no_tok(p) + 1),
                                        .max_len = 1,
                                        .end_tok = -1};
    } else if (q->type == TYPE_NBRS) {
        *s = (struct iamp_answer_space){.lo = 0,
                                        .hi = (uint16_t)(p->n + 1),
                                        .max_len = (uint16_t)(p->degree + 1),
                                        .end_tok = none_tok(p)};
    } else {
        iamp_dist_answer_space(p->n, p->dmax, q, s);
    }
}

/* In range, and (but edge's second) vertices of q's instance: an edge
 * query checks a step M proposed, any vertex. */
static int path_valid(const struct iamp_task *t, const struct iamp_question *q)
{
    const struct path *p = state_of(t);
    if (q->type == TYPE_NBRS)
        return q->len == 1 && q->tok[0] < p->n && has_vertex(q->ctx, q->tok[0]);
    if (q->type == TYPE_EDGE)
        return q->len == 2 && q->tok[0] < p->n && q->tok[1] < p->n && has_vertex(q->ctx, q->tok[0]);
    return q->type <= TYPE_STEP && q->len == 2 && q->tok[0] < p->n && q->tok[1] < p->n &&
           has_vertex(q->ctx, q->tok[0]) && has_vertex(q->ctx, q->tok[1]);
}

/* ---------------------------------------------------------------- H */

/* The lookups: edge a=A b=C, nbrs a=A (ascending, then END). */
static void lookup(const struct path *p, const struct path_graph *g, const struct iamp_question *q,
                   struct iamp_answer *ans)
{
    int a = q->tok[0];
    if (q->type == TYPE_EDGE) {
        make_answer(is_edge(g, a, q->tok[1]) ? yes_tok(p) : no_tok(p), ans);
        return;
    }
    memset(ans, 0, sizeof(*ans));
    for (int i = g->first[a]; i < g->first[a + 1] && ans->len < p->degree; i++)
        ans->tok[ans->len++] = (uint16_t)g->adj[i];
    ans->tok[ans->len++] = (uint16_t)none_tok(p);
}

/* H's lookups in the facts: the edge and neighbour queries; A = B, the
 * edge A -> B, A without out-edges. */
static int path_primitive(const struct iamp_task *t, const struct iamp_question *q,
                          struct iamp_answer *ans)
{
    const struct path *p = state_of(t);
    struct path_graph g;
    int a = q->tok[0], b = q->tok[1], step = q->type == TYPE_STEP;
    if (a >= p->n || b >= p->n) { /* invalid: guarded, not asked */
        if (q->type == TYPE_NBRS)
            make_answer(none_tok(p), ans);
        else
            make_answer(q->type == TYPE_EDGE ? no_tok(p)
                        : step               ? none_tok(p)
                                             : unreach_tok(p),
                        ans);
        return 1;
    }
    build_graph(p->n, q->ctx, &g);
    if (q->type >= TYPE_EDGE)
        lookup(p, &g, q, ans);
    else if (a == b)
        make_answer(step ? none_tok(p) : dist_tok(p, 0), ans);
    else if (is_edge(&g, a, b))
        make_answer(step ? b : dist_tok(p, 1), ans);
    else if (out_degree(&g, a) == 0)
        make_answer(step ? none_tok(p) : unreach_tok(p), ans);
    else
        return 0;
    return 1;
}

static void path_episode_start(const struct iamp_task *t, void *ep, const struct iamp_question *q)
{
    struct path_episode *e = ep;
    (void)t;
    memset(e, 0, sizeof(*e));
    e->type = q->type;
    e->a = q->tok[0];
    e->b = q->tok[1];
}

/* Distance: ask the first step C, check it with the edge query, ask
 * dist(C, B), add 1. */
static int dist_step(const struct path *p, struct path_episode *e,
                     const struct iamp_answer *answers, int n_answers, struct iamp_question *asks,
                     int *n_asks, struct iamp_answer *out)
{
    int got = n_answers == 1 && answers[0].len == 1 ? answers[0].tok[0] : -1;
    switch (e->phase++) {
    case 0:
        make_question(TYPE_STEP, e->a, e->b, &asks[0]);
        break;
    case 1:
        if (got < 0 || got >= p->n) { /* no first step */
            make_answer(unreach_tok(p), out);
            return IAMP_EP_DONE;
        }
        e->c = (uint16_t)got;
        make_question(TYPE_EDGE, e->a, e->c, &asks[0]);
        break;
    case 2:
        if (got != yes_tok(p)) {
            make_answer(unreach_tok(p), out);
            return IAMP_EP_DONE;
        }
        make_question(TYPE_DIST, e->c, e->b, &asks[0]);
        break;
    default: {
        int d = n_answers == 1 ? dist_of(p, &answers[0]) : -1;
        make_answer(dist_answer(p, d < 0 ? -1 : d + 1), out);
        return IAMP_EP_DONE;
    }
    }
    *n_asks = 1;
    return IAMP_EP_ASK;
}

/* First step: ask A's out-neighbours, then their distances to B; the
 * nearest. */
static int first_step(const struct path *p, struct path_episode *e,
                      const struct iamp_answer *answers, int n_answers, struct iamp_question *asks,
                      int *n_asks, struct iamp_answer *out)
{
    if (e->phase == 0) {
        make_nbrs_question(e->a, &asks[0]);
        e->phase = 1;
        *n_asks = 1;
        return IAMP_EP_ASK;
    }
    if (e->phase == 1) {
        for (int k = 0;
             n_answers == 1 && k < answers[0].len && answers[0].tok[k] < p->n && e->deg < p->degree;
             k++)
            e->nb[e->deg++] = answers[0].tok[k];
        if (e->deg == 0) {
            make_answer(none_tok(p), out);
            return IAMP_EP_DONE;
        }
        for (int i = 0; i < e->deg; i++)
            make_question(TYPE_DIST, e->nb[i], e->b, &asks[i]);
        e->phase = 2;
        *n_asks = e->deg;
        return IAMP_EP_ASK;
    }
    int best = none_tok(p), best_d = -1;
    for (int i = 0; i < e->deg && i < n_answers; i++) {
        int d = dist_of(p, &answers[i]);
        if (d >= 0 && (best_d < 0 || d < best_d)) {
            best_d = d;
            best = e->nb[i];
        }
    }
    make_answer(best, out);
    return IAMP_EP_DONE;
}

static int path_episode_step(const struct iamp_task *t, void *ep, const struct iamp_answer *answers,
                             int n_answers, struct iamp_question *asks, int *n_asks,
                             struct iamp_answer *out)
{
    const struct path *p = state_of(t);
    struct path_episode *e = ep;
    *n_asks = 0;
    if (e->type == TYPE_STEP)
        return first_step(p, e, answers, n_answers, asks, n_asks, out);
    if (e->type == TYPE_DIST)
        return dist_step(p, e, answers, n_answers, asks, n_asks, out);
    make_answer(e->type == TYPE_EDGE ? no_tok(p) : none_tok(p), out); /* lookups are primitive */
    return IAMP_EP_DONE;
}

/* ---------------------------------------------------------------- truth */

/* dist(A, B) into *d and, for a step question, the smallest out-neighbour
 * of A on a shortest path (none when d <= 0). */
static int true_step(const struct path *p, const struct iamp_question *q, struct path_graph *g,
                     int *dist, int *d)
{
    int a = q->tok[0], b = q->tok[1];
    build_graph(p->n, q->ctx, g);
    dists_to(p->n, g, b, dist);
    *d = dist[a];
    for (int i = g->first[a]; *d > 0 && i < g->first[a + 1]; i++)
        if (dist[g->adj[i]] == *d - 1)
            return g->adj[i];
    return none_tok(p);
}

static void path_truth(const struct iamp_task *t, const struct iamp_question *q,
                       struct iamp_answer *ans)
{
    const struct path *p = state_of(t);
    struct path_graph g;
    int dist[PATH_N_MAX], d;
    if (q->type >= TYPE_EDGE || q->tok[0] >= p->n || q->tok[1] >= p->n) {
        (void)path_primitive(t, q, ans); /* the lookups' truth is the facts */
        return;
    }
    int c = true_step(p, q, &g, dist, &d);
    make_answer(q->type == TYPE_STEP ? c : dist_answer(p, d), ans);
}

static int path_correct(const struct iamp_task *t, const struct iamp_question *q,
                        const struct iamp_answer *ans)
{
    const struct path *p = state_of(t);
    struct path_graph g;
    int dist[PATH_N_MAX], d;
    if (q->type >= TYPE_EDGE) {
        struct iamp_answer truth;
        path_truth(t, q, &truth);
        return iamp_answer_equal(ans, &truth);
    }
    if (ans->len != 1 || q->tok[0] >= p->n || q->tok[1] >= p->n)
        return 0;
    true_step(p, q, &g, dist, &d);
    int c = ans->tok[0];
    if (q->type == TYPE_DIST)
        return c == dist_answer(p, d);
    if (d <= 0)
        return c == none_tok(p);
    return c < p->n && is_edge(&g, q->tok[0], c) && dist[c] == d - 1;
}

const struct iamp_task_ops iamp_path_ops = {
    .name = "path",
    .summary = "shortest paths on facts: dist a=A b=B (0..dmax or unreachable), step a=A b=B; "
               "H looks edges up by edge a=A b=C and nbrs a=A",
    .params = "n=16 (2..64) vertices, dmax=min(12,n-1) (1..64) longest distance, degree=8 (1..8) "
              "out-edges of a vertex at most; every root its own graph of min(8,n)..n vertices "
              "and twice as many random edges, given as facts (a, b)",
    .train_defaults = PATH_TRAIN_DEFAULTS,
    .create = path_create,
    .destroy = path_destroy,
    .sample = path_sample,
    .draw_context = path_draw_context,
    .valid_context = path_valid_context,
    .parse_question = path_parse,
    .format_question = path_format_question,
    .format_answer = path_format_answer,
    .answer_space = path_answer_space,
    .valid_question = path_valid,
    .primitive = path_primitive,
    .episode_start = path_episode_start,
    .episode_step = path_episode_step,
    .truth = path_truth,
    .correct = path_correct,
};
