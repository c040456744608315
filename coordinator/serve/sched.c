/* sched.c — see sched.h. Linear scans: the executor holds at most the
 * server's queued-job limit, and a pick happens once per slice. */
#include "coordinator/serve/sched.h"

#include <stdlib.h>

void iamp_sched_init(struct iamp_sched *s)
{
    s->e = NULL;
    s->n = s->cap = 0;
    s->vnow = 0.0;
}

void iamp_sched_release(struct iamp_sched *s)
{
    free(s->e);
    iamp_sched_init(s);
}

int iamp_sched_add(struct iamp_sched *s, struct iamp_sched_entry *e)
{
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        struct iamp_sched_entry **p = realloc(s->e, (size_t)cap * sizeof(*p));
        if (!p)
            return IAMP_ENOMEM;
        s->e = p;
        s->cap = cap;
    }
    if (e->vtime < s->vnow)
        e->vtime = s->vnow;
    e->index = s->n;
    s->e[s->n++] = e;
    return 0;
}

void iamp_sched_remove(struct iamp_sched *s, struct iamp_sched_entry *e)
{
    int i = e->index;
    if (i < 0 || i >= s->n || s->e[i] != e)
        return;
    s->e[i] = s->e[--s->n];
    s->e[i]->index = i;
    e->index = -1;
}

/* The exclusive entry allowed to run: the one with the lowest id. */
static struct iamp_sched_entry *exclusive_head(const struct iamp_sched *s)
{
    struct iamp_sched_entry *head = NULL;
    for (int i = 0; i < s->n; i++)
        if (s->e[i]->exclusive && (!head || s->e[i]->id < head->id))
            head = s->e[i];
    return head;
}

static int before(const struct iamp_sched_entry *a, const struct iamp_sched_entry *b)
{
    return a->vtime < b->vtime || (a->vtime == b->vtime && a->id < b->id);
}

struct iamp_sched_entry *iamp_sched_pick(struct iamp_sched *s)
{
    struct iamp_sched_entry *head = exclusive_head(s), *best = NULL;
    for (int i = 0; i < s->n; i++) {
        struct iamp_sched_entry *e = s->e[i];
        if (e->exclusive && e != head)
            continue;
        if (!best || before(e, best))
            best = e;
    }
    if (!best)
        return NULL;
    if (best->vtime > s->vnow)
        s->vnow = best->vtime;
    for (int i = 0; i < s->n; i++) /* waiting does not earn credit */
        if (s->e[i]->exclusive && s->e[i] != head && s->e[i]->vtime < s->vnow)
            s->e[i]->vtime = s->vnow;
    return best;
}

void iamp_sched_charge(struct iamp_sched *s, struct iamp_sched_entry *e, double seconds)
{
    (void)s;
    e->vtime += seconds > 0.0 ? seconds : 0.0;
}
