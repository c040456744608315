/* engine.h — the local amplification engine: Amp^depth(H, M) over many
 * questions at once.
 *
 * Every root question grows a tree: internal nodes are H's episodes, leaves
 * are answered by the leaf function (M, or a remote worker that amplifies a
 * whole subtree). Each pass gathers the pending leaves of every episode
 * into one call of the leaf function, so M sees one large batch per
 * dependent step rather than one question at a time.
 *
 * Rules: a root at depth 0 goes to the leaf function (M alone). H answers a
 * root that is primitive, and any primitive subquestion, itself. Other
 * nodes with depth left > leaf_depth become episodes; nodes at depth left
 * <= leaf_depth go to the leaf function with their depth left (leaf_depth
 * is 0 for a purely local engine). A subquestion gets its parent's context
 * pointer (whatever the task wrote), so a whole tree shares its root's
 * facts and none are copied. Deterministic: nodes are visited in
 * creation order, so the same leaf answers give the same trees.
 *
 * Traces (iamp answer --trace): with trace_cb set, a run also notes
 * which step of its parent's episode asked each node, and before
 * returning hands every node of the run to trace_cb with who answered
 * it. With trace_cb NULL (the default) nothing is recorded: the only
 * cost is a test of the pointer each time an episode asks.
 */
#ifndef IAMP_ENGINE_H
#define IAMP_ENGINE_H

#include "tasks/task.h"

/* Answer n questions; depth[i] is the depth left for qs[i] (0 = M alone). */
typedef int (*iamp_leaf_fn)(void *ctx, const struct iamp_question *qs, const int *depth, int n,
                            struct iamp_answer *out);

struct iamp_engine_stats {
    long nodes;        /* tree nodes created */
    long leaf_calls;   /* questions passed to the leaf function */
    long leaf_batches; /* calls of the leaf function */
    long h_answers;    /* primitive questions H answered itself */
    long episodes;     /* episodes run */
};

/* Who gave a traced node its answer. */
enum iamp_answered_by {
    IAMP_BY_MODEL = 1,     /* M, at a leaf (or a root at depth 0) */
    IAMP_BY_PRIMITIVE = 2, /* H itself: a primitive question, no subquestions */
    IAMP_BY_OVERSEER = 3,  /* H, combining the subanswers its episode asked for */
    IAMP_BY_SUBTREE = 4,   /* the leaf function with depth left > 0: a subtree
                              amplified elsewhere (a worker rank), its nodes not here */
};
/* "model", "primitive", "overseer", "subtree" ("?" for anything else). */
const char *iamp_answered_by_name(int by);

/* One node of a traced run. nodes[0, n_roots) are the roots in the order
 * given; every other node comes after its parent, and the children of a
 * node in the order its episode asked them. */
struct iamp_trace_node {
    struct iamp_question q; /* q.ctx: the root's context */
    struct iamp_answer a;
    long parent;    /* index of the parent in the run's nodes; -1: a root */
    int depth_left; /* levels H may still decompose below this node */
    int step;       /* the parent's episode step that asked it (1, 2, ...); 0: a root */
    int by;         /* enum iamp_answered_by */
};

/* Gets every node of a run that succeeded; the nodes are valid during the
 * call only. A nonzero return fails the run with that code. */
typedef int (*iamp_engine_trace_cb)(void *ctx, const struct iamp_trace_node *nodes, long n,
                                    int n_roots);

struct iamp_engine_node;    /* engine.c */
struct iamp_engine_tracing; /* engine.c: a traced run's notes */

struct iamp_engine {
    const struct iamp_task *task;
    int leaf_depth; /* nodes with this much depth left or less are leaves */
    long max_nodes; /* refuse trees beyond this many nodes (IAMP_ELIMIT) */
    /* Working storage, reused across calls. */
    struct iamp_engine_node *nodes;
    unsigned char *episodes; /* (cap, episode_size) */
    long n_nodes, cap_nodes;
    struct iamp_engine_stats stats; /* totals since init */
    /* Decomposition traces: set trace_cb (and trace_ctx) to trace the
     * runs that follow; NULL: none (the default). */
    iamp_engine_trace_cb trace_cb;
    void *trace_ctx;
    struct iamp_engine_tracing *tr; /* owned; allocated by the first traced run */
};

void iamp_engine_init(struct iamp_engine *e, const struct iamp_task *t);
void iamp_engine_release(struct iamp_engine *e);

/* Amplify n roots at `depth` (>= 0); writes out[0..n). */
IAMP_WUR int iamp_engine_run(struct iamp_engine *e, const struct iamp_question *roots, int n,
                             int depth, iamp_leaf_fn leaf, void *ctx, struct iamp_answer *out);

/* The same with a depth per root (depths[i] >= 0); depths NULL means
 * every root gets `depth`. */
IAMP_WUR int iamp_engine_run_depths(struct iamp_engine *e, const struct iamp_question *roots,
                                    const int *depths, int depth, int n, iamp_leaf_fn leaf,
                                    void *ctx, struct iamp_answer *out);

#endif
