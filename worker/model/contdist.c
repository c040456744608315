/* contdist.c — the logistic-normal of M's continuous head; see contdist.h.
 * Derivatives are taken with respect to the raw outputs (mu, rho), with
 * sigma = SIGMA_MIN + softplus(rho) and d sigma / d rho = sigmoid(rho). */
#include "worker/model/contdist.h"

#include <math.h>

#define HALF_LOG_2PI 0.91893853320467274178

static double softplus(double x)
{
    return x > 30.0 ? x : log1p(exp(x));
}

static double sigmoid(double x)
{
    return x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

void iamp_cont_from_raw(const float *raw, struct iamp_cont *d)
{
    d->mu = raw[0];
    d->sigma = IAMP_CONT_SIGMA_MIN + softplus(raw[1]);
}

double iamp_cont_logit(double y)
{
    if (!(y >= IAMP_CONT_EPS)) /* NAN too */
        y = IAMP_CONT_EPS;
    if (y > 1.0 - IAMP_CONT_EPS)
        y = 1.0 - IAMP_CONT_EPS;
    return log(y) - log1p(-y);
}

double iamp_cont_logdensity(const struct iamp_cont *d, double y)
{
    double z = iamp_cont_logit(y), u = (z - d->mu) / d->sigma;
    double yc = sigmoid(z);
    return -0.5 * u * u - log(d->sigma) - HALF_LOG_2PI - log(yc) - log1p(-yc);
}

void iamp_cont_logdensity_grad(const float *raw, double y, double *g)
{
    struct iamp_cont d;
    iamp_cont_from_raw(raw, &d);
    double e = iamp_cont_logit(y) - d.mu, s2 = d.sigma * d.sigma;
    g[0] = e / s2;
    g[1] = (e * e / (s2 * d.sigma) - 1.0 / d.sigma) * sigmoid(raw[1]);
}

double iamp_cont_median(const struct iamp_cont *d)
{
    return sigmoid(d->mu);
}

double iamp_cont_sample(const struct iamp_cont *d, double temperature, struct iamp_rng *r)
{
    return sigmoid(d->mu + temperature * d->sigma * iamp_rng_normal(r));
}

double iamp_cont_entropy(const struct iamp_cont *d)
{
    return log(d->sigma) + HALF_LOG_2PI + 0.5;
}

void iamp_cont_entropy_grad(const float *raw, double *g)
{
    struct iamp_cont d;
    iamp_cont_from_raw(raw, &d);
    g[0] = 0.0;
    g[1] = sigmoid(raw[1]) / d.sigma;
}

double iamp_cont_kl(const struct iamp_cont *p, const struct iamp_cont *q)
{
    double dm = p->mu - q->mu;
    return log(q->sigma / p->sigma) +
           (p->sigma * p->sigma + dm * dm) / (2.0 * q->sigma * q->sigma) - 0.5;
}

void iamp_cont_kl_grad(const float *raw_p, const float *raw_q, double *g)
{
    struct iamp_cont p, q;
    iamp_cont_from_raw(raw_p, &p);
    iamp_cont_from_raw(raw_q, &q);
    double q2 = q.sigma * q.sigma;
    g[0] = (p.mu - q.mu) / q2;
    g[1] = (-1.0 / p.sigma + p.sigma / q2) * sigmoid(raw_p[1]);
}
