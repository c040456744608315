/* remote.c — a task whose overseer H runs in another process.
 *
 * `remote:addr=HOST:PORT[,timeout=S]` connects to an overseer listening
 * there (python/iamp/overseer.py, or anything that speaks iamp.proto's
 * "remote overseer" section). Its schema names a built-in task (`task`,
 * e.g. "permpow:context=1"); this task is that task — its sampler, text
 * syntax, answer spaces, facts and ground truth — with H replaced: the
 * engine's batched-overseer ops (tasks/task.h) send every H call of one
 * engine pass to the overseer in one OverseerBatch and read the replies.
 *
 * Layout: struct remote begins with its own copy of the built-in task's
 * ops, with primitive/episode_* cleared and the h_* ops set; t->ops points
 * at it, so every op finds the connection from t->ops, and t->state is
 * the built-in task's own state, so its ops run unchanged.
 *
 * Failures never hang and never train on anything: a reply must come
 * within the timeout (30 s by default; 0: wait for ever, for a person at
 * a terminal), and every reply is checked (the run, the count, each kind
 * against its call, every asked question valid for the task on the
 * episode's facts, every answer in its question's answer space). A failure
 * returns IAMP_EOVERSEER with a note that names the overseer and what went
 * wrong. A broken connection (closed, timed out, out of step) is dropped,
 * and the next batch connects again, so a restarted overseer serves the
 * next run. Calls are serialised by a mutex: engines on several threads
 * may share the task; each engine run has its own run id.
 */
#include "common/net.h"
#include "proto/overseer.h"
#include "tasks/task.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

_Static_assert(IAMP_OV_ASK_MAX == IAMP_ASK_MAX, "one bound on asks");
_Static_assert((int)IAMP_H_PRIMITIVE == (int)IAMP_OV_PRIMITIVE &&
                   (int)IAMP_H_START == (int)IAMP_OV_START && (int)IAMP_H_STEP == (int)IAMP_OV_STEP,
               "call kinds as on the wire");

#define REMOTE_FRAME_MAX (64u << 20)
#define REMOTE_CONNECT_MS 10000
#define REMOTE_TIMEOUT_DEFAULT 30
#define REMOTE_ENDED_MAX 4096 /* ended runs kept for the next batch at most */

struct remote {
    struct iamp_task_ops ops; /* first: t->ops is this */
    struct iamp_task base;    /* the built-in task (its state is t->state) */
    char addr[160];
    int timeout_ms; /* < 0: none */
    int fd;         /* -1: not connected */
    struct iamp_ov_schema schema;
    pthread_mutex_t mu;
    uint64_t next_run;
    uint64_t ended[REMOTE_ENDED_MAX];
    int n_ended;
};

static struct remote *remote_of(const struct iamp_task *t)
{
    return (struct remote *)(void *)t->ops;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *who(const struct remote *r)
{
    return r->schema.name[0] ? r->schema.name : "overseer";
}

/* ------------------------------------------------------------ frames */

static int recv_all(struct remote *r, uint8_t *buf, size_t len, long long deadline)
{
    size_t got = 0;
    while (got < len) {
        int left = r->timeout_ms < 0 ? -1 : (int)(deadline - mono_ms());
        if (r->timeout_ms >= 0 && left <= 0)
            return IAMP_ETIMEOUT;
        int rc = iamp_net_wait(r->fd, POLLIN, left);
        if (rc)
            return rc;
        ssize_t n = recv(r->fd, buf + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return IAMP_ENET;
        got += (size_t)n;
    }
    return 0;
}

static int send_frame(struct remote *r, const uint8_t *msg, size_t len)
{
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    if (iamp_net_send_all(r->fd, hdr, 4) || iamp_net_send_all(r->fd, msg, len))
        return IAMP_ENET;
    return 0;
}

/* One frame into *out (malloc'd). why: what went wrong, for the note. */
static int recv_frame(struct remote *r, uint8_t **out, size_t *len, char *why, size_t whylen)
{
    long long deadline = mono_ms() + (r->timeout_ms > 0 ? r->timeout_ms : 0);
    uint8_t hdr[4];
    int rc = recv_all(r, hdr, 4, deadline);
    uint32_t n =
        ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) | hdr[3];
    if (!rc && n > REMOTE_FRAME_MAX) {
        snprintf(why, whylen, "it announced a frame of %u bytes (at most %u)", n, REMOTE_FRAME_MAX);
        return IAMP_ELIMIT;
    }
    uint8_t *b = rc ? NULL : malloc(n ? n : 1);
    if (!rc && !b)
        rc = IAMP_ENOMEM;
    if (!rc)
        rc = recv_all(r, b, n, deadline);
    if (rc == IAMP_ETIMEOUT)
        snprintf(why, whylen, "no reply within %d s", r->timeout_ms / 1000);
    else if (rc == IAMP_ENET)
        snprintf(why, whylen, "it closed the connection");
    else if (rc)
        snprintf(why, whylen, "%s", iamp_strerror(rc));
    if (rc) {
        free(b);
        return rc;
    }
    *out = b;
    *len = n;
    return 0;
}

static void drop(struct remote *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

/* ------------------------------------------------------------ the conversation */

/* Connect, say hello, read the schema. 0, or an error with err set. */
static int handshake(struct remote *r, char *err, size_t errlen)
{
    char why[300];
    int rc = iamp_net_connect(r->addr, REMOTE_CONNECT_MS, &r->fd, why, sizeof(why));
    if (rc) {
        snprintf(err, errlen, "overseer: %s", why);
        return rc;
    }
    uint8_t *hello = NULL, *reply = NULL;
    size_t hlen = 0, rlen = 0;
    rc = iamp_ov_hello_encode(&hello, &hlen);
    if (!rc && (rc = send_frame(r, hello, hlen)))
        snprintf(why, sizeof(why), "it closed the connection");
    free(hello);
    if (!rc)
        rc = recv_frame(r, &reply, &rlen, why, sizeof(why));
    if (!rc)
        rc = iamp_ov_schema_decode(reply, rlen, &r->schema, why, sizeof(why));
    free(reply);
    if (!rc && r->schema.error[0]) {
        snprintf(why, sizeof(why), "it refused: %s", r->schema.error);
        rc = IAMP_EINVAL;
    }
    if (rc) {
        snprintf(err, errlen, "overseer at %s: %s", r->addr, why);
        drop(r);
    }
    return rc;
}

/* A broken connection: connect again, to an overseer of the same task. */
static int reconnect(struct remote *r)
{
    char err[400];
    char task[sizeof(r->schema.task)];
    memcpy(task, r->schema.task, sizeof(task));
    int rc = handshake(r, err, sizeof(err));
    if (!rc && strcmp(task, r->schema.task) != 0) {
        snprintf(err, sizeof(err), "overseer at %s now names task %s, not %s", r->addr,
                 r->schema.task, task);
        drop(r);
        rc = IAMP_EMISMATCH;
    }
    memcpy(r->schema.task, task, sizeof(task));
    if (rc) {
        iamp_error_note("%s", err);
        return IAMP_EOVERSEER;
    }
    return 0;
}

/* Text forms for an overseer that wants them (a person reads them). */
struct texts {
    char (*q)[IAMP_OV_TEXT_MAX]; /* (n) the calls' questions */
    char (*a)[IAMP_OV_TEXT_MAX]; /* (n * IAMP_ASK_MAX) the STEP calls' answers */
    const char **aptr;           /* (n * IAMP_ASK_MAX) */
};

static int texts_fill(const struct iamp_task *t, const struct iamp_h_call *calls, int n,
                      struct iamp_ov_call *ov, struct texts *tx)
{
    size_t na = (size_t)n * IAMP_ASK_MAX;
    tx->q = calloc((size_t)n, sizeof(*tx->q));
    tx->a = calloc(na, sizeof(*tx->a));
    tx->aptr = calloc(na, sizeof(*tx->aptr));
    if (!tx->q || !tx->a || !tx->aptr)
        return IAMP_ENOMEM;
    for (int i = 0; i < n; i++) {
        if (ov[i].q) {
            t->ops->format_question(t, ov[i].q, tx->q[i], IAMP_OV_TEXT_MAX);
            ov[i].q_text = tx->q[i];
        }
        for (int k = 0; k < calls[i].n_answers; k++) {
            size_t at = (size_t)i * IAMP_ASK_MAX + (size_t)k;
            t->ops->format_answer(t, &calls[i].asked[k], &calls[i].answers[k], tx->a[at],
                                  IAMP_OV_TEXT_MAX);
            tx->aptr[at] = tx->a[at];
        }
        if (calls[i].n_answers)
            ov[i].answer_text = tx->aptr + (size_t)i * IAMP_ASK_MAX;
    }
    return 0;
}

static void texts_free(struct texts *tx)
{
    free(tx->q);
    free(tx->a);
    free(tx->aptr);
}

/* Check reply o to call c and fill c's results. 0, or a reason in why. */
static int take_reply(const struct iamp_task *t, struct iamp_h_call *c, struct iamp_ov_reply *o,
                      char *why, size_t whylen)
{
    const struct iamp_question *q = c->q; /* the episode's question, for STEP too */
    int ok = o->kind == IAMP_OV_DONE || (o->kind == IAMP_OV_ASK && c->kind != IAMP_H_PRIMITIVE) ||
             (o->kind == IAMP_OV_NOT_PRIMITIVE && c->kind == IAMP_H_PRIMITIVE);
    if (!ok) {
        static const char *const call[] = {"", "PRIMITIVE", "START", "STEP"};
        static const char *const reply[] = {"", "ASK", "DONE", "NOT_PRIMITIVE"};
        snprintf(why, whylen, "it replied %s to a %s call", reply[o->kind], call[c->kind]);
        return IAMP_EINVAL;
    }
    if (o->kind == IAMP_OV_NOT_PRIMITIVE) {
        c->status = 0;
        return 0;
    }
    if (o->kind == IAMP_OV_DONE) {
        if (!iamp_answer_valid(t, q, &o->answer)) {
            char text[IAMP_OV_TEXT_MAX];
            t->ops->format_question(t, q, text, sizeof(text));
            snprintf(why, whylen, "its answer to '%.100s' is outside the question's answer space",
                     text);
            return IAMP_EINVAL;
        }
        c->status = IAMP_EP_DONE;
        c->primitive = c->kind == IAMP_H_PRIMITIVE || o->primitive;
        c->out = o->answer;
        return 0;
    }
    if (o->n_asks < 1) {
        snprintf(why, whylen, "it replied ASK with no questions");
        return IAMP_EINVAL;
    }
    if (t->max_asks > 0 && c->n_asked + o->n_asks > t->max_asks) {
        snprintf(why, whylen, "it asked %d questions in all, the task allows %d",
                 c->n_asked + o->n_asks, t->max_asks);
        return IAMP_EINVAL;
    }
    for (int k = 0; k < o->n_asks; k++) {
        struct iamp_question *a = &c->asks[k];
        if (o->has_tokens[k]) {
            *a = o->asks[k];
        } else {
            char perr[200];
            if (t->ops->parse_question(t, o->ask_text[k], a, perr, sizeof(perr))) {
                snprintf(why, whylen, "it asked '%.80s', which does not parse: %.100s",
                         o->ask_text[k], perr);
                return IAMP_EINVAL;
            }
        }
        a->ctx = q->ctx; /* the episode's facts: validity may depend on them */
        if (a->type >= t->n_types || a->len > t->q_len || !t->ops->valid_question(t, a)) {
            snprintf(why, whylen, "it asked a malformed question (type %u, %u tokens)", a->type,
                     a->len);
            return IAMP_EINVAL;
        }
    }
    c->status = IAMP_EP_ASK;
    c->n_asks = o->n_asks;
    return 0;
}

static uint64_t remote_run_begin(const struct iamp_task *t)
{
    struct remote *r = remote_of(t);
    pthread_mutex_lock(&r->mu);
    uint64_t run = ++r->next_run;
    pthread_mutex_unlock(&r->mu);
    return run;
}

static void remote_run_end(const struct iamp_task *t, uint64_t run)
{
    struct remote *r = remote_of(t);
    pthread_mutex_lock(&r->mu);
    if (r->n_ended < REMOTE_ENDED_MAX)
        r->ended[r->n_ended++] = run;
    pthread_mutex_unlock(&r->mu);
}

/* One batch's round trip, the mutex held. */
static int exchange(const struct iamp_task *t, struct remote *r, uint64_t run,
                    struct iamp_h_call *calls, int n)
{
    char why[400] = "";
    struct iamp_ov_call *ov = calloc((size_t)n, sizeof(*ov));
    struct iamp_ov_reply *rep = calloc((size_t)n, sizeof(*rep));
    struct texts tx = {0};
    uint8_t *msg = NULL, *in = NULL;
    size_t mlen = 0, ilen = 0;
    int rc = (!ov || !rep) ? IAMP_ENOMEM : 0;
    for (int i = 0; !rc && i < n; i++) {
        ov[i] = (struct iamp_ov_call){.kind = calls[i].kind,
                                      .episode = calls[i].episode,
                                      .q = calls[i].kind == IAMP_H_STEP ? NULL : calls[i].q,
                                      .answers = calls[i].answers,
                                      .n_answers = calls[i].n_answers};
    }
    if (!rc && r->schema.want_text)
        rc = texts_fill(t, calls, n, ov, &tx);
    if (!rc)
        rc = iamp_ov_batch_encode(run, ov, n, r->ended, r->n_ended, &msg, &mlen);
    if (rc) {
        snprintf(why, sizeof(why), "cannot encode a batch: %s", iamp_strerror(rc));
    } else if ((rc = send_frame(r, msg, mlen))) {
        snprintf(why, sizeof(why), "it closed the connection");
    } else {
        r->n_ended = 0;
        rc = recv_frame(r, &in, &ilen, why, sizeof(why));
    }
    char error[256] = "";
    if (!rc)
        rc = iamp_ov_replies_decode(in, ilen, run, rep, n, error, sizeof(error), why, sizeof(why));
    if (rc)
        drop(r); /* out of step with the overseer: start afresh next time */
    if (!rc && error[0]) {
        snprintf(why, sizeof(why), "%s", error);
        rc = IAMP_EINVAL;
    }
    for (int i = 0; !rc && i < n; i++) {
        char w[300];
        rc = take_reply(t, &calls[i], &rep[i], w, sizeof(w));
        if (rc)
            snprintf(why, sizeof(why), "episode %llu: %s", (unsigned long long)calls[i].episode, w);
    }
    if (rc)
        iamp_error_note("overseer %s at %s: %s", who(r), r->addr, why);
    texts_free(&tx);
    free(msg);
    free(in);
    free(ov);
    free(rep);
    return rc ? IAMP_EOVERSEER : 0;
}

static int remote_batch(const struct iamp_task *t, uint64_t run, struct iamp_h_call *calls, int n)
{
    struct remote *r = remote_of(t);
    pthread_mutex_lock(&r->mu);
    int rc = r->fd < 0 ? reconnect(r) : 0;
    if (!rc)
        rc = exchange(t, r, run, calls, n);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* ------------------------------------------------------------ the task */

static void remote_destroy(struct iamp_task *t)
{
    struct remote *r = remote_of(t);
    drop(r);
    pthread_mutex_destroy(&r->mu);
    iamp_task_destroy(&r->base);
    free(r);
}

static int remote_create(struct iamp_task *t, const struct iamp_spec *spec, char *err,
                         size_t errlen)
{
    static const char *const keys[] = {"addr", "timeout", NULL};
    long timeout = 0;
    int rc = iamp_spec_check_keys(spec, keys, err, errlen);
    if (!rc)
        rc =
            iamp_spec_int(spec, "timeout", REMOTE_TIMEOUT_DEFAULT, 0, 86400, &timeout, err, errlen);
    const char *addr = iamp_spec_get(spec, "addr");
    if (!rc && (!addr || !addr[0])) {
        snprintf(err, errlen, "remote: addr=HOST:PORT (where the overseer listens) is required");
        rc = IAMP_EINVAL;
    }
    if (rc)
        return rc;
    struct remote *r = calloc(1, sizeof(*r));
    if (!r)
        return IAMP_ENOMEM;
    snprintf(r->addr, sizeof(r->addr), "%.90s", addr);
    r->timeout_ms = timeout > 0 ? (int)timeout * 1000 : -1;
    r->fd = -1;
    pthread_mutex_init(&r->mu, NULL);
    rc = handshake(r, err, errlen);
    if (!rc) {
        char why[256];
        rc = strncmp(r->schema.task, "remote", 6) == 0
                 ? IAMP_EINVAL
                 : iamp_task_create(&r->base, r->schema.task, why, sizeof(why));
        if (rc == IAMP_EINVAL && strncmp(r->schema.task, "remote", 6) == 0)
            snprintf(why, sizeof(why), "a remote task cannot be its own base");
        if (rc)
            snprintf(err, errlen, "overseer %s at %s names task '%s': %s", who(r), r->addr,
                     r->schema.task, why);
    }
    if (rc) {
        drop(r);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return rc;
    }
    iamp_task_ops_batched(&r->ops, r->base.ops, remote_run_begin, remote_batch, remote_run_end);
    r->ops.name = "remote";
    r->ops.destroy = remote_destroy;
    *t = r->base;
    t->ops = &r->ops;
    t->primitive_types = r->schema.primitive_types;
    t->episode_size = 0; /* episodes live in the overseer */
    snprintf(t->spec, sizeof(t->spec), "remote:addr=%.90s,timeout=%ld", r->addr, timeout);
    return 0;
}

const struct iamp_task_ops iamp_remote_ops = {
    .name = "remote",
    .summary = "a built-in task whose overseer H runs in another process (iamp.Overseer)",
    .params = "addr=HOST:PORT (where the overseer listens; required), timeout=30 (s a reply may "
              "take, 0: none)",
    .create = remote_create,
};
