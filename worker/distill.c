/* distill.c — see distill.h. The value head is trained on the row of each
 * example's first answer token (the question alone is the state). */
#include "worker/distill.h"

#include <stdlib.h>
#include <string.h>

void iamp_distill_work_init(struct iamp_distill_work *w)
{
    memset(w, 0, sizeof(*w));
    iamp_rows_init(&w->rows);
}

void iamp_distill_work_release(struct iamp_distill_work *w)
{
    iamp_rows_release(&w->rows);
    free(w->row_weight);
    free(w->dlogits);
    free(w->dvalues);
    memset(w, 0, sizeof(*w));
}

static int reserve(struct iamp_distill_work *w, int rows, int vocab)
{
    if ((size_t)rows <= w->cap_rows)
        return 0;
    size_t cap = (size_t)rows;
    float *rw = realloc(w->row_weight, cap * sizeof(float));
    if (rw)
        w->row_weight = rw;
    float *dl = realloc(w->dlogits, cap * (size_t)vocab * sizeof(float));
    if (dl)
        w->dlogits = dl;
    float *dv = realloc(w->dvalues, cap * sizeof(float));
    if (dv)
        w->dvalues = dv;
    if (!rw || !dl || !dv)
        return IAMP_ENOMEM;
    w->cap_rows = cap;
    return 0;
}

static int build_rows(struct iamp_model *m, const struct iamp_task *t,
                      const struct iamp_example *ex, int n, struct iamp_distill_work *w)
{
    enum { CHUNK = 256 };
    struct iamp_question q[CHUNK];
    struct iamp_answer a[CHUNK];
    w->rows.n = 0;
    for (int i = 0; i < n;) {
        int c = 0, first_row = w->rows.n;
        for (; c < CHUNK && i + c < n; c++) {
            q[c] = ex[i + c].q;
            a[c] = ex[i + c].a;
        }
        int rc = iamp_rows_teacher(&w->rows, m, t, q, a, c);
        if (rc)
            return rc;
        for (int r = first_row; r < w->rows.n; r++)
            w->rows.example[r] += i; /* chunk-local -> batch index */
        i += c;
    }
    return reserve(w, w->rows.n, m->cfg.vocab);
}

int iamp_distill_grad(struct iamp_model *m, const struct iamp_task *t,
                      const struct iamp_example *ex, int n, float scale,
                      const struct iamp_distill_opts *o, struct iamp_distill_work *w,
                      struct iamp_distill_stats *st, iamp_grad_ready_cb ready, void *ctx)
{
    memset(st, 0, sizeof(*st));
    int rc = build_rows(m, t, ex, n, w);
    if (!rc)
        rc = iamp_model_forward(m, w->rows.in, w->rows.n);
    if (rc)
        return rc;
    int R = w->rows.n, any_value = 0;
    for (int r = 0; r < R; r++)
        w->row_weight[r] = ex[w->rows.example[r]].weight;
    st->policy_loss = iamp_loss_xent(m, &w->rows, w->row_weight, scale, w->dlogits);
    memset(w->dvalues, 0, (size_t)R * sizeof(float));
    for (int r = 0; r < R; r++) {
        const struct iamp_example *e = &ex[w->rows.example[r]];
        if (isnan(e->value_target) || (r > 0 && w->rows.example[r - 1] == w->rows.example[r]))
            continue; /* one value row per example: its first answer token */
        double err = (double)m->values[r] - e->value_target;
        st->value_loss += scale * o->value_coef * err * err;
        w->dvalues[r] = (float)(2.0 * scale * o->value_coef * err);
        any_value = 1;
    }
    iamp_model_backward(m, w->dlogits, any_value ? w->dvalues : NULL, ready, ctx);
    st->loss = st->policy_loss + st->value_loss;
    st->rows = R;
    return 0;
}
