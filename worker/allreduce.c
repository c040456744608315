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
    const char *w = getenv("IAMP_BUCKET_WINDOW");
    ar->window = w && atoi(w) > 0 ? atoi(w) : IAMP_BUCKET_WINDOW_DEFAULT;
    return 0;
}

void iamp_allreduce_release(struct iamp_allreduce *ar)
{
    free(ar->req);
    free(ar->idx);
    memset(ar, 0, sizeof(*ar));
}

int iamp_allreduce_begin(struct iamp_allreduce *ar, float *buf, size_t n)
{
    int nb = (int)((n + ar->bucket_floats - 1) / ar->bucket_floats);
    if (nb > ar->cap) {
        MPI_Request *r = realloc(ar->req, (size_t)nb * sizeof(*r));
        if (r)
            ar->req = r;
        int *idx = realloc(ar->idx, (size_t)nb * sizeof(*idx));
        if (idx)
            ar->idx = idx;
        if (!r || !idx)
            return IAMP_ENOMEM;
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

/* Let started buckets progress; completed ones become MPI_REQUEST_NULL.
 * Returns how many are still in flight. */
static int progress(struct iamp_allreduce *ar)
{
    int out = 0;
    if (ar->started > 0)
        MPI_Testsome(ar->started, ar->req, &out, ar->idx, MPI_STATUSES_IGNORE);
    int flying = 0;
    for (int i = 0; i < ar->started; i++)
        flying += ar->req[i] != MPI_REQUEST_NULL;
    return flying;
}

static int window_full(const struct iamp_allreduce *ar, int flying)
{
    return ar->window > 0 && flying >= ar->window;
}

void iamp_allreduce_ready_cb(void *ctx, size_t done)
{
    struct iamp_allreduce *ar = ctx;
    int flying = progress(ar);
    while (ar->started < ar->n_buckets && !window_full(ar, flying)) {
        size_t end = (size_t)(ar->started + 1) * ar->bucket_floats;
        if (end > ar->n)
            end = ar->n;
        if (end > done)
            break;
        if (start_bucket(ar, ar->started))
            return; /* finish() reports the failure when it restarts */
        ar->started++;
        flying++;
    }
}

int iamp_allreduce_finish_cb(void *ctx)
{
    struct iamp_allreduce *ar = ctx;
    double t0 = iamp_now();
    ar->t_ready_end = t0;
    while (ar->started < ar->n_buckets) {
        int flying = progress(ar), idx;
        if (window_full(ar, flying) &&
            MPI_Waitany(ar->started, ar->req, &idx, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return IAMP_EMPI;
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
