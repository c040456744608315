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

#include "worker/engine.h"

#include <stdio.h>

/* Write one line per root of a traced run (the engine's trace callback
 * arguments). ctx_base numbers the contexts as `iamp answer` does
 * ("context": the index of q.ctx in it, from 1); NULL when the questions
 * carry none. 0, IAMP_ENOMEM, or IAMP_ECORRUPT for nodes out of order.
 * Write errors are the caller's to check (ferror). */
IAMP_WUR int iamp_traces_write(FILE *f, const struct iamp_task *t,
                               const struct iamp_trace_node *nodes, long n, int n_roots,
                               const struct iamp_context *ctx_base);

#endif
