/* ranks.h — the rank protocol: every message between rank 0 (the
 * coordinator's side, worker/cluster.c) and ranks 1..N-1 (the workers'
 * side, worker/worker_loop.c), so both ends read together.
 *
 * A message is one MPI message (worker/comm.h): op, arg and a payload of
 * protobuf bytes (proto/iamp.proto: Checkpoint, WorkUnit, UnitResult,
 * TrainBatch, TrainStats) or raw floats.
 *
 * Commands (IAMP_TAG_CMD, op / arg / payload) and their replies
 * (IAMP_TAG_REPLY):
 *   SETUP     encoded Checkpoint; arg = bucket bytes   -> OK | ERROR
 *   RUN       encoded WorkUnit (pick M, M_target or a version)
 *                                                      -> RUN: UnitResult, arg = leaf calls
 *   FIT       encoded TrainBatch: share of every minibatch, allreduce over
 *             the workers' communicator, Adam; arg 1 also times a
 *             blocking allreduce for comparison        -> FIT: TrainStats
 *   SYNC      M_target <- M (created if absent)         -> (none)
 *   REF_SET   p_ref <- M (created if absent)            -> (none)
 *   CHECKSUM                                           -> CHECKSUM: arg = checksum of M,
 *                                                         payload = checksum of M_target
 *   PULL      (first worker only)                      -> PULL: encoded Checkpoint
 *   TRACE_START arg = rank 0's clock (double bits)      -> (none); spans recorded
 *   TRACE                                              -> TRACE: JSON span fragment
 *   ALLREDUCE_BENCH arg = seconds per size, payload = bucket bytes (u64)
 *                                                      -> (collective with rank 0)
 *   VERSION_PUT arg = id, payload = parameters (floats): keep a copy of a
 *             published model version (the job server's pinned models)
 *                                                      -> (none)
 *   VERSION_DROP arg = id                               -> (none)
 *   EXIT                                               -> (none); the loop returns
 * A command that fails is answered with ERROR and a one-line reason.
 */
#ifndef IAMP_RANKS_H
#define IAMP_RANKS_H

#include "worker/comm.h"

enum iamp_op {
    IAMP_OP_SETUP = 1,
    IAMP_OP_RUN,
    IAMP_OP_FIT,
    IAMP_OP_SYNC,
    IAMP_OP_CHECKSUM,
    IAMP_OP_PULL,
    IAMP_OP_TRACE,
    IAMP_OP_ALLREDUCE_BENCH,
    IAMP_OP_EXIT,
    IAMP_OP_TRACE_START,
    IAMP_OP_REF_SET,
    IAMP_OP_VERSION_PUT,
    IAMP_OP_VERSION_DROP,
    IAMP_OP_OK,
    IAMP_OP_ERROR,
};

#endif
