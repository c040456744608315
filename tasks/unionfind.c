/* unionfind.c — union find on instances given as facts (the paper's
 * "equals" task, Christiano, Shlegeris & Amodei 2018).
 *
 * Every root question carries its own instance: between min(8, n) and n
 * variables drawn from 0..n-1, split into 1..min(vals, size) classes,
 * each class a tree whose root holds the class's value (classes have
 * distinct values). The facts are one per variable: (x, p) when x's
 * parent is p, (r, value) when r is a root. Three question types ask about
 * a variable x of the instance:
 *   value x=X    the value of x's class (the value its root holds);
 *   parent x=X   x's parent (x itself for a root);
 *   depth x=X    the edges from x up to its root, 0..dmax.
 *
 * H, as the paper's with the parent edges pointing to the root (its
 * `easy` variant, the one the issue describes: facts are (child, parent)
 * edges): the fact lookup is primitive, so H answers a root's value and
 * depth, and every parent question, by reading x's fact. Otherwise it
 * follows the parent upward: it asks `parent x=X` (its own lookup, a
 * primitive, so that the fact its next question depends on is in the
 * transcript a learned overseer reads: worker/hprime.h), then asks the
 * same question of the parent p: value(x) = value(p), depth(x) =
 * depth(p) + 1 (two subquestions, one at a time: max_asks = 2). The ground truth
 * follows the parents to the root. (The paper's default gives the tree
 * edges unordered, so that parent itself must be found — by M's two
 * proposals checked by an edge query and a random neighbour, the one of
 * least depth; a parent here is a lookup, and what M has to learn is to
 * follow up to dmax of them through the facts.)
 *
 * Difficulty: the depth of decomposition. At level d every tree is at
 * most d deep (the instance's size is drawn anew at every level, as
 * permpow:context=1's): a depth-k question's target is built from M's
 * answer at depth k - 1, so every level's targets are exact once the
 * level below is learned. The paper's curriculum grew the size instead
 * (d + 10 variables), which lets a small instance hold deep chains whose
 * targets are noise while M knows nothing below them (permpow.c measured
 * what that does: IA never left the first level). Within a level a
 * variable's depth is spread over 1..d: each new variable aims at a depth
 * drawn uniformly and hangs under the deepest node of its class short of
 * it, so chains form even in small classes.
 *
 * Tokens: variable x is token x (0..n-1); value v is token n + v; depth k
 * is token n + vals + k. A root's fact holds its value's token, and a
 * value answer is printed as that token, the number written in the facts.
 *
 * Defaults n=16, vals=4, dmax=6: 16 facts per instance, as
 * permpow:context=1's default, classes of 1 to 16 variables, deep enough
 * for depth-6 chains, and 6 curriculum levels, so a two-core machine
 * trains it in minutes: with the train defaults (permpow:context=1's
 * 4+4-layer transformer), 600 rounds (307k examples, one thread, about
 * 3.5 minutes) reached held-out 0.963 by imitation and 0.970 supervised.
 * The paper's 64 variables and 8 values fit too (unionfind:n=64,vals=8).
 */
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TYPE_VALUE = 0, TYPE_PARENT = 1, TYPE_DEPTH = 2, UF_TYPES = 3 };

/* Roots asked on each drawn instance (as permpow:context=1). */
#define UF_QUESTIONS_PER_CONTEXT 16
/* The smallest instance (the paper's smallest held 11 variables). */
#define UF_SIZE_MIN 8
/* Value tokens at most. */
#define UF_VALS_MAX 64
/* A task with facts trains a transformer that reads them. */
#define UF_TRAIN_DEFAULTS                                                                          \
    "--model transformer:enc=4,dec=4 --lr 0.001 --lr-schedule constant "                           \
    "--questions 512 --batch 128"

struct unionfind {
    int n;    /* variables: tokens 0..n-1 */
    int vals; /* values: tokens n..n+vals-1 */
    int dmax; /* deepest variable; depths are tokens n+vals..n+vals+dmax */
};

struct uf_episode {
    uint16_t type, x;
    uint16_t phase; /* 0: ask x's parent; 1: ask about it; 2: finished */
};

static const struct unionfind *state_of(const struct iamp_task *t)
{
    return t->state;
}

static int value_tok(const struct unionfind *u, int v)
{
    return u->n + v;
}

static int depth_tok(const struct unionfind *u, int k)
{
    return u->n + u->vals + k;
}

static int is_value(const struct unionfind *u, int tok)
{
    return tok >= u->n && tok < u->n + u->vals;
}

static void make_question(int type, int x, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    q->type = (uint16_t)type;
    q->len = 1;
    q->tok[0] = (uint16_t)x;
}

static void make_answer(int tok, struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->len = 1;
    a->tok[0] = (uint16_t)tok;
}

/* The second token of x's fact (its parent, or its value when a root);
 * -1 when x has no fact. */
static int fact_of(const struct iamp_context *c, int x)
{
    for (int f = 0; c && f < c->n_facts; f++)
        if (c->tok[f][0] == x)
            return c->tok[f][1];
    return -1;
}

/* ---------------------------------------------------------------- create */

static int uf_create(struct iamp_task *t, const struct iamp_spec *spec, char *err, size_t errlen)
{
    static const char *const keys[] = {"n", "vals", "dmax", NULL};
    long n, vals, dmax;
    int rc = iamp_spec_check_keys(spec, keys, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "n", 16, 2, IAMP_FACTS_MAX, &n, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "vals", 4, 1, UF_VALS_MAX, &vals, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "dmax", n - 1 < 6 ? n - 1 : 6, 1, n - 1, &dmax, err, errlen);
    if (rc)
        return rc;
    struct unionfind *u = calloc(1, sizeof(*u));
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return IAMP_ENOMEM;
    }
    *u = (struct unionfind){.n = (int)n, .vals = (int)vals, .dmax = (int)dmax};
    t->state = u;
    snprintf(t->spec, sizeof(t->spec), "unionfind:n=%ld,vals=%ld,dmax=%ld", n, vals, dmax);
    t->vocab = (int)(n + vals + dmax + 1);
    t->q_len = 1;
    t->a_len = 1;
    t->n_types = UF_TYPES;
    t->type_names[TYPE_VALUE] = "value";
    t->type_names[TYPE_PARENT] = "parent";
    t->type_names[TYPE_DEPTH] = "depth";
    t->max_difficulty = (int)dmax;
    t->episode_size = sizeof(struct uf_episode);
    t->max_asks = 2; /* the parent, then its value or depth */
    t->headline_type = -1;
    t->eval_size = 1024; /* 64 instances of 16 questions */
    t->facts_max = (int)n;
    t->fact_len = 2;
    t->questions_per_context = UF_QUESTIONS_PER_CONTEXT;
    return 0;
}

static void uf_destroy(struct iamp_task *t)
{
    free(t->state);
}

/* ---------------------------------------------------------------- instances */

/* The parent of node i (nodes 0..i-1 placed, depth[] and cls[] theirs):
 * the deepest node of class k whose depth is below `want`, uniformly
 * among those (a root is always one). */
static int pick_parent(const int *cls, const int *depth, int i, int k, int want, struct iamp_rng *r)
{
    int best = -1, count = 0;
    for (int j = 0; j < i; j++)
        if (cls[j] == k && depth[j] < want && depth[j] >= best) {
            count = depth[j] > best ? 1 : count + 1;
            best = depth[j];
        }
    int pick = (int)iamp_rng_below(r, (uint32_t)count);
    for (int j = 0; j < i; j++)
        if (cls[j] == k && depth[j] == best && pick-- == 0)
            return j;
    return 0;
}

/* An instance at difficulty d: trees at most d deep (see the opening
 * comment), its facts in random order. */
static void uf_draw_context(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                            struct iamp_context *c)
{
    const struct unionfind *u = state_of(t);
    int cap = difficulty < 1 ? 1 : difficulty > u->dmax ? u->dmax : difficulty;
    int lo = u->n < UF_SIZE_MIN ? u->n : UF_SIZE_MIN;
    int size = lo + (int)iamp_rng_below(r, (uint32_t)(u->n - lo + 1));
    int classes = 1 + (int)iamp_rng_below(r, (uint32_t)(u->vals < size ? u->vals : size));
    int vars[IAMP_FACTS_MAX], cls[IAMP_FACTS_MAX], depth[IAMP_FACTS_MAX], parent[IAMP_FACTS_MAX],
        order[IAMP_FACTS_MAX], vals[UF_VALS_MAX];
    for (int i = 0; i < u->n; i++)
        vars[i] = i;
    iamp_rng_shuffle(r, vars, u->n); /* the first `size` are the instance's */
    for (int v = 0; v < u->vals; v++)
        vals[v] = v;
    iamp_rng_shuffle(r, vals, u->vals); /* class k holds value vals[k] */
    for (int i = 0; i < size; i++) {
        cls[i] = i < classes ? i : (int)iamp_rng_below(r, (uint32_t)classes);
        parent[i] = i < classes ? -1
                                : pick_parent(cls, depth, i, cls[i],
                                              1 + (int)iamp_rng_below(r, (uint32_t)cap), r);
        depth[i] = parent[i] < 0 ? 0 : depth[parent[i]] + 1;
        order[i] = i;
    }
    iamp_rng_shuffle(r, order, size);
    memset(c, 0, sizeof(*c));
    c->n_facts = (uint16_t)size;
    c->fact_len = 2;
    for (int f = 0; f < size; f++) {
        int i = order[f];
        c->tok[f][0] = (uint16_t)vars[i];
        c->tok[f][1] = (uint16_t)(parent[i] < 0 ? value_tok(u, vals[cls[i]]) : vars[parent[i]]);
    }
}

/* The edges from x up to its root, following the facts; -1 on a cycle
 * or a missing fact (at most n_facts steps). */
static int depth_of(const struct unionfind *u, const struct iamp_context *c, int x, int *root)
{
    for (int k = 0; k <= c->n_facts; k++) {
        int y = fact_of(c, x);
        if (y < 0)
            return -1;
        if (is_value(u, y)) {
            *root = x;
            return k;
        }
        x = y;
    }
    return -1;
}

/* The facts' shape: every variable once, its parent a variable or its
 * value a value token. */
static int check_facts(const struct unionfind *u, const struct iamp_context *c, char *err,
                       size_t errlen)
{
    unsigned char seen[IAMP_FACTS_MAX] = {0};
    for (int f = 0; f < c->n_facts; f++) {
        int x = c->tok[f][0], y = c->tok[f][1];
        if (x >= u->n) {
            snprintf(err, errlen, "fact %d: %d is not a variable (variables are 0..%d)", f + 1, x,
                     u->n - 1);
            return 0;
        }
        if (seen[x]++) {
            snprintf(err, errlen, "fact %d: variable %d has a second fact", f + 1, x);
            return 0;
        }
        if (y >= u->n + u->vals) {
            snprintf(err, errlen,
                     "fact %d: %d is neither a parent (0..%d) nor a value token (%d..%d)", f + 1, y,
                     u->n - 1, u->n, u->n + u->vals - 1);
            return 0;
        }
    }
    return 1;
}

/* A client's facts: well formed, every parent with a fact of its own,
 * no cycle, and no variable deeper than dmax (its depth has no token). */
static int uf_valid_context(const struct iamp_task *t, const struct iamp_context *c, char *err,
                            size_t errlen)
{
    const struct unionfind *u = state_of(t);
    if (!check_facts(u, c, err, errlen))
        return 0;
    for (int f = 0; f < c->n_facts; f++) {
        int x = c->tok[f][0], y = c->tok[f][1], root;
        if (y < u->n && fact_of(c, y) < 0) {
            snprintf(err, errlen, "fact %d: the parent %d of %d has no fact", f + 1, y, x);
            return 0;
        }
        int k = depth_of(u, c, x, &root);
        if (k < 0) {
            snprintf(err, errlen, "variable %d is on a cycle of parents", x);
            return 0;
        }
        if (k > u->dmax) {
            snprintf(err, errlen, "variable %d is %d below its root, deeper than dmax=%d", x, k,
                     u->dmax);
            return 0;
        }
    }
    return 1;
}

/* A question on q->ctx: a type and a variable of the instance, uniform. */
static void uf_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                      struct iamp_question *q)
{
    const struct iamp_context *c = q->ctx;
    (void)t;
    (void)difficulty; /* the instance carries it */
    int type = (int)iamp_rng_below(r, UF_TYPES);
    int x = c && c->n_facts ? c->tok[iamp_rng_below(r, c->n_facts)][0] : 0;
    make_question(type, x, q);
}

/* ---------------------------------------------------------------- text */

static int uf_parse(const struct iamp_task *t, const char *text, struct iamp_question *q, char *err,
                    size_t errlen)
{
    static const char *const words[] = {"value", "parent", "depth"}, *const keys[] = {"x"};
    const struct unionfind *u = state_of(t);
    const char *rest = NULL;
    long x;
    int ty = iamp_question_type_word(text, words, UF_TYPES, &rest);
    if (ty < 0 || iamp_question_words(rest, keys, &x, 1)) {
        snprintf(err, errlen,
                 "question '%s' is not of the form 'value x=<0..%d>', 'parent x=...' or "
                 "'depth x=...'",
                 text, u->n - 1);
        return IAMP_EPARSE;
    }
    if (x >= u->n) {
        snprintf(err, errlen, "question '%s': x must be in [0, %d]", text, u->n - 1);
        return IAMP_ERANGE;
    }
    make_question(ty, (int)x, q);
    return 0;
}

static void uf_format_question(const struct iamp_task *t, const struct iamp_question *q, char *buf,
                               size_t len)
{
    snprintf(buf, len, "%s x=%d", t->type_names[q->type < UF_TYPES ? q->type : 0], q->tok[0]);
}

static void uf_answer_space(const struct iamp_task *t, const struct iamp_question *q,
                            struct iamp_answer_space *s)
{
    const struct unionfind *u = state_of(t);
    s->lo = (uint16_t)(q->type == TYPE_VALUE   ? value_tok(u, 0)
                       : q->type == TYPE_DEPTH ? depth_tok(u, 0)
                                               : 0);
    s->hi = (uint16_t)(q->type == TYPE_VALUE   ? value_tok(u, u->vals)
                       : q->type == TYPE_DEPTH ? depth_tok(u, u->dmax + 1)
                                               : u->n);
    s->max_len = 1;
    s->end_tok = -1;
}

/* A value as its token (the number in the facts), a parent as its
 * variable, a depth as its number; '?' outside the type's answers. */
static void uf_format_answer(const struct iamp_task *t, const struct iamp_question *q,
                             const struct iamp_answer *a, char *buf, size_t len)
{
    struct iamp_answer_space s;
    uf_answer_space(t, q, &s);
    int tok = a->len == 1 ? a->tok[0] : -1;
    if (tok < s.lo || tok >= s.hi)
        snprintf(buf, len, "?");
    else
        snprintf(buf, len, "%d", q->type == TYPE_DEPTH ? tok - s.lo : tok);
}

/* In range, and about a variable of q's instance. */
static int uf_valid(const struct iamp_task *t, const struct iamp_question *q)
{
    const struct unionfind *u = state_of(t);
    return q->type < UF_TYPES && q->len == 1 && q->tok[0] < u->n && fact_of(q->ctx, q->tok[0]) >= 0;
}

/* ---------------------------------------------------------------- H */

/* H reads x's fact: every parent question, and a root's value and depth.
 * A variable without a fact (an invalid question) reads as a root of
 * value 0. */
static int uf_primitive(const struct iamp_task *t, const struct iamp_question *q,
                        struct iamp_answer *a)
{
    const struct unionfind *u = state_of(t);
    int x = q->tok[0], y = fact_of(q->ctx, x);
    int root = y < 0 || is_value(u, y);
    if (q->type == TYPE_PARENT)
        make_answer(root ? x : y, a);
    else if (!root)
        return 0;
    else if (q->type == TYPE_DEPTH)
        make_answer(depth_tok(u, 0), a);
    else
        make_answer(y < 0 ? value_tok(u, 0) : y, a);
    return 1;
}

static void uf_episode_start(const struct iamp_task *t, void *ep, const struct iamp_question *q)
{
    struct uf_episode *e = ep;
    (void)t;
    memset(e, 0, sizeof(*e));
    e->type = q->type;
    e->x = q->tok[0];
}

/* Ask x's parent (H's lookup), then the same question of the parent,
 * then pass its value on or add one edge to its depth. An answer from M
 * is always in range (the engine masks the head), but H guards anyway: a
 * bad parent reads as variable 0, a bad value as value 0, a bad depth as
 * 0, and a depth past dmax stays at dmax. */
static int uf_episode_step(const struct iamp_task *t, void *ep, const struct iamp_answer *answers,
                           int n_answers, struct iamp_question *asks, int *n_asks,
                           struct iamp_answer *out)
{
    const struct unionfind *u = state_of(t);
    struct uf_episode *e = ep;
    *n_asks = 0;
    int tok = n_answers == 1 && answers[0].len == 1 ? answers[0].tok[0] : -1;
    if (e->phase < 2) {
        int about = e->phase == 0 ? e->x : tok >= 0 && tok < u->n ? tok : 0;
        make_question(e->phase == 0 ? TYPE_PARENT : e->type, about, &asks[0]);
        e->phase++;
        *n_asks = 1;
        return IAMP_EP_ASK;
    }
    if (e->type == TYPE_VALUE) {
        make_answer(is_value(u, tok) ? tok : value_tok(u, 0), out);
    } else {
        int k = tok >= depth_tok(u, 0) && tok <= depth_tok(u, u->dmax) ? tok - depth_tok(u, 0) : 0;
        make_answer(depth_tok(u, k + 1 > u->dmax ? u->dmax : k + 1), out);
    }
    return IAMP_EP_DONE;
}

/* ---------------------------------------------------------------- truth */

static void uf_truth(const struct iamp_task *t, const struct iamp_question *q,
                     struct iamp_answer *a)
{
    const struct unionfind *u = state_of(t);
    int x = q->tok[0], y = fact_of(q->ctx, x), root = x;
    int k = q->ctx ? depth_of(u, q->ctx, x, &root) : -1;
    if (q->type == TYPE_PARENT)
        make_answer(y < 0 || is_value(u, y) ? x : y, a);
    else if (q->type == TYPE_DEPTH)
        make_answer(depth_tok(u, k < 0 ? 0 : k > u->dmax ? u->dmax : k), a);
    else
        make_answer(k < 0 ? value_tok(u, 0) : fact_of(q->ctx, root), a);
}

static int uf_correct(const struct iamp_task *t, const struct iamp_question *q,
                      const struct iamp_answer *a)
{
    struct iamp_answer truth;
    uf_truth(t, q, &truth);
    return a->len == 1 && a->tok[0] == truth.tok[0];
}

const struct iamp_task_ops iamp_unionfind_ops = {
    .name = "unionfind",
    .summary = "union find on facts: value x=X, parent x=X, depth x=X of a variable in its tree",
    .params = "n=16 (2..128) variables, vals=4 (1..64) values, dmax=min(6,n-1) (1..n-1) deepest "
              "variable; every root its own instance of min(8,n)..n variables in trees at most "
              "d deep at level d, given as facts (x, parent) and (root, value token)",
    .train_defaults = UF_TRAIN_DEFAULTS,
    .create = uf_create,
    .destroy = uf_destroy,
    .sample = uf_sample,
    .draw_context = uf_draw_context,
    .valid_context = uf_valid_context,
    .parse_question = uf_parse,
    .format_question = uf_format_question,
    .format_answer = uf_format_answer,
    .answer_space = uf_answer_space,
    .valid_question = uf_valid,
    .primitive = uf_primitive,
    .episode_start = uf_episode_start,
    .episode_step = uf_episode_step,
    .truth = uf_truth,
    .correct = uf_correct,
};
