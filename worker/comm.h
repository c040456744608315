/* comm.h — iamp's use of MPI: start-up, the workers' communicator, and
 * framed byte messages between the coordinator (rank 0) and workers.
 *
 * Under mpirun/srun every rank calls iamp_comm_init; rank 0 goes on to run
 * the command, ranks 1..N-1 enter the worker loop. Without a launcher
 * (or with N = 1) MPI is not initialised at all and size is 1: the
 * embedded single-process default.
 *
 * A message is one MPI message of MPI_BYTE: a 16-byte header (op, arg)
 * then the payload. Receives poll with a short sleep back-off instead of
 * blocking in MPI, so idle ranks do not spin a core (oversubscribed runs)
 * and waits can time out and say which ranks are missing.
 * Threading: MPI is initialised MPI_THREAD_SERIALIZED; call from one
 * thread at a time.
 */
#ifndef IAMP_COMM_H
#define IAMP_COMM_H

#include "common/error.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* Timeouts logged (one per timeout_ms) before a wait or a send fails. */
#define IAMP_TIMEOUT_PERIODS 5

enum iamp_tag {
    IAMP_TAG_CMD = 1,   /* coordinator -> worker */
    IAMP_TAG_REPLY = 2, /* worker -> coordinator */
};

struct iamp_comm {
    int rank, size;
    int active;       /* 1 when this process initialised MPI */
    MPI_Comm workers; /* ranks 1..size-1; MPI_COMM_NULL on rank 0 and without MPI */
    int worker_rank;  /* rank within workers (rank - 1) */
    int timeout_ms;   /* waits longer than this are reported (default 60000) */
};

struct iamp_comm_msg {
    int src;
    uint32_t op;
    uint64_t arg;
    uint8_t *payload; /* malloc'd, may be NULL when len == 0 */
    size_t len;
};

IAMP_WUR int iamp_comm_init(struct iamp_comm *c, int *argc, char ***argv);
void iamp_comm_finalize(struct iamp_comm *c);

/* Send one framed message; returns once MPI is done with it. A receiver
 * that takes no message for timeout_ms is named on stderr ("no reply from
 * rank(s) N"), and after IAMP_TIMEOUT_PERIODS of them the send fails. */
IAMP_WUR int iamp_comm_send(const struct iamp_comm *c, int dest, int tag, uint32_t op, uint64_t arg,
                            const void *payload, size_t len);
/* Receive the next message with tag from src (MPI_ANY_SOURCE allowed).
 * *got = 0 and no message when none is waiting. */
IAMP_WUR int iamp_comm_poll(const struct iamp_comm *c, int src, int tag, struct iamp_comm_msg *m,
                            int *got);
/* Block (with back-off) until a message arrives. */
IAMP_WUR int iamp_comm_recv(const struct iamp_comm *c, int src, int tag, struct iamp_comm_msg *m);
void iamp_comm_msg_release(struct iamp_comm_msg *m);

/* Sleep with back-off between polls: call with 0, 1, 2, ... idle rounds. */
void iamp_comm_backoff(long idle);

#endif
