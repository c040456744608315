/* adam.c — Adam (Kingma & Ba 2015) with bias correction and clipping. */
#include "worker/adam.h"

#include "common/pool.h"
#include "common/simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int iamp_adam_init(struct iamp_adam *a, size_t n, float lr)
{
    memset(a, 0, sizeof(*a));
    a->m = calloc(n, sizeof(float));
    a->v = calloc(n, sizeof(float));
    a->partial = calloc(n / IAMP_ADAM_CHUNK + 1, sizeof(double));
    if (!a->m || !a->v || !a->partial) {
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
    free(a->partial);
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

/* g[i] += add[0][i] + add[1][i] + ..., one buffer at a time, in order. */
IAMP_VECTOR_CLONES static void sum_into(size_t n, float *restrict g, const float *restrict a)
{
    for (size_t i = 0; i < n; i++)
        g[i] += a[i];
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

/* One step's loops over chunks of IAMP_ADAM_CHUNK parameters: every
 * chunk's work is the same whichever thread does it, and the norm is the
 * sum of the chunks' sums of squares in chunk order. */
struct step_job {
    struct iamp_adam *a;
    float *params;
    float *grads;            /* the gradient: grads + add[0] + ... once summed */
    const float *const *add; /* (n_add) */
    int n_add;
    float gscale, c1, c2;
};

static size_t chunk_len(const struct iamp_adam *a, int c, size_t *first)
{
    *first = (size_t)c * IAMP_ADAM_CHUNK;
    return a->n - *first < IAMP_ADAM_CHUNK ? a->n - *first : IAMP_ADAM_CHUNK;
}

static void norm_chunk_cb(void *ctx, int c, int thread)
{
    struct step_job *j = ctx;
    size_t first, len = chunk_len(j->a, c, &first);
    (void)thread;
    for (int k = 0; k < j->n_add; k++)
        sum_into(len, j->grads + first, j->add[k] + first);
    j->a->partial[c] = sum_squares(j->grads + first, len);
}

static void update_chunk_cb(void *ctx, int c, int thread)
{
    struct step_job *j = ctx;
    struct iamp_adam *a = j->a;
    size_t first, len = chunk_len(a, c, &first);
    (void)thread;
    update(len, j->params + first, j->grads + first, a->m + first, a->v + first, j->gscale,
           a->beta1, a->beta2, j->c1, j->c2, a->lr, a->eps);
}

double iamp_adam_step_on(struct iamp_adam *a, float *params, float *grads, const float *const *add,
                         int n_add, struct iamp_pool *pool)
{
    struct step_job j = {a, params, grads, add, n_add, 1.0f, 1.0f, 1.0f};
    int chunks = (int)((a->n + IAMP_ADAM_CHUNK - 1) / IAMP_ADAM_CHUNK);
    iamp_pool_run(pool, chunks, norm_chunk_cb, &j);
    double sq = 0.0;
    for (int c = 0; c < chunks; c++)
        sq += a->partial[c];
    double norm = sqrt(sq);
    if (a->clip_norm > 0.0f && norm > a->clip_norm)
        j.gscale = (float)(a->clip_norm / norm);
    a->t++;
    j.c1 = 1.0f / (1.0f - powf(a->beta1, (float)a->t));
    j.c2 = 1.0f / (1.0f - powf(a->beta2, (float)a->t));
    iamp_pool_run(pool, chunks, update_chunk_cb, &j);
    return norm;
}

double iamp_adam_step(struct iamp_adam *a, float *params, const float *grads)
{
    return iamp_adam_step_on(a, params, (float *)grads, NULL, 0, NULL); /* n_add 0: not written */
}
