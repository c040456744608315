/* test_sched.c — the executor's scheduler: least executor time first,
 * newcomers at the current virtual time, exclusive (training) jobs one at
 * a time, and equal shares of time whatever each job's slice length. */
#include "coordinator/serve/sched.h"

#include <criterion/criterion.h>
#include <math.h>

static struct iamp_sched_entry entry(uint64_t id, int exclusive)
{
    return (struct iamp_sched_entry){id, exclusive, 0.0, -1};
}

Test(sched, picks_the_job_with_least_time)
{
    struct iamp_sched s;
    struct iamp_sched_entry a = entry(1, 0), b = entry(2, 0);
    iamp_sched_init(&s);
    cr_assert_eq(iamp_sched_add(&s, &a), 0);
    cr_assert_eq(iamp_sched_add(&s, &b), 0);
    cr_assert_eq(iamp_sched_pick(&s), &a, "ties go to the older job");
    iamp_sched_charge(&s, &a, 0.5);
    cr_assert_eq(iamp_sched_pick(&s), &b);
    iamp_sched_charge(&s, &b, 0.2);
    cr_assert_eq(iamp_sched_pick(&s), &b);
    iamp_sched_release(&s);
}

Test(sched, a_newcomer_starts_at_the_current_virtual_time)
{
    struct iamp_sched s;
    struct iamp_sched_entry a = entry(1, 0), b = entry(2, 0);
    iamp_sched_init(&s);
    cr_assert_eq(iamp_sched_add(&s, &a), 0);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(iamp_sched_pick(&s), &a);
        iamp_sched_charge(&s, &a, 1.0);
    }
    cr_assert_eq(iamp_sched_pick(&s), &a);
    cr_assert_eq(iamp_sched_add(&s, &b), 0);
    cr_assert_float_eq(b.vtime, 10.0, 1e-9, "no credit for time it was not there");
    iamp_sched_charge(&s, &a, 1.0);
    cr_assert_eq(iamp_sched_pick(&s), &b, "but it runs next");
    iamp_sched_release(&s);
}

Test(sched, runs_exclusive_jobs_one_at_a_time_oldest_first)
{
    struct iamp_sched s;
    struct iamp_sched_entry t2 = entry(2, 1), t1 = entry(1, 1), a = entry(3, 0);
    iamp_sched_init(&s);
    cr_assert_eq(iamp_sched_add(&s, &t2), 0);
    cr_assert_eq(iamp_sched_add(&s, &t1), 0);
    cr_assert_eq(iamp_sched_add(&s, &a), 0);
    for (int i = 0; i < 20; i++) {
        struct iamp_sched_entry *e = iamp_sched_pick(&s);
        cr_assert_neq(e, &t2, "the younger training job waits");
        iamp_sched_charge(&s, e, 1.0);
    }
    iamp_sched_remove(&s, &t1);
    cr_assert_eq(iamp_sched_pick(&s), &t2);
    cr_assert_geq(t2.vtime, 9.0, "waiting earned no credit");
    iamp_sched_release(&s);
}

Test(sched, shares_time_equally_whatever_the_slice_lengths)
{
    struct iamp_sched s;
    struct iamp_sched_entry e[4] = {entry(1, 1), entry(2, 0), entry(3, 0), entry(4, 0)};
    const double slice[4] = {0.300, 0.010, 0.020, 0.005}; /* a training round, answer slices */
    double used[4] = {0};
    iamp_sched_init(&s);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(iamp_sched_add(&s, &e[i]), 0);
    for (double t = 0; t < 60.0;) {
        struct iamp_sched_entry *p = iamp_sched_pick(&s);
        int k = (int)(p - e);
        iamp_sched_charge(&s, p, slice[k]);
        used[k] += slice[k];
        t += slice[k];
    }
    for (int i = 0; i < 4; i++)
        cr_assert(fabs(used[i] - 15.0) < 0.5, "job %d got %.2f s of 60", i + 1, used[i]);
    iamp_sched_release(&s);
}
