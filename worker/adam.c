/* adam.c — Adam (Kingma & Ba 2015) with bias correction and clipping. */
#include "worker/adam.h"

#include "common/simd.h"

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

/* The sum of squares in a fixed order that depends on n alone: eight
 * running sums over interleaved elements (independent chains, so the
 * loop vectorises), the tail, then the eight. */
IAMP_VECTOR_CLONES static double sum_squares(const float *g, size_t n)
{
    double acc[8] = {0}, s = 0.0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += (double)g[i + j] * g[i + j];
    for (; i < n; i++)
        s += (double)g[i] * g[i];
    for (int j = 0; j < 8; j++)
        s += acc[j];
    return s;
}

/* The update of every parameter (one loop, elementwise). */
IAMP_VECTOR_CLONES static void update(size_t n, float *restrict p, const float *restrict gr,
                                      float *restrict m, float *restrict v, float gscale, float b1,
                                      float b2, float c1, float c2, float lr, float eps)
{
    for (size_t i = 0; i < n; i++) {
        float g = gr[i] * gscale;
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        p[i] -= lr * (m[i] * c1) / (sqrtf(v[i] * c2) + eps);
    }
}

double iamp_adam_step(struct iamp_adam *a, float *params, const float *grads)
{
    double norm = sqrt(sum_squares(grads, a->n));
    float gscale = 1.0f;
    if (a->clip_norm > 0.0f && norm > a->clip_norm)
        gscale = (float)(a->clip_norm / norm);
    a->t++;
    float b1 = a->beta1, b2 = a->beta2;
    float c1 = 1.0f / (1.0f - powf(b1, (float)a->t));
    float c2 = 1.0f / (1.0f - powf(b2, (float)a->t));
    update(a->n, params, grads, a->m, a->v, gscale, b1, b2, c1, c2, a->lr, a->eps);
    return norm;
}
