/* request.h — the service's limits, and the check every decoded request
 * passes before the server acts on it: the token, the body kind, and for
 * SubmitJob every field, turned into a canonical job spec (task spec
 * canonical, questions parsed into tokens, defaults filled in).
 *
 * No I/O and no libuv, so the fuzz target (tests/fuzz) drives it together
 * with the frame reader and the decoder. Thread-safe given a task that is
 * not being changed.
 */
#ifndef IAMP_REQUEST_H
#define IAMP_REQUEST_H

#include "proto/wire.h"
#include "tasks/task.h"

#include <stddef.h>
#include <stdint.h>

/* Questions a train job may sample per round (TrainParams). */
#define IAMP_QUESTIONS_PER_ROUND_MAX (1u << 16)

struct iamp_limits {
    uint32_t max_frame_bytes;         /* frame payload, refused before allocation */
    uint32_t max_questions;           /* per ANSWER job */
    uint32_t max_contexts;            /* per ANSWER job: instances, at most its questions */
    uint32_t max_depth;               /* per ANSWER and EVAL job */
    long max_tree_nodes;              /* per job, all its question trees together */
    uint32_t max_rounds;              /* per TRAIN job */
    uint32_t max_eval_size;           /* per EVAL job */
    uint32_t max_page_items;          /* per ResultPage and JobList */
    size_t max_pending_bytes;         /* per connection: replies not yet sent */
    uint32_t max_conn_jobs;           /* per connection: its unfinished jobs */
    uint32_t max_watches;             /* per connection */
    uint32_t max_queued_jobs;         /* per server: unfinished jobs */
    uint32_t max_connections;         /* per server */
    uint32_t idle_timeout_ms;         /* a partial frame, or a connection with nothing to do */
    uint32_t max_preauth_frame_bytes; /* with a token: frames before one carried it */
    size_t max_input_bytes;           /* per server: bytes of requests being received */
    size_t max_output_bytes;          /* per server: replies queued, not yet sent */
};

void iamp_limits_default(struct iamp_limits *l);

/* Decoder bounds that follow from the limits. */
void iamp_limits_msg(const struct iamp_limits *l, struct iamp_msg_limits *m);

/* Nodes one question's tree of a traced job may have: what fits in one
 * result page's frame beside the item itself (0: traces do not fit). */
long iamp_limits_trace_nodes(const struct iamp_limits *l);

/* Why a request is refused: an ErrorCode and a line for people. */
struct iamp_refusal {
    int code; /* enum iamp_wire_error */
    char reason[IAMP_REASON_MAX];
};

struct iamp_request_ctx {
    const struct iamp_limits *lim;
    const struct iamp_task *task; /* the served model's task */
    const char *token;            /* NULL when the server takes no token */
    size_t token_len;
    uint32_t ranks; /* processes the backend computes on; above 1 refuses traces */
};

/* 1 when a[0..alen) equals b[0..blen); the time taken does not depend on
 * where they differ. Lengths up to IAMP_TOKEN_MAX. */
int iamp_token_equal(const char *a, size_t alen, const char *b, size_t blen);

/* The ErrorCode for an iamp_msg_decode failure. */
int iamp_request_decode_code(int rc);

/* Check request m. For a SubmitJob, *spec gets the canonical job (the
 * caller releases it); other requests leave it zeroed. Returns 0, or -1
 * with *r filled. */
IAMP_WUR int iamp_request_check(const struct iamp_request_ctx *c, const struct iamp_msg *m,
                                struct iamp_job_spec *spec, struct iamp_refusal *r);

/* Nodes of one question tree of `depth` levels at most, for a task whose
 * episodes ask at most max_asks subquestions; LONG_MAX when unbounded. */
long iamp_tree_nodes_max(int max_asks, uint32_t depth);

#endif
