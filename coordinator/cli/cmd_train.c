/* cmd_train.c — `iamp train`: options, the round loop, progress, metrics
 * (JSONL and TensorBoard events), checkpoints, and the final summary line.
 * Everything that can be refused (the options, the checkpoint, a
 * demonstrations file) is checked before anything is written.
 * Runs on rank 0's main thread. SIGINT/SIGTERM end the loop after the
 * current round, with a checkpoint when a checkpoint directory is set.
 */
#include "coordinator/cli/cli.h"
#include "coordinator/train/metrics.h"
#include "coordinator/train/train.h"

#include "common/fileio.h"

#include <stddef.h>
#include <stdlib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static const char train_usage[] =
    "usage: iamp train --task SPEC --algo MODE [options]\n"
    "\n"
    "Iterated Amplification: each round samples questions, amplifies them with\n"
    "the overseer H asking M, distils M toward the amplified answers, and\n"
    "evaluates M on a fixed held-out set. The defaults below are iamp's; a task\n"
    "may train with its own (\"trains with\" under tasks); options given win.\n";

struct train_cmd {
    struct iamp_train_plan plan;
    const char *task, *metrics, *ckdir, *tensorboard, *demos;
    const char *overseer, *hp_model; /* --overseer h|learned, --overseer-model */
    struct iamp_hprime_opts hp;
    int resume, quiet, profile;
    long log_every;
    double stop_at;
    const char *task_defaults; /* the task's train_defaults, when they applied */
};

#define CMD_AT(f) offsetof(struct train_cmd, f)
#define IAMP_OPT_STRUCT struct train_cmd
static const struct iamp_opt cmd_rows[] = {
    IAMP_OPT_STRING("task", task, "SPEC",
                    "task, e.g. permpow or permpow:n=64,seed=7 (tasks below)"),
    IAMP_OPT_STRING("metrics", metrics, "FILE", "append one JSON object per round"),
    IAMP_OPT_STRING("tensorboard", tensorboard, "DIR",
                    "also write each round's row as TensorBoard scalars, to\n"
                    "a new event file in DIR (created when missing)"),
    IAMP_OPT_STRING("checkpoint-dir", ckdir, "DIR", "save DIR/checkpoint.pb atomically"),
    IAMP_OPT_SWITCH("resume", resume, 1, "continue DIR/checkpoint.pb"),
    IAMP_OPT_STRING("demonstrations", demos, "FILE",
                    "M imitates the answers in FILE instead of Amp(H, M):\n"
                    "JSONL, one finished episode a line, e.g.\n"
                    "{\"question\": \"pow x=3 k=2\", \"answer\": [5]} (and\n"
                    "\"facts\" for a task with facts; see README); each\n"
                    "round takes --questions of them in a shuffled cycle.\n"
                    "Needs --algo imitate (its default). --resume with\n"
                    "the same FILE goes on exactly; without it, with IA"),
    IAMP_OPT_STRING("overseer", overseer, "WHO",
                    "who decomposes: h, the task's H; or learned, H' (a\n"
                    "transformer over H's transcripts) with H called on a\n"
                    "budget: --overseer-first calls, then per step of M 1,\n"
                    "0.1, 0.01 by H''s held-out loss (>= 0.1, >= 0.01,\n"
                    "below). Under mpirun H' runs on rank 0 and M's\n"
                    "leaves on the workers; no --resume"),
    IAMP_OPT_NUM("overseer-first", IAMP_OPT_LONG, hp.first, 0, 100000000, "N",
                 "learned: H calls before the rate applies"),
    IAMP_OPT_STRING("overseer-model", hp_model, "SPEC", "learned: H''s model (--model's syntax)"),
    IAMP_OPT_NUM("overseer-steps", IAMP_OPT_INT, hp.steps, 0, 10000, "N",
                 "learned: H''s Adam steps per round"),
    IAMP_OPT_NUM("overseer-batch", IAMP_OPT_INT, hp.batch, 1, 100000, "N",
                 "learned: transcript steps per H' step"),
    IAMP_OPT_NUM("overseer-lr", IAMP_OPT_FLOAT, hp.lr, 1e-7, 1.0, "LR",
                 "learned: H''s learning rate"),
    {.name = "stop-at",
     .kind = IAMP_OPT_DOUBLE,
     .offset = CMD_AT(stop_at),
     .lo = 0.0,
     .hi = 1.0,
     .arg = "ACC",
     .help = "stop once held-out accuracy reaches ACC",
     .flags = IAMP_OPT_NO_DEFAULT},
    IAMP_OPT_NUM("log-every", IAMP_OPT_LONG, log_every, 1, 1000000, "N",
                 "rounds between progress lines"),
    IAMP_OPT_SWITCH("quiet", quiet, 1, "only the final line"),
    IAMP_OPT_SWITCH("profile", profile, 1,
                    "after the final line, where this run's time went: each\n"
                    "phase of the rounds (sample, answer, targets, fit,\n"
                    "measure), evaluation and saving"),
    {0},
};
#undef IAMP_OPT_STRUCT

#define TRAIN_GROUPS (1 + IAMP_PLAN_GROUPS)
static void train_groups(struct iamp_opt_group g[TRAIN_GROUPS])
{
    g[0] = (struct iamp_opt_group){cmd_rows, 0, NULL};
    iamp_train_plan_groups(CMD_AT(plan), g + 1);
}

/* After the options: the distillation modes and the tasks, from their
 * tables. */
static void train_help_more(void)
{
    printf("\ndistillation modes (--algo):\n");
    for (int m = 0; m < IAMP_MODE_COUNT; m++)
        printf("  %-12s %s\n", iamp_mode_name(m), iamp_mode_info(m)->help);
    printf("  search, reinforce and mixed need a type with an approval question; as a\n"
           "  single word, types without one imitate\n");
    printf("\ntasks:\n");
    for (int i = 0; i < iamp_task_count(); i++) {
        const struct iamp_task_ops *ops = iamp_task_ops_at(i);
        struct iamp_task t;
        char err[256];
        printf("  %-10s %s\n  %-10s parameters: %s\n", ops->name, ops->summary, "", ops->params);
        if (ops->train_defaults)
            printf("  %-10s trains with (unless given): %s\n", "", ops->train_defaults);
        if (iamp_task_create(&t, ops->name, err, sizeof(err)))
            continue;
        printf("  %-10s question types:", "");
        for (int ty = 0; ty < t.n_types; ty++)
            printf(" %s%s", t.type_names[ty], ty == t.headline_type ? " (headline)" : "");
        printf("; held-out set: %d questions\n", t.eval_size);
        if (iamp_task_compares(&t))
            printf("  %-10s approval: by comparison with the amplified answer (search, reinforce, "
                   "mixed)\n",
                   "");
        iamp_task_destroy(&t);
    }
}

static const struct iamp_cli_help train_help = {train_usage, train_help_more};

static void train_cmd_defaults(struct train_cmd *c, const struct iamp_train_plan *plan)
{
    static const struct iamp_hprime_opts hp = IAMP_HPRIME_OPTS_DEFAULT;
    memset(c, 0, sizeof(*c));
    c->plan = *plan;
    c->log_every = 10;
    c->overseer = "h";
    c->hp = hp;
    c->hp_model = hp.model;
}

/* The options of argv onto c, parsed from a copy (argv is read twice);
 * returns -1 to go on, or an exit code (help printed, or a usage error). */
static int apply_args(int argc, char **argv, struct train_cmd *c)
{
    struct iamp_opt_group g[TRAIN_GROUPS];
    struct train_cmd defaults;
    struct iamp_train_plan plan;
    char **copy = calloc((size_t)argc + 1, sizeof(char *));
    int npos = 0;
    if (!copy) {
        iamp_cli_error("train: out of memory");
        return IAMP_EXIT_FAIL;
    }
    memcpy(copy, argv, (size_t)argc * sizeof(char *));
    train_groups(g);
    iamp_train_plan_default(&plan);
    train_cmd_defaults(&defaults, &plan);
    int code =
        iamp_cli_parse("train", &train_help, g, TRAIN_GROUPS, c, &defaults, argc, copy, &npos);
    if (code < 0 && npos > 0)
        code = iamp_cli_usage("train", "unexpected argument '%s'", copy[1]);
    free(copy);
    return code;
}

/* Parse argv; returns -1 to go on, or an exit code. A fresh run takes
 * iamp's defaults, then the task's (iamp_train_plan_for_task), then the
 * command line's options. */
static int parse_train(int argc, char **argv, struct train_cmd *c)
{
    struct iamp_train_plan plan;
    char err[512];
    iamp_train_plan_default(&plan);
    train_cmd_defaults(c, &plan);
    int rc = apply_args(argc, argv, c);
    if (rc != -1)
        return rc;
    if (!c->resume && c->task) {
        const char *td = NULL;
        if (iamp_train_plan_for_task(&plan, c->task, &td, err, sizeof(err))) {
            iamp_cli_error("train: %s", err);
            return IAMP_EXIT_FAIL;
        }
        train_cmd_defaults(c, &plan);
        c->task_defaults = td;
        rc = apply_args(argc, argv, c);
        if (rc != -1)
            return rc;
    }
    if (!c->resume && !c->task)
        return iamp_cli_usage("train", "--task is required");
    if (!c->resume && !c->plan.algo_given && !c->demos)
        return iamp_cli_usage("train", "--algo is required");
    if (c->resume && !c->ckdir)
        return iamp_cli_usage("train", "--resume needs --checkpoint-dir");
    if (strcmp(c->overseer, "h") != 0 && strcmp(c->overseer, "learned") != 0)
        return iamp_cli_usage("train", "--overseer is h or learned, not '%s'", c->overseer);
    if (strcmp(c->overseer, "learned") == 0 && c->resume)
        return iamp_cli_usage("train", "--overseer learned cannot --resume: H' and its "
                                       "transcripts are not in the checkpoint");
    if (strcmp(c->overseer, "learned") == 0 && c->demos)
        return iamp_cli_usage("train", "--overseer learned has no H to learn from with "
                                       "--demonstrations");
    if (strlen(c->hp_model) >= sizeof(c->hp.model))
        return iamp_cli_usage("train", "--overseer-model is too long");
    snprintf(c->hp.model, sizeof(c->hp.model), "%s", c->hp_model);
    return -1;
}

struct train_run {
    struct train_cmd *c;
    struct iamp_session s;
    struct iamp_trainer tr;
    FILE *metrics;
    struct iamp_tensorboard *tb;
    char ckpath[1024];
    struct iamp_demos demos;  /* --demonstrations, for the trainer's lifetime */
    int has_demos, bad_demos; /* bad_demos: the file was refused (a usage error) */
    struct iamp_hprime *hp;   /* --overseer learned, in r->s's task */
};

/* The trainer, on the demonstrations when there are any: they are read
 * and checked against the session's task here, before anything is
 * written. */
static int start_trainer(struct train_run *r, struct iamp_train_opts o,
                         const struct iamp_checkpoint *ck, char *err, size_t errlen)
{
    if (r->c->demos) {
        int rc = iamp_demos_load(&r->demos, &r->s.task, r->c->demos, err, errlen);
        r->bad_demos = rc && rc != IAMP_EIO && rc != IAMP_ENOENT && rc != IAMP_ENOMEM;
        if (rc)
            return rc;
        r->has_demos = 1;
        o.demos = &r->demos;
    }
    o.hprime = r->hp;
    return iamp_trainer_init(&r->tr, &r->s, &o, ck, err, errlen);
}

static int open_fresh(struct train_run *r, char *err, size_t errlen)
{
    struct train_cmd *c = r->c;
    if (c->ckdir && access(r->ckpath, F_OK) == 0) {
        snprintf(err, errlen, "%s exists; pass --resume to continue it", r->ckpath);
        return IAMP_ESTATE;
    }
    const struct iamp_train_plan *p = &c->plan;
    int rc = iamp_session_open(&r->s, c->task, &p->mo, p->o.cfg.lr, p->o.cfg.seed, err, errlen);
    if (!rc && iamp_cli_attach("train", &r->s)) {
        snprintf(err, errlen, "workers unavailable");
        return IAMP_EMPI;
    }
    if (!rc && strcmp(c->overseer, "learned") == 0) {
        struct iamp_hprime_opts hp = c->hp;
        hp.seed = p->o.cfg.seed;
        rc = iamp_hprime_install(&r->s, &hp, &r->hp, err, errlen);
    }
    if (!rc)
        rc = start_trainer(r, p->o, NULL, err, errlen);
    return rc;
}

static int open_resumed(struct train_run *r, char *err, size_t errlen)
{
    struct train_cmd *c = r->c;
    struct iamp_checkpoint ck;
    char why[256];
    int rc = iamp_session_load(&r->s, r->ckpath, c->task, &ck, why, sizeof(why));
    if (rc) {
        snprintf(err, errlen, "%s: %s", r->ckpath, why);
        return rc;
    }
    if (!ck.has_config || !ck.has_rng) {
        snprintf(err, errlen, "%s holds no training state to resume", r->ckpath);
        rc = IAMP_ECORRUPT;
    } else if (c->plan.algo_given && strcmp(c->plan.o.cfg.algo, ck.config.algo) != 0) {
        snprintf(err, errlen, "%s was trained with --algo %s, not %s", r->ckpath, ck.config.algo,
                 c->plan.o.cfg.algo);
        rc = IAMP_EMISMATCH;
    } else if (iamp_cli_attach("train", &r->s)) {
        snprintf(err, errlen, "workers unavailable");
        rc = IAMP_EMPI;
    } else {
        struct iamp_train_opts o = c->plan.o;
        o.cfg = ck.config;
        rc = start_trainer(r, o, &ck, err, errlen);
    }
    iamp_checkpoint_release(&ck);
    return rc;
}

static void print_summary(const struct train_run *r, const struct iamp_round_stats *last)
{
    const struct iamp_trainer *tr = &r->tr;
    char algo[256];
    if (r->s.task.n_types > 1)
        iamp_algo_format(&tr->algo, &r->s.task, algo, sizeof(algo));
    else
        snprintf(algo, sizeof(algo), "%s", tr->opts.cfg.algo);
    printf("done: task %s algo %s", r->s.task.spec, algo);
    if (tr->opts.cfg.overseer_error > 0.0f)
        printf(" overseer-error %g", tr->opts.cfg.overseer_error);
    printf(": round %ld, examples %ld, held-out accuracy %.4f, amplified %.4f", tr->round,
           tr->examples, last->accuracy, last->amplified_accuracy);
    for (int k = 0; k < r->s.task.n_metrics; k++)
        printf(", %s %.4f", r->s.task.metric_names[k], last->metric[k]);
    printf(", %.1fs", tr->seconds);
    if (tr->has_reached)
        printf("; 99%% at round %ld after %.0f examples, %.1fs\n", tr->reached_round,
               tr->reached_examples, tr->reached_seconds);
    else
        printf("; 99%% not reached\n");
}

/* One line: seconds and share of each phase of this run. */
static void print_profile(const struct iamp_trainer *tr)
{
    double total = 0.0;
    for (int p = 0; p < IAMP_PHASE_COUNT; p++)
        total += tr->phase_s[p];
    printf("profile:");
    for (int p = 0; p < IAMP_PHASE_COUNT; p++)
        printf("%s %s %.2fs (%.0f%%)", p ? "," : "", iamp_phase_name(p), tr->phase_s[p],
               total > 0 ? 100.0 * tr->phase_s[p] / total : 0.0);
    printf("; %.2fs in all\n", total);
}

/* The rounds, through the one round driver (train.h), with a progress
 * line every log_every rounds and the summary at the end. */
static int run_rounds(struct train_run *r)
{
    struct train_cmd *c = r->c;
    struct iamp_run run = {
        &r->tr, c->plan.cadence, c->plan.rounds, c->ckdir ? r->ckpath : NULL, r->metrics, r->tb};
    struct iamp_round_stats st = {0};
    char err[1200];
    while (r->tr.round < c->plan.rounds && !stop_requested) {
        if (iamp_run_round(&run, &st, err, sizeof(err))) {
            iamp_cli_error("train: %s", err);
            return IAMP_EXIT_FAIL;
        }
        if (!c->quiet && (st.round % c->log_every == 0 || st.round == 1))
            iamp_metrics_print_line(stdout, &st);
        if (c->stop_at > 0 && st.accuracy >= c->stop_at)
            break;
    }
    if (iamp_run_finish(&run, 1, &st, err, sizeof(err))) {
        iamp_cli_error("train: %s", err);
        return IAMP_EXIT_FAIL;
    }
    print_summary(r, &st);
    if (c->profile)
        print_profile(&r->tr);
    if (stop_requested)
        fprintf(stderr, "iamp: train: stopped by signal after round %ld\n", r->tr.round);
    return IAMP_EXIT_OK;
}

int iamp_cmd_train(int argc, char **argv)
{
    struct train_cmd c;
    memset(&c, 0, sizeof(c));
    int code = parse_train(argc, argv, &c);
    if (code >= 0)
        return code;
    struct train_run r;
    memset(&r, 0, sizeof(r));
    r.c = &c;
    char err[2048];
    if (c.ckdir) {
        if (strlen(c.ckdir) > 900)
            return iamp_cli_usage("train", "--checkpoint-dir path is too long");
        snprintf(r.ckpath, sizeof(r.ckpath), "%s/checkpoint.pb", c.ckdir);
    }
    int rc = c.resume ? open_resumed(&r, err, sizeof(err)) : open_fresh(&r, err, sizeof(err));
    if (rc) {
        iamp_cli_error("train: %s", err);
        code = r.bad_demos || rc == IAMP_EUNKNOWN || rc == IAMP_ERANGE || rc == IAMP_EPARSE ||
                       rc == IAMP_EINVAL
                   ? IAMP_EXIT_USAGE
                   : IAMP_EXIT_FAIL;
        goto out;
    }
    /* Created only now that the run is accepted (a fresh run's session
     * needs no directory; a resumed one's exists). */
    rc = c.ckdir ? iamp_mkdir(c.ckdir) : 0;
    if (rc) {
        iamp_cli_error("train: cannot create %s: %s", c.ckdir, iamp_strerror(rc));
        code = IAMP_EXIT_FAIL;
        goto out;
    }
    if (c.metrics && iamp_metrics_open(c.metrics, c.resume, &r.metrics)) {
        iamp_cli_error("train: cannot open metrics file %s", c.metrics);
        code = IAMP_EXIT_FAIL;
        goto out;
    }
    if (c.tensorboard && iamp_tensorboard_new(c.tensorboard, &r.tb, err, sizeof(err))) {
        iamp_cli_error("train: --tensorboard: %s", err);
        code = IAMP_EXIT_FAIL;
        goto out;
    }
    if (!c.quiet && c.task_defaults)
        printf("task %s trains with (unless given): %s\n", r.s.task.ops->name, c.task_defaults);
    if (!c.quiet && r.has_demos)
        printf("demonstrations %s: %d, %d distinct facts, crc32c %08x; %d a round\n", c.demos,
               r.demos.n, r.demos.n_ctx, r.demos.crc32c,
               iamp_demos_per_round(&r.demos, (int)r.tr.opts.cfg.questions_per_round));
    if (!c.quiet && r.tr.opts.cfg.overseer_error > 0.0f)
        printf("overseer error %g: each amplified answer M learns from is replaced by a uniform "
               "draw with that chance\n",
               r.tr.opts.cfg.overseer_error);
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    code = run_rounds(&r);
out:
    if (r.metrics)
        fclose(r.metrics);
    iamp_tensorboard_free(r.tb);
    iamp_trainer_release(&r.tr);
    iamp_demos_release(&r.demos);
    iamp_hprime_free(r.hp, &r.s);
    iamp_session_close(&r.s);
    return code;
}
