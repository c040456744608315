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
int iamp_pb_answer_from(const Iamp__Answer *pb, struct iamp_answer *a);

#endif
