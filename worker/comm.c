/* comm.c — see comm.h. MPI errors are converted to IAMP_EMPI here. */
#include "worker/comm.h"

#include "common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_BYTES 16

/* 1 when launched by mpirun or srun (an MPI rank environment is present). */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                       NULL};
    for (const char *const *v = vars; *v; v++)
        if (getenv(*v))
            return 1;
    return 0;
}

int iamp_comm_init(struct iamp_comm *c, int *argc, char ***argv)
{
    memset(c, 0, sizeof(*c));
    c->size = 1;
    c->workers = MPI_COMM_NULL;
    c->timeout_ms = 60000;
    const char *t = getenv("IAMP_TIMEOUT_MS");
    if (t && atoi(t) > 0)
        c->timeout_ms = atoi(t);
    if (!launched())
        return 0;
    /* libnbc's default iallreduce schedule runs at a third to a half of
     * MPI_Allreduce's bandwidth for buckets of 1 MiB and more on one node;
     * its ring schedule matches it (measured: docs in README, "Cluster").
     * A value the user set wins. */
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return IAMP_EMPI;
    c->active = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    if (MPI_Comm_split(MPI_COMM_WORLD, c->rank == 0 ? MPI_UNDEFINED : 1, c->rank, &c->workers) !=
        MPI_SUCCESS)
        return IAMP_EMPI;
    if (c->workers != MPI_COMM_NULL) {
        MPI_Comm_set_errhandler(c->workers, MPI_ERRORS_RETURN);
        MPI_Comm_rank(c->workers, &c->worker_rank);
    }
    return 0;
}

void iamp_comm_finalize(struct iamp_comm *c)
{
    if (!c->active)
        return;
    if (c->workers != MPI_COMM_NULL)
        MPI_Comm_free(&c->workers);
    MPI_Finalize();
    c->active = 0;
}

int iamp_comm_send(const struct iamp_comm *c, int dest, int tag, uint32_t op, uint64_t arg,
                   const void *payload, size_t len)
{
    if (len > (size_t)INT32_MAX - HDR_BYTES)
        return IAMP_ELIMIT;
    uint8_t *buf = malloc(HDR_BYTES + len);
    if (!buf)
        return IAMP_ENOMEM;
    uint32_t zero = 0;
    memcpy(buf, &op, 4);
    memcpy(buf + 4, &zero, 4);
    memcpy(buf + 8, &arg, 8);
    if (len)
        memcpy(buf + HDR_BYTES, payload, len);
    /* Non-blocking, so a receiver that stops taking messages (a large one
     * waits for the receiver's matching receive) is named after the
     * timeout like a missing reply, instead of hanging the sender. */
    MPI_Request req;
    if (MPI_Isend(buf, (int)(HDR_BYTES + len), MPI_BYTE, dest, tag, MPI_COMM_WORLD, &req) !=
        MPI_SUCCESS) {
        free(buf);
        return IAMP_EMPI;
    }
    double start = iamp_now(), last = start;
    int periods = 0;
    for (long idle = 0;; idle++) {
        int done = 0;
        if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return IAMP_EMPI; /* buf may still be read: left to the abort that follows */
        if (done)
            break;
        iamp_comm_backoff(idle);
        double now = iamp_now();
        if ((now - last) * 1000.0 >= c->timeout_ms) {
            fprintf(stderr, "iamp: rank %d: sending: no reply from rank(s) %d after %.0f s\n",
                    c->rank, dest, now - start);
            last = now;
            if (++periods >= IAMP_TIMEOUT_PERIODS)
                return IAMP_ETIMEOUT; /* likewise */
        }
    }
    free(buf);
    return 0;
}

static int receive(int src, int tag, MPI_Status *st, struct iamp_comm_msg *m)
{
    int count = 0;
    MPI_Get_count(st, MPI_BYTE, &count);
    if (count < HDR_BYTES)
        return IAMP_ECORRUPT;
    uint8_t *buf = malloc((size_t)count);
    if (!buf)
        return IAMP_ENOMEM;
    if (MPI_Recv(buf, count, MPI_BYTE, src, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
        MPI_SUCCESS) {
        free(buf);
        return IAMP_EMPI;
    }
    memset(m, 0, sizeof(*m));
    m->src = src;
    memcpy(&m->op, buf, 4);
    memcpy(&m->arg, buf + 8, 8);
    m->len = (size_t)count - HDR_BYTES;
    if (m->len) {
        m->payload = malloc(m->len);
        if (!m->payload) {
            free(buf);
            return IAMP_ENOMEM;
        }
        memcpy(m->payload, buf + HDR_BYTES, m->len);
    }
    free(buf);
    return 0;
}

int iamp_comm_poll(const struct iamp_comm *c, int src, int tag, struct iamp_comm_msg *m, int *got)
{
    (void)c;
    int flag = 0;
    MPI_Status st;
    *got = 0;
    if (MPI_Iprobe(src, tag, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS)
        return IAMP_EMPI;
    if (!flag)
        return 0;
    int rc = receive(st.MPI_SOURCE, tag, &st, m);
    *got = rc == 0;
    return rc;
}

void iamp_comm_backoff(long idle)
{
    if (idle < 64)
        return; /* spin briefly: replies usually come fast */
    iamp_sleep_us(idle < 1000 ? 20 : 200);
}

int iamp_comm_recv(const struct iamp_comm *c, int src, int tag, struct iamp_comm_msg *m)
{
    for (long idle = 0;; idle++) {
        int got = 0;
        int rc = iamp_comm_poll(c, src, tag, m, &got);
        if (rc || got)
            return rc;
        iamp_comm_backoff(idle);
    }
}

void iamp_comm_msg_release(struct iamp_comm_msg *m)
{
    if (!m)
        return;
    free(m->payload);
    memset(m, 0, sizeof(*m));
}
