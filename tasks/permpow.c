/* permpow.c — permutation powering (Christiano, Shlegeris & Amodei 2018).
 *
 * A permutation sigma of n elements is fixed by the task seed. The question
 * "pow x=X k=K" asks for sigma^K(X), K in [1, kmax]. H knows sigma itself
 * (a lookup): it answers K = 1 directly; otherwise it asks
 * y = sigma^(K/2)(X), then z = sigma^(K/2)(y), and when K is odd asks
 * sigma(z), a K = 1 question it answers itself by lookup. Every fact H's
 * episode uses is a subquestion's answer, so the transcript (question,
 * subquestions and their answers, answer) holds all H's answer depends on:
 * what a learned overseer H' learns from (the paper's H asks the same
 * third question). Amplified answers are those of applying sigma inside
 * the episode: the third question is H's own, never M's.
 *
 * With approve=1 the task has a second question type, the approval of an
 * answer: "approve x=X k=K a=A" asks whether A = sigma^K(X), answered yes
 * (score 1) or no (score 0). H judges it the way it answers pow: by lookup
 * for K = 1, else by asking the same two subquestions and comparing the
 * result with A. Approve questions are not sampled for training or
 * evaluation (the RL modes ask them of Amp(H, M)); approve=0, the default,
 * leaves the model's shape — and so every result made before approval
 * existed — exactly as it was.
 *
 * With context=1 (the paper's setting) there is no fixed sigma: every root
 * question carries its own instance, a permutation of between min(9, n)
 * and n elements drawn from 0..n-1, given as facts (x, sigma(x)). H
 * answers K = 1 by reading x's fact (and so the odd step's question too);
 * the ground truth follows the facts K times. The difficulty is K's
 * reach, as without contexts (the paper's curriculum was on the instance's
 * size; measured here, IA with it never left K = 1 in 1M examples: with
 * every K asked from the start, the targets of K >= 4 are built from M's
 * answers to K >= 2 before M has any, and their noise drowns the exact
 * targets of K = 2, 3. Growing K's reach makes every level's targets exact
 * once the level below is learned, which is what IA relies on).
 *
 * Tokens: element e is token e (0..n-1); the power K is token n + K - 1;
 * the approval answers no/yes are tokens n + kmax and n + kmax + 1.
 * Difficulty d covers K <= 2^d - 1: each level doubles the reach of the
 * level below, which is what a depth-1 amplification of it can answer.
 */
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TYPE_POW = 0, TYPE_APPROVE = 1 };

/* Roots asked on each drawn instance (the paper's batches: 32 instances x
 * 16 questions). */
#define PERMPOW_QUESTIONS_PER_CONTEXT 16
/* The smallest instance (the paper's: 8 + the first level). */
#define PERMPOW_SIZE_MIN 9
/* permpow:context=1 trains a transformer that reads the facts. */
#define PERMPOW_CONTEXT_DEFAULTS                                                                   \
    "--model transformer:enc=4,dec=4 --lr 0.001 --lr-schedule constant "                           \
    "--questions 512 --batch 128"

struct permpow {
    int n;       /* elements */
    int kmax;    /* largest power asked */
    int approve; /* 1: the approve question type exists */
    int context; /* 1: each root carries its own permutation as facts */
    int *sigma;  /* (n) the permutation (context = 0) */
};

struct permpow_episode {
    uint16_t type;                  /* TYPE_POW or TYPE_APPROVE */
    uint16_t x, k;                  /* the question */
    uint16_t a;                     /* approve: the answer judged */
    uint16_t phase;                 /* 0: ask y; 1: ask z; 2: ask sigma(z) (odd K); 3: done */
    const struct iamp_context *ctx; /* the facts (context = 1) */
};

static const struct permpow *state_of(const struct iamp_task *t)
{
    return t->state;
}

static int k_of(const struct permpow *p, const struct iamp_question *q)
{
    return (int)q->tok[1] - p->n + 1;
}

static void make_question(const struct permpow *p, int x, int k, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    q->type = 0;
    q->len = 2;
    q->tok[0] = (uint16_t)x;
    q->tok[1] = (uint16_t)(p->n + k - 1);
}

static int no_token(const struct permpow *p)
{
    return p->n + p->kmax;
}

static void make_approve(const struct permpow *p, int x, int k, int a, struct iamp_question *q)
{
    make_question(p, x, k, q);
    q->type = TYPE_APPROVE;
    q->len = 3;
    q->tok[2] = (uint16_t)a;
}

static void make_answer(int e, struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->len = 1;
    a->tok[0] = (uint16_t)e;
}

/* sigma(x): the fixed permutation, or x's fact in q's context (0 when x
 * has none: H guards, callers validate). */
static int sigma_at(const struct permpow *p, const struct iamp_context *c, int x)
{
    if (!p->context)
        return x >= 0 && x < p->n ? p->sigma[x] : 0;
    for (int f = 0; c && f < c->n_facts; f++)
        if (c->tok[f][0] == x)
            return c->tok[f][1];
    return 0;
}

/* 1 when x is an element of q's instance. */
static int has_element(const struct permpow *p, const struct iamp_question *q, int x)
{
    if (!p->context)
        return x >= 0 && x < p->n;
    for (int f = 0; q->ctx && f < q->ctx->n_facts; f++)
        if (q->ctx->tok[f][0] == x)
            return 1;
    return 0;
}

static int levels_for(int kmax)
{
    int d = 1;
    while (((1 << d) - 1) < kmax)
        d++;
    return d;
}

static int permpow_create(struct iamp_task *t, const struct iamp_spec *spec, char *err,
                          size_t errlen)
{
    static const char *const keys[] = {"n", "seed", "kmax", "approve", "context", NULL};
    long n, seed, kmax, approve, context;
    int rc = iamp_spec_check_keys(spec, keys, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "context", 0, 0, 1, &context, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "n", context ? 16 : 64, 2, context ? IAMP_FACTS_MAX : 1024, &n,
                           err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "seed", 1, 0, 2147483647L, &seed, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "kmax", n - 1 < 63 ? n - 1 : 63, 1, 1023, &kmax, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "approve", 0, 0, 1, &approve, err, errlen);
    if (rc)
        return rc;
    struct permpow *p = calloc(1, sizeof(*p));
    int *sigma = calloc((size_t)n, sizeof(int));
    if (!p || !sigma) {
        free(p);
        free(sigma);
        snprintf(err, errlen, "out of memory");
        return IAMP_ENOMEM;
    }
    struct iamp_rng r;
    iamp_rng_seed(&r, (uint64_t)seed, 0x7065726d /* "perm" */);
    for (int i = 0; i < n; i++)
        sigma[i] = i;
    iamp_rng_shuffle(&r, sigma, (int)n);
    p->n = (int)n;
    p->kmax = (int)kmax;
    p->approve = (int)approve;
    p->context = (int)context;
    p->sigma = sigma;

    t->state = p;
    /* approve=0 and context=0 are left out of the canonical spec so that
     * specs and checkpoints from before the parameters existed stay valid;
     * with contexts the seed means nothing and is left out too. */
    if (context)
        snprintf(t->spec, sizeof(t->spec), "permpow:n=%ld,kmax=%ld%s,context=1", n, kmax,
                 approve ? ",approve=1" : "");
    else
        snprintf(t->spec, sizeof(t->spec), "permpow:n=%ld,seed=%ld,kmax=%ld%s", n, seed, kmax,
                 approve ? ",approve=1" : "");
    t->vocab = (int)(n + kmax + (approve ? 2 : 0));
    t->q_len = approve ? 3 : 2;
    t->a_len = 1;
    t->n_types = approve ? 2 : 1;
    t->type_names[TYPE_POW] = "pow";
    t->type_names[TYPE_APPROVE] = approve ? "approve" : NULL;
    t->max_difficulty = levels_for((int)kmax);
    t->episode_size = sizeof(struct permpow_episode);
    t->max_asks = 3; /* y = s^h(x), z = s^h(y), and s(z) for odd K */
    t->headline_type = TYPE_POW;
    t->approve_type = approve ? TYPE_APPROVE : -1;
    t->approvable = approve ? 1u << TYPE_POW : 0;
    t->eval_size = 1008;
    if (context) {
        t->facts_max = (int)n;
        t->fact_len = 2;
        t->questions_per_context = PERMPOW_QUESTIONS_PER_CONTEXT;
        t->eval_size = 1024; /* 64 instances of 16 questions */
        t->train_defaults = PERMPOW_CONTEXT_DEFAULTS;
    }
    return 0;
}

static void permpow_destroy(struct iamp_task *t)
{
    struct permpow *p = t->state;
    if (p)
        free(p->sigma);
    free(p);
}

static int apply_pow(const struct permpow *p, const struct iamp_context *c, int x, int k)
{
    for (int i = 0; i < k; i++)
        x = sigma_at(p, c, x);
    return x;
}

/* An instance: between min(9, n) and n elements of 0..n-1 (uniform) and
 * a random permutation of them, its facts in random order. The difficulty
 * is K's reach (permpow_sample), not the size. */
static void permpow_draw_context(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                                 struct iamp_context *c)
{
    const struct permpow *p = state_of(t);
    int lo = p->n < PERMPOW_SIZE_MIN ? p->n : PERMPOW_SIZE_MIN, elems[IAMP_FACTS_MAX],
        img[IAMP_FACTS_MAX];
    int size = lo + (int)iamp_rng_below(r, (uint32_t)(p->n - lo + 1));
    (void)difficulty;
    for (int i = 0; i < p->n; i++)
        elems[i] = i;
    iamp_rng_shuffle(r, elems, p->n); /* the first `size` are the instance's */
    for (int i = 0; i < size; i++)
        img[i] = elems[i];
    iamp_rng_shuffle(r, img, size);
    memset(c, 0, sizeof(*c));
    c->n_facts = (uint16_t)size;
    c->fact_len = 2;
    for (int i = 0; i < size; i++) {
        c->tok[i][0] = (uint16_t)elems[i];
        c->tok[i][1] = (uint16_t)img[i];
    }
}

/* A client's facts must be a permutation: every element once on each side. */
static int permpow_valid_context(const struct iamp_task *t, const struct iamp_context *c, char *err,
                                 size_t errlen)
{
    const struct permpow *p = state_of(t);
    unsigned char from[IAMP_FACTS_MAX] = {0}, to[IAMP_FACTS_MAX] = {0};
    for (int f = 0; f < c->n_facts; f++) {
        int x = c->tok[f][0], y = c->tok[f][1];
        if (x >= p->n || y >= p->n) {
            snprintf(err, errlen, "fact %d: elements are 0..%d", f + 1, p->n - 1);
            return 0;
        }
        if (from[x]++) {
            snprintf(err, errlen, "fact %d: element %d is mapped twice", f + 1, x);
            return 0;
        }
        to[y]++;
    }
    for (int e = 0; e < p->n; e++)
        if (from[e] != to[e]) {
            snprintf(err, errlen, "the facts are not a permutation (element %d)", e);
            return 0;
        }
    return 1;
}

static void permpow_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                           struct iamp_question *q)
{
    const struct permpow *p = state_of(t);
    if (difficulty < 1)
        difficulty = 1;
    if (difficulty > t->max_difficulty)
        difficulty = t->max_difficulty;
    int hi = (1 << difficulty) - 1;
    if (hi > p->kmax)
        hi = p->kmax;
    /* Half the questions pick a level uniformly (each level's band gets
     * the same share, so the few questions of low levels, whose answers
     * every higher target is built from, are rehearsed often); half pick
     * k uniformly up to the level (the big top band gets its share). */
    int k;
    if (iamp_rng_below(r, 2) == 0) {
        int lv = 1 + (int)iamp_rng_below(r, (uint32_t)difficulty);
        int blo = 1 << (lv - 1), bhi = (1 << lv) - 1;
        bhi = bhi > hi ? hi : bhi;
        blo = blo > bhi ? bhi : blo;
        k = blo + (int)iamp_rng_below(r, (uint32_t)(bhi - blo + 1));
    } else {
        k = 1 + (int)iamp_rng_below(r, (uint32_t)hi);
    }
    int x;
    if (p->context) {
        const struct iamp_context *c = q->ctx;
        x = c && c->n_facts ? c->tok[iamp_rng_below(r, c->n_facts)][0] : 0;
    } else {
        x = (int)iamp_rng_below(r, (uint32_t)p->n);
    }
    make_question(p, x, k, q);
}

static void grid_question(const struct iamp_task *t, int x, int k, struct iamp_question *q)
{
    make_question(state_of(t), x, k, q);
}

static int permpow_eval_set(const struct iamp_task *t, struct iamp_rng *r, struct iamp_question *qs,
                            int max)
{
    const struct permpow *p = state_of(t);
    return iamp_eval_grid(t, r, p->n, p->kmax, grid_question, qs, max);
}

static int permpow_parse(const struct iamp_task *t, const char *text, struct iamp_question *q,
                         char *err, size_t errlen)
{
    static const char *const keys[] = {"x", "k", "a"};
    const struct permpow *p = state_of(t);
    const char *rest = NULL;
    long v[3];
    static const char *const words[] = {"pow", "approve"};
    int ty = iamp_question_type_word(text, words, 2, &rest);
    if (ty == TYPE_APPROVE && !p->approve) {
        snprintf(err, errlen, "question '%s': approve questions need the task parameter approve=1",
                 text);
        return IAMP_EPARSE;
    }
    if (ty < 0 || iamp_question_words(rest, keys, v, ty == TYPE_APPROVE ? 3 : 2))
        goto syntax;
    if (v[0] >= p->n || v[1] < 1 || v[1] > p->kmax || (ty == TYPE_APPROVE && v[2] >= p->n)) {
        snprintf(err, errlen, "question '%s': x%s must be in [0, %d] and k in [1, %d]", text,
                 ty == TYPE_APPROVE ? " and a" : "", p->n - 1, p->kmax);
        return IAMP_ERANGE;
    }
    if (ty == TYPE_APPROVE)
        make_approve(p, (int)v[0], (int)v[1], (int)v[2], q);
    else
        make_question(p, (int)v[0], (int)v[1], q);
    return 0;
syntax:
    if (p->approve)
        snprintf(err, errlen,
                 "question '%s' is not of the form 'pow x=<0..%d> k=<1..%d>' or "
                 "'approve x=<0..%d> k=<1..%d> a=<0..%d>'",
                 text, p->n - 1, p->kmax, p->n - 1, p->kmax, p->n - 1);
    else
        snprintf(err, errlen, "question '%s' is not of the form 'pow x=<0..%d> k=<1..%d>'", text,
                 p->n - 1, p->kmax);
    return IAMP_EPARSE;
}

static void permpow_format_question(const struct iamp_task *t, const struct iamp_question *q,
                                    char *buf, size_t len)
{
    if (q->type == TYPE_APPROVE)
        snprintf(buf, len, "approve x=%d k=%d a=%d", q->tok[0], k_of(state_of(t), q), q->tok[2]);
    else
        snprintf(buf, len, "pow x=%d k=%d", q->tok[0], k_of(state_of(t), q));
}

static void permpow_format_answer(const struct iamp_task *t, const struct iamp_question *q,
                                  const struct iamp_answer *a, char *buf, size_t len)
{
    int tok = a->len ? a->tok[0] : -1;
    if (q->type == TYPE_APPROVE)
        snprintf(buf, len, "%s", tok == no_token(state_of(t)) + 1 ? "1" : "0");
    else
        snprintf(buf, len, "%d", tok);
}

static void permpow_answer_space(const struct iamp_task *t, const struct iamp_question *q,
                                 struct iamp_answer_space *s)
{
    const struct permpow *p = state_of(t);
    s->lo = q->type == TYPE_APPROVE ? (uint16_t)no_token(p) : 0;
    s->hi = q->type == TYPE_APPROVE ? (uint16_t)(no_token(p) + 2) : (uint16_t)p->n;
    s->max_len = 1;
    s->end_tok = -1;
}

static int permpow_valid(const struct iamp_task *t, const struct iamp_question *q)
{
    const struct permpow *p = state_of(t);
    int k = k_of(p, q);
    int base = q->tok[0] < p->n && k >= 1 && k <= p->kmax && has_element(p, q, q->tok[0]);
    if (q->type == TYPE_APPROVE)
        return p->approve && q->len == 3 && base && q->tok[2] < p->n;
    return q->type == TYPE_POW && q->len == 2 && base;
}

static void make_verdict(const struct permpow *p, int yes, struct iamp_answer *a)
{
    make_answer(no_token(p) + (yes ? 1 : 0), a);
}

static int permpow_primitive(const struct iamp_task *t, const struct iamp_question *q,
                             struct iamp_answer *a)
{
    const struct permpow *p = state_of(t);
    if (k_of(p, q) != 1)
        return 0;
    int y = sigma_at(p, q->ctx, q->tok[0]);
    if (q->type == TYPE_APPROVE)
        make_verdict(p, y == q->tok[2], a);
    else
        make_answer(y, a);
    return 1;
}

static void permpow_episode_start(const struct iamp_task *t, void *ep,
                                  const struct iamp_question *q)
{
    struct permpow_episode *e = ep;
    e->type = q->type;
    e->x = q->tok[0];
    e->k = (uint16_t)k_of(state_of(t), q);
    e->a = q->type == TYPE_APPROVE ? q->tok[2] : 0;
    e->phase = 0;
    e->ctx = q->ctx;
}

/* An answer from M is always in range (the engine masks the head), but H
 * guards anyway: a bad element reads as element 0. */
static int element_of(const struct permpow *p, const struct iamp_answer *a)
{
    return (a->len >= 1 && a->tok[0] < p->n) ? a->tok[0] : 0;
}

/* H's answer once y = sigma^K(X) is known: the power, or for an approve
 * question whether it equals the answer judged. */
static void episode_finish(const struct permpow *p, const struct permpow_episode *e, int y,
                           struct iamp_answer *out)
{
    if (e->type == TYPE_APPROVE)
        make_verdict(p, y == e->a, out);
    else
        make_answer(y, out);
}

static int permpow_episode_step(const struct iamp_task *t, void *ep,
                                const struct iamp_answer *answers, int n_answers,
                                struct iamp_question *asks, int *n_asks, struct iamp_answer *out)
{
    const struct permpow *p = state_of(t);
    struct permpow_episode *e = ep;
    *n_asks = 0;
    if (e->k == 1) {
        episode_finish(p, e, sigma_at(p, e->ctx, e->x), out);
        return IAMP_EP_DONE;
    }
    int half = e->k / 2;
    int got = n_answers == 1 ? element_of(p, &answers[0]) : 0;
    if (e->phase == 0) {
        make_question(p, e->x, half, &asks[0]);
    } else if (e->phase == 1) {
        make_question(p, got, half, &asks[0]);
    } else if (e->phase == 2 && (e->k & 1)) {
        make_question(p, got, 1, &asks[0]); /* sigma(z): H answers it by lookup */
    } else {
        episode_finish(p, e, got, out);
        e->phase = 3;
        return IAMP_EP_DONE;
    }
    e->phase++;
    *n_asks = 1;
    return IAMP_EP_ASK;
}
static void permpow_truth(const struct iamp_task *t, const struct iamp_question *q,
                          struct iamp_answer *a)
{
    const struct permpow *p = state_of(t);
    int y = apply_pow(p, q->ctx, q->tok[0], k_of(p, q));
    if (q->type == TYPE_APPROVE)
        make_verdict(p, y == q->tok[2], a);
    else
        make_answer(y, a);
}

static int permpow_correct(const struct iamp_task *t, const struct iamp_question *q,
                           const struct iamp_answer *a)
{
    struct iamp_answer truth;
    permpow_truth(t, q, &truth);
    return a->len == 1 && a->tok[0] == truth.tok[0];
}

static void permpow_approval_question(const struct iamp_task *t, const struct iamp_question *q,
                                      const struct iamp_answer *a, struct iamp_question *aq)
{
    const struct permpow *p = state_of(t);
    make_approve(p, q->tok[0], k_of(p, q), element_of(p, a), aq);
}

static double permpow_approval_score(const struct iamp_task *t, const struct iamp_question *aq,
                                     const struct iamp_answer *a)
{
    (void)aq;
    return a->len == 1 && a->tok[0] == no_token(state_of(t)) + 1 ? 1.0 : 0.0;
}

const struct iamp_task_ops iamp_permpow_ops = {
    .name = "permpow",
    .summary = "permutation powering: pow x=X k=K asks for sigma^K(X)",
    .params = "n=64 (2..1024) elements, seed=1 permutation seed, kmax=min(63,n-1) (1..1023), "
              "approve=0 (approve=1 adds the type 'approve x=X k=K a=A' that search, reinforce "
              "and mixed need), context=0 (context=1: every root its own permutation of "
              "9..n elements given as facts, n=16 (2..128) by default; trains "
              "with " PERMPOW_CONTEXT_DEFAULTS ")",
    /* Chosen by measurement (issue 16, README "Speed"): one-hot inputs, a
     * 192-wide M and a higher rate reach 99% on every seed tried (3 task
     * seeds x 3 training seeds, and 5 training seeds) in about a tenth of
     * the time of iamp's general defaults. Minibatches of 128 questions
     * (two fit shards, so both cores of a two-core machine distil) take
     * about 10% more examples than 64 at one thread's speed, and 1.6x less
     * time with two threads. */
    .train_defaults = "--embed 0 --hidden 192 --lr 0.008 --batch 128",
    .create = permpow_create,
    .draw_context = permpow_draw_context,
    .valid_context = permpow_valid_context,
    .destroy = permpow_destroy,
    .sample = permpow_sample,
    .eval_set = permpow_eval_set,
    .parse_question = permpow_parse,
    .format_question = permpow_format_question,
    .format_answer = permpow_format_answer,
    .answer_space = permpow_answer_space,
    .valid_question = permpow_valid,
    .primitive = permpow_primitive,
    .episode_start = permpow_episode_start,
    .episode_step = permpow_episode_step,
    .truth = permpow_truth,
    .correct = permpow_correct,
    .approval_question = permpow_approval_question,
    .approval_score = permpow_approval_score,
};
