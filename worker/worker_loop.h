/* worker_loop.h — what ranks 1..N-1 run: wait for the coordinator's
 * commands and carry them out on this rank's model copy.
 *
 * The messages and their replies are in ranks.h; rank 0 sends them from
 * cluster.c.
 */
#ifndef IAMP_WORKER_LOOP_H
#define IAMP_WORKER_LOOP_H

#include "worker/ranks.h"

/* Serve commands until EXIT; returns 0, or an error that ended the loop. */
int iamp_worker_main(struct iamp_comm *c);

/* The allreduce benchmark every rank runs together (bench allreduce; rank
 * 0 starts it with iamp_cluster_allreduce_bench): for each size, our
 * bucketed allreduce and MPI_Allreduce over MPI_COMM_WORLD, measured alternately several times
 * (best of each kept). Rank 0 receives the timings in t_ours/t_mpi (seconds per call, max over
 * ranks); sizes are 4 KiB .. 64 MiB doubling. */
#define IAMP_BENCH_SIZES 15
IAMP_WUR int iamp_allreduce_bench(const struct iamp_comm *c, double seconds, size_t bucket_bytes,
                                  double *t_ours, double *t_mpi);

#endif
