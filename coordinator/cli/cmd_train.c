/* cmd_train.c — `iamp train`: options, the round loop, progress, metrics,
 * checkpoints, and the final summary line. Runs on rank 0's main thread.
 * SIGINT/SIGTERM end the loop after the current round, with a checkpoint
 * when a checkpoint directory is set.
 */
#include "coordinator/cli/cli.h"
#include "coordinator/train/metrics.h"
#include "coordinator/train/train.h"

#include "common/fileio.h"

#include <getopt.h>
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

static const char train_help[] =
    "usage: iamp train --task SPEC --algo MODE [options]\n"
    "\n"
    "Iterated Amplification: each round samples questions, amplifies them with\n"
    "the overseer H asking M, distils M toward the amplified answers, and\n"
    "evaluates M on a fixed held-out set. The defaults below are iamp's; a task\n"
    "may train with its own (\"trains with\" under tasks); options given win.\n"
    "\n"
    "  --task SPEC              task, e.g. permpow or permpow:n=64,seed=7 (tasks below)\n"
    "  --algo MODE              distillation mode for every question type, or per\n"
    "                           type: type=mode,... (e.g. value=imitate,action=search,\n"
    "                           approve=imitate). Modes:\n"
    "                             imitate    target Amp(H, M)\n"
    "                             search     best of M's greedy answer and --samples\n"
    "                                        samples by amplified approval\n"
    "                             reinforce  REINFORCE on a sampled answer, reward its\n"
    "                                        amplified approval, value-head baseline\n"
    "                             mixed      lambda*imitate + (1-lambda)*reinforce\n"
    "                                        + beta*KL(p_M || p_ref)\n"
    "                             supervised ground-truth targets (baseline only)\n"
    "                           search/reinforce/mixed need a type with an approval\n"
    "                           question; as a single word, types without one imitate\n"
    "  --depth D                amplification depth (default 1)\n"
    "  --rounds R               stop after round R in total (default 800)\n"
    "  --seed S                 training seed: init, sampling (default 1)\n"
    "  --questions N            questions per round (default 256)\n"
    "  --batch N                minibatch size (default 64)\n"
    "  --epochs N               passes over each round's examples (default 1)\n"
    "  --lr X                   Adam learning rate (default 0.002)\n"
    "  --lr-schedule S          linear | constant (default linear)\n"
    "  --lr-decay-rounds N      linear: lr falls to 10% over N rounds (default 800)\n"
    "  --target-sync N          rounds between refreshes of M_target, the copy\n"
    "                           of M that amplification asks; 0 = ask M (default 5)\n"
    "  --samples K              search: answers sampled per question (default 8)\n"
    "  --warmup R               rounds in which search/reinforce/mixed types imitate\n"
    "                           first; p_ref, the reference of the reported KL and\n"
    "                           of mixed's penalty, is M after them (default 0)\n"
    "  --entropy X              reinforce/mixed: entropy bonus (default 0.01)\n"
    "  --value-coef X           reinforce/mixed: weight of the value baseline's\n"
    "                           squared error (default 0.5)\n"
    "  --lambda X               mixed: imitation share (default 0.1)\n"
    "  --beta X                 mixed: weight of KL(p_M || p_ref) (default 0.1)\n"
    "  --rl-lr-scale X          learning rate times X from round --warmup on, for\n"
    "                           RL fine-tuning of an imitation-trained M (default 1)\n"
    "  --embed N --hidden N --layers N   model size (default 32, 512, 2)\n"
    "  --pair-slot              one more input: an embedding per pair of the first\n"
    "                           two question tokens, a memory for answers that are\n"
    "                           an arbitrary function of the pair (graph's default;\n"
    "                           --no-pair-slot: none)\n"
    "  --eval-size N            held-out questions (default: the task's set;\n"
    "                           permpow 1008, tictactoe 13560, trajectory 1024,\n"
    "                           markov 1024, graph 2048)\n"
    "  --eval-every N           rounds between evaluations, and the last (default 5)\n"
    "  --curriculum-threshold X agreement that raises the level (default 0.85)\n"
    "  --curriculum-window N    rounds averaged for it (default 3)\n"
    "  --no-curriculum          sample every difficulty from the start\n"
    "  --stop-at ACC            stop once held-out accuracy reaches ACC\n"
    "  --metrics FILE           append one JSON object per round\n"
    "  --checkpoint-dir DIR     save DIR/checkpoint.pb atomically\n"
    "  --checkpoint-every N     rounds between checkpoints (default 10)\n"
    "  --resume                 continue DIR/checkpoint.pb\n"
    "  --log-every N            rounds between progress lines (default 10)\n"
    "  --quiet                  only the final line\n";

struct train_cmd {
    struct iamp_train_opts o;
    struct iamp_model_opts mo;
    const char *task, *metrics, *ckdir;
    int algo_set, resume, quiet;
    const char *task_defaults; /* the task's train_defaults, when they applied */
    long rounds, ck_every, log_every, eval_every;
    double stop_at;
};

enum {
    OPT_TASK = 256,
    OPT_ALGO,
    OPT_DEPTH,
    OPT_ROUNDS,
    OPT_SEED,
    OPT_QUESTIONS,
    OPT_BATCH,
    OPT_EPOCHS,
    OPT_LR,
    OPT_EMBED,
    OPT_HIDDEN,
    OPT_LAYERS,
    OPT_PAIR_SLOT,
    OPT_NO_PAIR_SLOT,
    OPT_EVAL_SIZE,
    OPT_CUR_T,
    OPT_CUR_W,
    OPT_NO_CUR,
    OPT_STOP_AT,
    OPT_METRICS,
    OPT_CKDIR,
    OPT_CKEVERY,
    OPT_RESUME,
    OPT_LOG_EVERY,
    OPT_QUIET,
    OPT_EVAL_EVERY,
    OPT_LR_SCHED,
    OPT_LR_DECAY,
    OPT_TARGET_SYNC,
    OPT_SAMPLES,
    OPT_WARMUP,
    OPT_ENTROPY,
    OPT_VALUE_COEF,
    OPT_LAMBDA,
    OPT_BETA,
    OPT_RL_LR_SCALE,
    OPT_HELP
};

static const struct option train_opts[] = {
    {"task", required_argument, 0, OPT_TASK},
    {"algo", required_argument, 0, OPT_ALGO},
    {"depth", required_argument, 0, OPT_DEPTH},
    {"rounds", required_argument, 0, OPT_ROUNDS},
    {"seed", required_argument, 0, OPT_SEED},
    {"questions", required_argument, 0, OPT_QUESTIONS},
    {"batch", required_argument, 0, OPT_BATCH},
    {"epochs", required_argument, 0, OPT_EPOCHS},
    {"lr", required_argument, 0, OPT_LR},
    {"embed", required_argument, 0, OPT_EMBED},
    {"hidden", required_argument, 0, OPT_HIDDEN},
    {"layers", required_argument, 0, OPT_LAYERS},
    {"pair-slot", no_argument, 0, OPT_PAIR_SLOT},
    {"no-pair-slot", no_argument, 0, OPT_NO_PAIR_SLOT},
    {"eval-size", required_argument, 0, OPT_EVAL_SIZE},
    {"curriculum-threshold", required_argument, 0, OPT_CUR_T},
    {"curriculum-window", required_argument, 0, OPT_CUR_W},
    {"no-curriculum", no_argument, 0, OPT_NO_CUR},
    {"stop-at", required_argument, 0, OPT_STOP_AT},
    {"metrics", required_argument, 0, OPT_METRICS},
    {"checkpoint-dir", required_argument, 0, OPT_CKDIR},
    {"checkpoint-every", required_argument, 0, OPT_CKEVERY},
    {"resume", no_argument, 0, OPT_RESUME},
    {"log-every", required_argument, 0, OPT_LOG_EVERY},
    {"quiet", no_argument, 0, OPT_QUIET},
    {"lr-schedule", required_argument, 0, OPT_LR_SCHED},
    {"eval-every", required_argument, 0, OPT_EVAL_EVERY},
    {"lr-decay-rounds", required_argument, 0, OPT_LR_DECAY},
    {"target-sync", required_argument, 0, OPT_TARGET_SYNC},
    {"samples", required_argument, 0, OPT_SAMPLES},
    {"warmup", required_argument, 0, OPT_WARMUP},
    {"entropy", required_argument, 0, OPT_ENTROPY},
    {"value-coef", required_argument, 0, OPT_VALUE_COEF},
    {"lambda", required_argument, 0, OPT_LAMBDA},
    {"beta", required_argument, 0, OPT_BETA},
    {"rl-lr-scale", required_argument, 0, OPT_RL_LR_SCALE},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static int set_u32(const char *opt, long lo, long hi, uint32_t *out)
{
    long v;
    if (iamp_cli_long("train", opt, optarg, lo, hi, &v))
        return 1;
    *out = (uint32_t)v;
    return 0;
}

static int set_float(const char *opt, double lo, double hi, float *out)
{
    double d;
    if (iamp_cli_double("train", opt, optarg, lo, hi, &d))
        return 1;
    *out = (float)d;
    return 0;
}

static int set_int(const char *opt, long lo, long hi, int *out)
{
    long v;
    if (iamp_cli_long("train", opt, optarg, lo, hi, &v))
        return 1;
    *out = (int)v;
    return 0;
}

/* One option; returns 0, or 1 after printing a usage error. */
static int train_option(struct train_cmd *c, int opt)
{
    struct iamp_train_config *cfg = &c->o.cfg;
    double d;
    switch (opt) {
    case OPT_TASK:
        c->task = optarg;
        return 0;
    case OPT_ALGO:
        if (strlen(optarg) >= sizeof(cfg->algo))
            return iamp_cli_usage("train", "--algo is too long") != 0;
        snprintf(cfg->algo, sizeof(cfg->algo), "%s", optarg);
        c->algo_set = 1;
        return 0;
    case OPT_DEPTH:
        return set_u32("--depth", 0, 8, &cfg->depth);
    case OPT_ROUNDS:
        return iamp_cli_long("train", "--rounds", optarg, 0, 100000000, &c->rounds);
    case OPT_SEED:
        return iamp_cli_u64("train", "--seed", optarg, &cfg->seed);
    case OPT_QUESTIONS:
        return set_u32("--questions", 1, 1 << 20, &cfg->questions_per_round);
    case OPT_BATCH:
        return set_u32("--batch", 1, 1 << 16, &cfg->batch);
    case OPT_EPOCHS:
        return set_u32("--epochs", 1, 1000, &cfg->epochs);
    case OPT_LR:
        if (iamp_cli_double("train", "--lr", optarg, 1e-7, 1.0, &d))
            return 1;
        cfg->lr = (float)d;
        return 0;
    case OPT_EMBED:
        return set_int("--embed", 1, 1024, &c->mo.embed);
    case OPT_HIDDEN:
        return set_int("--hidden", 1, 16384, &c->mo.hidden);
    case OPT_LAYERS:
        return set_int("--layers", 1, IAMP_LAYERS_MAX, &c->mo.layers);
    case OPT_PAIR_SLOT:
    case OPT_NO_PAIR_SLOT:
        c->mo.pair = opt == OPT_PAIR_SLOT;
        return 0;
    case OPT_EVAL_SIZE:
        return set_u32("--eval-size", 1, 1 << 20, &cfg->eval_size);
    case OPT_CUR_T:
        if (iamp_cli_double("train", "--curriculum-threshold", optarg, 0.0, 1.0, &d))
            return 1;
        cfg->curriculum_threshold = (float)d;
        return 0;
    case OPT_CUR_W:
        return set_u32("--curriculum-window", 1, IAMP_AGREEMENT_MAX, &cfg->curriculum_window);
    case OPT_NO_CUR:
        c->o.curriculum = 0;
        return 0;
    case OPT_STOP_AT:
        return iamp_cli_double("train", "--stop-at", optarg, 0.0, 1.0, &c->stop_at);
    case OPT_METRICS:
        c->metrics = optarg;
        return 0;
    case OPT_CKDIR:
        c->ckdir = optarg;
        return 0;
    case OPT_CKEVERY:
        return iamp_cli_long("train", "--checkpoint-every", optarg, 1, 1000000, &c->ck_every);
    case OPT_RESUME:
        c->resume = 1;
        return 0;
    case OPT_LOG_EVERY:
        return iamp_cli_long("train", "--log-every", optarg, 1, 1000000, &c->log_every);
    case OPT_QUIET:
        c->quiet = 1;
        return 0;
    case OPT_EVAL_EVERY:
        return iamp_cli_long("train", "--eval-every", optarg, 1, 1000000, &c->eval_every);
    case OPT_LR_DECAY:
        return set_u32("--lr-decay-rounds", 1, 100000000, &cfg->schedule_rounds);
    case OPT_TARGET_SYNC:
        return set_u32("--target-sync", 0, 1000000, &cfg->target_sync);
    case OPT_SAMPLES:
        return set_u32("--samples", 1, 64, &cfg->samples);
    case OPT_WARMUP:
        return set_u32("--warmup", 0, 100000000, &cfg->warmup);
    case OPT_ENTROPY:
        return set_float("--entropy", 0.0, 10.0, &cfg->entropy_coef);
    case OPT_VALUE_COEF:
        return set_float("--value-coef", 0.0, 100.0, &cfg->value_coef);
    case OPT_LAMBDA:
        return set_float("--lambda", 0.0, 1.0, &cfg->mix_lambda);
    case OPT_BETA:
        return set_float("--beta", 0.0, 100.0, &cfg->kl_beta);
    case OPT_RL_LR_SCALE:
        return set_float("--rl-lr-scale", 1e-6, 100.0, &cfg->rl_lr_scale);
    case OPT_LR_SCHED:
        if (strcmp(optarg, "linear") == 0)
            cfg->lr_schedule = IAMP_LR_LINEAR;
        else if (strcmp(optarg, "constant") == 0)
            cfg->lr_schedule = IAMP_LR_CONSTANT;
        else
            return iamp_cli_usage("train", "--lr-schedule '%s' is not linear or constant",
                                  optarg) != 0;
        return 0;
    default:
        return 1;
    }
}

/* The help text and the task table: names, types, parameters. */
static void print_help(void)
{
    fputs(train_help, stdout);
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
        printf("\n");
        if (iamp_task_compares(&t))
            printf("  %-10s approval: by comparison with the amplified answer (search, reinforce, "
                   "mixed)\n",
                   "");
        iamp_task_destroy(&t);
    }
}

static void train_cmd_defaults(struct train_cmd *c)
{
    memset(c, 0, sizeof(*c));
    iamp_train_opts_default(&c->o);
    c->mo = (struct iamp_model_opts)IAMP_MODEL_OPTS_DEFAULT;
    c->rounds = 800;
    c->ck_every = 10;
    c->log_every = 10;
    c->eval_every = 5;
}

/* The options of argv[1..argc) onto c; returns -1 to go on, or an exit
 * code (help printed, or a usage error). */
static int apply_args(int argc, char **argv, struct train_cmd *c)
{
    opterr = 0;
    optind = 0; /* glibc: start afresh, each call scans a new vector */
    for (;;) {
        int opt = getopt_long(argc, argv, "+", train_opts, NULL);
        if (opt == -1)
            break;
        if (opt == OPT_HELP) {
            print_help();
            return IAMP_EXIT_OK;
        }
        if (opt == '?' || opt == ':')
            return iamp_cli_usage("train", "unknown option or missing value: '%s'",
                                  argv[optind - 1]);
        if (train_option(c, opt))
            return IAMP_EXIT_USAGE;
    }
    if (optind < argc)
        return iamp_cli_usage("train", "unexpected argument '%s'", argv[optind]);
    return -1;
}

/* The train_defaults of the task a spec names (NULL: none, or no such
 * task, which opening the session reports). */
static const char *task_defaults(const char *spec)
{
    size_t len = strcspn(spec, ":");
    for (int i = 0; i < iamp_task_count(); i++) {
        const struct iamp_task_ops *ops = iamp_task_ops_at(i);
        if (strlen(ops->name) == len && strncmp(ops->name, spec, len) == 0)
            return ops->train_defaults;
    }
    return NULL;
}

/* Parse argv; returns -1 to go on, or an exit code. A fresh run of a task
 * with train_defaults takes iamp train's defaults, then the task's, then
 * the command line's options. */
static int parse_train(int argc, char **argv, struct train_cmd *c)
{
    train_cmd_defaults(c);
    int rc = apply_args(argc, argv, c);
    if (rc != -1)
        return rc;
    const char *td = !c->resume && c->task ? task_defaults(c->task) : NULL;
    if (td) {
        static char words[512]; /* train_option may keep pointers into it */
        char *targv[64] = {"train"};
        int targc = 1;
        int fits = snprintf(words, sizeof(words), "%s", td) < (int)sizeof(words);
        char *w = strtok(words, " ");
        for (; w && targc < 63; w = strtok(NULL, " "))
            targv[targc++] = w;
        train_cmd_defaults(c);
        if (!fits || w || apply_args(targc, targv, c) != -1) {
            iamp_cli_error("train: task %s: bad train_defaults '%s'", c->task, td);
            return IAMP_EXIT_FAIL;
        }
        c->task_defaults = td;
        rc = apply_args(argc, argv, c);
        if (rc != -1)
            return rc;
    }
    if (!c->resume && !c->task)
        return iamp_cli_usage("train", "--task is required");
    if (!c->resume && !c->algo_set)
        return iamp_cli_usage("train", "--algo is required");
    if (c->resume && !c->ckdir)
        return iamp_cli_usage("train", "--resume needs --checkpoint-dir");
    return -1;
}

struct train_run {
    struct train_cmd *c;
    struct iamp_session s;
    struct iamp_trainer tr;
    FILE *metrics;
    char ckpath[1024];
};

static int open_fresh(struct train_run *r, char *err, size_t errlen)
{
    struct train_cmd *c = r->c;
    if (c->ckdir && access(r->ckpath, F_OK) == 0) {
        snprintf(err, errlen, "%s exists; pass --resume to continue it", r->ckpath);
        return IAMP_ESTATE;
    }
    int rc = iamp_session_open(&r->s, c->task, &c->mo, c->o.cfg.lr, c->o.cfg.seed, err, errlen);
    if (!rc && iamp_cli_attach("train", &r->s)) {
        snprintf(err, errlen, "workers unavailable");
        return IAMP_EMPI;
    }
    if (!rc)
        rc = iamp_trainer_init(&r->tr, &r->s, &c->o, NULL, err, errlen);
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
    } else if (c->algo_set && strcmp(c->o.cfg.algo, ck.config.algo) != 0) {
        snprintf(err, errlen, "%s was trained with --algo %s, not %s", r->ckpath, ck.config.algo,
                 c->o.cfg.algo);
        rc = IAMP_EMISMATCH;
    } else if (iamp_cli_attach("train", &r->s)) {
        snprintf(err, errlen, "workers unavailable");
        rc = IAMP_EMPI;
    } else {
        struct iamp_train_opts o = c->o;
        o.cfg = ck.config;
        rc = iamp_trainer_init(&r->tr, &r->s, &o, &ck, err, errlen);
    }
    iamp_checkpoint_release(&ck);
    return rc;
}

static int save_checkpoint(struct train_run *r)
{
    int rc = iamp_trainer_save(&r->tr, r->ckpath);
    if (rc)
        iamp_cli_error("train: cannot write checkpoint %s: %s", r->ckpath, iamp_strerror(rc));
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
    printf("done: task %s algo %s: round %ld, examples %ld, held-out accuracy %.4f, "
           "amplified %.4f",
           r->s.task.spec, algo, tr->round, tr->examples, last->accuracy, last->amplified_accuracy);
    for (int k = 0; k < r->s.task.n_metrics; k++)
        printf(", %s %.4f", r->s.task.metric_names[k], last->metric[k]);
    printf(", %.1fs", tr->seconds);
    if (tr->has_reached)
        printf("; 99%% at round %ld after %.0f examples, %.1fs\n", tr->reached_round,
               tr->reached_examples, tr->reached_seconds);
    else
        printf("; 99%% not reached\n");
}

/* Evaluate every eval_every rounds and on the last one; other rounds
 * report accuracy as not measured (NAN, null in JSON). */
static int round_once(struct train_run *r, struct iamp_round_stats *st)
{
    struct train_cmd *c = r->c;
    int rc = iamp_trainer_step(&r->tr, st);
    if (rc)
        return rc;
    if (st->round % c->eval_every == 0 || st->round >= c->rounds)
        return iamp_trainer_evaluate(&r->tr, st);
    st->accuracy = st->amplified_accuracy = NAN;
    for (int ty = 0; ty < IAMP_TYPES_MAX; ty++)
        st->per_type[ty] = NAN;
    for (int k = 0; k < IAMP_METRICS_MAX; k++)
        st->metric[k] = NAN;
    return 0;
}

static int run_rounds(struct train_run *r)
{
    struct train_cmd *c = r->c;
    struct iamp_round_stats st = {0};
    int rc = 0;
    while (r->tr.round < c->rounds && !stop_requested) {
        rc = round_once(r, &st);
        if (rc) {
            iamp_cli_error("train: round %ld failed: %s", r->tr.round + 1, iamp_strerror(rc));
            return IAMP_EXIT_FAIL;
        }
        if (r->metrics)
            iamp_metrics_write(r->metrics, &r->s.task, &st);
        if (!c->quiet && (st.round % c->log_every == 0 || st.round == 1))
            iamp_metrics_print_line(stdout, &st);
        if (c->ckdir && st.round % c->ck_every == 0 && save_checkpoint(r))
            return IAMP_EXIT_FAIL;
        if (c->stop_at > 0 && st.accuracy >= c->stop_at)
            break;
    }
    if (st.round == 0 || isnan(st.accuracy)) {
        /* Stopped on an unevaluated round, or nothing ran: measure now. */
        rc = iamp_trainer_evaluate(&r->tr, &st);
        if (rc) {
            iamp_cli_error("train: evaluation failed: %s", iamp_strerror(rc));
            return IAMP_EXIT_FAIL;
        }
    }
    if (c->ckdir && save_checkpoint(r))
        return IAMP_EXIT_FAIL;
    print_summary(r, &st);
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
        int rc = iamp_mkdir(c.ckdir);
        if (rc) {
            iamp_cli_error("train: cannot create %s: %s", c.ckdir, iamp_strerror(rc));
            return IAMP_EXIT_FAIL;
        }
        snprintf(r.ckpath, sizeof(r.ckpath), "%s/checkpoint.pb", c.ckdir);
    }
    int rc = c.resume ? open_resumed(&r, err, sizeof(err)) : open_fresh(&r, err, sizeof(err));
    if (rc) {
        iamp_cli_error("train: %s", err);
        code = rc == IAMP_EUNKNOWN || rc == IAMP_ERANGE || rc == IAMP_EPARSE || rc == IAMP_EINVAL
                   ? IAMP_EXIT_USAGE
                   : IAMP_EXIT_FAIL;
        goto out;
    }
    if (c.metrics && iamp_metrics_open(c.metrics, c.resume, &r.metrics)) {
        iamp_cli_error("train: cannot open metrics file %s", c.metrics);
        code = IAMP_EXIT_FAIL;
        goto out;
    }
    if (!c.quiet && c.task_defaults)
        printf("task %s trains with (unless given): %s\n", r.s.task.ops->name, c.task_defaults);
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    code = run_rounds(&r);
out:
    if (r.metrics)
        fclose(r.metrics);
    iamp_trainer_release(&r.tr);
    iamp_session_close(&r.s);
    return code;
}
