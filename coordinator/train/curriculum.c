/* curriculum.c — see curriculum.h. */
#include "coordinator/train/curriculum.h"

#include <string.h>

void iamp_curriculum_init(struct iamp_curriculum *c, int max_level, float threshold, int window)
{
    memset(c, 0, sizeof(*c));
    c->level = 1;
    c->max_level = max_level < 1 ? 1 : max_level;
    c->threshold = threshold;
    c->window = window < 1 ? 1 : (window > IAMP_AGREEMENT_MAX ? IAMP_AGREEMENT_MAX : window);
}

float iamp_curriculum_mean(const struct iamp_curriculum *c)
{
    if (c->n == 0)
        return 0.0f;
    double s = 0.0;
    for (int i = 0; i < c->n; i++)
        s += c->hist[i];
    return (float)(s / c->n);
}

int iamp_curriculum_update(struct iamp_curriculum *c, float agreement)
{
    if (c->n == c->window) {
        memmove(c->hist, c->hist + 1, (size_t)(c->n - 1) * sizeof(float));
        c->n--;
    }
    c->hist[c->n++] = agreement;
    c->rounds_at_level++;
    if (c->level >= c->max_level || c->n < c->window)
        return 0;
    if (iamp_curriculum_mean(c) < c->threshold)
        return 0;
    c->level++;
    c->n = 0;
    c->rounds_at_level = 0;
    return 1;
}
