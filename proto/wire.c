/* wire.c — Envelope <-> iamp types, and the helpers records.c shares
 * (wire_int.h); records.c does JournalRecord and ResultFile. See wire.h
 * for the contract.
 *
 * Encoders build protobuf-c structs on the heap through a small scratch
 * list freed before they return; strings in those structs borrow the
 * caller's buffers. Decoders copy out of the unpacked message and free it
 * in the same function. Every string copy is length-checked first.
 */
#include "proto/wire.h"

#include "iamp.pb-c.h"
#include "proto/pbconv_int.h"
#include "proto/codec.h"
#include "proto/frame.h"
#include "proto/wire_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- names */

const char *iamp_job_kind_name(int kind)
{
    static const char *const n[] = {"?", "answer", "train", "eval"};
    return kind >= 1 && kind <= 3 ? n[kind] : n[0];
}

const char *iamp_job_state_name(int state)
{
    static const char *const n[] = {"?", "queued", "running", "done", "failed", "canceled"};
    return state >= 1 && state <= 5 ? n[state] : n[0];
}

const char *iamp_wire_error_name(int code)
{
    static const char *const n[] = {"?",           "bad frame",    "version", "auth",
                                    "bad request", "unknown task", "limit",   "not found",
                                    "internal",    "busy",         "not done"};
    return code >= 1 && code <= 10 ? n[code] : n[0];
}

int iamp_job_state_final(int state)
{
    return state == IAMP_JOB_DONE || state == IAMP_JOB_FAILED || state == IAMP_JOB_CANCELED;
}

static int fail(int rc, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int rc, char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Copy a protobuf string into dst[cap]; NULL copies as "". */
static int copy_str(char *dst, size_t cap, const char *src, const char *what, char *why,
                    size_t whylen)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return fail(IAMP_ELIMIT, why, whylen, "%s is %zu bytes, the limit is %zu", what, n,
                    cap - 1);
    memcpy(dst, src ? src : "", n + 1);
    return 0;
}

/* ---------------------------------------------------------- scratch */

int iamp__wire_contexts_to_pb(const struct iamp_context *c, size_t n, Iamp__Context ***out,
                              struct scratch *sc)
{
    size_t per = (size_t)IAMP_FACTS_MAX * IAMP_FACT_LEN;
    Iamp__Context *pb = iamp__wire_scratch_alloc(sc, n, sizeof(*pb));
    Iamp__Context **pp = iamp__wire_scratch_alloc(sc, n, sizeof(*pp));
    uint32_t *toks = iamp__wire_scratch_alloc(sc, n * per + 1, sizeof(uint32_t));
    *out = pp;
    if (!pb || !pp || !toks)
        return IAMP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        iamp_pb_context_to(&c[i], &pb[i], toks + i * per);
        pp[i] = &pb[i];
    }
    return 0;
}

void *iamp__wire_scratch_alloc(struct scratch *s, size_t count, size_t size)
{
    if (s->n == SCRATCH_MAX)
        return NULL;
    void *p = calloc(count ? count : 1, size);
    if (p)
        s->p[s->n++] = p;
    return p;
}

void iamp__wire_scratch_free(struct scratch *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->p[i]);
    s->n = 0;
}

/* ---------------------------------------------------------- values */

int iamp__wire_nodes_to_pb(const struct iamp_result_node *n, const struct iamp_node_text *t,
                           size_t count, Iamp__TraceNode ***out, struct scratch *sc)
{
    Iamp__TraceNode *pb = iamp__wire_scratch_alloc(sc, count, sizeof(*pb));
    Iamp__TraceNode **pp = iamp__wire_scratch_alloc(sc, count, sizeof(*pp));
    Iamp__Question *q = iamp__wire_scratch_alloc(sc, count, sizeof(*q));
    Iamp__Answer *a = iamp__wire_scratch_alloc(sc, count, sizeof(*a));
    uint32_t *toks =
        iamp__wire_scratch_alloc(sc, count * (IAMP_Q_MAX + IAMP_A_MAX) + 1, sizeof(uint32_t));
    *out = pp;
    if (!pb || !pp || !q || !a || !toks)
        return IAMP_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        uint32_t *tk = toks + i * (IAMP_Q_MAX + IAMP_A_MAX);
        iamp__trace_node__init(&pb[i]);
        iamp_pb_question_to(&n[i].q, t ? t[i].question : NULL, &q[i], tk);
        iamp_pb_answer_to(&n[i].a, t ? t[i].answer : NULL, &a[i], tk + IAMP_Q_MAX);
        pb[i].question = &q[i];
        pb[i].answer = &a[i];
        pb[i].has_parent = n[i].parent >= 0;
        pb[i].parent = n[i].parent;
        pb[i].has_depth_left = 1;
        pb[i].depth_left = n[i].depth_left;
        pb[i].has_step = n[i].parent >= 0;
        pb[i].step = n[i].step;
        pb[i].has_by = 1;
        pb[i].by = (Iamp__AnsweredBy)n[i].by;
        pp[i] = &pb[i];
    }
    return 0;
}

int iamp__wire_tree_from_pb(Iamp__TraceNode *const *pb, size_t count, struct iamp_result_node *n,
                            struct iamp_node_text *t)
{
    for (size_t i = 0; i < count; i++) {
        const Iamp__TraceNode *p = pb[i];
        struct iamp_result_node *o = &n[i];
        int32_t parent = p->has_parent ? p->parent : -1;
        memset(o, 0, sizeof(*o));
        if (!p->question || !p->answer || iamp_pb_question_from(p->question, &o->q) ||
            iamp_pb_answer_from(p->answer, &o->a) || (i == 0) != (parent < 0) ||
            (parent >= 0 && (size_t)parent >= i) || (p->has_by && (p->by < 1 || p->by > 4)))
            return IAMP_EINVAL;
        o->parent = parent < 0 ? -1 : parent;
        o->depth_left = p->depth_left;
        o->step = p->step;
        o->by = p->has_by ? (int)p->by : 0;
        if (t &&
            (copy_str(t[i].question, sizeof(t[i].question), p->question->text, "text", NULL, 0) ||
             copy_str(t[i].answer, sizeof(t[i].answer), p->answer->text, "text", NULL, 0)))
            return IAMP_EINVAL;
    }
    return 0;
}

static int wire_question_from_pb(const Iamp__Question *pb, size_t i, struct iamp_wire_question *w,
                                 char *why, size_t whylen)
{
    memset(w, 0, sizeof(*w));
    if (pb->text) {
        if (strlen(pb->text) >= IAMP_TEXT_MAX)
            return fail(IAMP_ELIMIT, why, whylen, "question %zu: text over %d bytes", i + 1,
                        IAMP_TEXT_MAX - 1);
        strcpy(w->text, pb->text);
        w->has_text = 1;
    }
    if (pb->has_type || pb->n_tokens > 0) {
        if (iamp_pb_question_from(pb, &w->q))
            return fail(IAMP_EINVAL, why, whylen, "question %zu: malformed tokens", i + 1);
        w->has_tokens = 1;
    }
    if (!w->has_text && !w->has_tokens)
        return fail(IAMP_EINVAL, why, whylen, "question %zu: neither text nor tokens", i + 1);
    w->context = pb->has_context ? (int)(pb->context < INT32_MAX ? pb->context : INT32_MAX) : -1;
    return 0;
}

/* ---------------------------------------------------------- status */

void iamp__wire_status_to_pb(const struct iamp_job_status *s, Iamp__JobStatus *pb)
{
    iamp__job_status__init(pb);
    pb->job_id = s->job_id;
    pb->has_kind = s->kind != 0;
    pb->kind = (Iamp__JobKind)s->kind;
    pb->has_state = s->state != 0;
    pb->state = (Iamp__JobState)s->state;
    pb->has_done = pb->has_total = 1;
    pb->done = s->done;
    pb->total = s->total;
    pb->message = s->message[0] ? (char *)s->message : NULL;
    pb->task = s->task[0] ? (char *)s->task : NULL;
    pb->has_created_ms = s->created_ms != 0;
    pb->created_ms = s->created_ms;
    pb->has_finished_ms = s->finished_ms != 0;
    pb->finished_ms = s->finished_ms;
    pb->has_depth = s->kind != IAMP_JOB_TRAIN;
    pb->depth = s->depth;
    pb->has_model_round = s->has_model_round;
    pb->model_round = s->model_round;
    pb->has_accuracy = pb->has_amplified_accuracy = s->has_accuracy;
    pb->accuracy = s->accuracy;
    pb->amplified_accuracy = s->amplified_accuracy;
}

int iamp__wire_status_from_pb(const Iamp__JobStatus *pb, struct iamp_job_status *s, char *why,
                              size_t whylen)
{
    memset(s, 0, sizeof(*s));
    s->job_id = pb->job_id;
    s->kind = pb->has_kind ? (int)pb->kind : 0;
    s->state = pb->has_state ? (int)pb->state : 0;
    s->done = pb->done;
    s->total = pb->total;
    int rc = copy_str(s->message, sizeof(s->message), pb->message, "message", why, whylen);
    if (!rc)
        rc = copy_str(s->task, sizeof(s->task), pb->task, "task", why, whylen);
    s->created_ms = pb->created_ms;
    s->finished_ms = pb->finished_ms;
    s->depth = pb->depth;
    s->has_model_round = pb->has_model_round;
    s->model_round = pb->model_round;
    s->has_accuracy = pb->has_accuracy;
    s->accuracy = pb->accuracy;
    s->amplified_accuracy = pb->amplified_accuracy;
    return rc;
}

/* ---------------------------------------------------------- submit */

int iamp__wire_train_from_pb(const Iamp__TrainParams *pb, struct iamp_train_params *t, char *why,
                             size_t whylen)
{
    memset(t, 0, sizeof(*t));
    if (!pb)
        return 0;
    int rc = copy_str(t->algo, sizeof(t->algo), pb->algo, "train.algo", why, whylen);
    t->rounds = pb->has_rounds ? pb->rounds : 0;
    t->has_seed = pb->has_seed;
    t->seed = pb->seed;
    t->questions_per_round = pb->has_questions_per_round ? pb->questions_per_round : 0;
    return rc;
}

void iamp__wire_train_to_pb(const struct iamp_train_params *t, Iamp__TrainParams *pb)
{
    iamp__train_params__init(pb);
    pb->algo = t->algo[0] ? (char *)t->algo : NULL;
    pb->has_rounds = t->rounds != 0;
    pb->rounds = t->rounds;
    pb->has_seed = t->has_seed;
    pb->seed = t->seed;
    pb->has_questions_per_round = t->questions_per_round != 0;
    pb->questions_per_round = t->questions_per_round;
}

static int submit_from_pb(const Iamp__SubmitJob *pb, const struct iamp_msg_limits *lim,
                          struct iamp_submit *s, char *why, size_t whylen)
{
    if ((int)pb->kind < IAMP_JOB_ANSWER || (int)pb->kind > IAMP_JOB_EVAL)
        return fail(IAMP_EINVAL, why, whylen, "unknown job kind %d", (int)pb->kind);
    s->kind = (int)pb->kind;
    int rc = copy_str(s->task, sizeof(s->task), pb->task, "task", why, whylen);
    if (!rc)
        rc = copy_str(s->client_key, sizeof(s->client_key), pb->client_key, "client_key", why,
                      whylen);
    if (!rc)
        rc = iamp__wire_train_from_pb(pb->train, &s->train, why, whylen);
    if (rc)
        return rc;
    s->has_depth = pb->has_depth;
    s->depth = pb->depth;
    s->eval_size = pb->has_eval_size ? pb->eval_size : 0;
    s->trace = pb->has_trace && pb->trace;
    if (pb->n_questions > lim->max_questions)
        return fail(IAMP_ELIMIT, why, whylen, "%zu questions, the limit is %u", pb->n_questions,
                    lim->max_questions);
    s->questions = calloc(pb->n_questions ? pb->n_questions : 1, sizeof(*s->questions));
    if (!s->questions)
        return fail(IAMP_ENOMEM, why, whylen, "out of memory");
    s->n_questions = (int)pb->n_questions;
    for (size_t i = 0; i < pb->n_questions && !rc; i++)
        rc = wire_question_from_pb(pb->questions[i], i, &s->questions[i], why, whylen);
    if (!rc && pb->n_contexts > lim->max_contexts)
        return fail(IAMP_ELIMIT, why, whylen, "%zu contexts, the limit is %u", pb->n_contexts,
                    lim->max_contexts);
    for (size_t i = 0; !rc && i < pb->n_contexts; i++) {
        struct iamp_context *one;
        if (iamp_pb_contexts_from(&pb->contexts[i], 1, &one))
            return fail(IAMP_EINVAL, why, whylen,
                        "context %zu: not 1..%d facts of 1..%d tokens each (fact_len, then the "
                        "facts' tokens)",
                        i + 1, IAMP_FACTS_MAX, IAMP_FACT_LEN);
        free(one);
    }
    if (!rc && iamp_pb_contexts_from(pb->contexts, pb->n_contexts, &s->contexts))
        return fail(IAMP_ENOMEM, why, whylen, "out of memory");
    s->n_contexts = (int)pb->n_contexts;
    return rc;
}

/* Fill pb from s; question storage comes from sc. */
static int submit_to_pb(const struct iamp_submit *s, Iamp__SubmitJob *pb, Iamp__TrainParams *tp,
                        struct scratch *sc)
{
    size_t n = (size_t)s->n_questions, nc = (size_t)s->n_contexts;
    Iamp__Question *q = iamp__wire_scratch_alloc(sc, n, sizeof(*q));
    Iamp__Question **qp = iamp__wire_scratch_alloc(sc, n, sizeof(*qp));
    uint32_t *toks = iamp__wire_scratch_alloc(sc, n * IAMP_Q_MAX + 1, sizeof(uint32_t));
    if (!q || !qp || !toks || iamp__wire_contexts_to_pb(s->contexts, nc, &pb->contexts, sc))
        return IAMP_ENOMEM;
    Iamp__Context **cx = pb->contexts;
    iamp__submit_job__init(pb);
    pb->n_contexts = nc;
    pb->contexts = cx;
    pb->kind = (Iamp__JobKind)s->kind;
    pb->task = s->task[0] ? (char *)s->task : NULL;
    pb->has_depth = s->has_depth;
    pb->depth = s->depth;
    pb->client_key = s->client_key[0] ? (char *)s->client_key : NULL;
    pb->has_eval_size = s->eval_size != 0;
    pb->eval_size = s->eval_size;
    pb->has_trace = pb->trace = s->trace != 0;
    for (size_t i = 0; i < n; i++) {
        const struct iamp_wire_question *w = &s->questions[i];
        iamp__question__init(&q[i]);
        if (w->has_tokens)
            iamp_pb_question_to(&w->q, NULL, &q[i], toks + i * IAMP_Q_MAX);
        q[i].text = w->has_text ? (char *)w->text : NULL;
        q[i].has_context = w->context >= 0;
        q[i].context = w->context >= 0 ? (uint32_t)w->context : 0;
        qp[i] = &q[i];
    }
    pb->n_questions = n;
    pb->questions = qp;
    if (s->kind == IAMP_JOB_TRAIN) {
        iamp__wire_train_to_pb(&s->train, tp);
        pb->train = tp;
    }
    return 0;
}

/* ---------------------------------------------------------- result pages */

/* The items' trees into p->trace (after the items themselves). */
static int page_traces_from_pb(const Iamp__ResultPage *pb, const struct iamp_msg_limits *lim,
                               struct iamp_result_page *p, char *why, size_t whylen)
{
    size_t total = 0;
    for (size_t i = 0; i < pb->n_items; i++)
        total += pb->items[i]->n_trace;
    if (total == 0)
        return 0;
    if (total > lim->max_trace)
        return fail(IAMP_ELIMIT, why, whylen, "page of %zu trace nodes", total);
    p->trace = calloc(total, sizeof(*p->trace));
    p->trace_text = calloc(total, sizeof(*p->trace_text));
    if (!p->trace || !p->trace_text)
        return fail(IAMP_ENOMEM, why, whylen, "out of memory");
    p->n_trace = (long)total;
    long at = 0;
    for (size_t i = 0; i < pb->n_items; i++) {
        const Iamp__ResultItem *it = pb->items[i];
        p->items[i].trace_at = at;
        p->items[i].trace_len = (long)it->n_trace;
        if (iamp__wire_tree_from_pb(it->trace, it->n_trace, p->trace + at, p->trace_text + at))
            return fail(IAMP_EINVAL, why, whylen, "result item %zu: malformed trace", i);
        at += (long)it->n_trace;
    }
    return 0;
}

static int page_from_pb(const Iamp__ResultPage *pb, const struct iamp_msg_limits *lim,
                        struct iamp_result_page *p, char *why, size_t whylen)
{
    p->job_id = pb->job_id;
    p->offset = pb->offset;
    p->total = pb->total;
    if (pb->n_items > lim->max_items)
        return fail(IAMP_ELIMIT, why, whylen, "page of %zu items", pb->n_items);
    p->items = calloc(pb->n_items ? pb->n_items : 1, sizeof(*p->items));
    if (!p->items)
        return fail(IAMP_ENOMEM, why, whylen, "out of memory");
    p->n_items = (int)pb->n_items;
    for (size_t i = 0; i < pb->n_items; i++) {
        const Iamp__ResultItem *it = pb->items[i];
        struct iamp_result_item *o = &p->items[i];
        o->depth = it->depth;
        if (!it->question || !it->answer || iamp_pb_question_from(it->question, &o->q) ||
            iamp_pb_answer_from(it->answer, &o->a))
            return fail(IAMP_EINVAL, why, whylen, "result item %zu is malformed", i);
        o->context = it->question->has_context && it->question->context < INT32_MAX
                         ? (int)it->question->context
                         : -1;
        struct iamp_context *one = NULL;
        if (o->context >= 0 && (!it->facts || iamp_pb_contexts_from(&it->facts, 1, &one)))
            return fail(IAMP_EINVAL, why, whylen, "result item %zu: malformed facts", i);
        if (one)
            o->facts = *one;
        free(one);
        int rc = copy_str(o->qtext, sizeof(o->qtext), it->question->text, "text", why, whylen);
        if (!rc)
            rc = copy_str(o->atext, sizeof(o->atext), it->answer->text, "text", why, whylen);
        if (rc)
            return rc;
    }
    int rc = page_traces_from_pb(pb, lim, p, why, whylen);
    if (rc)
        return rc;
    p->has_status = pb->status != NULL;
    return pb->status ? iamp__wire_status_from_pb(pb->status, &p->status, why, whylen) : 0;
}

static int page_to_pb(const struct iamp_result_page *p, Iamp__ResultPage *pb, Iamp__JobStatus *st,
                      struct scratch *sc)
{
    size_t n = (size_t)p->n_items;
    Iamp__ResultItem *it = iamp__wire_scratch_alloc(sc, n, sizeof(*it));
    Iamp__ResultItem **itp = iamp__wire_scratch_alloc(sc, n, sizeof(*itp));
    Iamp__Question *q = iamp__wire_scratch_alloc(sc, n, sizeof(*q));
    Iamp__Answer *a = iamp__wire_scratch_alloc(sc, n, sizeof(*a));
    uint32_t *toks =
        iamp__wire_scratch_alloc(sc, n * (IAMP_Q_MAX + IAMP_A_MAX) + 1, sizeof(uint32_t));
    size_t with = 0, per = (size_t)IAMP_FACTS_MAX * IAMP_FACT_LEN;
    for (size_t i = 0; i < n; i++)
        with += p->items[i].context >= 0;
    Iamp__Context *cx = iamp__wire_scratch_alloc(sc, with, sizeof(*cx));
    uint32_t *ctoks = iamp__wire_scratch_alloc(sc, with * per + 1, sizeof(uint32_t));
    Iamp__TraceNode **nodes = NULL;
    if (!it || !itp || !q || !a || !toks || !cx || !ctoks ||
        iamp__wire_nodes_to_pb(p->trace, p->trace_text, (size_t)p->n_trace, &nodes, sc))
        return IAMP_ENOMEM;
    iamp__result_page__init(pb);
    pb->job_id = p->job_id;
    pb->has_offset = pb->has_total = 1;
    pb->offset = p->offset;
    pb->total = p->total;
    for (size_t i = 0; i < n; i++) {
        const struct iamp_result_item *o = &p->items[i];
        uint32_t *t = toks + i * (IAMP_Q_MAX + IAMP_A_MAX);
        iamp__result_item__init(&it[i]);
        iamp_pb_question_to(&o->q, o->qtext, &q[i], t);
        iamp_pb_answer_to(&o->a, o->atext, &a[i], t + IAMP_Q_MAX);
        it[i].question = &q[i];
        it[i].answer = &a[i];
        it[i].has_depth = 1;
        it[i].depth = o->depth;
        if (o->context >= 0) {
            q[i].has_context = 1;
            q[i].context = (uint32_t)o->context;
            iamp_pb_context_to(&o->facts, cx, ctoks);
            it[i].facts = cx++;
            ctoks += per;
        }
        if (o->trace_len > 0) { /* its slice of the page's list */
            it[i].trace = nodes + o->trace_at;
            it[i].n_trace = (size_t)o->trace_len;
        }
        itp[i] = &it[i];
    }
    pb->n_items = n;
    pb->items = itp;
    if (p->has_status) {
        iamp__wire_status_to_pb(&p->status, st);
        pb->status = st;
    }
    return 0;
}

/* ---------------------------------------------------------- info, job lists */

static int info_from_pb(const Iamp__InfoReply *pb, struct iamp_info *in, char *why, size_t whylen)
{
    int rc = copy_str(in->version, sizeof(in->version), pb->version, "version", why, whylen);
    if (!rc)
        rc = copy_str(in->model_task, sizeof(in->model_task), pb->model_task, "task", why, whylen);
    if (!rc && pb->n_tasks > IAMP_INFO_TASKS_MAX)
        rc = fail(IAMP_ELIMIT, why, whylen, "%zu tasks", pb->n_tasks);
    for (size_t i = 0; !rc && i < pb->n_tasks; i++)
        rc = copy_str(in->tasks[i], sizeof(in->tasks[i]), pb->tasks[i], "task", why, whylen);
    if (rc)
        return rc;
    in->n_tasks = (int)pb->n_tasks;
    in->ranks = pb->ranks;
    in->model_round = pb->model_round;
    in->max_questions = pb->max_questions;
    in->max_depth = pb->max_depth;
    in->max_tree_nodes = pb->max_tree_nodes;
    in->max_frame_bytes = pb->max_frame_bytes;
    in->max_page_items = pb->max_page_items;
    in->jobs_queued = pb->jobs_queued;
    in->jobs_total = pb->jobs_total;
    in->max_trace_nodes = pb->max_trace_nodes;
    return 0;
}

static void info_to_pb(const struct iamp_info *in, Iamp__InfoReply *pb, char **tasks)
{
    iamp__info_reply__init(pb);
    pb->version = (char *)in->version;
    pb->has_ranks = pb->has_model_round = 1;
    pb->ranks = in->ranks;
    pb->model_round = in->model_round;
    pb->model_task = (char *)in->model_task;
    for (int i = 0; i < in->n_tasks; i++)
        tasks[i] = (char *)in->tasks[i];
    pb->n_tasks = (size_t)in->n_tasks;
    pb->tasks = tasks;
    pb->has_max_questions = pb->has_max_depth = pb->has_max_tree_nodes = 1;
    pb->max_questions = in->max_questions;
    pb->max_depth = in->max_depth;
    pb->max_tree_nodes = in->max_tree_nodes;
    pb->has_max_frame_bytes = pb->has_max_page_items = 1;
    pb->max_frame_bytes = in->max_frame_bytes;
    pb->max_page_items = in->max_page_items;
    pb->has_jobs_queued = pb->has_jobs_total = 1;
    pb->jobs_queued = in->jobs_queued;
    pb->jobs_total = in->jobs_total;
    pb->has_max_trace_nodes = in->max_trace_nodes != 0;
    pb->max_trace_nodes = in->max_trace_nodes;
}

static int jobs_from_pb(const Iamp__JobList *pb, const struct iamp_msg_limits *lim,
                        struct iamp_msg *m, char *why, size_t whylen)
{
    if (pb->n_jobs > lim->max_items)
        return fail(IAMP_ELIMIT, why, whylen, "list of %zu jobs", pb->n_jobs);
    m->jobs = calloc(pb->n_jobs ? pb->n_jobs : 1, sizeof(*m->jobs));
    if (!m->jobs)
        return fail(IAMP_ENOMEM, why, whylen, "out of memory");
    m->n_jobs = (int)pb->n_jobs;
    int rc = 0;
    for (size_t i = 0; i < pb->n_jobs && !rc; i++)
        rc = iamp__wire_status_from_pb(pb->jobs[i], &m->jobs[i], why, whylen);
    return rc;
}

static int jobs_to_pb(const struct iamp_msg *m, Iamp__JobList *pb, struct scratch *sc)
{
    size_t n = (size_t)m->n_jobs;
    Iamp__JobStatus *st = iamp__wire_scratch_alloc(sc, n, sizeof(*st));
    Iamp__JobStatus **stp = iamp__wire_scratch_alloc(sc, n, sizeof(*stp));
    if (!st || !stp)
        return IAMP_ENOMEM;
    iamp__job_list__init(pb);
    for (size_t i = 0; i < n; i++) {
        iamp__wire_status_to_pb(&m->jobs[i], &st[i]);
        stp[i] = &st[i];
    }
    pb->n_jobs = n;
    pb->jobs = stp;
    return 0;
}

/* ---------------------------------------------------------- envelope decode */

void iamp_msg_release(struct iamp_msg *m)
{
    if (!m)
        return;
    free(m->submit.questions);
    free(m->submit.contexts);
    free(m->page.items);
    free(m->page.trace);
    free(m->page.trace_text);
    free(m->jobs);
    memset(m, 0, sizeof(*m));
}

static int body_from_pb(const Iamp__Envelope *pb, const struct iamp_msg_limits *lim,
                        struct iamp_msg *m, char *why, size_t whylen)
{
    switch (pb->body_case) {
    case IAMP__ENVELOPE__BODY_SUBMIT:
        return submit_from_pb(pb->submit, lim, &m->submit, why, whylen);
    case IAMP__ENVELOPE__BODY_ACCEPTED:
        m->job_id = pb->accepted->job_id;
        return 0;
    case IAMP__ENVELOPE__BODY_GET_STATUS:
        m->job_id = pb->get_status->job_id;
        return 0;
    case IAMP__ENVELOPE__BODY_WATCH:
        m->job_id = pb->watch->job_id;
        return 0;
    case IAMP__ENVELOPE__BODY_CANCEL:
        m->job_id = pb->cancel->job_id;
        return 0;
    case IAMP__ENVELOPE__BODY_STATUS:
        return iamp__wire_status_from_pb(pb->status, &m->status, why, whylen);
    case IAMP__ENVELOPE__BODY_PROGRESS:
        return iamp__wire_status_from_pb(pb->progress->status, &m->status, why, whylen);
    case IAMP__ENVELOPE__BODY_GET_RESULT:
        m->job_id = pb->get_result->job_id;
        m->offset = pb->get_result->offset;
        m->limit = pb->get_result->has_limit ? pb->get_result->limit : 0;
        return 0;
    case IAMP__ENVELOPE__BODY_RESULT:
        return page_from_pb(pb->result, lim, &m->page, why, whylen);
    case IAMP__ENVELOPE__BODY_LIST_JOBS:
        m->limit = pb->list_jobs->has_limit ? pb->list_jobs->limit : 0;
        return 0;
    case IAMP__ENVELOPE__BODY_JOB_LIST:
        return jobs_from_pb(pb->job_list, lim, m, why, whylen);
    case IAMP__ENVELOPE__BODY_INFO:
        return 0;
    case IAMP__ENVELOPE__BODY_INFO_REPLY:
        return info_from_pb(pb->info_reply, &m->info, why, whylen);
    case IAMP__ENVELOPE__BODY_ERROR:
        m->error_code = (int)pb->error->code;
        return copy_str(m->reason, sizeof(m->reason), pb->error->reason, "reason", why, whylen);
    default:
        return fail(IAMP_EINVAL, why, whylen, "envelope has no body");
    }
}

static int msg_from_pb(const Iamp__Envelope *pb, const struct iamp_msg_limits *lim,
                       struct iamp_msg *m, char *why, size_t whylen)
{
    m->version = pb->version;
    m->request_id = pb->has_request_id ? pb->request_id : 0;
    if (pb->version != IAMP_PROTOCOL_VERSION)
        return fail(IAMP_EVERSION, why, whylen, "protocol version %u, this side speaks %u",
                    pb->version, IAMP_PROTOCOL_VERSION);
    if (pb->token) {
        int rc = copy_str(m->token, sizeof(m->token), pb->token, "token", why, whylen);
        if (rc)
            return rc;
        m->has_token = 1;
    }
    m->kind = (int)pb->body_case;
    return body_from_pb(pb, lim, m, why, whylen);
}

/* ---------------------------------------------------------- pre-scan
 *
 * protobuf-c allocates a struct per element of a repeated message field
 * while it unpacks: 8 M empty questions in a 16 MiB frame once took
 * 863 MiB. Before unpacking, the frame's wire format is walked (no
 * allocation) and a body with more elements in one repeated field than
 * the limits allow is refused, so what unpacking allocates is bounded by
 * a small multiple of the limits, not of the frame. */

/* A varint at *p (< end); 0 on success. */
static int wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* Walk one message's fields; on each length-delimited field call back
 * with its number and bytes (NULL cb: only check the framing). -1 when
 * the bytes are not protobuf. */
static int wire_walk(const uint8_t *p, const uint8_t *end,
                     int (*cb)(void *ctx, uint32_t field, const uint8_t *data, size_t len),
                     void *ctx)
{
    while (p < end) {
        uint64_t key, v;
        if (wire_varint(&p, end, &key))
            return -1;
        uint32_t field = (uint32_t)(key >> 3);
        switch (key & 7) {
        case 0:
            if (wire_varint(&p, end, &v))
                return -1;
            break;
        case 1:
            if (end - p < 8)
                return -1;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return -1;
            p += 4;
            break;
        case 2:
            if (wire_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return -1;
            if (cb && cb(ctx, field, p, (size_t)v))
                return 1;
            p += v;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

struct census {
    uint32_t counts[32]; /* length-delimited entries by field number (< 32) */
    uint32_t body;       /* the Envelope's body field */
    uint32_t unknown;    /* a length-delimited Envelope field past the body range */
    const uint8_t *data;
    size_t len;
    uint32_t question; /* questions seen, walking a SubmitJob */
    char nul_why[160]; /* a text field holding a NUL byte */
};

/* A string field whose bytes hold a NUL: protobuf-c would cut it there
 * and the rest would silently vanish. */
static void check_nul(struct census *c, const char *what, const uint8_t *data, size_t len)
{
    const uint8_t *z = memchr(data, 0, len);
    if (z && !c->nul_why[0])
        snprintf(c->nul_why, sizeof(c->nul_why), "%s contains a NUL byte at column %zu", what,
                 (size_t)(z - data) + 1);
}

static int question_cb(void *ctx, uint32_t field, const uint8_t *data, size_t len)
{
    struct census *c = ctx;
    char what[48];
    if (field == 3) { /* Question.text */
        snprintf(what, sizeof(what), "question %u: its text", c->question);
        check_nul(c, what, data, len);
    }
    return 0;
}

static int count_cb(void *ctx, uint32_t field, const uint8_t *data, size_t len)
{
    struct census *c = ctx;
    if (field < 32)
        c->counts[field]++;
    if (c->body != IAMP__ENVELOPE__BODY_SUBMIT)
        return 0;
    if (field == 2)
        check_nul(c, "the task", data, len);
    else if (field == 6)
        check_nul(c, "the client key", data, len);
    else if (field == 4) {
        c->question++;
        wire_walk(data, data + len, question_cb, c);
    }
    return 0;
}

static int body_cb(void *ctx, uint32_t field, const uint8_t *data, size_t len)
{
    struct census *c = ctx;
    if (field >= 10 && field <= 23) { /* the oneof body */
        c->body = field;
        c->data = data;
        c->len = len;
    } else if (field > 23 && !c->unknown) {
        c->unknown = field;
    } else if (field == 2) {
        check_nul(c, "the token", data, len);
    }
    return 0;
}

/* What the wire format says before unpacking: -1 when the bytes are not
 * protobuf at all, else 0 or a refusal (over a limit, a NUL in text). */
static int prescan(const uint8_t *buf, size_t len, const struct iamp_msg_limits *lim,
                   struct census *c, char *why, size_t whylen)
{
    memset(c, 0, sizeof(*c));
    if (wire_walk(buf, buf + len, body_cb, c))
        return -1;
    if (!c->data)
        return 0;
    if (wire_walk(c->data, c->data + c->len, count_cb, c))
        return -1;
    uint32_t most = 0, at = 0;
    for (uint32_t f = 0; f < 32; f++)
        if (c->counts[f] > most) {
            most = c->counts[f];
            at = f;
        }
    int submit = c->body == IAMP__ENVELOPE__BODY_SUBMIT;
    uint32_t allowed = submit ? lim->max_questions : lim->max_items;
    if (most > allowed && submit && at == 4)
        return fail(IAMP_ELIMIT, why, whylen, "%u questions, the limit is %u", most, allowed);
    if (most > allowed)
        return fail(IAMP_ELIMIT, why, whylen, "%u entries in field %u of the body; the limit is %u",
                    most, at, allowed);
    if (c->nul_why[0])
        return fail(IAMP_EINVAL, why, whylen, "%s", c->nul_why);
    return 0;
}

/* Varint field `field` of the message at [p, end): 1 and *out when it is
 * there (the request_id and version of a frame protobuf-c refuses). */
static int wire_varint_field(const uint8_t *p, const uint8_t *end, uint32_t field, uint64_t *out)
{
    while (p < end) {
        uint64_t key, v;
        if (wire_varint(&p, end, &key))
            return 0;
        int type = (int)(key & 7);
        if (type == 0) {
            if (wire_varint(&p, end, &v))
                return 0;
            if ((key >> 3) == field) {
                *out = v;
                return 1;
            }
        } else if (type == 2) {
            if (wire_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return 0;
            p += v;
        } else if (type == 1 || type == 5) {
            size_t n = type == 1 ? 8 : 4;
            if ((size_t)(end - p) < n)
                return 0;
            p += n;
        } else {
            return 0;
        }
    }
    return 0;
}

static uint64_t wire_request_id(const uint8_t *buf, size_t len)
{
    uint64_t id = 0;
    return wire_varint_field(buf, buf + len, 3, &id) ? id : 0;
}

int iamp_msg_decode(const uint8_t *buf, size_t len, const struct iamp_msg_limits *lim,
                    struct iamp_msg *m, char *why, size_t whylen)
{
    memset(m, 0, sizeof(*m));
    struct census c;
    int pre = prescan(buf, len, lim, &c, why, whylen);
    if (pre > 0 || pre < -1) {
        m->request_id = wire_request_id(buf, len);
        return pre;
    }
    Iamp__Envelope *pb = pre ? NULL : iamp__envelope__unpack(NULL, len, buf);
    uint64_t version = 0;
    if (!pb && pre == 0 && wire_varint_field(buf, buf + len, 1, &version)) {
        /* Well-formed protobuf that protobuf-c refuses: a required field
         * is missing or a field has the wrong type. The frame itself was
         * fine, so this is a bad request, answered on an open connection. */
        m->request_id = wire_request_id(buf, len);
        return fail(IAMP_EINVAL, why, whylen,
                    "a required field is missing or a field has the wrong type");
    }
    if (!pb)
        return fail(IAMP_ECORRUPT, why, whylen, "frame of %zu bytes is not an Envelope", len);
    if (!pb->body_case && c.unknown && pb->version == IAMP_PROTOCOL_VERSION) {
        m->request_id = pb->has_request_id ? pb->request_id : 0;
        m->version = pb->version;
        iamp__envelope__free_unpacked(pb, NULL);
        return fail(IAMP_EINVAL, why, whylen,
                    "body field %u is not a request this server knows (protocol version %d)",
                    c.unknown, IAMP_PROTOCOL_VERSION);
    }
    int rc = msg_from_pb(pb, lim, m, why, whylen);
    iamp__envelope__free_unpacked(pb, NULL);
    if (rc) {
        uint32_t v = m->version;
        uint64_t id = m->request_id;
        iamp_msg_release(m);
        m->version = v; /* kept so the reply can echo them */
        m->request_id = id;
    }
    return rc;
}

/* ---------------------------------------------------------- envelope encode */

/* The body's protobuf structs, on the stack of iamp_msg_frame. */
struct bodies {
    Iamp__SubmitJob submit;
    Iamp__TrainParams train;
    Iamp__JobAccepted accepted;
    Iamp__GetStatus get_status;
    Iamp__JobStatus status;
    Iamp__Watch watch;
    Iamp__Progress progress;
    Iamp__GetResult get_result;
    Iamp__ResultPage page;
    Iamp__Cancel cancel;
    Iamp__ListJobs list_jobs;
    Iamp__JobList job_list;
    Iamp__Info info;
    Iamp__InfoReply info_reply;
    char *tasks[IAMP_INFO_TASKS_MAX];
    Iamp__Error error;
};

static int body_to_pb(const struct iamp_msg *m, Iamp__Envelope *pb, struct bodies *b,
                      struct scratch *sc)
{
    pb->body_case = (Iamp__Envelope__BodyCase)m->kind;
    switch (m->kind) {
    case IAMP_MSG_SUBMIT:
        pb->submit = &b->submit;
        return submit_to_pb(&m->submit, &b->submit, &b->train, sc);
    case IAMP_MSG_ACCEPTED:
        iamp__job_accepted__init(&b->accepted);
        b->accepted.job_id = m->job_id;
        pb->accepted = &b->accepted;
        return 0;
    case IAMP_MSG_GET_STATUS:
        iamp__get_status__init(&b->get_status);
        b->get_status.job_id = m->job_id;
        pb->get_status = &b->get_status;
        return 0;
    case IAMP_MSG_STATUS:
        iamp__wire_status_to_pb(&m->status, &b->status);
        pb->status = &b->status;
        return 0;
    case IAMP_MSG_WATCH:
        iamp__watch__init(&b->watch);
        b->watch.job_id = m->job_id;
        pb->watch = &b->watch;
        return 0;
    case IAMP_MSG_PROGRESS:
        iamp__progress__init(&b->progress);
        iamp__wire_status_to_pb(&m->status, &b->status);
        b->progress.status = &b->status;
        pb->progress = &b->progress;
        return 0;
    case IAMP_MSG_GET_RESULT:
        iamp__get_result__init(&b->get_result);
        b->get_result.job_id = m->job_id;
        b->get_result.has_offset = 1;
        b->get_result.offset = m->offset;
        b->get_result.has_limit = m->limit != 0;
        b->get_result.limit = m->limit;
        pb->get_result = &b->get_result;
        return 0;
    case IAMP_MSG_RESULT:
        pb->result = &b->page;
        return page_to_pb(&m->page, &b->page, &b->status, sc);
    case IAMP_MSG_CANCEL:
        iamp__cancel__init(&b->cancel);
        b->cancel.job_id = m->job_id;
        pb->cancel = &b->cancel;
        return 0;
    case IAMP_MSG_LIST_JOBS:
        iamp__list_jobs__init(&b->list_jobs);
        b->list_jobs.has_limit = m->limit != 0;
        b->list_jobs.limit = m->limit;
        pb->list_jobs = &b->list_jobs;
        return 0;
    case IAMP_MSG_JOB_LIST:
        pb->job_list = &b->job_list;
        return jobs_to_pb(m, &b->job_list, sc);
    case IAMP_MSG_INFO:
        iamp__info__init(&b->info);
        pb->info = &b->info;
        return 0;
    case IAMP_MSG_INFO_REPLY:
        info_to_pb(&m->info, &b->info_reply, b->tasks);
        pb->info_reply = &b->info_reply;
        return 0;
    case IAMP_MSG_ERROR:
        iamp__error__init(&b->error);
        b->error.code = (Iamp__ErrorCode)m->error_code;
        b->error.reason = (char *)m->reason;
        pb->error = &b->error;
        return 0;
    default:
        return IAMP_EINVAL;
    }
}

int iamp_msg_frame(const struct iamp_msg *m, uint8_t **buf, size_t *len)
{
    Iamp__Envelope pb = IAMP__ENVELOPE__INIT;
    struct bodies b;
    struct scratch sc = {{0}, 0};
    *buf = NULL;
    pb.version = m->version ? m->version : IAMP_PROTOCOL_VERSION;
    pb.token = m->has_token ? (char *)m->token : NULL;
    pb.has_request_id = m->request_id != 0;
    pb.request_id = m->request_id;
    int rc = body_to_pb(m, &pb, &b, &sc);
    if (rc)
        goto out;
    size_t n = iamp__envelope__get_packed_size(&pb);
    if (n > UINT32_MAX) {
        rc = IAMP_ELIMIT;
        goto out;
    }
    *buf = malloc(IAMP_FRAME_HEADER_BYTES + n);
    if (!*buf) {
        rc = IAMP_ENOMEM;
        goto out;
    }
    size_t got = iamp__envelope__pack(&pb, *buf + IAMP_FRAME_HEADER_BYTES);
    iamp_frame_put_len(*buf, (uint32_t)got);
    *len = IAMP_FRAME_HEADER_BYTES + got;
out:
    iamp__wire_scratch_free(&sc);
    return rc;
}
