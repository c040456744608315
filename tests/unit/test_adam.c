/* test_adam.c — Adam against a double-precision reference, and global-norm
 * clipping. */
#include "worker/adam.h"

#include <criterion/criterion.h>
#include <math.h>

Test(adam, matches_reference_over_several_steps, .timeout = 10)
{
    enum { N = 5 };
    struct iamp_adam a;
    cr_assert_eq(iamp_adam_init(&a, N, 0.01f), 0);
    a.clip_norm = 0.0f;
    float p[N] = {1, -2, 0.5f, 3, 0};
    double rp[N], m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++)
        rp[i] = p[i];
    for (int t = 1; t <= 4; t++) {
        float g[N];
        for (int i = 0; i < N; i++)
            g[i] = (float)(0.1 * (i + 1) * (t % 2 ? 1 : -0.5));
        double b1 = 0.9, b2 = 0.999;
        for (int i = 0; i < N; i++) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
            rp[i] -= 0.01 * mh / (sqrt(vh) + 1e-8);
        }
        iamp_adam_step(&a, p, g);
    }
    for (int i = 0; i < N; i++)
        cr_assert_float_eq(p[i], rp[i], 1e-5, "param %d: %g vs %g", i, p[i], rp[i]);
    cr_assert_eq(a.t, 4);
    iamp_adam_release(&a);
}

Test(adam, clips_global_norm_and_reports_it, .timeout = 10)
{
    struct iamp_adam a;
    cr_assert_eq(iamp_adam_init(&a, 2, 0.1f), 0);
    a.clip_norm = 1.0f;
    float p[2] = {0, 0}, g[2] = {30, 40};
    double norm = iamp_adam_step(&a, p, g);
    cr_assert_float_eq(norm, 50.0, 1e-9);
    /* The first moment saw the clipped gradient (0.6, 0.8). */
    cr_assert_float_eq(a.m[0], 0.1 * 0.6, 1e-6, "gradient scaled to norm 1");
    cr_assert_float_eq(a.m[1], 0.1 * 0.8, 1e-6);
    cr_assert_eq(g[0], 30.0f, "the caller's gradient is left alone");
    iamp_adam_reset(&a);
    cr_assert_eq(a.t, 0);
    cr_assert_eq(a.m[0], 0.0f);
    iamp_adam_release(&a);
}
