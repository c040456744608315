/* wire_int.h — private to proto/: what wire.c shares with records.c
 * (prefix iamp__wire_). The protobuf-c types are named by their struct
 * tags so that this header need not include iamp.pb-c.h.
 *
 * Scratch: encoders allocate the protobuf-c structs they fill through a
 * scratch list; iamp__wire_scratch_free frees it all (before they return).
 */
#ifndef IAMP_WIRE_INT_H
#define IAMP_WIRE_INT_H

#include "proto/wire.h"

#include <stddef.h>

struct Iamp__JobStatus;
struct Iamp__TrainParams;

#define SCRATCH_MAX 16
struct scratch {
    void *p[SCRATCH_MAX];
    int n;
};

/* NULL when full (SCRATCH_MAX) or out of memory; count 0 allocates one. */
void *iamp__wire_scratch_alloc(struct scratch *s, size_t count, size_t size);
void iamp__wire_scratch_free(struct scratch *s);

struct Iamp__Context;
struct iamp_context;
/* Contexts c[0..n) as a message's list (*out), storage from sc. */
int iamp__wire_contexts_to_pb(const struct iamp_context *c, size_t n, struct Iamp__Context ***out,
                              struct scratch *sc);

struct Iamp__TraceNode;
/* Trace nodes n[0..count) as a message's list (*out), with texts t[i]
 * (NULL: tokens only), storage from sc. */
int iamp__wire_nodes_to_pb(const struct iamp_result_node *n, const struct iamp_node_text *t,
                           size_t count, struct Iamp__TraceNode ***out, struct scratch *sc);
/* One tree's nodes back from pb[0..count) into n (and their texts into t
 * unless NULL); IAMP_EINVAL when a node is malformed, node 0 has a parent
 * or another node's parent does not come before it. q.ctx is left NULL. */
int iamp__wire_tree_from_pb(struct Iamp__TraceNode *const *pb, size_t count,
                            struct iamp_result_node *n, struct iamp_node_text *t);

void iamp__wire_status_to_pb(const struct iamp_job_status *s, struct Iamp__JobStatus *pb);
int iamp__wire_status_from_pb(const struct Iamp__JobStatus *pb, struct iamp_job_status *s,
                              char *why, size_t whylen);
void iamp__wire_train_to_pb(const struct iamp_train_params *t, struct Iamp__TrainParams *pb);
int iamp__wire_train_from_pb(const struct Iamp__TrainParams *pb, struct iamp_train_params *t,
                             char *why, size_t whylen);

#endif
