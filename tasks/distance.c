/* distance.c — see distance.h. */
#include "tasks/distance.h"

#include <stdio.h>
#include <string.h>

int iamp_dist_of(int n, int dmax, const struct iamp_answer *a)
{
    int d = a->len == 1 ? (int)a->tok[0] - n - 1 : -1;
    return d >= 0 && d <= dmax ? d : -1;
}

void iamp_dist_question(int type, int a, int b, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    q->type = (uint16_t)type;
    q->len = 2;
    q->tok[0] = (uint16_t)a;
    q->tok[1] = (uint16_t)b;
}

int iamp_dist_parse(int n, const char *text, struct iamp_question *q, char *err, size_t errlen)
{
    static const char *const words[] = {"dist", "step"}, *const keys[] = {"a", "b"};
    const char *rest = NULL;
    long v[2];
    int ty = iamp_question_type_word(text, words, 2, &rest);
    if (ty < 0 || iamp_question_words(rest, keys, v, 2)) {
        snprintf(err, errlen,
                 "question '%s' is not of the form 'dist a=<0..%d> b=<0..%d>' or 'step a=... "
                 "b=...'",
                 text, n - 1, n - 1);
        return IAMP_EPARSE;
    }
    if (v[0] >= n || v[1] >= n) {
        snprintf(err, errlen, "question '%s': a and b must be in [0, %d]", text, n - 1);
        return IAMP_ERANGE;
    }
    iamp_dist_question(ty, (int)v[0], (int)v[1], q);
    return 0;
}

void iamp_dist_format_question(const struct iamp_question *q, char *buf, size_t len)
{
    snprintf(buf, len, "%s a=%d b=%d", q->type == IAMP_DIST_TYPE_STEP ? "step" : "dist", q->tok[0],
             q->tok[1]);
}

void iamp_dist_format_answer(int n, int dmax, const struct iamp_question *q,
                             const struct iamp_answer *a, char *buf, size_t len)
{
    int tok = a->len == 1 ? a->tok[0] : -1, d = iamp_dist_of(n, dmax, a);
    if (q->type == IAMP_DIST_TYPE_STEP && tok >= 0 && tok < n)
        snprintf(buf, len, "%d", tok);
    else if (q->type == IAMP_DIST_TYPE_STEP)
        snprintf(buf, len, "none");
    else if (d >= 0)
        snprintf(buf, len, "%d", d);
    else
        snprintf(buf, len, "unreachable");
}

void iamp_dist_answer_space(int n, int dmax, const struct iamp_question *q,
                            struct iamp_answer_space *s)
{
    s->lo = q->type == IAMP_DIST_TYPE_STEP ? 0 : (uint16_t)(n + 1);
    s->hi = q->type == IAMP_DIST_TYPE_STEP ? (uint16_t)(n + 1) : (uint16_t)(n + dmax + 3);
    s->max_len = 1;
    s->end_tok = -1;
}
