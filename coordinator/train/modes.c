/* modes.c — see modes.h.
 *
 * Candidates: for a question of an approvable type, slot 0 of its row in
 * tr->cand is M's greedy answer and slots 1.. are sampled answers (search:
 * `samples` of them; reinforce and mixed: one). Every distinct candidate
 * of every question is judged in one engine run: its approval question
 * ("how good is answer X to Y?") is amplified with M_target greedy at the
 * leaves, exactly like an imitation target, and the task reads the score.
 * A candidate equal to an earlier one of the same question shares its
 * score. A task that approves by comparison (sequence and continuous
 * answers) has no approval question: its question itself is amplified once
 * and every candidate is scored against that amplified answer.
 * Sampling draws from the trainer's RNG, which checkpoints carry,
 * so a resumed run samples the same answers.
 *
 * Reinforce on a token sequence (an answer space of more than one token)
 * uses the per-prefix baseline: the reward comes at the end, and each
 * answer token's advantage is the reward minus the value head's estimate
 * at the prefix before it (worker/distill.h). One-token answers keep the
 * question's baseline V(q) read before distillation.
 */
#include "coordinator/train/modes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int stride(const struct iamp_trainer *tr)
{
    return (int)tr->opts.cfg.samples + 1;
}

static int effective_mode(const struct iamp_trainer *tr, const struct iamp_question *q)
{
    int m = tr->algo.mode[q->type];
    if (iamp_mode_uses_approval(m) && tr->round < (long)tr->opts.cfg.warmup)
        return IAMP_MODE_IMITATE;
    return m;
}

/* Candidates of question i: greedy plus samples; 0 when not approvable. */
static int n_cand(const struct iamp_trainer *tr, int i)
{
    if (!iamp_task_approvable(&tr->s->task, tr->qs[i].type))
        return 0;
    int m = tr->mode[i];
    return 1 + (m == IAMP_MODE_SEARCH      ? (int)tr->opts.cfg.samples
                : m == IAMP_MODE_REINFORCE ? 1
                : m == IAMP_MODE_MIXED     ? 1
                                           : 0);
}

/* Amp^depth(H, M_target) with M_target greedy at the leaves. */
static int amplify_target(struct iamp_trainer *tr, const struct iamp_question *qs, int n,
                          struct iamp_answer *out)
{
    struct iamp_amp_req req = {.depth = (int)tr->opts.cfg.depth,
                               .pick = IAMP_PICK_TARGET,
                               .decode = IAMP_DECODE_GREEDY,
                               .temperature = 1.0f};
    return n ? iamp_session_run(tr->s, qs, n, &req, out) : 0;
}

/* Imitation targets (imitate, mixed) by amplification; supervised ones by
 * ground truth. */
static int build_targets(struct iamp_trainer *tr, int n)
{
    struct iamp_session *s = tr->s;
    struct iamp_question *sub = malloc((size_t)n * sizeof(*sub));
    struct iamp_answer *out = malloc((size_t)n * sizeof(*out));
    int *idx = malloc((size_t)n * sizeof(int));
    int rc = IAMP_ENOMEM, m = 0;
    if (!sub || !out || !idx)
        goto out;
    for (int i = 0; i < n; i++) {
        tr->targets[i] = tr->mine[i];
        if (tr->mode[i] == IAMP_MODE_SUPERVISED)
            iamp_task_truth(&s->task, &tr->qs[i], &tr->targets[i]);
        else if (tr->mode[i] == IAMP_MODE_IMITATE || tr->mode[i] == IAMP_MODE_MIXED) {
            sub[m] = tr->qs[i];
            idx[m++] = i;
        }
    }
    rc = amplify_target(tr, sub, m, out);
    for (int k = 0; !rc && k < m; k++)
        tr->targets[idx[k]] = out[k];
out:
    free(sub);
    free(out);
    free(idx);
    return rc;
}

/* Greedy answers into slot 0, samples from M into the other slots. */
static int sample_candidates(struct iamp_trainer *tr, int n)
{
    int C = stride(tr), total = 0, k = 0;
    for (int i = 0; i < n; i++) {
        int c = n_cand(tr, i);
        if (c > 0)
            tr->cand[(size_t)i * C] = tr->mine[i];
        total += c > 1 ? c - 1 : 0;
    }
    if (total == 0)
        return 0;
    struct iamp_question *q = malloc((size_t)total * sizeof(*q));
    struct iamp_answer *a = malloc((size_t)total * sizeof(*a));
    int rc = IAMP_ENOMEM;
    if (q && a) {
        for (int i = 0; i < n; i++)
            for (int j = 1; j < n_cand(tr, i); j++)
                q[k++] = tr->qs[i];
        /* One seed per round from the training stream: the samples depend
         * on it alone, not on how many ranks draw them (session.h). */
        struct iamp_amp_req req = {.depth = 0,
                                   .pick = IAMP_PICK_M,
                                   .decode = IAMP_DECODE_SAMPLE,
                                   .temperature = 1.0f,
                                   .seed = iamp_rng_u64(&tr->rng)};
        rc = iamp_session_run(tr->s, q, total, &req, a);
    }
    for (int i = 0, k2 = 0; !rc && i < n; i++)
        for (int j = 1; j < n_cand(tr, i); j++)
            tr->cand[(size_t)i * C + j] = a[k2++];
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
static int has_amplified_target(const struct iamp_trainer *tr, int i)
{
    return tr->mode[i] == IAMP_MODE_IMITATE || tr->mode[i] == IAMP_MODE_MIXED;
}

/* Approval by comparison: each question with candidates is amplified once
 * (imitate and mixed questions already were: their target), and every
 * candidate is scored against that answer. */
static int compare_candidates(struct iamp_trainer *tr, int n)
{
    const struct iamp_task *t = &tr->s->task;
    int C = stride(tr), m = 0, rc = IAMP_ENOMEM;
    struct iamp_question *q = malloc((size_t)n * sizeof(*q));
    struct iamp_answer *amp = malloc((size_t)n * sizeof(*amp));
    int *slot = malloc((size_t)n * sizeof(int)); /* question i's amplified answer: amp[slot[i]] */
    if (q && amp && slot) {
        for (int i = 0; i < n; i++)
            if (n_cand(tr, i) > 0 && !has_amplified_target(tr, i)) {
                q[m] = tr->qs[i];
                slot[i] = m++;
            }
        rc = amplify_target(tr, q, m, amp);
    }
    for (int i = 0; !rc && i < n; i++) {
        const struct iamp_answer *a = has_amplified_target(tr, i) ? &tr->targets[i] : &amp[slot[i]];
        for (int j = 0; j < n_cand(tr, i); j++) {
            size_t at = (size_t)i * C + j;
            tr->score[at] = (float)iamp_task_approval_compare(t, &tr->qs[i], &tr->cand[at], a);
        }
    }
    free(q);
    free(amp);
    free(slot);
    return rc;
}

/* Amplified approval of every distinct candidate, in one engine run. */
static int judge_candidates(struct iamp_trainer *tr, int n)
{
    const struct iamp_task *t = &tr->s->task;
    if (iamp_task_compares(t))
        return compare_candidates(tr, n);
    int C = stride(tr), m = 0, rc = IAMP_ENOMEM;
    struct iamp_question *aq = malloc((size_t)n * C * sizeof(*aq));
    struct iamp_answer *out = malloc((size_t)n * C * sizeof(*out));
    int *slot = malloc((size_t)n * C * sizeof(int));
    if (!aq || !out || !slot)
        goto out;
    rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        for (int j = 0; j < n_cand(tr, i) && !rc; j++) {
            size_t at = (size_t)i * C + j;
            tr->score[at] = NAN;
            if (earlier_twin(tr->cand + (size_t)i * C, j) >= 0)
                continue;
            rc = iamp_task_approval_question(t, &tr->qs[i], &tr->cand[at], &aq[m]);
            slot[m++] = (int)at;
        }
    }
    if (!rc)
        rc = amplify_target(tr, aq, m, out);
    for (int k = 0; !rc && k < m; k++)
        tr->score[slot[k]] = (float)iamp_task_approval_score(t, &aq[k], &out[k]);
    for (int i = 0; !rc && i < n; i++) {
        for (int j = 0; j < n_cand(tr, i); j++) {
            int twin = earlier_twin(tr->cand + (size_t)i * C, j);
            if (twin >= 0)
                tr->score[(size_t)i * C + j] = tr->score[(size_t)i * C + twin];
        }
    }
out:
    free(aq);
    free(out);
    free(slot);
    return rc;
}

/* V(q) from M's value head for the reinforce and mixed questions. */
static int read_baselines(struct iamp_trainer *tr, int n)
{
    int m = 0, rc = IAMP_ENOMEM;
    struct iamp_question *q = malloc((size_t)n * sizeof(*q));
    struct iamp_answer *v = malloc((size_t)n * sizeof(*v));
    if (q && v) {
        for (int i = 0; i < n; i++)
            if (tr->mode[i] == IAMP_MODE_REINFORCE || tr->mode[i] == IAMP_MODE_MIXED)
                q[m++] = tr->qs[i];
        struct iamp_amp_req req = {.depth = 0, .pick = IAMP_PICK_M, .decode = IAMP_DECODE_VALUE};
        rc = m ? iamp_session_run(tr->s, q, m, &req, v) : 0;
        for (int i = 0, k = 0; !rc && i < n; i++)
            if (tr->mode[i] == IAMP_MODE_REINFORCE || tr->mode[i] == IAMP_MODE_MIXED)
                tr->baseline[i] = v[k++].value;
    }
    free(q);
    free(v);
    return rc;
}

/* Search: the best-approved candidate (the earliest among equals, so M's
 * greedy answer wins ties) is the target; nothing is learned when no
 * candidate is approved at all. */
static void search_example(struct iamp_trainer *tr, int i)
{
    int C = stride(tr), best = 0;
    const float *sc = tr->score + (size_t)i * C;
    for (int j = 1; j < n_cand(tr, i); j++)
        if (sc[j] > sc[best])
            best = j;
    tr->targets[i] = tr->cand[(size_t)i * C + best];
    tr->n_ex[i] = 0;
    if (sc[best] > 0.0f) {
        iamp_example_imitate(&tr->ex[2 * i], &tr->qs[i], &tr->targets[i], 1.0f);
        tr->n_ex[i] = 1;
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

/* Reinforce (coef 1) or mixed (imitate lambda, reinforce 1 - lambda with
 * the KL penalty on the sampled answer's rows). */
static void policy_gradient_example(struct iamp_trainer *tr, int i)
{
    const struct iamp_train_config *c = &tr->opts.cfg;
    size_t at = (size_t)i * stride(tr) + 1;
    int mixed = tr->mode[i] == IAMP_MODE_MIXED;
    float coef = mixed ? 1.0f - c->mix_lambda : 1.0f;
    struct iamp_example *e = &tr->ex[2 * i];
    tr->n_ex[i] = 0;
    if (mixed && c->mix_lambda > 0.0f)
        iamp_example_imitate(&e[tr->n_ex[i]++], &tr->qs[i], &tr->targets[i], c->mix_lambda);
    if (is_sequence(&tr->s->task, &tr->qs[i]))
        iamp_example_reinforce_prefix(&e[tr->n_ex[i]], &tr->qs[i], &tr->cand[at], tr->score[at],
                                      coef, c->entropy_coef);
    else
        iamp_example_reinforce(&e[tr->n_ex[i]], &tr->qs[i], &tr->cand[at], tr->score[at],
                               tr->baseline[i], coef, c->entropy_coef);
    e[tr->n_ex[i]++].kl_weight = mixed ? c->kl_beta : 0.0f;
}

static void write_examples(struct iamp_trainer *tr, int n)
{
    for (int i = 0; i < n; i++) {
        switch (tr->mode[i]) {
        case IAMP_MODE_SEARCH:
            search_example(tr, i);
            break;
        case IAMP_MODE_REINFORCE:
        case IAMP_MODE_MIXED:
            policy_gradient_example(tr, i);
            break;
        default:
            iamp_example_imitate(&tr->ex[2 * i], &tr->qs[i], &tr->targets[i], 1.0f);
            tr->n_ex[i] = 1;
        }
    }
}

/* Agreement per question and the round's approval statistics. */
static void round_signals(struct iamp_trainer *tr, int n, struct iamp_round_stats *st)
{
    int C = stride(tr);
    double appr = 0.0, reward = 0.0, verr = 0.0;
    long n_appr = 0, n_reward = 0;
    for (int i = 0; i < n; i++) {
        const float *sc = tr->score + (size_t)i * C;
        int by_approval = tr->mode[i] == IAMP_MODE_SEARCH || tr->mode[i] == IAMP_MODE_REINFORCE;
        tr->agree[i] = by_approval ? sc[0]
                                   : (float)iamp_task_agree(&tr->s->task, &tr->qs[i], &tr->mine[i],
                                                            &tr->targets[i]);
        if (n_cand(tr, i) > 0) {
            appr += sc[0];
            n_appr++;
        }
        if (tr->mode[i] == IAMP_MODE_REINFORCE || tr->mode[i] == IAMP_MODE_MIXED) {
            double e = (double)tr->baseline[i] - sc[1];
            reward += sc[1];
            verr += e * e;
            n_reward++;
        }
    }
    st->approval = n_appr ? appr / (double)n_appr : NAN;
    st->reward = n_reward ? reward / (double)n_reward : NAN;
    st->value_error = n_reward ? verr / (double)n_reward : NAN;
}

int iamp_modes_build(struct iamp_trainer *tr, int n, struct iamp_round_stats *st)
{
    for (int i = 0; i < n; i++)
        tr->mode[i] = effective_mode(tr, &tr->qs[i]);
    int rc = build_targets(tr, n);
    if (!rc)
        rc = sample_candidates(tr, n);
    if (!rc)
        rc = judge_candidates(tr, n);
    if (!rc)
        rc = read_baselines(tr, n);
    if (rc)
        return rc;
    write_examples(tr, n);
    round_signals(tr, n, st);
    return 0;
}
