/* worker_loop.c — see worker_loop.h. One model copy per rank, set up and
 * replaced by SETUP; every other command needs it. Runs on the rank's main
 * thread. */
#include "worker/worker_loop.h"

#include "common/clock.h"
#include "common/trace.h"
#include "worker/allreduce.h"
#include "worker/session.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAMP_UNIT_MAX_QUESTIONS (1 << 20)
#define IAMP_VERSIONS_MAX 16 /* published versions a worker keeps */

struct version {
    uint64_t id;
    int used;
    struct iamp_model model;
};
#define IAMP_FIT_MAX_EXAMPLES (1 << 22)

struct worker {
    struct iamp_comm *c;
    struct iamp_session s;
    struct iamp_allreduce ar;
    size_t bucket_bytes;
    struct version versions[IAMP_VERSIONS_MAX];
};

static int reply_error(struct worker *w, const char *fmt, int rc);

static struct version *find_version(struct worker *w, uint64_t id)
{
    for (int i = 0; i < IAMP_VERSIONS_MAX; i++)
        if (w->versions[i].used && w->versions[i].id == id)
            return &w->versions[i];
    return NULL;
}

static void drop_version(struct worker *w, uint64_t id)
{
    struct version *v = find_version(w, id);
    if (v) {
        iamp_model_release(&v->model);
        memset(v, 0, sizeof(*v));
    }
}

static int put_version(struct worker *w, const struct iamp_comm_msg *m)
{
    drop_version(w, m->arg);
    struct version *v = NULL;
    for (int i = 0; i < IAMP_VERSIONS_MAX && !v; i++)
        v = w->versions[i].used ? NULL : &w->versions[i];
    if (!v || m->len != w->s.model.n_params * sizeof(float))
        return reply_error(w, "cannot keep a model version: %s", v ? IAMP_ECORRUPT : IAMP_ELIMIT);
    int rc = iamp_model_init(&v->model, &w->s.model.cfg);
    if (rc)
        return reply_error(w, "cannot keep a model version: %s", rc);
    memcpy(v->model.params, m->payload, m->len);
    v->id = m->arg;
    v->used = 1;
    return 0;
}

static int reply_error(struct worker *w, const char *fmt, int rc)
{
    char why[256];
    snprintf(why, sizeof(why), fmt, iamp_strerror(rc));
    return iamp_comm_send(w->c, 0, IAMP_TAG_REPLY, IAMP_OP_ERROR, (uint64_t)w->c->rank, why,
                          strlen(why) + 1);
}

static int do_setup(struct worker *w, const struct iamp_comm_msg *m)
{
    struct iamp_checkpoint ck;
    char err[256];
    iamp_session_close(&w->s);
    iamp_allreduce_release(&w->ar);
    int rc = iamp_checkpoint_decode(m->payload, m->len, &ck);
    if (rc)
        return reply_error(w, "cannot decode the model: %s", rc);
    rc = iamp_session_from_checkpoint(&w->s, &ck, err, sizeof(err));
    iamp_checkpoint_release(&ck);
    if (rc)
        return reply_error(w, "cannot set up the model: %s", rc);
    w->bucket_bytes = m->arg ? (size_t)m->arg : IAMP_BUCKET_BYTES_DEFAULT;
    rc = iamp_allreduce_init(&w->ar, w->c->workers, w->bucket_bytes);
    if (rc)
        return reply_error(w, "cannot set up allreduce: %s", rc);
    return iamp_comm_send(w->c, 0, IAMP_TAG_REPLY, IAMP_OP_OK, 0, NULL, 0);
}

static int do_run(struct worker *w, const struct iamp_comm_msg *m)
{
    struct iamp_work_unit u;
    int rc = iamp_work_unit_decode(m->payload, m->len, IAMP_UNIT_MAX_QUESTIONS, &u);
    if (rc)
        return reply_error(w, "bad work unit: %s", rc);
    struct iamp_answer *out = malloc((size_t)(u.n ? u.n : 1) * sizeof(*out));
    struct iamp_amp_req req = {0,          (int)u.pick, (int)u.decode, u.temperature,
                               u.rng_seed, u.version,   NULL};
    if (u.pick == IAMP_PICK_VERSION) {
        struct version *v = find_version(w, u.version);
        if (!v) {
            free(out);
            iamp_work_unit_release(&u);
            return reply_error(w, "no such model version: %s", IAMP_ESTATE);
        }
        req.model = &v->model;
    }
    long leaves0 = w->s.engine.stats.leaf_calls;
    double t0 = iamp_now();
    rc = out ? iamp_session_run_local(&w->s, u.qs, u.n, u.depth, &req, u.first_unit, out)
             : IAMP_ENOMEM;
    iamp_trace_span("amplify", t0, iamp_now());
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!rc)
        rc = iamp_unit_result_encode(u.unit_id, out, u.n, &buf, &len);
    if (!rc)
        rc = iamp_comm_send(w->c, 0, IAMP_TAG_REPLY, IAMP_OP_RUN,
                            (uint64_t)(w->s.engine.stats.leaf_calls - leaves0), buf, len);
    else
        rc = reply_error(w, "amplification failed: %s", rc);
    free(buf);
    free(out);
    iamp_work_unit_release(&u);
    return rc;
}

/* What one step's gradient sum costs without overlap: a blocking
 * MPI_Allreduce of a buffer of the same size (measured on request, for
 * iamp bench train's hidden-share figure). */
static double blocking_allreduce_s(struct worker *w)
{
    size_t n = w->s.model.n_params;
    float *tmp = malloc(n * sizeof(float));
    if (!tmp)
        return 0.0;
    memcpy(tmp, w->s.model.grads, n * sizeof(float));
    MPI_Barrier(w->c->workers);
    double t0 = iamp_now();
    MPI_Allreduce(MPI_IN_PLACE, tmp, (int)n, MPI_FLOAT, MPI_SUM, w->c->workers);
    double t = iamp_now() - t0;
    free(tmp);
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, w->c->workers);
    return t;
}

static int ar_begin_cb(void *ctx, float *grads, size_t n)
{
    return iamp_allreduce_begin(ctx, grads, n);
}

static int do_fit(struct worker *w, const struct iamp_comm_msg *m)
{
    struct iamp_train_batch b;
    int rc = iamp_train_batch_decode(m->payload, m->len, IAMP_FIT_MAX_EXAMPLES, &b);
    if (rc)
        return reply_error(w, "bad training batch: %s", rc);
    struct iamp_fit_req req = {b.ex,    b.n,       b.first,      b.count, b.n_questions,
                               b.order, b.n_order, (int)b.batch, b.lr,    b.value_coef};
    struct iamp_grad_reducer red = {ar_begin_cb, iamp_allreduce_ready_cb, iamp_allreduce_finish_cb,
                                    &w->ar};
    struct iamp_distill_stats st;
    rc = iamp_session_fit_shard(&w->s, &req, w->c->worker_rank, w->c->size - 1, &red, &st);
    long steps = (b.n_order + (int)b.batch - 1) / (int)b.batch; /* at most */
    iamp_train_batch_release(&b);
    if (rc)
        return reply_error(w, "distillation failed: %s", rc);
    double blocking = m->arg ? blocking_allreduce_s(w) * (double)steps : 0.0;
    struct iamp_fit_report r = {st.loss,      st.policy_loss,   st.value_loss, (uint64_t)st.rows,
                                st.compute_s, st.reduce_wait_s, blocking,      st.optimizer_s};
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = iamp_fit_report_encode(&r, &buf, &len);
    if (!rc)
        rc = iamp_comm_send(w->c, 0, IAMP_TAG_REPLY, IAMP_OP_FIT, 0, buf, len);
    free(buf);
    return rc;
}

static int do_checksum(struct worker *w)
{
    uint64_t m = iamp_model_checksum(&w->s.model);
    uint64_t t = w->s.has_target ? iamp_model_checksum(&w->s.target) : 0;
    return iamp_comm_send(w->c, 0, IAMP_TAG_REPLY, IAMP_OP_CHECKSUM, m, &t, sizeof(t));
}

static int do_pull(struct worker *w)
{
    struct iamp_checkpoint ck;
    uint8_t *buf = NULL;
    size_t len = 0;
    iamp_session_checkpoint_view(&w->s, &ck);
    int rc = iamp_checkpoint_encode(&ck, &buf, &len);
    if (!rc)
        rc = iamp_comm_send(w->c, 0, IAMP_TAG_REPLY, IAMP_OP_PULL, 0, buf, len);
    else
        rc = reply_error(w, "cannot encode the model: %s", rc);
    free(buf);
    return rc;
}

static int do_trace(struct worker *w)
{
    char *json = NULL;
    size_t len = 0;
    int rc = iamp_trace_export(&json, &len);
    if (!rc)
        rc = iamp_comm_send(w->c, 0, IAMP_TAG_REPLY, IAMP_OP_TRACE, 0, json, len + 1);
    free(json);
    return rc;
}

/* One command; *exit_loop set by EXIT. */
static int dispatch(struct worker *w, const struct iamp_comm_msg *m, int *exit_loop)
{
    int needs_model = m->op != IAMP_OP_SETUP && m->op != IAMP_OP_EXIT && m->op != IAMP_OP_TRACE &&
                      m->op != IAMP_OP_ALLREDUCE_BENCH && m->op != IAMP_OP_TRACE_START;
    if (needs_model && !w->s.open)
        return reply_error(w, "no model set up: %s", IAMP_ESTATE);
    switch (m->op) {
    case IAMP_OP_SETUP:
        return do_setup(w, m);
    case IAMP_OP_TRACE_START: {
        double t0;
        memcpy(&t0, &m->arg, sizeof(t0));
        iamp_trace_enable(w->c->rank, t0 - iamp_now());
        return 0;
    }
    case IAMP_OP_RUN:
        return do_run(w, m);
    case IAMP_OP_FIT:
        return do_fit(w, m);
    case IAMP_OP_SYNC:
        return iamp_session_target_enable(&w->s, NULL);
    case IAMP_OP_CHECKSUM:
        return do_checksum(w);
    case IAMP_OP_PULL:
        return do_pull(w);
    case IAMP_OP_TRACE:
        return do_trace(w);
    case IAMP_OP_ALLREDUCE_BENCH: {
        /* Every rank must cut buffers into the same buckets. */
        double secs;
        uint64_t bucket = IAMP_BUCKET_BYTES_DEFAULT;
        memcpy(&secs, &m->arg, sizeof(secs));
        if (m->len == sizeof(bucket))
            memcpy(&bucket, m->payload, sizeof(bucket));
        return iamp_allreduce_bench(w->c, secs, (size_t)bucket, NULL, NULL);
    }
    case IAMP_OP_REF_SET:
        return iamp_session_ref_set(&w->s, NULL);
    case IAMP_OP_VERSION_PUT:
        return put_version(w, m);
    case IAMP_OP_VERSION_DROP:
        drop_version(w, m->arg);
        return 0;
    case IAMP_OP_EXIT:
        *exit_loop = 1;
        return 0;
    default:
        return reply_error(w, "unknown command: %s", IAMP_EINVAL);
    }
}

int iamp_worker_main(struct iamp_comm *c)
{
    /* The launcher forwards SIGINT/SIGTERM to every rank; workers leave
     * when rank 0, which handles the signal, tells them to (EXIT). */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    struct worker w;
    memset(&w, 0, sizeof(w));
    w.c = c;
    int rc = 0, exit_loop = 0;
    while (!rc && !exit_loop) {
        struct iamp_comm_msg m;
        rc = iamp_comm_recv(c, 0, IAMP_TAG_CMD, &m);
        if (!rc)
            rc = dispatch(&w, &m, &exit_loop);
        iamp_comm_msg_release(&m);
    }
    for (int i = 0; i < IAMP_VERSIONS_MAX; i++)
        drop_version(&w, w.versions[i].id);
    iamp_allreduce_release(&w.ar);
    iamp_session_close(&w.s);
    return rc;
}

/* ------------------------------------------------------------ bench */

static double time_calls(double seconds, int (*call)(void *), void *ctx, MPI_Comm comm)
{
    /* Every rank must make the same number of calls: rank 0 decides. */
    long reps = 1;
    double t0 = MPI_Wtime();
    if (call(ctx))
        return -1.0;
    double one = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &one, 1, MPI_DOUBLE, MPI_MAX, comm);
    reps = (long)(seconds / (one > 1e-6 ? one : 1e-6));
    reps = reps < 2 ? 2 : (reps > 2000 ? 2000 : reps);
    MPI_Barrier(comm);
    t0 = MPI_Wtime();
    for (long i = 0; i < reps; i++)
        if (call(ctx))
            return -1.0;
    double t = (MPI_Wtime() - t0) / (double)reps;
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, comm);
    return t;
}

struct bench_ctx {
    struct iamp_allreduce ar;
    float *buf;
    size_t n;
};

static int ours_call(void *ctx)
{
    struct bench_ctx *b = ctx;
    int rc = iamp_allreduce_begin(&b->ar, b->buf, b->n);
    if (!rc) {
        iamp_allreduce_ready_cb(&b->ar, b->n);
        rc = iamp_allreduce_finish_cb(&b->ar);
    }
    return rc;
}

static int mpi_call(void *ctx)
{
    struct bench_ctx *b = ctx;
    return MPI_Allreduce(MPI_IN_PLACE, b->buf, (int)b->n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) ==
                   MPI_SUCCESS
               ? 0
               : IAMP_EMPI;
}

/* For each size, IAMP_BENCH_ROUNDS alternating measurements of ours and
 * of MPI_Allreduce, keeping each one's best: on a shared machine the
 * fastest measurement is the one least disturbed by others. */
#define IAMP_BENCH_ROUNDS 5

int iamp_allreduce_bench(const struct iamp_comm *c, double seconds, size_t bucket_bytes,
                         double *t_ours, double *t_mpi)
{
    (void)c;
    struct bench_ctx b;
    size_t max_floats = ((size_t)4096 << (IAMP_BENCH_SIZES - 1)) / sizeof(float);
    b.buf = calloc(max_floats, sizeof(float));
    int rc = b.buf ? iamp_allreduce_init(&b.ar, MPI_COMM_WORLD, bucket_bytes) : IAMP_ENOMEM;
    double slice = seconds / IAMP_BENCH_ROUNDS;
    for (int i = 0; !rc && i < IAMP_BENCH_SIZES; i++) {
        b.n = ((size_t)4096 << i) / sizeof(float);
        double best_o = 1e30, best_m = 1e30;
        for (int k = 0; !rc && k < IAMP_BENCH_ROUNDS; k++) {
            double to = time_calls(slice, ours_call, &b, MPI_COMM_WORLD);
            double tm = time_calls(slice, mpi_call, &b, MPI_COMM_WORLD);
            if (to < 0 || tm < 0)
                rc = IAMP_EMPI;
            best_o = to < best_o ? to : best_o;
            best_m = tm < best_m ? tm : best_m;
        }
        if (t_ours)
            t_ours[i] = best_o;
        if (t_mpi)
            t_mpi[i] = best_m;
    }
    iamp_allreduce_release(&b.ar);
    free(b.buf);
    return rc;
}
