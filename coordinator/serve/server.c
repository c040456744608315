/* server.c — see server.h.
 *
 * A connection reads frames through its frame reader and handles each as
 * it completes: decode (proto/wire), check (request.c), act, reply. What
 * a client can get wrong gets an Error reply and the connection goes on;
 * after an undecodable or oversize frame (framing is lost) or a bad token
 * the server replies, flushes and closes. A connection whose unsent
 * replies pass max_pending_bytes stops being read until they drain.
 *
 * Lifetimes: a connection is freed when its handle is closed and no
 * journal commit still waits to answer on it (refs). Job submits and
 * cancels wait in `pending` until the commit worker has appended and
 * fsynced their records; only then are they acknowledged and handed to
 * the executor. Everything here runs on the loop thread except
 * commit_work_cb (thread pool), which touches only the journal and the
 * in-flight batch.
 */
#include "coordinator/serve/server.h"

#include "common/clock.h"
#include "common/fileio.h"
#include "coordinator/serve/jobs.h"
#include "proto/frame.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define TICK_MS 1000
#define WATCH_MIN_INTERVAL_MS 100
#define LIST_JOBS_DEFAULT 100
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

enum { ACK_NONE, ACK_SUBMIT, ACK_CANCEL };

struct citem {
    uint8_t *bytes; /* a journal record, or NULL (only an acknowledgement) */
    size_t len;
    int ack;
    uint64_t job;
    struct conn *c; /* holds a ref; NULL for ACK_NONE */
    uint64_t request_id;
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
    struct batch pending, inflight;
    int committing, stopping;
    uint64_t served_round;
    char rbuf[READ_BUFFER_BYTES];
};

static void commit_push(struct iamp_server *s, uint8_t *bytes, size_t len, int ack, uint64_t job,
                        struct conn *c, uint64_t request_id);

/* ---------------------------------------------------------- connections */

static void conn_unref(struct conn *c)
{
    if (--c->refs > 0)
        return;
    iamp_frame_reader_release(&c->rd);
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
    conn_unref(c);
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
static void conn_close_after_flush(struct conn *c)
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
static void maybe_finish_eof(struct conn *c)
{
    if (c->eof && !c->closing && c->out_bytes == 0 && c->refs == 1 && c->n_watches == 0)
        conn_close(c);
}

static struct conn *conn_by_id(struct iamp_server *s, uint64_t id)
{
    for (struct conn *c = s->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* ---------------------------------------------------------- replies */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void write_cb(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct conn *c = w->c;
    c->out_bytes -= w->len;
    free(w->buf);
    free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->paused && !c->closing && !c->eof && c->out_bytes <= c->srv->lim.max_pending_bytes / 2) {
        c->paused = 0;
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    }
    maybe_finish_eof(c);
}

static void send_msg(struct conn *c, struct iamp_msg *m)
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
    uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)w->len);
    c->out_bytes += w->len;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb)) {
        c->out_bytes -= w->len;
        free(w->buf);
        free(w);
        conn_close(c);
    }
}

static void reply_error(struct conn *c, uint64_t request_id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reply_error(struct conn *c, uint64_t request_id, int code, const char *fmt, ...)
{
    struct iamp_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = IAMP_MSG_ERROR;
    m.request_id = request_id;
    m.error_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.reason, sizeof(m.reason), fmt, ap);
    va_end(ap);
    send_msg(c, &m);
}

static void job_status(const struct iamp_job *j, struct iamp_job_status *st)
{
    *st = j->st;
    if (j->cancel_asked && !iamp_job_state_final(j->st.state))
        snprintf(st->message, sizeof(st->message), "cancel requested");
}

static void reply_status(struct conn *c, uint64_t request_id, int kind, const struct iamp_job *j)
{
    struct iamp_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = kind; /* IAMP_MSG_STATUS or IAMP_MSG_PROGRESS */
    m.request_id = request_id;
    job_status(j, &m.status);
    send_msg(c, &m);
}

static void reply_accepted(struct conn *c, uint64_t request_id, uint64_t job)
{
    struct iamp_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = IAMP_MSG_ACCEPTED;
    m.request_id = request_id;
    m.job_id = job;
    send_msg(c, &m);
}

/* ---------------------------------------------------------- jobs */

static struct iamp_job *job_any(struct iamp_server *s, uint64_t id)
{
    return id >= 1 && id <= s->jobs.n ? s->jobs.v[id - 1] : NULL;
}

/* A job became final (or never got durable): it no longer counts. */
static void job_ended(struct iamp_server *s, struct iamp_job *j)
{
    s->jobs.unfinished--;
    struct conn *owner = j->owner ? conn_by_id(s, j->owner) : NULL;
    if (owner && owner->jobs > 0)
        owner->jobs--;
    iamp_job_spec_release(&j->spec);
}

static void journal_end(struct iamp_server *s, struct iamp_job *j)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (iamp_jobs_record(j, IAMP_REC_END, iamp_unix_ms(), &buf, &len) == 0)
        commit_push(s, buf, len, ACK_NONE, j->st.job_id, NULL, 0);
}

/* Make a job final without the executor (refused at start, lost). */
static void fail_job(struct iamp_server *s, struct iamp_job *j, const char *why)
{
    j->st.state = IAMP_JOB_FAILED;
    j->st.finished_ms = iamp_unix_ms();
    snprintf(j->st.message, sizeof(j->st.message), "%.255s", why);
    job_ended(s, j);
    journal_end(s, j);
}

static void to_executor(struct iamp_server *s, struct iamp_job *j)
{
    if (!s->x)
        return; /* stopping: the journal keeps the job for the next start */
    if (iamp_executor_submit(s->x, j->st.job_id, &j->spec))
        fail_job(s, j, "out of memory");
}

static void notify_watchers(struct iamp_server *s, const struct iamp_job *j)
{
    int final = iamp_job_state_final(j->st.state);
    uint64_t now = uv_now(&s->loop);
    for (struct conn *c = s->conns; c; c = c->next) {
        for (int i = 0; i < c->n_watches && !c->closing;) {
            struct watch *w = &c->watches[i];
            if (w->job != j->st.job_id) {
                i++;
                continue;
            }
            /* Progress is lossy: a watcher that does not read gets the
             * final state, not a backlog of steps. */
            int room = c->out_bytes <= c->srv->lim.max_pending_bytes / 2;
            if (final || (room && now - w->last_ms >= WATCH_MIN_INTERVAL_MS)) {
                w->last_ms = now;
                reply_status(c, w->request_id, IAMP_MSG_PROGRESS, j);
            }
            if (final)
                c->watches[i] = c->watches[--c->n_watches];
            else
                i++;
        }
        if (final)
            maybe_finish_eof(c);
    }
}

static void merge_event(struct iamp_job *j, const struct iamp_job_status *e)
{
    j->st.state = e->state;
    j->st.done = e->done;
    j->st.total = e->total;
    snprintf(j->st.message, sizeof(j->st.message), "%s", e->message);
    j->st.has_model_round = e->has_model_round;
    j->st.model_round = e->model_round;
    j->st.has_accuracy = e->has_accuracy;
    j->st.accuracy = e->accuracy;
    j->st.amplified_accuracy = e->amplified_accuracy;
    j->st.finished_ms = e->finished_ms;
}

static void on_event(struct iamp_server *s, struct iamp_exec_event *ev)
{
    s->served_round = ev->served_round;
    struct iamp_job *j = iamp_jobs_get(&s->jobs, ev->st.job_id);
    if (!j || iamp_job_state_final(j->st.state)) {
        if (ev->result) {
            iamp_result_release(ev->result);
            free(ev->result);
        }
        return;
    }
    merge_event(j, &ev->st);
    if (ev->result)
        iamp_jobs_keep_result(&s->jobs, j, ev->result);
    if (iamp_job_state_final(j->st.state)) {
        job_ended(s, j);
        journal_end(s, j);
    }
    notify_watchers(s, j);
}

static void wake_cb(uv_async_t *h)
{
    struct iamp_server *s = h->data;
    struct iamp_exec_event ev;
    while (s->x && iamp_executor_poll(s->x, &ev))
        on_event(s, &ev);
}

/* Executor thread: events are waiting. */
static void notify_cb(void *ctx)
{
    struct iamp_server *s = ctx;
    uv_async_send(&s->wake);
}

/* ---------------------------------------------------------- journal commits */

static void commit_start(struct iamp_server *s);

static void commit_work_cb(uv_work_t *req)
{
    struct iamp_server *s = req->data;
    struct batch *b = &s->inflight;
    struct iamp_journal_rec *recs = calloc((size_t)b->n, sizeof(*recs));
    int n = 0;
    if (!recs) {
        b->rc = IAMP_ENOMEM;
        return;
    }
    for (int i = 0; i < b->n; i++) {
        if (b->v[i].bytes) {
            recs[n].data = b->v[i].bytes;
            recs[n++].len = b->v[i].len;
        }
    }
    b->rc = n ? iamp_journal_append(&s->jobs.journal, recs, n) : 0;
    free(recs);
}

static void submit_committed(struct iamp_server *s, const struct citem *it, int rc)
{
    struct iamp_job *j = job_any(s, it->job);
    if (j && it->bytes && rc == 0) {
        j->committed = 1;
        j->st.state = IAMP_JOB_QUEUED;
        to_executor(s, j);
    } else if (j && it->bytes) {
        j->st.state = IAMP_JOB_FAILED; /* never durable: not an accepted job */
        snprintf(j->st.message, sizeof(j->st.message), "journal: %s", iamp_strerror(rc));
        job_ended(s, j);
    }
    if (!it->c)
        return;
    if (j && j->committed)
        reply_accepted(it->c, it->request_id, it->job);
    else
        reply_error(it->c, it->request_id, IAMP_WERR_INTERNAL, "cannot write the journal: %s",
                    iamp_strerror(rc ? rc : IAMP_EIO));
}

static void cancel_committed(struct iamp_server *s, const struct citem *it, int rc)
{
    struct iamp_job *j = iamp_jobs_get(&s->jobs, it->job);
    if (!j)
        return;
    if (rc) {
        j->cancel_asked = 0;
        reply_error(it->c, it->request_id, IAMP_WERR_INTERNAL, "cannot write the journal: %s",
                    iamp_strerror(rc));
        return;
    }
    if (s->x)
        iamp_executor_cancel(s->x, j->st.job_id);
    reply_status(it->c, it->request_id, IAMP_MSG_STATUS, j);
}

static void commit_after_cb(uv_work_t *req, int status)
{
    struct iamp_server *s = req->data;
    struct batch *b = &s->inflight;
    int rc = status ? IAMP_EIO : b->rc;
    for (int i = 0; i < b->n; i++) {
        struct citem *it = &b->v[i];
        if (it->ack == ACK_SUBMIT)
            submit_committed(s, it, rc);
        else if (it->ack == ACK_CANCEL)
            cancel_committed(s, it, rc);
        free(it->bytes);
        if (it->c && it->c->refs > 1) {
            conn_unref(it->c);
            maybe_finish_eof(it->c);
        } else if (it->c) {
            conn_unref(it->c); /* closed already: this was the last reference */
        }
    }
    b->n = 0;
    s->committing = 0;
    if (s->pending.n > 0)
        commit_start(s);
}

static void commit_start(struct iamp_server *s)
{
    struct batch t = s->inflight;
    s->inflight = s->pending;
    s->pending = t;
    s->inflight.rc = 0;
    s->committing = 1;
    s->work.data = s;
    if (uv_queue_work(&s->loop, &s->work, commit_work_cb, commit_after_cb)) {
        s->inflight.rc = IAMP_EIO;
        commit_after_cb(&s->work, 0);
    }
}

/* Queue a record (bytes taken; may be NULL) and what to answer once it is
 * durable. */
static void commit_push(struct iamp_server *s, uint8_t *bytes, size_t len, int ack, uint64_t job,
                        struct conn *c, uint64_t request_id)
{
    struct batch *b = &s->pending;
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        struct citem *v = realloc(b->v, (size_t)cap * sizeof(*v));
        if (!v) {
            free(bytes);
            if (c)
                reply_error(c, request_id, IAMP_WERR_BUSY, "out of memory");
            return;
        }
        b->v = v;
        b->cap = cap;
    }
    if (c)
        c->refs++;
    b->v[b->n++] = (struct citem){bytes, len, ack, job, c, request_id};
    if (!s->committing)
        commit_start(s);
}

/* ---------------------------------------------------------- requests */

static void on_submit(struct conn *c, const struct iamp_msg *m, struct iamp_job_spec *spec)
{
    struct iamp_server *s = c->srv;
    struct iamp_job *j = iamp_jobs_by_key(&s->jobs, spec->client_key);
    if (j) { /* a resubmission: the first one's job */
        iamp_job_spec_release(spec);
        if (j->committed)
            reply_accepted(c, m->request_id, j->st.job_id);
        else
            commit_push(s, NULL, 0, ACK_SUBMIT, j->st.job_id, c, m->request_id);
        return;
    }
    if (c->jobs >= s->lim.max_conn_jobs) {
        reply_error(c, m->request_id, IAMP_WERR_LIMIT,
                    "this connection has %u unfinished jobs, the limit is %u", c->jobs,
                    s->lim.max_conn_jobs);
        return;
    }
    if (s->jobs.unfinished >= s->lim.max_queued_jobs) {
        reply_error(c, m->request_id, IAMP_WERR_BUSY, "%zu jobs are unfinished; retry later",
                    s->jobs.unfinished);
        return;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = iamp_jobs_add(&s->jobs, spec, c->id, iamp_unix_ms(), &j);
    if (!rc)
        rc = iamp_jobs_record(j, IAMP_REC_SUBMIT, 0, &buf, &len);
    if (rc) {
        if (j)
            j->st.state = IAMP_JOB_FAILED;
        reply_error(c, m->request_id, IAMP_WERR_BUSY, "cannot take the job: %s", iamp_strerror(rc));
        return;
    }
    c->jobs++;
    s->jobs.unfinished++;
    commit_push(s, buf, len, ACK_SUBMIT, j->st.job_id, c, m->request_id);
}

static struct iamp_job *find_or_refuse(struct conn *c, const struct iamp_msg *m)
{
    struct iamp_job *j = iamp_jobs_get(&c->srv->jobs, m->job_id);
    if (!j)
        reply_error(c, m->request_id, IAMP_WERR_NOT_FOUND, "no job %" PRIu64, m->job_id);
    return j;
}

static void on_watch(struct conn *c, const struct iamp_msg *m)
{
    struct iamp_job *j = find_or_refuse(c, m);
    if (!j)
        return;
    if (!iamp_job_state_final(j->st.state)) {
        if ((uint32_t)c->n_watches >= c->srv->lim.max_watches) {
            reply_error(c, m->request_id, IAMP_WERR_LIMIT, "%d watches on this connection",
                        c->n_watches);
            return;
        }
        if (!c->watches)
            c->watches = calloc(c->srv->lim.max_watches, sizeof(*c->watches));
        if (!c->watches) {
            reply_error(c, m->request_id, IAMP_WERR_BUSY, "out of memory");
            return;
        }
        c->watches[c->n_watches++] =
            (struct watch){j->st.job_id, m->request_id, uv_now(&c->srv->loop)};
    }
    reply_status(c, m->request_id, IAMP_MSG_PROGRESS, j);
}

static void on_cancel(struct conn *c, const struct iamp_msg *m)
{
    struct iamp_server *s = c->srv;
    struct iamp_job *j = find_or_refuse(c, m);
    if (!j)
        return;
    if (iamp_job_state_final(j->st.state) || j->cancel_asked) {
        reply_status(c, m->request_id, IAMP_MSG_STATUS, j);
        return;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    if (iamp_jobs_record(j, IAMP_REC_CANCEL, iamp_unix_ms(), &buf, &len)) {
        reply_error(c, m->request_id, IAMP_WERR_BUSY, "out of memory");
        return;
    }
    j->cancel_asked = 1;
    commit_push(s, buf, len, ACK_CANCEL, j->st.job_id, c, m->request_id);
}

/* Items [offset, offset + count) of r with their texts. */
static int fill_page(struct iamp_server *s, const struct iamp_result *r, uint64_t offset, int count,
                     struct iamp_result_page *p)
{
    struct iamp_task other, *t = &s->task;
    char err[256];
    int own = strcmp(r->task, s->task.spec) != 0;
    if (own && iamp_task_create(&other, r->task, err, sizeof(err)))
        return IAMP_EUNKNOWN;
    if (own)
        t = &other;
    p->items = calloc(count ? (size_t)count : 1, sizeof(*p->items));
    for (int i = 0; p->items && i < count; i++) {
        struct iamp_result_item *it = &p->items[i];
        it->q = r->qs[offset + (uint64_t)i];
        it->a = r->as[offset + (uint64_t)i];
        it->depth = r->depth;
        t->ops->format_question(t, &it->q, it->qtext, sizeof(it->qtext));
        t->ops->format_answer(t, &it->q, &it->a, it->atext, sizeof(it->atext));
    }
    if (own)
        iamp_task_destroy(&other);
    p->n_items = count;
    return p->items ? 0 : IAMP_ENOMEM;
}

/* 0 when j has a result to page; else an Error reply went out. */
static int result_ready(struct conn *c, const struct iamp_msg *m, const struct iamp_job *j)
{
    const struct iamp_job_status *st = &j->st;
    if (!iamp_job_state_final(st->state))
        reply_error(c, m->request_id, IAMP_WERR_NOT_DONE,
                    "job %" PRIu64 " is %s (%" PRIu64 "/%" PRIu64 ")", st->job_id,
                    iamp_job_state_name(st->state), st->done, st->total);
    else if (st->state != IAMP_JOB_DONE)
        reply_error(c, m->request_id, IAMP_WERR_NOT_DONE, "job %" PRIu64 " %s: %s", st->job_id,
                    st->state == IAMP_JOB_FAILED ? "failed" : "was canceled", st->message);
    return st->state == IAMP_JOB_DONE ? 0 : -1;
}

static void on_get_result(struct conn *c, const struct iamp_msg *m)
{
    struct iamp_server *s = c->srv;
    struct iamp_job *j = find_or_refuse(c, m);
    if (!j || result_ready(c, m, j))
        return;
    struct iamp_msg out;
    memset(&out, 0, sizeof(out));
    out.kind = IAMP_MSG_RESULT;
    out.request_id = m->request_id;
    out.page.job_id = j->st.job_id;
    out.page.offset = m->offset;
    out.page.has_status = 1;
    job_status(j, &out.page.status);
    const struct iamp_result *r = NULL;
    int rc = j->st.kind == IAMP_JOB_ANSWER ? iamp_jobs_result(&s->jobs, j, &r) : 0;
    if (rc) {
        reply_error(c, m->request_id, IAMP_WERR_INTERNAL, "cannot read the result: %s",
                    iamp_strerror(rc));
        return;
    }
    uint64_t total = r ? (uint64_t)r->n : 0;
    if (m->offset > total) {
        reply_error(c, m->request_id, IAMP_WERR_BAD_REQUEST,
                    "offset %" PRIu64 " is past the %" PRIu64 " results", m->offset, total);
        return;
    }
    uint32_t limit =
        m->limit && m->limit < s->lim.max_page_items ? m->limit : s->lim.max_page_items;
    uint64_t count = total - m->offset < limit ? total - m->offset : limit;
    out.page.total = total;
    if (r && fill_page(s, r, m->offset, (int)count, &out.page))
        reply_error(c, m->request_id, IAMP_WERR_INTERNAL, "cannot format the result");
    else
        send_msg(c, &out);
    iamp_msg_release(&out);
}

static void on_list_jobs(struct conn *c, const struct iamp_msg *m)
{
    struct iamp_server *s = c->srv;
    uint32_t limit = m->limit ? m->limit : LIST_JOBS_DEFAULT;
    if (limit > s->lim.max_page_items)
        limit = s->lim.max_page_items;
    struct iamp_msg out;
    memset(&out, 0, sizeof(out));
    out.kind = IAMP_MSG_JOB_LIST;
    out.request_id = m->request_id;
    out.jobs = calloc(limit ? limit : 1, sizeof(*out.jobs));
    if (!out.jobs) {
        reply_error(c, m->request_id, IAMP_WERR_BUSY, "out of memory");
        return;
    }
    for (size_t i = s->jobs.n; i-- > 0 && (uint32_t)out.n_jobs < limit;) {
        struct iamp_job *j = s->jobs.v[i];
        if (j && j->committed)
            job_status(j, &out.jobs[out.n_jobs++]);
    }
    send_msg(c, &out);
    iamp_msg_release(&out);
}

static void on_info(struct conn *c, const struct iamp_msg *m)
{
    struct iamp_server *s = c->srv;
    struct iamp_msg out;
    memset(&out, 0, sizeof(out));
    out.kind = IAMP_MSG_INFO_REPLY;
    out.request_id = m->request_id;
    struct iamp_info *in = &out.info;
    snprintf(in->version, sizeof(in->version), "%s", IAMP_VERSION);
    in->ranks = s->b->ranks;
    for (int i = 0; i < iamp_task_count() && i < IAMP_INFO_TASKS_MAX; i++)
        snprintf(in->tasks[in->n_tasks++], sizeof(in->tasks[0]), "%s", iamp_task_ops_at(i)->name);
    in->model_round = s->served_round;
    snprintf(in->model_task, sizeof(in->model_task), "%s", s->task.spec);
    in->max_questions = s->lim.max_questions;
    in->max_depth = s->lim.max_depth;
    in->max_tree_nodes = (uint64_t)s->lim.max_tree_nodes;
    in->max_frame_bytes = s->lim.max_frame_bytes;
    in->max_page_items = s->lim.max_page_items;
    in->jobs_queued = s->jobs.unfinished;
    in->jobs_total = s->jobs.n;
    send_msg(c, &out);
}

static void dispatch(struct conn *c, const struct iamp_msg *m, struct iamp_job_spec *spec)
{
    switch (m->kind) {
    case IAMP_MSG_SUBMIT:
        on_submit(c, m, spec);
        return;
    case IAMP_MSG_GET_STATUS: {
        struct iamp_job *j = find_or_refuse(c, m);
        if (j)
            reply_status(c, m->request_id, IAMP_MSG_STATUS, j);
        return;
    }
    case IAMP_MSG_WATCH:
        on_watch(c, m);
        return;
    case IAMP_MSG_GET_RESULT:
        on_get_result(c, m);
        return;
    case IAMP_MSG_CANCEL:
        on_cancel(c, m);
        return;
    case IAMP_MSG_LIST_JOBS:
        on_list_jobs(c, m);
        return;
    default:
        on_info(c, m);
        return;
    }
}

static void handle_frame(struct conn *c, const uint8_t *buf, size_t len)
{
    struct iamp_server *s = c->srv;
    struct iamp_msg m;
    struct iamp_job_spec spec;
    struct iamp_refusal r;
    char why[IAMP_REASON_MAX];
    int rc = iamp_msg_decode(buf, len, &s->mlim, &m, why, sizeof(why));
    if (rc) {
        int code = iamp_request_decode_code(rc);
        reply_error(c, m.request_id, code, "%s", why);
        if (code == IAMP_WERR_BAD_FRAME)
            conn_close_after_flush(c);
        return;
    }
    if (iamp_request_check(&s->rctx, &m, &spec, &r)) {
        reply_error(c, m.request_id, r.code, "%s", r.reason);
        if (r.code == IAMP_WERR_AUTH)
            conn_close_after_flush(c);
    } else {
        dispatch(c, &m, &spec);
        iamp_job_spec_release(&spec);
    }
    iamp_msg_release(&m);
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
        reply_error(c, 0, IAMP_WERR_BAD_FRAME, "truncated frame: %u of %u bytes", have, need);
        conn_close_after_flush(c);
        return;
    }
    maybe_finish_eof(c);
}

/* Feed bytes to the frame reader; handle each frame as it completes. */
static void feed(struct conn *c, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len && !c->closing) {
        const uint8_t *frame = NULL;
        uint32_t flen = 0;
        size_t used = 0;
        int rc = iamp_frame_reader_feed(&c->rd, data + off, len - off, &used, &frame, &flen);
        off += used;
        if (rc == 1) {
            handle_frame(c, frame, flen);
        } else if (rc < 0) {
            if (rc == IAMP_ELIMIT)
                reply_error(c, 0, IAMP_WERR_BAD_FRAME,
                            "frame of %u bytes is over the limit of %u bytes", flen,
                            c->srv->lim.max_frame_bytes);
            else
                reply_error(c, 0, IAMP_WERR_BUSY, "out of memory");
            conn_close_after_flush(c);
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
    feed(c, (const uint8_t *)buf->base, (size_t)nread);
    if (!c->closing && c->out_bytes > c->srv->lim.max_pending_bytes) {
        uv_read_stop(st); /* back-pressure: resumes in write_cb */
        c->paused = 1;
    }
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
    iamp_frame_reader_init(&c->rd, s->lim.max_frame_bytes);
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
        reply_error(c, 0, IAMP_WERR_BUSY, "too many connections (the limit is %u)",
                    s->lim.max_connections);
        conn_close_after_flush(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* Close connections stuck in a partial frame or idle with nothing to do. */
static void tick_cb(uv_timer_t *t)
{
    struct iamp_server *s = t->data;
    uint64_t now = uv_now(&s->loop);
    for (struct conn *c = s->conns; c; c = c->next) {
        if (c->closing || now - c->last_ms < s->lim.idle_timeout_ms)
            continue;
        if (iamp_frame_reader_partial(&c->rd)) {
            reply_error(c, 0, IAMP_WERR_BAD_FRAME, "incomplete frame for %u ms",
                        s->lim.idle_timeout_ms);
            conn_close_after_flush(c);
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

/* Hand the journal's unfinished jobs to the executor, oldest first. */
static void resume_jobs(struct iamp_server *s)
{
    char why[IAMP_REASON_MAX + 64];
    for (size_t i = 0; i < s->jobs.n; i++) {
        struct iamp_job *j = s->jobs.v[i];
        if (!j || !j->committed || iamp_job_state_final(j->st.state))
            continue;
        if (strcmp(j->st.task, s->task.spec) != 0) {
            snprintf(why, sizeof(why), "the server now answers task %s", s->task.spec);
            fail_job(s, j, why);
            continue;
        }
        to_executor(s, j);
    }
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
    s->rctx = (struct iamp_request_ctx){&s->lim, &s->task, o->token, o->token_len};
    return 0;
}

/* The loop and every handle, so that stop() may close them all. */
static int loop_init(struct iamp_server *s)
{
    if (uv_loop_init(&s->loop))
        return IAMP_ENOMEM;
    uv_async_init(&s->loop, &s->wake, wake_cb);
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
    int rc = iamp_executor_start(&s->x, s->b, &xo, notify_cb, s);
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
            resume_jobs(s);
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
