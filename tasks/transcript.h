/* transcript.h — H's episodes of a task as the questions and answers of
 * another: what a learned overseer H' learns (worker/hprime.h).
 *
 * An episode's transcript so far is a question of the transcript task:
 * MAIN_t and the main question's tokens, then for every subquestion H has
 * asked and got answered ASK_t, its tokens, SUBA and the answer's tokens
 * (the paper's transcript: main question, (subquestion, subanswer) pairs).
 * The answer is H's next action: ASK_t and the tokens of each question of
 * the next step, then END; or ANSWER, the main answer's tokens, END. No
 * facts: H' does not read them (a question H answers by lookup is a
 * primitive the engine still asks H).
 *
 * Token ids: the base task's [0, V), then MAIN_t (V + t), ASK_t (V + T +
 * t), SUBA (V + 2T), ANSWER (V + 2T + 1), END (V + 2T + 2) for T question
 * types. A transcript is at most IAMP_Q_MAX tokens; iamp_transcript_task
 * refuses a base task whose episodes may not fit, or whose answers are
 * continuous values (H' writes tokens).
 *
 * The transcript task is not in the task table: it has no sampler, no H
 * and no ground truth; its questions come from H's episodes.
 */
#ifndef IAMP_TRANSCRIPT_H
#define IAMP_TRANSCRIPT_H

#include "tasks/task.h"

/* The transcript task of base (borrowed: it must outlive the result). 0,
 * or IAMP_EINVAL with a one-line reason. Release with iamp_task_destroy. */
IAMP_WUR int iamp_transcript_task(struct iamp_task *out, const struct iamp_task *base, char *err,
                                  size_t errlen);

/* A transcript holding the main question q alone. */
void iamp_transcript_begin(const struct iamp_task *tt, const struct iamp_question *q,
                           struct iamp_question *tr);
/* Append subquestions asked[0, n) with their answers. IAMP_ELIMIT (tr
 * unchanged) when the transcript would not fit. */
IAMP_WUR int iamp_transcript_add(const struct iamp_task *tt, struct iamp_question *tr,
                                 const struct iamp_question *asked,
                                 const struct iamp_answer *answers, int n);
/* H's action as an answer of the transcript task: a step asking asks[0,
 * n), or (n = 0) the main answer a. IAMP_ELIMIT when it does not fit. */
IAMP_WUR int iamp_transcript_action(const struct iamp_task *tt, const struct iamp_question *asks,
                                    int n, const struct iamp_answer *a, struct iamp_answer *act);
/* Read an action back: IAMP_EP_ASK with asks[0, *n) (at most IAMP_ASK_MAX;
 * ctx NULL, not yet checked against the base task), IAMP_EP_DONE with
 * *a, or 0 when act is not one. */
int iamp_transcript_read(const struct iamp_task *tt, const struct iamp_answer *act,
                         struct iamp_question *asks, int *n, struct iamp_answer *a);
/* 1 when action act asks (0: it answers). */
int iamp_transcript_asks(const struct iamp_task *tt, const struct iamp_answer *act);

#endif
