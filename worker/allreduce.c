/* allreduce.c — see allreduce.h. */
#include "worker/allreduce.h"

#include "common/clock.h"

#include <stdlib.h>
#include <string.h>

int iamp_allreduce_init(struct iamp_allreduce *ar, MPI_Comm comm, size_t bucket_bytes)
{
    memset(ar, 0, sizeof(*ar));
    ar->comm = comm;
    ar->bucket_floats = bucket_bytes / sizeof(float);
    if (ar->bucket_floats < 1)
        ar->bucket_floats = 1;
    return 0;
}

void iamp_allreduce_release(struct iamp_allreduce *ar)
{
    free(ar->req);
    memset(ar, 0, sizeof(*ar));
}

int iamp_allreduce_begin(struct iamp_allreduce *ar, float *buf, size_t n)
{
    int nb = (int)((n + ar->bucket_floats - 1) / ar->bucket_floats);
    if (nb > ar->cap) {
        MPI_Request *r = realloc(ar->req, (size_t)nb * sizeof(*r));
        if (!r)
            return IAMP_ENOMEM;
        ar->req = r;
        ar->cap = nb;
    }
    for (int i = 0; i < nb; i++)
        ar->req[i] = MPI_REQUEST_NULL;
    ar->buf = buf;
    ar->n = n;
    ar->n_buckets = nb;
    ar->started = 0;
    ar->t_first = 0.0;
    return 0;
}

static int start_bucket(struct iamp_allreduce *ar, int i)
{
    size_t off = (size_t)i * ar->bucket_floats;
    size_t cnt = ar->n - off < ar->bucket_floats ? ar->n - off : ar->bucket_floats;
    if (ar->t_first == 0.0)
        ar->t_first = iamp_now();
    return MPI_Iallreduce(MPI_IN_PLACE, ar->buf + off, (int)cnt, MPI_FLOAT, MPI_SUM, ar->comm,
                          &ar->req[i]) == MPI_SUCCESS
               ? 0
               : IAMP_EMPI;
}

void iamp_allreduce_ready_cb(void *ctx, size_t done)
{
    struct iamp_allreduce *ar = ctx;
    while (ar->started < ar->n_buckets) {
        size_t end = (size_t)(ar->started + 1) * ar->bucket_floats;
        if (end > ar->n)
            end = ar->n;
        if (end > done)
            break;
        if (start_bucket(ar, ar->started))
            return; /* finish() reports the failure when it restarts */
        ar->started++;
    }
    if (ar->started > 0) {
        int flag;
        MPI_Testall(ar->started, ar->req, &flag, MPI_STATUSES_IGNORE);
    }
}

int iamp_allreduce_finish_cb(void *ctx)
{
    struct iamp_allreduce *ar = ctx;
    double t0 = iamp_now();
    ar->t_ready_end = t0;
    while (ar->started < ar->n_buckets) {
        if (start_bucket(ar, ar->started))
            return IAMP_EMPI;
        ar->started++;
    }
    int rc =
        ar->n_buckets > 0 && MPI_Waitall(ar->n_buckets, ar->req, MPI_STATUSES_IGNORE) != MPI_SUCCESS
            ? IAMP_EMPI
            : 0;
    ar->t_done = iamp_now();
    ar->wait_s = ar->t_done - t0;
    ar->total_wait_s += ar->wait_s;
    ar->total_span_s += ar->t_first > 0.0 ? ar->t_done - ar->t_first : 0.0;
    ar->reductions++;
    return rc;
}
