/* session.c — build a task + model + optimizer + engine, fresh or from a
 * checkpoint, and the local leaf function that lets M answer leaves. */
#include "coordinator/session.h"

#include "worker/policy.h"

#include <stdio.h>
#include <string.h>

static void config_for(const struct iamp_task *t, const struct iamp_model_opts *mo,
                       struct iamp_model_config *c)
{
    c->vocab = t->vocab;
    c->n_types = t->n_types;
    c->q_len = t->q_len;
    c->a_len = t->a_len;
    c->embed = mo->embed;
    c->hidden = mo->hidden;
    c->layers = mo->layers;
}

static int build(struct iamp_session *s, const struct iamp_model_config *c, float lr, char *err,
                 size_t errlen)
{
    int rc = iamp_model_init(&s->model, c);
    if (!rc)
        rc = iamp_adam_init(&s->adam, s->model.lay.total, lr);
    if (rc) {
        snprintf(err, errlen, "cannot build the model: %s", iamp_strerror(rc));
        return rc;
    }
    iamp_engine_init(&s->engine, &s->task);
    s->open = 1;
    return 0;
}

int iamp_session_open(struct iamp_session *s, const char *task_spec,
                      const struct iamp_model_opts *mo, float lr, uint64_t seed, char *err,
                      size_t errlen)
{
    memset(s, 0, sizeof(*s));
    int rc = iamp_task_create(&s->task, task_spec, err, errlen);
    if (rc)
        return rc;
    struct iamp_model_config c;
    config_for(&s->task, mo, &c);
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
    struct iamp_model_config c = {(int)sh->vocab, (int)sh->n_types, (int)sh->q_len, (int)sh->a_len,
                                  (int)sh->embed, (int)sh->hidden,  (int)sh->layers};
    if (c.vocab != s->task.vocab || c.n_types != s->task.n_types || c.q_len != s->task.q_len ||
        c.a_len != s->task.a_len) {
        snprintf(err, errlen, "model shape does not fit task %s", s->task.spec);
        return IAMP_EMISMATCH;
    }
    float lr = ck->has_config ? ck->config.lr : 1e-3f;
    int rc = build(s, &c, lr, err, errlen);
    if (rc)
        return rc;
    if (ck->n_params != s->model.lay.total) {
        snprintf(err, errlen, "holds %zu parameters, its shape needs %zu", ck->n_params,
                 s->model.lay.total);
        return IAMP_ECORRUPT;
    }
    memcpy(s->model.params, ck->params, ck->n_params * sizeof(float));
    if (ck->adam_m && ck->adam_v) {
        memcpy(s->adam.m, ck->adam_m, ck->n_params * sizeof(float));
        memcpy(s->adam.v, ck->adam_v, ck->n_params * sizeof(float));
        s->adam.t = (int64_t)ck->adam_t;
    }
    return 0;
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
    rc = iamp_task_create(&s->task, ck.task, err, errlen);
    if (!rc && task_spec) {
        struct iamp_task want;
        rc = iamp_task_create(&want, task_spec, err, errlen);
        if (!rc && strcmp(want.spec, s->task.spec) != 0) {
            snprintf(err, errlen, "trained on task %s, not %s", s->task.spec, want.spec);
            rc = IAMP_EMISMATCH;
        }
        iamp_task_destroy(&want);
    }
    if (!rc)
        rc = adopt_checkpoint(s, &ck, err, errlen);
    if (rc || !ck_out)
        iamp_checkpoint_release(&ck);
    else
        *ck_out = ck;
    if (rc)
        iamp_session_close(s);
    return rc;
}

void iamp_session_close(struct iamp_session *s)
{
    if (!s)
        return;
    iamp_engine_release(&s->engine);
    iamp_adam_release(&s->adam);
    iamp_model_release(&s->model);
    iamp_task_destroy(&s->task);
    memset(s, 0, sizeof(*s));
}

void iamp_session_checkpoint_view(const struct iamp_session *s, struct iamp_checkpoint *ck)
{
    const struct iamp_model_config *c = &s->model.cfg;
    memset(ck, 0, sizeof(*ck));
    snprintf(ck->task, sizeof(ck->task), "%s", s->task.spec);
    ck->shape = (struct iamp_model_shape){
        (uint32_t)c->vocab, (uint32_t)c->n_types, (uint32_t)c->q_len, (uint32_t)c->a_len,
        (uint32_t)c->embed, (uint32_t)c->hidden,  (uint32_t)c->layers};
    ck->n_params = s->model.lay.total;
    ck->params = s->model.params;
    ck->adam_m = s->adam.m;
    ck->adam_v = s->adam.v;
    ck->adam_t = (uint64_t)s->adam.t;
}

int iamp_leaf_local(void *ctx, const struct iamp_question *qs, const int *depth, int n,
                    struct iamp_answer *out)
{
    struct iamp_leaf_ctx *c = ctx;
    (void)depth; /* a local engine's leaves are all depth 0: M alone */
    return iamp_policy_answer(c->model, c->task, qs, n, c->mode, c->temperature, c->rng, out);
}

int iamp_session_answer(struct iamp_session *s, const struct iamp_question *qs, int n,
                        struct iamp_answer *out)
{
    return iamp_policy_answer(&s->model, &s->task, qs, n, IAMP_DECODE_GREEDY, 1.0f, NULL, out);
}

int iamp_session_amplify(struct iamp_session *s, const struct iamp_question *qs, int n, int depth,
                         struct iamp_answer *out)
{
    struct iamp_leaf_ctx ctx = {&s->model, &s->task, IAMP_DECODE_GREEDY, 1.0f, NULL};
    return iamp_engine_run(&s->engine, qs, n, depth, iamp_leaf_local, &ctx, out);
}
