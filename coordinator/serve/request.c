/* request.c — see request.h. Every refusal names the field and the limit,
 * so a client can tell what to change. */
#include "coordinator/serve/request.h"

#include "common/text.h"

#include "coordinator/train/train.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void iamp_limits_default(struct iamp_limits *l)
{
    l->max_frame_bytes = 16u << 20;
    l->max_questions = 65536;
    l->max_contexts = 4096;
    l->max_depth = 6;
    l->max_tree_nodes = 1L << 23;
    l->max_rounds = 100000;
    l->max_eval_size = 1 << 16;
    l->max_page_items = 1000;
    l->max_pending_bytes = 32u << 20;
    l->max_conn_jobs = 256;
    l->max_watches = 64;
    l->max_queued_jobs = 4096;
    l->max_connections = 1024;
    l->idle_timeout_ms = 60000;
    l->max_preauth_frame_bytes = 64u << 10;
    l->max_input_bytes = 256u << 20;
    l->max_output_bytes = 512u << 20;
}

/* A result page's frame beside its items: the Envelope, the page's
 * fields and its JobStatus (message and task at their limits). */
#define PAGE_OVERHEAD_BYTES 2048u

long iamp_limits_trace_nodes(const struct iamp_limits *l)
{
    uint32_t fixed = PAGE_OVERHEAD_BYTES + IAMP_RESULT_ITEM_BYTES_MAX;
    return l->max_frame_bytes > fixed
               ? (long)((l->max_frame_bytes - fixed) / IAMP_TRACE_NODE_BYTES_MAX)
               : 0;
}

void iamp_limits_msg(const struct iamp_limits *l, struct iamp_msg_limits *m)
{
    long trace = (long)l->max_page_items + iamp_limits_trace_nodes(l);
    m->max_questions = l->max_questions;
    m->max_contexts = l->max_contexts;
    m->max_items = l->max_page_items;
    m->max_trace = trace > (long)UINT32_MAX ? UINT32_MAX : (uint32_t)trace;
}

int iamp_token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    volatile unsigned diff = alen != blen;
    for (size_t i = 0; i < IAMP_TOKEN_MAX; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0 && alen <= IAMP_TOKEN_MAX;
}

int iamp_request_decode_code(int rc)
{
    switch (rc) {
    case IAMP_EVERSION:
        return IAMP_WERR_VERSION;
    case IAMP_ELIMIT:
        return IAMP_WERR_LIMIT;
    case IAMP_EINVAL:
        return IAMP_WERR_BAD_REQUEST;
    case IAMP_ENOMEM:
        return IAMP_WERR_BUSY;
    default:
        return IAMP_WERR_BAD_FRAME;
    }
}

static int refuse(struct iamp_refusal *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct iamp_refusal *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->code = code;
    vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
    va_end(ap);
    return -1;
}

long iamp_tree_nodes_max(int max_asks, uint32_t depth)
{
    if (max_asks <= 0)
        return LONG_MAX;
    long total = 1, level = 1;
    for (uint32_t d = 0; d < depth; d++) {
        if (level > LONG_MAX / max_asks)
            return LONG_MAX;
        level *= max_asks;
        if (total > LONG_MAX - level)
            return LONG_MAX;
        total += level;
    }
    return total;
}

/* The request's task must be the served one (by canonical spec). */
static int check_task(const struct iamp_request_ctx *c, const char *spec_text,
                      struct iamp_refusal *r)
{
    if (!spec_text[0] || strcmp(spec_text, c->task->spec) == 0)
        return 0;
    struct iamp_spec spec;
    char err[256];
    if (iamp_spec_parse(spec_text, &spec, err, sizeof(err)))
        return refuse(r, IAMP_WERR_BAD_REQUEST, "task: %s", err);
    int known = 0;
    for (int i = 0; i < iamp_task_count(); i++)
        known |= strcmp(iamp_task_ops_at(i)->name, spec.name) == 0;
    if (!known)
        return refuse(r, IAMP_WERR_UNKNOWN_TASK, "no task '%s'", spec.name);
    struct iamp_task t;
    if (iamp_text_check(spec_text, strlen(spec_text), err, sizeof(err)))
        return refuse(r, IAMP_WERR_BAD_REQUEST, "the task's text %s", err);
    if (iamp_task_create(&t, spec_text, err, sizeof(err)))
        return refuse(r, IAMP_WERR_BAD_REQUEST, "task %s: %s", spec_text, err);
    int same = strcmp(t.spec, c->task->spec) == 0;
    iamp_task_destroy(&t);
    if (!same)
        return refuse(r, IAMP_WERR_UNKNOWN_TASK, "this server answers task %s, not %s",
                      c->task->spec, spec_text);
    return 0;
}

/* Question i of the job: its text or tokens, on its context (an index
 * into spec->ctx, which must exist exactly when the task has facts). */
static int check_question(const struct iamp_request_ctx *c, const struct iamp_wire_question *w,
                          int i, const struct iamp_job_spec *spec, struct iamp_question *q,
                          struct iamp_refusal *r)
{
    const struct iamp_task *t = c->task;
    char err[256];
    const struct iamp_context *ctx = NULL;
    if (iamp_task_has_contexts(t) && (w->context < 0 || w->context >= spec->n_ctx))
        return refuse(r, IAMP_WERR_BAD_REQUEST,
                      w->context < 0 ? "question %d names no context; task %s asks every "
                                       "question on the facts of an instance"
                                     : "question %d names a context the job does not have (%s)",
                      i + 1, t->spec);
    if (iamp_task_has_contexts(t))
        ctx = &spec->ctx[w->context];
    if (w->has_text) {
        if (iamp_text_check(w->text, strlen(w->text), err, sizeof(err)))
            return refuse(r, IAMP_WERR_BAD_REQUEST, "question %d: its text %s", i + 1, err);
        if (t->ops->parse_question(t, w->text, q, err, sizeof(err)))
            return refuse(r, IAMP_WERR_BAD_REQUEST, "question %d: %s", i + 1, err);
        q->ctx = ctx;
        if (ctx && !t->ops->valid_question(t, q))
            return refuse(r, IAMP_WERR_BAD_REQUEST,
                          "question %d: '%s' is not a question on "
                          "context %d's facts",
                          i + 1, w->text, w->context + 1);
        return 0;
    }
    *q = w->q;
    q->ctx = ctx;
    if (q->type >= t->n_types || q->len > t->q_len || !t->ops->valid_question(t, q))
        return refuse(r, IAMP_WERR_BAD_REQUEST, "question %d: tokens are not a question of %s",
                      i + 1, t->ops->name);
    return 0;
}

/* The job's contexts, each checked against the task, into spec->ctx. */
static int check_contexts(const struct iamp_request_ctx *c, const struct iamp_submit *s,
                          struct iamp_job_spec *spec, struct iamp_refusal *r)
{
    char err[256];
    if (s->n_contexts == 0)
        return 0;
    if (!iamp_task_has_contexts(c->task))
        return refuse(r, IAMP_WERR_BAD_REQUEST, "task %s takes no facts (the job has %d contexts)",
                      c->task->spec, s->n_contexts);
    if (s->n_contexts > s->n_questions)
        return refuse(r, IAMP_WERR_BAD_REQUEST, "%d contexts for %d questions", s->n_contexts,
                      s->n_questions);
    for (int k = 0; k < s->n_contexts; k++)
        if (iamp_task_check_context(c->task, &s->contexts[k], err, sizeof(err)))
            return refuse(r, IAMP_WERR_BAD_REQUEST, "context %d: %s", k + 1, err);
    spec->ctx = malloc((size_t)s->n_contexts * sizeof(*spec->ctx));
    if (!spec->ctx)
        return refuse(r, IAMP_WERR_BUSY, "out of memory");
    memcpy(spec->ctx, s->contexts, (size_t)s->n_contexts * sizeof(*spec->ctx));
    spec->n_ctx = s->n_contexts;
    return 0;
}

/* A traced answer job: its trees are recorded where they grow, and each
 * must fit in one result page. */
static int check_trace(const struct iamp_request_ctx *c, struct iamp_job_spec *spec, long per_tree,
                       struct iamp_refusal *r)
{
    long most = iamp_limits_trace_nodes(c->lim);
    if (c->ranks > 1)
        return refuse(r, IAMP_WERR_BAD_REQUEST,
                      "trace needs one process: under mpirun the workers' subtrees are not "
                      "traced (as iamp answer --trace refuses there)");
    if (per_tree != LONG_MAX && per_tree > most)
        return refuse(r, IAMP_WERR_LIMIT,
                      "a traced question at depth %u may grow %ld tree nodes; one result page "
                      "carries at most %ld (--max-frame-bytes)",
                      spec->depth, per_tree, most);
    spec->trace = 1;
    return 0;
}

static int check_answer_job(const struct iamp_request_ctx *c, const struct iamp_submit *s,
                            struct iamp_job_spec *spec, struct iamp_refusal *r)
{
    const struct iamp_limits *lim = c->lim;
    if (s->n_questions < 1)
        return refuse(r, IAMP_WERR_BAD_REQUEST, "an answer job needs questions");
    if ((uint32_t)s->n_questions > lim->max_questions)
        return refuse(r, IAMP_WERR_LIMIT, "%d questions, the limit is %u", s->n_questions,
                      lim->max_questions);
    long per_tree = iamp_tree_nodes_max(c->task->max_asks, spec->depth);
    if (per_tree != LONG_MAX && per_tree > lim->max_tree_nodes / s->n_questions)
        return refuse(r, IAMP_WERR_LIMIT,
                      "%d questions at depth %u may grow %ld tree nodes each; the limit is %ld "
                      "for a job",
                      s->n_questions, spec->depth, per_tree, lim->max_tree_nodes);
    if (s->trace && check_trace(c, spec, per_tree, r))
        return -1;
    if (check_contexts(c, s, spec, r))
        return -1;
    spec->qs = calloc((size_t)s->n_questions, sizeof(*spec->qs));
    if (!spec->qs)
        return refuse(r, IAMP_WERR_BUSY, "out of memory");
    spec->n = s->n_questions;
    for (int i = 0; i < s->n_questions; i++)
        if (check_question(c, &s->questions[i], i, spec, &spec->qs[i], r))
            return -1;
    return 0;
}

static int check_train_job(const struct iamp_request_ctx *c, const struct iamp_submit *s,
                           struct iamp_job_spec *spec, struct iamp_refusal *r)
{
    const struct iamp_train_params *p = &s->train;
    char err[256];
    if (s->n_questions || s->n_contexts)
        return refuse(r, IAMP_WERR_BAD_REQUEST, "a train job takes no questions or contexts");
    if (p->rounds < 1)
        return refuse(r, IAMP_WERR_BAD_REQUEST, "a train job needs train.rounds >= 1");
    if (p->rounds > c->lim->max_rounds)
        return refuse(r, IAMP_WERR_LIMIT, "%u rounds, the limit is %u", p->rounds,
                      c->lim->max_rounds);
    if (p->questions_per_round > IAMP_QUESTIONS_PER_ROUND_MAX)
        return refuse(r, IAMP_WERR_LIMIT, "%u questions per round, the limit is %u",
                      p->questions_per_round, IAMP_QUESTIONS_PER_ROUND_MAX);
    struct iamp_algo algo;
    if (p->algo[0] && iamp_algo_parse(p->algo, c->task, &algo, err, sizeof(err)))
        return refuse(r, IAMP_WERR_BAD_REQUEST, "train.algo: %s", err);
    spec->train = *p;
    return 0;
}

static int check_submit(const struct iamp_request_ctx *c, const struct iamp_submit *s,
                        struct iamp_job_spec *spec, struct iamp_refusal *r)
{
    if (check_task(c, s->task, r))
        return -1;
    spec->kind = s->kind;
    snprintf(spec->task, sizeof(spec->task), "%s", c->task->spec);
    snprintf(spec->client_key, sizeof(spec->client_key), "%s", s->client_key);
    spec->depth = s->has_depth ? s->depth : 1;
    if (s->kind != IAMP_JOB_TRAIN && spec->depth > c->lim->max_depth)
        return refuse(r, IAMP_WERR_LIMIT, "depth %u is over the limit of %u", spec->depth,
                      c->lim->max_depth);
    if (s->trace && s->kind != IAMP_JOB_ANSWER)
        return refuse(r, IAMP_WERR_BAD_REQUEST,
                      "trace is for answer jobs; %s jobs have no question trees to record",
                      iamp_job_kind_name(s->kind));
    if (s->kind == IAMP_JOB_ANSWER)
        return check_answer_job(c, s, spec, r);
    if (s->kind == IAMP_JOB_TRAIN)
        return check_train_job(c, s, spec, r);
    if (s->n_questions || s->n_contexts)
        return refuse(r, IAMP_WERR_BAD_REQUEST, "an eval job takes no questions or contexts");
    spec->eval_size =
        s->eval_size ? s->eval_size : (uint32_t)c->task->eval_size; /* the task's set */
    if (spec->eval_size > c->lim->max_eval_size)
        return refuse(r, IAMP_WERR_LIMIT, "eval_size %u is over the limit of %u", spec->eval_size,
                      c->lim->max_eval_size);
    return 0;
}

int iamp_request_check(const struct iamp_request_ctx *c, const struct iamp_msg *m,
                       struct iamp_job_spec *spec, struct iamp_refusal *r)
{
    memset(spec, 0, sizeof(*spec));
    memset(r, 0, sizeof(*r));
    if (c->token && !m->has_token)
        return refuse(r, IAMP_WERR_AUTH, "this server requires a token");
    if (c->token && !iamp_token_equal(m->token, strlen(m->token), c->token, c->token_len))
        return refuse(r, IAMP_WERR_AUTH, "wrong token");
    switch (m->kind) {
    case IAMP_MSG_SUBMIT:
        if (check_submit(c, &m->submit, spec, r)) {
            iamp_job_spec_release(spec);
            return -1;
        }
        return 0;
    case IAMP_MSG_GET_STATUS:
    case IAMP_MSG_WATCH:
    case IAMP_MSG_GET_RESULT:
    case IAMP_MSG_CANCEL:
    case IAMP_MSG_LIST_JOBS:
    case IAMP_MSG_INFO:
        return 0;
    default:
        return refuse(r, IAMP_WERR_BAD_REQUEST, "not a request (body %d)", m->kind);
    }
}
