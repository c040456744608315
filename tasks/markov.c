/* markov.c — continuous answers: transition probabilities of a Markov
 * chain after k steps.
 *
 * A random chain on s states is fixed by the task seed: each state has
 * `succ` distinct successors (itself possibly among them) with random
 * probabilities. The question "prob u=U t=T k=K" asks for the probability
 * that the chain started in U is in T after K steps, K in [1, kmax]; the
 * answer is a value in [0, 1] (answer.value, no tokens).
 *
 * H knows the transition matrix P itself: K = 1 by lookup (primitive).
 * Even K: it asks a_v = P^(K/2)(U, v) for every state v, then b_v =
 * P^(K/2)(v, T), and answers sum_v a_v b_v / sum_v a_v. The division
 * (by 1 with a perfect oracle: a is a whole row of a stochastic matrix) is
 * H's own check on M: without it an error e in the sum of M's row becomes
 * about 2e at K, 4e at 2K, ... — every squaring doubles it, and at K = 32
 * the answers wandered by several hundredths from round to round. Odd K:
 * it asks b_v = P^(K-1)(v, T) for each successor v of U and answers
 * sum_v P(U, v) b_v. Subanswers are clamped to [0, 1], and so is the
 * answer.
 *
 * Checker: P^K by matrix powers in double precision, tabulated at create.
 * An answer is correct within 0.01; the metric mae is the absolute error.
 * Approval by comparison (task.h): 1 - |X - amplified answer|, the
 * absolute-error counterpart of the checker (a proper scoring rule would
 * need the judged answer to be a distribution, and X is a point).
 * Agreement for the curriculum: within 0.02 of the target (0.01 held the
 * curriculum at K <= 4 for 300 rounds while M was already that close).
 *
 * Tokens: state v is token v (0..s-1), K is token s + K - 1. Difficulty d
 * covers K <= 2^d: an even K asks K/2, an odd K asks K - 1 (even, at the
 * same level, so within a level the even powers are learned first).
 */
#include "tasks/task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARKOV_STATES_MAX 16  /* so that one step's asks fit IAMP_ASK_MAX */
#define MARKOV_TOLERANCE 0.01 /* the checker: an answer is correct within it */
#define MARKOV_AGREE 0.02     /* the curriculum: M agrees with its target within it */

struct markov {
    int s, succ, kmax;
    double *pw; /* (kmax + 1, s, s): pw[k] = P^k; pw[1] = P */
};

struct markov_episode {
    uint16_t u, t, k, phase;
    float a[MARKOV_STATES_MAX]; /* even K: P^(K/2)(U, v) from the first step */
};

static const struct markov *state_of(const struct iamp_task *t)
{
    return t->state;
}

static double p_at(const struct markov *m, int k, int u, int v)
{
    return m->pw[((size_t)k * m->s + u) * m->s + v];
}

static int k_of(const struct markov *m, const struct iamp_question *q)
{
    return (int)q->tok[2] - m->s + 1;
}

static void make_question(const struct markov *m, int u, int t, int k, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    q->len = 3;
    q->tok[0] = (uint16_t)u;
    q->tok[1] = (uint16_t)t;
    q->tok[2] = (uint16_t)(m->s + k - 1);
}

static void make_answer(double v, struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->value = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
}

/* Row u of P: `succ` distinct successors, weights uniform in [0.1, 1). */
static void random_row(struct markov *m, int u, struct iamp_rng *r)
{
    int order[MARKOV_STATES_MAX];
    double *row = m->pw + ((size_t)1 * m->s + u) * m->s, sum = 0.0;
    for (int v = 0; v < m->s; v++)
        order[v] = v;
    iamp_rng_shuffle(r, order, m->s);
    for (int j = 0; j < m->succ; j++) {
        row[order[j]] = 0.1 + 0.9 * iamp_rng_uniform(r);
        sum += row[order[j]];
    }
    for (int v = 0; v < m->s; v++)
        row[v] /= sum;
}

static void tabulate_powers(struct markov *m)
{
    int s = m->s;
    for (int u = 0; u < s; u++)
        m->pw[(size_t)u * s + u] = 1.0; /* P^0 = I */
    for (int k = 2; k <= m->kmax; k++)
        for (int u = 0; u < s; u++)
            for (int v = 0; v < s; v++) {
                double x = 0.0;
                for (int w = 0; w < s; w++)
                    x += p_at(m, k - 1, u, w) * p_at(m, 1, w, v);
                m->pw[((size_t)k * s + u) * s + v] = x;
            }
}

static int levels_for(int kmax)
{
    int d = 1;
    while ((1 << d) < kmax)
        d++;
    return d;
}

static int parse_params(const struct iamp_spec *spec, long *v, char *err, size_t errlen)
{
    static const char *const keys[] = {"s", "seed", "succ", "kmax", NULL};
    int rc = iamp_spec_check_keys(spec, keys, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "s", 8, 2, MARKOV_STATES_MAX, &v[0], err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "seed", 1, 0, 2147483647L, &v[1], err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "succ", v[0] < 3 ? v[0] : 3, 1, v[0], &v[2], err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "kmax", 32, 1, 64, &v[3], err, errlen);
    return rc;
}

static int markov_create(struct iamp_task *t, const struct iamp_spec *spec, char *err,
                         size_t errlen)
{
    long v[4];
    int rc = parse_params(spec, v, err, errlen);
    if (rc)
        return rc;
    struct markov *m = calloc(1, sizeof(*m));
    if (m)
        m->pw = calloc((size_t)(v[3] + 1) * (size_t)(v[0] * v[0]), sizeof(double));
    if (!m || !m->pw) {
        free(m);
        snprintf(err, errlen, "out of memory");
        return IAMP_ENOMEM;
    }
    m->s = (int)v[0];
    m->succ = (int)v[2];
    m->kmax = (int)v[3];
    struct iamp_rng r;
    iamp_rng_seed(&r, (uint64_t)v[1], 0x6d61726b /* "mark" */);
    for (int u = 0; u < m->s; u++)
        random_row(m, u, &r);
    tabulate_powers(m);
    t->state = m;
    snprintf(t->spec, sizeof(t->spec), "markov:s=%ld,seed=%ld,succ=%ld,kmax=%ld", v[0], v[1], v[2],
             v[3]);
    t->vocab = m->s + m->kmax;
    t->q_len = 3;
    t->a_len = 1;
    t->n_types = 1;
    t->type_names[0] = "prob";
    t->max_difficulty = levels_for(m->kmax);
    t->episode_size = sizeof(struct markov_episode);
    t->max_asks = 2 * m->s;
    t->headline_type = 0;
    t->approvable = 1u; /* by comparison */
    t->continuous = 1u;
    t->eval_size = 32 * m->kmax;
    t->n_metrics = 1;
    t->metric_names[0] = "mae";
    return 0;
}

static void markov_destroy(struct iamp_task *t)
{
    struct markov *m = t->state;
    if (m)
        free(m->pw);
    free(m);
}

static void markov_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                          struct iamp_question *q)
{
    const struct markov *m = state_of(t);
    difficulty = difficulty < 1                   ? 1
                 : difficulty > t->max_difficulty ? t->max_difficulty
                                                  : difficulty;
    int hi = 1 << difficulty;
    hi = hi > m->kmax ? m->kmax : hi;
    /* As permpow: half pick a level's band of K uniformly, half pick K. */
    int k;
    if (iamp_rng_below(r, 2) == 0) {
        int lv = 1 + (int)iamp_rng_below(r, (uint32_t)difficulty);
        int bhi = 1 << lv, blo = lv == 1 ? 1 : (1 << (lv - 1)) + 1;
        bhi = bhi > hi ? hi : bhi;
        blo = blo > bhi ? bhi : blo;
        k = blo + (int)iamp_rng_below(r, (uint32_t)(bhi - blo + 1));
    } else {
        k = 1 + (int)iamp_rng_below(r, (uint32_t)hi);
    }
    int u = (int)iamp_rng_below(r, (uint32_t)m->s);
    make_question(m, u, (int)iamp_rng_below(r, (uint32_t)m->s), k, q);
}

/* Per K, distinct (U, T) pairs. */
static int markov_eval_set(const struct iamp_task *t, struct iamp_rng *r, struct iamp_question *qs,
                           int max)
{
    const struct markov *m = state_of(t);
    int pairs = m->s * m->s, per_k = max / m->kmax, count = 0;
    per_k = per_k < 1 ? 1 : per_k > pairs ? pairs : per_k;
    int *ps = malloc((size_t)pairs * sizeof(int));
    if (!ps)
        return 0;
    for (int k = 1; k <= m->kmax && count < max; k++) {
        for (int i = 0; i < pairs; i++)
            ps[i] = i;
        iamp_rng_shuffle(r, ps, pairs);
        for (int j = 0; j < per_k && count < max; j++)
            make_question(m, ps[j] / m->s, ps[j] % m->s, k, &qs[count++]);
    }
    free(ps);
    return count;
}

static int markov_parse(const struct iamp_task *t, const char *text, struct iamp_question *q,
                        char *err, size_t errlen)
{
    static const char *const words[] = {"prob"}, *const keys[] = {"u", "t", "k"};
    const struct markov *m = state_of(t);
    const char *rest = NULL;
    long v[3];
    if (iamp_question_type_word(text, words, 1, &rest) < 0 ||
        iamp_question_words(rest, keys, v, 3)) {
        snprintf(err, errlen,
                 "question '%s' is not of the form 'prob u=<0..%d> t=<0..%d> k=<1..%d>'", text,
                 m->s - 1, m->s - 1, m->kmax);
        return IAMP_EPARSE;
    }
    if (v[0] >= m->s || v[1] >= m->s || v[2] < 1 || v[2] > m->kmax) {
        snprintf(err, errlen, "question '%s': u and t must be in [0, %d] and k in [1, %d]", text,
                 m->s - 1, m->kmax);
        return IAMP_ERANGE;
    }
    make_question(m, (int)v[0], (int)v[1], (int)v[2], q);
    return 0;
}

static void markov_format_question(const struct iamp_task *t, const struct iamp_question *q,
                                   char *buf, size_t len)
{
    snprintf(buf, len, "prob u=%d t=%d k=%d", q->tok[0], q->tok[1], k_of(state_of(t), q));
}

static void markov_format_answer(const struct iamp_task *t, const struct iamp_question *q,
                                 const struct iamp_answer *a, char *buf, size_t len)
{
    (void)t;
    (void)q;
    snprintf(buf, len, "%.4f", a->value);
}

static void markov_answer_space(const struct iamp_task *t, const struct iamp_question *q,
                                struct iamp_answer_space *s)
{
    (void)t;
    (void)q;
    *s = (struct iamp_answer_space){0, 0, 0, -1}; /* continuous */
}

static int markov_valid(const struct iamp_task *t, const struct iamp_question *q)
{
    const struct markov *m = state_of(t);
    int k = k_of(m, q);
    return q->type == 0 && q->len == 3 && q->tok[0] < m->s && q->tok[1] < m->s && k >= 1 &&
           k <= m->kmax;
}

static int markov_primitive(const struct iamp_task *t, const struct iamp_question *q,
                            struct iamp_answer *a)
{
    const struct markov *m = state_of(t);
    if (k_of(m, q) != 1)
        return 0;
    make_answer(p_at(m, 1, q->tok[0], q->tok[1]), a);
    return 1;
}

static void markov_episode_start(const struct iamp_task *t, void *ep, const struct iamp_question *q)
{
    struct markov_episode *e = ep;
    memset(e, 0, sizeof(*e));
    e->u = q->tok[0];
    e->t = q->tok[1];
    e->k = (uint16_t)k_of(state_of(t), q);
}

/* A subanswer as a probability (M's are in [0, 1] already). */
static double prob_of(const struct iamp_answer *answers, int n, int i)
{
    double v = i < n ? answers[i].value : 0.0;
    return v > 0.0 ? (v < 1.0 ? v : 1.0) : 0.0;
}

/* Odd K: one step over U's successors. */
static int odd_step(const struct markov *m, struct markov_episode *e,
                    const struct iamp_answer *answers, int n_answers, struct iamp_question *asks,
                    int *n_asks, struct iamp_answer *out)
{
    double sum = 0.0;
    int j = 0;
    for (int v = 0; v < m->s; v++) {
        if (p_at(m, 1, e->u, v) == 0.0)
            continue;
        if (e->phase == 0)
            make_question(m, v, e->t, e->k - 1, &asks[j]);
        else
            sum += p_at(m, 1, e->u, v) * prob_of(answers, n_answers, j);
        j++;
    }
    if (e->phase++ == 0) {
        *n_asks = j;
        return IAMP_EP_ASK;
    }
    make_answer(sum, out);
    return IAMP_EP_DONE;
}

static int markov_episode_step(const struct iamp_task *t, void *ep,
                               const struct iamp_answer *answers, int n_answers,
                               struct iamp_question *asks, int *n_asks, struct iamp_answer *out)
{
    const struct markov *m = state_of(t);
    struct markov_episode *e = ep;
    *n_asks = 0;
    if (e->k == 1) {
        make_answer(p_at(m, 1, e->u, e->t), out);
        return IAMP_EP_DONE;
    }
    if (e->k % 2)
        return odd_step(m, e, answers, n_answers, asks, n_asks, out);
    int h = e->k / 2;
    if (e->phase == 2) {
        double sum = 0.0, row = 0.0;
        for (int v = 0; v < m->s; v++)
            row += e->a[v];
        for (int v = 0; v < m->s; v++)
            sum += e->a[v] * prob_of(answers, n_answers, v);
        make_answer(row > 0.0 ? sum / row : 0.0, out);
        return IAMP_EP_DONE;
    }
    for (int v = 0; v < m->s; v++) {
        if (e->phase == 0) {
            make_question(m, e->u, v, h, &asks[v]);
        } else {
            e->a[v] = (float)prob_of(answers, n_answers, v);
            make_question(m, v, e->t, h, &asks[v]);
        }
    }
    e->phase++;
    *n_asks = m->s;
    return IAMP_EP_ASK;
}

static void markov_truth(const struct iamp_task *t, const struct iamp_question *q,
                         struct iamp_answer *a)
{
    const struct markov *m = state_of(t);
    make_answer(p_at(m, k_of(m, q), q->tok[0], q->tok[1]), a);
}

static double abs_error(const struct iamp_task *t, const struct iamp_question *q,
                        const struct iamp_answer *a)
{
    const struct markov *m = state_of(t);
    double e = fabs((double)a->value - p_at(m, k_of(m, q), q->tok[0], q->tok[1]));
    return a->len == 0 && isfinite(e) ? e : 1.0;
}

static int markov_correct(const struct iamp_task *t, const struct iamp_question *q,
                          const struct iamp_answer *a)
{
    return abs_error(t, q, a) <= MARKOV_TOLERANCE;
}

static void markov_metrics(const struct iamp_task *t, const struct iamp_question *q,
                           const struct iamp_answer *a, double *out)
{
    out[0] = abs_error(t, q, a);
}

static double markov_compare(const struct iamp_task *t, const struct iamp_question *q,
                             const struct iamp_answer *a, const struct iamp_answer *amp)
{
    (void)t;
    (void)q;
    return 1.0 - fabs((double)a->value - (double)amp->value);
}

static int markov_agree(const struct iamp_task *t, const struct iamp_question *q,
                        const struct iamp_answer *a, const struct iamp_answer *b)
{
    (void)t;
    (void)q;
    return fabs((double)a->value - (double)b->value) <= MARKOV_AGREE;
}

const struct iamp_task_ops iamp_markov_ops = {
    .name = "markov",
    .summary = "continuous answers: prob u=U t=T k=K asks P(chain in T after K steps from U)",
    .params = "s=8 (2..16) states, seed=1 chain seed, succ=3 (1..s) successors per state, "
              "kmax=32 (1..64)",
    .create = markov_create,
    .destroy = markov_destroy,
    .sample = markov_sample,
    .eval_set = markov_eval_set,
    .parse_question = markov_parse,
    .format_question = markov_format_question,
    .format_answer = markov_format_answer,
    .answer_space = markov_answer_space,
    .valid_question = markov_valid,
    .primitive = markov_primitive,
    .episode_start = markov_episode_start,
    .episode_step = markov_episode_step,
    .truth = markov_truth,
    .correct = markov_correct,
    .approval_compare = markov_compare,
    .agree = markov_agree,
    .metrics = markov_metrics,
};
