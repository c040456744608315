/* cmd_bench.c — `iamp bench train|amplify`: throughput of the pieces that
 * decide an IA run's speed, beside the machine's own BLAS peak measured in
 * the same run. Ratios, not absolute times, are the point: this machine is
 * shared and noisy.
 */
#include "coordinator/cli.h"
#include "coordinator/session.h"
#include "worker/policy.h"

#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char bench_help[] =
    "usage: iamp bench train|amplify|serve [options]   (iamp bench serve --help)\n"
    "\n"
    "  train    examples/s and GFLOP/s of a training step (forward, backward,\n"
    "           Adam) beside single-thread sgemm GFLOP/s measured in the same run\n"
    "  amplify  root questions/s and leaf model calls/s of the local engine\n"
    "  serve    answer-job latency and throughput of `iamp serve` on loopback\n"
    "\n"
    "  --task SPEC        task whose shape the model takes (default permpow)\n"
    "  --hidden N --embed N --layers N   model size (default 1024, 64, 2)\n"
    "  --batch N          rows per training step / roots per amplify call (default 512)\n"
    "  --depth D          amplify: depth (default 2)\n"
    "  --seconds X        time per measurement (default 2)\n"
    "  --json             one JSON object instead of text\n";

enum {
    OPT_TASK = 256,
    OPT_HIDDEN,
    OPT_EMBED,
    OPT_LAYERS,
    OPT_BATCH,
    OPT_DEPTH,
    OPT_SECONDS,
    OPT_JSON,
    OPT_HELP
};

static const struct option bench_opts[] = {
    {"task", required_argument, 0, OPT_TASK},
    {"hidden", required_argument, 0, OPT_HIDDEN},
    {"embed", required_argument, 0, OPT_EMBED},
    {"layers", required_argument, 0, OPT_LAYERS},
    {"batch", required_argument, 0, OPT_BATCH},
    {"depth", required_argument, 0, OPT_DEPTH},
    {"seconds", required_argument, 0, OPT_SECONDS},
    {"json", no_argument, 0, OPT_JSON},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

struct bench_cmd {
    const char *what, *task;
    struct iamp_model_opts mo;
    long batch, depth;
    double seconds;
    int json;
};

static int parse_bench(int argc, char **argv, struct bench_cmd *c)
{
    long v;
    c->task = "permpow";
    c->mo = (struct iamp_model_opts){64, 1024, 2};
    c->batch = 512;
    c->depth = 2;
    c->seconds = 2.0;
    opterr = 0;
    optind = 2;
    for (;;) {
        int opt = getopt_long(argc, argv, "+", bench_opts, NULL), bad = 0;
        if (opt == -1)
            break;
        switch (opt) {
        case OPT_HELP:
            fputs(bench_help, stdout);
            return IAMP_EXIT_OK;
        case OPT_TASK:
            c->task = optarg;
            break;
        case OPT_HIDDEN:
            bad = iamp_cli_long("bench", "--hidden", optarg, 1, 16384, &v);
            c->mo.hidden = (int)v;
            break;
        case OPT_EMBED:
            bad = iamp_cli_long("bench", "--embed", optarg, 1, 1024, &v);
            c->mo.embed = (int)v;
            break;
        case OPT_LAYERS:
            bad = iamp_cli_long("bench", "--layers", optarg, 1, IAMP_LAYERS_MAX, &v);
            c->mo.layers = (int)v;
            break;
        case OPT_BATCH:
            bad = iamp_cli_long("bench", "--batch", optarg, 1, 1 << 16, &c->batch);
            break;
        case OPT_DEPTH:
            bad = iamp_cli_long("bench", "--depth", optarg, 0, 8, &c->depth);
            break;
        case OPT_SECONDS:
            bad = iamp_cli_double("bench", "--seconds", optarg, 0.01, 3600, &c->seconds);
            break;
        case OPT_JSON:
            c->json = 1;
            break;
        default:
            return iamp_cli_usage("bench", "unknown option or missing value: '%s'",
                                  argv[optind - 1]);
        }
        if (bad)
            return IAMP_EXIT_USAGE;
    }
    if (optind < argc)
        return iamp_cli_usage("bench", "unexpected argument '%s'", argv[optind]);
    return -1;
}

/* Single-thread sgemm GFLOP/s on n x n x n, over about `seconds`. */
static double sgemm_gflops(int n, double seconds)
{
    size_t sz = (size_t)n * (size_t)n;
    float *a = malloc(sz * sizeof(float)), *b = malloc(sz * sizeof(float));
    float *c = malloc(sz * sizeof(float));
    double gf = 0.0;
    if (a && b && c) {
        for (size_t i = 0; i < sz; i++) {
            a[i] = (float)(i % 7) * 0.1f;
            b[i] = (float)(i % 5) * 0.1f;
        }
        long reps = 0;
        double t0 = iamp_now(), t;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                        c, n);
            reps++;
            t = iamp_now() - t0;
        } while (t < seconds);
        gf = 2.0 * n * (double)n * n * (double)reps / t / 1e9;
    }
    free(a);
    free(b);
    free(c);
    return gf;
}

struct step_times {
    double fwd, bwd, opt;
    long steps;
};

static int train_steps(struct iamp_session *s, const struct iamp_rows *rows, double seconds,
                       struct step_times *tm)
{
    struct iamp_model *m = &s->model;
    float *dlogits = malloc((size_t)rows->n * (size_t)m->cfg.vocab * sizeof(float));
    if (!dlogits)
        return IAMP_ENOMEM;
    memset(tm, 0, sizeof(*tm));
    double start = iamp_now();
    int rc = 0;
    while (!rc && (iamp_now() - start < seconds || tm->steps < 3)) {
        double t0 = iamp_now();
        rc = iamp_model_forward(m, rows->in, rows->n);
        iamp_loss_xent(m, rows, NULL, 1.0f / (float)rows->n, dlogits);
        double t1 = iamp_now();
        iamp_model_backward(m, dlogits, NULL, NULL, NULL);
        double t2 = iamp_now();
        iamp_adam_step(&s->adam, m->params, m->grads);
        double t3 = iamp_now();
        tm->fwd += t1 - t0;
        tm->bwd += t2 - t1;
        tm->opt += t3 - t2;
        tm->steps++;
    }
    free(dlogits);
    return rc;
}

static int make_rows(struct iamp_session *s, int n, struct iamp_rows *rows)
{
    struct iamp_question *qs = malloc((size_t)n * sizeof(*qs));
    struct iamp_answer *as = malloc((size_t)n * sizeof(*as));
    struct iamp_rng r;
    int rc = IAMP_ENOMEM;
    iamp_rng_seed(&r, 7, 0x62656e6368 /* "bench" */);
    if (qs && as) {
        for (int i = 0; i < n; i++)
            s->task.ops->sample(&s->task, &r, s->task.max_difficulty, &qs[i]);
        /* Targets: M's own greedy answers (any valid answers do for timing). */
        rc = iamp_session_answer(s, qs, n, as);
        if (!rc)
            rc = iamp_rows_teacher(rows, &s->model, &s->task, qs, as, n);
    }
    free(qs);
    free(as);
    return rc;
}

static int bench_train(struct bench_cmd *c, struct iamp_session *s)
{
    struct iamp_rows rows;
    struct step_times tm;
    iamp_rows_init(&rows);
    int rc = make_rows(s, (int)c->batch, &rows);
    double peak = sgemm_gflops(512, c->seconds / 2);
    if (!rc)
        rc = train_steps(s, &rows, c->seconds, &tm);
    if (rc) {
        iamp_rows_release(&rows);
        iamp_cli_error("bench: train: %s", iamp_strerror(rc));
        return IAMP_EXIT_FAIL;
    }
    double total = tm.fwd + tm.bwd + tm.opt, per = total / (double)tm.steps;
    double flops = 3.0 * iamp_model_flops_per_row(&s->model.cfg) * rows.n;
    double gf = flops / (tm.fwd + tm.bwd) * (double)tm.steps / 1e9;
    double ex_s = (double)c->batch * (double)tm.steps / total;
    if (c->json)
        printf("{\"bench\":\"train\",\"params\":%zu,\"batch\":%ld,\"examples_per_s\":%.1f,"
               "\"step_ms\":%.3f,\"forward_ms\":%.3f,\"backward_ms\":%.3f,\"optimizer_ms\":%.3f,"
               "\"gflops\":%.2f,\"sgemm_gflops\":%.2f,\"ratio\":%.3f}\n",
               s->model.lay.total, c->batch, ex_s, per * 1e3, tm.fwd / tm.steps * 1e3,
               tm.bwd / tm.steps * 1e3, tm.opt / tm.steps * 1e3, gf, peak, gf / peak);
    else
        printf("bench train: %zu params, batch %ld: %.0f examples/s, step %.2f ms (forward "
               "%.2f, backward %.2f, optimizer %.2f); %.1f GFLOP/s in forward+backward vs "
               "single-thread sgemm 512^3 %.1f GFLOP/s (%.0f%%)\n",
               s->model.lay.total, c->batch, ex_s, per * 1e3, tm.fwd / tm.steps * 1e3,
               tm.bwd / tm.steps * 1e3, tm.opt / tm.steps * 1e3, gf, peak, 100.0 * gf / peak);
    iamp_rows_release(&rows);
    return IAMP_EXIT_OK;
}

static int bench_amplify(struct bench_cmd *c, struct iamp_session *s)
{
    int n = (int)c->batch;
    struct iamp_question *qs = malloc((size_t)n * sizeof(*qs));
    struct iamp_answer *as = malloc((size_t)n * sizeof(*as));
    struct iamp_rng r;
    int rc = qs && as ? 0 : IAMP_ENOMEM;
    iamp_rng_seed(&r, 7, 0x62656e6368);
    for (int i = 0; !rc && i < n; i++)
        s->task.ops->sample(&s->task, &r, s->task.max_difficulty, &qs[i]);
    long roots = 0, leaves0 = s->engine.stats.leaf_calls;
    double t0 = iamp_now(), t = 0.0;
    while (!rc && (t < c->seconds || roots == 0)) {
        rc = iamp_session_amplify(s, qs, n, (int)c->depth, as);
        roots += n;
        t = iamp_now() - t0;
    }
    long leaves = s->engine.stats.leaf_calls - leaves0;
    free(qs);
    free(as);
    if (rc) {
        iamp_cli_error("bench: amplify: %s", iamp_strerror(rc));
        return IAMP_EXIT_FAIL;
    }
    if (c->json)
        printf("{\"bench\":\"amplify\",\"ranks\":1,\"depth\":%ld,\"roots_per_s\":%.1f,"
               "\"leaf_calls_per_s\":%.1f}\n",
               c->depth, roots / t, leaves / t);
    else
        printf("bench amplify: depth %ld, 1 rank: %.0f root questions/s, %.0f leaf model "
               "calls/s\n",
               c->depth, roots / t, leaves / t);
    return IAMP_EXIT_OK;
}

int iamp_cmd_bench(int argc, char **argv)
{
    struct bench_cmd c;
    memset(&c, 0, sizeof(c));
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2)
            return iamp_cli_usage("bench", "which benchmark? train, amplify or serve");
        fputs(bench_help, stdout);
        return IAMP_EXIT_OK;
    }
    c.what = argv[1];
    if (strcmp(c.what, "serve") == 0)
        return iamp_bench_serve(argc, argv);
    if (strcmp(c.what, "train") != 0 && strcmp(c.what, "amplify") != 0)
        return iamp_cli_usage("bench", "unknown benchmark '%s' (train, amplify, serve)", c.what);
    int code = parse_bench(argc, argv, &c);
    if (code >= 0)
        return code;
    struct iamp_session s;
    char err[512];
    if (iamp_session_open(&s, c.task, &c.mo, 1e-3f, 1, err, sizeof(err))) {
        iamp_cli_error("bench: %s", err);
        return IAMP_EXIT_USAGE;
    }
    code = strcmp(c.what, "train") == 0 ? bench_train(&c, &s) : bench_amplify(&c, &s);
    iamp_session_close(&s);
    return code;
}
