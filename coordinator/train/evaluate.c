/* evaluate.c — see evaluate.h. */
#include "coordinator/train/evaluate.h"

#include "worker/engine.h"

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
    free(ev->depth);
    free(ev->head_depth);
    memset(ev, 0, sizeof(*ev));
}

/* ---------------------------------------------------------- depths */

/* H alone: a leaf means the tree needs M. */
static int no_model_cb(void *ctx, const struct iamp_question *qs, const int *depth, int n,
                       struct iamp_answer *out)
{
    (void)ctx, (void)qs, (void)depth, (void)n, (void)out;
    return IAMP_ELIMIT;
}

/* The roots' heights from a traced run: every node comes after its
 * parent, so walking back finishes each node before it reaches its
 * parent. */
static int heights_cb(void *ctx, const struct iamp_trace_node *nodes, long n, int n_roots)
{
    int *depth = ctx;
    int *h = calloc((size_t)n, sizeof(int));
    if (!h)
        return IAMP_ENOMEM;
    for (long i = n - 1; i >= n_roots; i--) {
        long p = nodes[i].parent;
        if (h[p] < h[i] + 1)
            h[p] = h[i] + 1;
    }
    memcpy(depth, h, (size_t)n_roots * sizeof(int));
    free(h);
    return 0;
}

/* Questions per engine run: a task whose H needs M fails on its first
 * chunk, after at most this many questions' worth of nodes. */
#define DEPTH_CHUNK 64

int iamp_eval_depths(const struct iamp_task *t, const struct iamp_question *qs, int n, int *depth)
{
    struct iamp_engine e;
    struct iamp_answer *out = malloc(DEPTH_CHUNK * sizeof(*out));
    int rc = out ? 0 : IAMP_ENOMEM;
    iamp_engine_init(&e, t);
    e.max_nodes = (long)DEPTH_CHUNK * IAMP_EVAL_DEPTH_NODES;
    for (int i = 0; !rc && i < n; i += DEPTH_CHUNK) {
        int m = n - i < DEPTH_CHUNK ? n - i : DEPTH_CHUNK;
        e.trace_cb = heights_cb;
        e.trace_ctx = depth + i;
        rc = iamp_engine_run(&e, qs + i, m, IAMP_EVAL_DEPTHS - 1, no_model_cb, NULL, out);
    }
    iamp_engine_release(&e);
    free(out);
    return rc;
}

int iamp_eval_set_depths(struct iamp_eval_set *ev, const struct iamp_task *t)
{
    if (ev->depth)
        return 0;
    int *hd = malloc((size_t)ev->n_head * sizeof(int));
    int *d = malloc((size_t)ev->n * sizeof(int));
    int rc = hd && d ? iamp_eval_depths(t, ev->head, ev->n_head, hd) : IAMP_ENOMEM;
    if (!rc) {
        for (int i = 0, k = 0; i < ev->n; i++)
            d[i] = is_head(t, &ev->qs[i]) ? hd[k++] : -1;
        for (int k = 0; k < ev->n_head; k++)
            ev->depths |= 1u << hd[k];
        ev->depth = d;
        ev->head_depth = hd;
        return 0;
    }
    free(hd);
    free(d);
    return rc == IAMP_ELIMIT ? 0 : rc; /* H needs M: no depths */
}

/* ---------------------------------------------------------- accuracy */

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
                       double *accuracy, double *per_type, double *metrics, double *by_depth)
{
    const struct iamp_question *qs = depth == 0 ? ev->qs : ev->head;
    const int *dq = depth == 0 ? ev->depth : ev->head_depth; /* NULL: none known */
    int n = depth == 0 ? ev->n : ev->n_head;
    int rc = depth == 0 ? iamp_session_answer(s, qs, n, ev->buf)
                        : iamp_session_amplify(s, qs, n, depth, ev->buf);
    if (rc)
        return rc;
    long right[IAMP_TYPES_MAX] = {0}, total[IAMP_TYPES_MAX] = {0}, head_right = 0;
    long d_right[IAMP_EVAL_DEPTHS] = {0}, d_total[IAMP_EVAL_DEPTHS] = {0};
    for (int i = 0; i < n; i++) {
        int ty = qs[i].type < IAMP_TYPES_MAX ? qs[i].type : 0;
        int ok = iamp_task_correct(&s->task, &qs[i], &ev->buf[i]);
        right[ty] += ok;
        total[ty]++;
        head_right += ok && is_head(&s->task, &qs[i]);
        if (dq && dq[i] >= 0) {
            d_right[dq[i]] += ok;
            d_total[dq[i]]++;
        }
    }
    *accuracy = (double)head_right / ev->n_head;
    if (metrics)
        task_metrics(&s->task, qs, n, ev->buf, metrics);
    for (int ty = 0; per_type && ty < s->task.n_types; ty++)
        per_type[ty] = total[ty] ? (double)right[ty] / (double)total[ty] : NAN;
    for (int d = 0; by_depth && d < IAMP_EVAL_DEPTHS; d++)
        by_depth[d] = d_total[d] ? (double)d_right[d] / (double)d_total[d] : NAN;
    return 0;
}
