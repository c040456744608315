/* test_mpi_fit.c — data-parallel distillation across real MPI ranks (run
 * under mpirun; every rank is a worker here). Checks:
 *   1. N ranks each computing a share of every minibatch of B examples and
 *      summing gradients with the bucketed allreduce reach the parameters
 *      one copy reaches with the whole batch, within 1e-5 relative error,
 *      after 10 steps (every loss term: weighted log-likelihood, value,
 *      entropy bonus, KL to p_ref);
 *   2. repeating the sharded run gives bit-identical parameters;
 *   3. every rank holds the same parameters (checksums compared).
 * Prints one line per rank and exits non-zero on any failure. Not a
 * Criterion test: Criterion forks, and MPI must not run in a fork. */
#include "worker/allreduce.h"
#include "worker/session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 48
#define STEPS 10

static int open_session(struct iamp_session *s)
{
    struct iamp_model_opts mo = {16, 64, 2, 0, ""};
    char err[256];
    int rc = iamp_session_open(s, "permpow:n=32,kmax=31", &mo, 1e-2f, 3, err, sizeof(err));
    if (rc)
        fprintf(stderr, "session: %s\n", err);
    return rc ? rc : iamp_session_ref_set(s, NULL); /* p_ref = the initial M */
}

static void make_batch(struct iamp_session *s, struct iamp_example *ex, int *order)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, 11, 0);
    memset(ex, 0, BATCH * sizeof(*ex));
    for (int i = 0; i < BATCH; i++) {
        s->task.ops->sample(&s->task, &r, s->task.max_difficulty, &ex[i].q);
        iamp_task_truth(&s->task, &ex[i].q, &ex[i].a);
        ex[i].weight = (float)(iamp_rng_uniform(&r) * 1.5 - 0.25);
        ex[i].value_target = (float)iamp_rng_uniform(&r);
        /* Every loss term takes part: entropy bonus and KL to p_ref too. */
        ex[i].entropy_weight = i % 3 == 0 ? 0.05f : 0.0f;
        ex[i].kl_weight = i % 2 == 0 ? 0.1f : 0.0f;
    }
    for (int i = 0; i < BATCH * STEPS; i++)
        order[i] = (int)iamp_rng_below(&r, BATCH);
}

static int ar_begin(void *ctx, float *g, size_t n)
{
    return iamp_allreduce_begin(ctx, g, n);
}

static int sharded(struct iamp_session *s, const struct iamp_fit_req *req, int rank, int size,
                   size_t bucket_bytes)
{
    struct iamp_allreduce ar;
    struct iamp_distill_stats st;
    int rc = iamp_allreduce_init(&ar, MPI_COMM_WORLD, bucket_bytes);
    struct iamp_grad_reducer red = {ar_begin, iamp_allreduce_ready_cb, iamp_allreduce_finish_cb,
                                    &ar};
    if (!rc)
        rc = iamp_session_fit_shard(s, req, rank, size, &red, &st);
    iamp_allreduce_release(&ar);
    return rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size, fails = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    struct iamp_session ref, a, b;
    struct iamp_example ex[BATCH];
    int order[BATCH * STEPS];
    if (open_session(&ref) || open_session(&a) || open_session(&b))
        MPI_Abort(MPI_COMM_WORLD, 2);
    make_batch(&ref, ex, order);
    struct iamp_fit_req req = {ex,    BATCH,         NULL,  NULL,  BATCH,
                               order, BATCH * STEPS, BATCH, 1e-2f, 0.5f};
    struct iamp_distill_stats st;
    /* Small buckets so a step uses many of them. */
    if (iamp_session_fit_shard(&ref, &req, 0, 1, NULL, &st) ||
        sharded(&a, &req, rank, size, 4096) || sharded(&b, &req, rank, size, 4096))
        MPI_Abort(MPI_COMM_WORLD, 2);
    size_t n = ref.model.n_params;
    double worst = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(ref.model.params[i]));
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a.model.params[i] - ref.model.params[i]) / scale);
    if (!(worst <= 1e-5)) {
        fprintf(stderr, "rank %d: sharded vs single: relative error %.3g > 1e-5\n", rank, worst);
        fails++;
    }
    if (memcmp(a.model.params, b.model.params, n * sizeof(float)) != 0) {
        fprintf(stderr, "rank %d: two sharded runs differ\n", rank);
        fails++;
    }
    unsigned long long sum = iamp_model_checksum(&a.model), *all = calloc((size_t)size, 8);
    MPI_Allgather(&sum, 1, MPI_UNSIGNED_LONG_LONG, all, 1, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD);
    for (int r = 0; r < size; r++) {
        if (all[r] != sum) {
            fprintf(stderr, "rank %d: parameters differ from rank %d\n", rank, r);
            fails++;
        }
    }
    printf("rank %d of %d: %zu params, max relative error %.3g vs one copy, checksum %016llx: %s\n",
           rank, size, n, worst, sum, fails ? "FAIL" : "ok");
    int total = 0;
    MPI_Allreduce(&fails, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    free(all);
    iamp_session_close(&ref);
    iamp_session_close(&a);
    iamp_session_close(&b);
    MPI_Finalize();
    return total ? 1 : 0;
}
