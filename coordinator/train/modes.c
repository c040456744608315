/* modes.c — see modes.h.
 *
 * Candidates: for a question of an approvable type, slot 0 of its row in
 * rd->cand is M's greedy answer and slots 1.. are sampled answers (as
 * many as its mode's `samples`). Every distinct candidate of every
 * question is judged in one engine run: its approval question ("how good
 * is answer X to Y?") is amplified with M_target greedy at the leaves,
 * exactly like an imitation target, and the task reads the score. A
 * candidate equal to an earlier one of the same question shares its
 * score. A task that approves by comparison (sequence and continuous
 * answers) has no approval question: its question itself is amplified once
 * and every candidate is scored against that amplified answer.
 * Sampling draws from the training RNG, which checkpoints carry, so a
 * resumed run samples the same answers.
 *
 * Reinforce on a token sequence (an answer space of more than one token)
 * uses the per-prefix baseline: the reward comes at the end, and each
 * answer token's advantage is the reward minus the value head's estimate
 * at the prefix before it (worker/distill.h). One-token answers keep the
 * question's baseline V(q) read before distillation.
 */
#include "coordinator/train/modes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void imitate_example(struct iamp_round_data *rd, int i);
static void search_example(struct iamp_round_data *rd, int i);
static void reinforce_example(struct iamp_round_data *rd, int i);
static void mixed_example(struct iamp_round_data *rd, int i);

/* The modes, in enum iamp_mode order. */
static const struct iamp_mode_info mode_table[IAMP_MODE_COUNT] = {
    [IAMP_MODE_IMITATE] = {"imitate", "target Amp(H, M)", 0, 0, IAMP_TARGET_AMPLIFIED, 0, 0,
                           imitate_example},
    [IAMP_MODE_SEARCH] = {"search", "the best-approved of M's greedy answer and --samples samples",
                          1, IAMP_SAMPLES_K, IAMP_TARGET_NONE, 0, 1, search_example},
    [IAMP_MODE_REINFORCE] = {"reinforce", "REINFORCE, reward = amplified approval, value baseline",
                             1, 1, IAMP_TARGET_NONE, 1, 1, reinforce_example},
    [IAMP_MODE_MIXED] = {"mixed", "lambda*imitate + (1-lambda)*reinforce + beta*KL(p_M || p_ref)",
                         1, 1, IAMP_TARGET_AMPLIFIED, 1, 0, mixed_example},
    [IAMP_MODE_SUPERVISED] = {"supervised", "ground-truth targets (a baseline only)", 0, 0,
                              IAMP_TARGET_TRUTH, 0, 0, imitate_example},
};

const struct iamp_mode_info *iamp_mode_info(int mode)
{
    return mode >= 0 && mode < IAMP_MODE_COUNT ? &mode_table[mode] : NULL;
}

const char *iamp_mode_name(int mode)
{
    return mode >= 0 && mode < IAMP_MODE_COUNT ? mode_table[mode].name : "?";
}

/* ---------------------------------------------------------- --algo */

static int mode_by_name(const char *s, size_t n)
{
    for (int i = 0; i < IAMP_MODE_COUNT; i++)
        if (strlen(mode_table[i].name) == n && strncmp(mode_table[i].name, s, n) == 0)
            return i;
    return -1;
}

static int type_by_name(const struct iamp_task *t, const char *s, size_t n)
{
    for (int i = 0; i < t->n_types; i++)
        if (strlen(t->type_names[i]) == n && strncmp(t->type_names[i], s, n) == 0)
            return i;
    return -1;
}

static int bad_mode(const char *s, size_t n, char *err, size_t errlen)
{
    char known[256] = "";
    size_t used = 0;
    for (int i = 0; i < IAMP_MODE_COUNT && used < sizeof(known); i++) {
        int w =
            snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "", mode_table[i].name);
        used += w > 0 ? (size_t)w : 0;
    }
    snprintf(err, errlen, "unknown distillation mode '%.*s' (known: %s)", (int)n, s, known);
    return IAMP_EUNKNOWN;
}

/* One word for every type: the approval modes fall back to imitate on
 * types without an approval question, and need at least one with it. */
static int algo_for_all(int m, const struct iamp_task *t, struct iamp_algo *a, char *err,
                        size_t errlen)
{
    int any = 0;
    for (int i = 0; i < IAMP_TYPES_MAX; i++) {
        int ok = i < t->n_types && iamp_task_approvable(t, i);
        a->mode[i] = mode_table[m].approval && !ok ? IAMP_MODE_IMITATE : m;
        any |= ok;
    }
    if (mode_table[m].approval && !any) {
        snprintf(err, errlen, "task %s has no approval question type, which %s needs%s", t->spec,
                 mode_table[m].name,
                 strcmp(t->ops->name, "permpow") == 0 ? " (use permpow:approve=1)" : "");
        return IAMP_EINVAL;
    }
    return 0;
}

void iamp_algo_format(const struct iamp_algo *a, const struct iamp_task *t, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->n_types && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s=%s", i ? "," : "", t->type_names[i],
                         iamp_mode_name(a->mode[i]));
        used += w > 0 ? (size_t)w : 0;
    }
}

int iamp_algo_parse(const char *text, const struct iamp_task *t, struct iamp_algo *a, char *err,
                    size_t errlen)
{
    memset(a, 0, sizeof(*a));
    if (!strchr(text, '=')) {
        int m = mode_by_name(text, strlen(text));
        if (m < 0)
            return bad_mode(text, strlen(text), err, errlen);
        return algo_for_all(m, t, a, err, errlen);
    }
    int seen[IAMP_TYPES_MAX] = {0};
    const char *p = text;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq) {
            snprintf(err, errlen, "algo part '%.*s' is not type=mode", (int)n, p);
            return IAMP_EPARSE;
        }
        int ty = type_by_name(t, p, (size_t)(eq - p));
        if (ty < 0) {
            snprintf(err, errlen, "task %s has no question type '%.*s'", t->ops->name,
                     (int)(eq - p), p);
            return IAMP_EUNKNOWN;
        }
        int m = mode_by_name(eq + 1, n - (size_t)(eq - p) - 1);
        if (m < 0)
            return bad_mode(eq + 1, n - (size_t)(eq - p) - 1, err, errlen);
        if (mode_table[m].approval && !iamp_task_approvable(t, ty)) {
            snprintf(err, errlen,
                     "question type '%s' of task %s has no approval question, which %s needs",
                     t->type_names[ty], t->spec, mode_table[m].name);
            return IAMP_EINVAL;
        }
        a->mode[ty] = m;
        seen[ty] = 1;
        p += n + (comma ? 1 : 0);
    }
    for (int i = 0; i < t->n_types; i++) {
        if (!seen[i]) {
            snprintf(err, errlen, "algo gives no mode for question type '%s'", t->type_names[i]);
            return IAMP_EINVAL;
        }
    }
    return 0;
}

/* ---------------------------------------------------------- round data */

int iamp_round_data_init(struct iamp_round_data *rd, struct iamp_session *s,
                         const struct iamp_train_config *cfg, const struct iamp_algo *algo,
                         struct iamp_rng *rng)
{
    size_t q = cfg->questions_per_round, C = (size_t)cfg->samples + 1;
    memset(rd, 0, sizeof(*rd));
    rd->s = s;
    rd->cfg = cfg;
    rd->algo = algo;
    rd->rng = rng;
    rd->qs = calloc(q, sizeof(*rd->qs));
    rd->targets = calloc(q, sizeof(*rd->targets));
    rd->mine = calloc(q, sizeof(*rd->mine));
    rd->mode = calloc(q, sizeof(int));
    rd->agree = calloc(q, sizeof(float));
    rd->cand = calloc(q * C, sizeof(*rd->cand));
    rd->score = calloc(q * C, sizeof(float));
    rd->baseline = calloc(q, sizeof(float));
    rd->ex = calloc(2 * q, sizeof(*rd->ex));
    rd->n_ex = calloc(q, sizeof(int));
    if (rd->qs && rd->targets && rd->mine && rd->mode && rd->agree && rd->cand && rd->score &&
        rd->baseline && rd->ex && rd->n_ex)
        return 0;
    iamp_round_data_release(rd);
    return IAMP_ENOMEM;
}

void iamp_round_data_release(struct iamp_round_data *rd)
{
    free(rd->qs);
    free(rd->targets);
    free(rd->mine);
    free(rd->mode);
    free(rd->agree);
    free(rd->cand);
    free(rd->score);
    free(rd->baseline);
    free(rd->ex);
    free(rd->n_ex);
    memset(rd, 0, sizeof(*rd));
}

/* ---------------------------------------------------------- a round */

static int stride(const struct iamp_round_data *rd)
{
    return (int)rd->cfg->samples + 1;
}

/* The row of question i's mode this round. */
static const struct iamp_mode_info *info(const struct iamp_round_data *rd, int i)
{
    return &mode_table[rd->mode[i]];
}

static int effective_mode(const struct iamp_round_data *rd, const struct iamp_question *q)
{
    int m = rd->algo->mode[q->type];
    if (mode_table[m].approval && rd->round < (long)rd->cfg->warmup)
        return IAMP_MODE_IMITATE;
    return m;
}

/* Candidates of question i: greedy plus samples; 0 when not approvable. */
static int n_cand(const struct iamp_round_data *rd, int i)
{
    if (!iamp_task_approvable(&rd->s->task, rd->qs[i].type))
        return 0;
    int k = info(rd, i)->samples;
    return 1 + (k == IAMP_SAMPLES_K ? (int)rd->cfg->samples : k);
}

/* Amp^depth(H, M_target) with M_target greedy at the leaves. */
static int amplify_target(struct iamp_round_data *rd, const struct iamp_question *qs, int n,
                          struct iamp_answer *out)
{
    struct iamp_amp_req req = {.depth = (int)rd->cfg->depth,
                               .pick = IAMP_PICK_TARGET,
                               .decode = IAMP_DECODE_GREEDY,
                               .temperature = 1.0f};
    return n ? iamp_session_run(rd->s, qs, n, &req, out) : 0;
}

/* Imitation targets by amplification (imitate, mixed) or by ground truth
 * (supervised); the others start from M's greedy answer. */
static int build_targets(struct iamp_round_data *rd, int n)
{
    struct iamp_session *s = rd->s;
    struct iamp_question *sub = malloc((size_t)n * sizeof(*sub));
    struct iamp_answer *out = malloc((size_t)n * sizeof(*out));
    int *idx = malloc((size_t)n * sizeof(int));
    int rc = IAMP_ENOMEM, m = 0;
    if (!sub || !out || !idx)
        goto out;
    for (int i = 0; i < n; i++) {
        rd->targets[i] = rd->mine[i];
        if (info(rd, i)->target == IAMP_TARGET_TRUTH)
            iamp_task_truth(&s->task, &rd->qs[i], &rd->targets[i]);
        else if (info(rd, i)->target == IAMP_TARGET_AMPLIFIED) {
            sub[m] = rd->qs[i];
            idx[m++] = i;
        }
    }
    rc = amplify_target(rd, sub, m, out);
    for (int k = 0; !rc && k < m; k++)
        rd->targets[idx[k]] = out[k];
out:
    free(sub);
    free(out);
    free(idx);
    return rc;
}

/* Greedy answers into slot 0, samples from M into the other slots. */
static int sample_candidates(struct iamp_round_data *rd, int n)
{
    int C = stride(rd), total = 0, k = 0;
    for (int i = 0; i < n; i++) {
        int c = n_cand(rd, i);
        if (c > 0)
            rd->cand[(size_t)i * C] = rd->mine[i];
        total += c > 1 ? c - 1 : 0;
    }
    if (total == 0)
        return 0;
    struct iamp_question *q = malloc((size_t)total * sizeof(*q));
    struct iamp_answer *a = malloc((size_t)total * sizeof(*a));
    int rc = IAMP_ENOMEM;
    if (q && a) {
        for (int i = 0; i < n; i++)
            for (int j = 1; j < n_cand(rd, i); j++)
                q[k++] = rd->qs[i];
        /* One seed per round from the training stream: the samples depend
         * on it alone, not on how many ranks draw them (session.h). */
        struct iamp_amp_req req = {.depth = 0,
                                   .pick = IAMP_PICK_M,
                                   .decode = IAMP_DECODE_SAMPLE,
                                   .temperature = 1.0f,
                                   .seed = iamp_rng_u64(rd->rng)};
        rc = iamp_session_run(rd->s, q, total, &req, a);
    }
    for (int i = 0, k2 = 0; !rc && i < n; i++)
        for (int j = 1; j < n_cand(rd, i); j++)
            rd->cand[(size_t)i * C + j] = a[k2++];
    free(q);
    free(a);
    return rc;
}

/* Index of an earlier equal candidate of the same question, or -1. */
static int earlier_twin(const struct iamp_answer *row, int j)
{
    for (int k = 0; k < j; k++)
        if (iamp_answer_equal(&row[k], &row[j]))
            return k;
    return -1;
}

/* An imitation target is already Amp(H, M_target)(q). */
static int has_amplified_target(const struct iamp_round_data *rd, int i)
{
    return info(rd, i)->target == IAMP_TARGET_AMPLIFIED;
}

/* Approval by comparison: each question with candidates is amplified once
 * (imitate and mixed questions already were: their target), and every
 * candidate is scored against that answer. */
static int compare_candidates(struct iamp_round_data *rd, int n)
{
    const struct iamp_task *t = &rd->s->task;
    int C = stride(rd), m = 0, rc = IAMP_ENOMEM;
    struct iamp_question *q = malloc((size_t)n * sizeof(*q));
    struct iamp_answer *amp = malloc((size_t)n * sizeof(*amp));
    int *slot = malloc((size_t)n * sizeof(int)); /* question i's amplified answer: amp[slot[i]] */
    if (q && amp && slot) {
        for (int i = 0; i < n; i++)
            if (n_cand(rd, i) > 0 && !has_amplified_target(rd, i)) {
                q[m] = rd->qs[i];
                slot[i] = m++;
            }
        rc = amplify_target(rd, q, m, amp);
    }
    for (int i = 0; !rc && i < n; i++) {
        const struct iamp_answer *a = has_amplified_target(rd, i) ? &rd->targets[i] : &amp[slot[i]];
        for (int j = 0; j < n_cand(rd, i); j++) {
            size_t at = (size_t)i * C + j;
            rd->score[at] = (float)iamp_task_approval_compare(t, &rd->qs[i], &rd->cand[at], a);
        }
    }
    free(q);
    free(amp);
    free(slot);
    return rc;
}

/* Amplified approval of every distinct candidate, in one engine run. */
static int judge_candidates(struct iamp_round_data *rd, int n)
{
    const struct iamp_task *t = &rd->s->task;
    if (iamp_task_compares(t))
        return compare_candidates(rd, n);
    int C = stride(rd), m = 0, rc = IAMP_ENOMEM;
    struct iamp_question *aq = malloc((size_t)n * C * sizeof(*aq));
    struct iamp_answer *out = malloc((size_t)n * C * sizeof(*out));
    int *slot = malloc((size_t)n * C * sizeof(int));
    if (!aq || !out || !slot)
        goto out;
    rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        for (int j = 0; j < n_cand(rd, i) && !rc; j++) {
            size_t at = (size_t)i * C + j;
            rd->score[at] = NAN;
            if (earlier_twin(rd->cand + (size_t)i * C, j) >= 0)
                continue;
            rc = iamp_task_approval_question(t, &rd->qs[i], &rd->cand[at], &aq[m]);
            slot[m++] = (int)at;
        }
    }
    if (!rc)
        rc = amplify_target(rd, aq, m, out);
    for (int k = 0; !rc && k < m; k++)
        rd->score[slot[k]] = (float)iamp_task_approval_score(t, &aq[k], &out[k]);
    for (int i = 0; !rc && i < n; i++) {
        for (int j = 0; j < n_cand(rd, i); j++) {
            int twin = earlier_twin(rd->cand + (size_t)i * C, j);
            if (twin >= 0)
                rd->score[(size_t)i * C + j] = rd->score[(size_t)i * C + twin];
        }
    }
out:
    free(aq);
    free(out);
    free(slot);
    return rc;
}

/* V(q) from M's value head for the questions whose mode reads it. */
static int read_baselines(struct iamp_round_data *rd, int n)
{
    int m = 0, rc = IAMP_ENOMEM;
    struct iamp_question *q = malloc((size_t)n * sizeof(*q));
    struct iamp_answer *v = malloc((size_t)n * sizeof(*v));
    if (q && v) {
        for (int i = 0; i < n; i++)
            if (info(rd, i)->baseline)
                q[m++] = rd->qs[i];
        struct iamp_amp_req req = {.depth = 0, .pick = IAMP_PICK_M, .decode = IAMP_DECODE_VALUE};
        rc = m ? iamp_session_run(rd->s, q, m, &req, v) : 0;
        for (int i = 0, k = 0; !rc && i < n; i++)
            if (info(rd, i)->baseline)
                rd->baseline[i] = v[k++].value;
    }
    free(q);
    free(v);
    return rc;
}

/* ---------------------------------------------------------- writers */

/* Imitate and supervised: the target at weight 1. */
static void imitate_example(struct iamp_round_data *rd, int i)
{
    iamp_example_imitate(&rd->ex[2 * i], &rd->qs[i], &rd->targets[i], 1.0f);
    rd->n_ex[i] = 1;
}

/* Search: the best-approved candidate (the earliest among equals, so M's
 * greedy answer wins ties) is the target; nothing is learned when no
 * candidate is approved at all. */
static void search_example(struct iamp_round_data *rd, int i)
{
    int C = stride(rd), best = 0;
    const float *sc = rd->score + (size_t)i * C;
    for (int j = 1; j < n_cand(rd, i); j++)
        if (sc[j] > sc[best])
            best = j;
    rd->targets[i] = rd->cand[(size_t)i * C + best];
    rd->n_ex[i] = 0;
    if (sc[best] > 0.0f) {
        iamp_example_imitate(&rd->ex[2 * i], &rd->qs[i], &rd->targets[i], 1.0f);
        rd->n_ex[i] = 1;
    }
}

/* 1 when answers to q are token sequences (more than one token). */
static int is_sequence(const struct iamp_task *t, const struct iamp_question *q)
{
    struct iamp_answer_space sp;
    if (iamp_task_continuous(t, q))
        return 0;
    t->ops->answer_space(t, q, &sp);
    return sp.max_len > 1;
}

/* The sampled answer's policy-gradient example, appended to question i's:
 * coefficient coef, the KL penalty kl_weight on its rows; the baseline is
 * per prefix on a sequence, else V(q). */
static void sample_example(struct iamp_round_data *rd, int i, float coef, float kl_weight)
{
    const struct iamp_train_config *c = rd->cfg;
    size_t at = (size_t)i * stride(rd) + 1;
    struct iamp_example *e = &rd->ex[2 * i + rd->n_ex[i]];
    if (is_sequence(&rd->s->task, &rd->qs[i]))
        iamp_example_reinforce_prefix(e, &rd->qs[i], &rd->cand[at], rd->score[at], coef,
                                      c->entropy_coef);
    else
        iamp_example_reinforce(e, &rd->qs[i], &rd->cand[at], rd->score[at], rd->baseline[i], coef,
                               c->entropy_coef);
    e->kl_weight = kl_weight;
    rd->n_ex[i]++;
}

static void reinforce_example(struct iamp_round_data *rd, int i)
{
    rd->n_ex[i] = 0;
    sample_example(rd, i, 1.0f, 0.0f);
}

/* Mixed: imitation at lambda, then the sample at 1 - lambda with the KL
 * penalty beta. */
static void mixed_example(struct iamp_round_data *rd, int i)
{
    const struct iamp_train_config *c = rd->cfg;
    rd->n_ex[i] = 0;
    if (c->mix_lambda > 0.0f)
        iamp_example_imitate(&rd->ex[2 * i + rd->n_ex[i]++], &rd->qs[i], &rd->targets[i],
                             c->mix_lambda);
    sample_example(rd, i, 1.0f - c->mix_lambda, c->kl_beta);
}

/* ---------------------------------------------------------- signals */

/* Agreement per question and the round's approval statistics. */
static void round_signals(struct iamp_round_data *rd, int n, struct iamp_mode_stats *st)
{
    int C = stride(rd);
    double appr = 0.0, reward = 0.0, verr = 0.0;
    long n_appr = 0, n_reward = 0;
    for (int i = 0; i < n; i++) {
        const float *sc = rd->score + (size_t)i * C;
        int by_approval = info(rd, i)->agree_by_approval;
        rd->agree[i] = by_approval ? sc[0]
                                   : (float)iamp_task_agree(&rd->s->task, &rd->qs[i], &rd->mine[i],
                                                            &rd->targets[i]);
        if (n_cand(rd, i) > 0) {
            appr += sc[0];
            n_appr++;
        }
        if (info(rd, i)->baseline) {
            double e = (double)rd->baseline[i] - sc[1];
            reward += sc[1];
            verr += e * e;
            n_reward++;
        }
    }
    st->approval = n_appr ? appr / (double)n_appr : NAN;
    st->reward = n_reward ? reward / (double)n_reward : NAN;
    st->value_error = n_reward ? verr / (double)n_reward : NAN;
}

int iamp_modes_build(struct iamp_round_data *rd, int n, struct iamp_mode_stats *st)
{
    for (int i = 0; i < n; i++)
        rd->mode[i] = effective_mode(rd, &rd->qs[i]);
    int rc = build_targets(rd, n);
    if (!rc)
        rc = sample_candidates(rd, n);
    if (!rc)
        rc = judge_candidates(rd, n);
    if (!rc)
        rc = read_baselines(rd, n);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++)
        info(rd, i)->write(rd, i);
    round_signals(rd, n, st);
    return 0;
}

void iamp_modes_build_given(struct iamp_round_data *rd, int n, struct iamp_mode_stats *st)
{
    for (int i = 0; i < n; i++) {
        rd->mode[i] = IAMP_MODE_IMITATE;
        imitate_example(rd, i);
        rd->agree[i] =
            (float)iamp_task_agree(&rd->s->task, &rd->qs[i], &rd->mine[i], &rd->targets[i]);
    }
    st->approval = st->reward = st->value_error = NAN;
}
