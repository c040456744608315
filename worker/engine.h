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

struct iamp_engine_node; /* engine.c */

struct iamp_engine {
    const struct iamp_task *task;
    int leaf_depth; /* nodes with this much depth left or less are leaves */
    long max_nodes; /* refuse trees beyond this many nodes (IAMP_ELIMIT) */
    /* Working storage, reused across calls. */
    struct iamp_engine_node *nodes;
    unsigned char *episodes; /* (cap, episode_size) */
    long n_nodes, cap_nodes;
    struct iamp_engine_stats stats; /* totals since init */
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
