/* evaluate.c — see evaluate.h. */
#include "coordinator/train/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_head(const struct iamp_task *t, const struct iamp_question *q)
{
    return t->headline_type < 0 || q->type == t->headline_type;
}

int iamp_eval_set_init(struct iamp_eval_set *ev, const struct iamp_task *t, int size,
                       uint64_t eval_seed)
{
    memset(ev, 0, sizeof(*ev));
    if (size <= 0)
        size = t->eval_size;
    if (size < 1)
        return IAMP_EINVAL;
    ev->qs = calloc((size_t)size, sizeof(*ev->qs));
    ev->buf = calloc((size_t)size, sizeof(*ev->buf));
    ev->head = calloc((size_t)size, sizeof(*ev->head));
    int n_ctx = iamp_task_contexts_for(t, size);
    ev->ctx = n_ctx ? calloc((size_t)n_ctx, sizeof(*ev->ctx)) : NULL;
    if (!ev->qs || !ev->buf || !ev->head || (n_ctx && !ev->ctx)) {
        iamp_eval_set_release(ev);
        return IAMP_ENOMEM;
    }
    struct iamp_rng r;
    iamp_rng_seed(&r, eval_seed, 0x6576616c /* "eval" */);
    if (n_ctx) {
        iamp_task_sample_roots(t, &r, 0, size, ev->ctx, ev->qs);
        ev->n = size;
    } else {
        ev->n = t->ops->eval_set(t, &r, ev->qs, size);
    }
    for (int i = 0; i < ev->n; i++)
        if (is_head(t, &ev->qs[i]))
            ev->head[ev->n_head++] = ev->qs[i];
    return ev->n > 0 && ev->n_head > 0 ? 0 : IAMP_EINVAL;
}

void iamp_eval_set_release(struct iamp_eval_set *ev)
{
    free(ev->qs);
    free(ev->buf);
    free(ev->head);
    free(ev->ctx);
    memset(ev, 0, sizeof(*ev));
}

/* Means of the task's metrics over the answers in ev->buf. */
static void task_metrics(const struct iamp_task *t, const struct iamp_question *qs, int n,
                         const struct iamp_answer *as, double *out)
{
    double sum[IAMP_METRICS_MAX] = {0}, v[IAMP_METRICS_MAX];
    long cnt[IAMP_METRICS_MAX] = {0};
    for (int i = 0; i < n && t->n_metrics > 0; i++) {
        for (int k = 0; k < t->n_metrics; k++)
            v[k] = NAN;
        iamp_task_metrics(t, &qs[i], &as[i], v);
        for (int k = 0; k < t->n_metrics; k++)
            if (!isnan(v[k])) {
                sum[k] += v[k];
                cnt[k]++;
            }
    }
    for (int k = 0; k < t->n_metrics; k++)
        out[k] = cnt[k] ? sum[k] / (double)cnt[k] : NAN;
}

int iamp_eval_accuracy(struct iamp_session *s, struct iamp_eval_set *ev, int depth,
                       double *accuracy, double *per_type, double *metrics)
{
    const struct iamp_question *qs = depth == 0 ? ev->qs : ev->head;
    int n = depth == 0 ? ev->n : ev->n_head;
    int rc = depth == 0 ? iamp_session_answer(s, qs, n, ev->buf)
                        : iamp_session_amplify(s, qs, n, depth, ev->buf);
    if (rc)
        return rc;
    long right[IAMP_TYPES_MAX] = {0}, total[IAMP_TYPES_MAX] = {0}, head_right = 0;
    for (int i = 0; i < n; i++) {
        int ty = qs[i].type < IAMP_TYPES_MAX ? qs[i].type : 0;
        int ok = iamp_task_correct(&s->task, &qs[i], &ev->buf[i]);
        right[ty] += ok;
        total[ty]++;
        head_right += ok && is_head(&s->task, &qs[i]);
    }
    *accuracy = (double)head_right / ev->n_head;
    if (metrics)
        task_metrics(&s->task, qs, n, ev->buf, metrics);
    for (int ty = 0; per_type && ty < s->task.n_types; ty++)
        per_type[ty] = total[ty] ? (double)right[ty] / (double)total[ty] : NAN;
    return 0;
}
