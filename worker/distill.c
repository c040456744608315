/* distill.c — see distill.h. The value head is trained on the row of each
 * example's first answer token (the question alone is the state), or with
 * prefix_baseline on every row of the answer (each prefix is a state).
 * Every term is a sum over examples times scale, which is what lets a
 * batch be split across workers. */
#include "worker/distill.h"

#include <math.h>

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
    free(w->row_entropy);
    free(w->row_kl);
    free(w->dlogits);
    free(w->dvalues);
    free(w->dcont);
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
    float *re = realloc(w->row_entropy, cap * sizeof(float));
    if (re)
        w->row_entropy = re;
    float *rk = realloc(w->row_kl, cap * sizeof(float));
    if (rk)
        w->row_kl = rk;
    float *dc = realloc(w->dcont, cap * IAMP_CONT_OUTPUTS * sizeof(float));
    if (dc)
        w->dcont = dc;
    if (!rw || !dl || !dv || !re || !rk || !dc)
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
    iamp_rows_clear(&w->rows);
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

void iamp_example_imitate(struct iamp_example *e, const struct iamp_question *q,
                          const struct iamp_answer *a, float weight)
{
    struct iamp_question qq = *q; /* q or a may point into e */
    struct iamp_answer aa = *a;
    memset(e, 0, sizeof(*e));
    e->q = qq;
    e->a = aa;
    e->weight = weight;
    e->value_target = NAN;
}

void iamp_example_reinforce(struct iamp_example *e, const struct iamp_question *q,
                            const struct iamp_answer *a, float reward, float baseline, float coef,
                            float entropy)
{
    iamp_example_imitate(e, q, a, coef * (reward - baseline));
    e->value_target = reward;
    e->entropy_weight = coef * entropy;
}

void iamp_example_reinforce_prefix(struct iamp_example *e, const struct iamp_question *q,
                                   const struct iamp_answer *a, float reward, float coef,
                                   float entropy)
{
    iamp_example_imitate(e, q, a, coef);
    e->value_target = reward;
    e->entropy_weight = coef * entropy;
    e->prefix_baseline = 1;
}

/* Per-row coefficients; returns whether any regulariser is on, or
 * IAMP_EINVAL when a KL term has no reference model. */
static int row_coefficients(const struct iamp_example *ex, const struct iamp_distill_opts *o,
                            struct iamp_distill_work *w, int *any_reg, int *any_kl)
{
    *any_reg = *any_kl = 0;
    for (int r = 0; r < w->rows.n; r++) {
        const struct iamp_example *e = &ex[w->rows.example[r]];
        w->row_weight[r] = e->weight;
        w->row_entropy[r] = e->entropy_weight;
        w->row_kl[r] = e->kl_weight;
        *any_reg |= e->entropy_weight != 0.0f || e->kl_weight != 0.0f;
        *any_kl |= e->kl_weight != 0.0f;
    }
    return *any_kl && !o->ref ? IAMP_EINVAL : 0;
}

static int per_prefix(const struct iamp_example *e)
{
    return e->prefix_baseline && !isnan(e->value_target);
}

/* Per-prefix advantages, once M's values on the rows are known. */
static void prefix_weights(const struct iamp_model *m, const struct iamp_example *ex,
                           struct iamp_distill_work *w)
{
    for (int r = 0; r < w->rows.n; r++) {
        const struct iamp_example *e = &ex[w->rows.example[r]];
        if (per_prefix(e)) {
            /* V estimates a reward in [0, 1]: a value outside it (an
             * untrained head) is no better a baseline than the bound. */
            float v = m->values[r] < 0.0f ? 0.0f : m->values[r] > 1.0f ? 1.0f : m->values[r];
            w->row_weight[r] = e->weight * (e->value_target - v);
        }
    }
}

/* The value term: per example its first answer row, or (per prefix) the
 * mean over all its rows. Rows of one example are contiguous. */
static int value_term(const struct iamp_model *m, const struct iamp_example *ex, float scale,
                      const struct iamp_distill_opts *o, struct iamp_distill_work *w,
                      struct iamp_distill_stats *st)
{
    int any_value = 0, n = w->rows.n;
    memset(w->dvalues, 0, (size_t)n * sizeof(float));
    for (int r = 0, end; r < n; r = end) {
        const struct iamp_example *e = &ex[w->rows.example[r]];
        for (end = r + 1; end < n && w->rows.example[end] == w->rows.example[r]; end++)
            ;
        if (isnan(e->value_target))
            continue;
        int last = per_prefix(e) ? end : r + 1;
        double c = 1.0 / (double)(last - r);
        for (int k = r; k < last; k++) {
            double err = (double)m->values[k] - e->value_target;
            st->value_loss += scale * o->value_coef * c * err * err;
            w->dvalues[k] = (float)(2.0 * scale * o->value_coef * c * err);
        }
        any_value = 1;
    }
    return any_value;
}

int iamp_distill_grad(struct iamp_model *m, const struct iamp_task *t,
                      const struct iamp_example *ex, int n, float scale,
                      const struct iamp_distill_opts *o, struct iamp_distill_work *w,
                      struct iamp_distill_stats *st, iamp_grad_ready_cb ready, void *ctx)
{
    int any_reg, any_kl;
    memset(st, 0, sizeof(*st));
    int rc = build_rows(m, t, ex, n, w);
    if (!rc)
        rc = row_coefficients(ex, o, w, &any_reg, &any_kl);
    /* p_ref first: its logits stay in ref's own buffers while M runs. */
    /* Every logit column: a GEMM over fewer columns may round differently,
     * and training stays bit-identical to what it was. */
    if (!rc && any_kl)
        rc = iamp_rows_forward(o->ref, &w->rows, 0, o->ref->cfg.vocab);
    if (!rc)
        rc = iamp_rows_forward(m, &w->rows, 0, m->cfg.vocab);
    if (rc)
        return rc;
    prefix_weights(m, ex, w);
    st->policy_loss = iamp_loss_xent(m, &w->rows, w->row_weight, scale, w->dlogits);
    if (any_reg)
        rc = iamp_loss_entropy_kl(m, &w->rows, any_kl ? o->ref->logits : NULL, w->row_entropy,
                                  w->row_kl, scale, w->dlogits, &st->reg_loss);
    if (rc)
        return rc;
    if (m->cfg.cont) {
        double cp, cr;
        iamp_loss_cont(m, &w->rows, any_kl ? o->ref->cont : NULL, w->row_weight, w->row_entropy,
                       w->row_kl, scale, w->dcont, &cp, &cr);
        st->policy_loss += cp;
        st->reg_loss += cr;
    }
    int any_value = value_term(m, ex, scale, o, w, st);
    iamp_model_backward(m, w->dlogits, any_value ? w->dvalues : NULL, m->cfg.cont ? w->dcont : NULL,
                        ready, ctx);
    st->loss = st->policy_loss + st->value_loss + st->reg_loss;
    st->rows = w->rows.n;
    return 0;
}
