/* cluster.c — see cluster.h. Runs on rank 0's command thread. */
#include "worker/cluster.h"

#include "common/clock.h"
#include "common/trace.h"
#include "worker/worker_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAMP_UNIT_MAX 512 /* questions per greedy unit at most */

void iamp_cluster_opts_default(struct iamp_cluster_opts *o)
{
    o->credit = 2;
    o->bucket_bytes = 1u << 20;
    o->check_params = 0;
}

void iamp_cluster_init(struct iamp_cluster *cl, struct iamp_comm *c,
                       const struct iamp_cluster_opts *o)
{
    memset(cl, 0, sizeof(*cl));
    cl->c = c;
    cl->workers = c->size - 1;
    cl->o = *o;
}

/* --------------------------------------------------------------- replies */

static void log_missing(const struct iamp_cluster *cl, const int *pending, const char *what,
                        double waited)
{
    char ranks[512];
    int n = 0;
    ranks[0] = '\0';
    for (int r = 1; r <= cl->workers && n < (int)sizeof(ranks) - 12; r++)
        if (pending[r])
            n += snprintf(ranks + n, sizeof(ranks) - (size_t)n, "%s%d", n ? ", " : "", r);
    fprintf(stderr, "iamp: %s: no reply from rank(s) %s after %.0f s\n", what, ranks, waited);
}

/* The next reply from any worker with pending[src] set. A worker's ERROR
 * reply fails the wait with its reason printed. */
static int next_reply(struct iamp_cluster *cl, const int *pending, const char *what,
                      struct iamp_comm_msg *m)
{
    double start = iamp_now(), last = start;
    int periods = 0;
    for (long idle = 0;; idle++) {
        int got = 0;
        int rc = iamp_comm_poll(cl->c, MPI_ANY_SOURCE, IAMP_TAG_REPLY, m, &got);
        if (rc)
            return rc;
        if (got && m->op == IAMP_OP_ERROR) {
            fprintf(stderr, "iamp: %s: rank %d: %.*s\n", what, m->src, (int)m->len,
                    m->payload ? (const char *)m->payload : "");
            iamp_comm_msg_release(m);
            return IAMP_EMPI;
        }
        if (got)
            return 0;
        iamp_comm_backoff(idle);
        double now = iamp_now();
        if ((now - last) * 1000.0 >= cl->c->timeout_ms) {
            log_missing(cl, pending, what, now - start);
            last = now;
            if (++periods >= IAMP_TIMEOUT_PERIODS)
                return IAMP_ETIMEOUT;
        }
    }
}

/* Send the same command to every worker. */
static int broadcast(struct iamp_cluster *cl, uint32_t op, uint64_t arg, const void *p, size_t len)
{
    for (int r = 1; r <= cl->workers; r++) {
        int rc = iamp_comm_send(cl->c, r, IAMP_TAG_CMD, op, arg, p, len);
        if (rc)
            return rc;
    }
    return 0;
}

/* Wait for one reply of kind op from every worker; each is handed to fn. */
static int gather(struct iamp_cluster *cl, uint32_t op, const char *what,
                  int (*fn)(struct iamp_cluster *cl, const struct iamp_comm_msg *m, void *ctx),
                  void *ctx)
{
    int *pending = calloc((size_t)cl->workers + 1, sizeof(int));
    if (!pending)
        return IAMP_ENOMEM;
    for (int r = 1; r <= cl->workers; r++)
        pending[r] = 1;
    int rc = 0;
    for (int left = cl->workers; left > 0 && !rc;) {
        struct iamp_comm_msg m;
        rc = next_reply(cl, pending, what, &m);
        if (rc)
            break;
        if (m.op != op || !pending[m.src])
            rc = IAMP_ESTATE;
        else {
            pending[m.src] = 0;
            left--;
            rc = fn ? fn(cl, &m, ctx) : 0;
        }
        iamp_comm_msg_release(&m);
    }
    free(pending);
    return rc;
}

/* --------------------------------------------------------------- answering */

struct unit {
    int first, count; /* questions [first, first + count) of the request */
};

struct dispatch {
    const struct iamp_question *qs;
    const int *depth; /* per question, or NULL: req->depth */
    const struct iamp_amp_req *req;
    struct iamp_answer *out;
    struct unit *units;
    int n_units, next, done;
    uint64_t base_id;
    int sampled_units; /* units are IAMP_SESSION_UNIT-aligned roots */
    int *inflight;     /* per rank */
};

static int send_unit(struct iamp_cluster *cl, struct dispatch *d, int rank)
{
    int k = d->next++;
    const struct unit *u = &d->units[k];
    int *depth = malloc((size_t)u->count * sizeof(int));
    if (!depth)
        return IAMP_ENOMEM;
    for (int i = 0; i < u->count; i++)
        depth[i] = d->depth ? d->depth[u->first + i] : d->req->depth;
    struct iamp_work_unit wu = {d->base_id + (uint64_t)k,
                                u->count,
                                (struct iamp_question *)(d->qs + u->first),
                                depth,
                                (uint32_t)d->req->decode,
                                d->req->temperature,
                                d->req->seed,
                                (uint32_t)d->req->pick,
                                d->sampled_units ? (uint64_t)k : 0,
                                d->req->version,
                                NULL,
                                0};
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = iamp_work_unit_encode(&wu, &buf, &len);
    if (!rc)
        rc = iamp_comm_send(cl->c, rank, IAMP_TAG_CMD, IAMP_OP_RUN, 0, buf, len);
    free(buf);
    free(depth);
    d->inflight[rank]++;
    cl->units++;
    return rc;
}

static int take_result(struct iamp_cluster *cl, struct dispatch *d, const struct iamp_comm_msg *m)
{
    uint64_t id;
    int got = 0;
    if (m->op != IAMP_OP_RUN)
        return IAMP_ESTATE;
    struct iamp_answer *tmp = malloc((size_t)IAMP_UNIT_MAX * sizeof(*tmp));
    if (!tmp)
        return IAMP_ENOMEM;
    int rc = iamp_unit_result_decode(m->payload, m->len, &id, tmp, IAMP_UNIT_MAX, &got);
    int k = (int)(id - d->base_id);
    if (!rc && (id < d->base_id || k >= d->n_units || got != d->units[k].count))
        rc = IAMP_ECORRUPT;
    if (!rc) {
        memcpy(d->out + d->units[k].first, tmp, (size_t)got * sizeof(*tmp));
        d->inflight[m->src]--;
        d->done++;
        cl->leaf_calls += (long)m->arg;
    }
    free(tmp);
    return rc;
}

static int plan_units(struct iamp_cluster *cl, struct dispatch *d, int n)
{
    int size = IAMP_SESSION_UNIT;
    if (!d->sampled_units) {
        /* About two units per worker slot: credit keeps everyone busy, a
         * slow worker holds back only a small share, and units stay large
         * enough for M's batched forward passes to run near BLAS speed. */
        int want = cl->workers * cl->o.credit * 2;
        size = (n + want - 1) / want;
        size = size < 1 ? 1 : (size > IAMP_UNIT_MAX ? IAMP_UNIT_MAX : size);
    }
    d->n_units = (n + size - 1) / size;
    d->units = calloc((size_t)(d->n_units ? d->n_units : 1), sizeof(*d->units));
    if (!d->units)
        return IAMP_ENOMEM;
    for (int k = 0; k < d->n_units; k++) {
        d->units[k].first = k * size;
        d->units[k].count = n - k * size < size ? n - k * size : size;
    }
    return 0;
}

static int dispatch_all(struct iamp_cluster *cl, struct dispatch *d)
{
    int rc = 0;
    for (int c = 0; c < cl->o.credit && !rc; c++)
        for (int r = 1; r <= cl->workers && d->next < d->n_units && !rc; r++)
            rc = send_unit(cl, d, r);
    while (!rc && d->done < d->n_units) {
        struct iamp_comm_msg m;
        rc = next_reply(cl, d->inflight, "amplify", &m);
        if (rc)
            break;
        int src = m.src;
        rc = take_result(cl, d, &m);
        iamp_comm_msg_release(&m);
        if (!rc && d->next < d->n_units)
            rc = send_unit(cl, d, src);
    }
    return rc;
}

static int ship(struct iamp_cluster *cl, const struct iamp_question *qs, const int *depth, int n,
                const struct iamp_amp_req *req, int sampled_units, struct iamp_answer *out)
{
    struct dispatch d = {qs, depth, req, out, NULL, 0, 0, 0, cl->next_unit_id, sampled_units, NULL};
    double t0 = iamp_now();
    d.inflight = calloc((size_t)cl->workers + 1, sizeof(int));
    int rc = d.inflight ? plan_units(cl, &d, n) : IAMP_ENOMEM;
    if (!rc)
        rc = dispatch_all(cl, &d);
    cl->next_unit_id += (uint64_t)d.n_units;
    free(d.units);
    free(d.inflight);
    iamp_trace_span("dispatch", t0, iamp_now());
    return rc;
}

struct top_ctx {
    struct iamp_cluster *cl;
    const struct iamp_amp_req *req;
};

static int top_leaf_cb(void *ctx, const struct iamp_question *qs, const int *depth, int n,
                       struct iamp_answer *out)
{
    struct top_ctx *t = ctx;
    return ship(t->cl, qs, depth, n, t->req, 0, out);
}

static int cluster_run(void *ctx, struct iamp_session *s, const struct iamp_question *qs, int n,
                       const struct iamp_amp_req *req, struct iamp_answer *out)
{
    struct iamp_cluster *cl = ctx;
    double t0 = iamp_now();
    int rc;
    if (n == 0)
        return 0;
    /* An overseer that lives here (H'): every episode runs here, in the
     * order one process runs them, and only M's leaves are shipped. */
    int here = s->task.overseer_here && req->depth > 0;
    if (here && req->decode != IAMP_DECODE_GREEDY)
        return IAMP_EINVAL; /* no mode samples amplified answers */
    if (!here && (req->decode == IAMP_DECODE_SAMPLE || req->depth == 0 || n >= 2 * cl->workers)) {
        rc = ship(cl, qs, NULL, n, req, req->decode == IAMP_DECODE_SAMPLE, out);
    } else {
        /* Too few roots for the workers: H expands the top level here and
         * the subtrees below it are shipped. */
        struct top_ctx t = {cl, req};
        s->engine.leaf_depth = here ? 0 : req->depth - 1;
        rc = iamp_engine_run(&s->engine, qs, n, req->depth, top_leaf_cb, &t, out);
        s->engine.leaf_depth = 0;
    }
    iamp_trace_span("amplify", t0, iamp_now());
    return rc;
}

/* --------------------------------------------------------------- training */

/* Losses add up across shares. Times: compute and optimizer take the
 * slowest worker; the allreduce wait takes the smallest, because the worker
 * that finishes backward last waits only for the communication itself
 * while the others also wait for it (load imbalance is not communication). */
static int sum_fit(struct iamp_cluster *cl, const struct iamp_comm_msg *m, void *ctx)
{
    struct iamp_fit_report r;
    int *first = ctx;
    int rc = iamp_fit_report_decode(m->payload, m->len, &r);
    if (rc)
        return rc;
    struct iamp_fit_report *f = &cl->fit;
    f->loss += r.loss;
    f->policy_loss += r.policy_loss;
    f->value_loss += r.value_loss;
    f->rows += r.rows;
    f->backward_s = r.backward_s > f->backward_s ? r.backward_s : f->backward_s;
    f->optimizer_s = r.optimizer_s > f->optimizer_s ? r.optimizer_s : f->optimizer_s;
    f->allreduce_s = r.allreduce_s > f->allreduce_s ? r.allreduce_s : f->allreduce_s;
    if (*first || r.allreduce_wait_s < f->allreduce_wait_s)
        f->allreduce_wait_s = r.allreduce_wait_s;
    *first = 0;
    return 0;
}

/* Compare parameter checksums across workers (IAMP_EMISMATCH). */
static int check_params(struct iamp_cluster *cl);

static int cluster_fit(void *ctx, struct iamp_session *s, const struct iamp_fit_req *req,
                       struct iamp_distill_stats *st)
{
    struct iamp_cluster *cl = ctx;
    (void)s;
    struct iamp_train_batch b = {.n = req->n,
                                 .ex = (struct iamp_example *)req->ex,
                                 .n_questions = req->n_questions,
                                 .first = (int *)req->first,
                                 .count = (int *)req->count,
                                 .n_order = req->n_order,
                                 .order = (int *)req->order,
                                 .batch = (uint32_t)req->batch,
                                 .lr = req->lr,
                                 .value_coef = req->value_coef};
    uint8_t *buf = NULL;
    size_t len = 0;
    double t0 = iamp_now();
    memset(&cl->fit, 0, sizeof(cl->fit));
    int rc = iamp_train_batch_encode(&b, &buf, &len);
    if (!rc)
        rc = broadcast(cl, IAMP_OP_FIT, (uint64_t)cl->measure_blocking, buf, len);
    free(buf);
    if (!rc)
        rc = gather(cl, IAMP_OP_FIT, "fit", sum_fit, &(int){1});
    iamp_trace_span("fit", t0, iamp_now());
    if (!rc && cl->o.check_params)
        rc = check_params(cl);
    memset(st, 0, sizeof(*st));
    st->loss = cl->fit.loss;
    st->policy_loss = cl->fit.policy_loss;
    st->value_loss = cl->fit.value_loss;
    st->rows = (long)cl->fit.rows;
    st->compute_s = cl->fit.backward_s;
    st->reduce_wait_s = cl->fit.allreduce_wait_s;
    st->optimizer_s = cl->fit.optimizer_s;
    return rc;
}

static int cluster_target_sync(void *ctx, struct iamp_session *s)
{
    (void)s;
    return broadcast(ctx, IAMP_OP_SYNC, 0, NULL, 0);
}

struct checksums {
    uint64_t m[2];
    int first_rank, bad_rank;
};

static int compare_checksum(struct iamp_cluster *cl, const struct iamp_comm_msg *m, void *ctx)
{
    struct checksums *c = ctx;
    uint64_t t = 0;
    (void)cl;
    if (m->len == sizeof(t))
        memcpy(&t, m->payload, sizeof(t));
    if (c->first_rank == 0) {
        c->first_rank = m->src;
        c->m[0] = m->arg;
        c->m[1] = t;
    } else if (c->m[0] != m->arg || c->m[1] != t) {
        c->bad_rank = m->src;
    }
    return 0;
}

static int check_params(struct iamp_cluster *cl)
{
    struct checksums c = {{0, 0}, 0, 0};
    int rc = broadcast(cl, IAMP_OP_CHECKSUM, 0, NULL, 0);
    if (!rc)
        rc = gather(cl, IAMP_OP_CHECKSUM, "checksum", compare_checksum, &c);
    if (!rc && c.bad_rank) {
        fprintf(stderr, "iamp: parameters differ between rank %d and rank %d\n", c.first_rank,
                c.bad_rank);
        rc = IAMP_EMISMATCH;
    }
    return rc;
}

/* --------------------------------------------------------------- state */

static int cluster_pull(void *ctx, struct iamp_session *s)
{
    struct iamp_cluster *cl = ctx;
    int pending[2] = {0, 1};
    struct iamp_comm_msg m;
    struct iamp_checkpoint ck;
    int rc = iamp_comm_send(cl->c, 1, IAMP_TAG_CMD, IAMP_OP_PULL, 0, NULL, 0);
    if (!rc)
        rc = next_reply(cl, pending, "pull", &m);
    if (rc)
        return rc;
    rc = m.op == IAMP_OP_PULL && m.src == 1 ? iamp_checkpoint_decode(m.payload, m.len, &ck)
                                            : IAMP_ESTATE;
    iamp_comm_msg_release(&m);
    if (rc)
        return rc;
    if (ck.n_params != s->model.n_params)
        rc = IAMP_EMISMATCH;
    if (!rc) {
        size_t bytes = ck.n_params * sizeof(float);
        memcpy(s->model.params, ck.params, bytes);
        if (ck.adam_m && ck.adam_v) {
            memcpy(s->adam.m, ck.adam_m, bytes);
            memcpy(s->adam.v, ck.adam_v, bytes);
            s->adam.t = (int64_t)ck.adam_t;
        }
        if (ck.target && s->has_target)
            memcpy(s->target.params, ck.target, bytes);
        if (ck.ref && s->has_ref)
            memcpy(s->ref.params, ck.ref, bytes);
    }
    iamp_checkpoint_release(&ck);
    return rc;
}

static int cluster_push(void *ctx, struct iamp_session *s)
{
    struct iamp_cluster *cl = ctx;
    struct iamp_checkpoint ck;
    uint8_t *buf = NULL;
    size_t len = 0;
    iamp_session_checkpoint_view(s, &ck);
    int rc = iamp_checkpoint_encode(&ck, &buf, &len);
    if (!rc)
        rc = broadcast(cl, IAMP_OP_SETUP, cl->o.bucket_bytes, buf, len);
    free(buf);
    if (!rc)
        rc = gather(cl, IAMP_OP_OK, "setup", NULL, NULL);
    return rc;
}

static int cluster_ref_set(void *ctx, struct iamp_session *s)
{
    (void)s;
    return broadcast(ctx, IAMP_OP_REF_SET, 0, NULL, 0);
}

static const struct iamp_remote_ops cluster_ops = {
    cluster_run, cluster_fit, cluster_target_sync, cluster_ref_set, cluster_pull, cluster_push,
};

int iamp_cluster_attach(struct iamp_cluster *cl, struct iamp_session *s)
{
    cl->s = s;
    iamp_session_set_remote(s, &cluster_ops, cl);
    return cluster_push(cl, s);
}

/* --------------------------------------------------------------- tracing */

int iamp_cluster_trace_start(struct iamp_cluster *cl)
{
    double now = iamp_now();
    uint64_t bits;
    memcpy(&bits, &now, sizeof(bits));
    iamp_trace_enable(0, 0.0);
    return broadcast(cl, IAMP_OP_TRACE_START, bits, NULL, 0);
}

static int keep_fragment(struct iamp_cluster *cl, const struct iamp_comm_msg *m, void *ctx)
{
    char **frag = ctx;
    (void)cl;
    frag[m->src] = malloc(m->len + 1);
    if (!frag[m->src])
        return IAMP_ENOMEM;
    memcpy(frag[m->src], m->payload, m->len);
    frag[m->src][m->len] = '\0';
    return 0;
}

int iamp_cluster_write_timeline(struct iamp_cluster *cl, const char *path)
{
    if (!cl) {
        char *own = NULL;
        size_t len;
        int rc = iamp_trace_export(&own, &len);
        if (!rc)
            rc = iamp_trace_write(path, &own, 1);
        free(own);
        return rc;
    }
    int n = cl->workers + 1;
    char **frag = calloc((size_t)n, sizeof(char *));
    size_t len;
    int rc = frag ? iamp_trace_export(&frag[0], &len) : IAMP_ENOMEM;
    if (!rc && cl->workers > 0)
        rc = broadcast(cl, IAMP_OP_TRACE, 0, NULL, 0);
    if (!rc && cl->workers > 0)
        rc = gather(cl, IAMP_OP_TRACE, "timeline", keep_fragment, frag);
    if (!rc)
        rc = iamp_trace_write(path, frag, n);
    for (int i = 0; frag && i < n; i++)
        free(frag[i]);
    free(frag);
    return rc;
}

int iamp_cluster_put_version(struct iamp_cluster *cl, uint64_t id, const float *params, size_t n)
{
    return broadcast(cl, IAMP_OP_VERSION_PUT, id, params, n * sizeof(float));
}

int iamp_cluster_drop_version(struct iamp_cluster *cl, uint64_t id)
{
    return broadcast(cl, IAMP_OP_VERSION_DROP, id, NULL, 0);
}

int iamp_cluster_allreduce_bench(struct iamp_cluster *cl, double seconds, double *t_ours,
                                 double *t_mpi)
{
    uint64_t bits, bucket = cl->o.bucket_bytes; /* every rank cuts the same buckets */
    memcpy(&bits, &seconds, sizeof(bits));
    int rc = broadcast(cl, IAMP_OP_ALLREDUCE_BENCH, bits, &bucket, sizeof(bucket));
    return rc ? rc : iamp_allreduce_bench(cl->c, seconds, cl->o.bucket_bytes, t_ours, t_mpi);
}

void iamp_cluster_shutdown(struct iamp_cluster *cl)
{
    if (broadcast(cl, IAMP_OP_EXIT, 0, NULL, 0))
        fprintf(stderr, "iamp: could not tell every worker to stop\n");
}
