/* session.c — a model copy with its task, optimizer, engine and (during
 * training) M_target; local computation, or routing to a remote. See
 * session.h for the determinism contract of sampled answers. */
#include "worker/session.h"

#include "common/clock.h"
#include "common/pool.h"
#include "common/trace.h"
#include "worker/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The task's shape into c (a spec's sizes already there). */
static void shape_of(const struct iamp_task *t, struct iamp_model_config *c)
{
    c->vocab = t->vocab;
    c->n_types = t->n_types;
    c->q_len = t->q_len;
    c->a_len = t->a_len;
    c->cont = t->continuous != 0;
    c->facts_max = t->facts_max;
    c->fact_len = t->facts_max > 0 ? t->fact_len : 0;
}

/* M's config: --model's spec over the mlp options (a spec's mlp sizes
 * win where spelled), or with no spec an mlp from the options, or a
 * transformer with its defaults for a task with contexts. */
static int config_for(const struct iamp_task *t, const struct iamp_model_opts *mo,
                      struct iamp_model_config *c, char *err, size_t errlen)
{
    struct iamp_model_spec sp;
    const char *text = mo->model[0] ? mo->model : iamp_task_has_contexts(t) ? "transformer" : "mlp";
    int rc = iamp_model_spec_parse(text, &sp, err, errlen);
    if (rc)
        return rc;
    *c = sp.cfg;
    if (c->kind == IAMP_MODEL_MLP) {
        int *f[4] = {&c->embed, &c->hidden, &c->layers, &c->pair};
        const int o[4] = {mo->embed, mo->hidden, mo->layers, mo->pair};
        for (int i = 0; i < 4; i++) /* spec order: embed, hidden, layers, pair */
            if (!(sp.given & (1u << i)))
                *f[i] = o[i];
    }
    shape_of(t, c);
    return 0;
}

static int build(struct iamp_session *s, const struct iamp_model_config *c, float lr, char *err,
                 size_t errlen)
{
    int rc = iamp_model_init(&s->model, c);
    if (!rc)
        rc = iamp_adam_init(&s->adam, s->model.n_params, lr);
    if (rc) {
        snprintf(err, errlen, "cannot build the model: %s", iamp_strerror(rc));
        return rc;
    }
    iamp_engine_init(&s->engine, &s->task);
    iamp_distill_work_init(&s->work);
    s->open = 1;
    return 0;
}

int iamp_session_open(struct iamp_session *s, const char *task_spec,
                      const struct iamp_model_opts *mo, float lr, uint64_t seed, char *err,
                      size_t errlen)
{
    struct iamp_task t;
    int rc = iamp_task_create(&t, task_spec, err, errlen);
    if (rc) {
        memset(s, 0, sizeof(*s));
        return rc;
    }
    return iamp_session_open_task(s, &t, mo, lr, seed, err, errlen);
}

int iamp_session_open_task(struct iamp_session *s, struct iamp_task *t,
                           const struct iamp_model_opts *mo, float lr, uint64_t seed, char *err,
                           size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->task = *t;
    memset(t, 0, sizeof(*t));
    int rc = 0;
    struct iamp_model_config c;
    memset(&c, 0, sizeof(c));
    rc = config_for(&s->task, mo, &c, err, errlen);
    if (!rc && c.pair && (c.q_len < 2 || iamp_model_pair_rows(&c) > IAMP_PAIR_ROWS_MAX)) {
        snprintf(err, errlen, "--pair-slot: task %s has %s", s->task.spec,
                 c.q_len < 2 ? "one question token, not two" : "too many token pairs (over 2^20)");
        rc = IAMP_EINVAL;
    }
    if (!rc)
        rc = iamp_model_check(&c, err, errlen);
    if (rc) {
        iamp_session_close(s);
        return rc;
    }
    rc = build(s, &c, lr, err, errlen);
    if (rc) {
        iamp_session_close(s);
        return rc;
    }
    struct iamp_rng r;
    iamp_rng_seed(&r, seed, 0x696e6974 /* "init" */);
    iamp_model_reset(&s->model, &r);
    return 0;
}

static int adopt_checkpoint(struct iamp_session *s, const struct iamp_checkpoint *ck, char *err,
                            size_t errlen)
{
    const struct iamp_model_shape *sh = &ck->shape;
    struct iamp_model_config c = {.vocab = (int)sh->vocab,
                                  .n_types = (int)sh->n_types,
                                  .q_len = (int)sh->q_len,
                                  .a_len = (int)sh->a_len,
                                  .embed = (int)sh->embed,
                                  .hidden = (int)sh->hidden,
                                  .layers = (int)sh->layers,
                                  .cont = (int)sh->cont,
                                  .pair = (int)sh->pair};
    if (sh->model[0]) { /* another model: its spec, then the task's shape */
        struct iamp_model_spec sp;
        if (iamp_model_spec_parse(sh->model, &sp, err, errlen))
            return IAMP_ECORRUPT;
        c = sp.cfg;
        c.vocab = (int)sh->vocab;
        c.n_types = (int)sh->n_types;
        c.q_len = (int)sh->q_len;
        c.a_len = (int)sh->a_len;
        c.cont = (int)sh->cont;
    }
    c.facts_max = s->task.facts_max;
    c.fact_len = s->task.facts_max > 0 ? s->task.fact_len : 0;
    if (c.vocab != s->task.vocab || c.n_types != s->task.n_types || c.q_len != s->task.q_len ||
        c.a_len != s->task.a_len || c.cont != (s->task.continuous != 0)) {
        snprintf(err, errlen, "model shape does not fit task %s", s->task.spec);
        return IAMP_EMISMATCH;
    }
    float lr = ck->has_config ? ck->config.lr : 1e-3f;
    int rc = build(s, &c, lr, err, errlen);
    if (rc)
        return rc;
    if (ck->n_params != s->model.n_params) {
        snprintf(err, errlen, "holds %zu parameters, its shape needs %zu", ck->n_params,
                 s->model.n_params);
        return IAMP_ECORRUPT;
    }
    memcpy(s->model.params, ck->params, ck->n_params * sizeof(float));
    if (ck->adam_m && ck->adam_v) {
        memcpy(s->adam.m, ck->adam_m, ck->n_params * sizeof(float));
        memcpy(s->adam.v, ck->adam_v, ck->n_params * sizeof(float));
        s->adam.t = (int64_t)ck->adam_t;
    }
    rc = ck->target ? iamp_session_target_enable(s, ck->target) : 0;
    if (!rc && ck->ref)
        rc = iamp_session_ref_set(s, ck->ref);
    if (rc)
        snprintf(err, errlen, "cannot build M_target or p_ref: %s", iamp_strerror(rc));
    return rc;
}

int iamp_session_from_checkpoint(struct iamp_session *s, const struct iamp_checkpoint *ck,
                                 char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    int rc = iamp_task_create(&s->task, ck->task, err, errlen);
    if (!rc)
        rc = adopt_checkpoint(s, ck, err, errlen);
    if (rc)
        iamp_session_close(s);
    return rc;
}

static int same_task(const char *have, const char *want_spec, char *err, size_t errlen)
{
    struct iamp_task want;
    int rc = iamp_task_create(&want, want_spec, err, errlen);
    if (!rc && strcmp(want.spec, have) != 0) {
        snprintf(err, errlen, "trained on task %s, not %s", have, want.spec);
        rc = IAMP_EMISMATCH;
    }
    iamp_task_destroy(&want);
    return rc;
}

int iamp_session_load(struct iamp_session *s, const char *path, const char *task_spec,
                      struct iamp_checkpoint *ck_out, char *err, size_t errlen)
{
    struct iamp_checkpoint ck;
    memset(s, 0, sizeof(*s));
    int rc = iamp_checkpoint_load(path, &ck);
    if (rc) {
        snprintf(err, errlen, "%s",
                 rc == IAMP_ECORRUPT ? "not a valid iamp checkpoint (corrupt or truncated)"
                                     : iamp_strerror(rc));
        return rc;
    }
    rc = iamp_session_from_checkpoint(s, &ck, err, errlen);
    if (!rc && task_spec)
        rc = same_task(s->task.spec, task_spec, err, errlen);
    if (rc || !ck_out)
        iamp_checkpoint_release(&ck);
    else
        *ck_out = ck;
    if (rc)
        iamp_session_close(s);
    return rc;
}

static void release_shards(struct iamp_session *s)
{
    for (int k = 1; k < s->n_shards; k++) {
        struct iamp_fit_shard *sh = &s->shard[k];
        iamp_distill_work_release(&sh->work);
        iamp_model_release(&sh->ref);
        iamp_model_release(&sh->m);
        sh->has_ref = 0;
    }
    s->n_shards = 0;
}

void iamp_session_close(struct iamp_session *s)
{
    if (!s)
        return;
    release_shards(s);
    iamp_distill_work_release(&s->work);
    iamp_engine_release(&s->engine);
    iamp_adam_release(&s->adam);
    iamp_model_release(&s->target);
    iamp_model_release(&s->ref);
    iamp_model_release(&s->model);
    iamp_task_destroy(&s->task);
    memset(s, 0, sizeof(*s));
}

void iamp_session_set_remote(struct iamp_session *s, const struct iamp_remote_ops *ops, void *ctx)
{
    s->remote = ops;
    s->remote_ctx = ctx;
}

/* Every model copy of the session runs its forward blocks on s->pool. */
static void apply_pool(struct iamp_session *s)
{
    s->model.pool = s->pool;
    s->target.pool = s->has_target ? s->pool : NULL;
    s->ref.pool = s->has_ref ? s->pool : NULL;
}

void iamp_session_set_pool(struct iamp_session *s, struct iamp_pool *pool)
{
    s->pool = pool;
    apply_pool(s);
}

void iamp_session_checkpoint_view(const struct iamp_session *s, struct iamp_checkpoint *ck)
{
    const struct iamp_model_config *c = &s->model.cfg;
    memset(ck, 0, sizeof(*ck));
    snprintf(ck->task, sizeof(ck->task), "%s", s->task.spec);
    ck->shape = (struct iamp_model_shape){.vocab = (uint32_t)c->vocab,
                                          .n_types = (uint32_t)c->n_types,
                                          .q_len = (uint32_t)c->q_len,
                                          .a_len = (uint32_t)c->a_len,
                                          .embed = (uint32_t)c->embed,
                                          .hidden = (uint32_t)c->hidden,
                                          .layers = (uint32_t)c->layers,
                                          .cont = (uint32_t)c->cont,
                                          .pair = (uint32_t)c->pair};
    if (c->kind != IAMP_MODEL_MLP)
        iamp_model_spec_format(c, ck->shape.model, sizeof(ck->shape.model));
    ck->n_params = s->model.n_params;
    ck->params = s->model.params;
    ck->adam_m = s->adam.m;
    ck->adam_v = s->adam.v;
    ck->adam_t = (uint64_t)s->adam.t;
    ck->target = s->has_target ? s->target.params : NULL;
    ck->ref = s->has_ref ? s->ref.params : NULL;
}

/* ------------------------------------------------------------ answering */

int iamp_leaf_local(void *ctx, const struct iamp_question *qs, const int *depth, int n,
                    struct iamp_answer *out)
{
    struct iamp_leaf_ctx *c = ctx;
    (void)depth; /* a local engine's leaves are all depth 0: M alone */
    return iamp_policy_answer(c->model, c->task, qs, n, c->mode, c->temperature, c->rng, out);
}

/* M's value head for each question, returned in answer.value. */
static int values_local(struct iamp_model *m, const struct iamp_task *t,
                        const struct iamp_question *qs, int n, struct iamp_answer *out)
{
    float *v = malloc((size_t)(n ? n : 1) * sizeof(float));
    int rc = v ? iamp_policy_values(m, t, qs, n, v) : IAMP_ENOMEM;
    for (int i = 0; !rc && i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].value = v[i];
    }
    free(v);
    return rc;
}

int iamp_session_run_local(struct iamp_session *s, const struct iamp_question *qs, int n,
                           const int *depth, const struct iamp_amp_req *req, uint64_t first_unit,
                           struct iamp_answer *out)
{
    struct iamp_model *m = req->model                                       ? req->model
                           : req->pick == IAMP_PICK_TARGET && s->has_target ? &s->target
                                                                            : &s->model;
    struct iamp_rng r;
    struct iamp_leaf_ctx ctx = {m, &s->task, req->decode, req->temperature, &r};
    if (req->decode == IAMP_DECODE_VALUE)
        return values_local(m, &s->task, qs, n, out);
    if (req->decode == IAMP_DECODE_GREEDY)
        return iamp_engine_run_depths(&s->engine, qs, depth, req->depth, n, iamp_leaf_local, &ctx,
                                      out);
    /* Sampling: one RNG stream per unit of roots (see session.h). */
    for (int i = 0; i < n; i += IAMP_SESSION_UNIT) {
        int c = n - i < IAMP_SESSION_UNIT ? n - i : IAMP_SESSION_UNIT;
        iamp_rng_seed(&r, req->seed, first_unit + (uint64_t)(i / IAMP_SESSION_UNIT));
        int rc = iamp_engine_run_depths(&s->engine, qs + i, depth ? depth + i : NULL, req->depth, c,
                                        iamp_leaf_local, &ctx, out + i);
        if (rc)
            return rc;
    }
    return 0;
}

int iamp_session_run(struct iamp_session *s, const struct iamp_question *qs, int n,
                     const struct iamp_amp_req *req, struct iamp_answer *out)
{
    if (s->remote)
        return s->remote->run(s->remote_ctx, s, qs, n, req, out);
    return iamp_session_run_local(s, qs, n, NULL, req, 0, out);
}

int iamp_session_answer(struct iamp_session *s, const struct iamp_question *qs, int n,
                        struct iamp_answer *out)
{
    return iamp_session_amplify(s, qs, n, 0, out);
}

int iamp_session_amplify(struct iamp_session *s, const struct iamp_question *qs, int n, int depth,
                         struct iamp_answer *out)
{
    struct iamp_amp_req req = {depth, IAMP_PICK_M, IAMP_DECODE_GREEDY, 1.0f, 0, 0, NULL};
    return iamp_session_run(s, qs, n, &req, out);
}

/* ------------------------------------------------------------ M_target */

int iamp_session_target_enable(struct iamp_session *s, const float *init)
{
    if (!s->has_target) {
        int rc = iamp_model_init(&s->target, &s->model.cfg);
        if (rc)
            return rc;
        s->has_target = 1;
        apply_pool(s);
    }
    memcpy(s->target.params, init ? init : s->model.params, s->model.n_params * sizeof(float));
    if (s->remote && !init)
        return s->remote->target_sync(s->remote_ctx, s); /* the workers' copies too */
    if (s->remote)
        return s->remote->push(s->remote_ctx, s);
    return 0;
}

int iamp_session_target_sync(struct iamp_session *s)
{
    if (!s->has_target)
        return IAMP_ESTATE;
    if (s->remote)
        return s->remote->target_sync(s->remote_ctx, s);
    iamp_model_copy_params(&s->target, &s->model);
    return 0;
}

int iamp_session_ref_set(struct iamp_session *s, const float *init)
{
    if (!s->has_ref) {
        int rc = iamp_model_init(&s->ref, &s->model.cfg);
        if (rc)
            return rc;
        s->has_ref = 1;
        apply_pool(s);
    }
    memcpy(s->ref.params, init ? init : s->model.params, s->model.n_params * sizeof(float));
    if (s->remote && !init)
        return s->remote->ref_set(s->remote_ctx, s);
    if (s->remote)
        return s->remote->push(s->remote_ctx, s);
    return 0;
}

/* ------------------------------------------------------------ distillation */

static void add_stats(struct iamp_distill_stats *sum, const struct iamp_distill_stats *st)
{
    sum->loss += st->loss;
    sum->policy_loss += st->policy_loss;
    sum->value_loss += st->value_loss;
    sum->reg_loss += st->reg_loss;
    sum->rows += st->rows;
    sum->compute_s += st->compute_s;
    sum->reduce_wait_s += st->reduce_wait_s;
    sum->optimizer_s += st->optimizer_s;
}

/* Shards [1, n) of a local fit, built on first use (and p_ref's views once
 * the session has p_ref). */
static int ensure_shards(struct iamp_session *s, int n)
{
    if (s->n_shards < 1)
        s->n_shards = 1;
    for (int k = 1; k < n; k++) {
        struct iamp_fit_shard *sh = &s->shard[k];
        int rc = 0;
        if (k >= s->n_shards) {
            iamp_distill_work_init(&sh->work);
            rc = iamp_model_init_view(&sh->m, &s->model);
            s->n_shards = k + 1;
        }
        if (!rc && s->has_ref && !sh->has_ref) {
            rc = iamp_model_init_view(&sh->ref, &s->ref);
            sh->has_ref = rc == 0;
        }
        if (rc)
            return rc;
    }
    return 0;
}

struct shard_job {
    struct iamp_session *s;
    const struct iamp_fit_req *req;
    struct iamp_example *mb;
    int ne, nq, n;
    int rc[IAMP_FIT_SHARDS_MAX];
    struct iamp_distill_stats st[IAMP_FIT_SHARDS_MAX];
};

static void shard_cb(void *ctx, int k, int thread)
{
    struct shard_job *j = ctx;
    struct iamp_session *s = j->s;
    struct iamp_fit_shard *sh = &s->shard[k];
    int lo = (int)((long)j->ne * k / j->n), hi = (int)((long)j->ne * (k + 1) / j->n);
    struct iamp_distill_opts o = {.value_coef = j->req->value_coef,
                                  .ref = !s->has_ref ? NULL
                                         : k         ? &sh->ref
                                                     : &s->ref};
    (void)thread;
    j->rc[k] =
        iamp_distill_grad(k ? &sh->m : &s->model, &s->task, j->mb + lo, hi - lo,
                          1.0f / (float)j->nq, &o, k ? &sh->work : &s->work, &j->st[k], NULL, NULL);
}

/* One minibatch on this process alone: its fixed shards' gradients, side
 * by side on the pool, summed in shard order by the Adam step. */
static int fit_step_local(struct iamp_session *s, struct iamp_example *mb, int ne, int nq,
                          const struct iamp_fit_req *req, struct iamp_distill_stats *st)
{
    struct shard_job j = {.s = s, .req = req, .mb = mb, .ne = ne, .nq = nq};
    j.n = IAMP_FIT_SHARDS_FOR(ne);
    double t0 = iamp_now();
    int rc = ensure_shards(s, j.n);
    if (!rc)
        iamp_pool_run(s->pool, j.n, shard_cb, &j);
    const float *add[IAMP_FIT_SHARDS_MAX];
    memset(st, 0, sizeof(*st));
    for (int k = 0; !rc && k < j.n; k++) {
        rc = j.rc[k];
        st->loss += j.st[k].loss;
        st->policy_loss += j.st[k].policy_loss;
        st->value_loss += j.st[k].value_loss;
        st->reg_loss += j.st[k].reg_loss;
        st->rows += j.st[k].rows;
        if (k > 0)
            add[k - 1] = s->shard[k].m.grads;
    }
    double t1 = iamp_now();
    if (!rc)
        iamp_adam_step_on(&s->adam, s->model.params, s->model.grads, add, j.n - 1, s->pool);
    double t2 = iamp_now();
    st->compute_s = t1 - t0;
    st->optimizer_s = t2 - t1;
    iamp_trace_span("forward+backward", t0, t1);
    iamp_trace_span("optimizer", t1, t2);
    return rc;
}

/* One minibatch of nq questions (ne examples in mb): this copy's share's
 * gradient, summed across copies, then the common Adam step. */
static int fit_step(struct iamp_session *s, const struct iamp_fit_req *req, struct iamp_example *mb,
                    int ne, int nq, int shard, int shards, const struct iamp_grad_reducer *red,
                    struct iamp_distill_stats *st)
{
    if (!red && shards == 1)
        return fit_step_local(s, mb, ne, nq, req, st);
    int lo = (int)((long)ne * shard / shards), hi = (int)((long)ne * (shard + 1) / shards);
    struct iamp_distill_opts o = {.value_coef = req->value_coef,
                                  .ref = s->has_ref ? &s->ref : NULL};
    double t0 = iamp_now();
    int rc = red ? red->begin(red->ctx, s->model.grads, s->model.n_params) : 0;
    if (!rc)
        rc = iamp_distill_grad(&s->model, &s->task, mb + lo, hi - lo, 1.0f / (float)nq, &o,
                               &s->work, st, red ? red->ready : NULL, red ? red->ctx : NULL);
    double t1 = iamp_now();
    if (!rc && red)
        rc = red->finish(red->ctx);
    double t2 = iamp_now();
    if (!rc)
        iamp_adam_step_on(&s->adam, s->model.params, s->model.grads, NULL, 0, s->pool);
    double t3 = iamp_now();
    st->compute_s = t1 - t0;
    st->reduce_wait_s = t2 - t1;
    st->optimizer_s = t3 - t2;
    iamp_trace_span("forward+backward", t0, t1);
    if (red)
        iamp_trace_span("allreduce wait", t1, t2);
    iamp_trace_span("optimizer", t2, t3);
    return rc;
}

/* The examples of questions order[i, i + nq) into mb; returns how many. */
static int gather_minibatch(const struct iamp_fit_req *req, int i, int nq, struct iamp_example *mb)
{
    int ne = 0;
    for (int k = 0; k < nq; k++) {
        int q = req->order[i + k];
        int first = req->first ? req->first[q] : q, count = req->count ? req->count[q] : 1;
        for (int e = 0; e < count; e++)
            mb[ne++] = req->ex[first + e];
    }
    return ne;
}

static int fit_request_ok(const struct iamp_fit_req *req, int shard, int shards)
{
    if (req->batch < 1 || shards < 1 || shard < 0 || shard >= shards || req->n_questions < 0)
        return 0;
    for (int i = 0; i < req->n_order; i++)
        if (req->order[i] < 0 || req->order[i] >= req->n_questions)
            return 0;
    for (int q = 0; req->first && q < req->n_questions; q++)
        if (req->first[q] < 0 || req->count[q] < 0 || req->first[q] + req->count[q] > req->n)
            return 0;
    return req->first || req->n_questions <= req->n;
}

int iamp_session_fit_shard(struct iamp_session *s, const struct iamp_fit_req *req, int shard,
                           int shards, const struct iamp_grad_reducer *red,
                           struct iamp_distill_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!fit_request_ok(req, shard, shards))
        return IAMP_EINVAL;
    int most = 1; /* examples of one question at most */
    for (int q = 0; req->count && q < req->n_questions; q++)
        most = req->count[q] > most ? req->count[q] : most;
    struct iamp_example *mb = malloc((size_t)req->batch * (size_t)most * sizeof(*mb));
    if (!mb)
        return IAMP_ENOMEM;
    s->adam.lr = req->lr;
    int rc = 0;
    long steps = 0;
    for (int i = 0; i < req->n_order && !rc; i += req->batch) {
        int nq = req->n_order - i < req->batch ? req->n_order - i : req->batch;
        int ne = gather_minibatch(req, i, nq, mb);
        if (ne == 0)
            continue; /* nothing to learn from these questions (every copy skips) */
        struct iamp_distill_stats one;
        rc = fit_step(s, req, mb, ne, nq, shard, shards, red, &one);
        add_stats(st, &one);
        steps++;
    }
    free(mb);
    if (steps > 0) {
        st->loss /= (double)steps;
        st->policy_loss /= (double)steps;
        st->value_loss /= (double)steps;
        st->reg_loss /= (double)steps;
    }
    return rc;
}

int iamp_session_fit(struct iamp_session *s, const struct iamp_fit_req *req,
                     struct iamp_distill_stats *st)
{
    if (s->remote)
        return s->remote->fit(s->remote_ctx, s, req, st);
    return iamp_session_fit_shard(s, req, 0, 1, NULL, st);
}

int iamp_session_pull(struct iamp_session *s)
{
    return s->remote ? s->remote->pull(s->remote_ctx, s) : 0;
}
