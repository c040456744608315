/* test_contdist.c — the logistic-normal of the continuous head: the
 * log-density integrates to one over [0, 1], its gradient and those of the
 * entropy and KL terms match central finite differences in the raw
 * outputs, KL is zero against itself and positive otherwise, the median
 * is sigmoid(mu), samples fall on each side of it half of the time with
 * the logit's spread sigma, and the clamp keeps 0 and 1 finite. */
#include "worker/model/contdist.h"

#include <criterion/criterion.h>
#include <math.h>

static const float raws[][2] = {{0.0f, 0.0f}, {-2.5f, -1.0f}, {1.7f, 0.8f}, {4.0f, -3.0f}};
#define N_RAWS (sizeof(raws) / sizeof(raws[0]))

Test(contdist, density_integrates_to_one, .timeout = 10)
{
    for (size_t i = 0; i < N_RAWS; i++) {
        struct iamp_cont d;
        iamp_cont_from_raw(raws[i], &d);
        /* Integrate in logit space (z from -40 to 40), where y = sigmoid(z)
         * and dy = y (1 - y) dz. */
        double sum = 0.0, h = 1e-3;
        for (double z = d.mu - 12 * d.sigma; z < d.mu + 12 * d.sigma; z += h) {
            double y = 1.0 / (1.0 + exp(-z));
            if (y <= IAMP_CONT_EPS || y >= 1.0 - IAMP_CONT_EPS)
                continue; /* the clamp's region (outside every raw here) */
            sum += exp(iamp_cont_logdensity(&d, y)) * y * (1.0 - y) * h;
        }
        cr_assert_float_eq(sum, 1.0, 2e-3, "raw %zu: integral %g", i, sum);
    }
}

typedef double (*scalar_fn)(const float *raw, const float *ref, double y);

static double logdensity_of(const float *raw, const float *ref, double y)
{
    struct iamp_cont d;
    (void)ref;
    iamp_cont_from_raw(raw, &d);
    return iamp_cont_logdensity(&d, y);
}

static double entropy_of(const float *raw, const float *ref, double y)
{
    struct iamp_cont d;
    (void)ref;
    (void)y;
    iamp_cont_from_raw(raw, &d);
    return iamp_cont_entropy(&d);
}

static double kl_of(const float *raw, const float *ref, double y)
{
    struct iamp_cont p, q;
    (void)y;
    iamp_cont_from_raw(raw, &p);
    iamp_cont_from_raw(ref, &q);
    return iamp_cont_kl(&p, &q);
}

/* Central differences (in double, through float raws) against g. */
static void check_grad(scalar_fn f, const float *raw, const float *ref, double y, const double *g,
                       const char *what)
{
    for (int k = 0; k < 2; k++) {
        float p[2] = {raw[0], raw[1]}, m[2] = {raw[0], raw[1]};
        const float eps = 1e-2f;
        p[k] += eps;
        m[k] -= eps;
        double num = (f(p, ref, y) - f(m, ref, y)) / (double)(p[k] - m[k]);
        cr_assert(fabs(num - g[k]) <= 1e-3 + 2e-3 * fabs(num), "%s d/draw[%d]: %g vs %g", what, k,
                  g[k], num);
    }
}

Test(contdist, gradients_match_finite_differences, .timeout = 10)
{
    static const double ys[] = {0.0, 0.0005, 0.03, 0.5, 0.9, 1.0};
    for (size_t i = 0; i < N_RAWS; i++) {
        double g[2];
        for (size_t j = 0; j < sizeof(ys) / sizeof(ys[0]); j++) {
            iamp_cont_logdensity_grad(raws[i], ys[j], g);
            check_grad(logdensity_of, raws[i], NULL, ys[j], g, "log-density");
        }
        iamp_cont_entropy_grad(raws[i], g);
        check_grad(entropy_of, raws[i], NULL, 0.0, g, "entropy");
        const float *ref = raws[(i + 1) % N_RAWS];
        iamp_cont_kl_grad(raws[i], ref, g);
        check_grad(kl_of, raws[i], ref, 0.0, g, "kl");
    }
}

Test(contdist, kl_is_zero_against_itself_and_positive_otherwise, .timeout = 10)
{
    for (size_t i = 0; i < N_RAWS; i++) {
        struct iamp_cont p, q;
        iamp_cont_from_raw(raws[i], &p);
        cr_assert_float_eq(iamp_cont_kl(&p, &p), 0.0, 1e-12);
        iamp_cont_from_raw(raws[(i + 1) % N_RAWS], &q);
        cr_assert_gt(iamp_cont_kl(&p, &q), 0.0);
    }
}

Test(contdist, sigma_has_its_floor_and_the_clamp_keeps_ends_finite, .timeout = 10)
{
    const float raw[2] = {0.0f, -40.0f};
    struct iamp_cont d;
    iamp_cont_from_raw(raw, &d);
    cr_assert_float_eq(d.sigma, IAMP_CONT_SIGMA_MIN, 1e-9);
    cr_assert(isfinite(iamp_cont_logdensity(&d, 0.0)));
    cr_assert(isfinite(iamp_cont_logdensity(&d, 1.0)));
    cr_assert(isfinite(iamp_cont_logdensity(&d, NAN)));
    cr_assert_float_eq(iamp_cont_logit(0.0), iamp_cont_logit(IAMP_CONT_EPS), 1e-12);
}

Test(contdist, median_and_samples, .timeout = 10)
{
    const float raw[2] = {-1.2f, -0.3f};
    struct iamp_cont d;
    iamp_cont_from_raw(raw, &d);
    double med = iamp_cont_median(&d);
    cr_assert_float_eq(med, 1.0 / (1.0 + exp(1.2)), 1e-7);
    struct iamp_rng r;
    iamp_rng_seed(&r, 9, 0);
    enum { DRAWS = 40000 };
    int below = 0;
    double sz = 0.0, szz = 0.0;
    for (int i = 0; i < DRAWS; i++) {
        double y = iamp_cont_sample(&d, 1.0, &r), z = log(y / (1.0 - y));
        cr_assert(y > 0.0 && y < 1.0);
        below += y < med;
        sz += z;
        szz += z * z;
    }
    double mean = sz / DRAWS, sd = sqrt(szz / DRAWS - mean * mean);
    cr_assert_float_eq((double)below / DRAWS, 0.5, 0.01);
    cr_assert_float_eq(mean, d.mu, 0.02);
    cr_assert_float_eq(sd, d.sigma, 0.02);
    for (int i = 0; i < 100; i++) /* temperature scales the spread */
        cr_assert_float_eq(iamp_cont_sample(&d, 0.0, &r), med, 1e-12);
}
