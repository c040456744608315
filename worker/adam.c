/* adam.c — Adam (Kingma & Ba 2015) with bias correction and clipping. */
#include "worker/adam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int iamp_adam_init(struct iamp_adam *a, size_t n, float lr)
{
    memset(a, 0, sizeof(*a));
    a->m = calloc(n, sizeof(float));
    a->v = calloc(n, sizeof(float));
    if (!a->m || !a->v) {
        iamp_adam_release(a);
        return IAMP_ENOMEM;
    }
    a->n = n;
    a->lr = lr;
    a->beta1 = 0.9f;
    a->beta2 = 0.999f;
    a->eps = 1e-8f;
    a->clip_norm = 1.0f;
    return 0;
}

void iamp_adam_release(struct iamp_adam *a)
{
    free(a->m);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

void iamp_adam_reset(struct iamp_adam *a)
{
    memset(a->m, 0, a->n * sizeof(float));
    memset(a->v, 0, a->n * sizeof(float));
    a->t = 0;
}

double iamp_adam_step(struct iamp_adam *a, float *params, const float *grads)
{
    double sq = 0.0;
    for (size_t i = 0; i < a->n; i++)
        sq += (double)grads[i] * grads[i];
    double norm = sqrt(sq);
    float gscale = 1.0f;
    if (a->clip_norm > 0.0f && norm > a->clip_norm)
        gscale = (float)(a->clip_norm / norm);
    a->t++;
    float b1 = a->beta1, b2 = a->beta2;
    float c1 = 1.0f / (1.0f - powf(b1, (float)a->t));
    float c2 = 1.0f / (1.0f - powf(b2, (float)a->t));
    for (size_t i = 0; i < a->n; i++) {
        float g = grads[i] * gscale;
        a->m[i] = b1 * a->m[i] + (1.0f - b1) * g;
        a->v[i] = b2 * a->v[i] + (1.0f - b2) * g * g;
        params[i] -= a->lr * (a->m[i] * c1) / (sqrtf(a->v[i] * c2) + a->eps);
    }
    return norm;
}
