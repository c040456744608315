/* test_adam.c — Adam against a double-precision reference, global-norm
 * clipping, a step on a pool and on summed buffers against one thread's,
 * and subnormal moments flushed. */
#include "worker/adam.h"

#include "common/fpenv.h"
#include "common/pool.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

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

Test(adam, step_on_a_pool_and_summed_buffers_match_one_thread_bit_for_bit, .timeout = 30)
{
    /* More than one chunk, not a multiple of it. */
    enum { N = 3 * IAMP_ADAM_CHUNK + 123 };
    static float p1[N], p2[N], g1[N], g2[N], extra[N];
    struct iamp_adam a1, a2;
    cr_assert_eq(iamp_adam_init(&a1, N, 0.01f), 0);
    cr_assert_eq(iamp_adam_init(&a2, N, 0.01f), 0);
    struct iamp_pool *pool;
    cr_assert_eq(iamp_pool_new(&pool, 3), 0);
    for (int t = 0; t < 5; t++) {
        for (int i = 0; i < N; i++) {
            float x = (float)sin(0.37 * i + t), y = (float)cos(0.11 * i - t);
            g1[i] = x + y; /* one buffer: the sum already made */
            g2[i] = x;
            extra[i] = y;
        }
        const float *add[1] = {extra};
        double n1 = iamp_adam_step(&a1, p1, g1);
        double n2 = iamp_adam_step_on(&a2, p2, g2, add, 1, pool);
        cr_assert(memcmp(&n1, &n2, sizeof(n1)) == 0, "norms %.17g vs %.17g", n1, n2);
    }
    cr_assert_eq(memcmp(p1, p2, sizeof(p1)), 0, "parameters bit-identical");
    cr_assert_eq(memcmp(a1.v, a2.v, N * sizeof(float)), 0, "second moments bit-identical");
    iamp_pool_free(pool);
    iamp_adam_release(&a1);
    iamp_adam_release(&a2);
}

Test(adam, flushes_subnormal_moments_when_the_thread_does, .timeout = 10)
{
    /* A parameter that stops receiving gradient: its first moment decays
     * by beta1 each step into the subnormal range, where arithmetic is two
     * orders of magnitude slower; with the process's environment
     * (iamp_fpenv_init) it becomes exactly zero instead. */
    iamp_fpenv_init();
    if (!iamp_fpenv_flushes())
        cr_skip_test("no flush-to-zero mode on this architecture");
    struct iamp_adam a;
    cr_assert_eq(iamp_adam_init(&a, 1, 0.01f), 0);
    float p[1] = {0}, g[1] = {1.0f}, zero[1] = {0};
    iamp_adam_step(&a, p, g);
    for (int t = 0; t < 900; t++)
        iamp_adam_step(&a, p, zero);
    cr_assert(a.m[0] == 0.0f || fabsf(a.m[0]) >= FLT_MIN, "m = %g is subnormal", a.m[0]);
    iamp_adam_release(&a);
}
