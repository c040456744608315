/* allreduce.h — a bucketed gradient allreduce that overlaps backward.
 *
 * The gradient buffer is cut into buckets of bucket_bytes. Backward reports
 * how much of the buffer is final (a growing prefix, see model.h); every
 * bucket wholly inside it is started at once with MPI_Iallreduce (in
 * place, MPI_SUM) and outstanding buckets are nudged with MPI_Testsome so
 * they progress while backward computes the rest; at most `window` run at
 * once when a window is set. finish() starts what is left and waits. Used as a struct
 * iamp_grad_reducer (session.h). Runs on the thread that owns the model.
 */
#ifndef IAMP_ALLREDUCE_H
#define IAMP_ALLREDUCE_H

#include "worker/comm.h"

#define IAMP_BUCKET_BYTES_DEFAULT (1u << 20)
/* Buckets in flight at once (0: all); IAMP_BUCKET_WINDOW overrides. */
#define IAMP_BUCKET_WINDOW_DEFAULT 0

struct iamp_allreduce {
    MPI_Comm comm;
    size_t bucket_floats;
    float *buf;
    size_t n;
    int n_buckets, started;
    MPI_Request *req;
    int *idx; /* scratch for MPI_Testsome */
    int cap;
    int window; /* buckets in flight at most; 0: no limit */
    /* Measurements of the last reduction (seconds). */
    double t_first, t_ready_end, t_done;
    double wait_s;                     /* time in finish(): not hidden behind backward */
    double total_wait_s, total_span_s; /* sums over reductions */
    long reductions;
};

IAMP_WUR int iamp_allreduce_init(struct iamp_allreduce *ar, MPI_Comm comm, size_t bucket_bytes);
void iamp_allreduce_release(struct iamp_allreduce *ar);
/* Prepare to reduce buf[0, n) (before backward writes it). */
IAMP_WUR int iamp_allreduce_begin(struct iamp_allreduce *ar, float *buf, size_t n);
/* iamp_grad_ready_cb: buf[0, done) is final. */
void iamp_allreduce_ready_cb(void *ctx, size_t done);
/* Start the rest and wait for every bucket. */
int iamp_allreduce_finish_cb(void *ctx);

#endif
