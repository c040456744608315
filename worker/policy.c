/* policy.c — decoding, log-probabilities and cross-entropy over answer
 * ranges. Runs on the thread that owns the model. Large batches are cut
 * into chunks of IAMP_POLICY_CHUNK_ROWS rows to bound activation memory.
 */
#include "worker/policy.h"

#include "common/pool.h"

#include "worker/model/contdist.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define IAMP_POLICY_CHUNK_ROWS 4096

/* Rows built by hand (tests) may have no cont array: all token rows. */
static int is_cont(const struct iamp_rows *rows, int r)
{
    return rows->cont && rows->cont[r];
}

void iamp_ctx_table_init(struct iamp_ctx_table *t)
{
    memset(t, 0, sizeof(*t));
}

void iamp_ctx_table_release(struct iamp_ctx_table *t)
{
    free(t->ctx);
    free(t->hash);
    iamp_ctx_table_init(t);
}

void iamp_ctx_table_clear(struct iamp_ctx_table *t)
{
    t->n = 0;
    if (t->hash)
        memset(t->hash, 0xff, 2 * (size_t)t->cap * sizeof(int));
}

static size_t ctx_hash(const struct iamp_context *c, int buckets)
{
    uint64_t h = (uint64_t)(uintptr_t)c * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 32) % (size_t)buckets;
}

static int ctx_table_grow(struct iamp_ctx_table *t)
{
    int cap = t->cap ? 2 * t->cap : 64;
    const struct iamp_context **c = realloc(t->ctx, (size_t)cap * sizeof(*c));
    if (!c)
        return IAMP_ENOMEM;
    t->ctx = c;
    int *h = malloc(2 * (size_t)cap * sizeof(int));
    if (!h)
        return IAMP_ENOMEM;
    memset(h, 0xff, 2 * (size_t)cap * sizeof(int));
    for (int i = 0; i < t->n; i++) {
        size_t b = ctx_hash(t->ctx[i], 2 * cap);
        while (h[b] >= 0)
            b = (b + 1) % (size_t)(2 * cap);
        h[b] = i;
    }
    free(t->hash);
    t->hash = h;
    t->cap = cap;
    return 0;
}

int iamp_ctx_table_index(struct iamp_ctx_table *t, const struct iamp_context *c, int *index)
{
    *index = -1;
    if (!c)
        return 0;
    if (t->n > 0 && t->ctx[t->n - 1] == c) { /* a tree's rows come together */
        *index = t->n - 1;
        return 0;
    }
    if (t->n >= t->cap) {
        int rc = ctx_table_grow(t);
        if (rc)
            return rc;
    }
    size_t b = ctx_hash(c, 2 * t->cap);
    while (t->hash[b] >= 0) {
        if (t->ctx[t->hash[b]] == c) {
            *index = t->hash[b];
            return 0;
        }
        b = (b + 1) % (size_t)(2 * t->cap);
    }
    t->hash[b] = t->n;
    t->ctx[t->n] = c;
    *index = t->n++;
    return 0;
}

void iamp_rows_init(struct iamp_rows *rows)
{
    memset(rows, 0, sizeof(*rows));
}

void iamp_rows_clear(struct iamp_rows *rows)
{
    rows->n = 0;
    iamp_ctx_table_clear(&rows->ctx);
}

void iamp_rows_release(struct iamp_rows *rows)
{
    iamp_ctx_table_release(&rows->ctx);
    free(rows->in);
    free(rows->lo);
    free(rows->hi);
    free(rows->target);
    free(rows->example);
    free(rows->cont);
    free(rows->y);
    iamp_rows_init(rows);
}

static int rows_reserve(struct iamp_rows *rows, int n_slots, int need)
{
    if (need <= rows->cap && rows->n_slots == n_slots)
        return 0;
    int cap = rows->cap > 0 ? rows->cap : 64;
    while (cap < need)
        cap *= 2;
    /* An array keeps its old block when its realloc fails (cap stays). */
    void *q;
#define GROW(f, n)                                                                                 \
    ((q = realloc(rows->f, (size_t)cap * (n) * sizeof(*rows->f))) ? (rows->f = q, 1) : 0)
    int ok = GROW(in, (size_t)n_slots) && GROW(lo, 1) && GROW(hi, 1) && GROW(target, 1) &&
             GROW(example, 1) && GROW(cont, 1) && GROW(y, 1);
#undef GROW
    if (!ok)
        return IAMP_ENOMEM;
    rows->cap = cap;
    rows->n_slots = n_slots;
    return 0;
}

/* The one row of a continuous question: the question alone, target y. */
static void cont_row(struct iamp_rows *rows, const struct iamp_model *m,
                     const struct iamp_question *q, const struct iamp_answer *a, int i, int ctx)
{
    int r = rows->n++;
    iamp_model_row(m, q->type, q->tok, q->len, NULL, 0, ctx,
                   rows->in + (size_t)r * (size_t)m->n_slots);
    rows->lo[r] = rows->hi[r] = 0;
    rows->target[r] = -1;
    rows->example[r] = i;
    rows->cont[r] = 1;
    rows->y[r] = a->value;
}

/* The union [lo, hi) of the token rows' answer ranges (continuous rows
 * have none; no token rows: lo == hi), for iamp_model_forward_cols. */
static void rows_range(const struct iamp_rows *rows, int *lo, int *hi)
{
    int a = 0, b = 0, any = 0;
    for (int r = 0; r < rows->n; r++) {
        if (is_cont(rows, r) || rows->lo[r] >= rows->hi[r])
            continue;
        a = !any || rows->lo[r] < a ? rows->lo[r] : a;
        b = !any || rows->hi[r] > b ? rows->hi[r] : b;
        any = 1;
    }
    *lo = a;
    *hi = b;
}

int iamp_rows_forward(struct iamp_model *m, const struct iamp_rows *rows, int lo, int hi)
{
    struct iamp_model_batch b = {rows->in, rows->n, rows->ctx.ctx, rows->ctx.n, lo, hi};
    return iamp_model_forward_batch(m, &b);
}

/* Forward over rows computing the logits their answer ranges need. */
static int forward_rows(struct iamp_model *m, const struct iamp_rows *rows)
{
    int lo, hi;
    rows_range(rows, &lo, &hi);
    return iamp_rows_forward(m, rows, lo, hi);
}

struct pair_job {
    struct iamp_model *model[2];
    const struct iamp_rows *rows;
    int rc[2];
};

static void pair_cb(void *ctx, int k, int thread)
{
    struct pair_job *j = ctx;
    (void)thread;
    j->rc[k] = forward_rows(j->model[k], j->rows);
}

/* M and (when not NULL) p_ref forward on the same rows, side by side on
 * M's pool (each model's own blocks then run on that thread). */
static int forward_pair(struct iamp_model *m, struct iamp_model *ref, const struct iamp_rows *rows)
{
    struct pair_job j = {{m, ref}, rows, {0, 0}};
    iamp_pool_run(m->pool, ref ? 2 : 1, pair_cb, &j);
    return j.rc[0] ? j.rc[0] : j.rc[1];
}

int iamp_rows_teacher(struct iamp_rows *rows, const struct iamp_model *m, const struct iamp_task *t,
                      const struct iamp_question *qs, const struct iamp_answer *as, int n)
{
    int need = rows->n;
    for (int i = 0; i < n; i++)
        need += iamp_task_continuous(t, &qs[i]) ? 1 : as[i].len;
    int rc = rows_reserve(rows, m->n_slots, need);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++) {
        int ctx;
        rc = iamp_ctx_table_index(&rows->ctx, qs[i].ctx, &ctx);
        if (rc)
            return rc;
        if (iamp_task_continuous(t, &qs[i])) {
            cont_row(rows, m, &qs[i], &as[i], i, ctx);
            continue;
        }
        struct iamp_answer_space sp;
        t->ops->answer_space(t, &qs[i], &sp);
        for (int j = 0; j < as[i].len && j < m->cfg.a_len; j++) {
            int r = rows->n++;
            iamp_model_row(m, qs[i].type, qs[i].tok, qs[i].len, as[i].tok, j, ctx,
                           rows->in + (size_t)r * (size_t)m->n_slots);
            rows->lo[r] = sp.lo;
            rows->hi[r] = sp.hi;
            rows->target[r] = as[i].tok[j];
            rows->example[r] = i;
            rows->cont[r] = 0;
            rows->y[r] = 0.0f;
        }
    }
    return 0;
}

static float max_range(const float *logits, int lo, int hi)
{
    float mx = -FLT_MAX;
    for (int v = lo; v < hi; v++)
        mx = logits[v] > mx ? logits[v] : mx;
    return mx;
}

/* iamp_softmax_range at temperature t, returning the sum of the
 * unnormalised terms exp((logit - max) / t). */
static double softmax_sum_t(const float *logits, int lo, int hi, float temperature, float *p)
{
    float mx = max_range(logits, lo, hi);
    double sum = 0.0;
    for (int v = lo; v < hi; v++) {
        p[v] = expf((logits[v] - mx) / temperature);
        sum += p[v];
    }
    float inv = (float)(1.0 / sum);
    for (int v = lo; v < hi; v++)
        p[v] *= inv;
    return sum;
}

static double softmax_sum(const float *logits, int lo, int hi, float *p)
{
    return softmax_sum_t(logits, lo, hi, 1.0f, p);
}

void iamp_softmax_range(const float *logits, int lo, int hi, float temperature, float *p)
{
    softmax_sum_t(logits, lo, hi, temperature, p);
}

static int argmax_range(const float *logits, int lo, int hi)
{
    int best = lo;
    for (int v = lo + 1; v < hi; v++)
        if (logits[v] > logits[best])
            best = v;
    return best;
}

static int sample_range(const float *logits, int lo, int hi, float temperature, struct iamp_rng *r,
                        float *p)
{
    iamp_softmax_range(logits, lo, hi, temperature, p);
    double u = iamp_rng_uniform(r), c = 0.0;
    for (int v = lo; v < hi; v++) {
        c += p[v];
        if (u < c)
            return v;
    }
    return hi - 1;
}

/* A continuous question's answer from its row's head outputs. */
static void decode_cont(const float *raw, int mode, float temperature, struct iamp_rng *r,
                        struct iamp_answer *out)
{
    struct iamp_cont d;
    iamp_cont_from_raw(raw, &d);
    double y =
        mode == IAMP_DECODE_SAMPLE ? iamp_cont_sample(&d, temperature, r) : iamp_cont_median(&d);
    out->len = 0;
    out->value = (float)y;
}

/* One decoding step for the examples listed in act[0..na); a continuous
 * question (max_len 0 in sp) is answered at its only step. */
struct decode_buf {
    int32_t *in;                /* (n, S) rows */
    float *p;                   /* (V) sampling scratch */
    int *ci;                    /* (n) each question's index in ctx */
    struct iamp_ctx_table *ctx; /* the chunk's contexts */
};

static int decode_step(struct iamp_model *m, const struct iamp_question *qs, const int *act, int na,
                       int step, const struct iamp_answer_space *sp, int mode, float temperature,
                       struct iamp_rng *r, struct iamp_answer *out, const struct decode_buf *db)
{
    int S = m->n_slots, V = m->cfg.vocab, lo = V, hi = 0;
    int32_t *in = db->in;
    float *p = db->p;
    for (int k = 0; k < na; k++) {
        int i = act[k];
        iamp_model_row(m, qs[i].type, qs[i].tok, qs[i].len, out[i].tok, step, db->ci[i],
                       in + (size_t)k * (size_t)S);
        if (sp[i].max_len > 0) {
            lo = sp[i].lo < lo ? sp[i].lo : lo;
            hi = sp[i].hi > hi ? sp[i].hi : hi;
        }
    }
    struct iamp_model_batch b = {
        in, na, db->ctx->ctx, db->ctx->n, lo < hi ? lo : 0, lo < hi ? hi : 0};
    int rc = iamp_model_forward_batch(m, &b);
    if (rc)
        return rc;
    for (int k = 0; k < na; k++) {
        int i = act[k];
        const float *lg = m->logits + (size_t)k * (size_t)V;
        if (sp[i].max_len == 0) {
            decode_cont(m->cont + (size_t)k * IAMP_CONT_OUTPUTS, mode, temperature, r, &out[i]);
            continue;
        }
        int tok = mode == IAMP_DECODE_SAMPLE
                      ? sample_range(lg, sp[i].lo, sp[i].hi, temperature, r, p)
                      : argmax_range(lg, sp[i].lo, sp[i].hi);
        out[i].tok[out[i].len++] = (uint16_t)tok;
    }
    return 0;
}

static int answer_chunk(struct iamp_model *m, const struct iamp_task *t,
                        const struct iamp_question *qs, int n, int mode, float temperature,
                        struct iamp_rng *r, struct iamp_answer *out)
{
    int S = m->n_slots, rc = IAMP_ENOMEM;
    struct iamp_answer_space *sp = malloc((size_t)n * sizeof(*sp));
    int *act = malloc((size_t)n * sizeof(int));
    int32_t *in = malloc((size_t)n * (size_t)S * sizeof(int32_t));
    float *p = malloc((size_t)m->cfg.vocab * sizeof(float));
    int *ci = malloc((size_t)n * sizeof(int));
    struct iamp_ctx_table ctx;
    struct decode_buf db = {in, p, ci, &ctx};
    iamp_ctx_table_init(&ctx);
    if (!sp || !act || !in || !p || !ci)
        goto out;
    for (int i = 0; i < n; i++) {
        rc = iamp_ctx_table_index(&ctx, qs[i].ctx, &ci[i]);
        if (rc)
            goto out;
        t->ops->answer_space(t, &qs[i], &sp[i]);
        if (iamp_task_continuous(t, &qs[i]))
            sp[i] = (struct iamp_answer_space){0, 0, 0, -1};
        if (sp[i].max_len > m->cfg.a_len)
            sp[i].max_len = (uint16_t)m->cfg.a_len;
        memset(&out[i], 0, sizeof(out[i]));
    }
    rc = 0;
    for (int i = 0; i < n; i++)
        if (iamp_task_continuous(t, &qs[i]) && !m->cfg.cont)
            rc = IAMP_EINVAL; /* a model without the head cannot answer these */
    for (int step = 0; !rc && step < m->cfg.a_len; step++) {
        int na = 0;
        for (int i = 0; i < n; i++) {
            int done = out[i].len >= sp[i].max_len || (out[i].len > 0 && sp[i].end_tok >= 0 &&
                                                       out[i].tok[out[i].len - 1] == sp[i].end_tok);
            if (sp[i].max_len == 0) /* continuous: answered at step 0 */
                done = step > 0;
            if (!done)
                act[na++] = i;
        }
        if (na == 0)
            break;
        rc = decode_step(m, qs, act, na, step, sp, mode, temperature, r, out, &db);
        if (rc)
            break;
    }
out:
    free(sp);
    free(act);
    free(in);
    free(p);
    free(ci);
    iamp_ctx_table_release(&ctx);
    return rc;
}

int iamp_policy_answer(struct iamp_model *m, const struct iamp_task *t,
                       const struct iamp_question *qs, int n, int mode, float temperature,
                       struct iamp_rng *r, struct iamp_answer *out)
{
    if (mode == IAMP_DECODE_SAMPLE && !(temperature > 0.0f))
        return IAMP_EINVAL;
    for (int i = 0; i < n; i += IAMP_POLICY_CHUNK_ROWS) {
        int c = n - i < IAMP_POLICY_CHUNK_ROWS ? n - i : IAMP_POLICY_CHUNK_ROWS;
        int rc = answer_chunk(m, t, qs + i, c, mode, temperature, r, out + i);
        if (rc)
            return rc;
    }
    return 0;
}

static double row_logprob(const float *lg, int lo, int hi, int target)
{
    float mx = -FLT_MAX;
    for (int v = lo; v < hi; v++)
        mx = lg[v] > mx ? lg[v] : mx;
    double sum = 0.0;
    for (int v = lo; v < hi; v++)
        sum += exp((double)(lg[v] - mx));
    if (target < lo || target >= hi)
        return -INFINITY;
    return (double)(lg[target] - mx) - log(sum);
}

static double cont_logdensity(const struct iamp_model *m, int r, double y)
{
    struct iamp_cont d;
    iamp_cont_from_raw(m->cont + (size_t)r * IAMP_CONT_OUTPUTS, &d);
    return iamp_cont_logdensity(&d, y);
}

int iamp_policy_logprob(struct iamp_model *m, const struct iamp_task *t,
                        const struct iamp_question *qs, const struct iamp_answer *as, int n,
                        double *logp)
{
    struct iamp_rows rows;
    iamp_rows_init(&rows);
    int per = IAMP_POLICY_CHUNK_ROWS / (m->cfg.a_len > 0 ? m->cfg.a_len : 1);
    int rc = 0;
    for (int i = 0; i < n && !rc; i += per) {
        int c = n - i < per ? n - i : per;
        iamp_rows_clear(&rows);
        rc = iamp_rows_teacher(&rows, m, t, qs + i, as + i, c);
        if (!rc)
            rc = forward_rows(m, &rows);
        if (rc)
            break;
        for (int k = 0; k < c; k++)
            logp[i + k] = 0.0;
        for (int r = 0; r < rows.n; r++) {
            const float *lg = m->logits + (size_t)r * (size_t)m->cfg.vocab;
            logp[i + rows.example[r]] +=
                is_cont(&rows, r) ? cont_logdensity(m, r, rows.y[r])
                                  : row_logprob(lg, rows.lo[r], rows.hi[r], rows.target[r]);
        }
    }
    iamp_rows_release(&rows);
    return rc;
}

double iamp_loss_xent(const struct iamp_model *m, const struct iamp_rows *rows,
                      const float *weights, float scale, float *dlogits)
{
    int V = m->cfg.vocab;
    double loss = 0.0;
    memset(dlogits, 0, (size_t)rows->n * (size_t)V * sizeof(float));
    for (int r = 0; r < rows->n; r++) {
        if (is_cont(rows, r))
            continue;
        const float *lg = m->logits + (size_t)r * (size_t)V;
        float *d = dlogits + (size_t)r * (size_t)V;
        float w = (weights ? weights[r] : 1.0f) * scale;
        int lo = rows->lo[r], hi = rows->hi[r], tgt = rows->target[r];
        double sum = softmax_sum(lg, lo, hi, d); /* d = p, and its normaliser */
        float mx = max_range(lg, lo, hi);
        loss -= w * (tgt >= lo && tgt < hi ? (double)(lg[tgt] - mx) - log(sum) : -INFINITY);
        for (int v = lo; v < hi; v++)
            d[v] *= w;
        if (tgt >= lo && tgt < hi)
            d[tgt] -= w;
    }
    return loss;
}

int iamp_policy_values(struct iamp_model *m, const struct iamp_task *t,
                       const struct iamp_question *qs, int n, float *v)
{
    (void)t;
    int S = m->n_slots, rc = 0;
    int32_t *in = malloc((size_t)IAMP_POLICY_CHUNK_ROWS * (size_t)S * sizeof(int32_t));
    struct iamp_ctx_table ctx;
    iamp_ctx_table_init(&ctx);
    if (!in)
        return IAMP_ENOMEM;
    for (int i = 0; i < n && !rc; i += IAMP_POLICY_CHUNK_ROWS) {
        int c = n - i < IAMP_POLICY_CHUNK_ROWS ? n - i : IAMP_POLICY_CHUNK_ROWS;
        iamp_ctx_table_clear(&ctx);
        for (int k = 0; !rc && k < c; k++) {
            int ci;
            rc = iamp_ctx_table_index(&ctx, qs[i + k].ctx, &ci);
            iamp_model_row(m, qs[i + k].type, qs[i + k].tok, qs[i + k].len, NULL, 0, ci,
                           in + (size_t)k * (size_t)S);
        }
        struct iamp_model_batch b = {in, c, ctx.ctx, ctx.n, 0, 0}; /* the value head alone */
        if (!rc)
            rc = iamp_model_forward_batch(m, &b);
        for (int k = 0; !rc && k < c; k++)
            v[i + k] = m->values[k];
    }
    free(in);
    iamp_ctx_table_release(&ctx);
    return rc;
}

/* log-softmax of lg over [lo, hi) into out[lo, hi); lo < hi. */
static void log_softmax_range(const float *lg, int lo, int hi, double *out)
{
    float mx = lg[lo];
    for (int v = lo + 1; v < hi; v++)
        mx = lg[v] > mx ? lg[v] : mx;
    double sum = 1.0; /* the maximum's own term, exp(0), counted once below */
    int seen_max = 0;
    for (int v = lo; v < hi; v++) {
        if (lg[v] == mx && !seen_max)
            seen_max = 1;
        else
            sum += exp((double)(lg[v] - mx));
    }
    double lz = (double)mx + log(sum);
    for (int v = lo; v < hi; v++)
        out[v] = (double)lg[v] - lz;
}

/* Entropy of one row and, when logq is set, its KL to q. logp, logq are
 * log-probabilities over [lo, hi). */
static void row_entropy_kl(const double *logp, const double *logq, int lo, int hi, double *h,
                           double *kl)
{
    double e = 0.0, k = 0.0;
    for (int v = lo; v < hi; v++) {
        double p = exp(logp[v]);
        e -= p * logp[v];
        if (logq)
            k += p * (logp[v] - logq[v]);
    }
    *h = e;
    *kl = k;
}

int iamp_loss_entropy_kl(const struct iamp_model *m, const struct iamp_rows *rows,
                         const float *ref_logits, const float *ent_w, const float *kl_w,
                         float scale, float *dlogits, double *loss_out)
{
    int V = m->cfg.vocab;
    double loss = 0.0;
    double *logp = malloc(2 * (size_t)V * sizeof(double));
    if (!logp)
        return IAMP_ENOMEM;
    double *logq = logp + V;
    for (int r = 0; r < rows->n; r++) {
        double ew = ent_w ? ent_w[r] : 0.0, kw = kl_w ? kl_w[r] : 0.0;
        if (is_cont(rows, r) || (ew == 0.0 && (kw == 0.0 || !ref_logits)))
            continue;
        int lo = rows->lo[r], hi = rows->hi[r];
        log_softmax_range(m->logits + (size_t)r * (size_t)V, lo, hi, logp);
        int use_ref = kw != 0.0 && ref_logits;
        if (use_ref)
            log_softmax_range(ref_logits + (size_t)r * (size_t)V, lo, hi, logq);
        double h, kl;
        row_entropy_kl(logp, use_ref ? logq : NULL, lo, hi, &h, &kl);
        loss += scale * (kw * kl - ew * h);
        float *d = dlogits + (size_t)r * (size_t)V;
        for (int v = lo; v < hi; v++) {
            double p = exp(logp[v]);
            double g = ew * p * (logp[v] + h);
            if (use_ref)
                g += kw * p * (logp[v] - logq[v] - kl);
            d[v] += (float)(scale * g);
        }
    }
    free(logp);
    *loss_out = loss;
    return 0;
}

/* Entropy and KL of continuous row r, added to *h and *kl. */
static void cont_divergence(const struct iamp_model *m, const struct iamp_model *ref, int r,
                            double *h, double *kl)
{
    struct iamp_cont p, q;
    iamp_cont_from_raw(m->cont + (size_t)r * IAMP_CONT_OUTPUTS, &p);
    *h += iamp_cont_entropy(&p);
    if (ref) {
        iamp_cont_from_raw(ref->cont + (size_t)r * IAMP_CONT_OUTPUTS, &q);
        *kl += iamp_cont_kl(&p, &q);
    }
}

/* Every term of one continuous row; gradients d/d raw into g[0..2). */
static double cont_row_loss(const float *raw, const float *ref_raw, double y, double w, double ew,
                            double kw, double *reg, double *g)
{
    struct iamp_cont d;
    double gl[2], ge[2], gk[2] = {0.0, 0.0};
    iamp_cont_from_raw(raw, &d);
    iamp_cont_logdensity_grad(raw, y, gl);
    iamp_cont_entropy_grad(raw, ge);
    double policy = -w * iamp_cont_logdensity(&d, y);
    *reg = -ew * iamp_cont_entropy(&d);
    if (kw != 0.0 && ref_raw) {
        struct iamp_cont q;
        iamp_cont_from_raw(ref_raw, &q);
        *reg += kw * iamp_cont_kl(&d, &q);
        iamp_cont_kl_grad(raw, ref_raw, gk);
    }
    for (int k = 0; k < IAMP_CONT_OUTPUTS; k++)
        g[k] = -w * gl[k] - ew * ge[k] + kw * gk[k];
    return policy;
}

void iamp_loss_cont(const struct iamp_model *m, const struct iamp_rows *rows, const float *ref_cont,
                    const float *weights, const float *ent_w, const float *kl_w, float scale,
                    float *dcont, double *policy, double *reg)
{
    const int C = IAMP_CONT_OUTPUTS;
    *policy = *reg = 0.0;
    memset(dcont, 0, (size_t)rows->n * C * sizeof(float));
    for (int r = 0; r < rows->n; r++) {
        if (!is_cont(rows, r))
            continue;
        double w = weights ? weights[r] : 1.0, ew = ent_w ? ent_w[r] : 0.0;
        double kw = kl_w ? kl_w[r] : 0.0, rg, g[IAMP_CONT_OUTPUTS];
        const float *ref = ref_cont ? ref_cont + (size_t)r * C : NULL;
        *policy += scale * cont_row_loss(m->cont + (size_t)r * C, ref, rows->y[r], w, ew,
                                         ref ? kw : 0.0, &rg, g);
        *reg += scale * rg;
        for (int k = 0; k < C; k++)
            dcont[(size_t)r * C + k] = (float)(scale * g[k]);
    }
}

/* Entropy and KL sums of rows [0, n) of the last forwards of m and ref,
 * added per example into h[], kl[]. */
static void divergence_rows(const struct iamp_model *m, const struct iamp_model *ref,
                            const struct iamp_rows *rows, int r0, int r1, double *buf, double *h,
                            double *kl)
{
    int V = m->cfg.vocab;
    for (int r = r0; r < r1; r++) {
        if (is_cont(rows, r)) {
            cont_divergence(m, ref, r, &h[rows->example[r]], &kl[rows->example[r]]);
            continue;
        }
        int lo = rows->lo[r], hi = rows->hi[r];
        log_softmax_range(m->logits + (size_t)r * (size_t)V, lo, hi, buf);
        if (ref)
            log_softmax_range(ref->logits + (size_t)r * (size_t)V, lo, hi, buf + V);
        double hr, klr;
        row_entropy_kl(buf, ref ? buf + V : NULL, lo, hi, &hr, &klr);
        h[rows->example[r]] += hr;
        kl[rows->example[r]] += klr;
    }
}

/* divergence_rows in two halves side by side, cut at an example's first
 * row (each example's sums stay in one half, summed in row order). */
struct divergence_job {
    const struct iamp_model *m, *ref;
    const struct iamp_rows *rows;
    int cut[3];
    double *buf, *h, *kl;
};

static void divergence_cb(void *ctx, int k, int thread)
{
    struct divergence_job *j = ctx;
    (void)thread;
    divergence_rows(j->m, j->ref, j->rows, j->cut[k], j->cut[k + 1],
                    j->buf + (size_t)k * 2 * (size_t)j->m->cfg.vocab, j->h, j->kl);
}

static void divergence_halves(struct iamp_model *m, const struct iamp_model *ref,
                              const struct iamp_rows *rows, double *buf, double *h, double *kl)
{
    int mid = rows->n / 2;
    while (mid > 0 && mid < rows->n && rows->example[mid] == rows->example[mid - 1])
        mid++;
    struct divergence_job j = {m, ref, rows, {0, mid, rows->n}, buf, h, kl};
    iamp_pool_run(m->pool, 2, divergence_cb, &j);
}

int iamp_policy_divergence(struct iamp_model *m, struct iamp_model *ref, const struct iamp_task *t,
                           const struct iamp_question *qs, const struct iamp_answer *as, int n,
                           double *entropy, double *kl)
{
    struct iamp_rows rows;
    iamp_rows_init(&rows);
    int per = IAMP_POLICY_CHUNK_ROWS / (m->cfg.a_len > 0 ? m->cfg.a_len : 1);
    double *buf = malloc(4 * (size_t)m->cfg.vocab * sizeof(double)); /* two halves' */
    double *h = calloc((size_t)(per > 0 ? per : 1), sizeof(double));
    double *k = calloc((size_t)(per > 0 ? per : 1), sizeof(double));
    double sh = 0.0, sk = 0.0;
    int rc = buf && h && k ? 0 : IAMP_ENOMEM;
    for (int i = 0; i < n && !rc; i += per) {
        int c = n - i < per ? n - i : per;
        iamp_rows_clear(&rows);
        rc = iamp_rows_teacher(&rows, m, t, qs + i, as + i, c);
        if (!rc)
            rc = forward_pair(m, ref, &rows);
        if (rc)
            break;
        memset(h, 0, (size_t)c * sizeof(double));
        memset(k, 0, (size_t)c * sizeof(double));
        divergence_halves(m, ref, &rows, buf, h, k);
        for (int j = 0; j < c; j++) {
            sh += h[j];
            sk += k[j];
        }
    }
    *entropy = n > 0 ? sh / n : NAN;
    *kl = ref && n > 0 ? sk / n : NAN;
    free(buf);
    free(h);
    free(k);
    iamp_rows_release(&rows);
    return rc;
}
