/* test_train.c — the training driver: no ground truth on the imitate path,
 * the supervised baseline does use it, resuming from a checkpoint is exact,
 * per-type algo parsing, and the learning-rate schedule. */
#include "coordinator/train.h"

#include <criterion/criterion.h>
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

static void open_session(struct iamp_session *s)
{
    struct iamp_model_opts mo = {8, 32, 2};
    char err[256];
    cr_assert_eq(iamp_session_open(s, "permpow:n=16,kmax=15", &mo, 1e-3f, 5, err, sizeof(err)), 0,
                 "%s", err);
}

Test(train, imitate_rounds_never_consult_ground_truth, .timeout = 60)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    struct iamp_train_opts o;
    struct iamp_round_stats st;
    char err[256];
    open_session(&s);
    small_opts(&o, "imitate");
    cr_assert_eq(iamp_trainer_init(&tr, &s, &o, NULL, err, sizeof(err)), 0, "%s", err);
    for (int r = 0; r < 8; r++) {
        long before = iamp_task_truth_calls();
        cr_assert_eq(iamp_trainer_step(&tr, &st), 0);
        cr_assert_eq(iamp_task_truth_calls(), before, "round %d used ground truth", r);
        cr_assert_eq(iamp_trainer_evaluate(&tr, &st), 0);
        cr_assert_gt(iamp_task_truth_calls(), before, "evaluation does use it");
    }
    iamp_trainer_release(&tr);
    iamp_session_close(&s);
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
    for (int r = 0; r < n; r++)
        cr_assert_eq(iamp_trainer_round(tr, &st), 0);
    return iamp_model_checksum(&tr->s->model);
}

Test(train, resume_from_checkpoint_is_exact, .timeout = 60)
{
    char dir[] = "/tmp/iamp_train_XXXXXX", path[256], err[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/checkpoint.pb", dir);
    struct iamp_train_opts o;
    small_opts(&o, "imitate");

    struct iamp_session s;
    struct iamp_trainer tr;
    open_session(&s);
    cr_assert_eq(iamp_trainer_init(&tr, &s, &o, NULL, err, sizeof(err)), 0);
    uint64_t straight = run_rounds(&tr, 10);
    iamp_trainer_release(&tr);
    iamp_session_close(&s);

    open_session(&s);
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
    uint64_t resumed = run_rounds(&tr, 6);
    cr_assert_eq(resumed, straight, "resumed run diverged");
    iamp_trainer_release(&tr);
    iamp_session_close(&s);
    unlink(path);
    rmdir(dir);
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
