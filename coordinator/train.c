/* train.c — see train.h for the round structure.
 *
 * Invariant on the IA path: targets of imitate-mode questions come from
 * the engine (H and M) only; iamp_task_truth is called for supervised-mode
 * questions and, through evaluate.c, for evaluation. tests/unit/test_train.c
 * checks this by counting ground-truth calls.
 */
#include "coordinator/train.h"

#include "coordinator/cli.h"
#include "worker/distill.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {"imitate", "supervised"};
#define N_MODES ((int)(sizeof(mode_names) / sizeof(mode_names[0])))

const char *iamp_mode_name(int mode)
{
    return mode >= 0 && mode < N_MODES ? mode_names[mode] : "?";
}

static int mode_by_name(const char *s, size_t n)
{
    for (int i = 0; i < N_MODES; i++)
        if (strlen(mode_names[i]) == n && strncmp(mode_names[i], s, n) == 0)
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
    snprintf(err, errlen, "unknown distillation mode '%.*s' (known: imitate, supervised)", (int)n,
             s);
    return IAMP_EUNKNOWN;
}

int iamp_algo_parse(const char *text, const struct iamp_task *t, struct iamp_algo *a, char *err,
                    size_t errlen)
{
    memset(a, 0, sizeof(*a));
    if (!strchr(text, '=')) {
        int m = mode_by_name(text, strlen(text));
        if (m < 0)
            return bad_mode(text, strlen(text), err, errlen);
        for (int i = 0; i < IAMP_TYPES_MAX; i++)
            a->mode[i] = m;
        return 0;
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

float iamp_train_lr(const struct iamp_train_config *c, long round)
{
    if (c->lr_schedule != IAMP_LR_LINEAR || c->schedule_rounds == 0)
        return c->lr;
    double f = 1.0 - (double)round / (double)c->schedule_rounds;
    return (float)(c->lr * (f > IAMP_LR_FLOOR ? f : IAMP_LR_FLOOR));
}

void iamp_train_opts_default(struct iamp_train_opts *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->cfg.algo, sizeof(o->cfg.algo), "imitate");
    o->cfg.depth = 1;
    o->cfg.questions_per_round = 256;
    o->cfg.batch = 64;
    o->cfg.epochs = 1;
    o->cfg.lr = 2e-3f;
    o->cfg.target_sync = 5;
    o->cfg.lr_schedule = IAMP_LR_LINEAR;
    o->cfg.schedule_rounds = 800;
    o->cfg.seed = 1;
    o->cfg.eval_size = 1008;
    o->cfg.curriculum_threshold = 0.85f;
    o->cfg.curriculum_window = 3;
    o->eval_seed = 12345;
    o->curriculum = 1;
}

static int alloc_buffers(struct iamp_trainer *tr)
{
    size_t q = tr->opts.cfg.questions_per_round;
    tr->qs = calloc(q, sizeof(*tr->qs));
    tr->targets = calloc(q, sizeof(*tr->targets));
    tr->mine = calloc(q, sizeof(*tr->mine));
    tr->order = calloc(q * tr->opts.cfg.epochs, sizeof(int));
    tr->examples_buf = calloc(q, sizeof(*tr->examples_buf));
    return tr->qs && tr->targets && tr->mine && tr->order && tr->examples_buf ? 0 : IAMP_ENOMEM;
}

static void restore(struct iamp_trainer *tr, const struct iamp_checkpoint *ck)
{
    tr->round = (long)ck->round;
    tr->examples = (long)ck->examples;
    tr->seconds = ck->seconds;
    if (ck->has_rng)
        memcpy(tr->rng.s, ck->rng, sizeof(tr->rng.s));
    tr->cur.level = ck->difficulty >= 1 ? (int)ck->difficulty : 1;
    if (tr->cur.level > tr->cur.max_level)
        tr->cur.level = tr->cur.max_level;
    tr->cur.rounds_at_level = (int)ck->rounds_at_level;
    tr->cur.n = ck->n_agreement < tr->cur.window ? ck->n_agreement : tr->cur.window;
    memcpy(tr->cur.hist, ck->agreement + (ck->n_agreement - tr->cur.n),
           (size_t)tr->cur.n * sizeof(float));
    tr->has_reached = ck->has_reached;
    tr->reached_round = (long)ck->reached_round;
    tr->reached_examples = ck->reached_examples;
    tr->reached_seconds = ck->reached_seconds;
}

int iamp_trainer_init(struct iamp_trainer *tr, struct iamp_session *s,
                      const struct iamp_train_opts *o, const struct iamp_checkpoint *ck, char *err,
                      size_t errlen)
{
    memset(tr, 0, sizeof(*tr));
    tr->s = s;
    tr->opts = *o;
    const struct iamp_train_config *c = &o->cfg;
    int rc = iamp_algo_parse(c->algo, &s->task, &tr->algo, err, errlen);
    if (rc)
        return rc;
    s->adam.lr = c->lr;
    iamp_rng_seed(&tr->rng, c->seed, 0x747261696e /* "train" */);
    iamp_curriculum_init(&tr->cur, s->task.max_difficulty, c->curriculum_threshold,
                         (int)c->curriculum_window);
    if (!o->curriculum)
        tr->cur.level = tr->cur.max_level;
    if (ck)
        restore(tr, ck);
    rc = alloc_buffers(tr);
    /* M_target: the snapshot amplification asks, refreshed every
     * target_sync rounds; a resumed run keeps the saved one (loaded with
     * the session), so resuming is exact. */
    if (!rc && c->target_sync > 0 && !s->has_target)
        rc = iamp_session_target_enable(s, NULL);
    if (!rc)
        rc = iamp_eval_set_init(&tr->eval, &s->task, (int)c->eval_size, o->eval_seed);
    if (rc) {
        snprintf(err, errlen, "cannot set up training: %s", iamp_strerror(rc));
        iamp_trainer_release(tr);
    }
    return rc;
}

void iamp_trainer_release(struct iamp_trainer *tr)
{
    free(tr->qs);
    free(tr->targets);
    free(tr->mine);
    free(tr->order);
    free(tr->examples_buf);
    iamp_eval_set_release(&tr->eval);
    memset(tr, 0, sizeof(*tr));
}

/* Targets for the round's questions, by each question type's mode. */
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
        if (tr->algo.mode[tr->qs[i].type] == IAMP_MODE_SUPERVISED)
            iamp_task_truth(&s->task, &tr->qs[i], &tr->targets[i]);
        else {
            sub[m] = tr->qs[i];
            idx[m++] = i;
        }
    }
    struct iamp_amp_req req = {.depth = (int)tr->opts.cfg.depth,
                               .pick = IAMP_PICK_TARGET,
                               .decode = IAMP_DECODE_GREEDY,
                               .temperature = 1.0f};
    rc = m ? iamp_session_run(s, sub, m, &req, out) : 0;
    for (int k = 0; !rc && k < m; k++)
        tr->targets[idx[k]] = out[k];
out:
    free(sub);
    free(out);
    free(idx);
    return rc;
}

/* Distil the round's examples: `epochs` shuffled passes in minibatches. */
static int distil(struct iamp_trainer *tr, int n, double *mean_loss)
{
    const struct iamp_train_config *c = &tr->opts.cfg;
    for (int i = 0; i < n; i++) {
        struct iamp_example *e = &tr->examples_buf[i];
        e->q = tr->qs[i];
        e->a = tr->targets[i];
        e->weight = 1.0f;
        e->value_target = NAN;
    }
    for (unsigned e = 0; e < c->epochs; e++) {
        int *ord = tr->order + (size_t)e * (size_t)n;
        for (int i = 0; i < n; i++)
            ord[i] = i;
        iamp_rng_shuffle(&tr->rng, ord, n);
    }
    struct iamp_fit_req req = {tr->examples_buf,
                               n,
                               tr->order,
                               n * (int)c->epochs,
                               (int)c->batch,
                               iamp_train_lr(c, tr->round),
                               0.0f};
    struct iamp_distill_stats st;
    int rc = iamp_session_fit(tr->s, &req, &st);
    *mean_loss = st.loss;
    return rc;
}

static void note_reached(struct iamp_trainer *tr, const struct iamp_round_stats *st)
{
    if (tr->has_reached || st->accuracy < 0.99)
        return;
    tr->has_reached = 1;
    tr->reached_round = st->round;
    tr->reached_examples = (double)st->examples;
    tr->reached_seconds = st->seconds;
}

int iamp_trainer_step(struct iamp_trainer *tr, struct iamp_round_stats *st)
{
    double t0 = iamp_now();
    struct iamp_session *s = tr->s;
    int n = (int)tr->opts.cfg.questions_per_round;
    memset(st, 0, sizeof(*st));
    st->difficulty = tr->cur.level;
    int rc = 0;
    if (s->has_target && tr->opts.cfg.target_sync > 0 &&
        tr->round % (long)tr->opts.cfg.target_sync == 0)
        rc = iamp_session_target_sync(s);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++)
        s->task.ops->sample(&s->task, &tr->rng, tr->cur.level, &tr->qs[i]);
    rc = build_targets(tr, n);
    if (!rc)
        rc = iamp_session_answer(s, tr->qs, n, tr->mine);
    if (rc)
        return rc;
    int agree = 0;
    for (int i = 0; i < n; i++)
        agree += iamp_answer_equal(&tr->mine[i], &tr->targets[i]);
    st->agreement = (double)agree / n;
    iamp_curriculum_update(&tr->cur, (float)st->agreement);
    rc = distil(tr, n, &st->loss);
    if (rc)
        return rc;
    tr->round++;
    tr->examples += n;
    st->round = tr->round;
    st->examples = tr->examples;
    st->kl = NAN;
    st->round_seconds = iamp_now() - t0;
    tr->seconds += st->round_seconds;
    st->seconds = tr->seconds;
    return 0;
}

int iamp_trainer_evaluate(struct iamp_trainer *tr, struct iamp_round_stats *st)
{
    double t0 = iamp_now();
    int rc = iamp_eval_accuracy(tr->s, &tr->eval, 0, &st->accuracy, st->per_type);
    if (!rc)
        rc = iamp_eval_accuracy(tr->s, &tr->eval, (int)tr->opts.cfg.depth, &st->amplified_accuracy,
                                NULL);
    if (rc)
        return rc;
    double dt = iamp_now() - t0;
    st->round_seconds += dt;
    tr->seconds += dt;
    st->seconds = tr->seconds;
    note_reached(tr, st);
    return 0;
}

int iamp_trainer_round(struct iamp_trainer *tr, struct iamp_round_stats *st)
{
    int rc = iamp_trainer_step(tr, st);
    return rc ? rc : iamp_trainer_evaluate(tr, st);
}

int iamp_trainer_save(struct iamp_trainer *tr, const char *path)
{
    struct iamp_checkpoint ck;
    int rc = iamp_session_pull(tr->s);
    if (rc)
        return rc;
    iamp_session_checkpoint_view(tr->s, &ck);
    ck.round = (uint64_t)tr->round;
    ck.examples = (uint64_t)tr->examples;
    ck.seconds = tr->seconds;
    ck.has_rng = 1;
    memcpy(ck.rng, tr->rng.s, sizeof(ck.rng));
    ck.difficulty = (uint32_t)tr->cur.level;
    ck.rounds_at_level = (uint32_t)tr->cur.rounds_at_level;
    ck.n_agreement = tr->cur.n;
    memcpy(ck.agreement, tr->cur.hist, (size_t)tr->cur.n * sizeof(float));
    ck.has_config = 1;
    ck.config = tr->opts.cfg;
    ck.has_reached = tr->has_reached;
    ck.reached_round = (uint64_t)tr->reached_round;
    ck.reached_examples = tr->reached_examples;
    ck.reached_seconds = tr->reached_seconds;
    return iamp_checkpoint_save(path, &ck);
}
