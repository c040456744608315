/* evaluate.c — see evaluate.h. */
#include "coordinator/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int iamp_eval_set_init(struct iamp_eval_set *ev, const struct iamp_task *t, int size,
                       uint64_t eval_seed)
{
    memset(ev, 0, sizeof(*ev));
    if (size < 1)
        return IAMP_EINVAL;
    ev->qs = calloc((size_t)size, sizeof(*ev->qs));
    ev->buf = calloc((size_t)size, sizeof(*ev->buf));
    if (!ev->qs || !ev->buf) {
        iamp_eval_set_release(ev);
        return IAMP_ENOMEM;
    }
    struct iamp_rng r;
    iamp_rng_seed(&r, eval_seed, 0x6576616c /* "eval" */);
    ev->n = t->ops->eval_set(t, &r, ev->qs, size);
    return ev->n > 0 ? 0 : IAMP_EINVAL;
}

void iamp_eval_set_release(struct iamp_eval_set *ev)
{
    free(ev->qs);
    free(ev->buf);
    memset(ev, 0, sizeof(*ev));
}

int iamp_eval_accuracy(struct iamp_session *s, struct iamp_eval_set *ev, int depth,
                       double *accuracy, double *per_type)
{
    int rc = depth == 0 ? iamp_session_answer(s, ev->qs, ev->n, ev->buf)
                        : iamp_session_amplify(s, ev->qs, ev->n, depth, ev->buf);
    if (rc)
        return rc;
    long right[IAMP_TYPES_MAX] = {0}, total[IAMP_TYPES_MAX] = {0}, all = 0;
    for (int i = 0; i < ev->n; i++) {
        int ty = ev->qs[i].type < IAMP_TYPES_MAX ? ev->qs[i].type : 0;
        int ok = iamp_task_correct(&s->task, &ev->qs[i], &ev->buf[i]);
        right[ty] += ok;
        total[ty]++;
        all += ok;
    }
    *accuracy = (double)all / ev->n;
    for (int ty = 0; per_type && ty < s->task.n_types; ty++)
        per_type[ty] = total[ty] ? (double)right[ty] / (double)total[ty] : NAN;
    return 0;
}
