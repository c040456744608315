/* cluster.h — the coordinator's side of a multi-rank run (rank 0); the
 * workers' side is worker_loop.c, and ranks.h names every message
 * between them.
 *
 * A cluster is a session remote (worker/session.h): once attached, the
 * session's amplification requests are cut into units of questions and
 * shipped to workers by credit — every worker keeps up to `credit` units in
 * flight and the next unit goes to whichever worker answers first, so a
 * slow worker never stalls the rest. When a request has too few roots to
 * keep every worker busy, the coordinator expands the top level of the
 * trees itself (H's episodes run here) and ships the subtrees below.
 * Distillation sends the round's examples to every worker; workers split
 * each minibatch, sum gradients with a bucketed allreduce among themselves
 * and take the same Adam step; optionally a parameter checksum is compared
 * across workers after every round.
 *
 * Waits that exceed the comm timeout (default 60 s, IAMP_TIMEOUT_MS) log
 * which ranks have not answered; after five such periods the run fails. A
 * worker that dies is reported by the MPI launcher, which ends every rank.
 */
#ifndef IAMP_CLUSTER_H
#define IAMP_CLUSTER_H

#include "proto/codec.h"
#include "worker/comm.h"
#include "worker/session.h"

struct iamp_cluster_opts {
    int credit;          /* units in flight per worker (default 2) */
    size_t bucket_bytes; /* allreduce bucket size (default 1 MiB) */
    int check_params;    /* compare parameter checksums after every fit */
};

struct iamp_cluster {
    struct iamp_comm *c;
    int workers;
    struct iamp_cluster_opts o;
    uint64_t next_unit_id;
    struct iamp_session *s;
    int measure_blocking; /* fit: also time blocking allreduces (bench) */
    /* Measurements. */
    long units, leaf_calls;
    struct iamp_fit_report fit; /* last fit: losses summed, times max over workers */
};

void iamp_cluster_opts_default(struct iamp_cluster_opts *o);
void iamp_cluster_init(struct iamp_cluster *cl, struct iamp_comm *c,
                       const struct iamp_cluster_opts *o);
/* Make s's model work go to the workers, sending them s's state. */
IAMP_WUR int iamp_cluster_attach(struct iamp_cluster *cl, struct iamp_session *s);
/* Collect every rank's spans and write a Chrome trace to path (cl NULL:
 * this process's spans only). */
IAMP_WUR int iamp_cluster_write_timeline(struct iamp_cluster *cl, const char *path);
/* Start tracing on every rank. */
IAMP_WUR int iamp_cluster_trace_start(struct iamp_cluster *cl);
/* Published model versions (the job server's pinned models): every worker
 * keeps a copy under id until it is dropped; requests with
 * IAMP_PICK_VERSION name one. */
IAMP_WUR int iamp_cluster_put_version(struct iamp_cluster *cl, uint64_t id, const float *params,
                                      size_t n);
IAMP_WUR int iamp_cluster_drop_version(struct iamp_cluster *cl, uint64_t id);
/* bench allreduce: every rank times iamp's bucketed allreduce and
 * MPI_Allreduce together (worker_loop.h); t_ours/t_mpi get
 * IAMP_BENCH_SIZES seconds per call each. */
IAMP_WUR int iamp_cluster_allreduce_bench(struct iamp_cluster *cl, double seconds, double *t_ours,
                                          double *t_mpi);
/* Tell every worker to leave its loop. */
void iamp_cluster_shutdown(struct iamp_cluster *cl);

#endif
