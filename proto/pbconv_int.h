/* pbconv_int.h — private to proto/: the question and answer conversions
 * that codec.c, wire.c and records.c share. Token arrays are caller-provided
 * (IAMP_Q_MAX / IAMP_A_MAX entries) so no allocation happens here;
 * *_from_pb validate and return IAMP_EINVAL on out-of-range fields. */
#ifndef IAMP_PBCONV_INT_H
#define IAMP_PBCONV_INT_H

#include "common/types.h"
#include "iamp.pb-c.h"

void iamp_pb_question_to(const struct iamp_question *q, const char *text, Iamp__Question *pb,
                         uint32_t *toks);
void iamp_pb_answer_to(const struct iamp_answer *a, const char *text, Iamp__Answer *pb,
                       uint32_t *toks);
int iamp_pb_question_from(const Iamp__Question *pb, struct iamp_question *q);

/* One context into pb; toks holds IAMP_FACTS_MAX * IAMP_FACT_LEN entries. */
void iamp_pb_context_to(const struct iamp_context *c, Iamp__Context *pb, uint32_t *toks);

/* The contexts a message's questions point at, each once: add() each
 * question's pointer (it sets the question's context index), then finish()
 * gives the message's list. Release after packing. */
struct iamp_pb_contexts {
    const struct iamp_context **seen; /* (n) in first-seen order */
    int n, cap;
    Iamp__Context *pb, **ptr; /* (n) after finish */
    uint32_t *toks;
};

void iamp_pb_contexts_init(struct iamp_pb_contexts *c);
void iamp_pb_contexts_release(struct iamp_pb_contexts *c);
/* Sets pb->context to c's index of ctx (nothing for NULL). */
int iamp_pb_contexts_add(struct iamp_pb_contexts *c, const struct iamp_context *ctx,
                         Iamp__Question *pb);
int iamp_pb_contexts_finish(struct iamp_pb_contexts *c);
/* A message's contexts into a new array (*out, free(); NULL when none);
 * IAMP_EINVAL when one is malformed (more than IAMP_FACTS_MAX facts, a
 * fact_len outside 1..IAMP_FACT_LEN, tokens not a whole number of facts). */
int iamp_pb_contexts_from(Iamp__Context *const *pb, size_t n, struct iamp_context **out);
/* Point q at its context: pb->context indexes ctx[0..n) (IAMP_EINVAL past it). */
int iamp_pb_question_context(const Iamp__Question *pb, const struct iamp_context *ctx, size_t n,
                             struct iamp_question *q);
int iamp_pb_answer_from(const Iamp__Answer *pb, struct iamp_answer *a);

#endif
