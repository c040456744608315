/* transcript.c — see transcript.h. */
#include "tasks/transcript.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct transcript {
    const struct iamp_task *base;
    int V, T; /* the base task's vocabulary and types */
};

static const struct transcript *tr_of(const struct iamp_task *tt)
{
    return tt->state;
}

static int tok_main(const struct transcript *x, int t)
{
    return x->V + t;
}
static int tok_ask(const struct transcript *x, int t)
{
    return x->V + x->T + t;
}
static int tok_suba(const struct transcript *x)
{
    return x->V + 2 * x->T;
}
static int tok_answer(const struct transcript *x)
{
    return x->V + 2 * x->T + 1;
}
static int tok_end(const struct transcript *x)
{
    return x->V + 2 * x->T + 2;
}

static void tt_destroy(struct iamp_task *t)
{
    free(t->state);
}

static void tt_answer_space(const struct iamp_task *t, const struct iamp_question *q,
                            struct iamp_answer_space *s)
{
    (void)q;
    s->lo = 0;
    s->hi = (uint16_t)t->vocab;
    s->max_len = (uint16_t)t->a_len;
    s->end_tok = tok_end(tr_of(t));
}

static int tt_valid(const struct iamp_task *t, const struct iamp_question *q)
{
    if (q->type != 0 || q->len < 1 || q->len > t->q_len)
        return 0;
    for (int k = 0; k < q->len; k++)
        if (q->tok[k] >= t->vocab)
            return 0;
    return 1;
}

static int tt_primitive(const struct iamp_task *t, const struct iamp_question *q,
                        struct iamp_answer *a)
{
    (void)t, (void)q, (void)a;
    return 0;
}

/* Tokens as words: base tokens as decimals, markers by name. */
static void put_tokens(const struct transcript *x, const uint16_t *tok, int n, char *buf,
                       size_t len)
{
    size_t at = strlen(buf);
    for (int k = 0; k < n && at + 1 < len; k++) {
        int v = tok[k], w;
        const struct iamp_task *b = x->base;
        if (v < x->V)
            w = snprintf(buf + at, len - at, " %d", v);
        else if (v < x->V + x->T)
            w = snprintf(buf + at, len - at, "%s%s", at ? " | " : "", b->type_names[v - x->V]);
        else if (v < x->V + 2 * x->T)
            w = snprintf(buf + at, len - at, " | ask %s", b->type_names[v - x->V - x->T]);
        else if (v == tok_suba(x))
            w = snprintf(buf + at, len - at, " =");
        else if (v == tok_answer(x))
            w = snprintf(buf + at, len - at, "%sanswer", at ? " | " : "");
        else
            w = snprintf(buf + at, len - at, " .");
        if (w < 0)
            break;
        at += (size_t)w;
        if (at >= len)
            at = len - 1;
    }
}

static void tt_format_question(const struct iamp_task *t, const struct iamp_question *q, char *buf,
                               size_t len)
{
    buf[0] = 0;
    put_tokens(tr_of(t), q->tok, q->len, buf, len);
}

static void tt_format_answer(const struct iamp_task *t, const struct iamp_question *q,
                             const struct iamp_answer *a, char *buf, size_t len)
{
    (void)q;
    buf[0] = 0;
    put_tokens(tr_of(t), a->tok, a->len, buf, len);
}

static int tt_parse(const struct iamp_task *t, const char *text, struct iamp_question *q, char *err,
                    size_t errlen)
{
    (void)t, (void)text, (void)q;
    snprintf(err, errlen, "transcripts are H's episodes, not text");
    return IAMP_EPARSE;
}

static const struct iamp_task_ops transcript_ops = {
    .name = "transcript",
    .summary = "H's episodes of a task, for a learned overseer",
    .params = "",
    .destroy = tt_destroy,
    .parse_question = tt_parse,
    .format_question = tt_format_question,
    .format_answer = tt_format_answer,
    .answer_space = tt_answer_space,
    .valid_question = tt_valid,
    .primitive = tt_primitive,
};

int iamp_transcript_task(struct iamp_task *out, const struct iamp_task *base, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int worst = 1 + base->q_len + base->max_asks * (2 + base->q_len + base->a_len);
    int act = 1 + base->max_asks * (1 + base->q_len);
    if (act < 2 + base->a_len)
        act = 2 + base->a_len;
    if (base->continuous) {
        snprintf(err, errlen, "task %s has continuous answers; a learned overseer writes tokens",
                 base->spec);
        return IAMP_EINVAL;
    }
    if (base->max_asks <= 0 || worst > IAMP_Q_MAX || act > IAMP_A_MAX) {
        snprintf(err, errlen,
                 "task %s's episodes do not fit a learned overseer's transcripts (%d tokens at "
                 "most, %d allowed; %d asks in all)",
                 base->spec, worst, IAMP_Q_MAX, base->max_asks);
        return IAMP_EINVAL;
    }
    struct transcript *x = calloc(1, sizeof(*x));
    if (!x)
        return IAMP_ENOMEM;
    x->base = base;
    x->V = base->vocab;
    x->T = base->n_types;
    out->ops = &transcript_ops;
    out->state = x;
    snprintf(out->spec, sizeof(out->spec), "transcript of %.100s", base->spec);
    out->vocab = x->V + 2 * x->T + 3;
    out->q_len = worst;
    out->a_len = act;
    out->n_types = 1;
    out->type_names[0] = "transcript";
    out->max_difficulty = 1;
    out->headline_type = -1;
    out->approve_type = -1;
    return 0;
}

static int append(struct iamp_question *tr, int cap, const uint16_t *tok, int n)
{
    if (tr->len + n > cap)
        return IAMP_ELIMIT;
    memcpy(tr->tok + tr->len, tok, (size_t)n * sizeof(*tok));
    tr->len = (uint16_t)(tr->len + n);
    return 0;
}

void iamp_transcript_begin(const struct iamp_task *tt, const struct iamp_question *q,
                           struct iamp_question *tr)
{
    const struct transcript *x = tr_of(tt);
    memset(tr, 0, sizeof(*tr));
    tr->tok[0] = (uint16_t)tok_main(x, q->type);
    tr->len = 1;
    (void)append(tr, tt->q_len, q->tok, q->len); /* fits: q_len bounds it */
}

int iamp_transcript_add(const struct iamp_task *tt, struct iamp_question *tr,
                        const struct iamp_question *asked, const struct iamp_answer *answers, int n)
{
    const struct transcript *x = tr_of(tt);
    struct iamp_question t = *tr;
    for (int k = 0; k < n; k++) {
        uint16_t ask = (uint16_t)tok_ask(x, asked[k].type), suba = (uint16_t)tok_suba(x);
        if (append(&t, tt->q_len, &ask, 1) || append(&t, tt->q_len, asked[k].tok, asked[k].len) ||
            append(&t, tt->q_len, &suba, 1) ||
            append(&t, tt->q_len, answers[k].tok, answers[k].len))
            return IAMP_ELIMIT;
    }
    *tr = t;
    return 0;
}

static int put(struct iamp_answer *act, int cap, int v)
{
    if (act->len >= cap)
        return IAMP_ELIMIT;
    act->tok[act->len++] = (uint16_t)v;
    return 0;
}

int iamp_transcript_action(const struct iamp_task *tt, const struct iamp_question *asks, int n,
                           const struct iamp_answer *a, struct iamp_answer *act)
{
    const struct transcript *x = tr_of(tt);
    int rc = 0;
    memset(act, 0, sizeof(*act));
    for (int k = 0; !rc && k < n; k++) {
        rc = put(act, tt->a_len, tok_ask(x, asks[k].type));
        for (int j = 0; !rc && j < asks[k].len; j++)
            rc = put(act, tt->a_len, asks[k].tok[j]);
    }
    if (!rc && n == 0) {
        rc = put(act, tt->a_len, tok_answer(x));
        for (int j = 0; !rc && j < a->len; j++)
            rc = put(act, tt->a_len, a->tok[j]);
    }
    return rc ? rc : put(act, tt->a_len, tok_end(x));
}

int iamp_transcript_asks(const struct iamp_task *tt, const struct iamp_answer *act)
{
    const struct transcript *x = tr_of(tt);
    return act->len > 0 && act->tok[0] >= tok_ask(x, 0) && act->tok[0] < tok_suba(x);
}

int iamp_transcript_read(const struct iamp_task *tt, const struct iamp_answer *act,
                         struct iamp_question *asks, int *n, struct iamp_answer *a)
{
    const struct transcript *x = tr_of(tt);
    int len = act->len;
    *n = 0;
    if (len < 2 || act->tok[len - 1] != tok_end(x))
        return 0;
    len--; /* END */
    if (act->tok[0] == tok_answer(x)) {
        memset(a, 0, sizeof(*a));
        for (int j = 1; j < len; j++) {
            if (act->tok[j] >= x->V || a->len >= IAMP_A_MAX)
                return 0;
            a->tok[a->len++] = act->tok[j];
        }
        return IAMP_EP_DONE;
    }
    for (int j = 0; j < len; j++) {
        int v = act->tok[j];
        if (v >= tok_ask(x, 0) && v < tok_suba(x)) {
            if (*n == IAMP_ASK_MAX)
                return 0;
            memset(&asks[*n], 0, sizeof(asks[*n]));
            asks[*n].type = (uint16_t)(v - tok_ask(x, 0));
            (*n)++;
        } else if (v<x->V && * n> 0 && asks[*n - 1].len < IAMP_Q_MAX) {
            asks[*n - 1].tok[asks[*n - 1].len++] = (uint16_t)v;
        } else {
            return 0;
        }
    }
    return *n > 0 ? IAMP_EP_ASK : 0;
}
