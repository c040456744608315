/* pool.h — a fixed set of threads that runs one parallel loop at a time.
 *
 * iamp_pool_run(p, n, fn, ctx) calls fn(ctx, task, thread) once for every
 * task in [0, n) and returns when all have returned; the calling thread
 * is thread 0 and works too. Which thread runs which task is not fixed,
 * so a caller that wants results independent of the thread count gives
 * each task its own output (and per-thread scratch by `thread`) and
 * combines the outputs in task order afterwards: that is how the model's
 * forward (fixed row blocks) and distillation (fixed shards of each
 * minibatch) stay bit-identical for every --threads.
 *
 * A run from inside a task, from a second thread while a run is in
 * progress, or on a NULL or one-thread pool runs every task inline on the
 * caller, in task order. Idle threads spin briefly (a training step's
 * loops follow each other within microseconds), then sleep on a
 * condition variable. Threads start with the floating-point environment
 * of common/fpenv.h.
 */
#ifndef IAMP_POOL_H
#define IAMP_POOL_H

#include "common/error.h"

#define IAMP_THREADS_MAX 256

struct iamp_pool;

typedef void (*iamp_pool_task_cb)(void *ctx, int task, int thread);

/* A pool of `threads` threads in all (the caller counts as one, so
 * threads - 1 are started); 1 starts none. */
IAMP_WUR int iamp_pool_new(struct iamp_pool **out, int threads);
void iamp_pool_free(struct iamp_pool *p);

/* Threads a run may use (1 for NULL). */
int iamp_pool_threads(const struct iamp_pool *p);

void iamp_pool_run(struct iamp_pool *p, int n, iamp_pool_task_cb fn, void *ctx);

/* The cores this process may run on (its CPU affinity), at least 1. */
int iamp_cores_available(void);

#endif
