/* handle.c — what the job server does with a checked request and with
 * the executor's events; server.c owns the connections (server_int.h).
 *
 * Each frame server.c reads is decoded (proto/wire), checked (request.c),
 * acted on and answered. Job submits and cancels wait in `pending` until
 * the commit worker has appended and fsynced their records; only then are
 * they acknowledged and handed to the executor. A job's final state from
 * the executor waits the same way for its END record (which holds a small
 * job's answers) and is shown only once that is durable, so a client never
 * sees DONE for answers a crash could lose. Records arriving while an
 * append is in flight go into the next one (group commit). A commit item
 * that answers on a connection holds a ref on it.
 *
 * Threads: everything here runs on the loop thread except commit_work_cb
 * (thread pool), which touches only the journal and the in-flight batch,
 * and notify_cb (executor thread), which only wakes the loop.
 */
#include "coordinator/serve/server_int.h"

#include "common/clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_MIN_INTERVAL_MS 100
#define LIST_JOBS_DEFAULT 100

static void commit_push(struct iamp_server *s, uint8_t *bytes, size_t len, int ack, uint64_t job,
                        struct conn *c, uint64_t request_id);

/* ---------------------------------------------------------- jobs */

static struct iamp_job *job_any(struct iamp_server *s, uint64_t id)
{
    const struct iamp_jobs *js = &s->jobs;
    return id > js->base && id <= js->n ? js->v[id - 1 - js->base] : NULL;
}

/* A job became final (or never got durable): it no longer counts. */
static void job_ended(struct iamp_server *s, struct iamp_job *j)
{
    s->jobs.unfinished--;
    struct conn *owner = j->owner ? iamp__srv_conn_by_id(s, j->owner) : NULL;
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
                iamp__srv_reply_status(c, w->request_id, IAMP_MSG_PROGRESS, j);
            }
            if (final)
                c->watches[i] = c->watches[--c->n_watches];
            else
                i++;
        }
        if (final)
            iamp__srv_maybe_finish_eof(c);
    }
}

/* The executor's dynamic fields of e into the job's status st. */
static void merge_status(struct iamp_job_status *st, const struct iamp_job_status *e)
{
    st->state = e->state;
    st->done = e->done;
    st->total = e->total;
    snprintf(st->message, sizeof(st->message), "%s", e->message);
    st->has_model_round = e->has_model_round;
    st->model_round = e->model_round;
    st->has_accuracy = e->has_accuracy;
    st->accuracy = e->accuracy;
    st->amplified_accuracy = e->amplified_accuracy;
    st->finished_ms = e->finished_ms;
}

static void release_event(struct iamp_exec_event *ev)
{
    if (ev->result) {
        iamp_result_release(ev->result);
        free(ev->result);
    }
    free(ev->result_file);
    ev->result = NULL;
    ev->result_file = NULL;
}

/* Show job j's final state st with its answers (taken; may be NULL) now
 * that its END record is durable at `at` (inline: the record holds them),
 * or, when the record could not be written (rc), a failure. */
static void apply_end(struct iamp_server *s, struct iamp_job *j, const struct iamp_job_status *st,
                      struct iamp_result *result, int inline_result, uint64_t at, int rc)
{
    j->st = *st;
    if (rc) {
        j->st.state = IAMP_JOB_FAILED;
        snprintf(j->st.message, sizeof(j->st.message), "cannot write the journal: %s",
                 iamp_strerror(rc));
    }
    if (result && !rc) {
        iamp_jobs_keep_result(&s->jobs, j, result);
        j->result_at = inline_result ? at : 0;
    } else if (result) {
        iamp_result_release(result);
        free(result);
    }
    job_ended(s, j);
    notify_watchers(s, j);
}

/* A final state: journaled first (its END record, with a small result's
 * bytes), applied when durable (end_committed). */
static void on_final(struct iamp_server *s, struct iamp_job *j, struct iamp_exec_event *ev)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct iamp_job_status st = j->st;
    merge_status(&st, &ev->st);
    struct iamp_job_end *e = calloc(1, sizeof(*e));
    int rc = e ? iamp_jobs_end_record(j, &st, ev->result_file, ev->result_file_len, &buf, &len)
               : IAMP_ENOMEM;
    struct iamp_result *result = ev->result;
    int inline_result = ev->result_file != NULL;
    ev->result = NULL;
    release_event(ev);
    if (rc) {
        free(e);
        apply_end(s, j, &st, result, 0, 0, rc);
        return;
    }
    *e = (struct iamp_job_end){st, result, inline_result};
    j->ending = e;
    commit_push(s, buf, len, ACK_END, j->st.job_id, NULL, 0);
}

static void on_event(struct iamp_server *s, struct iamp_exec_event *ev)
{
    s->served_round = ev->served_round;
    struct iamp_job *j = iamp_jobs_get(&s->jobs, ev->st.job_id);
    if (!j || iamp_job_state_final(j->st.state) || j->ending) {
        release_event(ev);
        return;
    }
    if (iamp_job_state_final(ev->st.state)) {
        on_final(s, j, ev);
        return;
    }
    release_event(ev);
    merge_status(&j->st, &ev->st);
    notify_watchers(s, j);
}

void iamp__srv_wake_cb(uv_async_t *h)
{
    struct iamp_server *s = h->data;
    struct iamp_exec_event ev;
    while (s->x && iamp_executor_poll(s->x, &ev))
        on_event(s, &ev);
}

/* Executor thread: events are waiting. */
void iamp__srv_notify_cb(void *ctx)
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
    uint64_t *at = calloc((size_t)b->n, sizeof(*at));
    int n = 0;
    if (!recs || !at) {
        free(recs);
        free(at);
        b->rc = IAMP_ENOMEM;
        return;
    }
    for (int i = 0; i < b->n; i++) {
        if (b->v[i].bytes) {
            recs[n].data = b->v[i].bytes;
            recs[n++].len = b->v[i].len;
        }
    }
    b->rc = n ? iamp_journal_append(&s->jobs.journal, recs, n, at) : 0;
    for (int i = 0, k = 0; !b->rc && i < b->n; i++)
        if (b->v[i].bytes)
            b->v[i].at = at[k++];
    free(recs);
    free(at);
}

static void end_committed(struct iamp_server *s, const struct citem *it, int rc)
{
    struct iamp_job *j = iamp_jobs_get(&s->jobs, it->job);
    if (!j || !j->ending)
        return;
    struct iamp_job_end *e = j->ending;
    j->ending = NULL;
    apply_end(s, j, &e->st, e->result, e->inline_result, it->at, rc);
    free(e);
}

static void submit_committed(struct iamp_server *s, const struct citem *it, int rc)
{
    struct iamp_job *j = job_any(s, it->job);
    if (j && it->bytes && rc == 0) {
        j->committed = 1;
        j->submit_at = it->at;
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
        iamp__srv_reply_accepted(it->c, it->request_id, it->job);
    else
        iamp__srv_reply_error(it->c, it->request_id, IAMP_WERR_INTERNAL,
                              "cannot write the journal: %s", iamp_strerror(rc ? rc : IAMP_EIO));
}

static void cancel_committed(struct iamp_server *s, const struct citem *it, int rc)
{
    struct iamp_job *j = iamp_jobs_get(&s->jobs, it->job);
    if (!j)
        return;
    if (rc) {
        j->cancel_asked = 0;
        iamp__srv_reply_error(it->c, it->request_id, IAMP_WERR_INTERNAL,
                              "cannot write the journal: %s", iamp_strerror(rc));
        return;
    }
    if (s->x)
        iamp_executor_cancel(s->x, j->st.job_id);
    iamp__srv_reply_status(it->c, it->request_id, IAMP_MSG_STATUS, j);
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
        else if (it->ack == ACK_END)
            end_committed(s, it, rc);
        free(it->bytes);
        if (it->c && it->c->refs > 1) {
            iamp__srv_conn_unref(it->c);
            iamp__srv_maybe_finish_eof(it->c);
        } else if (it->c) {
            iamp__srv_conn_unref(it->c); /* closed already: this was the last reference */
        }
    }
    b->n = 0;
    s->committing = 0;
    if (s->housekeeping_due) /* its tick came during a commit: now, before the next */
        iamp__srv_housekeeping(s);
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
                iamp__srv_reply_error(c, request_id, IAMP_WERR_BUSY, "out of memory");
            return;
        }
        b->v = v;
        b->cap = cap;
    }
    if (c)
        c->refs++;
    b->v[b->n++] = (struct citem){bytes, len, ack, job, c, request_id, 0};
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
            iamp__srv_reply_accepted(c, m->request_id, j->st.job_id);
        else
            commit_push(s, NULL, 0, ACK_SUBMIT, j->st.job_id, c, m->request_id);
        return;
    }
    if (c->jobs >= s->lim.max_conn_jobs) {
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_LIMIT,
                              "this connection has %u unfinished jobs, the limit is %u", c->jobs,
                              s->lim.max_conn_jobs);
        return;
    }
    if (s->jobs.unfinished >= s->lim.max_queued_jobs) {
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_BUSY,
                              "%zu jobs are unfinished; retry later", s->jobs.unfinished);
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
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_BUSY, "cannot take the job: %s",
                              iamp_strerror(rc));
        return;
    }
    c->jobs++;
    s->jobs.unfinished++;
    commit_push(s, buf, len, ACK_SUBMIT, j->st.job_id, c, m->request_id);
}

static struct iamp_job *find_or_refuse(struct conn *c, const struct iamp_msg *m)
{
    struct iamp_job *j = iamp_jobs_get(&c->srv->jobs, m->job_id);
    if (!j && iamp_jobs_expired(&c->srv->jobs, m->job_id))
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_NOT_FOUND,
                              "job %" PRIu64 " has expired (finished jobs are kept for "
                              "--retain-jobs / --retain-hours)",
                              m->job_id);
    else if (!j)
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_NOT_FOUND, "no job %" PRIu64, m->job_id);
    return j;
}

static void on_watch(struct conn *c, const struct iamp_msg *m)
{
    struct iamp_job *j = find_or_refuse(c, m);
    if (!j)
        return;
    if (!iamp_job_state_final(j->st.state)) {
        if ((uint32_t)c->n_watches >= c->srv->lim.max_watches) {
            iamp__srv_reply_error(c, m->request_id, IAMP_WERR_LIMIT,
                                  "%d watches on this connection", c->n_watches);
            return;
        }
        if (!c->watches)
            c->watches = calloc(c->srv->lim.max_watches, sizeof(*c->watches));
        if (!c->watches) {
            iamp__srv_reply_error(c, m->request_id, IAMP_WERR_BUSY, "out of memory");
            return;
        }
        c->watches[c->n_watches++] =
            (struct watch){j->st.job_id, m->request_id, uv_now(&c->srv->loop)};
    }
    iamp__srv_reply_status(c, m->request_id, IAMP_MSG_PROGRESS, j);
}

static void on_cancel(struct conn *c, const struct iamp_msg *m)
{
    struct iamp_server *s = c->srv;
    struct iamp_job *j = find_or_refuse(c, m);
    if (!j)
        return;
    if (iamp_job_state_final(j->st.state) || j->cancel_asked) {
        iamp__srv_reply_status(c, m->request_id, IAMP_MSG_STATUS, j);
        return;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    if (iamp_jobs_record(j, IAMP_REC_CANCEL, iamp_unix_ms(), &buf, &len)) {
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_BUSY, "out of memory");
        return;
    }
    j->cancel_asked = 1;
    commit_push(s, buf, len, ACK_CANCEL, j->st.job_id, c, m->request_id);
}

/* Items of a traced result from offset that one page carries: while the
 * items and their trace nodes together stay within `limit` and their
 * bound in bytes within the frame, and always one (a tree is at most
 * iamp_limits_trace_nodes, checked as the job ran, so one fits). */
static uint64_t traced_count(const struct iamp_server *s, const struct iamp_result *r,
                             uint64_t offset, uint64_t count, uint32_t limit)
{
    /* what one item with the largest tree allowed takes: within the frame */
    uint64_t budget = IAMP_RESULT_ITEM_BYTES_MAX +
                      (uint64_t)iamp_limits_trace_nodes(&s->lim) * IAMP_TRACE_NODE_BYTES_MAX;
    uint64_t units = 0, bytes = 0, k = 0;
    for (; k < count; k++) {
        uint64_t nodes = (uint64_t)(r->tree_at[offset + k + 1] - r->tree_at[offset + k]);
        uint64_t b = IAMP_RESULT_ITEM_BYTES_MAX + nodes * IAMP_TRACE_NODE_BYTES_MAX;
        if (k > 0 && (units + 1 + nodes > limit || bytes + b > budget))
            break;
        units += 1 + nodes;
        bytes += b;
    }
    return k;
}

/* The trees of items [offset, offset + count) of r, with their texts. */
static int fill_traces(const struct iamp_task *t, const struct iamp_result *r, uint64_t offset,
                       int count, struct iamp_result_page *p)
{
    long from = r->tree_at[offset], n = r->tree_at[offset + (uint64_t)count] - from;
    p->trace = malloc((size_t)(n ? n : 1) * sizeof(*p->trace));
    p->trace_text = malloc((size_t)(n ? n : 1) * sizeof(*p->trace_text));
    if (!p->trace || !p->trace_text)
        return IAMP_ENOMEM;
    p->n_trace = n;
    for (long k = 0; k < n; k++) {
        struct iamp_result_node *nd = &p->trace[k];
        *nd = r->nodes[from + k];
        t->ops->format_question(t, &nd->q, p->trace_text[k].question,
                                sizeof(p->trace_text[k].question));
        t->ops->format_answer(t, &nd->q, &nd->a, p->trace_text[k].answer,
                              sizeof(p->trace_text[k].answer));
        nd->q.ctx = NULL; /* the item's facts */
    }
    for (int i = 0; i < count; i++) {
        p->items[i].trace_at = r->tree_at[offset + (uint64_t)i] - from;
        p->items[i].trace_len =
            r->tree_at[offset + (uint64_t)i + 1] - r->tree_at[offset + (uint64_t)i];
    }
    return 0;
}

/* Items [offset, offset + count) of r with their texts (and trees). */
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
        it->context = it->q.ctx ? (int)(it->q.ctx - r->ctx) : -1; /* the job's own order */
        if (it->q.ctx)
            it->facts = *it->q.ctx;
        t->ops->format_question(t, &it->q, it->qtext, sizeof(it->qtext));
        t->ops->format_answer(t, &it->q, &it->a, it->atext, sizeof(it->atext));
    }
    int rc = p->items ? 0 : IAMP_ENOMEM;
    if (!rc && r->tree_at)
        rc = fill_traces(t, r, offset, count, p);
    if (own)
        iamp_task_destroy(&other);
    p->n_items = count;
    return rc;
}

/* 0 when j has a result to page; else an Error reply went out. */
static int result_ready(struct conn *c, const struct iamp_msg *m, const struct iamp_job *j)
{
    const struct iamp_job_status *st = &j->st;
    if (!iamp_job_state_final(st->state))
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_NOT_DONE,
                              "job %" PRIu64 " is %s (%" PRIu64 "/%" PRIu64 ")", st->job_id,
                              iamp_job_state_name(st->state), st->done, st->total);
    else if (st->state != IAMP_JOB_DONE)
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_NOT_DONE, "job %" PRIu64 " %s: %s",
                              st->job_id, st->state == IAMP_JOB_FAILED ? "failed" : "was canceled",
                              st->message);
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
    iamp__srv_job_status(j, &out.page.status);
    const struct iamp_result *r = NULL;
    int rc = j->st.kind == IAMP_JOB_ANSWER ? iamp_jobs_result(&s->jobs, j, &r) : 0;
    if (rc) {
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_INTERNAL, "cannot read the result: %s",
                              iamp_strerror(rc));
        return;
    }
    uint64_t total = r ? (uint64_t)r->n : 0;
    if (m->offset > total) {
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_BAD_REQUEST,
                              "offset %" PRIu64 " is past the %" PRIu64 " results", m->offset,
                              total);
        return;
    }
    uint32_t limit =
        m->limit && m->limit < s->lim.max_page_items ? m->limit : s->lim.max_page_items;
    uint64_t count = total - m->offset < limit ? total - m->offset : limit;
    if (r && r->tree_at)
        count = traced_count(s, r, m->offset, count, limit);
    out.page.total = total;
    if (r && fill_page(s, r, m->offset, (int)count, &out.page))
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_INTERNAL, "cannot format the result");
    else
        iamp__srv_send_msg(c, &out);
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
        iamp__srv_reply_error(c, m->request_id, IAMP_WERR_BUSY, "out of memory");
        return;
    }
    for (size_t i = s->jobs.len; i-- > 0 && (uint32_t)out.n_jobs < limit;) {
        struct iamp_job *j = s->jobs.v[i];
        if (j && j->committed)
            iamp__srv_job_status(j, &out.jobs[out.n_jobs++]);
    }
    iamp__srv_send_msg(c, &out);
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
    in->max_trace_nodes = (uint64_t)iamp_limits_trace_nodes(&s->lim);
    in->max_frame_bytes = s->lim.max_frame_bytes;
    in->max_page_items = s->lim.max_page_items;
    in->jobs_queued = s->jobs.unfinished;
    in->jobs_total = s->jobs.n;
    iamp__srv_send_msg(c, &out);
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
            iamp__srv_reply_status(c, m->request_id, IAMP_MSG_STATUS, j);
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

void iamp__srv_handle_frame(struct conn *c, const uint8_t *buf, size_t len)
{
    struct iamp_server *s = c->srv;
    struct iamp_msg m;
    struct iamp_job_spec spec;
    struct iamp_refusal r;
    char why[IAMP_REASON_MAX];
    int rc = iamp_msg_decode(buf, len, &s->mlim, &m, why, sizeof(why));
    if (rc) {
        int code = iamp_request_decode_code(rc);
        iamp__srv_reply_error(c, m.request_id, code, "%s", why);
        if (code == IAMP_WERR_BAD_FRAME)
            iamp__srv_conn_close_after_flush(c);
        return;
    }
    if (iamp_request_check(&s->rctx, &m, &spec, &r)) {
        iamp__srv_reply_error(c, m.request_id, r.code, "%s", r.reason);
        if (r.code == IAMP_WERR_AUTH)
            iamp__srv_conn_close_after_flush(c);
    } else {
        if (!c->authed) { /* the token checked out: full-size frames from now on */
            c->authed = 1;
            c->rd.max_bytes = s->lim.max_frame_bytes;
        }
        dispatch(c, &m, &spec);
        iamp_job_spec_release(&spec);
    }
    iamp_msg_release(&m);
}

/* Hand the journal's unfinished jobs to the executor, oldest first. */
void iamp__srv_resume_jobs(struct iamp_server *s)
{
    char why[IAMP_REASON_MAX + 64];
    for (size_t i = 0; i < s->jobs.len; i++) {
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
