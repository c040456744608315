/* contdist.h — the distribution M's continuous head puts on [0, 1]: a
 * logistic-normal.
 *
 * The head gives two numbers per row, raw = (mu, rho). The answer is
 * y = sigmoid(z) with z ~ N(mu, sigma^2) and sigma = IAMP_CONT_SIGMA_MIN +
 * softplus(rho). Why logistic-normal rather than Beta: its log-density is
 * a Gaussian's in logit space (a well-conditioned regression target, no
 * lgamma/digamma), its point answer sigmoid(mu) is the median, sampling is
 * one normal draw, and KL between two of them is the closed-form KL of the
 * Gaussians (the logit is a bijection). The floor on sigma keeps the
 * imitation loss bounded below when M fits its targets exactly. Values are
 * clamped to [IAMP_CONT_EPS, 1 - IAMP_CONT_EPS] before the logit, so the
 * targets 0 and 1 (impossible and certain events) are read as 0.001 and
 * 0.999.
 *
 * The entropy bonus of reinforce uses the entropy of z (log sigma + const):
 * the differential entropy of y itself is not invariant under the logit,
 * and what the bonus needs is a push toward a wider sampling distribution.
 * Pure functions; any thread.
 */
#ifndef IAMP_CONTDIST_H
#define IAMP_CONTDIST_H

#include "common/rng.h"

#define IAMP_CONT_SIGMA_MIN 0.05 /* floor of sigma, in logit units */
#define IAMP_CONT_EPS 1e-3       /* values are clamped to [eps, 1 - eps] */

struct iamp_cont {
    double mu, sigma;
};

/* The distribution from the head's two raw outputs. */
void iamp_cont_from_raw(const float *raw, struct iamp_cont *d);
/* logit(y) after the clamp. */
double iamp_cont_logit(double y);
/* log p(y) on [0, 1] (the Jacobian of the logit included). */
double iamp_cont_logdensity(const struct iamp_cont *d, double y);
/* d log p(y) / d raw into g[0..2). */
void iamp_cont_logdensity_grad(const float *raw, double y, double *g);
/* The point answer: the median sigmoid(mu). */
double iamp_cont_median(const struct iamp_cont *d);
/* A draw with sigma scaled by temperature. */
double iamp_cont_sample(const struct iamp_cont *d, double temperature, struct iamp_rng *r);
/* Entropy of the logit z, and d/d raw. */
double iamp_cont_entropy(const struct iamp_cont *d);
void iamp_cont_entropy_grad(const float *raw, double *g);
/* KL(p || q), and d/d raw_p. */
double iamp_cont_kl(const struct iamp_cont *p, const struct iamp_cont *q);
void iamp_cont_kl_grad(const float *raw_p, const float *raw_q, double *g);

#endif
