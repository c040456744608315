/* engine.c — breadth-wise amplification with one leaf batch per pass.
 *
 * Nodes live in one growable array (children of one episode step are
 * contiguous) and episode states in a parallel byte array. A FIFO of node
 * indices holds nodes that can make progress without M; when it drains,
 * every pending leaf goes to the leaf function in one call. Runs on the
 * thread that owns the engine; the engine keeps no global state.
 *
 * Tracing notes one thing during a run, for each node an episode asks:
 * the first node asked in the same step (an out-of-line cold call behind
 * a test of trace_cb, once per episode step; nothing else in the loop
 * changes). At the end of a run that succeeded it copies the nodes out
 * for trace_cb, numbering each parent's steps from those notes and asking
 * route() — the one function activate() routes every node by — who
 * answered each node.
 */
#include "worker/engine.h"

#include <stdlib.h>
#include <string.h>

#define IAMP_ENGINE_MAX_NODES_DEFAULT (1L << 24)

enum node_state { NODE_NEW, NODE_LEAF, NODE_WAITING, NODE_STEP, NODE_DONE };

struct iamp_engine_node {
    struct iamp_question q;
    struct iamp_answer a;
    long parent;      /* -1 for roots */
    long first_child; /* children of the last step: [first_child, +n_children) */
    int n_children;
    int pending; /* children not yet answered */
    int depth_left;
    int state;
    int by;    /* enum iamp_answered_by, once routed */
    int asked; /* a batched overseer's episode: questions it asked so far */
};

struct iamp_engine_tracing {
    long *asked; /* (cap) the first node its parent's episode asked in the same step */
    long cap;
    int rc; /* the traced run's first error (out of memory), or 0 */
};

/* A batched overseer's pass: one call per queued node that needs H. */
struct hpass {
    struct iamp_h_call *calls;   /* (cap) */
    struct iamp_question *asks;  /* (cap * IAMP_ASK_MAX) the calls' room for asks */
    struct iamp_answer *answers; /* (cap * IAMP_ASK_MAX) STEP calls' inputs */
    struct iamp_question *asked; /* (cap * IAMP_ASK_MAX) the questions they answer */
    int *call_of;                /* (cap) a queued node's call, -1: none */
    long cap;
};

struct work {
    long *queue;
    long head, tail, cap;
    long *leaves;
    long n_leaves, cap_leaves;
    uint64_t run; /* a batched overseer's run */
    struct hpass hp;
};

void iamp_engine_init(struct iamp_engine *e, const struct iamp_task *t)
{
    memset(e, 0, sizeof(*e));
    e->task = t;
    e->max_nodes = IAMP_ENGINE_MAX_NODES_DEFAULT;
}

const char *iamp_answered_by_name(int by)
{
    switch (by) {
    case IAMP_BY_MODEL:
        return "model";
    case IAMP_BY_PRIMITIVE:
        return "primitive";
    case IAMP_BY_OVERSEER:
        return "overseer";
    case IAMP_BY_SUBTREE:
        return "subtree";
    default:
        return "?";
    }
}

static void tracing_free(struct iamp_engine_tracing *tr)
{
    if (!tr)
        return;
    free(tr->asked);
    free(tr);
}

void iamp_engine_release(struct iamp_engine *e)
{
    tracing_free(e->tr);
    free(e->nodes);
    free(e->episodes);
    memset(e, 0, sizeof(*e));
}

static int push(long **arr, long *n, long *cap, long v)
{
    if (*n == *cap) {
        long nc = *cap ? *cap * 2 : 256;
        long *p = realloc(*arr, (size_t)nc * sizeof(long));
        if (!p)
            return IAMP_ENOMEM;
        *arr = p;
        *cap = nc;
    }
    (*arr)[(*n)++] = v;
    return 0;
}

/* ------------------------------------------------------------ tracing
 * Out of line and cold: an untraced run only tests trace_cb. The notes
 * grow with the node array when first written; a failure to grow is kept
 * in tr->rc and fails the run at trace_emit. */
#define IAMP_COLD __attribute__((cold, noinline))

/* A traced run starts: the notes exist and carry no error. */
static IAMP_COLD int trace_begin(struct iamp_engine *e)
{
    if (!e->tr) {
        e->tr = calloc(1, sizeof(*e->tr));
        if (!e->tr)
            return IAMP_ENOMEM;
    }
    e->tr->rc = 0;
    return 0;
}

/* An episode asked nodes [first, first + n) in one step. */
static IAMP_COLD void trace_asked(struct iamp_engine *e, long first, int n)
{
    struct iamp_engine_tracing *tr = e->tr;
    if (!tr->rc && tr->cap < e->cap_nodes) {
        long *p = realloc(tr->asked, (size_t)e->cap_nodes * sizeof(*p));
        if (p) {
            tr->asked = p;
            tr->cap = e->cap_nodes;
        } else {
            tr->rc = IAMP_ENOMEM;
        }
    }
    for (int c = 0; !tr->rc && c < n; c++)
        tr->asked[first + c] = first;
}

/* The run's nodes, copied out for trace_cb. A parent's children come in
 * index order, so its next step starts where their `asked` changes. */
static IAMP_COLD int trace_emit(struct iamp_engine *e, int n_roots)
{
    long n = e->n_nodes;
    size_t rows = (size_t)(n ? n : 1);
    struct iamp_trace_node *tn = malloc(rows * sizeof(*tn));
    long *last = malloc(rows * sizeof(*last));  /* (n) its last step's first ask */
    int *steps = malloc(rows * sizeof(*steps)); /* (n) its steps seen so far */
    int rc = e->tr->rc ? e->tr->rc : (!tn || !last || !steps) ? IAMP_ENOMEM : 0;
    for (long i = 0; !rc && i < n; i++) {
        const struct iamp_engine_node *nd = &e->nodes[i];
        tn[i] = (struct iamp_trace_node){nd->q, nd->a, nd->parent, nd->depth_left, 0, nd->by};
        last[i] = -1;
        steps[i] = 0;
        long p = nd->parent;
        if (p < 0)
            continue;
        if (last[p] != e->tr->asked[i]) {
            last[p] = e->tr->asked[i];
            steps[p]++;
        }
        tn[i].step = steps[p];
    }
    if (!rc)
        rc = e->trace_cb(e->trace_ctx, tn, n, n_roots);
    free(tn);
    free(last);
    free(steps);
    return rc;
}

/* ------------------------------------------------------------ the run */

static int new_nodes(struct iamp_engine *e, long count, long *first)
{
    long need = e->n_nodes + count;
    if (need > e->max_nodes)
        return IAMP_ELIMIT;
    if (need > e->cap_nodes) {
        long cap = e->cap_nodes ? e->cap_nodes : 256;
        while (cap < need)
            cap *= 2;
        size_t es = e->task->episode_size ? e->task->episode_size : 1;
        struct iamp_engine_node *n = realloc(e->nodes, (size_t)cap * sizeof(*n));
        if (!n)
            return IAMP_ENOMEM;
        e->nodes = n;
        unsigned char *ep = realloc(e->episodes, (size_t)cap * es);
        if (!ep)
            return IAMP_ENOMEM;
        e->episodes = ep;
        e->cap_nodes = cap;
    }
    *first = e->n_nodes;
    e->n_nodes = need;
    e->stats.nodes += count;
    return 0;
}

static void *episode_of(struct iamp_engine *e, long i)
{
    size_t es = e->task->episode_size ? e->task->episode_size : 1;
    return e->episodes + (size_t)i * es;
}

/* Node i has its answer: tell its parent, queueing the parent when all
 * its children are in. */
static int finish(struct iamp_engine *e, struct work *w, long i)
{
    struct iamp_engine_node *n = &e->nodes[i];
    n->state = NODE_DONE;
    if (n->parent < 0)
        return 0;
    struct iamp_engine_node *p = &e->nodes[n->parent];
    if (--p->pending == 0) {
        p->state = NODE_STEP;
        return push(&w->queue, &w->tail, &w->cap, n->parent);
    }
    return 0;
}

/* Node i's episode asked asks[0, n_asks): its children, queued. */
static int spawn(struct iamp_engine *e, struct work *w, long i, const struct iamp_question *asks,
                 int n_asks)
{
    long first;
    int rc = new_nodes(e, n_asks, &first);
    if (rc)
        return rc;
    struct iamp_engine_node *n = &e->nodes[i]; /* the array may have moved */
    n->first_child = first;
    n->n_children = n_asks;
    n->pending = n_asks;
    n->state = NODE_WAITING;
    if (e->trace_cb)
        trace_asked(e, first, n_asks);
    for (int c = 0; c < n_asks; c++) {
        struct iamp_engine_node *ch = &e->nodes[first + c];
        memset(ch, 0, sizeof(*ch));
        ch->q = asks[c];
        ch->q.ctx = n->q.ctx; /* every question of a tree shares its root's context */
        ch->parent = i;
        ch->first_child = -1;
        ch->depth_left = n->depth_left - 1;
        ch->state = NODE_NEW;
        rc = push(&w->queue, &w->tail, &w->cap, first + c);
        if (rc)
            return rc;
    }
    return 0;
}

/* Run one episode step of node i with its children's answers. */
static int step_episode(struct iamp_engine *e, struct work *w, long i)
{
    const struct iamp_task *t = e->task;
    struct iamp_answer answers[IAMP_ASK_MAX];
    struct iamp_question asks[IAMP_ASK_MAX];
    int n_in = 0, n_asks = 0;
    struct iamp_engine_node *n = &e->nodes[i];
    for (int c = 0; c < n->n_children; c++)
        answers[n_in++] = e->nodes[n->first_child + c].a;
    int st = t->ops->episode_step(t, episode_of(e, i), answers, n_in, asks, &n_asks, &n->a);
    if (st == IAMP_EP_DONE)
        return finish(e, w, i);
    if (st != IAMP_EP_ASK || n_asks < 1 || n_asks > IAMP_ASK_MAX)
        return IAMP_ESTATE;
    return spawn(e, w, i, asks, n_asks);
}

/* Who answers node n: M or a shipped subtree at a leaf, H itself (then
 * its answer is in *a), or H's episode. The one routing rule, for the run
 * and for its trace. */
static int route(const struct iamp_engine *e, const struct iamp_engine_node *n,
                 struct iamp_answer *a)
{
    const struct iamp_task *t = e->task;
    if (n->parent < 0 && n->depth_left == 0)
        return IAMP_BY_MODEL;
    if (t->ops->primitive(t, &n->q, a))
        return IAMP_BY_PRIMITIVE;
    if (n->depth_left <= e->leaf_depth)
        return n->depth_left > 0 ? IAMP_BY_SUBTREE : IAMP_BY_MODEL;
    return IAMP_BY_OVERSEER;
}

static int activate(struct iamp_engine *e, struct work *w, long i)
{
    const struct iamp_task *t = e->task;
    struct iamp_engine_node *n = &e->nodes[i];
    n->by = route(e, n, &n->a);
    switch (n->by) {
    case IAMP_BY_PRIMITIVE:
        e->stats.h_answers++;
        return finish(e, w, i);
    case IAMP_BY_OVERSEER:
        e->stats.episodes++;
        t->ops->episode_start(t, episode_of(e, i), &n->q);
        return step_episode(e, w, i);
    default: /* M, or a subtree shipped by the leaf function */
        n->state = NODE_LEAF;
        return push(&w->leaves, &w->n_leaves, &w->cap_leaves, i);
    }
}

/* ------------------------------------------------------------ a batched overseer
 * One pass takes the nodes queued now, [head, tail): it asks H for every
 * one of them that needs H in one h_batch call, then applies the replies
 * node by node in queue order, exactly as activate() and step_episode()
 * would have one at a time. Children and parents queued on the way are
 * the next pass's. Node i's episode id is i. */

static int leaf_node(struct iamp_engine *e, struct work *w, long i)
{
    struct iamp_engine_node *n = &e->nodes[i];
    n->by = (n->parent >= 0 && n->depth_left > 0) ? IAMP_BY_SUBTREE : IAMP_BY_MODEL;
    n->state = NODE_LEAF;
    return push(&w->leaves, &w->n_leaves, &w->cap_leaves, i);
}

static int hpass_reserve(struct hpass *hp, long n)
{
    if (n <= hp->cap)
        return 0;
    long cap = hp->cap ? hp->cap : 64;
    while (cap < n)
        cap *= 2;
    size_t k = (size_t)cap * IAMP_ASK_MAX;
    void *c = realloc(hp->calls, (size_t)cap * sizeof(*hp->calls));
    if (c)
        hp->calls = c;
    void *q = c ? realloc(hp->asks, k * sizeof(*hp->asks)) : NULL;
    if (q)
        hp->asks = q;
    void *a = q ? realloc(hp->answers, k * sizeof(*hp->answers)) : NULL;
    if (a)
        hp->answers = a;
    void *d = a ? realloc(hp->asked, k * sizeof(*hp->asked)) : NULL;
    if (d)
        hp->asked = d;
    void *o = d ? realloc(hp->call_of, (size_t)cap * sizeof(*hp->call_of)) : NULL;
    if (!o)
        return IAMP_ENOMEM;
    hp->call_of = o;
    hp->cap = cap;
    return 0;
}

static void hpass_release(struct hpass *hp)
{
    free(hp->calls);
    free(hp->asks);
    free(hp->answers);
    free(hp->asked);
    free(hp->call_of);
}

/* The call node n needs, 0 for none (it is a leaf): route()'s rule with
 * H's primitive test left to the overseer. */
static int call_kind(const struct iamp_engine *e, const struct iamp_engine_node *n)
{
    if (n->state != NODE_NEW)
        return IAMP_H_STEP;
    if (n->parent < 0 && n->depth_left == 0)
        return 0;
    if (n->depth_left > e->leaf_depth)
        return IAMP_H_START;
    return ((e->task->primitive_types >> n->q.type) & 1u) ? IAMP_H_PRIMITIVE : 0;
}

static int apply_call(struct iamp_engine *e, struct work *w, long i, const struct iamp_h_call *c)
{
    struct iamp_engine_node *n = &e->nodes[i];
    if (c->kind == IAMP_H_PRIMITIVE || (c->kind == IAMP_H_START && c->primitive)) {
        if (c->status != IAMP_EP_DONE)
            return leaf_node(e, w, i);
        n->by = IAMP_BY_PRIMITIVE;
        n->a = c->out;
        e->stats.h_answers++;
        return finish(e, w, i);
    }
    if (c->kind == IAMP_H_START) {
        n->by = IAMP_BY_OVERSEER;
        e->stats.episodes++;
    }
    if (c->status == IAMP_EP_DONE) {
        n->a = c->out;
        return finish(e, w, i);
    }
    n->asked += c->n_asks;
    return spawn(e, w, i, c->asks, c->n_asks);
}

static int drain_batched(struct iamp_engine *e, struct work *w)
{
    const struct iamp_task *t = e->task;
    struct hpass *hp = &w->hp;
    while (w->head < w->tail) {
        long first = w->head, end = w->tail;
        int rc = hpass_reserve(hp, end - first);
        if (rc)
            return rc;
        int n_calls = 0;
        for (long j = first; j < end; j++) {
            const struct iamp_engine_node *n = &e->nodes[w->queue[j]];
            int kind = call_kind(e, n);
            hp->call_of[j - first] = kind ? n_calls : -1;
            if (!kind)
                continue;
            struct iamp_h_call *c = &hp->calls[n_calls];
            memset(c, 0, sizeof(*c));
            c->kind = kind;
            c->episode = (uint64_t)w->queue[j];
            c->q = &n->q;
            c->asks = hp->asks + (size_t)n_calls * IAMP_ASK_MAX;
            if (kind == IAMP_H_STEP) {
                size_t at = (size_t)n_calls * IAMP_ASK_MAX;
                for (int k = 0; k < n->n_children; k++) {
                    hp->answers[at + (size_t)k] = e->nodes[n->first_child + k].a;
                    hp->asked[at + (size_t)k] = e->nodes[n->first_child + k].q;
                }
                c->answers = hp->answers + at;
                c->asked = hp->asked + at;
                c->n_answers = n->n_children;
                c->n_asked = n->asked;
            }
            n_calls++;
        }
        if (n_calls && (rc = t->ops->h_batch(t, w->run, hp->calls, n_calls)))
            return rc;
        for (long j = first; j < end; j++) {
            long i = w->queue[j];
            int ci = hp->call_of[j - first];
            rc = ci < 0 ? leaf_node(e, w, i) : apply_call(e, w, i, &hp->calls[ci]);
            if (rc)
                return rc;
        }
        w->head = end;
    }
    w->head = w->tail = 0;
    return 0;
}

static int drain_queue(struct iamp_engine *e, struct work *w)
{
    if (e->task->ops->h_batch)
        return drain_batched(e, w);
    while (w->head < w->tail) {
        long i = w->queue[w->head++];
        int rc = e->nodes[i].state == NODE_NEW ? activate(e, w, i) : step_episode(e, w, i);
        if (rc)
            return rc;
    }
    w->head = w->tail = 0;
    return 0;
}

static int answer_leaves(struct iamp_engine *e, struct work *w, iamp_leaf_fn leaf, void *ctx)
{
    long n = w->n_leaves;
    struct iamp_question *qs = malloc((size_t)n * sizeof(*qs));
    struct iamp_answer *as = malloc((size_t)n * sizeof(*as));
    int *depth = malloc((size_t)n * sizeof(int));
    int rc = IAMP_ENOMEM;
    if (!qs || !as || !depth)
        goto out;
    for (long k = 0; k < n; k++) {
        qs[k] = e->nodes[w->leaves[k]].q;
        depth[k] = e->nodes[w->leaves[k]].depth_left;
    }
    rc = leaf(ctx, qs, depth, (int)n, as);
    if (rc)
        goto out;
    e->stats.leaf_calls += n;
    e->stats.leaf_batches++;
    w->n_leaves = 0;
    for (long k = 0; k < n; k++) {
        e->nodes[w->leaves[k]].a = as[k];
        rc = finish(e, w, w->leaves[k]);
        if (rc)
            goto out;
    }
out:
    free(qs);
    free(as);
    free(depth);
    return rc;
}

int iamp_engine_run(struct iamp_engine *e, const struct iamp_question *roots, int n, int depth,
                    iamp_leaf_fn leaf, void *ctx, struct iamp_answer *out)
{
    if (n < 0 || depth < 0)
        return IAMP_EINVAL;
    return iamp_engine_run_depths(e, roots, NULL, depth, n, leaf, ctx, out);
}

int iamp_engine_run_depths(struct iamp_engine *e, const struct iamp_question *roots,
                           const int *depths, int depth, int n, iamp_leaf_fn leaf, void *ctx,
                           struct iamp_answer *out)
{
    if (n < 0)
        return IAMP_EINVAL;
    const struct iamp_task *t = e->task;
    struct work w = {0};
    long first;
    e->n_nodes = 0;
    if (t->ops->h_batch)
        w.run = t->ops->h_run_begin(t);
    int rc = e->trace_cb ? trace_begin(e) : 0;
    if (!rc)
        rc = new_nodes(e, n, &first);
    for (int i = 0; i < n && !rc; i++) {
        struct iamp_engine_node *nd = &e->nodes[i];
        memset(nd, 0, sizeof(*nd));
        nd->q = roots[i];
        nd->parent = -1;
        nd->first_child = -1;
        nd->depth_left = depths ? depths[i] : depth;
        nd->state = NODE_NEW;
        rc = nd->depth_left < 0 ? IAMP_EINVAL : push(&w.queue, &w.tail, &w.cap, i);
    }
    while (!rc) {
        rc = drain_queue(e, &w);
        if (rc || w.n_leaves == 0)
            break;
        rc = answer_leaves(e, &w, leaf, ctx);
    }
    for (int i = 0; i < n && !rc; i++) {
        if (e->nodes[i].state != NODE_DONE)
            rc = IAMP_ESTATE;
        else
            out[i] = e->nodes[i].a;
    }
    if (!rc && e->trace_cb)
        rc = trace_emit(e, n);
    if (t->ops->h_batch)
        t->ops->h_run_end(t, w.run);
    hpass_release(&w.hp);
    free(w.queue);
    free(w.leaves);
    return rc;
}
