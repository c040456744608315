/* hprime.c — see hprime.h.
 *
 * Layout as tasks/remote.c's: struct iamp_hprime begins with its own copy
 * of the session task's ops (H's ops cleared, the batched-overseer ops
 * set), the session's task points at it, and `base` keeps the task as it
 * was, so H's own primitive and episodes run from there.
 */
#include "worker/hprime.h"

#include "tasks/transcript.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELD_OUT_EVERY 10   /* one H call in ten: its steps are held out */
#define HELD_OUT_SCORED 512 /* new steps scored a round, at most (the newest) */
/* H''s loss on H's new steps below which H is called at 0.1 per step of M
 * (0.01 below 0.01), and the curriculum may move on. */
#define LEARNED_LOSS 0.1
/* H''s loss is the mean token loss of the newest LOSS_WINDOW steps of H
 * it was scored on (each when new), and is known at a level once
 * LOSS_MIN_STEPS of them are that level's: until then H is called at
 * rate 1 and the curriculum waits. One round's new steps are too few to
 * tell (at rate 0.01, one H call in about 25 rounds): unionfind's H' had
 * loss 1e-5 on them while it answered depth 2 for every depth-3 variable,
 * a case it had seen in none of H's ~30 transcripts at that level. (The
 * paper's code averages over about 3000 * rate transcripts; its runs call
 * H tens of thousands of times, these a few hundred.) */
#define LOSS_WINDOW 256
#define LOSS_MIN_STEPS 128
/* H''s action is doubtful when it is invalid, or its probability (greedy,
 * the whole action) is below DOUBT_P, or its transcript is novel
 * (NOVEL_MIN). While amplifying, H takes over a doubtful episode when the
 * budget allows (take_over): its transcript holds a case H' does not
 * know, where a random H call rarely lands (at rate 0.01 H is called once
 * in about 25 rounds). A round in which at least DOUBT_SHARE of H''s
 * episodes, and at least DOUBT_MIN, were doubtful puts the rate at 1,
 * spends the budget on take-overs alone, and holds the curriculum: H'
 * visibly does not know the round's questions, however low its loss on
 * H's few new steps. Free to measure: no H call tells it. DOUBT_MIN: one
 * doubtful episode among path's ~110 a round is not a share, and put the
 * rate at 1 every other round. */
#define DOUBT_P 0.5
#define DOUBT_SHARE 0.01
#define DOUBT_MIN 3
/* A transcript is novel when it holds a token, in its role (the main
 * question of a type, a subquestion of a type, a subanswer), that H's
 * training steps (transcripts and actions) held fewer than NOVEL_MIN
 * times: however sure H' is, it has hardly seen the case. Wildcard's H'
 * summed a subanswer of +-4 (1 in 8 of a 3-star question's subanswers, a
 * handful in H's transcripts) confidently wrong: one in five of the last
 * level's top questions. Not the action's own tokens: permpow's answers
 * copy a subanswer, and each of its 8 values is an answer in only ~1/8 of
 * H's few episodes (under NOVEL_MIN for hundreds of rounds), where H'
 * copies it right. */
#define NOVEL_MIN 32
/* Subquestions an episode's history keeps for a take-over. */
#define HIST_MAX 8

struct ep {
    uint64_t run;                      /* the run it belongs to (0: none) */
    int real;                          /* H's own episode (an H call) */
    int dest;                          /* where its steps go (STEP_*) */
    int broken;                        /* its transcript outgrew the transcript task */
    int doubted;                       /* H''s action was doubtful at some step */
    int n_hist;                        /* subquestions answered so far (> HIST_MAX: not all kept) */
    struct iamp_question tr;           /* the transcript so far */
    struct iamp_question hq[HIST_MAX]; /* the subquestions, in the order asked */
    struct iamp_answer ha[HIST_MAX];   /* their answers */
};

/* A ring of the newest examples. */
struct ring {
    struct iamp_example *ex;
    long cap, n, next;
};

struct iamp_hprime {
    struct iamp_task_ops ops; /* first: the session's task's ops are this */
    struct iamp_task base;    /* the session's task as it was */
    struct iamp_session hs;   /* H': the transcript task and its model */
    struct iamp_hprime_opts o;
    struct ep *eps;        /* (cap_eps) by episode id */
    unsigned char *states; /* (cap_eps, base.episode_size) H's episodes */
    long cap_eps;
    uint64_t next_run;
    struct ring train, held;
    struct ring fresh; /* steps recorded since the last round: scored before H' trains on them */
    double credit;     /* H calls the budget allows now */
    int level;         /* the curriculum level the next round's questions are at (0: none yet) */
    double win_nll[LOSS_WINDOW]; /* the newest scored steps: loss (nats) */
    int win_tok[LOSS_WINDOW];    /* and tokens */
    long win_n, win_next;
    long level_steps;              /* steps scored at this level */
    long round_eps, round_doubted; /* H''s episodes this round while amplifying, and doubtful */
    long *seen;                    /* (n_roles, base.vocab) tokens of H's training steps, by role */
    int n_roles;
    int failing; /* the last round's doubts >= DOUBT_SHARE of its episodes, and DOUBT_MIN */
    int training;
    struct iamp_hprime_stats st;
    struct iamp_rng rng;
};

static struct iamp_hprime *hp_of(const struct iamp_task *t)
{
    return (struct iamp_hprime *)(void *)t->ops;
}

static const struct iamp_task *tt_of(const struct iamp_hprime *h)
{
    return &h->hs.task;
}

/* ------------------------------------------------------------ examples */

static int ring_init(struct ring *r, long cap)
{
    r->ex = calloc((size_t)cap, sizeof(*r->ex));
    r->cap = cap;
    return r->ex ? 0 : IAMP_ENOMEM;
}

static void ring_add(struct ring *r, const struct iamp_question *q, const struct iamp_answer *a)
{
    struct iamp_example *e = &r->ex[r->next];
    memset(e, 0, sizeof(*e));
    e->q = *q;
    e->a = *a;
    e->weight = 1.0f;
    e->value_target = NAN;
    r->next = (r->next + 1) % r->cap;
    if (r->n < r->cap)
        r->n++;
}

/* ------------------------------------------------------------ episodes */

static size_t state_size(const struct iamp_hprime *h)
{
    return h->base.episode_size ? h->base.episode_size : 1;
}

static int ep_reserve(struct iamp_hprime *h, uint64_t id)
{
    if (id < (uint64_t)h->cap_eps)
        return 0;
    long cap = h->cap_eps ? h->cap_eps : 1024;
    while ((uint64_t)cap <= id)
        cap *= 2;
    struct ep *e = realloc(h->eps, (size_t)cap * sizeof(*e));
    if (!e)
        return IAMP_ENOMEM;
    memset(e + h->cap_eps, 0, (size_t)(cap - h->cap_eps) * sizeof(*e));
    h->eps = e;
    unsigned char *s = realloc(h->states, (size_t)cap * state_size(h));
    if (!s)
        return IAMP_ENOMEM;
    h->states = s;
    h->cap_eps = cap;
    return 0;
}

static void *state_of(struct iamp_hprime *h, uint64_t id)
{
    return h->states + (size_t)id * state_size(h);
}

/* The role of the base tokens after marker v of a transcript or an action
 * (tasks/transcript.h: MAIN_t, ASK_t and SUBA start one), or -1 (ANSWER,
 * END: not counted). */
static int role_of(const struct iamp_hprime *h, int v)
{
    int V = h->base.vocab;
    return v >= V && v - V < h->n_roles ? v - V : -1;
}

/* Add (add = 1) the base tokens of tok[0, n) to the tokens seen by role,
 * or (add = 0) 1 when one of them was seen fewer than NOVEL_MIN times. */
static int tally(struct iamp_hprime *h, const uint16_t *tok, int n, int add)
{
    int V = h->base.vocab, role = -1;
    for (int k = 0; k < n; k++) {
        int v = tok[k];
        if (v >= V) {
            role = role_of(h, v);
            continue;
        }
        if (role < 0)
            continue;
        long *c = &h->seen[(size_t)role * (size_t)V + (size_t)v];
        if (add)
            (*c)++;
        else if (*c < NOVEL_MIN)
            return 1;
    }
    return 0;
}

/* Where the steps of H's episodes go: a training example, scored first
 * (H''s loss, the rate); a held-out one, scored, never trained on; or,
 * for a take-over, a training example alone: its episode is one H' was in
 * doubt on, not a random one, and scoring it would put H''s loss, and the
 * rate, up by the very cases the take-overs are there to teach (path's
 * H' hovered at 0.1 on them and called H at 1 a step every few rounds). */
enum { STEP_TRAIN, STEP_HELD_OUT, STEP_TAKEN };

/* Record H's action at transcript tr (asks[0, n), or n = 0 and the
 * answer out) as an example, where dest says. */
static void record(struct iamp_hprime *h, int dest, const struct iamp_question *tr,
                   const struct iamp_question *asks, int n, const struct iamp_answer *out)
{
    struct iamp_answer act;
    if (iamp_transcript_action(tt_of(h), asks, n, out, &act))
        return;
    ring_add(dest == STEP_HELD_OUT ? &h->held : &h->train, tr, &act);
    if (dest != STEP_TAKEN)
        ring_add(&h->fresh, tr, &act);
    if (dest != STEP_HELD_OUT) {
        tally(h, tr->tok, tr->len, 1);
        tally(h, act.tok, act.len, 1);
    }
    h->st.examples++;
}

static int same_question(const struct iamp_question *a, const struct iamp_question *b)
{
    return a->type == b->type && a->len == b->len &&
           !memcmp(a->tok, b->tok, (size_t)a->len * sizeof(a->tok[0]));
}

/* Keep the subquestions c's step got answered in ep's history. */
static void remember(struct ep *ep, const struct iamp_h_call *c)
{
    for (int k = 0; k < c->n_answers; k++, ep->n_hist++)
        if (ep->n_hist < HIST_MAX) {
            ep->hq[ep->n_hist] = c->asked[k];
            ep->ha[ep->n_hist] = c->answers[k];
        }
}

/* One step of H's own episode. */
static int h_step(struct iamp_hprime *h, struct ep *ep, struct iamp_h_call *c)
{
    const struct iamp_task *b = &h->base;
    c->status = b->ops->episode_step(b, state_of(h, c->episode), c->answers, c->n_answers, c->asks,
                                     &c->n_asks, &c->out);
    if (c->status != IAMP_EP_ASK && c->status != IAMP_EP_DONE)
        return IAMP_ESTATE;
    for (int k = 0; c->status == IAMP_EP_ASK && k < c->n_asks; k++)
        c->asks[k].ctx = c->q->ctx;
    if (!ep->broken)
        record(h, ep->dest, &ep->tr, c->asks, c->status == IAMP_EP_ASK ? c->n_asks : 0, &c->out);
    return 0;
}

/* H takes over episode ep at call c, where H''s action was doubtful: H's
 * own episode from the start, fed the answers ep got while H asks what H'
 * asked, until H answers or asks something new — its action in this
 * call. Every step of it is an H' training example (STEP_TAKEN). A dry
 * run first (commit 0): 1 when H can take over, 0 when not (ep's history
 * is not all kept, or H's new asks would pass max_asks with H''s), with
 * nothing changed. */
static int replay(struct iamp_hprime *h, struct ep *ep, struct iamp_h_call *c, int commit)
{
    const struct iamp_task *b = &h->base;
    if (ep->n_hist > HIST_MAX || ep->broken)
        return 0;
    void *st = state_of(h, c->episode);
    struct iamp_question tr, asks[IAMP_ASK_MAX];
    iamp_transcript_begin(tt_of(h), c->q, &tr);
    b->ops->episode_start(b, st, c->q);
    int pos = 0, n_ans = 0;
    for (;;) {
        int n = 0;
        struct iamp_answer out;
        int status =
            b->ops->episode_step(b, st, n_ans ? &ep->ha[pos - n_ans] : NULL, n_ans, asks, &n, &out);
        if (status != IAMP_EP_ASK && status != IAMP_EP_DONE)
            return 0;
        if (status == IAMP_EP_DONE)
            n = 0;
        for (int k = 0; k < n; k++)
            asks[k].ctx = c->q->ctx;
        if (commit)
            record(h, STEP_TAKEN, &tr, asks, n, &out);
        if (status == IAMP_EP_DONE) {
            if (commit) {
                c->out = out;
                c->status = IAMP_EP_DONE;
            }
            return 1;
        }
        int again = pos + n <= ep->n_hist;
        for (int k = 0; again && k < n; k++)
            again = same_question(&asks[k], &ep->hq[pos + k]);
        if (!again) { /* H asks something new: its step in this call */
            if (b->max_asks > 0 && c->n_asked + n > b->max_asks)
                return 0;
            if (commit) {
                memcpy(c->asks, asks, (size_t)n * sizeof(asks[0]));
                c->n_asks = n;
                c->status = IAMP_EP_ASK;
                ep->tr = tr;
                ep->n_hist = pos;
                ep->dest = STEP_TAKEN;
            }
            return 1;
        }
        if (iamp_transcript_add(tt_of(h), &tr, &ep->hq[pos], &ep->ha[pos], n))
            return 0;
        pos += n;
        n_ans = n;
    }
}

/* An episode H' got wrong: the first answer of the question's space. */
static void fallback(struct iamp_hprime *h, struct iamp_h_call *c)
{
    struct iamp_answer_space s;
    h->base.ops->answer_space(&h->base, c->q, &s);
    memset(&c->out, 0, sizeof(c->out));
    if (s.end_tok >= 0) {
        c->out.tok[0] = (uint16_t)s.end_tok;
        c->out.len = 1;
    } else {
        for (int k = 0; k < s.max_len; k++)
            c->out.tok[k] = s.lo;
        c->out.len = s.max_len;
    }
    c->status = IAMP_EP_DONE;
    h->st.invalid++;
}

/* A doubtful action of H' at ep's call c (see DOUBT_P): while amplifying,
 * counted, and H takes the episode over when the budget allows. 1 when
 * it did. */
static int doubt(struct iamp_hprime *h, struct ep *ep, struct iamp_h_call *c)
{
    if (!h->training)
        return 0;
    if (!ep->doubted) {
        h->round_doubted++;
        h->st.doubted++;
    }
    ep->doubted = 1;
    if (h->credit < 1.0 || !replay(h, ep, c, 0))
        return 0;
    h->credit -= 1.0;
    h->st.h_calls++;
    h->st.takeovers++;
    ep->real = 1;
    replay(h, ep, c, 1);
    return 1;
}

/* 1 when H' has hardly seen a token of transcript tr in its role
 * (NOVEL_MIN); only while amplifying. */
static int novel(struct iamp_hprime *h, const struct iamp_question *tr)
{
    return h->training && tally(h, tr->tok, tr->len, 0);
}

/* H''s action for call c (its log-probability logp): a valid step or
 * answer, else the fallback; H's own where H' is in doubt and the budget
 * allows. */
static void take_action(struct iamp_hprime *h, struct iamp_h_call *c, const struct iamp_answer *act,
                        double logp)
{
    const struct iamp_task *b = &h->base;
    struct ep *ep = &h->eps[c->episode];
    int n = 0;
    int st = iamp_transcript_read(tt_of(h), act, c->asks, &n, &c->out);
    int ok = st == IAMP_EP_DONE && iamp_answer_valid(b, c->q, &c->out);
    if (st == IAMP_EP_ASK) {
        ok = b->max_asks <= 0 || c->n_asked + n <= b->max_asks;
        for (int k = 0; ok && k < n; k++) {
            struct iamp_question *q = &c->asks[k];
            q->ctx = c->q->ctx; /* the episode's facts: validity may depend on them */
            ok = q->type < b->n_types && q->len <= b->q_len && b->ops->valid_question(b, q);
        }
    }
    if ((!ok || logp < log(DOUBT_P) || novel(h, &ep->tr)) && doubt(h, ep, c))
        return;
    if (!ok) {
        fallback(h, c);
        return;
    }
    c->status = st;
    c->n_asks = st == IAMP_EP_ASK ? n : 0;
}

/* ------------------------------------------------------------ the batched ops */

static uint64_t hp_run_begin(const struct iamp_task *t)
{
    return ++hp_of(t)->next_run;
}

static void hp_run_end(const struct iamp_task *t, uint64_t run)
{
    (void)t, (void)run; /* episodes are marked with their run */
}

static int hp_batch(const struct iamp_task *t, uint64_t run, struct iamp_h_call *calls, int n)
{
    struct iamp_hprime *h = hp_of(t);
    const struct iamp_task *b = &h->base;
    int *need = malloc((size_t)(n ? n : 1) * sizeof(*need));
    int n_need = 0, rc = need ? 0 : IAMP_ENOMEM;
    for (int i = 0; !rc && i < n; i++) {
        struct iamp_h_call *c = &calls[i];
        if (c->kind != IAMP_H_STEP && b->ops->primitive(b, c->q, &c->out)) {
            c->status = IAMP_EP_DONE; /* a lookup: H's, and no H call */
            c->primitive = 1;
            continue;
        }
        if (c->kind == IAMP_H_PRIMITIVE) {
            c->status = 0;
            continue;
        }
        if ((rc = ep_reserve(h, c->episode)))
            break;
        struct ep *ep = &h->eps[c->episode];
        if (c->kind == IAMP_H_START) {
            memset(ep, 0, sizeof(*ep));
            ep->run = run;
            iamp_transcript_begin(tt_of(h), c->q, &ep->tr);
            if (h->training && h->credit >= 1.0 && !h->failing) {
                h->credit -= 1.0;
                ep->real = 1;
                ep->dest = h->st.h_calls % HELD_OUT_EVERY == 0 ? STEP_HELD_OUT : STEP_TRAIN;
                h->st.h_calls++;
                b->ops->episode_start(b, state_of(h, c->episode), c->q);
            } else {
                h->st.hprime_episodes++;
                h->round_eps += h->training;
            }
        } else {
            if (ep->run != run)
                rc = IAMP_ESTATE;
            else if (iamp_transcript_add(tt_of(h), &ep->tr, c->asked, c->answers, c->n_answers))
                ep->broken = 1;
            else if (!ep->real)
                remember(ep, c);
        }
        if (!rc && ep->real)
            rc = h_step(h, ep, c);
        else if (!rc && ep->broken) {
            if (!doubt(h, ep, c))
                fallback(h, c);
        } else if (!rc)
            need[n_need++] = i;
    }
    struct iamp_question *qs = NULL;
    struct iamp_answer *acts = NULL;
    double *logp = NULL;
    if (!rc && n_need) {
        qs = malloc((size_t)n_need * sizeof(*qs));
        acts = malloc((size_t)n_need * sizeof(*acts));
        logp = calloc((size_t)n_need, sizeof(*logp));
        rc = qs && acts && logp ? 0 : IAMP_ENOMEM;
        for (int k = 0; !rc && k < n_need; k++)
            qs[k] = h->eps[calls[need[k]].episode].tr;
        if (!rc)
            rc = iamp_session_answer(&h->hs, qs, n_need, acts);
        /* how sure H' is: only while amplifying (a doubt may call H) */
        if (!rc && h->training)
            rc = iamp_policy_logprob(&h->hs.model, tt_of(h), qs, acts, n_need, logp);
        for (int k = 0; !rc && k < n_need; k++)
            take_action(h, &calls[need[k]], &acts[k], logp[k]);
    }
    free(qs);
    free(acts);
    free(logp);
    free(need);
    return rc;
}

/* ------------------------------------------------------------ training H' */

static int hp_fit(struct iamp_hprime *h)
{
    int B = h->o.batch;
    if (h->train.n < B)
        return 0;
    struct iamp_example *ex = malloc((size_t)B * sizeof(*ex));
    int *order = malloc((size_t)B * sizeof(*order));
    int rc = ex && order ? 0 : IAMP_ENOMEM;
    for (int s = 0; !rc && s < h->o.steps; s++) {
        for (int k = 0; k < B; k++) {
            ex[k] = h->train.ex[iamp_rng_below(&h->rng, (uint32_t)h->train.n)];
            order[k] = k;
        }
        struct iamp_fit_req req = {.ex = ex,
                                   .n = B,
                                   .n_questions = B,
                                   .order = order,
                                   .n_order = B,
                                   .batch = B,
                                   .lr = h->o.lr};
        struct iamp_distill_stats ds;
        rc = iamp_session_fit(&h->hs, &req, &ds);
    }
    free(ex);
    free(order);
    return rc;
}

/* H' on the steps H took since the last round, before it trains on them
 * (the paper's asker loss on new transcripts): mean token loss, and how
 * often its greedy action is H's, for steps that ask and steps that
 * answer. A round without new steps keeps the last figures: H''s loss
 * rises again when H's episodes reach questions H' has not seen (a new
 * curriculum level), and with it the rate of H calls. */
static int hp_score(struct iamp_hprime *h)
{
    long n = h->fresh.n;
    h->fresh.n = h->fresh.next = 0;
    if (n == 0)
        return 0;
    struct iamp_question *qs = malloc((size_t)n * sizeof(*qs));
    struct iamp_answer *want = malloc((size_t)n * sizeof(*want));
    struct iamp_answer *got = malloc((size_t)n * sizeof(*got));
    double *logp = malloc((size_t)n * sizeof(*logp));
    int rc = qs && want && got && logp ? 0 : IAMP_ENOMEM;
    for (long k = 0; !rc && k < n; k++) {
        const struct iamp_example *e = &h->fresh.ex[k];
        qs[k] = e->q;
        want[k] = e->a;
    }
    if (!rc)
        rc = iamp_policy_logprob(&h->hs.model, tt_of(h), qs, want, (int)n, logp);
    if (!rc)
        rc = iamp_session_answer(&h->hs, qs, (int)n, got);
    if (!rc) {
        long asks = 0, ask_ok = 0, answers = 0, answer_ok = 0;
        for (long k = 0; k < n; k++) {
            h->win_nll[h->win_next] = -logp[k];
            h->win_tok[h->win_next] = want[k].len;
            h->win_next = (h->win_next + 1) % LOSS_WINDOW;
            if (h->win_n < LOSS_WINDOW)
                h->win_n++;
            int ok = iamp_answer_equal(&want[k], &got[k]);
            if (iamp_transcript_asks(tt_of(h), &want[k])) {
                asks++;
                ask_ok += ok;
            } else {
                answers++;
                answer_ok += ok;
            }
        }
        h->level_steps += n;
        double nll = 0;
        long toks = 0;
        for (long k = 0; k < h->win_n; k++) {
            nll += h->win_nll[k];
            toks += h->win_tok[k];
        }
        h->st.loss = toks ? nll / (double)toks : NAN;
        h->st.ask_accuracy = asks ? (double)ask_ok / (double)asks : NAN;
        h->st.answer_accuracy = answers ? (double)answer_ok / (double)answers : NAN;
    }
    free(qs);
    free(want);
    free(got);
    free(logp);
    return rc;
}

int iamp_hprime_round(struct iamp_hprime *h, long m_steps, int level)
{
    /* A new level: its questions are new to H', and H''s loss on the last
     * level's steps says nothing of them (at unionfind's level 1 every
     * subquestion's depth is 0, and H' never saw H add 1 to 1 or 2), so
     * H is called as at the start until H''s loss is known there. This
     * round's steps are still the old level's. */
    int changed = h->level && level != h->level;
    h->level = level;
    h->failing = h->round_doubted >= DOUBT_MIN &&
                 (double)h->round_doubted >= DOUBT_SHARE * (double)h->round_eps;
    h->round_eps = h->round_doubted = 0;
    double loss = h->st.loss;
    int known = !changed && h->level_steps >= LOSS_MIN_STEPS;
    double rate = (!known || h->failing || isnan(loss) || loss >= LEARNED_LOSS) ? 1.0
                  : loss >= 0.01                                                ? 0.1
                                                                                : 0.01;
    h->credit += rate * (double)m_steps;
    int rc = hp_score(h);
    if (changed)
        h->win_n = h->win_next = h->level_steps = 0;
    return rc ? rc : hp_fit(h);
}

void iamp_hprime_training(struct iamp_hprime *h, int on)
{
    h->training = on;
}

void iamp_hprime_get_stats(const struct iamp_hprime *h, struct iamp_hprime_stats *st)
{
    *st = h->st;
}

/* ------------------------------------------------------------ set up */

static void hp_release(struct iamp_hprime *h)
{
    iamp_session_close(&h->hs);
    free(h->eps);
    free(h->states);
    free(h->train.ex);
    free(h->held.ex);
    free(h->fresh.ex);
    free(h->seen);
    free(h);
}

int iamp_hprime_install(struct iamp_session *s, const struct iamp_hprime_opts *o,
                        struct iamp_hprime **out, char *err, size_t errlen)
{
    const struct iamp_task *t = &s->task;
    *out = NULL;
    if (t->ops->h_batch) {
        snprintf(err, errlen, "--overseer learned: task %s's H already runs elsewhere", t->spec);
        return IAMP_EINVAL;
    }
    if (o->batch < 1 || o->steps < 0 || o->buffer < 10 * HELD_OUT_EVERY || o->first < 0) {
        snprintf(err, errlen, "--overseer learned: bad H' settings");
        return IAMP_EINVAL;
    }
    struct iamp_hprime *h = calloc(1, sizeof(*h));
    if (!h)
        return IAMP_ENOMEM;
    h->o = *o;
    h->base = *t;
    h->st.loss = h->st.ask_accuracy = h->st.answer_accuracy = NAN;
    h->credit = (double)o->first;
    iamp_rng_seed(&h->rng, o->seed, 0x68707269 /* "hpri" */);
    struct iamp_task tt;
    int rc = iamp_transcript_task(&tt, &h->base, err, errlen);
    if (!rc) {
        struct iamp_model_opts mo = IAMP_MODEL_OPTS_DEFAULT;
        snprintf(mo.model, sizeof(mo.model), "%s", o->model);
        rc = iamp_session_open_task(&h->hs, &tt, &mo, o->lr, o->seed ^ 0x4850u, err, errlen);
    }
    if (!rc)
        rc = ring_init(&h->train, o->buffer);
    if (!rc)
        rc = ring_init(&h->held, o->buffer / HELD_OUT_EVERY);
    if (!rc)
        rc = ring_init(&h->fresh, HELD_OUT_SCORED);
    if (!rc) { /* MAIN_t, ASK_t for T types, SUBA (an answer's tokens are not checked) */
        h->n_roles = 2 * t->n_types + 1;
        h->seen = calloc((size_t)h->n_roles * (size_t)t->vocab, sizeof(*h->seen));
        rc = h->seen ? 0 : IAMP_ENOMEM;
    }
    if (rc) {
        if (rc == IAMP_ENOMEM)
            snprintf(err, errlen, "--overseer learned: out of memory");
        hp_release(h);
        return rc;
    }
    iamp_session_set_pool(&h->hs, s->pool);
    iamp_task_ops_batched(&h->ops, t->ops, hp_run_begin, hp_batch, hp_run_end);
    h->ops.destroy = NULL; /* iamp_hprime_free puts the task back first */
    s->task.ops = &h->ops;
    s->task.primitive_types = ~0u;
    s->task.overseer_here = 1;
    s->task.episode_size = 0;
    *out = h;
    return 0;
}

void iamp_hprime_free(struct iamp_hprime *h, struct iamp_session *s)
{
    if (!h)
        return;
    if (s && s->task.ops == &h->ops)
        s->task = h->base;
    hp_release(h);
}

const struct iamp_task *iamp_hprime_base(const struct iamp_hprime *h)
{
    return &h->base;
}

int iamp_hprime_ready(const struct iamp_hprime *h)
{
    if (h->failing) /* H' in doubt */
        return 0;
    if (isnan(h->st.loss)) /* no H' steps scored yet: only while H has not been called */
        return h->st.h_calls == 0;
    if (h->level_steps < LOSS_MIN_STEPS) /* its loss at this level not known yet */
        return 0;
    return h->st.loss < LEARNED_LOSS;
}
