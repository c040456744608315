/* pbconv.c — see pbconv_int.h. */
#include "proto/pbconv_int.h"

#include "common/error.h"

#include <string.h>

void iamp_pb_question_to(const struct iamp_question *q, const char *text, Iamp__Question *pb,
                         uint32_t *toks)
{
    iamp__question__init(pb);
    pb->has_type = 1;
    pb->type = q->type;
    pb->n_tokens = q->len;
    pb->tokens = toks;
    for (int k = 0; k < q->len; k++)
        toks[k] = q->tok[k];
    pb->text = text && text[0] ? (char *)text : NULL;
}

void iamp_pb_answer_to(const struct iamp_answer *a, const char *text, Iamp__Answer *pb,
                       uint32_t *toks)
{
    iamp__answer__init(pb);
    pb->n_tokens = a->len;
    pb->tokens = toks;
    for (int k = 0; k < a->len; k++)
        toks[k] = a->tok[k];
    pb->has_value = a->value != 0.0f;
    pb->value = a->value;
    pb->text = text && text[0] ? (char *)text : NULL;
}

static int tokens_from(const uint32_t *in, size_t n, size_t max, uint16_t *out)
{
    if (n > max)
        return IAMP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (in[i] > 0xffff)
            return IAMP_EINVAL;
        out[i] = (uint16_t)in[i];
    }
    return 0;
}

int iamp_pb_question_from(const Iamp__Question *pb, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    if (pb->type > 0xffff || tokens_from(pb->tokens, pb->n_tokens, IAMP_Q_MAX, q->tok))
        return IAMP_EINVAL;
    q->type = (uint16_t)pb->type;
    q->len = (uint16_t)pb->n_tokens;
    return 0;
}

int iamp_pb_answer_from(const Iamp__Answer *pb, struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    if (tokens_from(pb->tokens, pb->n_tokens, IAMP_A_MAX, a->tok))
        return IAMP_EINVAL;
    a->len = (uint16_t)pb->n_tokens;
    a->value = pb->has_value ? pb->value : 0.0f;
    return 0;
}
