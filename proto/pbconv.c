/* pbconv.c — see pbconv_int.h. */
#include "proto/pbconv_int.h"

#include "common/error.h"

#include <stdlib.h>
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

void iamp_pb_contexts_init(struct iamp_pb_contexts *c)
{
    memset(c, 0, sizeof(*c));
}

void iamp_pb_contexts_release(struct iamp_pb_contexts *c)
{
    free(c->seen);
    free(c->pb);
    free(c->ptr);
    free(c->toks);
    iamp_pb_contexts_init(c);
}

int iamp_pb_contexts_add(struct iamp_pb_contexts *c, const struct iamp_context *ctx,
                         Iamp__Question *pb)
{
    if (!ctx)
        return 0;
    int i = c->n - 1; /* a tree's questions come together: look back from the last */
    while (i >= 0 && c->seen[i] != ctx)
        i--;
    if (i < 0) {
        if (c->n == c->cap) {
            int cap = c->cap ? 2 * c->cap : 16;
            const struct iamp_context **s = realloc(c->seen, (size_t)cap * sizeof(*s));
            if (!s)
                return IAMP_ENOMEM;
            c->seen = s;
            c->cap = cap;
        }
        i = c->n;
        c->seen[c->n++] = ctx;
    }
    pb->has_context = 1;
    pb->context = (uint32_t)i;
    return 0;
}

int iamp_pb_contexts_finish(struct iamp_pb_contexts *c)
{
    size_t n = (size_t)c->n, per = (size_t)IAMP_FACTS_MAX * IAMP_FACT_LEN;
    c->pb = calloc(n ? n : 1, sizeof(*c->pb));
    c->ptr = calloc(n ? n : 1, sizeof(*c->ptr));
    c->toks = calloc(n * per + 1, sizeof(uint32_t));
    if (!c->pb || !c->ptr || !c->toks)
        return IAMP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        iamp_pb_context_to(c->seen[i], &c->pb[i], c->toks + i * per);
        c->ptr[i] = &c->pb[i];
    }
    return 0;
}

void iamp_pb_context_to(const struct iamp_context *c, Iamp__Context *pb, uint32_t *toks)
{
    iamp__context__init(pb);
    pb->has_fact_len = 1;
    pb->fact_len = c->fact_len;
    pb->n_tokens = (size_t)c->n_facts * c->fact_len;
    pb->tokens = toks;
    for (int f = 0; f < c->n_facts; f++)
        for (int j = 0; j < c->fact_len; j++)
            *toks++ = c->tok[f][j];
}

int iamp_pb_contexts_from(Iamp__Context *const *pb, size_t n, struct iamp_context **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    struct iamp_context *c = calloc(n, sizeof(*c));
    if (!c)
        return IAMP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        uint32_t len = pb[i]->fact_len;
        size_t nt = pb[i]->n_tokens;
        if (len < 1 || len > IAMP_FACT_LEN || nt % len || nt / len > IAMP_FACTS_MAX) {
            free(c);
            return IAMP_EINVAL;
        }
        c[i].fact_len = (uint16_t)len;
        c[i].n_facts = (uint16_t)(nt / len);
        for (size_t k = 0; k < nt; k++) {
            if (pb[i]->tokens[k] > 0xffff) {
                free(c);
                return IAMP_EINVAL;
            }
            c[i].tok[k / len][k % len] = (uint16_t)pb[i]->tokens[k];
        }
    }
    *out = c;
    return 0;
}

int iamp_pb_question_context(const Iamp__Question *pb, const struct iamp_context *ctx, size_t n,
                             struct iamp_question *q)
{
    q->ctx = NULL;
    if (!pb->has_context)
        return 0;
    if (pb->context >= n)
        return IAMP_EINVAL;
    q->ctx = &ctx[pb->context];
    return 0;
}
