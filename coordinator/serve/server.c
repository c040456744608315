/* server.c — see server.h: the job server's connections and its loop.
 *
 * A connection reads frames through its frame reader and hands each, as
 * it completes, to handle.c: decode (proto/wire), check (request.c), act,
 * reply. What a client can get wrong gets an Error reply and the
 * connection goes on; after an undecodable or oversize frame (framing is
 * lost) or a bad token the server replies, flushes and closes. A
 * connection whose unsent replies pass max_pending_bytes stops being read
 * until they drain.
 *
 * Lifetimes: a connection is freed when its handle is closed and no
 * journal commit still waits to answer on it (refs). Everything here runs
 * on the loop thread.
 */
#include "coordinator/serve/server.h"

#include "common/clock.h"
#include "common/fileio.h"
#include "coordinator/serve/server_int.h"

#include "common/text.h"

#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 1000
/* A connection keeps a frame buffer this large between frames; larger
 * ones go back to the allocator once their frame is handled. */
#define IAMP_CONN_KEEP_BYTES (64u << 10)

/* ---------------------------------------------------------- connections */

/* The frame a connection was receiving no longer counts against the
 * server's input budget. */
static void uncharge(struct conn *c)
{
    c->srv->in_bytes -= c->charged;
    c->charged = 0;
}

void iamp__srv_conn_unref(struct conn *c)
{
    if (--c->refs > 0)
        return;
    uncharge(c);
    int big = c->rd.cap > IAMP_CONN_KEEP_BYTES;
    iamp_frame_reader_release(&c->rd);
    free(c->stash);
#ifdef __GLIBC__
    if (big)
        malloc_trim(0); /* give a large frame's pages back to the system */
#else
    (void)big;
#endif
    free(c->watches);
    free(c);
}

static void close_cb(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct iamp_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    iamp__srv_conn_unref(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing == 2)
        return;
    c->closing = 2;
    c->n_watches = 0;
    uv_close((uv_handle_t *)&c->tcp, close_cb);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

/* Stop reading, send what is queued, then close. */
void iamp__srv_conn_close_after_flush(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->n_watches = 0;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->shut.data = c;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, shutdown_cb))
        conn_close(c);
}

/* The peer has stopped sending: close once nothing is left to answer. */
void iamp__srv_maybe_finish_eof(struct conn *c)
{
    if (c->eof && !c->closing && c->out_bytes == 0 && c->refs == 1 && c->n_watches == 0)
        conn_close(c);
}

struct conn *iamp__srv_conn_by_id(struct iamp_server *s, uint64_t id)
{
    for (struct conn *c = s->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* ---------------------------------------------------------- replies */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void feed(struct conn *c, const uint8_t *data, size_t len);

static void write_cb(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct conn *c = w->c;
    c->out_bytes -= w->len;
    c->srv->out_bytes -= w->len;
    free(w->buf);
    free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->paused && !c->closing && c->out_bytes <= c->srv->lim.max_pending_bytes / 2) {
        c->paused = 0;
        uint8_t *stash = c->stash; /* the requests read before the pause first */
        size_t n = c->stash_len;
        c->stash = NULL;
        c->stash_len = 0;
        if (stash)
            feed(c, stash, n);
        free(stash);
        if (!c->paused && !c->closing && !c->eof)
            uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    }
    iamp__srv_maybe_finish_eof(c);
}

void iamp__srv_send_msg(struct conn *c, struct iamp_msg *m)
{
    if (c->closing)
        return;
    struct wreq *w = calloc(1, sizeof(*w));
    if (!w || iamp_msg_frame(m, &w->buf, &w->len)) {
        free(w);
        conn_close(c);
        return;
    }
    w->c = c;
    struct iamp_server *s = c->srv;
    /* A client that does not read its replies: reading it pauses at
     * max_pending_bytes (feed); replies its earlier requests still cause
     * (progress of watches) may take it to twice that, then it is
     * disconnected, as it is when all connections' replies together
     * would pass max_output_bytes. */
    if (c->out_bytes + w->len > 2 * s->lim.max_pending_bytes ||
        s->out_bytes + w->len > s->lim.max_output_bytes) {
        free(w->buf);
        free(w);
        conn_close(c);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)w->len);
    c->out_bytes += w->len;
    s->out_bytes += w->len;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb)) {
        c->out_bytes -= w->len;
        s->out_bytes -= w->len;
        free(w->buf);
        free(w);
        conn_close(c);
    }
}

void iamp__srv_reply_error(struct conn *c, uint64_t request_id, int code, const char *fmt, ...)
{
    struct iamp_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = IAMP_MSG_ERROR;
    m.request_id = request_id;
    m.error_code = code;
    char raw[sizeof(m.reason)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    iamp_text_printable(m.reason, sizeof(m.reason), raw); /* a reply is valid UTF-8 */
    iamp__srv_send_msg(c, &m);
}

void iamp__srv_job_status(const struct iamp_job *j, struct iamp_job_status *st)
{
    *st = j->st;
    iamp_text_printable(st->message, sizeof(st->message), j->st.message);
    if (j->cancel_asked && !iamp_job_state_final(j->st.state))
        snprintf(st->message, sizeof(st->message), "cancel requested");
}

void iamp__srv_reply_status(struct conn *c, uint64_t request_id, int kind, const struct iamp_job *j)
{
    struct iamp_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = kind; /* IAMP_MSG_STATUS or IAMP_MSG_PROGRESS */
    m.request_id = request_id;
    iamp__srv_job_status(j, &m.status);
    iamp__srv_send_msg(c, &m);
}

void iamp__srv_reply_accepted(struct conn *c, uint64_t request_id, uint64_t job)
{
    struct iamp_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = IAMP_MSG_ACCEPTED;
    m.request_id = request_id;
    m.job_id = job;
    iamp__srv_send_msg(c, &m);
}

/* ---------------------------------------------------------- reading */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = h->data;
    *buf = uv_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
}

static void on_eof(struct conn *c)
{
    uint32_t have, need;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->eof = 1;
    if (iamp_frame_reader_partial(&c->rd)) {
        iamp_frame_reader_progress(&c->rd, &have, &need);
        iamp__srv_reply_error(c, 0, IAMP_WERR_BAD_FRAME, "truncated frame: %u of %u bytes", have,
                              need);
        iamp__srv_conn_close_after_flush(c);
        return;
    }
    iamp__srv_maybe_finish_eof(c);
}

/* A frame of need bytes begins: admit it into the server's input budget
 * (before its bytes are buffered), or refuse it. 0 when admitted. */
static int admit_frame(struct conn *c, uint32_t need)
{
    struct iamp_server *s = c->srv;
    if (s->in_bytes + need > s->lim.max_input_bytes) {
        iamp__srv_reply_error(c, 0, IAMP_WERR_BUSY,
                              "the server is receiving %zu bytes of requests already; a frame of "
                              "%u bytes is over its budget of %zu bytes: retry",
                              s->in_bytes, need, s->lim.max_input_bytes);
        return -1;
    }
    c->charged = need;
    s->in_bytes += need;
    return 0;
}

static void frame_too_large(struct conn *c, uint32_t flen)
{
    if (!c->authed && flen <= c->srv->lim.max_frame_bytes)
        iamp__srv_reply_error(c, 0, IAMP_WERR_BAD_FRAME,
                              "frame of %u bytes before authentication: until a request carries "
                              "the token, frames are limited to %u bytes",
                              flen, c->rd.max_bytes);
    else
        iamp__srv_reply_error(c, 0, IAMP_WERR_BAD_FRAME,
                              "frame of %u bytes is over the limit of %u bytes", flen,
                              c->srv->lim.max_frame_bytes);
}

/* Back-pressure: stop reading c until its replies drain (write_cb), and
 * keep the rest of what was read for then. */
static void pause_reading(struct conn *c, const uint8_t *rest, size_t n)
{
    if (!c->paused)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->paused = 1;
    if (n == 0)
        return;
    uint8_t *p = realloc(c->stash, c->stash_len + n);
    if (!p) {
        conn_close(c);
        return;
    }
    memcpy(p + c->stash_len, rest, n);
    c->stash = p;
    c->stash_len += n;
}

/* Feed bytes to the frame reader; handle each frame as it completes. A
 * frame's header is fed on its own, so the frame is admitted into the
 * input budget before any of its payload is buffered. */
static void feed(struct conn *c, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len && !c->closing) {
        const uint8_t *frame = NULL;
        uint32_t flen = 0, have, need;
        size_t used = 0, chunk = len - off;
        int header = c->rd.hdr_have < IAMP_FRAME_HEADER_BYTES;
        if (header && chunk > (size_t)(IAMP_FRAME_HEADER_BYTES - c->rd.hdr_have))
            chunk = (size_t)(IAMP_FRAME_HEADER_BYTES - c->rd.hdr_have);
        int rc = iamp_frame_reader_feed(&c->rd, data + off, chunk, &used, &frame, &flen);
        off += used;
        if (rc >= 0 && header && c->rd.hdr_have == IAMP_FRAME_HEADER_BYTES) {
            iamp_frame_reader_progress(&c->rd, &have, &need);
            if (admit_frame(c, need)) {
                iamp__srv_conn_close_after_flush(c);
                return;
            }
        }
        if (rc == 1) {
            iamp__srv_handle_frame(c, frame, flen);
            uncharge(c);
            iamp_frame_reader_shrink(&c->rd, IAMP_CONN_KEEP_BYTES);
            if (!c->closing && c->out_bytes > c->srv->lim.max_pending_bytes) {
                pause_reading(c, data + off, len - off);
                return;
            }
        } else if (rc < 0) {
            if (rc == IAMP_ELIMIT)
                frame_too_large(c, flen);
            else
                iamp__srv_reply_error(c, 0, IAMP_WERR_BUSY, "out of memory");
            iamp__srv_conn_close_after_flush(c);
        }
    }
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    if (nread == UV_EOF) {
        on_eof(c);
        return;
    }
    if (nread < 0) {
        conn_close(c);
        return;
    }
    c->last_ms = uv_now(&c->srv->loop);
    feed(c, (const uint8_t *)buf->base, (size_t)nread); /* pauses itself (back-pressure) */
}

static void connection_cb(uv_stream_t *server, int status)
{
    struct iamp_server *s = server->data;
    if (status < 0 || s->stopping)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    if (!c || uv_tcp_init(&s->loop, &c->tcp)) {
        free(c);
        return;
    }
    c->tcp.data = c;
    c->srv = s;
    c->refs = 1;
    c->id = ++s->next_conn;
    c->last_ms = uv_now(&s->loop);
    c->authed = s->o->token == NULL;
    iamp_frame_reader_init(&c->rd,
                           c->authed || s->lim.max_preauth_frame_bytes > s->lim.max_frame_bytes
                               ? s->lim.max_frame_bytes
                               : s->lim.max_preauth_frame_bytes);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (s->n_conns > s->lim.max_connections) {
        iamp__srv_reply_error(c, 0, IAMP_WERR_BUSY, "too many connections (the limit is %u)",
                              s->lim.max_connections);
        iamp__srv_conn_close_after_flush(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* Close connections stuck in a partial frame or idle with nothing to do. */
/* Retention and compaction while serving, between journal commits: a
 * tick that finds a commit in flight leaves it to the commit's end
 * (handle.c), so a server that is never idle still prunes. Records still
 * pending are appended after the rewrite (an END or CANCEL already in the
 * table is then in the journal twice, which replay takes as once). */
void iamp__srv_housekeeping(struct iamp_server *s)
{
    struct iamp_jobs *js = &s->jobs;
    if (s->committing) {
        s->housekeeping_due = 1;
        return;
    }
    s->housekeeping_due = 0;
    long pruned = 0;
    int rc = 0;
    if (s->o->retain_jobs > 0 || s->o->retain_hours > 0.0)
        rc = iamp_jobs_prune(js, iamp_unix_ms(), s->o->retain_jobs, s->o->retain_hours, &pruned);
    /* Compact when the journal has doubled since it was last compact (or
     * passed twice the threshold), so live records alone never make it
     * compact every tick. */
    size_t floor = s->compact_floor > s->o->journal_compact_bytes ? s->compact_floor
                                                                  : s->o->journal_compact_bytes;
    int compacted = pruned > 0; /* pruning rewrote it */
    if (!rc && !compacted && js->journal.size > 2 * floor + 4096) {
        rc = iamp_jobs_compact(js);
        compacted = rc == 0;
    }
    if (!rc && (compacted || s->compact_floor == 0))
        s->compact_floor = js->journal.size;
    if (rc)
        fprintf(stderr, "serve: journal housekeeping failed: %s\n", iamp_strerror(rc));
    else if (pruned && !s->o->quiet)
        fprintf(stderr, "serve: %ld finished job(s) expired; journal %" PRIu64 " bytes\n", pruned,
                js->journal.size);
}

static void tick_cb(uv_timer_t *t)
{
    struct iamp_server *s = t->data;
    uint64_t now = uv_now(&s->loop);
    iamp__srv_housekeeping(s);
    for (struct conn *c = s->conns; c; c = c->next) {
        if (c->closing || now - c->last_ms < s->lim.idle_timeout_ms)
            continue;
        if (iamp_frame_reader_partial(&c->rd)) {
            iamp__srv_reply_error(c, 0, IAMP_WERR_BAD_FRAME, "incomplete frame for %u ms",
                                  s->lim.idle_timeout_ms);
            iamp__srv_conn_close_after_flush(c);
        } else if (c->n_watches == 0 && c->refs == 1 && c->out_bytes == 0) {
            conn_close(c);
        }
    }
}

/* ---------------------------------------------------------- start and stop */

static void stop(struct iamp_server *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->tick, NULL);
    for (struct conn *c = s->conns; c; c = c->next)
        conn_close(c);
    iamp_executor_stop(s->x); /* the slice in progress finishes first */
    s->x = NULL;
    uv_close((uv_handle_t *)&s->wake, NULL);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    struct iamp_server *s = h->data;
    if (!s->o->quiet)
        fprintf(stderr, "serve: signal %d, stopping\n", signum);
    stop(s);
}

static int bind_listener(struct iamp_server *s, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    const struct iamp_server_opts *o = s->o;
    int rc = uv_ip4_addr(o->host, o->port, (struct sockaddr_in *)&addr);
    if (rc)
        rc = uv_ip6_addr(o->host, o->port, (struct sockaddr_in6 *)&addr);
    if (!rc)
        rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&s->listener, 511, connection_cb);
    if (rc)
        snprintf(err, errlen, "cannot listen on %s:%d: %s", o->host, o->port, uv_strerror(rc));
    return rc ? IAMP_ENET : 0;
}

static int bound_port(struct iamp_server *s)
{
    struct sockaddr_storage addr;
    int len = sizeof(addr);
    if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len))
        return -1;
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

static int write_port_file(struct iamp_server *s, int port, char *err, size_t errlen)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%d\n", port);
    int rc = iamp_file_write_atomic(s->o->port_file, text, (size_t)n);
    if (rc)
        snprintf(err, errlen, "cannot write %s: %s", s->o->port_file, iamp_strerror(rc));
    return rc;
}

static int start_listening(struct iamp_server *s, char *err, size_t errlen)
{
    int rc = bind_listener(s, err, errlen);
    if (rc)
        return rc;
    int port = bound_port(s);
    if (s->o->port_file && write_port_file(s, port, err, errlen))
        return IAMP_EIO;
    uv_signal_start(&s->sigint, signal_cb, SIGINT);
    uv_signal_start(&s->sigterm, signal_cb, SIGTERM);
    uv_timer_start(&s->tick, tick_cb, TICK_MS, TICK_MS);
    if (!s->o->quiet)
        fprintf(stderr,
                "serve: listening on %s:%d (data %s, task %s, model round %" PRIu64
                ", %zu jobs, %zu unfinished)\n",
                s->o->host, port, s->o->data_dir, s->task.spec, s->served_round, s->jobs.n,
                s->jobs.unfinished);
    return 0;
}

static void report_replay(const struct iamp_server *s)
{
    const struct iamp_jobs *js = &s->jobs;
    if (s->o->quiet)
        return;
    if (js->replay.torn_bytes || js->bad_records || js->recovered)
        fprintf(stderr,
                "serve: journal: %ld records, %" PRIu64 " torn bytes dropped, %ld bad records, "
                "%ld jobs ended at replay\n",
                js->replay.records, js->replay.torn_bytes, js->bad_records, js->recovered);
    if (js->replay.damaged)
        fprintf(stderr,
                "serve: journal: DAMAGED: %ld range(s), %" PRIu64 " bytes skipped (the first at "
                "offset %" PRIu64 "); the records there are lost, every other replayed\n",
                js->replay.damaged, js->replay.damaged_bytes, js->replay.first_damage);
    if (js->replay.format == 1)
        fprintf(stderr, "serve: journal: format 1 rewritten as format %d\n", IAMP_JOURNAL_FORMAT);
    if (js->ids_damaged)
        fprintf(stderr,
                "serve: %s/ids was missing or damaged; job ids continue after the "
                "journal's highest\n",
                js->dir);
    if (js->compacted_from)
        fprintf(stderr, "serve: journal compacted from %" PRIu64 " to %" PRIu64 " bytes\n",
                js->compacted_from, js->journal.size);
}

/* The job table and the loop-thread task; nothing of libuv yet. */
static int server_prepare(struct iamp_server *s, char *err, size_t errlen)
{
    const struct iamp_server_opts *o = s->o;
    s->lim = o->lim;
    iamp_limits_msg(&s->lim, &s->mlim);
    s->served_round = s->b->round;
    int rc = iamp_jobs_open(&s->jobs, o->data_dir, o->result_cache_bytes, o->journal_compact_bytes,
                            err, errlen);
    if (rc)
        return rc;
    report_replay(s);
    rc = iamp_task_create(&s->task, s->b->task, err, errlen);
    if (rc)
        return rc;
    s->rctx = (struct iamp_request_ctx){&s->lim, &s->task, o->token, o->token_len, s->b->ranks};
    return 0;
}

/* The loop and every handle, so that stop() may close them all. */
static int loop_init(struct iamp_server *s)
{
    if (uv_loop_init(&s->loop))
        return IAMP_ENOMEM;
    uv_async_init(&s->loop, &s->wake, iamp__srv_wake_cb);
    uv_signal_init(&s->loop, &s->sigint);
    uv_signal_init(&s->loop, &s->sigterm);
    uv_timer_init(&s->loop, &s->tick);
    uv_tcp_init(&s->loop, &s->listener);
    s->wake.data = s->sigint.data = s->sigterm.data = s->tick.data = s->listener.data = s;
    return 0;
}

static int start_executor(struct iamp_server *s, char *err, size_t errlen)
{
    struct iamp_executor_opts xo = s->o->exec;
    xo.data_dir = s->o->data_dir;
    xo.max_trace_nodes = iamp_limits_trace_nodes(&s->lim);
    int rc = iamp_executor_start(&s->x, s->b, &xo, iamp__srv_notify_cb, s);
    if (rc)
        snprintf(err, errlen, "cannot start the executor: %s", iamp_strerror(rc));
    return rc;
}

int iamp_server_run(const struct iamp_server_opts *o, struct iamp_backend *b, char *err,
                    size_t errlen)
{
    struct iamp_server *s = calloc(1, sizeof(*s));
    if (!s)
        return IAMP_ENOMEM;
    s->o = o;
    s->b = b;
    int rc = server_prepare(s, err, errlen);
    if (!rc && loop_init(s)) {
        snprintf(err, errlen, "cannot start the event loop");
        rc = IAMP_ENOMEM;
    } else if (!rc) {
        rc = start_executor(s, err, errlen);
        if (!rc) {
            iamp__srv_resume_jobs(s);
            rc = start_listening(s, err, errlen);
        }
        if (rc)
            stop(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        uv_loop_close(&s->loop);
    }
    iamp_jobs_close(&s->jobs);
    iamp_task_destroy(&s->task);
    free(s->pending.v);
    free(s->inflight.v);
    free(s);
    return rc;
}
