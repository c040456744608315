/* wildcard.c — wildcard search (the paper's "sum" task; Christiano,
 * Shlegeris & Amodei 2018).
 *
 * Every root question carries its own instance: distinct binary strings
 * of length `len`, each with a value +1 or -1, as facts (string, value).
 * The question "sum P" gives a pattern P of len symbols 0, 1 and *, and
 * asks for the sum of the values of the strings P matches (* matches
 * either bit), clipped to [-C, C], C = min(facts, 2^(len-1)) (32 at the
 * paper's size, len=6, facts=64). H, as the paper's: a pattern without *
 * is a lookup (primitive: the string's value, 0 when the instance lacks
 * it); otherwise H asks the two patterns with the first * replaced by 0
 * and by 1 (both at once) and adds the answers, clipped. A pattern with
 * fewer than len stars matches at most 2^(len-1) strings, and at most
 * `facts`, so only the all-* pattern is ever clipped, and its halves are
 * not: H with exact subanswers gives the clipped truth. Every pattern is a
 * question about its instance (most match strings it lacks: they count 0).
 *
 * Tokens: a fact is the string's ceil(len/3) octal digits, most
 * significant first (100101 is octal 45: tokens 4 5; the bits of a
 * string whose len is not a multiple of 3 are padded with 0 on the left),
 * then its value, token 8 for -1 and 9 for +1. So the model learns 8
 * digit embeddings, each in its slot of the fact, rather than one per
 * string (the paper's facts had a token per bit; IAMP_FACT_LEN is 4).
 * The pattern symbols 0, 1, * are tokens 10, 11, 12, one per position;
 * the answer s in [-C, C] is token 13 + C + s.
 *
 * Instances: between min(9, facts) and `facts` strings drawn uniformly
 * without replacement from the 2^len, values uniform; questions (the
 * paper's) have their stars at uniform positions and uniform bits
 * elsewhere.
 *
 * Difficulty: level d asks patterns of 1..d stars (uniform), so
 * max_difficulty is len, and the instances are drawn alike at every
 * level. The paper's curriculum grew the instance (min(d + 8, 64)
 * strings) and asked every number of stars from the start; but a target
 * for k stars is built from M's answers for k - 1, so the many-star
 * targets are noise until the few-star ones are learned (what stalled
 * permpow's context mode with the paper's curriculum, tasks/permpow.c).
 * Growing the stars' reach makes every level's targets exact once the
 * level below is learned.
 *
 * Defaults, for a 2-core machine: len=6 (the and the paper's),
 * facts=16 (instances of 9..16 of the 64 strings: permpow:context=1's
 * size; answers -16..16, never clipped). About a third of the answers are
 * 0 at this size (two thirds at one star, one in eight at six), against
 * 0.2 at facts=64. Measured (imitate, the transformer defaults): len=6
 * stays at level 1 for the first 60-77k examples (facts=16 or 64, this
 * encoding or one token per string), answering 0; len=4 leaves level 1
 * after about 80k. The paper's size is wildcard:facts=64.
 */
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WILDCARD_LEN_MAX 9 /* 3 octal digits and the value: IAMP_FACT_LEN tokens */
/* Roots asked on each drawn instance (the paper's batches, as permpow's). */
#define WILDCARD_QUESTIONS_PER_CONTEXT 16
/* The smallest instance (the paper's: 8 + the first level). */
#define WILDCARD_SIZE_MIN 9
/* A task with facts trains a transformer (permpow:context=1's settings). */
#define WILDCARD_DEFAULTS                                                                          \
    "--model transformer:enc=4,dec=4 --lr 0.001 --lr-schedule constant --questions 512 --batch "   \
    "128"

/* Tokens: octal digits 0..7 are tokens 0..7, then these. */
enum { TOK_MINUS = 8, TOK_PLUS = 9, TOK_SYM0 = 10, TOK_SYM1 = 11, TOK_STAR = 12, TOK_SUM = 13 };

struct wildcard {
    int len;    /* pattern and string length */
    int S;      /* strings: 2^len */
    int digits; /* octal digits of a string: ceil(len / 3) */
    int facts;  /* strings of an instance at most */
    int clip;   /* C: answers lie in [-C, C] */
};

struct wildcard_episode {
    struct iamp_question q; /* the pattern (q.ctx: the facts) */
    uint16_t phase;         /* 0: ask both halves; 1: finished */
};

static const struct wildcard *state_of(const struct iamp_task *t)
{
    return t->state;
}

static int sum_tok(const struct wildcard *w, int s)
{
    return TOK_SUM + w->clip + s;
}

static int clip(const struct wildcard *w, int s)
{
    return s < -w->clip ? -w->clip : s > w->clip ? w->clip : s;
}

static void make_sum(const struct wildcard *w, int s, struct iamp_answer *out)
{
    memset(out, 0, sizeof(*out));
    out->len = 1;
    out->tok[0] = (uint16_t)sum_tok(w, clip(w, s));
}

/* An answer from M is always a sum (the engine masks the head), but H
 * guards anyway: anything else reads as 0. */
static int sum_of(const struct wildcard *w, const struct iamp_answer *a)
{
    int s = a->len >= 1 ? (int)a->tok[0] - sum_tok(w, 0) : 0;
    return s >= -w->clip && s <= w->clip ? s : 0;
}

/* 1 when the pattern q matches string s. */
static int matches(const struct wildcard *w, const struct iamp_question *q, int s)
{
    for (int i = 0; i < w->len; i++) {
        int bit = (s >> (w->len - 1 - i)) & 1, sym = q->tok[i];
        if (sym != TOK_STAR && sym != (bit ? TOK_SYM1 : TOK_SYM0))
            return 0;
    }
    return 1;
}

/* The first * of q; -1 when none. */
static int first_star(const struct wildcard *w, const struct iamp_question *q)
{
    for (int i = 0; i < w->len; i++)
        if (q->tok[i] == TOK_STAR)
            return i;
    return -1;
}

/* The string a fact's octal digits spell; -1 when they spell none. */
static int string_of(const struct wildcard *w, const uint16_t *fact)
{
    int s = 0;
    for (int j = 0; j < w->digits; j++) {
        if (fact[j] > 7)
            return -1;
        s = s * 8 + fact[j];
    }
    return s < w->S ? s : -1;
}

/* The sum of the values of the facts q matches, unclipped. */
static int match_sum(const struct wildcard *w, const struct iamp_question *q)
{
    int sum = 0;
    for (int f = 0; q->ctx && f < q->ctx->n_facts; f++) {
        int s = string_of(w, q->ctx->tok[f]);
        if (s >= 0 && matches(w, q, s))
            sum += q->ctx->tok[f][w->digits] == TOK_PLUS ? 1 : -1;
    }
    return sum;
}

static int wildcard_create(struct iamp_task *t, const struct iamp_spec *spec, char *err,
                           size_t errlen)
{
    static const char *const keys[] = {"len", "facts", NULL};
    long len, facts;
    int rc = iamp_spec_check_keys(spec, keys, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "len", 6, 1, WILDCARD_LEN_MAX, &len, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "facts", 16 < (1L << len) ? 16 : 1L << len, 1,
                           IAMP_FACTS_MAX < (1L << len) ? IAMP_FACTS_MAX : 1L << len, &facts, err,
                           errlen);
    if (rc)
        return rc;
    struct wildcard *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return IAMP_ENOMEM;
    }
    w->len = (int)len;
    w->S = 1 << w->len;
    w->digits = (w->len + 2) / 3;
    w->facts = (int)facts;
    w->clip = w->facts < w->S / 2 ? w->facts : w->S / 2; /* >= 1 */
    t->state = w;
    snprintf(t->spec, sizeof(t->spec), "wildcard:len=%ld,facts=%ld", len, facts);
    t->vocab = sum_tok(w, w->clip) + 1;
    t->q_len = w->len;
    t->a_len = 1;
    t->n_types = 1;
    t->type_names[0] = "sum";
    t->max_difficulty = w->len;
    t->episode_size = sizeof(struct wildcard_episode);
    t->max_asks = 2; /* the pattern with its first * as 0 and as 1 */
    t->headline_type = 0;
    t->facts_max = w->facts;
    t->fact_len = w->digits + 1;
    t->questions_per_context = WILDCARD_QUESTIONS_PER_CONTEXT;
    t->eval_size = 1024; /* 64 instances of 16 questions */
    return 0;
}

static void wildcard_destroy(struct iamp_task *t)
{
    free(t->state);
}

static void wildcard_draw_context(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                                  struct iamp_context *c)
{
    const struct wildcard *w = state_of(t);
    int lo = w->facts < WILDCARD_SIZE_MIN ? w->facts : WILDCARD_SIZE_MIN;
    int size = lo + (int)iamp_rng_below(r, (uint32_t)(w->facts - lo + 1));
    int strings[1 << WILDCARD_LEN_MAX];
    (void)difficulty;
    for (int s = 0; s < w->S; s++)
        strings[s] = s;
    iamp_rng_shuffle(r, strings, w->S); /* the first `size` are the instance's */
    memset(c, 0, sizeof(*c));
    c->n_facts = (uint16_t)size;
    c->fact_len = (uint16_t)(w->digits + 1);
    for (int f = 0; f < size; f++) {
        for (int j = 0; j < w->digits; j++)
            c->tok[f][j] = (uint16_t)((strings[f] >> (3 * (w->digits - 1 - j))) & 7);
        c->tok[f][w->digits] = (uint16_t)(TOK_MINUS + (int)iamp_rng_below(r, 2));
    }
}

/* A client's facts: strings, each once, with a value -1 or +1. */
static int wildcard_valid_context(const struct iamp_task *t, const struct iamp_context *c,
                                  char *err, size_t errlen)
{
    const struct wildcard *w = state_of(t);
    unsigned char seen[1 << WILDCARD_LEN_MAX] = {0};
    for (int f = 0; f < c->n_facts; f++) {
        int s = string_of(w, c->tok[f]), v = c->tok[f][w->digits];
        if (s < 0 || (v != TOK_MINUS && v != TOK_PLUS)) {
            snprintf(err, errlen,
                     "fact %d: a fact is a %d-bit string as %d octal digit%s (0..%o), then "
                     "%d (-1) or %d (+1)",
                     f + 1, w->len, w->digits, w->digits > 1 ? "s" : "", w->S - 1, TOK_MINUS,
                     TOK_PLUS);
            return 0;
        }
        if (seen[s]++) {
            snprintf(err, errlen, "fact %d: string %o (octal) is given twice", f + 1, s);
            return 0;
        }
    }
    return 1;
}

static void wildcard_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                            struct iamp_question *q)
{
    const struct wildcard *w = state_of(t);
    int reach = difficulty < 1 ? 1 : difficulty > w->len ? w->len : difficulty;
    int stars = 1 + (int)iamp_rng_below(r, (uint32_t)reach), pos[WILDCARD_LEN_MAX];
    for (int i = 0; i < w->len; i++)
        pos[i] = i;
    iamp_rng_shuffle(r, pos, w->len); /* the first `stars` positions are * */
    memset(q, 0, sizeof(*q));
    q->len = (uint16_t)w->len;
    for (int i = 0; i < w->len; i++)
        q->tok[pos[i]] = (uint16_t)(i < stars ? TOK_STAR : TOK_SYM0 + (int)iamp_rng_below(r, 2));
}

static int wildcard_parse(const struct iamp_task *t, const char *text, struct iamp_question *q,
                          char *err, size_t errlen)
{
    static const char *const words[] = {"sum"};
    const struct wildcard *w = state_of(t);
    const char *p = NULL;
    struct iamp_question out;
    memset(&out, 0, sizeof(out));
    out.len = (uint16_t)w->len;
    if (iamp_question_type_word(text, words, 1, &p) < 0)
        goto syntax;
    while (*p == ' ' || *p == '\t')
        p++;
    for (int i = 0; i < w->len; i++, p++) {
        if (*p != '0' && *p != '1' && *p != '*')
            goto syntax;
        out.tok[i] = (uint16_t)(*p == '*' ? TOK_STAR : *p == '1' ? TOK_SYM1 : TOK_SYM0);
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        goto syntax;
    *q = out;
    return 0;
syntax:
    snprintf(err, errlen,
             "question '%s' is not of the form 'sum P', P a pattern of %d symbols 0, 1 or * "
             "(e.g. 'sum %.*s')",
             text, w->len, w->len, "01*1*0*1*0");
    return IAMP_EPARSE;
}

static void wildcard_format_question(const struct iamp_task *t, const struct iamp_question *q,
                                     char *buf, size_t len)
{
    const struct wildcard *w = state_of(t);
    char pat[WILDCARD_LEN_MAX + 1];
    int n = q->len < w->len ? q->len : w->len;
    n = n < WILDCARD_LEN_MAX ? n : WILDCARD_LEN_MAX;
    for (int i = 0; i < n; i++) {
        int sym = q->tok[i];
        pat[i] = sym == TOK_STAR ? '*' : sym == TOK_SYM1 ? '1' : sym == TOK_SYM0 ? '0' : '?';
    }
    pat[n] = '\0';
    snprintf(buf, len, "sum %s", pat);
}

static void wildcard_format_answer(const struct iamp_task *t, const struct iamp_question *q,
                                   const struct iamp_answer *a, char *buf, size_t len)
{
    const struct wildcard *w = state_of(t);
    int s = a->len == 1 ? (int)a->tok[0] - sum_tok(w, 0) : w->clip + 1;
    (void)q;
    if (s >= -w->clip && s <= w->clip)
        snprintf(buf, len, "%d", s);
    else
        snprintf(buf, len, "?");
}

static void wildcard_answer_space(const struct iamp_task *t, const struct iamp_question *q,
                                  struct iamp_answer_space *s)
{
    const struct wildcard *w = state_of(t);
    (void)q;
    s->lo = (uint16_t)sum_tok(w, -w->clip);
    s->hi = (uint16_t)(sum_tok(w, w->clip) + 1);
    s->max_len = 1;
    s->end_tok = -1;
}

/* A pattern of len symbols; every pattern is about its instance. */
static int wildcard_valid(const struct iamp_task *t, const struct iamp_question *q)
{
    const struct wildcard *w = state_of(t);
    if (q->type != 0 || q->len != w->len)
        return 0;
    for (int i = 0; i < w->len; i++)
        if (q->tok[i] < TOK_SYM0 || q->tok[i] > TOK_STAR)
            return 0;
    return 1;
}

/* A pattern without *: H reads the string's fact. */
static int wildcard_primitive(const struct iamp_task *t, const struct iamp_question *q,
                              struct iamp_answer *a)
{
    const struct wildcard *w = state_of(t);
    if (first_star(w, q) >= 0)
        return 0;
    make_sum(w, match_sum(w, q), a);
    return 1;
}

static void wildcard_episode_start(const struct iamp_task *t, void *ep,
                                   const struct iamp_question *q)
{
    struct wildcard_episode *e = ep;
    (void)t;
    e->q = *q;
    e->phase = 0;
}

static int wildcard_episode_step(const struct iamp_task *t, void *ep,
                                 const struct iamp_answer *answers, int n_answers,
                                 struct iamp_question *asks, int *n_asks, struct iamp_answer *out)
{
    const struct wildcard *w = state_of(t);
    struct wildcard_episode *e = ep;
    int star = first_star(w, &e->q);
    *n_asks = 0;
    if (star < 0) { /* no * (primitive's case): the lookup */
        make_sum(w, match_sum(w, &e->q), out);
        return IAMP_EP_DONE;
    }
    if (e->phase == 0) {
        for (int b = 0; b < 2; b++) {
            asks[b] = e->q;
            asks[b].tok[star] = (uint16_t)(TOK_SYM0 + b);
        }
        *n_asks = 2;
        e->phase = 1;
        return IAMP_EP_ASK;
    }
    make_sum(w, n_answers == 2 ? sum_of(w, &answers[0]) + sum_of(w, &answers[1]) : 0, out);
    return IAMP_EP_DONE;
}

static void wildcard_truth(const struct iamp_task *t, const struct iamp_question *q,
                           struct iamp_answer *a)
{
    const struct wildcard *w = state_of(t);
    make_sum(w, match_sum(w, q), a);
}

static int wildcard_correct(const struct iamp_task *t, const struct iamp_question *q,
                            const struct iamp_answer *a)
{
    struct iamp_answer truth;
    wildcard_truth(t, q, &truth);
    return a->len == 1 && a->tok[0] == truth.tok[0];
}

const struct iamp_task_ops iamp_wildcard_ops = {
    .name = "wildcard",
    .summary = "wildcard search: sum P asks the sum of the values (+1/-1) of its instance's "
               "strings that the pattern P of 0, 1 and * matches",
    .params = "len=6 (1..9) string length, levels 1..len stars; facts=16 (1..min(128,2^len)) "
              "strings of an instance at most, min(9,facts)..facts; answers clipped to "
              "+-min(facts,2^(len-1))",
    .train_defaults = WILDCARD_DEFAULTS,
    .create = wildcard_create,
    .destroy = wildcard_destroy,
    .sample = wildcard_sample,
    .draw_context = wildcard_draw_context,
    .valid_context = wildcard_valid_context,
    .parse_question = wildcard_parse,
    .format_question = wildcard_format_question,
    .format_answer = wildcard_format_answer,
    .answer_space = wildcard_answer_space,
    .valid_question = wildcard_valid,
    .primitive = wildcard_primitive,
    .episode_start = wildcard_episode_start,
    .episode_step = wildcard_episode_step,
    .truth = wildcard_truth,
    .correct = wildcard_correct,
};
