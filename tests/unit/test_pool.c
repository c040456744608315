/* test_pool.c — the thread pool: every task runs exactly once whatever
 * the thread count, runs return only when every task is done, nested runs
 * and a second caller run inline, and results written per task and
 * combined in task order do not depend on the threads. */
#include "common/pool.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define TASKS 97

struct count_job {
    atomic_int runs[TASKS];
    atomic_int threads_seen[IAMP_THREADS_MAX];
    int bad_thread;
};

static void count_cb(void *ctx, int task, int thread)
{
    struct count_job *j = ctx;
    atomic_fetch_add(&j->runs[task], 1);
    if (thread < 0 || thread >= IAMP_THREADS_MAX)
        j->bad_thread = 1;
    else
        atomic_fetch_add(&j->threads_seen[thread], 1);
}

Test(pool, runs_every_task_once_for_every_thread_count, .timeout = 30)
{
    for (int threads = 1; threads <= 4; threads++) {
        struct iamp_pool *p;
        cr_assert_eq(iamp_pool_new(&p, threads), 0);
        cr_assert_eq(iamp_pool_threads(p), threads);
        for (int rep = 0; rep < 200; rep++) {
            struct count_job j;
            memset(&j, 0, sizeof(j));
            int n = 1 + rep % TASKS;
            iamp_pool_run(p, n, count_cb, &j);
            /* Returned: every task has run, exactly once. */
            for (int t = 0; t < TASKS; t++)
                cr_assert_eq(atomic_load(&j.runs[t]), t < n, "threads %d, n %d, task %d ran %d",
                             threads, n, t, atomic_load(&j.runs[t]));
            cr_assert_not(j.bad_thread);
            for (int t = threads; t < IAMP_THREADS_MAX; t++)
                cr_assert_eq(atomic_load(&j.threads_seen[t]), 0, "thread %d of %d", t, threads);
        }
        iamp_pool_free(p);
    }
}

Test(pool, rejects_bad_sizes_and_runs_without_a_pool, .timeout = 10)
{
    struct iamp_pool *p = (struct iamp_pool *)&p;
    cr_assert_eq(iamp_pool_new(&p, 0), IAMP_EINVAL);
    cr_assert_null(p);
    cr_assert_eq(iamp_pool_new(&p, IAMP_THREADS_MAX + 1), IAMP_EINVAL);
    cr_assert_eq(iamp_pool_threads(NULL), 1);
    struct count_job j;
    memset(&j, 0, sizeof(j));
    iamp_pool_run(NULL, 5, count_cb, &j);
    for (int t = 0; t < 5; t++)
        cr_assert_eq(atomic_load(&j.runs[t]), 1);
    cr_assert_eq(atomic_load(&j.threads_seen[0]), 5, "all on the caller");
    iamp_pool_free(NULL);
    cr_assert_gt(iamp_cores_available(), 0);
}

/* Each task sums its own slice in a fixed order; the total adds the
 * slices in task order: the bits cannot depend on who ran what. */
#define SLICES 16
#define PER 1000

struct sum_job {
    const float *x;
    double part[SLICES];
};

static void sum_cb(void *ctx, int task, int thread)
{
    struct sum_job *j = ctx;
    (void)thread;
    double s = 0.0;
    for (int i = 0; i < PER; i++)
        s += (double)j->x[task * PER + i] * 1.000001;
    j->part[task] = s;
}

Test(pool, per_task_outputs_combined_in_order_do_not_depend_on_threads, .timeout = 30)
{
    static float x[SLICES * PER];
    for (int i = 0; i < SLICES * PER; i++)
        x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    double want = 0.0;
    for (int threads = 1; threads <= 3; threads++) {
        struct iamp_pool *p;
        cr_assert_eq(iamp_pool_new(&p, threads), 0);
        for (int rep = 0; rep < 20; rep++) {
            struct sum_job j = {x, {0}};
            iamp_pool_run(p, SLICES, sum_cb, &j);
            double total = 0.0;
            for (int t = 0; t < SLICES; t++)
                total += j.part[t];
            if (threads == 1 && rep == 0)
                want = total;
            cr_assert(memcmp(&total, &want, sizeof(total)) == 0, "threads %d: %.17g vs %.17g",
                      threads, total, want);
        }
        iamp_pool_free(p);
    }
}

struct nest_job {
    struct iamp_pool *p;
    struct count_job inner[4];
};

static void nest_cb(void *ctx, int task, int thread)
{
    struct nest_job *j = ctx;
    (void)thread;
    iamp_pool_run(j->p, 3, count_cb, &j->inner[task]); /* inline, on this thread */
}

Test(pool, a_run_inside_a_task_runs_inline, .timeout = 10)
{
    struct iamp_pool *p;
    cr_assert_eq(iamp_pool_new(&p, 2), 0);
    struct nest_job j;
    memset(&j, 0, sizeof(j));
    j.p = p;
    iamp_pool_run(p, 4, nest_cb, &j);
    for (int k = 0; k < 4; k++)
        for (int t = 0; t < 3; t++)
            cr_assert_eq(atomic_load(&j.inner[k].runs[t]), 1, "outer %d inner %d", k, t);
    iamp_pool_free(p);
}

struct caller_arg {
    struct iamp_pool *p;
    long done;
};

static void *second_caller(void *arg)
{
    struct caller_arg *a = arg;
    for (int rep = 0; rep < 300; rep++) {
        struct count_job j;
        memset(&j, 0, sizeof(j));
        iamp_pool_run(a->p, 7, count_cb, &j);
        int ok = 1;
        for (int t = 0; t < 7; t++)
            ok &= atomic_load(&j.runs[t]) == 1;
        a->done += ok;
    }
    return NULL;
}

Test(pool, two_callers_at_once_each_get_every_task_once, .timeout = 30)
{
    struct iamp_pool *p;
    cr_assert_eq(iamp_pool_new(&p, 2), 0);
    struct caller_arg a = {p, 0}, b = {p, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, second_caller, &a), 0);
    second_caller(&b);
    pthread_join(t, NULL);
    cr_assert_eq(a.done, 300);
    cr_assert_eq(b.done, 300);
    iamp_pool_free(p);
}
