/* sched.h — which job the executor runs a slice of next.
 *
 * Start-time fair queueing over executor time: every job carries a virtual
 * time, the executor seconds it has been charged, and the job with the
 * least goes next (ties: the older job). A job that arrives, or becomes
 * eligible after waiting, starts at the virtual time of the slice in
 * service, so it neither jumps ahead of jobs that have waited nor falls
 * behind by the time it was not there. Equal shares of executor time go to
 * every job that has work: with one training job and k answer jobs, each
 * gets 1/(k+1) of the executor.
 *
 * Exclusive jobs (training: they change the one served model) run one at a
 * time, in id order; the others wait ineligible.
 *
 * Plain data structure; the executor locks around it.
 */
#ifndef IAMP_SCHED_H
#define IAMP_SCHED_H

#include "common/error.h"

#include <stdint.h>

struct iamp_sched_entry {
    uint64_t id;   /* job id */
    int exclusive; /* runs alone among exclusive entries, oldest first */
    double vtime;  /* virtual start time, seconds */
    int index;     /* position in the scheduler; -1 when not in it */
};

struct iamp_sched {
    struct iamp_sched_entry **e;
    int n, cap;
    double vnow; /* virtual time of the slice in service */
};

void iamp_sched_init(struct iamp_sched *s);
void iamp_sched_release(struct iamp_sched *s);
/* Add e (not owned) at the current virtual time. */
IAMP_WUR int iamp_sched_add(struct iamp_sched *s, struct iamp_sched_entry *e);
void iamp_sched_remove(struct iamp_sched *s, struct iamp_sched_entry *e);
/* The entry to run next, or NULL when empty. Advances virtual time. */
struct iamp_sched_entry *iamp_sched_pick(struct iamp_sched *s);
/* Charge e for a slice of `seconds` of executor time. */
void iamp_sched_charge(struct iamp_sched *s, struct iamp_sched_entry *e, double seconds);

#endif
