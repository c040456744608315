/* server_int.h — private to server.c and handle.c: the job server's
 * state and the functions one of them calls in the other (prefix
 * iamp__srv_). Everything here belongs to the loop thread, except the
 * in-flight batch while the commit worker appends it (handle.c).
 */
#ifndef IAMP_SERVER_INT_H
#define IAMP_SERVER_INT_H

#include "coordinator/serve/jobs.h"
#include "coordinator/serve/server.h"
#include "proto/frame.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define READ_BUFFER_BYTES 65536

struct watch {
    uint64_t job, request_id, last_ms;
};

struct conn {
    uv_tcp_t tcp; /* tcp.data = this */
    uv_shutdown_t shut;
    struct iamp_server *srv;
    uint64_t id;
    int refs;    /* the handle, plus one per commit item that answers here */
    int closing; /* 1: flushing, then closing; 2: uv_close called */
    int eof, paused;
    int authed;       /* a request with the right token came (or none is needed) */
    uint32_t charged; /* bytes of the frame being received, counted in srv->in_bytes */
    uint8_t *stash;   /* bytes read but not fed: reading paused behind its replies */
    size_t stash_len;
    struct iamp_frame_reader rd;
    size_t out_bytes; /* replies queued, not yet written */
    uint32_t jobs;    /* unfinished jobs it submitted */
    struct watch *watches;
    int n_watches;
    uint64_t last_ms; /* loop time of the last byte read */
    struct conn *prev, *next;
};

struct wreq {
    uv_write_t req;
    struct conn *c;
    uint8_t *buf;
    size_t len;
};

enum { ACK_NONE, ACK_SUBMIT, ACK_CANCEL, ACK_END };

struct citem {
    uint8_t *bytes; /* a journal record, or NULL (only an acknowledgement) */
    size_t len;
    int ack;
    uint64_t job;
    struct conn *c; /* holds a ref; NULL for ACK_NONE and ACK_END */
    uint64_t request_id;
    uint64_t at; /* the record's journal offset, once appended */
};

struct batch {
    struct citem *v;
    int n, cap;
    int rc;
};

struct iamp_server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t wake;
    uv_signal_t sigint, sigterm;
    uv_timer_t tick;
    uv_work_t work;
    const struct iamp_server_opts *o;
    struct iamp_limits lim;
    struct iamp_msg_limits mlim;
    struct iamp_request_ctx rctx;
    struct iamp_task task; /* the served task, for parsing and formatting */
    struct iamp_backend *b;
    struct iamp_executor *x;
    struct iamp_jobs jobs;
    struct conn *conns;
    uint32_t n_conns;
    uint64_t next_conn;
    size_t in_bytes;      /* frames being received, all connections (lim.max_input_bytes) */
    size_t out_bytes;     /* replies queued, all connections (lim.max_output_bytes) */
    size_t compact_floor; /* journal bytes after the last compaction while serving */
    int housekeeping_due; /* a tick found a commit in flight */
    struct batch pending, inflight;
    int committing, stopping;
    uint64_t served_round;
    char rbuf[READ_BUFFER_BYTES];
};

/* server.c: connections and replies */
void iamp__srv_conn_unref(struct conn *c);
void iamp__srv_conn_close_after_flush(struct conn *c);
void iamp__srv_maybe_finish_eof(struct conn *c);
struct conn *iamp__srv_conn_by_id(struct iamp_server *s, uint64_t id);
void iamp__srv_send_msg(struct conn *c, struct iamp_msg *m);
void iamp__srv_reply_error(struct conn *c, uint64_t request_id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void iamp__srv_job_status(const struct iamp_job *j, struct iamp_job_status *st);
void iamp__srv_reply_status(struct conn *c, uint64_t request_id, int kind,
                            const struct iamp_job *j);
void iamp__srv_reply_accepted(struct conn *c, uint64_t request_id, uint64_t job);

/* server.c: retention and compaction; loop thread, no commit in flight */
void iamp__srv_housekeeping(struct iamp_server *s);

/* handle.c: requests, executor events and journal commits */
void iamp__srv_handle_frame(struct conn *c, const uint8_t *buf, size_t len);
void iamp__srv_resume_jobs(struct iamp_server *s);
void iamp__srv_wake_cb(uv_async_t *h);
void iamp__srv_notify_cb(void *ctx);

#endif
