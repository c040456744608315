/* hprime.h — a learned overseer H' in place of H (`iamp train --overseer
 * learned`), on a budget of H calls, as in the paper.
 *
 * H' is a model of the task's transcripts (tasks/transcript.h: the main
 * question, then each subquestion with its answer, then the answer),
 * trained to predict H's next action — the next subquestions, or the
 * answer — from the transcript so far. It does not read the facts:
 * questions H answers by lookup (its primitives) are still H's, and cost
 * no H call.
 *
 * iamp_hprime_install wraps a session's task as a batched overseer
 * (tasks/task.h's h_* ops): the engine's episodes go to H' — one forward
 * pass per engine pass for all of them — except, while the trainer is
 * amplifying (iamp_hprime_training), the first ones the budget allows,
 * which are H's own: each of them is an H call, and its transcript's steps
 * become H' training examples (one in ten held out, never trained on).
 * H''s loss is measured on H's new steps before it trains on them. The
 * budget, as in the paper's code: `first` calls at the start, then per
 * distillation step of M a rate by H''s held-out loss: 1 while it is
 * >= 0.1, 0.1 while >= 0.01, then 0.01. The loss is the mean over H's
 * newest 256 steps, each scored when new, and counts at a level once 128
 * of them are that level's: the rate is 1 until then, at the start and
 * whenever the curriculum moves on.
 *
 * H''s action is in doubt when it is invalid, or less likely than 1/2, or
 * its transcript holds a token, in its role (main question, subquestion,
 * subanswer), that H's training steps held fewer than 32 times (H' has
 * hardly seen the case, however sure it is). While amplifying, H takes a
 * doubtful episode over when the budget allows (its own episode,
 * replaying the subquestions H' had asked while they are what H asks):
 * an H call whose steps H' trains on but is not scored on (they are the
 * cases it doubted, not a random sample). A round in which at least 1/100
 * of H''s episodes, and at least 3, were in doubt puts the rate at 1 for
 * the next, spent on take-overs alone. iamp_hprime_round takes H''s Adam
 * steps of a round and refreshes its held-out figures.
 *
 * An action of H' that does not read back (tasks/transcript.h) or does not
 * make valid subquestions for the task or a valid answer counts as
 * invalid; unless H takes the episode over, it answers the first answer
 * of the question's answer space (a wrong target, as any error of H' is).
 *
 * Deterministic: which episodes are H's is fixed by the order the engine
 * asks them in and the budget, H''s answers are greedy, its minibatches
 * are drawn from its own stream. The state lives in this process (the
 * task's overseer_here): under mpirun, rank 0 runs every episode in the
 * order one process does and ships only M's leaves (worker/cluster.c), so
 * N ranks give N = 1's run.
 */
#ifndef IAMP_HPRIME_H
#define IAMP_HPRIME_H

#include "worker/session.h"

struct iamp_hprime_opts {
    long first;      /* H calls before the rate applies (paper: 500) */
    char model[128]; /* H''s model spec (default 1+1 layers, d=32: the d=64 one with 2
                      * decoder layers made IA rounds about 5x slower; this one learns
                      * permpow's H, held-out ask and answer accuracy 1.00 in 100 rounds) */
    float lr;
    int batch;   /* transcript examples per H' step */
    int steps;   /* H' steps per round */
    long buffer; /* examples kept, newest (paper: 100000 transcripts) */
    uint64_t seed;
};

#define IAMP_HPRIME_OPTS_DEFAULT                                                                   \
    {                                                                                              \
        500, "transformer:d=32,heads=2,enc=1,dec=1,pointer=0", 1e-3f, 64, 8, 200000, 1             \
    }

struct iamp_hprime_stats {
    long h_calls;           /* H's episodes so far (H calls) */
    long hprime_episodes;   /* H''s episodes so far (training and evaluation) */
    long invalid;           /* of them, actions that were not valid */
    long doubted;           /* of them while amplifying, episodes H' was in doubt at a step */
    long takeovers;         /* of the H calls, episodes H took over from a doubtful H' */
    long examples;          /* transcript steps seen (training + held out) */
    double loss;            /* held-out mean token loss (NAN: none yet) */
    double ask_accuracy;    /* held-out steps that ask: H''s action is H's */
    double answer_accuracy; /* held-out steps that answer: H''s action is H's */
};

struct iamp_hprime;

/* Wrap s's task (its ops and state are kept inside and restored by
 * iamp_hprime_free). err gets a one-line reason. */
IAMP_WUR int iamp_hprime_install(struct iamp_session *s, const struct iamp_hprime_opts *o,
                                 struct iamp_hprime **out, char *err, size_t errlen);
/* Put s's task back and free everything. */
void iamp_hprime_free(struct iamp_hprime *h, struct iamp_session *s);

/* 1 while the trainer amplifies a round's questions (H may be called). */
void iamp_hprime_training(struct iamp_hprime *h, int on);
/* After a round with m_steps distillation steps of M, the next round's
 * questions at curriculum level `level`: the budget grows, H' takes its
 * steps, the held-out figures are refreshed. A level other than the last
 * round's puts the rate back at 1 until H''s loss is measured on H's steps
 * there. */
IAMP_WUR int iamp_hprime_round(struct iamp_hprime *h, long m_steps, int level);
void iamp_hprime_get_stats(const struct iamp_hprime *h, struct iamp_hprime_stats *st);
/* 1 while H''s loss on H's new steps at this level is known and below
 * 0.1 (the rate falls from 1) and the last round's doubts were under
 * 1/100, or H has not been called yet (every question so far a lookup):
 * otherwise H''s answers are mostly wrong, and M agreeing with them (both
 * start at the fallback answers) must not move the curriculum on. */
int iamp_hprime_ready(const struct iamp_hprime *h);
/* The task as it was before H' took H's place (H's own episodes): what
 * the evaluation's decomposition depths are measured with. */
const struct iamp_task *iamp_hprime_base(const struct iamp_hprime *h);

#endif
