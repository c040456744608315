/* backend_local.c — the backend of `iamp serve`: one session holds the
 * task, the model M being trained and the engine; published versions are
 * copies of M's parameters that answering jobs pin (see backend.h).
 *
 * Under mpirun the session is attached to the cluster (worker/
 * cluster.h): training rounds run on the workers, every published version
 * is copied to every worker (and dropped with its last pin), and answers
 * are amplified there with the pinned version. The tree-size limit of a
 * job is then enforced at submission only (the request checks bound it).
 *
 * Versions form a list; the backend holds one reference on the newest.
 * At most max_versions exist: when a training round would publish beyond
 * that, the publish waits (stale) until an older version's last pin goes.
 * Runs entirely on the executor thread.
 */
#include "coordinator/serve/backend.h"

#include "coordinator/train/evaluate.h"
#include "coordinator/train/metrics.h"
#include "worker/cluster.h"
#include "worker/policy.h"
#include "worker/session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct iamp_model_ref {
    int refs;
    uint64_t id; /* names the version on the workers */
    uint64_t round;
    struct iamp_model model;
    struct iamp_model_ref *next;
};

struct local {
    struct iamp_backend base; /* first: ops see a struct iamp_backend * */
    struct iamp_backend_local_opts o;
    char ckpath[4096];
    struct iamp_session s;
    uint64_t m_round;              /* rounds M has done */
    struct iamp_model_ref *newest; /* holds one reference */
    struct iamp_model_ref *live;   /* every version */
    int n_live, stale;
    int training;
    struct iamp_trainer tr;
    struct iamp_run run; /* the open training job's run (train.h) */
    struct iamp_eval_set ev;
    struct iamp_cluster *cl; /* NULL: one process */
    uint64_t next_id;
};

static struct local *local_of(struct iamp_backend *b)
{
    return (struct local *)b;
}

static void unref(struct local *l, struct iamp_model_ref *v);

/* Make M (round m_round) the newest version, unless max_versions exist. */
/* Copy v to the workers under a fresh id (cluster mode). */
static int share_version(struct local *l, struct iamp_model_ref *v)
{
    if (!l->cl)
        return 0;
    if (v->id && iamp_cluster_drop_version(l->cl, v->id))
        return IAMP_EMPI;
    v->id = ++l->next_id;
    return iamp_cluster_put_version(l->cl, v->id, v->model.params, v->model.n_params);
}

static int publish(struct local *l)
{
    if (l->newest && l->newest->round == l->m_round && !l->stale)
        return 0;
    int rc = iamp_session_pull(&l->s); /* M lives on the workers under mpirun */
    if (rc)
        return rc;
    if (l->newest && l->newest->refs == 1) { /* nobody pins it: overwrite */
        iamp_model_copy_params(&l->newest->model, &l->s.model);
        l->newest->round = l->m_round;
        l->base.round = l->m_round;
        l->stale = 0;
        return share_version(l, l->newest);
    }
    if (l->n_live >= l->o.max_versions) {
        l->stale = 1;
        return 0;
    }
    struct iamp_model_ref *v = calloc(1, sizeof(*v));
    if (!v)
        return IAMP_ENOMEM;
    rc = iamp_model_init(&v->model, &l->s.model.cfg);
    v->model.pool = l->o.pool;
    if (!rc) {
        iamp_model_copy_params(&v->model, &l->s.model);
        rc = share_version(l, v);
    }
    if (rc) {
        iamp_model_release(&v->model);
        free(v);
        return rc;
    }
    v->round = l->m_round;
    v->refs = 1;
    v->next = l->live;
    l->live = v;
    l->n_live++;
    l->stale = 0;
    struct iamp_model_ref *old = l->newest;
    l->newest = v;
    l->base.round = v->round;
    if (old)
        unref(l, old);
    return 0;
}

static void unref(struct local *l, struct iamp_model_ref *v)
{
    if (--v->refs > 0)
        return;
    for (struct iamp_model_ref **p = &l->live; *p; p = &(*p)->next) {
        if (*p == v) {
            *p = v->next;
            break;
        }
    }
    if (l->cl && v->id && iamp_cluster_drop_version(l->cl, v->id))
        fprintf(stderr, "iamp: serve: could not drop a model version on the workers\n");
    iamp_model_release(&v->model);
    free(v);
    l->n_live--;
    if (l->stale && publish(l))
        l->stale = 1; /* out of memory: try again at the next unpin */
}

static int local_pin(struct iamp_backend *b, struct iamp_model_ref **ref, uint64_t *round)
{
    struct local *l = local_of(b);
    if (l->stale) {
        int rc = publish(l);
        if (rc)
            return rc;
    }
    l->newest->refs++;
    *ref = l->newest;
    *round = l->newest->round;
    return 0;
}

static void local_unpin(struct iamp_backend *b, struct iamp_model_ref *ref)
{
    if (ref)
        unref(local_of(b), ref);
}

static int local_amplify(struct iamp_backend *b, struct iamp_model_ref *ref,
                         const struct iamp_question *qs, int n, int depth, long max_nodes,
                         iamp_engine_trace_cb trace_cb, void *trace_ctx, struct iamp_answer *out,
                         long *nodes)
{
    struct local *l = local_of(b);
    if (l->cl && trace_cb)
        return IAMP_ESTATE; /* the workers' subtrees would not be traced */
    if (l->cl) {
        struct iamp_amp_req req = {.depth = depth,
                                   .pick = IAMP_PICK_VERSION,
                                   .decode = IAMP_DECODE_GREEDY,
                                   .temperature = 1.0f,
                                   .version = ref->id};
        *nodes = 0; /* not counted across ranks; the limit was checked at submission */
        return iamp_session_run(&l->s, qs, n, &req, out);
    }
    struct iamp_engine *e = &l->s.engine;
    struct iamp_leaf_ctx ctx = {&ref->model, &l->s.task, IAMP_DECODE_GREEDY, 1.0f, NULL};
    long saved = e->max_nodes, before = e->stats.nodes;
    e->max_nodes = max_nodes;
    e->trace_cb = trace_cb;
    e->trace_ctx = trace_ctx;
    int rc = iamp_engine_run(e, qs, n, depth, iamp_leaf_local, &ctx, out);
    e->trace_cb = NULL;
    e->trace_ctx = NULL;
    e->max_nodes = saved;
    *nodes = e->stats.nodes - before;
    return rc;
}

static int share_correct(struct local *l, struct iamp_model_ref *ref, int depth, double *share)
{
    long nodes = 0;
    int rc = local_amplify(&l->base, ref, l->ev.qs, l->ev.n, depth, 1L << 30, NULL, NULL, l->ev.buf,
                           &nodes);
    if (rc)
        return rc;
    long right = 0;
    for (int i = 0; i < l->ev.n; i++)
        right += iamp_task_correct(&l->s.task, &l->ev.qs[i], &l->ev.buf[i]);
    *share = (double)right / l->ev.n;
    return 0;
}

static int local_evaluate(struct iamp_backend *b, struct iamp_model_ref *ref, int depth,
                          int eval_size, double *accuracy, double *amplified)
{
    struct local *l = local_of(b);
    if (l->ev.n == 0 || l->ev.n != eval_size) {
        iamp_eval_set_release(&l->ev);
        /* the held-out set iamp train and eval use */
        int rc = iamp_eval_set_init(&l->ev, &l->s.task, eval_size, IAMP_EVAL_SEED);
        if (rc)
            return rc;
    }
    int rc = share_correct(l, ref, 0, accuracy);
    return rc ? rc : share_correct(l, ref, depth, amplified);
}

/* A model trained before continues its saved settings; a fresh one
 * starts from its task's plan (iamp train's defaults, then the task's). The
 * job's own parameters come last. */
static int opts_for(struct local *l, const struct iamp_train_params *p,
                    const struct iamp_checkpoint *ck, struct iamp_train_opts *o, char *err,
                    size_t errlen)
{
    struct iamp_train_plan plan;
    int rc = iamp_train_plan_for_task(&plan, l->s.task.spec, NULL, err, errlen);
    if (rc)
        return rc;
    *o = plan.o;
    if (ck)
        o->cfg = ck->config;
    else if (p->has_seed)
        o->cfg.seed = p->seed;
    if (p->algo[0])
        snprintf(o->cfg.algo, sizeof(o->cfg.algo), "%s", p->algo);
    if (p->questions_per_round)
        o->cfg.questions_per_round = p->questions_per_round;
    return 0;
}

static int open_metrics(struct local *l, const char *path, char *err, size_t errlen)
{
    l->run.metrics = NULL;
    if (path && iamp_metrics_open(path, 1, &l->run.metrics)) {
        snprintf(err, errlen, "cannot open %.200s", path);
        return IAMP_EIO;
    }
    return 0;
}

static int local_train_open(struct iamp_backend *b, const struct iamp_train_params *p,
                            const char *metrics_path, uint64_t *round, char *err, size_t errlen)
{
    struct local *l = local_of(b);
    struct iamp_checkpoint ck;
    struct iamp_train_opts o;
    int have = 0, rc = 0;
    memset(&ck, 0, sizeof(ck));
    if (l->training) {
        snprintf(err, errlen, "a training job is already open");
        return IAMP_ESTATE;
    }
    if (access(l->ckpath, F_OK) == 0) {
        rc = iamp_checkpoint_load(l->ckpath, &ck);
        if (rc) {
            snprintf(err, errlen, "%s: %s", l->ckpath, iamp_strerror(rc));
            return rc;
        }
        have = ck.has_config && ck.has_rng;
    }
    rc = opts_for(l, p, have ? &ck : NULL, &o, err, errlen);
    if (!rc)
        rc = iamp_trainer_init(&l->tr, &l->s, &o, have ? &ck : NULL, err, errlen);
    iamp_checkpoint_release(&ck);
    if (!rc && (rc = open_metrics(l, metrics_path, err, errlen)) != 0)
        iamp_trainer_release(&l->tr);
    if (rc)
        return rc;
    l->run = (struct iamp_run){&l->tr, l->o.cadence, 0, l->ckpath, l->run.metrics, NULL};
    l->training = 1;
    l->m_round = (uint64_t)l->tr.round;
    *round = l->m_round;
    return 0;
}

static int local_train_round(struct iamp_backend *b, uint64_t last_round,
                             struct iamp_round_stats *st, char *err, size_t errlen)
{
    struct local *l = local_of(b);
    if (!l->training) {
        snprintf(err, errlen, "no training job is open");
        return IAMP_ESTATE;
    }
    l->run.last_round = (long)last_round;
    int rc = iamp_run_round(&l->run, st, err, errlen);
    l->m_round = (uint64_t)l->tr.round;
    if (!rc && (rc = publish(l)) != 0)
        snprintf(err, errlen, "cannot publish the model: %s", iamp_strerror(rc));
    return rc;
}

static int local_train_close(struct iamp_backend *b, char *err, size_t errlen)
{
    struct local *l = local_of(b);
    struct iamp_round_stats st = {0};
    if (!l->training)
        return 0;
    int rc = iamp_run_finish(&l->run, 0, &st, err, errlen);
    if (l->run.metrics)
        fclose(l->run.metrics);
    iamp_trainer_release(&l->tr);
    memset(&l->run, 0, sizeof(l->run));
    l->training = 0;
    return rc;
}

static void local_destroy(struct iamp_backend *b)
{
    struct local *l = local_of(b);
    char err[256];
    if (l->training && local_train_close(b, err, sizeof(err)))
        fprintf(stderr, "iamp: serve: %s\n", err);
    while (l->live) {
        struct iamp_model_ref *v = l->live;
        l->live = v->next;
        iamp_model_release(&v->model);
        free(v);
    }
    iamp_eval_set_release(&l->ev);
    iamp_session_close(&l->s);
    free(l);
}

static const struct iamp_backend_ops local_ops = {
    .pin = local_pin,
    .unpin = local_unpin,
    .amplify = local_amplify,
    .evaluate = local_evaluate,
    .train_open = local_train_open,
    .train_round = local_train_round,
    .train_close = local_train_close,
    .destroy = local_destroy,
};

static int open_session(struct local *l, char *err, size_t errlen)
{
    const struct iamp_backend_local_opts *o = &l->o;
    if (access(l->ckpath, F_OK) == 0) {
        struct iamp_checkpoint ck;
        char why[512];
        int rc = iamp_session_load(&l->s, l->ckpath, o->task, &ck, why, sizeof(why));
        if (rc) {
            snprintf(err, errlen, "%s: %s", l->ckpath, why);
            return rc;
        }
        l->m_round = ck.round;
        iamp_checkpoint_release(&ck);
        return 0;
    }
    if (!o->task) {
        snprintf(err, errlen, "no model: %s does not exist and no task was given", l->ckpath);
        return IAMP_ENOENT;
    }
    struct iamp_train_plan plan; /* the shape iamp train gives a model of this task */
    int rc = iamp_train_plan_for_task(&plan, o->task, NULL, err, errlen);
    return rc ? rc
              : iamp_session_open(&l->s, o->task, &plan.mo, plan.o.cfg.lr, o->seed, err, errlen);
}

int iamp_backend_local_new(const struct iamp_backend_local_opts *o, struct iamp_backend **out,
                           char *err, size_t errlen)
{
    *out = NULL;
    struct local *l = calloc(1, sizeof(*l));
    if (!l)
        return IAMP_ENOMEM;
    l->o = *o;
    if (l->o.max_versions < 2)
        l->o.max_versions = 2;
    if (l->o.cadence.eval_every < 0 || l->o.cadence.eval_budget <= 0.0 ||
        l->o.cadence.checkpoint_every < 1) {
        struct iamp_train_plan plan;
        iamp_train_plan_default(&plan);
        l->o.cadence = plan.cadence;
    }
    snprintf(l->ckpath, sizeof(l->ckpath), "%s", o->checkpoint);
    l->base.ops = &local_ops;
    l->base.ranks = 1;
    int rc = open_session(l, err, errlen);
    if (!rc)
        iamp_session_set_pool(&l->s, o->pool);
    l->cl = o->cluster;
    if (!rc && l->cl) {
        rc = iamp_cluster_attach(l->cl, &l->s);
        l->base.ranks = (uint32_t)l->cl->workers + 1;
        if (rc)
            snprintf(err, errlen, "cannot set up the workers: %s", iamp_strerror(rc));
    }
    if (!rc)
        rc = publish(l);
    if (rc) {
        if (rc == IAMP_ENOMEM)
            snprintf(err, errlen, "out of memory");
        local_destroy(&l->base);
        return rc;
    }
    snprintf(l->base.task, sizeof(l->base.task), "%s", l->s.task.spec);
    *out = &l->base;
    return 0;
}

void iamp_backend_free(struct iamp_backend *b)
{
    if (b)
        b->ops->destroy(b);
}
