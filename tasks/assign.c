/* assign.c — sequential assignments (the paper's "eval" task; Christiano,
 * Shlegeris & Amodei 2018).
 *
 * Every root question carries its own instance, a program of straight-line
 * assignments over variables named 0..vars-1: the first isqrt(size) of
 * its `size` variables (in the order they are defined) are assigned a
 * value, `x := v`, v one of `values` values; each later one is `x :=
 * f(y, z)` over two earlier variables (y = z allowed), f a table of
 * values drawn fresh per instance. The facts are the definitions and the
 * entries of f the program needs, in random order (a set):
 *   (x, v, NIL)  x := v           x a variable, v a value
 *   (x, y, z)    x := f(y, z)     x, y, z variables
 *   (a, b, c)    f(a, b) = c      a, b, c values
 * The question "value x=X" asks X's value. H, as the paper's: it looks up
 * X's definition; a value it returns; otherwise it asks the values of y
 * and z (both at once) and looks up f of the two answers (value 0 when
 * M's answers name an entry the facts lack). The ground truth evaluates
 * the program from the facts.
 *
 * H's lookups are questions of their own, primitive (H answers them from
 * the facts, M never does), so H's episode reads no facts and a learned
 * overseer H', which sees only H's transcripts, can learn it:
 *   "def x=X"        X's definition: (v, NIL) for x := v, (y, z) for
 *                    x := f(y, z)
 *   "table a=A b=B"  f(A, B) (value 0 when no fact gives it)
 * H for a compound X: ask def X; ask value Y, value Z; ask table of the
 * two answers; answer what the table says. "value x=X" for X := v is a
 * primitive as well (the lookup and the answer in one). Only `value` is
 * sampled; def and table are asked by H.
 *
 * Tokens: variable x is token x (0..vars-1), value v is token vars + v,
 * NIL is vars + values. Questions: value and def [x], table [A, B] as
 * value tokens. Answers: one value token (value, table), two tokens
 * (def).
 *
 * Instances: between min(9, vars) and vars variables drawn from the
 * names (uniform), named in random order; the paper's sizes are
 * vars=64, values=8. A variable's depth is 0 for a value and one more
 * than its deeper operand's; operands are drawn among the earlier
 * variables of depth < `depth`, so no variable is deeper than `depth`.
 *
 * Difficulty: level d asks about variables of depth <= d - 1, so
 * max_difficulty is depth + 1, and the instances are drawn alike at every
 * level. The paper's curriculum grew the instance (min(d + 8, 64)
 * variables) and asked about every variable of it; but already a quarter
 * of the 9-variable programs reach depth 4 or more, and a target for
 * depth k is built from M's answers at depth k - 1: with every depth
 * asked from the start the deep targets are noise until the shallow ones
 * are learned, which is what stalled permpow's context mode with the
 * paper's curriculum (tasks/permpow.c). Growing the depth reach makes
 * every level's targets exact once the level below is learned. Half the
 * questions pick a level uniformly (a variable of exactly that depth when
 * the instance has one), half a variable uniformly among those in reach.
 *
 * Defaults, for a 2-core machine: vars=16 (instances of 9..16 variables,
 * 3..4 of them values, at most 28 facts: permpow:context=1's size),
 * values=8 (the paper's), depth=4 (uncapped, 5% of the variables of
 * 16-variable programs, in 40% of the programs, lie deeper; each level of
 * depth is one more chain of lookups M must do in one forward pass).
 * Measured (imitate, the transformer defaults): level 2 after 5k examples,
 * held-out accuracy 0.49 after 77k, still at level 2 (as permpow:context=1
 * is then). The full paper size is assign:vars=64,depth=16 (at most 120
 * facts).
 */
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSIGN_VARS_MAX 64
#define ASSIGN_VALUES_MAX 16
#define ASSIGN_DEPTH_MAX 16
/* Roots asked on each drawn instance (the paper's batches, as permpow's). */
#define ASSIGN_QUESTIONS_PER_CONTEXT 16
/* The smallest instance (the paper's: 8 + the first level). */
#define ASSIGN_SIZE_MIN 9
#define ASSIGN_FACT_LEN 3
/* A task with facts trains a transformer (permpow:context=1's settings). */
#define ASSIGN_DEFAULTS                                                                            \
    "--model transformer:enc=4,dec=4 --lr 0.001 --lr-schedule constant --questions 512 --batch "   \
    "128"

struct assign {
    int n;     /* variable names */
    int k;     /* values */
    int depth; /* deepest definition */
};

/* An instance read from its facts. */
struct assign_instance {
    int16_t def[ASSIGN_VARS_MAX];                     /* the fact defining x; -1: none */
    int8_t tab[ASSIGN_VALUES_MAX][ASSIGN_VALUES_MAX]; /* f(a, b); -1: no fact gives it */
    int8_t depth[ASSIGN_VARS_MAX];                    /* x's depth; -1: x undefined */
    int8_t value[ASSIGN_VARS_MAX];                    /* x's value (0..k-1) */
};

enum { TYPE_VALUE, TYPE_DEF, TYPE_TABLE, ASSIGN_TYPES };

/* H's episode for "value x=X" reads no facts: it asks for them. */
struct assign_episode {
    uint16_t x;     /* the question's variable */
    uint16_t phase; /* 0: ask def; 1: ask the operands; 2: ask the table; 3: answer */
};

static const struct assign *state_of(const struct iamp_task *t)
{
    return t->state;
}

static int is_var(const struct assign *a, int tok)
{
    return tok >= 0 && tok < a->n;
}

static int is_value(const struct assign *a, int tok)
{
    return tok >= a->n && tok < a->n + a->k;
}

static int nil_tok(const struct assign *a)
{
    return a->n + a->k;
}

static int isqrt(int n)
{
    int r = 1;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return r;
}

/* Facts of an instance at most: every variable's definition and an entry
 * of f per compound one (size - isqrt(size) of them, largest at size n). */
static int facts_max_for(int n, int k)
{
    int compound = n - isqrt(n);
    return n + (compound < k * k ? compound : k * k);
}

static void make_question(int type, int x, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    q->type = (uint16_t)type;
    q->len = 1;
    q->tok[0] = (uint16_t)x;
}

/* "table a=A b=B": value tokens va, vb. */
static void make_table_question(const struct assign *a, int va, int vb, struct iamp_question *q)
{
    make_question(TYPE_TABLE, a->n + va, q);
    q->len = 2;
    q->tok[1] = (uint16_t)(a->n + vb);
}

static void make_value(const struct assign *a, int v, struct iamp_answer *out)
{
    memset(out, 0, sizeof(*out));
    out->len = 1;
    out->tok[0] = (uint16_t)(a->n + v);
}

/* The fact defining variable x in c; -1 when none. */
static int def_of(const struct assign *a, const struct iamp_context *c, int x)
{
    for (int f = 0; c && f < c->n_facts; f++)
        if (c->tok[f][0] == x && is_var(a, x))
            return f;
    return -1;
}

/* f(va, vb) read from c's facts; -1 when no fact gives it. */
static int table_of(const struct assign *a, const struct iamp_context *c, int va, int vb)
{
    for (int f = 0; c && f < c->n_facts; f++)
        if (c->tok[f][0] == a->n + va && c->tok[f][1] == a->n + vb && is_value(a, c->tok[f][2]))
            return c->tok[f][2] - a->n;
    return -1;
}

/* Pass 1 of read_instance: every fact a definition or an entry of f, each
 * variable and entry given once. */
static int read_facts(const struct assign *a, const struct iamp_context *c,
                      struct assign_instance *in, char *err, size_t errlen)
{
    int defined = 0;
    for (int f = 0; f < c->n_facts; f++) {
        int t0 = c->tok[f][0], t1 = c->tok[f][1], t2 = c->tok[f][2];
        if (is_var(a, t0) &&
            ((is_value(a, t1) && t2 == nil_tok(a)) || (is_var(a, t1) && is_var(a, t2)))) {
            if (in->def[t0] >= 0) {
                snprintf(err, errlen, "fact %d: variable %d is defined twice", f + 1, t0);
                return 0;
            }
            in->def[t0] = (int16_t)f;
            defined++;
        } else if (is_value(a, t0) && is_value(a, t1) && is_value(a, t2)) {
            if (in->tab[t0 - a->n][t1 - a->n] >= 0) {
                snprintf(err, errlen, "fact %d: the entry %d %d of f is given twice", f + 1, t0,
                         t1);
                return 0;
            }
            in->tab[t0 - a->n][t1 - a->n] = (int8_t)(t2 - a->n);
        } else {
            snprintf(err, errlen,
                     "fact %d: not 'x v %d' (x := v), 'x y z' (x := f(y, z)) nor 'a b c' "
                     "(f(a, b) = c): variables are 0..%d, values %d..%d",
                     f + 1, nil_tok(a), a->n - 1, a->n, a->n + a->k - 1);
            return 0;
        }
    }
    if (!defined)
        snprintf(err, errlen, "the facts define no variable");
    return defined > 0;
}

/* x's depth and value (pass 2): its operands first. Recursion is at most
 * n deep (a cycle is refused on its way). */
static int eval_var(const struct assign *a, const struct iamp_context *c,
                    struct assign_instance *in, int x, char *err, size_t errlen)
{
    if (in->depth[x] >= 0)
        return 1;
    if (in->depth[x] == -2) {
        snprintf(err, errlen, "variable %d depends on itself", x);
        return 0;
    }
    const uint16_t *d = c->tok[in->def[x]];
    if (is_value(a, d[1])) {
        in->depth[x] = 0;
        in->value[x] = (int8_t)(d[1] - a->n);
        return 1;
    }
    in->depth[x] = -2; /* in progress */
    for (int i = 1; i <= 2; i++) {
        if (in->def[d[i]] < 0) {
            snprintf(err, errlen, "variable %d uses variable %d, which no fact defines", x, d[i]);
            return 0;
        }
        if (!eval_var(a, c, in, d[i], err, errlen))
            return 0;
    }
    int vy = in->value[d[1]], vz = in->value[d[2]], dy = in->depth[d[1]], dz = in->depth[d[2]];
    if (in->tab[vy][vz] < 0) {
        snprintf(err, errlen, "variable %d needs the entry %d %d of f, which no fact gives", x,
                 a->n + vy, a->n + vz);
        return 0;
    }
    in->value[x] = in->tab[vy][vz];
    in->depth[x] = (int8_t)((dy > dz ? dy : dz) + 1);
    return 1;
}

/* Read and evaluate c's program: 1, or 0 with a reason (err may be NULL
 * with errlen 0). */
static int read_instance(const struct assign *a, const struct iamp_context *c,
                         struct assign_instance *in, char *err, size_t errlen)
{
    memset(in->def, -1, sizeof(in->def));
    memset(in->tab, -1, sizeof(in->tab));
    memset(in->depth, -1, sizeof(in->depth));
    memset(in->value, 0, sizeof(in->value));
    if (!c || c->fact_len != ASSIGN_FACT_LEN) {
        snprintf(err, errlen, "an instance's facts have %d tokens", ASSIGN_FACT_LEN);
        return 0;
    }
    if (!read_facts(a, c, in, err, errlen))
        return 0;
    for (int x = 0; x < a->n; x++)
        if (in->def[x] >= 0 && !eval_var(a, c, in, x, err, errlen))
            return 0;
    return 1;
}

static int assign_create(struct iamp_task *t, const struct iamp_spec *spec, char *err,
                         size_t errlen)
{
    static const char *const keys[] = {"vars", "values", "depth", NULL};
    long n, k, depth;
    int rc = iamp_spec_check_keys(spec, keys, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "vars", 16, 2, ASSIGN_VARS_MAX, &n, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "values", 8, 2, ASSIGN_VALUES_MAX, &k, err, errlen);
    if (!rc)
        rc = iamp_spec_int(spec, "depth", 4, 1, ASSIGN_DEPTH_MAX, &depth, err, errlen);
    if (rc)
        return rc;
    struct assign *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return IAMP_ENOMEM;
    }
    a->n = (int)n;
    a->k = (int)k;
    a->depth = (int)depth;
    t->state = a;
    snprintf(t->spec, sizeof(t->spec), "assign:vars=%ld,values=%ld,depth=%ld", n, k, depth);
    t->vocab = a->n + a->k + 1;
    t->q_len = 2;
    t->a_len = 2;
    t->n_types = ASSIGN_TYPES;
    t->type_names[TYPE_VALUE] = "value";
    t->type_names[TYPE_DEF] = "def";
    t->type_names[TYPE_TABLE] = "table";
    t->max_difficulty = a->depth + 1;
    t->episode_size = sizeof(struct assign_episode);
    t->max_asks = 4; /* def, the values of y and z, table */
    t->headline_type = 0;
    t->facts_max = facts_max_for(a->n, a->k); /* <= 120 within the ranges above */
    t->fact_len = ASSIGN_FACT_LEN;
    t->questions_per_context = ASSIGN_QUESTIONS_PER_CONTEXT;
    t->eval_size = 1024; /* 64 instances of 16 questions */
    return 0;
}

static void assign_destroy(struct iamp_task *t)
{
    free(t->state);
}

/* The instance's variables in order of definition: names[0..size); the
 * facts of each, then the entries of f, shuffled into c. */
static void assign_draw_context(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                                struct iamp_context *c)
{
    const struct assign *a = state_of(t);
    int lo = a->n < ASSIGN_SIZE_MIN ? a->n : ASSIGN_SIZE_MIN;
    int size = lo + (int)iamp_rng_below(r, (uint32_t)(a->n - lo + 1)), nconst = isqrt(size);
    int names[ASSIGN_VARS_MAX], depth[ASSIGN_VARS_MAX], value[ASSIGN_VARS_MAX];
    int pool[ASSIGN_VARS_MAX], order[IAMP_FACTS_MAX];
    int8_t tab[ASSIGN_VALUES_MAX][ASSIGN_VALUES_MAX];
    uint16_t facts[IAMP_FACTS_MAX][ASSIGN_FACT_LEN];
    int nf = 0;
    (void)difficulty;
    memset(tab, -1, sizeof(tab));
    for (int i = 0; i < a->n; i++)
        names[i] = i;
    iamp_rng_shuffle(r, names, a->n);
    for (int i = 0; i < size; i++) {
        uint16_t *fa = facts[nf++];
        fa[0] = (uint16_t)names[i];
        if (i < nconst) {
            depth[i] = 0;
            value[i] = (int)iamp_rng_below(r, (uint32_t)a->k);
            fa[1] = (uint16_t)(a->n + value[i]);
            fa[2] = (uint16_t)nil_tok(a);
            continue;
        }
        int m = 0;
        for (int j = 0; j < i; j++)
            if (depth[j] < a->depth)
                pool[m++] = j; /* never empty: the values have depth 0 */
        int y = pool[iamp_rng_below(r, (uint32_t)m)], z = pool[iamp_rng_below(r, (uint32_t)m)];
        if (tab[value[y]][value[z]] < 0) {
            tab[value[y]][value[z]] = (int8_t)iamp_rng_below(r, (uint32_t)a->k);
            uint16_t *fe = facts[nf++];
            fe[0] = (uint16_t)(a->n + value[y]);
            fe[1] = (uint16_t)(a->n + value[z]);
            fe[2] = (uint16_t)(a->n + tab[value[y]][value[z]]);
        }
        value[i] = tab[value[y]][value[z]];
        depth[i] = (depth[y] > depth[z] ? depth[y] : depth[z]) + 1;
        fa[1] = (uint16_t)names[y];
        fa[2] = (uint16_t)names[z];
    }
    for (int f = 0; f < nf; f++)
        order[f] = f;
    iamp_rng_shuffle(r, order, nf);
    memset(c, 0, sizeof(*c));
    c->n_facts = (uint16_t)nf;
    c->fact_len = ASSIGN_FACT_LEN;
    for (int f = 0; f < nf; f++)
        memcpy(c->tok[f], facts[order[f]], sizeof(facts[0]));
}

static int assign_valid_context(const struct iamp_task *t, const struct iamp_context *c, char *err,
                                size_t errlen)
{
    struct assign_instance in;
    return read_instance(state_of(t), c, &in, err, errlen);
}

/* Uniform among the variables of depth in [lo, hi]; -1 when none. */
static int pick_var(const struct assign *a, const struct assign_instance *in, struct iamp_rng *r,
                    int lo, int hi)
{
    int cand[ASSIGN_VARS_MAX], m = 0;
    for (int x = 0; x < a->n; x++)
        if (in->depth[x] >= lo && in->depth[x] <= hi)
            cand[m++] = x;
    return m ? cand[iamp_rng_below(r, (uint32_t)m)] : -1;
}

static void assign_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                          struct iamp_question *q)
{
    const struct assign *a = state_of(t);
    struct assign_instance in;
    int level = difficulty < 1 ? 1 : difficulty, x = -1;
    int reach = (level > t->max_difficulty ? t->max_difficulty : level) - 1; /* deepest asked */
    if (read_instance(a, q->ctx, &in, NULL, 0)) {
        if (iamp_rng_below(r, 2) == 0) {
            int lv = (int)iamp_rng_below(r, (uint32_t)(reach + 1));
            x = pick_var(a, &in, r, lv, lv);
            if (x < 0)
                x = pick_var(a, &in, r, 0, lv);
        } else {
            x = pick_var(a, &in, r, 0, reach);
        }
    }
    make_question(TYPE_VALUE, x < 0 ? 0 : x, q); /* no instance (a tool sampling blind): 0 */
}

static int assign_parse(const struct iamp_task *t, const char *text, struct iamp_question *q,
                        char *err, size_t errlen)
{
    static const char *const words[] = {"value", "def", "table"};
    static const char *const var_key[] = {"x"}, *const tab_keys[] = {"a", "b"};
    const struct assign *a = state_of(t);
    const char *rest = NULL;
    long v[2];
    int ty = iamp_question_type_word(text, words, ASSIGN_TYPES, &rest);
    if (ty < 0 || (ty == TYPE_TABLE ? iamp_question_words(rest, tab_keys, v, 2)
                                    : iamp_question_words(rest, var_key, v, 1))) {
        snprintf(err, errlen,
                 "question '%s' is not of the form 'value x=<0..%d>', 'def x=<0..%d>' or "
                 "'table a=<0..%d> b=<0..%d>'",
                 text, a->n - 1, a->n - 1, a->k - 1, a->k - 1);
        return IAMP_EPARSE;
    }
    if (ty == TYPE_TABLE) {
        if (v[0] >= a->k || v[1] >= a->k) {
            snprintf(err, errlen, "question '%s': a and b must be values, 0..%d", text, a->k - 1);
            return IAMP_ERANGE;
        }
        make_table_question(a, (int)v[0], (int)v[1], q);
        return 0;
    }
    if (v[0] >= a->n) {
        snprintf(err, errlen, "question '%s': x must be a variable, 0..%d", text, a->n - 1);
        return IAMP_ERANGE;
    }
    make_question(ty, (int)v[0], q);
    return 0;
}

static void assign_format_question(const struct iamp_task *t, const struct iamp_question *q,
                                   char *buf, size_t len)
{
    const struct assign *a = state_of(t);
    if (q->type == TYPE_TABLE)
        snprintf(buf, len, "table a=%d b=%d", q->tok[0] - a->n, q->tok[1] - a->n);
    else
        snprintf(buf, len, "%s x=%d", q->type == TYPE_DEF ? "def" : "value", q->tok[0]);
}

/* Answers: a value "5"; a definition "= 5" (x := 5), "f 2 4" (x := f(2,
 * 4)) or "none"; anything else "?". */
static void assign_format_answer(const struct iamp_task *t, const struct iamp_question *q,
                                 const struct iamp_answer *a, char *buf, size_t len)
{
    const struct assign *s = state_of(t);
    if (q->type == TYPE_DEF && a->len == 2 && is_value(s, a->tok[0]) && a->tok[1] == nil_tok(s))
        snprintf(buf, len, "= %d", a->tok[0] - s->n);
    else if (q->type == TYPE_DEF && a->len == 2 && is_var(s, a->tok[0]) && is_var(s, a->tok[1]))
        snprintf(buf, len, "f %d %d", a->tok[0], a->tok[1]);
    else if (q->type == TYPE_DEF && a->len == 2 && a->tok[0] == nil_tok(s) &&
             a->tok[1] == nil_tok(s))
        snprintf(buf, len, "none");
    else if (q->type != TYPE_DEF && a->len == 1 && is_value(s, a->tok[0]))
        snprintf(buf, len, "%d", a->tok[0] - s->n);
    else
        snprintf(buf, len, "?");
}

static void assign_answer_space(const struct iamp_task *t, const struct iamp_question *q,
                                struct iamp_answer_space *s)
{
    const struct assign *a = state_of(t);
    int def = q->type == TYPE_DEF;
    s->lo = (uint16_t)(def ? 0 : a->n);
    s->hi = (uint16_t)(a->n + a->k + def); /* a definition's tokens: variables, values, NIL */
    s->max_len = (uint16_t)(def ? 2 : 1);
    s->end_tok = -1;
}

/* value and def name a variable, one the instance defines; table two
 * values. */
static int assign_valid(const struct iamp_task *t, const struct iamp_question *q)
{
    const struct assign *a = state_of(t);
    if (q->type == TYPE_TABLE)
        return q->len == 2 && is_value(a, q->tok[0]) && is_value(a, q->tok[1]);
    return q->type < TYPE_TABLE && q->len == 1 && is_var(a, q->tok[0]) &&
           (!q->ctx || def_of(a, q->ctx, q->tok[0]) >= 0);
}

/* A definition's answer: (v, NIL), (y, z), or (NIL, NIL) when no fact
 * defines x (only an unchecked question can name such an x). */
static void make_def(const struct assign *a, const struct iamp_context *c, int x,
                     struct iamp_answer *out)
{
    int f = def_of(a, c, x);
    memset(out, 0, sizeof(*out));
    out->len = 2;
    out->tok[0] = (uint16_t)(f >= 0 ? c->tok[f][1] : nil_tok(a));
    out->tok[1] = (uint16_t)(f >= 0 ? c->tok[f][2] : nil_tok(a));
}

/* H's lookups: def and table always; value of a variable assigned a
 * value (an undefined one reads as value 0). */
static int assign_primitive(const struct iamp_task *t, const struct iamp_question *q,
                            struct iamp_answer *out)
{
    const struct assign *a = state_of(t);
    if (q->type == TYPE_DEF) {
        make_def(a, q->ctx, q->tok[0], out);
        return 1;
    }
    if (q->type == TYPE_TABLE) {
        int v = table_of(a, q->ctx, q->tok[0] - a->n, q->tok[1] - a->n);
        make_value(a, v < 0 ? 0 : v, out);
        return 1;
    }
    int f = def_of(a, q->ctx, q->tok[0]);
    if (f >= 0 && !is_value(a, q->ctx->tok[f][1]))
        return 0;
    make_value(a, f >= 0 ? q->ctx->tok[f][1] - a->n : 0, out);
    return 1;
}

static void assign_episode_start(const struct iamp_task *t, void *ep, const struct iamp_question *q)
{
    struct assign_episode *e = ep;
    (void)t;
    memset(e, 0, sizeof(*e));
    e->x = q->tok[0];
}

/* An answer from M is always a value (the engine masks the head), but H
 * guards anyway: anything else reads as value 0. */
static int value_of(const struct assign *a, const struct iamp_answer *ans)
{
    return ans->len >= 1 && is_value(a, ans->tok[0]) ? ans->tok[0] - a->n : 0;
}

static int assign_episode_step(const struct iamp_task *t, void *ep,
                               const struct iamp_answer *answers, int n_answers,
                               struct iamp_question *asks, int *n_asks, struct iamp_answer *out)
{
    const struct assign *a = state_of(t);
    struct assign_episode *e = ep;
    *n_asks = 0;
    switch (e->phase) {
    case 0:
        make_question(TYPE_DEF, e->x, &asks[0]);
        *n_asks = 1;
        break;
    case 1: /* the definition: a value is the answer, operands are asked */
        if (n_answers == 1 && answers[0].len == 2 && is_var(a, answers[0].tok[0]) &&
            is_var(a, answers[0].tok[1])) {
            make_question(TYPE_VALUE, answers[0].tok[0], &asks[0]);
            make_question(TYPE_VALUE, answers[0].tok[1], &asks[1]);
            *n_asks = 2;
            break;
        }
        make_value(a, n_answers == 1 ? value_of(a, &answers[0]) : 0, out);
        return IAMP_EP_DONE;
    case 2:
        make_table_question(a, n_answers == 2 ? value_of(a, &answers[0]) : 0,
                            n_answers == 2 ? value_of(a, &answers[1]) : 0, &asks[0]);
        *n_asks = 1;
        break;
    default:
        make_value(a, n_answers == 1 ? value_of(a, &answers[0]) : 0, out);
        return IAMP_EP_DONE;
    }
    e->phase++;
    return IAMP_EP_ASK;
}

static void assign_truth(const struct iamp_task *t, const struct iamp_question *q,
                         struct iamp_answer *out)
{
    const struct assign *a = state_of(t);
    struct assign_instance in;
    int x = q->tok[0];
    if (q->type != TYPE_VALUE) { /* the lookups: the facts are their truth */
        (void)assign_primitive(t, q, out);
        return;
    }
    int ok = read_instance(a, q->ctx, &in, NULL, 0) && is_var(a, x) && in.depth[x] >= 0;
    make_value(a, ok ? in.value[x] : 0, out);
}

static int assign_correct(const struct iamp_task *t, const struct iamp_question *q,
                          const struct iamp_answer *ans)
{
    struct iamp_answer truth;
    assign_truth(t, q, &truth);
    return iamp_answer_equal(ans, &truth);
}

const struct iamp_task_ops iamp_assign_ops = {
    .name = "assign",
    .summary = "sequential assignments: value x=X asks X's value in its instance's program "
               "(facts: x := v, x := f(y, z) and f's entries; H looks them up by def x=X "
               "and table a=A b=B)",
    .params = "vars=16 (2..64) variable names, instances of min(9,vars)..vars variables; "
              "values=8 (2..16); depth=4 (1..16) deepest definition, the levels being "
              "depth + 1",
    .train_defaults = ASSIGN_DEFAULTS,
    .create = assign_create,
    .destroy = assign_destroy,
    .sample = assign_sample,
    .draw_context = assign_draw_context,
    .valid_context = assign_valid_context,
    .parse_question = assign_parse,
    .format_question = assign_format_question,
    .format_answer = assign_format_answer,
    .answer_space = assign_answer_space,
    .valid_question = assign_valid,
    .primitive = assign_primitive,
    .episode_start = assign_episode_start,
    .episode_step = assign_episode_step,
    .truth = assign_truth,
    .correct = assign_correct,
};
