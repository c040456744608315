/* test_train.c — the training driver: no ground truth on any IA path
 * (imitate, search, reinforce, mixed, on permpow, tictactoe and the
 * answer-domain tasks trajectory, markov and graph; imitate on the
 * tasks with facts assign, wildcard, unionfind and path), the
 * supervised baseline does use it, resuming from a checkpoint is exact
 * (imitate and the RL modes, whose state includes p_ref and the sampling
 * RNG), per-type algo parsing, and the learning-rate schedule. The
 * examples each mode builds are tested in test_modes.c. */
#include "coordinator/train/train.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void small_opts(struct iamp_train_opts *o, const char *algo)
{
    iamp_train_opts_default(o);
    snprintf(o->cfg.algo, sizeof(o->cfg.algo), "%s", algo);
    o->cfg.questions_per_round = 64;
    o->cfg.batch = 32;
    o->cfg.eval_size = 60;
    o->cfg.schedule_rounds = 20;
    o->cfg.target_sync = 3;
}

static void open_task(struct iamp_session *s, const char *spec)
{
    /* A task with contexts (permpow:context=1, unionfind, path) gets a
     * small transformer (the default is an mlp for the others). */
    struct iamp_model_opts mo = {8, 32, 2, 0, ""};
    struct iamp_task t;
    char err[256];
    cr_assert_eq(iamp_task_create(&t, spec, err, sizeof(err)), 0, "%s", err);
    if (iamp_task_has_contexts(&t))
        snprintf(mo.model, sizeof(mo.model), "transformer:d=16,heads=2,enc=1,dec=1");
    iamp_task_destroy(&t);
    cr_assert_eq(iamp_session_open(s, spec, &mo, 1e-3f, 5, err, sizeof(err)), 0, "%s", err);
}

static void open_session(struct iamp_session *s)
{
    open_task(s, "permpow:n=16,kmax=15");
}

/* Rounds of `algo` on `spec` never call ground truth; evaluation does. */
static void never_consults_truth(const char *spec, const char *algo, int warmup)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    struct iamp_train_opts o;
    struct iamp_round_stats st;
    char err[256];
    open_task(&s, spec);
    small_opts(&o, algo);
    o.cfg.warmup = (uint32_t)warmup;
    o.cfg.samples = 3;
    cr_assert_eq(iamp_trainer_init(&tr, &s, &o, NULL, err, sizeof(err)), 0, "%s", err);
    for (int r = 0; r < 5; r++) {
        long before = iamp_task_truth_calls();
        cr_assert_eq(iamp_trainer_step(&tr, &st), 0);
        cr_assert_eq(iamp_task_truth_calls(), before, "%s %s round %d used ground truth", spec,
                     algo, r);
        if (r >= warmup && strcmp(algo, "imitate") != 0)
            cr_assert(!isnan(st.approval), "%s %s: approval measured", spec, algo);
        cr_assert_eq(iamp_trainer_evaluate(&tr, &st), 0);
        cr_assert_gt(iamp_task_truth_calls(), before, "evaluation does use it");
    }
    iamp_trainer_release(&tr);
    iamp_session_close(&s);
}

Test(train, imitate_rounds_never_consult_ground_truth, .timeout = 60)
{
    never_consults_truth("permpow:n=16,kmax=15", "imitate", 0);
    never_consults_truth("tictactoe", "imitate", 0);
}

Test(train, search_reinforce_mixed_rounds_never_consult_ground_truth, .timeout = 60)
{
    static const char *const algos[] = {"search", "reinforce", "mixed"};
    for (int i = 0; i < 3; i++) {
        never_consults_truth("permpow:n=16,kmax=15,approve=1", algos[i], 2);
        never_consults_truth("tictactoe", algos[i], 0);
    }
    never_consults_truth("tictactoe", "value=imitate,action=search,approve=imitate", 0);
}

Test(train, answer_domain_rounds_never_consult_ground_truth, .timeout = 120)
{
    static const char *const algos[] = {"imitate", "search", "reinforce", "mixed"};
    for (int i = 0; i < 4; i++) {
        never_consults_truth("trajectory:n=16,lmax=8", algos[i], i ? 2 : 0);
        never_consults_truth("markov:s=4,kmax=8", algos[i], i ? 2 : 0);
    }
    never_consults_truth("graph:v=32", "imitate", 0);
}

Test(train, rounds_on_instances_with_facts_never_consult_ground_truth, .timeout = 120)
{
    static const char *const algos[] = {"imitate", "search", "reinforce", "mixed"};
    for (int i = 0; i < 4; i++)
        never_consults_truth("permpow:n=12,context=1,approve=1", algos[i], i ? 2 : 0);
    never_consults_truth("unionfind:n=12", "imitate", 0);
    never_consults_truth("path:n=10", "imitate", 0);
}

Test(train, rounds_on_the_papers_tasks_never_consult_ground_truth, .timeout = 120)
{
    never_consults_truth("assign:vars=12", "imitate", 0);
    never_consults_truth("wildcard:len=4", "imitate", 0);
}

Test(train, supervised_rounds_use_ground_truth, .timeout = 60)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    struct iamp_train_opts o;
    struct iamp_round_stats st;
    char err[256];
    open_session(&s);
    small_opts(&o, "supervised");
    cr_assert_eq(iamp_trainer_init(&tr, &s, &o, NULL, err, sizeof(err)), 0, "%s", err);
    long before = iamp_task_truth_calls();
    cr_assert_eq(iamp_trainer_step(&tr, &st), 0);
    cr_assert_geq(iamp_task_truth_calls() - before, 64);
    iamp_trainer_release(&tr);
    iamp_session_close(&s);
}

static uint64_t run_rounds(struct iamp_trainer *tr, int n)
{
    struct iamp_round_stats st;
    for (int r = 0; r < n; r++) {
        cr_assert_eq(iamp_trainer_step(tr, &st), 0);
        cr_assert_eq(iamp_trainer_evaluate(tr, &st), 0);
    }
    return iamp_model_checksum(&tr->s->model);
}

/* 10 rounds straight == 4, save, load, 6 more: same parameters. */
static void resume_is_exact(const char *spec, const char *algo, int warmup)
{
    char dir[] = "/tmp/iamp_train_XXXXXX", path[256], err[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/checkpoint.pb", dir);
    struct iamp_train_opts o;
    small_opts(&o, algo);
    o.cfg.warmup = (uint32_t)warmup;
    o.cfg.samples = 3;

    struct iamp_session s;
    struct iamp_trainer tr;
    open_task(&s, spec);
    cr_assert_eq(iamp_trainer_init(&tr, &s, &o, NULL, err, sizeof(err)), 0);
    uint64_t straight = run_rounds(&tr, 10);
    iamp_trainer_release(&tr);
    iamp_session_close(&s);

    open_task(&s, spec);
    cr_assert_eq(iamp_trainer_init(&tr, &s, &o, NULL, err, sizeof(err)), 0);
    uint64_t half = run_rounds(&tr, 4); /* 4 is not a multiple of target_sync */
    cr_assert_neq(half, straight);
    cr_assert_eq(iamp_trainer_save(&tr, path), 0);
    iamp_trainer_release(&tr);
    iamp_session_close(&s);

    struct iamp_checkpoint ck;
    cr_assert_eq(iamp_session_load(&s, path, NULL, &ck, err, sizeof(err)), 0, "%s", err);
    o.cfg = ck.config;
    cr_assert_eq(iamp_trainer_init(&tr, &s, &o, &ck, err, sizeof(err)), 0, "%s", err);
    iamp_checkpoint_release(&ck);
    cr_assert_eq(tr.round, 4);
    cr_assert_eq(tr.s->has_ref, warmup <= 4, "p_ref comes back with the checkpoint");
    uint64_t resumed = run_rounds(&tr, 6);
    cr_assert_eq(resumed, straight, "%s %s: resumed run diverged", spec, algo);
    iamp_trainer_release(&tr);
    iamp_session_close(&s);
    unlink(path);
    rmdir(dir);
}

Test(train, resume_from_checkpoint_is_exact, .timeout = 60)
{
    resume_is_exact("permpow:n=16,kmax=15", "imitate", 0);
}

Test(train, resume_is_exact_in_rl_modes, .timeout = 60)
{
    /* mixed: sampled answers, baseline, p_ref taken at round 3 and the KL
     * term; search: samples and approvals; the warm-up straddles the cut
     * or not. */
    resume_is_exact("permpow:n=16,kmax=15,approve=1", "mixed", 3);
    resume_is_exact("tictactoe", "value=imitate,action=mixed,approve=imitate", 6);
    resume_is_exact("tictactoe", "search", 0);
    /* Sequences (per-prefix baselines) and continuous answers (samples,
     * KL between logistic-normals). */
    resume_is_exact("trajectory:n=16,lmax=8", "reinforce", 3);
    resume_is_exact("markov:s=4,kmax=8", "mixed", 2);
}

Test(train, resume_is_exact_on_instances_with_a_transformer, .timeout = 120)
{
    /* The round's instances come from the training stream the checkpoint
     * keeps; the transformer's spec comes back from the checkpoint. */
    resume_is_exact("permpow:n=12,context=1", "imitate", 0);
    resume_is_exact("permpow:n=12,context=1,approve=1", "mixed", 3);
}

Test(train, same_seed_same_parameters_other_seed_differs, .timeout = 60)
{
    struct iamp_train_opts o;
    struct iamp_session s;
    struct iamp_trainer tr;
    char err[256];
    uint64_t sum[3];
    for (int i = 0; i < 3; i++) {
        small_opts(&o, "imitate");
        o.cfg.seed = i < 2 ? 1 : 2;
        open_session(&s);
        cr_assert_eq(iamp_trainer_init(&tr, &s, &o, NULL, err, sizeof(err)), 0);
        sum[i] = run_rounds(&tr, 3);
        iamp_trainer_release(&tr);
        iamp_session_close(&s);
    }
    cr_assert_eq(sum[0], sum[1]);
    cr_assert_neq(sum[0], sum[2]);
}

Test(train, algo_parses_single_and_per_type_modes, .timeout = 10)
{
    struct iamp_task t;
    struct iamp_algo a;
    char err[256];
    cr_assert_eq(iamp_task_create(&t, "permpow", err, sizeof(err)), 0);
    cr_assert_eq(iamp_algo_parse("imitate", &t, &a, err, sizeof(err)), 0);
    cr_assert_eq(a.mode[0], IAMP_MODE_IMITATE);
    cr_assert_eq(iamp_algo_parse("pow=supervised", &t, &a, err, sizeof(err)), 0);
    cr_assert_eq(a.mode[0], IAMP_MODE_SUPERVISED);
    cr_assert_eq(iamp_algo_parse("bogus", &t, &a, err, sizeof(err)), IAMP_EUNKNOWN);
    cr_assert_not_null(strstr(err, "bogus"));
    cr_assert_eq(iamp_algo_parse("value=imitate", &t, &a, err, sizeof(err)), IAMP_EUNKNOWN);
    cr_assert_not_null(strstr(err, "value"));
    cr_assert_neq(iamp_algo_parse("pow", &t, &a, err, sizeof(err)), 0);
    /* RL modes need an approval type: permpow has one only with approve=1. */
    cr_assert_eq(iamp_algo_parse("reinforce", &t, &a, err, sizeof(err)), IAMP_EINVAL);
    cr_assert_not_null(strstr(err, "approve=1"), "%s", err);
    iamp_task_destroy(&t);
    cr_assert_eq(iamp_task_create(&t, "permpow:approve=1", err, sizeof(err)), 0);
    cr_assert_eq(iamp_algo_parse("search", &t, &a, err, sizeof(err)), 0);
    cr_assert_eq(a.mode[0], IAMP_MODE_SEARCH);
    cr_assert_eq(a.mode[1], IAMP_MODE_IMITATE, "approve has no approval of its own");
    iamp_task_destroy(&t);
}

Test(train, algo_on_tictactoe_falls_back_or_refuses, .timeout = 10)
{
    struct iamp_task t;
    struct iamp_algo a;
    char err[256], buf[256];
    cr_assert_eq(iamp_task_create(&t, "tictactoe", err, sizeof(err)), 0);
    cr_assert_eq(iamp_algo_parse("mixed", &t, &a, err, sizeof(err)), 0);
    iamp_algo_format(&a, &t, buf, sizeof(buf));
    cr_assert_str_eq(buf, "value=imitate,action=mixed,approve=imitate");
    cr_assert_eq(iamp_algo_parse("value=imitate,action=reinforce,approve=supervised", &t, &a, err,
                                 sizeof(err)),
                 0);
    iamp_algo_format(&a, &t, buf, sizeof(buf));
    cr_assert_str_eq(buf, "value=imitate,action=reinforce,approve=supervised");
    cr_assert_eq(
        iamp_algo_parse("value=search,action=search,approve=imitate", &t, &a, err, sizeof(err)),
        IAMP_EINVAL);
    cr_assert_not_null(strstr(err, "'value'"), "%s", err);
    cr_assert_eq(iamp_algo_parse("value=imitate,action=search", &t, &a, err, sizeof(err)),
                 IAMP_EINVAL, "every type needs a mode");
    iamp_task_destroy(&t);
}

Test(train, linear_schedule_decays_to_floor, .timeout = 10)
{
    struct iamp_train_config c = {
        .lr = 1.0f, .lr_schedule = IAMP_LR_LINEAR, .schedule_rounds = 100};
    cr_assert_float_eq(iamp_train_lr(&c, 0), 1.0, 1e-6);
    cr_assert_float_eq(iamp_train_lr(&c, 50), 0.5, 1e-6);
    cr_assert_float_eq(iamp_train_lr(&c, 95), IAMP_LR_FLOOR, 1e-6);
    cr_assert_float_eq(iamp_train_lr(&c, 1000), IAMP_LR_FLOOR, 1e-6);
    c.lr_schedule = IAMP_LR_CONSTANT;
    cr_assert_float_eq(iamp_train_lr(&c, 50), 1.0, 1e-6);
}

Test(train, rl_lr_scale_applies_from_the_end_of_the_warmup, .timeout = 10)
{
    struct iamp_train_config c = {.lr = 1.0f,
                                  .lr_schedule = IAMP_LR_LINEAR,
                                  .schedule_rounds = 100,
                                  .warmup = 40,
                                  .rl_lr_scale = 0.1f};
    cr_assert_float_eq(iamp_train_lr(&c, 39), 0.61, 1e-6, "warm-up rounds keep the full rate");
    cr_assert_float_eq(iamp_train_lr(&c, 40), 0.06, 1e-6, "scaled from round warmup on");
    cr_assert_float_eq(iamp_train_lr(&c, 50), 0.05, 1e-6);
    c.rl_lr_scale = 1.0f;
    cr_assert_float_eq(iamp_train_lr(&c, 50), 0.5, 1e-6, "1 changes nothing");
}
