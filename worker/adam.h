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

struct iamp_adam {
    size_t n;
    float *m;  /* (n) first moment */
    float *v;  /* (n) second moment */
    int64_t t; /* steps taken */
    float lr;  /* learning rate */
    float beta1, beta2, eps;
    float clip_norm; /* clip the global gradient norm to this; <= 0: off */
};

IAMP_WUR int iamp_adam_init(struct iamp_adam *a, size_t n, float lr);
void iamp_adam_release(struct iamp_adam *a);
void iamp_adam_reset(struct iamp_adam *a);
/* One step: params -= lr * mhat / (sqrt(vhat) + eps), with the gradient
 * scaled down to clip_norm when its global norm is larger (grads itself is
 * not modified). Returns the gradient norm before clipping. */
double iamp_adam_step(struct iamp_adam *a, float *params, const float *grads);

#endif
