/* task.c — task spec parsing, the task table, and counted ground truth.
 *
 * Adding a task: write tasks/<name>.c with its iamp_task_ops and add it to
 * the table below. Nothing else in iamp names a task.
 */
#include "tasks/task.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct iamp_task_ops iamp_permpow_ops;
extern const struct iamp_task_ops iamp_remote_ops;
extern const struct iamp_task_ops iamp_tictactoe_ops;
extern const struct iamp_task_ops iamp_trajectory_ops;
extern const struct iamp_task_ops iamp_markov_ops;
extern const struct iamp_task_ops iamp_graph_ops;
extern const struct iamp_task_ops iamp_assign_ops;
extern const struct iamp_task_ops iamp_wildcard_ops;
extern const struct iamp_task_ops iamp_unionfind_ops;
extern const struct iamp_task_ops iamp_path_ops;

static const struct iamp_task_ops *const task_table[] = {
    &iamp_permpow_ops, &iamp_tictactoe_ops, &iamp_trajectory_ops, &iamp_markov_ops,
    &iamp_graph_ops,   &iamp_assign_ops,    &iamp_wildcard_ops,   &iamp_unionfind_ops,
    &iamp_path_ops,    &iamp_remote_ops,
};

static atomic_long truth_calls;

int iamp_task_count(void)
{
    return (int)(sizeof(task_table) / sizeof(task_table[0]));
}

const struct iamp_task_ops *iamp_task_ops_at(int i)
{
    return (i >= 0 && i < iamp_task_count()) ? task_table[i] : NULL;
}

static int copy_bounded(char *dst, size_t cap, const char *src, size_t n)
{
    if (n == 0 || n >= cap)
        return IAMP_EINVAL;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

static int spec_parse_pair(struct iamp_spec *spec, const char *p, size_t n, char *err,
                           size_t errlen)
{
    const char *eq = memchr(p, '=', n);
    if (!eq) {
        snprintf(err, errlen, "parameter '%.*s' is not key=value", (int)n, p);
        return IAMP_EPARSE;
    }
    if (spec->n_params == IAMP_PARAMS_MAX) {
        snprintf(err, errlen, "more than %d task parameters", IAMP_PARAMS_MAX);
        return IAMP_ELIMIT;
    }
    int i = spec->n_params;
    size_t kn = (size_t)(eq - p), vn = n - kn - 1;
    if (copy_bounded(spec->key[i], sizeof(spec->key[i]), p, kn) ||
        copy_bounded(spec->val[i], sizeof(spec->val[i]), eq + 1, vn)) {
        snprintf(err, errlen, "task parameter '%.*s' has an empty or overlong key or value", (int)n,
                 p);
        return IAMP_EPARSE;
    }
    for (int j = 0; j < i; j++) {
        if (strcmp(spec->key[j], spec->key[i]) == 0) {
            snprintf(err, errlen, "task parameter '%s' given twice", spec->key[i]);
            return IAMP_EPARSE;
        }
    }
    spec->n_params++;
    return 0;
}

int iamp_spec_parse(const char *text, struct iamp_spec *spec, char *err, size_t errlen)
{
    memset(spec, 0, sizeof(*spec));
    const char *colon = strchr(text, ':');
    size_t nn = colon ? (size_t)(colon - text) : strlen(text);
    if (copy_bounded(spec->name, sizeof(spec->name), text, nn)) {
        snprintf(err, errlen, "task spec '%s' has an empty or overlong name", text);
        return IAMP_EPARSE;
    }
    if (!colon)
        return 0;
    const char *p = colon + 1;
    if (*p == '\0') {
        snprintf(err, errlen, "task spec '%s' has nothing after ':'", text);
        return IAMP_EPARSE;
    }
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        int rc = spec_parse_pair(spec, p, n, err, errlen);
        if (rc)
            return rc;
        p += n;
        if (*p == ',') {
            p++;
            if (*p == '\0') {
                snprintf(err, errlen, "task spec '%s' ends with ','", text);
                return IAMP_EPARSE;
            }
        }
    }
    return 0;
}

const char *iamp_spec_get(const struct iamp_spec *spec, const char *key)
{
    for (int i = 0; i < spec->n_params; i++)
        if (strcmp(spec->key[i], key) == 0)
            return spec->val[i];
    return NULL;
}

int iamp_spec_int(const struct iamp_spec *spec, const char *key, long def, long lo, long hi,
                  long *out, char *err, size_t errlen)
{
    const char *v = iamp_spec_get(spec, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0') {
        snprintf(err, errlen, "task parameter %s=%s is not an integer", key, v);
        return IAMP_EPARSE;
    }
    if (x < lo || x > hi) {
        snprintf(err, errlen, "task parameter %s=%ld is out of range [%ld, %ld]", key, x, lo, hi);
        return IAMP_ERANGE;
    }
    *out = x;
    return 0;
}

int iamp_spec_check_keys(const struct iamp_spec *spec, const char *const *keys, char *err,
                         size_t errlen)
{
    for (int i = 0; i < spec->n_params; i++) {
        int known = 0;
        for (const char *const *k = keys; *k; k++)
            known |= strcmp(*k, spec->key[i]) == 0;
        if (!known) {
            snprintf(err, errlen, "task %s has no parameter '%s'", spec->name, spec->key[i]);
            return IAMP_EUNKNOWN;
        }
    }
    return 0;
}

int iamp_question_type_word(const char *text, const char *const *words, int n, const char **rest)
{
    while (*text == ' ' || *text == '\t')
        text++;
    for (int ty = 0; ty < n; ty++) {
        size_t len = strlen(words[ty]);
        if (strncmp(text, words[ty], len) == 0 && (text[len] == ' ' || text[len] == '\t')) {
            *rest = text + len;
            return ty;
        }
    }
    return -1;
}

/* "key=<decimal>" into *out when the word w[0..wn) is key's: 1; 0 when
 * it is another key's; -1 on a bad number. */
static int question_kv(const char *w, size_t wn, const char *key, long *out)
{
    size_t kn = strlen(key);
    if (wn <= kn + 1 || strncmp(w, key, kn) != 0 || w[kn] != '=')
        return 0;
    char num[24];
    size_t nn = wn - kn - 1;
    if (nn >= sizeof(num))
        return -1;
    memcpy(num, w + kn + 1, nn);
    num[nn] = '\0';
    for (size_t i = 0; i < nn; i++)
        if (!isdigit((unsigned char)num[i]))
            return -1;
    errno = 0;
    *out = strtol(num, NULL, 10);
    return errno ? -1 : 1;
}

int iamp_eval_grid(const struct iamp_task *t, struct iamp_rng *r, int n, int levels,
                   iamp_grid_make_fn make, struct iamp_question *qs, int max)
{
    int per = max / levels, count = 0;
    per = per < 1 ? 1 : per > n ? n : per;
    int *xs = malloc((size_t)n * sizeof(int));
    if (!xs)
        return 0;
    for (int level = 1; level <= levels && count < max; level++) {
        for (int i = 0; i < n; i++)
            xs[i] = i;
        iamp_rng_shuffle(r, xs, n);
        for (int j = 0; j < per && count < max; j++)
            make(t, xs[j], level, &qs[count++]);
    }
    free(xs);
    return count;
}

int iamp_question_words(const char *s, const char *const *keys, long *vals, int n_keys)
{
    int words = 0;
    for (int i = 0; i < n_keys; i++)
        vals[i] = -1;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        const char *w = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        int hit = 0;
        for (int i = 0; i < n_keys && !hit; i++) {
            int r = vals[i] < 0 ? question_kv(w, (size_t)(s - w), keys[i], &vals[i]) : 0;
            if (r < 0)
                return -1;
            hit = r;
        }
        if (!hit)
            return -1;
        words++;
    }
    return words == n_keys ? 0 : -1;
}

int iamp_task_create(struct iamp_task *t, const char *spec_text, char *err, size_t errlen)
{
    struct iamp_spec spec;
    memset(t, 0, sizeof(*t));
    int rc = iamp_spec_parse(spec_text, &spec, err, errlen);
    if (rc)
        return rc;
    for (int i = 0; i < iamp_task_count(); i++) {
        if (strcmp(task_table[i]->name, spec.name) == 0) {
            t->ops = task_table[i];
            t->headline_type = -1; /* defaults a task's create may change */
            t->approve_type = -1;
            t->eval_size = 1008;
            rc = t->ops->create(t, &spec, err, errlen);
            if (rc)
                memset(t, 0, sizeof(*t));
            return rc;
        }
    }
    int n = snprintf(err, errlen, "unknown task '%s' (known:", spec.name);
    for (int i = 0; i < iamp_task_count() && n > 0 && (size_t)n < errlen; i++)
        n += snprintf(err + n, errlen - (size_t)n, " %s", task_table[i]->name);
    if (n > 0 && (size_t)n < errlen)
        snprintf(err + n, errlen - (size_t)n, ")");
    return IAMP_EUNKNOWN;
}

void iamp_task_ops_batched(struct iamp_task_ops *out, const struct iamp_task_ops *base,
                           uint64_t (*begin)(const struct iamp_task *),
                           int (*batch)(const struct iamp_task *, uint64_t, struct iamp_h_call *,
                                        int),
                           void (*end)(const struct iamp_task *, uint64_t))
{
    *out = *base;
    out->primitive = NULL;
    out->episode_start = NULL;
    out->episode_step = NULL;
    out->h_run_begin = begin;
    out->h_batch = batch;
    out->h_run_end = end;
}

void iamp_task_destroy(struct iamp_task *t)
{
    if (t && t->ops && t->ops->destroy)
        t->ops->destroy(t);
    if (t)
        memset(t, 0, sizeof(*t));
}

void iamp_task_truth(const struct iamp_task *t, const struct iamp_question *q,
                     struct iamp_answer *a)
{
    atomic_fetch_add(&truth_calls, 1);
    t->ops->truth(t, q, a);
}

int iamp_task_correct(const struct iamp_task *t, const struct iamp_question *q,
                      const struct iamp_answer *a)
{
    atomic_fetch_add(&truth_calls, 1);
    return t->ops->correct(t, q, a);
}

void iamp_task_metrics(const struct iamp_task *t, const struct iamp_question *q,
                       const struct iamp_answer *a, double *out)
{
    atomic_fetch_add(&truth_calls, 1);
    if (t->ops->metrics)
        t->ops->metrics(t, q, a, out);
}

long iamp_task_truth_calls(void)
{
    return atomic_load(&truth_calls);
}

int iamp_task_compares(const struct iamp_task *t)
{
    return t->ops->approval_compare != NULL;
}

int iamp_task_approvable(const struct iamp_task *t, int type)
{
    int by_question = t->approve_type >= 0 && t->ops->approval_question != NULL;
    return (by_question || iamp_task_compares(t)) && type >= 0 && type < t->n_types &&
           (t->approvable & (1u << type)) != 0;
}

double iamp_task_approval_compare(const struct iamp_task *t, const struct iamp_question *q,
                                  const struct iamp_answer *a, const struct iamp_answer *amp)
{
    double s = t->ops->approval_compare(t, q, a, amp);
    return s > 0.0 ? (s < 1.0 ? s : 1.0) : 0.0; /* NAN scores 0 */
}

void iamp_task_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                      const struct iamp_context *ctx, struct iamp_question *q)
{
    q->ctx = ctx;
    t->ops->sample(t, r, difficulty, q);
    q->ctx = ctx;
}

int iamp_task_contexts_for(const struct iamp_task *t, int n)
{
    if (!iamp_task_has_contexts(t) || n <= 0)
        return 0;
    int per = t->questions_per_context > 0 ? t->questions_per_context : 1;
    return (n + per - 1) / per;
}

void iamp_task_sample_roots(const struct iamp_task *t, struct iamp_rng *r, int difficulty, int n,
                            struct iamp_context *ctxs, struct iamp_question *qs)
{
    int d = difficulty > 0 ? difficulty : t->max_difficulty;
    if (!iamp_task_has_contexts(t)) {
        for (int i = 0; i < n; i++)
            iamp_task_sample(t, r, d, NULL, &qs[i]);
        return;
    }
    int per = t->questions_per_context > 0 ? t->questions_per_context : 1;
    for (int i = 0; i < n; i++) {
        int k = i / per;
        if (i % per == 0)
            t->ops->draw_context(t, r, d, &ctxs[k]);
        iamp_task_sample(t, r, d, &ctxs[k], &qs[i]);
    }
}

int iamp_task_has_contexts(const struct iamp_task *t)
{
    return t->facts_max > 0;
}

int iamp_task_check_context(const struct iamp_task *t, const struct iamp_context *c, char *err,
                            size_t errlen)
{
    if (!iamp_task_has_contexts(t)) {
        snprintf(err, errlen, "task %s takes no facts", t->spec);
        return IAMP_EINVAL;
    }
    if (c->n_facts < 1 || c->n_facts > t->facts_max || c->fact_len != t->fact_len) {
        snprintf(err, errlen, "a context of task %s holds 1..%d facts of %d tokens (got %d of %d)",
                 t->spec, t->facts_max, t->fact_len, c->n_facts, c->fact_len);
        return IAMP_EINVAL;
    }
    for (int f = 0; f < c->n_facts; f++)
        for (int j = 0; j < IAMP_FACT_LEN; j++)
            if ((j < c->fact_len && c->tok[f][j] >= t->vocab) ||
                (j >= c->fact_len && c->tok[f][j])) {
                snprintf(err, errlen, "fact %d: token %d out of range", f + 1, c->tok[f][j]);
                return IAMP_EINVAL;
            }
    if (t->ops->valid_context && !t->ops->valid_context(t, c, err, errlen))
        return IAMP_EINVAL;
    return 0;
}

int iamp_context_line(const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    return strncmp(text, "facts:", 6) == 0;
}

int iamp_context_parse(const struct iamp_task *t, const char *text, struct iamp_context *c,
                       char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    while (*text == ' ' || *text == '\t')
        text++;
    if (strncmp(text, "facts:", 6) != 0) {
        snprintf(err, errlen, "a facts line begins with 'facts:'");
        return IAMP_EPARSE;
    }
    const char *p = text + 6;
    int f = 0, j = 0, len = -1;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == ',' || *p == 0 || *p == '\r' || *p == '\n') {
            if (j == 0) {
                snprintf(err, errlen, "fact %d is empty (facts are separated by commas)", f + 1);
                return IAMP_EPARSE;
            }
            if (len >= 0 && j != len) {
                snprintf(err, errlen, "fact %d has %d tokens, fact 1 has %d", f + 1, j, len);
                return IAMP_EPARSE;
            }
            len = j;
            f++;
            j = 0;
            if (*p != ',')
                break;
            p++;
            continue;
        }
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 65535 || (*end && !strchr(" \t,\r\n", *end))) {
            snprintf(err, errlen, "fact %d: '%.20s' is not a token (a decimal number)", f + 1, p);
            return IAMP_EPARSE;
        }
        if (f >= IAMP_FACTS_MAX || j >= IAMP_FACT_LEN) {
            snprintf(err, errlen, "more than %d facts or more than %d tokens in a fact",
                     IAMP_FACTS_MAX, IAMP_FACT_LEN);
            return IAMP_ELIMIT;
        }
        c->tok[f][j++] = (uint16_t)v;
        p = end;
    }
    c->n_facts = (uint16_t)f;
    c->fact_len = (uint16_t)len;
    return t ? iamp_task_check_context(t, c, err, errlen) : 0;
}

void iamp_context_format(const struct iamp_context *c, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "facts:");
    for (int f = 0; f < c->n_facts && at < len; f++)
        for (int j = 0; j < c->fact_len && at < len; j++)
            at += (size_t)snprintf(buf + at, len - at, "%s%u", j ? " " : (f ? ", " : " "),
                                   (unsigned)c->tok[f][j]);
}

const char *iamp_task_train_defaults(const struct iamp_task *t)
{
    return t->train_defaults ? t->train_defaults : t->ops->train_defaults;
}

int iamp_task_continuous(const struct iamp_task *t, const struct iamp_question *q)
{
    return q->type < 32 && (t->continuous & (1u << q->type)) != 0;
}

int iamp_task_agree(const struct iamp_task *t, const struct iamp_question *q,
                    const struct iamp_answer *a, const struct iamp_answer *b)
{
    return t->ops->agree ? t->ops->agree(t, q, a, b) : iamp_answer_equal(a, b);
}

int iamp_task_approval_question(const struct iamp_task *t, const struct iamp_question *q,
                                const struct iamp_answer *a, struct iamp_question *aq)
{
    if (!iamp_task_approvable(t, q->type) || !t->ops->approval_question ||
        !iamp_answer_valid(t, q, a))
        return IAMP_EINVAL;
    t->ops->approval_question(t, q, a, aq);
    aq->ctx = q->ctx; /* judged on the same instance */
    return 0;
}

double iamp_task_approval_score(const struct iamp_task *t, const struct iamp_question *aq,
                                const struct iamp_answer *a)
{
    double s = t->ops->approval_score ? t->ops->approval_score(t, aq, a) : 0.0;
    return s < 0.0 ? 0.0 : s > 1.0 ? 1.0 : s;
}

int iamp_answer_valid(const struct iamp_task *t, const struct iamp_question *q,
                      const struct iamp_answer *a)
{
    if (iamp_task_continuous(t, q))
        return a->len == 0 && a->value >= 0.0f && a->value <= 1.0f;
    struct iamp_answer_space s;
    t->ops->answer_space(t, q, &s);
    if (a->len == 0 || a->len > s.max_len)
        return 0;
    for (int i = 0; i < a->len; i++) {
        if (a->tok[i] < s.lo || a->tok[i] >= s.hi)
            return 0;
        if (s.end_tok >= 0 && a->tok[i] == s.end_tok && i != a->len - 1)
            return 0;
    }
    /* A sequence ends with END unless it was cut at the cap. */
    if (s.end_tok >= 0)
        return a->tok[a->len - 1] == s.end_tok || a->len == s.max_len;
    return a->len == s.max_len;
}

int iamp_answer_equal(const struct iamp_answer *a, const struct iamp_answer *b)
{
    return a->len == b->len && memcmp(a->tok, b->tok, a->len * sizeof(a->tok[0])) == 0 &&
           a->value == b->value;
}

/* A token uniform in [lo, hi) other than skip (-1: none), from n choices. */
static uint16_t uniform_token(const struct iamp_answer_space *s, int32_t skip, uint32_t n,
                              struct iamp_rng *r)
{
    uint32_t k = s->lo + iamp_rng_below(r, n);
    return (uint16_t)(skip >= 0 && k >= (uint32_t)skip ? k + 1 : k);
}

void iamp_answer_uniform(const struct iamp_task *t, const struct iamp_question *q,
                         struct iamp_rng *r, struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    if (iamp_task_continuous(t, q)) {
        a->value = (float)iamp_rng_uniform(r);
        if (a->value >= 1.0f) /* a double just below 1 rounds up */
            a->value = 0.0f;
        return;
    }
    struct iamp_answer_space s;
    t->ops->answer_space(t, q, &s);
    uint32_t width = (uint32_t)(s.hi - s.lo);
    if (s.end_tok < 0) {
        a->len = s.max_len;
        for (int i = 0; i < a->len; i++)
            a->tok[i] = uniform_token(&s, -1, width, r);
        return;
    }
    /* END is one of the width tokens: the others are the width - 1 below. */
    a->len = width > 1 ? (uint16_t)(1 + iamp_rng_below(r, s.max_len)) : 1;
    for (int i = 0; i + 1 < a->len; i++)
        a->tok[i] = uniform_token(&s, s.end_tok, width - 1, r);
    a->tok[a->len - 1] = (uint16_t)s.end_tok;
}
