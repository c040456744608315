/* adam.h — Adam with global-norm gradient clipping over one flat buffer.
 *
 * The moment buffers share the parameter layout; every worker applies the
 * same step to the same (aggregated) gradients, so parameters stay
 * bit-identical across ranks.
 */
#ifndef IAMP_ADAM_H
#define IAMP_ADAM_H

#include "common/error.h"

#include <stddef.h>
#include <stdint.h>

/* Parameters per chunk of a step's loops (the unit of its parallelism and
 * of the gradient norm's summation order). */
#define IAMP_ADAM_CHUNK 8192

struct iamp_pool;

struct iamp_adam {
    size_t n;
    float *m;  /* (n) first moment */
    float *v;  /* (n) second moment */
    int64_t t; /* steps taken */
    float lr;  /* learning rate */
    float beta1, beta2, eps;
    float clip_norm; /* clip the global gradient norm to this; <= 0: off */
    double *partial; /* (chunks) each chunk's sum of squares */
};

IAMP_WUR int iamp_adam_init(struct iamp_adam *a, size_t n, float lr);
void iamp_adam_release(struct iamp_adam *a);
void iamp_adam_reset(struct iamp_adam *a);
/* One step: params -= lr * mhat / (sqrt(vhat) + eps), with the gradient
 * scaled down to clip_norm when its global norm is larger (grads itself is
 * not modified; the norm sums chunks of IAMP_ADAM_CHUNK in order). Returns the gradient norm before
 * clipping. */
double iamp_adam_step(struct iamp_adam *a, float *params, const float *grads);
/* The same on the gradient grads + add[0] + ... + add[n_add - 1], summed
 * into grads buffer by buffer, with the loops' chunks on pool (may be
 * NULL): the result does not depend on the pool's threads. */
double iamp_adam_step_on(struct iamp_adam *a, float *params, float *grads, const float *const *add,
                         int n_add, struct iamp_pool *pool);

#endif
