/* traces.h — decomposition traces as JSONL (`iamp answer --trace FILE`).
 *
 * One JSON object per root question, in the roots' order: the fields of
 * its answer line (question; context and facts for a question on facts;
 * answer; depth), then "nodes" (the size of its tree) and "tree", the root
 * node. A node is {"id", "parent" and "step" (not on the root),
 * "question", "answer", "by", "level", "depth_left", "children": [...]}:
 * ids number a tree's nodes in pre-order from 0 (the root); "step" is the
 * step of the parent's episode that asked it (1, 2, ...: later steps may
 * depend on earlier answers); "by" names who answered: "model" (M at a
 * leaf), "primitive" (H itself, asking nothing), "overseer" (H combining
 * its children's answers), "subtree" (amplified elsewhere, not traced);
 * "level" counts from the root (0) and depth_left is what H could still
 * decompose below. Every node of a tree shares the root's facts.
 */
#ifndef IAMP_TRACES_H
#define IAMP_TRACES_H

#include "proto/wire.h"
#include "worker/engine.h"

#include <stdio.h>

/* Split a traced run (the engine's trace callback arguments) into one
 * tree per root, in the roots' order: out[tree_at[r], tree_at[r + 1]) is
 * root r's tree in pre-order (its root first, each node's children in the
 * order asked), parents indexed within the tree; q.ctx kept as the run
 * gave it. out holds n nodes, tree_at n_roots + 1. 0, IAMP_ENOMEM, or
 * IAMP_ECORRUPT for nodes out of order. */
IAMP_WUR int iamp_traces_split(const struct iamp_trace_node *nodes, long n, int n_roots,
                               struct iamp_result_node *out, long *tree_at);

/* Write one tree's line: nodes[0..n) with their texts, node 0 the root,
 * every other node after its parent (ids are given in pre-order as they
 * are written). context: the root's context number from 1 (0: none);
 * facts: its facts' text without "facts: " (NULL: none). `iamp submit
 * --trace` writes a result page's trees with it. 0, or IAMP_ECORRUPT for
 * a tree whose parents do not come first, IAMP_ENOMEM. */
IAMP_WUR int iamp_traces_write_tree(FILE *f, const struct iamp_result_node *nodes,
                                    const struct iamp_node_text *texts, long n, int context,
                                    const char *facts);

/* Write one line per root of a traced run (the engine's trace callback
 * arguments). ctx_base numbers the contexts as `iamp answer` does
 * ("context": the index of q.ctx in it, from 1); NULL when the questions
 * carry none. 0, IAMP_ENOMEM, or IAMP_ECORRUPT for nodes out of order.
 * Write errors are the caller's to check (ferror). */
IAMP_WUR int iamp_traces_write(FILE *f, const struct iamp_task *t,
                               const struct iamp_trace_node *nodes, long n, int n_roots,
                               const struct iamp_context *ctx_base);

#endif
