/* demos.c — see demos.h.
 *
 * Loading is one pass over the file: each line is checked as JSON
 * (common/json.c), its question parsed and checked by the task, its facts
 * parsed and checked against the task and looked up among the distinct
 * ones seen so far (a hash of their tokens), its answer checked against
 * the question's answer space. Questions refer to their facts by index
 * while the contexts array may still move; the pointers are set at the
 * end. The passes' shuffles are drawn when a round first needs them.
 */
#include "coordinator/train/demos.h"

#include "common/crc32c.h"
#include "common/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_STREAM (0x64656d6f73ull << 24)    /* "demos", plus the pass */
#define CTX_SLOTS (2 * IAMP_DEMO_CONTEXTS_MAX) /* the facts' hash table, at most half full */

enum { KEY_QUESTION, KEY_FACTS, KEY_ANSWER, KEY_COUNT };
static const char *const demo_keys[KEY_COUNT] = {"question", "facts", "answer"};

/* What loading holds besides the set itself. */
struct loader {
    struct iamp_demos *d;
    const struct iamp_task *t;
    int cap, cap_ctx;
    int *qctx;  /* (cap) each question's facts, -1: none */
    int *slots; /* (CTX_SLOTS) index + 1 into d->ctx, 0: empty; NULL without facts */
    char why[512];
};

/* ---------------------------------------------------------- facts */

static uint32_t context_hash(const struct iamp_context *c)
{
    return iamp_crc32c(0, c, offsetof(struct iamp_context, tok) + c->n_facts * sizeof(c->tok[0]));
}

/* The index of c among the distinct facts, adding it when new; -1 when
 * there would be too many. iamp_context_parse zeroes what c leaves
 * unused, so equal facts are equal bytes. */
static int intern_context(struct loader *L, const struct iamp_context *c)
{
    struct iamp_demos *d = L->d;
    uint32_t h = context_hash(c) & (CTX_SLOTS - 1);
    while (L->slots[h]) {
        if (memcmp(&d->ctx[L->slots[h] - 1], c, sizeof(*c)) == 0)
            return L->slots[h] - 1;
        h = (h + 1) & (CTX_SLOTS - 1);
    }
    if (d->n_ctx == IAMP_DEMO_CONTEXTS_MAX)
        return -1;
    if (d->n_ctx == L->cap_ctx) {
        int cap = L->cap_ctx ? 2 * L->cap_ctx : 64;
        struct iamp_context *p = realloc(d->ctx, (size_t)cap * sizeof(*p));
        if (!p)
            return -2;
        d->ctx = p;
        L->cap_ctx = cap;
    }
    d->ctx[d->n_ctx] = *c;
    L->slots[h] = ++d->n_ctx;
    return d->n_ctx - 1;
}

/* The facts line of a "facts" value, with the word "facts:" put in
 * front when it lacks it (the JSONL of iamp answer leaves it out). */
static int facts_text(struct loader *L, const char *line, const struct iamp_json_span *sp,
                      char *text, size_t len)
{
    char raw[IAMP_FACTS_TEXT_MAX];
    int rc = iamp_json_string_value(line, *sp, raw, sizeof(raw));
    if (rc) {
        snprintf(L->why, sizeof(L->why), "\"facts\" %s",
                 rc == IAMP_ERANGE ? "is too long" : "is not a facts line (a string)");
        return rc;
    }
    const char *s = raw + strspn(raw, " \t");
    snprintf(text, len, "%s%s", iamp_context_line(s) ? "" : "facts: ", s);
    return 0;
}

/* The line's facts into *k (an index into d->ctx, -1: none). */
static int take_facts(struct loader *L, const char *line, unsigned found,
                      const struct iamp_json_span *sp, int *k)
{
    char text[IAMP_FACTS_TEXT_MAX + 8], err[256];
    struct iamp_context c;
    int has = (found >> KEY_FACTS) & 1;
    *k = -1;
    if (!iamp_task_has_contexts(L->t) && !has)
        return 0;
    if (!iamp_task_has_contexts(L->t) || !has) {
        snprintf(L->why, sizeof(L->why),
                 has ? "task %s takes no facts"
                     : "task %s asks every question on facts: no \"facts\"",
                 L->t->spec);
        return IAMP_EINVAL;
    }
    int rc = facts_text(L, line, &sp[KEY_FACTS], text, sizeof(text));
    if (!rc)
        rc = iamp_context_parse(L->t, text, &c, err, sizeof(err));
    if (rc) {
        if (!L->why[0])
            snprintf(L->why, sizeof(L->why), "facts: %s", err);
        return rc;
    }
    *k = intern_context(L, &c);
    if (*k == -2)
        return IAMP_ENOMEM;
    if (*k < 0) {
        snprintf(L->why, sizeof(L->why), "more than %d distinct facts lines",
                 IAMP_DEMO_CONTEXTS_MAX);
        return IAMP_ELIMIT;
    }
    return 0;
}

/* ---------------------------------------------------------- a line */

static int take_question(struct loader *L, const char *line, const struct iamp_json_span *sp,
                         struct iamp_question *q)
{
    char text[IAMP_TEXT_MAX], err[256];
    int rc = iamp_json_string_value(line, sp[KEY_QUESTION], text, sizeof(text));
    if (rc) {
        snprintf(L->why, sizeof(L->why), "\"question\" %s",
                 rc == IAMP_ERANGE ? "is too long" : "is not a string");
        return rc;
    }
    /* The task's reasons name the question ("question 'pow x=1 k=99': ..."). */
    if (L->t->ops->parse_question(L->t, text, q, err, sizeof(err))) {
        snprintf(L->why, sizeof(L->why), "%s", err);
        return IAMP_EPARSE;
    }
    return 0;
}

/* What answers to q may be, for a reason. */
static void describe_space(const struct iamp_task *t, const struct iamp_question *q, char *buf,
                           size_t len)
{
    struct iamp_answer_space s;
    t->ops->answer_space(t, q, &s);
    if (s.end_tok >= 0)
        snprintf(buf, len, "up to %u tokens in [%u, %u) ending with %d", s.max_len, s.lo, s.hi,
                 (int)s.end_tok);
    else
        snprintf(buf, len, "%u token%s in [%u, %u)", s.max_len, s.max_len == 1 ? "" : "s", s.lo,
                 s.hi);
}

static int take_answer(struct loader *L, const char *line, const struct iamp_json_span *sp,
                       const struct iamp_question *q, struct iamp_answer *a)
{
    long tok[IAMP_A_MAX];
    int n = 0;
    memset(a, 0, sizeof(*a));
    if (iamp_task_continuous(L->t, q)) {
        double v;
        if (iamp_json_number_value(line, sp[KEY_ANSWER], &v) || !(v >= 0.0 && v <= 1.0)) {
            snprintf(L->why, sizeof(L->why),
                     "\"answer\" to a continuous question is a number "
                     "in [0, 1]");
            return IAMP_EINVAL;
        }
        a->value = (float)v;
        return 0;
    }
    int rc = iamp_json_int_list(line, sp[KEY_ANSWER], tok, IAMP_A_MAX, &n);
    const char *why =
        rc == IAMP_ERANGE ? "the answer has too many tokens" : "\"answer\" is not a list of tokens";
    for (int i = 0; !rc && i < n; i++) {
        if (tok[i] < 0 || tok[i] >= L->t->vocab) {
            why = "an answer token is out of range";
            rc = IAMP_ERANGE;
        }
        a->tok[i] = rc ? 0 : (uint16_t)tok[i];
    }
    a->len = (uint16_t)n;
    if (!rc && !iamp_answer_valid(L->t, q, a)) {
        why = "the answer is outside the question's answer space";
        rc = IAMP_EINVAL;
    }
    if (rc) {
        char space[128];
        describe_space(L->t, q, space, sizeof(space));
        snprintf(L->why, sizeof(L->why), "%s (answers to this question are %s)", why, space);
    }
    return rc;
}

static int grow(struct loader *L)
{
    struct iamp_demos *d = L->d;
    int cap = L->cap ? 2 * L->cap : 1024;
    struct iamp_question *q = realloc(d->qs, (size_t)cap * sizeof(*q));
    if (q)
        d->qs = q;
    struct iamp_answer *a = q ? realloc(d->as, (size_t)cap * sizeof(*a)) : NULL;
    if (a)
        d->as = a;
    int *k = a ? realloc(L->qctx, (size_t)cap * sizeof(*k)) : NULL;
    if (!k)
        return IAMP_ENOMEM;
    L->qctx = k;
    L->cap = cap;
    return 0;
}

/* One non-blank line of len bytes. */
static int take_line(struct loader *L, const char *line, size_t len)
{
    struct iamp_demos *d = L->d;
    struct iamp_json_span sp[KEY_COUNT];
    unsigned found = 0;
    char why[256];
    if (iamp_json_object_spans(line, len, demo_keys, KEY_COUNT, &found, sp, why, sizeof(why))) {
        snprintf(L->why, sizeof(L->why), "not a JSON object: %s", why);
        return IAMP_EPARSE;
    }
    for (int k = 0; k < KEY_COUNT; k++) {
        if (k != KEY_FACTS && !(found & (1u << k))) {
            snprintf(L->why, sizeof(L->why), "no \"%s\"", demo_keys[k]);
            return IAMP_EINVAL;
        }
    }
    if (d->n == IAMP_DEMOS_MAX) {
        snprintf(L->why, sizeof(L->why), "more than %d demonstrations", IAMP_DEMOS_MAX);
        return IAMP_ELIMIT;
    }
    if (d->n == L->cap && grow(L))
        return IAMP_ENOMEM;
    struct iamp_question *q = &d->qs[d->n];
    L->qctx[d->n] = -1;
    int rc = take_question(L, line, sp, q);
    if (!rc)
        rc = take_facts(L, line, found, sp, &L->qctx[d->n]);
    q->ctx = L->qctx[d->n] >= 0 ? &d->ctx[L->qctx[d->n]] : NULL; /* for the checks below */
    if (!rc && q->ctx && !L->t->ops->valid_question(L->t, q)) {
        snprintf(L->why, sizeof(L->why), "the question is not one on these facts");
        rc = IAMP_EINVAL;
    }
    if (!rc)
        rc = take_answer(L, line, sp, q, &d->as[d->n]);
    if (!rc)
        d->n++;
    return rc;
}

/* ---------------------------------------------------------- the file */

/* The next line of f into buf (IAMP_DEMO_LINE_MAX + 1 bytes, no newline,
 * NUL-terminated) and *len; 1 when there was one, 0 at the end, or
 * IAMP_ELIMIT for a line too long. *crc covers every byte read. */
static int read_line(FILE *f, char *buf, size_t *len, uint32_t *crc)
{
    size_t n = 0;
    int ch = EOF;
    while (n <= IAMP_DEMO_LINE_MAX && (ch = getc(f)) != EOF && ch != '\n')
        buf[n++] = (char)ch;
    *crc = iamp_crc32c(*crc, buf, n);
    if (ch == '\n')
        *crc = iamp_crc32c(*crc, "\n", 1);
    if (n > IAMP_DEMO_LINE_MAX)
        return IAMP_ELIMIT;
    buf[n] = '\0';
    *len = n;
    return n > 0 || ch == '\n';
}

static int blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r", s[i]))
            return 0;
    return 1;
}

/* Every line of f; on error err names the line. */
static int load_lines(struct loader *L, FILE *f, const char *path, char *err, size_t errlen)
{
    char *buf = malloc(IAMP_DEMO_LINE_MAX + 1);
    size_t len = 0;
    long lineno = 0;
    int rc = buf ? 0 : IAMP_ENOMEM, more = 1;
    while (!rc && more) {
        more = read_line(f, buf, &len, &L->d->crc32c);
        lineno++;
        if (more == IAMP_ELIMIT) {
            snprintf(L->why, sizeof(L->why), "line longer than %d bytes", IAMP_DEMO_LINE_MAX);
            rc = IAMP_ELIMIT;
        } else if (more == 1 && !blank(buf, len)) {
            rc = take_line(L, buf, len);
        }
    }
    if (!rc && ferror(f))
        rc = IAMP_EIO;
    else if (!rc && L->d->n == 0)
        rc = IAMP_EINVAL;
    if (rc == IAMP_ENOMEM || rc == IAMP_EIO)
        snprintf(err, errlen, "%s: %s", path, rc == IAMP_EIO ? "read error" : "out of memory");
    else if (rc && L->d->n == 0 && !L->why[0])
        snprintf(err, errlen, "%s: no demonstrations in it (one JSON object a line)", path);
    else if (rc)
        snprintf(err, errlen, "%s:%ld: %s", path, lineno, L->why);
    free(buf);
    return rc;
}

int iamp_demos_load(struct iamp_demos *d, const struct iamp_task *t, const char *path, char *err,
                    size_t errlen)
{
    struct loader L = {.d = d, .t = t};
    memset(d, 0, sizeof(*d));
    err[0] = '\0';
    d->pass = -1;
    FILE *f = fopen(path, "r");
    if (!f) {
        int rc = iamp_err_from_errno(errno);
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return rc;
    }
    int rc = 0;
    if (iamp_task_has_contexts(t)) {
        L.slots = calloc(CTX_SLOTS, sizeof(int));
        rc = L.slots ? 0 : IAMP_ENOMEM;
    }
    if (!rc)
        rc = load_lines(&L, f, path, err, errlen);
    fclose(f);
    if (!rc) {
        d->perm = malloc((size_t)d->n * sizeof(int));
        rc = d->perm ? 0 : IAMP_ENOMEM;
    }
    for (int i = 0; !rc && i < d->n; i++) /* the contexts stay put from here on */
        d->qs[i].ctx = L.qctx[i] >= 0 ? &d->ctx[L.qctx[i]] : NULL;
    free(L.qctx);
    free(L.slots);
    if (rc == IAMP_ENOMEM && !err[0])
        snprintf(err, errlen, "%s: out of memory", path);
    if (rc)
        iamp_demos_release(d);
    return rc;
}

void iamp_demos_release(struct iamp_demos *d)
{
    free(d->qs);
    free(d->as);
    free(d->ctx);
    free(d->perm);
    memset(d, 0, sizeof(*d));
    d->pass = -1;
}

/* ---------------------------------------------------------- rounds */

int iamp_demos_per_round(const struct iamp_demos *d, int questions)
{
    return questions < d->n ? questions : d->n;
}

/* Pass p's order: a shuffle from its own stream of the seed. */
static void draw_pass(struct iamp_demos *d, uint64_t seed, long p)
{
    struct iamp_rng r;
    iamp_rng_seed(&r, seed, DEMO_STREAM + (uint64_t)p);
    for (int i = 0; i < d->n; i++)
        d->perm[i] = i;
    iamp_rng_shuffle(&r, d->perm, d->n);
    d->pass = p;
    d->pass_seed = seed;
}

int iamp_demos_take(struct iamp_demos *d, uint64_t seed, long round, int questions,
                    struct iamp_question *qs, struct iamp_answer *targets)
{
    int n = iamp_demos_per_round(d, questions);
    long long pos = (long long)round * n;
    if (!d->perm || round < 0)
        return IAMP_EINVAL;
    for (int i = 0; i < n; i++, pos++) {
        long p = (long)(pos / d->n);
        if (p != d->pass || seed != d->pass_seed)
            draw_pass(d, seed, p);
        int k = d->perm[pos % d->n];
        qs[i] = d->qs[k];
        targets[i] = d->as[k];
    }
    return 0;
}
