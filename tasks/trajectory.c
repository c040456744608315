/* trajectory.c — answers of any length: the orbit of an element under
 * permpow's permutation.
 *
 * The world is permpow's: a permutation sigma of n elements fixed by the
 * task seed (the same sigma as permpow with the same n and seed). The
 * question "traj x=X l=L" asks for the list sigma(X), sigma^2(X), ...,
 * sigma^L(X), L in [1, lmax]; the answer is those L element tokens and an
 * END token. M emits it one token at a time until END or the cap (`cap`
 * answer tokens, END included; default lmax + 1).
 *
 * H: L = 1 by lookup (primitive). Otherwise it asks for the first
 * ceil(L/2) elements, then for the next floor(L/2) starting from the last
 * of them, and concatenates the two lists. A subanswer that is too short
 * (END early, or cut at the cap) is read with element 0 for what is
 * missing; H's own answer always has exactly L elements and END.
 *
 * Checker: exact match (`accuracy`) and per-token accuracy (the metric
 * token_accuracy: of max(L, elements answered) positions, the share whose
 * element is right). Approval by comparison (task.h): the share of
 * positions of answer X that agree with the amplified answer to the same
 * question, over max(|X|, |amplified|) positions.
 *
 * Tokens: element e is token e (0..n-1), END is n, the length L is token
 * n + L. Difficulty d covers L <= 2^(d-1): a depth-1 amplification of a
 * level-d question asks only level d-1 questions.
 */
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct trajectory {
    int n;      /* elements */
    int lmax;   /* longest list asked */
    int cap;    /* answer tokens at most, END included */
    int *sigma; /* (n) the permutation */
};

struct traj_episode {
    uint16_t x, l;              /* the question */
    uint16_t phase;             /* 0: ask the first half; 1: ask the second; 2: done */
    uint16_t first[IAMP_A_MAX]; /* the first ceil(L/2) elements, once known */
};

static const struct trajectory *state_of(const struct iamp_task *t)
{
    return t->state;
}

static int end_token(const struct trajectory *p)
{
    return p->n;
}

static int len_of(const struct trajectory *p, const struct iamp_question *q)
{
    return (int)q->tok[1] - p->n;
}

static void make_question(const struct trajectory *p, int x, int l, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    q->len = 2;
    q->tok[0] = (uint16_t)x;
    q->tok[1] = (uint16_t)(p->n + l);
}

/* The elements of a (tokens before END, or all when cut at the cap). */
static int elements_in(const struct trajectory *p, const struct iamp_answer *a)
{
    int k = 0;
    while (k < a->len && a->tok[k] != end_token(p))
        k++;
    return k;
}

/* An answer of the elements el[0..l) and END. */
static void make_answer(const struct trajectory *p, const uint16_t *el, int l,
                        struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    memcpy(a->tok, el, (size_t)l * sizeof(uint16_t));
    a->tok[l] = (uint16_t)end_token(p);
    a->len = (uint16_t)(l + 1);
}

static int levels_for(int lmax)
{
    int d = 1;
    while ((1 << (d - 1)) < lmax)
        d++;
    return d;
}

static int parse_params(const struct iamp_spec *spec, long *v, char *err, size_t errlen)
{
    static const char *const keys[] = {"n", "seed", "lmax", "cap", NULL};
    int rc = iamp_spec_check_keys(spec, keys, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "n", 64, 2, 1024, &v[0], err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "seed", 1, 0, 2147483647L, &v[1], err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "lmax", 32, 1, IAMP_A_MAX - 1, &v[2], err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "cap", v[2] + 1, v[2] + 1, IAMP_A_MAX, &v[3], err, errlen);
    return rc;
}

static int trajectory_create(struct iamp_task *t, const struct iamp_spec *spec, char *err,
                             size_t errlen)
{
    long v[4];
    int rc = parse_params(spec, v, err, errlen);
    if (rc)
        return rc;
    struct trajectory *p = calloc(1, sizeof(*p));
    int *sigma = calloc((size_t)v[0], sizeof(int));
    if (!p || !sigma) {
        free(p);
        free(sigma);
        snprintf(err, errlen, "out of memory");
        return IAMP_ENOMEM;
    }
    struct iamp_rng r;
    iamp_rng_seed(&r, (uint64_t)v[1], 0x7065726d /* "perm": permpow's sigma */);
    for (int i = 0; i < v[0]; i++)
        sigma[i] = i;
    iamp_rng_shuffle(&r, sigma, (int)v[0]);
    *p = (struct trajectory){(int)v[0], (int)v[2], (int)v[3], sigma};
    t->state = p;
    snprintf(t->spec, sizeof(t->spec), "trajectory:n=%ld,seed=%ld,lmax=%ld,cap=%ld", v[0], v[1],
             v[2], v[3]);
    t->vocab = p->n + 1 + p->lmax;
    t->q_len = 2;
    t->a_len = p->cap;
    t->n_types = 1;
    t->type_names[0] = "traj";
    t->max_difficulty = levels_for(p->lmax);
    t->episode_size = sizeof(struct traj_episode);
    t->max_asks = 2;
    t->headline_type = 0;
    t->approvable = 1u; /* by comparison */
    t->eval_size = 32 * p->lmax;
    t->n_metrics = 1;
    t->metric_names[0] = "token_accuracy";
    return 0;
}

static void trajectory_destroy(struct iamp_task *t)
{
    struct trajectory *p = t->state;
    if (p)
        free(p->sigma);
    free(p);
}

static void trajectory_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                              struct iamp_question *q)
{
    const struct trajectory *p = state_of(t);
    difficulty = difficulty < 1                   ? 1
                 : difficulty > t->max_difficulty ? t->max_difficulty
                                                  : difficulty;
    int hi = 1 << (difficulty - 1);
    hi = hi > p->lmax ? p->lmax : hi;
    /* As permpow: half pick a level (its band of L) uniformly, half pick L
     * uniformly up to the current level. */
    int l;
    if (iamp_rng_below(r, 2) == 0) {
        int lv = 1 + (int)iamp_rng_below(r, (uint32_t)difficulty);
        int bhi = 1 << (lv - 1), blo = lv == 1 ? 1 : (1 << (lv - 2)) + 1;
        bhi = bhi > hi ? hi : bhi;
        blo = blo > bhi ? bhi : blo;
        l = blo + (int)iamp_rng_below(r, (uint32_t)(bhi - blo + 1));
    } else {
        l = 1 + (int)iamp_rng_below(r, (uint32_t)hi);
    }
    make_question(p, (int)iamp_rng_below(r, (uint32_t)p->n), l, q);
}

static void grid_question(const struct iamp_task *t, int x, int l, struct iamp_question *q)
{
    make_question(state_of(t), x, l, q);
}

static int trajectory_eval_set(const struct iamp_task *t, struct iamp_rng *r,
                               struct iamp_question *qs, int max)
{
    const struct trajectory *p = state_of(t);
    return iamp_eval_grid(t, r, p->n, p->lmax, grid_question, qs, max);
}

static int trajectory_parse(const struct iamp_task *t, const char *text, struct iamp_question *q,
                            char *err, size_t errlen)
{
    static const char *const words[] = {"traj"}, *const keys[] = {"x", "l"};
    const struct trajectory *p = state_of(t);
    const char *rest = NULL;
    long v[2];
    if (iamp_question_type_word(text, words, 1, &rest) < 0 ||
        iamp_question_words(rest, keys, v, 2)) {
        snprintf(err, errlen, "question '%s' is not of the form 'traj x=<0..%d> l=<1..%d>'", text,
                 p->n - 1, p->lmax);
        return IAMP_EPARSE;
    }
    if (v[0] >= p->n || v[1] < 1 || v[1] > p->lmax) {
        snprintf(err, errlen, "question '%s': x must be in [0, %d] and l in [1, %d]", text,
                 p->n - 1, p->lmax);
        return IAMP_ERANGE;
    }
    make_question(p, (int)v[0], (int)v[1], q);
    return 0;
}

static void trajectory_format_question(const struct iamp_task *t, const struct iamp_question *q,
                                       char *buf, size_t len)
{
    snprintf(buf, len, "traj x=%d l=%d", q->tok[0], len_of(state_of(t), q));
}

/* Elements separated by blanks; "..." when the answer was cut at the cap. */
static void trajectory_format_answer(const struct iamp_task *t, const struct iamp_question *q,
                                     const struct iamp_answer *a, char *buf, size_t len)
{
    const struct trajectory *p = state_of(t);
    (void)q;
    int k = elements_in(p, a);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < k && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%d", i ? " " : "", a->tok[i]);
        used += w > 0 ? (size_t)w : 0;
    }
    if (k == a->len && used < len)
        snprintf(buf + used, len - used, "%s...", k ? " " : "");
}

static void trajectory_answer_space(const struct iamp_task *t, const struct iamp_question *q,
                                    struct iamp_answer_space *s)
{
    const struct trajectory *p = state_of(t);
    (void)q;
    s->lo = 0;
    s->hi = (uint16_t)(p->n + 1);
    s->max_len = (uint16_t)p->cap;
    s->end_tok = end_token(p);
}

static int trajectory_valid(const struct iamp_task *t, const struct iamp_question *q)
{
    const struct trajectory *p = state_of(t);
    int l = len_of(p, q);
    return q->type == 0 && q->len == 2 && q->tok[0] < p->n && l >= 1 && l <= p->lmax;
}

static void orbit(const struct trajectory *p, int x, int l, uint16_t *el)
{
    for (int i = 0; i < l; i++) {
        x = p->sigma[x];
        el[i] = (uint16_t)x;
    }
}

static int trajectory_primitive(const struct iamp_task *t, const struct iamp_question *q,
                                struct iamp_answer *a)
{
    const struct trajectory *p = state_of(t);
    if (len_of(p, q) != 1)
        return 0;
    uint16_t el = (uint16_t)p->sigma[q->tok[0]];
    make_answer(p, &el, 1, a);
    return 1;
}

static void trajectory_episode_start(const struct iamp_task *t, void *ep,
                                     const struct iamp_question *q)
{
    struct traj_episode *e = ep;
    memset(e, 0, sizeof(*e));
    e->x = q->tok[0];
    e->l = (uint16_t)len_of(state_of(t), q);
}

/* want elements of a into el; what a lacks reads as element 0. */
static void take_elements(const struct trajectory *p, const struct iamp_answer *a, int want,
                          uint16_t *el)
{
    int k = a ? elements_in(p, a) : 0;
    for (int i = 0; i < want; i++)
        el[i] = (uint16_t)(i < k && a->tok[i] < p->n ? a->tok[i] : 0);
}

static int trajectory_episode_step(const struct iamp_task *t, void *ep,
                                   const struct iamp_answer *answers, int n_answers,
                                   struct iamp_question *asks, int *n_asks, struct iamp_answer *out)
{
    const struct trajectory *p = state_of(t);
    struct traj_episode *e = ep;
    int h1 = (e->l + 1) / 2, h2 = e->l / 2;
    uint16_t el[IAMP_A_MAX];
    *n_asks = 0;
    if (e->l == 1) {
        el[0] = (uint16_t)p->sigma[e->x];
        make_answer(p, el, 1, out);
        return IAMP_EP_DONE;
    }
    if (e->phase == 0) {
        make_question(p, e->x, h1, &asks[0]);
    } else if (e->phase == 1) {
        take_elements(p, n_answers == 1 ? &answers[0] : NULL, h1, e->first);
        make_question(p, e->first[h1 - 1], h2, &asks[0]);
    } else {
        memcpy(el, e->first, (size_t)h1 * sizeof(uint16_t));
        take_elements(p, n_answers == 1 ? &answers[0] : NULL, h2, el + h1);
        make_answer(p, el, e->l, out);
        return IAMP_EP_DONE;
    }
    e->phase++;
    *n_asks = 1;
    return IAMP_EP_ASK;
}

static void trajectory_truth(const struct iamp_task *t, const struct iamp_question *q,
                             struct iamp_answer *a)
{
    const struct trajectory *p = state_of(t);
    uint16_t el[IAMP_A_MAX];
    int l = len_of(p, q);
    orbit(p, q->tok[0], l, el);
    make_answer(p, el, l, a);
}

static int trajectory_correct(const struct iamp_task *t, const struct iamp_question *q,
                              const struct iamp_answer *a)
{
    struct iamp_answer truth;
    trajectory_truth(t, q, &truth);
    return a->len == truth.len && memcmp(a->tok, truth.tok, a->len * sizeof(a->tok[0])) == 0;
}

/* Positions of a that agree with b, over max(|a|, |b|) (1 when both are
 * empty). */
static double share_agreeing(const struct trajectory *p, const struct iamp_answer *a,
                             const struct iamp_answer *b)
{
    int ka = elements_in(p, a), kb = elements_in(p, b), same = 0;
    for (int i = 0; i < ka && i < kb; i++)
        same += a->tok[i] == b->tok[i];
    int over = ka > kb ? ka : kb;
    return over ? (double)same / over : 1.0;
}

static void trajectory_metrics(const struct iamp_task *t, const struct iamp_question *q,
                               const struct iamp_answer *a, double *out)
{
    struct iamp_answer truth;
    trajectory_truth(t, q, &truth);
    out[0] = share_agreeing(state_of(t), a, &truth);
}

static double trajectory_compare(const struct iamp_task *t, const struct iamp_question *q,
                                 const struct iamp_answer *a, const struct iamp_answer *amp)
{
    (void)q;
    return share_agreeing(state_of(t), a, amp);
}

const struct iamp_task_ops iamp_trajectory_ops = {
    .name = "trajectory",
    .summary =
        "sequence answers: traj x=X l=L asks for sigma(X), ..., sigma^L(X) (permpow's sigma)",
    .params = "n=64 (2..1024) elements, seed=1 permutation seed (permpow's), lmax=32 (1..47) "
              "longest list, cap=lmax+1 (lmax+1..48) answer tokens M may emit, END included",
    .create = trajectory_create,
    .destroy = trajectory_destroy,
    .sample = trajectory_sample,
    .eval_set = trajectory_eval_set,
    .parse_question = trajectory_parse,
    .format_question = trajectory_format_question,
    .format_answer = trajectory_format_answer,
    .answer_space = trajectory_answer_space,
    .valid_question = trajectory_valid,
    .primitive = trajectory_primitive,
    .episode_start = trajectory_episode_start,
    .episode_step = trajectory_episode_step,
    .truth = trajectory_truth,
    .correct = trajectory_correct,
    .approval_compare = trajectory_compare,
    .metrics = trajectory_metrics,
};
