/* train.c — see train.h for the round structure; the distillation modes
 * themselves are in modes.c.
 *
 * Invariant on the IA path: targets, rewards and approvals of every mode
 * but supervised come from the engine (H and M) only; iamp_task_truth is
 * called for supervised-mode questions and, through evaluate.c, for
 * evaluation. tests/unit/test_train.c checks this by counting ground-truth
 * calls in every mode.
 */
#include "coordinator/train/train.h"

#include "common/clock.h"
#include "common/trace.h"
#include "coordinator/train/metrics.h"
#include "worker/distill.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

float iamp_train_lr(const struct iamp_train_config *c, long round)
{
    double lr = c->lr;
    if (round >= (long)c->warmup && c->rl_lr_scale > 0.0f)
        lr *= c->rl_lr_scale;
    if (c->lr_schedule != IAMP_LR_LINEAR || c->schedule_rounds == 0)
        return (float)lr;
    double f = 1.0 - (double)round / (double)c->schedule_rounds;
    return (float)(lr * (f > IAMP_LR_FLOOR ? f : IAMP_LR_FLOOR));
}

static int alloc_buffers(struct iamp_trainer *tr)
{
    const struct iamp_train_config *c = &tr->opts.cfg;
    size_t q = c->questions_per_round;
    int rc = iamp_round_data_init(&tr->rd, tr->s, c, &tr->algo, &tr->rng);
    tr->order = calloc(q * (c->epochs ? c->epochs : 1), sizeof(int));
    tr->first = calloc(q, sizeof(int));
    int n_ctx = iamp_task_contexts_for(&tr->s->task, (int)q);
    tr->ctx = n_ctx ? calloc((size_t)n_ctx, sizeof(*tr->ctx)) : NULL;
    return !rc && tr->order && tr->first && (tr->ctx || !n_ctx) ? 0 : IAMP_ENOMEM;
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
    for (int ty = 0; !rc && o->demos && ty < s->task.n_types; ty++) {
        if (tr->algo.mode[ty] != IAMP_MODE_IMITATE) {
            snprintf(err, errlen,
                     "demonstrations need algo imitate (M imitates the file's answers), not %s",
                     c->algo);
            rc = IAMP_EINVAL;
        }
    }
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
    if (tr->opts.cfg.eval_size == 0)
        tr->opts.cfg.eval_size = (uint32_t)s->task.eval_size;
    rc = alloc_buffers(tr);
    /* M_target (the snapshot amplification asks, refreshed every
     * target_sync rounds) and p_ref (M frozen after the warm-up) live in
     * the session: a resumed run got both from the checkpoint with it, so
     * resuming is exact. */
    if (!rc && c->target_sync > 0 && !s->has_target)
        rc = iamp_session_target_enable(s, NULL);
    if (!rc)
        rc = iamp_eval_set_init(&tr->eval, &s->task, (int)tr->opts.cfg.eval_size, o->eval_seed);
    if (!rc)
        /* H alone (H's own with a learned overseer): no M, no ground truth */
        rc = iamp_eval_set_depths(&tr->eval, o->hprime ? iamp_hprime_base(o->hprime) : &s->task);
    if (rc) {
        snprintf(err, errlen, "cannot set up training: %s", iamp_strerror(rc));
        iamp_trainer_release(tr);
    }
    return rc;
}

void iamp_trainer_release(struct iamp_trainer *tr)
{
    iamp_round_data_release(&tr->rd);
    free(tr->order);
    free(tr->first);
    free(tr->ctx);
    iamp_eval_set_release(&tr->eval);
    memset(tr, 0, sizeof(*tr));
}

/* Distil the round: `epochs` shuffled passes over its questions in
 * minibatches of `batch` questions, each with all its examples (the loss
 * is the mean over the minibatch's questions; a minibatch whose questions
 * have no examples, search having found nothing approved, takes no step). */
static int distil(struct iamp_trainer *tr, int n, double *mean_loss)
{
    const struct iamp_train_config *c = &tr->opts.cfg;
    unsigned epochs = c->epochs ? c->epochs : 1;
    for (int i = 0; i < n; i++)
        tr->first[i] = 2 * i;
    for (unsigned e = 0; e < epochs; e++) {
        int *ord = tr->order + (size_t)e * (size_t)n;
        for (int i = 0; i < n; i++)
            ord[i] = i;
        iamp_rng_shuffle(&tr->rng, ord, n);
    }
    struct iamp_fit_req req = {tr->rd.ex,
                               2 * n,
                               tr->first,
                               tr->rd.n_ex,
                               n,
                               tr->order,
                               n * (int)epochs,
                               (int)c->batch,
                               iamp_train_lr(c, tr->round),
                               c->value_coef};
    struct iamp_distill_stats st;
    int rc = iamp_session_fit(tr->s, &req, &st);
    *mean_loss = st.loss;
    return rc;
}

/* Entropy of M and KL(p_M || p_ref) after distillation, on the round's
 * questions of the approvable types (where the modes differ), or all of
 * them when the task has none; at most IAMP_MEASURE_QUESTIONS of them (the
 * questions are random, so the first ones are a sample) to keep the cost
 * a few percent of a round. */
#define IAMP_MEASURE_QUESTIONS 64
static int measure_policy(struct iamp_trainer *tr, int n, struct iamp_round_stats *st)
{
    const struct iamp_task *t = &tr->s->task;
    int m = 0, any = t->approvable != 0;
    struct iamp_question *q = malloc(IAMP_MEASURE_QUESTIONS * sizeof(*q));
    struct iamp_answer *a = malloc(IAMP_MEASURE_QUESTIONS * sizeof(*a));
    int rc = q && a ? iamp_session_pull(tr->s) : IAMP_ENOMEM; /* M was trained on the workers */
    for (int i = 0; !rc && i < n && m < IAMP_MEASURE_QUESTIONS; i++) {
        if (any && !iamp_task_approvable(t, tr->rd.qs[i].type))
            continue;
        q[m] = tr->rd.qs[i];
        a[m++] = tr->rd.mine[i];
    }
    if (!rc)
        rc = iamp_policy_divergence(&tr->s->model, tr->s->has_ref ? &tr->s->ref : NULL, t, q, a, m,
                                    &st->entropy, &st->kl);
    free(q);
    free(a);
    return rc;
}

static double mean_agreement(const struct iamp_trainer *tr, int n)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += tr->rd.agree[i];
    return sum / n;
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

static const char *const phase_names[] = {
#define IAMP_PHASE_NAME(id, name) name,
    IAMP_PHASES(IAMP_PHASE_NAME)
#undef IAMP_PHASE_NAME
};

const char *iamp_phase_name(int phase)
{
    return phase >= 0 && phase < IAMP_PHASE_COUNT ? phase_names[phase] : "?";
}

/* Close the phase that began at *t0 (iamp_now()) and start the next. */
static void phase_end(struct iamp_trainer *tr, int phase, double *t0)
{
    double now = iamp_now();
    tr->phase_s[phase] += now - *t0;
    iamp_trace_span(phase_names[phase], *t0, now);
    *t0 = now;
}

/* Steps 1-2 of IA: questions at the curriculum's level, M's greedy
 * answers, and the modes' examples. */
static int ia_targets(struct iamp_trainer *tr, int n, struct iamp_mode_stats *ms, double *tp)
{
    struct iamp_session *s = tr->s;
    iamp_task_sample_roots(&s->task, &tr->rng, tr->cur.level, n, tr->ctx, tr->rd.qs);
    phase_end(tr, IAMP_PHASE_SAMPLE, tp);
    int rc = iamp_session_answer(s, tr->rd.qs, n, tr->rd.mine);
    phase_end(tr, IAMP_PHASE_ANSWER, tp);
    tr->rd.round = tr->round;
    /* H's calls are the engine's episodes (H''s own count with H'); the
     * labels are the ground truth's answers the modes asked for. */
    long episodes = s->engine.stats.episodes, truths = iamp_task_truth_calls();
    if (tr->opts.hprime)
        iamp_hprime_training(tr->opts.hprime, 1);
    if (!rc)
        rc = iamp_modes_build(&tr->rd, n, ms);
    if (tr->opts.hprime)
        iamp_hprime_training(tr->opts.hprime, 0);
    else
        tr->h_calls += s->engine.stats.episodes - episodes;
    tr->labels += iamp_task_truth_calls() - truths;
    phase_end(tr, IAMP_PHASE_TARGETS, tp);
    return rc;
}

/* Steps 1-2 from demonstrations: the round's share of the file with its
 * answers as the targets, and M's greedy answers (the agreement). */
static int demo_targets(struct iamp_trainer *tr, int n, struct iamp_mode_stats *ms, double *tp)
{
    const struct iamp_train_config *c = &tr->opts.cfg;
    int rc = iamp_demos_take(tr->opts.demos, c->seed, tr->round, (int)c->questions_per_round,
                             tr->rd.qs, tr->rd.targets);
    phase_end(tr, IAMP_PHASE_SAMPLE, tp);
    if (!rc)
        rc = iamp_session_answer(tr->s, tr->rd.qs, n, tr->rd.mine);
    phase_end(tr, IAMP_PHASE_ANSWER, tp);
    if (!rc)
        iamp_modes_build_given(&tr->rd, n, ms);
    phase_end(tr, IAMP_PHASE_TARGETS, tp);
    return rc;
}

int iamp_trainer_step(struct iamp_trainer *tr, struct iamp_round_stats *st)
{
    double t0 = iamp_now();
    struct iamp_session *s = tr->s;
    int n = (int)tr->opts.cfg.questions_per_round;
    memset(st, 0, sizeof(*st));
    st->difficulty = tr->cur.level;
    st->depths = tr->eval.depths;
    int rc = 0;
    if (s->has_target && tr->opts.cfg.target_sync > 0 &&
        tr->round % (long)tr->opts.cfg.target_sync == 0)
        rc = iamp_session_target_sync(s);
    if (!rc && !s->has_ref && tr->round >= (long)tr->opts.cfg.warmup)
        rc = iamp_session_ref_set(s, NULL);
    if (rc)
        return rc;
    double tp = iamp_now();
    struct iamp_mode_stats ms;
    if (tr->opts.demos) {
        n = iamp_demos_per_round(tr->opts.demos, n);
        rc = demo_targets(tr, n, &ms, &tp);
    } else {
        rc = ia_targets(tr, n, &ms, &tp);
    }
    if (rc)
        return rc;
    st->approval = ms.approval;
    st->reward = ms.reward;
    st->value_error = ms.value_error;
    st->agreement = mean_agreement(tr, n);
    /* With H', the curriculum waits for H' to have learned H (see
     * iamp_hprime_ready). */
    if (!tr->opts.demos && (!tr->opts.hprime || iamp_hprime_ready(tr->opts.hprime)))
        iamp_curriculum_update(&tr->cur, (float)st->agreement);
    rc = distil(tr, n, &st->loss);
    if (!rc && tr->opts.hprime) {
        long steps = ((long)n * (tr->opts.cfg.epochs ? tr->opts.cfg.epochs : 1) +
                      (long)tr->opts.cfg.batch - 1) /
                     (long)tr->opts.cfg.batch;
        rc = iamp_hprime_round(tr->opts.hprime, steps, tr->cur.level);
    }
    phase_end(tr, IAMP_PHASE_FIT, &tp);
    if (!rc)
        rc = measure_policy(tr, n, st);
    phase_end(tr, IAMP_PHASE_MEASURE, &tp);
    if (rc)
        return rc;
    tr->round++;
    tr->examples += n;
    st->round = tr->round;
    st->examples = tr->examples;
    st->h_calls = tr->h_calls;
    st->labels = tr->labels;
    if (tr->opts.hprime) {
        st->has_hprime = 1;
        iamp_hprime_get_stats(tr->opts.hprime, &st->hp);
        st->h_calls = st->hp.h_calls;
    }
    st->round_seconds = iamp_now() - t0;
    tr->seconds += st->round_seconds;
    st->seconds = tr->seconds;
    return 0;
}

int iamp_trainer_evaluate(struct iamp_trainer *tr, struct iamp_round_stats *st)
{
    double t0 = iamp_now();
    st->depths = tr->eval.depths;
    int rc = iamp_eval_accuracy(tr->s, &tr->eval, 0, &st->accuracy, st->per_type, st->metric,
                                st->by_depth);
    if (!rc)
        rc = iamp_eval_accuracy(tr->s, &tr->eval, (int)tr->opts.cfg.depth, &st->amplified_accuracy,
                                NULL, NULL, st->amp_by_depth);
    if (rc)
        return rc;
    double dt = iamp_now() - t0;
    tr->phase_s[IAMP_PHASE_EVALUATE] += dt;
    iamp_trace_span("evaluate", t0, t0 + dt);
    st->round_seconds += dt;
    tr->seconds += dt;
    st->seconds = tr->seconds;
    note_reached(tr, st);
    return 0;
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

/* ---------------------------------------------------------- a run */

/* A round that was not evaluated reports no held-out figure at all. */
static void mark_unevaluated(struct iamp_round_stats *st)
{
    st->accuracy = st->amplified_accuracy = NAN;
    for (int ty = 0; ty < IAMP_TYPES_MAX; ty++)
        st->per_type[ty] = NAN;
    for (int k = 0; k < IAMP_METRICS_MAX; k++)
        st->metric[k] = NAN;
    for (int d = 0; d < IAMP_EVAL_DEPTHS; d++)
        st->by_depth[d] = st->amp_by_depth[d] = NAN;
}

static int due(long round, long every)
{
    return every > 0 && round % every == 0;
}

/* By rounds, or (eval_every 0) while evaluation has cost at most its
 * share of the run so far: an evaluation's cost sets the wait before the
 * next, whatever the model's size or the task's evaluation set. */
static int eval_due(const struct iamp_run *r, long round)
{
    if (r->cadence.eval_every > 0)
        return due(round, r->cadence.eval_every);
    double all = 0.0;
    for (int p = 0; p < IAMP_PHASE_COUNT; p++)
        all += r->tr->phase_s[p];
    return r->tr->phase_s[IAMP_PHASE_EVALUATE] <= r->cadence.eval_budget * all;
}

/* The round's TensorBoard event (st NULL: none), then with sync an fsync
 * of the file. */
static int write_events(struct iamp_run *r, const struct iamp_round_stats *st, int sync, char *err,
                        size_t errlen)
{
    if (!r->tensorboard)
        return 0;
    int rc = st ? iamp_metrics_tensorboard(r->tensorboard, &r->tr->s->task, st) : 0;
    if (!rc && sync)
        rc = iamp_tensorboard_sync(r->tensorboard);
    if (rc)
        snprintf(err, errlen, "cannot write TensorBoard events %s: %s",
                 iamp_tensorboard_path(r->tensorboard), iamp_strerror(rc));
    return rc;
}

int iamp_run_round(struct iamp_run *r, struct iamp_round_stats *st, char *err, size_t errlen)
{
    struct iamp_trainer *tr = r->tr;
    int rc = iamp_trainer_step(tr, st);
    if (rc) {
        snprintf(err, errlen, "round %ld failed: %s", tr->round + 1, iamp_strerror(rc));
        return rc;
    }
    if (eval_due(r, st->round) || st->round >= r->last_round)
        rc = iamp_trainer_evaluate(tr, st);
    else
        mark_unevaluated(st);
    if (rc) {
        snprintf(err, errlen, "round %ld failed: evaluation: %s", st->round, iamp_strerror(rc));
        return rc;
    }
    double t0 = iamp_now();
    if (r->metrics)
        iamp_metrics_write(r->metrics, &tr->s->task, st);
    rc = write_events(r, st, due(st->round, r->cadence.checkpoint_every), err, errlen);
    if (!rc && r->checkpoint && due(st->round, r->cadence.checkpoint_every)) {
        rc = iamp_trainer_save(tr, r->checkpoint);
        if (rc)
            snprintf(err, errlen, "cannot write checkpoint %s: %s", r->checkpoint,
                     iamp_strerror(rc));
    }
    phase_end(tr, IAMP_PHASE_SAVE, &t0);
    return rc;
}

int iamp_run_finish(struct iamp_run *r, int measure, struct iamp_round_stats *st, char *err,
                    size_t errlen)
{
    int rc = 0;
    if (measure && (st->round == 0 || isnan(st->accuracy))) {
        rc = iamp_trainer_evaluate(r->tr, st);
        if (rc) {
            snprintf(err, errlen, "evaluation failed: %s", iamp_strerror(rc));
            return rc;
        }
    }
    double t0 = iamp_now();
    rc = write_events(r, NULL, 1, err, errlen);
    if (!rc && r->checkpoint) {
        rc = iamp_trainer_save(r->tr, r->checkpoint);
        if (rc)
            snprintf(err, errlen, "cannot write checkpoint %s: %s", r->checkpoint,
                     iamp_strerror(rc));
    }
    phase_end(r->tr, IAMP_PHASE_SAVE, &t0);
    return rc;
}
